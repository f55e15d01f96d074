/* SPDX-License-Identifier: MIT */
/*
 * Process checks: can the engine attach to this process now (not a zombie,
 * not stopped, not traced by someone else, permitted, no seccomp filter in
 * the way), how W^X restrictions affect it, which symbols its executable
 * carries, what is already applied, and which of its mapped files were
 * replaced or deleted on disk since it mapped them (it still runs their old
 * code and needs a restart, unless a hotpatch covers that old build).
 *
 * Everything is read from /proc while the process runs.  The one exception
 * is reading seccomp filters, which needs the thread in a ptrace-stop for a
 * few microseconds (skipped with HP_ASSESS_NO_STOP).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/assess/assess.h"
#include "lib/format/patch.h"

#define PF_KTHREAD 0x00200000UL
#define MAX_THREADS_CHECKED 4096

/* What /proc/PID/status and the tasks say about the process. */
struct pinfo {
	char state;			/* main thread's state letter */
	pid_t tracer;			/* main thread's TracerPid */
	pid_t thread_tracer;		/* a traced thread's tracer, if any thread is traced */
	pid_t traced_tid;
	pid_t stopped_tid;		/* a thread in job-control stop, or 0 */
	long seccomp;			/* mode, -1 if unknown */
	long filters;			/* Seccomp_filters, -1 if unknown */
	bool filters_differ;		/* threads carry different numbers of filters */
	size_t nthreads;
};

/* Why: the engine stops and injects into threads, so every thread's state and tracer count. */
static void read_threads(pid_t pid, struct pinfo *pi)
{
	pid_t *tids = NULL;
	size_t n = 0, i;

	if (hp_proc_threads(pid, &tids, &n) < 0)
		return;
	pi->nthreads = n;
	for (i = 0; i < n && i < MAX_THREADS_CHECKED; i++) {
		_cleanup_free_ char *st = NULL;
		char path[96], state[32];
		unsigned long long v;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tids[i]);
		if (hp_read_file(path, 1 << 16, &st, NULL) < 0)
			continue;	/* the thread exited */
		if (hp_parse_status_field(st, "State", state, sizeof(state)) == 0 && state[0] == 'T' &&
		    !pi->stopped_tid)
			pi->stopped_tid = tids[i];
		if (hp_parse_status_uint(st, "TracerPid", INT32_MAX, &v) == 0 && v && !pi->thread_tracer) {
			pi->thread_tracer = (pid_t)v;
			pi->traced_tid = tids[i];
		}
		if (pi->filters >= 0 && hp_parse_status_uint(st, "Seccomp_filters", 1u << 20, &v) == 0 &&
		    (long)v != pi->filters)
			pi->filters_differ = true;
	}
	free(tids);
}

/* Why: one read of stat and status gives every fact the attach checks need. */
static int read_pinfo(pid_t pid, struct pinfo *pi, char *comm, size_t comm_size)
{
	_cleanup_free_ char *st = NULL, *stat = NULL;
	char path[64], state[32], name[64];
	unsigned long long v;
	unsigned long flags;
	char sstate;
	int r;

	memset(pi, 0, sizeof(*pi));
	pi->seccomp = pi->filters = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	r = hp_read_file(path, 4096, &stat, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	if (hp_parse_stat(stat, &sstate, &flags) < 0)
		return -EBADMSG;
	if (flags & PF_KTHREAD)
		return -ENOEXEC;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = hp_read_file(path, 1 << 16, &st, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	if (hp_parse_status_field(st, "State", state, sizeof(state)) < 0 || !state[0])
		return -EBADMSG;
	pi->state = state[0];
	if (hp_parse_status_uint(st, "TracerPid", INT32_MAX, &v) == 0)
		pi->tracer = (pid_t)v;
	if (hp_parse_status_uint(st, "Seccomp", 2, &v) == 0)
		pi->seccomp = (long)v;
	if (hp_parse_status_uint(st, "Seccomp_filters", 1u << 20, &v) == 0)
		pi->filters = (long)v;
	if (hp_proc_comm(pid, name, sizeof(name)) == 0)
		hp_strlcpy(comm, name, comm_size);
	else if (hp_parse_status_field(st, "Name", name, sizeof(name)) == 0)
		hp_strlcpy(comm, name, comm_size);
	if (pi->state != 'Z' && pi->state != 'X')
		read_threads(pid, pi);
	return 0;
}

/* Why: an operator needs to know which program holds the process ("strace", "gdb"). */
static void tracer_name(pid_t tracer, char *buf, size_t size)
{
	if (hp_proc_comm(tracer, buf, size) < 0)
		hp_strlcpy(buf, "?", size);
}

/* Why: the engine refuses zombies (no code runs) and stopped processes (it would resume them). */
static int check_state(struct hp_check_vec *v, pid_t pid, const struct pinfo *pi)
{
	struct hp_assess_check *c = hp_check_add(v, "state");

	if (!c)
		return -ENOMEM;
	hp_check_value(c, "%c", pi->state);
	switch (pi->state) {
	case 'Z':
	case 'X':
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the process has exited (zombie): nothing runs in it");
		hp_check_remedy(c, "none: its parent has yet to reap it");
		return 0;
	case 'T':
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the process is stopped (job control, SIGSTOP): the engine does not patch stopped "
				   "processes");
		hp_check_remedy(c, "resume it (kill -CONT %d) and assess again", pid);
		return 0;
	default:
		break;
	}
	if (pi->stopped_tid) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "thread %d is stopped (job control): the engine does not patch stopped processes",
				pi->stopped_tid);
		hp_check_remedy(c, "resume it (kill -CONT %d) and assess again", pid);
		return 0;
	}
	hp_check_set(c, HP_CHECK_OK);
	hp_check_reason(c, "running (%zu thread%s)", pi->nthreads, pi->nthreads == 1 ? "" : "s");
	return 0;
}

