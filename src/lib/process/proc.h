/* SPDX-License-Identifier: MIT */
/* Reading a process from /proc: mappings, loaded ELF modules, threads. */
#ifndef HP_LIB_PROC_H
#define HP_LIB_PROC_H

#include "lib/core/internal.h"

struct hp_map {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	char perms[5];			/* "r-xp" */
	const char *path;		/* into the maps buffer; "" for anonymous */
	bool deleted;			/* path ends in " (deleted)" (suffix stripped) */
};

struct hp_maps {
	struct hp_map *v;
	size_t n;
	char *buf;
};

/* Parse /proc/PID/maps (below proc_root, "/proc" when NULL). */
int hp_maps_read(const char *proc_root, pid_t pid, struct hp_maps *ret_maps);
/* Parse maps text (exposed for unit tests and fuzzing); buf is taken over. */
int hp_maps_parse(char *buf, struct hp_maps *ret_maps);
void hp_maps_release(struct hp_maps *maps);
const struct hp_map *hp_maps_find(const struct hp_maps *maps, uint64_t addr);

/* Identity of a mapped file as fstat sees it through map_files (cache.h). */
struct hp_file_key {
	uint64_t dev, ino;
	int64_t size;
	int64_t mtime_sec, mtime_nsec;
};

/* Open the file behind a mapping via /proc/PID/map_files. */
int hp_proc_open_map_file(pid_t pid, const struct hp_map *m);

/* Thread ids of a process, from /proc/PID/task. */
int hp_proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n);
/* The descriptors of pid whose /proc/PID/fd link starts with prefix (a malloc'd array). */
int hp_proc_fds_named(pid_t pid, const char *prefix, int **ret_fds, size_t *ret_n);

/* Scheduler state letter of a thread ('R', 'S', 'T', 't', 'Z', ...) or 0. */
char hp_proc_thread_state(pid_t pid, pid_t tid);
/* The CPU a thread last ran on (-1 if unknown), and its state letter in *ret_state. */
int hp_proc_thread_cpu(pid_t pid, pid_t tid, char *ret_state);

/* TracerPid of a process (0 if none, negative on error). */
int hp_proc_tracer(pid_t pid);
/*
 * From /proc/PID/status: the signals the process has handlers for
 * (SigCgt, bit N-1 for signal N), its seccomp mode (0: no filter) and,
 * when ret_threads is not NULL, its number of threads (0 if not said).
 */
int hp_proc_signals(pid_t pid, uint64_t *ret_caught, int *ret_seccomp, unsigned *ret_threads);

/* Short name (comm) of a process into buf. */
int hp_proc_comm(pid_t pid, char *buf, size_t size);

#endif
