#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch keygen / sign / verify: exit codes, --json output, trust directory.
. "$(dirname "$0")/lib.sh"

CORPUS=$HP_BUILD_DIR/tests/fuzz/hp-fuzz-corpus
[ -x "$CORPUS" ] || skip_all "seed patch generator not built ($CORPUS)"
"$CORPUS" "$HP_TMP/c" >/dev/null || skip_all "cannot generate seed patches"
P=$HP_TMP/c/patch/relocs.hpatch
K=$HP_TMP/k
T=$HP_TMP/trust
mkdir -p "$T" "$HP_TMP/empty"
export P K T

have_jq() { command -v jq >/dev/null; }
# json FILE FILTER: print a value from a JSON document
json() { jq -r "$2" "$1"; }

test_expect_success 'keygen writes NAME.key (0600) and NAME.pub' '
	hp_run_expect 0 keygen -o "$K" &&
	hp_expect_eq "$(stat -c %a "$K.key")" 600 "private key mode" &&
	grep -q "BEGIN PRIVATE KEY" "$K.key" &&
	grep -q "BEGIN PUBLIC KEY" "$K.pub" &&
	grep -q "^key id  *[0-9a-f]\{64\}$" "$HP_TMP/last.out"
'

test_expect_success 'keygen refuses to overwrite an existing key' '
	cp "$K.key" "$HP_TMP/key.before" &&
	hp_run_expect 1 keygen -o "$K" &&
	grep -q "already exists" "$HP_TMP/last.err" &&
	cmp "$K.key" "$HP_TMP/key.before"
'

test_expect_success 'keygen without -o is a usage error' '
	hp_run_expect 2 keygen
'

if have_jq; then
	test_expect_success 'keygen --json reports the key id and files' '
		hp_run_expect 0 keygen --json -o "$HP_TMP/k2" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .private_key)" "$HP_TMP/k2.key" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .public_key)" "$HP_TMP/k2.pub" &&
		json "$HP_TMP/last.out" .key_id | grep -q "^[0-9a-f]\{64\}$"
	'
else
	test_skip 'keygen --json reports the key id and files' 'needs jq'
fi

if command -v openssl >/dev/null; then
	test_expect_success 'key id is the SHA-256 of the raw public key' '
		hp_run_expect 0 --json keygen -o "$HP_TMP/k3" &&
		want=$(openssl pkey -pubin -in "$HP_TMP/k3.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-64) &&
		grep -q "\"key_id\": \"$want\"" "$HP_TMP/last.out"
	'
	test_expect_success 'keys made by openssl genpkey sign and verify' '
		openssl genpkey -algorithm ed25519 -out "$HP_TMP/o.key" 2>/dev/null &&
		mkdir -p "$HP_TMP/otrust" &&
		openssl pkey -in "$HP_TMP/o.key" -pubout -out "$HP_TMP/otrust/o.pub" &&
		hp_run_expect 0 sign --key "$HP_TMP/o.key" "$P" -o "$HP_TMP/o.hpatch" &&
		hp_run_expect 0 verify "$HP_TMP/o.hpatch" --trust-dir "$HP_TMP/otrust"
	'
else
	test_skip 'key id is the SHA-256 of the raw public key' 'needs openssl'
	test_skip 'keys made by openssl genpkey sign and verify' 'needs openssl'
fi

test_expect_success 'verify an unsigned patch: exit 9' '
	hp_run_expect 9 verify "$P" --trust-dir "$T" &&
	grep -q "not signed" "$HP_TMP/last.err"
'

if have_jq; then
	test_expect_success 'verify --json on an unsigned patch: error kind unsigned' '
		hp_run_expect 9 verify --json "$P" --trust-dir "$T" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .error.kind)" unsigned &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .error.exit_code)" 9
	'
else
	test_skip 'verify --json on an unsigned patch: error kind unsigned' 'needs jq'
fi

test_expect_success 'sign -o writes a signed copy and leaves the input alone' '
	cp "$P" "$HP_TMP/orig.hpatch" &&
	hp_run_expect 0 sign --key "$K.key" "$P" -o "$HP_TMP/s.hpatch" &&
	cmp "$P" "$HP_TMP/orig.hpatch" &&
	grep -q "^signed .*with key [0-9a-f]\{64\}$" "$HP_TMP/last.out" &&
	cp "$HP_TMP/last.out" "$HP_TMP/sign.out"
'

