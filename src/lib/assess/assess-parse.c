/* SPDX-License-Identifier: MIT */
/*
 * Parsers of the small text files the assessment reads: os-release,
 * /proc/PID/status, /proc/PID/stat, /proc/PID/cgroup, /proc/cpuinfo, the
 * kernel command line and configuration, securityfs and efivarfs files.
 * Each one treats its input as hostile: it never reads past the NUL, never
 * writes past the output size, and rejects what does not have the shape the
 * kernel (or the os-release specification) documents.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/assess/assess.h"

/* Why: every parser below copies at most size-1 bytes and always terminates. */
static int copy_out(char *out, size_t size, const char *s, size_t len)
{
	if (!size)
		return -EINVAL;
	if (len >= size)
		len = size - 1;
	memcpy(out, s, len);
	out[len] = 0;
	return 0;
}

/* Why: a decimal run with an overflow check; strtoul accepts signs and spaces we do not want. */
static int parse_decimal(const char **p, unsigned long long max, unsigned long long *ret)
{
	const char *s = *p;
	unsigned long long v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Why: kernel releases carry distro suffixes ("6.1.0-18-amd64", "5.14.0-362.el9.x86_64"). */
int hp_parse_kernel_release(const char *s, unsigned *ret_major, unsigned *ret_minor, unsigned *ret_patch)
{
	unsigned long long v[3] = { 0, 0, 0 };
	const char *p = s;
	int i;

	for (i = 0; i < 3; i++) {
		if (parse_decimal(&p, 100000, &v[i]) < 0) {
			if (i == 0)
				return -EINVAL;
			break;
		}
		if (*p != '.')
			break;
		p++;
	}
	*ret_major = (unsigned)v[0];
	*ret_minor = (unsigned)v[1];
	*ret_patch = (unsigned)v[2];
	return 0;
}

/*
 * Why: os-release values are shell-quoted strings (os-release(5)): double
 * quotes allow \" \\ \$ \` escapes, single quotes none.  We unquote exactly
 * that and drop control characters so that the value is safe to print.
 */
int hp_parse_os_release(const char *buf, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *line = buf;

	if (!size || !klen)
		return -EINVAL;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		const char *p = line;
		size_t n = 0;

		if (!end)
			end = line + strlen(line);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			char q = 0;

			p += klen + 1;
			if (p < end && (*p == '"' || *p == '\'')) {
				q = *p++;
			}
			for (; p < end; p++) {
				char c = *p;

				if (q && c == q) {
					q = 0;
					break;
				}
				if (!q && (c == ' ' || c == '\t' || c == '\r'))
					break;
				if (q == '"' && c == '\\' && p + 1 < end && strchr("\"\\$`", p[1]))
					c = *++p;
				if ((unsigned char)c < 0x20 || c == 0x7f)
					continue;
				if (n + 1 < size)
					out[n++] = c;
			}
			out[n] = 0;
			if (q)
				return -EBADMSG;
			return 0;
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Why: securityfs lists every mode and brackets the active one: "none [integrity] confidentiality". */
int hp_parse_lockdown(const char *buf, char *out, size_t size)
{
	const char *open = strchr(buf, '['), *close;
	size_t i;

	if (!open)
		return -EBADMSG;
	close = strchr(open + 1, ']');
	if (!close || close == open + 1 || close - open > 32)
		return -EBADMSG;
	for (i = 1; open + i < close; i++)
		if (!islower((unsigned char)open[i]))
			return -EBADMSG;
	return copy_out(out, size, open + 1, (size_t)(close - open - 1));
}

/* Why: "Key:" must start a line, or "CapEff" would match inside another key's value. */
static const char *status_find(const char *status, const char *key)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return p + klen + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Why: /proc/PID/status fields are "Key:\tvalue"; callers want the value alone. */
int hp_parse_status_field(const char *status, const char *key, char *out, size_t size)
{
	const char *p = status_find(status, key), *end;

	if (!p)
		return -ENOENT;
	while (*p == ' ' || *p == '\t')
		p++;
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return copy_out(out, size, p, (size_t)(end - p));
}

/* Why: capability masks are exactly 16 hex digits in current kernels, fewer in old ones. */
int hp_parse_status_caps(const char *status, const char *key, uint64_t *ret)
{
	char v[32];
	uint64_t m = 0;
	size_t i;
	int r;

	r = hp_parse_status_field(status, key, v, sizeof(v));
	if (r < 0)
		return r;
	if (!v[0] || strlen(v) > 16)
		return -EBADMSG;
	for (i = 0; v[i]; i++) {
		int d;

		if (v[i] >= '0' && v[i] <= '9')
			d = v[i] - '0';
		else if (v[i] >= 'a' && v[i] <= 'f')
			d = v[i] - 'a' + 10;
		else if (v[i] >= 'A' && v[i] <= 'F')
			d = v[i] - 'A' + 10;
		else
			return -EBADMSG;
		m = m << 4 | (uint64_t)d;
	}
	*ret = m;
	return 0;
}

/* Why: TracerPid, Seccomp and Seccomp_filters are plain decimals; anything else is a bad file. */
int hp_parse_status_uint(const char *status, const char *key, unsigned long long max, unsigned long long *ret)
{
	char v[32];
	const char *p = v;
	int r;

	r = hp_parse_status_field(status, key, v, sizeof(v));
	if (r < 0)
		return r;
	r = parse_decimal(&p, max, ret);
	if (r < 0 || *p)
		return -EBADMSG;
	return 0;
}

/* Why: the flags line is one long list of words; we need three of them, matched whole. */
static bool has_word(const char *s, size_t len, const char *w)
{
	size_t wl = strlen(w), i = 0;

	while (i < len) {
		size_t j;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		j = i;
		while (j < len && s[j] != ' ' && s[j] != '\t')
			j++;
		if (j - i == wl && !memcmp(s + i, w, wl))
			return true;
		i = j;
	}
	return false;
}

/* Why: only the first processor block is read; every CPU of a host has the same model. */
int hp_parse_cpuinfo(const char *buf, char *model, size_t size, unsigned *ret_flags)
{
	const char *line = buf;
	unsigned flags = 0;
	bool seen_model = false, seen_flags = false;

	if (!size)
		return -EINVAL;
	model[0] = 0;
	while (line && *line) {
		const char *end = strchr(line, '\n'), *colon, *v;
		size_t klen;

		if (!end)
			end = line + strlen(line);
		if (end == line && (seen_model || seen_flags))
			break;		/* blank line: end of the first processor */
		colon = memchr(line, ':', (size_t)(end - line));
		if (colon) {
			klen = (size_t)(colon - line);
			while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
				klen--;
			v = colon + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if (!seen_model && klen == 10 && !memcmp(line, "model name", 10)) {
				size_t i, n = 0;

				for (i = 0; v + i < end && n + 1 < size; i++)
					if ((unsigned char)v[i] >= 0x20 && v[i] != 0x7f)
						model[n++] = v[i];
				model[n] = 0;
				seen_model = true;
			} else if (!seen_flags && klen == 5 && !memcmp(line, "flags", 5)) {
				size_t len = (size_t)(end - v);

				flags |= HP_CPU_HAVE_FLAGS;
				if (has_word(v, len, "vmx"))
					flags |= HP_CPU_VMX;
				if (has_word(v, len, "svm"))
					flags |= HP_CPU_SVM;
				if (has_word(v, len, "hypervisor"))
					flags |= HP_CPU_HYPERVISOR;
				seen_flags = true;
			}
		}
		line = *end ? end + 1 : NULL;
	}
	*ret_flags = flags;
	return seen_model || seen_flags ? 0 : -ENOENT;
}

/*
 * Why: the kernel command line is space-separated words, possibly
 * double-quoted; everything after a bare "--" goes to init, not the kernel.
 * The last occurrence wins, as in the kernel.
 */
int hp_parse_cmdline_param(const char *cmdline, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	int found = -ENOENT;

	if (!klen || !size)
		return -EINVAL;
	while (*p) {
		const char *w, *e;
		bool quoted = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		e = p;
		if (e - w == 2 && !memcmp(w, "--", 2))
			break;
		if ((size_t)(e - w) >= klen && !memcmp(w, key, klen) && (w + klen == e || w[klen] == '=')) {
			const char *v = w + klen == e ? e : w + klen + 1;
			size_t n = 0;

			for (; v < e && n + 1 < size; v++)
				if (*v != '"')
					out[n++] = *v;
			out[n] = 0;
			found = 0;
		}
	}
	return found;
}

/* Why: a kernel .config says "CONFIG_X=y" or "# CONFIG_X is not set", one per line. */
int hp_parse_kconfig(const char *buf, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *line = buf;

	if (!klen || !size)
		return -EINVAL;
	while (line && *line) {
		const char *end = strchr(line, '\n');

		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) > klen && !memcmp(line, key, klen) && line[klen] == '=')
			return copy_out(out, size, line + klen + 1, (size_t)(end - line - klen - 1));
		if ((size_t)(end - line) == klen + 13 && !memcmp(line, "# ", 2) && !memcmp(line + 2, key, klen) &&
		    !memcmp(line + 2 + klen, " is not set", 11))
			return copy_out(out, size, "n", 1);
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Why: efivarfs files start with the 4-byte attribute word; SecureBoot's data is one byte. */
int hp_parse_efivar_bool(const uint8_t *buf, size_t len, bool *ret)
{
	if (len != 5 || buf[4] > 1)
		return -EBADMSG;
	*ret = buf[4] == 1;
	return 0;
}

/* Why: selinuxfs boolean files read "<current> <pending>", each 0 or 1. */
int hp_parse_selinux_bool(const char *buf, bool *ret)
{
	if ((buf[0] != '0' && buf[0] != '1') || buf[1] != ' ' || (buf[2] != '0' && buf[2] != '1') ||
	    (buf[3] && buf[3] != '\n'))
		return -EBADMSG;
	*ret = buf[0] == '1';
	return 0;
}

/* Why: only these unit types own processes; slices group them and are never the owner. */
static bool is_unit_name(const char *s, size_t len)
{
	static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && !memcmp(s + len - sl, suffixes[i], sl))
			return true;
	}
	return false;
}

