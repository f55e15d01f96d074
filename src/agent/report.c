/* SPDX-License-Identifier: MIT */
/*
 * What hotpatchd tells: the agent report (docs/report.md, the same JSON the
 * control server receives), the status the CLI shows, the assessment, the
 * OpenVEX document (docs/agent.md, "VEX") and Prometheus metrics.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <systemd/sd-login.h>

#include "agent.h"
#include "log.h"
#include "shared/cleanup.h"
#include "shared/util.h"

static json_t *time_json(time_t t)
{
	char b[32];

	if (!t)
		return json_null();
	store_format_time(t, b);
	return json_string(b);
}

static void read_line(const char *path, char *buf, size_t size)
{
	ssize_t n = hp_read_small(path, buf, size);

	if (n <= 0)
		buf[0] = 0;
	else
		buf[strcspn(buf, "\n")] = 0;
}

static json_t *host_json(struct agent *a)
{
	struct utsname u;
	char host[256] = "", mid[64] = "";

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	read_line("/etc/machine-id", mid, sizeof(mid));
	if (a->cfg.host_name[0]) {	/* [agent] name: one of several agents on this machine */
		hp_strlcpy(host, a->cfg.host_name, sizeof(host));
		snprintf(mid, sizeof(mid), "%s", a->cfg.host_name);
	}
	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:s,s:o}", "host_id", a->host_id[0] ? json_string(a->host_id) : json_null(),
			 "hostname", host, "machine_id", mid, "agent_version", "0.1.0", "kernel", u.release, "arch",
			 u.machine, "time", time_json(time(NULL)));
}

/* Per process: which builds of stored patches it maps, and what it runs. */
struct proc_target {
	pid_t pid;
	char comm[64], exe[512], unit[256];
	char path[512], build_id[BUILDID_HEX_MAX];
	char patch_id[HP_ID_MAX + 1];	/* applied, "" if none */
	unsigned level;
	const char *state;
	char reason[256];
};

static const struct store_entry *active_for(struct agent *a, const char *bid, struct agent_patch **ret_p)
{
	size_t k;

	for (k = 0; k < a->store->n; k++)
		if (!strcmp(a->store->e[k].build_id, bid) && (a->patches[k].active || !strcmp(a->patches[k].state, "applied") ||
							      !strcmp(a->patches[k].state, "pending"))) {
			*ret_p = &a->patches[k];
			return &a->store->e[k];
		}
	return NULL;
}

/*
 * One pass over /proc: processes mapping a build some stored patch is for,
 * with the patch they run (from the process's own record) or why not.
 */
