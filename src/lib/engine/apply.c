/* SPDX-License-Identifier: MIT */
/*
 * Applying and reverting patches in a running process.
 *
 * The order of work keeps the pause short: everything that can happen
 * while the target runs does — reading its ELF and symbols, checking the
 * bytes of every replaced function, choosing an address, linking the
 * payload, mapping it (one thread briefly borrowed for a few syscalls) and
 * filling it.  Only the consistency check and the entry writes happen with
 * all threads stopped.
 *
 * Failure before the entry writes unmaps what was mapped, so the process
 * is left exactly as it was.  The state record is written in three steps
 * (prepared → committing → active) so a patcher killed at any point leaves
 * a record that says what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "lib/process/cache.h"
#include "lib/process/cfi.h"
#include "lib/engine/engine.h"
#include "lib/engine/image.h"
#include "lib/engine/lock.h"
#include "lib/engine/op.h"
#include "lib/process/pads.h"
#include "lib/process/ptrace.h"
#include "lib/engine/region.h"
#include "lib/process/resolve.h"
#include "lib/process/stack.h"
#include "lib/process/stub.h"
#include "lib/engine/srec.h"
#include "lib/process/tls.h"


#define DEFAULT_TIMEOUT_MS 10000u
#define STOP_TIMEOUT_MS 2000u
#define PADS_AFTER 8u		/* attempts before busy frames are waited for through landing pads */

static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };


/*
 * Why: an operation that failed because the process executed another
 * program (or exited) meanwhile fails on whatever it touched first -- a
 * read, a write, a register -- and that message would mislead.  The memory
 * file reaches only the program it was opened on, so a failed read of a
 * mapping that program had means it is gone.
 */
static bool program_gone(struct op *op)
{
	size_t i;
	uint8_t b;

	if (op->proc.memfd < 0)
		return false;
	for (i = 0; i < op->proc.maps.n; i++) {
		const struct hp_map *m = &op->proc.maps.v[i];

		if (m->perms[0] == 'r' && m->path && m->path[0] == '/')
			return hp_mem_read(op->proc.memfd, m->start, &b, 1) < 0;
	}
	return false;
}