/* Why: a thread has at most one tracer, so any traced thread stops the engine from attaching. */
static int check_tracer(struct hp_check_vec *v, const struct pinfo *pi)
{
	struct hp_assess_check *c = hp_check_add(v, "tracer");
	pid_t tracer = pi->tracer ? pi->tracer : pi->thread_tracer;
	char name[64];

	if (!c)
		return -ENOMEM;
	if (!tracer) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "none");
		hp_check_reason(c, "no thread is traced (TracerPid 0)");
		return 0;
	}
	tracer_name(tracer, name, sizeof(name));
	hp_check_set(c, HP_CHECK_NOT_OK);
	hp_check_value(c, "%d (%s)", tracer, name);
	if (pi->tracer)
		hp_check_reason(c, "traced by pid %d (%s): a thread has only one tracer, so the engine cannot attach",
				tracer, name);
	else
		hp_check_reason(c, "thread %d is traced by pid %d (%s): a thread has only one tracer, so the engine "
				   "cannot attach", pi->traced_tid, tracer, name);
	hp_check_remedy(c, "detach the debugger or tracer (quit gdb, stop strace) and assess again");
	return 0;
}

/*
 * Why: opening /proc/PID/mem for writing runs the kernel's ptrace attach
 * permission check (PTRACE_MODE_ATTACH: uids, dumpable, capabilities, Yama,
 * SELinux, AppArmor) without touching the process, so it answers "may this
 * caller attach to this process" exactly.
 */
static int check_access(struct hp_assess *a, struct hp_check_vec *v, pid_t pid)
{
	struct hp_assess_check *c = hp_check_add(v, "ptrace_access");
	char path[64];
	int fd, r;

	if (!c)
		return -ENOMEM;
	if (pid == getpid()) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "this is the assessing process itself, which cannot trace itself");
		hp_check_remedy(c, "none");
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "the kernel lets this caller attach (ptrace permission check passed on "
				   "/proc/%d/mem)", pid);
		return 0;
	}
	r = -errno;
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	hp_check_set(c, HP_CHECK_NOT_OK);
	hp_check_value(c, "%s", hp_strerror(r));
	hp_check_reason(c, "the kernel refuses this caller ptrace access to the process (%s)", hp_strerror(r));
	hp_assess_caller(a);
	if (a->caller_has_sys_ptrace)
		hp_check_remedy(c, "this caller has CAP_SYS_PTRACE, so an LSM (see the host checks ptrace_scope, "
				   "selinux, apparmor) or a user namespace boundary denies it: assess and patch from "
				   "the process's user namespace or an ancestor of it");
	else
		hp_check_remedy(c, "run as root, or with CAP_SYS_PTRACE");
	return 0;
}

/* Why: the engine's syscalls run inside the target, under the target's own filters. */
static int check_seccomp(struct hp_assess *a, struct hp_check_vec *v, pid_t pid, const struct pinfo *pi,
			 struct hp_seccomp_verdict *ret_sv, bool *ret_evaluated)
{
	struct hp_assess_check *c = hp_check_add(v, "seccomp");
	struct hp_seccomp_filters f = { 0 };
	size_t i, insns = 0, nfilters;
	int r;

