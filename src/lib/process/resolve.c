/* SPDX-License-Identifier: MIT */
/*
 * Modules of a process and symbol resolution.
 *
 * Imports are resolved in the order the dynamic linker does: first what the
 * target itself already bound (its GOT slot, or its PLT stub for calls, so a
 * patched call binds exactly like the original call, interposition and
 * IFUNC selection included), then the target's own global definition (a
 * copy-relocated variable in a non-PIE executable), then the first
 * default-version definition along the process's link map (read from
 * r_debug in target memory, falling back to address order).
 */
#include <errno.h>
#include <elf.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/process/cache.h"
#include "lib/process/ptrace.h"
#include "lib/process/resolve.h"

/*
 * Why: the memory map was read before /proc/PID/mem was opened, and an exec
 * in between would make them describe two programs.  The memory file reaches
 * the program it was opened on: the first ELF module found in the map must
 * start with an ELF header there too.
 */
static bool maps_still_true(const struct hp_process *proc)
{
	const struct hp_map *m;
	uint8_t magic[4];

	if (!proc->nmods || proc->mods[0].first_map >= proc->maps.n)
		return true;
	m = &proc->maps.v[proc->mods[0].first_map];
	return hp_mem_read(proc->memfd, m->start, magic, 4) == 0 && !memcmp(magic, "\x7f" "ELF", 4);
}

int hp_process_open(struct hp_ctx *ctx, pid_t pid, struct hp_process *proc)
{
	return hp_process_open_cached(ctx, pid, NULL, proc);
}

int hp_process_open_cached(struct hp_ctx *ctx, pid_t pid, struct hp_cache *cache, struct hp_process *proc)
{
	struct hp_maps maps;
	int r, tries;

	/*
	 * A process that executes another program between the read of its
	 * map and the open of its memory is examined again: what it runs now
	 * is what the caller asks about (an exec is rare; three in a row is a
	 * process that does nothing else, and stays unknown).
	 */
	for (tries = 0; tries < 3; tries++) {
		r = hp_maps_read(NULL, pid, &maps);
		if (r == -ENOENT || r == -ESRCH)
			return hp_err(ctx, -ESRCH, "pid %d: no such process", pid);
		if (r < 0)
			return hp_err(ctx, r, "pid %d: cannot read its memory map: %s", pid, strerror(-r));
		r = hp_process_open_maps(ctx, pid, cache, &maps, proc);
		if (r != -HP_E_EXITED)
			break;
	}
	return r;
}

int hp_process_open_maps(struct hp_ctx *ctx, pid_t pid, struct hp_cache *cache, struct hp_maps *maps,
			 struct hp_process *proc)
{
	int r;

	memset(proc, 0, sizeof(*proc));
	proc->pid = pid;
	proc->memfd = -1;
	proc->cache = cache;
	proc->maps = *maps;
	memset(maps, 0, sizeof(*maps));
	r = hp_module_list(pid, &proc->maps, cache, &proc->mods, &proc->nmods);
	if (r < 0) {
		hp_process_close(proc);
		if (r == -EACCES || r == -EPERM)
			return hp_err(ctx, r, "pid %d: not allowed to read its mapped files (needs root)", pid);
		return hp_err(ctx, r, "pid %d: cannot list its modules: %s", pid, strerror(-r));
	}
	proc->loaded = calloc(proc->nmods ? proc->nmods : 1, sizeof(*proc->loaded));
	if (!proc->loaded) {
		hp_process_close(proc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < proc->nmods; i++)
		proc->loaded[i].mod = &proc->mods[i];
	r = hp_mem_open(ctx, pid);
	if (r < 0) {
		hp_process_close(proc);
		return r;
	}
	proc->memfd = r;
	if (!maps_still_true(proc)) {
		hp_process_close(proc);
		return hp_err(ctx, -HP_E_EXITED, "pid %d executed another program while it was examined", pid);
	}
	return 0;
}

void hp_process_close(struct hp_process *proc)
{
	size_t i;

	if (proc->loaded)
		for (i = 0; i < proc->nmods; i++)
			if (!proc->loaded[i].shared)
				hp_elf_close(proc->loaded[i].elf);
	free(proc->loaded);
	free(proc->mods);
	free(proc->order);
	hp_maps_release(&proc->maps);
	if (proc->memfd >= 0)
		close(proc->memfd);
	memset(proc, 0, sizeof(*proc));
	proc->memfd = -1;
}

struct hp_loaded *hp_process_find_build_id(struct hp_process *proc, const uint8_t *bid, size_t len)
{
	size_t i;

