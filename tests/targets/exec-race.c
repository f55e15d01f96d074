/* SPDX-License-Identifier: MIT */
/*
 * Test target: eight threads call work() in a loop while the main thread,
 * after argv[1] microseconds, executes argv[2] (argv[3]...).  An apply or
 * a sweep that is under way when the exec happens must fail cleanly: the
 * new program starts and ends normally, and the patcher neither hangs nor
 * touches it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) long work(long x)
{
#if HP_FIX == 1
	return x * 3 + 1;
#else
	return x * 3;
#endif
}

static void *spin(void *arg)
{
	volatile long sink = 0;
	long i;

	for (i = 0;; i++) {
		sink += work(i);
		if (!(i & 0xfff))
			usleep(50);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 3)
		return 2;
	for (i = 0; i < 8; i++) {
		pthread_t t;

		pthread_create(&t, NULL, spin, NULL);
	}
	usleep((useconds_t)atoi(argv[1]));
	execv(argv[2], argv + 2);
	return 1;
}
