/* SPDX-License-Identifier: MIT */
/*
 * Unified diff reader (see diffparse.h).  A line-by-line state machine:
 * outside any file part, in a file's headers, or inside a hunk whose
 * remaining old/new line counts decide where it ends.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffparse.h"

struct rd {
	const char *buf;
	size_t len, pos, lineno;
	/* the current line */
	const char *l;
	size_t ll, loff;
};

/* Why: the input need not end in a newline or be NUL-terminated; every line is (pointer, length). */
static bool next_line(struct rd *r)
{
	const char *nl;

	if (r->pos >= r->len)
		return false;
	r->loff = r->pos;
	r->l = r->buf + r->pos;
	nl = memchr(r->l, '\n', r->len - r->pos);
	r->ll = nl ? (size_t)(nl - r->l) : r->len - r->pos;
	r->pos += r->ll + (nl ? 1 : 0);
	if (r->ll && r->l[r->ll - 1] == '\r')
		r->ll--;
	r->lineno++;
	return true;
}

/* Does the current line start with p?  Lines are not NUL-terminated. */
static bool starts(const struct rd *r, const char *p)
{
	size_t n = strlen(p);

	return r->ll >= n && !memcmp(r->l, p, n);
}

/* Peek: does the line after the current one start with p? */
static bool next_starts(const struct rd *r, const char *p)
{
	size_t n = strlen(p);

	return r->len - r->pos >= n && !memcmp(r->buf + r->pos, p, n);
}

/* Free what hp_diff_parse filled in; accepts a zeroed or released diff. */
void hp_diff_release(struct hp_diff *d)
{
	size_t i, k;

	if (!d)
		return;
	for (i = 0; i < d->nfiles; i++) {
		free(d->files[i].old_path);
		free(d->files[i].new_path);
		for (k = 0; k < d->files[i].nhunks; k++)
			free(d->files[i].hunks[k].header);
		free(d->files[i].hunks);
	}
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* Why: git quotes unusual names C-style ("a/f\303\251.c"); patch(1) wants the bytes. */
static int unquote(const char *s, size_t n, char **ret, size_t *used)
{
	_cleanup_free_ char *o = malloc(n + 1);
	size_t i = 1, k = 0;

	if (!o)
		return -ENOMEM;
	while (i < n && s[i] != '"') {
		char c = s[i++];

		if (c == '\\') {
			if (i >= n)
				return -EINVAL;
			c = s[i++];
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'r': c = '\r'; break;
			case 'v': c = '\v'; break;
			case '"': case '\\': break;
			default:
				if (c >= '0' && c <= '3' && i + 1 < n && s[i] >= '0' && s[i] <= '7' && s[i + 1] >= '0' &&
				    s[i + 1] <= '7') {
					c = (char)((c - '0') << 6 | (s[i] - '0') << 3 | (s[i + 1] - '0'));
					i += 2;
				} else {
					return -EINVAL;
				}
			}
		}
		if (!c)
			return -EINVAL;
		o[k++] = c;
	}
	if (i >= n)
		return -EINVAL;
	o[k] = 0;
	*used = i + 1;
	*ret = TAKE_PTR(o);
	return 0;
}

/* n digits at *p, advancing it. */
static bool digits(const char **p, const char *end, int n)
{
	for (; n > 0; n--, (*p)++)
		if (*p >= end || **p < '0' || **p > '9')
			return false;
	return true;
}

/* "HH:MM:SS" and an optional ".fraction". */
static bool clock_time(const char **p, const char *end)
{
	if (!digits(p, end, 2) || *p >= end || *(*p)++ != ':' || !digits(p, end, 2) || *p >= end || *(*p)++ != ':' ||
	    !digits(p, end, 2))
		return false;
	if (*p < end && **p == '.') {
		(*p)++;
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		while (*p < end && **p >= '0' && **p <= '9')
			(*p)++;
	}
	return true;
}

/*
 * Is [s, end) a timestamp as diff(1) writes them after a file name?
 * "2024-03-01 10:00:00.000000000 +0100" (-u), "Fri Mar  1 10:00:00 2024"
 * (-c, old diffs), each with an optional zone; trailing spaces allowed.
 */
static bool is_timestamp(const char *s, const char *end)
{
	const char *p = s;

	while (end > s && end[-1] == ' ')
		end--;
	if (digits(&p, end, 4)) {
		if (p >= end || *p++ != '-' || !digits(&p, end, 2) || p >= end || *p++ != '-' || !digits(&p, end, 2) ||
		    p >= end || *p++ != ' ' || !clock_time(&p, end))
			return false;
	} else {
		p = s;
		/* "Www Mmm dd HH:MM:SS YYYY": weekday and month are three letters, the day may be space-padded */
		if (end - p < 8 || p[3] != ' ' || p[7] != ' ')
			return false;
		p += 8;
		while (p < end && *p == ' ')
			p++;
		if (!digits(&p, end, 1))
			return false;
		if (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p >= end || *p++ != ' ' || !clock_time(&p, end) || p >= end || *p++ != ' ' || !digits(&p, end, 4))
			return false;
	}
	if (p < end) {
		if (*p++ != ' ' || p >= end || (*p != '+' && *p != '-'))
			return false;
		p++;
		if (!digits(&p, end, 4))
			return false;
	}
	return p == end;
}

