/* SPDX-License-Identifier: MIT */
/*
 * hotpatch assess: is this host, and each process, ready for hotpatching,
 * and if not, why and how to fix it.  A thin client of hp_assess_*(): it
 * picks the processes, then renders the results as a table grouped by
 * verdict or as one JSON document (field names in docs/assess.md).
 *
 * Exit codes are this command's own: 0 everything assessed is eligible (or
 * already patched), 1 something is not, 2 the assessment itself failed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "shared/escape.h"
#include "shared/util.h"

enum {
	ASSESS_OK = 0,
	ASSESS_NOT_ELIGIBLE = 1,
	ASSESS_ERROR = 2,
};

const char *const help_assess =
	"usage: hotpatch assess [--patch FILE... | --patch-dir DIR] [-p PID... | --all]\n"
	"                       [--no-stop] [--trust-dir DIR] [--allow-unsigned] [-v] [--json]\n"
	"\n"
	"Check whether this host and its processes can take a hotpatch now, and\n"
	"say why not, with a remedy for every 'no'.\n"
	"\n"
	"Host checks: architecture, kernel, ptrace policy (Yama ptrace_scope,\n"
	"CAP_SYS_PTRACE, SELinux deny_ptrace, AppArmor, lockdown), /proc/PID/mem\n"
	"writes and executable memfds (both measured), and an inventory: Secure\n"
	"Boot, TPM, virtualisation, CPU model, distribution.\n"
	"\n"
	"Process checks (-p PID, --all, or with a patch every process that maps\n"
	"its target): state, tracer, ptrace permission, seccomp filters (read and\n"
	"evaluated for the engine's syscalls; this stops one thread for a few\n"
	"microseconds, --no-stop skips it), W^X restrictions, symbols, patches\n"
	"already applied, and mapped files replaced or deleted on disk (old code\n"
	"that needs a restart, with the systemd unit to restart).  With a patch:\n"
	"the running baseline against the one the patch needs, every symbol it\n"
	"needs, and whether it or a higher level is applied; then, for a process\n"
	"that passes, everything 'hotpatch apply' checks before it writes to the\n"
	"process (as 'apply --dry-run': trust directory, signature, trusted key,\n"
	"function bytes, level, room for the patch, linking), as the check\n"
	"\"apply_checks\".\n"
	"\n"
	"  --patch FILE     assess against this patch (repeatable)\n"
	"  --patch-dir DIR  assess against every *.hpatch file in DIR\n"
	"  -p, --pid PID    assess this process (repeatable)\n"
	"  -a, --all        assess every process\n"
	"  --no-stop        never stop a thread (seccomp filters stay unread)\n"
	"  --trust-dir DIR  trusted public keys, as for apply\n"
	"  --allow-unsigned as for apply: an unsigned patch is not a 'no'\n"
	"  -v, --verbose    show every check, not only those that are not ok\n"
	"      --json       one JSON document on stdout (docs/assess.md)\n"
	"\n"
	"exit codes: 0 all eligible (or already patched), 1 some not eligible,\n"
	"restart required or unknown, 2 error.\n";

struct assess_run {
	struct cli *cli;
	struct hp_assess *a;
	struct hp_patch **patches;
	char **files;
	size_t npatches;
	struct hp_assess_proc **procs;
	size_t nprocs, cap_procs;
	struct {
		pid_t pid;
		char msg[256];
	} *errs;
	size_t nerrs, cap_errs;
};

static int assess_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why: errors carry this command's exit code 2, not the generic mapping of cli_fail(). */
static int assess_error(struct cli *cli, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->json)
		cli_emit_json(json_pack("{s:{s:s,s:s,s:i}}", "error", "kind", "error", "message", msg, "exit_code",
					ASSESS_ERROR));
	else
		fprintf(stderr, "hotpatch assess: %s\n", hp_esc(msg));
	return ASSESS_ERROR;
}

