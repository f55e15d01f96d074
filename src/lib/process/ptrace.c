/* SPDX-License-Identifier: MIT */
/*
 * Stopping, resuming and borrowing threads of a target process.
 *
 * All threads are stopped together: each is seized (PTRACE_SEIZE, which does
 * not stop it), then every one is sent PTRACE_INTERRUPT before we wait for
 * any, so the pause is the slowest thread's stop latency rather than the sum
 * of all of them.  Threads cloned meanwhile are attached automatically
 * (PTRACE_O_TRACECLONE) and start stopped.
 *
 * Waiting never uses waitpid(-1): a library must not reap its host's
 * children.  It polls each thread with WNOHANG, backing off from a spin to
 * short sleeps, so a thread stuck in uninterruptible sleep cannot hang us.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "lib/process/proc.h"
#include "lib/process/ptrace.h"
#include "lib/process/seize.h"
#include "lib/process/stub.h"
#include "shared/util.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/*
 * While the target's threads are stopped, the patcher must not be starved
 * by them: once the first released threads run, a busy process would take
 * the CPUs from the loop that releases the rest.  So the calling thread
 * runs SCHED_FIFO while it sends the interrupts and from the moment all
 * threads are stopped until the last is released, when it may (root), and
 * at its own policy in between, when the target's threads need the CPUs to
 * reach their stops.
 */
/*
 * The policy is read once per stop, before the first interrupt: the first
 * scheduler call of a process costs tens of microseconds on a virtual
 * machine, too much to pay with threads stopped.
 */
static void prio_known(struct hp_prio *ps)
{
	if (!ps->known)
		ps->known = pthread_getschedparam(pthread_self(), &ps->policy, &ps->param) == 0;
}

static void prio_raise(struct hp_prio *ps)
{
	struct sched_param rt = { .sched_priority = 1 };

	ps->raised = false;
	prio_known(ps);
	if (!ps->known)
		return;
	if (ps->policy == SCHED_FIFO || ps->policy == SCHED_RR)
		return;	/* already real-time: leave it */
	ps->raised = pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) == 0;
}

static void prio_restore(struct hp_prio *ps)
{
	if (ps->raised)
		pthread_setschedparam(pthread_self(), ps->policy, &ps->param);
	ps->raised = false;
}

/*
 * A process of one busy thread, stopped by a patcher that runs on that
 * thread's CPU: each waits for the other's time slice (milliseconds) at
 * every step -- the interrupt, each injected call.  So the patcher leaves
 * that CPU for the operation when there is another.  Not in a sweep (its
 * workers spread themselves) nor when the thread sleeps.
 */
static void cpu_avoid(struct hp_prio *ps, pid_t pid, pid_t tid)
{
	cpu_set_t want;
	char state = 0;
	int cpu = hp_proc_thread_cpu(pid, tid, &state);

	if (ps->moved || cpu < 0 || cpu >= CPU_SETSIZE || state != 'R' ||
	    sched_getaffinity(0, sizeof(ps->affinity), &ps->affinity) < 0 || !CPU_ISSET(cpu, &ps->affinity))
		return;
	want = ps->affinity;
	CPU_CLR(cpu, &want);
	if (CPU_COUNT(&want) > 0)
		ps->moved = sched_setaffinity(0, sizeof(want), &want) == 0;
}

static void cpu_restore(struct hp_prio *ps)
{
	if (ps->moved)
		sched_setaffinity(0, sizeof(ps->affinity), &ps->affinity);
	ps->moved = false;
}

/*
 * Short sleeps must be short: the default 50 us timer slack would dominate
 * them.  Lowered only when a wait really sleeps (a stop of idle threads
 * never does), and given back at the end of the operation.
 */
static __thread bool slack_saved;
static __thread long slack_old;

static void slack_lower(void)
{
	if (slack_saved)
		return;
	slack_old = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	slack_saved = slack_old > 0 && prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0;
}

static void slack_restore(void)
{
	if (slack_saved)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack_old, 0, 0, 0);
	slack_saved = false;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Workers of a host-wide sweep outnumber the CPUs and share them with the
 * threads they wait for: a worker that spins takes the CPU a tracee needs
 * to reach its stop.  Such a worker gives the CPU away while it waits.
 */
static __thread bool wait_yields;
static __thread uint64_t wait_since;	/* start of the current wait (round 0) */

void hp_ptrace_set_wait_yields(bool on)
{
	wait_yields = on;
}

void hp_touch_before_stop(void *p, size_t n)
{
	if (!wait_yields)
		hp_touch_for_kernel(p, n);
}

/*
 * Sleep for a short, growing interval while waiting for threads to stop:
 * spin first (stops usually complete within microseconds), then sleep in
 * steps small enough that a completed stop is noticed within ~20 us.
 *
 * The spin is bounded in time, not in rounds: a round polls every thread
 * of the process, and with 64 busy threads twenty rounds were ~4 ms of
 * this CPU, during which the threads queued on it could not run to reach
 * their stops (the scheduler lets the spinner finish its slice): the stop
 * of all threads took 4 or 8 ms, a multiple of the tick.
 */
#define SPIN_NS 60000ull	/* one thread's stop completes within this, usually */
#define SHORT_SLEEPS_NS 2000000ull

static void backoff_wait(unsigned *round)
{
	struct timespec ts = { 0, 0 };
	uint64_t now = hp_now_ns();

	if (*round == 0)
		wait_since = now;
	if (wait_yields) {
		/*
		 * Let the tracee (or another worker) run.  A yield is cheap while few tasks want the
		 * CPU; on a CPU crowded with runnable threads it costs a whole round of them, so
		 * once yields have taken longer than a stop normally does, sleep instead: a
		 * sleeper that wakes runs at once.
		 */
		ts.tv_nsec = 20000;
		if ((*round)++ < 100 && now - wait_since < 200000) {
			sched_yield();
		} else {
			slack_lower();
			nanosleep(&ts, NULL);
		}
		return;
	}
	(*round)++;
	if (now - wait_since < SPIN_NS)
		return;
	ts.tv_nsec = now - wait_since < SHORT_SLEEPS_NS ? 2000 : 20000;
	slack_lower();
	nanosleep(&ts, NULL);
}

void hp_threads_release(struct hp_threads *g)
{
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static struct hp_thread *thread_add(struct hp_threads *g, pid_t tid)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].tid == tid)
			return &g->v[i];
	if (HP_GROW(g->v, g->cap, g->n + 1) < 0)
		return NULL;
	memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
	g->v[g->n].tid = tid;
	return &g->v[g->n++];
}

/* A signal the CPU raises for the instruction it executes. */
static bool is_fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
}

