#!/bin/bash
# SPDX-License-Identifier: MIT
# A Debian bookworm root booted with systemd in a container (systemd-nspawn), for the
# opt-in tests t7007 and t7008 (HP_TEST_SYSTEMD=1).  Sourced after lib.sh.
#
#   SD_ROOT                 the root: $HP_SYSTEMD_ROOT, else $HP_BUILD_DIR/systemd-root
#   sd_root_ready           a TAP test: the root exists (debootstrapped on the first run:
#                           minutes; later runs reuse it); the script ends if it does not
#   sd_boot [NSPAWN ARGS]   boot it in this shell (not in a test's subshell: this shell must
#                           be systemd-nspawn's parent to wait for it), as a TAP test.  The
#                           root is a volatile overlay (nothing written persists); $HP_TMP
#                           and the build directory are bound at their own paths.  Sets
#                           SD_NSPAWN and SD_LEADER (host pid of the container's systemd).
#   in_ct CMD...            run CMD in the container (all its namespaces, this environment);
#                           one left running in the background must be started from this
#                           shell, not from a test's subshell
#   sd_poweroff             power the container off and wait for systemd-nspawn (on EXIT)
#
# Power-off is `systemctl poweroff -f` in the container, then waiting for systemd-nspawn
# to exit: it reaps the container's last process.  Killing systemd-nspawn instead (as
# t7007 once did after 20 s) orphans the container's init mid-shutdown, and a host whose
# pid 1 does not reap (this one) keeps it as a `[systemd-shutdow]` zombie.  A process
# started in the container with nsenter must be this shell's child (started outside a
# test's subshell), so that sd_poweroff can end its nsenter first (see there).

SD_ROOT=${HP_SYSTEMD_ROOT:-$HP_BUILD_DIR/systemd-root}
SD_NSPAWN=
SD_LEADER=

in_ct() { nsenter -t "$SD_LEADER" -a "$@"; }

sd_root_ready() {
	if [ ! -x "$SD_ROOT/lib/systemd/systemd" ]; then
		command -v debootstrap >/dev/null ||
			skip_all "needs debootstrap to make the Debian root $SD_ROOT (or HP_SYSTEMD_ROOT=a root made earlier)"
	fi
	test_expect_success 'a Debian root with systemd (cached in the build directory)' '
		if [ ! -x "$SD_ROOT/lib/systemd/systemd" ]; then
			rm -rf "$SD_ROOT.tmp" &&
			debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libelf1,libdw1,libjansson4,libinih1,libssl3,zlib1g \
				bookworm "$SD_ROOT.tmp" http://deb.debian.org/debian >"$HP_TMP/debootstrap.log" 2>&1 ||
				{ tail -20 "$HP_TMP/debootstrap.log"; exit 1; }
			mv "$SD_ROOT.tmp" "$SD_ROOT"
		fi
	'
	[ -x "$SD_ROOT/lib/systemd/systemd" ] || { test_done; exit 1; }
}

# The container's init: a child of systemd-nspawn that is pid 1 in its namespace and has
# become systemd.
_sd_leader() {
	local p
	for p in $(pgrep -P "$SD_NSPAWN"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] &&
			grep -qE "^NSpid:\s+$p\s+1$" "/proc/$p/status" 2>/dev/null && echo "$p" && return 0
	done
	return 1
}

# systemd-nspawn has not exited (a zombie child of ours has: it waits for our `wait`).
_sd_alive() {
	local st
	[ -n "$SD_NSPAWN" ] && st=$(cat "/proc/$SD_NSPAWN/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

_sd_boot() {
	systemd-nspawn --register=no --keep-unit --volatile=overlay --console=passive -q -D "$SD_ROOT" \
		--bind="$HP_TMP" --bind-ro="$HP_BUILD_DIR" "$@" -b </dev/null >"$HP_TMP/nspawn.log" 2>&1 &
	SD_NSPAWN=$!
	hp_wait_until 60 _sd_leader || { cat "$HP_TMP/nspawn.log"; return 1; }
	SD_LEADER=$(_sd_leader) || return 1
	hp_wait_until 120 sh -c "nsenter -t $SD_LEADER -a systemctl is-system-running | grep -qE \"running|degraded\"" ||
		{ cat "$HP_TMP/nspawn.log"; in_ct systemctl --failed; return 1; }
}

sd_boot() {
	local rc
	_sd_boot "$@" >"$HP_TMP/boot.err" 2>&1
	rc=$?
	test_expect_success 'systemd boots in the container (systemd-nspawn)' \
		"[ $rc = 0 ] || { cat \"\$HP_TMP/boot.err\"; exit 1; }"
	[ -n "$SD_LEADER" ] || { test_done; exit 1; }
}

# nsenter processes started by this shell or its subshells.
_sd_our_nsenters() {
	local p q
	for p in $(pgrep -x nsenter); do
		q=$p
		while [ "${q:-0}" -gt 1 ]; do
			q=$(awk '/^PPid:/ {print $2}' "/proc/$q/status" 2>/dev/null)
			[ "$q" = $$ ] && { echo "$p"; break; }
		done
	done
}

sd_poweroff() {
	local i p
	[ -n "$SD_NSPAWN" ] || return 0
	# Our nsenter processes first (t7007's daemon runs under one): a process of the container
	# whose parent is outside it must be reaped by that parent before the namespace's init can
	# exit, and systemd-shutdown stops every process (SIGSTOP) before it kills them, which
	# nsenter copies onto itself: stopped, it never reaps, and the shutdown hangs.  Killed,
	# its child is the container init's to reap.
	for p in $(_sd_our_nsenters); do
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null	# (wait: a child of this shell)
	done
	if _sd_alive; then
		# -f: no unit is stopped one by one; systemd-shutdown kills the rest and exits
		if [ -z "$SD_LEADER" ] || ! timeout 30 nsenter -t "$SD_LEADER" -a systemctl poweroff -f >/dev/null 2>&1; then
			kill -TERM "$SD_NSPAWN" 2>/dev/null	# systemd-nspawn asks the container's systemd to power off
		fi
		for ((i = 0; i < 1200; i++)); do
			_sd_alive || break
			sleep 0.1
		done
		if _sd_alive; then
			# Last resort: the container's init killed ends its PID namespace; nspawn reaps it and exits.
			echo "# the container did not power off in 120 s: SIGKILL to its init" >&2
			[ -n "$SD_LEADER" ] && kill -KILL "$SD_LEADER" 2>/dev/null
			for ((i = 0; i < 300; i++)); do
				_sd_alive || break
				sleep 0.1
			done
			if _sd_alive; then
				# Its init is stuck: killing nspawn leaves it a zombie of the host's pid 1.
				echo "# systemd-nspawn did not exit: killed (its container's init may stay a zombie)" >&2
				kill -KILL "$SD_NSPAWN" 2>/dev/null
			fi
		fi
	fi
	wait "$SD_NSPAWN" 2>/dev/null
	SD_NSPAWN=
}
trap 'sd_poweroff; hp_cleanup' EXIT
