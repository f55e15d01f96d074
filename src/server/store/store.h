/* SPDX-License-Identifier: MIT */
/*
 * The server's storage: one interface, two backends (SQLite, PostgreSQL).
 *
 * Everything above this header speaks one SQL dialect: '?' placeholders,
 * BIGINT unix seconds for times, TEXT for JSON, INTEGER 0/1 for booleans,
 * INSERT ... ON CONFLICT, RETURNING, and CAST(? AS TEXT) where a parameter's
 * type cannot be inferred.  A backend translates placeholders and runs the
 * statement; the migrations (migrate.c) are shared and only the serial key
 * type differs.  All values travel as text, results come back as a table of
 * NUL-terminated strings (NULL for SQL NULL).
 *
 * Connections come from a pool (hs_db_acquire/hs_db_release), one per
 * request thread; no state is kept outside the database, so several server
 * processes may share one PostgreSQL.
 */
#ifndef HS_STORE_H
#define HS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>

struct hs_res {
	int nrows, ncols;
	char **vals;		/* nrows * ncols, row-major; NULL = SQL NULL */
	char **names;		/* ncols */
	long long changes;	/* rows changed by INSERT/UPDATE/DELETE */
};

struct hs_store_ops {
	const char *name;
	/* BEGIN statement for a transaction that will write. */
	const char *begin_sql;
	/* Type of an auto-increment primary key in the migrations. */
	const char *serial_type;
	int (*open)(const char *dsn, void **ret_conn);
	void (*close)(void *conn);
	/*
	 * Run one statement; ret may be NULL.  types (NULL: all text) has 'i'
	 * for a parameter that is an integer, so SQLite compares it as one
	 * inside expressions (where column affinity does not convert text).
	 * Returns 0, or -EIO/-EBUSY with errmsg set.
	 */
	int (*exec)(void *conn, const char *sql, int nparams, const char *const *params, const char *types,
		    struct hs_res **ret);
	const char *(*errmsg)(void *conn);
	/*
	 * Serialise writers on one key inside a transaction (PostgreSQL: an
	 * advisory transaction lock; SQLite: nothing, BEGIN IMMEDIATE already
	 * serialises).  NULL when not needed.
	 */
	int (*xact_lock)(void *conn, long long key);
	/*
	 * Writers queue on a mutex in the process before BEGIN (SQLite: its
	 * busy handler sleeps up to 100 ms between tries, a mutex hands over
	 * at once).
	 */
	bool serialize_writers;
};

extern const struct hs_store_ops hs_sqlite_ops;
extern const struct hs_store_ops hs_pg_ops;

struct hs_conn {
	const struct hs_store_ops *ops;
	void *h;
	bool in_tx;
};

struct hs_db {
	const struct hs_store_ops *ops;
	char *dsn;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int size, nfree;
	struct hs_conn **all, **free_list;
};

/* Open a pool of n connections to dsn ("postgresql://..." or a SQLite path); migrates. */
int hs_db_open(const char *dsn, int n, struct hs_db **ret_db, char *err, size_t errlen);
void hs_db_close(struct hs_db *db);
struct hs_conn *hs_db_acquire(struct hs_db *db);
void hs_db_release(struct hs_db *db, struct hs_conn *c);

/*
 * Run sql with parameters described by fmt: 's' const char * (NULL = NULL),
 * 'i' long long, 'I' long long
 * with 0 meaning NULL, 'b' bool (as 0/1), 'n' a NULL.  ret may be NULL.
 */
int hs_q(struct hs_conn *c, struct hs_res **ret, const char *sql, const char *fmt, ...);
/* Like hs_q for a statement returning one value: its integer (or def when no row/NULL). */
long long hs_q_int(struct hs_conn *c, long long def, const char *sql, const char *fmt, ...);
/* Run sql with an array of text parameters (for multi-row statements). */
static inline int hs_qa(struct hs_conn *c, struct hs_res **ret, const char *sql, int n, const char *const *params)
{
	return c->ops->exec(c->h, sql, n, params, NULL, ret);
}
int hs_begin(struct hs_conn *c);
int hs_commit(struct hs_conn *c);
void hs_rollback(struct hs_conn *c);
int hs_lock(struct hs_conn *c, long long key);
const char *hs_errmsg(struct hs_conn *c);

void hs_res_free(struct hs_res *r);
static inline const char *hs_get(const struct hs_res *r, int row, int col)
{
	return r->vals[row * r->ncols + col];
}
long long hs_get_int(const struct hs_res *r, int row, int col, long long def);
/* Allocate a result table (for backends). */
struct hs_res *hs_res_new(int nrows, int ncols);

int hs_migrate(struct hs_conn *c);

static inline void hs_res_freep(struct hs_res **r)
{
	hs_res_free(*r);
}
#define _cleanup_res_ __attribute__((cleanup(hs_res_freep)))

#endif
