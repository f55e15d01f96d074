/* SPDX-License-Identifier: MIT */
/*
 * Target ELF objects, read with libelf: the build-id, the PT_LOAD layout,
 * symbol tables (with the STT_FILE group of each local symbol, so that two
 * static functions of the same name in different translation units stay
 * apart) and the dynamic imports with their GOT slots and PLT stubs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/elf.h"
#include "shared/cleanup.h"
#ifdef HP_HAVE_DEBUGINFOD
#include <elfutils/debuginfod.h>
#endif

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void elf_init(void)
{
	elf_version(EV_CURRENT);
}

void hp_libelf_init(void)
{
	pthread_once(&elf_once, elf_init);
}

/* The GNU build-id among the notes of one note segment or section. */
static int build_id_in_notes(Elf_Data *d, uint8_t *buf, size_t *ret_len)
{
	GElf_Nhdr nh;
	size_t off = 0, noff, doff;

	if (!d)
		return -ENOENT;
	while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp((char *)d->d_buf + noff, "GNU", 4) &&
		    nh.n_descsz > 0 && nh.n_descsz <= HP_BUILD_ID_MAX) {
			memcpy(buf, (char *)d->d_buf + doff, nh.n_descsz);
			*ret_len = nh.n_descsz;
			return 0;
		}
	}
	return -ENOENT;
}

/* Find the GNU build-id note in the PT_NOTE segments, else in SHT_NOTE sections. */
static int find_build_id(Elf *elf, uint8_t *buf, size_t *ret_len)
{
	size_t phnum = 0, i;
	Elf_Scn *scn = NULL;

	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			if (build_id_in_notes(elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
								   ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
					      buf, ret_len) == 0)
				return 0;
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    build_id_in_notes(elf_getdata(scn, NULL), buf, ret_len) == 0)
			return 0;
	}
	return -ENOENT;
}

/*
 * The GNU build-id among the notes of one PT_NOTE segment's bytes, laid out
 * as gelf_getnote() reads them (name and descriptor padded to 4, or to 8 in
 * a segment aligned to 8).  1 found, 0 none, -1 a note libelf might read
 * differently (the caller then lets libelf decide).
 */
static int build_id_in_raw_notes(const uint8_t *d, size_t size, bool align8, uint8_t *buf, size_t *ret_len)
{
	size_t off = 0, a = align8 ? 8 : 4;

	while (off < size) {
		uint32_t nh[3];
		size_t name, desc, end;

		if (size - off < sizeof(nh))
			return -1;
		memcpy(nh, d + off, sizeof(nh));
		name = off + sizeof(nh);
		if (nh[0] > size - name)
			return -1;
		desc = (name + nh[0] + a - 1) & ~(a - 1);
		if (desc > size || nh[1] > size - desc)
			return -1;
		end = (desc + nh[1] + a - 1) & ~(a - 1);
		if (nh[2] == NT_GNU_BUILD_ID && nh[0] == 4 && !memcmp(d + name, "GNU", 4) && nh[1] > 0 &&
		    nh[1] <= HP_BUILD_ID_MAX) {
			memcpy(buf, d + desc, nh[1]);
			*ret_len = nh[1];
			return 1;
		}
		if (end <= off)
			return -1;
		off = end;
	}
	return 0;
}

/*
 * Why: a build-id through libelf costs fcntl, fstat, an mmap of the whole
 * file and its munmap, per module of every process an apply looks at (issue
 * 15); the note is almost always in the first page.  This reads the header,
 * the program headers and the PT_NOTE segments with pread and answers only
 * when every note before the build-id was well formed; 1 found, 0 the
 * segments have none, -1 anything unusual (libelf decides then).
 */
