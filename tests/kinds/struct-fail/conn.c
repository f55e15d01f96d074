/* SPDX-License-Identifier: MIT */
/* Refusal fixture: connections live here, made by code the fix does not touch. */
#include <stdlib.h>
#include "conn.h"

static struct conn *table[16];

struct conn *conn_get(int id)
{
	struct conn **slot = &table[id & 15];

	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		(*slot)->id = id;
	}
	(*slot)->used++;
	return *slot;
}
