/* SPDX-License-Identifier: MIT */
/* Refused: the fix adds a thread-local variable. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int work(int x)
{
	int r = 0;

	for (int i = 0; i < x; i++)
		r += i;
	return r;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", work(atoi(line)));
	return out;
}
