#!/bin/bash
# SPDX-License-Identifier: MIT
# Consistency: a function on some thread's stack delays the apply until it is
# left; one that is never left makes the apply fail cleanly, naming the
# thread and the function, with the process untouched.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build the target and its patch' '
	hp_compile busy "$TARGET_SRC/busy.c" -pthread &&
	hp_make_patch busy 1 "$HP_TMP/busy-fix1.hpatch" --id busy-fix1 &&
	"$HOTPATCH" info "$HP_TMP/busy-fix1.hpatch" | grep -q " hold "
'
hp_start_target "$HP_TMP/busy"; t=$HP_T
pid=$(hp_pid "$t")

test_expect_success 'apply waits while a thread is inside hold() and succeeds once it leaves' '
	hp_expect_eq "$(hp_ask $t "h 1500")" holding &&
	start=$(date +%s%N) &&
	"$HOTPATCH" -v apply -p $pid --allow-unsigned --timeout 10 "$HP_TMP/busy-fix1.hpatch" >"$HP_TMP/out" &&
	elapsed=$((($(date +%s%N) - start) / 1000000)) && say "applied after $elapsed ms" &&
	[ $elapsed -ge 1000 ] &&
	grep -q "attempts" "$HP_TMP/out" && ! grep -q "1 attempt)" "$HP_TMP/out" &&
	hp_expect_eq "$(hp_ask $t v)" 2 "value after apply" &&
	hp_run_expect 0 revert -p $pid busy-fix1
'
test_expect_success 'a function that is never left: the apply fails naming thread and function' '
	hp_expect_eq "$(hp_ask $t "h -1")" holding &&
	before_maps=$(hp_maps $pid) &&
	before_bytes=$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/busy" hold) &&
	hp_run_expect 4 apply -p $pid --allow-unsigned --timeout 1 "$HP_TMP/busy-fix1.hpatch" &&
	grep -q "thread [0-9]* has hold (patched function) on its stack" "$HP_TMP/last.err" &&
	grep -q "retried for" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_maps $pid)" "$before_maps" "memory maps unchanged" &&
	hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/busy" hold)" "$before_bytes" "code unchanged" &&
	hp_expect_eq "$(hp_ask $t v)" 1 "still answers, unpatched" &&
	! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$pid/status
'
test_done
