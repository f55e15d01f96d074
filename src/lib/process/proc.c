/* SPDX-License-Identifier: MIT */
/*
 * /proc readers.  Everything here is read while the target runs; nothing
 * stops it.  Input from /proc is parsed strictly: a line that does not have
 * the documented shape is an error, not a guess.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/process/proc.h"

static int parse_hex(char **p, uint64_t *ret)
{
	char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')) {
		int d = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;

		if (n >= 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		s++;
		n++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static int parse_dec(char **p, uint64_t *ret)
{
	char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		if (n >= 20 || v > UINT64_MAX / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		n++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static int expect(char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* One line: "start-end perms offset major:minor inode [path]". */
static int parse_line(char *line, struct hp_map *m)
{
	char *p = line;
	uint64_t maj, min;

	memset(m, 0, sizeof(*m));
	if (parse_hex(&p, &m->start) || expect(&p, '-') || parse_hex(&p, &m->end) || expect(&p, ' '))
		return -EINVAL;
	if (m->end < m->start)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (!*p || *p == ' ')
			return -EINVAL;
		m->perms[i] = *p++;
	}
	if (expect(&p, ' ') || parse_hex(&p, &m->offset) || expect(&p, ' ') || parse_hex(&p, &maj) ||
	    expect(&p, ':') || parse_hex(&p, &min) || expect(&p, ' ') || parse_dec(&p, &m->inode))
		return -EINVAL;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	while (*p == ' ')
		p++;
	m->path = p;
	if (*p) {
		size_t n = strlen(p);
		static const char suffix[] = " (deleted)";

		if (n > sizeof(suffix) - 1 && !strcmp(p + n - (sizeof(suffix) - 1), suffix)) {
			p[n - (sizeof(suffix) - 1)] = 0;
			m->deleted = true;
		}
	}
	return 0;
}

int hp_maps_parse(char *buf, struct hp_maps *ret_maps)
{
	struct hp_maps maps = { .buf = buf };
	size_t cap = 0;
	char *line = buf, *nl;

	while (line && *line) {
		struct hp_map *m;

		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (HP_GROW(maps.v, cap, maps.n + 1) < 0) {
			hp_maps_release(&maps);
			return -ENOMEM;
		}
		m = &maps.v[maps.n];
		if (parse_line(line, m) < 0) {
			hp_maps_release(&maps);
			return -EBADMSG;
		}
		if (maps.n && m->start < maps.v[maps.n - 1].end) {
			hp_maps_release(&maps);
			return -EBADMSG;
		}
		maps.n++;
		line = nl ? nl + 1 : NULL;
	}
	*ret_maps = maps;
	return 0;
}

int hp_maps_read(const char *proc_root, pid_t pid, struct hp_maps *ret_maps)
{
	char path[128];
	char *buf;
	int r;

	snprintf(path, sizeof(path), "%s/%d/maps", proc_root ? proc_root : "/proc", pid);
	r = hp_read_file(path, 256u << 20, &buf, NULL);
	if (r < 0)
		return r;
	return hp_maps_parse(buf, ret_maps);
}

void hp_maps_release(struct hp_maps *maps)
{
	free(maps->v);
	free(maps->buf);
	maps->v = NULL;
	maps->buf = NULL;
	maps->n = 0;
}

const struct hp_map *hp_maps_find(const struct hp_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < maps->n && maps->v[lo].start <= addr)
		return &maps->v[lo];
	return NULL;
}

int hp_proc_open_map_file(pid_t pid, const struct hp_map *m)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

int hp_proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n)
{
	char path[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	pid_t *tids = NULL;
	size_t n = 0, cap = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t tid;

		if (de->d_name[0] == '.' || hp_parse_pid(de->d_name, &tid) < 0)
			continue;
		if (HP_GROW(tids, cap, n + 1) < 0) {
			free(tids);
			return -ENOMEM;
		}
		tids[n++] = tid;
	}
	*ret_tids = tids;
	*ret_n = n;
	return 0;
}

