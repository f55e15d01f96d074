/* SPDX-License-Identifier: MIT */
/* The assessment's parsers of /proc, /sys, cgroup and os-release text, fed good and malformed input. */
#include <errno.h>
#include <string.h>

#include "lib/assess/assess.h"
#include "tap.h"

static void test_kernel_release(void)
{
	unsigned a, b, c;

	tap_is_int(hp_parse_kernel_release("6.1.0-18-amd64", &a, &b, &c), 0, "release: Debian");
	tap_ok(a == 6 && b == 1 && c == 0, "release: 6.1.0");
	tap_is_int(hp_parse_kernel_release("5.14.0-362.el9.x86_64", &a, &b, &c), 0, "release: RHEL");
	tap_ok(a == 5 && b == 14 && c == 0, "release: 5.14.0");
	tap_is_int(hp_parse_kernel_release("6.18.44-fc-v657", &a, &b, &c), 0, "release: suffix after patch");
	tap_ok(a == 6 && b == 18 && c == 44, "release: 6.18.44");
	tap_is_int(hp_parse_kernel_release("4", &a, &b, &c), 0, "release: major only");
	tap_ok(a == 4 && b == 0 && c == 0, "release: 4.0.0");
	tap_is_int(hp_parse_kernel_release("", &a, &b, &c), -EINVAL, "release: empty refused");
	tap_is_int(hp_parse_kernel_release("v6.1", &a, &b, &c), -EINVAL, "release: leading letter refused");
	tap_is_int(hp_parse_kernel_release("99999999999999999999.1", &a, &b, &c), -EINVAL, "release: overflow refused");
}

static void test_os_release(void)
{
	static const char osr[] = "# comment\n"
				  "NAME=\"Debian GNU/Linux\"\n"
				  "VERSION_ID=\"12\"\n"
				  "ID=debian\n"
				  "  PRETTY_NAME='Debian \"quoted\" 12'\n"
				  "ESC=\"a\\\"b\\\\c\\$d\"\n"
				  "CTRL=\"x\x01y\"\n"
				  "BAD=\"unterminated\n"
				  "ID_LIKE=\n";
	char out[64];

	tap_is_int(hp_parse_os_release(osr, "NAME", out, sizeof(out)), 0, "os-release: NAME");
	tap_is_str(out, "Debian GNU/Linux", "os-release: double quotes removed");
	tap_is_int(hp_parse_os_release(osr, "ID", out, sizeof(out)), 0, "os-release: ID (not ID_LIKE)");
	tap_is_str(out, "debian", "os-release: unquoted value");
	tap_is_int(hp_parse_os_release(osr, "PRETTY_NAME", out, sizeof(out)), 0, "os-release: indented key");
	tap_is_str(out, "Debian \"quoted\" 12", "os-release: single quotes keep double quotes");
	tap_is_int(hp_parse_os_release(osr, "ESC", out, sizeof(out)), 0, "os-release: escapes");
	tap_is_str(out, "a\"b\\c$d", "os-release: \\\" \\\\ \\$ unescaped");
	tap_is_int(hp_parse_os_release(osr, "CTRL", out, sizeof(out)), 0, "os-release: control character");
	tap_is_str(out, "xy", "os-release: control characters dropped");
	tap_is_int(hp_parse_os_release(osr, "BAD", out, sizeof(out)), -EBADMSG, "os-release: unterminated quote refused");
	tap_is_int(hp_parse_os_release(osr, "VERSION", out, sizeof(out)), -ENOENT, "os-release: prefix of a key is not the key");
	tap_is_int(hp_parse_os_release(osr, "ID_LIKE", out, sizeof(out)), 0, "os-release: empty value");
	tap_is_str(out, "", "os-release: empty string");
	tap_is_int(hp_parse_os_release(osr, "NAME", out, 6), 0, "os-release: small buffer");
	tap_is_str(out, "Debia", "os-release: cut, terminated");
	tap_is_int(hp_parse_os_release("", "ID", out, sizeof(out)), -ENOENT, "os-release: empty file");
}