	for (i = 0; i < proc->nmods; i++)
		if (proc->mods[i].build_id_len == len && !memcmp(proc->mods[i].build_id, bid, len))
			return &proc->loaded[i];
	return NULL;
}

/* Both openers; full asks a cache for the whole symbol table. */
static int loaded_open(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l, bool full)
{
	const struct hp_map *m = &proc->maps.v[l->mod->first_map];
	uint64_t first = UINT64_MAX;
	size_t i;
	int fd, r;

	if (l->elf && (l->full || !full))
		return 0;
	if (l->open_failed)
		return -ENOEXEC;
	if (proc->cache) {
		/* Shared and loaded up front: symbols and imports are read once per file, not per process. */
		r = hp_cache_elf(proc->cache, ctx, proc->pid, m, l->mod->key_known ? &l->mod->key : NULL,
				 l->mod->path, full, &l->elf);
		if (r < 0) {
			l->open_failed = !l->elf;
			return r;
		}
		l->shared = true;
		l->full = full;
		if (l->bias_known)
			return 0;	/* the dynamic-only object was open already */
	} else {
		fd = hp_proc_open_map_file(proc->pid, m);
		if (fd < 0) {
			l->open_failed = true;
			return hp_err(ctx, fd, "pid %d: cannot open mapped file %s: %s", proc->pid, l->mod->path,
				      strerror(-fd));
		}
		r = hp_elf_open_fd(ctx, fd, l->mod->path, &l->elf);
		if (r < 0) {
			l->open_failed = true;
			return r;
		}
		l->full = true;	/* hp_elf_load_symbols loads the whole table when asked */
	}
	/* The offset-0 mapping holds the PT_LOAD with the lowest address. */
	for (i = 0; i < l->elf->nloads; i++)
		if (HP_ALIGN_DOWN(l->elf->loads[i].offset, HP_PAGE) == 0 && l->elf->loads[i].vaddr < first)
			first = l->elf->loads[i].vaddr;
	if (first == UINT64_MAX) {
		l->open_failed = true;
		if (!l->shared)
			hp_elf_close(l->elf);
		l->elf = NULL;
		l->shared = false;
		return hp_err(ctx, -ENOEXEC, "pid %d: %s has no loadable segment at offset 0", proc->pid,
			      l->mod->path);
	}
	l->bias = m->start - HP_ALIGN_DOWN(first, HP_PAGE);
	l->bias_known = true;
	return 0;
}

int hp_loaded_open(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l)
{
	return loaded_open(ctx, proc, l, false);
}

int hp_loaded_open_full(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l)
{
	return loaded_open(ctx, proc, l, true);
}

/* The module whose mappings contain addr. */
struct hp_loaded *hp_process_loaded_at(struct hp_process *proc, uint64_t addr)
{
	const struct hp_map *m = hp_maps_find(&proc->maps, addr);
	size_t i;

