/* SPDX-License-Identifier: MIT */
/*
 * Key generation, signing and verification of patch files
 * (docs/patch-format.md, "Signature block").  The signature is Ed25519 over
 * the whole file with only the 64 signature bytes zeroed, so the payload,
 * manifest, headers and the rest of the signature block (algorithm, key id)
 * are all covered.  Verification refuses with a distinct code for each
 * cause: unsigned, unknown key, bad signature.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "shared/ossl.h"

#include "lib/format/patch.h"
#include "lib/format/trust.h"

#define SIG_FIELD_OFF offsetof(struct hp_sig_block, sig)

/* Cleanup helpers for the OpenSSL and patch objects below, so every exit path frees them. */
static void pkey_freep(EVP_PKEY **p)
{
	if (*p)	/* not before libcrypto is loaded (shared/ossl.h) */
		EVP_PKEY_free(*p);
}

static void bio_freep(BIO **p)
{
	if (*p)
		BIO_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
	if (*p)
		EVP_MD_CTX_free(*p);
}

/* Why: every path into OpenSSL starts here (libcrypto is loaded on first use, shared/ossl.c). */
static int need_ossl(struct hp_ctx *ctx, const char *what)
{
	if (hp_ossl_load() < 0)
		return hp_err(ctx, -ENOSYS, "%s: libcrypto.so.3 (OpenSSL 3) cannot be loaded", what);
	return 0;
}

static void patch_freep(struct hp_patch **p)
{
	hp_patch_free(*p);
}

#define _cleanup_pkey_ _cleanup_(pkey_freep)
#define _cleanup_bio_ _cleanup_(bio_freep)
#define _cleanup_md_ctx_ _cleanup_(md_ctx_freep)
#define _cleanup_patch_ _cleanup_(patch_freep)

/*
 * Create one key file, refusing to replace anything (O_EXCL, no symlink
 * following) and with its final mode from the first instant, so a private
 * key is never readable by others, not even between create and chmod.
 */
static int create_key_file(struct hp_ctx *ctx, const char *path, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		int r = -errno;

		if (r == -EEXIST)
			return hp_err(ctx, r, "keygen: '%s' already exists; not overwriting it", path);
		return hp_err(ctx, r, "keygen: cannot create '%s': %s", path, strerror(-r));
	}
	return fd;
}

/* Write a memory BIO's contents to fd and make them durable. */
static int write_bio(struct hp_ctx *ctx, int fd, BIO *bio, const char *path)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	int r;

	if (n <= 0)
		return hp_err(ctx, -EIO, "keygen: cannot encode the key for '%s'", path);
	r = hp_write_all(fd, data, (size_t)n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		return hp_err(ctx, r, "keygen: cannot write '%s': %s", path, strerror(-r));
	return 0;
}

/*
 * Both files are created before either is written, so an existing BASE.pub
 * cannot leave a fresh BASE.key behind; on any failure we remove only what
 * we created.  The private key is encoded in OpenSSL's secure-memory BIO,
 * which is wiped when freed.
 */
int hp_keygen(struct hp_ctx *ctx, const char *base, char ret_key_id[65])
{
	_cleanup_free_ char *key_path = NULL, *pub_path = NULL;
	_cleanup_close_ int kfd = -1, pfd = -1;
	_cleanup_pkey_ EVP_PKEY *pkey = NULL;
	_cleanup_bio_ BIO *kbio = NULL, *pbio = NULL;
	uint8_t id[HP_KEY_ID_LEN];
	int r;

	if (!base || !*base)
		return hp_err(ctx, -EINVAL, "keygen: empty output name");
	if (asprintf(&key_path, "%s.key", base) < 0 || asprintf(&pub_path, "%s.pub", base) < 0)
		return -ENOMEM;
	r = need_ossl(ctx, "keygen");
	if (r < 0)
		return r;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		ERR_clear_error();
		return hp_err(ctx, -EIO, "keygen: OpenSSL cannot generate an Ed25519 key");
	}
	r = hp_key_id(ctx, pkey, id);
	if (r < 0)
		return r;
	kbio = BIO_new(BIO_s_secmem());
	pbio = BIO_new(BIO_s_mem());
	if (!kbio || !pbio)
		return -ENOMEM;
	/* No cipher: PKCS#8 PrivateKeyInfo ("BEGIN PRIVATE KEY"), protected by the file mode. */
	if (PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pbio, pkey) != 1) {
		ERR_clear_error();
		return hp_err(ctx, -EIO, "keygen: OpenSSL cannot encode the key");
	}
	kfd = create_key_file(ctx, key_path, 0600);
	if (kfd < 0)
		return kfd;
	pfd = create_key_file(ctx, pub_path, 0644);
	if (pfd < 0) {
		unlink(key_path);
		return pfd;
	}
	r = write_bio(ctx, kfd, kbio, key_path);
	if (r == 0)
		r = write_bio(ctx, pfd, pbio, pub_path);
	if (r < 0) {
		unlink(key_path);
		unlink(pub_path);
		return r;
	}
	hp_hex(id, sizeof(id), ret_key_id);
	return 0;
}

