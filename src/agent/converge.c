/* SPDX-License-Identifier: MIT */
/*
 * hotpatchd's work on processes (docs/agent.md): decide which stored patch
 * each build should run, sweep the host with it when policy allows, patch
 * new processes as soon as their target is mapped, watch patched processes
 * for crashes during the bake time and halt (revert, never reapply) a patch
 * that crashes them, and restart units in the window when policy says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "agent.h"
#include "log.h"
#include "shared/cleanup.h"
#include "shared/util.h"

#define MAX_EVENTS 1000
#define MAX_BAKING 65536
#define MAX_WATCH 65536
/*
 * A target file was opened: ld.so (at start or in dlopen) maps it
 * microseconds later; watch this long at most (a process that only reads
 * the file costs a few reads of its maps).
 */
#define WATCH_OPEN_MS 1000
/* Poll schedule of a watched process after each event: 0, 0.25, 0.5, 1, 2, 4, 8 ms, then every 10 ms. */
#define WATCH_FIRST_US 250u
#define WATCH_STEP_MAX_US 10000u
/* An apply that failed on a new process (too early?) is retried this long after the exec. */
#define WATCH_RETRY_NS (2000ull * 1000000ull)

const double agent_lat_bounds[AGENT_LAT_BUCKETS] = { 0.001, 0.002, 0.005, 0.010, 0.020, 0.050,
						     0.100, 0.250, 0.500, 1.0,	 2.5,	10.0 };
int agent_fanotify_fd = -1;
static time_t next_converge;

/*
 * Something the report shows changed.  The report scans every process, so
 * it is written once for all the changes of AGENT_REPORT_DELAY seconds,
 * never on the path that patches a new process.
 */
void agent_changed(struct agent *a)
{
	if (!a->dirty) {
		a->dirty = true;
		a->report_due = time(NULL) + AGENT_REPORT_DELAY;
	}
}

/* Events are what the server acknowledges; kept in a bounded ring (oldest dropped). */
void agent_event(struct agent *a, const char *kind, const char *patch_id, pid_t pid, const char *fmt, ...)
{
	struct agent_event *e;
	va_list ap;

	if (a->nevents == MAX_EVENTS) {
		memmove(a->events, a->events + 1, (MAX_EVENTS - 1) * sizeof(*a->events));
		a->nevents--;
	}
	if (!a->events && !(a->events = calloc(MAX_EVENTS, sizeof(*a->events))))
		return;
	e = &a->events[a->nevents++];
	memset(e, 0, sizeof(*e));
	e->id = ++a->next_event_id;
	e->time = time(NULL);
	hp_strlcpy(e->kind, kind, sizeof(e->kind));
	hp_strlcpy(e->patch_id, patch_id ? patch_id : "", sizeof(e->patch_id));
	e->pid = pid;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	agent_changed(a);
}

/*
 * [agent] scope: one machine can run several agents (tests, the fleet demo),
 * each managing only the processes whose executable lies under its directory.
 */
bool agent_in_scope(const struct agent *a, pid_t pid)
{
	char link[64], exe[4096];
	size_t n = strlen(a->cfg.scope);
	ssize_t r;

	if (!n)
		return true;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	r = readlink(link, exe, sizeof(exe) - 1);
	if (r <= 0)
		return false;
	exe[r] = 0;
	while (n > 1 && a->cfg.scope[n - 1] == '/')
		n--;
	return strncmp(exe, a->cfg.scope, n) == 0 && exe[n] == '/';
}

static bool scope_select(void *ud, pid_t pid)
{
	return agent_in_scope(ud, pid);
}

static void halted_path(struct agent *a, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/halted/%s.json", a->cfg.state_dir, id);
}

static bool is_halted(struct agent *a, const char *id, char *why, size_t wsize)
{
	_cleanup_free_ char *buf = NULL;
	char path[1200];
	json_t *j;

	halted_path(a, id, path, sizeof(path));
	if (hp_read_file(path, 1 << 16, &buf, NULL) < 0)
		return false;
	j = json_loads(buf, 0, NULL);
	hp_strlcpy(why, json_string_value(json_object_get(j, "reason")) ?: "halted", wsize);
	json_decref(j);
	return true;
}

static struct agent_patch *patch_state(struct agent *a, const char *id)
{
	size_t i;

	for (i = 0; a->store && i < a->store->n; i++)
		if (!strcmp(a->store->e[i].id, id))
			return &a->patches[i];
	return NULL;
}

/*
 * Which level each build runs: the highest stored level that is not halted
 * and that policy does not deny.  The others are "installed" (superseded)
 * or say why not.
 */
