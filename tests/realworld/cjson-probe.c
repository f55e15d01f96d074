/* SPDX-License-Identifier: MIT */
/*
 * Probe for cJSON CVE-2023-26819 (parse_number copies a number into a
 * 64-byte stack buffer and stops there: a valid number of more digits is
 * rejected, the text with it).  Each line "probe" parses an array holding
 * one 70-digit number: the vulnerable library refuses the text, the fixed
 * one parses it.
 */
#include <stdio.h>

#include "cJSON.h"

static const char text[] =
	"[ null, 9999999999999999999999999999999999999999999999912345678901234567890123 ]";

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		cJSON *j = cJSON_Parse(text);

		if (!j) {
			printf("vulnerable: a valid 70-digit number is rejected\n");
		} else {
			cJSON *n = cJSON_GetArrayItem(j, 1);

			printf("fixed: parsed, %s\n", n && cJSON_IsNumber(n) ? "a number" : "but not a number");
			cJSON_Delete(j);
		}
	}
	return 0;
}
