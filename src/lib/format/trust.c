/* SPDX-License-Identifier: MIT */
/*
 * The trust store: a directory of Ed25519 public keys.  Its contents are
 * treated as hostile just like patch files: entries are opened without
 * following symlinks or blocking on FIFOs, only regular *.pub files of a
 * bounded size are read, and a file that is not a valid Ed25519 public key
 * is skipped with a warning rather than failing the lookup (one bad file
 * dropped in by a package must not stop every patch from verifying).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "shared/ossl.h"

#include "lib/format/trust.h"

/*
 * Our own callback instead of OpenSSL's default, which would prompt on the
 * terminal for the passphrase of an encrypted key: a library must not.
 */
int hp_no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return -1;
}

/*
 * One place decides which directory is trusted, so the CLI, the agent and
 * apply agree.  secure_getenv: a set-uid caller must not let its invoker
 * redirect trust with the environment.
 */
const char *hp_trust_dir(const char *dir)
{
	const char *env;

	if (dir && *dir)
		return dir;
	env = secure_getenv(HP_TRUST_ENV);
	if (env && *env)
		return env;
	return HP_TRUST_DIR_DEFAULT;
}

/* Key ids are computed in one place so signer and verifier cannot disagree. */
int hp_key_id(struct hp_ctx *ctx, EVP_PKEY *pkey, uint8_t ret_id[HP_KEY_ID_LEN])
{
	uint8_t raw[HP_ED25519_PUB_LEN];
	size_t len = sizeof(raw);

	if (hp_ossl_load() < 0)	/* a key exists, so it is loaded; but say so rather than crash */
		return hp_err(ctx, -ENOSYS, "key: libcrypto.so.3 (OpenSSL 3) cannot be loaded");
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		ERR_clear_error();
		return hp_err(ctx, -EINVAL, "key: not an Ed25519 key");
	}
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof(raw)) {
		ERR_clear_error();
		return hp_err(ctx, -EINVAL, "key: cannot read the raw Ed25519 public key");
	}
	hp_sha256(raw, len, ret_id);
	return 0;
}

/*
 * Ownership and mode checks shared by the directory and its files: anyone
 * who can write there can make us trust their key, so such a directory or
 * key is refused, and the message says why and what to do.  Writable by
 * others means: by everyone, by a group other than root's, or owned by a
 * user who is neither root nor the caller (an owner can always chmod).
 * Returns 0 when safe, else -EPERM with the reason in ctx.
 */
static int check_safe(struct hp_ctx *ctx, const struct stat *st, const char *what, const char *dir,
		      const char *name)
{
	const char *sep = name ? "/" : "";
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (!name)
		name = "";
	if (st->st_mode & S_IWOTH)
		return hp_err(ctx, -EPERM, "trust: refusing %s '%s%s%s': it is world-writable (mode %04o), so anyone "
			      "could make hotpatch trust their key; run: chmod o-w '%s%s%s'", what, dir, sep, name,
			      mode, dir, sep, name);
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
		return hp_err(ctx, -EPERM, "trust: refusing %s '%s%s%s': group %u can write it (mode %04o), so its "
			      "members could make hotpatch trust their key; run: chmod g-w '%s%s%s'", what, dir, sep,
			      name, (unsigned)st->st_gid, mode, dir, sep, name);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return hp_err(ctx, -EPERM, "trust: refusing %s '%s%s%s': it is owned by uid %u, neither root nor the "
			      "caller, who could change it; run: chown root '%s%s%s'", what, dir, sep, name,
			      (unsigned)st->st_uid, dir, sep, name);
	return 0;
}

/* Only NAME.pub is a key: READMEs, editor backups and disabled keys (x.pub.off) are not. */
static bool has_pub_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".pub");
}

/*
 * Why: PEM_read_bio_PUBKEY builds an OSSL_DECODER context over every
 * provider's key types, about 9 M instructions per key, the largest cost of
 * a signed `hotpatch apply` (issue 15).  The files `hotpatch keygen` writes
 * are one shape: the SubjectPublicKeyInfo of an Ed25519 key, a fixed 12-byte
 * prefix and the 32-byte key, in one base64 line.  That shape is read
 * directly; NULL for anything else, which takes the general path.
 */
