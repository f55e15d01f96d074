#!/bin/bash
# SPDX-License-Identifier: MIT
# Two patchers against one process at once: one works, the other waits for
# it (a per-process lock that dies with its holder) and then sees the result
# -- never two successes for one apply or one revert, never a half-done
# state.  A patcher that cannot get the lock in time says which pid holds it.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc flock

export HOTPATCH_RUN_DIR=$HP_TMP/run
test_expect_success 'build the target and levels 1 and 2' '
	hp_compile levels "$TARGET_SRC/levels.c" -pthread &&
	for n in 1 2; do hp_make_patch levels $n "$HP_TMP/l$n.hpatch" --id two-l$n --level $n || exit 1; done
'
hp_start_target "$HP_TMP/levels" 4; t=$HP_T
pid=$(hp_pid "$t")

# Run two hotpatch commands at once; their exit codes in $rc1 $rc2.
both() {
	"$HOTPATCH" $1 >"$HP_TMP/o1" 2>&1 & local p1=$!
	"$HOTPATCH" $2 >"$HP_TMP/o2" 2>&1 & local p2=$!
	wait $p1; rc1=$?
	wait $p2; rc2=$?
}
patches() { "$HOTPATCH" status -p $pid | sed -n 's/^  \(two-l[12]\)  level [0-9]*  \(.*\)/\1 \2/p' | tr '\n' ' '; }

test_expect_success 'two applies of one patch: one applies it, the other finds it applied' '
	for i in 1 2 3; do
		both "apply -p $pid --allow-unsigned $HP_TMP/l1.hpatch" "apply -p $pid --allow-unsigned $HP_TMP/l1.hpatch"
		say "round $i: exit codes $rc1 $rc2"
		case "$rc1 $rc2" in "0 3" | "3 0") ;; *) cat "$HP_TMP/o1" "$HP_TMP/o2"; exit 1 ;; esac
		hp_expect_eq "$(patches)" "two-l1 active " "status" || exit 1
		hp_expect_eq "$(hp_ask $t q)" "1 0 0" markers || exit 1
		both "revert -p $pid two-l1" "revert -p $pid two-l1"
		say "round $i: revert exit codes $rc1 $rc2"
		case "$rc1 $rc2" in "0 3" | "3 0") ;; *) cat "$HP_TMP/o1" "$HP_TMP/o2"; exit 1 ;; esac
		hp_expect_eq "$(patches)" "" "status" || exit 1
		hp_expect_eq "$(hp_ask $t q)" "0 0 0" markers || exit 1
	done
'
test_expect_success 'apply of level 2 against revert of level 1: the outcome matches the exit codes' '
	for i in 1 2 3; do
		hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l1.hpatch" || exit 1
		both "apply -p $pid --allow-unsigned $HP_TMP/l2.hpatch" "revert -p $pid two-l1"
		say "round $i: apply $rc1, revert $rc2"
		# Either order ends with level 2 active: revert first (0, 0), or the replace first and
		# level 1 is gone when the revert looks (0, 3).
		case "$rc1 $rc2" in "0 0" | "0 3") ;; *) cat "$HP_TMP/o1" "$HP_TMP/o2"; exit 1 ;; esac
		hp_expect_eq "$(patches)" "two-l2 active " "status" || exit 1
		hp_expect_eq "$(hp_ask $t q)" "1 2 0" markers || exit 1
		hp_run_expect 0 revert -p $pid two-l2 || exit 1
	done
'
test_expect_success 'a lock held elsewhere: apply waits its timeout, then names the holder' '
	read -r stat </proc/$pid/stat && rest=${stat##*) } && set -- $rest && start=${20} &&
	mkdir -p "$HOTPATCH_RUN_DIR" && lock=$HOTPATCH_RUN_DIR/pid-$pid-$start.lock &&
	echo "pid 4242" >"$lock" &&
	{ flock -x "$lock" sleep 4 & } && sleep 0.5 &&
	hp_run_expect 4 apply -p $pid --allow-unsigned --timeout 1 "$HP_TMP/l1.hpatch" &&
	grep -q "being worked on by another hotpatch (pid 4242)" "$HP_TMP/last.err" &&
	hp_expect_eq "$(patches)" "" "status" &&
	wait &&
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/l1.hpatch" &&
	hp_run_expect 0 revert -p $pid two-l1 &&
	! ls "$HOTPATCH_RUN_DIR" | grep -q "pid-$pid-.*lock"
'
test_done
