/* SPDX-License-Identifier: MIT */
/* hotpatch keygen -o NAME: make an Ed25519 key pair for signing patches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <errno.h>

#include "cli.h"
#include "shared/cleanup.h"

const char *const help_keygen =
	"usage: hotpatch keygen [--json] -o NAME\n"
	"\n"
	"Generate an Ed25519 key pair for signing patches:\n"
	"  NAME.key  private key, PKCS#8 PEM, created with mode 0600\n"
	"  NAME.pub  public key, SubjectPublicKeyInfo PEM\n"
	"Existing files are never overwritten.  Sign with 'hotpatch sign --key\n"
	"NAME.key'; install NAME.pub in /etc/hotpatch/trusted.d/ on every host\n"
	"that should accept patches signed with it.  The key id printed is the\n"
	"SHA-256 of the raw public key, the value patches carry as 'signer'.\n"
	"\n"
	"options:\n"
	"  -o, --output NAME   base name of the two files (required)\n"
	"      --json          print the result as JSON\n"
	"  -h, --help          show this help\n";

/* The command is thin: the library creates the files; we only report. */
int cmd_keygen(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' }, CLI_COMMON_LONGOPTS,
					      { 0 } };
	_cleanup_free_ char *key_path = NULL, *pub_path = NULL;
	const char *base = NULL;
	char key_id[65];
	int c, r;

	while ((c = getopt_long(argc, argv, ":o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'o')
			base = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return cli_bad_option(cli, "keygen", c, argv);
	}
	if (optind != argc)
		return cli_usage(cli, "keygen", "unexpected argument '%s'", argv[optind]);
	if (!base || !*base)
		return cli_usage(cli, "keygen", "-o NAME is required");
	r = hp_keygen(cli->ctx, base, key_id);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	if (asprintf(&key_path, "%s.key", base) < 0 || asprintf(&pub_path, "%s.pub", base) < 0)
		return cli_fail(cli, -ENOMEM, "out of memory");
	if (cli->json) {
		cli_emit_json(json_pack("{s:s,s:s,s:s,s:s}", "key_id", key_id, "private_key", key_path,
					"public_key", pub_path, "algorithm", "ed25519"));
		return HP_EXIT_OK;
	}
	printf("private key  %s (mode 0600; keep it secret)\n", key_path);
	printf("public key   %s (install in /etc/hotpatch/trusted.d/ to trust it)\n", pub_path);
	printf("key id       %s\n", key_id);
	return HP_EXIT_OK;
}
