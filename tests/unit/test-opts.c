/* SPDX-License-Identifier: MIT */
/*
 * Options and result structs of another header version (docs/api.md): a
 * smaller options struct is zero-extended, a larger one with unknown
 * non-zero bytes is refused, a result struct is written only up to its sz,
 * and only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/core/internal.h"
#include "tap.h"

/* A caller built against a newer header: one more field the library does not know. */
struct newer_host_opts {
	struct hp_host_opts o;
	uint64_t future;
};

int main(int argc, char **argv)
{
	struct hp_ctx *ctx;
	struct hp_host_opts small, dst;
	struct newer_host_opts big;
	struct hp_host_result *hres = NULL;
	struct hp_apply_result res;
	struct hp_assess_opts ao;
	struct hp_assess *a = NULL;
	const char *fixtures = argc > 1 ? argv[1] : NULL;
	int r;

	if (hp_ctx_new(&ctx) < 0)
		return 1;

	/* hp_opts_copy itself. */
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), NULL, "o"), 0, "NULL options: defaults");
	tap_ok(dst.sz == sizeof(dst) && dst.jobs == 0 && dst.cancel == NULL, "defaults are zero, sz set");

	memset(&small, 0x55, sizeof(small));
	small.sz = offsetof(struct hp_host_opts, timeout_ms);	/* an older header: sz and jobs only */
	small.jobs = 3;
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), &small, "o"), 0, "smaller struct accepted");
	tap_ok(dst.jobs == 3 && dst.timeout_ms == 0 && dst.trust_dir == NULL && dst.cancel == NULL,
	       "smaller struct zero-extended (bytes past its sz are not read)");

	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.jobs = 2;
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), &big, "o"), 0, "larger struct with zero tail accepted");
	tap_ok(dst.jobs == 2 && dst.sz == sizeof(dst), "known fields copied, sz is the library's");
	big.future = 1;
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), &big, "o"), -EINVAL, "larger struct with a set unknown field refused");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "this library knows only") != NULL, "message says why: %s", hp_ctx_errmsg(ctx));
	small.sz = 0;
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), &small, "o"), -EINVAL, "sz 0 refused");
	small.sz = (size_t)1 << 40;
	tap_is_int(hp_opts_copy(ctx, &dst, sizeof(dst), &small, "o"), -EINVAL,
		   "an absurd sz (uninitialised) is refused, not scanned");

	/* Every public entry taking options goes through it. */
	tap_is_int(hp_host_revert(ctx, "some-patch", &big.o, &hres), -EINVAL, "hp_host_revert refuses unknown options");
	tap_ok(hres == NULL, "hp_host_revert: no result on failure");
	memset(&res, 0x77, sizeof(res));
	{
		struct {
			struct hp_apply_opts o;
			unsigned future;
		} newer = { .o = { .sz = sizeof(newer) }, .future = 7 };

		tap_is_int(hp_revert(ctx, 1, "some-patch", &newer.o, &res), -EINVAL, "hp_revert refuses unknown options");
	}
	tap_ok(res.attempts == 0x77777777u, "hp_revert: result untouched on failure");
	res.sz = 0;
	tap_is_int(hp_revert(ctx, 1, "some-patch", NULL, &res), -EINVAL, "hp_revert: result with sz 0 refused");
	tap_is_int(hp_apply(ctx, 1, NULL, NULL, &res), -EINVAL, "hp_apply: result with sz 0 refused before anything");
	res.sz = sizeof(res);
	r = hp_revert(ctx, 1, "not a valid id", NULL, &res);
	tap_is_int(r, -EINVAL, "hp_revert: an invalid id fails");
	tap_ok(res.attempts == 0x77777777u && res.sz == sizeof(res), "hp_revert: result untouched on failure");

	/* hp_result_copy writes no more than the caller's sz. */
	{
		struct hp_apply_result full = { .sz = sizeof(full), .attempts = 5, .level = 9 };
		struct hp_apply_result out;

		memset(&out, 0x11, sizeof(out));
		out.sz = offsetof(struct hp_apply_result, nthreads);	/* an older, shorter result */
		hp_result_copy(&out, &full, sizeof(full));
		tap_ok(out.attempts == 5 && out.nthreads == 0x11111111u && out.level == 0x11111111u,
		       "a shorter result gets only its own fields");
		tap_is_int(out.sz, offsetof(struct hp_apply_result, nthreads), "sz says what was written");
	}

	if (fixtures) {
		struct {
			struct hp_assess_opts o;
			int future;
		} bigger = { .o = { .sz = sizeof(bigger), .flags = HP_ASSESS_NO_STOP } };
		char root[4096];

		snprintf(root, sizeof(root), "%s/debian", fixtures);
		memset(&ao, 0, sizeof(ao));
		ao.sz = offsetof(struct hp_assess_opts, root);	/* older: no root field */
		r = hp_assess_new(ctx, &ao, &a);
		tap_is_int(r, 0, "hp_assess_new: a smaller options struct is accepted");
		hp_assess_free(a);
		a = NULL;
		bigger.o.root = root;
		tap_is_int(hp_assess_new(ctx, &bigger.o, &a), 0, "hp_assess_new: larger struct with zero tail accepted");
		hp_assess_free(a);
		a = NULL;
		bigger.future = 1;
		tap_is_int(hp_assess_new(ctx, &bigger.o, &a), -EINVAL, "hp_assess_new: unknown set field refused");
		tap_ok(a == NULL, "hp_assess_new: nothing returned on failure");
	} else {
		tap_skip("no fixture directory argument", "hp_assess_new options");
	}
	hp_ctx_free(ctx);
	tap_done();
	return tap_failed != 0;
}
