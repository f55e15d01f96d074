/* SPDX-License-Identifier: MIT */
/*
 * The stack check's decisions (src/lib/process/stack.c) on fixtures: the
 * "threads" are register sets made up here, their stacks are a buffer in
 * this process, and the checker reads them through /proc/self/mem like it
 * reads a stopped target's.  No process is stopped and nothing is traced.
 *
 *   pc inside a range                      -> busy, on top, no scan or unwind
 *   threads not stopped, or gone           -> not looked at
 *   no stack word in a range               -> clear, scanned, not unwound
 *   a stale word, unwind reaches the end   -> clear (the unwind removed the false alarm)
 *   a live return address into a range     -> busy, not on top
 *   a candidate the unwind cannot follow   -> busy, unwind_failed
 *
 * Every case is decided twice, with the stacks read into a fresh buffer and
 * into the room hp_stack_checker_reserve made before "the stop": the same
 * answer both ways.  hp_touch_for_kernel leaves the bytes it touches as
 * they were.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/process/stack.h"
#include "tap.h"

/* The process entry point: its CFI marks the return address undefined, so an unwind ends there cleanly. */
extern char _start[];

/* A function under replacement (its body is never run). */
__attribute__((noinline, used)) int victim(int x);
__attribute__((noinline, used)) int victim(int x)
{
	return x * 3 + 1;
}

/* A function whose entry a "thread" is stopped at: CFA = rsp + 8, return address at [rsp]. */
__attribute__((noinline, used)) int caller_fn(int x);
__attribute__((noinline, used)) int caller_fn(int x)
{
	return victim(x) + 1;
}

#define STACK_WORDS 512

struct fixture {
	struct hp_ctx *ctx;
	struct hp_process proc;
	uint64_t *stack;		/* the fake stack: a mapping of its own */
	struct hp_thread t[3];
	struct hp_threads g;
	struct hp_range range;
};

/* Why: every case starts from the same threads: stopped, pc at _start, sp at the fake stack's top. */
static void reset(struct fixture *f)
{
	size_t i;

	memset(f->stack, 0, STACK_WORDS * 8);
	memset(f->t, 0, sizeof(f->t));
	for (i = 0; i < 3; i++) {
		f->t[i].tid = getpid();
		f->t[i].stopped = true;
		f->t[i].regs.rip = (uint64_t)(uintptr_t)_start + 4;
		f->t[i].regs.rsp = (uint64_t)(uintptr_t)&f->stack[STACK_WORDS - 64];
	}
	memset(&f->g, 0, sizeof(f->g));
	f->g.pid = getpid();
	f->g.v = f->t;
	f->g.n = 1;
}

/* Why: each case gets a fresh checker, so its counters say what that case cost. */
static int check_once(struct fixture *f, unsigned reserve, struct hp_busy *busy, unsigned *scanned,
		      unsigned *unwound)
{
	struct hp_stack_checker *sc;
	int r;

	if (hp_stack_checker_new(f->ctx, &f->proc, &sc) < 0)
		return -1000;
	if (reserve)
		hp_stack_checker_reserve(sc, reserve);
	r = hp_stack_check(sc, &f->g, &f->range, 1, busy);
	hp_stack_checker_stats(sc, scanned, unwound);
	hp_stack_checker_free(sc);
	return r;
}

static unsigned disagreements;

/* Why: the reserved buffer must change nothing but where the stacks are copied. */
static int check(struct fixture *f, struct hp_busy *busy, unsigned *scanned, unsigned *unwound)
{
	struct hp_busy b2;
	unsigned s2, u2;
	int r = check_once(f, 0, busy, scanned, unwound);
	int r2 = check_once(f, 4, &b2, &s2, &u2);

	if (r != r2 || s2 != *scanned || u2 != *unwound || b2.on_top != busy->on_top || b2.pc != busy->pc ||
	    b2.unwind_failed != busy->unwind_failed)
		disagreements++;
	return r;
}

