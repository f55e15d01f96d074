#!/bin/bash
# SPDX-License-Identifier: MIT
# A patcher killed at any instant (SIGKILL: the OOM killer, `timeout -s KILL`,
# systemd stopping an agent) never kills, stops or leaves traced the process
# it works on, and leaves a state that `hotpatch status` tells and the next
# `revert` repairs.  A 16-thread process calling the patched functions in a
# loop; each trial starts one operation -- apply, revert, a level replace, an
# --all sweep (apply or revert) -- and SIGKILLs it after a random delay from 0
# to that operation's measured length.  After every trial: the target is
# alive, no thread is stopped (State T/t) or traced (TracerPid), and status
# shows it unpatched, fully patched, or interrupted -- then `revert` must
# repair it.  At the end every result the target computed was one of the
# levels' (bad=0) and it still answers.
#
# Cost: HP_KILL_SECONDS (default 60) of trials.  HP_KILL_TRIALS=N runs exactly
# N trials instead (docs/state-record.md has the result of a 1,000-trial run).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

SECONDS_BUDGET=${HP_KILL_SECONDS:-60}
TRIALS=${HP_KILL_TRIALS:-0}
THREADS=${HP_KILL_THREADS:-16}
# As in t2003: the patcher competes with busy threads for 2 CPUs; run it as an operator would.
HP_NICE="nice -n -10"

# A build-id of its own: an --all sweep here must never touch another test's process.
SALT=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
test_expect_success 'build the target and levels 1 and 2 (level 2 replaces two functions)' '
	hp_compile levels "$TARGET_SRC/levels.c" -pthread -Wl,--build-id=0x$SALT &&
	for n in 1 2; do hp_make_patch levels $n "$HP_TMP/l$n.hpatch" --id kill-l$n --level $n || exit 1; done
'
hp_start_target "$HP_TMP/levels" "$THREADS"; t=$HP_T
pid=$(hp_pid "$t")

# A sleep without a process per call.
usleep_() { read -r -t "$(printf '0.%06d' "$1")" <> <(:) || :; }
now_us() { echo $(($(date +%s%N) / 1000)); }

# Run the operation of kind $1 (in the background); its pid in $hp.
start_op() {
	case $1 in
	apply | replace) $HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >"$HP_TMP/op.out" 2>&1 & ;;
	revert) $HP_NICE "$HOTPATCH" revert -p $pid kill-l2 >"$HP_TMP/op.out" 2>&1 & ;;
	sweep-apply) $HP_NICE "$HOTPATCH" apply --all --allow-unsigned "$HP_TMP/l2.hpatch" >"$HP_TMP/op.out" 2>&1 & ;;
	sweep-revert) $HP_NICE "$HOTPATCH" revert --all kill-l2 >"$HP_TMP/op.out" 2>&1 & ;;
	esac
	hp=$!
}

# Bring the target to the state operation $1 starts from (no patch, level 1, level 2).
prepare() {
	local want
	case $1 in
	apply | sweep-apply) want="" ;;
	replace) want=kill-l1 ;;
	revert | sweep-revert) want=kill-l2 ;;
	esac
	$HP_NICE "$HOTPATCH" status -p $pid >"$HP_TMP/st" 2>&1 || return 1
	have=$(sed -n 's/^  \(kill-l[12]\)  level [0-9]*  active$/\1/p' "$HP_TMP/st")
	[ "$have" = "$want" ] && return 0
	[ -n "$have" ] && { $HP_NICE "$HOTPATCH" revert -p $pid "$have" >/dev/null 2>&1 || return 1; }
	[ -z "$want" ] && return 0
	$HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/${want#kill-}.hpatch" >/dev/null 2>&1
}

# Every thread of the target: alive, not stopped, not traced (lib.sh).
check_threads() { hp_threads_fine $pid; }

