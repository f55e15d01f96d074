/* SPDX-License-Identifier: MIT */
/*
 * One patch against one process: is the patch's target mapped, at the
 * baseline the patch was built for (or does the process need a restart to
 * get there), can every symbol the patch needs be found, and is it, or a
 * higher level of it, already applied.  Symbol facts are cached per
 * build-id for the whole session, so `assess --all` reads each library once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/assess/assess.h"
#include "lib/core/elf.h"
#include "lib/format/patch.h"

/* Why: entries are looked up by index, since adding one may move the array. */
static int cache_get(struct hp_assess *a, const uint8_t *bid, size_t len, size_t *ret_idx)
{
	struct hp_assess_symcache *n;
	size_t i;

	if (!len)
		return -ENOENT;
	for (i = 0; i < a->nsyms; i++) {
		if (a->syms[i].bid_len == len && !memcmp(a->syms[i].bid, bid, len)) {
			*ret_idx = i;
			return 0;
		}
	}
	n = realloc(a->syms, (a->nsyms + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	a->syms = n;
	memset(&n[a->nsyms], 0, sizeof(*n));
	memcpy(n[a->nsyms].bid, bid, len);
	n[a->nsyms].bid_len = len;
	*ret_idx = a->nsyms++;
	return 0;
}

/* Why: a section scan answers "is there a .symtab" without building a symbol table. */
static enum hp_sym_kind kind_of_fd(int fd)
{
	enum hp_sym_kind k = HP_SYMS_NONE;
	Elf_Scn *scn = NULL;
	Elf *elf;

	hp_libelf_init();
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return HP_SYMS_UNKNOWN;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return HP_SYMS_UNKNOWN;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB && sh.sh_size > sizeof(Elf64_Sym)) {
			k = HP_SYMS_SYMTAB;
			break;
		}
		if (sh.sh_type == SHT_DYNSYM)
			k = HP_SYMS_DYNSYM;
	}
	elf_end(elf);
	return k;
}

/* Why: a debug file counts only if it has symbols and belongs to this very build. */
static bool debug_file_usable(const char *path, const uint8_t *bid, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t dbid[HP_BUILD_ID_MAX];
	size_t dlen = 0;

	if (fd < 0)
		return false;
	if (hp_elf_read_build_id_fd(fd, dbid, &dlen) < 0 || dlen != len || memcmp(dbid, bid, len))
		return false;
	return kind_of_fd(fd) == HP_SYMS_SYMTAB;
}

/* Why: for --all this runs once per distinct build, not once per process. */
int hp_assess_sym_kind(struct hp_assess *a, pid_t pid, const struct hp_maps *maps, const struct hp_module *mod,
		       enum hp_sym_kind *ret_kind, const char **ret_debug_path)
{
	enum hp_sym_kind k;
	_cleanup_free_ char *dbg = NULL;
	size_t idx = 0;
	bool cached;
	int fd, r;

	r = cache_get(a, mod->build_id, mod->build_id_len, &idx);
	if (r == -ENOMEM)
		return r;
	cached = r == 0;
	if (cached && a->syms[idx].kind != HP_SYMS_UNKNOWN) {
		*ret_kind = a->syms[idx].kind;
		*ret_debug_path = a->syms[idx].debug_path;
		return 0;
	}
	fd = hp_proc_open_map_file(pid, &maps->v[mod->first_map]);
	if (fd < 0)
		return fd;
	k = kind_of_fd(fd);
	close(fd);
	if (k != HP_SYMS_SYMTAB && k != HP_SYMS_UNKNOWN && mod->build_id_len &&
	    hp_debug_file_for(getenv("HOTPATCH_DEBUG_ROOT"), mod->build_id, mod->build_id_len, &dbg) == 0 &&
	    debug_file_usable(dbg, mod->build_id, mod->build_id_len))
		k = HP_SYMS_DEBUG;
	else
		zfree(dbg);
	*ret_kind = k;
	*ret_debug_path = NULL;
	if (cached && k != HP_SYMS_UNKNOWN) {
		a->syms[idx].kind = k;
		a->syms[idx].debug_path = TAKE_PTR(dbg);
		*ret_debug_path = a->syms[idx].debug_path;
	}
	return 0;
}