static int build_id_pread(int fd, uint8_t *buf, size_t *ret_len)
{
	uint8_t first[4096], *notes = NULL;
	_cleanup_free_ Elf64_Phdr *own = NULL;
	const Elf64_Phdr *ph;
	Elf64_Ehdr eh;
	ssize_t n;
	size_t i, phsize;
	int r = 0;

	n = pread(fd, first, sizeof(first), 0);
	if (n < (ssize_t)sizeof(eh))
		return -1;
	memcpy(&eh, first, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum >= PN_XNUM || eh.e_phoff % 8)
		return -1;
	phsize = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff <= (uint64_t)n && phsize <= (size_t)n - eh.e_phoff) {
		ph = (const Elf64_Phdr *)(first + eh.e_phoff);
	} else {
		own = malloc(phsize);
		if (!own || pread(fd, own, phsize, (off_t)eh.e_phoff) != (ssize_t)phsize)
			return -1;
		ph = own;
	}
	for (i = 0; i < eh.e_phnum && r == 0; i++) {
		const uint8_t *d;

		if (ph[i].p_type != PT_NOTE)
			continue;
		if (ph[i].p_filesz > 65536 || ph[i].p_offset > INT64_MAX - ph[i].p_filesz)
			return -1;
		if (ph[i].p_offset + ph[i].p_filesz <= (uint64_t)n) {
			d = first + ph[i].p_offset;
		} else {
			notes = malloc(ph[i].p_filesz ? ph[i].p_filesz : 1);
			if (!notes || pread(fd, notes, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz) {
				free(notes);
				return -1;
			}
			d = notes;
		}
		r = build_id_in_raw_notes(d, ph[i].p_filesz, ph[i].p_align == 8, buf, ret_len);
		free(notes);
		notes = NULL;
	}
	return r;
}

int hp_elf_build_id_fast_fd(int fd, uint8_t *buf, size_t *ret_len)
{
	return build_id_pread(fd, buf, ret_len);
}

int hp_elf_read_build_id_fd(int fd, uint8_t *buf, size_t *ret_len)
{
	if (build_id_pread(fd, buf, ret_len) == 1)
		return 0;
	return hp_elf_build_id_libelf_fd(fd, buf, ret_len);
}

int hp_elf_build_id_libelf_fd(int fd, uint8_t *buf, size_t *ret_len)
{
	Elf *elf;
	int r;

	hp_libelf_init();
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOEXEC;
	}
	r = find_build_id(elf, buf, ret_len);
	elf_end(elf);
	return r;
}

int hp_elf_open_fd(struct hp_ctx *ctx, int fd, const char *name, struct hp_elf **ret_elf)
{
	struct hp_elf *e;
	size_t phnum = 0, i;

	hp_libelf_init();
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	e->fd = fd;
	e->name = strdup(name ? name : "?");
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->name || !e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->ehdr) ||
	    gelf_getclass(e->elf) != ELFCLASS64) {
		int r = hp_err(ctx, -ENOEXEC, "elf: '%s' is not a 64-bit ELF object", name);

		hp_elf_close(e);
		return r;
	}
	if (find_build_id(e->elf, e->build_id, &e->build_id_len) < 0)
		e->build_id_len = 0;
	if (elf_getphdrnum(e->elf, &phnum) < 0)
		phnum = 0;
	if (phnum > 4096) {
		int r = hp_err(ctx, -ENOEXEC, "elf: '%s' has %zu program headers", name, phnum);

		hp_elf_close(e);
		return r;
	}
	e->loads = calloc(phnum ? phnum : 1, sizeof(*e->loads));
	if (!e->loads) {
		hp_elf_close(e);
		return -ENOMEM;
	}
	e->min_vaddr = UINT64_MAX;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		e->loads[e->nloads++] = (struct hp_load){ ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
							  ph.p_flags };
		if (HP_ALIGN_DOWN(ph.p_vaddr, HP_PAGE) < e->min_vaddr)
			e->min_vaddr = HP_ALIGN_DOWN(ph.p_vaddr, HP_PAGE);
		if (ph.p_vaddr + ph.p_memsz > e->max_vaddr)
			e->max_vaddr = ph.p_vaddr + ph.p_memsz;
	}
	if (!e->nloads)
		e->min_vaddr = 0;
	*ret_elf = e;
	return 0;
}

