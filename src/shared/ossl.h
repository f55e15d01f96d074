/* SPDX-License-Identifier: MIT */
/*
 * libcrypto, loaded on first use (ossl.c says why).  A file that calls
 * OpenSSL includes its OpenSSL headers, then this one: the functions listed
 * below become calls through pointers filled by hp_ossl_load(), which must
 * have returned 0 before the first of them runs.
 */
#ifndef HP_SHARED_OSSL_H
#define HP_SHARED_OSSL_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define HP_OSSL_FUNCS(X) \
	X(BIO_ctrl) X(BIO_free) X(BIO_new) X(BIO_new_mem_buf) X(BIO_s_mem) X(BIO_s_secmem) \
	X(ERR_clear_error) X(EVP_DecodeBlock) X(EVP_DigestSign) X(EVP_DigestSignInit) X(EVP_DigestVerify) \
	X(EVP_DigestVerifyInit) X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_PKEY_Q_keygen) X(EVP_PKEY_free) \
	X(EVP_PKEY_get_raw_public_key) X(EVP_PKEY_is_a) X(EVP_PKEY_new_raw_public_key) X(OPENSSL_cleanse) \
	X(PEM_read_bio_PUBKEY) X(PEM_read_bio_PrivateKey) X(PEM_write_bio_PUBKEY) X(PEM_write_bio_PrivateKey)

struct hp_ossl {
#define HP_OSSL_MEMBER(f) __typeof__(f) *f;
	HP_OSSL_FUNCS(HP_OSSL_MEMBER)
#undef HP_OSSL_MEMBER
};
extern struct hp_ossl hp_ossl;

/* 0 once libcrypto.so.3 is loaded and every function above found; -ENOSYS otherwise (cached). */
int hp_ossl_load(void);

#ifndef HP_OSSL_NO_REDIRECT
#define BIO_ctrl (*hp_ossl.BIO_ctrl)
#define BIO_free (*hp_ossl.BIO_free)
#define BIO_new (*hp_ossl.BIO_new)
#define BIO_new_mem_buf (*hp_ossl.BIO_new_mem_buf)
#define BIO_s_mem (*hp_ossl.BIO_s_mem)
#define BIO_s_secmem (*hp_ossl.BIO_s_secmem)
#define ERR_clear_error (*hp_ossl.ERR_clear_error)
#define EVP_DecodeBlock (*hp_ossl.EVP_DecodeBlock)
#define EVP_DigestSign (*hp_ossl.EVP_DigestSign)
#define EVP_DigestSignInit (*hp_ossl.EVP_DigestSignInit)
#define EVP_DigestVerify (*hp_ossl.EVP_DigestVerify)
#define EVP_DigestVerifyInit (*hp_ossl.EVP_DigestVerifyInit)
#define EVP_MD_CTX_free (*hp_ossl.EVP_MD_CTX_free)
#define EVP_MD_CTX_new (*hp_ossl.EVP_MD_CTX_new)
#define EVP_PKEY_Q_keygen (*hp_ossl.EVP_PKEY_Q_keygen)
#define EVP_PKEY_free (*hp_ossl.EVP_PKEY_free)
#define EVP_PKEY_get_raw_public_key (*hp_ossl.EVP_PKEY_get_raw_public_key)
#define EVP_PKEY_is_a (*hp_ossl.EVP_PKEY_is_a)
#define EVP_PKEY_new_raw_public_key (*hp_ossl.EVP_PKEY_new_raw_public_key)
#define OPENSSL_cleanse (*hp_ossl.OPENSSL_cleanse)
#define PEM_read_bio_PUBKEY (*hp_ossl.PEM_read_bio_PUBKEY)
#define PEM_read_bio_PrivateKey (*hp_ossl.PEM_read_bio_PrivateKey)
#define PEM_write_bio_PUBKEY (*hp_ossl.PEM_write_bio_PUBKEY)
#define PEM_write_bio_PrivateKey (*hp_ossl.PEM_write_bio_PrivateKey)
#endif

#endif
