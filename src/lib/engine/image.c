/* SPDX-License-Identifier: MIT */
/*
 * Payload layout and relocation.
 *
 * The region is [state record | read-only data + GOT] (R), [code + PLT
 * stubs] (R+X), [writable data + bss] (R+W), each part page-aligned so it
 * can be mapped with its own protection: no page is ever writable and
 * executable.  Every relocation's result is range-checked against its
 * field; an overflow is an error, never a silent truncation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/engine/image.h"
#include "lib/process/tls.h"

void hp_image_release(struct hp_image *img)
{
	free(img->sec_off);
	free(img->got_slot);
	free(img->stub);
	free(img->tls_slot);
	free(img->tls_pair);
	free(img->buf);
	memset(img, 0, sizeof(*img));
}

static enum hp_seg_kind seg_of(const struct hp_psec *s)
{
	if (s->flags & SHF_EXECINSTR)
		return HP_SEG_RX;
	if (s->flags & SHF_WRITE)
		return HP_SEG_RW;
	return HP_SEG_R;
}

static bool is_got_reloc(uint32_t t)
{
	return t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX || t == R_X86_64_REX_GOTPCRELX;
}

static bool is_tls_reloc(uint32_t t)
{
	return t == R_X86_64_TPOFF32 || t == R_X86_64_TPOFF64 || t == R_X86_64_GOTTPOFF || t == R_X86_64_TLSGD ||
	       t == R_X86_64_TLSLD || t == R_X86_64_DTPOFF32 || t == R_X86_64_DTPOFF64;
}

/* GOT entries of thread-local relocations: a slot for an offset, or a pair for __tls_get_addr. */
static void plan_tls_got(struct hp_image *img, const struct hp_prela *r)
{
	if (r->type == R_X86_64_GOTTPOFF && !img->tls_slot[r->sym]) {
		img->tls_slot[r->sym] = (uint32_t)++img->ngot;
	} else if (r->type == R_X86_64_TLSGD && !img->tls_pair[r->sym]) {
		img->tls_pair[r->sym] = (uint32_t)img->ngot + 1;
		img->ngot += 2;
	} else if (r->type == R_X86_64_TLSLD && !img->ld_pair) {
		img->ld_pair = (uint32_t)img->ngot + 1;
		img->ngot += 2;
	}
}

