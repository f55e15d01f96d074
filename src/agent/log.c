/* SPDX-License-Identifier: MIT */
/* Agent logging (see log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static alog_sink_fn sink;
static int max_prio = LOG_INFO;

void alog_set_sink(alog_sink_fn fn, int prio)
{
	sink = fn;
	max_prio = prio;
}

/* Why one formatter: the sink gets a finished message plus the fields journald indexes. */
static void vlog(int prio, const char *patch_id, pid_t pid, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	char msg[2048];

	if (prio > max_prio)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sink)
		sink(prio, patch_id, pid, msg);
	else
		fprintf(stderr, "hotpatch: %s: %s\n", names[prio & 7], msg);
}

void alog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, NULL, 0, fmt, ap);
	va_end(ap);
}

void alog_kv(int prio, const char *patch_id, pid_t pid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, patch_id, pid, fmt, ap);
	va_end(ap);
}
