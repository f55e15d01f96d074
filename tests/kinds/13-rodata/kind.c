/* SPDX-License-Identifier: MIT */
/* Kind 13: patched code uses existing constant tables (one of them with pointers, in .data.rel.ro). */
#include <stdio.h>
#include <stdlib.h>

static const int primes[12] = { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37 };
static const char *const names[4] = { "zero", "one", "two", "three" };

__attribute__((noinline)) int nth_prime(int i)
{
	return i >= 0 && i < 12 ? primes[i] : -1;
}

__attribute__((noinline)) const char *name_of(int i)
{
	return i >= 0 && i < 4 ? names[i] : "many";
}

const char *answer(char *line)
{
	static char out[64];
	int i = atoi(line + 2);

	if (line[0] == 'n')
		return name_of(i);
	snprintf(out, sizeof(out), "%d", nth_prime(i));
	return out;
}
