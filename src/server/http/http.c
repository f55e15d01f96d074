/* SPDX-License-Identifier: MIT */
/*
 * The HTTP layer: libmicrohttpd with a thread pool, bounded request bodies,
 * the route table, authentication, and static files for the dashboard.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <microhttpd.h>

#include "server.h"
#include "shared/util.h"

struct hs_cls {
	const struct hs_route *route;
	char *param_buf;
	char *body;
	size_t len, cap, max;
	bool too_large;
	bool answered;
};

static volatile sig_atomic_t hs_stop;

static void on_signal(int sig)
{
	hs_stop = 1;
}

void hs_reply_text(struct hs_req *req, int status, const char *ctype, char *text)
{
	free(req->resp);
	req->status = status;
	req->resp = text;
	req->resp_len = text ? strlen(text) : 0;
	req->ctype = ctype;
}

void hs_reply_json(struct hs_req *req, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(body);
	if (!s) {
		hs_reply_text(req, 500, "application/json",
			      strdup("{\"error\":{\"kind\":\"internal\",\"message\":\"out of memory\"}}"));
		return;
	}
	hs_reply_text(req, status, "application/json", s);
}

void hs_error(struct hs_req *req, int status, const char *kind, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hs_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "kind", kind, "message", msg));
}

void hs_db_error(struct hs_req *req)
{
	fprintf(stderr, "hotpatch-server: %s %s: database: %s\n", req->method, req->url,
		req->db ? hs_errmsg(req->db) : "?");
	hs_error(req, 500, "internal", "database error");
}

const char *hs_query_arg(struct hs_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->mhd, MHD_GET_ARGUMENT_KIND, name);
}

json_t *hs_body_object(struct hs_req *req)
{
	json_error_t e;
	json_t *j;

	if (!req->len) {
		hs_error(req, 400, "json", "a JSON object is required");
		return NULL;
	}
	j = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		hs_error(req, 400, "json", "malformed JSON at line %d column %d: %s", e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		hs_error(req, 400, "json", "a JSON object is required");
		return NULL;
	}
	return j;
}

/* The route for a method and URL; *path_found tells 404 from 405. */
static const struct hs_route *route_find(const char *method, const char *url, char *buf, size_t buflen,
					 const char *params[4], bool *path_found)
{
	const struct hs_route *r;

	*path_found = false;
	for (r = hs_routes; r->pattern; r++) {
		if (!hs_route_match(r->pattern, url, buf, buflen, params))
			continue;
		*path_found = true;
		if (!strcmp(r->method, method))
			return r;
	}
	return NULL;
}

void hs_list_routes(void)
{
	for (const struct hs_route *r = hs_routes; r->pattern; r++)
		printf("%s %s\n", r->method, r->pattern);
}

/* Authenticate the bearer credential for what the route needs. */
bool hs_authenticate(struct hs_req *req, enum hs_need need)
{
	const char *h = MHD_lookup_connection_value(req->mhd, MHD_HEADER_KIND, "Authorization");
	_cleanup_res_ struct hs_res *res = NULL;
	char hash[65];
	const char *kind, *role;
	long long exp;

	if (need == HS_NEED_NONE || need == HS_NEED_HOST_LATE)
		return true;
	if (!h || strncasecmp(h, "Bearer ", 7) || strlen(h + 7) > 200) {
		hs_error(req, 401, "unauthorized", "an Authorization: Bearer credential is required");
		return false;
	}
	hs_sha256_hex(h + 7, hash);
	if (hs_q(req->db, &res, "SELECT id, kind, name, role, host_id, expires_at, revoked, last_used FROM tokens"
		 " WHERE hash = ?", "s", hash) < 0) {
		hs_db_error(req);
		return false;
	}
	if (res->nrows != 1 || hs_get_int(res, 0, 6, 1) != 0) {
		hs_error(req, 401, "unauthorized", "unknown or revoked credential");
		return false;
	}
	exp = hs_get_int(res, 0, 5, 0);
	if (exp && exp <= hs_now()) {
		hs_error(req, 401, "unauthorized", "credential expired");
		return false;
	}
	kind = hs_get(res, 0, 1);
	role = hs_get(res, 0, 3);
	req->token_id = hs_get_int(res, 0, 0, 0);
	snprintf(req->actor, sizeof(req->actor), "%s:%s", kind, hs_get(res, 0, 2));
	if (need == HS_NEED_HOST) {
		if (strcmp(kind, "host") || !hs_get(res, 0, 4)) {
			hs_error(req, 403, "forbidden", "a host credential is required");
			return false;
		}
		snprintf(req->host_id, sizeof(req->host_id), "%s", hs_get(res, 0, 4));
		return true;
	}
	if (strcmp(kind, "api")) {
		hs_error(req, 403, "forbidden", "an API token is required");
		return false;
	}
	hs_token_touch(req->db, req->token_id, hs_get(res, 0, 7));
	req->role = !role ? HS_ROLE_NONE : !strcmp(role, "admin") ? HS_ROLE_ADMIN :
		    !strcmp(role, "operator") ? HS_ROLE_OPERATOR : !strcmp(role, "read-only") ? HS_ROLE_READ : HS_ROLE_NONE;
	if ((need == HS_NEED_READ && req->role < HS_ROLE_READ) ||
	    (need == HS_NEED_OPERATOR && req->role < HS_ROLE_OPERATOR) ||
	    (need == HS_NEED_ADMIN && req->role < HS_ROLE_ADMIN)) {
		hs_error(req, 403, "forbidden", "the token's role (%s) may not do this", role ? role : "none");
		return false;
	}
	return true;
}