static size_t scan(struct agent *a, struct proc_target **ret)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct proc_target *v = NULL;
	size_t n = 0;
	struct dirent *de;

	while (d && a->store && a->store->n && (de = readdir(d))) {
		struct buildid_map *m = NULL;
		struct hp_status *st = NULL;
		const struct hp_status_patch *forged;
		size_t nm = 0, i, k, s;
		pid_t pid;

		if (hp_parse_pid(de->d_name, &pid) < 0 || pid == getpid() || !agent_in_scope(a, pid) || buildid_process_maps(a->bcache, pid, &m, &nm) < 0)
			continue;
		for (i = 0; i < nm; i++) {
			bool stored = false;

			for (s = 0; s < a->store->n && !stored; s++)
				stored = !strcmp(a->store->e[s].build_id, m[i].build_id);
			if (!stored)
				continue;
			struct proc_target *nv = realloc(v, (n + 1) * sizeof(*v)), *t;
			struct agent_patch *ap = NULL;
			const struct store_entry *want;
			char path[64], *u = NULL;

			if (!nv)
				break;
			v = nv;
			t = &v[n++];
			memset(t, 0, sizeof(*t));
			t->pid = pid;
			snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
			read_line(path, t->comm, sizeof(t->comm));
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			if (readlink(path, t->exe, sizeof(t->exe) - 1) < 0)
				t->exe[0] = 0;
			if (sd_pid_get_unit(pid, &u) >= 0 && u)
				hp_strlcpy(t->unit, u, sizeof(t->unit));
			free(u);
			hp_strlcpy(t->path, m[i].path, sizeof(t->path));
			hp_strlcpy(t->build_id, m[i].build_id, sizeof(t->build_id));
			if (!st && hp_status_read(a->ctx, pid, &st) < 0)
				st = NULL;
			forged = NULL;
			for (k = 0; st && k < st->npatches; k++) {
				char hex[2 * HP_BUILD_ID_MAX + 1];

				hp_hex(st->patches[k].build_id, st->patches[k].build_id_len, hex);
				if (strcmp(hex, t->build_id))
					continue;
				/* only a record hotpatch sealed counts (docs/state-record.md, "Forged records") */
				if (st->patches[k].trust != HP_RECORD_AUTHENTIC) {
					forged = &st->patches[k];
					continue;
				}
				if (st->patches[k].state == HP_STATE_ACTIVE) {
					hp_strlcpy(t->patch_id, st->patches[k].id, sizeof(t->patch_id));
					t->level = st->patches[k].level;
				}
			}
			want = active_for(a, t->build_id, &ap);
			if (!t->patch_id[0] && forged && forged->trust == HP_RECORD_FORGED) {
				t->state = "forged";
				snprintf(t->reason, sizeof(t->reason), "state record of %s: %s", forged->id,
					 forged->trust_reason);
			} else if (t->patch_id[0] && (!want || t->level >= want->man->level)) {
				t->state = "patched";
			} else if (want && ap && !strcmp(ap->state, "halted")) {
				t->state = "pending";
				hp_strlcpy(t->reason, ap->halted_reason, sizeof(t->reason));
			} else if (want) {
				t->state = "pending";
				snprintf(t->reason, sizeof(t->reason), "%s: %s", want->id, ap ? ap->reason : "");
			} else {
				t->state = "pending";
				snprintf(t->reason, sizeof(t->reason), "no stored patch for this build is allowed");
			}
		}
		if (st)
			hp_status_free(st);
		free(m);
	}
	*ret = v;
	return n;
}

static json_t *patches_json(struct agent *a)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; a->store && i < a->store->n; i++) {
		json_t *j = store_entry_json(&a->store->e[i]);
		struct agent_patch *p = &a->patches[i];

		json_object_set_new(j, "state", json_string(p->state));
		json_object_set_new(j, "reason", json_string(p->reason));
		json_object_set_new(j, "halted_reason", p->halted_reason[0] ? json_string(p->halted_reason) : json_null());
		json_object_set_new(j, "next", time_json(p->next));
		json_array_append_new(arr, j);
	}
	return arr;
}

static json_t *processes_json(struct proc_target *v, size_t n)
{
	json_t *arr = json_array(), *cur = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *t;

		if (!cur || json_integer_value(json_object_get(cur, "pid")) != v[i].pid) {
			cur = json_pack("{s:i,s:s,s:s,s:o,s:[]}", "pid", (int)v[i].pid, "comm", v[i].comm, "exe", v[i].exe,
					"unit", v[i].unit[0] ? json_string(v[i].unit) : json_null(), "targets");
			json_array_append_new(arr, cur);
		}
		t = json_pack("{s:s,s:s,s:o,s:i,s:s,s:s}", "path", v[i].path, "build_id", v[i].build_id, "patch_id",
			      v[i].patch_id[0] ? json_string(v[i].patch_id) : json_null(), "level", (int)v[i].level, "state",
			      v[i].state, "reason", v[i].reason);
		json_array_append_new(json_object_get(cur, "targets"), t);
	}
	return arr;
}

static json_t *events_json(struct agent *a)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < a->nevents; i++) {
		struct agent_event *e = &a->events[i];

		json_array_append_new(arr, json_pack("{s:I,s:o,s:s,s:o,s:i,s:s}", "id", (json_int_t)e->id, "time",
						     time_json(e->time), "kind", e->kind, "patch_id",
						     e->patch_id[0] ? json_string(e->patch_id) : json_null(), "pid", (int)e->pid,
						     "detail", e->detail));
	}
	return arr;
}

