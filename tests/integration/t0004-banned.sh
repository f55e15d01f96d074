#!/bin/bash
# SPDX-License-Identifier: MIT
# src/shared/banned.h: every C file of the build is compiled with it, and a
# call to a banned function (strcpy, strcat, strncpy, sprintf, vsprintf,
# strtok, gets) does not compile while the bounded replacements do.
# Costs about a second.
. "$(dirname "$0")/lib.sh"
hp_require cc

banned=$HP_SRC_DIR/src/shared/banned.h
export banned

# compile SNIPPET: compile a function body with banned.h forced in first, as the build does.
compile() {
	printf '#include <stdarg.h>\n#include <stdio.h>\n#include <string.h>\nvoid f(char *d, const char *s, va_list ap);\nvoid f(char *d, const char *s, va_list ap)\n{\n\t(void)ap; (void)s; (void)d;\n\t%s;\n}\n' "$1" >"$HP_TMP/s.c"
	cc -std=gnu17 -D_GNU_SOURCE -Wall -Werror -include "$banned" -c "$HP_TMP/s.c" -o "$HP_TMP/s.o" 2>"$HP_TMP/s.err"
}
export -f compile

for call in 'strcpy(d, s)' 'strcat(d, s)' 'strncpy(d, s, 4)' 'sprintf(d, "%s", s)' 'vsprintf(d, s, ap)' \
	    'strtok(d, s)' 'gets(d)'; do
	name=${call%%(*}
	name=${name##* }
	test_expect_success "$name does not compile" '
		! compile "$call" && grep -q "sorry_${name}_is_a_banned_function" "$HP_TMP/s.err"
	'
done
test_expect_success 'the bounded replacements compile' '
	compile "snprintf(d, 8, \"%s\", s); vsnprintf(d, 8, s, ap); char *p = 0; (void)strtok_r(d, s, &p); memcpy(d, s, 1)" ||
		{ cat "$HP_TMP/s.err"; exit 1; }
'
test_expect_success 'every C file of the build is compiled with banned.h' '
	db=$HP_BUILD_DIR/compile_commands.json &&
	[ -f "$db" ] &&
	total=$(grep -c "\"command\":" "$db") &&
	with=$(grep "\"command\":" "$db" | grep -c -- "-include [^ ]*src/shared/banned.h") &&
	echo "$with of $total compile commands" &&
	[ "$total" -gt 50 ] && [ "$with" = "$total" ]
'
test_done
