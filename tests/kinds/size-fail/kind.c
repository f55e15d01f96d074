/* SPDX-License-Identifier: MIT */
/* Refused: the fix changes the size of an existing global. */
#include <stdio.h>
#include <stdlib.h>

int history[4];

__attribute__((noinline)) int record(int x)
{
	int sum = 0;

	history[x & 3] = x;
	for (int i = 0; i < 4; i++)
		sum += history[i];
	return sum;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", record(atoi(line)));
	return out;
}
