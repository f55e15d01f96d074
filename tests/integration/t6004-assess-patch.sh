#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch assess against patches: which processes map the target, same
# baseline or restart required (which build runs, which the patch needs),
# every symbol the patch needs, levels already applied, and agreement with
# what `hotpatch apply` then really does under seccomp restrictions.
. "$(dirname "$0")/lib.sh"
hp_require root cc jq

src=$TARGET_SRC/assess-echo.c
# build DIR [LDFLAGS...]: DIR/echo and the objects its patches are built from
build() {
	local d=$HP_TMP/$1 n
	shift
	mkdir -p "$d" &&
	cc $HP_CFLAGS -o "$d/echo" "$src" "$@" &&
	cc $HP_CFLAGS -ffunction-sections -fdata-sections -c "$src" -o "$d/orig.o" &&
	for n in 1 2; do
		cc $HP_CFLAGS -DHP_FIX=$n -ffunction-sections -fdata-sections -c "$src" -o "$d/fix$n.o" || return 1
	done
}
# patch DIR FIX OUT ID [LEVEL]
patch() {
	"$HOTPATCH" build --target "$HP_TMP/$1/echo" --orig "$HP_TMP/$1/orig.o" --patched "$HP_TMP/$1/fix$2.o" \
		-o "$3" --id "$4" --level "${5:-1}" >"$HP_TMP/build.log" 2>&1 || { cat "$HP_TMP/build.log" >&2; return 1; }
}
cc $HP_CFLAGS -o "$HP_TMP/wrap" "$TARGET_SRC/assess-wrap.c" || skip_all "cannot build the wrapper"
build a && build b -Wl,--build-id=0xb0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0 &&
patch a 1 "$HP_TMP/fix1.hpatch" echo-fix1 &&
patch a 2 "$HP_TMP/fix2.hpatch" echo-fix2 2 &&
patch b 1 "$HP_TMP/fixb.hpatch" echo-b-fix1 || skip_all "cannot build the patches"
mkdir -p "$HP_TMP/dir" && cp "$HP_TMP/fix1.hpatch" "$HP_TMP/fix2.hpatch" "$HP_TMP/dir/"
bid_a=$(readelf -n "$HP_TMP/a/echo" | awk '/Build ID/ {print $3}')

# proc PID FILTER: a value of process PID in p.json
proc() { jq -r --argjson p "$1" ".processes[] | select(.pid == \$p) | $2" "$HP_TMP/p.json"; }
tcheck() { proc "$1" ".targets[] | select(.patch_id == \"$2\") | .checks[] | select(.name == \"$3\") | $4"; }

hp_start_target "$HP_TMP/a/echo"; A=$HP_T; a=$(hp_pid $A)

test_expect_success 'with a patch, every process that maps its target is assessed, no other' '
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" >"$HP_TMP/p.json"
	hp_expect_eq $? 0 "exit code" &&
	hp_expect_eq "$(proc $a .verdict)" eligible verdict &&
	hp_expect_eq "$(jq "[.processes[] | select(.pid == $$)] | length" "$HP_TMP/p.json")" 0 "this shell is not listed" &&
	hp_expect_eq "$(jq -r ".patches[0].patch_id, .patches[0].target.build_id" "$HP_TMP/p.json" | tr "\n" " ")" \
		"echo-fix1 $bid_a " "patch listed" &&
	hp_expect_eq "$(tcheck $a echo-fix1 baseline .value)" "$bid_a" baseline &&
	tcheck $a echo-fix1 symbols .reason | grep -q "^all [0-9]* symbols the patch needs were found (1 functions" &&
	hp_expect_eq "$(tcheck $a echo-fix1 applied .value)" none applied
'

test_expect_success 'a process that does not map the target is not eligible for the patch' '
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $$ >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(jq -r ".processes[0].checks[] | select(.name == \"target\") | .result" "$HP_TMP/p.json")" not-ok target
'

test_expect_success 'a symbol at another address than the patch says is reported' '
	addr=$("$HOTPATCH" info --json "$HP_TMP/fix1.hpatch" | jq -r ".manifest.functions[0].addr") &&
	bad=$(printf "0x%0$(( ${#addr} - 2 ))x" $(( addr + 16 ))) &&
	python3 - "$HP_TMP/fix1.hpatch" "$HP_TMP/bad.hpatch" "$addr" "$bad" <<-PY &&
	import sys
	data = open(sys.argv[1], "rb").read()
	old, new = sys.argv[3].encode(), sys.argv[4].encode()
	assert data.count(old) == 1 and len(old) == len(new)
	open(sys.argv[2], "wb").write(data.replace(old, new))
	PY
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/bad.hpatch" -p $a >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(tcheck $a echo-fix1 symbols .result)" not-ok symbols &&
	tcheck $a echo-fix1 symbols .reason | grep -q "sit at other addresses: answer"
'

