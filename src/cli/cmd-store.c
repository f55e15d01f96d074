/* SPDX-License-Identifier: MIT */
/*
 * hotpatch install / list / remove: the local patch store hotpatchd
 * applies from (docs/agent.md, "Store").
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd-service.h"
#include "agent/store.h"
#include "shared/util.h"

const char *const help_install =
	"usage: hotpatch install [--store DIR] [--trust-dir DIR] FILE...\n"
	"\n"
	"Verify each patch file (signature by a trusted key, format) and store it\n"
	"in the local patch store, where hotpatchd applies it by policy.  Nothing\n"
	"is stored unless it verifies.\n"
	"\n"
	"options:\n"
	"  -s, --store DIR       patch store (default: $HOTPATCH_STORE_DIR, else " STORE_DIR_DEFAULT ")\n"
	"      --trust-dir DIR   trusted keys (default: $HOTPATCH_TRUST_DIR, else /etc/hotpatch/trusted.d)\n"
	"      --json            print the result as JSON\n"
	"  -h, --help            show this help\n";

const char *const help_list =
	"usage: hotpatch list [--store DIR] [--json]\n"
	"\n"
	"List the installed patches: id, level, target build, package and version\n"
	"when known, classification, CVEs and the processes running each now.\n"
	"\n"
	"options:\n"
	"  -s, --store DIR       patch store (default: $HOTPATCH_STORE_DIR, else " STORE_DIR_DEFAULT ")\n"
	"      --json            print the result as JSON\n"
	"  -h, --help            show this help\n";

const char *const help_remove =
	"usage: hotpatch remove [--store DIR] [--revert] ID\n"
	"\n"
	"Remove an installed patch from the store.  Refused (exit 1) while any\n"
	"process runs it, unless --revert: then it is first reverted in every\n"
	"process (exit 16 if some could not be reverted; nothing is removed).\n"
	"\n"
	"options:\n"
	"  -s, --store DIR       patch store (default: $HOTPATCH_STORE_DIR, else " STORE_DIR_DEFAULT ")\n"
	"      --revert          revert it everywhere first\n"
	"      --json            print the result as JSON\n"
	"  -h, --help            show this help\n";

const char *cli_store_dir(const char *opt)
{
	const char *env = secure_getenv("HOTPATCH_STORE_DIR");

	if (opt && *opt)
		return opt;
	return env && *env ? env : STORE_DIR_DEFAULT;
}

int cmd_install(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "store", required_argument, NULL, 's' },
					      { "trust-dir", required_argument, NULL, 't' }, CLI_COMMON_LONGOPTS,
					      { 0 } };
	const char *store = NULL, *trust = NULL;
	json_t *arr = json_array();
	int c, r, i, rc = HP_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":s:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == 't')
			trust = optarg;
		else if (c == CLI_OPT_JSON)
			cli->json = true;
		else
			return json_decref(arr), cli_bad_option(cli, "install", c, argv);
	}
	if (optind >= argc)
		return json_decref(arr), cli_usage(cli, "install", "expected one or more patch files");
	store = cli_store_dir(store);
	for (i = optind; i < argc; i++) {
		char id[HP_ID_MAX + 1] = "";
		struct store_meta meta = { .source = "file" };

		r = store_install(cli->ctx, store, argv[i], trust, &meta, id);
		if (r < 0) {
			json_decref(arr);
			if (r > -HP_ERRNO_BASE && !hp_ctx_errmsg(cli->ctx)[0])
				return cli_fail(cli, r, "install '%s': %s", argv[i], strerror(-r));
			return cli_fail(cli, r, "install '%s' refused: %s", argv[i], hp_ctx_errmsg(cli->ctx));
		}
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:b}", "patch_id", id, "file", argv[i],
							     "already", r == 1));
		else
			printf("%s %s (%s)\n", r == 1 ? "already installed" : "installed", id, argv[i]);
	}
	if (cli->json)
		cli_emit_json(json_pack("{s:o}", "installed", arr));
	else
		json_decref(arr);
	return rc;
}

/* Processes running each patch now, from the processes themselves (read-only: nothing is stopped). */
static json_t *running(struct cli *cli)
{
	struct hp_host_status *hs = NULL;
	json_t *m = json_object();
	size_t i, k;

	if (hp_host_status(cli->ctx, &hs) < 0)
		return m;
	for (i = 0; i < hs->nprocs; i++) {
		struct hp_status *st = hs->procs[i].status;

		for (k = 0; st && k < st->npatches; k++) {
			json_t *a = json_object_get(m, st->patches[k].id);

			if (!a) {
				a = json_array();
				json_object_set_new(m, st->patches[k].id, a);
			}
			json_array_append_new(a, json_integer(hs->procs[i].pid));
		}
	}
	hp_host_status_free(hs);
	return m;
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "store", required_argument, NULL, 's' }, CLI_COMMON_LONGOPTS, { 0 } };
	const char *store = NULL;
	struct store *s = NULL;
	json_t *run, *arr;
	size_t i;
	int c, r;

	while ((c = getopt_long(argc, argv, ":s:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == CLI_OPT_JSON)
			cli->json = true;
		else
			return cli_bad_option(cli, "list", c, argv);
	}
	if (optind != argc)
		return cli_usage(cli, "list", "no arguments expected");
	r = store_load(cli->ctx, cli_store_dir(store), &s);
	if (r < 0)
		return cli_fail(cli, r, "cannot read the store: %s", strerror(-r));
	run = running(cli);
	arr = json_array();
	if (!cli->json && s->n)
		printf("%-24s %5s %-14s %-20s %-10s %-24s %s\n", "ID", "LEVEL", "BUILD", "PACKAGE", "CLASS", "CVES",
		       "PROCESSES");
	for (i = 0; i < s->n; i++) {
		const struct store_entry *e = &s->e[i];
		json_t *j = store_entry_json(e), *pids = json_object_get(run, e->id);
		char cves[256] = "", pkg[200];
		size_t k;

		json_object_set_new(j, "processes", pids ? json_incref(pids) : json_array());
		json_array_append_new(arr, j);
		if (cli->json)
			continue;
		for (k = 0; k < e->man->ncves; k++)
			snprintf(cves + strlen(cves), sizeof(cves) - strlen(cves), "%s%s", k ? "," : "", e->man->cves[k]);
		snprintf(pkg, sizeof(pkg), "%s%s%s", e->meta.package[0] ? e->meta.package : "-",
			 e->meta.version[0] ? "=" : "", e->meta.version);
		printf("%-24s %5u %-14.12s %-20s %-10s %-24s %zu\n", e->id, e->man->level, e->build_id, pkg,
		       e->man->classification ? e->man->classification : "other", cves[0] ? cves : "-",
		       pids ? json_array_size(pids) : 0);
	}
	if (cli->json)
		cli_emit_json(json_pack("{s:s,s:o}", "store", s->dir, "patches", arr));
	else {
		if (!s->n)
			printf("no patches installed in %s\n", s->dir);
		json_decref(arr);
	}
	json_decref(run);
	store_free(s);
	return HP_EXIT_OK;
}

int cmd_remove(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "store", required_argument, NULL, 's' },
					      { "revert", no_argument, NULL, 'R' }, CLI_COMMON_LONGOPTS, { 0 } };
	const char *store = NULL, *id;
	bool revert = false;
	json_t *run, *pids;
	int c, r;

	while ((c = getopt_long(argc, argv, ":s:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == 'R')
			revert = true;
		else if (c == CLI_OPT_JSON)
			cli->json = true;
		else
			return cli_bad_option(cli, "remove", c, argv);
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "remove", "expected one patch id");
	id = argv[optind];
	if (!hp_valid_id(id))
		return cli_usage(cli, "remove", "'%s' is not a patch id", id);
	store = cli_store_dir(store);
	run = running(cli);
	pids = json_object_get(run, id);
	if (pids && json_array_size(pids)) {
		struct hp_host_opts ho = { .sz = sizeof(ho) };
		struct hp_host_result *res = NULL;

		if (!revert) {
			size_t n = json_array_size(pids);
			long long first = (long long)json_integer_value(json_array_get(pids, 0));

			json_decref(run);	/* pids belongs to run: read before */
			return cli_fail(cli, -EBUSY, "patch %s is applied in %zu process%s (first: pid %lld): revert it "
				       "first or use --revert", id, n, n == 1 ? "" : "es", first);
		}
		r = hp_host_revert(cli->ctx, id, &ho, &res);
		if (r < 0) {
			json_decref(run);
			return cli_fail(cli, r, NULL);
		}
		/*
		 * Processes whose memory map cannot be read (HP_HOST_UNKNOWN) cannot
		 * be running it as far as anyone can tell; what counts is a failed
		 * revert, or a record still there afterwards.
		 */
		json_decref(run);
		run = running(cli);
		pids = json_object_get(run, id);
		if (res->nfailed || (pids && json_array_size(pids))) {
			size_t nf = res->nfailed ? res->nfailed : json_array_size(pids);

			hp_host_result_free(res);
			json_decref(run);
			fprintf(stderr, "hotpatch: %s could not be reverted in %zu process%s; not removed\n", id, nf,
				nf == 1 ? "" : "es");
			return HP_EXIT_PARTIAL;
		}
		if (!cli->json)
			printf("reverted %s in %zu process%s\n", id, res->nreverted, res->nreverted == 1 ? "" : "es");
		hp_host_result_free(res);
	}
	json_decref(run);
	r = store_remove(store, id);
	if (r == -ENOENT)
		return cli_fail(cli, -HP_E_NOTAPPLIED, "patch %s is not installed in %s", id, store);
	if (r < 0)
		return cli_fail(cli, r, "cannot remove %s: %s", id, strerror(-r));
	if (cli->json)
		cli_emit_json(json_pack("{s:s}", "removed", id));
	else
		printf("removed %s\n", id);
	return HP_EXIT_OK;
}
