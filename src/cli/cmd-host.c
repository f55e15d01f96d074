/* SPDX-License-Identifier: MIT */
/*
 * The --all forms of apply, revert and status: one line per process that
 * runs some build of the target (or has a patch applied), then a summary;
 * or one JSON document with the same content.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <stdlib.h>

#include "cli.h"
#include "select.h"
#include "shared/escape.h"
#include "output.h"
#include "shared/util.h"

static volatile int host_cancel;

/* Why: Ctrl-C during a sweep must not kill the CLI halfway through an operation on some process. */
static void on_signal(int sig)
{
	static const char msg[] = "hotpatch: interrupted; finishing the processes in progress\n";

	(void)sig;
	if (!host_cancel) {
		ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

		(void)n;
	}
	host_cancel = 1;
}

struct saved_signals {
	struct sigaction old[3];
};

static const int caught[3] = { SIGINT, SIGTERM, SIGHUP };

/* Why: the handlers only last for the sweep. */
static void catch_signals(struct saved_signals *s)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &s->old[i]);
}

/* Why: after the sweep, signals do what they did before it. */
static void restore_signals(const struct saved_signals *s)
{
	int i;

	for (i = 0; i < 3; i++)
		sigaction(caught[i], &s->old[i], NULL);
}

/* Why: outcome names are part of the JSON interface; keep them in one place. */
static const char *outcome_name(enum hp_host_outcome o)
{
	switch (o) {
	case HP_HOST_PATCHED:
		return "patched";
	case HP_HOST_ALREADY:
		return "nothing-to-do";
	case HP_HOST_REVERTED:
		return "reverted";
	case HP_HOST_RESTART:
		return "restart-required";
	case HP_HOST_FAILED:
		return "failed";
	case HP_HOST_EXITED:
		return "exited";
	case HP_HOST_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}

/* Why: one JSON object per process; the fields scripts need to act on it. */
static json_t *proc_json(const struct hp_host_proc *p)
{
	char hex[2 * HP_BUILD_ID_MAX + 1];
	json_t *j = json_pack("{s:i,s:i,s:s,s:s,s:b,s:i}", "pid", (int)p->pid, "ppid", (int)p->ppid, "comm",
			      p->comm, "outcome", outcome_name(p->outcome), "container", p->other_mntns,
			      "busy_retries", (int)p->busy_retries);

	json_object_set_new(j, "message", p->message[0] ? json_string(p->message) : json_null());
	if (p->err && (p->outcome == HP_HOST_FAILED || p->outcome == HP_HOST_UNKNOWN)) {
		int c = cli_exit_code(p->err);

		json_object_set_new(j, "error", json_pack("{s:s,s:s,s:i}", "kind", cli_exit_name(c), "message",
							  p->message, "exit_code", c));
	} else {
		json_object_set_new(j, "error", json_null());
	}
	json_object_set_new(j, "target", p->target[0] || p->build_id_len ?
				json_pack("{s:s,s:o}", "path", p->target, "build_id",
					  p->build_id_len ? json_string(hp_hex(p->build_id, p->build_id_len, hex)) :
							    json_null()) : json_null());
	json_object_set_new(j, "inherited_from", p->inherited_from ? json_integer(p->inherited_from) : json_null());
	if (p->result.attempts) {
		json_object_set_new(j, "pause_us", json_integer((json_int_t)(p->result.pause_ns / 1000)));
		json_object_set_new(j, "threads", json_integer(p->result.nthreads));
		json_object_set_new(j, "attempts", json_integer(p->result.attempts));
	}
	if (p->result.total_ns)
		json_object_set_new(j, "total_us", json_integer((json_int_t)(p->result.total_ns / 1000)));
	return j;
}

/* Why: the human form says what happened to each process in one line, and why when it was not patched. */
static void proc_line(const struct hp_host_proc *p, const char *id, bool id_is_revert)
{
	printf("pid %d (%s)%s: ", p->pid, p->comm[0] ? hp_esc(p->comm) : "?", p->other_mntns ? " [container]" : "");
	switch (p->outcome) {
	case HP_HOST_PATCHED:
	case HP_HOST_REVERTED:
		printf("%s %s", p->outcome == HP_HOST_PATCHED ? "patched" : "reverted", id);
		if (p->result.level)
			printf(" (level %u)", p->result.level);
		if (p->inherited_from)
			printf(", inherited by fork from pid %d", p->inherited_from);
		if (p->result.attempts)
			printf("; threads paused %" PRIu64 " µs (%u thread%s)", p->result.pause_ns / 1000,
			       p->result.nthreads, p->result.nthreads == 1 ? "" : "s");
		if (p->busy_retries)
			printf("; busy, retried %u time%s", p->busy_retries, p->busy_retries == 1 ? "" : "s");
		printf("\n");
		break;
	case HP_HOST_ALREADY:
		if (p->inherited_from)
			printf("already at this level, inherited by fork from pid %d\n", p->inherited_from);
		else
			printf("%s: %s\n", p->err == -HP_E_NOTAPPLIED ? "not applied" :
			       p->err == -HP_E_DOWNGRADE ? "a higher level is applied" : "already at this level",
			       hp_esc(p->message));
		break;
	case HP_HOST_RESTART:
		printf("%s\n", hp_esc(p->message));
		break;
	case HP_HOST_FAILED:
		printf("failed (%s)%s: %s\n", cli_exit_name(cli_exit_code(p->err)),
		       p->busy_retries ? " after busy retries" : "", hp_esc(p->message));
		break;
	case HP_HOST_EXITED:
		printf("exited: %s\n", hp_esc(p->message));
		break;
	case HP_HOST_UNKNOWN:
		printf("unknown: cannot tell whether it %s: %s\n", id_is_revert ? "has the patch" : "runs the target",
		       hp_esc(p->message));
		break;
	}
}

/* Why: 0 only when every process that runs the target build ended up with the patch (or without it, for revert). */
static int sweep_exit_code(const struct hp_host_result *r, bool cancelled)
{
	if (r->nfailed || cancelled)
		return HP_EXIT_PARTIAL;
	if (r->nunknown)
		return HP_EXIT_INCOMPLETE;
	if (r->nrestart)
		return HP_EXIT_NOTARGET;
	if (!r->npatched && !r->nreverted)
		return HP_EXIT_NOTHING;
	return HP_EXIT_OK;
}

/*
 * Why: each process is printed as it finishes (a line, or with --json-seq
 * one JSON object per line); the workers call this concurrently.
 */
struct stream {
	struct cli *cli;
	const char *id;
	bool revert;
	unsigned level;			/* apply: the patch's */
	const char *build_id, *key_id;	/* apply: the patch's target build and signer */
	pthread_mutex_t lock;
	pid_t *done;
	size_t ndone, cap;
};

/* Why: hp_host_opts.progress: print one process now, and remember it was printed. */
static void on_proc(void *ud, const struct hp_host_proc *p)
{
	struct stream *st = ud;

	pthread_mutex_lock(&st->lock);
	if (st->ndone == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		pid_t *nv = realloc(st->done, ncap * sizeof(*nv));

		if (!nv) {
			pthread_mutex_unlock(&st->lock);
			return;	/* not remembered: printed again at the end */
		}
		st->done = nv;
		st->cap = ncap;
	}
	st->done[st->ndone++] = p->pid;
	if (p->outcome == HP_HOST_PATCHED || p->outcome == HP_HOST_REVERTED || p->outcome == HP_HOST_FAILED) {
		char bid[2 * HP_BUILD_ID_MAX + 1];
		struct cli_audit_rec rec = { .pid = p->pid, .revert = st->revert, .patch_id = st->id,
					     .level = st->revert ? p->result.level : st->level,
					     .build_id = st->build_id, .key_id = st->key_id,
					     .err = p->outcome == HP_HOST_FAILED ? (p->err ? p->err : -1) : 0,
					     .message = p->message, .comm = p->comm[0] ? p->comm : NULL };

		if (!rec.build_id && p->build_id_len)
			rec.build_id = hp_hex(p->build_id, p->build_id_len, bid);
		if (!p->inherited_from)
			cli_audit(&rec);
	}
	if (st->cli->json_seq) {
		json_t *j = proc_json(p);

		json_object_set_new(j, "type", json_string("process"));
		cli_emit_json(j);
	} else if (!st->cli->json) {
		proc_line(p, st->id, st->revert);
		fflush(stdout);
	}
	pthread_mutex_unlock(&st->lock);
}

/* Why: the processes the workers did not hand over (left waiting by an interrupt) are printed at the end. */
static bool streamed(const struct stream *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->ndone; i++)
		if (st->done[i] == pid)
			return true;
	return false;
}

