/* SPDX-License-Identifier: MIT */
/* Kind 8: a dense switch compiled to a jump table; the fix changes one arm. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int op(int code, int x)
{
	switch (code) {
	case 0: return x + 1;
	case 1: return x * 3;
	case 2: return x - 7;
	case 3: return x ^ 0x55;
	case 4: return x / 3;
	case 5: return x % 11;
	case 6: return -x;
	case 7: return x << 2;
	case 8: return printf("%s", "") + x * x;
	default: return 0;
	}
}

const char *answer(char *line)
{
	static char out[64];

	snprintf(out, sizeof(out), "%d", op(line[0] - '0', atoi(line + 2)));
	return out;
}
