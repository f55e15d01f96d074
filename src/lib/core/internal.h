/* SPDX-License-Identifier: MIT */
/* Private definitions shared by the pieces of libhotpatch. */
#ifndef HP_LIB_INTERNAL_H
#define HP_LIB_INTERNAL_H

#include <stdarg.h>
#include "hotpatch/hotpatch.h"
#include "shared/cleanup.h"
#include "shared/util.h"

struct hp_ctx {
	hp_log_fn log_fn;
	void *log_ud;
	enum hp_log_level log_max;
	char errmsg[1024];
};

void hp_logv(struct hp_ctx *ctx, enum hp_log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void hp_log(struct hp_ctx *ctx, enum hp_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hp_debug(ctx, ...) hp_log(ctx, HP_LOG_DEBUG, __VA_ARGS__)
#define hp_info(ctx, ...) hp_log(ctx, HP_LOG_INFO, __VA_ARGS__)
#define hp_warn(ctx, ...) hp_log(ctx, HP_LOG_WARN, __VA_ARGS__)

/*
 * Record why an operation failed and return the (negative) code, so that
 * callers write `return hp_err(ctx, -HP_E_BUSY, "pid %d: ...", pid);`.
 * The message is also logged at debug level.
 */
int hp_err(struct hp_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix the current error message with more context ("pid 42: " ...). */
int hp_err_prefix(struct hp_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Options structs, the libbpf way (docs/api.md): every public entry point
 * taking a `const struct hp_x_opts *opts` (first field `size_t sz`) copies it
 * with hp_opts_copy() into a library-sized struct it owns.  opts NULL gives
 * the defaults (all zero); a caller's smaller struct (an older header) is
 * zero-extended; a larger one (a newer header) is accepted only if every
 * byte the library does not know is zero, else -EINVAL: a field the caller
 * set and this library would silently ignore is refused.  sz smaller than
 * the sz field itself is -EINVAL too.  what names the struct in the message.
 */
int hp_opts_copy(struct hp_ctx *ctx, void *dst, size_t dst_sz, const void *opts, const char *what);
/* No options or result struct is this large: a larger sz is garbage, not a newer header. */
#define HP_OPTS_MAX_SIZE 4096
#define HP_OPTS_COPY(ctx, dst, opts) hp_opts_copy(ctx, dst, sizeof(*(dst)), opts, #opts)

/*
 * Result structs the caller allocates carry `size_t sz` (set by the caller to
 * sizeof): the library writes at most sz bytes of res, then sets sz to the
 * bytes written.  -EINVAL when ret is NULL or ret->sz is smaller than sz.
 */
int hp_result_check(struct hp_ctx *ctx, const void *ret, const char *what);
void hp_result_copy(void *ret, const void *res, size_t res_sz);

/* Initialise libelf once per process (thread-safe). */
void hp_libelf_init(void);
/* Width of the field an x86-64 relocation writes: 0 (NONE), 4, 8, or -1 if unsupported. */
int hp_reloc_width(uint32_t type);

#define HP_PAGE 4096ull
#define HP_ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define HP_ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

#endif
