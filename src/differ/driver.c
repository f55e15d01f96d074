/* SPDX-License-Identifier: MIT */
/*
 * The source-diff flow (driver.h), as a pipeline of named steps:
 *
 *   prepare   scratch directory, wrapper links, read and parse the diff
 *   build     copy the tree, run the build command with the wrapper (orig)
 *   select    which files of the diff are compiled (sources, included headers)
 *   apply     the selected parts of the diff to a second copy (patch(1))
 *   build     the second copy (fixed)
 *   pair      objects by output path; which belong to the target; which changed
 *   hand over the changed pairs to hp_build_objects
 *
 * The user's tree is only read.  The build command, its log and the diff
 * are hostile input: paths are folded and checked against the scratch
 * root, sizes are bounded, and nothing from them reaches a shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "builddir.h"
#include "diffparse.h"

#define LOG_MAX (256u << 20)
#define DEPS_MAX (16u << 20)

/* One compiled object, from the wrapper's log. */
struct cc_rec {
	char *rel_out;			/* output path relative to the copy (or absolute outside it) */
	char *rel_src;
	char *obj;			/* the wrapper's copy of the object */
	char *sha;
	char *deps;			/* the wrapper's copy of the dependency file, or NULL */
	char *cwd;
	bool lto, pic;
	bool in_target;
};

/* One link, from the wrapper's log. */
struct ld_rec {
	char *rel_out;
	char **shas;			/* content hashes of the object inputs */
	size_t nshas;
	char **archives;		/* the wrapper's copies of archive inputs */
	size_t narchives;
};

struct blog {
	char *root;			/* the copy of SRCDIR the build ran in */
	char *top;			/* the copy of the common ancestor of SRCDIR and the build directory (or root) */
	struct cc_rec *cc;
	size_t ncc;
	struct ld_rec *ld;
	size_t nld;
};

struct drv {
	struct hp_ctx *ctx;
	const struct hp_driver_opts *o;
	struct hp_driver_report *rep;
	char work[PATH_MAX];
	char srcdir[PATH_MAX];		/* real path of the user's tree */
	char built_in[PATH_MAX];
	char wrapper[PATH_MAX];
	char target_real[PATH_MAX];
	char *target_rel;		/* the target relative to lca, or NULL */
	/* --build-dir: a CMake or meson build directory, configured afresh in each copy */
	enum hp_bdir_kind bkind;
	char bdir[PATH_MAX];		/* its real path */
	char lca[PATH_MAX];		/* the deepest directory holding SRCDIR and it (SRCDIR when it is inside) */
	const char *src_rel;		/* SRCDIR relative to lca ("" when the same) */
	const char *bdir_rel;		/* the build directory relative to lca */
	struct blog orig, fixed;
	struct hp_copy_prep prep;	/* what was removed from (or touched in) the last copy */
	char *diff_text;
	size_t diff_len;
	struct hp_diff diff;
	char **compiled;		/* sources and headers the original build read, relative */
	size_t ncompiled, capcompiled;
	bool keep;
};

/*
 * Why: every path we make is a bounded directory plus a short name; a
 * vsnprintf wrapper keeps -Wformat-truncation quiet where prepare() has
 * already bounded the directory, and returns -ENAMETOOLONG otherwise.
 */
__attribute__((format(printf, 3, 4))) static int pathf(char *out, size_t sz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, sz, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/* Why: every decision the user sees goes through here, in order. */
__attribute__((format(printf, 4, 5))) static void dev(struct drv *d, enum hp_driver_action a, const char *what,
						     const char *fmt, ...)
{
	struct hp_driver_event *nv;
	va_list ap;
	char *why = NULL;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	nv = realloc(d->rep->v, (d->rep->n + 1) * sizeof(*nv));
	if (!nv) {
		free(why);
		return;
	}
	d->rep->v = nv;
	nv[d->rep->n++] = (struct hp_driver_event){ a, strdup(what ? what : ""), why };
}

/* Free the report, including the object builder's when it ran; accepts NULL. */
void hp_driver_report_release(struct hp_driver_report *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n; i++) {
		free(rep->v[i].what);
		free(rep->v[i].why);
	}
	free(rep->v);
	free(rep->workdir);
	if (rep->built)
		hp_build_report_release(&rep->build);
	memset(rep, 0, sizeof(*rep));
}

/* ---- paths ---- */

/*
 * Why: the log names files as the compiler saw them (relative to its cwd,
 * with "..", through both copies); pairing and matching need one spelling.
 */
char *hp_driver_rel(const char *root, const char *cwd, const char *path)
{
	_cleanup_free_ char *joined = NULL;
	char *out, *p;
	size_t k = 0, rl;

	if (!path || !*path)
		return NULL;
	if (path[0] == '/') {
		joined = strdup(path);
	} else {
		if (!cwd || asprintf(&joined, "%s/%s", cwd, path) < 0)
			joined = NULL;
	}
	if (!joined)
		return NULL;
	out = malloc(strlen(joined) + 2);
	if (!out)
		return NULL;
	/* fold "//", "." and ".." lexically; ".." above / stays at / */
	p = joined;
	while (*p) {
		char *s = strchrnul(p, '/');
		size_t n = (size_t)(s - p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			;
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (k && out[k - 1] != '/')
				k--;
			if (k)
				k--;
		} else {
			out[k++] = '/';
			memcpy(out + k, p, n);
			k += n;
		}
		p = *s ? s + 1 : s;
	}
	if (!k)
		out[k++] = '/';
	out[k] = 0;
	rl = root ? strlen(root) : 0;
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl && !strncmp(out, root, rl) && out[rl] == '/' && out[rl + 1]) {
		memmove(out, out + rl + 1, k - rl);
		return out;
	}
	return out;
}

/* The inverse of the wrapper's escaping: code points up to U+00FF back to single bytes. */
char *hp_driver_log_bytes(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;

	if (!s)
		return NULL;
	out = o = malloc(strlen(s) + 1);
	if (!out)
		return NULL;
	while (*u) {
		if (*u < 0x80) {
			*o++ = (char)*u++;
		} else if ((u[0] & 0xe0) == 0xc0 && (u[1] & 0xc0) == 0x80 && (u[0] & 0x1f) <= 3) {
			*o++ = (char)(((u[0] & 0x1f) << 6) | (u[1] & 0x3f));
			u += 2;
		} else {
			free(out);
			return NULL;
		}
	}
	*o = 0;
	return out;
}

/* ---- running programs ---- */

/*
 * Why: cp, patch and the build run with an argv, never through a shell;
 * their output goes to out_fd (or /dev/null), stdin is /dev/null.
 * Returns the exit status (128+signal when killed) or -errno.
 */
static int run(char *const *argv, const char *cwd, int out_fd, char *const *setenvs)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		size_t i;

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd >= 0 ? out_fd : nul, 1) < 0 ||
		    dup2(out_fd >= 0 ? out_fd : nul, 2) < 0)
			_exit(127);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		for (i = 0; setenvs && setenvs[i]; i += 2)
			setenv(setenvs[i], setenvs[i + 1], 1);
		execvp(argv[0], argv);
		dprintf(2, "hotpatch: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The last lines of a log file, for an error message (at most max bytes). */
static void log_tail(const char *path, char *out, size_t max)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, start, i;
	int lines = 0;

	out[0] = 0;
	if (hp_read_file(path, 64u << 20, &buf, &len) < 0 || !len)
		return;
	while (len && buf[len - 1] == '\n')
		len--;
	start = len;
	while (start && lines < 6 && len - start < max - 1) {
		start--;
		if (buf[start] == '\n')
			lines++;
	}
	if (buf[start] == '\n')
		start++;
	for (i = start; i < len && i - start < max - 1; i++)
		out[i - start] = (buf[i] >= 0x20 || buf[i] == '\n' || buf[i] == '\t') ? buf[i] : '?';
	out[i - start] = 0;
}

