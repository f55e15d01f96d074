/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets (see fuzz.h).  Inputs are hostile; the library must
 * refuse them cleanly.  Anything a sanitizer reports is a bug, and so is a
 * broken invariant, which we turn into abort() so libFuzzer keeps the input.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz.h"
#include "lib/core/elf.h"
#include "shared/util.h"
#include "lib/format/patch.h"
#include "lib/process/proc.h"

/* Not a secret: the seed of the key that signs the fuzz corpus. */
static const uint8_t test_seed[32] = "hotpatch fuzz key, not a secret";

static struct hp_ctx *ctx;
static char tmpdir[256], key_path[300], trust_dir[300];
static char test_key_id[65];
static volatile size_t sink;

static void die(const char *what)
{
	fprintf(stderr, "hp_fuzz_init: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_pem(const char *path, EVP_PKEY *k, bool private_key, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		die(path);
	if (private_key ? !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) : !PEM_write_PUBKEY(f, k))
		die("PEM_write");
	fclose(f);
}

static void put(const char *name, const char *text)
{
	char p[400];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", trust_dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || hp_write_all(fd, text, strlen(text)) < 0)
		die(p);
	close(fd);
}

static void cleanup(void)
{
	static const char *const names[] = { "test.pub", "junk.pub", "empty.pub", "README", "link.pub",
					     "fifo.pub" };
	char p[400];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", trust_dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/dir.pub", trust_dir);
	rmdir(p);
	rmdir(trust_dir);
	unlink(key_path);
	rmdir(tmpdir);
	hp_ctx_free(ctx);
	ctx = NULL;
}

