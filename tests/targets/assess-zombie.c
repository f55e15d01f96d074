/* SPDX-License-Identifier: MIT */
/*
 * Test target: forks a child that exits at once and never reaps it, so the
 * child stays a zombie.  Prints "zombie <pid>" and "ready", then echoes
 * stdin lines until EOF.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	char line[256];
	siginfo_t si;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		_exit(0);
	/* wait until it has exited, but leave it unreaped (WNOWAIT) */
	if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) < 0)
		return 1;
	printf("zombie %d\nready\n", child);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		printf("ok %s\n", line);
	}
	return 0;
}
