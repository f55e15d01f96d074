/* SPDX-License-Identifier: MIT */
/*
 * The pieces of the source-diff driver (src/differ/driver.c) that read what
 * a build leaves behind: make dependency files, the wrapper's byte-exact
 * strings, and paths folded and made relative to a scratch copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "differ/builddir.h"
#include "differ/driver.h"
#include "shared/x86.h"
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

struct entries {
	char v[8][3][64];
	int n;
};

static int entry(void *ud, const char *name, const char *type, const char *value)
{
	struct entries *e = ud;

	if (e->n < 8) {
		hp_strlcpy(e->v[e->n][0], name, 64);
		hp_strlcpy(e->v[e->n][1], type, 64);
		hp_strlcpy(e->v[e->n][2], value, 64);
		e->n++;
	}
	return 0;
}

static int stop_entry(void *ud, const char *name, const char *type, const char *value)
{
	(void)ud;
	(void)name;
	(void)type;
	(void)value;
	return -ECANCELED;
}

/* CMakeCache.txt: comments and help lines skipped, quoted names, values with '=' and ':', junk ignored. */
static void test_cmake_cache(void)
{
	static const char c[] = "# This is the CMakeCache file.\n//Choose the type of build\r\n"
				"CMAKE_BUILD_TYPE:STRING=None\r\n"
				"CMAKE_C_FLAGS:STRING=-g -O2 -D_FORTIFY_SOURCE=2\n"
				"\"NAME WITH SPACE\":BOOL=ON\n"
				"NO_TYPE=a:b=c\n"
				"no equals sign\n=no name\n:T=no name\n"
				"\"\":STRING=empty name\n"
				"FOO:INTERNAL=1";
	static const char nul[] = "A:STRING=1\nB:STRING=\0x\nC:BOOL=OFF\n";
	struct entries e = { 0 };

	tap_is_int(hp_bdir_cmake_cache_parse(c, strlen(c), entry, &e), 5, "cmake cache: five entries");
	tap_ok(!strcmp(e.v[0][0], "CMAKE_BUILD_TYPE") && !strcmp(e.v[0][1], "STRING") && !strcmp(e.v[0][2], "None"),
	       "cmake cache: CRLF line, NAME:TYPE=VALUE");
	tap_ok(!strcmp(e.v[1][2], "-g -O2 -D_FORTIFY_SOURCE=2"), "cmake cache: '=' inside the value");
	tap_ok(!strcmp(e.v[2][0], "NAME WITH SPACE") && !strcmp(e.v[2][1], "BOOL"), "cmake cache: quoted name");
	tap_ok(!strcmp(e.v[3][0], "NO_TYPE") && !strcmp(e.v[3][1], "") && !strcmp(e.v[3][2], "a:b=c"),
	       "cmake cache: no type, ':' and '=' in the value");
	tap_ok(!strcmp(e.v[4][0], "FOO") && !strcmp(e.v[4][1], "INTERNAL"), "cmake cache: last line without newline");
	memset(&e, 0, sizeof(e));
	tap_is_int(hp_bdir_cmake_cache_parse(nul, sizeof(nul) - 1, entry, &e), 2, "cmake cache: a line with NUL skipped");
	tap_is_int(hp_bdir_cmake_cache_parse(c, strlen(c), stop_entry, &e), -ECANCELED, "cmake cache: callback error returned");
}

/* Which 32-bit absolute forms the engine widens (and the builder lets through). */
static void test_abs32(void)
{
	static const struct {
		uint8_t b[12];
		size_t len, field;
		enum x86_abs32_kind want;
		const char *what;
	} v[] = {
		{ { 0xb8, 0, 0, 0, 0 }, 5, 1, X86_ABS32_MOV, "mov $sym,%eax" },
		{ { 0x41, 0xb9, 0, 0, 0, 0 }, 6, 2, X86_ABS32_MOV, "mov $sym,%r9d" },
		{ { 0x48, 0xc7, 0xc7, 0, 0, 0, 0 }, 7, 3, X86_ABS32_MOV, "mov $sym,%rdi (sign-extended)" },
		{ { 0x48, 0x8b, 0x04, 0xfd, 0, 0, 0, 0 }, 8, 4, X86_ABS32_TABLE, "mov sym(,%rdi,8),%rax" },
		{ { 0x48, 0xc7, 0x07, 0, 0, 0, 0 }, 7, 3, X86_ABS32_NONE, "movq $sym,(%rdi): a store" },
		{ { 0x68, 0, 0, 0, 0 }, 5, 1, X86_ABS32_NONE, "push $sym" },
		{ { 0xff, 0x24, 0xc5, 0, 0, 0, 0 }, 7, 3, X86_ABS32_NONE, "jmp *sym(,%rax,8): control leaves" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct x86_insn in;
		struct x86_abs32 f;

		tap_ok(x86_decode(v[i].b, v[i].len, &in) == 0 && in.len == v[i].len &&
			       x86_abs32_form(v[i].b, &in, v[i].field, &f) == v[i].want,
		       "abs32: %s", v[i].what);
	}
}

int main(void)
{
	test_cmake_cache();
	test_abs32();
	test_deps();
	test_rel();
	test_log_bytes();
	return tap_exit();
}
