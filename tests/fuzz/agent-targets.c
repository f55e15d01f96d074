/* SPDX-License-Identifier: MIT */
/*
 * Fuzz targets for the agent's parsers (see fuzz.h): the policy document
 * (a local file, or pushed by the control server) and the repository index
 * (downloaded; parsed only after its signature verified, but a signing key
 * can leak and a mirror can serve anything signed once).  Both must refuse
 * bad input cleanly and keep their invariants for everything they accept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fuzz.h"
#include "agent/policy.h"
#include "agent/repo.h"
#include "agent/store.h"
#include "hotpatch/hotpatch.h"
#include "shared/util.h"

/* Times the decisions are asked at: epoch, a DST change in Europe, a leap day, far future. */
static const time_t probe_times[] = { 0, 1711846800, 1709164800, 1900000000, 4102444800 };

/* Every decision the daemon takes from an accepted policy, at a few instants. */
static void exercise(const struct policy *p)
{
	static const char *const cls[] = { "critical", "security", "other", "", "CRITICAL" };
	size_t i, k;

	for (i = 0; i < sizeof(probe_times) / sizeof(probe_times[0]); i++) {
		time_t now = probe_times[i], end = 0, next;
		bool in = policy_in_window(p, now, &end);

		CHECK(!in || end == 0 || end > now);
		next = policy_next_window(p, now);
		CHECK(!in || p->nwindows == 0 || next == now);
		CHECK(next == 0 || next >= now);
		for (k = 0; k < sizeof(cls) / sizeof(cls[0]); k++) {
			struct policy_patch pp = { .classification = cls[k], .release_time = now - 86400 * (time_t)k,
						   .assigned = k & 1 };
			char reason[256];
			time_t when = 0;
			enum policy_verdict v = policy_decide(p, &pp, now, &when, reason, sizeof(reason));

			CHECK(v == POLICY_APPLY || v == POLICY_WAIT || v == POLICY_DENY);
			CHECK(memchr(reason, 0, sizeof(reason)) != NULL);
			CHECK(v != POLICY_WAIT || when == 0 || when > now);
		}
	}
	(void)policy_may_restart(p, "postgresql.service");
	(void)policy_may_restart(p, "");
}

int hp_fuzz_policy(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL), *j1, *j2;
	struct policy p, q;
	char err[256];
	int r;

	if (!j)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	r = policy_parse(j, &p, err, sizeof(err));
	json_decref(j);
	if (r < 0) {
		CHECK(memchr(err, 0, sizeof(err)) && err[0]);	/* a refusal says why */
		return r;
	}
	CHECK(p.nwindows <= POLICY_MAX_WINDOWS);
	exercise(&p);
	/* What the daemon reports (status, report.json) parses back to the same policy. */
	j1 = policy_to_json(&p);
	CHECK(j1);
	memset(&q, 0, sizeof(q));
	CHECK(policy_parse(j1, &q, err, sizeof(err)) == 0);
	j2 = policy_to_json(&q);
	CHECK(j2 && json_equal(j1, j2));
	json_decref(j1);
	json_decref(j2);
	policy_release(&q);
	policy_release(&p);
	return 0;
}

static void entries(json_t *arr, const char *base, const char *dir)
{
	size_t i;

	for (i = 0; i < json_array_size(arr) && i < 2000; i++) {
		json_t *e = json_array_get(arr, i);
		const char *rel = json_string_value(json_object_get(e, "url"));
		char url[4096];
		size_t max = 0;

		if (repo_entry_check(e, base, url, sizeof(url), &max) < 0)
			continue;
		CHECK(rel && max >= 1 && max <= STORE_PATCH_MAX);
		CHECK(hp_valid_id(json_string_value(json_object_get(e, "patch_id"))));
		CHECK(strlen(json_string_value(json_object_get(e, "sha256"))) == 64);
		/* a relative url never leaves the repository's directory */
		if (!strstr(rel, "://"))
			CHECK(!strncmp(url, dir, strlen(dir)) && !strstr(url + strlen(dir), ".."));
	}
}

int hp_fuzz_index(const uint8_t *data, size_t size)
{
	unsigned long long serial = 0;
	time_t until = 0;
	json_t *j = NULL;
	int r;

	r = repo_index_parse((const char *)data, size, &serial, &until, &j);
	if (r < 0) {
		CHECK(j == NULL);
		return r;
	}
	CHECK(j && serial > 0 && json_is_array(json_object_get(j, "patches")));
	CHECK(json_array_size(json_object_get(j, "patches")) <= REPO_INDEX_ENTRIES_MAX);
	entries(json_object_get(j, "patches"), "https://repo.example/hotpatch/index.json", "https://repo.example/hotpatch/");
	entries(json_object_get(j, "patches"), "file:///srv/repo/index.json", "file:///srv/repo/");
	json_decref(j);
	return 0;
}