json_t *agent_report(struct agent *a)
{
	struct proc_target *v = NULL;
	size_t n = scan(a, &v);
	json_t *j;

	j = json_pack("{s:i,s:o,s:o,s:{s:s,s:s,s:b},s:o,s:o,s:O,s:o}", "protocol", 1, "host", host_json(a), "assessment",
		      a->assessment ? json_incref(a->assessment) : json_pack("{s:n,s:s,s:[]}", "time", "verdict", "unknown", "checks"),
		      "policy", "name", a->policy.name, "source", a->policy.source, "paused", a->policy.paused, "patches",
		      patches_json(a), "processes", processes_json(v, n), "restart_required", a->restart_required, "events",
		      events_json(a));
	free(v);
	return j;
}

json_t *agent_status(struct agent *a)
{
	json_t *j = agent_report(a);

	json_object_set_new(j, "last_sync", time_json(a->last_sync_ok));
	json_object_set_new(j, "last_sync_error", a->last_sync_error[0] ? json_string(a->last_sync_error) : json_null());
	json_object_set_new(j, "policy_document", policy_to_json(&a->policy));
	json_object_set_new(j, "in_window", json_boolean(policy_in_window(&a->policy, time(NULL), NULL)));
	return j;
}

void agent_write_report(struct agent *a)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	json_t *j = agent_report(a);

	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!text || asprintf(&path, "%s/report.json", a->cfg.state_dir) < 0)
		return;
	if (store_write_atomic(path, text, strlen(text), 0640) < 0)
		alog(LOG_WARNING, "cannot write %s: %s", path, strerror(errno));
	a->dirty = false;
}

static json_t *check_json(const struct hp_assess_check *c)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", c->name, "result", hp_check_result_name(c->result), "value",
			 c->value, "reason", c->reason, "remedy", c->remedy);
}

/*
 * Host checks, and every process's stale mappings (a library or program
 * replaced or deleted on disk: only a restart loads the new build).
 */
json_t *agent_assess(struct agent *a)
{
	struct hp_assess_opts o = { .sz = sizeof(o), .flags = HP_ASSESS_NO_STOP | HP_ASSESS_NO_PROBE };
	struct hp_assess *as = NULL;
	struct hp_assess_host *h = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	json_t *checks = json_array(), *j;
	size_t i, k;
	int r;

	r = hp_assess_new(a->ctx, &o, &as);
	if (r < 0)
		return json_pack("{s:o,s:s,s:o}", "time", time_json(time(NULL)), "verdict", "unknown", "checks", checks);
	if (hp_assess_host(as, &h) == 0) {
		for (i = 0; i < h->nchecks; i++)
			json_array_append_new(checks, check_json(&h->checks[i]));
	}
	j = json_pack("{s:o,s:s,s:o}", "time", time_json(time(NULL)), "verdict",
		      h ? hp_verdict_name(h->verdict) : "unknown", "checks", checks);
	hp_assess_host_free(h);
	/* Restart-required from stale mappings. */
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		struct hp_assess_proc *p = NULL;
		pid_t pid;

		if (hp_parse_pid(de->d_name, &pid) < 0 || pid == getpid() || !agent_in_scope(a, pid) || hp_assess_process(as, pid, &p) < 0)
			continue;
		for (k = 0; k < p->nstale; k++) {
			char reason[700];
			size_t x;
			json_t *e;
			bool seen = false;

			snprintf(reason, sizeof(reason), "runs a %s build of %s", p->stale[k].deleted ? "deleted" : "replaced",
				 p->stale[k].path);
			json_array_foreach(a->restart_required, x, e)
				seen |= json_integer_value(json_object_get(e, "pid")) == pid;
			if (!seen)
				json_array_append_new(a->restart_required,
						      json_pack("{s:o,s:i,s:s,s:s}", "unit", p->unit[0] ? json_string(p->unit) : json_null(),
								"pid", (int)pid, "comm", p->comm, "reason", reason));
		}
		hp_assess_proc_free(p);
	}
	hp_assess_free(as);
	json_decref(a->assessment);
	a->assessment = json_incref(j);
	a->last_assess = time(NULL);
	agent_changed(a);
	return j;
}

