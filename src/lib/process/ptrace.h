/* SPDX-License-Identifier: MIT */
/*
 * Controlling a target process with ptrace: stop every thread together,
 * resume them, and run syscalls inside one thread.  Nothing here keeps a
 * process traced between operations: every function that attaches also
 * detaches on every path.
 */
#ifndef HP_LIB_PTRACE_H
#define HP_LIB_PTRACE_H

#include <sched.h>
#include <sys/user.h>
#include "lib/core/internal.h"

struct hp_thread {
	pid_t tid;
	bool seized;
	bool stopped;
	bool gone;			/* exited while we held it */
	bool dying;			/* killed while held: detach failed, to be reaped */
	bool fresh;			/* auto-attached at clone: its first stop is not a group stop */
	bool stepping;			/* a single-step is in flight */
	int pending_sig;		/* signal to deliver on detach */
	struct user_regs_struct regs;	/* valid once stopped */
};

/* The calling thread's scheduling, raised to real-time around the critical steps. */
struct hp_prio {
	bool raised;
	int policy;
	struct sched_param param;
	bool slack_saved;
	long slack;
};

struct hp_threads {
	pid_t pid;
	struct hp_prio prio;
	struct hp_thread *v;
	size_t n, cap;
	uint64_t stop_start_ns;		/* when the first interrupt was sent */
	uint64_t released_ns;		/* when the last thread was released */
};

void hp_threads_release(struct hp_threads *g);

/*
 * For the calling thread only: wait for tracees by giving the CPU away
 * rather than spinning (host sweeps, where workers outnumber CPUs).
 */
void hp_ptrace_set_wait_yields(bool on);

/*
 * Seize and stop every thread of pid.  Threads created meanwhile are caught
 * (PTRACE_O_TRACECLONE) and stopped too; threads that exit are dropped.
 * On failure nothing stays attached.  Errors: -HP_E_TRACED, -HP_E_STOPPED,
 * -HP_E_EXITED, -ETIMEDOUT (a thread did not stop within timeout_ms), -errno.
 */
int hp_threads_stop(struct hp_ctx *ctx, pid_t pid, unsigned timeout_ms, struct hp_threads *g);

/* Detach from every stopped thread (delivering suppressed signals); returns how many. */
int hp_threads_detach(struct hp_ctx *ctx, struct hp_threads *g);

/*
 * Single-step every stopped thread whose pc is inside one of the [lo, hi)
 * ranges, all of them in lock step, until none is (at most max_rounds
 * instructions and budget_ns).  Threads outside the ranges stay stopped.
 * Returns 1 when no thread is left inside, 0 when that could not be
 * achieved (a thread inside a syscall, out of budget; all still stopped),
 * negative on error.  *ret_stepped: how many threads had to move.
 */
int hp_threads_step_out(struct hp_ctx *ctx, struct hp_threads *g, const uint64_t (*ranges)[2], size_t nranges,
			unsigned max_rounds, uint64_t budget_ns, unsigned *ret_stepped);

/* Open /proc/PID/mem read-write. */
int hp_mem_open(struct hp_ctx *ctx, pid_t pid);
int hp_mem_read(int memfd, uint64_t addr, void *buf, size_t len);
int hp_mem_write(int memfd, uint64_t addr, const void *buf, size_t len);

/* One thread held for running syscalls in the target. */
struct hp_inject {
	pid_t pid;
	pid_t tid;
	uint64_t syscall_insn;		/* address of a `syscall` instruction in the target */
	struct user_regs_struct saved;
	int pending_sig;
	bool attached;
	uint64_t start_ns;
	uint64_t scratch;		/* stack scratch area below the red zone */
};

/* Find the address of a `syscall` (0f 05) instruction in an executable mapping. */
int hp_find_syscall_insn(struct hp_ctx *ctx, pid_t pid, int memfd, uint64_t *ret_addr);

/*
 * Seize and stop one thread of pid (preferring an idle one).  Fails with
 * -HP_E_EXITED when the process no longer runs the program whose memory
 * memfd (/proc/PID/mem) was opened on: it executed another meanwhile.
 */
int hp_inject_begin(struct hp_ctx *ctx, pid_t pid, int memfd, uint64_t syscall_insn, struct hp_inject *inj);
/* Run one syscall in the held thread; *ret gets the raw return value (may be -errno). */
int hp_inject_syscall(struct hp_ctx *ctx, struct hp_inject *inj, long nr, const long args[6], long *ret);
/*
 * Call a function in the held thread: fn(args[0..5]) with the return
 * address pointing at 0, so its return stops the thread with SIGSEGV at
 * pc 0, which is suppressed.  For side-effect-free functions only (IFUNC
 * resolvers).  *ret gets rax.
 */
int hp_inject_call(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, uint64_t fn, const long args[6], long *ret);
/* Copy bytes into the held thread's stack scratch area; returns their address. */
int hp_inject_push(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, const void *buf, size_t len,
		   uint64_t *ret_addr);
/* Restore the thread's registers and detach; returns the time it was held. */
int hp_inject_end(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t *ret_held_ns);

#endif
