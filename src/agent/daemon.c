/* SPDX-License-Identifier: MIT */
/*
 * hotpatchd: keeps a host patched by policy (docs/agent.md, man hotpatchd(8)).
 * One thread, one epoll loop: process events (netlink process connector),
 * target files opened (fanotify), store changes (inotify), the control
 * socket, the metrics port, signals; timers are the loop's timeout.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <ini.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
#include <linux/netlink.h>
#include <linux/filter.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "agent.h"
#include "log.h"
#include "repo.h"
#include "shared/cleanup.h"
#include "shared/util.h"

#define CONFIG_DEFAULT "/etc/hotpatch/hotpatchd.conf"

static volatile int stop_flag;
static volatile int reload_flag;
static bool to_stderr;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 2;	/* 2: asked for (logged), 1: a watched file changed */
	else
		stop_flag = 1;
}

/* journald when it is reachable (its socket exists), else stderr; fields make `journalctl HOTPATCH_PATCH_ID=x` work. */
static void sink(int prio, const char *patch_id, pid_t pid, const char *msg)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };

	if (!to_stderr) {
		char pidf[32];

		snprintf(pidf, sizeof(pidf), "HOTPATCH_PID=%d", (int)pid);
		if (sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=hotpatchd",
				    "HOTPATCH_PATCH_ID=%s", patch_id ? patch_id : "", pid ? pidf : "HOTPATCH_PID=",
				    NULL) >= 0)
			return;
	}
	fprintf(stderr, "hotpatchd: %s: %s\n", names[prio & 7], msg);
}

static void lib_log(void *ud, enum hp_log_level lvl, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	(void)ud;
	alog(prio[lvl], "%s", msg);
}

static bool parse_bool(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on");
}

/* Config keys (documented in etc/hotpatchd.conf and hotpatchd(8)); an unknown key is an error naming it. */
static int ini_cb(void *ud, const char *section, const char *name, const char *value)
{
	struct agent_config *c = ud;
	unsigned long long n;

#define STR(sec, key, field)                                                                                           \
	if (!strcmp(section, sec) && !strcmp(name, key)) {                                                             \
		hp_strlcpy(c->field, value, sizeof(c->field));                                                         \
		return 1;                                                                                              \
	}
#define NUM(sec, key, field, max)                                                                                      \
	if (!strcmp(section, sec) && !strcmp(name, key)) {                                                             \
		if (hp_parse_uint(value, max, &n) < 0) {                                                               \
			fprintf(stderr, "hotpatchd: config: [%s] %s = '%s' is not a number 0..%llu\n", section, name, value, \
				(unsigned long long)(max));                                                            \
			return 0;                                                                                      \
		}                                                                                                      \
		c->field = (unsigned)n;                                                                                \
		return 1;                                                                                              \
	}
#define BOOL(sec, key, field)                                                                                          \
	if (!strcmp(section, sec) && !strcmp(name, key)) {                                                             \
		c->field = parse_bool(value);                                                                          \
		return 1;                                                                                              \
	}
	STR("paths", "store", store_dir)
	STR("paths", "state", state_dir)
	STR("paths", "trust", trust_dir)
	STR("paths", "policy", policy_file)
	STR("repository", "url", repository)
	NUM("repository", "interval", repo_interval, 86400 * 7)
	STR("server", "url", server)
	STR("server", "token", token)
	NUM("agent", "assess_interval", assess_interval, 86400 * 30)
	NUM("agent", "rescan_interval", rescan_interval, 86400)
	NUM("agent", "watch_ms", watch_ms, 60000)
	NUM("agent", "sweep_jobs", sweep_jobs, 1024)
	BOOL("agent", "exec_events", exec_events)
	BOOL("agent", "fanotify", fanotify)
	STR("agent", "watch_paths", watch_paths)
	STR("agent", "scope", scope)
	STR("agent", "name", host_name)
	STR("control", "socket", socket_path)
	STR("control", "group", socket_group)
	STR("metrics", "listen", metrics_listen)
	fprintf(stderr, "hotpatchd: config: unknown key [%s] %s\n", section, name);
	return 0;
#undef STR
#undef NUM
#undef BOOL
}

