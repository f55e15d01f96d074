#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch-server on a real PostgreSQL (a private instance started here as
# an unprivileged user, or $HP_TEST_PG_DSN): the same migrations, and two
# server processes serving one fleet -- the rollout scenario alternates its
# check-ins between them, both tick, and every transition happens once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-rollout.sh"
hs_require_server
hp_require root
hs_pg_start
case $? in
0) ;;
77) skip_all "PostgreSQL not installed (postgresql in scripts/deps.sh) or not root" ;;
*) echo "Bail out! cannot start PostgreSQL"; exit 1 ;;
esac

hs_bootstrap "$HS_PG_DSN" || exit 1
hs_start a --db "$HS_PG_DSN" --tick-seconds 1 || exit 1
HS_URL_A=$HS_URL
hs_start b --db "$HS_PG_DSN" --tick-seconds 1 || exit 1
HS_URL_B=$HS_URL

test_expect_success 'both servers run on one database (migrations ran once)' '
	HS_URL=$HS_URL_A hs_api_ok GET /health | jq -e ".store == \"postgresql\"" &&
	HS_URL=$HS_URL_B hs_api_ok GET /whoami | jq -e ".role == \"admin\"" &&
	hp_expect_eq "$(psql -qtA "$HS_PG_DSN" -c "SELECT COUNT(*) - COUNT(DISTINCT version) FROM schema_version" 2>/dev/null || "$HS_PG_BIN/psql" -qtA "$HS_PG_DSN" -c "SELECT COUNT(*) - COUNT(DISTINCT version) FROM schema_version")" 0
'

hs_rollout_scenario

test_expect_success 'concurrent check-ins on both servers: the group limit holds, nothing is lost' '
	hs_api_ok POST /groups "{\"name\":\"burst\",\"max_parallel_percent\":25}" >/dev/null &&
	for n in $(seq 10 29); do
		set -- $(hs_enroll "burst-$n" "bm-$n") && echo "$1 $2" >"$HP_TMP/host$n" &&
		hs_api_ok PATCH "/hosts/$1" "{\"group\":\"burst\"}" >/dev/null || exit 1
	done &&
	hs_api_ok POST /patches/import "{\"index\":{\"patches\":[{\"patch_id\":\"burst-1\",\"build_id\":\"cc01\",\"level\":1}]}}" >/dev/null &&
	hs_api_ok POST /releases "{\"patch_id\":\"burst-1\",\"rings\":[{\"name\":\"all\",\"group\":\"burst\",\"bake_seconds\":3600}]}" >/dev/null &&
	for n in $(seq 10 29); do
		( at $([ $((n % 2)) = 0 ] && echo A || echo B) curl -sS -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer $(cred $n)" \
			--data-binary "$(rep $n)" "$([ $((n % 2)) = 0 ] && echo $HS_URL_A || echo $HS_URL_B)/api/v1/checkin" >"$HP_TMP/code$n" ) &
	done; wait &&
	cat "$HP_TMP"/code* | sort | uniq -c | grep -q "^ *20 200$" &&
	hs_api_ok GET "/hosts?group=burst" | jq -e "[.items[] | select(.last_checkin != null)] | length == 20" &&
	hp_expect_eq "$(hs_api_ok GET /releases/3 | jq .counts.assigned)" 5
'
hs_stop a
hs_stop b
test_done
