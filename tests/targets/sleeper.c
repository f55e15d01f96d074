/* SPDX-License-Identifier: MIT */
/*
 * Test target for landing pads (t2012): N worker threads call nap() in a
 * loop, and nap() sleeps one second inside (nanosleep) before it returns
 * its version, so each thread has nap() on its stack nearly all the time.
 *   argv[1]  number of worker threads (default 1)
 *   argv[2]  how long nap() sleeps, in milliseconds (default 1000)
 *   "q"      -> the value each thread's last nap() returned, "1 1 1"
 *   "n"      -> how many calls of nap() have returned, in all
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

static volatile int last[MAX_THREADS];
static volatile long calls;
static long nap_ms = 1000;

/* Sleeps inside (one second by default): on some thread's stack 99.99 % of the time. */
__attribute__((noinline)) int nap(void)
{
	struct timespec ts = { nap_ms / 1000, (nap_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
#if HP_FIX == 1
	return 2;
#else
	return 1;
#endif
}

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;

	for (;;) {
		last[i] = nap();
		__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, i;
	char line[64];

	if (argc > 2)
		nap_ms = atol(argv[2]);
	if (n < 1 || n > MAX_THREADS || nap_ms < 1)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		pthread_t t;

		last[i] = 0;
		pthread_create(&t, NULL, worker, (void *)(intptr_t)i);
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'q') {
			char out[4 * MAX_THREADS] = "";

			for (i = 0; i < n; i++)
				snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", i ? " " : "", last[i]);
			printf("%s\n", out);
		} else if (line[0] == 'n') {
			printf("%ld\n", calls);
		} else {
			printf("?\n");
		}
	}
	return 0;
}
