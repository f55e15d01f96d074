/* SPDX-License-Identifier: MIT */
/*
 * Will a process's seccomp filters let the engine work?  The engine runs a
 * handful of syscalls inside one thread of the target (memfd_create,
 * ftruncate, mmap, close, munmap), so the filters that thread carries decide
 * them.  We read the filters with PTRACE_SECCOMP_GET_FILTER (root only; the
 * thread is stopped for the few microseconds this takes) and run them in a
 * small classic-BPF interpreter over the struct seccomp_data of each of
 * those syscalls, the way the kernel would.
 *
 * The interpreter accepts only what the kernel's seccomp loader accepts
 * (kernel/seccomp.c, seccomp_check_filter), so a program it cannot
 * evaluate is one the kernel would have refused too: such input is
 * reported, never guessed about.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/assess/assess.h"
#include "lib/process/proc.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* struct seccomp_data as the filters see it (x86-64, little-endian). */
#define SD_SIZE 64u
#define SD_OFF_NR 0u
#define SD_OFF_ARCH 4u
#define SD_OFF_IP 8u
#define SD_OFF_ARGS 16u

/* Why: the kernel's list of opcodes a seccomp filter may use; anything else it refuses. */
static bool opcode_allowed(uint16_t code)
{
	switch (code) {
	case BPF_LD | BPF_W | BPF_ABS:
	case BPF_LD | BPF_W | BPF_LEN:
	case BPF_LDX | BPF_W | BPF_LEN:
	case BPF_RET | BPF_K:
	case BPF_RET | BPF_A:
	case BPF_ALU | BPF_ADD | BPF_K:
	case BPF_ALU | BPF_ADD | BPF_X:
	case BPF_ALU | BPF_SUB | BPF_K:
	case BPF_ALU | BPF_SUB | BPF_X:
	case BPF_ALU | BPF_MUL | BPF_K:
	case BPF_ALU | BPF_MUL | BPF_X:
	case BPF_ALU | BPF_DIV | BPF_K:
	case BPF_ALU | BPF_DIV | BPF_X:
	case BPF_ALU | BPF_AND | BPF_K:
	case BPF_ALU | BPF_AND | BPF_X:
	case BPF_ALU | BPF_OR | BPF_K:
	case BPF_ALU | BPF_OR | BPF_X:
	case BPF_ALU | BPF_XOR | BPF_K:
	case BPF_ALU | BPF_XOR | BPF_X:
	case BPF_ALU | BPF_LSH | BPF_K:
	case BPF_ALU | BPF_LSH | BPF_X:
	case BPF_ALU | BPF_RSH | BPF_K:
	case BPF_ALU | BPF_RSH | BPF_X:
	case BPF_ALU | BPF_NEG:
	case BPF_LD | BPF_IMM:
	case BPF_LDX | BPF_IMM:
	case BPF_MISC | BPF_TAX:
	case BPF_MISC | BPF_TXA:
	case BPF_LD | BPF_MEM:
	case BPF_LDX | BPF_MEM:
	case BPF_ST:
	case BPF_STX:
	case BPF_JMP | BPF_JA:
	case BPF_JMP | BPF_JEQ | BPF_K:
	case BPF_JMP | BPF_JEQ | BPF_X:
	case BPF_JMP | BPF_JGE | BPF_K:
	case BPF_JMP | BPF_JGE | BPF_X:
	case BPF_JMP | BPF_JGT | BPF_K:
	case BPF_JMP | BPF_JGT | BPF_X:
	case BPF_JMP | BPF_JSET | BPF_K:
	case BPF_JMP | BPF_JSET | BPF_X:
		return true;
	default:
		return false;
	}
}

/* Why: only programs the kernel would load are evaluated; anything else is reported, not guessed at. */
int hp_bpf_validate(const struct sock_filter *prog, size_t n)
{
	size_t pc;

	if (!n || n > HP_BPF_MAX_INSNS)
		return -EINVAL;
	for (pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		size_t left = n - pc - 1;

		if (!opcode_allowed(f->code))
			return -EINVAL;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k >= SD_SIZE || (f->k & 3))
				return -EINVAL;
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return -EINVAL;
			break;
		case BPF_ALU | BPF_DIV | BPF_K:
			if (f->k == 0)
				return -EINVAL;
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_K:
			if (f->k >= 32)
				return -EINVAL;
			break;
		case BPF_JMP | BPF_JA:
			/* the target pc + 1 + k must be an instruction */
			if (f->k >= left)
				return -EINVAL;
			break;
		default:
			if (BPF_CLASS(f->code) == BPF_JMP && (f->jt >= left || f->jf >= left))
				return -EINVAL;
			break;
		}
	}
	if (BPF_CLASS(prog[n - 1].code) != BPF_RET)
		return -EINVAL;
	return 0;
}

