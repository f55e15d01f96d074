/* SPDX-License-Identifier: MIT */
/*
 * The static patch repository (see repo.h and docs/repository.md).  The
 * client defends against the attacks apt and TUF name: a tampered index
 * (Ed25519 signature by a trusted key), a replayed old index (serial lower
 * than the last accepted: rollback), an index frozen in time by a mirror
 * (valid_until in the past), and a tampered patch (sha256 and size from the
 * signed index, then the patch's own signature when it is stored).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "repo.h"
#include "log.h"
#include "shared/cleanup.h"
#include "shared/util.h"

/* A repository accepts only signed patches: an unsigned one would be refused by every agent anyway. */
int repo_add(struct hp_ctx *ctx, const char *dir, const char *file, const struct store_meta *meta,
	     char ret_id[HP_ID_MAX + 1])
{
	_cleanup_free_ char *buf = NULL, *path = NULL, *mpath = NULL, *pdir = NULL;
	struct hp_patch *p = NULL;
	const struct hp_manifest *man;
	size_t len;
	int r;

	r = hp_read_file(file, STORE_PATCH_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = hp_patch_load(ctx, buf, len, &p);
	if (r < 0)
		return r;
	man = hp_patch_manifest(p);
	if (!hp_patch_is_signed(p, NULL)) {
		hp_patch_free(p);
		return -HP_E_UNSIGNED;
	}
	if (!hp_valid_id(man->id)) {
		hp_patch_free(p);
		return -HP_E_FORMAT;
	}
	hp_strlcpy(ret_id, man->id, HP_ID_MAX + 1);
	if (asprintf(&pdir, "%s/patches", dir) < 0 || asprintf(&path, "%s/%s.hpatch", pdir, man->id) < 0 ||
	    asprintf(&mpath, "%s/%s.meta.json", pdir, man->id) < 0) {
		hp_patch_free(p);
		return -ENOMEM;
	}
	hp_patch_free(p);
	if ((r = store_mkdir_p(pdir, 0755)) < 0)
		return r;
	r = store_write_atomic(path, buf, len, 0644);
	if (r < 0)
		return r;
	if (meta) {
		json_t *j = json_object();
		char t[32];
		_cleanup_free_ char *text = NULL;

		if (meta->package[0])
			json_object_set_new(j, "package", json_string(meta->package));
		if (meta->version[0])
			json_object_set_new(j, "version", json_string(meta->version));
		if (meta->release_time) {
			store_format_time(meta->release_time, t);
			json_object_set_new(j, "release_time", json_string(t));
		}
		text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(j);
		if (!text)
			return -ENOMEM;
		r = store_write_atomic(mpath, text, strlen(text), 0644);
	}
	return r;
}

static unsigned long long old_serial(const char *dir)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len;
	json_t *j;
	unsigned long long s = 0;

	if (asprintf(&path, "%s/index.json", dir) < 0 || hp_read_file(path, REPO_INDEX_MAX, &buf, &len) < 0)
		return 0;
	j = json_loadb(buf, len, 0, NULL);
	if (json_is_integer(json_object_get(j, "serial")) && json_integer_value(json_object_get(j, "serial")) > 0)
		s = (unsigned long long)json_integer_value(json_object_get(j, "serial"));
	json_decref(j);
	return s;
}

