#!/bin/bash
# SPDX-License-Identifier: MIT
# Helpers for the hotpatch-server tests (t80NN), on top of lib.sh:
#
#   hs_start NAME [server options...]   start a server on a free loopback port; URL in $HS_URL_NAME... see below
#   hs_pg_start                         start a private PostgreSQL (unprivileged user, temp dir); DSN in $HS_PG_DSN
#   hs_api METHOD PATH [BODY]           call the API with $HS_TOKEN; body in $HP_TMP/body, status printed
#   hs_enroll HOSTNAME MACHINE_ID       enroll with $HS_ENROLL; prints "host_id credential"
#   hs_report HOST_ID [jq filter]       a minimal valid agent report (the filter edits it)
#
# A server started by hs_start listens on a port the kernel chose; $HS_URL is its base URL.

HOTPATCH_SERVER=${HOTPATCH_SERVER:-$HP_BUILD_DIR/src/server/hotpatch-server}
HOTPATCHCTL=${HOTPATCHCTL:-$HP_BUILD_DIR/src/server/hotpatchctl}

hs_require_server() {
	[ -x "$HOTPATCH_SERVER" ] || skip_all "hotpatch-server not built (meson -Dserver=enabled needs libmicrohttpd, sqlite3, libpq, libcurl)"
	hp_require curl jq
}

# hs_start ID [options...]: start hotpatch-server (its log is $HP_TMP/ID.log); sets HS_URL and HS_PID_<ID>.
hs_start() {
	local id=$1 i port
	shift
	"$HOTPATCH_SERVER" --port 0 "$@" >/dev/null 2>"$HP_TMP/$id.log" &
	echo $! >"$HP_TMP/$id.pid"
	disown $! 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		port=$(sed -n 's/.*listening on https\{0,1\}:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$HP_TMP/$id.log")
		[ -n "$port" ] && break
		kill -0 "$(cat "$HP_TMP/$id.pid")" 2>/dev/null || break
		sleep 0.02
	done
	if [ -z "$port" ]; then
		echo "server $id did not start:" >&2
		cat "$HP_TMP/$id.log" >&2
		return 1
	fi
	if grep -q "listening on https" "$HP_TMP/$id.log"; then
		HS_URL=https://127.0.0.1:$port
	else
		HS_URL=http://127.0.0.1:$port
	fi
	printf -v "HS_URL_$id" '%s' "$HS_URL"
}

hs_stop() {
	local pid
	pid=$(cat "$HP_TMP/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$HP_TMP/$1.pid"
}

# hs_api METHOD PATH [BODY]: prints the HTTP status; the reply is in $HP_TMP/body.
hs_api() {
	local m=$1 p=$2 args=()
	[ $# -ge 3 ] && args=(--data-binary "$3" -H 'Content-Type: application/json')
	curl -sS -k -o "$HP_TMP/body" -w '%{http_code}' -X "$m" ${HS_TOKEN:+-H "Authorization: Bearer $HS_TOKEN"} \
		"${args[@]}" "$HS_URL/api/v1$p"
}

# hs_api_ok METHOD PATH [BODY]: the call must answer 2xx; prints the body.
hs_api_ok() {
	local code
	code=$(hs_api "$@") || return 1
	case $code in
	2??) cat "$HP_TMP/body" ;;
	*) echo "$1 $2: HTTP $code: $(cat "$HP_TMP/body")" >&2; return 1 ;;
	esac
}

hs_enroll() {
	local out
	out=$(HS_TOKEN= hs_api_ok POST /enroll "{\"protocol\":1,\"token\":\"$HS_ENROLL\",\"hostname\":\"$1\",\"machine_id\":\"$2\",\"agent_version\":\"test\"}") || return 1
	jq -r '.host_id + " " + .credential' <<<"$out"
}

# hs_report HOST_ID [JQ]: a report with no processes, eligible; JQ edits it.
hs_report() {
	jq -cn --arg id "$1" '{protocol:1, host:{host_id:$id, hostname:null, agent_version:"test", kernel:"6.1.0", arch:"x86_64"},
		assessment:{verdict:"eligible", checks:[]}, policy:{name:"local", source:"file", paused:false},
		patches:[], processes:[], restart_required:[], events:[]}' | jq -c "${2:-.}"
}

# hs_checkin CREDENTIAL REPORT: prints the status; reply in $HP_TMP/body.
hs_checkin() {
	curl -sS -k -o "$HP_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--data-binary "$2" "$HS_URL/api/v1/checkin"
}

# A private PostgreSQL as an unprivileged user on a temp dir and a free loopback port.
hs_pg_start() {
	local bin user=nobody port i
	if [ -n "${HP_TEST_PG_DSN:-}" ]; then
		HS_PG_DSN=$HP_TEST_PG_DSN
		return 0
	fi
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$bin/initdb" ] || return 77
	[ "$(id -u)" = 0 ] || return 77
	HS_PG_DIR=$(mktemp -d /tmp/hp-pg.XXXXXX)
	chown "$user" "$HS_PG_DIR"
	chmod 700 "$HS_PG_DIR"
	runuser -u "$user" -- "$bin/initdb" -D "$HS_PG_DIR/data" -U hp -A trust -E UTF8 --no-sync >"$HP_TMP/initdb.log" 2>&1 ||
		{ cat "$HP_TMP/initdb.log" >&2; return 1; }
	for ((i = 0; i < 50; i++)); do
		port=$((20000 + RANDOM % 30000))
		ss -ltn 2>/dev/null | grep -q ":$port " || break
	done
	runuser -u "$user" -- "$bin/pg_ctl" -D "$HS_PG_DIR/data" -l "$HS_PG_DIR/log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $HS_PG_DIR -c fsync=off -c max_connections=200" start >/dev/null ||
		{ cat "$HS_PG_DIR/log" >&2; return 1; }
	HS_PG_BIN=$bin
	HS_PG_DSN="postgresql://hp@127.0.0.1:$port/postgres"
	trap 'hs_pg_stop; hp_cleanup' EXIT
}

hs_pg_stop() {
	[ -n "${HS_PG_DIR:-}" ] || return 0
	runuser -u nobody -- "$HS_PG_BIN/pg_ctl" -D "$HS_PG_DIR/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$HS_PG_DIR"
	HS_PG_DIR=
}

# hs_bootstrap DB: an admin token in HS_TOKEN and an enrollment token in HS_ENROLL.
hs_bootstrap() {
	HS_TOKEN=$("$HOTPATCH_SERVER" --db "$1" create-token --kind api --role admin --name admin) || return 1
	HS_ENROLL=$("$HOTPATCH_SERVER" --db "$1" create-token --kind enroll --name fleet) || return 1
}
