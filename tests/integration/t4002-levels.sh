#!/bin/bash
# SPDX-License-Identifier: MIT
# Cumulative levels on a 64-thread process calling the affected functions:
# 1 -> 2 -> 3 -> revert, each replacing the previous in one stop; functions
# only the old level replaced go back to the original; downgrades refused.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build the target and levels 1, 2, 3 (each the whole change since the baseline)' '
	hp_compile levels "$TARGET_SRC/levels.c" -pthread &&
	for n in 1 2 3; do hp_make_patch levels $n "$HP_TMP/l$n.hpatch" --id levels-l$n --level $n || exit 1; done &&
	"$HOTPATCH" info "$HP_TMP/l3.hpatch" | grep -q "^level        3" &&
	! "$HOTPATCH" info "$HP_TMP/l3.hpatch" | grep -q " fa "
'
hp_start_target "$HP_TMP/levels" 64; t=$HP_T
pid=$(hp_pid "$t")
orig_fa=$("$HP_TEST_TOOL" funcbytes "$pid" "$HP_TMP/levels" fa)

test_expect_success 'baseline' 'hp_expect_eq "$(hp_ask $t q)" "0 0 0" markers'
test_expect_success 'level 1' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l1.hpatch" &&
	hp_expect_eq "$(hp_ask $t q)" "1 0 0" markers
'
test_expect_success 'level 2 replaces level 1 in one stop' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" &&
	grep -q "replacing levels-l1" "$HP_TMP/last.out" &&
	hp_expect_eq "$(hp_ask $t q)" "1 2 0" markers &&
	"$HOTPATCH" status -p $pid >"$HP_TMP/st" && grep -q "levels-l2  level 2  active" "$HP_TMP/st" &&
	! grep -q "levels-l1" "$HP_TMP/st" && ! grep -q "memfd:hotpatch:levels-l1" /proc/$pid/maps
'
test_expect_success 'level 3: fa, which only level 2 replaced, is the original again' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l3.hpatch" &&
	hp_expect_eq "$(hp_ask $t q)" "0 2 3" markers &&
	hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/levels" fa)" "$orig_fa" "fa bytes"
'
test_expect_success 'a lower or equal level is refused without --allow-downgrade (exit 12)' '
	hp_run_expect 12 apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" &&
	grep -q "level 3 .* is applied" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_ask $t q)" "0 2 3" "markers unchanged" &&
	hp_run_expect 0 apply -p $pid --allow-unsigned --allow-downgrade "$HP_TMP/l2.hpatch" &&
	hp_expect_eq "$(hp_ask $t q)" "1 2 0" "downgraded to level 2" &&
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l3.hpatch"
'
test_expect_success 'revert removes the current level and leaves the original' '
	hp_run_expect 0 revert -p $pid levels-l3 &&
	hp_expect_eq "$(hp_ask $t q)" "0 0 0" markers &&
	"$HOTPATCH" status -p $pid | grep -q "no patches applied" &&
	! grep -q memfd:hotpatch: /proc/$pid/maps
'
test_expect_success 'no thread ever computed a result of no level' '
	line=$(hp_ask $t s) && say "$line" && case $line in *" bad=0") ;; *) exit 1 ;; esac
'
test_done
