/* SPDX-License-Identifier: MIT */
/*
 * The assessment session: options, the patches to assess against, the
 * caller's own credentials (read once), and the helpers every check uses to
 * say what it read, why that is ok or not, and what to do about it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/assess/assess.h"
#include "lib/core/elf.h"

#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21

/* Why: checks are built up one at a time; a growing array keeps the order they were made in. */
struct hp_assess_check *hp_check_add(struct hp_check_vec *vec, const char *name)
{
	struct hp_assess_check *c;

	if (HP_GROW(vec->v, vec->cap, vec->n + 1) < 0)
		return NULL;
	c = &vec->v[vec->n++];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->value = c->reason = c->remedy = hp_assess_empty;
	c->result = HP_CHECK_UNKNOWN;
	return c;
}

/* Why: a setter keeps call sites uniform with the text setters below. */
void hp_check_set(struct hp_assess_check *c, enum hp_check_result result)
{
	c->result = result;
}

const char hp_assess_empty[] = "";

/* What a text field says when its text could not be allocated: a result still reads, never NULL. */
static const char no_memory[] = "(out of memory)";

/* Why: results share the static texts; only what was allocated is freed. */
void hp_assess_str_free(const char *s)
{
	if (s && s != hp_assess_empty && s != no_memory)
		free((char *)s);
}

/* Why: paths copied into results are the only text fields that can fail the whole call on ENOMEM. */
int hp_assess_str_set(const char **dst, const char *src)
{
	char *copy = NULL;

	if (*src && !(copy = strdup(src)))
		return -ENOMEM;
	hp_assess_str_free(*dst);
	*dst = copy ? copy : hp_assess_empty;
	return 0;
}

/* Why: every result that holds checks frees them the same way. */
void hp_checks_free(struct hp_assess_check *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		hp_assess_str_free(v[i].value);
		hp_assess_str_free(v[i].reason);
		hp_assess_str_free(v[i].remedy);
	}
	free(v);
}

/* Why: a target is filled in place in its process's array; this undoes that. */
void hp_assess_target_release(struct hp_assess_target *t)
{
	hp_checks_free(t->checks, t->nchecks);
	t->checks = NULL;
	t->nchecks = 0;
	hp_assess_str_free(t->path);
	t->path = hp_assess_empty;
}

static void fmt_field(const char **dst, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * Why: one formatter for the three text fields; the text is as long as it
 * needs to be, and a failed allocation leaves a visible "(out of memory)"
 * rather than failing the whole assessment.
 */
static void fmt_field(const char **dst, const char *fmt, va_list ap)
{
	char *text;

	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	hp_assess_str_free(*dst);
	*dst = text ? text : no_memory;
}

/* Why: what was read, verbatim where possible. */
void hp_check_value(struct hp_assess_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_field(&c->value, fmt, ap);
	va_end(ap);
}

/* Why: every result says why, naming its source. */
void hp_check_reason(struct hp_assess_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_field(&c->reason, fmt, ap);
	va_end(ap);
}

/* Why: every "no" says what to do. */
void hp_check_remedy(struct hp_assess_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_field(&c->remedy, fmt, ap);
	va_end(ap);
}

/* Why: PATCHED is better than ELIGIBLE (nothing left to do), the rest in declaration order. */
static int verdict_rank(enum hp_verdict v)
{
	switch (v) {
	case HP_VERDICT_PATCHED:
		return 0;
	case HP_VERDICT_ELIGIBLE:
		return 1;
	case HP_VERDICT_UNKNOWN:
		return 2;
	case HP_VERDICT_RESTART:
		return 3;
	case HP_VERDICT_NOT_ELIGIBLE:
	default:
		return 4;
	}
}

/* Why: verdicts combine by severity, not by enum order. */
enum hp_verdict hp_verdict_worse(enum hp_verdict a, enum hp_verdict b)
{
	return verdict_rank(a) >= verdict_rank(b) ? a : b;
}

/* Why: advisory checks are shown but never decide. */
enum hp_verdict hp_checks_verdict(const struct hp_assess_check *v, size_t n, enum hp_verdict bad)
{
	enum hp_verdict out = HP_VERDICT_ELIGIBLE;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].advisory)
			continue;
		if (v[i].result == HP_CHECK_NOT_OK)
			out = hp_verdict_worse(out, bad);
		else if (v[i].result == HP_CHECK_UNKNOWN)
			out = hp_verdict_worse(out, HP_VERDICT_UNKNOWN);
	}
	return out;
}

