/* SPDX-License-Identifier: MIT */
/*
 * Reports: per policy (Windows' columns plus restart required), the 90-day
 * trend, per CVE.  All aggregation happens in SQL over the per-host state
 * computed at check-in, so a report costs one GROUP BY, not a walk over hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "shared/util.h"

extern const char *const hs_policy_report_sql;
extern const char *const hs_vulnerable_sql;

static const char *const columns[] = { "devices", "up_to_date", "hotpatched", "not_up_to_date", "in_progress",
				       "not_ready", "paused", "restart_required" };

/* One report row from counts (cols 1..8 of the aggregation) and the not-ready reasons. */
static json_t *policy_row(const char *policy, const long long *n, json_t *reasons, long long units)
{
	json_t *o = json_object();
	size_t i;

	json_object_set_new(o, "policy", policy && *policy ? json_string(policy) : json_null());
	for (i = 0; i < 8; i++)
		json_object_set_new(o, columns[i], json_integer(n[i]));
	json_object_set_new(o, "not_ready_reasons", reasons ? json_incref(reasons) : json_object());
	json_object_set_new(o, "restart_required_units", json_integer(units));
	json_object_set_new(o, "percent_on_latest",
			    json_real(n[0] ? (double)(((n[1] + n[2]) * 1000 + n[0] / 2) / n[0]) / 10.0 : 0.0));
	return o;
}

void api_report_policies(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *agg = NULL, *why = NULL, *pols = NULL;
	json_t *items = json_array(), *reasons = json_object(), *row;
	long long total[8] = { 0 }, n[8], units_total = 0;
	int i, j;
	size_t k;

	if (hs_q(req->db, &agg, hs_policy_report_sql, "") < 0 ||
	    hs_q(req->db, &why, "SELECT COALESCE(p.name, '') AS policy, x.reason, SUM(x.n) FROM (SELECT group_id,"
		 " COALESCE(reason, 'unknown') AS reason, COUNT(*) AS n FROM hosts WHERE state = 'not-ready'"
		 " GROUP BY group_id, COALESCE(reason, 'unknown')) x LEFT JOIN groups g ON g.id = x.group_id"
		 " LEFT JOIN policies p ON p.id = g.policy_id GROUP BY COALESCE(p.name, ''), x.reason", "") < 0 ||
	    hs_q(req->db, &pols, "SELECT name FROM policies ORDER BY name", "") < 0) {
		json_decref(items);
		json_decref(reasons);
		return hs_db_error(req);
	}
	for (i = 0; i < why->nrows; i++) {
		json_t *m = json_object_get(reasons, hs_get(why, i, 0));

		if (!m)
			json_object_set_new(reasons, hs_get(why, i, 0), m = json_object());
		json_object_set_new(m, hs_get(why, i, 1), json_integer(hs_get_int(why, i, 2, 0)));
	}
	for (i = 0; i < agg->nrows; i++) {
		long long u = hs_get_int(agg, i, 9, 0);

		for (j = 0; j < 8; j++)
			total[j] += n[j] = hs_get_int(agg, i, j + 1, 0);
		units_total += u;
		json_array_append_new(items, policy_row(hs_get(agg, i, 0), n, json_object_get(reasons, hs_get(agg, i, 0)), u));
	}
	/* policies without hosts are reported too, with zeros */
	for (i = 0; i < pols->nrows; i++) {
		bool seen = false;

		for (j = 0; j < agg->nrows && !seen; j++)
			seen = !strcmp(hs_get(agg, j, 0), hs_get(pols, i, 0));
		if (!seen) {
			memset(n, 0, sizeof(n));
			json_array_append_new(items, policy_row(hs_get(pols, i, 0), n, NULL, 0));
		}
	}
	row = policy_row(NULL, total, NULL, units_total);
	json_decref(reasons);
	if (hs_want_csv(req)) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		json_t *it;

		fputs("policy,devices,up_to_date,hotpatched,not_up_to_date,in_progress,not_ready,paused,restart_required,"
		      "restart_required_units,percent_on_latest,not_ready_reasons\r\n", f);
		json_array_foreach(items, k, it) {
			const char *pn = json_string_value(json_object_get(it, "policy")), *rk;
			json_t *rv;
			bool first = true;

			fprintf(f, "\"%s\"", pn ? pn : "");	/* names are [A-Za-z0-9._:@-] */
			for (j = 0; j < 8; j++)
				fprintf(f, ",%lld", (long long)json_integer_value(json_object_get(it, columns[j])));
			fprintf(f, ",%lld,%.1f,\"", (long long)json_integer_value(json_object_get(it, "restart_required_units")),
				json_real_value(json_object_get(it, "percent_on_latest")));
			json_object_foreach(json_object_get(it, "not_ready_reasons"), rk, rv) {
				fprintf(f, "%s%s=%lld", first ? "" : "; ", rk, (long long)json_integer_value(rv));
				first = false;
			}
			fputs("\"\r\n", f);
		}
		fclose(f);
		json_decref(items);
		json_decref(row);
		req->disposition = "attachment; filename=\"policies.csv\"";
		return hs_reply_text(req, 200, "text/csv; charset=utf-8", buf);
	}
	{
		char now[32];

		hs_time_str(hs_now(), now);
		hs_reply_json(req, 200, json_pack("{s:o,s:o,s:s}", "items", items, "total", row, "generated_at", now));
	}
}

