/* SPDX-License-Identifier: MIT */
/*
 * Kind 17: thread-locals keep their per-thread values across the patch:
 * local-exec (le_count), initial-exec (ie_count, defined in tls2.c) and
 * global-dynamic (gd_count, forced).  "m" counts in the main thread, "w"
 * in a worker thread that waits for requests.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static __thread int le_count;
extern __thread int ie_count;
__attribute__((tls_model("global-dynamic"))) __thread int gd_count;

__attribute__((noinline)) void count(char *out, size_t size, int step)
{
	le_count += step;
	ie_count += step * 10;
	gd_count += step * 100;
	snprintf(out, size, "%d %d %d", le_count, ie_count, gd_count);
}

static sem_t go, done;
static char worker_out[64];

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&go);
		count(worker_out, sizeof(worker_out), 1);
		sem_post(&done);
	}
	return NULL;
}

const char *answer(char *line)
{
	static char out[64];
	static int started;

	if (line[0] == 'w') {
		if (!started) {
			pthread_t t;

			sem_init(&go, 0, 0);
			sem_init(&done, 0, 0);
			pthread_create(&t, NULL, worker, NULL);
			started = 1;
		}
		sem_post(&go);
		sem_wait(&done);
		return worker_out;
	}
	count(out, sizeof(out), 1);
	return out;
}
