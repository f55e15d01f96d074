/* SPDX-License-Identifier: MIT */
/*
 * Kind 25: functions of 4 bytes (lea 0x1(%rdi),%eax; ret), too small for a
 * 5-byte jump: tiny_mid has padding after it; tiny_last (last.c, linked
 * last) ends .text and has only the alignment padding before it.  A thread calls
 * both all the time, through pointers the compiler cannot see through,
 * and counts answers that are neither the old nor the new one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int tiny_mid(int x);
int tiny_last(int x);
int (*volatile fp_mid)(int) = tiny_mid;
int (*volatile fp_last)(int) = tiny_last;
static volatile int bad;

static void *caller(void *arg)
{
	for (;;) {
		int m = fp_mid(1), l = fp_last(1);

		if ((m != 2 && m != 3) || (l != 2 && l != 3))
			bad++;
	}
	return arg;
}

__attribute__((constructor)) static void start_caller(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, caller, NULL) == 0)
		pthread_detach(t);
}

const char *answer(char *line)
{
	static char out[64];
	int v = atoi(line + 2);

	snprintf(out, sizeof(out), "%d %d bad %d", fp_mid(v), fp_last(v), bad);
	return out;
}

__attribute__((noinline)) int tiny_mid(int x)
{
	return x + 1;
}