int repo_index(struct hp_ctx *ctx, const char *dir, unsigned long long serial_min, time_t now,
	       long valid_seconds, unsigned long long *ret_serial)
{
	_cleanup_free_ char *path = NULL, *sig = NULL, *text = NULL;
	struct store *s = NULL;
	unsigned long long serial;
	json_t *j, *arr;
	char t[32];
	size_t i;
	int r;

	r = store_load(ctx, dir, &s);
	if (r < 0)
		return r;
	serial = old_serial(dir) + 1;
	if (serial < serial_min)
		serial = serial_min;
	arr = json_array();
	for (i = 0; i < s->n; i++) {
		json_t *e = store_entry_json(&s->e[i]);
		char url[256];

		snprintf(url, sizeof(url), "patches/%s.hpatch", s->e[i].id);
		json_object_set_new(e, "url", json_string(url));
		json_object_del(e, "signer");
		json_array_append_new(arr, e);
	}
	store_free(s);
	j = json_object();
	json_object_set_new(j, "format", json_string("hotpatch-repository"));
	json_object_set_new(j, "version", json_integer(1));
	json_object_set_new(j, "serial", json_integer((json_int_t)serial));
	store_format_time(now, t);
	json_object_set_new(j, "generated", json_string(t));
	store_format_time(now + valid_seconds, t);
	json_object_set_new(j, "valid_until", json_string(t));
	json_object_set_new(j, "patches", arr);
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!text || asprintf(&path, "%s/index.json", dir) < 0 || asprintf(&sig, "%s/index.json.sig", dir) < 0)
		return -ENOMEM;
	r = store_write_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return r;
	unlink(sig);
	*ret_serial = serial;
	return 0;
}

int repo_sign(struct hp_ctx *ctx, const char *dir, const char *key_path)
{
	_cleanup_free_ char *path = NULL, *spath = NULL, *buf = NULL, *sig = NULL;
	size_t len;
	int r;

	if (asprintf(&path, "%s/index.json", dir) < 0 || asprintf(&spath, "%s/index.json.sig", dir) < 0)
		return -ENOMEM;
	r = hp_read_file(path, REPO_INDEX_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = hp_blob_sign(ctx, key_path, REPO_SIG_PURPOSE, buf, len, &sig);
	if (r < 0)
		return r;
	return store_write_atomic(spath, sig, strlen(sig), 0644);
}

/* ---- client ---- */

struct body {
	char *buf;
	size_t len, max;
	bool too_big;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;
	char *nb;

	if (b->len + n > b->max) {
		b->too_big = true;
		return 0;
	}
	nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = 0;
	return n;
}

struct hdrs {
	char etag[256];
};

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct hdrs *h = ud;
	size_t n = size * nmemb;

	if (n > 6 && !strncasecmp(ptr, "ETag:", 5)) {
		size_t l = n - 5;
		const char *v = ptr + 5;

		while (l && (*v == ' ' || *v == '\t'))
			v++, l--;
		while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
			l--;
		if (l < sizeof(h->etag)) {
			memcpy(h->etag, v, l);
			h->etag[l] = 0;
		}
	}
	return n;
}

/*
 * Why: libcurl is opened on the first fetch, not linked: it pulls some thirty
 * libraries (TLS, Kerberos, LDAP, ...) whose relocation every `hotpatch`
 * command paid at start-up, apply included (issue 15).  Only the repository
 * commands and hotpatchd come here; hotpatchd does not link it either, so
 * that a daemon without a repository or server keeps its RSS small.
 */
static struct repo_curl cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void cu_load(void)
{
	void *dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!dl)
		return;
	/* never dlclose'd: libcurl keeps global state for the life of the process */
	*(void **)&cu.easy_init = dlsym(dl, "curl_easy_init");
	*(void **)&cu.easy_setopt = dlsym(dl, "curl_easy_setopt");
	*(void **)&cu.easy_perform = dlsym(dl, "curl_easy_perform");
	*(void **)&cu.easy_getinfo = dlsym(dl, "curl_easy_getinfo");
	*(void **)&cu.easy_cleanup = dlsym(dl, "curl_easy_cleanup");
	*(void **)&cu.easy_strerror = dlsym(dl, "curl_easy_strerror");
	*(void **)&cu.slist_append = dlsym(dl, "curl_slist_append");
	*(void **)&cu.slist_free_all = dlsym(dl, "curl_slist_free_all");
	cu.ok = cu.easy_init && cu.easy_setopt && cu.easy_perform && cu.easy_getinfo && cu.easy_cleanup &&
		cu.easy_strerror && cu.slist_append && cu.slist_free_all;
}

