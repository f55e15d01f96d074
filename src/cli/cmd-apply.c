/* SPDX-License-Identifier: MIT */
/* hotpatch apply / revert: change a running process. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "select.h"
#include "shared/util.h"

const char *const help_apply =
	"usage: hotpatch apply -p PID [-p PID...] [options] FILE\n"
	"       hotpatch apply --all|--exe PATH|--comm NAME|--unit UNIT [--jobs N] [options] FILE\n"
	"\n"
	"Apply the patch in FILE to the running process PID without restarting it.\n"
	"The patch's signature is verified against the trusted keys first; then the\n"
	"process must map the patch's target build, and every function the patch\n"
	"replaces must hold exactly the bytes the patch was built against.  The new\n"
	"code is mapped while the process runs; all threads are stopped only to check\n"
	"that none is inside a function being replaced and to write the jumps.  If a\n"
	"thread is, the process is resumed and the check retried until the timeout.\n"
	"A higher level of a patch for the same build replaces the applied one in the\n"
	"same stop.\n"
	"\n"
	"With --dry-run, every check apply makes (trust, target build, function\n"
	"bytes, symbols, level, room for the patch, linking) runs and the process is\n"
	"left before the first write; whether threads are inside the functions is\n"
	"not checked (that needs the stop).\n"
	"\n"
	"With --all, every process on the host that maps the target build (containers\n"
	"included) is patched, several at a time; a busy one is retried later while\n"
	"the others go on; --exe, --comm and --unit narrow the sweep.  Each process\n"
	"gets a line as it finishes (patched, nothing to do, failed and why, restart\n"
	"required: it runs another build of the target, exited, unknown: its memory\n"
	"cannot be read), then a summary.  Kernel threads are not processes here.\n"
	"\n"
	"options:\n"
	CLI_SEL_HELP
	"  -j, --jobs N           with a sweep: processes patched at once (default 8 per CPU)\n"
	"  -n, --dry-run          check everything, change nothing\n"
	"  -t, --timeout SECONDS  how long to retry while functions are busy (default 10;\n"
	"                         with --all, for the whole sweep)\n"
	"      --trust-dir DIR    trusted public keys (default $HOTPATCH_TRUST_DIR or\n"
	"                         /etc/hotpatch/trusted.d)\n"
	"      --allow-unsigned   apply a patch that carries no signature (warns)\n"
	"      --allow-downgrade  apply a level lower than or equal to the applied one\n"
	"      --json             print the result as JSON\n"
	"\n"
	"exit codes: 0 applied, 3 already applied, 4 busy until the timeout, 5 process\n"
	"does not run the target build (restart required), 6 function bytes differ,\n"
	"7 malformed patch, 8 wrong architecture, 9 unsigned, 10 untrusted key,\n"
	"11 bad signature, 12 downgrade refused, 13 no such process, 14 cannot attach\n"
	"(permission, traced, stopped), 1 other errors, 2 usage.\n"
	"With several -p: that code if every process got the same, else 16.\n"
	"With a sweep: 0 every process that runs the target build now runs the patch,\n"
	"3 nothing to do (none runs it, or all had it), 5 all patched but some run\n"
	"another build (restart required), 16 some could not be patched (see their\n"
	"lines), 17 some processes could not be read (unknown: the sweep was\n"
	"incomplete); 7 to 11 as above, before any process is touched.\n";

const char *const help_revert =
	"usage: hotpatch revert -p PID [-p PID...] [--timeout SECONDS] [--json] PATCH_ID\n"
	"       hotpatch revert --all|--exe PATH|--comm NAME|--unit UNIT [--jobs N] [options] PATCH_ID\n"
	"\n"
	"Revert the applied patch PATCH_ID in process PID: restore the original\n"
	"entry bytes of every function it replaced (all in one stop, once no thread is\n"
	"inside them or inside the patch's code) and unmap the patch.  Works from a\n"
	"fresh invocation: everything needed is read from the process itself.\n"
	"With --all, in every process on the host where it is applied, several at a\n"
	"time.\n"
	"\n"
	"options:\n"
	CLI_SEL_HELP
	"  -j, --jobs N           with a sweep: processes reverted at once (default 8 per CPU)\n"
	"  -t, --timeout SECONDS  how long to retry while functions are busy (default 10;\n"
	"                         with --all, for the whole sweep)\n"
	"      --json             print the result as JSON\n"
	"\n"
	"exit codes: 0 reverted, 3 not applied, 4 busy until the timeout, 6 the code\n"
	"was changed by something else, 13 no such process, 14 cannot attach, 1 other\n"
	"errors, 2 usage.  With several -p: that code if every process got the same,\n"
	"else 16.  With a sweep: 0 reverted wherever it was applied, 3 applied\n"
	"nowhere, 16 some could not be reverted (see their lines), 17 some processes\n"
	"could not be read (unknown: the sweep was incomplete).\n";

/* Why: the JSON of one process's apply or revert: the same fields as a sweep's process entries. */
static json_t *result_json(pid_t pid, const char *outcome, const struct hp_apply_result *res)
{
	json_t *j = json_pack("{s:i,s:s,s:s,s:i,s:I,s:I,s:I,s:i,s:i}", "pid", (int)pid, "outcome", outcome,
			      "patch_id", res->patch_id, "level", (int)res->level, "pause_us",
			      (json_int_t)(res->pause_ns / 1000), "hijack_us", (json_int_t)(res->hijack_ns / 1000),
			      "total_us", (json_int_t)(res->total_ns / 1000), "attempts", (int)res->attempts,
			      "threads", (int)res->nthreads);

	json_object_set_new(j, "replaced_patch_id", res->replaced_id[0] ? json_string(res->replaced_id) : json_null());
	return j;
}

