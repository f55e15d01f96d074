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

# Citations: a markdown link, or a path a document or a source comment cites
# (src/..., docs/..., include/..., tests/..., man/..., *.md), names a file or
# folder that is in the tree.  Paths with placeholders (*, <...>, NNNN) are
# patterns, not citations.  Scanned: every *.md, tests/README, the man pages,
# and src/ and include/; the *.md names also in scripts and tests.
test_expect_success 'every link and cited path in docs and sources exists in the tree' '
	command -v git >/dev/null && git -C "$HP_SRC_DIR" rev-parse --git-dir >/dev/null 2>&1 ||
		{ echo "not a git checkout: cannot list the tree"; exit 0; }
	python3 - "$HP_SRC_DIR" <<-"PY"
	import os, re, subprocess, sys
	root = sys.argv[1]
	files = [f for f in subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard"],
	         capture_output=True, text=True, check=True).stdout.split("\n") if f]
	files = [f for f in files if os.path.exists(os.path.join(root, f))]
	known = set(files)
	for f in files:
	    d = os.path.dirname(f)
	    while d:
	        known.add(d)
	        d = os.path.dirname(d)
	names = {os.path.basename(f) for f in files}
	def exists(p):
	    return os.path.normpath(p) in known
	link_re = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
	path_re = re.compile(r"(?<![\w/.$~-])((?:src|docs|include|tests|man)/[A-Za-z0-9_.+/<>*{}|-]*[A-Za-z0-9_/>*}])")
	md_re = re.compile(r"(?<![\w/.$~-])([A-Za-z0-9_-]+\.md)\b")
	def docs(f):
	    return f.endswith(".md") or f == "tests/README" or (f.startswith("man/") and f.endswith(".1"))
	def sources(f):
	    return (f.startswith("src/") or f.startswith("include/")) and f.endswith((".c", ".h"))
	bad = []
	for f in files:
	    full, scripts = docs(f) or sources(f), f.endswith((".sh", ".c", ".h", "meson.build"))
	    if not full and not scripts:
	        continue
	    text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
	    if f.endswith(".1"):
	        text = text.replace("\\-", "-").replace("\\&", "")
	    for n, line in enumerate(text.split("\n"), 1):
	        for m in md_re.finditer(line):
	            if m.group(1) not in names:
	                bad.append(f"{f}:{n}: cites {m.group(1)}, which is not in the tree")
	        if not full:
	            continue
	        if f.endswith(".md"):
	            for m in link_re.finditer(line):
	                t = m.group(1).split("#")[0]
	                if t and not re.match(r"^[a-z]+:", m.group(1)) and not exists(os.path.join(os.path.dirname(f), t)):
	                    bad.append(f"{f}:{n}: links to {t}, which is not in the tree")
	        for m in path_re.finditer(line):
	            t = m.group(1)
	            if any(c in t for c in "*<>{}|") or "NNNN" in t:
	                continue
	            if not exists(t):
	                bad.append(f"{f}:{n}: cites {t}, which is not in the tree")
	print("\n".join(bad))
	sys.exit(1 if bad else 0)
	PY
'
test_expect_success 'no two integration tests share a number, and each is registered' '
	dups=$(ls "$HP_SRC_DIR"/tests/integration "$HP_SRC_DIR"/tests/realworld | sed -n "s/^t\([0-9]\{4\}\)-.*\.sh$/\1/p" |
		sort | uniq -d) &&
	[ -z "$dups" ] || { echo "shared numbers: $dups"; exit 1; }
	for t in "$HP_SRC_DIR"/tests/integration/t[0-9]*.sh "$HP_SRC_DIR"/tests/realworld/t[0-9]*.sh; do
		n=$(basename "$t" .sh)
		grep -q "$n" "$HP_SRC_DIR/tests/meson.build" || { echo "$n is not in tests/meson.build"; exit 1; }
	done
'
test_done
