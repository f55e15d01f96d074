#!/bin/bash
# SPDX-License-Identifier: MIT
# apply --dry-run runs every check apply makes and changes nothing; assess
# --patch F -p PID never says eligible where apply would refuse: missing
# trust directory, unsigned patch, untrusted key are "not eligible" with
# apply's reason (check apply_checks).  Process selection: --exe, --comm,
# --unit narrow a sweep.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq

test_expect_success 'a service, its patch signed by a trusted key and by a stranger' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id dry-fix &&
	mkdir -p "$HP_TMP/trust" "$HP_TMP/other" &&
	"$HOTPATCH" keygen -o "$HP_TMP/good" >/dev/null && cp "$HP_TMP/good.pub" "$HP_TMP/trust/" &&
	"$HOTPATCH" keygen -o "$HP_TMP/stranger" >/dev/null &&
	"$HOTPATCH" sign --key "$HP_TMP/good.key" -o "$HP_TMP/good.hpatch" "$HP_TMP/fix.hpatch" >/dev/null &&
	"$HOTPATCH" sign --key "$HP_TMP/stranger.key" -o "$HP_TMP/stranger.hpatch" "$HP_TMP/fix.hpatch" >/dev/null &&
	cp "$HP_TMP/svc" "$HP_TMP/other/svc2"
'
hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
hp_start_target "$HP_TMP/other/svc2"; B=$HP_T; b=$(hp_pid $B)
maps_before=$(hp_maps $a)

test_expect_success 'apply --dry-run: every check passes, nothing changes' '
	hp_run_expect 0 apply --dry-run -p $a --trust-dir "$HP_TMP/trust" "$HP_TMP/good.hpatch" &&
	grep -q "pid $a: eligible dry-fix (level 1); every check passed, nothing was changed" "$HP_TMP/last.out" &&
	hp_expect_eq "$(hp_ask $A "c 5")" 10 "still the old code" &&
	hp_expect_eq "$(hp_maps $a)" "$maps_before" "no new mapping" &&
	hp_run_expect 0 status -p $a && grep -q "no patches applied" "$HP_TMP/last.out" &&
	"$HOTPATCH" apply -n --json -p $a --trust-dir "$HP_TMP/trust" "$HP_TMP/good.hpatch" >"$HP_TMP/d.json" &&
	hp_expect_eq "$(jq -r .outcome "$HP_TMP/d.json")" eligible outcome &&
	hp_expect_eq "$(jq -r .attempts "$HP_TMP/d.json")" 0 "no stop"
'

test_expect_success 'apply --dry-run refuses what apply refuses, with the same exit codes' '
	hp_run_expect 9 apply --dry-run -p $a --trust-dir "$HP_TMP/trust" "$HP_TMP/fix.hpatch" &&
	hp_run_expect 10 apply --dry-run -p $a --trust-dir "$HP_TMP/trust" "$HP_TMP/stranger.hpatch" &&
	hp_run_expect 10 apply --dry-run -p $a --trust-dir "$HP_TMP/nosuch" "$HP_TMP/good.hpatch" &&
	hp_run_expect 2 apply --dry-run --all "$HP_TMP/good.hpatch"
'

# verdict of the process and the apply_checks check of its target
verdict() { jq -r ".processes[] | select(.pid == $a) | .verdict" "$HP_TMP/as.json"; }
applyck() { jq -r ".processes[] | select(.pid == $a) | .targets[0].checks[] | select(.name == \"apply_checks\") | .$1" "$HP_TMP/as.json"; }
test_expect_success 'assess --patch -p: unsigned, untrusted key, missing trust dir are not eligible' '
	"$HOTPATCH" assess --json --no-stop --trust-dir "$HP_TMP/trust" --patch "$HP_TMP/fix.hpatch" -p $a >"$HP_TMP/as.json"
	hp_expect_eq "$(verdict)" not-eligible unsigned &&
	hp_expect_eq "$(applyck value)" unsigned "unsigned: value" &&
	applyck remedy | grep -q "sign the patch" &&
	"$HOTPATCH" assess --json --no-stop --trust-dir "$HP_TMP/trust" --patch "$HP_TMP/stranger.hpatch" -p $a >"$HP_TMP/as.json"
	hp_expect_eq "$(verdict)" not-eligible "untrusted key" &&
	hp_expect_eq "$(applyck value)" unknown-key "untrusted: value" &&
	"$HOTPATCH" assess --json --no-stop --trust-dir "$HP_TMP/nosuch" --patch "$HP_TMP/good.hpatch" -p $a >"$HP_TMP/as.json"
	hp_expect_eq "$(verdict)" not-eligible "no trust directory" &&
	hp_expect_eq "$(applyck result)" not-ok "no trust dir: result"