static void config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	hp_strlcpy(c->store_dir, STORE_DIR_DEFAULT, sizeof(c->store_dir));
	hp_strlcpy(c->state_dir, "/var/lib/hotpatch/state", sizeof(c->state_dir));
	hp_strlcpy(c->policy_file, "/etc/hotpatch/policy.json", sizeof(c->policy_file));
	hp_strlcpy(c->socket_path, "/run/hotpatch/hotpatchd.sock", sizeof(c->socket_path));
	hp_strlcpy(c->watch_paths, "/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib:/usr/local/lib", sizeof(c->watch_paths));
	c->repo_interval = 3600;
	c->assess_interval = 86400;
	c->rescan_interval = 3600;
	c->watch_ms = 100;
	c->exec_events = true;
	c->fanotify = true;
}

/* ---- netlink process connector ---- */

static int proc_connector_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
	struct __attribute__((packed)) {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} msg;
	int fd, bufsz = 4 << 20;

	fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	memset(&msg, 0, sizeof(msg));
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.nl.nlmsg_pid = 0;
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(enum proc_cn_mcast_op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (send(fd, &msg, sizeof(msg), 0) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/*
 * The kernel sends an event for every fork, exec and exit of every thread
 * on the host; waking for each costs the daemon its idle budget.  A socket
 * filter lets through only what is needed now: exec events when fanotify
 * does not cover every active target, fork and exit events while patched
 * processes bake, and only for thread-group leaders.  Re-attached when that
 * changes (cheap; at most once per loop).
 */
static void proc_connector_filter(int fd, bool want_exec, bool want_fork_exit)
{
#define OFF_WHAT (sizeof(struct nlmsghdr) + sizeof(struct cn_msg) + offsetof(struct proc_event, what))
#define OFF_DATA (sizeof(struct nlmsghdr) + sizeof(struct cn_msg) + offsetof(struct proc_event, event_data))
	/* exec and exit data start with pid, tgid; fork's with parent pid, tgid, then child pid, tgid */
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_WHAT),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXEC), 2, 0),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 4, 0),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_FORK), 6, 15),
		/* 4: exec */ BPF_STMT(BPF_JMP | BPF_JA, want_exec ? 0 : 14),
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_DATA + 4),
		/* 6 */ BPF_STMT(BPF_JMP | BPF_JA, 8),
		/* 7: exit */ BPF_STMT(BPF_JMP | BPF_JA, want_fork_exit ? 0 : 11),
		/* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_DATA + 4),
		/* 9 */ BPF_STMT(BPF_JMP | BPF_JA, 5),
		/* 10: fork */ BPF_STMT(BPF_JMP | BPF_JA, want_fork_exit ? 0 : 8),
		/* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_DATA + 12),
		/* 12 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_DATA + 8),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 3, 4),
		/* 15: tgid in A, pid is the word before it */
		/* 15 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 16 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_DATA),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
		/* 18 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		/* 19 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		alog(LOG_WARNING, "process connector: socket filter refused (%s): every event wakes the daemon",
		     strerror(errno));
#undef OFF_WHAT
#undef OFF_DATA
}

static int proc_fd = -1, proc_filter_state = -1;

/*
 * Called before every apply (applying: fork and exit events must pass from
 * then on, or the exit of a process patched a moment ago could be dropped
 * before its bake entry opens the filter) and after each loop (closes what
 * is no longer needed).
 */
void agent_events_update(struct agent *a, bool applying)
{
	int want;

	if (proc_fd < 0)
		return;
	want = (agent_wants_exec(a) ? 1 : 0) | (applying || a->nbaking ? 2 : 0);
	if (want != proc_filter_state) {
		proc_connector_filter(proc_fd, want & 1, want & 2);
		proc_filter_state = want;
	}
}

