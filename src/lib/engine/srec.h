/* SPDX-License-Identifier: MIT */
/*
 * The state record a patch leaves in the patched process (docs/state-record.md).
 * It sits at the start of the patch's memory region, which is mapped from a
 * memfd named "hotpatch:<id>", so /proc/PID/maps shows
 * "/memfd:hotpatch:<id> (deleted)" and any later tool finds it with no files
 * on the host.
 */
#ifndef HP_LIB_STATE_H
#define HP_LIB_STATE_H

#include "lib/core/internal.h"
#include "lib/process/proc.h"
#include "lib/process/resolve.h"

#define HP_SREC_MAGIC "HPSTATE1"
#define HP_SREC_VERSION 2		/* 2: sealed (flags, mac); 1: before the seal, read as unverified */
#define HP_SREC_MAX_FUNCS 4096
#define HP_SITE_MAX 16
#define HP_MEMFD_PREFIX "hotpatch:"

/* Internal state beyond the public enum: the record of a level that a higher one replaced. */
#define HP_STATE_SUPERSEDED 5

struct hp_srec_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;		/* sizeof(struct hp_srec_hdr) */
	uint64_t self;			/* runtime address of this record */
	uint64_t region_size;		/* bytes mapped from self */
	uint32_t state;			/* enum hp_patch_state or HP_STATE_SUPERSEDED */
	uint32_t level;
	uint32_t nfuncs;
	uint32_t func_size;		/* sizeof(struct hp_srec_func) */
	uint64_t funcs_off;		/* offset of the function array from self */
	int64_t applied_time;		/* seconds since the epoch */
	uint64_t target_bias;
	uint8_t build_id[HP_BUILD_ID_MAX];
	uint32_t build_id_len;
	uint32_t applier_pid;		/* process that was patched (a fork child differs) */
	char patch_id[HP_ID_MAX + 8];
	char signer[72];
	char target_path[256];
	uint64_t text_start, text_end;	/* runtime range of the patch's code */
	uint32_t flags;			/* HP_SREC_F_*; version 2 */
	uint8_t mac[32];		/* HP_SREC_F_SEALED: HMAC-SHA256 with the host's record key */
	uint8_t reserved[28];
} __attribute__((packed));

#define HP_SREC_F_SEALED 1u

struct hp_srec_func {
	uint64_t func_addr;		/* runtime start of the original function */
	uint64_t func_size;
	uint64_t site;			/* where the jump is written (after endbr64) */
	uint64_t new_addr;		/* runtime address of the new body */
	uint8_t len;			/* bytes replaced at site */
	uint8_t pad[7];
	uint8_t orig[HP_SITE_MAX];	/* original bytes at site */
	uint8_t patched[HP_SITE_MAX];	/* bytes hotpatch wrote */
	char name[128];
} __attribute__((packed));

/* A record read from a process. */
struct hp_srec {
	struct hp_srec_hdr hdr;
	struct hp_srec_func *funcs;
	uint64_t map_start;		/* mapping where it was found */
	/* set by hp_srec_check: */
	enum hp_record_trust trust;	/* 0 until checked */
	bool sites_checked;		/* every site is a function entry of the mapped build; orig from its file */
	char why[256];			/* why forged, unverified or unchecked; "" when authentic and checked */
};

void hp_srec_release(struct hp_srec *r);

/*
 * Find the state records in a process: every mapping named
 * /memfd:hotpatch:*, validated (magic, version, self address, sizes).
 * Invalid ones are reported through the log and skipped.
 */
int hp_srec_find_all(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_maps *maps,
		     struct hp_srec **ret_recs, size_t *ret_n);
void hp_srec_free_all(struct hp_srec *recs, size_t n);

/*
 * Regions a patcher mapped and was killed before it wrote anything there
 * (its record header is still all zero): nothing can jump into them, so a
 * later apply removes them.  Stores up to cap regions; returns how many.
 */
size_t hp_srec_find_unwritten(int memfd, const struct hp_maps *maps, uint64_t *addr, uint64_t *size, size_t cap);

/*
 * Tell who wrote each record and whether it may be acted on: its seal
 * against the host's record key (authentic, unverified or forged), then
 * every site against the module mapped there -- a function entry of the
 * build the record names (symbol, or FDE start when stripped), a jump to
 * the record's own code, its region exactly the hotpatch mapping -- with
 * the original bytes replaced by the module file's.  A site that
 * contradicts the module makes the record forged; one that cannot be read
 * leaves sites_checked false.  Only allocation failures are returned.
 */
int hp_srec_check(struct hp_ctx *ctx, struct hp_process *proc, struct hp_srec *recs, size_t n);

/* When the process cannot be read (not root): every record unverified and unchecked, saying why. */
void hp_srec_uncheckable(struct hp_srec *recs, size_t n, const char *why);

/*
 * Seal a record the engine is about to write: flags and mac of hdr, over
 * hdr (state excluded: it changes in place) and its function table.  The
 * key is created (0600, in HOTPATCH_STATE_DIR or /var/lib/hotpatch) on
 * first use; without it the record stays unsealed (debug log) and readers
 * call it unverified.
 */
void hp_srec_seal(struct hp_ctx *ctx, struct hp_srec_hdr *hdr, const struct hp_srec_func *funcs);

/* Per-function state from the bytes at its site. */
int hp_srec_func_state(int memfd, const struct hp_srec_func *f, enum hp_func_state *ret);

/* Write just the state field of a record in the process. */
int hp_srec_set_state(int memfd, const struct hp_srec *r, uint32_t state);

#endif
