/* SPDX-License-Identifier: MIT */
/* hotpatch verify FILE [--trust-dir DIR]: check a patch's signature. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "shared/escape.h"
#include "shared/cleanup.h"

#define TRUST_DIR_DEFAULT "/etc/hotpatch/trusted.d"

const char *const help_verify =
	"usage: hotpatch verify [--json] FILE [--trust-dir DIR]\n"
	"\n"
	"Check that a patch file is signed by a trusted key and that no byte of\n"
	"it changed since it was signed.  Trusted keys are the *.pub files in\n"
	"DIR (default: $HOTPATCH_TRUST_DIR, else " TRUST_DIR_DEFAULT ").\n"
	"\n"
	"exit status:\n"
	"   0  good signature by a trusted key\n"
	"   7  the file is not a valid patch\n"
	"   8  the patch is for another architecture\n"
	"   9  the patch is not signed\n"
	"  10  signed by a key that is not in the trust directory\n"
	"  11  bad signature: the file was modified after signing\n"
	"   1  any other error (for example, the trust directory is unreadable)\n"
	"\n"
	"options:\n"
	"  -t, --trust-dir DIR   directory of trusted public keys\n"
	"  -j, --json            print the result as JSON\n"
	"  -h, --help            show this help\n";

/* hp_patch_free for _cleanup_. */
static void patch_freep(struct hp_patch **p)
{
	hp_patch_free(*p);
}

/*
 * The same choice the library makes, repeated here only to report which
 * directory was used; the library decides.
 */
static const char *trust_dir_used(const char *dir)
{
	const char *env = secure_getenv("HOTPATCH_TRUST_DIR");

	if (dir && *dir)
		return dir;
	return env && *env ? env : TRUST_DIR_DEFAULT;
}

/*
 * Load (which validates the format), then verify; the library's message
 * already names the cause, so failures only get the file name in front.
 */
int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "trust-dir", required_argument, NULL, 't' }, CLI_COMMON_LONGOPTS,
					      { 0 } };
	_cleanup_(patch_freep) struct hp_patch *patch = NULL;
	const struct hp_manifest *m;
	const char *dir = NULL, *file;
	char key_id[65], hex[2 * HP_BUILD_ID_MAX + 1];
	int c, r;

	while ((c = getopt_long(argc, argv, "t:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 't')
			dir = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return cli_usage(cli, "verify", "unknown option");
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "verify", "expected one patch file");
	file = argv[optind];
	r = hp_patch_open(cli->ctx, file, &patch);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	r = hp_patch_verify(cli->ctx, patch, dir, key_id);
	if (r < 0)
		return cli_fail(cli, r, "%s: %s", file, hp_ctx_errmsg(cli->ctx));
	m = hp_patch_manifest(patch);
	hp_hex(m->build_id, m->build_id_len, hex);
	if (cli->json) {
		cli_emit_json(json_pack("{s:s,s:b,s:s,s:i,s:s,s:s,s:s,s:s}", "file", file, "verified", 1, "patch_id",
					m->id, "level", (int)m->level, "target", m->target_name, "build_id", hex,
					"key_id", key_id, "trust_dir", trust_dir_used(dir)));
		return HP_EXIT_OK;
	}
	printf("%s: good signature by trusted key %s\n", hp_esc(file), key_id);
	printf("  patch %s level %u for %s (build-id %s)\n", m->id, m->level, hp_esc(m->target_name), hex);
	return HP_EXIT_OK;
}
