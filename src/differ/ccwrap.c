/* SPDX-License-Identifier: MIT */
/*
 * hotpatch-cc: the compiler wrapper of `hotpatch build --diff`.
 *
 * The driver (driver.c) puts links named cc, gcc, c99, ... to this program
 * first in PATH and sets CC to one of them, then runs the user's build.  For
 * every compilation (-c) we add -ffunction-sections -fdata-sections and the
 * prefix maps that make scratch paths read as the user's source directory,
 * run the real compiler, keep a copy of each object (and its dependency
 * file) and append one JSON line describing it to a log.  For every link
 * we record which objects and archives went in, by content hash, so the
 * driver can tell which objects make up the target even when the build
 * renames them.  Everything else (-E, -M, -S, configure probes, --version)
 * goes straight to the real compiler.
 *
 * We never write to stdout: builds capture it (configure does).  Errors of
 * our own go to stderr prefixed "hotpatch-cc:".
 *
 * Environment (all set by the driver; without HP_CCWRAP_LOG we only pass
 * through):
 *   HP_CCWRAP_LOG     JSON-lines log, appended to
 *   HP_CCWRAP_STORE   directory for copies of objects, dependency files and archives
 *   HP_CCWRAP_DIR     directory of the wrapper links, skipped when looking for the real compiler
 *   HP_CCWRAP_FROM, HP_CCWRAP_TO   map the prefix FROM to TO in file names the compiler records
 *   HP_CCWRAP_ACTIVE  set for our children: a nested call (c99 calling gcc) passes through
 *
 * The log format (one object per line; strings are bytes, a byte >= 0x80
 * is written as \u00XX):
 *   {"k":"cc","cwd":C,"src":S,"out":O,"obj":COPY,"sha":HEX,"deps":COPY|null,"lto":B,"args":[...]}
 *   {"k":"ld","cwd":C,"out":O,"in":[{"path":P,"sha":HEX}...],"ar":[{"path":P,"copy":COPY}...]}
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/cleanup.h"
#include "shared/util.h"

#define MAX_COPY (1024u << 20)

/* A growable byte string for one log line. */
struct line {
	char *p;
	size_t n, cap;
	bool oom;
};

/* Why: every write to the log line goes through one bounds-checked append. */
static void put(struct line *l, const char *s, size_t n)
{
	if (l->oom)
		return;
	if (HP_GROW(l->p, l->cap, l->n + n + 1) < 0) {
		l->oom = true;
		return;
	}
	memcpy(l->p + l->n, s, n);
	l->n += n;
	l->p[l->n] = 0;
}

/* Append a literal piece of JSON (keys, punctuation) that needs no escaping. */
static void puts_raw(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/*
 * Why: file names and flags are arbitrary bytes; JSON wants valid UTF-8.
 * Bytes >= 0x80 become \u00XX so the driver gets the exact bytes back.
 */
static void put_str(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		puts_raw(l, "null");
		return;
	}
	put(l, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			put(l, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(l, e, 6);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
	put(l, "\"", 1);
}

/* Append ,"key":"value" with the value escaped. */
static void put_key(struct line *l, const char *key, const char *val)
{
	put(l, ",\"", 2);
	puts_raw(l, key);
	put(l, "\":", 2);
	put_str(l, val);
}

/* Why: one write(2) on an O_APPEND descriptor keeps parallel compilers' lines whole. */
static void log_line(struct line *l)
{
	const char *path = getenv("HP_CCWRAP_LOG");
	_cleanup_close_ int fd = -1;

	if (l->oom || !path) {
		if (l->oom)
			fprintf(stderr, "hotpatch-cc: out of memory writing the build log\n");
		return;
	}
	put(l, "\n", 1);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, l->p, l->n) != (ssize_t)l->n)
		fprintf(stderr, "hotpatch-cc: cannot append to '%s': %s\n", path, strerror(errno));
}

/* Why: the links share a directory with nothing else, so comparing real paths finds them. */
static bool same_dir(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!a || !b || !realpath(a, ra) || !realpath(b, rb))
		return false;
	return !strcmp(ra, rb);
}