# What status says: clean (no patch or every patch active and consistent), else repair it with revert.
check_state() {
	local id
	$HP_NICE "$HOTPATCH" status -p $pid >"$HP_TMP/st" 2>&1 || { cat "$HP_TMP/st"; return 1; }
	grep -q "^  kill-l[12]  level" "$HP_TMP/st" || return 0
	if ! grep "^  kill-l[12]  level" "$HP_TMP/st" | grep -qv "  active$"; then
		return 0
	fi
	interrupted=$((interrupted + 1))
	# Interrupted while committing or reverting: revert finishes it.  Prepared (killed before the
	# commit): the patch's next apply removes the leftover and applies it.
	for id in $(sed -n 's/^  \(kill-l[12]\)  level [0-9]*  \(committing\|reverting\).*/\1/p' "$HP_TMP/st"); do
		$HP_NICE "$HOTPATCH" revert -p $pid "$id" >"$HP_TMP/rv" 2>&1 || { cat "$HP_TMP/st" "$HP_TMP/rv"; return 1; }
	done
	for id in $(sed -n 's/^  \(kill-l[12]\)  level [0-9]*  prepared.*/\1/p' "$HP_TMP/st"); do
		grep -q "^  $id  level [0-9]*  prepared  INCONSISTENT" "$HP_TMP/st" && { echo "a prepared record that code jumps to"; cat "$HP_TMP/st"; return 1; }
		$HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/${id#kill-}.hpatch" >"$HP_TMP/rv" 2>&1 ||
			{ cat "$HP_TMP/st" "$HP_TMP/rv"; return 1; }
	done
	$HP_NICE "$HOTPATCH" status -p $pid >"$HP_TMP/st" 2>&1 || return 1
	if grep "^  kill-l[12]  level" "$HP_TMP/st" | grep -qv "  active$"; then
		echo "revert did not repair:"; cat "$HP_TMP/st"
		return 1
	fi
}

# The test hook HP_TEST_KILL_AT=POINT:N (docs/state-record.md) kills the patcher at an exact step.
test_expect_success 'killed between the two entry writes of a commit: status tells, revert repairs' '
	prepare apply &&
	HP_TEST_KILL_AT=entry-write:1 $HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >/dev/null 2>&1
	[ $? = 137 ] && check_threads &&
	"$HOTPATCH" status -p $pid >"$HP_TMP/st" && grep -q "^  kill-l2  level 2  committing  INCONSISTENT" "$HP_TMP/st" &&
	interrupted=0 && check_state && [ $interrupted = 1 ] &&
	hp_expect_eq "$(hp_ask $t q)" "0 0 0" "markers after the repair" &&
	prepare revert &&
	HP_TEST_KILL_AT=entry-write:1 $HP_NICE "$HOTPATCH" revert -p $pid kill-l2 >/dev/null 2>&1
	[ $? = 137 ] && check_threads &&
	"$HOTPATCH" status -p $pid >"$HP_TMP/st" && grep -q "^  kill-l2  level 2  reverting  INCONSISTENT" "$HP_TMP/st" &&
	interrupted=0 && check_state && [ $interrupted = 1 ] &&
	hp_expect_eq "$(hp_ask $t q)" "0 0 0" "markers after the repair"
'
# The map helper does the mapping in one run; HP_TEST_NO_HELPER takes the call-by-call path
# (memfd_create, mmap, mmap, close: inject:1-4), still used in processes with seccomp filters.
test_expect_success 'killed while a borrowed thread is stopped at each injected system call' '
	for n in 1 2 3 4 5 6; do
		prepare apply || exit 1
		HP_TEST_NO_HELPER=1 HP_TEST_KILL_AT=inject:$n $HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >/dev/null 2>&1
		rc=$?
		[ $n -gt 4 ] || hp_expect_eq "$rc" 137 "patcher killed at inject:$n" || exit 1
		check_threads || exit 1
		check_state || exit 1
		say "inject:$n: patcher exit $rc, target fine"
	done
'
test_expect_success 'killed at an injected system call: the next apply removes what was left (descriptor, unwritten region)' '
	for n in 1 2 3 4 5 6; do
		prepare apply || exit 1
		HP_TEST_NO_HELPER=1 HP_TEST_KILL_AT=inject:$n $HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >/dev/null 2>&1
		check_threads || exit 1
		fds=$(ls -l /proc/$pid/fd | grep -c "memfd:hotpatch:") || :
		maps=$(grep -c "memfd:hotpatch:" /proc/$pid/maps) || :
		$HP_NICE "$HOTPATCH" revert -p $pid kill-l2 >/dev/null 2>&1
		$HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >"$HP_TMP/ap" 2>&1 ||
			{ echo "inject:$n: the next apply failed"; cat "$HP_TMP/ap"; exit 1; }
		say "inject:$n: left $fds descriptor(s) and $maps mapping(s) of patch memory"
		hp_expect_eq "$(ls -l /proc/$pid/fd | grep -c "memfd:hotpatch:")" 0 "descriptors left after the next apply" || exit 1
		hp_expect_eq "$(awk "\$3 == \"00000000\" && \$6 ~ /memfd:hotpatch:/" /proc/$pid/maps | wc -l)" 1 \
			"patch regions after the next apply" || exit 1
	done
