#!/bin/bash
# SPDX-License-Identifier: MIT
# The dashboard (web/, docs/dashboard.md) in a real browser against a real hotpatch-server:
# Debian's chromium, driven by playwright-core from npm (pinned in tests/web/package-lock.json,
# no browser download), a server on a fresh SQLite database seeded through its API
# (tests/web/seed.mjs: enrollments, agent check-ins, releases, a crash that halts a release).
# The checks are in tests/web/dashboard.test.mjs (TAP); screenshots of every page go to
# $HP_BUILD_DIR/tests/screenshots.  Cost: about a minute (chromium start, ~60 page loads).
#
# HP_DASHBOARD_DOC_IMAGES=DIR (opt-in, for docs/img): also write 89 made-up days of trend into
# the database before the run (tests/web/trend-fill.py, python3) and put the screenshots in DIR.
. "$(dirname "$0")/lib.sh"

SERVER=${HOTPATCH_SERVER:-$HP_BUILD_DIR/src/server/hotpatch-server}
CHROMIUM=${HP_CHROMIUM:-/usr/bin/chromium}
[ -x "$SERVER" ] || skip_all "hotpatch-server is not built ($SERVER: meson -Dserver=enabled)"
hp_require node npm
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] 2>/dev/null ||
	skip_all "playwright-core 1.65 needs node >= 20 (this is $(node --version))"
[ -x "$CHROMIUM" ] || skip_all "needs Debian's chromium at $CHROMIUM (apt-get install chromium)"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 || skip_all "$CHROMIUM does not start"

# playwright-core, installed by npm ci from the lock file into the build directory (once).
NODEDIR=$HP_BUILD_DIR/tests/web-node
if ! cmp -s "$HP_SRC_DIR/tests/web/package-lock.json" "$NODEDIR/package-lock.json" ||
   [ ! -f "$NODEDIR/node_modules/playwright-core/index.mjs" ]; then
	mkdir -p "$NODEDIR" &&
	cp "$HP_SRC_DIR/tests/web/package.json" "$HP_SRC_DIR/tests/web/package-lock.json" "$NODEDIR/" &&
	(cd "$NODEDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
		>"$HP_TMP/npm.log" 2>&1 || {
		sed 's/^/# /' "$HP_TMP/npm.log"
		rm -f "$NODEDIR/package-lock.json"
		skip_all "npm ci of playwright-core failed (is the npm registry reachable?)"
	}
fi

bail() {
	printf 'not ok 1 - %s\n' "$*"
	sed 's/^/# /' "$HP_TMP"/*.log 2>/dev/null
	printf '1..1\n'
	exit 1
}

DB=$HP_TMP/server.db
"$SERVER" --db "$DB" create-token --kind api --name admin --role admin >"$HP_TMP/admin.tok" 2>"$HP_TMP/token.log" ||
	bail "hotpatch-server create-token"
# start_server: a server on a free port, its URL in $URL.
start_server() {
	: >"$HP_TMP/server.log"
	"$SERVER" --db "$DB" --port 0 --web-root "$HP_SRC_DIR/web" --tick-seconds 1 >"$HP_TMP/server.log" 2>&1 &
	echo $! >"$HP_TMP/server.pid"
	URL=
	for ((i = 0; i < 1000; i++)); do
		URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$HP_TMP/server.log")
		[ -n "$URL" ] && return 0
		kill -0 "$(cat "$HP_TMP/server.pid")" 2>/dev/null || bail "hotpatch-server exited"
		sleep 0.01
	done
	bail "hotpatch-server did not say where it listens"
}

start_server
node "$HP_SRC_DIR/tests/web/seed.mjs" "$URL" "$(cat "$HP_TMP/admin.tok")" >"$HP_TMP/seed.json" 2>"$HP_TMP/seed.log" ||
	bail "seeding the server through its API"
# A server takes today's trend snapshot when it starts and then every five minutes: start it
# again so the trend has the seeded fleet (the test waits for that snapshot).
kill "$(cat "$HP_TMP/server.pid")"
wait "$(cat "$HP_TMP/server.pid")" 2>/dev/null
if [ -n "${HP_DASHBOARD_DOC_IMAGES:-}" ]; then
	start_server	# today's snapshot
	sleep 2
	kill "$(cat "$HP_TMP/server.pid")"
	wait "$(cat "$HP_TMP/server.pid")" 2>/dev/null
	python3 "$HP_SRC_DIR/tests/web/trend-fill.py" "$DB" | sed 's/^/# trend-fill: /'
fi
start_server

SHOTS=${HP_DASHBOARD_DOC_IMAGES:-$HP_BUILD_DIR/tests/screenshots}
[ -n "${HP_DASHBOARD_DOC_IMAGES:-}" ] || rm -rf "$SHOTS"
mkdir -p "$SHOTS"
HP_DASH_URL=$URL HP_DASH_SEED=$HP_TMP/seed.json HP_DASH_SHOTS=$SHOTS HP_CHROMIUM=$CHROMIUM \
HP_PLAYWRIGHT=$NODEDIR/node_modules/playwright-core TMPDIR=$HP_TMP \
	timeout 540 node "$HP_SRC_DIR/tests/web/dashboard.test.mjs"
rc=$?
say "screenshots: $SHOTS"
exit $rc
