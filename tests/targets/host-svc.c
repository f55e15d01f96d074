/* SPDX-License-Identifier: MIT */
/*
 * Test target for host-wide sweeps (t5001-t5003): a small service whose
 * worker threads keep calling compute(), answering one line per request
 * on stdin.
 *   argv[1]      worker threads (default 2), each calling compute() every 5 ms
 *   "c N"    ->  compute(N)                  (the function the patch changes)
 *   "h MS"   ->  a thread enters hold() for MS ms ("-1": forever), "holding"
 *   "f FILE" ->  fork a child that writes compute(5) to FILE every 10 ms and
 *                keeps its parent's memory; prints the child's pid
 *   "e"      ->  exec /bin/sleep, so the process no longer maps the target
 *   "p"      ->  a thread parks in park() forever, with an address inside compute()
 *                in a local variable: a stale value only an unwind can tell from a
 *                return address, "parked"
 * HP_FIX=1 builds the fixed functions; HP_VARIANT=N another build of the
 * same program (a different build-id, compute() unchanged).
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

#ifndef HP_VARIANT
#define HP_VARIANT 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

static volatile long sink;
static volatile int base;	/* 0; read so that compute() is big enough for a jump */
static const char variant[] = "host-svc variant " STR(HP_VARIANT);

__attribute__((noinline)) static void wait_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) int compute(int x)
{
#if HP_FIX == 1
	return x * 2 + base + 1000;
#else
	return x * 2 + base;
#endif
}

/* Stays on the stack (as the caller of wait_ms) for ms milliseconds. */
__attribute__((noinline)) void hold(long ms)
{
	if (ms < 0)
		for (;;)
			wait_ms(1000);
	wait_ms(ms);
#if HP_FIX == 1
	sink = 2;
#else
	sink = 1;
#endif
}

/* Keeps &compute + 1 on its stack for ever, as data. */
__attribute__((noinline)) static void park(void)
{
	volatile uintptr_t stale[2] = { (uintptr_t)&compute + 1, 0 };

	for (;;)
		wait_ms(1000 + (long)stale[1]);
}

static void *parker(void *arg)
{
	(void)arg;
	park();
	return NULL;
}

static void *worker(void *arg)
{
	int x = 0;

	(void)arg;
	for (;;) {
		sink += compute(x++);
		wait_ms(5);
	}
	return NULL;
}

static void *holder(void *arg)
{
	hold((long)(intptr_t)arg);
	return NULL;
}

/* The forked child: only this thread survives the fork; it keeps calling compute(). */
static void child_loop(const char *path)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		FILE *f = fopen(tmp, "w");

		if (f) {
			fprintf(f, "%d\n", compute(5));
			fclose(f);
			rename(tmp, path);
		}
		wait_ms(10);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2, i;
	char line[512];
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++)
		pthread_create(&t, NULL, worker, NULL);
	printf("ready (%s)\n", variant);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == 'c' && line[1] == ' ') {
			printf("%d\n", compute(atoi(line + 2)));
		} else if (line[0] == 'h' && line[1] == ' ') {
			pthread_create(&t, NULL, holder, (void *)(intptr_t)atol(line + 2));
			pthread_detach(t);
			wait_ms(20);	/* let it get inside */
			printf("holding\n");
		} else if (line[0] == 'f' && line[1] == ' ') {
			pid_t pid = fork();

			if (pid == 0)
				child_loop(line + 2);
			printf("%d\n", (int)pid);
		} else if (line[0] == 'p') {
			pthread_create(&t, NULL, parker, NULL);
			pthread_detach(t);
			wait_ms(20);
			printf("parked\n");
		} else if (line[0] == 'e') {
			printf("exec\n");
			execl("/bin/sleep", "sleep", "600", (char *)NULL);
			printf("exec failed\n");
		} else {
			printf("?\n");
		}
	}
	return 0;
}
