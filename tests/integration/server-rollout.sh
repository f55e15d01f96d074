#!/bin/bash
# SPDX-License-Identifier: MIT
# The rollout scenario shared by t8003 (SQLite, one server) and t8004
# (PostgreSQL, two servers): simulated agents check in alternately at
# $HS_URL_A and $HS_URL_B.  Needs lib.sh, server-lib.sh, HS_TOKEN, HS_ENROLL.

# hs_wait_release ID JQ [SECONDS]: wait until the release matches JQ (the tick judges it).
hs_wait_release() {
	local i
	for ((i = 0; i < ${3:-60} * 5; i++)); do
		hs_api_ok GET "/releases/$1" | jq -e "$2" >/dev/null && return 0
		sleep 0.2
	done
	echo "release $1 never matched $2: $(cat "$HP_TMP/body")" >&2
	return 1
}

# at A|B: run the rest against that server.
at() {
	local s=$1
	shift
	if [ "$s" = A ]; then HS_URL=$HS_URL_A "$@"; else HS_URL=$HS_URL_B "$@"; fi
}

# rep HOST-NUMBER [jq]: the report of simulated host N.
rep() {
	local id
	read -r id _ <"$HP_TMP/host$1"
	hs_report "$id" "${2:-.}"
}

cred() { cut -d" " -f2 "$HP_TMP/host$1"; }

