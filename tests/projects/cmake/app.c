#include <stdio.h>
#include <string.h>
#include "tally.h"

int main(void)
{
	char line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "where"))
			printf("%s\n", tally_where());
		else
			printf("%d\n", tally_words(line));
	}
	return 0;
}
