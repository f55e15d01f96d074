/* SPDX-License-Identifier: MIT */
/*
 * Logging of the agent pieces: one call site format, a sink set by the
 * program (stderr for the CLI, journald fields for hotpatchd).  Priorities
 * are syslog's (LOG_ERR ... LOG_DEBUG).
 */
#ifndef HP_AGENT_LOG_H
#define HP_AGENT_LOG_H

#include <syslog.h>
#include <sys/types.h>

/* patch_id may be NULL, pid 0 when not about one process. */
typedef void (*alog_sink_fn)(int prio, const char *patch_id, pid_t pid, const char *msg);

void alog_set_sink(alog_sink_fn fn, int max_prio);
void alog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void alog_kv(int prio, const char *patch_id, pid_t pid, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
