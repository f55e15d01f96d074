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
#include "shared/x86.h"

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

/*
 * Why: code compiled as PIE or non-PIE reaches a library's variable with a
 * plain PC-relative operand (`mov stderr(%rip),%rdi`), counting on a copy
 * in the executable.  A fix that starts using a variable the target never
 * used has no such copy, and the library is usually more than 2 GiB away
 * from the patch.  Such references get a GOT slot and a trampoline each;
 * when out of range, the instruction is replaced by a jump to it.
 */
static bool is_fixable(const struct hp_patch *p, const struct hp_psec *sec, const struct hp_prela *r)
{
	return (sec->flags & SHF_EXECINSTR) &&
	       (r->type == R_X86_64_PC32 || r->type == R_X86_64_32 || r->type == R_X86_64_32S) &&
	       p->syms[r->sym].sec == HP_SEC_UNDEF;
}

/* Why: the trampoline needs the whole instruction that holds the relocated field. */
static int insn_at(const struct hp_psec *sec, uint64_t field, uint64_t *start, struct x86_insn *in)
{
	uint64_t o = 0;

	if (sec->type == SHT_NOBITS)
		return -1;
	while (o < sec->size) {
		if (x86_decode(sec->data + o, sec->size - o, in) < 0 || in->len == 0)
			return -1;
		if (field >= o && field < o + in->len) {
			*start = o;
			return 0;
		}
		o += in->len;
	}
	return -1;
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
	/* PC-relative references from code to other modules' symbols: a slot and a trampoline each. */
	img->fix_got = img->ngot;
	for (i = 0; i < p->nsecs; i++)
		for (j = 0; j < p->secs[i].nrelas; j++)
			if (is_fixable(p, &p->secs[i], &p->secs[i].relas[j]))
				img->nfix++;
	img->ngot += img->nfix;
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
	img->fix_off = cur[HP_SEG_RX];
	cur[HP_SEG_RX] += img->nfix * HP_FIX_SIZE;

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
	img->fix_off += img->seg[HP_SEG_RX].off;
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

/*
 * Why: hp_image_link is a pipeline of steps (copy, symbol values, imports,
 * TLS block, GOT and stubs, relocations) that share these values; keeping
 * them here, and not in the image, lets the image change only when every
 * step succeeded.
 */
struct link_job {
	struct hp_ctx *ctx;
	const struct hp_image *img;	/* the plan: offsets and slots, read only */
	const struct hp_patch *p;
	const struct hp_link_env *env;
	uint64_t base;			/* runtime address of the region */
	uint8_t *buf;			/* the image bytes being built (img->size) */
	uint64_t *symval;		/* per symbol: address for data references */
	uint64_t *callval;		/* per symbol: address for calls */
	struct hp_tls_block tls;	/* the target's TLS block, when relocations need it */
	size_t nfix;			/* fixable PC32 references seen so far: the next trampoline */
};

/* Why: one place frees what a link allocated, whether it succeeded or not. */
static void link_job_release(struct link_job *lj)
{
	free(lj->buf);
	free(lj->symval);
	free(lj->callval);
}

/* Why: the job's GOT address of slot (1-based, as the plan stores it). */
static uint64_t got_addr(const struct link_job *lj, uint32_t slot)
{
	return lj->base + lj->img->got_off + 8 * (uint64_t)(slot - 1);
}

/* Why: the bytes of slot in the image being built. */
static uint8_t *got_bytes(const struct link_job *lj, uint32_t slot)
{
	return lj->buf + lj->img->got_off + 8 * (size_t)(slot - 1);
}

/*
 * Why: rewrite one out-of-range PC32 reference (see is_fixable).  A branch
 * goes to `jmp *slot(%rip)`; a memory operand is re-encoded as (%r11) (or
 * %r10) loaded from the slot, inside a save/restore of that register below
 * the red zone, then jumps back.  No flags change; the bytes left of the
 * original instruction after the 5-byte jump are int3, never reached (no
 * branch goes into the middle of an instruction).
 */
/*
 * Why: both trampoline writers end the same way: the trampoline's n bytes
 * at t (runtime tr) jump back after the original instruction (at, len
 * bytes, in ins), which becomes a jump to the trampoline padded with int3
 * (never reached: no branch goes into the middle of an instruction).
 * Returns false, writing nothing into ins, when the trampoline is too long.
 */
static bool close_trampoline(uint8_t *t, size_t n, uint64_t tr, uint8_t *ins, uint64_t at, size_t len)
{
	int32_t d;

	t[n++] = 0xe9;
	d = (int32_t)((at + len) - (tr + n + 4));
	memcpy(t + n, &d, 4), n += 4;
	if (n > HP_FIX_SIZE)
		return false;
	ins[0] = 0xe9;
	d = (int32_t)(tr - (at + 5));
	memcpy(ins + 1, &d, 4);
	memset(ins + 5, 0xcc, len - 5);
	return true;
}

static int fix_reference(struct link_job *lj, const struct hp_psec *sec, size_t isec, const struct hp_prela *rl,
			 const char *name, uint64_t S, size_t k)
{
	const struct hp_image *img = lj->img;
	uint64_t s, slot = lj->base + img->got_off + 8 * (img->fix_got + k);
	uint64_t tr = lj->base + img->fix_off + HP_FIX_SIZE * k;
	uint8_t *t = lj->buf + img->fix_off + HP_FIX_SIZE * k, *ins;
	struct x86_insn in;
	uint64_t ea, at;
	size_t n = 0, pre = 0, field;
	uint8_t rex = 0, modrm, reg, sc;
	int32_t d;

	if (insn_at(sec, rl->offset, &s, &in) < 0)
		return hp_err(lj->ctx, -HP_E_RELOC, "payload: cannot decode the instruction at %s+%#" PRIx64
						    " that refers to '%s'", sec->name, rl->offset, name);
	ins = lj->buf + img->sec_off[isec] + s;
	field = rl->offset - s;
	at = lj->base + img->sec_off[isec] + s;
	ea = S + (uint64_t)rl->addend + (s + in.len - rl->offset);	/* what the operand meant */
	memcpy(lj->buf + img->got_off + 8 * (img->fix_got + k), &ea, 8);
	memset(t, 0xcc, HP_FIX_SIZE);
	if (in.rel_size == 4 && in.rel_off == field) {
		/* call/jmp/jcc rel32: through a stub. */
		t[0] = 0xff, t[1] = 0x25;
		d = (int32_t)(slot - (tr + 6));
		memcpy(t + 2, &d, 4);
		d = (int32_t)(tr - (at + in.len));
		memcpy(ins + field, &d, 4);
		return 0;
	}
	/* A memory operand: legacy prefixes, optional REX, one-byte or 0F opcode, ModRM 00 reg 101, disp32. */
	while (pre < in.len && (ins[pre] == 0x66 || ins[pre] == 0xf2 || ins[pre] == 0xf3))
		pre++;
	if (pre < in.len && (ins[pre] & 0xf0) == 0x40)
		rex = ins[pre];
	{
		size_t op = pre + (rex ? 1 : 0);
		size_t mlen = (in.map == 0 ? 1 : in.map == 1 ? 2 : 0);

		if (!mlen || op + mlen + 5 > in.len || field != op + mlen + 1)
			goto refuse;
		if (in.map == 1 && ins[op] != 0x0f)
			goto refuse;
		modrm = ins[op + mlen];
		if ((modrm & 0xc7) != 0x05)
			goto refuse;
		reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0));
		if (x86_bad_mem_form(ins, op, in.map, modrm, rex))
			goto refuse;
		sc = reg == 11 ? 10 : 11;
		/* lea -128(%rsp),%rsp; push %rS; mov slot(%rip),%rS */
		memcpy(t, "\x48\x8d\x64\x24\x80", 5), n = 5;
		t[n++] = 0x41, t[n++] = (uint8_t)(0x50 + (sc & 7));
		t[n++] = 0x4c, t[n++] = 0x8b, t[n++] = (uint8_t)(((sc & 7) << 3) | 5);
		d = (int32_t)(slot - (tr + n + 4));
		memcpy(t + n, &d, 4), n += 4;
		/* the instruction, on (%rS) */
		memcpy(t + n, ins, pre), n += pre;
		t[n++] = (uint8_t)((rex ? rex : 0x40) | 1);
		memcpy(t + n, ins + op, mlen), n += mlen;
		t[n++] = (uint8_t)((modrm & 0x38) | (sc & 7));
		memcpy(t + n, ins + field + 4, in.len - field - 4), n += in.len - field - 4;
		/* pop %rS; lea 128(%rsp),%rsp; then jmp back, and the original instruction jumps here */
		t[n++] = 0x41, t[n++] = (uint8_t)(0x58 + (sc & 7));
		memcpy(t + n, "\x48\x8d\xa4\x24\x80\x00\x00\x00", 8), n += 8;
		if (!close_trampoline(t, n, tr, ins, at, in.len))
			goto refuse;
	}
	return 0;
