/* SPDX-License-Identifier: MIT */
/*
 * One patcher per process at a time.  Two invocations against one process
 * (the CLI twice, the CLI and an agent) would otherwise read the same state
 * record and both act on it.  The lock is an flock on a file named after the
 * process's pid and start time under $HOTPATCH_RUN_DIR (default
 * /run/hotpatch): the kernel drops it when its holder dies, however it dies,
 * and a recycled pid names another file.  A waiter that gives up names the
 * holder from /proc/locks (or a "pid N" line in the file, if a holder wrote
 * one).
 */
#ifndef HP_LIB_LOCK_H
#define HP_LIB_LOCK_H

#include "lib/core/internal.h"

struct hp_plock {
	int fd;				/* -1: not held */
	bool stale;			/* the file was there already: a holder died holding it; kept on release while set */
	char path[256];
};

/*
 * Take the lock of process pid, waiting up to wait_ms for another holder.
 * Fails with -HP_E_BUSY naming the holder; a run directory that cannot be
 * created (no privilege) leaves the operation unlocked, said at debug level.
 */
int hp_plock_take(struct hp_ctx *ctx, pid_t pid, unsigned wait_ms, struct hp_plock *l);
/* Unlock; the file is removed unless the lock is still marked stale (the caller clears it once repaired). */
void hp_plock_release(struct hp_plock *l);

#endif
