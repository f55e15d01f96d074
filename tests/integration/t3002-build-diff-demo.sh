#!/bin/bash
# SPDX-License-Identifier: MIT
# The demo (demo/run-demo.sh) works end to end: the service's bug shows, the
# patch built from demo/fix.diff fixes the same running process, revert
# brings the bug back.  Run on a copy of demo/, so the source tree stays clean.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc make patch

cp -a "$HP_SRC_DIR/demo" "$HP_TMP/demo"
export DEMO_PORT=$((20000 + RANDOM % 20000))

test_expect_success 'demo/run-demo.sh runs to the end' '
	TMPDIR=$HP_TMP bash "$HP_TMP/demo/run-demo.sh" >"$HP_TMP/demo.out" 2>&1 || { cat "$HP_TMP/demo.out"; exit 1; }
'
test_expect_success 'it shows the bug, the fix on the same pid, and the bug again after revert' '
	sed -n "/== 2\./,/== 3\./p" "$HP_TMP/demo.out" | grep -q "(admin)" &&
	sed -n "/== 3\./,/== 4\./p" "$HP_TMP/demo.out" | grep -q "diff: session.c: applied" &&
	sed -n "/== 3\./,/== 4\./p" "$HP_TMP/demo.out" | grep -q "diff: README: ignored" &&
	sed -n "/== 4\./,/== 5\./p" "$HP_TMP/demo.out" | grep -q "good signature by trusted key" &&
	sed -n "/== 5\./,/== 6\./p" "$HP_TMP/demo.out" | grep -q "ERR name too long" &&
	! sed -n "/== 5\./,/== 6\./p" "$HP_TMP/demo.out" | grep -q "(admin)" &&
	sed -n "/== 5\./,/== 6\./p" "$HP_TMP/demo.out" | grep -q "badged-login-fix  level 1  active" &&
	sed -n "/== 6\./,/== Done/p" "$HP_TMP/demo.out" | grep -q "(admin)" &&
	pid=$(sed -n "s/^badged \([0-9]*\) listening.*/\1/p" "$HP_TMP/demo.out") &&
	grep -q "ran as pid $pid throughout" "$HP_TMP/demo.out"
'
pid=$(sed -n "s/^badged \([0-9]*\) listening.*/\1/p" "$HP_TMP/demo.out")
test_expect_success 'the service is gone and the demo left nothing behind' '
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null &&
	! ls "$HP_TMP"/hotpatch-demo.* 2>/dev/null | grep -q . &&
	! ls "$HP_TMP/demo/service" | grep -q -e "\.o$" -e "^badged$"
'
test_done
