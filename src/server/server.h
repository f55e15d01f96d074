/* SPDX-License-Identifier: MIT */
/* hotpatch-server: shared types of the HTTP layer and the API handlers. */
#ifndef HS_SERVER_H
#define HS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "store/store.h"

#define HS_PROTOCOL 1
#define HS_MAX_REPORT (4u << 20)
#define HS_MAX_BODY (64u << 10)

enum hs_need {
	HS_NEED_NONE = 0,	/* anyone */
	HS_NEED_HOST,		/* a host credential */
	HS_NEED_HOST_LATE,	/* a host credential, checked by the handler (hs_authenticate) */
	HS_NEED_READ,		/* API token, any role */
	HS_NEED_OPERATOR,
	HS_NEED_ADMIN,
};

enum hs_role { HS_ROLE_NONE = 0, HS_ROLE_READ, HS_ROLE_OPERATOR, HS_ROLE_ADMIN };

struct hs_config {
	const char *db;
	const char *listen;	/* address */
	int port;
	int threads;
	const char *tls_cert, *tls_key;
	const char *web_root;
	const char *repository;	/* index URL sent to agents */
	int poll_seconds;
	int tick_seconds;
	bool verbose;
};

struct hs_server {
	struct hs_config cfg;
	struct hs_db *db;
};

struct hs_req {
	struct hs_server *srv;
	void *mhd;		/* struct MHD_Connection */
	const char *method, *url;
	char *body;
	size_t len;
	const char *param[4];	/* {x} path segments */
	struct hs_conn *db;
	/* who is asking */
	long long token_id;
	char actor[160];
	enum hs_role role;
	char host_id[64];
	/* the answer */
	int status;
	char *resp;
	size_t resp_len;
	const char *ctype;
	const char *disposition;
};

typedef void (*hs_handler_fn)(struct hs_req *req);

struct hs_route {
	const char *method;
	const char *pattern;	/* "/api/v1/hosts/{id}" */
	hs_handler_fn fn;
	enum hs_need need;
	size_t max_body;
};

extern const struct hs_route hs_routes[];

