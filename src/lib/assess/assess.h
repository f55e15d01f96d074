/* SPDX-License-Identifier: MIT */
/*
 * Assessment internals: the session, the check helpers shared by the host
 * and process halves, and the parsers of /proc, /sys and /etc files.  The
 * parsers are pure functions over bytes read elsewhere, so that the unit
 * tests can feed them malformed input directly.
 */
#ifndef HP_LIB_ASSESS_H
#define HP_LIB_ASSESS_H

#include <linux/filter.h>
#include "lib/core/internal.h"
#include "lib/process/module.h"

struct hp_elf;
struct hp_assess_symcache;

struct hp_assess {
	struct hp_ctx *ctx;
	unsigned flags;			/* enum hp_assess_flags */
	char *root;			/* NULL: the live system */
	int root_fd;			/* directory fd of root ("/" when live) */
	const struct hp_patch **patches;
	size_t npatches;
	struct hp_assess_symcache *syms;	/* per build-id symbol facts */
	size_t nsyms;
	bool caller_read;		/* caller facts below are valid */
	bool caller_has_sys_ptrace;
	bool caller_has_sys_admin;
	int caller_cap_err;		/* < 0: CapEff could not be read */
};

/* ---- check helpers (assess.c) ---- */

/* Bound of one value read from a host file (cpu model, os-release field). */
#define HP_ASSESS_FIELD 320

struct hp_check_vec {
	struct hp_assess_check *v;
	size_t n, cap;
};

/*
 * Text fields of assessment results are owned strings or hp_assess_empty
 * (""), never NULL.  hp_assess_str_set copies src into *dst (-ENOMEM, *dst
 * unchanged); hp_assess_str_free frees an owned one.
 */
extern const char hp_assess_empty[];
int hp_assess_str_set(const char **dst, const char *src);
void hp_assess_str_free(const char *s);
/* Free an array of checks and their texts. */
void hp_checks_free(struct hp_assess_check *v, size_t n);
/* Free what a filled target owns (its path and checks), not t itself. */
void hp_assess_target_release(struct hp_assess_target *t);

