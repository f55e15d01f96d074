/* SPDX-License-Identifier: MIT */
/*
 * Kind 19: functions whose code holds their own line numbers (assert,
 * __LINE__).  A line inserted above them changes those numbers and
 * nothing else: that alone is no change.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int checked_half(int x)
{
	assert(x >= 0);
	return x / 2;
}

__attribute__((noinline)) const char *where(void)
{
	static char out[32];

	snprintf(out, sizeof(out), "line %d", __LINE__);
	return out;
}

__attribute__((noinline)) int triple(int x)
{
	assert(x < 1000000);
	return x * 3;
}

const char *answer(char *line)
{
	static char out[64];

	if (line[0] == 'w')
		return where();
	snprintf(out, sizeof(out), "%d %d", checked_half(atoi(line + 2)), triple(atoi(line + 2)));
	return out;
}
