#!/bin/bash
# SPDX-License-Identifier: MIT
# Honest sweeps: a user who cannot read other processes (nobody) is told so
# once, up front; a root-owned process with the patch applied is "unknown",
# counted and listed, never "exited", "not applied" or "nothing to do", and
# the exit code (17) says the sweep was incomplete.  Kernel threads are not
# processes to report, for root or anyone.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq runuser

ID=unpriv-$$
test_expect_success 'build the service and its patch; apply it as root' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id $ID
'
hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
# nobody must be able to run the tool and read the patch
chmod 755 "$HP_TMP" && cp "$HOTPATCH" "$HP_TMP/hotpatch" && chmod 755 "$HP_TMP/hotpatch" &&
	chmod 644 "$HP_TMP/fix.hpatch"
as_nobody() { runuser -u nobody -- "$HP_TMP/hotpatch" "$@"; }
as_nobody --version >/dev/null 2>&1 || skip_all "nobody cannot run the tool from $HP_TMP"

test_expect_success 'the patch is applied in the root-owned process' '
	hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix.hpatch"
'

test_expect_success 'revert --all as nobody: the process is unknown, exit 17, not "applied nowhere" (3)' '
	as_nobody revert --all $ID >"$HP_TMP/r.out" 2>"$HP_TMP/r.err"
	hp_expect_eq $? 17 "exit code" &&
	grep -q "^pid $a (svc): unknown: cannot tell whether it has the patch" "$HP_TMP/r.out" &&
	grep -q "unknown (memory unreadable: the sweep is incomplete; run as root)" "$HP_TMP/r.out" &&
	hp_expect_eq "$(grep -c "not privileged" "$HP_TMP/r.err")" 1 "one warning up front" &&
	hp_expect_eq "$(head -1 "$HP_TMP/r.err" | grep -c "not privileged")" 1 "the warning comes first"
'

test_expect_success 'revert --all --json as nobody: summary counts it unknown; result incomplete' '
	as_nobody revert --all --json $ID >"$HP_TMP/r.json"
	hp_expect_eq $? 17 "exit code" &&
	hp_expect_eq "$(jq -r ".result" "$HP_TMP/r.json")" incomplete result &&
	hp_expect_eq "$(jq -r ".summary.privileged" "$HP_TMP/r.json")" false privileged &&
	[ "$(jq -r ".summary.unknown" "$HP_TMP/r.json")" -ge 1 ] &&
	hp_expect_eq "$(jq -r --argjson p $a ".processes[] | select(.pid == \$p) | .outcome" "$HP_TMP/r.json")" unknown outcome &&
	hp_expect_eq "$(jq -r ".summary.exited" "$HP_TMP/r.json")" 0 "none exited"
'

test_expect_success 'the patch is still applied (nobody could not touch it)' '
	hp_run_expect 0 status -p $a && grep -q "$ID  level 1  active" "$HP_TMP/last.out"
'

test_expect_success 'status --all as nobody: exit 17, the process listed as unknown' '
	as_nobody status --all >"$HP_TMP/s.out" 2>/dev/null
	hp_expect_eq $? 17 "exit code" &&
	grep -q "^pid $a: unknown: its memory cannot be read" "$HP_TMP/s.out" &&
	as_nobody status --all --json >"$HP_TMP/s.json"
	hp_expect_eq $? 17 "exit code (json)" &&
	jq -e --argjson p $a ".unknown | index(\$p) != null" "$HP_TMP/s.json" >/dev/null
'

test_expect_success 'apply --all as nobody: exit 17, not "nothing to do" (3)' '
	as_nobody apply --all --allow-unsigned --json "$HP_TMP/fix.hpatch" >"$HP_TMP/a.json" 2>/dev/null
	hp_expect_eq $? 17 "exit code" &&
	hp_expect_eq "$(jq -r --argjson p $a ".processes[] | select(.pid == \$p) | .outcome" "$HP_TMP/a.json")" unknown outcome
'

# Kernel threads: PF_KTHREAD (0x200000) in the flags field of /proc/PID/stat.
kthreads=$(for s in /proc/[0-9]*/stat; do
	awk '{ sub(/.*\) /, ""); if (int($7 / 2097152) % 2) print FILENAME }' "$s" 2>/dev/null
done | sed 's|/proc/\([0-9]*\)/stat|\1|' | head -50)
test_expect_success 'no kernel thread is reported, as nobody or as root' '
	[ -n "$kthreads" ] || { say "no kernel threads visible here"; exit 0; }
	"$HOTPATCH" apply --all --allow-unsigned --json "$HP_TMP/fix.hpatch" >"$HP_TMP/root.json" 2>/dev/null
	for k in $kthreads; do
		for f in "$HP_TMP/a.json" "$HP_TMP/r.json" "$HP_TMP/root.json"; do
			[ -z "$(jq -r --argjson p $k ".processes[] | select(.pid == \$p) | .pid" "$f")" ] ||
				{ echo "kernel thread $k reported in $f"; exit 1; }
		done
		jq -e --argjson p $k ".unknown | index(\$p) == null" "$HP_TMP/s.json" >/dev/null ||
			{ echo "kernel thread $k in status"; exit 1; }
	done
'
test_done