/*
 * Load a PEM private key.  The file bytes are wiped before they are freed;
 * a key readable by group or others is used but warned about, as is the
 * habit of ssh and gpg users.  A pipe is accepted too, so that a key can
 * come from a secret store without touching the disk:
 * `hotpatch sign --key <(vault-read release.key) fix.hpatch`.
 */
static int load_private_key(struct hp_ctx *ctx, const char *path, EVP_PKEY **ret_pkey)
{
	_cleanup_close_ int fd = -1;
	_cleanup_bio_ BIO *bio = NULL;
	char buf[HP_KEY_FILE_MAX + 1];
	EVP_PKEY *pkey;
	struct stat st;
	size_t len = 0;
	int r;

	r = need_ossl(ctx, "sign");
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		return hp_err(ctx, r, "sign: cannot open key '%s': %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
		return hp_err(ctx, -EINVAL, "sign: key '%s' is not a regular file or a pipe", path);
	if (S_ISREG(st.st_mode) && (st.st_mode & 077))
		hp_warn(ctx, "sign: private key '%s' is accessible by others (mode %04o); use chmod 600", path,
			(unsigned)(st.st_mode & 07777));
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (r == 0 && len > HP_KEY_FILE_MAX)
		r = -EFBIG;
	if (r == 0) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (!bio)
			r = -ENOMEM;
	}
	pkey = r == 0 ? PEM_read_bio_PrivateKey(bio, NULL, hp_no_passphrase, NULL) : NULL;
	OPENSSL_cleanse(buf, sizeof(buf));
	ERR_clear_error();
	if (r < 0)
		return hp_err(ctx, r, "sign: cannot read key '%s': %s", path, strerror(-r));
	if (!pkey)
		return hp_err(ctx, -EINVAL,
			      "sign: '%s' is not an unencrypted PEM private key (make one with 'hotpatch keygen')",
			      path);
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		EVP_PKEY_free(pkey);
		return hp_err(ctx, -EINVAL, "sign: '%s' is not an Ed25519 key", path);
	}
	*ret_pkey = pkey;
	return 0;
}

/*
 * The manifest with "signer" set.  We start from the parsed JSON rather than
 * the decoded struct so that keys this version does not know (written by a
 * newer builder) survive signing.
 */
static int signed_manifest(struct hp_ctx *ctx, const struct hp_patch *p, const char *key_hex, char **ret_text)
{
	json_auto_t *j = NULL;
	char *text;

	j = p->json ? json_deep_copy(p->json) : hp_manifest_to_json(&p->man);
	if (!j || json_object_set_new(j, "signer", json_string(key_hex)) < 0)
		return -ENOMEM;
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return hp_err(ctx, -ENOMEM, "sign: cannot serialise the manifest");
	*ret_text = text;
	return 0;
}

/*
 * Signing re-serialises the whole file because the manifest grows by the
 * signer field; the block is written with a zero signature field first so
 * the bytes we sign are exactly the bytes a verifier reconstructs.
 */
