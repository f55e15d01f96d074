/* SPDX-License-Identifier: MIT */
/*
 * The service commands (issue 12): the local patch store (cmd-store.c), the
 * static repository (cmd-repo.c) and the hotpatchd client (cmd-agent.c).
 */
#ifndef HP_CLI_CMD_SERVICE_H
#define HP_CLI_CMD_SERVICE_H

#include "cli.h"

int cmd_install(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_remove(struct cli *cli, int argc, char **argv);
int cmd_repo(struct cli *cli, int argc, char **argv);
int cmd_agent(struct cli *cli, int argc, char **argv);

extern const char *const help_install, *const help_list, *const help_remove, *const help_repo, *const help_agent;

/* The store directory: --store, else $HOTPATCH_STORE_DIR, else /var/lib/hotpatch. */
const char *cli_store_dir(const char *opt);

#endif
