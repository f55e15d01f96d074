/* SPDX-License-Identifier: MIT */
/*
 * Test target: threads are created and exit all the time, each calling
 * step() a few thousand times; results must always be old or new.
 *   "s" -> "threads=T bad=B"
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

static atomic_ulong n_threads, n_bad;

__attribute__((noinline)) long step(long x)
{
#if HP_FIX == 1
	return x + 2;
#else
	return x + 1;
#endif
}

static void *worker(void *arg)
{
	long i, v;

	for (i = 0; i < 5000; i++) {
		v = step(i);
		if (v != i + 1 && v != i + 2)
			atomic_fetch_add(&n_bad, 1);
	}
	atomic_fetch_add(&n_threads, 1);
	(void)arg;
	return NULL;
}

/* Keeps about eight short-lived threads alive at any time. */
static void *spawner(void *arg)
{
	for (;;) {
		pthread_t t[8];
		int i;

		for (i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
	}
	(void)arg;
	return NULL;
}

int main(void)
{
	pthread_t s;
	char line[32];

	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_create(&s, NULL, spawner, NULL);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin))
		printf("threads=%lu bad=%lu\n", atomic_load(&n_threads), atomic_load(&n_bad));
	return 0;
}