/* Returns true when events were lost (ENOBUFS): the caller sweeps again. */
static bool proc_connector_read(struct agent *a, int fd)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool lost = false;

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			break;
		}
		if (from.nl_pid != 0)	/* only the kernel speaks here */
			continue;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			struct cn_msg *cn = NLMSG_DATA(nh);
			struct proc_event *ev;

			if (nh->nlmsg_type != NLMSG_DONE || cn->id.idx != CN_IDX_PROC || cn->len < sizeof(*ev) - sizeof(ev->event_data))
				continue;
			ev = (struct proc_event *)cn->data;
			switch (ev->what) {
			case PROC_EVENT_EXEC:
				if (ev->event_data.exec.process_pid == ev->event_data.exec.process_tgid)
					agent_on_exec(a, ev->event_data.exec.process_tgid);
				break;
			case PROC_EVENT_FORK:
				if (ev->event_data.fork.child_pid == ev->event_data.fork.child_tgid)
					agent_on_fork(a, ev->event_data.fork.parent_tgid, ev->event_data.fork.child_tgid);
				break;
			case PROC_EVENT_EXIT:
				if (ev->event_data.exit.process_pid == ev->event_data.exit.process_tgid)
					agent_on_exit(a, ev->event_data.exit.process_tgid, ev->event_data.exit.exit_code,
						      ev->event_data.exit.exit_signal);
				break;
			default:
				break;
			}
		}
	}
	return lost;
}

/* ---- control socket ---- */

