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

#include "cli.h"
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
	json_object_set_new(j, "error", p->err && (p->outcome == HP_HOST_FAILED || p->outcome == HP_HOST_UNKNOWN) ?
					json_string(cli_exit_name(cli_exit_code(p->err))) : json_null());
	json_object_set_new(j, "target", p->target[0] ? json_string(p->target) : json_null());
	json_object_set_new(j, "build_id",
			    p->build_id_len ? json_string(hp_hex(p->build_id, p->build_id_len, hex)) : json_null());
	json_object_set_new(j, "inherited_from", p->inherited_from ? json_integer(p->inherited_from) : json_null());
	if (p->result.attempts) {
		json_object_set_new(j, "pause_us", json_real(p->result.pause_ns / 1000.0));
		json_object_set_new(j, "threads", json_integer(p->result.nthreads));
		json_object_set_new(j, "attempts", json_integer(p->result.attempts));
	}
	if (p->result.total_ns)
		json_object_set_new(j, "total_ms", json_real(p->result.total_ns / 1e6));
	return j;
}

/* Why: the human form says what happened to each process in one line, and why when it was not patched. */
static void proc_line(const struct hp_host_proc *p, const char *id)
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
			printf("; threads paused %.0f µs (%u thread%s)", p->result.pause_ns / 1000.0,
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
		printf("unknown: cannot tell whether it runs the target: %s\n", hp_esc(p->message));
		break;
	}
}

/* Why: 0 only when every process that runs the target build ended up with the patch (or without it, for revert). */
static int sweep_exit_code(const struct hp_host_result *r, bool cancelled)
{
	if (r->nfailed || cancelled)
		return HP_EXIT_PARTIAL;
	if (r->nrestart)
		return HP_EXIT_NOTARGET;
	if (!r->npatched && !r->nreverted)
		return HP_EXIT_NOTHING;
	return HP_EXIT_OK;
}

/* Why: apply and revert print the same report. */
static int report(struct cli *cli, const char *action, const char *id, unsigned level,
		  const struct hp_host_result *r)
{
	bool cancelled = host_cancel != 0;
	int code = sweep_exit_code(r, cancelled);
	double secs = r->total_ns / 1e9;
	size_t i;

	if (cli->json) {
		json_t *procs = json_array(), *sum;

		for (i = 0; i < r->nprocs; i++)
			json_array_append_new(procs, proc_json(&r->procs[i]));
		sum = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:f,s:b}", "patched", (json_int_t)r->npatched,
				"nothing_to_do", (json_int_t)r->nalready, "reverted", (json_int_t)r->nreverted,
				"restart_required", (json_int_t)r->nrestart, "failed", (json_int_t)r->nfailed,
				"exited", (json_int_t)r->nexited, "unknown", (json_int_t)r->nunknown,
				"busy_retried", (json_int_t)r->nbusy_retried,
				"scanned", (json_int_t)r->nscanned, "jobs", (int)r->jobs, "total_ms",
				r->total_ns / 1e6, "interrupted", cancelled);
		cli_emit_json(json_pack("{s:s,s:s,s:i,s:o,s:o,s:i,s:s}", "action", action, "patch_id", id, "level",
					(int)level, "processes", procs, "summary", sum, "exit_code", code, "result",
					cli_exit_name(code)));
		return code;
	}
	for (i = 0; i < r->nprocs; i++)
		proc_line(&r->procs[i], id);
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
		printf("; %zu unknown (unreadable)", r->nunknown);
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

/* Why: the shared entry of `apply --all`; the patch was opened by cmd_apply. */
int cli_host_apply(struct cli *cli, const struct hp_patch *patch, const struct hp_apply_opts *ao, unsigned jobs)
{
	const struct hp_manifest *m = hp_patch_manifest(patch);
	struct hp_host_opts o = { .sz = sizeof(o) };
	struct hp_host_result *r = NULL;
	struct saved_signals sigs;
	int rc;

	o.jobs = jobs;
	o.timeout_ms = ao->timeout_ms;
	o.flags = ao->flags;
	o.trust_dir = ao->trust_dir;
	o.cancel = &host_cancel;
	catch_signals(&sigs);
	rc = hp_host_apply(cli->ctx, patch, &o, &r);
	restore_signals(&sigs);
	if (rc < 0)
		return cli_fail(cli, rc, NULL);
	rc = report(cli, "apply", m->id, m->level, r);
	hp_host_result_free(r);
	return rc;
}

/* Why: the shared entry of `revert --all`. */
int cli_host_revert(struct cli *cli, const char *id, const struct hp_apply_opts *ao, unsigned jobs)
{
	struct hp_host_opts o = { .sz = sizeof(o) };
	struct hp_host_result *r = NULL;
	struct saved_signals sigs;
	int rc;

	o.jobs = jobs;
	o.timeout_ms = ao->timeout_ms;
	o.cancel = &host_cancel;
	catch_signals(&sigs);
	rc = hp_host_revert(cli->ctx, id, &o, &r);
	restore_signals(&sigs);
	if (rc < 0)
		return cli_fail(cli, rc, NULL);
	rc = report(cli, "revert", id, 0, r);
	hp_host_result_free(r);
	return rc;
}

/* Why: `status --all` shows every process with a patch, and which ones got it by fork. */
int cli_host_status(struct cli *cli)
{
	struct hp_host_status *st = NULL;
	size_t i, k, npatches = 0, nprocs = 0, nuncounted = 0;
	int r;

	r = hp_host_status(cli->ctx, &st);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	if (cli->json) {
		json_t *procs = json_array();

		for (i = 0; i < st->nprocs; i++) {
			json_t *j = out_status_json(st->procs[i].status);

			json_object_set_new(j, "comm", json_string(hp_esc_utf8(st->procs[i].comm)));
			json_object_set_new(j, "container", json_boolean(st->procs[i].other_mntns));
			json_array_append_new(procs, j);
		}
		cli_emit_json(json_pack("{s:o,s:I}", "processes", procs, "scanned", (json_int_t)st->nscanned));
		hp_host_status_free(st);
		return HP_EXIT_OK;
	}
	for (i = 0; i < st->nprocs; i++) {
		const struct hp_host_status_proc *p = &st->procs[i];
		size_t before = npatches;

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
	printf("%zu patch%s in %zu process%s (%zu processes looked at)", npatches, npatches == 1 ? "" : "es",
	       nprocs, nprocs == 1 ? "" : "es", st->nscanned);
	if (nuncounted)
		printf("; %zu forged or unverified record%s not counted", nuncounted, nuncounted == 1 ? "" : "s");
	printf("\n");
	hp_host_status_free(st);
	return HP_EXIT_OK;
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
