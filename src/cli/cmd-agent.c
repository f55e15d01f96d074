/* SPDX-License-Identifier: MIT */
/*
 * hotpatch agent status|assess|vex|clear|sync: ask the running hotpatchd
 * over its unix socket (docs/agent.md, "Control socket").
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd-service.h"
#include "shared/util.h"

#define SOCKET_DEFAULT "/run/hotpatch/hotpatchd.sock"
#define REPLY_MAX (64u << 20)

const char *const help_agent =
	"usage: hotpatch agent status [--json] [--socket PATH]\n"
	"       hotpatch agent assess [--json]\n"
	"       hotpatch agent vex [-o FILE]\n"
	"       hotpatch agent clear ID\n"
	"       hotpatch agent sync\n"
	"\n"
	"Ask the running hotpatchd (root, or a member of the socket's group):\n"
	"  status  policy, last sync, installed/applied/pending/halted patches,\n"
	"          restart-required units and the per-process table\n"
	"  assess  run the host and process assessment now and show it\n"
	"  vex     an OpenVEX document for the host: each CVE an installed patch\n"
	"          fixes is 'fixed' for its package only when every process mapping\n"
	"          the vulnerable build runs the patch, else 'affected' with the\n"
	"          processes still on old code\n"
	"  clear   clear a halted patch (halted after crashes) so it may apply again\n"
	"  sync    check the store and repository now\n"
	"\n"
	"options:\n"
	"      --socket PATH     daemon socket (default: $HOTPATCHD_SOCKET, else " SOCKET_DEFAULT ")\n"
	"  -o, --output FILE     write the document to FILE (vex)\n"
	"  -j, --json            print the daemon's JSON reply\n"
	"  -h, --help            show this help\n";

/* One request line, one JSON reply; the daemon closes the connection after it. */
static int ask(const char *path, const char *req, json_t **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = NULL;
	size_t len = 0;
	json_error_t je;
	int fd, r = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || hp_write_all(fd, req, strlen(req)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char chunk[65536];
		ssize_t n;
		char *nb;

		if (poll(&p, 1, 600000) <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		if (len + (size_t)n > REPLY_MAX || !(nb = realloc(buf, len + (size_t)n + 1))) {
			r = -EFBIG;
			break;
		}
		buf = nb;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(fd);
	if (r == 0) {
		*ret = buf ? json_loadb(buf, len, 0, &je) : NULL;
		if (!*ret)
			r = -EBADMSG;
	}
	free(buf);
	return r;
}

static void print_status(json_t *s)
{
	json_t *p = json_object_get(s, "patches"), *procs = json_object_get(s, "processes"),
	       *rr = json_object_get(s, "restart_required"), *e, *t;
	size_t i, k;

	printf("policy:   %s (%s)%s\n", json_string_value(json_object_get(json_object_get(s, "policy"), "name")),
	       json_string_value(json_object_get(json_object_get(s, "policy"), "source")),
	       json_is_true(json_object_get(json_object_get(s, "policy"), "paused")) ? " paused" : "");
	printf("sync:     %s\n", json_string_value(json_object_get(s, "last_sync")) ?: "never");
	printf("patches:\n");
	json_array_foreach(p, i, e) {
		const char *why = json_string_value(json_object_get(e, "halted_reason"));
		const char *wait = json_string_value(json_object_get(e, "reason"));

		printf("  %-24s level %-3lld %-10s %s\n", json_string_value(json_object_get(e, "patch_id")),
		       json_integer_value(json_object_get(e, "level")), json_string_value(json_object_get(e, "state")),
		       why ? why : wait ? wait : "");
	}
	if (json_array_size(rr)) {
		printf("restart required:\n");
		json_array_foreach(rr, i, e)
			printf("  %-30s pid %-7lld %s\n", json_string_value(json_object_get(e, "unit")) ?: "-",
			       json_integer_value(json_object_get(e, "pid")), json_string_value(json_object_get(e, "reason")));
	}
	printf("processes:\n");
	json_array_foreach(procs, i, e) {
		json_array_foreach(json_object_get(e, "targets"), k, t)
			printf("  %-7lld %-16s %-28s %-16s %s\n", json_integer_value(json_object_get(e, "pid")),
			       json_string_value(json_object_get(e, "comm")),
			       json_string_value(json_object_get(t, "path")),
			       json_string_value(json_object_get(t, "state")),
			       json_string_value(json_object_get(t, "patch_id")) ?: "");
	}
}

int cmd_agent(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 'S' },
					      { "output", required_argument, NULL, 'o' }, CLI_COMMON_LONGOPTS, { 0 } };
	const char *sock = secure_getenv("HOTPATCHD_SOCKET"), *out = NULL, *sub;
	char req[256];
	json_t *reply = NULL, *err;
	int c, r;

	if (!sock || !*sock)
		sock = SOCKET_DEFAULT;
	if (argc < 2)
		return cli_usage(cli, "agent", "expected status, assess, vex, clear or sync");
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'S')
			sock = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return cli_usage(cli, "agent", "unknown option");
	}
	if (!strcmp(sub, "clear")) {
		if (optind + 1 != argc || !hp_valid_id(argv[optind]))
			return cli_usage(cli, "agent", "clear: expected one patch id");
		snprintf(req, sizeof(req), "clear %s\n", argv[optind]);
	} else if (!strcmp(sub, "status") || !strcmp(sub, "assess") || !strcmp(sub, "vex") || !strcmp(sub, "sync")) {
		if (optind != argc)
			return cli_usage(cli, "agent", "%s: no arguments expected", sub);
		snprintf(req, sizeof(req), "%s\n", sub);
	} else {
		return cli_usage(cli, "agent", "unknown subcommand '%s'", sub);
	}
	r = ask(sock, req, &reply);
	if (r < 0)
		return cli_fail(cli, r, "cannot reach hotpatchd at %s: %s", sock, strerror(-r));
	if ((err = json_object_get(reply, "error"))) {
		char m[512];

		hp_strlcpy(m, json_string_value(err) ?: "error", sizeof(m));
		json_decref(reply);
		return cli_fail(cli, -EINVAL, "hotpatchd: %s", m);
	}
	if (!strcmp(sub, "vex") && out) {
		r = json_dump_file(reply, out, JSON_INDENT(2));
		json_decref(reply);
		return r < 0 ? cli_fail(cli, -EIO, "cannot write %s", out) : HP_EXIT_OK;
	}
	if (cli->json || !strcmp(sub, "vex") || !strcmp(sub, "assess")) {
		cli_emit_json(reply);
		return HP_EXIT_OK;
	}
	if (!strcmp(sub, "status"))
		print_status(reply);
	else
		printf("%s\n", json_string_value(json_object_get(reply, "result")) ?: "ok");
	json_decref(reply);
	return HP_EXIT_OK;
}
