#!/bin/bash
# SPDX-License-Identifier: MIT
# The service half of the demo (demo/run-service-demo.sh) works end to end:
# server, policy, enrolled agent, a ring release applied to the running
# service (same pid, bug gone), the per-policy report, a halt that reverts.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc make patch jq curl
[ -x "$HP_BUILD_DIR/src/server/hotpatch-server" ] || skip_all "no hotpatch-server binary"
[ -x "$HP_BUILD_DIR/src/agent/hotpatchd" ] || skip_all "no hotpatchd binary"

cp -a "$HP_SRC_DIR/demo" "$HP_TMP/demo"
mkdir -p "$HP_TMP/web" && cp -a "$HP_SRC_DIR/web/." "$HP_TMP/web/"
export DEMO_PORT=$((20000 + RANDOM % 20000)) DEMO_SERVER_PORT=$((20000 + RANDOM % 20000))

test_expect_success 'demo/run-service-demo.sh runs to the end' '
	TMPDIR=$HP_TMP HP_DEMO_BUILD=$HP_BUILD_DIR bash "$HP_TMP/demo/run-service-demo.sh" >"$HP_TMP/demo.out" 2>&1 ||
		{ cat "$HP_TMP/demo.out"; exit 1; }
'
test_expect_success 'the agent applied the release to the same pid, the report said hotpatched, the halt reverted it' '
	pid=$(sed -n "s/^badged \([0-9]*\) listening.*/\1/p" "$HP_TMP/demo.out") && [ -n "$pid" ] &&
	sed -n "/== 1\./,/== 2\./p" "$HP_TMP/demo.out" | grep -q "(admin)" &&
	sed -n "/== 5\./,/== 6\./p" "$HP_TMP/demo.out" | grep -q "demo-host.*web.*demo" &&
	sed -n "/== 6\./,/== 7\./p" "$HP_TMP/demo.out" | grep -q "ERR name too long" &&
	sed -n "/== 6\./,/== 7\./p" "$HP_TMP/demo.out" | grep -q "badged-login-fix  level 1  active" &&
	sed -n "/== 7\./,/== 8\./p" "$HP_TMP/demo.out" | grep -q "^demo	1	0	1	" &&
	sed -n "/== 8\./,/== Done/p" "$HP_TMP/demo.out" | grep -q "(admin)" &&
	sed -n "/== 8\./,/== Done/p" "$HP_TMP/demo.out" | grep -q "no patches applied" &&
	grep -q "ran as pid $pid throughout" "$HP_TMP/demo.out"
'
pid=$(sed -n "s/^badged \([0-9]*\) listening.*/\1/p" "$HP_TMP/demo.out")
test_expect_success 'service, server and agent are gone and the demo left nothing behind' '
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null &&
	! ls -d "$HP_TMP"/hotpatch-service-demo.* 2>/dev/null | grep -q .
'
test_done
