/* SPDX-License-Identifier: MIT */
/*
 * The policy document (docs/policy.md; the same JSON the control server
 * pushes) and the decisions made from it: may this patch be applied now,
 * and if not, when.  Every decision takes the time as an argument (an
 * injected clock for tests); maintenance windows are read in host-local
 * time (TZ, /etc/localtime) or the policy's timezone.
 */
#ifndef HP_AGENT_POLICY_H
#define HP_AGENT_POLICY_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#define POLICY_MAX_WINDOWS 32

struct policy_window {
	unsigned days;			/* bit 0 = Sunday ... bit 6 = Saturday */
	int start_min;			/* minutes after local midnight */
	int duration_min;		/* 1 .. 7 days */
};

enum policy_restart { POLICY_RESTART_NEVER = 0, POLICY_RESTART_IN_WINDOW };

struct policy {
	char name[128];
	bool apply_without_restart;
	bool auto_critical, auto_security, auto_other;
	int deferral_days, deadline_days;	/* deadline -1: none */
	struct policy_window windows[POLICY_MAX_WINDOWS];
	size_t nwindows;
	char timezone[128];		/* "" = host local */
	bool paused;
	enum policy_restart restart;
	char **never_restart;
	size_t nnever_restart;
	unsigned bake_seconds, crash_threshold;
	char source[16];		/* "default", "file", "server" */
};

/* The built-in policy when no file exists: apply critical+security, any time, never restart. */
void policy_default(struct policy *p);
/* Parse a policy document; errors name the field in err. */
int policy_parse(json_t *j, struct policy *p, char *err, size_t errsize);
int policy_load_file(const char *path, struct policy *p, char *err, size_t errsize);
void policy_release(struct policy *p);
json_t *policy_to_json(const struct policy *p);

enum policy_verdict {
	POLICY_APPLY = 0,		/* apply now */
	POLICY_WAIT,			/* allowed later: *ret_when */
	POLICY_DENY,			/* never automatically: reason */
};

struct policy_patch {
	const char *classification;
	time_t release_time;
	bool assigned;			/* pushed by the server: classification does not gate it */
};

/* Decide for one patch at now.  reason is always filled. */
enum policy_verdict policy_decide(const struct policy *p, const struct policy_patch *pp, time_t now, time_t *ret_when,
				  char *reason, size_t rsize);

/* Whether now is inside a maintenance window (no windows: always); ret_end: when it ends (0 = never). */
bool policy_in_window(const struct policy *p, time_t now, time_t *ret_end);
/* The next window start after now (now itself when in a window); 0 when there is none within 8 days. */
time_t policy_next_window(const struct policy *p, time_t now);
/* Whether a unit may be restarted by policy (restart = in-window and not listed as never). */
bool policy_may_restart(const struct policy *p, const char *unit);

#endif
