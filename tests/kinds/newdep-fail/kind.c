/* SPDX-License-Identifier: MIT */
/* Refused: the fix needs a library the running program does not load (libm). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) double root(double x)
{
	double r = x;

	for (int i = 0; i < 20 && r > 0; i++)
		r = (r + x / r) / 2;
	return r;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%.3f", root(atof(line)));
	return out;
}
