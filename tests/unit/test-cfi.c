/* SPDX-License-Identifier: MIT */
/*
 * Function entries from the FDE table (src/lib/process/cfi.c), on this test
 * program itself, and on copies of it whose .eh_frame_hdr lies: a count
 * beyond the section, another table encoding, no table at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include "lib/process/cfi.h"
#include "tap.h"

__attribute__((noinline)) int probe(int x);
__attribute__((noinline)) int probe(int x)
{
	int i, s = 0;

	for (i = 0; i < x; i++)
		s += i ^ x;
	return s;
}

static uint64_t bias;

static int first(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	bias = info->dlpi_addr;
	return 1;
}

/* A copy of this program with len bytes at file offset off replaced. */
static struct hp_elf *patched_copy(struct hp_ctx *ctx, const char *self, size_t fsize, uint64_t off,
				   const void *bytes, size_t len)
{
	char path[] = "/tmp/hp-test-cfi.XXXXXX";
	int in = open(self, O_RDONLY), out = mkstemp(path);
	char *buf = malloc(fsize);
	struct hp_elf *e = NULL;

	if (in < 0 || out < 0 || !buf || read(in, buf, fsize) != (ssize_t)fsize)
		return NULL;
	memcpy(buf + off, bytes, len);
	if (write(out, buf, fsize) == (ssize_t)fsize)
		hp_elf_open(ctx, path, &e);
	unlink(path);
	close(in);
	close(out);
	free(buf);
	return e;
}

int main(void)
{
	struct hp_ctx *ctx;
	struct hp_elf *e = NULL, *c;
	uint64_t addr, len = 0, hdr_off = 0;
	char why[256];
	size_t fsize = 0, i;
	int r;

	hp_libelf_init();
	if (hp_ctx_new(&ctx) < 0 || hp_elf_open(ctx, "/proc/self/exe", &e) < 0) {
		printf("1..0 # SKIP cannot open this program\n");
		return 0;
	}
	dl_iterate_phdr(first, NULL);
	addr = (uint64_t)(uintptr_t)probe - bias;
	r = hp_cfi_is_fde_start(e, addr, &len);
	tap_ok(r == 1 && len > 0, "probe() starts an FDE (r=%d, next FDE %llu bytes on)", r, (unsigned long long)len);
	tap_ok(hp_cfi_is_fde_start(e, addr + 1, NULL) == 0, "probe+1 does not");
	tap_ok(hp_cfi_is_fde_start(e, 0, NULL) == 0 && hp_cfi_is_fde_start(e, UINT64_MAX, NULL) == 0,
	       "addresses outside every FDE do not");
	/* with symbols loaded, the symbol table decides */
	hp_elf_load_symbols(ctx, e, NULL);
	tap_ok(hp_function_entry_check(e, "probe", addr, why, sizeof(why)) == 0, "symbol check: probe at its entry");
	r = hp_function_entry_check(e, "probe", addr + 4, why, sizeof(why));
	tap_ok(r == -HP_E_SYMBOL && strstr(why, "has no function probe"), "symbol check: probe+4 refused (%s)", why);

	/* where the header is in the file */
	for (i = 0; i < e->ehdr.e_phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME)
			hdr_off = ph.p_offset;
	}
	elf_rawfile(e->elf, &fsize);
	if (!hdr_off || !fsize) {
		tap_skip("no PT_GNU_EH_FRAME", "hostile tables");
		tap_done();
		return 0;
	}
	{
		uint8_t enc = 0x03;	/* table as udata4: not what linkers write */
		uint8_t count[4] = { 0xff, 0xff, 0xff, 0x7f };

		c = patched_copy(ctx, "/proc/self/exe", fsize, hdr_off + 3, &enc, 1);
		tap_ok(c && hp_cfi_is_fde_start(c, addr, NULL) == -ENOENT, "another table encoding: no table (-ENOENT)");
		hp_elf_close(c);
		/* fde_count (udata4 after the 4-byte eh_frame_ptr) far beyond the section */
		c = patched_copy(ctx, "/proc/self/exe", fsize, hdr_off + 8, count, 4);
		tap_ok(c && hp_cfi_is_fde_start(c, addr, NULL) == -EIO, "a count beyond the section: -EIO");
		hp_elf_close(c);
	}
	hp_elf_close(e);
	hp_ctx_free(ctx);
	tap_done();
	return tap_failed ? 1 : 0;
}
