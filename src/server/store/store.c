/* SPDX-License-Identifier: MIT */
/* The backend-independent half of the store: pool, parameter formatting, results. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Free a result table and all its strings. */
void hs_res_free(struct hs_res *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->vals[i]);
	for (i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->vals);
	free(r->names);
	free(r);
}

/* Backends fill a table of this shape. */
struct hs_res *hs_res_new(int nrows, int ncols)
{
	struct hs_res *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->nrows = nrows;
	r->ncols = ncols;
	r->vals = calloc((size_t)(nrows * ncols) + 1, sizeof(char *));
	r->names = calloc((size_t)ncols + 1, sizeof(char *));
	if (!r->vals || !r->names) {
		hs_res_free(r);
		return NULL;
	}
	return r;
}

/* Integer cell; SQL NULL or junk gives def (both backends print integers in decimal). */
long long hs_get_int(const struct hs_res *r, int row, int col, long long def)
{
	const char *s;
	char *end;
	long long v;

	if (!r || row >= r->nrows || col >= r->ncols)
		return def;
	s = hs_get(r, row, col);
	if (!s || !*s)
		return def;
	v = strtoll(s, &end, 10);
	if (*end == '.')	/* numeric from a PostgreSQL SUM() */
		return v;
	return *end ? def : v;
}

/* Format the variadic parameters as text and run the statement. */
static int hs_vq(struct hs_conn *c, struct hs_res **ret, const char *sql, const char *fmt, va_list ap)
{
	const char *params[64];
	char nums[64][24], types[65];
	int n = 0, r;

	for (; fmt && *fmt; fmt++) {
		if (n >= 64)
			return -E2BIG;
		switch (*fmt) {
		case 's':
			params[n] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(nums[n], sizeof(nums[n]), "%lld", va_arg(ap, long long));
			params[n] = nums[n];
			break;
		case 'I': {
			long long v = va_arg(ap, long long);

			snprintf(nums[n], sizeof(nums[n]), "%lld", v);
			params[n] = v ? nums[n] : NULL;
			break;
		}
		case 'b':
			params[n] = va_arg(ap, int) ? "1" : "0";
			break;
		case 'n':
			params[n] = NULL;
			break;
		default:
			return -EINVAL;
		}
		types[n] = (*fmt == 'i' || *fmt == 'I' || *fmt == 'b') ? 'i' : 's';
		n++;
	}
	types[n] = 0;
	r = c->ops->exec(c->h, sql, n, params, types, ret);
	return r;
}

int hs_q(struct hs_conn *c, struct hs_res **ret, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (ret)
		*ret = NULL;
	va_start(ap, fmt);
	r = hs_vq(c, ret, sql, fmt, ap);
	va_end(ap);
	return r;
}

long long hs_q_int(struct hs_conn *c, long long def, const char *sql, const char *fmt, ...)
{
	struct hs_res *res = NULL;
	va_list ap;
	long long v = def;
	int r;

	va_start(ap, fmt);
	r = hs_vq(c, &res, sql, fmt, ap);
	va_end(ap);
	if (r >= 0 && res && res->nrows > 0)
		v = hs_get_int(res, 0, 0, def);
	hs_res_free(res);
	return v;
}

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

int hs_begin(struct hs_conn *c)
{
	int r;

	if (c->ops->serialize_writers)
		pthread_mutex_lock(&writer_lock);
	r = c->ops->exec(c->h, c->ops->begin_sql, 0, NULL, NULL, NULL);
	if (r >= 0)
		c->in_tx = true;
	else if (c->ops->serialize_writers)
		pthread_mutex_unlock(&writer_lock);
	return r;
}

static void end_tx(struct hs_conn *c)
{
	if (c->in_tx && c->ops->serialize_writers)
		pthread_mutex_unlock(&writer_lock);
	c->in_tx = false;
}

int hs_commit(struct hs_conn *c)
{
	int r = c->ops->exec(c->h, "COMMIT", 0, NULL, NULL, NULL);

	if (r < 0)
		hs_rollback(c);
	end_tx(c);
	return r;
}

void hs_rollback(struct hs_conn *c)
{
	if (c->in_tx)
		c->ops->exec(c->h, "ROLLBACK", 0, NULL, NULL, NULL);
	end_tx(c);
}

int hs_lock(struct hs_conn *c, long long key)
{
	return c->ops->xact_lock ? c->ops->xact_lock(c->h, key) : 0;
}

const char *hs_errmsg(struct hs_conn *c)
{
	return c->ops->errmsg(c->h);
}

/* Which backend a --db value names. */
static const struct hs_store_ops *hs_pick(const char *dsn)
{
	if (!strncmp(dsn, "postgresql://", 13) || !strncmp(dsn, "postgres://", 11))
		return &hs_pg_ops;
	return &hs_sqlite_ops;
}

int hs_db_open(const char *dsn, int n, struct hs_db **ret_db, char *err, size_t errlen)
{
	struct hs_db *db;
	int i, r;

	if (n < 1)
		n = 1;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->ops = hs_pick(dsn);
	db->dsn = strdup(dsn);
	db->all = calloc((size_t)n, sizeof(*db->all));
	db->free_list = calloc((size_t)n, sizeof(*db->free_list));
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->cond, NULL);
	if (!db->dsn || !db->all || !db->free_list) {
		hs_db_close(db);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct hs_conn *c = calloc(1, sizeof(*c));

		if (!c) {
			hs_db_close(db);
			return -ENOMEM;
		}
		c->ops = db->ops;
		r = db->ops->open(dsn, &c->h);
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", db->ops->name, c->h ? db->ops->errmsg(c->h) : strerror(-r));
			if (c->h)
				db->ops->close(c->h);
			free(c);
			hs_db_close(db);
			return r;
		}
		db->all[db->size++] = c;
		db->free_list[db->nfree++] = c;
		if (i == 0) {
			r = hs_migrate(c);
			if (r < 0) {
				snprintf(err, errlen, "migration: %s", hs_errmsg(c));
				hs_db_close(db);
				return r;
			}
		}
	}
	*ret_db = db;
	return 0;
}

void hs_db_close(struct hs_db *db)
{
	int i;

	if (!db)
		return;
	for (i = 0; i < db->size; i++) {
		db->ops->close(db->all[i]->h);
		free(db->all[i]);
	}
	free(db->all);
	free(db->free_list);
	free(db->dsn);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->cond);
	free(db);
}

/* A free connection; waits while all are in use. */
struct hs_conn *hs_db_acquire(struct hs_db *db)
{
	struct hs_conn *c;

	pthread_mutex_lock(&db->lock);
	while (db->nfree == 0)
		pthread_cond_wait(&db->cond, &db->lock);
	c = db->free_list[--db->nfree];
	pthread_mutex_unlock(&db->lock);
	return c;
}

void hs_db_release(struct hs_db *db, struct hs_conn *c)
{
	if (!c)
		return;
	hs_rollback(c);
	pthread_mutex_lock(&db->lock);
	db->free_list[db->nfree++] = c;
	pthread_cond_signal(&db->cond);
	pthread_mutex_unlock(&db->lock);
}
