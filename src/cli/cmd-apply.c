/* SPDX-License-Identifier: MIT */
/* hotpatch apply / revert: change a running process. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *const help_apply =
	"usage: hotpatch apply -p PID [options] FILE\n"
	"       hotpatch apply --all [--jobs N] [options] FILE\n"
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
	"With --all, every process on the host that maps the target build (containers\n"
	"included) is patched, several at a time; a busy one is retried later while\n"
	"the others go on.  Each process gets a line (patched, nothing to do, failed\n"
	"and why, restart required: it runs another build of the target, exited),\n"
	"then a summary.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID          process to patch\n"
	"  -a, --all              every process that runs the patch's target build\n"
	"      --jobs N           with --all: processes patched at once (default 8 per CPU)\n"
	"  -t, --timeout SECONDS  how long to retry while functions are busy (default 10;\n"
	"                         with --all, for the whole sweep)\n"
	"      --trust-dir DIR    trusted public keys (default $HOTPATCH_TRUST_DIR or\n"
	"                         /etc/hotpatch/trusted.d)\n"
	"      --allow-unsigned   apply a patch that carries no signature (warns)\n"
	"      --allow-downgrade  apply a level lower than or equal to the applied one\n"
	"  -j, --json             print the result as JSON\n"
	"\n"
	"exit codes: 0 applied, 3 already applied, 4 busy until the timeout, 5 process\n"
	"does not run the target build (restart required), 6 function bytes differ,\n"
	"7 malformed patch, 8 wrong architecture, 9 unsigned, 10 untrusted key,\n"
	"11 bad signature, 12 downgrade refused, 13 no such process, 14 cannot attach\n"
	"(permission, traced, stopped), 1 other errors, 2 usage.\n"
	"With --all: 0 every process that runs the target build now runs the patch,\n"
	"3 nothing to do (none runs it, or all had it), 5 all patched but some run\n"
	"another build (restart required), 16 some could not be patched (see their\n"
	"lines); 7 to 11 as above, before any process is touched.\n";

const char *const help_revert =
	"usage: hotpatch revert -p PID [--timeout SECONDS] [--json] PATCH_ID\n"
	"       hotpatch revert --all [--jobs N] [--timeout SECONDS] [--json] PATCH_ID\n"
	"\n"
	"Revert the applied patch PATCH_ID in process PID: restore the original\n"
	"entry bytes of every function it replaced (all in one stop, once no thread is\n"
	"inside them or inside the patch's code) and unmap the patch.  Works from a\n"
	"fresh invocation: everything needed is read from the process itself.\n"
	"With --all, in every process on the host where it is applied, several at a\n"
	"time.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID          process\n"
	"  -a, --all              every process where PATCH_ID is applied\n"
	"      --jobs N           with --all: processes reverted at once (default 8 per CPU)\n"
	"  -t, --timeout SECONDS  how long to retry while functions are busy (default 10;\n"
	"                         with --all, for the whole sweep)\n"
	"  -j, --json             print the result as JSON\n"
	"\n"
	"exit codes: 0 reverted, 3 not applied, 4 busy until the timeout, 6 the code\n"
	"was changed by something else, 13 no such process, 14 cannot attach, 1 other\n"
	"errors, 2 usage.  With --all: 0 reverted wherever it was applied, 3 applied\n"
	"nowhere, 16 some could not be reverted (see their lines).\n";

static void print_result(struct cli *cli, const char *verb, pid_t pid, const struct hp_apply_result *res)
{
	if (cli->json) {
		json_t *j = json_pack("{s:i,s:s,s:s,s:i,s:f,s:f,s:f,s:i,s:i}", "pid", (int)pid, "action", verb,
				      "patch_id", res->patch_id, "level", (int)res->level, "pause_us",
				      res->pause_ns / 1000.0, "hijack_us", res->hijack_ns / 1000.0, "total_ms",
				      res->total_ns / 1e6, "attempts", (int)res->attempts, "threads",
				      (int)res->nthreads);

		json_object_set_new(j, "replaced", res->replaced_id[0] ? json_string(res->replaced_id) : json_null());
		cli_emit_json(j);
		return;
	}
	printf("pid %d: %s %s", pid, verb, res->patch_id);
	if (res->level)
		printf(" (level %u)", res->level);
	if (res->replaced_id[0])
		printf(", replacing %s", res->replaced_id);
	if (res->attempts)
		printf("; threads paused %.0f µs (%u thread%s, %u attempt%s)", res->pause_ns / 1000.0, res->nthreads,
		       res->nthreads == 1 ? "" : "s", res->attempts, res->attempts == 1 ? "" : "s");
	printf("; %.1f ms in all\n", res->total_ns / 1e6);
}

enum { OPT_TRUST = 256, OPT_UNSIGNED, OPT_DOWNGRADE, OPT_JOBS };

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "timeout", required_argument, NULL, 't' },
		{ "trust-dir", required_argument, NULL, OPT_TRUST },
		{ "allow-unsigned", no_argument, NULL, OPT_UNSIGNED },
		{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_apply_opts o = { .sz = sizeof(o) };
	struct hp_apply_result res = { .sz = sizeof(res) };
	struct hp_patch *patch = NULL;
	pid_t pid = 0;
	unsigned jobs = 0;
	bool all = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:at:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "apply", "'%s' is not a process id", optarg);
			break;
		case 'a':
			all = true;
			break;
		case OPT_JOBS:
			if (cli_parse_jobs(optarg, &jobs) < 0)
				return cli_usage(cli, "apply", "'%s' is not a number of jobs (1 to 256)", optarg);
			break;
		case 't':
			if (cli_parse_seconds(optarg, &o.timeout_ms) < 0 || !o.timeout_ms)
				return cli_usage(cli, "apply", "'%s' is not a timeout in seconds", optarg);
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
		case 'j':
			cli->json = true;
			break;
		default:
			return cli_usage(cli, "apply", "unknown option");
		}
	}
	if (!pid && !all)
		return cli_usage(cli, "apply", "-p PID or --all is required");
	if (pid && all)
		return cli_usage(cli, "apply", "-p PID and --all exclude each other");
	if (jobs && !all)
		return cli_usage(cli, "apply", "--jobs needs --all");
	if (optind + 1 != argc)
		return cli_usage(cli, "apply", "expected one patch file");
	if (pid && (r = cli_check_pid(cli, &pid)) != 0)
		return r;
	r = hp_patch_open(cli->ctx, argv[optind], &patch);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	if ((o.flags & HP_APPLY_ALLOW_UNSIGNED) && !hp_patch_is_signed(patch, NULL))
		fprintf(stderr, "hotpatch: warning: applying unsigned patch %s (--allow-unsigned)\n",
			hp_patch_manifest(patch)->id);
	if (all) {
		r = cli_host_apply(cli, patch, &o, jobs);
		hp_patch_free(patch);
		return r;
	}
	r = hp_apply(cli->ctx, pid, patch, &o, &res);
	hp_patch_free(patch);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	print_result(cli, "applied", pid, &res);
	return HP_EXIT_OK;
}

int cmd_revert(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "timeout", required_argument, NULL, 't' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_apply_opts o = { .sz = sizeof(o) };
	struct hp_apply_result res = { .sz = sizeof(res) };
	pid_t pid = 0;
	unsigned jobs = 0;
	bool all = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:at:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "revert", "'%s' is not a process id", optarg);
			break;
		case 'a':
			all = true;
			break;
		case OPT_JOBS:
			if (cli_parse_jobs(optarg, &jobs) < 0)
				return cli_usage(cli, "revert", "'%s' is not a number of jobs (1 to 256)", optarg);
			break;
		case 't':
			if (cli_parse_seconds(optarg, &o.timeout_ms) < 0 || !o.timeout_ms)
				return cli_usage(cli, "revert", "'%s' is not a timeout in seconds", optarg);
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return cli_usage(cli, "revert", "unknown option");
		}
	}
	if (!pid && !all)
		return cli_usage(cli, "revert", "-p PID or --all is required");
	if (pid && all)
		return cli_usage(cli, "revert", "-p PID and --all exclude each other");
	if (jobs && !all)
		return cli_usage(cli, "revert", "--jobs needs --all");
	if (optind + 1 != argc)
		return cli_usage(cli, "revert", "expected one patch id");
	if (pid && (r = cli_check_pid(cli, &pid)) != 0)
		return r;
	if (all)
		return cli_host_revert(cli, argv[optind], &o, jobs);
	r = hp_revert(cli->ctx, pid, argv[optind], &o, &res);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	print_result(cli, "reverted", pid, &res);
	return HP_EXIT_OK;
}
