/* SPDX-License-Identifier: MIT */
/*
 * The pieces of the source-diff driver (src/differ/driver.c) that read what
 * a build leaves behind: make dependency files, the wrapper's byte-exact
 * strings, and paths folded and made relative to a scratch copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "differ/driver.h"
#include "tap.h"

struct toks {
	char v[16][128];
	int n;
};

static int collect(void *ud, const char *path)
{
	struct toks *t = ud;

	if (t->n < 16)
		hp_strlcpy(t->v[t->n++], path, sizeof(t->v[0]));
	return 0;
}

static int stop(void *ud, const char *path)
{
	(void)ud;
	(void)path;
	return -ECANCELED;
}

static void test_deps(void)
{
	static const char d1[] = "obj/x.o: src/x.c src/x.h \\\n  /usr/include/stdio.h dir/with\\ space.h \\\r\n"
				 " cost$$.h\n\nsrc/x.h:\n\n/usr/include/stdio.h:\n";
	static const char d2[] = "a.o b.o: c.c";
	static const char d3[] = "C:/x.o: y.c\n";
	struct toks t = { 0 };

	tap_is_int(hp_driver_parse_deps(d1, strlen(d1), collect, &t), 5, "deps: five prerequisites, phony targets skipped");
	tap_is_str(t.v[0], "src/x.c", "deps: the source first");
	tap_is_str(t.v[3], "dir/with space.h", "deps: an escaped space");
	tap_is_str(t.v[4], "cost$.h", "deps: $$ is a dollar");
	memset(&t, 0, sizeof(t));
	tap_is_int(hp_driver_parse_deps(d2, strlen(d2), collect, &t), 1, "deps: several targets, no newline at the end");
	tap_is_str(t.v[0], "c.c", "deps: its prerequisite");
	memset(&t, 0, sizeof(t));
	tap_is_int(hp_driver_parse_deps(d3, strlen(d3), collect, &t), 1, "deps: a colon inside a target name is not the separator");
	tap_is_str(t.v[0], "y.c", "deps: ... so the prerequisite is y.c");
	tap_is_int(hp_driver_parse_deps(d1, strlen(d1), stop, NULL), -ECANCELED, "deps: the callback's error is returned");
	tap_is_int(hp_driver_parse_deps("", 0, collect, &t), 0, "deps: empty");
}

static void test_rel(void)
{
	static const struct {
		const char *root, *cwd, *path, *want;
	} cases[] = {
		{ "/w/orig", "/w/orig", "x.c", "x.c" },
		{ "/w/orig", "/w/orig/build", "../src/./x.c", "src/x.c" },
		{ "/w/orig", "/w/orig/a", "/w/orig/b//c.h", "b/c.h" },
		{ "/w/orig", "/w/orig", "/usr/include/stdio.h", "/usr/include/stdio.h" },
		{ "/w/orig", "/w/orig", "../orig2/x.c", "/w/orig2/x.c" },
		{ "/w/orig", "/w/orig", "../../../../x.c", "/x.c" },
		{ "/w/orig/", "/w/orig", "x.c", "x.c" },
		{ "/w/orig", "/w/orig", "/w/orig", "/w/orig" },
		{ "/w/orig", "/", ".", "/" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r = hp_driver_rel(cases[i].root, cases[i].cwd, cases[i].path);

		tap_ok(r && !strcmp(r, cases[i].want), "rel: '%s' in '%s' -> '%s' (got '%s')", cases[i].path, cases[i].cwd,
		       cases[i].want, r ? r : "(null)");
		free(r);
	}
	tap_ok(hp_driver_rel("/w", NULL, "x.c") == NULL, "rel: a relative path without a directory");
	tap_ok(hp_driver_rel("/w", "/w", "") == NULL, "rel: an empty path");
}

static void test_log_bytes(void)
{
	char *s;

	s = hp_driver_log_bytes("plain/x.c");
	tap_is_str(s, "plain/x.c", "log: ASCII unchanged");
	free(s);
	s = hp_driver_log_bytes("caf\xc3\xa9");
	tap_is_str(s, "caf\xe9", "log: U+00E9 is the byte 0xe9 again");
	free(s);
	tap_ok(hp_driver_log_bytes("\xe2\x82\xac") == NULL, "log: a code point above U+00FF is refused");
	tap_ok(hp_driver_log_bytes("\xc3") == NULL, "log: a cut sequence is refused");
}

int main(void)
{
	test_deps();
	test_rel();
	test_log_bytes();
	return tap_exit();
}