/* Why: one line per process, as a sweep prints it. */
static void print_result(pid_t pid, const char *outcome, const struct hp_apply_result *res)
{
	printf("pid %d: %s %s", pid, outcome, res->patch_id);
	if (res->level)
		printf(" (level %u)", res->level);
	if (res->replaced_id[0])
		printf(", replacing %s", res->replaced_id);
	if (!strcmp(outcome, "eligible"))
		printf("; every check passed, nothing was changed (--dry-run)");
	if (res->attempts)
		printf("; threads paused %" PRIu64 " µs (%u thread%s, %u attempt%s)", res->pause_ns / 1000,
		       res->nthreads, res->nthreads == 1 ? "" : "s", res->attempts, res->attempts == 1 ? "" : "s");
	printf("; %.1f ms in all\n", (double)(res->total_ns / 100000) / 10.0);
}

struct one_op {
	const struct hp_patch *patch;	/* apply */
	const char *patch_id;		/* revert */
	const struct hp_apply_opts *o;
	const char *outcome;		/* word for success */
};

/*
 * Why: -p PID, once or several times: each process gets its own operation
 * and line (or JSON object).  One pid keeps the plain shape: the result, or
 * the error document.  Exit code: the common one, else 16.
 */
static int run_pids(struct cli *cli, const struct cli_sel *sel, const struct one_op *op)
{
	json_t *procs = NULL;
	int code = -1, r;
	size_t i;

	if (cli->json && !cli->json_seq && sel->npids > 1)
		procs = json_array();
	for (i = 0; i < sel->npids; i++) {
		struct hp_apply_result res = { .sz = sizeof(res) };
		pid_t pid = sel->pids[i];
		int c;
		struct cli_audit_rec rec = { .pid = pid, .revert = !op->patch };
		char bid[2 * HP_BUILD_ID_MAX + 1] = "", key[65] = "";

		if (op->patch) {
			const struct hp_manifest *m = hp_patch_manifest(op->patch);

			rec.patch_id = m->id;
			rec.level = m->level;
			rec.build_id = hp_hex(m->build_id, m->build_id_len, bid);
			if (hp_patch_is_signed(op->patch, key))
				rec.key_id = key;
		} else {
			/* what is reverted, read from the process before it goes */
			struct hp_status *st = NULL;
			size_t k;

			rec.patch_id = op->patch_id;
			if (hp_status_read(cli->ctx, pid, &st) == 0) {
				for (k = 0; k < st->npatches; k++)
					if (!strcmp(st->patches[k].id, op->patch_id)) {
						rec.level = st->patches[k].level;
						rec.build_id = hp_hex(st->patches[k].build_id, st->patches[k].build_id_len, bid);
						hp_strlcpy(key, st->patches[k].signer, sizeof(key));
						rec.key_id = key;
					}
				hp_status_free(st);
			}
		}
		r = op->patch ? hp_apply(cli->ctx, pid, op->patch, op->o, &res) :
				hp_revert(cli->ctx, pid, op->patch_id, op->o, &res);
		c = cli_exit_code(r);
		if (!(op->o->flags & HP_APPLY_DRY_RUN)) {
			rec.err = r < 0 ? r : 0;
			rec.message = hp_ctx_errmsg(cli->ctx);
			cli_audit(&rec);
		}
		code = code < 0 || code == c ? c : HP_EXIT_PARTIAL;
		if (sel->npids == 1) {
			if (r < 0)
				return cli_fail(cli, r, NULL);
		} else if (r < 0) {
			if (procs)
				json_array_append_new(procs, json_pack("{s:i,s:s,s:{s:s,s:s,s:i}}", "pid", (int)pid,
								       "outcome", "failed", "error", "kind",
								       cli_exit_name(c), "message",
								       hp_ctx_errmsg(cli->ctx), "exit_code", c));
			else if (cli->json)
				cli_fail(cli, r, "pid %d: %s", pid, hp_ctx_errmsg(cli->ctx));
			else
				printf("pid %d: failed (%s): %s\n", pid, cli_exit_name(c), hp_ctx_errmsg(cli->ctx));
			continue;
		}
		if (procs)
			json_array_append_new(procs, result_json(pid, op->outcome, &res));
		else if (cli->json)
			cli_emit_json(result_json(pid, op->outcome, &res));
		else
			print_result(pid, op->outcome, &res);
	}
	if (procs)
		cli_emit_json(json_pack("{s:o,s:i,s:s}", "processes", procs, "exit_code", code, "result",
					cli_exit_name(code)));
	return code;
}

