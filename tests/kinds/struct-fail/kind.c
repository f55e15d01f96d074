/* SPDX-License-Identifier: MIT */
/* Refused: the fix adds a member to struct conn, whose old layout running code still uses. */
#include <stdio.h>
#include <stdlib.h>
#include "conn.h"

__attribute__((noinline)) int conn_score(const struct conn *c)
{
	return c->id * 10 + c->used;
}

const char *answer(char *line)
{
	static char out[32];

	snprintf(out, sizeof(out), "%d", conn_score(conn_get(atoi(line))));
	return out;
}