/* libcurl's functions, loaded on first use; NULL when it cannot be loaded. */
const struct repo_curl *repo_curl(void)
{
	pthread_once(&cu_once, cu_load);
	return cu.ok ? &cu : NULL;
}

/*
 * One GET.  With etag/since, a conditional GET: ret_code 304 and no body
 * when the resource has not changed.  Returns 0 with the HTTP code (file://:
 * 200 or 304), or -EIO/-EFBIG with a logged reason.
 */
static int fetch(const char *url, size_t max, const char *etag, time_t since, struct body *b, long *ret_code,
		 char ret_etag[256], time_t *ret_mtime)
{
	CURL *c;
	struct curl_slist *hl = NULL;
	struct hdrs h = { "" };
	char hdr[300], err[CURL_ERROR_SIZE] = "";
	long code = 0, ft = -1;
	CURLcode cr;

	pthread_once(&cu_once, cu_load);
	if (!cu.ok) {
		alog(LOG_ERR, "repository: cannot fetch %s: libcurl.so.4 cannot be loaded", url);
		return -EIO;
	}
	c = cu.easy_init();
	if (!c)
		return -ENOMEM;
	b->buf = NULL;
	b->len = 0;
	b->max = max;
	b->too_big = false;
	cu.easy_setopt(c, CURLOPT_URL, url);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	cu.easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_FAILONERROR, 0L);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, b);
	cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	cu.easy_setopt(c, CURLOPT_HEADERDATA, &h);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	cu.easy_setopt(c, CURLOPT_FILETIME, 1L);
	cu.easy_setopt(c, CURLOPT_USERAGENT, "hotpatchd/0.1");
	if (etag && etag[0]) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
		hl = cu.slist_append(hl, hdr);
		cu.easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	}
	if (since > 0) {
		cu.easy_setopt(c, CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_IFMODSINCE);
		cu.easy_setopt(c, CURLOPT_TIMEVALUE, (long)since);
	}
	cr = cu.easy_perform(c);
	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	cu.easy_getinfo(c, CURLINFO_FILETIME, &ft);
	if (cr == CURLE_OK && !strncmp(url, "file:", 5)) {
		long unmet = 0;

		cu.easy_getinfo(c, CURLINFO_CONDITION_UNMET, &unmet);
		code = unmet ? 304 : 200;
	} else if (cr == CURLE_OK && code == 200 && since > 0) {
		long unmet = 0;

		cu.easy_getinfo(c, CURLINFO_CONDITION_UNMET, &unmet);
		if (unmet)
			code = 304;
	}
	cu.slist_free_all(hl);
	cu.easy_cleanup(c);
	if (b->too_big) {
		free(b->buf);
		b->buf = NULL;
		alog(LOG_ERR, "repository: %s is larger than %zu bytes: refused", url, max);
		return -EFBIG;
	}
	if (cr != CURLE_OK) {
		free(b->buf);
		b->buf = NULL;
		alog(LOG_ERR, "repository: cannot fetch %s: %s", url, err[0] ? err : cu.easy_strerror(cr));
		return -EIO;
	}
	if (ret_etag)
		hp_strlcpy(ret_etag, h.etag, 256);
	if (ret_mtime)
		*ret_mtime = ft > 0 ? (time_t)ft : 0;
	*ret_code = code;
	return 0;
}

