/* SPDX-License-Identifier: MIT */
/*
 * Benchmark target for host-wide patching (bench/host-run.sh).
 *
 *   host-target fleet N THREADS SLEEP_US PIDFILE
 *       fork N processes of this program, each with THREADS threads calling
 *       target() in a loop (SLEEP_US microseconds of sleep after every 100
 *       calls; 0 = spin); write their pids to PIDFILE, one a line, then wait
 *       until killed (the processes die with this one: PR_SET_PDEATHSIG).
 *   host-target loop N
 *       time N calls of target() in a tight loop, print "ns_per_call=X",
 *       then read a line on stdin and do it again, until end of input: the
 *       caller patches the process between two lines.
 *
 * Thread stacks are small (64 KiB) so that a thousand processes with four
 * threads each stay cheap.  HP_FIX=1 builds the patched variant: the same
 * amount of work, another constant.  -DHB_LIB builds only target(), as
 * libhb.so; -DHB_USELIB builds the program calling it through the PLT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

long target(long x);

#ifndef HB_USELIB
__attribute__((noinline)) long target(long x)
{
#if HP_FIX == 1
	return x * 3 + 7;
#else
	return x * 3 + 5;
#endif
}
#endif

#ifndef HB_LIB
static volatile long sink;

/* One worker: call target() forever, sleeping a little between batches when asked. */
static void *worker(void *arg)
{
	long sleep_us = (long)(intptr_t)arg, x = 0;
	struct timespec ts = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };

	for (;;) {
		for (int i = 0; i < 100; i++)
			sink += target(x++);
		if (sleep_us)
			nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The body of one fleet process: THREADS-1 workers plus the main thread. */
static void run_member(int threads, long sleep_us)
{
	pthread_attr_t a;
	pthread_t t;
	int i;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (i = 1; i < threads; i++)
		pthread_create(&t, &a, worker, (void *)(intptr_t)sleep_us);
	worker((void *)(intptr_t)sleep_us);
}

static int fleet(int n, int threads, long sleep_us, const char *pidfile)
{
	FILE *f = fopen(pidfile, "w");
	pid_t parent = getpid();
	int i;

	if (!f) {
		perror(pidfile);
		return 1;
	}
	for (i = 0; i < n; i++) {
		pid_t pid;

		fflush(f);	/* or the child's copy of the buffer is written again */
		pid = fork();

		if (pid < 0) {
			perror("fork");
			break;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			run_member(threads, sleep_us);
			_exit(0);
		}
		fprintf(f, "%d\n", pid);
	}
	fclose(f);
	printf("ready %d\n", i);
	fflush(stdout);
	for (;;)
		pause();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Time n calls; the result goes through sink so the loop cannot be dropped. */
static int loop(long n)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	do {
		uint64_t t0 = now_ns();
		long s = 0, i;

		for (i = 0; i < n; i++)
			s += target(i);
		sink = s;
		printf("ns_per_call=%.3f\n", (double)(now_ns() - t0) / (double)n);
	} while (fgets(line, sizeof(line), stdin));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "fleet"))
		return fleet(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), argv[5]);
	if (argc == 3 && !strcmp(argv[1], "loop"))
		return loop(atol(argv[2]));
	fprintf(stderr, "usage: host-target fleet N THREADS SLEEP_US PIDFILE | host-target loop N\n");
	return 2;
}
#endif
