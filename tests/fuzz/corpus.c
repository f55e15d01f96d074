/* SPDX-License-Identifier: MIT */
/*
 * The seed corpus, generated rather than checked in so it follows the
 * format as it evolves: a few valid patches of increasing richness made
 * with the patch writer, each unsigned and signed with the fuzz test key,
 * their manifests on their own, and some /proc/PID/maps texts.  Once
 * `hotpatch build` exists its output belongs here too (run.sh picks up any
 * *.hpatch in tests/fuzz/seeds/patch).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "lib/format/patch.h"

#define HASH "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define FUNC(name, sym, addr, size) \
	"{\"name\":\"" name "\",\"symbol\":\"" sym "\",\"addr\":\"" addr "\",\"size\":" #size ",\"sha256\":\"" HASH "\"}"

static const char man_minimal[] =
	"{\"format\":1,\"id\":\"min-1\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"00ff\"},"
	"\"level\":1,\"functions\":[" FUNC("f", "f", "0x1000", 6) "]}";

static const char man_relocs[] =
	"{\"format\":1,\"id\":\"demo-fix-1\",\"arch\":\"x86_64\",\"target\":{\"name\":\"demo-server\","
	"\"build_id\":\"5d1c0a9e8f7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d\"},\"level\":2,\"classification\":\"security\","
	"\"cves\":[\"CVE-2026-1234\"],\"description\":\"reject oversized header lines\","
	"\"created\":\"2026-11-21T10:00:00Z\",\"functions\":[" FUNC("parse_header", "f", "0x1139", 123) "],"
	"\"new_functions\":[\"check_len\"]}";

static const char man_rich[] =
	"{\"format\":1,\"id\":\"libfoo.so.1-L3\",\"arch\":\"x86_64\",\"target\":{\"name\":\"libfoo.so.1\","
	"\"build_id\":\"0123456789abcdef0123456789abcdef01234567\"},\"level\":3,\"classification\":\"critical\","
	"\"cves\":[\"CVE-2026-0001\",\"CVE-2025-123456\"],"
	"\"description\":\"two fixes: bounds \\\"check\\\" in parse \\u00e9\\n\\ttab, and a new helper\","
	"\"created\":\"2026-12-01T00:00:00Z\",\"x-builder\":{\"version\":\"0.2\",\"flags\":[1,2.5,null,true]},"
	"\"functions\":[" FUNC("parse", "parse", "0x4a10", 300) "," FUNC("static_helper.constprop.0", "check",
									     "0x4c00", 48) "],"
	"\"new_functions\":[\"validate\",\"log_reject\"]}";

static const char man_many[] =
	"{\"format\":1,\"id\":\"many\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"aa55\"},"
	"\"level\":65535,\"classification\":\"other\",\"cves\":[],\"functions\":["
	FUNC("a0", "f0", "0x100", 16) "," FUNC("a1", "f1", "0x110", 16) "," FUNC("a2", "f2", "0x120", 16) ","
	FUNC("a3", "f3", "0x130", 16) "," FUNC("a4", "f4", "0x140", 16) "," FUNC("a5", "f5", "0x150", 16) ","
	FUNC("a6", "f6", "0x160", 16) "," FUNC("a7", "f7", "0x170", 16) "],\"new_functions\":[]}";

static int write_bytes(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return hp_write_file_atomic(path, buf, len, 0644);
}

/* Write one patch unsigned as NAME.hpatch and signed as NAME-signed.hpatch. */
static int emit(struct hp_ctx *ctx, const char *dir, const char *name, const struct hp_patch_writer *w)
{
	struct hp_patch *p = NULL;
	uint8_t *buf = NULL, *sbuf = NULL;
	size_t len = 0, slen = 0;
	char file[128];
	int r;

	r = hp_patch_write_mem(ctx, w, &buf, &len);
	if (r == 0)
		r = hp_patch_load(ctx, buf, len, &p);
	if (r == 0)
		r = hp_patch_sign(ctx, p, hp_fuzz_key_path(), &sbuf, &slen);
	if (r < 0) {
		fprintf(stderr, "corpus: %s: %s\n", name, hp_ctx_errmsg(ctx));
		goto out;
	}
	snprintf(file, sizeof(file), "%s.hpatch", name);
	r = write_bytes(dir, file, buf, len);
	snprintf(file, sizeof(file), "%s-signed.hpatch", name);
	if (r == 0)
		r = write_bytes(dir, file, sbuf, slen);
out:
	hp_patch_free(p);
	free(buf);
	free(sbuf);
	return r;
}

static int patch_minimal(struct hp_ctx *ctx, const char *dir)
{
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xc0, 0xc3 };
	struct hp_wsec secs[] = { { ".text.f", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(code), code,
				    NULL, 0 } };
	struct hp_wsym syms[] = { { "f", 0, sizeof(code), STT_FUNC, STB_GLOBAL, 0 } };
	struct hp_patch_writer w = { secs, 1, syms, 1, man_minimal, NULL };

	return emit(ctx, dir, "minimal", &w);
}

