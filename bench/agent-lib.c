/* SPDX-License-Identifier: MIT */
/*
 * Target library of bench/agent-latency.sh: its constructor records when
 * the dynamic loader has mapped and relocated it; bench_value() is what the
 * patch changes (HP_FIX=1 adds 1000).
 */
#include <time.h>

struct timespec agent_bench_mapped;
static volatile int calls;

__attribute__((constructor)) static void agent_bench_ctor(void)
{
	clock_gettime(CLOCK_MONOTONIC, &agent_bench_mapped);
}

__attribute__((noinline)) int bench_value(int x)
{
	calls++;
#if HP_FIX == 1
	return x + 1000;
#else
	return x;
#endif
}
