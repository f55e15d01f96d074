/* SPDX-License-Identifier: MIT */
/* Process selection shared by apply, revert and status (select.c). */
#ifndef HP_CLI_SELECT_H
#define HP_CLI_SELECT_H

#include <stdbool.h>
#include <sys/types.h>

struct cli;

enum { CLI_OPT_EXE = 0x1100, CLI_OPT_COMM, CLI_OPT_UNIT };

#define CLI_SEL_LONGOPTS                                                                                \
	{ "pid", required_argument, NULL, 'p' }, { "all", no_argument, NULL, 'a' },                     \
		{ "exe", required_argument, NULL, CLI_OPT_EXE },                                         \
		{ "comm", required_argument, NULL, CLI_OPT_COMM },                                       \
		{ "unit", required_argument, NULL, CLI_OPT_UNIT }
#define CLI_SEL_SHORTOPTS "p:a"

#define CLI_SEL_HELP                                                                                    \
	"  -p, --pid PID          a process (repeatable: several processes, one line each)\n"             \
	"  -a, --all              every process on the host\n"                                            \
	"      --exe PATH         processes running the executable PATH (repeatable)\n"                   \
	"      --comm NAME        processes named NAME, as ps shows it (repeatable)\n"                    \
	"      --unit UNIT        processes of the systemd unit UNIT (repeatable; \"nginx\" is\n"         \
	"                         nginx.service); filters combine with each other and --all\n"

struct cli_sel {
	pid_t *pids;
	size_t npids;
	bool all;
	const char **exes, **comms, **units, **owned;
	size_t nexes, ncomms, nunits, nowned;
};

/* Take a selection option: 0 taken, 1 not a selection option, else the exit code of a usage error. */
int cli_sel_option(struct cli *cli, const char *cmd, struct cli_sel *sel, int c, const char *arg);
/* After parsing: 0, or the exit code of a usage error (nothing selected, -p with a sweep). */
int cli_sel_check(struct cli *cli, const char *cmd, const struct cli_sel *sel);
/* After the usage checks, before any work: what each -p names (pid.c); 0 or the exit code. */
int cli_sel_check_pids(struct cli *cli, struct cli_sel *sel);
/* Whether the selection is a host sweep (--all or a filter) rather than a list of pids. */
bool cli_sel_sweep(const struct cli_sel *sel);
/* hp_host_opts.select: whether pid passes the filters (ud is the struct cli_sel). */
bool cli_sel_match(void *ud, pid_t pid);
void cli_sel_release(struct cli_sel *sel);

#endif
