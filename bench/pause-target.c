/* SPDX-License-Identifier: MIT */
/*
 * Benchmark target: N threads each call work() in a tight loop and record
 * the largest gap between two consecutive iterations (clock_gettime through
 * the vDSO, no syscall).  Commands on stdin:
 *   "r" reset the maxima     "m" print "max_us=X" (largest gap of any thread since reset)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_ullong max_gap_ns;
static atomic_uint epoch;

__attribute__((noinline)) long work(long x)
{
#if HP_FIX == 1
	return x * 3 + 1;
#else
	return x * 3;
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *loop(void *arg)
{
	volatile long sink = 0;
	uint64_t prev = now_ns();
	unsigned seen = atomic_load(&epoch);
	long x = (long)(uintptr_t)arg;

	for (;;) {
		uint64_t t = now_ns(), cur;

		if (atomic_load_explicit(&epoch, memory_order_relaxed) != seen) {
			seen = atomic_load(&epoch);	/* a reset: do not count the gap across it */
			prev = t;
		}
		cur = atomic_load_explicit(&max_gap_ns, memory_order_relaxed);
		while (t - prev > cur && !atomic_compare_exchange_weak(&max_gap_ns, &cur, t - prev))
			;
		prev = t;
		sink += work(x++);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, i;
	char line[32];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, loop, (void *)(uintptr_t)i);
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'r') {
			atomic_store(&max_gap_ns, 0);
			atomic_fetch_add(&epoch, 1);
			printf("reset\n");
		} else if (line[0] == 'm') {
			printf("max_us=%.1f\n", atomic_load(&max_gap_ns) / 1000.0);
		}
	}
	return 0;
}
