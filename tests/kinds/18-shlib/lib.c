/* SPDX-License-Identifier: MIT */
/* Kind 18: the library; its thread-locals are reached global-dynamic and local-dynamic. */
#include <stdio.h>

static __thread int calls;		/* local-dynamic */
__thread int lib_total;			/* global-dynamic */

__attribute__((noinline)) static int rate(int x)
{
	int r = x;

	for (int i = 0; i < 3; i++)
		r = r * 2 + i;
	return r;
}

const char *lib_quote(int x)
{
	static __thread char out[64];

	calls++;
	lib_total += rate(x);
	snprintf(out, sizeof(out), "quote %d (call %d, total %d)", rate(x), calls, lib_total);
	return out;
}
