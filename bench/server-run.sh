#!/bin/bash
# SPDX-License-Identifier: MIT
# hotpatch-server under simulated agents (bench/server-load.c); figures in BENCHMARKS.md.
#
#   bench/server-run.sh sqlite|postgresql HOSTS [STEADY_SECONDS] [BUILD_DIR]
#
# Starts a server (and, for postgresql, a private PostgreSQL as nobody), enrolls
# HOSTS agents through the API, then measures from outside:
#   first   every host sends its first report (rows created), flat out
#   burst   every host checks in once at a random time within HS_BENCH_WITHIN
#           seconds (default 60; open loop, latency from the due time):
#           p50/p99/max, and the server's (+ PostgreSQL's) CPU per check-in
#   flat    every host checks in once, 64 connections flat out: requests/s
#   steady  every host every 900 s (paced), for STEADY_SECONDS: CPU of the server
#           (+ PostgreSQL) per second of wall time, i.e. the share of one core
#   report  GET /reports/policies, 5 times: latency
# Every check-in after the first has a 5 % chance of a changed report (a process
# restarted: its rows are rewritten) and 5 % of a new event (HS_BENCH_CHANGED,
# HS_BENCH_EVENTS).  Default HOSTS 10000, STEADY_SECONDS 60.  Everything runs on
# this machine; the load average is printed before each step.
#
# HS_BENCH_RELEASE=canary|broad: before the burst, release libc-1 (which every
# simulated host reports applied) to a ring nobody is in (canary: a group
# with no hosts) or to every host (broad: percent 100, the group's 20 %
# limit); a first pass of every host ("release-first", flat out) is measured
# on its own, then burst, flat and steady as usual, with the release going on.
#
# HS_BENCH_KEEP=DIR keeps the database (and the hosts' credentials) in DIR; a
# second run with the same DIR skips enrollment and first reports (at 100,000
# hosts on this machine: ~3 minutes and ~12 minutes) and measures again.
set -eu
backend=${1:?sqlite|postgresql} hosts=${2:-10000} steady=${3:-60}
B=${4:-$(cd "$(dirname "$0")/.." && pwd)/build}
SERVER=$B/src/server/hotpatch-server LOAD=$B/bench/server-load
T=$(mktemp -d /tmp/hs-bench.XXXXXX)
keep=${HS_BENCH_KEEP:-} reuse=
[ -n "$keep" ] && mkdir -p "$keep" && [ -f "$keep/ready" ] && reuse=1
spid= pgdir= pgbin=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	if [ -n "$pgdir" ]; then
		runuser -u nobody -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
		[ -n "$keep" ] || rm -rf "$pgdir"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

cpu_ticks() {	# utime+stime of the given pids, in clock ticks
	local p s=0
	for p in "$@"; do
		[ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14 + $15}' /proc/$p/stat)))
	done
	echo $s
}

if [ "$backend" = postgresql ]; then
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	if [ -n "$keep" ]; then pgdir=$keep/pg && mkdir -p "$pgdir"; else pgdir=$(mktemp -d /tmp/hs-bench-pg.XXXXXX); fi
	chown nobody "$pgdir"
	[ -n "$reuse" ] || runuser -u nobody -- "$pgbin/initdb" -D "$pgdir/data" -U hp -A trust --no-sync >/dev/null
	port=$((20000 + RANDOM % 30000))
	runuser -u nobody -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c max_connections=100 -c shared_buffers=256MB -c synchronous_commit=off" start >/dev/null
	db=postgresql://hp@127.0.0.1:$port/postgres
else
	db=${keep:-$T}/server.db
fi
state=${keep:-$T}/hosts
if [ -n "$reuse" ]; then
	read -r admin enroll <"$keep/tokens"
else
	admin=$("$SERVER" --db "$db" create-token --kind api --role admin --name bench)
	enroll=$("$SERVER" --db "$db" create-token --kind enroll --name bench)
	[ -z "$keep" ] || echo "$admin $enroll" >"$keep/tokens"
