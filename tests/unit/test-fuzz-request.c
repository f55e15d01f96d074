/* SPDX-License-Identifier: MIT */
/*
 * hotpatch-server's request validation (src/server/api/validate.c) through
 * the fuzz target of tests/fuzz/request-target.c: every seed and every saved
 * regression input replayed (the target abort()s on a broken invariant),
 * and what the seeds must be: the agent's documented report and a full
 * policy accepted, the broken ones refused.
 *
 *   test-fuzz-request FUZZ_DIR      (FUZZ_DIR = tests/fuzz in the source tree)
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/util.h"
#include "../fuzz/request-target.h"
#include "tap.h"

static int not_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Replay every file of dir; a file named in want gets its expected result checked. */
static void replay(const char *dir)
{
	static const struct {
		const char *name;
		int accepted;
	} want[] = {
		{ "report-full", 1 }, { "report-empty", 1 }, { "report-bad-pid", 0 }, { "policy-full", 1 },
		{ "policy-bad-window", 0 }, { "url-host-processes", 1 }, { "url-cve", 1 }, { "url-empty-segment", 0 },
	};
	struct dirent **ents = NULL;
	int n, i;

	n = scandir(dir, &ents, not_hidden, alphasort);
	if (n < 0) {
		if (errno != ENOENT)
			tap_ok(0, "cannot read %s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX], *buf = NULL;
		size_t len = 0, k;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		printf("# %s\n", path);	/* an input that aborts is named before it does */
		fflush(stdout);
		if (hp_read_file(path, 8u << 20, &buf, &len) < 0) {
			tap_ok(0, "cannot read %s", path);
			free(ents[i]);
			continue;
		}
		r = hs_fuzz_request((const uint8_t *)buf, len);
		free(buf);
		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			if (!strcmp(want[k].name, ents[i]->d_name))
				break;
		if (k < sizeof(want) / sizeof(want[0]))
			tap_ok((r == 0) == want[k].accepted, "%s is %s (%d)", ents[i]->d_name,
			       want[k].accepted ? "accepted" : "refused", r);
		else
			tap_ok(1, "%s replayed (%s)", ents[i]->d_name, r == 0 ? "accepted" : "refused");
		free(ents[i]);
	}
	free(ents);
}

/* The target on a C string. */
static int req(const char *s)
{
	return hs_fuzz_request((const uint8_t *)s, strlen(s));
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	static const char huge_depth[] = "r[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[";

	if (argc != 2) {
		fprintf(stderr, "usage: %s FUZZ_DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/seeds/request", argv[1]);
	replay(path);
	snprintf(path, sizeof(path), "%s/regressions/request", argv[1]);
	replay(path);
	tap_ok(hs_fuzz_request((const uint8_t *)"", 0) < 0, "empty input refused");
	tap_ok(req(huge_depth) < 0, "not an object: refused");
	tap_ok(req("r{\"host\":{},\"processes\":[{\"pid\":1,\"targets\":[{\"state\":\"x\"}]}],"
		   "\"events\":[{\"id\":1,\"kind\":\"crash\"}]}") == 0,
	       "a minimal report with a process and an event is accepted");
	tap_ok(req("r{\"host\":{},\"processes\":[{\"pid\":1,\"targets\":[{}]}]}") < 0, "a target without a state is refused");
	tap_ok(req("r{\"host\":{\"hostname\":\"a\\u0000b\"}}") < 0, "a NUL inside a string is refused");
	tap_ok(req("r{\"host\":{},\"host\":{}}") < 0, "duplicate keys refused");
	tap_ok(req("u/api/v1/hosts/a/b") < 0, "a path no pattern matches");
	tap_ok(req("p{\"windows\":[{\"start\":\"02:00x\"}]}") < 0, "a window start with trailing junk is refused");
	return tap_exit();
}