int hp_image_plan(struct hp_ctx *ctx, const struct hp_patch *p, size_t state_size, struct hp_image *img)
{
	uint64_t cur[HP_SEG_MAX] = { 0 };
	size_t i, j;
	int k;

	memset(img, 0, sizeof(*img));
	img->state_size = HP_ALIGN_UP(state_size, 16);
	img->sec_off = calloc(p->nsecs ? p->nsecs : 1, sizeof(*img->sec_off));
	img->got_slot = calloc(p->nsyms ? p->nsyms : 1, sizeof(*img->got_slot));
	img->stub = calloc(p->nsyms ? p->nsyms : 1, sizeof(*img->stub));
	img->tls_slot = calloc(p->nsyms ? p->nsyms : 1, sizeof(*img->tls_slot));
	img->tls_pair = calloc(p->nsyms ? p->nsyms : 1, sizeof(*img->tls_pair));
	if (!img->sec_off || !img->got_slot || !img->stub || !img->tls_slot || !img->tls_pair) {
		hp_image_release(img);
		return -ENOMEM;
	}
	/* GOT slots and stubs needed by the relocations. */
	for (i = 0; i < p->nsecs; i++)
		for (j = 0; j < p->secs[i].nrelas; j++) {
			const struct hp_prela *r = &p->secs[i].relas[j];
			const struct hp_psym *s = &p->syms[r->sym];

			if (r->type == R_X86_64_32 || r->type == R_X86_64_32S)
				img->needs_low = true;
			if (is_tls_reloc(r->type)) {
				if (s->sec != HP_SEC_TARGET || s->type != STT_TLS) {
					hp_image_release(img);
					return hp_err(ctx, -HP_E_RELOC,
						      "payload: thread-local relocation %u against '%s' is only "
						      "supported for the target's own variables", r->type, s->name);
				}
				plan_tls_got(img, r);
			}
			if (is_got_reloc(r->type) || (r->type == R_X86_64_PLT32 && s->sec == HP_SEC_UNDEF)) {
				if (!img->got_slot[r->sym])
					img->got_slot[r->sym] = (uint32_t)++img->ngot;
			}
			if (r->type == R_X86_64_PLT32 && s->sec == HP_SEC_UNDEF && !img->stub[r->sym])
				img->stub[r->sym] = (uint32_t)++img->nstub;
		}
	/* R segment starts with the state record. */
	cur[HP_SEG_R] = img->state_size;
	for (i = 0; i < p->nsecs; i++) {
		const struct hp_psec *s = &p->secs[i];
		enum hp_seg_kind kd = seg_of(s);

		cur[kd] = HP_ALIGN_UP(cur[kd], s->align);
		img->sec_off[i] = cur[kd];	/* relative to its segment for now */
		cur[kd] += s->size;
	}
	cur[HP_SEG_R] = HP_ALIGN_UP(cur[HP_SEG_R], 8);
	img->got_off = cur[HP_SEG_R];
	cur[HP_SEG_R] += img->ngot * 8;
	cur[HP_SEG_RX] = HP_ALIGN_UP(cur[HP_SEG_RX], 16);
	img->stub_off = cur[HP_SEG_RX];
	cur[HP_SEG_RX] += img->nstub * 16;

	img->seg[HP_SEG_R].prot = PROT_READ;
	img->seg[HP_SEG_RX].prot = PROT_READ | PROT_EXEC;
	img->seg[HP_SEG_RW].prot = PROT_READ | PROT_WRITE;
	{
		uint64_t off = 0;

		for (k = 0; k < HP_SEG_MAX; k++) {
			img->seg[k].off = off;
			img->seg[k].size = HP_ALIGN_UP(cur[k], HP_PAGE);
			off += img->seg[k].size;
		}
		img->size = off;
	}
	for (i = 0; i < p->nsecs; i++)
		img->sec_off[i] += img->seg[seg_of(&p->secs[i])].off;
	img->got_off += img->seg[HP_SEG_R].off;
	img->stub_off += img->seg[HP_SEG_RX].off;
	return 0;
}

uint64_t hp_image_sym_addr(const struct hp_image *img, const struct hp_patch *p, size_t sym)
{
	const struct hp_psym *s = &p->syms[sym];

	return img->base + img->sec_off[s->sec] + s->value;
}

static bool fits_s32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

