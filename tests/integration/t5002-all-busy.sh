#!/bin/bash
# SPDX-License-Identifier: MIT
# Host-wide sweeps while processes are busy, exit, execute another program
# or fork: a busy process goes to the retry queue and does not hold up the
# others; one busy until the timeout fails by itself, naming the thread and
# the function; one that exits or executes something else while it waits is
# reported as exited, not as a failure; a child forked during the sweep from
# a process the sweep patched is found afterwards and reported as patched;
# SIGINT ends a sweep early with every process running and untraced.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq

ID=hostbusy-$$
test_expect_success 'build the service and its patch' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id $ID
'
out() { jq -r --argjson p "$1" ".processes[] | select(.pid == \$p) | $2" "$HP_TMP/a.json"; }

hp_start_target "$HP_TMP/svc"; Q=$HP_T; q=$(hp_pid $Q)	# quiet
hp_start_target "$HP_TMP/svc"; B=$HP_T; b=$(hp_pid $B)	# busy for a while
hp_start_target "$HP_TMP/svc"; X=$HP_T; x=$(hp_pid $X)	# busy, then killed
hp_start_target "$HP_TMP/svc"; E=$HP_T; e=$(hp_pid $E)	# busy, then executes sleep
hp_start_target "$HP_TMP/svc"; F=$HP_T; f=$(hp_pid $F)	# forks during the sweep

test_expect_success 'busy, exiting, exec-ing and forking processes during one sweep' '
	hp_expect_eq "$(hp_ask $B "h 1500")" holding b &&
	hp_expect_eq "$(hp_ask $X "h -1")" holding x &&
	hp_expect_eq "$(hp_ask $E "h -1")" holding e || exit 1
	start=$(date +%s%N)
	{ "$HOTPATCH" apply --all --comm svc --json --timeout 8 --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/a.json" 2>"$HP_TMP/a.err"; echo $? >"$HP_TMP/a.rc"; } &
	sweep=$!
	for i in $(seq 200); do [ "$(hp_ask $Q "c 5")" = 1010 ] && break; sleep 0.01; done &&
	ms=$((($(date +%s%N) - start) / 1000000)) && say "the quiet process was patched after $ms ms" &&
	[ $ms -lt 1400 ] &&
	kill -0 $sweep &&
	for i in $(seq 200); do [ "$(hp_ask $F "c 5")" = 1010 ] && break; sleep 0.01; done &&
	child=$(hp_ask $F "f $HP_TMP/child.out") && echo $child >"$HP_TMP/child.pid" &&
	kill -9 $x &&
	hp_expect_eq "$(hp_ask $E e)" exec "exec" &&
	wait $sweep; cat "$HP_TMP/a.err" &&
	hp_expect_eq "$(cat "$HP_TMP/a.rc")" 0 "exit code" &&
	hp_expect_eq "$(out $q .outcome)" patched quiet &&
	hp_expect_eq "$(out $b .outcome)" patched "busy for a while" &&
	[ "$(out $b .busy_retries)" -ge 1 ] &&
	hp_expect_eq "$(hp_ask $B "c 5")" 1010 "busy one runs the fix" &&
	hp_expect_eq "$(out $x .outcome)" exited "killed while waiting" &&
	hp_expect_eq "$(out $e .outcome)" exited "exec while waiting" &&
	out $e .message | grep -q "executed another program" &&
	hp_expect_eq "$(out $f .outcome)" patched forker &&
	hp_expect_eq "$(out $child .outcome)" patched "child forked during the sweep" &&
	hp_expect_eq "$(out $child .inherited_from)" $f "child inherited from" &&
	hp_expect_eq "$(out $child .message)" "inherited by fork from pid $f" "child message" &&
	for i in $(seq 100); do [ "$(cat "$HP_TMP/child.out" 2>/dev/null)" = 1010 ] && break; sleep 0.05; done &&
	hp_expect_eq "$(cat "$HP_TMP/child.out")" 1010 "child runs the fix" &&
	[ "$(jq .summary.busy_retried "$HP_TMP/a.json")" -ge 3 ] &&
	hp_expect_eq "$(jq .summary.failed "$HP_TMP/a.json")" 0 failed
'
child=$(cat "$HP_TMP/child.pid" 2>/dev/null || echo 0)

test_expect_success 'status of the forked child: the patch, applied to its parent' '
	"$HOTPATCH" status --json -p $child >"$HP_TMP/c.json" &&
	hp_expect_eq "$(jq -r ".patches[0].state" "$HP_TMP/c.json")" active state &&
	hp_expect_eq "$(jq -r ".patches[0].consistent" "$HP_TMP/c.json")" true consistent &&
	hp_expect_eq "$(jq -r ".patches[0].applier_pid" "$HP_TMP/c.json")" $f applier
'

test_expect_success 'revert --all while one process stays busy: the others are reverted, it fails alone' '
	hp_expect_eq "$(hp_ask $B "h -1")" holding b &&
	before=$("$HP_TEST_TOOL" funcbytes $b "$HP_TMP/svc" hold) &&
	hp_run_expect 16 revert --all --comm svc --timeout 1 $ID &&
	grep -q "^pid $q (svc): reverted $ID" "$HP_TMP/last.out" &&
	grep -q "^pid $f (svc): reverted $ID" "$HP_TMP/last.out" &&
	grep -q "^pid $child (svc): reverted $ID" "$HP_TMP/last.out" &&
	grep "^pid $b (svc): failed (busy) after busy retries: busy through the sweep.s timeout (tried [0-9]* times over [0-9.]* s): pid $b: thread [0-9]* has .* on its stack" "$HP_TMP/last.out" &&
	grep -q "1 failed" "$HP_TMP/last.out" &&
	hp_expect_eq "$(hp_ask $Q "c 5")" 10 "quiet one reverted" &&
	hp_expect_eq "$(hp_ask $B "c 5")" 1010 "busy one still patched, untouched" &&
	hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $b "$HP_TMP/svc" hold)" "$before" "busy one: code unchanged" &&
	! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$b/status &&
	"$HOTPATCH" status -p $b | grep -q "$ID  level 1  active"
