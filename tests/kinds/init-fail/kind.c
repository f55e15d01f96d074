/* SPDX-License-Identifier: MIT */
/* Refused: the fix changes the initial value of an existing static. */
#include <stdio.h>
#include <stdlib.h>

static int limit = 10;

__attribute__((noinline)) int cap(int x)
{
	if (x > limit)
		limit++;
	return x > limit ? limit : x;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", cap(atoi(line)));
	return out;
}
