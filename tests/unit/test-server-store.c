/* SPDX-License-Identifier: MIT */
/*
 * The server's store on SQLite: migrations are idempotent, parameters keep
 * their types (an integer compares as one inside an expression), NULLs and
 * RETURNING work, a rolled-back transaction leaves nothing, and the pool
 * hands out every connection.  With HP_TEST_PG_DSN set, the same on PostgreSQL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"

static void suite(const char *dsn, const char *name)
{
	struct hs_db *db = NULL, *db2 = NULL;
	struct hs_conn *c, *c2;
	struct hs_res *r = NULL;
	char err[512];
	long long id;

	if (!tap_ok(hs_db_open(dsn, 2, &db, err, sizeof(err)) == 0, "%s: open and migrate", name)) {
		printf("# %s\n", err);
		return;
	}
	tap_ok(hs_db_open(dsn, 1, &db2, err, sizeof(err)) == 0, "%s: a second open migrates nothing again", name);
	c = hs_db_acquire(db2);
	tap_ok(hs_q_int(c, 0, "SELECT COUNT(*) FROM schema_version", "") == 6, "%s: six migrations recorded once", name);
	hs_db_release(db2, c);
	hs_db_close(db2);

	c = hs_db_acquire(db);
	c2 = hs_db_acquire(db);
	tap_ok(c && c2 && c != c2, "%s: the pool hands out distinct connections", name);
	hs_db_release(db, c2);
	hs_q(c, NULL, "DELETE FROM groups", "");
	id = hs_q_int(c, -1, "INSERT INTO groups (name, created_at) VALUES (?, ?) RETURNING id", "si", "g1", 5LL);
	tap_ok(id > 0, "%s: INSERT ... RETURNING gives the key", name);
	tap_ok(hs_q_int(c, -1, "SELECT COUNT(*) FROM groups WHERE COALESCE(id, 0) = ?", "i", id) == 1,
	       "%s: an integer parameter compares as an integer inside an expression", name);
	tap_ok(hs_q(c, &r, "SELECT name, policy_id, description FROM groups WHERE id = ?", "i", id) == 0 && r->nrows == 1 &&
	       !strcmp(hs_get(r, 0, 0), "g1") && hs_get(r, 0, 1) == NULL && !strcmp(hs_get(r, 0, 2), "") &&
	       !strcmp(r->names[0], "name"), "%s: text, NULL and column names come back", name);
	hs_res_free(r);
	r = NULL;
	tap_ok(hs_begin(c) == 0 && hs_q(c, NULL, "INSERT INTO groups (name, created_at) VALUES (?, 1)", "s", "g2") == 0,
	       "%s: insert inside a transaction", name);
	hs_rollback(c);
	tap_ok(hs_q_int(c, -1, "SELECT COUNT(*) FROM groups", "") == 1, "%s: rollback leaves nothing", name);
	tap_ok(hs_q(c, NULL, "INSERT INTO groups (name, created_at) VALUES (?, 1)", "s", "g1") < 0,
	       "%s: a unique violation is an error", name);
	tap_ok(hs_q(c, &r, "INSERT INTO groups (name, created_at) VALUES (?, 1) ON CONFLICT (name) DO NOTHING", "s", "g1") == 0 &&
	       r->changes == 0, "%s: ON CONFLICT DO NOTHING changes no row", name);
	hs_res_free(r);
	r = NULL;
	tap_ok(hs_q(c, NULL, "SELECT 'it''s ?' AS x WHERE 1 = ?", "i", 1LL) == 0,
	       "%s: a '?' inside a string literal is not a parameter", name);
	tap_ok(hs_q(c, NULL, "SELECT nope FROM nowhere", "") < 0 && strlen(hs_errmsg(c)) > 0,
	       "%s: a bad statement fails with a message", name);
	hs_db_release(db, c);
	hs_db_close(db);
}

int main(void)
{
	char dir[] = "/tmp/hs-store.XXXXXX", path[64];
	const char *pg = getenv("HP_TEST_PG_DSN");

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	suite(path, "sqlite");
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s.db-shm", dir);
	unlink(path);
	rmdir(dir);
	if (pg)
		suite(pg, "postgresql");
	else
		tap_skip("HP_TEST_PG_DSN not set (t8004 tests PostgreSQL end to end)", "postgresql suite");
	tap_done();
	return tap_failed ? 1 : 0;
}