int hp_patch_sign(struct hp_ctx *ctx, const struct hp_patch *p, const char *key_path, uint8_t **ret_buf,
		  size_t *ret_len)
{
	_cleanup_pkey_ EVP_PKEY *pkey = NULL;
	_cleanup_md_ctx_ EVP_MD_CTX *md = NULL;
	_cleanup_free_ char *manifest = NULL;
	_cleanup_free_ uint8_t *out = NULL;
	_cleanup_patch_ struct hp_patch *np = NULL;
	struct hp_patch_writer w;
	struct hp_sig_block blk;
	uint8_t id[HP_KEY_ID_LEN], sig[HP_ED25519_SIG_LEN];
	char hex[2 * HP_KEY_ID_LEN + 1];
	size_t out_len = 0, sig_len = sizeof(sig);
	int r;

	r = load_private_key(ctx, key_path, &pkey);
	if (r < 0)
		return r;
	r = hp_key_id(ctx, pkey, id);
	if (r < 0)
		return r;
	hp_hex(id, sizeof(id), hex);
	r = signed_manifest(ctx, p, hex, &manifest);
	if (r < 0)
		return r;

	memset(&blk, 0, sizeof(blk));
	memcpy(blk.magic, HP_SIG_MAGIC, sizeof(blk.magic));
	blk.alg = htole32(HP_SIG_ALG_ED25519);
	memcpy(blk.key_id, id, sizeof(id));
	r = hp_patch_to_writer(p, &w);
	if (r < 0)
		return hp_err(ctx, r, "sign: %s", strerror(-r));
	w.manifest = manifest;
	w.sig = &blk;
	r = hp_patch_write_mem(ctx, &w, &out, &out_len);
	hp_patch_writer_release(&w);
	if (r < 0)
		return hp_err_prefix(ctx, r, "sign: ");

	/* Read our own output back: it must be a valid patch, and this tells us where the block is. */
	r = hp_patch_load(ctx, out, out_len, &np);
	if (r < 0)
		return hp_err_prefix(ctx, r, "sign: the re-serialised patch does not parse: ");
	if (!np->has_sig_section || np->sig_off > out_len || out_len - np->sig_off < HP_SIG_SIZE ||
	    memcmp(out + np->sig_off, &blk, HP_SIG_SIZE) || !np->man.signer || strcmp(np->man.signer, hex))
		return hp_err(ctx, -EIO, "sign: the re-serialised patch lost its signature block or signer");

	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	/* Pure Ed25519 takes no digest and signs the whole message in one call. */
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, out, out_len) != 1 || sig_len != sizeof(sig)) {
		ERR_clear_error();
		return hp_err(ctx, -EIO, "sign: OpenSSL Ed25519 signing failed");
	}
	memcpy(out + np->sig_off + SIG_FIELD_OFF, sig, sizeof(sig));
	*ret_buf = TAKE_PTR(out);
	*ret_len = out_len;
	return 0;
}

