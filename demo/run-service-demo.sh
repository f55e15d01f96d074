#!/bin/bash
# SPDX-License-Identifier: MIT
# The hotpatch service demo: the same fix, delivered the way a fleet owner
# runs it — a control server, a policy, a ring, and the host's agent.
#
#   demo/run-service-demo.sh    (as root; HOTPATCH, HOTPATCH_SERVER, HOTPATCHCTL, HOTPATCHD
#                                default to the binaries of build/)
#
# 1. build the sample service (badged) and start it; the fix as a signed patch
# 2. publish the patch in a signed static repository
# 3. start hotpatch-server (SQLite) with the dashboard; an admin token
# 4. a policy, a group that uses it, an enrollment token
# 5. start the host's agent (hotpatchd): it enrolls and checks in
# 6. release the patch to the pilot ring: the agent applies it, same pid, bug gone
# 7. the per-policy report: the host is hotpatched
# 8. halt the release with revert: the agent reverts it, the bug is back, the report follows
# Everything (service, server, agent, files) is removed on any exit.
set -u
export LC_ALL=C

DEMO=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$DEMO")
BUILD=${HP_DEMO_BUILD:-$ROOT/build}
HOTPATCH=${HOTPATCH:-$BUILD/src/cli/hotpatch}
HOTPATCH_SERVER=${HOTPATCH_SERVER:-$BUILD/src/server/hotpatch-server}
HOTPATCHCTL=${HOTPATCHCTL:-$BUILD/src/server/hotpatchctl}
HOTPATCHD=${HOTPATCHD:-$BUILD/src/agent/hotpatchd}
cd "$ROOT" || exit 1
SERVICE=demo/service
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-service-demo.XXXXXX")
PID= SERVER_PID= AGENT_PID=


cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	make -s -C "$SERVICE" clean >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The commands below say hotpatch, hotpatch-server, hotpatchctl; these are the binaries they mean.
hotpatch() { "$HOTPATCH" "$@"; }
hotpatch-server() { "$HOTPATCH_SERVER" "$@"; }
hotpatchctl() { "$HOTPATCHCTL" "$@"; }

. "$DEMO/lib-demo.sh"
demo_on_die() {
	[ -s "$WORK/server.log" ] && { echo "--- hotpatch-server log (last lines):" >&2; tail -15 "$WORK/server.log" >&2; }
	[ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null && echo "--- hotpatch-server is not running" >&2
	[ -f "$WORK/hotpatchd.log" ] && { echo "--- hotpatchd log (last lines):" >&2; tail -15 "$WORK/hotpatchd.log" >&2; }
}
# quiet_login: the service's answer to the 21-character login, nothing shown
quiet_login() {
	local reply
	exec 4<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf 'LOGIN mallory.........ADMIN\nQUIT\n' >&4
	IFS= read -r -t 5 reply <&4
	exec 4>&-
	printf '%s\n' "$reply"
}
login_refused() { case $(quiet_login) in ERR*) return 0 ;; esac; return 1; }
login_accepted() { case $(quiet_login) in ERR* | "") return 1 ;; esac; return 0; }
# wait_for SECONDS WHAT CMD...: until CMD succeeds, or die
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for $what"
}
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 50))); do
		(exec 5<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port from $1"
}

for b in "$HOTPATCH" "$HOTPATCH_SERVER" "$HOTPATCHCTL" "$HOTPATCHD"; do
	[ -x "$b" ] || die "no $(basename "$b") at $b (build it first)"
done
[ "$(id -u)" = 0 ] || die "run as root: the agent patches a running process with ptrace"
for tool in make cc patch jq curl; do
	command -v $tool >/dev/null || die "needs $tool"
done

step "1. The service runs with its bug; the fix becomes a signed patch"
make -s -C "$SERVICE" clean >/dev/null
make -s -C "$SERVICE" >/dev/null || die "the service does not build"
PORT=$(free_port "${DEMO_PORT:-7431}")
"./$SERVICE/badged" "$PORT" >"$WORK/badged.log" 2>&1 &
PID=$!
wait_for 10 "the service" grep -q listening "$WORK/badged.log"
cat "$WORK/badged.log"
ask "LOGIN mallory.........ADMIN" WHOAMI
run hotpatch build --target "$SERVICE/badged" -C "$SERVICE" --diff demo/fix.diff \
	-o "$WORK/badged-fix.hpatch" --id badged-login-fix --classification security --cve CVE-2026-7411 \
	--description "session: check a login name against the buffer it goes into" -- make >/dev/null ||
	die "hotpatch build failed"
hotpatch keygen -o "$WORK/release" >/dev/null || die "keygen failed"
run hotpatch sign --key "$WORK/release.key" "$WORK/badged-fix.hpatch" || die "sign failed"

step "2. Publish it: a static repository (any HTTP server, a mirror or file://) with a signed index"
run hotpatch repo add "$WORK/repo" "$WORK/badged-fix.hpatch" --package badged --package-version 1.0 ||
	die "repo add failed"
run hotpatch repo index "$WORK/repo" || die "repo index failed"
run hotpatch repo sign "$WORK/repo" --key "$WORK/release.key" || die "repo sign failed"

step "3. The control server: SQLite, the dashboard, an administrator's token"
SPORT=$(free_port "${DEMO_SERVER_PORT:-8431}")
run hotpatch-server --db "$WORK/server.db" create-token --kind api --role admin --name demo-admin >"$WORK/admin.tok" ||
	die "cannot create a token"
