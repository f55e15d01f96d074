/* SPDX-License-Identifier: MIT */
/*
 * Kind 14: a function pointer stored before the patch must equal &f taken
 * in patched code, even when f itself is replaced, and calls through it
 * must reach the new body.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int handler(int x)
{
	int r = 1;

	for (int i = 0; i < x; i++)
		r = r * 2 % 1000;
	return r;
}

int (*saved_handler)(int) = handler;

__attribute__((noinline)) const char *same(void)
{
	return saved_handler == handler ? "same" : "differ";
}

const char *answer(char *line)
{
	static char out[64];

	if (line[0] == 's')
		return same();
	snprintf(out, sizeof(out), "%d %d", saved_handler(atoi(line + 2)), handler(atoi(line + 2)));
	return out;
}
