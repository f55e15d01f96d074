/* SPDX-License-Identifier: MIT */
/*
 * Policy documents and decisions (see policy.h, docs/policy.md).
 *
 * Windows and DST: a window is "on these weekdays, from HH:MM local time,
 * for N minutes of wall-clock time".  Its start and end are wall-clock
 * times converted to instants with the zone rules of that day:
 *  - a start (or end) inside the hour the clock skips (spring) is the
 *    instant the clock jumps, i.e. the first instant at or after that time;
 *  - a start (or end) in the hour that happens twice (autumn) is its first
 *    occurrence.
 * So "02:00 for 120 minutes" means 02:00-04:00 on the wall clock every day:
 * one hour of real time on the spring change day, three in autumn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "shared/util.h"

void policy_default(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	hp_strlcpy(p->name, "default", sizeof(p->name));
	p->apply_without_restart = true;
	p->auto_critical = p->auto_security = true;
	p->deadline_days = -1;
	p->bake_seconds = 600;
	p->crash_threshold = 1;
	hp_strlcpy(p->source, "default", sizeof(p->source));
}

void policy_release(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nnever_restart; i++)
		free(p->never_restart[i]);
	free(p->never_restart);
	p->never_restart = NULL;
	p->nnever_restart = 0;
}

static int fail(char *err, size_t size, const char *msg)
{
	snprintf(err, size, "%s", msg);
	return -EINVAL;
}

static int parse_hhmm(const char *s, int *ret)
{
	int h, m;
	char tail;

	if (!s || strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
		return -EINVAL;
	*ret = h * 60 + m;
	return 0;
}

static int parse_day(const char *s)
{
	static const char *const d[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	int i;

	for (i = 0; s && i < 7; i++)
		if (!strcmp(s, d[i]))
			return i;
	return -1;
}

/* Unknown fields are ignored (CONTRACT); known fields with a wrong type are an error naming the field. */
static int parse(json_t *j, struct policy *p, char *err, size_t es)
{
	json_t *v, *w;
	size_t i, k;

	policy_default(p);
	hp_strlcpy(p->source, "file", sizeof(p->source));
	if (!json_is_object(j))
		return fail(err, es, "policy is not a JSON object");
	if ((v = json_object_get(j, "version")) && (!json_is_integer(v) || json_integer_value(v) != 1))
		return fail(err, es, "version: only 1 is known");
	if ((v = json_object_get(j, "name"))) {
		if (!json_is_string(v))
			return fail(err, es, "name: not a string");
		hp_strlcpy(p->name, json_string_value(v), sizeof(p->name));
	}
	if ((v = json_object_get(j, "apply_without_restart"))) {
		if (!json_is_boolean(v))
			return fail(err, es, "apply_without_restart: not a boolean");
		p->apply_without_restart = json_is_true(v);
	}
	if ((v = json_object_get(j, "auto_classifications"))) {
		if (!json_is_array(v))
			return fail(err, es, "auto_classifications: not a list");
		p->auto_critical = p->auto_security = p->auto_other = false;
		json_array_foreach(v, i, w) {
			const char *c = json_string_value(w);

			if (c && !strcmp(c, "critical"))
				p->auto_critical = true;
			else if (c && !strcmp(c, "security"))
				p->auto_security = true;
			else if (c && !strcmp(c, "other"))
				p->auto_other = true;
			else
				return fail(err, es, "auto_classifications: critical, security or other");
		}
	}
	if ((v = json_object_get(j, "deferral_days"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 365)
			return fail(err, es, "deferral_days: an integer 0..365");
		p->deferral_days = (int)json_integer_value(v);
	}
	if ((v = json_object_get(j, "deadline_days")) && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 365)
			return fail(err, es, "deadline_days: an integer 0..365 or null");
		p->deadline_days = (int)json_integer_value(v);
	}
	if ((v = json_object_get(j, "windows"))) {
		if (!json_is_array(v) || json_array_size(v) > POLICY_MAX_WINDOWS)
			return fail(err, es, "windows: a list of at most 32 windows");
		json_array_foreach(v, i, w) {
			struct policy_window *pw = &p->windows[p->nwindows];
			json_t *days = json_object_get(w, "days"), *d, *dur = json_object_get(w, "duration_minutes");

			if (parse_hhmm(json_string_value(json_object_get(w, "start")), &pw->start_min) < 0)
				return fail(err, es, "windows[].start: \"HH:MM\"");
			if (!json_is_integer(dur) || json_integer_value(dur) < 1 || json_integer_value(dur) > 7 * 1440)
				return fail(err, es, "windows[].duration_minutes: 1..10080");
			pw->duration_min = (int)json_integer_value(dur);
			pw->days = 0;
			if (!days) {
				pw->days = 0x7f;
			} else if (!json_is_array(days)) {
				return fail(err, es, "windows[].days: a list of sun..sat");
			} else {
				json_array_foreach(days, k, d) {
					int n = parse_day(json_string_value(d));

					if (n < 0)
						return fail(err, es, "windows[].days: a list of sun..sat");
					pw->days |= 1u << n;
				}
			}
			p->nwindows++;
		}
	}
	if ((v = json_object_get(j, "timezone")) && !json_is_null(v)) {
		const char *tz = json_string_value(v);

		if (!tz || strlen(tz) >= sizeof(p->timezone) || strstr(tz, "..") || tz[0] == '/')
			return fail(err, es, "timezone: a zone name such as \"Europe/Berlin\", or null");
		hp_strlcpy(p->timezone, tz, sizeof(p->timezone));
	}
	if ((v = json_object_get(j, "paused"))) {
		if (!json_is_boolean(v))
			return fail(err, es, "paused: not a boolean");
		p->paused = json_is_true(v);
	}
	if ((v = json_object_get(j, "restart"))) {
		const char *r = json_string_value(v);

		if (r && !strcmp(r, "never"))
			p->restart = POLICY_RESTART_NEVER;
		else if (r && !strcmp(r, "in-window"))
			p->restart = POLICY_RESTART_IN_WINDOW;
		else
			return fail(err, es, "restart: \"never\" or \"in-window\"");
	}
	if ((v = json_object_get(j, "never_restart"))) {
		if (!json_is_array(v))
			return fail(err, es, "never_restart: a list of unit names");
		p->never_restart = calloc(json_array_size(v) + 1, sizeof(char *));
		if (!p->never_restart)
			return -ENOMEM;
		json_array_foreach(v, i, w) {
			if (!json_is_string(w))
				return fail(err, es, "never_restart: a list of unit names");
			p->never_restart[p->nnever_restart] = strdup(json_string_value(w));
			if (!p->never_restart[p->nnever_restart++])
				return -ENOMEM;
		}
	}
	if ((v = json_object_get(j, "health"))) {
		json_t *b = json_object_get(v, "bake_seconds"), *t = json_object_get(v, "crash_threshold");

		if (b && (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 30 * 86400))
			return fail(err, es, "health.bake_seconds: 0..2592000");
		if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 1000000))
			return fail(err, es, "health.crash_threshold: 1 or more");
		if (b)
			p->bake_seconds = (unsigned)json_integer_value(b);
		if (t)
			p->crash_threshold = (unsigned)json_integer_value(t);
	}
	return 0;
}

