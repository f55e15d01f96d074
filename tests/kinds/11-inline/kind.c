/* SPDX-License-Identifier: MIT */
/* Kind 11: a static inline helper used by three callers; the fix changes the helper. */
#include <stdio.h>
#include <stdlib.h>

static inline int adjust(int x)
{
	return x > 50 ? 50 : x;
}

__attribute__((noinline)) int area(int w, int h)
{
	return adjust(w) * adjust(h);
}

__attribute__((noinline)) int perimeter(int w, int h)
{
	return 2 * (adjust(w) + adjust(h));
}

__attribute__((noinline)) int diagonal2(int w, int h)
{
	int a = adjust(w), b = adjust(h);

	return a * a + b * b;
}

const char *answer(char *line)
{
	static char out[64];
	int w = atoi(line + 2), h = 60;

	snprintf(out, sizeof(out), "%d", line[0] == 'a' ? area(w, h) : line[0] == 'p' ? perimeter(w, h)
								   : diagonal2(w, h));
	return out;
}
