/* SPDX-License-Identifier: MIT */
/*
 * badged's commands:
 *   LOGIN <name>   start a session as <name> (a guest, unless <name> is "root")
 *   WHOAMI         who the session belongs to, and whether it is an admin
 *   SECRET         the admin-only answer
 *   QUIT           close the connection
 */
#include <stdio.h>
#include <string.h>

#include "session.h"

static int login(struct session *s, const char *name, char *out, size_t size)
{
	size_t len = strlen(name);

	if (len > PROTO_MAX_FIELD) {
		snprintf(out, size, "ERR name too long");
		return 0;
	}
	s->admin = !strcmp(name, "root");
	memcpy(s->user, name, len + 1);
	snprintf(out, size, "OK hello %s", s->user);
	return 0;
}

int session_handle(struct session *s, const char *line, char *out, size_t size)
{
	snprintf(s->last, sizeof(s->last), "%s", line);
	if (!strncmp(line, "LOGIN ", 6))
		return login(s, line + 6, out, size);
	if (!strcmp(line, "WHOAMI")) {
		if (!s->user[0])
			snprintf(out, size, "ERR not logged in");
		else
			snprintf(out, size, "%s (%s)", s->user, s->admin ? "admin" : "guest");
		return 0;
	}
	if (!strcmp(line, "SECRET")) {
		snprintf(out, size, s->admin ? "the launch code is 0000" : "ERR admins only");
		return 0;
	}
	if (!strcmp(line, "QUIT")) {
		snprintf(out, size, "BYE");
		return -1;
	}
	snprintf(out, size, "ERR unknown command");
	return 0;
}