/* Why: a patch that does not parse makes the whole assessment fail (exit 2), naming the file. */
static int add_patch(struct assess_run *run, const char *path)
{
	struct hp_patch *p = NULL, **np;
	char **nf;
	int r;

	r = hp_patch_open(run->cli->ctx, path, &p);
	if (r < 0)
		return assess_error(run->cli, "%s: %s", path, hp_ctx_errmsg(run->cli->ctx));
	np = realloc(run->patches, (run->npatches + 1) * sizeof(*np));
	nf = np ? realloc(run->files, (run->npatches + 1) * sizeof(*nf)) : NULL;
	if (np)
		run->patches = np;
	if (nf)
		run->files = nf;
	if (!np || !nf || !(run->files[run->npatches] = strdup(path))) {
		hp_patch_free(p);
		return assess_error(run->cli, "out of memory");
	}
	run->patches[run->npatches++] = p;
	return 0;
}

/* Why: a patch directory may hold signatures, indexes and keys next to the patches. */
static int filter_hpatch(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 7 && !strcmp(de->d_name + n - 7, ".hpatch");
}

/* Why: sorted, so that output and JSON order are stable. */
static int add_patch_dir(struct assess_run *run, const char *dir)
{
	struct dirent **list = NULL;
	int n, i, r = 0;

	n = scandir(dir, &list, filter_hpatch, alphasort);
	if (n < 0)
		return assess_error(run->cli, "cannot read patch directory '%s': %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		char *path = NULL;

		if (r == 0 && asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0)
			r = assess_error(run->cli, "out of memory");
		if (r == 0)
			r = add_patch(run, path);
		free(path);
		free(list[i]);
	}
	free(list);
	if (r == 0 && n == 0)
		return assess_error(run->cli, "no *.hpatch files in '%s'", dir);
	return r;
}

/* Why: results are collected first so that they can be grouped by verdict. */
static int keep_proc(struct assess_run *run, struct hp_assess_proc *p)
{
	if (HP_GROW(run->procs, run->cap_procs, run->nprocs + 1) < 0) {
		hp_assess_proc_free(p);
		return -ENOMEM;
	}
	run->procs[run->nprocs++] = p;
	return 0;
}

/* Why: with --all one process that cannot be read must not hide the others; it is listed as unknown. */
static int keep_error(struct assess_run *run, pid_t pid, const char *msg)
{
	if (HP_GROW(run->errs, run->cap_errs, run->nerrs + 1) < 0)
		return -ENOMEM;
	run->errs[run->nerrs].pid = pid;
	snprintf(run->errs[run->nerrs].msg, sizeof(run->errs[run->nerrs].msg), "%s", msg);
	run->nerrs++;
	return 0;
}

/* Why: processes that exit meanwhile, kernel threads and non-targets are skipped silently. */
static int scan_all(struct assess_run *run)
{
	struct dirent **list = NULL;
	int n, i, r = 0;

	n = scandir("/proc", &list, NULL, NULL);
	if (n < 0)
		return assess_error(run->cli, "cannot list /proc: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct hp_assess_proc *p = NULL;
		pid_t pid;
		int k;

		if (r == 0 && hp_parse_pid_arg(list[i]->d_name, &pid) == 0 && pid != getpid()) {
			k = hp_assess_process(run->a, pid, &p);
			if (k == 0)
				r = keep_proc(run, p);
			else if (k != -ESRCH && k != -ENOEXEC && k != -HP_E_NOTARGET && k != -ENOENT)
				r = keep_error(run, pid, hp_ctx_errmsg(run->cli->ctx));
		}
		free(list[i]);
	}
	free(list);
	if (r < 0)
		return assess_error(run->cli, "out of memory");
	return 0;
}

/* Why: the overall verdict is the worst one; "patched" counts as good as "eligible". */
static int verdict_rank(enum hp_verdict v)
{
	switch (v) {
	case HP_VERDICT_PATCHED:
	case HP_VERDICT_ELIGIBLE:
		return 0;
	case HP_VERDICT_UNKNOWN:
		return 1;
	case HP_VERDICT_RESTART:
		return 2;
	default:
		return 3;
	}
}

