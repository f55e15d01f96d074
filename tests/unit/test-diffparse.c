/* SPDX-License-Identifier: MIT */
/*
 * The unified diff reader of the source-diff flow (src/differ/diffparse.c):
 * GNU, git and quilt/Debian shapes, the counts that end a hunk, refusals
 * that name the line, path stripping that never leaves the tree.  Then the
 * fuzz seeds and saved crashing inputs (tests/fuzz/{seeds,regressions}/diff)
 * through the same target the libFuzzer harness runs.
 *
 *   test-diffparse FUZZ_DIR
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "differ/diffparse.h"
#include "../fuzz/fuzz.h"
#include "tap.h"

static struct hp_ctx *ctx;

static int parse(const char *text, struct hp_diff *d)
{
	return hp_diff_parse(ctx, text, strlen(text), d);
}

/* The file's part of the diff, as a string. */
static char *part(const char *text, const struct hp_diff_file *f)
{
	return strndup(text + f->off, f->len);
}

static void test_gnu(void)
{
	static const char text[] = "Some words before the diff.\n"
				   "--- lib/a.c\t2024-01-01 10:00:00.000000000 +0100\n"
				   "+++ lib/a.c\t2024-01-02 10:00:00.000000000 +0100\n"
				   "@@ -1,3 +1,4 @@ int f(void)\n"
				   " a\n"
				   "-b\n"
				   "+B\n"
				   "+C\n"
				   " c\n"
				   "@@ -10 +11 @@\n"
				   "-x\n"
				   "+y\n"
				   "trailing words\n";
	struct hp_diff d;
	char *p;

	tap_is_int(parse(text, &d), 0, "gnu: parses");
	tap_is_int(d.nfiles, 1, "gnu: one file");
	tap_is_str(d.files[0].old_path, "lib/a.c", "gnu: timestamp cut from the old name");
	tap_is_str(d.files[0].new_path, "lib/a.c", "gnu: and from the new name");
	tap_is_int(d.files[0].nhunks, 2, "gnu: two hunks");
	tap_is_int(d.files[0].hunks[0].old_start, 1, "gnu: hunk 1 old start");
	tap_is_int(d.files[0].hunks[0].new_len, 4, "gnu: hunk 1 new length");
	tap_is_str(d.files[0].hunks[0].header, "@@ -1,3 +1,4 @@", "gnu: header without its context text");
	tap_is_int(d.files[0].hunks[1].old_len, 1, "gnu: a missing count means 1");
	tap_is_int(d.files[0].hunks[1].line, 10, "gnu: hunk 2 is on line 10");
	tap_is_int(d.files[0].line, 2, "gnu: the file starts on line 2");
	p = part(text, &d.files[0]);
	tap_ok(p && !strncmp(p, "--- lib/a.c", 11) && strstr(p, "+y\n") && !strstr(p, "trailing"),
	       "gnu: the file's part spans its headers and hunks, not the words after");
	free(p);
	hp_diff_release(&d);
}

static void test_git(void)
{
	static const char text[] = "From 1234 Mon Sep 17 00:00:00 2001\n"
				   "Subject: [PATCH] fix\n"
				   "---\n"
				   " a.c | 2 +-\n"
				   "\n"
				   "diff --git a/a.c b/a.c\n"
				   "index 1111111..2222222 100644\n"
				   "--- a/a.c\n"
				   "+++ b/a.c\n"
				   "@@ -1,2 +1,2 @@\n"
				   "--- a comment that starts with dashes\n"
				   "+++ and one with pluses\n"
				   " same\n"
				   "diff --git a/new.h b/new.h\n"
				   "new file mode 100644\n"
				   "--- /dev/null\n"
				   "+++ b/new.h\n"
				   "@@ -0,0 +1 @@\n"
				   "+#define NEW 1\n"
				   "\\ No newline at end of file\n"
				   "diff --git a/old name.c b/new name.c\n"
				   "similarity index 100%\n"
				   "rename from old name.c\n"
				   "rename to new name.c\n"
				   "diff --git a/img.png b/img.png\n"
				   "Binary files a/img.png and b/img.png differ\n"
				   "diff --git \"a/caf\\303\\251.c\" \"b/caf\\303\\251.c\"\n"
				   "--- \"a/caf\\303\\251.c\"\n"
				   "+++ \"b/caf\\303\\251.c\"\n"
				   "@@ -1 +1 @@\n"
				   "-a\n"
				   "+b\n"
				   "-- \n"
				   "2.39.2\n";
	struct hp_diff d;
	char *p;

	tap_is_int(parse(text, &d), 0, "git: parses");
	tap_is_int(d.nfiles, 5, "git: five files");
	tap_ok(d.files[0].git, "git: marked as git");
	tap_is_int(d.files[0].nhunks, 1, "git: removed/added lines that look like headers stay in the hunk");
	p = part(text, &d.files[0]);
	tap_ok(p && !strncmp(p, "diff --git a/a.c", 16) && strstr(p, " same\n"),
	       "git: the part starts at its diff --git line");
	free(p);
	tap_ok(!d.files[1].old_path && d.files[1].new_path && !strcmp(d.files[1].new_path, "b/new.h"),
	       "git: a new file has no old name");
	tap_is_str(d.files[2].old_path, "a/old name.c", "git: a pure rename: old name from the diff line");
	tap_is_str(d.files[2].new_path, "b/new name.c", "git: a pure rename: new name");
	tap_is_int(d.files[2].nhunks, 0, "git: a pure rename has no hunk");
	tap_ok(d.files[3].binary, "git: a binary file is marked");
	tap_is_str(d.files[4].old_path, "a/caf\xc3\xa9.c", "git: quoted names are unquoted");
	hp_diff_release(&d);
}

