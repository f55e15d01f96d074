/* SPDX-License-Identifier: MIT */
/*
 * Image planning and linking (src/lib/engine/image.c) on a real payload: a
 * small program and its fix are compiled at test time, the builder turns
 * the object pair into a patch, and the patch is planned and linked at a
 * made-up address against made-up import addresses, with no process.  Every
 * relocation of the payload is then decoded from the linked bytes and must
 * land where its symbol is: in the payload, in the target at its bias, at an
 * import directly, or through the image's own GOT slot and PLT stub when
 * the import is out of reach.  A call redirected to a new body, a failing
 * import and a target out of 32-bit reach are checked too.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "differ/build.h"
#include "lib/engine/image.h"
#include "tap.h"

static const char orig_c[] =
	"#include <stdio.h>\n#include <string.h>\n"
	"int counter = 1;\n"
	"__attribute__((noinline)) int helper(int x) { return x + counter; }\n"
	"__attribute__((noinline)) int compute(const char *s) { return helper((int)strlen(s)); }\n"
	"int main(int argc, char **argv) { (void)argv; puts(\"ready\"); return compute(\"abc\") + argc; }\n";
static const char patched_c[] =
	"#include <stdio.h>\n#include <string.h>\n"
	"int counter = 1;\n"
	"__attribute__((noinline)) int helper(int x) { return x + counter; }\n"
	"__attribute__((noinline)) int compute(const char *s)\n"
	"{\n\tif (!s) {\n\t\tputs(\"compute: no string given\");\n\t\treturn -1;\n\t}\n"
	"\treturn helper((int)strlen(s)) + counter;\n}\n"
	"int main(int argc, char **argv) { (void)argv; puts(\"ready\"); return compute(\"abc\") + argc; }\n";

#define BASE 0x7f0000000000ull		/* where the image is "mapped" */
#define BIAS 0x7f0040000000ull		/* the target's load bias: within reach of BASE */
#define FAR 0x7fff00001000ull		/* an import out of 32-bit reach of BASE */

static char dir[] = "/tmp/hp-image.XXXXXX";
static unsigned nimports;
static uint64_t redirect_to;
static int fail_import;

/* Why: the patch under test comes out of the real builder, as in production. */
static int build_patch(char *out, size_t size)
{
	char cmd[1024];
	FILE *f;
	struct hp_build_unit unit;
	struct hp_build_opts opts = { 0 };
	struct hp_build_report rep;
	struct hp_ctx *ctx;
	char o[256], p[256], t[256];
	int r;

	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/o %s/p %s/t", dir, dir, dir);
	if (system(cmd))
		return -1;
	snprintf(o, sizeof(o), "%s/o/u.c", dir);
	if (!(f = fopen(o, "w")) || fputs(orig_c, f) < 0 || fclose(f))
		return -1;
	snprintf(o, sizeof(o), "%s/t/u.c", dir);
	if (!(f = fopen(o, "w")) || fputs(orig_c, f) < 0 || fclose(f))
		return -1;
	snprintf(p, sizeof(p), "%s/p/u.c", dir);
	if (!(f = fopen(p, "w")) || fputs(patched_c, f) < 0 || fclose(f))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && (cd t && cc -O2 -g -o t u.c) && (cd o && cc -O2 -g -ffunction-sections -fdata-sections -c u.c)"
		 " && (cd p && cc -O2 -g -ffunction-sections -fdata-sections -c u.c)", dir);
	if (system(cmd))
		return -1;
	snprintf(o, sizeof(o), "%s/o/u.o", dir);
	snprintf(p, sizeof(p), "%s/p/u.o", dir);
	snprintf(t, sizeof(t), "%s/t/t", dir);
	snprintf(out, size, "%s/x.hpatch", dir);
	unit.orig = o;
	unit.patched = p;
	opts.target = t;
	opts.output = out;
	opts.id = "image-test";
	if (hp_ctx_new(&ctx) < 0)
		return -1;
	r = hp_build_objects(ctx, &opts, &unit, 1, &rep);
	if (r < 0)
		printf("# build: %s\n", hp_ctx_errmsg(ctx));
	hp_build_report_release(&rep);
	hp_ctx_free(ctx);
	return r;
}