static void decide(struct agent *a, time_t now)
{
	struct store *s = a->store;
	size_t i, k;

	for (i = 0; i < s->n; i++) {
		struct agent_patch *p = &a->patches[i];
		struct policy_patch pp = { .classification = s->e[i].man->classification,
					   .release_time = s->e[i].release_time };
		size_t x;
		json_t *as;

		json_array_foreach(a->assigned, x, as)
			pp.assigned |= !strcmp(json_string_value(as) ?: "", p->id);
		enum policy_verdict v;

		p->active = false;
		p->next = 0;
		p->halted_reason[0] = 0;
		if (is_halted(a, p->id, p->halted_reason, sizeof(p->halted_reason))) {
			hp_strlcpy(p->state, "halted", sizeof(p->state));
			hp_strlcpy(p->reason, p->halted_reason, sizeof(p->reason));
			continue;
		}
		v = policy_decide(&a->policy, &pp, now, &p->next, p->reason, sizeof(p->reason));
		if (v == POLICY_DENY) {
			hp_strlcpy(p->state, "denied", sizeof(p->state));
			continue;
		}
		hp_strlcpy(p->state, v == POLICY_APPLY ? "pending" : "pending", sizeof(p->state));
		p->active = v == POLICY_APPLY;
		if (v == POLICY_WAIT && p->next && (!next_converge || p->next < next_converge))
			next_converge = p->next;
	}
	/* Only the highest allowed level of each build stays active. */
	for (i = 0; i < s->n; i++) {
		if (strcmp(a->patches[i].state, "pending"))
			continue;
		for (k = 0; k < s->n; k++) {
			if (k == i || strcmp(s->e[k].build_id, s->e[i].build_id) || strcmp(a->patches[k].state, "pending"))
				continue;
			if (s->e[k].man->level > s->e[i].man->level ||
			    (s->e[k].man->level == s->e[i].man->level && strcmp(s->e[k].id, s->e[i].id) > 0)) {
				a->patches[i].active = false;
				hp_strlcpy(a->patches[i].state, "installed", sizeof(a->patches[i].state));
				snprintf(a->patches[i].reason, sizeof(a->patches[i].reason), "superseded by %s (level %u)",
					 s->e[k].id, s->e[k].man->level);
				break;
			}
		}
	}
}

/* Mark applied the patches that some process runs now, read from the processes themselves. */
static void mark_applied(struct agent *a)
{
	struct hp_host_status *hs = NULL;
	size_t i, k;

	if (hp_host_status(a->ctx, &hs) < 0)
		return;
	for (i = 0; i < hs->nprocs; i++) {
		struct hp_status *st = hs->procs[i].status;

		if (!agent_in_scope(a, hs->procs[i].pid))
			continue;

		for (k = 0; st && k < st->npatches; k++) {
			struct agent_patch *p = patch_state(a, st->patches[k].id);

			if (p && strcmp(p->state, "halted"))
				hp_strlcpy(p->state, "applied", sizeof(p->state));
		}
	}
	hp_host_status_free(hs);
}

static void fanotify_mark_targets(struct agent *a);
static void mark_build(struct agent *a, const char *path, const char *build_id);

int agent_reload(struct agent *a)
{
	struct store *s = NULL;
	struct policy np;
	char err[256], spath[1200];
	size_t i;
	int r;

	r = store_load(a->ctx, a->cfg.store_dir, &s);
	if (r < 0) {
		alog(LOG_ERR, "store: cannot read %s: %s", a->cfg.store_dir, strerror(-r));
		return r;
	}
	/* The daemon never trusts the store blindly: every patch is verified again here. */
	for (i = 0; i < s->n; i++) {
		if (hp_patch_verify(a->ctx, s->e[i].patch, a->cfg.trust_dir[0] ? a->cfg.trust_dir : NULL, NULL) < 0) {
			alog_kv(LOG_ERR, s->e[i].id, 0, "store: patch %s ignored: %s", s->e[i].id, hp_ctx_errmsg(a->ctx));
			hp_patch_free(s->e[i].patch);
			memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(s->e[0]));
			s->n--;
			i--;
		}
	}
	snprintf(spath, sizeof(spath), "%s/server-policy.json", a->cfg.state_dir);
	if (access(spath, F_OK) == 0 && policy_load_file(spath, &np, err, sizeof(err)) == 0) {
		/* The server's policy wins over the local file; kept on disk, so it holds offline. */
		hp_strlcpy(np.source, "server", sizeof(np.source));
		policy_release(&a->policy);
		a->policy = np;
	} else if (a->cfg.policy_file[0] && access(a->cfg.policy_file, F_OK) == 0) {
		if (policy_load_file(a->cfg.policy_file, &np, err, sizeof(err)) < 0) {
			alog(LOG_ERR, "policy: %s refused, keeping the previous policy: %s", a->cfg.policy_file, err);
		} else {
			policy_release(&a->policy);
			a->policy = np;
		}
	} else {
		policy_release(&a->policy);
		policy_default(&a->policy);
	}
	free(a->patches);
	store_free(a->store);
	a->store = s;
	a->patches = calloc(s->n + 1, sizeof(*a->patches));
	if (!a->patches)
		return -ENOMEM;
	for (i = 0; i < s->n; i++)
		hp_strlcpy(a->patches[i].id, s->e[i].id, sizeof(a->patches[i].id));
	next_converge = 0;
	decide(a, time(NULL));
	mark_applied(a);
	fanotify_mark_targets(a);
	agent_changed(a);
	return 0;
}

