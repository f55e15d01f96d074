/* SPDX-License-Identifier: MIT */
/* The TLS block of a loaded module (tls.h). */
#include <errno.h>
#include <string.h>

#include "lib/process/ptrace.h"
#include "lib/process/tls.h"

/* The executable's block offset: glibc's _dl_determine_tlsoffset for the first module (TLS_TCB_AT_TP). */
static int64_t exe_tpoff(const GElf_Phdr *tls)
{
	uint64_t align = tls->p_align ? tls->p_align : 1;
	uint64_t firstbyte = (-(tls->p_vaddr & (align - 1))) & (align - 1);
	uint64_t off = HP_ALIGN_UP(tls->p_memsz - firstbyte, align) + firstbyte;

	return -(int64_t)off;
}

/* Read what the dynamic linker wrote for the module's DTPMOD64 and TPOFF64 relocations. */
static void from_got(struct hp_process *proc, struct hp_loaded *l, struct hp_tls_block *b)
{
	Elf *elf = l->elf->elf;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) && !(b->have_modid && b->have_tpoff)) {
		GElf_Shdr sh, lsh;
		Elf_Scn *symscn;
		Elf_Data *d, *sd;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(symscn = elf_getscn(elf, sh.sh_link)) ||
		    !gelf_getshdr(symscn, &lsh) || lsh.sh_type != SHT_DYNSYM || !(d = elf_getdata(scn, NULL)) ||
		    !(sd = elf_getdata(symscn, NULL)))
			continue;
		for (i = 0; i < d->d_size / sizeof(Elf64_Rela); i++) {
			GElf_Rela r;
			GElf_Sym sym = { 0 };
			uint64_t v;
			uint32_t type;

			if (!gelf_getrela(d, (int)i, &r))
				continue;
			type = (uint32_t)GELF_R_TYPE(r.r_info);
			if (type != R_X86_64_DTPMOD64 && type != R_X86_64_TPOFF64)
				continue;
			if (GELF_R_SYM(r.r_info) && !gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &sym))
				continue;
			if (GELF_R_SYM(r.r_info) && sym.st_shndx == SHN_UNDEF)
				continue;	/* another module's variable */
			if (hp_mem_read(proc->memfd, l->bias + r.r_offset, &v, 8) < 0)
				continue;
			if (type == R_X86_64_DTPMOD64 && !b->have_modid) {
				b->modid = v;
				b->have_modid = true;
			} else if (type == R_X86_64_TPOFF64 && !b->have_tpoff) {
				b->tpoff = (int64_t)(v - sym.st_value - (uint64_t)r.r_addend);
				b->have_tpoff = true;
			}
		}
	}
}

/* Find the module's TLS block (tls.h): executables by glibc's layout, libraries from their GOT. */
int hp_tls_block(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l, struct hp_tls_block *ret)
{
	GElf_Phdr ph, tls = { 0 };
	size_t n = 0, i;
	bool exe, have_tls = false;

	memset(ret, 0, sizeof(*ret));
	exe = l->elf->ehdr.e_type == ET_EXEC;
	if (elf_getphdrnum(l->elf->elf, &n) == 0)
		for (i = 0; i < n; i++) {
			if (!gelf_getphdr(l->elf->elf, (int)i, &ph))
				continue;
			if (ph.p_type == PT_INTERP)
				exe = true;
			if (ph.p_type == PT_TLS) {
				tls = ph;
				have_tls = true;
			}
		}
	if (!have_tls)
		return hp_err(ctx, -HP_E_RELOC, "payload: %s has no thread-local storage segment",
			      l->mod ? l->mod->path : "the target");
	if (exe) {
		ret->have_modid = true;
		ret->modid = 1;
		ret->have_tpoff = true;
		ret->tpoff = exe_tpoff(&tls);
		return 0;
	}
	from_got(proc, l, ret);
	return 0;
}
