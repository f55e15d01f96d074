#!/bin/bash
# SPDX-License-Identifier: MIT
# Host-wide patching benchmark (issue 5).  Prints figures, never fails on timing.
#
#   bench/host-run.sh [BUILD_DIR] [RUNS]
#
# 1. Throughput: fleets of N processes (N = 100 and 1000), each with 4 threads
#    calling target() (100 calls, then 1 s asleep; HP_BENCH_SLEEP_US changes it),
#    patched with `hotpatch apply --all` and reverted with `revert --all`;
#    median of RUNS sweeps: wall time and processes per second.  With
#    HP_BENCH_JOBS="1 2 4 8 16" it repeats the 1000-process case per --jobs value
#    (how the default factor was chosen).  HP_BENCH_BUSY=N adds 50 processes with N
#    threads each calling target() without ever sleeping: the peer's "busy
#    processes" case (N=1), or 50*N runnable threads on the machine's CPUs.
# 2. Call cost: target() called 100M times in a tight loop, unpatched and
#    patched (the entry holds a 5-byte jmp to the new body); ns per call.
#    Two shapes: a direct call inside the executable, and a call through the
#    PLT into a shared library (libhb.so), the shape of the peers' figures.
# 3. Memory: what a one-function patch adds to a process: Rss and Pss of the
#    /memfd:hotpatch mapping, plus text pages made private by the entry write.
# Wall times and processes per second are measured from outside (fork to
# exit of the hotpatch command); every command's exit code is checked and the
# benchmark stops on a failure.  Figures: median (min-max, n).
set -u
BUILD=${1:-build}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib-bench.sh"
HOTPATCH=$(cd "$BUILD" && pwd)/src/cli/hotpatch
SLEEP_US=${HP_BENCH_SLEEP_US:-1000000}
W=$(mktemp -d /tmp/hp-hostbench.XXXXXX)
FLEET_PID=
LOOP_PID=
cleanup() {
	[ -n "$FLEET_PID" ] && kill "$FLEET_PID" 2>/dev/null
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "bench: needs root (ptrace)"; exit 0; }
check_release "$BUILD"
BENCH_ERR=$W/err
bench_tools "$W"

cc -O2 -g -pthread "$HERE/host-target.c" -o "$W/target"
cc -O2 -g -pthread -ffunction-sections -fdata-sections -c "$HERE/host-target.c" -o "$W/orig.o"
cc -O2 -g -pthread -DHP_FIX=1 -ffunction-sections -fdata-sections -c "$HERE/host-target.c" -o "$W/fix.o"
ID=hostbench-$$
"$HOTPATCH" build --target "$W/target" --orig "$W/orig.o" --patched "$W/fix.o" -o "$W/p.hpatch" --id "$ID" >/dev/null ||
	{ echo "bench: cannot build the patch" >&2; exit 1; }
# the PLT shape: target() in a shared library, called from the executable
cc -O2 -g -fPIC -shared -DHB_LIB "$HERE/host-target.c" -o "$W/libhb.so"
cc -O2 -g -fPIC -ffunction-sections -fdata-sections -DHB_LIB -c "$HERE/host-target.c" -o "$W/lib-orig.o"
cc -O2 -g -fPIC -ffunction-sections -fdata-sections -DHB_LIB -DHP_FIX=1 -c "$HERE/host-target.c" -o "$W/lib-fix.o"
cc -O2 -g -pthread -DHB_USELIB "$HERE/host-target.c" -o "$W/target-plt" -L"$W" -lhb -Wl,-rpath,"$W"
"$HOTPATCH" build --target "$W/libhb.so" --orig "$W/lib-orig.o" --patched "$W/lib-fix.o" -o "$W/plt.hpatch" \
	--id "$ID-plt" >/dev/null || { echo "bench: cannot build the library patch" >&2; exit 1; }

# the last occurrence of a number field: the summary follows the per-process entries (sorted keys)
jnum() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2" | tail -1; }

