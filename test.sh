#!/bin/bash
# SPDX-License-Identifier: MIT
# Build hotpatch and run its tests: unit and integration suites, the unit
# tests again under ASan+UBSan, and a one-minute fuzz session.  Run as root
# on Debian 12; missing build dependencies are installed with apt-get.
#   ./test.sh               everything above, and the realworld suite (HP_SKIP_REALWORLD=1 skips it)
#   ./test.sh --quick       unit and integration suites only
#   HP_FUZZ_SECONDS=N       length of the fuzz session (default 60, 0 skips it)
# The last line is "N passed, N failed, N skipped" (tests, not subtests).
set -u
cd "$(dirname "$0")"
. scripts/deps.sh

quick=
[ "${1:-}" = --quick ] && quick=1
hp_ensure_deps || exit 1

passed=0 failed=0 skipped=0
# count DIR: add the results of the last meson test run in DIR
count() {
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || return
	passed=$((passed + $(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")))
	failed=$((failed + $(jq -s '[.[] | select(.result == "FAIL" or .result == "TIMEOUT" or .result == "ERROR" or .result == "UNEXPECTEDPASS")] | length' "$log")))
	skipped=$((skipped + $(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")))
}

echo "== build"
hp_configure build --buildtype=debugoptimized || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

echo "== unit and integration tests"
meson test -C build --no-rebuild --suite unit --suite integration --print-errorlogs
count build

if [ -z "$quick" ] && [ -z "${HP_SKIP_REALWORLD:-}" ]; then
	echo "== real-world fixes from Debian sources (docs/realworld.md)"
	f=/etc/apt/sources.list.d/debian.sources
	if [ -w "$f" ] && ! grep -q deb-src "$f"; then
		sed -i 's/^Types: deb$/Types: deb deb-src/' "$f" && apt-get update -qq
	fi
	HP_REALWORLD_CACHE=${HP_REALWORLD_CACHE:-$PWD/build/realworld-cache} \
		meson test -C build --no-rebuild --suite realworld --print-errorlogs
	count build
fi

if [ -z "$quick" ]; then
	echo "== unit tests under ASan+UBSan"
	if hp_configure build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --no-rebuild --suite unit --print-errorlogs
		count build-asan
	else
		failed=$((failed + 1))
	fi
	secs=${HP_FUZZ_SECONDS:-60}
	if [ "$secs" != 0 ] && [ -x tests/fuzz/run.sh ]; then
		echo "== fuzzing for ${secs}s"
		if tests/fuzz/run.sh "$secs"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	fi
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
