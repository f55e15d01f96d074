#!/bin/bash
# SPDX-License-Identifier: MIT
# Health: a patch that really crashes the process it is applied to.  The
# crash (SIGSEGV, seen in the process connector's exit event) during the
# bake time halts the patch: it is reverted in every other process without a
# restart, the evidence is kept, new processes do not get it, and only
# `hotpatch agent clear` lets it apply again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
hp_require ptrace cc curl jq

cat >"$HP_TMP/crashy.c" <<'EOC'
/* compute(); the "fix" dereferences NULL for 13. */
static int calls;

__attribute__((noinline)) int compute(int x)
{
	calls++;
#if HP_FIX == 1
	if (x == 13)
		*(volatile int *)0 = x;
	return x * 2 + 1000;
#else
	return x * 2;
#endif
}
EOC
cat >"$HP_TMP/crashy-main.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
int compute(int x);
int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin))
		printf("%d\n", compute(atoi(line + 2)));
	return 0;
}
EOC

test_expect_success 'setup: a target and a patch that crashes it on input 13' '
	hp_agent_setup &&
	echo "{\"version\":1,\"name\":\"baked\",\"health\":{\"bake_seconds\":600,\"crash_threshold\":1}}" >"$AG_POLICY" &&
	hp_compile crashy "$HP_TMP/crashy.c" --with "$HP_TMP/crashy-main.c" &&
	hp_make_patch crashy 1 "$HP_TMP/crashy.hpatch" --id crashy-fix-1 --classification security --cve CVE-2026-0003 &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/crashy.hpatch" >/dev/null &&
	hp_agent_start
'
hp_start_target "$HP_TMP/crashy"; a=$HP_T
hp_start_target "$HP_TMP/crashy"; b=$HP_T
test_expect_success 'the patch is applied to both processes' '
	"$HOTPATCH" install "$HP_TMP/crashy.hpatch" >/dev/null &&
	hp_answers $a "c 5" 1010 && hp_answers $b "c 5" 1010
'
test_expect_success 'the patched code crashes one process: the patch is halted and reverted in the other' '
	pa=$(hp_pid $a) &&
	echo "c 13" >&$(cat "$HP_TMP/$a.fd") &&
	hp_wait_until 10 sh -c "! test -e /proc/$pa/stat || grep -q \") Z\" /proc/$pa/stat" &&
	hp_wait_until 10 test -f "$AG_STATE/halted/crashy-fix-1.json" &&
	jq -e ".reason | test(\"pid $pa .*Segmentation fault\")" "$AG_STATE/halted/crashy-fix-1.json" >/dev/null &&
	hp_answers $b "c 5" 10 &&
	"$HOTPATCH" status -p $(hp_pid $b) --json | jq -e ".patches == []" >/dev/null &&
	grep -q "halted crashy-fix-1: 1 crash during the bake time; last: pid $pa (crashy) killed by Segmentation fault" "$HP_TMP/hotpatchd.log"
'
test_expect_success 'status shows it halted with the evidence; events and metrics record it' '
	"$HOTPATCH" agent status --json >"$HP_TMP/st.json" &&
	jq -e ".patches[0].state == \"halted\" and (.patches[0].halted_reason | test(\"Segmentation fault\"))" "$HP_TMP/st.json" >/dev/null &&
	jq -e "[.events[].kind] | (index(\"crash\") != null and index(\"halted\") != null and index(\"reverted\") != null)" "$HP_TMP/st.json" >/dev/null &&
	curl -sf "http://127.0.0.1:$(cat $HP_TMP/metrics.port)/metrics" | grep -qx "hotpatch_crashes_total 1"
'
test_expect_success 'a halted patch is not applied to new processes, nor on a sync' '
	hp_start_target "$HP_TMP/crashy" && c=$HP_T &&
	"$HOTPATCH" agent sync >/dev/null &&
	hp_expect_eq "$(hp_ask $c "c 5")" 10 "new process" && hp_expect_eq "$(hp_ask $b "c 5")" 10 "old process"
'
test_expect_success 'hotpatch agent clear lets it apply again' '
	"$HOTPATCH" agent clear crashy-fix-1 >/dev/null &&
	! test -f "$AG_STATE/halted/crashy-fix-1.json" &&
	hp_answers $b "c 5" 1010 &&
	"$HOTPATCH" agent status --json | jq -e ".patches[0].state == \"applied\"" >/dev/null
'
test_expect_success 'clear of a patch that is not halted is an error' '
	! "$HOTPATCH" agent clear crashy-fix-1 2>"$HP_TMP/err" && grep -q "is not halted" "$HP_TMP/err"
'
test_expect_success 'no process is left stopped or traced' 'hp_none_stopped'
test_done
