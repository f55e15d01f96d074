/* SPDX-License-Identifier: MIT */
/* The request loop of the calc test target (see calc.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int compute(int x);
void greet(const char *who, char *out, size_t size);
int calls_so_far(void);
int flag(void);

int main(void)
{
	char line[512], out[600];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == 'c' && line[1] == ' ') {
			printf("%d\n", compute(atoi(line + 2)));
		} else if (line[0] == 'g' && line[1] == ' ') {
			greet(line + 2, out, sizeof(out));
			printf("%s\n", out);
		} else if (line[0] == 'f') {
			printf("%d\n", flag());
		} else if (line[0] == 'n') {
			printf("%d\n", calls_so_far());
		} else {
			printf("?\n");
		}
	}
	return 0;
}
