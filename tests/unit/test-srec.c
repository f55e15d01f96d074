/* SPDX-License-Identifier: MIT */
/*
 * The state record (src/lib/engine/srec.c, docs/state-record.md) decoded
 * from a fixture: records are written into a memfd standing in for the
 * process's memory (the decoder reads through a file descriptor at the
 * record's address, as it reads /proc/PID/mem), with maps text naming the
 * mappings.  A record written as the engine writes it decodes field for
 * field; every field the decoder validates, when corrupted, makes it skip
 * the record instead of acting on it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/engine/srec.h"
#include "lib/process/ptrace.h"
#include "tap.h"

#define BASE 0x10000ull		/* "address" of the first record: its offset in the memfd */
#define BASE2 0x20000ull
#define REGION 0x4000ull
#define FUNCS 2

static const uint8_t jmp[5] = { 0xe9, 0x10, 0x20, 0x30, 0x40 };
static const uint8_t orig[5] = { 0x55, 0x48, 0x89, 0xe5, 0x53 };

struct rec {
	struct hp_srec_hdr h;
	struct hp_srec_func f[FUNCS];
} __attribute__((packed));

/* Why: the record as apply.c lays it out: header, then the function table, in one region. */
static void make(struct rec *r, uint64_t self, const char *id)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	memcpy(r->h.magic, HP_SREC_MAGIC, 8);
	r->h.version = HP_SREC_VERSION;
	r->h.hdr_size = sizeof(r->h);
	r->h.self = self;
	r->h.region_size = REGION;
	r->h.state = HP_STATE_ACTIVE;
	r->h.level = 3;
	r->h.nfuncs = FUNCS;
	r->h.func_size = sizeof(struct hp_srec_func);
	r->h.funcs_off = sizeof(r->h);
	r->h.applied_time = 1700000000;
	r->h.target_bias = 0x555555554000ull;
	r->h.build_id_len = 20;
	for (i = 0; i < 20; i++)
		r->h.build_id[i] = (uint8_t)(0xa0 + i);
	r->h.applier_pid = 4242;
	snprintf(r->h.patch_id, sizeof(r->h.patch_id), "%s", id);
	snprintf(r->h.signer, sizeof(r->h.signer), "%064x", 7);
	snprintf(r->h.target_path, sizeof(r->h.target_path), "/usr/sbin/demo-server");
	r->h.text_start = self + 0x1000;
	r->h.text_end = self + 0x1800;
	for (i = 0; i < FUNCS; i++) {
		struct hp_srec_func *f = &r->f[i];

		f->func_addr = self + 0x2000 + i * 0x100;
		f->func_size = 64;
		f->site = f->func_addr + 4;	/* after endbr64 */
		f->new_addr = self + 0x1000 + i * 0x40;
		f->len = 5;
		memcpy(f->orig, orig, 5);
		memcpy(f->patched, jmp, 5);
		snprintf(f->name, sizeof(f->name), "func_%zu", i);
	}
}

static int memfd;
static struct hp_ctx *ctx;

/* Why: the decoder sees whatever bytes are at the record's address. */
static void put(uint64_t addr, const void *buf, size_t len)
{
	if (pwrite(memfd, buf, len, (off_t)addr) != (ssize_t)len)
		abort();
}

/* Why: each case decodes what the maps text names and returns how many valid records it found. */
static int decode(const char *maps_text, struct hp_srec **recs, size_t *n)
{
	struct hp_maps maps;
	int r;

	if (hp_maps_parse(strdup(maps_text), &maps) < 0)
		return -1000;
	r = hp_srec_find_all(ctx, 1, memfd, &maps, recs, n);
	hp_maps_release(&maps);
	return r;
}

static char one_map[256], two_maps[512];

/* Why: one corrupted field per case: the record must be skipped, not half-read. */
static void expect_skip(const struct rec *good, void (*corrupt)(struct rec *), const char *what)
{
	struct rec bad = *good;
	struct hp_srec *recs = NULL;
	size_t n = 99;
	int r;

	corrupt(&bad);
	put(BASE, &bad, sizeof(bad));
	r = decode(one_map, &recs, &n);
	tap_ok(r == 0 && n == 0, "skipped: %s (r %d, n %zu)", what, r, n);
	hp_srec_free_all(recs, r == 0 ? n : 0);
}

