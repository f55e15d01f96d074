-- SPDX-License-Identifier: MIT
-- For the dashboard measurement only (docs/dashboard.md), the PostgreSQL twin of perf-fill.py:
-- copy every host that checked in through the API (and its process targets) :copies times, with
-- new ids, host names and machine ids.
--   psql -v copies=41 -f perf-fill-pg.sql postgresql://...
BEGIN;
CREATE TEMP TABLE src AS SELECT * FROM hosts WHERE hostname NOT LIKE 'fill-%';
INSERT INTO hosts (id, hostname, machine_id, group_id, labels, agent_version, kernel, arch, enrolled_at, last_checkin,
		   state, reason, verdict, report_paused, report_policy, restart_required, patched_targets, events_ack,
		   report_hash, report)
SELECT s.id || '-' || g, 'fill-' || g || '-' || s.hostname, md5(s.machine_id || g), s.group_id, s.labels, s.agent_version,
       s.kernel, s.arch, s.enrolled_at, s.last_checkin, s.state, s.reason, s.verdict, s.report_paused, s.report_policy,
       s.restart_required, s.patched_targets, s.events_ack, s.report_hash, s.report
FROM src s, generate_series(1, :copies) g;
INSERT INTO host_targets (host_id, pid, comm, exe, unit, path, build_id, patch_id, level, state, reason)
SELECT t.host_id || '-' || g, t.pid, t.comm, t.exe, t.unit, t.path, t.build_id, t.patch_id, t.level, t.state, t.reason
FROM host_targets t JOIN src s ON s.id = t.host_id, generate_series(1, :copies) g;
COMMIT;
ANALYZE;
SELECT COUNT(*) AS hosts FROM hosts;
