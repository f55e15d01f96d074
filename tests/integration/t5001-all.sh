#!/bin/bash
# SPDX-License-Identifier: MIT
# Host-wide sweeps: `apply --all` finds every process that runs the target
# build (also one whose file was replaced on disk, and one in another mount
# namespace that only it can see, whose stale stack values the CFI of its own
# files tells from return addresses), reports processes running another build
# (also a deleted one) as restart required, leaves unrelated processes out;
# a child forked after the patch carries it and `status` proves it;
# `revert --all` undoes it everywhere; `status --all --json` lists it all.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq
# Sweeps are narrowed with --comm svc: a process of the host that even root cannot read (pid 1 in
# some sandboxes) makes an unnarrowed sweep incomplete (exit 17), which t5003 tests on its own.

ID=hostsvc-$$
test_expect_success 'build the service, two other builds of it, and the patch' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	mkdir -p "$HP_TMP/b2" "$HP_TMP/b3" "$HP_TMP/moved" "$HP_TMP/ns" &&
	cc $HP_CFLAGS -pthread -DHP_VARIANT=2 -o "$HP_TMP/b2/svc" "$TARGET_SRC/host-svc.c" &&
	cc $HP_CFLAGS -pthread -DHP_VARIANT=3 -o "$HP_TMP/b3/svc" "$TARGET_SRC/host-svc.c" &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id $ID
'
bid() { readelf -n "$1" | awk '/Build ID/ {print $3}'; }
want=$(bid "$HP_TMP/svc")
b2=$(bid "$HP_TMP/b2/svc")
b3=$(bid "$HP_TMP/b3/svc")

# Two ordinary processes of the target build, one with four threads.
hp_start_target "$HP_TMP/svc"; A1=$HP_T; a1=$(hp_pid $A1)
hp_start_target "$HP_TMP/svc" 4; A2=$HP_T; a2=$(hp_pid $A2)
# The target build, started from a file that was then replaced by another build.
cp "$HP_TMP/svc" "$HP_TMP/moved/svc"
hp_start_target "$HP_TMP/moved/svc"; A3=$HP_T; a3=$(hp_pid $A3)
cp "$HP_TMP/b2/svc" "$HP_TMP/moved/svc.new" && mv "$HP_TMP/moved/svc.new" "$HP_TMP/moved/svc"
# Another build (restart required), and another build whose file is gone.
hp_start_target "$HP_TMP/b2/svc"; R1=$HP_T; r1=$(hp_pid $R1)
cp "$HP_TMP/b3/svc" "$HP_TMP/ns/svc"
hp_start_target "$HP_TMP/ns/svc"; R2=$HP_T; r2=$(hp_pid $R2)
rm "$HP_TMP/ns/svc"
# The target build in another mount namespace, from a tmpfs only that namespace sees.
cp "$HP_TMP/svc" "$HP_TMP/svc.copy"
hp_start_target unshare -m --propagation private sh -c \
	"mount -t tmpfs hp /mnt && cp '$HP_TMP/svc.copy' /mnt/svc && exec /mnt/svc"
C1=$HP_T; c1=$(hp_pid $C1)
# Unrelated.
hp_start_target sh -c 'echo ready; exec sleep 600'; U1=$HP_T; u1=$(hp_pid $U1)

out() { jq -r --argjson p "$1" ".processes[] | select(.pid == \$p) | $2" "$HP_TMP/a.json"; }

test_expect_success 'the container process really is in another mount namespace' '
	[ "$(stat -L -c %i /proc/$c1/ns/mnt)" != "$(stat -L -c %i /proc/self/ns/mnt)" ] &&
	grep -q " /mnt/svc$" /proc/$c1/maps && [ ! -e /mnt/svc ] &&
	hp_expect_eq "$(hp_ask $C1 "c 5")" 10 "container process before" &&
	hp_expect_eq "$(hp_ask $C1 p)" parked "a thread with an address of compute() on its stack, as data" &&
	hp_expect_eq "$(hp_ask $A1 p)" parked "the same in a host process"
