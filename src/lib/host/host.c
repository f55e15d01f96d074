/* SPDX-License-Identifier: MIT */
/*
 * Host-wide sweeps: apply or revert a patch in every process of the host
 * that needs it, in parallel.
 *
 * The work list is every process in /proc.  A bounded pool of workers,
 * each with its own hp_ctx, takes processes from it; each worker reads the
 * process's maps, looks up the build-id of every mapped file in the shared
 * cache (a stat per file once the cache is warm), and patches the process
 * when it maps the target build.  Looking at a process and patching it
 * happen in the same worker, so a host with many unrelated processes is
 * scanned in parallel too.
 *
 * A process whose threads stay inside an affected function for a whole
 * attempt (a short budget) goes to a retry queue with a growing delay,
 * and the workers go on with the others; it is tried again until the
 * sweep's deadline.  When the list is done, /proc is read again for
 * processes that appeared meanwhile (forks of processes being patched),
 * until a pass finds none.
 *
 * Every engine call leaves its process running and untraced whatever
 * happens (ptrace.c), so a worker has nothing to undo; cancelling only
 * stops workers from starting another process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/process/cache.h"
#include "lib/engine/engine.h"
#include "lib/process/ptrace.h"
#include "lib/process/resolve.h"
#include "lib/engine/srec.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_ATTEMPT_MS 50u
#define RETRY_FIRST_MS 20u
#define RETRY_MAX_MS 1000u
#define MAX_JOBS 256u
#define MAX_RESCANS 8

enum sweep_kind { SWEEP_APPLY, SWEEP_REVERT };

/* One process of the work list. */
struct task {
	pid_t pid;
	int proc;			/* index in the results once it is known to matter, else -1 */
	uint64_t not_before_ns;		/* when it may be tried again (in the retry queue) */
	uint64_t first_busy_ns;		/* when it was first found busy */
	unsigned delay_ms;
	unsigned tries;
	bool queued;			/* waiting in the retry queue */
	bool looked;			/* counted in nscanned */
	struct hp_host_proc *copy;	/* the worker's copy of the last entry recorded (for progress) */
	pid_t ppid;			/* from the listing's read of /proc/PID/stat, */
	char comm[64];			/* when comm[0]: describe() need not read it again */
};

/* A process as the listing of /proc saw it. */
struct listed {
	pid_t pid, ppid;
	char comm[64];
};

struct sweep {
	enum sweep_kind kind;
	const struct hp_patch *patch;
	const struct hp_manifest *man;
	const char *patch_id;
	struct hp_host_opts o;
	struct hp_apply_opts ao;
	struct hp_cache *cache;
	const struct hp_ctx *parent;
	ino_t own_mntns;
	uint64_t deadline_ns;
	unsigned round;			/* 0: the first listing, then rescans */

	pthread_mutex_t lock;
	pthread_cond_t changed;		/* a task was taken, finished or queued */
	struct task *tasks;
	size_t ntasks, next;
	size_t nqueued;			/* tasks in the retry queue */
	size_t active;			/* workers busy with a task (atomic) */
	size_t waiting;			/* workers in take_locked's wait (atomic, changed under lock) */
	struct hp_host_proc *procs;
	size_t nprocs, cap;
	size_t nscanned;
	int fatal;			/* -ENOMEM while recording: the result would be incomplete */
};

/* Why: the inode of /proc/PID/ns/mnt tells a container's processes from the host's own. */
static ino_t mntns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/mnt");
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Why: comm and parent come from one read of /proc/PID/stat, for the report. */
static void read_stat(pid_t pid, char *comm, size_t size, pid_t *ppid)
{
	char path[64], buf[512], *open_paren, *close_paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');	/* comm may itself contain ')' */
	if (!open_paren || !close_paren || close_paren < open_paren)
		return;
	*close_paren = 0;
	hp_strlcpy(comm, open_paren + 1, size);
	if (close_paren[1] == ' ' && close_paren[2] && close_paren[3] == ' ')
		*ppid = (pid_t)strtol(close_paren + 4, NULL, 10);
}

/*
 * Why: kernel threads are in /proc but run no user-space code: they are not
 * processes to patch or report (an unprivileged caller cannot even read
 * their maps, which made them "unknown").  The kernel marks them with
 * PF_KTHREAD in the flags field (the 9th) of /proc/PID/stat; the same read
 * gives the name and the parent the report shows (comm and ppid of l, left
 * empty when the file cannot be read or parsed).
 */
