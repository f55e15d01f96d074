/* SPDX-License-Identifier: MIT */
/*
 * Test wrapper: puts itself under a restriction the way a service manager
 * does, then execs the target (seccomp filters and PR_SET_MDWE survive
 * execve), so that assess can be checked against what the engine then
 * really meets.
 *
 *   assess-wrap MODE PROG [ARGS...]
 *     deny-memfd       seccomp: memfd_create fails with EPERM
 *     kill-memfd       seccomp: memfd_create kills the process
 *     notif-memfd      seccomp: memfd_create goes to a user-space supervisor (none listens)
 *     wx               seccomp W^X filter as systemd MemoryDenyWriteExecute=yes, plus PR_SET_MDWE
 *     strict           no exec: prints "ready", enters seccomp strict mode, echoes stdin
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

#define ARGLO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JSET(k, t, f) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))
#define ARCH LD(offsetof(struct seccomp_data, arch)), JEQ(AUDIT_ARCH_X86_64, 1, 0), RET(SECCOMP_RET_KILL_PROCESS), \
	     LD(offsetof(struct seccomp_data, nr))

static int install(struct sock_filter *f, unsigned short n, unsigned long flags)
{
	struct sock_fprog prog = { n, f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void strict_echo(void)
{
	char buf[256];
	ssize_t n;

	if (write(1, "ready\n", 6) != 6)
		_exit(1);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) < 0)
		_exit(1);
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			break;
	syscall(SYS_exit, 0);
}

int main(int argc, char **argv)
{
	struct sock_filter deny_memfd[] = { ARCH, JEQ(SYS_memfd_create, 0, 1), RET(SECCOMP_RET_ERRNO | EPERM),
					    RET(SECCOMP_RET_ALLOW) };
	struct sock_filter kill_memfd[] = { ARCH, JEQ(SYS_memfd_create, 0, 1), RET(SECCOMP_RET_KILL_PROCESS),
					    RET(SECCOMP_RET_ALLOW) };
	struct sock_filter notif_memfd[] = { ARCH, JEQ(SYS_memfd_create, 0, 1), RET(SECCOMP_RET_USER_NOTIF),
					     RET(SECCOMP_RET_ALLOW) };
	struct sock_filter wx[] = {
		ARCH,
		JEQ(SYS_mmap, 0, 5), LD(ARGLO(2)), BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
		JEQ(PROT_WRITE | PROT_EXEC, 0, 1), RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW),
		JEQ(SYS_mprotect, 1, 0), JEQ(SYS_pkey_mprotect, 0, 3), LD(ARGLO(2)), JSET(PROT_EXEC, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW),
	};
	const char *mode;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: assess-wrap MODE [PROG ARGS...]\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "strict"))
		strict_echo();
	if (argc < 3) {
		fprintf(stderr, "assess-wrap: %s needs a program\n", mode);
		return 2;
	}
	if (!strcmp(mode, "deny-memfd"))
		r = install(deny_memfd, sizeof(deny_memfd) / sizeof(deny_memfd[0]), 0);
	else if (!strcmp(mode, "kill-memfd"))
		r = install(kill_memfd, sizeof(kill_memfd) / sizeof(kill_memfd[0]), 0);
	else if (!strcmp(mode, "notif-memfd"))
		r = install(notif_memfd, sizeof(notif_memfd) / sizeof(notif_memfd[0]), SECCOMP_FILTER_FLAG_NEW_LISTENER);
	else if (!strcmp(mode, "wx")) {
		r = prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0);
		if (r == 0)
			r = install(wx, sizeof(wx) / sizeof(wx[0]), 0);
	} else {
		fprintf(stderr, "assess-wrap: unknown mode %s\n", mode);
		return 2;
	}
	if (r < 0) {
		perror("assess-wrap");
		return 1;
	}
	execv(argv[2], argv + 2);
	perror("assess-wrap: execv");
	return 1;
}
