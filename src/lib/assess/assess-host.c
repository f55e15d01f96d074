/* SPDX-License-Identifier: MIT */
/*
 * Host checks: can the engine work on this machine at all (architecture,
 * kernel, ptrace policy of Yama, capabilities, SELinux, AppArmor, lockdown,
 * /proc/PID/mem writes, executable memfds), and the inventory fleet owners
 * ask for (Secure Boot, TPM, virtualisation, CPU, distribution).
 *
 * Every value is read from a file below the session root ("/" normally, a
 * fixture tree in tests); only the /proc/PID/mem probe and uname() reach
 * the live kernel, and neither runs under a test root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/assess/assess.h"

#define SMALL_FILE (64u << 10)
#define SECURE_BOOT_VAR "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

/* Why: most sysfs/procfs values are one short line; callers want it without the newline. */
static int read_line(struct hp_assess *a, const char *rel, char *out, size_t size)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = hp_assess_read(a, rel, SMALL_FILE, &buf, &len);
	if (r < 0)
		return r;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = 0;
	if (strlen(buf) != len)
		return -EBADMSG;	/* embedded NUL */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t' && buf[i] != '\n')
			return -EBADMSG;
	hp_strlcpy(out, buf, size);
	return 0;
}

/* Why: presence of a directory is itself a fact (SELinux on, EFI boot), read below the root. */
static bool exists(struct hp_assess *a, const char *rel)
{
	return faccessat(a->root_fd, rel, F_OK, 0) == 0;
}

/* Why: the "where" of a reason names the real path, with the test root in front when there is one. */
static const char *rootp(struct hp_assess *a)
{
	return a->root ? a->root : "";
}

/* Why: arch and kernel come from procfs so that a fixture can set them; uname() backs them up live. */
static int read_uname_field(struct hp_assess *a, const char *rel, bool release, char *out, size_t size)
{
	struct utsname u;
	int r = read_line(a, rel, out, size);

	if (r == 0 || a->root)
		return r;
	if (uname(&u) < 0)
		return r;
	hp_strlcpy(out, release ? u.release : u.machine, size);
	return 0;
}

/* Why: the engine writes x86-64 jumps and reads x86-64 registers; nothing else can work. */
static int check_arch(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "arch");
	char arch[64];
	int r;

	if (!c)
		return -ENOMEM;
	r = read_uname_field(a, "proc/sys/kernel/arch", false, arch, sizeof(arch));
	if (r < 0) {
		hp_check_reason(c, "cannot read %s/proc/sys/kernel/arch: %s", rootp(a), hp_strerror(r));
		hp_check_remedy(c, "check that /proc is mounted");
		return 0;
	}
	hp_check_value(c, "%s", arch);
	if (!strcmp(arch, "x86_64")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "the engine supports x86_64");
	} else {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the engine supports x86_64 only; this machine is %s", arch);
		hp_check_remedy(c, "none on this machine: hotpatch needs an x86_64 host");
	}
	return 0;
}

/* Why: the engine needs PTRACE_SEIZE and memfd_create; the release also decides the /proc/PID/mem policy. */
static int check_kernel(struct hp_assess *a, struct hp_check_vec *v, unsigned *ret_major, unsigned *ret_minor)
{
	struct hp_assess_check *c = hp_check_add(v, "kernel");
	char rel[128];
	unsigned maj, min, pat;
	int r;

	*ret_major = *ret_minor = 0;
	if (!c)
		return -ENOMEM;
	r = read_uname_field(a, "proc/sys/kernel/osrelease", true, rel, sizeof(rel));
	if (r < 0) {
		hp_check_reason(c, "cannot read %s/proc/sys/kernel/osrelease: %s", rootp(a), hp_strerror(r));
		hp_check_remedy(c, "check that /proc is mounted");
		return 0;
	}
	hp_check_value(c, "%s", rel);
	if (hp_parse_kernel_release(rel, &maj, &min, &pat) < 0) {
		hp_check_reason(c, "kernel release '%s' does not start with a version number", rel);
		hp_check_remedy(c, "check the kernel release string (uname -r)");
		return 0;
	}
	*ret_major = maj;
	*ret_minor = min;
	if (maj > 3 || (maj == 3 && min >= 17)) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "kernel %u.%u has PTRACE_SEIZE (3.4) and memfd_create (3.17), which the engine uses",
				maj, min);
	} else {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "kernel %u.%u is older than 3.17: no memfd_create, which the engine maps patches from",
				maj, min);
		hp_check_remedy(c, "boot a kernel 3.17 or newer");
	}
	return 0;
}

