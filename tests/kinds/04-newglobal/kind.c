/* SPDX-License-Identifier: MIT */
/* Kind 4: the fix adds an initialised global variable. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int ticket(int x)
{
	int r = x;

	for (int i = 0; i < 4; i++)
		r = r * 2 + 1;
	return r;
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", ticket(atoi(line)));
	return out;
}
