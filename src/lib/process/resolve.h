/* SPDX-License-Identifier: MIT */
/*
 * Finding a patch's target in a process and resolving the symbols a patch
 * uses the way the process itself resolved them.
 */
#ifndef HP_LIB_RESOLVE_H
#define HP_LIB_RESOLVE_H

#include "lib/core/elf.h"
#include "lib/process/module.h"

/* One ELF object as loaded in a process. */
struct hp_loaded {
	const struct hp_module *mod;	/* entry of the module list */
	struct hp_elf *elf;		/* opened through /proc/PID/map_files; NULL until needed */
	uint64_t bias;			/* runtime address = bias + link-time address */
	bool bias_known;
	bool open_failed;
	bool shared;			/* elf belongs to the process's cache (read-only, not closed here) */
	bool full;			/* elf has (or can load) the whole symbol table */
};

struct hp_process {
	pid_t pid;
	int memfd;			/* /proc/PID/mem, read-write */
	struct hp_cache *cache;		/* per-file work shared with other operations, or NULL */
	struct hp_maps maps;
	struct hp_module *mods;		/* file-backed ELF objects, in address order */
	size_t nmods;
	struct hp_loaded *loaded;	/* parallel to mods */
	size_t *order;			/* symbol search order (link map), indexes into mods */
	size_t norder;
	bool order_loaded;
	/* Runs an IFUNC resolver in the process (set by the engine); NULL: IFUNCs are refused. */
	int (*call_resolver)(void *ud, uint64_t fn, uint64_t *ret);
	void *call_ud;
};

/* Read the maps and module list of a process (opens /proc/PID/mem). */
int hp_process_open(struct hp_ctx *ctx, pid_t pid, struct hp_process *proc);
/* The same, with build-ids and ELF objects taken from cache (NULL: none). */
int hp_process_open_cached(struct hp_ctx *ctx, pid_t pid, struct hp_cache *cache, struct hp_process *proc);
/* The same from maps the caller read (taken over, also on failure). */
int hp_process_open_maps(struct hp_ctx *ctx, pid_t pid, struct hp_cache *cache, struct hp_maps *maps,
			 struct hp_process *proc);
void hp_process_close(struct hp_process *proc);

/* The module with a given build-id, or NULL. */
struct hp_loaded *hp_process_find_build_id(struct hp_process *proc, const uint8_t *bid, size_t len);

/* The module whose mappings contain runtime address addr, or NULL. */
struct hp_loaded *hp_process_loaded_at(struct hp_process *proc, uint64_t addr);

/*
 * Open the ELF of a loaded module and compute its load bias (idempotent).
 * From a cache, its symbols are already loaded: only the dynamic ones,
 * which is what import resolution reads; hp_loaded_open_full gives the
 * whole table (for the patch's target).  Without a cache, symbols are
 * loaded by hp_elf_load_symbols as before.
 */
int hp_loaded_open(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l);
int hp_loaded_open_full(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l);

/*
 * Resolve an import by name (optionally "name@VERSION").  With for_call the
 * target's own PLT stub is preferred (calls then bind exactly as the original
 * code's do).  target may be NULL.
 */
int hp_resolve_import(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *target, const char *name,
		      bool for_call, uint64_t *ret_addr);

/* Name of the function containing a runtime address, for messages ("f+0x12" or "0x..."). */
void hp_process_symbolize(struct hp_ctx *ctx, struct hp_process *proc, uint64_t addr, char *buf, size_t size);

#endif
