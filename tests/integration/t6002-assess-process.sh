#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch assess, process checks on real processes: a healthy one, a
# stopped one, one traced by strace, a zombie, processes under seccomp
# filters (refusing, killing, user-notif, W^X, strict mode), stripped
# binaries with and without a debug file, and a caller without privileges.
. "$(dirname "$0")/lib.sh"
hp_require root cc jq

cc $HP_CFLAGS -o "$HP_TMP/echo" "$TARGET_SRC/assess-echo.c" &&
cc $HP_CFLAGS -o "$HP_TMP/zombie" "$TARGET_SRC/assess-zombie.c" &&
cc $HP_CFLAGS -o "$HP_TMP/wrap" "$TARGET_SRC/assess-wrap.c" || skip_all "cannot build the targets"

# pcheck JSON NAME FIELD: a field of the first process's check NAME
pcheck() { jq -r --arg n "$2" ".processes[0].checks[] | select(.name == \$n) | $3" "$1"; }
assess_pid() { "$HOTPATCH" assess --json -p "$@" >"$HP_TMP/p.json"; }

hp_start_target "$HP_TMP/echo"; healthy=$HP_T
pid=$(hp_pid $healthy)

test_expect_success 'a healthy unstripped process is eligible' '
	assess_pid $pid
	hp_expect_eq $? 0 "exit code" &&
	hp_expect_eq "$(jq -r ".processes[0].verdict" "$HP_TMP/p.json")" eligible verdict &&
	hp_expect_eq "$(jq -r "[.processes[0].checks[].name] | join(\" \")" "$HP_TMP/p.json")" \
		"state tracer ptrace_access seccomp wx_policy symbols applied old_code" "check names" &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" symbols .value)" .symtab symbols &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" seccomp .value)" disabled seccomp &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" applied .value)" none applied &&
	hp_expect_eq "$(jq -r ".processes[0].exe" "$HP_TMP/p.json")" "$HP_TMP/echo" exe &&
	hp_expect_eq "$(hp_ask $healthy hi)" "ok hi 5" "target still answers"
'

test_expect_success 'a stopped process is not eligible until it is resumed' '
	kill -STOP $pid &&
	for i in $(seq 100); do grep -q "^State:.*T" /proc/$pid/status && break; sleep 0.01; done &&
	{ assess_pid $pid; rc=$?; kill -CONT $pid; } &&
	hp_expect_eq $rc 1 "exit code while stopped" &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" state .result)" not-ok state &&
	pcheck "$HP_TMP/p.json" state .remedy | grep -q "kill -CONT $pid" &&
	assess_pid $pid &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" state .result)" ok "state after SIGCONT"
'

if command -v strace >/dev/null; then
	test_expect_success 'a process traced by strace is not eligible, and the tracer is named' '
		strace -p $pid -o /dev/null 2>/dev/null & st=$!
		for i in $(seq 500); do [ "$(awk "/^TracerPid/ {print \$2}" /proc/$pid/status)" != 0 ] && break; sleep 0.01; done
		assess_pid $pid; rc=$?
		kill $st; wait $st 2>/dev/null
		hp_expect_eq $rc 1 "exit code while traced" &&
		hp_expect_eq "$(pcheck "$HP_TMP/p.json" tracer .result)" not-ok tracer &&
		hp_expect_eq "$(pcheck "$HP_TMP/p.json" tracer .value)" "$st (strace)" "tracer value"
	'
else
	test_skip 'a process traced by strace is not eligible' 'needs strace'
fi

hp_start_target "$HP_TMP/zombie"; zt=$HP_T
zpid=$(sed -n "s/^zombie //p" "$HP_TMP/$zt.out")
test_expect_success 'a zombie is not eligible' '
	grep -q "^State:.*Z" /proc/$zpid/status &&
	assess_pid $zpid
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" state .value)" Z state &&
	pcheck "$HP_TMP/p.json" state .reason | grep -q zombie
'

# seccomp MODE EXPECT_RESULT EXPECT_REASON_PART [VERDICT]
seccomp_case() {
	local mode=$1 want=$2 part=$3 verdict=$4 t p
	hp_start_target "$HP_TMP/wrap" $mode "$HP_TMP/echo" || return 1
	t=$HP_T
	p=$(hp_pid $t)
	assess_pid $p
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" seccomp .result)" "$want" "seccomp result" &&
	pcheck "$HP_TMP/p.json" seccomp .reason | grep -qF -- "$part" &&
	hp_expect_eq "$(jq -r ".processes[0].verdict" "$HP_TMP/p.json")" "$verdict" verdict &&
	hp_expect_eq "$(awk "/^TracerPid/ {print \$2}" /proc/$p/status)" 0 "left untraced" &&
	hp_expect_eq "$(hp_ask $t x)" "ok x 3" "still answers after its filters were read"
}

test_expect_success 'seccomp: a filter refusing memfd_create blocks the engine' '
	seccomp_case deny-memfd not-ok "memfd_create: errno(1)" not-eligible
'
test_expect_success 'seccomp: a filter that kills on memfd_create is reported as such' '
	seccomp_case kill-memfd not-ok "memfd_create: kill-process" not-eligible