/* Why: load a module's symbols once per session (by build-id); modules without one are not cached. */
static int load_elf(struct hp_assess *a, pid_t pid, const struct hp_maps *maps, const struct hp_module *mod,
		    struct hp_elf **ret_elf, bool *ret_owned)
{
	struct hp_elf *e = NULL;
	size_t idx = 0;
	int fd, r;

	*ret_owned = false;
	r = cache_get(a, mod->build_id, mod->build_id_len, &idx);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && a->syms[idx].elf_tried) {
		if (a->syms[idx].elf_err < 0)
			return a->syms[idx].elf_err;
		*ret_elf = a->syms[idx].elf;
		return 0;
	}
	fd = hp_proc_open_map_file(pid, &maps->v[mod->first_map]);
	if (fd >= 0) {
		r = hp_elf_open_fd(a->ctx, fd, mod->path, &e);
		if (r == 0)
			r = hp_elf_load_symbols(a->ctx, e, NULL);
		if (r == 0)
			r = hp_elf_load_imports(a->ctx, e);
		if (r < 0) {
			hp_elf_close(e);
			e = NULL;
		}
	} else {
		r = fd;
	}
	if (mod->build_id_len) {
		if (cache_get(a, mod->build_id, mod->build_id_len, &idx) == 0) {
			a->syms[idx].elf_tried = true;
			a->syms[idx].elf_err = r;
			a->syms[idx].elf = e;
		}
	} else if (e) {
		*ret_owned = true;
	}
	if (r < 0)
		return r;
	*ret_elf = e;
	return 0;
}

/* Why: "libz.so.1" (the name a patch is built against) must match the mapped "libz.so.1.2.13". */
static bool name_matches(const char *path, const char *target)
{
	const char *base = strrchr(path, '/');
	size_t tl = strlen(target);

	base = base ? base + 1 : path;
	if (!tl)
		return false;
	return !strcmp(base, target) || (!strncmp(base, target, tl) && base[tl] == '.');
}

/* Why: a build-id match is the patch's baseline; a name match is the same program in another build. */
bool hp_assess_module_matches(const struct hp_patch *p, const struct hp_module *m, bool *ret_same_build)
{
	const struct hp_manifest *man = &p->man;

	if (m->build_id_len && m->build_id_len == man->build_id_len &&
	    !memcmp(m->build_id, man->build_id, man->build_id_len)) {
		*ret_same_build = true;
		return true;
	}
	*ret_same_build = false;
	return man->target_name && name_matches(m->path, man->target_name);
}

/* Why: through /proc/PID/root the path means what it means to the process (containers, chroots). */
int hp_assess_disk_build_id(pid_t pid, const char *path, uint8_t *bid, size_t *ret_len)
{
	char full[4200];
	_cleanup_close_ int fd = -1;

	if (path[0] != '/' || strlen(path) > 4000)
		return -EINVAL;
	snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	return hp_elf_read_build_id_fd(fd, bid, ret_len);
}

/* A bounded "a, b, c (+2 more)" list. */
struct namelist {
	char buf[200];
	size_t n, shown;
};

/* Why: reasons list missing symbols by name, but stay within the field size. */
static void namelist_add(struct namelist *l, const char *name)
{
	size_t len = strlen(l->buf);

	l->n++;
	if (len + strlen(name) + 3 >= sizeof(l->buf) - 16)
		return;
	snprintf(l->buf + len, sizeof(l->buf) - len, "%s%s", len ? ", " : "", name);
	l->shown++;
}

/* Why: what did not fit is counted, not dropped silently. */
static const char *namelist_str(struct namelist *l)
{
	size_t len = strlen(l->buf);

	if (l->n > l->shown)
		snprintf(l->buf + len, sizeof(l->buf) - len, " (+%zu more)", l->n - l->shown);
	return l->buf;
}