void hp_fuzz_init(void)
{
	EVP_PKEY *k;
	uint8_t raw[32], id[32];
	size_t n = sizeof(raw);
	char p[400];

	if (ctx)
		return;
	if (hp_ctx_new(&ctx) < 0)
		die("hp_ctx_new");
	/* Logging stays off (no callback): messages are still formatted into errmsg. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/hp-fuzz.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	snprintf(key_path, sizeof(key_path), "%s/test.key", tmpdir);
	snprintf(trust_dir, sizeof(trust_dir), "%s/trust", tmpdir);
	if (mkdir(trust_dir, 0755) < 0)
		die(trust_dir);
	atexit(cleanup);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, test_seed, sizeof(test_seed));
	if (!k || EVP_PKEY_get_raw_public_key(k, raw, &n) != 1)
		die("Ed25519 key from seed");
	hp_sha256(raw, sizeof(raw), id);
	hp_hex(id, sizeof(id), test_key_id);
	write_pem(key_path, k, true, 0600);
	snprintf(p, sizeof(p), "%s/test.pub", trust_dir);
	write_pem(p, k, false, 0644);
	EVP_PKEY_free(k);
	/* Hostile neighbours: every lookup walks past them. */
	put("junk.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	put("empty.pub", "");
	put("README", "not a key\n");
	snprintf(p, sizeof(p), "%s/dir.pub", trust_dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fifo.pub", trust_dir);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/link.pub", trust_dir);
	if (symlink(key_path, p) < 0)
		die(p);
}

const char *hp_fuzz_key_path(void)
{
	return key_path;
}

const char *hp_fuzz_trust_dir(void)
{
	return trust_dir;
}

/* Whether s is "0x" followed by 1-16 hex digits and nothing else, as the format requires. */
static bool strict_hex_addr(const char *s)
{
	size_t n;

	if (!s || strncmp(s, "0x", 2))
		return false;
	n = strspn(s + 2, "0123456789abcdefABCDEF");
	return n >= 1 && n <= 16 && !s[2 + n];
}

/* Read every field a consumer (info, apply) may read, so the sanitizers see any bad pointer. */
static void touch(const struct hp_patch *p)
{
	const struct hp_manifest *m = hp_patch_manifest(p);
	char key[65];
	size_t i, j, len, acc = 0;

	acc += strlen(m->id) + strlen(m->arch) + strlen(m->target_name) + strlen(m->classification);
	acc += m->description ? strlen(m->description) : 0;
	acc += m->created ? strlen(m->created) : 0;
	acc += m->signer ? strlen(m->signer) : 0;
	for (i = 0; i < m->ncves; i++)
		acc += strlen(m->cves[i]);
	for (i = 0; i < m->nnew_funcs; i++)
		acc += strlen(m->new_funcs[i]);
	CHECK(m->nfuncs >= 1 && m->build_id_len <= HP_BUILD_ID_MAX);
	for (i = 0; i < m->nfuncs; i++) {
		json_t *f = json_array_get(json_object_get(p->json, "functions"), i);

		acc += strlen(m->funcs[i].name) + strlen(m->funcs[i].symbol) + m->funcs[i].sha256[31];
		CHECK(p->func_sym[i] > 0 && p->func_sym[i] < p->nsyms);
		/* The parser is strict: an accepted address has exactly the documented shape. */
		CHECK(strict_hex_addr(json_string_value(json_object_get(f, "addr"))));
	}
	for (i = 0; i < hp_patch_nsections(p); i++) {
		const struct hp_patch_section *s = hp_patch_section(p, i);
		const struct hp_psec *ps = &p->secs[i];

		acc += strlen(s->name) + s->size + s->nrelocs;
		if (ps->data && ps->size)
			acc += ps->data[0] + ps->data[ps->size - 1];
		for (j = 0; j < ps->nrelas; j++) {
			CHECK(ps->relas[j].sym < p->nsyms);
			CHECK(ps->relas[j].offset <= ps->size);
		}
	}
	for (i = 1; i < p->nsyms; i++) {
		acc += strlen(p->syms[i].name);
		if (p->syms[i].sec < p->nsecs)
			CHECK(p->syms[i].value <= p->secs[p->syms[i].sec].size);
	}
	acc += ((const uint8_t *)hp_patch_bytes(p, &len))[len ? len - 1 : 0];
	acc += hp_patch_is_signed(p, key) ? strlen(key) : 0;
	sink += acc;
}

/*
 * What `hotpatch sign` does to any valid patch: rewrite it with a new
 * manifest.  It must succeed, parse again, and keep the payload.
 */
static void rewrite(const struct hp_patch *p)
{
	struct hp_patch_writer w;
	struct hp_patch *np = NULL;
	struct hp_manifest m2;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *text;
	json_t *j;
	int r;

	/* The struct -> JSON -> struct round trip must hold too. */
	j = hp_manifest_to_json(&p->man);
	CHECK(j);
	r = hp_manifest_from_json(ctx, j, &m2);
	CHECK(r == 0);
	CHECK(m2.nfuncs == p->man.nfuncs && m2.level == p->man.level && !strcmp(m2.id, p->man.id));
	hp_manifest_release(&m2);
	json_decref(j);

	text = json_dumps(p->json, JSON_COMPACT);
	CHECK(text);
	CHECK(hp_patch_to_writer(p, &w) == 0);
	w.manifest = text;
	r = hp_patch_write_mem(ctx, &w, &buf, &len);
	CHECK(r == 0);
	hp_patch_writer_release(&w);
	r = hp_patch_load(ctx, buf, len, &np);
	CHECK(r == 0 || strlen(text) > HP_MANIFEST_MAX_SIZE);
	if (r == 0) {
		CHECK(np->nsecs == p->nsecs && np->man.nfuncs == p->man.nfuncs);
		CHECK(!strcmp(np->man.id, p->man.id));
	}
	hp_patch_free(np);
	free(buf);
	free(text);
}

/* Any valid patch can be signed with the test key, and the result verifies. */
static void sign_and_verify(const struct hp_patch *p)
{
	struct hp_patch *sp = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char id[65] = "";
	int r;

	r = hp_patch_sign(ctx, p, key_path, &buf, &len);
	if (r < 0) {
		/* Only a manifest that grew past the limit when re-serialised may fail. */
		CHECK(r == -HP_E_FORMAT && strstr(hp_ctx_errmsg(ctx), "manifest"));
		return;
	}
	r = hp_patch_load(ctx, buf, len, &sp);
	CHECK(r == 0);
	r = hp_patch_verify(ctx, sp, trust_dir, id);
	CHECK(r == 0);
	CHECK(!strcmp(id, test_key_id));
	hp_patch_free(sp);
	free(buf);
}

int hp_fuzz_patch(const uint8_t *data, size_t size)
{
	struct hp_patch *p = NULL;
	int r;

	r = hp_patch_load(ctx, data, size, &p);
	if (r < 0) {
		CHECK(hp_ctx_errmsg(ctx)[0]);
		return r;
	}
	touch(p);
	rewrite(p);
	hp_patch_free(p);
	return 0;
}

/* Payload symbols a manifest may name; the seed manifests use these. */
static const char *const manifest_syms[] = { "f", "g", "parse", "check", "f0", "f1", "f2", "f3",
					     "f4", "f5", "f6", "f7" };

int hp_fuzz_manifest(const uint8_t *data, size_t size)
{
	static uint8_t code[16 * (sizeof(manifest_syms) / sizeof(manifest_syms[0]))];
	struct hp_wsym syms[sizeof(manifest_syms) / sizeof(manifest_syms[0]) + 1];
	struct hp_wsec sec = { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(code), code, NULL, 0 };
	struct hp_patch_writer w = { &sec, 1, syms, 0, NULL, NULL };
	struct hp_patch *p = NULL;
	uint8_t *buf = NULL;
	char *text;
	size_t len = 0, i;
	int r;

	memset(code, 0xc3, sizeof(code));
	for (i = 0; i < sizeof(manifest_syms) / sizeof(manifest_syms[0]); i++)
		syms[w.nsyms++] = (struct hp_wsym){ manifest_syms[i], 16 * i, 16, STT_FUNC, STB_GLOBAL, 0 };
	syms[w.nsyms++] = (struct hp_wsym){ "puts", 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF };
	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = 0;
	w.manifest = text;
	r = hp_patch_write_mem(ctx, &w, &buf, &len);
	CHECK(r == 0);
	r = hp_patch_load(ctx, buf, len, &p);
	if (r == 0) {
		touch(p);
		sign_and_verify(p);
		hp_patch_free(p);
	} else {
		CHECK(hp_ctx_errmsg(ctx)[0]);
	}
	free(buf);
	free(text);
	return r;
}

int hp_fuzz_maps(const uint8_t *data, size_t size)
{
	struct hp_maps maps;
	char *buf = malloc(size + 1);
	size_t i;
	int r;

	CHECK(buf);
	memcpy(buf, data, size);
	buf[size] = 0;
	r = hp_maps_parse(buf, &maps);	/* takes buf over, even on failure */
	if (r < 0)
		return r;
	for (i = 0; i < maps.n; i++) {
		const struct hp_map *m = &maps.v[i];

		CHECK(m->start <= m->end);
		CHECK(i == 0 || m->start >= maps.v[i - 1].end);
		CHECK(m->path >= maps.buf && m->path <= maps.buf + size);
		CHECK(strlen(m->perms) == 4);
		sink += strlen(m->path);
		if (m->start < m->end) {
			CHECK(hp_maps_find(&maps, m->start) == m);
			CHECK(hp_maps_find(&maps, m->end - 1) == m);
		}
	}
	hp_maps_release(&maps);
	return 0;
}

int hp_fuzz_verify(const uint8_t *data, size_t size)
{
	struct hp_patch *p = NULL;
	char id[65] = "";
	int r, v;

	r = hp_patch_load(ctx, data, size, &p);
	if (r < 0)
		return r;
	v = hp_patch_verify(ctx, p, trust_dir, id);
	CHECK(v == 0 || v == -HP_E_UNSIGNED || v == -HP_E_UNKNOWNKEY || v == -HP_E_BADSIG || v == -HP_E_FORMAT);
	CHECK(v < 0 || (hp_patch_is_signed(p, NULL) && !strcmp(id, test_key_id)));
	CHECK(v == 0 || hp_ctx_errmsg(ctx)[0]);
	sign_and_verify(p);
	hp_patch_free(p);
	return v;
}

int hp_fuzz_buildid(const uint8_t *data, size_t size)
{
	uint8_t fast[HP_BUILD_ID_MAX], slow[HP_BUILD_ID_MAX];
	size_t nfast = 0, nslow = 0;
	int fd = memfd_create("fuzz-buildid", MFD_CLOEXEC), rf, rs, r;

	CHECK(fd >= 0);
	CHECK(hp_pwrite_all(fd, data, size, 0) == 0);
	rf = hp_elf_build_id_fast_fd(fd, fast, &nfast);
	CHECK(rf >= -1 && rf <= 1);
	rs = hp_elf_build_id_libelf_fd(fd, slow, &nslow);
	if (rf == 1) {
		CHECK(nfast > 0 && nfast <= HP_BUILD_ID_MAX);
		/* where libelf reads the file at all, it reads the same note the same way */
		if (rs == 0)
			CHECK(nfast == nslow && !memcmp(fast, slow, nfast));
	}
	r = hp_elf_read_build_id_fd(fd, slow, &nslow);
	CHECK(r == (rf == 1 ? 0 : rs));
	close(fd);
	return r;
}
