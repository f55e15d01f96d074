/* SPDX-License-Identifier: MIT */
/*
 * Patches, imported from a repository index (docs/repository.md): the
 * index is read from a file or URL (libcurl: file, http, https), every entry
 * validated, and stored; a relative patch URL becomes absolute against the
 * index URL so agents can fetch it.  The server does not verify the index
 * signature: the agents do, before they install anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "server.h"
#include "shared/util.h"

#define INDEX_MAX (16u << 20)

void api_patches_list(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	long long limit, offset, page, total;
	const char *cve = hs_query_arg(req, "cve");
	char sql[1024];

	hs_paging(req, &limit, &offset, &page);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM patches p%s",
		 cve ? " WHERE p.id IN (SELECT patch_id FROM patch_cves WHERE cve = ?)" : "");
	total = cve ? hs_q_int(req->db, 0, sql, "s", cve) : hs_q_int(req->db, 0, sql, "");
	snprintf(sql, sizeof(sql), "SELECT p.id AS patch_id, p.build_id, p.target, p.package, p.version, p.level,"
		 " p.classification, p.cves, p.sha256, p.size, p.released, p.url, p.imported_at,"
		 " (SELECT COUNT(*) FROM releases r WHERE r.patch_id = p.id) AS releases FROM patches p%s"
		 " ORDER BY p.build_id, p.level, p.id LIMIT ? OFFSET ?",
		 cve ? " WHERE p.id IN (SELECT patch_id FROM patch_cves WHERE cve = ?)" : "");
	if ((cve ? hs_q(req->db, &res, sql, "sii", cve, limit, offset) : hs_q(req->db, &res, sql, "ii", limit, offset)) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "sssssisjsissti", total, page, limit);
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t l = size * n;
	char *np;

	if (b->len + l > INDEX_MAX)
		return 0;
	np = realloc(b->p, b->len + l + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, ptr, l);
	b->len += l;
	b->p[b->len] = 0;
	return l;
}

/* GET url (http, https, file) into memory; err gets the reason. */
static int fetch(const char *url, struct buf *b, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
		return -EIO;
	}
	if (code >= 400) {
		snprintf(err, errlen, "HTTP %ld", code);
		return -EIO;
	}
	return 0;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!strchr("0123456789abcdef", s[n]))
			return false;
	return n >= min && n <= max;
}

static const char *member_str(json_t *e, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(e, a));

	return s ? s : b ? json_string_value(json_object_get(e, b)) : NULL;
}

/* Store one index entry; *why says what is wrong with it. */
static int import_entry(struct hs_conn *c, json_t *e, const char *base, const char **why)
{
	const char *id = member_str(e, "id", "patch_id"), *bid = member_str(e, "build_id", NULL);
	const char *sha = member_str(e, "sha256", NULL), *url = member_str(e, "url", NULL);
	const char *cls = member_str(e, "classification", NULL);
	json_t *cves = json_object_get(e, "cves"), *lv = json_object_get(e, "level"), *cv;
	char abs[4200], *cvs;
	size_t i;
	int r;

	*why = "id";
	if (!id || !hp_valid_id(id))
		return -EINVAL;
	*why = "build_id";
	if (!is_hex(bid, 2, 128))
		return -EINVAL;
	*why = "sha256";
	if (sha && !is_hex(sha, 64, 64))
		return -EINVAL;
	*why = "level";
	if (lv && (!json_is_integer(lv) || json_integer_value(lv) < 0 || json_integer_value(lv) > 1 << 20))
		return -EINVAL;
	*why = "cves";
	if (cves && (!json_is_array(cves) || json_array_size(cves) > 1000))
		return -EINVAL;
	json_array_foreach(cves, i, cv)
		if (!json_is_string(cv) || json_string_length(cv) > 64 || !json_string_length(cv))
			return -EINVAL;
	*why = "url";
	if (url && (strlen(url) > 2048 || strstr(url, "..")))
		return -EINVAL;
	if (url && base && !strstr(url, "://")) {
		const char *slash = strrchr(base, '/');

		snprintf(abs, sizeof(abs), "%.*s/%s", slash ? (int)(slash - base) : 0, base, url);
		url = abs;
	}
	*why = "database";
	cvs = json_dumps(cves ? cves : json_array(), JSON_COMPACT);
	r = hs_q(c, NULL,
		 "INSERT INTO patches (id, build_id, target, package, version, level, classification, cves, sha256, size,"
		 " released, url, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
		 " build_id = excluded.build_id, target = excluded.target, package = excluded.package,"
		 " version = excluded.version, level = excluded.level, classification = excluded.classification,"
		 " cves = excluded.cves, sha256 = excluded.sha256, size = excluded.size, released = excluded.released,"
		 " url = excluded.url", "sssssisssissi", id, bid, member_str(e, "target", NULL) ? member_str(e, "target", NULL) : "",
		 member_str(e, "package", NULL) ? member_str(e, "package", NULL) : "",
		 member_str(e, "version", NULL) ? member_str(e, "version", NULL) : "",
		 lv ? (long long)json_integer_value(lv) : 1LL, cls ? cls : "other", cvs, sha ? sha : "",
		 json_is_integer(json_object_get(e, "size")) ? (long long)json_integer_value(json_object_get(e, "size")) : 0LL,
		 member_str(e, "released", "release_time"), url ? url : "", hs_now());
	free(cvs);
	if (r < 0)
		return r;
	r = hs_q(c, NULL, "DELETE FROM patch_cves WHERE patch_id = ?", "s", id);
	json_array_foreach(cves, i, cv)
		if (r >= 0)
			r = hs_q(c, NULL, "INSERT INTO patch_cves (patch_id, cve) VALUES (?, ?) ON CONFLICT DO NOTHING", "ss",
				 id, json_string_value(cv));
	return r;
}

