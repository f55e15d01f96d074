#!/bin/bash
# SPDX-License-Identifier: MIT
# Pause benchmark (issue 2): the longest gap a target observes around an
# apply and a revert, the engine's own stop-the-world time, and wall times;
# median of RUNS runs, for 1 thread and for 64 busy threads.  Prints figures,
# never fails on timing.
#   bench/run-pause.sh [BUILD_DIR] [RUNS]
set -u
BUILD=${1:-build}
RUNS=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
HOTPATCH=$(cd "$BUILD" && pwd)/src/cli/hotpatch
W=$(mktemp -d /tmp/hp-bench.XXXXXX)
trap 'kill -9 $(cat "$W"/pid 2>/dev/null) 2>/dev/null; rm -rf "$W"' EXIT
[ "$(id -u)" = 0 ] || { echo "bench: needs root (ptrace)"; exit 0; }

cc -O2 -g -pthread "$HERE/pause-target.c" -o "$W/target"
cc -O2 -g -pthread -ffunction-sections -fdata-sections -c "$HERE/pause-target.c" -o "$W/orig.o"
cc -O2 -g -pthread -DHP_FIX=1 -ffunction-sections -fdata-sections -c "$HERE/pause-target.c" -o "$W/fix.o"
"$HOTPATCH" build --target "$W/target" --orig "$W/orig.o" --patched "$W/fix.o" -o "$W/p.hpatch" --id bench >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.1f\n", (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }

ask() {	# send a command, print the reply
	local n
	n=$(wc -l <"$W/out")
	echo "$1" >&7
	for _ in $(seq 2000); do
		[ "$(wc -l <"$W/out")" -gt "$n" ] && { sed -n "$((n + 1))p" "$W/out"; return; }
		sleep 0.005
	done
}

bench_threads() {
	local threads=$1 i j
	rm -f "$W/in" "$W/out"; mkfifo "$W/in"
	"$W/target" "$threads" <"$W/in" >"$W/out" 2>&1 &
	echo $! >"$W/pid"
	exec 7>"$W/in"
	until grep -q ready "$W/out"; do sleep 0.01; done
	sleep 0.5
	local pid; pid=$(cat "$W/pid")
	: >"$W/gap_apply"; : >"$W/gap_revert"; : >"$W/gap_base"; : >"$W/stw_a"; : >"$W/stw_r"; : >"$W/wall_a"; : >"$W/wall_r"
	for ((i = 0; i < RUNS; i++)); do
		ask r >/dev/null
		"$HOTPATCH" apply --json -p "$pid" --allow-unsigned "$W/p.hpatch" >"$W/a.json" 2>/dev/null
		ask m | sed 's/max_us=//' >>"$W/gap_apply"
		sed -n 's/.*"pause_us": \([0-9.]*\).*/\1/p' "$W/a.json" >>"$W/stw_a"
		sed -n 's/.*"total_ms": \([0-9.]*\).*/\1/p' "$W/a.json" >>"$W/wall_a"
		ask r >/dev/null
		"$HOTPATCH" revert --json -p "$pid" bench >"$W/r.json" 2>/dev/null
		ask m | sed 's/max_us=//' >>"$W/gap_revert"
		sed -n 's/.*"pause_us": \([0-9.]*\).*/\1/p' "$W/r.json" >>"$W/stw_r"
		sed -n 's/.*"total_ms": \([0-9.]*\).*/\1/p' "$W/r.json" >>"$W/wall_r"
		# baseline: the same kind of window with nothing done to the process
		ask r >/dev/null
		sleep "$(awk -v t="$(tail -1 "$W/wall_a")" 'BEGIN {print t / 1000}')"
		ask m | sed 's/max_us=//' >>"$W/gap_base"
	done
	printf '%-10s %8s %8s %8s %10s %10s %9s %9s\n' "$threads" \
		"$(median <"$W/gap_apply")" "$(median <"$W/gap_revert")" "$(median <"$W/gap_base")" \
		"$(median <"$W/stw_a")" "$(median <"$W/stw_r")" "$(median <"$W/wall_a")" "$(median <"$W/wall_r")"
	exec 7>&-
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

echo "hotpatch pause benchmark: median of $RUNS runs on $(nproc) CPUs ($(uname -r))"
echo "gap = longest time any target thread went without completing a loop iteration (µs), seen by the target"
echo "stw = engine's stop-the-world time, first interrupt to last release (µs); wall = whole command (ms)"
echo "base = longest gap over an equally long window with nothing applied (scheduler noise)"
printf '%-10s %8s %8s %8s %10s %10s %9s %9s\n' threads gap-app gap-rev gap-base stw-apply stw-revert wall-app wall-rev
for t in ${HP_BENCH_THREADS:-1 64}; do bench_threads "$t"; done
