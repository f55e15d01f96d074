/* SPDX-License-Identifier: MIT */
/* Contexts, error names and the log callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/internal.h"

static const char *const hp_error_names[HP_E_MAX - HP_ERRNO_BASE] = {
	[HP_E_FORMAT - HP_ERRNO_BASE] = "malformed patch file",
	[HP_E_ARCH - HP_ERRNO_BASE] = "patch is for another architecture",
	[HP_E_NOTARGET - HP_ERRNO_BASE] = "process does not run the patch's target build",
	[HP_E_ORIGBYTES - HP_ERRNO_BASE] = "function bytes differ from what the patch expects",
	[HP_E_SYMBOL - HP_ERRNO_BASE] = "unresolvable symbol",
	[HP_E_RELOC - HP_ERRNO_BASE] = "unsupported relocation",
	[HP_E_BUSY - HP_ERRNO_BASE] = "a thread stayed inside an affected function",
	[HP_E_APPLIED - HP_ERRNO_BASE] = "patch already applied",
	[HP_E_NOTAPPLIED - HP_ERRNO_BASE] = "patch not applied",
	[HP_E_TRACED - HP_ERRNO_BASE] = "process is traced by another program",
	[HP_E_STOPPED - HP_ERRNO_BASE] = "process is stopped",
	[HP_E_EXITED - HP_ERRNO_BASE] = "process exited",
	[HP_E_NOSPACE - HP_ERRNO_BASE] = "no address space near the target",
	[HP_E_TOOSMALL - HP_ERRNO_BASE] = "function too small to redirect",
	[HP_E_STATE - HP_ERRNO_BASE] = "corrupt in-process patch state",
	[HP_E_UNSIGNED - HP_ERRNO_BASE] = "patch is not signed",
	[HP_E_UNKNOWNKEY - HP_ERRNO_BASE] = "patch signed by an untrusted key",
	[HP_E_BADSIG - HP_ERRNO_BASE] = "bad patch signature",
	[HP_E_DOWNGRADE - HP_ERRNO_BASE] = "patch level is not higher than the applied one",
	[HP_E_FOREIGN - HP_ERRNO_BASE] = "code modified by something other than hotpatch",
	[HP_E_BUILD - HP_ERRNO_BASE] = "change cannot be hotpatched",
};

const char *hp_strerror(int err)
{
	static __thread char buf[64];

	if (err < 0)
		err = -err;
	if (err >= HP_ERRNO_BASE && err < HP_E_MAX && hp_error_names[err - HP_ERRNO_BASE])
		return hp_error_names[err - HP_ERRNO_BASE];
	if (err > 0 && err < HP_ERRNO_BASE)
		return strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
	snprintf(buf, sizeof(buf), "unknown error %d", err);
	return buf;
}

int hp_ctx_new(struct hp_ctx **ret_ctx)
{
	struct hp_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->log_max = HP_LOG_WARN;
	*ret_ctx = ctx;
	return 0;
}

void hp_ctx_free(struct hp_ctx *ctx)
{
	free(ctx);
}

void hp_ctx_set_log(struct hp_ctx *ctx, hp_log_fn fn, void *userdata, enum hp_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_ud = userdata;
	ctx->log_max = max_level;
}

const char *hp_ctx_errmsg(const struct hp_ctx *ctx)
{
	return ctx->errmsg;
}

void hp_logv(struct hp_ctx *ctx, enum hp_log_level lvl, const char *fmt, va_list ap)
{
	char buf[1024];

	if (!ctx || !ctx->log_fn || lvl > ctx->log_max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	ctx->log_fn(ctx->log_ud, lvl, buf);
}

void hp_log(struct hp_ctx *ctx, enum hp_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hp_logv(ctx, lvl, fmt, ap);
	va_end(ap);
}

int hp_err(struct hp_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	if (!ctx)
		return code;
	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	va_end(ap);
	hp_log(ctx, HP_LOG_DEBUG, "error: %s", ctx->errmsg);
	return code;
}

int hp_err_prefix(struct hp_ctx *ctx, int code, const char *fmt, ...)
{
	char prefix[256], old[sizeof(ctx->errmsg)];
	va_list ap;

	if (!ctx)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, ctx->errmsg, sizeof(old));
	if (!old[0])
		snprintf(old, sizeof(old), "%s", hp_strerror(code));
	snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s%s", prefix, old);
	return code;
}

/* Why: the CLI, the assessment and the agent name record states the same way. */
const char *hp_patch_state_name(enum hp_patch_state state)
{
	switch (state) {
	case HP_STATE_PREPARED:
		return "prepared";
	case HP_STATE_COMMITTING:
		return "committing";
	case HP_STATE_ACTIVE:
		return "active";
	case HP_STATE_REVERTING:
		return "reverting";
	}
	return "unknown";
}

