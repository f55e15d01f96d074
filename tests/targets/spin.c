/* SPDX-License-Identifier: MIT */
/*
 * Test target: N threads call work() in a tight loop and check every result
 * is either the original or the patched value, never anything else.
 *   "s" -> "calls=C old=O new=N bad=B"
 * argv[1]: thread count (default 64).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong n_calls, n_old, n_new, n_bad;

__attribute__((noinline)) long work(long x)
{
#if HP_FIX == 1
	return x * 2 + 1;
#else
	return x * 2;
#endif
}

static void *loop(void *arg)
{
	long x = (long)(uintptr_t)arg, i = 0;

	for (;;) {
		long v = work(x + i);

		if (v == (x + i) * 2)
			atomic_fetch_add_explicit(&n_old, 1, memory_order_relaxed);
		else if (v == (x + i) * 2 + 1)
			atomic_fetch_add_explicit(&n_new, 1, memory_order_relaxed);
		else
			atomic_fetch_add_explicit(&n_bad, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&n_calls, 1, memory_order_relaxed);
		i = (i + 1) & 0xffff;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64, i;
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, loop, (void *)(uintptr_t)(i * 1000)) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 's')
			printf("calls=%lu old=%lu new=%lu bad=%lu\n", atomic_load(&n_calls), atomic_load(&n_old),
			       atomic_load(&n_new), atomic_load(&n_bad));
		else
			printf("?\n");
	}
	return 0;
}