int hp_elf_open(struct hp_ctx *ctx, const char *path, struct hp_elf **ret_elf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hp_err(ctx, -errno, "elf: cannot open '%s': %s", path, strerror(errno));
	return hp_elf_open_fd(ctx, fd, path, ret_elf);
}

void hp_elf_close(struct hp_elf *e)
{
	if (!e)
		return;
	hp_elf_close(e->debug);
	free(e->debug_file);
	free(e->syms);
	free(e->by_addr);
	free(e->files);
	free(e->imports);
	free(e->loads);
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->name);
	free(e);
}

#ifdef HP_HAVE_DEBUGINFOD
/*
 * Why: a stripped target whose debug file is not installed may still have
 * one on a debuginfod server (DEBUGINFOD_URLS, as gdb and perf use it);
 * ask before refusing.  The file lands in libdebuginfod's cache; its path
 * is returned.  -ENOENT when no server is configured or none has it.
 */
static int debuginfod_fetch(const uint8_t *bid, size_t bid_len, char **ret_path)
{
	/*
	 * libdebuginfod is opened here, when a server is configured and a debug
	 * file is missing, not linked: it pulls libcurl-gnutls and some twenty
	 * libraries whose relocation cost every `hotpatch` start (issue 15).
	 */
	const char *urls = getenv("DEBUGINFOD_URLS");
	debuginfod_client *(*begin)(void);
	int (*find)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);
	debuginfod_client *c;
	char *path = NULL;
	void *dl;
	int fd;

	if (!urls || !*urls)
		return -ENOENT;
	dl = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return -ENOENT;
	begin = (debuginfod_client * (*)(void)) dlsym(dl, "debuginfod_begin");
	find = (int (*)(debuginfod_client *, const unsigned char *, int, char **))dlsym(dl, "debuginfod_find_debuginfo");
	end = (void (*)(debuginfod_client *))dlsym(dl, "debuginfod_end");
	if (!begin || !find || !end) {
		dlclose(dl);
		return -ENOENT;
	}
	c = begin();
	if (!c) {
		dlclose(dl);
		return -ENOMEM;
	}
	fd = find(c, bid, (int)bid_len, &path);
	end(c);
	/* not dlclose'd: libcurl's atexit handlers and threads may still refer to it */
	if (fd < 0) {
		free(path);
		return fd == -ENOMEM ? fd : -ENOENT;
	}
	close(fd);
	*ret_path = path;
	return 0;
}
#endif

int hp_debug_file_for(const char *root, const uint8_t *bid, size_t bid_len, char **ret_path)
{
	char hex[2 * HP_BUILD_ID_MAX + 1];
	char *path;

	if (bid_len < 2)
		return -ENOENT;
	hp_hex(bid, bid_len, hex);
	if (asprintf(&path, "%s/.build-id/%.2s/%s.debug", root ? root : "/usr/lib/debug", hex, hex + 2) < 0)
		return -ENOMEM;
	if (access(path, R_OK) < 0) {
		int r = -errno;

		free(path);
#ifdef HP_HAVE_DEBUGINFOD
		if (r == -ENOENT)
			return debuginfod_fetch(bid, bid_len, ret_path);
#endif
		return r;
	}
	*ret_path = path;
	return 0;
}

static int sym_cmp_name(const void *a, const void *b)
{
	const struct hp_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->value < y->value ? -1 : x->value > y->value;
}

static int sym_cmp_addr(const void *a, const void *b)
{
	const struct hp_sym *x = *(struct hp_sym *const *)a, *y = *(struct hp_sym *const *)b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	/* Prefer functions, then global names, for a stable "name at address". */
	if (x->type != y->type)
		return x->type == STT_FUNC ? -1 : 1;
	return y->bind - x->bind;
}

