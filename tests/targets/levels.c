/* SPDX-License-Identifier: MIT */
/*
 * Test target for cumulative patch levels.  fa/fb/fc return 2x plus a
 * marker saying which level's version ran:
 *   baseline: 0 0 0   level 1: fa=1   level 2: fa=1 fb=2   level 3: fb=2 fc=3 (fa back to baseline)
 * argv[1] threads call all three in a loop and count results that match no
 * level ("bad").  "q" -> "fa fb fc" markers now; "s" -> counters.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef HP_FIX
#define HP_FIX 0
#endif

static atomic_ulong n_calls, n_bad;

__attribute__((noinline)) long fa(long x)
{
#if HP_FIX == 1 || HP_FIX == 2
	return x * 2 + 1;
#else
	return x * 2;
#endif
}

__attribute__((noinline)) long fb(long x)
{
#if HP_FIX >= 2
	return x * 2 + 2;
#else
	return x * 2;
#endif
}

__attribute__((noinline)) long fc(long x)
{
#if HP_FIX == 3
	return x * 2 + 3;
#else
	return x * 2;
#endif
}

static void check(long v, long x, long allowed)
{
	long k = v - x * 2;

	if (k != 0 && k != allowed)
		atomic_fetch_add_explicit(&n_bad, 1, memory_order_relaxed);
}

static void *loop(void *arg)
{
	long x = (long)(uintptr_t)arg;

	for (;;) {
		check(fa(x), x, 1);
		check(fb(x), x, 2);
		check(fc(x), x, 3);
		atomic_fetch_add_explicit(&n_calls, 3, memory_order_relaxed);
		x = (x + 1) & 0xffff;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, i;
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, loop, (void *)(uintptr_t)(i * 100));
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'q')
			printf("%ld %ld %ld\n", fa(0), fb(0), fc(0));
		else if (line[0] == 's')
			printf("calls=%lu bad=%lu\n", atomic_load(&n_calls), atomic_load(&n_bad));
		else
			printf("?\n");
	}
	return 0;
}
