/* SPDX-License-Identifier: MIT */
/* Kind 20: cumulative levels; fix.diff is level 1, fix2.diff (everything since the baseline) level 2. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int fee(int amount)
{
	int f = amount / 10;

	return f < 1 ? 1 : f;
}

__attribute__((noinline)) int tax(int amount)
{
	int t = amount / 5;

	return t < 2 ? 2 : t;
}

const char *answer(char *line)
{
	static char out[64];
	int a = atoi(line + 2);

	snprintf(out, sizeof(out), "%d %d", fee(a), tax(a));
	return out;
}
