#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatchd in the foreground with temporary directories and real processes:
# a patch installed while the daemon runs reaches running processes; a
# process started afterwards is patched (exec event) and so is a library
# loaded later with dlopen (fanotify); the policy file pauses and resumes;
# status over the socket, report.json and the metrics port agree with what
# the processes run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
hp_require ptrace cc curl jq

cat >"$HP_TMP/dl.c" <<'EOC'
/* Loads the library given as argv[1] only when told ("d"), then "c N" -> lib_compute(N). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	int (*f)(int) = NULL;
	char line[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'd') {
			void *h = dlopen(argv[1], RTLD_NOW);
			f = h ? (int (*)(int))dlsym(h, "lib_compute") : NULL;
			printf("%s\n", f ? "loaded" : dlerror());
		} else if (line[0] == 'c' && f) {
			printf("%d\n", f(atoi(line + 2)));
		} else {
			printf("?\n");
		}
	}
	return 0;
}
EOC

test_expect_success 'setup: targets, patches, keys, configuration' '
	hp_agent_setup &&
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_make_patch calc 1 "$HP_TMP/calc.hpatch" --id calc-fix-1 --classification security --cve CVE-2026-0001 &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/calc.hpatch" >/dev/null &&
	hp_compile_lib calc "$TARGET_SRC/libcalc.c" &&
	"$HOTPATCH" build --target "$HP_TMP/libcalc.so" --orig "$HP_TMP/libcalc.orig.o" --patched "$HP_TMP/libcalc.fix1.o" \
		-o "$HP_TMP/lib.hpatch" --id libcalc-fix-1 --classification critical --cve CVE-2026-0002 >/dev/null &&
	"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/lib.hpatch" >/dev/null &&
	cc -O2 -o "$HP_TMP/dl" "$HP_TMP/dl.c" -ldl
'
hp_start_target "$HP_TMP/calc"; t1=$HP_T
test_expect_success 'hotpatchd starts, with nothing to do' '
	hp_agent_start && hp_answers $t1 "c 5" 18 &&
	"$HOTPATCH" agent status --json >"$HP_TMP/st.json" && jq -e ".patches == [] and .policy.name == \"default\"" "$HP_TMP/st.json" >/dev/null
'
test_expect_success 'a patch installed while it runs reaches the running process' '
	"$HOTPATCH" install "$HP_TMP/calc.hpatch" >/dev/null && hp_answers $t1 "c 5" 1018 &&
	grep -q "applied calc-fix-1 (level 1) to pid $(hp_pid $t1) " "$HP_TMP/hotpatchd.log"
'
test_expect_success 'a process started afterwards is patched (exec event)' '
	hp_start_target "$HP_TMP/calc" && t2=$HP_T &&
	hp_answers $t2 "c 5" 1018 &&
	grep -q "applied calc-fix-1 (level 1) to new process $(hp_pid $t2) " "$HP_TMP/hotpatchd.log"
'
test_expect_success 'a library loaded later with dlopen is patched' '
	"$HOTPATCH" install "$HP_TMP/lib.hpatch" >/dev/null &&
	hp_start_target "$HP_TMP/dl" "$HP_TMP/libcalc.so" && t3=$HP_T &&
	hp_expect_eq "$(hp_ask $t3 d)" loaded &&
	hp_answers $t3 "c 5" 5028
'
test_expect_success 'status over the socket: policy, patches and the per-process table' '
	"$HOTPATCH" agent status --json >"$HP_TMP/st.json" &&
	jq -e "[.patches[] | select(.state == \"applied\")] | length == 2" "$HP_TMP/st.json" >/dev/null &&
	jq -e --argjson p $(hp_pid $t1) "[.processes[] | select(.pid == \$p) | .targets[] | select(.state == \"patched\" and .patch_id == \"calc-fix-1\")] | length == 1" "$HP_TMP/st.json" >/dev/null &&
	"$HOTPATCH" agent status >"$HP_TMP/st.txt" && grep -q "calc-fix-1 *level 1 *applied" "$HP_TMP/st.txt"
'
test_expect_success 'report.json in the state directory follows the contract' '
	hp_wait_until 10 jq -e --argjson p $(hp_pid $t1) "[.processes[] | select(.pid == \$p) | .targets[0].state] == [\"patched\"]" "$AG_STATE/report.json" &&
	jq -e ".protocol == 1 and .host.arch == \"x86_64\" and (.events | map(.kind) | index(\"applied\")) != null" "$AG_STATE/report.json" >/dev/null
'
test_expect_success 'metrics are scraped: counts by state, latency histogram, sync age' '
	curl -sf "http://127.0.0.1:$(cat $HP_TMP/metrics.port)/metrics" >"$HP_TMP/metrics.txt" &&
	grep -qx "hotpatch_patches{state=\"applied\"} 2" "$HP_TMP/metrics.txt" &&
	grep -q "^hotpatch_apply_latency_seconds_count [1-9]" "$HP_TMP/metrics.txt" &&
	grep -q "^hotpatch_apply_latency_seconds_bucket{le=\"+Inf\"} [1-9]" "$HP_TMP/metrics.txt" &&
	grep -qx "hotpatch_sync_age_seconds -1" "$HP_TMP/metrics.txt"
'
test_expect_success 'policy file: paused holds new processes back, resuming patches them' '
	echo "{\"version\":1,\"name\":\"held\",\"paused\":true}" >"$AG_POLICY" &&
	hp_wait_until 10 sh -c "\"$HOTPATCH\" agent status --json | jq -e \".policy.paused == true\"" &&
	hp_start_target "$HP_TMP/calc" && t4=$HP_T &&
	hp_expect_eq "$(hp_ask $t4 "c 5")" 18 "not patched while paused" &&
	"$HOTPATCH" agent status --json | jq -e ".patches[] | select(.patch_id == \"calc-fix-1\") | .reason == \"policy '"'"'held'"'"' is paused\"" >/dev/null &&
	echo "{\"version\":1,\"name\":\"go\",\"paused\":false}" >"$AG_POLICY" &&
	hp_answers $t4 "c 5" 1018
'
test_expect_success 'a bad policy file is refused with its reason; the previous policy stays' '
	echo "{\"windows\":[{\"start\":\"26:00\",\"duration_minutes\":5}]}" >"$AG_POLICY" &&
	hp_wait_until 10 grep -q "policy: .* refused, keeping the previous policy: windows\[\].start" "$HP_TMP/hotpatchd.log" &&
	"$HOTPATCH" agent status --json | jq -e ".policy.name == \"go\"" >/dev/null
'
test_expect_success 'SIGHUP reads the store and the policy again, and says so' '
	kill -HUP "$(cat "$HP_TMP/hotpatchd.pid")" &&
	hp_wait_until 10 grep -q "SIGHUP: reading the store and the policy again" "$HP_TMP/hotpatchd.log" &&
	hp_wait_until 10 sh -c "\"$HOTPATCH\" agent status --json | jq -e \".policy.name == \\\"go\\\"\" >/dev/null"
'
test_expect_success 'no process is left stopped or traced' 'hp_none_stopped'
test_expect_success 'SIGTERM: the daemon exits, patches stay applied' '
	hp_agent_stop && hp_expect_eq "$(hp_ask $t1 "c 5")" 1018 && hp_none_stopped
'
test_done
