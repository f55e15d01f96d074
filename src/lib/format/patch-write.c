/* SPDX-License-Identifier: MIT */
/*
 * Writing patch files with libelf.  Section order is fixed (payload
 * sections, their .rela sections, .hotpatch.target, .symtab, .strtab,
 * .hotpatch.manifest, .hotpatch.sig, .shstrtab) so that output is
 * reproducible for the same input.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lib/format/patch.h"



struct strtab {
	char *buf;
	size_t len, cap;
};

static long strtab_add(struct strtab *t, const char *s)
{
	size_t n = strlen(s) + 1;

	if (HP_GROW(t->buf, t->cap, t->len + n) < 0)
		return -ENOMEM;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	return (long)(t->len - n);
}

static Elf_Scn *add_scn(Elf *elf, struct strtab *shstr, const char *name, uint32_t type, uint64_t flags,
			uint64_t align, const void *data, uint64_t size, Elf_Type dtype, uint64_t entsize)
{
	Elf_Scn *scn = elf_newscn(elf);
	Elf_Data *d;
	GElf_Shdr sh;
	long off;

	if (!scn)
		return NULL;
	off = strtab_add(shstr, name);
	if (off < 0)
		return NULL;
	d = elf_newdata(scn);
	if (!d)
		return NULL;
	d->d_buf = (void *)data;
	d->d_size = size;
	d->d_type = dtype;
	d->d_align = align ? align : 1;
	d->d_version = EV_CURRENT;
	if (!gelf_getshdr(scn, &sh))
		return NULL;
	sh.sh_name = (Elf64_Word)off;
	sh.sh_type = type;
	sh.sh_flags = flags;
	sh.sh_addralign = align ? align : 1;
	sh.sh_entsize = entsize;
	sh.sh_size = size;
	if (!gelf_update_shdr(scn, &sh))
		return NULL;
	return scn;
}

static int set_link(Elf_Scn *scn, uint32_t link, uint32_t info)
{
	GElf_Shdr sh;

	if (!gelf_getshdr(scn, &sh))
		return -EIO;
	sh.sh_link = link;
	sh.sh_info = info;
	return gelf_update_shdr(scn, &sh) ? 0 : -EIO;
}

int hp_patch_write_mem(struct hp_ctx *ctx, const struct hp_patch_writer *w, uint8_t **ret_buf, size_t *ret_len)
{
	struct strtab shstr = { 0 }, str = { 0 };
	_cleanup_free_ Elf64_Sym *syms = NULL;
	_cleanup_free_ uint32_t *symmap = NULL;
	_cleanup_free_ uint32_t *secidx = NULL;
	Elf64_Rela **relbufs = NULL;
	struct hp_sig_block zero_sig;
	Elf *elf = NULL;
	Elf_Scn *scn, *symscn, *strscn, *shstrscn, *tgtscn;
	Elf64_Ehdr *eh;
	size_t i, j, nemitted = 0, k;
	uint32_t first_global = 1;
	int fd = -1, r = -EIO;
	off_t size;
	uint8_t *buf = NULL;

	hp_libelf_init();
	memset(&zero_sig, 0, sizeof(zero_sig));
	memcpy(zero_sig.magic, HP_SIG_MAGIC, 8);
	syms = calloc(w->nsyms + 1, sizeof(*syms));
	symmap = calloc(w->nsyms + 1, sizeof(*symmap));
	secidx = calloc(w->nsecs + 1, sizeof(*secidx));
	relbufs = calloc(w->nsecs + 1, sizeof(*relbufs));
	if (!syms || !symmap || !secidx || !relbufs) {
		r = -ENOMEM;
		goto out;
	}
	fd = memfd_create("hotpatch-write", MFD_CLOEXEC);
	if (fd < 0) {
		r = hp_err(ctx, -errno, "patch: memfd_create: %s", strerror(errno));
		goto out;
	}
	elf = elf_begin(fd, ELF_C_WRITE, NULL);
	if (!elf || !(eh = elf64_newehdr(elf)))
		goto out_elf;
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	if (strtab_add(&shstr, "") < 0 || strtab_add(&str, "") < 0) {
		r = -ENOMEM;
		goto out;
	}

	/* Payload sections. */
	for (i = 0; i < w->nsecs; i++) {
		const struct hp_wsec *s = &w->secs[i];

		scn = add_scn(elf, &shstr, s->name, s->type, s->flags, s->align,
			      s->type == SHT_NOBITS ? NULL : s->data, s->size, ELF_T_BYTE, 0);
		if (!scn)
			goto out_elf;
		secidx[i] = (uint32_t)elf_ndxscn(scn);
	}
	tgtscn = add_scn(elf, &shstr, HP_TARGET_SECTION, SHT_NOBITS, 0, 1, NULL, 0, ELF_T_BYTE, 0);
	if (!tgtscn)
		goto out_elf;

	/* Symbols: locals first, as ELF requires; first_global is the symtab's sh_info. */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < w->nsyms; i++) {
			const struct hp_wsym *s = &w->syms[i];
			Elf64_Sym *o;
			long off;

			if ((k == 0) != (s->bind == STB_LOCAL))
				continue;
			j = ++nemitted;
			o = &syms[j];
			off = strtab_add(&str, s->name ? s->name : "");
			if (off < 0) {
				r = -ENOMEM;
				goto out;
			}
			o->st_name = (Elf64_Word)off;
			o->st_value = s->value;
			o->st_size = s->size;
			o->st_info = ELF64_ST_INFO(s->bind, s->type);
			if (s->sec == HP_SEC_UNDEF)
				o->st_shndx = SHN_UNDEF;
			else if (s->sec == HP_SEC_ABS)
				o->st_shndx = SHN_ABS;
			else if (s->sec == HP_SEC_TARGET)
				o->st_shndx = (Elf64_Section)elf_ndxscn(tgtscn);
			else if (s->sec < w->nsecs)
				o->st_shndx = (Elf64_Section)secidx[s->sec];
			else {
				r = hp_err(ctx, -EINVAL, "patch: symbol '%s' has bad section %u", s->name, s->sec);
				goto out;
			}
			symmap[i] = (uint32_t)j;
		}
		if (k == 0)
			first_global = (uint32_t)(nemitted + 1);
	}

	/* Relocation sections; symtab index is known after it is created, so create it first. */
	symscn = add_scn(elf, &shstr, ".symtab", SHT_SYMTAB, 0, 8, syms, (w->nsyms + 1) * sizeof(Elf64_Sym),
			 ELF_T_SYM, sizeof(Elf64_Sym));
	if (!symscn)
		goto out_elf;
	for (i = 0; i < w->nsecs; i++) {
		const struct hp_wsec *s = &w->secs[i];
		_cleanup_free_ char *rname = NULL;

		if (!s->nrelas)
			continue;
		relbufs[i] = calloc(s->nrelas, sizeof(Elf64_Rela));
		if (!relbufs[i] || asprintf(&rname, ".rela%s", s->name) < 0) {
			r = -ENOMEM;
			goto out;
		}
		for (j = 0; j < s->nrelas; j++) {
			if (s->relas[j].sym >= w->nsyms) {
				r = hp_err(ctx, -EINVAL, "patch: relocation in %s uses symbol %u", s->name,
					   s->relas[j].sym);
				goto out;
			}
			relbufs[i][j].r_offset = s->relas[j].offset;
			relbufs[i][j].r_info = ELF64_R_INFO(symmap[s->relas[j].sym], s->relas[j].type);
			relbufs[i][j].r_addend = s->relas[j].addend;
		}
		scn = add_scn(elf, &shstr, rname, SHT_RELA, SHF_INFO_LINK, 8, relbufs[i],
			      s->nrelas * sizeof(Elf64_Rela), ELF_T_RELA, sizeof(Elf64_Rela));
		if (!scn || set_link(scn, (uint32_t)elf_ndxscn(symscn), secidx[i]) < 0)
			goto out_elf;
	}
	strscn = add_scn(elf, &shstr, ".strtab", SHT_STRTAB, 0, 1, NULL, 0, ELF_T_BYTE, 0);
	if (!strscn)
		goto out_elf;
	if (!add_scn(elf, &shstr, HP_MANIFEST_SECTION, SHT_PROGBITS, 0, 1, w->manifest, strlen(w->manifest),
		     ELF_T_BYTE, 0))
		goto out_elf;
	if (!add_scn(elf, &shstr, HP_SIG_SECTION, SHT_PROGBITS, 0, 8, w->sig ? (const void *)w->sig : &zero_sig,
		     HP_SIG_SIZE, ELF_T_BYTE, 0))
		goto out_elf;
	shstrscn = add_scn(elf, &shstr, ".shstrtab", SHT_STRTAB, 0, 1, NULL, 0, ELF_T_BYTE, 0);
	if (!shstrscn)
		goto out_elf;
	/* String tables are complete only now; attach their final buffers. */
	{
		Elf_Data *d = elf_getdata(strscn, NULL);
		GElf_Shdr sh;

		d->d_buf = str.buf;
		d->d_size = str.len;
		gelf_getshdr(strscn, &sh);
		sh.sh_size = str.len;
		gelf_update_shdr(strscn, &sh);
		d = elf_getdata(shstrscn, NULL);
		d->d_buf = shstr.buf;
		d->d_size = shstr.len;
		gelf_getshdr(shstrscn, &sh);
		sh.sh_size = shstr.len;
		gelf_update_shdr(shstrscn, &sh);
	}
	if (set_link(symscn, (uint32_t)elf_ndxscn(strscn), first_global) < 0)
		goto out_elf;
	eh->e_shstrndx = (Elf64_Half)elf_ndxscn(shstrscn);
	if (elf_update(elf, ELF_C_WRITE) < 0)
		goto out_elf;
	elf_end(elf);
	elf = NULL;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0) {
		r = -EIO;
		goto out;
	}
	buf = malloc((size_t)size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = hp_pread_all(fd, buf, (size_t)size, 0);
	if (r < 0)
		goto out;
	*ret_buf = TAKE_PTR(buf);
	*ret_len = (size_t)size;
	r = 0;
	goto out;
out_elf:
	r = hp_err(ctx, -EIO, "patch: libelf: %s", elf_errmsg(-1));
out:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (relbufs)
		for (i = 0; i <= w->nsecs; i++)
			free(relbufs[i]);
	free(relbufs);
	free(buf);
	free(shstr.buf);
	free(str.buf);
	return r;
}

