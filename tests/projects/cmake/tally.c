#include <assert.h>
#include <ctype.h>
#include <string.h>
#include "tally.h"

/* Number of words in line, or -1 when one is longer than TALLY_MAXWORD. */
int tally_words(const char *line)
{
	int n = 0, len = 0;

	assert(line != NULL);
	for (; *line; line++) {
		if (isspace((unsigned char)*line)) {
			len = 0;
			continue;
		}
		if (len++ == 0)
			n++;
	}
	return n;
}

/* The file this was compiled from, as the program would show it in an assert message. */
const char *tally_where(void)
{
	return __FILE__;
}
