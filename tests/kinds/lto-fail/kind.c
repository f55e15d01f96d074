/* SPDX-License-Identifier: MIT */
/* Refused: the running program was built with link-time optimisation. */
#include <stdio.h>

__attribute__((noinline)) int score(const char *s)
{
	int sum = 0;

	for (; *s; s++)
		sum = sum * 31 + (*s - '0');
	return sum % 1000;
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", score(line));
	return out;
}
