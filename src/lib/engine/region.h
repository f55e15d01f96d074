/* SPDX-License-Identifier: MIT */
/* Choosing where in a process to map a patch. */
#ifndef HP_LIB_REGION_H
#define HP_LIB_REGION_H

#include "lib/process/proc.h"

/*
 * Pick a page-aligned address for size bytes such that every byte of the
 * region is within rel32 reach (±2 GiB) of every byte of [lo, hi), below
 * 2 GiB when low is set, not overlapping any mapping, with a guard page on
 * each side, and clear of the growth room of the stack and the heap.
 * Prefers the closest fit below the target.  -HP_E_NOSPACE if none.
 */
int hp_region_choose(const struct hp_maps *maps, uint64_t lo, uint64_t hi, uint64_t size, bool low,
		     uint64_t *ret_addr);

#endif
