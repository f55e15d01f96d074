/* SPDX-License-Identifier: MIT */
/*
 * The agent side of the API: enrollment and check-in (docs/protocol.md).
 * A report is validated completely before anything of it is stored; the
 * host's state for the reports is computed here, once per check-in, so the
 * reports are plain GROUP BY queries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "server.h"
#include "shared/util.h"

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Protocol number: an integer we speak; answers the request otherwise. */
static bool protocol_ok(struct hs_req *req, json_t *b)
{
	json_t *p = json_object_get(b, "protocol");

	if (!json_is_integer(p) || json_integer_value(p) < 1) {
		hs_error(req, 400, "protocol", "\"protocol\" must be a positive integer");
		return false;
	}
	if (json_integer_value(p) > HS_PROTOCOL) {
		hs_error(req, 400, "protocol", "protocol %lld is not supported (this server speaks %d)",
			 (long long)json_integer_value(p), HS_PROTOCOL);
		return false;
	}
	return true;
}

static void uuid4(char out[37])
{
	char h[33];

	hs_random_hex(h, 16);
	h[12] = '4';
	h[16] = "89ab"[strtol((char[]){ h[16], 0 }, NULL, 16) & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void api_enroll(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *tok = NULL;
	json_t *b = hs_body_object(req);
	const char *token, *hostname, *machine_id, *version;
	char hash[65], host_id[37], secret[80];
	long long exp, gid;

	if (!b)
		return;
	if (!protocol_ok(req, b))
		goto out;
	if (!hs_v_str(b, "token", 200, true) || !hs_v_str(b, "hostname", 255, true) || !hs_v_str(b, "machine_id", 128, true) ||
	    !hs_v_str(b, "agent_version", 64, false) || !*jstr(b, "hostname") || !*jstr(b, "machine_id")) {
		hs_error(req, 400, "invalid", "token, hostname and machine_id are required strings");
		goto out;
	}
	token = jstr(b, "token");
	hostname = jstr(b, "hostname");
	machine_id = jstr(b, "machine_id");
	version = jstr(b, "agent_version");
	hs_sha256_hex(token, hash);
	if (hs_q(req->db, &tok, "SELECT id, name, group_id, expires_at, revoked, last_used FROM tokens WHERE hash = ?"
		 " AND kind = 'enroll'",
		 "s", hash) < 0) {
		hs_db_error(req);
		goto out;
	}
	if (tok->nrows != 1 || hs_get_int(tok, 0, 4, 1)) {
		hs_error(req, 401, "unauthorized", "unknown or revoked enrollment token");
		goto out;
	}
	exp = hs_get_int(tok, 0, 3, 0);
	if (exp && exp <= hs_now()) {
		hs_error(req, 401, "unauthorized", "enrollment token expired");
		goto out;
	}
	gid = hs_get_int(tok, 0, 2, 0);
	snprintf(req->actor, sizeof(req->actor), "enroll:%s", hs_get(tok, 0, 1));
	uuid4(host_id);
	if (hs_begin(req->db) < 0)
		goto dberr;
	/* A re-imaged or re-enrolled machine: its old identity goes, with its credential. */
	if (hs_q(req->db, NULL, "UPDATE tokens SET revoked = 1 WHERE kind = 'host' AND host_id IN"
		 " (SELECT id FROM hosts WHERE machine_id = ?)", "s", machine_id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_targets WHERE host_id IN (SELECT id FROM hosts WHERE machine_id = ?)",
		 "s", machine_id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_builds WHERE host_id IN (SELECT id FROM hosts WHERE machine_id = ?)",
		 "s", machine_id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM assignments WHERE host_id IN (SELECT id FROM hosts WHERE machine_id = ?)",
		 "s", machine_id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_reports WHERE host_id IN (SELECT id FROM hosts WHERE machine_id = ?)",
		 "s", machine_id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM hosts WHERE machine_id = ?", "s", machine_id) < 0)
		goto dberr;
	if (hs_q(req->db, NULL, "INSERT INTO hosts (id, hostname, machine_id, group_id, agent_version, enrolled_at, reason)"
		 " VALUES (?, ?, ?, ?, ?, ?, 'no report yet')", "sssIsi", host_id, hostname, machine_id, gid,
		 version ? version : "", hs_now()) < 0)
		goto dberr;
	if (hs_token_new(req->db, "host", hostname, NULL, host_id, 0, 0, secret) < 0)
		goto dberr;
	hs_token_touch(req->db, hs_get_int(tok, 0, 0, 0), hs_get(tok, 0, 5));
	hs_audit(req, "host.enroll", host_id, json_pack("{s:s,s:s}", "hostname", hostname, "machine_id", machine_id));
	if (hs_commit(req->db) < 0)
		goto dberr;
	hs_reply_json(req, 201, json_pack("{s:i,s:s,s:s}", "protocol", HS_PROTOCOL, "host_id", host_id, "credential", secret));
	goto out;
dberr:
	hs_db_error(req);
out:
	json_decref(b);
}

/* Insert n rows of host_targets in one statement. */
static int flush_targets(struct hs_conn *c, const char *const *params, int n, int cols)
{
	char sql[8192];
	size_t o;
	int i, j;

	if (!n)
		return 0;
	o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO host_targets (host_id, pid, comm, exe, unit, path, build_id,"
			     " patch_id, level, state, reason) VALUES ");
	for (i = 0; i < n; i++) {
		sql[o++] = i ? ',' : ' ';
		sql[o++] = '(';
		for (j = 0; j < cols; j++) {
			if (j)
				sql[o++] = ',';
			sql[o++] = '?';
		}
		sql[o++] = ')';
	}
	sql[o] = 0;
	return hs_qa(c, NULL, sql, n * cols, params);
}

/* Replace the host's per-process rows, 40 rows per statement. */
static int store_targets(struct hs_conn *c, const char *host_id, json_t *rep)
{
	enum { COLS = 11, ROWS = 40 };
	const char *params[ROWS * COLS];
	char nums[ROWS][2][24];
	json_t *p, *t;
	size_t i, j;
	int n = 0, r;

	r = hs_q(c, NULL, "DELETE FROM host_targets WHERE host_id = ?", "s", host_id);
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(rep, "processes"), i, p)
		json_array_foreach(json_object_get(p, "targets"), j, t) {
			const char **row = params + n * COLS;

			snprintf(nums[n][0], 24, "%lld", (long long)json_integer_value(json_object_get(p, "pid")));
			snprintf(nums[n][1], 24, "%lld", (long long)json_integer_value(json_object_get(t, "level")));
			row[0] = host_id;
			row[1] = nums[n][0];
			row[2] = jstr(p, "comm");
			row[3] = jstr(p, "exe");
			row[4] = jstr(p, "unit");
			row[5] = jstr(t, "path");
			row[6] = jstr(t, "build_id");
			row[7] = jstr(t, "patch_id");
			row[8] = nums[n][1];
			row[9] = jstr(t, "state");
			row[10] = jstr(t, "reason");
			if (++n == ROWS) {
				r = flush_targets(c, params, n, COLS);
				if (r < 0)
					return r;
				n = 0;
			}
		}
	r = flush_targets(c, params, n, COLS);
	if (r < 0)
		return r;
	r = hs_q(c, NULL, "DELETE FROM host_builds WHERE host_id = ?", "s", host_id);
	if (r < 0)
		return r;
	return hs_q(c, NULL, "INSERT INTO host_builds (host_id, build_id, level, processes) SELECT host_id, build_id,"
		    " CASE WHEN state = 'patched' THEN level ELSE 0 END, COUNT(*) FROM host_targets"
		    " WHERE host_id = ? AND build_id IS NOT NULL"
		    " GROUP BY host_id, build_id, CASE WHEN state = 'patched' THEN level ELSE 0 END", "s", host_id);
}

static bool is_failure(const char *kind)
{
	return !strcmp(kind, "crash") || !strcmp(kind, "apply-failed") || !strcmp(kind, "halted");
}

/* The state a report gives the patch: "applied", "installed", "halted", ... or NULL when absent. */
static const char *patch_state(json_t *rep, const char *patch_id)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(rep, "patches"), i, p)
		if (!strcmp(jstr(p, "patch_id"), patch_id))
			return jstr(p, "state") ? jstr(p, "state") : "installed";
	return NULL;
}

static bool patch_running(json_t *rep, const char *patch_id)
{
	json_t *p, *t;
	size_t i, j;

	json_array_foreach(json_object_get(rep, "processes"), i, p)
		json_array_foreach(json_object_get(p, "targets"), j, t)
			if (jstr(t, "patch_id") && !strcmp(jstr(t, "patch_id"), patch_id) && !strcmp(jstr(t, "state"), "patched"))
				return true;
	return false;
}

static bool event_for(json_t *rep, const char *patch_id, bool failure)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(rep, "events"), i, e)
		if (jstr(e, "patch_id") && !strcmp(jstr(e, "patch_id"), patch_id) &&
		    (failure ? is_failure(jstr(e, "kind")) : !strcmp(jstr(e, "kind"), "applied")))
			return true;
	return false;
}