/* Why: processes are listed by pid. */
static int cmp_proc(const void *x, const void *y)
{
	const struct hp_assess_proc *a = *(struct hp_assess_proc *const *)x, *b = *(struct hp_assess_proc *const *)y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

/* ---- JSON ---- */

/* Why: an empty value or remedy is null in JSON, not "". */
static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(hp_esc_utf8(s)) : json_null();
}

/* Why: a missing build-id is null in JSON. */
static json_t *hex_or_null(const uint8_t *b, size_t n)
{
	char hex[2 * HP_BUILD_ID_MAX + 1];

	return n ? json_string(hp_hex(b, n, hex)) : json_null();
}

/* Why: one shape for every check, host, process or patch (docs/assess.md). */
static json_t *check_json(const struct hp_assess_check *c)
{
	return json_pack("{s:s,s:s,s:o,s:s,s:o,s:b}", "name", c->name, "result", hp_check_result_name(c->result),
			 "value", str_or_null(c->value), "reason", hp_esc_utf8(c->reason), "remedy",
			 str_or_null(c->remedy),
			 "advisory", c->advisory);
}

/* Why: checks keep the order the library made them in. */
static json_t *checks_json(const struct hp_assess_check *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, check_json(&v[i]));
	return a;
}

/* Why: inventory is an object keyed by name: consumers look facts up, they do not iterate. */
static json_t *host_json(const struct hp_assess_host *h)
{
	json_t *inv = json_object();
	size_t i;

	for (i = 0; i < h->nfacts; i++) {
		const struct hp_assess_check *f = &h->facts[i];

		json_object_set_new(inv, f->name,
				    json_pack("{s:o,s:s}", "value",
					      f->result == HP_CHECK_OK ? str_or_null(f->value) : json_null(), "reason",
					      f->reason));
	}
	return json_pack("{s:s,s:o,s:o}", "verdict", hp_verdict_name(h->verdict), "checks",
			 checks_json(h->checks, h->nchecks), "inventory", inv);
}

/* Why: the process object of docs/assess.md. */
static json_t *proc_json(const struct hp_assess_proc *p)
{
	json_t *targets = json_array(), *stale = json_array(), *applied = json_array();
	size_t i;

	for (i = 0; i < p->ntargets; i++) {
		const struct hp_assess_target *t = &p->targets[i];

		json_array_append_new(targets,
				      json_pack("{s:s,s:i,s:s,s:o,s:o,s:o,s:o}", "patch_id", t->patch_id, "level",
						(int)t->level, "verdict", hp_verdict_name(t->verdict), "path",
						str_or_null(t->path), "build_id", hex_or_null(t->build_id, t->build_id_len),
						"disk_build_id", hex_or_null(t->disk_build_id, t->disk_build_id_len),
						"checks", checks_json(t->checks, t->nchecks)));
	}
	for (i = 0; i < p->nstale; i++) {
		const struct hp_assess_stale *s = &p->stale[i];

		json_array_append_new(stale, json_pack("{s:s,s:s,s:o,s:o,s:o}", "path", hp_esc_utf8(s->path), "state",
						       s->deleted ? "deleted" : "replaced", "build_id",
						       hex_or_null(s->build_id, s->build_id_len), "disk_build_id",
						       hex_or_null(s->disk_build_id, s->disk_build_id_len), "covered_by",
						       str_or_null(s->covered_by)));
	}
	for (i = 0; i < p->napplied; i++)
		json_array_append_new(applied, json_pack("{s:s,s:i,s:s}", "patch_id", p->applied[i].id, "level",
							 (int)p->applied[i].level, "state",
							 hp_patch_state_name(p->applied[i].state)));
	return json_pack("{s:i,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o}", "pid", (int)p->pid, "comm", hp_esc_utf8(p->comm),
			 "exe",
			 str_or_null(p->exe), "unit", str_or_null(p->unit), "verdict", hp_verdict_name(p->verdict),
			 "checks", checks_json(p->checks, p->nchecks), "targets", targets, "old_code", stale, "applied",
			 applied);
}

