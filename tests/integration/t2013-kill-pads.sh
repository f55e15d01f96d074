#!/bin/bash
# SPDX-License-Identifier: MIT
# A patcher killed while frames are redirected to landing pads (pads.h) never
# kills, stops or leaves traced the process: each redirected frame returns
# through its pad to where it would have returned, and the next apply or
# revert finds the pads left behind and works.  Target: four threads that
# sleep one second inside nap() in a loop (t2012).  First at the exact step
# (HP_TEST_KILL_AT=pads:1: frames redirected, their threads running towards
# the pads), then at random instants of apply and revert.
#
# Cost: ~15 s; HP_PADS_KILL_TRIALS=N (default 8) sets the number of random trials
# (each ~1 s).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

TRIALS=${HP_PADS_KILL_TRIALS:-8}

test_expect_success 'build the target and its patch' '
	hp_compile sleeper "$TARGET_SRC/sleeper.c" -pthread &&
	hp_make_patch sleeper 1 "$HP_TMP/nap.hpatch" --id nap-kill
'
NAP_MS=${HP_NAP_MS:-400}
hp_start_target "$HP_TMP/sleeper" 4 $NAP_MS; t=$HP_T
pid=$(hp_pid "$t")

# Every thread alive, none stopped or traced (lib.sh).
threads_fine() { hp_threads_fine $pid; }

# The threads keep calling nap(): at least $1 more calls return within 3 s.
naps_return() {
	local before now i
	before=$(hp_ask $t n) || return 1
	for ((i = 0; i < 30; i++)); do
		sleep 0.1
		now=$(hp_ask $t n) || return 1
		[ $((now - before)) -ge "$1" ] && return 0
	done
	echo "only $((now - before)) calls of nap returned in 3 s" >&2
	return 1
}

# Every thread's last nap() returned $1 (up to 3 s).
values_are() {
	local i line
	for ((i = 0; i < 30; i++)); do
		line=$(hp_ask $t q) || return 1
		[ "$line" = "$1 $1 $1 $1" ] && return 0
		sleep 0.1
	done
	echo "values '$line', expected all $1" >&2
	return 1
}

# Repair what a killed operation left: an interrupted commit or revert is reverted; a prepared
# record stays for the next apply to remove.  Echoes the state: applied or clean.
repair() {
	"$HOTPATCH" status -p $pid >"$HP_TMP/st" 2>&1 || { cat "$HP_TMP/st" >&2; return 1; }
	if grep -q "^  nap-kill  level 1  \(committing\|reverting\)" "$HP_TMP/st"; then
		"$HOTPATCH" revert -p $pid nap-kill >"$HP_TMP/rv" 2>&1 || { cat "$HP_TMP/st" "$HP_TMP/rv" >&2; return 1; }
		echo clean
	elif grep -q "^  nap-kill  level 1  active$" "$HP_TMP/st"; then
		echo applied
	else
		echo clean
	fi
}

test_expect_success 'killed with frames redirected during apply: the target lives, the next apply works' '
	values_are 1 &&
	HP_TEST_KILL_AT=pads:1 "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/nap.hpatch" >/dev/null 2>&1
	rc=$? && hp_expect_eq $rc 137 "patcher exit" &&
	threads_fine && naps_return 4 && values_are 1 &&
	grep -q "r-xs .*/memfd:hotpatch-pads" /proc/$pid/maps &&
	hp_expect_eq "$(repair)" clean &&
	"$HOTPATCH" apply -p $pid --allow-unsigned --timeout 5 "$HP_TMP/nap.hpatch" >/dev/null &&
	values_are 2 && threads_fine
'
test_expect_success 'killed with frames redirected during revert: the target lives, the next revert works' '
	HP_TEST_KILL_AT=pads:1 "$HOTPATCH" revert -p $pid nap-kill >/dev/null 2>&1
	rc=$? && hp_expect_eq $rc 137 "patcher exit" &&
	threads_fine && naps_return 4 && values_are 2 &&
	"$HOTPATCH" revert -p $pid --timeout 5 nap-kill >/dev/null &&
	values_are 1 && threads_fine
'
test_expect_success "killed at random instants of apply and revert ($TRIALS trials)" '
	deaths=0 stuck=0
	for ((n = 0; n < TRIALS; n++)); do
		state=$(repair) || exit 1
		if [ $state = applied ]; then
			"$HOTPATCH" revert -p $pid nap-kill >"$HP_TMP/op.out" 2>&1 &
		else
			"$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/nap.hpatch" >"$HP_TMP/op.out" 2>&1 &
		fi
		op=$!
		d=$((RANDOM % (NAP_MS * 13 / 10)))
		sleep "$(printf "%d.%03d" $((d / 1000)) $((d % 1000)))"
		kill -9 $op 2>/dev/null; wait $op 2>/dev/null
		threads_fine >"$HP_TMP/tf"; rc=$?
		[ $rc = 2 ] && { deaths=$((deaths + 1)); say "trial $n ($state, kill after $d ms): $(cat "$HP_TMP/tf")"; break; }
		[ $rc = 1 ] && { stuck=$((stuck + 1)); say "trial $n ($state, $d ms): $(cat "$HP_TMP/tf")"; break; }
		naps_return 4 || { stuck=$((stuck + 1)); break; }
	done
	say "trials=$n deaths=$deaths stopped-or-traced=$stuck"
	[ $deaths = 0 ] && [ $stuck = 0 ] &&
	state=$(repair) && { [ $state = clean ] || "$HOTPATCH" revert -p $pid nap-kill >/dev/null; } &&
	values_are 1 &&
	"$HOTPATCH" apply -p $pid --allow-unsigned --timeout 5 "$HP_TMP/nap.hpatch" >/dev/null && values_are 2 &&
	"$HOTPATCH" revert -p $pid --timeout 5 nap-kill >/dev/null && values_are 1
'
test_done
