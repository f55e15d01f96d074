/* SPDX-License-Identifier: MIT */
/* badged: one client session and the commands it understands. */
#ifndef BADGED_SESSION_H
#define BADGED_SESSION_H

#include <stddef.h>

/* Longest argument the line protocol carries. */
#define PROTO_MAX_FIELD 64

struct session {
	char user[16];			/* who logged in: at most 15 characters */
	int admin;			/* set only for the configured administrator */
	char last[PROTO_MAX_FIELD + 8];	/* the last command, for HISTORY */
};

/* Handle one request line; write the reply into out.  Returns 0, or -1 to close. */
int session_handle(struct session *s, const char *line, char *out, size_t size);

#endif