static int queue(struct MHD_Connection *conn, struct hs_req *req)
{
	struct MHD_Response *resp;
	int ret;

	resp = req->resp ? MHD_create_response_from_buffer(req->resp_len, req->resp, MHD_RESPMEM_MUST_FREE) :
			   MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	req->resp = NULL;
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", req->ctype ? req->ctype : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (req->disposition)
		MHD_add_response_header(resp, "Content-Disposition", req->disposition);
	ret = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const struct {
	const char *ext, *type;
} mime_types[] = {
	{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
	{ ".ico", "image/x-icon" }, { ".txt", "text/plain; charset=utf-8" }, { ".map", "application/json" },
	{ ".woff2", "font/woff2" }, { ".webp", "image/webp" }, { ".jpg", "image/jpeg" },
};

/* A static file of the dashboard: no "..", no hidden files, index.html for directories. */
static int serve_static(struct hs_server *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct MHD_Response *resp;
	const char *type = "application/octet-stream", *dot;
	char path[4096];
	struct stat st;
	int fd, ret;
	size_t i;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		goto notfound;
	if (!srv->cfg.web_root || strstr(url, "/.") || strstr(url, "..") || url[0] != '/')
		goto notfound;
	snprintf(path, sizeof(path), "%s%s%s", srv->cfg.web_root, url, url[strlen(url) - 1] == '/' ? "index.html" : "");
	/* the file, resolved, must still be under the web root (no symlink out of it) */
	{
		char real[PATH_MAX], root[PATH_MAX];
		size_t rl;

		if (!realpath(path, real) || !realpath(srv->cfg.web_root, root))
			goto notfound;
		rl = strlen(root);
		if (strncmp(real, root, rl) || real[rl] != '/')
			goto notfound;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		goto notfound;
	}
	dot = strrchr(path, '.');
	for (i = 0; dot && i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
		if (!strcmp(dot, mime_types[i].ext))
			type = mime_types[i].type;
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	if (!strncmp(type, "text/html", 9))
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
notfound: {
		struct hs_req r = { .status = 404 };

		hs_error(&r, 404, "not-found", "no such page");
		return queue(conn, &r);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct hs_server *srv = cls;
	struct hs_cls *c = *con_cls;
	struct hs_req req = { .srv = srv, .mhd = conn, .method = method, .url = url };
	bool path_found;
	int ret;

	if (!c) {
		const char *cl;
		char buf[512];
		const char *params[4];

		if (strncmp(url, "/api/", 5)) {
			if (*upload_size)
				return MHD_NO;
			return serve_static(srv, conn, url, method);
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		*con_cls = c;
		c->route = route_find(method, url, buf, sizeof(buf), params, &path_found);
		c->max = c->route ? c->route->max_body : HS_MAX_BODY;
		if (!c->route) {
			if (path_found)
				hs_error(&req, 405, "method", "%s is not allowed on %s", method, url);
			else
				hs_error(&req, 404, "not-found", "no route %s %s", method, url);
			c->too_large = c->answered = true;	/* discard any body */
			return queue(conn, &req);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > c->max) {
			c->too_large = c->answered = true;
			hs_error(&req, 413, "too-large", "request body over %zu bytes", c->max);
			return queue(conn, &req);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->too_large && c->len + *upload_size > c->max) {
			c->too_large = true;
			free(c->body);
			c->body = NULL;
		}
		if (!c->too_large) {
			if (c->len + *upload_size + 1 > c->cap) {
				size_t ncap = c->cap ? c->cap : 4096;
				char *nb;

				while (ncap < c->len + *upload_size + 1)
					ncap *= 2;
				nb = realloc(c->body, ncap);
				if (!nb)
					return MHD_NO;
				c->body = nb;
				c->cap = ncap;
			}
			memcpy(c->body + c->len, upload, *upload_size);
			c->len += *upload_size;
			c->body[c->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->too_large) {
		if (c->answered)
			return MHD_YES;
		hs_error(&req, 413, "too-large", "request body over %zu bytes", c->max);
		return queue(conn, &req);
	}
	{
		char buf[512];

		route_find(method, url, buf, sizeof(buf), req.param, &path_found);
		req.body = c->body;
		req.len = c->len;
		req.db = hs_db_acquire(srv->db);
		if (hs_authenticate(&req, c->route->need))
			c->route->fn(&req);
		hs_db_release(srv->db, req.db);
		if (!req.status)
			hs_error(&req, 500, "internal", "no answer");
		if (srv->cfg.verbose)
			fprintf(stderr, "%s %s %d\n", method, url, req.status);
		ret = queue(conn, &req);
	}
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct hs_cls *c = *con_cls;

	if (!c)
		return;
	free(c->body);
	free(c);
	*con_cls = NULL;
}

/* Periodic rollout evaluation and daily snapshots, on its own connection. */
static void *tick_thread(void *arg)
{
	struct hs_server *srv = arg;

	while (!hs_stop) {
		struct hs_conn *c = hs_db_acquire(srv->db);

		hs_tick(srv, c);
		hs_db_release(srv->db, c);
		for (int i = 0; i < srv->cfg.tick_seconds * 10 && !hs_stop; i++)
			usleep(100000);
	}
	return NULL;
}

int hs_http_run(struct hs_server *srv)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	char *cert = NULL, *key = NULL;
	pthread_t tick;
	int r;

	sa.sin_port = htons((uint16_t)srv->cfg.port);
	if (inet_pton(AF_INET, srv->cfg.listen, &sa.sin_addr) != 1) {
		fprintf(stderr, "hotpatch-server: --listen '%s' is not an IPv4 address\n", srv->cfg.listen);
		return -EINVAL;
	}
	if (srv->cfg.tls_cert || srv->cfg.tls_key) {
		if (!srv->cfg.tls_cert || !srv->cfg.tls_key) {
			fprintf(stderr, "hotpatch-server: --tls-cert and --tls-key go together\n");
			return -EINVAL;
		}
		r = hp_read_file(srv->cfg.tls_cert, 1 << 20, &cert, NULL);
		if (r >= 0)
			r = hp_read_file(srv->cfg.tls_key, 1 << 20, &key, NULL);
		if (r < 0) {
			fprintf(stderr, "hotpatch-server: reading the TLS certificate or key: %s\n", strerror(-r));
			free(cert);
			return r;
		}
		flags |= MHD_USE_TLS;
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			     MHD_OPTION_CONNECTION_TIMEOUT, 60u,
			     MHD_OPTION_CONNECTION_LIMIT, 4000u,
			     cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "hotpatch-server: cannot listen on %s:%d\n", srv->cfg.listen, srv->cfg.port);
		free(cert);
		free(key);
		return -EADDRINUSE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

		fprintf(stderr, "hotpatch-server: listening on %s://%s:%u\n", cert ? "https" : "http",
			srv->cfg.listen, di ? di->port : (unsigned)srv->cfg.port);
	}
	pthread_create(&tick, NULL, tick_thread, srv);
	while (!hs_stop)
		pause();
	pthread_join(tick, NULL);
	MHD_stop_daemon(d);
	free(cert);
	free(key);
	return 0;
}
