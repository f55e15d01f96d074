/* SPDX-License-Identifier: MIT */
/*
 * Kind 24: the fix uses library data and a library function that the
 * program never used (stderr, optind, strsignal): no copy in the
 * executable, no PLT entry, the library more than 2 GiB away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) const char *report(const char *s)
{
	static char out[64];

	snprintf(out, sizeof(out), "fd %d", fileno(stdout));
	return out;
}

const char *answer(char *line)
{
	return report(line + 2);
}
