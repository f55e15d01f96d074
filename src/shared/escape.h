/* SPDX-License-Identifier: MIT */
/*
 * Text from patch files, state records and processes (descriptions,
 * function names, paths, process names) is chosen by whoever made them.
 * Printed raw, an escape sequence in it drives the operator's terminal:
 * it can recolour, move the cursor, rewrite earlier lines ("applied"
 * over "FAILED"), set the window title, or on some terminals worse.
 */
#ifndef HP_SHARED_ESCAPE_H
#define HP_SHARED_ESCAPE_H

#include <stddef.h>

enum hp_escape_flags {
	HP_ESCAPE_UTF8_ONLY = 1 << 0,	/* only bytes that are not UTF-8 (for JSON, which escapes controls itself) */
};

/*
 * Write s into buf (size bytes, always NUL-terminated when size > 0) with
 * every control character (C0, DEL, and C1 whether as a raw byte or as
 * UTF-8 U+0080..U+009F), every byte that is not part of valid UTF-8, and
 * the backslash itself written as \xNN (backslash: \\), so what is shown
 * is exactly what the text holds and cannot act on a terminal.  Returns
 * the length the whole result needs (without the NUL), like snprintf.
 */
size_t hp_escape(const char *s, unsigned flags, char *buf, size_t size);

/*
 * hp_escape(s, 0) into one of 8 buffers owned by the calling thread, reused
 * in turn: valid until the 8th call after it (enough for one printf's
 * arguments).  NULL gives "(null)"; never returns NULL (on allocation
 * failure the text is replaced by "?").
 */
const char *hp_esc(const char *s);
/* The same with HP_ESCAPE_UTF8_ONLY: text that jansson accepts as a string. */
const char *hp_esc_utf8(const char *s);

#endif