/* Why: say "exited" or "executed another program" rather than the error it caused. */
static int explain_gone(struct op *op, int r)
{
	char st;

	if (r >= 0 || r == -HP_E_EXITED || !program_gone(op))
		return r;
	st = hp_proc_thread_state(op->pid, op->pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return hp_err(op->ctx, -HP_E_EXITED, "pid %d exited during the operation", op->pid);
	return hp_err(op->ctx, -HP_E_EXITED, "pid %d executed another program during the operation", op->pid);
}

static void op_release(struct op *op)
{
	hp_plock_release(&op->lock);
	hp_stack_checker_free(op->sc);
	hp_srec_free_all(op->recs, op->nrecs);
	hp_process_close(&op->proc);
	hp_cache_free(op->own_cache);
	op->own_cache = NULL;
}


/* Run an IFUNC resolver on a borrowed thread (for imports nobody in the process bound yet). */
static int call_resolver(void *ud, uint64_t fn, uint64_t *ret)
{
	struct op *op = ud;
	struct hp_inject inj;
	const long args[6] = { 0 };
	long v = 0;
	int r, r2;

	r = op_hijack_begin(op, &inj, NULL, 0, NULL);
	if (r < 0)
		return r;
	r = hp_inject_call(op->ctx, &inj, op->proc.memfd, fn, args, &v);
	r2 = op_hijack_end(op, &inj);
	if (r < 0)
		return r;
	if (r2 < 0)
		return r2;
	*ret = (uint64_t)v;
	return 0;
}

/*
 * Open the process, or take over one the caller already opened (adopt, then
 * left closed).  First the per-process lock (lock.h), waiting up to
 * lock_wait_ms for another patcher: its state records are read after it.
 */
static int op_open(struct hp_ctx *ctx, pid_t pid, struct hp_cache *cache, struct hp_process *adopt,
		   unsigned lock_wait_ms, struct op *op)
{
	int r;

	memset(op, 0, sizeof(*op));
	op->ctx = ctx;
	op->pid = pid;
	op->proc.memfd = -1;
	op->lock.fd = -1;
	ctx->errmsg[0] = 0;
	if (pid <= 0)
		r = hp_err(ctx, -ESRCH, "pid %d: not a valid process id", pid);
	else
		r = hp_plock_take(ctx, pid, lock_wait_ms, &op->lock);
	if (r < 0) {
		if (adopt)
			hp_process_close(adopt);
		return r;
	}
	if (adopt) {
		op->proc = *adopt;
		memset(adopt, 0, sizeof(*adopt));
		adopt->memfd = -1;
	} else {
		if (!cache) {
			/* One code path: a single operation uses a cache of its own. */
			r = hp_cache_new(&op->own_cache);
			if (r < 0)
				return r;
			cache = op->own_cache;
		}
		r = hp_process_open_cached(ctx, pid, cache, &op->proc);
		if (r < 0)
			return r;
	}
	op->proc.call_resolver = call_resolver;
	op->proc.call_ud = op;
	r = hp_srec_find_all(ctx, pid, op->proc.memfd, &op->proc.maps, &op->recs, &op->nrecs);
	if (r == 0)
		r = hp_srec_check(ctx, &op->proc, op->recs, op->nrecs);
	if (r < 0)
		return hp_err(ctx, r, "pid %d: cannot read patch state: %s", pid, strerror(-r));
	r = hp_stack_checker_new(ctx, &op->proc, &op->sc);
	if (r < 0)
		return r;
	/* Pads an earlier operation made: frames may still return through them. */
	hp_pads_find(op->proc.memfd, &op->proc.maps, &op->pads);
	hp_stack_checker_set_pads(op->sc, &op->pads);
	return 0;
}

/* Import resolution for the linker. */
struct link_ud {
	struct op *op;
	struct hp_loaded *target;
	const struct hp_manifest *man;
	const uint64_t *new_addr;	/* per manifest function */
};

static int link_import(void *ud, const char *name, bool for_call, uint64_t *ret)
{
	struct link_ud *lu = ud;

	return hp_resolve_import(lu->op->ctx, &lu->op->proc, lu->target, name, for_call, ret);
}

/* Where the target's TLS block is, for patch code that uses its thread-locals. */
static int link_tls(void *ud, struct hp_tls_block *ret)
{
	struct link_ud *lu = ud;

	return hp_tls_block(lu->op->ctx, &lu->op->proc, lu->target, ret);
}

static uint64_t link_redirect(void *ud, uint64_t addr)
{
	struct link_ud *lu = ud;
	size_t i;

	for (i = 0; i < lu->man->nfuncs; i++)
		if (lu->target->bias + lu->man->funcs[i].addr == addr)
			return lu->new_addr[i];
	return 0;
}

/*
 * Where the jump goes: after an endbr64, which stays so indirect calls
 * still land on it.  A function too small for it (and no padding after)
 * takes a 2-byte short jump at the entry into 5 bytes of padding before
 * it, which hold the 5-byte jump (issue 16): the site then starts 5 bytes
 * before the entry and is *ret_len (7, or 11 with an endbr64) bytes long.
 */
static int plan_site(struct op *op, const struct hp_elf *elf, uint64_t link_addr, uint64_t size,
		     const uint8_t *bytes, int64_t *ret_site_off, uint8_t *ret_len, const char *name)
{
	uint64_t off = (size >= 4 && !memcmp(bytes, endbr64, 4)) ? 4 : 0;
	uint64_t need = off + 5;

	*ret_len = 5;
	if (need <= size) {
		*ret_site_off = (int64_t)off;
		return 0;
	}
	/* A tiny function can still take the jump over the alignment padding that follows it. */
	if (hp_elf_padding_after(elf, link_addr + size, need - size)) {
		*ret_site_off = (int64_t)off;
		return 0;
	}
	if (off + 2 <= size && hp_elf_padding_before(elf, link_addr, 5)) {
		*ret_site_off = -5;
		*ret_len = (uint8_t)(5 + off + 2);
		return 0;
	}
	return hp_err(op->ctx, -HP_E_TOOSMALL,
		      "function %s is %" PRIu64 " bytes; redirecting it needs %" PRIu64 ", and neither after it nor "
		      "in the 5 bytes before it is there alignment padding (patch its callers instead)",
		      name, size, need);
}

/* The bytes of a site: the 5-byte jump, then (a short-jump site) the kept bytes and `jmp site`. */
static void encode_site(uint8_t *out, const uint8_t *orig, uint8_t len, uint64_t site, uint64_t dest)
{
	int32_t rel = (int32_t)((int64_t)dest - (int64_t)(site + 5));

	out[0] = 0xe9;
	memcpy(out + 1, &rel, 4);
	if (len > 5) {
		memcpy(out + 5, orig + 5, len - 7u);
		out[len - 2] = 0xeb;
		out[len - 1] = (uint8_t)(-(int)len);
	}
}

static void describe_busy(struct op *op, const struct hp_busy *b, char *buf, size_t size)
{
	char where[160];

	hp_process_symbolize(op->ctx, &op->proc, b->pc, where, sizeof(where));
	if (b->unwind_failed)
		snprintf(buf, size, "thread %d may return into %s (stack holds %#" PRIx64 "; unwinding could not "
				    "prove it stale)", b->tid, b->range ? b->range->what : where, b->pc);
	else if (b->on_top)
		snprintf(buf, size, "thread %d is executing %s at %s", b->tid, b->range ? b->range->what : "?",
			 where);
	else
		snprintf(buf, size, "thread %d has %s on its stack (return address %s)", b->tid,
			 b->range ? b->range->what : "?", where);
}

/* One write of the commit: where, expected current bytes, new bytes. */
struct entry_write {
	uint64_t site;
	uint8_t len;
	uint8_t expect[HP_SITE_MAX];
	uint8_t alt_expect[HP_SITE_MAX];	/* also acceptable (already in the new state) */
	uint8_t bytes[HP_SITE_MAX];
	const char *name;
};

/*
 * Stop the world until no thread is in ranges, then run commit() with all
 * threads stopped.  Retries with backoff until the deadline.
 */
typedef int (*commit_fn)(struct op *op, void *arg);


/* Make the landing pads (pads.h) with a borrowed thread, the first time a frame must be waited for. */
static int make_pads(struct op *op)
{
	struct hp_inject inj;
	int r, r2;

	r = op_hijack_begin(op, &inj, NULL, 0, NULL);
	if (r < 0)
		return r;
	r = hp_pads_create(op->ctx, &inj, op->proc.memfd, &op->pads);
	r2 = op_hijack_end(op, &inj);
	return r < 0 ? r : r2;
}

static bool at_pad(void *ud, const struct user_regs_struct *regs)
{
	struct op *op = ud;

	return hp_pads_at_syscall(&op->pads, regs, NULL);
}

/*
 * The world is stopped and some thread is busy: redirect the busy frames'
 * returns to landing pads, release the others, and wait (bounded by
 * deadline) until every redirected frame has returned -- its thread then
 * stands stopped at its pad.  Returns 1 when every held thread arrived or
 * left (g holds them; hp_threads_stop_more stops the rest), 0 when nothing
 * could be redirected (g is still stopped; why_not says why), -EAGAIN when
 * the pads had to be made first (g released), 2 when wait_until passed
 * first and -ETIME when the deadline did (every frame put back, g
 * released; *ret_tid the thread that did not return), other negative
 * errors with g released.
 */
static int wait_for_returns(struct op *op, struct hp_threads *g, const struct hp_range *ranges, size_t nranges,
			    uint64_t deadline, uint64_t wait_until, unsigned *redirected, pid_t *ret_tid, char *why_not,
			    size_t why_size)
{
	static __thread unsigned round;
	unsigned fresh = 0;
	size_t i;
	int r, left;

	if (op->pads_failed)
		return 0;
	if (op->pads_refused) {
		snprintf(why_not, why_size, "returns are not redirected in a module with C++ exception tables");
		return 0;
	}
	r = hp_pads_redirect(op->ctx, op->proc.memfd, op->sc, &op->pads, g, ranges, nranges, &fresh, why_not,
			     why_size);
	if (r == -ENOENT) {
		/* Made with a thread of this stopped world when one is fit, else with one borrowed after. */
		op->world = g;
		r = make_pads(op);
		op->world = NULL;
		hp_threads_detach(op->ctx, g);
		hp_threads_release(g);
		if (r == -ENOENT)
			r = make_pads(op);
		if (r < 0) {
			hp_debug(op->ctx, "pid %d: no landing pads (%s); waiting by retrying", op->pid, op->ctx->errmsg);
			op->pads_failed = true;
		}
		return -EAGAIN;
	}
	if (r <= 0) {
		for (i = 0; i < g->n; i++)
			g->v[i].hold = false;
		if (r < 0) {
			hp_threads_detach(op->ctx, g);
			hp_threads_release(g);
		}
		return r;
	}
	*redirected += fresh;
	hp_threads_release_holding(op->ctx, g);
	hp_test_kill_point("pads", ++round);
	left = hp_threads_wait_held(op->ctx, g, at_pad, op, wait_until);
	if (!left)
		return 1;
	for (i = 0; i < g->n; i++)
		if (g->v[i].hold && !g->v[i].gone && !g->v[i].stopped)
			*ret_tid = g->v[i].tid;
	/* Out of time: stop everyone, put back the returns that were not taken, let go. */
	r = hp_threads_stop_more(op->ctx, g, STOP_TIMEOUT_MS);
	if (r < 0)
		return r;	/* the frames keep returning through their pads: harmless */
	hp_threads_settle(g, op->stub, op->helper);
	hp_pads_settle(op->ctx, g, op->proc.memfd, &op->pads);
	hp_pads_restore(op->ctx, op->proc.memfd, &op->pads);
	hp_threads_detach(op->ctx, g);
	hp_threads_release(g);
	return hp_now_ns() < deadline ? 2 : -ETIME;
}

/*
 * prepare (may be NULL) runs once, in the first stop, before the check:
 * with op->world set, so that what it injects runs on a thread of the
 * stopped world (one stop of the process for the whole operation, issue
 * 15).  When no thread of the world is fit (-ENOENT), the world is let go
 * and prepare runs with a thread borrowed on its own.  commit also runs
 * with op->world set.
 */
static int stop_the_world(struct op *op, const struct hp_range *ranges, size_t nranges, unsigned timeout_ms,
			  commit_fn prepare, commit_fn commit, void *arg, struct hp_apply_result *res)
{
	uint64_t start = hp_now_ns(), deadline = start + (uint64_t)timeout_ms * 1000000ull;
	unsigned attempt = 0, backoff_us = 500, redirected = 0;
	struct hp_threads g;
	bool holding = false, prepared = !prepare;
	char why[512] = "", why_not[256] = "";
	int r;

	/* A thread found in the injection stub is moved on (ptrace.h): place it before the stop. */
	if (!op->stub && op_find_stub(op) < 0)
		hp_debug(op->ctx, "pid %d: %s", op->pid, op->ctx->errmsg);
	hp_stack_checker_reserve(op->sc, op->nthreads_hint);
	for (;;) {
		struct hp_busy busy;
		uint64_t t_end, t_stopped, t_checked, t_first, t_committed;
		pid_t late = 0;
		bool released = false;

		attempt++;
		r = holding ? hp_threads_stop_more(op->ctx, &g, STOP_TIMEOUT_MS)
			    : hp_threads_stop(op->ctx, op->pid, STOP_TIMEOUT_MS, &g);
		holding = false;
		if (r < 0)
			return r;
		t_stopped = hp_now_ns();
		t_first = g.stop_start_ns;
		hp_threads_settle(&g, op->stub, op->helper);
		if (op->pads.base && hp_pads_refresh(op->proc.memfd, &op->pads) == 0)
			hp_pads_settle(op->ctx, &g, op->proc.memfd, &op->pads);
		if (!prepared) {
			op->world = &g;
			r = prepare(op, arg);
			op->world = NULL;
			if (r == -ENOENT) {
				hp_debug(op->ctx, "pid %d: no stopped thread fit to borrow; borrowing one apart", op->pid);
				hp_threads_detach(op->ctx, &g);
				hp_threads_release(&g);
				r = prepare(op, arg);
				if (r < 0)
					return r;
				prepared = true;
				continue;
			}
			if (r < 0) {
				hp_threads_detach(op->ctx, &g);
				hp_threads_release(&g);
				return r;
			}
			prepared = true;
		}
		r = hp_stack_check(op->sc, &g, ranges, nranges, &busy);
		t_checked = hp_now_ns();
		if (r == 0) {
			op->world = &g;
			r = commit(op, arg);
			op->world = NULL;
			t_committed = hp_now_ns();
			hp_threads_detach(op->ctx, &g);
			t_end = g.released_ns;
			hp_debug(op->ctx, "pid %d: %zu threads: stop %.0f us, checked in %.0f us, commit %.0f us, "
					  "release %.0f us (%u frames waited for through landing pads)", op->pid, g.n,
				 (t_stopped - g.stop_start_ns) / 1e3, (t_checked - t_stopped) / 1e3,
				 (t_committed - t_checked) / 1e3, (t_end - t_committed) / 1e3, redirected);
			if (res) {
				res->attempts = attempt;
				res->nthreads = (unsigned)g.n;
				res->pause_ns = t_end - g.stop_start_ns;
				res->stepped = redirected;
			}
			hp_threads_release(&g);
			return r;
		}
		if (r > 0) {
			describe_busy(op, &busy, why, sizeof(why));
			hp_debug(op->ctx, "pid %d: attempt %u: %s (stop %.0f us, check %.0f us)", op->pid, attempt, why,
				 (t_stopped - t_first) / 1e3, (t_checked - t_stopped) / 1e3);
			/*
			 * A short function is usually left by the next attempt; one that stays busy for
			 * PADS_AFTER attempts (~60 ms of backoff) is waited for through landing pads (pads.h):
			 * a thread held at its pad stays stopped until the others arrive.
			 */
			/* One round of waiting takes at most a quarter of the timeout: then retry plainly. */
			r = attempt < PADS_AFTER ? 0 : wait_for_returns(op, &g, ranges, nranges, deadline,
									t_checked + (uint64_t)timeout_ms * 250000ull,
									&redirected, &late, why_not, sizeof(why_not));
			if (r == 1) {
				holding = true;
				continue;
			}
			if (r == -EAGAIN)
				continue;
			if (r == 2) {
				snprintf(why_not, sizeof(why_not), "thread %d did not return through its landing pad in "
					 "%.1f s", late, timeout_ms / 4000.0);
				released = true;
			}
			if (r == -ETIME)
				return hp_err(op->ctx, -HP_E_BUSY, "pid %d: %s; its return was redirected to a landing "
						  "pad and thread %d did not return; retried for %.1f s (%u attempts)",
					      op->pid, why, late, (double)(hp_now_ns() - start) / 1e9, attempt);
			if (r < 0)
				return r;
			if (why_not[0])
				hp_debug(op->ctx, "pid %d: %s", op->pid, why_not);
		}
		if (!released) {
			hp_threads_detach(op->ctx, &g);
			hp_threads_release(&g);
		}
		if (r < 0)
			return r;
		if (hp_now_ns() + (uint64_t)backoff_us * 1000 > deadline)
			break;
		{
			/* jittered exponential backoff: 0.5 ms doubling to 100 ms */
			struct timespec ts;
			unsigned us = backoff_us / 2 + (unsigned)(random() % (backoff_us / 2 + 1));

			ts.tv_sec = us / 1000000;
			ts.tv_nsec = (long)(us % 1000000) * 1000;
			nanosleep(&ts, NULL);
			if (backoff_us < 100000)
				backoff_us *= 2;
		}
	}
	return hp_err(op->ctx, -HP_E_BUSY, "pid %d: %s%s%s; retried for %.1f s (%u attempts)", op->pid, why,
		      why_not[0] ? "; " : "", why_not, (double)(hp_now_ns() - start) / 1e9, attempt);
}

/* ---- apply ---- */

struct apply_job;

struct apply_commit {
	const struct hp_srec_hdr *hdr;		/* the new record, at hdr->self */
	const struct hp_srec *old;		/* level being replaced, or NULL */
	struct entry_write *w;
	size_t nw;
	struct apply_job *job;
	bool old_unmapped;			/* the replaced level was removed in the stop */
};

static int apply_prepare(struct op *op, void *arg);

static int write_entries(struct op *op, struct entry_write *w, size_t nw)
{
	size_t i;
	int r;

	/* All expected bytes are checked before the first write: refuse rather than half-apply. */
	for (i = 0; i < nw; i++) {
		uint8_t cur[HP_SITE_MAX];

		r = hp_mem_read(op->proc.memfd, w[i].site, cur, w[i].len);
		if (r < 0)
			return hp_err(op->ctx, r, "pid %d: cannot read %s: %s", op->pid, w[i].name, strerror(-r));
		if (memcmp(cur, w[i].expect, w[i].len) && memcmp(cur, w[i].alt_expect, w[i].len))
			return hp_err(op->ctx, -HP_E_FOREIGN,
				      "pid %d: the entry of %s was changed by something other than hotpatch", op->pid,
				      w[i].name);
	}
	for (i = 0; i < nw; i++) {
		r = hp_mem_write(op->proc.memfd, w[i].site, w[i].bytes, w[i].len);
		if (r < 0)
			return hp_err(op->ctx, r, "pid %d: cannot write the entry of %s: %s", op->pid, w[i].name,
				      strerror(-r));
		hp_test_kill_point("entry-write", (unsigned)i + 1);
	}
	return 0;
}

static int apply_commit(struct op *op, void *arg)
{
	struct apply_commit *ac = arg;
	uint32_t st = HP_STATE_COMMITTING;
	sigset_t all, old;
	int r;

	/* A polite signal must not split the commit: only SIGKILL can. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = hp_mem_write(op->proc.memfd, ac->hdr->self + offsetof(struct hp_srec_hdr, state), &st, 4);
	if (r < 0)
		hp_err(op->ctx, r, "pid %d: cannot write its patch state: %s", op->pid, strerror(-r));
	else
		r = write_entries(op, ac->w, ac->nw);
	if (r == 0) {
		st = HP_STATE_ACTIVE;
		r = hp_mem_write(op->proc.memfd, ac->hdr->self + offsetof(struct hp_srec_hdr, state), &st, 4);
		if (r == 0 && ac->old)
			r = hp_srec_set_state(op->proc.memfd, ac->old, HP_STATE_SUPERSEDED);
	} else {
		st = HP_STATE_PREPARED;
		hp_mem_write(op->proc.memfd, ac->hdr->self + offsetof(struct hp_srec_hdr, state), &st, 4);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0 && ac->old) {
		/* The replaced level's code is unreachable now (no thread in it, no entry to it): unmap it in this stop. */
		uint64_t a = ac->old->hdr.self, s = ac->old->hdr.region_size;

		ac->old_unmapped = op_unmap_regions(op, &a, &s, 1) == 0;
		op->ctx->errmsg[0] = 0;	/* retried after the stop, where a failure is reported */
	}
	return r;
}