static void unit_of(pid_t pid, char *buf, size_t size);

static bool is_service_unit(const char *u)
{
	size_t n = strlen(u);

	return n > 8 && !strcmp(u + n - 8, ".service");
}

static void add_baking(struct agent *a, pid_t pid, const char *id, const char *comm, const char *unit)
{
	struct agent_baking *b;

	if (!a->policy.bake_seconds || a->nbaking >= MAX_BAKING)
		return;
	b = realloc(a->baking, (a->nbaking + 1) * sizeof(*b));
	if (!b)
		return;
	a->baking = b;
	b = &a->baking[a->nbaking++];
	b->pid = pid;
	hp_strlcpy(b->patch_id, id, sizeof(b->patch_id));
	hp_strlcpy(b->comm, comm ? comm : "", sizeof(b->comm));
	b->unit[0] = 0;
	if (unit) {
		hp_strlcpy(b->unit, unit, sizeof(b->unit));
	} else {
		unit_of(pid, b->unit, sizeof(b->unit));
		if (!is_service_unit(b->unit))
			b->unit[0] = 0;
	}
	b->until_ns = hp_now_ns() + (uint64_t)a->policy.bake_seconds * 1000000000ull;
}

static void unit_of(pid_t pid, char *buf, size_t size)
{
	char *u = NULL;

	buf[0] = 0;
	if (sd_pid_get_unit(pid, &u) >= 0 && u)
		hp_strlcpy(buf, u, size);
	free(u);
}

static void add_restart(struct agent *a, pid_t pid, const char *comm, const char *reason)
{
	char unit[256];
	size_t i;
	json_t *e;

	json_array_foreach(a->restart_required, i, e)
		if (json_integer_value(json_object_get(e, "pid")) == pid)
			return;
	unit_of(pid, unit, sizeof(unit));
	json_array_append_new(a->restart_required, json_pack("{s:o,s:i,s:s,s:s}", "unit", unit[0] ? json_string(unit) : json_null(),
							     "pid", (int)pid, "comm", comm, "reason", reason));
	agent_changed(a);
}

/*
 * The service units of the processes a sweep lists, read before they are
 * patched: a patch that makes a service exit at once leaves no
 * /proc/PID/cgroup to read its unit from afterwards.
 */
struct sweep_units {
	struct agent *a;
	struct {
		pid_t pid;
		char unit[128];
	} *v;
	size_t n, cap;
};

static bool sweep_select(void *ud, pid_t pid)
{
	struct sweep_units *su = ud;
	char unit[256];

	if (!agent_in_scope(su->a, pid))
		return false;
	if (!su->a->policy.bake_seconds)
		return true;
	unit_of(pid, unit, sizeof(unit));
	if (!is_service_unit(unit) || strlen(unit) >= sizeof(su->v[0].unit))
		return true;
	if (su->n == su->cap) {
		size_t nc = su->cap ? su->cap * 2 : 64;
		void *nv = realloc(su->v, nc * sizeof(su->v[0]));

		if (!nv)
			return true;
		su->v = nv;
		su->cap = nc;
	}
	su->v[su->n].pid = pid;
	hp_strlcpy(su->v[su->n].unit, unit, sizeof(su->v[0].unit));
	su->n++;
	return true;
}

static const char *sweep_unit(const struct sweep_units *su, pid_t pid)
{
	size_t i;

	for (i = 0; i < su->n; i++)
		if (su->v[i].pid == pid)
			return su->v[i].unit;
	return "";
}

