#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch-server on SQLite, on loopback: enrollment and credentials, hostile
# input refused with nothing stored, roles, policies and groups, reports that
# count exactly what the (simulated) agents reported, CSV, static files, TLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
hs_require_server
hp_require openssl

DB=$HP_TMP/server.db
mkdir -p "$HP_TMP/web/js" && echo '<!doctype html><title>hp</title>' >"$HP_TMP/web/index.html" &&
	echo 'export const x = 1;' >"$HP_TMP/web/js/app.js"
hs_bootstrap "$DB" || { echo "bootstrap failed"; exit 1; }
hs_start srv --db "$DB" --web-root "$HP_TMP/web" --poll-seconds 60 || exit 1
ADMIN=$HS_TOKEN

test_expect_success 'health answers without a credential' '
	HS_TOKEN= hs_api_ok GET /health | jq -e ".status == \"ok\" and .store == \"sqlite\""
'

test_expect_success 'enroll gives a host id and a credential; only its hash is stored' '
	set -- $(hs_enroll web-1 m-web-1) &&
	echo "$1 $2" >"$HP_TMP/h1" &&
	[[ $2 == hph_* ]] &&
	! sqlite3 "$DB" "SELECT hash FROM tokens" | grep -q "${2#hph_}" &&
	[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM tokens WHERE hash = (SELECT lower(hex(sha256(\"x\"))))" 2>/dev/null || echo 0)" = 0 ] &&
	[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts WHERE id = '"'"'$1'"'"'")" = 1 ]
'

test_expect_success 'wrong, revoked and expired enrollment tokens are 401 and store nothing' '
	n=$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts") &&
	code=$(HS_TOKEN= hs_api POST /enroll "{\"protocol\":1,\"token\":\"hpe_nope\",\"hostname\":\"x\",\"machine_id\":\"y\"}") &&
	hp_expect_eq "$code" 401 && jq -e ".error.kind == \"unauthorized\"" "$HP_TMP/body" &&
	exp=$(hs_api_ok POST /tokens "{\"kind\":\"enroll\",\"name\":\"short\",\"expires_in\":1}" | jq -r .secret) &&
	sqlite3 "$DB" "UPDATE tokens SET expires_at = 1 WHERE name = '"'"'short'"'"'" &&
	code=$(HS_TOKEN= hs_api POST /enroll "{\"protocol\":1,\"token\":\"$exp\",\"hostname\":\"x\",\"machine_id\":\"y\"}") &&
	hp_expect_eq "$code" 401 && grep -q expired "$HP_TMP/body" &&
	rid=$(hs_api_ok POST /tokens "{\"kind\":\"enroll\",\"name\":\"gone\"}" | jq -r ".id, .secret" | paste -sd " ") &&
	set -- $rid && hs_api_ok DELETE /tokens/$1 >/dev/null &&
	code=$(HS_TOKEN= hs_api POST /enroll "{\"protocol\":1,\"token\":\"$2\",\"hostname\":\"x\",\"machine_id\":\"y\"}") &&
	hp_expect_eq "$code" 401 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts")" "$n"
'

test_expect_success 'check-in with no, wrong or an API credential is refused' '
	read -r hid cred <"$HP_TMP/h1" &&
	rep=$(hs_report "$hid") &&
	hp_expect_eq "$(hs_checkin "" "$rep")" 401 &&
	hp_expect_eq "$(hs_checkin hph_0000 "$rep")" 401 &&
	hp_expect_eq "$(hs_checkin "$ADMIN" "$rep")" 403
'

test_expect_success 'a host reporting for another host is 403 and nothing is stored' '
	read -r hid cred <"$HP_TMP/h1" &&
	set -- $(hs_enroll web-2 m-web-2) && echo "$1 $2" >"$HP_TMP/h2" &&
	rep=$(hs_report "$1" ".processes=[{pid:7,comm:\"evil\",targets:[{build_id:\"ee\",state:\"patched\",level:1}]}] | .events=[{id:1,kind:\"crash\",patch_id:\"x\"}]") &&
	hp_expect_eq "$(hs_checkin "$cred" "$rep")" 403 &&
	jq -e ".error.kind == \"forbidden\"" "$HP_TMP/body" &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM host_targets")" 0 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM events")" 0 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts WHERE last_checkin IS NOT NULL")" 0
'

test_expect_success 'malformed JSON, wrong types, unknown protocol are 400 and store nothing' '
	read -r hid cred <"$HP_TMP/h1" &&
	hp_expect_eq "$(hs_checkin "$cred" "{\"protocol\":1,")" 400 && jq -e ".error.kind == \"json\"" "$HP_TMP/body" &&
	hp_expect_eq "$(hs_checkin "$cred" "[1,2]")" 400 &&
	hp_expect_eq "$(hs_checkin "$cred" "{\"protocol\":1,\"protocol\":1,\"host\":{}}")" 400 &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid" ".protocol=2")")" 400 && jq -e ".error.kind == \"protocol\"" "$HP_TMP/body" &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid" ".processes=[{pid:\"1\"}]")")" 400 &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid" ".events=[{id:-1,kind:\"x\"}]")")" 400 &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid" ".patches=[{patch_id:\"../x\"}]")")" 400 &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid" ".host.hostname=(\"a\"*300)")")" 400 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts WHERE last_checkin IS NOT NULL")" 0
'

test_expect_success 'oversized bodies are 413 (report over 4 MiB, other requests over 64 KiB)' '
	read -r hid cred <"$HP_TMP/h1" &&
	head -c 5000000 /dev/zero | tr "\0" " " >"$HP_TMP/big" &&
	code=$(curl -sS -o "$HP_TMP/body" -w "%{http_code}" -H "Authorization: Bearer $cred" --data-binary @"$HP_TMP/big" "$HS_URL/api/v1/checkin") &&
	hp_expect_eq "$code" 413 && jq -e ".error.kind == \"too-large\"" "$HP_TMP/body" &&
	head -c 70000 /dev/zero | tr "\0" " " >"$HP_TMP/big" &&
	code=$(curl -sS -o "$HP_TMP/body" -w "%{http_code}" -H "Authorization: Bearer $ADMIN" --data-binary @"$HP_TMP/big" "$HS_URL/api/v1/groups") &&
	hp_expect_eq "$code" 413 &&
	code=$(head -c 5000000 /dev/zero | tr "\0" " " | curl -sS -o "$HP_TMP/body" -w "%{http_code}" -H "Transfer-Encoding: chunked" \
		-H "Authorization: Bearer $cred" --data-binary @- "$HS_URL/api/v1/checkin") &&
	hp_expect_eq "$code" 413 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts WHERE last_checkin IS NOT NULL")" 0
'

test_expect_success 'roles: read-only reads, cannot change; operator cannot administer tokens' '
	ro=$(hs_api_ok POST /tokens "{\"kind\":\"api\",\"name\":\"viewer\",\"role\":\"read-only\"}" | jq -r .secret) &&
	op=$(hs_api_ok POST /tokens "{\"kind\":\"api\",\"name\":\"ops\",\"role\":\"operator\"}" | jq -r .secret) &&
	echo "$ro $op" >"$HP_TMP/roles" &&
	HS_TOKEN=$ro hs_api_ok GET /whoami | jq -e ".role == \"read-only\"" &&
	HS_TOKEN=$ro hs_api_ok GET /hosts >/dev/null &&
	hp_expect_eq "$(HS_TOKEN=$ro hs_api POST /groups "{\"name\":\"nope\"}")" 403 &&
	hp_expect_eq "$(HS_TOKEN=$op hs_api GET /tokens)" 403 &&
	hp_expect_eq "$(HS_TOKEN=$op hs_api GET /audit)" 403 &&
	hp_expect_eq "$(HS_TOKEN=$(cat "$HP_TMP/h1" | cut -d" " -f2) hs_api GET /hosts)" 403 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM groups WHERE name = '"'"'nope'"'"'")" 0
'

test_expect_success 'policies: create, validate, assign to a group; the host gets the document at check-in' '
	read -r ro op <"$HP_TMP/roles" &&
	HS_TOKEN=$op hs_api_ok POST /policies "{\"name\":\"prod\",\"apply_without_restart\":true,\"auto_classifications\":[\"critical\",\"security\"],\"deferral_days\":0,\"deadline_days\":7,\"windows\":[{\"days\":[\"sat\"],\"start\":\"02:00\",\"duration_minutes\":120}],\"timezone\":null,\"paused\":false,\"restart\":\"never\",\"never_restart\":[],\"health\":{\"bake_seconds\":600,\"crash_threshold\":1}}" >/dev/null &&
	hp_expect_eq "$(HS_TOKEN=$op hs_api POST /policies "{\"name\":\"bad\",\"windows\":[{\"start\":\"25:00\",\"duration_minutes\":5}]}")" 400 &&
	hp_expect_eq "$(HS_TOKEN=$op hs_api POST /policies "{\"name\":\"bad\",\"auto_classifications\":[\"all\"]}")" 400 &&
	hp_expect_eq "$(HS_TOKEN=$op hs_api POST /policies "{\"name\":\"prod\"}")" 409 &&
	HS_TOKEN=$op hs_api_ok POST /policies "{\"name\":\"frozen\",\"paused\":true}" >/dev/null &&
	HS_TOKEN=$op hs_api_ok POST /groups "{\"name\":\"web\",\"policy\":\"prod\"}" >/dev/null &&
	HS_TOKEN=$op hs_api_ok POST /groups "{\"name\":\"db\",\"policy\":\"frozen\"}" >/dev/null &&
	read -r hid cred <"$HP_TMP/h1" &&
	HS_TOKEN=$op hs_api_ok PATCH /hosts/$hid "{\"group\":\"web\",\"labels\":[\"eu\"]}" | jq -e ".group == \"web\" and .policy == \"prod\"" &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid")")" 200 &&
	jq -e ".policy.name == \"prod\" and .policy.deadline_days == 7 and .assignments == [] and .poll_seconds == 60" "$HP_TMP/body" &&
	hs_api_ok PUT /policies/prod "{\"name\":\"prod\",\"deadline_days\":3}" >/dev/null &&
	hp_expect_eq "$(hs_checkin "$cred" "$(hs_report "$hid")")" 200 &&
	jq -e ".policy.deadline_days == 3" "$HP_TMP/body" &&
	hp_expect_eq "$(hs_api DELETE /policies/prod)" 409
'

# Six hosts in known states; the per-policy report must count exactly these.
test_expect_success 'per-policy report counts what the hosts reported' '
	read -r h1 c1 <"$HP_TMP/h1" && read -r h2 c2 <"$HP_TMP/h2" &&
	hs_api_ok PATCH /hosts/$h2 "{\"group\":\"web\"}" >/dev/null &&
	for n in 3 4 5 6; do set -- $(hs_enroll web-$n m-web-$n) && echo "$1 $2" >"$HP_TMP/h$n" &&
		hs_api_ok PATCH /hosts/$1 "{\"group\":\"web\"}" >/dev/null || exit 1; done &&
	read -r h3 c3 <"$HP_TMP/h3" && read -r h4 c4 <"$HP_TMP/h4" && read -r h5 c5 <"$HP_TMP/h5" && read -r h6 c6 <"$HP_TMP/h6" &&
	P="[{pid:11,comm:\"nginx\",unit:\"nginx.service\",targets:[{path:\"/usr/lib/libfoo.so.1\",build_id:\"aa11\",patch_id:\"foo-1\",level:1,state:\"patched\"}]}]" &&
	hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P")" >/dev/null &&
	hs_checkin "$c2" "$(hs_report "$h2")" >/dev/null &&
	hs_checkin "$c3" "$(hs_report "$h3" ".assessment={verdict:\"not-eligible\",checks:[{name:\"ptrace_scope\",result:\"not-ok\",reason:\"yama 3\"}]}")" >/dev/null &&
	hs_checkin "$c4" "$(hs_report "$h4" ".policy.paused=true")" >/dev/null &&
	hs_checkin "$c5" "$(hs_report "$h5" ".processes=[{pid:12,targets:[{build_id:\"aa11\",state:\"restart-required\",level:0}]}] | .restart_required=[{unit:\"foo.service\",pid:12,reason:\"deleted\"}]")" >/dev/null &&
	hs_checkin "$c6" "$(hs_report "$h6" ".processes=[{pid:13,targets:[{build_id:\"aa11\",state:\"pending\",level:0}]}]")" >/dev/null &&
	hs_api_ok GET /reports/policies >"$HP_TMP/rep" &&
	jq -e ".items[] | select(.policy == \"prod\") | .devices == 6 and .hotpatched == 1 and .up_to_date == 1
		and .not_ready == 1 and .not_ready_reasons.ptrace_scope == 1 and .paused == 1 and .not_up_to_date == 1
		and .in_progress == 1 and .restart_required == 1 and .restart_required_units == 1 and .percent_on_latest == 33.3" "$HP_TMP/rep" &&
	jq -e ".items[] | select(.policy == \"frozen\") | .devices == 0" "$HP_TMP/rep" &&
	hs_api_ok GET "/reports/trend?days=90&policy=prod" | jq -e ".items[-1] | .day == (now | strftime(\"%Y-%m-%d\")) and .devices == 6 and .hotpatched == 1" &&
	hs_api_ok GET "/hosts?state=not-ready&group=web" | jq -e ".total == 1 and .items[0].reason == \"ptrace_scope\"" &&
	hs_api_ok GET "/hosts?q=web-&per_page=2&page=3" | jq -e ".total == 6 and (.items | length) == 2" &&
	hs_api_ok GET "/hosts?restart_required=true" | jq -e ".total == 1 and .items[0].hostname == \"web-5\"" &&
	hs_api_ok GET "/hosts?state=up-to-date,hotpatched&policy=prod" | jq -e ".total == 2" &&
	hs_api_ok GET "/hosts?policy=" | jq -e ".total == 0"
'

test_expect_success 'per-CVE report: hosts and processes still running the vulnerable build' '
	read -r h1 c1 <"$HP_TMP/h1" &&
	hs_api_ok POST /patches/import "{\"index\":{\"patches\":[{\"patch_id\":\"foo-1\",\"build_id\":\"aa11\",\"level\":1,\"target\":\"libfoo.so.1\",\"classification\":\"security\",\"cves\":[\"CVE-2026-0001\"],\"sha256\":\"$(printf %064d 0)\",\"size\":1,\"release_time\":\"2026-12-01T00:00:00Z\",\"url\":\"patches/foo-1.hpatch\"}]}}" | jq -e ".imported == 1" &&
	hs_api_ok GET /reports/cves | jq -e ".items[0] | .cve == \"CVE-2026-0001\" and .hosts_vulnerable == 2 and .processes_vulnerable == 2 and .hosts_patched == 1" &&
	hs_api_ok GET /reports/cves/CVE-2026-0001 | jq -e "[.items[].pid] | sort == [12, 13]" &&
	hs_api_ok GET "/hosts?cve=CVE-2026-0001" | jq -e ".total == 2" &&
	hs_api_ok GET "/hosts/$h1" | jq -e ".processes[0].targets[0].state == \"patched\" and .group == \"web\" and .labels == [\"eu\"]" &&
	hp_expect_eq "$(hs_api POST /patches/import "{\"index\":{\"patches\":[{\"patch_id\":\"x\",\"build_id\":\"XYZ\"}]}}")" 400
'

test_expect_success 'CSV export of hosts, reports and history parses' '
	curl -sS -H "Authorization: Bearer $ADMIN" "$HS_URL/api/v1/hosts?format=csv" >"$HP_TMP/hosts.csv" &&
	head -1 "$HP_TMP/hosts.csv" | grep -q "^host_id,hostname,group,policy,state" &&
	hp_expect_eq "$(tail -n +2 "$HP_TMP/hosts.csv" | wc -l)" 6 &&
	curl -sS -H "Authorization: Bearer $ADMIN" "$HS_URL/api/v1/reports/policies?format=csv" | grep -q "^\"prod\",6,1,1,1,1,1,1,1,1,33.3,\"ptrace_scope=1\"" &&
	curl -sS -D - -o /dev/null -H "Authorization: Bearer $ADMIN" "$HS_URL/api/v1/reports/cves?format=csv" | grep -qi "content-type: text/csv"
'

test_expect_success 'events are stored once and acknowledged' '
	read -r h1 c1 <"$HP_TMP/h1" &&
	E="[{id:5,time:\"2026-12-06T00:00:00Z\",kind:\"applied\",patch_id:\"foo-1\",pid:11},{id:6,kind:\"restart\",pid:11}]" &&
	hs_checkin "$c1" "$(hs_report "$h1" ".events=$E")" >/dev/null && jq -e ".events_ack == 6" "$HP_TMP/body" &&
	hs_checkin "$c1" "$(hs_report "$h1" ".events=$E")" >/dev/null && jq -e ".events_ack == 6" "$HP_TMP/body" &&
	hs_api_ok GET "/hosts/$h1/history" | jq -e ".total == 2 and .items[1].patch_id == \"foo-1\" and .items[1].cves == [\"CVE-2026-0001\"]"
'

# The common check-in (nothing changed) takes the one-statement path: it must
# write last-seen (and new events) and nothing else, and still see a policy paused since.
test_expect_success 'an unchanged report writes only last-seen; a changed one rewrites the rows' '
	read -r h1 c1 <"$HP_TMP/h1" &&
	P="[{pid:11,comm:\"nginx\",unit:\"nginx.service\",targets:[{path:\"/usr/lib/libfoo.so.1\",build_id:\"aa11\",patch_id:\"foo-1\",level:1,state:\"patched\"}]}]" &&
	rows() { sqlite3 "$DB" "SELECT group_concat(comm) FROM host_targets WHERE host_id = '"'"'$h1'"'"'"; } &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P")")" 200 &&
	hp_expect_eq "$(rows)" nginx &&
	sqlite3 "$DB" "UPDATE host_targets SET comm = '"'"'marker'"'"' WHERE host_id = '"'"'$h1'"'"'" &&
	before=$(rows) &&
	sqlite3 "$DB" "UPDATE hosts SET last_checkin = 1 WHERE id = '"'"'$h1'"'"'" &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P | .host.time=\"2026-12-06T05:00:00Z\" | .events=[{id:6,kind:\"restart\"}]")")" 200 &&
	jq -e ".events_ack == 6 and .policy.name == \"prod\"" "$HP_TMP/body" &&
	hp_expect_eq "$(rows)" "$before" &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P | .events=[{id:7,kind:\"crash\",patch_id:\"foo-1\",pid:11}]")")" 200 &&
	jq -e ".events_ack == 7" "$HP_TMP/body" &&
	hp_expect_eq "$(rows)" "$before" &&
	hs_api_ok GET "/hosts/$h1/history" | jq -e ".total == 3 and ([.items[] | select(.kind == \"crash\")] | length) == 1" &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P | .events=[{id:7,kind:\"crash\",patch_id:\"foo-1\",pid:11}]")")" 200 &&
	hs_api_ok GET "/hosts/$h1/history" | jq -e ".total == 3" &&
	[ "$(sqlite3 "$DB" "SELECT last_checkin FROM hosts WHERE id = '"'"'$h1'"'"'")" -gt 1 ] &&
	hs_api_ok PUT /policies/prod "{\"name\":\"prod\",\"deadline_days\":3,\"paused\":true}" >/dev/null &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P")")" 200 &&
	hs_api_ok GET "/hosts/$h1" | jq -e ".state == \"paused\"" &&
	hs_api_ok PUT /policies/prod "{\"name\":\"prod\",\"deadline_days\":3}" >/dev/null &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P")")" 200 &&
	hs_api_ok GET "/hosts/$h1" | jq -e ".state == \"hotpatched\"" &&
	hp_expect_eq "$(rows)" "$before" &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P | .processes[0].pid=99")")" 200 &&
	hp_expect_eq "$(rows)" nginx &&
	hs_api_ok GET "/hosts/$h1" | jq -e ".processes[0].pid == 99" &&
	hp_expect_eq "$(hs_checkin "$c1" "$(hs_report "$h1" ".processes=$P")")" 200
'

test_expect_success 'token last_used: set when used, written at most once a minute' '
	id=$(hs_api_ok GET /whoami | jq -r .token_id) &&
	now=$(date +%s) &&
	[ "$(sqlite3 "$DB" "SELECT last_used FROM tokens WHERE id = $id")" -ge $((now - 90)) ] &&
	[ "$(sqlite3 "$DB" "SELECT last_used FROM tokens WHERE kind = '"'"'enroll'"'"' AND name = '"'"'fleet'"'"'")" -ge $((now - 120)) ] &&
	sqlite3 "$DB" "UPDATE tokens SET last_used = $((now - 30)) WHERE id = $id" &&
	hs_api_ok GET /whoami >/dev/null &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT last_used FROM tokens WHERE id = $id")" $((now - 30)) &&
	sqlite3 "$DB" "UPDATE tokens SET last_used = $((now - 90)) WHERE id = $id" &&
	hs_api_ok GET /whoami >/dev/null &&
	[ "$(sqlite3 "$DB" "SELECT last_used FROM tokens WHERE id = $id")" -ge "$now" ] &&
	hs_api_ok GET /tokens | jq -e "[.items[] | select(.id == $id)][0].last_used | test(\"^20[0-9-]+T\")" &&
	HOTPATCH_SERVER_URL=$HS_URL HOTPATCH_TOKEN=$ADMIN "$HOTPATCHCTL" token list | grep -q "last_used" &&
	[ -n "$(sqlite3 "$DB" "SELECT last_used FROM tokens WHERE name = '"'"'viewer'"'"'")" ]
'

test_expect_success 're-enrolling a machine replaces its identity and revokes the old credential' '
	read -r h2 c2 <"$HP_TMP/h2" &&
	set -- $(hs_enroll web-2 m-web-2) &&
	hp_expect_eq "$(hs_checkin "$c2" "$(hs_report "$h2")")" 401 &&
	hp_expect_eq "$(hs_checkin "$2" "$(hs_report "$1")")" 200 &&
	hp_expect_eq "$(sqlite3 "$DB" "SELECT COUNT(*) FROM hosts WHERE machine_id = '"'"'m-web-2'"'"'")" 1
'

test_expect_success 'unknown routes 404, wrong methods 405, both as JSON errors' '
	hp_expect_eq "$(hs_api GET /nope)" 404 && jq -e ".error.kind == \"not-found\"" "$HP_TMP/body" &&
	hp_expect_eq "$(hs_api DELETE /reports/policies)" 405 && jq -e ".error.kind == \"method\"" "$HP_TMP/body" &&
	hp_expect_eq "$(hs_api GET /hosts/does-not-exist)" 404
'

test_expect_success 'the audit log names who changed what' '
	hs_api_ok GET "/audit?per_page=1000" >"$HP_TMP/audit" &&
	jq -e "[.items[] | select(.actor == \"api:ops\" and .action == \"policy.create\" and .object == \"prod\")] | length == 1" "$HP_TMP/audit" &&
	jq -e "[.items[] | select(.action == \"host.enroll\" and .actor == \"enroll:fleet\")] | length >= 6" "$HP_TMP/audit" &&
	jq -e "[.items[] | select(.action == \"group.create\")] | length == 2" "$HP_TMP/audit"
'

test_expect_success 'dashboard files are served with their content types; no path escapes' '
	curl -sSI "$HS_URL/" | grep -qi "content-type: text/html" &&
	curl -sSI "$HS_URL/js/app.js" | grep -qi "content-type: text/javascript" &&
	hp_expect_eq "$(curl -s -o /dev/null -w "%{http_code}" --path-as-is "$HS_URL/../server.db")" 404 &&
	hp_expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HS_URL/missing.html")" 404
'

test_expect_success 'hotpatchctl drives the same API (tables and --json)' '
	export HOTPATCH_SERVER_URL=$HS_URL HOTPATCH_TOKEN=$ADMIN &&
	"$HOTPATCHCTL" group list | grep -q "^web" &&
	"$HOTPATCHCTL" --json report policies | jq -e ".items | length == 3" &&
	"$HOTPATCHCTL" host list --state paused | tail -1 | grep -q paused &&
	"$HOTPATCHCTL" report policies --csv | grep -q "^\"prod\"" &&
	! "$HOTPATCHCTL" group delete web 2>"$HP_TMP/err" && grep -q "has hosts" "$HP_TMP/err"
'

test_expect_success 'TLS: the same server over HTTPS with a self-signed certificate' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HP_TMP/key.pem" -out "$HP_TMP/cert.pem" -days 1 \
		-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null &&
	hs_start tls --db "$DB" --tls-cert "$HP_TMP/cert.pem" --tls-key "$HP_TMP/key.pem" &&
	[[ $HS_URL == https://* ]] &&
	curl -sS --cacert "$HP_TMP/cert.pem" "$HS_URL/api/v1/health" | jq -e ".status == \"ok\"" &&
	! curl -sS -o /dev/null "$HS_URL/api/v1/health" 2>/dev/null &&
	HOTPATCH_SERVER_URL=$HS_URL HOTPATCH_TOKEN=$ADMIN "$HOTPATCHCTL" --cacert "$HP_TMP/cert.pem" whoami | grep -q "role: admin"
'
hs_stop tls
hs_stop srv
test_done
