/* SPDX-License-Identifier: MIT */
/*
 * Fresh build directories for the scratch copies (builddir.h).
 *
 * A CMake build directory cannot be copied and reused: CMakeCache.txt
 * holds the source and build directories and the compiler by absolute
 * path, and CMake refuses a cache moved elsewhere.  A meson build
 * directory pickles the same.  What the user chose when configuring is
 * what matters, and both tools write it down: CMake's cache entries
 * (every one not INTERNAL or STATIC was set by the user, by a default or
 * by a find_* call, and passing them back reproduces the configuration),
 * meson's cmd_line.txt (the -D options given) and intro-buildoptions.json
 * (c_args and friends, which also hold CFLAGS from the environment).
 *
 * Also here: what makes a copy of a built tree build again (stale objects
 * removed, sources touched, copied CMake state removed).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builddir.h"

#define CACHE_MAX (16u << 20)
#define ENTRY_MAX 4096

/* Append a copy of str (NULL: keep the vector terminated only). */
int hp_strv_add(struct hp_strv *s, const char *str)
{
	char *c = strdup(str);

	if (!c || HP_GROW(s->v, s->cap, s->n + 2) < 0) {
		free(c);
		return -ENOMEM;
	}
	s->v[s->n++] = c;
	s->v[s->n] = NULL;
	return 0;
}

/* Free the strings and the vector; accepts an empty one. */
void hp_strv_release(struct hp_strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Is dir/name a regular file (not a link that could lead anywhere)? */
static bool has_file(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
		return false;
	return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* See builddir.h. */
enum hp_bdir_kind hp_bdir_kind(const char *dir)
{
	if (has_file(dir, "CMakeCache.txt"))
		return HP_BDIR_CMAKE;
	if (has_file(dir, "meson-private/cmd_line.txt"))
		return HP_BDIR_MESON;
	return HP_BDIR_NONE;
}

/* See builddir.h. */
const char *hp_bdir_kind_name(enum hp_bdir_kind k)
{
	return k == HP_BDIR_CMAKE ? "CMake" : k == HP_BDIR_MESON ? "meson" : "unknown";
}

/* See builddir.h: one line at a time, NAME[:TYPE]=VALUE; a NUL or an over-long line is skipped. */
int hp_bdir_cmake_cache_parse(const char *buf, size_t len,
			      int (*fn)(void *ud, const char *name, const char *type, const char *value), void *ud)
{
	size_t pos = 0;
	int n = 0, r;

	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		char e[ENTRY_MAX], *name, *type = NULL, *eq, *colon;

		pos += ll + 1;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (!ll || ll >= sizeof(e) || line[0] == '#' || (ll > 1 && line[0] == '/' && line[1] == '/') ||
		    memchr(line, 0, ll))
			continue;
		memcpy(e, line, ll);
		e[ll] = 0;
		name = e;
		if (e[0] == '"') {
			char *q = strchr(e + 1, '"');

			if (!q || q == e + 1)
				continue;
			*q = 0;
			name = e + 1;
			eq = q + 1;
			if (*eq == ':') {
				type = eq + 1;
				eq = strchr(type, '=');
			} else if (*eq != '=') {
				continue;
			}
		} else {
			eq = strchr(e, '=');
			if (!eq)
				continue;
			*eq = 0;
			colon = strchr(e, ':');
			if (colon) {
				*colon = 0;
				type = colon + 1;
			}
			*eq = '=';
		}
		if (!eq || *eq != '=')
			continue;
		*eq = 0;
		if (!*name)
			continue;
		r = fn(ud, name, type ? type : "", eq + 1);
		if (r < 0)
			return r;
		n++;
	}
	return n;
}

/* A value with each path of subst replaced (only where a whole path component ends). */
static char *rewrite(const char *v, const char *const (*subst)[2], size_t nsubst)
{
	char *out = strdup(v);
	size_t i;

	for (i = 0; out && i < nsubst; i++) {
		const char *from = subst[i][0], *to = subst[i][1];
		size_t fl = strlen(from), tl = strlen(to), off = 0;
		char *hit;

		if (!fl)
			continue;
		while (out && (hit = strstr(out + off, from)) != NULL) {
			char end = hit[fl];
			size_t at = (size_t)(hit - out), ol = strlen(out);
			char *n;

			if (end && end != '/' && end != ';' && end != ' ' && end != ':' && end != ',') {
				off = at + 1;
				continue;
			}
			n = malloc(ol - fl + tl + 1);
			if (n) {
				memcpy(n, out, at);
				memcpy(n + at, to, tl);
				memcpy(n + at + tl, hit + fl, ol - at - fl + 1);
			}
			free(out);
			out = n;
			off = at + tl;
		}
	}
	return out;
}

struct cm_ctx {
	struct hp_strv *out;
	const char *bindir;
	const char *const (*subst)[2];
	size_t nsubst;
	char gen[256];
	int err;
};

/* Is this the cache entry of a compiler (CMAKE_C_COMPILER, CMAKE_CXX_COMPILER, ...)? */
static bool is_compiler_entry(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "CMAKE_", 6) && n > 15 && !strcmp(name + n - 9, "_COMPILER") &&
	       strchr(name + 6, '_') == name + n - 9;
}

