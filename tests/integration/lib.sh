#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared helpers for integration tests (TAP output, run by meson test).
#
#   . "$(dirname "$0")/lib.sh"
#   hp_require ptrace                       # or: root, cc, clang ... (SKIP with reason)
#   t=$(hp_start_target "$TARGETS/counter")  # start a target; killed on exit
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

_hp_n=0
_hp_fail=0
_hp_pids=()

hp_cleanup() {
	local p
	for p in "${_hp_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${_hp_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
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
	local name=$1 script=$2 out rc
	out=$( (eval "$script") 2>&1 )
	rc=$?
	_hp_report "$rc" "$name"
	if [ "$rc" != 0 ]; then
		printf '%s\n' "$out" | sed 's/^/#   /'
	elif [ -n "${HP_VERBOSE:-}" ]; then
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
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

# Start a target program.  Its stdin is a FIFO (for hp_ask), stdout/stderr go to
# $HP_TMP/<id>.out.  Prints an id; the pid is in $HP_TMP/<id>.pid and via hp_pid.
hp_start_target() {
	local id=t$RANDOM$RANDOM
	mkfifo "$HP_TMP/$id.in"
	"$@" <"$HP_TMP/$id.in" >"$HP_TMP/$id.out" 2>&1 &
	local pid=$!
	# hold the FIFO open for writing on a dedicated fd stored by id
	exec {fd}>"$HP_TMP/$id.in"
	echo "$fd" >"$HP_TMP/$id.fd"
	echo "$pid" >"$HP_TMP/$id.pid"
	_hp_pids+=("$pid")
	# wait until the target says it is ready ("ready" on its first line)
	hp_wait_for_line "$id" ready 10 || { echo "target $* did not start" >&2; cat "$HP_TMP/$id.out" >&2; return 1; }
	echo "$id"
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
	local id=$1 fd n i
	fd=$(cat "$HP_TMP/$id.fd")
	n=$(wc -l <"$HP_TMP/$id.out")
	printf '%s\n' "$2" >&"$fd"
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
