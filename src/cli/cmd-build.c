/* SPDX-License-Identifier: MIT */
/* hotpatch build: turn original and patched objects into a patch file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "cli.h"

const char *const help_build =
	"usage: hotpatch build --target PATH --orig ORIG.o --patched PATCHED.o [--orig ... --patched ...]\n"
	"                      -o OUT.hpatch [options]\n"
	"\n"
	"Build a patch for the binary PATH (executable or shared library) from\n"
	"objects of the same translation unit compiled before and after a fix, with\n"
	"-ffunction-sections -fdata-sections and otherwise the flags PATH was built\n"
	"with.  Functions whose code or relocations differ, and new functions, go into\n"
	"the patch; references to everything else bind to the target's own code and\n"
	"data.  The rebuilt original must match PATH byte for byte (outside\n"
	"relocations), or the build is refused, naming the first function that differs.\n"
	"Give one --orig/--patched pair per translation unit.\n"
	"\n"
	"options:\n"
	"      --target PATH          the running binary (its GNU build-id goes into the patch)\n"
	"      --orig FILE            original object of a translation unit\n"
	"      --patched FILE         patched object of the same translation unit\n"
	"  -o, --output FILE          where to write the patch\n"
	"      --id ID                patch id (default: output file name without extension)\n"
	"      --level N              cumulative level for this baseline (default 1)\n"
	"      --description TEXT     what the patch fixes\n"
	"      --classification C     critical, security or other (default other)\n"
	"      --cve ID               a CVE the patch fixes (repeatable)\n"
	"      --debug-file FILE      separate debug file of a stripped target\n"
	"  -j, --json                 print the decisions as JSON\n"
	"\n"
	"exit codes: 0 written, 3 no function changed, 15 the change cannot be\n"
	"hotpatched (the reason is printed), 1 other errors, 2 usage.\n";

enum { OPT_TARGET = 256, OPT_ORIG, OPT_PATCHED, OPT_ID, OPT_LEVEL, OPT_DESC, OPT_CLASS, OPT_CVE, OPT_DEBUG };

static const char *action_name(enum hp_build_action a)
{
	switch (a) {
	case HP_BUILD_CHANGED:
		return "replaced";
	case HP_BUILD_NEW:
		return "added";
	case HP_BUILD_PULLED:
		return "included";
	case HP_BUILD_DATA:
		return "data";
	case HP_BUILD_REFUSED:
		return "refused";
	case HP_BUILD_NOTE:
		return "note";
	}
	return "?";
}

static void print_report(struct cli *cli, const struct hp_build_report *rep, const struct hp_build_opts *o, int r)
{
	size_t i;

	if (cli->json) {
		json_t *j = json_object(), *ev = json_array();

		for (i = 0; i < rep->n; i++)
			json_array_append_new(ev, json_pack("{s:s,s:s,s:s,s:s}", "action", action_name(rep->v[i].action),
							    "name", rep->v[i].what, "unit", rep->v[i].tu, "reason",
							    rep->v[i].why ? rep->v[i].why : ""));
		json_object_set_new(j, "events", ev);
		json_object_set_new(j, "replaced", json_integer((json_int_t)rep->nreplaced));
		json_object_set_new(j, "added", json_integer((json_int_t)rep->nnew));
		if (r == 0)
			json_object_set_new(j, "output", json_string(o->output));
		else
			json_object_set_new(j, "error", json_pack("{s:s,s:i}", "message", hp_ctx_errmsg(cli->ctx),
								  "exit_code", cli_exit_code(r == -ENODATA ? -HP_E_NOTAPPLIED : r)));
		cli_emit_json(j);
		return;
	}
	for (i = 0; i < rep->n; i++)
		fprintf(r == 0 ? stdout : stderr, "build: %s: %s: %s (%s)\n", rep->v[i].tu, rep->v[i].what,
			action_name(rep->v[i].action), rep->v[i].why ? rep->v[i].why : "");
	if (r == 0)
		printf("wrote %s: %zu function%s replaced, %zu added\n", o->output, rep->nreplaced,
		       rep->nreplaced == 1 ? "" : "s", rep->nnew);
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "orig", required_argument, NULL, OPT_ORIG },
		{ "patched", required_argument, NULL, OPT_PATCHED },
		{ "output", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, OPT_ID },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "description", required_argument, NULL, OPT_DESC },
		{ "classification", required_argument, NULL, OPT_CLASS },
		{ "cve", required_argument, NULL, OPT_CVE },
		{ "debug-file", required_argument, NULL, OPT_DEBUG },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_build_opts o = { 0 };
	struct hp_build_report rep;
	_cleanup_free_ struct hp_build_unit *units = NULL;
	_cleanup_free_ const char **cves = NULL;
	size_t norig = 0, npatched = 0;
	unsigned long long lvl;
	int c, r;

	units = calloc((size_t)argc, sizeof(*units));
	cves = calloc((size_t)argc, sizeof(*cves));
	if (!units || !cves)
		return cli_fail(cli, -ENOMEM, "out of memory");
	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET:
			o.target = optarg;
			break;
		case OPT_ORIG:
			units[norig++].orig = optarg;
			break;
		case OPT_PATCHED:
			units[npatched++].patched = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_ID:
			if (!hp_valid_id(optarg))
				return cli_usage(cli, "build", "'%s' is not a valid id: 1-64 of [A-Za-z0-9._-]", optarg);
			o.id = optarg;
			break;
		case OPT_LEVEL:
			if (hp_parse_uint(optarg, 65535, &lvl) < 0 || !lvl)
				return cli_usage(cli, "build", "level must be 1-65535, not '%s'", optarg);
			o.level = (unsigned)lvl;
			break;
		case OPT_DESC:
			o.description = optarg;
			break;
		case OPT_CLASS:
			if (strcmp(optarg, "critical") && strcmp(optarg, "security") && strcmp(optarg, "other"))
				return cli_usage(cli, "build", "classification must be critical, security or other");
			o.classification = optarg;
			break;
		case OPT_CVE:
			cves[o.ncves++] = optarg;
			break;
		case OPT_DEBUG:
			o.debug_file = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return cli_usage(cli, "build", "unknown option");
		}
	}
	o.cves = cves;
	if (optind != argc)
		return cli_usage(cli, "build", "unexpected argument '%s'", argv[optind]);
	if (!o.target || !o.output)
		return cli_usage(cli, "build", "--target and -o are required");
	if (!norig || norig != npatched)
		return cli_usage(cli, "build", "give --orig and --patched in pairs, one pair per translation unit");
	r = hp_build_objects(cli->ctx, &o, units, norig, &rep);
	print_report(cli, &rep, &o, r);
	hp_build_report_release(&rep);
	if (r == -ENODATA) {
		if (!cli->json)
			fprintf(stderr, "hotpatch: %s\n", hp_ctx_errmsg(cli->ctx));
		return HP_EXIT_NOTHING;
	}
	if (r < 0)
		return cli->json ? cli_exit_code(r) : cli_fail(cli, r, NULL);
	return HP_EXIT_OK;
}
