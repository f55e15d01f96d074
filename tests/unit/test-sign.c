/* SPDX-License-Identifier: MIT */
/*
 * Key generation, signing and verification: the happy path, every refusal
 * with its own code, every single-byte modification of a signed patch, and
 * a trust directory full of hostile entries.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "lib/format/patch.h"
#include "lib/format/trust.h"
#include "shared/util.h"
#include "tap.h"

static const char manifest[] =
	"{\"format\":1,\"id\":\"sig-1\",\"arch\":\"x86_64\",\"target\":{\"name\":\"t\",\"build_id\":\"0011aabb\"},"
	"\"level\":1,\"classification\":\"security\",\"cves\":[\"CVE-2026-0002\"],\"x-future\":{\"kept\":true},"
	"\"functions\":[{\"name\":\"f\",\"symbol\":\"f\",\"addr\":\"0x1139\",\"size\":17,"
	"\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}";

static char tmp[256];
static char warnings[16384];

/* Collect warnings so tests can assert what the library complained about. */
static void log_cb(void *ud, enum hp_log_level lvl, const char *msg)
{
	(void)ud;
	if (lvl <= HP_LOG_WARN && strlen(warnings) + strlen(msg) + 2 < sizeof(warnings)) {
		size_t len = strlen(warnings);

		snprintf(warnings + len, sizeof(warnings) - len, "%s\n", msg);
	}
}

static int make(struct hp_ctx *ctx, const char *man, const struct hp_sig_block *sig, uint8_t **buf, size_t *len)
{
	static const uint8_t code[] = { 0xe8, 0, 0, 0, 0, 0xc3 };
	static struct hp_prela rel[] = { { 1, R_X86_64_PLT32, 1, -4 } };
	struct hp_wsec secs[] = {
		{ ".text.f", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, sizeof(code), code, rel, 1 },
	};
	struct hp_wsym syms[] = {
		{ "f", 0, sizeof(code), STT_FUNC, STB_GLOBAL, 0 },
		{ "puts", 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF },
	};
	struct hp_patch_writer w = { secs, 1, syms, 2, man, sig };

	return hp_patch_write_mem(ctx, &w, buf, len);
}

static char *path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static int copy_file(const char *from, const char *to)
{
	char *b;
	size_t n;
	int r = hp_read_file(from, 1 << 20, &b, &n);

	if (r < 0)
		return r;
	r = hp_write_file_atomic(to, b, n, 0644);
	free(b);
	return r;
}

/* Load then verify; the code of whichever step refused (0 = accepted). */
static int load_verify(struct hp_ctx *ctx, const uint8_t *b, size_t n, const char *dir, char *id)
{
	struct hp_patch *p = NULL;
	int r = hp_patch_load(ctx, b, n, &p);

	if (r == 0)
		r = hp_patch_verify(ctx, p, dir, id);
	hp_patch_free(p);
	return r;
}

/* Re-serialise a signed patch with another manifest but the same signature block. */
static int with_manifest(struct hp_ctx *ctx, const uint8_t *b, size_t n, const char *man, uint8_t **out,
			 size_t *out_len)
{
	struct hp_patch *p = NULL;
	struct hp_patch_writer w;
	int r = hp_patch_load(ctx, b, n, &p);

	if (r < 0)
		return r;
	hp_patch_to_writer(p, &w);
	w.manifest = man;
	r = hp_patch_write_mem(ctx, &w, out, out_len);
	hp_patch_writer_release(&w);
	hp_patch_free(p);
	return r;
}

/*
 * hp_sha256 and hp_hmac_sha256 run Nettle's SHA-256: both must equal
 * OpenSSL's digests at every length around the block and padding
 * boundaries.
 */