/*
 * The path of a "--- " / "+++ " header line: up to a tab (timestamps
 * follow it), or up to spaces followed by a timestamp (diffs written by
 * hand or by tools that use spaces; GNU patch reads those too), or the
 * end; quoted names unquoted; NULL for /dev/null.
 */
static int header_path(const char *s, size_t n, char **ret)
{
	size_t end, used;
	char *p;
	int r;

	*ret = NULL;
	if (n && s[0] == '"') {
		r = unquote(s, n, &p, &used);
		if (r < 0)
			return r;
	} else {
		const char *tab = memchr(s, '\t', n);

		end = tab ? (size_t)(tab - s) : n;
		if (!tab) {
			size_t i;

			for (i = 1; i < n; i++)
				if (s[i] == ' ' && s[i - 1] != ' ') {
					size_t k = i;

					while (k < n && s[k] == ' ')
						k++;
					if (k < n && is_timestamp(s + k, s + n)) {
						end = i;
						break;
					}
				}
		}
		while (end && s[end - 1] == ' ')
			end--;
		if (!end)
			return -EINVAL;
		if (memchr(s, 0, end))
			return -EINVAL;
		p = strndup(s, end);
		if (!p)
			return -ENOMEM;
	}
	if (!strcmp(p, "/dev/null")) {
		free(p);
		return 0;
	}
	*ret = p;
	return 0;
}

/* A line number or count of a hunk header, bounded so later arithmetic cannot overflow. */
static int parse_num(const char **p, const char *end, unsigned long *ret)
{
	unsigned long v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (ULONG_MAX - 9) / 10 || v > 1ul << 40)
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s++ - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

/* "@@ -a[,b] +c[,d] @@": the two ranges (a missing count means 1). */
static int parse_hunk_header(const char *s, size_t n, struct hp_diff_hunk *h)
{
	const char *p = s + 3, *end = s + n;

	h->old_len = h->new_len = 1;
	if (p >= end || *p++ != '-' || parse_num(&p, end, &h->old_start) < 0)
		return -EINVAL;
	if (p < end && *p == ',') {
		p++;
		if (parse_num(&p, end, &h->old_len) < 0)
			return -EINVAL;
	}
	if (end - p < 2 || p[0] != ' ' || p[1] != '+')
		return -EINVAL;
	p += 2;
	if (parse_num(&p, end, &h->new_start) < 0)
		return -EINVAL;
	if (p < end && *p == ',') {
		p++;
		if (parse_num(&p, end, &h->new_len) < 0)
			return -EINVAL;
	}
	if (end - p < 3 || memcmp(p, " @@", 3))
		return -EINVAL;
	h->header = strndup(s, (size_t)(p + 3 - s));
	return h->header ? 0 : -ENOMEM;
}

/* Why: one place grows the file array, so the caller never sees a half-added file. */
static struct hp_diff_file *add_file(struct hp_diff *d, size_t *cap)
{
	if (HP_GROW(d->files, *cap, d->nfiles + 1) < 0)
		return NULL;
	memset(&d->files[d->nfiles], 0, sizeof(d->files[0]));
	return &d->files[d->nfiles++];
}

/*
 * The two paths of "diff --git a/X b/Y", used only when a git file part has
 * no ---/+++ lines (a rename, a mode change, a binary file).  Names with
 * spaces are ambiguous there; we accept the split where both halves are
 * equal after their first component, as git itself does.
 */
static int git_line_paths(const char *s, size_t n, char **ret_old, char **ret_new)
{
	size_t i;

	for (i = 1; i < n; i++) {
		size_t la = i, lb;
		const char *a = s, *b;

		if (s[i] != ' ')
			continue;
		b = s + i + 1;
		lb = n - i - 1;
		if (la >= 2 && lb >= 2 && la == lb && memchr(a, '/', la) && memchr(b, '/', lb)) {
			const char *sa = memchr(a, '/', la), *sb = memchr(b, '/', lb);

			if ((size_t)(a + la - sa) == (size_t)(b + lb - sb) && !memcmp(sa, sb, (size_t)(a + la - sa))) {
				*ret_old = strndup(a, la);
				*ret_new = strndup(b, lb);
				if (!*ret_old || !*ret_new)
					return -ENOMEM;
				return 0;
			}
		}
	}
	return -EINVAL;
}

