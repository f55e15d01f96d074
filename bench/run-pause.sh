#!/bin/bash
# SPDX-License-Identifier: MIT
# Pause benchmark: the longest gap a target's busy threads observe around one
# `hotpatch apply -p` and one `revert -p`, next to the same gap over an equally
# long window with nothing done (scheduler noise), the engine's own
# stop-the-world time, and each command's wall time measured from outside
# (fork to exit).  Every thread of the target is busy: with 1 thread the
# process has exactly one thread.  With one thread, the floor under all of it
# comes last: a stop with nothing done (bench/empty-stop.c) and the gap the
# thread sees around it.  Prints median (min-max, n) per figure and the load
# average per row; never fails on timing, stops when a command fails.
#   bench/run-pause.sh [BUILD_DIR] [RUNS]        HP_BENCH_THREADS="1 64" by default
set -u
BUILD=${1:-build}
RUNS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib-bench.sh"
HOTPATCH=$(cd "$BUILD" && pwd)/src/cli/hotpatch
W=$(mktemp -d /tmp/hp-bench.XXXXXX)
TPID=
trap '[ -n "$TPID" ] && kill -9 "$TPID" 2>/dev/null; rm -rf "$W"' EXIT
[ "$(id -u)" = 0 ] || { echo "bench: needs root (ptrace)"; exit 0; }
check_release "$BUILD"
BENCH_ERR=$W/err
bench_tools "$W"

cc -O2 -g -pthread "$HERE/pause-target.c" -o "$W/target"
cc -O2 "$HERE/empty-stop.c" -o "$W/empty-stop" || { echo "bench: cannot build empty-stop" >&2; exit 1; }
cc -O2 -g -pthread -ffunction-sections -fdata-sections -c "$HERE/pause-target.c" -o "$W/orig.o"
cc -O2 -g -pthread -DHP_FIX=1 -ffunction-sections -fdata-sections -c "$HERE/pause-target.c" -o "$W/fix.o"
"$HOTPATCH" build --target "$W/target" --orig "$W/orig.o" --patched "$W/fix.o" -o "$W/p.hpatch" --id bench >/dev/null ||
	{ echo "bench: cannot build the patch" >&2; exit 1; }

# gap: ask the target for its largest gap since the last reset (it resets too)
gap() {
	rm -f "$W/rep"
	kill -USR2 "$TPID"
	for _ in $(seq 1000); do [ -s "$W/rep" ] && break; sleep 0.002; done
	sed 's/max_us=//' "$W/rep"
}

bench_threads() {
	local threads=$1 i wa wr
	"$W/target" "$threads" "$W/rep" >"$W/out" 2>&1 &
	TPID=$!
	until grep -q ready "$W/out"; do sleep 0.01; done
	sleep 0.5
	for f in gap_a gap_r gap_b stw_a stw_r wall_a wall_r stw_e gap_e; do : >"$W/$f"; done
	local load; load=$(loadavg)
	for ((i = 0; i < RUNS; i++)); do
		kill -USR1 "$TPID"; sleep 0.05
		timed wa "$HOTPATCH" apply --json -p "$TPID" --allow-unsigned "$W/p.hpatch" >"$W/a.json"
		gap >>"$W/gap_a"
		jq -r '[.. | objects | .pause_us? | numbers] | first // empty' "$W/a.json" >>"$W/stw_a"
		echo "$wa" >>"$W/wall_a"
		sleep 0.05
		timed wr "$HOTPATCH" revert --json -p "$TPID" bench >"$W/r.json"
		gap >>"$W/gap_r"
		jq -r '[.. | objects | .pause_us? | numbers] | first // empty' "$W/r.json" >>"$W/stw_r"
		echo "$wr" >>"$W/wall_r"
		# the same window as the apply's, with nothing done to the process
		sleep 0.05
		sleep "$(awk -v t="$wa" 'BEGIN {printf "%.6f", t / 1000}')"
		gap >>"$W/gap_b"
	done
	# the floor: the thread stopped and let go, nothing done (one thread only: empty-stop.c says why)
	for ((i = 0; threads == 1 && i < RUNS; i++)); do
		kill -USR1 "$TPID"; sleep 0.05
		"$W/empty-stop" "$TPID" 1 >>"$W/stw_e" || { echo "bench: empty-stop failed; stopping" >&2; exit 1; }
		gap >>"$W/gap_e"
	done
	echo "-- $threads busy thread(s), load average at start: $load"
	printf '  %-34s %s\n' "gap during apply (us)" "$(stats <"$W/gap_a")" \
		"gap during revert (us)" "$(stats <"$W/gap_r")" \
		"gap, same window, nothing done (us)" "$(stats <"$W/gap_b")" \
		"stop-the-world apply (us, engine)" "$(stats <"$W/stw_a")" \
		"stop-the-world revert (us, engine)" "$(stats <"$W/stw_r")" \
		"apply command, outside (ms)" "$(stats <"$W/wall_a")" \
		"revert command, outside (ms)" "$(stats <"$W/wall_r")"
	[ "$threads" = 1 ] && printf '  %-34s %s\n' "empty stop, nothing done (us)" "$(stats <"$W/stw_e")" \
		"gap around the empty stop (us)" "$(stats <"$W/gap_e")"
	kill -9 "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null
	TPID=
}

echo "hotpatch pause benchmark: $RUNS runs per setting, $(nproc) CPUs, kernel $(uname -r)"
echo "gap = longest time any target thread went without completing a loop iteration, seen by the target"
echo "commands are timed by bench/spawn-time.c (posix_spawn to waitpid); what any command pays here:"
printf '  %-34s %s\n' "start and exit of a no-op (ms)" "$(floor "$RUNS")"
for t in ${HP_BENCH_THREADS:-1 64}; do bench_threads "$t"; done
echo "load average at end: $(loadavg)"
