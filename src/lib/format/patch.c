/* SPDX-License-Identifier: MIT */
/*
 * Reading patch files.  The input is hostile: every offset, size, index and
 * string is checked before use, totals are bounded, and any doubt is
 * HP_E_FORMAT with a message naming the first thing that was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/format/patch.h"



#define bad(ctx, ...) hp_err(ctx, -HP_E_FORMAT, "patch: " __VA_ARGS__)

void hp_patch_free(struct hp_patch *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nsecs; i++)
		free(p->secs[i].relas);
	free(p->secs);
	free(p->syms);
	free(p->pub);
	free(p->func_sym);
	hp_manifest_release(&p->man);
	if (p->json)
		json_decref(p->json);
	if (p->elf)
		elf_end(p->elf);
	free(p->buf);
	free(p);
}

const struct hp_manifest *hp_patch_manifest(const struct hp_patch *p)
{
	return &p->man;
}

const void *hp_patch_bytes(const struct hp_patch *p, size_t *ret_len)
{
	*ret_len = p->len;
	return p->buf;
}

size_t hp_patch_nsections(const struct hp_patch *p)
{
	return p->nsecs;
}

const struct hp_patch_section *hp_patch_section(const struct hp_patch *p, size_t i)
{
	return i < p->nsecs ? &p->pub[i] : NULL;
}

bool hp_patch_is_signed(const struct hp_patch *p, char ret_key_id[65])
{
	if (!p->has_sig_section || p->sig.alg == HP_SIG_ALG_NONE)
		return false;
	if (ret_key_id)
		hp_hex(p->sig.key_id, 32, ret_key_id);
	return true;
}

static bool range_ok(uint64_t off, uint64_t size, uint64_t total)
{
	return off <= total && size <= total - off;
}

/* Map an ELF section index to our payload section index (or HP_SEC_*). */
static int map_shndx(const uint32_t *sec_of, size_t shnum, uint32_t target_idx, uint32_t shndx, uint32_t *ret)
{
	if (shndx == SHN_UNDEF) {
		*ret = HP_SEC_UNDEF;
		return 0;
	}
	if (shndx == SHN_ABS) {
		*ret = HP_SEC_ABS;
		return 0;
	}
	if (shndx >= shnum)
		return -1;
	if (target_idx && shndx == target_idx) {
		*ret = HP_SEC_TARGET;
		return 0;
	}
	if (sec_of[shndx] == UINT32_MAX)
		return -1;
	*ret = sec_of[shndx];
	return 0;
}

/* Width in bytes of the field a relocation writes; 0 if unsupported. */
int hp_reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_64:
	case R_X86_64_PC64:
	case R_X86_64_GOTOFF64:
	case R_X86_64_DTPOFF64:
	case R_X86_64_TPOFF64:
		return 8;
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
	case R_X86_64_GOTPC32:
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
	case R_X86_64_TLSGD:
	case R_X86_64_TLSLD:
	case R_X86_64_DTPOFF32:
		return 4;
	case R_X86_64_NONE:
		return 0;
	default:
		return -1;
	}
}

