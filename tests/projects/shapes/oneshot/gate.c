#include <stdio.h>
#include <stdlib.h>

static const char *banner = "gate keeper";

/* Is a badge number allowed in?  Badges 1..999 are staff. */
__attribute__((noipa)) int allowed(int badge)
{
	if (badge < 1000)
		return 1;
	return badge % 7 == 0;
}

/* Answers one line per request: "q N" asks about badge N, "b" prints the banner. */
int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'q')
			printf("%s\n", allowed(atoi(line + 2)) ? "in" : "out");
		else
			printf("%s\n", banner);
	}
	return 0;
}
