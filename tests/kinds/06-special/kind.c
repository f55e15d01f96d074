/* SPDX-License-Identifier: MIT */
/* Kind 6: __func__, a warn-once flag and a switch lookup table (CSWTCH) in patched code. */
#include <stdio.h>
#include <stdlib.h>

/* Says "warned" the first time only, like a WARN_ONCE macro. */
#define WARN_ONCE() ({ static int warned_; int first_ = !warned_; warned_ = 1; first_ ? "warned" : "quiet"; })

__attribute__((noinline)) const char *probe(void)
{
	return __func__;
}

__attribute__((noinline)) const char *limit_check(int x)
{
	if (x > 10)
		return WARN_ONCE();
	return "fine";
}

/* Dense and constant: GCC turns this into a lookup table (CSWTCH). */
__attribute__((noinline)) int weight(int x)
{
	switch (x) {
	case 0: return 13;
	case 1: return 17;
	case 2: return 19;
	case 3: return 23;
	case 4: return 29;
	case 5: return 31;
	case 6: return 37;
	default: return -1;
	}
}

const char *answer(char *line)
{
	static char out[64];

	switch (line[0]) {
	case 'f':
		return probe();
	case 'w':
		return limit_check(atoi(line + 2));
	default:
		snprintf(out, sizeof(out), "%d", weight(atoi(line + 2)));
		return out;
	}
}
