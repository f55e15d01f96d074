/* SPDX-License-Identifier: MIT */
/*
 * The ELF modules of a process: its file mappings grouped by object, each
 * with the build-id of the file behind it (through the per-file cache).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/process/cache.h"
#include "lib/process/module.h"

static bool is_file_map(const struct hp_map *m)
{
	/* A patch's own memory (engine/srec.h: memfd "hotpatch:<id>") is no module: never read it as one. */
	return m->path[0] == '/' && m->inode != 0 && strncmp(m->path, "/memfd:hotpatch:", 16) != 0;
}

int hp_module_list(pid_t pid, const struct hp_maps *maps, struct hp_cache *cache,
			   struct hp_module **ret_mods, size_t *ret_n)
{
	struct hp_module *mods = NULL;
	size_t n = 0, cap = 0, i, j;

	for (i = 0; i < maps->n; i++) {
		const struct hp_map *m = &maps->v[i];
		struct hp_module mod = { 0 };
		int r;

		if (!is_file_map(m) || m->offset != 0)
			continue;
		/* An offset-0 mapping of a file already listed (mapped twice) starts a new module only
		 * if it is not adjacent to the previous one of the same inode. */
		r = hp_cache_build_id(cache, pid, m, mod.build_id, &mod.build_id_len, cache ? &mod.key : NULL);
		if (r < 0) {
			if (r == -ENOENT)
				continue;	/* mapping vanished */
			free(mods);
			return r;
		}
		mod.key_known = cache != NULL;
		mod.path = m->path;
		mod.deleted = m->deleted;
		mod.inode = m->inode;
		mod.dev_major = m->dev_major;
		mod.dev_minor = m->dev_minor;
		mod.start = m->start;
		mod.end = m->end;
		mod.first_map = i;
		for (j = i + 1; j < maps->n; j++) {
			const struct hp_map *k = &maps->v[j];

			if (k->inode == m->inode && k->dev_major == m->dev_major && k->dev_minor == m->dev_minor &&
			    k->offset != 0) {
				mod.end = k->end;
				continue;
			}
			/* anonymous .bss tail directly after the file mappings */
			if (!k->inode && !k->path[0] && k->start == mod.end && j == i + 1)
				continue;
			if (k->inode && k->inode == m->inode && k->offset == 0)
				break;
			if (k->inode && k->inode != m->inode)
				break;
		}
		if (HP_GROW(mods, cap, n + 1) < 0) {
			free(mods);
			return -ENOMEM;
		}
		mods[n++] = mod;
	}
	*ret_mods = mods;
	*ret_n = n;
	return 0;
}