/* One cache entry: -DNAME:TYPE=VALUE for the ones a configure sets, the generator kept aside. */
static int cm_entry(void *ud, const char *name, const char *type, const char *value)
{
	struct cm_ctx *c = ud;
	_cleanup_free_ char *v = NULL, *arg = NULL;

	if (!strcmp(name, "CMAKE_GENERATOR") && strlen(value) < sizeof(c->gen)) {
		hp_strlcpy(c->gen, value, sizeof(c->gen));
		return 0;
	}
	if (!strcmp(type, "INTERNAL") || !strcmp(type, "STATIC") || strchr(name, '\n'))
		return 0;
	if (is_compiler_entry(name)) {
		/* the wrapper stands in for it: the link of the same name, else CC/CXX */
		const char *base = strrchr(value, '/');
		char link[PATH_MAX];

		base = base ? base + 1 : value;
		if (!*base || strchr(base, ' ') || (size_t)snprintf(link, sizeof(link), "%s/%s", c->bindir, base) >=
								      sizeof(link) || access(link, X_OK) < 0)
			return 0;
		v = strdup(link);
	} else {
		v = rewrite(value, c->subst, c->nsubst);
	}
	/* an UNINITIALIZED entry was given on the command line without a type: give it so again */
	if (!strcmp(type, "UNINITIALIZED"))
		type = "";
	if (!v || asprintf(&arg, "-D%s%s%s=%s", name, *type ? ":" : "", type, v) < 0)
		return -ENOMEM;
	return hp_strv_add(c->out, arg);
}

/* cmake -S SRC -B BUILD -G GEN -D... from the user's CMakeCache.txt. */
static int cmake_argv(struct hp_ctx *ctx, const char *dir, const char *src_copy, const char *build_copy,
		      const char *bindir, const char *const (*subst)[2], size_t nsubst, struct hp_strv *out)
{
	_cleanup_free_ char *buf = NULL;
	char p[PATH_MAX];
	size_t len = 0;
	struct cm_ctx c = { .out = out, .bindir = bindir, .subst = subst, .nsubst = nsubst };
	int r;

	if ((size_t)snprintf(p, sizeof(p), "%s/CMakeCache.txt", dir) >= sizeof(p))
		return -ENAMETOOLONG;
	r = hp_read_file(p, CACHE_MAX, &buf, &len);
	if (r < 0)
		return hp_err(ctx, r, "build: cannot read '%s': %s", p, r == -EFBIG ? "too large" : strerror(-r));
	if ((r = hp_strv_add(out, "cmake")) < 0 || (r = hp_strv_add(out, "-S")) < 0 ||
	    (r = hp_strv_add(out, src_copy)) < 0 || (r = hp_strv_add(out, "-B")) < 0 ||
	    (r = hp_strv_add(out, build_copy)) < 0)
		return r;
	r = hp_bdir_cmake_cache_parse(buf, len, cm_entry, &c);
	if (r < 0)
		return r;
	if (!r)
		return hp_err(ctx, -EINVAL, "build: '%s' holds no cache entries; is it a CMake build directory?", p);
	if (c.gen[0] && ((r = hp_strv_add(out, "-G")) < 0 || (r = hp_strv_add(out, c.gen)) < 0))
		return r;
	return 0;
}

/*
 * An array option's value as meson reads it: a Python list literal, so
 * that an argument holding a comma (-Wl,-z,relro) stays one argument.
 */
static char *meson_list(json_t *arr)
{
	char *out = NULL;
	size_t sz = 0, i;
	json_t *e;
	FILE *f = open_memstream(&out, &sz);

	if (!f)
		return NULL;
	fputc('[', f);
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);

		if (!s)
			continue;
		fputs(i ? ", '" : "'", f);
		for (; *s; s++) {
			if (*s == '\\' || *s == '\'')
				fputc('\\', f);
			fputc(*s, f);
		}
		fputc('\'', f);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Was the option key given in cmd_line.txt (kept in out as -Dkey=...)? */
static bool has_option(const struct hp_strv *out, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < out->n; i++)
		if (!strncmp(out->v[i], "-D", 2) && !strncmp(out->v[i] + 2, key, kl) && out->v[i][2 + kl] == '=')
			return true;
	return false;
}

