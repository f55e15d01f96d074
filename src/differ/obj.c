/* SPDX-License-Identifier: MIT */
/*
 * Loading relocatable objects for the builder: sections, symbols (with
 * what their names say about them, see enum ob_kind), relocations, COMDAT
 * groups, and which function each cold part belongs to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obj.h"
#include "shared/x86.h"

/* Free an object and everything loaded from it (NULL is fine). */
void ob_close(struct ob_obj *o)
{
	size_t i;

	if (!o)
		return;
	if (o->secs)
		for (i = 0; i < o->nsecs; i++)
			free(o->secs[i].relas);
	free(o->secs);
	free(o->syms);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	free(o);
}

/* Code: allocated and executable. */
bool ob_is_text(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_ALLOC) && (s->sh.sh_flags & SHF_EXECINSTR);
}

/* Data the payload may carry or bind to: allocated, not code, with contents or zero-filled. */
bool ob_is_data(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_ALLOC) && !(s->sh.sh_flags & SHF_EXECINSTR) &&
	       (s->sh.sh_type == SHT_PROGBITS || s->sh.sh_type == SHT_NOBITS);
}

/* Mergeable strings: compared by the string a reference points at, not by offset. */
bool ob_is_string_sec(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_MERGE) && (s->sh.sh_flags & SHF_STRINGS);
}

/* Relocations whose field counts from the end of the instruction. */
bool ob_is_pcrel(uint32_t t)
{
	return t == R_X86_64_PC32 || t == R_X86_64_PLT32 || t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX ||
	       t == R_X86_64_REX_GOTPCRELX || t == R_X86_64_GOTTPOFF || t == R_X86_64_TLSGD ||
	       t == R_X86_64_TLSLD;
}

/*
 * A PC-relative field in code counts from the end of its instruction, so
 * the addend carries minus the distance to it (-4, or -5 and -8 when an
 * immediate follows): add it back to get the offset actually referred to.
 * Elsewhere (jump tables) the addend is the reference itself.
 */
int64_t ob_rela_target_off(const struct ob_rela *r)
{
	int64_t off = r->addend + (ob_is_pcrel(r->type) ? r->tail : 0);

	if (r->sym->type != STT_SECTION)
		off += (int64_t)r->sym->s.st_value;
	return off;
}

/* A string inside the section, or NULL when off is outside or unterminated. */
const char *ob_string_at(const struct ob_sec *s, int64_t off)
{
	if (!s || !s->data || off < 0 || (uint64_t)off >= s->sh.sh_size)
		return NULL;
	if (!memchr(s->data + off, 0, s->sh.sh_size - (uint64_t)off))
		return NULL;
	return (const char *)s->data + off;
}

/* Prefer the symbol starting exactly at off, then one whose extent covers it. */
struct ob_sym *ob_sym_at(const struct ob_obj *o, const struct ob_sec *s, uint64_t off)
{
	struct ob_sym *cover = NULL;
	size_t i;

	if (s->primary && off == 0)
		return s->primary;
	for (i = 1; i < o->nsyms; i++) {
		struct ob_sym *y = &o->syms[i];

		if (y->sec != s || (y->type != STT_FUNC && y->type != STT_OBJECT && y->type != STT_TLS))
			continue;
		if (y->s.st_value == off)
			return y;
		if (off > y->s.st_value && off < y->s.st_value + y->s.st_size)
			cover = y;
	}
	return cover;
}

