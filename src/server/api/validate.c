/* SPDX-License-Identifier: MIT */
/*
 * Request validation: the functions that take a parsed request (JSON body,
 * URL) and decide whether the server may act on it.  Nothing here touches
 * the database or the HTTP layer, so tests/fuzz/fuzz-request.c runs these
 * on hostile input directly (docs/fuzzing.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "shared/util.h"

#define MAX_STR 4096

/* Member key of o: absent/null allowed unless required; otherwise a string of at most max bytes. */
bool hs_v_str(json_t *o, const char *key, size_t max, bool required)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return !required;
	return json_is_string(v) && json_string_length(v) <= max &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

/* An optional (or required) integer member within [min, max]. */
static bool v_int(json_t *o, const char *key, long long min, long long max, bool required)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return !required;
	return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* An optional boolean member (null allowed). */
static bool v_bool(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return !v || json_is_null(v) || json_is_boolean(v);
}

static bool is_obj(json_t *e)
{
	return json_is_object(e);
}

static bool is_short_str(json_t *e)
{
	return json_is_string(e) && json_string_length(e) <= 256;
}

/* An optional array member with at most max elements, each one ok() accepts. */
static bool v_array(json_t *o, const char *key, size_t max, bool (*ok)(json_t *e))
{
	json_t *v = json_object_get(o, key), *e;
	size_t i;

	if (!v || json_is_null(v))
		return true;
	if (!json_is_array(v) || json_array_size(v) > max)
		return false;
	json_array_foreach(v, i, e)
		if (!ok(e))
			return false;
	return true;
}

/* An optional array member with at most max elements, each an object. */
static bool v_objs(json_t *o, const char *key, size_t max)
{
	return v_array(o, key, max, is_obj);
}

/* An optional array of at most max strings, each at most 256 bytes. */
static bool v_str_array(json_t *o, const char *key, size_t max)
{
	return v_array(o, key, max, is_short_str);
}

/* A string member, or NULL. */
static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Check every field the server reads; *what names the first bad one. */
bool hs_report_valid(json_t *rep, const char **what)
{
	json_t *host, *a, *pol, *e, *p, *t;
	size_t i, j;

	*what = "host";
	host = json_object_get(rep, "host");
	if (!json_is_object(host) || !hs_v_str(host, "host_id", 64, false) || !hs_v_str(host, "hostname", 255, false) ||
	    !hs_v_str(host, "machine_id", 128, false) || !hs_v_str(host, "agent_version", 64, false) ||
	    !hs_v_str(host, "kernel", 128, false) || !hs_v_str(host, "arch", 32, false) || !hs_v_str(host, "time", 64, false))
		return false;
	*what = "assessment";
	a = json_object_get(rep, "assessment");
	if (a && !json_is_null(a)) {
		if (!json_is_object(a) || !hs_v_str(a, "verdict", 32, false) || !v_objs(a, "checks", 1000))
			return false;
		json_array_foreach(json_object_get(a, "checks"), i, e)
			if (!hs_v_str(e, "name", 128, true) || !hs_v_str(e, "result", 32, false) || !hs_v_str(e, "reason", MAX_STR, false))
				return false;
	}
	*what = "policy";
	pol = json_object_get(rep, "policy");
	if (pol && !json_is_null(pol) && (!json_is_object(pol) || !hs_v_str(pol, "name", 128, false) || !v_bool(pol, "paused")))
		return false;
	*what = "patches";
	if (!v_objs(rep, "patches", 10000))
		return false;
	json_array_foreach(json_object_get(rep, "patches"), i, p)
		if (!hs_v_str(p, "patch_id", 64, true) || !hp_valid_id(jstr(p, "patch_id")) || !v_int(p, "level", 0, 1 << 20, false) ||
		    !hs_v_str(p, "state", 32, false) || !hs_v_str(p, "build_id", 128, false) || !v_str_array(p, "cves", 1000))
			return false;
	*what = "processes";
	if (!v_objs(rep, "processes", 20000))
		return false;
	json_array_foreach(json_object_get(rep, "processes"), i, p) {
		if (!v_int(p, "pid", 1, 1 << 30, true) || !hs_v_str(p, "comm", 64, false) || !hs_v_str(p, "exe", MAX_STR, false) ||
		    !hs_v_str(p, "unit", 256, false) || !v_objs(p, "targets", 64))
			return false;
		json_array_foreach(json_object_get(p, "targets"), j, t)
			if (!hs_v_str(t, "path", MAX_STR, false) || !hs_v_str(t, "build_id", 128, false) ||
			    !hs_v_str(t, "patch_id", 64, false) || !v_int(t, "level", 0, 1 << 20, false) ||
			    !hs_v_str(t, "state", 32, true) || !hs_v_str(t, "reason", MAX_STR, false))
				return false;
	}
	*what = "restart_required";
	if (!v_objs(rep, "restart_required", 1000))
		return false;
	json_array_foreach(json_object_get(rep, "restart_required"), i, p)
		if (!hs_v_str(p, "unit", 256, false) || !hs_v_str(p, "reason", MAX_STR, false))
			return false;
	*what = "events";
	if (!v_objs(rep, "events", 10000))
		return false;
	json_array_foreach(json_object_get(rep, "events"), i, e)
		if (!v_int(e, "id", 1, (1LL << 62), true) || !hs_v_str(e, "kind", 32, true) || !hs_v_str(e, "patch_id", 64, false) ||
		    !v_int(e, "pid", 0, 1 << 30, false) || !hs_v_str(e, "time", 64, false) || !hs_v_str(e, "detail", MAX_STR, false))
			return false;
	return true;
}

