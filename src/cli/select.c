/* SPDX-License-Identifier: MIT */
/*
 * Which processes a command works on: -p PID (repeatable), --all, and the
 * filters --exe PATH, --comm NAME, --unit UNIT (each repeatable).  Values of
 * one filter are alternatives; different filters must all match.  A filter
 * that cannot be read for a process (its executable, as another user) lets
 * the process through, so the sweep reports it as unknown rather than
 * leaving it out silently.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "select.h"
#include "shared/util.h"

/* Why: options are collected first; the checks of their combination come after parsing. */
static int push(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

int cli_sel_option(struct cli *cli, const char *cmd, struct cli_sel *sel, int c, const char *arg)
{
	pid_t pid, *np;

	switch (c) {
	case 'p':
		if (hp_parse_pid_arg(arg, &pid) < 0)
			return cli_usage(cli, cmd, "'%s' is not a process id", arg);
		np = realloc(sel->pids, (sel->npids + 1) * sizeof(*np));
		if (!np)
			return cli_fail(cli, -ENOMEM, "out of memory");
		np[sel->npids++] = pid;
		sel->pids = np;
		return 0;
	case 'a':
		sel->all = true;
		return 0;
	case CLI_OPT_EXE: {
		char *real = realpath(arg, NULL);

		/* a path that no longer exists may still be the executable of a running process */
		if (push(&sel->exes, &sel->nexes, real ? real : arg) < 0)
			return cli_fail(cli, -ENOMEM, "out of memory");
		if (real && push(&sel->owned, &sel->nowned, real) < 0)
			return cli_fail(cli, -ENOMEM, "out of memory");
		return 0;
	}
	case CLI_OPT_COMM:
		if (!*arg || strlen(arg) > 15)
			return cli_usage(cli, cmd, "'%s' is not a process name (1 to 15 characters, as in ps)", arg);
		if (push(&sel->comms, &sel->ncomms, arg) < 0)
			return cli_fail(cli, -ENOMEM, "out of memory");
		return 0;
	case CLI_OPT_UNIT:
		if (!*arg || strchr(arg, '/'))
			return cli_usage(cli, cmd, "'%s' is not a systemd unit name", arg);
		if (push(&sel->units, &sel->nunits, arg) < 0)
			return cli_fail(cli, -ENOMEM, "out of memory");
		return 0;
	}
	return 1;
}

int cli_sel_check(struct cli *cli, const char *cmd, const struct cli_sel *sel)
{
	bool filters = sel->nexes || sel->ncomms || sel->nunits;

	if (sel->npids && (sel->all || filters))
		return cli_usage(cli, cmd, "-p and --all, --exe, --comm, --unit exclude each other");
	if (!sel->npids && !sel->all && !filters)
		return cli_usage(cli, cmd, "say which processes: -p PID, --all, --exe PATH, --comm NAME or --unit UNIT");
	return 0;
}

int cli_sel_check_pids(struct cli *cli, struct cli_sel *sel)
{
	/* what each -p names (a thread, a kernel thread, a process we may not touch), before any work */
	for (size_t i = 0; i < sel->npids; i++) {
		int r = cli_check_pid(cli, &sel->pids[i]);

		if (r)
			return r;
	}
	return 0;
}

bool cli_sel_sweep(const struct cli_sel *sel)
{
	return sel->all || sel->nexes || sel->ncomms || sel->nunits;
}

/* Why: "nginx" means nginx.service, as systemctl reads it. */
static bool unit_eq(const char *want, const char *have)
{
	size_t n = strlen(want);

	if (!strcmp(want, have))
		return true;
	return !strchr(want, '.') && !strncmp(have, want, n) && !strcmp(have + n, ".service");
}

bool cli_sel_match(void *ud, pid_t pid)
{
	const struct cli_sel *sel = ud;
	char path[64], buf[PATH_MAX + 16];
	size_t i;
	bool ok;

	if (sel->ncomms) {
		char comm[64] = "";
		ssize_t n = hp_read_small(hp_proc_path(path, sizeof(path), pid, "comm"), comm, sizeof(comm));

		if (n < 0 && n != -ENODATA)
			return false;	/* gone */
		comm[strcspn(comm, "\n")] = 0;
		for (i = 0, ok = false; i < sel->ncomms && !ok; i++)
			ok = !strcmp(comm, sel->comms[i]);
		if (!ok)
			return false;
	}
	if (sel->nunits) {
		char unit[256];

		if (cli_pid_unit(pid, unit, sizeof(unit)) < 0)
			return false;	/* in no unit (or gone) */
		for (i = 0, ok = false; i < sel->nunits && !ok; i++)
			ok = unit_eq(sel->units[i], unit);
		if (!ok)
			return false;
	}
	if (sel->nexes) {
		ssize_t n;

		n = readlink(hp_proc_path(path, sizeof(path), pid, "exe"), buf, sizeof(buf) - 1);
		if (n < 0)
			return errno == EACCES || errno == EPERM;	/* cannot tell: let the sweep say unknown */
		buf[n] = 0;
		if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
			buf[n - 10] = 0;
		for (i = 0, ok = false; i < sel->nexes && !ok; i++)
			ok = !strcmp(buf, sel->exes[i]);
		if (!ok)
			return false;
	}
	return true;
}

void cli_sel_release(struct cli_sel *sel)
{
	size_t i;

	for (i = 0; i < sel->nowned; i++)
		free((char *)sel->owned[i]);
	free(sel->owned);
	free(sel->pids);
	free(sel->exes);
	free(sel->comms);
	free(sel->units);
	memset(sel, 0, sizeof(*sel));
}