/* Why: imports get addresses the test can tell apart: puts out of reach, the rest near the image. */
static uint64_t import_addr(const char *name)
{
	if (!strcmp(name, "puts"))
		return FAR;
	return BASE + 0x40000000ull + (uint64_t)(unsigned char)name[0] * 0x100;
}

static int import_cb(void *ud, const char *name, bool for_call, uint64_t *ret)
{
	(void)ud;
	(void)for_call;
	nimports++;
	if (fail_import)
		return -HP_E_SYMBOL;
	*ret = import_addr(name);
	return 0;
}

static uint64_t redirect_cb(void *ud, uint64_t addr)
{
	(void)ud;
	return addr == redirect_to ? BASE + 0x3000 : 0;
}

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

struct seen {
	unsigned payload, target, import_direct, import_stub, got, abs64, other, bad;
};

/*
 * Why: the expected address of each relocation follows from the symbol
 * alone; decoding the linked bytes back and comparing checks the linker
 * without restating its arithmetic.
 */
static void check_relocs(const struct hp_image *img, const struct hp_patch *p, uint64_t redirected_from,
			 struct seen *sn)
{
	size_t i, j;

	memset(sn, 0, sizeof(*sn));
	for (i = 0; i < p->nsecs; i++)
		for (j = 0; j < p->secs[i].nrelas; j++) {
			const struct hp_prela *rl = &p->secs[i].relas[j];
			const struct hp_psym *s = &p->syms[rl->sym];
			const uint8_t *where = img->buf + img->sec_off[i] + rl->offset;
			uint64_t P = BASE + img->sec_off[i] + rl->offset, T, want;

			if (s->sec < p->nsecs)
				want = BASE + img->sec_off[s->sec] + s->value;
			else if (s->sec == HP_SEC_TARGET)
				want = BIAS + s->value;
			else if (s->sec == HP_SEC_UNDEF)
				want = import_addr(s->name);
			else
				want = s->value;
			switch (rl->type) {
			case R_X86_64_PC32:
			case R_X86_64_PLT32:
				T = P + (uint64_t)(int64_t)rd32(where) - (uint64_t)rl->addend;
				if (rl->type == R_X86_64_PLT32 && s->sec == HP_SEC_TARGET && BIAS + s->value == redirected_from)
					want = BASE + 0x3000;
				if (s->sec == HP_SEC_UNDEF && T != want && img->stub[rl->sym]) {
					/* through the stub: jmp *slot(%rip), and the slot holds the import */
					uint64_t stub = BASE + img->stub_off + 16 * (img->stub[rl->sym] - 1);
					const uint8_t *st = img->buf + img->stub_off + 16 * (img->stub[rl->sym] - 1);
					uint64_t slot = stub + 6 + (uint64_t)(int64_t)rd32(st + 2);

					if (T == stub && st[0] == 0xff && st[1] == 0x25 && slot >= BASE + img->got_off &&
					    slot < BASE + img->got_off + 8 * img->ngot &&
					    rd64(img->buf + (slot - BASE)) == want) {
						sn->import_stub++;
						continue;
					}
					sn->bad++;
					printf("#   %s: call to %s via stub is wrong\n", p->secs[i].name, s->name);
					continue;
				}
				if (T != want) {
					sn->bad++;
					printf("#   %s+%#" PRIx64 ": type %u to %s lands at %#" PRIx64 ", wanted %#" PRIx64 "\n",
					       p->secs[i].name, rl->offset, rl->type, s->name, T, want);
					continue;
				}
				if (s->sec < p->nsecs)
					sn->payload++;
				else if (s->sec == HP_SEC_TARGET)
					sn->target++;
				else
					sn->import_direct++;
				continue;
			case R_X86_64_GOTPCREL:
			case R_X86_64_GOTPCRELX:
			case R_X86_64_REX_GOTPCRELX:
				T = P + (uint64_t)(int64_t)rd32(where) - (uint64_t)rl->addend;
				if (T >= BASE + img->got_off && T < BASE + img->got_off + 8 * img->ngot &&
				    rd64(img->buf + (T - BASE)) == want)
					sn->got++;
				else
					sn->bad++;
				continue;
			case R_X86_64_64:
				if (rd64(where) == want + (uint64_t)rl->addend)
					sn->abs64++;
				else
					sn->bad++;
				continue;
			default:
				sn->other++;
			}
		}
}

