/* SPDX-License-Identifier: MIT */
/*
 * Audit records: every apply and revert (one process or a sweep) leaves a
 * structured entry in the systemd journal; `hotpatch history` reads them
 * back.  The record in the process is proof for that process; the journal
 * is the host's history, kept after the process is gone.
 *
 * Fields (all prefixed HOTPATCH_ so that they never mean something else to
 * another reader of the journal; journald's own _PID is the CLI's):
 *   MESSAGE_ID        HP_AUDIT_MESSAGE_ID (one id for every audit record)
 *   HOTPATCH_OPERATION apply | revert
 *   HOTPATCH_OUTCOME  patched | reverted | failed (and the error kind)
 *   HOTPATCH_PID, HOTPATCH_COMM, HOTPATCH_UNIT (the process's systemd unit),
 *   HOTPATCH_PATCH_ID, HOTPATCH_LEVEL, HOTPATCH_BUILD_ID (target build),
 *   HOTPATCH_KEY_ID (signer), HOTPATCH_ERROR (kind), HOTPATCH_EXIT_CODE
 * When journald is not running the send fails and nothing is said: the
 * operation itself is what matters.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

#include "cli.h"
#include "output.h"
#include "shared/util.h"

/* One id for every audit record: journalctl MESSAGE_ID=... finds them all. */
#define HP_AUDIT_MESSAGE_ID "4f1d2a9c8e7b4c6a9d3e5f7a1b2c3d4e"

void cli_audit(const struct cli_audit_rec *a)
{
	char comm[64] = "", path[64], *unit = NULL;
	const char *outcome = a->err ? "failed" : a->revert ? "reverted" : "patched";
	int code = a->err ? cli_exit_code(a->err) : 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", a->pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	if (sd_pid_get_unit(a->pid, &unit) < 0)
		unit = NULL;
	/* the result is ignored on purpose: no journal, no record, no noise */
	(void)sd_journal_send("MESSAGE=hotpatch: %s %s in pid %d (%s)%s%s: %s%s%s", a->revert ? "revert" : "apply",
			      a->patch_id, a->pid, comm[0] ? comm : "?", unit ? ", unit " : "", unit ? unit : "",
			      outcome, a->err ? ": " : "", a->err ? (a->message ? a->message : "") : "",
			      "MESSAGE_ID=" HP_AUDIT_MESSAGE_ID, "PRIORITY=%d", a->err ? 4 : 5,
			      "SYSLOG_IDENTIFIER=hotpatch", "HOTPATCH_OPERATION=%s", a->revert ? "revert" : "apply",
			      "HOTPATCH_OUTCOME=%s", outcome, "HOTPATCH_PID=%d", a->pid, "HOTPATCH_COMM=%s", comm,
			      "HOTPATCH_UNIT=%s", unit ? unit : "", "HOTPATCH_PATCH_ID=%s", a->patch_id,
			      "HOTPATCH_LEVEL=%u", a->level, "HOTPATCH_BUILD_ID=%s", a->build_id ? a->build_id : "",
			      "HOTPATCH_KEY_ID=%s", a->key_id ? a->key_id : "", "HOTPATCH_ERROR=%s",
			      a->err ? cli_exit_name(code) : "", "HOTPATCH_EXIT_CODE=%d", code, NULL);
	free(unit);
}

const char *const help_history =
	"usage: hotpatch history [-p PID] [--patch-id ID] [-n N] [--json]\n"
	"\n"
	"Show the audit records every apply and revert left in the systemd journal\n"
	"(oldest first): time, operation, outcome, process, its systemd unit, patch\n"
	"id, level, target build and signing key.  Records are written only while\n"
	"journald runs; reading needs permission to read the system journal (root\n"
	"or the systemd-journal group).\n"
	"\n"
	"options:\n"
	"  -p, --pid PID          only records about process PID\n"
	"      --patch-id ID      only records about patch ID\n"
	"  -n, --lines N          only the last N records\n"
	"      --json             {\"records\": [...]}\n"
	"\n"
	"exit codes: 0 shown (also when there are none), 1 the journal cannot be\n"
	"read, 2 usage.\n";

/* Why: a field of the current entry, without its NAME= prefix, as a new string ("" when absent). */
static char *field(sd_journal *j, const char *name)
{
	const void *data;
	size_t len, n = strlen(name);

	if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= n + 1)
		return strdup("");
	return strndup((const char *)data + n + 1, len - n - 1);
}

/* Why: one record as text and as JSON share the reading of the fields. */
struct hist_rec {
	char *time, *op, *outcome, *pid, *comm, *unit, *patch_id, *level, *build_id, *key_id, *error;
};

static void rec_free(struct hist_rec *r)
{
	free(r->time);
	free(r->op);
	free(r->outcome);
	free(r->pid);
	free(r->comm);
	free(r->unit);
	free(r->patch_id);
	free(r->level);
	free(r->build_id);
	free(r->key_id);
	free(r->error);
}