refuse:
	return hp_err(lj->ctx, -HP_E_RELOC, "payload: the instruction at %s+%#" PRIx64 " refers to '%s' more than "
					"2 GiB away in a form that cannot be rerouted through a GOT slot",
		      sec->name, s, name);
}

/*
 * Why: non-PIE code takes the address of a variable or function as a
 * 32-bit absolute (R_X86_64_32/32S: `mov $optind,%eax`, `mov
 * tzname(,%rdi,8),%rax`), counting on the linker to place it in the low
 * 4 GiB -- true for the executable's own symbols and copies, never for a
 * library's.  A register load becomes `movabs $address,%reg` in a
 * trampoline; a table indexed without a base register gets a scratch base
 * register holding the address.  Every other form is refused, naming it.
 */
static int fix_abs32(struct link_job *lj, const struct hp_psec *sec, size_t isec, const struct hp_prela *rl,
		     const char *name, uint64_t val, size_t k)
{
	const struct hp_image *img = lj->img;
	uint64_t tr = lj->base + img->fix_off + HP_FIX_SIZE * k;
	uint8_t *t = lj->buf + img->fix_off + HP_FIX_SIZE * k, *ins;
	struct x86_insn in;
	struct x86_abs32 f;
	uint64_t s, at;
	size_t n = 0, field;
	uint8_t reg, sc;

	if (insn_at(sec, rl->offset, &s, &in) < 0)
		return hp_err(lj->ctx, -HP_E_RELOC, "payload: cannot decode the instruction at %s+%#" PRIx64
						    " that refers to '%s'", sec->name, rl->offset, name);
	ins = lj->buf + img->sec_off[isec] + s;
	field = rl->offset - s;
	at = lj->base + img->sec_off[isec] + s;
	memset(t, 0xcc, HP_FIX_SIZE);
	switch (x86_abs32_form(ins, &in, field, &f)) {
	case X86_ABS32_MOV:
		reg = f.reg;
		break;
	case X86_ABS32_TABLE: {
		uint8_t modrm = ins[f.op + f.mlen], sib = ins[f.op + f.mlen + 1];

		for (sc = 11; sc == f.reg || sc == f.index; sc--)
			;
		/* lea -128(%rsp),%rsp; push %rS; movabs $sym,%rS */
		memcpy(t, "\x48\x8d\x64\x24\x80", 5), n = 5;
		t[n++] = 0x41, t[n++] = (uint8_t)(0x50 + (sc & 7));
		t[n++] = 0x49, t[n++] = (uint8_t)(0xb8 + (sc & 7));
		memcpy(t + n, &val, 8), n += 8;
		/* the instruction, on (%rS,%index,scale) */
		memcpy(t + n, ins, f.pre), n += f.pre;
		t[n++] = (uint8_t)((f.rex ? f.rex : 0x40) | 1);
		memcpy(t + n, ins + f.op, f.mlen), n += f.mlen;
		t[n++] = modrm;
		t[n++] = (uint8_t)((sib & 0xf8) | (sc & 7));
		memcpy(t + n, ins + field + 4, in.len - field - 4), n += in.len - field - 4;
		/* pop %rS; lea 128(%rsp),%rsp */
		t[n++] = 0x41, t[n++] = (uint8_t)(0x58 + (sc & 7));
		memcpy(t + n, "\x48\x8d\xa4\x24\x80\x00\x00\x00", 8), n += 8;
		goto back;
	}
	default:
		goto refuse;
	}
	/* movabs $sym,%reg */
	t[n++] = (uint8_t)(0x48 | ((reg & 8) ? 1 : 0));
	t[n++] = (uint8_t)(0xb8 + (reg & 7));
	memcpy(t + n, &val, 8), n += 8;
back:
	if (!close_trampoline(t, n, tr, ins, at, in.len))
		goto refuse;
	return 0;
refuse:
	return hp_err(lj->ctx, -HP_E_RELOC, "payload: the instruction at %s+%#" PRIx64 " takes the address of '%s' "
					    "(in a library, above 4 GiB) as a 32-bit absolute (R_X86_64_32/32S, non-PIE "
					    "code) in a form that cannot be rerouted; build the target as PIE (-fPIE -pie), "
					    "where such addresses are PC-relative and can be rerouted",
		      sec->name, s, name);
}