	*ret_evaluated = false;
	if (!c)
		return -ENOMEM;
	if (pi->seccomp < 0) {
		hp_check_reason(c, "/proc/%d/status has no Seccomp field", pid);
		hp_check_remedy(c, "check the kernel's seccomp support");
		return 0;
	}
	if (pi->seccomp == 0) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "disabled");
		hp_check_reason(c, "no seccomp restriction");
		return 0;
	}
	if (pi->seccomp == 1) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_value(c, "strict");
		hp_check_reason(c, "seccomp strict mode allows only read, write, _exit and sigreturn: the engine's "
				   "memfd_create and mmap would kill the process");
		hp_check_remedy(c, "none without a restart: the program must not enter strict mode");
		return 0;
	}
	if (pi->filters >= 0)
		hp_check_value(c, "filter (%ld)", pi->filters);
	else
		hp_check_value(c, "filter");
	if (a->flags & HP_ASSESS_NO_STOP) {
		hp_check_reason(c, "seccomp filters are installed; not read, because reading them stops a thread "
				   "briefly (--no-stop): unknown whether they block the engine");
		hp_check_remedy(c, "assess without --no-stop, as root");
		return 0;
	}
	if (pi->tracer) {
		hp_check_reason(c, "seccomp filters are installed; they cannot be read while another tracer holds "
				   "the process");
		hp_check_remedy(c, "detach the tracer and assess again");
		return 0;
	}
	hp_assess_caller(a);
	if (!a->caller_has_sys_admin) {
		hp_check_reason(c, "seccomp filters are installed; reading them needs CAP_SYS_ADMIN, which this "
				   "caller lacks: unknown whether they block the engine");
		hp_check_remedy(c, "assess as root");
		return 0;
	}
	r = hp_seccomp_read_filters(a->ctx, pid, &f);
	if (r == -ESRCH)
		return -ESRCH;
	if (r < 0) {
		hp_check_reason(c, "seccomp filters are installed but cannot be read: %s", hp_ctx_errmsg(a->ctx));
		hp_check_remedy(c, "assess as root, on a kernel with CONFIG_CHECKPOINT_RESTORE");
		return 0;
	}
	for (i = 0; i < f.n; i++)
		insns += f.lens[i];
	nfilters = f.n;
	hp_check_value(c, "filter (%zu, %zu instructions)", nfilters, insns);
	r = hp_seccomp_evaluate(&f, ret_sv);
	hp_seccomp_filters_release(&f);
	if (r < 0) {
		hp_check_reason(c, "a seccomp filter of the process uses instructions this evaluator does not know");
		hp_check_remedy(c, "check the filter by hand (seccomp-tools dump -p %d)", pid);
		return 0;
	}
	*ret_evaluated = true;
	if (ret_sv->engine == HP_CHECK_NOT_OK) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the process's seccomp filters refuse syscalls the engine runs in it: %s",
				ret_sv->engine_detail);
		hp_check_remedy(c, "allow memfd_create, mmap, munmap and close for the service (systemd: "
				   "SystemCallFilter=), then restart it once");
	} else if (ret_sv->engine == HP_CHECK_UNKNOWN) {
		hp_check_reason(c, "the seccomp filters leave it open: %s", ret_sv->engine_detail);
		hp_check_remedy(c, "check the filter by hand (seccomp-tools dump -p %d)", pid);
	} else if (pi->filters_differ) {
		hp_check_reason(c, "the main thread's filters allow the engine's syscalls, but other threads carry a "
				   "different number of filters");
		hp_check_remedy(c, "check the filters of each thread");
	} else {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "the engine's syscalls (memfd_create, mmap, munmap, close) pass all %zu filter%s%s",
				nfilters, nfilters == 1 ? "" : "s",
				ret_sv->reads_args ? " with the arguments the engine passes" : "");
	}
	return 0;
}

