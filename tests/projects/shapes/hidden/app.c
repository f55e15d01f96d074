#include <stdio.h>
#include <string.h>

int name_ok(const char *s);

/* Answers "ok" or "bad" for each line (a name). */
int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		printf("%s\n", name_ok(line) ? "ok" : "bad");
	}
	return 0;
}