static int parse_symtab(struct hp_ctx *ctx, struct hp_patch *p, Elf_Scn *scn, const GElf_Shdr *sh,
			const uint32_t *sec_of, size_t shnum, uint32_t target_idx)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n, i;

	if (!d || sh->sh_entsize != sizeof(Elf64_Sym) || d->d_size % sizeof(Elf64_Sym))
		return bad(ctx, "malformed .symtab");
	n = d->d_size / sizeof(Elf64_Sym);
	if (n == 0 || n > HP_PATCH_MAX_SYMS)
		return bad(ctx, ".symtab has %zu entries", n);
	if (sh->sh_link >= shnum)
		return bad(ctx, ".symtab links to section %u of %zu", sh->sh_link, shnum);
	p->syms = calloc(n, sizeof(*p->syms));
	if (!p->syms)
		return -ENOMEM;
	p->nsyms = n;
	for (i = 1; i < n; i++) {
		GElf_Sym s;
		struct hp_psym *o = &p->syms[i];
		const char *name;

		if (!gelf_getsym(d, (int)i, &s))
			return bad(ctx, "cannot read symbol %zu", i);
		name = s.st_name ? elf_strptr(p->elf, sh->sh_link, s.st_name) : "";
		if (!name)
			return bad(ctx, "symbol %zu has a name outside the string table", i);
		o->name = name;
		o->value = s.st_value;
		o->size = s.st_size;
		o->type = GELF_ST_TYPE(s.st_info);
		o->bind = GELF_ST_BIND(s.st_info);
		if (s.st_shndx == SHN_COMMON || s.st_shndx == SHN_XINDEX)
			return bad(ctx, "symbol '%s' has unsupported section index %#x", name, s.st_shndx);
		if (o->type == STT_FILE) {
			o->sec = HP_SEC_ABS;
			continue;
		}
		if (map_shndx(sec_of, shnum, target_idx, s.st_shndx, &o->sec) < 0)
			return bad(ctx, "symbol '%s' refers to section %u, which is not part of the payload", name,
				   s.st_shndx);
		if (o->sec < p->nsecs) {
			const struct hp_psec *ps = &p->secs[o->sec];

			if (o->value > ps->size || o->size > ps->size - o->value)
				return bad(ctx, "symbol '%s' lies outside its section %s", name, ps->name);
		}
		if (o->sec == HP_SEC_UNDEF && !*name)
			return bad(ctx, "undefined symbol %zu has no name", i);
		if (o->type == STT_GNU_IFUNC)
			return bad(ctx, "symbol '%s' is an IFUNC; patches cannot define IFUNCs", name);
		if (o->type == STT_TLS && o->sec < p->nsecs)
			return bad(ctx, "symbol '%s' is a new thread-local variable; not supported", name);
	}
	return 0;
}

static int parse_rela(struct hp_ctx *ctx, struct hp_patch *p, Elf_Scn *scn, const GElf_Shdr *sh,
		      const uint32_t *sec_of, size_t shnum, size_t symtab_idx)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	struct hp_psec *ps;
	size_t n, i;

	if (sh->sh_info >= shnum || sec_of[sh->sh_info] == UINT32_MAX)
		return bad(ctx, "relocation section applies to section %u, which is not part of the payload",
			   sh->sh_info);
	if (sh->sh_link != symtab_idx)
		return bad(ctx, "relocation section does not use the symbol table");
	if (!d || sh->sh_entsize != sizeof(Elf64_Rela) || d->d_size % sizeof(Elf64_Rela))
		return bad(ctx, "malformed relocation section");
	ps = &p->secs[sec_of[sh->sh_info]];
	if (ps->type == SHT_NOBITS)
		return bad(ctx, "relocations against NOBITS section %s", ps->name);
	if (ps->relas)
		return bad(ctx, "two relocation sections for %s", ps->name);
	n = d->d_size / sizeof(Elf64_Rela);
	if (n > 1u << 20)
		return bad(ctx, "%zu relocations for %s", n, ps->name);
	ps->relas = calloc(n ? n : 1, sizeof(*ps->relas));
	if (!ps->relas)
		return -ENOMEM;
	ps->nrelas = n;
	for (i = 0; i < n; i++) {
		GElf_Rela r;
		struct hp_prela *o = &ps->relas[i];
		int w;

		if (!gelf_getrela(d, (int)i, &r))
			return bad(ctx, "cannot read relocation %zu of %s", i, ps->name);
		o->offset = r.r_offset;
		o->type = (uint32_t)GELF_R_TYPE(r.r_info);
		o->sym = (uint32_t)GELF_R_SYM(r.r_info);
		o->addend = r.r_addend;
		w = hp_reloc_width(o->type);
		if (w < 0)
			return hp_err(ctx, -HP_E_RELOC, "patch: relocation type %u in %s is not supported",
				      o->type, ps->name);
		if (!range_ok(o->offset, (uint64_t)w, ps->size))
			return bad(ctx, "relocation %zu of %s is outside the section", i, ps->name);
		if (o->sym >= p->nsyms || (o->sym == 0 && o->type != R_X86_64_NONE))
			return bad(ctx, "relocation %zu of %s uses symbol %u of %zu", i, ps->name, o->sym,
				   p->nsyms);
	}
	return 0;
}

