#!/bin/bash
# SPDX-License-Identifier: MIT
# Refusals: each with its exit code and a message naming the cause, the
# process unchanged.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build PIE and non-PIE targets and their patches' '
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" -fPIE -pie &&
	hp_compile calc-nopie "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" -fno-pie -no-pie &&
	hp_make_patch calc 1 "$HP_TMP/fix.hpatch" --id fix &&
	hp_make_patch calc-nopie 1 "$HP_TMP/nopie.hpatch" --id nopie
'
hp_start_target "$HP_TMP/calc"; t=$HP_T
pid=$(hp_pid "$t")
before=$(hp_maps $pid)

test_expect_success 'wrong build-id: restart required, exit 5' '
	hp_run_expect 5 apply -p $pid --allow-unsigned "$HP_TMP/nopie.hpatch" &&
	grep -q "does not map calc-nopie" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_maps $pid)" "$before" maps
'
test_expect_success 'the same patch twice: exit 3, nothing changes' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/fix.hpatch" &&
	after=$(hp_maps $pid) &&
	hp_run_expect 3 apply -p $pid --allow-unsigned "$HP_TMP/fix.hpatch" &&
	grep -q "already applied" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_maps $pid)" "$after" maps &&
	hp_expect_eq "$(hp_ask $t "c 1")" 1006 patched &&
	hp_run_expect 0 revert -p $pid fix &&
	hp_run_expect 3 revert -p $pid fix && grep -q "not applied" "$HP_TMP/last.err"
'
test_expect_success 'truncated and garbage patch files: exit 7' '
	size=$(stat -c %s "$HP_TMP/fix.hpatch") &&
	for n in 0 10 64 $((size / 2)) $((size - 1)); do
		head -c $n "$HP_TMP/fix.hpatch" >"$HP_TMP/trunc.hpatch" &&
		hp_run_expect 7 apply -p $pid --allow-unsigned "$HP_TMP/trunc.hpatch" || exit 1
	done &&
	head -c 4096 /dev/urandom >"$HP_TMP/junk.hpatch" &&
	hp_run_expect 7 apply -p $pid --allow-unsigned "$HP_TMP/junk.hpatch" &&
	grep -q "not an ELF" "$HP_TMP/last.err" &&
	hp_expect_eq "$(hp_maps $pid)" "$before" maps
'
test_expect_success 'a process that does not exist: exit 13' '
	hp_run_expect 13 apply -p 999999 --allow-unsigned "$HP_TMP/fix.hpatch" &&
	grep -q "999999" "$HP_TMP/last.err" &&
	hp_run_expect 13 status -p 999999 &&
	hp_run_expect 2 apply -p abc "$HP_TMP/fix.hpatch"
'
test_expect_success 'a process traced by someone else: exit 14 naming the tracer' '
	command -v strace >/dev/null || { say "SKIP: no strace"; exit 0; }
	strace -p $pid -o /dev/null & sp=$!
	for i in $(seq 100); do grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$pid/status && break; sleep 0.05; done
	hp_run_expect 14 apply -p $pid --allow-unsigned "$HP_TMP/fix.hpatch"; rc=$?
	kill $sp; wait $sp 2>/dev/null
	[ $rc = 0 ] && grep -q "already traced by pid" "$HP_TMP/last.err"
'
test_expect_success 'a stopped process: exit 14, left stopped and unpatched' '
	kill -STOP $pid &&
	hp_run_expect 14 apply -p $pid --allow-unsigned "$HP_TMP/fix.hpatch" &&
	grep -q "is stopped" "$HP_TMP/last.err" &&
	grep -q "^State:.*T" /proc/$pid/status &&
	kill -CONT $pid &&
	hp_expect_eq "$(hp_ask $t "c 1")" 6 unpatched
'
test_expect_success 'a process that exits during the apply: clean error, no hang' '
	hp_compile busy "$TARGET_SRC/busy.c" -pthread &&
	hp_make_patch busy 1 "$HP_TMP/busy.hpatch" --id busy &&
	hp_start_target "$HP_TMP/busy" && b=$HP_T && bp=$(hp_pid $b) &&
	hp_ask $b "h -1" >/dev/null &&
	{ ( sleep 0.5; kill -9 $bp ) & } &&
	hp_run_expect 13 apply -p $bp --allow-unsigned --timeout 5 "$HP_TMP/busy.hpatch" &&
	{ grep -q "exited\|no such process" "$HP_TMP/last.err" || { cat "$HP_TMP/last.err"; exit 1; }; }
'
test_expect_success 'the target is unchanged after all refusals' '
	hp_expect_eq "$(hp_maps $pid)" "$before" maps &&
	hp_expect_eq "$(hp_ask $t "c 5")" 18 compute
'
test_done