'

test_expect_success 'apply --all: every process of the target build is patched' '
	"$HOTPATCH" apply --all --comm svc --json --jobs 3 --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/a.json"
	hp_expect_eq $? 5 "exit code (restart required elsewhere)" &&
	for p in $a1 $a2 $a3 $c1; do
		hp_expect_eq "$(out $p .outcome)" patched "pid $p" || exit 1
	done &&
	hp_expect_eq "$(hp_ask $A1 "c 5")" 1010 a1 &&
	hp_expect_eq "$(hp_ask $A2 "c 5")" 1010 a2 &&
	hp_expect_eq "$(hp_ask $A3 "c 5")" 1010 "a3 (file replaced on disk)" &&
	hp_expect_eq "$(hp_ask $C1 "c 5")" 1010 "container process" &&
	hp_expect_eq "$(out $c1 .container)" true "container flag" &&
	hp_expect_eq "$(out $a1 .container)" false "host process flag" &&
	hp_expect_eq "$(out $a2 .threads)" 5 "threads stopped in a2" &&
	hp_expect_eq "$(jq .summary.patched "$HP_TMP/a.json")" 4 "patched count"
'

test_expect_success 'another build, also a deleted one: restart required, both builds named' '
	hp_expect_eq "$(out $r1 .outcome)" restart-required r1 &&
	hp_expect_eq "$(out $r1 .target.build_id)" "$b2" "r1 build" &&
	out $r1 .message | grep -q "restart required: running build $b2 of $HP_TMP/b2/svc, patch is for build $want" &&
	hp_expect_eq "$(out $r2 .outcome)" restart-required r2 &&
	out $r2 .message | grep -q "running build $b3 of $HP_TMP/ns/svc (deleted), patch is for build $want" &&
	hp_expect_eq "$(hp_ask $R1 "c 5")" 10 "r1 untouched" &&
	hp_expect_eq "$(jq .summary.restart_required "$HP_TMP/a.json")" 2 "restart count" &&
	hp_expect_eq "$(jq .exit_code "$HP_TMP/a.json")" 5 "exit code in JSON"
'

test_expect_success 'unrelated processes are not reported, and nothing stays traced' '
	hp_expect_eq "$(out $u1 .pid)" "" "unrelated process" &&
	for p in $a1 $a2 $a3 $r1 $r2 $c1 $u1; do
		grep -q "^TracerPid:[[:space:]]*0$" /proc/$p/status || { echo "pid $p traced"; exit 1; }
		grep -q "^State:[[:space:]]*[tT]" /proc/$p/status && { echo "pid $p stopped"; exit 1; }
	done; true
'

test_expect_success 'a child forked after the patch carries it; status proves it' '
	child=$(hp_ask $A1 "f $HP_TMP/child.out") && [ "$child" -gt 0 ] &&
	echo $child >"$HP_TMP/child.pid" &&
	for i in $(seq 100); do [ -s "$HP_TMP/child.out" ] && break; sleep 0.05; done &&
	hp_expect_eq "$(cat "$HP_TMP/child.out")" 1010 "compute in the child" &&
	"$HOTPATCH" status --json -p $child >"$HP_TMP/c.json" &&
	hp_expect_eq "$(jq -r ".patches[0].patch_id" "$HP_TMP/c.json")" $ID "patch in the child" &&
	hp_expect_eq "$(jq -r ".patches[0].state" "$HP_TMP/c.json")" active state &&
	hp_expect_eq "$(jq -r ".patches[0].consistent" "$HP_TMP/c.json")" true consistent &&
	hp_expect_eq "$(jq -r ".patches[0].applier_pid" "$HP_TMP/c.json")" $a1 "applied to the parent" &&
	"$HOTPATCH" status --all --comm svc >"$HP_TMP/s.txt" &&
	grep -q "^pid $child (svc): $ID level 1 active, inherited by fork from pid $a1" "$HP_TMP/s.txt"
'
child=$(cat "$HP_TMP/child.pid" 2>/dev/null || echo 0)

