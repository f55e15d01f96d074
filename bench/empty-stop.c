/* SPDX-License-Identifier: MIT */
/*
 * empty-stop PID N: stop every thread of process PID and let them go
 * again with nothing done in between -- seize each, interrupt each, wait
 * until each is stopped, read each one's registers, detach each -- N
 * times, 100 ms apart.  Prints, per stop, the time from the first
 * interrupt to the last detach in microseconds.
 *
 * The floor under the pause of any ptrace-based operation on this machine
 * (issue 15): bench/run-pause.sh prints it next to the engine's stop, and
 * the gap the target's threads see around it next to their gap with
 * nothing done, for a process of one thread.  (It stops any number of
 * threads -- every interrupt sent before any wait, then each thread polled
 * in turn, spinning -- but with many busy threads on few CPUs how long a
 * stop takes is a matter of scheduling, which the engine manages
 * (real-time interrupts, backing off to sleeps) and this tool does not:
 * there it is no floor.)  Exits 1 on any failure (a thread that went away
 * is not one: it is left out).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#define MAX_THREADS 4096

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int list_threads(int pid, int *tids)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) && n < MAX_THREADS)
		if (de->d_name[0] != '.')
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	static int tids[MAX_THREADS];
	static char seized[MAX_THREADS];
	static int sig[MAX_THREADS];	/* a signal its stop took it at: handed back at the detach */
	static char stopped[MAX_THREADS];
	int pid, runs, i, k, n, left;

	if (argc != 3 || (pid = atoi(argv[1])) <= 0 || (runs = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: empty-stop PID N\n");
		return 2;
	}
	for (i = 0; i < runs; i++) {
		struct user_regs_struct regs;
		double t0, t1;
		int st;

		n = list_threads(pid, tids);
		if (n <= 0) {
			fprintf(stderr, "empty-stop: cannot list the threads of %d\n", pid);
			return 1;
		}
		for (k = 0; k < n; k++) {
			sig[k] = 0;
			seized[k] = ptrace(PTRACE_SEIZE, tids[k], 0, 0) == 0;
			if (!seized[k] && errno != ESRCH) {
				fprintf(stderr, "empty-stop: cannot seize %d: %s\n", tids[k], strerror(errno));
				return 1;
			}
		}
		t0 = now_us();
		for (k = 0; k < n; k++) {
			stopped[k] = 0;
			if (seized[k] && ptrace(PTRACE_INTERRUPT, tids[k], 0, 0) < 0)
				seized[k] = 0;
		}
		for (left = n; left > 0;) {
			for (k = 0, left = 0; k < n; k++) {
				pid_t w;

				if (!seized[k] || stopped[k])
					continue;
				w = waitpid(tids[k], &st, __WALL | WNOHANG);
				if (w == 0) {
					left++;
					continue;
				}
				if (w < 0 || !WIFSTOPPED(st)) {
					seized[k] = 0;	/* gone */
					continue;
				}
				stopped[k] = 1;
				sig[k] = (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
				if (ptrace(PTRACE_GETREGS, tids[k], 0, &regs) < 0) {
					fprintf(stderr, "empty-stop: cannot read the registers of %d: %s\n", tids[k],
						strerror(errno));
					return 1;
				}
			}
		}
		for (k = 0; k < n; k++)
			if (seized[k] && ptrace(PTRACE_DETACH, tids[k], 0, (void *)(long)sig[k]) < 0 && errno != ESRCH) {
				fprintf(stderr, "empty-stop: cannot detach %d: %s\n", tids[k], strerror(errno));
				return 1;
			}
		t1 = now_us();
		printf("%.1f\n", t1 - t0);
		fflush(stdout);
		usleep(100000);
	}
	return 0;
}
