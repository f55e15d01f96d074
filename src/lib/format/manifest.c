/* SPDX-License-Identifier: MIT */
/*
 * The patch manifest: a JSON object (docs/patch-format.md).  Parsing is
 * strict about types and bounds; unknown keys are ignored so that newer
 * writers can add fields.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/format/patch.h"

#define bad(ctx, ...) hp_err(ctx, -HP_E_FORMAT, "manifest: " __VA_ARGS__)

void hp_manifest_release(struct hp_manifest *man)
{
	free(man->funcs);
	free(man->cves);
	free(man->new_funcs);
	memset(man, 0, sizeof(*man));
}

static int get_str(struct hp_ctx *ctx, json_t *obj, const char *key, bool required, size_t max, const char **ret)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		if (required)
			return bad(ctx, "missing \"%s\"", key);
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return bad(ctx, "\"%s\" is not a string", key);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return bad(ctx, "\"%s\" contains a NUL byte", key);
	if (json_string_length(v) > max)
		return bad(ctx, "\"%s\" is longer than %zu bytes", key, max);
	*ret = s;
	return 0;
}

static int get_uint(struct hp_ctx *ctx, json_t *obj, const char *key, bool required, uint64_t max,
		    uint64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			return bad(ctx, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return bad(ctx, "\"%s\" must be an integer from 0 to %" PRIu64, key, max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* Addresses are strings ("0x401136") so that no JSON reader rounds them. */
static int get_addr(struct hp_ctx *ctx, json_t *obj, const char *key, uint64_t *ret)
{
	const char *s;
	char *end;
	int r = get_str(ctx, obj, key, true, 20, &s);

	if (r < 0)
		return r;
	if (strncmp(s, "0x", 2) || !s[2])
		return bad(ctx, "\"%s\" must be a hex string like \"0x1139\"", key);
	/* strtoull alone would also take "0x0x10", "0x\t10" and "0x-1": only hex digits may follow "0x". */
	if (strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2))
		return bad(ctx, "\"%s\" is not a valid address: \"%s\"", key, s);
	errno = 0;
	*ret = strtoull(s + 2, &end, 16);
	if (errno || *end)
		return bad(ctx, "\"%s\" is not a valid address: \"%s\"", key, s);
	return 0;
}

static int get_str_array(struct hp_ctx *ctx, json_t *obj, const char *key, size_t maxn, size_t maxlen,
			 const char ***ret, size_t *ret_n)
{
	json_t *a = json_object_get(obj, key), *v;
	const char **out;
	size_t i;

	*ret = NULL;
	*ret_n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return bad(ctx, "\"%s\" is not an array", key);
	if (json_array_size(a) > maxn)
		return bad(ctx, "\"%s\" has more than %zu entries", key, maxn);
	out = calloc(json_array_size(a) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) > maxlen ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			free(out);
			return bad(ctx, "\"%s\"[%zu] is not a string of at most %zu bytes", key, i, maxlen);
		}
		out[i] = json_string_value(v);
	}
	*ret = out;
	*ret_n = json_array_size(a);
	return 0;
}