/*
 * Why: without CAP_SYS_PTRACE and CAP_SYS_ADMIN the memory of other users'
 * processes cannot be read: say so once, up front, rather than let a
 * sweep look complete.  Returns whether the caller can read every process.
 */
bool cli_can_see_host(struct cli *cli)
{
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "CapEff:", 7)) {
				eff = strtoull(line + 7, NULL, 16);
				found = true;
			}
		fclose(f);
	}
	/* CAP_SYS_PTRACE (19): other users' maps and memory; CAP_SYS_ADMIN (21): /proc/PID/map_files */
	if (found && (eff & (1ull << 19)) && (eff & (1ull << 21)))
		return true;
	if (!cli->json && !cli->quiet)
		fprintf(stderr, "hotpatch: warning: not privileged (needs root: CAP_SYS_PTRACE and CAP_SYS_ADMIN): "
				"processes this user cannot read are reported as unknown and the sweep is incomplete\n");
	return false;
}

/* Why: apply and revert print the same report. */
static int report(struct cli *cli, const char *action, const char *id, unsigned level,
		  const struct hp_host_result *r, const struct stream *st, bool privileged)
{
	bool cancelled = host_cancel != 0;
	int code = sweep_exit_code(r, cancelled);
	double secs = r->total_ns / 1e9;
	size_t i;

	if (cli->json_seq) {
		for (i = 0; i < r->nprocs; i++)
			if (!streamed(st, r->procs[i].pid)) {
				json_t *j = proc_json(&r->procs[i]);

				json_object_set_new(j, "type", json_string("process"));
				cli_emit_json(j);
			}
	}
	if (cli->json) {
		json_t *procs = json_array(), *sum, *doc;

		for (i = 0; i < r->nprocs && !cli->json_seq; i++)
			json_array_append_new(procs, proc_json(&r->procs[i]));
		sum = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:b,s:b}", "patched", (json_int_t)r->npatched,
				"nothing_to_do", (json_int_t)r->nalready, "reverted", (json_int_t)r->nreverted,
				"restart_required", (json_int_t)r->nrestart, "failed", (json_int_t)r->nfailed,
				"exited", (json_int_t)r->nexited, "unknown", (json_int_t)r->nunknown,
				"busy_retried", (json_int_t)r->nbusy_retried,
				"scanned", (json_int_t)r->nscanned, "jobs", (int)r->jobs, "total_us",
				(json_int_t)(r->total_ns / 1000), "interrupted", cancelled, "privileged", privileged);
		doc = json_pack("{s:s,s:s,s:i,s:o,s:i,s:s}", "command", action, "patch_id", id, "level", (int)level,
				"summary", sum, "exit_code", code, "result", cli_exit_name(code));
		if (cli->json_seq) {
			json_decref(procs);
			json_object_set_new(doc, "type", json_string("summary"));
		} else {
			json_object_set_new(doc, "processes", procs);
		}
		cli_emit_json(doc);
		return code;
	}
	for (i = 0; i < r->nprocs; i++)
		if (!streamed(st, r->procs[i].pid))
			proc_line(&r->procs[i], id, !level);
	printf("%s %s", action, id);
	if (level)
		printf(" (level %u)", level);
	if (level)
		printf(": %zu patched, %zu already at this level, %zu failed, %zu restart required, %zu exited",
		       r->npatched, r->nalready, r->nfailed, r->nrestart, r->nexited);
	else
		printf(": %zu reverted, %zu not applied, %zu failed, %zu exited", r->nreverted, r->nalready,
		       r->nfailed, r->nexited);
	if (r->nunknown)
		printf("; %zu unknown (memory unreadable: the sweep is incomplete%s)", r->nunknown,
		       privileged ? "" : "; run as root");
	if (r->nbusy_retried)
		printf("; %zu busy and retried", r->nbusy_retried);
	printf("\n%zu processes looked at in %.2f s with %u jobs", r->nscanned, secs, r->jobs);
	if (secs > 0 && (r->npatched || r->nreverted))
		printf(" (%.0f processes changed per second)", (double)(r->npatched + r->nreverted) / secs);
	printf("\n");
	if (cancelled)
		printf("interrupted: processes not looked at yet were left as they were\n");
	return code;
}

