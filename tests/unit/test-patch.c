/* SPDX-License-Identifier: MIT */
/* Patch file writer/reader round trip and refusal of malformed files. */
#include <elf.h>
#include <string.h>

#include "lib/format/patch.h"
#include "tap.h"

static const char manifest[] =
	"{\"format\":1,\"id\":\"t-1\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"0011aabb\"},"
	"\"level\":2,\"classification\":\"security\",\"cves\":[\"CVE-2026-0001\"],"
	"\"functions\":[{\"name\":\"f\",\"symbol\":\"f\",\"addr\":\"0x1139\",\"size\":17,"
	"\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}],"
	"\"new_functions\":[\"g\"]}";

static int make(struct hp_ctx *ctx, const char *man, uint8_t **buf, size_t *len)
{
	static const uint8_t code[] = { 0xe8, 0, 0, 0, 0, 0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3 };
	static struct hp_prela rel[] = { { 1, R_X86_64_PLT32, 1, -4 }, { 8, R_X86_64_PC32, 2, -4 } };
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
	struct hp_patch_writer w = { secs, 2, syms, 4, man, NULL };

	return hp_patch_write_mem(ctx, &w, buf, len);
}

int main(void)
{
	struct hp_ctx *ctx;
	struct hp_patch *p = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, i;
	int r;

	hp_ctx_new(&ctx);
	r = make(ctx, manifest, &buf, &len);
	tap_is_int(r, 0, "write a patch");
	r = hp_patch_load(ctx, buf, len, &p);
	tap_is_int(r, 0, "read it back");
	if (r < 0) {
		printf("# %s\n", hp_ctx_errmsg(ctx));
		return tap_exit();
	}
	tap_is_str(p->man.id, "t-1", "manifest id");
	tap_is_int(p->man.level, 2, "manifest level");
	tap_is_int(p->man.build_id_len, 4, "build-id length");
	tap_is_int(p->man.funcs[0].addr, 0x1139, "function address");
	tap_is_int(p->nsecs, 2, "two payload sections");
	tap_is_int(p->secs[0].nrelas, 2, "two relocations");
	tap_is_str(p->syms[p->secs[0].relas[0].sym].name, "puts", "relocation 0 names puts");
	tap_is_int(p->syms[p->secs[0].relas[1].sym].sec, HP_SEC_TARGET, "relocation 1 is a target symbol");
	tap_is_int(p->syms[p->secs[0].relas[1].sym].value, 0x4010, "target symbol keeps its address");
	tap_ok(p->has_sig_section && p->sig.alg == 0, "unsigned signature block present");
	tap_ok(!hp_patch_is_signed(p, NULL), "reported unsigned");

	/* Round trip through hp_patch_to_writer gives identical bytes. */
	{
		struct hp_patch_writer w;
		uint8_t *b2 = NULL;
		size_t l2 = 0;

		hp_patch_to_writer(p, &w);
		w.manifest = manifest;
		r = hp_patch_write_mem(ctx, &w, &b2, &l2);
		tap_ok(r == 0 && l2 == len && !memcmp(b2, buf, len), "re-serialised patch is byte-identical");
		hp_patch_writer_release(&w);
		free(b2);
	}
	hp_patch_free(p);

	/* Every truncation is refused, never crashes. */
	{
		int refused = 0;

		for (i = 0; i < len; i += 7) {
			p = NULL;
			if (hp_patch_load(ctx, buf, i, &p) < 0)
				refused++;
			hp_patch_free(p);
		}
		tap_is_int(refused, (len + 6) / 7, "all truncated files refused");
	}
	/* Garbage. */
	{
		uint8_t junk[512];

		memset(junk, 0x41, sizeof(junk));
		r = hp_patch_load(ctx, junk, sizeof(junk), &p);
		tap_is_int(r, -HP_E_FORMAT, "garbage refused as malformed");
		tap_ok(strstr(hp_ctx_errmsg(ctx), "not an ELF") != NULL, "message names the cause");
	}
	/* Another architecture. */
	{
		uint8_t *b = malloc(len);

		memcpy(b, buf, len);
		b[18] = 183;	/* EM_AARCH64 */
		r = hp_patch_load(ctx, b, len, &p);
		tap_is_int(r, -HP_E_ARCH, "aarch64 patch refused as wrong architecture");
		free(b);
	}
	/* Manifest problems. */
	{
		static const char *const bad[] = {
			"{\"format\":2}",
			"[1,2]",
			"{\"format\":1,\"id\":\"../x\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"00\"},\"level\":1,\"functions\":[]}",
			"{\"format\":1,\"id\":\"x\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"0011\"},\"level\":1,\"functions\":[{\"name\":\"f\",\"symbol\":\"nosuch\",\"addr\":\"0x10\",\"size\":1,\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}",
			"{\"format\":1,\"id\":\"x\",\"id\":\"y\"}",
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint8_t *b = NULL;
			size_t l;

			make(ctx, bad[i], &b, &l);
			r = hp_patch_load(ctx, b, l, &p);
			tap_is_int(r, -HP_E_FORMAT, "bad manifest refused");
			printf("#   %s\n", hp_ctx_errmsg(ctx));
			free(b);
		}
	}
	free(buf);
	hp_ctx_free(ctx);
	return tap_exit();
}
