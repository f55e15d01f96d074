#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 1: giflib CVE-2026-26740 (heap out-of-bounds write in
# EGifGCBToSavedExtension), from Debian 12's giflib source package.
#
# Build libgif.so (plain Makefile) from the Debian tree just before that
# patch, with Debian's hardening flags; start a program using it; build the
# hotpatch from the Debian patch file with `hotpatch build -- make`; apply
# it to the running program: the probe flips from vulnerable to fixed, and
# back on revert.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch

PATCHNAME=CVE-2026-26740.patch
RW_CVE=CVE-2026-26740
RW_DESC="giflib: heap out-of-bounds write in EGifGCBToSavedExtension"
rw_fetch giflib
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the giflib tree"; exit 1; }
export RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/giflib-probe

# the Makefile's library rule; OFLAGS carries the optimisation and Debian's flags.  The tree is
# built already, and the Makefile's symlink rule is not idempotent: clean first.
BUILD='make clean >/dev/null && make libgif.so OFLAGS="$RW_CFLAGS"'
test_expect_success 'build libgif.so the ordinary way, and a program using it' '
	(cd "$RW_SRC" && sh -c "$BUILD") >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/giflib-probe.c" \
		-L"$RW_SRC" -lgif -Wl,-rpath,"$RW_SRC"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$RW_SRC/libgif.so.7" "$RW_SRC" giflib-cve-2026-26740 "$HP_TMP/giflib.hpatch" sh -c "$BUILD"
test_expect_success 'the patch replaced EGifGCBToSavedExtension and nothing else' '
	grep -q "^unit: egif_lib.c: changed" "$HP_TMP/b.out" &&
	grep -q "EGifGCBToSavedExtension: replaced" "$HP_TMP/b.out" &&
	hp_expect_eq "$(grep -c ": replaced" "$HP_TMP/b.out")" 1 "replaced functions"
'
say "total $(rw_elapsed) s"
test_done
