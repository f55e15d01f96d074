#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch build -C SRCDIR --diff FIX -- BUILD_CMD on real small projects:
# plain make (an executable), autotools/libtool and CMake (shared libraries),
# each built the ordinary way first, started, patched from the diff, checked,
# reverted.  The user's tree is never touched; parts of the diff for files
# nothing compiles are left out and said so.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc make patch jq

PROJECTS=$HP_SRC_DIR/tests/projects
# scratch copies go here, so the test can see that they are removed
export TMPDIR=$HP_TMP/scratch
mkdir -p "$TMPDIR"

# A fingerprint of a tree (names, sizes, times, content), to prove the build left it alone.
tree_sum() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec cat {} + | sha256sum); }

# ---------------------------------------------------------------- the compiler wrapper alone
wrap=$HP_TMP/wrap
mkdir -p "$wrap/bin" "$wrap/store"
ln -s "$HP_BUILD_DIR/src/differ/hotpatch-cc" "$wrap/bin/cc"
printf '#include "meter.h"\nint f(void) { return METER_LIMIT; }\nint main(void) { return f() - 1000; }\n' >"$wrap/f.c"
cp "$PROJECTS/make/meter.h" "$wrap/"
wcc() { (cd "$wrap" && PATH=$wrap/bin:$PATH HP_CCWRAP_DIR=$wrap/bin HP_CCWRAP_LOG=$wrap/log HP_CCWRAP_STORE=$wrap/store \
	HP_CCWRAP_FROM=$wrap HP_CCWRAP_TO=/src cc "$@"); }
test_expect_success 'wrapper: preprocessing, dependencies and --version pass through untouched and unlogged' '
	hp_expect_eq "$(wcc -E f.c)" "$(cd "$wrap" && cc -E f.c)" "-E output" &&
	hp_expect_eq "$(wcc -MM f.c)" "$(cd "$wrap" && cc -MM f.c)" "-MM output" &&
	hp_expect_eq "$(wcc --version)" "$(cc --version)" "--version" &&
	! test -s "$wrap/log"