/* Why: "name@VERSION" / "name@@VERSION" ask for one version; the name part is what tables hold. */
static void split_version(const char *s, char *name, size_t size, const char **ret_version)
{
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);

	if (n >= size)
		n = size - 1;
	memcpy(name, s, n);
	name[n] = 0;
	*ret_version = NULL;
	if (at) {
		at++;
		if (*at == '@')
			at++;
		*ret_version = at;
	}
}

/* Why: an import resolves if the module defines it (the right version when one is asked for). */
static bool module_defines(const struct hp_elf *e, const char *name, const char *version)
{
	struct hp_sym *s;
	size_t n, i;

	n = hp_elf_find_syms(e, name, &s);
	for (i = 0; i < n; i++) {
		if (s[i].shndx == SHN_UNDEF || (s[i].bind != STB_GLOBAL && s[i].bind != STB_WEAK))
			continue;
		if (version ? (s[i].version && !strcmp(s[i].version, version)) : !s[i].hidden_version)
			return true;
	}
	return false;
}

/* Why: a patch binds to names at link-time addresses; each must be where the patch expects it. */
static void check_symbols(struct hp_assess *a, pid_t pid, const struct hp_maps *maps, const struct hp_module *mods,
			  size_t nmods, const struct hp_module *mod, const struct hp_patch *p,
			  struct hp_assess_check *c)
{
	struct namelist missing = { 0 }, unverified = { 0 }, imports = { 0 };
	struct hp_elf *e = NULL;
	size_t i, k, nneeded = 0;
	bool owned = false;
	int r;

	r = load_elf(a, pid, maps, mod, &e, &owned);
	if (r < 0) {
		hp_check_reason(c, "cannot read the symbols of %s: %s", mod->path, hp_strerror(r));
		hp_check_remedy(c, "check that the process still runs and that this caller may read its files");
		return;
	}
	hp_check_value(c, "%s", e->has_symtab ? (e->debug_file ? e->debug_file : ".symtab") : ".dynsym only");
	/* Replaced functions: name at the manifest's address with its size. */
	for (i = 0; i < p->man.nfuncs; i++) {
		const struct hp_manifest_func *f = &p->man.funcs[i];
		struct hp_sym *s;
		size_t n = hp_elf_find_syms(e, f->name, &s);
		bool ok = false;

		nneeded++;
		for (k = 0; k < n && !ok; k++)
			ok = s[k].value == f->addr && (!s[k].size || s[k].size == f->size);
		if (!ok && (e->has_symtab || n))
			namelist_add(&missing, f->name);
		else if (!ok)
			namelist_add(&unverified, f->name);
	}
	/* Target symbols: name at the link-time address the patch carries. */
	for (i = 0; i < p->nsyms; i++) {
		const struct hp_psym *ps = &p->syms[i];
		struct hp_sym *s;
		size_t n;
		bool ok = false;

		if (ps->sec != HP_SEC_TARGET || !ps->name || !*ps->name)
			continue;
		nneeded++;
		n = hp_elf_find_syms(e, ps->name, &s);
		for (k = 0; k < n && !ok; k++)
			ok = s[k].value == ps->value;
		if (!ok && (e->has_symtab || n))
			namelist_add(&missing, ps->name);
		else if (!ok)
			namelist_add(&unverified, ps->name);
	}
	/* Imports: the target's own definition or import, else any module's export. */
	for (i = 0; i < p->nsyms; i++) {
		const struct hp_psym *ps = &p->syms[i];
		char name[256];
		const char *ver;
		bool ok;

		if (ps->sec != HP_SEC_UNDEF || !ps->name || !*ps->name)
			continue;
		nneeded++;
		split_version(ps->name, name, sizeof(name), &ver);
		ok = module_defines(e, name, ver) || (!ver && hp_elf_find_import(e, name));
		for (k = 0; k < nmods && !ok; k++) {
			struct hp_elf *o = NULL;
			bool o_owned = false;

			if (&mods[k] == mod || !mods[k].build_id_len)
				continue;
			if (load_elf(a, pid, maps, &mods[k], &o, &o_owned) < 0)
				continue;
			ok = module_defines(o, name, ver);
			if (o_owned)
				hp_elf_close(o);
		}
		if (!ok)
			namelist_add(&imports, ps->name);
	}
	if (owned)
		hp_elf_close(e);
	if (missing.n || imports.n) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		if (missing.n && imports.n)
			hp_check_reason(c, "%zu of %zu symbols the patch needs do not match %s (%s), and no module of the "
					   "process defines %s", missing.n, nneeded, mod->path, namelist_str(&missing),
					namelist_str(&imports));
		else if (missing.n)
			hp_check_reason(c, "%zu of %zu symbols the patch needs are missing from %s or sit at other "
					   "addresses: %s", missing.n, nneeded, mod->path, namelist_str(&missing));
		else
			hp_check_reason(c, "no module of the process defines %zu import(s) of the patch: %s", imports.n,
					namelist_str(&imports));
		hp_check_remedy(c, "rebuild the patch against this exact build of %s", p->man.target_name);
	} else if (unverified.n) {
		hp_check_reason(c, "%s has no symbol table and no debug file: %zu symbol(s) the patch needs cannot be "
				   "checked (%s)", mod->path, unverified.n, namelist_str(&unverified));
		hp_check_remedy(c, "install the debug symbols of %s (Debian: its -dbgsym package)", mod->path);
	} else {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "all %zu symbols the patch needs were found (%zu functions it replaces)", nneeded,
				p->man.nfuncs);
	}
}