/* What the report says about the host, reduced to what the reports count (rep must be valid). */
void hs_report_summarise(json_t *rep, struct hs_host_sum *s)
{
	json_t *a = json_object_get(rep, "assessment"), *c, *p, *t;
	size_t i, j;

	memset(s, 0, sizeof(*s));
	s->verdict = a ? jstr(a, "verdict") : NULL;
	if (!s->verdict)
		s->verdict = "unknown";
	json_array_foreach(json_object_get(a, "checks"), i, c) {
		const char *res = jstr(c, "result");

		if (res && !strcmp(res, "not-ok")) {
			snprintf(s->reason, sizeof(s->reason), "%s", jstr(c, "name"));
			break;
		}
	}
	if (!strcmp(s->verdict, "not-eligible") && !s->reason[0])
		snprintf(s->reason, sizeof(s->reason), "not eligible");
	s->paused = json_is_true(json_object_get(json_object_get(rep, "policy"), "paused"));
	json_array_foreach(json_object_get(rep, "patches"), i, p) {
		const char *st = jstr(p, "state");

		if (st && !strcmp(st, "halted"))
			s->halted++;
	}
	json_array_foreach(json_object_get(rep, "processes"), i, p)
		json_array_foreach(json_object_get(p, "targets"), j, t) {
			const char *st = jstr(t, "state");

			if (!strcmp(st, "patched"))
				s->patched++;
			else if (!strcmp(st, "pending"))
				s->pending++;
			else if (!strcmp(st, "failed") || !strcmp(st, "forged") || !strcmp(st, "restart-required"))
				s->bad++;
		}
	s->restart = (long long)json_array_size(json_object_get(rep, "restart_required"));
}

/* A growing byte buffer for the digest below. */
struct dbuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

/* Append n bytes; remembers an allocation failure instead of failing each call. */
static void db_put(struct dbuf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* A type tag and a 64-bit length or value. */
static void db_tag(struct dbuf *b, char tag, unsigned long long n)
{
	unsigned char t[9] = { (unsigned char)tag };

	memcpy(t + 1, &n, 8);
	db_put(b, t, sizeof(t));
}

/*
 * A canonical byte string of a JSON value in the order the agent wrote it:
 * type tag, length, bytes.  No allocation per value (json_dumps with sorted
 * keys of the whole report was 15 % of a check-in's CPU).  Members named in
 * skip (of this object only) are left out.  Key order is not normalised: an
 * agent that reorders keys only costs one rewrite of its rows.
 */
static void digest_value(struct dbuf *b, json_t *v, const char *const *skip)
{
	const char *key;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		db_tag(b, 'o', 0);
		json_object_foreach(v, key, e) {
			bool skipped = false;

			for (const char *const *s = skip; s && *s && !skipped; s++)
				skipped = !strcmp(*s, key);
			if (skipped)
				continue;
			db_tag(b, 'k', strlen(key));
			db_put(b, key, strlen(key));
			if (!strcmp(key, "host") || !strcmp(key, "assessment"))
				digest_value(b, e, (const char *const[]){ "time", NULL });
			else
				digest_value(b, e, NULL);
		}
		db_tag(b, 'e', 0);	/* the end: a skipped member must not change the digest */
		break;
	case JSON_ARRAY:
		db_tag(b, 'a', json_array_size(v));
		json_array_foreach(v, i, e)
			digest_value(b, e, NULL);
		break;
	case JSON_STRING:
		db_tag(b, 's', json_string_length(v));
		db_put(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		db_tag(b, 'i', (unsigned long long)json_integer_value(v));
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		unsigned long long u;

		memcpy(&u, &d, sizeof(u));
		db_tag(b, 'r', u);
		break;
	}
	case JSON_TRUE:
		db_tag(b, 't', 0);
		break;
	case JSON_FALSE:
		db_tag(b, 'f', 0);
		break;
	default:
		db_tag(b, 'n', 0);
		break;
	}
}

/*
 * SHA-256 of the parts of a report that change rarely (all but the events
 * and the two timestamps): an unchanged report rewrites no rows.
 */