static int patch_relocs(struct hp_ctx *ctx, const char *dir)
{
	static const uint8_t code[] = { 0xe8, 0, 0, 0, 0, 0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3 };
	struct hp_prela rel[] = { { 1, R_X86_64_PLT32, 1, -4 }, { 8, R_X86_64_PC32, 2, -4 } };
	struct hp_wsec secs[] = {
		{ ".text.f", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(code), code, rel, 2 },
		{ ".bss.v", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 8, 8, NULL, NULL, 0 },
	};
	struct hp_wsym syms[] = {
		{ "f", 0, sizeof(code), STT_FUNC, STB_GLOBAL, 0 },
		{ "puts", 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF },
		{ "counter", 0x4010, 4, STT_OBJECT, STB_LOCAL, HP_SEC_TARGET },
		{ "v", 0, 8, STT_OBJECT, STB_LOCAL, 1 },
	};
	struct hp_patch_writer w = { secs, 2, syms, 4, man_relocs, NULL };

	return emit(ctx, dir, "relocs", &w);
}

/* Every kind of section, symbol and relocation the format allows. */
static int patch_rich(struct hp_ctx *ctx, const char *dir)
{
	static uint8_t parse[96], check[32];
	static const char msg[] = "header line too long\0rejected\0";
	static const uint8_t limit[16] = { 0x00, 0x10 };
	struct hp_prela rparse[] = {
		{ 1, R_X86_64_PLT32, 1, -4 },		/* call check */
		{ 8, R_X86_64_PC32, 5, -4 },		/* lea .rodata.msg */
		{ 15, R_X86_64_GOTPCRELX, 7, -4 },	/* stderr@GOT */
		{ 22, R_X86_64_REX_GOTPCRELX, 8, -4 },	/* errno */
		{ 29, R_X86_64_PLT32, 9, -4 },		/* fprintf */
		{ 36, R_X86_64_PC32, 10, -4 },		/* target counter */
		{ 43, R_X86_64_32S, 11, 0 },		/* absolute */
		{ 50, R_X86_64_GOTTPOFF, 12, -4 },	/* TLS import */
		{ 57, R_X86_64_PC32, 3, 0 },		/* limit */
		{ 64, R_X86_64_GOTPC32, 13, 0 },
		{ 70, R_X86_64_TPOFF32, 12, 0 },
		{ 80, R_X86_64_PC64, 4, 0 },
	};
	struct hp_prela rcheck[] = { { 1, R_X86_64_PLT32, 14, -4 }, { 8, R_X86_64_TLSGD, 12, -4 } };
	struct hp_prela rdata[] = { { 0, R_X86_64_64, 10, 8 }, { 8, R_X86_64_64, 5, 22 } };
	struct hp_wsec secs[] = {
		{ ".text.parse", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(parse), parse, rparse,
		  sizeof(rparse) / sizeof(rparse[0]) },
		{ ".text.check", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(check), check, rcheck, 2 },
		{ ".rodata.str1.1", SHT_PROGBITS, SHF_ALLOC | SHF_MERGE | SHF_STRINGS, 1, sizeof(msg), msg, NULL, 0 },
		{ ".data.rel.local", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8, sizeof(limit), limit, rdata, 2 },
		{ ".bss.buf", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 64, 4096, NULL, NULL, 0 },
	};
	struct hp_wsym syms[] = {
		/* 0 */ { "fix.c", 0, 0, STT_FILE, STB_LOCAL, HP_SEC_ABS },
		/* 1 */ { "check", 0, sizeof(check), STT_FUNC, STB_LOCAL, 1 },
		/* 2 */ { "parse", 0, sizeof(parse), STT_FUNC, STB_GLOBAL, 0 },
		/* 3 */ { "limit", 0, 8, STT_OBJECT, STB_LOCAL, 3 },
		/* 4 */ { "buf", 0, 4096, STT_OBJECT, STB_LOCAL, 4 },
		/* 5 */ { "", 0, 0, STT_SECTION, STB_LOCAL, 2 },
		/* 6 */ { "validate", 16, 16, STT_FUNC, STB_GLOBAL, 1 },
		/* 7 */ { "stderr", 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF },
		/* 8 */ { "errno@GLIBC_PRIVATE", 0, 0, STT_TLS, STB_GLOBAL, HP_SEC_UNDEF },
		/* 9 */ { "fprintf", 0, 0, STT_FUNC, STB_GLOBAL, HP_SEC_UNDEF },
		/* 10 */ { "counter", 0x6010, 8, STT_OBJECT, STB_LOCAL, HP_SEC_TARGET },
		/* 11 */ { "PAGE", 4096, 0, STT_NOTYPE, STB_LOCAL, HP_SEC_ABS },
		/* 12 */ { "tls_state", 0, 0, STT_TLS, STB_GLOBAL, HP_SEC_UNDEF },
		/* 13 */ { "_GLOBAL_OFFSET_TABLE_", 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF },
		/* 14 */ { "static_helper", 0x4c00, 48, STT_FUNC, STB_LOCAL, HP_SEC_TARGET },
		/* 15 */ { "log_reject", 24, 8, STT_FUNC, STB_WEAK, 1 },
	};
	struct hp_patch_writer w = { secs, 5, syms, 16, man_rich, NULL };

	memset(parse, 0x90, sizeof(parse));
	parse[sizeof(parse) - 1] = 0xc3;
	memset(check, 0xcc, sizeof(check));
	return emit(ctx, dir, "rich", &w);
}

