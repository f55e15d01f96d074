/* SPDX-License-Identifier: MIT */
/*
 * hotpatchd's side of the control server protocol (docs/protocol.md):
 * enroll once with the token, check in with the report, take the policy
 * (kept for offline use) and the assignments (apply: download and store,
 * applied whatever the classification, still inside the policy's windows;
 * revert: revert everywhere and hold it back), drop acknowledged events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "agent.h"
#include "log.h"
#include "repo.h"
#include "shared/cleanup.h"
#include "shared/util.h"

#define REPLY_MAX (16u << 20)

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *np;

	if (b->n + n > REPLY_MAX || !(np = realloc(b->p, b->n + n + 1)))
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

/* POST a JSON body; the reply parsed (NULL when not JSON).  Returns the HTTP status, or <0. */
static long post(const char *base, const char *path, const char *bearer, json_t *body, json_t **ret)
{
	const struct repo_curl *cu = repo_curl();
	CURL *c = cu ? cu->easy_init() : NULL;
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	char url[2300], auth[400], err[CURL_ERROR_SIZE] = "";
	char *text = json_dumps(body, JSON_COMPACT);
	long code = -EIO;
	CURLcode cr;

	*ret = NULL;
	if (!c || !text) {
		free(text);
		if (c)
			cu->easy_cleanup(c);
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	h = cu->slist_append(h, "Content-Type: application/json");
	if (bearer && bearer[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = cu->slist_append(h, auth);
	}
	cu->easy_setopt(c, CURLOPT_URL, url);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, text);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	cu->easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	cu->easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	cr = cu->easy_perform(c);
	if (cr == CURLE_OK) {
		cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (b.p)
			*ret = json_loadb(b.p, b.n, 0, NULL);
	} else {
		alog(LOG_WARNING, "server: %s: %s", url, err[0] ? err : cu->easy_strerror(cr));
	}
	cu->slist_free_all(h);
	cu->easy_cleanup(c);
	free(text);
	free(b.p);
	return code;
}

static void enrollment_path(struct agent *a, char *p, size_t n)
{
	snprintf(p, n, "%s/enrollment.json", a->cfg.state_dir);
}

/* Load host id and credential saved by an earlier enrollment, and the last policy the server sent. */
void agent_server_load(struct agent *a)
{
	_cleanup_free_ char *buf = NULL;
	char path[1200];
	json_t *j;

	enrollment_path(a, path, sizeof(path));
	if (hp_read_file(path, 1 << 16, &buf, NULL) < 0)
		return;
	j = json_loads(buf, 0, NULL);
	hp_strlcpy(a->host_id, json_string_value(json_object_get(j, "host_id")) ?: "", sizeof(a->host_id));
	hp_strlcpy(a->credential, json_string_value(json_object_get(j, "credential")) ?: "", sizeof(a->credential));
	json_decref(j);
}

static int enroll(struct agent *a)
{
	char host[256] = "", mid[64] = "", path[1200];
	json_t *body, *reply = NULL;
	_cleanup_free_ char *text = NULL;
	ssize_t n;
	long code;

	gethostname(host, sizeof(host) - 1);
	n = hp_read_small("/etc/machine-id", mid, sizeof(mid));
	if (n > 0)
		mid[strcspn(mid, "\n")] = 0;
	if (a->cfg.host_name[0]) {	/* [agent] name: one of several agents on this machine */
		hp_strlcpy(host, a->cfg.host_name, sizeof(host));
		snprintf(mid, sizeof(mid), "%s", a->cfg.host_name);
	}
	body = json_pack("{s:i,s:s,s:s,s:s,s:s}", "protocol", 1, "token", a->cfg.token, "hostname", host, "machine_id", mid,
			 "agent_version", "0.1.0");
	code = post(a->cfg.server, "/api/v1/enroll", NULL, body, &reply);
	json_decref(body);
	if (code != 201 || !json_string_value(json_object_get(reply, "host_id")) ||
	    !json_string_value(json_object_get(reply, "credential"))) {
		alog(LOG_ERR, "server: enrollment at %s refused (HTTP %ld): %s", a->cfg.server, code,
		     json_string_value(json_object_get(json_object_get(reply, "error"), "message")) ?: "no reply");
		json_decref(reply);
		return -EACCES;
	}
	hp_strlcpy(a->host_id, json_string_value(json_object_get(reply, "host_id")), sizeof(a->host_id));
	hp_strlcpy(a->credential, json_string_value(json_object_get(reply, "credential")), sizeof(a->credential));
	json_decref(reply);
	body = json_pack("{s:s,s:s}", "host_id", a->host_id, "credential", a->credential);
	text = json_dumps(body, JSON_INDENT(2));
	json_decref(body);
	enrollment_path(a, path, sizeof(path));
	if (text)
		store_write_atomic(path, text, strlen(text), 0600);
	alog(LOG_NOTICE, "server: enrolled at %s as host %s", a->cfg.server, a->host_id);
	return 0;
}

/* Returns true when something changed (a new assignment, a download, a revert). */
static bool assignments(struct agent *a, json_t *list, const char *repository)
{
	size_t i;
	json_t *e, *old = a->assigned;
	bool changed = false;

	a->assigned = json_array();
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "patch_id"));
		const char *action = json_string_value(json_object_get(e, "action"));

		if (!id || !hp_valid_id(id) || !action)
			continue;
		if (!strcmp(action, "apply")) {
			json_array_append_new(a->assigned, json_string(id));
			if (!store_find(a->store, id) && json_string_value(json_object_get(e, "url")) &&
			    repo_fetch_patch(a->ctx, repository ? repository : a->cfg.server, e, a->cfg.store_dir,
					     a->cfg.trust_dir[0] ? a->cfg.trust_dir : NULL) == 0)
				changed = true;
		} else if (!strcmp(action, "revert")) {
			char why[256];

			snprintf(why, sizeof(why), "reverted by the server (deployment %lld)",
				 (long long)json_integer_value(json_object_get(e, "deployment_id")));
			agent_hold(a, id, why);
		}
	}
	if (!json_equal(old, a->assigned))
		changed = true;
	json_decref(old);
	return changed;
}

