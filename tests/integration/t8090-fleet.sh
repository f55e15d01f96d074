#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end (issue 13): a real hotpatch-server on SQLite and three real
# hotpatchd agents on this machine, each scoped ([agent] scope) to the
# processes whose executable lies in its own directory — three "hosts".
# Each host runs the same two real target programs.  A good patch released to
# two rings (pilot = host 1, broad = hosts 2 and 3): ring 1 bakes, is
# promoted, the others get it.  A second patch whose new code crashes its
# target on input 13: the crash in ring 1 halts the release, the patch is
# reverted everywhere it was applied, ring 2 never gets it.  The server's
# per-host and per-policy reports match what `hotpatch status -p` says each
# process runs.  Cost: ~30 s (1 s polls and ticks, 2 s bake).
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc jq curl

SERVER=${HP_SERVER_BIN:-$HP_BUILD_DIR/src/server/hotpatch-server}
CTL=${HP_SERVERCTL_BIN:-$(dirname "$SERVER")/hotpatchctl}
HOTPATCHD=${HOTPATCHD:-$HP_BUILD_DIR/src/agent/hotpatchd}
[ -x "$SERVER" ] && [ -x "$CTL" ] || skip_all "no hotpatch-server binary (set HP_SERVER_BIN or build the server)"
[ -x "$HOTPATCHD" ] || skip_all "no hotpatchd binary"

cat >"$HP_TMP/svc.c" <<'EOC'
/* compute(): fix 1 is good (+1000); fix 2 (+2000) dereferences NULL for 13. */
static int calls;

__attribute__((noinline)) int compute(int x)
{
	calls++;
#if HP_FIX == 1
	return x * 2 + 1000;
#elif HP_FIX == 2
	if (x == 13)
		*(volatile int *)0 = x;
	return x * 2 + 2000;
#else
	return x * 2;
#endif
}
EOC
cat >"$HP_TMP/svc-main.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
int compute(int x);
int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready (variant %d)\n", VARIANT);	/* two programs, two build ids */
	while (fgets(line, sizeof(line), stdin))
		printf("%d\n", compute(atoi(line + 2)));
	return 0;
}
EOC

hp_wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "timed out after ${secs}s waiting for: $*" >&2
	return 1
}
hp_answers() {
	local i
	local got
	for ((i = 0; i < 300; i++)); do
		got=$(hp_ask "$1" "$2") || return 1	# no answer: the target is gone
		[ "$got" = "$3" ] && return 0
		sleep 0.05
	done
	echo "target $1 answers '$2' with '$(hp_ask "$1" "$2")', expected '$3'" >&2
	return 1
}
# patches PID: the patch ids the process really runs (hotpatch status -p), sorted, comma-separated.
patches() { "$HOTPATCH" status -p "$1" --json | jq -r "[.patches[].patch_id] | sort | join(\",\")"; }
# srv_patches HOST PID: the same, as the server's per-host report has it.
srv_patches() {
	"$CTL" -j host processes "$(jq -r .host_id "$HP_TMP/h$1/state/enrollment.json")" |
		jq -r "[(.items // .processes // .)[] | select(.pid == $2) | (.targets // [.])[] | select(.patch_id != null and .patch_id != \"\" and .state == \"patched\") | .patch_id] | sort | join(\",\")"
}

port=$((20000 + RANDOM % 20000))
repo=$HP_TMP/repo
export HOTPATCH_SERVER_URL=http://127.0.0.1:$port
test_expect_success 'setup: two targets, a good and a crashing patch in a signed repository, a server' '
	"$HOTPATCH" keygen -o "$HP_TMP/key" >/dev/null &&
	hp_compile svc "$HP_TMP/svc.c" --with "$HP_TMP/svc-main.c" -DVARIANT=1 &&
	hp_compile crashy "$HP_TMP/svc.c" --with "$HP_TMP/svc-main.c" -DVARIANT=2 &&
	hp_make_patch svc 1 "$HP_TMP/good.hpatch" --id fleet-good-1 --classification other --cve CVE-2026-0901 &&
	hp_make_patch crashy 2 "$HP_TMP/bad.hpatch" --id fleet-bad-1 --classification other --cve CVE-2026-0902 &&
	for p in good bad; do
		"$HOTPATCH" sign --key "$HP_TMP/key.key" "$HP_TMP/$p.hpatch" >/dev/null &&
		"$HOTPATCH" repo add "$repo" "$HP_TMP/$p.hpatch" --package svc --package-version 1.0-1 >/dev/null || exit 1
	done &&
	"$HOTPATCH" repo index "$repo" >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/key.key" >/dev/null &&
	"$SERVER" --db "$HP_TMP/server.db" create-token --kind api --role admin --name admin >"$HP_TMP/admin.tok"