/* ---- text ---- */

/* Why: host checks are few: result, name and value on one line, reason and fix below. */
static void print_check(const struct hp_assess_check *c, const char *indent, bool verbose)
{
	bool bad = c->result != HP_CHECK_OK;

	printf("%s%-8s %-15s %s%s\n", indent, hp_check_result_name(c->result), c->name,
	       c->value[0] ? hp_esc(c->value) : "-",
	       c->advisory && bad ? " (advisory)" : "");
	if (bad || verbose)
		printf("%s%-8s %-15s %s\n", indent, "", "", hp_esc(c->reason));
	if (bad && c->remedy[0])
		printf("%s%-8s %-15s fix: %s\n", indent, "", "", hp_esc(c->remedy));
}

/* Why: the host comes first: if it cannot be patched, nothing on it can. */
static void print_host(const struct hp_assess_host *h, bool verbose)
{
	size_t i;

	printf("host: %s\n", hp_verdict_name(h->verdict));
	for (i = 0; i < h->nchecks; i++)
		print_check(&h->checks[i], "  ", verbose);
	printf("\ninventory:\n");
	for (i = 0; i < h->nfacts; i++) {
		const struct hp_assess_check *f = &h->facts[i];

		if (f->result == HP_CHECK_OK)
			printf("  %-15s %s\n", f->name, hp_esc(f->value));
		else
			printf("  %-15s unknown (%s)\n", f->name, hp_esc(f->reason));
	}
}

/* Why: processes can be many, so each check that is not ok takes two lines: what and how to fix it. */
static void print_proc_check(const struct hp_assess_check *c, const char *indent, bool verbose)
{
	if (verbose) {
		print_check(c, indent, true);
		return;
	}
	printf("%s%s %s: %s\n", indent, hp_check_result_name(c->result), c->name, hp_esc(c->reason));
	if (c->remedy[0])
		printf("%s  fix: %s\n", indent, hp_esc(c->remedy));
}

/* Why: one line per process, then only what is wrong with it (everything with -v). */
static void print_proc(const struct hp_assess_proc *p, bool verbose)
{
	char hex[2 * HP_BUILD_ID_MAX + 1], dhex[2 * HP_BUILD_ID_MAX + 1];
	size_t i, k;

	printf("  %-8d %-16s %-28s %s\n", p->pid, hp_esc(p->comm), p->unit[0] ? hp_esc(p->unit) : "-",
	       p->exe[0] ? hp_esc(p->exe) : "-");
	for (i = 0; i < p->nchecks; i++)
		if (verbose || (p->checks[i].result != HP_CHECK_OK && !p->checks[i].advisory))
			print_proc_check(&p->checks[i], "           ", verbose);
	for (i = 0; i < p->ntargets; i++) {
		const struct hp_assess_target *t = &p->targets[i];

		printf("           patch %s (level %u): %s\n", t->patch_id, t->level, hp_verdict_name(t->verdict));
		for (k = 0; k < t->nchecks; k++)
			if (verbose || t->checks[k].result != HP_CHECK_OK)
				print_proc_check(&t->checks[k], "             ", verbose);
	}
	for (i = 0; i < p->nstale; i++) {
		const struct hp_assess_stale *s = &p->stale[i];

		printf("           old code: %s (%s; runs %s, disk %s)%s%s\n", hp_esc(s->path),
		       s->deleted ? "deleted" : "replaced",
		       s->build_id_len ? hp_hex(s->build_id, s->build_id_len, hex) : "?",
		       s->disk_build_id_len ? hp_hex(s->disk_build_id, s->disk_build_id_len, dhex) : "-",
		       s->covered_by[0] ? ", covered by " : "", s->covered_by);
	}
}