'
test_expect_success 'killed at each step of the map helper: the thread goes home, the next apply cleans up' '
	for n in 1 2 3; do
		prepare apply || exit 1
		HP_TEST_KILL_AT=helper:$n $HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >/dev/null 2>&1
		rc=$?
		hp_expect_eq "$rc" 137 "patcher killed at helper:$n (the map helper was used)" || exit 1
		check_threads || exit 1
		fds=$(ls -l /proc/$pid/fd | grep -c "memfd:hotpatch:") || :
		maps=$(grep -c "memfd:hotpatch:" /proc/$pid/maps) || :
		check_state || exit 1
		$HP_NICE "$HOTPATCH" revert -p $pid kill-l2 >/dev/null 2>&1
		$HP_NICE "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/l2.hpatch" >"$HP_TMP/ap" 2>&1 ||
			{ echo "helper:$n: the next apply failed"; cat "$HP_TMP/ap"; exit 1; }
		say "helper:$n: left $fds descriptor(s) and $maps mapping(s) of patch memory"
		hp_expect_eq "$fds" 0 "descriptors left by a patcher killed in the helper (it closes its own)" || exit 1
		hp_expect_eq "$(awk "\$3 == \"00000000\" && \$6 ~ /memfd:hotpatch:/" /proc/$pid/maps | wc -l)" 1 \
			"patch regions after the next apply" || exit 1
		hp_expect_eq "$(hp_ask $t q)" "1 2 0" "level 2 markers after the next apply" || exit 1
	done
'

kinds="apply replace revert sweep-apply sweep-revert"
declare -A len
test_expect_success 'measure each operation' '
	for k in $kinds; do
		prepare $k || exit 1
		# A sweep also meets processes it cannot read or that run other builds (exit 5): it must
		# have done ours.
		s=$(now_us); start_op $k; wait $hp
		rc=$?
		case $k in sweep-*) grep -q "^pid $pid (levels): \(patched\|reverted\)" "$HP_TMP/op.out" && rc=0 ;; esac
		[ $rc = 0 ] || { echo "$k failed:"; cat "$HP_TMP/op.out"; exit 1; }
		len[$k]=$(($(now_us) - s))
		echo "$k ${len[$k]}" >>"$HP_TMP/len"
	done
	cat "$HP_TMP/len" | while read -r k l; do say "$k takes $((l / 1000)) ms"; done
'
while read -r k l; do len[$k]=$l; done <"$HP_TMP/len" 2>/dev/null

trials=0 deaths=0 stopped=0 interrupted=0 unrepaired=0
test_expect_success "SIGKILL of the patcher at random instants" '
	end=$(($(date +%s) + SECONDS_BUDGET))
	set -- $kinds
	while :; do
		if [ "$TRIALS" -gt 0 ]; then [ $trials -ge "$TRIALS" ] && break
		else [ "$(date +%s)" -ge $end ] && break; fi
		k=$(echo $kinds | cut -d" " -f$((trials % 5 + 1)))
		prepare $k || { echo "trial $trials: cannot prepare $k"; cat "$HP_TMP/st"; unrepaired=$((unrepaired + 1)); break; }
		d=$((RANDOM * 32768 + RANDOM)); d=$((d % (${len[$k]:-20000} + 1)))
		start_op $k; usleep_ $d; kill -9 $hp 2>/dev/null; wait $hp 2>/dev/null
		trials=$((trials + 1))
		check_threads >"$HP_TMP/ct"; rc=$?
		if [ $rc = 2 ]; then deaths=$((deaths + 1)); say "trial $trials ($k, kill after $d us): $(cat "$HP_TMP/ct")"; dmesg 2>/dev/null | tail -3 | sed "s/^/#   /"; break; fi
		if [ $rc = 1 ]; then stopped=$((stopped + 1)); say "trial $trials ($k, $d us): $(cat "$HP_TMP/ct")"; break; fi
		check_state >"$HP_TMP/cs" 2>&1 || { unrepaired=$((unrepaired + 1)); say "trial $trials ($k, $d us): state"; sed "s/^/#   /" "$HP_TMP/cs"; break; }
	done
	echo "$trials $deaths $stopped $interrupted $unrepaired" >"$HP_TMP/result"
	say "trials=$trials deaths=$deaths stopped-or-traced=$stopped interrupted-and-repaired=$interrupted unrepaired=$unrepaired"
	[ $deaths = 0 ] && [ $stopped = 0 ] && [ $unrepaired = 0 ] && [ $trials -gt 0 ]
'
test_expect_success 'the target still answers, and every result it computed was a level'"'"'s' '
	line=$(hp_ask $t s) && say "$line" &&
	case $line in *" bad=0") ;; *) exit 1 ;; esac
'
test_done
