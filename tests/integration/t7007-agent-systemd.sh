#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd under a real systemd (opt-in: HP_TEST_SYSTEMD=1).  A Debian
# bookworm root (debootstrap, cached in the build directory) boots with
# systemd-nspawn; hotpatchd runs inside it (nsenter) on three services that
# run one binary:
#   - a patch that makes hp-svc-a exit with status 3 (no crash signal): its
#     unit fails, which counts like a crash: the patch is halted with the unit
#     named as evidence, and reverted in the other services;
#   - the binary replaced on disk: the services are restart-required;
#     `restart = in-window` restarts hp-svc-b with `systemctl try-restart`,
#     never hp-svc-never, which the policy lists as never-restart.
# The first run downloads and unpacks the root (minutes); later runs reuse it.
. "$(dirname "$0")/lib.sh"
[ "${HP_TEST_SYSTEMD:-}" = 1 ] ||
	skip_all "opt-in: HP_TEST_SYSTEMD=1 (boots systemd in a container; the first run runs debootstrap)"
hp_require root ptrace cc jq debootstrap systemd-nspawn nsenter
. "$(dirname "$0")/agent-lib.sh"

ROOT=${HP_SYSTEMD_ROOT:-$HP_BUILD_DIR/systemd-root}
NSPAWN_PID=
LEADER=

sd_cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID"
		for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
	fi
}
trap 'sd_cleanup; hp_cleanup' EXIT

# in the container (all its namespaces)
in_ct() { nsenter -t "$LEADER" -a "$@"; }
main_pid() { in_ct systemctl show -P MainPID "$1"; }
unit_state() { in_ct systemctl show -P ActiveState "$1"; }
out_is() { [ "$(cat "$HP_TMP/$1.out" 2>/dev/null)" = "$2" ]; }

test_expect_success 'a Debian root with systemd (cached in the build directory)' '
	if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
		rm -rf "$ROOT.tmp" &&
		debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libelf1,libdw1,libjansson4,libinih1,libssl3,zlib1g \
			bookworm "$ROOT.tmp" http://deb.debian.org/debian >"$HP_TMP/debootstrap.log" 2>&1 ||
			{ tail -20 "$HP_TMP/debootstrap.log"; exit 1; }
		mv "$ROOT.tmp" "$ROOT"
	fi
'
[ -x "$ROOT/lib/systemd/systemd" ] || { test_done; exit 1; }

test_expect_success 'setup: services, a good and a bad patch, the daemon configuration' '
	hp_agent_setup &&
	hp_compile svc "$TARGET_SRC/svc.c" &&
	hp_make_patch svc 2 "$HP_TMP/bad.hpatch" --id svc-bad-1 --classification security &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/bad.hpatch" >/dev/null &&
	sed -i "s/^\[agent\]$/[agent]\nexec_events = no/" "$HP_TMP/agent.conf" &&
	cat >"$AG_POLICY" <<-EOP &&
	{"version": 1, "name": "systemd-test", "auto_classifications": ["critical", "security"],
	 "restart": "in-window", "never_restart": ["hp-svc-never.service"],
	 "health": {"bake_seconds": 600, "crash_threshold": 1}}
	EOP
	mkdir -p "$HP_TMP/units" &&
	for s in a b never; do
		{
			echo "[Service]"
			echo "ExecStart=$HP_TMP/svc $HP_TMP/$s.out"
			[ $s = a ] && echo "Environment=HP_DIE=1"
			echo "Restart=no"
		} >"$HP_TMP/units/hp-svc-$s.service" || exit 1
	done
'

test_expect_success 'systemd boots in the container (systemd-nspawn)' '
	systemd-nspawn --register=no --keep-unit --volatile=overlay --console=passive -q -D "$ROOT" \
		--bind="$HP_TMP" --bind-ro="$HP_BUILD_DIR" -b </dev/null >"$HP_TMP/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	echo $NSPAWN_PID >"$HP_TMP/nspawn.pid.keep"
	find_leader() {
		local p
		for p in $(pgrep -x systemd); do
			grep -qE "^NSpid:\s+$p\s+1$" "/proc/$p/status" && [ "$(ps -o ppid= -p "$p" | tr -d " ")" = "$NSPAWN_PID" ] &&
				echo "$p" && return 0
		done
		return 1
	}
	hp_wait_until 60 find_leader || { cat "$HP_TMP/nspawn.log"; exit 1; }
	LEADER=$(find_leader) && echo "$LEADER" >"$HP_TMP/leader" &&
	hp_wait_until 90 sh -c "nsenter -t $LEADER -a systemctl is-system-running | grep -qE \"running|degraded\"" ||
		{ cat "$HP_TMP/nspawn.log"; in_ct systemctl --failed; exit 1; }
