/* SPDX-License-Identifier: MIT */
/*
 * The builder's x86-64 decoder (see x86.h).  It follows the shape of the
 * encoding (prefixes, REX, opcode map, ModRM/SIB, displacement, immediate)
 * and knows the register effects of the instructions GCC emits for
 * ordinary C at -O2.  It is deliberately conservative: an opcode it does not
 * model writes "everything" (may = X86_ALL), so an analysis built on it can
 * only err towards refusing.
 */
#include <string.h>

#include "shared/x86.h"

struct dec {
	const uint8_t *p;
	size_t n, i;
	uint8_t rex;			/* 0 or 0x40-0x4f */
	bool opsize;			/* 66 */
	uint8_t rep;			/* F2/F3 or 0 */
	bool has_modrm;
	uint8_t mod, reg, rm;		/* reg/rm with REX.R/REX.B applied */
	struct x86_insn *o;
};

/* Read the ModRM byte, an optional SIB and the displacement. */
static int modrm(struct dec *d)
{
	uint8_t m, base;

	if (d->i >= d->n)
		return -1;
	m = d->p[d->i++];
	d->has_modrm = true;
	d->mod = m >> 6;
	d->reg = (uint8_t)(((m >> 3) & 7) | ((d->rex & 4) ? 8 : 0));
	d->rm = (uint8_t)((m & 7) | ((d->rex & 1) ? 8 : 0));
	if (d->mod == 3)
		return 0;
	if ((m & 7) == 4) {
		if (d->i >= d->n)
			return -1;
		base = d->p[d->i++] & 7;
		if (d->mod == 0 && base == 5)
			d->i += 4;
	} else if (d->mod == 0 && (m & 7) == 5) {
		d->i += 4;		/* RIP-relative */
	}
	if (d->mod == 1)
		d->i += 1;
	else if (d->mod == 2)
		d->i += 4;
	return d->i <= d->n ? 0 : -1;
}

/* Note where the immediate is and skip it. */
static int imm(struct dec *d, unsigned size)
{
	d->o->imm_off = (uint8_t)d->i;
	d->o->imm_size = (uint8_t)size;
	d->i += size;
	return d->i <= d->n ? 0 : -1;
}

/* Note where a branch displacement is, skip it, and record the branch kind. */
static int rel(struct dec *d, unsigned size, enum x86_flow f)
{
	d->o->rel_off = (uint8_t)d->i;
	d->o->rel_size = (uint8_t)size;
	d->o->flow = f;
	d->i += size;
	return d->i <= d->n ? 0 : -1;
}

/* Effects: the instruction writes a general register / the r/m operand when it is a register. */
static void w_gpr(struct dec *d, unsigned r)
{
	d->o->must |= X86_GPR(r & 15);
}

/* The r/m operand is written: a register only when mod is 3. */
static void w_rm(struct dec *d)
{
	if (d->mod == 3)
		w_gpr(d, d->rm);
}

/* The instruction writes a vector register. */
static void w_xmm(struct dec *d, unsigned r)
{
	d->o->must |= X86_XMM(r & 15);
}

/* An instruction we do not model may write anything. */
static void unknown(struct dec *d)
{
	d->o->known = false;
	d->o->may = X86_ALL;
}

/* The size of a "z" immediate: 2 bytes with an operand-size prefix, else 4. */
static unsigned imm_z(const struct dec *d)
{
	return d->opsize ? 2 : 4;
}