/* Why: the owner is the deepest unit in the path ("user@1000.service/app.slice/x.service"). */
static int unit_from_path(const char *path, size_t len, char *out, size_t size)
{
	const char *best = NULL;
	size_t best_len = 0, i = 0;

	while (i < len) {
		size_t j;

		while (i < len && path[i] == '/')
			i++;
		j = i;
		while (j < len && path[j] != '/')
			j++;
		if (j > i && is_unit_name(path + i, j - i)) {
			size_t k;
			bool clean = true;

			for (k = i; k < j; k++)
				if ((unsigned char)path[k] < 0x20 || path[k] == 0x7f)
					clean = false;
			if (clean) {
				best = path + i;
				best_len = j - i;
			}
		}
		i = j;
	}
	if (!best)
		return -ENOENT;
	return copy_out(out, size, best, best_len);
}

/* Why: systemd names a unit by the cgroup it puts the process in; hybrid hosts have two hierarchies. */
int hp_parse_cgroup_unit(const char *cgroup, char *out, size_t size)
{
	const char *line = cgroup, *v1 = NULL, *v2 = NULL;
	size_t v1_len = 0, v2_len = 0;
	int r;

	if (!size)
		return -EINVAL;
	/* Lines are "hierarchy-id:controllers:path". */
	while (line && *line) {
		const char *end = strchr(line, '\n'), *c1, *c2;

		if (!end)
			end = line + strlen(line);
		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 && c2 + 1 < end && c2[1] == '/') {
			if ((size_t)(c2 - c1 - 1) == 12 && !memcmp(c1 + 1, "name=systemd", 12)) {
				v1 = c2 + 1;
				v1_len = (size_t)(end - v1);
			} else if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
				v2 = c2 + 1;
				v2_len = (size_t)(end - v2);
			}
		}
		line = *end ? end + 1 : NULL;
	}
	if (v1) {
		r = unit_from_path(v1, v1_len, out, size);
		if (r == 0)
			return 0;
	}
	if (v2)
		return unit_from_path(v2, v2_len, out, size);
	return -ENOENT;
}

/* Why: the flags field tells kernel threads apart (PF_KTHREAD), which have nothing to patch. */
int hp_parse_stat(const char *stat, char *ret_state, unsigned long *ret_flags)
{
	const char *p = strrchr(stat, ')');
	unsigned long long v;
	int field;

	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -EBADMSG;
	*ret_state = p[2];
	p += 4;
	/* fields 4..8 (ppid pgrp session tty_nr tpgid) may be negative; field 9 is flags */
	for (field = 4; field < 9; field++) {
		if (*p == '-')
			p++;
		if (parse_decimal(&p, UINT64_MAX, &v) < 0 || *p != ' ')
			return -EBADMSG;
		p++;
	}
	if (parse_decimal(&p, UINT32_MAX, &v) < 0)
		return -EBADMSG;
	*ret_flags = (unsigned long)v;
	return 0;
}