/* The assignment list of a check-in reply, read again (after a halt decided at this check-in). */
static json_t *assignment_list(struct hs_conn *c, const char *host_id)
{
	_cleanup_res_ struct hs_res *res = NULL;
	json_t *list;
	int i;

	if (hs_q(c, &res, "SELECT a.release_id, a.action, r.patch_id, p.level, p.build_id, p.url, p.sha256, rr.name"
		 " FROM assignments a JOIN releases r ON r.id = a.release_id JOIN patches p ON p.id = r.patch_id"
		 " LEFT JOIN release_rings rr ON rr.release_id = a.release_id AND rr.idx = a.ring_idx"
		 " WHERE a.host_id = ? ORDER BY a.release_id", "s", host_id) < 0)
		return NULL;
	list = json_array();
	for (i = 0; i < res->nrows; i++)
		json_array_append_new(list, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:s?}", "patch_id", hs_get(res, i, 2),
						      "level", (json_int_t)hs_get_int(res, i, 3, 1), "build_id",
						      hs_get(res, i, 4), "action", hs_get(res, i, 1), "url", hs_get(res, i, 5),
						      "sha256", hs_get(res, i, 6), "deployment_id",
						      (json_int_t)hs_get_int(res, i, 0, 0), "ring", hs_get(res, i, 7)));
	return list;
}

