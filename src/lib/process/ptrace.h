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
	bool hold;			/* kept traced when the others are released, until it reaches its landing pad (pads.h) */
	int pending_sig;		/* signal to deliver on detach */
	struct user_regs_struct regs;	/* valid once stopped */
};

/* The calling thread's scheduling, raised to real-time around the critical steps. */
struct hp_prio {
	bool raised;
	bool known;			/* policy and param read (once per stop) */
	int policy;
	struct sched_param param;
	bool moved;			/* our CPU affinity was narrowed (away from a busy thread): this restores it */
	cpu_set_t affinity;
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
 * Before a stop: hp_touch_for_kernel (util.h) on a buffer the stop will copy
 * through -- except in such a worker, whose heap is warm already, reused
 * operation after operation (there the touch is only a cost).
 */
void hp_touch_before_stop(void *p, size_t n);

/*
 * Seize and stop every thread of pid.  Threads created meanwhile are caught
 * (PTRACE_O_TRACECLONE) and stopped too; threads that exit are dropped.
 * On failure nothing stays attached.  Errors: -HP_E_TRACED, -HP_E_STOPPED,
 * -HP_E_EXITED, -ETIMEDOUT (a thread did not stop within timeout_ms), -errno.
 */
int hp_threads_stop(struct hp_ctx *ctx, pid_t pid, unsigned timeout_ms, struct hp_threads *g);

/*
 * Move every stopped thread found inside the injection stub at stub (or
 * the map helper at helper, 0 if none) to where the stub would take it
 * (its own registers, from its save area).
 */
void hp_threads_settle(struct hp_threads *g, uint64_t stub, uint64_t helper);

/* Detach from every stopped thread (delivering suppressed signals); returns how many. */
int hp_threads_detach(struct hp_ctx *ctx, struct hp_threads *g);

/*
 * Waiting for frames redirected to landing pads (pads.h), without a trap
 * flag or a breakpoint: hp_threads_release_holding() detaches every thread
 * but those marked hold, which run on under PTRACE_SYSCALL;
 * hp_threads_wait_held() waits until each stops where arrived() says (or
 * exits, or the deadline passes; returns how many have not arrived);
 * hp_threads_stop_more() then stops the rest of the process into g.  Were
 * the patcher killed meanwhile, the kernel would let the held threads go
 * as they are: in a system call's stop, which leaves no trace.
 */
int hp_threads_release_holding(struct hp_ctx *ctx, struct hp_threads *g);
int hp_threads_wait_held(struct hp_ctx *ctx, struct hp_threads *g,
			 bool (*arrived)(void *ud, const struct user_regs_struct *regs), void *ud, uint64_t deadline);
int hp_threads_stop_more(struct hp_ctx *ctx, struct hp_threads *g, unsigned timeout_ms);

/* Open /proc/PID/mem read-write. */
int hp_mem_open(struct hp_ctx *ctx, pid_t pid);
int hp_mem_read(int memfd, uint64_t addr, void *buf, size_t len);
int hp_mem_write(int memfd, uint64_t addr, const void *buf, size_t len);

/*
 * One thread held for running system calls and functions in the target,
 * through the injection stub (stub.h): at every instant, a thread the
 * patcher's death would release is one that goes back to where it was.
 */
struct hp_inject {
	pid_t pid;
	pid_t tid;
	int memfd;			/* /proc/PID/mem */
	uint64_t stub;			/* the injection stub in the target (hp_stub_install) */
	struct user_regs_struct saved;
	int pending_sig;
	bool attached;
	bool redirected;		/* its registers were changed: it goes home through the stub */
	uint64_t start_ns;
	uint64_t save_at;		/* its registers, on its stack below the red zone */
	uint64_t scratch;		/* stack scratch area below the save area */
	struct hp_threads *g;		/* adopted from this stopped world (hp_inject_adopt), else NULL */
	size_t gi;			/* its index in g */
	bool reraise;			/* g's real-time priority dropped while the thread runs our calls */
};

/*
 * Seize and stop one thread of pid (preferring an idle one).  Fails with
 * -HP_E_EXITED when the process no longer runs the program whose memory
 * memfd (/proc/PID/mem) was opened on: it executed another meanwhile.
 */
int hp_inject_begin(struct hp_ctx *ctx, pid_t pid, int memfd, uint64_t stub, struct hp_inject *inj);
/*
 * Borrow a thread of a world that is already stopped (hp_threads_stop)
 * instead of seizing one: one stop of the process instead of two.  Its
 * registers go to its save area first; push (pushlen bytes, may be 0) is
 * copied to the scratch area in the same write (*ret_push_addr).  The
 * thread stays in g: hp_inject_end puts it back where it was and leaves it
 * stopped there, for the stack check and the release with the others.
 * -ENOENT when no thread is fit (every one has a signal to deliver or was
 * just born): the caller borrows one the usual way.
 */
int hp_inject_adopt(struct hp_ctx *ctx, struct hp_threads *g, int memfd, uint64_t stub, const void *push,
		    size_t pushlen, struct hp_inject *inj, uint64_t *ret_push_addr);
/* Run one syscall in the held thread; *ret gets the raw return value (may be -errno); ret NULL: not wanted. */
int hp_inject_syscall(struct hp_ctx *ctx, struct hp_inject *inj, long nr, const long args[6], long *ret);
/*
 * Map a patch image with the map helper at helper (stub.h) in one run of
 * the held thread: the caller has pushed the memfd's name and the mmap
 * table (at table) into the scratch area; sigs holds the signals (bit
 * N-1 for signal N) the process has no handler for, in a process without
 * seccomp filters.  res: the helper's final %r12 (the table entry it
 * stopped at), the descriptor or -errno of memfd_create, the last mmap
 * result; the descriptor is closed.  -ENOTSUP, with the thread untouched,
 * when no signal fits: the caller runs the calls one by one.
 */
int hp_inject_helper(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t helper, uint64_t sigs, uint64_t table,
		     uint64_t res[3]);
/*
 * Call a function in the held thread: fn(args[0..5]) returning into the
 * stub, whose system call stop gives us the result.  For side-effect-free
 * functions only (IFUNC resolvers).  *ret gets rax.
 */
int hp_inject_call(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, uint64_t fn, const long args[6], long *ret);
/* Copy bytes into the held thread's stack scratch area; returns their address. */
int hp_inject_push(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, const void *buf, size_t len,
		   uint64_t *ret_addr);
/*
 * Send the thread back to where it was (through the stub) and detach; an
 * adopted thread gets its own registers back and stays stopped in its
 * world.  *ret_held_ns: the time it was held.
 */
int hp_inject_end(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t *ret_held_ns);

/*
 * Test hook (docs/state-record.md): with HP_TEST_KILL_AT=NAME:N in the
 * environment, the calling process kills itself with SIGKILL at the N-th
 * pass (from 1) through the point NAME -- "inject" (a borrowed thread
 * stopped at an injected system call's entry), "helper" (the map helper's
 * thread redirected, resumed, stopped at its signal: three passes a run),
 * "entry-write" (after that
 * many entry writes of a commit), "pads" (frames redirected to landing
 * pads and their threads resumed, pads.h).  Tests use it to kill a patcher at an
 * exact step; it does nothing otherwise.
 */
void hp_test_kill_point(const char *name, unsigned n);

#endif