/* Version names of .dynsym entries (index -> name), from SHT_GNU_verdef/verneed. */
static const char *version_name(Elf *elf, Elf_Scn *verdef, Elf_Scn *verneed, unsigned idx)
{
	Elf_Data *d;
	GElf_Shdr sh;
	size_t off;
	unsigned n;

	if (idx <= 1)
		return NULL;
	if (verdef && (d = elf_getdata(verdef, NULL)) && gelf_getshdr(verdef, &sh)) {
		off = 0;
		for (n = 0; n < sh.sh_info && off < d->d_size; n++) {
			GElf_Verdef vd;
			GElf_Verdaux va;

			if (!gelf_getverdef(d, (int)off, &vd))
				break;
			if (vd.vd_ndx == idx && vd.vd_cnt > 0 && gelf_getverdaux(d, (int)(off + vd.vd_aux), &va))
				return elf_strptr(elf, sh.sh_link, va.vda_name);
			if (!vd.vd_next)
				break;
			off += vd.vd_next;
		}
	}
	if (verneed && (d = elf_getdata(verneed, NULL)) && gelf_getshdr(verneed, &sh)) {
		off = 0;
		for (n = 0; n < sh.sh_info && off < d->d_size; n++) {
			GElf_Verneed vn;
			size_t aoff;
			unsigned k;

			if (!gelf_getverneed(d, (int)off, &vn))
				break;
			aoff = off + vn.vn_aux;
			for (k = 0; k < vn.vn_cnt && aoff < d->d_size; k++) {
				GElf_Vernaux va;

				if (!gelf_getvernaux(d, (int)aoff, &va))
					break;
				if (va.vna_other == idx)
					return elf_strptr(elf, sh.sh_link, va.vna_name);
				if (!va.vna_next)
					break;
				aoff += va.vna_next;
			}
			if (!vn.vn_next)
				break;
			off += vn.vn_next;
		}
	}
	return NULL;
}