/* Why: operators ask whether W^X hardening breaks hotpatching; it does not, and this says why. */
static int check_wx(struct hp_check_vec *v, const struct pinfo *pi, const struct hp_seccomp_verdict *sv,
		    bool evaluated)
{
	struct hp_assess_check *c = hp_check_add(v, "wx_policy");
	static const char copes[] = "the engine copes: it maps patch code read+exec and data read+write from a memfd, "
				    "never writable and executable at once, never adds exec with mprotect, and "
				    "writes entry jumps through /proc/PID/mem";

	if (!c)
		return -ENOMEM;
	c->advisory = true;
	if (pi->seccomp == 2 && !evaluated) {
		hp_check_reason(c, "seccomp filters were not read, so a W^X filter cannot be seen; %s", copes);
		return 0;
	}
	hp_check_set(c, HP_CHECK_OK);
	if (evaluated && sv->wx_denied) {
		hp_check_value(c, "seccomp W^X");
		hp_check_reason(c, "seccomp refuses %s (as systemd MemoryDenyWriteExecute=yes does); %s", sv->wx_detail,
				copes);
	} else {
		hp_check_value(c, "none seen");
		hp_check_reason(c, "no W^X seccomp filter; a prctl(PR_SET_MDWE) setting is not visible from outside "
				   "the process, and %s", copes);
	}
	return 0;
}

/* Why: a module is code if any of its mappings is executable; data files mapped at 0 are not old code. */
static bool module_is_code(const struct hp_maps *maps, const struct hp_module *m)
{
	size_t i;

	for (i = m->first_map; i < maps->n && maps->v[i].start < m->end; i++)
		if (maps->v[i].inode == m->inode && maps->v[i].perms[2] == 'x')
			return true;
	return false;
}

/* Why: memfds, devices and SysV segments are not files a package manager replaces. */
static bool module_is_file(const struct hp_module *m)
{
	return m->path[0] == '/' && strncmp(m->path, "/memfd:", 7) && strncmp(m->path, "/dev/", 5) &&
	       strncmp(m->path, "/SYSV", 5);
}

/*
 * Why: a mapping whose file was deleted, or whose path now names another
 * inode, is old code; but a reinstall of the same build (or an overlay
 * filesystem reporting another device) is not, so a mismatch is confirmed
 * by comparing build-ids.
 */
static int audit_module(pid_t pid, const struct hp_module *m, struct hp_assess_stale *s, bool *ret_stale)
{
	char full[4200];
	struct stat st;
	int r;

	*ret_stale = false;
	if (strlen(m->path) > 4000)
		return -ENAMETOOLONG;
	snprintf(full, sizeof(full), "/proc/%d/root%s", pid, m->path);
	memset(s, 0, sizeof(*s));
	s->path = hp_assess_empty;	/* the caller copies the path of a stale module only */
	memcpy(s->build_id, m->build_id, m->build_id_len);
	s->build_id_len = m->build_id_len;
	if (stat(full, &st) < 0) {
		r = -errno;
		if (r != -ENOENT && r != -ENOTDIR)
			return r;
		s->deleted = true;
		*ret_stale = true;
		return 0;
	}
	if (!m->deleted && st.st_ino == m->inode && major(st.st_dev) == m->dev_major &&
	    minor(st.st_dev) == m->dev_minor)
		return 0;
	r = hp_assess_disk_build_id(pid, m->path, s->disk_build_id, &s->disk_build_id_len);
	if (r < 0)
		s->disk_build_id_len = 0;
	if (m->build_id_len && s->disk_build_id_len == m->build_id_len &&
	    !memcmp(s->disk_build_id, m->build_id, m->build_id_len))
		return 0;	/* the same build is on disk */
	*ret_stale = true;
	return 0;
}

/* Why: the hotpatch that fixes old code is one built for the running (old) build: the highest level wins. */
static void covered_by(const struct hp_assess *a, struct hp_assess_stale *s)
{
	unsigned best = 0;
	size_t i;

	for (i = 0; i < a->npatches; i++) {
		const struct hp_manifest *m = &a->patches[i]->man;

		if (s->build_id_len && m->build_id_len == s->build_id_len &&
		    !memcmp(m->build_id, s->build_id, s->build_id_len) && m->level > best) {
			best = m->level;
			hp_strlcpy(s->covered_by, m->id, sizeof(s->covered_by));
		}
	}
}

/* Why: the stale list owns the paths of its entries. */
static void stale_free(struct hp_assess_stale *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hp_assess_str_free(list[i].path);
	free(list);
}

