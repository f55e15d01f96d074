/* SPDX-License-Identifier: MIT */
/*
 * The fuzz target of the source-diff flow's parsers (src/differ/diffparse.c
 * and the make dependency reader of src/differ/driver.c): hostile diffs and
 * dependency files must be refused cleanly, and what is accepted must keep
 * the invariants the driver relies on.  Shared by the libFuzzer harness
 * (fuzz-diff.c) and the replay in test-diffparse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "differ/builddir.h"
#include "differ/diffparse.h"
#include "differ/driver.h"

/* A stripped path must stay inside the tree: relative, no "." or ".." or empty components. */
static void check_stripped(const char *p)
{
	const char *s = p;

	CHECK(p[0] && p[0] != '/');
	while (*s) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);

		CHECK(n > 0);
		CHECK(!(n == 1 && s[0] == '.'));
		CHECK(!(n == 2 && s[0] == '.' && s[1] == '.'));
		s = *e ? e + 1 : e;
		CHECK(!(*e && !*s));
	}
}

/* Each prerequisite is a non-empty name without a newline or a tab. */
static int dep_token(void *ud, const char *path)
{
	(void)ud;
	CHECK(path[0] != 0);
	CHECK(!strpbrk(path, "\t\n"));	/* an escaped space is part of a name */
	return 0;
}

/* A CMakeCache.txt entry: a non-empty name, no line break anywhere (each becomes one argument). */
static int cache_entry(void *ud, const char *name, const char *type, const char *value)
{
	(void)ud;
	CHECK(name[0] != 0);
	CHECK(!strpbrk(name, "\n") && !strpbrk(type, "\n=") && !strchr(value, '\n'));
	return 0;
}

/* See fuzz.h. */
int hp_fuzz_diff(const uint8_t *data, size_t size)
{
	struct hp_ctx *ctx = NULL;
	struct hp_diff d;
	_cleanup_free_ char *text = NULL;
	size_t i, k;
	unsigned p;
	int r;

	if (hp_ctx_new(&ctx) < 0)
		return -ENOMEM;
	r = hp_diff_parse(ctx, (const char *)data, size, &d);
	if (r == 0) {
		CHECK(d.nfiles > 0);
		for (i = 0; i < d.nfiles; i++) {
			const struct hp_diff_file *f = &d.files[i];

			CHECK(f->old_path || f->new_path);
			CHECK(f->off < size && f->len > 0 && f->off + f->len <= size);
			CHECK(f->line >= 1);
			if (i)
				CHECK(f->off >= d.files[i - 1].off + d.files[i - 1].len);
			for (k = 0; k < f->nhunks; k++) {
				CHECK(f->hunks[k].header && !strncmp(f->hunks[k].header, "@@ -", 4));
				CHECK(f->hunks[k].line > f->line || (f->hunks[k].line >= f->line));
				if (k)
					CHECK(f->hunks[k].line > f->hunks[k - 1].line);
			}
			for (p = 0; p < 4; p++) {
				const char *names[2] = { f->old_path, f->new_path };

				for (k = 0; k < 2; k++) {
					char *s = NULL;

					if (!names[k])
						continue;
					r = hp_diff_strip(names[k], p, &s);
					CHECK(r == 0 || r == -ENOENT || r == -EINVAL);
					if (r == 0)
						check_stripped(s);
					CHECK(r == 0 || !s);
					free(s);
				}
			}
		}
		hp_diff_release(&d);
		r = 0;
	} else {
		CHECK(r == -EINVAL || r == -ENODATA || r == -EFBIG);
		CHECK(hp_ctx_errmsg(ctx)[0]);
	}
	/* the same bytes as a make dependency file, a CMakeCache.txt, and a path to fold */
	CHECK(hp_driver_parse_deps((const char *)data, size, dep_token, NULL) >= 0);
	CHECK(hp_bdir_cmake_cache_parse((const char *)data, size, cache_entry, NULL) >= 0);
	text = strndup((const char *)data, size);
	if (text && text[0]) {
		_cleanup_free_ char *rel = hp_driver_rel("/root/tree", "/root/tree/sub", text);
		_cleanup_free_ char *bytes = hp_driver_log_bytes(text);

		CHECK(rel != NULL);
		CHECK(!strstr(rel, "/./") && !strstr(rel, "/../") && !strstr(rel, "//"));
		(void)bytes;
	}
	hp_ctx_free(ctx);
	return r;
}
