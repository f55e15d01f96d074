/* SPDX-License-Identifier: MIT */
/*
 * Placement of patch regions.  A jump from the target's code to the patch
 * and every rel32 reference from the patch back into the target must fit in
 * a signed 32-bit displacement, so the region lives within 2 GiB of the
 * whole target.  Candidates are the two ends of every gap in the address
 * space; the one nearest the target wins.
 */
#include <errno.h>
#include <string.h>

#include "lib/engine/region.h"

#define REACH ((1ull << 31) - (1ull << 20))	/* rel32 reach, keeping 1 MiB of slack */
#define MIN_ADDR (1ull << 20)			/* stay clear of mmap_min_addr and NULL */
#define MAX_ADDR 0x7ffffffff000ull		/* top of the 47-bit user address space */
#define STACK_ROOM (64ull << 20)		/* growth room kept below [stack] */
#define HEAP_ROOM (256ull << 20)		/* growth room kept above [heap] */

static uint64_t dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Is [a, a+size) allowed? */
static bool ok(const struct hp_maps *maps, uint64_t a, uint64_t size, uint64_t lo, uint64_t hi, bool low)
{
	size_t i;

	if (a < MIN_ADDR || a + size > MAX_ADDR || a + size < a)
		return false;
	if (low && a + size > (1ull << 31))
		return false;
	/* reach: farthest pairs are (a, hi) and (a+size, lo) */
	if (hi > a && hi - a > REACH)
		return false;
	if (a + size > lo && a + size - lo > REACH)
		return false;
	if (lo > a + size && lo - a > REACH)
		return false;
	if (a > hi && a + size - lo > REACH)
		return false;
	for (i = 0; i < maps->n; i++) {
		const struct hp_map *m = &maps->v[i];
		uint64_t s = m->start, e = m->end;

		if (!strcmp(m->path, "[stack]"))
			s = s > STACK_ROOM ? s - STACK_ROOM : 0;
		if (!strcmp(m->path, "[heap]"))
			e += HEAP_ROOM;
		/* one guard page on each side */
		if (a < e + HP_PAGE && a + size + HP_PAGE > s)
			return false;
	}
	return true;
}

int hp_region_choose(const struct hp_maps *maps, uint64_t lo, uint64_t hi, uint64_t size, bool low,
		     uint64_t *ret_addr)
{
	uint64_t best = 0, bestd = UINT64_MAX, prev_end = MIN_ADDR;
	size_t i;

	size = HP_ALIGN_UP(size, HP_PAGE);
	if (!size || hi < lo)
		return -EINVAL;
	for (i = 0; i <= maps->n; i++) {
		uint64_t gs = prev_end, ge = MAX_ADDR;
		uint64_t cand[4];
		int k;

		if (i < maps->n) {
			const struct hp_map *m = &maps->v[i];
			uint64_t s = m->start, e = m->end;

			if (!strcmp(m->path, "[stack]"))
				s = s > STACK_ROOM ? s - STACK_ROOM : 0;
			if (!strcmp(m->path, "[heap]"))
				e += HEAP_ROOM;
			ge = s;
			if (e > prev_end)
				prev_end = e;
		}
		if (ge <= gs || ge - gs < size + 2 * HP_PAGE)
			continue;
		/* top of the gap, bottom of the gap, and the points nearest the target */
		cand[0] = HP_ALIGN_DOWN(ge - size - HP_PAGE, HP_PAGE);
		cand[1] = HP_ALIGN_UP(gs + HP_PAGE, HP_PAGE);
		cand[2] = lo > size + HP_PAGE ? HP_ALIGN_DOWN(lo - size - HP_PAGE, HP_PAGE) : 0;
		cand[3] = HP_ALIGN_UP(hi + HP_PAGE, HP_PAGE);
		for (k = 0; k < 4; k++) {
			uint64_t a = cand[k], d;

			if (a < gs || a + size > ge)
				continue;
			if (!ok(maps, a, size, lo, hi, low))
				continue;
			d = a < lo ? dist(a + size, lo) : dist(a, hi);
			if (d < bestd) {
				bestd = d;
				best = a;
			}
		}
	}
	if (!best)
		return -HP_E_NOSPACE;
	*ret_addr = best;
	return 0;
}
