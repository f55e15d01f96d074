/* SPDX-License-Identifier: MIT */
/*
 * Pause benchmark target (bench/run-pause.sh): N threads, every one of them
 * busy, call work() in a tight loop and record the largest gap between two
 * consecutive iterations (clock_gettime through the vDSO, no system call).
 * With N = 1 the process has exactly one thread: nothing idle the patcher
 * could borrow, the shape of the peers' published figures.
 *
 * It is driven by signals, so that no extra thread waits for commands:
 *   SIGUSR1  reset the maximum (a gap spanning the reset is not counted)
 *   SIGUSR2  write "max_us=X" (largest gap of any thread since the reset)
 *            as one line to the file named by argv[2], then reset
 * It writes "ready PID" to stdout once every thread runs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_ullong max_gap_ns;
static atomic_uint epoch;
static atomic_uint running;
static const char *report_path;

__attribute__((noinline)) long work(long x)
{
#if HP_FIX == 1
	return x * 3 + 1;
#else
	return x * 3;
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Async-signal-safe: format by hand, one write(). */
static void on_signal(int sig)
{
	if (sig == SIGUSR2) {
		unsigned long long v = atomic_load(&max_gap_ns) / 100;	/* tenths of a microsecond */
		char buf[48], digits[24];
		int n = 0, d = 0, fd;

		do {
			digits[d++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		memcpy(buf, "max_us=", 7);
		n = 7;
		while (d > 1)
			buf[n++] = digits[--d];
		buf[n++] = '.';
		buf[n++] = digits[0];
		buf[n++] = '\n';
		fd = open(report_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			(void)!write(fd, buf, (size_t)n);
			close(fd);
		}
	}
	atomic_store(&max_gap_ns, 0);
	atomic_fetch_add(&epoch, 1);
}

static void *loop(void *arg)
{
	volatile long sink = 0;
	uint64_t prev = now_ns();
	unsigned seen = atomic_load(&epoch);
	long x = (long)(uintptr_t)arg;

	atomic_fetch_add(&running, 1);
	for (;;) {
		uint64_t t = now_ns(), cur;

		if (atomic_load_explicit(&epoch, memory_order_relaxed) != seen) {
			seen = atomic_load(&epoch);	/* a reset: do not count the gap across it */
			prev = t;
			continue;
		}
		cur = atomic_load_explicit(&max_gap_ns, memory_order_relaxed);
		while (t - prev > cur && !atomic_compare_exchange_weak(&max_gap_ns, &cur, t - prev))
			;
		prev = t;
		sink += work(x++);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, i;
	struct sigaction sa = { .sa_handler = on_signal };

	if (argc != 3 || n < 1) {
		fprintf(stderr, "usage: pause-target THREADS REPORT_FILE\n");
		return 2;
	}
	report_path = argv[2];
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	for (i = 1; i < n; i++) {
		pthread_t t;

		pthread_create(&t, NULL, loop, (void *)(uintptr_t)i);
	}
	while (atomic_load(&running) < (unsigned)n - 1)
		usleep(1000);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	loop(NULL);
	return 0;
}