void api_patches_import(struct hs_req *req)
{
	json_t *b = hs_body_object(req), *index = NULL, *arr, *e;
	const char *url, *why = NULL;
	struct buf data = { 0 };
	char err[CURL_ERROR_SIZE + 64];
	long long before;
	size_t i;
	int r;

	if (!b)
		return;
	if (hs_json_str(b, "url", 2048, &url) < 0) {
		hs_error(req, 400, "invalid", "url must be a string");
		goto out;
	}
	if (url) {
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8) && strncmp(url, "file://", 7)) {
			hs_error(req, 400, "invalid", "url must be http://, https:// or file://");
			goto out;
		}
		if (fetch(url, &data, err, sizeof(err)) < 0) {
			hs_error(req, 400, "invalid", "cannot fetch %s: %s", url, err);
			goto out;
		}
		index = json_loadb(data.p ? data.p : "", data.len, JSON_REJECT_DUPLICATES, NULL);
	} else {
		index = json_incref(json_object_get(b, "index"));
	}
	arr = json_object_get(index, "patches");
	if (!json_is_object(index) || !json_is_array(arr) || json_array_size(arr) > 100000) {
		hs_error(req, 400, "invalid", "the index must be an object with a \"patches\" list");
		goto out;
	}
	before = hs_q_int(req->db, 0, "SELECT COUNT(*) FROM patches", "");
	if (hs_begin(req->db) < 0)
		goto dberr;
	json_array_foreach(arr, i, e) {
		r = json_is_object(e) ? import_entry(req->db, e, url, &why) : (why = "entry", -EINVAL);
		if (r == -EINVAL) {
			hs_rollback(req->db);
			hs_error(req, 400, "invalid", "index entry %zu: field \"%s\" is malformed", i + 1, why);
			goto out;
		}
		if (r < 0)
			goto dberr;
	}
	hs_audit(req, "patches.import", url ? url : "(inline index)", json_pack("{s:I}", "entries", (json_int_t)json_array_size(arr)));
	if (hs_commit(req->db) < 0)
		goto dberr;
	{
		long long after = hs_q_int(req->db, 0, "SELECT COUNT(*) FROM patches", "");

		hs_reply_json(req, 200, json_pack("{s:I,s:I,s:I}", "entries", (json_int_t)json_array_size(arr), "imported",
						  (json_int_t)(after - before), "updated",
						  (json_int_t)((long long)json_array_size(arr) - (after - before))));
	}
	goto out;
dberr:
	hs_rollback(req->db);
	hs_db_error(req);
out:
	free(data.p);
	json_decref(index);
	json_decref(b);
}
