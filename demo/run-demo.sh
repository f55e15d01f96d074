#!/bin/bash
# SPDX-License-Identifier: MIT
# The hotpatch demo: a service with a real bug is fixed while it runs.
#
#   demo/run-demo.sh            (as root; HOTPATCH=path/to/hotpatch, default build/src/cli/hotpatch)
#
# 1. build demo/service (an ordinary Makefile, -O2 -g) and start it on a loopback port
# 2. show the bug: a 21-character login name overflows into the admin flag
# 3. hotpatch build -C demo/service --diff demo/fix.diff -- make
# 4. hotpatch info; sign the patch with a throwaway key
# 5. apply it to the running service: same pid, bug gone; hotpatch status
# 6. revert: the bug is back
# The service is killed and the throwaway files removed on any exit.
set -u
export LC_ALL=C

DEMO=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$DEMO")
HOTPATCH=${HOTPATCH:-$ROOT/build/src/cli/hotpatch}
case $HOTPATCH in /*) ;; *) HOTPATCH=$ROOT/$HOTPATCH ;; esac
# relative paths from here on, so the commands shown read as a user would type them
cd "$ROOT" || exit 1
SERVICE=demo/service
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-demo.XXXXXX")
PID=


cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	make -s -C "$SERVICE" clean >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The commands below say "hotpatch"; this is the binary they mean.
hotpatch() { "$HOTPATCH" "$@"; }

. "$DEMO/lib-demo.sh"

[ -x "$HOTPATCH" ] || die "no hotpatch binary at $HOTPATCH (build it first, or set HOTPATCH)"
# the compiler wrapper: in a build tree src/differ/hotpatch-cc, installed in libexec (hotpatch finds it)
[ -x "$(dirname "$HOTPATCH")/../differ/hotpatch-cc" ] || [ -x /usr/libexec/hotpatch/hotpatch-cc ] ||
	[ -x /usr/local/libexec/hotpatch/hotpatch-cc ] || [ -n "${HOTPATCH_CC_WRAPPER:-}" ] ||
	die "no hotpatch-cc (src/differ/hotpatch-cc in a build tree, libexec/hotpatch/hotpatch-cc installed)"
[ "$(id -u)" = 0 ] || die "run as root: patching a running process needs ptrace"
for tool in make cc patch; do
	command -v $tool >/dev/null || die "needs $tool"
done

step "1. Build the service the ordinary way and start it"
make -s -C "$SERVICE" clean >/dev/null
run make -C "$SERVICE" || die "the service does not build"
for PORT in $(seq "${DEMO_PORT:-7411}" $((${DEMO_PORT:-7411} + 20))); do
	"./$SERVICE/badged" "$PORT" >"$WORK/badged.log" 2>&1 &
	PID=$!
	for _ in $(seq 50); do
		grep -q listening "$WORK/badged.log" && break 2
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
done
[ -n "$PID" ] || die "the service did not start: $(cat "$WORK/badged.log")"
cat "$WORK/badged.log"

step "2. The bug: a long login name runs over into the admin flag"
echo "An ordinary user:"
ask "LOGIN alice" WHOAMI SECRET
echo "A 21-character name (the check allows 64, the buffer holds 16):"
ask "LOGIN mallory.........ADMIN" WHOAMI SECRET

step "3. Build a hotpatch from the fix, with the service's own Makefile"
sed -n '/^Subject/,/^---/p' demo/fix.diff | sed '$d'
run hotpatch build --target "$SERVICE/badged" -C "$SERVICE" --diff demo/fix.diff \
	-o "$WORK/badged-fix.hpatch" --id badged-login-fix --classification security \
	--description "session: check a login name against the buffer it goes into" -- make ||
	die "hotpatch build failed"

step "4. What the patch holds; sign it with a throwaway key"
run hotpatch info "$WORK/badged-fix.hpatch" || die "hotpatch info failed"
run hotpatch keygen -o "$WORK/demo-key" >/dev/null || die "keygen failed"
mkdir -p "$WORK/trusted.d" && cp "$WORK/demo-key.pub" "$WORK/trusted.d/"
run hotpatch sign --key "$WORK/demo-key.key" "$WORK/badged-fix.hpatch" || die "sign failed"
run hotpatch verify --trust-dir "$WORK/trusted.d" "$WORK/badged-fix.hpatch" || die "verify failed"

step "5. Apply it to the running service (pid $PID) -- no restart"
run hotpatch apply -p "$PID" --trust-dir "$WORK/trusted.d" "$WORK/badged-fix.hpatch" || die "apply failed"
echo "The same process, the same request:"
ask "LOGIN mallory.........ADMIN" WHOAMI SECRET
ask "LOGIN alice" WHOAMI
run hotpatch status -p "$PID" || die "status failed"
kill -0 "$PID" 2>/dev/null && echo "badged is still pid $PID: it was never restarted."

step "6. Revert: the original code is back, and so is the bug"
run hotpatch revert -p "$PID" badged-login-fix || die "revert failed"
ask "LOGIN mallory.........ADMIN" WHOAMI
run hotpatch status -p "$PID"

step "Done"
echo "The service ran as pid $PID throughout; it is stopped now and the demo files removed."
