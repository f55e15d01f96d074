/* SPDX-License-Identifier: MIT */
/*
 * The reaper (seize.h): one background thread per process using the
 * library, started the first time a guarded seize happens.  A seize
 * usually returns within microseconds and the reaper never looks at it;
 * one that has waited GRACE_NS gets its held threads checked every
 * GRACE_NS, and those that exited are reaped.  waitid() from any thread of
 * the tracer's process reaps a tracee (only __WNOTHREAD would restrict it
 * to the calling thread), and WNOWAIT lets the reaper look without taking
 * a stop the caller will want to see.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/process/seize.h"
#include "lib/core/internal.h"

#define GRACE_NS 5000000ull
/*
 * The reaper sleeps untimed only after this long without a guard: a sweep
 * seizes thousands of threads per second, and waking an idle reaper for
 * each of them cost a signal, a wake-up and the lock's contention (issue 15).
 */
#define IDLE_AFTER_NS 200000000ull

struct guard {
	struct guard *next;
	pid_t *held;
	size_t n;
	uint64_t since_ns;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct guard *guards;
static bool started, idle, atfork_set;

/* Why: a thread that exited is reaped; one that is alive or stopped is left to its tracer. */
static void reap_exited(struct guard *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		siginfo_t si;

		if (!g->held[i])
			continue;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)g->held[i], &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) {
			if (errno == ECHILD)
				g->held[i] = 0;	/* no longer ours at all */
			continue;
		}
		if (si.si_pid != g->held[i])
			continue;
		if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
			waitid(P_PID, (id_t)g->held[i], &si, WEXITED | WNOHANG | __WALL);
			g->held[i] = 0;
		}
	}
}

static void *reaper_main(void *arg)
{
	uint64_t busy_ns = hp_now_ns();

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		uint64_t now = hp_now_ns();
		struct timespec ts;
		struct guard *g;

		if (!guards && now - busy_ns >= IDLE_AFTER_NS) {
			idle = true;
			pthread_cond_wait(&wake, &lock);
			idle = false;
			busy_ns = hp_now_ns();
			continue;
		}
		if (guards)
			busy_ns = now;
		for (g = guards; g; g = g->next)
			if (now - g->since_ns >= GRACE_NS)
				reap_exited(g);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)GRACE_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &lock, &ts);
	}
	return NULL;
}

/* Why: a forked child has no reaper thread, whatever the parent had. */
static void atfork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	guards = NULL;
	started = false;
	idle = false;
}

/* Why: called with lock held; the thread is started once, with every signal blocked in it. */
static int start_locked(void)
{
	pthread_condattr_t ca;
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;
	int r;

	if (started)
		return 0;
	if (!atfork_set) {
		if (pthread_atfork(NULL, NULL, atfork_child) != 0)
			return -ENOMEM;
		atfork_set = true;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, &a, reaper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (r != 0)
		return -r;
	started = true;
	return 0;
}

int hp_seize_guarded(pid_t tid, unsigned long options, pid_t *held, size_t n)
{
	struct guard g = { NULL, held, n, 0 }, **pp;
	int r = 0;

	if (n == 0)
		return ptrace(PTRACE_SEIZE, tid, 0, (void *)options) < 0 ? -errno : 0;
	pthread_mutex_lock(&lock);
	if (start_locked() < 0) {
		/* without a reaper, do not risk the wait: the caller treats this as "try later" */
		pthread_mutex_unlock(&lock);
		return -EAGAIN;
	}
	g.since_ns = hp_now_ns();
	g.next = guards;
	guards = &g;
	if (idle)
		pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);

	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)options) < 0)
		r = -errno;

	pthread_mutex_lock(&lock);
	for (pp = &guards; *pp; pp = &(*pp)->next)
		if (*pp == &g) {
			*pp = g.next;
			break;
		}
	pthread_mutex_unlock(&lock);
	return r;
}