static int state_path(char *buf, size_t size, const char *state_dir, const char *name)
{
	int n = snprintf(buf, size, "%s/repository/%s", state_dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The URL of an index entry: relative to the index's directory unless absolute. */
static int entry_url(const char *index_url, const char *rel, char *out, size_t size)
{
	const char *slash = strrchr(index_url, '/');

	if (strstr(rel, "://"))
		return snprintf(out, size, "%s", rel) < (int)size ? 0 : -ENAMETOOLONG;
	if (!slash || rel[0] == '/' || strstr(rel, ".."))
		return -EINVAL;
	return snprintf(out, size, "%.*s/%s", (int)(slash - index_url), index_url, rel) < (int)size ? 0
												     : -ENAMETOOLONG;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, "0123456789abcdef") == n;
}

int repo_entry_check(json_t *e, const char *base_url, char *url, size_t url_size, size_t *ret_max)
{
	const char *id = json_string_value(json_object_get(e, "patch_id"));
	const char *rel = json_string_value(json_object_get(e, "url"));
	const char *want = json_string_value(json_object_get(e, "sha256"));
	const char *bid = json_string_value(json_object_get(e, "build_id"));
	json_t *sz = json_object_get(e, "size");
	json_int_t size = json_integer_value(sz);

	if (!sz)
		size = STORE_PATCH_MAX;	/* a server assignment names no size: the sha256 decides */
	if (!json_is_object(e) || !id || !rel || !want || !is_hex(want, 64, 64) || (sz && !json_is_integer(sz)) ||
	    size <= 0 || size > (json_int_t)STORE_PATCH_MAX || !hp_valid_id(id) ||
	    (json_object_get(e, "build_id") && (!bid || !is_hex(bid, 2, 128))))
		return -EINVAL;
	*ret_max = (size_t)size;
	return entry_url(base_url, rel, url, url_size) < 0 ? -EBADR : 0;
}

int repo_index_parse(const char *buf, size_t len, unsigned long long *ret_serial, time_t *ret_until, json_t **ret)
{
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL), *arr = json_object_get(j, "patches");
	time_t until;
	size_t i;

	if (!j || !json_is_integer(json_object_get(j, "serial")) || json_integer_value(json_object_get(j, "serial")) <= 0 ||
	    store_parse_time(json_string_value(json_object_get(j, "valid_until")), &until) < 0 || !json_is_array(arr) ||
	    json_array_size(arr) > REPO_INDEX_ENTRIES_MAX) {
		json_decref(j);
		return -HP_E_FORMAT;
	}
	for (i = 0; i < json_array_size(arr); i++)
		if (!json_is_object(json_array_get(arr, i))) {
			json_decref(j);
			return -HP_E_FORMAT;
		}
	*ret_serial = (unsigned long long)json_integer_value(json_object_get(j, "serial"));
	*ret_until = until;
	*ret = j;
	return 0;
}

static bool host_has(const struct repo_sync_opts *o, const char *bid)
{
	size_t i;

	for (i = 0; i < o->nbuild_ids; i++)
		if (!strcmp(o->build_ids[i], bid))
			return true;
	return false;
}

/* Download one entry, check size and sha256 from the signed index, store it (the store verifies its signature). */
static int fetch_patch(struct hp_ctx *ctx, const struct repo_sync_opts *o, json_t *e)
{
	return repo_fetch_patch(ctx, o->url, e, o->store_dir, o->trust_dir);
}