static const struct hp_srec_func *old_func_at(const struct hp_srec *old, uint64_t addr)
{
	size_t i;

	if (!old)
		return NULL;
	for (i = 0; i < old->hdr.nfuncs; i++)
		if (old->funcs[i].func_addr == addr)
			return &old->funcs[i];
	return NULL;
}

/* Check a function's bytes in the process against the manifest hash (undoing an older level's jump). */
static int check_orig_bytes(struct op *op, const struct hp_manifest_func *f, uint64_t rt,
			    const struct hp_srec_func *of, uint8_t *bytes)
{
	uint8_t h[32];
	char want[65], got[65];
	int r = hp_mem_read(op->proc.memfd, rt, bytes, f->size);

	if (r < 0)
		return hp_err(op->ctx, r, "pid %d: cannot read function %s at %#" PRIx64 ": %s", op->pid, f->name, rt,
			      strerror(-r));
	for (size_t j = 0; of && j < of->len; j++)	/* the site may start before or end after it */
		if (of->site + j >= rt && of->site + j < rt + f->size)
			bytes[of->site + j - rt] = of->orig[j];
	hp_sha256(bytes, f->size, h);
	if (memcmp(h, f->sha256, 32))
		return hp_err(op->ctx, -HP_E_ORIGBYTES,
			      "pid %d: function %s at %#" PRIx64 " does not match the patch (sha256 %.12s…, expected "
			      "%.12s…); it was built differently or modified by another tool",
			      op->pid, f->name, rt, hp_hex(h, 32, got), hp_hex(f->sha256, 32, want));
	return 0;
}