int main(void)
{
	struct fixture f;
	struct hp_busy busy;
	unsigned scanned, unwound;
	uint64_t lo = (uint64_t)(uintptr_t)victim;
	uint64_t *sp;
	int r;

	memset(&f, 0, sizeof(f));
	f.stack = mmap(NULL, STACK_WORDS * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.stack == MAP_FAILED || hp_ctx_new(&f.ctx) < 0)
		return 1;
	/* opened after the mapping exists, so the checker's maps hold the fake stack */
	if (hp_process_open(f.ctx, getpid(), &f.proc) < 0) {
		printf("1..0 # SKIP cannot open this process: %s\n", hp_ctx_errmsg(f.ctx));
		return 0;
	}
	f.range = (struct hp_range){ lo, lo + 16, "victim (patched function)" };

	reset(&f);
	f.t[0].regs.rip = lo + 3;
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 1, "pc inside a range: busy");
	tap_ok(busy.on_top && busy.pc == lo + 3 && busy.range == &f.range && busy.tid == getpid() && !busy.unwind_failed,
	       "pc inside a range: on top, with its pc and range");
	tap_ok(scanned == 0 && unwound == 0, "pc inside a range: decided without a scan (scanned %u, unwound %u)",
	       scanned, unwound);

	reset(&f);
	f.g.n = 3;
	f.t[0].stopped = false;
	f.t[0].regs.rip = lo;
	f.t[1].gone = true;
	f.t[1].regs.rip = lo;
	f.t[2].stopped = false;
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 0, "threads not stopped or gone are not looked at");
	tap_is_int(scanned, 0, "... nor scanned");

	reset(&f);
	sp = &f.stack[STACK_WORDS - 64];
	sp[0] = lo - 1;		/* just below the range */
	sp[3] = lo + 17;	/* just above hi: not even a return address into it */
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 0, "no stack word in a range: clear");
	tap_ok(scanned == 1 && unwound == 0, "no candidate: scanned, not unwound (scanned %u, unwound %u)", scanned,
	       unwound);

	reset(&f);
	sp = &f.stack[STACK_WORDS - 64];
	sp[-4] = lo + 5;	/* below sp: a dead word, outside the live stack */
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 0, "a word below the stack pointer is not scanned");

	reset(&f);
	sp = &f.stack[STACK_WORDS - 64];
	sp[7] = lo + 5;		/* stale: an old call's return address left on the stack */
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 0, "a stale word the unwind proves dead: clear");
	tap_ok(unwound == 1, "the stale candidate was unwound (unwound %u)", unwound);

	reset(&f);
	sp = &f.stack[STACK_WORDS - 64];
	f.t[0].regs.rip = (uint64_t)(uintptr_t)caller_fn;
	sp[0] = lo + 16;	/* the return address of a call that ends the range: hi itself counts */
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 1, "a live return address into the range: busy");
	tap_ok(!busy.on_top && !busy.unwind_failed && busy.pc == lo + 16 && busy.range == &f.range,
	       "live return address: not on top, found by the unwind (on_top %d, failed %d, pc %#llx)", busy.on_top,
	       busy.unwind_failed, (unsigned long long)busy.pc);

	reset(&f);
	sp = &f.stack[STACK_WORDS - 64];
	f.t[0].regs.rip = (uint64_t)(uintptr_t)&f.stack[4];	/* no module, no CFI: the unwind cannot go on */
	sp[9] = lo + 8;
	r = check(&f, &busy, &scanned, &unwound);
	tap_is_int(r, 1, "a candidate the unwind cannot prove stale: busy");
	tap_ok(busy.unwind_failed && busy.pc == lo + 8 && busy.range == &f.range,
	       "unprovable candidate: unwind_failed, with the candidate word as pc");

	tap_is_int((int)disagreements, 0, "with a reserved buffer, every case is decided the same");

	{
		static uint8_t pat[3 * 4096 + 123];
		size_t i, bad = 0;

		for (i = 0; i < sizeof(pat); i++)
			pat[i] = (uint8_t)(i * 7 + 3);
		hp_touch_for_kernel(pat + 17, sizeof(pat) - 40);	/* unaligned, over page boundaries */
		hp_touch_for_kernel(NULL, 10);
		hp_touch_for_kernel(pat, 0);
		for (i = 0; i < sizeof(pat); i++)
			bad += pat[i] != (uint8_t)(i * 7 + 3);
		tap_is_int((int)bad, 0, "hp_touch_for_kernel leaves the bytes as they were");
	}

	hp_process_close(&f.proc);
	hp_ctx_free(f.ctx);
	munmap(f.stack, STACK_WORDS * 8);
	tap_done();
	return tap_failed != 0;
}