/* Why: the sweep options both kinds of sweep share: selection, streaming, cancel. */
static void sweep_opts(struct cli *cli, struct hp_host_opts *o, const struct hp_apply_opts *ao, unsigned jobs,
		       struct cli_sel *sel, struct stream *st)
{
	o->jobs = jobs;
	o->timeout_ms = ao->timeout_ms;
	o->cancel = &host_cancel;
	if (sel->nexes || sel->ncomms || sel->nunits) {
		o->select = cli_sel_match;
		o->select_ud = sel;
	}
	st->cli = cli;
	pthread_mutex_init(&st->lock, NULL);
	o->progress = on_proc;
	o->progress_ud = st;
}

/* Why: the shared entry of `apply --all`; the patch was opened by cmd_apply. */
int cli_host_apply(struct cli *cli, const struct hp_patch *patch, const struct hp_apply_opts *ao, unsigned jobs,
		   struct cli_sel *sel)
{
	const struct hp_manifest *m = hp_patch_manifest(patch);
	struct hp_host_opts o = { .sz = sizeof(o) };
	struct hp_host_result *r = NULL;
	struct saved_signals sigs;
	struct stream st = { .id = m->id, .level = m->level };
	bool priv = cli_can_see_host(cli);
	char bid[2 * HP_BUILD_ID_MAX + 1], key[65];
	int rc;