static void test_lockdown(void)
{
	char out[32];

	tap_is_int(hp_parse_lockdown("none [integrity] confidentiality\n", out, sizeof(out)), 0, "lockdown: integrity");
	tap_is_str(out, "integrity", "lockdown: the bracketed mode");
	tap_is_int(hp_parse_lockdown("[none] integrity confidentiality\n", out, sizeof(out)), 0, "lockdown: none");
	tap_is_str(out, "none", "lockdown: none selected");
	tap_is_int(hp_parse_lockdown("none integrity confidentiality\n", out, sizeof(out)), -EBADMSG, "lockdown: no bracket");
	tap_is_int(hp_parse_lockdown("[none integrity", out, sizeof(out)), -EBADMSG, "lockdown: unclosed bracket");
	tap_is_int(hp_parse_lockdown("[] none", out, sizeof(out)), -EBADMSG, "lockdown: empty bracket");
	tap_is_int(hp_parse_lockdown("[No\nne]", out, sizeof(out)), -EBADMSG, "lockdown: junk inside");
}

static void test_status(void)
{
	static const char st[] = "Name:\tsleep\n"
				 "State:\tS (sleeping)\n"
				 "TracerPid:\t4242\n"
				 "CapEff:\t000001ffffffffff\n"
				 "CapPrm:\t0000000000080000\n"
				 "Seccomp:\t2\n"
				 "Seccomp_filters:\t3\n"
				 "NotCapEff:\tzz\n"
				 "Bad:\t12x\n"
				 "Long:\t00000000000000000001\n";
	char out[64];
	uint64_t caps;
	unsigned long long v;

	tap_is_int(hp_parse_status_field(st, "State", out, sizeof(out)), 0, "status: State");
	tap_is_str(out, "S (sleeping)", "status: value trimmed");
	tap_is_int(hp_parse_status_uint(st, "TracerPid", INT32_MAX, &v), 0, "status: TracerPid");
	tap_is_int(v, 4242, "status: TracerPid value");
	tap_is_int(hp_parse_status_uint(st, "Seccomp", 2, &v), 0, "status: Seccomp");
	tap_is_int(v, 2, "status: Seccomp value (not Seccomp_filters)");
	tap_is_int(hp_parse_status_caps(st, "CapEff", &caps), 0, "status: CapEff");
	tap_ok(caps == 0x1ffffffffffull, "status: CapEff value");
	tap_is_int(hp_parse_status_caps(st, "CapPrm", &caps), 0, "status: CapPrm");
	tap_ok(caps == 1ull << 19, "status: only CAP_SYS_PTRACE");
	tap_is_int(hp_parse_status_caps(st, "NotCapEff", &caps), -EBADMSG, "status: non-hex mask refused");
	tap_is_int(hp_parse_status_caps(st, "Long", &caps), -EBADMSG, "status: 20-digit mask refused");
	tap_is_int(hp_parse_status_uint(st, "Bad", 100, &v), -EBADMSG, "status: trailing junk refused");
	tap_is_int(hp_parse_status_uint(st, "TracerPid", 100, &v), -EBADMSG, "status: over the maximum refused");
	tap_is_int(hp_parse_status_field(st, "Missing", out, sizeof(out)), -ENOENT, "status: absent key");
	tap_is_int(hp_parse_status_field("XState:\tR\n", "State", out, sizeof(out)), -ENOENT,
		   "status: key must start a line");
	tap_is_int(hp_parse_status_field("State:", "State", out, sizeof(out)), 0, "status: key at end of file");
	tap_is_str(out, "", "status: empty value");
}

