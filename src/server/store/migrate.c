/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations, shared by both backends.  Each step runs once, in a
 * transaction, recorded in schema_version; "@SERIAL@" becomes the backend's
 * auto-increment key type.  Two servers starting together on one PostgreSQL
 * serialise on an advisory lock, so a step never runs twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const char *const migration_1[] = {
	"CREATE TABLE groups (id @SERIAL@, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',"
	" policy_id BIGINT, max_parallel_pct BIGINT NOT NULL DEFAULT 20, created_at BIGINT NOT NULL)",
	"CREATE TABLE policies (id @SERIAL@, name TEXT NOT NULL UNIQUE, document TEXT NOT NULL,"
	" paused INTEGER NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL)",
	"CREATE TABLE hosts (id TEXT PRIMARY KEY, hostname TEXT NOT NULL, machine_id TEXT NOT NULL,"
	" group_id BIGINT, labels TEXT NOT NULL DEFAULT '[]', agent_version TEXT NOT NULL DEFAULT '',"
	" kernel TEXT NOT NULL DEFAULT '', arch TEXT NOT NULL DEFAULT '', enrolled_at BIGINT NOT NULL,"
	" last_checkin BIGINT, state TEXT NOT NULL DEFAULT 'not-ready', reason TEXT,"
	" verdict TEXT NOT NULL DEFAULT 'unknown', report_paused INTEGER NOT NULL DEFAULT 0,"
	" report_policy TEXT, restart_required BIGINT NOT NULL DEFAULT 0, patched_targets BIGINT NOT NULL DEFAULT 0,"
	" events_ack BIGINT NOT NULL DEFAULT 0, report_hash TEXT, report TEXT)",
	"CREATE INDEX hosts_group ON hosts(group_id, state)",
	"CREATE INDEX hosts_machine ON hosts(machine_id)",
	"CREATE INDEX hosts_state ON hosts(state)",
	"CREATE TABLE tokens (id @SERIAL@, hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, name TEXT NOT NULL,"
	" role TEXT, host_id TEXT, group_id BIGINT, created_at BIGINT NOT NULL, expires_at BIGINT,"
	" revoked INTEGER NOT NULL DEFAULT 0, last_used BIGINT)",
	"CREATE INDEX tokens_host ON tokens(host_id)",
	"CREATE TABLE patches (id TEXT PRIMARY KEY, build_id TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',"
	" package TEXT NOT NULL DEFAULT '', version TEXT NOT NULL DEFAULT '', level BIGINT NOT NULL DEFAULT 1,"
	" classification TEXT NOT NULL DEFAULT 'other', cves TEXT NOT NULL DEFAULT '[]',"
	" sha256 TEXT NOT NULL DEFAULT '', size BIGINT NOT NULL DEFAULT 0, released TEXT, url TEXT NOT NULL DEFAULT '',"
	" imported_at BIGINT NOT NULL)",
	"CREATE INDEX patches_build ON patches(build_id)",
	"CREATE TABLE patch_cves (patch_id TEXT NOT NULL, cve TEXT NOT NULL, PRIMARY KEY (patch_id, cve))",
	"CREATE INDEX patch_cves_cve ON patch_cves(cve)",
	"CREATE TABLE releases (id @SERIAL@, patch_id TEXT NOT NULL, state TEXT NOT NULL,"
	" current_ring BIGINT NOT NULL DEFAULT 0, ring_started_at BIGINT NOT NULL, max_parallel_pct BIGINT NOT NULL,"
	" failure_baseline BIGINT NOT NULL DEFAULT 0, revert INTEGER NOT NULL DEFAULT 0, halted_reason TEXT,"
	" evidence TEXT, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, updated_at BIGINT NOT NULL)",
	"CREATE TABLE release_rings (release_id BIGINT NOT NULL, idx BIGINT NOT NULL, name TEXT NOT NULL,"
	" group_id BIGINT, percent BIGINT, bake_seconds BIGINT NOT NULL, failure_threshold BIGINT NOT NULL,"
	" PRIMARY KEY (release_id, idx))",
	"CREATE TABLE assignments (release_id BIGINT NOT NULL, host_id TEXT NOT NULL, ring_idx BIGINT NOT NULL,"
	" action TEXT NOT NULL, state TEXT NOT NULL, assigned_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	" PRIMARY KEY (release_id, host_id))",
	"CREATE INDEX assignments_host ON assignments(host_id)",
	"CREATE INDEX assignments_state ON assignments(release_id, state)",
	"CREATE TABLE host_targets (host_id TEXT NOT NULL, pid BIGINT NOT NULL, comm TEXT, exe TEXT, unit TEXT,"
	" path TEXT, build_id TEXT, patch_id TEXT, level BIGINT NOT NULL DEFAULT 0, state TEXT NOT NULL, reason TEXT)",
	"CREATE INDEX host_targets_host ON host_targets(host_id)",
	"CREATE INDEX host_targets_build ON host_targets(build_id, state)",
	"CREATE TABLE events (id @SERIAL@, host_id TEXT NOT NULL, agent_id BIGINT NOT NULL, time TEXT,"
	" received_at BIGINT NOT NULL, kind TEXT NOT NULL, patch_id TEXT, pid BIGINT, detail TEXT)",
	"CREATE UNIQUE INDEX events_agent ON events(host_id, agent_id)",
	"CREATE INDEX events_patch ON events(patch_id, kind)",
	"CREATE TABLE audit (id @SERIAL@, time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
	" object TEXT NOT NULL DEFAULT '', detail TEXT)",
	"CREATE TABLE snapshots (day TEXT NOT NULL, policy TEXT NOT NULL, devices BIGINT NOT NULL,"
	" up_to_date BIGINT NOT NULL, hotpatched BIGINT NOT NULL, not_up_to_date BIGINT NOT NULL,"
	" in_progress BIGINT NOT NULL, not_ready BIGINT NOT NULL, paused BIGINT NOT NULL,"
	" restart_required BIGINT NOT NULL, PRIMARY KEY (day, policy))",
	NULL,
};

