/* SPDX-License-Identifier: MIT */
/*
 * Relocatable objects as the builder sees them: sections, symbols and
 * relocations, with a twin pointer linking each original item to its
 * patched counterpart (the kpatch-style correlation model).
 */
#ifndef HP_BUILD_OBJ_H
#define HP_BUILD_OBJ_H

#include <gelf.h>
#include "build.h"
#include "lib/core/internal.h"

enum ob_status { OB_SAME = 0, OB_CHANGED, OB_NEW };

/*
 * What a symbol is, judged from its name and type.  C identifiers cannot
 * contain '.', so every dotted name is the compiler's: numbered statics
 * ("counter.5"), clones ("f.constprop.0", "f.isra.0", "f.part.1"), split
 * cold code ("f.cold"), and private constants ("__func__.2", "CSWTCH.17").
 * Those names are not stable across two compilations, so they are
 * correlated by structure rather than by name.
 */
enum ob_kind {
	OB_K_PLAIN = 0,			/* a name from the source */
	OB_K_COLD,			/* "f.cold": the unlikely part of f, entered only from f */
	OB_K_CLONE,			/* "f.isra.0", "f.constprop.1", "f.part.0", ...: a function of its own */
	OB_K_STATIC,			/* "name.N" writable static (function-scope static, warn-once flag) */
	OB_K_CONST,			/* compiler-private read-only data: carried, compared by content */
};

struct ob_sym;

struct ob_rela {
	uint64_t offset;
	uint32_t type;
	int64_t addend;
	struct ob_sym *sym;
	uint8_t tail;			/* PC-relative field in code: bytes from the field to the instruction's end */
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
	struct ob_sec *parent;		/* a cold part: the section of the function it belongs to */
	struct ob_sec *cold;		/* a function split by the compiler: its cold part */
	bool comdat;			/* member of a COMDAT group (C++ inline/template code) */
	bool replaced;			/* a function whose entry the patch redirects */
	bool verified;			/* checked against the target's bytes */
	const char *why;		/* why it is in the patch (a static string or owned by the builder) */
	bool why_weak;			/* its own source did not change and nothing pinned the cause yet */
	enum hp_build_action action;	/* how that is reported */
	bool include;			/* copied into the payload */
	bool emitted;
	size_t out_index;		/* writer symbol index of its section symbol, once emitted */
};

struct ob_sym {
	size_t index;
	const char *name;
	GElf_Sym s;
	uint8_t type, bind;
	enum ob_kind kind;
	size_t baselen;			/* length of the name up to its first '.' */
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
	bool lto;			/* carries GCC LTO bytecode (.gnu.lto_* sections) */
};

int ob_open(struct hp_ctx *ctx, const char *path, struct ob_obj **ret);
void ob_close(struct ob_obj *o);

/* Is this a code section / an allocated data section we care about? */
bool ob_is_text(const struct ob_sec *s);
bool ob_is_data(const struct ob_sec *s);
bool ob_is_string_sec(const struct ob_sec *s);

/* A symbol by name (not a section or file symbol), or NULL. */
struct ob_sym *ob_find_sym(const struct ob_obj *o, const char *name);

/* The function, object or TLS symbol whose bytes cover offset off of section s, or NULL. */
struct ob_sym *ob_sym_at(const struct ob_obj *o, const struct ob_sec *s, uint64_t off);

/* Offset inside the referenced section that a relocation designates (PC-relative ones carry -4). */
int64_t ob_rela_target_off(const struct ob_rela *r);
bool ob_is_pcrel(uint32_t type);

/* The NUL-terminated string at off of a string section, or NULL. */
const char *ob_string_at(const struct ob_sec *s, int64_t off);

#endif
