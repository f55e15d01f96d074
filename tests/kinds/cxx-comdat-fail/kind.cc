// SPDX-License-Identifier: MIT
// Refused: the fix changes a function template (its instances are COMDAT code).
#include <cstdio>
#include <cstdlib>

template <typename T> __attribute__((noinline)) T clampv(T x, T lo, T hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", clampv<int>(atoi(line), 0, 100));
	return out;
}
