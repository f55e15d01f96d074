/* SPDX-License-Identifier: MIT */
/* The per-process patcher lock (lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/engine/lock.h"

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
static int start_time(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024], *p;
	int field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = hp_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n == -ENOENT ? -ESRCH : (int)n;
	p = strrchr(buf, ')');	/* the name may hold spaces and parentheses */
	if (!p)
		return -EBADMSG;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EBADMSG;
	*ret = strtoull(p + 1, NULL, 10);
	return 0;
}

/*
 * Who holds the lock on path: the pid a holder wrote into it ("pid N",
 * what earlier versions and other tools write), else the owner of the
 * flock on its inode in /proc/locks.  Only asked when a wait timed out.
 */
static pid_t holder_of(const char *path)
{
	char buf[64], line[256];
	struct stat st;
	ssize_t n = hp_read_small(path, buf, sizeof(buf));
	pid_t pid = 0;
	FILE *f;

	if (n > 4 && !strncmp(buf, "pid ", 4))
		return (pid_t)strtol(buf + 4, NULL, 10);
	if (stat(path, &st) < 0 || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		int p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters' lines have "->" */
		if (strstr(line, "->") || !strstr(line, "FLOCK"))
			continue;
		if (sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%llu", &p, &maj, &min, &ino) == 4 &&
		    ino == (unsigned long long)st.st_ino && makedev(maj, min) == st.st_dev)
			pid = p;
	}
	fclose(f);
	return pid;
}

/*
 * Why so few system calls (issue 15, a sweep takes one lock per process):
 * the run directory is made only when the file cannot be created for its
 * absence; a file created here (O_EXCL) is fresh, one found already there
 * was left by a patcher that died holding it, or is held -- *stale says so,
 * and only then does the engine look for what a dead patcher leaks.  After
 * the flock, a link count of 0 means its holder removed it meanwhile.
 */
int hp_plock_take(struct hp_ctx *ctx, pid_t pid, unsigned wait_ms, struct hp_plock *l)
{
	const char *dir = secure_getenv("HOTPATCH_RUN_DIR");
	uint64_t start = hp_now_ns(), deadline = start + (uint64_t)wait_ms * 1000000ull;
	unsigned long long st = 0;
	unsigned sleep_us = 1000;
	bool made_dir = false;
	int r;

	l->fd = -1;
	l->stale = false;
	if (!dir || !*dir)
		dir = "/run/hotpatch";
	r = start_time(pid, &st);
	if (r < 0)
		return r == -ESRCH ? hp_err(ctx, -ESRCH, "pid %d: no such process", pid) : 0;
	snprintf(l->path, sizeof(l->path), "%s/pid-%d-%llu.lock", dir, pid, st);
	for (;;) {
		struct stat a;
		bool existed = false;
		int fd = open(l->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0 && errno == ENOENT && !made_dir) {
			made_dir = true;
			if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
				hp_debug(ctx, "pid %d: no lock against another patcher: cannot create %s: %s", pid, dir,
					 strerror(errno));
				return 0;
			}
			continue;
		}
		if (fd < 0 && errno == EEXIST) {
			existed = true;
			fd = open(l->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 && errno == ENOENT)
				continue;	/* removed by its holder meanwhile */
		}
		if (fd < 0) {
			hp_debug(ctx, "pid %d: no lock against another patcher: %s: %s", pid, l->path, strerror(errno));
			return 0;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* The holder before us may have removed the file after we opened it: lock the one named. */
			if (fstat(fd, &a) == 0 && a.st_nlink > 0) {
				l->fd = fd;
				l->stale = existed;
				return 0;
			}
			close(fd);
			continue;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return hp_err(ctx, -errno, "pid %d: cannot lock %s: %s", pid, l->path, strerror(errno));
		if (hp_now_ns() + (uint64_t)sleep_us * 1000 > deadline) {
			pid_t h = holder_of(l->path);

			l->path[0] = 0;
			if (h > 0)
				return hp_err(ctx, -HP_E_BUSY, "pid %d is being worked on by another hotpatch (pid %d); "
							       "waited %.1f s", pid, h, (hp_now_ns() - start) / 1e9);
			return hp_err(ctx, -HP_E_BUSY, "pid %d is being worked on by another hotpatch; waited %.1f s",
				      pid, (hp_now_ns() - start) / 1e9);
		}
		{
			struct timespec ts = { 0, (long)sleep_us * 1000 };

			nanosleep(&ts, NULL);
			if (sleep_us < 50000)
				sleep_us *= 2;
		}
	}
}

/*
 * Remove the file while still holding it (a waiter then retries on a new
 * one), then unlock.  A stale file (a patcher died holding it) stays until
 * an apply has looked for what that patcher leaked (lock.h).
 */
void hp_plock_release(struct hp_plock *l)
{
	if (l->fd < 0)
		return;
	if (!l->stale)
		unlink(l->path);
	close(l->fd);
	l->fd = -1;
}
