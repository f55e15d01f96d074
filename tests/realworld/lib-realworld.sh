#!/bin/bash
# SPDX-License-Identifier: MIT
# Helpers for the real-world fixes (suite 'realworld', docs/realworld.md):
# fetch a Debian source package with apt, prepare the tree just before one
# of its debian/patches, build it the ordinary way, then let hotpatch build
# the fix from that patch file.
#
#   . "$(dirname "$0")/lib-realworld.sh"
#   rw_fetch giflib                      # sets RW_DSC (SKIPs when apt cannot serve it)
#   rw_prepare CVE-2026-26740.patch      # sets RW_SRC (the pre-fix tree) and RW_PATCH
#
# HP_REALWORLD_CACHE=DIR keeps the downloads between runs (CI caches it);
# without it they go to the test's temporary directory.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

RW_CACHE=${HP_REALWORLD_CACHE:-$HP_TMP/cache}
mkdir -p "$RW_CACHE/sources"
RW_T0=$(date +%s)

# Seconds since the script started, for the timing notes in docs/realworld.md.
rw_elapsed() { echo $(($(date +%s) - RW_T0)); }

# rw_fetch PKG: the newest source version of PKG that apt can download (cached).
rw_fetch() {
	local pkg=$1 v dir=$RW_CACHE/sources/$1 versions
	command -v apt-get >/dev/null || skip_all "needs apt-get (Debian) to fetch $pkg"
	command -v dpkg-source >/dev/null || skip_all "needs dpkg-source (dpkg-dev) to unpack $pkg"
	mkdir -p "$dir"
	RW_DSC=$(ls -t "$dir"/*.dsc 2>/dev/null | head -1)
	if [ -n "$RW_DSC" ]; then
		say "$pkg: using the cached $(basename "$RW_DSC")"
		return 0
	fi
	versions=$(apt-cache showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -rV | uniq)
	[ -n "$versions" ] || skip_all "apt knows no source package $pkg (no deb-src lines in the apt sources, or no 'apt-get update')"
	# the newest first; a mirror may list a version whose files it no longer has
	for v in $versions; do
		if (cd "$dir" && apt-get source --download-only "$pkg=$v") >"$dir/fetch.log" 2>&1; then
			RW_DSC=$(ls -t "$dir"/*.dsc | head -1)
			say "$pkg: fetched $(basename "$RW_DSC")"
			return 0
		fi
	done
	skip_all "apt-get source $pkg failed for every version ($(echo $versions)); the apt sources are unreachable: $(tail -1 "$dir/fetch.log")"
}

# rw_prepare PATCHNAME: unpack RW_DSC into $HP_TMP/src with the Debian patches before PATCHNAME applied.
rw_prepare() {
	local name=$1 line p opts found=
	RW_SRC=$HP_TMP/src
	rm -rf "$RW_SRC"
	dpkg-source --skip-patches -x "$RW_DSC" "$RW_SRC" >"$HP_TMP/unpack.log" 2>&1 ||
		{ cat "$HP_TMP/unpack.log" >&2; return 1; }
	RW_PATCH=$RW_SRC/debian/patches/$name
	[ -f "$RW_PATCH" ] || skip_all "$(basename "$RW_DSC") carries no debian/patches/$name"
	while read -r p opts; do
		case $p in '' | '#'*) continue ;; esac
		if [ "$p" = "$name" ]; then found=1; break; fi
		patch -d "$RW_SRC" ${opts:--p1} -s -f -i "debian/patches/$p" >/dev/null ||
			{ echo "debian/patches/$p does not apply" >&2; return 1; }
	done <"$RW_SRC/debian/patches/series"
	[ -n "$found" ] || skip_all "debian/patches/$name is not in the series of $(basename "$RW_DSC")"
	say "prepared $(basename "$RW_SRC") just before $name ($(rw_elapsed) s)"
}

# Debian's own compiler flags for a package build (hardening included), less the
# file-prefix map that names the directory dpkg-buildflags ran in.
rw_debian_cflags() {
	if command -v dpkg-buildflags >/dev/null; then
		echo "$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" | sed 's/-ffile-prefix-map=[^ ]*//g'
	else
		echo "-g -O2"
	fi
}

# Known builder limitations that turn a step into a SKIP quoting the message: none today.  Every
# fix of this suite builds and applies, so any failure is a failure (docs/realworld.md).
RW_KNOWN_LIMITS=()
RW_BLOCKED=

# rw_limited FILE: print the known-limitation line found in FILE, if any.
rw_limited() {
	local pat
	for pat in "${RW_KNOWN_LIMITS[@]}"; do
		grep -m1 -e "$pat" "$1" && return 0
	done
	return 1
}

# rw_step NAME COMMAND...: one TAP step; a known builder limitation makes it and all later steps SKIP.
rw_step() {
	local name=$1 out=$HP_TMP/step.out
	shift
	if [ -n "$RW_BLOCKED" ]; then
		test_skip "$name" "blocked by a known builder limitation: $RW_BLOCKED"
		return
	fi
	if (eval "$*") >"$out" 2>&1; then
		_hp_report 0 "$name"
		[ -n "${HP_VERBOSE:-}" ] && sed 's/^/#   /' "$out"
	elif RW_BLOCKED=$(rw_limited "$out"); then
		test_skip "$name" "blocked by a known builder limitation: $RW_BLOCKED"
	else
		_hp_report 1 "$name"
		sed 's/^/#   /' "$out"
	fi
	return 0
}

# rw_build_and_flip TARGET SRCDIR PATCH_ID HPATCH [BUILD_CMD...]: build the hotpatch from $RW_PATCH
# (RW_BUILD_OPTS: more options of hotpatch build, e.g. -B DIR, which lets the command be left out),
# start $RW_PROBE, then: vulnerable, applied live -> fixed, reverted -> vulnerable, one process.
RW_BUILD_OPTS=()
rw_build_and_flip() {
	local target=$1 src=$2 id=$3 hpatch=$4 t pid
	shift 4
	RW_BUILD_ARGS=("$@")
	rw_step "hotpatch build from debian/patches/$(basename "$RW_PATCH")" '
		"$HOTPATCH" build --target "$target" -C "$src" --diff "$RW_PATCH" -o "$hpatch" --id "$id" \
			--classification security --cve "$RW_CVE" --description "$RW_DESC" "${RW_BUILD_OPTS[@]}" ${RW_BUILD_ARGS[0]+--} "${RW_BUILD_ARGS[@]}" \
			>"$HP_TMP/b.out" 2>&1; rc=$?; cat "$HP_TMP/b.out"; exit $rc
	'
	say "hotpatch build done ($(rw_elapsed) s):"
	sed "s/^/#   /" "$HP_TMP/b.out"
	hp_start_target "$RW_PROBE"; t=$HP_T
	pid=$(hp_pid "$t")
	test_expect_success 'the running process is vulnerable' '
		hp_ask $t probe | tee "$HP_TMP/p1" && grep -q "^vulnerable" "$HP_TMP/p1"
	'
	rw_step 'applied live: the same process is fixed' '
		hp_run_expect 0 apply -p $pid --allow-unsigned "$hpatch"; rc=$?; cat "$HP_TMP/last.err"; [ $rc = 0 ] &&
		hp_ask $t probe | tee "$HP_TMP/p2" && grep -q "^fixed" "$HP_TMP/p2" &&
		"$HOTPATCH" status -p $pid | grep -q "$id"
	'
	rw_step 'reverted: vulnerable again' '
		hp_run_expect 0 revert -p $pid "$id" &&
		hp_ask $t probe | tee "$HP_TMP/p3" && grep -q "^vulnerable" "$HP_TMP/p3"
	'
	say "probe answers: $(cat "$HP_TMP"/p[123] 2>/dev/null | cut -d: -f1 | tr '\n' ' ')"
}