/* Why: without CAP_SYS_PTRACE only the caller's own dumpable processes can be traced. */
static int check_caps(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "cap_sys_ptrace");

	if (!c)
		return -ENOMEM;
	hp_assess_caller(a);
	if (a->caller_cap_err < 0) {
		hp_check_reason(c, "cannot read CapEff from %s/proc/self/status: %s", rootp(a),
				hp_strerror(a->caller_cap_err));
		hp_check_remedy(c, "check that /proc is mounted and readable");
		return 0;
	}
	hp_check_value(c, "%s", a->caller_has_sys_ptrace ? "yes" : "no");
	if (a->caller_has_sys_ptrace) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "this caller has CAP_SYS_PTRACE in its effective set (CapEff), so it may trace "
				   "processes of other users");
	} else {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "this caller lacks CAP_SYS_PTRACE (CapEff): it can trace only its own user's "
				   "dumpable processes");
		hp_check_remedy(c, "run as root, or grant CAP_SYS_PTRACE (systemd: AmbientCapabilities=CAP_SYS_PTRACE)");
	}
	return 0;
}

/* Why: Yama restricts ptrace beyond capabilities; mode 3 even for root, until reboot. */
static int check_yama(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "ptrace_scope");
	char val[32];
	int r;

	if (!c)
		return -ENOMEM;
	r = read_line(a, "proc/sys/kernel/yama/ptrace_scope", val, sizeof(val));
	if (r == -ENOENT) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "none");
		hp_check_reason(c, "Yama is not active (no %s/proc/sys/kernel/yama/ptrace_scope): classic ptrace "
				   "permissions apply", rootp(a));
		return 0;
	}
	if (r < 0) {
		hp_check_reason(c, "cannot read %s/proc/sys/kernel/yama/ptrace_scope: %s", rootp(a), hp_strerror(r));
		hp_check_remedy(c, "check that /proc is mounted");
		return 0;
	}
	hp_assess_caller(a);
	if (!strcmp(val, "0")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "0 (classic)");
		hp_check_reason(c, "Yama ptrace_scope 0: classic ptrace permissions apply");
	} else if (!strcmp(val, "1") || !strcmp(val, "2")) {
		bool restricted = val[0] == '1';

		hp_check_value(c, "%s (%s)", val, restricted ? "restricted" : "admin-only");
		if (a->caller_cap_err < 0) {
			hp_check_reason(c, "Yama ptrace_scope %s needs CAP_SYS_PTRACE to trace non-descendants, and "
					   "the caller's capabilities cannot be read", val);
			hp_check_remedy(c, "check that /proc/self/status is readable");
		} else if (a->caller_has_sys_ptrace) {
			hp_check_set(c, HP_CHECK_OK);
			hp_check_reason(c, "Yama ptrace_scope %s lets only %s trace other processes, and this caller "
					   "has CAP_SYS_PTRACE", val,
					restricted ? "ancestors and holders of CAP_SYS_PTRACE" : "holders of CAP_SYS_PTRACE");
		} else {
			hp_check_set(c, HP_CHECK_NOT_OK);
			hp_check_reason(c, "Yama ptrace_scope %s: without CAP_SYS_PTRACE this caller can trace %s", val,
					restricted ? "only its own descendants" : "no process");
			hp_check_remedy(c, "run hotpatch as root or with CAP_SYS_PTRACE%s",
					restricted ? ", or set kernel.yama.ptrace_scope=0" : "");
		}
	} else if (!strcmp(val, "3")) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_value(c, "3 (no attach)");
		hp_check_reason(c, "Yama ptrace_scope 3: no process may ptrace another, not even root, until reboot");
		hp_check_remedy(c, "set kernel.yama.ptrace_scope=2 (or lower) in /etc/sysctl.d and reboot; 3 cannot "
				   "be lowered at runtime");
	} else {
		hp_check_value(c, "%s", val);
		hp_check_reason(c, "unrecognised Yama ptrace_scope value '%s'", val);
		hp_check_remedy(c, "check /proc/sys/kernel/yama/ptrace_scope");
	}
	return 0;
}