/* An unsigned block must be empty: leftovers mean a signature was damaged or stripped. */
static bool all_zero(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * Decide what the signature block claims before touching any key.  The
 * order matters for "any modified byte is a bad signature": a signer named
 * by the manifest but no signature, or a key id in the block that differs
 * from the manifest's signer, can only come from editing a signed file, so
 * both are -HP_E_BADSIG rather than "unsigned" or "unknown key".
 */
static int check_block(struct hp_ctx *ctx, const struct hp_patch *p, const char *id_hex)
{
	const struct hp_sig_block *b = &p->sig;
	const char *signer = p->man.signer;
	uint32_t alg;

	if (p->has_sig_section && memcmp(b->magic, HP_SIG_MAGIC, sizeof(b->magic)))
		return hp_err(ctx, -HP_E_FORMAT, "verify: signature block has a bad magic number");
	alg = p->has_sig_section ? le32toh(b->alg) : HP_SIG_ALG_NONE;
	if (alg == HP_SIG_ALG_NONE) {
		if (p->has_sig_section && !all_zero((const uint8_t *)b + sizeof(b->magic), sizeof(*b) - sizeof(b->magic)))
			return hp_err(ctx, -HP_E_BADSIG,
				      "verify: signature block says unsigned but carries a key id or signature: "
				      "the file was modified");
		if (signer)
			return hp_err(ctx, -HP_E_BADSIG,
				      "verify: manifest names signer %s but the file carries no signature: "
				      "the signature was removed", signer);
		return hp_err(ctx, -HP_E_UNSIGNED, "verify: patch '%s' is not signed", p->man.id);
	}
	if (alg != HP_SIG_ALG_ED25519)
		return hp_err(ctx, -HP_E_BADSIG, "verify: unknown signature algorithm %u", alg);
	if (!signer)
		return hp_err(ctx, -HP_E_BADSIG,
			      "verify: signed by key %s but the manifest names no signer: the file was modified",
			      id_hex);
	if (strcmp(signer, id_hex))
		return hp_err(ctx, -HP_E_BADSIG,
			      "verify: manifest signer %s differs from the signature's key id %s: the file was "
			      "modified", signer, id_hex);
	return 0;
}

/*
 * Cheap structural checks first (no key, no I/O), then the trust lookup,
 * then Ed25519 over a private copy of the file with the signature field
 * zeroed: Ed25519 cannot stream, and the patch's own bytes are const.
 */
int hp_patch_verify(struct hp_ctx *ctx, const struct hp_patch *p, const char *trust_dir, char ret_key_id[65])
{
	_cleanup_free_ uint8_t *msg = NULL;
	uint8_t pub[HP_ED25519_PUB_LEN];
	char hex[2 * HP_KEY_ID_LEN + 1];
	const char *dir = hp_trust_dir(trust_dir);
	int r, ok;

	hp_hex(p->sig.key_id, sizeof(p->sig.key_id), hex);
	r = check_block(ctx, p, hex);
	if (r < 0)
		return r;
	if (p->sig_off > p->len || p->len - p->sig_off < HP_SIG_SIZE)
		return hp_err(ctx, -HP_E_FORMAT, "verify: signature block lies outside the file");
	r = hp_trust_find(ctx, dir, p->sig.key_id, pub);
	if (r < 0)
		return r;

	/* The signed message: the file with the 64 signature bytes zeroed. */
	msg = malloc(p->len);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, p->buf, p->len);
	memset(msg + p->sig_off + SIG_FIELD_OFF, 0, HP_ED25519_SIG_LEN);
	ok = hp_ed25519_verify(ctx, pub, msg, p->len, p->sig.sig);
	if (ok < 0)
		return ok;
	if (ok != 1)
		return hp_err(ctx, -HP_E_BADSIG,
			      "verify: bad signature by key %s on patch '%s': the file was modified after signing",
			      hex, p->man.id);
	hp_debug(ctx, "verify: patch '%s' has a good signature by %s (trust directory '%s')", p->man.id, hex,
		 dir);
	if (ret_key_id)
		memcpy(ret_key_id, hex, sizeof(hex));
	return 0;
}

/*
 * Detached signatures of other documents (a repository index) with the same
 * keys as patches.  The signed message is a fixed prefix, the purpose and
 * the document, so a signature made for one purpose (or a patch file's
 * signature) can never be replayed as another.
 */
#define BLOB_MAGIC "hotpatch-sig-v1"
#define BLOB_PREFIX "hotpatch detached signature v1\n"

static int blob_message(const char *purpose, const void *buf, size_t len, uint8_t **ret_msg, size_t *ret_len)
{
	size_t plen = strlen(BLOB_PREFIX), ulen = strlen(purpose);
	uint8_t *m;

	if (!ulen || ulen > 64 || strchr(purpose, '\n'))
		return -EINVAL;
	m = malloc(plen + ulen + 1 + len + 1);
	if (!m)
		return -ENOMEM;
	memcpy(m, BLOB_PREFIX, plen);
	memcpy(m + plen, purpose, ulen);
	m[plen + ulen] = '\n';
	if (len)
		memcpy(m + plen + ulen + 1, buf, len);
	*ret_msg = m;
	*ret_len = plen + ulen + 1 + len;
	return 0;
}

