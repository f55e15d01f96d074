/* SPDX-License-Identifier: MIT */
/* Kind 18: the program; "q N" asks the library, "l N" the program's own code. */
#include <stdio.h>
#include <stdlib.h>

const char *lib_quote(int x);

__attribute__((noinline)) const char *local_quote(int x)
{
	static char out[64];

	snprintf(out, sizeof(out), "local %d", x * 7);
	return out;
}

const char *answer(char *line)
{
	return line[0] == 'q' ? lib_quote(atoi(line + 2)) : local_quote(atoi(line + 2));
}