/* Why: deny_ptrace, when enforcing, refuses ptrace to every domain, root included. */
static int check_selinux(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "selinux");
	char enforce[16], b[16], label[256] = "";
	bool enforcing, deny = false;
	int r, rb;

	if (!c)
		return -ENOMEM;
	if (!exists(a, "sys/fs/selinux")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "disabled");
		hp_check_reason(c, "SELinux is not enabled (no selinuxfs at %s/sys/fs/selinux)", rootp(a));
		return 0;
	}
	r = read_line(a, "sys/fs/selinux/enforce", enforce, sizeof(enforce));
	if (r < 0 || (strcmp(enforce, "0") && strcmp(enforce, "1"))) {
		hp_check_reason(c, "selinuxfs is present but %s/sys/fs/selinux/enforce %s", rootp(a),
				r < 0 ? hp_strerror(r) : "is malformed");
		hp_check_remedy(c, "check the SELinux state with getenforce");
		return 0;
	}
	enforcing = enforce[0] == '1';
	read_line(a, "proc/self/attr/current", label, sizeof(label));
	rb = read_line(a, "sys/fs/selinux/booleans/deny_ptrace", b, sizeof(b));
	if (rb == 0 && hp_parse_selinux_bool(b, &deny) < 0) {
		hp_check_value(c, "%s", enforcing ? "enforcing" : "permissive");
		hp_check_reason(c, "the deny_ptrace boolean reads '%s', not '<current> <pending>'", b);
		hp_check_remedy(c, "check it with getsebool deny_ptrace");
		return 0;
	}
	if (rb < 0 && rb != -ENOENT) {
		hp_check_value(c, "%s", enforcing ? "enforcing" : "permissive");
		hp_check_reason(c, "cannot read the deny_ptrace boolean: %s", hp_strerror(rb));
		hp_check_remedy(c, "check it with getsebool deny_ptrace");
		return 0;
	}
	hp_check_value(c, "%s, deny_ptrace=%s%s%s", enforcing ? "enforcing" : "permissive",
		       rb == -ENOENT ? "absent" : deny ? "on" : "off", label[0] ? ", domain " : "", label);
	if (deny && enforcing) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "the SELinux boolean deny_ptrace is on and SELinux is enforcing: ptrace is denied "
				   "to every domain, root included");
		hp_check_remedy(c, "setsebool -P deny_ptrace off");
	} else if (deny) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "deny_ptrace is on, but SELinux is permissive: denials are only logged");
	} else {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "deny_ptrace is %s; a policy may still deny ptrace between particular domains, which "
				   "the per-process ptrace_access check tests",
				rb == -ENOENT ? "not defined by this policy" : "off");
	}
	return 0;
}

/* Why: a confined caller needs its profile to allow ptrace; an unconfined one may trace anything. */
static int check_apparmor(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "apparmor");
	char en[16], label[256];
	const char *mode;
	int r;

	if (!c)
		return -ENOMEM;
	r = read_line(a, "sys/module/apparmor/parameters/enabled", en, sizeof(en));
	if (r == -ENOENT || (r == 0 && !strcmp(en, "N"))) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "disabled");
		hp_check_reason(c, "AppArmor is not enabled (%s/sys/module/apparmor/parameters/enabled %s)", rootp(a),
				r == 0 ? "is N" : "is absent");
		return 0;
	}
	if (r < 0 || strcmp(en, "Y")) {
		hp_check_reason(c, "cannot tell whether AppArmor is enabled: %s",
				r < 0 ? hp_strerror(r) : "the parameter is neither Y nor N");
		hp_check_remedy(c, "check with aa-status");
		return 0;
	}
	r = read_line(a, "proc/self/attr/apparmor/current", label, sizeof(label));
	if (r == -ENOENT && !exists(a, "sys/fs/selinux"))
		r = read_line(a, "proc/self/attr/current", label, sizeof(label));
	if (r < 0) {
		hp_check_value(c, "enabled");
		hp_check_reason(c, "AppArmor is enabled but this caller's label cannot be read: %s", hp_strerror(r));
		hp_check_remedy(c, "check the caller's confinement with 'cat /proc/self/attr/apparmor/current'");
		return 0;
	}
	hp_check_value(c, "enabled, caller %s", label);
	mode = strrchr(label, '(');
	if (!strcmp(label, "unconfined") || (mode && !strcmp(mode, "(unconfined)"))) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "this caller is unconfined, and AppArmor lets an unconfined tracer trace any process");
	} else if (mode && !strcmp(mode, "(complain)")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "this caller's profile is in complain mode: denials are only logged");
	} else {
		hp_check_reason(c, "this caller is confined by AppArmor (%s); whether the profile allows ptrace is "
				   "decided per target, see the per-process ptrace_access check", label);
		hp_check_remedy(c, "run hotpatch unconfined, or allow 'capability sys_ptrace' and 'ptrace (trace, read)' "
				   "in its profile");
	}
	return 0;
}

