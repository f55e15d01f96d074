/* SPDX-License-Identifier: MIT */
/* Loading relocatable objects for the builder. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obj.h"

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

bool ob_is_text(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_ALLOC) && (s->sh.sh_flags & SHF_EXECINSTR);
}

bool ob_is_data(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_ALLOC) && !(s->sh.sh_flags & SHF_EXECINSTR) &&
	       (s->sh.sh_type == SHT_PROGBITS || s->sh.sh_type == SHT_NOBITS);
}

bool ob_is_string_sec(const struct ob_sec *s)
{
	return (s->sh.sh_flags & SHF_MERGE) && (s->sh.sh_flags & SHF_STRINGS);
}

struct ob_sym *ob_find_sym(const struct ob_obj *o, const char *name)
{
	size_t i;

	for (i = 1; i < o->nsyms; i++)
		if (o->syms[i].name && !strcmp(o->syms[i].name, name) && o->syms[i].type != STT_SECTION &&
		    o->syms[i].type != STT_FILE)
			return &o->syms[i];
	return NULL;
}

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
			if ((y->type == STT_FUNC || y->type == STT_OBJECT) && y->sec && y->s.st_value == 0 &&
			    !y->sec->primary)
				y->sec->primary = y;
		}
	}
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
								    r.r_addend, &o->syms[si] };
		}
	}
	return 0;
}

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
