/* SPDX-License-Identifier: MIT */
/*
 * The local patch store (docs/agent.md, "Store"): STORE/patches/ID.hpatch,
 * each verified against the trust directory before it is stored, with an
 * optional ID.meta.json beside it (package, version, release time) from a
 * repository index.  Shared by `hotpatch install/list/remove` and hotpatchd.
 */
#ifndef HP_AGENT_STORE_H
#define HP_AGENT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "hotpatch/hotpatch.h"

#define STORE_DIR_DEFAULT "/var/lib/hotpatch"
#define STORE_PATCH_MAX (64u << 20)

struct store_meta {
	char package[128];		/* "" when unknown */
	char version[128];
	time_t release_time;		/* 0: unknown (the manifest's creation time is used) */
	char source[16];		/* "file" or "repository" */
};

struct store_entry {
	char id[HP_ID_MAX + 1];
	char path[4096];
	struct hp_patch *patch;
	const struct hp_manifest *man;
	char build_id[2 * HP_BUILD_ID_MAX + 1];
	char sha256[65];
	uint64_t size;
	struct store_meta meta;
	time_t release_time;		/* meta's, else the manifest's creation time */
};

struct store {
	char dir[4096];
	struct store_entry *e;
	size_t n;
};

/*
 * Verify FILE (signature against trust_dir, format) and store it as
 * DIR/patches/ID.hpatch (atomically), with meta (may be NULL).  Returns 0
 * when stored, 1 when the same bytes were already there, or the verify
 * error.  ret_id gets the patch id.
 */
int store_install_buf(struct hp_ctx *ctx, const char *dir, const void *buf, size_t len, const char *trust_dir,
		      const struct store_meta *meta, char ret_id[HP_ID_MAX + 1]);
int store_install(struct hp_ctx *ctx, const char *dir, const char *file, const char *trust_dir,
		  const struct store_meta *meta, char ret_id[HP_ID_MAX + 1]);

/* Load every stored patch (files that fail to parse are skipped with a message through ctx's log). */
int store_load(struct hp_ctx *ctx, const char *dir, struct store **ret);
void store_free(struct store *s);
const struct store_entry *store_find(const struct store *s, const char *id);

/* Remove a stored patch: -ENOENT if not stored. */
int store_remove(const char *dir, const char *id);

/* Time parse/format: RFC 3339 UTC ("2026-12-06T01:02:03Z"). */
int store_parse_time(const char *s, time_t *ret);
void store_format_time(time_t t, char buf[32]);

/* JSON of one entry (id, level, target, build_id, classification, cves, package, version, ...). */
json_t *store_entry_json(const struct store_entry *e);

/* mkdir -p. */
int store_mkdir_p(const char *dir, unsigned mode);

/* Write buf to path atomically (temp file, fsync, rename) with mode. */
int store_write_atomic(const char *path, const void *buf, size_t len, unsigned mode);

#endif
