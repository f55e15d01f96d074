/* SPDX-License-Identifier: MIT */
/*
 * The classic-BPF interpreter that decides whether a process's seccomp
 * filters let the engine work: the programs are written the way libseccomp
 * and systemd write them, plus programs the kernel would refuse.
 */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "lib/assess/assess.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ARG_LO(i) (16 + 8 * (i))
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

static void data_for(uint8_t d[64], int32_t nr, uint32_t arch, const uint64_t args[6])
{
	memset(d, 0, 64);
	memcpy(d, &nr, 4);
	memcpy(d + 4, &arch, 4);
	if (args)
		memcpy(d + 16, args, 48);
}

static struct hp_seccomp_filters chain(struct sock_filter **progs, size_t *lens, size_t n)
{
	struct hp_seccomp_filters f = { progs, lens, n };

	return f;
}

/* An architecture check first, as every generated filter has. */
#define ARCH_CHECK                                                                   \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),                                       \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),                \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),                         \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)

static struct sock_filter allow_all[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };

static struct sock_filter deny_memfd[] = {
	ARCH_CHECK,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(1)),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* What systemd's MemoryDenyWriteExecute=yes installs, in substance. */
static struct sock_filter mdwe[] = {
	ARCH_CHECK,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(1)),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(1)),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* Refuses any writable mapping: the engine's data segment cannot be mapped. */