static void test_sha256_one(const char *impl)
{
	static uint8_t big[300 * 1024 + 7];
	uint8_t a[32], b[32], key[64];
	unsigned int blen;
	size_t i, bad = 0, badh = 0;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 9));
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa5 ^ i);
	for (i = 0; i <= 1000; i++) {
		hp_sha256(big + 3, i, a);
		EVP_Digest(big + 3, i, b, NULL, EVP_sha256(), NULL);
		bad += memcmp(a, b, 32) != 0;
		hp_hmac_sha256(key, i % 65, big, i, a);
		HMAC(EVP_sha256(), key, (int)(i % 65), big, i, b, &blen);
		badh += memcmp(a, b, 32) != 0;
	}
	tap_ok(!bad, "%s SHA-256 equals OpenSSL's for 0-1000 bytes (%zu differ)", impl, bad);
	tap_ok(!badh, "%s HMAC-SHA256 equals OpenSSL's for 0-1000 bytes, keys of 0-64 bytes (%zu differ)", impl, badh);
	for (i = 64 * 1024 - 65, bad = 0; i < 64 * 1024 + 65; i += 13) {
		hp_sha256(big, i, a);
		EVP_Digest(big, i, b, NULL, EVP_sha256(), NULL);
		bad += memcmp(a, b, 32) != 0;
	}
	hp_sha256(big, sizeof(big), a);
	EVP_Digest(big, sizeof(big), b, NULL, EVP_sha256(), NULL);
	tap_ok(!bad && !memcmp(a, b, 32), "%s SHA-256 equals OpenSSL's around 64 KiB and at 300 KiB", impl);
	tap_is_int(hp_hmac_sha256(key, 65, big, 1, a), -EINVAL, "HMAC keys longer than a block are refused");
}

static void test_sha256(void)
{
	test_sha256_one("Nettle");
}