'
[ -s "$HP_TMP/admin.tok" ] || test_done
export HOTPATCH_TOKEN=$(grep -o "hp[a-z]*_[0-9a-f]*" "$HP_TMP/admin.tok" 2>/dev/null | head -1)
"$SERVER" --db "$HP_TMP/server.db" --port $port --poll-seconds 1 --tick-seconds 1 \
	--repository "file://$repo/index.json" >"$HP_TMP/server.log" 2>&1 &
echo $! >"$HP_TMP/server.pid"
hp_wait_until 30 curl -s "http://127.0.0.1:$port/api/v1/whoami"

# host N GROUP: its own directory with copies of the targets, store, state, trust, config; enrolled into GROUP.
host() {
	local d=$HP_TMP/h$1 tok
	mkdir -p "$d/store" "$d/state" "$d/trusted" "$d/etc" && cp "$HP_TMP/key.pub" "$d/trusted/" &&
	cp "$HP_TMP/svc" "$HP_TMP/crashy" "$d/" &&
	"$CTL" token create --kind enroll --name "h$1" --group "$2" >"$d/enroll.tok" &&
	tok=$(grep -o "hp[a-z]*_[0-9a-f]*" "$d/enroll.tok" | head -1) && [ -n "$tok" ] &&
	cat >"$d/hotpatchd.conf" <<-EOC
	[paths]
	store = $d/store
	state = $d/state
	trust = $d/trusted
	policy = $d/etc/policy.json
	[agent]
	scope = $d
	name = fleet-h$1
	watch_paths = $d
	rescan_interval = 3600
	assess_interval = 0
	[control]
	socket = $d/hotpatchd.sock
	[metrics]
	listen = 127.0.0.1:$((20000 + RANDOM % 20000))
	[server]
	url = http://127.0.0.1:$port
	token = $tok
	EOC
}
test_expect_success 'a policy for two groups (pilot, broad); three hosts enrolled' '
	echo "{\"version\":1,\"name\":\"fleet\",\"auto_classifications\":[\"critical\"],\"health\":{\"bake_seconds\":600,\"crash_threshold\":1}}" >"$HP_TMP/pol.json" &&
	"$CTL" policy create "$HP_TMP/pol.json" >/dev/null &&
	"$CTL" group create pilot --policy fleet >/dev/null && "$CTL" group create broad --policy fleet >/dev/null &&
	host 1 pilot && host 2 broad && host 3 broad
'
[ -x "$HP_TMP/h3/svc" ] || test_done
for n in 1 2 3; do
	hp_start_target "$HP_TMP/h$n/svc"; eval s$n=$HP_T
	hp_start_target "$HP_TMP/h$n/crashy"; eval c$n=$HP_T
done
hp_start_target "$HP_TMP/h1/crashy"; c1b=$HP_T
for n in 1 2 3; do
	"$HOTPATCHD" --foreground -c "$HP_TMP/h$n/hotpatchd.conf" >>"$HP_TMP/h$n/hotpatchd.log" 2>&1 &
	echo $! >"$HP_TMP/hotpatchd$n.pid"
	disown $!
done
test_expect_success 'the three agents enroll and check in' '
	for n in 1 2 3; do
		hp_wait_until 30 test -s "$HP_TMP/h$n/state/enrollment.json" || exit 1
	done &&
	hp_wait_until 30 sh -c "\"$CTL\" -j host list | jq -e \"(.items // .) | length == 3\""