static const enum hp_verdict group_order[] = { HP_VERDICT_NOT_ELIGIBLE, HP_VERDICT_RESTART, HP_VERDICT_UNKNOWN,
					       HP_VERDICT_ELIGIBLE, HP_VERDICT_PATCHED };

/* Why: grouped by verdict, worst first, so that the operator reads what needs action first. */
static void print_text(const struct assess_run *run, const struct hp_assess_host *h, bool verbose, bool any_procs)
{
	size_t i, g;

	print_host(h, verbose);
	for (i = 0; i < run->npatches; i++) {
		const struct hp_manifest *m = hp_patch_manifest(run->patches[i]);
		char hex[2 * HP_BUILD_ID_MAX + 1];

		printf("%spatch %s: %s level %u for %s build %s\n", i ? "" : "\n", hp_esc(run->files[i]), m->id,
		       m->level,
		       hp_esc(m->target_name), hp_hex(m->build_id, m->build_id_len, hex));
	}
	if (!any_procs)
		return;
	for (g = 0; g < sizeof(group_order) / sizeof(group_order[0]); g++) {
		size_t n = 0;

		for (i = 0; i < run->nprocs; i++)
			n += run->procs[i]->verdict == group_order[g];
		if (group_order[g] == HP_VERDICT_UNKNOWN)
			n += run->nerrs;
		if (!n)
			continue;
		printf("\n%s (%zu)\n  %-8s %-16s %-28s %s\n", hp_verdict_name(group_order[g]), n, "PID", "COMM", "UNIT",
		       "EXE");
		for (i = 0; i < run->nprocs; i++)
			if (run->procs[i]->verdict == group_order[g])
				print_proc(run->procs[i], verbose);
		if (group_order[g] == HP_VERDICT_UNKNOWN)
			for (i = 0; i < run->nerrs; i++)
				printf("  %-8d %s\n", run->errs[i].pid, hp_esc(run->errs[i].msg));
	}
	if (!run->nprocs && !run->nerrs)
		printf("\nno process %s\n", run->npatches ? "maps a target of the given patches" : "to assess");
}

/* Why: one place frees what a run collected, on every path. */
static void run_release(struct assess_run *run)
{
	size_t i;

	for (i = 0; i < run->nprocs; i++)
		hp_assess_proc_free(run->procs[i]);
	free(run->procs);
	hp_assess_free(run->a);
	for (i = 0; i < run->npatches; i++) {
		hp_patch_free(run->patches[i]);
		free(run->files[i]);
	}
	free(run->patches);
	free(run->files);
	free(run->errs);
}

/* Why: a remedy for each way the dry run of apply can refuse. */
static const char *dry_run_remedy(int err)
{
	switch (-err) {
	case HP_E_UNSIGNED:
		return "sign the patch (hotpatch sign), or apply with --allow-unsigned";
	case HP_E_UNKNOWNKEY:
		return "install the signer's public key in the trust directory";
	case HP_E_BADSIG:
		return "the file was modified after signing: fetch it again";
	case ENOENT:
	case EPERM:
	case EACCES:
		return "check the trust directory (--trust-dir, $HOTPATCH_TRUST_DIR, /etc/hotpatch/trusted.d)";
	default:
		return "see the reason; 'hotpatch apply' would refuse the same way";
	}
}

/*
 * Why: assess must not say eligible where apply would refuse: for every
 * target found eligible, run apply's own checks (a dry run: nothing is
 * written) and add them as the check "apply_checks".  A failure makes the
 * target not eligible; a process none of whose targets stays eligible is
 * not eligible.
 */