/* One sweep for one patch; outcomes become events, bake entries and restart-required entries. */
static void sweep(struct agent *a, size_t idx, struct hp_cache *cache)
{
	struct sweep_units su = { .a = a };
	const struct store_entry *e = &a->store->e[idx];
	struct agent_patch *p = &a->patches[idx];
	struct hp_host_opts o = { .sz = sizeof(o), .cache = cache, .cancel = a->cancel, .jobs = a->cfg.sweep_jobs };
	struct hp_host_result *res = NULL;
	size_t i;
	int r;

	if (a->cfg.trust_dir[0])
		o.trust_dir = a->cfg.trust_dir;
	o.select = sweep_select;
	o.select_ud = &su;
	agent_events_update(a, true);
	r = hp_host_apply(a->ctx, e->patch, &o, &res);
	if (r < 0) {
		free(su.v);
		alog_kv(LOG_ERR, e->id, 0, "apply: %s: %s", e->id, hp_ctx_errmsg(a->ctx));
		agent_event(a, "apply-failed", e->id, 0, "%s", hp_ctx_errmsg(a->ctx));
		return;
	}
	for (i = 0; i < res->nprocs; i++) {
		struct hp_host_proc *hp = &res->procs[i];

		switch (hp->outcome) {
		case HP_HOST_ALREADY:
			mark_build(a, hp->target, e->build_id);
			break;
		case HP_HOST_PATCHED:
			mark_build(a, hp->target, e->build_id);
			a->applied_total++;
			add_baking(a, hp->pid, e->id, hp->comm, sweep_unit(&su, hp->pid));
			alog_kv(LOG_INFO, e->id, hp->pid, "applied %s (level %u) to pid %d (%s)", e->id, e->man->level,
				(int)hp->pid, hp->comm);
			agent_event(a, "applied", e->id, hp->pid, "level %u", e->man->level);
			break;
		case HP_HOST_RESTART:
			add_restart(a, hp->pid, hp->comm, hp->message);
			break;
		case HP_HOST_UNKNOWN:
			alog_kv(LOG_DEBUG, e->id, hp->pid, "pid %d (%s): %s", (int)hp->pid, hp->comm, hp->message);
			break;
		case HP_HOST_FAILED:
			a->failed_total++;
			alog_kv(LOG_WARNING, e->id, hp->pid, "apply %s to pid %d (%s) failed: %s", e->id, (int)hp->pid,
				hp->comm, hp->message);
			agent_event(a, "apply-failed", e->id, hp->pid, "%s", hp->message);
			break;
		default:
			break;
		}
	}
	if (res->npatched || res->nalready)
		hp_strlcpy(p->state, "applied", sizeof(p->state));
	alog_kv(LOG_INFO, e->id, 0, "sweep %s: %zu patched, %zu already, %zu restart-required, %zu failed, %zu unreadable of %zu scanned",
		e->id, res->npatched, res->nalready, res->nrestart, res->nfailed, res->nunknown, res->nscanned);
	hp_host_result_free(res);
	free(su.v);
}

void agent_converge(struct agent *a, time_t now)
{
	struct hp_cache *cache = NULL;
	size_t i;

	if (!a->store)
		return;
	next_converge = 0;
	decide(a, now);
	/*
	 * A cache for this sweep only: it holds every file of every process
	 * scanned, which the daemon should not keep while idle (the long-lived
	 * cache serves new processes, which map few files).
	 */
	if (hp_cache_new(&cache) < 0)
		cache = NULL;
	for (i = 0; i < a->store->n && !(a->cancel && *a->cancel); i++)
		if (a->patches[i].active)
			sweep(a, i, cache);
	hp_cache_free(cache);
	malloc_trim(0);		/* give the sweep's memory back: the daemon idles most of its life */
	mark_applied(a);
	agent_changed(a);
}

/* Called every loop: a window opening or a deferral ending converges again. */
time_t agent_next_converge(void)
{
	return next_converge;
}

static bool any_active(struct agent *a)
{
	/* exec events of every process on the host come here: the common answer must be cheap */
	size_t i;

	for (i = 0; a->store && i < a->store->n; i++)
		if (a->patches[i].active)
			return true;
	return false;
}

/*
 * Watch pid for ms after an event about it (exec, or an open of a target
 * file): polled at once, then on a short schedule that each new event
 * restarts, so the poll right after ld.so maps the target is never far.
 */