/* A refused document leaves nothing allocated (a later field may fail after never_restart was read). */
int policy_parse(json_t *j, struct policy *p, char *err, size_t es)
{
	int r = parse(j, p, err, es);

	if (r < 0)
		policy_release(p);
	return r;
}

int policy_load_file(const char *path, struct policy *p, char *err, size_t es)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	int r;

	if (!j) {
		snprintf(err, es, "%s: %s (line %d)", path, je.text, je.line);
		return -EINVAL;
	}
	r = policy_parse(j, p, err, es);
	json_decref(j);
	return r;
}

json_t *policy_to_json(const struct policy *p)
{
	static const char *const d[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	json_t *j = json_object(), *cl = json_array(), *ws = json_array(), *nr = json_array();
	size_t i;
	int k;

	if (p->auto_critical)
		json_array_append_new(cl, json_string("critical"));
	if (p->auto_security)
		json_array_append_new(cl, json_string("security"));
	if (p->auto_other)
		json_array_append_new(cl, json_string("other"));
	for (i = 0; i < p->nwindows; i++) {
		json_t *w = json_object(), *days = json_array();
		char hm[8];

		for (k = 0; k < 7; k++)
			if (p->windows[i].days & (1u << k))
				json_array_append_new(days, json_string(d[k]));
		snprintf(hm, sizeof(hm), "%02d:%02d", p->windows[i].start_min / 60, p->windows[i].start_min % 60);
		json_object_set_new(w, "days", days);
		json_object_set_new(w, "start", json_string(hm));
		json_object_set_new(w, "duration_minutes", json_integer(p->windows[i].duration_min));
		json_array_append_new(ws, w);
	}
	for (i = 0; i < p->nnever_restart; i++)
		json_array_append_new(nr, json_string(p->never_restart[i]));
	json_object_set_new(j, "version", json_integer(1));
	json_object_set_new(j, "name", json_string(p->name));
	json_object_set_new(j, "apply_without_restart", json_boolean(p->apply_without_restart));
	json_object_set_new(j, "auto_classifications", cl);
	json_object_set_new(j, "deferral_days", json_integer(p->deferral_days));
	json_object_set_new(j, "deadline_days", p->deadline_days < 0 ? json_null() : json_integer(p->deadline_days));
	json_object_set_new(j, "windows", ws);
	json_object_set_new(j, "timezone", p->timezone[0] ? json_string(p->timezone) : json_null());
	json_object_set_new(j, "paused", json_boolean(p->paused));
	json_object_set_new(j, "restart", json_string(p->restart == POLICY_RESTART_IN_WINDOW ? "in-window" : "never"));
	json_object_set_new(j, "never_restart", nr);
	json_object_set_new(j, "health", json_pack("{s:I,s:I}", "bake_seconds", (json_int_t)p->bake_seconds,
						   "crash_threshold", (json_int_t)p->crash_threshold));
	return j;
}

/* ---- time ---- */

/* Run the zone conversions under the policy's timezone, restoring the process's TZ after. */
struct tz_guard {
	char *saved;
	bool set;
};

static void tz_enter(const struct policy *p, struct tz_guard *g)
{
	const char *old = getenv("TZ");

	g->saved = old ? strdup(old) : NULL;
	g->set = p->timezone[0] != 0;
	if (g->set) {
		setenv("TZ", p->timezone, 1);
		tzset();
	}
}

static void tz_leave(struct tz_guard *g)
{
	if (g->set) {
		if (g->saved)
			setenv("TZ", g->saved, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	free(g->saved);
}

static bool wall_is(time_t t, int y, int mon, int d, int h, int m)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_year == y && tm.tm_mon == mon && tm.tm_mday == d && tm.tm_hour == h && tm.tm_min == m;
}

/* Wall time -> (y,m,d,h,m) compare key. */
static long long wall_key(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return ((((long long)tm.tm_year * 13 + tm.tm_mon) * 32 + tm.tm_mday) * 24 + tm.tm_hour) * 60 + tm.tm_min;
}

/*
 * The instant a wall-clock time happens on a date (the rules in the file
 * comment): its first occurrence, or, when the clock skips it, the instant
 * of the jump.
 */
static time_t local_instant(int y, int mon, int d, int h, int m)
{
	time_t best = (time_t)-1, lo, hi;
	long long want;
	int isdst;

	for (isdst = 0; isdst <= 1; isdst++) {
		struct tm tm = { .tm_year = y, .tm_mon = mon, .tm_mday = d, .tm_hour = h, .tm_min = m, .tm_isdst = isdst };
		time_t t = mktime(&tm);

		if (t != (time_t)-1 && wall_is(t, y, mon, d, h, m) && (best == (time_t)-1 || t < best))
			best = t;
	}
	if (best != (time_t)-1)
		return best;
	/* Skipped: binary search for the first instant whose wall time is >= the wanted one. */
	{
		struct tm tm = { .tm_year = y, .tm_mon = mon, .tm_mday = d, .tm_hour = h, .tm_min = m, .tm_isdst = -1 };
		time_t t = mktime(&tm);

		want = ((((long long)y * 13 + mon) * 32 + d) * 24 + h) * 60 + m;
		lo = t - 3 * 3600;
		hi = t + 3 * 3600;
		while (hi - lo > 1) {
			time_t mid = lo + (hi - lo) / 2;

			if (wall_key(mid) >= want)
				hi = mid;
			else
				lo = mid;
		}
		return hi;
	}
}

/* Occurrence of window w starting on the local date of (y, mon, d); false when w is not on that weekday. */
static bool occurrence(const struct policy_window *w, int y, int mon, int d, time_t *ret_start, time_t *ret_end)
{
	struct tm tm = { .tm_year = y, .tm_mon = mon, .tm_mday = d, .tm_hour = 12 };
	struct tm e;
	time_t noon = timegm(&tm), end_wall;

	gmtime_r(&noon, &tm);
	if (!(w->days & (1u << tm.tm_wday)))
		return false;
	*ret_start = local_instant(y, mon, d, w->start_min / 60, w->start_min % 60);
	/* End: the wall clock time start + duration, on whatever date that is. */
	tm.tm_hour = w->start_min / 60;
	tm.tm_min = w->start_min % 60;
	tm.tm_sec = 0;
	end_wall = timegm(&tm) + (time_t)w->duration_min * 60;
	gmtime_r(&end_wall, &e);
	*ret_end = local_instant(e.tm_year, e.tm_mon, e.tm_mday, e.tm_hour, e.tm_min);
	return true;
}

/* Shift a local date by delta days (calendar arithmetic in UTC, which has no DST). */
static void date_add(int *y, int *mon, int *d, int delta)
{
	struct tm tm = { .tm_year = *y, .tm_mon = *mon, .tm_mday = *d + delta, .tm_hour = 12 };
	time_t t = timegm(&tm);

	gmtime_r(&t, &tm);
	*y = tm.tm_year;
	*mon = tm.tm_mon;
	*d = tm.tm_mday;
}

static bool in_window_locked(const struct policy *p, time_t now, time_t *ret_end)
{
	struct tm lt;
	size_t i;
	int k;
	bool in = false;
	time_t best_end = 0;

	if (!p->nwindows) {
		if (ret_end)
			*ret_end = 0;
		return true;
	}
	localtime_r(&now, &lt);
	for (i = 0; i < p->nwindows; i++) {
		for (k = -8; k <= 0; k++) {
			int y = lt.tm_year, mon = lt.tm_mon, d = lt.tm_mday;
			time_t s, e;

			date_add(&y, &mon, &d, k);
			if (occurrence(&p->windows[i], y, mon, d, &s, &e) && s <= now && now < e) {
				in = true;
				if (e > best_end)
					best_end = e;
			}
		}
	}
	if (in && ret_end)
		*ret_end = best_end;
	return in;
}

bool policy_in_window(const struct policy *p, time_t now, time_t *ret_end)
{
	struct tz_guard g;
	bool r;

	tz_enter(p, &g);
	r = in_window_locked(p, now, ret_end);
	tz_leave(&g);
	return r;
}

time_t policy_next_window(const struct policy *p, time_t now)
{
	struct tz_guard g;
	struct tm lt;
	time_t best = 0;
	size_t i;
	int k;

	tz_enter(p, &g);
	if (in_window_locked(p, now, NULL)) {
		tz_leave(&g);
		return now;
	}
	localtime_r(&now, &lt);
	for (i = 0; i < p->nwindows; i++) {
		for (k = 0; k <= 8; k++) {
			int y = lt.tm_year, mon = lt.tm_mon, d = lt.tm_mday;
			time_t s, e;

			date_add(&y, &mon, &d, k);
			if (occurrence(&p->windows[i], y, mon, d, &s, &e) && s > now && e > s && (!best || s < best))
				best = s;
		}
	}
	tz_leave(&g);
	return best;
}

static bool class_auto(const struct policy *p, const char *c)
{
	if (c && !strcmp(c, "critical"))
		return p->auto_critical;
	if (c && !strcmp(c, "security"))
		return p->auto_security;
	return p->auto_other;
}

enum policy_verdict policy_decide(const struct policy *p, const struct policy_patch *pp, time_t now, time_t *ret_when,
				  char *reason, size_t rs)
{
	time_t ready = pp->release_time + (time_t)p->deferral_days * 86400, deadline, next;
	char t[32];
	struct tm tm;

	*ret_when = 0;
	if (!p->apply_without_restart) {
		snprintf(reason, rs, "policy '%s' does not allow applying without restart", p->name);
		return POLICY_DENY;
	}
	if (!pp->assigned && !class_auto(p, pp->classification)) {
		snprintf(reason, rs, "classification '%s' is not applied automatically by policy '%s'",
			 pp->classification ? pp->classification : "other", p->name);
		return POLICY_DENY;
	}
	if (p->paused) {
		snprintf(reason, rs, "policy '%s' is paused", p->name);
		return POLICY_WAIT;
	}
	if (now < ready) {
		gmtime_r(&ready, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(reason, rs, "deferred until %s (%d days after release)", t, p->deferral_days);
		next = policy_next_window(p, ready);
		*ret_when = next > ready ? next : ready;
		return POLICY_WAIT;
	}
	if (p->deadline_days >= 0) {
		deadline = pp->release_time + (time_t)p->deadline_days * 86400;
		if (now >= deadline) {
			snprintf(reason, rs, "deadline passed: applied outside the maintenance window");
			return POLICY_APPLY;
		}
	} else {
		deadline = 0;
	}
	if (policy_in_window(p, now, NULL)) {
		snprintf(reason, rs, p->nwindows ? "inside a maintenance window" : "no maintenance window: any time");
		return POLICY_APPLY;
	}
	next = policy_next_window(p, now);
	if (deadline && (!next || deadline < next))
		next = deadline;
	*ret_when = next;
	gmtime_r(&next, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (next)
		snprintf(reason, rs, "outside the maintenance windows: next at %s", t);
	else
		snprintf(reason, rs, "outside the maintenance windows: none in the next 8 days");
	return POLICY_WAIT;
}

bool policy_may_restart(const struct policy *p, const char *unit)
{
	size_t i;

	if (p->restart != POLICY_RESTART_IN_WINDOW || !unit || !unit[0])
		return false;
	for (i = 0; i < p->nnever_restart; i++)
		if (!strcmp(p->never_restart[i], unit))
			return false;
	return true;
}