static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool ed25519_pem_fast(const char *buf, size_t len, uint8_t raw[HP_ED25519_PUB_LEN])
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----\n", end[] = "-----END PUBLIC KEY-----";
	static const uint8_t spki[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	uint8_t der[45];
	const char *b64 = buf + sizeof(begin) - 1, *p;
	size_t i;

	if (len < sizeof(begin) - 1 + 61 + sizeof(end) - 1 || memcmp(buf, begin, sizeof(begin) - 1))
		return false;
	if (b64[59] != '=' || b64[60] != '\n' || memcmp(b64 + 61, end, sizeof(end) - 1))
		return false;
	for (p = b64 + 61 + sizeof(end) - 1; p < buf + len; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			return false;
	/* 60 characters, 15 groups of 4: 45 bytes, the last one the padding's */
	for (i = 0; i < 15; i++) {
		int v[4], k;

		for (k = 0; k < 4; k++) {
			v[k] = i == 14 && k == 3 ? 0 : b64val(b64[4 * i + k]);
			if (v[k] < 0)
				return false;
		}
		der[3 * i] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		der[3 * i + 1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		der[3 * i + 2] = (uint8_t)(v[2] << 6 | v[3]);
	}
	if (memcmp(der, spki, sizeof(spki)) || der[44])
		return false;
	memcpy(raw, der + sizeof(spki), HP_ED25519_PUB_LEN);
	return true;
}

/*
 * Read one directory entry as a public key.  Returns 1 and the key when it
 * is a usable Ed25519 public key, 0 when the entry is to be ignored (after
 * logging why), or -ENOMEM.
 */
static int load_pub(struct hp_ctx *ctx, int dfd, const char *dir, const char *name, uint8_t ret_pub[HP_ED25519_PUB_LEN])
{
	_cleanup_close_ int fd = -1;
	char buf[HP_KEY_FILE_MAX + 1];
	EVP_PKEY *pkey;
	struct stat st;
	size_t len = 0, rawlen;
	BIO *bio;
	bool ok;

	/* Look before opening: opening a device node can have side effects. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		hp_info(ctx, "trust: ignoring '%s/%s': not a regular file", dir, name);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		hp_warn(ctx, "trust: cannot open '%s/%s': %s; skipped", dir, name, strerror(errno));
		return 0;
	}
	/* And again on what we opened, in case the entry was swapped meanwhile. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		hp_info(ctx, "trust: ignoring '%s/%s': not a regular file", dir, name);
		return 0;
	}
	if (st.st_size > (off_t)HP_KEY_FILE_MAX) {
		hp_warn(ctx, "trust: '%s/%s' is %lld bytes, larger than any public key; skipped", dir, name,
			(long long)st.st_size);
		return 0;
	}
	if (check_safe(ctx, &st, "key file", dir, name) < 0) {
		/* not trusted; the reason is said now, since the verdict will only be "untrusted key" */
		hp_warn(ctx, "%s; the key is ignored", ctx->errmsg);
		ctx->errmsg[0] = 0;
		return 0;
	}
	/* The size may change under us: read at most one byte more than allowed. */
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hp_warn(ctx, "trust: cannot read '%s/%s': %s; skipped", dir, name, strerror(errno));
			return 0;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > HP_KEY_FILE_MAX) {
		hp_warn(ctx, "trust: '%s/%s' grew past %u bytes while being read; skipped", dir, name,
			HP_KEY_FILE_MAX);
		return 0;
	}
	if (ed25519_pem_fast(buf, len, ret_pub))
		return 1;
	/* another PEM shape: OpenSSL decides (loaded now, shared/ossl.c) */
	if (hp_ossl_load() < 0) {
		hp_warn(ctx, "trust: '%s/%s' is not in the shape hotpatch keygen writes and libcrypto.so.3 cannot "
			"be loaded to read it; skipped", dir, name);
		return 0;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, hp_no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey) {
		hp_warn(ctx, "trust: '%s/%s' is not a PEM public key; skipped", dir, name);
		return 0;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		hp_warn(ctx, "trust: '%s/%s' is not an Ed25519 key; skipped", dir, name);
		EVP_PKEY_free(pkey);
		return 0;
	}
	rawlen = HP_ED25519_PUB_LEN;
	ok = EVP_PKEY_get_raw_public_key(pkey, ret_pub, &rawlen) == 1 && rawlen == HP_ED25519_PUB_LEN;
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	if (!ok) {
		hp_warn(ctx, "trust: '%s/%s': cannot read the raw Ed25519 public key; skipped", dir, name);
		return 0;
	}
	return 1;
}

/*
 * Scan the directory for the one key we need.  Every *.pub file is looked
 * at until the id matches; we do not cache, so removing a file from the
 * directory revokes the key for the next verification.
 */
