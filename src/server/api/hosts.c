/* SPDX-License-Identifier: MIT */
/* Hosts: the paged, filtered list, one host's inventory, processes and history, group and labels. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "shared/util.h"

/*
 * Targets still running code vulnerable to a CVE: a build that a patch naming
 * the CVE targets, not patched to the lowest level (per build) that fixes it.
 */
const char *const hs_vulnerable_sql =
	"SELECT hb.host_id FROM host_builds hb JOIN (SELECT p.build_id, MIN(p.level) AS level FROM patches p"
	" JOIN patch_cves c ON c.patch_id = p.id WHERE c.cve = ? GROUP BY p.build_id) f ON f.build_id = hb.build_id"
	" WHERE hb.level < f.level";

struct where {
	char sql[2048];
	const char *params[16];
	int n;
	char like[300];
	char states[256];
};

static void add(struct where *w, const char *cond, const char *param)
{
	size_t l = strlen(w->sql);

	snprintf(w->sql + l, sizeof(w->sql) - l, " AND %s", cond);
	if (param)
		w->params[w->n++] = param;
}

void api_hosts_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	struct where w = { .sql = " WHERE 1 = 1" };
	const char *v;
	char sql[4096], lim[24], off[24], cond[512];
	long long limit, offset, page, total;

	bool joins = false;	/* the count needs groups/policies only to filter by them */

	hs_paging(req, &limit, &offset, &page);
	if ((v = hs_query_arg(req, "group"))) {
		add(&w, "g.name = ?", v);
		joins = true;
	}
	if ((v = hs_query_arg(req, "policy"))) {	/* "" or "-": hosts without a policy */
		add(&w, "COALESCE(p.name, '') = ?", strcmp(v, "-") ? v : "");
		joins = true;
	}
	if ((v = hs_query_arg(req, "state"))) {
		/* a comma-separated list: "up-to-date,hotpatched" is the "% on latest" cell */
		char *save = NULL, *tok;
		size_t o;
		bool any = false;

		hp_strlcpy(w.states, v, sizeof(w.states));
		o = (size_t)snprintf(cond, sizeof(cond), "h.state IN (");
		for (tok = strtok_r(w.states, ",", &save); tok && w.n < 12; tok = strtok_r(NULL, ",", &save)) {
			o += (size_t)snprintf(cond + o, sizeof(cond) - o, any ? ", ?" : "?");
			any = true;
			w.params[w.n++] = tok;
		}
		snprintf(cond + o, sizeof(cond) - o, ")");
		if (any)
			add(&w, cond, NULL);
	}
	if ((v = hs_query_arg(req, "reason")))
		add(&w, "h.reason = ?", v);
	if ((v = hs_query_arg(req, "restart_required")) && (!strcmp(v, "true") || !strcmp(v, "1")))
		add(&w, "h.restart_required > 0", NULL);
	if ((v = hs_query_arg(req, "build_id")))
		add(&w, "h.id IN (SELECT host_id FROM host_builds WHERE build_id = ?)", v);
	if ((v = hs_query_arg(req, "cve"))) {
		snprintf(cond, sizeof(cond), "h.id IN (%s)", hs_vulnerable_sql);
		add(&w, cond, v);
	}
	if ((v = hs_query_arg(req, "q")) && *v) {
		size_t i, o = 0;

		/* a substring, with LIKE's wildcards taken literally */
		w.like[o++] = '%';
		for (i = 0; v[i] && o < sizeof(w.like) - 4; i++) {
			if (v[i] == '%' || v[i] == '_' || v[i] == '\\')
				w.like[o++] = '\\';
			w.like[o++] = v[i];
		}
		w.like[o++] = '%';
		w.like[o] = 0;
		add(&w, "(h.hostname LIKE ? ESCAPE '\\' OR h.id LIKE ? ESCAPE '\\')", w.like);
		w.params[w.n++] = w.like;
	}
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM hosts h%s%s", joins ? " LEFT JOIN groups g ON g.id = h.group_id"
		 " LEFT JOIN policies p ON p.id = g.policy_id" : "", w.sql);
	if (hs_qa(req->db, &res, sql, w.n, w.params) < 0)
		return hs_db_error(req);
	total = hs_get_int(res, 0, 0, 0);
	hs_res_free(res);
	res = NULL;
	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(off, sizeof(off), "%lld", offset);
	w.params[w.n++] = lim;
	w.params[w.n++] = off;
	snprintf(sql, sizeof(sql),
		 "SELECT h.id AS host_id, h.hostname, g.name AS \"group\", p.name AS policy, h.state, h.reason,"
		 " h.agent_version, h.kernel, h.arch, h.last_checkin, h.restart_required, h.patched_targets, h.labels"
		 " FROM hosts h LEFT JOIN groups g ON g.id = h.group_id LEFT JOIN policies p ON p.id = g.policy_id%s"
		 " ORDER BY h.hostname, h.id LIMIT ? OFFSET ?", w.sql);
	if (hs_qa(req->db, &res, sql, w.n, w.params) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "ssssssssstiij", total, page, limit);
}

