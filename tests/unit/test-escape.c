/* SPDX-License-Identifier: MIT */
/* hp_escape: what reaches a terminal from text others chose (src/shared/escape.c). */
#include "shared/escape.h"
#include "tap.h"

static void check(const char *in, unsigned flags, const char *want, const char *what)
{
	char buf[256];
	size_t n = hp_escape(in, flags, buf, sizeof(buf));

	tap_ok(!strcmp(buf, want) && n == strlen(want), "%s: got \"%s\"", what, buf);
}

int main(void)
{
	char small[8];
	size_t n;

	check("plain text, CVE-2024-1234", 0, "plain text, CVE-2024-1234", "plain text unchanged");
	check("\x1b[2J\x1b]0;pwned\x07ok", 0, "\\x1b[2J\\x1b]0;pwned\\x07ok", "ESC, OSC and BEL escaped");
	check("a\rb\nc\td\x7f", 0, "a\\x0db\\x0ac\\x09d\\x7f", "CR, LF, TAB, DEL escaped");
	check("caf\xc3\xa9 \xe2\x9c\x93", 0, "caf\xc3\xa9 \xe2\x9c\x93", "valid UTF-8 kept");
	check("\xc2\x9b" "31m", 0, "\\xc2\\x9b31m", "C1 CSI as UTF-8 escaped");
	check("\x9b" "31m", 0, "\\x9b31m", "raw C1 byte escaped");
	check("\xc0\xaf \xed\xa0\x80 \xf8", 0, "\\xc0\\xaf \\xed\\xa0\\x80 \\xf8", "overlong, surrogate, bad lead escaped");
	check("\xe2\x9c", 0, "\\xe2\\x9c", "truncated sequence escaped");
	check("a\\x1b", 0, "a\\\\x1b", "a backslash is doubled, so escapes are unambiguous");
	check("\x1b ok \xff", HP_ESCAPE_UTF8_ONLY, "\x1b ok \\xff", "UTF8_ONLY: controls kept, invalid bytes escaped");
	check(NULL, 0, "(null)", "NULL");
	n = hp_escape("\x1b\x1b\x1b", 0, small, sizeof(small));
	tap_ok(n == 12 && strlen(small) == 7, "truncation: needs %zu, buffer terminated", n);
	tap_ok(!strcmp(hp_esc("\x1b"), "\\x1b") && !strcmp(hp_esc_utf8("\xff"), "\\xff"), "ring helpers");
	{
		const char *a = hp_esc("one"), *b = hp_esc("two");

		tap_ok(!strcmp(a, "one") && !strcmp(b, "two"), "two results of one printf stay apart");
	}
	tap_done();
	return tap_failed ? 1 : 0;
}