/* Why: loads read 32-bit words of seccomp_data in the host's (little-endian) order. */
static uint32_t load_word(const uint8_t *data, uint32_t off)
{
	return (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 | (uint32_t)data[off + 2] << 16 |
	       (uint32_t)data[off + 3] << 24;
}

/* Why: the kernel's classic BPF semantics, one instruction at a time, forward jumps only. */
int hp_bpf_run(const struct sock_filter *prog, size_t n, const void *data, size_t data_len,
	       struct hp_bpf_run *ret)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	size_t pc = 0, steps = 0;
	struct hp_bpf_run r = { 0 };

	if (data_len != SD_SIZE || hp_bpf_validate(prog, n) < 0)
		return -EINVAL;
	while (pc < n && steps++ <= n) {
		const struct sock_filter *f = &prog[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? X : f->k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				A = load_word(data, f->k);
				if (f->k >= SD_OFF_ARGS)
					r.read_args = true;
				else if (f->k >= SD_OFF_IP)
					r.read_ip = true;
			} else if (f->code == (BPF_LD | BPF_W | BPF_LEN)) {
				A = SD_SIZE;
			} else if (f->code == (BPF_LD | BPF_IMM)) {
				A = f->k;
			} else {
				A = M[f->k];
			}
			break;
		case BPF_LDX:
			if (f->code == (BPF_LDX | BPF_W | BPF_LEN))
				X = SD_SIZE;
			else if (f->code == (BPF_LDX | BPF_IMM))
				X = f->k;
			else
				X = M[f->k];
			break;
		case BPF_ST:
			M[f->k] = A;
			break;
		case BPF_STX:
			M[f->k] = X;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_MUL: A *= src; break;
			case BPF_DIV:
				if (!src) {
					/* classic BPF: division by zero ends the program with 0 */
					r.ret = 0;
					*ret = r;
					return 0;
				}
				A /= src;
				break;
			case BPF_AND: A &= src; break;
			case BPF_OR: A |= src; break;
			case BPF_XOR: A ^= src; break;
			case BPF_LSH: A = src >= 32 ? 0 : A << src; break;
			case BPF_RSH: A = src >= 32 ? 0 : A >> src; break;
			case BPF_NEG: A = (uint32_t)-(int64_t)A; break;
			default: return -EINVAL;
			}
			break;
		case BPF_JMP:
			if (f->code == (BPF_JMP | BPF_JA)) {
				pc += f->k;
			} else {
				bool cond;

				switch (BPF_OP(f->code)) {
				case BPF_JEQ: cond = A == src; break;
				case BPF_JGT: cond = A > src; break;
				case BPF_JGE: cond = A >= src; break;
				case BPF_JSET: cond = (A & src) != 0; break;
				default: return -EINVAL;
				}
				pc += cond ? f->jt : f->jf;
			}
			break;
		case BPF_RET:
			r.ret = BPF_RVAL(f->code) == BPF_A ? A : f->k;
			*ret = r;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return -EINVAL;
		}
		pc++;
	}
	return -EINVAL;	/* unreachable for a validated program */
}

/* Why: the kernel compares actions as signed values; KILL_PROCESS (0x80000000) wins over all. */
int32_t hp_seccomp_action(uint32_t ret)
{
	return (int32_t)(ret & SECCOMP_RET_ACTION_FULL);
}

/* Why: reasons name the action a filter takes ("errno(1)", "kill-process"). */
const char *hp_seccomp_action_str(uint32_t ret, char *buf, size_t size)
{
	uint32_t data = ret & SECCOMP_RET_DATA;

	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: snprintf(buf, size, "kill-process"); break;
	case SECCOMP_RET_KILL_THREAD: snprintf(buf, size, "kill-thread"); break;
	case SECCOMP_RET_TRAP: snprintf(buf, size, "trap"); break;
	case SECCOMP_RET_ERRNO: snprintf(buf, size, "errno(%u)", data); break;
	case SECCOMP_RET_USER_NOTIF: snprintf(buf, size, "user-notif"); break;
	case SECCOMP_RET_TRACE: snprintf(buf, size, "trace"); break;
	case SECCOMP_RET_LOG: snprintf(buf, size, "log"); break;
	case SECCOMP_RET_ALLOW: snprintf(buf, size, "allow"); break;
	default: snprintf(buf, size, "unknown(0x%08x)", ret); break;
	}
	return buf;
}

/* Why: filters are read into separately allocated programs. */
void hp_seccomp_filters_release(struct hp_seccomp_filters *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->progs[i]);
	free(f->progs);
	free(f->lens);
	memset(f, 0, sizeof(*f));
}