/* Why: a higher level of the same baseline contains this one (levels are cumulative). */
static void check_applied(const struct hp_patch *p, const struct hp_status *st, struct hp_assess_check *c,
			  bool *ret_patched)
{
	const struct hp_manifest *m = &p->man;
	const struct hp_status_patch *best = NULL;
	size_t i;

	*ret_patched = false;
	if (!st) {
		hp_check_reason(c, "what is applied in the process cannot be read");
		hp_check_remedy(c, "run 'hotpatch status -p PID' for the cause");
		return;
	}
	for (i = 0; i < st->npatches; i++) {
		const struct hp_status_patch *sp = &st->patches[i];

		if (sp->build_id_len != m->build_id_len || memcmp(sp->build_id, m->build_id, m->build_id_len))
			continue;
		if (sp->trust != HP_RECORD_AUTHENTIC)
			continue;	/* a record hotpatch did not seal never makes a process patched */
		if (sp->state == HP_STATE_PREPARED || sp->state == HP_STATE_COMMITTING ||
		    sp->state == HP_STATE_REVERTING) {
			hp_check_value(c, "%s level %u (interrupted)", sp->id, sp->level);
			hp_check_reason(c, "a patcher died while working on %s (level %u): the process is in an "
					   "intermediate state", sp->id, sp->level);
			hp_check_remedy(c, "run 'hotpatch status -p %d' and revert or re-apply %s", st->pid, sp->id);
			return;
		}
		if (sp->state == HP_STATE_ACTIVE && (!best || sp->level > best->level))
			best = sp;
	}
	hp_check_set(c, HP_CHECK_OK);
	if (!best) {
		hp_check_value(c, "none");
		hp_check_reason(c, "no hotpatch for this baseline is applied");
	} else if (!strcmp(best->id, m->id) || best->level >= m->level) {
		*ret_patched = true;
		hp_check_value(c, "%s level %u", best->id, best->level);
		hp_check_reason(c, "%s", !strcmp(best->id, m->id) ? "this patch is applied"
								 : "a level at or above this patch's is applied "
								   "(levels are cumulative)");
	} else {
		hp_check_value(c, "%s level %u", best->id, best->level);
		hp_check_reason(c, "level %u is applied; this patch (level %u) replaces it", best->level, m->level);
	}
}