/* Why: as hp_patch_state_name, for one function's entry. */
const char *hp_func_state_name(enum hp_func_state state)
{
	switch (state) {
	case HP_FUNC_PATCHED:
		return "patched";
	case HP_FUNC_ORIGINAL:
		return "original";
	case HP_FUNC_FOREIGN:
		return "foreign";
	}
	return "unknown";
}

/* Why: as hp_patch_state_name, for who wrote a record (docs/state-record.md, "Forged records"). */
const char *hp_record_trust_name(enum hp_record_trust trust)
{
	switch (trust) {
	case HP_RECORD_AUTHENTIC:
		return "authentic";
	case HP_RECORD_UNVERIFIED:
		return "unverified";
	case HP_RECORD_FORGED:
		return "forged";
	}
	return "unknown";
}

/* Why: one place decides what an options struct of another header version means (internal.h). */
int hp_opts_copy(struct hp_ctx *ctx, void *dst, size_t dst_sz, const void *opts, const char *what)
{
	const uint8_t *src = opts;
	size_t sz, i;

	memset(dst, 0, dst_sz);
	*(size_t *)dst = dst_sz;
	if (!opts)
		return 0;
	memcpy(&sz, opts, sizeof(sz));
	/* an uninitialised sz must not send the check below reading through memory */
	if (sz < sizeof(size_t) || sz > HP_OPTS_MAX_SIZE)
		return hp_err(ctx, -EINVAL, "%s: sz is %zu, not sizeof the struct", what, sz);
	for (i = dst_sz; i < sz; i++)
		if (src[i])
			return hp_err(ctx, -EINVAL,
				      "%s: byte %zu of %zu is set, but this library knows only %zu bytes of the struct",
				      what, i, sz, dst_sz);
	memcpy((uint8_t *)dst + sizeof(size_t), src + sizeof(size_t),
	       (sz < dst_sz ? sz : dst_sz) - sizeof(size_t));
	return 0;
}

/* Why: a result struct of an older header is smaller; the library must not write past it. */
int hp_result_check(struct hp_ctx *ctx, const void *ret, const char *what)
{
	size_t sz;

	if (!ret)
		return hp_err(ctx, -EINVAL, "%s: NULL result", what);
	memcpy(&sz, ret, sizeof(sz));
	if (sz < sizeof(size_t) || sz > HP_OPTS_MAX_SIZE)
		return hp_err(ctx, -EINVAL, "%s: sz is %zu; set it to sizeof the struct", what, sz);
	return 0;
}

/* Why: pairs with hp_result_check: at most the caller's sz bytes, and sz says how many were written. */
void hp_result_copy(void *ret, const void *res, size_t res_sz)
{
	size_t sz;

	memcpy(&sz, ret, sizeof(sz));
	if (sz > res_sz)
		sz = res_sz;
	memcpy((uint8_t *)ret + sizeof(size_t), (const uint8_t *)res + sizeof(size_t), sz - sizeof(size_t));
	memcpy(ret, &sz, sizeof(sz));
}
