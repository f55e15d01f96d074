#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch assess, host checks: what the live system reports, read back from
# the system itself; conditions this machine cannot be put in come from the
# fixture trees (--root); command line errors and exit codes.
. "$(dirname "$0")/lib.sh"
hp_require jq
FIX=$HP_SRC_DIR/tests/fixtures/assess

# j FILE FILTER: one jq value, raw
j() { jq -r "$2" "$1"; }
check() { jq -r --arg n "$2" ".host.checks[] | select(.name == \$n) | $3" "$1"; }

"$HOTPATCH" assess --json >"$HP_TMP/h.json"
host_rc=$?

test_expect_success 'exit code and JSON verdict agree' '
	v=$(j "$HP_TMP/h.json" .verdict) &&
	hp_expect_eq "$(j "$HP_TMP/h.json" .exit_code)" "$host_rc" "exit_code field" &&
	if [ "$v" = eligible ]; then hp_expect_eq $host_rc 0; else hp_expect_eq $host_rc 1; fi
'

test_expect_success 'every documented host check and inventory item is present' '
	hp_expect_eq "$(j "$HP_TMP/h.json" "[.host.checks[].name] | join(\" \")")" \
		"arch kernel cap_sys_ptrace ptrace_scope selinux apparmor lockdown proc_mem_write memfd_exec" checks &&
	hp_expect_eq "$(j "$HP_TMP/h.json" "[.host.inventory | keys[]] | sort | join(\" \")")" \
		"cpu_model hypervisor os_id os_name os_version secure_boot tpm virtualization" inventory &&
	hp_expect_eq "$(j "$HP_TMP/h.json" "[.host.checks[] | select(.reason == \"\")] | length")" 0 "checks without a reason" &&
	hp_expect_eq "$(j "$HP_TMP/h.json" "[.host.checks[] | select(.result != \"ok\" and .remedy == null)] | length")" 0 \
		"not-ok checks without a remedy"
'

test_expect_success 'architecture and kernel are the running ones' '
	hp_expect_eq "$(check "$HP_TMP/h.json" arch .value)" "$(uname -m)" arch &&
	hp_expect_eq "$(check "$HP_TMP/h.json" kernel .value)" "$(uname -r)" kernel &&
	hp_expect_eq "$(check "$HP_TMP/h.json" kernel .result)" ok "kernel result"
'

test_expect_success 'inventory is read from the system, unknown (null) when it cannot be' '
	(. /etc/os-release && hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.os_version.value)" "${VERSION_ID:-null}" VERSION_ID &&
	 hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.os_id.value)" "${ID:-null}" ID) &&
	model=$(grep -m1 "^model name" /proc/cpuinfo | sed "s/^[^:]*: //") &&
	hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.cpu_model.value)" "${model:-null}" "cpu model" &&
	flags=$(grep -m1 "^flags" /proc/cpuinfo) &&
	if grep -qw vmx <<<"$flags"; then want=vmx; elif grep -qw svm <<<"$flags"; then want=svm; else want=none; fi &&
	hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.virtualization.value)" $want virtualization &&
	if grep -qw hypervisor <<<"$flags"; then want=yes; else want=no; fi &&
	hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.hypervisor.value)" $want hypervisor &&
	sb=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c &&
	if [ -r $sb ]; then
		case $(od -An -tu1 -j4 -N1 $sb | tr -d " ") in 1) want=enabled ;; *) want=disabled ;; esac
	elif [ ! -d /sys/firmware/efi ]; then want=null; else want=$(j "$HP_TMP/h.json" .host.inventory.secure_boot.value); fi &&
	hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.secure_boot.value)" "$want" "secure boot" &&
	if [ ! -d /sys/class/tpm ]; then
		hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.tpm.value)" null tpm
	elif ls /sys/class/tpm | grep -q ^tpm; then
		j "$HP_TMP/h.json" .host.inventory.tpm.value | grep -q ^present
	else
		hp_expect_eq "$(j "$HP_TMP/h.json" .host.inventory.tpm.value)" absent tpm
	fi
'

test_expect_success 'Yama, lockdown and SELinux values are what the kernel shows' '
	y=/proc/sys/kernel/yama/ptrace_scope &&
	if [ -r $y ]; then check "$HP_TMP/h.json" ptrace_scope .value | grep -q "^$(cat $y) "
	else hp_expect_eq "$(check "$HP_TMP/h.json" ptrace_scope .value)" none yama; fi &&
	l=/sys/kernel/security/lockdown &&
	if [ -r $l ]; then hp_expect_eq "$(check "$HP_TMP/h.json" lockdown .value)" "$(sed "s/.*\[\(.*\)\].*/\1/" $l)" lockdown
	else hp_expect_eq "$(check "$HP_TMP/h.json" lockdown .result)" "$( [ -e /sys/kernel/security/lsm ] && echo ok || echo unknown)" lockdown; fi &&
	hp_expect_eq "$(check "$HP_TMP/h.json" lockdown .advisory)" true "lockdown advisory" &&
	if [ -d /sys/fs/selinux ]; then check "$HP_TMP/h.json" selinux .value | grep -Eq "^(enforcing|permissive)"
	else hp_expect_eq "$(check "$HP_TMP/h.json" selinux .value)" disabled selinux; fi