fi
"$SERVER" --db "$db" --port 0 --threads "${HS_BENCH_THREADS:-8}" --tick-seconds 10 2>"$T/server.log" &
spid=$!
for i in $(seq 100); do grep -q listening "$T/server.log" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$T/server.log")
echo "# $backend, $hosts hosts, server $url, load average $(cut -d' ' -f1-3 /proc/loadavg)"
within=${HS_BENCH_WITHIN:-60} mix="--changed ${HS_BENCH_CHANGED:-5} --events ${HS_BENCH_EVENTS:-5} ${HS_BENCH_LOAD_ARGS:-}"
if [ -z "$reuse" ]; then
curl -s -H "Authorization: Bearer $admin" -d '{"name":"prod"}' "$url/api/v1/policies" >/dev/null
curl -s -H "Authorization: Bearer $admin" -d '{"name":"web","policy":"prod"}' "$url/api/v1/groups" >/dev/null
curl -s -H "Authorization: Bearer $admin" -d '{"index":{"patches":[
	{"patch_id":"libc-1","build_id":"c0ffee01","level":1,"cves":["CVE-2026-0001"],"classification":"security"},
	{"patch_id":"ssl-2","build_id":"c0ffee02","level":2,"cves":["CVE-2026-0002","CVE-2026-0003"],"classification":"critical"}]}}' \
	"$url/api/v1/patches/import" >/dev/null

t0=$(date +%s)
"$LOAD" enroll --url "$url" --enroll-token "$enroll" --hosts "$hosts" --state "$state" -c 16
echo "# enrolled $hosts hosts through the API in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
"$LOAD" burst --url "$url" --state "$state" -c 64 --changed 0 --events 0 | sed 's/"burst"/"first"/'
echo "# first reports of $hosts hosts (every row created) in $(( $(date +%s) - t0 )) s"
[ -z "$keep" ] || touch "$keep/ready"
else
	echo "# reusing $keep: $(wc -l <"$state") hosts enrolled and reported before"
	# every run starts with no release (an earlier HS_BENCH_RELEASE run left one)
	clear_sql="DELETE FROM assignments; DELETE FROM release_rings; DELETE FROM release_slots; DELETE FROM releases;"
	if [ "$backend" = postgresql ]; then "$pgbin/psql" -q "$db" -c "$clear_sql" >/dev/null
	else sqlite3 "$db" "$clear_sql"; fi
fi
if [ "$backend" = postgresql ]; then
	# a live database is vacuumed and analysed by autovacuum; a freshly loaded one not yet
	"$pgbin/psql" -q "$db" -c "VACUUM ANALYZE" >/dev/null
else
	sqlite3 "$db" "ANALYZE;"
fi
case ${HS_BENCH_RELEASE:-} in
'') ;;
canary|broad)
	rings='[{"name":"broad","percent":100,"bake_seconds":3600}]'
	if [ "$HS_BENCH_RELEASE" = canary ]; then
		curl -s -H "Authorization: Bearer $admin" -d '{"name":"canary"}' "$url/api/v1/groups" >/dev/null
		rings='[{"name":"canary","group":"canary","bake_seconds":3600}]'
	fi
	curl -sf -H "Authorization: Bearer $admin" -d "{\"patch_id\":\"libc-1\",\"rings\":$rings}" \
		"$url/api/v1/releases" >/dev/null || { echo "bench: cannot create the release" >&2; exit 1; }
	echo "# release of libc-1 to $HS_BENCH_RELEASE, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	"$LOAD" burst --url "$url" --state "$state" -c 64 $mix | sed 's/"burst"/"release-first"/'
	;;
