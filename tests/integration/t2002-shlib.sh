#!/bin/bash
# SPDX-License-Identifier: MIT
# Patch a shared library inside a running program.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc

test_expect_success 'build the library, a program using it, and a patch naming the library' '
	hp_compile_lib calc "$TARGET_SRC/libcalc.c" &&
	cc $HP_CFLAGS -o "$HP_TMP/uselib" "$TARGET_SRC/uselib.c" -L"$HP_TMP" -lcalc -Wl,-rpath,"$HP_TMP" &&
	"$HOTPATCH" build --target "$HP_TMP/libcalc.so" --orig "$HP_TMP/libcalc.orig.o" \
		--patched "$HP_TMP/libcalc.fix1.o" -o "$HP_TMP/lib-fix1.hpatch" --id lib-fix1 >/dev/null &&
	"$HOTPATCH" info "$HP_TMP/lib-fix1.hpatch" | grep -q "target       libcalc.so"
'
hp_start_target "$HP_TMP/uselib"; t=$HP_T
pid=$(hp_pid "$t")
orig=$("$HP_TEST_TOOL" funcbytes "$pid" "$HP_TMP/libcalc.so" lib_compute)

test_expect_success 'apply to the library in the running program' '
	hp_expect_eq "$(hp_ask $t "c 10")" 63 before &&
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/lib-fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $t "c 10")" 5063 after &&
	hp_expect_eq "$(hp_ask $t n)" 2 "library static counter kept" &&
	"$HOTPATCH" status -p $pid | grep -q "libcalc.so"
'
test_expect_success 'revert restores the library code' '
	hp_run_expect 0 revert -p $pid lib-fix1 &&
	hp_expect_eq "$(hp_ask $t "c 10")" 63 reverted &&
	hp_expect_eq "$("$HP_TEST_TOOL" funcbytes $pid "$HP_TMP/libcalc.so" lib_compute)" "$orig" bytes
'
test_expect_success 'a library replaced on disk after the process started is still found' '
	cp "$HP_TMP/libcalc.so" "$HP_TMP/libcalc.so.keep" &&
	rm "$HP_TMP/libcalc.so" && echo junk >"$HP_TMP/libcalc.so" &&
	grep -q "libcalc.so (deleted)" /proc/$pid/maps &&
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/lib-fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $t "c 10")" 5063 "patched deleted library" &&
	hp_run_expect 0 revert -p $pid lib-fix1 &&
	hp_expect_eq "$(hp_ask $t "c 10")" 63 reverted
'
test_done
