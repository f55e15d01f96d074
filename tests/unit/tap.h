/* SPDX-License-Identifier: MIT */
/* Minimal TAP producer for unit tests (meson test protocol 'tap'). */
#ifndef HP_TAP_H
#define HP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
}

static inline void tap_done(void)
{
	printf("1..%d\n", tap_n);
}

__attribute__((format(printf, 2, 3))) static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 2, 3))) static inline void tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("ok %d - ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
}

#define tap_is_int(a, b, name)                                                                      \
	do {                                                                                        \
		long long _a = (long long)(a), _b = (long long)(b);                                 \
		if (!tap_ok(_a == _b, "%s", name))                                                  \
			printf("#   got %lld, expected %lld\n", _a, _b);                                \
	} while (0)

#define tap_is_str(a, b, name)                                                                      \
	do {                                                                                        \
		const char *_a = (a), *_b = (b);                                                    \
		if (!tap_ok(_a && _b && !strcmp(_a, _b), "%s", name))                               \
			printf("#   got '%s', expected '%s'\n", _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)

static inline int tap_exit(void)
{
	tap_done();
	return tap_failed ? 1 : 0;
}

#endif
