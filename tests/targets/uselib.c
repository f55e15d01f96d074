/* SPDX-License-Identifier: MIT */
/* Test program using libcalc.so: "c N" -> lib_compute(N), "n" -> calls so far. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lib_compute(int x);
int lib_calls_so_far(void);

int main(void)
{
	char line[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'c')
			printf("%d\n", lib_compute(atoi(line + 2)));
		else if (line[0] == 'n')
			printf("%d\n", lib_calls_so_far());
		else
			printf("?\n");
	}
	return 0;
}