	st.build_id = hp_hex(m->build_id, m->build_id_len, bid);
	if (hp_patch_is_signed(patch, key))
		st.key_id = key;

	sweep_opts(cli, &o, ao, jobs, sel, &st);
	o.flags = ao->flags;
	o.trust_dir = ao->trust_dir;
	catch_signals(&sigs);
	rc = hp_host_apply(cli->ctx, patch, &o, &r);
	restore_signals(&sigs);
	if (rc < 0)
		rc = cli_fail(cli, rc, NULL);
	else
		rc = report(cli, "apply", m->id, m->level, r, &st, priv);
	hp_host_result_free(r);
	free(st.done);
	pthread_mutex_destroy(&st.lock);
	return rc;
}

/* Why: the shared entry of `revert --all`. */
int cli_host_revert(struct cli *cli, const char *id, const struct hp_apply_opts *ao, unsigned jobs,
		    struct cli_sel *sel)
{
	struct hp_host_opts o = { .sz = sizeof(o) };
	struct hp_host_result *r = NULL;
	struct saved_signals sigs;
	struct stream st = { .id = id, .revert = true };
	bool priv = cli_can_see_host(cli);
	int rc;

	sweep_opts(cli, &o, ao, jobs, sel, &st);
	catch_signals(&sigs);
	rc = hp_host_revert(cli->ctx, id, &o, &r);
	restore_signals(&sigs);
	if (rc < 0)
		rc = cli_fail(cli, rc, NULL);
	else
		rc = report(cli, "revert", id, 0, r, &st, priv);
	hp_host_result_free(r);
	free(st.done);
	pthread_mutex_destroy(&st.lock);
	return rc;
}

