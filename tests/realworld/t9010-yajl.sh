#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 10: yajl CVE-2017-16516 (yajl_string_decode reads past a
# string ending in a lone high surrogate), from Debian 12's yajl source
# package (2.1.0-3+deb12u2).
#
# Built the way Debian's dh builds a CMake package: the build directory
# obj-x86_64-linux-gnu inside the source tree, Debian's flags plus
# -fvisibility=hidden (debian/rules) in the environment at configure time.
# The fix is built with -B obj-x86_64-linux-gnu and a build command naming
# it; yajl_string_decode is a hidden global, local in libyajl.so.
# About 35 s of CPU (user + system); opt-in.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch cmake
[ -n "${HP_REALWORLD_ALL:-}" ] || skip_all "slow (three CMake configures and builds, 35 s of CPU); HP_REALWORLD_ALL=1 runs it"

PATCHNAME=CVE-2017-16516.patch
RW_CVE=CVE-2017-16516
RW_DESC="yajl: buffer over-read in yajl_string_decode for a lone surrogate"
rw_fetch yajl
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the yajl tree"; exit 1; }
RW_PROBE=$HP_TMP/yajl-probe
B=$RW_SRC/obj-x86_64-linux-gnu

test_expect_success 'build libyajl.so as dh does (cmake -B obj-x86_64-linux-gnu, Debian flags, hidden visibility)' '
	(cd "$RW_SRC" && CFLAGS="$(rw_debian_cflags) -fvisibility=hidden" \
		LDFLAGS="$(dpkg-buildflags --get LDFLAGS 2>/dev/null)" \
		cmake -S . -B obj-x86_64-linux-gnu -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr &&
		cmake --build obj-x86_64-linux-gnu -j2) >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	lib=$(ls "$B"/yajl-*/lib/libyajl.so.2.*.* | head -1) &&
	readelf -sW "$lib" | grep -q " LOCAL .* yajl_string_decode$" &&
	cc -O2 -g -I"$(dirname "$lib")/../include" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/yajl-probe.c" \
		-L"$(dirname "$lib")" -lyajl -Wl,-rpath,"$(dirname "$lib")"
'
say "library built ($(rw_elapsed) s)"
lib=$(ls "$B"/yajl-*/lib/libyajl.so.2.*.* | head -1)
RW_BUILD_OPTS=(-B "$B")
rw_build_and_flip "$lib" "$RW_SRC" yajl-cve-2017-16516 "$HP_TMP/yajl.hpatch" cmake --build "$B" --target yajl
test_expect_success 'the hidden yajl_string_decode is replaced in place, and nothing else' '
	grep -q "^unit: src/yajl_encode.c: changed" "$HP_TMP/b.out" &&
	grep -q "yajl_string_decode: replaced" "$HP_TMP/b.out" &&
	hp_expect_eq "$(grep -c ": replaced" "$HP_TMP/b.out")" 1 "replaced functions"
'
say "total $(rw_elapsed) s"
test_done
