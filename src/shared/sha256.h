/* SPDX-License-Identifier: MIT */
/* SHA-256 without libcrypto (sha256.c says why). */
#ifndef HP_SHARED_SHA256_H
#define HP_SHARED_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

void hp_sha256_init(struct hp_sha256_ctx *c);
void hp_sha256_update(struct hp_sha256_ctx *c, const void *buf, size_t len);
void hp_sha256_final(struct hp_sha256_ctx *c, uint8_t out[32]);
/* Tests: use the portable C compression even where SHA-NI exists (false: decide by CPUID again). */
void hp_sha256_force_portable(bool on);

#endif