'
test_expect_success 'the good patch: ring 1 (host 1) first, promoted after its bake; then hosts 2 and 3' '
	"$CTL" patch import "file://$repo/index.json" >/dev/null &&
	"$CTL" -j release create fleet-good-1 --ring name=pilot,group=pilot,bake=2,threshold=1 \
		--ring name=broad,group=broad,bake=0,threshold=1 >"$HP_TMP/rel1.json" &&
	rel=$(jq -r .id "$HP_TMP/rel1.json") && jq -e ".ring == \"pilot\"" "$HP_TMP/rel1.json" >/dev/null &&
	hp_answers $s1 "c 5" 1010 &&
	hp_wait_until 60 sh -c "\"$CTL\" -j release show $rel | jq -e \".state == \\\"completed\\\"\"" &&
	hp_answers $s2 "c 5" 1010 && hp_answers $s3 "c 5" 1010 &&
	for n in 1 2 3; do
		hp_expect_eq "$(patches $(hp_pid $(eval echo \$s$n)))" fleet-good-1 "host $n svc" || exit 1
	done
'
test_expect_success 'the crashing patch: applied in ring 1, its crash halts the release; reverted on host 1, never on 2 and 3' '
	"$CTL" -j release create fleet-bad-1 --ring name=pilot,group=pilot,bake=600,threshold=1 \
		--ring name=broad,group=broad,bake=0,threshold=1 >"$HP_TMP/rel2.json" &&
	rel=$(jq -r .id "$HP_TMP/rel2.json") &&
	hp_answers $c1 "c 5" 2010 && hp_answers $c1b "c 5" 2010 &&
	pc=$(hp_pid $c1) &&
	echo "c 13" >&$(cat "$HP_TMP/$c1.fd") &&
	hp_wait_until 10 sh -c "! test -e /proc/$pc/stat || grep -q \") Z\" /proc/$pc/stat" &&
	hp_wait_until 30 sh -c "\"$CTL\" -j release show $rel | jq -e \".state == \\\"halted\\\"\"" &&
	hp_answers $c1b "c 5" 10 &&
	hp_expect_eq "$(patches $(hp_pid $c1b))" "" "host 1 crashy after the halt" &&
	hp_expect_eq "$(hp_ask $c2 "c 5")" 10 "host 2" && hp_expect_eq "$(hp_ask $c3 "c 5")" 10 "host 3" &&
	hp_expect_eq "$(patches $(hp_pid $c2))$(patches $(hp_pid $c3))" "" "hosts 2, 3 crashy" &&
	test -f "$HP_TMP/h1/state/halted/fleet-bad-1.json" &&
	"$CTL" -j release show $rel >"$HP_TMP/rel2.show" &&
	grep -q "Segmentation fault\|crash" "$HP_TMP/rel2.show"
'
# same N PID: the server's per-host report says what the process runs (after its next check-in).
same() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$(srv_patches $1 $2)" = "$(patches $2)" ] && return 0
		sleep 0.1
	done
	echo "host $1 pid $2: server \"$(srv_patches $1 $2)\", process \"$(patches $2)\"" >&2
	return 1
}
test_expect_success 'per-host reports match what each process runs' '
	same 1 $(hp_pid $s1) && same 1 $(hp_pid $c1b) &&
	same 2 $(hp_pid $s2) && same 2 $(hp_pid $c2) &&
	same 3 $(hp_pid $s3) && same 3 $(hp_pid $c3)
'
test_expect_success 'the per-policy report counts the three hosts as their states say' '
	"$CTL" -j report policies >"$HP_TMP/pol.rep" &&
	"$CTL" -j host list >"$HP_TMP/hosts.json" &&
	jq -c "(.items // .)[] | [.hostname, .state, .reason]" "$HP_TMP/hosts.json" >&2 &&
	jq -e "[(.items // .rows // .)[] | select(.policy == \"fleet\")][0].devices == 3" "$HP_TMP/pol.rep" >/dev/null &&
	for k in up-to-date hotpatched not-up-to-date in-progress; do
		want=$(jq "[(.items // .)[] | select(.state == \"$k\")] | length" "$HP_TMP/hosts.json") &&
		got=$(jq "[(.items // .rows // .)[] | select(.policy == \"fleet\")][0].\"$(echo $k | tr - _)\"" "$HP_TMP/pol.rep") &&
		hp_expect_eq "$got" "$want" "policy fleet, $k" || exit 1
	done
'
for n in 1 2 3; do kill -TERM "$(cat "$HP_TMP/hotpatchd$n.pid")" 2>/dev/null; done
kill "$(cat "$HP_TMP/server.pid")" 2>/dev/null
test_done
