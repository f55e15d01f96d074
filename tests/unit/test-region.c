/* SPDX-License-Identifier: MIT */
/* Placement of patch regions: reach, overlap, guard pages, stack/heap room, low memory. */
#include <string.h>

#include "lib/engine/region.h"
#include "tap.h"

static struct hp_maps parse(const char *text)
{
	struct hp_maps m;

	if (hp_maps_parse(strdup(text), &m) < 0)
		memset(&m, 0, sizeof(m));
	return m;
}

static int overlaps(const struct hp_maps *m, uint64_t a, uint64_t size)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (a < m->v[i].end + 4096 && a + size + 4096 > m->v[i].start)
			return 1;
	return 0;
}

int main(void)
{
	static const char pie[] =
		"555555554000-555555555000 r--p 00000000 fe:00 100 /usr/bin/app\n"
		"555555555000-555555556000 r-xp 00001000 fe:00 100 /usr/bin/app\n"
		"555555556000-555555558000 rw-p 00002000 fe:00 100 /usr/bin/app\n"
		"555555558000-555555579000 rw-p 00000000 00:00 0 [heap]\n"
		"7ffff7dd0000-7ffff7f60000 r-xp 00000000 fe:00 200 /usr/lib/libc.so.6\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n";
	static const char nopie[] =
		"00400000-00401000 r--p 00000000 fe:00 100 /usr/bin/app\n"
		"00401000-00402000 r-xp 00001000 fe:00 100 /usr/bin/app\n"
		"00403000-00405000 rw-p 00002000 fe:00 100 /usr/bin/app\n"
		"00405000-00426000 rw-p 00000000 00:00 0 [heap]\n"
		"7ffff7dd0000-7ffff7f60000 r-xp 00000000 fe:00 200 /usr/lib/libc.so.6\n";
	static const char full[] =
		"00100000-7ffffffff000 rw-p 00000000 00:00 0\n";
	struct hp_maps m;
	uint64_t a = 0;
	int r;

	m = parse(pie);
	r = hp_region_choose(&m, 0x555555554000, 0x555555558000, 3 * 4096, false, &a);
	tap_is_int(r, 0, "PIE executable: a place is found");
	tap_ok(a + 3 * 4096 <= 0x555555554000, "it is below the executable");
	tap_ok(0x555555558000 - a < (1ull << 31), "within rel32 reach");
	tap_ok(!overlaps(&m, a, 3 * 4096), "no overlap, guard pages kept");
	tap_is_int(a % 4096, 0, "page aligned");

	r = hp_region_choose(&m, 0x7ffff7dd0000, 0x7ffff7f60000, 4096, false, &a);
	tap_is_int(r, 0, "library: a place is found");
	tap_ok(a + 4096 <= 0x7ffff7dd0000 || a >= 0x7ffff7f60000, "outside the library");
	tap_ok(!(a >= 0x7ffffffde000 - (64ull << 20) && a < 0x7ffffffff000), "clear of the stack growth room");
	hp_maps_release(&m);

	m = parse(nopie);
	r = hp_region_choose(&m, 0x400000, 0x405000, 2 * 4096, true, &a);
	tap_is_int(r, 0, "non-PIE with 32-bit relocations: a place is found");
	tap_ok(a + 2 * 4096 <= (1ull << 31), "below 2 GiB");
	tap_ok(!(a >= 0x405000 && a < 0x426000 + (256ull << 20)), "clear of the heap growth room");
	tap_ok(!overlaps(&m, a, 2 * 4096), "no overlap");
	hp_maps_release(&m);

	m = parse(full);
	r = hp_region_choose(&m, 0x400000, 0x405000, 4096, false, &a);
	tap_is_int(r, -HP_E_NOSPACE, "a full address space is refused");
	hp_maps_release(&m);

	m = parse(pie);
	r = hp_region_choose(&m, 0x555555554000, 0x555555558000, 3ull << 31, false, &a);
	tap_is_int(r, -HP_E_NOSPACE, "a region larger than the reach is refused");
	hp_maps_release(&m);

	{
		static const char *const bad[] = { "zz-1 r-xp 0 0:0 0\n", "1000-0fff r-xp 00000000 00:00 0\n",
						   "1000-2000 r-xp\n", "2000-3000 r--p 0 0:0 0\n1000-2000 r--p 0 0:0 0\n" };
		size_t i;

		for (i = 0; i < 4; i++) {
			struct hp_maps bm;

			tap_ok(hp_maps_parse(strdup(bad[i]), &bm) < 0, "malformed maps line %zu refused", i);
		}
	}
	return tap_exit();
}
