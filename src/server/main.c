/* SPDX-License-Identifier: MIT */
/* hotpatch-server: options, the token bootstrap, and the HTTP service. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "server.h"

#ifndef HS_VERSION
#define HS_VERSION "0.0.0"
#endif
#ifndef HS_WEB_DIR
#define HS_WEB_DIR "/usr/share/hotpatch/web"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hotpatch-server [OPTIONS]\n"
		"       hotpatch-server [--db DB] create-token --kind api|enroll --name NAME [--role ROLE] [--group G]\n"
		"                       [--expires-in SECONDS]\n"
		"\n"
		"The hotpatch control server: agents enroll and check in, administrators\n"
		"release patches to rings and read reports (HTTP/JSON API under /api/v1).\n"
		"\n"
		"Options:\n"
		"  --db DB               SQLite file (default /var/lib/hotpatch/server.db) or postgresql://...\n"
		"  --listen ADDR         IPv4 address to listen on (default 127.0.0.1)\n"
		"  --port N              TCP port (default 8443 with TLS, 8080 without; 0 = any free port)\n"
		"  --threads N           request threads and database connections (default 4)\n"
		"  --tls-cert FILE       PEM certificate (with --tls-key: serve HTTPS)\n"
		"  --tls-key FILE        PEM private key\n"
		"  --web-root DIR        dashboard files served at / (default " HS_WEB_DIR ")\n"
		"  --repository URL      repository index URL sent to agents\n"
		"  --poll-seconds N      check-in interval asked of agents (default 900)\n"
		"  --tick-seconds N      how often rollouts are judged (default 10)\n"
		"  --list-routes         print every METHOD PATH the server answers and exit\n"
		"  -v, --verbose         log every request\n"
		"  -h, --help            this text\n"
		"  --version             print the version\n"
		"\n"
		"create-token prints a new secret once: the first admin token comes from here.\n"
		"See hotpatch-server(8), docs/server.md and docs/protocol.md.\n");
}

/* create-token: a secret straight into the database, for bootstrapping and scripts. */
static int create_token(struct hs_db *db, const char *kind, const char *name, const char *role, const char *group,
			long long expires_in)
{
	struct hs_conn *c = hs_db_acquire(db);
	long long gid = 0;
	char secret[80];
	long long id;

	if (!kind || !name || (strcmp(kind, "api") && strcmp(kind, "enroll")) || !hs_valid_name(name) ||
	    (!strcmp(kind, "api") && (!role || (strcmp(role, "read-only") && strcmp(role, "operator") &&
						strcmp(role, "admin"))))) {
		fprintf(stderr, "hotpatch-server: create-token needs --kind api|enroll, --name NAME and for api"
			" --role read-only|operator|admin\n");
		hs_db_release(db, c);
		return 2;
	}
	if (group && !(gid = hs_q_int(c, 0, "SELECT id FROM groups WHERE name = ?", "s", group))) {
		fprintf(stderr, "hotpatch-server: no group '%s'\n", group);
		hs_db_release(db, c);
		return 1;
	}
	id = hs_token_new(c, kind, name, !strcmp(kind, "api") ? role : NULL, NULL, gid,
			  expires_in ? hs_now() + expires_in : 0, secret);
	if (id < 0) {
		fprintf(stderr, "hotpatch-server: %s\n", hs_errmsg(c));
		hs_db_release(db, c);
		return 1;
	}
	hs_audit_as(c, "local:create-token", "token.create", name, json_pack("{s:s,s:s?}", "kind", kind, "role", role));
	hs_db_release(db, c);
	printf("%s\n", secret);
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_DB = 256, O_LISTEN, O_PORT, O_THREADS, O_CERT, O_KEY, O_WEB, O_REPO, O_POLL, O_TICK, O_ROUTES,
	       O_VERSION, O_KIND, O_NAME, O_ROLE, O_GROUP, O_EXPIRES };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB }, { "listen", required_argument, NULL, O_LISTEN },
		{ "port", required_argument, NULL, O_PORT }, { "threads", required_argument, NULL, O_THREADS },
		{ "tls-cert", required_argument, NULL, O_CERT }, { "tls-key", required_argument, NULL, O_KEY },
		{ "web-root", required_argument, NULL, O_WEB }, { "repository", required_argument, NULL, O_REPO },
		{ "poll-seconds", required_argument, NULL, O_POLL }, { "tick-seconds", required_argument, NULL, O_TICK },
		{ "list-routes", no_argument, NULL, O_ROUTES }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, O_VERSION },
		{ "kind", required_argument, NULL, O_KIND }, { "name", required_argument, NULL, O_NAME },
		{ "role", required_argument, NULL, O_ROLE }, { "group", required_argument, NULL, O_GROUP },
		{ "expires-in", required_argument, NULL, O_EXPIRES },
		{ NULL, 0, NULL, 0 },
	};
	struct hs_server srv = { .cfg = { .db = "/var/lib/hotpatch/server.db", .listen = "127.0.0.1", .port = -1,
					  .threads = 4, .poll_seconds = 900, .tick_seconds = 10 } };
	const char *kind = NULL, *name = NULL, *role = NULL, *group = NULL;
	long long expires = 0;
	bool web_set = false;
	char err[600];
	int c, r;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_DB: srv.cfg.db = optarg; break;
		case O_LISTEN: srv.cfg.listen = optarg; break;
		case O_PORT: srv.cfg.port = atoi(optarg); break;
		case O_THREADS: srv.cfg.threads = atoi(optarg); break;
		case O_CERT: srv.cfg.tls_cert = optarg; break;
		case O_KEY: srv.cfg.tls_key = optarg; break;
		case O_WEB: srv.cfg.web_root = optarg; web_set = true; break;
		case O_REPO: srv.cfg.repository = optarg; break;
		case O_POLL: srv.cfg.poll_seconds = atoi(optarg); break;
		case O_TICK: srv.cfg.tick_seconds = atoi(optarg); break;
		case O_ROUTES: hs_list_routes(); return 0;
		case 'v': srv.cfg.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case O_VERSION: printf("hotpatch-server %s\n", HS_VERSION); return 0;
		case O_KIND: kind = optarg; break;
		case O_NAME: name = optarg; break;
		case O_ROLE: role = optarg; break;
		case O_GROUP: group = optarg; break;
		case O_EXPIRES: expires = atoll(optarg); break;
		default: usage(stderr); return 2;
		}
	}
	if (srv.cfg.threads < 1 || srv.cfg.threads > 256 || srv.cfg.poll_seconds < 1 || srv.cfg.tick_seconds < 1 ||
	    srv.cfg.port > 65535) {
		fprintf(stderr, "hotpatch-server: --threads 1..256, --poll-seconds and --tick-seconds >= 1, --port 0..65535\n");
		return 2;
	}
	if (optind < argc && strcmp(argv[optind], "create-token")) {
		fprintf(stderr, "hotpatch-server: unknown command '%s'\n", argv[optind]);
		return 2;
	}
	if (srv.cfg.port < 0)
		srv.cfg.port = srv.cfg.tls_cert ? 8443 : 8080;
	if (!web_set && access(HS_WEB_DIR, R_OK) == 0)
		srv.cfg.web_root = HS_WEB_DIR;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = hs_db_open(srv.cfg.db, optind < argc ? 1 : srv.cfg.threads + 1, &srv.db, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "hotpatch-server: cannot open database %s: %s\n", srv.cfg.db, err);
		return 1;
	}
	if (optind < argc)
		r = create_token(srv.db, kind, name, role, group, expires);
	else
		r = hs_http_run(&srv) < 0 ? 1 : 0;
	hs_db_close(srv.db);
	curl_global_cleanup();
	return r;
}
