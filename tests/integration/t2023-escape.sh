#!/bin/bash
# SPDX-License-Identifier: MIT
# Text from patch files and state records reaches the operator's terminal
# (issue 10): escape sequences in a description, a function name or a
# record must be shown as \xNN, never sent raw; JSON keeps them as JSON
# escapes.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq objcopy

esc=$(printf '\033')
test_expect_success 'a patch whose description holds escape sequences, BEL and CR' '
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/fix1.hpatch" --id calc-fix1 \
		--description "$(printf "fixes \033[2J\033]0;pwned\007 the \033[31mbug\r")" &&
	objcopy --dump-section .hotpatch.manifest="$HP_TMP/m.json" "$HP_TMP/fix1.hpatch" "$HP_TMP/scratch.o" &&
	grep -qi "\\\\u001b\[2J" "$HP_TMP/m.json"
'
test_expect_success 'info shows the description escaped, with no raw ESC, BEL or CR' '
	"$HOTPATCH" info "$HP_TMP/fix1.hpatch" >"$HP_TMP/info" &&
	cat "$HP_TMP/info" | head -12 &&
	grep -qF "description  fixes \\x1b[2J\\x1b]0;pwned\\x07 the \\x1b[31mbug\\x0d" "$HP_TMP/info" &&
	! grep -q "[$esc$(printf "\007\r")]" "$HP_TMP/info"
'
test_expect_success 'info --json carries the same text as JSON escapes' '
	"$HOTPATCH" info --json "$HP_TMP/fix1.hpatch" >"$HP_TMP/info.json" &&
	! grep -q "$esc" "$HP_TMP/info.json" &&
	hp_expect_eq "$(jq -r .manifest.description "$HP_TMP/info.json")" \
		"$(printf "fixes \033[2J\033]0;pwned\007 the \033[31mbug\r")" description
'
hp_start_target "$HP_TMP/calc"; pid=$(hp_pid $HP_T)
test_expect_success 'apply, status and errors print no raw escape either' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/fix1.hpatch" &&
	"$HOTPATCH" status -p $pid >"$HP_TMP/st" 2>&1 &&
	! grep -q "$esc" "$HP_TMP/st" "$HP_TMP/last.out" "$HP_TMP/last.err" &&
	! "$HOTPATCH" revert -p $pid "$(printf "x\033[2J")" 2>"$HP_TMP/err" &&
	cat "$HP_TMP/err" &&
	grep -qF "x\\x1b[2J" "$HP_TMP/err" && ! grep -q "$esc" "$HP_TMP/err" &&
	hp_run_expect 0 revert -p $pid calc-fix1
'
test_done
