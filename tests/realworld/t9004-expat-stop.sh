#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 4: expat CVE-2024-50602 (XML_StopParser on a parser that
# has not started; XML_ResumeParser then crashes), from Debian 12's expat.
#
# Build libexpat.so with CMake from the Debian tree just before that patch;
# start a program using it; build the hotpatch from the Debian patch file
# (git format, paths under expat/) with `hotpatch build -- sh -c "cmake ...
# && cmake --build build"`; apply it live: the probe flips from vulnerable
# to fixed, and back on revert.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc cmake patch

PATCHNAME=expat-2.5.0-CVE-2024-50602.patch
RW_CVE=CVE-2024-50602
RW_DESC="expat: XML_StopParser refuses a parser that has not started"
rw_fetch expat
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the expat tree"; exit 1; }
export RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/expat-stop-probe

BUILD='cmake -S expat -B build -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$RW_CFLAGS" -DEXPAT_BUILD_TESTS=OFF \
	-DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_DOCS=OFF -DEXPAT_SHARED_LIBS=ON >/dev/null &&
	cmake --build build -j2'
test_expect_success 'build libexpat.so with CMake the ordinary way, and a program using it' '
	(cd "$RW_SRC" && sh -c "$BUILD") >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	cc -O2 -g -I"$RW_SRC/expat/lib" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/expat-stop-probe.c" \
		-L"$RW_SRC/build" -lexpat -Wl,-rpath,"$RW_SRC/build"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$RW_SRC/build/libexpat.so.1" "$RW_SRC" expat-cve-2024-45490 "$HP_TMP/expat.hpatch" \
	sh -c "$BUILD"
say "total $(rw_elapsed) s"
test_done