/* Relocations in offset order, to walk them alongside the instructions. */
static int rela_by_offset(const void *a, const void *b)
{
	const struct ob_rela *x = *(const struct ob_rela *const *)a, *y = *(const struct ob_rela *const *)b;

	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Find where each PC-relative field of a code section's instructions ends (decoding the code). */
static int set_tails(struct ob_sec *s)
{
	_cleanup_free_ struct ob_rela **v = NULL;
	uint64_t i = 0;
	size_t k;

	for (k = 0; k < s->nrelas; k++)
		s->relas[k].tail = ob_is_text(s) ? 4 : 0;
	if (!ob_is_text(s) || !s->data || !s->nrelas)
		return 0;
	v = calloc(s->nrelas, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < s->nrelas; k++)
		v[k] = &s->relas[k];
	qsort(v, s->nrelas, sizeof(*v), rela_by_offset);
	k = 0;
	while (i < s->sh.sh_size && k < s->nrelas) {
		struct x86_insn in;

		if (x86_decode(s->data + i, s->sh.sh_size - i, &in) < 0)
			break;		/* not code we can walk: keep the usual 4 */
		for (; k < s->nrelas && v[k]->offset < i + in.len; k++)
			if (v[k]->offset >= i && i + in.len - v[k]->offset <= 8)
				v[k]->tail = (uint8_t)(i + in.len - v[k]->offset);
		i += in.len;
	}
	return 0;
}

/* Special read-only names of GCC: __func__, __PRETTY_FUNCTION__, switch tables. */
static bool const_name(const char *n, size_t baselen)
{
	static const char *const names[] = { "__func__", "__PRETTY_FUNCTION__", "__FUNCTION__", "CSWTCH" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == baselen && !strncmp(n, names[i], baselen))
			return true;
	return false;
}

/* What a symbol's name says about it (enum ob_kind). */
static void classify(struct ob_sym *y)
{
	const char *dot = y->name[0] == '.' ? NULL : strchr(y->name, '.');
	size_t len = strlen(y->name);

	y->baselen = dot ? (size_t)(dot - y->name) : len;
	y->kind = OB_K_PLAIN;
	if (y->type == STT_SECTION || y->type == STT_FILE || !y->sec)
		return;
	if (y->name[0] == '.') {
		y->kind = OB_K_CONST;		/* .LC0 and friends: assembler labels of constants */
		return;
	}
	if (!dot)
		return;
	if (y->type == STT_FUNC) {
		y->kind = (len > 5 && !strcmp(y->name + len - 5, ".cold")) || strstr(y->name, ".cold.") ? OB_K_COLD
											       : OB_K_CLONE;
		return;
	}
	if (const_name(y->name, y->baselen) || !(y->sec->sh.sh_flags & SHF_WRITE))
		y->kind = OB_K_CONST;
	else if (y->bind == STB_LOCAL)
		y->kind = OB_K_STATIC;		/* global dotted names (DW.ref.*) are the compiler's, but stable */
}

/* Link each "f.cold" part to f, the function whose code jumps into it. */
static void link_cold(struct ob_obj *o)
{
	size_t i, k;

	for (i = 1; i < o->nsyms; i++) {
		struct ob_sym *c = &o->syms[i];
		size_t plen;

		if (c->kind != OB_K_COLD || !c->sec || c->s.st_value != 0)
			continue;
		plen = strlen(c->name) - 5;
		if (strcmp(c->name + plen, ".cold")) {
			const char *p = strstr(c->name, ".cold.");

			plen = p ? (size_t)(p - c->name) : 0;
		}
		for (k = 1; plen && k < o->nsyms; k++) {
			struct ob_sym *f = &o->syms[k];

			if (f->type == STT_FUNC && f->kind != OB_K_COLD && f->sec && f->sec != c->sec &&
			    strlen(f->name) == plen && !strncmp(f->name, c->name, plen)) {
				c->sec->parent = f->sec;
				f->sec->cold = c->sec;
				break;
			}
		}
	}
}

/* Mark the members of COMDAT groups (C++ inline functions and template instances). */
static void mark_comdat(struct ob_obj *o)
{
	size_t i, k;

	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *g = &o->secs[i];
		const uint32_t *w = (const uint32_t *)g->data;

		if (g->sh.sh_type != SHT_GROUP || !w || g->sh.sh_size < 4 || !(w[0] & GRP_COMDAT))
			continue;
		for (k = 1; k < g->sh.sh_size / 4; k++)
			if (w[k] < o->nsecs)
				o->secs[w[k]].comdat = true;
	}
}

/* First symbol of that name; the names the compiler makes up are not unique across objects. */
struct ob_sym *ob_find_sym(const struct ob_obj *o, const char *name)
{
	size_t i;

	for (i = 1; i < o->nsyms; i++)
		if (o->syms[i].name && !strcmp(o->syms[i].name, name) && o->syms[i].type != STT_SECTION &&
		    o->syms[i].type != STT_FILE)
			return &o->syms[i];
	return NULL;
}

