/* SPDX-License-Identifier: MIT */
/*
 * The line protocol of the kind fixtures (tests/integration/t3101-kinds.sh):
 * print "ready", then answer each line of stdin with one line from
 * answer(), which each kind defines.  Kept apart from the kinds' code so a
 * fix never changes it.
 */
#include <stdio.h>
#include <string.h>

const char *answer(char *line);

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	puts("ready");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		puts(answer(line));
	}
	return 0;
}
