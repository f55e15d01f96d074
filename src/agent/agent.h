/* SPDX-License-Identifier: MIT */
/*
 * hotpatchd's state, shared by its parts: daemon.c (config, main loop,
 * control socket, metrics), converge.c (applying, new processes, health,
 * restarts) and report.c (report, assessment, OpenVEX).
 */
#ifndef HP_AGENT_AGENT_H
#define HP_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "hotpatch/hotpatch.h"
#include "buildid.h"
#include "policy.h"
#include "store.h"

struct agent_config {
	char store_dir[1024], state_dir[1024], trust_dir[1024];
	char repository[2048], server[2048], token[256];
	char policy_file[1024];
	char socket_path[512], socket_group[64];
	char metrics_listen[128];	/* "127.0.0.1:9477", "" = off */
	char watch_paths[2048];		/* ':'-separated directories searched for targets (fanotify) */
	char host_name[64];		/* "": gethostname() and /etc/machine-id; else both (several agents on one machine) */
	char scope[1024];		/* "": every process; else only those whose executable is under this directory */
	unsigned repo_interval, assess_interval, rescan_interval;	/* seconds */
	unsigned watch_ms;		/* how long a new process is watched for a target mapping */
	unsigned sweep_jobs;		/* processes a sweep patches at once; 0: the library's default (8 per CPU) */
	bool exec_events, fanotify, allow_unsigned_store;
};

/* Per stored patch: what the daemon decided and why. */
struct agent_patch {
	char id[HP_ID_MAX + 1];
	char state[16];			/* installed | applied | pending | halted | denied */
	char reason[256];
	char halted_reason[512];
	time_t next;			/* pending: when it may apply */
	bool active;			/* the level this host should run for its build */
	bool marked;			/* fanotify watches opens of a file with its build-id */
	unsigned crashes;
};

/* A process patched by us, watched for a crash during the bake time. */
struct agent_baking {
	pid_t pid;
	char patch_id[HP_ID_MAX + 1];
	char comm[64];
	char unit[256];			/* its systemd service ("" when none): a failed unit counts like a crash */
	uint64_t until_ns;
};

/* A new process watched until its targets are mapped. */
struct agent_watch {
	pid_t pid;
	uint64_t start_ns, next_ns, until_ns;
	uint64_t event_ns;		/* when the daemon read the last event about it (exec, open of a target) */
	unsigned polls;
	int last_err;			/* last apply failure, reported when the watch ends */
	char last_id[HP_ID_MAX + 1];
	char last_msg[256];
};

struct agent_event {
	unsigned long long id;
	time_t time;
	char kind[16];
	char patch_id[HP_ID_MAX + 1];
	pid_t pid;
	char detail[384];
};

#define AGENT_LAT_BUCKETS 12
#define AGENT_LAT_SAMPLES 1024

struct agent {
	struct agent_config cfg;
	struct hp_ctx *ctx;
	struct hp_cache *cache;
	struct buildid_cache *bcache;
	struct store *store;
	struct policy policy;
	struct agent_patch *patches;	/* parallel to store->e */
	struct agent_baking *baking;
	size_t nbaking;
	struct agent_watch *watch;
	size_t nwatch;
	struct agent_event *events;
	size_t nevents;
	unsigned long long next_event_id;
	json_t *assessment;		/* last assessment (report form), or NULL */
	json_t *restart_required;	/* list */
	time_t last_sync, last_assess, last_sync_ok;
	char last_sync_error[256];
	char host_id[64], credential[256];
	json_t *assigned;		/* patch ids the server assigned (apply) */
	json_t *server_policy;		/* the last policy document the server sent (NULL: none yet) */
	time_t last_checkin, last_checkin_ok;
	unsigned poll_seconds;
	/* metrics */
	uint64_t lat_buckets[AGENT_LAT_BUCKETS + 1];	/* apply latency from exec event, cumulative bounds below */
	double lat_sum;
	uint64_t lat_count;
	/* the daemon's own time per new process: event read -> patched (last AGENT_LAT_SAMPLES, microseconds) */
	uint32_t own_us[AGENT_LAT_SAMPLES];
	uint64_t own_count;
	time_t report_due;		/* dirty: when the coalesced report is written */
	uint64_t applied_total, failed_total, reverted_total, crashes_total, exec_events_total;
	bool dirty;			/* report must be rewritten */
	volatile int *cancel;
};

extern const double agent_lat_bounds[AGENT_LAT_BUCKETS];

/* converge.c */
int agent_reload(struct agent *a);			/* store, policy, halted, decisions */
void agent_converge(struct agent *a, time_t now);	/* sweep every active patch that policy allows now */
void agent_on_exec(struct agent *a, pid_t pid);
bool agent_wants_exec(struct agent *a);		/* fanotify does not cover every active target */
void agent_on_fork(struct agent *a, pid_t parent, pid_t child);
void agent_on_exit(struct agent *a, pid_t pid, uint32_t exit_code, uint32_t exit_signal);
int64_t agent_poll_watch(struct agent *a);		/* microseconds until the next poll, -1: none */
void agent_expire_baking(struct agent *a);
/* While patched services bake: their units' state (sd-bus), a failed unit counts like a crash.  ms to the next check, -1: none. */
int64_t agent_check_units(struct agent *a);
int agent_clear(struct agent *a, const char *id, char *msg, size_t msize);
bool agent_in_scope(const struct agent *a, pid_t pid);
void agent_event(struct agent *a, const char *kind, const char *patch_id, pid_t pid, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void agent_restarts(struct agent *a, time_t now);
int agent_fanotify_init(struct agent *a);
void agent_fanotify_read(struct agent *a, int fd);
extern int agent_fanotify_fd;
time_t agent_next_converge(void);

/* The report is rewritten at most every AGENT_REPORT_DELAY seconds (it scans every process). */
#define AGENT_REPORT_DELAY 5
void agent_changed(struct agent *a);

/* Revert a patch everywhere and hold it back (halted) with a reason; nothing if already held. */
void agent_hold(struct agent *a, const char *id, const char *why);

/* daemon.c: process events needed now (applying: a new bake entry may follow) */
void agent_events_update(struct agent *a, bool applying);

/* server.c */
void agent_server_load(struct agent *a);
int agent_checkin(struct agent *a);

/* report.c */
json_t *agent_report(struct agent *a);
json_t *agent_status(struct agent *a);
void agent_write_report(struct agent *a);
json_t *agent_assess(struct agent *a);
json_t *agent_vex(struct agent *a);
void agent_metrics(struct agent *a, char **ret, size_t *ret_len);

#endif