/*
 * Move the host's outstanding assignments forward from what the report
 * shows, hand out new ones, and list what the agent should do.
 * *ret_settled: nothing can be handed out to this host before the next
 * rollout transition (rollout_gen).
 */
static int assignments(struct hs_conn *c, const char *host_id, long long gid, json_t *rep, json_t *list,
		       bool releases, bool assigned, long long *ret_outstanding, long long *ret_failed, bool *ret_settled)
{
	_cleanup_res_ struct hs_res *res = NULL;
	long long outstanding = 0, failed = 0;
	bool made = false;
	int i, r;

	*ret_outstanding = *ret_failed = 0;
	*ret_settled = true;
	/* the common case, a fleet with no rollout going on: nothing to read */
	if (!releases && !assigned)
		return 0;
	if (releases) {
		r = hs_assign_host(c, host_id, gid, ret_settled, &made);
		if (r < 0)
			return r;
		if (made)
			assigned = true;
	}
	if (!assigned)
		return 0;
	r = hs_q(c, &res,
		 "SELECT a.release_id, a.action, a.state, r.patch_id, r.state, p.level, p.build_id, p.url, p.sha256,"
		 " rr.name FROM assignments a JOIN releases r ON r.id = a.release_id JOIN patches p ON p.id = r.patch_id"
		 " LEFT JOIN release_rings rr ON rr.release_id = a.release_id AND rr.idx = a.ring_idx"
		 " WHERE a.host_id = ? ORDER BY a.release_id", "s", host_id);
	if (r < 0)
		return r;
	for (i = 0; i < res->nrows; i++) {
		long long rid = hs_get_int(res, i, 0, 0);
		const char *action = hs_get(res, i, 1), *state = hs_get(res, i, 2), *pid = hs_get(res, i, 3);
		const char *ps = patch_state(rep, pid), *next = state;
		bool apply = !strcmp(action, "apply");

		if (!strcmp(state, "assigned")) {
			if (apply && event_for(rep, pid, true))
				next = "failed";
			else if (apply && ps && !strcmp(ps, "halted"))
				next = "failed";
			else if (apply && ps && !strcmp(ps, "denied"))
				next = "denied";	/* the host's policy never applies it: not a failure, not outstanding */
			else if (apply && ((ps && (!strcmp(ps, "applied") || !strcmp(ps, "installed"))) ||
					   event_for(rep, pid, false)))
				next = "done";
			else if (!apply && (!ps || strcmp(ps, "applied")) && !patch_running(rep, pid))
				next = "reverted";
			if (next != state) {
				r = hs_q(c, NULL, "UPDATE assignments SET state = ?, updated_at = ? WHERE release_id = ?"
					 " AND host_id = ?", "siis", next, hs_now(), rid, host_id);
				if (r >= 0)
					r = hs_slot_return(c, rid, gid);
				if (r < 0)
					return r;
			}
		}
		if (!strcmp(next, "assigned"))
			outstanding++;
		if (!strcmp(next, "failed") || !strcmp(next, "denied"))
			failed++;
		json_array_append_new(list, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:s?}", "patch_id", pid, "level",
						       (json_int_t)hs_get_int(res, i, 5, 1), "build_id", hs_get(res, i, 6),
						       "action", action, "url", hs_get(res, i, 7), "sha256", hs_get(res, i, 8),
						       "deployment_id", (json_int_t)rid, "ring", hs_get(res, i, 9)));
	}
	*ret_outstanding = outstanding;
	*ret_failed = failed;
	return 0;
}

