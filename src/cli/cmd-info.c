/* SPDX-License-Identifier: MIT */
/* hotpatch info FILE: the manifest and payload of a patch. */
#include <elf.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "shared/escape.h"
#include "output.h"

const char *const help_info =
	"usage: hotpatch info [--json] FILE\n"
	"\n"
	"Print the manifest of a patch file (id, target build-id, level,\n"
	"classification, CVEs, replaced functions with their original size and\n"
	"hash, signer) and the sections of its payload.  The file is parsed and\n"
	"validated but its signature is not checked; use 'hotpatch verify'.\n"
	"\n"
	"options:\n"
	"  -j, --json             print the manifest and sections as JSON\n"
	"\n"
	"exit codes: 0 shown, 7 malformed patch, 8 another architecture, 1 other errors, 2 usage.\n";

static void flags_str(uint64_t f, char *buf)
{
	char *p = buf;

	if (f & SHF_ALLOC)
		*p++ = 'A';
	if (f & SHF_WRITE)
		*p++ = 'W';
	if (f & SHF_EXECINSTR)
		*p++ = 'X';
	if (f & SHF_MERGE)
		*p++ = 'M';
	if (f & SHF_STRINGS)
		*p++ = 'S';
	*p = 0;
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	struct hp_patch *patch = NULL;
	const struct hp_manifest *m;
	char hex[2 * HP_BUILD_ID_MAX + 1], key[65];
	bool is_signed;
	size_t i, n;
	int c, r;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'j')
			cli->json = true;
		else
			return cli_usage(cli, "info", "unknown option");
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "info", "expected one patch file");
	r = hp_patch_open(cli->ctx, argv[optind], &patch);
	if (r < 0)
		return cli_fail(cli, r, NULL);
	m = hp_patch_manifest(patch);
	is_signed = hp_patch_is_signed(patch, key);
	n = hp_patch_nsections(patch);
	if (cli->json) {
		json_t *j = json_object(), *secs = json_array();

		json_object_set_new(j, "manifest", out_manifest_json(m));
		json_object_set_new(j, "signed", json_boolean(is_signed));
		if (is_signed)
			json_object_set_new(j, "signature_key_id", json_string(key));
		for (i = 0; i < n; i++) {
			const struct hp_patch_section *s = hp_patch_section(patch, i);
			char fl[8];

			flags_str(s->flags, fl);
			json_array_append_new(secs, json_pack("{s:s,s:I,s:s,s:i}", "name", s->name, "size",
							      (json_int_t)s->size, "flags", fl, "relocations",
							      (int)s->nrelocs));
		}
		json_object_set_new(j, "sections", secs);
		cli_emit_json(j);
		hp_patch_free(patch);
		return HP_EXIT_OK;
	}
	printf("patch        %s\n", hp_esc(m->id));
	printf("level        %u\n", m->level);
	printf("class        %s\n", hp_esc(m->classification));
	printf("target       %s\n", hp_esc(m->target_name));
	printf("build-id     %s\n", hp_hex(m->build_id, m->build_id_len, hex));
	printf("arch         %s\n", hp_esc(m->arch));
	if (m->created)
		printf("created      %s\n", hp_esc(m->created));
	printf("signed       %s\n", is_signed ? key : "no");
	if (m->ncves) {
		printf("cves        ");
		for (i = 0; i < m->ncves; i++)
			printf(" %s", hp_esc(m->cves[i]));
		printf("\n");
	}
	if (m->description)
		printf("description  %s\n", hp_esc(m->description));
	printf("\nreplaces %zu function%s:\n", m->nfuncs, m->nfuncs == 1 ? "" : "s");
	for (i = 0; i < m->nfuncs; i++) {
		const struct hp_manifest_func *f = &m->funcs[i];
		char h[65];

		printf("  %-28s at 0x%-8" PRIx64 " %6" PRIu64 " bytes  sha256 %.16s…\n", hp_esc(f->name), f->addr,
		       f->size,
		       hp_hex(f->sha256, 32, h));
	}
	if (m->nnew_funcs) {
		printf("\nadds %zu function%s:\n", m->nnew_funcs, m->nnew_funcs == 1 ? "" : "s");
		for (i = 0; i < m->nnew_funcs; i++)
			printf("  %s\n", hp_esc(m->new_funcs[i]));
	}
	printf("\npayload sections:\n");
	for (i = 0; i < n; i++) {
		const struct hp_patch_section *s = hp_patch_section(patch, i);
		char fl[8];

		flags_str(s->flags, fl);
		printf("  %-32s %8" PRIu64 " bytes  %-4s %u relocation%s\n", hp_esc(s->name), s->size, fl, s->nrelocs,
		       s->nrelocs == 1 ? "" : "s");
	}
	hp_patch_free(patch);
	return HP_EXIT_OK;
}
