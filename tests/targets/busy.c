/* SPDX-License-Identifier: MIT */
/*
 * Test target for the consistency check: a worker thread stays inside
 * hold() (or in a function hold() called) for as long as asked.
 *   "h MS"  -> a thread enters hold() and stays MS milliseconds ("-1" = forever)
 *   "v"     -> value()  (the function the patch changes besides hold)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int sink;

__attribute__((noinline)) static void wait_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Stays on the stack (as a caller of wait_ms) for ms milliseconds. */
__attribute__((noinline)) void hold(long ms)
{
	if (ms < 0) {
		for (;;)
			wait_ms(1000);
	}
	wait_ms(ms);
#if HP_FIX == 1
	sink = 2;
#else
	sink = 1;
#endif
}

__attribute__((noinline)) int value(void)
{
#if HP_FIX == 1
	return 2;
#else
	return 1;
#endif
}

static void *holder(void *arg)
{
	hold((long)(intptr_t)arg);
	return NULL;
}

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'h') {
			pthread_t t;

			pthread_create(&t, NULL, holder, (void *)(intptr_t)atol(line + 2));
			pthread_detach(t);
			usleep(20000);	/* let it get inside */
			printf("holding\n");
		} else if (line[0] == 'v') {
			printf("%d\n", value());
		} else {
			printf("?\n");
		}
	}
	return 0;
}
