/* SPDX-License-Identifier: MIT */
/*
 * Rollouts: releases go out ring by ring.  All state is in the database and
 * every transition is a compare-and-set UPDATE (WHERE state/current_ring is
 * what we read) under a per-release lock, so two server processes on one
 * PostgreSQL never promote or halt twice.
 *
 * A host belongs to the first ring that names its group, or whose
 * (cumulative) percent is above the host's bucket: a stable number 0..99
 * from SHA-256 of release id and host id.  It gets the patch once that ring
 * is current and fewer than max_parallel_pct of its group have an
 * outstanding assignment of the release.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "shared/util.h"

static int bucket(long long release_id, const char *host_id)
{
	char buf[128];
	uint8_t d[32];

	snprintf(buf, sizeof(buf), "%lld:%s", release_id, host_id);
	hp_sha256(buf, strlen(buf), d);
	return (int)(((uint32_t)d[0] << 8 | d[1]) % 100);
}

/* The most outstanding assignments a release may have in a group: its own percent, else the group's (20 % without a group), at least one. */
static long long slot_limit(struct hs_conn *c, long long pct, long long gid)
{
	long long size, limit;

	if (pct <= 0)
		pct = gid ? hs_q_int(c, 20, "SELECT max_parallel_pct FROM groups WHERE id = ?", "i", gid) : 20;
	size = hs_q_int(c, 1, "SELECT COUNT(*) FROM hosts WHERE COALESCE(group_id, 0) = ?", "i", gid);
	limit = size * pct / 100;
	return limit < 1 ? 1 : limit;
}

/* Outstanding assignments of a release among a group's hosts. */
static long long busy_in(struct hs_conn *c, long long rid, long long gid)
{
	return hs_q_int(c, 0, "SELECT COUNT(*) FROM assignments a JOIN hosts h ON h.id = a.host_id WHERE"
			" a.release_id = ? AND a.state = 'assigned' AND COALESCE(h.group_id, 0) = ?", "ii", rid, gid);
}

/*
 * Take one free place of release rid in group gid for an assignment: 1
 * taken, 0 none free.  One update of the release's row for the group; the
 * row is made (counting the group and its outstanding assignments) by the
 * first claim, given back when an assignment completes (hs_slot_return),
 * and counted again by every tick (refresh_slots) so that no drift lasts.
 */
static int claim_slot(struct hs_conn *c, long long rid, long long pct, long long gid)
{
	_cleanup_res_ struct hs_res *u = NULL;
	long long have = hs_q_int(c, -1, "SELECT slots FROM release_slots WHERE release_id = ? AND group_id = ?", "ii",
				  rid, gid);
	int r;

	if (have == 0)
		return 0;
	if (have < 0) {
		long long left;

		r = hs_lock(c, rid);	/* one first count per release and group, also across servers */
		if (r < 0)
			return r;
		left = slot_limit(c, pct, gid) - busy_in(c, rid, gid);
		r = hs_q(c, NULL, "INSERT INTO release_slots (release_id, group_id, slots) VALUES (?, ?, ?)"
			 " ON CONFLICT (release_id, group_id) DO NOTHING", "iii", rid, gid, left > 0 ? left : 0LL);
		if (r < 0)
			return r;
	}
	r = hs_q(c, &u, "UPDATE release_slots SET slots = slots - 1 WHERE release_id = ? AND group_id = ? AND slots > 0",
		 "ii", rid, gid);
	if (r < 0)
		return r;
	return u->changes == 1;
}

/*
 * An assignment stopped being outstanding (in the same transaction): its
 * place is free again at once.  Slot rows are taken in release order by
 * the claims and then by the returns of one check-in; two check-ins that
 * cross (each claiming one release and completing the other) can deadlock
 * on PostgreSQL, which detects it: the check-in is retried (-EBUSY).
 */
int hs_slot_return(struct hs_conn *c, long long rid, long long gid)
{
	return hs_q(c, NULL, "UPDATE release_slots SET slots = slots + 1 WHERE release_id = ? AND group_id = ?", "ii", rid,
		    gid);
}

/*
 * Count the free places of a release again in every group that claimed
 * one (a host removed, moved or re-grouped, a group's limit changed, a
 * halt and resume).  The row is locked first (a no-op update), so a claim
 * or return in flight has committed before the count, and one that comes
 * after applies to the new value.
 */