/* Append the symbols of one symbol table section to e->syms. */
static int add_symtab(struct hp_elf *e, Elf *elf, Elf_Scn *scn, bool dynamic, size_t *cap)
{
	Elf_Scn *versym_scn = NULL, *verdef = NULL, *verneed = NULL, *s = NULL;
	Elf_Data *d, *vd = NULL;
	GElf_Shdr sh;
	size_t n, i;
	uint32_t file = 0;

	if (!gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return -ENOEXEC;
	n = d->d_size / sizeof(Elf64_Sym);
	if (dynamic) {
		while ((s = elf_nextscn(elf, s))) {
			GElf_Shdr vsh;

			if (!gelf_getshdr(s, &vsh))
				continue;
			if (vsh.sh_type == SHT_GNU_versym)
				versym_scn = s;
			else if (vsh.sh_type == SHT_GNU_verdef)
				verdef = s;
			else if (vsh.sh_type == SHT_GNU_verneed)
				verneed = s;
		}
		if (versym_scn)
			vd = elf_getdata(versym_scn, NULL);
	}
	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		struct hp_sym *o;
		uint8_t type;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (type == STT_FILE) {
			const char **nf;

			nf = realloc(e->files, (e->nfiles + 1) * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			e->files = nf;
			e->files[e->nfiles] = name ? name : "";
			file = (uint32_t)e->nfiles++;
			continue;
		}
		if (!name || !*name || type == STT_SECTION)
			continue;
		if (HP_GROW(e->syms, *cap, e->nsyms + 1) < 0)
			return -ENOMEM;
		o = &e->syms[e->nsyms++];
		memset(o, 0, sizeof(*o));
		o->name = name;
		o->value = sym.st_value;
		o->size = sym.st_size;
		o->type = type;
		o->bind = GELF_ST_BIND(sym.st_info);
		o->shndx = sym.st_shndx;
		o->file = o->bind == STB_LOCAL ? file : 0;
		o->dynamic = dynamic;
		if (vd && i < vd->d_size / 2) {
			GElf_Versym v;

			if (gelf_getversym(vd, (int)i, &v)) {
				o->hidden_version = (v & 0x8000) != 0;
				o->version = version_name(elf, verdef, verneed, v & 0x7fff);
			}
		}
	}
	return 0;
}

static Elf_Scn *find_scn_type(Elf *elf, unsigned type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

/* Both loaders: the full tables, or (dynamic_only) just what the object exports and imports. */
static int load_symbols(struct hp_ctx *ctx, struct hp_elf *e, const char *debug_file, bool dynamic_only)
{
	Elf_Scn *symtab, *dynsym;
	size_t cap = 0, i;
	int r;

	if (e->symbols_loaded)
		return 0;
	e->files = calloc(1, sizeof(*e->files));
	if (!e->files)
		return -ENOMEM;
	e->nfiles = 1;
	symtab = dynamic_only ? NULL : find_scn_type(e->elf, SHT_SYMTAB);
	if (dynamic_only) {
		/* no .symtab, no debug file: a library only resolves imports by exported names */
	} else if (!symtab) {
		_cleanup_free_ char *path = NULL;

		if (debug_file)
			path = strdup(debug_file);
		else if (e->build_id_len)
			hp_debug_file_for(getenv("HOTPATCH_DEBUG_ROOT"), e->build_id, e->build_id_len, &path);
		if (path) {
			struct hp_elf *dbg = NULL;

			r = hp_elf_open(ctx, path, &dbg);
			if (r == 0 && (dbg->build_id_len != e->build_id_len ||
				       memcmp(dbg->build_id, e->build_id, e->build_id_len))) {
				hp_warn(ctx, "elf: debug file '%s' does not match the build-id of '%s'", path,
					e->name);
				hp_elf_close(dbg);
				dbg = NULL;
			}
			if (dbg) {
				Elf_Scn *dsym = find_scn_type(dbg->elf, SHT_SYMTAB);

				if (dsym && add_symtab(e, dbg->elf, dsym, false, &cap) == 0) {
					e->debug = dbg;
					e->debug_file = TAKE_PTR(path);
					e->has_symtab = true;
				} else {
					hp_elf_close(dbg);
				}
			}
		}
	} else {
		r = add_symtab(e, e->elf, symtab, false, &cap);
		if (r < 0)
			return hp_err(ctx, r, "elf: cannot read .symtab of '%s'", e->name);
		e->has_symtab = true;
	}
	dynsym = find_scn_type(e->elf, SHT_DYNSYM);
	if (dynsym) {
		r = add_symtab(e, e->elf, dynsym, true, &cap);
		if (r < 0)
			return hp_err(ctx, r, "elf: cannot read .dynsym of '%s'", e->name);
	}
	if (e->nsyms)
		qsort(e->syms, e->nsyms, sizeof(*e->syms), sym_cmp_name);
	e->by_addr = calloc(e->nsyms ? e->nsyms : 1, sizeof(*e->by_addr));
	if (!e->by_addr)
		return -ENOMEM;
	for (i = 0; i < e->nsyms; i++) {
		struct hp_sym *s = &e->syms[i];

		if ((s->type == STT_FUNC || s->type == STT_OBJECT || s->type == STT_GNU_IFUNC) &&
		    s->shndx != SHN_UNDEF && s->size)
			e->by_addr[e->nby_addr++] = s;
	}
	qsort(e->by_addr, e->nby_addr, sizeof(*e->by_addr), sym_cmp_addr);
	e->symbols_loaded = true;
	e->dynamic_only = dynamic_only;
	return 0;
}

int hp_elf_load_symbols(struct hp_ctx *ctx, struct hp_elf *e, const char *debug_file)
{
	return load_symbols(ctx, e, debug_file, false);
}

/*
 * Import resolution only looks at exported (.dynsym) definitions; the full
 * table of a library, from its separate debug file when one is installed
 * (libc's has ten times the symbols), is not worth reading for that.
 */
int hp_elf_load_dynamic_symbols(struct hp_ctx *ctx, struct hp_elf *e)
{
	return load_symbols(ctx, e, NULL, true);
}

size_t hp_elf_find_syms(const struct hp_elf *e, const char *name, struct hp_sym **ret_first)
{
	size_t lo = 0, hi = e->nsyms, first, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(e->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (first + n < e->nsyms && !strcmp(e->syms[first + n].name, name))
		n++;
	if (ret_first)
		*ret_first = n ? &e->syms[first] : NULL;
	return n;
}

const struct hp_sym *hp_elf_sym_at(const struct hp_elf *e, uint64_t addr)
{
	size_t lo = 0, hi = e->nby_addr;
	const struct hp_sym *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->by_addr[mid]->value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* by_addr[lo-1] is the last symbol starting at or before addr; symbols may nest. */
	while (lo > 0) {
		const struct hp_sym *s = e->by_addr[--lo];

		if (addr < s->value + s->size) {
			best = s;
			if (s->type == STT_FUNC)
				break;
		}
		if (addr - s->value > (1u << 24))
			break;
	}
	return best;
}

static int imp_cmp(const void *a, const void *b)
{
	const struct hp_import *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	/* JUMP_SLOT (7) before GLOB_DAT (6): calls prefer a PLT stub. */
	return (int)y->type - (int)x->type;
}

/* Scan PLT sections for `jmp *disp32(%rip)` and attach each stub to its GOT slot. */
static void find_plt_stubs(struct hp_elf *e)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e->elf, &shstrndx) < 0)
		return;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;
		const uint8_t *p;
		size_t i, k;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		name = elf_strptr(e->elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".plt", 4))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		p = d->d_buf;
		for (i = 0; i + 6 <= d->d_size; i++) {
			int32_t disp;
			uint64_t slot;

			if (p[i] != 0xff || p[i + 1] != 0x25)
				continue;
			memcpy(&disp, p + i + 2, 4);
			slot = sh.sh_addr + i + 6 + (int64_t)disp;
			for (k = 0; k < e->nimports; k++)
				if (e->imports[k].got == slot && !e->imports[k].plt)
					e->imports[k].plt = sh.sh_addr + i - (i > 0 && p[i - 1] == 0xf2);
		}
	}
}