/* The one-byte opcode map. */
static int map0(struct dec *d, uint8_t op)
{
	uint8_t lo = op & 7;
	int r = 0;

	if (op < 0x40 && lo < 6) {
		bool cmp = (op >> 3) == 7;	/* 38-3D compare: no write */

		if (lo < 4) {
			r = modrm(d);
			if (!cmp)
				(lo & 2) ? w_gpr(d, d->reg) : w_rm(d);
		} else {
			r = imm(d, lo == 4 ? 1 : imm_z(d));
			if (!cmp)
				w_gpr(d, 0);
		}
		return r;
	}
	if (op >= 0x50 && op <= 0x57)
		return 0;				/* push */
	if (op >= 0x58 && op <= 0x5f) {
		w_gpr(d, (op & 7) | ((d->rex & 1) ? 8 : 0));	/* pop */
		return 0;
	}
	if (op >= 0x70 && op <= 0x7f)
		return rel(d, 1, X86_JCC);
	if (op >= 0x90 && op <= 0x97) {
		unsigned reg = (op & 7) | ((d->rex & 1) ? 8 : 0);

		if (reg != 0) {				/* xchg rax, reg (90 alone is nop) */
			w_gpr(d, 0);
			w_gpr(d, reg);
		}
		return 0;
	}
	if (op >= 0xb0 && op <= 0xbf) {
		w_gpr(d, (op & 7) | ((d->rex & 1) ? 8 : 0));
		return imm(d, op < 0xb8 ? 1 : (d->rex & 8) ? 8 : imm_z(d));
	}
	switch (op) {
	case 0x63:				/* movsxd */
	case 0x8b:
	case 0x8a:
	case 0x8d:				/* lea */
		r = modrm(d);
		w_gpr(d, d->reg);
		return r;
	case 0x69:
	case 0x6b:				/* imul r, r/m, imm */
		r = modrm(d);
		w_gpr(d, d->reg);
		return r < 0 ? r : imm(d, op == 0x6b ? 1 : imm_z(d));
	case 0x68:
		return imm(d, imm_z(d));
	case 0x6a:
		return imm(d, 1);
	case 0x80:
	case 0x81:
	case 0x83:
		r = modrm(d);
		if ((d->reg & 7) != 7)
			w_rm(d);
		return r < 0 ? r : imm(d, op == 0x81 ? imm_z(d) : 1);
	case 0x84:
	case 0x85:				/* test */
		return modrm(d);
	case 0x86:
	case 0x87:				/* xchg */
		r = modrm(d);
		w_gpr(d, d->reg);
		w_rm(d);
		return r;
	case 0x88:
	case 0x89:
	case 0x8f:				/* mov r/m, r; pop r/m */
		r = modrm(d);
		w_rm(d);
		return r;
	case 0x98:				/* cbw/cwde/cdqe */
		w_gpr(d, 0);
		return 0;
	case 0x99:				/* cwd/cdq/cqo */
		w_gpr(d, 2);
		return 0;
	case 0xa4:
	case 0xa5:				/* movs */
		w_gpr(d, 6);
		w_gpr(d, 7);
		if (d->rep)
			w_gpr(d, 1);
		return 0;
	case 0xaa:
	case 0xab:				/* stos */
		w_gpr(d, 7);
		if (d->rep)
			w_gpr(d, 1);
		return 0;
	case 0xa6:
	case 0xa7:				/* cmps */
		w_gpr(d, 6);
		w_gpr(d, 7);
		if (d->rep)
			w_gpr(d, 1);
		return 0;
	case 0xae:
	case 0xaf:				/* scas */
		w_gpr(d, 7);
		if (d->rep)
			w_gpr(d, 1);
		return 0;
	case 0xac:
	case 0xad:				/* lods */
		w_gpr(d, 0);
		w_gpr(d, 6);
		if (d->rep)
			w_gpr(d, 1);
		return 0;
	case 0xa8:
		return imm(d, 1);
	case 0xa9:
		return imm(d, imm_z(d));
	case 0xc0:
	case 0xc1:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:				/* shifts and rotates */
		r = modrm(d);
		w_rm(d);
		return r < 0 || op > 0xc1 ? r : imm(d, 1);
	case 0xc2:
		d->o->flow = X86_RET;
		return imm(d, 2);
	case 0xc3:
		d->o->flow = X86_RET;
		return 0;
	case 0xc6:
	case 0xc7:
		r = modrm(d);
		w_rm(d);
		return r < 0 ? r : imm(d, op == 0xc6 ? 1 : imm_z(d));
	case 0xc9:				/* leave: rbp, rsp */
		w_gpr(d, 5);
		w_gpr(d, 4);
		return 0;
	case 0xcc:
	case 0xf4:
		d->o->flow = X86_STOP;
		return 0;
	case 0xe8:
		return rel(d, 4, X86_CALL);
	case 0xe9:
		return rel(d, 4, X86_JMP);
	case 0xeb:
		return rel(d, 1, X86_JMP);
	case 0xf5:
	case 0xf8:
	case 0xf9:
	case 0xfc:
	case 0xfd:				/* flag instructions */
		return 0;
	case 0xf6:
	case 0xf7:
		r = modrm(d);
		if (r < 0)
			return r;
		switch (d->reg & 7) {
		case 0:
		case 1:				/* test */
			return imm(d, op == 0xf6 ? 1 : imm_z(d));
		case 2:
		case 3:				/* not, neg */
			w_rm(d);
			return 0;
		default:			/* mul, imul, div, idiv */
			w_gpr(d, 0);
			if (op == 0xf7)
				w_gpr(d, 2);
			return 0;
		}
	case 0xfe:
	case 0xff:
		r = modrm(d);
		if (r < 0)
			return r;
		switch (d->reg & 7) {
		case 0:
		case 1:				/* inc, dec */
			w_rm(d);
			return 0;
		case 2:
			d->o->flow = X86_ICALL;
			d->o->must |= X86_ABI_CLOBBER;
			return 0;
		case 4:
			d->o->flow = X86_IJMP;
			d->o->may |= X86_ABI_CLOBBER;
			return 0;
		case 6:				/* push */
			return 0;
		default:
			unknown(d);
			return 0;
		}
	}
	if (op >= 0xd8 && op <= 0xdf) {		/* x87 */
		r = modrm(d);
		d->o->must |= X86_X87;
		if (op == 0xdf && d->mod == 3 && (d->reg & 7) == 4)
			w_gpr(d, 0);		/* fnstsw %ax */
		return r;
	}
	/* The rest has a standard shape we may not model: get the length right, assume the worst. */
	unknown(d);
	switch (op) {
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		d->i += 8;
		return d->i <= d->n ? 0 : -1;
	case 0xc8:
		return imm(d, 3);
	case 0xca:
		return imm(d, 2);
	case 0xcd:
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7:
		return imm(d, 1);
	case 0xe0:
	case 0xe1:
	case 0xe2:
	case 0xe3:
		return rel(d, 1, X86_JCC);
	case 0x9b:
	case 0x9c:
	case 0x9d:
	case 0x9e:
	case 0x9f:
	case 0xcb:
	case 0xcf:
	case 0xec:
	case 0xed:
	case 0xee:
	case 0xef:
	case 0x6c:
	case 0x6d:
	case 0x6e:
	case 0x6f:
		return 0;
	}
	return -1;
}

