/* SPDX-License-Identifier: MIT */
/*
 * Audit records: every apply and revert (one process or a sweep) leaves a
 * structured entry in the systemd journal; `hotpatch history` reads them
 * back.  The record in the process is proof for that process; the journal
 * is the host's history, kept after the process is gone.
 *
 * Fields (all prefixed HOTPATCH_ so that they never mean something else to
 * another reader of the journal; journald's own _PID is the CLI's):
 *   MESSAGE_ID        HP_AUDIT_MESSAGE_ID (one id for every audit record)
 *   HOTPATCH_OPERATION apply | revert
 *   HOTPATCH_OUTCOME  patched | reverted | failed (and the error kind)
 *   HOTPATCH_PID, HOTPATCH_COMM, HOTPATCH_UNIT (the process's systemd unit),
 *   HOTPATCH_PATCH_ID, HOTPATCH_LEVEL, HOTPATCH_BUILD_ID (target build),
 *   HOTPATCH_KEY_ID (signer), HOTPATCH_ERROR (kind), HOTPATCH_EXIT_CODE
 * When journald is not running the send fails and nothing is said: the
 * operation itself is what matters.
 */
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

#include "cli.h"
#include "output.h"
#include "shared/util.h"

/* One id for every audit record: journalctl MESSAGE_ID=... finds them all. */
#define HP_AUDIT_MESSAGE_ID "4f1d2a9c8e7b4c6a9d3e5f7a1b2c3d4e"

/*
 * Why: the unit names systemd gives cgroups end in one of these; a path
 * component that does not is no unit (the root, a container's own tree).
 */
static bool unit_name_ok(const char *s, size_t n)
{
	static const char *const types[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".target",
					     ".timer", ".path", ".device", ".automount" };
	size_t i, t;

	if (n < 3 || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr(":-_.\\@", s[i])))
			return false;
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		size_t l = strlen(types[t]);

		if (n > l && !memcmp(s + n - l, types[t], l))
			return true;
	}
	return false;
}

/*
 * Why: the systemd unit of a process, read from /proc/PID/cgroup the way
 * sd_pid_get_unit() reads it (systemd's hierarchy: the unified "0::" line,
 * or "name=systemd" on cgroup v1; leading slices skipped, the next
 * component is the unit), without linking libsystemd and its four
 * libraries into every start of the CLI (issue 15) and without allocating
 * in a sweep's workers.  0 with the name in buf, -ENXIO in no unit,
 * -errno when the process is gone.
 */
int cli_pid_unit(pid_t pid, char *buf, size_t size)
{
	char path[64], data[4096], *line, *save = NULL, *cg = NULL;
	ssize_t n;

	if (!size)
		return -EINVAL;
	buf[0] = 0;
	n = hp_read_small(hp_proc_path(path, sizeof(path), pid, "cgroup"), data, sizeof(data));
	if (n < 0)
		return (int)n == -ENODATA ? -ENXIO : (int)n;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c1 = *c2 = 0;
		if (!strcmp(line, "0") && c1[1] == 0 && strcmp(c2 + 1, "/")) {
			cg = c2 + 1;	/* unified, below the root: wins over a v1 line */
			break;
		}
		if (!strcmp(c1 + 1, "name=systemd"))
			cg = c2 + 1;
	}
	if (!cg)
		return -ENXIO;
	for (;;) {
		size_t len;

		cg += strspn(cg, "/");
		len = strcspn(cg, "/");
		if (len > 6 && !memcmp(cg + len - 6, ".slice", 6) && cg[len] == '/') {
			cg += len;	/* a slice with more below it */
			continue;
		}
		if (cg[0] == '_') {	/* systemd's escape of a name that would clash */
			cg++;
			len--;
		}
		if (!len || !unit_name_ok(cg, len) || len >= size)
			return -ENXIO;
		memcpy(buf, cg, len);
		buf[len] = 0;
		return 0;
	}
}

/* Why: the journal's socket, opened once per CLI run and shared by a sweep's workers. */
static int journal_fd = -1;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
/* set once a send found no journald socket (see cli_audit) */
static bool journal_absent;