static bool is_kthread(pid_t pid, struct listed *l)
{
	char path[64], buf[512], *p, *open_paren;
	unsigned long flags;
	ssize_t n;
	int field;

	l->pid = pid;
	l->ppid = 0;
	l->comm[0] = 0;
	n = hp_read_small(hp_proc_path(path, sizeof(path), pid, "stat"), buf, sizeof(buf));
	if (n <= 0)
		return false;
	open_paren = strchr(buf, '(');
	p = strrchr(buf, ')');	/* comm may contain spaces and ')' */
	if (!p || !open_paren || p < open_paren)
		return false;
	*p = 0;
	hp_strlcpy(l->comm, open_paren + 1, sizeof(l->comm));
	*p = ')';
	if (p[1] == ' ' && p[2] && p[3] == ' ')
		l->ppid = (pid_t)strtol(p + 4, NULL, 10);
	/* after ") ": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) */
	for (field = 2; field < 9 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return false;
	for (flags = 0, p++; *p >= '0' && *p <= '9'; p++)
		flags = flags * 10 + (unsigned long)(*p - '0');
	return (flags & 0x00200000ul) != 0;	/* PF_KTHREAD */
}

static int pid_cmp(const void *a, const void *b);

/*
 * Why: the work list is every process of the host; threads are not processes and /proc lists only those.
 * Kernel threads are left out, and so are processes the caller's selector does not want.  A rescan
 * passes the pids it has seen (sorted): those are skipped before anything of theirs is read, so a
 * rescan costs a listing of /proc, not two reads per process of the host; ret_rej (if not NULL) gets
 * the pids looked at and left out, for the next rescan's seen set.  The selector runs before the
 * kernel-thread check: it usually rules a process out with one read (--comm), and a kernel thread
 * never passes it anyway (no executable, no unit, a name of its own).
 */
static int list_pids_sel(const struct hp_host_opts *o, const pid_t *seen, size_t nseen, struct listed **ret_pids,
			 size_t *ret_n, pid_t **ret_rej, size_t *ret_nrej)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	_cleanup_free_ struct listed *v = NULL;
	_cleanup_free_ pid_t *rej = NULL;
	struct listed l;
	pid_t self = getpid();
	size_t n = 0, cap = 0, nrej = 0, caprej = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid;
		bool want;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || hp_parse_pid(de->d_name, &pid) < 0 || pid == self)
			continue;
		if (nseen && bsearch(&pid, seen, nseen, sizeof(pid_t), pid_cmp))
			continue;
		want = !(o && o->sz > offsetof(struct hp_host_opts, select) && o->select &&
			 !o->select(o->select_ud, pid)) &&
		       !is_kthread(pid, &l);
		if (want ? HP_GROW(v, cap, n + 1) < 0 : ret_rej && HP_GROW(rej, caprej, nrej + 1) < 0)
			return -ENOMEM;
		if (want)
			v[n++] = l;
		else if (ret_rej)
			rej[nrej++] = pid;
	}
	*ret_pids = TAKE_PTR(v);
	*ret_n = n;
	if (ret_rej) {
		*ret_rej = TAKE_PTR(rej);
		*ret_nrej = nrej;
	}
	return 0;
}

/* Why: status lists every process but kernel threads. */
static int list_pids(pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_free_ struct listed *l = NULL;
	pid_t *v;
	size_t n = 0, i;
	int r;

	r = list_pids_sel(NULL, NULL, 0, &l, &n, NULL, NULL);
	if (r < 0)
		return r;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = l[i].pid;
	*ret_pids = v;
	*ret_n = n;
	return 0;
}

/* Why: the seen set is sorted, so a rescan finds new pids by binary search. */
static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/*
 * What the report says about a process besides its outcome, gathered before
 * an attempt (the public struct hp_host_proc holds owned strings, this one
 * buffers, so that it lives on the worker's stack).
 */
struct proc_info {
	pid_t ppid;
	char comm[64];
	bool other_mntns;
	pid_t inherited_from;
	char target[PATH_MAX];
	uint8_t build_id[HP_BUILD_ID_MAX];
	size_t build_id_len;
};

/* The "" every text field of a result entry starts as: never NULL, never freed. */
static char empty[] = "";

/* Why: text fields of result entries are owned strings or the shared empty one. */
static void str_free(const char *str)
{
	if (str && str != empty)
		free((char *)str);
}

/* Why: one place replaces an owned text field; the old text stays on ENOMEM. */
static int str_set(const char **dst, const char *src)
{
	char *copy;

	if (!*src) {
		str_free(*dst);
		*dst = empty;
		return 0;
	}
	copy = strdup(src);
	if (!copy)
		return -ENOMEM;
	str_free(*dst);
	*dst = copy;
	return 0;
}

/* Why: result entries own their text; freed with the array (also on a failed sweep). */
static void procs_free(struct hp_host_proc *procs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		str_free(procs[i].message);
		str_free(procs[i].target);
	}
	free(procs);
}

