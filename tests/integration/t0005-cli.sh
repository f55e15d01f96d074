#!/bin/bash
# SPDX-License-Identifier: MIT
# One interface: options mean one thing and work after the command; every
# failure under --json is {"error":{kind,message,exit_code}} (usage errors and
# unknown commands too) and getopt's own messages never leak; every JSON
# document of the CLI matches its JSON Schema in docs/json/ (validated against
# real output, processes included when ptrace is available).
. "$(dirname "$0")/lib.sh"
hp_require jq

V=$HP_SRC_DIR/tests/helpers/hp-json-validate.py
have_validator() { python3 -c "import jsonschema" 2>/dev/null; }
# valid NAME FILE [--lines]: queue a document for validation (one python run at the end: it is slow to start)
valid() {
	local f
	f=$(mktemp "$HP_TMP/doc.XXXXXX") && cp "$2" "$f" && echo "$1 $f ${3:-}" >>"$HP_TMP/validate.list"
}

# json_error CODE KIND ARGS...: under --json, the failure is one error document on stdout
json_error() {
	local code=$1 kind=$2 rc
	shift 2
	"$HOTPATCH" "$@" >"$HP_TMP/e.json" 2>"$HP_TMP/e.err"
	rc=$?
	hp_expect_eq $rc "$code" "exit code of hotpatch $*" &&
	hp_expect_eq "$(jq -r .error.kind "$HP_TMP/e.json")" "$kind" "kind of hotpatch $*" &&
	hp_expect_eq "$(jq -r .error.exit_code "$HP_TMP/e.json")" "$code" "exit_code of hotpatch $*" &&
	valid error "$HP_TMP/e.json" &&
	! grep -q -e "unrecognized option" -e "invalid option" -e "requires an argument" "$HP_TMP/e.err"
}

test_expect_success 'usage errors and unknown commands are JSON errors under --json' '
	json_error 2 usage --json nosuch &&
	json_error 2 usage nosuch --json &&
	json_error 2 usage --json help nosuch &&
	json_error 2 usage status --json --bogus &&
	json_error 2 usage status -p --json &&
	json_error 2 usage --json apply -p 1 -p x /dev/null &&
	json_error 2 usage --json &&
	json_error 7 format --json info /dev/null
'

test_expect_success 'getopt never prints; the tool says what was wrong' '
	"$HOTPATCH" status --bogus 2>"$HP_TMP/e" >/dev/null; hp_expect_eq $? 2 "exit" &&
	hp_expect_eq "$(cat "$HP_TMP/e")" "hotpatch status: unknown option '"'"'--bogus'"'"'
Try '"'"'hotpatch status --help'"'"'." message &&
	"$HOTPATCH" apply -x 2>"$HP_TMP/e" >/dev/null; grep -q "unknown option .-x." "$HP_TMP/e" &&
	"$HOTPATCH" revert -t 2>"$HP_TMP/e" >/dev/null; grep -q "option .-t. needs a value" "$HP_TMP/e"
'

test_expect_success 'hotpatch help nosuch is an error; help apply works' '
	hp_run_expect 2 help nosuch && grep -q "not a command" "$HP_TMP/last.err" &&
	hp_run_expect 0 help apply && grep -q "^usage: hotpatch apply" "$HP_TMP/last.out"
'

test_expect_success '-V, -v, -q work after the command' '
	hp_run_expect 0 status -V && grep -q "^hotpatch [0-9]" "$HP_TMP/last.out" &&
	hp_run_expect 0 info -V && hp_run_expect 0 --version &&
	hp_run_expect 2 status -v -vv -q --bogus &&
	"$HOTPATCH" --version --json >"$HP_TMP/v.json" && valid version "$HP_TMP/v.json" &&
	"$HOTPATCH" history --json -n 5 >"$HP_TMP/h.json" && valid history "$HP_TMP/h.json"
'

test_expect_success '-j is --jobs (never --json); -t is --timeout; verify has no -t' '
	hp_run_expect 2 build -j x && grep -q "not a number of jobs" "$HP_TMP/last.err" &&
	hp_run_expect 2 apply -p 1 -j 2 /dev/null && grep -q -- "--jobs needs a sweep" "$HP_TMP/last.err" &&
	hp_run_expect 2 apply -p 1 -t x /dev/null && grep -q "not a timeout" "$HP_TMP/last.err" &&
	hp_run_expect 2 verify -t /tmp /dev/null && grep -q "unknown option .-t." "$HP_TMP/last.err"
'