/* Why: fleet owners ask about lockdown; it is recorded, but no mode gates ptrace of user processes. */
static int check_lockdown(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "lockdown");
	_cleanup_free_ char *buf = NULL;
	char mode[32];
	int r;

	if (!c)
		return -ENOMEM;
	/* No lockdown mode restricts ptrace or /proc/PID/mem of user processes: it never decides. */
	c->advisory = true;
	r = hp_assess_read(a, "sys/kernel/security/lockdown", SMALL_FILE, &buf, NULL);
	if (r == -ENOENT && exists(a, "sys/kernel/security/lsm")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "none");
		hp_check_reason(c, "securityfs has no lockdown file: the lockdown LSM is not active");
		return 0;
	}
	if (r == -ENOENT) {
		hp_check_reason(c, "securityfs is not mounted at %s/sys/kernel/security, so the lockdown mode cannot be "
				   "read (no lockdown mode restricts ptrace of user processes)", rootp(a));
		hp_check_remedy(c, "mount -t securityfs securityfs /sys/kernel/security to read it");
		return 0;
	}
	if (r < 0 || hp_parse_lockdown(buf, mode, sizeof(mode)) < 0) {
		hp_check_reason(c, "cannot read the lockdown mode from %s/sys/kernel/security/lockdown: %s", rootp(a),
				r < 0 ? hp_strerror(r) : "malformed");
		hp_check_remedy(c, "check /sys/kernel/security/lockdown");
		return 0;
	}
	hp_check_set(c, HP_CHECK_OK);
	hp_check_value(c, "%s", mode);
	if (!strcmp(mode, "none"))
		hp_check_reason(c, "kernel lockdown is off");
	else
		hp_check_reason(c, "lockdown '%s' restricts access to the kernel (/dev/mem, kexec, module "
				   "parameters, kernel reads), not ptrace or /proc/PID/mem of user processes", mode);
	return 0;
}

