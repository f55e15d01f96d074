/* SPDX-License-Identifier: MIT */
/*
 * Policy decisions with an injected clock: maintenance windows in
 * Europe/Berlin local time across the 2026 DST changes (29 March: 02:00
 * CET -> 03:00 CEST; 25 October: 03:00 CEST -> 02:00 CET), deferral,
 * deadline, pause, deny, classifications, a policy's own timezone, and
 * parse errors that name the field.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/policy.h"
#include "agent/store.h"
#include "tap.h"

static time_t T(const char *s)
{
	time_t t = 0;

	if (store_parse_time(s, &t) < 0)
		abort();
	return t;
}

static int load(struct policy *p, const char *text)
{
	char err[256] = "";
	json_t *j = json_loads(text, 0, NULL);
	int r;

	if (!j)
		return -1;
	r = policy_parse(j, p, err, sizeof(err));
	json_decref(j);
	return r;
}

static const char *fmt(time_t t)
{
	static char b[4][32];
	static int i;

	i = (i + 1) % 4;
	store_format_time(t, b[i]);
	return b[i];
}

#define is_time(a, b, name) tap_is_str(fmt(a), fmt(b), name)

int main(void)
{
	struct policy p;
	struct policy_patch pp = { .classification = "security" };
	char reason[256];
	time_t when, end;

	setenv("TZ", "Europe/Berlin", 1);
	tzset();

	/* Daily wall-clock window 02:00-04:00. */
	tap_ok(load(&p, "{\"version\":1,\"name\":\"daily\",\"windows\":[{\"start\":\"02:00\",\"duration_minutes\":120}]}") == 0,
	       "parse a daily window");
	tap_ok(policy_in_window(&p, T("2026-03-28T01:30:00Z"), &end), "ordinary day: 02:30 CET is inside");
	is_time(end, T("2026-03-28T03:00:00Z"), "ordinary day: ends 04:00 CET");
	tap_ok(!policy_in_window(&p, T("2026-03-28T00:59:00Z"), NULL), "ordinary day: 01:59 CET is outside");
	/* Spring: 02:00 does not exist; the window opens at the jump (01:00Z) and ends at 04:00 CEST (02:00Z). */
	tap_ok(!policy_in_window(&p, T("2026-03-29T00:30:00Z"), NULL), "spring day: 01:30 CET is outside");
	tap_ok(policy_in_window(&p, T("2026-03-29T01:00:00Z"), &end), "spring day: opens at the jump to 03:00 CEST");
	is_time(end, T("2026-03-29T02:00:00Z"), "spring day: ends 04:00 CEST, one real hour");
	tap_ok(!policy_in_window(&p, T("2026-03-29T02:00:00Z"), NULL), "spring day: 04:00 CEST is outside");
	is_time(policy_next_window(&p, T("2026-03-28T22:00:00Z")), T("2026-03-29T01:00:00Z"),
		"spring day: next window from the evening before");
	/* Autumn: 02:00 CEST (00:00Z) first occurrence, until 04:00 CET (03:00Z): three real hours. */
	tap_ok(!policy_in_window(&p, T("2026-10-24T23:59:00Z"), NULL), "autumn day: 01:59 CEST is outside");
	tap_ok(policy_in_window(&p, T("2026-10-25T00:00:00Z"), &end), "autumn day: opens at 02:00 CEST");
	is_time(end, T("2026-10-25T03:00:00Z"), "autumn day: ends 04:00 CET");
	tap_ok(policy_in_window(&p, T("2026-10-25T02:30:00Z"), NULL), "autumn day: the second 02:30 (CET) is inside");
	tap_ok(!policy_in_window(&p, T("2026-10-25T03:00:00Z"), NULL), "autumn day: 04:00 CET is outside");
	policy_release(&p);

	/* A window that starts inside the skipped hour. */
	tap_ok(load(&p, "{\"windows\":[{\"days\":[\"sun\"],\"start\":\"02:30\",\"duration_minutes\":60}]}") == 0,
	       "parse a Sunday 02:30 window");
	is_time(policy_next_window(&p, T("2026-03-29T00:00:00Z")), T("2026-03-29T01:00:00Z"),
		"02:30 on the spring day starts when the clock jumps");
	tap_ok(policy_in_window(&p, T("2026-03-29T01:20:00Z"), NULL), "03:20 CEST: inside (ends 03:30 CEST)");
	tap_ok(!policy_in_window(&p, T("2026-03-29T01:31:00Z"), NULL), "03:31 CEST: outside");
	is_time(policy_next_window(&p, T("2026-10-24T12:00:00Z")), T("2026-10-25T00:30:00Z"),
		"02:30 on the autumn day is its first occurrence (CEST)");
	policy_release(&p);

	/* Weekdays only, with a deadline and deferral. */
	tap_ok(load(&p, "{\"name\":\"prod\",\"deferral_days\":2,\"deadline_days\":7,"
			"\"windows\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],\"start\":\"02:00\",\"duration_minutes\":120}]}") == 0,
	       "parse a weekday policy");
	pp.release_time = T("2026-03-25T12:00:00Z");	/* a Wednesday */
	tap_is_int(policy_decide(&p, &pp, T("2026-03-26T01:30:00Z"), &when, reason, sizeof(reason)), POLICY_WAIT,
		   "deferred: one day after release it waits");
	tap_ok(strstr(reason, "deferred") != NULL, "deferred: reason says so (%s)", reason);
	is_time(when, T("2026-03-30T00:00:00Z"), "deferred: next is the Monday window after the deferral (CEST)");
	tap_is_int(policy_decide(&p, &pp, T("2026-03-28T01:30:00Z"), &when, reason, sizeof(reason)), POLICY_WAIT,
		   "Saturday: outside the weekday windows");
	tap_is_int(policy_decide(&p, &pp, T("2026-03-30T00:30:00Z"), &when, reason, sizeof(reason)), POLICY_APPLY,
		   "Monday 02:30 CEST: applies");
	tap_is_int(policy_decide(&p, &pp, T("2026-04-04T10:00:00Z"), &when, reason, sizeof(reason)), POLICY_APPLY,
		   "after the deadline: applies outside a window");
	tap_ok(strstr(reason, "deadline") != NULL, "deadline: reason says so");
	tap_is_int(policy_decide(&p, &pp, T("2026-03-31T10:00:00Z"), &when, reason, sizeof(reason)), POLICY_WAIT,
		   "Tuesday noon: waits");
	is_time(when, T("2026-04-01T00:00:00Z"), "Tuesday noon: until Wednesday 02:00 CEST");
	pp.classification = "other";
	tap_is_int(policy_decide(&p, &pp, T("2026-03-30T00:30:00Z"), &when, reason, sizeof(reason)), POLICY_DENY,
		   "classification other: not automatic");
	pp.assigned = true;
	tap_is_int(policy_decide(&p, &pp, T("2026-03-30T00:30:00Z"), &when, reason, sizeof(reason)), POLICY_APPLY,
		   "classification other, assigned by the server: applies");
	pp.assigned = false;
	pp.classification = "critical";
	p.paused = true;
	tap_is_int(policy_decide(&p, &pp, T("2026-03-30T00:30:00Z"), &when, reason, sizeof(reason)), POLICY_WAIT,
		   "paused: waits");
	p.paused = false;
	p.apply_without_restart = false;
	tap_is_int(policy_decide(&p, &pp, T("2026-03-30T00:30:00Z"), &when, reason, sizeof(reason)), POLICY_DENY,
		   "apply_without_restart false: denied");
	policy_release(&p);

	/* A policy's own timezone, host in UTC; TZ is restored after. */
	setenv("TZ", "UTC", 1);
	tzset();
	tap_ok(load(&p, "{\"timezone\":\"America/New_York\",\"windows\":[{\"start\":\"22:00\",\"duration_minutes\":60}]}") == 0,
	       "parse a window in America/New_York");
	tap_ok(policy_in_window(&p, T("2026-07-02T02:30:00Z"), NULL), "22:30 EDT is inside");
	tap_ok(!policy_in_window(&p, T("2026-07-01T22:30:00Z"), NULL), "22:30 UTC is outside");
	tap_is_str(getenv("TZ"), "UTC", "the process TZ is restored");
	policy_release(&p);

	/* Errors name the field. */
	{
		char err[256] = "";
		json_t *j = json_loads("{\"windows\":[{\"start\":\"25:00\",\"duration_minutes\":5}]}", 0, NULL);

		tap_ok(policy_parse(j, &p, err, sizeof(err)) < 0 && strstr(err, "windows[].start"), "bad start: %s", err);
		json_decref(j);
		policy_release(&p);
		j = json_loads("{\"restart\":\"always\"}", 0, NULL);
		tap_ok(policy_parse(j, &p, err, sizeof(err)) < 0 && strstr(err, "restart"), "bad restart: %s", err);
		json_decref(j);
		policy_release(&p);
		j = json_loads("{\"never_restart\":[\"db.service\"],\"restart\":\"in-window\",\"x-unknown\":1}", 0, NULL);
		tap_ok(policy_parse(j, &p, err, sizeof(err)) == 0 && !policy_may_restart(&p, "db.service") &&
		       policy_may_restart(&p, "web.service"), "never_restart; unknown fields ignored");
		json_decref(j);
		policy_release(&p);
	}
	tap_done();
	return tap_failed ? 1 : 0;
}
