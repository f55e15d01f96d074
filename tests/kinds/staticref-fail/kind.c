/* SPDX-License-Identifier: MIT */
/* Refused: the fix removes the use of a function-scope static (its state would be dropped). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int next_id(int base)
{
	static int issued;

	issued++;
	return base * 1000 + issued;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", next_id(atoi(line)));
	return out;
}
