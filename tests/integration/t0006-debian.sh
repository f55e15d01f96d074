#!/bin/bash
# SPDX-License-Identifier: MIT
# Debian packaging (opt-in: HP_TEST_DEBIAN=1; it builds the whole tree again
# with dpkg-buildpackage, about 3 minutes on 2 idle CPUs, 5-10 on a busy one).
# `dpkg-buildpackage -us -uc -b` produces libhotpatch0, libhotpatch-dev and
# hotpatch; lintian reports no error; installed into a scratch root with
# dpkg --root, the CLI runs (--version, verify, apply on a demo process), the
# library and its header and pkg-config file build a program, hotpatch-cc is
# in /usr/libexec/hotpatch, and /etc/hotpatch/trusted.d exists (0755 root).
. "$(dirname "$0")/lib.sh"
[ "${HP_TEST_DEBIAN:-}" = 1 ] || skip_all "opt-in: set HP_TEST_DEBIAN=1 (rebuilds the tree as packages, minutes)"
hp_require root cc dpkg-buildpackage dh lintian

W=$HP_TMP/deb
test_expect_success 'dpkg-buildpackage -us -uc -b builds the three packages' '
	mkdir -p "$W/src" &&
	if git -C "$HP_SRC_DIR" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$HP_SRC_DIR" ls-files -z | (cd "$HP_SRC_DIR" && xargs -0 cp --parents -t "$W/src")
	else
		cp -a "$HP_SRC_DIR/." "$W/src" && rm -rf "$W/src/build"*
	fi &&
	(cd "$W/src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1) ||
		{ tail -30 "$W/build.log"; exit 1; }
	for p in libhotpatch0 libhotpatch-dev hotpatch; do
		ls "$W"/${p}_*_amd64.deb >/dev/null || { echo "no $p package"; exit 1; }
	done
'

test_expect_success 'lintian reports no error' '
	lintian --tag-display-limit 0 "$W"/*.changes >"$W/lintian.log" 2>&1
	cat "$W/lintian.log" | grep -v "root privileges" | sed "s/^/  /" &&
	! grep -q "^E: " "$W/lintian.log"
'

R=$W/root
test_expect_success 'the packages install into a scratch root' '
	mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" &&
	touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available" &&
	dpkg --root="$R" --force-depends --force-script-chrootless -i "$W"/libhotpatch0_*_amd64.deb \
		"$W"/libhotpatch-dev_*_amd64.deb "$W"/hotpatch_*_amd64.deb >"$W/install.log" 2>&1 ||
		{ cat "$W/install.log"; exit 1; }
	dpkg --root="$R" -l | grep -q "^ii  hotpatch "
'

test_expect_success 'files where a Debian admin expects them' '
	[ -x "$R/usr/bin/hotpatch" ] && [ -x "$R/usr/libexec/hotpatch/hotpatch-cc" ] &&
	[ ! -e "$R/usr/bin/hotpatch-cc" ] &&
	hp_expect_eq "$(stat -c "%a %U %G" "$R/etc/hotpatch/trusted.d")" "755 root root" "trust directory" &&
	[ -f "$R/usr/share/man/man1/hotpatch-apply.1.gz" ] &&
	[ -f "$R/usr/share/bash-completion/completions/hotpatch" ] &&
	[ -f "$R/usr/share/zsh/vendor-completions/_hotpatch" ] &&
	[ -f "$R/usr/include/hotpatch/hotpatch.h" ] &&
	ls "$R"/usr/lib/*/libhotpatch.so.0 >/dev/null && ls "$R"/usr/lib/*/pkgconfig/libhotpatch.pc >/dev/null
'

H=$R/usr/bin/hotpatch
test_expect_success 'the installed CLI: --version, keygen, sign, verify' '
	"$H" --version | grep -q "^hotpatch [0-9]" &&
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id deb-fix &&
	"$H" keygen -o "$HP_TMP/k" >/dev/null &&
	"$H" sign --key "$HP_TMP/k.key" -o "$HP_TMP/s.hpatch" "$HP_TMP/fix.hpatch" >/dev/null &&
	install -m 0644 "$HP_TMP/k.pub" "$R/etc/hotpatch/trusted.d/" &&
	"$H" verify --trust-dir "$R/etc/hotpatch/trusted.d" "$HP_TMP/s.hpatch"
'

if [ -e "$HP_TMP/s.hpatch" ]; then
	hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
fi
test_expect_success 'the installed CLI applies and reverts a patch in a running process' '
	"$H" apply -p $a --trust-dir "$R/etc/hotpatch/trusted.d" "$HP_TMP/s.hpatch" &&
	hp_expect_eq "$(hp_ask $A "c 5")" 1010 patched &&
	"$H" revert -p $a deb-fix && hp_expect_eq "$(hp_ask $A "c 5")" 10 reverted
'

test_expect_success 'libhotpatch-dev: a program builds with pkg-config and runs against libhotpatch0' '
	printf "#include <hotpatch/hotpatch.h>\n#include <stdio.h>\nint main(void){struct hp_ctx *c; if (hp_ctx_new(&c) < 0) return 1; printf(\"%%s\\\\n\", hp_strerror(-HP_E_UNSIGNED)); hp_ctx_free(c); return 0;}\n" >"$HP_TMP/p.c" &&
	PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$(echo "$R"/usr/lib/*/pkgconfig) \
		cc "$HP_TMP/p.c" -o "$HP_TMP/p" $(PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$(echo "$R"/usr/lib/*/pkgconfig) pkg-config --cflags --libs libhotpatch) &&
	LD_LIBRARY_PATH=$(echo "$R"/usr/lib/x86_64-linux-gnu) "$HP_TMP/p" | grep -qi sign
'
test_done
