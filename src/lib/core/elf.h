/* SPDX-License-Identifier: MIT */
/* Reading target ELF objects: build-id, segments, symbols, imports. */
#ifndef HP_LIB_ELF_H
#define HP_LIB_ELF_H

#include <gelf.h>
#include "lib/core/internal.h"

struct hp_sym {
	const char *name;
	uint64_t value;			/* link-time address (st_value) */
	uint64_t size;
	uint8_t type;			/* STT_* */
	uint8_t bind;			/* STB_* */
	uint16_t shndx;
	uint32_t file;			/* index of the STT_FILE group, 0 = none/global */
	bool dynamic;			/* from .dynsym */
	bool hidden_version;		/* .dynsym entry is not the default version */
	const char *version;		/* version name of a .dynsym entry, or NULL */
};

/* An imported symbol: where its GOT slot is and where its PLT stub is. */
struct hp_import {
	const char *name;
	uint64_t got;			/* link-time address of the GOT slot */
	uint64_t plt;			/* link-time address of a PLT stub jumping via got, or 0 */
	uint32_t type;			/* R_X86_64_JUMP_SLOT or R_X86_64_GLOB_DAT */
};

struct hp_load {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;			/* PF_* */
};

struct hp_elf {
	int fd;
	Elf *elf;
	char *name;
	GElf_Ehdr ehdr;
	uint8_t build_id[HP_BUILD_ID_MAX];
	size_t build_id_len;

	struct hp_load *loads;
	size_t nloads;
	uint64_t min_vaddr;		/* page-aligned lowest PT_LOAD address */
	uint64_t max_vaddr;		/* end of highest PT_LOAD */

	/* symbols, loaded by hp_elf_load_symbols() */
	bool symbols_loaded;
	bool dynamic_only;		/* loaded by hp_elf_load_dynamic_symbols: .dynsym only */
	bool has_symtab;		/* full .symtab (here or in a debug file) */
	char *debug_file;		/* separate debug file used for symbols, or NULL */
	struct hp_elf *debug;		/* its handle */
	struct hp_sym *syms;		/* sorted by name, then value */
	size_t nsyms;
	struct hp_sym **by_addr;	/* functions and objects sorted by value */
	size_t nby_addr;
	const char **files;		/* STT_FILE names; files[0] = NULL */
	size_t nfiles;

	struct hp_import *imports;	/* sorted by name */
	size_t nimports;
	bool imports_loaded;
};

/* Open an ELF object from fd (taken over: closed by hp_elf_close). */
int hp_elf_open_fd(struct hp_ctx *ctx, int fd, const char *name, struct hp_elf **ret_elf);
int hp_elf_open(struct hp_ctx *ctx, const char *path, struct hp_elf **ret_elf);
void hp_elf_close(struct hp_elf *e);

/* Read only the GNU build-id of an ELF file; fast, no symbol work. */
int hp_elf_read_build_id_fd(int fd, uint8_t *buf, size_t *ret_len);
/*
 * Its two halves, for the differential fuzz target (tests/fuzz): the pread
 * reader (1 found, 0 none in the note segments, -1 unusual: libelf
 * decides) and libelf's answer (0, or a negative errno).
 */
int hp_elf_build_id_fast_fd(int fd, uint8_t *buf, size_t *ret_len);
int hp_elf_build_id_libelf_fd(int fd, uint8_t *buf, size_t *ret_len);

/*
 * Load symbols: .symtab, else a separate debug file found by build-id under
 * debug_root ("/usr/lib/debug" when NULL) or at debug_file, else .dynsym.
 */
int hp_elf_load_symbols(struct hp_ctx *ctx, struct hp_elf *e, const char *debug_file);
/* Load only .dynsym (exported and imported names): enough for resolving imports. */
int hp_elf_load_dynamic_symbols(struct hp_ctx *ctx, struct hp_elf *e);

/* All symbols named name (a contiguous run in e->syms); returns the count. */
size_t hp_elf_find_syms(const struct hp_elf *e, const char *name, struct hp_sym **ret_first);
/* The function or object symbol covering addr (link-time), or NULL. */
const struct hp_sym *hp_elf_sym_at(const struct hp_elf *e, uint64_t addr);

/* Load imports from .rela.plt/.rela.dyn and locate PLT stubs. */
int hp_elf_load_imports(struct hp_ctx *ctx, struct hp_elf *e);
const struct hp_import *hp_elf_find_import(const struct hp_elf *e, const char *name);

/* Copy len bytes at link-time address vaddr out of the file. */
int hp_elf_read_vaddr(const struct hp_elf *e, uint64_t vaddr, void *buf, size_t len);

/*
 * Are the n bytes at link-time address addr alignment padding (int3, zero
 * bytes, NOPs of any encoding) in which no symbol starts?  A function
 * shorter than a jump can take one over the padding that follows it.
 */
bool hp_elf_padding_after(const struct hp_elf *e, uint64_t addr, size_t n);
/* Are the n bytes before addr alignment padding after the previous symbol (never executed)? */
bool hp_elf_padding_before(const struct hp_elf *e, uint64_t addr, size_t n);

/* Look up the separate debug file for a build-id under root; ret_path is malloc'ed. */
int hp_debug_file_for(const char *root, const uint8_t *bid, size_t bid_len, char **ret_path);

#endif