static void watch_add(struct agent *a, pid_t pid, unsigned ms)
{
	uint64_t now = hp_now_ns(), until = now + (uint64_t)ms * 1000000ull;
	struct agent_watch *w;
	size_t i;

	if (!any_active(a) || a->nwatch >= MAX_WATCH)
		return;
	for (i = 0; i < a->nwatch; i++)
		if (a->watch[i].pid == pid) {
			w = &a->watch[i];
			w->next_ns = w->event_ns = now;
			w->polls = 0;
			if (w->until_ns < until)
				w->until_ns = until;
			return;
		}
	w = realloc(a->watch, (a->nwatch + 1) * sizeof(*w));
	if (!w)
		return;
	a->watch = w;
	w = &a->watch[a->nwatch++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->start_ns = w->next_ns = w->event_ns = now;
	w->until_ns = until;
}

/* True when fanotify reports every open of every active target: then an exec needs one look, not a watch. */
static bool fanotify_covers(struct agent *a)
{
	size_t i;

	if (agent_fanotify_fd < 0)
		return false;
	for (i = 0; a->store && i < a->store->n; i++)
		if (a->patches[i].active && !a->patches[i].marked)
			return false;
	return true;
}

/*
 * Exec events are needed only when fanotify does not report the opens of
 * every active target (an exec opens the executable too, so an executable
 * target is reported like a library).
 */
bool agent_wants_exec(struct agent *a)
{
	return any_active(a) && !fanotify_covers(a);
}

/*
 * At the exec event the kernel has mapped the executable (and ld.so), not
 * yet the libraries.  One look covers an executable target; the libraries
 * are reported by fanotify when ld.so opens them.  Without fanotify (or for
 * a target it does not cover) the new process is watched for watch_ms.
 */
void agent_on_exec(struct agent *a, pid_t pid)
{
	a->exec_events_total++;
	if (!any_active(a) || !agent_in_scope(a, pid))
		return;
	watch_add(a, pid, fanotify_covers(a) ? 0 : a->cfg.watch_ms);
}

void agent_on_fork(struct agent *a, pid_t parent, pid_t child)
{
	size_t i, n = a->nbaking;

	for (i = 0; i < n; i++)
		if (a->baking[i].pid == parent) {
			/* add_baking reallocates a->baking: pass copies, not pointers into it */
			struct agent_baking b = a->baking[i];

			add_baking(a, child, b.patch_id, b.comm, b.unit);
		}
}

static void watch_remove(struct agent *a, size_t i)
{
	a->watch[i] = a->watch[--a->nwatch];
}

static void record_latency(struct agent *a, double s, uint64_t own_ns)
{
	size_t i;

	a->own_us[a->own_count++ % AGENT_LAT_SAMPLES] = (uint32_t)(own_ns / 1000 > UINT32_MAX ? UINT32_MAX : own_ns / 1000);
	for (i = 0; i < AGENT_LAT_BUCKETS && s > agent_lat_bounds[i]; i++)
		;
	a->lat_buckets[i]++;
	a->lat_sum += s;
	a->lat_count++;
}

static void comm_of(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = hp_read_small(path, buf, size);
	if (n <= 0)
		buf[0] = 0;
	else
		buf[strcspn(buf, "\n")] = 0;
}

/*
 * A new process: the first poll is at the exec event, then 1, 2, 4 ... ms
 * (at most 20 ms apart) until its targets are mapped or the watch ends.
 * Returns true when the watch is done.
 */
static bool poll_one(struct agent *a, struct agent_watch *w)
{
	struct buildid_map *m = NULL;
	size_t nm = 0, i, k;
	bool done = false;

	if (buildid_process_maps(a->bcache, w->pid, &m, &nm) < 0)
		return true;
	for (k = 0; k < a->store->n; k++) {
		const struct store_entry *e = &a->store->e[k];
		struct hp_apply_opts o = { .sz = sizeof(o), .cache = a->cache, .timeout_ms = 2000 };
		struct hp_apply_result res = { .sz = sizeof(res) };
		char comm[64], unit[256] = "";
		int r;

		if (!a->patches[k].active)
			continue;
		for (i = 0; i < nm && strcmp(m[i].build_id, e->build_id); i++)
			;
		if (i == nm)
			continue;
		if (!a->patches[k].marked)
			mark_build(a, m[i].path, e->build_id);
		if (a->cfg.trust_dir[0])
			o.trust_dir = a->cfg.trust_dir;
		if (a->policy.bake_seconds) {
			unit_of(w->pid, unit, sizeof(unit));	/* before: a patch that ends the process leaves no cgroup */
			if (!is_service_unit(unit))
				unit[0] = 0;
		}
		agent_events_update(a, true);
		r = hp_apply(a->ctx, w->pid, e->patch, &o, &res);
		comm_of(w->pid, comm, sizeof(comm));
		done = true;
		if (r == 0) {
			uint64_t t = hp_now_ns();
			double s = (double)(t - w->start_ns) / 1e9;

			record_latency(a, s, t - w->event_ns);
			a->applied_total++;
			add_baking(a, w->pid, e->id, comm, unit);
			hp_strlcpy(a->patches[k].state, "applied", sizeof(a->patches[k].state));
			alog_kv(LOG_INFO, e->id, w->pid, "applied %s (level %u) to new process %d (%s) %.1f ms after its first "
				"event, %.2f ms after the last", e->id, e->man->level, (int)w->pid, comm, s * 1e3,
				(double)(t - w->event_ns) / 1e6);
			agent_event(a, "applied", e->id, w->pid, "new process, %.1f ms after its first event", s * 1e3);
		} else if (r != -HP_E_APPLIED && r != -HP_E_DOWNGRADE && r != -ESRCH && r != -HP_E_EXITED) {
			/*
			 * Maybe too early (the dynamic loader has not mapped a library the
			 * patch imports from yet): try again at the next poll, report only
			 * when the watch ends.
			 */
			done = false;
			w->last_err = r;
			hp_strlcpy(w->last_id, e->id, sizeof(w->last_id));
			snprintf(w->last_msg, sizeof(w->last_msg), "%s (%s)", hp_ctx_errmsg(a->ctx), comm);
		}
	}
	free(m);
	return done;
}

int64_t agent_poll_watch(struct agent *a)
{
	uint64_t now = hp_now_ns(), next = 0;
	size_t i = 0;

	while (i < a->nwatch) {
		struct agent_watch *w = &a->watch[i];

		if (w->next_ns <= now) {
			bool done = poll_one(a, w);

			if (!done && w->last_err && w->until_ns < w->start_ns + WATCH_RETRY_NS)
				w->until_ns = w->start_ns + WATCH_RETRY_NS;
			if (done || now >= w->until_ns) {
				if (!done && w->last_err) {
					a->failed_total++;
					alog_kv(LOG_WARNING, w->last_id, w->pid, "apply %s to new process %d failed: %s", w->last_id,
						(int)w->pid, w->last_msg);
					agent_event(a, "apply-failed", w->last_id, w->pid, "%s", w->last_msg);
				}
				watch_remove(a, i);
				continue;
			}
			{
				unsigned step = w->polls < 7 ? WATCH_FIRST_US << w->polls : WATCH_STEP_MAX_US;

				w->polls++;
				w->next_ns = hp_now_ns() + (uint64_t)(step < WATCH_STEP_MAX_US ? step : WATCH_STEP_MAX_US) * 1000ull;
			}
		}
		if (!next || w->next_ns < next)
			next = w->next_ns;
		i++;
	}
	if (!next)
		return -1;
	now = hp_now_ns();
	return next <= now ? 0 : (int64_t)((next - now + 999) / 1000);
}

void agent_expire_baking(struct agent *a)
{
	uint64_t now = hp_now_ns();
	size_t i = 0;

	while (i < a->nbaking) {
		if (a->baking[i].until_ns <= now)
			a->baking[i] = a->baking[--a->nbaking];
		else
			i++;
	}
}

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGABRT || sig == SIGFPE;
}