/* One check-in.  Offline (no answer): nothing changes; the last policy stays in force. */
int agent_checkin(struct agent *a)
{
	char path[1200];
	json_t *report, *reply = NULL, *pol;
	bool changed = false;
	long code;

	if (!a->cfg.server[0])
		return 0;
	if (!a->credential[0] && (!a->cfg.token[0] || enroll(a) < 0))
		return -EACCES;
	report = agent_report(a);
	code = post(a->cfg.server, "/api/v1/checkin", a->credential, report, &reply);
	json_decref(report);
	a->last_checkin = time(NULL);
	if (code != 200 || !json_is_object(reply)) {
		alog(LOG_WARNING, "server: check-in at %s failed (HTTP %ld): %s; working from the last policy", a->cfg.server,
		     code, json_string_value(json_object_get(json_object_get(reply, "error"), "message")) ?: "no reply");
		json_decref(reply);
		return -EIO;
	}
	a->last_checkin_ok = time(NULL);
	if (json_is_integer(json_object_get(reply, "poll_seconds")) && json_integer_value(json_object_get(reply, "poll_seconds")) > 0)
		a->poll_seconds = (unsigned)json_integer_value(json_object_get(reply, "poll_seconds"));
	/* A check-in scans every process for the report: not more often than every 5 s. */
	if (a->poll_seconds < 5)
		a->poll_seconds = 5;
	/* Events the server stored are dropped. */
	if (json_is_integer(json_object_get(reply, "events_ack"))) {
		unsigned long long ack = (unsigned long long)json_integer_value(json_object_get(reply, "events_ack"));
		size_t k = 0;

		while (k < a->nevents && a->events[k].id <= ack)
			k++;
		memmove(a->events, a->events + k, (a->nevents - k) * sizeof(*a->events));
		a->nevents -= k;
	}
	pol = json_object_get(reply, "policy");
	snprintf(path, sizeof(path), "%s/server-policy.json", a->cfg.state_dir);
	if (!json_equal(pol, a->server_policy)) {
		changed = true;
		json_decref(a->server_policy);
		a->server_policy = json_incref(pol);
	}
	if (!changed) {
		/* nothing to store again */
	} else if (json_is_object(pol)) {
		struct policy p;
		char err[256];

		if (policy_parse(pol, &p, err, sizeof(err)) < 0) {
			alog(LOG_ERR, "server: policy refused, keeping the previous one: %s", err);
		} else {
			char *text = json_dumps(pol, JSON_INDENT(2) | JSON_SORT_KEYS);

			if (text)
				store_write_atomic(path, text, strlen(text), 0600);
			free(text);
			policy_release(&p);
		}
	} else if (json_is_null(pol)) {
		unlink(path);
	}
	if (assignments(a, json_object_get(reply, "assignments"), json_string_value(json_object_get(reply, "repository"))))
		changed = true;
	json_decref(reply);
	/* Only a change costs a sweep: check-ins can come every few seconds during a rollout. */
	if (changed) {
		agent_reload(a);
		agent_converge(a, time(NULL));
	}
	return 0;
}