/* Why: a process mapping replaced or deleted code needs a restart, unless a hotpatch covers that build. */
static int check_old_code(struct hp_assess *a, struct hp_check_vec *v, struct hp_assess_proc *p,
			  const struct hp_maps *maps, const struct hp_module *mods, size_t nmods)
{
	struct hp_assess_check *c = hp_check_add(v, "old_code");
	struct hp_assess_stale *list = NULL;
	size_t n = 0, uncovered = 0, i, err = 0;
	int first_err = 0;
	char names[200] = "";

	if (!c)
		return -ENOMEM;
	for (i = 0; i < nmods; i++) {
		struct hp_assess_stale s, *nl;
		bool stale;
		int r;

		if (!module_is_file(&mods[i]) || !module_is_code(maps, &mods[i]))
			continue;
		r = audit_module(p->pid, &mods[i], &s, &stale);
		if (r < 0) {
			if (!err++)
				first_err = r;
			continue;
		}
		if (!stale)
			continue;
		covered_by(a, &s);
		nl = realloc(list, (n + 1) * sizeof(*nl));
		if (!nl || hp_assess_str_set(&s.path, mods[i].path) < 0) {
			stale_free(nl ? nl : list, n);
			return -ENOMEM;
		}
		list = nl;
		list[n++] = s;
		if (!s.covered_by[0]) {
			const char *base = strrchr(s.path, '/');
			size_t len = strlen(names);

			uncovered++;
			if (len + 64 < sizeof(names) &&
			    snprintf(names + len, sizeof(names) - len, "%s%s (%s)", len ? ", " : "",
				     base ? base + 1 : s.path, s.deleted ? "deleted" : "replaced") >= (int)(sizeof(names) - len))
				memcpy(names + sizeof(names) - 4, "...", 4);
		}
	}
	p->stale = list;
	p->nstale = n;
	c = &v->v[v->n - 1];
	hp_check_value(c, "%zu", n);
	if (uncovered) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "runs old code of %zu file%s replaced or deleted on disk since it mapped them: %s",
				uncovered, uncovered == 1 ? "" : "s", names);
		if (p->unit[0])
			hp_check_remedy(c, "restart it (systemctl restart %s) to load the new files, or hotpatch the "
					   "old builds", p->unit);
		else
			hp_check_remedy(c, "restart process %d to load the new files, or hotpatch the old builds", p->pid);
	} else if (err && !n) {
		hp_check_reason(c, "the mapped files cannot be compared with the disk: %s", hp_strerror(first_err));
		hp_check_remedy(c, "assess as root");
	} else if (n) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "runs old code of %zu replaced or deleted file%s, each covered by a given hotpatch", n,
				n == 1 ? "" : "s");
	} else {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "no mapped code file was replaced or deleted on disk");
	}
	return 0;
}

/* Why: without a patch, the executable is what a future patch most likely targets. */
static int check_exe_symbols(struct hp_assess *a, struct hp_check_vec *v, pid_t pid, const struct hp_maps *maps,
			     const struct hp_module *mods, size_t nmods, const char *exe)
{
	struct hp_assess_check *c = hp_check_add(v, "symbols");
	const struct hp_module *m = NULL;
	enum hp_sym_kind k;
	const char *dbg;
	char hex[2 * HP_BUILD_ID_MAX + 1];
	size_t i;
	int r;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < nmods && !m; i++)
		if (!strcmp(mods[i].path, exe))
			m = &mods[i];
	if (!m) {
		hp_check_reason(c, "the executable %s is not among the process's mapped ELF files", exe[0] ? exe : "?");
		hp_check_remedy(c, "check /proc/%d/maps", pid);
		return 0;
	}
	r = hp_assess_sym_kind(a, pid, maps, m, &k, &dbg);
	if (r == -ESRCH || r == -ENOENT)
		return -ESRCH;
	if (r < 0 || k == HP_SYMS_UNKNOWN) {
		hp_check_reason(c, "cannot read %s: %s", m->path, r < 0 ? hp_strerror(r) : "not an ELF file");
		hp_check_remedy(c, "assess as root");
		return 0;
	}
	hp_hex(m->build_id, m->build_id_len, hex);
	switch (k) {
	case HP_SYMS_SYMTAB:
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, ".symtab");
		hp_check_reason(c, "%s has a full symbol table", m->path);
		break;
	case HP_SYMS_DEBUG:
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "%s", dbg ? dbg : "debug file");
		hp_check_reason(c, "%s is stripped; its debug file (by build-id) has the symbols", m->path);
		break;
	default:
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_value(c, "%s", k == HP_SYMS_DYNSYM ? ".dynsym only" : "none");
		if (m->build_id_len)
			hp_check_reason(c, "%s is stripped (%s) and no debug file /usr/lib/debug/.build-id/%.2s/%s.debug "
					   "is installed", m->path, k == HP_SYMS_DYNSYM ? "exported symbols only" : "no symbols",
					hex, hex + 2);
		else
			hp_check_reason(c, "%s is stripped and has no build-id to find a debug file by", m->path);
		hp_check_remedy(c, "install its debug symbols (Debian: the package's -dbgsym), or ship it unstripped");
		break;
	}
	return 0;
}

