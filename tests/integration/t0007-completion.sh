#!/bin/bash
# SPDX-License-Identifier: MIT
# bash completion (completion/hotpatch.bash): commands, options, the pids of
# processes that map a patch's target, and the patch ids applied in a pid.
. "$(dirname "$0")/lib.sh"
hp_require cc

# complete WORDS...: what bash completion offers for the last word
complete_words() {
	(
		PATH=$(dirname "$HOTPATCH"):$PATH
		. "$HP_SRC_DIR/completion/hotpatch.bash"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_hotpatch
		printf "%s\n" "${COMPREPLY[@]}"
	)
}

test_expect_success 'commands and options' '
	complete_words hotpatch ap | grep -qx apply &&
	complete_words hotpatch apply --dr | grep -qx -- --dry-run &&
	complete_words hotpatch revert --js | grep -qx -- --json-seq &&
	complete_words hotpatch help st | grep -qx status &&
	[ -z "$(complete_words hotpatch status --dry)" ]
'

test_expect_success 'build the service and its patch' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id comp-fix
'
hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
hp_start_target sh -c 'echo ready; exec sleep 600'; U=$HP_T; u=$(hp_pid $U)

test_expect_success 'apply FILE -p: the pids of processes that map the target, no others' '
	complete_words hotpatch apply "$HP_TMP/fix.hpatch" -p "" >"$HP_TMP/c" &&
	grep -qx $a "$HP_TMP/c" && ! grep -qx $u "$HP_TMP/c"
'

if [ "$(id -u)" = 0 ]; then
	test_expect_success 'revert -p PID: the patch ids applied in it' '
		hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix.hpatch" &&
		hp_expect_eq "$(complete_words hotpatch revert -p $a "")" comp-fix "patch ids" &&
		hp_expect_eq "$(complete_words hotpatch revert -p $a co)" comp-fix "with a prefix"
	'
else
	test_skip 'revert -p PID: the patch ids applied in it' 'needs root to apply'
fi
test_done
