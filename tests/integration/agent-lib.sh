#!/bin/bash
# SPDX-License-Identifier: MIT
# Helpers for the hotpatchd tests (t70NN): sourced after lib.sh.
#
#   hp_agent_setup            keys, trust dir, store, state, config in $HP_TMP/agent.conf
#   hp_agent_start            start hotpatchd --foreground (killed on exit); log in $HP_TMP/hotpatchd.log
#   hp_agent_stop             SIGTERM and wait
#   hp_wait_until SECS CMD..  run CMD every 20 ms until it succeeds (no fixed sleeps)

HOTPATCHD=${HOTPATCHD:-$HP_BUILD_DIR/src/agent/hotpatchd}
AG_TRUST=$HP_TMP/trusted AG_STORE=$HP_TMP/store AG_STATE=$HP_TMP/state AG_SOCK=$HP_TMP/hotpatchd.sock
AG_POLICY=$HP_TMP/etc/policy.json
export HOTPATCH_TRUST_DIR=$AG_TRUST HOTPATCH_STORE_DIR=$AG_STORE HOTPATCHD_SOCKET=$AG_SOCK

hp_agent_setup() {
	mkdir -p "$AG_TRUST" "$AG_STORE" "$AG_STATE" "$HP_TMP/etc" &&
	"$HOTPATCH" keygen -o "$HP_TMP/key" >/dev/null && cp "$HP_TMP/key.pub" "$AG_TRUST/" &&
	AG_METRICS_PORT=$((20000 + RANDOM % 20000)) &&
	echo "$AG_METRICS_PORT" >"$HP_TMP/metrics.port" &&
	cat >"$HP_TMP/agent.conf" <<-EOC
	# hotpatchd test configuration
	[paths]
	store = $AG_STORE
	state = $AG_STATE
	trust = $AG_TRUST
	policy = $AG_POLICY
	[agent]
	watch_paths = $HP_TMP
	rescan_interval = 3600
	assess_interval = 0
	[control]
	socket = $AG_SOCK
	[metrics]
	listen = 127.0.0.1:$AG_METRICS_PORT
	EOC
}

hp_agent_start() {
	"$HOTPATCHD" --foreground -c "$HP_TMP/agent.conf" "$@" >>"$HP_TMP/hotpatchd.log" 2>&1 &
	echo $! >"$HP_TMP/hotpatchd.pid"
	disown $!
	hp_wait_until 30 test -S "$AG_SOCK" && hp_wait_until 30 grep -q "hotpatchd started" "$HP_TMP/hotpatchd.log"
}

hp_agent_stop() {
	local pid
	pid=$(cat "$HP_TMP/hotpatchd.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	hp_wait_until 30 sh -c "! kill -0 $pid 2>/dev/null"
	rm -f "$HP_TMP/hotpatchd.pid" "$AG_SOCK"
}

hp_wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 50; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "timed out after ${secs}s waiting for: $*" >&2
	return 1
}

# hp_answers ID LINE WANT: the target answers LINE with WANT (asked again until it does, up to 10 s).
hp_answers() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(hp_ask "$1" "$2")" = "$3" ] && return 0
		sleep 0.05
	done
	echo "target $1 answers '$2' with '$(hp_ask "$1" "$2")', expected '$3'" >&2
	return 1
}

# No process of ours is stopped or traced.
hp_none_stopped() {
	local f pid st
	for f in "$HP_TMP"/*.pid; do
		pid=$(cat "$f")
		[ -r "/proc/$pid/status" ] || continue
		st=$(awk '/^State:/ {print $2} /^TracerPid:/ {print $2}' "/proc/$pid/status" | tr '\n' ' ')
		case $st in
		"T "* | "t "* | *" "[1-9]*) echo "pid $pid: state/tracer $st" >&2; return 1 ;;
		esac
	done
}

# Start without waiting for the start-up sweep (for killing it mid-way).
hp_agent_start_nowait() {
	"$HOTPATCHD" --foreground -c "$HP_TMP/agent.conf" "$@" >>"$HP_TMP/hotpatchd.log" 2>&1 &
	echo $! >"$HP_TMP/hotpatchd.pid"
	disown $!
}