/* SSE/AVX-style instruction: the destination is usually the ModRM reg field, an XMM register. */
static void sse_effect(struct dec *d, bool store, bool gpr_dest)
{
	if (store) {
		if (d->mod == 3) {
			w_xmm(d, d->rm);	/* a register-to-register store form */
			d->o->may |= X86_GPR(d->rm & 15);
		}
	} else if (gpr_dest) {
		w_gpr(d, d->reg);
	} else {
		w_xmm(d, d->reg);
	}
}

/* The 0F map. */
static int map1(struct dec *d, uint8_t op)
{
	int r;

	if (op >= 0x80 && op <= 0x8f)
		return rel(d, 4, X86_JCC);
	if (op >= 0xc8 && op <= 0xcf) {
		w_gpr(d, (op & 7) | ((d->rex & 1) ? 8 : 0));	/* bswap */
		return 0;
	}
	switch (op) {
	case 0x05:				/* syscall */
		w_gpr(d, 0);
		w_gpr(d, 1);
		w_gpr(d, 11);
		return 0;
	case 0x0b:
		d->o->flow = X86_STOP;
		return 0;
	case 0xa2:				/* cpuid */
		w_gpr(d, 0);
		w_gpr(d, 1);
		w_gpr(d, 2);
		w_gpr(d, 3);
		return 0;
	case 0x31:				/* rdtsc */
		w_gpr(d, 0);
		w_gpr(d, 2);
		return 0;
	case 0x18:
	case 0x0d:
	case 0x1e:
	case 0x1f:				/* prefetch, endbr64, nop */
		return modrm(d);
	case 0xae:				/* fences, ldmxcsr/stmxcsr */
		return modrm(d);
	case 0xa3:				/* bt */
		return modrm(d);
	case 0xba:
		r = modrm(d);
		if ((d->reg & 7) >= 5)
			w_rm(d);
		return r < 0 ? r : imm(d, 1);
	case 0xab:
	case 0xb3:
	case 0xbb:				/* bts, btr, btc */
		r = modrm(d);
		w_rm(d);
		return r;
	case 0xa4:
	case 0xac:				/* shld/shrd imm */
		r = modrm(d);
		w_rm(d);
		return r < 0 ? r : imm(d, 1);
	case 0xa5:
	case 0xad:
		r = modrm(d);
		w_rm(d);
		return r;
	case 0xaf:
	case 0xb6:
	case 0xb7:
	case 0xbe:
	case 0xbf:
	case 0xbc:
	case 0xbd:
	case 0xb8:				/* imul, movzx/movsx, bsf/bsr/tzcnt/lzcnt, popcnt */
		r = modrm(d);
		w_gpr(d, d->reg);
		return r;
	case 0xb0:
	case 0xb1:				/* cmpxchg */
		r = modrm(d);
		w_rm(d);
		w_gpr(d, 0);
		return r;
	case 0xc0:
	case 0xc1:				/* xadd */
		r = modrm(d);
		w_rm(d);
		w_gpr(d, d->reg);
		return r;
	case 0xc3:				/* movnti */
		return modrm(d);
	case 0xc7:				/* cmpxchg16b, rdrand, rdseed */
		r = modrm(d);
		if (d->mod == 3)
			w_rm(d);
		else {
			w_gpr(d, 0);
			w_gpr(d, 2);
		}
		return r;
	}
	if (op >= 0x40 && op <= 0x4f) {		/* cmovcc */
		r = modrm(d);
		w_gpr(d, d->reg);
		return r;
	}
	if (op >= 0x90 && op <= 0x9f) {		/* setcc */
		r = modrm(d);
		w_rm(d);
		return r;
	}
	/* SSE and MMX. */
	if ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
	    op == 0xc2 || (op >= 0xc4 && op <= 0xc6) || op >= 0xd0) {
		bool store = op == 0x11 || op == 0x13 || op == 0x17 || op == 0x29 || op == 0x2b || op == 0x7f ||
			     op == 0xd6 || op == 0xe7 || (op == 0x7e && d->rep != 0xf3);
		bool gpr = op == 0x2c || op == 0x2d || op == 0x50 || op == 0xd7 || op == 0xc5;
		bool mmx = !d->opsize && !d->rep && ((op >= 0x60 && op <= 0x7f) || op >= 0xd0 || op == 0xc4 ||
						    op == 0xc5);

		r = modrm(d);
		if (r < 0)
			return r;
		if (op == 0x2e || op == 0x2f) {
			/* ucomis/comis: flags only */
		} else if (mmx) {
			d->o->must |= X86_X87;
			if (gpr)
				w_gpr(d, d->reg);
			if (op == 0x7e && d->mod == 3)
				w_gpr(d, d->rm);
		} else if (op == 0x7e && d->rep != 0xf3) {
			w_rm(d);		/* movd/movq xmm -> r/m */
		} else {
			sse_effect(d, store, gpr);
		}
		if ((op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6))
			return imm(d, 1);
		return 0;
	}
	/* Unmodelled but standard: ModRM, no immediate. */
	r = modrm(d);
	unknown(d);
	return r;
}