/* Why: baseline first; symbols and levels matter only for the build the patch was made for. */
int hp_assess_target_fill(struct hp_assess *a, pid_t pid, const struct hp_maps *maps,
			  const struct hp_module *mods, size_t nmods, const struct hp_module *mod,
			  const struct hp_patch *patch, const struct hp_status *st, struct hp_assess_target *t)
{
	const struct hp_manifest *m = &patch->man;
	struct hp_check_vec v = { 0 };
	struct hp_assess_check *c;
	char need[2 * HP_BUILD_ID_MAX + 1], run[2 * HP_BUILD_ID_MAX + 1], disk[2 * HP_BUILD_ID_MAX + 1];
	enum hp_verdict base_bad = HP_VERDICT_NOT_ELIGIBLE;
	bool same = false, patched = false;

	memset(t, 0, sizeof(*t));
	t->path = hp_assess_empty;
	hp_strlcpy(t->patch_id, m->id, sizeof(t->patch_id));
	t->level = m->level;
	hp_hex(m->build_id, m->build_id_len, need);
	c = hp_check_add(&v, "baseline");
	if (!c)
		return -ENOMEM;
	if (!mod) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the process does not map %s (build %s)", m->target_name, need);
		hp_check_remedy(c, "none: this patch is not for this process");
		goto done;
	}
	if (hp_assess_str_set(&t->path, mod->path) < 0) {
		hp_checks_free(v.v, v.n);
		return -ENOMEM;
	}
	memcpy(t->build_id, mod->build_id, mod->build_id_len);
	t->build_id_len = mod->build_id_len;
	if (hp_assess_disk_build_id(pid, mod->path, t->disk_build_id, &t->disk_build_id_len) < 0)
		t->disk_build_id_len = 0;
	hp_hex(mod->build_id, mod->build_id_len, run);
	hp_hex(t->disk_build_id, t->disk_build_id_len, disk);
	hp_assess_module_matches(patch, mod, &same);
	hp_check_value(c, "%s", mod->build_id_len ? run : "no build-id");
	if (same) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "runs build %s of %s, the baseline the patch was built for", run, mod->path);
	} else if (t->disk_build_id_len == m->build_id_len && !memcmp(t->disk_build_id, m->build_id, m->build_id_len)) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		base_bad = HP_VERDICT_RESTART;
		hp_check_reason(c, "runs build %s of %s; the patch needs build %s, which is the file on disk now: "
				   "a restart loads it", mod->build_id_len ? run : "(none)", mod->path, need);
		hp_check_remedy(c, "restart the process, then apply the patch");
	} else {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "runs build %s of %s; the patch needs build %s; the file on disk is %s",
				mod->build_id_len ? run : "(none)", mod->path, need,
				t->disk_build_id_len ? disk : "unreadable or gone");
		hp_check_remedy(c, "get a patch built for build %s", mod->build_id_len ? run : "(none)");
	}
	if (c->result == HP_CHECK_OK) {
		c = hp_check_add(&v, "symbols");
		if (!c) {
			hp_checks_free(v.v, v.n);
			hp_assess_str_free(t->path);
			return -ENOMEM;
		}
		check_symbols(a, pid, maps, mods, nmods, mod, patch, c);
		c = hp_check_add(&v, "applied");
		if (!c) {
			hp_checks_free(v.v, v.n);
			hp_assess_str_free(t->path);
			return -ENOMEM;
		}
		check_applied(patch, st, c, &patched);
	}
done:
	t->checks = v.v;
	t->nchecks = v.n;
	t->verdict = hp_checks_verdict(v.v, v.n, HP_VERDICT_NOT_ELIGIBLE);
	if (v.v[0].result == HP_CHECK_NOT_OK)
		t->verdict = base_bad;
	else if (patched && t->verdict == HP_VERDICT_ELIGIBLE)
		t->verdict = HP_VERDICT_PATCHED;
	return 0;
}
