/* SPDX-License-Identifier: MIT */
/*
 * Replay the fuzz seed corpus and every saved crashing input through the
 * same targets the libFuzzer harnesses run (tests/fuzz/targets.c), with the
 * normal compiler, so a bug found once by fuzzing stays fixed without clang.
 *
 *   test-fuzz-replay FUZZ_DIR      (FUZZ_DIR = tests/fuzz in the source tree)
 *
 * FUZZ_DIR/regressions/<target>/ and FUZZ_DIR/seeds/<target>/ hold inputs
 * for the target of that name (patch, manifest, maps, verify).  The
 * generated corpus is also checked for what it must be: every seed valid,
 * signed seeds verifying and unsigned ones refused as unsigned.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpatch/hotpatch.h"
#include "shared/util.h"
#include "../fuzz/fuzz.h"
#include "tap.h"

typedef int (*target_fn)(const uint8_t *data, size_t size);

static const struct {
	const char *name;
	target_fn fn;
} targets[] = {
	{ "patch", hp_fuzz_patch },
	{ "manifest", hp_fuzz_manifest },
	{ "maps", hp_fuzz_maps },
	{ "buildid", hp_fuzz_buildid },
	{ "verify", hp_fuzz_verify },
	{ "policy", hp_fuzz_policy },
	{ "index", hp_fuzz_index },
};

static int not_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/*
 * Run every file of dir through fn: one TAP line per file for regressions,
 * one per directory for corpora.  Surviving is the test; the targets
 * abort() on a broken invariant.
 */
static void replay_dir(const char *dir, target_fn fn, const char *what, bool per_file)
{
	struct dirent **ents = NULL;
	int n, i, done = 0, failed = 0;

	n = scandir(dir, &ents, not_hidden, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return;
		tap_ok(0, "%s: cannot read %s: %s", what, dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		char *buf = NULL;
		size_t len = 0;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		ents[i] = NULL;
		/* A file that crashed the target would end this process; name it first. */
		printf("# %s: %s\n", what, path);
		fflush(stdout);
		r = hp_read_file(path, 128u << 20, &buf, &len);
		if (r == -EISDIR)
			continue;
		if (r < 0) {
			failed++;
			printf("#   cannot read: %s\n", strerror(-r));
			continue;
		}
		r = fn((const uint8_t *)buf, len);
		free(buf);
		done++;
		if (per_file)
			tap_ok(1, "%s %s replayed (%s)", what, path, r < 0 ? hp_strerror(r) : "accepted");
	}
	free(ents);
	if (!per_file)
		tap_ok(failed == 0, "%s: %d inputs in %s replayed", what, done, dir);
}

/* The generated corpus is not just crash-free: it is what it claims to be. */
static void check_generated(const char *dir)
{
	static const char *const names[] = { "minimal", "relocs", "rich", "many" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *buf = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/patch/%s.hpatch", dir, names[i]);
		if (!tap_ok(hp_read_file(path, 1 << 24, &buf, &len) == 0, "seed %s generated", names[i]))
			continue;
		tap_is_int(hp_fuzz_patch((uint8_t *)buf, len), 0, "unsigned seed is a valid patch");
		tap_is_int(hp_fuzz_verify((uint8_t *)buf, len), -HP_E_UNSIGNED, "unsigned seed verifies as unsigned");
		free(buf);
		buf = NULL;
		snprintf(path, sizeof(path), "%s/patch/%s-signed.hpatch", dir, names[i]);
		if (!tap_ok(hp_read_file(path, 1 << 24, &buf, &len) == 0, "signed seed %s generated", names[i]))
			continue;
		tap_is_int(hp_fuzz_patch((uint8_t *)buf, len), 0, "signed seed is a valid patch");
		tap_is_int(hp_fuzz_verify((uint8_t *)buf, len), 0, "signed seed verifies against the test key");
		free(buf);
		snprintf(path, sizeof(path), "%s/manifest/manifest-%zu.json", dir, i);
		buf = NULL;
		if (hp_read_file(path, 1 << 20, &buf, &len) == 0)
			tap_is_int(hp_fuzz_manifest((uint8_t *)buf, len), 0, "seed manifest is valid");
		free(buf);
	}
}

int main(int argc, char **argv)
{
	char tmp[256], path[PATH_MAX], cmd[PATH_MAX + 16];
	size_t t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FUZZ_DIR\n", argv[0]);
		return 2;
	}
	hp_fuzz_init();
	snprintf(tmp, sizeof(tmp), "%s/hp-replay.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	tap_is_int(hp_fuzz_write_corpus(tmp), 0, "generate the seed corpus");
	check_generated(tmp);
	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		/* The generated patches feed both file targets. */
		const char *gen = !strcmp(targets[t].name, "verify") ? "patch" : targets[t].name;

		snprintf(path, sizeof(path), "%s/%s", tmp, gen);
		replay_dir(path, targets[t].fn, targets[t].name, false);
		snprintf(path, sizeof(path), "%s/seeds/%s", argv[1], gen);
		replay_dir(path, targets[t].fn, targets[t].name, false);
		snprintf(path, sizeof(path), "%s/regressions/%s", argv[1], targets[t].name);
		replay_dir(path, targets[t].fn, targets[t].name, true);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return tap_exit();
}
