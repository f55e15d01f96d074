/* SPDX-License-Identifier: MIT */
/*
 * hotpatchctl: the administrator's command line for hotpatch-server.  A thin
 * client of the HTTP API (api/openapi.yaml): every command is one or two
 * requests; --json prints the server's JSON, otherwise lists become tables.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>

#include "shared/cleanup.h"
#include "shared/util.h"

#ifndef HS_VERSION
#define HS_VERSION "0.0.0"
#endif

static struct {
	const char *url, *token, *cacert;
	bool json, insecure, csv;
} g = { .url = "http://127.0.0.1:8080" };

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *np = realloc(b->p, b->len + size * n + 1);

	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, ptr, size * n);
	b->len += size * n;
	b->p[b->len] = 0;
	return size * n;
}

/* One request; the reply body in *ret (caller frees), the HTTP status returned (or -1). */
static long request(const char *method, const char *path, const char *body, char **ret)
{
	char url[4096], auth[512], err[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	CURL *c = curl_easy_init();
	long code = -1;

	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s/api/v1%s", g.url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (g.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (g.cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, g.cacert);
	if (g.token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else
		fprintf(stderr, "hotpatchctl: %s: %s\n", url, err);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	*ret = b.p ? b.p : strdup("");
	return code;
}

/* A value as one table cell. */
static char *cell(json_t *v)
{
	char buf[64];

	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.1f", json_real_value(v));
		return strdup(buf);
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "yes" : "no");
	return json_dumps(v, JSON_COMPACT);
}

static void print_table(json_t *items)
{
	json_t *first = json_array_get(items, 0), *it, *v;
	const char *k;
	size_t i;

	if (!first) {
		printf("(none)\n");
		return;
	}
	json_object_foreach(first, k, v)
		printf("%s%s", k, json_object_iter_next(first, json_object_iter_at(first, k)) ? "\t" : "\n");
	json_array_foreach(items, i, it) {
		bool sep = false;

		json_object_foreach(first, k, v) {
			_cleanup_free_ char *s = cell(json_object_get(it, k));

			printf("%s%s", sep ? "\t" : "", s);
			sep = true;
		}
		putchar('\n');
	}
}

static void print_object(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		_cleanup_free_ char *s = cell(v);

		printf("%s: %s\n", k, s);
	}
}

/* Run a request and print its answer; returns the exit code. */
static int call(const char *method, const char *path, const char *body)
{
	_cleanup_free_ char *out = NULL;
	long code = request(method, path, body, &out);
	json_t *j;

	if (code < 0)
		return 1;
	if (g.csv && code < 300) {
		fputs(out, stdout);
		return 0;
	}
	j = json_loads(out, 0, NULL);
	if (code >= 300) {
		if (g.json)
			printf("%s\n", out);
		else
			fprintf(stderr, "hotpatchctl: %s %s: %s (HTTP %ld)\n", method, path,
				json_string_value(json_object_get(json_object_get(j, "error"), "message")) ?: out, code);
		json_decref(j);
		return 1;
	}
	if (g.json || !j) {
		if (j) {
			char *s = json_dumps(j, JSON_INDENT(2));

			printf("%s\n", s);
			free(s);
		}
	} else if (json_is_array(json_object_get(j, "items"))) {
		print_table(json_object_get(j, "items"));
		if (json_is_object(json_object_get(j, "total"))) {
			printf("\n");
			print_table(json_pack("[O]", json_object_get(j, "total")));
		} else if (json_is_integer(json_object_get(j, "total")) &&
			   json_integer_value(json_object_get(j, "total")) > (json_int_t)json_array_size(json_object_get(j, "items")))
			printf("(%zu of %lld; --page N for more)\n", json_array_size(json_object_get(j, "items")),
			       (long long)json_integer_value(json_object_get(j, "total")));
	} else if (json_is_object(j)) {
		print_object(j);
	}
	json_decref(j);
	return 0;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
		"Usage: hotpatchctl [-s URL] [-t TOKEN] [-j] [-k] [--cacert FILE] COMMAND ...\n"
		"\n"
		"Administer a hotpatch-server.  URL and TOKEN default to $HOTPATCH_SERVER_URL\n"
		"(else http://127.0.0.1:8080) and $HOTPATCH_TOKEN.\n"
		"\n"
		"Commands:\n"
		"  whoami\n"
		"  token list | create --kind api|enroll --name N [--role R] [--group G] [--expires-in S] | revoke ID\n"
		"  group list | show NAME | create NAME [--policy P] [--max-parallel PCT] | delete NAME\n"
		"  group set-policy NAME POLICY|none\n"
		"  host list [--group G] [--policy P] [--state S] [--cve CVE] [--query Q] [--page N]\n"
		"  host show ID | processes ID | history ID | set-group ID GROUP|none | delete ID\n"
		"  policy list | show NAME | create FILE | update NAME FILE | delete NAME\n"
		"  patch list [--cve CVE] | import URL|FILE\n"
		"  release list | show ID | create PATCH [--ring SPEC]... [--max-parallel PCT]\n"
		"  release promote ID | halt ID [--revert] [--reason TEXT] | resume ID\n"
		"  report policies | cves | cve CVE | trend [--days N]      (--csv for CSV)\n"
		"  audit [--page N]\n"
		"\n"
		"A ring SPEC is name=pilot,group=G|percent=P[,bake=SECONDS][,threshold=N].\n"
		"Options: -s/--server URL, -t/--token TOKEN, -j/--json print JSON, --csv ask for CSV,\n"
		"-k/--insecure skip TLS verification, --cacert FILE, -h/--help, --version.\n"
		"Exit: 0 ok, 1 error (the server's message on stderr), 2 usage.  See hotpatchctl(8).\n");
	return code;
}

