/* SPDX-License-Identifier: MIT */
/*
 * A program using the expat built by t9002-expat: asked "probe", it checks
 * CVE-2024-45490 (XML_ParseBuffer accepts a negative length and moves its
 * buffer end backwards): a fixed library refuses len = -1 with
 * XML_ERROR_INVALID_ARGUMENT, a vulnerable one goes on parsing.
 */
#include <stdio.h>
#include <string.h>
#include <expat.h>

static void probe(void)
{
	XML_Parser p = XML_ParserCreate(NULL);
	enum XML_Status st;
	enum XML_Error e;
	void *buf;

	if (!p) {
		printf("error: XML_ParserCreate failed\n");
		return;
	}
	buf = XML_GetBuffer(p, 64);
	if (buf)
		memcpy(buf, "<doc>", 5);
	st = XML_ParseBuffer(p, -1, XML_FALSE);
	e = XML_GetErrorCode(p);
	if (st == XML_STATUS_ERROR && e == XML_ERROR_INVALID_ARGUMENT)
		printf("fixed: XML_ParseBuffer(len=-1) refused: %s\n", XML_ErrorString(e));
	else
		printf("vulnerable: XML_ParseBuffer(len=-1) returned %s (%s)\n",
		       st == XML_STATUS_OK ? "XML_STATUS_OK" : "XML_STATUS_ERROR", XML_ErrorString(e));
	XML_ParserFree(p);
}

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "probe", 5))
			probe();
		else
			printf("?\n");
	}
	return 0;
}