/*
 * Find the compiler we stand in for: the first NAME in PATH that is not in
 * the wrapper directory and is not this program under another name.
 */
static int find_real(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH"), *wrapdir = getenv("HP_CCWRAP_DIR");
	char self[PATH_MAX], cand_real[PATH_MAX];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (sn < 0)
		sn = 0;
	self[sn] = 0;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		char dir[PATH_MAX];
		size_t dl = (size_t)(end - path);

		if (dl == 0 || dl >= sizeof(dir)) {
			dir[0] = 0;
		} else {
			memcpy(dir, path, dl);
			dir[dl] = 0;
		}
		path = *end ? end + 1 : end;
		if (!dir[0] || same_dir(dir, wrapdir))
			continue;
		if ((size_t)snprintf(out, outsz, "%s/%s", dir, name) >= outsz)
			continue;
		if (access(out, X_OK) < 0)
			continue;
		if (sn > 0 && realpath(out, cand_real) && !strcmp(cand_real, self))
			continue;
		return 0;
	}
	return -ENOENT;
}

/* Options of GCC and Clang that take the next argument as their value. */
static bool takes_value(const char *a)
{
	static const char *const opts[] = { "-o", "-x", "-I", "-isystem", "-iquote", "-idirafter", "-include",
					    "-imacros", "-iprefix", "-iwithprefix", "-iwithprefixbefore",
					    "-isysroot", "-MF", "-MT", "-MQ", "-D", "-U", "-L", "-l", "-T",
					    "-Xlinker", "-Xassembler", "-Xpreprocessor", "-Xclang", "-aux-info",
					    "-e", "-u", "-z", "--param", "-B", "-target", "--sysroot", "-arch" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (!strcmp(a, opts[i]))
			return true;
	return false;
}

/* Why: sources are told apart from link inputs by their suffix, as the compiler driver does. */
static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

/* Why: only these inputs produce an object file we can compare. */
static bool is_source(const char *a, bool forced)
{
	static const char *const sufs[] = { ".c", ".i", ".cc", ".cpp", ".cxx", ".C", ".c++", ".s", ".S", ".sx" };
	size_t i;

	if (forced)
		return true;
	for (i = 0; i < ARRAY_SIZE(sufs); i++)
		if (has_suffix(a, sufs[i]))
			return true;
	return false;
}

struct cmdline {
	bool c, E, S, M, MD, lto;
	const char *out, *mf;
	const char **srcs;
	size_t nsrcs;
	const char **inputs;		/* non-option arguments that are not sources (link inputs) */
	size_t ninputs;
};

/* Why: decide from the arguments alone whether this call compiles, links or only preprocesses. */
static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	bool forced = false;
	int i;

	cl->srcs = calloc((size_t)argc + 1, sizeof(*cl->srcs));
	cl->inputs = calloc((size_t)argc + 1, sizeof(*cl->inputs));
	if (!cl->srcs || !cl->inputs)
		return -ENOMEM;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (is_source(a, forced))
				cl->srcs[cl->nsrcs++] = a;
			else
				cl->inputs[cl->ninputs++] = a;
			continue;
		}
		if (!strcmp(a, "-c"))
			cl->c = true;
		else if (!strcmp(a, "-E"))
			cl->E = true;
		else if (!strcmp(a, "-S"))
			cl->S = true;
		else if (!strcmp(a, "-M") || !strcmp(a, "-MM"))
			cl->M = true;
		else if (!strcmp(a, "-MD") || !strcmp(a, "-MMD"))
			cl->MD = true;
		else if (!strncmp(a, "-flto", 5))
			cl->lto = true;
		else if (!strcmp(a, "-fno-lto"))
			cl->lto = false;
		else if (!strncmp(a, "-o", 2) && a[2])
			cl->out = a + 2;
		else if (!strncmp(a, "-MF", 3) && a[3])
			cl->mf = a + 3;
		else if (!strncmp(a, "-x", 2) && a[2])
			forced = strcmp(a + 2, "none") != 0;
		if (takes_value(a) && i + 1 < argc) {
			i++;
			if (!strcmp(a, "-o"))
				cl->out = argv[i];
			else if (!strcmp(a, "-MF"))
				cl->mf = argv[i];
			else if (!strcmp(a, "-x"))
				forced = strcmp(argv[i], "none") != 0;
		}
	}
	return 0;
}

