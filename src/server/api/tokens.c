/* SPDX-License-Identifier: MIT */
/* Tokens: enrollment tokens, API tokens with roles, host credentials; only SHA-256 hashes are stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "shared/util.h"

/* Make a secret "hp<k>_<64 hex>", store its hash, hand the secret out once; returns the token id. */
long long hs_token_new(struct hs_conn *c, const char *kind, const char *name, const char *role, const char *host_id,
		       long long group_id, long long expires_at, char secret[80])
{
	char hex[65], hash[65];

	hs_random_hex(hex, 32);
	snprintf(secret, 80, "hp%c_%s", kind[0], hex);
	hs_sha256_hex(secret, hash);
	return hs_q_int(c, -EIO,
			"INSERT INTO tokens (hash, kind, name, role, host_id, group_id, created_at, expires_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			"sssssIiI", hash, kind, name, role, host_id, group_id, hs_now(), expires_at);
}

/*
 * Record that a token was used, at most once per HS_TOKEN_TOUCH seconds
 * (last_used, as read with the token, is what decides): a busy API client
 * costs one write a minute, not one per request.  The condition in the
 * statement keeps two servers from both writing within the interval.
 * Best effort: a failed write does not fail the request.
 */
void hs_token_touch(struct hs_conn *c, long long id, const char *last_used)
{
	long long now = hs_now(), last = last_used ? atoll(last_used) : 0;

	if (last && now - last < HS_TOKEN_TOUCH && now >= last)
		return;
	hs_q(c, NULL, "UPDATE tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used <= ?)",
	     "iii", now, id, now - HS_TOKEN_TOUCH);
}

static const char *const token_cols =
	"SELECT t.id, t.kind, t.name, t.role, g.name AS \"group\", t.host_id, t.created_at, t.expires_at,"
	" t.revoked, t.last_used FROM tokens t LEFT JOIN groups g ON g.id = t.group_id";

void api_tokens_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	char sql[512];

	snprintf(sql, sizeof(sql), "%s WHERE t.kind <> 'host' ORDER BY t.id", token_cols);
	if (hs_q(req->db, &res, sql, "") < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "isssssttbt", res->nrows, 1, res->nrows);
}

void api_token_create(struct hs_req *req)
{
	json_t *b = hs_body_object(req), *e;
	const char *kind, *name, *role, *group;
	long long gid = 0, expires = 0, id;
	char secret[80];

	if (!b)
		return;
	if (hs_json_str(b, "kind", 16, &kind) < 0 || hs_json_str(b, "name", 128, &name) < 0 ||
	    hs_json_str(b, "role", 16, &role) < 0 || hs_json_str(b, "group", 128, &group) < 0 || !kind || !name ||
	    !hs_valid_name(name) || (strcmp(kind, "enroll") && strcmp(kind, "api"))) {
		hs_error(req, 400, "invalid", "kind (enroll|api) and name are required strings");
		json_decref(b);
		return;
	}
	if (!strcmp(kind, "api") && (!role || (strcmp(role, "read-only") && strcmp(role, "operator") &&
					       strcmp(role, "admin")))) {
		hs_error(req, 400, "invalid", "role must be read-only, operator or admin");
		json_decref(b);
		return;
	}
	if (!strcmp(kind, "enroll"))
		role = NULL;
	e = json_object_get(b, "expires_in");
	if (e && !json_is_null(e)) {
		if (!json_is_integer(e) || json_integer_value(e) <= 0 || json_integer_value(e) > 10LL * 365 * 86400) {
			hs_error(req, 400, "invalid", "expires_in must be a positive number of seconds");
			json_decref(b);
			return;
		}
		expires = hs_now() + json_integer_value(e);
	}
	if (group) {
		gid = hs_q_int(req->db, 0, "SELECT id FROM groups WHERE name = ?", "s", group);
		if (!gid) {
			hs_error(req, 404, "not-found", "no group '%s'", group);
			json_decref(b);
			return;
		}
	}
	id = hs_token_new(req->db, kind, name, role, NULL, gid, expires, secret);
	if (id < 0) {
		json_decref(b);
		return hs_db_error(req);
	}
	hs_audit(req, "token.create", name, json_pack("{s:s,s:s?,s:s?}", "kind", kind, "role", role, "group", group));
	hs_reply_json(req, 201, json_pack("{s:I,s:s,s:s,s:s?,s:s}", "id", (json_int_t)id,
					  "kind", kind, "name", name, "role", role, "secret", secret));
	json_decref(b);
}

void api_token_delete(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	unsigned long long id;

	if (hp_parse_uint(req->param[0], 1ULL << 62, &id) < 0)
		return hs_error(req, 404, "not-found", "no token %s", req->param[0]);
	if (hs_q(req->db, &res, "UPDATE tokens SET revoked = 1 WHERE id = ? AND kind <> 'host'", "i", (long long)id) < 0)
		return hs_db_error(req);
	if (res->changes == 0)
		return hs_error(req, 404, "not-found", "no token %s", req->param[0]);
	hs_audit(req, "token.revoke", req->param[0], NULL);
	hs_reply_text(req, 204, "application/json", NULL);
}

void api_whoami(struct hs_req *req)
{
	static const char *const roles[] = { "none", "read-only", "operator", "admin" };

	hs_reply_json(req, 200, json_pack("{s:s,s:s,s:I}", "name", strchr(req->actor, ':') + 1, "role",
					  roles[req->role], "token_id", (json_int_t)req->token_id));
}

void api_health(struct hs_req *req)
{
	hs_reply_json(req, 200, json_pack("{s:s,s:i,s:s}", "status", "ok", "protocol", HS_PROTOCOL, "store",
					  req->db->ops->name));
}