'

hp_start_target "$HP_TMP/svc"; B2=$HP_T; b2=$(hp_pid $B2)	# busy forever
test_expect_success 'apply --all while one process stays busy: exit 16, its line says why' '
	hp_expect_eq "$(hp_ask $Q "c 5")" 10 quiet &&
	hp_expect_eq "$(hp_ask $B2 "h -1")" holding b2 &&
	"$HOTPATCH" apply --all --comm svc --json --timeout 1 --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/a.json" 2>/dev/null
	hp_expect_eq $? 16 "exit code" &&
	hp_expect_eq "$(out $b2 .outcome)" failed b2 &&
	hp_expect_eq "$(out $b2 .error.kind)" busy "b2 error" &&
	hp_expect_eq "$(out $q .outcome)" patched quiet &&
	hp_expect_eq "$(jq -r .result "$HP_TMP/a.json")" partial result &&
	hp_expect_eq "$(hp_ask $B2 "c 5")" 10 "busy one untouched" &&
	! grep -q "memfd:hotpatch:" /proc/$b2/maps
'
test_expect_success 'SIGINT during a sweep: it stops starting processes, finishes the one in hand, exits 16' '
	"$HOTPATCH" revert --all --comm svc $ID >/dev/null 2>&1
	hp_expect_eq "$(hp_ask $Q "c 5")" 10 "quiet, before" || exit 1
	start=$(date +%s%N)
	"$HOTPATCH" -v apply --all --comm svc --timeout 20 --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/i.out" 2>"$HP_TMP/i.err" &
	sweep=$!
	for i in $(seq 500); do [ "$(hp_ask $Q "c 5")" = 1010 ] && break; sleep 0.01; done
	for i in $(seq 500); do grep -q "host: pid $b2 busy (try 1), queued for a retry" "$HP_TMP/i.err" && break; sleep 0.01; done
	kill -INT $sweep
	wait $sweep
	hp_expect_eq $? 16 "exit code" &&
	ms=$((($(date +%s%N) - start) / 1000000)) && say "the interrupted sweep ended after $ms ms" &&
	[ $ms -lt 5000 ] &&
	grep -q "interrupted; finishing the processes in progress" "$HP_TMP/i.err" &&
	grep -q "^interrupted: processes not looked at yet were left as they were" "$HP_TMP/i.out" &&
	grep -q "^pid $b2 (svc): failed (busy) after busy retries: the sweep was interrupted while it waited to retry (tried [0-9]* times): pid $b2: thread" "$HP_TMP/i.out" &&
	for p in $q $b $b2 $f; do
		grep -q "^TracerPid:[[:space:]]*0$" /proc/$p/status || { echo "pid $p traced"; exit 1; }
		! grep -q "^State:[[:space:]]*[tT]" /proc/$p/status || { echo "pid $p stopped"; exit 1; }
	done &&
	hp_expect_eq "$(hp_ask $B2 "c 5")" 10 "busy one untouched"
'
test_done