'

test_expect_success 'as root: CAP_SYS_PTRACE held, /proc/PID/mem write and memfd exec measured' '
	hp_expect_eq "$(check "$HP_TMP/h.json" cap_sys_ptrace .value)" "$(grep -q "^CapEff:.*" /proc/self/status &&
		[ $(( 0x$(awk "/^CapEff/ {print \$2}" /proc/self/status) >> 19 & 1 )) = 1 ] && echo yes || echo no)" cap &&
	check "$HP_TMP/h.json" proc_mem_write .reason | grep -q "^measured: " &&
	check "$HP_TMP/h.json" memfd_exec .reason | grep -q "^measured: "
'

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	test_expect_success 'without CAP_SYS_PTRACE the host is not eligible, and says why' '
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$HOTPATCH" assess --json >"$HP_TMP/n.json"
		rc=$?
		hp_expect_eq $rc 1 "exit code" &&
		hp_expect_eq "$(check "$HP_TMP/n.json" cap_sys_ptrace .result)" not-ok cap &&
		check "$HP_TMP/n.json" cap_sys_ptrace .remedy | grep -q CAP_SYS_PTRACE &&
		hp_expect_eq "$(j "$HP_TMP/n.json" .host.verdict)" not-eligible verdict
	'
else
	test_skip 'without CAP_SYS_PTRACE the host is not eligible' 'needs root and setpriv'
fi

test_expect_success 'fixture: a locked-down host is not eligible, each no with its remedy' '
	"$HOTPATCH" assess --root "$FIX/locked" >"$HP_TMP/l.txt"
	hp_expect_eq $? 1 "exit code" &&
	grep -q "^host: not-eligible" "$HP_TMP/l.txt" &&
	grep -q "^  not-ok   ptrace_scope    3 (no attach)" "$HP_TMP/l.txt" &&
	grep -q "fix: setsebool -P deny_ptrace off" "$HP_TMP/l.txt" &&
	grep -q "^  not-ok   proc_mem_write  never" "$HP_TMP/l.txt" &&
	grep -q "^  ok       lockdown        confidentiality" "$HP_TMP/l.txt" &&
	grep -q "^  secure_boot     disabled" "$HP_TMP/l.txt" &&
	grep -q "^  tpm             absent" "$HP_TMP/l.txt"
'

test_expect_success 'fixture: a healthy host with Secure Boot and a TPM is eligible' '
	"$HOTPATCH" assess --json --root "$FIX/debian" >"$HP_TMP/d.json"
	hp_expect_eq $? 0 "exit code" &&
	hp_expect_eq "$(j "$HP_TMP/d.json" .host.inventory.secure_boot.value)" enabled "secure boot" &&
	hp_expect_eq "$(j "$HP_TMP/d.json" .host.inventory.tpm.value)" "present (TPM 2.0)" tpm &&
	check "$HP_TMP/d.json" proc_mem_write .reason | grep -vq measured
'

test_expect_success 'fixture: what cannot be read is unknown, and unknown is not eligible' '
	"$HOTPATCH" assess --json --root "$FIX/empty" >"$HP_TMP/e.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(j "$HP_TMP/e.json" .verdict)" unknown verdict &&
	hp_expect_eq "$(j "$HP_TMP/e.json" "[.host.inventory[] | select(.value != null)] | length")" 0 "known inventory items"
'

test_expect_success 'command line errors exit 2' '
	hp_run_expect 2 assess --patch a.hpatch --patch-dir . &&
	hp_run_expect 2 assess -p 1 --all &&
	hp_run_expect 2 assess -p nope &&
	hp_run_expect 2 assess --patch "$HP_TMP/missing.hpatch" &&
	hp_run_expect 2 assess --patch-dir "$HP_TMP" &&
	hp_run_expect 2 assess --root "$HP_TMP/missing" &&
	hp_run_expect 2 assess --json --patch "$HP_TMP/missing.hpatch" &&
	hp_expect_eq "$(jq -r .error.exit_code "$HP_TMP/last.out")" 2 "JSON error exit_code"
'

test_expect_success 'a process that does not exist is an error' '
	sleep 0 & dead=$!; wait $dead
	hp_run_expect 2 assess -p $dead &&
	grep -q "no such process" "$HP_TMP/last.err"
'

test_expect_success 'a kernel thread is not a process to assess' '
	k=$(for p in /proc/[0-9]*; do s=$(cat $p/stat 2>/dev/null) || continue
		f=$(awk "{print \$7}" <<<"${s##*) }")
		[ $(( f & 0x200000 )) != 0 ] && { echo ${p#/proc/}; break; }; done)
	if [ -z "$k" ]; then echo "no kernel thread visible"; exit 0; fi
	hp_run_expect 2 assess -p $k &&
	grep -q "kernel thread" "$HP_TMP/last.err"
'

test_expect_success 'help documents the options, not the test-only --root' '
	"$HOTPATCH" help assess >"$HP_TMP/help" &&
	grep -q -- --patch-dir "$HP_TMP/help" && grep -q -- --no-stop "$HP_TMP/help" &&
	! grep -q -- --root "$HP_TMP/help" &&
	"$HOTPATCH" --help | grep -q "^  assess"
'

test_done