'
test_expect_success 'seccomp: a user-space supervisor decides: unknown' '
	seccomp_case notif-memfd unknown "user-notif" unknown
'
test_expect_success 'seccomp W^X (MemoryDenyWriteExecute) and PR_SET_MDWE: eligible, the engine copes' '
	seccomp_case wx ok "pass all 1 filter" eligible &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" wx_policy .value)" "seccomp W^X" wx &&
	pcheck "$HP_TMP/p.json" wx_policy .reason | grep -q "mprotect(PROT_EXEC): errno(1)" &&
	pcheck "$HP_TMP/p.json" wx_policy .reason | grep -q "the engine copes"
'
test_expect_success 'seccomp: --no-stop leaves the filters unread: unknown' '
	hp_start_target "$HP_TMP/wrap" deny-memfd "$HP_TMP/echo" && p=$(hp_pid $HP_T) &&
	{ "$HOTPATCH" assess --json --no-stop -p $p >"$HP_TMP/p.json"; true; } &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" seccomp .result)" unknown seccomp &&
	pcheck "$HP_TMP/p.json" seccomp .reason | grep -q -- --no-stop
'
test_expect_success 'seccomp strict mode is not eligible' '
	hp_start_target "$HP_TMP/wrap" strict && p=$(hp_pid $HP_T) &&
	for i in $(seq 100); do grep -q "^Seccomp:.*1" /proc/$p/status && break; sleep 0.01; done &&
	assess_pid $p
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" seccomp .value)" strict seccomp &&
	hp_expect_eq "$(jq -r ".processes[0].verdict" "$HP_TMP/p.json")" not-eligible verdict
'

cp "$HP_TMP/echo" "$HP_TMP/echo-stripped" && strip --strip-all "$HP_TMP/echo-stripped"
hp_start_target "$HP_TMP/echo-stripped"; sp=$(hp_pid $HP_T)
bid=$(readelf -n "$HP_TMP/echo" | awk "/Build ID/ {print \$3}")
test_expect_success 'a stripped binary without a debug file has no usable symbols' '
	HOTPATCH_DEBUG_ROOT="$HP_TMP/no-debug" assess_pid $sp
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" symbols .result)" not-ok symbols &&
	pcheck "$HP_TMP/p.json" symbols .reason | grep -q "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug"
'
test_expect_success 'a stripped binary with its debug file (by build-id) has symbols' '
	mkdir -p "$HP_TMP/debug/.build-id/${bid:0:2}" &&
	objcopy --only-keep-debug "$HP_TMP/echo" "$HP_TMP/debug/.build-id/${bid:0:2}/${bid:2}.debug" &&
	HOTPATCH_DEBUG_ROOT="$HP_TMP/debug" assess_pid $sp &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" symbols .result)" ok symbols &&
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" symbols .value)" "$HP_TMP/debug/.build-id/${bid:0:2}/${bid:2}.debug" "debug file"
'
test_expect_success 'a debug file of another build does not count' '
	cc $HP_CFLAGS -DOTHER=1 -o "$HP_TMP/other" "$TARGET_SRC/assess-echo.c" -Wl,--build-id=0x1234 &&
	objcopy --only-keep-debug "$HP_TMP/other" "$HP_TMP/debug/.build-id/${bid:0:2}/${bid:2}.debug" &&
	HOTPATCH_DEBUG_ROOT="$HP_TMP/debug" assess_pid $sp
	hp_expect_eq "$(pcheck "$HP_TMP/p.json" symbols .result)" not-ok symbols
'

if command -v setpriv >/dev/null; then
	test_expect_success 'a caller without privileges may not attach to a root process' '
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$HOTPATCH" assess --json -p $pid \
			>"$HP_TMP/p.json"
		hp_expect_eq $? 1 "exit code" &&
		hp_expect_eq "$(pcheck "$HP_TMP/p.json" ptrace_access .result)" not-ok ptrace_access &&
		hp_expect_eq "$(pcheck "$HP_TMP/p.json" old_code .result)" unknown old_code
	'
else
	test_skip 'a caller without privileges may not attach' 'needs setpriv'
fi

test_expect_success '--all lists every process but itself, grouped by verdict' '
	"$HOTPATCH" assess --all --json >"$HP_TMP/all.json"
	hp_expect_eq "$(jq "[.processes[] | select(.pid == $pid)] | length" "$HP_TMP/all.json")" 1 "healthy target listed" &&
	hp_expect_eq "$(jq "[.processes[] | select(.pid == $zpid)] | length" "$HP_TMP/all.json")" 1 "zombie listed" &&
	hp_expect_eq "$(jq "[.summary[]] | add" "$HP_TMP/all.json")" "$(jq ".processes | length" "$HP_TMP/all.json")" summary &&
	"$HOTPATCH" assess --all >"$HP_TMP/all.txt"
	grep -q "^eligible (" "$HP_TMP/all.txt" && grep -q "^not-eligible (" "$HP_TMP/all.txt" &&
	awk "/^not-eligible/,/^eligible/" "$HP_TMP/all.txt" | grep -q "^  $zpid "
'

test_done