/* Explain an EPERM from PTRACE_SEIZE: another tracer, or no permission. */
static int seize_error(struct hp_ctx *ctx, pid_t pid, pid_t tid, int err)
{
	int tracer;
	char comm[64] = "?";

	if (err == -EPERM) {
		tracer = hp_proc_tracer(pid);
		if (tracer > 0) {
			hp_proc_comm(tracer, comm, sizeof(comm));
			return hp_err(ctx, -HP_E_TRACED,
				      "pid %d is already traced by pid %d (%s); detach it first", pid, tracer, comm);
		}
		return hp_err(ctx, -EPERM,
			      "pid %d: not allowed to trace thread %d (needs CAP_SYS_PTRACE; see 'hotpatch assess')",
			      pid, tid);
	}
	return hp_err(ctx, err, "pid %d: cannot attach to thread %d: %s", pid, tid, strerror(-err));
}

/* Wait for a thread that must stop soon (after an interrupt) so that it can be detached. */
static int wait_stopped_blocking(pid_t tid, int *ret_sig)
{
	int st;
	unsigned round = 0;
	uint64_t deadline = hp_now_ns() + 5000000000ull;

	for (;;) {
		pid_t r = waitpid(tid, &st, __WALL | WNOHANG);

		if (r < 0)
			return -errno;
		if (r == tid) {
			if (WIFEXITED(st) || WIFSIGNALED(st))
				return -ESRCH;
			if (WIFSTOPPED(st)) {
				if ((st >> 16) == 0 && ret_sig && WSTOPSIG(st) != SIGTRAP)
					*ret_sig = WSTOPSIG(st);
				return 0;
			}
		}
		if (hp_now_ns() > deadline)
			return -ETIMEDOUT;
		backoff_wait(&round);
	}
}

/*
 * A thread we trace that was killed must be reaped before we attach to
 * anything else of its process: an exec waits for that (seize.h), and the
 * next seize would wait for the exec.  It dies promptly; the wait is
 * bounded by deadline (hp_now_ns() time).
 */
static void reap_dying_until(pid_t tid, uint64_t deadline)
{
	unsigned round = 0;
	int st;

	while (hp_now_ns() < deadline) {
		pid_t w = waitpid(tid, &st, __WALL | WNOHANG);

		if (w < 0 || (w == tid && (WIFEXITED(st) || WIFSIGNALED(st))))
			return;
		if (w == 0)
			backoff_wait(&round);
	}
}

static void reap_dying(pid_t tid)
{
	reap_dying_until(tid, hp_now_ns() + 2000000000ull);
}

/*
 * Let a stopped thread go.  PTRACE_DETACH fails with ESRCH when the
 * thread was killed while we held it (an exec in another thread kills
 * all the others): it is then a zombie only we can reap, and an exec of
 * its process waits for that, so reap it now.  Returns 0 when detached.
 */
static int detach_or_reap(pid_t tid, int sig)
{
	if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) == 0)
		return 0;
	if (errno != ESRCH)
		return -errno;
	reap_dying(tid);
	return -ESRCH;
}

int hp_threads_detach(struct hp_ctx *ctx, struct hp_threads *g)
{
	uint64_t deadline;
	size_t i;
	int n = 0;

	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];

		if (!t->seized || t->gone || t->hold)
			continue;
		if (!t->stopped) {
			/* Seized but not stopped yet: it must stop before it can be detached. */
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
			if (wait_stopped_blocking(t->tid, &t->pending_sig) < 0) {
				hp_warn(ctx, "ptrace: thread %d did not stop for detach; it is released when this "
					     "process exits", t->tid);
				continue;
			}
		}
		if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->pending_sig) == 0)
			n++;
		else if (errno == ESRCH)
			t->dying = true;
		t->seized = false;
		t->stopped = false;
	}
	/* Threads killed while held are reaped (detach_or_reap), all within one bound. */
	for (i = 0, deadline = 0; i < g->n; i++) {
		if (!g->v[i].dying)
			continue;
		if (!deadline)
			deadline = hp_now_ns() + 2000000000ull;
		reap_dying_until(g->v[i].tid, deadline);
		g->v[i].dying = false;
		g->v[i].gone = true;
	}
	/* The last thread runs again now; our own return to normal priority may wait for a CPU. */
	g->released_ns = hp_now_ns();
	prio_restore(&g->prio);
	cpu_restore(&g->prio);
	slack_restore();
	return n;
}

/* TracerPid of one thread (0 if none or unreadable). */
static pid_t thread_tracer(pid_t pid, pid_t tid)
{
	char path[96], buf[2048], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (hp_read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nTracerPid:");
	return p ? (pid_t)strtol(p + strlen("\nTracerPid:"), NULL, 10) : 0;
}

/* A thread that PTRACE_SEIZE refused with EPERM because it is exiting (a zombie, or already gone). */
static bool thread_exiting(pid_t pid, pid_t tid)
{
	char st = hp_proc_thread_state(pid, tid);

	return st == 0 || st == 'Z' || st == 'X';
}

/*
 * Seize one more thread of g's process.  While we hold others, an exec in
 * the process would make a plain seize wait for us to reap the threads it
 * killed (seize.h): let the reaper do that, and drop what it reaped.
 */
static int seize_holding(struct hp_threads *g, pid_t tid)
{
	_cleanup_free_ pid_t *held = NULL;
	size_t i, n = 0;
	int r;

	for (i = 0; i < g->n; i++)
		if (g->v[i].seized && !g->v[i].gone)
			n++;
	if (n) {
		held = malloc(n * sizeof(*held));
		if (!held)
			return -ENOMEM;
		n = 0;
		for (i = 0; i < g->n; i++)
			if (g->v[i].seized && !g->v[i].gone)
				held[n++] = g->v[i].tid;
	}
	r = hp_seize_guarded(tid, PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD, held, n);
	for (i = 0, n = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];

		if (!t->seized || t->gone)
			continue;
		if (!held[n++]) {
			t->gone = true;
			t->seized = false;
		}
	}
	return r;
}

/* Seize every thread listed in /proc until the list stops growing (or after max_rounds listings). */
static int seize_all(struct hp_ctx *ctx, pid_t pid, struct hp_threads *g, int max_rounds)
{
	int round;

	for (round = 0; round < max_rounds; round++) {
		_cleanup_free_ pid_t *tids = NULL;
		size_t n, i;
		bool added = false;
		int r = hp_proc_threads(pid, &tids, &n);

		if (r == -ENOENT)
			return hp_err(ctx, -ESRCH, "pid %d: no such process", pid);
		if (r < 0)
			return hp_err(ctx, r, "pid %d: cannot list threads: %s", pid, strerror(-r));
		for (i = 0; i < n; i++) {
			struct hp_thread *t = thread_add(g, tids[i]);

			if (!t)
				return -ENOMEM;
			if (t->seized || t->gone)
				continue;
			added = true;
			r = seize_holding(g, tids[i]);
			if (r < 0) {
				int err = -r;

				if (err == ESRCH) {
					t->gone = true;
					continue;
				}
				if (err == EPERM && thread_tracer(pid, tids[i]) == getpid()) {
					/* cloned by a thread we hold: already ours, stopped at birth */
					t->seized = true;
					t->fresh = true;
					continue;
				}
				if (err == EPERM && thread_exiting(pid, tids[i])) {
					/* an exiting thread refuses a tracer; it runs no more user code */
					t->gone = true;
					continue;
				}
				return seize_error(ctx, pid, tids[i], -err);
			}
			t->seized = true;
		}
		if (!added || round + 1 == max_rounds)
			return 0;
	}
	return hp_err(ctx, -EAGAIN, "pid %d: threads keep appearing faster than they can be attached", pid);
}