static void c_magic(struct rec *r) { r->h.magic[7] = '2'; }
static void c_version(struct rec *r) { r->h.version = HP_SREC_VERSION + 1; }
static void c_hdr_size(struct rec *r) { r->h.hdr_size = sizeof(r->h) - 8; }
static void c_self(struct rec *r) { r->h.self = BASE + 0x1000; }
static void c_func_size(struct rec *r) { r->h.func_size = 8; }
static void c_nfuncs(struct rec *r) { r->h.nfuncs = HP_SREC_MAX_FUNCS + 1; }
static void c_region_small(struct rec *r) { r->h.region_size = 16; }
static void c_region_huge(struct rec *r) { r->h.region_size = (1ull << 32) + 4096; }
static void c_build_id_len(struct rec *r) { r->h.build_id_len = HP_BUILD_ID_MAX + 1; }
static void c_state_zero(struct rec *r) { r->h.state = 0; }
static void c_state_high(struct rec *r) { r->h.state = HP_STATE_SUPERSEDED + 1; }
static void c_funcs_off_low(struct rec *r) { r->h.funcs_off = 8; }
static void c_funcs_off_out(struct rec *r) { r->h.funcs_off = REGION - sizeof(struct hp_srec_func); }
static void c_id(struct rec *r) { snprintf(r->h.patch_id, sizeof(r->h.patch_id), "../etc"); }
static void c_id_long(struct rec *r) { memset(r->h.patch_id, 'a', sizeof(r->h.patch_id)); }
static void c_len_short(struct rec *r) { r->f[1].len = 4; }
static void c_len_long(struct rec *r) { r->f[0].len = HP_SITE_MAX + 1; }
static void c_site_before(struct rec *r) { r->f[0].site = r->f[0].func_addr - 1; }
static void c_site_before5(struct rec *r) { r->f[0].site = r->f[0].func_addr - 5; }	/* len 5: no short jump */
static void c_site_after(struct rec *r) { r->f[1].site = r->f[1].func_addr + r->f[1].func_size + 12; }

