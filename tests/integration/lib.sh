#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared helpers for integration tests (TAP output, run by meson test).
#
#   . "$(dirname "$0")/lib.sh"
#   hp_require ptrace                       # or: root, cc, clang ... (SKIP with reason)
#   hp_start_target "$HP_TMP/calc"; t=$HP_T  # start a target (killed on exit); id in $HP_T
#   hp_ask "$t" 5                            # send a line, print the reply line
#   test_expect_success 'name' 'commands'    # one TAP test
#   test_done
#
# Targets are started with their stdin on a FIFO and stdout in a file, so a
# test can ask a question and read the answer without sleeping.

set -u
export LC_ALL=C

: "${HP_BUILD_DIR:?HP_BUILD_DIR must point at the meson build directory}"
: "${HP_SRC_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
HOTPATCH=${HOTPATCH:-$HP_BUILD_DIR/src/cli/hotpatch}
TARGETS=$HP_BUILD_DIR/tests/targets
HP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hp-test.XXXXXX")
export HOTPATCH TARGETS HP_TMP
# The engine's record key (docs/state-record.md) of a test run is its own, never the host's
# /var/lib/hotpatch/record.key; a test may point it elsewhere.
export HOTPATCH_STATE_DIR=${HOTPATCH_STATE_DIR:-$HP_TMP/state}
mkdir -p -m 700 "$HOTPATCH_STATE_DIR"

_hp_n=0
_hp_fail=0

# Targets started anywhere (also inside test subshells) leave a pid file; all are killed on exit.
hp_cleanup() {
	local f
	for f in "$HP_TMP"/*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$HP_TMP"
}
trap hp_cleanup EXIT

# Print a note that TAP shows as a comment.
say() { printf '# %s\n' "$*"; }

skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 0
}

hp_require() {
	local what
	for what in "$@"; do
		case $what in
		root)
			[ "$(id -u)" = 0 ] || skip_all "needs root"
			;;
		ptrace)
			[ "$(id -u)" = 0 ] || skip_all "needs root to ptrace processes it did not start"
			if [ -r /proc/sys/kernel/yama/ptrace_scope ] &&
			   [ "$(cat /proc/sys/kernel/yama/ptrace_scope)" = 3 ]; then
				skip_all "ptrace disabled (kernel.yama.ptrace_scope=3)"
			fi
			;;
		cc)
			command -v cc >/dev/null || skip_all "needs a C compiler"
			;;
		*)
			command -v "$what" >/dev/null || skip_all "needs $what"
			;;
		esac
	done
}

_hp_report() {
	local ok=$1 name=$2
	_hp_n=$((_hp_n + 1))
	if [ "$ok" = 0 ]; then
		printf 'ok %d - %s\n' "$_hp_n" "$name"
	else
		printf 'not ok %d - %s\n' "$_hp_n" "$name"
		_hp_fail=$((_hp_fail + 1))
	fi
}

# test_expect_success NAME SCRIPT: run SCRIPT (with set -e semantics per &&-chain) in a subshell.
test_expect_success() {
	local _hp_out _hp_rc
	_hp_out=$( (eval "$2") 2>&1 )
	_hp_rc=$?
	_hp_report "$_hp_rc" "$1"
	if [ "$_hp_rc" != 0 ] || [ -n "${HP_VERBOSE:-}" ]; then
		printf '%s\n' "$_hp_out" | sed 's/^/#   /'
	fi
	# meson shows a failed TAP test's stderr, not its stdout: say why there too
	[ "$_hp_rc" = 0 ] || { printf 'FAILED: %s\n' "$1"; printf '%s\n' "$_hp_out" | sed 's/^/  /'; } >&2
	return 0
}

# test_skip NAME REASON
test_skip() {
	_hp_n=$((_hp_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_hp_n" "$1" "$2"
}

test_done() {
	printf '1..%d\n' "$_hp_n"
	[ "$_hp_fail" = 0 ]
	exit $?
}

# Start a target program in the current shell (not in $(...): the FIFO must stay open).
# Its stdin is a FIFO (for hp_ask), stdout/stderr go to $HP_TMP/<id>.out.  Sets HP_T to the id;
# the pid is in $HP_TMP/<id>.pid (hp_pid ID).  Waits for the target to print "ready".
hp_start_target() {
	local id=t$RANDOM$RANDOM fd pid
	mkfifo "$HP_TMP/$id.in" || return 1
	"$@" <"$HP_TMP/$id.in" >"$HP_TMP/$id.out" 2>&1 &
	pid=$!
	disown $pid	# no "Killed" notices when the cleanup kills it
	echo "$pid" >"$HP_TMP/$id.pid"
	exec {fd}>"$HP_TMP/$id.in"
	echo "$fd" >"$HP_TMP/$id.fd"
	HP_T=$id
	hp_wait_for_line "$id" ready 10 || { echo "target $* did not start" >&2; cat "$HP_TMP/$id.out" >&2; return 1; }
}

hp_pid() { cat "$HP_TMP/$1.pid"; }

# hp_wait_for_line ID PATTERN [SECONDS]: wait until the target's output has a line matching PATTERN.
hp_wait_for_line() {
	local id=$1 pat=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 100; i++)); do
		grep -q -- "$pat" "$HP_TMP/$id.out" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# hp_ask ID LINE: send LINE to the target and print its one-line answer.
hp_ask() {
	local id=$1 line=$2 fd n i
	fd=$(cat "$HP_TMP/$id.fd")
	n=$(wc -l <"$HP_TMP/$id.out")
	printf '%s\n' "$line" >&"$fd"
	for ((i = 0; i < 1000; i++)); do
		if [ "$(wc -l <"$HP_TMP/$id.out")" -gt "$n" ]; then
			sed -n "$((n + 1))p" "$HP_TMP/$id.out"
			return 0
		fi
		sleep 0.01
	done
	echo "no answer from target $id" >&2
	return 1
}

# hp_expect_eq ACTUAL EXPECTED [WHAT]
hp_expect_eq() {
	if [ "$1" != "$2" ]; then
		echo "${3:-value}: got '$1', expected '$2'" >&2
		return 1
	fi
}

# hp_threads_fine PID: every thread of PID alive, none stopped (State T/t) or traced (TracerPid).
# A released thread may take a moment to be scheduled: wait up to 2 s; a stopped one stays stopped.
# Shell builtins only (a process per file costs seconds on a loaded machine).  Prints why not;
# returns 1 if a thread is stopped or traced, 2 if the process died.
hp_threads_fine() {
	local pid=$1 i f k v bad
	for ((i = 0; i < 200; i++)); do
		[ -d /proc/$pid ] || { echo "target died"; return 2; }
		bad=""
		for f in /proc/$pid/task/*/status; do
			while read -r k v; do
				case $k in
				State:) case $v in Z*) [ "$f" = /proc/$pid/task/$pid/status ] && { echo "target died (zombie)"; return 2; } ;;
					T* | t*) bad="stopped: $f $v" ;; esac ;;
				TracerPid:) [ "$v" = 0 ] || bad="traced by $v: $f" ;;
				esac
			done <"$f" 2>/dev/null
		done
		[ -z "$bad" ] && return 0
		read -r -t 0.01 <> <(:) || :
	done
	echo "$bad"
	return 1
}