/* Reports at 100,000 hosts: covering indexes, and the report JSON out of the hot hosts rows. */
static const char *const migration_2[] = {
	"CREATE INDEX hosts_report ON hosts(group_id, state, restart_required, reason)",
	"CREATE INDEX hosts_reason ON hosts(state, group_id, reason)",
	"CREATE INDEX hosts_name ON hosts(hostname, id)",
	"CREATE TABLE host_reports (host_id TEXT PRIMARY KEY, report TEXT NOT NULL)",
	"INSERT INTO host_reports (host_id, report) SELECT id, report FROM hosts WHERE report IS NOT NULL",
	"UPDATE hosts SET report = NULL",
	NULL,
};

/*
 * Per host, target build and the level its processes run (0: not patched),
 * how many processes: "still vulnerable to CVE X" is then one indexed range
 * per fixing build instead of a scan of every process row.
 */
static const char *const migration_3[] = {
	"CREATE TABLE host_builds (host_id TEXT NOT NULL, build_id TEXT NOT NULL, level BIGINT NOT NULL,"
	" processes BIGINT NOT NULL, PRIMARY KEY (host_id, build_id, level))",
	"CREATE INDEX host_builds_build ON host_builds(build_id, level)",
	"INSERT INTO host_builds (host_id, build_id, level, processes) SELECT host_id, build_id,"
	" CASE WHEN state = 'patched' THEN level ELSE 0 END, COUNT(*) FROM host_targets"
	" WHERE build_id IS NOT NULL GROUP BY host_id, build_id, CASE WHEN state = 'patched' THEN level ELSE 0 END",
	NULL,
};

/*
 * PostgreSQL only ("@PG@"): room in each page of hosts for the new version
 * of a row, so the check-in's update of last-seen stays on the page and
 * touches no index (a HOT update).
 */
static const char *const migration_4[] = {
	"@PG@ALTER TABLE hosts SET (fillfactor = 80)",
	NULL,
};

/*
 * Rollouts at 100,000 hosts (docs/server.md, "Rollouts at scale"): the free
 * places of a release in a group (release_slots) are claimed by a check-in
 * with one update instead of counting the group and its outstanding
 * assignments; rollout_gen changes with every release transition, and a
 * host that found nothing to be assigned at a generation (hosts.assign_gen)
 * takes the short check-in path until the next one.
 */
static const char *const migration_5[] = {
	"CREATE TABLE release_slots (release_id BIGINT NOT NULL, group_id BIGINT NOT NULL, slots BIGINT NOT NULL,"
	" PRIMARY KEY (release_id, group_id))",
	"CREATE TABLE rollout_gen (id BIGINT PRIMARY KEY, gen BIGINT NOT NULL)",
	"INSERT INTO rollout_gen (id, gen) VALUES (1, 1)",
	"ALTER TABLE hosts ADD COLUMN assign_gen BIGINT NOT NULL DEFAULT 0",
	NULL,
};

/* The assignment list of a host's last full check-in, answered again by the short path. */
static const char *const migration_6[] = {
	"ALTER TABLE hosts ADD COLUMN assign_list TEXT",
	NULL,
};

static const char *const *const migrations[] = { migration_1, migration_2, migration_3, migration_4, migration_5,
						 migration_6 };

/* Replace @SERIAL@ with the backend's key type. */
static char *subst(const char *sql, const char *serial)
{
	const char *p = strstr(sql, "@SERIAL@");
	size_t a, b, s;
	char *out;

	if (!p)
		return strdup(sql);
	a = (size_t)(p - sql);
	s = strlen(serial);
	b = strlen(p + 8);
	out = malloc(a + s + b + 1);
	if (!out)
		return NULL;
	memcpy(out, sql, a);
	memcpy(out + a, serial, s);
	memcpy(out + a + s, p + 8, b + 1);
	return out;
}

int hs_migrate(struct hs_conn *c)
{
	long long have;
	size_t m;
	int r;

	r = hs_q(c, NULL, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)", "");
	if (r < 0 && c->ops->xact_lock == NULL)
		return r;
	/* On PostgreSQL a concurrent CREATE may fail: the lock below sorts it out. */
	r = hs_begin(c);
	if (r < 0)
		return r;
	r = hs_lock(c, 0x6870736d);	/* "hpsm" */
	if (r < 0)
		goto fail;
	r = hs_q(c, NULL, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)", "");
	if (r < 0)
		goto fail;
	have = hs_q_int(c, 0, "SELECT MAX(version) FROM schema_version", "");
	for (m = (size_t)have; m < sizeof(migrations) / sizeof(migrations[0]); m++) {
		for (const char *const *s = migrations[m]; *s; s++) {
			bool pg_only = !strncmp(*s, "@PG@", 4);
			char *sql;

			if (pg_only && strcmp(c->ops->name, "postgresql"))
				continue;
			sql = subst(*s + (pg_only ? 4 : 0), c->ops->serial_type);

			if (!sql) {
				r = -ENOMEM;
				goto fail;
			}
			r = hs_q(c, NULL, sql, "");
			free(sql);
			if (r < 0)
				goto fail;
		}
		r = hs_q(c, NULL, "INSERT INTO schema_version (version) VALUES (?)", "i", (long long)m + 1);
		if (r < 0)
			goto fail;
	}
	return hs_commit(c);
fail:
	hs_rollback(c);
	return r;
}
