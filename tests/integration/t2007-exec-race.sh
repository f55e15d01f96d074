#!/bin/bash
# SPDX-License-Identifier: MIT
# A process that executes another program while it is being patched: the
# apply (and an apply --all sweep) fails cleanly, says the process executed
# another program (or no longer runs the target), never hangs -- an exec
# waits for the threads we hold, and attaching to one more thread waits for
# the exec -- and never runs anything in the new program: it starts and
# ends normally.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build the target and its patch' '
	hp_compile race "$TARGET_SRC/exec-race.c" -pthread &&
	hp_make_patch race 1 "$HP_TMP/race.hpatch" --id race &&
	printf "#!/bin/sh\nsleep 0.3\nexit 7\n" >"$HP_TMP/after" && chmod +x "$HP_TMP/after"
'

# One round: start a process that executes $HP_TMP/after after $1 us, and
# apply (mode $2: pid or all) until it has; check every outcome.
race_round() {
	local delay=$1 mode=$2 p rc k
	"$HP_TMP/race" "$delay" "$HP_TMP/after" & p=$!
	for k in 1 2 3 4 5 6; do
		if [ "$mode" = pid ]; then
			timeout 20 "$HOTPATCH" apply -p $p --allow-unsigned "$HP_TMP/race.hpatch" >"$HP_TMP/out" 2>"$HP_TMP/err"
		else
			timeout 20 "$HOTPATCH" apply --all --comm race --allow-unsigned "$HP_TMP/race.hpatch" >"$HP_TMP/out" 2>"$HP_TMP/err"
		fi
		rc=$?
		[ $rc = 124 ] && { echo "round $delay/$mode: the apply hung"; kill -9 $p; return 1; }
		if [ "$mode" = pid ]; then
			case $rc in
			0) ;;
			5|13) grep -qi -e "executed another program" -e "does not map" -e "exited during" -e "no such process" \
				"$HP_TMP/err" || { echo "round $delay/$mode: unexpected message"; cat "$HP_TMP/err"; return 1; } ;;
			*) echo "round $delay/$mode: exit $rc"; cat "$HP_TMP/err"; return 1 ;;
			esac
		else
			case $rc in
			0|3|5) ;;
			*) echo "round $delay/$mode: exit $rc"; cat "$HP_TMP/out" "$HP_TMP/err"; return 1 ;;
			esac
		fi
		"$HOTPATCH" revert -p $p race >/dev/null 2>&1
	done
	wait $p
	rc=$?
	[ $rc = 7 ] || { echo "round $delay/$mode: the new program ended with status $rc, not 7"; return 1; }
}

test_expect_success 'apply -p while the process executes another program: 40 rounds' '
	for i in $(seq 40); do
		race_round $((RANDOM % 20000 + 1000)) pid || exit 1
	done
'
test_expect_success 'apply --all while the process executes another program: 15 rounds' '
	for i in $(seq 15); do
		race_round $((RANDOM % 20000 + 1000)) all || exit 1
	done
'
test_done