/* Check the manifest's functions against the payload symbols. */
static int link_manifest(struct hp_ctx *ctx, struct hp_patch *p)
{
	size_t i, j;

	p->func_sym = calloc(p->man.nfuncs ? p->man.nfuncs : 1, sizeof(*p->func_sym));
	if (!p->func_sym)
		return -ENOMEM;
	for (i = 0; i < p->man.nfuncs; i++) {
		const struct hp_manifest_func *f = &p->man.funcs[i];
		size_t found = 0;

		for (j = 1; j < p->nsyms; j++) {
			const struct hp_psym *s = &p->syms[j];

			if (s->sec >= p->nsecs || strcmp(s->name, f->symbol))
				continue;
			if (found)
				return bad(ctx, "payload symbol '%s' is defined twice", f->symbol);
			found = j;
		}
		if (!found)
			return bad(ctx, "function '%s': payload symbol '%s' is not defined", f->name, f->symbol);
		if (p->syms[found].type != STT_FUNC || !(p->secs[p->syms[found].sec].flags & SHF_EXECINSTR))
			return bad(ctx, "function '%s': payload symbol '%s' is not code", f->name, f->symbol);
		p->func_sym[i] = found;
		for (j = 0; j < i; j++)
			if (p->man.funcs[j].addr == f->addr)
				return bad(ctx, "function at %#llx is replaced twice", (unsigned long long)f->addr);
	}
	return 0;
}

