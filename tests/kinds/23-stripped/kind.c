/* SPDX-License-Identifier: MIT */
/* Kind 23: the running binary is stripped; its symbols come from the separate debug file found by build-id. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int secret(int x)
{
	int r = x;

	for (int i = 0; i < 5; i++)
		r = r * 7 % 1009;
	return r;
}

__attribute__((noinline)) int reveal(int x)
{
	return secret(x) + 1;
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", reveal(atoi(line)));
	return out;
}
