#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd as its own unit under a real systemd (opt-in: HP_TEST_SYSTEMD=1).  The
# Debian bookworm root of t7007 (systemd-lib.sh) boots with systemd-nspawn; the build's
# hotpatchd and hotpatch, the tree's units/hotpatchd.service unchanged and the tree's
# etc/hotpatchd.conf are installed where a package puts them, and systemd runs the daemon
# with all the unit's hardening:
#   - `systemctl start` returns once the daemon is READY (Type=notify, after the start-up
#     sweep): the services already run the installed patch, applied by the unit's MainPID;
#   - a service started later is patched (fanotify on its executable);
#   - control socket, metrics port, structured journald records;
#   - `systemctl reload` (SIGHUP) re-reads the store and the trust directory;
#   - SIGKILL: Restart=on-failure starts it again, and it applies nothing twice;
#   - `systemctl stop`: a clean exit; the services keep running patched, none traced.
# In the container, hotpatchd.conf sets `exec_events = no`: the kernel's process connector
# sends events only to listeners in the initial PID namespace, and the container has its
# own (a listener elsewhere on the host would hand it other namespaces' pids).  So the
# connector is not tested here; new processes are found by fanotify.
. "$(dirname "$0")/lib.sh"
[ "${HP_TEST_SYSTEMD:-}" = 1 ] ||
	skip_all "opt-in: HP_TEST_SYSTEMD=1 (boots systemd in a container; the first run runs debootstrap)"
hp_require root ptrace cc jq curl systemd-nspawn nsenter
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/systemd-lib.sh"