/* Why: `status --all` shows every process with a patch, and which ones got it by fork. */
int cli_host_status(struct cli *cli, struct cli_sel *sel)
{
	struct hp_host_status *st = NULL;
	size_t i, k, npatches = 0, nunknown = 0, nprocs = 0, nuncounted = 0;
	bool priv = cli_can_see_host(cli), filter = sel->nexes || sel->ncomms || sel->nunits;
	int r, code;

	r = hp_host_status(cli->ctx, &st);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	for (i = 0; i < st->nunknown; i++)
		nunknown += !filter || cli_sel_match(sel, st->unknown[i]);
	code = nunknown ? HP_EXIT_INCOMPLETE : HP_EXIT_OK;
	if (cli->json) {
		json_t *procs = json_array(), *unknown = json_array();

		for (i = 0; i < st->nprocs; i++) {
			json_t *j;

			if (filter && !cli_sel_match(sel, st->procs[i].pid))
				continue;
			j = out_status_json(st->procs[i].status);
			json_object_set_new(j, "comm", json_string(hp_esc_utf8(st->procs[i].comm)));
			json_object_set_new(j, "container", json_boolean(st->procs[i].other_mntns));
			json_array_append_new(procs, j);
		}
		for (i = 0; i < st->nunknown; i++)
			if (!filter || cli_sel_match(sel, st->unknown[i]))
				json_array_append_new(unknown, json_integer(st->unknown[i]));
		cli_emit_json(json_pack("{s:o,s:o,s:I,s:b,s:i,s:s}", "processes", procs, "unknown", unknown, "scanned",
					(json_int_t)st->nscanned, "privileged", priv, "exit_code", code, "result",
					cli_exit_name(code)));
		hp_host_status_free(st);
		return code;
	}
	for (i = 0; i < st->nprocs; i++) {
		const struct hp_host_status_proc *p = &st->procs[i];
		size_t before = npatches;

		if (filter && !cli_sel_match(sel, p->pid))
			continue;
		for (k = 0; k < p->status->npatches; k++) {
			const struct hp_status_patch *sp = &p->status->patches[k];

			if (sp->trust == HP_RECORD_FORGED) {
				printf("pid %d (%s)%s: %s level %u forged (%s)\n", p->pid, hp_esc(p->comm),
				       p->other_mntns ? " [container]" : "", sp->id, sp->level, hp_esc(sp->trust_reason));
				nuncounted++;
				continue;	/* never counted as a patch */
			}
			printf("pid %d (%s)%s: %s level %u %s%s%s", p->pid, hp_esc(p->comm),
			       p->other_mntns ? " [container]" : "", sp->id, sp->level, hp_patch_state_name(sp->state),
			       sp->trust == HP_RECORD_UNVERIFIED ? " (unverified)" : "",
			       sp->consistent ? "" : " INCONSISTENT");
			if (sp->applier_pid && sp->applier_pid != p->pid)
				printf(", inherited by fork from pid %d", sp->applier_pid);
			printf("; %s\n", hp_esc(sp->target));
			if (sp->trust == HP_RECORD_AUTHENTIC)
				npatches++;
			else
				nuncounted++;
		}
		nprocs += npatches > before;
	}
	for (i = 0; i < st->nunknown; i++)
		if (!filter || cli_sel_match(sel, st->unknown[i]))
			printf("pid %d: unknown: its memory cannot be read\n", st->unknown[i]);
	printf("%zu patch%s in %zu process%s (%zu processes looked at)", npatches, npatches == 1 ? "" : "es",
	       nprocs, nprocs == 1 ? "" : "es", st->nscanned);
	if (nuncounted)
		printf("; %zu forged or unverified record%s not counted", nuncounted, nuncounted == 1 ? "" : "s");
	if (nunknown)
		printf("; %zu unknown (memory unreadable: the listing is incomplete%s)", nunknown,
		       priv ? "" : "; run as root");
	printf("\n");
	hp_host_status_free(st);
	return code;
}

/* Why: a bounded pool; more workers than this only add contention for the CPUs. */
int cli_parse_jobs(const char *s, unsigned *ret)
{
	unsigned long long v;

	if (hp_parse_uint(s, 256, &v) < 0 || !v)
		return -1;
	*ret = (unsigned)v;
	return 0;
}