/* Over the threshold: revert everywhere, record the evidence, never reapply until cleared. */
static void halt(struct agent *a, const char *id, const char *evidence)
{
	struct hp_host_opts o = { .sz = sizeof(o), .cache = a->cache };
	struct hp_host_result *res = NULL;
	char path[1200], dir[1100], t[32];
	_cleanup_free_ char *text = NULL;
	json_t *j;

	snprintf(dir, sizeof(dir), "%s/halted", a->cfg.state_dir);
	mkdir(dir, 0700);
	store_format_time(time(NULL), t);
	j = json_pack("{s:s,s:s,s:s}", "patch_id", id, "time", t, "reason", evidence);
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	halted_path(a, id, path, sizeof(path));
	if (text)
		store_write_atomic(path, text, strlen(text), 0600);
	if (a->cfg.scope[0]) {
		o.select = scope_select;
		o.select_ud = a;
	}
	alog_kv(LOG_ERR, id, 0, "halted %s: %s; reverting it on this host", id, evidence);
	agent_event(a, "halted", id, 0, "%s", evidence);
	if (hp_host_revert(a->ctx, id, &o, &res) == 0) {
		a->reverted_total += res->nreverted;
		alog_kv(LOG_WARNING, id, 0, "reverted %s in %zu process%s (%zu failed)", id, res->nreverted,
			res->nreverted == 1 ? "" : "es", res->nfailed);
		agent_event(a, "reverted", id, 0, "%zu processes after halt", res->nreverted);
		hp_host_result_free(res);
	} else {
		agent_event(a, "revert-failed", id, 0, "%s", hp_ctx_errmsg(a->ctx));
	}
	agent_reload(a);
}

/*
 * A patched process failed during the bake time (a crash signal, or its
 * systemd unit failed): count it; over the threshold, halt the patch.
 * True when it was halted (the baking list changed under the caller).
 */
static bool health_failure(struct agent *a, struct agent_patch *p, pid_t pid, const char *comm, const char *what)
{
	char ev[512];

	p->crashes++;
	a->crashes_total++;
	alog_kv(LOG_ERR, p->id, pid, "pid %d (%s) running %s: %s during the bake time (%u of %u)", (int)pid, comm, p->id,
		what, p->crashes, a->policy.crash_threshold);
	agent_event(a, "crash", p->id, pid, "%s %s", comm, what);
	if (p->crashes < a->policy.crash_threshold)
		return false;
	/* a failed unit counts like a crash, and is called one */
	snprintf(ev, sizeof(ev), "%u crash%s during the bake time; last: pid %d (%s) %s", p->crashes,
		 p->crashes == 1 ? "" : "es", (int)pid, comm, what);
	halt(a, p->id, ev);
	return true;
}

