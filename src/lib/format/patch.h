/* SPDX-License-Identifier: MIT */
/*
 * Patch files (docs/patch-format.md): an ELF64 relocatable x86-64 object
 * whose allocatable sections are the payload, plus .hotpatch.manifest (JSON)
 * and .hotpatch.sig (a fixed 128-byte signature block).
 */
#ifndef HP_LIB_PATCH_H
#define HP_LIB_PATCH_H

#include <gelf.h>
#include <jansson.h>
#include "lib/core/internal.h"

#define HP_MANIFEST_SECTION ".hotpatch.manifest"
#define HP_SIG_SECTION ".hotpatch.sig"
#define HP_TARGET_SECTION ".hotpatch.target"
#define HP_SIG_SIZE 128
#define HP_SIG_MAGIC "HPSIG\0\0\1"
#define HP_SIG_ALG_NONE 0
#define HP_SIG_ALG_ED25519 1

#define HP_PATCH_MAX_SIZE (64u << 20)
#define HP_MANIFEST_MAX_SIZE (1u << 20)
#define HP_PATCH_MAX_SECTIONS 4096
#define HP_PATCH_MAX_SYMS 65536
#define HP_PATCH_MAX_FUNCS 4096

/* The signature block stored in .hotpatch.sig. */
struct hp_sig_block {
	char magic[8];			/* HP_SIG_MAGIC */
	uint32_t alg;			/* HP_SIG_ALG_* (little-endian) */
	uint32_t reserved;
	uint8_t key_id[32];		/* SHA-256 of the raw 32-byte public key */
	uint8_t sig[64];		/* Ed25519 signature */
	uint8_t pad[16];
} __attribute__((packed));
_Static_assert(sizeof(struct hp_sig_block) == HP_SIG_SIZE, "signature block size");

struct hp_prela {
	uint64_t offset;
	uint32_t type;
	uint32_t sym;			/* index into patch->syms */
	int64_t addend;
};

/* Pseudo section indices for hp_psym.sec. */
#define HP_SEC_UNDEF UINT32_MAX		/* import: resolved in the process */
#define HP_SEC_TARGET (UINT32_MAX - 1)	/* value is a link-time address in the target */
#define HP_SEC_ABS (UINT32_MAX - 2)

struct hp_psec {
	const char *name;
	uint32_t type;			/* SHT_PROGBITS or SHT_NOBITS */
	uint64_t flags;			/* SHF_* */
	uint64_t size;
	uint64_t align;
	const uint8_t *data;		/* NULL for SHT_NOBITS */
	struct hp_prela *relas;
	size_t nrelas;
	uint32_t elf_index;
};

struct hp_psym {
	const char *name;
	uint64_t value;
	uint64_t size;
	uint8_t type, bind;
	uint32_t sec;			/* index into patch->secs, or HP_SEC_* */
};

struct hp_patch {
	uint8_t *buf;
	size_t len;
	Elf *elf;
	json_t *json;
	struct hp_manifest man;
	struct hp_psec *secs;		/* allocatable payload sections only */
	size_t nsecs;
	struct hp_psym *syms;		/* index 0 is the null symbol */
	size_t nsyms;
	struct hp_patch_section *pub;	/* for hp_patch_section() */
	bool has_sig_section;
	uint64_t sig_off;		/* file offset of the signature block */
	struct hp_sig_block sig;
	size_t *func_sym;		/* per manifest function: index into syms */
};

/* Parse a manifest JSON object into man (strings borrowed from json). */
int hp_manifest_from_json(struct hp_ctx *ctx, json_t *json, struct hp_manifest *man);
void hp_manifest_release(struct hp_manifest *man);
/* Build the JSON of a manifest; the caller owns the result. */
json_t *hp_manifest_to_json(const struct hp_manifest *man);

/* ---- writing ---- */

struct hp_wsec {
	const char *name;
	uint32_t type;			/* SHT_PROGBITS / SHT_NOBITS */
	uint64_t flags, align, size;
	const void *data;
	struct hp_prela *relas;		/* sym indexes into the writer's symbols */
	size_t nrelas;
};

struct hp_wsym {
	const char *name;
	uint64_t value, size;
	uint8_t type, bind;
	uint32_t sec;			/* index into wsecs, or HP_SEC_* */
};

struct hp_patch_writer {
	struct hp_wsec *secs;
	size_t nsecs;
	struct hp_wsym *syms;		/* must not include the null symbol */
	size_t nsyms;
	const char *manifest;		/* JSON text */
	const struct hp_sig_block *sig;	/* NULL: an all-zero (unsigned) block */
};

/* Serialise a patch to memory (malloc'ed). */
int hp_patch_write_mem(struct hp_ctx *ctx, const struct hp_patch_writer *w, uint8_t **ret_buf, size_t *ret_len);
/* Serialise and write to path atomically (temp file + rename). */
int hp_patch_write_file(struct hp_ctx *ctx, const struct hp_patch_writer *w, const char *path);
/* Turn a parsed patch back into a writer description (borrowing from p). */
int hp_patch_to_writer(const struct hp_patch *p, struct hp_patch_writer *w);
void hp_patch_writer_release(struct hp_patch_writer *w);

/* Write bytes to a file atomically: temp file in the same directory, fsync, rename. */
int hp_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode);

#endif
