#!/bin/bash
# SPDX-License-Identifier: MIT
# Safety: hotpatchd killed with SIGKILL, or stopped with SIGTERM, at random
# moments of its start-up sweep over many processes leaves none stopped,
# traced or half-patched (each runs the original or the whole patch, and
# says so consistently); a restarted daemon reads what is applied from the
# processes and applies nothing twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
hp_require ptrace cc jq

N=${HP_AGENT_KILL_PROCS:-20}
test_expect_success 'setup: a patch in the store' '
	hp_agent_setup &&
	# one process at a time: a stop mid-sweep leaves some patched and some not
	sed -i "s/^\[agent\]$/[agent]\nsweep_jobs = 1/" "$HP_TMP/agent.conf" &&
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/calc.hpatch" --id calc-fix-1 --classification security &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/calc.hpatch" >/dev/null &&
	"$HOTPATCH" install "$HP_TMP/calc.hpatch" >/dev/null
'
ids=()
for ((i = 0; i < N; i++)); do
	hp_start_target "$HP_TMP/calc" || break
	ids+=("$HP_T")
done
say "$N processes"

for id in "${ids[@]}"; do hp_pid "$id"; done >"$HP_TMP/ours"
# Applied times of the records in our processes (one read-only scan of the host: `status --all`).
records() {
	"$HOTPATCH" status --all --json |
		jq -r --slurpfile ours <(jq -s . "$HP_TMP/ours") \
			".processes[] | select(.pid as \$p | \$ours[0] | index(\$p)) | select(.patches[0].state == \"active\" and .patches[0].consistent == true) | \"\\(.pid) \\(.patches[0].applied_time)\"" |
		sort
}

# Every process answers either the original or the patched result, and its own record agrees.
consistent() {
	local id pid ans n=0
	records >"$HP_TMP/rec" || return 1
	for id in "${ids[@]}"; do
		pid=$(hp_pid "$id")
		ans=$(hp_ask "$id" "c 5") || return 1
		if grep -q "^$pid " "$HP_TMP/rec"; then
			[ "$ans" = 1018 ] || { echo "pid $pid has a record but answers $ans" >&2; return 1; }
			n=$((n + 1))
		else
			[ "$ans" = 18 ] || { echo "pid $pid has no consistent record but answers $ans" >&2; return 1; }
		fi
	done
	echo "$n"
}

test_expect_success 'SIGKILL at random moments of the sweep: nothing stopped, traced or half-patched' '
	for round in 1 2 3; do
		hp_agent_start_nowait &&
		sleep 0.0$((RANDOM % 10))$((RANDOM % 10)) &&
		kill -KILL $(cat "$HP_TMP/hotpatchd.pid") && rm -f "$HP_TMP/hotpatchd.pid" "$AG_SOCK" &&
		hp_wait_until 10 hp_none_stopped &&
		n=$(consistent) || exit 1
		say "round $round: $n of $N patched when killed"
	done
'
# The sweep takes processes in /proc order (ascending pids): the first started is patched first.
first_patched() {
	[ "$(hp_ask "${ids[0]}" "c 5")" = 1018 ]
}

# SIGTERM: the daemon finishes (or undoes) the process in hand, cancels the rest of the
# sweep and exits.  Each round starts from no process patched (every one answers the original).
test_expect_success 'SIGTERM at a random moment and mid-sweep: exits, nothing stopped, traced or half-patched' '
	for round in 1 2; do
		"$HOTPATCH" revert --exe "$HP_TMP/calc" calc-fix-1 >/dev/null 2>&1
		for id in "${ids[@]}"; do hp_answers "$id" "c 5" 18 || exit 1; done
		: >"$HP_TMP/hotpatchd.log" &&
		hp_agent_start_nowait &&
		if [ $round = 1 ]; then
			sleep 0.0$((RANDOM % 10))$((RANDOM % 10))
		else
			# the moment the first process runs the patch: the sweep is under way
			hp_wait_until 30 first_patched
		fi &&
		pid=$(cat "$HP_TMP/hotpatchd.pid") &&
		kill -TERM "$pid" &&
		hp_wait_until 30 sh -c "! kill -0 $pid 2>/dev/null" &&
		rm -f "$HP_TMP/hotpatchd.pid" "$AG_SOCK" &&
		hp_none_stopped &&
		n=$(consistent) || exit 1
		# a SIGTERM before the handler is installed (the first milliseconds) ends it silently
		grep -q "stopping" "$HP_TMP/hotpatchd.log" || say "round $round: terminated before start-up"
		say "round $round: the daemon said: $(grep -E "sweep |stopping" "$HP_TMP/hotpatchd.log" | tr "\n" " ")"
		say "round $round: $n of $N patched when stopped by SIGTERM ($([ $round = 1 ] && echo "at a random moment" || echo "once one ran the patch"))"
	done
'
test_expect_success 'after SIGTERM, a restart keeps what is applied and patches the rest' '
	records >"$HP_TMP/t0" &&
	: >"$HP_TMP/hotpatchd.log" && hp_agent_start &&
	hp_wait_until 60 grep -q "sweep calc-fix-1:" "$HP_TMP/hotpatchd.log" &&
	grep -q "sweep calc-fix-1: $((N - $(wc -l <"$HP_TMP/t0"))) patched, $(wc -l <"$HP_TMP/t0") already" "$HP_TMP/hotpatchd.log" &&
	records >"$HP_TMP/t1" &&
	comm -23 "$HP_TMP/t0" "$HP_TMP/t1" >"$HP_TMP/lost" &&
	test ! -s "$HP_TMP/lost" &&
	hp_agent_stop
'
test_expect_success 'a full start patches everyone' '
	hp_agent_start &&
	hp_wait_until 60 grep -q "sweep calc-fix-1:" "$HP_TMP/hotpatchd.log" &&
	hp_expect_eq "$(consistent)" "$N" "patched"
'
test_expect_success 'restarted, it finds the patches in the processes and applies nothing again' '
	records >"$HP_TMP/t1" && hp_expect_eq "$(wc -l <"$HP_TMP/t1")" "$N" records &&
	hp_agent_stop && : >"$HP_TMP/hotpatchd.log" && hp_agent_start &&
	hp_wait_until 60 grep -q "sweep calc-fix-1:" "$HP_TMP/hotpatchd.log" &&
	grep -q "sweep calc-fix-1: 0 patched, $N already" "$HP_TMP/hotpatchd.log" &&
	records >"$HP_TMP/t2" &&
	cmp "$HP_TMP/t1" "$HP_TMP/t2" &&
	! grep -q "applied calc-fix-1" "$HP_TMP/hotpatchd.log"
'
test_done
