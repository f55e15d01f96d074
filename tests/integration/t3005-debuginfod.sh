#!/bin/bash
# SPDX-License-Identifier: MIT
# A stripped target with no local debug file: hotpatch asks debuginfod
# (DEBUGINFOD_URLS) for the debug file by build-id before refusing.  A local
# debuginfod serves a directory of debug files on loopback; without it the
# build is refused, with it the patch builds and applies to the stripped,
# running program.
. "$(dirname "$0")/lib.sh"
hp_require cc debuginfod debuginfod-find objcopy strip

test_expect_success 'a stripped program and its debug file in a directory' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	mkdir -p "$HP_TMP/served" "$HP_TMP/nodebug" &&
	objcopy --only-keep-debug "$HP_TMP/svc" "$HP_TMP/served/svc.debug" &&
	cp "$HP_TMP/svc" "$HP_TMP/stripped" && strip -s "$HP_TMP/stripped" &&
	! readelf -S "$HP_TMP/stripped" | grep -q "\.symtab" &&
	readelf -n "$HP_TMP/stripped" | grep -q "Build ID"
'
bid=$(readelf -n "$HP_TMP/stripped" 2>/dev/null | awk '/Build ID/ {print $3}')
export HOTPATCH_DEBUG_ROOT=$HP_TMP/nodebug DEBUGINFOD_CACHE_PATH=$HP_TMP/cache
unset DEBUGINFOD_URLS

build() {
	"$HOTPATCH" build --target "$HP_TMP/stripped" --orig "$HP_TMP/svc.orig.o" --patched "$HP_TMP/svc.fix1.o" \
		-o "$HP_TMP/fix.hpatch" --id dbg-fix "$@"
}

test_expect_success 'without debuginfod: the build is refused (no symbols, no debug file)' '
	build >"$HP_TMP/out" 2>&1; hp_expect_eq $? 15 "exit code" &&
	grep -q "no symbol table and no debug file" "$HP_TMP/out"
'

port=$((20000 + RANDOM % 20000))
debuginfod -F "$HP_TMP/served" -p $port -d "$HP_TMP/db.sqlite" -t 0 >"$HP_TMP/debuginfod.log" 2>&1 &
echo $! >"$HP_TMP/debuginfod.pid"
export DEBUGINFOD_URLS=http://127.0.0.1:$port
served=no
for i in $(seq 300); do
	# a fresh cache each time: the client remembers a miss (before the first scan) for minutes
	rm -rf "$HP_TMP/probe"
	if DEBUGINFOD_CACHE_PATH=$HP_TMP/probe debuginfod-find debuginfo "$bid" >/dev/null 2>&1; then served=yes; break; fi
	kill -0 "$(cat "$HP_TMP/debuginfod.pid")" 2>/dev/null || break
	sleep 0.1
done
if [ $served = no ]; then
	test_skip "with debuginfod: the patch builds and applies" \
		"the local debuginfod did not serve the debug file: $(tail -1 "$HP_TMP/debuginfod.log")"
	test_done
fi

test_expect_success 'with debuginfod: symbols come from the served debug file; the patch builds' '
	build >"$HP_TMP/out" 2>&1 || { cat "$HP_TMP/out"; exit 1; }
	grep -q "stripped; symbols from $HP_TMP/cache/" "$HP_TMP/out"
'

if [ "$(id -u)" = 0 ]; then
	hp_start_target "$HP_TMP/stripped"; A=$HP_T; a=$(hp_pid $A)
	test_expect_success 'and it applies to the running stripped program' '
		hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix.hpatch" &&
		hp_expect_eq "$(hp_ask $A "c 5")" 1010 patched
	'
fi
test_done
