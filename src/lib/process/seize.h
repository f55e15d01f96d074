/* SPDX-License-Identifier: MIT */
/*
 * Attaching to a thread while holding others of the same process, without
 * the exec deadlock.
 *
 * PTRACE_SEIZE waits for the process's cred_guard_mutex, which execve()
 * holds until every other thread of the process is gone -- and a thread
 * that we trace is gone only once we have reaped it.  A thread of ours
 * that is blocked in PTRACE_SEIZE cannot reap, so an exec in a thread we
 * do not hold yet, while we hold another, would hang both processes.
 * hp_seize_guarded() lets a background thread of the library reap, while
 * the seize waits, the held threads that exec killed.
 */
#ifndef HP_LIB_REAPER_H
#define HP_LIB_REAPER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * PTRACE_SEIZE tid with options, while the calling thread traces the
 * threads in held[0..n) (the same process).  A held thread that exits
 * while the seize waits is reaped for the caller: its entry in held is
 * set to 0.  Returns 0 or -errno of the seize.
 */
int hp_seize_guarded(pid_t tid, unsigned long options, pid_t *held, size_t n);

#endif