int hp_trust_find(struct hp_ctx *ctx, const char *dir, const uint8_t key_id[HP_KEY_ID_LEN],
		  uint8_t ret_pub[HP_ED25519_PUB_LEN])
{
	_cleanup_closedir_ DIR *d = NULL;
	char hex[2 * HP_KEY_ID_LEN + 1];
	unsigned nkeys = 0;
	struct dirent *de;
	struct stat st;
	int dfd;

	hp_hex(key_id, HP_KEY_ID_LEN, hex);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int r = -errno;

		if (r == -ENOENT)
			return hp_err(ctx, -HP_E_UNKNOWNKEY,
				      "signing key %s is not trusted: trust directory '%s' does not exist", hex,
				      dir);
		return hp_err(ctx, r, "trust: cannot open trust directory '%s': %s", dir, strerror(-r));
	}
	if (fstat(dfd, &st) < 0) {
		int r = -errno;

		close(dfd);
		return hp_err(ctx, r, "trust: cannot stat '%s': %s", dir, strerror(-r));
	}
	if (check_safe(ctx, &st, "trust directory", dir, NULL) < 0) {
		close(dfd);
		return hp_err_prefix(ctx, -HP_E_UNKNOWNKEY, "signing key %s is not trusted: ", hex);
	}
	d = fdopendir(dfd);
	if (!d) {
		int r = -errno;

		close(dfd);
		return hp_err(ctx, r, "trust: cannot read '%s': %s", dir, strerror(-r));
	}
	for (;;) {
		uint8_t id[HP_KEY_ID_LEN], pub[HP_ED25519_PUB_LEN];
		int r;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return hp_err(ctx, -errno, "trust: cannot read '%s': %s", dir, strerror(errno));
			break;
		}
		if (de->d_name[0] == '.' || !has_pub_suffix(de->d_name))
			continue;
		if (++nkeys > HP_TRUST_MAX_KEYS) {
			hp_warn(ctx, "trust: '%s' has more than %u *.pub files; the rest are ignored", dir,
				HP_TRUST_MAX_KEYS);
			break;
		}
		r = load_pub(ctx, dirfd(d), dir, de->d_name, pub);
		if (r < 0)
			return hp_err(ctx, r, "trust: %s", strerror(-r));
		if (r == 0)
			continue;
		hp_sha256(pub, sizeof(pub), id);	/* the key id, as hp_key_id computes it */
		if (!memcmp(id, key_id, HP_KEY_ID_LEN)) {
			hp_debug(ctx, "trust: key %s is '%s/%s'", hex, dir, de->d_name);
			memcpy(ret_pub, pub, sizeof(pub));
			return 0;
		}
	}
	return hp_err(ctx, -HP_E_UNKNOWNKEY, "signing key %s is not trusted: no key with that id in '%s'", hex,
		      dir);
}

/*
 * Why: OpenSSL 3 spends ~10 M instructions before its first Ed25519
 * verification (dlopen of libcrypto, provider and configuration start-up,
 * key-management fetch), five times the rest of a signed `hotpatch apply`
 * (issue 15).  Nettle's verification (libhogweed, GnuTLS's crypto) needs
 * none of that; both implement RFC 8032 pure Ed25519, so a signature made
 * by OpenSSL (hotpatch sign) verifies with either, and test-sign checks
 * every corrupted byte with both.  Nettle is optional: without it, OpenSSL.
 */
static int (*nettle_verify)(const uint8_t *pub, size_t len, const uint8_t *msg, const uint8_t *sig);
static pthread_once_t nettle_once = PTHREAD_ONCE_INIT;
static bool force_openssl;

static void nettle_load(void)
{
	void *dl = dlopen("libhogweed.so.6", RTLD_NOW | RTLD_LOCAL);

	if (dl)	/* never dlclose'd */
		*(void **)&nettle_verify = dlsym(dl, "nettle_ed25519_sha512_verify");
}

void hp_ed25519_force_openssl(bool on)
{
	force_openssl = on;
}

int hp_ed25519_verify(struct hp_ctx *ctx, const uint8_t pub[HP_ED25519_PUB_LEN], const void *msg, size_t len,
		      const uint8_t sig[HP_ED25519_SIG_LEN])
{
	EVP_MD_CTX *md;
	EVP_PKEY *pkey;
	int ok;

	pthread_once(&nettle_once, nettle_load);
	if (nettle_verify && !force_openssl)
		return nettle_verify(pub, len, msg, sig) == 1;
	if (hp_ossl_load() < 0)
		return hp_err(ctx, -ENOSYS, "verify: neither libhogweed.so.6 (Nettle) nor libcrypto.so.3 (OpenSSL 3) "
			      "can be loaded");
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, HP_ED25519_PUB_LEN);
	md = EVP_MD_CTX_new();
	if (!pkey || !md) {
		if (pkey)
			EVP_PKEY_free(pkey);
		if (md)
			EVP_MD_CTX_free(md);
		ERR_clear_error();
		return hp_err(ctx, -EIO, "verify: OpenSSL cannot set up Ed25519 verification");
	}
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) != 1)
		ok = -1;
	else
		ok = EVP_DigestVerify(md, sig, HP_ED25519_SIG_LEN, msg, len) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	if (ok < 0)
		return hp_err(ctx, -EIO, "verify: OpenSSL cannot set up Ed25519 verification");
	return ok;
}