/* Why: /proc/config.gz is the running kernel's own configuration; /boot/config-* may be stale but is what we have. */
static int read_kconfig(struct hp_assess *a, const char *release, char **ret_buf, char *src, size_t srcsize)
{
	_cleanup_free_ char *buf = NULL;
	char path[256];
	int fd, r;

	fd = openat(a->root_fd, "proc/config.gz", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		gzFile gz = gzdopen(fd, "rb");
		size_t cap = 1 << 20, len = 0;

		if (!gz) {
			close(fd);
			return -ENOMEM;
		}
		buf = malloc(cap + 1);
		if (!buf) {
			gzclose(gz);
			return -ENOMEM;
		}
		for (;;) {
			int n;

			if (len == cap) {
				char *nb;

				if (cap >= (8u << 20)) {
					gzclose(gz);
					return -EFBIG;
				}
				nb = realloc(buf, cap * 2 + 1);
				if (!nb) {
					gzclose(gz);
					return -ENOMEM;
				}
				buf = nb;
				cap *= 2;
			}
			n = gzread(gz, buf + len, (unsigned)(cap - len));
			if (n < 0) {
				gzclose(gz);
				return -EBADMSG;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		gzclose(gz);
		buf[len] = 0;
		snprintf(src, srcsize, "/proc/config.gz");
		*ret_buf = TAKE_PTR(buf);
		return 0;
	}
	if (!release || !*release || strchr(release, '/'))
		return -ENOENT;
	snprintf(path, sizeof(path), "boot/config-%s", release);
	r = hp_assess_read(a, path, 8u << 20, &buf, NULL);
	if (r < 0)
		return r;
	if (snprintf(src, srcsize, "/%s", path) >= (int)srcsize)
		hp_strlcpy(src, "/boot/config-*", srcsize);
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/*
 * Why: a real write through /proc/PID/mem into read-only code of a traced
 * child is the only way to know that the running kernel allows what the
 * engine does; configuration files only say what it was built to do.  The
 * child does nothing but block on a pipe, so forking from a threaded caller
 * is safe.  The byte written is the byte already there.
 */
static int probe_mem_write(char *detail, size_t size)
{
	int pfd[2], st, r = 0, sig = 0;
	uint64_t addr = (uint64_t)(uintptr_t)&probe_mem_write;
	_cleanup_close_ int mem = -1;
	char path[64];
	uint8_t byte;
	pid_t child, w;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (child == 0) {
		char ch;

		close(pfd[1]);
		while (read(pfd[0], &ch, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pfd[0]);
	if (ptrace(PTRACE_SEIZE, child, NULL, NULL) < 0) {
		r = -errno;
		snprintf(detail, size, "PTRACE_SEIZE of a child failed: %s", hp_strerror(r));
		goto out;
	}
	if (ptrace(PTRACE_INTERRUPT, child, NULL, NULL) < 0) {
		r = -errno;
		snprintf(detail, size, "PTRACE_INTERRUPT of a child failed: %s", hp_strerror(r));
		goto out;
	}
	do
		w = waitpid(child, &st, __WALL);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFSTOPPED(st)) {
		r = -ECHILD;
		snprintf(detail, size, "the probe child did not stop");
		goto out;
	}
	if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
		sig = WSTOPSIG(st);
	snprintf(path, sizeof(path), "/proc/%d/mem", child);
	mem = open(path, O_RDWR | O_CLOEXEC);
	if (mem < 0) {
		r = -errno;
		snprintf(detail, size, "opening /proc/PID/mem of a traced child for writing failed: %s", hp_strerror(r));
	} else if (hp_pread_all(mem, &byte, 1, addr) < 0 || hp_pwrite_all(mem, &byte, 1, addr) < 0) {
		r = errno ? -errno : -EIO;
		snprintf(detail, size, "writing read-only code of a traced child through /proc/PID/mem failed: %s",
			 hp_strerror(r));
	} else {
		snprintf(detail, size, "wrote read-only code of a traced child through /proc/PID/mem");
	}
	ptrace(PTRACE_DETACH, child, NULL, (void *)(long)sig);
out:
	close(pfd[1]);
	kill(child, SIGKILL);
	while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
		;
	return r;
}

/* Why: the engine writes entry jumps through /proc/PID/mem; proc_mem.force_override=never forbids it. */
static int check_mem_write(struct hp_assess *a, struct hp_check_vec *v, unsigned kmaj, unsigned kmin,
			   const char *release)
{
	struct hp_assess_check *c = hp_check_add(v, "proc_mem_write");
	_cleanup_free_ char *cmdline = NULL, *config = NULL;
	char policy[32] = "", src[128] = "", opt[16], detail[200] = "";
	int r;

	if (!c)
		return -ENOMEM;
	/* What the kernel is configured to do: command line first, then the build default. */
	if (hp_assess_read(a, "proc/cmdline", SMALL_FILE, &cmdline, NULL) == 0 &&
	    hp_parse_cmdline_param(cmdline, "proc_mem.force_override", policy, sizeof(policy)) == 0) {
		snprintf(src, sizeof(src), "proc_mem.force_override=%s on the kernel command line", policy);
	} else if (kmaj && (kmaj < 6 || (kmaj == 6 && kmin < 12))) {
		hp_strlcpy(policy, "always", sizeof(policy));
		snprintf(src, sizeof(src), "kernel %u.%u predates proc_mem.force_override (6.12): writes are always "
			 "forced", kmaj, kmin);
	} else if (read_kconfig(a, release, &config, src, sizeof(src)) == 0) {
		static const struct {
			const char *opt, *policy;
		} cfg[] = { { "CONFIG_PROC_MEM_ALWAYS_FORCE", "always" },
			    { "CONFIG_PROC_MEM_FORCE_PTRACE", "ptrace" },
			    { "CONFIG_PROC_MEM_NO_FORCE", "never" } };
		char from[128];

		hp_strlcpy(from, src, sizeof(from));
		src[0] = 0;
		for (size_t i = 0; i < ARRAY_SIZE(cfg); i++) {
			if (hp_parse_kconfig(config, cfg[i].opt, opt, sizeof(opt)) == 0 && !strcmp(opt, "y")) {
				hp_strlcpy(policy, cfg[i].policy, sizeof(policy));
				if (snprintf(src, sizeof(src), "%s=y in %s", cfg[i].opt, from) >= (int)sizeof(src))
					hp_strlcpy(src, cfg[i].opt, sizeof(src));
				break;
			}
		}
	}
	if (policy[0])
		hp_check_value(c, "%s", policy);
	if (!(a->flags & HP_ASSESS_NO_PROBE)) {
		r = probe_mem_write(detail, sizeof(detail));
		if (r == 0) {
			hp_check_set(c, HP_CHECK_OK);
			hp_check_reason(c, "measured: %s%s%s", detail, src[0] ? "; " : "", src);
		} else {
			hp_check_set(c, HP_CHECK_NOT_OK);
			hp_check_reason(c, "measured: %s%s%s", detail, src[0] ? "; " : "", src);
			hp_check_remedy(c, "boot with proc_mem.force_override=ptrace (or always), and make sure ptrace is "
					   "allowed (see the ptrace checks)");
		}
		return 0;
	}
	if (!strcmp(policy, "always") || !strcmp(policy, "ptrace")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "%s: the engine writes code through /proc/PID/mem of processes it traces, which "
				   "this allows", src);
	} else if (!strcmp(policy, "never")) {
		hp_check_set(c, HP_CHECK_NOT_OK);
		hp_check_reason(c, "%s: /proc/PID/mem cannot write read-only code, which the engine needs", src);
		hp_check_remedy(c, "boot with proc_mem.force_override=ptrace");
	} else if (policy[0]) {
		hp_check_reason(c, "%s: unrecognised policy", src);
		hp_check_remedy(c, "use proc_mem.force_override=ptrace or always");
	} else {
		hp_check_reason(c, "the /proc/PID/mem write policy of this kernel cannot be read: no "
				   "proc_mem.force_override on the command line and no kernel configuration "
				   "(/proc/config.gz, /boot/config-%s)", release ? release : "?");
		hp_check_remedy(c, "run assess without a test root so it can measure, or boot with "
				   "proc_mem.force_override=ptrace");
	}
	return 0;
}

/*
 * Why: the engine creates its memfd with MFD_CLOEXEC only and maps it
 * read+exec.  What vm.memfd_noexec=2 does to that changed between kernels
 * (6.3 refused such memfds, later kernels seal them non-executable for
 * execve only), so live we do the same two calls here and report what
 * happened; the sysctl alone decides only under a test root.
 */
static int probe_memfd_exec(char *detail, size_t size)
{
	_cleanup_close_ int fd = -1;
	void *p;
	int r;

	fd = (int)syscall(SYS_memfd_create, "hotpatch-assess", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(detail, size, "memfd_create(MFD_CLOEXEC) failed: %s", hp_strerror(r));
		return r;
	}
	if (ftruncate(fd, 4096) < 0) {
		r = -errno;
		snprintf(detail, size, "ftruncate of a memfd failed: %s", hp_strerror(r));
		return r;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		snprintf(detail, size, "mapping a memfd read+exec failed: %s", hp_strerror(r));
		return r;
	}
	munmap(p, 4096);
	snprintf(detail, size, "created a memfd with MFD_CLOEXEC and mapped it read+exec, as the engine does");
	return 0;
}

/* Why: patch code is mapped from a memfd, which must be mappable read+exec. */
static int check_memfd_exec(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "memfd_exec");
	char val[16], detail[160];
	int r;

	if (!c)
		return -ENOMEM;
	r = read_line(a, "proc/sys/vm/memfd_noexec", val, sizeof(val));
	if (r == 0)
		hp_check_value(c, "vm.memfd_noexec=%s", val);
	else if (r == -ENOENT)
		hp_check_value(c, "no vm.memfd_noexec");
	if (!(a->flags & HP_ASSESS_NO_PROBE)) {
		if (probe_memfd_exec(detail, sizeof(detail)) == 0) {
			hp_check_set(c, HP_CHECK_OK);
			hp_check_reason(c, "measured: %s (targets in another pid namespace may have another "
					   "vm.memfd_noexec)", detail);
		} else {
			hp_check_set(c, HP_CHECK_NOT_OK);
			hp_check_reason(c, "measured: %s; the engine maps patch code from such a memfd", detail);
			hp_check_remedy(c, "sysctl vm.memfd_noexec=0 (in the targets' pid namespace), and allow "
					   "memfd_create for this caller");
		}
		return 0;
	}
	if (r == -ENOENT) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "no vm.memfd_noexec (kernels before 6.3): memfds can be mapped executable");
	} else if (r < 0) {
		hp_check_reason(c, "cannot read %s/proc/sys/vm/memfd_noexec: %s", rootp(a), hp_strerror(r));
		hp_check_remedy(c, "check that /proc is mounted");
	} else if (!strcmp(val, "0") || !strcmp(val, "1")) {
		hp_check_set(c, HP_CHECK_OK);
		hp_check_reason(c, "vm.memfd_noexec=%s: a memfd created with MFD_CLOEXEC can be mapped read+exec, as "
				   "the engine does", val);
	} else if (!strcmp(val, "2")) {
		hp_check_reason(c, "vm.memfd_noexec=2: kernel 6.3 refuses memfds created without MFD_NOEXEC_SEAL "
				   "(the engine's), later kernels allow them; only a live run can measure it");
		hp_check_remedy(c, "run assess without a test root, or set vm.memfd_noexec=1");
	} else {
		hp_check_reason(c, "unrecognised vm.memfd_noexec value '%s'", val);
		hp_check_remedy(c, "check /proc/sys/vm/memfd_noexec");
	}
	return 0;
}

