#!/bin/bash
# SPDX-License-Identifier: MIT
# Every kind of change the builder supports, one small make project each
# under tests/kinds/: built the ordinary way (-O2 -g, PIE, and non-PIE where
# the kind cares), started, patched live from its fix.diff with
# `hotpatch build -C SRC --diff fix.diff -- make`, checked, reverted and
# checked again.  The refusal kinds (*-fail) must stop the build with exit
# 15 and a reason naming the cause.
#
# A kind is a directory with its sources, fix.diff, kind.conf and, unless
# common/Makefile (main.c and kind.c make "prog") fits, a Makefile of its
# own.  kind.conf is a bash fragment that sets:
#   variants="pie nopie"        which builds to test (default: pie)
#   targets="libk.so prog"      binaries to patch, in apply order (default: prog)
#   checks=("REQ|BEFORE|AFTER[|REVERTED]" ...)   lines sent to the program and
#                               the answers expected before, while patched, and
#                               after the revert (default: as before)
#   expect_build=(REGEX ...)    lines the build output must have
#   reject_build=(REGEX ...)    lines it must not have
#   expect_exit=N               exit code of hotpatch build (15: refused)
#   target_make=(ARGS)          extra make arguments for the running build only
#   base=KIND                   start from that kind's files (the kind's own go over them)
# and may define kind_prepare (after the target is built), kind_patch (build
# the patches some other way) or kind_run (the whole test body).
# The programs share tests/kinds/common/main.c: print "ready", then answer
# each line of stdin with answer(line).
#
# HP_KINDS="05 08" runs only the kinds whose names start so.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc make patch

KINDS=$HP_SRC_DIR/tests/kinds

# Build flags of a variant.
variant_make() {
	case $1 in
	pie) printf '%s\n' "CFLAGS=-O2 -g -fPIE" "LDFLAGS=-pie" ;;
	nopie) printf '%s\n' "CFLAGS=-O2 -g -fno-pie" "LDFLAGS=-no-pie" ;;
	esac
}

# kind_checks ID before|after|reverted: ask every check line, compare the answers.
kind_checks() {
	local id=$1 col=$2 line req b a r want got
	for line in "${checks[@]}"; do
		IFS='|' read -r req b a r <<<"$line"
		case $col in
		before) want=$b ;;
		after) want=$a ;;
		reverted) want=${r:-$b} ;;
		esac
		got=$(hp_ask "$id" "$req") || return 1
		hp_expect_eq "$got" "$want" "$col: '$req'" || return 1
	done
}

# kind_build_patches: one patch per target from the diff, all output in $W/build.out.
kind_build_patches() {
	local tgt rc=0
	: >"$W/build.out"
	for tgt in $targets; do
		"$HOTPATCH" build --target "$W/src/$tgt" -C "$W/src" --diff "$W/src/$diff" -o "$W/$tgt.hpatch" \
			--id "$kind-$variant-${tgt%%.*}" "${patch_args[@]}" -- make "${mk[@]}" >>"$W/build.out" 2>&1 || rc=$?
		[ $rc = 0 ] || break
	done
	return $rc
}

# kind_expect_build RC: the exit code and the decisions printed.
kind_expect_build() {
	local rc=$1 re
	cat "$W/build.out"
	hp_expect_eq "$rc" "$expect_exit" "exit code of hotpatch build" || return 1
	for re in "${expect_build[@]}"; do
		grep -Eq -- "$re" "$W/build.out" || { echo "build output lacks /$re/" >&2; return 1; }
	done
	for re in "${reject_build[@]}"; do
		! grep -Eq -- "$re" "$W/build.out" || { echo "build output has /$re/" >&2; return 1; }
	done
}

# The standard body: start, check, apply every patch, check, revert them all, check.
kind_standard() {
	local tgt pid t ids=""
	hp_start_target env LD_LIBRARY_PATH="$W/src" "$W/src/prog"; t=$HP_T
	pid=$(hp_pid "$t")
	for tgt in $targets; do ids="$kind-$variant-${tgt%%.*} $ids"; done
	test_expect_success "$kind ($variant): before the patch" 'kind_checks $t before'
	test_expect_success "$kind ($variant): applied live" '
		for tgt in $targets; do
			hp_run_expect 0 apply -p $pid --allow-unsigned "$W/$tgt.hpatch" || exit 1
		done &&
		kind_checks $t after
	'
	test_expect_success "$kind ($variant): reverted" '
		for id in $ids; do hp_run_expect 0 revert -p $pid $id || exit 1; done &&
		kind_checks $t reverted &&
		"$HOTPATCH" status -p $pid | grep -q "no patches applied"
	'
	kill -9 "$pid" 2>/dev/null
}

run_kind() {
	local dir=$1 rc
	kind=$(basename "$dir")
	variants=pie targets=prog expect_exit=0 diff=fix.diff base=
	checks=() expect_build=() reject_build=() target_make=() patch_args=()
	unset -f kind_prepare kind_patch kind_run
	. "$dir/kind.conf"
	for variant in $variants; do
		W=$HP_TMP/$kind-$variant
		mapfile -t mk < <(variant_make $variant)
		test_expect_success "$kind ($variant): build the program and the patch" '
			mkdir -p "$W/src" && { [ -z "$base" ] || cp -a "$KINDS/$base/." "$W/src/"; } &&
			cp -a "$dir/." "$W/src/" && cp "$KINDS/common/main.c" "$W/src/" &&
			{ [ -f "$W/src/Makefile" ] || cp "$KINDS/common/Makefile" "$W/src/"; } &&
			make -s -C "$W/src" "${mk[@]}" "${target_make[@]}" >"$W/make.log" 2>&1 ||
				{ cat "$W/make.log"; exit 1; }
			if declare -F kind_prepare >/dev/null; then kind_prepare || exit 1; fi
			if declare -F kind_patch >/dev/null; then kind_patch; else kind_build_patches; fi
			kind_expect_build $?
		'
		if declare -F kind_run >/dev/null; then
			kind_run
		elif [ "$expect_exit" = 0 ] && [ -n "${checks[*]}" ]; then
			kind_standard
		fi
	done
}

for dir in "$KINDS"/[0-9]*/ "$KINDS"/*-fail/ "$KINDS"/*-warn/; do
	dir=${dir%/}
	[ -f "$dir/kind.conf" ] || continue
	if [ -n "${HP_KINDS:-}" ]; then
		match=
		for k in $HP_KINDS; do case $(basename "$dir") in "$k"*) match=1 ;; esac; done
		[ -n "$match" ] || continue
	fi
	run_kind "$dir"
done
test_done
