/* SPDX-License-Identifier: MIT */
/*
 * hotpatch repo add|index|sign|sync: publish a static patch repository
 * (docs/repository.md) and fetch from one by hand.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd-service.h"
#include "agent/buildid.h"
#include "agent/repo.h"
#include "shared/util.h"

const char *const help_repo =
	"usage: hotpatch repo add DIR FILE [--package NAME] [--package-version V] [--release-time T]\n"
	"       hotpatch repo index DIR [--valid-days N] [--serial N]\n"
	"       hotpatch repo sign DIR --key KEY\n"
	"       hotpatch repo sync URL [--store DIR] [--state DIR] [--trust-dir DIR]\n"
	"\n"
	"A static repository is a directory any HTTP server, mirror or file://\n"
	"URL serves: patches/ID.hpatch (signed patches), index.json (patch id,\n"
	"target build-id, package, version, level, classification, CVEs, sha256,\n"
	"size, release time, valid-until and a serial that only grows) and\n"
	"index.json.sig (Ed25519 by the same keys as patches).\n"
	"\n"
	"  add     copy a signed patch into DIR/patches, with its package, version\n"
	"          and release time (RFC 3339 UTC; default: the patch's creation)\n"
	"  index   write DIR/index.json: serial = previous + 1 (or N if larger),\n"
	"          valid for N days (default 7); removes the old signature\n"
	"  sign    write DIR/index.json.sig with the private key KEY\n"
	"  sync    what hotpatchd does: fetch URL (of index.json), refuse it if its\n"
	"          signature does not verify, it expired or its serial is older than\n"
	"          the last accepted; then download the patches for builds running\n"
	"          on this host, check their sha256 and signature, store them\n"
	"          (exit 1 when the index or a patch is refused)\n"
	"\n"
	"options:\n"
	"      --package NAME    Debian package the target belongs to (add)\n"
	"      --package-version V  its version (add)\n"
	"      --release-time T  release time, RFC 3339 UTC (add; deferral and deadline count from it)\n"
	"      --valid-days N    the index expires N days after it is written (index; default 7)\n"
	"      --serial N        at least this serial (index)\n"
	"  -s, --store DIR       patch store (default: $HOTPATCH_STORE_DIR, else " STORE_DIR_DEFAULT ")\n"
	"      --state DIR       where the accepted index and serial are kept (default /var/lib/hotpatch/state)\n"
	"  -t, --trust-dir DIR   trusted keys (default: $HOTPATCH_TRUST_DIR, else /etc/hotpatch/trusted.d)\n"
	"  -k, --key KEY         private key (sign)\n"
	"      --now T           the time to check valid-until against (tests)\n"
	"  -j, --json            print the result as JSON\n"
	"  -h, --help            show this help\n";

enum { OPT_PKG = 1000, OPT_VER, OPT_REL, OPT_VALID, OPT_SERIAL, OPT_STATE, OPT_NOW };

int cmd_repo(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "package", required_argument, NULL, OPT_PKG },  { "package-version", required_argument, NULL, OPT_VER },
		{ "release-time", required_argument, NULL, OPT_REL }, { "valid-days", required_argument, NULL, OPT_VALID },
		{ "serial", required_argument, NULL, OPT_SERIAL }, { "state", required_argument, NULL, OPT_STATE },
		{ "now", required_argument, NULL, OPT_NOW },	   { "store", required_argument, NULL, 's' },
		{ "trust-dir", required_argument, NULL, 't' },	   { "key", required_argument, NULL, 'k' },
		CLI_COMMON_LONGOPTS,				   { 0 }
	};
	struct store_meta meta = { .source = "repository" };
	const char *sub, *store = NULL, *state = "/var/lib/hotpatch/state", *trust = NULL, *key = NULL;
	unsigned long long serial_min = 0, days = 7;
	time_t now = time(NULL);
	int c, r;

	if (argc < 2)
		return cli_usage(cli, "repo", "expected add, index, sign or sync");
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "s:t:k:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case OPT_PKG:
			hp_strlcpy(meta.package, optarg, sizeof(meta.package));
			break;
		case OPT_VER:
			hp_strlcpy(meta.version, optarg, sizeof(meta.version));
			break;
		case OPT_REL:
			if (store_parse_time(optarg, &meta.release_time) < 0)
				return cli_usage(cli, "repo", "--release-time: RFC 3339 UTC, e.g. 2026-12-06T01:02:03Z");
			break;
		case OPT_VALID:
			if (hp_parse_uint(optarg, 3650, &days) < 0 || !days)
				return cli_usage(cli, "repo", "--valid-days: 1..3650");
			break;
		case OPT_SERIAL:
			if (hp_parse_uint(optarg, (1ULL << 53), &serial_min) < 0)
				return cli_usage(cli, "repo", "--serial: a positive integer");
			break;
		case OPT_STATE:
			state = optarg;
			break;
		case OPT_NOW:
			if (store_parse_time(optarg, &now) < 0)
				return cli_usage(cli, "repo", "--now: RFC 3339 UTC");
			break;
		case 's':
			store = optarg;
			break;
		case 't':
			trust = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return cli_usage(cli, "repo", "unknown option");
		}
	}
	if (!strcmp(sub, "add")) {
		char id[HP_ID_MAX + 1];

		if (optind + 2 != argc)
			return cli_usage(cli, "repo", "add: expected DIR FILE");
		r = repo_add(cli->ctx, argv[optind], argv[optind + 1], &meta, id);
		if (r == -HP_E_UNSIGNED)
			return cli_fail(cli, r, "repo add: '%s' is not signed (sign it with 'hotpatch sign')", argv[optind + 1]);
		if (r < 0)
			return cli_fail(cli, r, "repo add: %s", hp_ctx_errmsg(cli->ctx)[0] ? hp_ctx_errmsg(cli->ctx) : strerror(-r));
		if (cli->json)
			cli_emit_json(json_pack("{s:s}", "added", id));
		else
			printf("added %s to %s\n", id, argv[optind]);
		return HP_EXIT_OK;
	}
	if (!strcmp(sub, "index")) {
		unsigned long long serial = 0;

		if (optind + 1 != argc)
			return cli_usage(cli, "repo", "index: expected DIR");
		r = repo_index(cli->ctx, argv[optind], serial_min, now, (long)days * 86400, &serial);
		if (r < 0)
			return cli_fail(cli, r, "repo index: %s", strerror(-r));
		if (cli->json)
			cli_emit_json(json_pack("{s:I}", "serial", (json_int_t)serial));
		else
			printf("wrote %s/index.json serial %llu (sign it: hotpatch repo sign %s --key KEY)\n", argv[optind],
			       serial, argv[optind]);
		return HP_EXIT_OK;
	}
	if (!strcmp(sub, "sign")) {
		if (optind + 1 != argc || !key)
			return cli_usage(cli, "repo", "sign: expected DIR and --key KEY");
		r = repo_sign(cli->ctx, argv[optind], key);
		if (r < 0)
			return cli_fail(cli, r, "repo sign: %s", hp_ctx_errmsg(cli->ctx)[0] ? hp_ctx_errmsg(cli->ctx) : strerror(-r));
		if (!cli->json)
			printf("signed %s/index.json\n", argv[optind]);
		else
			cli_emit_json(json_pack("{s:b}", "signed", 1));
		return HP_EXIT_OK;
	}
	if (!strcmp(sub, "sync")) {
		struct repo_sync_opts o = { .state_dir = state, .trust_dir = trust, .now = now };
		struct repo_sync_result res = { 0 };
		struct buildid_cache *bc = NULL;
		char **ids = NULL;
		size_t n = 0;

		if (optind + 1 != argc)
			return cli_usage(cli, "repo", "sync: expected URL");
		o.url = argv[optind];
		o.store_dir = cli_store_dir(store);
		if (buildid_cache_new(&bc) < 0 || buildid_host(bc, &ids, &n) < 0) {
			buildid_cache_free(bc);
			return cli_fail(cli, -ENOMEM, "cannot list the builds on this host");
		}
		o.build_ids = (const char *const *)ids;
		o.nbuild_ids = n;
		r = repo_sync(cli->ctx, &o, &res);
		buildid_list_free(ids, n);
		buildid_cache_free(bc);
		if (r < 0)
			return cli_fail(cli, r, "repo sync: index %s refused or unreachable (see the message above)", o.url);
		if (cli->json)
			cli_emit_json(json_pack("{s:I,s:b,s:i,s:i,s:i}", "serial", (json_int_t)res.serial, "not_modified",
						res.not_modified, "downloaded", res.downloaded, "skipped", res.skipped,
						"refused", res.refused));
		else
			printf("index serial %llu%s: %u downloaded, %u for builds not on this host, %u refused\n", res.serial,
			       res.not_modified ? " (not modified)" : "", res.downloaded, res.skipped, res.refused);
		return res.refused ? HP_EXIT_ERROR : HP_EXIT_OK;
	}
	return cli_usage(cli, "repo", "unknown subcommand '%s'", sub);
}