int hp_elf_load_imports(struct hp_ctx *ctx, struct hp_elf *e)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;

	if (e->imports_loaded)
		return 0;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh, lsh;
		Elf_Data *d, *sd;
		Elf_Scn *symscn;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA)
			continue;
		symscn = elf_getscn(e->elf, sh.sh_link);
		if (!symscn || !gelf_getshdr(symscn, &lsh) || lsh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		sd = elf_getdata(symscn, NULL);
		if (!d || !sd)
			continue;
		n = d->d_size / sizeof(Elf64_Rela);
		for (i = 0; i < n; i++) {
			GElf_Rela rela;
			GElf_Sym sym;
			uint32_t type;
			const char *name;

			if (!gelf_getrela(d, (int)i, &rela))
				continue;
			type = (uint32_t)GELF_R_TYPE(rela.r_info);
			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !GELF_R_SYM(rela.r_info))
				continue;
			if (!gelf_getsym(sd, (int)GELF_R_SYM(rela.r_info), &sym))
				continue;
			name = elf_strptr(e->elf, lsh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (HP_GROW(e->imports, cap, e->nimports + 1) < 0)
				return -ENOMEM;
			e->imports[e->nimports++] = (struct hp_import){ name, rela.r_offset, 0, type };
		}
	}
	find_plt_stubs(e);
	if (e->nimports)
		qsort(e->imports, e->nimports, sizeof(*e->imports), imp_cmp);
	e->imports_loaded = true;
	(void)ctx;
	return 0;
}

