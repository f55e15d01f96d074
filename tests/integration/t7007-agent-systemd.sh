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
hp_require root ptrace cc jq systemd-nspawn nsenter
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/systemd-lib.sh"

main_pid() { in_ct systemctl show -P MainPID "$1"; }
unit_state() { in_ct systemctl show -P ActiveState "$1"; }
out_is() { [ "$(cat "$HP_TMP/$1.out" 2>/dev/null)" = "$2" ]; }

sd_root_ready

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

sd_boot

test_expect_success 'three services run the unpatched build' '
	in_ct cp "$HP_TMP"/units/hp-svc-a.service "$HP_TMP"/units/hp-svc-b.service "$HP_TMP"/units/hp-svc-never.service /etc/systemd/system/ &&
	in_ct systemctl daemon-reload &&
	in_ct systemctl start hp-svc-a.service hp-svc-b.service hp-svc-never.service &&
	hp_wait_until 10 out_is a 18 && hp_wait_until 10 out_is b 18 && hp_wait_until 10 out_is never 18
'

# Started from this shell, not a test's subshell (systemd-lib.sh: sd_poweroff ends its nsenter).
nsenter -t "$SD_LEADER" -a sh -c "exec \"$HOTPATCHD\" --foreground -c \"$HP_TMP/agent.conf\" >>\"$HP_TMP/hotpatchd.log\" 2>&1" </dev/null >/dev/null 2>&1 &
test_expect_success 'hotpatchd runs in the container; the bad patch is applied to all three' '
	hp_wait_until 30 grep -q "hotpatchd started" "$HP_TMP/hotpatchd.log" &&
	a=$(main_pid hp-svc-a.service) && echo "$a" >"$HP_TMP/a.pid0" &&
	in_ct "$HOTPATCH" install "$HP_TMP/bad.hpatch" >/dev/null &&
	hp_wait_until 20 out_is b -1 && hp_wait_until 20 out_is never -1
'

test_expect_success 'hp-svc-a exits with status 3: its unit fails, which halts and reverts the patch' '
	hp_wait_until 20 sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P ActiveState hp-svc-a.service)\" = failed ]" &&
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
	hp_wait_until 10 sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P MainPID hp-svc-b.service)\" != $b0 ]" &&
	[ "$(unit_state hp-svc-b.service)" = active ] &&
	[ "$(main_pid hp-svc-never.service)" = "$n0" ] &&
	! grep -q "restarted hp-svc-never.service" "$HP_TMP/hotpatchd.log" &&
	in_ct env HOTPATCHD_SOCKET="$AG_SOCK" "$HOTPATCH" agent status --json |
		jq -e "[.restart_required[] | select(.unit == \"hp-svc-never.service\")] | length == 1" >/dev/null &&
	[ "$(unit_state hp-svc-a.service)" = failed ]
'
test_done
