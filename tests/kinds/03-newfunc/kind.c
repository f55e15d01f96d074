/* SPDX-License-Identifier: MIT */
/* Kind 3: the fix adds a static and a global helper. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int price(int qty)
{
	int total = 0;

	for (int i = 0; i < qty; i++)
		total += 12;
	return total;
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", price(atoi(line)));
	return out;
}
