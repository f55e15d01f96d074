/* SPDX-License-Identifier: MIT */
/*
 * Return-address landing pads: how the engine waits for a thread to leave
 * a function being replaced without a trap flag or a breakpoint
 * (docs/state-record.md, "Landing pads").
 *
 * With all threads stopped, the return address of the outermost frame of a
 * thread that is inside an affected function is rewritten to point at a
 * pad: a few instructions in a small mapping of the process, which count
 * the pad as hit, make one harmless system call (getpid) and jump to the
 * original return address.  The engine keeps that thread traced and resumed
 * with PTRACE_SYSCALL, so the pad's system call stops it the moment the
 * frame has returned: the engine then moves it on to the original return
 * address, stops the others, checks and commits.  A patcher that dies at
 * any instant leaves threads whose redirected frames return through the
 * pad to exactly where they would have returned (the kernel forgets the
 * system-call stops of a dead tracer).
 *
 * The mapping (HP_PADS_SIZE bytes, a memfd named HP_PADS_NAME) is made the
 * first time a thread has to be waited for and stays for the life of the
 * process: a frame may return into it at any later time.
 *   page 0 (r-x): HP_PADS_N pads of HP_PAD_STRIDE bytes
 *   page 1 (rw-): "HPPADS01", then per pad { orig, hits, slot, state, tid }
 * A pad, entered by `ret` with %rsp where a plain return would leave it:
 *   +0  lock incq hits(%rip)
 *   +8  mov %rax,-8(%rsp); mov %rcx,-16(%rsp); mov %r11,-24(%rsp)
 *   +23 mov $SYS_getpid,%eax
 *   +28 syscall
 *   +30 mov -8(%rsp),%rax; mov -16(%rsp),%rcx; mov -24(%rsp),%r11
 *   +45 jmp *orig(%rip)
 * Below %rsp at a return is the returned function's dead frame (and the
 * signal frames the kernel builds skip 128 bytes), so the three saves are
 * safe; every register but the flags is as a plain return leaves it.
 */
#ifndef HP_LIB_PADS_H
#define HP_LIB_PADS_H

#include "lib/process/ptrace.h"
#include "lib/process/proc.h"

#define HP_PADS_NAME "hotpatch-pads"
#define HP_PADS_SIZE 8192u
#define HP_PADS_PAGE 4096u
#define HP_PAD_STRIDE 64u
#define HP_PADS_N 64u
#define HP_PAD_SAVED 23u		/* from here rax/rcx/r11 are in the red zone ... */
#define HP_PAD_SYSCALL_END 30u		/* (where the system call's stops report rip) */
#define HP_PAD_RESTORED 45u		/* ... until here */
#define HP_PAD_CODE_LEN 51u
#define HP_PADS_MAGIC "HPPADS01"
#define HP_PADS_DATA_OFF 64u		/* first slot in the data page */

enum hp_pad_state { HP_PAD_FREE = 0, HP_PAD_ARMED = 1 };

/* One pad's data, in the data page. */
struct hp_pad_slot {
	uint64_t orig;			/* the return address it replaced */
	uint64_t hits;			/* incremented by the pad */
	uint64_t slot;			/* the stack word redirected to it */
	uint32_t state;			/* enum hp_pad_state */
	uint32_t tid;
};

/* The pads of one process, as last read. */
struct hp_pads {
	uint64_t base;			/* pad 0; the data page is at base + HP_PADS_PAGE; 0: none yet */
	struct hp_pad_slot slot[HP_PADS_N];
	bool mine[HP_PADS_N];		/* armed by this operation */
};

/* The code of pad k of a mapping at base (HP_PAD_STRIDE bytes, the unused tail filled with nops). */
void hp_pad_encode(uint8_t *out, uint64_t base, unsigned k);

/* Find the pads of a process by its maps (1 found, 0 none); p->base is 0 when none. */
int hp_pads_find(int memfd, const struct hp_maps *maps, struct hp_pads *p);

/*
 * Make the pads mapping with a borrowed thread (memfd_create, mmap, write,
 * mprotect, close).  The magic is written last: a mapping without it (a
 * patcher killed while making it) is never used.
 */
int hp_pads_create(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, struct hp_pads *p);

/* Read the data page again. */
int hp_pads_refresh(int memfd, struct hp_pads *p);

static inline bool hp_pads_contains(const struct hp_pads *p, uint64_t a)
{
	return p->base && a >= p->base && a < p->base + HP_PADS_PAGE;
}

/* The address a frame returns to when its return address is v (v itself unless v is an armed pad). */
uint64_t hp_pads_translate(const struct hp_pads *p, uint64_t v);

/* Pad k's entry address. */
static inline uint64_t hp_pad_addr(const struct hp_pads *p, unsigned k)
{
	return p->base + (uint64_t)k * HP_PAD_STRIDE;
}

/* A free pad (never armed, or armed and hit since) not marked in taken[HP_PADS_N], or -ENOSPC. */
int hp_pads_alloc(const struct hp_pads *p, const bool *taken);

/* Arm pad k for the frame whose return address (orig) is at slot; then the caller writes the slot. */
int hp_pads_arm(int memfd, struct hp_pads *p, unsigned k, uint64_t slot, uint64_t orig, pid_t tid);
int hp_pads_disarm(int memfd, struct hp_pads *p, unsigned k);

/* Is a stopped thread with these registers at the system-call stop of a pad (1), and which? */
bool hp_pads_at_syscall(const struct hp_pads *p, const struct user_regs_struct *r, unsigned *ret_k);

/*
 * Move every stopped thread of g whose pc is inside a pad to where the pad
 * takes it (the original return address, with its registers), and disarm
 * that pad: the stack check then sees the thread's own state.  Returns how
 * many threads moved.
 */
int hp_pads_settle(struct hp_ctx *ctx, struct hp_threads *g, int memfd, struct hp_pads *p);

struct hp_stack_checker;
struct hp_range;

/*
 * With g stopped and some thread busy in ranges: redirect the outermost
 * affected frame of every busy thread to a pad (a frame redirected earlier,
 * by us or by a patcher that died, keeps its pad) and mark those threads
 * hold.  All or nothing: when one busy thread's return cannot be found
 * (why says which and why), nothing is written and 0 is returned.
 * Returns how many threads are held, -ENOENT when the process has no pads
 * yet (hp_pads_create), negative on error.  *ret_new: frames redirected now.
 */
int hp_pads_redirect(struct hp_ctx *ctx, int memfd, struct hp_stack_checker *sc, struct hp_pads *p,
		     struct hp_threads *g, const struct hp_range *ranges, size_t nranges, unsigned *ret_new,
		     char *why, size_t why_size);

/*
 * With g stopped again: put back the original return address of every
 * frame this operation redirected whose pad was not hit (the stack word
 * must still hold the pad), and disarm those pads.  Returns how many.
 */
int hp_pads_restore(struct hp_ctx *ctx, int memfd, struct hp_pads *p);

/*
 * Does the module carry C++ exception tables (.gcc_except_table)?  An
 * exception thrown through a redirected frame would meet a return address
 * without unwind information (the pad) and end the process in
 * std::terminate, so the engine does not redirect frames of such modules.
 */
struct hp_elf;
bool hp_pads_cxx_module(const struct hp_elf *e);

/*
 * Shadow stacks (CET) would refuse the return into a pad: true when the
 * process has them enabled.
 */
bool hp_pads_shadow_stack(pid_t pid);

#endif
