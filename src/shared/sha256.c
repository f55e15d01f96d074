/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4, section 6.2), written from the standard.  Every
 * `hotpatch apply` hashes a few kilobytes (the bytes of the replaced
 * functions, the state record's HMAC); linking libcrypto for that cost
 * about 3 M instructions of dynamic linking per start (its 4,000 symbol
 * relocations, issue 15).  Large inputs (the builder's objects) still go to
 * OpenSSL's assembly when it can be loaded (util.c).  Checked against
 * OpenSSL in tests/unit/test-sign.c.
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "shared/sha256.h"

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* Why: the compression function on one 64-byte block (FIPS 180-4, 6.2.2). */
static void block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

/*
 * Why: the same compression with the x86 SHA extensions (SHA-NI: two rounds
 * per sha256rnds2, the message schedule by sha256msg1/msg2), about twenty
 * times fewer instructions than block(): a sweep seals a state record in
 * every process (issue 15).  State kept as ABEF/CDGH, as the instructions
 * want it.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bull, 0x0405060700010203ull);
	__m128i t, s0, s1, abef, cdgh, w[16], kw;
	int g;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);	/* CDAB */
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b);	/* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);						/* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xf0);					/* CDGH */
	for (; nblocks; nblocks--, p += 64) {
		abef = s0;
		cdgh = s1;
		for (g = 0; g < 16; g++) {
			if (g < 4) {
				w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), swap);
			} else {
				t = _mm_sha256msg1_epu32(w[g - 4], w[g - 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
				w[g] = _mm_sha256msg2_epu32(t, w[g - 1]);
			}
			kw = _mm_add_epi32(w[g], _mm_loadu_si128((const __m128i *)&K[4 * g]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, kw);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(kw, 0x0e));
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1b);		/* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xb1);		/* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xf0);		/* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);			/* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], s0);
	_mm_storeu_si128((__m128i *)&h[4], s1);
}

/* 1: SHA-NI, 0: portable C, -1: not decided yet.  hp_sha256_force_portable() is for the tests. */
static int impl = -1;

void hp_sha256_force_portable(bool on)
{
	__atomic_store_n(&impl, on ? 0 : -1, __ATOMIC_RELAXED);
}

/* Why: one place picks the implementation (CPUID leaf 7 EBX bit 29: SHA; SSSE3 and SSE4.1 in leaf 1). */
static void blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	int use = __atomic_load_n(&impl, __ATOMIC_RELAXED);

	if (use < 0) {
		unsigned a, b, c, d;
		bool ok = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1);

		ok = ok && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
		use = ok;
		__atomic_store_n(&impl, use, __ATOMIC_RELAXED);
	}
	if (use) {
		blocks_shani(h, p, nblocks);
		return;
	}
	for (; nblocks; nblocks--, p += 64)
		block(h, p);
}

void hp_sha256_init(struct hp_sha256_ctx *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, iv, sizeof(iv));
	c->len = 0;
	c->n = 0;
}

void hp_sha256_update(struct hp_sha256_ctx *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	c->len += len;
	if (c->n) {
		size_t take = len < 64 - c->n ? len : 64 - c->n;

		memcpy(c->buf + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n < 64)
			return;
		blocks(c->h, c->buf, 1);
		c->n = 0;
	}
	blocks(c->h, p, len / 64);
	p += len / 64 * 64;
	len %= 64;
	memcpy(c->buf, p, len);
	c->n = len;
}

void hp_sha256_final(struct hp_sha256_ctx *c, uint8_t out[32])
{
	uint64_t bits = c->len * 8;
	int i;

	c->buf[c->n++] = 0x80;
	if (c->n > 56) {
		memset(c->buf + c->n, 0, 64 - c->n);
		blocks(c->h, c->buf, 1);
		c->n = 0;
	}
	memset(c->buf + c->n, 0, 56 - c->n);
	for (i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	blocks(c->h, c->buf, 1);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}