/* Read one unit's state over the system bus: "failed", or auto-restart after a failed run, is a failure. */
static int unit_failed(sd_bus *bus, const char *unit, char *why, size_t wsize)
{
	_cleanup_free_ char *path = NULL, *state = NULL, *sub = NULL, *result = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
	if (r < 0)
		return r;
	r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
				       "ActiveState", &err, &state);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
					       "SubState", &err, &sub);
	if (r >= 0 && sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
						 "Result", &err, &result) < 0)
		result = NULL;
	sd_bus_error_free(&err);
	if (r < 0)
		return r;
	if (strcmp(state, "failed") && !(strcmp(sub, "auto-restart") == 0 && result && strcmp(result, "success")))
		return 0;
	snprintf(why, wsize, "its unit %s failed (%s/%s, result %s)", unit, state, sub, result ? result : "?");
	return 1;
}

#define UNIT_CHECK_NS (2000ull * 1000000ull)
static uint64_t next_unit_check;

/*
 * Why polled, not signalled: the units to watch are those of processes
 * inside their bake time, a short list for a short time; a property read
 * every 2 s then costs less than a subscription to every unit's changes,
 * and works where the process connector's pids are not ours (a container).
 * The bus is opened only for the check and closed after it.
 */
int64_t agent_check_units(struct agent *a)
{
	uint64_t now = hp_now_ns();
	sd_bus *bus = NULL;
	size_t i, k;
	bool any = false;
	int r;

	for (i = 0; i < a->nbaking && !any; i++)
		any = a->baking[i].unit[0] != 0;
	if (!any) {
		next_unit_check = 0;
		return -1;
	}
	if (!next_unit_check)
		next_unit_check = now + UNIT_CHECK_NS;
	if (now < next_unit_check)
		return (int64_t)((next_unit_check - now) / 1000);
	next_unit_check = now + UNIT_CHECK_NS;
	if ((r = sd_bus_open_system(&bus)) < 0) {
		alog(LOG_WARNING, "health: cannot reach the system bus to read unit states: %s", strerror(-r));
		return (int64_t)(UNIT_CHECK_NS / 1000);
	}
	for (i = 0; i < a->nbaking; i++) {
		char unit[256], why[512], counted[2048];
		bool seen = false;

		if (!a->baking[i].unit[0])
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = !strcmp(a->baking[k].unit, a->baking[i].unit);
		if (seen)
			continue;
		r = unit_failed(bus, a->baking[i].unit, why, sizeof(why));
		if (r < 0)
			alog(LOG_WARNING, "health: cannot read the state of unit %s: %s", a->baking[i].unit, strerror(-r));
		if (r <= 0)
			continue;
		/* every patch baking in that unit counts it once (not once per process), and its entries end */
		hp_strlcpy(unit, a->baking[i].unit, sizeof(unit));
		counted[0] = 0;
		for (k = 0; k < a->nbaking;) {
			struct agent_baking b = a->baking[k];
			struct agent_patch *p;
			char key[HP_ID_MAX + 3];

			if (strcmp(b.unit, unit)) {
				k++;
				continue;
			}
			a->baking[k] = a->baking[--a->nbaking];
			snprintf(key, sizeof(key), " %s ", b.patch_id);
			if (strstr(counted, key) || strlen(counted) + strlen(key) >= sizeof(counted))
				continue;
			memcpy(counted + strlen(counted), key, strlen(key) + 1);
			if ((p = patch_state(a, b.patch_id)) && strcmp(p->state, "halted") &&
			    health_failure(a, p, b.pid, b.comm, why)) {
				sd_bus_flush_close_unref(bus);
				return 0;	/* halted: the list changed, look again at once */
			}
		}
		i = (size_t)-1;	/* the list changed: start over (checked units are not failed) */
	}
	sd_bus_flush_close_unref(bus);
	return (int64_t)(UNIT_CHECK_NS / 1000);
}

void agent_on_exit(struct agent *a, pid_t pid, uint32_t exit_code, uint32_t exit_signal)
{
	size_t i = 0;

	for (i = 0; i < a->nwatch; i++)
		if (a->watch[i].pid == pid) {
			watch_remove(a, i);
			break;
		}
	i = 0;
	while (i < a->nbaking) {
		struct agent_baking b = a->baking[i];
		struct agent_patch *p;
		int sig = WIFSIGNALED(exit_code) ? WTERMSIG(exit_code) : 0;

		if (b.pid != pid) {
			i++;
			continue;
		}
		if (!crash_signal(sig) && b.unit[0]) {
			/* an exit its unit may count as a failure: look at the unit for a few more seconds */
			uint64_t until = hp_now_ns() + 3 * UNIT_CHECK_NS;

			a->baking[i].pid = 0;
			if (a->baking[i].until_ns > until)
				a->baking[i].until_ns = until;
			i++;
			continue;
		}
		a->baking[i] = a->baking[--a->nbaking];
		if (!crash_signal(sig) || !(p = patch_state(a, b.patch_id)) || !strcmp(p->state, "halted"))
			continue;
		{
			char what[128];

			snprintf(what, sizeof(what), "killed by %s", strsignal(sig));
			if (health_failure(a, p, pid, b.comm, what))
				return;
		}
	}
}