/*
 * Why one listing of /proc/PID/task can be enough: once every thread we
 * seized is stopped or reaped, a thread we do not hold (one created before
 * its creator was seized) still counts in the process's number of
 * threads, which the directory's link count tells (2 + threads) in one
 * system call.  Equal to the number we hold: there is none; otherwise the
 * caller lists again.
 */
static bool holds_all(pid_t pid, const struct hp_threads *g)
{
	char path[64];
	struct stat st;
	size_t i, n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (stat(path, &st) < 0)
		return false;
	for (i = 0; i < g->n; i++)
		if (g->v[i].seized && !g->v[i].gone)
			n++;
	return st.st_nlink == n + 2;
}

static int handle_stop(struct hp_ctx *ctx, struct hp_threads *g, size_t idx, int st, bool fresh)
{
	struct hp_thread *t = &g->v[idx];
	int event = st >> 16, sig = WSTOPSIG(st);

	if (event == PTRACE_EVENT_STOP) {
		t->fresh = false;
		if (is_stop_signal(sig) && !fresh)
			return hp_err(ctx, -HP_E_STOPPED,
				      "pid %d was stopped by signal %d (job control) during the operation; resume it "
				      "(kill -CONT %d) and retry", g->pid, sig, g->pid);
		t->stopped = true;
		return 0;
	}
	if (event == PTRACE_EVENT_CLONE) {
		unsigned long newtid = 0;
		struct hp_thread *nt;

		t->stopped = true;
		if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &newtid) == 0 && newtid) {
			nt = thread_add(g, (pid_t)newtid);
			if (!nt)
				return -ENOMEM;
			nt->seized = true;	/* auto-attached, starts in a ptrace stop */
			nt->fresh = true;
		}
		return 0;
	}
	if (event == PTRACE_EVENT_EXEC)
		return hp_err(ctx, -HP_E_EXITED, "pid %d executed a new program during the operation", g->pid);
	if (event == 0 && sig == (SIGTRAP | 0x80)) {
		/* a system-call stop of a thread held for a landing pad (pads.h): nothing to deliver */
		t->stopped = true;
		return 0;
	}
	if (event == 0) {
		/* signal-delivery-stop: keep the signal for delivery on detach */
		t->stopped = true;
		if (sig != SIGTRAP || !t->pending_sig)
			t->pending_sig = sig;
		return 0;
	}
	t->stopped = true;
	return 0;
}

static int stop_all(struct hp_ctx *ctx, pid_t pid, unsigned timeout_ms, struct hp_threads *g);

/*
 * Why no look at the process's state first (three system calls per
 * process in a sweep): a process stopped by job control shows it at the
 * first interrupt's stop, one traced by another refuses the seize; the
 * state is read only then, to say which.
 */
int hp_threads_stop(struct hp_ctx *ctx, pid_t pid, unsigned timeout_ms, struct hp_threads *g)
{
	int r;

	memset(g, 0, sizeof(*g));
	g->pid = pid;
	r = stop_all(ctx, pid, timeout_ms, g);
	if (r == -HP_E_STOPPED && hp_proc_thread_state(pid, pid) == 'T')
		r = hp_err(ctx, -HP_E_STOPPED,
			   "pid %d is stopped (job control); resume it with 'kill -CONT %d' before patching", pid, pid);
	return r;
}

/*
 * Seize and stop every thread of g's process that g does not hold stopped
 * already (all of them for hp_threads_stop; the others than those held at
 * landing pads for hp_threads_stop_more).
 */
static int stop_all(struct hp_ctx *ctx, pid_t pid, unsigned timeout_ms, struct hp_threads *g)
{
	uint64_t deadline;
	unsigned round;
	size_t i, n;
	int r, pass = 0;

again:
	round = 0;
	/* One listing first; holds_all() below says whether another is needed. */
	r = seize_all(ctx, pid, g, pass ? 64 : 1);
	if (r < 0)
		goto fail;

	/*
	 * Real-time while the interrupts go out (a busy process must not take the CPU from this
	 * loop) only when there is a loop, and not in a sweep (wait_yields): its workers share
	 * the CPUs with each other and with the threads they stop.
	 */
	for (i = 0, n = 0; i < g->n; i++)
		if (g->v[i].seized && !g->v[i].gone && !g->v[i].stopped)
			n++;
	if (n > 1 && !wait_yields) {
		prio_raise(&g->prio);
	} else if (!wait_yields && g->n > 1) {
		prio_known(&g->prio);	/* raised once all are stopped (below) */
	} else if (!wait_yields && n == 1 && !pass) {
		cpu_avoid(&g->prio, pid, g->v[0].tid);
	}
	if (!pass) {
		hp_touch_before_stop(g->v, g->n * sizeof(*g->v));	/* the registers are read into it */
		g->stop_start_ns = hp_now_ns();
	}
	for (i = 0; i < g->n; i++) {
		if (!g->v[i].seized || g->v[i].gone || g->v[i].stopped)
			continue;
		if (ptrace(PTRACE_INTERRUPT, g->v[i].tid, 0, 0) < 0 && errno == ESRCH)
			g->v[i].gone = true;
	}
	prio_restore(&g->prio);
	deadline = g->stop_start_ns + (uint64_t)(timeout_ms ? timeout_ms : 2000) * 1000000ull;
	for (;;) {
		bool all = true;

		for (i = 0; i < g->n; i++) {
			struct hp_thread *t = &g->v[i];
			int ws;
			pid_t w;

			if (t->gone || !t->seized)
				continue;
			if (t->stopped) {
				/*
				 * Held, and killed meanwhile (an exec in another thread kills the
				 * others and waits, in state D, until they are reaped): reap it, or
				 * the exec and this wait block each other until the deadline.  Looked
				 * at every 16th round only: a round is a system call per thread.
				 */
				if (round % 16 == 15 && waitpid(t->tid, &ws, __WALL | WNOHANG) == t->tid &&
				    (WIFEXITED(ws) || WIFSIGNALED(ws))) {
					t->gone = true;
					t->stopped = false;
				}
				continue;
			}
			w = waitpid(t->tid, &ws, __WALL | WNOHANG);
			if (w < 0) {
				if (errno == ECHILD) {
					t->gone = true;
					continue;
				}
				r = hp_err(ctx, -errno, "pid %d: waitpid(%d): %s", pid, t->tid, strerror(errno));
				goto fail;
			}
			if (w == 0) {
				all = false;
				continue;
			}
			if (WIFEXITED(ws) || WIFSIGNALED(ws)) {
				t->gone = true;
				continue;
			}
			/* t may move if handle_stop grows the array: use the index */
			r = handle_stop(ctx, g, i, ws, g->v[i].fresh);
			t = &g->v[i];
			if (r < 0)
				goto fail;
			if (!t->stopped)
				all = false;
		}
		if (all) {
			/*
			 * Real-time until the release; in a sweep only when a thread was still running
			 * at the first look (an idle process needs nothing: its threads stop at once).
			 * Not for a process of one thread: none of its own can take the CPU from us
			 * (its only thread runs our injected calls at our normal priority anyway),
			 * and the two policy changes cost more (~15 us here) than they protect.
			 */
			if ((!wait_yields || round > 0) && g->n > 1)
				prio_raise(&g->prio);
			break;
		}
		if (hp_now_ns() > deadline) {
			for (i = 0; i < g->n; i++)
				if (g->v[i].seized && !g->v[i].gone && !g->v[i].stopped)
					break;
			r = hp_err(ctx, -ETIMEDOUT,
				   "pid %d: thread %d did not stop within %u ms (state %c: uninterruptible sleep?)", pid,
				   i < g->n ? g->v[i].tid : 0, timeout_ms,
				   i < g->n ? hp_proc_thread_state(pid, g->v[i].tid) ?: '?' : '?');
			goto fail;
		}
		backoff_wait(&round);
	}
	if (!pass && !holds_all(pid, g)) {
		pass = 1;
		goto again;
	}
	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];

		if (t->gone || !t->stopped)
			continue;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) < 0) {
			if (errno == ESRCH) {
				t->gone = true;
				continue;
			}
			r = hp_err(ctx, -errno, "pid %d: cannot read registers of thread %d: %s", pid, t->tid,
				   strerror(errno));
			goto fail;
		}
	}
	for (i = 0; i < g->n; i++)
		if (!g->v[i].gone)
			break;
	if (i == g->n) {
		r = hp_err(ctx, -HP_E_EXITED, "pid %d exited during the operation", pid);
		goto fail;
	}
	return 0;
