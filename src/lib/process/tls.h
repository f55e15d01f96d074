/* SPDX-License-Identifier: MIT */
/*
 * Where a module's thread-local block is, so patch code can use the
 * target's own thread-locals: the module id (for __tls_get_addr) and, for
 * modules with static TLS, the block's offset from the thread pointer.
 */
#ifndef HP_LIB_TLS_H
#define HP_LIB_TLS_H

#include "lib/process/resolve.h"

struct hp_tls_block {
	bool have_modid;
	uint64_t modid;			/* the module's TLS module id */
	bool have_tpoff;
	int64_t tpoff;			/* a variable's address is thread pointer + tpoff + st_value */
};

/*
 * Find the TLS block of a loaded module.  The main executable's is the
 * first block (module 1, right below the thread pointer, as glibc lays it
 * out).  A library's comes from what the dynamic linker already wrote into
 * the module's own GOT: its DTPMOD64 slots give the module id, its TPOFF64
 * slots the offset.  Returns 0 (fields not found stay false) or
 * -HP_E_RELOC when the module has no TLS segment.
 */
int hp_tls_block(struct hp_ctx *ctx, struct hp_process *proc, struct hp_loaded *l, struct hp_tls_block *ret);

#endif