/*
 * A git part without ---/+++ lines (a rename, a mode change, a binary
 * file): its names come from "rename from/to" (or "copy from/to"), else from
 * the "diff --git" line itself.
 */
static int add_git_only(struct hp_diff *d, size_t *cap, const char *git_line, size_t git_ll, char **ren_old,
			char **ren_new, size_t off, size_t line, size_t end, bool binary)
{
	struct hp_diff_file *f;
	char *op = NULL, *np = NULL;

	if (*ren_old && *ren_new) {
		op = TAKE_PTR(*ren_old);
		np = TAKE_PTR(*ren_new);
	} else if (git_line_paths(git_line, git_ll, &op, &np) < 0) {
		free(op);
		free(np);
		return 0;	/* names we cannot tell apart: nothing patch(1) could apply either */
	}
	f = add_file(d, cap);
	if (!f) {
		free(op);
		free(np);
		return -ENOMEM;
	}
	f->old_path = op;
	f->new_path = np;
	f->off = off;
	f->line = line;
	f->len = end - off;
	f->git = true;
	f->binary = binary;
	return 0;
}

/* See diffparse.h; the state machine is described at the top of this file. */
int hp_diff_parse(struct hp_ctx *ctx, const char *buf, size_t len, struct hp_diff *ret)
{
	struct rd r = { .buf = buf, .len = len };
	struct hp_diff d = { 0 };
	struct hp_diff_file *f = NULL;
	size_t cap = 0, hcap = 0, hdr_off = 0, hdr_line = 0;
	bool in_hdr = false, git_hdr = false, git_binary = false;
	const char *git_line = NULL;
	size_t git_ll = 0;
	char *ren_old = NULL, *ren_new = NULL;	/* "rename from/to" of the current git part */
	unsigned long rem_old = 0, rem_new = 0;
	int e;

	memset(ret, 0, sizeof(*ret));
	if (len > HP_DIFF_MAX_SIZE) {
		e = hp_err(ctx, -EFBIG, "diff: larger than %u MiB", HP_DIFF_MAX_SIZE >> 20);
		goto fail;
	}
	while (next_line(&r)) {
		if (rem_old || rem_new) {
			/* inside a hunk: the counts decide what the line is */
			char c = r.ll ? r.l[0] : ' ';

			if (c == ' ' && rem_old && rem_new) {
				rem_old--;
				rem_new--;
			} else if (c == '-' && rem_old) {
				rem_old--;
			} else if (c == '+' && rem_new) {
				rem_new--;
			} else if (c == '\\') {
				;	/* "\ No newline at end of file" */
			} else {
				e = hp_err(ctx, -EINVAL, "diff: line %zu: hunk at line %zu ends early (%lu old and %lu new lines missing)",
					   r.lineno, f->hunks[f->nhunks - 1].line, rem_old, rem_new);
				goto fail;
			}
			f->len = r.pos - f->off;
			continue;
		}
		if (starts(&r, "\\") && f && f->nhunks) {
			f->len = r.pos - f->off;
			continue;
		}
		if (starts(&r, "@@ ")) {
			struct hp_diff_hunk h = { 0 };

			if (!f) {
				e = hp_err(ctx, -EINVAL, "diff: line %zu: a hunk before any file header", r.lineno);
				goto fail;
			}
			if (parse_hunk_header(r.l, r.ll, &h) < 0) {
				free(h.header);
				e = hp_err(ctx, -EINVAL, "diff: line %zu: malformed hunk header", r.lineno);
				goto fail;
			}
			if (HP_GROW(f->hunks, hcap, f->nhunks + 1) < 0) {
				free(h.header);
				e = -ENOMEM;
				goto fail;
			}
			h.line = r.lineno;
			f->hunks[f->nhunks++] = h;
			rem_old = h.old_len;
			rem_new = h.new_len;
			f->len = r.pos - f->off;
			in_hdr = false;
			continue;
		}
		if (starts(&r, "--- ") && next_starts(&r, "+++ ")) {
			size_t off = in_hdr ? hdr_off : r.loff, line = in_hdr ? hdr_line : r.lineno;
			char *op = NULL, *np = NULL;
			int pr;

			pr = header_path(r.l + 4, r.ll - 4, &op);
			next_line(&r);
			if (pr == 0)
				pr = header_path(r.l + 4, r.ll - 4, &np);
			if (pr < 0 || (!op && !np)) {
				free(op);
				free(np);
				if (pr == -ENOMEM) {
					e = -ENOMEM;
					goto fail;
				}
				e = hp_err(ctx, -EINVAL, "diff: line %zu: malformed file name", r.lineno);
				goto fail;
			}
			f = add_file(&d, &cap);
			if (!f) {
				free(op);
				free(np);
				e = -ENOMEM;
				goto fail;
			}
			f->old_path = op;
			f->new_path = np;
			f->off = off;
			f->line = line;
			f->len = r.pos - off;
			f->git = git_hdr;
			f->binary = git_binary;
			hcap = 0;
			in_hdr = git_hdr = git_binary = false;
			git_line = NULL;
			zfree(ren_old);
			zfree(ren_new);
			continue;
		}
		if (starts(&r, "diff --git ") || starts(&r, "Index: ") || starts(&r, "diff ")) {
			if (in_hdr && git_hdr && git_line) {
				/* the previous git part had no ---/+++: a rename, mode change or binary file */
				e = add_git_only(&d, &cap, git_line, git_ll, &ren_old, &ren_new, hdr_off, hdr_line, r.loff,
						 git_binary);
				if (e < 0)
					goto fail;
				hcap = 0;
			}
			zfree(ren_old);
			zfree(ren_new);
			if (starts(&r, "diff --git ")) {
				/* a git part starts here, whatever came before */
				hdr_off = r.loff;
				hdr_line = r.lineno;
				git_hdr = true;
				git_binary = false;
				git_line = r.l + 11;
				git_ll = r.ll - 11;
			} else if (!in_hdr || git_hdr) {
				/* "Index:" then "diff -u ..." belong to one part: keep the first line */
				hdr_off = r.loff;
				hdr_line = r.lineno;
				git_hdr = false;
				git_line = NULL;
			}
			in_hdr = true;
			f = NULL;
			continue;
		}
		if (in_hdr && git_hdr && (starts(&r, "rename from ") || starts(&r, "rename to ") ||
					  starts(&r, "copy from ") || starts(&r, "copy to "))) {
			bool from = starts(&r, "rename from ") || starts(&r, "copy from ");
			size_t skip = starts(&r, "rename ") ? (from ? 12 : 10) : (from ? 10 : 8);
			char **slot = from ? &ren_old : &ren_new;
			char *p = NULL;

			free(*slot);
			*slot = NULL;
			if (r.ll > skip && !memchr(r.l + skip, 0, r.ll - skip) &&
			    asprintf(&p, "%s/%.*s", from ? "a" : "b", (int)(r.ll - skip), r.l + skip) < 0) {
				e = -ENOMEM;
				goto fail;
			}
			*slot = p;
			continue;
		}
		if (in_hdr && (starts(&r, "GIT binary patch") || starts(&r, "Binary files "))) {
			git_binary = true;
			continue;
		}
		if (f && starts(&r, "GIT binary patch")) {
			f->binary = true;
			continue;
		}
		/* anything else is commentary; a git header block keeps going until ---/+++ or the next diff */
		if (in_hdr && !git_hdr && !starts(&r, "=") && !starts(&r, "RCS file:") && !starts(&r, "retrieving "))
			in_hdr = false;
	}
	if (rem_old || rem_new) {
		e = hp_err(ctx, -EINVAL, "diff: the hunk at line %zu is cut short (%lu old and %lu new lines missing)",
			   f->hunks[f->nhunks - 1].line, rem_old, rem_new);
		goto fail;
	}
	if (in_hdr && git_hdr && git_line) {
		e = add_git_only(&d, &cap, git_line, git_ll, &ren_old, &ren_new, hdr_off, hdr_line, len, git_binary);
		if (e < 0)
			goto fail;
	}
	zfree(ren_old);
	zfree(ren_new);
	if (!d.nfiles) {
		e = hp_err(ctx, -ENODATA, "diff: no file changes found (not a unified diff?)");
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	free(ren_old);
	free(ren_new);
	hp_diff_release(&d);
	return e;
}

/* Why: patch(1) strips the same way, and a stripped name is a path inside the tree or nothing. */
int hp_diff_strip(const char *path, unsigned strip, char **ret)
{
	_cleanup_free_ char *out = NULL;
	const char *p = path;
	size_t k = 0;

	if (!path || !*path)
		return -EINVAL;
	/* patch -pN counts components separated by runs of slashes, a leading slash included */
	while (strip) {
		const char *s = strchr(p, '/');

		if (!s)
			return -ENOENT;
		while (*s == '/')
			s++;
		p = s;
		strip--;
	}
	if (*p == '/' || !*p)
		return -EINVAL;
	out = malloc(strlen(p) + 1);
	if (!out)
		return -ENOMEM;
	while (*p) {
		const char *s = strchrnul(p, '/');
		size_t n = (size_t)(s - p);

		if (n == 2 && !memcmp(p, "..", 2))
			return -EINVAL;
		if (n && !(n == 1 && p[0] == '.')) {
			if (k)
				out[k++] = '/';
			memcpy(out + k, p, n);
			k += n;
		}
		p = *s ? s + 1 : s;
	}
	if (!k)
		return -EINVAL;
	out[k] = 0;
	*ret = TAKE_PTR(out);
	return 0;
}
