/* SPDX-License-Identifier: MIT */
/* hotpatch: command dispatch, shared output and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <jansson.h>

#include "cli.h"
#include "cmd-service.h"
#include "shared/escape.h"

bool cli_json_compact;

struct cmd_entry {
	struct cmd cmd;
	const char *const *help;
};

static const struct cmd_entry commands[] = {
	{ { "build", cmd_build, "build a patch from original and patched objects", CMD_NEED_CTX }, &help_build },
	{ { "info", cmd_info, "show a patch's manifest and contents", CMD_NEED_CTX }, &help_info },
	{ { "apply", cmd_apply, "apply a patch to a running process", CMD_NEED_CTX }, &help_apply },
	{ { "revert", cmd_revert, "revert an applied patch", CMD_NEED_CTX }, &help_revert },
	{ { "status", cmd_status, "show what is applied in a process", CMD_NEED_CTX }, &help_status },
	{ { "keygen", cmd_keygen, "generate an Ed25519 key pair for signing patches", CMD_NEED_CTX },
	  &help_keygen },
	{ { "sign", cmd_sign, "sign a patch file", CMD_NEED_CTX }, &help_sign },
	{ { "verify", cmd_verify, "check a patch's signature against the trusted keys", CMD_NEED_CTX },
	  &help_verify },
	{ { "history", cmd_history, "show the apply and revert records in the systemd journal", 0 },
	  &help_history },
	{ { "assess", cmd_assess, "check whether this host and its processes can be hotpatched", CMD_NEED_CTX },
	  &help_assess },
	{ { "install", cmd_install, "verify a patch and put it in the local store", CMD_NEED_CTX }, &help_install },
	{ { "list", cmd_list, "list the installed patches", CMD_NEED_CTX }, &help_list },
	{ { "remove", cmd_remove, "remove an installed patch", CMD_NEED_CTX }, &help_remove },
	{ { "repo", cmd_repo, "publish or fetch a static patch repository", CMD_NEED_CTX }, &help_repo },
	{ { "agent", cmd_agent, "ask hotpatchd: status, assess, vex, clear", 0 }, &help_agent },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hotpatch [-v|-vv|-q] [--json|--json-seq] <command> [<args>]\n"
		   "       hotpatch -V|--version\n"
		   "       hotpatch help [<command>]\n\n"
		   "Restartless security updates for running Linux processes.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].cmd.name, commands[i].cmd.summary);
	fprintf(f, "\noptions (before or after the command):\n"
		   "  -v, --verbose  say more (-vv: debug)\n"
		   "  -q, --quiet    only errors on stderr\n"
		   "      --json     one JSON document on stdout (failures: {\"error\": ...})\n"
		   "      --json-seq sweeps (--all): one JSON object per line per process as it\n"
		   "                 finishes, then the summary (implies --json)\n"
		   "  -V, --version  print the version\n"
		   "  -h, --help     this text; 'hotpatch <command> --help' describes a command\n"
		   "\nman hotpatch(1) has the exit codes.\n");
}

int cli_exit_code(int err)
{
	if (err >= 0)
		return HP_EXIT_OK;
	switch (-err) {
	case HP_E_APPLIED:
	case HP_E_NOTAPPLIED:
		return HP_EXIT_NOTHING;
	case HP_E_BUSY:
		return HP_EXIT_BUSY;
	case HP_E_NOTARGET:
		return HP_EXIT_NOTARGET;
	case HP_E_ORIGBYTES:
	case HP_E_FOREIGN:
		return HP_EXIT_ORIGBYTES;
	case HP_E_FORMAT:
	case HP_E_RELOC:
		return HP_EXIT_FORMAT;
	case HP_E_ARCH:
		return HP_EXIT_ARCH;
	case HP_E_UNSIGNED:
		return HP_EXIT_UNSIGNED;
	case HP_E_UNKNOWNKEY:
		return HP_EXIT_UNKNOWNKEY;
	case HP_E_BADSIG:
		return HP_EXIT_BADSIG;
	case HP_E_DOWNGRADE:
		return HP_EXIT_DOWNGRADE;
	case ESRCH:
	case HP_E_EXITED:
		return HP_EXIT_NOPROCESS;
	case EPERM:
	case EACCES:
	case HP_E_TRACED:
	case HP_E_STOPPED:
		return HP_EXIT_PERM;
	case HP_E_BUILD:
		return HP_EXIT_REFUSED;
	default:
		return HP_EXIT_ERROR;
	}
}

const char *cli_exit_name(int code)
{
	static const char *const names[] = { "ok", "error", "usage", "nothing-to-do", "busy", "not-target",
					     "original-bytes", "format", "arch", "unsigned", "unknown-key",
					     "bad-signature", "downgrade", "no-process", "permission", "refused",
					     "partial", "incomplete" };

	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "error";
}

int cli_fail(struct cli *cli, int err, const char *fmt, ...)
{
	char msg[1536];
	int code = cli_exit_code(err);

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	} else if (cli->ctx && hp_ctx_errmsg(cli->ctx)[0]) {
		snprintf(msg, sizeof(msg), "%s", hp_ctx_errmsg(cli->ctx));
	} else {
		snprintf(msg, sizeof(msg), "%s", hp_strerror(err));
	}
	if (cli->json) {
		json_t *e = json_pack("{s:{s:s,s:s,s:i}}", "error", "kind", cli_exit_name(code), "message", hp_esc_utf8(msg),
				      "exit_code", code);

		cli_emit_json(e);
	} else {
		fprintf(stderr, "hotpatch: %s\n", hp_esc(msg));
	}
	return code;
}

int cli_usage(struct cli *cli, const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->json) {
		cli_emit_json(json_pack("{s:{s:s,s:s,s:i}}", "error", "kind", "usage", "message", msg, "exit_code",
					HP_EXIT_USAGE));
	} else {
		fprintf(stderr, "hotpatch %s: %s\n", cmd, msg);
		fprintf(stderr, "Try 'hotpatch %s --help'.\n", cmd);
	}
	return HP_EXIT_USAGE;
}

int cli_bad_option(struct cli *cli, const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage(cli, cmd, "option '%s' needs a value", arg);
	if (optopt && optopt < 256 && (arg[0] != '-' || arg[1] != '-'))
		return cli_usage(cli, cmd, "unknown option '-%c'", optopt);
	return cli_usage(cli, cmd, "unknown option '%s'", arg);
}

/*
 * Why: one document per run, indented for people; with --json-seq one
 * object per line so that a stream consumer reads each as it comes.  Reals
 * are printed with 12 significant digits: no binary noise (77.425, never
 * 77.424999999999997).
 */