	if (!m || !m->inode)
		return NULL;
	for (i = 0; i < proc->nmods; i++)
		if (proc->mods[i].inode == m->inode && proc->mods[i].dev_major == m->dev_major &&
		    proc->mods[i].dev_minor == m->dev_minor && addr >= proc->mods[i].start &&
		    addr < proc->mods[i].end)
			return &proc->loaded[i];
	return NULL;
}

/* The main executable: the module that /proc/PID/exe is. */
static struct hp_loaded *find_exe(struct hp_process *proc)
{
	char path[64];
	struct stat st;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/exe", proc->pid);
	if (stat(path, &st) < 0)
		return NULL;
	for (i = 0; i < proc->nmods; i++)
		if (proc->mods[i].inode == st.st_ino && proc->mods[i].dev_major == major(st.st_dev) &&
		    proc->mods[i].dev_minor == minor(st.st_dev))
			return &proc->loaded[i];
	return NULL;
}

/* Read the link map (r_debug via the executable's DT_DEBUG) into proc->order. */
static void load_order(struct hp_ctx *ctx, struct hp_process *proc)
{
	struct hp_loaded *exe;
	size_t n = 0, i;
	uint64_t rdebug = 0, lm;

	if (proc->order_loaded)
		return;
	proc->order_loaded = true;
	proc->order = calloc(proc->nmods ? proc->nmods : 1, sizeof(*proc->order));
	if (!proc->order)
		return;
	exe = find_exe(proc);
	if (exe && hp_loaded_open(ctx, proc, exe) == 0) {
		size_t phnum = 0;

		elf_getphdrnum(exe->elf->elf, &phnum);
		for (i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			Elf64_Dyn dyn[256];
			size_t k, nd;

			if (!gelf_getphdr(exe->elf->elf, (int)i, &ph) || ph.p_type != PT_DYNAMIC)
				continue;
			nd = ph.p_memsz / sizeof(Elf64_Dyn);
			if (nd > 256)
				nd = 256;
			if (hp_mem_read(proc->memfd, exe->bias + ph.p_vaddr, dyn, nd * sizeof(Elf64_Dyn)) < 0)
				break;
			for (k = 0; k < nd && dyn[k].d_tag != DT_NULL; k++)
				if (dyn[k].d_tag == DT_DEBUG)
					rdebug = dyn[k].d_un.d_ptr;
		}
	}
	if (rdebug && hp_mem_read(proc->memfd, rdebug + 8, &lm, 8) == 0) {
		for (i = 0; lm && i < 4096; i++) {
			uint64_t ent[5];	/* l_addr, l_name, l_ld, l_next, l_prev */
			struct hp_loaded *l;
			size_t idx, k;

			if (hp_mem_read(proc->memfd, lm, ent, sizeof(ent)) < 0)
				break;
			l = hp_process_loaded_at(proc, ent[2]);
			if (l) {
				idx = (size_t)(l - proc->loaded);
				for (k = 0; k < n && proc->order[k] != idx; k++)
					;
				if (k == n && n < proc->nmods)
					proc->order[n++] = idx;
			}
			lm = ent[3];
		}
	}
	if (n == 0) {
		/* No link map (static or unusual executable): executable first, then address order. */
		if (exe)
			proc->order[n++] = (size_t)(exe - proc->loaded);
	}
	for (i = 0; i < proc->nmods && n < proc->nmods; i++) {
		size_t k;

		for (k = 0; k < n && proc->order[k] != i; k++)
			;
		if (k == n)
			proc->order[n++] = i;
	}
	proc->norder = n;
}

/* Is the value of a GOT slot bound (not still pointing into its own module's PLT)? */
static bool slot_bound(struct hp_process *proc, struct hp_loaded *owner, uint64_t value)
{
	const struct hp_map *m;

	if (!value)
		return false;
	m = hp_maps_find(&proc->maps, value);
	if (!m)
		return false;
	if (owner && value >= owner->mod->start && value < owner->mod->end) {
		/* Lazily bound slots point back into the owner's .plt; a defined function of the owner
		 * itself is also in its range, but then the owner defines the symbol and we never ask. */
		return false;
	}
	return true;
}

static int split_version(const char *name, char *base, size_t size, const char **ret_ver)
{
	const char *at = strchr(name, '@');
	size_t n = at ? (size_t)(at - name) : strlen(name);

	if (n + 1 > size)
		return -ENAMETOOLONG;
	memcpy(base, name, n);
	base[n] = 0;
	*ret_ver = at ? at + 1 + (at[1] == '@') : NULL;
	return 0;
}

/* A defined, exported definition of name in l (default version unless ver is given). */
static const struct hp_sym *exported(struct hp_loaded *l, const char *name, const char *ver)
{
	struct hp_sym *s;
	size_t n = hp_elf_find_syms(l->elf, name, &s), i;

	for (i = 0; i < n; i++) {
		if (!s[i].dynamic || s[i].shndx == SHN_UNDEF || s[i].bind == STB_LOCAL)
			continue;
		if (ver ? !(s[i].version && !strcmp(s[i].version, ver)) : s[i].hidden_version)
			continue;
		return &s[i];
	}
	return NULL;
}

int hp_resolve_import(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *target, const char *name,
		      bool for_call, uint64_t *ret_addr)
{
	char base[256];
	const char *ver;
	const struct hp_sym *def;
	size_t i, k;
	int r;

	if (split_version(name, base, sizeof(base), &ver) < 0)
		return hp_err(ctx, -HP_E_SYMBOL, "symbol name '%.64s…' is too long", name);
	if (target) {
		const struct hp_import *imp;

		r = hp_elf_load_imports(ctx, target->elf);
		if (r < 0)
			return r;
		imp = hp_elf_find_import(target->elf, base);
		if (imp && for_call && imp->plt) {
			*ret_addr = target->bias + imp->plt;
			return 0;
		}
		if (imp) {
			uint64_t v;

			if (hp_mem_read(proc->memfd, target->bias + imp->got, &v, 8) == 0 && slot_bound(proc, target, v)) {
				*ret_addr = v;
				return 0;
			}
		}
		def = exported(target, base, ver);
		if (!def) {
			struct hp_sym *s;
			size_t n = hp_elf_find_syms(target->elf, base, &s);

			for (i = 0; i < n; i++)
				if (s[i].shndx != SHN_UNDEF && s[i].bind != STB_LOCAL && s[i].type != STT_TLS) {
					def = &s[i];
					break;
				}
		}
		if (def && def->type != STT_GNU_IFUNC && def->type != STT_TLS) {
			*ret_addr = target->bias + def->value;
			return 0;
		}
	}
	load_order(ctx, proc);
	for (k = 0; k < proc->norder; k++) {
		struct hp_loaded *l = &proc->loaded[proc->order[k]];

		if (l == target || hp_loaded_open(ctx, proc, l) < 0)
			continue;
		if (hp_elf_load_symbols(ctx, l->elf, NULL) < 0)
			continue;
		def = exported(l, base, ver);
		if (!def)
			continue;
		if (def->type == STT_TLS)
			return hp_err(ctx, -HP_E_SYMBOL,
				      "'%s' is a thread-local variable of %s; a patch must reach it through the "
				      "target's own TLS relocations", name, l->mod->path);
		if (def->type != STT_GNU_IFUNC) {
			*ret_addr = l->bias + def->value;
			return 0;
		}
		/* An IFUNC: use the implementation the process already selected for some importer. */
		for (i = 0; i < proc->norder; i++) {
			struct hp_loaded *imp_l = &proc->loaded[proc->order[i]];
			const struct hp_import *imp;
			uint64_t v;

			if (hp_loaded_open(ctx, proc, imp_l) < 0 || hp_elf_load_imports(ctx, imp_l->elf) < 0)
				continue;
			imp = hp_elf_find_import(imp_l->elf, base);
			if (imp && hp_mem_read(proc->memfd, imp_l->bias + imp->got, &v, 8) == 0 &&
			    slot_bound(proc, imp_l, v)) {
				*ret_addr = v;
				return 0;
			}
		}
		/* Nobody imported it by name: run its resolver in the process, as the dynamic linker would. */
		if (proc->call_resolver) {
			uint64_t v;
			int rr = proc->call_resolver(proc->call_ud, l->bias + def->value, &v);

			if (rr < 0)
				return hp_err_prefix(ctx, rr, "resolving IFUNC '%s' of %s: ", name, l->mod->path);
			if (!hp_maps_find(&proc->maps, v) || hp_maps_find(&proc->maps, v)->perms[2] != 'x')
				return hp_err(ctx, -HP_E_SYMBOL, "pid %d: the resolver of IFUNC '%s' returned %#llx, "
								 "which is not code", proc->pid, name,
					      (unsigned long long)v);
			*ret_addr = v;
			return 0;
		}
		return hp_err(ctx, -HP_E_SYMBOL,
			      "'%s' is an IFUNC in %s that no module of pid %d has resolved yet; the patch cannot "
			      "call it", name, l->mod->path, proc->pid);
	}
	return hp_err(ctx, -HP_E_SYMBOL, "pid %d cannot provide symbol '%s': no loaded object defines it",
		      proc->pid, name);
}

void hp_process_symbolize(struct hp_ctx *ctx, struct hp_process *proc, uint64_t addr, char *buf, size_t size)
{
	struct hp_loaded *l = hp_process_loaded_at(proc, addr);
	const struct hp_sym *s;

	if (l && hp_loaded_open(ctx, proc, l) == 0 && hp_elf_load_symbols(ctx, l->elf, NULL) == 0 &&
	    (s = hp_elf_sym_at(l->elf, addr - l->bias))) {
		uint64_t off = addr - l->bias - s->value;

		if (off)
			snprintf(buf, size, "%s+0x%" PRIx64, s->name, off);
		else
			snprintf(buf, size, "%s", s->name);
		return;
	}
	snprintf(buf, size, "0x%" PRIx64, addr);
}
