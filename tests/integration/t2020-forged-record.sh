#!/bin/bash
# SPDX-License-Identifier: MIT
# A process that lies (issue 10): an unprivileged process maps its own
# "/memfd:hotpatch:fake-1" with a made-up state record.  Root's status must
# call it forged (never patched), root's revert must refuse it and write
# nothing, and a real patch's record must still read as authentic.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc setpriv

export HOTPATCH_STATE_DIR=$HP_TMP/state
chmod 755 "$HP_TMP"	# the forger runs as nobody

test_expect_success 'build the forger, a calc target and a real patch for each' '
	hp_compile forger "$TARGET_SRC/forger.c" &&
	hp_make_patch forger 1 "$HP_TMP/forger-fix1.hpatch" --id forger-fix1 &&
	chmod 755 "$HP_TMP/forger" &&
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/calc-fix1.hpatch" --id calc-fix1
'
hp_start_target "$HP_TMP/calc"; calc=$(hp_pid "$HP_T")
test_expect_success 'real patch: status says active, the record authentic' '
	hp_run_expect 0 apply -p $calc --allow-unsigned "$HP_TMP/calc-fix1.hpatch" &&
	hp_expect_eq "$(stat -c %a "$HOTPATCH_STATE_DIR/record.key")" 600 "key mode" &&
	"$HOTPATCH" status -p $calc >"$HP_TMP/st" &&
	grep -q "calc-fix1  level 1  active$" "$HP_TMP/st" &&
	! grep -q "record " "$HP_TMP/st" &&
	hp_expect_eq "$("$HOTPATCH" status --json -p $calc | jq -r ".patches[0].record")" authentic record
'

# start_forger MODE: the forger as nobody; sets f (id), fpid, before (victim bytes).
start_forger() {
	hp_start_target setpriv --reuid=nobody --regid=nogroup --clear-groups "$HP_TMP/forger" "$1" || return 1
	f=$HP_T
	fpid=$(hp_pid "$f")
	# the pid file holds setpriv's pid; it execs the forger, so it is the same process
	before=$("$HP_TEST_TOOL" funcbytes "$fpid" "$HP_TMP/forger" victim)
}

