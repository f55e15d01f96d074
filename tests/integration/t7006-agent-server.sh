#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd and a real hotpatch-server (docs/protocol.md): the agent enrolls
# with a token, checks in with its report, takes the group's policy (and keeps
# it offline), gets an assignment for a patch its own policy would not apply
# automatically (classification "other"), downloads it from the repository
# the server names, applies it; a halt with revert takes it back.  Needs the
# server binary: $HP_SERVER_BIN, else the build directory's (after the server
# is merged), else SKIP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
hp_require ptrace cc jq curl

SERVER=${HP_SERVER_BIN:-$HP_BUILD_DIR/src/server/hotpatch-server}
CTL=${HP_SERVERCTL_BIN:-$(dirname "$SERVER")/hotpatchctl}
[ -x "$SERVER" ] && [ -x "$CTL" ] || skip_all "no hotpatch-server binary (set HP_SERVER_BIN or build the server)"

port=$((20000 + RANDOM % 20000))
repo=$HP_TMP/repo
export HOTPATCH_SERVER_URL=http://127.0.0.1:$port
test_expect_success 'setup: a repository, a server with an enrollment token, a group with a policy' '
	hp_agent_setup &&
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/calc.hpatch" --id calc-other-1 --classification other --cve CVE-2026-0009 &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/calc.hpatch" >/dev/null &&
	"$HOTPATCH" repo add "$repo" "$HP_TMP/calc.hpatch" --package calc --package-version 1.0-1 >/dev/null &&
	"$HOTPATCH" repo index "$repo" >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/key.key" >/dev/null &&
	"$SERVER" --db "$HP_TMP/server.db" create-token --kind api --role admin --name admin >"$HP_TMP/admin.tok" &&
	test -s "$HP_TMP/admin.tok"
'
export HOTPATCH_TOKEN=$(grep -o "hp[a-z]*_[0-9a-f]*" "$HP_TMP/admin.tok" 2>/dev/null | head -1)
"$SERVER" --db "$HP_TMP/server.db" --port $port --poll-seconds 1 --tick-seconds 1 \
	--repository "file://$repo/index.json" >"$HP_TMP/server.log" 2>&1 &
echo $! >"$HP_TMP/server.pid"
hp_wait_until 30 curl -s "http://127.0.0.1:$port/api/v1/whoami" >/dev/null

test_expect_success 'the group gets a policy on the server; an enrollment token into it' '
	echo "{\"version\":1,\"name\":\"srv-web\",\"auto_classifications\":[\"critical\"]}" >"$HP_TMP/pol.json" &&
	"$CTL" policy create "$HP_TMP/pol.json" >/dev/null &&
	"$CTL" group create web --policy srv-web >/dev/null &&
	"$CTL" token create --kind enroll --name hosts --group web >"$HP_TMP/enroll.tok" &&
	enroll=$(grep -o "hp[a-z]*_[0-9a-f]*" "$HP_TMP/enroll.tok" | head -1) && [ -n "$enroll" ] &&
	printf "[server]\nurl = http://127.0.0.1:%s\ntoken = %s\n" $port "$enroll" >>"$HP_TMP/agent.conf"
'
hp_start_target "$HP_TMP/calc"; t1=$HP_T
test_expect_success 'the agent enrolls, checks in and takes the server policy' '
	hp_agent_start &&
	hp_wait_until 30 test -s "$AG_STATE/enrollment.json" &&
	[ "$(stat -c %a "$AG_STATE/enrollment.json")" = 600 ] &&
	hp_wait_until 30 sh -c "\"$HOTPATCH\" agent status --json | jq -e \".policy.name == \\\"srv-web\\\" and .policy.source == \\\"server\\\"\"" &&
	hid=$(jq -r .host_id "$AG_STATE/enrollment.json") &&
	hp_wait_until 30 sh -c "\"$CTL\" -j host show $hid | grep -q srv-web"
'
test_expect_success 'a released patch is assigned, downloaded from the repository and applied' '
	"$CTL" patch import "file://$repo/index.json" >/dev/null &&
	"$CTL" release create calc-other-1 --ring name=pilot,group=web,bake=3600 >"$HP_TMP/rel.out" &&
	hp_wait_until 60 test -f "$AG_STORE/patches/calc-other-1.hpatch" &&
	hp_answers $t1 "c 5" 1018
'
test_expect_success 'a halt with revert takes it back on the host' '
	rel=$("$CTL" -j release list | jq -r "(.items // .)[0].id") &&
	"$CTL" release halt "$rel" --revert --reason "test" >/dev/null &&
	hp_answers $t1 "c 5" 18 &&
	test -f "$AG_STATE/halted/calc-other-1.json"
'
test_expect_success 'offline: the server gone, the agent keeps the last policy' '
	kill $(cat "$HP_TMP/server.pid") && rm -f "$HP_TMP/server.pid" &&
	hp_agent_stop && hp_agent_start &&
	"$HOTPATCH" agent status --json | jq -e ".policy.name == \"srv-web\" and .policy.source == \"server\"" >/dev/null
'
test_done