*) echo "bench: HS_BENCH_RELEASE is canary or broad" >&2; exit 2 ;;
esac
pids=$spid
# this PostgreSQL only: its postmaster and the processes it forked (the server's connections are open by now)
[ -n "$pgdir" ] && pm=$(head -1 "$pgdir/data/postmaster.pid") && pids="$spid $pm $(pgrep -P "$pm" -d' ' || true)"
cpu_per() {	# $1 ticks, $2 mode
	awk -v c="$1" -v hz="$(getconf CLK_TCK)" -v n="$hosts" -v m="$2" \
		'BEGIN { printf "{\"mode\":\"%s-cpu\",\"cpu_ms_per_checkin\":%.3f}\n", m, 1000 * c / hz / n }'
}
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)"
c0=$(cpu_ticks $pids)
"$LOAD" burst --url "$url" --state "$state" -c 64 --within "$within" $mix
cpu_per $(( $(cpu_ticks $pids) - c0 )) burst
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)"
c0=$(cpu_ticks $pids)
"$LOAD" burst --url "$url" --state "$state" -c 64 $mix | sed 's/"burst"/"flat"/'
cpu_per $(( $(cpu_ticks $pids) - c0 )) flat
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)"
c0=$(cpu_ticks $pids) t0=$(date +%s.%N)
"$LOAD" steady --url "$url" --state "$state" --interval 900 --duration "$steady" -c 16 $mix
c1=$(cpu_ticks $pids) t1=$(date +%s.%N)
awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
	'BEGIN { printf "{\"mode\":\"steady-cpu\",\"cpu_percent_of_one_core\":%.1f}\n", 100 * c / hz / (t1 - t0) }'
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$LOAD" report --url "$url" --token "$admin" --repeat 5

# HS_BENCH_SCALE=K: then copy every enrolled host (and its process rows) K-1 times by SQL,
# so the reports run over K x HOSTS hosts with the states real check-ins gave them.
scale=${HS_BENCH_SCALE:-1}
if [ "$scale" -gt 1 ]; then
	sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((scale - 1)))
	INSERT INTO hosts (id, hostname, machine_id, group_id, labels, agent_version, kernel, arch, enrolled_at,
		last_checkin, state, reason, verdict, report_paused, report_policy, restart_required, patched_targets,
		events_ack, report_hash)
	SELECT h.id || '-' || n.i, h.hostname || '-' || n.i, h.machine_id || '-' || n.i, h.group_id, h.labels,
		h.agent_version, h.kernel, h.arch, h.enrolled_at, h.last_checkin, h.state, h.reason, h.verdict,
		h.report_paused, h.report_policy, h.restart_required, h.patched_targets, h.events_ack, h.report_hash
	FROM hosts h, n;
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((scale - 1)))
	INSERT INTO host_targets (host_id, pid, comm, exe, unit, path, build_id, patch_id, level, state, reason)
	SELECT t.host_id || '-' || n.i, t.pid, t.comm, t.exe, t.unit, t.path, t.build_id, t.patch_id, t.level,
		t.state, t.reason FROM host_targets t, n;"
	t0=$(date +%s)
	if [ "$backend" = postgresql ]; then
		"$pgbin/psql" -q "$db" -c "$sql" -c "ANALYZE" >/dev/null
	else
		sqlite3 "$db" "$sql ANALYZE;"
	fi
	echo "# copied to $((hosts * scale)) hosts in $(( $(date +%s) - t0 )) s"
	"$LOAD" report --url "$url" --token "$admin" --repeat 5
	for q in "/hosts?per_page=100" "/hosts?state=not-ready&per_page=100" "/hosts?cve=CVE-2026-0002&per_page=100" \
		"/reports/cves" "/hosts?q=load-0042&per_page=100"; do
		best=
		for i in 1 2 3; do
			t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $admin" "$url/api/v1$q")
			best=$(awk -v a="${best:-1e9}" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
		done
		printf '{"mode":"query","path":"%s","best_of_3_ms":%.1f}\n' "$q" "$(awk -v t="$best" 'BEGIN { print t * 1000 }')"
	done
fi
