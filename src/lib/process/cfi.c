/* SPDX-License-Identifier: MIT */
/*
 * Function entries of a build from its call frame information.
 *
 * A stripped build has no symbol for most of its functions, so a manifest
 * address (or a state record's site) naming a place inside a function
 * cannot be refused by a symbol lookup.  The .eh_frame_hdr section that the
 * linker builds for the unwinder is a table, sorted by address, of the
 * first instruction of every FDE (one per function compiled with unwind
 * tables, the default on x86-64), mapped at PT_GNU_EH_FRAME.  It is read
 * straight from the file bytes: no libdw state, so a build shared by the
 * threads of a host sweep stays read-only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/process/cfi.h"

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_datarel_sdata4 0x3b

/* Why: the header's fields have their own encodings; only the size matters to skip them. */
static int enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x02: case 0x0a:
		return 2;
	case 0x03: case 0x0b:
		return 4;
	case 0x04: case 0x0c:
		return 8;
	}
	return -1;
}

/* Why: PT_GNU_EH_FRAME is not one of the PT_LOAD entries struct hp_elf keeps. */
static int find_eh_frame_hdr(const struct hp_elf *e, uint64_t *ret_vaddr, uint64_t *ret_size)
{
	size_t fsize = 0, i;
	const char *raw = elf_rawfile(e->elf, &fsize);

	if (!raw || e->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || e->ehdr.e_phentsize != sizeof(Elf64_Phdr))
		return -ENOENT;
	for (i = 0; i < e->ehdr.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t off = e->ehdr.e_phoff + i * sizeof(ph);

		if (off > fsize || sizeof(ph) > fsize - off)
			return -EIO;
		memcpy(&ph, raw + off, sizeof(ph));
		if (ph.p_type == PT_GNU_EH_FRAME) {
			*ret_vaddr = ph.p_vaddr;
			*ret_size = ph.p_memsz;
			return 0;
		}
	}
	return -ENOENT;
}

int hp_cfi_is_fde_start(const struct hp_elf *e, uint64_t addr, uint64_t *ret_len)
{
	uint8_t h[4];
	uint64_t hdr, hsize, pos, count = 0;
	int32_t ent[2];
	size_t lo, hi;
	int r, s;

	r = find_eh_frame_hdr(e, &hdr, &hsize);
	if (r < 0)
		return r;
	if (hsize < 4 || hp_elf_read_vaddr(e, hdr, h, 4) < 0)
		return -EIO;
	/* version 1; eh_frame_ptr, fde_count, table encodings */
	if (h[0] != 1 || h[2] == DW_EH_PE_omit || h[3] != DW_EH_PE_datarel_sdata4)
		return -ENOENT;
	s = enc_size(h[1]);
	if (s < 0 || enc_size(h[2]) < 0 || (h[2] & 0x70) != 0)
		return -ENOENT;	/* the count must be an absolute number */
	pos = 4 + (uint64_t)s;
	s = enc_size(h[2]);
	if (pos + (uint64_t)s > hsize || hp_elf_read_vaddr(e, hdr + pos, &count, (size_t)s) < 0)
		return -EIO;
	pos += (uint64_t)s;
	if (count > (hsize - pos) / 8)
		return -EIO;
	lo = 0;
	hi = (size_t)count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t start;

		if (hp_elf_read_vaddr(e, hdr + pos + mid * 8, ent, 8) < 0)
			return -EIO;
		start = hdr + (uint64_t)(int64_t)ent[0];
		if (start == addr) {
			if (ret_len) {
				*ret_len = 0;
				if (mid + 1 < count && hp_elf_read_vaddr(e, hdr + pos + (mid + 1) * 8, ent, 8) == 0)
					*ret_len = hdr + (uint64_t)(int64_t)ent[0] - addr;
			}
			return 1;
		}
		if (start < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int hp_function_entry_check(const struct hp_elf *e, const char *name, uint64_t addr, char *why, size_t why_size)
{
	struct hp_sym *s;
	size_t n, k;
	int r;

	n = hp_elf_find_syms(e, name, &s);
	for (k = 0; k < n; k++)
		if (s[k].value == addr && (s[k].type == STT_FUNC || s[k].type == STT_NOTYPE))
			return 0;
	if (e->has_symtab) {
		snprintf(why, why_size, "%s has no function %s at 0x%llx", e->name, name, (unsigned long long)addr);
		return -HP_E_SYMBOL;
	}
	/* Stripped: the name cannot be checked, but a jump is written only where a function starts. */
	r = hp_cfi_is_fde_start(e, addr, NULL);
	if (r == 1)
		return 0;
	if (r == 0)
		snprintf(why, why_size, "0x%llx is not the start of a function in %s (its call frame information "
			 "names none there; it is stripped, so %s cannot be looked up)", (unsigned long long)addr,
			 e->name, name);
	else
		snprintf(why, why_size, "%s is stripped and has no call frame table (.eh_frame_hdr) to tell "
			 "whether 0x%llx is the start of %s", e->name, (unsigned long long)addr, name);
	return -HP_E_SYMBOL;
}
