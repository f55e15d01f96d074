/* SPDX-License-Identifier: MIT */
/*
 * Kind 12: patched code calls an unchanged static function of the original
 * while other threads keep calling both.  "s" starts three busy threads,
 * "c N" computes in the main thread, "a" tells whether the threads still run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long spins;

__attribute__((noinline)) static int mix(int x)
{
	int r = x;

	for (int i = 0; i < 8; i++)
		r = (r * 33) ^ (i + 1);
	return r & 0xffff;
}

__attribute__((noinline)) int compute(int x)
{
	return mix(x) + 1;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		if (compute((int)(__atomic_load_n(&spins, __ATOMIC_RELAXED) & 7)) < 0)
			abort();
		__atomic_add_fetch(&spins, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

const char *answer(char *line)
{
	static char out[64];
	static int started;

	if (line[0] == 's') {
		for (; started < 3; started++) {
			pthread_t t;

			pthread_create(&t, NULL, worker, NULL);
		}
		return "started";
	}
	if (line[0] == 'a') {
		long before = __atomic_load_n(&spins, __ATOMIC_RELAXED);
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		return __atomic_load_n(&spins, __ATOMIC_RELAXED) > before ? "running" : "stuck";
	}
	snprintf(out, sizeof(out), "%d", compute(atoi(line + 2)));
	return out;
}
