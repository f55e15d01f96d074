#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what hotpatch needs to build and test on Debian 12, if missing.
# Sourced by test.sh and demo.sh: hp_ensure_deps [extra packages...]

HP_DEPS=(
	gcc g++ make pkg-config meson ninja-build
	libelf-dev libdw-dev libjansson-dev libssl-dev zlib1g-dev libdebuginfod-dev
	# SHA-256 (linked) and Ed25519 verification (libhogweed, dlopened; OpenSSL when missing): Nettle
	nettle-dev libhogweed6
	# hotpatchd: config file, sd_notify/journald, repository client
	libinih-dev libsystemd-dev libcurl4-openssl-dev
	elfutils binutils patch dpkg-dev
	# tests: tracers and JSON in shell tests, build systems the builder is tested with
	strace jq cmake autoconf automake libtool
	# the CLI's tests: JSON Schema validation, zsh completion syntax, a local debuginfod, packaging
	python3-jsonschema zsh debuginfod debhelper lintian fakeroot
	# hotpatch-server: HTTP (GnuTLS inside), stores, repository import; tests: sqlite3 CLI,
	# a real PostgreSQL, openssl for a test certificate, python3-yaml to read api/openapi.yaml
	libmicrohttpd-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev sqlite3 postgresql curl openssl python3-yaml
	# real-world fixes (tests/realworld): libcue's parser, libexif's autoreconf
	bison flex autopoint
	# the dashboard's browser test (t8050): Debian's chromium (node and npm come with the machine)
	chromium
	# t7007 (opt-in, HP_TEST_SYSTEMD=1): a Debian root with systemd, booted with systemd-nspawn
	debootstrap systemd-container
	# fuzzing and sanitizers
	clang libclang-rt-14-dev
)

hp_ensure_deps() {
	local missing=() p
	for p in "${HP_DEPS[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "hotpatch: missing packages: ${missing[*]}" >&2
		echo "hotpatch: run as root (it installs them with apt-get), or: apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "hotpatch: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# hp_configure DIR [meson options...]: set up (or reuse) a build directory and build it.
hp_configure() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || ninja -C "$dir"
}
