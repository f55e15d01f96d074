/* SPDX-License-Identifier: MIT */
/* Releases (deployments) of a patch to rings: create, show, promote, halt, resume. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "shared/util.h"

static int release_id(struct hs_req *req, long long *ret)
{
	unsigned long long id;

	if (hp_parse_uint(req->param[0], 1ULL << 62, &id) < 0) {
		hs_error(req, 404, "not-found", "no release '%s'", req->param[0]);
		return -ENOENT;
	}
	*ret = (long long)id;
	return 0;
}

/* The release with rings, assignment counts, failures and evidence; NULL when absent. */
json_t *hs_release_json(struct hs_conn *c, long long id)
{
	_cleanup_res_ struct hs_res *r = NULL, *rings = NULL, *counts = NULL;
	json_t *o, *ra, *co, *ev;
	const char *state;
	long long cur, started, failures;
	int i;

	if (hs_q(c, &r, "SELECT r.id, r.patch_id, r.state, r.current_ring, r.ring_started_at, r.max_parallel_pct,"
		 " r.failure_baseline, r.revert, r.halted_reason, r.evidence, r.created_at, r.created_by, r.updated_at,"
		 " p.level, p.build_id, p.classification, p.cves FROM releases r LEFT JOIN patches p ON p.id = r.patch_id"
		 " WHERE r.id = ?", "i", id) < 0 || r->nrows != 1)
		return NULL;
	state = hs_get(r, 0, 2);
	cur = hs_get_int(r, 0, 3, 0);
	started = hs_get_int(r, 0, 4, 0);
	if (hs_q(c, &rings, "SELECT rr.idx, rr.name, g.name, rr.percent, rr.bake_seconds, rr.failure_threshold,"
		 " (SELECT COUNT(*) FROM assignments a WHERE a.release_id = rr.release_id AND a.ring_idx = rr.idx)"
		 " FROM release_rings rr LEFT JOIN groups g ON g.id = rr.group_id WHERE rr.release_id = ? ORDER BY rr.idx",
		 "i", id) < 0 ||
	    hs_q(c, &counts, "SELECT state, COUNT(*) FROM assignments WHERE release_id = ? GROUP BY state", "i", id) < 0)
		return NULL;
	failures = hs_q_int(c, 0, "SELECT COUNT(*) FROM events e JOIN assignments a ON a.host_id = e.host_id AND"
			    " a.release_id = ? WHERE e.patch_id = ? AND e.kind IN ('crash', 'apply-failed', 'halted')"
			    " AND e.id > ?", "isi", id, hs_get(r, 0, 1), hs_get_int(r, 0, 6, 0));
	ra = json_array();
	for (i = 0; i < rings->nrows; i++) {
		long long idx = hs_get_int(rings, i, 0, 0);
		const char *rs = idx < cur ? "done" : idx > cur ? "pending" :
				 !strcmp(state, "active") ? "active" : !strcmp(state, "halted") ? "halted" : "done";
		char ts[32];
		json_t *ro = json_pack("{s:I,s:s,s:s?,s:o,s:I,s:I,s:s,s:I}", "index", (json_int_t)idx, "name",
				       hs_get(rings, i, 1), "group", hs_get(rings, i, 2), "percent",
				       hs_get(rings, i, 3) ? json_integer(hs_get_int(rings, i, 3, 0)) : json_null(),
				       "bake_seconds", (json_int_t)hs_get_int(rings, i, 4, 0), "failure_threshold",
				       (json_int_t)hs_get_int(rings, i, 5, 1), "state", rs, "hosts",
				       (json_int_t)hs_get_int(rings, i, 6, 0));

		if (idx == cur) {
			long long left = started + hs_get_int(rings, i, 4, 0) - hs_now();

			hs_time_str(started, ts);
			json_object_set_new(ro, "started_at", json_string(ts));
			json_object_set_new(ro, "bake_remaining", json_integer(left > 0 && !strcmp(state, "active") ? left : 0));
		}
		json_array_append_new(ra, ro);
	}
	co = json_pack("{s:i,s:i,s:i,s:i,s:i}", "assigned", 0, "done", 0, "failed", 0, "denied", 0, "reverted", 0);
	for (i = 0; i < counts->nrows; i++)
		json_object_set_new(co, hs_get(counts, i, 0), json_integer(hs_get_int(counts, i, 1, 0)));
	ev = hs_get(r, 0, 9) ? json_loads(hs_get(r, 0, 9), 0, NULL) : NULL;
	{
		char created[32], updated[32];

		hs_time_str(hs_get_int(r, 0, 10, 0), created);
		hs_time_str(hs_get_int(r, 0, 12, 0), updated);
		o = json_pack("{s:I,s:s,s:s,s:I,s:s?,s:o,s:b,s:s?,s:o,s:s,s:s,s:s,s:o,s:o,s:I}", "id", (json_int_t)id,
			      "patch_id", hs_get(r, 0, 1), "state", state, "current_ring", (json_int_t)cur, "ring",
			      cur < rings->nrows ? hs_get(rings, (int)cur, 1) : NULL, "max_parallel_percent",
			      hs_get_int(r, 0, 5, 0) ? json_integer(hs_get_int(r, 0, 5, 0)) : json_null(), "revert", hs_get_int(r, 0, 7, 0) != 0, "halted_reason",
			      hs_get(r, 0, 8), "evidence", ev ? ev : json_array(), "created_at", created, "created_by",
			      hs_get(r, 0, 11), "updated_at", updated, "rings", ra, "counts", co, "failures",
			      (json_int_t)failures);
	}
	json_object_set_new(o, "patch", json_pack("{s:I,s:s?,s:s?}", "level", (json_int_t)hs_get_int(r, 0, 13, 0),
						 "build_id", hs_get(r, 0, 14), "classification", hs_get(r, 0, 15)));
	if (hs_get(r, 0, 16))
		json_object_set_new(json_object_get(o, "patch"), "cves", json_loads(hs_get(r, 0, 16), 0, NULL));
	return o;
}