/* ---- the wrapper's log ---- */

/* Free one build's records. */
static void blog_release(struct blog *b)
{
	size_t i, k;

	for (i = 0; i < b->ncc; i++) {
		free(b->cc[i].rel_out);
		free(b->cc[i].rel_src);
		free(b->cc[i].obj);
		free(b->cc[i].sha);
		free(b->cc[i].deps);
		free(b->cc[i].cwd);
	}
	free(b->cc);
	for (i = 0; i < b->nld; i++) {
		free(b->ld[i].rel_out);
		for (k = 0; k < b->ld[i].nshas; k++)
			free(b->ld[i].shas[k]);
		free(b->ld[i].shas);
		for (k = 0; k < b->ld[i].narchives; k++)
			free(b->ld[i].archives[k]);
		free(b->ld[i].archives);
	}
	free(b->ld);
	free(b->root);
	free(b->top);
	memset(b, 0, sizeof(*b));
}

/* A string member of a log record, decoded to bytes; NULL when absent or not a string. */
static char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? hp_driver_log_bytes(json_string_value(v)) : NULL;
}

/* Files the wrapper wrote must lie in its store, not wherever the log says. */
static bool in_store(const char *store, const char *p)
{
	size_t n = strlen(store);

	return p && !strncmp(p, store, n) && p[n] == '/' && p[n + 1] && p[n + 1] != '.' && !strchr(p + n + 1, '/');
}

/* A SHA-256 in lowercase hex, as the wrapper writes it; anything else is not trusted. */
static bool is_hex64(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Was this object compiled position-independent for a library (the first -fPIC/-fpic/-fPIE/-fpie wins)? */
static bool has_pic(json_t *args)
{
	size_t i;
	json_t *a;

	json_array_foreach(args, i, a) {
		const char *s = json_string_value(a);

		if (s && (!strcmp(s, "-fPIC") || !strcmp(s, "-fpic") || !strcmp(s, "-fPIE") || !strcmp(s, "-fpie")))
			return !strcmp(s, "-fPIC") || !strcmp(s, "-fpic");
	}
	return false;
}

/* Why: one record of the log; anything malformed is skipped with a debug note, never trusted. */
static int parse_record(struct drv *d, struct blog *b, const char *store, json_t *j)
{
	const char *k = json_string_value(json_object_get(j, "k"));
	_cleanup_free_ char *cwd = jstr(j, "cwd"), *out = jstr(j, "out"), *src = jstr(j, "src");

	if (!k || !cwd || cwd[0] != '/' || !out)
		return 0;
	if (!strcmp(k, "cc")) {
		struct cc_rec c = { 0 };
		struct cc_rec *nv;

		c.obj = jstr(j, "obj");
		c.sha = jstr(j, "sha");
		c.deps = jstr(j, "deps");
		if (!src || !in_store(store, c.obj) || !is_hex64(c.sha) || (c.deps && !in_store(store, c.deps))) {
			free(c.obj);
			free(c.sha);
			free(c.deps);
			hp_debug(d->ctx, "build: ignoring a malformed compile record in the log");
			return 0;
		}
		c.rel_out = hp_driver_rel(b->top, cwd, out);
		c.rel_src = hp_driver_rel(b->root, cwd, src);
		c.cwd = TAKE_PTR(cwd);
		c.lto = json_is_true(json_object_get(j, "lto"));
		c.pic = has_pic(json_object_get(j, "args"));
		nv = realloc(b->cc, (b->ncc + 1) * sizeof(*nv));
		if (!c.rel_out || !c.rel_src || !nv) {
			free(c.rel_out);
			free(c.rel_src);
			free(c.obj);
			free(c.sha);
			free(c.deps);
			free(c.cwd);
			if (nv)
				b->cc = nv;
			return -ENOMEM;
		}
		b->cc = nv;
		b->cc[b->ncc++] = c;
	} else if (!strcmp(k, "ld")) {
		struct ld_rec l = { 0 };
		struct ld_rec *nv;
		json_t *in = json_object_get(j, "in"), *ar = json_object_get(j, "ar"), *e;
		size_t i;

		l.rel_out = hp_driver_rel(b->top, cwd, out);
		l.shas = calloc(json_array_size(in) + 1, sizeof(char *));
		l.archives = calloc(json_array_size(ar) + 1, sizeof(char *));
		nv = realloc(b->ld, (b->nld + 1) * sizeof(*nv));
		if (nv)
			b->ld = nv;
		if (!l.rel_out || !l.shas || !l.archives || !nv) {
			free(l.rel_out);
			free(l.shas);
			free(l.archives);
			return -ENOMEM;
		}
		json_array_foreach(in, i, e) {
			char *s = jstr(e, "sha");

			if (is_hex64(s))
				l.shas[l.nshas++] = s;
			else
				free(s);
		}
		json_array_foreach(ar, i, e) {
			char *s = jstr(e, "copy");

			if (in_store(store, s))
				l.archives[l.narchives++] = s;
			else
				free(s);
		}
		b->ld[b->nld++] = l;
	}
	return 0;
}

/* Read the wrapper's JSON lines; a line that does not parse is skipped, a missing log is empty. */
static int read_log(struct drv *d, struct blog *b, const char *logpath, const char *store)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, pos = 0;
	int r;

	r = hp_read_file(logpath, LOG_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hp_err(d->ctx, r, "build: cannot read the compiler log '%s': %s", logpath, strerror(-r));
	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		json_t *j = json_loadb(buf + pos, n, JSON_REJECT_DUPLICATES, NULL);

		pos += n + 1;
		if (!json_is_object(j)) {
			json_decref(j);
			continue;
		}
		r = parse_record(d, b, store, j);
		json_decref(j);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- make dependency files ---- */

/*
 * Why: which headers a compilation read decides which parts of a diff
 * count; the compiler tells us in make syntax, which we read here.
 */
int hp_driver_parse_deps(const char *buf, size_t len, int (*fn)(void *ud, const char *path), void *ud)
{
	_cleanup_free_ char *tok = malloc(len + 1);
	size_t i = 0, k = 0;
	bool after_colon = false;
	int n = 0, r;

	if (!tok)
		return -ENOMEM;
	while (i <= len) {
		char c = i < len ? buf[i] : '\n';

		if (c == '\\' && i + 1 < len && buf[i + 1] == '\n') {
			i += 2;
			c = ' ';
			goto sep;
		}
		if (c == '\\' && i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			i += 3;
			c = ' ';
			goto sep;
		}
		if (c == '\\' && i + 1 < len && (buf[i + 1] == ' ' || buf[i + 1] == '#' || buf[i + 1] == '\\')) {
			tok[k++] = buf[i + 1];
			i += 2;
			continue;
		}
		if (c == '$' && i + 1 < len && buf[i + 1] == '$') {
			tok[k++] = '$';
			i += 2;
			continue;
		}
		i++;
		if (c == ':' && !after_colon && (i >= len || buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' ||
						 buf[i] == '\\')) {
			/* the end of the targets */
			k = 0;
			after_colon = true;
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c) {
			tok[k++] = c;
			continue;
	sep:
			;
		}
		if (k) {
			tok[k] = 0;
			if (after_colon) {
				r = fn(ud, tok);
				if (r < 0)
					return r;
				n++;
			}
			k = 0;
		}
		if (c == '\n')
			after_colon = false;
	}
	return n;
}

/* Remember a file inside the tree that the original build read; files outside it do not matter. */
static int add_compiled(struct drv *d, const char *rel)
{
	char *s;

	if (!rel || rel[0] == '/')
		return 0;
	if (HP_GROW(d->compiled, d->capcompiled, d->ncompiled + 1) < 0)
		return -ENOMEM;
	s = strdup(rel);
	if (!s)
		return -ENOMEM;
	d->compiled[d->ncompiled++] = s;
	return 0;
}

struct dep_ctx {
	struct drv *d;
	const char *cwd;
};

/* A dependency as the compiler wrote it, relative to its cwd, made relative to the copy. */
static int dep_cb(void *ud, const char *path)
{
	struct dep_ctx *c = ud;
	_cleanup_free_ char *rel = hp_driver_rel(c->d->orig.root, c->cwd, path);

	return rel ? add_compiled(c->d, rel) : -ENOMEM;
}

/* qsort/bsearch order of the compiled-file list. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every source the original build compiled and every file those included, inside the tree. */
static int collect_compiled(struct drv *d)
{
	size_t i, k;
	int r;

	for (i = 0; i < d->orig.ncc; i++) {
		struct cc_rec *c = &d->orig.cc[i];

		r = add_compiled(d, c->rel_src);
		if (r < 0)
			return r;
		if (c->deps) {
			_cleanup_free_ char *buf = NULL;
			size_t len;
			struct dep_ctx dc = { d, c->cwd };

			if (hp_read_file(c->deps, DEPS_MAX, &buf, &len) < 0)
				continue;
			r = hp_driver_parse_deps(buf, len, dep_cb, &dc);
			if (r < 0)
				return r;
		}
	}
	if (d->ncompiled)
		qsort(d->compiled, d->ncompiled, sizeof(char *), cmp_str);
	for (i = k = 0; i < d->ncompiled; i++) {
		if (k && !strcmp(d->compiled[k - 1], d->compiled[i]))
			free(d->compiled[i]);
		else
			d->compiled[k++] = d->compiled[i];
	}
	d->ncompiled = k;
	return 0;
}

/* Did the original build compile or include this file of the tree? */
static bool is_compiled(struct drv *d, const char *rel)
{
	return rel && d->ncompiled &&
	       bsearch(&rel, d->compiled, d->ncompiled, sizeof(char *), cmp_str) != NULL;
}

/* ---- preparing ---- */

/* Why: the wrapper stands in for every compiler name a build may call. */
static int make_links(struct drv *d, const char *bindir, char *cc_name, size_t cc_sz)
{
	static const char *const names[] = { "cc", "gcc", "c89", "c99", "x86_64-linux-gnu-gcc", "clang",
					     "gcc-11", "gcc-12", "gcc-13", "gcc-14", "x86_64-linux-gnu-gcc-12",
					     "x86_64-linux-gnu-gcc-13", "x86_64-linux-gnu-gcc-14", "clang-14",
					     "clang-15", "clang-16",
					     /* C++ drivers: a library linked with LD=g++, C++ sources */
					     "c++", "g++", "x86_64-linux-gnu-g++", "g++-12", "g++-13", "g++-14",
					     "x86_64-linux-gnu-g++-12", "clang++", "clang++-14", "clang++-15",
					     "clang++-16" };
	const char *env_cc = getenv("CC");
	char want[NAME_MAX + 1] = "";
	char p[PATH_MAX];
	size_t i;

	/* CC=clang or CC="ccache gcc": stand in for the compiler it names */
	if (env_cc && *env_cc) {
		const char *last = strrchr(env_cc, ' '), *base;

		last = last ? last + 1 : env_cc;
		base = strrchr(last, '/');
		base = base ? base + 1 : last;
		if (*base && strlen(base) < sizeof(want) && strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789_-+.") ==
								strlen(base))
			hp_strlcpy(want, base, sizeof(want));
	}
	for (i = 0; i <= ARRAY_SIZE(names); i++) {
		const char *n = i < ARRAY_SIZE(names) ? names[i] : want;
		bool found = false;
		const char *path = getenv("PATH");

		if (!*n)
			continue;
		/* only names the machine has: a build that probes for clang must not find one we invented */
		while (path && *path && !found) {
			const char *end = strchrnul(path, ':');
			char cand[PATH_MAX];

			if ((size_t)snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - path), path, n) < sizeof(cand) &&
			    end != path && access(cand, X_OK) == 0)
				found = true;
			path = *end ? end + 1 : end;
		}
		if (!found)
			continue;
		pathf(p, sizeof(p), "%s/%s", bindir, n);
		if (symlink(d->wrapper, p) < 0 && errno != EEXIST)
			return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", p, strerror(errno));
	}
	pathf(p, sizeof(p), "%s/%s", bindir, want[0] ? want : "cc");
	if (access(p, X_OK) < 0)
		pathf(p, sizeof(p), "%s/cc", bindir);
	if (access(p, X_OK) < 0)
		return hp_err(d->ctx, -ENOENT, "build: no C compiler (cc, gcc or $CC) in PATH");
	hp_strlcpy(cc_name, p, cc_sz);
	return 0;
}

