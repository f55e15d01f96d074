/* SPDX-License-Identifier: MIT */
/* Kind 15: patched code calls libc through the PLT and uses stderr and errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) const char *parse(const char *s)
{
	static char out[64];
	long v = strtol(s, NULL, 10);

	snprintf(out, sizeof(out), "%ld", v);
	return out;
}

const char *answer(char *line)
{
	static char out[64];

	if (line[0] == 'e') {
		snprintf(out, sizeof(out), "stderr %d", fileno(stderr));
		return out;
	}
	return parse(line + 2);
}
