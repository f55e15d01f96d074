/* SPDX-License-Identifier: MIT */
/* hotpatch sign --key KEY FILE [-o OUT]: sign a patch file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lib/format/patch.h"

const char *const help_sign =
	"usage: hotpatch sign [--json] --key KEY FILE [-o OUT]\n"
	"\n"
	"Sign a patch file with an Ed25519 private key (made by 'hotpatch\n"
	"keygen').  The manifest's 'signer' is set to the key id and the\n"
	"signature covers every byte of the file.  An existing signature is\n"
	"replaced.  FILE is replaced atomically unless -o is given; the input\n"
	"is parsed and validated like any patch first.\n"
	"\n"
	"options:\n"
	"  -k, --key KEY       private key file (PKCS#8 PEM, unencrypted); may be a\n"
	"                      pipe, e.g. --key <(secret-tool lookup ...)\n"
	"  -o, --output OUT    write the signed patch to OUT instead of FILE\n"
	"      --json          print the result as JSON\n"
	"  -h, --help          show this help\n";

/* hp_patch_free for _cleanup_. */
static void patch_freep(struct hp_patch **p)
{
	hp_patch_free(*p);
}

/*
 * Sign, then read our own output back before replacing anything, so a bug
 * can never leave the user with a signed file that does not parse.  The
 * output keeps the mode of the file it replaces.
 */
int cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
					      { "output", required_argument, NULL, 'o' },
					      CLI_COMMON_LONGOPTS,
					      { 0 } };
	_cleanup_(patch_freep) struct hp_patch *patch = NULL, *out_patch = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	const char *key = NULL, *file, *out = NULL;
	char key_id[65] = "";
	unsigned mode = 0644;
	struct stat st;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, ":k:o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return cli_bad_option(cli, "sign", c, argv);
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "sign", "expected one patch file");
	if (!key)
		return cli_usage(cli, "sign", "--key KEY is required");
	file = argv[optind];
	if (!out)
		out = file;
	r = hp_patch_open(cli->ctx, file, &patch);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	r = hp_patch_sign(cli->ctx, patch, key, &buf, &len);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	r = hp_patch_load(cli->ctx, buf, len, &out_patch);
	if (r < 0 || !hp_patch_is_signed(out_patch, key_id))
		return cli_fail(cli, r < 0 ? r : -EIO, "%s: signing produced an unreadable patch: %s", file,
				hp_ctx_errmsg(cli->ctx));
	if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
		mode = st.st_mode & 0777;
	r = hp_write_file_atomic(out, buf, len, mode);
	if (r < 0)
		return cli_fail(cli, r, "cannot write '%s': %s", out, strerror(-r));
	if (cli->json) {
		cli_emit_json(json_pack("{s:s,s:s,s:s,s:i,s:s,s:I}", "file", file, "output", out, "patch_id",
					hp_patch_manifest(out_patch)->id, "level",
					(int)hp_patch_manifest(out_patch)->level, "key_id", key_id, "size",
					(json_int_t)len));
		return HP_EXIT_OK;
	}
	printf("signed %s (patch %s, level %u) with key %s\n", out, hp_patch_manifest(out_patch)->id,
	       hp_patch_manifest(out_patch)->level, key_id);
	return HP_EXIT_OK;
}