/* Why: a result entry is made only for processes that matter (they map some build of the target). */
static int add_proc_locked(struct sweep *s, struct task *t)
{
	struct hp_host_proc *p;

	if (t->proc >= 0)
		return t->proc;
	if (HP_GROW(s->procs, s->cap, s->nprocs + 1) < 0) {
		s->fatal = -ENOMEM;
		return -ENOMEM;
	}
	p = &s->procs[s->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = t->pid;
	p->message = empty;
	p->target = empty;
	t->proc = (int)s->nprocs++;
	return t->proc;
}

/*
 * Why: the outcome of one attempt is recorded under the lock, since the
 * result array moves when it grows.  Returns the entry index or -ENOMEM.
 */
static int record(struct sweep *s, struct task *t, enum hp_host_outcome outcome, int err, const char *msg,
		  const struct proc_info *info, const struct hp_apply_result *res)
{
	struct hp_host_proc *p;
	int idx;

	pthread_mutex_lock(&s->lock);
	idx = add_proc_locked(s, t);
	if (idx >= 0) {
		p = &s->procs[idx];
		if (info) {
			hp_strlcpy(p->comm, info->comm, sizeof(p->comm));
			p->ppid = info->ppid;
			p->other_mntns = info->other_mntns;
			if (str_set(&p->target, info->target) < 0)
				s->fatal = -ENOMEM;
			memcpy(p->build_id, info->build_id, info->build_id_len);
			p->build_id_len = info->build_id_len;
			p->inherited_from = info->inherited_from;
		}
		p->outcome = outcome;
		p->err = err;
		if (str_set(&p->message, msg ? msg : "") < 0)
			s->fatal = -ENOMEM;
		if (res) {
			p->result = *res;
			p->result.sz = sizeof(p->result);
		}
		/* the array moves when it grows: the progress callback gets a copy taken here */
		if (t->copy)
			*t->copy = *p;
	}
	pthread_mutex_unlock(&s->lock);
	return idx;
}

/* Why: whether a pid was patched in this sweep decides "patched (inherited by fork)" for its children. */
static bool patched_here(struct sweep *s, pid_t pid)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nprocs && !found; i++)
		found = s->procs[i].pid == pid && s->procs[i].outcome == HP_HOST_PATCHED &&
			!s->procs[i].inherited_from;
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Why: a forked child carries its parent's record, whose applier_pid names the parent. */
static pid_t applier_of(struct hp_ctx *ctx, pid_t pid, const char *patch_id)
{
	struct hp_maps maps;
	struct hp_srec *recs = NULL;
	size_t n = 0, i;
	pid_t who = 0;
	int memfd;

	if (hp_maps_read(NULL, pid, &maps) < 0)
		return 0;
	memfd = hp_mem_open(ctx, pid);
	if (memfd >= 0 && hp_srec_find_all(ctx, pid, memfd, &maps, &recs, &n) == 0)
		for (i = 0; i < n; i++)
			if (!strcmp(recs[i].hdr.patch_id, patch_id) && recs[i].hdr.state == HP_STATE_ACTIVE)
				who = (pid_t)recs[i].hdr.applier_pid;
	hp_srec_free_all(recs, n);
	if (memfd >= 0)
		close(memfd);
	hp_maps_release(&maps);
	return who;
}

/* Why: another build of the target is recognised by its file name, wherever it is installed. */
static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Why: the retry delay grows so that a process busy for seconds costs a few attempts, not hundreds. */
static bool requeue(struct sweep *s, struct task *t)
{
	uint64_t now = hp_now_ns();
	unsigned jitter;

	t->delay_ms = t->delay_ms ? t->delay_ms * 2 : RETRY_FIRST_MS;
	if (t->delay_ms > RETRY_MAX_MS)
		t->delay_ms = RETRY_MAX_MS;
	jitter = (unsigned)(random() % (t->delay_ms / 2 + 1));
	t->not_before_ns = now + (uint64_t)(t->delay_ms / 2 + jitter) * 1000000ull;
	if (t->not_before_ns >= s->deadline_ns) {
		/* one last attempt right at the deadline is worth more than none */
		if (now + (uint64_t)s->ao.timeout_ms * 1000000ull >= s->deadline_ns)
			return false;
		t->not_before_ns = s->deadline_ns - (uint64_t)s->ao.timeout_ms * 1000000ull;
	}
	return true;
}

/*
 * Why: the engine's message counts the attempts of one short try; once the
 * process is given up, say how long the sweep kept trying it.
 */
static void busy_message(struct task *t, struct hp_ctx *ctx, bool again)
{
	uint64_t now = hp_now_ns();

	t->tries++;
	if (!t->first_busy_ns)
		t->first_busy_ns = now;
	if (!again)
		hp_err_prefix(ctx, -HP_E_BUSY, "busy through the sweep's timeout (tried %u times over %.1f s): ",
			      t->tries, (double)(now - t->first_busy_ns) / 1e9);
	else
		hp_info(ctx, "host: pid %d busy (try %u), queued for a retry in %.0f ms: %s", t->pid, t->tries,
			(double)(t->not_before_ns - now) / 1e6, hp_ctx_errmsg(ctx));
}

