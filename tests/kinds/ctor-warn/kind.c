/* SPDX-License-Identifier: MIT */
/* Warned: the fix changes a constructor, which already ran in the running process. */
#include <stdio.h>

static int base;

__attribute__((constructor)) static void setup(void)
{
	base = 7;
}

const char *answer(char *line)
{
	static char out[32];

	(void)line;
	snprintf(out, sizeof(out), "%d", base);
	return out;
}
