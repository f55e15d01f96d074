/* SPDX-License-Identifier: MIT */
/*
 * One process start of bench/agent-latency.sh.  "link": linked against
 * libagentbench.so; "dlopen PATH": loads it with dlopen() from main.  Calls
 * bench_value(1) until it returns the patched answer and prints the
 * microseconds from the library's constructor (mapped and relocated) to the
 * first patched call, or -1 after 5 s.  Everything before that ran the old
 * code: the library's constructors, and main up to then.
 */
#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef LINKED
int bench_value(int x);
extern struct timespec agent_bench_mapped;
#endif

static long long us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000LL + (b->tv_nsec - a->tv_nsec) / 1000;
}

int main(int argc, char **argv)
{
	int (*value)(int) = NULL;
	struct timespec *mapped = NULL, now;

#ifdef LINKED
	value = bench_value;
	mapped = &agent_bench_mapped;
#else
	void *h;

	if (argc < 2 || !(h = dlopen(argv[1], RTLD_NOW)))
		return 2;
	value = (int (*)(int))dlsym(h, "bench_value");
	mapped = dlsym(h, "agent_bench_mapped");
	if (!value || !mapped)
		return 2;
#endif
	(void)argc;
	(void)argv;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (value(1) == 1001) {
			printf("%lld\n", us(mapped, &now));
			return 0;
		}
		if (us(mapped, &now) > 5000000) {
			printf("-1\n");
			return 1;
		}
		sched_yield();
	}
}