/* The 0F38 and 0F3A maps: SSSE3/SSE4 and friends. */
static int map23(struct dec *d, uint8_t map, uint8_t op)
{
	int r = modrm(d);

	if (r < 0)
		return r;
	if (map == 2 && (op == 0xf0 || op == 0xf1)) {
		if (d->rep == 0xf2 || op == 0xf0)
			w_gpr(d, d->reg);	/* crc32, movbe load */
		if (op == 0xf1 && d->rep != 0xf2)
			w_rm(d);
	} else if (map == 3 && op >= 0x14 && op <= 0x17) {
		w_rm(d);			/* pextr*, extractps */
	} else if (map == 3 && (op == 0x60 || op == 0x61 || op == 0x62 || op == 0x63)) {
		w_gpr(d, 1);			/* pcmpestr/pcmpistr: ecx or xmm0 */
		w_xmm(d, 0);
	} else {
		w_xmm(d, d->reg);
	}
	if (!d->opsize)
		d->o->must |= X86_X87;		/* MMX forms */
	return map == 3 ? imm(d, 1) : 0;
}

/* VEX (C4/C5) and EVEX (62) encoded instructions: length exactly, effects coarsely. */
static int vex(struct dec *d, uint8_t lead)
{
	uint8_t map = 1, op;
	int r;

	if (lead == 0xc5) {
		if (d->i + 1 >= d->n)
			return -1;
		d->rex = (d->p[d->i] & 0x80) ? 0 : 4;
		d->i += 1;
	} else if (lead == 0xc4) {
		if (d->i + 2 >= d->n)
			return -1;
		map = d->p[d->i] & 0x1f;
		d->rex = (uint8_t)(((d->p[d->i] & 0x80) ? 0 : 4) | ((d->p[d->i] & 0x20) ? 0 : 1));
		d->i += 2;
	} else {
		if (d->i + 3 >= d->n)
			return -1;
		map = d->p[d->i] & 0x07;
		d->rex = (uint8_t)(((d->p[d->i] & 0x80) ? 0 : 4) | ((d->p[d->i] & 0x20) ? 0 : 1));
		d->i += 3;
	}
	op = d->p[d->i++];
	d->o->map = 4;
	d->o->op = op;
	if (map == 1 && op == 0x77) {		/* vzeroupper/vzeroall */
		d->o->must |= X86_ALL_XMM;
		return 0;
	}
	r = modrm(d);
	if (r < 0)
		return r;
	/* Destination is usually reg; some forms write r/m or a GPR.  Be coarse: any vector register, and
	 * the named general registers. */
	d->o->known = false;
	d->o->may |= X86_ALL_XMM | X86_AVX512 | X86_GPR(d->reg & 15);
	if (d->mod == 3)
		d->o->may |= X86_GPR(d->rm & 15);
	if (map == 2 && op >= 0xf0)
		d->o->may |= X86_ALL & 0xffff;	/* BMI: mulx and friends write other GPRs */
	if (map == 3 || (map == 1 && (op == 0xc2 || (op >= 0xc4 && op <= 0xc6) || (op >= 0x70 && op <= 0x73))))
		return imm(d, 1);
	if (map > 3)
		return -1;
	return 0;
}

