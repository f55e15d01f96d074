/* SPDX-License-Identifier: MIT */
/*
 * A minimal x86-64 instruction decoder for the builder and the engine: instruction
 * lengths, where the immediate and branch fields are, control flow, and the
 * registers an instruction writes.  Enough for two questions: which
 * registers may a function clobber (the IPA-RA check), and do two
 * instruction streams differ only in an immediate (line-number noise).
 * Anything it does not know it reports as "may write every register".
 */
#ifndef HP_BUILD_X86_H
#define HP_BUILD_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register bits: 0-15 rax..r15 (hardware order), 16-31 xmm0-15, 32 x87/MMX, 33 xmm16-31 and masks. */
#define X86_GPR(n) (1ull << (n))
#define X86_XMM(n) (1ull << (16 + (n)))
#define X86_X87 (1ull << 32)
#define X86_AVX512 (1ull << 33)
#define X86_ALL_XMM 0xffff0000ull
#define X86_ALL ((1ull << 34) - 1)
/* What the System V ABI lets a call clobber: rax rcx rdx rsi rdi r8-r11, all vector and x87 registers. */
#define X86_ABI_CLOBBER (X86_GPR(0) | X86_GPR(1) | X86_GPR(2) | X86_GPR(6) | X86_GPR(7) | X86_GPR(8) | \
			 X86_GPR(9) | X86_GPR(10) | X86_GPR(11) | X86_ALL_XMM | X86_X87 | X86_AVX512)

enum x86_flow {
	X86_NEXT = 0,			/* falls through */
	X86_CALL,			/* call rel32 */
	X86_JMP,			/* jmp rel8/rel32 */
	X86_JCC,			/* conditional branch */
	X86_RET,
	X86_ICALL,			/* indirect call */
	X86_IJMP,			/* indirect jump (switch or tail call) */
	X86_STOP,			/* ud2, int3, hlt */
};

struct x86_insn {
	uint8_t len;
	uint8_t map;			/* 0 one-byte, 1 0F, 2 0F38, 3 0F3A, 4 VEX/EVEX */
	uint8_t op;
	uint8_t imm_off, imm_size;	/* the immediate field, if any */
	uint8_t rel_off, rel_size;	/* a branch displacement, if any */
	bool known;			/* effects below are exact, not "everything" */
	enum x86_flow flow;
	uint64_t must;			/* registers it certainly writes */
	uint64_t may;			/* registers it may write (a superset of must) */
};

/*
 * Decode one instruction at p (n bytes available).  Returns 0 with *ret
 * filled (unknown opcodes still get a length when their shape is standard,
 * with known = false and may = X86_ALL), or -1 when not even the length can
 * be determined.
 */
int x86_decode(const uint8_t *p, size_t n, struct x86_insn *ret);

/* Is a memory operand of this instruction one that cannot be moved onto a scratch base register? */
bool x86_bad_mem_form(const uint8_t *ins, size_t op, uint8_t map, uint8_t modrm, uint8_t rex);

/* The forms of a 32-bit absolute address field (R_X86_64_32/32S) that can be widened to 64 bits. */
enum x86_abs32_kind {
	X86_ABS32_NONE = 0,
	X86_ABS32_MOV,			/* mov $sym,%r32 or mov $sym,%r64: becomes movabs $sym,%reg */
	X86_ABS32_TABLE,		/* sym(,%index,scale): a scratch base register holds sym */
};

struct x86_abs32 {
	enum x86_abs32_kind kind;
	uint8_t pre;			/* legacy prefixes before the REX/opcode */
	uint8_t rex;			/* the REX prefix, or 0 */
	uint8_t op;			/* offset of the opcode */
	uint8_t mlen;			/* opcode bytes (TABLE) */
	uint8_t reg;			/* MOV: the destination; TABLE: the ModRM reg field (with REX.R) */
	uint8_t index;			/* TABLE: the index register (with REX.X) */
};

/*
 * Classify the instruction ins (len bytes, decoded as in) whose 4-byte
 * field at offset field holds a 32-bit absolute address; X86_ABS32_NONE
 * for a form that cannot be widened (a store of the address to memory, a
 * push, a compare, an instruction using the stack pointer).
 */
enum x86_abs32_kind x86_abs32_form(const uint8_t *ins, const struct x86_insn *in, size_t field, struct x86_abs32 *f);

#endif
