/* SPDX-License-Identifier: MIT */
/* The ELF modules mapped into a process (module.c). */
#ifndef HP_LIB_MODULE_H
#define HP_LIB_MODULE_H

#include "lib/process/proc.h"

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
 * non-ELF mappings are skipped.  Build-ids are looked up in cache (NULL: read
 * from every file).
 */
int hp_module_list(pid_t pid, const struct hp_maps *maps, struct hp_cache *cache,
		   struct hp_module **ret_mods, size_t *ret_n);

#endif
