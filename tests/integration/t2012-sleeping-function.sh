#!/bin/bash
# SPDX-License-Identifier: MIT
# Functions that sleep inside (issue 16, item 9): worker threads call nap(),
# which sleeps one second in nanosleep, in a loop, so nap() is on their
# stacks nearly all the time.  apply (and revert) redirect each busy frame's
# return to a landing pad, wait for the frames to return, and switch then:
# no trap flag, no breakpoint.  PIE and non-PIE, one and four threads; after
# apply every thread's next nap() returns the new value, after revert the
# old one again.  nap() sleeps 1 s in the PIE four-thread case (the issue's
# case), 300 ms in the others (HP_NAP_MS sets it for all).
#
# Cost: ~15 s (each operation waits up to one nap, each check up to two).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

# Wait until every thread's last nap() returned $2 (up to 5 s).
wait_values() {
	local id=$1 want=$2 n=$3 line exp i
	exp=$(for ((i = 0; i < n; i++)); do printf '%s%s' "${i:+ }" "$want"; done | sed 's/^ //')
	for ((i = 0; i < 50; i++)); do
		line=$(hp_ask "$id" q) || return 1
		[ "$line" = "$exp" ] && return 0
		sleep 0.1
	done
	echo "thread values: '$line', expected '$exp'" >&2
	return 1
}

for pie in pie nopie; do
	flags=()
	[ $pie = nopie ] && flags=(-no-pie -fno-pie)
	test_expect_success "$pie: build the target and its patch" '
		hp_compile sleeper-$pie "$TARGET_SRC/sleeper.c" -pthread "${flags[@]}" &&
		hp_make_patch sleeper-$pie 1 "$HP_TMP/nap-$pie.hpatch" --id nap-$pie
	'
	for threads in 1 4; do
		ms=${HP_NAP_MS:-300}
		[ $pie$threads = pie4 ] && ms=${HP_NAP_MS:-1000}
		hp_start_target "$HP_TMP/sleeper-$pie" $threads $ms; t=$HP_T
		pid=$(hp_pid "$t")
		test_expect_success "$pie, $threads thread(s), nap $ms ms: apply waits for the sleeping frames and succeeds" '
			wait_values $t 1 $threads &&
			start=$(date +%s%N) &&
			"$HOTPATCH" -vv apply -p $pid --allow-unsigned --timeout 5 "$HP_TMP/nap-$pie.hpatch" >"$HP_TMP/out" 2>&1 &&
			say "applied in $((($(date +%s%N) - start) / 1000000)) ms: $(grep -o "paused.*" "$HP_TMP/out")" &&
			grep -q "returns through pad" "$HP_TMP/out" &&
			grep -q "^[0-9a-f]*-[0-9a-f]* r-xs .*/memfd:hotpatch-pads" /proc/$pid/maps &&
			wait_values $t 2 $threads &&
			! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$pid/status
		'
		test_expect_success "$pie, $threads thread(s), nap $ms ms: revert waits for frames in the patch code and succeeds" '
			"$HOTPATCH" -vv revert -p $pid --timeout 5 nap-$pie >"$HP_TMP/out" 2>&1 &&
			grep -q "returns through pad" "$HP_TMP/out" &&
			wait_values $t 1 $threads &&
			! grep -q "memfd:hotpatch:" /proc/$pid/maps &&
			! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$pid/status
		'
	done
done

test_expect_success 'a function that never returns: the apply fails in time, every return put back' '
	hp_compile busy "$TARGET_SRC/busy.c" -pthread &&
	hp_make_patch busy 1 "$HP_TMP/busy-fix1.hpatch" --id busy-fix1 &&
	hp_start_target "$HP_TMP/busy" && b=$HP_T && bpid=$(hp_pid $b) &&
	hp_expect_eq "$(hp_ask $b "h -1")" holding &&
	before=$(hp_maps $bpid | grep -v hotpatch-pads) &&
	hp_run_expect 4 apply -p $bpid --allow-unsigned --timeout 1 "$HP_TMP/busy-fix1.hpatch" &&
	grep -q "landing pad" "$HP_TMP/last.err" && grep -q "did not return" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_maps $bpid | grep -v hotpatch-pads)" "$before" "memory maps unchanged" &&
	hp_expect_eq "$(hp_ask $b v)" 1 "still answers, unpatched" &&
	! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$bpid/status
'
test_done
