/* SPDX-License-Identifier: MIT */
/* Refused in non-PIE code: the fix stores the address of a library variable straight into memory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct box {
	int *p;
};

__attribute__((noinline)) void fill(struct box *b)
{
	b->p = NULL;
}

const char *answer(char *line)
{
	static char out[32];
	struct box b;

	fill(&b);
	snprintf(out, sizeof(out), "%d", b.p ? *b.p : atoi(line));
	return out;
}