static int refresh_slots(struct hs_conn *c, long long rid, long long pct)
{
	_cleanup_res_ struct hs_res *g = NULL;
	int i, r;

	r = hs_begin(c);
	if (r < 0)
		return r;
	r = hs_q(c, &g, "SELECT group_id FROM release_slots WHERE release_id = ? ORDER BY group_id", "i", rid);
	for (i = 0; r >= 0 && i < g->nrows; i++) {
		long long gid = hs_get_int(g, i, 0, 0), left;

		r = hs_q(c, NULL, "UPDATE release_slots SET slots = slots WHERE release_id = ? AND group_id = ?", "ii", rid,
			 gid);
		if (r < 0)
			break;
		left = slot_limit(c, pct, gid) - busy_in(c, rid, gid);
		r = hs_q(c, NULL, "UPDATE release_slots SET slots = ? WHERE release_id = ? AND group_id = ?", "iii",
			 left > 0 ? left : 0LL, rid, gid);
	}
	if (r < 0) {
		hs_rollback(c);
		return r;
	}
	return hs_commit(c);
}

int hs_rollout_bump(struct hs_conn *c)
{
	return hs_q(c, NULL, "UPDATE rollout_gen SET gen = gen + 1 WHERE id = 1", "");
}

int hs_assign_host(struct hs_conn *c, const char *host_id, long long gid, bool *ret_settled, bool *ret_assigned)
{
	_cleanup_res_ struct hs_res *rel = NULL;
	int i, j, r;

	*ret_settled = true;
	*ret_assigned = false;
	r = hs_q(c, &rel, "SELECT r.id, r.current_ring, r.max_parallel_pct FROM releases r WHERE r.state IN ('active', 'completed')"
		 " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.release_id = r.id AND a.host_id = ?) ORDER BY r.id",
		 "s", host_id);
	if (r < 0)
		return r;
	for (i = 0; i < rel->nrows; i++) {
		_cleanup_res_ struct hs_res *rings = NULL;
		long long rid = hs_get_int(rel, i, 0, 0);
		int ring = -1, b = bucket(rid, host_id);

		r = hs_q(c, &rings, "SELECT idx, group_id, percent FROM release_rings WHERE release_id = ? AND idx <= ?"
			 " ORDER BY idx", "ii", rid, hs_get_int(rel, i, 1, 0));
		if (r < 0)
			return r;
		for (j = 0; j < rings->nrows && ring < 0; j++) {
			long long rg = hs_get_int(rings, j, 1, 0), rp = hs_get_int(rings, j, 2, 0);

			if ((rg && rg == gid) || (!rg && rp > b))
				ring = (int)hs_get_int(rings, j, 0, 0);
		}
		if (ring < 0)
			continue;	/* in no ring reached yet: nothing until the release moves (rollout_gen) */
		r = claim_slot(c, rid, hs_get_int(rel, i, 2, 0), gid);
		if (r < 0)
			return r;
		if (r == 0) {
			*ret_settled = false;	/* waits for a free place: asks again at every check-in */
			continue;
		}
		r = hs_q(c, NULL, "INSERT INTO assignments (release_id, host_id, ring_idx, action, state, assigned_at, updated_at)"
			 " VALUES (?, ?, ?, 'apply', 'assigned', ?, ?) ON CONFLICT (release_id, host_id) DO NOTHING", "isiii",
			 rid, host_id, (long long)ring, hs_now(), hs_now());
		if (r < 0)
			return r;
		*ret_assigned = true;
	}
	return 0;
}

/* Failure signals counted against a release: events of its patch from hosts it was assigned to. */
static const char *const failures_sql =
	"SELECT COUNT(*) FROM events e JOIN assignments a ON a.host_id = e.host_id AND a.release_id = ?"
	" WHERE e.patch_id = ? AND e.kind IN ('crash', 'apply-failed', 'halted') AND e.id > ?";