/* Store the events the server has not seen; the highest id stored is acknowledged. */
static int store_events(struct hs_conn *c, const char *host_id, long long ack, json_t *rep, long long *ret_ack,
			bool *ret_failure)
{
	json_t *e;
	size_t i;
	int r;

	*ret_failure = false;
	json_array_foreach(json_object_get(rep, "events"), i, e) {
		long long id = json_integer_value(json_object_get(e, "id"));
		json_t *pid = json_object_get(e, "pid");

		if (id <= ack)
			continue;
		r = hs_q(c, NULL, "INSERT INTO events (host_id, agent_id, time, received_at, kind, patch_id, pid, detail)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_id, agent_id) DO NOTHING", "sisissIs", host_id,
			 id, jstr(e, "time"), hs_now(), jstr(e, "kind"), jstr(e, "patch_id"),
			 json_is_integer(pid) ? (long long)json_integer_value(pid) : 0LL, jstr(e, "detail"));
		if (r < 0)
			return r;
		if (is_failure(jstr(e, "kind")))
			*ret_failure = true;
		if (id > *ret_ack)
			*ret_ack = id;
	}
	return 0;
}

/* The check-in reply: policy document (JSON text or NULL), assignments (stolen). */
static json_t *checkin_reply(struct hs_req *req, const char *policy_doc, json_t *list, long long ack)
{
	json_t *policy = policy_doc ? json_loads(policy_doc, 0, NULL) : NULL;

	return json_pack("{s:i,s:s,s:o,s:o,s:s?,s:I,s:i}", "protocol", HS_PROTOCOL, "host_id", req->host_id,
			 "policy", policy ? policy : json_null(), "assignments", list, "repository",
			 req->srv->cfg.repository, "events_ack", (json_int_t)ack, "poll_seconds",
			 req->srv->cfg.poll_seconds);
}

/* The highest event id in the report (0: none). */
static long long max_event(json_t *rep)
{
	long long m = 0;
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(rep, "events"), i, e)
		if (json_integer_value(json_object_get(e, "id")) > m)
			m = json_integer_value(json_object_get(e, "id"));
	return m;
}

/* Events a short-path check-in stores itself (more: the full path). */
#define FAST_EVENTS 16

/* The policy of a host's group, from inside a statement on hosts. */
#define HOST_POLICY(col) "(SELECT p." col " FROM groups g JOIN policies p ON p.id = g.policy_id WHERE g.id = hosts.group_id)"