static struct sock_filter deny_mmap_write[] = {
	ARCH_CHECK,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 3),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_WRITE, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(13)),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static struct sock_filter notif_mmap[] = {
	ARCH_CHECK,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static struct sock_filter kill_munmap[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
};

/* An allow-list that forgot memfd_create (as SystemCallFilter=@system-service might). */
static struct sock_filter allow_list[] = {
	ARCH_CHECK,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 4, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_read, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(38)),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void test_validate(void)
{
	struct sock_filter jump_out[] = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0),
					  BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_filter ja_out[] = { BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_filter ld_past[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter ld_unaligned[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter ld_byte[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter no_ret[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0) };
	struct sock_filter div0[] = { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter mem16[] = { BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter shift32[] = { BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter mod[] = { BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), BPF_STMT(BPF_RET | BPF_A, 0) };

	tap_is_int(hp_bpf_validate(mdwe, N(mdwe)), 0, "validate: systemd-style W^X filter");
	tap_is_int(hp_bpf_validate(allow_list, N(allow_list)), 0, "validate: allow-list");
	tap_is_int(hp_bpf_validate(jump_out, N(jump_out)), -EINVAL, "validate: conditional jump past the end");
	tap_is_int(hp_bpf_validate(ja_out, N(ja_out)), -EINVAL, "validate: ja past the end");
	tap_is_int(hp_bpf_validate(ld_past, N(ld_past)), -EINVAL, "validate: load past seccomp_data");
	tap_is_int(hp_bpf_validate(ld_unaligned, N(ld_unaligned)), -EINVAL, "validate: unaligned load");
	tap_is_int(hp_bpf_validate(ld_byte, N(ld_byte)), -EINVAL, "validate: byte load (kernel refuses)");
	tap_is_int(hp_bpf_validate(no_ret, N(no_ret)), -EINVAL, "validate: no return at the end");
	tap_is_int(hp_bpf_validate(div0, N(div0)), -EINVAL, "validate: division by constant zero");
	tap_is_int(hp_bpf_validate(mem16, N(mem16)), -EINVAL, "validate: scratch word 16");
	tap_is_int(hp_bpf_validate(shift32, N(shift32)), -EINVAL, "validate: shift by 32");
	tap_is_int(hp_bpf_validate(mod, N(mod)), -EINVAL, "validate: BPF_MOD (not in seccomp's list)");
	tap_is_int(hp_bpf_validate(allow_all, 0), -EINVAL, "validate: empty program");
}

static void test_run(void)
{
	/* A = (nr * 3 + 1) via the scratch memory and X; JSET; RET A. */
	struct sock_filter alu[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_ST, 3),
		BPF_STMT(BPF_LDX | BPF_IMM, 3),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_MEM, 3),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x8, 0, 1),
		BPF_STMT(BPF_MISC | BPF_TXA, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter divx[] = { BPF_STMT(BPF_LDX | BPF_IMM, 0), BPF_STMT(BPF_LD | BPF_IMM, 7),
				      BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
				      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter len[] = { BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_RET | BPF_A, 0) };
	const uint64_t args[6] = { 0, 0, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0 };
	struct hp_bpf_run r;
	uint8_t d[64];

	data_for(d, 8, AUDIT_ARCH_X86_64, NULL);
	tap_is_int(hp_bpf_run(alu, N(alu), d, 64, &r), 0, "run: ALU program");
	tap_is_int(r.ret, 25, "run: nr 8 -> 8*3+1 = 25 (JSET taken, X returned)");
	data_for(d, 4, AUDIT_ARCH_X86_64, NULL);
	tap_is_int(hp_bpf_run(alu, N(alu), d, 64, &r), 0, "run: ALU program again");
	tap_is_int(r.ret, 4, "run: nr 4 -> JSET not taken, A (nr) returned");
	tap_is_int(hp_bpf_run(divx, N(divx), d, 64, &r), 0, "run: division by X = 0");
	tap_is_int(r.ret, 0, "run: ends the program with 0 (kill), as classic BPF does");
	tap_is_int(hp_bpf_run(len, N(len), d, 64, &r), 0, "run: BPF_LEN");
	tap_is_int(r.ret, 64, "run: length of seccomp_data");
	data_for(d, SYS_mmap, AUDIT_ARCH_X86_64, args);
	tap_is_int(hp_bpf_run(mdwe, N(mdwe), d, 64, &r), 0, "run: W^X filter, W+X mmap");
	tap_is_int(r.ret, RET_ERRNO(1), "run: refused with EPERM");
	tap_ok(r.read_args, "run: the filter looked at arguments");
	data_for(d, SYS_mmap, AUDIT_ARCH_I386, args);
	tap_is_int(hp_bpf_run(mdwe, N(mdwe), d, 64, &r), 0, "run: other architecture");
	tap_is_int(r.ret, SECCOMP_RET_KILL_PROCESS, "run: killed by the arch check");
	tap_is_int(hp_bpf_run(mdwe, N(mdwe), d, 63, &r), -EINVAL, "run: data of the wrong size refused");
}

static void test_evaluate(void)
{
	struct sock_filter *p[2];
	size_t l[2];
	struct hp_seccomp_filters f;
	struct hp_seccomp_verdict v;

	p[0] = allow_all, l[0] = N(allow_all);
	f = chain(p, l, 1);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: allow all");
	tap_ok(v.engine == HP_CHECK_OK && !v.wx_denied, "evaluate: engine ok, no W^X");

	p[0] = mdwe, l[0] = N(mdwe);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: systemd W^X filter");
	tap_ok(v.engine == HP_CHECK_OK, "evaluate: the engine's syscalls pass a W^X filter");
	tap_ok(v.wx_denied, "evaluate: W^X seen");
	tap_ok(strstr(v.wx_detail, "mmap(PROT_WRITE|PROT_EXEC): errno(1)") &&
		       strstr(v.wx_detail, "mprotect(PROT_EXEC): errno(1)"),
	       "evaluate: W^X detail names both refusals (%s)", v.wx_detail);

	p[0] = deny_memfd, l[0] = N(deny_memfd);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: memfd_create refused");
	tap_ok(v.engine == HP_CHECK_NOT_OK, "evaluate: blocks the engine");
	tap_is_str(v.engine_detail, "memfd_create: errno(1)", "evaluate: names the syscall and action");

	p[0] = deny_mmap_write, l[0] = N(deny_mmap_write);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: writable mmap refused");
	tap_ok(v.engine == HP_CHECK_NOT_OK, "evaluate: the data segment cannot be mapped, so it blocks");
	tap_is_str(v.engine_detail, "mmap(PROT_READ|PROT_WRITE): errno(13)", "evaluate: names the variant");

	p[0] = notif_mmap, l[0] = N(notif_mmap);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: user-notif");
	tap_ok(v.engine == HP_CHECK_UNKNOWN, "evaluate: a supervisor decides: unknown");

	p[0] = allow_list, l[0] = N(allow_list);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: allow-list without memfd_create");
	tap_ok(v.engine == HP_CHECK_NOT_OK && !strcmp(v.engine_detail, "memfd_create: errno(38)"),
	       "evaluate: memfd_create falls to the default (%s)", v.engine_detail);

	/* Two filters: the newest allows everything, the older kills munmap; the strictest wins. */
	p[0] = allow_all, l[0] = N(allow_all);
	p[1] = kill_munmap, l[1] = N(kill_munmap);
	f = chain(p, l, 2);
	tap_is_int(hp_seccomp_evaluate(&f, &v), 0, "evaluate: two filters");
	tap_ok(v.engine == HP_CHECK_NOT_OK && !strcmp(v.engine_detail, "munmap: kill-process"),
	       "evaluate: the most restrictive action wins (%s)", v.engine_detail);

	{
		struct sock_filter bad[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_A, 0) };

		p[0] = bad, l[0] = N(bad);
		f = chain(p, l, 1);
		tap_is_int(hp_seccomp_evaluate(&f, &v), -EBADMSG, "evaluate: a program the kernel would refuse");
	}
}

static void test_actions(void)
{
	char b[32];

	tap_is_str(hp_seccomp_action_str(SECCOMP_RET_ALLOW, b, sizeof(b)), "allow", "action: allow");
	tap_is_str(hp_seccomp_action_str(RET_ERRNO(38), b, sizeof(b)), "errno(38)", "action: errno");
	tap_is_str(hp_seccomp_action_str(SECCOMP_RET_KILL_THREAD, b, sizeof(b)), "kill-thread", "action: kill-thread");
	tap_is_str(hp_seccomp_action_str(0x12340000, b, sizeof(b)), "unknown(0x12340000)", "action: unknown");
	tap_ok(hp_seccomp_action(SECCOMP_RET_KILL_PROCESS) < hp_seccomp_action(SECCOMP_RET_KILL_THREAD) &&
		       hp_seccomp_action(SECCOMP_RET_ERRNO) < hp_seccomp_action(SECCOMP_RET_USER_NOTIF) &&
		       hp_seccomp_action(SECCOMP_RET_LOG) < hp_seccomp_action(SECCOMP_RET_ALLOW),
	       "action: kernel precedence order");
}

int main(void)
{
	test_validate();
	test_run();
	test_evaluate();
	test_actions();
	return tap_exit();
}