void cli_emit_json(json_t *j)
{
	if (!j)
		return;
	json_dumpf(j, stdout, (cli_json_compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_SORT_KEYS |
				      JSON_REAL_PRECISION(12));
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(j);
}

int hp_parse_pid_arg(const char *s, pid_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 0x3fffffff || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int cli_parse_seconds(const char *s, unsigned *ret_ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400)
		return -EINVAL;
	*ret_ms = (unsigned)(v * 1000.0 + 0.5);
	return 0;
}

/* Why: the library's log lines go to stderr, prefixed like every other message of the tool. */
static void log_cb(void *ud, enum hp_log_level lvl, const char *msg)
{
	static const char *const lv[] = { "error", "warning", "info", "debug" };

	(void)ud;
	fprintf(stderr, "hotpatch: %s: %s\n", lv[lvl], hp_esc(msg));
}

static const struct cmd_entry *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].cmd.name, name))
			return &commands[i];
	return NULL;
}

/*
 * Why: -v, -vv, -q, -V, --json and --json-seq mean the same before and after
 * the command name; they are taken out of argv (up to "--") so that each
 * command's own parser never sees them.  Returns the new argc.
 */
static int take_global_opts(struct cli *cli, int argc, char **argv, bool *version)
{
	int i, n = 1;
	bool rest = false;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!rest && !strcmp(a, "--")) {
			rest = true;
		} else if (!rest && (!strcmp(a, "--verbose") || (a[0] == '-' && a[1] == 'v' && a[2 + strspn(a + 2, "v")] == 0))) {
			cli->verbose += a[1] == '-' ? 1 : (int)strlen(a) - 1;
			continue;
		} else if (!rest && (!strcmp(a, "-q") || !strcmp(a, "--quiet"))) {
			cli->quiet = true;
			continue;
		} else if (!rest && (!strcmp(a, "-V") || !strcmp(a, "--version"))) {
			*version = true;
			continue;
		} else if (!rest && !strcmp(a, "--json")) {
			cli->json = true;
			continue;
		} else if (!rest && !strcmp(a, "--json-seq")) {
			cli->json = true;
			cli->json_seq = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

/* Why: every usage error of the tool itself says what was wrong, as text or as a JSON error. */
static int main_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int main_usage(struct cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->json) {
		cli_emit_json(json_pack("{s:{s:s,s:s,s:i}}", "error", "kind", "usage", "message", msg, "exit_code",
					HP_EXIT_USAGE));
	} else {
		fprintf(stderr, "hotpatch: %s\n", msg);
		fprintf(stderr, "Try 'hotpatch --help'.\n");
	}
	return HP_EXIT_USAGE;
}