void api_releases_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	json_t *items;
	int i;

	if (hs_q(req->db, &res, "SELECT id FROM releases ORDER BY id DESC LIMIT 500", "") < 0)
		return hs_db_error(req);
	items = json_array();
	for (i = 0; i < res->nrows; i++) {
		json_t *o = hs_release_json(req->db, hs_get_int(res, i, 0, 0));

		if (o)
			json_array_append_new(items, o);
	}
	hs_reply_json(req, 200, json_pack("{s:o,s:i}", "items", items, "total", res->nrows));
}

void api_release_get(struct hs_req *req)
{
	long long id;
	json_t *o;

	if (release_id(req, &id) < 0)
		return;
	o = hs_release_json(req->db, id);
	if (!o)
		return hs_error(req, 404, "not-found", "no release %lld", id);
	hs_reply_json(req, 200, o);
}

static bool int_member(json_t *o, const char *key, long long min, long long max, long long def, long long *ret)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*ret = def;
		return true;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return false;
	*ret = json_integer_value(v);
	return true;
}

void api_release_create(struct hs_req *req)
{
	json_t *b = hs_body_object(req), *rings, *ring, *def = NULL, *o;
	const char *patch;
	long long pct, id = 0;
	size_t i;
	char obj[32];

	if (!b)
		return;
	if (hs_json_str(b, "patch_id", 64, &patch) < 0 || !patch ||
	    !int_member(b, "max_parallel_percent", 1, 100, 0, &pct)) {
		hs_error(req, 400, "invalid", "patch_id (string) is required; max_parallel_percent is 1..100");
		goto out;
	}
	if (!hs_q_int(req->db, 0, "SELECT COUNT(*) FROM patches WHERE id = ?", "s", patch)) {
		hs_error(req, 404, "not-found", "no patch '%s' (import it first)", patch);
		goto out;
	}
	rings = json_object_get(b, "rings");
	if (!rings || json_is_null(rings))
		rings = def = json_pack("[{s:s,s:i,s:i,s:i}]", "name", "broad", "percent", 100, "bake_seconds", 0,
					"failure_threshold", 1);
	if (!json_is_array(rings) || json_array_size(rings) < 1 || json_array_size(rings) > 10) {
		hs_error(req, 400, "invalid", "rings must be a list of 1 to 10 rings");
		goto out;
	}
	if (hs_begin(req->db) < 0)
		goto dberr;
	id = hs_q_int(req->db, -1, "INSERT INTO releases (patch_id, state, current_ring, ring_started_at, max_parallel_pct,"
		      " failure_baseline, created_at, created_by, updated_at) VALUES (?, 'active', 0, ?, ?,"
		      " (SELECT COALESCE(MAX(id), 0) FROM events), ?, ?, ?) RETURNING id", "siiisi", patch, hs_now(), pct,
		      hs_now(), req->actor, hs_now());
	if (id < 0)
		goto dberr;
	json_array_foreach(rings, i, ring) {
		const char *name, *group;
		long long gid = 0, percent, bake, thr;

		if (!json_is_object(ring) || hs_json_str(ring, "name", 64, &name) < 0 || !name || !hs_valid_name(name) ||
		    hs_json_str(ring, "group", 128, &group) < 0 || !int_member(ring, "percent", 1, 100, 0, &percent) ||
		    !int_member(ring, "bake_seconds", 0, 90LL * 86400, 3600, &bake) ||
		    !int_member(ring, "failure_threshold", 1, 1000000, 1, &thr) || (!group == !percent)) {
			hs_rollback(req->db);
			hs_error(req, 400, "invalid", "ring %zu: name, and either group or percent (1..100);"
				 " bake_seconds >= 0, failure_threshold >= 1", i + 1);
			goto out;
		}
		if (group) {
			gid = hs_q_int(req->db, 0, "SELECT id FROM groups WHERE name = ?", "s", group);
			if (!gid) {
				hs_rollback(req->db);
				hs_error(req, 404, "not-found", "ring %zu: no group '%s'", i + 1, group);
				goto out;
			}
		}
		if (hs_q(req->db, NULL, "INSERT INTO release_rings (release_id, idx, name, group_id, percent, bake_seconds,"
			 " failure_threshold) VALUES (?, ?, ?, ?, ?, ?, ?)", "iisIIii", id, (long long)i, name, gid, percent,
			 bake, thr) < 0)
			goto dberr;
	}
	snprintf(obj, sizeof(obj), "release/%lld", id);
	hs_audit(req, "release.create", obj, json_pack("{s:s,s:O}", "patch_id", patch, "rings", rings));
	if (hs_rollout_bump(req->db) < 0 || hs_commit(req->db) < 0)
		goto dberr;
	o = hs_release_json(req->db, id);
	hs_reply_json(req, 201, o);
	goto out;
dberr:
	hs_rollback(req->db);
	hs_db_error(req);
out:
	json_decref(def);
	json_decref(b);
}