void api_host_get(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL, *as = NULL;
	json_t *o, *rep = NULL, *arr;

	if (hs_q(req->db, &res,
		 "SELECT h.id AS host_id, h.hostname, h.machine_id, g.name AS \"group\", p.name AS policy, h.state, h.reason,"
		 " h.verdict, h.agent_version, h.kernel, h.arch, h.enrolled_at, h.last_checkin, h.restart_required,"
		 " h.patched_targets, h.labels, h.events_ack, h.report_policy, h.report_paused, r.report"
		 " FROM hosts h LEFT JOIN groups g ON g.id = h.group_id LEFT JOIN policies p ON p.id = g.policy_id"
		 " LEFT JOIN host_reports r ON r.host_id = h.id WHERE h.id = ?", "s", req->param[0]) < 0)
		return hs_db_error(req);
	if (res->nrows != 1)
		return hs_error(req, 404, "not-found", "no host '%s'", req->param[0]);
	res->ncols--;	/* the report is merged below, not a column */
	arr = hs_rows_json(res, "sssssssssssttiijisb");
	res->ncols++;
	o = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	if (hs_get(res, 0, 19))
		rep = json_loads(hs_get(res, 0, 19), 0, NULL);
	json_object_set(o, "assessment", rep && json_object_get(rep, "assessment") ? json_object_get(rep, "assessment") : json_null());
	json_object_set(o, "patches", rep && json_object_get(rep, "patches") ? json_object_get(rep, "patches") : json_array());
	json_object_set(o, "processes", rep && json_object_get(rep, "processes") ? json_object_get(rep, "processes") : json_array());
	json_object_set(o, "restart_required_units",
			rep && json_object_get(rep, "restart_required") ? json_object_get(rep, "restart_required") : json_array());
	json_decref(rep);
	if (hs_q(req->db, &as, "SELECT a.release_id, r.patch_id, a.action, a.state, rr.name AS ring, a.assigned_at,"
		 " a.updated_at FROM assignments a JOIN releases r ON r.id = a.release_id LEFT JOIN release_rings rr"
		 " ON rr.release_id = a.release_id AND rr.idx = a.ring_idx WHERE a.host_id = ? ORDER BY a.release_id",
		 "s", req->param[0]) < 0) {
		json_decref(o);
		return hs_db_error(req);
	}
	json_object_set_new(o, "assignments", hs_rows_json(as, "isssstt"));
	hs_reply_json(req, 200, o);
}

