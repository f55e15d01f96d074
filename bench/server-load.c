/* SPDX-License-Identifier: MIT */
/*
 * server-load: simulated agents for hotpatch-server (bench/server-run.sh).
 *
 *   server-load enroll --url U --enroll-token T --hosts N --state FILE [-c C]
 *   server-load burst  --url U --state FILE [-c C] [--within S]
 *                      every host checks in once: flat out over C connections, or
 *                      with --within S at a random time in the next S seconds
 *                      (open loop: latency counts from the due time, so a client
 *                      that falls behind shows as latency, not as a slower rate)
 *   server-load steady --url U --state FILE --interval S --duration D [-c C]
 *                      each host every S seconds, paced
 *   server-load report --url U --token T [--repeat R]       time GET /reports/policies
 *   --changed P / --events P: per check-in, the chance in percent (default 5
 *   each) that the report changed (a process restarted) / carries a new event.
 *
 * Reports are realistic (the agent's format, docs/report.md): twelve
 * processes mapping libc and libssl builds, some patched, some pending, an
 * assessment with six checks, two patches.  Latencies are measured per
 * request from the client side; the summary is one JSON line on stdout with
 * the generator's own CPU time and the load average.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>
#include <curl/curl.h>

struct host {
	char id[40];
	char cred[80];
	long events, restarts;
	double due;		/* paced burst: when it checks in */
};

static struct {
	const char *url, *token, *enroll, *state;
	int hosts, conc, repeat;
	double interval, duration, within;
	int changed_pct, events_pct;	/* share of check-ins with a changed report / a new event */
	int *order;			/* paced burst: hosts by due time */
	atomic_long late_max_us;
	long restarts;			/* --restarts: processes restarted before (matches an earlier run's reports) */
	struct host *h;
	atomic_int next;
	atomic_long errors;
	double *lat;
	atomic_long nlat;
	double t0;
} g = { .conc = 32, .repeat = 5, .changed_pct = 5, .events_pct = 5 };

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

/*
 * A realistic report of host i (docs/report.md, the agent's format): ~6 KiB,
 * twelve processes mapping libc and libssl builds, six assessment checks,
 * two patches with everything the agent writes about them; 5 % of hosts
 * not eligible, 5 % paused, half with a restart-required unit.  changed:
 * one process was restarted since the last report (another pid: the
 * server rewrites the host's rows); event: one new event to store.
 */