# A root shell in the container: its environment, not the test's (no HOTPATCH_* overrides).
ct() { in_ct env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
prop() { ct systemctl show -P "$2" "$1"; }
main_pid() { prop "$1" MainPID; }
out_is() { [ "$(cat "$HP_TMP/$1.out" 2>/dev/null)" = "$2" ]; }

# st_is UNIT ID LEVEL: the unit's main process runs patch ID at LEVEL (one active patch, an
# authentic record); its applied time goes to $HP_TMP/at-UNIT.
st_is() {
	local pid
	pid=$(main_pid "$1") && [ "${pid:-0}" -gt 0 ] &&
	ct hotpatch status -p "$pid" --json >"$HP_TMP/st-$1.json" &&
	jq -e --arg id "$2" --argjson lv "$3" \
		'[.patches[] | select(.state == "active")] |
		 length == 1 and .[0].patch_id == $id and .[0].level == $lv and .[0].record == "authentic"' \
		"$HP_TMP/st-$1.json" >/dev/null &&
	jq -r '.patches[] | select(.state == "active") | .applied_time' "$HP_TMP/st-$1.json" >"$HP_TMP/at-$1" ||
		{ echo "$1 (pid $pid): not $2 level $3:"; cat "$HP_TMP/st-$1.json"; return 1; }
}

# The daemon's own journal records (JSON lines) in $HP_TMP/journal.json; jcount PREFIX
# counts those whose MESSAGE starts with PREFIX.
journal() {
	ct journalctl -u hotpatchd.service -o json --no-pager |
		jq -c 'select(.SYSLOG_IDENTIFIER == "hotpatchd" and ._SYSTEMD_UNIT == "hotpatchd.service")' >"$HP_TMP/journal.json"
}
jcount() {
	journal && jq -s --arg p "$1" '[.[] | select((.MESSAGE | type) == "string" and (.MESSAGE | startswith($p)))] | length' \
		"$HP_TMP/journal.json"
}
jhas() { [ "$(jcount "$1")" -ge "${2:-1}" ]; }
# japplied ID LEVEL PID DAEMON [HOW]: one record of DAEMON (a pid) applying ID at LEVEL to PID
# (HOW: "pid", a sweep, or "new process", an event; default either).
japplied() {
	journal && jq -s -e --arg re "^applied $1 \\(level $2\\) to ${5:-(pid|new process)} $3 " --arg d "$4" \
		'[.[] | select((.MESSAGE | type) == "string" and (.MESSAGE | test($re)) and ._PID == $d)] | length == 1' \
		"$HP_TMP/journal.json" >/dev/null
}
# On a failure: what the daemon said last.
jtail() { echo "--- journal of hotpatchd.service:"; ct journalctl -u hotpatchd.service -o cat --no-pager | tail -n "${1:-25}"; }

sd_root_ready

test_expect_success 'setup: a service binary, a level-1 and a level-2 patch (two keys), the package files' '
	hp_compile hp-svc "$TARGET_SRC/svc.c" &&
	"$HOTPATCH" keygen -o "$HP_TMP/key" >/dev/null && "$HOTPATCH" keygen -o "$HP_TMP/key2" >/dev/null &&
	hp_make_patch hp-svc 1 "$HP_TMP/fix1.hpatch" --id svc-fix-1 --classification security &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/fix1.hpatch" >/dev/null &&
	hp_make_patch hp-svc 1 "$HP_TMP/fix2.hpatch" --id svc-fix-2 --level 2 --classification security &&
	"$HOTPATCH" sign --key "$HP_TMP/key2.key" "$HP_TMP/fix2.hpatch" >/dev/null &&
	mkdir -p "$HP_TMP/pkg" "$HP_TMP/trust2" && cp "$HP_TMP/key2.pub" "$HP_TMP/trust2/" &&
	cp "$HP_SRC_DIR/units/hotpatchd.service" "$HP_TMP/pkg/" &&
	port=$((20000 + RANDOM % 20000)) && echo "$port" >"$HP_TMP/metrics.port" &&
	sed -e "s/^exec_events = yes$/exec_events = no/" -e "s/^listen = 127.0.0.1:9477$/listen = 127.0.0.1:$port/" \
		"$HP_SRC_DIR/etc/hotpatchd.conf" >"$HP_TMP/pkg/hotpatchd.conf" &&
	grep -qx "exec_events = no" "$HP_TMP/pkg/hotpatchd.conf" && grep -qx "listen = 127.0.0.1:$port" "$HP_TMP/pkg/hotpatchd.conf" &&
	for s in a b c; do
		printf "[Service]\nExecStart=/usr/local/bin/hp-svc %s\nRestart=no\n" "$HP_TMP/$s.out" \
			>"$HP_TMP/pkg/hp-svc-$s.service" || exit 1
	done
'

# systemd-nspawn's own system call filter refuses fanotify_init (EPERM) even with
# CAP_SYS_ADMIN; a host has no such filter, so the container lets it through.  The
# unit's filter (SystemCallFilter=) is what is under test.
sd_boot --system-call-filter="fanotify_init fanotify_mark"

# Linked libraries are checked with ldd in the container.  Of the dlopened ones the root has
# libhogweed and libcrypto (signatures: used here), not libcurl or libdebuginfod (a
# repository, a server, stripped targets: not used here).
test_expect_success 'installed as a package would (unit unchanged); every library resolves in the root' '
	ct install -D -m 0755 "$HOTPATCHD" /usr/sbin/hotpatchd &&
	ct install -D -m 0755 "$HOTPATCH" /usr/bin/hotpatch &&
	ct install -D -m 0644 "$HP_TMP/pkg/hotpatchd.service" /usr/lib/systemd/system/hotpatchd.service &&
	ct install -D -m 0644 "$HP_TMP/pkg/hotpatchd.conf" /etc/hotpatch/hotpatchd.conf &&
	ct install -D -m 0644 "$HP_TMP/key.pub" /etc/hotpatch/trusted.d/key.pub &&
	ct install -D -m 0755 "$HP_TMP/hp-svc" /usr/local/bin/hp-svc &&
	ct install -m 0644 "$HP_TMP"/pkg/hp-svc-a.service "$HP_TMP"/pkg/hp-svc-b.service "$HP_TMP"/pkg/hp-svc-c.service \
		/etc/systemd/system/ &&
	cmp "$HP_SRC_DIR/units/hotpatchd.service" "/proc/$SD_LEADER/root/usr/lib/systemd/system/hotpatchd.service" &&
	for b in /usr/sbin/hotpatchd /usr/bin/hotpatch; do
		ct ldd "$b" >"$HP_TMP/ldd.txt" 2>&1 && ! grep "not found" "$HP_TMP/ldd.txt" || { cat "$HP_TMP/ldd.txt"; exit 1; }
	done &&
	ct systemctl daemon-reload &&
	ct systemd-analyze verify --man=no hotpatchd.service
'

test_expect_success 'two services run the unpatched build; a level-1 patch is installed while no daemon runs' '
	ct systemctl start hp-svc-a.service hp-svc-b.service &&
	hp_wait_until 10 out_is a 18 && hp_wait_until 10 out_is b 18 &&
	ct hotpatch install "$HP_TMP/fix1.hpatch" >/dev/null &&
	[ "$(prop hotpatchd.service ActiveState)" = inactive ]
'

test_expect_success 'systemctl start returns once hotpatchd is READY: active/running, "converged", the services patched' '
	ct systemctl start hotpatchd.service &&
	st_is hp-svc-a.service svc-fix-1 1 && st_is hp-svc-b.service svc-fix-1 1 &&
	[ "$(prop hotpatchd.service ActiveState)" = active ] && [ "$(prop hotpatchd.service SubState)" = running ] &&
	[ "$(prop hotpatchd.service StatusText)" = converged ] &&
	d=$(main_pid hotpatchd.service) && [ "$(ct readlink /proc/$d/exe)" = /usr/sbin/hotpatchd ] &&
	echo "$d" >"$HP_TMP/daemon1" &&
	hp_wait_until 10 japplied svc-fix-1 1 "$(main_pid hp-svc-a.service)" "$d" pid &&
	hp_wait_until 10 japplied svc-fix-1 1 "$(main_pid hp-svc-b.service)" "$d" pid &&
	hp_wait_until 10 out_is a 1005 && hp_wait_until 10 out_is b 1005 &&
	hp_wait_until 10 jhas "hotpatchd started: 1 stored patch" || { jtail; exit 1; }
'
D1=$(cat "$HP_TMP/daemon1" 2>/dev/null)

test_expect_success 'it runs in the unit sandbox: no new privileges, seccomp, the bounding set, its own mounts' '
	ct cat /proc/$D1/status >"$HP_TMP/d.status" &&
	grep -qx "NoNewPrivs:	1" "$HP_TMP/d.status" && grep -qx "Seccomp:	2" "$HP_TMP/d.status" &&
	bnd=$((16#$(awk "/^CapBnd:/ {print \$2}" "$HP_TMP/d.status"))) &&
	allowed=$(( (1 << 1) | (1 << 2) | (1 << 5) | (1 << 12) | (1 << 19) | (1 << 21) )) &&
	[ $((bnd & ~allowed)) = 0 ] && [ $((bnd & (1 << 19))) != 0 ] && [ $((bnd & (1 << 21))) != 0 ] &&
	[ "$(ct readlink /proc/$D1/ns/mnt)" != "$(ct readlink /proc/1/ns/mnt)" ]
'

test_expect_success 'a service started after the daemon is patched (fanotify: its executable opened)' '
	ct systemctl start hp-svc-c.service &&
	{ hp_wait_until 30 out_is c 1005 || { jtail; exit 1; }; } &&
	st_is hp-svc-c.service svc-fix-1 1 &&
	hp_wait_until 10 japplied svc-fix-1 1 "$(main_pid hp-svc-c.service)" "$D1" "new process"
'

test_expect_success 'the control socket and the metrics port answer under the hardening' '
	{ ct hotpatch agent status --json >"$HP_TMP/ag.json" || { jtail; exit 1; }; } &&
	jq -e "[.patches[] | select(.patch_id == \"svc-fix-1\") | .state] == [\"applied\"]" "$HP_TMP/ag.json" >/dev/null &&
	curl -sS -f "http://127.0.0.1:$(cat "$HP_TMP/metrics.port")/metrics" >"$HP_TMP/metrics.txt" &&
	grep -qx "hotpatch_patches{state=\"applied\"} 1" "$HP_TMP/metrics.txt" &&
	grep -qx "hotpatch_applied_total 3" "$HP_TMP/metrics.txt" &&
	grep -qx "hotpatch_apply_failed_total 0" "$HP_TMP/metrics.txt" || { cat "$HP_TMP/ag.json" "$HP_TMP/metrics.txt"; exit 1; }
'

test_expect_success 'journald has structured records: an apply with HOTPATCH_PATCH_ID and HOTPATCH_PID' '
	a=$(main_pid hp-svc-a.service) && journal &&
	jq -s -e --arg pid "$a" --arg d "$D1" "[.[] | select(.MESSAGE | type == \"string\" and startswith(\"applied svc-fix-1 (level 1) to pid \" + \$pid + \" \"))] |
		length == 1 and .[0].HOTPATCH_PATCH_ID == \"svc-fix-1\" and .[0].HOTPATCH_PID == \$pid and .[0].PRIORITY == \"6\" and
		.[0]._PID == \$d and .[0]._TRANSPORT == \"journal\"" "$HP_TMP/journal.json" >/dev/null ||
		{ grep "applied" "$HP_TMP/journal.json"; exit 1; }
'

test_expect_success 'systemctl reload (SIGHUP) re-reads the store and the trust directory: level 2 by a newly trusted key' '
	ct hotpatch install --trust-dir "$HP_TMP/trust2" "$HP_TMP/fix2.hpatch" >/dev/null &&
	hp_wait_until 20 jhas "store: patch svc-fix-2 ignored" &&
	ct install -m 0644 "$HP_TMP/key2.pub" /etc/hotpatch/trusted.d/key2.pub &&
	{ ct systemctl reload hotpatchd.service || { jtail; exit 1; }; } &&
	for s in a b c; do
		hp_wait_until 30 st_is hp-svc-$s.service svc-fix-2 2 &&
		hp_wait_until 10 japplied svc-fix-2 2 "$(main_pid hp-svc-$s.service)" "$D1" || { jtail; exit 1; }
	done &&
	[ "$(main_pid hotpatchd.service)" = "$D1" ] && [ "$(prop hotpatchd.service ActiveState)" = active ] &&
	out_is a 1005
'

test_expect_success 'SIGKILL: Restart=on-failure starts it again; it reads the level from the processes, applies nothing' '
	n=$(jcount "applied svc-fix-") && [ "$n" = 6 ] &&
	for s in a b c; do st_is hp-svc-$s.service svc-fix-2 2 && mv "$HP_TMP/at-hp-svc-$s.service" "$HP_TMP/at0-$s" || exit 1; done &&
	ct systemctl kill -s KILL hotpatchd.service &&
	hp_wait_until 60 sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P NRestarts hotpatchd.service)\" = 1 ]" &&
	hp_wait_until 60 sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P SubState hotpatchd.service)\" = running ]" &&
	d2=$(main_pid hotpatchd.service) && [ "$d2" != "$D1" ] && [ "$(ct readlink /proc/$d2/exe)" = /usr/sbin/hotpatchd ] &&
	hp_wait_until 10 jhas "hotpatchd started: 2 stored patches" &&
	for s in a b c; do
		st_is hp-svc-$s.service svc-fix-2 2 && cmp -s "$HP_TMP/at0-$s" "$HP_TMP/at-hp-svc-$s.service" || exit 1
	done &&
	[ "$(jcount "applied svc-fix-")" = 6 ] &&
	ct hotpatch agent status --json | jq -e "[.patches[] | select(.patch_id == \"svc-fix-2\") | .state] == [\"applied\"]" >/dev/null ||
		{ jtail; exit 1; }
'

test_expect_success 'systemctl stop: a clean exit (Result=success); the services keep running patched, none traced' '
	a=$(main_pid hp-svc-a.service) && b=$(main_pid hp-svc-b.service) && c=$(main_pid hp-svc-c.service) &&
	ct systemctl stop hotpatchd.service &&
	[ "$(prop hotpatchd.service ActiveState)" = inactive ] && [ "$(prop hotpatchd.service Result)" = success ] &&
	[ "$(prop hotpatchd.service ExecMainStatus)" = 0 ] &&
	hp_wait_until 10 jhas "hotpatchd stopping; applied patches stay applied" &&
	for s in a b c; do
		rm -f "$HP_TMP/$s.out" && hp_wait_until 10 out_is $s 1005 &&
		[ "$(prop hp-svc-$s.service ActiveState)" = active ] || exit 1
	done &&
	[ "$(main_pid hp-svc-a.service) $(main_pid hp-svc-b.service) $(main_pid hp-svc-c.service)" = "$a $b $c" ] &&
	for p in $a $b $c; do
		ct cat /proc/$p/status >"$HP_TMP/p.status" &&
		grep -qx "TracerPid:	0" "$HP_TMP/p.status" && ! grep -qE "^State:\s+[tT]" "$HP_TMP/p.status" || exit 1
	done &&
	st_is hp-svc-a.service svc-fix-2 2
'
test_done
