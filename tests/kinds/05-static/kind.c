/* SPDX-License-Identifier: MIT */
/*
 * Kind 5: function-scope statics keep their values across the patch, even
 * when the fix shifts the compiler's numbering of them ("counter.3" becomes
 * "counter.4"), two scopes use the same name, or the static lives in a
 * helper that is only ever inlined.
 */
#include <stdio.h>

/* Inlined into both users below; its static is shared by them. */
static inline int bump(void)
{
	static int n;

	return ++n;
}

__attribute__((noinline)) int tick(void)
{
	static int counter;

	counter++;
	return counter * 100 + bump();
}

__attribute__((noinline)) int scopes(int which)
{
	int r = bump() * 10000;

	if (which) {
		static int c;

		c += 1;
		r += c;
	} else {
		static int c;

		c += 100;
		r += c;
	}
	return r;
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", line[0] == 't' ? tick() : scopes(line[0] == '1'));
	return out;
}
