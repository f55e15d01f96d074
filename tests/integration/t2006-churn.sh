#!/bin/bash
# SPDX-License-Identifier: MIT
# Threads created and exiting during the apply: every apply and revert either
# succeeds or fails with a clear error, the process never crashes, and no
# result is ever garbage.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build the churning target and its patch' '
	hp_compile churn "$TARGET_SRC/churn.c" -pthread &&
	hp_make_patch churn 1 "$HP_TMP/churn.hpatch" --id churn
'
hp_start_target "$HP_TMP/churn"; t=$HP_T
pid=$(hp_pid "$t")

test_expect_success '30 apply/revert cycles while threads come and go' '
	ok=0
	for ((i = 0; i < 30; i++)); do
		"$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/churn.hpatch" >/dev/null 2>"$HP_TMP/err"
		rc=$?
		case $rc in
		0) ok=$((ok + 1)) ;;
		4) ;;	# busy until the timeout: allowed, must say why
		*) cat "$HP_TMP/err"; exit 1 ;;
		esac
		if [ $rc = 0 ]; then
			"$HOTPATCH" revert -p $pid churn >/dev/null 2>"$HP_TMP/err" || { cat "$HP_TMP/err"; exit 1; }
		fi
		[ -d /proc/$pid ] || { echo "the target died"; exit 1; }
	done
	say "$ok of 30 applied" && [ $ok -gt 0 ]
'
test_expect_success 'the process is alive, untraced, unpatched, and computed no garbage' '
	line=$(hp_ask $t s) && say "$line" &&
	case $line in *" bad=0") ;; *) exit 1 ;; esac &&
	! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$pid/status &&
	"$HOTPATCH" status -p $pid | grep -q "no patches applied"
'
test_done
