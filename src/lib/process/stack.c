/* SPDX-License-Identifier: MIT */
/*
 * Stack checks for consistency: no thread may be executing, or about to
 * return into, a function being replaced or reverted.
 *
 * Reading: all threads' live stacks are fetched with one process_vm_readv
 * call while the world is stopped, so the cost per thread is a register read
 * and a memory scan, not hundreds of PTRACE_PEEKDATA calls.
 *
 * Deciding: the word scan can only err towards "busy" (a stale value looks
 * like a return address); the CFI unwind then removes those false alarms.
 * Every return address of a live frame is a word on the live part of the
 * stack, so a thread the scan clears is clear.  A signal handler running on
 * an alternate stack keeps the interrupted context's pc in its signal frame
 * on that alternate stack, so the scan sees it too; the unwinder follows
 * the signal frame back to the interrupted stack.
 */
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "lib/process/stack.h"
#include "shared/dw.h"

#define STACK_SCAN_MAX (8u << 20)

struct hp_stack_checker {
	struct hp_ctx *ctx;
	struct hp_process *proc;
	Dwfl *dwfl;
	bool dwfl_failed;
	/* the thread being unwound */
	const struct hp_thread *cur;
	struct hp_threads *g;
	unsigned scanned, unwound;
	const struct hp_pads *pads;
	uint8_t *buf;			/* hp_stack_checker_reserve's room, cap bytes */
	size_t cap;
};

struct unwind_state {
	const struct hp_range *ranges;
	size_t nranges;
	const struct hp_range *hit;
	uint64_t hit_pc;
	bool error;
	unsigned depth;
};

static const struct hp_range *in_ranges(const struct hp_range *r, size_t n, uint64_t a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a >= r[i].lo && a < r[i].hi)
			return &r[i];
	return NULL;
}

/* Return addresses point after the call: a call that is the last instruction of a range returns to hi. */
static const struct hp_range *ra_in_ranges(const struct hp_range *r, size_t n, uint64_t a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a > r[i].lo && a <= r[i].hi)
			return &r[i];
	return NULL;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct hp_stack_checker *sc = arg;

	/* Only the thread we were asked about is ever unwound (dwfl_getthread_frames). */
	if (*thread_argp)
		return 0;
	*thread_argp = (void *)sc->cur;
	return sc->cur->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct hp_stack_checker *sc = arg;

	if (!sc->cur || sc->cur->tid != tid)
		return false;
	*thread_argp = (void *)sc->cur;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct hp_stack_checker *sc = arg;
	uint64_t v;

	if (hp_mem_read(sc->proc->memfd, addr, &v, sizeof(v)) < 0)
		return false;
	*result = sc->pads ? hp_pads_translate(sc->pads, v) : v;
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct hp_thread *t = thread_arg;
	const struct user_regs_struct *u = &t->regs;
	Dwarf_Word regs[17] = {
		u->rax, u->rdx, u->rcx, u->rbx, u->rsi, u->rdi, u->rbp, u->rsp,
		u->r8, u->r9, u->r10, u->r11, u->r12, u->r13, u->r14, u->r15, u->rip,
	};

	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return false;
	dwfl_thread_state_register_pc(thread, u->rip);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* The checker whose process dwfl is reading modules of, in this thread (find_elf has no user pointer). */
static __thread struct hp_stack_checker *finding;