static void test_quilt_crlf(void)
{
	static const char text[] = "Description: a Debian patch\r\n"
				   "Index: pkg-1.0/src/x.c\r\n"
				   "===================================================================\r\n"
				   "--- pkg-1.0.orig/src/x.c\r\n"
				   "+++ pkg-1.0/src/x.c\r\n"
				   "@@ -5,3 +5,3 @@\r\n"
				   " a\r\n"
				   "\r\n"
				   "-c\r\n"
				   "+d\r\n";
	struct hp_diff d;
	char *p;

	tap_is_int(parse(text, &d), 0, "quilt: parses, CRLF and an emptied context line too");
	tap_is_str(d.files[0].new_path, "pkg-1.0/src/x.c", "quilt: new name");
	p = part(text, &d.files[0]);
	tap_ok(p && !strncmp(p, "Index: pkg-1.0/src/x.c", 22), "quilt: the part starts at Index:");
	free(p);
	hp_diff_release(&d);
}

/* Headers as people and tools write them (issue 16): spaces before the timestamp, quoted names, no newline. */
static void test_header_shapes(void)
{
	static const char text[] = "--- a/x.c     2024-03-01 10:00:00.000000000 +0100\n"
				   "+++ b/x.c     2024-03-02 11:00:00.123 -0500\n"
				   "@@ -1 +1 @@\n"
				   "-a\n"
				   "+b\n"
				   "\\ No newline at end of file\n"
				   "--- my file.c  Fri Mar  1 10:00:00 2024\n"
				   "+++ my file.c  Sat Mar 16 10:00:00 2024 +0000\n"
				   "@@ -1 +1 @@\n"
				   "-a\n"
				   "\\ No newline at end of file\n"
				   "+b\n"
				   "--- \"a/with space.c\"\t2024-03-01 10:00:00 +0100\n"
				   "+++ \"b/with space.c\"  2024-03-01 10:00:00\n"
				   "@@ -1 +1 @@\n"
				   "-a\n"
				   "+b\n"
				   "--- a/name 2024.c\n"
				   "+++ b/name 2024.c\n"
				   "@@ -1 +1 @@\n"
				   "-a\n"
				   "+b\n";
	static const char git[] = "diff --git a/m.c b/m.c\r\n"
				  "old mode 100644\r\n"
				  "new mode 100755\r\n"
				  "index 1111111..2222222\r\n"
				  "--- a/m.c\r\n"
				  "+++ b/m.c\r\n"
				  "@@ -1 +1 @@\r\n"
				  "-a\r\n"
				  "+b\r\n"
				  "diff --git a/gone.c b/gone.c\n"
				  "deleted file mode 100644\n"
				  "index 3333333..0000000\n"
				  "--- a/gone.c\n"
				  "+++ /dev/null\n"
				  "@@ -1 +0,0 @@\n"
				  "-a\n"
				  "diff --git a/r.c b/s.c\n"
				  "similarity index 90%\n"
				  "rename from r.c\n"
				  "rename to s.c\n"
				  "index 4444444..5555555 100644\n"
				  "--- a/r.c\n"
				  "+++ b/s.c\n"
				  "@@ -1 +1 @@\n"
				  "-a\n"
				  "+b\n"
				  "diff --git a/logo.png b/logo.png\n"
				  "index 6666666..7777777 100644\n"
				  "GIT binary patch\n"
				  "literal 3\n"
				  "KcmZ?wbPfOj0RRC2\n"
				  "\n"
				  "literal 0\n"
				  "HcmV?d00001\n"
				  "\n";
	struct hp_diff d;

	tap_is_int(parse(text, &d), 0, "shapes: parses");
	tap_is_int(d.nfiles, 4, "shapes: four files");
	tap_is_str(d.files[0].old_path, "a/x.c", "shapes: spaces, then an ISO timestamp, are not part of the name");
	tap_is_str(d.files[0].new_path, "b/x.c", "shapes: ... a short fraction and a negative zone too");
	tap_is_str(d.files[1].old_path, "my file.c", "shapes: a name with a space, then a ctime timestamp");
	tap_is_str(d.files[1].new_path, "my file.c", "shapes: ... with a zone");
	tap_is_int(d.files[1].nhunks, 1, "shapes: \"\\ No newline\" inside a hunk");
	tap_is_str(d.files[2].new_path, "b/with space.c", "shapes: a quoted name, timestamp after spaces");
	tap_is_str(d.files[3].new_path, "b/name 2024.c", "shapes: a name with a space and digits stays whole");
	hp_diff_release(&d);
	tap_is_int(parse(git, &d), 0, "git extended headers: parse (CRLF, mode, index, deleted, rename, binary)");
	tap_is_int(d.nfiles, 4, "git extended headers: four files");
	tap_is_str(d.files[0].new_path, "b/m.c", "git extended headers: a mode change with a hunk");
	tap_ok(d.files[1].old_path && !d.files[1].new_path, "git extended headers: a deleted file");
	tap_is_str(d.files[2].old_path, "a/r.c", "git extended headers: a rename with a hunk: old name");
	tap_is_str(d.files[2].new_path, "b/s.c", "git extended headers: ... new name");
	tap_ok(d.nfiles > 3 && d.files[3].binary, "git extended headers: a binary patch is marked binary");
	hp_diff_release(&d);
}