/* Why: the records are filtered by the journal itself, by field match. */
static int add_match(sd_journal *j, const char *name, const char *value)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s", name, value);
	return sd_journal_add_match(j, buf, 0);
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	enum { OPT_PATCH = 256 };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "patch-id", required_argument, NULL, OPT_PATCH },
		{ "lines", required_argument, NULL, 'n' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *pid_s = NULL, *patch = NULL;
	unsigned long long nlast = 0;
	sd_journal *j = NULL;
	json_t *arr = NULL;
	size_t count = 0;
	pid_t pid;
	int c, r;

	while ((c = getopt_long(argc, argv, ":p:n:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "history", "'%s' is not a process id", optarg);
			pid_s = optarg;
			break;
		case OPT_PATCH:
			if (!hp_valid_id(optarg))
				return cli_usage(cli, "history", "'%s' is not a patch id", optarg);
			patch = optarg;
			break;
		case 'n':
			if (hp_parse_uint(optarg, 1000000, &nlast) < 0 || !nlast)
				return cli_usage(cli, "history", "'%s' is not a number of records", optarg);
			break;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			return cli_bad_option(cli, "history", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "history", "unexpected argument '%s'", argv[optind]);
	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return cli_fail(cli, r, "cannot open the journal: %s", strerror(-r));
	r = add_match(j, "MESSAGE_ID", HP_AUDIT_MESSAGE_ID);
	if (r >= 0 && pid_s)
		r = add_match(j, "HOTPATCH_PID", pid_s);
	if (r >= 0 && patch)
		r = add_match(j, "HOTPATCH_PATCH_ID", patch);
	if (r < 0) {
		sd_journal_close(j);
		return cli_fail(cli, r, "cannot filter the journal: %s", strerror(-r));
	}
	if (nlast) {
		sd_journal_seek_tail(j);
		for (r = 0; r < (int)nlast && sd_journal_previous(j) > 0; r++)
			;
		if (r == (int)nlast)
			sd_journal_previous(j);	/* next() below lands on the first of the last N */
	} else {
		sd_journal_seek_head(j);
	}
	if (cli->json)
		arr = json_array();
	while (sd_journal_next(j) > 0) {
		struct hist_rec h = { 0 };
		uint64_t usec = 0;
		char when[32];

		sd_journal_get_realtime_usec(j, &usec);
		out_time((int64_t)(usec / 1000000), when, sizeof(when));
		h.time = strdup(when);
		h.op = field(j, "HOTPATCH_OPERATION");
		h.outcome = field(j, "HOTPATCH_OUTCOME");
		h.pid = field(j, "HOTPATCH_PID");
		h.comm = field(j, "HOTPATCH_COMM");
		h.unit = field(j, "HOTPATCH_UNIT");
		h.patch_id = field(j, "HOTPATCH_PATCH_ID");
		h.level = field(j, "HOTPATCH_LEVEL");
		h.build_id = field(j, "HOTPATCH_BUILD_ID");
		h.key_id = field(j, "HOTPATCH_KEY_ID");
		h.error = field(j, "HOTPATCH_ERROR");
		if (!h.time || !h.op || !h.outcome || !h.pid || !h.comm || !h.unit || !h.patch_id || !h.level ||
		    !h.build_id || !h.key_id || !h.error) {
			rec_free(&h);
			continue;
		}
		count++;
		if (arr) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:i}", "time", h.time, "operation", h.op,
					      "outcome", h.outcome, "pid", atoi(h.pid), "comm", h.comm, "patch_id",
					      h.patch_id, "level", atoi(h.level));

			json_object_set_new(o, "unit", h.unit[0] ? json_string(h.unit) : json_null());
			json_object_set_new(o, "build_id", h.build_id[0] ? json_string(h.build_id) : json_null());
			json_object_set_new(o, "key_id", h.key_id[0] ? json_string(h.key_id) : json_null());
			json_object_set_new(o, "error", h.error[0] ? json_string(h.error) : json_null());
			json_array_append_new(arr, o);
		} else {
			printf("%s %-6s %-8s pid %s (%s)%s%s %s level %s%s%s\n", h.time, h.op, h.outcome, h.pid,
			       h.comm[0] ? h.comm : "?", h.unit[0] ? " unit " : "", h.unit, h.patch_id, h.level,
			       h.error[0] ? ": " : "", h.error);
		}
		rec_free(&h);
	}
	sd_journal_close(j);
	if (arr)
		cli_emit_json(json_pack("{s:o}", "records", arr));
	else if (!count && !cli->quiet)
		fprintf(stderr, "hotpatch: no audit records in the journal\n");
	return HP_EXIT_OK;
}