static int parse(struct hp_ctx *ctx, struct hp_patch *p)
{
	GElf_Ehdr eh;
	size_t shnum, shstrndx, i, symtab_idx = 0;
	_cleanup_free_ uint32_t *sec_of = NULL;
	uint32_t target_idx = 0;
	Elf_Scn *scn;
	Elf_Scn *manifest_scn = NULL;
	uint64_t total = 0;
	json_error_t jerr;
	int r;

	if (p->len < sizeof(Elf64_Ehdr) || memcmp(p->buf, ELFMAG, SELFMAG))
		return bad(ctx, "not an ELF file (bad magic)");
	if (p->buf[EI_CLASS] != ELFCLASS64 || p->buf[EI_DATA] != ELFDATA2LSB)
		return hp_err(ctx, -HP_E_ARCH, "patch: not a 64-bit little-endian file; this host is x86_64");
	p->elf = elf_memory((char *)p->buf, p->len);
	if (!p->elf || elf_kind(p->elf) != ELF_K_ELF || !gelf_getehdr(p->elf, &eh))
		return bad(ctx, "cannot parse ELF header: %s", elf_errmsg(-1));
	if (eh.e_machine != EM_X86_64)
		return hp_err(ctx, -HP_E_ARCH, "patch: built for ELF machine %u, this host is x86_64 (62)",
			      eh.e_machine);
	if (eh.e_type != ET_REL)
		return bad(ctx, "ELF type %u, expected a relocatable object (1)", eh.e_type);
	if (elf_getshdrnum(p->elf, &shnum) < 0 || elf_getshdrstrndx(p->elf, &shstrndx) < 0)
		return bad(ctx, "cannot read section headers: %s", elf_errmsg(-1));
	if (shnum < 2 || shnum > HP_PATCH_MAX_SECTIONS)
		return bad(ctx, "%zu sections", shnum);
	if (shstrndx >= shnum)
		return bad(ctx, "section name table index %zu out of range", shstrndx);
	sec_of = malloc(shnum * sizeof(*sec_of));
	p->secs = calloc(shnum, sizeof(*p->secs));
	if (!sec_of || !p->secs)
		return -ENOMEM;

	/* Pass 1: section headers. */
	for (i = 0; i < shnum; i++) {
		GElf_Shdr sh;
		const char *name;

		sec_of[i] = UINT32_MAX;
		scn = elf_getscn(p->elf, i);
		if (!scn || !gelf_getshdr(scn, &sh))
			return bad(ctx, "cannot read section header %zu", i);
		if (i == 0)
			continue;
		name = elf_strptr(p->elf, shstrndx, sh.sh_name);
		if (!name)
			return bad(ctx, "section %zu has no valid name", i);
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL && !range_ok(sh.sh_offset, sh.sh_size, p->len))
			return bad(ctx, "section %s (offset %#llx, size %#llx) extends past the end of the file",
				   name, (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size);
		if (sh.sh_addralign > 4096)
			return bad(ctx, "section %s has alignment %llu", name, (unsigned long long)sh.sh_addralign);
		if (!strcmp(name, HP_MANIFEST_SECTION)) {
			if (manifest_scn)
				return bad(ctx, "two manifest sections");
			if (sh.sh_type != SHT_PROGBITS || sh.sh_size == 0 || sh.sh_size > HP_MANIFEST_MAX_SIZE)
				return bad(ctx, "manifest section has type %u and size %llu", sh.sh_type,
					   (unsigned long long)sh.sh_size);
			manifest_scn = scn;
		} else if (!strcmp(name, HP_SIG_SECTION)) {
			if (p->has_sig_section)
				return bad(ctx, "two signature sections");
			if (sh.sh_type != SHT_PROGBITS || sh.sh_size != HP_SIG_SIZE)
				return bad(ctx, "signature section must be %d bytes, has %llu", HP_SIG_SIZE,
					   (unsigned long long)sh.sh_size);
			p->has_sig_section = true;
			p->sig_off = sh.sh_offset;
			memcpy(&p->sig, p->buf + sh.sh_offset, HP_SIG_SIZE);
		} else if (!strcmp(name, HP_TARGET_SECTION)) {
			if (target_idx)
				return bad(ctx, "two %s sections", HP_TARGET_SECTION);
			target_idx = (uint32_t)i;
		} else if (sh.sh_type == SHT_SYMTAB) {
			if (symtab_idx)
				return bad(ctx, "two symbol tables");
			symtab_idx = i;
		} else if (sh.sh_flags & SHF_ALLOC) {
			struct hp_psec *ps = &p->secs[p->nsecs];
			Elf_Data *d = NULL;

			if (sh.sh_type != SHT_PROGBITS && sh.sh_type != SHT_NOBITS &&
			    sh.sh_type != SHT_INIT_ARRAY && sh.sh_type != SHT_FINI_ARRAY)
				return bad(ctx, "allocatable section %s has unsupported type %u", name, sh.sh_type);
			if (sh.sh_type == SHT_INIT_ARRAY || sh.sh_type == SHT_FINI_ARRAY)
				return hp_err(ctx, -HP_E_FORMAT,
					      "patch: section %s holds constructors/destructors, which a live patch "
					      "cannot run", name);
			if (sh.sh_flags & SHF_TLS)
				return hp_err(ctx, -HP_E_FORMAT,
					      "patch: section %s defines new thread-local storage; not supported",
					      name);
			if ((sh.sh_flags & SHF_WRITE) && (sh.sh_flags & SHF_EXECINSTR))
				return bad(ctx, "section %s is both writable and executable", name);
			if (sh.sh_size > HP_PATCH_MAX_SIZE || (total += sh.sh_size) > HP_PATCH_MAX_SIZE)
				return bad(ctx, "payload larger than %u bytes", HP_PATCH_MAX_SIZE);
			if (sh.sh_type == SHT_PROGBITS && sh.sh_size) {
				d = elf_getdata(scn, NULL);
				if (!d || d->d_size != sh.sh_size || !d->d_buf)
					return bad(ctx, "cannot read section %s", name);
			}
			ps->name = name;
			ps->type = sh.sh_type == SHT_NOBITS ? SHT_NOBITS : SHT_PROGBITS;
			ps->flags = sh.sh_flags;
			ps->size = sh.sh_size;
			ps->align = sh.sh_addralign ? sh.sh_addralign : 1;
			if (ps->align & (ps->align - 1))
				return bad(ctx, "section %s has alignment %llu, not a power of two", name,
					   (unsigned long long)ps->align);
			ps->data = d ? d->d_buf : NULL;
			ps->elf_index = (uint32_t)i;
			sec_of[i] = (uint32_t)p->nsecs++;
		}
	}
	if (!manifest_scn)
		return bad(ctx, "no %s section", HP_MANIFEST_SECTION);
	if (!symtab_idx)
		return bad(ctx, "no symbol table");
	if (!p->nsecs)
		return bad(ctx, "no payload sections");

	/* Pass 2: symbols, then relocations. */
	{
		GElf_Shdr sh;

		scn = elf_getscn(p->elf, symtab_idx);
		if (!gelf_getshdr(scn, &sh))
			return bad(ctx, "cannot read the symbol table header");
		r = parse_symtab(ctx, p, scn, &sh, sec_of, shnum, target_idx);
		if (r < 0)
			return r;
	}
	for (i = 1; i < shnum; i++) {
		GElf_Shdr sh;

		scn = elf_getscn(p->elf, i);
		if (!gelf_getshdr(scn, &sh))
			return bad(ctx, "cannot read section header %zu", i);
		if (sh.sh_type == SHT_REL)
			return bad(ctx, "SHT_REL sections are not used on x86_64");
		if (sh.sh_type != SHT_RELA)
			continue;
		if (sh.sh_info < shnum) {
			GElf_Shdr tsh;
			Elf_Scn *ts = elf_getscn(p->elf, sh.sh_info);

			/* Relocations for non-allocated sections (debug info) are ignored. */
			if (ts && gelf_getshdr(ts, &tsh) && !(tsh.sh_flags & SHF_ALLOC))
				continue;
		}
		r = parse_rela(ctx, p, scn, &sh, sec_of, shnum, symtab_idx);
		if (r < 0)
			return r;
	}

	/* The manifest. */
	{
		Elf_Data *d = elf_getdata(manifest_scn, NULL);

		if (!d || !d->d_buf || !d->d_size)
			return bad(ctx, "cannot read the manifest");
		if (memchr(d->d_buf, 0, d->d_size))
			return bad(ctx, "manifest contains a NUL byte");
		p->json = json_loadb(d->d_buf, d->d_size, JSON_REJECT_DUPLICATES, &jerr);
		if (!p->json)
			return bad(ctx, "manifest is not valid JSON (line %d: %s)", jerr.line, jerr.text);
		r = hp_manifest_from_json(ctx, p->json, &p->man);
		if (r < 0)
			return r;
	}
	if (p->man.arch && strcmp(p->man.arch, "x86_64"))
		return hp_err(ctx, -HP_E_ARCH, "patch: built for %s, this host is x86_64", p->man.arch);
	r = link_manifest(ctx, p);
	if (r < 0)
		return r;

	p->pub = calloc(p->nsecs, sizeof(*p->pub));
	if (!p->pub)
		return -ENOMEM;
	for (i = 0; i < p->nsecs; i++)
		p->pub[i] = (struct hp_patch_section){ p->secs[i].name, p->secs[i].size, p->secs[i].flags,
						       (unsigned)p->secs[i].nrelas };
	return 0;
}

