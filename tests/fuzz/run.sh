#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/fuzz/run.sh [SECONDS]
#
# Build libhotpatch and the libFuzzer harnesses with clang, ASan and UBSan in
# a separate build directory, then run every harness for its share of
# SECONDS (default 60 in total).  Exits non-zero if any harness crashed,
# leaked, tripped a sanitizer or broke an invariant; the input that did it is
# kept in the artifacts directory and its path printed.  docs/fuzzing.md has
# the long-session recipe.
#
# Environment:
#   HP_FUZZ_BUILD_DIR   build directory             (default: <src>/build-fuzz)
#   HP_FUZZ_WORK_DIR    corpus and artifacts        (default: <build>/fuzz-work)
#   HP_FUZZ_TARGETS     harnesses to run            (default: patch manifest maps verify diff policy index
#                       request buildid; request needs the server's dependencies, docs/server.md)
#   HP_FUZZ_JOBS        parallel jobs per harness   (default: 1)
#   HP_FUZZ_ARGS        extra libFuzzer arguments

set -eu -o pipefail
export LC_ALL=C

total=${1:-60}
case $total in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_src=$src/tests/fuzz
build=${HP_FUZZ_BUILD_DIR:-$src/build-fuzz}
work=${HP_FUZZ_WORK_DIR:-$build/fuzz-work}
targets=${HP_FUZZ_TARGETS:-patch manifest maps verify diff policy index request buildid}
jobs=${HP_FUZZ_JOBS:-1}

command -v clang >/dev/null || { echo "run.sh: clang is required (apt-get install clang libclang-rt-dev)" >&2; exit 2; }

if [ ! -f "$build/build.ninja" ]; then
	# -Dwerror=false: clang warns about things gcc does not; the fuzz build is
	# for finding bugs, the gcc build keeps -Werror.
	CC=clang meson setup "$build" "$src" -Dfuzz=true -Db_lundef=false -Dwerror=false \
		--buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" >/dev/null

mkdir -p "$work/seeds" "$work/artifacts"
"$build/tests/fuzz/hp-fuzz-corpus" "$work/seeds"

set -- $targets
share=$((total / $#))
[ "$share" -ge 1 ] || share=1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in "$@"; do
	case $t in
	patch) seeds="$work/seeds/patch $fuzz_src/seeds/patch $fuzz_src/regressions/patch"; dict=patch.dict; max=16384 ;;
	verify) seeds="$work/seeds/patch $fuzz_src/seeds/patch $fuzz_src/regressions/verify"; dict=patch.dict; max=16384 ;;
	manifest) seeds="$work/seeds/manifest $fuzz_src/seeds/manifest $fuzz_src/regressions/manifest"; dict=patch.dict; max=8192 ;;
	maps) seeds="$work/seeds/maps $fuzz_src/seeds/maps $fuzz_src/regressions/maps"; dict=maps.dict; max=8192 ;;
	buildid) seeds="$work/seeds/buildid $fuzz_src/regressions/buildid"; dict=; max=16384 ;;
	diff) seeds="$fuzz_src/seeds/diff $fuzz_src/regressions/diff"; dict=diff.dict; max=16384 ;;
	policy) seeds="$fuzz_src/seeds/policy $fuzz_src/regressions/policy"; dict=policy.dict; max=8192 ;;
	index) seeds="$fuzz_src/seeds/index $fuzz_src/regressions/index"; dict=index.dict; max=16384 ;;
	request)
		seeds="$fuzz_src/seeds/request $fuzz_src/regressions/request"; dict=request.dict; max=16384
		if [ ! -x "$build/tests/fuzz/fuzz-request" ]; then
			echo "== fuzz-request: not built (hotpatch-server's dependencies missing); skipped"
			continue
		fi
		;;
	*) echo "run.sh: unknown harness '$t'" >&2; exit 2 ;;
	esac
	dirs=("$work/corpus/$t")
	mkdir -p "$work/corpus/$t"
	for d in $seeds; do
		[ -d "$d" ] && dirs+=("$d")
	done
	echo "== fuzz-$t for ${share}s (corpus $work/corpus/$t)"
	par=()
	[ -n "$dict" ] && par+=(-dict="$fuzz_src/$dict")
	# Parallel jobs write their own fuzz-N.log files into the current directory ($work).
	[ "$jobs" -gt 1 ] && par+=(-jobs="$jobs" -workers="$jobs")
	rc=0
	# shellcheck disable=SC2086
	(cd "$work" && "$build/tests/fuzz/fuzz-$t" -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$max" -artifact_prefix="$work/artifacts/$t-" \
		-print_final_stats=1 "${par[@]}" ${HP_FUZZ_ARGS:-} "${dirs[@]}") >"$work/fuzz-$t.log" 2>&1 || rc=$?
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$work/fuzz-$t.log" || true
	if [ "$rc" != 0 ]; then
		failed+=("$t")
		echo "!! fuzz-$t failed (exit $rc); last lines of $work/fuzz-$t.log:"
		grep -E 'ERROR|SUMMARY|invariant|Test unit written|artifact_prefix' "$work/fuzz-$t.log" | tail -n 20 || true
	fi
done

if [ "${#failed[@]}" != 0 ]; then
	echo
	echo "crashing inputs (add each to tests/fuzz/regressions/<harness>/ with the fix):"
	ls -1 "$work/artifacts/" 2>/dev/null | sed "s|^|  $work/artifacts/|"
	echo "reproduce: $build/tests/fuzz/fuzz-<harness> FILE"
	exit 1
fi
echo "no crashes in ${total}s"
