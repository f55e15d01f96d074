#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch assess, restart-required audit: processes that map a library or
# an executable replaced or deleted on disk since they mapped it still run
# the old code.  A reinstall of the same build is not old code; a hotpatch
# for the old build covers it; the owning systemd unit is named (a unit
# cgroup is made by hand, as systemd would, where a cgroup tree is writable).
. "$(dirname "$0")/lib.sh"
hp_require root cc jq

lib=$TARGET_SRC/assess-lib.c
mkdir -p "$HP_TMP/v1" "$HP_TMP/v2" "$HP_TMP/lib" "$HP_TMP/bin" &&
cc $HP_CFLAGS -fPIC -shared -o "$HP_TMP/v1/libassess.so" "$lib" &&
cc $HP_CFLAGS -fPIC -shared -DASSESS_LIB_VERSION=2 -o "$HP_TMP/v2/libassess.so" "$lib" &&
cc $HP_CFLAGS -o "$HP_TMP/dlopen" "$TARGET_SRC/assess-dlopen.c" -ldl &&
cc $HP_CFLAGS -o "$HP_TMP/bin/echo" "$TARGET_SRC/assess-echo.c" || skip_all "cannot build the targets"
bid() { readelf -n "$1" | awk '/Build ID/ {print $3}'; }
v1=$(bid "$HP_TMP/v1/libassess.so")
v2=$(bid "$HP_TMP/v2/libassess.so")
L=$HP_TMP/lib/libassess.so

old() { jq -r --arg p "$L" ".processes[0].old_code[] | select(.path == \$p) | $1" "$HP_TMP/p.json"; }
ocheck() { jq -r ".processes[0].checks[] | select(.name == \"old_code\") | $1" "$HP_TMP/p.json"; }

# start_lib: a fresh process with v1 installed at $L
start_lib() {
	cp "$HP_TMP/v1/libassess.so" "$L.new" && mv "$L.new" "$L" &&
	hp_start_target "$HP_TMP/dlopen" "$L" && P=$(hp_pid $HP_T) && T=$HP_T
}

start_lib
test_expect_success 'nothing replaced: no old code' '
	"$HOTPATCH" assess --json -p $P >"$HP_TMP/p.json" &&
	hp_expect_eq "$(ocheck .result)" ok old_code &&
	hp_expect_eq "$(jq ".processes[0].old_code | length" "$HP_TMP/p.json")" 0 "old code entries"
'

test_expect_success 'a reinstall of the same build (new inode) is not old code' '
	cp "$HP_TMP/v1/libassess.so" "$L.new" && mv "$L.new" "$L" &&
	[ "$(stat -c %i "$L")" != "$(awk -v p="$L" "\$6 == p {print \$5; exit}" /proc/$P/maps)" ] &&
	"$HOTPATCH" assess --json -p $P >"$HP_TMP/p.json" &&
	hp_expect_eq "$(ocheck .result)" ok old_code
'

test_expect_success 'a library upgraded on disk: restart required, both builds named' '
	cp "$HP_TMP/v2/libassess.so" "$L.new" && mv "$L.new" "$L" &&
	"$HOTPATCH" assess --json -p $P >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(jq -r ".processes[0].verdict" "$HP_TMP/p.json")" restart-required verdict &&
	hp_expect_eq "$(old .state)" replaced state &&
	hp_expect_eq "$(old .build_id)" "$v1" "running build" &&
	hp_expect_eq "$(old .disk_build_id)" "$v2" "build on disk" &&
	hp_expect_eq "$(hp_ask $T v)" 1 "the process really runs v1" &&
	ocheck .reason | grep -q "libassess.so (replaced)" &&
	ocheck .remedy | grep -q "restart process $P"
'

test_expect_success 'a library deleted from disk: restart required' '
	rm "$L" &&
	"$HOTPATCH" assess --json -p $P >"$HP_TMP/p.json"
	hp_expect_eq $? 1 "exit code" &&
	hp_expect_eq "$(old .state)" deleted state &&
	hp_expect_eq "$(old .disk_build_id)" null "nothing on disk"
'

