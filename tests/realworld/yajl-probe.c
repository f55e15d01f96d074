/* SPDX-License-Identifier: MIT */
/*
 * Probe for yajl CVE-2017-16516 (yajl_string_decode, a lone high surrogate
 * "\uD800": the vulnerable decoder steps over the character after the
 * escape -- reading past the string when it is the last one).  Each line
 * "probe" parses ["\uD800ab"]: the vulnerable library yields "?b", the
 * fixed one "?ab".
 */
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static const char text[] = "[\"\\uD800ab\"]";

int main(void)
{
	char line[64], err[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		yajl_val v = yajl_tree_parse(text, err, sizeof(err));
		yajl_val s = v && YAJL_IS_ARRAY(v) && v->u.array.len ? v->u.array.values[0] : NULL;
		const char *str = YAJL_IS_STRING(s) ? YAJL_GET_STRING(s) : NULL;

		if (!str)
			printf("error: did not parse: %s\n", err);
		else if (!strcmp(str, "?b"))
			printf("vulnerable: the character after a lone surrogate is skipped\n");
		else if (!strcmp(str, "?ab"))
			printf("fixed: the character after a lone surrogate is kept\n");
		else
			printf("error: unexpected '%s'\n", str);
		yajl_tree_free(v);
	}
	return 0;
}
