/* SPDX-License-Identifier: MIT */
/*
 * Kind 22: IPA-RA.  leaf() clobbers only %eax, so GCC lets combine() keep
 * b, c and d in %esi, %edx and %ecx across the call (-fipa-ra, on at -O2).
 * The fix makes leaf() call into libc, which may clobber all of them:
 * combine(), whose source does not change, must be patched too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tag = "3";

__attribute__((noinline)) static int leaf(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int combine(int a, int b, int c, int d)
{
	int r = leaf(a);

	return r + b * c - d;
}

const char *answer(char *line)
{
	static char out[64];
	int v[4] = { 0, 0, 0, 0 };

	sscanf(line, "%d %d %d %d", &v[0], &v[1], &v[2], &v[3]);
	snprintf(out, sizeof(out), "%d", combine(v[0], v[1], v[2], v[3]));
	return out;
}
