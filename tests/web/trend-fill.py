#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# For the documentation's pictures only (docs/dashboard.md), never for a check: a fresh server
# has one day of trend, so this writes 89 made-up days before today into a server database's
# `snapshots` table, derived from today's rows (hotpatched hosts growing from none to today's
# number, the rest not up to date, a little weekly wobble).  Stop the server first.
#
#   python3 trend-fill.py DB
import datetime
import sqlite3
import sys

c = sqlite3.connect(sys.argv[1])
today = datetime.datetime.now(datetime.timezone.utc).date()
rows = c.execute("SELECT policy, devices, up_to_date, hotpatched, not_up_to_date, in_progress, not_ready, paused,"
                 " restart_required FROM snapshots WHERE day = ?", (today.isoformat(),)).fetchall()
with c:
    for back in range(1, 90):
        day = (today - datetime.timedelta(days=back)).isoformat()
        f = back / 89.0
        for pol, dev, up, hot, nup, prog, nr, pa, rr in rows:
            h = int(round(hot * max(0.0, 1.0 - f * 1.15)))
            p = prog if back % 7 in (1, 2) else 0
            n = nup + (hot - h) + (prog - p)
            c.execute("INSERT OR REPLACE INTO snapshots (day, policy, devices, up_to_date, hotpatched, not_up_to_date,"
                      " in_progress, not_ready, paused, restart_required) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (day, pol, dev, up, h, n, p, nr, pa, rr))
print("%d policies, 89 days written" % len(rows))