static void journal_open(void)
{
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* Why: a growing buffer of journal fields in the native protocol, bounded. */
struct jbuf {
	char b[8192];
	size_t n;
	bool full;
};

/*
 * Why: one field.  Values without a newline are "NAME=value\n"; others
 * (an error message could hold one) use the protocol's length-prefixed
 * form "NAME\n" + 64-bit little-endian length + value + "\n".
 */
static void jfield(struct jbuf *j, const char *name, const char *fmt, ...)
{
	char val[1024];
	size_t nl = strlen(name), vl, need;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	vl = strlen(val);
	need = nl + 1 + vl + 1 + (memchr(val, '\n', vl) ? 8 : 0);
	if (j->n + need > sizeof(j->b)) {
		j->full = true;
		return;
	}
	memcpy(j->b + j->n, name, nl);
	j->n += nl;
	if (memchr(val, '\n', vl)) {
		uint64_t le = htole64((uint64_t)vl);

		j->b[j->n++] = '\n';
		memcpy(j->b + j->n, &le, 8);
		j->n += 8;
	} else {
		j->b[j->n++] = '=';
	}
	memcpy(j->b + j->n, val, vl);
	j->n += vl;
	j->b[j->n++] = '\n';
}

/*
 * Why: the record goes straight to journald's socket in its native
 * protocol (one datagram, the fields that sd_journal_send() would have
 * sent, plus the CODE_* fields it added): no libsystemd at start-up and a
 * few thousand instructions per process in a sweep instead of ~80 k.
 */
void cli_audit(const struct cli_audit_rec *a)
{
	static const struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
	char comm[64] = "", path[64], unit[256] = "";
	const char *outcome = a->err ? "failed" : a->revert ? "reverted" : "patched";
	int code = a->err ? cli_exit_code(a->err) : 0;
	struct jbuf *j;

	pthread_once(&journal_once, journal_open);
	if (journal_fd < 0 || __atomic_load_n(&journal_absent, __ATOMIC_RELAXED))
		return;
	if (a->comm)
		hp_strlcpy(comm, a->comm, sizeof(comm));
	else if (hp_read_small(hp_proc_path(path, sizeof(path), a->pid, "comm"), comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = 0;
	else
		comm[0] = 0;
	if (cli_pid_unit(a->pid, unit, sizeof(unit)) < 0)
		unit[0] = 0;
	j = malloc(sizeof(*j));
	if (!j)
		return;
	j->n = 0;
	j->full = false;
	jfield(j, "MESSAGE", "hotpatch: %s %s in pid %d (%s)%s%s: %s%s%s", a->revert ? "revert" : "apply",
	       a->patch_id, a->pid, comm[0] ? comm : "?", unit[0] ? ", unit " : "", unit, outcome,
	       a->err ? ": " : "", a->err ? (a->message ? a->message : "") : "");
	jfield(j, "MESSAGE_ID", "%s", HP_AUDIT_MESSAGE_ID);
	jfield(j, "PRIORITY", "%d", a->err ? 4 : 5);
	jfield(j, "SYSLOG_IDENTIFIER", "hotpatch");
	jfield(j, "CODE_FILE", "%s", __FILE__);
	jfield(j, "CODE_FUNC", "%s", __func__);
	jfield(j, "HOTPATCH_OPERATION", "%s", a->revert ? "revert" : "apply");
	jfield(j, "HOTPATCH_OUTCOME", "%s", outcome);
	jfield(j, "HOTPATCH_PID", "%d", a->pid);
	jfield(j, "HOTPATCH_COMM", "%s", comm);
	jfield(j, "HOTPATCH_UNIT", "%s", unit);
	jfield(j, "HOTPATCH_PATCH_ID", "%s", a->patch_id);
	jfield(j, "HOTPATCH_LEVEL", "%u", a->level);
	jfield(j, "HOTPATCH_BUILD_ID", "%s", a->build_id ? a->build_id : "");
	jfield(j, "HOTPATCH_KEY_ID", "%s", a->key_id ? a->key_id : "");
	jfield(j, "HOTPATCH_ERROR", "%s", a->err ? cli_exit_name(code) : "");
	jfield(j, "HOTPATCH_EXIT_CODE", "%d", code);
	/*
	 * The result is ignored on purpose: no journal, no record, no noise.  No
	 * socket (no journald) is remembered for the rest of this run, so a sweep
	 * does not read comm and cgroup of every process for records nobody takes.
	 */
	if (!j->full &&
	    sendto(journal_fd, j->b, j->n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    (errno == ENOENT || errno == ECONNREFUSED))
		__atomic_store_n(&journal_absent, true, __ATOMIC_RELAXED);
	free(j);
}

/*
 * Why: reading the journal back needs libsystemd (its file format is not
 * ours to parse); `history` is rare, so the library is loaded here rather
 * than at every start of the CLI (issue 15: ~0.7 M instructions of dynamic
 * linking with libgcrypt, lz4, zstd and libcap).
 */
static struct {
	int (*open)(sd_journal **, int);
	void (*close)(sd_journal *);
	int (*add_match)(sd_journal *, const void *, size_t);
	int (*seek_head)(sd_journal *);
	int (*seek_tail)(sd_journal *);
	int (*next)(sd_journal *);
	int (*previous)(sd_journal *);
	int (*get_realtime_usec)(sd_journal *, uint64_t *);
	int (*get_data)(sd_journal *, const char *, const void **, size_t *);
} sdj;

static int sdj_load(void)
{
	void *dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!dl)
		return -ENOENT;
	*(void **)&sdj.open = dlsym(dl, "sd_journal_open");
	*(void **)&sdj.close = dlsym(dl, "sd_journal_close");
	*(void **)&sdj.add_match = dlsym(dl, "sd_journal_add_match");
	*(void **)&sdj.seek_head = dlsym(dl, "sd_journal_seek_head");
	*(void **)&sdj.seek_tail = dlsym(dl, "sd_journal_seek_tail");
	*(void **)&sdj.next = dlsym(dl, "sd_journal_next");
	*(void **)&sdj.previous = dlsym(dl, "sd_journal_previous");
	*(void **)&sdj.get_realtime_usec = dlsym(dl, "sd_journal_get_realtime_usec");
	*(void **)&sdj.get_data = dlsym(dl, "sd_journal_get_data");
	if (!sdj.open || !sdj.close || !sdj.add_match || !sdj.seek_head || !sdj.seek_tail || !sdj.next ||
	    !sdj.previous || !sdj.get_realtime_usec || !sdj.get_data)
		return -ENOENT;
	return 0;
}

const char *const help_history =
	"usage: hotpatch history [-p PID] [--patch-id ID] [-n N] [--json]\n"
	"\n"
	"Show the audit records every apply and revert left in the systemd journal\n"
	"(oldest first): time, operation, outcome, process, its systemd unit, patch\n"
	"id, level, target build and signing key.  Records are written only while\n"
	"journald runs; reading needs permission to read the system journal (root\n"
	"or the systemd-journal group).\n"
	"\n"
	"options:\n"
	"  -p, --pid PID          only records about process PID\n"
	"      --patch-id ID      only records about patch ID\n"
	"  -n, --lines N          only the last N records\n"
	"      --json             {\"records\": [...]}\n"
	"\n"
	"exit codes: 0 shown (also when there are none), 1 the journal cannot be\n"
	"read, 2 usage.\n";

/* Why: a field of the current entry, without its NAME= prefix, as a new string ("" when absent). */
static char *field(sd_journal *j, const char *name)
{
	const void *data;
	size_t len, n = strlen(name);

	if (sdj.get_data(j, name, &data, &len) < 0 || len <= n + 1)
		return strdup("");
	return strndup((const char *)data + n + 1, len - n - 1);
}

/* Why: one record as text and as JSON share the reading of the fields. */
struct hist_rec {
	char *time, *op, *outcome, *pid, *comm, *unit, *patch_id, *level, *build_id, *key_id, *error;
};

static void rec_free(struct hist_rec *r)
{
	free(r->time);
	free(r->op);
	free(r->outcome);
	free(r->pid);
	free(r->comm);
	free(r->unit);
	free(r->patch_id);
	free(r->level);
	free(r->build_id);
	free(r->key_id);
	free(r->error);
}

/* Why: the records are filtered by the journal itself, by field match. */
static int add_match(sd_journal *j, const char *name, const char *value)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s", name, value);
	return sdj.add_match(j, buf, 0);
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	enum { OPT_PATCH = 256 };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "patch-id", required_argument, NULL, OPT_PATCH },
		{ "lines", required_argument, NULL, 'n' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *pid_s = NULL, *patch = NULL;
	unsigned long long nlast = 0;
	sd_journal *j = NULL;
	json_t *arr = NULL;
	size_t count = 0;
	pid_t pid;
	int c, r;

	while ((c = getopt_long(argc, argv, ":p:n:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (hp_parse_pid_arg(optarg, &pid) < 0)
				return cli_usage(cli, "history", "'%s' is not a process id", optarg);
			pid_s = optarg;
			break;
		case OPT_PATCH:
			if (!hp_valid_id(optarg))
				return cli_usage(cli, "history", "'%s' is not a patch id", optarg);
			patch = optarg;
			break;
		case 'n':
			if (hp_parse_uint(optarg, 1000000, &nlast) < 0 || !nlast)
				return cli_usage(cli, "history", "'%s' is not a number of records", optarg);
			break;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		default:
			return cli_bad_option(cli, "history", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage(cli, "history", "unexpected argument '%s'", argv[optind]);
	r = sdj_load();
	if (r < 0)
		return cli_fail(cli, r, "cannot read the journal: libsystemd.so.0 cannot be loaded");
	r = sdj.open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return cli_fail(cli, r, "cannot open the journal: %s", strerror(-r));
	r = add_match(j, "MESSAGE_ID", HP_AUDIT_MESSAGE_ID);
	if (r >= 0 && pid_s)
		r = add_match(j, "HOTPATCH_PID", pid_s);
	if (r >= 0 && patch)
		r = add_match(j, "HOTPATCH_PATCH_ID", patch);
	if (r < 0) {
		sdj.close(j);
		return cli_fail(cli, r, "cannot filter the journal: %s", strerror(-r));
	}
	if (nlast) {
		sdj.seek_tail(j);
		for (r = 0; r < (int)nlast && sdj.previous(j) > 0; r++)
			;
		if (r == (int)nlast)
			sdj.previous(j);	/* next() below lands on the first of the last N */
	} else {
		sdj.seek_head(j);
	}
	if (cli->json)
		arr = json_array();
	while (sdj.next(j) > 0) {
		struct hist_rec h = { 0 };
		uint64_t usec = 0;
		char when[32];

		sdj.get_realtime_usec(j, &usec);
		out_time((int64_t)(usec / 1000000), when, sizeof(when));
		h.time = strdup(when);
		h.op = field(j, "HOTPATCH_OPERATION");
		h.outcome = field(j, "HOTPATCH_OUTCOME");
		h.pid = field(j, "HOTPATCH_PID");
		h.comm = field(j, "HOTPATCH_COMM");
		h.unit = field(j, "HOTPATCH_UNIT");
		h.patch_id = field(j, "HOTPATCH_PATCH_ID");
		h.level = field(j, "HOTPATCH_LEVEL");
		h.build_id = field(j, "HOTPATCH_BUILD_ID");
		h.key_id = field(j, "HOTPATCH_KEY_ID");
		h.error = field(j, "HOTPATCH_ERROR");
		if (!h.time || !h.op || !h.outcome || !h.pid || !h.comm || !h.unit || !h.patch_id || !h.level ||
		    !h.build_id || !h.key_id || !h.error) {
			rec_free(&h);
			continue;
		}
		count++;
		if (arr) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:i}", "time", h.time, "operation", h.op,
					      "outcome", h.outcome, "pid", atoi(h.pid), "comm", h.comm, "patch_id",
					      h.patch_id, "level", atoi(h.level));

			json_object_set_new(o, "unit", h.unit[0] ? json_string(h.unit) : json_null());
			json_object_set_new(o, "build_id", h.build_id[0] ? json_string(h.build_id) : json_null());
			json_object_set_new(o, "key_id", h.key_id[0] ? json_string(h.key_id) : json_null());
			json_object_set_new(o, "error", h.error[0] ? json_string(h.error) : json_null());
			json_array_append_new(arr, o);
		} else {
			printf("%s %-6s %-8s pid %s (%s)%s%s %s level %s%s%s\n", h.time, h.op, h.outcome, h.pid,
			       h.comm[0] ? h.comm : "?", h.unit[0] ? " unit " : "", h.unit, h.patch_id, h.level,
			       h.error[0] ? ": " : "", h.error);
		}
		rec_free(&h);
	}
	sdj.close(j);
	if (arr)
		cli_emit_json(json_pack("{s:o}", "records", arr));
	else if (!count && !cli->quiet)
		fprintf(stderr, "hotpatch: no audit records in the journal\n");
	return HP_EXIT_OK;
}