int hp_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = hp_write_all(fd, buf, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int hp_patch_write_file(struct hp_ctx *ctx, const struct hp_patch_writer *w, const char *path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = hp_patch_write_mem(ctx, w, &buf, &len);
	if (r < 0)
		return r;
	r = hp_write_file_atomic(path, buf, len, 0644);
	if (r < 0)
		return hp_err(ctx, r, "patch: cannot write '%s': %s", path, strerror(-r));
	return 0;
}

int hp_patch_to_writer(const struct hp_patch *p, struct hp_patch_writer *w)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	w->secs = calloc(p->nsecs ? p->nsecs : 1, sizeof(*w->secs));
	w->syms = calloc(p->nsyms ? p->nsyms : 1, sizeof(*w->syms));
	if (!w->secs || !w->syms) {
		hp_patch_writer_release(w);
		return -ENOMEM;
	}
	for (i = 0; i < p->nsecs; i++) {
		const struct hp_psec *s = &p->secs[i];
		struct hp_prela *rel = NULL;
		size_t j;

		size_t n = 0;

		if (s->nrelas) {
			rel = calloc(s->nrelas, sizeof(*rel));
			if (!rel) {
				w->nsecs = i;
				hp_patch_writer_release(w);
				return -ENOMEM;
			}
			for (j = 0; j < s->nrelas; j++) {
				if (s->relas[j].type == R_X86_64_NONE || !s->relas[j].sym)
					continue;
				rel[n] = s->relas[j];
				rel[n++].sym = s->relas[j].sym - 1;	/* writer symbols exclude the null symbol */
			}
		}
		w->secs[i] = (struct hp_wsec){ s->name, s->type, s->flags, s->align, s->size, s->data, rel, n };
	}
	w->nsecs = p->nsecs;
	for (i = 1; i < p->nsyms; i++) {
		const struct hp_psym *s = &p->syms[i];

		w->syms[i - 1] = (struct hp_wsym){ s->name, s->value, s->size, s->type, s->bind, s->sec };
	}
	w->nsyms = p->nsyms ? p->nsyms - 1 : 0;
	w->sig = p->has_sig_section ? &p->sig : NULL;
	return 0;
}

void hp_patch_writer_release(struct hp_patch_writer *w)
{
	size_t i;

	if (w->secs)
		for (i = 0; i < w->nsecs; i++)
			free(w->secs[i].relas);
	free(w->secs);
	free(w->syms);
	memset(w, 0, sizeof(*w));
}