/* Append a check named name (a static string), texts ""; NULL on ENOMEM. */
struct hp_assess_check *hp_check_add(struct hp_check_vec *vec, const char *name);
void hp_check_set(struct hp_assess_check *c, enum hp_check_result result);
void hp_check_value(struct hp_assess_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hp_check_reason(struct hp_assess_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hp_check_remedy(struct hp_assess_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The verdict a list of checks gives: NOT_OK -> bad, UNKNOWN (non-advisory) -> UNKNOWN. */
enum hp_verdict hp_checks_verdict(const struct hp_assess_check *v, size_t n, enum hp_verdict bad);
/* Worse of two verdicts (PATCHED < ELIGIBLE < UNKNOWN < RESTART < NOT_ELIGIBLE). */
enum hp_verdict hp_verdict_worse(enum hp_verdict a, enum hp_verdict b);

/* Read a file below the session root ("proc/cmdline"); NUL-terminated. */
int hp_assess_read(struct hp_assess *a, const char *relpath, size_t max, char **ret_buf, size_t *ret_len);
/* Read the caller's capabilities (from root/proc/self/status) once. */
void hp_assess_caller(struct hp_assess *a);

/* ---- targets and symbols (assess-target.c) ---- */

enum hp_sym_kind {
	HP_SYMS_UNKNOWN = 0,		/* the file could not be read */
	HP_SYMS_SYMTAB,			/* the file has .symtab */
	HP_SYMS_DEBUG,			/* a debug file found by build-id has .symtab */
	HP_SYMS_DYNSYM,			/* only the exported symbols (.dynsym) */
	HP_SYMS_NONE,
};

/* Symbol facts about one build-id, kept for the session (assess.c frees them). */
struct hp_assess_symcache {
	uint8_t bid[HP_BUILD_ID_MAX];
	size_t bid_len;
	enum hp_sym_kind kind;		/* HP_SYMS_UNKNOWN until looked at */
	char *debug_path;
	struct hp_elf *elf;		/* symbols loaded, once a patch needed them */
	int elf_err;
	bool elf_tried;
};


/* What symbols a mapped module has; the debug file path is owned by the session. */
int hp_assess_sym_kind(struct hp_assess *a, pid_t pid, const struct hp_maps *maps, const struct hp_module *mod,
		       enum hp_sym_kind *ret_kind, const char **ret_debug_path);

/* Whether a module is the patch's target: by build-id, else by file name (same_build false). */
bool hp_assess_module_matches(const struct hp_patch *p, const struct hp_module *m, bool *ret_same_build);

/* The build-id of the file at path as the process sees it (through /proc/PID/root). */
int hp_assess_disk_build_id(pid_t pid, const char *path, uint8_t *bid, size_t *ret_len);

/*
 * Assess one patch against the module it targets in a process (mod NULL:
 * the process does not map it).  st is what is applied (may be NULL).
 */
int hp_assess_target_fill(struct hp_assess *a, pid_t pid, const struct hp_maps *maps,
			  const struct hp_module *mods, size_t nmods, const struct hp_module *mod,
			  const struct hp_patch *patch, const struct hp_status *st, struct hp_assess_target *t);

/* ---- parsers (assess-parse.c); all bounded, none trusts its input ---- */

/* "6.1.0-18-amd64" -> 6, 1, 0.  Missing minor/patch are 0; -EINVAL if no major. */
int hp_parse_kernel_release(const char *s, unsigned *ret_major, unsigned *ret_minor, unsigned *ret_patch);

/*
 * The value of KEY in an os-release file (shell-like KEY=value lines,
 * values optionally quoted with backslash escapes).  Control characters are
 * dropped.  -ENOENT when absent, -EBADMSG for an unterminated quote.
 */
int hp_parse_os_release(const char *buf, const char *key, char *out, size_t size);

/* The selected mode of /sys/kernel/security/lockdown ("none [integrity] ..."). */
int hp_parse_lockdown(const char *buf, char *out, size_t size);

/*
 * A "Key:\tvalue" field of /proc/PID/status into out (trimmed).  The key
 * must start a line.  -ENOENT when absent.
 */
int hp_parse_status_field(const char *status, const char *key, char *out, size_t size);
/* A hexadecimal capability mask field ("CapEff") of /proc/PID/status. */
int hp_parse_status_caps(const char *status, const char *key, uint64_t *ret);
/* A decimal field ("TracerPid", "Seccomp") of /proc/PID/status. */
int hp_parse_status_uint(const char *status, const char *key, unsigned long long max, unsigned long long *ret);

enum hp_cpu_flags {
	HP_CPU_VMX = 1 << 0,
	HP_CPU_SVM = 1 << 1,
	HP_CPU_HYPERVISOR = 1 << 2,
	HP_CPU_HAVE_FLAGS = 1 << 3,	/* a flags line was found */
};
/* Model name ("" if absent) and HP_CPU_* of the first processor in /proc/cpuinfo. */
int hp_parse_cpuinfo(const char *buf, char *model, size_t size, unsigned *ret_flags);

/* The value of a "key=value" word on the kernel command line; "" for a bare "key". */
int hp_parse_cmdline_param(const char *cmdline, const char *key, char *out, size_t size);

/*
 * A kernel configuration option: "y", "m" or a value for "CONFIG_X=...",
 * "n" for "# CONFIG_X is not set"; -ENOENT when not mentioned.
 */
int hp_parse_kconfig(const char *buf, const char *key, char *out, size_t size);

/* An EFI boolean variable from efivarfs: 4 attribute bytes, then 1 value byte. */
int hp_parse_efivar_bool(const uint8_t *buf, size_t len, bool *ret);

/* An SELinux boolean file: "current pending" ("1 1"); returns the current value. */
int hp_parse_selinux_bool(const char *buf, bool *ret);

/*
 * The systemd unit owning a process, from /proc/PID/cgroup: the deepest
 * path component that names a unit (.service, .scope, .socket, .mount,
 * .swap), preferring the name=systemd v1 hierarchy, then the v2 "0::"
 * line.  -ENOENT when the process is in no unit.
 */
int hp_parse_cgroup_unit(const char *cgroup, char *out, size_t size);

/* Field 9 (flags) and field 3 (state) of /proc/PID/stat; comm may hold spaces and ')'. */
int hp_parse_stat(const char *stat, char *ret_state, unsigned long *ret_flags);

/* ---- seccomp (assess-seccomp.c) ---- */

#define HP_BPF_MAX_INSNS 4096

/* What a filter did with one syscall. */
struct hp_bpf_run {
	uint32_t ret;			/* SECCOMP_RET_* action and data */
	bool read_args;			/* the program looked at args[] */
	bool read_ip;			/* the program looked at instruction_pointer */
};

/*
 * Check that a classic BPF program is one the kernel's seccomp loader would
 * accept in shape (known opcodes, loads inside struct seccomp_data, forward
 * jumps inside the program, ends in a return).  -EINVAL otherwise.
 */
int hp_bpf_validate(const struct sock_filter *prog, size_t n);
/* Run a validated program over one struct seccomp_data (given as its bytes). */
int hp_bpf_run(const struct sock_filter *prog, size_t n, const void *data, size_t data_len,
	       struct hp_bpf_run *ret);

/* The action part of a return value, ordered as the kernel orders them (lower wins). */
int32_t hp_seccomp_action(uint32_t ret);
/* "allow", "errno(1)", "kill-process", ... into buf. */
const char *hp_seccomp_action_str(uint32_t ret, char *buf, size_t size);

/* A thread's seccomp filters, newest first, read with PTRACE_SECCOMP_GET_FILTER. */
struct hp_seccomp_filters {
	struct sock_filter **progs;
	size_t *lens;
	size_t n;
};
void hp_seccomp_filters_release(struct hp_seccomp_filters *f);
/*
 * Seize tid, interrupt it, read its filters, detach.  The thread is
 * stopped for the few microseconds this takes.  -EPERM / -EACCES when the
 * caller may not, -HP_E_TRACED when another tracer holds it.
 */
int hp_seccomp_read_filters(struct hp_ctx *ctx, pid_t tid, struct hp_seccomp_filters *ret);

/* Outcome of running the engine's syscalls through a filter chain. */
struct hp_seccomp_verdict {
	enum hp_check_result engine;	/* OK: every engine syscall allowed */
	char engine_detail[256];	/* "memfd_create: errno(1)" or "" */
	bool wx_denied;			/* W+X mmap or mprotect(PROT_EXEC) is refused */
	char wx_detail[160];
	bool reads_args;		/* some decision looked at arguments */
};
/* Evaluate filters (validated) for the engine's syscalls and for W^X probes. */
int hp_seccomp_evaluate(const struct hp_seccomp_filters *f, struct hp_seccomp_verdict *ret);

#endif