static int dry_run_targets(struct assess_run *run, struct hp_assess_proc *p, const struct hp_apply_opts *o)
{
	bool any_ok = false, any = false;
	size_t i, k;

	for (i = 0; i < p->ntargets; i++) {
		struct hp_assess_target *t = &p->targets[i];
		const struct hp_patch *patch = NULL;
		struct hp_assess_check *nc, *c;
		struct hp_apply_result res = { .sz = sizeof(res) };
		int r;

		if (t->verdict == HP_VERDICT_PATCHED)
			any_ok = true;
		if (t->verdict != HP_VERDICT_ELIGIBLE)
			continue;
		for (k = 0; k < run->npatches && !patch; k++) {
			const struct hp_manifest *m = hp_patch_manifest(run->patches[k]);

			if (!strcmp(m->id, t->patch_id) && m->level == t->level)
				patch = run->patches[k];
		}
		if (!patch)
			continue;
		any = true;
		r = hp_apply(run->cli->ctx, p->pid, patch, o, &res);
		nc = realloc(t->checks, (t->nchecks + 1) * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->checks = nc;
		c = &t->checks[t->nchecks];
		memset(c, 0, sizeof(*c));
		c->name = "apply_checks";
		/* the texts are owned by the result (freed with it): always heap copies */
		if (r == 0) {
			c->result = HP_CHECK_OK;
			c->value = strdup("");
			c->reason = strdup("every check of 'hotpatch apply' passed (dry run)");
			c->remedy = strdup("");
			any_ok = true;
		} else {
			c->result = HP_CHECK_NOT_OK;
			c->value = strdup(cli_exit_name(cli_exit_code(r)));
			c->reason = strdup(hp_ctx_errmsg(run->cli->ctx)[0] ? hp_ctx_errmsg(run->cli->ctx) : hp_strerror(r));
			c->remedy = strdup(dry_run_remedy(r));
			t->verdict = HP_VERDICT_NOT_ELIGIBLE;
		}
		if (!c->value || !c->reason || !c->remedy) {
			free((char *)c->value);
			free((char *)c->reason);
			free((char *)c->remedy);
			return -ENOMEM;
		}
		t->nchecks++;
	}
	if (any && !any_ok && p->verdict == HP_VERDICT_ELIGIBLE)
		p->verdict = HP_VERDICT_NOT_ELIGIBLE;
	return 0;
}

/* Why: what the command line asks for, parsed once and read by every step of the run. */
struct assess_args {
	const char **patch_files;	/* --patch, in order (pointers into argv) */
	size_t npf;
	const char *patch_dir;
	pid_t *pids;			/* -p, in order */
	size_t npids;
	bool all, verbose;
	struct hp_assess_opts ao;
	struct hp_apply_opts dry;	/* apply's checks, run as a dry run */
};

/* Why: one place frees what parsing collected, on every path. */
static void args_release(struct assess_args *args)
{
	free(args->patch_files);
	free(args->pids);
}

/*
 * Why: the options and their conflicts, checked before anything is read
 * from the host; ASSESS_OK, or the exit code of the usage or memory error
 * already reported.
 */
static int parse_args(struct cli *cli, int argc, char **argv, struct assess_args *args)
{
	enum { OPT_PATCH = 256, OPT_PATCH_DIR, OPT_ALL, OPT_NO_STOP, OPT_ROOT, OPT_TRUST, OPT_UNSIGNED };
	static const struct option opts[] = {
		{ "patch", required_argument, NULL, OPT_PATCH },
		{ "patch-dir", required_argument, NULL, OPT_PATCH_DIR },
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "trust-dir", required_argument, NULL, OPT_TRUST },
		{ "allow-unsigned", no_argument, NULL, OPT_UNSIGNED },
		{ "no-stop", no_argument, NULL, OPT_NO_STOP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "root", required_argument, NULL, OPT_ROOT },	/* tests: a fixture tree; not in --help */
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":p:av" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case OPT_PATCH: {
			const char **nf = realloc(args->patch_files, (args->npf + 1) * sizeof(*nf));

			if (!nf)
				return assess_error(cli, "out of memory");
			args->patch_files = nf;
			args->patch_files[args->npf++] = optarg;
			break;
		}
		case OPT_PATCH_DIR:
			args->patch_dir = optarg;
			break;
		case 'p': {
			pid_t pid, *np;

			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "assess", "'%s' is not a process id", optarg);
			np = realloc(args->pids, (args->npids + 1) * sizeof(*np));
			if (!np)
				return assess_error(cli, "out of memory");
			args->pids = np;
			args->pids[args->npids++] = pid;
			break;
		}
		case OPT_ALL:
		case 'a':
			args->all = true;
			break;
		case OPT_NO_STOP:
			args->ao.flags |= HP_ASSESS_NO_STOP;
			break;
		case OPT_ROOT:
			args->ao.root = optarg;
			break;
		case OPT_TRUST:
			args->dry.trust_dir = optarg;
			break;
		case OPT_UNSIGNED:
			args->dry.flags |= HP_APPLY_ALLOW_UNSIGNED;
			break;
		case 'v':
			args->verbose = true;
			break;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			return cli_bad_option(cli, "assess", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "assess", "unexpected argument '%s'", argv[optind]);
	if (args->npf && args->patch_dir)
		return cli_usage(cli, "assess", "--patch and --patch-dir exclude each other");
	if (args->npids && args->all)
		return cli_usage(cli, "assess", "-p and --all exclude each other");
	return ASSESS_OK;
}

