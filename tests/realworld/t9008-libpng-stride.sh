#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 8: libpng CVE-2026-22801 (png_image_write_* truncates a row
# stride of more than 65535 bytes: rows are read from the wrong place, past
# the image for a tall one), from Debian 12's libpng1.6 source package.
#
# The changed functions are static (png_write_image_16bit,
# png_write_image_8bit, png_image_write_main) and reached only through a
# function pointer: png_image_write_to_memory passes them to
# png_safe_execute.  The Debian patch also changes CMakeLists.txt, a test
# program and adds a test script, none of which the library build compiles.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch

PATCHNAME=CVE-2026-22801.patch
RW_CVE=CVE-2026-22801
RW_DESC="libpng: heap over-read in png_image_write_* on a row stride over 65535 bytes"
rw_fetch libpng1.6
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the libpng tree"; exit 1; }
RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/libpng-stride-probe

test_expect_success 'configure and build libpng16.so the ordinary way, and a program using it' '
	(cd "$RW_SRC" && ./configure --disable-static CFLAGS="$RW_CFLAGS" && make -j2 libpng16.la) \
		>"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/libpng-stride-probe.c" \
		-L"$RW_SRC/.libs" -lpng16 -Wl,-rpath,"$RW_SRC/.libs"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$RW_SRC/.libs/libpng16.so.16" "$RW_SRC" libpng-cve-2026-22801 "$HP_TMP/libpng-stride.hpatch" \
	make -j2 libpng16.la
test_expect_success 'the static writers are replaced; the test program and build files are left out' '
	grep -q "png_write_image_16bit: replaced" "$HP_TMP/b.out" &&
	grep -q "png_write_image_8bit: replaced" "$HP_TMP/b.out" &&
	grep -q "^diff: contrib/libtests/pngstest.c: ignored" "$HP_TMP/b.out" &&
	grep -q "^diff: CMakeLists.txt: ignored" "$HP_TMP/b.out" &&
	! grep -q "carried\|not in the running binary" "$HP_TMP/b.out"
'
say "total $(rw_elapsed) s"
test_done
