/* SPDX-License-Identifier: MIT */
/*
 * The agent's view of which builds run on the host: GNU build-ids of mapped
 * files, read from the ELF notes and cached by device and inode, so that
 * watching a new process costs one read of its maps and no ELF parsing for
 * files already seen.
 */
#ifndef HP_AGENT_BUILDID_H
#define HP_AGENT_BUILDID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUILDID_HEX_MAX 129

/* Build-id of the ELF file open on fd as lowercase hex; -ENOENT if it has none. */
int buildid_read_fd(int fd, char ret_hex[BUILDID_HEX_MAX]);

struct buildid_cache;

int buildid_cache_new(struct buildid_cache **ret);
void buildid_cache_free(struct buildid_cache *c);

/* One executable file mapping of a process. */
struct buildid_map {
	char path[512];
	char build_id[BUILDID_HEX_MAX];	/* "" when unreadable or none */
	dev_t dev;
	ino_t ino;
	bool deleted;
};

/*
 * The executable file mappings of pid (one per file), with their build-ids
 * (from the cache, else read through /proc/PID/map_files).  Caller frees
 * *ret.  -ESRCH when the process is gone.
 */
int buildid_process_maps(struct buildid_cache *c, pid_t pid, struct buildid_map **ret, size_t *ret_n);



/* Distinct build-ids of every file mapped executable by a process on the host (strings; free with buildid_list_free). */
int buildid_host(struct buildid_cache *c, char ***ret, size_t *ret_n);
void buildid_list_free(char **v, size_t n);
#endif
