#!/bin/bash
# SPDX-License-Identifier: MIT
# Rollouts at fleet scale (docs/server.md, "Rollouts at 100,000 hosts"), on
# SQLite: with a release going on, an unchanged check-in of a host the
# release cannot reach yet, or that is done with it, still takes the short
# path (observed: the full path rewrites agent_version, the short one does
# not touch it); a release transition sends every host the full way once;
# the places of a group are claimed and given back without counting the
# group, and the tick counts them again (a host removed while assigned).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
hs_require_server
hp_require sqlite3

DB=$HP_TMP/server.db
hs_bootstrap "$DB" || exit 1
hs_start a --db "$DB" --tick-seconds 1 || exit 1

sql() { sqlite3 "$DB" "$1"; }
host() { read -r id _ <"$HP_TMP/host-$1"; echo "$id"; }
cred() { cut -d" " -f2 "$HP_TMP/host-$1"; }
# mark N: the agent_version column says "marker" until a full-path check-in rewrites it
mark() { sql "UPDATE hosts SET agent_version = 'marker' WHERE id = '$(host "$1")'"; }
version() { sql "SELECT agent_version FROM hosts WHERE id = '$(host "$1")'"; }
checkin() { hp_expect_eq "$(hs_checkin "$(cred "$1")" "$(hs_report "$(host "$1")" "${2:-.}")")" 200; }
APPLIED='.patches=[{patch_id:"x-1",level:1,build_id:"cc01",state:"applied"}]'
assigned() { jq -e '[.assignments[] | select(.patch_id == "x-1" and .action == "apply")] | length == 1' "$HP_TMP/body"; }

test_expect_success 'setup: a pilot host and two far hosts, a release in the pilot ring' '
	hs_api_ok POST /policies "{\"name\":\"fleet\"}" >/dev/null &&
	for g in pilot far; do
		hs_api_ok POST /groups "{\"name\":\"$g\",\"max_parallel_percent\":50,\"policy\":\"fleet\"}" >/dev/null || exit 1
	done &&
	for h in p1:pilot f1:far f2:far; do
		set -- $(hs_enroll "${h%%:*}" "m-${h%%:*}") && echo "$1 $2" >"$HP_TMP/host-${h%%:*}" &&
		hs_api_ok PATCH "/hosts/$1" "{\"group\":\"${h#*:}\"}" >/dev/null || exit 1
	done &&
	hs_api_ok POST /patches/import "{\"index\":{\"patches\":[{\"patch_id\":\"x-1\",\"build_id\":\"cc01\",\"level\":1}]}}" >/dev/null &&
	hs_api_ok POST /releases "{\"patch_id\":\"x-1\",\"rings\":[{\"name\":\"pilot\",\"group\":\"pilot\",\"bake_seconds\":3600},{\"name\":\"far\",\"group\":\"far\",\"bake_seconds\":3600}]}" |
		jq -e ".id == 1 and .ring == \"pilot\""
'

test_expect_success 'a host the release cannot reach yet: full path once, then the short path' '
	checkin f1 && jq -e ".assignments == [] and .policy.name == \"fleet\"" "$HP_TMP/body" &&
	mark f1 && checkin f1 && jq -e ".assignments == [] and .policy.name == \"fleet\"" "$HP_TMP/body" &&
	hp_expect_eq "$(version f1)" marker &&
	checkin p1 && assigned
'

test_expect_success 'a promotion sends the host the full way; it gets the one place of its group' '
	hs_api_ok POST /releases/1/promote | jq -e ".ring == \"far\"" &&
	checkin f1 && hp_expect_eq "$(version f1)" test && assigned &&
	checkin f2 && jq -e ".assignments == []" "$HP_TMP/body" &&
	mark f2 && checkin f2 && jq -e ".assignments == []" "$HP_TMP/body" &&
	hp_expect_eq "$(version f2)" test &&
	hp_expect_eq "$(sql "SELECT slots FROM release_slots WHERE release_id = 1 AND group_id = (SELECT id FROM groups WHERE name = '"'"'far'"'"')")" 0
'

test_expect_success 'a completed assignment gives its place back at once; done hosts take the short path' '
	checkin f1 "$APPLIED" && jq -e ".assignments | length == 1" "$HP_TMP/body" &&
	checkin f2 && assigned &&
	mark f1 && checkin f1 "$APPLIED" && hp_expect_eq "$(version f1)" marker &&
	jq -e ".assignments == [{patch_id:\"x-1\",level:1,build_id:\"cc01\",action:\"apply\",url:\"\",sha256:\"\",deployment_id:1,ring:\"far\"}]" "$HP_TMP/body" || { cat "$HP_TMP/body"; false; } &&
	checkin f1 "$APPLIED | .events=[{id:1,kind:\"applied\",patch_id:\"x-1\",pid:100}]" &&
	hp_expect_eq "$(version f1)" test &&
	hs_api_ok GET /releases/1 | jq -e ".counts.done == 1 and .counts.assigned == 2" || { cat "$HP_TMP/body"; false; }
'

test_expect_success 'the tick counts the places again: a host removed while assigned frees its place' '
	hs_api_ok DELETE "/hosts/$(host f2)" >/dev/null &&
	set -- $(hs_enroll f3 m-f3) && echo "$1 $2" >"$HP_TMP/host-f3" &&
	hs_api_ok PATCH "/hosts/$1" "{\"group\":\"far\"}" >/dev/null &&
	for i in $(seq 50); do
		checkin f3 && assigned && break
		sleep 0.2
	done &&
	assigned
'
hs_stop a
test_done