/*
 * Open a module's file through /proc/PID/map_files, not by its path: the
 * path in the maps names the file in the process's own mount namespace,
 * where a container may have a different file (or none) at a path that
 * exists here, and an unwind with the wrong file's CFI could call a live
 * return address stale.  map_files is the very file mapped, in any
 * namespace, also after it was replaced or deleted on disk.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base, char **file_name,
		    Elf **elfp)
{
	struct hp_stack_checker *sc = finding;
	Dwarf_Addr lo = 0, hi = 0;
	size_t i;

	if (sc && modname[0] == '/' && dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL)) {
		for (i = 0; i < sc->proc->maps.n; i++) {
			const struct hp_map *m = &sc->proc->maps.v[i];
			char path[128];
			int fd;

			if (m->offset != 0 || !m->inode || m->start < lo || m->start >= hi)
				continue;
			fd = hp_proc_open_map_file(sc->proc->pid, m);
			if (fd < 0)
				break;
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, sc->proc->pid, m->start,
				 m->end);
			*file_name = strdup(path);
			if (!*file_name) {
				close(fd);
				return -1;
			}
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

static char *debuginfo_path;
static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

int hp_stack_checker_new(struct hp_ctx *ctx, struct hp_process *proc, struct hp_stack_checker **ret)
{
	struct hp_stack_checker *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -ENOMEM;
	sc->ctx = ctx;
	sc->proc = proc;
	*ret = sc;
	return 0;
}

void hp_stack_checker_free(struct hp_stack_checker *sc)
{
	if (!sc)
		return;
	if (sc->dwfl)
		dwfl_end(sc->dwfl);
	free(sc->buf);
	free(sc);
}

/* A live stack is a few KiB (the 64 threads of bench/pause-target.c: 4.5 KiB each). */
#define STACK_RESERVE_PER_THREAD (8u << 10)
#define STACK_RESERVE_MAX (16u << 20)

void hp_stack_checker_reserve(struct hp_stack_checker *sc, unsigned nthreads)
{
	size_t want = (size_t)(nthreads ? nthreads : 1) * STACK_RESERVE_PER_THREAD;

	if (want > STACK_RESERVE_MAX)
		want = STACK_RESERVE_MAX;
	if (want <= sc->cap)
		return;
	free(sc->buf);
	sc->cap = 0;
	sc->buf = malloc(want);
	if (!sc->buf)
		return;
	sc->cap = want;
	hp_touch_before_stop(sc->buf, want);	/* written by the kernel, read by the scan */
}

void hp_stack_checker_stats(const struct hp_stack_checker *sc, unsigned *scanned, unsigned *unwound)
{
	*scanned = sc->scanned;
	*unwound = sc->unwound;
}

