/* SPDX-License-Identifier: MIT */
/*
 * Host checks read from fixture trees (tests/fixtures/assess/NAME: a fake
 * /proc, /sys, /etc, /boot) for the conditions a test machine cannot be put
 * in: Secure Boot on, lockdown, TPM present, SELinux deny_ptrace, Yama 3,
 * AppArmor confinement, proc_mem.force_override, another architecture, and a
 * host where almost nothing is readable.  argv[1] is the fixture directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/assess/assess.h"
#include "tap.h"

static struct hp_ctx *ctx;
static const char *fixtures;

static struct hp_assess_host *host_of(const char *name)
{
	struct hp_assess_opts o = { .sz = sizeof(o) };
	struct hp_assess *a = NULL;
	struct hp_assess_host *h = NULL;
	char root[1024];

	snprintf(root, sizeof(root), "%s/%s", fixtures, name);
	o.root = root;
	if (hp_assess_new(ctx, &o, &a) < 0 || hp_assess_host(a, &h) < 0) {
		printf("# %s: %s\n", name, hp_ctx_errmsg(ctx));
		h = NULL;
	}
	hp_assess_free(a);
	return h;
}

static const struct hp_assess_check *find(const struct hp_assess_check *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* One check: its result, and a piece of its value (NULL: don't care). */
static void expect(const struct hp_assess_host *h, const char *fixture, const char *name, enum hp_check_result res,
		   const char *value_part)
{
	const struct hp_assess_check *c = find(h->checks, h->nchecks, name);

	if (!c)
		c = find(h->facts, h->nfacts, name);
	if (!tap_ok(c && c->result == res && (!value_part || strstr(c->value, value_part)), "%s: %s is %s%s%s",
		    fixture, name, hp_check_result_name(res), value_part ? " with value ~ " : "",
		    value_part ? value_part : "")) {
		if (c)
			printf("#   got %s, value '%s', reason '%s'\n", hp_check_result_name(c->result), c->value,
			       c->reason);
		else
			printf("#   no check named %s\n", name);
		return;
	}
	if (res != HP_CHECK_OK && !c->reason[0])
		tap_ok(0, "%s: %s says why", fixture, name);
}

static void test_debian(void)
{
	struct hp_assess_host *h = host_of("debian");

	if (!tap_ok(h != NULL, "debian: assessed"))
		return;
	tap_is_int(h->verdict, HP_VERDICT_ELIGIBLE, "debian: host eligible");
	expect(h, "debian", "arch", HP_CHECK_OK, "x86_64");
	expect(h, "debian", "kernel", HP_CHECK_OK, "6.1.0-18-amd64");
	expect(h, "debian", "cap_sys_ptrace", HP_CHECK_OK, "yes");
	expect(h, "debian", "ptrace_scope", HP_CHECK_OK, "1 (restricted)");
	expect(h, "debian", "selinux", HP_CHECK_OK, "disabled");
	expect(h, "debian", "apparmor", HP_CHECK_OK, "caller unconfined");
	expect(h, "debian", "lockdown", HP_CHECK_OK, "none");
	expect(h, "debian", "proc_mem_write", HP_CHECK_OK, "always");
	expect(h, "debian", "memfd_exec", HP_CHECK_OK, "vm.memfd_noexec=0");
	expect(h, "debian", "secure_boot", HP_CHECK_OK, "enabled");
	expect(h, "debian", "tpm", HP_CHECK_OK, "present (TPM 2.0)");
	expect(h, "debian", "virtualization", HP_CHECK_OK, "vmx");
	expect(h, "debian", "hypervisor", HP_CHECK_OK, "no");
	expect(h, "debian", "cpu_model", HP_CHECK_OK, "Intel(R) Xeon(R) Gold 6338");
	expect(h, "debian", "os_name", HP_CHECK_OK, "Debian GNU/Linux 12 (bookworm)");
	expect(h, "debian", "os_id", HP_CHECK_OK, "debian");
	expect(h, "debian", "os_version", HP_CHECK_OK, "12");
	hp_assess_host_free(h);
}