# start_fleet N THREADS SLEEP_US: N processes of the target, in the background
start_fleet() {
	rm -f "$W/pids" "$W/fleet.out"
	"$W/target" fleet "$1" "$2" "$3" "$W/pids" >"$W/fleet.out" 2>&1 &
	FLEET_PID=$!
	for _ in $(seq 600); do grep -q ready "$W/fleet.out" && break; sleep 0.05; done
	sleep 1	# let every thread get going
}

stop_fleet() {
	kill "$FLEET_PID" 2>/dev/null
	wait "$FLEET_PID" 2>/dev/null
	FLEET_PID=
	sleep 1	# the members die with their parent (PR_SET_PDEATHSIG)
}

# sweep N LABEL [hotpatch options]: RUNS apply/revert pairs; prints one table row
sweep() {
	local n=$1 label=$2 i wa wr
	shift 2
	: >"$W/a_ms"; : >"$W/r_ms"; : >"$W/a_n"; : >"$W/a_ps"; : >"$W/r_ps"
	local load; load=$(loadavg)
	# --comm: only the fleet; an unreadable process elsewhere (pid 1 in some sandboxes) would make the sweep incomplete (exit 17)
	for ((i = 0; i < RUNS; i++)); do
		timed wa "$HOTPATCH" apply --all --comm target --json --allow-unsigned "$@" "$W/p.hpatch" >"$W/a.json"
		timed wr "$HOTPATCH" revert --all --comm target --json "$@" "$ID" >"$W/r.json"
		local pn rn
		pn=$(jnum patched "$W/a.json"); rn=$(jnum reverted "$W/r.json")
		[ "${pn:-0}" -ge "$n" ] || { echo "bench: apply --all patched ${pn:-0} of $n processes; stopping" >&2; exit 1; }
		echo "$wa" >>"$W/a_ms"; echo "$wr" >>"$W/r_ms"; echo "$pn" >>"$W/a_n"
		awk -v n="$pn" -v t="$wa" 'BEGIN {printf "%.0f\n", n / (t / 1000)}' >>"$W/a_ps"
		awk -v n="${rn:-$pn}" -v t="$wr" 'BEGIN {printf "%.0f\n", n / (t / 1000)}' >>"$W/r_ps"
	done
	echo "-- $n processes, jobs: $label, patched per sweep: $(median <"$W/a_n"), load average at start: $load"
	printf '  %-26s %s\n' "apply --all (ms, outside)" "$(stats <"$W/a_ms")" \
		"apply, processes/s" "$(stats <"$W/a_ps")" \
		"revert --all (ms, outside)" "$(stats <"$W/r_ms")" \
		"revert, processes/s" "$(stats <"$W/r_ps")"
}

echo "hotpatch host-wide benchmark: $(nproc) CPUs, kernel $(uname -r), median of $RUNS runs"
echo "load average before: $(loadavg)"
echo
echo "commands timed by bench/spawn-time.c; start and exit of a no-op: $(floor 15) ms"
echo "== throughput: apply --all / revert --all (each process: 4 threads calling target(), ${SLEEP_US} us asleep per 100 calls)"
for n in ${HP_BENCH_FLEETS:-100 1000}; do
	start_fleet "$n" 4 "$SLEEP_US"
	sweep "$n" default
	if [ "$n" = 1000 ] && [ -n "${HP_BENCH_JOBS:-}" ]; then
		for j in $HP_BENCH_JOBS; do sweep "$n" "$j" --jobs "$j"; done
	fi
	stop_fleet
done
if [ -n "${HP_BENCH_BUSY:-}" ]; then
	start_fleet 50 "$HP_BENCH_BUSY" 0
	sweep "50x${HP_BENCH_BUSY}busy" default
	stop_fleet
fi
echo "(patched counts the fleet's parent process too; it maps the same build)"

