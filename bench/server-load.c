/* SPDX-License-Identifier: MIT */
/*
 * server-load: simulated agents for hotpatch-server (bench/server-run.sh).
 *
 *   server-load enroll --url U --enroll-token T --hosts N --state FILE [-c C]
 *   server-load burst  --url U --state FILE [-c C]          every host checks in once, flat out
 *   server-load steady --url U --state FILE --interval S --duration D [-c C]
 *                                                           each host every S seconds, paced
 *   server-load report --url U --token T [--repeat R]       time GET /reports/policies
 *
 * Reports are realistic: a dozen processes mapping libc/libssl/libz builds,
 * some patched, some pending or restart-required, an assessment with six
 * checks, patches and now and then an event.  Latencies are measured per
 * request from the client side; the summary is one JSON line on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

struct host {
	char id[40];
	char cred[80];
	long events;
};

static struct {
	const char *url, *token, *enroll, *state;
	int hosts, conc, repeat;
	double interval, duration;
	struct host *h;
	atomic_int next;
	atomic_long errors;
	double *lat;
	atomic_long nlat;
	double t0;
} g = { .conc = 32, .repeat = 5 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* POST/GET with a reused handle (keep-alive); returns the status, body in b. */
static long req(CURL *c, const char *path, const char *auth, const char *body, struct buf *b)
{
	char url[512], hdr[200];
	struct curl_slist *h = NULL;
	long code = 0;

	b->len = 0;
	snprintf(url, sizeof(url), "%s/api/v1%s", g.url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (auth) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", auth);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	if (b->p)
		b->p[b->len] = 0;
	return code;
}

static const char *json_str(const char *s, const char *key, char *out, size_t len)
{
	char k[64];
	const char *p;
	size_t i = 0;

	snprintf(k, sizeof(k), "\"%s\":\"", key);
	p = s ? strstr(s, k) : NULL;
	if (!p)
		return NULL;
	p += strlen(k);
	while (*p && *p != '"' && i + 1 < len)
		out[i++] = *p++;
	out[i] = 0;
	return out;
}

/* A realistic report of host i: ~4 KiB. */
static int report(char *out, size_t len, int i, struct host *h, int round)
{
	static const char *const comms[] = { "nginx", "sshd", "postgres", "python3", "node", "redis-server",
					     "cron", "rsyslogd", "systemd", "dbus-daemon", "containerd", "haproxy" };
	static const char *const states[] = { "patched", "patched", "patched", "pending", "restart-required" };
	int o, p, n = 12, kind = i % 20;

	o = snprintf(out, len,
		     "{\"protocol\":1,\"host\":{\"host_id\":\"%s\",\"hostname\":\"load-%06d\",\"machine_id\":\"m%06d\","
		     "\"agent_version\":\"0.1.0\",\"kernel\":\"6.1.0-28-amd64\",\"arch\":\"x86_64\",\"time\":\"2026-12-06T01:00:00Z\"},"
		     "\"assessment\":{\"time\":\"2026-12-06T00:00:00Z\",\"verdict\":\"%s\",\"checks\":["
		     "{\"name\":\"ptrace_scope\",\"result\":\"%s\",\"value\":\"%d\",\"reason\":\"yama\",\"remedy\":\"sysctl\"},"
		     "{\"name\":\"seccomp\",\"result\":\"ok\",\"value\":\"0\"},{\"name\":\"selinux\",\"result\":\"ok\"},"
		     "{\"name\":\"lockdown\",\"result\":\"ok\"},{\"name\":\"cet\",\"result\":\"ok\"},{\"name\":\"kernel\",\"result\":\"ok\"}]},"
		     "\"policy\":{\"name\":\"prod\",\"source\":\"server\",\"paused\":%s},"
		     "\"patches\":[{\"patch_id\":\"libc-1\",\"level\":1,\"build_id\":\"c0ffee01\",\"target\":\"libc.so.6\","
		     "\"classification\":\"security\",\"cves\":[\"CVE-2026-0001\"],\"state\":\"applied\"},"
		     "{\"patch_id\":\"ssl-2\",\"level\":2,\"build_id\":\"c0ffee02\",\"target\":\"libssl.so.3\","
		     "\"classification\":\"critical\",\"cves\":[\"CVE-2026-0002\",\"CVE-2026-0003\"],\"state\":\"applied\"}],"
		     "\"processes\":[",
		     h->id, i, i, kind == 3 ? "not-eligible" : "eligible", kind == 3 ? "not-ok" : "ok", kind == 3 ? 3 : 1,
		     kind == 4 ? "true" : "false");
	for (p = 0; p < n && o < (int)len; p++) {
		const char *st = kind < 10 ? "patched" : states[(i + p) % 5];

		o += snprintf(out + o, len - (size_t)o,
			      "%s{\"pid\":%d,\"comm\":\"%s\",\"exe\":\"/usr/bin/%s\",\"unit\":\"%s.service\",\"targets\":["
			      "{\"path\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\",\"build_id\":\"c0ffee01\",\"patch_id\":\"libc-1\","
			      "\"level\":1,\"state\":\"patched\",\"reason\":null},"
			      "{\"path\":\"/usr/lib/x86_64-linux-gnu/libssl.so.3\",\"build_id\":\"c0ffee02\",\"patch_id\":%s,"
			      "\"level\":%d,\"state\":\"%s\",\"reason\":%s}]}",
			      p ? "," : "", 1000 + p * 7, comms[p], comms[p], comms[p],
			      !strcmp(st, "patched") ? "\"ssl-2\"" : "null", !strcmp(st, "patched") ? 2 : 0, st,
			      !strcmp(st, "restart-required") ? "\"runs a deleted build\"" : "null");
	}
	o += snprintf(out + o, len - (size_t)o, "],\"restart_required\":[%s],\"events\":[",
		      kind >= 10 ? "{\"unit\":\"haproxy.service\",\"pid\":1077,\"reason\":\"runs a deleted build of libssl\"}" : "");
	if (round % 4 == 1) {	/* now and then something happened */
		h->events++;
		o += snprintf(out + o, len - (size_t)o,
			      "{\"id\":%ld,\"time\":\"2026-12-06T01:00:00Z\",\"kind\":\"applied\",\"patch_id\":\"ssl-2\",\"pid\":1000,"
			      "\"detail\":\"level 2\"}", h->events);
	}
	o += snprintf(out + o, len - (size_t)o, "]}");
	return o;
}

static void record(double t)
{
	long n = atomic_fetch_add(&g.nlat, 1);

	g.lat[n] = t;
}

static void *enroll_worker(void *arg)
{
	CURL *c = curl_easy_init();
	struct buf b = { 0 };
	char body[512];
	int i;

	while ((i = atomic_fetch_add(&g.next, 1)) < g.hosts) {
		double t = now();

		snprintf(body, sizeof(body), "{\"protocol\":1,\"token\":\"%s\",\"hostname\":\"load-%06d\","
			 "\"machine_id\":\"m%06d\",\"agent_version\":\"0.1.0\"}", g.enroll, i, i);
		if (req(c, "/enroll", NULL, body, &b) != 201 || !json_str(b.p, "host_id", g.h[i].id, sizeof(g.h[i].id)) ||
		    !json_str(b.p, "credential", g.h[i].cred, sizeof(g.h[i].cred))) {
			atomic_fetch_add(&g.errors, 1);
			continue;
		}
		record(now() - t);
	}
	free(b.p);
	curl_easy_cleanup(c);
	return NULL;
}

/* One check-in of host i; counts errors, records latency. */
static void checkin(CURL *c, struct buf *b, char *rep, size_t len, int i, int round)
{
	double t;
	long code;

	if (!g.h[i].id[0])
		return;
	report(rep, len, i, &g.h[i], round);
	t = now();
	code = req(c, "/checkin", g.h[i].cred, rep, b);
	if (code != 200)
		atomic_fetch_add(&g.errors, 1);
	else
		record(now() - t);
}

static void *burst_worker(void *arg)
{
	CURL *c = curl_easy_init();
	struct buf b = { 0 };
	char *rep = malloc(1 << 16);
	int i;

	while ((i = atomic_fetch_add(&g.next, 1)) < g.hosts)
		checkin(c, &b, rep, 1 << 16, i, 1);
	free(rep);
	free(b.p);
	curl_easy_cleanup(c);
	return NULL;
}

/* Paced: request k (host k % N) is due at t0 + k * interval / N. */
static void *steady_worker(void *arg)
{
	CURL *c = curl_easy_init();
	struct buf b = { 0 };
	char *rep = malloc(1 << 16);
	double step = g.interval / g.hosts;
	long k;

	while ((k = atomic_fetch_add(&g.next, 1)) >= 0) {
		double due = g.t0 + (double)k * step, w;

		if (due - g.t0 > g.duration)
			break;
		w = due - now();
		if (w > 0)
			usleep((useconds_t)(w * 1e6));
		checkin(c, &b, rep, 1 << 16, (int)(k % g.hosts), (int)(k / g.hosts) + 2);
	}
	free(rep);
	free(b.p);
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *mode, double elapsed)
{
	long n = atomic_load(&g.nlat);

	qsort(g.lat, (size_t)n, sizeof(double), cmp);
	printf("{\"mode\":\"%s\",\"hosts\":%d,\"concurrency\":%d,\"requests\":%ld,\"errors\":%ld,\"seconds\":%.2f,"
	       "\"per_second\":%.1f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
	       mode, g.hosts, g.conc, n, atomic_load(&g.errors), elapsed, n / elapsed,
	       n ? g.lat[n / 2] * 1e3 : 0, n ? g.lat[n * 9 / 10] * 1e3 : 0, n ? g.lat[n * 99 / 100] * 1e3 : 0,
	       n ? g.lat[n - 1] * 1e3 : 0);
}

static int load_state(void)
{
	FILE *f = fopen(g.state, "r");
	int n = 0;

	if (!f) {
		perror(g.state);
		return -1;
	}
	g.h = calloc(1000000, sizeof(*g.h));
	while (n < 1000000 && fscanf(f, "%39s %79s", g.h[n].id, g.h[n].cred) == 2)
		n++;
	fclose(f);
	if (!g.hosts || g.hosts > n)
		g.hosts = n;
	return 0;
}

static void run(void *(*fn)(void *))
{
	pthread_t *t = calloc((size_t)g.conc, sizeof(*t));
	int i;

	for (i = 0; i < g.conc; i++)
		pthread_create(&t[i], NULL, fn, NULL);
	for (i = 0; i < g.conc; i++)
		pthread_join(t[i], NULL);
	free(t);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' }, { "token", required_argument, NULL, 't' },
		{ "enroll-token", required_argument, NULL, 'e' }, { "hosts", required_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 's' }, { "concurrency", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' }, { "duration", required_argument, NULL, 'd' },
		{ "repeat", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	const char *mode;
	double t;
	int c;

	while ((c = getopt_long(argc, argv, "u:t:e:n:s:c:i:d:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': g.url = optarg; break;
		case 't': g.token = optarg; break;
		case 'e': g.enroll = optarg; break;
		case 'n': g.hosts = atoi(optarg); break;
		case 's': g.state = optarg; break;
		case 'c': g.conc = atoi(optarg); break;
		case 'i': g.interval = atof(optarg); break;
		case 'd': g.duration = atof(optarg); break;
		case 'r': g.repeat = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || !g.url || g.conc < 1) {
		fprintf(stderr, "usage: server-load enroll|burst|steady|report --url URL ... (see the source)\n");
		return 2;
	}
	mode = argv[optind];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g.lat = calloc(4000000, sizeof(double));
	if (!strcmp(mode, "enroll")) {
		FILE *f;

		if (!g.enroll || !g.state || g.hosts < 1)
			return 2;
		g.h = calloc((size_t)g.hosts, sizeof(*g.h));
		t = now();
		run(enroll_worker);
		summary(mode, now() - t);
		f = fopen(g.state, "w");
		for (int i = 0; f && i < g.hosts; i++)
			if (g.h[i].id[0])
				fprintf(f, "%s %s\n", g.h[i].id, g.h[i].cred);
		if (f)
			fclose(f);
	} else if (!strcmp(mode, "burst")) {
		if (!g.state || load_state() < 0)
			return 2;
		t = now();
		run(burst_worker);
		summary(mode, now() - t);
	} else if (!strcmp(mode, "steady")) {
		if (!g.state || load_state() < 0 || g.interval <= 0 || g.duration <= 0)
			return 2;
		g.t0 = now();
		run(steady_worker);
		summary(mode, now() - g.t0);
	} else if (!strcmp(mode, "report")) {
		CURL *ch = curl_easy_init();
		struct buf b = { 0 };

		if (!g.token)
			return 2;
		t = now();
		for (int i = 0; i < g.repeat; i++) {
			double s = now();

			if (req(ch, "/reports/policies", g.token, NULL, &b) != 200)
				atomic_fetch_add(&g.errors, 1);
			else
				record(now() - s);
		}
		g.conc = 1;
		summary(mode, now() - t);
		free(b.p);
		curl_easy_cleanup(ch);
	} else {
		return 2;
	}
	return atomic_load(&g.errors) ? 1 : 0;
}