static void test_locked(void)
{
	struct hp_assess_host *h = host_of("locked");
	const struct hp_assess_check *c;

	if (!tap_ok(h != NULL, "locked: assessed"))
		return;
	tap_is_int(h->verdict, HP_VERDICT_NOT_ELIGIBLE, "locked: host not eligible");
	expect(h, "locked", "arch", HP_CHECK_NOT_OK, "aarch64");
	expect(h, "locked", "kernel", HP_CHECK_OK, "6.12.8");
	expect(h, "locked", "cap_sys_ptrace", HP_CHECK_NOT_OK, "no");
	expect(h, "locked", "ptrace_scope", HP_CHECK_NOT_OK, "3 (no attach)");
	expect(h, "locked", "selinux", HP_CHECK_NOT_OK, "enforcing, deny_ptrace=on, domain system_u:system_r:hotpatchd_t:s0");
	expect(h, "locked", "apparmor", HP_CHECK_UNKNOWN, "hotpatchd (enforce)");
	expect(h, "locked", "lockdown", HP_CHECK_OK, "confidentiality");
	expect(h, "locked", "proc_mem_write", HP_CHECK_NOT_OK, "never");
	expect(h, "locked", "memfd_exec", HP_CHECK_UNKNOWN, "vm.memfd_noexec=2");
	expect(h, "locked", "secure_boot", HP_CHECK_OK, "disabled");
	expect(h, "locked", "tpm", HP_CHECK_OK, "absent");
	expect(h, "locked", "virtualization", HP_CHECK_OK, "svm");
	expect(h, "locked", "hypervisor", HP_CHECK_OK, "yes");
	expect(h, "locked", "os_name", HP_CHECK_OK, "Fedora Linux 41 (Server \"Edition\")");
	expect(h, "locked", "os_version", HP_CHECK_OK, "41");
	c = find(h->checks, h->nchecks, "ptrace_scope");
	tap_ok(c && strstr(c->remedy, "reboot"), "locked: Yama 3 remedy says a reboot is needed");
	c = find(h->checks, h->nchecks, "selinux");
	tap_ok(c && strstr(c->remedy, "setsebool -P deny_ptrace off"), "locked: SELinux remedy is the setsebool");
	c = find(h->checks, h->nchecks, "lockdown");
	tap_ok(c && c->advisory, "locked: lockdown is advisory (no mode restricts ptrace)");
	hp_assess_host_free(h);
}

static void test_legacy(void)
{
	struct hp_assess_host *h = host_of("legacy");
	const struct hp_assess_check *c;

	if (!tap_ok(h != NULL, "legacy: assessed"))
		return;
	tap_is_int(h->verdict, HP_VERDICT_NOT_ELIGIBLE, "legacy: host not eligible (kernel)");
	expect(h, "legacy", "kernel", HP_CHECK_NOT_OK, "3.10.0");
	expect(h, "legacy", "ptrace_scope", HP_CHECK_OK, "none");
	expect(h, "legacy", "apparmor", HP_CHECK_OK, "disabled");
	expect(h, "legacy", "lockdown", HP_CHECK_UNKNOWN, NULL);
	expect(h, "legacy", "proc_mem_write", HP_CHECK_OK, "always");
	expect(h, "legacy", "memfd_exec", HP_CHECK_OK, "no vm.memfd_noexec");
	expect(h, "legacy", "secure_boot", HP_CHECK_UNKNOWN, NULL);
	expect(h, "legacy", "tpm", HP_CHECK_UNKNOWN, NULL);
	expect(h, "legacy", "virtualization", HP_CHECK_UNKNOWN, NULL);
	expect(h, "legacy", "cpu_model", HP_CHECK_UNKNOWN, NULL);
	expect(h, "legacy", "os_name", HP_CHECK_OK, "CentOS Linux 7 (Core)");
	expect(h, "legacy", "os_version", HP_CHECK_UNKNOWN, NULL);
	c = find(h->facts, h->nfacts, "secure_boot");
	tap_ok(c && strstr(c->reason, "efivarfs not mounted"), "legacy: UEFI without efivars is unknown, not guessed");
	hp_assess_host_free(h);
}

