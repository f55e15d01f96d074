/* SPDX-License-Identifier: MIT */
/*
 * Laying a patch payload out in memory and relocating it: a small static
 * linker for one relocatable object against a running process.
 */
#ifndef HP_LIB_LAYOUT_H
#define HP_LIB_LAYOUT_H

#include "lib/format/patch.h"

#define HP_FIX_SIZE 48

enum hp_seg_kind { HP_SEG_R = 0, HP_SEG_RX, HP_SEG_RW, HP_SEG_MAX };

struct hp_seg {
	uint64_t off, size;		/* within the image, page-aligned */
	int prot;			/* PROT_* */
};

struct hp_image {
	size_t state_size;		/* bytes reserved at offset 0 for the state record */
	struct hp_seg seg[HP_SEG_MAX];
	uint64_t size;			/* whole region, page-aligned */
	uint64_t *sec_off;		/* per payload section */
	uint32_t *got_slot;		/* per symbol: 1 + GOT slot index, 0 = none */
	uint32_t *stub;			/* per symbol: 1 + PLT stub index, 0 = none */
	uint32_t *tls_slot;		/* per TLS symbol: 1 + GOT slot of its thread-pointer offset (initial-exec) */
	uint32_t *tls_pair;		/* per TLS symbol: 1 + first of two GOT slots {module, offset} (global-dynamic) */
	uint32_t ld_pair;		/* 1 + first of two GOT slots {module, 0} (local-dynamic) */
	size_t ngot, nstub;
	uint64_t got_off, stub_off;
	size_t nfix, fix_got;		/* PC32 references to other modules: each gets a GOT slot (fix_got + k) */
	uint64_t fix_off;		/* and a trampoline of HP_FIX_SIZE bytes here, used when out of range */
	bool needs_low;			/* absolute 32-bit relocations: must sit below 2 GiB */
	uint64_t base;			/* runtime address, once linked */
	uint8_t *buf;			/* image bytes, once linked */
};

/* Symbol values that come from the process. */
/* The target's TLS block (tls.h), for thread-local relocations against its variables. */
struct hp_tls_block;

struct hp_link_env {
	uint64_t target_bias;
	/* Resolve an import; for_call allows a PLT stub. */
	int (*import)(void *ud, const char *name, bool for_call, uint64_t *ret);
	/* Optional: runtime address of the new body when a call targets a replaced function (or 0). */
	uint64_t (*redirect)(void *ud, uint64_t target_runtime_addr);
	void *ud;
	/* Optional: where the target's TLS block is; NULL refuses thread-local relocations. */
	int (*tls)(void *ud, struct hp_tls_block *ret);
};

/* Compute sizes and offsets (no addresses yet). */
int hp_image_plan(struct hp_ctx *ctx, const struct hp_patch *p, size_t state_size, struct hp_image *img);
/*
 * Fill the image for a region at base: copy sections, build GOT and stubs,
 * apply relocations.  img->buf and img->base are written only on success;
 * on failure the image is as it was.
 */
int hp_image_link(struct hp_ctx *ctx, struct hp_image *img, const struct hp_patch *p, uint64_t base,
		  const struct hp_link_env *env);
void hp_image_release(struct hp_image *img);

/* Runtime address of a payload symbol (defined in a payload section). */
uint64_t hp_image_sym_addr(const struct hp_image *img, const struct hp_patch *p, size_t sym);

#endif