/* meson setup -D... BUILD SRC from cmd_line.txt's [options] and the compiler arguments meson kept. */
static int meson_argv(struct hp_ctx *ctx, const char *dir, const char *src_copy, const char *build_copy,
		      const char *const (*subst)[2], size_t nsubst, struct hp_strv *out)
{
	static const char *const kept[] = { "c_args", "c_link_args", "cpp_args", "cpp_link_args" };
	_cleanup_free_ char *buf = NULL, *intro = NULL;
	char p[PATH_MAX];
	size_t len = 0, ilen = 0, pos = 0, i;
	bool in_options = false;
	int r;

	if ((size_t)snprintf(p, sizeof(p), "%s/meson-private/cmd_line.txt", dir) >= sizeof(p))
		return -ENAMETOOLONG;
	r = hp_read_file(p, CACHE_MAX, &buf, &len);
	if (r < 0)
		return hp_err(ctx, r, "build: cannot read '%s': %s", p, r == -EFBIG ? "too large" : strerror(-r));
	if ((r = hp_strv_add(out, "meson")) < 0 || (r = hp_strv_add(out, "setup")) < 0)
		return r;
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		char e[ENTRY_MAX], *eq, *k, *v, *end;
		_cleanup_free_ char *val = NULL, *arg = NULL;

		pos += ll + 1;
		if (!ll || ll >= sizeof(e) || memchr(line, 0, ll))
			continue;
		memcpy(e, line, ll);
		e[ll] = 0;
		if (e[0] == '[') {
			in_options = !strncmp(e, "[options]", 9);
			continue;
		}
		eq = strchr(e, '=');
		if (!in_options || !eq || e[0] == ' ' || e[0] == '\t' || e[0] == '#' || e[0] == ';')
			continue;
		*eq = 0;
		for (k = e, end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
			end[-1] = 0;
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:") != strlen(k))
			continue;
		val = rewrite(v, subst, nsubst);
		if (!val || asprintf(&arg, "-D%s=%s", k, val) < 0)
			return -ENOMEM;
		r = hp_strv_add(out, arg);
		if (r < 0)
			return r;
	}
	/* CFLAGS and LDFLAGS of the environment at setup time live only in the option values */
	if ((size_t)snprintf(p, sizeof(p), "%s/meson-info/intro-buildoptions.json", dir) < sizeof(p) &&
	    hp_read_file(p, CACHE_MAX, &intro, &ilen) == 0) {
		json_t *j = json_loadb(intro, ilen, 0, NULL), *o;

		json_array_foreach(j, i, o) {
			const char *name = json_string_value(json_object_get(o, "name"));
			const char *mach = json_string_value(json_object_get(o, "machine"));
			json_t *val = json_object_get(o, "value");
			_cleanup_free_ char *lit = NULL, *arg = NULL;
			size_t k;
			bool want = false;

			if (!name || (mach && strcmp(mach, "host")) || !json_is_array(val) || !json_array_size(val))
				continue;
			for (k = 0; k < ARRAY_SIZE(kept); k++)
				want |= !strcmp(name, kept[k]);
			if (!want || has_option(out, name))
				continue;
			lit = meson_list(val);
			if (!lit || asprintf(&arg, "-D%s=%s", name, lit) < 0) {
				json_decref(j);
				return -ENOMEM;
			}
			r = hp_strv_add(out, arg);
			if (r < 0) {
				json_decref(j);
				return r;
			}
		}
		json_decref(j);
	}
	if ((r = hp_strv_add(out, build_copy)) < 0 || (r = hp_strv_add(out, src_copy)) < 0)
		return r;
	return 0;
}

/* See builddir.h. */
int hp_bdir_configure_argv(struct hp_ctx *ctx, enum hp_bdir_kind kind, const char *dir, const char *src_copy,
			   const char *build_copy, const char *bindir, const char *const (*subst)[2], size_t nsubst,
			   struct hp_strv *out)
{
	if (kind == HP_BDIR_CMAKE)
		return cmake_argv(ctx, dir, src_copy, build_copy, bindir, subst, nsubst, out);
	if (kind == HP_BDIR_MESON)
		return meson_argv(ctx, dir, src_copy, build_copy, subst, nsubst, out);
	return hp_err(ctx, -EINVAL, "build: '%s' is neither a CMake nor a meson build directory", dir);
}

/* See builddir.h. */
int hp_bdir_build_argv(enum hp_bdir_kind kind, const char *build_copy, struct hp_strv *out)
{
	int r;

	if (kind == HP_BDIR_CMAKE) {
		if ((r = hp_strv_add(out, "cmake")) < 0 || (r = hp_strv_add(out, "--build")) < 0)
			return r;
	} else {
		if ((r = hp_strv_add(out, "ninja")) < 0 || (r = hp_strv_add(out, "-C")) < 0)
			return r;
	}
	return hp_strv_add(out, build_copy);
}