static int control_open(const struct agent_config *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[512], *slash;
	int fd;
	mode_t mode = 0600;

	if (strlen(c->socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	hp_strlcpy(dir, c->socket_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
	unlink(c->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (c->socket_group[0]) {
		struct group *g = getgrnam(c->socket_group);

		if (g && chown(c->socket_path, 0, g->gr_gid) == 0)
			mode = 0660;
		else
			alog(LOG_WARNING, "control: group '%s' not found: socket stays root-only", c->socket_group);
	}
	chmod(c->socket_path, mode);
	return fd;
}

static void reply(int fd, json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (text)
		hp_write_all(fd, text, strlen(text));
	free(text);
	json_decref(j);
}

static void repo_sync_now(struct agent *a);

/* One request line per connection; read with a short timeout so a silent client cannot stall the loop. */
static void control_serve(struct agent *a, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct timeval tv = { .tv_sec = 2 };
		char line[256];
		ssize_t n;
		size_t len = 0;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (len < sizeof(line) - 1 && (n = read(fd, line + len, sizeof(line) - 1 - len)) > 0) {
			len += (size_t)n;
			if (memchr(line, '\n', len))
				break;
		}
		line[len] = 0;
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "status")) {
			reply(fd, agent_status(a));
		} else if (!strcmp(line, "assess")) {
			json_t *j = agent_assess(a);

			json_object_set(j, "restart_required", a->restart_required);
			reply(fd, j);
		} else if (!strcmp(line, "vex")) {
			reply(fd, agent_vex(a));
		} else if (!strcmp(line, "sync")) {
			repo_sync_now(a);
			agent_reload(a);
			agent_converge(a, time(NULL));
			reply(fd, json_pack("{s:s}", "result", "synced"));
		} else if (!strncmp(line, "clear ", 6)) {
			char msg[256];

			if (agent_clear(a, line + 6, msg, sizeof(msg)) < 0)
				reply(fd, json_pack("{s:s}", "error", msg));
			else
				reply(fd, json_pack("{s:s}", "result", msg));
		} else {
			reply(fd, json_pack("{s:s}", "error", "unknown request"));
		}
		close(fd);
	}
}

/* ---- metrics ---- */

static int metrics_open(const char *listen_addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(listen_addr, ':');
	unsigned long long port;
	int fd, one = 1;

	if (!colon || (size_t)(colon - listen_addr) >= sizeof(host) || hp_parse_uint(colon + 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(host, listen_addr, (size_t)(colon - listen_addr));
	host[colon - listen_addr] = 0;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Minimal HTTP/1.0: any GET gets the metrics; the request is read (bounded) and ignored. */
static void metrics_serve(struct agent *a, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct timeval tv = { .tv_sec = 1 };
		char req[2048], hdr[256];
		char *body = NULL;
		size_t blen = 0;
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, req, sizeof(req) - 1);
		if (n > 0 && !strncmp(req, "GET ", 4)) {
			agent_metrics(a, &body, &blen);
			snprintf(hdr, sizeof(hdr), "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
						   "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
			hp_write_all(fd, hdr, strlen(hdr));
			if (body)
				hp_write_all(fd, body, blen);
			free(body);
		}
		close(fd);
	}
}

/* ---- repository ---- */

static void repo_sync_now(struct agent *a)
{
	struct repo_sync_opts o = { .url = a->cfg.repository, .state_dir = a->cfg.state_dir,
				    .store_dir = a->cfg.store_dir, .now = time(NULL) };
	struct repo_sync_result res;
	char **ids = NULL;
	size_t n = 0;
	int r;

	if (!a->cfg.repository[0])
		return;
	if (a->cfg.trust_dir[0])
		o.trust_dir = a->cfg.trust_dir;
	a->last_sync = time(NULL);
	if (buildid_host(a->bcache, &ids, &n) < 0)
		return;
	o.build_ids = (const char *const *)ids;
	o.nbuild_ids = n;
	r = repo_sync(a->ctx, &o, &res);
	buildid_list_free(ids, n);
	if (r < 0) {
		snprintf(a->last_sync_error, sizeof(a->last_sync_error), "%s", strerror(r > -HP_ERRNO_BASE ? -r : EINVAL));
		return;
	}
	a->last_sync_error[0] = 0;
	a->last_sync_ok = time(NULL);
	agent_changed(a);
}

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: hotpatchd [--foreground] [--config FILE]\n\n"
		   "Keeps this host's processes patched by policy: see hotpatchd(8).\n\n"
		   "  -f, --foreground   log to stderr (besides journald when it is reachable)\n"
		   "  -c, --config FILE  configuration (default " CONFIG_DEFAULT ")\n"
		   "  -h, --help         show this help\n");
	return code;
}

/* Only changes of the policy file itself and of the store reload (the policy's directory holds other files). */
static bool inotify_relevant(int ifd, int store_wd, int policy_wd, const char *policy_name)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p + sizeof(struct inotify_event) <= buf + n) {
			struct inotify_event *ie = (struct inotify_event *)p;

			if (ie->wd == store_wd || (ie->mask & IN_Q_OVERFLOW) ||
			    (ie->wd == policy_wd && ie->len && !strcmp(ie->name, policy_name)))
				relevant = true;
			p += sizeof(*ie) + ie->len;
		}
	}
	return relevant;
}

/* The earliest timed work: rescan, window or deferral end, sync, assessment, check-in, report, restarts. */
static time_t next_timer(struct agent *a, time_t now, time_t next_rescan, time_t next_sync, time_t next_assess)
{
	time_t t = now + 3600, nc = agent_next_converge();

#define EARLIER(x)                                                                                                     \
	if ((x) < t)                                                                                                   \
		t = (x);
	EARLIER(next_rescan)
	if (nc)
		EARLIER(nc)
	if (a->cfg.repository[0])
		EARLIER(next_sync)
	if (next_assess)
		EARLIER(next_assess)
	if (a->cfg.server[0])
		EARLIER(a->last_checkin + (time_t)a->poll_seconds)
	if (a->dirty)
		EARLIER(a->report_due)
	/* restart = in-window with units waiting: look at the window once a minute */
	if (a->policy.restart == POLICY_RESTART_IN_WINDOW && json_array_size(a->restart_required))
		EARLIER(now + 60)
#undef EARLIER
	return t < now ? now : t;
}

