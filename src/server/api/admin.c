/* SPDX-License-Identifier: MIT */
/* Groups, policies and the audit log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "shared/util.h"

static const char *const group_sql =
	"SELECT g.name, g.description, p.name AS policy, g.max_parallel_pct AS max_parallel_percent,"
	" (SELECT COUNT(*) FROM hosts h WHERE h.group_id = g.id) AS hosts, g.created_at"
	" FROM groups g LEFT JOIN policies p ON p.id = g.policy_id";

void api_groups_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	char sql[512];

	snprintf(sql, sizeof(sql), "%s ORDER BY g.name", group_sql);
	if (hs_q(req->db, &res, sql, "") < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "sssiit", res->nrows, 1, res->nrows);
}

void api_group_get(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	char sql[512];

	snprintf(sql, sizeof(sql), "%s WHERE g.name = ?", group_sql);
	if (hs_q(req->db, &res, sql, "s", req->param[0]) < 0)
		return hs_db_error(req);
	if (res->nrows != 1)
		return hs_error(req, 404, "not-found", "no group '%s'", req->param[0]);
	hs_reply_json(req, 200, hs_row_json(res, "sssiit"));
}

void api_group_create(struct hs_req *req)
{
	json_t *b = hs_body_object(req), *pct;
	const char *name, *desc, *policy;
	long long pid = 0, p = 20;

	if (!b)
		return;
	pct = json_object_get(b, "max_parallel_percent");
	if (hs_json_str(b, "name", 128, &name) < 0 || !name || !hs_valid_name(name) ||
	    hs_json_str(b, "description", 1024, &desc) < 0 || hs_json_str(b, "policy", 128, &policy) < 0 ||
	    (pct && !json_is_null(pct) && (!json_is_integer(pct) || json_integer_value(pct) < 1 || json_integer_value(pct) > 100))) {
		json_decref(b);
		return hs_error(req, 400, "invalid", "name ([A-Za-z0-9._:@-]) is required; max_parallel_percent is 1..100");
	}
	if (json_is_integer(pct))
		p = json_integer_value(pct);
	if (policy && !(pid = hs_q_int(req->db, 0, "SELECT id FROM policies WHERE name = ?", "s", policy))) {
		hs_error(req, 404, "not-found", "no policy '%s'", policy);
		json_decref(b);
		return;
	}
	if (hs_q_int(req->db, 0, "SELECT COUNT(*) FROM groups WHERE name = ?", "s", name)) {
		hs_error(req, 409, "conflict", "group '%s' exists", name);
		json_decref(b);
		return;
	}
	if (hs_q(req->db, NULL, "INSERT INTO groups (name, description, policy_id, max_parallel_pct, created_at)"
		 " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING", "ssIii", name, desc ? desc : "", pid, p,
		 hs_now()) < 0) {
		json_decref(b);
		return hs_db_error(req);
	}
	hs_audit(req, "group.create", name, json_incref(b));
	req->param[0] = name;
	api_group_get(req);
	req->status = req->status == 200 ? 201 : req->status;
	json_decref(b);
}

void api_group_delete(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *del = NULL;

	if (hs_q_int(req->db, 0, "SELECT COUNT(*) FROM hosts h JOIN groups g ON g.id = h.group_id WHERE g.name = ?",
		     "s", req->param[0]) > 0)
		return hs_error(req, 409, "conflict", "group '%s' has hosts", req->param[0]);
	if (hs_q(req->db, &del, "DELETE FROM groups WHERE name = ?", "s", req->param[0]) < 0)
		return hs_db_error(req);
	if (!del->changes)
		return hs_error(req, 404, "not-found", "no group '%s'", req->param[0]);
	hs_audit(req, "group.delete", req->param[0], NULL);
	hs_reply_text(req, 204, "application/json", NULL);
}

void api_group_policy(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *upd = NULL;
	json_t *b = hs_body_object(req);
	const char *policy;
	long long pid = 0;

	if (!b)
		return;
	if (!json_object_get(b, "policy") || hs_json_str(b, "policy", 128, &policy) < 0) {
		hs_error(req, 400, "invalid", "policy must be a policy name or null");
		json_decref(b);
		return;
	}
	if (policy && !(pid = hs_q_int(req->db, 0, "SELECT id FROM policies WHERE name = ?", "s", policy))) {
		hs_error(req, 404, "not-found", "no policy '%s'", policy);
		json_decref(b);
		return;
	}
	if (hs_q(req->db, &upd, "UPDATE groups SET policy_id = ? WHERE name = ?", "Is", pid, req->param[0]) < 0) {
		json_decref(b);
		return hs_db_error(req);
	}
	if (!upd->changes) {
		hs_error(req, 404, "not-found", "no group '%s'", req->param[0]);
		json_decref(b);
		return;
	}
	hs_audit(req, "group.policy", req->param[0], json_pack("{s:s?}", "policy", policy));
	json_decref(b);
	api_group_get(req);
}

void api_policies_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;

	if (hs_q(req->db, &res, "SELECT p.name, p.document, p.updated_at, (SELECT COUNT(*) FROM groups g WHERE"
		 " g.policy_id = p.id) AS groups, (SELECT COUNT(*) FROM hosts h JOIN groups g ON g.id = h.group_id WHERE"
		 " g.policy_id = p.id) AS hosts FROM policies p ORDER BY p.name", "") < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "sjtii", res->nrows, 1, res->nrows);
}

void api_policy_get(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	json_t *d;

	if (hs_q(req->db, &res, "SELECT document FROM policies WHERE name = ?", "s", req->param[0]) < 0)
		return hs_db_error(req);
	if (res->nrows != 1)
		return hs_error(req, 404, "not-found", "no policy '%s'", req->param[0]);
	d = json_loads(hs_get(res, 0, 0), 0, NULL);
	if (!d)
		return hs_error(req, 500, "internal", "stored policy does not parse");
	hs_reply_json(req, 200, d);
}

/* Create (name from the body) or replace (name from the URL) a policy. */
static void policy_store(struct hs_req *req, bool create)
{
	_cleanup_res_ struct hs_res *upd = NULL;
	json_t *d = hs_body_object(req);
	const char *name, *what;
	char *doc;
	int r;

	if (!d)
		return;
	if (hs_json_str(d, "name", 128, &name) < 0 || (create && (!name || !hs_valid_name(name)))) {
		hs_error(req, 400, "invalid", "policy field \"name\" is required ([A-Za-z0-9._:@-])");
		json_decref(d);
		return;
	}
	if (!create) {
		if (name && strcmp(name, req->param[0])) {
			hs_error(req, 400, "invalid", "the document's name '%s' is not '%s'", name, req->param[0]);
			json_decref(d);
			return;
		}
		name = req->param[0];
		json_object_set_new(d, "name", json_string(name));
	}
	if (!hs_policy_valid(d, &what)) {
		hs_error(req, 400, "invalid", "policy field \"%s\" is malformed", what);
		json_decref(d);
		return;
	}
	if (!json_object_get(d, "version"))
		json_object_set_new(d, "version", json_integer(1));
	doc = json_dumps(d, JSON_COMPACT);
	if (create) {
		if (hs_q_int(req->db, 0, "SELECT COUNT(*) FROM policies WHERE name = ?", "s", name)) {
			free(doc);
			hs_error(req, 409, "conflict", "policy '%s' exists", name);
			json_decref(d);
			return;
		}
		r = hs_q(req->db, &upd, "INSERT INTO policies (name, document, paused, updated_at) VALUES (?, ?, ?, ?)"
			 " ON CONFLICT (name) DO NOTHING", "ssbi", name, doc, json_is_true(json_object_get(d, "paused")), hs_now());
	} else {
		r = hs_q(req->db, &upd, "UPDATE policies SET document = ?, paused = ?, updated_at = ? WHERE name = ?", "sbis",
			 doc, json_is_true(json_object_get(d, "paused")), hs_now(), name);
	}
	free(doc);
	if (r < 0) {
		json_decref(d);
		return hs_db_error(req);
	}
	if (!upd->changes) {
		if (create)
			hs_error(req, 409, "conflict", "policy '%s' exists", name);
		else
			hs_error(req, 404, "not-found", "no policy '%s'", name);
		json_decref(d);
		return;
	}
	hs_audit(req, create ? "policy.create" : "policy.update", name, json_incref(d));
	hs_reply_json(req, create ? 201 : 200, d);
}