/* Explain why the target is not in the process: another build of it may be. */
static int no_target(struct op *op, const struct hp_manifest *m)
{
	char want[2 * HP_BUILD_ID_MAX + 1], have[2 * HP_BUILD_ID_MAX + 1];
	size_t i;

	hp_hex(m->build_id, m->build_id_len, want);
	for (i = 0; i < op->proc.nmods; i++) {
		const char *path = op->proc.mods[i].path, *base = strrchr(path, '/');

		base = base ? base + 1 : path;
		if (!strcmp(base, m->target_name))
			return hp_err(op->ctx, -HP_E_NOTARGET,
				      "pid %d: restart required: it runs build %s of %s%s, the patch is for build %s",
				      op->pid, hp_hex(op->proc.mods[i].build_id, op->proc.mods[i].build_id_len, have),
				      path, op->proc.mods[i].deleted ? " (deleted)" : "", want);
	}
	return hp_err(op->ctx, -HP_E_NOTARGET, "pid %d does not map %s (build-id %s)", op->pid, m->target_name,
		      want);
}

/*
 * Why: the public entry checks the caller's structs once (options of any
 * header version, a versioned result) and keeps the header's promise that
 * the result is written only on success; hp_apply_checked fills it on
 * failure too, for the host sweep's per-process report (engine.h).
 */
int hp_apply(struct hp_ctx *ctx, pid_t pid, const struct hp_patch *patch, const struct hp_apply_opts *opts,
	     struct hp_apply_result *ret_result)
{
	struct hp_apply_opts o;
	struct hp_apply_result res = { .sz = sizeof(res) };
	int r;

	r = HP_OPTS_COPY(ctx, &o, opts);
	if (r >= 0 && ret_result)
		r = hp_result_check(ctx, ret_result, "struct hp_apply_result");
	if (r < 0)
		return r;
	r = hp_apply_checked(ctx, pid, patch, &o, false, NULL, &res);
	if (r >= 0 && ret_result)
		hp_result_copy(ret_result, &res, sizeof(res));
	return r;
}

/*
 * Why: one apply is a pipeline -- verify, prepare (target, records, entries,
 * link, record), commit (map, stop, check, write), finish -- whose steps
 * share these values.  Each step fills its part of the job only when it
 * succeeds; apply_end undoes what a failed one leaves in the process.
 */
struct apply_job {
	struct hp_ctx *ctx;
	pid_t pid;
	const struct hp_patch *patch;
	const struct hp_manifest *m;
	struct hp_apply_opts o;
	struct op op;
	struct hp_loaded *target;		/* the patched module in the process */
	const struct hp_srec *old;		/* the level being replaced, or NULL */
	uint64_t *leftover_addr;		/* regions of interrupted operations, removed before mapping */
	uint64_t *leftover_size;
	size_t nleft;
	struct entry_write *w;			/* the new level's entries, then those only the old one replaced */
	size_t nw;
	struct hp_range *ranges;		/* what no thread may be in at the commit */
	char *range_names;			/* their names, 192 bytes each */
	size_t nranges;
	uint64_t *new_addr;			/* per replaced function: its new body */
	struct hp_image img;			/* linked for base */
	uint64_t base;
	struct hp_srec_hdr *hdr;		/* the state record, in img.buf; hdr->self is its address */
	bool mapped;				/* mapped but not committed: removed on failure */
	struct hp_apply_result res;
};

/* Why: trust before memory: nothing touches the process before the signature verifies. */
static int apply_verify(struct apply_job *job, bool verified)
{
	int r;

	if (verified || (!hp_patch_is_signed(job->patch, NULL) && (job->o.flags & HP_APPLY_ALLOW_UNSIGNED)))
		return 0;
	r = hp_patch_verify(job->ctx, job->patch, job->o.trust_dir, NULL);
	if (r == -HP_E_UNSIGNED)
		hp_err(job->ctx, r, "patch %s is not signed; sign it or pass --allow-unsigned", job->m->id);
	return r < 0 ? r : 0;
}

/*
 * Why: the process, locked against other patchers, with its state records
 * read, and the patch's target found in it by build-id with its symbols
 * loaded (or a reason: another build of it runs).
 */
static int apply_open_target(struct apply_job *job, struct hp_process *proc)
{
	struct hp_loaded *target;
	int r;

	r = op_open(job->ctx, job->pid, job->o.cache, proc, job->o.timeout_ms, &job->op);
	if (r < 0)
		return r;
	target = hp_process_find_build_id(&job->op.proc, job->m->build_id, job->m->build_id_len);
	if (!target)
		return no_target(&job->op, job->m);
	r = hp_loaded_open_full(job->ctx, &job->op.proc, target);
	if (r < 0)
		return r;
	r = hp_elf_load_symbols(job->ctx, target->elf, NULL);
	if (r < 0)
		return r;
	job->op.pads_refused = hp_pads_cxx_module(target->elf);
	job->target = target;
	return 0;
}

/*
 * Why: what is applied already for this target decides what the apply is:
 * refused (this level is applied, a higher one without --allow-downgrade,
 * an interrupted operation to repair first), a level replacement (old), or
 * a first apply; leftovers of interrupted or replaced operations are
 * collected to be removed before mapping.
 */
