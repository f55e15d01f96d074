/* SPDX-License-Identifier: MIT */
/* Kind 2: ask a/util.c or b/util.c ("a N", "b N"); a third static helper lives here. */
#include <stdio.h>
#include <stdlib.h>

int ua(int x);
int ub(int x);

__attribute__((noinline)) static int helper(int x)
{
	int r = 0;

	while (x-- > 0)
		r += 7;
	return r;
}

const char *answer(char *line)
{
	static char out[64];
	int x = atoi(line + 2);

	snprintf(out, sizeof(out), "%d", line[0] == 'a' ? ua(x) : line[0] == 'b' ? ub(x) : helper(x));
	return out;
}