/* Judge one release: halt over the threshold, promote after the bake time, complete after the last ring. */
int hs_rollout_evaluate(struct hs_server *srv, struct hs_conn *c, long long id, const char *actor)
{
	_cleanup_res_ struct hs_res *rel = NULL, *ring = NULL, *upd = NULL;
	long long cur, started, baseline, failures, threshold, bake, nrings;
	bool completed;
	const char *patch;
	char obj[32];
	int r;

	snprintf(obj, sizeof(obj), "release/%lld", id);
	r = hs_begin(c);
	if (r < 0)
		return r;
	r = hs_lock(c, id);
	if (r < 0)
		goto fail;
	r = hs_q(c, &rel, "SELECT state, current_ring, ring_started_at, failure_baseline, patch_id FROM releases WHERE id = ?",
		 "i", id);
	if (r < 0)
		goto fail;
	/* a completed release still halts (and reverts) when its patch starts failing */
	if (rel->nrows != 1 || (strcmp(hs_get(rel, 0, 0), "active") && strcmp(hs_get(rel, 0, 0), "completed"))) {
		hs_rollback(c);
		return 0;
	}
	completed = !strcmp(hs_get(rel, 0, 0), "completed");
	cur = hs_get_int(rel, 0, 1, 0);
	started = hs_get_int(rel, 0, 2, 0);
	baseline = hs_get_int(rel, 0, 3, 0);
	patch = hs_get(rel, 0, 4);
	r = hs_q(c, &ring, "SELECT bake_seconds, failure_threshold, (SELECT COUNT(*) FROM release_rings WHERE release_id = ?)"
		 " FROM release_rings WHERE release_id = ? AND idx = ?", "iii", id, id, cur);
	if (r < 0)
		goto fail;
	if (ring->nrows != 1) {
		r = -EINVAL;
		goto fail;
	}
	bake = hs_get_int(ring, 0, 0, 0);
	threshold = hs_get_int(ring, 0, 1, 1);
	nrings = hs_get_int(ring, 0, 2, 1);
	failures = hs_q_int(c, 0, failures_sql, "isi", id, patch, baseline);
	if (failures >= threshold) {
		_cleanup_res_ struct hs_res *ev = NULL;
		char reason[256], *evidence;
		json_t *ej;

		r = hs_q(c, &ev, "SELECT e.host_id, h.hostname, e.kind, e.pid, e.time, e.detail FROM events e"
			 " JOIN assignments a ON a.host_id = e.host_id AND a.release_id = ? JOIN hosts h ON h.id = e.host_id"
			 " WHERE e.patch_id = ? AND e.kind IN ('crash', 'apply-failed', 'halted') AND e.id > ?"
			 " ORDER BY e.id LIMIT 100", "isi", id, patch, baseline);
		if (r < 0)
			goto fail;
		ej = hs_rows_json(ev, "sssiss");
		evidence = json_dumps(ej, JSON_COMPACT);
		json_decref(ej);
		snprintf(reason, sizeof(reason), "%lld failure signal(s) in ring %lld, threshold %lld", failures, cur + 1,
			 threshold);
		r = hs_q(c, &upd, "UPDATE releases SET state = 'halted', revert = 1, halted_reason = ?, evidence = ?,"
			 " updated_at = ? WHERE id = ? AND state IN ('active', 'completed')", "ssii", reason, evidence, hs_now(), id);
		free(evidence);
		if (r < 0)
			goto fail;
		if (upd->changes == 1) {
			r = hs_q(c, NULL, "UPDATE assignments SET action = 'revert', state = 'assigned', updated_at = ?"
				 " WHERE release_id = ?", "ii", hs_now(), id);
			if (r >= 0)
				r = hs_rollout_bump(c);
			if (r < 0)
				goto fail;
			hs_audit_as(c, actor, "release.halt", obj, json_pack("{s:s,s:b}", "reason", reason, "revert", 1));
		}
		return hs_commit(c);
	}
	/*
	 * A ring bakes once nothing is outstanding in it: bake_seconds after
	 * its last assignment completed (or after it started, when none did).
	 */
	if (!completed) {
		long long busy = hs_q_int(c, 0, "SELECT COUNT(*) FROM assignments WHERE release_id = ? AND ring_idx = ?"
					  " AND state = 'assigned'", "ii", id, cur);
		long long last = hs_q_int(c, 0, "SELECT MAX(updated_at) FROM assignments WHERE release_id = ? AND ring_idx = ?",
					  "ii", id, cur);

		if (last > started)
			started = last;
		if (busy > 0)
			completed = true;	/* not yet: still rolling out */
	}
	if (completed || hs_now() < started + bake) {
		hs_rollback(c);
		return 0;
	}
	r = hs_rollout_bump(c);
	if (r < 0)
		goto fail;
	if (cur + 1 < nrings) {
		r = hs_q(c, &upd, "UPDATE releases SET current_ring = ?, ring_started_at = ?, updated_at = ? WHERE id = ?"
			 " AND current_ring = ? AND state = 'active'", "iiiii", cur + 1, hs_now(), hs_now(), id, cur);
		if (r >= 0 && upd->changes == 1)
			hs_audit_as(c, actor, "release.promote", obj, json_pack("{s:I,s:I}", "ring", (json_int_t)(cur + 2),
										"failures", (json_int_t)failures));
	} else {
		r = hs_q(c, &upd, "UPDATE releases SET state = 'completed', updated_at = ? WHERE id = ? AND state = 'active'"
			 " AND current_ring = ?", "iii", hs_now(), id, cur);
		if (r >= 0 && upd->changes == 1)
			hs_audit_as(c, actor, "release.complete", obj, NULL);
	}
	if (r < 0)
		goto fail;
	return hs_commit(c);
fail:
	hs_rollback(c);
	return r;
}

