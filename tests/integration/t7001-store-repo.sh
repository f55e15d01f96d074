#!/bin/bash
# SPDX-License-Identifier: MIT
# The patch store (install verifies before storing, list, remove refused while
# applied) and the static repository over a real HTTP server on loopback:
# publish, sync only what runs here, conditional GET, and each attack refused
# with a log line that names it: bad signature, expired index, rolled-back
# index, tampered patch.
. "$(dirname "$0")/lib.sh"
hp_require ptrace cc python3

trust=$HP_TMP/trusted store=$HP_TMP/store state=$HP_TMP/state repo=$HP_TMP/www/repo
export HOTPATCH_TRUST_DIR=$trust HOTPATCH_STORE_DIR=$store
test_expect_success 'build a target, a signed patch and a patch for a build that does not run here' '
	hp_compile calc "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" &&
	hp_compile other "$TARGET_SRC/calc.c" --with "$TARGET_SRC/calc-main.c" -fno-pie -no-pie &&
	hp_make_patch calc 1 "$HP_TMP/fix.hpatch" --id calc-fix-1 --cve CVE-2026-0001 --classification security &&
	hp_make_patch other 1 "$HP_TMP/other.hpatch" --id other-fix-1 &&
	mkdir -p "$trust" && "$HOTPATCH" keygen -o "$HP_TMP/k" >/dev/null && cp "$HP_TMP/k.pub" "$trust/" &&
	"$HOTPATCH" keygen -o "$HP_TMP/evil" >/dev/null &&
	cp "$HP_TMP/fix.hpatch" "$HP_TMP/unsigned.hpatch" &&
	"$HOTPATCH" sign --key "$HP_TMP/k.key" "$HP_TMP/fix.hpatch" >/dev/null &&
	"$HOTPATCH" sign --key "$HP_TMP/k.key" "$HP_TMP/other.hpatch" >/dev/null
'
hp_start_target "$HP_TMP/calc"; t=$HP_T
pid=$(hp_pid "$t")

test_expect_success 'install refuses an unsigned patch and stores nothing' '
	hp_run_expect 9 install "$HP_TMP/unsigned.hpatch" &&
	grep -q "not signed" "$HP_TMP/last.err" && ! ls "$store/patches/"*.hpatch 2>/dev/null
'
test_expect_success 'install stores a verified patch; list shows it' '
	hp_run_expect 0 install "$HP_TMP/fix.hpatch" &&
	test -f "$store/patches/calc-fix-1.hpatch" &&
	hp_run_expect 0 list --json &&
	hp_expect_eq "$(jq -r ".patches[0].patch_id, .patches[0].cves[0], (.patches[0].processes|length)" "$HP_TMP/last.out" | tr "\n" " ")" \
		"calc-fix-1 CVE-2026-0001 0 " list
'
test_expect_success 'remove is refused while applied, works with --revert' '
	hp_run_expect 0 apply -p $pid "$store/patches/calc-fix-1.hpatch" &&
	hp_run_expect 0 list --json &&
	hp_expect_eq "$(jq -r ".patches[0].processes[0]" "$HP_TMP/last.out")" "$pid" "list names the process" &&
	hp_run_expect 1 remove calc-fix-1 && grep -q "applied in 1 process" "$HP_TMP/last.err" &&
	test -f "$store/patches/calc-fix-1.hpatch" &&
	hp_run_expect 0 remove --revert calc-fix-1 &&
	! test -f "$store/patches/calc-fix-1.hpatch" &&
	hp_expect_eq "$(hp_ask $t "c 5")" 18 "reverted"
'
test_expect_success 'repo add refuses an unsigned patch; add, index, sign publish a repository' '
	mkdir -p "$HP_TMP/www" &&
	hp_run_expect 9 repo add "$repo" "$HP_TMP/unsigned.hpatch" &&
	hp_run_expect 0 repo add "$repo" "$HP_TMP/fix.hpatch" --package calc --package-version 1.0-1 --release-time 2026-01-01T00:00:00Z &&
	hp_run_expect 0 repo add "$repo" "$HP_TMP/other.hpatch" &&
	hp_run_expect 0 repo index "$repo" &&
	hp_run_expect 0 repo sign "$repo" --key "$HP_TMP/k.key" &&
	jq -e ".serial == 1 and (.patches|length) == 2 and .patches[0].package == \"calc\"" "$repo/index.json" >/dev/null &&
	cp "$repo/index.json" "$HP_TMP/index-1.json" && cp "$repo/index.json.sig" "$HP_TMP/index-1.json.sig"
