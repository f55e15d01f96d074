/* SPDX-License-Identifier: MIT */
/* Refused: the fix adds data holding a 32-bit PC-relative offset to a library variable. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int rel(void)
{
	return 0;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", rel() + atoi(line));
	return out;
}