enum { OPT_TRUST = 256, OPT_UNSIGNED, OPT_DOWNGRADE };

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SEL_LONGOPTS,
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "trust-dir", required_argument, NULL, OPT_TRUST },
		{ "allow-unsigned", no_argument, NULL, OPT_UNSIGNED },
		{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_apply_opts o = { .sz = sizeof(o) };
	struct cli_sel sel = { 0 };
	struct hp_patch *patch = NULL;
	unsigned jobs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, ":" CLI_SEL_SHORTOPTS "j:t:n" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		r = cli_sel_option(cli, "apply", &sel, c, optarg);
		if (r == 0)
			continue;
		if (r != 1)
			goto out;
		switch (c) {
		case 'j':
			if (cli_parse_jobs(optarg, &jobs) < 0) {
				r = cli_usage(cli, "apply", "'%s' is not a number of jobs (1 to 256)", optarg);
				goto out;
			}
			break;
		case 't':
			if (cli_parse_seconds(optarg, &o.timeout_ms) < 0 || !o.timeout_ms) {
				r = cli_usage(cli, "apply", "'%s' is not a timeout in seconds", optarg);
				goto out;
			}
			break;
		case 'n':
			o.flags |= HP_APPLY_DRY_RUN;
			break;
		case OPT_TRUST:
			o.trust_dir = optarg;
			break;
		case OPT_UNSIGNED:
			o.flags |= HP_APPLY_ALLOW_UNSIGNED;
			break;
		case OPT_DOWNGRADE:
			o.flags |= HP_APPLY_ALLOW_DOWNGRADE;
			break;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			r = cli_bad_option(cli, "apply", c, argv);
			goto out;
		}
	}
	r = cli_sel_check(cli, "apply", &sel);
	if (r)
		goto out;
	if (jobs && !cli_sel_sweep(&sel)) {
		r = cli_usage(cli, "apply", "--jobs needs a sweep (--all, --exe, --comm or --unit)");
		goto out;
	}
	if ((o.flags & HP_APPLY_DRY_RUN) && cli_sel_sweep(&sel)) {
		r = cli_usage(cli, "apply", "--dry-run works on processes given with -p");
		goto out;
	}
	if (optind + 1 != argc) {
		r = cli_usage(cli, "apply", "expected one patch file");
		goto out;
	}
	r = cli_sel_check_pids(cli, &sel);
	if (r)
		goto out;
	r = hp_patch_open(cli->ctx, argv[optind], &patch);
	if (r < 0) {
		r = cli_fail(cli, r, NULL);
		goto out;
	}
	if ((o.flags & HP_APPLY_ALLOW_UNSIGNED) && !hp_patch_is_signed(patch, NULL) && !cli->quiet)
		fprintf(stderr, "hotpatch: warning: applying unsigned patch %s (--allow-unsigned)\n",
			hp_patch_manifest(patch)->id);
	if (cli_sel_sweep(&sel)) {
		r = cli_host_apply(cli, patch, &o, jobs, &sel);
	} else {
		struct one_op op = { patch, NULL, &o, (o.flags & HP_APPLY_DRY_RUN) ? "eligible" : "patched" };

		r = run_pids(cli, &sel, &op);
	}
out:
	hp_patch_free(patch);
	cli_sel_release(&sel);
	return r;
}

int cmd_revert(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SEL_LONGOPTS,
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_apply_opts o = { .sz = sizeof(o) };
	struct cli_sel sel = { 0 };
	unsigned jobs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, ":" CLI_SEL_SHORTOPTS "j:t:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		r = cli_sel_option(cli, "revert", &sel, c, optarg);
		if (r == 0)
			continue;
		if (r != 1)
			goto out;
		switch (c) {
		case 'j':
			if (cli_parse_jobs(optarg, &jobs) < 0) {
				r = cli_usage(cli, "revert", "'%s' is not a number of jobs (1 to 256)", optarg);
				goto out;
			}
			break;
		case 't':
			if (cli_parse_seconds(optarg, &o.timeout_ms) < 0 || !o.timeout_ms) {
				r = cli_usage(cli, "revert", "'%s' is not a timeout in seconds", optarg);
				goto out;
			}
			break;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			r = cli_bad_option(cli, "revert", c, argv);
			goto out;
		}
	}
	r = cli_sel_check(cli, "revert", &sel);
	if (r)
		goto out;
	if (jobs && !cli_sel_sweep(&sel)) {
		r = cli_usage(cli, "revert", "--jobs needs a sweep (--all, --exe, --comm or --unit)");
		goto out;
	}
	if (optind + 1 != argc) {
		r = cli_usage(cli, "revert", "expected one patch id");
		goto out;
	}
	r = cli_sel_check_pids(cli, &sel);
	if (r)
		goto out;
	if (cli_sel_sweep(&sel)) {
		r = cli_host_revert(cli, argv[optind], &o, jobs, &sel);
	} else {
		struct one_op op = { NULL, argv[optind], &o, "reverted" };

		r = run_pids(cli, &sel, &op);
	}
out:
	cli_sel_release(&sel);
	return r;
}
