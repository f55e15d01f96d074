#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd with a file:// repository: the patch for a running build comes
# from the signed index with its package and version; `hotpatch agent vex`
# says "fixed" only while every process mapping the vulnerable build runs the
# patch, else "affected" naming the processes on old code; both documents
# validate against the OpenVEX 0.2.0 JSON Schema (ajv-cli from npm, installed
# into the build directory).  `hotpatch agent assess` lists a process running
# a deleted build as restart-required, with its reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
hp_require ptrace cc jq

AJV_DIR=$HP_BUILD_DIR/npm-ajv
AJV=$AJV_DIR/node_modules/.bin/ajv
if [ ! -x "$AJV" ] && command -v npm >/dev/null; then
	mkdir -p "$AJV_DIR" && (cd "$AJV_DIR" && npm install --no-audit --no-fund --silent ajv-cli@5 ajv-formats@2) >/dev/null 2>&1
fi
SCHEMA=$HP_SRC_DIR/tests/fixtures/openvex/openvex_json_schema.json
validate() {
	"$AJV" validate --spec=draft2020 -c ajv-formats -s "$SCHEMA" -d "$1" >"$HP_TMP/ajv.out" 2>&1 ||
		{ cat "$HP_TMP/ajv.out" >&2; return 1; }
}

repo=$HP_TMP/repo
test_expect_success 'setup: a signed repository on file:// and hotpatchd configured to use it' '
	hp_agent_setup &&
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/calc.hpatch" --id calc-fix-1 --classification security --cve CVE-2026-0001 --cve CVE-2026-0004 &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/calc.hpatch" >/dev/null &&
	"$HOTPATCH" repo add "$repo" "$HP_TMP/calc.hpatch" --package calc --package-version 1.0-1 >/dev/null &&
	"$HOTPATCH" repo index "$repo" >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/key.key" >/dev/null &&
	printf "[repository]\nurl = file://%s/index.json\ninterval = 3600\n" "$repo" >>"$HP_TMP/agent.conf" &&
	cp "$HP_TMP/calc" "$HP_TMP/calc2"
'
hp_start_target "$HP_TMP/calc"; t1=$HP_T
hp_start_target "$HP_TMP/calc2"; t3=$HP_T
test_expect_success 'the daemon syncs the repository at start and patches the running process' '
	hp_agent_start && hp_answers $t1 "c 5" 1018 &&
	"$HOTPATCH" agent status --json >"$HP_TMP/st.json" &&
	jq -e ".last_sync != null and .patches[0].package == \"calc\" and .patches[0].version == \"1.0-1\"" "$HP_TMP/st.json" >/dev/null &&
	grep -q "repository: accepted index file://$repo/index.json serial 1" "$HP_TMP/hotpatchd.log"
'
test_expect_success 'vex: fixed while every process of the build runs the patch; valid OpenVEX' '
	[ -x "$AJV" ] || { echo "ajv-cli could not be installed from npm" >&2; exit 1; } &&
	"$HOTPATCH" agent vex -o "$HP_TMP/vex1.json" &&
	jq -e "[.statements[] | select(.vulnerability.name == \"CVE-2026-0001\" or .vulnerability.name == \"CVE-2026-0004\") | .status] == [\"fixed\", \"fixed\"]" "$HP_TMP/vex1.json" >/dev/null &&
	jq -e ".statements[0].products[0][\"@id\"] == \"pkg:deb/debian/calc@1.0-1?arch=amd64\"" "$HP_TMP/vex1.json" >/dev/null &&
	validate "$HP_TMP/vex1.json"
'
test_expect_success 'vex: affected, naming the process still on old code; valid OpenVEX' '
	echo "{\"version\":1,\"name\":\"held\",\"paused\":true}" >"$AG_POLICY" &&
	hp_wait_until 10 sh -c "\"$HOTPATCH\" agent status --json | jq -e \".policy.paused == true\"" &&
	hp_start_target "$HP_TMP/calc" && t2=$HP_T && p2=$(hp_pid $t2) &&
	hp_expect_eq "$(hp_ask $t2 "c 5")" 18 "held back" &&
	"$HOTPATCH" agent vex >"$HP_TMP/vex2.json" &&
	jq -e "[.statements[] | .status] == [\"affected\", \"affected\"]" "$HP_TMP/vex2.json" >/dev/null &&
	jq -e ".statements[0].action_statement | test(\"$p2 \\\\(calc\\\\)\")" "$HP_TMP/vex2.json" >/dev/null &&
	validate "$HP_TMP/vex2.json" &&
	echo "{\"version\":1,\"name\":\"go\"}" >"$AG_POLICY" && hp_answers $t2 "c 5" 1018 &&
	"$HOTPATCH" agent vex | jq -e "[.statements[] | .status] == [\"fixed\", \"fixed\"]" >/dev/null
'
test_expect_success 'a document that breaks the schema is refused by the validator (the check is real)' '
	jq ".statements[0].status = \"affected\" | del(.statements[0].action_statement)" "$HP_TMP/vex1.json" >"$HP_TMP/bad.json" &&
	! validate "$HP_TMP/bad.json" 2>/dev/null
'
test_expect_success 'assess: a process running a deleted build is restart-required, with its reason' '
	p3=$(hp_pid $t3) && rm -f "$HP_TMP/calc2" &&
	"$HOTPATCH" agent assess >"$HP_TMP/as.json" &&
	jq -e ".verdict != null and (.checks | length) > 0" "$HP_TMP/as.json" >/dev/null &&
	jq -e --argjson p $p3 "[.restart_required[] | select(.pid == \$p) | .reason] | .[0] | test(\"deleted build of .*calc2\")" "$HP_TMP/as.json" >/dev/null &&
	"$HOTPATCH" agent status >"$HP_TMP/st.txt" && grep -q "restart required" "$HP_TMP/st.txt" &&
	grep -q "pid $p3 .*deleted build" "$HP_TMP/st.txt"
'
test_done
