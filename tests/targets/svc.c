/* SPDX-License-Identifier: MIT */
/*
 * A service for t7007-agent-systemd: writes svc_value(5) to the file named
 * by argv[1] every 20 ms.  HP_FIX=1 is a good fix (1005); HP_FIX=2 is a bad
 * one (-1), which a service run with HP_DIE=1 treats as fatal: it exits
 * with status 3 and its unit fails (not a crash signal: systemd's verdict is
 * the health signal).  SVC_VARIANT changes the build (another build-id).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef SVC_VARIANT
#define SVC_VARIANT "1"
#endif

const char svc_variant[] = "svc variant " SVC_VARIANT;
static volatile int calls;

__attribute__((noipa)) int svc_value(int x)
{
	calls++;	/* long enough for the jump that redirects it */
#if HP_FIX == 1
	return x + 1000;
#elif HP_FIX == 2
	return -1 + 0 * x;
#else
	return x + 13;
#endif
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	for (;;) {
		int v = svc_value(5);
		FILE *f = fopen(argv[1], "w");

		if (f) {
			fprintf(f, "%d\n", v);
			fclose(f);
		}
		if (v < 0 && getenv("HP_DIE"))
			return 3;
		usleep(20000);
	}
}