static void ep_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "foreground", no_argument, NULL, 'f' },
					      { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *config = CONFIG_DEFAULT;
	struct agent a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	int c, r, ep, pfd = -1, ifd = -1, cfd = -1, mfd = -1, line, store_wd = -1, policy_wd = -1;
	bool had_watch = false;
	time_t next_rescan, next_assess, next_sync;
	char pdir[1100], policy_name[256] = "";

	while ((c = getopt_long(argc, argv, "fc:h", opts, NULL)) != -1) {
		if (c == 'f')
			to_stderr = true;
		else if (c == 'c')
			config = optarg;
		else if (c == 'h')
			return usage(stdout, 0);
		else
			return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	config_defaults(&a.cfg);
	line = ini_parse(config, ini_cb, &a.cfg);
	if (line == -1 && strcmp(config, CONFIG_DEFAULT)) {
		fprintf(stderr, "hotpatchd: cannot open %s\n", config);
		return 1;
	} else if (line > 0 || line < -1) {
		fprintf(stderr, "hotpatchd: %s: error on line %d\n", config, line);
		return 1;
	}
	if (access("/run/systemd/journal/socket", W_OK) < 0)
		to_stderr = true;
	alog_set_sink(sink, LOG_INFO);
	/*
	 * Fixed thresholds (no dynamic growth): the large, short-lived buffers
	 * of a sweep are mmapped and go back to the kernel when freed, so an
	 * idle daemon does not keep the peak of its last sweep.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = hp_ctx_new(&a.ctx)) < 0 || (r = hp_cache_new(&a.cache)) < 0 || (r = buildid_cache_new(&a.bcache)) < 0) {
		fprintf(stderr, "hotpatchd: out of memory\n");
		return 1;
	}
	hp_ctx_set_log(a.ctx, lib_log, NULL, HP_LOG_WARN);
	a.cancel = &stop_flag;
	a.restart_required = json_array();
	policy_default(&a.policy);
	mkdir(a.cfg.state_dir, 0700);
	snprintf(pdir, sizeof(pdir), "%s/patches", a.cfg.store_dir);
	mkdir(a.cfg.store_dir, 0755);
	mkdir(pdir, 0755);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (a.cfg.exec_events) {
		pfd = proc_connector_open();
		proc_fd = pfd;
		if (pfd < 0)
			alog(LOG_WARNING, "process connector unavailable (%s; needs CAP_NET_ADMIN in the initial namespaces): "
			     "new processes are found by the periodic rescan", strerror(-pfd));
	}
	if (a.cfg.fanotify)
		agent_fanotify_init(&a);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0) {
		store_wd = inotify_add_watch(ifd, pdir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM);
		if (a.cfg.policy_file[0]) {
			char d[1024], *s;

			hp_strlcpy(d, a.cfg.policy_file, sizeof(d));
			if ((s = strrchr(d, '/')) && s != d) {
				*s = 0;
				hp_strlcpy(policy_name, s + 1, sizeof(policy_name));
				policy_wd = inotify_add_watch(ifd, d, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE);
			}
		}
	}
	cfd = control_open(&a.cfg);
	if (cfd < 0)
		alog(LOG_ERR, "control socket %s: %s", a.cfg.socket_path, strerror(-cfd));
	if (a.cfg.metrics_listen[0]) {
		mfd = metrics_open(a.cfg.metrics_listen);
		if (mfd < 0)
			alog(LOG_ERR, "metrics on %s: %s", a.cfg.metrics_listen, strerror(-mfd));
	}
	ep_add(ep, pfd);
	ep_add(ep, agent_fanotify_fd);
	ep_add(ep, ifd);
	ep_add(ep, cfd);
	ep_add(ep, mfd);

	/* Converge: what is applied is read from the processes; nothing applied is applied again. */
	a.poll_seconds = 900;
	a.assigned = json_array();
	agent_server_load(&a);
	repo_sync_now(&a);
	agent_reload(&a);
	agent_converge(&a, time(NULL));
	agent_checkin(&a);
	agent_write_report(&a);
	alog(LOG_INFO, "hotpatchd started: %zu stored patch%s, policy '%s' (%s), process events %s", a.store ? a.store->n : 0,
	     a.store && a.store->n == 1 ? "" : "es", a.policy.name, a.policy.source, pfd >= 0 ? "on" : "off");
	sd_notify(0, "READY=1\nSTATUS=converged");
	next_rescan = time(NULL) + a.cfg.rescan_interval;
	next_assess = a.cfg.assess_interval ? time(NULL) + 5 : 0;
	next_sync = time(NULL) + a.cfg.repo_interval;

	while (!stop_flag) {
		struct epoll_event evs[8];
		int64_t watch_us = agent_poll_watch(&a), unit_us = agent_check_units(&a);
		struct timespec ts;
		int n, i;
		time_t now, nc;

		/* Sleep until the next thing to do: nothing wakes an idle daemon but events. */
		if (unit_us >= 0 && (watch_us < 0 || unit_us < watch_us))
			watch_us = unit_us;
		now = time(NULL);
		nc = next_timer(&a, now, next_rescan, next_sync, next_assess);
		if (watch_us < 0 || watch_us > (int64_t)(nc - now) * 1000000)
			watch_us = (int64_t)(nc - now) * 1000000;
		ts.tv_sec = watch_us / 1000000;
		ts.tv_nsec = (long)(watch_us % 1000000) * 1000;
		n = epoll_pwait2(ep, evs, 8, &ts, NULL);
		if (stop_flag)
			break;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == pfd) {
				if (proc_connector_read(&a, pfd)) {
					alog(LOG_WARNING, "process events were lost (socket buffer full): sweeping again");
					agent_converge(&a, time(NULL));
				}
			} else if (fd == agent_fanotify_fd) {
				agent_fanotify_read(&a, fd);
			} else if (fd == ifd) {
				if (inotify_relevant(ifd, store_wd, policy_wd, policy_name))
					reload_flag = 1;
			} else if (fd == cfd) {
				control_serve(&a, cfd);
			} else if (fd == mfd) {
				metrics_serve(&a, mfd);
			}
		}
		agent_poll_watch(&a);
		agent_expire_baking(&a);
		now = time(NULL);
		if (reload_flag) {
			if (reload_flag == 2)
				alog(LOG_INFO, "SIGHUP: reading the store and the policy again");
			reload_flag = 0;
			agent_reload(&a);
			agent_converge(&a, now);
		}
		nc = agent_next_converge();
		if ((nc && now >= nc) || now >= next_rescan) {
			agent_converge(&a, now);
			next_rescan = now + a.cfg.rescan_interval;
		}
		if (a.cfg.repository[0] && now >= next_sync) {
			repo_sync_now(&a);
			agent_reload(&a);
			agent_converge(&a, now);
			next_sync = now + a.cfg.repo_interval;
		}
		if (next_assess && now >= next_assess) {
			json_decref(agent_assess(&a));
			next_assess = now + a.cfg.assess_interval;
		}
		if (a.cfg.server[0] && now >= a.last_checkin + (time_t)a.poll_seconds)
			agent_checkin(&a);
		agent_restarts(&a, now);
		agent_events_update(&a, false);
		if (!a.nwatch && had_watch)
			malloc_trim(0);	/* a burst of new processes is over: give its memory back */
		had_watch = a.nwatch > 0;
		if (a.dirty && now >= a.report_due)
			agent_write_report(&a);
	}
	sd_notify(0, "STOPPING=1");
	alog(LOG_INFO, "hotpatchd stopping; applied patches stay applied");
	if (cfd >= 0)
		unlink(a.cfg.socket_path);
	return 0;
}
