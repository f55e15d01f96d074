/* SPDX-License-Identifier: MIT */
/* hotpatch build: turn a source fix, or original and patched objects, into a patch file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "differ/build.h"
#include "differ/driver.h"
#include "cli.h"

const char *const help_build =
	"usage: hotpatch build --target PATH -C SRCDIR --diff FIX.diff -o OUT.hpatch [options] -- BUILD_CMD [ARGS...]\n"
	"       hotpatch build --target PATH -C SRCDIR -B BUILDDIR --diff FIX.diff -o OUT.hpatch [options] [-- BUILD_CMD...]\n"
	"       hotpatch build --target PATH --orig ORIG.o --patched PATCHED.o [--orig ... --patched ...]\n"
	"                      -o OUT.hpatch [options]\n"
	"\n"
	"With -C and --diff: copy SRCDIR (the tree PATH was built from) twice to a\n"
	"scratch directory, run BUILD_CMD in each copy, the second one with the fix\n"
	"applied (parts for files the build never compiles, such as tests and docs,\n"
	"are left out), with the C compiler intercepted to add -ffunction-sections\n"
	"-fdata-sections and record every object.  The objects of PATH that differ\n"
	"are then compared as below.  SRCDIR itself is never modified.\n"
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
	"  -C, --source DIR           the source tree PATH was built from (with --diff)\n"
	"      --diff FILE            the fix, a unified diff (git, quilt and Debian patches work)\n"
	"  -B, --build-dir DIR        the CMake or meson build directory PATH was built in (inside SRCDIR\n"
	"                             or elsewhere); each copy gets a fresh one configured the same way;\n"
	"                             the build command may then be left out (cmake --build / ninja -C)\n"
	"      --built-in DIR         where PATH was built, if not in SRCDIR (file names in its debug info)\n"
	"      --work-dir DIR         keep the scratch copies in DIR (default: a new directory in $TMPDIR,\n"
	"                             removed afterwards unless a build fails)\n"
	"      --keep                 keep the scratch directory\n"
	"  -j, --jobs N               jobs of the build command (added to MAKEFLAGS as -jN)\n"
	"      --json                 print the decisions as JSON\n"
	"\n"
	"exit codes: 0 written, 3 no function changed, 15 the change cannot be\n"
	"hotpatched (the reason is printed), 1 other errors (a build that fails, a\n"
	"diff that does not apply), 2 usage.\n";

enum { OPT_TARGET = 256, OPT_ORIG, OPT_PATCHED, OPT_ID, OPT_LEVEL, OPT_DESC, OPT_CLASS, OPT_CVE, OPT_DEBUG,
       OPT_DIFF, OPT_BUILT_IN, OPT_WORKDIR, OPT_KEEP };

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

/* The word for a driver decision, in text and JSON output alike. */
static const char *driver_action_name(enum hp_driver_action a)
{
	switch (a) {
	case HP_DRIVER_APPLIED:
		return "applied";
	case HP_DRIVER_IGNORED:
		return "ignored";
	case HP_DRIVER_CHANGED:
		return "changed";
	case HP_DRIVER_OUTSIDE:
		return "not-in-target";
	case HP_DRIVER_NOTE:
		return "note";
	case HP_DRIVER_REFUSED:
		return "refused";
	}
	return "?";
}