/* Query string from option pairs; values are URL-escaped. */
static void add_q(char *q, size_t len, const char *k, const char *v)
{
	char *e;

	if (!v)
		return;
	e = curl_easy_escape(NULL, v, 0);
	snprintf(q + strlen(q), len - strlen(q), "%s%s=%s", strchr(q, '?') ? "&" : "?", k, e ? e : "");
	curl_free(e);
}

static char *esc(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

static int read_json_file(const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	json_error_t e;
	json_t *j;
	int r = hp_read_file(path, 4 << 20, &buf, NULL);

	if (r < 0) {
		fprintf(stderr, "hotpatchctl: %s: %s\n", path, strerror(-r));
		return 1;
	}
	j = json_loads(buf, 0, &e);
	if (!j) {
		fprintf(stderr, "hotpatchctl: %s:%d: %s\n", path, e.line, e.text);
		return 1;
	}
	*ret = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return 0;
}

/* "name=pilot,group=web,bake=60,threshold=1" -> a ring object. */
static json_t *parse_ring(const char *spec)
{
	_cleanup_free_ char *s = strdup(spec);
	json_t *r = json_object();
	char *save = NULL, *kv;

	for (kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (!v)
			goto bad;
		*v++ = 0;
		if (!strcmp(kv, "name") || !strcmp(kv, "group"))
			json_object_set_new(r, kv, json_string(v));
		else if (!strcmp(kv, "percent") || !strcmp(kv, "bake") || !strcmp(kv, "threshold"))
			json_object_set_new(r, !strcmp(kv, "bake") ? "bake_seconds" : !strcmp(kv, "threshold") ?
					    "failure_threshold" : "percent", json_integer(atoll(v)));
		else
			goto bad;
	}
	return r;
bad:
	json_decref(r);
	return NULL;
}

int main(int argc, char **argv)
{
	enum { O_CACERT = 256, O_CSV, O_KIND, O_NAME, O_ROLE, O_GROUP, O_EXPIRES, O_POLICY, O_MAXPAR, O_STATE, O_CVE,
	       O_QUERY, O_PAGE, O_RING, O_REVERT, O_REASON, O_DAYS, O_VERSION };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' }, { "insecure", no_argument, NULL, 'k' },
		{ "cacert", required_argument, NULL, O_CACERT }, { "csv", no_argument, NULL, O_CSV },
		{ "kind", required_argument, NULL, O_KIND }, { "name", required_argument, NULL, O_NAME },
		{ "role", required_argument, NULL, O_ROLE }, { "group", required_argument, NULL, O_GROUP },
		{ "expires-in", required_argument, NULL, O_EXPIRES }, { "policy", required_argument, NULL, O_POLICY },
		{ "max-parallel", required_argument, NULL, O_MAXPAR }, { "state", required_argument, NULL, O_STATE },
		{ "cve", required_argument, NULL, O_CVE }, { "query", required_argument, NULL, O_QUERY },
		{ "page", required_argument, NULL, O_PAGE }, { "ring", required_argument, NULL, O_RING },
		{ "revert", no_argument, NULL, O_REVERT }, { "reason", required_argument, NULL, O_REASON },
		{ "days", required_argument, NULL, O_DAYS }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION }, { NULL, 0, NULL, 0 },
	};
	const char *kind = NULL, *name = NULL, *role = NULL, *group = NULL, *policy = NULL, *state = NULL, *cve = NULL;
	const char *query = NULL, *page = NULL, *reason = NULL, *days = NULL;
	long long expires = 0, maxpar = 0;
	bool revert = false;
	json_t *rings = json_array();
	char q[4096] = "", path[4096];
	const char *obj, *verb, *a1, *a2;
	int c, n;

	if (getenv("HOTPATCH_SERVER_URL"))
		g.url = getenv("HOTPATCH_SERVER_URL");
	g.token = getenv("HOTPATCH_TOKEN");
	/* options may come before or after the command words (getopt permutes) */
	while ((c = getopt_long(argc, argv, "s:t:jkh", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.url = optarg; break;
		case 't': g.token = optarg; break;
		case 'j': g.json = true; break;
		case 'k': g.insecure = true; break;
		case O_CACERT: g.cacert = optarg; break;
		case O_CSV: g.csv = true; break;
		case O_KIND: kind = optarg; break;
		case O_NAME: name = optarg; break;
		case O_ROLE: role = optarg; break;
		case O_GROUP: group = optarg; break;
		case O_EXPIRES: expires = atoll(optarg); break;
		case O_POLICY: policy = optarg; break;
		case O_MAXPAR: maxpar = atoll(optarg); break;
		case O_STATE: state = optarg; break;
		case O_CVE: cve = optarg; break;
		case O_QUERY: query = optarg; break;
		case O_PAGE: page = optarg; break;
		case O_RING: {
			json_t *r = parse_ring(optarg);

			if (!r) {
				fprintf(stderr, "hotpatchctl: bad ring '%s' (name=N,group=G|percent=P,bake=S,threshold=N)\n", optarg);
				return 2;
			}
			json_array_append_new(rings, r);
			break;
		}
		case O_REVERT: revert = true; break;
		case O_REASON: reason = optarg; break;
		case O_DAYS: days = optarg; break;
		case 'h': return usage(stdout, 0);
		case O_VERSION: printf("hotpatchctl %s\n", HS_VERSION); return 0;
		default: return usage(stderr, 2);
		}
	}
	n = argc - optind;
	if (n < 1)
		return usage(stderr, 2);
	obj = argv[optind];
	verb = n > 1 ? argv[optind + 1] : "list";
	a1 = n > 2 ? argv[optind + 2] : NULL;
	a2 = n > 3 ? argv[optind + 3] : NULL;
	if (g.csv)
		add_q(q, sizeof(q), "format", "csv");
	add_q(q, sizeof(q), "page", page);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (!strcmp(obj, "whoami"))
		return call("GET", "/whoami", NULL);
	if (!strcmp(obj, "audit")) {
		snprintf(path, sizeof(path), "/audit%s", q);
		return call("GET", path, NULL);
	}
	if (!strcmp(obj, "token")) {
		if (!strcmp(verb, "list"))
			return call("GET", "/tokens", NULL);
		if (!strcmp(verb, "create")) {
			json_t *b = json_pack("{s:s?,s:s?,s:s?,s:s?}", "kind", kind, "name", name, "role", role, "group", group);
			_cleanup_free_ char *s = NULL;

			if (expires)
				json_object_set_new(b, "expires_in", json_integer(expires));
			s = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			return call("POST", "/tokens", s);
		}
		if (!strcmp(verb, "revoke") && a1) {
			snprintf(path, sizeof(path), "/tokens/%s", a1);
			return call("DELETE", path, NULL);
		}
	} else if (!strcmp(obj, "group")) {
		_cleanup_free_ char *e = a1 ? esc(a1) : NULL;

		if (!strcmp(verb, "list"))
			return call("GET", "/groups", NULL);
		if (!strcmp(verb, "show") && a1) {
			snprintf(path, sizeof(path), "/groups/%s", e);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "create") && a1) {
			json_t *b = json_pack("{s:s,s:s?}", "name", a1, "policy", policy);
			_cleanup_free_ char *s = NULL;

			if (maxpar)
				json_object_set_new(b, "max_parallel_percent", json_integer(maxpar));
			s = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			return call("POST", "/groups", s);
		}
		if (!strcmp(verb, "delete") && a1) {
			snprintf(path, sizeof(path), "/groups/%s", e);
			return call("DELETE", path, NULL);
		}
		if (!strcmp(verb, "set-policy") && a1 && a2) {
			json_t *b = json_pack("{s:s?}", "policy", strcmp(a2, "none") ? a2 : NULL);
			_cleanup_free_ char *s = json_dumps(b, JSON_COMPACT);

			json_decref(b);
			snprintf(path, sizeof(path), "/groups/%s/policy", e);
			return call("PUT", path, s);
		}
	} else if (!strcmp(obj, "host")) {
		_cleanup_free_ char *e = a1 ? esc(a1) : NULL;

		if (!strcmp(verb, "list")) {
			add_q(q, sizeof(q), "group", group);
			add_q(q, sizeof(q), "policy", policy);
			add_q(q, sizeof(q), "state", state);
			add_q(q, sizeof(q), "cve", cve);
			add_q(q, sizeof(q), "q", query);
			snprintf(path, sizeof(path), "/hosts%s", q);
			return call("GET", path, NULL);
		}
		if ((!strcmp(verb, "show") || !strcmp(verb, "processes") || !strcmp(verb, "history")) && a1) {
			snprintf(path, sizeof(path), "/hosts/%s%s%s%s", e, strcmp(verb, "show") ? "/" : "",
				 strcmp(verb, "show") ? verb : "", q);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "set-group") && a1 && a2) {
			json_t *b = json_pack("{s:s?}", "group", strcmp(a2, "none") ? a2 : NULL);
			_cleanup_free_ char *s = json_dumps(b, JSON_COMPACT);

			json_decref(b);
			snprintf(path, sizeof(path), "/hosts/%s", e);
			return call("PATCH", path, s);
		}
		if (!strcmp(verb, "delete") && a1) {
			snprintf(path, sizeof(path), "/hosts/%s", e);
			return call("DELETE", path, NULL);
		}
	} else if (!strcmp(obj, "policy")) {
		_cleanup_free_ char *e = a1 ? esc(a1) : NULL, *doc = NULL;

		if (!strcmp(verb, "list"))
			return call("GET", "/policies", NULL);
		if (!strcmp(verb, "show") && a1) {
			snprintf(path, sizeof(path), "/policies/%s", e);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "create") && a1) {
			if (read_json_file(a1, &doc))
				return 1;
			return call("POST", "/policies", doc);
		}
		if (!strcmp(verb, "update") && a1 && a2) {
			if (read_json_file(a2, &doc))
				return 1;
			snprintf(path, sizeof(path), "/policies/%s", e);
			return call("PUT", path, doc);
		}
		if (!strcmp(verb, "delete") && a1) {
			snprintf(path, sizeof(path), "/policies/%s", e);
			return call("DELETE", path, NULL);
		}
	} else if (!strcmp(obj, "patch")) {
		if (!strcmp(verb, "list")) {
			add_q(q, sizeof(q), "cve", cve);
			snprintf(path, sizeof(path), "/patches%s", q);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "import") && a1) {
			_cleanup_free_ char *doc = NULL, *s = NULL;
			json_t *b;

			if (strstr(a1, "://")) {
				b = json_pack("{s:s}", "url", a1);
			} else {
				if (read_json_file(a1, &doc))
					return 1;
				b = json_pack("{s:o}", "index", json_loads(doc, 0, NULL));
			}
			s = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			return call("POST", "/patches/import", s);
		}
	} else if (!strcmp(obj, "release")) {
		if (!strcmp(verb, "list"))
			return call("GET", "/releases", NULL);
		if (!strcmp(verb, "show") && a1) {
			snprintf(path, sizeof(path), "/releases/%s", a1);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "create") && a1) {
			json_t *b = json_pack("{s:s}", "patch_id", a1);
			_cleanup_free_ char *s = NULL;

			if (json_array_size(rings))
				json_object_set(b, "rings", rings);
			if (maxpar)
				json_object_set_new(b, "max_parallel_percent", json_integer(maxpar));
			s = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			return call("POST", "/releases", s);
		}
		if ((!strcmp(verb, "promote") || !strcmp(verb, "halt") || !strcmp(verb, "resume")) && a1) {
			json_t *b = json_pack("{s:b,s:s?}", "revert", revert, "reason", reason);
			_cleanup_free_ char *s = json_dumps(b, JSON_COMPACT);

			json_decref(b);
			snprintf(path, sizeof(path), "/releases/%s/%s", a1, verb);
			return call("POST", path, s);
		}
	} else if (!strcmp(obj, "report")) {
		if (!strcmp(verb, "policies") || !strcmp(verb, "cves")) {
			snprintf(path, sizeof(path), "/reports/%s%s", verb, q);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "trend")) {
			add_q(q, sizeof(q), "days", days);
			add_q(q, sizeof(q), "policy", policy);
			snprintf(path, sizeof(path), "/reports/trend%s", q);
			return call("GET", path, NULL);
		}
		if (!strcmp(verb, "cve") && a1) {
			_cleanup_free_ char *e = esc(a1);

			snprintf(path, sizeof(path), "/reports/cves/%s%s", e, q);
			return call("GET", path, NULL);
		}
	}
	fprintf(stderr, "hotpatchctl: unknown command '%s %s' (hotpatchctl --help)\n", obj, verb);
	return 2;
}