int main(void)
{
	char path[512];
	struct hp_ctx *ctx;
	struct hp_patch *p;
	struct hp_image img;
	struct hp_link_env env = { .target_bias = BIAS, .import = import_cb };
	struct seen sn;
	uint64_t helper_link = 0, end[HP_SEG_MAX];
	bool ok;
	size_t i;
	int r, k;

	if (system("command -v cc >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP needs a C compiler (cc)\n");
		return 0;
	}
	r = build_patch(path, sizeof(path));
	if (r < 0) {
		printf("Bail out! cannot build the fixture patch in %s (%d)\n", dir, r);
		return 1;
	}
	if (hp_ctx_new(&ctx) < 0 || hp_patch_open(ctx, path, &p) < 0) {
		printf("Bail out! cannot open %s\n", path);
		return 1;
	}
	for (i = 1; i < p->nsyms; i++)
		if (p->syms[i].sec == HP_SEC_TARGET && !strcmp(p->syms[i].name, "helper"))
			helper_link = p->syms[i].value;
	tap_ok(helper_link != 0, "the payload calls helper in the target");

	/* ---- planning ---- */
	r = hp_image_plan(ctx, p, 200, &img);
	tap_is_int(r, 0, "plan");
	tap_is_int(img.state_size, 208, "the state record's room is rounded to 16 bytes");
	ok = img.seg[HP_SEG_R].off == 0;
	for (k = 0; k < HP_SEG_MAX; k++) {
		ok = ok && img.seg[k].off % 4096 == 0 && img.seg[k].size % 4096 == 0;
		if (k + 1 < HP_SEG_MAX)
			ok = ok && img.seg[k + 1].off == img.seg[k].off + img.seg[k].size;
		end[k] = img.seg[k].off + img.seg[k].size;
	}
	tap_ok(ok && img.size == end[HP_SEG_MAX - 1], "segments R, RX, RW follow each other, page-aligned");
	tap_ok(img.seg[HP_SEG_R].prot == PROT_READ && img.seg[HP_SEG_RX].prot == (PROT_READ | PROT_EXEC) &&
		       img.seg[HP_SEG_RW].prot == (PROT_READ | PROT_WRITE),
	       "segment protections");
	ok = true;
	for (i = 0; i < p->nsecs; i++) {
		const struct hp_psec *s = &p->secs[i];
		int want = s->flags & SHF_EXECINSTR ? HP_SEG_RX : s->flags & SHF_WRITE ? HP_SEG_RW : HP_SEG_R;
		uint64_t lo = img.sec_off[i], hi = lo + s->size;
		size_t j;

		if (lo < img.seg[want].off || hi > end[want] || (s->align && lo % s->align) ||
		    (want == HP_SEG_R && lo < img.state_size))
			ok = false;
		if (want == HP_SEG_R && s->size && lo < img.got_off + 8 * img.ngot && img.got_off < hi)
			ok = false;
		if (want == HP_SEG_RX && s->size && lo < img.stub_off + 16 * img.nstub && img.stub_off < hi)
			ok = false;
		for (j = 0; j < i; j++)
			if (s->size && p->secs[j].size && lo < img.sec_off[j] + p->secs[j].size && img.sec_off[j] < hi)
				ok = false;
		if (!ok) {
			printf("#   section %s at %#" PRIx64 " size %#" PRIx64 " is misplaced\n", s->name, lo, s->size);
			break;
		}
	}
	tap_ok(ok, "each of %zu sections sits aligned in its segment, after the state record, clear of the others",
	       p->nsecs);
	tap_ok(img.ngot >= 1 && img.nstub >= 1 && img.got_off >= img.seg[HP_SEG_R].off &&
		       img.got_off + 8 * img.ngot <= end[HP_SEG_R] && img.stub_off >= img.seg[HP_SEG_RX].off &&
		       img.stub_off + 16 * img.nstub <= end[HP_SEG_RX],
	       "a GOT slot and a stub for the called import, inside R and RX (%zu, %zu)", img.ngot, img.nstub);
	tap_ok(!img.needs_low, "no absolute 32-bit relocation: no low placement needed");

	/* ---- linking ---- */
	r = hp_image_link(ctx, &img, p, BASE, &env);
	tap_is_int(r, 0, "link");
	tap_ok(img.base == BASE && img.buf != NULL, "the image knows its base");
	ok = true;
	for (i = 0; i < p->nsecs; i++) {
		size_t j, nrel = p->secs[i].nrelas;

		if (p->secs[i].type == SHT_NOBITS || !nrel) {
			/* no relocation: bytes copied verbatim (NOBITS: zero) */
			for (j = 0; j < p->secs[i].size && ok; j++)
				ok = img.buf[img.sec_off[i] + j] == (p->secs[i].type == SHT_NOBITS ? 0 : p->secs[i].data[j]);
		}
	}
	tap_ok(ok, "sections without relocations are copied verbatim");
	check_relocs(&img, p, 0, &sn);
	tap_ok(sn.bad == 0 && sn.other == 0, "every relocation lands on its symbol (%u wrong, %u of other types)",
	       sn.bad, sn.other);
	tap_ok(sn.target >= 1, "calls and references into the target are at bias + link address (%u)", sn.target);
	tap_ok(sn.payload >= 1, "references inside the payload are at the image's address (%u)", sn.payload);
	tap_ok(sn.import_direct >= 1, "a call to an import within reach goes there directly (%u)", sn.import_direct);
	tap_ok(sn.import_stub >= 1, "a call to an out-of-reach import goes through the image's stub and GOT (%u)",
	       sn.import_stub);
	tap_ok(hp_image_sym_addr(&img, p, p->func_sym[0]) >= BASE + img.seg[HP_SEG_RX].off &&
		       hp_image_sym_addr(&img, p, p->func_sym[0]) < BASE + end[HP_SEG_RX],
	       "the new body of %s is in the RX segment", p->man.funcs[0].name);

	/* A call to a function that is itself replaced goes straight to its new body. */
	env.redirect = redirect_cb;
	redirect_to = BIAS + helper_link;
	r = hp_image_link(ctx, &img, p, BASE, &env);
	check_relocs(&img, p, redirect_to, &sn);
	tap_ok(r == 0 && sn.bad == 0, "a call to a replaced function is linked to its new body");
	env.redirect = NULL;

	fail_import = 1;
	nimports = 0;
	r = hp_image_link(ctx, &img, p, BASE, &env);
	tap_ok(r == -HP_E_SYMBOL && nimports >= 1, "an import that cannot be resolved fails the link with its code");
	fail_import = 0;

	env.target_bias = 0x555555554000ull;	/* 40 TiB below the image: no 32-bit reach */
	r = hp_image_link(ctx, &img, p, BASE, &env);
	tap_ok(r == -HP_E_RELOC && strstr(hp_ctx_errmsg(ctx), "out of 32-bit range"),
	       "a target out of 32-bit reach is refused, not truncated");

	hp_image_release(&img);
	hp_patch_free(p);
	hp_ctx_free(ctx);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	tap_done();
	return tap_failed != 0;
}
