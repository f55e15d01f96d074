/* SPDX-License-Identifier: MIT */
/*
 * The static patch repository (docs/repository.md): DIR/patches/ID.hpatch
 * (+ ID.meta.json), DIR/index.json and its detached signature
 * DIR/index.json.sig.  Publishing (`hotpatch repo add/index/sign`) and the
 * client (libcurl; file:// and http(s)://) that hotpatchd uses.
 */
#ifndef HP_AGENT_REPO_H
#define HP_AGENT_REPO_H

#include <stdbool.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "hotpatch/hotpatch.h"
#include "store.h"

#define REPO_SIG_PURPOSE "repository index"
#define REPO_INDEX_MAX (16u << 20)

/* Copy a signed patch into DIR/patches with its metadata (meta may be NULL). */
int repo_add(struct hp_ctx *ctx, const char *dir, const char *file, const struct store_meta *meta,
	     char ret_id[HP_ID_MAX + 1]);
/*
 * (Re)write DIR/index.json from DIR/patches: serial = max(previous + 1,
 * serial_min), valid until now + valid_seconds.  Removes a stale signature.
 */
int repo_index(struct hp_ctx *ctx, const char *dir, unsigned long long serial_min, time_t now,
	       long valid_seconds, unsigned long long *ret_serial);
/* Sign DIR/index.json into DIR/index.json.sig. */
int repo_sign(struct hp_ctx *ctx, const char *dir, const char *key_path);

struct repo_sync_opts {
	const char *url;		/* of index.json */
	const char *state_dir;		/* STATE/repository keeps the accepted index, serial, etag */
	const char *store_dir;
	const char *trust_dir;
	const char *const *build_ids;	/* hex build-ids present on the host */
	size_t nbuild_ids;
	time_t now;
};

struct repo_sync_result {
	unsigned long long serial;	/* of the accepted index */
	bool not_modified;		/* the server said 304 */
	unsigned downloaded;		/* patches stored now */
	unsigned skipped;		/* patches for builds this host does not run */
	unsigned refused;		/* patches refused (hash, size, signature) */
	time_t valid_until;
};

/*
 * Fetch, verify and accept the index, then download and store the patches
 * for builds on the host.  A refused index (bad or missing signature,
 * expired, serial older than the last accepted) returns -HP_E_BADSIG,
 * -ESTALE (expired), -EOVERFLOW... see repo.c; each is logged naming the
 * index and the cause.
 */
int repo_sync(struct hp_ctx *ctx, const struct repo_sync_opts *o, struct repo_sync_result *ret);

/* At most this many entries in an index (a hostile index is bounded). */
#define REPO_INDEX_ENTRIES_MAX 100000

/*
 * Parse an index document (after its signature verified): serial > 0,
 * valid_until, patches (an array of objects); duplicate keys refused.
 * -HP_E_FORMAT otherwise.  *ret is the document (json_decref it).
 */
int repo_index_parse(const char *buf, size_t len, unsigned long long *ret_serial, time_t *ret_until, json_t **ret);

/*
 * Check one index entry (patch_id, url, sha256 as 64 lowercase hex, size
 * 1..STORE_PATCH_MAX when present, build_id as hex when present) and resolve
 * its url against base_url's directory: -EINVAL (incomplete), -EBADR (url
 * unusable: absolute path, "..", too long), else 0 with the url and the
 * most bytes to accept.
 */
int repo_entry_check(json_t *e, const char *base_url, char *url, size_t url_size, size_t *ret_max);

/*
 * Download one patch described by e (patch_id, url relative to base_url's
 * directory or absolute, sha256, size when known), check it, store it.
 * 0 stored, 1 already stored, <0 refused (logged, naming the patch).
 */
int repo_fetch_patch(struct hp_ctx *ctx, const char *base_url, json_t *e, const char *store_dir, const char *trust_dir);

/* libcurl's functions that the agent uses, from libcurl.so.4 loaded on first use (not linked: start-up and RSS). */
struct repo_curl {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	bool ok;
};

/* NULL when libcurl.so.4 cannot be loaded. */
const struct repo_curl *repo_curl(void);

#endif
