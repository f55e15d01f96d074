#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch build -B BUILDDIR: CMake and meson build directories outside the
# source tree (cmake -S src -B build; meson setup build src) and inside it
# (mkdir build && cd build && cmake ..), configured with options of their
# own.  Each is built the ordinary way, started, patched from the diff,
# checked, reverted.  The user's source and build directories are only read.
# About 40-60 s (three double builds).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc patch cmake

PROJECTS=$HP_SRC_DIR/tests/projects
export TMPDIR=$HP_TMP/scratch
mkdir -p "$TMPDIR"
tree_sum() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec cat {} + | sha256sum); }

# patch, check, revert a running tally-app: over-long words give -1 while patched; __FILE__ is unchanged
check_tally() {
	local app=$1 hpatch=$2 id=$3 where t pid
	hp_start_target "$app"; t=$HP_T
	pid=$(hp_pid "$t")
	where=$(hp_ask $t where)
	hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" 3 before &&
	hp_run_expect 0 apply -p $pid --allow-unsigned "$hpatch" &&
	hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" -1 patched &&
	hp_expect_eq "$(hp_ask $t "two words")" 2 "patched, short words" &&
	hp_expect_eq "$(hp_ask $t where)" "$where" "__FILE__ while patched" &&
	hp_run_expect 0 revert -p $pid "$id" &&
	hp_expect_eq "$(hp_ask $t "a supercalifragilistic word")" 3 reverted
}

# ---------------------------------------------------------------- cmake -S src -B build
top=$HP_TMP/cm1
test_expect_success 'cmake -S src -B build: configure with options, build the ordinary way' '
	mkdir -p "$top" && cp -a "$PROJECTS/cmake" "$top/src" &&
	(cd "$top" && cmake -S src -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-fno-omit-frame-pointer &&
		cmake --build build) >"$HP_TMP/cm.log" 2>&1 || { cat "$HP_TMP/cm.log"; exit 1; }
'
before_src=$(tree_sum "$top/src"); before_bld=$(tree_sum "$top/build")
test_expect_success 'cmake -S src -B build: -B build and no build command' '
	(cd "$top" && "$HOTPATCH" build --target build/libtally.so.1 -C src -B build --diff src/fix.diff \
		-o "$HP_TMP/cm1.hpatch" --id cm1-fix) >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "^unit: tally.c: changed (the object build/CMakeFiles/tally.dir/tally.c.o differs)" "$HP_TMP/b.out" &&
	grep -q "tally_words: replaced" "$HP_TMP/b.out" && ! grep -q tally_where "$HP_TMP/b.out" &&
	hp_expect_eq "$(tree_sum "$top/src")" "$before_src" "source tree untouched" &&
	hp_expect_eq "$(tree_sum "$top/build")" "$before_bld" "build directory untouched" &&
	hp_expect_eq "$(ls "$TMPDIR")" "" "scratch removed"
'
test_expect_success 'cmake -S src -B build: the patch works on the running program' '
	check_tally "$top/build/tally-app" "$HP_TMP/cm1.hpatch" cm1-fix
'

# ---------------------------------------------------------------- mkdir build && cd build && cmake ..
top=$HP_TMP/cm2
test_expect_success 'cmake in SRCDIR/build (cmake ..): a build command naming the build directory' '
	cp -a "$PROJECTS/cmake" "$top" && mkdir "$top/build" &&
	(cd "$top/build" && cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo .. && make) >"$HP_TMP/cm.log" 2>&1 ||
		{ cat "$HP_TMP/cm.log"; exit 1; }
	(cd "$HP_TMP" && "$HOTPATCH" build --target cm2/build/libtally.so.1.0 -C cm2 -B cm2/build --diff cm2/fix.diff \
		-o "$HP_TMP/cm2.hpatch" --id cm2-fix -- cmake --build cm2/build --target tally) >"$HP_TMP/b.out" 2>&1 ||
		{ cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "tally_words: replaced" "$HP_TMP/b.out" &&
	! grep -q hotpatch-build "$HP_TMP/cm2.hpatch" &&
	check_tally "$top/build/tally-app" "$HP_TMP/cm2.hpatch" cm2-fix
'

# ---------------------------------------------------------------- meson setup build src
if command -v meson >/dev/null && command -v ninja >/dev/null; then
	top=$HP_TMP/ms
	test_expect_success 'meson setup build src (CFLAGS from the environment): a relative build command' '
		mkdir -p "$top" && cp -a "$PROJECTS/cmake" "$top/src" &&
		(cd "$top" && CFLAGS=-fno-omit-frame-pointer meson setup --buildtype=debugoptimized build src &&
			ninja -C build) >"$HP_TMP/ms.log" 2>&1 || { cat "$HP_TMP/ms.log"; exit 1; }
		"$HOTPATCH" build --target "$top/build/libtally.so.1.0" -C "$top/src" -B "$top/build" \
			--diff "$top/src/fix.diff" -o "$HP_TMP/ms.hpatch" --id ms-fix -- ninja -C ../build \
			>"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
		cat "$HP_TMP/b.out" &&
		grep -q "^unit: tally.c: changed (the object build/libtally.so.1.0.p/tally.c.o differs)" "$HP_TMP/b.out" &&
		grep -q "tally_words: replaced" "$HP_TMP/b.out" &&
		check_tally "$top/build/tally-app" "$HP_TMP/ms.hpatch" ms-fix
	'
else
	test_skip 'meson build directory' 'needs meson and ninja'
fi

test_expect_success 'a directory that is no build directory is refused, naming what is missing' '
	mkdir "$HP_TMP/empty" &&
	hp_run_expect 1 build --target "$HP_TMP/cm1/build/libtally.so.1" -C "$HP_TMP/cm1/src" -B "$HP_TMP/empty" \
		--diff "$HP_TMP/cm1/src/fix.diff" -o "$HP_TMP/x.hpatch" &&
	grep -q "neither a CMake build directory (no CMakeCache.txt) nor a meson one" "$HP_TMP/last.err" &&
	hp_run_expect 1 build --target "$HP_TMP/cm1/build/libtally.so.1" -C "$HP_TMP/cm1/src" -B "$HP_TMP/cm1/src" \
		--diff "$HP_TMP/cm1/src/fix.diff" -o "$HP_TMP/x.hpatch" &&
	grep -q "is an in-source build" "$HP_TMP/last.err"
'
test_done