for mode in seal mid; do
	start_forger $mode
	case $mode in
	seal) why="its seal does not verify" ;;
	mid) why="has no function victim\\\\x1b]0;pwned\\\\x07 at" ;;
	esac
	test_expect_success "$mode: the forger runs as nobody" '
		hp_expect_eq "$(stat -c %U /proc/$fpid)" nobody owner &&
		grep -q "memfd:hotpatch:fake-1" /proc/$fpid/maps
	'
	test_expect_success "$mode: status says forged, with the cause, not active or patched" '
		"$HOTPATCH" status -p $fpid >"$HP_TMP/st" &&
		cat "$HP_TMP/st" &&
		grep -q "fake-1  level 1  forged$" "$HP_TMP/st" &&
		grep -q "record   forged: .*$why" "$HP_TMP/st" &&
		! grep -q -e " active" -e " patched$" -e "$(printf "\033")" "$HP_TMP/st" &&
		"$HOTPATCH" status --json -p $fpid >"$HP_TMP/st.json" &&
		hp_expect_eq "$(jq -r ".patches[0].record" "$HP_TMP/st.json")" forged json
	'
	test_expect_success "$mode: revert refuses, naming the cause, and writes nothing" '
		! "$HOTPATCH" revert -p $fpid fake-1 2>"$HP_TMP/err" &&
		cat "$HP_TMP/err" &&
		grep -q "refusing to revert fake-1: its state record is forged (.*$why" "$HP_TMP/err" &&
		hp_expect_eq "$("$HP_TEST_TOOL" funcbytes "$fpid" "$HP_TMP/forger" victim)" "$before" "victim bytes" &&
		grep -q "memfd:hotpatch:fake-1" /proc/$fpid/maps &&
		kill -0 $fpid
	'
	test_expect_success "$mode: status --all and assess never count it as applied" '
		# exit 17: a process of the host that even root cannot read (pid 1 in some containers)
		{ "$HOTPATCH" status --all >"$HP_TMP/all"; rc=$?; [ $rc = 0 ] || [ $rc = 17 ]; } &&
		cat "$HP_TMP/all" &&
		grep -q "pid $fpid (forger): fake-1 level 1 forged" "$HP_TMP/all" &&
		! grep "pid $fpid " "$HP_TMP/all" | grep -q -v " forged (" &&
		{ "$HOTPATCH" assess -p $fpid --json >"$HP_TMP/as.json"; true; } &&	# its exit code is the verdict
		jq -c ".. | objects | select(.name? == \"applied\")" "$HP_TMP/as.json" >"$HP_TMP/applied" &&
		cat "$HP_TMP/applied" &&
		grep -q "\"value\":\"fake-1 forged\"" "$HP_TMP/applied" &&
		grep -q "0 hotpatches applied" "$HP_TMP/applied"
	'
	if [ $mode = seal ]; then
		test_expect_success "$mode: status by the unprivileged owner says unverified, never authentic" '
			setpriv --reuid=nobody --regid=nogroup --clear-groups "$HOTPATCH" status -p $fpid >"$HP_TMP/st" &&
			grep -q "fake-1  level 1  active (unverified)$" "$HP_TMP/st" &&
			grep -q "record   unverified: it cannot be checked" "$HP_TMP/st"
		'
		test_expect_success "$mode: apply is not misled by a fake active level 1 of the same build" '
			hp_run_expect 0 apply -p $fpid --allow-unsigned "$HP_TMP/forger-fix1.hpatch" &&
			hp_expect_eq "$(hp_ask $f "o 5")" 105 "patched other()" &&
			"$HOTPATCH" status -p $fpid >"$HP_TMP/st" &&
			grep -q "forger-fix1  level 1  active$" "$HP_TMP/st" &&
			grep -q "fake-1  level 1  forged$" "$HP_TMP/st" &&
			hp_run_expect 0 revert -p $fpid forger-fix1 &&
			hp_expect_eq "$(hp_ask $f "o 5")" 6 "original other()" &&
			grep -q "memfd:hotpatch:fake-1" /proc/$fpid/maps &&
			hp_expect_eq "$("$HP_TEST_TOOL" funcbytes "$fpid" "$HP_TMP/forger" victim)" "$before" "victim bytes"
		'
	fi
	kill -9 $fpid
done

start_forger v1
test_expect_success 'unsealed record with plausible sites: unverified, and revert restores the file bytes' '
	"$HOTPATCH" status -p $fpid >"$HP_TMP/st" &&
	grep -q "fake-1  level 1  active (unverified)" "$HP_TMP/st" &&
	grep -q "record   unverified: it carries no seal" "$HP_TMP/st" &&
	{ "$HOTPATCH" assess -p $fpid --json >"$HP_TMP/as.json"; true; } &&
	jq -c ".. | objects | select(.name? == \"applied\")" "$HP_TMP/as.json" >"$HP_TMP/applied" &&
	grep -q "\"value\":\"fake-1 unverified\"" "$HP_TMP/applied" &&
	grep -q "0 hotpatches applied" "$HP_TMP/applied" &&
	hp_run_expect 0 revert -p $fpid fake-1 &&
	hp_expect_eq "$("$HP_TEST_TOOL" funcbytes "$fpid" "$HP_TMP/forger" victim)" \
		"$("$HP_TEST_TOOL" filebytes "$HP_TMP/forger" victim)" "victim bytes are the file'"'"'s" &&
	! grep -q "memfd:hotpatch:fake-1" /proc/$fpid/maps
'
test_expect_success 'the real patch still reverts' '
	hp_run_expect 0 revert -p $calc calc-fix1
'
test_done