void api_report_trend(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	const char *d = hs_query_arg(req, "days"), *pol = hs_query_arg(req, "policy");
	unsigned long long days = 90;
	time_t t;
	struct tm tm;
	char since[16];

	if (d && (hp_parse_uint(d, 400, &days) < 0 || days < 1))
		return hs_error(req, 400, "invalid", "days is 1..400");
	t = time(NULL) - (time_t)(days - 1) * 86400;
	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%d", &tm);
	if ((pol ? hs_q(req->db, &res, "SELECT day, policy, devices, up_to_date, hotpatched, not_up_to_date, in_progress,"
			" not_ready, paused, restart_required FROM snapshots WHERE day >= ? AND policy = ? ORDER BY day, policy",
			"ss", since, pol) :
		   hs_q(req->db, &res, "SELECT day, policy, devices, up_to_date, hotpatched, not_up_to_date, in_progress,"
			" not_ready, paused, restart_required FROM snapshots WHERE day >= ? ORDER BY day, policy", "s", since)) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "ssiiiiiiii", res->nrows, 1, res->nrows);
}

/*
 * One row per CVE; its counts use the same rule as /hosts?cve= (a target is
 * vulnerable unless patched to the lowest level, per build, whose patch names
 * the CVE), and "patches" lists the patches that fix it.
 */
void api_report_cves(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL, *pat = NULL;
	json_t *items;
	size_t k;
	json_t *it;
	int i;

	if (hs_q(req->db, &res,
		 "WITH f AS (SELECT c.cve, p.build_id, MIN(p.level) AS level FROM patch_cves c JOIN patches p"
		 " ON p.id = c.patch_id GROUP BY c.cve, p.build_id)"
		 " SELECT f.cve, COUNT(DISTINCT CASE WHEN NOT (t.state = 'patched' AND t.level >= f.level) THEN t.host_id END)"
		 " AS hosts_vulnerable, SUM(CASE WHEN NOT (t.state = 'patched' AND t.level >= f.level) THEN 1 ELSE 0 END)"
		 " AS processes_vulnerable, COUNT(DISTINCT CASE WHEN t.state = 'patched' AND t.level >= f.level THEN t.host_id END)"
		 " AS hosts_patched FROM f LEFT JOIN host_targets t ON t.build_id = f.build_id GROUP BY f.cve ORDER BY f.cve",
		 "") < 0 ||
	    hs_q(req->db, &pat, "SELECT c.cve, p.id, p.level, p.build_id, p.package, p.classification FROM patch_cves c"
		 " JOIN patches p ON p.id = c.patch_id ORDER BY c.cve, p.build_id, p.level", "") < 0)
		return hs_db_error(req);
	if (hs_want_csv(req))
		return hs_reply_rows(req, res, "siii", res->nrows, 1, res->nrows);
	items = hs_rows_json(res, "siii");
	json_array_foreach(items, k, it) {
		json_t *pa = json_array();

		for (i = 0; i < pat->nrows; i++)
			if (!strcmp(hs_get(pat, i, 0), json_string_value(json_object_get(it, "cve"))))
				json_array_append_new(pa, json_pack("{s:s,s:I,s:s,s:s?,s:s?}", "patch_id", hs_get(pat, i, 1),
								    "level", (json_int_t)hs_get_int(pat, i, 2, 0), "build_id",
								    hs_get(pat, i, 3), "package", hs_get(pat, i, 4),
								    "classification", hs_get(pat, i, 5)));
		json_object_set_new(it, "patches", pa);
		json_object_set(it, "patch_id", json_object_get(json_array_get(pa, 0), "patch_id"));
	}
	hs_reply_json(req, 200, json_pack("{s:o,s:i,s:i,s:i}", "items", items, "total", res->nrows, "page", 1,
					  "per_page", res->nrows));
}

void api_report_cve(struct hs_req *req)
{
	_cleanup_res_ struct hs_res *res = NULL;
	long long limit, offset, page, total;
	char sql[2048];

	hs_paging(req, &limit, &offset, &page);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM (%s) v", hs_vulnerable_sql);
	total = hs_q_int(req->db, 0, sql, "s", req->param[0]);
	if (hs_q(req->db, &res,
		 "SELECT t.host_id, h.hostname, t.pid, t.comm, t.exe, t.unit, t.path, t.build_id, t.patch_id AS running_patch,"
		 " t.level AS running_level, t.state, t.reason, f.patch_id AS fixed_by, f.level AS fixed_level FROM host_targets t"
		 " JOIN hosts h ON h.id = t.host_id JOIN (SELECT p.build_id, MIN(p.level) AS level, MIN(p.id) AS patch_id"
		 " FROM patches p JOIN patch_cves c ON c.patch_id = p.id WHERE c.cve = ? GROUP BY p.build_id) f"
		 " ON f.build_id = t.build_id WHERE NOT (t.state = 'patched' AND t.level >= f.level)"
		 " ORDER BY h.hostname, t.host_id, t.pid LIMIT ? OFFSET ?", "sii", req->param[0], limit, offset) < 0)
		return hs_db_error(req);
	hs_reply_rows(req, res, "ssissssssisssi", total, page, limit);
}
