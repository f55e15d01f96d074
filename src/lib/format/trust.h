/* SPDX-License-Identifier: MIT */
/*
 * Ed25519 keys and the trust store (docs/patch-format.md, "Keys and the
 * trust store"): a directory of SubjectPublicKeyInfo PEM files named *.pub.
 * A key is named by its key id, the SHA-256 of its raw 32-byte public key.
 */
#ifndef HP_LIB_TRUST_H
#define HP_LIB_TRUST_H

#include <openssl/evp.h>
#include "lib/core/internal.h"

#define HP_TRUST_DIR_DEFAULT "/etc/hotpatch/trusted.d"
#define HP_TRUST_ENV "HOTPATCH_TRUST_DIR"
#define HP_KEY_ID_LEN 32
#define HP_ED25519_PUB_LEN 32
#define HP_ED25519_SIG_LEN 64
/* Largest key file we read; real ones are a few hundred bytes. */
#define HP_KEY_FILE_MAX (16u << 10)
/* Most *.pub files looked at in one trust directory. */
#define HP_TRUST_MAX_KEYS 4096

/* The trust directory to use: dir, else $HOTPATCH_TRUST_DIR, else the default. */
const char *hp_trust_dir(const char *dir);

/* Key id of an Ed25519 key (private or public). */
int hp_key_id(struct hp_ctx *ctx, EVP_PKEY *pkey, uint8_t ret_id[HP_KEY_ID_LEN]);

/*
 * Find the trusted public key with this id in dir (already resolved).
 * Returns 0 and the raw 32-byte public key, -HP_E_UNKNOWNKEY
 * if no usable *.pub file has that id (including when dir does not exist),
 * or -errno if dir cannot be read.  Unusable entries are skipped with a
 * warning; an unsafe directory (world-writable, foreign owner) is warned about.
 */
int hp_trust_find(struct hp_ctx *ctx, const char *dir, const uint8_t key_id[HP_KEY_ID_LEN],
		  uint8_t ret_pub[HP_ED25519_PUB_LEN]);

/*
 * Verify an Ed25519 signature (RFC 8032, pure) of msg by the raw public key:
 * 1 good, 0 bad, -errno when no implementation can be loaded.  Nettle's
 * (libhogweed) when it can be loaded, else OpenSSL's (trust.c says why).
 */
int hp_ed25519_verify(struct hp_ctx *ctx, const uint8_t pub[HP_ED25519_PUB_LEN], const void *msg, size_t len,
		      const uint8_t sig[HP_ED25519_SIG_LEN]);
/* Tests: verify with OpenSSL even where Nettle exists (false: Nettle again when it loads). */
void hp_ed25519_force_openssl(bool on);

/* A pem_password_cb that refuses: the library never prompts for a passphrase. */
int hp_no_passphrase(char *buf, int size, int rwflag, void *userdata);

#endif