/* ---- inventory ---- */

/* Why: Secure Boot state is inventory: read from EFI variables, unknown when they are not visible. */
static int fact_secure_boot(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "secure_boot");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	bool on;
	int r;

	if (!c)
		return -ENOMEM;
	if (!exists(a, "sys/firmware/efi")) {
		hp_check_reason(c, "no %s/sys/firmware/efi: booted without UEFI runtime services (legacy BIOS), or the "
				   "kernel has no EFI support", rootp(a));
		return 0;
	}
	r = hp_assess_read(a, "sys/firmware/efi/efivars/" SECURE_BOOT_VAR, 64, &buf, &len);
	if (r == 0) {
		if (hp_parse_efivar_bool((const uint8_t *)buf, len, &on) < 0) {
			hp_check_reason(c, "the SecureBoot EFI variable is malformed (%zu bytes)", len);
			return 0;
		}
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "%s", on ? "enabled" : "disabled");
		hp_check_reason(c, "read from the SecureBoot EFI variable (efivarfs)");
		return 0;
	}
	/* Kernels before efivarfs expose variables in sysfs: the data file holds the value alone. */
	zfree(buf);
	if (hp_assess_read(a, "sys/firmware/efi/vars/" SECURE_BOOT_VAR "/data", 64, &buf, &len) == 0) {
		if (len != 1 || (uint8_t)buf[0] > 1) {
			hp_check_reason(c, "the SecureBoot EFI variable is malformed (%zu bytes)", len);
			return 0;
		}
		hp_check_set(c, HP_CHECK_OK);
		hp_check_value(c, "%s", buf[0] ? "enabled" : "disabled");
		hp_check_reason(c, "read from the SecureBoot EFI variable (sysfs efivars)");
		return 0;
	}
	if (r == -ENOENT) {
		_cleanup_closedir_ DIR *d = NULL;
		int fd = openat(a->root_fd, "sys/firmware/efi/efivars", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *de;
		size_t n = 0;

		if (fd >= 0 && !(d = fdopendir(fd)))
			close(fd);
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				n++;
		if (n) {
			hp_check_set(c, HP_CHECK_OK);
			hp_check_value(c, "unsupported");
			hp_check_reason(c, "UEFI firmware without a SecureBoot variable: it does not implement Secure Boot");
		} else {
			hp_check_reason(c, "UEFI system, but no EFI variables are visible (efivarfs not mounted at "
					   "%s/sys/firmware/efi/efivars)", rootp(a));
		}
		return 0;
	}
	hp_check_reason(c, "cannot read the SecureBoot EFI variable: %s", hp_strerror(r));
	return 0;
}