int hp_patch_load(struct hp_ctx *ctx, const void *buf, size_t len, struct hp_patch **ret_patch)
{
	struct hp_patch *p;
	int r;

	hp_libelf_init();
	if (len > HP_PATCH_MAX_SIZE + HP_MANIFEST_MAX_SIZE + (1u << 20))
		return bad(ctx, "file of %zu bytes is larger than any patch", len);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->buf = malloc(len ? len : 1);
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	memcpy(p->buf, buf, len);
	p->len = len;
	r = parse(ctx, p);
	if (r < 0) {
		hp_patch_free(p);
		return r;
	}
	*ret_patch = p;
	return 0;
}

int hp_patch_open(struct hp_ctx *ctx, const char *path, struct hp_patch **ret_patch)
{
	_cleanup_free_ char *buf = NULL;
	mode_t type = 0;
	size_t len;
	int r;

	r = hp_read_regular_file(path, HP_PATCH_MAX_SIZE + HP_MANIFEST_MAX_SIZE + (1u << 20), &buf, &len, &type);
	if (r == -EINVAL && type)
		return hp_err(ctx, -HP_E_FORMAT, "patch: '%s' is a %s, not a regular file", path,
			      hp_file_type_name(type));
	if (r == -EFBIG)
		return hp_err(ctx, -HP_E_FORMAT, "patch: '%s' is larger than any patch", path);
	if (r < 0)
		return hp_err(ctx, r, "patch: cannot read '%s': %s", path, strerror(-r));
	r = hp_patch_load(ctx, buf, len, ret_patch);
	if (r < 0)
		return hp_err_prefix(ctx, r, "%s: ", path);
	return 0;
}