/*
 * The per-policy aggregation, shared by the report and the daily snapshot:
 * hosts are counted per group first (a covering index scan), and only the
 * few group rows are joined to their policies.
 */
const char *const hs_policy_report_sql =
	"SELECT COALESCE(p.name, '') AS policy, SUM(x.n) AS devices, SUM(x.u) AS up_to_date, SUM(x.h) AS hotpatched,"
	" SUM(x.o) AS not_up_to_date, SUM(x.i) AS in_progress, SUM(x.r) AS not_ready, SUM(x.p) AS paused,"
	" SUM(x.rr) AS restart_required, SUM(x.ru) AS restart_required_units FROM"
	" (SELECT group_id, COUNT(*) AS n, SUM(CASE WHEN state = 'up-to-date' THEN 1 ELSE 0 END) AS u,"
	"  SUM(CASE WHEN state = 'hotpatched' THEN 1 ELSE 0 END) AS h,"
	"  SUM(CASE WHEN state = 'not-up-to-date' THEN 1 ELSE 0 END) AS o,"
	"  SUM(CASE WHEN state = 'in-progress' THEN 1 ELSE 0 END) AS i,"
	"  SUM(CASE WHEN state = 'not-ready' THEN 1 ELSE 0 END) AS r,"
	"  SUM(CASE WHEN state = 'paused' THEN 1 ELSE 0 END) AS p,"
	"  SUM(CASE WHEN restart_required > 0 THEN 1 ELSE 0 END) AS rr, SUM(restart_required) AS ru"
	"  FROM hosts GROUP BY group_id) x"
	" LEFT JOIN groups g ON g.id = x.group_id LEFT JOIN policies p ON p.id = g.policy_id"
	" GROUP BY COALESCE(p.name, '') ORDER BY 1";

/*
 * Today's row of the trend, refreshed every five minutes by each server (the
 * last refresh of a day is that day's figure).  The rate limit is the only
 * state kept in the process, and losing it costs one extra refresh.
 */
static void snapshot(struct hs_conn *c)
{
	static long long last;
	_cleanup_res_ struct hs_res *res = NULL;
	char day[16];
	time_t t = time(NULL);
	struct tm tm;
	int i;

	if (t - last < 300)
		return;
	last = t;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (hs_q(c, &res, hs_policy_report_sql, "") < 0)
		return;
	if (hs_begin(c) < 0)
		return;
	for (i = 0; i < res->nrows; i++)
		if (hs_q(c, NULL, "INSERT INTO snapshots (day, policy, devices, up_to_date, hotpatched, not_up_to_date,"
			 " in_progress, not_ready, paused, restart_required) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			 " ON CONFLICT (day, policy) DO UPDATE SET devices = excluded.devices, up_to_date = excluded.up_to_date,"
			 " hotpatched = excluded.hotpatched, not_up_to_date = excluded.not_up_to_date,"
			 " in_progress = excluded.in_progress, not_ready = excluded.not_ready, paused = excluded.paused,"
			 " restart_required = excluded.restart_required", "ssiiiiiiii", day, hs_get(res, i, 0),
			 hs_get_int(res, i, 1, 0), hs_get_int(res, i, 2, 0), hs_get_int(res, i, 3, 0),
			 hs_get_int(res, i, 4, 0), hs_get_int(res, i, 5, 0), hs_get_int(res, i, 6, 0),
			 hs_get_int(res, i, 7, 0), hs_get_int(res, i, 8, 0)) < 0) {
			hs_rollback(c);
			return;
		}
	hs_commit(c);
}

void hs_tick(struct hs_server *srv, struct hs_conn *c)
{
	_cleanup_res_ struct hs_res *rel = NULL;
	int i;

	if (hs_q(c, &rel, "SELECT id FROM releases WHERE state = 'active' OR (state = 'completed' AND updated_at > ?)",
		 "i", hs_now() - 7 * 86400) < 0)
		return;
	for (i = 0; i < rel->nrows; i++) {
		long long id = hs_get_int(rel, i, 0, 0);

		if (hs_rollout_evaluate(srv, c, id, "rollout") < 0 ||
		    refresh_slots(c, id, hs_q_int(c, 0, "SELECT max_parallel_pct FROM releases WHERE id = ?", "i", id)) < 0)
			fprintf(stderr, "hotpatch-server: release %s: %s\n", hs_get(rel, i, 0), hs_errmsg(c));
	}
	snapshot(c);
}
