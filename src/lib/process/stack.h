/* SPDX-License-Identifier: MIT */
/* Is any stopped thread executing, or about to return into, an affected function? */
#ifndef HP_LIB_STACK_H
#define HP_LIB_STACK_H

#include "lib/process/pads.h"
#include "lib/process/ptrace.h"
#include "lib/process/resolve.h"

struct hp_range {
	uint64_t lo, hi;		/* [lo, hi) runtime addresses */
	const char *what;		/* "parse_header (patched function)" */
};

struct hp_busy {
	pid_t tid;
	uint64_t pc;			/* the frame's pc (or return address) */
	const struct hp_range *range;
	bool on_top;			/* the thread is executing it (not just returning into it) */
	bool unwind_failed;		/* could not prove the candidate was stale */
};

struct hp_stack_checker;

int hp_stack_checker_new(struct hp_ctx *ctx, struct hp_process *proc, struct hp_stack_checker **ret);
/*
 * Before the stop: room for the live stacks of about nthreads threads,
 * touched by this process and by the kernel (hp_touch_before_stop).  Why
 * (issue 15): hp_stack_check copies the stacks into a buffer while every
 * thread is stopped, and a page of it used for the first time costs a page
 * fault there, and on the benchmarks' virtual machine ~8 us more from each
 * side (64 threads: the check took 1.0-1.2 ms with a fresh buffer, ~0.3 ms
 * with this one).  Best effort: without it (or when the stacks outgrow it)
 * the check allocates as before.
 */
void hp_stack_checker_reserve(struct hp_stack_checker *sc, unsigned nthreads);
void hp_stack_checker_free(struct hp_stack_checker *sc);

/*
 * Check every stopped thread of g against ranges.  Returns 0 if no thread
 * is inside, 1 if one is (busy filled in), negative on error.
 *
 * First a conservative scan: a thread whose pc and whose live stack words
 * (from its stack pointer to the end of that stack) hold no address in a
 * range cannot be inside one.  Only a thread with a candidate word is
 * unwound with DWARF CFI (libdw) to tell a live return address from a
 * stale one; if that unwind cannot reach the outermost frame, the thread
 * counts as busy.
 */
int hp_stack_check(struct hp_stack_checker *sc, struct hp_threads *g, const struct hp_range *ranges,
		   size_t nranges, struct hp_busy *busy);

/*
 * Landing pads (pads.h) of the process: a return address that is an armed
 * pad is read as the address the pad returns to, so unwinding sees through
 * redirected frames.  p must stay valid while the checker is used.
 */
void hp_stack_checker_set_pads(struct hp_stack_checker *sc, const struct hp_pads *p);

/* Where the outermost affected frame of one thread returns (hp_stack_find_returns). */
struct hp_ret_slot {
	uint64_t slot;			/* the stack word holding its return address */
	uint64_t ret;			/* the return address (through a pad: the pad's original) */
	uint64_t frame_pc;		/* the affected frame's pc */
	const struct hp_range *range;
	bool busy;			/* the thread has an affected frame */
	bool found;			/* ... and slot/ret are known */
	char why[96];			/* busy but not found: why not */
};

/*
 * For every stopped thread of g (out has g->n entries): does it have a
 * frame in ranges, and where is the return address of the outermost such
 * frame (CFA - 8, checked to hold the caller's pc or an armed pad)?
 * Returns how many threads are busy, negative on error.
 */
int hp_stack_find_returns(struct hp_stack_checker *sc, struct hp_threads *g, const struct hp_range *ranges,
			  size_t nranges, struct hp_ret_slot *out);

/* Counters for benchmarks and tests: threads scanned, threads unwound. */
void hp_stack_checker_stats(const struct hp_stack_checker *sc, unsigned *scanned, unsigned *unwound);

#endif