void agent_hold(struct agent *a, const char *id, const char *why)
{
	char tmp[8];

	if (is_halted(a, id, tmp, sizeof(tmp)))
		return;
	halt(a, id, why);
}

int agent_clear(struct agent *a, const char *id, char *msg, size_t msize)
{
	char path[1200];

	if (!hp_valid_id(id))
		return snprintf(msg, msize, "not a patch id"), -EINVAL;
	halted_path(a, id, path, sizeof(path));
	if (unlink(path) < 0) {
		snprintf(msg, msize, "patch %s is not halted", id);
		return -ENOENT;
	}
	alog_kv(LOG_NOTICE, id, 0, "cleared halted patch %s", id);
	agent_event(a, "cleared", id, 0, "cleared by the operator");
	agent_reload(a);
	agent_converge(a, time(NULL));
	snprintf(msg, msize, "cleared %s", id);
	return 0;
}

/* restart = in-window: `systemctl try-restart` each restart-required unit the policy allows, inside a window. */
void agent_restarts(struct agent *a, time_t now)
{
	size_t i = 0;

	if (a->policy.restart != POLICY_RESTART_IN_WINDOW || !policy_in_window(&a->policy, now, NULL))
		return;
	while (i < json_array_size(a->restart_required)) {
		json_t *e = json_array_get(a->restart_required, i);
		const char *unit = json_string_value(json_object_get(e, "unit"));
		pid_t child;
		int st = 0;

		if (!unit || !policy_may_restart(&a->policy, unit)) {
			i++;
			continue;
		}
		child = fork();
		if (child == 0) {
			execlp("systemctl", "systemctl", "try-restart", "--", unit, (char *)NULL);
			_exit(127);
		}
		if (child > 0)
			waitpid(child, &st, 0);
		if (child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			alog(LOG_NOTICE, "restarted %s (restart required: %s)", unit,
			     json_string_value(json_object_get(e, "reason")));
			agent_event(a, "restart", NULL, (pid_t)json_integer_value(json_object_get(e, "pid")), "%s", unit);
			json_array_remove(a->restart_required, i);
		} else {
			alog(LOG_WARNING, "systemctl try-restart %s failed (status %d)", unit, st);
			i++;
		}
	}
}

/* ---- fanotify: a target file opened (dlopen, or ld.so at start) ---- */

int agent_fanotify_init(struct agent *a)
{
	agent_fanotify_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC);
	if (agent_fanotify_fd < 0) {
		alog(LOG_WARNING, "fanotify unavailable (%s): libraries loaded later are found by the periodic rescan",
		     strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Only a file whose build-id is the patch's (a path seen in another mount
 * namespace may name another file here).  True when opens of it are watched.
 */
static bool mark_path(const char *path, const char *build_id)
{
	char hex[BUILDID_HEX_MAX];
	bool ok = false;
	int fd;

	if (agent_fanotify_fd < 0 || path[0] != '/')
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (buildid_read_fd(fd, hex) == 0 && !strcmp(hex, build_id) &&
	    fanotify_mark(agent_fanotify_fd, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, path) == 0) {
		alog(LOG_DEBUG, "watching opens of %s", path);
		ok = true;
	}
	close(fd);
	return ok;
}

/* mark_path for the stored patches of this build: remembers which targets fanotify covers. */
static void mark_build(struct agent *a, const char *path, const char *build_id)
{
	size_t k;
	bool done = false, ok = false;

	for (k = 0; a->store && k < a->store->n; k++) {
		if (strcmp(a->store->e[k].build_id, build_id) || a->patches[k].marked)
			continue;
		if (!done) {
			ok = mark_path(path, build_id);
			done = true;
		}
		a->patches[k].marked = ok;
	}
}

/*
 * The files to watch: targets of stored patches as processes map them now,
 * and files named like a target in the configured directories whose
 * build-id matches.
 */
static void fanotify_mark_targets(struct agent *a)
{
	char paths[2048], *save = NULL, *dir;
	size_t k;

	if (agent_fanotify_fd < 0 || !a->store)
		return;
	hp_strlcpy(paths, a->cfg.watch_paths, sizeof(paths));
	for (dir = strtok_r(paths, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		for (k = 0; k < a->store->n; k++) {
			const char *name = a->store->e[k].man->target_name;
			char path[4200], hex[BUILDID_HEX_MAX];
			int fd;

			if (!name || strchr(name, '/'))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			(void)fd;
			(void)hex;
			mark_build(a, path, a->store->e[k].build_id);
		}
	}
}

void agent_fanotify_read(struct agent *a, int fd)
{
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *m = (void *)buf;

		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd >= 0)
				close(m->fd);
			if (m->pid > 0 && m->pid != getpid())
				watch_add(a, m->pid, WATCH_OPEN_MS);
		}
	}
}
