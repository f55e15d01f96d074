/* SPDX-License-Identifier: MIT */
/* Helpers of the API handlers: time, secrets, audit, paging, rows as JSON or CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "server.h"
#include "shared/util.h"

long long hs_now(void)
{
	return (long long)time(NULL);
}

void hs_time_str(long long t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Random secret as hex; aborts if the kernel has no randomness (never true on Linux 3.17+). */
void hs_random_hex(char *out, size_t bytes)
{
	unsigned char b[64];

	if (bytes > sizeof(b) || RAND_bytes(b, (int)bytes) != 1)
		abort();
	hp_hex(b, bytes, out);
}

void hs_sha256_hex(const char *s, char out[65])
{
	uint8_t d[32];

	hp_sha256(s, strlen(s), d);
	hp_hex(d, sizeof(d), out);
}

/* Record who changed what; failures to audit are logged, the change stays (it already committed). */
void hs_audit_as(struct hs_conn *c, const char *actor, const char *action, const char *object, json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;

	json_decref(detail);
	if (hs_q(c, NULL, "INSERT INTO audit (time, actor, action, object, detail) VALUES (?, ?, ?, ?, ?)",
		 "issss", hs_now(), actor, action, object ? object : "", d) < 0)
		fprintf(stderr, "hotpatch-server: audit: %s\n", hs_errmsg(c));
	free(d);
}

void hs_audit(struct hs_req *req, const char *action, const char *object, json_t *detail)
{
	hs_audit_as(req->db, req->actor[0] ? req->actor : "anonymous", action, object, detail);
}

void hs_paging(struct hs_req *req, long long *ret_limit, long long *ret_offset, long long *ret_page)
{
	const char *p = hs_query_arg(req, "page"), *pp = hs_query_arg(req, "per_page");
	unsigned long long page = 1, per = 100;

	if (p && (hp_parse_uint(p, 1000000000, &page) < 0 || page < 1))
		page = 1;
	if (pp && (hp_parse_uint(pp, 1000, &per) < 0 || per < 1))
		per = 100;
	if (hs_want_csv(req) && !pp)
		per = 1000000;	/* an export is the whole table */
	*ret_limit = (long long)per;
	*ret_offset = (long long)((page - 1) * per);
	*ret_page = (long long)page;
}

bool hs_want_csv(struct hs_req *req)
{
	const char *f = hs_query_arg(req, "format");

	return f && !strcmp(f, "csv");
}

static json_t *cell_json(const char *v, char type)
{
	char buf[32];

	if (!v)
		return json_null();
	switch (type) {
	case 'i':
		return json_integer(strtoll(v, NULL, 10));
	case 'b':
		return json_boolean(strcmp(v, "0") && strcmp(v, "f") && strcmp(v, "false"));
	case 't':
		hs_time_str(strtoll(v, NULL, 10), buf);
		return json_string(buf);
	case 'j': {
		json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

		return j ? j : json_null();
	}
	default:
		return json_string(v);
	}
}

json_t *hs_rows_json(const struct hs_res *res, const char *types)
{
	json_t *a = json_array();
	int i, j, tl = (int)strlen(types);

	for (i = 0; i < res->nrows; i++) {
		json_t *o = json_object();

		for (j = 0; j < res->ncols; j++)
			json_object_set_new(o, res->names[j], cell_json(hs_get(res, i, j), j < tl ? types[j] : 's'));
		json_array_append_new(a, o);
	}
	return a;
}

/* The first row as an object (NULL when there is none). */
json_t *hs_row_json(const struct hs_res *res, const char *types)
{
	json_t *a = hs_rows_json(res, types), *o = json_incref(json_array_get(a, 0));

	json_decref(a);
	return o;
}

/* One CSV field (RFC 4180); a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
static void csv_field(FILE *f, const char *v, char type)
{
	char buf[32];

	if (!v)
		return;
	if (type == 't') {
		hs_time_str(strtoll(v, NULL, 10), buf);
		v = buf;
	}
	if (type != 'i' && strchr("=+-@", v[0]) && v[0])
		fputc('\'', f);
	if (strpbrk(v, ",\"\r\n")) {
		fputc('"', f);
		for (; *v; v++) {
			if (*v == '"')
				fputc('"', f);
			fputc(*v, f);
		}
		fputc('"', f);
	} else {
		fputs(v, f);
	}
}

char *hs_rows_csv(const struct hs_res *res, const char *types)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i, j, tl = (int)strlen(types);

	if (!f)
		return NULL;
	for (j = 0; j < res->ncols; j++) {
		if (j)
			fputc(',', f);
		csv_field(f, res->names[j], 's');
	}
	fputs("\r\n", f);
	for (i = 0; i < res->nrows; i++) {
		for (j = 0; j < res->ncols; j++) {
			if (j)
				fputc(',', f);
			csv_field(f, hs_get(res, i, j), j < tl ? types[j] : 's');
		}
		fputs("\r\n", f);
	}
	fclose(f);
	return buf;
}

void hs_reply_rows(struct hs_req *req, const struct hs_res *res, const char *types, long long total,
		   long long page, long long per_page)
{
	if (hs_want_csv(req)) {
		req->disposition = "attachment";
		hs_reply_text(req, 200, "text/csv; charset=utf-8", hs_rows_csv(res, types));
		return;
	}
	hs_reply_json(req, 200, json_pack("{s:o,s:I,s:I,s:I}", "items", hs_rows_json(res, types), "total",
					  (json_int_t)total, "page", (json_int_t)page, "per_page", (json_int_t)per_page));
}