const struct hp_import *hp_elf_find_import(const struct hp_elf *e, const char *name)
{
	size_t lo = 0, hi = e->nimports;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(e->imports[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < e->nimports && !strcmp(e->imports[lo].name, name))
		return &e->imports[lo];
	return NULL;
}

int hp_elf_read_vaddr(const struct hp_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	size_t fsize = 0, i;
	const char *raw = elf_rawfile(e->elf, &fsize);

	if (!raw)
		return -EIO;
	for (i = 0; i < e->nloads; i++) {
		const struct hp_load *l = &e->loads[i];
		uint64_t end;

		if (vaddr < l->vaddr || __builtin_add_overflow(vaddr, len, &end) || end > l->vaddr + l->memsz)
			continue;
		memset(buf, 0, len);
		if (vaddr < l->vaddr + l->filesz) {
			uint64_t n = l->vaddr + l->filesz - vaddr, off = l->offset + (vaddr - l->vaddr);

			if (n > len)
				n = len;
			if (off > fsize || n > fsize - off)
				return -EIO;
			memcpy(buf, raw + off, n);
		}
		return 0;
	}
	return -EFAULT;
}

/*
 * Length of the padding instruction at p (at most n bytes), or 0 if it is
 * not padding: int3, a zero byte, or a NOP in any of the encodings GCC and
 * GAS use for alignment (90, 66 90, 0f 1f /0 with any modrm form, with
 * 66/2e prefixes).
 */
static size_t pad_len(const uint8_t *p, size_t n)
{
	size_t i = 0, len;
	uint8_t modrm, mod, rm;

	if (n && (p[0] == 0xcc || p[0] == 0x00))
		return 1;
	while (i < n && i < 14 && (p[i] == 0x66 || p[i] == 0x2e))
		i++;
	if (i < n && p[i] == 0x90)
		return i + 1;
	if (i + 2 >= n || p[i] != 0x0f || p[i + 1] != 0x1f)
		return 0;
	modrm = p[i + 2];
	if ((modrm >> 3 & 7) != 0)
		return 0;
	mod = modrm >> 6;
	rm = modrm & 7;
	len = i + 3;
	if (mod != 3 && rm == 4)
		len++;	/* SIB */
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		len += 4;
	return len <= n ? len : 0;
}

/*
 * Why: a function too small for a 5-byte jump can take a short jump into
 * the alignment padding before it (issue 16).  Those n bytes must be
 * padding: after the end of the function before (symbol table), covered by
 * no symbol, and decoding as padding from that end up to addr.
 */
bool hp_elf_padding_before(const struct hp_elf *e, uint64_t addr, size_t n)
{
	uint8_t pad[64];
	const struct hp_sym *prev = NULL;
	uint64_t start, a;
	size_t pos = 0, l, i;

	if (n > sizeof(pad) || addr < sizeof(pad))
		return false;
	/* the last symbol that ends at or before addr, within reach */
	for (a = addr - 1; a >= addr - sizeof(pad); a--) {
		const struct hp_sym *s = hp_elf_sym_at(e, a);

		if (s) {
			prev = s;
			break;
		}
	}
	if (!prev || prev->value + prev->size > addr - n)
		return false;
	start = prev->value + prev->size;
	if (hp_elf_read_vaddr(e, start, pad, addr - start) < 0)
		return false;
	while (pos < addr - start && (l = pad_len(pad + pos, addr - start - pos)) > 0)
		pos += l;
	if (pos != addr - start)
		return false;
	for (i = 0; i < addr - start; i++) {
		const struct hp_sym *s = hp_elf_sym_at(e, start + i);

		if (s && s->size)
			return false;
	}
	return true;
}

bool hp_elf_padding_after(const struct hp_elf *e, uint64_t addr, size_t n)
{
	uint8_t pad[32];
	size_t avail = sizeof(pad), pos = 0, l, i;

	if (n > sizeof(pad))
		return false;
	if (hp_elf_read_vaddr(e, addr, pad, avail) < 0) {
		avail = n;	/* near the end of the segment */
		if (hp_elf_read_vaddr(e, addr, pad, avail) < 0)
			return false;
	}
	while (pos < n && (l = pad_len(pad + pos, avail - pos)) > 0)
		pos += l;
	if (pos < n)
		return false;
	for (i = 0; i < n; i++) {
		const struct hp_sym *s = hp_elf_sym_at(e, addr + i);

		if (s && s->value == addr + i)
			return false;
	}
	return true;
}