/* ---- preparing a copy ---- */

/* nftw callback of hp_driver_rm_tree: children first (FTW_DEPTH), never following links. */
static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* See builddir.h. */
void hp_driver_rm_tree(const char *p)
{
	nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static size_t stale_removed;

/* Why: a tree that was built already holds objects make would not recompile with our flags. */
static int rm_stale(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	const char *dot = strrchr(p + ftw->base, '.');

	(void)st;
	if (type == FTW_F && dot && (!strcmp(dot, ".o") || !strcmp(dot, ".lo") || !strcmp(dot, ".obj"))) {
		if (unlink(p) == 0)
			stale_removed++;
	}
	return 0;
}

static size_t sources_touched;

/*
 * Why: a tree that was built holds outputs newer than their sources; make
 * would call everything up to date and compile nothing, and a program
 * compiled and linked in one step leaves no object to remove.  Sources of
 * the copy get the current time, so whatever is built from them is out of
 * date there.  Only regular files: a symbolic link may lead out of the copy.
 */
static int touch_source(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	static const char *const sufs[] = { ".c", ".cc", ".cpp", ".cxx", ".C", ".c++", ".s", ".S", ".sx" };
	const char *dot = strrchr(p + ftw->base, '.');
	size_t i;

	(void)st;
	if (type != FTW_F || !dot)
		return 0;
	for (i = 0; i < ARRAY_SIZE(sufs); i++)
		if (!strcmp(dot, sufs[i])) {
			if (utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW) == 0)
				sources_touched++;
			break;
		}
	return 0;
}

static size_t cmake_scrubbed;
static char cmake_dirs[8][PATH_MAX];
static size_t ncmake_dirs;

/* Why: a CMake-generated Makefile names the tree it was configured for by absolute path. */
static bool cmake_generated(const char *p)
{
	static const char mark[] = "# CMAKE generated file";
	char head[sizeof(mark)];
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	return fd >= 0 && read(fd, head, sizeof(mark) - 1) == (ssize_t)sizeof(mark) - 1 &&
	       !memcmp(head, mark, sizeof(mark) - 1);
}

/* Note each directory that holds a CMakeCache.txt: a CMake build directory. */
static int find_cmake_cache(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type == FTW_F && !strcmp(p + ftw->base, "CMakeCache.txt") && ncmake_dirs < ARRAY_SIZE(cmake_dirs) &&
	    ftw->base < PATH_MAX) {
		memcpy(cmake_dirs[ncmake_dirs], p, (size_t)ftw->base);
		cmake_dirs[ncmake_dirs++][ftw->base] = 0;
	}
	return 0;
}

/* Remove the files of a CMake build directory that name the tree it was configured for. */
static int rm_cmake_state(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	const char *b = p + ftw->base;

	(void)st;
	if (type == FTW_F && (!strcmp(b, "CMakeCache.txt") || !strcmp(b, "cmake_install.cmake") ||
			      !strcmp(b, "CTestTestfile.cmake") || !strcmp(b, "build.ninja") ||
			      !strcmp(b, "rules.ninja") || (!strcmp(b, "Makefile") && cmake_generated(p)))) {
		if (unlink(p) == 0)
			cmake_scrubbed++;
	} else if (type == FTW_D && !strcmp(b, "CMakeFiles")) {
		hp_driver_rm_tree(p);
		cmake_scrubbed++;
		return FTW_SKIP_SUBTREE;
	}
	return FTW_CONTINUE;
}

/*
 * A CMake build directory copied from SRCDIR still points at SRCDIR: its
 * cache and generated Makefiles would compile (and link!) the user's tree,
 * not the copy.  Remove that state in every directory holding a
 * CMakeCache.txt, so the build command has to configure the copy afresh.
 */
static size_t scrub_cmake(const char *root)
{
	size_t i;

	ncmake_dirs = 0;
	cmake_scrubbed = 0;
	nftw(root, find_cmake_cache, 32, FTW_PHYS);
	for (i = 0; i < ncmake_dirs; i++)
		nftw(cmake_dirs[i], rm_cmake_state, 32, FTW_PHYS | FTW_ACTIONRETVAL);
	return ncmake_dirs;
}

/* See builddir.h.  nftw has no user pointer: the counters are file statics, read right after. */
void hp_driver_prepare_copy(const char *dst, struct hp_copy_prep *out)
{
	stale_removed = 0;
	sources_touched = 0;
	nftw(dst, rm_stale, 32, FTW_PHYS);
	nftw(dst, touch_source, 32, FTW_PHYS);
	out->ncmake_dirs = scrub_cmake(dst);
	out->stale_removed = stale_removed;
	out->sources_touched = sources_touched;
}