/* Why: reading the in-process records costs a /proc/PID/mem read; without a hotpatch mapping there is none. */
static bool has_hotpatch_mapping(const struct hp_maps *maps)
{
	size_t i;

	for (i = 0; i < maps->n; i++)
		if (!strncmp(maps->v[i].path, "/memfd:hotpatch:", 16))
			return true;
	return false;
}

/*
 * Why: what is applied decides "already patched"; *ret_known says whether
 * it could be read (no hotpatch mapping counts as known: nothing applied).
 */
static int check_applied(struct hp_assess *a, struct hp_check_vec *v, struct hp_assess_proc *p,
			 const struct hp_maps *maps, struct hp_status **ret_st, bool *ret_known)
{
	struct hp_assess_check *c = hp_check_add(v, "applied");
	struct hp_status *st = NULL;
	char list[HP_ASSESS_FIELD] = "";
	size_t i, n = 0;
	int r;

	*ret_st = NULL;
	*ret_known = false;
	if (!c)
		return -ENOMEM;
	if (!has_hotpatch_mapping(maps)) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "none");
		hp_check_reason(c, "no hotpatch is applied (no /memfd:hotpatch: mapping)");
		*ret_known = true;
		return 0;
	}
	r = hp_status_read(a->ctx, p->pid, &st);
	if (r == -ESRCH)
		return r;
	if (r < 0) {
		hp_check_reason(c, "the process maps a hotpatch, but its state record cannot be read: %s",
				hp_ctx_errmsg(a->ctx));
		hp_check_remedy(c, "run 'hotpatch status -p %d'", p->pid);
		return 0;
	}
	p->applied = calloc(st->npatches ? st->npatches : 1, sizeof(*p->applied));
	if (!p->applied) {
		hp_status_free(st);
		return -ENOMEM;
	}
	for (i = 0; i < st->npatches; i++) {
		const struct hp_status_patch *sp = &st->patches[i];
		size_t len = strlen(list);

		if ((int)sp->state > HP_STATE_REVERTING)
			continue;	/* a level a higher one replaced */
		if (sp->trust != HP_RECORD_AUTHENTIC) {
			/* only a record hotpatch sealed counts as applied (docs/state-record.md) */
			if (len + 8 < sizeof(list))
				snprintf(list + len, sizeof(list) - len, "%s%s %s", len ? ", " : "", sp->id,
					 sp->trust == HP_RECORD_FORGED ? "forged" : "unverified");
			continue;
		}
		hp_strlcpy(p->applied[n].id, sp->id, sizeof(p->applied[n].id));
		p->applied[n].level = sp->level;
		p->applied[n].state = sp->state;
		n++;
		if (len + 8 < sizeof(list))
			snprintf(list + len, sizeof(list) - len, "%s%s level %u%s%s", len ? ", " : "", sp->id,
				 sp->level, sp->state == HP_STATE_ACTIVE ? "" : " ",
				 sp->state == HP_STATE_ACTIVE ? "" : hp_patch_state_name(sp->state));
	}
	p->napplied = n;
	hp_check_set(c, HP_CHECK_OK);
	hp_check_value(c, "%s", list[0] ? list : "none");
	hp_check_reason(c, "%zu hotpatch%s applied, read from the process's state records", n, n == 1 ? "" : "es");
	*ret_st = st;
	*ret_known = true;
	return 0;
}

/* Why: without the mappings, the checks built on them are unknown, and say why once each. */
static int check_unreadable(struct hp_check_vec *v, pid_t pid, int err, bool with_patches)
{
	static const char *const names[] = { "symbols", "applied", "old_code" };
	size_t i;

	for (i = with_patches ? 1 : 0; i < ARRAY_SIZE(names); i++) {
		struct hp_assess_check *c = hp_check_add(v, names[i]);

		if (!c)
			return -ENOMEM;
		hp_check_reason(c, "cannot read /proc/%d/maps: %s", pid, hp_strerror(err));
		hp_check_remedy(c, "assess with ptrace access to the process (see ptrace_access)");
	}
	return 0;
}

/* Why: results are owned by the caller; NULL is accepted like every _free. */
void hp_assess_proc_free(struct hp_assess_proc *p)
{
	size_t i;

	if (!p)
		return;
	hp_checks_free(p->checks, p->nchecks);
	for (i = 0; i < p->ntargets; i++)
		hp_assess_target_release(&p->targets[i]);
	free(p->targets);
	stale_free(p->stale, p->nstale);
	free(p->applied);
	hp_assess_str_free(p->exe);
	hp_assess_str_free(p->unit);
	free(p);
}