void api_host_patch(struct hs_req *req)
{
	json_t *b = hs_body_object(req), *labels, *l;
	_cleanup_res_ struct hs_res *upd = NULL;
	const char *group = NULL;
	long long gid = 0;
	char *ls = NULL;
	size_t i;

	if (!b)
		return;
	labels = json_object_get(b, "labels");
	if (hs_json_str(b, "group", 128, &group) < 0 || (labels && !json_is_array(labels)) ||
	    (labels && json_array_size(labels) > 64)) {
		hs_error(req, 400, "invalid", "group is a string or null, labels a list of at most 64 names");
		goto out;
	}
	json_array_foreach(labels, i, l)
		if (!json_is_string(l) || !hs_valid_name(json_string_value(l))) {
			hs_error(req, 400, "invalid", "label %zu is not a valid name", i + 1);
			goto out;
		}
	if (group) {
		gid = hs_q_int(req->db, 0, "SELECT id FROM groups WHERE name = ?", "s", group);
		if (!gid) {
			hs_error(req, 404, "not-found", "no group '%s'", group);
			goto out;
		}
	}
	if (json_object_get(b, "group")) {
		if (hs_q(req->db, &upd, "UPDATE hosts SET group_id = ?, assign_gen = 0 WHERE id = ?", "Is", gid, req->param[0]) < 0)
			goto dberr;
		if (!upd->changes) {
			hs_error(req, 404, "not-found", "no host '%s'", req->param[0]);
			goto out;
		}
	}
	if (labels) {
		hs_res_free(upd);
		upd = NULL;
		ls = json_dumps(labels, JSON_COMPACT);
		if (hs_q(req->db, &upd, "UPDATE hosts SET labels = ? WHERE id = ?", "ss", ls, req->param[0]) < 0)
			goto dberr;
		if (!upd->changes) {
			hs_error(req, 404, "not-found", "no host '%s'", req->param[0]);
			goto out;
		}
	}
	hs_audit(req, "host.update", req->param[0], json_incref(b));
	api_host_get(req);
	goto out;
dberr:
	hs_db_error(req);
out:
	free(ls);
	json_decref(b);
}

void api_host_delete(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *del = NULL;
	const char *id = req->param[0];

	if (hs_begin(req->db) < 0 ||
	    hs_q(req->db, NULL, "UPDATE tokens SET revoked = 1 WHERE kind = 'host' AND host_id = ?", "s", id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_targets WHERE host_id = ?", "s", id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_builds WHERE host_id = ?", "s", id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM assignments WHERE host_id = ?", "s", id) < 0 ||
	    hs_q(req->db, NULL, "DELETE FROM host_reports WHERE host_id = ?", "s", id) < 0 ||
	    hs_q(req->db, &del, "DELETE FROM hosts WHERE id = ?", "s", id) < 0)
		return hs_db_error(req);
	if (!del->changes) {
		hs_rollback(req->db);
		return hs_error(req, 404, "not-found", "no host '%s'", id);
	}
	hs_audit(req, "host.delete", id, NULL);
	if (hs_commit(req->db) < 0)
		return hs_db_error(req);
	hs_reply_text(req, 204, "application/json", NULL);
}

static bool host_exists(struct hs_req *req)
{
	if (hs_q_int(req->db, 0, "SELECT COUNT(*) FROM hosts WHERE id = ?", "s", req->param[0]) > 0)
		return true;
	hs_error(req, 404, "not-found", "no host '%s'", req->param[0]);
	return false;
}

void api_host_processes(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;

	if (!host_exists(req))
		return;
	if (hs_q(req->db, &res, "SELECT pid, comm, exe, unit, path, build_id, patch_id, level, state, reason"
		 " FROM host_targets WHERE host_id = ? ORDER BY pid, path", "s", req->param[0]) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "issssssiss", res->nrows, 1, res->nrows);
}

void api_host_history(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	long long limit, offset, page, total;

	if (!host_exists(req))
		return;
	hs_paging(req, &limit, &offset, &page);
	total = hs_q_int(req->db, 0, "SELECT COUNT(*) FROM events WHERE host_id = ?", "s", req->param[0]);
	if (hs_q(req->db, &res, "SELECT e.agent_id AS id, e.time, e.kind, e.patch_id, p.level, p.cves, e.pid, e.detail,"
		 " e.received_at FROM events e LEFT JOIN patches p ON p.id = e.patch_id WHERE e.host_id = ?"
		 " ORDER BY e.id DESC LIMIT ? OFFSET ?", "sii", req->param[0], limit, offset) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "isssijist", total, page, limit);
}
