/* SPDX-License-Identifier: MIT */
/*
 * Kind 10: compiler clones.  weigh() only reads one field of its argument,
 * so GCC passes the field instead ("weigh.isra.0").  scale() is always
 * called with k = 7, so GCC specialises it ("scale.constprop.0"); the fix
 * adds a call with another k and the clone disappears.  shift() is called
 * with two different k; the fix makes both the same and a clone appears.
 */
#include <stdio.h>
#include <stdlib.h>

struct rec {
	int a, b, c, d;
	long pad[4];
};

__attribute__((noinline)) static int weigh(const struct rec *r)
{
	int s = 0;

	for (int i = 0; i < r->a; i++)
		s += i * i % 7;
	return s;
}

__attribute__((noinline)) static int scale(int x, int k)
{
	int r = 0;

	for (int i = 0; i < k; i++)
		r += x ^ i;
	return r;
}

__attribute__((noinline)) static int shift(int x, int k)
{
	int r = x;

	for (int i = 0; i < k; i++)
		r = (r << 1) ^ i;
	return r;
}

__attribute__((noinline)) int c1(int x)
{
	struct rec r = { x, 0, 0, 0, { 0 } };

	return weigh(&r) + scale(x, 7) + shift(x, 3);
}

__attribute__((noinline)) int c2(int x)
{
	return scale(x + 1, 7) * 100 + shift(x, 5);
}

const char *answer(char *line)
{
	static char out[64];
	int x = atoi(line + 2);

	snprintf(out, sizeof(out), "%d", line[0] == '1' ? c1(x) : c2(x));
	return out;
}