/* Why: TPM presence is inventory; without the tpm class no statement about the hardware is possible. */
static int fact_tpm(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *c = hp_check_add(v, "tpm");
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char first[64] = "", ver[16], rel[128];
	size_t n = 0;
	int fd;

	if (!c)
		return -ENOMEM;
	fd = openat(a->root_fd, "sys/class/tpm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			hp_check_reason(c, "no %s/sys/class/tpm: no TPM driver is loaded, so whether the machine has a "
					   "TPM cannot be told", rootp(a));
		else
			hp_check_reason(c, "cannot read %s/sys/class/tpm: %s", rootp(a), hp_strerror(-errno));
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "tpm", 3) || strlen(de->d_name) >= sizeof(first))
			continue;
		if (!n || strcmp(de->d_name, first) < 0)
			hp_strlcpy(first, de->d_name, sizeof(first));
		n++;
	}
	hp_check_set(c, HP_CHECK_OK);
	if (!n) {
		hp_check_value(c, "absent");
		hp_check_reason(c, "the TPM subsystem is loaded but registered no device in /sys/class/tpm");
		return 0;
	}
	snprintf(rel, sizeof(rel), "sys/class/tpm/%s/tpm_version_major", first);
	if (read_line(a, rel, ver, sizeof(ver)) == 0 && (!strcmp(ver, "1") || !strcmp(ver, "2"))) {
		hp_check_value(c, "present (TPM %s)", ver[0] == '2' ? "2.0" : "1.2");
		hp_check_reason(c, "%s in /sys/class/tpm, version from tpm_version_major", first);
	} else {
		hp_check_value(c, "present");
		hp_check_reason(c, "%s in /sys/class/tpm; its version is not reported", first);
	}
	return 0;
}

/* Why: CPU model, virtualisation extensions and guest status all come from the first cpuinfo block. */
static int facts_cpu(struct hp_assess *a, struct hp_check_vec *v)
{
	struct hp_assess_check *virt = hp_check_add(v, "virtualization");
	struct hp_assess_check *hyp = virt ? hp_check_add(v, "hypervisor") : NULL;
	struct hp_assess_check *model = hyp ? hp_check_add(v, "cpu_model") : NULL;
	_cleanup_free_ char *buf = NULL;
	char name[HP_ASSESS_FIELD];
	unsigned flags = 0;
	int r;

	if (!model)
		return -ENOMEM;
	virt = &v->v[v->n - 3];
	hyp = &v->v[v->n - 2];
	r = hp_assess_read(a, "proc/cpuinfo", 4u << 20, &buf, NULL);
	if (r == 0)
		r = hp_parse_cpuinfo(buf, name, sizeof(name), &flags);
	if (r < 0) {
		hp_check_reason(virt, "cannot read %s/proc/cpuinfo: %s", rootp(a), hp_strerror(r));
		hp_check_reason(hyp, "cannot read %s/proc/cpuinfo: %s", rootp(a), hp_strerror(r));
		hp_check_reason(model, "cannot read %s/proc/cpuinfo: %s", rootp(a), hp_strerror(r));
		return 0;
	}
	if (flags & HP_CPU_HAVE_FLAGS) {
		hp_check_set(virt, HP_CHECK_OK);
		hp_check_value(virt, "%s", flags & HP_CPU_VMX ? "vmx" : flags & HP_CPU_SVM ? "svm" : "none");
		hp_check_reason(virt, "%s", flags & HP_CPU_VMX ? "Intel VT-x (vmx flag in /proc/cpuinfo)"
					    : flags & HP_CPU_SVM ? "AMD-V (svm flag in /proc/cpuinfo)"
								 : "neither vmx nor svm in the CPU flags");
		hp_check_set(hyp, HP_CHECK_OK);
		hp_check_value(hyp, "%s", flags & HP_CPU_HYPERVISOR ? "yes" : "no");
		hp_check_reason(hyp, "%s", flags & HP_CPU_HYPERVISOR ? "the hypervisor CPU flag is set: this is a guest"
								       : "no hypervisor CPU flag");
	} else {
		hp_check_reason(virt, "/proc/cpuinfo has no flags line");
		hp_check_reason(hyp, "/proc/cpuinfo has no flags line");
	}
	if (name[0]) {
		hp_check_set(model, HP_CHECK_OK);
		hp_check_value(model, "%s", name);
		hp_check_reason(model, "model name in /proc/cpuinfo");
	} else {
		hp_check_reason(model, "/proc/cpuinfo has no model name");
	}
	return 0;
}

