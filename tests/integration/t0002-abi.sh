#!/bin/bash
# SPDX-License-Identifier: MIT
# The library's ABI is its header: libhotpatch.so exports exactly the
# functions include/hotpatch/hotpatch.h declares (no more, no fewer), and the
# version script src/lib/libhotpatch.map lists the same names.  Internal
# functions, above all hp_apply_checked (which can skip the signature check),
# stay local.  Costs well under a second.
. "$(dirname "$0")/lib.sh"
hp_require cc nm

lib=$HP_BUILD_DIR/src/lib/libhotpatch.so
header=$HP_SRC_DIR/include/hotpatch/hotpatch.h
map=$HP_SRC_DIR/src/lib/libhotpatch.map

# Declared functions: identifiers followed by "(" in the preprocessed header (comments gone).
cc -E -P -I"$HP_SRC_DIR/include" "$header" | grep -oE '\bhp_[a-z0-9_]+[[:space:]]*\(' |
	tr -d '( \t' | sort -u >"$HP_TMP/declared"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtDdBbRrVWiu]$/ {print $3}' | sed 's/@.*//' |
	grep -v '^HOTPATCH_' | sort -u >"$HP_TMP/exported"
sed -n 's/^[[:space:]]*\(hp_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u >"$HP_TMP/mapped"

test_expect_success 'the header declares functions' '[ "$(wc -l <"$HP_TMP/declared")" -gt 30 ]'
test_expect_success 'libhotpatch.so exports exactly the functions the header declares' '
	diff -u --label declared --label exported "$HP_TMP/declared" "$HP_TMP/exported"
'
test_expect_success 'the version script lists exactly the header functions (no wildcard)' '
	! grep -q "hp_\*" "$map" &&
	diff -u --label declared --label libhotpatch.map "$HP_TMP/declared" "$HP_TMP/mapped"
'
test_expect_success 'the signature-skipping internal entry points are not exported' '
	for f in hp_apply_checked hp_revert_opened hp_err hp_srec_read; do
		! grep -qx "$f" "$HP_TMP/exported" || { echo "$f is exported"; exit 1; }
	done
'
test_expect_success 'every exported symbol carries the version HOTPATCH_0.1' '
	nm -D --defined-only "$lib" | awk "\$3 ~ /^hp_/ {print \$3}" | grep -v "@@HOTPATCH_0.1\$" >"$HP_TMP/unversioned";
	[ ! -s "$HP_TMP/unversioned" ] || { cat "$HP_TMP/unversioned"; exit 1; }
'
test_done
