#!/bin/bash
# SPDX-License-Identifier: MIT
# Real-world fix 5: libuv CVE-2024-24806 (uv__idna_toascii: an empty name is
# accepted, a name filling the buffer is left unterminated), from Debian 12's
# libuv1 source package.
#
# The changed function is a hidden global (libuv compiles with
# -fvisibility=hidden): global in its object, local in libuv.so.  The patch
# must redirect the library's own copy, not carry it as new code that
# nothing calls.  Built with CMake, as Debian builds it.
. "$(dirname "$0")/lib-realworld.sh"
hp_require ptrace cc make patch cmake

PATCHNAME=fix-cve-2024-24806
RW_CVE=CVE-2024-24806
RW_DESC="libuv: uv_getaddrinfo passes an empty or truncated, unterminated host name on"
rw_fetch libuv1
rw_prepare "$PATCHNAME" || { echo "Bail out! cannot prepare the libuv tree"; exit 1; }
export RW_CFLAGS=$(rw_debian_cflags)
RW_PROBE=$HP_TMP/libuv-probe

# only the shared library: no tests, no benchmarks, no static variant
BUILD='cmake -S . -B build -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$RW_CFLAGS" -DLIBUV_BUILD_TESTS=OFF \
	-DLIBUV_BUILD_BENCH=OFF >/dev/null && cmake --build build --target uv -j2'
test_expect_success 'build libuv.so with CMake the ordinary way, and a program using it' '
	(cd "$RW_SRC" && sh -c "$BUILD") >"$HP_TMP/lib.log" 2>&1 || { tail -20 "$HP_TMP/lib.log"; exit 1; }
	readelf -sW "$RW_SRC/build/libuv.so.1" | grep -q " LOCAL .* uv__idna_toascii$" &&
	cc -O2 -g -I"$RW_SRC/include" -o "$RW_PROBE" "$HP_SRC_DIR/tests/realworld/libuv-probe.c" \
		-L"$RW_SRC/build" -luv -Wl,-rpath,"$RW_SRC/build"
'
say "library built ($(rw_elapsed) s)"
rw_build_and_flip "$(readlink -f "$RW_SRC/build/libuv.so.1")" "$RW_SRC" libuv-cve-2024-24806 "$HP_TMP/libuv.hpatch" \
	sh -c "$BUILD"
test_expect_success 'the hidden uv__idna_toascii is replaced in place, nothing carried as new code' '
	grep -q "^unit: src/idna.c: changed" "$HP_TMP/b.out" &&
	grep -q "uv__idna_toascii: replaced" "$HP_TMP/b.out" &&
	hp_expect_eq "$(grep -c ": replaced" "$HP_TMP/b.out")" 1 "replaced functions" &&
	! grep -q "carried\|not in the running binary" "$HP_TMP/b.out"
'
say "total $(rw_elapsed) s"
test_done
