#!/bin/bash
# SPDX-License-Identifier: MIT
# Inputs that are not what they claim (issue 10, "small ones"): a patch
# "file" that is a FIFO or a device must be refused at once, not read until
# a writer comes; a thread id stands for its process, and says so; a kernel
# thread and a process the kernel will not let us read are named for what
# they are.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc setpriv timeout

test_expect_success 'info and apply refuse a FIFO at once (exit 7), without waiting for a writer' '
	mkfifo "$HP_TMP/fifo" &&
	rc=$(timeout 10 "$HOTPATCH" info "$HP_TMP/fifo" 2>"$HP_TMP/err" >/dev/null; echo $?) &&
	cat "$HP_TMP/err" && hp_expect_eq $rc 7 "info exit" &&
	grep -q "is a FIFO, not a regular file" "$HP_TMP/err" &&
	rc=$(timeout 10 "$HOTPATCH" apply -p $$ --allow-unsigned "$HP_TMP/fifo" 2>"$HP_TMP/err" >/dev/null; echo $?) &&
	cat "$HP_TMP/err" && hp_expect_eq $rc 7 "apply exit" &&
	grep -q "is a FIFO, not a regular file" "$HP_TMP/err"
'
test_expect_success 'a character device and a directory are refused the same way' '
	rc=$(timeout 10 "$HOTPATCH" info /dev/zero 2>"$HP_TMP/err" >/dev/null; echo $?) &&
	hp_expect_eq $rc 7 "device exit" && grep -q "is a character device" "$HP_TMP/err" &&
	rc=$(timeout 10 "$HOTPATCH" info "$HP_TMP" 2>"$HP_TMP/err" >/dev/null; echo $?) &&
	hp_expect_eq $rc 7 "directory exit" && grep -q "is a directory" "$HP_TMP/err"
'

cc -O2 -g -pthread -o "$HP_TMP/idle-threads" "$TARGET_SRC/idle-threads.c"
hp_start_target "$HP_TMP/idle-threads"; pid=$(hp_pid $HP_T)
tid=$(sed -n "s/^ready //p" "$HP_TMP/$HP_T.out")
test_expect_success '-p TID of a thread that is not the main one means its process, and says so' '
	[ -n "$tid" ] && [ "$tid" != "$pid" ] && [ -d /proc/$pid/task/$tid ] &&
	"$HOTPATCH" status -p $tid >"$HP_TMP/out" 2>"$HP_TMP/err" &&
	grep -q "^hotpatch: thread $tid belongs to process $pid; using the process$" "$HP_TMP/err" &&
	grep -q "^pid $pid (idle-threads): no patches applied" "$HP_TMP/out" &&
	! "$HOTPATCH" revert -p $tid some-fix 2>"$HP_TMP/err" &&
	grep -q "thread $tid belongs to process $pid" "$HP_TMP/err" &&
	grep -q "pid $pid: patch some-fix is not applied" "$HP_TMP/err"
'

# a kernel thread: PF_KTHREAD (0x200000) in the flags, the 7th field after "pid (comm) "
kthread=$(awk '{ sub(/^.*\) /, ""); if (int($7 / 2097152) % 2 == 1) { print FILENAME; exit } }' \
	/proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3)
if [ -n "$kthread" ]; then
	test_expect_success "a kernel thread (pid $kthread) is named as one, for status and apply" '
		! "$HOTPATCH" status -p $kthread 2>"$HP_TMP/err" &&
		grep -q "pid $kthread (.*) is a kernel thread; it has no user-space code to patch" "$HP_TMP/err" &&
		! "$HOTPATCH" apply -p $kthread --allow-unsigned /dev/null 2>"$HP_TMP/err" &&
		grep -q "is a kernel thread" "$HP_TMP/err"
	'
else
	test_skip 'a kernel thread is named as one' 'no kernel thread is visible in this PID namespace'
fi

hp_start_target setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c 'echo ready; exec sleep 60'
np=$(hp_pid $HP_T)
test_expect_success 'a refused process: the cause is named (here: no CAP_SYS_PTRACE), not a bare EPERM' '
	! setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace "$HOTPATCH" status -p $np 2>"$HP_TMP/err" &&
	cat "$HP_TMP/err" &&
	grep -q "pid $np (sleep): the kernel refuses access to its memory (Permission denied); this process lacks CAP_SYS_PTRACE" "$HP_TMP/err"
'
if ! "$HOTPATCH" status -p 1 >/dev/null 2>"$HP_TMP/err1"; then
	test_expect_success 'pid 1, refused here: named as the init process, with the cause' '
		cat "$HP_TMP/err1" &&
		grep -q "pid 1 (.*the init process of this PID namespace): the kernel refuses access to its memory" "$HP_TMP/err1"
	'
else
	test_skip 'pid 1 refused: named as init' 'pid 1 is readable here (nothing to explain)'
fi
test_done
