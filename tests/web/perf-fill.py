#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# For the dashboard measurement only (docs/dashboard.md), not a test: grow a hotpatch-server
# SQLite database to N hosts by copying the hosts (and their process targets) that real
# check-ins through the API wrote, with new ids, host names and machine ids.  Enrolling
# 100,000 hosts through the API takes half an hour on this machine; the read path measured
# (reports, host list) sees the same rows either way.  Stop the server first.
#
#   python3 perf-fill.py DB N
import sqlite3
import sys
import uuid

db, want = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
have = c.execute("SELECT COUNT(*) FROM hosts").fetchone()[0]
cols = [r[1] for r in c.execute("PRAGMA table_info(hosts)")]
tcols = [r[1] for r in c.execute("PRAGMA table_info(host_targets)")]
src = c.execute("SELECT %s FROM hosts ORDER BY hostname" % ",".join(cols)).fetchall()
targets = {}
for row in c.execute("SELECT %s FROM host_targets" % ",".join(tcols)):
    targets.setdefault(row[0], []).append(row)
i_id, i_name, i_mid = cols.index("id"), cols.index("hostname"), cols.index("machine_id")
n = have
with c:
    while n < want:
        s = src[n % len(src)]
        new = list(s)
        new[i_id] = str(uuid.uuid4())
        new[i_name] = "fill-%06d" % n
        new[i_mid] = "%032x" % (0x10000000 + n)
        c.execute("INSERT INTO hosts (%s) VALUES (%s)" % (",".join(cols), ",".join("?" * len(cols))), new)
        for t in targets.get(s[i_id], []):
            c.execute("INSERT INTO host_targets (%s) VALUES (%s)" % (",".join(tcols), ",".join("?" * len(tcols))),
                      [new[i_id]] + list(t[1:]))
        n += 1
c.execute("ANALYZE")
c.commit()
print("hosts: %d (copied %d)" % (n, n - have))