HOTPATCH_TOKEN=$(grep -o 'hpa_[0-9a-f]*' "$WORK/admin.tok" | head -1)
[ -n "$HOTPATCH_TOKEN" ] || die "no admin token in: $(cat "$WORK/admin.tok")"
export HOTPATCH_TOKEN HOTPATCH_SERVER_URL=http://127.0.0.1:$SPORT
printf '%s$ hotpatch-server --db %s --port %s --web-root web --poll-seconds 2 --tick-seconds 1 &%s\n' "$B" \
	"$WORK/server.db" "$SPORT" "$N"
"$HOTPATCH_SERVER" --db "$WORK/server.db" --port "$SPORT" --web-root "$ROOT/web" --poll-seconds 2 --tick-seconds 1 \
	--repository "file://$WORK/repo/index.json" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for 30 "the server" curl -sf -H "Authorization: Bearer $HOTPATCH_TOKEN" "$HOTPATCH_SERVER_URL/api/v1/whoami"
run hotpatchctl patch import "file://$WORK/repo/index.json" || die "patch import failed"

step "4. A policy (hotpatch without restart, security fixes), a group that uses it, an enrollment token"
cat >"$WORK/policy.json" <<EOF
{"version": 1, "name": "demo", "apply_without_restart": true, "auto_classifications": ["critical", "security"],
 "windows": [], "health": {"bake_seconds": 60, "crash_threshold": 1}}
EOF
run hotpatchctl policy create "$WORK/policy.json" || die "policy create failed"
run hotpatchctl group create web --policy demo || die "group create failed"
run hotpatchctl token create --kind enroll --name demo-host --group web >"$WORK/enroll.tok" ||
	die "token create failed"
ENROLL=$(grep -o 'hpe_[0-9a-f]*' "$WORK/enroll.tok" | head -1)
[ -n "$ENROLL" ] || die "no enrollment token in: $(cat "$WORK/enroll.tok")"

step "5. The host's agent: it enrolls with the token and checks in"
mkdir -p "$WORK/agent/store" "$WORK/agent/state" "$WORK/agent/trusted.d"
cp "$WORK/release.pub" "$WORK/agent/trusted.d/"
cat >"$WORK/hotpatchd.conf" <<EOF
[paths]
store = $WORK/agent/store
state = $WORK/agent/state
trust = $WORK/agent/trusted.d
policy = $WORK/agent/policy.json
[server]
url = $HOTPATCH_SERVER_URL
token = $ENROLL
[agent]
# this demo's agent looks after the demo service only, not the rest of the machine
scope = $ROOT/$SERVICE
name = demo-host
watch_paths = $ROOT/$SERVICE
assess_interval = 0
[control]
socket = $WORK/hotpatchd.sock
[metrics]
listen =
EOF
sed 's/^token = .*/token = (the enrollment token)/' "$WORK/hotpatchd.conf" | sed 's/^/    /'
printf '%s$ hotpatchd --foreground -c hotpatchd.conf &%s\n' "$B" "$N"
"$HOTPATCHD" --foreground -c "$WORK/hotpatchd.conf" >"$WORK/hotpatchd.log" 2>&1 &
AGENT_PID=$!
wait_for 30 "the agent to enroll" test -s "$WORK/agent/state/enrollment.json"
wait_for 30 "the host to check in" sh -c "'$HOTPATCHCTL' -j host list | jq -e '(.items // .) | length == 1'"
run hotpatchctl host list

step "6. Release the patch to the pilot ring: the agent applies it to the running service"
run hotpatchctl release create badged-login-fix --ring name=pilot,group=web,bake=30,threshold=1 \
	--ring name=broad,percent=100,bake=0,threshold=2 >"$WORK/release.out" || die "release create failed"
cat "$WORK/release.out"
REL=$(hotpatchctl -j release list | jq -r '[(.items // .)[] | select(.patch_id == "badged-login-fix")][0].id')
wait_for 60 "the agent to apply the patch" login_refused
echo "The same process (pid $PID), the same request:"
ask "LOGIN mallory.........ADMIN" WHOAMI
run hotpatch status -p "$PID" || die "status failed"
kill -0 "$PID" 2>/dev/null && echo "badged is still pid $PID: it was never restarted."

step "7. The per-policy report: the host is hotpatched"
wait_for 30 "the report" sh -c "'$HOTPATCHCTL' -j report policies | jq -e '[(.items // .rows // .)[] | select(.policy == \"demo\")][0].hotpatched == 1'"
run hotpatchctl report policies
echo "The dashboard: $HOTPATCH_SERVER_URL/ (sign in with the admin token)"

step "8. Halt the release with revert: the agent takes the patch back, without a restart"
run hotpatchctl release halt "$REL" --revert --reason "demo: take it back" >/dev/null || die "halt failed"
wait_for 60 "the agent to revert the patch" login_accepted
ask "LOGIN mallory.........ADMIN" WHOAMI
run hotpatch status -p "$PID"
wait_for 30 "the report to follow" sh -c "'$HOTPATCHCTL' -j report policies | jq -e '[(.items // .rows // .)[] | select(.policy == \"demo\")][0].hotpatched == 0'"
run hotpatchctl report policies

step "Done"
echo "The service ran as pid $PID throughout; service, server and agent are stopped now and the demo files removed."