static int apply_scan_records(struct apply_job *job)
{
	const struct hp_manifest *m = job->m;
	struct op *op = &job->op;
	_cleanup_free_ uint64_t *leftover_addr = NULL;
	_cleanup_free_ uint64_t *leftover_size = NULL;
	const struct hp_srec *old = NULL;
	size_t i, nleft;

	leftover_addr = calloc(op->nrecs + op->proc.maps.n + 1, sizeof(*leftover_addr));
	leftover_size = calloc(op->nrecs + op->proc.maps.n + 1, sizeof(*leftover_size));
	if (!leftover_addr || !leftover_size)
		return -ENOMEM;
	/* Mapped by a patcher killed before it wrote there: removed with the other leftovers. */
	nleft = hp_srec_find_unwritten(op->proc.memfd, &op->proc.maps, leftover_addr, leftover_size,
				       op->proc.maps.n);
	for (i = 0; i < op->nrecs; i++) {
		const struct hp_srec *rec = &op->recs[i];

		if (rec->hdr.build_id_len != m->build_id_len || memcmp(rec->hdr.build_id, m->build_id, m->build_id_len))
			continue;
		if (rec->trust == HP_RECORD_FORGED)
			continue;	/* not ours: never acted on (hp_srec_check warned) */
		if (!rec->sites_checked)
			return hp_err(job->ctx, -HP_E_STATE, "pid %d: the record of patch %s cannot be checked against "
							     "%s: %s", job->pid, rec->hdr.patch_id,
				      job->target->mod->path, rec->why);
		switch (rec->hdr.state) {
		case HP_STATE_ACTIVE:
			if (!strcmp(rec->hdr.patch_id, m->id) && rec->hdr.level == m->level)
				return hp_err(job->ctx, -HP_E_APPLIED, "pid %d: patch %s (level %u) is already applied",
					      job->pid, m->id, m->level);
			if (m->level <= rec->hdr.level && !(job->o.flags & HP_APPLY_ALLOW_DOWNGRADE))
				return hp_err(job->ctx, -HP_E_DOWNGRADE,
					      "pid %d: level %u of %s is applied (patch %s); refusing level %u without "
					      "--allow-downgrade", job->pid, rec->hdr.level, m->target_name,
					      rec->hdr.patch_id, m->level);
			old = rec;
			break;
		case HP_STATE_PREPARED:
		case HP_STATE_SUPERSEDED:
			/* Unreferenced leftovers of an interrupted or replaced operation: remove them. */
			leftover_addr[nleft] = rec->hdr.self;
			leftover_size[nleft++] = rec->hdr.region_size;
			break;
		default:
			return hp_err(job->ctx, -HP_E_STATE,
				      "pid %d: patch %s was interrupted while %s; run 'hotpatch revert -p %d %s' first",
				      job->pid, rec->hdr.patch_id,
				      rec->hdr.state == HP_STATE_COMMITTING ? "being applied" : "being reverted", job->pid,
				      rec->hdr.patch_id);
		}
	}
	job->old = old;
	job->leftover_addr = TAKE_PTR(leftover_addr);
	job->leftover_size = TAKE_PTR(leftover_size);
	job->nleft = nleft;
	return 0;
}

/*
 * Why: one replaced function, checked while the process runs: a jump only
 * at a function entry, its bytes what the patch expects (an older level's
 * jump undone), and where its jump goes with the bytes the site holds now.
 * *ret is written only on success; its bytes are encoded after the link.
 */
static int plan_new_function(struct apply_job *job, const struct hp_manifest_func *f, struct entry_write *ret)
{
	struct op *op = &job->op;
	uint64_t rt = job->target->bias + f->addr;
	const struct hp_srec_func *of = old_func_at(job->old, rt);
	_cleanup_free_ uint8_t *bytes = malloc(f->size);
	struct entry_write ew = { .name = f->name };
	int64_t site_off = 0;
	uint8_t site_len = 5;
	char why[256];
	int r;

	if (!bytes)
		return -ENOMEM;
	/* A jump only at a function entry: symbol table, else (stripped) the CFI's FDE starts. */
	if (hp_function_entry_check(job->target->elf, f->name, f->addr, why, sizeof(why)) < 0)
		return hp_err(job->ctx, -HP_E_SYMBOL, "pid %d: %s", job->pid, why);
	r = check_orig_bytes(op, f, rt, of, bytes);
	if (r < 0)
		return r;
	r = plan_site(op, job->target->elf, f->addr, f->size, bytes, &site_off, &site_len, f->name);
	if (r < 0)
		return r;
	ew.site = rt + (uint64_t)site_off;
	ew.len = site_len;
	/* The original site bytes (they may run into the padding after or before a tiny function). */
	if (of && of->site == ew.site && of->len == site_len) {
		memcpy(ew.alt_expect, of->orig, site_len);
		memcpy(ew.expect, of->patched, site_len);	/* jump of the level being replaced */
	} else {
		r = hp_mem_read(op->proc.memfd, ew.site, ew.alt_expect, site_len);
		if (r < 0)
			return hp_err(job->ctx, r, "pid %d: cannot read the entry of %s", job->pid, f->name);
		memcpy(ew.expect, ew.alt_expect, site_len);
	}
	*ret = ew;
	return 0;
}

/*
 * Why: on a level replacement, functions only the old level replaced go
 * back to their original bytes in the same stop, and no thread may be in
 * them or in the old level's code then.
 */
static void plan_old_level(const struct apply_job *job, struct entry_write *w, size_t *nw,
			   struct hp_range *ranges, size_t *nranges, char *range_names)
{
	const struct hp_manifest *m = job->m;
	const struct hp_srec *old = job->old;
	size_t i, k;

	for (i = 0; i < old->hdr.nfuncs; i++) {
		const struct hp_srec_func *of = &old->funcs[i];

		for (k = 0; k < m->nfuncs; k++)
			if (job->target->bias + m->funcs[k].addr == of->func_addr)
				break;
		if (k < m->nfuncs)
			continue;
		w[*nw].site = of->site;
		w[*nw].len = of->len;
		w[*nw].name = of->name;
		memcpy(w[*nw].expect, of->patched, of->len);
		memcpy(w[*nw].alt_expect, of->orig, of->len);
		memcpy(w[*nw].bytes, of->orig, of->len);
		(*nw)++;
		snprintf(range_names + 192 * (m->nfuncs + i), 192, "%s (function of level %u)", of->name,
			 old->hdr.level);
		ranges[(*nranges)++] = (struct hp_range){ of->func_addr, of->func_addr + of->func_size,
							  range_names + 192 * (m->nfuncs + i) };
	}
	snprintf(range_names + 192 * (m->nfuncs + old->hdr.nfuncs), 192, "code of patch %s (level %u)",
		 old->hdr.patch_id, old->hdr.level);
	ranges[(*nranges)++] = (struct hp_range){ old->hdr.text_start, old->hdr.text_end,
						  range_names + 192 * (m->nfuncs + old->hdr.nfuncs) };
}

/* Why: every entry the commit writes, and every range the safety check protects, planned while the process runs. */
static int apply_plan_entries(struct apply_job *job)
{
	const struct hp_manifest *m = job->m;
	const struct hp_srec *old = job->old;
	_cleanup_free_ struct entry_write *w = NULL;
	_cleanup_free_ struct hp_range *ranges = NULL;
	_cleanup_free_ char *range_names = NULL;
	size_t i, nw = 0, nranges = 0;
	int r;

	w = calloc(m->nfuncs + (old ? old->hdr.nfuncs : 0), sizeof(*w));
	ranges = calloc(2 * m->nfuncs + (old ? old->hdr.nfuncs + 1 : 0), sizeof(*ranges));
	range_names = calloc(m->nfuncs + (old ? old->hdr.nfuncs + 1 : 0), 192);
	if (!w || !ranges || !range_names)
		return -ENOMEM;
	for (i = 0; i < m->nfuncs; i++) {
		const struct hp_manifest_func *f = &m->funcs[i];
		uint64_t rt = job->target->bias + f->addr;

		r = plan_new_function(job, f, &w[nw]);
		if (r < 0)
			return r;
		nw++;
		snprintf(range_names + 192 * i, 192, "%s (patched function)", f->name);
		ranges[nranges++] = (struct hp_range){ rt, rt + f->size, range_names + 192 * i };
	}
	if (old)
		plan_old_level(job, w, &nw, ranges, &nranges, range_names);
	job->w = TAKE_PTR(w);
	job->nw = nw;
	job->ranges = TAKE_PTR(ranges);
	job->range_names = TAKE_PTR(range_names);
	job->nranges = nranges;
	return 0;
}

