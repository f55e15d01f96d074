/* SPDX-License-Identifier: MIT */
/* PostgreSQL backend (libpq): '?' becomes $n, text parameters, text results. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "store.h"

/*
 * Statements are prepared once per connection (parse and plan cost more
 * than most of our queries): a small open-addressing table from SQL text
 * to statement name.  Past its size, statements run unprepared.
 */
#define PG_CACHE 512

struct pg_stmt {
	char *sql;
	unsigned hash;
};

struct pg {
	PGconn *conn;
	char err[512];
	struct pg_stmt cache[PG_CACHE];
	int ncached;
};

static unsigned pg_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int pg_open(const char *dsn, void **ret)
{
	struct pg *p = calloc(1, sizeof(*p));

	*ret = p;
	if (!p)
		return -ENOMEM;
	p->conn = PQconnectdb(dsn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		snprintf(p->err, sizeof(p->err), "%s", PQerrorMessage(p->conn));
		return -EIO;
	}
	PQclear(PQexec(p->conn, "SET client_min_messages = warning"));
	return 0;
}

static void pg_close(void *h)
{
	struct pg *p = h;

	if (!p)
		return;
	PQfinish(p->conn);
	for (int i = 0; i < PG_CACHE; i++)
		free(p->cache[i].sql);
	free(p);
}

/* The prepared statement's name for q ("s<slot>"), preparing it first; NULL: run it unprepared. */
static const char *pg_prepared(struct pg *p, const char *q, int nparams, char name[16])
{
	unsigned h = pg_hash(q), i, slot;
	PGresult *pr;

	for (i = 0; i < PG_CACHE; i++) {
		slot = (h + i) % PG_CACHE;
		if (!p->cache[slot].sql)
			break;
		if (p->cache[slot].hash == h && !strcmp(p->cache[slot].sql, q)) {
			snprintf(name, 16, "s%u", slot);
			return name;
		}
	}
	if (i == PG_CACHE || p->ncached >= PG_CACHE * 3 / 4)
		return NULL;
	snprintf(name, 16, "s%u", slot);
	pr = PQprepare(p->conn, name, q, nparams, NULL);
	if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
		PQclear(pr);
		return NULL;	/* run it unprepared: the error (if any) is reported from there */
	}
	PQclear(pr);
	p->cache[slot].sql = strdup(q);
	p->cache[slot].hash = h;
	if (!p->cache[slot].sql) {
		PQclear(PQexec(p->conn, "DEALLOCATE ALL"));
		memset(p->cache, 0, sizeof(p->cache));
		p->ncached = 0;
		return NULL;
	}
	p->ncached++;
	return name;
}

static const char *pg_errmsg(void *h)
{
	return ((struct pg *)h)->err;
}

/* '?' outside quotes -> $1, $2, ... */
static char *pg_translate(const char *sql)
{
	size_t len = strlen(sql), o = 0, cap = len * 4 + 1;
	char *out = malloc(cap);
	bool quote = false;
	int n = 0;

	if (!out)
		return NULL;
	for (const char *s = sql; *s; s++) {
		if (*s == '\'')
			quote = !quote;
		if (*s == '?' && !quote)
			o += (size_t)snprintf(out + o, cap - o, "$%d", ++n);
		else
			out[o++] = *s;
	}
	out[o] = 0;
	return out;
}

static int pg_exec(void *h, const char *sql, int nparams, const char *const *params, const char *types,
		   struct hs_res **ret)
{
	struct pg *p = h;
	char *q = pg_translate(sql);
	PGresult *pr;
	ExecStatusType st;
	int i, j, nr, nc;

	if (!q)
		return -ENOMEM;
	{
		char name[16];
		/* not inside a failed transaction, where PREPARE fails too; DDL and BEGIN/COMMIT unprepared */
		const char *n = nparams > 0 && PQtransactionStatus(p->conn) != PQTRANS_INERROR ?
				pg_prepared(p, q, nparams, name) : NULL;

		pr = n ? PQexecPrepared(p->conn, n, nparams, params, NULL, NULL, 0) :
			 PQexecParams(p->conn, q, nparams, NULL, params, NULL, NULL, 0);
	}
	free(q);
	st = PQresultStatus(pr);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *code = PQresultErrorField(pr, PG_DIAG_SQLSTATE);
		int r = code && (!strcmp(code, "40001") || !strcmp(code, "40P01")) ? -EBUSY : -EIO;

		snprintf(p->err, sizeof(p->err), "%s", PQresultErrorMessage(pr));
		PQclear(pr);
		return r;
	}
	if (ret) {
		struct hs_res *res;

		nr = PQntuples(pr);
		nc = PQnfields(pr);
		res = hs_res_new(nr, nc);
		if (!res) {
			PQclear(pr);
			return -ENOMEM;
		}
		for (j = 0; j < nc; j++)
			res->names[j] = strdup(PQfname(pr, j));
		for (i = 0; i < nr; i++)
			for (j = 0; j < nc; j++)
				res->vals[i * nc + j] = PQgetisnull(pr, i, j) ? NULL : strdup(PQgetvalue(pr, i, j));
		res->changes = atoll(PQcmdTuples(pr));
		*ret = res;
	}
	PQclear(pr);
	return 0;
}

static int pg_lock(void *h, long long key)
{
	char k[24];
	const char *params[1] = { k };

	snprintf(k, sizeof(k), "%lld", key);
	return pg_exec(h, "SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", 1, params, NULL, NULL);
}

const struct hs_store_ops hs_pg_ops = {
	.name = "postgresql",
	.begin_sql = "BEGIN",
	.serial_type = "BIGSERIAL PRIMARY KEY",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.errmsg = pg_errmsg,
	.xact_lock = pg_lock,
};