fail:
	for (i = 0; i < g->n; i++)
		g->v[i].hold = false;
	hp_threads_detach(ctx, g);
	if (r == -ESRCH || r == -HP_E_EXITED) {
		if (hp_proc_thread_state(pid, pid) == 0 || hp_proc_thread_state(pid, pid) == 'Z')
			r = hp_err(ctx, -HP_E_EXITED, "pid %d exited during the operation", pid);
	}
	return r;
}

/*
 * A thread found inside the injection stub (released by an earlier stop or
 * operation, by us or by a patcher that died, and not yet scheduled) has a
 * future fixed by the stub: pop its registers from the save area and
 * return.  Do that for it now, so that the stack check sees the thread's
 * own state rather than a stub without unwind information.  Skipping a
 * getpid (or a pending injected call of a dead patcher) is harmless.
 */
static void settle_one(struct hp_threads *g, struct hp_thread *t, uint64_t stub, uint64_t helper)
{
	uint64_t off = t->regs.rip - stub, at;
	struct hp_save_area sa;
	struct user_regs_struct regs = t->regs;
	struct iovec l = { &sa, sizeof(sa) }, rv;

	/* in the map helper (a dead patcher's): rbx holds the save area there too */
	if (helper && t->regs.rip - helper < HP_HELPER_SIZE)
		off = 0;
	else if (off >= HP_STUB_SIZE)
		return;
	at = off == HP_STUB_RET ? t->regs.rsp - 128 : t->regs.rbx;	/* at `ret`, rbx is its own again */
	rv.iov_base = (void *)(uintptr_t)at;
	rv.iov_len = sizeof(sa);
	if (process_vm_readv(g->pid, &l, 1, &rv, 1, 0) != (ssize_t)sizeof(sa))
		return;
	regs.eflags = (regs.eflags & ~0xcd5ull) | (sa.rflags & 0xcd5ull);	/* the arithmetic and direction flags */
	regs.rax = sa.rax;
	regs.rcx = sa.rcx;
	regs.rdx = sa.rdx;
	regs.rsi = sa.rsi;
	regs.rdi = sa.rdi;
	regs.rbp = sa.rbp;
	regs.r8 = sa.r8;
	regs.r9 = sa.r9;
	regs.r10 = sa.r10;
	regs.r11 = sa.r11;
	regs.r12 = sa.r12;
	regs.r13 = sa.r13;
	regs.r14 = sa.r14;
	regs.r15 = sa.r15;
	if (off != HP_STUB_RET)
		regs.rbx = sa.rbx;
	regs.rip = sa.rip;
	regs.rsp = at + HP_SAVE_BELOW;
	regs.orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs) == 0)
		t->regs = regs;
}

void hp_threads_settle(struct hp_threads *g, uint64_t stub, uint64_t helper)
{
	size_t i;

	if (!stub)
		return;
	for (i = 0; i < g->n; i++)
		if (!g->v[i].gone && g->v[i].stopped)
			settle_one(g, &g->v[i], stub, helper);
}

/*
 * Let every thread go but those marked hold: they are resumed with
 * PTRACE_SYSCALL and stay ours, so that the next system call they make
 * stops them (pads.h).  A held thread gets no clone events meanwhile: a
 * thread it creates is seized by the next stop like any other.
 */
int hp_threads_release_holding(struct hp_ctx *ctx, struct hp_threads *g)
{
	size_t i;
	int n = 0;

	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];

		if (!t->hold || t->gone || !t->stopped)
			continue;
		ptrace(PTRACE_SETOPTIONS, t->tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD);
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, (void *)(long)t->pending_sig) < 0) {
			t->hold = false;	/* detached with the others below */
			continue;
		}
		t->pending_sig = 0;
		t->stopped = false;
		n++;
	}
	hp_threads_detach(ctx, g);
	return n;
}

/*
 * Wait until every held thread stops where arrived() says (it then stays
 * stopped), exits, or deadline (hp_now_ns()) passes.  Any other stop is
 * passed on: the next system-call stop, a signal delivered as it came.
 * Returns how many held threads have not arrived.
 */