static void test_stat(void)
{
	char state;
	unsigned long flags;

	tap_is_int(hp_parse_stat("42 (a b) c)) S 1 42 42 0 -1 4194560 100 0", &state, &flags), 0,
		   "stat: comm with spaces and parentheses");
	tap_ok(state == 'S' && flags == 4194560, "stat: state and flags after the last ')'");
	tap_is_int(hp_parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0", &state, &flags), 0, "stat: kernel thread");
	tap_ok(flags & 0x00200000, "stat: PF_KTHREAD");
	tap_is_int(hp_parse_stat("42 (x) S 1 2", &state, &flags), -EBADMSG, "stat: truncated refused");
	tap_is_int(hp_parse_stat("42 x S 1 2 3 4 5 6", &state, &flags), -EBADMSG, "stat: no parenthesis refused");
	tap_is_int(hp_parse_stat("42 (x) S 1 2 3 4 5 z", &state, &flags), -EBADMSG, "stat: junk flags refused");
}

static void test_cpuinfo(void)
{
	static const char intel[] = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU\n"
				    "flags\t\t: fpu vme vmx hypervisor sse\n\nprocessor\t: 1\nmodel name\t: Other\n"
				    "flags\t\t: svm\n";
	static const char amd[] = "model name\t: AMD EPYC\nflags\t\t: fpu svm sse4a\n";
	static const char tricky[] = "model name\t: X\x01Y\nflags\t\t: vmxnot svmx nohypervisor\n";
	char model[64];
	unsigned f;

	tap_is_int(hp_parse_cpuinfo(intel, model, sizeof(model), &f), 0, "cpuinfo: Intel");
	tap_is_str(model, "Intel(R) Xeon(R) CPU", "cpuinfo: model of the first processor");
	tap_ok(f == (HP_CPU_HAVE_FLAGS | HP_CPU_VMX | HP_CPU_HYPERVISOR), "cpuinfo: vmx and hypervisor, not cpu 1's svm");
	tap_is_int(hp_parse_cpuinfo(amd, model, sizeof(model), &f), 0, "cpuinfo: AMD");
	tap_ok(f == (HP_CPU_HAVE_FLAGS | HP_CPU_SVM), "cpuinfo: svm only");
	tap_is_int(hp_parse_cpuinfo(tricky, model, sizeof(model), &f), 0, "cpuinfo: words that contain flag names");
	tap_ok(f == HP_CPU_HAVE_FLAGS, "cpuinfo: whole words only");
	tap_is_str(model, "XY", "cpuinfo: control characters dropped");
	tap_is_int(hp_parse_cpuinfo("junk without colons\n", model, sizeof(model), &f), -ENOENT, "cpuinfo: junk");
}

static void test_cmdline(void)
{
	char out[32];

	tap_is_int(hp_parse_cmdline_param("quiet proc_mem.force_override=never ro\n", "proc_mem.force_override", out,
					  sizeof(out)),
		   0, "cmdline: found");
	tap_is_str(out, "never", "cmdline: value");
	tap_is_int(hp_parse_cmdline_param("proc_mem.force_override=always proc_mem.force_override=ptrace",
					  "proc_mem.force_override", out, sizeof(out)),
		   0, "cmdline: repeated");
	tap_is_str(out, "ptrace", "cmdline: the last one wins");
	tap_is_int(hp_parse_cmdline_param("x -- proc_mem.force_override=never", "proc_mem.force_override", out,
					  sizeof(out)),
		   -ENOENT, "cmdline: after -- belongs to init");
	tap_is_int(hp_parse_cmdline_param("proc_mem.force_override_x=1", "proc_mem.force_override", out, sizeof(out)),
		   -ENOENT, "cmdline: longer key is another key");
	tap_is_int(hp_parse_cmdline_param("a=\"b c\" k=\"v w\"", "k", out, sizeof(out)), 0, "cmdline: quoted");
	tap_is_str(out, "v w", "cmdline: quotes removed, space kept");
	tap_is_int(hp_parse_cmdline_param("nosmt k", "k", out, sizeof(out)), 0, "cmdline: bare key");
	tap_is_str(out, "", "cmdline: bare key has an empty value");
}

static void test_kconfig(void)
{
	static const char cfg[] = "CONFIG_A=y\n# CONFIG_PROC_MEM_NO_FORCE is not set\nCONFIG_PROC_MEM_FORCE_PTRACE=y\n"
				  "CONFIG_S=\"str\"\n# CONFIG_B is not set but junk\n";
	char out[16];

	tap_is_int(hp_parse_kconfig(cfg, "CONFIG_PROC_MEM_FORCE_PTRACE", out, sizeof(out)), 0, "kconfig: set");
	tap_is_str(out, "y", "kconfig: y");
	tap_is_int(hp_parse_kconfig(cfg, "CONFIG_PROC_MEM_NO_FORCE", out, sizeof(out)), 0, "kconfig: not set");
	tap_is_str(out, "n", "kconfig: n");
	tap_is_int(hp_parse_kconfig(cfg, "CONFIG_B", out, sizeof(out)), -ENOENT, "kconfig: malformed 'not set' line");
	tap_is_int(hp_parse_kconfig(cfg, "CONFIG_PROC_MEM", out, sizeof(out)), -ENOENT, "kconfig: prefix is no match");
	tap_is_int(hp_parse_kconfig(cfg, "CONFIG_S", out, sizeof(out)), 0, "kconfig: string");
	tap_is_str(out, "\"str\"", "kconfig: raw value");
}

static void test_efivar_selinux(void)
{
	static const uint8_t on[] = { 6, 0, 0, 0, 1 }, off[] = { 6, 0, 0, 0, 0 }, bad[] = { 6, 0, 0, 0, 7 };
	bool b;

	tap_is_int(hp_parse_efivar_bool(on, 5, &b), 0, "efivar: enabled");
	tap_ok(b, "efivar: true");
	tap_is_int(hp_parse_efivar_bool(off, 5, &b), 0, "efivar: disabled");
	tap_ok(!b, "efivar: false");
	tap_is_int(hp_parse_efivar_bool(bad, 5, &b), -EBADMSG, "efivar: value 7 refused");
	tap_is_int(hp_parse_efivar_bool(on, 4, &b), -EBADMSG, "efivar: short refused");
	tap_is_int(hp_parse_selinux_bool("1 1\n", &b), 0, "selinux bool: on");
	tap_ok(b, "selinux bool: current on");
	tap_is_int(hp_parse_selinux_bool("0 1", &b), 0, "selinux bool: off, pending on");
	tap_ok(!b, "selinux bool: current off");
	tap_is_int(hp_parse_selinux_bool("1", &b), -EBADMSG, "selinux bool: short refused");
	tap_is_int(hp_parse_selinux_bool("2 1", &b), -EBADMSG, "selinux bool: 2 refused");
	tap_is_int(hp_parse_selinux_bool("1 1 junk", &b), -EBADMSG, "selinux bool: junk refused");
}

static void test_cgroup(void)
{
	char out[64];

	tap_is_int(hp_parse_cgroup_unit("0::/system.slice/nginx.service\n", out, sizeof(out)), 0, "cgroup: v2 service");
	tap_is_str(out, "nginx.service", "cgroup: nginx.service");
	tap_is_int(hp_parse_cgroup_unit("0::/system.slice/postgresql@15-main.service/payload\n", out, sizeof(out)), 0,
		   "cgroup: sub-cgroup of a service");
	tap_is_str(out, "postgresql@15-main.service", "cgroup: the owning unit");
	tap_is_int(hp_parse_cgroup_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n",
					out, sizeof(out)),
		   0, "cgroup: user service");
	tap_is_str(out, "foo.service", "cgroup: the deepest unit");
	tap_is_int(hp_parse_cgroup_unit("0::/user.slice/user-1000.slice/session-3.scope\n", out, sizeof(out)), 0,
		   "cgroup: session scope");
	tap_is_str(out, "session-3.scope", "cgroup: scope");
	tap_is_int(hp_parse_cgroup_unit("12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/b.service\n"
					"0::/system.slice/c.service\n",
					out, sizeof(out)),
		   0, "cgroup: hybrid");
	tap_is_str(out, "b.service", "cgroup: name=systemd hierarchy preferred");
	tap_is_int(hp_parse_cgroup_unit("0::/\n", out, sizeof(out)), -ENOENT, "cgroup: root, no unit");
	tap_is_int(hp_parse_cgroup_unit("0::/system.slice\n", out, sizeof(out)), -ENOENT, "cgroup: a slice owns nothing");
	tap_is_int(hp_parse_cgroup_unit("garbage\n::\n0:\n", out, sizeof(out)), -ENOENT, "cgroup: garbage");
	tap_is_int(hp_parse_cgroup_unit("0::/a/.service\n", out, sizeof(out)), -ENOENT, "cgroup: bare suffix is no unit");
	tap_is_int(hp_parse_cgroup_unit("0::/x\x01y.service\n", out, sizeof(out)), -ENOENT,
		   "cgroup: control characters refused");
	tap_is_int(hp_parse_cgroup_unit("0::/system.slice/averyveryverylongname.service\n", out, 8), 0,
		   "cgroup: small buffer");
	tap_is_str(out, "averyve", "cgroup: cut, terminated");
}

int main(void)
{
	test_kernel_release();
	test_os_release();
	test_lockdown();
	test_status();
	test_stat();
	test_cpuinfo();
	test_cmdline();
	test_kconfig();
	test_efivar_selinux();
	test_cgroup();
	return tap_exit();
}
