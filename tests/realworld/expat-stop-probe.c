/* SPDX-License-Identifier: MIT */
/*
 * A program using the expat built by t9004-expat-stop: asked "probe", it
 * checks CVE-2024-50602 (XML_StopParser on a parser that has not started
 * "succeeds" and puts it in a state from which XML_ResumeParser
 * dereferences a NULL pointer).  A fixed library refuses to stop a parser
 * that has not started; we never call XML_ResumeParser.
 */
#include <stdio.h>
#include <string.h>
#include <expat.h>

static void probe(void)
{
	XML_Parser p = XML_ParserCreate(NULL);
	enum XML_Status st;
	const XML_LChar *msg;

	if (!p) {
		printf("error: XML_ParserCreate failed\n");
		return;
	}
	st = XML_StopParser(p, XML_TRUE);
	msg = XML_ErrorString(XML_GetErrorCode(p));
	if (st == XML_STATUS_ERROR)
		printf("fixed: XML_StopParser on a parser that has not started is refused: %s\n", msg ? msg : "?");
	else
		printf("vulnerable: XML_StopParser on a parser that has not started returned XML_STATUS_OK\n");
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