/*
 * Where hotpatch-cc is: given, from the environment, installed as a helper
 * (HP_LIBEXECDIR/hotpatch-cc), or, in a build tree, in src/differ beside
 * src/cli.  The installed helper is tried last but one so that a build tree
 * never picks up an older installed copy.
 */
static int find_wrapper(struct drv *d)
{
	const char *w = d->o->ccwrap ? d->o->ccwrap : getenv("HOTPATCH_CC_WRAPPER");
	char self[PATH_MAX];
	ssize_t n;

	if (w) {
		if (!realpath(w, d->wrapper))
			return hp_err(d->ctx, -errno, "build: compiler wrapper '%s': %s", w, strerror(errno));
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return hp_err(d->ctx, -errno, "build: cannot find this program: %s", strerror(errno));
		self[n] = 0;
		pathf(d->wrapper, sizeof(d->wrapper), "%s/../differ/hotpatch-cc", dirname(self));
		if (access(d->wrapper, X_OK) < 0)
			pathf(d->wrapper, sizeof(d->wrapper), "%s/hotpatch-cc", HP_LIBEXECDIR);
	}
	if (access(d->wrapper, X_OK) < 0)
		return hp_err(d->ctx, -ENOENT,
			      "build: the compiler wrapper '%s' is missing; install hotpatch-cc in %s or set "
			      "HOTPATCH_CC_WRAPPER", d->wrapper, HP_LIBEXECDIR);
	return 0;
}

/* The rest of p below the directory base ("" when p is base), or NULL when p is not inside it. */
static const char *under(const char *base, const char *p)
{
	size_t n = strlen(base);

	if (!strcmp(base, "/"))
		return p[0] == '/' ? p + 1 : NULL;
	if (strncmp(p, base, n) || (p[n] && p[n] != '/'))
		return NULL;
	return p[n] ? p + n + 1 : p + n;
}

/*
 * --build-dir: which kind it is, and the deepest directory holding it and
 * SRCDIR, under which each copy mirrors both, so that the paths from one to
 * the other (meson's ../src/x.c, a build command's cd ../build) stay the same.
 */