'
LEADER=$(cat "$HP_TMP/leader" 2>/dev/null)
NSPAWN_PID=$(cat "$HP_TMP/nspawn.pid.keep" 2>/dev/null)
[ -n "$LEADER" ] || { test_done; exit 1; }

test_expect_success 'three services run the unpatched build' '
	in_ct cp "$HP_TMP"/units/hp-svc-a.service "$HP_TMP"/units/hp-svc-b.service "$HP_TMP"/units/hp-svc-never.service /etc/systemd/system/ &&
	in_ct systemctl daemon-reload &&
	in_ct systemctl start hp-svc-a.service hp-svc-b.service hp-svc-never.service &&
	hp_wait_until 10 out_is a 18 && hp_wait_until 10 out_is b 18 && hp_wait_until 10 out_is never 18
'

test_expect_success 'hotpatchd runs in the container; the bad patch is applied to all three' '
	in_ct sh -c "exec \"$HOTPATCHD\" --foreground -c \"$HP_TMP/agent.conf\" >>\"$HP_TMP/hotpatchd.log\" 2>&1" </dev/null >/dev/null 2>&1 &
	hp_wait_until 30 grep -q "hotpatchd started" "$HP_TMP/hotpatchd.log" &&
	a=$(main_pid hp-svc-a.service) && echo "$a" >"$HP_TMP/a.pid0" &&
	in_ct "$HOTPATCH" install "$HP_TMP/bad.hpatch" >/dev/null &&
	hp_wait_until 20 out_is b -1 && hp_wait_until 20 out_is never -1
'

test_expect_success 'hp-svc-a exits with status 3: its unit fails, which halts and reverts the patch' '
	hp_wait_until 20 sh -c "[ \"\$(nsenter -t $LEADER -a systemctl show -P ActiveState hp-svc-a.service)\" = failed ]" &&
	{ hp_wait_until 20 test -f "$AG_STATE/halted/svc-bad-1.json" || { tail -20 "$HP_TMP/hotpatchd.log"; exit 1; }; } &&
	jq -e ".reason | test(\"hp-svc-a.service failed\")" "$AG_STATE/halted/svc-bad-1.json" >/dev/null &&
	grep -q "unit hp-svc-a.service failed" "$HP_TMP/hotpatchd.log" &&
	hp_wait_until 20 out_is b 18 && hp_wait_until 20 out_is never 18 &&
	in_ct env HOTPATCHD_SOCKET="$AG_SOCK" "$HOTPATCH" agent status --json | jq -e "[.patches[] | select(.patch_id == \"svc-bad-1\") | .state] == [\"halted\"]" >/dev/null
'

test_expect_success 'the binary replaced on disk: restart = in-window restarts hp-svc-b, never hp-svc-never' '
	b0=$(main_pid hp-svc-b.service) && n0=$(main_pid hp-svc-never.service) &&
	rm -f "$HP_TMP/svc" && cc $HP_CFLAGS -DSVC_VARIANT="\"2\"" -o "$HP_TMP/svc" "$TARGET_SRC/svc.c" &&
	in_ct env HOTPATCHD_SOCKET="$AG_SOCK" "$HOTPATCH" agent assess --json >"$HP_TMP/as.json" &&
	jq -e "[.restart_required[].unit] | index(\"hp-svc-never.service\") != null" "$HP_TMP/as.json" >/dev/null &&
	hp_wait_until 30 grep -q "restarted hp-svc-b.service" "$HP_TMP/hotpatchd.log" &&
	hp_wait_until 10 sh -c "[ \"\$(nsenter -t $LEADER -a systemctl show -P MainPID hp-svc-b.service)\" != $b0 ]" &&
	[ "$(unit_state hp-svc-b.service)" = active ] &&
	[ "$(main_pid hp-svc-never.service)" = "$n0" ] &&
	! grep -q "restarted hp-svc-never.service" "$HP_TMP/hotpatchd.log" &&
	in_ct env HOTPATCHD_SOCKET="$AG_SOCK" "$HOTPATCH" agent status --json |
		jq -e "[.restart_required[] | select(.unit == \"hp-svc-never.service\")] | length == 1" >/dev/null &&
	[ "$(unit_state hp-svc-a.service)" = failed ]
'
test_done
