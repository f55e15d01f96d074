#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 6: libcue CVE-2023-43641 (track_set_index accepts a negative
# index: an out-of-bounds write while parsing a cue sheet), from Debian 12's
# libcue source package.
#
# CMake with -DBUILD_SHARED_LIBS=ON (debian/rules) and C_VISIBILITY_PRESET
# hidden: track_set_index is a hidden global, local in libcue.so, called
# from the bison parser generated in the build directory.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch cmake bison flex

PATCHNAME=CVE-2023-43641.patch
RW_CVE=CVE-2023-43641
RW_DESC="libcue: out-of-bounds array access in track_set_index"
rw_fetch libcue
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the libcue tree"; exit 1; }
export RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/libcue-probe

BUILD='cmake -S . -B build -DCMAKE_BUILD_TYPE=None -DBUILD_SHARED_LIBS=ON -DCMAKE_C_FLAGS="$RW_CFLAGS" \
	>/dev/null 2>&1 && cmake --build build -j2'
test_expect_success 'build libcue.so with CMake the ordinary way, and a program using it' '
	(cd "$RW_SRC" && sh -c "$BUILD") >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	readelf -sW "$RW_SRC/build/libcue.so.2" | grep -q " LOCAL .* track_set_index$" &&
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/libcue-probe.c" \
		-L"$RW_SRC/build" -lcue -Wl,-rpath,"$RW_SRC/build"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$(readlink -f "$RW_SRC/build/libcue.so.2")" "$RW_SRC" libcue-cve-2023-43641 "$HP_TMP/libcue.hpatch" \
	sh -c "$BUILD"
test_expect_success 'the hidden track_set_index is replaced in place, and nothing else' '
	grep -q "^unit: cd.c: changed" "$HP_TMP/b.out" &&
	grep -q "track_set_index: replaced" "$HP_TMP/b.out" &&
	hp_expect_eq "$(grep -c ": replaced" "$HP_TMP/b.out")" 1 "replaced functions" &&
	! grep -q "carried\|not in the running binary" "$HP_TMP/b.out"
'
say "total $(rw_elapsed) s"
test_done
