/* SPDX-License-Identifier: MIT */
/*
 * Relocatable objects as the builder sees them: sections, symbols and
 * relocations, with a twin pointer linking each original item to its
 * patched counterpart (the kpatch-style correlation model).
 */
#ifndef HP_BUILD_OBJ_H
#define HP_BUILD_OBJ_H

#include <gelf.h>
#include "lib/internal.h"

enum ob_status { OB_SAME = 0, OB_CHANGED, OB_NEW };

struct ob_sym;

struct ob_rela {
	uint64_t offset;
	uint32_t type;
	int64_t addend;
	struct ob_sym *sym;
};

struct ob_sec {
	size_t index;			/* ELF section index */
	const char *name;
	GElf_Shdr sh;
	const uint8_t *data;		/* NULL for NOBITS */
	struct ob_rela *relas;
	size_t nrelas;
	struct ob_sym *secsym;		/* its STT_SECTION symbol, if any */
	struct ob_sym *primary;		/* the FUNC/OBJECT symbol at offset 0, if any */
	struct ob_sec *twin;
	enum ob_status status;
	bool include;			/* copied into the payload */
	bool emitted;
	size_t out_index;		/* writer symbol index of its section symbol, once emitted */
};

struct ob_sym {
	size_t index;
	const char *name;
	GElf_Sym s;
	uint8_t type, bind;
	struct ob_sec *sec;		/* NULL for undefined/absolute */
	struct ob_sym *twin;
	enum ob_status status;
	/* resolution in the target, for symbols the payload refers to but does not carry */
	bool in_target;
	uint64_t target_addr;
	uint64_t target_size;
	size_t out_index;		/* writer symbol index + 1, 0 = none yet */
};

struct ob_obj {
	char *path;
	int fd;
	Elf *elf;
	const char *file;		/* first STT_FILE name, the translation unit */
	struct ob_sec *secs;		/* indexed by ELF section index */
	size_t nsecs;
	struct ob_sym *syms;		/* indexed by ELF symbol index */
	size_t nsyms;
};

int ob_open(struct hp_ctx *ctx, const char *path, struct ob_obj **ret);
void ob_close(struct ob_obj *o);

/* Is this a code section / an allocated data section we care about? */
bool ob_is_text(const struct ob_sec *s);
bool ob_is_data(const struct ob_sec *s);
bool ob_is_string_sec(const struct ob_sec *s);

/* The symbol (FUNC/OBJECT) defining the bytes a relocation points at, or its section symbol. */
struct ob_sym *ob_find_sym(const struct ob_obj *o, const char *name);

#endif