/*
 * Why: a seized thread must be in a ptrace-stop before GET_FILTER works.
 * We wait for the first stop of any kind and remember a signal it was
 * about to receive, to hand it back on detach.  The wait is bounded by
 * polling first; a thread that does not stop in time (uninterruptible
 * sleep) is still waited for, because detaching needs the stop.
 */
static int wait_stop(pid_t tid, int *ret_sig)
{
	struct timespec ts = { 0, 200000 };
	int st, i;
	pid_t w;

	*ret_sig = 0;
	for (i = 0;; i++) {
		w = waitpid(tid, &st, __WALL | (i < 10000 ? WNOHANG : 0));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0) {
			nanosleep(&ts, NULL);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (WIFSTOPPED(st)) {
			if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
				*ret_sig = WSTOPSIG(st);	/* signal-delivery-stop: re-inject */
			return 0;
		}
	}
}

/* Why: only the kernel knows the filters; ptrace is the one interface that hands them out. */
int hp_seccomp_read_filters(struct hp_ctx *ctx, pid_t tid, struct hp_seccomp_filters *ret)
{
	struct hp_seccomp_filters f = { 0 };
	int sig = 0, r = 0;
	long idx;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		r = -errno;
		if (r == -EPERM && hp_proc_tracer(tid) > 0)
			r = -HP_E_TRACED;
		return hp_err(ctx, r, "seccomp: cannot seize thread %d: %s", tid, hp_strerror(r));
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		r = -errno;
		goto out_detach_running;
	}
	r = wait_stop(tid, &sig);
	if (r < 0)
		return hp_err(ctx, r, "seccomp: thread %d did not stop: %s", tid, hp_strerror(r));
	for (idx = 0; idx < 512; idx++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
		struct sock_filter *prog, **np;
		size_t *nl;

		if (n < 0) {
			if (errno == ENOENT)
				break;
			r = -errno;
			hp_err(ctx, r, "seccomp: cannot read filter %ld of thread %d: %s", idx, tid, hp_strerror(r));
			goto out_detach;
		}
		if (n == 0 || n > HP_BPF_MAX_INSNS) {
			r = hp_err(ctx, -EBADMSG, "seccomp: filter %ld of thread %d has %ld instructions", idx, tid, n);
			goto out_detach;
		}
		prog = calloc((size_t)n, sizeof(*prog));
		np = realloc(f.progs, (f.n + 1) * sizeof(*np));
		if (np)
			f.progs = np;
		nl = realloc(f.lens, (f.n + 1) * sizeof(*nl));
		if (nl)
			f.lens = nl;
		if (!prog || !np || !nl) {
			free(prog);
			r = -ENOMEM;
			goto out_detach;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, prog) != n) {
			r = errno ? -errno : -EIO;
			free(prog);
			hp_err(ctx, r, "seccomp: filter %ld of thread %d changed while read", idx, tid);
			goto out_detach;
		}
		f.progs[f.n] = prog;
		f.lens[f.n] = (size_t)n;
		f.n++;
	}
out_detach:
	if (ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		hp_seccomp_filters_release(&f);
		return r;
	}
	*ret = f;
	return 0;

out_detach_running:
	/* Not stopped: detaching needs a stop, so ask for one and wait for it. */
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) == 0 && wait_stop(tid, &sig) == 0)
		ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
	return hp_err(ctx, r, "seccomp: cannot interrupt thread %d: %s", tid, hp_strerror(r));
}

/* One syscall as the engine (or a W^X probe) makes it. */
struct probe {
	const char *label;
	long nr;
	uint64_t args[6];
};

/*
 * The syscalls the engine runs inside a thread of the target (op_map_image()
 * and op_unmap_regions() in src/lib/engine/inject.c): memfd_create with MFD_CLOEXEC,
 * one mmap per segment (read+exec code, read-only data, read+write data)
 * with MAP_PRIVATE | MAP_FIXED_NOREPLACE, close and munmap.  It needs every
 * one of them, so any refusal blocks it.  ftruncate and the writes run in
 * the patcher on its own descriptor of the memfd, outside the target's
 * filters.  (The map helper's tgkill is used only where no filter exists.)
 * Addresses and fds are typical values.
 */
static const struct probe engine_probes[] = {
	{ "memfd_create", SYS_memfd_create, { 0x7ffc0000, MFD_CLOEXEC, 0, 0, 0, 0 } },
	{ "mmap(PROT_READ|PROT_EXEC)", SYS_mmap,
	  { 0x7f0000000000, 0x10000, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 3, 0 } },
	{ "mmap(PROT_READ)", SYS_mmap,
	  { 0x7f0000010000, 0x10000, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 3, 0x10000 } },
	{ "mmap(PROT_READ|PROT_WRITE)", SYS_mmap,
	  { 0x7f0000020000, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 3, 0x20000 } },
	{ "close", SYS_close, { 3, 0, 0, 0, 0, 0 } },
	{ "munmap", SYS_munmap, { 0x7f0000000000, 0x30000, 0, 0, 0, 0 } },
};

