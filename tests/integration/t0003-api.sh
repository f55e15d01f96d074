#!/bin/bash
# SPDX-License-Identifier: MIT
# The library as a program outside this tree uses it: install into a staging
# directory (meson install --destdir), build the example of docs/api.md with
# pkg-config against the staged header and library only, and run it against
# the staged libhotpatch.so.  Costs about 5 s (the install copies every
# installed file).
. "$(dirname "$0")/lib.sh"
hp_require cc pkg-config meson

CORPUS=$HP_BUILD_DIR/tests/fuzz/hp-fuzz-corpus
[ -x "$CORPUS" ] || skip_all "seed patch generator not built ($CORPUS)"
"$CORPUS" "$HP_TMP/c" >/dev/null || skip_all "cannot generate seed patches"
P=$HP_TMP/c/patch/relocs.hpatch
D=$HP_TMP/dest
export P D

test_expect_success 'meson install --destdir stages the library, header and pkg-config file' '
	meson install -C "$HP_BUILD_DIR" --no-rebuild --quiet --destdir "$D" >"$HP_TMP/install.log" 2>&1 ||
		{ cat "$HP_TMP/install.log"; exit 1; }
	pc=$(find "$D" -name libhotpatch.pc) && [ -n "$pc" ] &&
	find "$D" -path "*/include/hotpatch/hotpatch.h" | grep -q . &&
	find "$D" -name "libhotpatch.so.0*" | grep -q .
'

pcdir=$(dirname "$(find "$D" -name libhotpatch.pc | head -1)" 2>/dev/null)
libdir=$(dirname "$(find "$D" -name 'libhotpatch.so' | head -1)" 2>/dev/null)
export pcdir libdir

test_expect_success 'pkg-config points into the staged tree' '
	flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$D pkg-config --cflags --libs libhotpatch) &&
	echo "$flags" &&
	echo "$flags" | grep -q -- "-I$D/" &&
	echo "$flags" | grep -q -- "-L$D/.* -lhotpatch"
'

test_expect_success 'the example in docs/api.md compiles against the installed header alone' '
	awk "/^<!-- example: hp-info.c/ {on = 1; next} on && /^\`\`\`c/ {inblock = 1; next}
	     inblock && /^\`\`\`/ {exit} inblock {print}" "$HP_SRC_DIR/docs/api.md" >"$HP_TMP/hp-info.c" &&
	[ "$(wc -l <"$HP_TMP/hp-info.c")" -gt 20 ] &&
	flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$D pkg-config --cflags --libs libhotpatch) &&
	cc -std=c99 -Wall -Wextra -Werror -o "$HP_TMP/hp-info" "$HP_TMP/hp-info.c" $flags
'

test_expect_success 'the example runs against the staged libhotpatch.so and prints the manifest' '
	LD_LIBRARY_PATH=$libdir ldd "$HP_TMP/hp-info" | grep "libhotpatch.so" | grep -q -- "$D/" &&
	LD_LIBRARY_PATH=$libdir "$HP_TMP/hp-info" "$P" >"$HP_TMP/out" 2>&1 || { cat "$HP_TMP/out"; exit 1; }
	cat "$HP_TMP/out" &&
	id=$("$HOTPATCH" info --json "$P" | sed -n "s/.*\"id\": *\"\([^\"]*\)\".*/\1/p" | head -1) &&
	grep -q "^patch $id level " "$HP_TMP/out" &&
	grep -q "^  replaces " "$HP_TMP/out" &&
	grep -q "^pid [0-9]*: 0 patch(es) applied" "$HP_TMP/out"
'

test_expect_success 'the example reports a bad patch file with the library message' '
	head -c 100 "$P" >"$HP_TMP/bad.hpatch" &&
	! LD_LIBRARY_PATH=$libdir "$HP_TMP/hp-info" "$HP_TMP/bad.hpatch" 2>"$HP_TMP/err" &&
	cat "$HP_TMP/err" && grep -q "^hp-info: " "$HP_TMP/err"
'
test_done