/*
 * The common check-in (every 15 minutes, nothing happened): the report has
 * the digest stored for the host, and no rollout can change anything for
 * it: none is going on, or the host found nothing to be handed out at the
 * current rollout generation and has no assignment still open (outstanding,
 * failed or denied: those depend on what it reports); with assignments, a
 * report with new events goes the full way (they may be failure signals).  Then one
 * statement (one more per new event) authenticates the credential and
 * writes last-seen, the acknowledgement and the state (a policy paused
 * since still shows), outside a transaction: the row only matches while it
 * still has that digest, so anything else (a new host, a changed
 * report, a bad credential, a report that names another host) goes the
 * full way.
 * Returns 1 when answered, 0 when the full path must run, or an error.
 */
static int checkin_fast(struct hs_req *req, json_t *rep, const char *hash, const char *cred_hash, const char *named,
			json_t **ret_reply)
{
	_cleanup_res_ struct hs_res *u = NULL;
	const char *state, *reason;
	struct hs_host_sum sum;
	long long now = hs_now();
	json_t *e, *list;
	size_t i;
	int r;

	/*
	 * New events are stored first, each keyed by the credential's host (the
	 * insert authenticates too): the acknowledgement may only move past an
	 * event once it is stored.  Stored again by the full path, they conflict
	 * and are skipped.  Many events (an agent that was offline) go the full way.
	 */
	if (json_array_size(json_object_get(rep, "events")) > FAST_EVENTS || strlen(hash) != 64)
		return 0;
	json_array_foreach(json_object_get(rep, "events"), i, e) {
		json_t *pid = json_object_get(e, "pid");

		r = hs_q(req->db, NULL, "INSERT INTO events (host_id, agent_id, time, received_at, kind, patch_id, pid, detail)"
			 " SELECT host_id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT),"
			 " CAST(? AS BIGINT), CAST(? AS TEXT) FROM tokens WHERE hash = ? AND kind = 'host' AND revoked = 0"
			 " AND (expires_at IS NULL OR expires_at > ?) AND host_id = COALESCE(CAST(? AS TEXT), host_id)"
			 " ON CONFLICT (host_id, agent_id) DO NOTHING", "isissIssis",
			 (long long)json_integer_value(json_object_get(e, "id")), jstr(e, "time"), now, jstr(e, "kind"),
			 jstr(e, "patch_id"), json_is_integer(pid) ? (long long)json_integer_value(pid) : 0LL,
			 jstr(e, "detail"), cred_hash, now, named);
		if (r < 0)
			return r;
	}
	hs_report_summarise(rep, &sum);
	state = hs_host_state(&sum, false, 0, 0, &reason);
	r = hs_q(req->db, &u,
		 "UPDATE hosts SET last_checkin = ?, events_ack = CASE WHEN events_ack > ? THEN events_ack ELSE ? END,"
		 " state = CASE WHEN COALESCE(" HOST_POLICY("paused") ", 0) <> 0 THEN 'paused' ELSE CAST(? AS TEXT) END,"
		 " reason = CASE WHEN COALESCE(" HOST_POLICY("paused") ", 0) <> 0 THEN NULL ELSE CAST(? AS TEXT) END"
		 " WHERE id = (SELECT host_id FROM tokens WHERE hash = ? AND kind = 'host' AND revoked = 0"
		 " AND (expires_at IS NULL OR expires_at > ?)) AND id = COALESCE(CAST(? AS TEXT), id)"
		 " AND report_hash = ? AND assign_gen = (SELECT gen FROM rollout_gen WHERE id = 1)"
		 " AND (? = 0 OR assign_list IS NULL)"
		 " RETURNING id, events_ack, " HOST_POLICY("document") ", assign_list",
		 "iiisssissi", now, max_event(rep), max_event(rep), state, reason && *reason ? reason : NULL, cred_hash, now,
		 named, hash, (long long)json_array_size(json_object_get(rep, "events")));
	if (r < 0)
		return r;
	if (u->nrows != 1)
		return 0;
	snprintf(req->host_id, sizeof(req->host_id), "%s", hs_get(u, 0, 0));
	list = hs_get(u, 0, 3) ? json_loads(hs_get(u, 0, 3), 0, NULL) : json_array();
	if (!json_is_array(list)) {
		json_decref(list);
		list = assignment_list(req->db, req->host_id);	/* not ours to trust blindly: read them */
		if (!list)
			return -EIO;
	}
	*ret_reply = checkin_reply(req, hs_get(u, 0, 2), list, hs_get_int(u, 0, 1, 0));
	return 1;
}