static int patch_many(struct hp_ctx *ctx, const char *dir)
{
	static uint8_t code[8 * 16];
	static const char *const names[] = { "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7" };
	struct hp_wsec secs[] = { { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(code), code,
				    NULL, 0 } };
	struct hp_wsym syms[8];
	struct hp_patch_writer w = { secs, 1, syms, 8, man_many, NULL };
	size_t i;

	memset(code, 0xc3, sizeof(code));
	for (i = 0; i < 8; i++)
		syms[i] = (struct hp_wsym){ names[i], 16 * i, 16, STT_FUNC, STB_GLOBAL, 0 };
	return emit(ctx, dir, "many", &w);
}

static const char maps_sample[] =
	"55d0c3a00000-55d0c3a02000 r--p 00000000 fd:01 1835021                    /usr/bin/demo-server\n"
	"55d0c3a02000-55d0c3a05000 r-xp 00002000 fd:01 1835021                    /usr/bin/demo-server\n"
	"55d0c3a05000-55d0c3a06000 r--p 00005000 fd:01 1835021                    /usr/bin/demo-server\n"
	"55d0c3a06000-55d0c3a07000 rw-p 00006000 fd:01 1835021                    /usr/bin/demo-server\n"
	"55d0c3a07000-55d0c3a08000 rw-p 00000000 00:00 0 \n"
	"55d0c4b1e000-55d0c4b3f000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 \n"
	"7f1e2d400000-7f1e2d426000 r--p 00000000 fd:01 1836154                    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1e2d426000-7f1e2d57b000 r-xp 00026000 fd:01 1836154                    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1e2d600000-7f1e2d601000 r-xp 00000000 00:05 4242                       /memfd:hotpatch (deleted)\n"
	"7f1e2d700000-7f1e2d701000 r--p 00000000 fd:01 99                         /tmp/with space/lib x.so (deleted)\n"
	"7ffd5c1d0000-7ffd5c1f1000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffd5c1f8000-7ffd5c1fc000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffd5c1fc000-7ffd5c1fe000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static int mkdirp(const char *dir, const char *sub, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", dir, sub);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int hp_fuzz_write_corpus(const char *dir)
{
	static const char *const manifests[] = { man_minimal, man_relocs, man_rich, man_many };
	struct hp_ctx *ctx = NULL;
	char sub[400], name[32];
	char *self = NULL;
	size_t i, n = 0;
	int r;

	hp_fuzz_init();
	r = hp_ctx_new(&ctx);
	if (r < 0)
		return r;
	r = mkdirp(dir, "patch", sub, sizeof(sub));
	if (r == 0)
		r = patch_minimal(ctx, sub);
	if (r == 0)
		r = patch_relocs(ctx, sub);
	if (r == 0)
		r = patch_rich(ctx, sub);
	if (r == 0)
		r = patch_many(ctx, sub);
	if (r == 0)
		r = mkdirp(dir, "manifest", sub, sizeof(sub));
	for (i = 0; r == 0 && i < sizeof(manifests) / sizeof(manifests[0]); i++) {
		snprintf(name, sizeof(name), "manifest-%zu.json", i);
		r = write_bytes(sub, name, manifests[i], strlen(manifests[i]));
	}
	if (r == 0)
		r = mkdirp(dir, "maps", sub, sizeof(sub));
	if (r == 0)
		r = write_bytes(sub, "sample.txt", maps_sample, strlen(maps_sample));
	if (r == 0 && hp_read_file("/proc/self/maps", 1 << 20, &self, &n) == 0)
		r = write_bytes(sub, "self.txt", self, n);
	free(self);
	self = NULL;
	/* buildid: the first 16 KiB of real ELF files (this program, the C library) */
	if (r == 0)
		r = mkdirp(dir, "buildid", sub, sizeof(sub));
	if (r == 0 && hp_read_file("/proc/self/exe", 1 << 26, &self, &n) == 0)
		r = write_bytes(sub, "self.elf", self, n < 16384 ? n : 16384);
	free(self);
	self = NULL;
	if (r == 0 && hp_read_file("/lib/x86_64-linux-gnu/libc.so.6", 1 << 26, &self, &n) == 0)
		r = write_bytes(sub, "libc.elf", self, n < 16384 ? n : 16384);
	free(self);
	hp_ctx_free(ctx);
	return r;
}
