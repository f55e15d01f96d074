/* SPDX-License-Identifier: MIT */
/*
 * spawn-time OUT CMD [ARG...]: run CMD with posix_spawn (vfork and exec:
 * no copy of a large parent's page tables, unlike a fork from bash) and
 * write its wall time, from just before the spawn to the moment waitpid
 * returns, in microseconds to the file OUT.  Exits with CMD's exit code (128
 * + N when a signal N ended it, 127 when it could not be started), so the
 * benchmark scripts still check every operation.
 *
 * Used by bench/lib-bench.sh's `timed`: a bash fork of itself costs a few
 * milliseconds on a VM, which is not the command's time.  The same timer
 * run on a static program that does nothing gives the floor any command
 * pays on the machine (process creation, exec, exit); the scripts print it.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct timespec a, b;
	pid_t pid;
	int st, r;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn-time OUT CMD [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
	if (r) {
		fprintf(stderr, "spawn-time: cannot run %s: %s\n", argv[2], strerror(r));
		return 127;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	clock_gettime(CLOCK_MONOTONIC, &b);
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%.1f\n", (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) < 0 || fclose(f)) {
		fprintf(stderr, "spawn-time: cannot write %s\n", argv[1]);
		return 127;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