test_expect_success 'once applied the process is patched; a patch directory shows the next level' '
	hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $A ab)" "ok ab 104" "fix1 runs" &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" >"$HP_TMP/p.json"
	hp_expect_eq $? 0 "exit code" &&
	hp_expect_eq "$(proc $a .verdict)" patched verdict &&
	hp_expect_eq "$(proc $a ".applied[0] | \"\(.patch_id) \(.level) \(.state)\"")" "echo-fix1 1 active" applied &&
	"$HOTPATCH" assess --json --allow-unsigned --patch-dir "$HP_TMP/dir" >"$HP_TMP/p.json" &&
	hp_expect_eq "$(proc $a ".targets | length")" 2 "two patches for its target" &&
	hp_expect_eq "$(proc $a ".targets[] | select(.patch_id == \"echo-fix1\") | .verdict")" patched "level 1" &&
	hp_expect_eq "$(proc $a ".targets[] | select(.patch_id == \"echo-fix2\") | .verdict")" eligible "level 2" &&
	tcheck $a echo-fix2 applied .reason | grep -q "level 1 is applied; this patch (level 2) replaces it" &&
	hp_expect_eq "$(proc $a .verdict)" eligible "process verdict"
'

test_expect_success 'a higher level applied covers a lower one (levels are cumulative)' '
	hp_run_expect 0 apply -p $a --allow-unsigned "$HP_TMP/fix2.hpatch" &&
	hp_expect_eq "$(hp_ask $A ab)" "ok ab 204" "fix2 runs" &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $a >"$HP_TMP/p.json" &&
	hp_expect_eq "$(proc $a .verdict)" patched verdict &&
	hp_expect_eq "$(tcheck $a echo-fix1 applied .value)" "echo-fix2 level 2" applied
'

mkdir -p "$HP_TMP/r" && cp "$HP_TMP/a/echo" "$HP_TMP/r/echo"
hp_start_target "$HP_TMP/r/echo"; r=$(hp_pid $HP_T)
test_expect_success 'another build on disk than the one running: a restart gets the patch s baseline' '
	cp "$HP_TMP/b/echo" "$HP_TMP/r/echo.new" && mv "$HP_TMP/r/echo.new" "$HP_TMP/r/echo" &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fixb.hpatch" -p $r >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(proc $r .verdict)" restart-required verdict &&
	hp_expect_eq "$(proc $r ".targets[0].build_id")" "$bid_a" running &&
	hp_expect_eq "$(proc $r ".targets[0].disk_build_id")" b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0 "on disk" &&
	tcheck $r echo-b-fix1 baseline .reason | grep -q "which is the file on disk now: a restart loads it"
'
test_expect_success 'a patch for a build that neither runs nor is on disk: not eligible' '
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fixb.hpatch" -p $a >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(proc $a .verdict)" not-eligible verdict &&
	tcheck $a echo-b-fix1 baseline .remedy | grep -q "get a patch built for build $bid_a"
'

mkdir -p "$HP_TMP/s" && cp "$HP_TMP/a/echo" "$HP_TMP/s/echo" && strip --strip-all "$HP_TMP/s/echo"
hp_start_target "$HP_TMP/s/echo"; s=$(hp_pid $HP_T)
test_expect_success 'a stripped target: the symbols the patch needs cannot be checked without debug info' '
	HOTPATCH_DEBUG_ROOT="$HP_TMP/none" "$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $s >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(tcheck $s echo-fix1 symbols .result)" unknown symbols &&
	hp_expect_eq "$(proc $s .verdict)" unknown verdict &&
	mkdir -p "$HP_TMP/dbg/.build-id/${bid_a:0:2}" &&
	objcopy --only-keep-debug "$HP_TMP/a/echo" "$HP_TMP/dbg/.build-id/${bid_a:0:2}/${bid_a:2}.debug" &&
	HOTPATCH_DEBUG_ROOT="$HP_TMP/dbg" "$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $s >"$HP_TMP/p.json" &&
	hp_expect_eq "$(tcheck $s echo-fix1 symbols .result)" ok "symbols with the debug file" &&
	hp_expect_eq "$(proc $s .verdict)" eligible verdict
'

test_expect_success 'W^X seccomp filter and PR_SET_MDWE: assess says eligible, and apply works' '
	hp_start_target "$HP_TMP/wrap" wx "$HP_TMP/a/echo" && w=$HP_T && p=$(hp_pid $w) &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $p >"$HP_TMP/p.json" &&
	hp_expect_eq "$(proc $p .verdict)" eligible verdict &&
	hp_run_expect 0 apply -p $p --allow-unsigned "$HP_TMP/fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $w ab)" "ok ab 104" "patched under W^X"
'
test_expect_success 'seccomp refusing memfd_create: assess says not eligible, and apply fails' '
	hp_start_target "$HP_TMP/wrap" deny-memfd "$HP_TMP/a/echo" && d=$HP_T && p=$(hp_pid $d) &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/fix1.hpatch" -p $p >"$HP_TMP/p.json"
	hp_expect_eq "$(proc $p .verdict)" not-eligible verdict &&
	! "$HOTPATCH" apply -p $p --allow-unsigned "$HP_TMP/fix1.hpatch" 2>"$HP_TMP/apply.err" &&
	grep -q memfd_create "$HP_TMP/apply.err" &&
	hp_expect_eq "$(hp_ask $d ab)" "ok ab 5" "still the original code"
'

test_done