/*
 * Why: among the patches for one target, the best decides: one that can be
 * applied makes the process eligible even when a lower level is applied
 * already, and patches for other baselines of the same target do not count
 * against it.  Across targets the worst decides.
 */
static int group_rank(enum hp_verdict v)
{
	switch (v) {
	case HP_VERDICT_ELIGIBLE:
		return 0;
	case HP_VERDICT_PATCHED:
		return 1;
	case HP_VERDICT_UNKNOWN:
		return 2;
	case HP_VERDICT_RESTART:
		return 3;
	default:
		return 4;
	}
}

/* Why: see group_rank(): the best patch per target, the worst target. */
static enum hp_verdict targets_verdict(struct hp_assess *a, const struct hp_assess_proc *p, const size_t *pidx)
{
	enum hp_verdict out = HP_VERDICT_PATCHED;
	size_t i, k;

	for (i = 0; i < p->ntargets; i++) {
		const char *name = a->patches[pidx[i]]->man.target_name;
		enum hp_verdict best = p->targets[i].verdict;

		for (k = 0; k < p->ntargets; k++) {
			const char *nk = a->patches[pidx[k]]->man.target_name;

			if (name && nk && !strcmp(name, nk) && group_rank(p->targets[k].verdict) < group_rank(best))
				best = p->targets[k].verdict;
		}
		out = hp_verdict_worse(out, best);
	}
	return out;
}

/* Why: each given patch is judged against the module it targets in this process. */
static int assess_targets(struct hp_assess *a, struct hp_check_vec *v, struct hp_assess_proc *p,
			  const struct hp_maps *maps, const struct hp_module *mods, size_t nmods,
			  const struct hp_status *st, enum hp_verdict *ret_verdict)
{
	_cleanup_free_ size_t *pidx = NULL;
	struct hp_assess_check *c;
	size_t i, k, nmapped = 0;
	int r;

	*ret_verdict = HP_VERDICT_ELIGIBLE;
	p->targets = calloc(a->npatches, sizeof(*p->targets));
	pidx = calloc(a->npatches, sizeof(*pidx));
	if (!p->targets || !pidx)
		return -ENOMEM;
	for (i = 0; i < a->npatches; i++) {
		const struct hp_module *mod = NULL;
		bool same;

		for (k = 0; k < nmods; k++) {
			if (hp_assess_module_matches(a->patches[i], &mods[k], &same)) {
				if (same || !mod)
					mod = &mods[k];
				if (same)
					break;
			}
		}
		if (!mod && a->npatches > 1)
			continue;	/* with several patches, report only those for what it maps */
		if (mod)
			nmapped++;
		r = hp_assess_target_fill(a, p->pid, maps, mods, nmods, mod, a->patches[i], st,
					  &p->targets[p->ntargets]);
		if (r < 0)
			return r;
		pidx[p->ntargets++] = i;
	}
	c = hp_check_add(v, "target");
	if (!c)
		return -ENOMEM;
	if (nmapped) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "%zu", nmapped);
		hp_check_reason(c, "maps the target of %zu of the %zu given patch%s", nmapped, a->npatches,
				a->npatches == 1 ? "" : "es");
		*ret_verdict = targets_verdict(a, p, pidx);
	} else {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_value(c, "0");
		hp_check_reason(c, "maps the target of none of the %zu given patch%s", a->npatches,
				a->npatches == 1 ? "" : "es");
		hp_check_remedy(c, "none: these patches are not for this process");
	}
	return 0;
}

/* Why: with --all and patches, processes that map no target are not reported at all. */
static bool maps_any_target(struct hp_assess *a, const struct hp_module *mods, size_t nmods)
{
	size_t i, k;
	bool same;

	for (i = 0; i < a->npatches; i++)
		for (k = 0; k < nmods; k++)
			if (hp_assess_module_matches(a->patches[i], &mods[k], &same))
				return true;
	return false;
}

