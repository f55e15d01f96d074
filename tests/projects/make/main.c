#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meter.h"

/* Answers one line per request: "a N" adds a reading, "l" labels the total. */
int main(void)
{
	char line[256];
	int total = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'a' && line[1] == ' ') {
			total = meter_add(total, atoi(line + 2));
			printf("%d\n", total);
		} else if (line[0] == 'l') {
			printf("%s\n", meter_label(total));
		} else if (line[0] == 'r') {
			total = 0;
			printf("0\n");
		} else {
			printf("?\n");
		}
	}
	return 0;
}