# Run hotpatch and require an exit code: hp_run_expect CODE args...
hp_run_expect() {
	local want=$1 rc
	shift
	"$HOTPATCH" "$@" >"$HP_TMP/last.out" 2>"$HP_TMP/last.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "hotpatch $*: exit $rc, expected $want" >&2
		cat "$HP_TMP/last.out" "$HP_TMP/last.err" >&2
		return 1
	fi
}

HP_TEST_TOOL=$HP_BUILD_DIR/tests/hp-test-tool
TARGET_SRC=$HP_SRC_DIR/tests/targets
HP_CFLAGS=${HP_CFLAGS:--O2 -g}

# hp_compile NAME SRC [--with FILE]... [CC FLAGS...]: build a target the ordinary way
# ($HP_TMP/NAME from SRC and the --with sources), plus the objects of SRC a patch is built from:
# NAME.orig.o, NAME.fix1.o ... NAME.fix3.o (-DHP_FIX=N), all with -ffunction-sections
# -fdata-sections and otherwise the same flags.
hp_compile() {
	local name=$1 src=$2 n with=()
	shift 2
	while [ "${1:-}" = --with ]; do
		with+=("$2")
		shift 2
	done
	cc $HP_CFLAGS "$@" -o "$HP_TMP/$name" "$src" "${with[@]}" || return 1
	cc $HP_CFLAGS "$@" -ffunction-sections -fdata-sections -c "$src" -o "$HP_TMP/$name.orig.o" || return 1
	for n in 1 2 3; do
		cc $HP_CFLAGS "$@" -DHP_FIX=$n -ffunction-sections -fdata-sections -c "$src" \
			-o "$HP_TMP/$name.fix$n.o" || return 1
	done
}

# hp_compile_lib NAME SRC [CC FLAGS...]: like hp_compile for a shared library lib$NAME.so.
hp_compile_lib() {
	local name=$1 src=$2 n
	shift 2
	cc $HP_CFLAGS -fPIC -shared "$@" -o "$HP_TMP/lib$name.so" "$src" || return 1
	cc $HP_CFLAGS -fPIC "$@" -ffunction-sections -fdata-sections -c "$src" -o "$HP_TMP/lib$name.orig.o" || return 1
	for n in 1 2; do
		cc $HP_CFLAGS -fPIC "$@" -DHP_FIX=$n -ffunction-sections -fdata-sections -c "$src" \
			-o "$HP_TMP/lib$name.fix$n.o" || return 1
	done
}

# hp_make_patch NAME FIX OUT [hotpatch build args...]: build a patch for $HP_TMP/NAME (or a path).
hp_make_patch() {
	local name=$1 fix=$2 out=$3 target
	shift 3
	target=$HP_TMP/$name
	"$HOTPATCH" build --target "$target" --orig "$HP_TMP/$name.orig.o" --patched "$HP_TMP/$name.fix$fix.o" \
		-o "$out" "$@" >"$HP_TMP/build.log" 2>&1 || { cat "$HP_TMP/build.log" >&2; return 1; }
}

# Maps of a process with the lines that move on their own ([heap], [stack]) left out.
hp_maps() { grep -v -e '\[heap\]' -e '\[stack\]' "/proc/$1/maps"; }
