#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd benchmark (issue 12).  Prints figures, never fails on timing;
# stops when an operation fails (a figure from a failed run would be wrong).
#
#   bench/agent-latency.sh [BUILD_DIR] [N]
#
# 1. New processes: N process starts (default 1000) of a program linked
#    against a library with an installed patch, one after the other, with
#    hotpatchd running; each prints the time from the library's constructor
#    (mapped and relocated by ld.so) to its first call that runs the patched
#    code.  n, p50, p90, p99, max, and the load average before and after.
#    Then N/5 starts that load the library later with dlopen() (fanotify).
#    The machine may be shared and loaded: the daemon's own time per new
#    process (event read -> patched, from its metrics) is printed too.
#    HP_BENCH_FANOTIFY=no: the exec-event path alone (no fanotify).
# 2. Idle cost: 1000 idle processes on the host, hotpatchd running with a
#    patch installed and nothing happening: its CPU time over HP_BENCH_IDLE_S
#    seconds (default 60, from /proc/PID/stat) and its RSS; plus the CPU time
#    of one full rescan sweep (hourly by default).
set -u
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-bench.sh
. "$HERE/lib-bench.sh"
HOTPATCH=$BUILD/src/cli/hotpatch
HOTPATCHD=$BUILD/src/agent/hotpatchd
IDLE_S=${HP_BENCH_IDLE_S:-60}
W=$(mktemp -d /tmp/hp-agentbench.XXXXXX)
DPID=
IDLE_PIDS=()
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ ${#IDLE_PIDS[@]} -gt 0 ] && kill "${IDLE_PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	[ -n "${HP_BENCH_KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "bench: needs root (ptrace)"; exit 0; }

check_release "$BUILD"
must() { "$@" >/dev/null || { echo "bench: '$*' failed; stopping" >&2; exit 1; }; }
must cc -O2 -g -fPIC -shared "$HERE/agent-lib.c" -o "$W/libagentbench.so"
must cc -O2 -g -fPIC -ffunction-sections -fdata-sections -c "$HERE/agent-lib.c" -o "$W/orig.o"
must cc -O2 -g -fPIC -DHP_FIX=1 -ffunction-sections -fdata-sections -c "$HERE/agent-lib.c" -o "$W/fix.o"
must cc -O2 -DLINKED "$HERE/agent-target.c" -o "$W/linked" -L"$W" -lagentbench -Wl,-rpath,"$W"
must cc -O2 "$HERE/agent-target.c" -o "$W/dl" -ldl
must "$HOTPATCH" build --target "$W/libagentbench.so" --orig "$W/orig.o" --patched "$W/fix.o" -o "$W/fix.hpatch" \
	--id agentbench-1 --classification security
mkdir -p "$W/trust" "$W/store" "$W/state"
must "$HOTPATCH" keygen -o "$W/k"
cp "$W/k.pub" "$W/trust/"
must "$HOTPATCH" sign --key "$W/k.key" "$W/fix.hpatch"
PORT=$((20000 + RANDOM % 20000))
cat >"$W/conf" <<EOC
[paths]
store = $W/store
state = $W/state
trust = $W/trust
policy = $W/policy.json
[agent]
watch_paths = $W
assess_interval = 0
rescan_interval = 3600
fanotify = ${HP_BENCH_FANOTIFY:-yes}
[control]
socket = $W/sock
[metrics]
listen = 127.0.0.1:$PORT
EOC
HOTPATCH_TRUST_DIR=$W/trust must "$HOTPATCH" install --store "$W/store" "$W/fix.hpatch"
# HP_BENCH_NICE=-10: run the daemon at a higher priority (a loaded machine starves it otherwise).
${HP_BENCH_NICE:+nice -n "$HP_BENCH_NICE"} "$HOTPATCHD" -c "$W/conf" >"$W/d.log" 2>&1 &
DPID=$!
for i in $(seq 300); do [ -S "$W/sock" ] && grep -q started "$W/d.log" && break; sleep 0.1; done
grep -q started "$W/d.log" || { echo "bench: hotpatchd did not start:" >&2; cat "$W/d.log" >&2; exit 1; }
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

pct() { # FILE P: the P-th percentile (nearest rank) of the numbers in FILE
	local n k
	n=$(wc -l <"$1")
	k=$(( (n * $2 + 99) / 100 ))
	[ "$k" -lt 1 ] && k=1
	sort -n "$1" | sed -n "${k}p"
}
report() { # NAME FILE
	local fails
	fails=$(grep -c -- '^-1$' "$2")
	grep -v -- '^-1$' "$2" >"$2.ok"
	printf '%-28s n=%-5s p50 %6s us   p90 %6s us   p99 %6s us   max %7s us   not patched in 5 s: %s\n' \
		"$1" "$(wc -l <"$2.ok")" "$(pct "$2.ok" 50)" "$(pct "$2.ok" 90)" "$(pct "$2.ok" 99)" "$(pct "$2.ok" 100)" "$fails"
}
starts() { # COUNT OUT CMD...: COUNT starts of CMD, each line of output appended to OUT; stops on a failed start
	local n=$1 out=$2 i rc
	shift 2
	: >"$out"
	for ((i = 0; i < n; i++)); do
		"$@" >>"$out"
		rc=$?
		if [ "$rc" = 2 ]; then
			echo "bench: '$*' could not run (exit 2); stopping" >&2
			exit 1
		fi
	done
	[ "$(wc -l <"$out")" = "$n" ] || { echo "bench: $out has $(wc -l <"$out") lines, not $n; stopping" >&2; exit 1; }
}
own() { # the daemon's own time per new process (event read -> patched) from its metrics, in us
	curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
		/^hotpatch_new_process_own_seconds\{quantile="0.5"\}/ {p50 = $2 * 1e6}
		/^hotpatch_new_process_own_seconds\{quantile="0.99"\}/ {p99 = $2 * 1e6}
		/^hotpatch_new_process_own_seconds\{quantile="1"\}/ {mx = $2 * 1e6}
		/^hotpatch_new_process_own_seconds_count/ {n = $2}
		END {printf "daemon own time, event read -> patched (last %d of n=%d): p50 %.0f us   p99 %.0f us   max %.0f us\n", (n < 1024 ? n : 1024), n, p50, p99, mx}'
}

echo "# hotpatchd: new process -> patched code (fanotify ${HP_BENCH_FANOTIFY:-yes}; load average before: $(loadavg))"
starts "$N" "$W/link.txt" "$W/linked"
report "linked at start (exec)" "$W/link.txt"
echo "  $(own)"
echo "  load average after: $(loadavg)"
starts $((N / 5)) "$W/dl.txt" "$W/dl" "$W/libagentbench.so"
report "dlopen from main (fanotify ${HP_BENCH_FANOTIFY:-yes})" "$W/dl.txt"
echo "  $(own)   (linked and dlopen together)"
echo "  load average after: $(loadavg)"
[ "$(metric hotpatch_apply_failed_total)" = 0 ] || echo "bench: the daemon counted $(metric hotpatch_apply_failed_total) failed applies (see $W/d.log with HP_BENCH_KEEP=1)"

echo "# hotpatchd idle cost: 1000 idle processes, ${IDLE_S} s (load average: $(loadavg))"
for ((i = 0; i < 1000; i++)); do sleep 100000 & IDLE_PIDS+=($!); done
# let the coalesced report of the runs above be written first (5 s) and the starts settle
sleep 8
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
ev0=$(metric hotpatch_exec_events_total)
t0=$(ticks)
sleep "$IDLE_S"
t1=$(ticks)
ev1=$(metric hotpatch_exec_events_total)
hz=$(getconf CLK_TCK)
awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE_S" -v ev=$((ev1 - ev0)) \
	'BEGIN { printf "cpu: %.3f s in %d s = %.3f %% of one CPU (resolution %.3f s; %d exec events passed to the daemon meanwhile)\n", d / hz, s, 100 * d / hz / s, 1 / hz, ev }'
grep -E '^VmRSS|^VmHWM' "/proc/$DPID/status" | tr -s ' \t' ' '
grep -E '^(Pss|Private_Clean|Private_Dirty|Shared_Clean):' "/proc/$DPID/smaps_rollup" | tr -s ' \t' ' ' | tr '\n' ' '; echo
t0=$(ticks)
s0=$(date +%s%N)
HOTPATCHD_SOCKET=$W/sock must "$HOTPATCH" agent sync
t1=$(ticks)
s1=$(date +%s%N)
awk -v d=$((t1 - t0)) -v hz="$hz" -v w=$(( (s1 - s0) / 1000000 )) -v n="$(ls /proc | grep -c '^[0-9]')" \
	'BEGIN { printf "one full sweep (agent sync) over %d processes: %.2f s CPU, %d ms wall; amortised over the hourly rescan (rescan_interval default): %.3f %% of one CPU\n", n, d / hz, w, 100 * d / hz / 3600 }'
grep -E '^VmRSS|^VmHWM' "/proc/$DPID/status" | tr -s ' \t' ' ' | sed 's/^/after the sweep: /'