/* Why: a process left in the retry queue by an interrupt was not given the whole timeout; say so. */
static void cancelled_retries(struct sweep *s)
{
	char *msg;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		struct hp_host_proc *p;

		if (!t->queued || t->proc < 0)
			continue;
		p = &s->procs[t->proc];
		if (asprintf(&msg, "the sweep was interrupted while it waited to retry (tried %u times): %s", t->tries,
			     p->message) < 0) {
			s->fatal = -ENOMEM;
			continue;
		}
		str_free(p->message);
		p->message = msg;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Why: busy (to the retry queue) and gone (exited) mean the same in an apply and a revert sweep. */
static bool record_busy_or_gone(struct sweep *s, struct task *t, struct hp_ctx *ctx, int r,
				const struct proc_info *info, const struct hp_apply_result *res, bool *retry)
{
	switch (r) {
	case -HP_E_BUSY:
		*retry = requeue(s, t);
		busy_message(t, ctx, *retry);
		record(s, t, HP_HOST_FAILED, r, hp_ctx_errmsg(ctx), info, res);
		return true;
	case -ESRCH:
	case -HP_E_EXITED:
		record(s, t, HP_HOST_EXITED, 0, hp_ctx_errmsg(ctx), info, res);
		return true;
	default:
		return false;
	}
}

/* Why: "restart required" names both builds, so the operator knows what runs and what the patch needs. */
static void restart_message(const struct hp_manifest *m, const struct hp_module *mod, char *buf, size_t size)
{
	char have[2 * HP_BUILD_ID_MAX + 1], want[2 * HP_BUILD_ID_MAX + 1];

	hp_hex(m->build_id, m->build_id_len, want);
	if (mod->build_id_len)
		hp_hex(mod->build_id, mod->build_id_len, have);
	else
		snprintf(have, sizeof(have), "(none)");
	snprintf(buf, size, "restart required: running build %s of %s%s, patch is for build %s", have, mod->path,
		 mod->deleted ? " (deleted)" : "", want);
}

/* Why: what the report says about a process besides the outcome. */
static void describe(struct sweep *s, const struct task *t, const struct hp_module *mod, struct proc_info *info)
{
	ino_t ns = mntns_of(t->pid);

	memset(info, 0, sizeof(*info));
	if (t->comm[0]) {
		/* as the listing read them: one read of /proc/PID/stat per process, not two */
		hp_strlcpy(info->comm, t->comm, sizeof(info->comm));
		info->ppid = t->ppid;
	} else {
		read_stat(t->pid, info->comm, sizeof(info->comm), &info->ppid);
	}
	info->other_mntns = ns && s->own_mntns && ns != s->own_mntns;
	if (mod) {
		hp_strlcpy(info->target, mod->path, sizeof(info->target));
		memcpy(info->build_id, mod->build_id, mod->build_id_len);
		info->build_id_len = mod->build_id_len;
	}
}

/*
 * Why: a process that executes another program in the middle of an
 * operation makes it fail in whatever step it was (its old memory is gone);
 * that is the process leaving, not the sweep failing.
 */
static bool left_target(struct sweep *s, struct hp_ctx *ctx, pid_t pid)
{
	struct hp_process proc;
	bool runs = false;
	size_t i;
	int r;

	r = hp_process_open_cached(ctx, pid, s->cache, &proc);
	if (r == -ESRCH || r == -ENOENT)
		return true;
	if (r < 0)
		return false;
	for (i = 0; i < proc.nmods && !runs; i++)
		runs = proc.mods[i].build_id_len == s->man->build_id_len &&
		       !memcmp(proc.mods[i].build_id, s->man->build_id, s->man->build_id_len);
	hp_process_close(&proc);
	return !runs;
}

/*
 * Why: one attempt on one process of an apply sweep.  Returns true when
 * the process goes to the retry queue.
 */
static bool apply_one(struct sweep *s, struct hp_ctx *ctx, struct task *t)
{
	const struct hp_manifest *m = s->man;
	struct proc_info info;
	struct hp_apply_result res;
	struct hp_process proc;
	const struct hp_module *target = NULL, *other = NULL;
	bool known = t->proc >= 0, retry = false;
	size_t i;
	int r;

	/* Opened once: what tells whether it runs the target is what the apply then works with. */
	r = hp_process_open_cached(ctx, t->pid, s->cache, &proc);
	if (r == -ESRCH || r == -ENOENT || (r == 0 && !proc.maps.n)) {
		/* gone, or a kernel thread; reported only if it was known to run the target */
		if (r == 0)
			hp_process_close(&proc);
		if (known)
			record(s, t, HP_HOST_EXITED, 0, "exited during the sweep", NULL, NULL);
		return false;
	}
	if (r < 0) {
		/* cannot even tell whether it runs the target: say so rather than skip it */
		describe(s, t, NULL, &info);
		record(s, t, known ? HP_HOST_FAILED : HP_HOST_UNKNOWN, r, hp_ctx_errmsg(ctx), &info, NULL);
		return false;
	}
	for (i = 0; i < proc.nmods; i++) {
		const struct hp_module *mod = &proc.mods[i];

		if (mod->build_id_len == m->build_id_len && !memcmp(mod->build_id, m->build_id, m->build_id_len)) {
			target = mod;
			break;
		}
		if (!other && !strcmp(base_name(mod->path), m->target_name))
			other = mod;
	}
	if (!target) {
		char msg[512];

		if (other) {
			describe(s, t, other, &info);
			restart_message(m, other, msg, sizeof(msg));
			record(s, t, HP_HOST_RESTART, -HP_E_NOTARGET, msg, &info, NULL);
		} else if (known) {
			record(s, t, HP_HOST_EXITED, 0, "no longer maps the target (it executed another program)",
			       NULL, NULL);
		}
		hp_process_close(&proc);
		return false;
	}
	describe(s, t, target, &info);

	memset(&res, 0, sizeof(res));
	r = hp_apply_checked(ctx, t->pid, s->patch, &s->ao, true, &proc, &res);
	if (record_busy_or_gone(s, t, ctx, r, &info, &res, &retry))
		return retry;
	switch (r) {
	case 0:
		record(s, t, HP_HOST_PATCHED, 0, NULL, &info, &res);
		break;
	case -HP_E_APPLIED:
		info.inherited_from = applier_of(ctx, t->pid, m->id);
		if (info.inherited_from == t->pid)
			info.inherited_from = 0;
		if (info.inherited_from && patched_here(s, info.inherited_from)) {
			char msg[128];

			snprintf(msg, sizeof(msg), "inherited by fork from pid %d", info.inherited_from);
			record(s, t, HP_HOST_PATCHED, 0, msg, &info, &res);
		} else {
			record(s, t, HP_HOST_ALREADY, r, hp_ctx_errmsg(ctx), &info, &res);
		}
		break;
	case -HP_E_DOWNGRADE:
		record(s, t, HP_HOST_ALREADY, r, hp_ctx_errmsg(ctx), &info, &res);
		break;
	case -HP_E_NOTARGET:
		/* it executed something else between the look and the apply */
		record(s, t, strstr(hp_ctx_errmsg(ctx), "restart required") ? HP_HOST_RESTART : HP_HOST_EXITED, r,
		       hp_ctx_errmsg(ctx), &info, &res);
		break;
	default:
		if (left_target(s, ctx, t->pid)) {
			char msg[600];

			snprintf(msg, sizeof(msg), "exited or executed another program during the operation (%s)",
				 hp_ctx_errmsg(ctx)[0] ? hp_ctx_errmsg(ctx) : hp_strerror(r));
			record(s, t, HP_HOST_EXITED, 0, msg, &info, &res);
		} else {
			record(s, t, HP_HOST_FAILED, r, hp_ctx_errmsg(ctx), &info, &res);
		}
		break;
	}
	return retry;
}

/* Why: a revert sweep only looks at processes whose maps name the patch's memory. */
static bool maps_have_patch(const struct hp_maps *maps, const char *id)
{
	static const char prefix[] = "/memfd:" HP_MEMFD_PREFIX;
	size_t i;

	for (i = 0; i < maps->n; i++)
		if (!strncmp(maps->v[i].path, prefix, sizeof(prefix) - 1) &&
		    !strcmp(maps->v[i].path + sizeof(prefix) - 1, id))
			return true;
	return false;
}

/* Why: one attempt on one process of a revert sweep; true when it goes to the retry queue. */
static bool revert_one(struct sweep *s, struct hp_ctx *ctx, struct task *t)
{
	struct proc_info info;
	struct hp_apply_result res;
	struct hp_maps maps;
	struct hp_process proc;
	bool known = t->proc >= 0, has, retry = false;
	int r;

	/* Its maps say whether it has the patch; only then are its files looked at. */
	r = hp_maps_read(NULL, t->pid, &maps);
	if (r == -EACCES || r == -EPERM) {
		/* whether the patch is applied there cannot be told: unknown, never "not applied" */
		char msg[128];

		describe(s, t, NULL, &info);
		snprintf(msg, sizeof(msg), "pid %d: cannot read its memory map: %s", t->pid, strerror(-r));
		record(s, t, known ? HP_HOST_FAILED : HP_HOST_UNKNOWN, r, msg, &info, NULL);
		return false;
	}
	if (r < 0) {
		if (known)
			record(s, t, HP_HOST_EXITED, 0, "exited during the sweep", NULL, NULL);
		return false;
	}
	has = maps_have_patch(&maps, s->patch_id);
	if (!has) {
		hp_maps_release(&maps);
		if (known)
			record(s, t, HP_HOST_EXITED, 0, "no longer has the patch (it executed another program)", NULL,
			       NULL);
		return false;
	}
	describe(s, t, NULL, &info);
	memset(&res, 0, sizeof(res));
	r = hp_process_open_maps(ctx, t->pid, s->cache, &maps, &proc);
	if (r == 0)
		r = hp_revert_opened(ctx, t->pid, s->patch_id, &s->ao, &proc, &res);
	if (record_busy_or_gone(s, t, ctx, r, &info, &res, &retry))
		return retry;
	switch (r) {
	case 0:
		record(s, t, HP_HOST_REVERTED, 0, NULL, &info, &res);
		break;
	case -HP_E_NOTAPPLIED:
		record(s, t, HP_HOST_ALREADY, r, hp_ctx_errmsg(ctx), &info, &res);
		break;
	default:
		if (hp_maps_read(NULL, t->pid, &maps) < 0) {
			record(s, t, HP_HOST_EXITED, 0, "exited during the operation", &info, &res);
			break;
		}
		has = maps_have_patch(&maps, s->patch_id);
		hp_maps_release(&maps);
		if (!has)
			record(s, t, HP_HOST_EXITED, 0, "exited or executed another program during the operation",
			       &info, &res);
		else
			record(s, t, HP_HOST_FAILED, r, hp_ctx_errmsg(ctx), &info, &res);
		break;
	}
	return retry;
}

/*
 * Why: the next task for a worker when no fresh process is left (take()):
 * a retry whose delay is over; waits while only retries in their delay or
 * other workers' tasks (which may be requeued) remain.  NULL: nothing left.
 * A waiting worker is counted in s->waiting before it looks at s->active,
 * and a worker that finishes a task lowers s->active before it looks at
 * s->waiting (both sequentially consistent): so either the finisher sees
 * the waiter and wakes it under the lock, or the waiter sees the lower count.
 */
static struct task *take_locked(struct sweep *s)
{
	struct task *t = NULL;

	__atomic_add_fetch(&s->waiting, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint64_t now, soonest = UINT64_MAX;
		struct task *best = NULL;
		size_t i;

		if (s->o.cancel && *s->o.cancel)
			break;
		if (__atomic_load_n(&s->next, __ATOMIC_SEQ_CST) < s->ntasks) {
			i = __atomic_fetch_add(&s->next, 1, __ATOMIC_SEQ_CST);
			if (i < s->ntasks) {
				t = &s->tasks[i];
				break;
			}
		}
		if (s->nqueued) {
			now = hp_now_ns();
			for (i = 0; i < s->ntasks; i++)
				if (s->tasks[i].queued && s->tasks[i].not_before_ns < soonest) {
					soonest = s->tasks[i].not_before_ns;
					best = &s->tasks[i];
				}
			if (best && soonest <= now) {
				best->queued = false;
				s->nqueued--;
				t = best;
				break;
			}
		}
		if (!s->nqueued && !__atomic_load_n(&s->active, __ATOMIC_SEQ_CST))
			break;
		if (s->nqueued) {
			struct timespec ts;
			uint64_t wake_rt, mono = hp_now_ns();

			/* condition variables wait on CLOCK_REALTIME; convert the monotonic due time */
			clock_gettime(CLOCK_REALTIME, &ts);
			wake_rt = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
				  (soonest > mono ? soonest - mono : 0);
			ts.tv_sec = (time_t)(wake_rt / 1000000000ull);
			ts.tv_nsec = (long)(wake_rt % 1000000000ull);
			pthread_cond_timedwait(&s->changed, &s->lock, &ts);
		} else {
			pthread_cond_wait(&s->changed, &s->lock);
		}
	}
	if (t)
		__atomic_add_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&s->waiting, 1, __ATOMIC_SEQ_CST);
	return t;
}