/* Create the libdw session lazily: most checks never need it. */
static int ensure_dwfl(struct hp_stack_checker *sc)
{
	if (sc->dwfl)
		return 0;
	if (sc->dwfl_failed)
		return -ENOEXEC;
	if (hp_dw_load() < 0) {
		hp_warn(sc->ctx, "stack: cannot load %s for the unwinder (install libdw1); pid %d", HP_DW_SONAME,
			sc->proc->pid);
		sc->dwfl_failed = true;
		return -ENOEXEC;
	}
	sc->dwfl = dwfl_begin(&proc_callbacks);
	if (!sc->dwfl)
		goto fail;
	finding = sc;
	if (dwfl_linux_proc_report(sc->dwfl, sc->proc->pid) != 0)
		goto fail;
	if (dwfl_report_end(sc->dwfl, NULL, NULL) != 0)
		goto fail;
	if (!dwfl_attach_state(sc->dwfl, NULL, sc->proc->pid, &thread_callbacks, sc))
		goto fail;
	finding = NULL;
	return 0;
fail:
	finding = NULL;
	hp_warn(sc->ctx, "stack: cannot set up the unwinder for pid %d: %s", sc->proc->pid, dwfl_errmsg(-1));
	if (sc->dwfl)
		dwfl_end(sc->dwfl);
	sc->dwfl = NULL;
	sc->dwfl_failed = true;
	return -ENOEXEC;
}

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct unwind_state *us = arg;
	Dwarf_Addr pc;
	bool activation;
	const struct hp_range *r;

	if (!dwfl_frame_pc(frame, &pc, &activation)) {
		us->error = true;
		return DWARF_CB_ABORT;
	}
	r = activation ? in_ranges(us->ranges, us->nranges, pc) : ra_in_ranges(us->ranges, us->nranges, pc);
	if (r) {
		us->hit = r;
		us->hit_pc = pc;
		return DWARF_CB_ABORT;
	}
	if (++us->depth > 4096) {
		us->error = true;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* Precise check of one thread with CFI.  1 busy, 0 clear. */
static int unwind_thread(struct hp_stack_checker *sc, const struct hp_thread *t, const struct hp_range *ranges,
			 size_t nranges, uint64_t candidate, struct hp_busy *busy)
{
	struct unwind_state us = { ranges, nranges, NULL, 0, false, 0 };
	int r;

	sc->unwound++;
	if (ensure_dwfl(sc) < 0)
		goto unknown;
	sc->cur = t;
	finding = sc;
	r = dwfl_getthread_frames(sc->dwfl, t->tid, frame_cb, &us);
	finding = NULL;
	sc->cur = NULL;
	if (us.hit) {
		busy->tid = t->tid;
		busy->pc = us.hit_pc;
		busy->range = us.hit;
		busy->on_top = us.depth == 0;
		busy->unwind_failed = false;
		return 1;
	}
	if (r == 0 && !us.error)
		return 0;
	hp_debug(sc->ctx, "stack: unwinding thread %d stopped after %u frames: %s", t->tid, us.depth,
		 dwfl_errmsg(-1));
unknown:
	busy->tid = t->tid;
	busy->pc = candidate;
	busy->range = ra_in_ranges(ranges, nranges, candidate) ?: in_ranges(ranges, nranges, candidate);
	busy->on_top = false;
	busy->unwind_failed = true;
	return 1;
}

int hp_stack_check(struct hp_stack_checker *sc, struct hp_threads *g, const struct hp_range *ranges,
		   size_t nranges, struct hp_busy *busy)
{
	_cleanup_free_ struct iovec *local = NULL;
	_cleanup_free_ struct iovec *remote = NULL;
	_cleanup_free_ uint8_t *own = NULL;
	uint8_t *buf;
	size_t i, n = 0, total = 0, off;
	bool maps_reread = false;
	ssize_t got;

	memset(busy, 0, sizeof(*busy));
	/* 1. pcs */
	for (i = 0; i < g->n; i++) {
		const struct hp_thread *t = &g->v[i];
		const struct hp_range *r;

		if (t->gone || !t->stopped)
			continue;
		r = in_ranges(ranges, nranges, t->regs.rip);
		if (r) {
			busy->tid = t->tid;
			busy->pc = t->regs.rip;
			busy->range = r;
			busy->on_top = true;
			return 1;
		}
	}
	/* 2. gather live stack ranges */
	local = calloc(g->n ? g->n : 1, sizeof(*local));
	remote = calloc(g->n ? g->n : 1, sizeof(*remote));
	if (!local || !remote)
		return -ENOMEM;
	for (i = 0; i < g->n; i++) {
		const struct hp_thread *t = &g->v[i];
		const struct hp_map *m;
		uint64_t sp = t->regs.rsp & ~7ull, len;

		remote[i].iov_len = 0;
		if (t->gone || !t->stopped)
			continue;
		m = hp_maps_find(&sc->proc->maps, sp);
		if (!m && !maps_reread) {
			/* a thread created after the maps were read has a stack we have not seen */
			struct hp_maps nm;

			if (hp_maps_read(NULL, sc->proc->pid, &nm) == 0) {
				hp_maps_release(&sc->proc->maps);
				sc->proc->maps = nm;
			}
			maps_reread = true;
			m = hp_maps_find(&sc->proc->maps, sp);
		}
		if (!m)
			return hp_err(sc->ctx, -EFAULT, "pid %d: thread %d has its stack pointer %#llx outside any mapping",
				      g->pid, t->tid, (unsigned long long)t->regs.rsp);
		len = m->end - sp;
		if (len > STACK_SCAN_MAX)
			len = STACK_SCAN_MAX;
		remote[i].iov_base = (void *)(uintptr_t)sp;
		remote[i].iov_len = len;
		total += len;
	}
	if (total && total <= sc->cap) {
		buf = sc->buf;
	} else {
		buf = own = malloc(total ? total : 1);
		if (!buf)
			return -ENOMEM;
	}
	off = 0;
	for (i = 0; i < g->n; i++) {
		local[i].iov_base = buf + off;
		local[i].iov_len = remote[i].iov_len;
		off += remote[i].iov_len;
	}
	/* process_vm_readv takes at most IOV_MAX (1024) vectors per call. */
	for (i = 0; i < g->n; i += n) {
		size_t k, want = 0;

		n = g->n - i < 1024 ? g->n - i : 1024;
		for (k = 0; k < n; k++)
			want += remote[i + k].iov_len;
		got = process_vm_readv(g->pid, local + i, n, remote + i, n, 0);
		if (got < 0 || (size_t)got != want) {
			/* partial: fall back to per-thread reads through /proc/PID/mem */
			for (k = 0; k < n; k++)
				if (remote[i + k].iov_len &&
				    hp_mem_read(sc->proc->memfd, (uint64_t)(uintptr_t)remote[i + k].iov_base,
						local[i + k].iov_base, remote[i + k].iov_len) < 0)
					memset(local[i + k].iov_base, 0xff, remote[i + k].iov_len);
		}
	}
	/* 3. scan, and unwind the threads with a candidate; the hull [lo, hi] of the
	 * ranges rejects almost every word with one compare (issue 15: the scan was
	 * most of the ~60 k instructions per process of a sweep's stack check) */
	uint64_t hull_lo = UINT64_MAX, hull_hi = 0;

	for (i = 0; i < nranges; i++) {
		hull_lo = ranges[i].lo < hull_lo ? ranges[i].lo : hull_lo;
		hull_hi = ranges[i].hi > hull_hi ? ranges[i].hi : hull_hi;
	}
	for (i = 0; i < g->n; i++) {
		const struct hp_thread *t = &g->v[i];
		const uint64_t *w = local[i].iov_base;
		size_t k, nw = local[i].iov_len / 8;

		if (!remote[i].iov_len)
			continue;
		sc->scanned++;
		for (k = 0; k < nw; k++) {
			/* a frame redirected to a landing pad returns where the pad says */
			uint64_t v = sc->pads ? hp_pads_translate(sc->pads, w[k]) : w[k];

			if (v - hull_lo > hull_hi - hull_lo)	/* outside every range (none: the checks below say so) */
				continue;
			if (in_ranges(ranges, nranges, v) || ra_in_ranges(ranges, nranges, v)) {
				int r = unwind_thread(sc, t, ranges, nranges, v, busy);

				if (r != 0)
					return r;
				break;	/* the unwind cleared this thread */
			}
		}
	}
	return 0;
}

void hp_stack_checker_set_pads(struct hp_stack_checker *sc, const struct hp_pads *p)
{
	sc->pads = p;
}

/* The outermost affected frame and its caller, found while unwinding. */
struct outer_state {
	const struct hp_range *ranges;
	size_t nranges;
	struct hp_ret_slot *out;
	bool pending;			/* the last frame seen was affected: its caller's registers give the slot */
	bool error;
	unsigned depth;
	uint64_t last_sp;		/* the last frame's stack pointer (0: unknown) */
	Dwfl *dwfl;
	bool last_cfi;			/* the last frame's caller was found through CFI */
};

/*
 * Has the code at pc call frame information?  Without it libdw falls back
 * to guessing the caller (frame pointers), and a guessed caller must never
 * tell where a return address is.
 */
static bool has_cfi(Dwfl *dwfl, uint64_t pc)
{
	Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	Dwarf_Frame *fr = NULL;
	int k;

	if (!m)
		return false;
	for (k = 0; k < 2; k++) {
		cfi = k == 0 ? dwfl_module_eh_cfi(m, &bias) : dwfl_module_dwarf_cfi(m, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
			free(fr);
			return true;
		}
	}
	return false;
}

static int outer_cb(Dwfl_Frame *frame, void *arg)
{
	struct outer_state *os = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;
	const struct hp_range *r;

	if (!dwfl_frame_pc(frame, &pc, &activation)) {
		os->error = true;
		return DWARF_CB_ABORT;
	}
	if (os->depth > 0 && !os->last_cfi) {
		/* this frame was guessed: stop here (the last frame's stack pointer stays known) */
		os->error = true;
		return DWARF_CB_ABORT;
	}
	os->last_sp = dwfl_frame_reg(frame, 7, &sp) == 0 ? sp : 0;
	os->last_cfi = has_cfi(os->dwfl, activation ? pc : pc - 1);
	r = activation ? in_ranges(os->ranges, os->nranges, pc) : ra_in_ranges(os->ranges, os->nranges, pc);
	if (r) {
		os->out->busy = true;
		os->out->found = false;
		os->out->range = r;
		os->out->frame_pc = pc;
		os->pending = true;
	} else if (os->pending) {
		/* the caller of an affected frame: its stack pointer is that frame's CFA */
		os->pending = false;
		if (!os->last_sp) {
			snprintf(os->out->why, sizeof(os->out->why), "no stack pointer for the caller's frame");
		} else {
			os->out->found = true;
			os->out->slot = os->last_sp - 8;
			os->out->ret = pc;
		}
	}
	if (++os->depth > 4096) {
		os->error = true;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

static int32_t rel32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Does the code at target jump on into ranges (a PLT entry: [endbr64] [bnd] jmp *GOT(%rip))? */
static bool plt_into(struct hp_stack_checker *sc, const struct hp_range *ranges, size_t n, uint64_t target)
{
	uint8_t b[16];
	size_t i = 0;
	uint64_t to;

	if (hp_mem_read(sc->proc->memfd, target, b, sizeof(b)) < 0)
		return false;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		i = 4;
	if (b[i] == 0xf2)
		i++;
	if (b[i] != 0xff || b[i + 1] != 0x25)
		return false;
	if (hp_mem_read(sc->proc->memfd, target + i + 6 + (int64_t)rel32(b + i + 2), &to, 8) < 0)
		return false;
	return in_ranges(ranges, n, to) != NULL;
}

/*
 * Is w the return address of a call into ranges: a direct call (through a
 * PLT entry or not) or a call through a GOT slot whose target is affected?
 * A word that passes is a return address for certain in practice: data
 * that equals the address after such a call does not occur by chance.
 */
static bool returns_from_call_into(struct hp_stack_checker *sc, const struct hp_range *ranges, size_t n, uint64_t w)
{
	uint8_t b[6];
	uint64_t target;

	if (w < 6 || hp_mem_read(sc->proc->memfd, w - 6, b, sizeof(b)) < 0)
		return false;
	if (b[1] == 0xe8) {
		target = w + (int64_t)rel32(b + 2);
		return in_ranges(ranges, n, target) || plt_into(sc, ranges, n, target);
	}
	if (b[0] == 0xff && b[1] == 0x15) {
		if (hp_mem_read(sc->proc->memfd, w + (int64_t)rel32(b + 2), &target, 8) < 0)
			return false;
		return in_ranges(ranges, n, target) != NULL;
	}
	return false;
}

static int unwind_outer(struct hp_stack_checker *sc, const struct hp_thread *t, const struct hp_range *ranges,
			size_t nranges, struct hp_ret_slot *out, unsigned level);

/*
 * Code without CFI (a patch's own code: docs/state-record.md) stops the
 * unwinder in an affected frame.  Its return address is the first word
 * above that frame's stack pointer that returns from a call into affected
 * code (returns_from_call_into); unwinding goes on from there, from the
 * caller's pc and stack pointer, to make sure no affected frame lies
 * further out.
 */
static int outer_without_cfi(struct hp_stack_checker *sc, const struct hp_thread *t, const struct hp_range *ranges,
			     size_t nranges, uint64_t sp, struct hp_ret_slot *out, unsigned level)
{
	const struct hp_map *m = hp_maps_find(&sc->proc->maps, sp);
	uint64_t a, end, w;
	struct hp_thread caller;
	struct hp_ret_slot further;
	int r;

	if (!m || level > 8)
		return 0;
	end = m->end < sp + 65536 ? m->end : sp + 65536;
	for (a = sp & ~7ull; a + 8 <= end; a += 8) {
		if (hp_mem_read(sc->proc->memfd, a, &w, 8) < 0)
			return 0;
		if (sc->pads)
			w = hp_pads_translate(sc->pads, w);
		if (!returns_from_call_into(sc, ranges, nranges, w))
			continue;
		out->found = true;
		out->slot = a;
		out->ret = w;
		/* the caller: is it, or anything beyond it, affected too? */
		caller = *t;
		caller.regs.rip = w;
		caller.regs.rsp = a + 8;
		memset(&further, 0, sizeof(further));
		r = unwind_outer(sc, &caller, ranges, nranges, &further, level + 1);
		if (r < 0 || (further.busy && !further.found)) {
			out->found = false;
			snprintf(out->why, sizeof(out->why), "%s", further.why[0] ? further.why :
				 "its stack cannot be unwound past it");
			return 0;
		}
		if (further.busy) {
			out->slot = further.slot;
			out->ret = further.ret;
			out->range = further.range;
			out->frame_pc = further.frame_pc;
		}
		return 1;
	}
	return 0;
}

/* Unwind one thread (from t->regs) for the outermost affected frame.  0 done (out says), negative: failed. */
static int unwind_outer(struct hp_stack_checker *sc, const struct hp_thread *t, const struct hp_range *ranges,
			size_t nranges, struct hp_ret_slot *out, unsigned level)
{
	struct outer_state os = { ranges, nranges, out, false, false, 0, 0, NULL, false };
	int r;

	if (ensure_dwfl(sc) < 0) {
		out->busy = true;
		snprintf(out->why, sizeof(out->why), "no unwinder");
		return -ENOEXEC;
	}
	os.dwfl = sc->dwfl;
	sc->cur = t;
	finding = sc;
	r = dwfl_getthread_frames(sc->dwfl, t->tid, outer_cb, &os);
	finding = NULL;
	sc->cur = NULL;
	if (!out->busy) {
		if (r == 0 && !os.error)
			return 0;	/* unwound to the end: a stale candidate */
		out->busy = true;
		snprintf(out->why, sizeof(out->why), "its stack cannot be unwound");
	} else if (os.pending) {
		out->found = false;
		if ((os.error || r != 0) && os.last_sp &&
		    outer_without_cfi(sc, t, ranges, nranges, os.last_sp, out, level) > 0)
			return 0;
		if (!out->why[0])
			snprintf(out->why, sizeof(out->why), "%s", os.error || r != 0 ?
				 "its stack cannot be unwound past it" : "it is the thread's outermost function");
	} else if (os.error || r != 0) {
		/* an affected frame may lie further out, beyond what could be unwound */
		out->found = false;
		snprintf(out->why, sizeof(out->why), "its stack cannot be unwound to the end");
	}
	return 0;
}

/* May the thread have a frame in ranges (its pc, or a word of its live stack)? */
static bool thread_candidate(struct hp_stack_checker *sc, const struct hp_thread *t, const struct hp_range *ranges,
			     size_t nranges)
{
	const struct hp_map *m;
	uint64_t sp = t->regs.rsp & ~7ull, len, k;
	_cleanup_free_ uint64_t *w = NULL;

	if (in_ranges(ranges, nranges, t->regs.rip))
		return true;
	m = hp_maps_find(&sc->proc->maps, sp);
	if (!m)
		return true;	/* unknown: unwind it */
	len = m->end - sp;
	if (len > STACK_SCAN_MAX)
		len = STACK_SCAN_MAX;
	w = malloc(len ? len : 8);
	if (!w || hp_mem_read(sc->proc->memfd, sp, w, len) < 0)
		return true;
	for (k = 0; k < len / 8; k++) {
		uint64_t v = sc->pads ? hp_pads_translate(sc->pads, w[k]) : w[k];

		if (in_ranges(ranges, nranges, v) || ra_in_ranges(ranges, nranges, v))
			return true;
	}
	return false;
}

int hp_stack_find_returns(struct hp_stack_checker *sc, struct hp_threads *g, const struct hp_range *ranges,
			  size_t nranges, struct hp_ret_slot *out)
{
	size_t i;
	int busy = 0;

	for (i = 0; i < g->n; i++) {
		const struct hp_thread *t = &g->v[i];
		uint64_t word;

		memset(&out[i], 0, sizeof(out[i]));
		if (t->gone || !t->stopped || !thread_candidate(sc, t, ranges, nranges))
			continue;
		sc->unwound++;
		unwind_outer(sc, t, ranges, nranges, &out[i], 0);
		if (!out[i].busy)
			continue;
		if (out[i].found) {
			/* the slot must hold that return address (or an armed pad standing for it) */
			if (hp_mem_read(sc->proc->memfd, out[i].slot, &word, 8) < 0 ||
			    (sc->pads ? hp_pads_translate(sc->pads, word) : word) != out[i].ret) {
				out[i].found = false;
				snprintf(out[i].why, sizeof(out[i].why), "its return address is not where unwinding says");
			}
		}
		busy++;
	}
	return busy;
}
