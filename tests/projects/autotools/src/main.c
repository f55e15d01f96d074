#include <stdio.h>
#include <string.h>
#include "../lib/greet.h"

int main(void)
{
	char line[256], out[300];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		greet(line, out, sizeof(out));
		printf("%s\n", out);
	}
	return 0;
}