/* Why: the source-diff flow says which files of the fix it used and which units it examined. */
static void print_driver(struct cli *cli, const struct hp_driver_report *d, FILE *f, json_t *j)
{
	size_t i;

	if (j) {
		json_t *ev = json_array();

		for (i = 0; i < d->n; i++)
			json_array_append_new(ev, json_pack("{s:s,s:s,s:s}", "action", driver_action_name(d->v[i].action),
							    "name", d->v[i].what, "reason", d->v[i].why ? d->v[i].why : ""));
		json_object_set_new(j, "source", json_pack("{s:o,s:i,s:i,s:i,s:s?}", "decisions", ev, "strip",
							   (int)d->strip, "unchanged_units", (int)d->nunchanged,
							   "compiled_objects", (int)d->ncompiled, "workdir", d->workdir));
		return;
	}
	for (i = 0; i < d->n; i++) {
		enum hp_driver_action a = d->v[i].action;
		const char *kind = a == HP_DRIVER_APPLIED || a == HP_DRIVER_IGNORED ? "diff"
				   : a == HP_DRIVER_REFUSED				? "refused"
											: "unit";

		if (a == HP_DRIVER_NOTE)
			fprintf(f, "note: %s\n", d->v[i].why ? d->v[i].why : "");
		else
			fprintf(f, "%s: %s: %s (%s)\n", kind, d->v[i].what, driver_action_name(a),
				d->v[i].why ? d->v[i].why : "");
	}
	if (d->ncompiled)
		fprintf(f, "unit: %zu object%s compiled, %zu of the target unchanged\n", d->ncompiled,
			d->ncompiled == 1 ? "" : "s", d->nunchanged);
	if (d->workdir)
		fprintf(f, "note: scratch directory kept: %s\n", d->workdir);
	(void)cli;
}

static void print_report(struct cli *cli, const struct hp_build_report *rep, const struct hp_build_opts *o, int r,
			 const struct hp_driver_report *drv)
{
	size_t i;

	if (cli->json) {
		json_t *j = json_object(), *ev = json_array();

		for (i = 0; rep && i < rep->n; i++)
			json_array_append_new(ev, json_pack("{s:s,s:s,s:s,s:s}", "action", action_name(rep->v[i].action),
							    "name", rep->v[i].what, "unit", rep->v[i].tu, "reason",
							    rep->v[i].why ? rep->v[i].why : ""));
		json_object_set_new(j, "events", ev);
		json_object_set_new(j, "replaced", json_integer(rep ? (json_int_t)rep->nreplaced : 0));
		json_object_set_new(j, "added", json_integer(rep ? (json_int_t)rep->nnew : 0));
		if (drv)
			print_driver(cli, drv, NULL, j);
		if (r == 0)
			json_object_set_new(j, "output", json_string(o->output));
		else
		{
			int code = cli_exit_code(r == -ENODATA ? -HP_E_NOTAPPLIED : r);

			json_object_set_new(j, "error", json_pack("{s:s,s:s,s:i}", "kind", cli_exit_name(code), "message",
								  hp_ctx_errmsg(cli->ctx), "exit_code", code));
		}
		cli_emit_json(j);
		return;
	}
	if (drv)
		print_driver(cli, drv, r == 0 ? stdout : stderr, NULL);
	for (i = 0; rep && i < rep->n; i++)
		fprintf(r == 0 ? stdout : stderr, "build: %s: %s: %s (%s)\n", rep->v[i].tu, rep->v[i].what,
			action_name(rep->v[i].action), rep->v[i].why ? rep->v[i].why : "");
	if (r == 0)
		printf("wrote %s: %zu function%s replaced, %zu added\n", o->output, rep->nreplaced,
		       rep->nreplaced == 1 ? "" : "s", rep->nnew);
}

/* Why: a bad --cve would otherwise surface only as a manifest error after the whole build. */
static bool looks_like_cve(const char *s)
{
	size_t n = strlen(s);

	return n >= 13 && n <= 24 && !strncmp(s, "CVE-", 4) && strspn(s + 4, "0123456789") == 4 && s[8] == '-' &&
	       strspn(s + 9, "0123456789") == n - 9;
}

/* The exit code for a build result, after the report is printed. */
static int build_exit(struct cli *cli, int r)
{
	if (r == -ENODATA) {
		if (!cli->json)
			fprintf(stderr, "hotpatch: %s\n", hp_ctx_errmsg(cli->ctx));
		return HP_EXIT_NOTHING;
	}
	if (r < 0)
		return cli->json ? cli_exit_code(r) : cli_fail(cli, r, NULL);
	return HP_EXIT_OK;
}

/* Why: on a terminal and with -v, say which phase a build is in; it can take minutes. */
static void on_phase(void *ud, unsigned step, unsigned nsteps, const char *what)
{
	(void)ud;
	fprintf(stderr, "hotpatch build: [%u/%u] %s\n", step, nsteps, what);
}

