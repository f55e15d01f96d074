#!/bin/bash
# SPDX-License-Identifier: MIT
# Audit records: every apply and revert (one process, several, a sweep,
# failures too) leaves a structured record in the systemd journal, and
# `hotpatch history` reads them back.  journald runs standalone here, in a
# private mount namespace with its own /run (and /var/log/journal), so the
# host's journal is never touched; without journald nothing is said.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq unshare

JOURNALD=/lib/systemd/systemd-journald
[ -x $JOURNALD ] || skip_all "no systemd-journald"
if [ -z "${HP_JOURNAL_NS:-}" ]; then
	# re-run inside a private mount namespace (the EXIT trap of this copy removes nothing yet)
	HP_JOURNAL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
mount -t tmpfs hp-run /run || skip_all "cannot mount a private /run"
[ -d /var/log/journal ] && { mount -t tmpfs hp-journal /var/log/journal || skip_all "cannot hide /var/log/journal"; }

test_expect_success 'without journald: apply and revert work and say nothing about it' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id audit-fix &&
	hp_start_target "$HP_TMP/svc" && a0=$(hp_pid $HP_T) &&
	hp_run_expect 0 apply -p $a0 --allow-unsigned "$HP_TMP/fix.hpatch" &&
	! grep -i journal "$HP_TMP/last.err" &&
	hp_run_expect 0 revert -p $a0 audit-fix && ! grep -i journal "$HP_TMP/last.err"
'

mkdir -p /run/systemd/journal /run/log/journal
$JOURNALD >"$HP_TMP/journald.log" 2>&1 &
jpid=$!
echo $jpid >"$HP_TMP/journald.pid"
for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || { cat "$HP_TMP/journald.log"; skip_all "journald did not start"; }

hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
hp_start_target "$HP_TMP/svc"; B=$HP_T; b=$(hp_pid $B)

# records appear asynchronously: wait until history shows N of them
wait_records() {
	local n=$1 i
	shift
	for i in $(seq 100); do
		[ "$("$HOTPATCH" history --json "$@" | jq ".records | length")" -ge "$n" ] && return 0
		sleep 0.05
	done
	"$HOTPATCH" history "$@"
	return 1
}

test_expect_success 'apply and revert of one process: two records with every field' '
	hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix.hpatch" &&
	hp_run_expect 0 revert -p $a audit-fix &&
	wait_records 2 -p $a &&
	"$HOTPATCH" history --json -p $a >"$HP_TMP/h.json" &&
	bid=$(readelf -n "$HP_TMP/svc" | awk "/Build ID/ {print \$3}") &&
	hp_expect_eq "$(jq -r ".records[0] | [.operation, .outcome, .pid, .comm, .patch_id, .level, .build_id] | join(\" \")" "$HP_TMP/h.json")" \
		"apply patched $a svc audit-fix 1 $bid" "apply record" &&
	hp_expect_eq "$(jq -r ".records[1] | [.operation, .outcome, .pid, .patch_id, .level, .build_id] | join(\" \")" "$HP_TMP/h.json")" \
		"revert reverted $a audit-fix 1 $bid" "revert record" &&
	jq -r ".records[0].time" "$HP_TMP/h.json" | grep -q "^20[0-9-]*T[0-9:]*Z$" &&
	journalctl --no-pager -o verbose MESSAGE_ID=4f1d2a9c8e7b4c6a9d3e5f7a1b2c3d4e HOTPATCH_PID=$a |
		grep -q "HOTPATCH_OUTCOME=patched" &&
	{ ! python3 -c "import jsonschema" 2>/dev/null ||
		python3 "$HP_SRC_DIR/tests/helpers/hp-json-validate.py" "$HP_SRC_DIR/docs/json" history "$HP_TMP/h.json"; }
'

test_expect_success 'a failure is recorded too, with its kind' '
	hp_run_expect 3 revert -p $a audit-fix &&
	wait_records 3 -p $a &&
	hp_expect_eq "$("$HOTPATCH" history --json -p $a | jq -r ".records[2] | .outcome + \" \" + .error")" \
		"failed nothing-to-do" "failure record"
'

test_expect_success 'a sweep records every process it changed; history filters by patch and count' '
	hp_run_expect 0 apply --comm svc --allow-unsigned "$HP_TMP/fix.hpatch" &&
	wait_records 1 -p $b &&
	hp_expect_eq "$("$HOTPATCH" history --json -p $b | jq -r ".records[0].outcome")" patched "sweep record of b" &&
	hp_run_expect 0 history --patch-id audit-fix -n 2 &&
	hp_expect_eq "$(grep -c audit-fix "$HP_TMP/last.out")" 2 "last two records" &&
	hp_expect_eq "$("$HOTPATCH" history --json --patch-id nosuch | jq ".records | length")" 0 "other patch"
'
kill $jpid 2>/dev/null
test_done