int hp_image_link(struct hp_ctx *ctx, struct hp_image *img, const struct hp_patch *p, uint64_t base,
		  const struct hp_link_env *env)
{
	_cleanup_free_ uint64_t *symval = NULL;
	_cleanup_free_ uint64_t *callval = NULL;
	struct hp_tls_block tls = { 0 };
	bool have_tls = false;
	size_t i, j;
	int r;

	img->base = base;
	free(img->buf);
	img->buf = calloc(1, img->size);
	symval = calloc(p->nsyms ? p->nsyms : 1, sizeof(*symval));
	callval = calloc(p->nsyms ? p->nsyms : 1, sizeof(*callval));
	if (!img->buf || !symval || !callval)
		return -ENOMEM;
	for (i = 0; i < p->nsecs; i++)
		if (p->secs[i].type != SHT_NOBITS && p->secs[i].size)
			memcpy(img->buf + img->sec_off[i], p->secs[i].data, p->secs[i].size);

	/* Symbol values: the address used for data references, and the one used for calls. */
	for (i = 1; i < p->nsyms; i++) {
		const struct hp_psym *s = &p->syms[i];

		if (s->sec < p->nsecs) {
			symval[i] = callval[i] = base + img->sec_off[s->sec] + s->value;
		} else if (s->sec == HP_SEC_TARGET) {
			symval[i] = env->target_bias + s->value;
			callval[i] = symval[i];
			if (env->redirect && s->type != STT_TLS) {
				uint64_t nb = env->redirect(env->ud, symval[i]);

				if (nb)
					callval[i] = nb;	/* direct call to a new body: no jump through the old entry */
			}
		} else if (s->sec == HP_SEC_ABS) {
			symval[i] = callval[i] = s->value;
		}
	}
	for (i = 1; i < p->nsyms; i++) {
		const struct hp_psym *s = &p->syms[i];
		bool used = false, used_call = false;

		if (s->sec != HP_SEC_UNDEF)
			continue;
		for (j = 0; j < p->nsecs && !(used && used_call); j++)
			for (size_t k = 0; k < p->secs[j].nrelas; k++)
				if (p->secs[j].relas[k].sym == i) {
					if (p->secs[j].relas[k].type == R_X86_64_PLT32)
						used_call = true;
					else
						used = true;
				}
		if (used || img->got_slot[i]) {
			r = env->import(env->ud, s->name, false, &symval[i]);
			if (r < 0)
				return r;
		}
		if (used_call) {
			r = env->import(env->ud, s->name, true, &callval[i]);
			if (r < 0)
				return r;
		}
	}
	/* The target's TLS block, if thread-local relocations need it. */
	for (i = 0; i < p->nsecs && !have_tls; i++)
		for (j = 0; j < p->secs[i].nrelas && !have_tls; j++)
			if (is_tls_reloc(p->secs[i].relas[j].type)) {
				if (!env->tls)
					return hp_err(ctx, -HP_E_RELOC, "payload: thread-local relocations are not supported "
									"here");
				r = env->tls(env->ud, &tls);
				if (r < 0)
					return r;
				have_tls = true;
			}
	if (img->ld_pair) {
		uint64_t pair[2] = { tls.modid, 0 };

		if (!tls.have_modid)
			return hp_err(ctx, -HP_E_RELOC, "payload: needs the TLS module id of the target, which it "
							"does not use itself");
		memcpy(img->buf + img->got_off + 8 * (img->ld_pair - 1), pair, 16);
	}
	/* GOT and stubs. */
	for (i = 1; i < p->nsyms; i++) {
		uint64_t pair[2];

		if (img->tls_slot[i]) {
			int64_t off = tls.tpoff + (int64_t)p->syms[i].value;

			if (!tls.have_tpoff)
				return hp_err(ctx, -HP_E_RELOC, "payload: '%s' needs the thread-pointer offset of the "
								"target's TLS block, which it does not use itself",
					      p->syms[i].name);
			memcpy(img->buf + img->got_off + 8 * (img->tls_slot[i] - 1), &off, 8);
		}
		if (img->tls_pair[i]) {
			if (!tls.have_modid)
				return hp_err(ctx, -HP_E_RELOC, "payload: '%s' needs the TLS module id of the target, "
								"which it does not use itself", p->syms[i].name);
			pair[0] = tls.modid;
			pair[1] = p->syms[i].value;
			memcpy(img->buf + img->got_off + 8 * (img->tls_pair[i] - 1), pair, 16);
		}
		if (img->got_slot[i]) {
			uint64_t v = symval[i];

			memcpy(img->buf + img->got_off + 8 * (img->got_slot[i] - 1), &v, 8);
		}
		if (img->stub[i]) {
			uint8_t *st = img->buf + img->stub_off + 16 * (img->stub[i] - 1);
			uint64_t pc = base + img->stub_off + 16 * (img->stub[i] - 1);
			int64_t d = (int64_t)(base + img->got_off + 8 * (img->got_slot[i] - 1)) - (int64_t)(pc + 6);
			int32_t d32 = (int32_t)d;

			st[0] = 0xff;	/* jmp *slot(%rip) */
			st[1] = 0x25;
			memcpy(st + 2, &d32, 4);
			memset(st + 6, 0xcc, 10);
		}
	}
	/* Relocations. */
	for (i = 0; i < p->nsecs; i++) {
		const struct hp_psec *sec = &p->secs[i];

		for (j = 0; j < sec->nrelas; j++) {
			const struct hp_prela *rl = &sec->relas[j];
			const struct hp_psym *s = &p->syms[rl->sym];
			uint8_t *where = img->buf + img->sec_off[i] + rl->offset;
			uint64_t P = base + img->sec_off[i] + rl->offset;
			uint64_t S = symval[rl->sym], G = 0;
			int64_t A = rl->addend, v;
			int32_t v32;
			uint32_t u32;

			if (img->got_slot[rl->sym])
				G = base + img->got_off + 8 * (img->got_slot[rl->sym] - 1);
			if ((rl->type == R_X86_64_TPOFF32 || rl->type == R_X86_64_TPOFF64) && !tls.have_tpoff)
				return hp_err(ctx, -HP_E_RELOC, "payload: '%s' needs the thread-pointer offset of the "
								"target's TLS block, which it does not use itself", s->name);
			switch (rl->type) {
			case R_X86_64_NONE:
				continue;
			case R_X86_64_64:
				v = (int64_t)(S + (uint64_t)A);
				memcpy(where, &v, 8);
				continue;
			case R_X86_64_PC64:
				v = (int64_t)(S + (uint64_t)A - P);
				memcpy(where, &v, 8);
				continue;
			case R_X86_64_PLT32: {
				uint64_t C = callval[rl->sym];

				v = (int64_t)(C + (uint64_t)A - P);
				if (!fits_s32(v) && img->stub[rl->sym])
					v = (int64_t)(base + img->stub_off + 16 * (img->stub[rl->sym] - 1) + (uint64_t)A - P);
				break;
			}
			case R_X86_64_PC32:
				v = (int64_t)(S + (uint64_t)A - P);
				break;
			case R_X86_64_GOTPCREL:
			case R_X86_64_GOTPCRELX:
			case R_X86_64_REX_GOTPCRELX:
				v = (int64_t)(G + (uint64_t)A - P);
				break;
			case R_X86_64_GOTPC32:
				v = (int64_t)(base + img->got_off + (uint64_t)A - P);
				break;
			case R_X86_64_GOTOFF64:
				v = (int64_t)(S + (uint64_t)A - (base + img->got_off));
				memcpy(where, &v, 8);
				continue;
			case R_X86_64_32:
				if (S + (uint64_t)A > UINT32_MAX)
					return hp_err(ctx, -HP_E_RELOC,
						      "payload: R_X86_64_32 to '%s' (%#" PRIx64 ") does not fit 32 bits",
						      s->name, S + (uint64_t)A);
				u32 = (uint32_t)(S + (uint64_t)A);
				memcpy(where, &u32, 4);
				continue;
			case R_X86_64_TPOFF32:
				v = tls.tpoff + (int64_t)s->value + A;
				break;
			case R_X86_64_TPOFF64:
				v = tls.tpoff + (int64_t)s->value + A;
				memcpy(where, &v, 8);
				continue;
			case R_X86_64_DTPOFF32:
				v = (int64_t)s->value + A;
				break;
			case R_X86_64_DTPOFF64:
				v = (int64_t)s->value + A;
				memcpy(where, &v, 8);
				continue;
			case R_X86_64_GOTTPOFF:
				v = (int64_t)(base + img->got_off + 8 * (img->tls_slot[rl->sym] - 1) + (uint64_t)A - P);
				break;
			case R_X86_64_TLSGD:
				v = (int64_t)(base + img->got_off + 8 * (img->tls_pair[rl->sym] - 1) + (uint64_t)A - P);
				break;
			case R_X86_64_TLSLD:
				v = (int64_t)(base + img->got_off + 8 * (img->ld_pair - 1) + (uint64_t)A - P);
				break;
			case R_X86_64_32S:
				v = (int64_t)(S + (uint64_t)A);
				if (!fits_s32(v))
					return hp_err(ctx, -HP_E_RELOC,
						      "payload: R_X86_64_32S to '%s' (%#" PRIx64 ") does not fit 32 bits",
						      s->name, S + (uint64_t)A);
				break;
			default:
				return hp_err(ctx, -HP_E_RELOC, "payload: relocation type %u against '%s' in %s is "
								"not supported yet", rl->type, s->name, sec->name);
			}
			if (!fits_s32(v))
				return hp_err(ctx, -HP_E_RELOC,
					      "payload: relocation %u from %s+%#" PRIx64 " to '%s' is out of 32-bit "
					      "range (%" PRId64 ")", rl->type, sec->name, rl->offset, s->name, v);
			v32 = (int32_t)v;
			memcpy(where, &v32, 4);
		}
	}
	return 0;
}