/*
 * OpenVEX 0.2.0: one statement per CVE and product.  "fixed" only when
 * every process mapping the vulnerable build runs the patch (or a higher
 * level); otherwise "affected", naming the processes on old code.
 */
json_t *agent_vex(struct agent *a)
{
	struct proc_target *v = NULL;
	size_t n = scan(a, &v), i, c, k;
	char host[256] = "", mid[64] = "", id[512];
	json_t *stm = json_array(), *doc;
	time_t now = time(NULL);

	gethostname(host, sizeof(host) - 1);
	read_line("/etc/machine-id", mid, sizeof(mid));
	if (a->cfg.host_name[0]) {	/* [agent] name: one of several agents on this machine */
		hp_strlcpy(host, a->cfg.host_name, sizeof(host));
		snprintf(mid, sizeof(mid), "%s", a->cfg.host_name);
	}
	for (i = 0; a->store && i < a->store->n; i++) {
		const struct store_entry *e = &a->store->e[i];
		char purl[600], notes[1024] = "", action[1024] = "";
		size_t running = 0, total = 0;

		if (!e->man->ncves)
			continue;
		if (e->meta.package[0])
			snprintf(purl, sizeof(purl), "pkg:deb/debian/%s%s%s?arch=amd64", e->meta.package,
				 e->meta.version[0] ? "@" : "", e->meta.version);
		else
			snprintf(purl, sizeof(purl), "pkg:generic/%s?build-id=%s", e->man->target_name ? e->man->target_name : "unknown",
				 e->build_id);
		for (k = 0; k < n; k++) {
			if (strcmp(v[k].build_id, e->build_id))
				continue;
			total++;
			if (!strcmp(v[k].state, "patched") && v[k].level >= e->man->level)
				running++;
			else
				snprintf(action + strlen(action), sizeof(action) - strlen(action), "%s%d (%s)",
					 action[0] ? ", " : "", (int)v[k].pid, v[k].comm);
		}
		snprintf(notes, sizeof(notes), "hotpatch %s level %u: %zu of %zu processes mapping build %s run it", e->id,
			 e->man->level, running, total, e->build_id);
		for (c = 0; c < e->man->ncves; c++) {
			json_t *s = json_pack("{s:{s:s},s:[{s:s,s:{s:s}}],s:s,s:s,s:o}", "vulnerability", "name", e->man->cves[c],
					      "products", "@id", purl, "identifiers", "purl", purl, "status",
					      running == total ? "fixed" : "affected", "status_notes", notes, "timestamp",
					      time_json(now));

			if (running != total) {
				char act[1200];

				snprintf(act, sizeof(act), "processes still running the vulnerable code: %s; hotpatchd applies %s "
					 "by policy, or restart them", action, e->id);
				json_object_set_new(s, "action_statement", json_string(act));
			}
			json_array_append_new(stm, s);
		}
	}
	free(v);
	snprintf(id, sizeof(id), "urn:hotpatch:vex:%s:%lld", mid[0] ? mid : host, (long long)now);
	doc = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i,s:s,s:o}", "@context", "https://openvex.dev/ns/v0.2.0", "@id", id, "author",
			"hotpatchd", "role", "Document Creator", "timestamp", time_json(now), "version", 1, "tooling",
			"hotpatchd 0.1.0", "statements", stm);
	return doc;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * The daemon's own share of the new-process latency: from reading the event
 * (exec, or an open of a target) to the patch being in, over the last
 * AGENT_LAT_SAMPLES new processes.  On a loaded machine the outside figure
 * is mostly waiting for a CPU; this one says what the daemon itself costs.
 */
static void own_quantiles(struct agent *a, FILE *f)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 1.0 };
	uint32_t v[AGENT_LAT_SAMPLES];
	size_t n = a->own_count < AGENT_LAT_SAMPLES ? (size_t)a->own_count : AGENT_LAT_SAMPLES, i;

	fprintf(f, "# HELP hotpatch_new_process_own_seconds Daemon time from the event about a new process to its patch "
		   "being applied (last %d new processes).\n# TYPE hotpatch_new_process_own_seconds summary\n",
		AGENT_LAT_SAMPLES);
	memcpy(v, a->own_us, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u32);
	for (i = 0; n && i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t k = (size_t)(qs[i] * (double)n + 0.999999);

		fprintf(f, "hotpatch_new_process_own_seconds{quantile=\"%g\"} %.6f\n", qs[i],
			v[(k ? k : 1) - 1] / 1e6);
	}
	fprintf(f, "hotpatch_new_process_own_seconds_count %llu\n", (unsigned long long)a->own_count);
}

