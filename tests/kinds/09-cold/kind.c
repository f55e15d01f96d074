/* SPDX-License-Identifier: MIT */
/*
 * Kind 9: code GCC moves out of line.  check() has an unlikely path that
 * GCC puts in "check.cold" (it calls a cold function); lookup() has a fast
 * path GCC inlines into its callers and a slow part it splits into
 * "lookup.part.0".  The fix changes only the cold path and only the part.
 */
#include <stdio.h>
#include <stdlib.h>

static char last_report[64] = "none";
static int table[64];

__attribute__((cold, noinline)) static void report(const char *what, int x)
{
	snprintf(last_report, sizeof(last_report), "%s %d", what, x);
}

__attribute__((noinline)) int check(int x)
{
	if (x < 0) {
		report("negative", x);
		return -1;
	}
	return x * 3 + 1;
}

static int lookup(int k)
{
	if (k >= 0 && k < 4)
		return k * 10;
	int r = 0;

	for (int i = 0; i < 64; i++) {
		r += table[i] * (k + i) + i;
		if (r > 100000)
			r -= 99991;
	}
	for (int i = 0; i < 64; i++)
		r ^= table[(i * 7 + k) & 63] << (i & 7);
	return r;
}

__attribute__((noinline)) int use1(int k)
{
	return lookup(k) + 1;
}

__attribute__((noinline)) int use2(int k)
{
	return lookup(k * 2) + 2;
}

const char *answer(char *line)
{
	static char out[128];
	int x = atoi(line + 2);

	switch (line[0]) {
	case 'c':
		snprintf(out, sizeof(out), "%d", check(x));
		break;
	case 'r':
		return last_report;
	default:
		snprintf(out, sizeof(out), "%d %d", use1(x), use2(x));
	}
	return out;
}