echo
CALL_RUNS=${HP_BENCH_CALL_RUNS:-15}
wait_lines() { for _ in $(seq 3000); do [ "$(wc -l <"$W/loop.out")" -ge "$1" ] && return; sleep 0.01; done; }
# call_cost LABEL BINARY PATCH ID: 100M calls per run, unpatched and patched alternating
call_cost() {
	local label=$1 bin=$2 patch=$3 id=$4 i t
	lines=1	# global: the memory section goes on reading the last target's output
	rm -f "$W/in"; mkfifo "$W/in"
	taskset -c "$(($(nproc) - 1))" "$bin" loop 100000000 <"$W/in" >"$W/loop.out" 2>&1 &
	LOOP_PID=$!
	exec 7>"$W/in"
	: >"$W/unp"; : >"$W/pat"
	local load; load=$(loadavg)
	wait_lines 1
	for ((i = 0; i < CALL_RUNS; i++)); do
		echo >&7; lines=$((lines + 1)); wait_lines $lines
		sed -n "${lines}p" "$W/loop.out" | sed 's/ns_per_call=//' >>"$W/unp"
		timed t "$HOTPATCH" apply -p "$LOOP_PID" --allow-unsigned "$patch" >/dev/null
		echo >&7; lines=$((lines + 1)); wait_lines $lines
		sed -n "${lines}p" "$W/loop.out" | sed 's/ns_per_call=//' >>"$W/pat"
		timed t "$HOTPATCH" revert -p "$LOOP_PID" "$id" >/dev/null
	done
	local u p
	u=$(median3 <"$W/unp"); p=$(median3 <"$W/pat")
	echo "-- $label, load average at start: $load"
	printf '  %-12s %s\n' "unpatched" "$(stats3 <"$W/unp")" "patched" "$(stats3 <"$W/pat")"
	echo "  added (median): $(awk -v u="$u" -v p="$p" 'BEGIN {printf "%+.3f", p - u}') ns/call"
}
# stats3, median3: like stats and median, three decimals (ns per call: median's one decimal
# would round a difference of a few hundredths of a ns to 0 or 0.1)
median3() { sort -g | awk '{a[NR] = $1} END {printf "%.3f\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
stats3() { sort -g | awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
	printf "%.3f ns (%.3f-%.3f, n=%d)\n", m, a[1], a[NR], NR}'; }
echo "== call cost: 100M calls of target() in a tight loop, pinned to the last CPU, $CALL_RUNS runs each"
call_cost "through the PLT into libhb.so" "$W/target-plt" "$W/plt.hpatch" "$ID-plt"
exec 7>&-; kill "$LOOP_PID" 2>/dev/null; wait "$LOOP_PID" 2>/dev/null
call_cost "direct call inside the executable" "$W/target" "$W/p.hpatch" "$ID"

echo
echo "== memory added to one patched process (one-function patch), after the patched code ran"
timed t "$HOTPATCH" apply -p "$LOOP_PID" --allow-unsigned "$W/p.hpatch" >/dev/null
echo >&7; lines=$((lines + 1)); wait_lines $lines
awk '
	/^[0-9a-f]+-[0-9a-f]+ / { inmemfd = index($0, "memfd:hotpatch:") > 0; intext = ($2 ~ /x/ && index($0, "/target") > 0) }
	inmemfd && /^Rss:/ { rss += $2 } inmemfd && /^Pss:/ { pss += $2 }
	intext && /^Private_Dirty:/ { cow += $2 }
	END { printf "patch mapping: Rss %d KiB, Pss %d KiB; text pages made private: %d KiB; total %d KiB\n", rss, pss, cow, rss + cow }
' "/proc/$LOOP_PID/smaps"
size=0
while read -r range _; do size=$((size + 16#${range#*-} - 16#${range%-*})); done < <(grep "memfd:hotpatch" "/proc/$LOOP_PID/maps")
echo "patch mapping size: $((size / 1024)) KiB (the memfd's pages are shared memory, counted once)"
timed t "$HOTPATCH" revert -p "$LOOP_PID" "$ID" >/dev/null
exec 7>&-
echo
echo "load average after: $(loadavg)"
