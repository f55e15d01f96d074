/* SPDX-License-Identifier: MIT */
/*
 * Test target: a process with a second thread that only waits, so a test
 * can name a thread id that is not the process id (t2022-odd-inputs).
 * Prints "ready TID" with the second thread's id, then echoes its input.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pid_t tid;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	tid = gettid();
	pthread_cond_signal(&cond);
	for (;;)
		pthread_cond_wait(&cond, &lock);
	return NULL;
}

int main(void)
{
	pthread_t t;
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutex_lock(&lock);
	pthread_create(&t, NULL, waiter, NULL);
	while (!tid)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	printf("ready %d\n", tid);
	while (fgets(line, sizeof(line), stdin))
		fputs(line, stdout);
	return 0;
}