int hp_proc_fds_named(pid_t pid, const char *prefix, int **ret_fds, size_t *ret_n)
{
	char path[64], link[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int *fds = NULL;
	size_t n = 0, cap = 0, plen = strlen(prefix);

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char fdpath[96], *end;
		ssize_t len;
		long fd;

		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || errno || fd > INT_MAX)
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%ld", pid, fd);
		len = readlink(fdpath, link, sizeof(link) - 1);
		if (len < (ssize_t)plen)
			continue;
		link[len] = 0;
		if (strncmp(link, prefix, plen))
			continue;
		if (HP_GROW(fds, cap, n + 1) < 0) {
			free(fds);
			return -ENOMEM;
		}
		fds[n++] = (int)fd;
	}
	*ret_fds = fds;
	*ret_n = n;
	return 0;
}

/* A thread's /proc/PID/task/TID/stat in buf, from its state (field 3) on; NULL if unreadable. */
static const char *thread_stat(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[96], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (hp_read_small(path, buf, size) < 0)
		return NULL;
	/* comm may contain spaces and parentheses: the state follows the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return NULL;
	return p + 2;
}

char hp_proc_thread_state(pid_t pid, pid_t tid)
{
	char buf[512];
	const char *p = thread_stat(pid, tid, buf, sizeof(buf));

	return p ? p[0] : 0;
}

int hp_proc_thread_cpu(pid_t pid, pid_t tid, char *ret_state)
{
	char buf[512];
	const char *p = thread_stat(pid, tid, buf, sizeof(buf));
	int field;

	if (!p)
		return -1;
	*ret_state = p[0];
	/* the state is field 3; the CPU it last ran on, field 39 */
	for (field = 3; field < 39; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return *p >= '0' && *p <= '9' ? atoi(p) : -1;
}

/* The value of field name ("Threads") in the text of a /proc/PID/status, blanks skipped; NULL if absent. */
static const char *status_value(const char *buf, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\n%s:", name);
	p = strstr(buf, key);
	if (!p)
		return NULL;
	for (p += strlen(key); *p == ' ' || *p == '\t'; p++)
		;
	return p;
}

/* The value of field name ("TracerPid") in pid's /proc/PID/status: in *ret_buf, to free. */
static int status_field(pid_t pid, const char *name, char **ret_buf, const char **ret_val)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = hp_read_file(path, 1 << 16, ret_buf, NULL);
	if (r < 0)
		return r;
	*ret_val = status_value(*ret_buf, name);
	return *ret_val ? 0 : -EBADMSG;
}

int hp_proc_signals(pid_t pid, uint64_t *ret_caught, int *ret_seccomp, unsigned *ret_threads)
{
	_cleanup_free_ char *buf = NULL;
	const char *c, *s;
	char *end;
	int r;

	r = status_field(pid, "SigCgt", &buf, &c);
	if (r < 0)
		return r;
	if (ret_threads) {
		s = status_value(buf, "Threads");
		*ret_threads = s ? (unsigned)strtoul(s, NULL, 10) : 0;
	}
	s = status_value(c, "Seccomp");
	if (!s)
		return -EBADMSG;
	errno = 0;
	*ret_caught = strtoull(c, &end, 16);
	if (errno || end == c)
		return -EBADMSG;
	*ret_seccomp = (int)strtol(s, &end, 10);
	return 0;
}

int hp_proc_tracer(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	const char *p;
	int r;

	r = status_field(pid, "TracerPid", &buf, &p);
	if (r < 0)
		return r;
	return (pid_t)strtol(p, NULL, 10);
}

int hp_proc_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	_cleanup_free_ char *s = NULL;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	r = hp_read_file(path, 4096, &s, NULL);
	if (r < 0)
		return r;
	s[strcspn(s, "\n")] = 0;
	hp_strlcpy(buf, s, size);
	return 0;
}