int hp_threads_wait_held(struct hp_ctx *ctx, struct hp_threads *g,
			 bool (*arrived)(void *ud, const struct user_regs_struct *regs), void *ud, uint64_t deadline)
{
	unsigned round = 0;
	size_t i;

	for (;;) {
		unsigned left = 0;
		bool moved = false;

		for (i = 0; i < g->n; i++) {
			struct hp_thread *t = &g->v[i];
			int st, sig = 0;
			pid_t w;

			if (!t->hold || t->gone || t->stopped)
				continue;
			w = waitpid(t->tid, &st, __WALL | WNOHANG);
			if (w < 0 || (w == t->tid && (WIFEXITED(st) || WIFSIGNALED(st)))) {
				t->gone = true;
				t->hold = false;
				continue;
			}
			if (w == 0) {
				left++;
				continue;
			}
			moved = true;
			if (WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80)) {
				if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) == 0 && arrived(ud, &t->regs)) {
					t->stopped = true;
					continue;
				}
			} else if (WIFSTOPPED(st) && (st >> 16) == 0) {
				sig = WSTOPSIG(st);	/* a signal: delivered as it would have been */
			} else if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_STOP && is_stop_signal(WSTOPSIG(st))) {
				/* job control stopped the process: wait for it with the others (hp_threads_stop says) */
				t->stopped = true;
				t->hold = false;
				continue;
			}
			if (ptrace(PTRACE_SYSCALL, t->tid, 0, (void *)(long)sig) < 0 && errno == ESRCH) {
				t->gone = true;
				t->hold = false;
				continue;
			}
			left++;
		}
		if (!left)
			return 0;
		if (hp_now_ns() > deadline)
			return (int)left;
		if (moved)
			round = 0;
		backoff_wait(&round);
	}
	(void)ctx;
}

/*
 * Stop the rest of the process while g still holds threads stopped at
 * their pads (or running towards them: those are stopped too).  On failure
 * nothing stays attached.
 */
int hp_threads_stop_more(struct hp_ctx *ctx, struct hp_threads *g, unsigned timeout_ms)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];

		t->hold = false;	/* from now on, one of the stopped world */
		if (!t->seized && !t->gone) {
			/* released meanwhile: its signals were delivered then */
			t->pending_sig = 0;
			t->fresh = false;
			t->stopped = false;
		}
	}
	return stop_all(ctx, g->pid, timeout_ms, g);
}

int hp_mem_open(struct hp_ctx *ctx, pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		/* ESRCH: the process is exiting (its /proc entry is still there, its memory is gone) */
		if (e == ENOENT || e == ESRCH)
			return hp_err(ctx, -ESRCH, "pid %d: no such process (it exited)", pid);
		return hp_err(ctx, -e, "pid %d: cannot open its memory: %s", pid, strerror(e));
	}
	return fd;
}

int hp_mem_read(int memfd, uint64_t addr, void *buf, size_t len)
{
	int r = hp_pread_all(memfd, buf, len, addr);

	return r == -EIO ? -EFAULT : r;
}

int hp_mem_write(int memfd, uint64_t addr, const void *buf, size_t len)
{
	int r = hp_pwrite_all(memfd, buf, len, addr);

	return r == -EIO ? -EFAULT : r;
}

/*
 * Seize and stop one thread for injection.  Returns 1 when the thread
 * vanished before it stopped (the caller picks another), 0 when it is
 * stopped and ours, or a negative error already reported.
 */
static int borrow_thread(struct hp_ctx *ctx, pid_t pid, pid_t tid, struct hp_inject *inj)
{
	uint64_t deadline;
	unsigned round = 0;
	int r, st;

	inj->tid = tid;
	inj->pending_sig = 0;
	inj->start_ns = hp_now_ns();
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		int err = errno;

		if (err == ESRCH || (err == EPERM && thread_exiting(pid, tid)))
			return 1;
		return seize_error(ctx, pid, tid, -err);
	}
	inj->attached = true;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		if (errno == ESRCH) {
			reap_dying(tid);
			inj->attached = false;
			return 1;
		}
		r = hp_err(ctx, -errno, "pid %d: cannot interrupt thread %d: %s", pid, tid, strerror(errno));
		goto fail;
	}
	deadline = hp_now_ns() + 2000000000ull;
	for (;;) {
		pid_t w = waitpid(tid, &st, __WALL | WNOHANG);

		if (w < 0 || (w == tid && (WIFEXITED(st) || WIFSIGNALED(st)))) {
			inj->attached = false;
			return 1;
		}
		if (w == tid) {
			if ((st >> 16) == PTRACE_EVENT_STOP && is_stop_signal(WSTOPSIG(st))) {
				r = hp_err(ctx, -HP_E_STOPPED, "pid %d is stopped (job control)", pid);
				goto fail_stopped;
			}
			if ((st >> 16) == 0) {
				/*
				 * A signal arrived first.  Holding it back until we detach would lose it
				 * if we were killed meanwhile: let it be delivered, and borrow another.
				 */
				detach_or_reap(tid, WSTOPSIG(st));
				inj->attached = false;
				return 1;
			}
			break;
		}
		if (hp_now_ns() > deadline) {
			r = hp_err(ctx, -ETIMEDOUT, "pid %d: thread %d did not stop within 2 s", pid, tid);
			goto fail;
		}
		backoff_wait(&round);
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, &inj->saved) < 0) {
		if (errno == ESRCH) {
			/* killed while stopped (an exec in another thread does that) */
			reap_dying(tid);
			inj->attached = false;
			return 1;
		}
		r = hp_err(ctx, -errno, "pid %d: cannot read registers: %s", pid, strerror(errno));
		goto fail_stopped;
	}
	/*
	 * The thread's own registers go to its stack, below the red zone, before anything is changed:
	 * from the first redirect on, the stub can take it home from there by itself.
	 */
	{
		struct hp_save_area sa;

		inj->save_at = inj->saved.rsp - HP_SAVE_BELOW;
		inj->scratch = (inj->save_at - 512) & ~15ull;
		hp_save_area_fill(&sa, &inj->saved);
		r = hp_mem_write(inj->memfd, inj->save_at, &sa, sizeof(sa));
		if (r < 0) {
			r = hp_err(ctx, r, "pid %d: cannot write to the stack of thread %d: %s", pid, tid, strerror(-r));
			goto fail_stopped;
		}
	}
	return 0;
fail:
	if (wait_stopped_blocking(tid, &inj->pending_sig) < 0) {
		inj->attached = false;
		return r;
	}
fail_stopped:
	detach_or_reap(tid, inj->pending_sig);
	inj->attached = false;
	return r;
}

/*
 * The borrowed thread runs code at an address found in the program the
 * caller examined.  memfd (/proc/PID/mem, opened before) reaches only the
 * memory of that program: after an exec, reading through it fails.  Once
 * a thread is stopped, no exec can complete until we let it go, so a
 * successful read of the stub now means it is still there.
 */
static int same_program(struct hp_ctx *ctx, struct hp_inject *inj, int memfd)
{
	if (hp_stub_present(memfd, inj->stub))
		return 0;
	detach_or_reap(inj->tid, inj->pending_sig);
	inj->attached = false;
	return hp_err(ctx, -HP_E_EXITED, "pid %d executed another program during the operation", inj->pid);
}

/*
 * Pick the thread to borrow.  An idle thread (asleep in a system call)
 * is best: the threads doing work then only notice the stop of all
 * threads, not the system calls run on the borrowed one.  Sleeping there
 * costs it nothing: its call is restarted (ERESTARTSYS) when its registers
 * are restored, and the stop of all threads interrupts it anyway.  Else a
 * thread running in user space, else the first live thread.  skip is a
 * thread that just vanished under us.
 */
