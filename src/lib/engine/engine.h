/* SPDX-License-Identifier: MIT */
/*
 * Engine entries for callers inside the library (the host sweeps): apply
 * with the signature already verified once per sweep, not once per process,
 * and revert on a process already opened.  Not exported (libhotpatch.map,
 * t0002-abi): the public hp_apply()/hp_revert() always verify.
 *
 * Unlike the public entries, these fill *ret_result on failure too (attempts,
 * pause and total time of the failed try), because the host sweep reports
 * them per process; opts is the library's own struct (hp_opts_copy done).
 */
#ifndef HP_LIB_ENGINE_H
#define HP_LIB_ENGINE_H

#include "lib/core/internal.h"

struct hp_process;

/*
 * hp_apply, with the signature check skipped when verified is set: only for
 * callers that verified this very patch object against opts->trust_dir
 * themselves (the host sweep, before its first process).  proc, when not
 * NULL, is the process already opened (hp_process_open_cached with
 * opts->cache): it is taken over and left closed.
 */
int hp_apply_checked(struct hp_ctx *ctx, pid_t pid, const struct hp_patch *patch, const struct hp_apply_opts *opts,
		     bool verified, struct hp_process *proc, struct hp_apply_result *ret_result);

/* hp_revert, on a process already opened (taken over and left closed), or NULL. */
int hp_revert_opened(struct hp_ctx *ctx, pid_t pid, const char *patch_id, const struct hp_apply_opts *opts,
		     struct hp_process *proc, struct hp_apply_result *ret_result);

#endif
