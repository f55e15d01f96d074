/* SPDX-License-Identifier: MIT */
/* Test shared library: the tests patch lib_compute() inside a running program. */
#include <stdio.h>

static int lib_calls;

__attribute__((noinline)) static int lib_helper(int x)
{
	return x - 1;
}

__attribute__((noinline)) int lib_compute(int x)
{
	lib_calls++;
#if HP_FIX == 1
	return lib_helper(x) * 7 + 5000;
#else
	return lib_helper(x) * 7;
#endif
}

int lib_calls_so_far(void)
{
	return lib_calls;
}