# patched BUILD PATCH LEVEL: a process running the patch (and the patch applied).
patched() {
	echo ".patches=[{patch_id:\"$2\",level:$3,build_id:\"$1\",state:\"applied\"}] |
		.processes=[{pid:100,comm:\"svc\",unit:\"svc.service\",targets:[{path:\"/usr/lib/libsvc.so.1\",build_id:\"$1\",patch_id:\"$2\",level:$3,state:\"patched\"}]}]"
}

hs_rollout_scenario() {
	test_expect_success 'setup: groups, five enrolled hosts, two patches' '
		hs_api_ok POST /groups "{\"name\":\"pilot\",\"max_parallel_percent\":50}" >/dev/null &&
		hs_api_ok POST /groups "{\"name\":\"rest\",\"max_parallel_percent\":100}" >/dev/null &&
		hs_api_ok POST /policies "{\"name\":\"fleet\"}" >/dev/null &&
		hs_api_ok PUT /groups/pilot/policy "{\"policy\":\"fleet\"}" >/dev/null &&
		hs_api_ok PUT /groups/rest/policy "{\"policy\":\"fleet\"}" >/dev/null &&
		for n in 1 2 3 4 5; do
			set -- $(hs_enroll "host-$n" "machine-$n") && echo "$1 $2" >"$HP_TMP/host$n" &&
			g=rest && [ $n -le 2 ] && g=pilot
			hs_api_ok PATCH "/hosts/$1" "{\"group\":\"$g\"}" >/dev/null || exit 1
		done &&
		S=$(printf %064d 1) &&
		hs_api_ok POST /patches/import "{\"index\":{\"patches\":[
			{\"patch_id\":\"good-1\",\"build_id\":\"bb01\",\"level\":1,\"cves\":[\"CVE-2026-1111\"],\"sha256\":\"$S\",\"url\":\"https://repo.example/good-1.hpatch\"},
			{\"patch_id\":\"bad-1\",\"build_id\":\"bb02\",\"level\":1,\"cves\":[\"CVE-2026-2222\"],\"sha256\":\"$S\",\"url\":\"https://repo.example/bad-1.hpatch\"}]}}" |
			jq -e ".imported == 2"
	'

	test_expect_success 'release: ring 1 (pilot) starts; at most 50% of the pilot group at once' '
		hs_api_ok POST /releases "{\"patch_id\":\"good-1\",\"rings\":[{\"name\":\"pilot\",\"group\":\"pilot\",\"bake_seconds\":2,\"failure_threshold\":1},{\"name\":\"broad\",\"percent\":100,\"bake_seconds\":1}]}" |
			jq -e ".id == 1 and .state == \"active\" and .ring == \"pilot\"" &&
		at A hs_checkin "$(cred 1)" "$(rep 1)" >/dev/null &&
		jq -e ".assignments == [{patch_id:\"good-1\",level:1,build_id:\"bb01\",action:\"apply\",url:\"https://repo.example/good-1.hpatch\",sha256:\"$(printf %064d 1)\",deployment_id:1,ring:\"pilot\"}]" "$HP_TMP/body" &&
		at B hs_checkin "$(cred 2)" "$(rep 2)" >/dev/null && jq -e ".assignments == []" "$HP_TMP/body" &&
		at A hs_checkin "$(cred 3)" "$(rep 3)" >/dev/null && jq -e ".assignments == []" "$HP_TMP/body" &&
		hs_api_ok GET "/hosts?state=in-progress" | jq -e ".total == 1" || { hs_api_ok GET /hosts | jq -c ".items[] | [.hostname,.state]"; exit 1; }
	'

	test_expect_success 'an applied report completes the assignment; the next pilot host gets it' '
		at B hs_checkin "$(cred 1)" "$(rep 1 "$(patched bb01 good-1 1) | .events=[{id:1,kind:\"applied\",patch_id:\"good-1\",pid:100}]")" >/dev/null &&
		jq -e ".events_ack == 1" "$HP_TMP/body" &&
		at A hs_checkin "$(cred 2)" "$(rep 2)" >/dev/null && jq -e ".assignments[0].patch_id == \"good-1\"" "$HP_TMP/body" &&
		at B hs_checkin "$(cred 2)" "$(rep 2 "$(patched bb01 good-1 1)")" >/dev/null &&
		hs_api_ok GET /releases/1 | jq -e ".counts.done == 2 and .counts.assigned == 0" || { cat $HP_TMP/body; exit 1; }
	'

	test_expect_success 'after the bake time, ring 2 (broad) is promoted by the tick, once' '
		hs_wait_release 1 ".current_ring == 1 and .ring == \"broad\"" &&
		for n in 3 4 5; do
			at $([ $n = 4 ] && echo B || echo A) hs_checkin "$(cred $n)" "$(rep $n)" >/dev/null &&
			jq -e ".assignments[0].ring == \"broad\" and .assignments[0].action == \"apply\"" "$HP_TMP/body" ||
				{ cat "$HP_TMP/body"; hs_api_ok GET /releases/1; exit 1; }
		done &&
		for n in 3 4 5; do
			at B hs_checkin "$(cred $n)" "$(rep $n "$(patched bb01 good-1 1)")" >/dev/null || exit 1
		done &&
		hs_wait_release 1 ".state == \"completed\"" &&
		hs_api_ok GET "/audit?per_page=1000" | jq -e "[.items[] | select(.object == \"release/1\" and .action == \"release.promote\")] | length == 1" &&
		hs_api_ok GET /reports/policies | jq -e ".items[] | select(.policy == \"fleet\") | .devices == 5 and .hotpatched == 5 and .percent_on_latest == 100" ||
			{ cat "$HP_TMP/body"; hs_api_ok GET /hosts | jq -c ".items[] | [.hostname, .state]"; exit 1; }
		hs_api_ok GET /reports/policies | jq -e ".items[] | select(.policy == \"fleet\") | .devices == 5 and .hotpatched == 5 and .percent_on_latest == 100" &&
		hs_api_ok GET /reports/cves | jq -e ".items[] | select(.cve == \"CVE-2026-1111\") | .hosts_vulnerable == 0 and .hosts_patched == 5"
	'

	test_expect_success 'a crash in ring 1 halts the release at once, with the evidence' '
		hs_api_ok POST /releases "{\"patch_id\":\"bad-1\",\"rings\":[{\"name\":\"pilot\",\"group\":\"pilot\",\"bake_seconds\":3600,\"failure_threshold\":1},{\"name\":\"broad\",\"percent\":100}]}" |
			jq -e ".id == 2" &&
		at A hs_checkin "$(cred 1)" "$(rep 1 "$(patched bb01 good-1 1)")" >/dev/null &&
		jq -e "[.assignments[] | select(.patch_id == \"bad-1\" and .action == \"apply\")] | length == 1" "$HP_TMP/body" &&
		at B hs_checkin "$(cred 1)" "$(rep 1 ".events=[{id:2,kind:\"applied\",patch_id:\"bad-1\",pid:200},{id:3,time:\"2026-12-06T01:00:00Z\",kind:\"crash\",patch_id:\"bad-1\",pid:200,detail:\"SIGSEGV in svc\"}] | .patches=[{patch_id:\"bad-1\",level:1,state:\"halted\",halted_reason:\"crash\"}]")" >/dev/null &&
		jq -e "[.assignments[] | select(.patch_id == \"bad-1\")][0].action == \"revert\"" "$HP_TMP/body" &&
		hs_api_ok GET /releases/2 >"$HP_TMP/rel2" &&
		jq -e ".state == \"halted\" and .current_ring == 0 and .failures == 1 and .revert == true" "$HP_TMP/rel2" &&
		jq -e ".evidence[0].hostname == \"host-1\" and .evidence[0].pid == 200 and .evidence[0].kind == \"crash\" and .evidence[0].detail == \"SIGSEGV in svc\"" "$HP_TMP/rel2" &&
		hs_api_ok GET "/audit?per_page=1000" | jq -e "[.items[] | select(.object == \"release/2\" and .action == \"release.halt\" and .actor == \"rollout\")] | length == 1"
	'

	test_expect_success 'the affected host is told to revert; nobody else gets the bad patch' '
		at A hs_checkin "$(cred 1)" "$(rep 1)" >/dev/null &&
		jq -e "[.assignments[] | select(.patch_id == \"bad-1\")] == [.assignments[] | select(.patch_id == \"bad-1\" and .action == \"revert\")] and ([.assignments[] | select(.patch_id == \"bad-1\")] | length == 1)" "$HP_TMP/body" &&
		for n in 2 3 4 5; do
			at B hs_checkin "$(cred $n)" "$(rep $n "$(patched bb01 good-1 1)")" >/dev/null &&
			jq -e "[.assignments[] | select(.patch_id == \"bad-1\")] == []" "$HP_TMP/body" || exit 1
		done &&
		hs_api_ok GET /releases/2 | jq -e ".counts.reverted == 1 and .counts.assigned == 0 and .rings[1].state == \"pending\""
	'

	test_expect_success 'operator halt with revert, resume, and a read-only user cannot' '
		ro=$(hs_api_ok POST /tokens "{\"kind\":\"api\",\"name\":\"ro\",\"role\":\"read-only\"}" | jq -r .secret) &&
		hp_expect_eq "$(HS_TOKEN=$ro hs_api POST /releases/2/resume)" 403 &&
		at B hs_api_ok POST /releases/2/resume | jq -e ".state == \"active\" and .failures == 0" &&
		hp_expect_eq "$(hs_api POST /releases/2/resume)" 409 &&
		at A hs_api_ok POST /releases/2/halt "{\"revert\":true,\"reason\":\"by hand\"}" | jq -e ".state == \"halted\" and (.halted_reason | test(\"by hand\"))"
	'
}