test_expect_success 'keygen, sign, verify, info: output matches the schemas; patch_id and key_id everywhere' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id cli-fix &&
	mkdir -p "$HP_TMP/trust" &&
	"$HOTPATCH" keygen --json -o "$HP_TMP/k" >"$HP_TMP/kg.json" && valid keygen "$HP_TMP/kg.json" &&
	cp "$HP_TMP/k.pub" "$HP_TMP/trust/" &&
	"$HOTPATCH" sign --json --key "$HP_TMP/k.key" -o "$HP_TMP/s.hpatch" "$HP_TMP/fix.hpatch" >"$HP_TMP/sg.json" &&
	valid sign "$HP_TMP/sg.json" &&
	"$HOTPATCH" verify --json --trust-dir "$HP_TMP/trust" "$HP_TMP/s.hpatch" >"$HP_TMP/vf.json" &&
	valid verify "$HP_TMP/vf.json" &&
	"$HOTPATCH" info --json "$HP_TMP/s.hpatch" >"$HP_TMP/in.json" && valid info "$HP_TMP/in.json" &&
	key=$(jq -r .key_id "$HP_TMP/kg.json") &&
	hp_expect_eq "$(jq -r .key_id "$HP_TMP/sg.json")" "$key" "sign key_id" &&
	hp_expect_eq "$(jq -r .key_id "$HP_TMP/vf.json")" "$key" "verify key_id" &&
	hp_expect_eq "$(jq -r .manifest.key_id "$HP_TMP/in.json")" "$key" "info key_id" &&
	hp_expect_eq "$(jq -r .manifest.patch_id "$HP_TMP/in.json")" cli-fix "info patch_id" &&
	hp_expect_eq "$(jq -r .target.build_id "$HP_TMP/vf.json")" "$(jq -r .manifest.target.build_id "$HP_TMP/in.json")" "target object"
'

if [ "$(id -u)" = 0 ] && [ -e "$HP_TMP/s.hpatch" ]; then
	hp_start_target "$HP_TMP/svc"; A=$HP_T; a=$(hp_pid $A)
	hp_start_target "$HP_TMP/svc"; B=$HP_T; b=$(hp_pid $B)
	export HOTPATCH_TRUST_DIR=$HP_TMP/trust
	test_expect_success 'apply, status, revert with one -p: schemas, RFC 3339 times, integer durations' '
		"$HOTPATCH" apply --json -p $a "$HP_TMP/s.hpatch" >"$HP_TMP/ap.json" && valid apply "$HP_TMP/ap.json" &&
		hp_expect_eq "$(jq -r .outcome "$HP_TMP/ap.json")" patched outcome &&
		"$HOTPATCH" status --json -p $a >"$HP_TMP/st.json" && valid status "$HP_TMP/st.json" &&
		jq -r ".patches[0].applied_time" "$HP_TMP/st.json" | grep -q "^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]*Z$" &&
		hp_expect_eq "$(jq -r ".patches[0].key_id" "$HP_TMP/st.json")" "$(jq -r .key_id "$HP_TMP/kg.json")" "status key_id" &&
		! grep -q "[0-9]\.[0-9]\{7,\}" "$HP_TMP/ap.json" &&
		"$HOTPATCH" revert --json -p $a cli-fix >"$HP_TMP/rv.json" && valid apply "$HP_TMP/rv.json"
	'
	test_expect_success 'several -p: every process, one document; a failure is an error entry' '
		"$HOTPATCH" apply --json -p $a -p $b "$HP_TMP/s.hpatch" >"$HP_TMP/pp.json"
		hp_expect_eq $? 0 exit && valid processes "$HP_TMP/pp.json" &&
		hp_expect_eq "$(hp_ask $A "c 5")" 1010 a && hp_expect_eq "$(hp_ask $B "c 5")" 1010 b &&
		"$HOTPATCH" status --json -p $a -p $b >"$HP_TMP/ps.json" && valid processes "$HP_TMP/ps.json" &&
		"$HOTPATCH" revert --json -p $a -p $a cli-fix >"$HP_TMP/pr.json"
		hp_expect_eq $? 16 "exit: one reverted, one not applied" && valid processes "$HP_TMP/pr.json" &&
		hp_expect_eq "$(jq -r ".processes[1].error.kind" "$HP_TMP/pr.json")" nothing-to-do second
	'
	test_expect_success 'sweeps: --json and --json-seq match their schemas' '
		"$HOTPATCH" revert --json --comm svc cli-fix >"$HP_TMP/sw.json"
		hp_expect_eq $? 0 exit && valid sweep "$HP_TMP/sw.json" &&
		"$HOTPATCH" apply --json-seq --comm svc "$HP_TMP/s.hpatch" >"$HP_TMP/seq.json"
		hp_expect_eq $? 0 exit && valid sweep-seq "$HP_TMP/seq.json" --lines &&
		hp_expect_eq "$(wc -l <"$HP_TMP/seq.json")" 3 "two processes and the summary, one line each" &&
		hp_expect_eq "$(tail -1 "$HP_TMP/seq.json" | jq -r .type)" summary "summary last" &&
		"$HOTPATCH" status --json --comm svc >"$HP_TMP/sa.json" && valid status-all "$HP_TMP/sa.json" &&
		hp_expect_eq "$(jq ".processes | length" "$HP_TMP/sa.json")" 2 "status of both"
	'
	test_expect_success 'assess --json matches its schema' '
		"$HOTPATCH" assess --json --no-stop --patch "$HP_TMP/s.hpatch" -p $a >"$HP_TMP/as.json"
		valid assess "$HP_TMP/as.json"
	'
fi
if have_validator; then
	test_expect_success "every document matches its schema in docs/json ($(wc -l <"$HP_TMP/validate.list") documents)" '
		python3 "$V" "$HP_SRC_DIR/docs/json" --list "$HP_TMP/validate.list"
	'
else
	test_skip "documents match their schemas" "python3-jsonschema is not installed"
fi
test_done