/*
 * Why: jansson seeds its hash on the first object by opening, reading and
 * closing /dev/urandom (and a pthread_once); one getrandom() gives the same
 * unpredictable seed (manifests and requests are hostile input) with one
 * system call.  Without it jansson seeds itself as before.
 */
static void seed_json(void)
{
	uint32_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed) && seed)
		json_object_seed(seed);
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "hotpatch" };
	const struct cmd_entry *c;
	bool version = false;
	int i, r;

	argc = take_global_opts(&cli, argc, argv, &version);
	cli_json_compact = cli.json_seq;
	if (version) {
		if (cli.json)
			cli_emit_json(json_pack("{s:s,s:s}", "name", "hotpatch", "version", HP_VERSION));
		else
			printf("hotpatch %s\n", HP_VERSION);
		return 0;
	}
	seed_json();
	i = 1;
	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (i < argc && argv[i][0] == '-')
		return main_usage(&cli, "unknown option '%s'", argv[i]);
	if (i >= argc) {
		if (cli.json)
			return main_usage(&cli, "%s", "a command is required");
		usage(stderr);
		return HP_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 2 < argc)
			return main_usage(&cli, "help takes one command name, not '%s'", argv[i + 2]);
		if (i + 1 < argc) {
			c = find_cmd(argv[i + 1]);
			if (!c)
				return main_usage(&cli, "'%s' is not a command", argv[i + 1]);
			fputs(*c->help, stdout);
			return 0;
		}
		usage(stdout);
		return 0;
	}
	c = find_cmd(argv[i]);
	if (!c)
		return main_usage(&cli, "'%s' is not a command", argv[i]);
	for (int k = i + 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			fputs(*c->help, stdout);
			return 0;
		}
	}
	if (c->cmd.flags & CMD_NEED_CTX) {
		r = hp_ctx_new(&cli.ctx);
		if (r < 0)
			return cli_fail(&cli, r, "out of memory");
		hp_ctx_set_log(cli.ctx, log_cb, NULL,
			       cli.quiet ? HP_LOG_ERR :
			       cli.verbose >= 2 ? HP_LOG_DEBUG : cli.verbose ? HP_LOG_INFO : HP_LOG_WARN);
	}
	/* getopt never prints: each command reports a bad option itself (cli_bad_option) */
	opterr = 0;
	optind = 1;
	r = c->cmd.fn(&cli, argc - i, argv + i);
	hp_ctx_free(cli.ctx);
	return r;
}
