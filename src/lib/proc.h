/* SPDX-License-Identifier: MIT */
/* Reading a process from /proc: mappings, loaded ELF modules, threads. */
#ifndef HP_LIB_PROC_H
#define HP_LIB_PROC_H

#include "internal.h"

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

/* One ELF object mapped into a process. */
struct hp_module {
	const char *path;		/* as shown in maps (points into maps) */
	bool deleted;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	uint64_t start, end;		/* lowest start / highest end of its mappings */
	size_t first_map;		/* index of its offset-0 mapping in maps */
	uint8_t build_id[HP_BUILD_ID_MAX];
	size_t build_id_len;
	struct hp_file_key key;		/* valid when key_known (listed with a cache) */
	bool key_known;
};

/*
 * List the ELF modules of a process with their build-ids (read through
 * /proc/PID/map_files, so replaced or deleted files work).  Anonymous and
 * non-ELF mappings are skipped.
 */
int hp_proc_modules(pid_t pid, const struct hp_maps *maps, struct hp_module **ret_mods, size_t *ret_n);
/* The same, build-ids looked up in cache (NULL: read from every file). */
int hp_proc_modules_cached(pid_t pid, const struct hp_maps *maps, struct hp_cache *cache,
			   struct hp_module **ret_mods, size_t *ret_n);

/* Open the file behind a mapping via /proc/PID/map_files. */
int hp_proc_open_map_file(pid_t pid, const struct hp_map *m);

/* Thread ids of a process, from /proc/PID/task. */
int hp_proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n);

/* Scheduler state letter of a thread ('R', 'S', 'T', 't', 'Z', ...) or 0. */
char hp_proc_thread_state(pid_t pid, pid_t tid);

/* TracerPid of a process (0 if none, negative on error). */
int hp_proc_tracer(pid_t pid);

/* Short name (comm) of a process into buf. */
int hp_proc_comm(pid_t pid, char *buf, size_t size);

#endif
