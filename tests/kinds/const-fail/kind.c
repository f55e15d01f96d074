/* SPDX-License-Identifier: MIT */
/* Refused: the fix changes an entry of an existing constant table. */
#include <stdio.h>
#include <stdlib.h>

static const int rates[5] = { 10, 20, 30, 40, 50 };

__attribute__((noinline)) int rate(int i)
{
	return i >= 0 && i < 5 ? rates[i] : 0;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", rate(atoi(line)));
	return out;
}