test_expect_success 'an executable deleted from disk: restart required' '
	hp_start_target "$HP_TMP/bin/echo" && e=$(hp_pid $HP_T) &&
	rm "$HP_TMP/bin/echo" &&
	"$HOTPATCH" assess --json -p $e >"$HP_TMP/p.json"
	hp_expect_eq "$(jq -r ".processes[0].exe" "$HP_TMP/p.json")" "$HP_TMP/bin/echo" "exe without (deleted)" &&
	hp_expect_eq "$(jq -r --arg p "$HP_TMP/bin/echo" ".processes[0].old_code[] | select(.path == \$p) | .state" \
		"$HP_TMP/p.json")" deleted state
'

test_expect_success '--all finds the process that runs old code' '
	"$HOTPATCH" assess --all >"$HP_TMP/all.txt"
	awk "/^restart-required/,/^(unknown|eligible|patched)/" "$HP_TMP/all.txt" | grep -q "^  $P " &&
	grep -q "old code: $L (deleted; runs $v1, disk -)" "$HP_TMP/all.txt"
'

test_expect_success 'a hotpatch for the old build covers the old code' '
	cc $HP_CFLAGS -fPIC -ffunction-sections -fdata-sections -c "$lib" -o "$HP_TMP/lib.orig.o" &&
	cc $HP_CFLAGS -fPIC -ffunction-sections -fdata-sections -DHP_FIX=1 -c "$lib" -o "$HP_TMP/lib.fix1.o" &&
	"$HOTPATCH" build --target "$HP_TMP/v1/libassess.so" --orig "$HP_TMP/lib.orig.o" \
		--patched "$HP_TMP/lib.fix1.o" -o "$HP_TMP/lib-fix1.hpatch" --id lib-fix1 >/dev/null &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/lib-fix1.hpatch" -p $P >"$HP_TMP/p.json"
	hp_expect_eq $? 0 "exit code" &&
	hp_expect_eq "$(old .covered_by)" lib-fix1 covered_by &&
	hp_expect_eq "$(ocheck .result)" ok old_code &&
	hp_expect_eq "$(jq -r ".processes[0].targets[0].verdict" "$HP_TMP/p.json")" eligible "patch verdict" &&
	hp_run_expect 0 apply -p $P --allow-unsigned "$HP_TMP/lib-fix1.hpatch" &&
	hp_expect_eq "$(hp_ask $T v)" 101 "the hotpatch fixed the old code" &&
	"$HOTPATCH" assess --json --allow-unsigned --patch "$HP_TMP/lib-fix1.hpatch" -p $P >"$HP_TMP/p.json" &&
	hp_expect_eq "$(jq -r ".processes[0].verdict" "$HP_TMP/p.json")" patched "verdict once applied"
'

# A unit cgroup, made the way systemd makes one: in the name=systemd v1 hierarchy
# (hybrid hosts) or in a cgroup2 tree.
unit=hp-assess-$$.service
for tree in $(awk '$3 == "cgroup" && $4 ~ /name=systemd/ {print "v1:" $2} $3 == "cgroup2" {print "v2:" $2}' /proc/self/mounts); do
	kind=${tree%%:*} dir=${tree#*:}
	cg=$dir/hp-assess-test.slice/$unit
	if ! mkdir -p "$cg" 2>/dev/null; then
		test_skip "$kind: the owning unit is named" "cannot create a cgroup under $dir"
		continue
	fi
	start_lib
	test_expect_success "$kind: the owning systemd unit is named in the remedy" '
		echo $P >"$cg/cgroup.procs" &&
		cp "$HP_TMP/v2/libassess.so" "$L.new" && mv "$L.new" "$L" &&
		"$HOTPATCH" assess --json -p $P >"$HP_TMP/p.json"
		hp_expect_eq "$(jq -r ".processes[0].unit" "$HP_TMP/p.json")" $unit unit &&
		ocheck .remedy | grep -q "systemctl restart $unit" &&
		"$HOTPATCH" assess -p $P | grep -q "^  $P .* $unit "
	'
	echo $P >"$dir/cgroup.procs" 2>/dev/null
	kill $P 2>/dev/null
	wait $P 2>/dev/null
	rmdir "$cg" "$dir/hp-assess-test.slice" 2>/dev/null
done

test_done
