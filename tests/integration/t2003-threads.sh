#!/bin/bash
# SPDX-License-Identifier: MIT
# A 64-thread process calling the patched function in a tight loop survives
# 100 apply/revert cycles (HP_CYCLES=N for more), and every result it
# computes is old or new.  Cost: about 90 s on 2 CPUs.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

CYCLES=${HP_CYCLES:-100}
# The patcher prepares each operation while the target's 64 threads keep both CPUs busy; at equal
# priority it gets 1/65 of them.  An operator or agent runs maintenance like this at a higher priority.
HP_NICE="nice -n -10"
test_expect_success 'build the spinning target and its patch' '
	hp_compile spin "$TARGET_SRC/spin.c" -pthread &&
	hp_make_patch spin 1 "$HP_TMP/spin-fix1.hpatch" --id spin-fix1
'
hp_start_target "$HP_TMP/spin" 64; t=$HP_T
pid=$(hp_pid "$t")

test_expect_success "64 threads: $CYCLES apply/revert cycles" '
	fails=0 busy=0
	for ((i = 0; i < CYCLES; i++)); do
		$HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/spin-fix1.hpatch" >/dev/null 2>"$HP_TMP/err"
		rc=$?
		[ $rc = 0 ] || { [ $rc = 4 ] && busy=$((busy + 1)) && continue; cat "$HP_TMP/err"; exit 1; }
		$HP_NICE "$HOTPATCH" revert -p $pid spin-fix1 >/dev/null 2>"$HP_TMP/err" ||
			{ cat "$HP_TMP/err"; exit 1; }
	done
	say "busy refusals: $busy"
	[ -d /proc/$pid ] && [ "$(grep -c . /proc/$pid/task/*/stat | wc -l)" -ge 65 ]
'
test_expect_success 'no result was ever garbage; both versions ran' '
	line=$(hp_ask $t s) && say "$line" &&
	case $line in *" bad=0") ;; *) exit 1 ;; esac &&
	new=${line#*new=} && new=${new%% *} && [ "$new" -gt 0 ]
'
test_expect_success 'the process is left unpatched and running' '
	"$HOTPATCH" status -p $pid | grep -q "no patches applied" &&
	grep -q "^State:.*[RS]" /proc/$pid/status
'
test_done
