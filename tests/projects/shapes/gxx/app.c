#include <stdio.h>
#include <stdlib.h>

int tally_add(int n);

/* Adds each line's number and answers the total. */
int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin))
		printf("%d\n", tally_add(atoi(line)));
	return 0;
}