static pid_t pick_thread(pid_t pid, bool main_will_do, pid_t skip)
{
	_cleanup_free_ pid_t *tids = NULL;
	pid_t running = 0, any = 0;
	size_t n, i;
	char st;

	if (pid != skip) {
		st = hp_proc_thread_state(pid, pid);
		/*
		 * A sweep stops every thread of the process right after this anyway, so looking
		 * further (a read per thread) buys nothing there: the main thread will do if it
		 * stops promptly (running, or in an interruptible sleep).
		 */
		if ((st == 'S') || (main_will_do && st == 'R'))
			return pid;
	}
	if (hp_proc_threads(pid, &tids, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (tids[i] == skip || tids[i] == pid)
			continue;
		st = hp_proc_thread_state(pid, tids[i]);
		if (st == 'S')
			return tids[i];
		if (st == 'R' && !running)
			running = tids[i];
		if (!any && st && st != 'Z' && st != 'X')
			any = tids[i];
	}
	if (running)
		return running;
	if (pid != skip && (st = hp_proc_thread_state(pid, pid)) && st != 'Z' && st != 'X')
		return pid;
	return any;
}

int hp_inject_begin(struct hp_ctx *ctx, pid_t pid, int memfd, uint64_t stub, struct hp_inject *inj)
{
	pid_t tid, skip = 0;
	int r, attempt;

	memset(inj, 0, sizeof(*inj));
	inj->pid = pid;
	inj->stub = stub;
	inj->memfd = memfd;
	/*
	 * Threads may exit between the choice and the seize (short-lived workers often do): then
	 * choose again.  After a few such losses take the main thread, which lives as long as the
	 * process unless it called pthread_exit.
	 */
	for (attempt = 0; attempt < 16; attempt++) {
		tid = pick_thread(pid, wait_yields || attempt >= 4, skip);
		if (!tid)
			break;
		r = borrow_thread(ctx, pid, tid, inj);
		if (r < 0)
			return r;
		if (r == 0)
			return same_program(ctx, inj, memfd);
		skip = tid;
	}
	if (hp_proc_thread_state(pid, pid) == 0 || hp_proc_thread_state(pid, pid) == 'Z')
		return hp_err(ctx, -HP_E_EXITED, "pid %d exited during the operation", pid);
	return hp_err(ctx, -EAGAIN, "pid %d: every thread chosen to run a system call exited before it stopped",
		      pid);
}

/*
 * Wait for a thread we just resumed for one short step.  Spinning for up
 * to 2 ms keeps this CPU awake, so the wake-up after the step costs
 * nothing (a blocking wait halts the CPU, and on a virtual machine each
 * round trip then pays for waking it); after that, block.
 */
static int wait_step(pid_t tid, int *st)
{
	uint64_t until = hp_now_ns() + 2000000ull;
	pid_t w;

	if (wait_yields)
		return waitpid(tid, st, __WALL) < 0 ? -1 : 0;

	do {
		w = waitpid(tid, st, __WALL | WNOHANG);
		if (w != 0)
			return w < 0 ? -1 : 0;
	} while (hp_now_ns() < until);
	return waitpid(tid, st, __WALL) < 0 ? -1 : 0;
}

void hp_test_kill_point(const char *name, unsigned n)
{
	const char *v = getenv("HP_TEST_KILL_AT");
	size_t len = strlen(name);

	if (v && !strncmp(v, name, len) && v[len] == ':' && strtoul(v + len + 1, NULL, 10) == n)
		raise(SIGKILL);
}

/*
 * Let the held thread run until it is back at the stub's system call and
 * through it: its entry stop, then its exit stop (PTRACE_SYSCALL; the
 * kernel drops these stops if we die, and the thread then simply goes on
 * through the stub's return path).  Other system calls on the way (a called
 * function's, a signal handler's) are let through; signals are delivered as
 * they come, so none is held back in a tracer that could die.  For a call,
 * *ret is the function's result (moved to rdi at the stub's entry), else the
 * system call's.
 */
static int inject_run(struct hp_ctx *ctx, struct hp_inject *inj, bool is_call, const char *what, long *ret,
		      const struct user_regs_struct *set)
{
	static _Atomic unsigned nentries;	/* the "inject" kill point counts every entry (sweep workers too) */
	struct __ptrace_syscall_info info;
	uint64_t at = inj->stub + HP_STUB_SYSCALL + 2, deadline = hp_now_ns() + 20000000000ull;
	bool entered = false;
	int sig = 0, st;

	for (;;) {
		if (ptrace(PTRACE_SYSCALL, inj->tid, 0, (void *)(long)sig) < 0)
			return hp_err(ctx, -errno, "pid %d: cannot resume thread %d: %s", inj->pid, inj->tid,
				      strerror(errno));
		sig = 0;
		if (wait_step(inj->tid, &st) < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			inj->attached = false;
			return hp_err(ctx, -HP_E_EXITED, "pid %d exited during the operation", inj->pid);
		}
		if (!WIFSTOPPED(st))
			continue;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			/*
			 * Every system-call stop is identified (PTRACE_GET_SYSCALL_INFO): the first one
			 * after the registers were set is not always our call's entry (t2007 once saw our
			 * call run with the number -ENOSYS), and a misread exit would leave the thread at
			 * an entry stop, where restoring its registers cancels a call and clobbers rax.
			 */
			if (ptrace(PTRACE_GET_SYSCALL_INFO, inj->tid, (void *)sizeof(info), &info) <= 0)
				return hp_err(ctx, -errno, "pid %d: cannot read the system call of thread %d", inj->pid,
					      inj->tid);
			if (info.instruction_pointer == at && info.op == PTRACE_SYSCALL_INFO_ENTRY) {
				hp_test_kill_point("inject", ++nentries);
				if (set && info.entry.nr != set->rax) {
					/*
					 * Not the number we set: the thread was at an entry stop when its registers
					 * were set, that call was cancelled and its -ENOSYS replaced our number.
					 * At this entry stop, the number (orig_rax) can still be put right.
					 */
					struct user_regs_struct fix = *set;

					fix.orig_rax = set->rax;
					fix.rip = at;
					if (ptrace(PTRACE_SETREGS, inj->tid, 0, &fix) < 0)
						return hp_err(ctx, -errno, "pid %d: cannot set registers: %s", inj->pid,
							      strerror(errno));
					hp_debug(ctx, "pid %d: thread %d entered the stub with call %llu instead of %llu; "
						 "corrected", inj->pid, inj->tid, (unsigned long long)info.entry.nr,
						 (unsigned long long)set->rax);
				}
				entered = true;
				if (is_call)
					*ret = (long)info.entry.args[0];
			} else if (info.instruction_pointer == at && info.op == PTRACE_SYSCALL_INFO_EXIT && entered) {
				if (!is_call && ret)
					*ret = (long)info.exit.rval;
				return 0;
			}
		} else if ((st >> 16) == PTRACE_EVENT_STOP) {
			if (is_stop_signal(WSTOPSIG(st)))
				return hp_err(ctx, -HP_E_STOPPED, "pid %d was stopped (job control) during the operation",
					      inj->pid);
		} else if ((st >> 16) == 0) {
			struct user_regs_struct regs;

			sig = WSTOPSIG(st);
			if (is_fault_signal(sig) && ptrace(PTRACE_GETREGS, inj->tid, 0, &regs) == 0 &&
			    (regs.rip - inj->stub < HP_STUB_SIZE || is_call))
				/* our code faulted: the thread goes home through the stub (hp_inject_end) */
				return hp_err(ctx, -EFAULT, "pid %d: %s faulted (signal %d at %#llx)", inj->pid, what, sig,
					      regs.rip);
		}
		if (hp_now_ns() > deadline) {
			ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0);
			wait_stopped_blocking(inj->tid, NULL);
			return hp_err(ctx, -ETIMEDOUT, "pid %d: %s did not complete within 20 s", inj->pid, what);
		}
	}
}