/* Decode one instruction (x86.h): prefixes, REX, the opcode map, then its operands. */
int x86_decode(const uint8_t *p, size_t n, struct x86_insn *ret)
{
	struct dec d = { .p = p, .n = n, .o = ret };
	uint8_t op;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->known = true;
	for (;;) {
		if (d.i >= n || d.i >= 14)
			return -1;
		op = p[d.i];
		if (op == 0x66)
			d.opsize = true;
		else if (op == 0xf2 || op == 0xf3)
			d.rep = op;
		else if (op != 0xf0 && op != 0x67 && op != 0x26 && op != 0x2e && op != 0x36 && op != 0x3e &&
			 op != 0x64 && op != 0x65)
			break;
		d.i++;
	}
	if ((op & 0xf0) == 0x40) {
		d.rex = op;
		if (++d.i >= n)
			return -1;
		op = p[d.i];
	}
	d.i++;
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		r = vex(&d, op);
	} else if (op != 0x0f) {
		ret->op = op;
		r = map0(&d, op);
	} else {
		if (d.i >= n)
			return -1;
		op = p[d.i++];
		if (op == 0x38 || op == 0x3a) {
			uint8_t m = op == 0x38 ? 2 : 3;

			if (d.i >= n)
				return -1;
			op = p[d.i++];
			ret->map = m;
			ret->op = op;
			r = map23(&d, m, op);
		} else {
			ret->map = 1;
			ret->op = op;
			r = map1(&d, op);
		}
	}
	if (r < 0 || d.i > n || d.i > 15)
		return -1;
	ret->len = (uint8_t)d.i;
	ret->may |= ret->must;
	return 0;
}

