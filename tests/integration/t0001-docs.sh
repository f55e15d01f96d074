#!/bin/bash
# SPDX-License-Identifier: MIT
# Help text, man pages and README agree: every command has a man page, every
# long option a command's --help lists is in its man page and the other way
# round, and every exit code is documented.
. "$(dirname "$0")/lib.sh"

cmds=$("$HOTPATCH" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
test_expect_success 'hotpatch --help lists commands' '[ -n "$cmds" ]'
for c in $cmds; do
	test_expect_success "$c: man page exists and options agree with --help" '
		man=$HP_SRC_DIR/man/hotpatch-$c.1 &&
		[ -f "$man" ] &&
		help_opts=$("$HOTPATCH" $c --help | grep -E "^ +(-[a-zA-Z], )?--[a-z]" |
			grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		man_opts=$(awk "/^\\.TP/ {getline; print}" "$man" | sed "s/\\\\-/-/g" |
			grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		for o in $help_opts; do
			echo "$man_opts" | grep -qx -- "$o" || { echo "$c: $o is in --help but not in the man page"; exit 1; }
		done &&
		for o in $man_opts; do
			echo "$help_opts" | grep -qx -- "$o" || { echo "$c: $o is in the man page but not in --help"; exit 1; }
		done &&
		grep -q "hotpatch-$c" "$HP_SRC_DIR/man/hotpatch.1"
	'
done
test_expect_success 'every exit code of the CLI is documented in hotpatch(1) and the README' '
	codes=$(sed -n "s/^\tHP_EXIT_[A-Z]* = \([0-9]*\),.*/\1/p" "$HP_SRC_DIR/src/cli/cli.h") &&
	[ -n "$codes" ] &&
	for n in $codes; do
		grep -q "^\.B $n\$" "$HP_SRC_DIR/man/hotpatch.1" || { echo "exit code $n missing in hotpatch.1"; exit 1; }
		grep -q "^| $n |" "$HP_SRC_DIR/README.md" || { echo "exit code $n missing in README.md"; exit 1; }
	done
'
test_done