/*
 * Why: lay the payload out, place it within reach of the target, link it
 * there (calls to replaced functions go straight to their new bodies,
 * known from the layout), then encode each entry's jump to its new body.
 */
static int apply_link_image(struct apply_job *job)
{
	const struct hp_manifest *m = job->m;
	struct hp_loaded *target = job->target;
	struct hp_image img = { 0 };
	_cleanup_free_ uint64_t *new_addr = NULL;
	size_t i, state_size;
	uint64_t base, lo, hi;
	int r;

	new_addr = calloc(m->nfuncs, sizeof(*new_addr));
	if (!new_addr)
		return -ENOMEM;
	state_size = sizeof(struct hp_srec_hdr) + m->nfuncs * sizeof(struct hp_srec_func);
	r = hp_image_plan(job->ctx, job->patch, state_size, &img);
	if (r < 0)
		return r;
	lo = target->bias + target->elf->min_vaddr;
	hi = target->bias + target->elf->max_vaddr;
	r = hp_region_choose(&job->op.proc.maps, lo, hi, img.size,
			     img.needs_low || target->elf->ehdr.e_type == ET_EXEC, &base);
	if (r < 0) {
		r = hp_err(job->ctx, r, "pid %d: no free %" PRIu64 " KiB within 2 GiB of %s", job->pid, img.size >> 10,
			   target->mod->path);
		goto fail;
	}
	/* New bodies' addresses are known from the layout before linking (for direct calls). */
	img.base = base;
	for (i = 0; i < m->nfuncs; i++)
		new_addr[i] = hp_image_sym_addr(&img, job->patch, job->patch->func_sym[i]);
	{
		struct link_ud lu = { &job->op, target, m, new_addr };
		struct hp_link_env env = { target->bias, link_import, link_redirect, &lu, link_tls };

		r = hp_image_link(job->ctx, &img, job->patch, base, &env);
		if (r < 0) {
			hp_err_prefix(job->ctx, r, "pid %d: ", job->pid);
			goto fail;
		}
	}
	for (i = 0; i < m->nfuncs; i++)
		encode_site(job->w[i].bytes, job->w[i].alt_expect, job->w[i].len, job->w[i].site, new_addr[i]);
	job->img = img;
	job->base = base;
	job->new_addr = TAKE_PTR(new_addr);
	return 0;
fail:
	hp_image_release(&img);
	return r;
}

/*
 * Why: the state record at the start of the image, first as "prepared"
 * (a patcher killed before the commit leaves an unreferenced region the
 * next operation removes), with every site's original and patched bytes,
 * sealed so that a forged record is recognised.
 */
static void apply_build_record(struct apply_job *job)
{
	const struct hp_manifest *m = job->m;
	struct hp_srec_hdr *hdr = (struct hp_srec_hdr *)job->img.buf;
	struct hp_srec_func *sf = (struct hp_srec_func *)(job->img.buf + sizeof(*hdr));
	size_t i;

	memcpy(hdr->magic, HP_SREC_MAGIC, 8);
	hdr->version = HP_SREC_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->self = job->base;
	hdr->region_size = job->img.size;
	hdr->state = HP_STATE_PREPARED;
	hdr->level = m->level;
	hdr->nfuncs = (uint32_t)m->nfuncs;
	hdr->func_size = sizeof(struct hp_srec_func);
	hdr->funcs_off = sizeof(*hdr);
	hdr->applied_time = time(NULL);
	hdr->target_bias = job->target->bias;
	memcpy(hdr->build_id, m->build_id, m->build_id_len);
	hdr->build_id_len = (uint32_t)m->build_id_len;
	hdr->applier_pid = (uint32_t)job->pid;
	hp_strlcpy(hdr->patch_id, m->id, sizeof(hdr->patch_id));
	if (hp_patch_is_signed(job->patch, hdr->signer) == false)
		hdr->signer[0] = 0;
	hp_strlcpy(hdr->target_path, job->target->mod->path, sizeof(hdr->target_path));
	hdr->text_start = job->base + job->img.seg[HP_SEG_RX].off;
	hdr->text_end = hdr->text_start + job->img.seg[HP_SEG_RX].size;
	for (i = 0; i < m->nfuncs; i++) {
		sf[i].func_addr = job->target->bias + m->funcs[i].addr;
		sf[i].func_size = m->funcs[i].size;
		sf[i].site = job->w[i].site;
		sf[i].new_addr = job->new_addr[i];
		sf[i].len = job->w[i].len;
		memcpy(sf[i].orig, job->w[i].alt_expect, job->w[i].len);
		memcpy(sf[i].patched, job->w[i].bytes, job->w[i].len);
		hp_strlcpy(sf[i].name, m->funcs[i].name, sizeof(sf[i].name));
	}
	/* The new code is not reachable yet: it is only a range the check must also protect on revert. */
	hp_srec_seal(job->ctx, hdr, sf);
	job->hdr = hdr;
}

/*
 * Why: the first write to the process, while it runs: the pages with the
 * entries made private (the same bytes written back), so the commit only
 * copies a few bytes.
 */
static void apply_touch_sites(struct apply_job *job)
{
	struct op *op = &job->op;
	size_t i;

	for (i = 0; i < job->nw; i++) {
		uint8_t cur[HP_SITE_MAX];

		if (hp_mem_read(op->proc.memfd, job->w[i].site, cur, job->w[i].len) == 0)
			hp_mem_write(op->proc.memfd, job->w[i].site, cur, job->w[i].len);
	}
}

/*
 * Why: in the first stop, before the check, with a thread of the stopped
 * world (stop_the_world): leftovers of interrupted operations removed, the
 * image mapped and filled.  Kept across busy retries; removed by apply_end
 * if the commit never comes.
 */
static int apply_prepare(struct op *op, void *arg)
{
	struct apply_job *job = ((struct apply_commit *)arg)->job;
	int r;

	if (job->nleft) {
		r = op_unmap_regions(op, job->leftover_addr, job->leftover_size, job->nleft);
		if (r < 0)
			return r;
		job->nleft = 0;
	}
	/*
	 * A lock file left by a patcher that died (lock.h) is the sign of its leaked descriptors;
	 * without a lock, a patcher may have died too.  Once they are closed the file may go.
	 */
	if (op->lock.fd < 0 || op->lock.stale) {
		r = op_close_leaked_memfds(op);
		if (r < 0)
			return r;
		op->lock.stale = false;
	}
	r = op_map_image(op, &job->img, job->m->id);
	if (r < 0)
		return r;
	job->mapped = true;
	return 0;
}

/*
 * Why: the only part with every thread stopped: the image mapped (first
 * stop only), then once no thread is in a protected range, the record goes
 * "committing", the entries are checked and written, the record goes
 * "active" (the old level "superseded", and unmapped).
 */
static int apply_commit_stopped(struct apply_job *job)
{
	struct apply_commit ac = { job->hdr, job->old, job->w, job->nw, job, false };
	int r;

	/* hdr points into our image buffer; its self field is the record's address in the process. */
	hp_touch_before_stop(job->img.buf, job->img.size);	/* the stop's fill and commit copy from these */
	hp_touch_before_stop(job->w, job->nw * sizeof(*job->w));
	r = stop_the_world(&job->op, job->ranges, job->nranges, job->o.timeout_ms, apply_prepare, apply_commit, &ac,
			   &job->res);
	if (r < 0)
		return r;
	job->mapped = false;	/* committed: the mapping is now in use */
	if (job->old && !ac.old_unmapped) {
		uint64_t a = job->old->hdr.self, s = job->old->hdr.region_size;

		if (op_unmap_regions(&job->op, &a, &s, 1) < 0)
			hp_warn(job->ctx, "pid %d: replaced level %u stays mapped: %s", job->pid, job->old->hdr.level,
				job->ctx->errmsg);
	}
	return 0;
}