/* Why: these names are the stable JSON values (docs/assess.md). */
const char *hp_verdict_name(enum hp_verdict v)
{
	switch (v) {
	case HP_VERDICT_ELIGIBLE:
		return "eligible";
	case HP_VERDICT_PATCHED:
		return "patched";
	case HP_VERDICT_UNKNOWN:
		return "unknown";
	case HP_VERDICT_RESTART:
		return "restart-required";
	case HP_VERDICT_NOT_ELIGIBLE:
		return "not-eligible";
	}
	return "unknown";
}

/* Why: these names are the stable JSON values (docs/assess.md). */
const char *hp_check_result_name(enum hp_check_result r)
{
	switch (r) {
	case HP_CHECK_OK:
		return "ok";
	case HP_CHECK_NOT_OK:
		return "not-ok";
	case HP_CHECK_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}

/* Why: every host file is read relative to the root, so a fixture tree can stand in for the system. */
int hp_assess_read(struct hp_assess *a, const char *relpath, size_t max, char **ret_buf, size_t *ret_len)
{
	return hp_read_file_at(a->root_fd, relpath, max, ret_buf, ret_len);
}

/*
 * Why: whether the caller holds CAP_SYS_PTRACE decides several host checks
 * (Yama modes 1 and 2) and the reading of seccomp filters (CAP_SYS_ADMIN);
 * under a test root the fixture's proc/self/status stands for the caller.
 */
void hp_assess_caller(struct hp_assess *a)
{
	_cleanup_free_ char *status = NULL;
	uint64_t caps = 0;
	int r;

	if (a->caller_read)
		return;
	a->caller_read = true;
	r = hp_assess_read(a, "proc/self/status", 1 << 16, &status, NULL);
	if (r == 0)
		r = hp_parse_status_caps(status, "CapEff", &caps);
	a->caller_cap_err = r < 0 ? r : 0;
	a->caller_has_sys_ptrace = r == 0 && (caps >> CAP_SYS_PTRACE_BIT & 1);
	a->caller_has_sys_admin = r == 0 && (caps >> CAP_SYS_ADMIN_BIT & 1);
}

/* Why: a test root disables the live probes, which would measure this machine, not the fixture. */
int hp_assess_new(struct hp_ctx *ctx, const struct hp_assess_opts *opts, struct hp_assess **ret_assess)
{
	struct hp_assess_opts o;
	struct hp_assess *a;
	const char *root;
	int r;

	r = HP_OPTS_COPY(ctx, &o, opts);
	if (r < 0)
		return r;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ctx = ctx;
	a->root_fd = -1;
	a->flags = o.flags;
	root = o.root;
	if (root && *root) {
		a->root = strdup(root);
		if (!a->root) {
			free(a);
			return -ENOMEM;
		}
		a->flags |= HP_ASSESS_NO_PROBE;
	}
	a->root_fd = open(a->root ? a->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (a->root_fd < 0) {
		r = -errno;
		hp_err(ctx, r, "assess: cannot open root '%s': %s", a->root ? a->root : "/", hp_strerror(r));
		hp_assess_free(a);
		return r;
	}
	*ret_assess = a;
	return 0;
}

/* Why: the cache holds open ELF handles until the session ends. */
static void symcache_release(struct hp_assess *a)
{
	size_t i;

	for (i = 0; i < a->nsyms; i++) {
		free(a->syms[i].debug_path);
		hp_elf_close(a->syms[i].elf);
	}
	free(a->syms);
	a->syms = NULL;
	a->nsyms = 0;
}

/* Why: the session owns its caches, never the patches it was given. */
void hp_assess_free(struct hp_assess *a)
{
	if (!a)
		return;
	symcache_release(a);
	if (a->root_fd >= 0)
		close(a->root_fd);
	free(a->root);
	free(a->patches);
	free(a);
}

/* Why: patches are borrowed so that the caller can verify or apply them afterwards. */
int hp_assess_add_patch(struct hp_assess *a, const struct hp_patch *patch)
{
	const struct hp_patch **np;

	if (!patch)
		return -EINVAL;
	np = realloc(a->patches, (a->npatches + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	a->patches = np;
	a->patches[a->npatches++] = patch;
	return 0;
}