static int report(char *out, size_t len, int i, struct host *h, bool changed, bool event)
{
	static const char *const comms[] = { "nginx", "sshd", "postgres", "python3", "node", "redis-server",
					     "cron", "rsyslogd", "systemd", "dbus-daemon", "containerd", "haproxy" };
	static const char *const states[] = { "patched", "patched", "patched", "pending", "pending" };
	int o, p, n = 12, kind = i % 20;

	if (changed)
		h->restarts++;
	o = snprintf(out, len,
		     "{\"protocol\":1,\"host\":{\"host_id\":\"%s\",\"hostname\":\"load-%06d\",\"machine_id\":\"m%06d\","
		     "\"agent_version\":\"0.1.0\",\"kernel\":\"6.1.0-28-amd64\",\"arch\":\"x86_64\",\"time\":\"2026-12-06T01:%02d:%02dZ\"},"
		     "\"assessment\":{\"time\":\"2026-12-06T00:00:00Z\",\"verdict\":\"%s\",\"checks\":["
		     "{\"name\":\"ptrace_scope\",\"result\":\"%s\",\"value\":\"%d\",\"reason\":\"kernel.yama.ptrace_scope is %d\","
		     "\"remedy\":\"sysctl kernel.yama.ptrace_scope=1\"},"
		     "{\"name\":\"seccomp\",\"result\":\"ok\",\"value\":\"0\"},{\"name\":\"selinux\",\"result\":\"ok\",\"value\":\"disabled\"},"
		     "{\"name\":\"lockdown\",\"result\":\"ok\",\"value\":\"none\"},{\"name\":\"cet\",\"result\":\"ok\",\"value\":\"off\"},"
		     "{\"name\":\"kernel\",\"result\":\"ok\",\"value\":\"6.1.0-28-amd64\"}]},"
		     "\"policy\":{\"name\":\"prod\",\"source\":\"server\",\"paused\":%s},"
		     "\"patches\":[{\"patch_id\":\"libc-1\",\"level\":1,\"build_id\":\"c0ffee01\",\"target\":\"libc.so.6\","
		     "\"classification\":\"security\",\"cves\":[\"CVE-2026-0001\"],\"package\":\"libc6\",\"version\":\"2.36-9+deb12u9\","
		     "\"sha256\":\"5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592\",\"size\":8192,"
		     "\"release_time\":\"2026-12-01T00:00:00Z\",\"signer\":\"release-2026\",\"state\":\"applied\",\"reason\":null,"
		     "\"halted_reason\":null,\"next\":null},"
		     "{\"patch_id\":\"ssl-2\",\"level\":2,\"build_id\":\"c0ffee02\",\"target\":\"libssl.so.3\","
		     "\"classification\":\"critical\",\"cves\":[\"CVE-2026-0002\",\"CVE-2026-0003\"],\"package\":\"libssl3\","
		     "\"version\":\"3.0.15-1~deb12u1\",\"sha256\":\"7d793037a0760186574b0282f2f435e77d793037a0760186574b0282f2f435e7\","
		     "\"size\":12288,\"release_time\":\"2026-12-02T00:00:00Z\",\"signer\":\"release-2026\",\"state\":\"applied\","
		     "\"reason\":null,\"halted_reason\":null,\"next\":null}],"
		     "\"processes\":[",
		     h->id, i, i, (int)(time(NULL) / 60 % 60), (int)(time(NULL) % 60),
		     kind == 3 ? "not-eligible" : "eligible", kind == 3 ? "not-ok" : "ok", kind == 3 ? 3 : 1,
		     kind == 3 ? 3 : 1, kind == 4 ? "true" : "false");
	for (p = 0; p < n && o < (int)len; p++) {
		const char *st = kind < 10 ? "patched" : states[(i + p) % 5];

		o += snprintf(out + o, len - (size_t)o,
			      "%s{\"pid\":%ld,\"comm\":\"%s\",\"exe\":\"/usr/bin/%s\",\"unit\":\"%s.service\",\"targets\":["
			      "{\"path\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\",\"build_id\":\"c0ffee01\",\"patch_id\":\"libc-1\","
			      "\"level\":1,\"state\":\"patched\",\"reason\":\"\"},"
			      "{\"path\":\"/usr/lib/x86_64-linux-gnu/libssl.so.3\",\"build_id\":\"c0ffee02\",\"patch_id\":%s,"
			      "\"level\":%d,\"state\":\"%s\",\"reason\":\"%s\"}]}",
			      p ? "," : "", 1000 + p * 7 + (p == 0 ? h->restarts * 100 : 0), comms[p], comms[p], comms[p],
			      !strcmp(st, "patched") ? "\"ssl-2\"" : "null", !strcmp(st, "patched") ? 2 : 0, st,
			      !strcmp(st, "pending") ? "outside the maintenance window" : "");
	}
	o += snprintf(out + o, len - (size_t)o, "],\"restart_required\":[%s],\"events\":[",
		      kind >= 10 ? "{\"unit\":\"haproxy.service\",\"pid\":1077,\"comm\":\"haproxy\","
				   "\"reason\":\"runs a deleted build of /usr/lib/x86_64-linux-gnu/libssl.so.3\"}" : "");
	if (event) {	/* ids grow across runs too (the server acknowledges the highest it saw) */
		long id = (long)(time(NULL) - 1700000000L) * 1000 + ++h->events % 1000;

		o += snprintf(out + o, len - (size_t)o,
			      "{\"id\":%ld,\"time\":\"2026-12-06T01:00:00Z\",\"kind\":\"applied\",\"patch_id\":\"ssl-2\",\"pid\":1000,"
			      "\"detail\":\"level 2\"}", id);
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

/* One check-in of host i; counts errors, records latency (from due, when given: lateness counts). */
static void checkin(CURL *c, struct buf *b, char *rep, size_t len, int i, unsigned *seed, double due)
{
	bool changed = (int)(rand_r(seed) % 100) < g.changed_pct, event = (int)(rand_r(seed) % 100) < g.events_pct;
	double t;
	long code;

	if (!g.h[i].id[0])
		return;
	report(rep, len, i, &g.h[i], changed, event);
	t = now();
	if (due > 0 && due < t) {
		long late = (long)((t - due) * 1e6);

		for (long m = atomic_load(&g.late_max_us); late > m && !atomic_compare_exchange_weak(&g.late_max_us, &m, late);)
			;
		t = due;
	}
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
	unsigned seed = (unsigned)(uintptr_t)&b ^ (unsigned)time(NULL);
	int k;

	while ((k = atomic_fetch_add(&g.next, 1)) < g.hosts) {
		if (g.within > 0) {	/* paced: host order[k] is due at its random time */
			int i = g.order[k];
			double w = g.t0 + g.h[i].due - now();

			if (w > 0)
				usleep((useconds_t)(w * 1e6));
			checkin(c, &b, rep, 1 << 16, i, &seed, g.t0 + g.h[i].due);
		} else {
			checkin(c, &b, rep, 1 << 16, k, &seed, 0);
		}
	}
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
	unsigned seed = (unsigned)(uintptr_t)&b ^ (unsigned)time(NULL);
	long k;

	while ((k = atomic_fetch_add(&g.next, 1)) >= 0) {
		double due = g.t0 + (double)k * step, w;

		if (due - g.t0 > g.duration)
			break;
		w = due - now();
		if (w > 0)
			usleep((useconds_t)(w * 1e6));
		checkin(c, &b, rep, 1 << 16, (int)(k % g.hosts), &seed, due);
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

/* Paced burst: hosts in the order they are due. */
static int cmp_due(const void *a, const void *b)
{
	double x = g.h[*(const int *)a].due, y = g.h[*(const int *)b].due;

	return x < y ? -1 : x > y;
}

static void summary(const char *mode, double elapsed)
{
	long n = atomic_load(&g.nlat);

	struct rusage ru;
	double load[3] = { 0 };

	qsort(g.lat, (size_t)n, sizeof(double), cmp);
	getrusage(RUSAGE_SELF, &ru);
	getloadavg(load, 3);
	printf("{\"mode\":\"%s\",\"hosts\":%d,\"concurrency\":%d,\"within_s\":%.0f,\"changed_pct\":%d,\"events_pct\":%d,"
	       "\"requests\":%ld,\"errors\":%ld,\"seconds\":%.2f,"
	       "\"per_second\":%.1f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"client_late_max_ms\":%.1f,"
	       "\"client_cpu_s\":%.2f,\"load1\":%.1f}\n",
	       mode, g.hosts, g.conc, g.within, g.changed_pct, g.events_pct, n, atomic_load(&g.errors), elapsed, n / elapsed,
	       n ? g.lat[n / 2] * 1e3 : 0, n ? g.lat[n * 9 / 10] * 1e3 : 0, n ? g.lat[n * 99 / 100] * 1e3 : 0,
	       n ? g.lat[n - 1] * 1e3 : 0, atomic_load(&g.late_max_us) / 1e3,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6, load[0]);
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
		g.h[n++].restarts = g.restarts;
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
		{ "repeat", required_argument, NULL, 'r' }, { "within", required_argument, NULL, 'w' },
		{ "changed", required_argument, NULL, 'C' }, { "events", required_argument, NULL, 'E' },
		{ "restarts", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	double t;
	int c;

	while ((c = getopt_long(argc, argv, "u:t:e:n:s:c:i:d:r:w:C:E:R:", opts, NULL)) != -1) {
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
		case 'w': g.within = atof(optarg); break;
		case 'C': g.changed_pct = atoi(optarg); break;
		case 'E': g.events_pct = atoi(optarg); break;
		case 'R': g.restarts = atol(optarg); break;
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
		if (g.within > 0) {	/* every host at a random time within the window, in time order */
			unsigned seed = 42;

			g.order = calloc((size_t)g.hosts, sizeof(int));
			for (int i = 0; i < g.hosts; i++) {
				g.h[i].due = g.within * (rand_r(&seed) / ((double)RAND_MAX + 1));
				g.order[i] = i;
			}
			qsort(g.order, (size_t)g.hosts, sizeof(int), cmp_due);
		}
		t = g.t0 = now();
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