/*
 * Why: every patch is parsed before the host is looked at, so a bad file
 * fails the run (exit 2) without a half assessment; the session then
 * knows them all.
 */
static int load_patches(struct assess_run *run, struct assess_args *args)
{
	size_t i;
	int r = ASSESS_OK;

	for (i = 0; i < args->npf && r == ASSESS_OK; i++)
		r = add_patch(run, args->patch_files[i]);
	if (r == ASSESS_OK && args->patch_dir)
		r = add_patch_dir(run, args->patch_dir);
	if (r != ASSESS_OK)
		return r;
	if (run->npatches && !args->npids)
		args->ao.flags |= HP_ASSESS_ONLY_TARGETS;
	if (hp_assess_new(run->cli->ctx, &args->ao, &run->a) < 0)
		return assess_error(run->cli, "%s", hp_ctx_errmsg(run->cli->ctx));
	for (i = 0; i < run->npatches; i++)
		if (hp_assess_add_patch(run->a, run->patches[i]) < 0)
			return assess_error(run->cli, "out of memory");
	return ASSESS_OK;
}

/*
 * Why: the processes asked for by -p (any failure there is the run's), then,
 * with --all or with patches and no -p, every process (one that cannot be
 * read is listed as unknown).
 */
static int assess_processes(struct assess_run *run, const struct assess_args *args)
{
	size_t i;

	for (i = 0; i < args->npids; i++) {
		struct hp_assess_proc *p = NULL;

		if (hp_assess_process(run->a, args->pids[i], &p) < 0)
			return assess_error(run->cli, "%s", hp_ctx_errmsg(run->cli->ctx));
		if (keep_proc(run, p) < 0)
			return assess_error(run->cli, "out of memory");
	}
	if (args->all || (run->npatches && !args->npids))
		return scan_all(run);
	return ASSESS_OK;
}

/* Why: with patches (and a real root), every eligible target also passes apply's own checks. */
static int check_apply(struct assess_run *run, const struct assess_args *args)
{
	size_t i;

	if (!run->npatches || args->ao.root)
		return ASSESS_OK;
	for (i = 0; i < run->nprocs; i++)
		if (dry_run_targets(run, run->procs[i], &args->dry) < 0)
			return assess_error(run->cli, "out of memory");
	return ASSESS_OK;
}

/* Why: the worst verdict of the host and every process; a process that could not be read makes "eligible" unknown. */
static enum hp_verdict overall_verdict(const struct assess_run *run, const struct hp_assess_host *host)
{
	enum hp_verdict overall = host->verdict;
	size_t i;

	for (i = 0; i < run->nprocs; i++)
		if (verdict_rank(run->procs[i]->verdict) > verdict_rank(overall))
			overall = run->procs[i]->verdict;
	if (run->nerrs && overall == HP_VERDICT_ELIGIBLE)
		overall = HP_VERDICT_UNKNOWN;
	return overall;
}

