#!/bin/bash
# SPDX-License-Identifier: MIT
# A stripped target has no symbol to check a manifest address against
# (issue 10): the engine must still write a jump only at a function entry,
# which it learns from the build's call frame information (.eh_frame_hdr).
# A patch is rewritten to name an address inside greet() -- with a size and
# hash that match the bytes there, so only the entry check can stop it.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq objcopy strip xxd

test_expect_success 'build the target, strip a copy, build a patch and a mid-function variant' '
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/fix1.hpatch" --id calc-fix1 &&
	cp "$HP_TMP/calc" "$HP_TMP/calc-stripped" && strip --strip-all "$HP_TMP/calc-stripped" &&
	! readelf -S "$HP_TMP/calc-stripped" | grep -q "\.symtab" &&
	readelf -lW "$HP_TMP/calc-stripped" | grep -q GNU_EH_FRAME &&
	objcopy --dump-section .hotpatch.manifest="$HP_TMP/m.json" "$HP_TMP/fix1.hpatch" "$HP_TMP/scratch.o" &&
	addr=$(jq -r ".functions[] | select(.name == \"greet\") | .addr" "$HP_TMP/m.json") &&
	size=$(jq -r ".functions[] | select(.name == \"greet\") | .size" "$HP_TMP/m.json") &&
	bytes=$("$HP_TEST_TOOL" filebytes "$HP_TMP/calc" greet) &&
	mid=$(printf "0x%x" $((addr + 8))) &&
	hash=$(printf "%s" "${bytes:16:$(( (size - 8) * 2 ))}" | xxd -r -p | sha256sum | cut -d" " -f1) &&
	jq -j --arg a "$mid" --arg h "$hash" --argjson s $((size - 8)) \
		".functions |= map(if .name == \"greet\" then .addr = \$a | .size = \$s | .sha256 = \$h else . end)" \
		"$HP_TMP/m.json" >"$HP_TMP/mid.json" &&
	objcopy --update-section .hotpatch.manifest="$HP_TMP/mid.json" "$HP_TMP/fix1.hpatch" "$HP_TMP/mid.hpatch" &&
	"$HOTPATCH" info --json "$HP_TMP/mid.hpatch" | jq -e ".manifest.functions[] | select(.name == \"greet\") | .addr == \"$mid\"" &&
	echo $mid >"$HP_TMP/mid.addr"
'
mid=$(cat "$HP_TMP/mid.addr" 2>/dev/null)
hp_start_target "$HP_TMP/calc-stripped"; t=$HP_T; pid=$(hp_pid $t)
greet_before=$("$HP_TEST_TOOL" filebytes "$HP_TMP/calc" greet)
test_expect_success 'stripped: the real patch applies (entries from the FDE table) and reverts' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $t "c 5")" 1018 compute &&
	"$HOTPATCH" status -p $pid | grep -q "calc-fix1  level 1  active$" &&
	hp_run_expect 0 revert -p $pid calc-fix1 &&
	hp_expect_eq "$(hp_ask $t "c 5")" 18 compute
'
test_expect_success 'stripped: a manifest address inside greet is refused and nothing is written' '
	! "$HOTPATCH" apply -p $pid --allow-unsigned "$HP_TMP/mid.hpatch" 2>"$HP_TMP/err" &&
	cat "$HP_TMP/err" &&
	grep -q "is not the start of a function in .*calc-stripped" "$HP_TMP/err" &&
	! grep -q memfd:hotpatch: /proc/$pid/maps &&
	hp_expect_eq "$(hp_ask $t "g bob")" "hello, bob" greet &&
	hp_expect_eq "$(hp_ask $t "c 5")" 18 compute
'
hp_start_target "$HP_TMP/calc"; t2=$HP_T; pid2=$(hp_pid $t2)
test_expect_success 'unstripped: the same patch is refused by the symbol table' '
	! "$HOTPATCH" apply -p $pid2 --allow-unsigned "$HP_TMP/mid.hpatch" 2>"$HP_TMP/err" &&
	cat "$HP_TMP/err" &&
	grep -q "has no function greet at $mid" "$HP_TMP/err" &&
	hp_expect_eq "$(hp_ask $t2 "g bob")" "hello, bob" greet
'
test_done
