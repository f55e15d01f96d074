/* SPDX-License-Identifier: MIT */
/*
 * The server's request validation as a fuzz target (src/server/api/validate.c):
 * what hotpatch-server does with a request body or URL before it touches the
 * database.  Shared by the libFuzzer harness (fuzz-request.c) and the replay
 * unit test (tests/unit/test-fuzz-request.c).
 *
 * The first byte of the input picks what the rest is:
 *   'r' (and anything else)  a check-in report body (docs/report.md)
 *   'p'                      a policy document (docs/policy.md)
 *   'u'                      a request path, matched against route patterns
 * Invariants (abort() when broken): a valid report summarises and digests;
 * its digest ignores the events and the two timestamps and survives a
 * round trip through text; a valid document is still valid after a round
 * trip; a matched path's parameters are non-empty, hold no '/', and put
 * back into the pattern give the path again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "request-target.h"

/* Parse as the server does (hs_body_object): an object, no duplicate keys. */
static json_t *parse(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The same value, printed and parsed again (what a client that re-sends it would send). */
static json_t *round_trip(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_t *k = s ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL;

	free(s);
	if (!k)
		abort();
	return k;
}

/* A check-in report: validated, then (when valid) summarised and digested three ways that must agree. */
static int report(const uint8_t *data, size_t size)
{
	json_t *rep = parse(data, size), *k;
	struct hs_host_sum sum;
	const char *what, *state, *reason;
	char d1[65], d2[65], d3[65];

	if (!rep)
		return -EINVAL;
	if (!hs_report_valid(rep, &what)) {
		json_decref(rep);
		if (!what || !*what)
			abort();
		return -EINVAL;
	}
	hs_report_summarise(rep, &sum);
	state = hs_host_state(&sum, false, 0, 0, &reason);
	if (!state || !sum.verdict || sum.patched < 0 || sum.restart < 0)
		abort();
	hs_report_digest(rep, d1);
	k = round_trip(rep);
	if (!hs_report_valid(k, &what))
		abort();
	hs_report_digest(k, d2);
	json_object_set_new(k, "events", json_array());
	if (json_is_object(json_object_get(k, "host")))
		json_object_set_new(json_object_get(k, "host"), "time", json_string("2000-01-01T00:00:00Z"));
	hs_report_digest(k, d3);
	if (strcmp(d1, d2) || strcmp(d1, d3) || strlen(d1) != 64)
		abort();
	json_decref(k);
	json_decref(rep);
	return 0;
}

/* A policy document: validated; a valid one stays valid after a round trip. */
static int policy(const uint8_t *data, size_t size)
{
	json_t *d = parse(data, size), *k;
	const char *what;

	if (!d)
		return -EINVAL;
	if (!hs_policy_valid(d, &what)) {
		json_decref(d);
		return -EINVAL;
	}
	k = round_trip(d);
	if (!hs_policy_valid(k, &what))
		abort();
	json_decref(k);
	json_decref(d);
	return 0;
}

static const char *const patterns[] = {
	"/api/v1/hosts/{id}", "/api/v1/hosts/{id}/processes", "/api/v1/groups/{name}/policy",
	"/api/v1/releases/{id}/halt", "/api/v1/reports/cves/{cve}", "/api/v1/{a}/{b}/{c}/{d}/{e}", "/api/v1/checkin",
};

/* Put the parameters back into the pattern: must give the path again. */
static void check_match(const char *pattern, const char *url, const char *params[4])
{
	char back[1024];
	size_t o = 0;
	int n = 0;

	for (const char *p = pattern; *p;) {
		if (*p == '{') {
			size_t l = strlen(params[n]);

			if (!l || strchr(params[n], '/') || o + l >= sizeof(back))
				abort();
			memcpy(back + o, params[n++], l);
			o += l;
			p = strchr(p, '}') + 1;
		} else {
			if (o + 1 >= sizeof(back))
				abort();
			back[o++] = *p++;
		}
	}
	back[o] = 0;
	if (strcmp(back, url))
		abort();
}

/* A request path against every pattern, with buffers of several sizes. */
static int url(const uint8_t *data, size_t size)
{
	char *u = malloc(size + 1);
	int matched = 0;

	if (!u)
		return -ENOMEM;
	memcpy(u, data, size);
	u[size] = 0;
	if (strlen(u) != size || size > 900) {	/* MHD hands us a C string; ours are short */
		free(u);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		/* exactly the room the matcher may use, so ASan sees any overrun */
		for (size_t room = 1; room <= 512; room *= 8) {
			char *buf = malloc(room);
			const char *params[4] = { 0 };

			if (!buf)
				break;
			if (hs_route_match(patterns[i], u, buf, room, params)) {
				check_match(patterns[i], u, params);
				matched = 1;
			}
			free(buf);
		}
	}
	free(u);
	return matched ? 0 : -ENOENT;
}

/* The first byte picks the kind of request (see the top of this file). */
int hs_fuzz_request(const uint8_t *data, size_t size)
{
	if (!size)
		return -EINVAL;
	switch (data[0]) {
	case 'p':
		return policy(data + 1, size - 1);
	case 'u':
		return url(data + 1, size - 1);
	default:
		return report(data + 1, size - 1);
	}
}
