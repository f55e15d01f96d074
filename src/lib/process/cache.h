/* SPDX-License-Identifier: MIT */
/*
 * The cache shared by the operations of one host-wide sweep (or of any
 * caller that patches many processes): work that depends only on a mapped
 * file, not on the process that maps it, is done once.
 *
 * A mapped file is known by what fstat says about it through
 * /proc/PID/map_files (device, inode, size, mtime), which identifies it in
 * every mount namespace and after it was deleted or replaced on disk.  For
 * each such file the cache keeps its build-id and, once some operation
 * needed it, the parsed ELF object with its symbol table and imports fully
 * loaded, so that the object is read-only from then on and any number of
 * threads may use it at once.
 *
 * The cache owns every object it hands out; they live until hp_cache_free.
 */
#ifndef HP_LIB_CACHE_H
#define HP_LIB_CACHE_H

#include <sys/stat.h>
#include "lib/core/elf.h"
#include "lib/process/proc.h"

/* The key of the file behind a mapping (stat of its map_files link). */
int hp_file_key_of_map(pid_t pid, const struct hp_map *m, struct hp_file_key *ret_key);
void hp_file_key_of_stat(const struct stat *st, struct hp_file_key *ret_key);

/*
 * Build-id of the file behind a mapping; ret_len 0 when it has none (not an
 * ELF file).  With cache NULL the file is read every time.  ret_key (may be
 * NULL) gets the file's key, for hp_cache_elf later.  -ENOENT: the mapping
 * went away.
 */
int hp_cache_build_id(struct hp_cache *cache, pid_t pid, const struct hp_map *m, uint8_t *ret_bid,
		      size_t *ret_len, struct hp_file_key *ret_key);

/*
 * The ELF object behind a mapping, with symbols and imports loaded; shared
 * and read-only, owned by the cache.  full: the whole symbol table (a
 * patch's target: its statics, from a separate debug file if need be);
 * else only the dynamic one (a library that resolves imports).  key may
 * be NULL (then it is read).  A file that cannot be parsed fails the same
 * way, with the same message, every time it is asked for.
 */
int hp_cache_elf(struct hp_cache *cache, struct hp_ctx *ctx, pid_t pid, const struct hp_map *m,
		 const struct hp_file_key *key, const char *name, bool full, struct hp_elf **ret_elf);

/*
 * Offset of a `syscall` instruction in the vDSO, the same in every process
 * running on this kernel; 0 when not known yet.  Callers check the bytes
 * before they use it.
 */
uint64_t hp_cache_vdso_syscall(struct hp_cache *cache);
void hp_cache_set_vdso_syscall(struct hp_cache *cache, uint64_t off);

/* Counters for benchmarks: lookups, and how many had to read the file. */
struct hp_cache_stats {
	unsigned long build_id_lookups, build_id_reads;
	unsigned long elf_lookups, elf_loads;
};
void hp_cache_get_stats(struct hp_cache *cache, struct hp_cache_stats *ret);

#endif