/* Why: a worker stops being active; one waiting in take_locked may now find that nothing is left. */
static void not_active(struct sweep *s)
{
	__atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->waiting, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&s->lock);
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
	}
}

/*
 * Why: a sweep of 1,000 idle processes took the pool's lock three times per
 * process and woke every worker after each one (issue 15: ~10 futex calls
 * per process, most of them failing).  A fresh process is taken with one
 * atomic increment; the lock is taken only for the retry queue and the
 * end of a listing.
 */
static struct task *take(struct sweep *s)
{
	struct task *t;
	size_t i;

	if (s->o.cancel && *s->o.cancel)
		return NULL;
	if (__atomic_load_n(&s->next, __ATOMIC_SEQ_CST) < s->ntasks) {
		/* counted as active before it is taken: a worker in take_locked must not give up meanwhile */
		__atomic_add_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
		i = __atomic_fetch_add(&s->next, 1, __ATOMIC_SEQ_CST);
		if (i < s->ntasks)
			return &s->tasks[i];
		not_active(s);
	}
	pthread_mutex_lock(&s->lock);
	t = take_locked(s);
	pthread_mutex_unlock(&s->lock);
	return t;
}

/* Why: a task is done; workers waiting for retries or for the end of the listing are told. */
static void finished(struct sweep *s, struct task *t, bool again)
{
	if (again) {
		pthread_mutex_lock(&s->lock);
		t->queued = true;
		s->nqueued++;
		if (t->proc >= 0)
			s->procs[t->proc].busy_retries++;
		__atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	not_active(s);
}

struct worker {
	pthread_t thread;
	struct sweep *s;
	bool started;
};

/* Why: each worker owns a context (contexts are not thread-safe) and takes tasks until none is left. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sweep *s = w->s;
	struct hp_ctx *ctx = NULL;
	struct hp_host_proc copy;
	struct sigaction sa;
	sigset_t all;

	/* Signals go to the caller's thread: an engine call must not see EINTR halfway. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	/*
	 * Except SIGCHLD when nothing handles it: every stop of a tracee sends
	 * one to its tracer, this worker, and the kernel discards an ignored
	 * signal only if that thread does not block it; blocked, it went to the
	 * caller's thread and woke it (~5 times per process of a sweep).
	 */
	if (!sigaction(SIGCHLD, NULL, &sa) && !(sa.sa_flags & SA_SIGINFO) &&
	    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
		sigdelset(&all, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (hp_ctx_new(&ctx) < 0) {
		pthread_mutex_lock(&s->lock);
		s->fatal = -ENOMEM;
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	hp_ctx_set_log(ctx, s->parent->log_fn, s->parent->log_ud, s->parent->log_max);
	hp_ptrace_set_wait_yields(true);
	for (;;) {
		struct task *t = take(s);
		bool again;

		if (!t)
			break;
		if (!t->looked) {
			t->looked = true;
			__atomic_add_fetch(&s->nscanned, 1, __ATOMIC_RELAXED);
		}
		/* only this worker records for t until it is finished */
		t->copy = &copy;
		again = s->kind == SWEEP_APPLY ? apply_one(s, ctx, t) : revert_one(s, ctx, t);
		t->copy = NULL;
		/* final for this process: hand the copy record() took to the caller, outside the lock */
		if (!again && t->proc >= 0 && s->o.sz > offsetof(struct hp_host_opts, progress) && s->o.progress)
			s->o.progress(s->o.progress_ud, &copy);
		finished(s, t, again);
	}
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	hp_ctx_free(ctx);
	return NULL;
}

/* Why: the pool runs once per listing of /proc; a listing's tasks are all done when it returns. */
static int run_pool(struct sweep *s, unsigned jobs)
{
	_cleanup_free_ struct worker *w = calloc(jobs, sizeof(*w));
	unsigned i, started = 0;

	if (!w)
		return -ENOMEM;
	s->next = 0;
	s->nqueued = 0;
	s->active = 0;
	s->waiting = 0;
	for (i = 0; i < jobs; i++) {
		w[i].s = s;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0) {
			w[i].started = true;
			started++;
		}
	}
	if (!started)
		return -EAGAIN;
	for (i = 0; i < jobs; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	return s->fatal;
}

/* Why: the tasks of one listing: the pids of /proc not seen in an earlier listing. */
static int make_tasks(struct sweep *s, pid_t **seen, size_t *nseen, size_t *ret_new)
{
	_cleanup_free_ struct listed *pids = NULL;
	_cleanup_free_ pid_t *rej = NULL;
	size_t n = 0, nrej = 0, i;
	pid_t *all;
	int r;

	r = list_pids_sel(&s->o, *seen, *nseen, &pids, &n, &rej, &nrej);
	if (r < 0)
		return r;
	free(s->tasks);
	s->tasks = calloc(n ? n : 1, sizeof(*s->tasks));
	if (!s->tasks)
		return -ENOMEM;
	s->ntasks = 0;
	for (i = 0; i < n; i++) {
		struct task *t = &s->tasks[s->ntasks++];

		t->pid = pids[i].pid;
		t->proc = -1;
		t->ppid = pids[i].ppid;
		hp_strlcpy(t->comm, pids[i].comm, sizeof(t->comm));
	}
	/* the seen set grows by this listing: its tasks and the processes it left out */
	all = realloc(*seen, (*nseen + n + nrej + 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		all[*nseen + i] = pids[i].pid;
	if (nrej)
		memcpy(all + *nseen + n, rej, nrej * sizeof(*all));
	*seen = all;
	*nseen += n + nrej;
	qsort(*seen, *nseen, sizeof(pid_t), pid_cmp);
	*ret_new = s->ntasks;
	return 0;
}

/* Why: the report lists processes by pid, whatever order the workers finished in. */
static int proc_cmp(const void *a, const void *b)
{
	const struct hp_host_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Why: apply and revert sweeps differ only in the per-process step. */
static int sweep_run(struct hp_ctx *ctx, struct sweep *s, struct hp_host_result **ret_result)
{
	struct hp_host_result *res;
	_cleanup_free_ pid_t *seen = NULL;
	struct hp_cache *own_cache = NULL;
	size_t nseen = 0, i;
	uint64_t t0 = hp_now_ns();
	unsigned jobs;
	long ncpu;
	int r = 0;

	if (!s->o.timeout_ms)
		s->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!s->o.attempt_ms)
		s->o.attempt_ms = DEFAULT_ATTEMPT_MS;
	if (s->o.attempt_ms > s->o.timeout_ms)
		s->o.attempt_ms = s->o.timeout_ms;
	jobs = s->o.jobs;
	if (!jobs) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = (unsigned)(ncpu > 0 ? ncpu : 1) * HP_HOST_JOBS_PER_CPU;
	}
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	s->cache = s->o.cache;
	if (!s->cache) {
		r = hp_cache_new(&own_cache);
		if (r < 0)
			return r;
		s->cache = own_cache;
	}
	s->ao.sz = sizeof(s->ao);
	s->ao.timeout_ms = s->o.attempt_ms;
	s->ao.flags = s->o.flags;
	s->ao.trust_dir = s->o.trust_dir;
	s->ao.cache = s->cache;
	s->parent = ctx;
	s->own_mntns = mntns_of(0);
	s->deadline_ns = t0 + (uint64_t)s->o.timeout_ms * 1000000ull;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);

	for (s->round = 0; s->round <= MAX_RESCANS; s->round++) {
		size_t nnew = 0, before = s->nprocs;

		r = make_tasks(s, &seen, &nseen, &nnew);
		if (r < 0)
			break;
		if (!nnew)
			break;
		r = run_pool(s, jobs);
		if (r < 0)
			break;
		/*
		 * A retry that was still waiting when the sweep was cancelled keeps its "busy"
		 * failure, saying that the wait was cut short rather than spent.
		 */
		if (s->o.cancel && *s->o.cancel) {
			cancelled_retries(s);
			break;
		}
		/* Rescans look for processes that appeared meanwhile; stop when one finds nothing new to do. */
		if (s->round > 0 && s->nprocs == before)
			break;
	}
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s->tasks);
	s->tasks = NULL;
	{
		struct hp_cache_stats cs;

		hp_cache_get_stats(s->cache, &cs);
		hp_info(ctx, "host: cache: %lu build-id lookups read %lu files; %lu ELF lookups parsed %lu objects",
			cs.build_id_lookups, cs.build_id_reads, cs.elf_lookups, cs.elf_loads);
	}
	hp_cache_free(own_cache);
	if (r >= 0 && s->fatal < 0)
		r = s->fatal;
	if (r < 0) {
		procs_free(s->procs, s->nprocs);
		return hp_err(ctx, r, "host: the sweep failed: %s", strerror(-r));
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		procs_free(s->procs, s->nprocs);
		return -ENOMEM;
	}
	res->procs = s->procs;
	res->nprocs = s->nprocs;
	if (res->nprocs)
		qsort(res->procs, res->nprocs, sizeof(*res->procs), proc_cmp);
	for (i = 0; i < res->nprocs; i++) {
		const struct hp_host_proc *p = &res->procs[i];

		res->npatched += p->outcome == HP_HOST_PATCHED;
		res->nalready += p->outcome == HP_HOST_ALREADY;
		res->nreverted += p->outcome == HP_HOST_REVERTED;
		res->nrestart += p->outcome == HP_HOST_RESTART;
		res->nfailed += p->outcome == HP_HOST_FAILED;
		res->nexited += p->outcome == HP_HOST_EXITED;
		res->nunknown += p->outcome == HP_HOST_UNKNOWN;
		res->nbusy_retried += p->busy_retries > 0;
	}
	res->nscanned = s->nscanned;
	res->jobs = jobs;
	res->total_ns = hp_now_ns() - t0;
	*ret_result = res;
	return 0;
}

/* Why: trust before memory, once: the signature is verified before the first process is looked at. */
int hp_host_apply(struct hp_ctx *ctx, const struct hp_patch *patch, const struct hp_host_opts *opts,
		  struct hp_host_result **ret_result)
{
	struct sweep s;
	const struct hp_manifest *m = hp_patch_manifest(patch);
	int r;

	memset(&s, 0, sizeof(s));
	r = HP_OPTS_COPY(ctx, &s.o, opts);
	if (r < 0)
		return r;
	ctx->errmsg[0] = 0;
	if (hp_patch_is_signed(patch, NULL) || !(s.o.flags & HP_APPLY_ALLOW_UNSIGNED)) {
		r = hp_patch_verify(ctx, patch, s.o.trust_dir, NULL);
		if (r < 0) {
			if (r == -HP_E_UNSIGNED)
				hp_err(ctx, r, "patch %s is not signed; sign it or pass --allow-unsigned", m->id);
			return r;
		}
	}
	s.kind = SWEEP_APPLY;
	s.patch = patch;
	s.man = m;
	s.patch_id = m->id;
	return sweep_run(ctx, &s, ret_result);
}

/* Why: the record in each process says everything a revert needs; the sweep only finds the processes. */
int hp_host_revert(struct hp_ctx *ctx, const char *patch_id, const struct hp_host_opts *opts,
		   struct hp_host_result **ret_result)
{
	struct sweep s;
	int r;

	memset(&s, 0, sizeof(s));
	r = HP_OPTS_COPY(ctx, &s.o, opts);
	if (r < 0)
		return r;
	ctx->errmsg[0] = 0;
	if (!hp_valid_id(patch_id))
		return hp_err(ctx, -EINVAL, "'%s' is not a valid patch id", patch_id);
	s.kind = SWEEP_REVERT;
	s.patch_id = patch_id;
	return sweep_run(ctx, &s, ret_result);
}

/* Why: results are one allocation plus the process array. */
void hp_host_result_free(struct hp_host_result *r)
{
	if (!r)
		return;
	procs_free(r->procs, r->nprocs);
	free(r);
}

/* Why: a process without a patch mapping has nothing to show; reading its maps is enough to know. */
static bool maps_have_any_patch(const struct hp_maps *maps)
{
	static const char prefix[] = "/memfd:" HP_MEMFD_PREFIX;
	size_t i;

	for (i = 0; i < maps->n; i++)
		if (!strncmp(maps->v[i].path, prefix, sizeof(prefix) - 1))
			return true;
	return false;
}

/*
 * Why: status never stops a thread, and reading maps is cheap next to
 * patching, so one thread reads the whole host.
 */
int hp_host_status(struct hp_ctx *ctx, struct hp_host_status **ret_status)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct hp_host_status *st;
	ino_t own = mntns_of(0);
	size_t n = 0, i;
	int r;

	ctx->errmsg[0] = 0;
	r = list_pids(&pids, &n);
	if (r < 0)
		return hp_err(ctx, r, "host: cannot list processes: %s", strerror(-r));
	qsort(pids, n, sizeof(*pids), pid_cmp);
	st = calloc(1, sizeof(*st));
	if (!st || !(st->procs = calloc(n ? n : 1, sizeof(*st->procs))) ||
	    !(st->unknown = calloc(n ? n : 1, sizeof(*st->unknown)))) {
		if (st)
			free(st->procs);
		free(st);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct hp_host_status_proc *p = &st->procs[st->nprocs];
		struct hp_maps maps;
		pid_t ppid = 0;
		ino_t ns;
		bool has;

		r = hp_maps_read(NULL, pids[i], &maps);
		if (r == -EACCES || r == -EPERM) {
			st->nscanned++;
			st->unknown[st->nunknown++] = pids[i];
			continue;	/* whether it has a patch cannot be told */
		}
		if (r < 0)
			continue;	/* exited meanwhile */
		st->nscanned++;
		has = maps_have_any_patch(&maps);
		hp_maps_release(&maps);
		if (!has)
			continue;
		r = hp_status_read(ctx, pids[i], &p->status);
		if (r == -EACCES || r == -EPERM) {
			st->unknown[st->nunknown++] = pids[i];
			continue;
		}
		if (r < 0)
			continue;	/* exited meanwhile */
		p->pid = pids[i];
		read_stat(pids[i], p->comm, sizeof(p->comm), &ppid);
		ns = mntns_of(pids[i]);
		p->other_mntns = ns && own && ns != own;
		st->nprocs++;
	}
	ctx->errmsg[0] = 0;
	*ret_status = st;
	return 0;
}

/* Why: each process's status is its own allocation. */
void hp_host_status_free(struct hp_host_status *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nprocs; i++)
		hp_status_free(st->procs[i].status);
	free(st->procs);
	free(st->unknown);
	free(st);
}
