#!/bin/bash
# SPDX-License-Identifier: MIT
# Patch executables while they run: PIE and non-PIE, body change calling an
# unchanged static function and libc, a new function, static state kept,
# revert restores the exact original bytes.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

for variant in pie nopie; do
	if [ $variant = pie ]; then flags="-fPIE -pie"; else flags="-fno-pie -no-pie"; fi
	name=calc-$variant

	test_expect_success "$variant: build the target and two patches" '
		hp_compile $name "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" $flags &&
		hp_make_patch $name 1 "$HP_TMP/$name-fix1.hpatch" --id $name-fix1 &&
		hp_make_patch $name 2 "$HP_TMP/$name-fix2.hpatch" --id $name-fix2 &&
		"$HOTPATCH" info "$HP_TMP/$name-fix1.hpatch" | grep -q "compute" &&
		"$HOTPATCH" info "$HP_TMP/$name-fix1.hpatch" | grep -q "greet"
	'
	hp_start_target "$HP_TMP/$name"; t=$HP_T
	pid=$(hp_pid "$t")
	orig_compute=$("$HP_TEST_TOOL" funcbytes "$pid" "$HP_TMP/$name" compute)
	orig_greet=$("$HP_TEST_TOOL" funcbytes "$pid" "$HP_TMP/$name" greet)

	test_expect_success "$variant: original behaviour" '
		hp_expect_eq "$(hp_ask $t "c 5")" 18 compute &&
		hp_expect_eq "$(hp_ask $t "g bob")" "hello, bob" greet &&
		hp_expect_eq "$orig_compute" "$("$HP_TEST_TOOL" filebytes "$HP_TMP/$name" compute)" "bytes in memory"
	'
	test_expect_success "$variant: apply: the patched code calls a static helper and libc" '
		hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/$name-fix1.hpatch" &&
		hp_expect_eq "$(hp_ask $t "c 5")" 1018 compute &&
		hp_expect_eq "$(hp_ask $t "g bob")" "hello, bob (3 letters, patched)" greet &&
		hp_expect_eq "$(hp_ask $t f)" 7 "flag, a 3-byte function redirected over its padding" &&
		hp_expect_eq "$(hp_ask $t n)" 2 "static counter: one call before the patch, one after"
	'
	test_expect_success "$variant: status reads the patch from the process" '
		"$HOTPATCH" status -p $pid >"$HP_TMP/st" &&
		grep -q "$name-fix1  level 1  active" "$HP_TMP/st" &&
		grep -q "compute .* patched" "$HP_TMP/st" &&
		"$HOTPATCH" status --json -p $pid | grep -q "\"consistent\": true" &&
		grep -q "memfd:hotpatch:$name-fix1" /proc/$pid/maps
	'
	test_expect_success "$variant: revert restores the original bytes and behaviour" '
		hp_run_expect 0 revert -p $pid $name-fix1 &&
		hp_expect_eq "$(hp_ask $t "c 5")" 18 compute &&
		hp_expect_eq "$(hp_ask $t "g bob")" "hello, bob" greet &&
		hp_expect_eq "$(hp_ask $t f)" 0 flag &&
		hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/$name" compute)" "$orig_compute" "compute bytes" &&
		hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/$name" greet)" "$orig_greet" "greet bytes" &&
		! grep -q memfd:hotpatch: /proc/$pid/maps &&
		"$HOTPATCH" status -p $pid | grep -q "no patches applied"
	'
	test_expect_success "$variant: a patch that adds a function" '
		"$HOTPATCH" info "$HP_TMP/$name-fix2.hpatch" | grep -A1 "adds 1 function" | grep -q bonus &&
		hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/$name-fix2.hpatch" &&
		hp_expect_eq "$(hp_ask $t "c 5")" 518 "compute with bonus" &&
		hp_run_expect 0 revert -p $pid $name-fix2 &&
		hp_expect_eq "$(hp_ask $t "c 5")" 18 compute
	'
	test_expect_success "$variant: JSON output of apply and revert" '
		{ "$HOTPATCH" apply --json -p $pid --allow-unsigned "$HP_TMP/$name-fix1.hpatch" >"$HP_TMP/j" || { cat "$HP_TMP/j"; exit 1; }; } &&
		grep -q "\"outcome\": \"patched\"" "$HP_TMP/j" && grep -q "\"pause_us\"" "$HP_TMP/j" &&
		"$HOTPATCH" revert --json -p $pid $name-fix1 >"$HP_TMP/j2" && cat "$HP_TMP/j" "$HP_TMP/j2" &&
		grep -q "\"outcome\": \"reverted\"" "$HP_TMP/j2"
	'
done
test_done
