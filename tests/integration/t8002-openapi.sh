#!/bin/bash
# SPDX-License-Identifier: MIT
# api/openapi.yaml and the server agree: every METHOD PATH in the file is a
# route of the server (--list-routes) and answers (not 404/405), and every
# route the server serves is in the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
hs_require_server
hp_require python3
python3 -c 'import yaml' 2>/dev/null || skip_all "needs python3-yaml"

SPEC=$HP_SRC_DIR/api/openapi.yaml
python3 - "$SPEC" >"$HP_TMP/spec" <<'PY' || { echo "Bail out! cannot read $SPEC"; exit 1; }
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["openapi"].startswith("3."), "not OpenAPI 3"
base = doc["servers"][0]["url"]
for path, ops in doc["paths"].items():
    for m in ops:
        if m in ("get", "post", "put", "patch", "delete"):
            print(m.upper(), base + path)
PY
"$HOTPATCH_SERVER" --list-routes | sed 's/{[a-z_]*}/{}/g' | sort >"$HP_TMP/routes"
sed 's/{[a-z_]*}/{}/g' "$HP_TMP/spec" | sort >"$HP_TMP/spec.norm"

test_expect_success 'every route the server serves is in api/openapi.yaml' '
	comm -23 "$HP_TMP/routes" "$HP_TMP/spec.norm" >"$HP_TMP/missing" &&
	if [ -s "$HP_TMP/missing" ]; then echo "not in the spec:"; cat "$HP_TMP/missing"; exit 1; fi
'

test_expect_success 'every path and method of api/openapi.yaml is a route of the server' '
	comm -13 "$HP_TMP/routes" "$HP_TMP/spec.norm" >"$HP_TMP/extra" &&
	if [ -s "$HP_TMP/extra" ]; then echo "not served:"; cat "$HP_TMP/extra"; exit 1; fi
'

# --help and the man pages name the same long options.
for prog in hotpatch-server:"$HOTPATCH_SERVER" hotpatchctl:"$HOTPATCHCTL"; do
	name=${prog%%:*} bin=${prog#*:}
	test_expect_success "$name: --help and man/$name.8 list the same options" '
		help=$("$bin" --help | grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		man=$(sed "s/\\\\-/-/g" "$HP_SRC_DIR/man/$name.8" | grep -o -- "--[a-z][a-z-]*" | sort -u) &&
		d=$(diff <(echo "$help") <(echo "$man")) || { echo "help (<) vs man (>):"; echo "$d"; exit 1; }
	'
done

hs_bootstrap "$HP_TMP/server.db" || exit 1
hs_start s --db "$HP_TMP/server.db" || exit 1
test_expect_success 'every documented operation answers on a live server (never 404 route / 405)' '
	while read -r m p; do
		url=${p#/api/v1}
		url=$(sed "s/{[a-z_]*}/x/g" <<<"$url")
		body=
		case $m in POST|PUT|PATCH) body="{}" ;; esac
		if [ -n "$body" ]; then code=$(hs_api "$m" "$url" "$body"); else code=$(hs_api "$m" "$url"); fi
		case $code in
		405) echo "$m $p: 405"; exit 1 ;;
		404) jq -e ".error.message | test(\"^no route\") | not" "$HP_TMP/body" >/dev/null || { echo "$m $p: no route"; exit 1; } ;;
		000|5??) echo "$m $p: $code"; exit 1 ;;
		esac
	done <"$HP_TMP/spec"
'
hs_stop s
test_done