/* Why: the image starts as the payload's sections at their planned offsets; bss stays zero. */
static int link_copy_sections(struct link_job *lj)
{
	const struct hp_patch *p = lj->p;
	size_t i;

	lj->buf = calloc(1, lj->img->size);
	lj->symval = calloc(p->nsyms ? p->nsyms : 1, sizeof(*lj->symval));
	lj->callval = calloc(p->nsyms ? p->nsyms : 1, sizeof(*lj->callval));
	if (!lj->buf || !lj->symval || !lj->callval)
		return -ENOMEM;
	for (i = 0; i < p->nsecs; i++)
		if (p->secs[i].type != SHT_NOBITS && p->secs[i].size)
			memcpy(lj->buf + lj->img->sec_off[i], p->secs[i].data, p->secs[i].size);
	return 0;
}

/*
 * Why: symbols defined in the payload, in the target or absolute have
 * known values: the address used for data references, and the one used for
 * calls, which for a replaced target function is its new body (a direct
 * call, no jump through the old entry).
 */
static void link_known_values(struct link_job *lj)
{
	const struct hp_patch *p = lj->p;
	const struct hp_link_env *env = lj->env;
	size_t i;

	for (i = 1; i < p->nsyms; i++) {
		const struct hp_psym *s = &p->syms[i];

		if (s->sec < p->nsecs) {
			lj->symval[i] = lj->callval[i] = lj->base + lj->img->sec_off[s->sec] + s->value;
		} else if (s->sec == HP_SEC_TARGET) {
			lj->symval[i] = env->target_bias + s->value;
			lj->callval[i] = lj->symval[i];
			if (env->redirect && s->type != STT_TLS) {
				uint64_t nb = env->redirect(env->ud, lj->symval[i]);

				if (nb)
					lj->callval[i] = nb;
			}
		} else if (s->sec == HP_SEC_ABS) {
			lj->symval[i] = lj->callval[i] = s->value;
		}
	}
}

