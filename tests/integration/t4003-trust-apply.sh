#!/bin/bash
# SPDX-License-Identifier: MIT
# apply verifies before anything touches the process: every refusal has its
# own exit code and message, and the process is left exactly as it was
# (memory maps and code bytes compared before and after).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

trust=$HP_TMP/trusted
test_expect_success 'build a target, two patches and a trusted key' '
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_compile other "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" -fno-pie -no-pie &&
	hp_make_patch calc 1 "$HP_TMP/fix.hpatch" --id fix &&
	hp_make_patch other 1 "$HP_TMP/other.hpatch" --id other &&
	mkdir -p "$trust" &&
	"$HOTPATCH" keygen -o "$HP_TMP/good" >/dev/null && cp "$HP_TMP/good.pub" "$trust/" &&
	"$HOTPATCH" keygen -o "$HP_TMP/stranger" >/dev/null &&
	cp "$HP_TMP/fix.hpatch" "$HP_TMP/signed.hpatch" &&
	"$HOTPATCH" sign --key "$HP_TMP/good.key" "$HP_TMP/signed.hpatch" >/dev/null &&
	cp "$HP_TMP/fix.hpatch" "$HP_TMP/stranger.hpatch" &&
	"$HOTPATCH" sign --key "$HP_TMP/stranger.key" "$HP_TMP/stranger.hpatch" >/dev/null &&
	cp "$HP_TMP/other.hpatch" "$HP_TMP/other-signed.hpatch" &&
	"$HOTPATCH" sign --key "$HP_TMP/good.key" "$HP_TMP/other-signed.hpatch" >/dev/null
'
hp_start_target "$HP_TMP/calc"; t=$HP_T
pid=$(hp_pid "$t")
snapshot() { hp_maps $pid; "$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/calc" compute; "$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/calc" greet; }
before=$(snapshot)

# refuse CODE MESSAGE-PATTERN APPLY-ARGS...
refuse() {
	local code=$1 pat=$2
	shift 2
	hp_run_expect "$code" apply -p $pid --trust-dir "$trust" "$@" &&
	{ grep -q -- "$pat" "$HP_TMP/last.err" || { cat "$HP_TMP/last.err"; return 1; }; } &&
	hp_expect_eq "$(snapshot)" "$before" "process state"
}

test_expect_success 'unsigned: exit 9' 'refuse 9 "is not signed" "$HP_TMP/fix.hpatch"'
test_expect_success 'signed by a key not in the trust store: exit 10' 'refuse 10 "is not trusted" "$HP_TMP/stranger.hpatch"'
test_expect_success 'a modified byte anywhere: exit 11' '
	size=$(stat -c %s "$HP_TMP/signed.hpatch") &&
	for off in 200 $((size / 2)) $((size - 300)); do
		cp "$HP_TMP/signed.hpatch" "$HP_TMP/mod.hpatch" &&
		printf "\\x5a" | dd of="$HP_TMP/mod.hpatch" bs=1 seek=$off conv=notrunc status=none &&
		{ refuse 11 "bad signature" "$HP_TMP/mod.hpatch" || refuse 7 "" "$HP_TMP/mod.hpatch"; } || exit 1
	done
'
test_expect_success 'a patch for another build of the target: exit 5' 'refuse 5 "does not map other\|restart required" "$HP_TMP/other-signed.hpatch"'
test_expect_success 'a patch for another architecture: exit 8' '
	cp "$HP_TMP/signed.hpatch" "$HP_TMP/arm.hpatch" &&
	printf "\\xb7" | dd of="$HP_TMP/arm.hpatch" bs=1 seek=18 conv=notrunc status=none &&
	refuse 8 "x86_64" "$HP_TMP/arm.hpatch"
'
test_expect_success 'function bytes changed by another tool: exit 6, nothing written' '
	addr=$("$HP_TEST_TOOL" funcaddr $pid "$HP_TMP/calc" compute) &&
	orig=$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/calc" compute) &&
	last=$(( ${#orig} / 2 - 1 )) && lastbyte=${orig:$((last * 2)):2} &&
	"$HP_TEST_TOOL" poke $pid $((addr + last)) cc &&
	tampered=$(snapshot) &&
	hp_run_expect 6 apply -p $pid --trust-dir "$trust" "$HP_TMP/signed.hpatch" &&
	grep -q "does not match the patch" "$HP_TMP/last.err" &&
	hp_expect_eq "$(snapshot)" "$tampered" "process state" &&
	"$HP_TEST_TOOL" poke $pid $((addr + last)) $lastbyte &&
	hp_expect_eq "$(snapshot)" "$before" "restored"
'
test_expect_success 'the good signature applies; status names the signer' '
	hp_run_expect 0 apply -p $pid --trust-dir "$trust" "$HP_TMP/signed.hpatch" &&
	key=$("$HOTPATCH" verify --trust-dir "$trust" "$HP_TMP/signed.hpatch" --json | sed -n "s/.*\"key_id\": \"\\([0-9a-f]*\\)\".*/\\1/p") &&
	"$HOTPATCH" status -p $pid | grep -q "signer   ${key:-x}" &&
	hp_expect_eq "$(hp_ask $t "c 5")" 1018 patched &&
	hp_run_expect 0 revert -p $pid fix
'
test_expect_success 'HOTPATCH_TRUST_DIR is honoured' '
	HOTPATCH_TRUST_DIR=$trust "$HOTPATCH" apply -p $pid "$HP_TMP/signed.hpatch" >/dev/null &&
	hp_run_expect 0 revert -p $pid fix
'
test_done