/* Registers that send the held thread through the stub: the save area in rbx, nothing to restart. */
static struct user_regs_struct redirect_regs(const struct hp_inject *inj, uint64_t rip, uint64_t rsp)
{
	struct user_regs_struct regs = inj->saved;

	regs.rip = rip;
	regs.rsp = rsp;
	regs.rbx = inj->save_at;
	regs.orig_rax = (unsigned long long)-1;
	regs.eflags &= ~0x100ull;
	return regs;
}

int hp_inject_syscall(struct hp_ctx *ctx, struct hp_inject *inj, long nr, const long args[6], long *ret)
{
	struct user_regs_struct regs = redirect_regs(inj, inj->stub + HP_STUB_SYSCALL, inj->scratch - 64);
	char what[64];

	regs.rax = (unsigned long long)nr;
	regs.rdi = (unsigned long long)args[0];
	regs.rsi = (unsigned long long)args[1];
	regs.rdx = (unsigned long long)args[2];
	regs.r10 = (unsigned long long)args[3];
	regs.r8 = (unsigned long long)args[4];
	regs.r9 = (unsigned long long)args[5];
	if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) < 0)
		return hp_err(ctx, -errno, "pid %d: cannot set registers: %s", inj->pid, strerror(errno));
	inj->redirected = true;
	snprintf(what, sizeof(what), "the injected system call %ld", nr);
	return inject_run(ctx, inj, false, what, ret, &regs);
}

int hp_inject_helper(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t helper, uint64_t sigs, uint64_t table,
		     uint64_t res[3])
{
	static const int cand[] = { SIGURG, SIGWINCH, SIGCHLD };
	static _Atomic unsigned npass;	/* the "helper" kill point counts every pass (sweep workers too) */
	struct user_regs_struct regs = redirect_regs(inj, helper, inj->scratch - 64);
	uint64_t deadline = hp_now_ns() + 20000000000ull, blocked;
	uint32_t who[3];
	int sig = 0, st;
	size_t i;

	/* A signal with no handler (sigs) that this thread does not block, or the calls one by one. */
	if (ptrace(PTRACE_GETSIGMASK, inj->tid, (void *)sizeof(blocked), &blocked) < 0)
		return -ENOTSUP;
	for (i = 0; i < sizeof(cand) / sizeof(cand[0]) && !sig; i++)
		if ((sigs >> (cand[i] - 1) & 1) && !(blocked >> (cand[i] - 1) & 1))
			sig = cand[i];
	if (!sig)
		return -ENOTSUP;
	who[0] = (uint32_t)inj->pid;
	who[1] = (uint32_t)inj->tid;
	who[2] = (uint32_t)sig;
	if (hp_mem_write(inj->memfd, inj->scratch, who, sizeof(who)) < 0)
		return -ENOTSUP;
	regs.r12 = table;
	regs.r13 = 0;
	regs.r14 = inj->scratch;
	regs.r15 = 0;
	if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) < 0)
		return hp_err(ctx, -errno, "pid %d: cannot set registers: %s", inj->pid, strerror(errno));
	inj->redirected = true;
	hp_test_kill_point("helper", ++npass);
	if (ptrace(PTRACE_CONT, inj->tid, 0, 0) < 0)
		return hp_err(ctx, -errno, "pid %d: cannot resume thread %d: %s", inj->pid, inj->tid, strerror(errno));
	hp_test_kill_point("helper", ++npass);
	for (;;) {
		int s = 0;

		if (wait_step(inj->tid, &st) < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			inj->attached = false;
			return hp_err(ctx, -HP_E_EXITED, "pid %d exited during the operation", inj->pid);
		}
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == 0) {
			s = WSTOPSIG(st);
			if (ptrace(PTRACE_GETREGS, inj->tid, 0, &regs) < 0)
				return hp_err(ctx, -errno, "pid %d: cannot read registers of thread %d: %s", inj->pid,
					      inj->tid, strerror(errno));
			if (s == sig && regs.rip == helper + HP_HELPER_SIGNALLED)
				break;	/* ours: discarded (the thread is never resumed with it) */
			if (is_fault_signal(s) && regs.rip - helper < HP_HELPER_SIZE + HP_STUB_SIZE)
				/* our code faulted: the thread goes home through the stub (hp_inject_end) */
				return hp_err(ctx, -EFAULT, "pid %d: the map helper faulted (signal %d at %#llx)", inj->pid,
					      s, regs.rip);
			/* a signal of the process's own: delivered at once, its handler returns into the helper */
		} else if ((st >> 16) == PTRACE_EVENT_STOP && is_stop_signal(WSTOPSIG(st))) {
			return hp_err(ctx, -HP_E_STOPPED, "pid %d was stopped (job control) during the operation",
				      inj->pid);
		}
		if (hp_now_ns() > deadline) {
			ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0);
			wait_stopped_blocking(inj->tid, NULL);
			return hp_err(ctx, -ETIMEDOUT, "pid %d: the map helper did not complete within 20 s", inj->pid);
		}
		if (ptrace(PTRACE_CONT, inj->tid, 0, (void *)(long)s) < 0)
			return hp_err(ctx, -errno, "pid %d: cannot resume thread %d: %s", inj->pid, inj->tid,
				      strerror(errno));
	}
	hp_test_kill_point("helper", ++npass);
	res[0] = regs.r12;
	res[1] = regs.r13;
	res[2] = regs.r15;
	return 0;
}