void api_policy_create(struct hs_req *req)
{
	policy_store(req, true);
}

void api_policy_put(struct hs_req *req)
{
	policy_store(req, false);
}

void api_policy_delete(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *del = NULL;

	if (hs_q_int(req->db, 0, "SELECT COUNT(*) FROM groups g JOIN policies p ON p.id = g.policy_id WHERE p.name = ?",
		     "s", req->param[0]) > 0)
		return hs_error(req, 409, "conflict", "policy '%s' is assigned to a group", req->param[0]);
	if (hs_q(req->db, &del, "DELETE FROM policies WHERE name = ?", "s", req->param[0]) < 0)
		return hs_db_error(req);
	if (!del->changes)
		return hs_error(req, 404, "not-found", "no policy '%s'", req->param[0]);
	hs_audit(req, "policy.delete", req->param[0], NULL);
	hs_reply_text(req, 204, "application/json", NULL);
}

void api_audit(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	long long limit, offset, page, total;

	hs_paging(req, &limit, &offset, &page);
	total = hs_q_int(req->db, 0, "SELECT COUNT(*) FROM audit", "");
	if (hs_q(req->db, &res, "SELECT id, time, actor, action, object, detail FROM audit ORDER BY id DESC LIMIT ? OFFSET ?",
		 "ii", limit, offset) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "itsssj", total, page, limit);
}