/*
 * Why: every path ends here: a failure caused by an exit or exec says so,
 * a region mapped but not committed is removed (the process is left
 * exactly as it was), and the result carries the timings, and the ids
 * when the apply (or its dry run) succeeded.
 */
static int apply_end(struct apply_job *job, int r, uint64_t t0, struct hp_apply_result *ret_result)
{
	struct hp_ctx *ctx = job->ctx;

	r = explain_gone(&job->op, r);
	if (job->mapped && !program_gone(&job->op)) {
		/* Failed before the commit: leave the process exactly as it was. */
		char saved[sizeof(ctx->errmsg)];
		uint64_t a = job->base, s = job->img.size;

		memcpy(saved, ctx->errmsg, sizeof(saved));
		if (op_unmap_regions(&job->op, &a, &s, 1) < 0)
			hp_warn(ctx, "pid %d: could not remove the unused patch mapping at %#" PRIx64, job->pid,
				job->base);
		memcpy(ctx->errmsg, saved, sizeof(saved));
	}
	if (r >= 0) {
		job->res.level = job->m->level;
		hp_strlcpy(job->res.patch_id, job->m->id, sizeof(job->res.patch_id));
		if (job->old)
			hp_strlcpy(job->res.replaced_id, job->old->hdr.patch_id, sizeof(job->res.replaced_id));
	}
	job->res.hijack_ns = job->op.max_hijack_ns;
	job->res.total_ns = hp_now_ns() - t0;
	/* Written on failure too: the host sweep reports timings of failed processes (engine.h). */
	if (ret_result)
		*ret_result = job->res;
	free(job->leftover_addr);
	free(job->leftover_size);
	free(job->w);
	free(job->ranges);
	free(job->range_names);
	free(job->new_addr);
	hp_image_release(&job->img);
	op_release(&job->op);
	return r;
}

/*
 * Why: apply is the pipeline of the engine principles, each step a function
 * above: verify (trust before memory) -> prepare while the process runs
 * (target, records, entries, link, record) -> a dry run stops here -> map
 * -> commit with the world stopped -> finish.  Each step either succeeds or
 * leaves apply_end what to undo.
 */
int hp_apply_checked(struct hp_ctx *ctx, pid_t pid, const struct hp_patch *patch, const struct hp_apply_opts *opts,
		     bool verified, struct hp_process *proc, struct hp_apply_result *ret_result)
{
	struct apply_job job = { .ctx = ctx, .pid = pid, .patch = patch, .m = hp_patch_manifest(patch) };
	uint64_t t0 = hp_now_ns();
	int r;

	job.o.sz = sizeof(job.o);
	if (opts)
		memcpy(&job.o, opts, opts->sz < sizeof(job.o) ? opts->sz : sizeof(job.o));
	if (!job.o.timeout_ms)
		job.o.timeout_ms = DEFAULT_TIMEOUT_MS;
	ctx->errmsg[0] = 0;
	r = apply_verify(&job, verified);
	if (r < 0) {
		if (proc)
			hp_process_close(proc);
		return r;
	}
	r = apply_open_target(&job, proc);
	if (r == 0)
		r = apply_scan_records(&job);
	if (r == 0)
		r = apply_plan_entries(&job);
	if (r == 0)
		r = apply_link_image(&job);
	if (r == 0)
		apply_build_record(&job);
	/* A dry run has done every check there is short of stopping the threads: stop before the first write. */
	if (r == 0 && !(job.o.flags & HP_APPLY_DRY_RUN)) {
		apply_touch_sites(&job);
		r = apply_commit_stopped(&job);
	}
	return apply_end(&job, r, t0, ret_result);
}

/* ---- revert ---- */

struct revert_commit {
	const struct hp_srec *rec;
	struct entry_write *w;
	size_t nw;
	bool unmapped;		/* the patch's region was removed in the stop */
};

static int revert_commit(struct op *op, void *arg)
{
	struct revert_commit *rc = arg;
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = hp_srec_set_state(op->proc.memfd, rc->rec, HP_STATE_REVERTING);
	if (r == 0)
		r = write_entries(op, rc->w, rc->nw);
	if (r < 0 && rc->rec->hdr.state == HP_STATE_ACTIVE)
		hp_srec_set_state(op->proc.memfd, rc->rec, HP_STATE_ACTIVE);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		/* No entry leads into the patch and no thread is in it: remove it in this stop. */
		uint64_t a = rc->rec->hdr.self, s = rc->rec->hdr.region_size;

		rc->unmapped = op_unmap_regions(op, &a, &s, 1) == 0;
		op->ctx->errmsg[0] = 0;	/* retried after the stop, where a failure is reported */
	}
	return r;
}

/* Why: as hp_apply: options checked once, the result written only on success. */
int hp_revert(struct hp_ctx *ctx, pid_t pid, const char *patch_id, const struct hp_apply_opts *opts,
	      struct hp_apply_result *ret_result)
{
	struct hp_apply_opts o;
	struct hp_apply_result res = { .sz = sizeof(res) };
	int r;

	r = HP_OPTS_COPY(ctx, &o, opts);
	if (r >= 0 && ret_result)
		r = hp_result_check(ctx, ret_result, "struct hp_apply_result");
	if (r < 0)
		return r;
	r = hp_revert_opened(ctx, pid, patch_id, &o, NULL, &res);
	if (r >= 0 && ret_result)
		hp_result_copy(ret_result, &res, sizeof(res));
	return r;
}

int hp_revert_opened(struct hp_ctx *ctx, pid_t pid, const char *patch_id, const struct hp_apply_opts *opts,
		     struct hp_process *proc, struct hp_apply_result *ret_result)
{
	struct hp_apply_opts o = { .sz = sizeof(o) };
	struct hp_apply_result res;
	uint64_t t0 = hp_now_ns();
	struct op op;
	const struct hp_srec *rec = NULL;
	_cleanup_free_ struct entry_write *w = NULL;
	_cleanup_free_ struct hp_range *ranges = NULL;
	_cleanup_free_ char *names = NULL;
	size_t i, nw = 0, nranges = 0;
	bool unmapped = false;
	int r;