int hp_inject_call(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, uint64_t fn, const long args[6], long *ret)
{
	/* A 16-byte aligned stack below the scratch area, returning into the stub. */
	uint64_t sp = ((inj->scratch - 1024) & ~15ull) - 8, ra = inj->stub + HP_STUB_CALL_RET;
	struct user_regs_struct regs = redirect_regs(inj, fn, sp);
	char what[64];
	int r;

	r = hp_mem_write(memfd, sp, &ra, sizeof(ra));
	if (r < 0)
		return hp_err(ctx, r, "pid %d: cannot prepare a call on thread %d's stack", inj->pid, inj->tid);
	regs.rax = 0;
	regs.rdi = (unsigned long long)args[0];
	regs.rsi = (unsigned long long)args[1];
	regs.rdx = (unsigned long long)args[2];
	regs.rcx = (unsigned long long)args[3];
	regs.r8 = (unsigned long long)args[4];
	regs.r9 = (unsigned long long)args[5];
	if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) < 0)
		return hp_err(ctx, -errno, "pid %d: cannot set registers: %s", inj->pid, strerror(errno));
	inj->redirected = true;
	snprintf(what, sizeof(what), "the function called at %#llx", (unsigned long long)fn);
	return inject_run(ctx, inj, true, what, ret, NULL);
}

int hp_inject_push(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, const void *buf, size_t len,
		   uint64_t *ret_addr)
{
	int r;

	if (len > 448)
		return -E2BIG;
	r = hp_mem_write(memfd, inj->scratch, buf, len);
	if (r < 0)
		return hp_err(ctx, r, "pid %d: cannot write to the stack of thread %d: %s", inj->pid, inj->tid,
			      strerror(-r));
	*ret_addr = inj->scratch;
	return 0;
}

/*
 * Why: a thread of a stopped world (hp_inject_adopt) needs no seize, no
 * interrupt and no wait of its own.  A fit one has no signal to deliver
 * (it would go to the others' release) and is not newborn; one asleep in
 * a system call is preferred, as pick_thread does.
 */
int hp_inject_adopt(struct hp_ctx *ctx, struct hp_threads *g, int memfd, uint64_t stub, const void *push,
		    size_t pushlen, struct hp_inject *inj, uint64_t *ret_push_addr)
{
	uint8_t buf[HP_SAVE_BELOW + 16 + sizeof(struct hp_save_area)];
	struct hp_save_area sa;
	struct hp_thread *t = NULL;
	size_t i, len;
	int r;

	if (pushlen > 448)
		return -E2BIG;
	for (i = 0; i < g->n; i++) {
		struct hp_thread *c = &g->v[i];

		if (c->gone || !c->seized || !c->stopped || c->hold || c->fresh || c->pending_sig)
			continue;
		if (!t || ((long long)c->regs.orig_rax >= 0 && (long long)t->regs.orig_rax < 0))
			t = c;
	}
	if (!t)
		return -ENOENT;
	memset(inj, 0, sizeof(*inj));
	inj->pid = g->pid;
	inj->tid = t->tid;
	inj->memfd = memfd;
	inj->stub = stub;
	inj->saved = t->regs;
	inj->g = g;
	inj->gi = (size_t)(t - g->v);
	inj->start_ns = hp_now_ns();
	/*
	 * One write: what the caller pushes (scratch area), then the save area right above it.  After
	 * an exec the memory file reaches nothing and this write fails: a stub that is not there is
	 * never run (no exec completes while the world is stopped).
	 */
	inj->save_at = inj->saved.rsp - HP_SAVE_BELOW;
	inj->scratch = (inj->save_at - 512) & ~15ull;
	len = inj->save_at + sizeof(sa) - inj->scratch;
	memset(buf, 0, len);
	if (pushlen)
		memcpy(buf, push, pushlen);
	hp_save_area_fill(&sa, &inj->saved);
	memcpy(buf + (inj->save_at - inj->scratch), &sa, sizeof(sa));
	r = hp_mem_write(memfd, inj->scratch, buf, len);
	if (r < 0)
		return hp_err(ctx, r, "pid %d: cannot write to the stack of thread %d: %s", g->pid, t->tid, strerror(-r));
	inj->attached = true;
	/*
	 * The borrowed thread needs a CPU for each call while we wait for it: a real-time patcher
	 * spinning meanwhile would take one from it.  Back to normal until the calls are done.
	 */
	if (g->prio.raised) {
		prio_restore(&g->prio);
		inj->reraise = true;
	}
	if (ret_push_addr)
		*ret_push_addr = inj->scratch;
	return 0;
}

/*
 * An adopted thread goes back to its own registers and stays stopped in
 * its world, as hp_threads_settle would leave a thread found in the stub:
 * an interrupted system call set up for its restart, nothing left for the
 * kernel to restart.  Were we killed before this, the stub takes it home.
 */
static int adopted_end(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t *ret_held_ns)
{
	struct hp_thread *t = &inj->g->v[inj->gi];
	int r = 0;

	if (ret_held_ns)
		*ret_held_ns = hp_now_ns() - inj->start_ns;
	if (!inj->attached) {
		/* it exited (or the process did) while we ran it */
		t->gone = true;
		t->seized = false;
		t->stopped = false;
		if (inj->reraise)
			prio_raise(&inj->g->prio);
		inj->g = NULL;
		return 0;
	}
	if (inj->redirected) {
		struct user_regs_struct regs = inj->saved;
		struct hp_save_area sa;

		hp_save_area_fill(&sa, &inj->saved);
		regs.rip = sa.rip;
		regs.rax = sa.rax;
		regs.eflags = sa.rflags;
		regs.orig_rax = (unsigned long long)-1;
		if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) == 0)
			t->regs = regs;
		else if (errno == ESRCH)
			t->gone = true;
		else
			r = hp_err(ctx, -errno, "pid %d: cannot send thread %d back: %s", inj->pid, inj->tid,
				   strerror(errno));
		/* a thread we cannot set back still runs home through the stub when released */
	}
	t->pending_sig = inj->pending_sig;
	inj->attached = false;
	if (inj->reraise)
		prio_raise(&inj->g->prio);
	inj->g = NULL;
	return r;
}

/*
 * A redirected thread goes home the way it would if we died: through the
 * stub's restore path (which also restarts an interrupted system call).
 * One not redirected yet still has its own registers.
 */
int hp_inject_end(struct hp_ctx *ctx, struct hp_inject *inj, uint64_t *ret_held_ns)
{
	int r = 0, r2;

	if (inj->g)
		return adopted_end(ctx, inj, ret_held_ns);
	if (!inj->attached)
		return 0;
	if (inj->redirected) {
		struct user_regs_struct regs = redirect_regs(inj, inj->stub + HP_STUB_RESTORE, inj->scratch - 64);

		if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) < 0 && errno != ESRCH)
			r = hp_err(ctx, -errno, "pid %d: cannot send thread %d back: %s", inj->pid, inj->tid,
				   strerror(errno));
	}
	r2 = detach_or_reap(inj->tid, inj->pending_sig);
	if (r2 < 0 && r2 != -ESRCH && !r)
		r = hp_err(ctx, r2, "pid %d: cannot detach thread %d: %s", inj->pid, inj->tid, strerror(-r2));
	inj->attached = false;
	if (ret_held_ns)
		*ret_held_ns = hp_now_ns() - inj->start_ns;
	return r;
}
