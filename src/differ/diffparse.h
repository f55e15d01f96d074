/* SPDX-License-Identifier: MIT */
/*
 * A reader of unified diffs (GNU diff, git, quilt/Debian patches) for the
 * source-diff flow of `hotpatch build`: which files a fix touches and where
 * each file's part of the diff and each hunk lie, so the driver can keep the
 * parts for compiled files, hand them to patch(1), and name a failing hunk.
 * The input is hostile: every count is checked, nothing is trusted.
 */
#ifndef HP_BUILD_DIFFPARSE_H
#define HP_BUILD_DIFFPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/core/internal.h"

#define HP_DIFF_MAX_SIZE (64u << 20)

struct hp_diff_hunk {
	unsigned long old_start, old_len, new_start, new_len;
	size_t line;			/* line of its "@@" header in the diff (1-based) */
	char *header;			/* the "@@ ... @@" part, without trailing context text */
};

struct hp_diff_file {
	char *old_path;			/* as written (unquoted, no timestamp); NULL for /dev/null */
	char *new_path;			/* NULL for /dev/null (a deleted file) */
	size_t off, len;		/* this file's part of the diff: headers and hunks */
	size_t line;			/* line of its first header line (1-based) */
	struct hp_diff_hunk *hunks;
	size_t nhunks;
	bool binary;			/* a binary change (git "Binary files" / "GIT binary patch") */
	bool git;			/* has a "diff --git" header (paths carry a/ b/) */
};

struct hp_diff {
	struct hp_diff_file *files;
	size_t nfiles;
};

/*
 * Parse buf (len bytes, need not be NUL-terminated).  Returns 0 and fills
 * ret (release with hp_diff_release), or -EINVAL with a message naming the
 * line when the text is not a unified diff or a hunk is malformed or cut
 * short.  Text outside file parts (mail headers, DEP-3 fields) is ignored.
 * A diff that touches no file is -ENODATA.
 */
int hp_diff_parse(struct hp_ctx *ctx, const char *buf, size_t len, struct hp_diff *ret);
void hp_diff_release(struct hp_diff *d);

/*
 * The path with its first `strip` components removed (patch -pN), with
 * "./" and repeated slashes folded.  Returns 0 and a new string, -ENOENT
 * when the path has too few components, or -EINVAL when the result would
 * leave the tree (absolute, or a ".." component).
 */
int hp_diff_strip(const char *path, unsigned strip, char **ret);

#endif