int repo_fetch_patch(struct hp_ctx *ctx, const char *base_url, json_t *e, const char *store_dir, const char *trust_dir)
{
	const char *id = json_string_value(json_object_get(e, "patch_id"));
	const char *rel = json_string_value(json_object_get(e, "url"));
	const char *want = json_string_value(json_object_get(e, "sha256"));
	json_int_t size = json_integer_value(json_object_get(e, "size"));
	struct store_meta meta = { .source = "repository" };
	char url[4096], got[65], sid[HP_ID_MAX + 1];
	uint8_t h[32];
	struct body b;
	long code = 0;
	const char *s;
	int r;

	size_t max;

	r = repo_entry_check(e, base_url, url, sizeof(url), &max);
	if (r == -EINVAL) {
		alog_kv(LOG_ERR, hp_valid_id(id ?: "") ? id : NULL, 0, "repository: index entry '%s' is incomplete: refused",
			id && hp_valid_id(id) ? id : "?");
		return r;
	} else if (r < 0) {
		alog_kv(LOG_ERR, id, 0, "repository: patch %s has an unusable url '%s': refused", id, rel);
		return r;
	}
	size = (json_int_t)max;
	r = fetch(url, (size_t)size, NULL, 0, &b, &code, NULL, NULL);
	if (r < 0)
		return r;
	if (code != 200) {
		free(b.buf);
		alog_kv(LOG_ERR, id, 0, "repository: patch %s: %s answered HTTP %ld", id, url, code);
		return -EIO;
	}
	hp_sha256(b.buf, b.len, h);
	hp_hex(h, sizeof(h), got);
	if ((json_object_get(e, "size") && (json_int_t)b.len != size) || strcmp(got, want)) {
		alog_kv(LOG_ERR, id, 0,
			"repository: patch %s refused: sha256 %s (%zu bytes) does not match the index's %s (%lld bytes): "
			"tampered or corrupt", id, got, b.len, want, (long long)size);
		free(b.buf);
		return -HP_E_BADSIG;
	}
	if ((s = json_string_value(json_object_get(e, "package"))))
		hp_strlcpy(meta.package, s, sizeof(meta.package));
	if ((s = json_string_value(json_object_get(e, "version"))))
		hp_strlcpy(meta.version, s, sizeof(meta.version));
	store_parse_time(json_string_value(json_object_get(e, "release_time")), &meta.release_time);
	r = store_install_buf(ctx, store_dir, b.buf, b.len, trust_dir, &meta, sid);
	free(b.buf);
	if (r < 0) {
		alog_kv(LOG_ERR, id, 0, "repository: patch %s refused: %s", id, hp_ctx_errmsg(ctx));
		return r;
	}
	if (strcmp(sid, id)) {
		alog_kv(LOG_WARNING, id, 0, "repository: index entry %s holds patch %s", id, sid);
	}
	if (r == 0)
		alog_kv(LOG_INFO, sid, 0, "repository: stored patch %s (%zu bytes)", sid, (size_t)size);
	return r;
}