static void test_keygen(struct hp_ctx *ctx, char *key_id)
{
	struct stat st;
	char id2[65];
	mode_t old = umask(0);
	int r;

	/* umask 0: the modes must come from the code, not from the caller's umask. */
	r = hp_keygen(ctx, path("k1"), key_id);
	umask(old);
	tap_is_int(r, 0, "keygen writes a key pair");
	tap_ok(strlen(key_id) == 64 && strspn(key_id, "0123456789abcdef") == 64, "key id is 64 hex digits");
	tap_ok(stat(path("k1.key"), &st) == 0 && (st.st_mode & 07777) == 0600, "private key has mode 0600");
	tap_ok(stat(path("k1.pub"), &st) == 0 && (st.st_mode & 07777) == 0644, "public key has mode 0644");
	{
		char *b = NULL;

		hp_read_file(path("k1.key"), 1 << 16, &b, NULL);
		tap_ok(b && strstr(b, "-----BEGIN PRIVATE KEY-----"), "private key is PKCS#8 PEM");
		free(b);
		b = NULL;
		hp_read_file(path("k1.pub"), 1 << 16, &b, NULL);
		tap_ok(b && strstr(b, "-----BEGIN PUBLIC KEY-----"), "public key is SubjectPublicKeyInfo PEM");
		free(b);
	}
	r = hp_keygen(ctx, path("k1"), id2);
	tap_is_int(r, -EEXIST, "keygen refuses to overwrite a key");
	close(open(path("k2.pub"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	r = hp_keygen(ctx, path("k2"), id2);
	tap_is_int(r, -EEXIST, "keygen refuses when only BASE.pub exists");
	tap_ok(access(path("k2.key"), F_OK) < 0, "and leaves no private key behind");
	unlink(path("k2.pub"));
	r = hp_keygen(ctx, path("k2"), id2);
	tap_ok(r == 0 && strcmp(id2, key_id), "a second key pair has a different id");
	tap_is_int(hp_keygen(ctx, "", id2), -EINVAL, "keygen refuses an empty name");
}

static void test_sign_verify(struct hp_ctx *ctx, const char *key_id, uint8_t **ret_signed, size_t *ret_len)
{
	struct hp_patch *p = NULL, *sp = NULL;
	uint8_t *buf = NULL, *sbuf = NULL;
	size_t len = 0, slen = 0;
	char id[65] = "", *dir;
	int r;

	make(ctx, manifest, NULL, &buf, &len);
	hp_patch_load(ctx, buf, len, &p);
	r = hp_patch_verify(ctx, p, path("trust"), id);
	tap_is_int(r, -HP_E_UNSIGNED, "unsigned patch refused as unsigned");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "not signed") != NULL, "message says it is not signed");

	r = hp_patch_sign(ctx, p, path("k1.key"), &sbuf, &slen);
	tap_is_int(r, 0, "sign a patch");
	r = hp_patch_load(ctx, sbuf, slen, &sp);
	tap_is_int(r, 0, "signed patch parses");
	if (r < 0)
		return;
	tap_is_str(sp->man.signer, key_id, "manifest signer is the key id");
	tap_ok(hp_patch_is_signed(sp, id) && !strcmp(id, key_id), "signature block names the key id");
	tap_ok(json_object_get(sp->json, "x-future") != NULL, "unknown manifest keys survive signing");
	tap_ok(sp->nsecs == 1 && sp->secs[0].nrelas == 1, "payload survives signing");

	mkdir(path("trust"), 0755);
	id[0] = 0;
	r = hp_patch_verify(ctx, sp, path("trust"), id);
	tap_is_int(r, -HP_E_UNKNOWNKEY, "empty trust directory: unknown key");
	dir = path("trust");
	tap_ok(strstr(hp_ctx_errmsg(ctx), key_id) && strstr(hp_ctx_errmsg(ctx), dir),
	       "message names the key id and the trust directory");
	r = hp_patch_verify(ctx, sp, path("no-such-dir"), id);
	tap_is_int(r, -HP_E_UNKNOWNKEY, "missing trust directory: unknown key");

	copy_file(path("k2.pub"), path("trust/other.pub"));
	r = hp_patch_verify(ctx, sp, path("trust"), id);
	tap_is_int(r, -HP_E_UNKNOWNKEY, "only another key trusted: unknown key");
	copy_file(path("k1.pub"), path("trust/k1.pub"));
	r = hp_patch_verify(ctx, sp, path("trust"), id);
	tap_is_int(r, 0, "signed patch verifies against its key");
	tap_is_str(id, key_id, "verify returns the signer's key id");

	setenv("HOTPATCH_TRUST_DIR", path("trust"), 1);
	tap_is_int(hp_patch_verify(ctx, sp, NULL, NULL), 0, "HOTPATCH_TRUST_DIR is used when no directory is given");
	setenv("HOTPATCH_TRUST_DIR", path("no-such-dir"), 1);
	tap_is_int(hp_patch_verify(ctx, sp, NULL, NULL), -HP_E_UNKNOWNKEY, "and it is honoured");
	unsetenv("HOTPATCH_TRUST_DIR");

	/* Re-signing replaces the signature and the signer. */
	{
		uint8_t *b2 = NULL;
		size_t l2 = 0;
		struct hp_patch *p2 = NULL;

		r = hp_patch_sign(ctx, sp, path("k2.key"), &b2, &l2);
		tap_is_int(r, 0, "re-sign with another key");
		r = hp_patch_load(ctx, b2, l2, &p2);
		tap_ok(r == 0 && p2->man.signer && strcmp(p2->man.signer, key_id), "signer changes on re-signing");
		tap_is_int(hp_patch_verify(ctx, p2, path("trust"), NULL), 0, "re-signed patch verifies");
		unlink(path("trust/other.pub"));
		tap_is_int(hp_patch_verify(ctx, p2, path("trust"), NULL), -HP_E_UNKNOWNKEY,
			   "removing a key from the trust directory revokes it");
		hp_patch_free(p2);
		free(b2);
	}
	hp_patch_free(p);
	hp_patch_free(sp);
	free(buf);
	*ret_signed = sbuf;
	*ret_len = slen;
}

/* Every single-byte change to a signed patch is refused: never accepted, never "unsigned". */
static void test_flip_every_byte(struct hp_ctx *ctx, const uint8_t *sbuf, size_t slen)
{
	static const uint8_t masks[] = { 0xff, 0x01, 0x80 };
	uint8_t *b = malloc(slen);
	size_t i, m, accepted = 0, other = 0, nbadsig = 0, nformat = 0;

	for (m = 0; m < sizeof(masks); m++) {
		for (i = 0; i < slen; i++) {
			int r;

			memcpy(b, sbuf, slen);
			b[i] ^= masks[m];
			r = load_verify(ctx, b, slen, path("trust"), NULL);
			if (r == 0)
				accepted++;
			else if (r == -HP_E_BADSIG)
				nbadsig++;
			else if (r == -HP_E_FORMAT || r == -HP_E_ARCH || r == -HP_E_RELOC)
				nformat++;
			else {
				other++;
				printf("#   byte %zu ^ %#x: %s (%s)\n", i, masks[m], hp_strerror(r), hp_ctx_errmsg(ctx));
			}
		}
	}
	printf("#   %zu bytes x %zu masks: %zu bad signature, %zu malformed\n", slen, sizeof(masks), nbadsig,
	       nformat);
	tap_is_int(accepted, 0, "no modified byte is accepted");
	tap_is_int(other, 0, "every modified byte is a bad signature or a malformed file");
	tap_ok(nbadsig > 0 && nformat > 0, "both kinds of refusal occur");
	/* Truncated and extended files too. */
	{
		uint8_t *e = malloc(slen + 1);

		memcpy(e, sbuf, slen);
		e[slen] = 0;
		tap_is_int(load_verify(ctx, e, slen + 1, path("trust"), NULL), -HP_E_BADSIG,
			   "a byte appended to a signed file is a bad signature");
		free(e);
	}
	free(b);
}

static void test_signer_field(struct hp_ctx *ctx, const uint8_t *sbuf, size_t slen, const char *key_id)
{
	char man[sizeof(manifest) + 128], other[65];
	uint8_t *b = NULL;
	size_t n = 0;
	int r;

	/* Same signature block, manifest names a different signer. */
	memset(other, 'e', 64);
	other[64] = 0;
	snprintf(man, sizeof(man), "{\"signer\":\"%s\",%s", other, manifest + 1);
	r = with_manifest(ctx, sbuf, slen, man, &b, &n);
	tap_is_int(r, 0, "build a patch whose signer differs from its signature block");
	r = load_verify(ctx, b, n, path("trust"), NULL);
	tap_is_int(r, -HP_E_BADSIG, "manifest signer mismatch is a bad signature");
	tap_ok(strstr(hp_ctx_errmsg(ctx), other) && strstr(hp_ctx_errmsg(ctx), key_id),
	       "message names both key ids");
	free(b);
	b = NULL;

	/* Signature block present, signer removed from the manifest. */
	with_manifest(ctx, sbuf, slen, manifest, &b, &n);
	tap_is_int(load_verify(ctx, b, n, path("trust"), NULL), -HP_E_BADSIG,
		   "signed block without a manifest signer is a bad signature");
	free(b);
	b = NULL;

	/* Manifest names a signer, but the signature block is empty: the signature was stripped. */
	snprintf(man, sizeof(man), "{\"signer\":\"%s\",%s", key_id, manifest + 1);
	make(ctx, man, NULL, &b, &n);
	tap_is_int(load_verify(ctx, b, n, path("trust"), NULL), -HP_E_BADSIG,
		   "a stripped signature is a bad signature, not unsigned");
	free(b);
	b = NULL;

	/* Block says unsigned but carries a key id. */
	{
		struct hp_sig_block blk;

		memset(&blk, 0, sizeof(blk));
		memcpy(blk.magic, HP_SIG_MAGIC, 8);
		blk.key_id[3] = 1;
		make(ctx, manifest, &blk, &b, &n);
		tap_is_int(load_verify(ctx, b, n, path("trust"), NULL), -HP_E_BADSIG,
			   "algorithm 0 with a key id is a bad signature");
		free(b);
		b = NULL;
		blk.key_id[3] = 0;
		blk.alg = 7;
		make(ctx, manifest, &blk, &b, &n);
		tap_is_int(load_verify(ctx, b, n, path("trust"), NULL), -HP_E_BADSIG,
			   "an unknown algorithm is refused");
		free(b);
		b = NULL;
		memcpy(blk.magic, "HPSIG\0\0\2", 8);
		blk.alg = 0;
		make(ctx, manifest, &blk, &b, &n);
		tap_is_int(load_verify(ctx, b, n, path("trust"), NULL), -HP_E_FORMAT,
			   "a bad signature block magic is malformed");
		free(b);
	}
}

static void test_bad_keys(struct hp_ctx *ctx, const uint8_t *sbuf, size_t slen)
{
	struct hp_patch *p = NULL;
	uint8_t *b = NULL;
	size_t n;

	hp_patch_load(ctx, sbuf, slen, &p);
	tap_is_int(hp_patch_sign(ctx, p, path("k1.pub"), &b, &n), -EINVAL, "a public key cannot sign");
	tap_is_int(hp_patch_sign(ctx, p, path("nope.key"), &b, &n), -ENOENT, "missing key file");
	tap_is_int(hp_patch_sign(ctx, p, tmp, &b, &n), -EINVAL, "a directory is not a key");
	/* An encrypted key is refused without prompting for a passphrase. */
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		FILE *f = fopen(path("enc.key"), "w");

		PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL);
		fclose(f);
		EVP_PKEY_free(k);
		tap_is_int(hp_patch_sign(ctx, p, path("enc.key"), &b, &n), -EINVAL,
			   "an encrypted key is refused, not prompted for");
	}
	/* A key of another type. */
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		FILE *f = fopen(path("ec.key"), "w");

		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		f = fopen(path("ec.pub"), "w");
		PEM_write_PUBKEY(f, k);
		fclose(f);
		EVP_PKEY_free(k);
		tap_is_int(hp_patch_sign(ctx, p, path("ec.key"), &b, &n), -EINVAL, "an EC key is refused");
	}
	/* A key read from a pipe (bash: --key <(command)). */
	{
		char *key = NULL, fdpath[64];
		size_t klen = 0;
		int fds[2];

		hp_read_file(path("k1.key"), 1 << 16, &key, &klen);
		if (pipe(fds) == 0 && key && write(fds[1], key, klen) == (ssize_t)klen) {
			close(fds[1]);
			snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[0]);
			tap_is_int(hp_patch_sign(ctx, p, fdpath, &b, &n), 0, "a key can be read from a pipe");
			free(b);
			close(fds[0]);
		} else {
			tap_ok(0, "a key can be read from a pipe (pipe setup failed)");
		}
		free(key);
	}
	/* A private key readable by others works but is warned about. */
	chmod(path("k1.key"), 0644);
	warnings[0] = 0;
	tap_is_int(hp_patch_sign(ctx, p, path("k1.key"), &b, &n), 0, "a group-readable key still signs");
	tap_ok(strstr(warnings, "accessible by others") != NULL, "with a warning about its mode");
	free(b);
	chmod(path("k1.key"), 0600);
	hp_patch_free(p);
}