/* Run the real compiler and wait; returns its exit status in shell form (128+signal). */
static int run_wait(const char *real, char **args)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return 127;
	if (pid == 0) {
		execv(real, args);
		fprintf(stderr, "hotpatch-cc: cannot run '%s': %s\n", real, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Why: a copy in our store survives the build moving or deleting the file. */
static int store_copy(const char *src, const char *suffix, char *ret_path, size_t sz, char ret_sha[65])
{
	const char *store = getenv("HP_CCWRAP_STORE");
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t sha[32];
	size_t len;
	int r;

	if (!store)
		return -EINVAL;
	r = hp_read_file(src, MAX_COPY, &buf, &len);
	if (r < 0)
		return r;
	if ((size_t)snprintf(ret_path, sz, "%s/f-XXXXXX%s", store, suffix) >= sz)
		return -ENAMETOOLONG;
	fd = mkstemps(ret_path, (int)strlen(suffix));
	if (fd < 0)
		return -errno;
	r = hp_write_all(fd, buf, len);
	if (r < 0)
		return r;
	if (ret_sha) {
		hp_sha256(buf, len, sha);
		hp_hex(sha, sizeof(sha), ret_sha);
	}
	return 0;
}

/* Content hash of a file, or -errno. */
static int file_sha(const char *path, char out[65])
{
	_cleanup_free_ char *buf = NULL;
	uint8_t sha[32];
	size_t len;
	int r = hp_read_file(path, MAX_COPY, &buf, &len);

	if (r < 0)
		return r;
	hp_sha256(buf, len, sha);
	hp_hex(sha, sizeof(sha), out);
	return 0;
}

/* 1 for a relocatable ELF object, 2 for an ar archive, 0 for anything else. */
static int input_kind(const char *path)
{
	unsigned char h[18];
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		return 0;
	if (!memcmp(h, "!<arch>\n", 8))
		return 2;
	if (!memcmp(h, "\177ELF", 4) && h[16] == 1 && h[17] == 0)
		return 1;
	return 0;
}

/* The object a compiler writes for src without -o: its base name with .o. */
static char *default_obj(const char *src, const char *ext)
{
	const char *b = strrchr(src, '/'), *dot;
	char *o;

	b = b ? b + 1 : src;
	dot = strrchr(b, '.');
	if (asprintf(&o, "%.*s%s", (int)(dot ? (size_t)(dot - b) : strlen(b)), b, ext) < 0)
		return NULL;
	return o;
}

/* The dependency file -MD writes when -MF is not given: the object name with .d. */
static char *default_dep(const char *out, const char *src)
{
	const char *dot, *slash;
	char *d;

	if (!out)
		return default_obj(src, ".d");
	dot = strrchr(out, '.');
	slash = strrchr(out, '/');
	if (!dot || (slash && dot < slash))
		dot = out + strlen(out);
	if (asprintf(&d, "%.*s.d", (int)(dot - out), out) < 0)
		return NULL;
	return d;
}

/* Record a link that takes objects or archives: which ones, by content. */
static void record_link(const struct cmdline *cl, const char *cwd)
{
	struct line l = { 0 };
	bool first_in = true, first_ar = true, any = false;
	size_t i;
	char sha[65], copy[PATH_MAX];

	puts_raw(&l, "{\"k\":\"ld\"");
	put_key(&l, "cwd", cwd);
	put_key(&l, "out", cl->out ? cl->out : "a.out");
	puts_raw(&l, ",\"in\":[");
	for (i = 0; i < cl->ninputs; i++) {
		if (input_kind(cl->inputs[i]) != 1 || file_sha(cl->inputs[i], sha) < 0)
			continue;
		puts_raw(&l, first_in ? "{\"path\":" : ",{\"path\":");
		put_str(&l, cl->inputs[i]);
		put_key(&l, "sha", sha);
		puts_raw(&l, "}");
		first_in = false;
		any = true;
	}
	puts_raw(&l, "],\"ar\":[");
	for (i = 0; i < cl->ninputs; i++) {
		if (input_kind(cl->inputs[i]) != 2 || store_copy(cl->inputs[i], ".a", copy, sizeof(copy), NULL) < 0)
			continue;
		puts_raw(&l, first_ar ? "{\"path\":" : ",{\"path\":");
		put_str(&l, cl->inputs[i]);
		put_key(&l, "copy", copy);
		puts_raw(&l, "}");
		first_ar = false;
		any = true;
	}
	puts_raw(&l, "]}");
	if (any)
		log_line(&l);
	free(l.p);
}


/* Record one compiled object: copies of it and its dependency file, and the flags. */
static void record_compile(const struct cmdline *cl, const char *cwd, const char *src, const char *out,
			   const char *dep, int argc, char **argv)
{
	struct line l = { 0 };
	char obj[PATH_MAX], depcopy[PATH_MAX], sha[65];
	int i, r;

	r = store_copy(out, ".o", obj, sizeof(obj), sha);
	if (r < 0) {
		fprintf(stderr, "hotpatch-cc: cannot keep a copy of '%s': %s\n", out, strerror(-r));
		return;
	}
	if (!dep || store_copy(dep, ".d", depcopy, sizeof(depcopy), NULL) < 0)
		depcopy[0] = 0;
	puts_raw(&l, "{\"k\":\"cc\"");
	put_key(&l, "cwd", cwd);
	put_key(&l, "src", src);
	put_key(&l, "out", out);
	put_key(&l, "obj", obj);
	put_key(&l, "sha", sha);
	if (depcopy[0])
		put_key(&l, "deps", depcopy);
	else
		puts_raw(&l, ",\"deps\":null");
	puts_raw(&l, cl->lto ? ",\"lto\":true" : ",\"lto\":false");
	puts_raw(&l, ",\"args\":[");
	for (i = 1; i < argc; i++) {
		if (i > 1)
			put(&l, ",", 1);
		put_str(&l, argv[i]);
	}
	puts_raw(&l, "]}");
	log_line(&l);
	free(l.p);
}

/* Why: the whole point; see the comment at the top of the file. */
static int compile(const char *real, int argc, char **argv, const struct cmdline *cl, const char *cwd)
{
	const char *from = getenv("HP_CCWRAP_FROM"), *to = getenv("HP_CCWRAP_TO");
	_cleanup_free_ char **args = NULL;
	_cleanup_free_ char *fmap = NULL, *dmap = NULL, *depfile = NULL, *ourdep = NULL, *out1 = NULL;
	const char *dep = NULL;
	int n = 0, i, st;

	args = calloc((size_t)argc + 12, sizeof(*args));
	if (!args)
		return 127;
	args[n++] = (char *)real;
	for (i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n++] = "-ffunction-sections";
	args[n++] = "-fdata-sections";
	/* an empty TO is the root directory: FROM/x reads as /x */
	if (from && to && *from) {
		if (asprintf(&fmap, "-ffile-prefix-map=%s=%s", from, to) < 0 ||
		    asprintf(&dmap, "-fdebug-prefix-map=%s=%s", from, to) < 0)
			return 127;
		args[n++] = fmap;
		args[n++] = dmap;
	}
	if (cl->nsrcs == 1) {
		if (!cl->out) {
			out1 = default_obj(cl->srcs[0], ".o");
			if (!out1)
				return 127;
		}
		if (cl->MD) {
			if (!cl->mf)
				depfile = default_dep(cl->out, cl->srcs[0]);
			dep = cl->mf ? cl->mf : depfile;
		} else if (getenv("HP_CCWRAP_STORE")) {
			/* no dependency file of the build's own: write one into the store */
			if (asprintf(&ourdep, "%s/d-%d.d", getenv("HP_CCWRAP_STORE"), (int)getpid()) < 0)
				return 127;
			args[n++] = "-MD";
			args[n++] = "-MF";
			args[n++] = ourdep;
			dep = ourdep;
		}
	}
	args[n] = NULL;
	st = run_wait(real, args);
	if (st != 0)
		return st;
	if (cl->nsrcs == 1) {
		record_compile(cl, cwd, cl->srcs[0], cl->out ? cl->out : out1, dep, argc, argv);
	} else {
		for (i = 0; i < (int)cl->nsrcs; i++) {
			_cleanup_free_ char *o = default_obj(cl->srcs[i], ".o");

			if (o)
				record_compile(cl, cwd, cl->srcs[i], o, NULL, argc, argv);
		}
	}
	if (ourdep)
		unlink(ourdep);
	return 0;
}

/* Options that only matter to the link, with a value in the next argument. */
static bool link_only_with_value(const char *a)
{
	return !strcmp(a, "-Xlinker") || !strcmp(a, "-T") || !strcmp(a, "-L") || !strcmp(a, "-l") || !strcmp(a, "-e") ||
	       !strcmp(a, "-u") || !strcmp(a, "-z");
}

/* Options that only matter to the link; a compile with -c would at best ignore them. */
static bool link_only(const char *a)
{
	static const char *const exact[] = { "-shared", "-static", "-rdynamic", "-pie", "-no-pie", "-static-pie",
					     "-nostdlib", "-nostartfiles", "-nodefaultlibs", "-s", "-static-libgcc" };
	size_t i;

	if (!strncmp(a, "-l", 2) || !strncmp(a, "-L", 2) || !strncmp(a, "-Wl,", 4) || !strncmp(a, "-fuse-ld=", 9) ||
	    !strncmp(a, "-T", 2) || !strncmp(a, "-z", 2))
		return true;
	for (i = 0; i < ARRAY_SIZE(exact); i++)
		if (!strcmp(a, exact[i]))
			return true;
	return false;
}

/* Dependency-file options: each compile of a one-step build writes its own. */
static bool dep_option(const char *a, bool *takes_next)
{
	*takes_next = !strcmp(a, "-MF") || !strcmp(a, "-MT") || !strcmp(a, "-MQ");
	return *takes_next || !strcmp(a, "-MD") || !strcmp(a, "-MMD") || !strcmp(a, "-MP") ||
	       !strncmp(a, "-MF", 3) || !strncmp(a, "-MT", 3) || !strncmp(a, "-MQ", 3);
}

/*
 * "cc -O2 -o prog a.c b.c -lm" compiles and links in one step: there is no
 * object to compare.  Do what the driver does, in two steps we can see:
 * compile each source with -c (and every flag but the link's) to an object
 * beside the output, "prog-hp0-a.o", then link those objects with every
 * flag but the compiler's, the sources replaced by their objects in place.
 * The link's output is the same program; the objects are kept in the store
 * (the copies in the tree are removed after the link, so nothing that
 * lists the directory, configure's probes among them, sees them).
 */
static int one_step(const char *real, int argc, char **argv, const struct cmdline *cl, const char *cwd)
{
	const char *out = cl->out ? cl->out : "a.out";
	_cleanup_free_ char **cargs = calloc((size_t)argc + 8, sizeof(char *));
	_cleanup_free_ char **largs = calloc((size_t)argc + 2, sizeof(char *));
	_cleanup_free_ char **objs = calloc(cl->nsrcs + 1, sizeof(char *));
	struct cmdline lcl = { 0 };
	size_t i, s;
	int n, k, st = 0;

	if (!cargs || !largs || !objs)
		return 127;
	for (s = 0; s < cl->nsrcs; s++) {
		const char *b = strrchr(cl->srcs[s], '/'), *dot;
		struct cmdline ccl = { .c = true, .lto = cl->lto };
		const char *src1[1] = { cl->srcs[s] };
		bool next;

		b = b ? b + 1 : cl->srcs[s];
		dot = strrchr(b, '.');
		if (asprintf(&objs[s], "%s-hp%zu-%.*s.o", out, s, (int)(dot ? (size_t)(dot - b) : strlen(b)), b) < 0) {
			objs[s] = NULL;
			st = 127;
			break;
		}
		n = 0;
		cargs[n++] = (char *)real;
		for (k = 1; k < argc; k++) {
			const char *a = argv[k];

			if (a[0] != '-' || !a[1]) {
				continue;	/* sources and link inputs */
			} else if (!strcmp(a, "-o") || link_only_with_value(a) || (dep_option(a, &next) && next)) {
				k++;
			} else if (!strncmp(a, "-o", 2) || link_only(a) || dep_option(a, &next)) {
				;
			} else {
				cargs[n++] = argv[k];
				if (takes_value(a) && k + 1 < argc)
					cargs[n++] = argv[++k];
			}
		}
		cargs[n++] = "-c";
		cargs[n++] = (char *)cl->srcs[s];
		cargs[n++] = "-o";
		cargs[n++] = objs[s];
		cargs[n] = NULL;
		ccl.out = objs[s];
		ccl.srcs = src1;
		ccl.nsrcs = 1;
		st = compile(real, n, cargs, &ccl, cwd);
		if (st != 0)
			break;
	}
	if (st == 0) {
		lcl.inputs = calloc(cl->ninputs + cl->nsrcs + 1, sizeof(char *));
		if (!lcl.inputs)
			st = 127;
	}
	if (st == 0) {
		bool next;

		n = 0;
		s = 0;
		largs[n++] = (char *)real;
		for (k = 1; k < argc; k++) {
			const char *a = argv[k];

			if (a[0] != '-' || !a[1]) {
				for (i = 0; i < cl->nsrcs && cl->srcs[i] != a; i++)
					;
				largs[n++] = i < cl->nsrcs ? objs[i] : argv[k];
				lcl.inputs[lcl.ninputs++] = largs[n - 1];
			} else if (!strcmp(a, "-x") || (dep_option(a, &next) && next)) {
				k++;	/* the inputs are objects now */
			} else if (!strncmp(a, "-x", 2) || dep_option(a, &next)) {
				;
			} else {
				largs[n++] = argv[k];
				if (takes_value(a) && k + 1 < argc)
					largs[n++] = argv[++k];
			}
		}
		largs[n] = NULL;
		lcl.out = out;
		record_link(&lcl, cwd);
		st = run_wait(real, largs);
	}
	for (s = 0; s < cl->nsrcs && objs[s]; s++) {
		unlink(objs[s]);
		free(objs[s]);
	}
	free(lcl.inputs);
	return st;
}

/*
 * Pass through unless the driver set us up and this call compiles or links;
 * see the comment at the top of the file.
 */
int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	char real[PATH_MAX], cwd[PATH_MAX];
	struct cmdline cl = { 0 };
	bool active;

	name = name ? name + 1 : argv[0];
	if (!strcmp(name, "hotpatch-cc"))
		name = "cc";
	if (find_real(name, real, sizeof(real)) < 0) {
		fprintf(stderr, "hotpatch-cc: no '%s' in PATH besides this wrapper\n", name);
		return 127;
	}
	active = getenv("HP_CCWRAP_ACTIVE") != NULL;
	if (active || !getenv("HP_CCWRAP_LOG") || !getcwd(cwd, sizeof(cwd)) || parse_cmdline(argc, argv, &cl) < 0) {
		argv[0] = real;
		execv(real, argv);
		fprintf(stderr, "hotpatch-cc: cannot run '%s': %s\n", real, strerror(errno));
		return 127;
	}
	setenv("HP_CCWRAP_ACTIVE", "1", 1);
	if (cl.c && !cl.E && !cl.S && !(cl.M && !cl.MD) && cl.nsrcs > 0 && !(cl.out && cl.nsrcs > 1))
		return compile(real, argc, argv, &cl, cwd);
	if (!cl.c && !cl.E && !cl.S && !cl.M && cl.nsrcs)
		return one_step(real, argc, argv, &cl, cwd);
	if (!cl.c && !cl.E && !cl.S && !cl.M)
		record_link(&cl, cwd);
	argv[0] = real;
	execv(real, argv);
	fprintf(stderr, "hotpatch-cc: cannot run '%s': %s\n", real, strerror(errno));
	return 127;
}