void hs_report_digest(json_t *rep, char out[65])
{
	struct dbuf b = { 0 };
	unsigned char d[32];

	digest_value(&b, rep, (const char *const[]){ "events", NULL });
	if (b.oom) {	/* a digest that matches nothing: the rows are rewritten */
		snprintf(out, 65, "oom");
		free(b.p);
		return;
	}
	hp_sha256(b.p, b.len, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	free(b.p);
}

/* The host's state for the reports, from its summary and the rollout. */
const char *hs_host_state(const struct hs_host_sum *s, bool policy_paused, long long outstanding, long long failed,
			  const char **reason)
{
	*reason = NULL;
	if (policy_paused || s->paused)
		return "paused";
	if (!strcmp(s->verdict, "not-eligible")) {
		*reason = s->reason;
		return "not-ready";
	}
	if (outstanding || s->pending)
		return "in-progress";
	if (s->bad || s->halted || failed)
		return "not-up-to-date";
	if (s->patched)
		return "hotpatched";
	return "up-to-date";
}

/* Whether s is one of the NULL-terminated set. */
static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* An optional integer member within [min, max]; null only when null_ok. */
static bool int_ok(json_t *o, const char *key, long long min, long long max, bool null_ok)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return true;
	if (json_is_null(v))
		return null_ok;
	return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* An optional boolean member. */
static bool bool_ok(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return !v || json_is_boolean(v);
}

/* The policy document of docs/policy.md; *what names the first bad field. */
bool hs_policy_valid(json_t *d, const char **what)
{
	static const char *const classes[] = { "critical", "security", "other", NULL };
	static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
	static const char *const restarts[] = { "never", "in-window", NULL };
	json_t *v, *e, *w;
	size_t i, j;
	const char *s;

	*what = "version";
	if (!int_ok(d, "version", 1, 1, false))
		return false;
	*what = "apply_without_restart";
	if (!bool_ok(d, "apply_without_restart"))
		return false;
	*what = "paused";
	if (!bool_ok(d, "paused"))
		return false;
	*what = "auto_classifications";
	v = json_object_get(d, "auto_classifications");
	if (v && (!json_is_array(v) || json_array_size(v) > 3))
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) || !str_in(json_string_value(e), classes))
			return false;
	*what = "deferral_days";
	if (!int_ok(d, "deferral_days", 0, 365, false))
		return false;
	*what = "deadline_days";
	if (!int_ok(d, "deadline_days", 0, 365, true))
		return false;
	*what = "windows";
	v = json_object_get(d, "windows");
	if (v && (!json_is_array(v) || json_array_size(v) > 64))
		return false;
	json_array_foreach(v, i, w) {
		unsigned hh, mm;
		char extra;

		if (!json_is_object(w) || !int_ok(w, "duration_minutes", 1, 7 * 24 * 60, false) ||
		    !json_is_string(json_object_get(w, "start")))
			return false;
		s = json_string_value(json_object_get(w, "start"));
		if (sscanf(s, "%2u:%2u%c", &hh, &mm, &extra) != 2 || hh > 23 || mm > 59 || strlen(s) != 5)
			return false;
		e = json_object_get(w, "days");
		if (e && !json_is_array(e))
			return false;
		json_array_foreach(e, j, v)
			if (!json_is_string(v) || !str_in(json_string_value(v), days))
				return false;
		v = json_object_get(d, "windows");
	}
	*what = "timezone";
	v = json_object_get(d, "timezone");
	if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 64))
		return false;
	*what = "restart";
	v = json_object_get(d, "restart");
	if (v && (!json_is_string(v) || !str_in(json_string_value(v), restarts)))
		return false;
	*what = "never_restart";
	v = json_object_get(d, "never_restart");
	if (v && (!json_is_array(v) || json_array_size(v) > 256))
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) || json_string_length(e) > 256)
			return false;
	*what = "health";
	v = json_object_get(d, "health");
	if (v && (!json_is_object(v) || !int_ok(v, "bake_seconds", 0, 30LL * 86400, false) ||
		  !int_ok(v, "crash_threshold", 1, 1000000, false)))
		return false;
	return true;
}

/* Match url against a pattern; captured {x} segments go into params (pointers into buf). */
bool hs_route_match(const char *pattern, const char *url, char *buf, size_t buflen, const char *params[4])
{
	const char *p = pattern, *u = url;
	size_t o = 0;
	int n = 0;

	while (*p && *u) {
		if (*p == '{') {
			const char *pe = strchr(p, '}'), *ue = strchr(u, '/');
			size_t l = ue ? (size_t)(ue - u) : strlen(u);

			if (!pe || l == 0 || n >= 4 || o + l + 1 > buflen)
				return false;
			memcpy(buf + o, u, l);
			buf[o + l] = 0;
			params[n++] = buf + o;
			o += l + 1;
			p = pe + 1;
			u += l;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	return !*p && !*u;
}

/* Optional string member of an object; -EINVAL when present but not a string of at most max bytes. */
int hs_json_str(json_t *o, const char *key, size_t max, const char **ret)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
		return -EINVAL;
	*ret = json_string_value(v);
	return 1;
}

/* Names of groups, policies, tokens: printable, no slashes (they appear in URLs). */
bool hs_valid_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._-:@", *s)) || n >= 128)
			return false;
	return true;
}