/* Prometheus text format 0.0.4. */
void agent_metrics(struct agent *a, char **ret, size_t *ret_len)
{
	static const char *const states[] = { "installed", "applied", "pending", "halted", "denied" };
	char *buf = NULL;
	size_t len = 0, i, k;
	FILE *f = open_memstream(&buf, &len);
	uint64_t cum = 0;

	if (!f) {
		*ret = NULL;
		*ret_len = 0;
		return;
	}
	fprintf(f, "# HELP hotpatch_patches Stored patches by state.\n# TYPE hotpatch_patches gauge\n");
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		size_t c = 0;

		for (i = 0; a->store && i < a->store->n; i++)
			c += !strcmp(a->patches[i].state, states[k]);
		fprintf(f, "hotpatch_patches{state=\"%s\"} %zu\n", states[k], c);
	}
	fprintf(f, "# HELP hotpatch_restart_required Processes that need a restart.\n# TYPE hotpatch_restart_required gauge\n");
	fprintf(f, "hotpatch_restart_required %zu\n", json_array_size(a->restart_required));
	fprintf(f, "# HELP hotpatch_watched_processes New processes watched for a target mapping.\n"
		   "# TYPE hotpatch_watched_processes gauge\nhotpatch_watched_processes %zu\n", a->nwatch);
	fprintf(f, "# HELP hotpatch_baking_processes Patched processes inside the bake time.\n"
		   "# TYPE hotpatch_baking_processes gauge\nhotpatch_baking_processes %zu\n", a->nbaking);
	fprintf(f, "# HELP hotpatch_apply_latency_seconds From the exec event to the new process running the patch.\n"
		   "# TYPE hotpatch_apply_latency_seconds histogram\n");
	for (i = 0; i < AGENT_LAT_BUCKETS; i++) {
		cum += a->lat_buckets[i];
		fprintf(f, "hotpatch_apply_latency_seconds_bucket{le=\"%g\"} %llu\n", agent_lat_bounds[i], (unsigned long long)cum);
	}
	cum += a->lat_buckets[AGENT_LAT_BUCKETS];
	fprintf(f, "hotpatch_apply_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	fprintf(f, "hotpatch_apply_latency_seconds_sum %.6f\nhotpatch_apply_latency_seconds_count %llu\n", a->lat_sum,
		(unsigned long long)a->lat_count);
	own_quantiles(a, f);
	fprintf(f, "# HELP hotpatch_sync_age_seconds Seconds since the last accepted repository index (-1: never).\n"
		   "# TYPE hotpatch_sync_age_seconds gauge\nhotpatch_sync_age_seconds %lld\n",
		a->last_sync_ok ? (long long)(time(NULL) - a->last_sync_ok) : -1LL);
	fprintf(f, "# TYPE hotpatch_applied_total counter\nhotpatch_applied_total %llu\n", (unsigned long long)a->applied_total);
	fprintf(f, "# TYPE hotpatch_apply_failed_total counter\nhotpatch_apply_failed_total %llu\n",
		(unsigned long long)a->failed_total);
	fprintf(f, "# TYPE hotpatch_reverted_total counter\nhotpatch_reverted_total %llu\n", (unsigned long long)a->reverted_total);
	fprintf(f, "# TYPE hotpatch_crashes_total counter\nhotpatch_crashes_total %llu\n", (unsigned long long)a->crashes_total);
	fprintf(f, "# TYPE hotpatch_exec_events_total counter\nhotpatch_exec_events_total %llu\n",
		(unsigned long long)a->exec_events_total);
	fclose(f);
	*ret = buf;
	*ret_len = len;
}
