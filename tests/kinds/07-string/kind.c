/* SPDX-License-Identifier: MIT */
/* Kind 7: the fix changes one string literal; the other functions of the file keep theirs. */
#include <stdio.h>

__attribute__((noinline)) const char *greeting(int formal)
{
	return formal ? "good day" : "hello";
}

__attribute__((noinline)) const char *farewell(int formal)
{
	return formal ? "farewell" : "bye";
}

__attribute__((noinline)) const char *both(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s/%s", "hello", "bye");
	return buf;
}

const char *answer(char *line)
{
	switch (line[0]) {
	case 'g':
		return greeting(line[1] == '!');
	case 'f':
		return farewell(line[1] == '!');
	default:
		return both();
	}
}
