/* SPDX-License-Identifier: MIT */
/*
 * A process that lies about being patched (t2020-forged-record): it maps a
 * memfd named "hotpatch:fake-1" holding a state record made up to look
 * like the engine's -- its own build-id and load bias, a trusted-looking
 * signer, state active -- naming one of its own functions, and prints
 * "ready" with the record's address; then "o N" prints other(N), a
 * function a real patch replaces.  Modes (argv[1]):
 *
 *   seal  version 2, a made-up seal, every site plausible: the real entry
 *         of victim(), the file's bytes as "original", and a jump from the
 *         entry into the record's region written into its own code, so the
 *         code agrees with the record
 *   mid   version 1 (no seal), the site in the middle of victim(), chosen
 *         bytes as "original" (what a revert would write) and the bytes
 *         there now as "patched", so it reads as applied; the function's
 *         name carries an escape sequence (OSC: set the window title)
 *   v1    version 1, plausible as in "seal": what an engine from before
 *         sealed records wrote
 *
 * Layout copied by value from src/lib/engine/srec.h (a test must not
 * depend on the code it tests agreeing with itself).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

struct hdr {
	char magic[8];
	uint32_t version, hdr_size;
	uint64_t self, region_size;
	uint32_t state, level, nfuncs, func_size;
	uint64_t funcs_off;
	int64_t applied_time;
	uint64_t target_bias;
	uint8_t build_id[64];
	uint32_t build_id_len, applier_pid;
	char patch_id[72], signer[72], target_path[256];
	uint64_t text_start, text_end;
	uint32_t flags;
	uint8_t mac[32];
	uint8_t reserved[28];
} __attribute__((packed));

struct func {
	uint64_t func_addr, func_size, site, new_addr;
	uint8_t len, pad[7];
	uint8_t orig[16], patched[16];
	char name[128];
} __attribute__((packed));

_Static_assert(sizeof(struct hdr) == 624, "header layout");
_Static_assert(sizeof(struct func) == 200, "function layout");

__attribute__((noinline)) int victim(int x)
{
	int i, s = 0;

	for (i = 0; i < x; i++)
		s += i * x ^ (s >> 3);
	return s;
}

/* What a real patch replaces (built with -DHP_FIX=1), to show apply is not misled by the fake record. */
static volatile int other_calls;

__attribute__((noinline)) int other(int x)
{
	other_calls++;	/* long enough to hold a jump */
	other_calls += x;
#if HP_FIX == 1
	return x + 100;
#else
	return x + 1;
#endif
}

static struct hdr h;

/* The main program's build-id and load bias, as the engine records them. */
static int self_info(struct dl_phdr_info *info, size_t size, void *data)
{
	int i;

	(void)size;
	(void)data;
	h.target_bias = info->dlpi_addr;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const void *)p;
			const char *desc = p + sizeof(*n) + ((n->n_namesz + 3) & ~3u);

			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(p + sizeof(*n), "GNU", 4) &&
			    n->n_descsz <= sizeof(h.build_id)) {
				memcpy(h.build_id, desc, n->n_descsz);
				h.build_id_len = n->n_descsz;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;	/* the first object is the main program */
}

static void write_code(uint64_t addr, const uint8_t *bytes, size_t n)
{
	uintptr_t page = addr & ~(uintptr_t)4095;

	if (mprotect((void *)page, 8192, PROT_READ | PROT_WRITE | PROT_EXEC) < 0) {
		perror("mprotect");
		exit(1);
	}
	memcpy((void *)addr, bytes, n);
	mprotect((void *)page, 8192, PROT_READ | PROT_EXEC);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "seal";
	static struct func f;
	uint8_t *entry = (uint8_t *)(uintptr_t)victim;
	char line[64];
	void *map;
	int fd, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dl_iterate_phdr(self_info, NULL);
	fd = memfd_create("hotpatch:fake-1", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 8192) < 0) {
		perror("memfd");
		return 1;
	}
	/* near its code, as the engine places a patch, so a jump reaches it */
	map = MAP_FAILED;
	for (i = 1; i < 256 && map == MAP_FAILED; i++)
		map = mmap((void *)(((uintptr_t)victim & ~(uintptr_t)4095) + i * (16u << 20)), 8192, PROT_READ,
			   MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(h.magic, "HPSTATE1", 8);
	h.version = strcmp(mode, "seal") ? 1 : 2;
	h.hdr_size = sizeof(h);
	h.self = (uintptr_t)map;
	h.region_size = 8192;
	h.state = 3;	/* active */
	h.level = 1;
	h.nfuncs = 1;
	h.func_size = sizeof(f);
	h.funcs_off = sizeof(h);
	h.applied_time = time(NULL);
	h.applier_pid = (uint32_t)getpid();
	snprintf(h.patch_id, sizeof(h.patch_id), "fake-1");
	memset(h.signer, 0, sizeof(h.signer));
	memcpy(h.signer, "6d0c2a1f4b8e9d7c3a5f1e0b2d4c6a8e9f7b5d3c1a0e2f4b6d8c0a1e3f5b7d9c", 64);
	if (readlink("/proc/self/exe", h.target_path, sizeof(h.target_path) - 1) < 0)
		snprintf(h.target_path, sizeof(h.target_path), "/usr/sbin/forger");
	h.text_start = h.self + 4096;
	h.text_end = h.self + 8192;
	if (h.version == 2) {
		h.flags = 1;	/* sealed */
		memset(h.mac, 0x5a, sizeof(h.mac));
	}
	f.func_addr = (uintptr_t)victim;
	f.func_size = 64;
	f.len = 5;
	snprintf(f.name, sizeof(f.name), "victim");
	if (!strcmp(mode, "mid")) {
		snprintf(f.name, sizeof(f.name), "victim\033]0;pwned\007");	/* text for root's terminal */
		f.func_addr = (uintptr_t)victim + 8;
		f.site = f.func_addr;
		f.new_addr = h.text_start;
		memset(f.orig, 0xcc, sizeof(f.orig));		/* what a revert would write: int3 */
		memcpy(f.patched, (void *)f.site, 5);		/* reads as "patched" now */
	} else {
		int32_t rel;

		f.site = f.func_addr + (!memcmp(entry, "\xf3\x0f\x1e\xfa", 4) ? 4 : 0);
		f.new_addr = h.text_start;
		memcpy(f.orig, (void *)f.site, 5);		/* the file's bytes: not yet changed */
		rel = (int32_t)((int64_t)f.new_addr - (int64_t)(f.site + 5));
		f.patched[0] = 0xe9;
		memcpy(f.patched + 1, &rel, 4);
		write_code(f.site, f.patched, 5);		/* the code agrees with the record */
	}
	if (pwrite(fd, &h, sizeof(h), 0) != sizeof(h) || pwrite(fd, &f, sizeof(f), sizeof(h)) != sizeof(f)) {
		perror("pwrite");
		return 1;
	}
	printf("ready %p %#lx %#lx\n", map, (unsigned long)f.site, (unsigned long)f.func_addr);
	while (fgets(line, sizeof(line), stdin))
		if (line[0] == 'o' && line[1] == ' ')
			printf("%d\n", other(atoi(line + 2)));
		else
			printf("%s", line);
	return 0;
}