'

test_expect_success 'assess says eligible exactly when apply works' '
	"$HOTPATCH" assess --json --no-stop --trust-dir "$HP_TMP/trust" --patch "$HP_TMP/good.hpatch" -p $a >"$HP_TMP/as.json"
	hp_expect_eq $? 0 "assess exit" &&
	hp_expect_eq "$(verdict)" eligible verdict && hp_expect_eq "$(applyck result)" ok "apply_checks ok" &&
	"$HOTPATCH" assess --json --no-stop --allow-unsigned --patch "$HP_TMP/fix.hpatch" -p $a >"$HP_TMP/as.json" &&
	hp_expect_eq "$(verdict)" eligible "unsigned allowed" &&
	hp_run_expect 0 apply -p $a --trust-dir "$HP_TMP/trust" "$HP_TMP/good.hpatch" &&
	hp_run_expect 0 revert -p $a dry-fix
'

export HOTPATCH_TRUST_DIR=$HP_TMP/trust
# A process whose executable cannot be read (pid 1 in some sandboxes, even for root) stays in an
# --exe sweep as unknown (exit 17): accept 0 or 17, and nothing else listed.
test_expect_success '--exe and --comm narrow a sweep; several values are alternatives' '
	"$HOTPATCH" apply --exe "$HP_TMP/other/svc2" "$HP_TMP/good.hpatch" >"$HP_TMP/e.out"
	rc=$? && { [ $rc = 0 ] || [ $rc = 17 ]; } || { echo "exit $rc"; cat "$HP_TMP/e.out"; exit 1; }
	[ "$(grep "^pid " "$HP_TMP/e.out" | grep -vc ": unknown: ")" = 1 ] &&
	cp "$HP_TMP/e.out" "$HP_TMP/last.out" &&
	grep -q "^pid $b (svc2): patched" "$HP_TMP/last.out" && ! grep -q "^pid $a " "$HP_TMP/last.out" &&
	hp_expect_eq "$(hp_ask $A "c 5")" 10 "a untouched" && hp_expect_eq "$(hp_ask $B "c 5")" 1010 "b patched" &&
	hp_run_expect 0 apply --all --comm svc --comm svc2 "$HP_TMP/good.hpatch" &&
	grep -q "^pid $a (svc): patched" "$HP_TMP/last.out" && grep -q "^pid $b (svc2): already" "$HP_TMP/last.out" &&
	hp_run_expect 0 status --comm svc2 && grep -q "^pid $b (svc2): dry-fix" "$HP_TMP/last.out" &&
	! grep -q "^pid $a " "$HP_TMP/last.out" &&
	hp_run_expect 3 revert --exe "$HP_TMP/other/svc2" --comm svc dry-fix && ! grep -q "^pid " "$HP_TMP/last.out" &&
	hp_run_expect 0 revert --comm svc --comm svc2 dry-fix &&
	hp_run_expect 2 apply -p $a --comm svc "$HP_TMP/good.hpatch"
'

if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
	test_expect_success '--unit: the processes of a systemd unit' '
		unit=hp-t6005-$$ &&
		systemd-run --unit=$unit --quiet sh -c "exec \"$HP_TMP/svc\" </dev/zero" &&
		for i in $(seq 50); do pid=$(systemctl show -p MainPID --value $unit) && [ "$pid" != 0 ] && break; sleep 0.1; done &&
		hp_run_expect 0 apply --unit $unit "$HP_TMP/good.hpatch" &&
		grep -q "^pid $pid (svc): patched" "$HP_TMP/last.out" && ! grep -q "^pid $a " "$HP_TMP/last.out"
		r=$?; systemctl stop $unit 2>/dev/null; exit $r
	'
else
	test_skip "--unit: the processes of a systemd unit" "systemd is not PID 1 here (no /run/systemd/system)"
	test_expect_success '--unit without systemd: no process is in a unit, nothing to do' '
		hp_run_expect 3 apply --unit nosuch.service "$HP_TMP/good.hpatch" &&
		! grep -q "^pid " "$HP_TMP/last.out"
	'
fi
test_done