/* Why: the distribution comes from os-release, the file every distribution ships for this. */
static int facts_os(struct hp_assess *a, struct hp_check_vec *v)
{
	static const struct {
		const char *fact, *key, *alt;
	} keys[] = { { "os_name", "PRETTY_NAME", "NAME" }, { "os_id", "ID", NULL }, { "os_version", "VERSION_ID", NULL } };
	_cleanup_free_ char *buf = NULL;
	const char *src = "/etc/os-release";
	size_t i;
	int r;

	r = hp_assess_read(a, "etc/os-release", SMALL_FILE, &buf, NULL);
	if (r == -ENOENT) {
		src = "/usr/lib/os-release";
		r = hp_assess_read(a, "usr/lib/os-release", SMALL_FILE, &buf, NULL);
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		struct hp_assess_check *c = hp_check_add(v, keys[i].fact);
		char val[HP_ASSESS_FIELD];
		int k;

		if (!c)
			return -ENOMEM;
		if (r < 0) {
			hp_check_reason(c, "cannot read %s/etc/os-release or %s/usr/lib/os-release: %s", rootp(a),
					rootp(a), hp_strerror(r));
			continue;
		}
		k = hp_parse_os_release(buf, keys[i].key, val, sizeof(val));
		if (k == -ENOENT && keys[i].alt)
			k = hp_parse_os_release(buf, keys[i].alt, val, sizeof(val));
		if (k == 0 && val[0]) {
			hp_check_set(c, HP_CHECK_OK);
			hp_check_value(c, "%s", val);
			hp_check_reason(c, "%s in %s", keys[i].key, src);
		} else if (k == -EBADMSG) {
			hp_check_reason(c, "%s in %s has an unterminated quote", keys[i].key, src);
		} else {
			hp_check_reason(c, "%s has no %s", src, keys[i].key);
		}
	}
	return 0;
}

/* Why: results are owned by the caller; NULL is accepted like every _free. */
void hp_assess_host_free(struct hp_assess_host *h)
{
	if (!h)
		return;
	hp_checks_free(h->checks, h->nchecks);
	hp_checks_free(h->facts, h->nfacts);
	free(h);
}

/* Why: requirements first, inventory after; a failure here is only ever ENOMEM. */
int hp_assess_host(struct hp_assess *a, struct hp_assess_host **ret_host)
{
	struct hp_check_vec checks = { 0 }, facts = { 0 };
	struct hp_assess_host *h;
	char release[128] = "";
	unsigned kmaj = 0, kmin = 0;
	int r;

	r = check_arch(a, &checks);
	if (r == 0)
		r = check_kernel(a, &checks, &kmaj, &kmin);
	if (r == 0 && checks.n)
		hp_strlcpy(release, checks.v[checks.n - 1].value, sizeof(release));
	if (r == 0)
		r = check_caps(a, &checks);
	if (r == 0)
		r = check_yama(a, &checks);
	if (r == 0)
		r = check_selinux(a, &checks);
	if (r == 0)
		r = check_apparmor(a, &checks);
	if (r == 0)
		r = check_lockdown(a, &checks);
	if (r == 0)
		r = check_mem_write(a, &checks, kmaj, kmin, release);
	if (r == 0)
		r = check_memfd_exec(a, &checks);
	if (r == 0)
		r = fact_secure_boot(a, &facts);
	if (r == 0)
		r = fact_tpm(a, &facts);
	if (r == 0)
		r = facts_cpu(a, &facts);
	if (r == 0)
		r = facts_os(a, &facts);
	if (r == 0 && !(h = calloc(1, sizeof(*h))))
		r = -ENOMEM;
	if (r < 0) {
		hp_checks_free(checks.v, checks.n);
		hp_checks_free(facts.v, facts.n);
		return hp_err(a->ctx, r, "assess: host checks: %s", hp_strerror(r));
	}
	h->checks = checks.v;
	h->nchecks = checks.n;
	h->facts = facts.v;
	h->nfacts = facts.n;
	h->verdict = hp_checks_verdict(h->checks, h->nchecks, HP_VERDICT_NOT_ELIGIBLE);
	*ret_host = h;
	return 0;
}
