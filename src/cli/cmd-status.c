/* SPDX-License-Identifier: MIT */
/* hotpatch status -p PID: what is applied, read from the process itself. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "shared/escape.h"
#include "output.h"

const char *const help_status =
	"usage: hotpatch status -p PID [--json]\n"
	"       hotpatch status --all [--json]\n"
	"\n"
	"Show the patches applied in process PID, read from the state records the\n"
	"patches keep in the process's own memory: id, level, state, target build,\n"
	"signer, time applied, and for each replaced function whether its entry\n"
	"currently jumps to the patch.  A record left by an interrupted operation is\n"
	"shown as prepared, committing or reverting, and as inconsistent when the\n"
	"code does not agree with it.  A record hotpatch did not write (its seal does\n"
	"not verify, or a site is not a function entry of the mapped build holding\n"
	"the file's bytes) is shown as forged and never counted as applied; one with\n"
	"no seal to check (written before records were sealed) as unverified.\n"
	"Nothing is stopped or attached.  With --all,\n"
	"one line per patch in every process on the host that has one, saying which\n"
	"processes got it by fork from the process it was applied to.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID          process\n"
	"  -a, --all              every process on the host that has a patch applied\n"
	"  -j, --json             print the status as JSON\n"
	"\n"
	"exit codes: 0 shown, 13 no such process, 14 permission denied, 1 other errors.\n";

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_status *st = NULL;
	char comm[64] = "?";
	pid_t pid = 0;
	bool all = false;
	size_t i, k;
	int c, r;

	while ((c = getopt_long(argc, argv, "p:a" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "status", "'%s' is not a process id", optarg);
			break;
		case 'a':
			all = true;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return cli_usage(cli, "status", "unknown option");
		}
	}
	if (!pid && !all)
		return cli_usage(cli, "status", "-p PID or --all is required");
	if (pid && all)
		return cli_usage(cli, "status", "-p PID and --all exclude each other");
	if (optind != argc)
		return cli_usage(cli, "status", "unexpected argument '%s'", argv[optind]);
	if (all)
		return cli_host_status(cli);
	if ((r = cli_check_pid(cli, &pid)) != 0)
		return r;
	r = hp_status_read(cli->ctx, pid, &st);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	if (cli->json) {
		cli_emit_json(out_status_json(st));
		hp_status_free(st);
		return HP_EXIT_OK;
	}
	{
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
	}
	if (!st->npatches)
		printf("pid %d (%s): no patches applied\n", pid, hp_esc(comm));
	else
		printf("pid %d (%s): %zu patch%s\n", pid, hp_esc(comm), st->npatches, st->npatches == 1 ? "" : "es");
	for (i = 0; i < st->npatches; i++) {
		const struct hp_status_patch *p = &st->patches[i];
		char hex[2 * HP_BUILD_ID_MAX + 1], when[64] = "?";
		time_t t = (time_t)p->applied_time;
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		if (p->trust == HP_RECORD_FORGED)
			printf("\n  %s  level %u  forged\n", p->id, p->level);
		else
			printf("\n  %s  level %u  %s%s%s\n", p->id, p->level, hp_patch_state_name(p->state),
			       p->trust == HP_RECORD_UNVERIFIED ? " (unverified)" : "",
			       p->consistent ? "" : "  INCONSISTENT");
		if (p->trust != HP_RECORD_AUTHENTIC)
			printf("    record   %s: %s\n", hp_record_trust_name(p->trust), hp_esc(p->trust_reason));
		printf("    target   %s\n", hp_esc(p->target));
		printf("    build-id %s\n", hp_hex(p->build_id, p->build_id_len, hex));
		printf("    signer   %s\n", p->signer[0] ? hp_esc(p->signer) : "unsigned");
		printf("    applied  %s\n", when);
		printf("    memory   %#" PRIx64 " (%" PRIu64 " KiB)\n", p->region, p->region_size >> 10);
		for (k = 0; k < p->nfuncs; k++)
			printf("    %-28s %#" PRIx64 " -> %#" PRIx64 "  %s\n", hp_esc(p->funcs[k].name), p->funcs[k].addr,
			       p->funcs[k].new_addr,
			       p->trust == HP_RECORD_FORGED ? "claimed by a forged record"
							    : hp_func_state_name(p->funcs[k].state));
	}
	hp_status_free(st);
	return HP_EXIT_OK;
}