int main(void)
{
	struct rec good, second;
	struct hp_srec *recs = NULL;
	size_t n = 0;
	enum hp_func_state fs;
	int r;

	memfd = memfd_create("srec-fixture", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 0x40000) < 0 || hp_ctx_new(&ctx) < 0)
		return 1;
	snprintf(one_map, sizeof(one_map), "%llx-%llx rw-s 00000000 00:01 77 /memfd:hotpatch:demo-fix-1 (deleted)\n",
		 BASE, BASE + REGION);
	snprintf(two_maps, sizeof(two_maps),
		 "%llx-%llx rw-s 00000000 00:01 77 /memfd:hotpatch:demo-fix-1 (deleted)\n"
		 "%llx-%llx r-xp 00000000 00:01 78 /memfd:hotpatch:demo-fix-2 (deleted)\n",
		 BASE, BASE + REGION, BASE2, BASE2 + REGION);

	make(&good, BASE, "demo-fix-1");
	put(BASE, &good, sizeof(good));
	r = decode(one_map, &recs, &n);
	tap_ok(r == 0 && n == 1, "a record written as the engine writes it decodes (r %d, n %zu)", r, n);
	if (n == 1) {
		const struct hp_srec *d = &recs[0];

		tap_ok(!memcmp(&d->hdr, &good.h, sizeof(good.h)), "header decodes field for field");
		tap_ok(!memcmp(d->funcs, good.f, sizeof(good.f)), "function table decodes field for field");
		tap_is_int(d->map_start, BASE, "map_start is the mapping's start");
		tap_is_str(d->hdr.patch_id, "demo-fix-1", "patch id");
		tap_is_str(d->funcs[1].name, "func_1", "function name");
	} else {
		tap_skip("no record", "field checks");
	}
	hp_srec_free_all(recs, n);

	/* what the function entries hold now */
	put(good.f[0].site, jmp, 5);
	put(good.f[1].site, orig, 5);
	tap_ok(hp_srec_func_state(memfd, &good.f[0], &fs) == 0 && fs == HP_FUNC_PATCHED, "site holds the jump: patched");
	tap_ok(hp_srec_func_state(memfd, &good.f[1], &fs) == 0 && fs == HP_FUNC_ORIGINAL,
	       "site holds the original bytes: original");
	put(good.f[1].site + 2, "\xcc", 1);
	tap_ok(hp_srec_func_state(memfd, &good.f[1], &fs) == 0 && fs == HP_FUNC_FOREIGN, "site holds neither: foreign");

	/* the state field, written alone */
	r = decode(one_map, &recs, &n);
	if (r == 0 && n == 1) {
		tap_is_int(hp_srec_set_state(memfd, &recs[0], HP_STATE_REVERTING), 0, "set_state writes");
		hp_srec_free_all(recs, n);
		r = decode(one_map, &recs, &n);
		tap_ok(r == 0 && n == 1 && recs[0].hdr.state == HP_STATE_REVERTING, "the new state decodes");
		tap_ok(n == 1 && !memcmp(recs[0].hdr.patch_id, good.h.patch_id, sizeof(good.h.patch_id)) &&
			       recs[0].hdr.level == good.h.level,
		       "set_state changed nothing else");
		hp_srec_free_all(recs, n);
	} else {
		tap_skip("no record", "set_state");
	}
	put(BASE, &good, sizeof(good));

	/* unterminated strings are cut inside their fields */
	{
		struct rec u = good;
		char want[128];

		memset(u.f[0].name, 'x', sizeof(u.f[0].name));
		memset(u.h.target_path, '/', sizeof(u.h.target_path));
		put(BASE, &u, sizeof(u));
		r = decode(one_map, &recs, &n);
		memset(want, 'x', sizeof(want) - 1);
		want[sizeof(want) - 1] = 0;
		tap_ok(r == 0 && n == 1 && !strcmp(recs[0].funcs[0].name, want) &&
			       strlen(recs[0].hdr.target_path) == sizeof(u.h.target_path) - 1,
		       "unterminated name and path end inside their fields");
		hp_srec_free_all(recs, r == 0 ? n : 0);
	}

	expect_skip(&good, c_magic, "wrong magic");
	expect_skip(&good, c_version, "unknown version");
	expect_skip(&good, c_hdr_size, "header size");
	expect_skip(&good, c_self, "self is not the mapping's start");
	expect_skip(&good, c_func_size, "function entry size");
	expect_skip(&good, c_nfuncs, "too many functions");
	expect_skip(&good, c_region_small, "region smaller than the header");
	expect_skip(&good, c_region_huge, "region over 4 GiB");
	expect_skip(&good, c_build_id_len, "build-id length");
	expect_skip(&good, c_state_zero, "state 0");
	expect_skip(&good, c_state_high, "state beyond superseded");
	expect_skip(&good, c_funcs_off_low, "function table inside the header");
	expect_skip(&good, c_funcs_off_out, "function table past the region");
	expect_skip(&good, c_id, "patch id with a path in it");
	expect_skip(&good, c_id_long, "patch id filling its field");
	expect_skip(&good, c_len_short, "site shorter than a jump");
	expect_skip(&good, c_len_long, "site longer than HP_SITE_MAX");
	expect_skip(&good, c_site_before, "site before the function");
	expect_skip(&good, c_site_before5, "site 5 bytes before the function without a short jump");
	expect_skip(&good, c_site_after, "site past the function");

	/* which mappings are looked at */
	put(BASE, &good, sizeof(good));
	make(&second, BASE2, "demo-fix-2");
	put(BASE2, &second, sizeof(second));
	r = decode(two_maps, &recs, &n);
	tap_ok(r == 0 && n == 2 && !strcmp(recs[1].hdr.patch_id, "demo-fix-2"), "two hotpatch mappings: two records");
	hp_srec_free_all(recs, r == 0 ? n : 0);
	second.h.magic[0] = 'X';
	put(BASE2, &second, sizeof(second));
	r = decode(two_maps, &recs, &n);
	tap_ok(r == 0 && n == 1 && !strcmp(recs[0].hdr.patch_id, "demo-fix-1"),
	       "an invalid record next to a valid one: only the valid one");
	hp_srec_free_all(recs, r == 0 ? n : 0);
	{
		char text[512];

		snprintf(text, sizeof(text),
			 "%llx-%llx rw-s 00000000 00:01 77 /memfd:other (deleted)\n"
			 "%llx-%llx rw-s 00001000 00:01 78 /memfd:hotpatch:demo-fix-2 (deleted)\n",
			 BASE, BASE + REGION, BASE2, BASE2 + REGION);
		r = decode(text, &recs, &n);
		tap_ok(r == 0 && n == 0, "other memfds and mappings not at offset 0 are not records");
		hp_srec_free_all(recs, r == 0 ? n : 0);
		snprintf(text, sizeof(text), "%llx-%llx rw-s 00000000 00:01 77 /memfd:hotpatch:tiny (deleted)\n", BASE,
			 BASE + 64);
		r = decode(text, &recs, &n);
		tap_ok(r == 0 && n == 0, "a mapping smaller than a header is not a record");
		hp_srec_free_all(recs, r == 0 ? n : 0);
	}
	hp_ctx_free(ctx);
	close(memfd);
	tap_done();
	return tap_failed != 0;
}