/* One check-in; retried once when the database reports a serialisation conflict. */
static int checkin_tx(struct hs_req *req, json_t *rep, const char *hash, json_t **ret_reply, bool *ret_failure)
{
	_cleanup_res_ struct hs_res *h = NULL;
	json_t *host = json_object_get(rep, "host"), *list;
	long long gid, ack, new_ack, outstanding = 0, failed = 0;
	const char *state, *reason, *old_hash;
	char *list_text;
	bool settled;
	struct hs_host_sum sum;
	char *report = NULL;
	int r;

	r = hs_begin(req->db);
	if (r < 0)
		return r;
	r = hs_q(req->db, &h, "SELECT h.group_id, h.events_ack, h.report_hash, p.document, p.paused,"
		 " (SELECT COUNT(*) FROM releases WHERE state IN ('active', 'completed')),"
		 " (SELECT COUNT(*) FROM assignments a WHERE a.host_id = h.id), (SELECT gen FROM rollout_gen WHERE id = 1)"
		 " FROM hosts h"
		 " LEFT JOIN groups g ON g.id = h.group_id LEFT JOIN policies p ON p.id = g.policy_id WHERE h.id = ?",
		 "s", req->host_id);
	if (r < 0)
		goto fail;
	if (h->nrows != 1) {
		r = -ENOENT;
		goto fail;
	}
	gid = hs_get_int(h, 0, 0, 0);
	ack = new_ack = hs_get_int(h, 0, 1, 0);
	old_hash = hs_get(h, 0, 2);
	hs_report_summarise(rep, &sum);
	if (!old_hash || strcmp(old_hash, hash) || strlen(hash) != 64) {	/* not 64: no digest (out of memory) */
		json_t *copy = json_copy(rep);

		json_object_del(copy, "events");
		report = json_dumps(copy, JSON_COMPACT);
		json_decref(copy);
		r = store_targets(req->db, req->host_id, rep);
		if (r < 0)
			goto fail;
	}
	r = store_events(req->db, req->host_id, ack, rep, &new_ack, ret_failure);
	if (r < 0)
		goto fail;
	list = json_array();
	r = assignments(req->db, req->host_id, gid, rep, list, hs_get_int(h, 0, 5, 1) > 0, hs_get_int(h, 0, 6, 1) > 0,
			&outstanding, &failed, &settled);
	if (r < 0) {
		json_decref(list);
		goto fail;
	}
	state = hs_host_state(&sum, hs_get_int(h, 0, 4, 0) != 0, outstanding, failed, &reason);
	/* the reply's list, kept for the short path (valid until an assignment or a release moves) */
	list_text = json_array_size(list) ? json_dumps(list, JSON_COMPACT) : NULL;
	r = hs_q(req->db, NULL,
		 "UPDATE hosts SET hostname = COALESCE(CAST(? AS TEXT), hostname), agent_version = COALESCE(CAST(? AS TEXT), agent_version),"
		 " kernel = COALESCE(CAST(? AS TEXT), kernel), arch = COALESCE(CAST(? AS TEXT), arch), last_checkin = ?,"
		 " state = ?, reason = ?, verdict = ?, report_paused = ?, report_policy = ?, restart_required = ?,"
		 " patched_targets = ?, events_ack = ?, report_hash = ?, assign_gen = ?, assign_list = ? WHERE id = ?",
		 "ssssisssbsiiisiss", jstr(host, "hostname"), jstr(host, "agent_version"), jstr(host, "kernel"),
		 jstr(host, "arch"), hs_now(), state, reason && *reason ? reason : NULL, sum.verdict, sum.paused,
		 jstr(json_object_get(rep, "policy"), "name"), sum.restart, sum.patched, new_ack, hash,
		 settled && !outstanding && !failed && (list_text || !json_array_size(list)) ? hs_get_int(h, 0, 7, 0) : 0LL,
		 list_text, req->host_id);
	if (r >= 0 && report)
		r = hs_q(req->db, NULL, "INSERT INTO host_reports (host_id, report) VALUES (?, ?) ON CONFLICT (host_id)"
			 " DO UPDATE SET report = excluded.report", "ss", req->host_id, report);
	free(report);
	report = NULL;
	free(list_text);
	if (r < 0) {
		json_decref(list);
		goto fail;
	}
	r = hs_commit(req->db);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	*ret_reply = checkin_reply(req, hs_get(h, 0, 3), list, new_ack);
	return 0;
fail:
	free(report);
	hs_rollback(req->db);
	return r;
}

