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
#include "select.h"

const char *const help_status =
	"usage: hotpatch status -p PID [-p PID...] [--json]\n"
	"       hotpatch status --all|--exe PATH|--comm NAME|--unit UNIT [--json]\n"
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
	"processes got it by fork from the process it was applied to; --exe, --comm\n"
	"and --unit narrow it.  A process whose memory cannot be read is listed as\n"
	"unknown (whether it has a patch cannot be told).\n"
	"\n"
	"options:\n"
	CLI_SEL_HELP
	"      --json             print the status as JSON\n"
	"\n"
	"exit codes: 0 shown, 13 no such process, 14 permission denied, 1 other errors,\n"
	"2 usage; with several -p: that code if it is the same for all, else 16; with\n"
	"a sweep: 17 some processes could not be read (the listing is incomplete).\n";

/* Why: the text form of one process's status. */
static void print_status(pid_t pid, const struct hp_status *st)
{
	char path[64], comm[64] = "?";
	size_t i, k;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	if (!st->npatches)
		printf("pid %d (%s): no patches applied\n", pid, hp_esc(comm));
	else
		printf("pid %d (%s): %zu patch%s\n", pid, hp_esc(comm), st->npatches, st->npatches == 1 ? "" : "es");
	for (i = 0; i < st->npatches; i++) {
		const struct hp_status_patch *p = &st->patches[i];
		char hex[2 * HP_BUILD_ID_MAX + 1], when[64];

		out_time(p->applied_time, when, sizeof(when));
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
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SEL_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct cli_sel sel = { 0 };
	json_t *procs = NULL;
	size_t i;
	int c, r, code = -1;

	while ((c = getopt_long(argc, argv, ":" CLI_SEL_SHORTOPTS CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		r = cli_sel_option(cli, "status", &sel, c, optarg);
		if (r == 0)
			continue;
		if (r != 1)
			goto out;
		if (c == CLI_OPT_JSON) {
			cli->json = true;
			continue;
		}
		r = cli_bad_option(cli, "status", c, argv);
		goto out;
	}
	r = cli_sel_check(cli, "status", &sel);
	if (r)
		goto out;
	if (optind != argc) {
		r = cli_usage(cli, "status", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	r = cli_sel_check_pids(cli, &sel);
	if (r)
		goto out;
	if (cli_sel_sweep(&sel)) {
		r = cli_host_status(cli, &sel);
		goto out;
	}
	if (cli->json && sel.npids > 1)
		procs = json_array();
	for (i = 0; i < sel.npids; i++) {
		struct hp_status *st = NULL;
		int k;

		r = hp_status_read(cli->ctx, sel.pids[i], &st);
		k = cli_exit_code(r);
		code = code < 0 || code == k ? k : HP_EXIT_PARTIAL;
		if (r < 0) {
			if (sel.npids == 1) {
				r = cli_fail(cli, r, NULL);
				goto out;
			}
			if (procs)
				json_array_append_new(procs, json_pack("{s:i,s:{s:s,s:s,s:i}}", "pid", (int)sel.pids[i],
								       "error", "kind", cli_exit_name(k), "message",
								       hp_ctx_errmsg(cli->ctx), "exit_code", k));
			else
				printf("pid %d: failed (%s): %s\n", sel.pids[i], cli_exit_name(k), hp_ctx_errmsg(cli->ctx));
			continue;
		}
		if (procs)
			json_array_append_new(procs, out_status_json(st));
		else if (cli->json)
			cli_emit_json(out_status_json(st));
		else
			print_status(sel.pids[i], st);
		hp_status_free(st);
	}
	if (procs)
		cli_emit_json(json_pack("{s:o,s:i,s:s}", "processes", procs, "exit_code", code, "result",
					cli_exit_name(code)));
	r = code;
out:
	cli_sel_release(&sel);
	return r;
}
