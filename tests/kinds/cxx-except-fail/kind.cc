// SPDX-License-Identifier: MIT
// Refused: the fix changes a function with exception handling (its tables and landing pads).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

__attribute__((noinline)) int parse(const char *s)
{
	int v = atoi(s);

	if (v < 0)
		throw std::invalid_argument("negative");
	return v * 2;
}

__attribute__((noinline)) int safe_parse(const char *s)
{
	try {
		return parse(s);
	} catch (const std::exception &) {
		return -1;
	}
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", safe_parse(line));
	return out;
}