'
test_expect_success 'wrapper: a compile gets function sections and the prefix map, and is logged with its deps' '
	wcc -O2 -g -c f.c -o f.o >"$wrap/out" && ! test -s "$wrap/out" &&
	readelf -SW "$wrap/f.o" | grep -q "\.text\.f\b" &&
	readelf -SW "$wrap/f.o" | grep -q "\.text\.startup\.main\|\.text\.main" &&
	readelf --debug-dump=info "$wrap/f.o" | grep -q "DW_AT_comp_dir.*: /src" &&
	hp_expect_eq "$(wc -l <"$wrap/log")" 1 "log lines" &&
	head -1 "$wrap/log" >"$wrap/rec" &&
	jq -e ".k == \"cc\" and .src == \"f.c\" and .out == \"f.o\" and .lto == false and
		.args == [\"-O2\", \"-g\", \"-c\", \"f.c\", \"-o\", \"f.o\"]" "$wrap/rec" >/dev/null &&
	grep -q meter.h "$(jq -r .deps "$wrap/rec")" &&
	cmp "$(jq -r .obj "$wrap/rec")" "$wrap/f.o"
'
test_expect_success 'wrapper: a link is logged with the hashes of its objects, and links as before' '
	wcc -o prog f.o && "$wrap/prog"; [ $? = 0 ] &&
	grep -q "\"k\":\"ld\",.*\"out\":\"prog\".*\"path\":\"f.o\"" "$wrap/log" &&
	grep -q "$(sha256sum <"$wrap/f.o" | cut -c1-64)" "$wrap/log"
'

# ---------------------------------------------------------------- plain make
src=$HP_TMP/make
cp -a "$PROJECTS/make" "$src" && make -s -C "$src" >/dev/null
before=$(tree_sum "$src")

test_expect_success 'make: build a patch from the diff' '
	"$HOTPATCH" build --target "$src/meter" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/meter.hpatch" \
		--id meter-fix --cve CVE-2099-0001 --classification security -- make >"$HP_TMP/b.out" 2>&1 ||
		{ cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "^diff: meter.c: applied" "$HP_TMP/b.out" &&
	grep -q "^diff: NEWS: ignored (not a compiled source" "$HP_TMP/b.out" &&
	grep -q "^diff: doc/meter.txt: ignored" "$HP_TMP/b.out" &&
	grep -q "^diff: tests/check.c: ignored" "$HP_TMP/b.out" &&
	grep -q "^unit: meter.c: changed" "$HP_TMP/b.out" &&
	grep -q "meter_add: replaced" "$HP_TMP/b.out" &&
	! grep -q "main.c: changed" "$HP_TMP/b.out" &&
	"$HOTPATCH" info "$HP_TMP/meter.hpatch" | grep -q CVE-2099-0001
'
test_expect_success 'make: the source tree is left exactly as it was, no scratch directory remains' '
	hp_expect_eq "$(tree_sum "$src")" "$before" "tree fingerprint" &&
	hp_expect_eq "$(ls "$TMPDIR")" "" "scratch directories left"
'
hp_start_target "$src/meter"; t=$HP_T
pid=$(hp_pid "$t")
test_expect_success 'make: a negative reading lowers the total before the patch' '
	hp_expect_eq "$(hp_ask $t "a 10")" 10 add &&
	hp_expect_eq "$(hp_ask $t "a -4")" 6 "negative reading taken"
'
test_expect_success 'make: applied live, negative readings are ignored; reverted, they count again' '
	hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/meter.hpatch" &&
	hp_expect_eq "$(hp_ask $t "a -4")" 6 "patched: ignored" &&
	hp_expect_eq "$(hp_ask $t "a 1")" 7 "patched: positive still adds" &&
	hp_run_expect 0 revert -p $pid meter-fix &&
	hp_expect_eq "$(hp_ask $t "a -4")" 3 "reverted"
'
test_expect_success 'make: --json carries the decisions' '
	"$HOTPATCH" build --json --target "$src/meter" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/m2.hpatch" \
		-- make >"$HP_TMP/j" &&
	jq -e "([.source.decisions[] | [.name, .action]] as \$d |
		(\$d | index([[\"meter.c\", \"applied\"]])) and (\$d | index([[\"NEWS\", \"ignored\"]])) and
		(\$d | index([[\"meter.c\", \"changed\"]]))) and .source.strip == 1 and .replaced == 1 and
		(.output | endswith(\"m2.hpatch\"))" "$HP_TMP/j" >/dev/null
'
test_expect_success 'make: a diff that does not apply names the file and the hunk' '
	sed "s/^ 	calls++;/ 	calls += 2;/" "$src/fix.diff" >"$HP_TMP/bad.diff" &&
	hp_run_expect 1 build --target "$src/meter" -C "$src" --diff "$HP_TMP/bad.diff" -o "$HP_TMP/x.hpatch" -- make &&
	grep -q "meter.c: hunk #1 (@@ -7,6 +7,8 @@, line 8 of the diff) does not apply" "$HP_TMP/last.err"
'
test_expect_success 'make: a diff that is not a diff, and one that changes no compiled file' '
	echo "just words" >"$HP_TMP/words.diff" &&
	hp_run_expect 1 build --target "$src/meter" -C "$src" --diff "$HP_TMP/words.diff" -o "$HP_TMP/x.hpatch" -- make &&
	grep -q "no file changes found" "$HP_TMP/last.err" &&
	sed -n "/^--- a\/NEWS/,\$p" "$src/fix.diff" >"$HP_TMP/docs.diff" &&
	hp_run_expect 3 build --target "$src/meter" -C "$src" --diff "$HP_TMP/docs.diff" -o "$HP_TMP/x.hpatch" -- make &&
	grep -q "changes no file that the build compiles" "$HP_TMP/last.err"
'
test_expect_success 'make: a failing build is reported with its output, the scratch copy kept' '
	hp_run_expect 1 build --target "$src/meter" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/x.hpatch" \
		-- make no-such-target &&
	grep -q "the orig build failed (exit 2)" "$HP_TMP/last.err" &&
	grep -q "No rule to make target" "$HP_TMP/last.err" &&
	dir=$(sed -n "s/.*its output is in \(.*\)\/orig.log.*/\1/p" "$HP_TMP/last.err") &&
	test -d "$dir/orig" && rm -rf "$dir"
'
test_expect_success 'make: an LTO build is refused with that reason' '
	cp -a "$PROJECTS/make" "$HP_TMP/lto" && make -s -C "$HP_TMP/lto" CFLAGS="-O2 -g -flto" >/dev/null &&
	hp_run_expect 15 build --target "$HP_TMP/lto/meter" -C "$HP_TMP/lto" --diff "$src/fix.diff" \
		-o "$HP_TMP/x.hpatch" -- make CFLAGS="-O2 -g -flto" &&
	grep -q "is compiled with -flto: LTO-built targets cannot be hotpatched" "$HP_TMP/last.err"
'
test_expect_success 'make: a target compiled and linked in one step, already built: objects of its own' '
	make -s -C "$src" oneshot >/dev/null &&
	hp_run_expect 0 build --target "$src/oneshot" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/x.hpatch" \
		-- make oneshot &&
	grep -q "unit: meter.c: changed (the object oneshot-hp1-meter.o differs)" "$HP_TMP/last.out" &&
	grep -q "meter_add: replaced" "$HP_TMP/last.out" &&
	rm -f "$src/oneshot"
'
test_expect_success 'make: a compiler called by absolute path is not intercepted, and that is said' '
	hp_run_expect 1 build --target "$src/meter" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/x.hpatch" \
		-- make CC=/usr/bin/cc &&
	grep -q "compiled nothing through the wrapper" "$HP_TMP/last.err" &&
	rm -rf "$(sed -n "s/.*its output is in \(.*\)\/orig.log.*/\1/p" "$HP_TMP/last.err")"
'
test_expect_success 'usage: the build command must follow --, and the two forms do not mix' '
	hp_run_expect 2 build --target "$src/meter" -C "$src" --diff "$src/fix.diff" -o "$HP_TMP/x.hpatch" &&
	hp_run_expect 2 build --target "$src/meter" -C "$src" --diff "$src/fix.diff" --orig a.o --patched b.o \
		-o "$HP_TMP/x.hpatch" -- make
'

# ---------------------------------------------------------------- autotools / libtool
if command -v autoreconf >/dev/null && command -v libtoolize >/dev/null; then
	at=$HP_TMP/greet-1.0
	test_expect_success 'autotools: configure and build the library the ordinary way' '
		cp -a "$PROJECTS/autotools" "$at" &&
		(cd "$at" && autoreconf -fi && ./configure -q && make) >"$HP_TMP/at.log" 2>&1 ||
			{ tail -20 "$HP_TMP/at.log"; exit 1; }
	'
	test_expect_success 'autotools: build the patch for the libtool library (quilt-style diff, a header too)' '
		"$HOTPATCH" build --target "$at/lib/.libs/libgreet.so.1" -C "$at" --diff "$at/fix.diff" \
			-o "$HP_TMP/greet.hpatch" --id greet-fix -- make >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
		cat "$HP_TMP/b.out" &&
		grep -q "^diff: lib/limits.h: applied" "$HP_TMP/b.out" &&
		grep -q "^diff: ChangeLog: ignored" "$HP_TMP/b.out" &&
		grep -q "^unit: lib/greet.c: changed (the object lib/.libs/greet.o differs)" "$HP_TMP/b.out" &&
		grep -q "greet: replaced" "$HP_TMP/b.out"
	'
	hp_start_target "$at/src/greet"; t=$HP_T
	pid=$(hp_pid "$t")
	test_expect_success 'autotools: names are cut to 5 letters while the patch is applied' '
		hp_expect_eq "$(hp_ask $t "bartholomew")" "hello, bartholomew" before &&
		hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/greet.hpatch" &&
		hp_expect_eq "$(hp_ask $t "bartholomew")" "hello, barth" patched &&
		hp_run_expect 0 revert -p $pid greet-fix &&
		hp_expect_eq "$(hp_ask $t "bartholomew")" "hello, bartholomew" reverted
	'
else
	test_skip 'autotools project' 'needs autoconf, automake and libtool'
fi

# ---------------------------------------------------------------- CMake
if command -v cmake >/dev/null; then
	cm=$HP_TMP/tally
	test_expect_success 'cmake: build the library in SRCDIR/build the ordinary way' '
		cp -a "$PROJECTS/cmake" "$cm" &&
		cmake -S "$cm" -B "$cm/build" >"$HP_TMP/cm.log" 2>&1 && cmake --build "$cm/build" >>"$HP_TMP/cm.log" 2>&1 ||
			{ cat "$HP_TMP/cm.log"; exit 1; }
	'
	test_expect_success 'cmake: the copied build directory is not reused; absolute __FILE__ paths match' '
		"$HOTPATCH" build --target "$cm/build/libtally.so.1" -C "$cm" --diff "$cm/fix.diff" -o "$HP_TMP/tally.hpatch" \
			--id tally-fix -- sh -c "cmake -S . -B build >/dev/null && cmake --build build" >"$HP_TMP/b.out" 2>&1 ||
			{ cat "$HP_TMP/b.out"; exit 1; }
		cat "$HP_TMP/b.out" &&
		grep -q "removed the state of 1 CMake build directory" "$HP_TMP/b.out" &&
		grep -q "tally_words: replaced" "$HP_TMP/b.out" &&
		! grep -q "tally_where" "$HP_TMP/b.out" &&
		grep -q "$cm/tally.c" "$HP_TMP/tally.hpatch" && ! grep -q hotpatch-build "$HP_TMP/tally.hpatch"
	'
	hp_start_target "$cm/build/tally-app"; t=$HP_T
	pid=$(hp_pid "$t")
	test_expect_success 'cmake: over-long words are refused while the patch is applied' '
		hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" 3 before &&
		hp_run_expect 0 apply -p $pid --allow-unsigned "$HP_TMP/tally.hpatch" &&
		hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" -1 patched &&
		hp_expect_eq "$(hp_ask $t "two words")" 2 "patched, short words" &&
		hp_run_expect 0 revert -p $pid tally-fix &&
		hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" 3 reverted
	'
else
	test_skip 'cmake project' 'needs cmake'
fi
test_done