static void test_refusals(void)
{
	struct hp_diff d;

	tap_is_int(parse("hello\nworld\n", &d), -ENODATA, "not a diff: -ENODATA");
	tap_is_int(parse("--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n", &d), -EINVAL, "a hunk cut short: -EINVAL");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "line 3") != NULL, "  ... naming the hunk's line (%s)", hp_ctx_errmsg(ctx));
	tap_is_int(parse("--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\nX\n", &d), -EINVAL, "a foreign line inside a hunk");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "line 5") != NULL, "  ... names that line (%s)", hp_ctx_errmsg(ctx));
	tap_is_int(parse("--- a\n+++ b\n@@ -x +1 @@\n", &d), -EINVAL, "a malformed hunk header");
	tap_is_int(parse("@@ -1 +1 @@\n-a\n+b\n", &d), -EINVAL, "a hunk before any file");
	tap_is_int(parse("--- /dev/null\n+++ /dev/null\n", &d), -EINVAL, "/dev/null on both sides");
	tap_is_int(parse("--- \"a\\q\"\n+++ b\n", &d), -EINVAL, "a bad escape in a quoted name");
	tap_is_int(parse("--- a\n+++ b\n@@ -99999999999999999999 +1 @@\n", &d), -EINVAL, "an absurd line number");
}

static void test_strip(void)
{
	static const struct {
		const char *in;
		unsigned p;
		const char *out;
		int r;
	} cases[] = {
		{ "a/lib/x.c", 1, "lib/x.c", 0 },
		{ "a/lib/x.c", 0, "a/lib/x.c", 0 },
		{ "a//lib/./x.c", 1, "lib/x.c", 0 },
		{ "x.c", 1, NULL, -ENOENT },
		{ "/abs/x.c", 0, NULL, -EINVAL },
		{ "/abs/x.c", 1, "abs/x.c", 0 },
		{ "a/../../etc/passwd", 1, NULL, -EINVAL },
		{ "a/lib/..", 1, NULL, -EINVAL },
		{ "a/.", 1, NULL, -EINVAL },
		{ "pkg-1.0.orig/src/x.c", 1, "src/x.c", 0 },
		{ "", 0, NULL, -EINVAL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = NULL;
		int r = hp_diff_strip(cases[i].in, cases[i].p, &s);

		if (cases[i].r)
			tap_ok(r == cases[i].r && !s, "strip -p%u '%s': refused (%d)", cases[i].p, cases[i].in, r);
		else
			tap_ok(r == 0 && s && !strcmp(s, cases[i].out), "strip -p%u '%s' -> '%s' (got '%s')", cases[i].p,
			       cases[i].in, cases[i].out, s ? s : "(null)");
		free(s);
	}
}

static int not_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* The fuzz seeds and regressions through hp_fuzz_diff: surviving is the test. */
static void replay(const char *dir, bool must_parse)
{
	struct dirent **ents = NULL;
	int n, i;

	n = scandir(dir, &ents, not_hidden, alphasort);
	if (n < 0) {
		if (errno != ENOENT)
			tap_ok(0, "cannot read %s", dir);
		return;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		char *buf = NULL;
		size_t len;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		printf("# replay %s\n", path);
		fflush(stdout);
		r = hp_read_file(path, 16u << 20, &buf, &len);
		if (r == 0)
			r = hp_fuzz_diff((const uint8_t *)buf, len);
		if (must_parse && strstr(ents[i]->d_name, ".diff"))
			tap_is_int(r, 0, ents[i]->d_name);
		else
			tap_ok(1, "%s: survived (%d)", ents[i]->d_name, r);
		free(buf);
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX];

	if (hp_ctx_new(&ctx) < 0)
		return 1;
	test_gnu();
	test_git();
	test_quilt_crlf();
	test_header_shapes();
	test_refusals();
	test_strip();
	if (argc > 1) {
		snprintf(dir, sizeof(dir), "%s/seeds/diff", argv[1]);
		replay(dir, true);
		snprintf(dir, sizeof(dir), "%s/regressions/diff", argv[1]);
		replay(dir, false);
	}
	hp_ctx_free(ctx);
	return tap_exit();
}