static bool valid_symbol_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool valid_cve(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 13 || n > 24 || strncmp(s, "CVE-", 4))
		return false;
	for (i = 4; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (s[8] != '-')
		return false;
	for (i = 9; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int parse_funcs(struct hp_ctx *ctx, json_t *json, struct hp_manifest *man)
{
	json_t *a = json_object_get(json, "functions"), *f;
	size_t i;
	int r;

	if (!a || !json_is_array(a))
		return bad(ctx, "\"functions\" is missing or not an array");
	if (json_array_size(a) == 0)
		return bad(ctx, "\"functions\" is empty: the patch replaces nothing");
	if (json_array_size(a) > HP_PATCH_MAX_FUNCS)
		return bad(ctx, "more than %d functions", HP_PATCH_MAX_FUNCS);
	man->funcs = calloc(json_array_size(a), sizeof(*man->funcs));
	if (!man->funcs)
		return -ENOMEM;
	json_array_foreach(a, i, f) {
		struct hp_manifest_func *mf = &man->funcs[man->nfuncs];
		const char *hash;
		uint64_t size = 0;

		if (!json_is_object(f))
			return bad(ctx, "functions[%zu] is not an object", i);
		if ((r = get_str(ctx, f, "name", true, 127, &mf->name)) < 0 ||
		    (r = get_str(ctx, f, "symbol", true, 255, &mf->symbol)) < 0 ||
		    (r = get_addr(ctx, f, "addr", &mf->addr)) < 0 ||
		    (r = get_uint(ctx, f, "size", true, 1u << 24, &size)) < 0 ||
		    (r = get_str(ctx, f, "sha256", true, 64, &hash)) < 0)
			return hp_err_prefix(ctx, r, "functions[%zu]: ", i);
		if (!valid_symbol_name(mf->name) || !valid_symbol_name(mf->symbol))
			return bad(ctx, "functions[%zu]: invalid symbol name", i);
		if (size == 0)
			return bad(ctx, "functions[%zu] (%s): size is 0", i, mf->name);
		if (strlen(hash) != 64 || hp_unhex(hash, mf->sha256, 32) != 32)
			return bad(ctx, "functions[%zu] (%s): sha256 must be 64 hex digits", i, mf->name);
		mf->size = size;
		man->nfuncs++;
	}
	return 0;
}

int hp_manifest_from_json(struct hp_ctx *ctx, json_t *json, struct hp_manifest *man)
{
	json_t *target;
	const char *bid;
	uint64_t v;
	size_t i;
	int r;

	memset(man, 0, sizeof(*man));
	if (!json_is_object(json))
		return bad(ctx, "not a JSON object");
	v = 0;
	if ((r = get_uint(ctx, json, "format", true, 1000, &v)) < 0)
		goto fail;
	if (v != 1) {
		r = bad(ctx, "format %llu is not supported (this hotpatch reads format 1)", (unsigned long long)v);
		goto fail;
	}
	man->format = (unsigned)v;
	if ((r = get_str(ctx, json, "id", true, HP_ID_MAX, &man->id)) < 0)
		goto fail;
	if (!hp_valid_id(man->id)) {
		r = bad(ctx, "id \"%s\" must be 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'", man->id);
		goto fail;
	}
	if ((r = get_str(ctx, json, "arch", true, 32, &man->arch)) < 0)
		goto fail;
	target = json_object_get(json, "target");
	if (!target || !json_is_object(target)) {
		r = bad(ctx, "\"target\" is missing or not an object");
		goto fail;
	}
	if ((r = get_str(ctx, target, "name", true, 255, &man->target_name)) < 0 ||
	    (r = get_str(ctx, target, "build_id", true, 2 * HP_BUILD_ID_MAX, &bid)) < 0)
		goto fail;
	r = hp_unhex(bid, man->build_id, HP_BUILD_ID_MAX);
	if (r < 2) {
		r = bad(ctx, "target build_id \"%s\" is not hex", bid);
		goto fail;
	}
	man->build_id_len = (size_t)r;
	v = 1;
	if ((r = get_uint(ctx, json, "level", true, 65535, &v)) < 0)
		goto fail;
	if (v == 0) {
		r = bad(ctx, "level must be at least 1");
		goto fail;
	}
	man->level = (unsigned)v;
	if ((r = get_str(ctx, json, "classification", false, 32, &man->classification)) < 0)
		goto fail;
	if (!man->classification)
		man->classification = "other";
	if (strcmp(man->classification, "critical") && strcmp(man->classification, "security") &&
	    strcmp(man->classification, "other")) {
		r = bad(ctx, "classification \"%s\" is not critical, security or other", man->classification);
		goto fail;
	}
	if ((r = get_str(ctx, json, "description", false, 4096, &man->description)) < 0 ||
	    (r = get_str(ctx, json, "created", false, 64, &man->created)) < 0 ||
	    (r = get_str(ctx, json, "signer", false, 64, &man->signer)) < 0)
		goto fail;
	if (man->signer) {
		uint8_t tmp[32];

		if (strlen(man->signer) != 64 || hp_unhex(man->signer, tmp, 32) != 32) {
			r = bad(ctx, "signer must be a 64-digit hex key id");
			goto fail;
		}
	}
	if ((r = get_str_array(ctx, json, "cves", 256, 24, &man->cves, &man->ncves)) < 0)
		goto fail;
	for (i = 0; i < man->ncves; i++)
		if (!valid_cve(man->cves[i])) {
			r = bad(ctx, "\"%s\" is not a CVE id (CVE-YYYY-NNNN)", man->cves[i]);
			goto fail;
		}
	if ((r = get_str_array(ctx, json, "new_functions", HP_PATCH_MAX_FUNCS, 255, &man->new_funcs,
			       &man->nnew_funcs)) < 0)
		goto fail;
	if ((r = parse_funcs(ctx, json, man)) < 0)
		goto fail;
	return 0;
fail:
	hp_manifest_release(man);
	return r;
}

json_t *hp_manifest_to_json(const struct hp_manifest *man)
{
	char hex[2 * HP_BUILD_ID_MAX + 1], addr[32];
	json_t *j = json_object(), *t, *a, *n;
	size_t i;

	if (!j)
		return NULL;
	json_object_set_new(j, "format", json_integer(1));
	json_object_set_new(j, "id", json_string(man->id));
	json_object_set_new(j, "arch", json_string(man->arch ? man->arch : "x86_64"));
	t = json_object();
	json_object_set_new(t, "name", json_string(man->target_name ? man->target_name : ""));
	json_object_set_new(t, "build_id", json_string(hp_hex(man->build_id, man->build_id_len, hex)));
	json_object_set_new(j, "target", t);
	json_object_set_new(j, "level", json_integer(man->level));
	json_object_set_new(j, "classification", json_string(man->classification ? man->classification : "other"));
	if (man->description)
		json_object_set_new(j, "description", json_string(man->description));
	a = json_array();
	for (i = 0; i < man->ncves; i++)
		json_array_append_new(a, json_string(man->cves[i]));
	json_object_set_new(j, "cves", a);
	if (man->created)
		json_object_set_new(j, "created", json_string(man->created));
	if (man->signer)
		json_object_set_new(j, "signer", json_string(man->signer));
	a = json_array();
	for (i = 0; i < man->nfuncs; i++) {
		const struct hp_manifest_func *f = &man->funcs[i];
		char h[65];

		n = json_object();
		json_object_set_new(n, "name", json_string(f->name));
		json_object_set_new(n, "symbol", json_string(f->symbol));
		snprintf(addr, sizeof(addr), "0x%" PRIx64, f->addr);
		json_object_set_new(n, "addr", json_string(addr));
		json_object_set_new(n, "size", json_integer((json_int_t)f->size));
		json_object_set_new(n, "sha256", json_string(hp_hex(f->sha256, 32, h)));
		json_array_append_new(a, n);
	}
	json_object_set_new(j, "functions", a);
	a = json_array();
	for (i = 0; i < man->nnew_funcs; i++)
		json_array_append_new(a, json_string(man->new_funcs[i]));
	json_object_set_new(j, "new_functions", a);
	return j;
}