test_expect_success 'verify with an empty trust directory: exit 10 naming key and directory' '
	hp_run_expect 10 verify "$HP_TMP/s.hpatch" --trust-dir "$HP_TMP/empty" &&
	id=$(sed -n "s/.*with key //p" "$HP_TMP/sign.out") &&
	test -n "$id" &&
	grep -q "not trusted" "$HP_TMP/last.err" &&
	grep -q "$HP_TMP/empty" "$HP_TMP/last.err" &&
	grep -q "$id" "$HP_TMP/last.err"
'

test_expect_success 'verify with the key trusted: exit 0' '
	cp "$K.pub" "$T/release.pub" &&
	hp_run_expect 0 verify "$HP_TMP/s.hpatch" --trust-dir "$T" &&
	grep -q "good signature by trusted key" "$HP_TMP/last.out"
'

test_expect_success 'HOTPATCH_TRUST_DIR is the default trust directory' '
	HOTPATCH_TRUST_DIR=$T hp_run_expect 0 verify "$HP_TMP/s.hpatch" &&
	HOTPATCH_TRUST_DIR=$HP_TMP/empty hp_run_expect 10 verify "$HP_TMP/s.hpatch" &&
	HOTPATCH_TRUST_DIR=$HP_TMP/empty hp_run_expect 0 verify "$HP_TMP/s.hpatch" --trust-dir "$T"
'

if have_jq; then
	test_expect_success 'verify --json on success' '
		hp_run_expect 0 verify --json "$HP_TMP/s.hpatch" --trust-dir "$T" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .verified)" true &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .patch_id)" demo-fix-1 &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .trust_dir)" "$T" &&
		hp_run_expect 0 info --json "$HP_TMP/s.hpatch" &&
		signer=$(json "$HP_TMP/last.out" .manifest.key_id) &&
		hp_run_expect 0 verify --json "$HP_TMP/s.hpatch" --trust-dir "$T" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .key_id)" "$signer" "key id = manifest signer"
	'
else
	test_skip 'verify --json on success' 'needs jq'
fi

# flip OFFSET FILE OUT: copy FILE with the byte at OFFSET inverted
flip() {
	cp "$2" "$3" &&
	b=$(od -An -tu1 -j "$1" -N1 "$2" | tr -d " ") &&
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$3" bs=1 seek="$1" conv=notrunc status=none
}

test_expect_success 'any modified byte: exit 11 (payload, manifest, signature)' '
	size=$(stat -c %s "$HP_TMP/s.hpatch") &&
	for off in 64 70 $((size / 2)) $((size - 300)); do
		flip $off "$HP_TMP/s.hpatch" "$HP_TMP/m.hpatch" &&
		"$HOTPATCH" verify "$HP_TMP/m.hpatch" --trust-dir "$T" >/dev/null 2>&1
		rc=$?
		case $rc in 11 | 7 | 8) ;; *) echo "offset $off: exit $rc" >&2; exit 1 ;; esac
	done
'

test_expect_success 'a modified manifest string: exit 11' '
	sed "s/reject oversized header lines/reject oversized header LINES/" "$HP_TMP/s.hpatch" >"$HP_TMP/m.hpatch" &&
	! cmp -s "$HP_TMP/s.hpatch" "$HP_TMP/m.hpatch" &&
	hp_run_expect 11 verify "$HP_TMP/m.hpatch" --trust-dir "$T" &&
	grep -q "bad signature" "$HP_TMP/last.err"
'

if have_jq; then
	test_expect_success 'verify --json on a modified file: error kind bad-signature' '
		hp_run_expect 11 verify --json "$HP_TMP/m.hpatch" --trust-dir "$T" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .error.kind)" bad-signature
	'
else
	test_skip 'verify --json on a modified file: error kind bad-signature' 'needs jq'
fi

