#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch build -C/--diff says which phase it is in (on a terminal and with
# -v, on stderr; never with -q or into a pipe without -v), and -j N is the
# build command's jobs (make sees -jN in MAKEFLAGS), never --json.
. "$(dirname "$0")/lib.sh"
hp_require cc make patch

S=$HP_TMP/src
mkdir -p "$S"
cat >"$S/a.c" <<'C'
#include <stdio.h>
int compute(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x; return s; }
int main(void) { printf("%d\n", compute(5)); return 0; }
C
cat >"$S/Makefile" <<'M'
CFLAGS ?= -O2 -g
prog: a.o
	@echo "$(MAKEFLAGS)" >flags.txt
	$(CC) $(CFLAGS) -o prog a.o
a.o: a.c
	$(CC) $(CFLAGS) -c -o a.o a.c
M
(cd "$S" && make -s >/dev/null) || skip_all "the small project does not build"
# the running binary lives outside the tree, so that the copies build it afresh
mv "$S/prog" "$HP_TMP/prog" && rm -f "$S/flags.txt" "$S/a.o"
cat >"$HP_TMP/fix.diff" <<'D'
--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 #include <stdio.h>
-int compute(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x; return s; }
+int compute(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x + 1; return s; }
 int main(void) { printf("%d\n", compute(5)); return 0; }
D

test_expect_success 'build -v -j 3: the five phases in order, and make runs with -j3' '
	"$HOTPATCH" build -v -j 3 --target "$HP_TMP/prog" -C "$S" --diff "$HP_TMP/fix.diff" -o "$HP_TMP/p.hpatch" \
		--work-dir "$HP_TMP/work" -- make >"$HP_TMP/out" 2>"$HP_TMP/err" || { cat "$HP_TMP/err"; exit 1; }
	[ -s "$HP_TMP/p.hpatch" ] &&
	hp_expect_eq "$(grep -o "^hotpatch build: \[[0-9]/5\]" "$HP_TMP/err" | tr -d "\n")" \
		"hotpatch build: [1/5]hotpatch build: [2/5]hotpatch build: [3/5]hotpatch build: [4/5]hotpatch build: [5/5]" phases &&
	grep -q "^hotpatch build: \[2/5\] original build" "$HP_TMP/err" &&
	grep -q "^hotpatch build: \[3/5\] fixed build (the diff applied)" "$HP_TMP/err" &&
	grep -q "j3" "$HP_TMP/work/orig/flags.txt" && grep -q "j3" "$HP_TMP/work/fixed/flags.txt"
'

test_expect_success 'into a pipe without -v, or with -q: no phase lines' '
	"$HOTPATCH" build --target "$HP_TMP/prog" -C "$S" --diff "$HP_TMP/fix.diff" -o "$HP_TMP/p2.hpatch" -- make \
		>/dev/null 2>"$HP_TMP/err2" &&
	! grep -q "\[1/5\]" "$HP_TMP/err2" &&
	"$HOTPATCH" build -q -v --target "$HP_TMP/prog" -C "$S" --diff "$HP_TMP/fix.diff" -o "$HP_TMP/p3.hpatch" -- make \
		>/dev/null 2>"$HP_TMP/err3" &&
	! grep -q "\[1/5\]" "$HP_TMP/err3"
'
test_done