/*
 * POST /checkin.  The credential is checked by the short path's statement
 * itself, or by hs_authenticate before the full path; a request without a
 * well-formed bearer header, or with a body over HS_MAX_BODY, is
 * authenticated before its body is parsed, so only a holder of a valid
 * credential makes the server parse a large report.
 */
void api_checkin(struct hs_req *req)
{
	const char *auth = MHD_lookup_connection_value(req->mhd, MHD_HEADER_KIND, "Authorization");
	bool authed = false, failure = false;
	json_t *rep, *reply = NULL, *hid;
	char hash[65], cred_hash[65];
	const char *what;
	int r = 0, tries;

	if (!auth || strncasecmp(auth, "Bearer ", 7) || strlen(auth + 7) > 200 || req->len > HS_MAX_BODY) {
		if (!hs_authenticate(req, HS_NEED_HOST))
			return;
		authed = true;
	}
	rep = hs_body_object(req);
	if (!rep)
		return;
	if (!protocol_ok(req, rep))
		goto out;
	if (!hs_report_valid(rep, &what)) {
		hs_error(req, 400, "invalid", "report field \"%s\" is malformed or too large", what);
		goto out;
	}
	hs_report_digest(rep, hash);
	hid = json_object_get(json_object_get(rep, "host"), "host_id");
	if (!authed) {
		hs_sha256_hex(auth + 7, cred_hash);
		r = checkin_fast(req, rep, hash, cred_hash, json_string_value(hid), &reply);
		if (r < 0) {
			hs_db_error(req);
			goto out;
		}
		if (r == 0 && !hs_authenticate(req, HS_NEED_HOST))
			goto out;
	}
	if (r == 0 && json_is_string(hid) && strcmp(json_string_value(hid), req->host_id)) {
		hs_error(req, 403, "forbidden", "this credential belongs to host %s, not %s", req->host_id,
			 json_string_value(hid));
		goto out;
	}
	if (r == 0) {
		tries = 0;
		do
			r = checkin_tx(req, rep, hash, &reply, &failure);
		while (r == -EBUSY && ++tries < 3);
	}
	if (r == -ENOENT) {
		hs_error(req, 401, "unauthorized", "the host of this credential was removed");
		goto out;
	}
	if (r < 0) {
		hs_db_error(req);
		goto out;
	}
	/* A failure signal: the releases of that patch are judged now, not at the next tick. */
	if (failure) {
		_cleanup_res_ struct hs_res *rel = NULL;

		json_t *list;

		if (hs_q(req->db, &rel, "SELECT DISTINCT a.release_id FROM assignments a JOIN releases r ON r.id = a.release_id"
			 " WHERE a.host_id = ? AND r.state IN ('active', 'completed')", "s", req->host_id) >= 0)
			for (int i = 0; i < rel->nrows; i++)
				hs_rollout_evaluate(req->srv, req->db, hs_get_int(rel, i, 0, 0), "rollout");
		/* a halt decided just now: the host learns to revert in this reply, not the next */
		list = assignment_list(req->db, req->host_id);
		if (list)
			json_object_set_new(reply, "assignments", list);
	}
	hs_reply_json(req, 200, reply);
out:
	json_decref(rep);
}
