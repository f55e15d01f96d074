/* SPDX-License-Identifier: MIT */
/*
 * badged: a tiny line-protocol service on a loopback port, one client at a
 * time, one reply line per request line.  The demo of `hotpatch build` runs
 * it, finds its bug, and fixes it without restarting it.
 *
 *   badged PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"

static void serve(int fd)
{
	FILE *in = fdopen(dup(fd), "r"), *out = fdopen(fd, "w");
	struct session s;
	char line[256], reply[512];

	if (!in || !out) {
		if (in)
			fclose(in);
		close(fd);
		return;
	}
	memset(&s, 0, sizeof(s));
	while (fgets(line, sizeof(line), in)) {
		int r;

		line[strcspn(line, "\r\n")] = 0;
		r = session_handle(&s, line, reply, sizeof(reply));
		fprintf(out, "%s\n", reply);
		fflush(out);
		if (r < 0)
			break;
	}
	fclose(in);
	fclose(out);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int ls, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: badged PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0) {
		perror("badged");
		return 1;
	}
	printf("badged %d listening on 127.0.0.1:%s\n", (int)getpid(), argv[1]);
	fflush(stdout);
	for (;;) {
		int c = accept(ls, NULL, NULL);

		if (c >= 0)
			serve(c);
	}
}
