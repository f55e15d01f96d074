#ifndef TALLY_H
#define TALLY_H
/* Count words of a line; words longer than TALLY_MAXWORD are an error. */
#define TALLY_MAXWORD 16
int tally_words(const char *line);
const char *tally_where(void);
#endif
