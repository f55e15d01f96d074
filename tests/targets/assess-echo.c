/* SPDX-License-Identifier: MIT */
/*
 * Test target for `hotpatch assess`: prints "ready", then answers each line
 * on stdin with "ok <line> <answer(length)>" until EOF or "q".  HP_FIX=1
 * and HP_FIX=2 are the fixed answer() that the patch tests build patches from.
 */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) int answer(int x)
{
#if HP_FIX == 1
	return x * 2 + 100;
#elif HP_FIX == 2
	return x * 2 + 200;
#else
	return x * 2 + 1;
#endif
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "q"))
			break;
		printf("ok %s %d\n", line, answer((int)strlen(line)));
	}
	return 0;
}