static void test_kconfig(void)
{
	struct hp_assess_host *h = host_of("kconfig");
	const struct hp_assess_check *c;

	if (!tap_ok(h != NULL, "kconfig: assessed"))
		return;
	tap_is_int(h->verdict, HP_VERDICT_ELIGIBLE, "kconfig: host eligible");
	expect(h, "kconfig", "proc_mem_write", HP_CHECK_OK, "ptrace");
	c = find(h->checks, h->nchecks, "proc_mem_write");
	tap_ok(c && strstr(c->reason, "CONFIG_PROC_MEM_FORCE_PTRACE=y in /boot/config-6.13.0"),
	       "kconfig: the reason names the option and file");
	expect(h, "kconfig", "ptrace_scope", HP_CHECK_OK, "2 (admin-only)");
	expect(h, "kconfig", "selinux", HP_CHECK_OK, "permissive, deny_ptrace=on");
	expect(h, "kconfig", "apparmor", HP_CHECK_OK, "complain");
	expect(h, "kconfig", "memfd_exec", HP_CHECK_OK, "vm.memfd_noexec=1");
	expect(h, "kconfig", "lockdown", HP_CHECK_OK, "none");
	expect(h, "kconfig", "secure_boot", HP_CHECK_OK, "enabled");
	expect(h, "kconfig", "tpm", HP_CHECK_OK, "present (TPM 1.2)");
	expect(h, "kconfig", "os_id", HP_CHECK_OK, "arch");
	expect(h, "kconfig", "os_version", HP_CHECK_UNKNOWN, NULL);
	expect(h, "kconfig", "os_name", HP_CHECK_UNKNOWN, NULL);
	hp_assess_host_free(h);

	h = host_of("kconfig-gz");
	if (!tap_ok(h != NULL, "kconfig-gz: assessed"))
		return;
	expect(h, "kconfig-gz", "proc_mem_write", HP_CHECK_NOT_OK, "never");
	c = find(h->checks, h->nchecks, "proc_mem_write");
	tap_ok(c && strstr(c->reason, "/proc/config.gz"), "kconfig-gz: read from /proc/config.gz");
	expect(h, "kconfig-gz", "secure_boot", HP_CHECK_OK, "unsupported");
	expect(h, "kconfig-gz", "ptrace_scope", HP_CHECK_OK, "none");
	hp_assess_host_free(h);
}

static void test_empty(void)
{
	struct hp_assess_host *h = host_of("empty");
	size_t i, unknown = 0;

	if (!tap_ok(h != NULL, "empty: assessed"))
		return;
	tap_is_int(h->verdict, HP_VERDICT_UNKNOWN, "empty: host unknown, not eligible by default");
	expect(h, "empty", "arch", HP_CHECK_UNKNOWN, NULL);
	expect(h, "empty", "kernel", HP_CHECK_UNKNOWN, NULL);
	expect(h, "empty", "cap_sys_ptrace", HP_CHECK_UNKNOWN, NULL);
	expect(h, "empty", "proc_mem_write", HP_CHECK_UNKNOWN, NULL);
	for (i = 0; i < h->nfacts; i++)
		unknown += h->facts[i].result == HP_CHECK_UNKNOWN;
	tap_is_int(unknown, h->nfacts, "empty: every inventory item unknown");
	hp_assess_host_free(h);
}

int main(int argc, char **argv)
{
	struct hp_assess_opts o = { .sz = sizeof(o), .root = "/nonexistent/assess-root" };
	struct hp_assess *a = NULL;

	if (argc < 2) {
		printf("1..0 # SKIP fixture directory not given\n");
		return 0;
	}
	fixtures = argv[1];
	hp_ctx_new(&ctx);
	test_debian();
	test_locked();
	test_legacy();
	test_kconfig();
	test_empty();
	tap_ok(hp_assess_new(ctx, &o, &a) == -ENOENT, "a missing root is an error");
	o.sz = 4;
	tap_ok(hp_assess_new(ctx, &o, &a) == -EINVAL, "a too small options struct is refused");
	hp_ctx_free(ctx);
	return tap_exit();
}
