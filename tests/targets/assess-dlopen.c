/* SPDX-License-Identifier: MIT */
/*
 * Test target for the restart-required audit: dlopen()s the library given
 * as argv[1] and keeps it mapped.  Prints "ready"; answers "v" with the
 * loaded library's version, any other line with "ok".
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	int (*version)(void);
	char line[256];
	void *h;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || !(h = dlopen(argv[1], RTLD_NOW))) {
		fprintf(stderr, "dlopen: %s\n", argc < 2 ? "no library given" : dlerror());
		return 1;
	}
	version = (int (*)(void))dlsym(h, "assess_lib_version");
	if (!version)
		return 1;
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "v"))
			printf("%d\n", version());
		else
			printf("ok\n");
	}
	return 0;
}