/*
 * Why: a memory operand moved onto a scratch base register must not be an
 * instruction that uses the stack (push/pop/call/jmp through memory), write
 * %rsp, or be a byte operation on ah..bh that a REX prefix would turn into
 * spl..dil.  Shared with the engine's rerouting of RIP-relative operands.
 */
bool x86_bad_mem_form(const uint8_t *ins, size_t op, uint8_t map, uint8_t modrm, uint8_t rex)
{
	uint8_t reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0));

	if (map == 0 && ((ins[op] == 0xff && ((modrm >> 3) & 7) >= 2) || ins[op] == 0x8f))
		return true;
	if (map == 0 && reg == 4 && !(ins[op] == 0xc7 || ins[op] == 0xc6 || ins[op] == 0x80 || ins[op] == 0x81 ||
				      ins[op] == 0x83 || ins[op] == 0xf6 || ins[op] == 0xf7 || ins[op] == 0xfe ||
				      ins[op] == 0xd1 || ins[op] == 0xc1 || ins[op] == 0xd3 || ins[op] == 0xd0))
		return true;
	if (!rex && map == 0 && ((modrm >> 3) & 7) >= 4 &&
	    ((ins[op] < 0x40 && ((ins[op] & 7) == 0 || (ins[op] & 7) == 2)) || ins[op] == 0x84 || ins[op] == 0x86 ||
	     ins[op] == 0x88 || ins[op] == 0x8a))
		return true;
	return false;
}

/* See x86.h: the builder refuses, and the engine rewrites, by the same rules. */
enum x86_abs32_kind x86_abs32_form(const uint8_t *ins, const struct x86_insn *in, size_t field, struct x86_abs32 *f)
{
	size_t pre = 0, op;
	uint8_t rex = 0;

	memset(f, 0, sizeof(*f));
	while (pre < in->len && (ins[pre] == 0x66 || ins[pre] == 0xf2 || ins[pre] == 0xf3))
		pre++;
	if (pre < in->len && (ins[pre] & 0xf0) == 0x40)
		rex = ins[pre];
	op = pre + (rex ? 1 : 0);
	if (in->len < 5 || op + 1 >= in->len)
		return X86_ABS32_NONE;
	f->pre = (uint8_t)pre;
	f->rex = rex;
	f->op = (uint8_t)op;
	if (!pre && in->map == 0 && (ins[op] & 0xf8) == 0xb8 && !(rex & 8) && field == op + 1 && in->len == op + 5) {
		f->reg = (uint8_t)((ins[op] & 7) | ((rex & 1) ? 8 : 0));
		return f->kind = X86_ABS32_MOV;
	}
	if (!pre && in->map == 0 && (rex & 8) && ins[op] == 0xc7 && (ins[op + 1] & 0xf8) == 0xc0 && field == op + 2 &&
	    in->len == op + 6) {
		f->reg = (uint8_t)((ins[op + 1] & 7) | ((rex & 1) ? 8 : 0));
		return f->kind = X86_ABS32_MOV;
	}
	{
		size_t mlen = in->map == 0 ? 1 : in->map == 1 ? 2 : 0;
		uint8_t modrm, sib;

		if (!mlen || op + mlen + 6 > in->len || field != op + mlen + 2 || (in->map == 1 && ins[op] != 0x0f))
			return X86_ABS32_NONE;
		modrm = ins[op + mlen];
		sib = ins[op + mlen + 1];
		if ((modrm & 0xc7) != 0x04 || (sib & 7) != 5 || x86_bad_mem_form(ins, op, in->map, modrm, rex))
			return X86_ABS32_NONE;
		f->mlen = (uint8_t)mlen;
		f->reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0));
		f->index = (uint8_t)(((sib >> 3) & 7) | ((rex & 2) ? 8 : 0));
		return f->kind = X86_ABS32_TABLE;
	}
}
