#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 2: libpng CVE-2025-64506 (heap over-read in the simplified
# write API: 8-bit input with convert_to_8bit took the 16-bit path), from
# Debian 12's libpng1.6 source package.
#
# Configure and build libpng16.so (autotools/libtool, Debian's hardening
# flags) from the Debian tree just before that patch; start a program using
# it; build the hotpatch from the Debian patch file with `hotpatch build --
# make libpng16.la`; apply it live: the probe flips from vulnerable to
# fixed, and back on revert.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch

PATCHNAME=CVE-2025-64506.patch
RW_CVE=CVE-2025-64506
RW_DESC="libpng: heap over-read in png_image_write_* with convert_to_8bit"
rw_fetch libpng1.6
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the libpng tree"; exit 1; }
RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/libpng-probe

test_expect_success 'configure and build libpng16.so the ordinary way, and a program using it' '
	(cd "$RW_SRC" && ./configure --disable-static CFLAGS="$RW_CFLAGS" && make -j2 libpng16.la) \
		>"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/libpng-probe.c" \
		-L"$RW_SRC/.libs" -lpng16 -Wl,-rpath,"$RW_SRC/.libs"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$RW_SRC/.libs/libpng16.so.16" "$RW_SRC" libpng-cve-2025-64506 "$HP_TMP/libpng.hpatch" \
	make -j2 libpng16.la
say "total $(rw_elapsed) s"
test_done