test_expect_success 'a foreign signer id in the manifest: exit 11' '
	other=$(printf "e%.0s" $(seq 64)) &&
	signer=$(grep -ao "\"signer\":\"[0-9a-f]*\"" "$HP_TMP/s.hpatch" | head -1 | cut -d\" -f4) &&
	sed "s/$signer/$other/" "$HP_TMP/s.hpatch" >"$HP_TMP/m2.hpatch" &&
	hp_run_expect 11 verify "$HP_TMP/m2.hpatch" --trust-dir "$T" &&
	grep -q "differs" "$HP_TMP/last.err"
'

test_expect_success 'a truncated patch: exit 7' '
	head -c 500 "$HP_TMP/s.hpatch" >"$HP_TMP/t.hpatch" &&
	hp_run_expect 7 verify "$HP_TMP/t.hpatch" --trust-dir "$T"
'

test_expect_success 'a patch for another machine: exit 8' '
	cp "$HP_TMP/s.hpatch" "$HP_TMP/a.hpatch" &&
	printf "\267\000" | dd of="$HP_TMP/a.hpatch" bs=1 seek=18 conv=notrunc status=none &&
	hp_run_expect 8 verify "$HP_TMP/a.hpatch" --trust-dir "$T"
'

test_expect_success 'sign in place: atomic replace, mode kept, verifies' '
	cp "$P" "$HP_TMP/inplace.hpatch" &&
	chmod 640 "$HP_TMP/inplace.hpatch" &&
	hp_run_expect 0 sign --key "$K.key" "$HP_TMP/inplace.hpatch" &&
	hp_expect_eq "$(stat -c %a "$HP_TMP/inplace.hpatch")" 640 "mode" &&
	hp_run_expect 0 verify "$HP_TMP/inplace.hpatch" --trust-dir "$T" &&
	! ls "$HP_TMP"/inplace.hpatch.tmp* 2>/dev/null
'

test_expect_success 'sign --key <(...) reads the key from a pipe' '
	hp_run_expect 0 sign --key <(cat "$K.key") "$P" -o "$HP_TMP/pipe.hpatch" &&
	hp_run_expect 0 verify "$HP_TMP/pipe.hpatch" --trust-dir "$T"
'

test_expect_success 'sign refuses a public key, a missing key and a bad patch' '
	hp_run_expect 1 sign --key "$K.pub" "$P" -o "$HP_TMP/x.hpatch" &&
	hp_run_expect 1 sign --key "$HP_TMP/nope.key" "$P" -o "$HP_TMP/x.hpatch" &&
	hp_run_expect 7 sign --key "$K.key" "$HP_TMP/t.hpatch" -o "$HP_TMP/x.hpatch" &&
	hp_run_expect 2 sign "$P" &&
	! test -e "$HP_TMP/x.hpatch"
'

if have_jq; then
	test_expect_success 'sign --json' '
		hp_run_expect 0 sign --json --key "$K.key" "$P" -o "$HP_TMP/j.hpatch" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .output)" "$HP_TMP/j.hpatch" &&
		hp_expect_eq "$(json "$HP_TMP/last.out" .patch_id)" demo-fix-1 &&
		json "$HP_TMP/last.out" .key_id | grep -q "^[0-9a-f]\{64\}$"
	'
else
	test_skip 'sign --json' 'needs jq'
fi

test_expect_success 'a re-signed patch needs the new signer trusted' '
	{ test -f "$HP_TMP/k2.key" || hp_run_expect 0 keygen -o "$HP_TMP/k2"; } &&
	hp_run_expect 0 sign --key "$HP_TMP/k2.key" "$HP_TMP/s.hpatch" -o "$HP_TMP/r.hpatch" &&
	hp_run_expect 10 verify "$HP_TMP/r.hpatch" --trust-dir "$T" &&
	cp "$HP_TMP/k2.pub" "$T/" &&
	hp_run_expect 0 verify "$HP_TMP/r.hpatch" --trust-dir "$T"
'

test_expect_success 'junk in the trust directory is skipped with a warning' '
	echo junk >"$T/junk.pub" &&
	mkdir -p "$T/dir.pub" &&
	hp_run_expect 0 verify "$HP_TMP/s.hpatch" --trust-dir "$T" &&
	grep -q "warning: .*junk.pub.* skipped" "$HP_TMP/last.err"
'

test_expect_success 'a world-writable trust directory is refused, saying why (t4004 has more)' '
	chmod 777 "$T" &&
	hp_run_expect 10 verify "$HP_TMP/s.hpatch" --trust-dir "$T" &&
	chmod 755 "$T" &&
	grep -q "world-writable" "$HP_TMP/last.err"
'

# The options in --help, the man page and the code agree.
for cmd in keygen sign verify; do
	test_expect_success "hotpatch $cmd --help and man page list the same options" '
		man=$HP_SRC_DIR/man/hotpatch-'"$cmd"'.1 &&
		test -f "$man" &&
		hp_run_expect 0 '"$cmd"' --help &&
		opts=$(sed -n "/^options:/,\$p" "$HP_TMP/last.out" | grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		test -n "$opts" &&
		for o in $opts; do
			sed "s/\\\\-/-/g" "$man" | grep -q -- "$o" || { echo "$o missing from $man" >&2; exit 1; }
		done
	'
done

test_done