/* Answers. */
void hs_reply_json(struct hs_req *req, int status, json_t *body);	/* steals body */
void hs_reply_text(struct hs_req *req, int status, const char *ctype, char *text);	/* steals text */
void hs_error(struct hs_req *req, int status, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void hs_db_error(struct hs_req *req);
const char *hs_query_arg(struct hs_req *req, const char *name);
/* The JSON body; answers 400 and returns NULL when it is not a JSON object. */
json_t *hs_body_object(struct hs_req *req);

/* Helpers (api/common.c). */
long long hs_now(void);
void hs_time_str(long long t, char buf[32]);
void hs_random_hex(char *out, size_t bytes);	/* out: 2*bytes+1 */
void hs_sha256_hex(const char *s, char out[65]);
void hs_audit_as(struct hs_conn *c, const char *actor, const char *action, const char *object, json_t *detail);
void hs_audit(struct hs_req *req, const char *action, const char *object, json_t *detail);
void hs_paging(struct hs_req *req, long long *ret_limit, long long *ret_offset, long long *ret_page);
/* Result rows to JSON objects / CSV; types per column: s string, i integer, t time, j JSON text, b bool. */
json_t *hs_rows_json(const struct hs_res *res, const char *types);
json_t *hs_row_json(const struct hs_res *res, const char *types);
char *hs_rows_csv(const struct hs_res *res, const char *types);
bool hs_want_csv(struct hs_req *req);
/* Answer a page: {"items","total","page","per_page"} or CSV of the items. */
void hs_reply_rows(struct hs_req *req, const struct hs_res *res, const char *types, long long total,
		   long long page, long long per_page);
/* Optional string member of an object; -EINVAL when present but not a string. */
int hs_json_str(json_t *o, const char *key, size_t max, const char **ret);
bool hs_valid_name(const char *s);

/* Request validation (api/validate.c): no database, no HTTP; fuzzed by tests/fuzz/fuzz-request.c. */
struct hs_host_sum {
	const char *verdict;
	char reason[160];
	bool paused;
	long long patched, pending, bad, halted, restart;
};
/* Optional (or required) string member of at most max bytes, no NUL inside. */
bool hs_v_str(json_t *o, const char *key, size_t max, bool required);
/* A check-in report (docs/report.md); *what names the first bad part. */
bool hs_report_valid(json_t *rep, const char **what);
/* Of a valid report: what the reports count. */
void hs_report_summarise(json_t *rep, struct hs_host_sum *s);
/* SHA-256 (hex) of the parts of a report that change rarely (not events, not the two times). */
void hs_report_digest(json_t *rep, char out[65]);
const char *hs_host_state(const struct hs_host_sum *s, bool policy_paused, long long outstanding, long long failed,
			  const char **reason);
/* A policy document (docs/policy.md); *what names the first bad field. */
bool hs_policy_valid(json_t *d, const char **what);
/* Match url against a route pattern; captured {x} segments go into params (pointers into buf). */
bool hs_route_match(const char *pattern, const char *url, char *buf, size_t buflen, const char *params[4]);

/* Handlers. */
void api_health(struct hs_req *req);
void api_whoami(struct hs_req *req);
void api_enroll(struct hs_req *req);
void api_checkin(struct hs_req *req);

void api_hosts_list(struct hs_req *req);
void api_host_get(struct hs_req *req);
void api_host_patch(struct hs_req *req);
void api_host_delete(struct hs_req *req);
void api_host_processes(struct hs_req *req);
void api_host_history(struct hs_req *req);
void api_groups_list(struct hs_req *req);
void api_group_create(struct hs_req *req);
void api_group_get(struct hs_req *req);
void api_group_delete(struct hs_req *req);
void api_group_policy(struct hs_req *req);
void api_policies_list(struct hs_req *req);
void api_policy_create(struct hs_req *req);
void api_policy_get(struct hs_req *req);
void api_policy_put(struct hs_req *req);
void api_policy_delete(struct hs_req *req);
void api_patches_list(struct hs_req *req);
void api_patches_import(struct hs_req *req);
void api_releases_list(struct hs_req *req);
void api_release_create(struct hs_req *req);
void api_release_get(struct hs_req *req);
void api_release_promote(struct hs_req *req);
void api_release_halt(struct hs_req *req);
void api_release_resume(struct hs_req *req);
void api_report_policies(struct hs_req *req);
void api_report_trend(struct hs_req *req);
void api_report_cves(struct hs_req *req);
void api_report_cve(struct hs_req *req);
void api_audit(struct hs_req *req);
void api_tokens_list(struct hs_req *req);
void api_token_create(struct hs_req *req);
void api_token_delete(struct hs_req *req);

/* Tokens (api/tokens.c). */
#define HS_TOKEN_TOUCH 60	/* seconds: last_used is at most this old for a token in use */
void hs_token_touch(struct hs_conn *c, long long id, const char *last_used);
long long hs_token_new(struct hs_conn *c, const char *kind, const char *name, const char *role,
		       const char *host_id, long long group_id, long long expires_at, char secret[80]);

/* Rollouts (api/rollout.c). */
int hs_rollout_evaluate(struct hs_server *srv, struct hs_conn *c, long long release_id, const char *actor);
void hs_tick(struct hs_server *srv, struct hs_conn *c);
json_t *hs_release_json(struct hs_conn *c, long long id);
/*
 * New assignments for a host at check-in (inside the check-in transaction):
 * *ret_assigned when one was made; *ret_settled when no release could give
 * the host one before the next rollout transition (rollout_gen), so that
 * its unchanged check-ins may take the short path until then.
 */
int hs_assign_host(struct hs_conn *c, const char *host_id, long long group_id, bool *ret_settled, bool *ret_assigned);
/* An assignment of release rid to a host of group gid stopped being outstanding: its place is free again. */
int hs_slot_return(struct hs_conn *c, long long rid, long long gid);
/* Every release transition (made, promoted, completed, halted, resumed) changes the rollout generation. */
int hs_rollout_bump(struct hs_conn *c);

/* HTTP (http/http.c). */
/* Check the request's bearer credential for need (answers the request and returns false when refused). */
bool hs_authenticate(struct hs_req *req, enum hs_need need);
int hs_http_run(struct hs_server *srv);
void hs_list_routes(void);

#endif