/* hotpatch build -C SRCDIR --diff FIX -- BUILD_CMD: the source-diff flow (src/differ/driver.c). */
static int build_from_diff(struct cli *cli, const struct hp_build_opts *o, struct hp_driver_opts *d, int argc,
			   char **argv, size_t npairs)
{
	int r;

	if (npairs)
		return cli_usage(cli, "build", "--orig/--patched and -C/--diff are two different ways; give one");
	if (!d->srcdir || !d->diff)
		return cli_usage(cli, "build", "-C SRCDIR and --diff FILE go together");
	if (!o->target || !o->output)
		return cli_usage(cli, "build", "--target and -o are required");
	if (d->build_dir && optind == argc) {
		d->argv = NULL;	/* cmake --build / ninja -C the build directory's copy */
	} else {
		if (optind >= argc || strcmp(argv[optind - 1], "--"))
			return cli_usage(cli, "build", "give the build command after '--', for example: -- make -j2");
		d->argv = argv + optind;
	}
	d->build = *o;
	if (!cli->quiet && (cli->verbose || isatty(STDERR_FILENO)))
		d->progress = on_phase;
	{
		struct hp_driver_report rep;

		r = hp_build_from_diff(cli->ctx, d, &rep);
		print_report(cli, rep.built ? &rep.build : NULL, o, r, &rep);
		hp_driver_report_release(&rep);
	}
	return build_exit(cli, r);
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
		{ "source", required_argument, NULL, 'C' },
		{ "diff", required_argument, NULL, OPT_DIFF },
		{ "built-in", required_argument, NULL, OPT_BUILT_IN },
		{ "build-dir", required_argument, NULL, 'B' },
		{ "work-dir", required_argument, NULL, OPT_WORKDIR },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "jobs", required_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct hp_build_opts o = { 0 };
	struct hp_driver_opts dopts = { 0 };
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
	while ((c = getopt_long(argc, argv, ":o:C:B:j:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
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
			if (!looks_like_cve(optarg))
				return cli_usage(cli, "build", "'%s' is not a CVE id (CVE-YYYY-NNNN)", optarg);
			cves[o.ncves++] = optarg;
			break;
		case OPT_DEBUG:
			o.debug_file = optarg;
			break;
		case 'C':
			dopts.srcdir = optarg;
			break;
		case OPT_DIFF:
			dopts.diff = optarg;
			break;
		case OPT_BUILT_IN:
			dopts.built_in = optarg;
			break;
		case 'B':
			dopts.build_dir = optarg;
			break;
		case OPT_WORKDIR:
			dopts.workdir = optarg;
			break;
		case OPT_KEEP:
			dopts.keep = true;
			break;
		case 'j': {
			char flags[64];
			const char *old = getenv("MAKEFLAGS");

			/* make's own -j: the build command (make, or anything that honours MAKEFLAGS) runs N jobs */
			if (hp_parse_uint(optarg, 1024, &lvl) < 0 || !lvl)
				return cli_usage(cli, "build", "'%s' is not a number of jobs (1 to 1024)", optarg);
			snprintf(flags, sizeof(flags), "-j%llu", lvl);
			if (old && *old) {
				_cleanup_free_ char *both = NULL;

				if (asprintf(&both, "%s %s", old, flags) < 0)
					return cli_fail(cli, -ENOMEM, "out of memory");
				setenv("MAKEFLAGS", both, 1);
			} else {
				setenv("MAKEFLAGS", flags, 1);
			}
			break;
		}
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			return cli_bad_option(cli, "build", c, argv);
		}
	}
	o.cves = cves;
	if (dopts.srcdir || dopts.diff)
		return build_from_diff(cli, &o, &dopts, argc, argv, norig + npatched);
	if (optind != argc)
		return cli_usage(cli, "build", "unexpected argument '%s'", argv[optind]);
	if (!o.target || !o.output)
		return cli_usage(cli, "build", "--target and -o are required");
	if (!norig || norig != npatched)
		return cli_usage(cli, "build", "give --orig and --patched in pairs, one pair per translation unit");
	r = hp_build_objects(cli->ctx, &o, units, norig, &rep);
	print_report(cli, &rep, &o, r, NULL);
	hp_build_report_release(&rep);
	return build_exit(cli, r);
}
