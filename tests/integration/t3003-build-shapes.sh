#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch build -C SRCDIR --diff FIX -- BUILD_CMD on projects written the
# way people write them (tests/projects/shapes): a program compiled and
# linked in one step, a library compiled and linked in one step with hidden
# symbols and a version script, a library linked through g++ whose build
# also compiles a probe in /tmp.  Each tree is built first (the normal case:
# that build is what runs), each diff separates the timestamp from the name
# with spaces or a tab.  Each patch is applied to a running process, checked
# and reverted; the trees are left untouched.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc make patch g++

SHAPES=$HP_SRC_DIR/tests/projects/shapes
export TMPDIR=$HP_TMP/scratch
mkdir -p "$TMPDIR"
tree_sum() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec cat {} + | sha256sum); }

# ---------------------------------------------------------------- one step, already built
src=$HP_TMP/oneshot
cp -a "$SHAPES/oneshot" "$src" && make -s -C "$src" >/dev/null
before=$(tree_sum "$src")
test_expect_success 'one step: a built tree, cc -o gate gate.c, a diff with spaces before the timestamp' '
	"$HOTPATCH" build --target "$src/gate" -C "$src" --diff "$src/fix.diff" --id gate-fix -o "$HP_TMP/gate.hpatch" \
		-- make >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "^diff: gate.c: applied" "$HP_TMP/b.out" &&
	grep -q "^unit: gate.c: changed" "$HP_TMP/b.out" &&
	grep -q "allowed: replaced" "$HP_TMP/b.out" &&
	hp_expect_eq "$(tree_sum "$src")" "$before" "tree fingerprint" &&
	hp_expect_eq "$(ls "$TMPDIR")" "" "scratch directories left"
'
hp_start_target "$src/gate"; t=$HP_T
test_expect_success 'one step: applied, a negative badge is out; reverted, in again' '
	hp_expect_eq "$(hp_ask $t "q -5")" in "before" &&
	hp_run_expect 0 apply -p $(hp_pid $t) --allow-unsigned "$HP_TMP/gate.hpatch" &&
	hp_expect_eq "$(hp_ask $t "q -5")" out "patched" &&
	hp_expect_eq "$(hp_ask $t "q 5")" in "patched, staff" &&
	hp_run_expect 0 revert -p $(hp_pid $t) gate-fix &&
	hp_expect_eq "$(hp_ask $t "q -5")" in "reverted"
'

# ---------------------------------------------------------------- one source, two programs, same bytes
src2=$HP_TMP/twice
test_expect_success 'one source compiled alike for two programs (a/gate.o, b/gate.o): one unit, examined once' '
	mkdir -p "$src2" && cp "$SHAPES/oneshot/gate.c" "$SHAPES/oneshot/fix.diff" "$src2/" &&
	printf "all: gate gate2\ngate: a/gate.o\n\t\$(CC) -o \$@ a/gate.o\ngate2: b/gate.o\n\t\$(CC) -o \$@ b/gate.o\n%%/gate.o: gate.c\n\tmkdir -p \$* && \$(CC) -O2 -g -c -o \$@ gate.c\n" \
		>"$src2/Makefile" && make -s -C "$src2" >/dev/null &&
	"$HOTPATCH" build --target "$src2/gate" -C "$src2" --diff "$src2/fix.diff" -o "$HP_TMP/twice.hpatch" \
		-- make >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "^unit: gate.c: changed (the object a/gate.o differs)" "$HP_TMP/b.out" &&
	grep -q "b/gate.o has the same bytes as an object already examined" "$HP_TMP/b.out" &&
	grep -q "1 function replaced" "$HP_TMP/b.out"
'

# ---------------------------------------------------------------- hidden symbols, version script, one step
src=$HP_TMP/hidden
cp -a "$SHAPES/hidden" "$src" && make -s -C "$src" >/dev/null &&
	cc -O2 -g -o "$src/app" "$src/app.c" -L"$src" -lnamecheck -Wl,-rpath,"$src"
test_expect_success 'hidden: the changed hidden global is replaced in the library, not carried as new code' '
	"$HOTPATCH" build --target "$src/libnamecheck.so" -C "$src" --diff "$src/fix.diff" \
		--id names-fix -o "$HP_TMP/names.hpatch" -- make >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	readelf -sW "$src/libnamecheck.so" | grep -q " LOCAL .* length_ok$" &&
	grep -q "length_ok: replaced" "$HP_TMP/b.out" &&
	! grep -q "carried\|not in the running binary\|not part of" "$HP_TMP/b.out"
'
hp_start_target "$src/app"; t=$HP_T
test_expect_success 'hidden: applied, names longer than 8 letters are refused; reverted, accepted' '
	hp_expect_eq "$(hp_ask $t abcdefghijk)" ok "before" &&
	hp_run_expect 0 apply -p $(hp_pid $t) --allow-unsigned "$HP_TMP/names.hpatch" &&
	hp_expect_eq "$(hp_ask $t abcdefghijk)" bad "patched" &&
	hp_expect_eq "$(hp_ask $t abc)" ok "patched, short" &&
	hp_run_expect 0 revert -p $(hp_pid $t) names-fix &&
	hp_expect_eq "$(hp_ask $t abcdefghijk)" ok "reverted"
'

# ---------------------------------------------------------------- linked by g++, a probe in /tmp
src=$HP_TMP/gxx
cp -a "$SHAPES/gxx" "$src" && make -s -C "$src" >/dev/null &&
	cc -O2 -g -o "$src/app" "$src/app.c" -L"$src" -ltally -Wl,-rpath,"$src"
test_expect_success 'g++ link: the link is seen, the /tmp probe is not a unit of the library' '
	"$HOTPATCH" build --target "$src/libtally.so" -C "$src" --diff "$src/fix.diff" \
		--id tally-fix -o "$HP_TMP/tally.hpatch" -- make >"$HP_TMP/b.out" 2>&1 || { cat "$HP_TMP/b.out"; exit 1; }
	cat "$HP_TMP/b.out" &&
	grep -q "tally_add: replaced" "$HP_TMP/b.out" &&
	! grep -q "not seen\|probe" "$HP_TMP/b.out"
'
hp_start_target "$src/app"; t=$HP_T
test_expect_success 'g++ link: applied, negative numbers are ignored; reverted, they count' '
	hp_expect_eq "$(hp_ask $t 10)" 10 "before" &&
	hp_run_expect 0 apply -p $(hp_pid $t) --allow-unsigned "$HP_TMP/tally.hpatch" &&
	hp_expect_eq "$(hp_ask $t -4)" 10 "patched" &&
	hp_run_expect 0 revert -p $(hp_pid $t) tally-fix &&
	hp_expect_eq "$(hp_ask $t -4)" 6 "reverted"
'
test_done