/* Sign buf for purpose; the signature is one text line (BLOB_MAGIC key-id-hex sig-hex). */
int hp_blob_sign(struct hp_ctx *ctx, const char *key_path, const char *purpose, const void *buf, size_t len,
		 char **ret_sig)
{
	_cleanup_pkey_ EVP_PKEY *pkey = NULL;
	_cleanup_md_ctx_ EVP_MD_CTX *md = NULL;
	_cleanup_free_ uint8_t *msg = NULL;
	uint8_t id[HP_KEY_ID_LEN], sig[HP_ED25519_SIG_LEN];
	char idhex[2 * HP_KEY_ID_LEN + 1], sighex[2 * HP_ED25519_SIG_LEN + 1], *out;
	size_t mlen, sig_len = sizeof(sig);
	int r;

	r = blob_message(purpose, buf, len, &msg, &mlen);
	if (r < 0)
		return hp_err(ctx, r, "sign: bad purpose '%s'", purpose);
	r = load_private_key(ctx, key_path, &pkey);
	if (r < 0)
		return r;
	r = hp_key_id(ctx, pkey, id);
	if (r < 0)
		return r;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, mlen) != 1 || sig_len != sizeof(sig)) {
		ERR_clear_error();
		return hp_err(ctx, -EIO, "sign: OpenSSL Ed25519 signing failed");
	}
	hp_hex(id, sizeof(id), idhex);
	hp_hex(sig, sizeof(sig), sighex);
	if (asprintf(&out, "%s %s %s\n", BLOB_MAGIC, idhex, sighex) < 0)
		return -ENOMEM;
	*ret_sig = out;
	return 0;
}

/*
 * Verify a detached signature line against the trust directory: 0 and the
 * signer's key id, -HP_E_UNSIGNED (no signature text), -HP_E_FORMAT (not a
 * signature line), -HP_E_UNKNOWNKEY, -HP_E_BADSIG.
 */
int hp_blob_verify(struct hp_ctx *ctx, const char *trust_dir, const char *purpose, const void *buf, size_t len,
		   const char *sig_text, size_t sig_len, char ret_key_id[65])
{
	_cleanup_free_ uint8_t *msg = NULL;
	uint8_t id[HP_KEY_ID_LEN], sig[HP_ED25519_SIG_LEN], pub[HP_ED25519_PUB_LEN];
	char line[256], idhex[2 * HP_KEY_ID_LEN + 1], sighex[2 * HP_ED25519_SIG_LEN + 1];
	size_t mlen, ml = strlen(BLOB_MAGIC);
	int r, ok;

	if (!sig_text || !sig_len)
		return hp_err(ctx, -HP_E_UNSIGNED, "verify: no signature");
	if (sig_len >= sizeof(line))
		return hp_err(ctx, -HP_E_FORMAT, "verify: signature is not one %s line", BLOB_MAGIC);
	memcpy(line, sig_text, sig_len);
	line[sig_len] = 0;
	line[strcspn(line, "\n")] = 0;
	if (strncmp(line, BLOB_MAGIC " ", ml + 1) || strlen(line) != ml + 1 + 64 + 1 + 128 || line[ml + 65] != ' ')
		return hp_err(ctx, -HP_E_FORMAT, "verify: signature is not one %s line", BLOB_MAGIC);
	memcpy(idhex, line + ml + 1, 64);
	idhex[64] = 0;
	memcpy(sighex, line + ml + 66, 128);
	sighex[128] = 0;
	if (hp_unhex(idhex, id, sizeof(id)) != (int)sizeof(id) || hp_unhex(sighex, sig, sizeof(sig)) != (int)sizeof(sig))
		return hp_err(ctx, -HP_E_FORMAT, "verify: signature is not one %s line", BLOB_MAGIC);
	r = blob_message(purpose, buf, len, &msg, &mlen);
	if (r < 0)
		return hp_err(ctx, r, "verify: bad purpose '%s'", purpose);
	r = hp_trust_find(ctx, hp_trust_dir(trust_dir), id, pub);
	if (r < 0)
		return r;
	ok = hp_ed25519_verify(ctx, pub, msg, mlen, sig);
	if (ok < 0)
		return ok;
	if (ok != 1)
		return hp_err(ctx, -HP_E_BADSIG, "verify: bad signature by key %s on the %s: it was modified after signing",
			      idhex, purpose);
	if (ret_key_id)
		memcpy(ret_key_id, idhex, sizeof(idhex));
	return 0;
}