/* Why: reads everything while the process runs; only the seccomp read stops one thread briefly. */
int hp_assess_process(struct hp_assess *a, pid_t pid, struct hp_assess_proc **ret_proc)
{
	struct hp_check_vec v = { 0 };
	struct hp_assess_proc *p;
	struct hp_maps maps = { 0 };
	struct hp_module *mods = NULL;
	struct hp_status *st = NULL, none = { .pid = pid };
	struct hp_seccomp_verdict sv = { 0 };
	enum hp_verdict tv = HP_VERDICT_ELIGIBLE;
	struct pinfo pi;
	size_t nmods = 0, i;
	bool evaluated = false, st_known = false;
	int maps_err = 0;
	char path[64], text[PATH_MAX];
	_cleanup_free_ char *cg = NULL;
	ssize_t n;
	int r;

	if (pid <= 0)
		return hp_err(a->ctx, -EINVAL, "assess: invalid pid %d", pid);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->exe = p->unit = hp_assess_empty;
	r = read_pinfo(pid, &pi, p->comm, sizeof(p->comm));
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = 0;
	if (n > 10 && !strcmp(text + n - 10, " (deleted)"))
		text[n - 10] = 0;
	r = hp_assess_str_set(&p->exe, text);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (hp_read_file(path, 1 << 16, &cg, NULL) == 0 && hp_parse_cgroup_unit(cg, text, sizeof(text)) == 0) {
		r = hp_assess_str_set(&p->unit, text);
		if (r < 0)
			goto fail;
	}
	if (pi.state != 'Z' && pi.state != 'X') {
		r = hp_maps_read(NULL, pid, &maps);
		if (r == 0)
			r = hp_module_list(pid, &maps, NULL, &mods, &nmods);
		if (r == -ENOENT)
			r = -ESRCH;
		if (r == -EACCES || r == -EPERM) {
			/* not ours to read: the checks that need the mappings say so */
			hp_maps_release(&maps);
			free(TAKE_PTR(mods));
			nmods = 0;
			maps_err = r;
			r = 0;
		}
		if (r < 0)
			goto fail;
	}
	if ((a->flags & HP_ASSESS_ONLY_TARGETS) && a->npatches && !maps_any_target(a, mods, nmods)) {
		r = -HP_E_NOTARGET;
		goto fail;
	}
	r = check_state(&v, pid, &pi);
	if (r == 0)
		r = check_tracer(&v, &pi);
	if (r == 0 && pi.state != 'Z' && pi.state != 'X') {
		r = check_access(a, &v, pid);
		if (r == 0)
			r = check_seccomp(a, &v, pid, &pi, &sv, &evaluated);
		if (r == 0)
			r = check_wx(&v, &pi, &sv, evaluated);
		if (r == 0 && maps_err)
			r = check_unreadable(&v, pid, maps_err, a->npatches > 0);
		else if (r == 0 && !a->npatches)
			r = check_exe_symbols(a, &v, pid, &maps, mods, nmods, p->exe);
		if (r == 0 && !maps_err)
			r = check_applied(a, &v, p, &maps, &st, &st_known);
		if (r == 0 && !maps_err)
			r = check_old_code(a, &v, p, &maps, mods, nmods);
		if (r == 0 && a->npatches && !maps_err)
			r = assess_targets(a, &v, p, &maps, mods, nmods, st ? st : st_known ? &none : NULL, &tv);
	}
	if (r < 0)
		goto fail;
	p->checks = TAKE_PTR(v.v);
	p->nchecks = v.n;
	p->verdict = HP_VERDICT_ELIGIBLE;
	for (i = 0; i < p->nchecks; i++) {
		const struct hp_assess_check *c = &p->checks[i];
		enum hp_verdict bad = !strcmp(c->name, "old_code") ? HP_VERDICT_RESTART : HP_VERDICT_NOT_ELIGIBLE;

		p->verdict = hp_verdict_worse(p->verdict, hp_checks_verdict(c, 1, bad));
	}
	if (p->ntargets) {
		/* every target patched and nothing else wrong: the process is patched */
		if (tv == HP_VERDICT_PATCHED && p->verdict == HP_VERDICT_ELIGIBLE)
			p->verdict = HP_VERDICT_PATCHED;
		else
			p->verdict = hp_verdict_worse(p->verdict, tv);
	}
	hp_status_free(st);
	free(mods);
	hp_maps_release(&maps);
	*ret_proc = p;
	return 0;
fail:
	hp_status_free(st);
	hp_checks_free(v.v, v.n);
	free(mods);
	hp_maps_release(&maps);
	hp_assess_proc_free(p);
	if (r == -ESRCH)
		return hp_err(a->ctx, r, "pid %d: no such process", pid);
	if (r == -ENOEXEC)
		return hp_err(a->ctx, r, "pid %d is a kernel thread", pid);
	if (r == -HP_E_NOTARGET)
		return r;
	return hp_err(a->ctx, r, "pid %d: %s", pid, hp_strerror(r));
}