/* Shared by promote/halt/resume: a CAS update in a transaction, then the release. */
static void transition(struct hs_req *req, const char *action)
{
	_cleanup_res_ struct hs_res *upd = NULL;
	json_t *b = NULL;
	long long id, cur, n;
	bool revert = false;
	const char *reason = NULL, *state;
	char obj[32], why[300];
	int r;

	if (release_id(req, &id) < 0)
		return;
	if (req->len) {
		b = hs_body_object(req);
		if (!b)
			return;
		if (hs_json_str(b, "reason", 200, &reason) < 0 ||
		    (json_object_get(b, "revert") && !json_is_boolean(json_object_get(b, "revert")))) {
			hs_error(req, 400, "invalid", "reason is a string, revert a boolean");
			json_decref(b);
			return;
		}
		revert = json_is_true(json_object_get(b, "revert"));
	}
	snprintf(obj, sizeof(obj), "release/%lld", id);
	if (hs_begin(req->db) < 0 || hs_lock(req->db, id) < 0)
		goto dberr;
	{
		_cleanup_res_ struct hs_res *rel = NULL;

		if (hs_q(req->db, &rel, "SELECT state, current_ring FROM releases WHERE id = ?", "i", id) < 0)
			goto dberr;
		if (rel->nrows != 1) {
			hs_rollback(req->db);
			hs_error(req, 404, "not-found", "no release %lld", id);
			json_decref(b);
			return;
		}
		state = hs_get(rel, 0, 0);
		cur = hs_get_int(rel, 0, 1, 0);
		if (strcmp(state, !strcmp(action, "resume") ? "halted" : "active")) {
			hs_rollback(req->db);
			hs_error(req, 409, "conflict", "release %lld is %s", id, state);
			json_decref(b);
			return;
		}
	}
	if (!strcmp(action, "promote")) {
		n = hs_q_int(req->db, 0, "SELECT COUNT(*) FROM release_rings WHERE release_id = ?", "i", id);
		if (cur + 1 < n)
			r = hs_q(req->db, &upd, "UPDATE releases SET current_ring = ?, ring_started_at = ?, updated_at = ?"
				 " WHERE id = ? AND current_ring = ?", "iiiii", cur + 1, hs_now(), hs_now(), id, cur);
		else
			r = hs_q(req->db, &upd, "UPDATE releases SET state = 'completed', updated_at = ? WHERE id = ?",
				 "ii", hs_now(), id);
	} else if (!strcmp(action, "halt")) {
		snprintf(why, sizeof(why), "halted by %s%s%s", req->actor, reason ? ": " : "", reason ? reason : "");
		r = hs_q(req->db, &upd, "UPDATE releases SET state = 'halted', revert = ?, halted_reason = ?, updated_at = ?"
			 " WHERE id = ?", "bsii", revert, why, hs_now(), id);
		if (r >= 0 && revert)
			r = hs_q(req->db, NULL, "UPDATE assignments SET action = 'revert', state = 'assigned', updated_at = ?"
				 " WHERE release_id = ?", "ii", hs_now(), id);
	} else {
		r = hs_q(req->db, &upd, "UPDATE releases SET state = 'active', revert = 0, halted_reason = NULL,"
			 " failure_baseline = (SELECT COALESCE(MAX(id), 0) FROM events), ring_started_at = ?, updated_at = ?"
			 " WHERE id = ?", "iii", hs_now(), hs_now(), id);
		if (r >= 0)
			r = hs_q(req->db, NULL, "UPDATE assignments SET action = 'apply', state = 'assigned', updated_at = ?"
				 " WHERE release_id = ? AND action = 'revert'", "ii", hs_now(), id);
	}
	if (r >= 0)
		r = hs_rollout_bump(req->db);
	if (r < 0)
		goto dberr;
	{
		char act[32];

		snprintf(act, sizeof(act), "release.%s", action);
		hs_audit(req, act, obj, json_pack("{s:s?,s:b}", "reason", reason, "revert", revert));
	}
	if (hs_commit(req->db) < 0)
		goto dberr;
	json_decref(b);
	hs_reply_json(req, 200, hs_release_json(req->db, id));
	return;
dberr:
	json_decref(b);
	hs_rollback(req->db);
	hs_db_error(req);
}

void api_release_promote(struct hs_req *req)
{
	transition(req, "promote");
}

void api_release_halt(struct hs_req *req)
{
	transition(req, "halt");
}

void api_release_resume(struct hs_req *req)
{
	transition(req, "resume");
}
