/* SPDX-License-Identifier: MIT */
/* The local patch store (see store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "shared/cleanup.h"
#include "shared/util.h"

/* Why: times in the report and the index are RFC 3339 UTC; anything else is refused. */
int store_parse_time(const char *s, time_t *ret)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -EINVAL;
	if (*end == '.') {
		end++;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if (strcmp(end, "Z"))
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

void store_format_time(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Why: a crash mid-write must leave the old file or the new one, never a torn file. */
int store_write_atomic(const char *path, const void *buf, size_t len, unsigned mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = hp_write_all(fd, buf, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int store_mkdir_p(const char *dir, unsigned mode)
{
	char p[4096];
	size_t i;

	hp_strlcpy(p, dir, sizeof(p));
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static json_t *meta_json(const struct store_meta *m)
{
	char t[32];
	json_t *j = json_object();

	if (m->package[0])
		json_object_set_new(j, "package", json_string(m->package));
	if (m->version[0])
		json_object_set_new(j, "version", json_string(m->version));
	if (m->release_time) {
		store_format_time(m->release_time, t);
		json_object_set_new(j, "release_time", json_string(t));
	}
	json_object_set_new(j, "source", json_string(m->source[0] ? m->source : "file"));
	return j;
}

static void meta_from_json(json_t *j, struct store_meta *m)
{
	const char *s;

	memset(m, 0, sizeof(*m));
	if ((s = json_string_value(json_object_get(j, "package"))))
		hp_strlcpy(m->package, s, sizeof(m->package));
	if ((s = json_string_value(json_object_get(j, "version"))))
		hp_strlcpy(m->version, s, sizeof(m->version));
	if ((s = json_string_value(json_object_get(j, "source"))))
		hp_strlcpy(m->source, s, sizeof(m->source));
	store_parse_time(json_string_value(json_object_get(j, "release_time")), &m->release_time);
}

/*
 * Verification happens on our own copy of the bytes, and the same bytes are
 * what gets written: nothing can change between check and store.
 */
int store_install_buf(struct hp_ctx *ctx, const char *dir, const void *buf, size_t len, const char *trust_dir,
		      const struct store_meta *meta, char ret_id[HP_ID_MAX + 1])
{
	struct hp_patch *p = NULL;
	const struct hp_manifest *man;
	_cleanup_free_ char *pdir = NULL, *path = NULL, *mpath = NULL, *old = NULL, *mtext = NULL;
	size_t old_len = 0;
	int r;

	r = hp_patch_load(ctx, buf, len, &p);
	if (r < 0)
		return r;
	r = hp_patch_verify(ctx, p, trust_dir, NULL);
	if (r < 0)
		goto out;
	man = hp_patch_manifest(p);
	if (!hp_valid_id(man->id)) {
		r = -HP_E_FORMAT;
		goto out;
	}
	if (asprintf(&pdir, "%s/patches", dir) < 0 || asprintf(&path, "%s/%s.hpatch", pdir, man->id) < 0 ||
	    asprintf(&mpath, "%s/%s.meta.json", pdir, man->id) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = store_mkdir_p(pdir, 0755);
	if (r < 0)
		goto out;
	hp_strlcpy(ret_id, man->id, HP_ID_MAX + 1);
	if (meta) {
		json_t *mj = meta_json(meta);

		mtext = json_dumps(mj, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(mj);
		if (mtext)
			store_write_atomic(mpath, mtext, strlen(mtext), 0644);
	}
	if (hp_read_file(path, STORE_PATCH_MAX, &old, &old_len) == 0 && old_len == len && !memcmp(old, buf, len)) {
		r = 1;
		goto out;
	}
	r = store_write_atomic(path, buf, len, 0644);
out:
	hp_patch_free(p);
	return r;
}

int store_install(struct hp_ctx *ctx, const char *dir, const char *file, const char *trust_dir,
		  const struct store_meta *meta, char ret_id[HP_ID_MAX + 1])
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = hp_read_file(file, STORE_PATCH_MAX, &buf, &len);
	if (r < 0)
		return r;
	return store_install_buf(ctx, dir, buf, len, trust_dir, meta, ret_id);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct store_entry *)a)->id, ((const struct store_entry *)b)->id);
}

/* The store is re-read whole on every change: it holds tens of patches, not thousands. */
int store_load(struct hp_ctx *ctx, const char *dir, struct store **ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ char *pdir = NULL;
	struct store *s;
	struct dirent *de;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	hp_strlcpy(s->dir, dir, sizeof(s->dir));
	if (asprintf(&pdir, "%s/patches", dir) < 0) {
		free(s);
		return -ENOMEM;
	}
	d = opendir(pdir);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct store_entry *e, *ne;
		_cleanup_free_ char *buf = NULL, *mbuf = NULL;
		char mpath[4200];
		size_t len, mlen;
		uint8_t h[32];
		const void *bytes;

		if (l < 8 || strcmp(de->d_name + l - 7, ".hpatch") || de->d_name[0] == '.')
			continue;
		ne = realloc(s->e, (s->n + 1) * sizeof(*ne));
		if (!ne)
			break;
		s->e = ne;
		e = &s->e[s->n];
		memset(e, 0, sizeof(*e));
		snprintf(e->path, sizeof(e->path), "%s/%s", pdir, de->d_name);
		if (hp_patch_open(ctx, e->path, &e->patch) < 0)
			continue;
		e->man = hp_patch_manifest(e->patch);
		if (!hp_valid_id(e->man->id) || strncmp(de->d_name, e->man->id, l - 7) || strlen(e->man->id) != l - 7) {
			hp_patch_free(e->patch);
			continue;
		}
		hp_strlcpy(e->id, e->man->id, sizeof(e->id));
		hp_hex(e->man->build_id, e->man->build_id_len, e->build_id);
		bytes = hp_patch_bytes(e->patch, &len);
		e->size = len;
		hp_sha256(bytes, len, h);
		hp_hex(h, sizeof(h), e->sha256);
		snprintf(mpath, sizeof(mpath), "%s/%s.meta.json", pdir, e->id);
		if (hp_read_file(mpath, 1 << 16, &mbuf, &mlen) == 0) {
			json_t *j = json_loadb(mbuf, mlen, 0, NULL);

			meta_from_json(j, &e->meta);
			json_decref(j);
		}
		e->release_time = e->meta.release_time;
		if (!e->release_time)
			store_parse_time(e->man->created, &e->release_time);
		s->n++;
	}
	if (s->n)
		qsort(s->e, s->n, sizeof(*s->e), cmp_entry);
	*ret = s;
	return 0;
}

void store_free(struct store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		hp_patch_free(s->e[i].patch);
	free(s->e);
	free(s);
}

const struct store_entry *store_find(const struct store *s, const char *id)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (!strcmp(s->e[i].id, id))
			return &s->e[i];
	return NULL;
}

int store_remove(const char *dir, const char *id)
{
	char path[4200];

	if (!hp_valid_id(id))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/patches/%s.meta.json", dir, id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/patches/%s.hpatch", dir, id);
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

json_t *store_entry_json(const struct store_entry *e)
{
	json_t *j = json_object(), *cves = json_array();
	char t[32];
	size_t i;

	for (i = 0; i < e->man->ncves; i++)
		json_array_append_new(cves, json_string(e->man->cves[i]));
	json_object_set_new(j, "patch_id", json_string(e->id));
	json_object_set_new(j, "level", json_integer(e->man->level));
	json_object_set_new(j, "target", json_string(e->man->target_name ? e->man->target_name : ""));
	json_object_set_new(j, "build_id", json_string(e->build_id));
	json_object_set_new(j, "classification", json_string(e->man->classification ? e->man->classification : "other"));
	json_object_set_new(j, "cves", cves);
	json_object_set_new(j, "package", e->meta.package[0] ? json_string(e->meta.package) : json_null());
	json_object_set_new(j, "version", e->meta.version[0] ? json_string(e->meta.version) : json_null());
	json_object_set_new(j, "sha256", json_string(e->sha256));
	json_object_set_new(j, "size", json_integer((json_int_t)e->size));
	store_format_time(e->release_time, t);
	json_object_set_new(j, "release_time", json_string(t));
	json_object_set_new(j, "signer", e->man->signer ? json_string(e->man->signer) : json_null());
	return j;
}
