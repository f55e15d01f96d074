/* SPDX-License-Identifier: MIT */
/*
 * The hotpatch command line: a table of git-style subcommands, each a thin
 * client of libhotpatch that fills a result and renders it either as text
 * or (with --json) as one JSON document on stdout.
 */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <stdbool.h>
#include <jansson.h>
#include "hotpatch/hotpatch.h"

/* Exit codes (documented in man/hotpatch.1 and README.md). */
enum hp_exit {
	HP_EXIT_OK = 0,
	HP_EXIT_ERROR = 1,		/* any other failure */
	HP_EXIT_USAGE = 2,		/* bad command line */
	HP_EXIT_NOTHING = 3,		/* nothing to do: already applied / not applied */
	HP_EXIT_BUSY = 4,		/* threads stayed in affected functions until the timeout */
	HP_EXIT_NOTARGET = 5,		/* process does not run the patch's target build */
	HP_EXIT_ORIGBYTES = 6,		/* code in the process differs from what the patch expects */
	HP_EXIT_FORMAT = 7,		/* malformed patch file */
	HP_EXIT_ARCH = 8,		/* patch for another architecture */
	HP_EXIT_UNSIGNED = 9,		/* patch not signed */
	HP_EXIT_UNKNOWNKEY = 10,	/* signer not trusted */
	HP_EXIT_BADSIG = 11,		/* signature does not verify (file modified) */
	HP_EXIT_DOWNGRADE = 12,		/* level not higher than the applied one */
	HP_EXIT_NOPROCESS = 13,		/* no such process, or it exited */
	HP_EXIT_PERM = 14,		/* cannot attach: permission, already traced, stopped */
	HP_EXIT_REFUSED = 15,		/* builder refuses the change */
	HP_EXIT_PARTIAL = 16,		/* --all: some processes running the target build were not patched */
	HP_EXIT_INCOMPLETE = 17,	/* --all: some processes could not be read: whether they run the
					   target (or have the patch) is unknown */
};

struct cli {
	const char *prog;
	bool json;
	bool json_seq;			/* --json-seq: sweeps print one line per process as it finishes */
	bool quiet;			/* -q: only errors on stderr */
	int verbose;
	struct hp_ctx *ctx;
};

enum cmd_flags {
	CMD_NEED_CTX = 1 << 0,
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
	unsigned flags;
};

/* Map a negative libhotpatch code to an exit code. */
int cli_exit_code(int err);
/* Stable name of an exit code ("busy", "not-target", ...), as in JSON errors. */
const char *cli_exit_name(int code);

/*
 * Report a failure: "hotpatch: <msg>" on stderr, or {"error":{...}} on
 * stdout with --json.  Uses the context's error message when fmt is NULL.
 * Returns the exit code for err.
 */
int cli_fail(struct cli *cli, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Usage error for a command: prints the hint, returns HP_EXIT_USAGE. */
int cli_usage(struct cli *cli, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print a JSON document (steals the reference). */
void cli_emit_json(json_t *j);
/* true: cli_emit_json prints one line (--json-seq). */
extern bool cli_json_compact;

/*
 * A bad option met by getopt_long (opterr is 0, optstrings start with ':'):
 * c is '?' (unknown) or ':' (value missing).  Returns HP_EXIT_USAGE.
 */
int cli_bad_option(struct cli *cli, const char *cmd, int c, char **argv);

/*
 * Common option handling: every command accepts --json and --help/-h.
 * main() takes -v/-q/-V/--json/--json-seq out of argv wherever they are;
 * -j is --jobs wherever it exists (never --json).
 */
#define CLI_OPT_JSON 0x1000
#define CLI_COMMON_LONGOPTS { "json", no_argument, NULL, CLI_OPT_JSON }, { "help", no_argument, NULL, 'h' }
#define CLI_COMMON_SHORTOPTS "h"

/* Parse a process id argument strictly. */
int hp_parse_pid_arg(const char *s, pid_t *ret);
/*
 * Before an operation on -p PID (pid.c): a thread id becomes its process
 * (with a note), and a kernel thread or a process the kernel will not let
 * us read is refused with what it is and why.  0, or the exit code.
 */
int cli_check_pid(struct cli *cli, pid_t *pid);

/* Parse "--timeout" seconds (decimal, may have a fraction) into ms. */
int cli_parse_seconds(const char *s, unsigned *ret_ms);

/* Commands. */
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_build(struct cli *cli, int argc, char **argv);
int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_revert(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_keygen(struct cli *cli, int argc, char **argv);
int cmd_sign(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_assess(struct cli *cli, int argc, char **argv);

/* The --all forms (cmd-host.c): sweep every process of the host; return the exit code. */
struct cli_sel;
int cli_host_apply(struct cli *cli, const struct hp_patch *patch, const struct hp_apply_opts *o, unsigned jobs,
		   struct cli_sel *sel);
int cli_host_revert(struct cli *cli, const char *patch_id, const struct hp_apply_opts *o, unsigned jobs,
		    struct cli_sel *sel);
int cli_host_status(struct cli *cli, struct cli_sel *sel);
/* Whether this process may read every process of the host; if not, warns once on stderr (not --json). */
bool cli_can_see_host(struct cli *cli);
/* Parse --jobs N (1..256). */
int cli_parse_jobs(const char *s, unsigned *ret);

/* An audit record in the journal (audit.c): one apply or revert in one process. */
struct cli_audit_rec {
	pid_t pid;
	bool revert;
	const char *patch_id;
	unsigned level;
	const char *build_id;		/* hex, or NULL */
	const char *key_id;		/* hex, or NULL */
	int err;			/* 0: done; else the failure */
	const char *message;		/* of the failure */
	const char *comm;		/* the process's name if known; NULL: read from /proc/PID/comm */
};
void cli_audit(const struct cli_audit_rec *a);
/* The systemd unit of pid from /proc/PID/cgroup (as sd_pid_get_unit): 0, -ENXIO in none, -errno. */
int cli_pid_unit(pid_t pid, char *buf, size_t size);
int cmd_history(struct cli *cli, int argc, char **argv);
extern const char *const help_history;

/* Help text of each command (printed by --help and `hotpatch help CMD`). */
extern const char *const help_info, *const help_build, *const help_apply, *const help_revert,
	*const help_status;
extern const char *const help_keygen, *const help_sign, *const help_verify;
extern const char *const help_assess;

#endif
