/* SPDX-License-Identifier: MIT */
/* SQLite backend: WAL, busy timeout, '?' placeholders as they are. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"

/* Open the database file with WAL so readers do not block the writer. */
static int sq_open(const char *dsn, void **ret)
{
	sqlite3 *db = NULL;
	const char *path = dsn;

	if (!strncmp(path, "sqlite://", 9))
		path += 9;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		*ret = db;
		return -EIO;
	}
	*ret = db;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	return 0;
}

static void sq_close(void *h)
{
	sqlite3_close_v2(h);
}

static const char *sq_errmsg(void *h)
{
	return sqlite3_errmsg(h);
}

/* Prepare, bind text, step through all rows into a result table. */
static int sq_exec(void *h, const char *sql, int nparams, const char *const *params, const char *types,
		   struct hs_res **ret)
{
	sqlite3 *db = h;
	sqlite3_stmt *st = NULL;
	struct hs_res *res = NULL;
	int i, rc, ncols, cap = 0, n = 0;
	char **vals = NULL;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	for (i = 0; i < nparams; i++) {
		if (params[i] && types && types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, strtoll(params[i], NULL, 10));
		else if (params[i])
			sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, i + 1);
	}
	ncols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!ret)
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(vals, (size_t)cap * (size_t)ncols * sizeof(char *) + sizeof(char *));
			if (!nv)
				goto oom;
			vals = nv;
		}
		for (i = 0; i < ncols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			vals[n * ncols + i] = t ? strdup((const char *)t) : NULL;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		int j;

		for (j = 0; j < n * ncols; j++)
			free(vals[j]);
		free(vals);
		sqlite3_finalize(st);
		return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY : -EIO;
	}
	if (ret) {
		res = hs_res_new(0, ncols);
		if (!res)
			goto oom;
		free(res->vals);
		res->vals = vals ? vals : calloc(1, sizeof(char *));
		res->nrows = n;
		for (i = 0; i < ncols; i++)
			res->names[i] = strdup(sqlite3_column_name(st, i));
		res->changes = sqlite3_changes(db);
		*ret = res;
	}
	sqlite3_finalize(st);
	return 0;
oom:
	for (i = 0; i < n * ncols; i++)
		free(vals[i]);
	free(vals);
	sqlite3_finalize(st);
	return -ENOMEM;
}

const struct hs_store_ops hs_sqlite_ops = {
	.name = "sqlite",
	.begin_sql = "BEGIN IMMEDIATE",
	.serial_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.errmsg = sq_errmsg,
	.xact_lock = NULL,
	.serialize_writers = true,
};
