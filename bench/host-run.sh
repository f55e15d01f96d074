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
# 3. Memory: what a one-function patch adds to a process: Rss and Pss of the
#    /memfd:hotpatch mapping, plus text pages made private by the entry write.
set -u
BUILD=${1:-build}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
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

cc -O2 -g -pthread "$HERE/host-target.c" -o "$W/target"
cc -O2 -g -pthread -ffunction-sections -fdata-sections -c "$HERE/host-target.c" -o "$W/orig.o"
cc -O2 -g -pthread -DHP_FIX=1 -ffunction-sections -fdata-sections -c "$HERE/host-target.c" -o "$W/fix.o"
ID=hostbench-$$
"$HOTPATCH" build --target "$W/target" --orig "$W/orig.o" --patched "$W/fix.o" -o "$W/p.hpatch" --id "$ID" >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }
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
	local n=$1 label=$2 i
	shift 2
	: >"$W/a_ms"; : >"$W/r_ms"; : >"$W/a_n"; : >"$W/jobs"
	for ((i = 0; i < RUNS; i++)); do
		"$HOTPATCH" apply --all --json --allow-unsigned "$@" "$W/p.hpatch" >"$W/a.json" 2>/dev/null
		"$HOTPATCH" revert --all --json "$@" "$ID" >"$W/r.json" 2>/dev/null
		jnum total_ms "$W/a.json" >>"$W/a_ms"
		jnum total_ms "$W/r.json" >>"$W/r_ms"
		jnum patched "$W/a.json" >>"$W/a_n"
		jnum jobs "$W/a.json" >>"$W/jobs"
	done
	local am rm pn
	am=$(median <"$W/a_ms"); rm=$(median <"$W/r_ms"); pn=$(median <"$W/a_n")
	printf '%-8s %-9s %5s %8s %10.1f %10s %10.1f %10s\n' "$n" "$label" "$(median <"$W/jobs")" "$pn" "$am" \
		"$(awk -v n="$pn" -v t="$am" 'BEGIN {printf "%.0f", n / (t / 1000)}')" "$rm" \
		"$(awk -v n="$pn" -v t="$rm" 'BEGIN {printf "%.0f", n / (t / 1000)}')"
}

echo "hotpatch host-wide benchmark: $(nproc) CPUs, kernel $(uname -r), median of $RUNS runs"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== throughput: apply --all / revert --all (each process: 4 threads calling target(), ${SLEEP_US} us asleep per 100 calls)"
printf '%-8s %-9s %5s %8s %10s %10s %10s %10s\n' procs jobs used patched apply-ms apply/s revert-ms revert/s
for n in 100 1000; do
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
echo "== call cost: 100M calls of target() in a tight loop, pinned to the last CPU, $CALL_RUNS runs each"
rm -f "$W/in"; mkfifo "$W/in"
taskset -c "$(($(nproc) - 1))" "$W/target" loop 100000000 <"$W/in" >"$W/loop.out" 2>&1 &
LOOP_PID=$!
exec 7>"$W/in"
wait_lines() { for _ in $(seq 3000); do [ "$(wc -l <"$W/loop.out")" -ge "$1" ] && return; sleep 0.01; done; }
: >"$W/unp"; : >"$W/pat"
lines=1
wait_lines 1
sed -n 1p "$W/loop.out" | sed 's/ns_per_call=//' >>"$W/unp"
for ((i = 0; i < CALL_RUNS; i++)); do
	echo >&7; lines=$((lines + 1)); wait_lines $lines
	sed -n "${lines}p" "$W/loop.out" | sed 's/ns_per_call=//' >>"$W/unp"
	"$HOTPATCH" apply -p "$LOOP_PID" --allow-unsigned "$W/p.hpatch" >/dev/null 2>&1
	echo >&7; lines=$((lines + 1)); wait_lines $lines
	sed -n "${lines}p" "$W/loop.out" | sed 's/ns_per_call=//' >>"$W/pat"
	"$HOTPATCH" revert -p "$LOOP_PID" "$ID" >/dev/null 2>&1
done
# the fastest run of each is the least disturbed by anything else on the machine
u=$(sort -g "$W/unp" | head -1); p=$(sort -g "$W/pat" | head -1)
echo "best of $((CALL_RUNS + 1)) unpatched / $CALL_RUNS patched runs: unpatched ${u} ns/call, patched ${p} ns/call," \
	"added $(awk -v u="$u" -v p="$p" 'BEGIN {printf "%.3f", p - u}') ns/call" \
	"(medians $(median <"$W/unp") / $(median <"$W/pat"))"

echo
echo "== memory added to one patched process (one-function patch), after the patched code ran"
"$HOTPATCH" apply -p "$LOOP_PID" --allow-unsigned "$W/p.hpatch" >/dev/null 2>&1
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
"$HOTPATCH" revert -p "$LOOP_PID" "$ID" >/dev/null 2>&1
exec 7>&-
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