/* What a W^X policy (systemd MemoryDenyWriteExecute=, PR_SET_MDWE) refuses. */
static const struct probe wx_probes[] = {
	{ "mmap(PROT_WRITE|PROT_EXEC)", SYS_mmap,
	  { 0, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 } },
	{ "mprotect(PROT_EXEC)", SYS_mprotect, { 0x7f0000000000, 0x1000, PROT_READ | PROT_EXEC, 0, 0, 0 } },
};

/* Why: struct seccomp_data is built byte by byte so that the layout is the kernel's, not the compiler's. */
static void make_data(uint8_t data[SD_SIZE], long nr, const uint64_t args[6])
{
	uint32_t arch = AUDIT_ARCH_X86_64;
	int i;

	memset(data, 0, SD_SIZE);
	memcpy(data + SD_OFF_NR, &(int32_t){ (int32_t)nr }, 4);
	memcpy(data + SD_OFF_ARCH, &arch, 4);
	for (i = 0; i < 6; i++)
		memcpy(data + SD_OFF_ARGS + 8 * i, &args[i], 8);
}

/* Why: with several filters the kernel takes the most restrictive action (lowest signed value). */
static int run_chain(const struct hp_seccomp_filters *f, long nr, const uint64_t args[6], uint32_t *ret,
		     bool *reads_args)
{
	uint8_t data[SD_SIZE];
	uint32_t best = SECCOMP_RET_ALLOW;
	size_t i;

	make_data(data, nr, args);
	for (i = 0; i < f->n; i++) {
		struct hp_bpf_run r;
		int e = hp_bpf_run(f->progs[i], f->lens[i], data, sizeof(data), &r);

		if (e < 0)
			return e;
		if (r.read_args || r.read_ip)
			*reads_args = true;
		if (hp_seccomp_action(r.ret) < hp_seccomp_action(best))
			best = r.ret;
	}
	*ret = best;
	return 0;
}

/* Why: LOG and ALLOW let the syscall run; every other action stops it or hands it elsewhere. */
static bool action_allows(uint32_t ret)
{
	uint32_t a = ret & SECCOMP_RET_ACTION_FULL;

	return a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_LOG;
}

/* Why: "name: action" items go into a fixed buffer, "; "-separated, cut at its end. */
static void append_item(char *buf, size_t size, const char *name, const char *what)
{
	size_t len = strlen(buf);

	if (len + 1 >= size)
		return;
	snprintf(buf + len, size - len, "%s%s: %s", len ? "; " : "", name, what);
}

/* Why: the engine needs every one of its syscalls; any refusal blocks it. */
int hp_seccomp_evaluate(const struct hp_seccomp_filters *f, struct hp_seccomp_verdict *ret)
{
	struct hp_seccomp_verdict v = { .engine = HP_CHECK_OK };
	bool blocked = false, unknown = false;
	char act[32];
	size_t i;

	for (i = 0; i < f->n; i++)
		if (hp_bpf_validate(f->progs[i], f->lens[i]) < 0)
			return -EBADMSG;
	for (i = 0; i < ARRAY_SIZE(engine_probes); i++) {
		const struct probe *p = &engine_probes[i];
		uint32_t ret_action;

		if (run_chain(f, p->nr, p->args, &ret_action, &v.reads_args) < 0)
			return -EBADMSG;
		if ((ret_action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF) {
			unknown = true;
			append_item(v.engine_detail, sizeof(v.engine_detail), p->label,
				    "decided by a user-space supervisor (user-notif)");
		} else if (!action_allows(ret_action)) {
			blocked = true;
			append_item(v.engine_detail, sizeof(v.engine_detail), p->label,
				    hp_seccomp_action_str(ret_action, act, sizeof(act)));
		}
	}
	v.engine = blocked ? HP_CHECK_NOT_OK : unknown ? HP_CHECK_UNKNOWN : HP_CHECK_OK;
	for (i = 0; i < ARRAY_SIZE(wx_probes); i++) {
		uint32_t ret_action;
		bool dummy = false;

		if (run_chain(f, wx_probes[i].nr, wx_probes[i].args, &ret_action, &dummy) < 0)
			return -EBADMSG;
		if (!action_allows(ret_action)) {
			v.wx_denied = true;
			append_item(v.wx_detail, sizeof(v.wx_detail), wx_probes[i].label,
				    hp_seccomp_action_str(ret_action, act, sizeof(act)));
		}
	}
	*ret = v;
	return 0;
}