int repo_sync(struct hp_ctx *ctx, const struct repo_sync_opts *o, struct repo_sync_result *ret)
{
	char p_index[4200], p_sig[4200], p_serial[4200], p_etag[4200], p_lm[4200], sigurl[4200], etag[256] = "", key[65];
	_cleanup_free_ char *cached = NULL, *cached_sig = NULL, *serial_text = NULL, *old_etag = NULL, *lm = NULL;
	struct body ib = { 0 }, sb = { 0 };
	struct repo_sync_result res = { 0 };
	unsigned long long last = 0, serial;
	size_t clen = 0, slen = 0, i;
	json_t *j = NULL, *arr;
	time_t mtime = 0, until = 0, since = 0;
	long code = 0;
	int r;

	if (state_path(p_index, sizeof(p_index), o->state_dir, "index.json") < 0 ||
	    state_path(p_sig, sizeof(p_sig), o->state_dir, "index.json.sig") < 0 ||
	    state_path(p_serial, sizeof(p_serial), o->state_dir, "serial") < 0 ||
	    state_path(p_etag, sizeof(p_etag), o->state_dir, "etag") < 0 ||
	    state_path(p_lm, sizeof(p_lm), o->state_dir, "last-modified") < 0 ||
	    snprintf(sigurl, sizeof(sigurl), "%s.sig", o->url) >= (int)sizeof(sigurl))
		return -ENAMETOOLONG;
	{
		char sdir[4200];

		snprintf(sdir, sizeof(sdir), "%s/repository", o->state_dir);
		mkdir(o->state_dir, 0700);
		mkdir(sdir, 0700);
	}
	if (hp_read_file(p_serial, 64, &serial_text, NULL) == 0)
		last = strtoull(serial_text, NULL, 10);
	if (hp_read_file(p_etag, 255, &old_etag, NULL) == 0)
		hp_strlcpy(etag, old_etag, sizeof(etag));
	/* The server's own Last-Modified of the accepted index, never our clock. */
	if (hp_read_file(p_index, REPO_INDEX_MAX, &cached, &clen) == 0 && hp_read_file(p_lm, 64, &lm, NULL) == 0)
		since = (time_t)strtoll(lm, NULL, 10);

	r = fetch(o->url, REPO_INDEX_MAX, cached ? etag : NULL, cached ? since : 0, &ib, &code, etag, &mtime);
	if (r < 0)
		return r;
	if (code == 304 && cached) {
		res.not_modified = true;
		free(ib.buf);
		ib.buf = TAKE_PTR(cached);
		ib.len = clen;
		if (hp_read_file(p_sig, 4096, &cached_sig, &slen) < 0) {
			free(ib.buf);
			return -ENOENT;
		}
		sb.buf = TAKE_PTR(cached_sig);
		sb.len = slen;
	} else if (code != 200) {
		free(ib.buf);
		alog(LOG_ERR, "repository: index %s: HTTP %ld", o->url, code);
		return -EIO;
	} else {
		r = fetch(sigurl, 4096, NULL, 0, &sb, &code, NULL, NULL);
		if (r < 0 || code != 200) {
			if (r == 0)
				free(sb.buf);
			free(ib.buf);
			alog(LOG_ERR, "repository: index %s refused: no signature at %s", o->url, sigurl);
			return -HP_E_UNSIGNED;
		}
	}

	r = hp_blob_verify(ctx, o->trust_dir, REPO_SIG_PURPOSE, ib.buf, ib.len, sb.buf, sb.len, key);
	if (r < 0) {
		alog(LOG_ERR, "repository: index %s refused: %s", o->url, hp_ctx_errmsg(ctx));
		goto out;
	}
	r = repo_index_parse(ib.buf, ib.len, &serial, &until, &j);
	if (r < 0) {
		alog(LOG_ERR, "repository: index %s refused: not a hotpatch repository index (serial, valid_until, patches)",
		     o->url);
		goto out;
	}
	if (until <= o->now) {
		char t[32];

		store_format_time(until, t);
		alog(LOG_ERR, "repository: index %s (serial %llu) refused: expired at %s (valid_until): a stale mirror or a "
		     "freeze attack", o->url, serial, t);
		r = -ESTALE;
		goto out;
	}
	if (serial < last) {
		alog(LOG_ERR, "repository: index %s refused: serial %llu is older than the last accepted serial %llu "
		     "(rollback)", o->url, serial, last);
		r = -ERANGE;
		goto out;
	}
	res.serial = serial;
	res.valid_until = until;
	if (!res.not_modified) {
		char text[32];

		store_write_atomic(p_index, ib.buf, ib.len, 0600);
		store_write_atomic(p_sig, sb.buf, sb.len, 0600);
		store_write_atomic(p_etag, etag, strlen(etag), 0600);
		snprintf(text, sizeof(text), "%lld\n", (long long)mtime);
		store_write_atomic(p_lm, text, strlen(text), 0600);
		snprintf(text, sizeof(text), "%llu\n", serial);
		store_write_atomic(p_serial, text, strlen(text), 0600);
		alog(LOG_INFO, "repository: accepted index %s serial %llu signed by %s", o->url, serial, key);
	} else {
		alog(LOG_DEBUG, "repository: index %s not modified (serial %llu)", o->url, serial);
	}
	arr = json_object_get(j, "patches");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *bid = json_string_value(json_object_get(e, "build_id"));
		const char *id = json_string_value(json_object_get(e, "patch_id"));
		char path[4300];

		if (!bid || !host_has(o, bid)) {
			res.skipped++;
			continue;
		}
		if (id && hp_valid_id(id)) {
			snprintf(path, sizeof(path), "%s/patches/%s.hpatch", o->store_dir, id);
			if (access(path, F_OK) == 0)
				continue;
		}
		if (fetch_patch(ctx, o, e) < 0)
			res.refused++;
		else
			res.downloaded++;
	}
	r = 0;
	*ret = res;
out:
	json_decref(j);
	free(ib.buf);
	free(sb.buf);
	return r;
}
