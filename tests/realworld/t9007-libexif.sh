#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 7: libexif CVE-2026-32775 (the maker-note formatters of
# five camera makes count a buffer length of 0 down to UINT_MAX: an
# out-of-bounds write), from Debian 12's libexif source package.
#
# Autotools and libtool: each maker-note directory is a convenience archive
# linked into libexif.so; the library exports a symbol list (libtool's
# version script makes everything else local).  The five changed functions
# are library-internal, reached through each maker note's method table;
# all five must be replaced, in one patch.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch autoreconf autopoint
# autoreconf, configure and libtool take several CPU-minutes: opt-in, to keep ./test.sh near 20 minutes
[ -n "${HP_REALWORLD_ALL:-}" ] || skip_all "slow (autoreconf + configure + libtool, minutes of CPU); HP_REALWORLD_ALL=1 runs it"

PATCHNAME=CVE-2026-32775.patch
RW_CVE=CVE-2026-32775
RW_DESC="libexif: out-of-bounds write in the maker-note value formatters with a 0-byte buffer"
rw_fetch libexif
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the libexif tree"; exit 1; }
export RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/libexif-probe

# the tarball has no configure script: autoreconf as dh does; then only the library, no docs, no po
test_expect_success 'build libexif.so with autotools the ordinary way, and a program using it' '
	(cd "$RW_SRC" && autoreconf -fi && ./configure --disable-docs --disable-nls CFLAGS="$RW_CFLAGS" &&
		make -C libexif -j2) >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	readelf -sW "$RW_SRC/libexif/.libs/libexif.so.12" | grep -q " LOCAL .* mnote_fuji_entry_get_value$" &&
	cc -O2 -g -I"$RW_SRC" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/libexif-probe.c" \
		-L"$RW_SRC/libexif/.libs" -lexif -Wl,-rpath,"$RW_SRC/libexif/.libs"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$(readlink -f "$RW_SRC/libexif/.libs/libexif.so.12")" "$RW_SRC" libexif-cve-2026-32775 \
	"$HP_TMP/libexif.hpatch" make -C libexif -j2
test_expect_success 'all five formatters are replaced, in their convenience archives' '
	for make in apple canon fuji olympus pentax; do
		grep -q "mnote_${make}_entry_get_value: replaced" "$HP_TMP/b.out" || { echo "$make not replaced"; exit 1; }
	done &&
	hp_expect_eq "$(grep -c ": replaced" "$HP_TMP/b.out")" 5 "replaced functions" &&
	! grep -q "carried\|not in the running binary" "$HP_TMP/b.out"
'
say "total $(rw_elapsed) s"
test_done