	memset(&res, 0, sizeof(res));
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!o.timeout_ms)
		o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!hp_valid_id(patch_id)) {
		if (proc)
			hp_process_close(proc);
		return hp_err(ctx, -EINVAL, "'%s' is not a valid patch id", patch_id);
	}
	r = op_open(ctx, pid, o.cache, proc, o.timeout_ms, &op);
	if (r < 0)
		goto out;
	for (i = 0; i < op.nrecs; i++)
		if (!strcmp(op.recs[i].hdr.patch_id, patch_id) && op.recs[i].hdr.state != HP_STATE_SUPERSEDED &&
		    (!rec || rec->trust == HP_RECORD_FORGED))
			rec = &op.recs[i];	/* a forged copy does not hide the real record */
	if (!rec) {
		r = hp_err(ctx, -HP_E_NOTAPPLIED, "pid %d: patch %s is not applied", pid, patch_id);
		goto out;
	}
	if (rec->trust == HP_RECORD_FORGED) {
		r = hp_err(ctx, -HP_E_STATE, "pid %d: refusing to revert %s: its state record is forged (%s); nothing "
			   "was written", pid, patch_id, rec->why);
		goto out;
	}
	if (!rec->sites_checked) {
		r = hp_err(ctx, -HP_E_STATE, "pid %d: refusing to revert %s: its state record cannot be checked (%s); "
			   "nothing was written", pid, patch_id, rec->why);
		goto out;
	}
	{
		struct hp_loaded *target = hp_process_find_build_id(&op.proc, rec->hdr.build_id, rec->hdr.build_id_len);

		op.pads_refused = !target || hp_loaded_open(ctx, &op.proc, target) < 0 || hp_pads_cxx_module(target->elf);
	}
	w = calloc(rec->hdr.nfuncs + 1, sizeof(*w));
	ranges = calloc(rec->hdr.nfuncs + 1, sizeof(*ranges));
	names = calloc(rec->hdr.nfuncs + 1, 192);
	if (!w || !ranges || !names) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < rec->hdr.nfuncs; i++) {
		const struct hp_srec_func *f = &rec->funcs[i];
		enum hp_func_state fs;

		r = hp_srec_func_state(op.proc.memfd, f, &fs);
		if (r < 0) {
			r = hp_err(ctx, r, "pid %d: cannot read %s: %s", pid, f->name, strerror(-r));
			goto out;
		}
		if (fs == HP_FUNC_FOREIGN) {
			r = hp_err(ctx, -HP_E_FOREIGN,
				   "pid %d: the entry of %s holds neither hotpatch's jump nor the original bytes; not "
				   "touching it", pid, f->name);
			goto out;
		}
		snprintf(names + 192 * i, 192, "%s (patched function)", f->name);
		ranges[nranges++] = (struct hp_range){ f->func_addr, f->func_addr + f->func_size, names + 192 * i };
		if (fs == HP_FUNC_ORIGINAL)
			continue;
		w[nw].site = f->site;
		w[nw].len = f->len;
		w[nw].name = f->name;
		memcpy(w[nw].expect, f->patched, f->len);
		memcpy(w[nw].alt_expect, f->orig, f->len);
		memcpy(w[nw].bytes, f->orig, f->len);
		nw++;
	}
	snprintf(names + 192 * rec->hdr.nfuncs, 192, "code of patch %s", rec->hdr.patch_id);
	ranges[nranges++] = (struct hp_range){ rec->hdr.text_start, rec->hdr.text_end, names + 192 * rec->hdr.nfuncs };

	if (nw) {
		struct revert_commit rc = { rec, w, nw, false };

		hp_touch_before_stop(w, nw * sizeof(*w));	/* the commit copies from it */
		r = stop_the_world(&op, ranges, nranges, o.timeout_ms, NULL, revert_commit, &rc, &res);
		if (r < 0)
			goto out;
		unmapped = rc.unmapped;
	}
	if (!unmapped) {
		uint64_t a = rec->hdr.self, s = rec->hdr.region_size;

		r = op_unmap_regions(&op, &a, &s, 1);
		if (r < 0) {
			hp_err_prefix(ctx, r, "pid %d: patch %s is reverted but its memory stays mapped: ", pid, patch_id);
			goto out;
		}
	}
	hp_strlcpy(res.patch_id, patch_id, sizeof(res.patch_id));
	res.level = 0;
	r = 0;
out:
	r = explain_gone(&op, r);
	res.hijack_ns = op.max_hijack_ns;
	res.total_ns = hp_now_ns() - t0;
	if (ret_result)
		*ret_result = res;
	op_release(&op);
	return r;
}

/* ---- status ---- */

int hp_status_read(struct hp_ctx *ctx, pid_t pid, struct hp_status **ret_status)
{
	struct hp_maps maps;
	struct hp_srec *recs = NULL;
	struct hp_status *st;
	size_t n = 0, i, k;
	int memfd, r;

	ctx->errmsg[0] = 0;
	if (pid <= 0)
		return hp_err(ctx, -ESRCH, "pid %d: not a valid process id", pid);
	r = hp_maps_read(NULL, pid, &maps);
	if (r < 0)
		return hp_err(ctx, r == -ENOENT ? -ESRCH : r, "pid %d: %s", pid,
			      r == -ENOENT ? "no such process" : strerror(-r));
	memfd = hp_mem_open(ctx, pid);
	if (memfd < 0) {
		hp_maps_release(&maps);
		return memfd;
	}
	r = hp_srec_find_all(ctx, pid, memfd, &maps, &recs, &n);
	if (r < 0)
		goto out;
	if (n) {
		/* Who wrote each record, and do its sites agree with the modules (docs/state-record.md)? */
		struct hp_process proc;

		r = hp_process_open_cached(ctx, pid, NULL, &proc);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			/* e.g. not root: its mapped files cannot be read, so nothing can be checked */
			hp_srec_uncheckable(recs, n, hp_ctx_errmsg(ctx));
			ctx->errmsg[0] = 0;
		} else {
			r = hp_srec_check(ctx, &proc, recs, n);
			hp_process_close(&proc);
			if (r < 0)
				goto out;
		}
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->patches = calloc(n ? n : 1, sizeof(*st->patches)))) {
		free(st);
		r = -ENOMEM;
		goto out;
	}
	st->pid = pid;
	for (i = 0; i < n; i++) {
		const struct hp_srec *rec = &recs[i];
		struct hp_status_patch *p = &st->patches[st->npatches];
		bool all_patched = true, any_patched = false;

		if (rec->hdr.state == HP_STATE_SUPERSEDED)
			continue;	/* a replaced level waiting to be unmapped */
		st->npatches++;	/* counted now: hp_status_free releases a half-filled entry */
		p->target = strdup(rec->hdr.target_path);
		if (!p->target) {
			hp_status_free(st);
			r = -ENOMEM;
			goto out;
		}
		hp_strlcpy(p->id, rec->hdr.patch_id, sizeof(p->id));
		p->level = rec->hdr.level;
		p->state = (enum hp_patch_state)rec->hdr.state;
		memcpy(p->build_id, rec->hdr.build_id, rec->hdr.build_id_len);
		p->build_id_len = rec->hdr.build_id_len;
		hp_strlcpy(p->signer, rec->hdr.signer, sizeof(p->signer));
		p->applied_time = rec->hdr.applied_time;
		p->region = rec->hdr.self;
		p->region_size = rec->hdr.region_size;
		p->applier_pid = (pid_t)rec->hdr.applier_pid;
		p->trust = rec->trust;
		p->trust_reason = strdup(rec->why);
		if (!p->trust_reason) {
			hp_status_free(st);
			r = -ENOMEM;
			goto out;
		}
		p->funcs = calloc(rec->hdr.nfuncs ? rec->hdr.nfuncs : 1, sizeof(*p->funcs));
		if (!p->funcs) {
			hp_status_free(st);
			r = -ENOMEM;
			goto out;
		}
		for (k = 0; k < rec->hdr.nfuncs; k++) {
			struct hp_status_func *f = &p->funcs[k];

			f->name = strdup(rec->funcs[k].name);
			if (!f->name) {
				hp_status_free(st);
				r = -ENOMEM;
				goto out;
			}
			p->nfuncs = k + 1;
			f->addr = rec->funcs[k].func_addr;
			f->new_addr = rec->funcs[k].new_addr;
			if (hp_srec_func_state(memfd, &rec->funcs[k], &f->state) < 0)
				f->state = HP_FUNC_FOREIGN;
			all_patched &= f->state == HP_FUNC_PATCHED;
			any_patched |= f->state == HP_FUNC_PATCHED;
		}
		/* A prepared record is a harmless leftover while no entry jumps to it (a level it was to
		 * replace may still hold them). */
		p->consistent = (p->state == HP_STATE_ACTIVE && all_patched) ||
				(p->state == HP_STATE_PREPARED && !any_patched);
	}
	*ret_status = st;
	r = 0;
out:
	hp_srec_free_all(recs, n);
	close(memfd);
	hp_maps_release(&maps);
	return r;
}

void hp_status_free(struct hp_status *st)
{
	size_t i, k;

	if (!st)
		return;
	for (i = 0; i < st->npatches; i++) {
		struct hp_status_patch *p = &st->patches[i];

		for (k = 0; k < p->nfuncs; k++)
			free((char *)p->funcs[k].name);
		free(p->funcs);
		free((char *)p->target);
		free((char *)p->trust_reason);
	}
	free(st->patches);
	free(st);
}
