#!/bin/bash
# SPDX-License-Identifier: MIT
# A trust directory or key file that others can write is refused, and the
# message says why and what to do: anyone who can write there could make
# hotpatch trust their key.  (verify and apply share the check.)
. "$(dirname "$0")/lib.sh"
hp_require root cc

T=$HP_TMP/trust
test_expect_success 'a signed patch and a trust directory that verifies it' '
	hp_compile svc "$TARGET_SRC/host-svc.c" -pthread &&
	hp_make_patch svc 1 "$HP_TMP/fix.hpatch" --id perm-fix &&
	"$HOTPATCH" keygen -o "$HP_TMP/k" >/dev/null &&
	"$HOTPATCH" sign --key "$HP_TMP/k.key" -o "$HP_TMP/s.hpatch" "$HP_TMP/fix.hpatch" >/dev/null &&
	mkdir -m 0755 "$T" && install -m 0644 "$HP_TMP/k.pub" "$T/k.pub" &&
	hp_run_expect 0 verify --trust-dir "$T" "$HP_TMP/s.hpatch"
'

test_expect_success 'a world-writable trust directory is refused, saying why' '
	chmod 0777 "$T" &&
	hp_run_expect 10 verify --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	grep -q "refusing trust directory .$T.: it is world-writable (mode 0777)" "$HP_TMP/last.err" &&
	grep -q "chmod o-w" "$HP_TMP/last.err" &&
	hp_start_target "$HP_TMP/svc" && p=$(hp_pid $HP_T) &&
	hp_run_expect 10 apply -p $p --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	grep -q "world-writable" "$HP_TMP/last.err" &&
	chmod 0755 "$T"
'

test_expect_success 'a trust directory writable by a group other than root is refused' '
	chgrp nogroup "$T" && chmod 0775 "$T" &&
	hp_run_expect 10 verify --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	grep -q "group [0-9]* can write it (mode 0775)" "$HP_TMP/last.err" &&
	chgrp root "$T" && hp_run_expect 0 verify --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	chmod 0755 "$T"
'

test_expect_success 'a world-writable key file, or one owned by another user, is not trusted, saying why' '
	chmod 0666 "$T/k.pub" &&
	hp_run_expect 10 verify --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	grep -q "refusing key file .$T/k.pub.: it is world-writable (mode 0666).*the key is ignored" "$HP_TMP/last.err" &&
	chmod 0644 "$T/k.pub" && chown nobody "$T/k.pub" &&
	hp_run_expect 10 verify --trust-dir "$T" "$HP_TMP/s.hpatch" &&
	grep -q "owned by uid [0-9]*, neither root nor the caller" "$HP_TMP/last.err" &&
	chown root "$T/k.pub" && hp_run_expect 0 verify --trust-dir "$T" "$HP_TMP/s.hpatch"
'
test_done
