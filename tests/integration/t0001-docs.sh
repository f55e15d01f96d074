#!/bin/bash
# SPDX-License-Identifier: MIT
# Help text, man pages, completion and README agree: every command has a man
# page, every long option a command's --help lists is in its man page and in
# the bash and zsh completion and the other way round, every short option of
# --help is in the man page with the same long one, the global options of
# `hotpatch --help` are in hotpatch(1), and every exit code is documented.
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
		grep -q "hotpatch-$c" "$HP_SRC_DIR/man/hotpatch.1" &&
		"$HOTPATCH" $c --help | grep -oE "^ +-[a-zA-Z], --[a-z][a-z-]*" | sed "s/^ *//" | while read -r s l; do
			s=${s%,}; [ "$s" = -h ] && continue
			sed -e "s/\\\\-/-/g" -e "s/\"//g" -e "s/  */ /g" "$man" | grep -q -- "^\.B[RI]* $s , $l\b" ||
				{ echo "$c: $s, $l is in --help but not in the man page as \"$s, $l\""; exit 1; }
		done
	'
	test_expect_success "$c: bash and zsh completion offer the options of --help" '
		help_opts=$( ("$HOTPATCH" $c --help | grep -E "^ +(-[a-zA-Z], )?--[a-z]" |
			grep -o -- "--[a-z][a-z-]*"; echo --help) | sort -u) &&
		bash_opts=$(sed -n "s/^\t\[$c\]=\"\(.*\)\"\$/\1/p" "$HP_SRC_DIR/completion/hotpatch.bash" | tr " " "\n" | sort -u) &&
		zsh_opts=$(awk -v f="_hotpatch_$c()" "index(\$0, f) == 1 {on = 1} on {print} on && /^}|; }\$/ {exit}" \
			"$HP_SRC_DIR/completion/_hotpatch" | grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		case $c in apply|revert|status) zsh_opts=$(printf "%s\n" $zsh_opts --pid --all --exe --comm --unit | sort -u) ;; esac &&
		zsh_opts=$(printf "%s\n" $zsh_opts --json --help | sort -u) &&
		hp_expect_eq "$bash_opts" "$help_opts" "bash completion of $c" &&
		hp_expect_eq "$zsh_opts" "$help_opts" "zsh completion of $c"
	'
done
test_expect_success 'the global options of hotpatch --help are in hotpatch(1) and the completion' '
	for o in $("$HOTPATCH" --help | grep -oE "^ +(-[a-zA-Z], )?--[a-z][a-z-]*" | grep -o -- "--[a-z][a-z-]*"); do
		sed -e "s/\\\\-/-/g" "$HP_SRC_DIR/man/hotpatch.1" | grep -q -- "^\.B[RI]* .*$o\b" ||
			{ echo "$o not in hotpatch.1"; exit 1; }
		grep -q -- "^_hotpatch_global=.*$o\b" "$HP_SRC_DIR/completion/hotpatch.bash" ||
			{ echo "$o not in the bash completion"; exit 1; }
		grep -qE -- "$o([^a-z-]|\$)" "$HP_SRC_DIR/completion/_hotpatch" || { echo "$o not in the zsh completion"; exit 1; }
	done &&
	for c in $cmds; do
		grep -q "^_hotpatch_commands=.*\b$c\b" "$HP_SRC_DIR/completion/hotpatch.bash" &&
		grep -q "cmds=(.*\b$c\b" "$HP_SRC_DIR/completion/_hotpatch" || { echo "$c not completed"; exit 1; }
	done
'
if command -v zsh >/dev/null; then
	test_expect_success 'the zsh completion parses' 'zsh -n "$HP_SRC_DIR/completion/_hotpatch"'
else
	test_skip 'the zsh completion parses' 'zsh is not installed'
fi
test_expect_success 'every exit code of the CLI is documented in hotpatch(1) and the README' '
	codes=$(sed -n "s/^\tHP_EXIT_[A-Z]* = \([0-9]*\),.*/\1/p" "$HP_SRC_DIR/src/cli/cli.h") &&
	[ -n "$codes" ] &&
	for n in $codes; do
		grep -q "^\.B $n\$" "$HP_SRC_DIR/man/hotpatch.1" || { echo "exit code $n missing in hotpatch.1"; exit 1; }
		grep -q "^| $n |" "$HP_SRC_DIR/README.md" || { echo "exit code $n missing in README.md"; exit 1; }
	done
'
test_done