/* Read sections, symbols and relocations; classify symbols; link cold parts; find field ends. */
static int load(struct hp_ctx *ctx, struct ob_obj *o)
{
	GElf_Ehdr eh;
	size_t shstrndx, i, symtab = 0;
	Elf_Scn *scn;

	if (!gelf_getehdr(o->elf, &eh) || eh.e_type != ET_REL || eh.e_machine != EM_X86_64 ||
	    gelf_getclass(o->elf) != ELFCLASS64)
		return hp_err(ctx, -HP_E_BUILD, "build: '%s' is not an x86-64 relocatable object", o->path);
	if (elf_getshdrnum(o->elf, &o->nsecs) < 0 || elf_getshdrstrndx(o->elf, &shstrndx) < 0)
		return hp_err(ctx, -HP_E_BUILD, "build: '%s': cannot read section headers", o->path);
	o->secs = calloc(o->nsecs, sizeof(*o->secs));
	if (!o->secs)
		return -ENOMEM;
	for (i = 0; i < o->nsecs; i++) {
		struct ob_sec *s = &o->secs[i];

		scn = elf_getscn(o->elf, i);
		if (!scn || !gelf_getshdr(scn, &s->sh))
			return hp_err(ctx, -HP_E_BUILD, "build: '%s': bad section %zu", o->path, i);
		s->index = i;
		s->name = elf_strptr(o->elf, shstrndx, s->sh.sh_name);
		if (!s->name)
			s->name = "";
		if (s->sh.sh_type == SHT_SYMTAB)
			symtab = i;
		if (!strncmp(s->name, ".gnu.lto_", 9))
			o->lto = true;
		if (s->sh.sh_type != SHT_NOBITS && s->sh.sh_size) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (!d || d->d_size != s->sh.sh_size)
				return hp_err(ctx, -HP_E_BUILD, "build: '%s': cannot read section %s", o->path, s->name);
			s->data = d->d_buf;
		}
	}
	if (!symtab)
		return hp_err(ctx, -HP_E_BUILD, "build: '%s' has no symbol table", o->path);
	{
		struct ob_sec *st = &o->secs[symtab];
		Elf_Data *d = elf_getdata(elf_getscn(o->elf, symtab), NULL);

		if (!d)
			return hp_err(ctx, -HP_E_BUILD, "build: '%s': cannot read symbols", o->path);
		o->nsyms = d->d_size / sizeof(Elf64_Sym);
		o->syms = calloc(o->nsyms ? o->nsyms : 1, sizeof(*o->syms));
		if (!o->syms)
			return -ENOMEM;
		for (i = 0; i < o->nsyms; i++) {
			struct ob_sym *y = &o->syms[i];

			if (!gelf_getsym(d, (int)i, &y->s))
				return hp_err(ctx, -HP_E_BUILD, "build: '%s': bad symbol %zu", o->path, i);
			y->index = i;
			y->name = elf_strptr(o->elf, st->sh.sh_link, y->s.st_name);
			if (!y->name)
				y->name = "";
			y->type = GELF_ST_TYPE(y->s.st_info);
			y->bind = GELF_ST_BIND(y->s.st_info);
			if (y->s.st_shndx != SHN_UNDEF && y->s.st_shndx < o->nsecs && y->s.st_shndx != SHN_ABS)
				y->sec = &o->secs[y->s.st_shndx];
			if (y->type == STT_FILE && !o->file && *y->name)
				o->file = y->name;
			if (y->type == STT_SECTION && y->sec) {
				y->name = y->sec->name;
				y->sec->secsym = y;
			}
			if ((y->type == STT_FUNC || y->type == STT_OBJECT || y->type == STT_TLS) && y->sec &&
			    y->s.st_value == 0 && !y->sec->primary)
				y->sec->primary = y;
			classify(y);
		}
		/* A source name beats a compiler alias (f.localalias) as the name of a section. */
		for (i = 1; i < o->nsyms; i++) {
			struct ob_sym *y = &o->syms[i];

			if (y->sec && y->sec->primary && y->sec->primary != y && y->kind == OB_K_PLAIN &&
			    y->sec->primary->kind != OB_K_PLAIN && y->s.st_value == 0 &&
			    y->type == y->sec->primary->type)
				y->sec->primary = y;
		}
	}
	link_cold(o);
	mark_comdat(o);
	for (i = 0; i < o->nsecs; i++) {
		struct ob_sec *rs = &o->secs[i], *ts;
		Elf_Data *d;
		size_t k, n;

		if (rs->sh.sh_type == SHT_REL)
			return hp_err(ctx, -HP_E_BUILD, "build: '%s' uses SHT_REL relocations", o->path);
		if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_info >= o->nsecs)
			continue;
		ts = &o->secs[rs->sh.sh_info];
		if (!(ts->sh.sh_flags & SHF_ALLOC))
			continue;
		d = elf_getdata(elf_getscn(o->elf, i), NULL);
		if (!d)
			return hp_err(ctx, -HP_E_BUILD, "build: '%s': cannot read %s", o->path, rs->name);
		n = d->d_size / sizeof(Elf64_Rela);
		ts->relas = calloc(n ? n : 1, sizeof(*ts->relas));
		if (!ts->relas)
			return -ENOMEM;
		for (k = 0; k < n; k++) {
			GElf_Rela r;
			size_t si;

			if (!gelf_getrela(d, (int)k, &r))
				return hp_err(ctx, -HP_E_BUILD, "build: '%s': bad relocation in %s", o->path, rs->name);
			si = GELF_R_SYM(r.r_info);
			if (si >= o->nsyms)
				return hp_err(ctx, -HP_E_BUILD, "build: '%s': relocation uses symbol %zu", o->path, si);
			ts->relas[ts->nrelas++] = (struct ob_rela){ r.r_offset, (uint32_t)GELF_R_TYPE(r.r_info),
								    r.r_addend, &o->syms[si], 0 };
		}
	}
	for (i = 1; i < o->nsecs; i++)
		if (set_tails(&o->secs[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Open a relocatable object for the builder (x86-64, RELA relocations). */
int ob_open(struct hp_ctx *ctx, const char *path, struct ob_obj **ret)
{
	struct ob_obj *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return -ENOMEM;
	hp_libelf_init();
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	o->path = strdup(path);
	if (o->fd < 0 || !o->path) {
		r = hp_err(ctx, o->fd < 0 ? -errno : -ENOMEM, "build: cannot open '%s': %s", path, strerror(errno));
		ob_close(o);
		return r;
	}
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF) {
		ob_close(o);
		return hp_err(ctx, -HP_E_BUILD, "build: '%s' is not an ELF object", path);
	}
	r = load(ctx, o);
	if (r < 0) {
		ob_close(o);
		return r;
	}
	*ret = o;
	return 0;
}