'

port=$((20000 + RANDOM % 20000))
( cd "$HP_TMP/www" && exec python3 -m http.server --bind 127.0.0.1 $port ) >"$HP_TMP/http.log" 2>&1 &
echo $! >"$HP_TMP/http.pid"
for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/repo/index.json" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port/repo/index.json
sync() { hp_run_expect "$1" repo sync "$url" --state "$state" "${@:2}"; }
# Last-Modified has one-second resolution: give every republished index its own mtime.
date +%s >"$HP_TMP/mtime"
bump() {
	local mt=$(($(cat "$HP_TMP/mtime") + 10))
	echo $mt >"$HP_TMP/mtime" && touch -d "@$mt" "$repo/index.json" "$repo/index.json.sig"
}

test_expect_success 'sync over HTTP downloads only the patch for a build running here' '
	sync 0 --json &&
	jq -e ".serial == 1 and .downloaded == 1 and .skipped == 1" "$HP_TMP/last.out" >/dev/null &&
	test -f "$store/patches/calc-fix-1.hpatch" && ! test -f "$store/patches/other-fix-1.hpatch" &&
	jq -e ".package == \"calc\" and .version == \"1.0-1\"" "$store/patches/calc-fix-1.meta.json" >/dev/null
'
test_expect_success 'a second sync is a conditional GET: not modified' '
	sync 0 --json && jq -e ".not_modified == true" "$HP_TMP/last.out" >/dev/null &&
	grep -q "\"GET /repo/index.json HTTP/1.1\" 304" "$HP_TMP/http.log"
'
test_expect_success 'an index signed by an untrusted key is refused, naming it' '
	"$HOTPATCH" repo index "$repo" >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/evil.key" >/dev/null && bump &&
	sync 10 && grep -q "index $url refused: .*not trusted\|index $url refused: .*unknown" "$HP_TMP/last.err"
'
test_expect_success 'a modified index is refused: bad signature' '
	"$HOTPATCH" repo sign "$repo" --key "$HP_TMP/k.key" >/dev/null &&
	sed -i "s/\"calc\"/\"calx\"/" "$repo/index.json" && bump &&
	sync 11 && grep -q "index $url refused: .*bad signature" "$HP_TMP/last.err"
'
test_expect_success 'a newer index is accepted; the old one served again is refused as a rollback' '
	"$HOTPATCH" repo index "$repo" --serial 5 >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/k.key" >/dev/null && bump &&
	sync 0 --json && jq -e ".serial == 5" "$HP_TMP/last.out" >/dev/null &&
	cp "$HP_TMP/index-1.json" "$repo/index.json" && cp "$HP_TMP/index-1.json.sig" "$repo/index.json.sig" &&
	bump &&
	sync 1 && grep -q "serial 1 is older than the last accepted serial 5 (rollback)" "$HP_TMP/last.err"
'
test_expect_success 'an expired index is refused (freeze attack)' '
	"$HOTPATCH" repo index "$repo" --serial 6 --valid-days 1 >/dev/null &&
	"$HOTPATCH" repo sign "$repo" --key "$HP_TMP/k.key" >/dev/null && bump &&
	sync 1 --now "$(date -u -d "+2 days" +%Y-%m-%dT%H:%M:%SZ)" && grep -q "refused: expired at" "$HP_TMP/last.err"
'
test_expect_success 'a tampered patch is refused by its sha256, naming it; nothing stored' '
	"$HOTPATCH" remove calc-fix-1 >/dev/null &&
	"$HOTPATCH" repo index "$repo" --serial 7 >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/k.key" >/dev/null && bump &&
	printf "\\x5a" | dd of="$repo/patches/calc-fix-1.hpatch" bs=1 seek=300 conv=notrunc status=none &&
	sync 1 && grep -q "patch calc-fix-1 refused: sha256 .* does not match" "$HP_TMP/last.err" &&
	! test -f "$store/patches/calc-fix-1.hpatch"
'
test_expect_success 'file:// works too (air-gapped)' '
	cp "$HP_TMP/fix.hpatch" "$repo/patches/calc-fix-1.hpatch" &&
	"$HOTPATCH" repo index "$repo" --serial 8 >/dev/null && "$HOTPATCH" repo sign "$repo" --key "$HP_TMP/k.key" >/dev/null && bump &&
	hp_run_expect 0 repo sync "file://$repo/index.json" --state "$state" --json &&
	jq -e ".serial == 8 and .downloaded == 1" "$HP_TMP/last.out" >/dev/null
'
test_done
