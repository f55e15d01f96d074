/* SPDX-License-Identifier: MIT */
/* Escaping text chosen by others before it reaches a terminal (escape.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/escape.h"

/* Why: the length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, beyond Unicode, or a surrogate */
	return n;
}

size_t hp_escape(const char *s, unsigned flags, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "(null)");
	size_t out = 0;

#define PUT(c) do { if (out + 1 < size) buf[out] = (char)(c); out++; } while (0)
	while (*p) {
		size_t n = utf8_len(p), i;
		bool esc;

		if (flags & HP_ESCAPE_UTF8_ONLY)
			esc = n == 0;
		else
			esc = n == 0 || *p < 0x20 || *p == 0x7f || *p == '\\' ||
			      (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);	/* C1 controls, U+0080..U+009F */
		if (!esc) {
			for (i = 0; i < n; i++)
				PUT(p[i]);
			p += n;
			continue;
		}
		if (*p == '\\' && !(flags & HP_ESCAPE_UTF8_ONLY)) {
			PUT('\\');
			PUT('\\');
			p++;
			continue;
		}
		/* an escaped C1 character shows both of its bytes */
		for (i = 0; i < (n ? n : 1); i++) {
			static const char hex[] = "0123456789abcdef";

			PUT('\\');
			PUT('x');
			PUT(hex[p[i] >> 4]);
			PUT(hex[p[i] & 15]);
		}
		p += n ? n : 1;
	}
#undef PUT
	if (size)
		buf[out < size ? out : size - 1] = 0;
	return out;
}

/* Why: callers wrap printf arguments, several per call, without owning a buffer. */
static const char *esc_ring(const char *s, unsigned flags)
{
	static __thread char *ring[8];
	static __thread size_t cap[8];
	static __thread unsigned next;
	unsigned k = next++ % 8;
	size_t need = hp_escape(s, flags, NULL, 0) + 1;

	if (need > cap[k]) {
		char *nb = realloc(ring[k], need);

		if (!nb)
			return "?";
		ring[k] = nb;
		cap[k] = need;
	}
	hp_escape(s, flags, ring[k], cap[k]);
	return ring[k];
}

const char *hp_esc(const char *s)
{
	return esc_ring(s, 0);
}

const char *hp_esc_utf8(const char *s)
{
	return esc_ring(s, HP_ESCAPE_UTF8_ONLY);
}