/* Why: the one JSON document of docs/assess.md: verdict, host, patches, processes and a summary. */
static void print_json(const struct assess_run *run, const struct hp_assess_host *host, enum hp_verdict overall,
		       int exit_code)
{
	json_t *j = json_object(), *procs = json_array(), *patches = json_array(), *sum;
	size_t counts[5] = { 0 };
	size_t i;

	for (i = 0; i < run->npatches; i++) {
		const struct hp_manifest *m = hp_patch_manifest(run->patches[i]);
		char hex[2 * HP_BUILD_ID_MAX + 1];

		json_array_append_new(patches, json_pack("{s:s,s:s,s:i,s:{s:s,s:s}}", "file", run->files[i], "patch_id",
							 m->id, "level", (int)m->level, "target", "name",
							 m->target_name, "build_id",
							 hp_hex(m->build_id, m->build_id_len, hex)));
	}
	for (i = 0; i < run->nprocs; i++) {
		json_array_append_new(procs, proc_json(run->procs[i]));
		counts[run->procs[i]->verdict]++;
	}
	for (i = 0; i < run->nerrs; i++) {
		json_array_append_new(procs, json_pack("{s:i,s:s,s:s}", "pid", (int)run->errs[i].pid, "verdict",
						       "unknown", "error", run->errs[i].msg));
		counts[HP_VERDICT_UNKNOWN]++;
	}
	sum = json_pack("{s:i,s:i,s:i,s:i,s:i}", "eligible", (int)counts[HP_VERDICT_ELIGIBLE], "patched",
			(int)counts[HP_VERDICT_PATCHED], "unknown", (int)counts[HP_VERDICT_UNKNOWN],
			"restart_required", (int)counts[HP_VERDICT_RESTART], "not_eligible",
			(int)counts[HP_VERDICT_NOT_ELIGIBLE]);
	json_object_set_new(j, "verdict", json_string(hp_verdict_name(overall)));
	json_object_set_new(j, "exit_code", json_integer(exit_code));
	json_object_set_new(j, "host", host_json(host));
	json_object_set_new(j, "patches", patches);
	json_object_set_new(j, "processes", procs);
	json_object_set_new(j, "summary", sum);
	cli_emit_json(j);
}

/*
 * Why: the command is a pipeline: parse -> load patches -> assess the host
 * -> assess processes -> apply's checks -> verdict -> render once.  Every
 * step reports its own error and returns this command's exit code.
 */
int cmd_assess(struct cli *cli, int argc, char **argv)
{
	struct assess_args args = {
		.verbose = cli->verbose > 0,
		.ao = { .sz = sizeof(args.ao) },
		.dry = { .sz = sizeof(args.dry), .flags = HP_APPLY_DRY_RUN },
	};
	struct assess_run run = { .cli = cli };
	struct hp_assess_host *host = NULL;
	enum hp_verdict overall;
	int r;

	r = parse_args(cli, argc, argv, &args);
	if (r == ASSESS_OK)
		r = load_patches(&run, &args);
	if (r == ASSESS_OK && hp_assess_host(run.a, &host) < 0)
		r = assess_error(cli, "%s", hp_ctx_errmsg(cli->ctx));
	if (r == ASSESS_OK)
		r = assess_processes(&run, &args);
	if (r == ASSESS_OK)
		r = check_apply(&run, &args);
	if (r != ASSESS_OK)
		goto out;
	qsort(run.procs, run.nprocs, sizeof(*run.procs), cmp_proc);
	overall = overall_verdict(&run, host);
	r = overall == HP_VERDICT_ELIGIBLE ? ASSESS_OK : ASSESS_NOT_ELIGIBLE;
	if (cli->json)
		print_json(&run, host, overall, r);
	else
		print_text(&run, host, args.verbose, args.npids || args.all || run.npatches);
out:
	hp_assess_host_free(host);
	run_release(&run);
	args_release(&args);
	return r;
}
