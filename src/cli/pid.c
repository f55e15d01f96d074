/* SPDX-License-Identifier: MIT */
/*
 * What a -p PID names, said plainly before any work: a thread of another
 * process, a kernel thread, or a process the kernel will not let us touch
 * (and why, as far as /proc tells).  The library's errno alone ("No such
 * process", "Permission denied") names none of these.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "shared/escape.h"
#include "shared/util.h"

#define PF_KTHREAD 0x00200000u
#define CAP_SYS_PTRACE 19

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

/* Why: a field of a read /proc/PID/status ("Tgid", "Kthread"), as text; false when absent. */
static bool status_buf_field(const char *buf, const char *name, char *out, size_t size)
{
	const char *p;
	size_t n = strlen(name);

	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " \t");
			hp_strlcpy(out, p, size);
			out[strcspn(out, "\n")] = 0;
			return true;
		}
	return false;
}

/* Why: a field of /proc/PID/status ("Tgid", "CapPrm"), as text; false when absent. */
static bool status_field(pid_t pid, const char *name, char *out, size_t size)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (hp_read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	return status_buf_field(buf, name, out, size);
}

/* Why: the kernel marks its own threads with PF_KTHREAD (the 9th field of /proc/PID/stat). */
static bool is_kernel_thread(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long flags;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (hp_read_small(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return false;
	for (i = 0; i < 7 && p; i++)	/* ") S ppid pgrp session tty_nr tpgid flags" */
		p = strchr(p + 1, ' ');
	return p && sscanf(p, " %llu", &flags) == 1 && (flags & PF_KTHREAD);
}

/* Why: what the process is, for messages: "1 (process_api, the first process of its PID namespace)". */
static void describe(pid_t pid, char *out, size_t size)
{
	char comm[64] = "?", path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (hp_read_small(path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = 0;
	snprintf(out, size, "pid %d (%s%s)", pid, hp_esc(comm),
		 pid == 1 ? ", the init process of this PID namespace" : "");
}

/*
 * Why: "Permission denied" on a process root can see has a handful of
 * causes, most readable from /proc: say which hold.
 */
static void why_denied(pid_t pid, char *out, size_t size)
{
	char ours[64] = "", theirs[64] = "", scope[16] = "", missing[512] = "";
	uint64_t a = 0, b = 0, extra;
	size_t len = 0;
	unsigned i;

	out[0] = 0;
	if (hp_read_small("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope)) > 0) {
		scope[strcspn(scope, "\n")] = 0;
		if (!strcmp(scope, "3"))
			len += (size_t)snprintf(out + len, size - len, "; kernel.yama.ptrace_scope is 3: no process may "
					"be traced until reboot");
		else if (!strcmp(scope, "2"))
			len += (size_t)snprintf(out + len, size - len, "; kernel.yama.ptrace_scope is 2: tracing needs "
					"CAP_SYS_PTRACE");
	}
	if (status_field(getpid(), "CapEff", ours, sizeof(ours)) &&
	    status_field(pid, "CapPrm", theirs, sizeof(theirs))) {
		a = strtoull(ours, NULL, 16);
		b = strtoull(theirs, NULL, 16);
		if (!(a & (1ull << CAP_SYS_PTRACE)) && len < size)
			len += (size_t)snprintf(out + len, size - len, "; this process lacks CAP_SYS_PTRACE");
		extra = b & ~a;
		for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]) && extra; i++)
			if (extra & (1ull << i)) {
				size_t m = strlen(missing);

				snprintf(missing + m, sizeof(missing) - m, "%s%s", m ? ", " : "", cap_names[i]);
			}
		if (missing[0] && len < size)
			len += (size_t)snprintf(out + len, size - len, "; it holds capabilities this process does not "
					"(%s): the kernel then requires CAP_SYS_PTRACE in its user namespace, which "
					"this process does not have there (it runs in a child user namespace or a "
					"container)", missing);
	}
	if (!out[0])
		snprintf(out, size, "; a security module (SELinux, AppArmor) or the process being non-dumpable "
			 "may refuse it");
}

int cli_check_pid(struct cli *cli, pid_t *pid)
{
	char tgid[32], kthread[8], what[160], why[1024], path[64], status[4096];
	bool has_status, kernel;
	pid_t p;
	int fd, e;

	snprintf(path, sizeof(path), "/proc/%d/status", *pid);
	has_status = hp_read_small(path, status, sizeof(status)) > 0;
	if (has_status && status_buf_field(status, "Tgid", tgid, sizeof(tgid)) && hp_parse_pid(tgid, &p) == 0 &&
	    p != *pid) {
		if (!cli->json)
			fprintf(stderr, "hotpatch: thread %d belongs to process %d; using the process\n", *pid, p);
		*pid = p;
		has_status = false;	/* that was the thread's */
	}
	/* Linux 6.x says "Kthread:" in status (one read less per command); older kernels: the stat flags */
	if (has_status && status_buf_field(status, "Kthread", kthread, sizeof(kthread)))
		kernel = !strcmp(kthread, "1");
	else
		kernel = is_kernel_thread(*pid);
	if (kernel) {
		describe(*pid, what, sizeof(what));
		return cli_fail(cli, -ENOEXEC, "%s is a kernel thread; it has no user-space code to patch", what);
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", *pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e != EACCES && e != EPERM)
		return 0;	/* the operation says what else is wrong */
	describe(*pid, what, sizeof(what));
	why_denied(*pid, why, sizeof(why));
	return cli_fail(cli, -EPERM, "%s: the kernel refuses access to its memory (%s)%s", what, strerror(e), why);
}
