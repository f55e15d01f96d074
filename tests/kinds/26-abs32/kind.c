/* SPDX-License-Identifier: MIT */
/*
 * Kind 26: the fix takes addresses of library symbols the program never
 * used (optind, tzname, strsignal).  Non-PIE code holds them as 32-bit
 * absolutes (R_X86_64_32 `mov $optind,%eax`, R_X86_64_32S
 * `mov tzname(,%rdi,8),%rax`) that cannot reach a library above 4 GiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int *where(void)
{
	return NULL;
}

__attribute__((noinline)) const char *zone(int i)
{
	return i ? "none" : "none";
}

__attribute__((noinline)) void *signame(void)
{
	return NULL;
}

const char *answer(char *line)
{
	static char out[128];
	int *w = where();
	char *(*f)(int) = (char *(*)(int))signame();

	snprintf(out, sizeof(out), "%d %s %s", w ? *w : -1, zone(atoi(line)), f ? f(atoi(line)) : "-");
	return out;
}