/*
 * Why: undefined symbols come from other modules of the process; each is
 * asked for only in the forms the relocations use (a data address when
 * referenced or given a GOT slot, a call address when called), so a
 * function imported only for calls may resolve to a PLT stub.
 */
static int link_imports(struct link_job *lj)
{
	const struct hp_patch *p = lj->p;
	const struct hp_link_env *env = lj->env;
	size_t i, j, k;
	int r;

	for (i = 1; i < p->nsyms; i++) {
		const struct hp_psym *s = &p->syms[i];
		bool used = false, used_call = false;

		if (s->sec != HP_SEC_UNDEF)
			continue;
		for (j = 0; j < p->nsecs && !(used && used_call); j++)
			for (k = 0; k < p->secs[j].nrelas; k++)
				if (p->secs[j].relas[k].sym == i) {
					if (p->secs[j].relas[k].type == R_X86_64_PLT32)
						used_call = true;
					else
						used = true;
				}
		if (used || lj->img->got_slot[i]) {
			r = env->import(env->ud, s->name, false, &lj->symval[i]);
			if (r < 0)
				return r;
		}
		if (used_call) {
			r = env->import(env->ud, s->name, true, &lj->callval[i]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Why: thread-local relocations need the target's TLS block, asked for once and only then. */
static int link_tls_block(struct link_job *lj)
{
	const struct hp_patch *p = lj->p;
	size_t i, j;

	for (i = 0; i < p->nsecs; i++)
		for (j = 0; j < p->secs[i].nrelas; j++)
			if (is_tls_reloc(p->secs[i].relas[j].type)) {
				if (!lj->env->tls)
					return hp_err(lj->ctx, -HP_E_RELOC, "payload: thread-local relocations are not "
									    "supported here");
				return lj->env->tls(lj->env->ud, &lj->tls);
			}
	return 0;
}

/*
 * Why: the GOT holds what the planned slots point to (thread-pointer
 * offsets, {module, offset} pairs, symbol addresses) and each PLT stub is
 * `jmp *slot(%rip)`; both must be in place before relocations refer to them.
 */
static int link_got_and_stubs(struct link_job *lj)
{
	const struct hp_image *img = lj->img;
	const struct hp_patch *p = lj->p;
	size_t i;

	if (img->ld_pair) {
		uint64_t pair[2] = { lj->tls.modid, 0 };

		if (!lj->tls.have_modid)
			return hp_err(lj->ctx, -HP_E_RELOC, "payload: needs the TLS module id of the target, which "
							    "it does not use itself");
		memcpy(got_bytes(lj, img->ld_pair), pair, 16);
	}
	for (i = 1; i < p->nsyms; i++) {
		uint64_t pair[2];

		if (img->tls_slot[i]) {
			int64_t off = lj->tls.tpoff + (int64_t)p->syms[i].value;

			if (!lj->tls.have_tpoff)
				return hp_err(lj->ctx, -HP_E_RELOC, "payload: '%s' needs the thread-pointer offset of "
								    "the target's TLS block, which it does not use itself",
					      p->syms[i].name);
			memcpy(got_bytes(lj, img->tls_slot[i]), &off, 8);
		}
		if (img->tls_pair[i]) {
			if (!lj->tls.have_modid)
				return hp_err(lj->ctx, -HP_E_RELOC, "payload: '%s' needs the TLS module id of the "
								    "target, which it does not use itself",
					      p->syms[i].name);
			pair[0] = lj->tls.modid;
			pair[1] = p->syms[i].value;
			memcpy(got_bytes(lj, img->tls_pair[i]), pair, 16);
		}
		if (img->got_slot[i])
			memcpy(got_bytes(lj, img->got_slot[i]), &lj->symval[i], 8);
		if (img->stub[i]) {
			uint8_t *st = lj->buf + img->stub_off + 16 * (img->stub[i] - 1);
			uint64_t pc = lj->base + img->stub_off + 16 * (img->stub[i] - 1);
			int64_t d = (int64_t)got_addr(lj, img->got_slot[i]) - (int64_t)(pc + 6);
			int32_t d32 = (int32_t)d;

			st[0] = 0xff;	/* jmp *slot(%rip) */
			st[1] = 0x25;
			memcpy(st + 2, &d32, 4);
			memset(st + 6, 0xcc, 10);
		}
	}
	return 0;
}

/*
 * Why: one relocation of section isec, written into the image.  64-bit
 * fields are written as computed; every 32-bit result is range-checked
 * against its field, and an overflow is an error, never a truncation.
 */
static int link_relocate_one(struct link_job *lj, size_t isec, const struct hp_prela *rl)
{
	const struct hp_image *img = lj->img;
	const struct hp_patch *p = lj->p;
	const struct hp_psec *sec = &p->secs[isec];
	const struct hp_psym *s = &p->syms[rl->sym];
	uint8_t *where = lj->buf + img->sec_off[isec] + rl->offset;
	uint64_t P = lj->base + img->sec_off[isec] + rl->offset;
	uint64_t S = lj->symval[rl->sym], G = 0;
	int64_t A = rl->addend, v;
	int32_t v32;
	uint32_t u32;

	if (img->got_slot[rl->sym])
		G = got_addr(lj, img->got_slot[rl->sym]);
	if ((rl->type == R_X86_64_TPOFF32 || rl->type == R_X86_64_TPOFF64) && !lj->tls.have_tpoff)
		return hp_err(lj->ctx, -HP_E_RELOC, "payload: '%s' needs the thread-pointer offset of the "
						    "target's TLS block, which it does not use itself", s->name);
	switch (rl->type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_64:
		v = (int64_t)(S + (uint64_t)A);
		memcpy(where, &v, 8);
		return 0;
	case R_X86_64_PC64:
		v = (int64_t)(S + (uint64_t)A - P);
		memcpy(where, &v, 8);
		return 0;
	case R_X86_64_PLT32:
		v = (int64_t)(lj->callval[rl->sym] + (uint64_t)A - P);
		if (!fits_s32(v) && img->stub[rl->sym])
			v = (int64_t)(lj->base + img->stub_off + 16 * (img->stub[rl->sym] - 1) + (uint64_t)A - P);
		break;
	case R_X86_64_PC32:
		v = (int64_t)(S + (uint64_t)A - P);
		if (is_fixable(p, sec, rl)) {
			size_t k = lj->nfix++;

			if (!fits_s32(v))
				return fix_reference(lj, sec, isec, rl, s->name, S, k);
		}
		break;
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		v = (int64_t)(G + (uint64_t)A - P);
		break;
	case R_X86_64_GOTPC32:
		v = (int64_t)(lj->base + img->got_off + (uint64_t)A - P);
		break;
	case R_X86_64_GOTOFF64:
		v = (int64_t)(S + (uint64_t)A - (lj->base + img->got_off));
		memcpy(where, &v, 8);
		return 0;
	case R_X86_64_32:
		if (is_fixable(p, sec, rl)) {
			size_t k = lj->nfix++;

			if (S + (uint64_t)A > UINT32_MAX)
				return fix_abs32(lj, sec, isec, rl, s->name, S + (uint64_t)A, k);
		}
		if (S + (uint64_t)A > UINT32_MAX)
			return hp_err(lj->ctx, -HP_E_RELOC, "payload: R_X86_64_32 to '%s' (%#" PRIx64 ") does not "
							    "fit 32 bits", s->name, S + (uint64_t)A);
		u32 = (uint32_t)(S + (uint64_t)A);
		memcpy(where, &u32, 4);
		return 0;
	case R_X86_64_TPOFF32:
		v = lj->tls.tpoff + (int64_t)s->value + A;
		break;
	case R_X86_64_TPOFF64:
		v = lj->tls.tpoff + (int64_t)s->value + A;
		memcpy(where, &v, 8);
		return 0;
	case R_X86_64_DTPOFF32:
		v = (int64_t)s->value + A;
		break;
	case R_X86_64_DTPOFF64:
		v = (int64_t)s->value + A;
		memcpy(where, &v, 8);
		return 0;
	case R_X86_64_GOTTPOFF:
		v = (int64_t)(got_addr(lj, img->tls_slot[rl->sym]) + (uint64_t)A - P);
		break;
	case R_X86_64_TLSGD:
		v = (int64_t)(got_addr(lj, img->tls_pair[rl->sym]) + (uint64_t)A - P);
		break;
	case R_X86_64_TLSLD:
		v = (int64_t)(got_addr(lj, img->ld_pair) + (uint64_t)A - P);
		break;
	case R_X86_64_32S:
		v = (int64_t)(S + (uint64_t)A);
		if (is_fixable(p, sec, rl)) {
			size_t k = lj->nfix++;

			if (!fits_s32(v))
				return fix_abs32(lj, sec, isec, rl, s->name, S + (uint64_t)A, k);
		}
		if (!fits_s32(v))
			return hp_err(lj->ctx, -HP_E_RELOC, "payload: R_X86_64_32S to '%s' (%#" PRIx64 ") does not "
							    "fit 32 bits", s->name, S + (uint64_t)A);
		break;
	default:
		return hp_err(lj->ctx, -HP_E_RELOC, "payload: relocation type %u against '%s' in %s is not "
						    "supported yet", rl->type, s->name, sec->name);
	}
	if (!fits_s32(v))
		return hp_err(lj->ctx, -HP_E_RELOC, "payload: relocation %u from %s+%#" PRIx64 " to '%s' is out "
						    "of 32-bit range (%" PRId64 ")", rl->type, sec->name, rl->offset,
			      s->name, v);
	v32 = (int32_t)v;
	memcpy(where, &v32, 4);
	return 0;
}

/* Why: every relocation of every section, in order (fixable references number their trampolines so). */
static int link_relocate(struct link_job *lj)
{
	const struct hp_patch *p = lj->p;
	size_t i, j;
	int r;

	for (i = 0; i < p->nsecs; i++)
		for (j = 0; j < p->secs[i].nrelas; j++) {
			r = link_relocate_one(lj, i, &p->secs[i].relas[j]);
			if (r < 0)
				return r;
		}
	return 0;
}

/*
 * Why: the link is a pipeline a reader can follow step by step: copy the
 * sections, take the values known without asking, import the rest, fetch
 * the TLS block, fill the GOT and stubs, relocate.  img->buf and img->base
 * change only when all of it succeeded.
 */
int hp_image_link(struct hp_ctx *ctx, struct hp_image *img, const struct hp_patch *p, uint64_t base,
		  const struct hp_link_env *env)
{
	_cleanup_(link_job_release) struct link_job lj = { .ctx = ctx, .img = img, .p = p, .env = env,
							    .base = base };
	int r;

	r = link_copy_sections(&lj);
	if (r < 0)
		return r;
	link_known_values(&lj);
	r = link_imports(&lj);
	if (r < 0)
		return r;
	r = link_tls_block(&lj);
	if (r < 0)
		return r;
	r = link_got_and_stubs(&lj);
	if (r < 0)
		return r;
	r = link_relocate(&lj);
	if (r < 0)
		return r;
	free(img->buf);
	img->buf = TAKE_PTR(lj.buf);
	img->base = base;
	return 0;
}