/* A trust directory full of junk still finds the one good key, warning about the junk. */
static void test_hostile_trust_dir(struct hp_ctx *ctx, const uint8_t *sbuf, size_t slen)
{
	struct hp_patch *p = NULL;
	char big[20000];
	int fd;

	hp_patch_load(ctx, sbuf, slen, &p);
	mkdir(path("hostile"), 0755);
	hp_write_file_atomic(path("hostile/garbage.pub"), "not a key\n", 10, 0644);
	hp_write_file_atomic(path("hostile/empty.pub"), "", 0, 0644);
	memset(big, 'A', sizeof(big));
	hp_write_file_atomic(path("hostile/huge.pub"), big, sizeof(big), 0644);
	mkdir(path("hostile/dir.pub"), 0755);
	mkfifo(path("hostile/fifo.pub"), 0644);
	copy_file(path("ec.pub"), path("hostile/ec.pub"));
	copy_file(path("k1.key"), path("hostile/private.pub"));
	symlink(path("k1.pub"), path("hostile/link.pub"));
	copy_file(path("k1.pub"), path("hostile/.hidden.pub"));
	copy_file(path("k1.pub"), path("hostile/k1.pub.disabled"));
	warnings[0] = 0;
	tap_is_int(hp_patch_verify(ctx, p, path("hostile"), NULL), -HP_E_UNKNOWNKEY,
		   "symlinks, hidden files and other suffixes are not trusted");
	tap_ok(strstr(warnings, "garbage.pub") && strstr(warnings, "empty.pub") && strstr(warnings, "huge.pub") &&
		       strstr(warnings, "ec.pub") && strstr(warnings, "private.pub"),
	       "malformed, oversized and non-Ed25519 .pub files are warned about");
	tap_ok(!strstr(warnings, "fifo.pub") && !strstr(warnings, "dir.pub"), "non-regular files are ignored quietly");
	if (!tap_ok(!strstr(warnings, "world-writable"), "no spurious permission warning"))
		printf("#   %s", warnings);

	copy_file(path("k1.pub"), path("hostile/zz-good.pub"));
	tap_is_int(hp_patch_verify(ctx, p, path("hostile"), NULL), 0, "the good key is found among the junk");

	chmod(path("hostile"), 0777);
	warnings[0] = 0;
	tap_ok(hp_patch_verify(ctx, p, path("hostile"), NULL) < 0, "a world-writable trust directory is refused");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "world-writable") != NULL, "saying why");
	chmod(path("hostile"), 0755);
	if (geteuid() == 0) {
		warnings[0] = 0;
		fd = chown(path("hostile"), 4242, 4242);
		tap_ok(hp_patch_verify(ctx, p, path("hostile"), NULL) < 0, "a foreign-owned trust directory is refused");
		tap_ok(fd == 0 && strstr(hp_ctx_errmsg(ctx), "uid 4242") != NULL, "saying why");
		fd = chown(path("hostile"), 0, 0);
		(void)fd;
	} else {
		tap_skip("not root", "a foreign-owned trust directory is refused");
		tap_skip("not root", "saying why");
	}
	hp_patch_free(p);
}

int main(void)
{
	struct hp_ctx *ctx;
	char key_id[65] = "";
	uint8_t *sbuf = NULL;
	size_t slen = 0;

	snprintf(tmp, sizeof(tmp), "%s/hp-test-sign.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	hp_ctx_new(&ctx);
	hp_ctx_set_log(ctx, log_cb, NULL, HP_LOG_WARN);
	test_sha256();
	test_keygen(ctx, key_id);
	test_sign_verify(ctx, key_id, &sbuf, &slen);
	if (sbuf) {
		test_flip_every_byte(ctx, sbuf, slen);
		/* the same with OpenSSL's verifier where Nettle's is used by default (trust.c) */
		hp_ed25519_force_openssl(true);
		test_flip_every_byte(ctx, sbuf, slen);
		hp_ed25519_force_openssl(false);
		test_signer_field(ctx, sbuf, slen, key_id);
		test_bad_keys(ctx, sbuf, slen);
		test_hostile_trust_dir(ctx, sbuf, slen);
	}
	free(sbuf);
	hp_ctx_free(ctx);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmp);
	}
	return tap_exit();
}
