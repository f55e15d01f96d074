/* SPDX-License-Identifier: MIT */
/* hotpatch: command dispatch, shared output and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd-service.h"
#include "shared/escape.h"

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

	fprintf(f, "usage: hotpatch [--json] [-v] <command> [<args>]\n\n"
		   "Restartless security updates for running Linux processes.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].cmd.name, commands[i].cmd.summary);
	fprintf(f, "\n'hotpatch <command> --help' describes a command; man hotpatch(1) has the exit codes.\n");
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
					     "partial" };

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

void cli_emit_json(json_t *j)
{
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
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

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "hotpatch" };
	const struct cmd_entry *c;
	int i, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			cli.json = true;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			cli.verbose++;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("hotpatch %s\n", HP_VERSION);
			return 0;
		} else {
			fprintf(stderr, "hotpatch: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return HP_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return HP_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc && (c = find_cmd(argv[i + 1]))) {
			fputs(*c->help, stdout);
			return 0;
		}
		usage(stdout);
		return 0;
	}
	c = find_cmd(argv[i]);
	if (!c) {
		fprintf(stderr, "hotpatch: '%s' is not a command; see 'hotpatch --help'\n", argv[i]);
		return HP_EXIT_USAGE;
	}
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
			       cli.verbose >= 2 ? HP_LOG_DEBUG : cli.verbose ? HP_LOG_INFO : HP_LOG_WARN);
	}
	optind = 1;
	r = c->cmd.fn(&cli, argc - i, argv + i);
	hp_ctx_free(cli.ctx);
	return r;
}
