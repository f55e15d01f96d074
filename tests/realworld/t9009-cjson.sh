#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 9: cJSON CVE-2023-26819 (parse_number copies a number into
# a 64-byte stack buffer: a valid longer number is rejected), from Debian
# 12's cjson source package (1.7.15-1+deb12u4).
#
# CMake, built the way its README says -- mkdir build && cd build &&
# cmake .. && make -- with Debian's flags in the environment at configure
# time (cached by CMake as CMAKE_C_FLAGS), -fvisibility=hidden and -Werror
# from the project's own flags.  The fix is built with -B build: each
# scratch copy gets a fresh build directory configured from build's
# CMakeCache.txt, no build command given.  The library is configured with
# -DENABLE_CJSON_TEST=Off (README's option; the unit tests would triple the
# build time): the Debian patch's parts for tests/*.c are then left out,
# which shows the copies were configured with the user's options.
# parse_number is inlined into parse_value, which is what gets replaced.
# 40 s of CPU (user + system), 257 s of wall time at load average 55: opt-in.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch cmake
[ -n "${HP_REALWORLD_ALL:-}" ] || skip_all "slow (three CMake configures and builds, 40 s of CPU); HP_REALWORLD_ALL=1 runs it"

PATCHNAME=0001-allocate-memory-for-the-temporary-buffer.patch
RW_CVE=CVE-2023-26819
RW_DESC="cJSON: valid numbers of more than 63 characters are rejected"
rw_fetch cjson
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the cjson tree"; exit 1; }
RW_PROBE=$HP_TMP/cjson-probe

test_expect_success 'build libcjson.so the way its README says (mkdir build && cd build && cmake .. && make)' '
	mkdir "$RW_SRC/build" &&
	(cd "$RW_SRC/build" && CFLAGS="$(rw_debian_cflags)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS 2>/dev/null)" \
		cmake -DCMAKE_BUILD_TYPE=None -DENABLE_CJSON_TEST=Off .. && make -j2) >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	grep -q "^CMAKE_C_FLAGS:STRING=.*-fstack-protector-strong" "$RW_SRC/build/CMakeCache.txt" &&
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/cjson-probe.c" \
		-L"$RW_SRC/build" -lcjson -Wl,-rpath,"$RW_SRC/build"
'
say "library built ($(rw_elapsed) s)"
before=$(cd "$RW_SRC" && find . -type f -printf '%p %s %T@\n' | sort | sha256sum)
RW_BUILD_OPTS=(-B "$RW_SRC/build")
rw_build_and_flip "$(readlink -f "$RW_SRC/build/libcjson.so.1")" "$RW_SRC" cjson-cve-2023-26819 "$HP_TMP/cjson.hpatch"
test_expect_success 'parse_value (parse_number inlined) is replaced; the tests stay unbuilt, as configured' '
	grep -q "^unit: cJSON.c: changed (the object build/CMakeFiles/cjson.dir/cJSON.c.o differs)" "$HP_TMP/b.out" &&
	grep -q "parse_value: included (pulled in: inlined helper changed (.*parse_number" "$HP_TMP/b.out" &&
	grep -q "1 function replaced" "$HP_TMP/b.out" &&
	grep -q "^diff: tests/misc_tests.c: ignored" "$HP_TMP/b.out" && ! grep -q "^unit: tests/" "$HP_TMP/b.out" &&
	hp_expect_eq "$(cd "$RW_SRC" && find . -type f -printf "%p %s %T@\n" | sort | sha256sum)" "$before" "tree untouched"
'
say "total $(rw_elapsed) s"
test_done