test_expect_success 'status --all --json: every patched process, the container one marked' '
	"$HOTPATCH" status --all --comm svc --json >"$HP_TMP/s.json" &&
	for p in $a1 $a2 $a3 $c1 $child; do
		hp_expect_eq "$(jq -r --argjson p $p ".processes[] | select(.pid == \$p) | .patches[] | select(.patch_id == \"$ID\") | .state" "$HP_TMP/s.json")" active "pid $p" || exit 1
	done &&
	hp_expect_eq "$(jq -r --argjson p $c1 ".processes[] | select(.pid == \$p) | .container" "$HP_TMP/s.json")" true container &&
	hp_expect_eq "$(jq -r --argjson p $r1 ".processes[] | select(.pid == \$p) | .pid" "$HP_TMP/s.json")" "" "restart-required process has no patch" &&
	[ "$(jq .scanned "$HP_TMP/s.json")" -gt 7 ]
'

test_expect_success 'apply --all again: already at this level, the forked child too' '
	"$HOTPATCH" apply --all --comm svc --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/a.txt"
	hp_expect_eq $? 5 "exit code" &&
	grep -q "^pid $a1 (svc): already at this level: pid $a1: patch $ID (level 1) is already applied$" "$HP_TMP/a.txt" &&
	grep -q "^pid $child (svc): already at this level, inherited by fork from pid $a1$" "$HP_TMP/a.txt" &&
	"$HOTPATCH" apply --all --comm svc --json --allow-unsigned "$HP_TMP/fix.hpatch" >"$HP_TMP/a.json"
	hp_expect_eq $? 5 "exit code" &&
	hp_expect_eq "$(jq .summary.patched "$HP_TMP/a.json")" 0 patched &&
	hp_expect_eq "$(jq .summary.nothing_to_do "$HP_TMP/a.json")" 5 "nothing to do" &&
	hp_expect_eq "$(out $child .inherited_from)" $a1 "child inherited from a1"
'

test_expect_success 'revert --all: reverted everywhere, the child and the container too' '
	hp_run_expect 0 revert --all --comm svc $ID &&
	grep -q "^revert $ID: 5 reverted, 0 not applied, 0 failed, 0 exited" "$HP_TMP/last.out" &&
	grep -q "^pid $c1 (svc) \[container\]: reverted $ID" "$HP_TMP/last.out" &&
	hp_expect_eq "$(hp_ask $A1 "c 5")" 10 a1 &&
	hp_expect_eq "$(hp_ask $C1 "c 5")" 10 "container process" &&
	sleep 0.05 && hp_expect_eq "$(cat "$HP_TMP/child.out")" 10 child &&
	! grep -q "memfd:hotpatch:$ID" /proc/$a1/maps /proc/$c1/maps /proc/$child/maps &&
	hp_run_expect 3 revert --all --comm svc $ID
'

test_expect_success 'apply --all text output: one line per process and a summary' '
	hp_run_expect 5 apply --all --comm svc --allow-unsigned "$HP_TMP/fix.hpatch" &&
	grep -q "^pid $a2 (svc): patched $ID (level 1); threads paused [0-9]* µs (5 threads)$" "$HP_TMP/last.out" &&
	grep -q "^pid $r1 (svc): restart required: running build $b2" "$HP_TMP/last.out" &&
	grep -q "^apply $ID (level 1): 5 patched, 0 already at this level, 0 failed, 2 restart required, 0 exited" "$HP_TMP/last.out" &&
	hp_run_expect 0 revert --all --comm svc $ID
'

test_expect_success 'usage: --all and -p exclude each other; --jobs needs --all' '
	hp_run_expect 2 apply --all -p $a1 --allow-unsigned "$HP_TMP/fix.hpatch" &&
	hp_run_expect 2 apply -p $a1 --jobs 2 --allow-unsigned "$HP_TMP/fix.hpatch" &&
	hp_run_expect 2 revert --all --jobs 0 $ID &&
	hp_run_expect 2 status --all -p $a1
'
test_done