static int prepare_build_dir(struct drv *d)
{
	struct stat st;
	char *slash;

	hp_strlcpy(d->lca, d->srcdir, sizeof(d->lca));
	d->src_rel = "";
	if (!d->o->build_dir)
		return 0;
	if (!realpath(d->o->build_dir, d->bdir) || stat(d->bdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return hp_err(d->ctx, -ENOENT, "build: build directory '%s' is not a directory", d->o->build_dir);
	if (strcmp(d->bdir, d->srcdir) && under(d->bdir, d->srcdir))
		return hp_err(d->ctx, -EINVAL, "build: the source tree '%s' lies inside the build directory '%s'",
			      d->srcdir, d->o->build_dir);
	if (!strcmp(d->bdir, d->srcdir))
		return hp_err(d->ctx, -EINVAL, "build: '%s' is an in-source build (the build directory is SRCDIR); "
			      "give no --build-dir and let the build command configure the copy: sh -c 'cmake . && make'",
			      d->o->build_dir);
	d->bkind = hp_bdir_kind(d->bdir);
	if (d->bkind == HP_BDIR_NONE)
		return hp_err(d->ctx, -EINVAL, "build: '%s' is neither a CMake build directory (no CMakeCache.txt) nor a "
			      "meson one (no meson-private/cmd_line.txt); configure it first", d->o->build_dir);
	while (!under(d->lca, d->bdir)) {
		slash = strrchr(d->lca, '/');
		if (slash == d->lca)
			slash[1] = 0;
		else
			*slash = 0;
	}
	d->src_rel = under(d->lca, d->srcdir);
	d->bdir_rel = under(d->lca, d->bdir);
	return 0;
}

/*
 * Check the inputs and read the diff before any build runs, then make the
 * scratch directory, refusing one inside the tree it would copy.
 */
static int prepare(struct drv *d)
{
	static const char *const ours[] = { "bin", "orig", "fixed", "orig.store", "fixed.store", "orig.cc.jsonl",
					    "fixed.cc.jsonl", "orig.log", "fixed.log", "fix.diff", "patch.log" };
	const struct hp_driver_opts *o = d->o;
	struct stat st;
	char bindir[PATH_MAX];
	size_t n;
	int r;

	if (!o->srcdir || !o->diff || ((!o->argv || !o->argv[0]) && !o->build_dir) || !o->build.target)
		return hp_err(d->ctx, -EINVAL, "build: need a source tree, a diff, a target and a build command");
	if (!realpath(o->srcdir, d->srcdir) || stat(d->srcdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return hp_err(d->ctx, -ENOENT, "build: source tree '%s' is not a directory", o->srcdir);
	if (!realpath(o->build.target, d->target_real))
		return hp_err(d->ctx, -errno, "build: target '%s': %s", o->build.target, strerror(errno));
	if (o->built_in) {
		if (o->built_in[0] != '/')
			return hp_err(d->ctx, -EINVAL, "build: --built-in needs an absolute path, not '%s'", o->built_in);
		hp_strlcpy(d->built_in, o->built_in, sizeof(d->built_in));
	} else {
		hp_strlcpy(d->built_in, d->srcdir, sizeof(d->built_in));
	}
	r = prepare_build_dir(d);
	if (r < 0)
		return r;
	if ((under(d->srcdir, d->target_real) || (d->bdir_rel && under(d->bdir, d->target_real))) &&
	    *under(d->lca, d->target_real))
		d->target_rel = strdup(under(d->lca, d->target_real));
	r = find_wrapper(d);
	if (r < 0)
		return r;
	/* the diff first: a fix that does not parse should fail before any build */
	r = hp_read_file(o->diff, HP_DIFF_MAX_SIZE, &d->diff_text, &d->diff_len);
	if (r < 0)
		return hp_err(d->ctx, r, "build: cannot read the diff '%s': %s", o->diff,
			      r == -EFBIG ? "too large" : strerror(-r));
	r = hp_diff_parse(d->ctx, d->diff_text, d->diff_len, &d->diff);
	if (r < 0)
		return hp_err_prefix(d->ctx, r == -ENODATA ? -EINVAL : r, "%s: ", o->diff);
	if (o->workdir) {
		if (mkdir(o->workdir, 0700) < 0 && errno != EEXIST)
			return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", o->workdir, strerror(errno));
		if (!realpath(o->workdir, d->work))
			return hp_err(d->ctx, -errno, "build: '%s': %s", o->workdir, strerror(errno));
		/* a directory used before: remove what we put there, and nothing else */
		for (n = 0; n < ARRAY_SIZE(ours); n++) {
			char p[PATH_MAX];

			pathf(p, sizeof(p), "%s/%s", d->work, ours[n]);
			if (lstat(p, &st) == 0)
				hp_driver_rm_tree(p);
		}
	} else {
		const char *tmp = getenv("TMPDIR");
		char tmpl[PATH_MAX];

		pathf(tmpl, sizeof(tmpl), "%s/hotpatch-build.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(tmpl) || !realpath(tmpl, d->work))
			return hp_err(d->ctx, -errno, "build: cannot create a scratch directory in '%s': %s",
				      tmp && *tmp ? tmp : "/tmp", strerror(errno));
	}
	if (strlen(d->work) > PATH_MAX - 128)
		return hp_err(d->ctx, -ENAMETOOLONG, "build: the scratch directory path '%s' is too long", d->work);
	if (strchr(d->work, '=') || strchr(d->work, ' ') || strchr(d->work, ':'))
		return hp_err(d->ctx, -EINVAL, "build: the scratch directory '%s' must not contain '=', ':' or spaces",
			      d->work);
	n = strlen(d->srcdir);
	if (!strncmp(d->work, d->srcdir, n) && (d->work[n] == '/' || !d->work[n]))
		return hp_err(d->ctx, -EINVAL, "build: the scratch directory '%s' lies inside the source tree", d->work);
	if (d->bdir_rel && under(d->bdir, d->work))
		return hp_err(d->ctx, -EINVAL, "build: the scratch directory '%s' lies inside the build directory", d->work);
	pathf(bindir, sizeof(bindir), "%s/bin", d->work);
	if (mkdir(bindir, 0700) < 0 && errno != EEXIST)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", bindir, strerror(errno));
	return 0;
}

/* ---- the two builds ---- */

/* mkdir -p of the directories leading to top/rel, not rel itself; top exists. */
static int mkdir_parents(struct drv *d, const char *top, const char *rel)
{
	char p[PATH_MAX];
	const char *s;

	for (s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		if (pathf(p, sizeof(p), "%s/%.*s", top, (int)(s - rel), rel) < 0)
			return -ENAMETOOLONG;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", p, strerror(errno));
	}
	return 0;
}

/* Copy SRCDIR with cp -a (times kept, links as links), then drop what would make the copy build wrongly. */
static int copy_tree(struct drv *d, const char *dst)
{
	_cleanup_free_ char *from = NULL;
	char *argv[] = { "cp", "-a", "--", NULL, (char *)dst, NULL };
	int r;

	if (mkdir(dst, 0700) < 0)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", dst, strerror(errno));
	if (asprintf(&from, "%s/.", d->srcdir) < 0)
		return -ENOMEM;
	argv[3] = from;
	r = run(argv, NULL, -1, NULL);
	if (r != 0)
		return hp_err(d->ctx, r < 0 ? r : -EIO, "build: cannot copy '%s' to '%s'", d->srcdir, dst);
	hp_driver_prepare_copy(dst, &d->prep);
	return 0;
}

/*
 * A word of the build command that names the build directory (or SRCDIR)
 * by absolute path, or relative to where hotpatch runs, is made to name the
 * copy's; other words are kept.  Relative paths already work: the command
 * runs in the copy of SRCDIR, and the copy mirrors both directories.
 */
static int map_build_argv(struct drv *d, const struct blog *b, const char *bcopy, struct hp_strv *out)
{
	char *const *a;
	int r;

	for (a = d->o->argv; *a; a++) {
		_cleanup_free_ char *m = NULL;
		char real[PATH_MAX];
		const char *rest;

		if ((*a)[0] != '/' && realpath(*a, real) && (rest = under(d->bdir, real)) != NULL) {
			if (asprintf(&m, "%s%s%s", bcopy, *rest ? "/" : "", rest) < 0)
				return -ENOMEM;
		} else if ((rest = under(d->bdir, *a)) != NULL) {
			if (asprintf(&m, "%s%s%s", bcopy, *rest ? "/" : "", rest) < 0)
				return -ENOMEM;
		} else if ((rest = under(d->srcdir, *a)) != NULL) {
			if (asprintf(&m, "%s%s%s", b->root, *rest ? "/" : "", rest) < 0)
				return -ENOMEM;
		}
		r = hp_strv_add(out, m ? m : *a);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * --build-dir: configure a fresh build directory in the copy the way the
 * user's was configured (builddir.c), then return the build command: the
 * user's, with paths mapped, or the build tool's default.  Returns the
 * exit status of the configure step (0 success) or a negative code.
 */
static int configure_build_dir(struct drv *d, const struct blog *b, int out_fd, char *const *env, struct hp_strv *argv)
{
	char bcopy[PATH_MAX], bindir[PATH_MAX];
	const char *subst[2][2];
	struct hp_strv cfg = { 0 };
	struct stat st;
	int r;

	pathf(bindir, sizeof(bindir), "%s/bin", d->work);
	if (pathf(bcopy, sizeof(bcopy), "%s/%s", b->top, d->bdir_rel) < 0)
		return hp_err(d->ctx, -ENAMETOOLONG, "build: the path of the build directory's copy is too long");
	/* inside SRCDIR it was copied with the tree: its state names SRCDIR, so it goes */
	if (lstat(bcopy, &st) == 0)
		hp_driver_rm_tree(bcopy);
	r = mkdir_parents(d, b->top, d->bdir_rel);
	if (r < 0)
		return r;
	subst[0][0] = d->bdir;
	subst[0][1] = bcopy;
	subst[1][0] = d->srcdir;
	subst[1][1] = b->root;
	r = hp_bdir_configure_argv(d->ctx, d->bkind, d->bdir, b->root, bcopy, bindir, subst, 2, &cfg);
	if (r < 0) {
		hp_strv_release(&cfg);
		return r;
	}
	r = run(cfg.v, b->root, out_fd, env);
	hp_strv_release(&cfg);
	if (r != 0)
		return r;
	if (d->o->argv && d->o->argv[0])
		return map_build_argv(d, b, bcopy, argv);
	return hp_bdir_build_argv(d->bkind, bcopy, argv);
}

/*
 * Run the build command in one copy with the wrapper first in PATH; a
 * failure keeps the scratch directory and quotes the end of the output.
 */
static int run_build(struct drv *d, const char *name, const char *root, struct blog *b)
{
	char bindir[PATH_MAX], cc[PATH_MAX], cxx[PATH_MAX], logp[PATH_MAX], store[PATH_MAX], outp[PATH_MAX];
	char tail[700];
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int out_fd = -1;
	const char *old_path = getenv("PATH");
	struct hp_strv argv = { 0 };
	bool configured = true;
	int r;

	pathf(bindir, sizeof(bindir), "%s/bin", d->work);
	pathf(logp, sizeof(logp), "%s/%s.cc.jsonl", d->work, name);
	pathf(store, sizeof(store), "%s/%s.store", d->work, name);
	pathf(outp, sizeof(outp), "%s/%s.log", d->work, name);
	if (mkdir(store, 0700) < 0 && errno != EEXIST)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", store, strerror(errno));
	r = make_links(d, bindir, cc, sizeof(cc));
	if (r < 0)
		return r;
	/* CXX too (a library linked with LD=$CXX); without a C++ compiler, the C one */
	pathf(cxx, sizeof(cxx), "%s/c++", bindir);
	if (access(cxx, X_OK) < 0)
		hp_strlcpy(cxx, cc, sizeof(cxx));
	if (asprintf(&path, "%s:%s", bindir, old_path ? old_path : "/usr/local/bin:/usr/bin:/bin") < 0)
		return -ENOMEM;
	out_fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out_fd < 0)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", outp, strerror(errno));
	{
		/*
		 * File names the compiler records read as where the target was
		 * built: the copy of SRCDIR as SRCDIR (or --built-in), or, with
		 * a build directory outside SRCDIR, the copy of both as theirs.
		 */
		const char *from = d->o->built_in ? root : b->top;
		const char *to = d->o->built_in ? d->built_in : !strcmp(d->lca, "/") ? "" : d->lca;
		char *env[] = { "PATH", path, "CC", cc, "CXX", cxx, "HP_CCWRAP_LOG", logp, "HP_CCWRAP_STORE", store,
				"HP_CCWRAP_DIR", bindir, "HP_CCWRAP_FROM", (char *)from, "HP_CCWRAP_TO", (char *)to,
				/* same __DATE__/__TIME__ in both builds */
				getenv("SOURCE_DATE_EPOCH") ? NULL : "SOURCE_DATE_EPOCH", "1", NULL };

		unsetenv("HP_CCWRAP_ACTIVE");
		if (d->bkind) {
			r = configure_build_dir(d, b, out_fd, env, &argv);
			configured = r == 0;
		}
		if (r == 0)
			r = run(argv.n ? argv.v : d->o->argv, root, out_fd, env);
		hp_strv_release(&argv);
	}
	if (r != 0) {
		d->keep = true;
		log_tail(outp, tail, sizeof(tail));
		if (!configured)
			return hp_err(d->ctx, r < 0 ? r : -ECHILD,
				      "build: configuring a fresh %s build directory for the %s build failed (%s %d); its "
				      "output is in %s:\n%s", hp_bdir_kind_name(d->bkind), name,
				      r < 0 ? "error" : r > 128 ? "signal" : "exit", r > 128 ? r - 128 : r, outp, tail);
		return hp_err(d->ctx, r < 0 ? r : -ECHILD, "build: the %s build failed (%s %d); its output is in %s:\n%s",
			      name, r < 0 ? "error" : r > 128 ? "signal" : "exit", r > 128 ? r - 128 : r, outp, tail);
	}
	r = read_log(d, b, logp, store);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->ncc; i++) {
		size_t sl = strlen(d->srcdir);

		/* relative paths are inside the copy; an absolute one in SRCDIR means the build escaped it */
		if (!strncmp(b->cc[i].rel_src, d->srcdir, sl) && b->cc[i].rel_src[sl] == '/') {
			d->keep = true;
			return hp_err(d->ctx, -HP_E_BUILD,
				      "build: the %s build compiled %s from SRCDIR itself, not from the copy (a build "
				      "directory configured with absolute paths?); give it with --build-dir DIR, or let "
				      "the build command configure a fresh one", name, b->cc[i].rel_src);
		}
		if (d->bdir_rel && under(d->bdir, b->cc[i].rel_out)) {
			d->keep = true;
			return hp_err(d->ctx, -HP_E_BUILD,
				      "build: the %s build wrote %s into the build directory itself, not into its copy; "
				      "name the build directory in the build command by the path given to --build-dir",
				      name, b->cc[i].rel_out);
		}
	}
	/* objects compiled outside the copy (configure probes in /tmp) are not the tree's */
	{
		size_t i, k = 0, dropped = 0;

		for (i = 0; i < b->ncc; i++) {
			if (b->cc[i].rel_out[0] == '/') {
				free(b->cc[i].rel_out);
				free(b->cc[i].rel_src);
				free(b->cc[i].obj);
				free(b->cc[i].sha);
				free(b->cc[i].deps);
				free(b->cc[i].cwd);
				dropped++;
				continue;
			}
			b->cc[k++] = b->cc[i];
		}
		b->ncc = k;
		if (dropped)
			hp_debug(d->ctx, "build: %zu objects of the %s build were compiled outside the tree; ignored",
				 dropped, name);
	}
	if (!b->ncc) {
		d->keep = true;
		return hp_err(d->ctx, -ECHILD,
			      "build: the %s build compiled nothing through the wrapper (does it call the compiler by an "
			      "absolute path, CC=/usr/bin/gcc?); its output is in %s", name, outp);
	}
	return 0;
}

/* ---- the diff ---- */

/* The -p level that makes the most files of the diff exist in the tree. */
static unsigned choose_strip(struct drv *d)
{
	unsigned p, best = 0;
	size_t best_hits = 0, i;
	bool any_git = false;

	for (i = 0; i < d->diff.nfiles; i++)
		any_git |= d->diff.files[i].git;
	for (p = 0; p <= 4; p++) {
		size_t hits = 0;

		for (i = 0; i < d->diff.nfiles; i++) {
			const struct hp_diff_file *f = &d->diff.files[i];
			_cleanup_free_ char *s = NULL;
			char full[PATH_MAX];
			struct stat st;

			if (!f->old_path || hp_diff_strip(f->old_path, p, &s) < 0)
				continue;
			if (pathf(full, sizeof(full), "%s/%s", d->srcdir, s) == 0 && lstat(full, &st) == 0)
				hits++;
		}
		if (hits > best_hits) {
			best_hits = hits;
			best = p;
		}
	}
	if (!best_hits)
		return any_git ? 1 : 0;
	return best;
}

/* The file a part of the diff changes, after stripping: the new name, or the old one for a deletion. */
static int diff_file_name(const struct hp_diff_file *f, unsigned p, char **ret)
{
	const char *n = f->new_path ? f->new_path : f->old_path;

	return hp_diff_strip(n, p, ret);
}

/* A new file of the diff the build may include: C sources and headers by their suffix. */
static bool looks_like_c(const char *p)
{
	static const char *const sufs[] = { ".c", ".h", ".inc", ".def", ".cc", ".cpp", ".cxx", ".hh", ".hpp",
					    ".S", ".s", ".x", ".tbl" };
	const char *dot = strrchr(p, '.');
	size_t i;

	if (!dot || strchr(dot, '/'))
		return false;
	for (i = 0; i < ARRAY_SIZE(sufs); i++)
		if (!strcmp(dot, sufs[i]))
			return true;
	return false;
}

/* Which hunk of a file failed, from patch(1)'s "Hunk #N FAILED" line. */
static void name_failed_hunk(struct drv *d, const char *outp, char *msg, size_t max)
{
	_cleanup_free_ char *buf = NULL;
	char file[PATH_MAX] = "";
	size_t len, pos = 0, i;

	msg[0] = 0;
	if (hp_read_file(outp, 1u << 20, &buf, &len) < 0)
		return;
	while (pos < len) {
		char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		unsigned long hunk;

		if (nl)
			*nl = 0;
		pos = nl ? (size_t)(nl - buf) + 1 : len;
		if (!strncmp(line, "checking file ", 14) || !strncmp(line, "patching file ", 14)) {
			hp_strlcpy(file, line + 14, sizeof(file));
		} else if (sscanf(line, "Hunk #%lu FAILED", &hunk) == 1) {
			for (i = 0; i < d->diff.nfiles; i++) {
				const struct hp_diff_file *f = &d->diff.files[i];
				_cleanup_free_ char *n = NULL;

				if (diff_file_name(f, d->rep->strip, &n) < 0 || strcmp(n, file))
					continue;
				if (hunk >= 1 && hunk <= f->nhunks) {
					snprintf(msg, max, "%s: hunk #%lu (%s, line %zu of the diff) does not apply", file,
						 hunk, f->hunks[hunk - 1].header, f->hunks[hunk - 1].line);
					return;
				}
			}
			snprintf(msg, max, "%s: hunk #%lu does not apply", file, hunk);
			return;
		} else if (strstr(line, "Reversed (or previously applied) patch detected")) {
			snprintf(msg, max, "%s: the change is already in the tree (the diff looks applied)", file);
			return;
		} else if (strstr(line, "can't find file to patch") || strstr(line, "No such file")) {
			snprintf(msg, max, "%s: no such file in the tree", file[0] ? file : "a file of the diff");
			return;
		}
	}
	if (!msg[0]) {
		/* patch said something else; show its last words */
		log_tail(outp, msg, max);
	}
}

/* Decide which files of the diff matter, write them to WORK/fix.diff, apply them to root. */
static int apply_diff(struct drv *d, const char *root)
{
	char fixp[PATH_MAX], outp[PATH_MAX], pbuf[16], msg[700];
	_cleanup_close_ int fd = -1, out_fd = -1;
	size_t i, napplied = 0;
	unsigned p;
	int r;

	p = d->rep->strip = choose_strip(d);
	pathf(fixp, sizeof(fixp), "%s/fix.diff", d->work);
	pathf(outp, sizeof(outp), "%s/patch.log", d->work);
	fd = open(fixp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", fixp, strerror(errno));
	for (i = 0; i < d->diff.nfiles; i++) {
		const struct hp_diff_file *f = &d->diff.files[i];
		_cleanup_free_ char *name = NULL, *oldn = NULL;

		r = diff_file_name(f, p, &name);
		if (r == -EINVAL)
			return hp_err(d->ctx, -EINVAL, "build: %s: line %zu: the file name '%s' leaves the source tree",
				      d->o->diff, f->line, f->new_path ? f->new_path : f->old_path);
		if (r < 0)
			return hp_err(d->ctx, -EINVAL, "build: %s: line %zu: '%s' has fewer than %u directories to strip",
				      d->o->diff, f->line, f->new_path ? f->new_path : f->old_path, p);
		if (f->old_path && f->new_path && hp_diff_strip(f->old_path, p, &oldn) == -EINVAL)
			return hp_err(d->ctx, -EINVAL, "build: %s: line %zu: the file name '%s' leaves the source tree",
				      d->o->diff, f->line, f->old_path);
		if (f->binary) {
			dev(d, HP_DRIVER_IGNORED, name, "a binary file");
			continue;
		}
		if (!is_compiled(d, name) && !(oldn && is_compiled(d, oldn))) {
			if (!f->old_path && looks_like_c(name)) {
				dev(d, HP_DRIVER_APPLIED, name, "a new source or header file");
			} else {
				dev(d, HP_DRIVER_IGNORED, name, "%s", f->nhunks ? "not a compiled source or a header one includes"
										: "no content change");
				continue;
			}
		} else {
			dev(d, HP_DRIVER_APPLIED, name, "%s", f->new_path ? "compiled, or included by a compiled file"
									   : "deleted; it was compiled");
		}
		if (!f->nhunks)
			continue;
		r = hp_write_all(fd, d->diff_text + f->off, f->len);
		if (r < 0)
			return hp_err(d->ctx, r, "build: cannot write '%s': %s", fixp, strerror(-r));
		if (f->len && d->diff_text[f->off + f->len - 1] != '\n' && (r = hp_write_all(fd, "\n", 1)) < 0)
			return r;
		napplied++;
	}
	if (!napplied)
		return hp_err(d->ctx, -ENODATA, "build: the diff changes no file that the build compiles");
	out_fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out_fd < 0)
		return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", outp, strerror(errno));
	snprintf(pbuf, sizeof(pbuf), "-p%u", p);
	{
		/* --verbose: its "checking file X" lines name the file of a failing hunk */
		char *dry[] = { "patch", pbuf, "--dry-run", "--force", "--forward", "--no-backup-if-mismatch",
				"--quoting-style=literal", "--verbose", "-i", fixp, "-d", (char *)root, NULL };
		char *real[] = { "patch", pbuf, "--force", "--forward", "--no-backup-if-mismatch", "--reject-file=-",
				 "--quoting-style=literal", "-i", fixp, "-d", (char *)root, NULL };

		r = run(dry, NULL, out_fd, NULL);
		if (r == 127 || r < 0)
			return hp_err(d->ctx, -ENOENT, "build: cannot run patch(1); install the 'patch' package");
		if (r != 0) {
			name_failed_hunk(d, outp, msg, sizeof(msg));
			dev(d, HP_DRIVER_REFUSED, d->o->diff, "does not apply: %s", msg);
			return hp_err(d->ctx, -EINVAL, "build: the diff does not apply to '%s' (with -p%u): %s",
				      d->srcdir, p, msg);
		}
		if (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0)
			return -errno;
		r = run(real, NULL, out_fd, NULL);
		if (r != 0) {
			name_failed_hunk(d, outp, msg, sizeof(msg));
			return hp_err(d->ctx, -EINVAL, "build: the diff does not apply: %s", msg);
		}
	}
	return 0;
}

/* Why: a build takes minutes; the caller may show which phase it is in. */
static void phase(struct drv *d, unsigned step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void phase(struct drv *d, unsigned step, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (!d->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	d->o->progress(d->o->progress_ud, step, 5, what);
}

/* One of the two builds: copy, apply the fix to the second one, build, read the log. */
static int build_copy(struct drv *d, const char *name, struct blog *b, bool apply)
{
	char root[PATH_MAX], top[PATH_MAX];
	int r;

	pathf(top, sizeof(top), "%s/%s", d->work, name);
	if (pathf(root, sizeof(root), "%s%s%s", top, *d->src_rel ? "/" : "", d->src_rel) < 0)
		return hp_err(d->ctx, -ENAMETOOLONG, "build: the path of the copy of '%s' is too long", d->srcdir);
	if (*d->src_rel) {
		if (mkdir(top, 0700) < 0)
			return hp_err(d->ctx, -errno, "build: cannot create '%s': %s", top, strerror(errno));
		r = mkdir_parents(d, top, d->src_rel);
		if (r < 0)
			return r;
	}
	b->top = strdup(top);
	if (!b->top)
		return -ENOMEM;
	r = copy_tree(d, root);
	if (r < 0)
		return r;
	if (d->prep.stale_removed && !apply)
		dev(d, HP_DRIVER_NOTE, d->srcdir, "removed %zu object files of an earlier build from the copies, so every "
			"translation unit is compiled", d->prep.stale_removed);
	if (d->prep.ncmake_dirs && !apply && !d->bkind)
		dev(d, HP_DRIVER_NOTE, d->srcdir, "removed the state of %zu CMake build director%s from the copies (it "
			"names SRCDIR); the build command must configure, e.g. cmake -B build && cmake --build build",
		    d->prep.ncmake_dirs, d->prep.ncmake_dirs == 1 ? "y" : "ies");
	if (apply) {
		r = apply_diff(d, root);
		if (r < 0)
			return r;
	}
	b->root = strdup(root);
	if (!b->root)
		return -ENOMEM;
	phase(d, apply ? 3 : 2, "%s build (%s)", apply ? "fixed" : "original", apply ? "the diff applied" : "as is");
	return run_build(d, name, b->root, b);
}

/* ---- pairing ---- */

struct shaset {
	char **v;
	size_t n, cap;
};

/* Add a content hash of an object linked into the target. */
static int shaset_add(struct shaset *s, const char *sha)
{
	if (HP_GROW(s->v, s->cap, s->n + 1) < 0)
		return -ENOMEM;
	s->v[s->n] = strdup(sha);
	return s->v[s->n++] ? 0 : -ENOMEM;
}

/* Is an object with this content linked into the target?  Targets have few objects: a scan is enough. */
static bool shaset_has(const struct shaset *s, const char *sha)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], sha))
			return true;
	return false;
}

/* Free the hashes. */
static void shaset_release(struct shaset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* Why: archive members are objects too; their hashes say which compiled objects went in. */
static int archive_members(struct drv *d, const char *path, struct shaset *set)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *ar, *m;
	Elf_Cmd cmd = ELF_C_READ;
	int r = 0;

	if (fd < 0)
		return 0;
	hp_libelf_init();
	ar = elf_begin(fd, ELF_C_READ, NULL);
	if (!ar)
		return 0;
	if (elf_kind(ar) != ELF_K_AR) {
		elf_end(ar);
		return 0;
	}
	while (r == 0 && (m = elf_begin(fd, cmd, ar)) != NULL) {
		Elf_Arhdr *h = elf_getarhdr(m);
		size_t sz = 0;
		char *raw = elf_rawfile(m, &sz);

		if (h && h->ar_name && h->ar_name[0] != '/' && raw && sz) {
			uint8_t sha[32];
			char hex[65];

			hp_sha256(raw, sz, sha);
			r = shaset_add(set, hp_hex(sha, sizeof(sha), hex));
		}
		cmd = elf_next(m);
		elf_end(m);
	}
	elf_end(ar);
	(void)d;
	return r;
}

/* The last link in b that wrote the target: by path inside the tree, else by file name. */
static const struct ld_rec *find_target_link(struct drv *d, const struct blog *b)
{
	const char *base = strrchr(d->target_real, '/');
	const struct ld_rec *by_name = NULL;
	size_t i;

	base = base ? base + 1 : d->target_real;
	for (i = b->nld; i-- > 0;) {
		const char *lb = strrchr(b->ld[i].rel_out, '/');

		if (d->target_rel && !strcmp(b->ld[i].rel_out, d->target_rel))
			return &b->ld[i];
		lb = lb ? lb + 1 : b->ld[i].rel_out;
		if (!by_name && !strcmp(lb, base))
			by_name = &b->ld[i];
	}
	return by_name;
}

/* Mark the objects of b linked into the target; false when the link was not seen. */
static int mark_target(struct drv *d, struct blog *b, bool *found)
{
	const struct ld_rec *l = find_target_link(d, b);
	struct shaset set = { 0 };
	size_t i;
	int r = 0;

	*found = l != NULL;
	if (!l)
		return 0;
	for (i = 0; r == 0 && i < l->nshas; i++)
		r = shaset_add(&set, l->shas[i]);
	for (i = 0; r == 0 && i < l->narchives; i++)
		r = archive_members(d, l->archives[i], &set);
	for (i = 0; r == 0 && i < b->ncc; i++)
		b->cc[i].in_target = shaset_has(&set, b->cc[i].sha);
	shaset_release(&set);
	return r;
}

/* The last record for an output path (a path compiled twice keeps its last object). */
static struct cc_rec *find_out(struct blog *b, const char *rel_out)
{
	size_t i;

	for (i = b->ncc; i-- > 0;)
		if (!strcmp(b->cc[i].rel_out, rel_out))
			return &b->cc[i];
	return NULL;
}

/* Is record idx the one that counts for its output path? */
static bool is_last(struct blog *b, size_t idx)
{
	return find_out(b, b->cc[idx].rel_out) == &b->cc[idx];
}

/* Why: LTO objects hold GIMPLE, not the code that runs; the final link decides function boundaries. */
static bool has_lto_sections(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *s = NULL;
	size_t shstr;
	bool lto = false;

	if (fd < 0)
		return false;
	hp_libelf_init();
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return false;
	if (elf_getshdrstrndx(e, &shstr) == 0) {
		while (!lto && (s = elf_nextscn(e, s)) != NULL) {
			GElf_Shdr sh;
			const char *n;

			if (!gelf_getshdr(s, &sh))
				continue;
			n = elf_strptr(e, shstr, sh.sh_name);
			if (n && (!strncmp(n, ".gnu.lto_", 9) || !strncmp(n, ".gnu.debuglto_", 14)))
				lto = true;
		}
	}
	elf_end(e);
	return lto;
}

/* A shared library by its name (libfoo.so, libfoo.so.1.2), for the -fPIC preference only. */
static bool target_is_library(struct drv *d)
{
	const char *b = strrchr(d->target_real, '/');

	b = b ? b + 1 : d->target_real;
	return strstr(b, ".so") != NULL;
}

/*
 * Without the link of the target in the log we cannot tell which objects
 * make it up; of several objects compiled from one source, keep the one
 * compiled the way the target needs (-fPIC for a library).
 */
static bool preferred_duplicate(struct drv *d, struct blog *b, size_t idx)
{
	bool lib = target_is_library(d);
	size_t i;

	for (i = 0; i < b->ncc; i++) {
		if (i == idx || !is_last(b, i) || strcmp(b->cc[i].rel_src, b->cc[idx].rel_src))
			continue;
		if (b->cc[i].pic == lib && b->cc[idx].pic != lib)
			return false;
		if (b->cc[i].pic == b->cc[idx].pic && i > idx)
			return false;
	}
	return true;
}

/*
 * Pair the objects of the two builds by output path and keep the changed
 * ones of the target; refuse a translation unit that appears, disappears
 * or was compiled with LTO.
 */
static int pair_units(struct drv *d, struct hp_build_unit **ret_units, size_t *ret_n)
{
	const char *tname = strrchr(d->target_real, '/') + 1;
	_cleanup_free_ struct hp_build_unit *units = NULL;
	_cleanup_free_ const char *(*pair_sha)[2] = NULL;
	bool found_o = false, found_f = false;
	size_t i, n = 0;
	int r;

	r = mark_target(d, &d->orig, &found_o);
	if (r < 0)
		return r;
	r = mark_target(d, &d->fixed, &found_f);
	if (r < 0)
		return r;
	if (!found_o || !found_f) {
		dev(d, HP_DRIVER_NOTE, tname,
		    "the link of the target was not seen in the build; every changed object is examined");
		for (i = 0; i < d->orig.ncc; i++)
			d->orig.cc[i].in_target = true;
		for (i = 0; i < d->fixed.ncc; i++)
			d->fixed.cc[i].in_target = true;
	}
	units = calloc(d->fixed.ncc + 1, sizeof(*units));
	pair_sha = calloc(d->fixed.ncc + 1, sizeof(*pair_sha));
	if (!units || !pair_sha)
		return -ENOMEM;
	for (i = 0; i < d->fixed.ncc; i++) {
		struct cc_rec *f = &d->fixed.cc[i], *o;

		if (!is_last(&d->fixed, i))
			continue;
		o = find_out(&d->orig, f->rel_out);
		if (!o) {
			if (!f->in_target)
				continue;
			dev(d, HP_DRIVER_REFUSED, f->rel_src, "a new translation unit (%s) is linked into %s", f->rel_out,
			    tname);
			return hp_err(d->ctx, -HP_E_BUILD,
				      "build: the fix adds the translation unit %s to %s; a hotpatch can only change "
				      "existing ones", f->rel_src, tname);
		}
		if (!o->in_target && !f->in_target) {
			if (strcmp(o->sha, f->sha))
				dev(d, HP_DRIVER_OUTSIDE, f->rel_src, "changed, but %s is not linked into %s", f->rel_out,
				    tname);
			continue;
		}
		if (!strcmp(o->sha, f->sha)) {
			d->rep->nunchanged++;
			continue;
		}
		if ((!found_o || !found_f) && !preferred_duplicate(d, &d->fixed, i)) {
			dev(d, HP_DRIVER_OUTSIDE, f->rel_src, "%s is another build of the same source (%s)", f->rel_out,
			    f->pic ? "-fPIC" : "not -fPIC");
			continue;
		}
		if (o->lto || f->lto || has_lto_sections(o->obj) || has_lto_sections(f->obj)) {
			dev(d, HP_DRIVER_REFUSED, f->rel_src, "compiled with -flto");
			return hp_err(d->ctx, -HP_E_BUILD,
				      "build: %s is compiled with -flto: LTO-built targets cannot be hotpatched (the "
				      "link decides what each function contains); rebuild without -flto",
				      f->rel_src);
		}
		/*
		 * One source compiled the same way for several programs (a
		 * common helper of each tool of a project) gives objects with the
		 * same bytes: one pair of them is the unit, once.
		 */
		{
			size_t k;

			for (k = 0; k < n; k++)
				if (!strcmp(pair_sha[k][0], o->sha) && !strcmp(pair_sha[k][1], f->sha))
					break;
			if (k < n) {
				dev(d, HP_DRIVER_OUTSIDE, f->rel_src, "%s has the same bytes as an object already examined",
				    f->rel_out);
				continue;
			}
		}
		dev(d, HP_DRIVER_CHANGED, f->rel_src, "the object %s differs", f->rel_out);
		units[n].orig = o->obj;
		units[n].patched = f->obj;
		pair_sha[n][0] = o->sha;
		pair_sha[n][1] = f->sha;
		n++;
	}
	for (i = 0; i < d->orig.ncc; i++) {
		struct cc_rec *o = &d->orig.cc[i];

		if (is_last(&d->orig, i) && o->in_target && !find_out(&d->fixed, o->rel_out)) {
			dev(d, HP_DRIVER_REFUSED, o->rel_src, "the translation unit is no longer built");
			return hp_err(d->ctx, -HP_E_BUILD, "build: the fix removes the translation unit %s from %s",
				      o->rel_src, tname);
		}
	}
	*ret_units = TAKE_PTR(units);
	*ret_n = n;
	return 0;
}

/* See driver.h; the steps are listed at the top of this file. */
int hp_build_from_diff(struct hp_ctx *ctx, const struct hp_driver_opts *opts, struct hp_driver_report *rep)
{
	struct drv d = { .ctx = ctx, .o = opts, .rep = rep, .keep = opts->keep };
	_cleanup_free_ struct hp_build_unit *units = NULL;
	size_t nunits = 0, i;
	int r;

	memset(rep, 0, sizeof(*rep));
	r = prepare(&d);
	if (r < 0)
		goto out;
	phase(&d, 1, "copying %s twice to %s", opts->srcdir, d.work);
	r = build_copy(&d, "orig", &d.orig, false);
	if (r < 0)
		goto out;
	rep->ncompiled = d.orig.ncc;
	r = collect_compiled(&d);
	if (r < 0)
		goto out;
	r = build_copy(&d, "fixed", &d.fixed, true);
	if (r < 0)
		goto out;
	phase(&d, 4, "comparing the objects of the two builds (%zu compiled)", d.orig.ncc);
	r = pair_units(&d, &units, &nunits);
	if (r < 0)
		goto out;
	if (!nunits) {
		r = hp_err(ctx, -ENODATA, "build: no translation unit of %s changed", strrchr(d.target_real, '/') + 1);
		goto out;
	}
	rep->built = true;
	phase(&d, 5, "diffing %zu changed translation unit%s and writing %s", nunits, nunits == 1 ? "" : "s",
	      opts->build.output ? opts->build.output : "the patch");
	r = hp_build_objects(ctx, &opts->build, units, nunits, &rep->build);
out:
	if (d.work[0]) {
		if (d.keep)
			rep->workdir = strdup(d.work);
		else if (!opts->workdir)
			hp_driver_rm_tree(d.work);
	}
	blog_release(&d.orig);
	blog_release(&d.fixed);
	free(d.target_rel);
	free(d.diff_text);
	hp_diff_release(&d.diff);
	for (i = 0; i < d.ncompiled; i++)
		free(d.compiled[i]);
	free(d.compiled);
	return r;
}
