/* SPDX-License-Identifier: MIT */
/*
 * Return-address landing pads (pads.h): the mapping, its pads, and moving
 * a thread that stands in a pad on to where the pad would take it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "lib/core/elf.h"
#include "lib/process/pads.h"
#include "lib/process/stack.h"

_Static_assert(sizeof(struct hp_pad_slot) == 32, "pad slot layout");
_Static_assert(HP_PADS_DATA_OFF + HP_PADS_N * sizeof(struct hp_pad_slot) <= HP_PADS_PAGE, "pads data page");
_Static_assert(HP_PADS_N * HP_PAD_STRIDE <= HP_PADS_PAGE, "pads code page");

static uint64_t slot_addr(uint64_t base, unsigned k)
{
	return base + HP_PADS_PAGE + HP_PADS_DATA_OFF + (uint64_t)k * sizeof(struct hp_pad_slot);
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

/* Why: the pad is hand-encoded (pads.h has its assembly); tests/unit/test-pads.c runs it. */
void hp_pad_encode(uint8_t *out, uint64_t base, unsigned k)
{
	static const uint8_t body[] = {
		0xf0, 0x48, 0xff, 0x05, 0, 0, 0, 0,	/* +0  lock incq hits(%rip) */
		0x48, 0x89, 0x44, 0x24, 0xf8,		/* +8  mov %rax,-8(%rsp) */
		0x48, 0x89, 0x4c, 0x24, 0xf0,		/* +13 mov %rcx,-16(%rsp) */
		0x4c, 0x89, 0x5c, 0x24, 0xe8,		/* +18 mov %r11,-24(%rsp) */
		0xb8, SYS_getpid, 0, 0, 0,		/* +23 mov $SYS_getpid,%eax */
		0x0f, 0x05,				/* +28 syscall */
		0x48, 0x8b, 0x44, 0x24, 0xf8,		/* +30 mov -8(%rsp),%rax */
		0x48, 0x8b, 0x4c, 0x24, 0xf0,		/* +35 mov -16(%rsp),%rcx */
		0x4c, 0x8b, 0x5c, 0x24, 0xe8,		/* +40 mov -24(%rsp),%r11 */
		0xff, 0x25, 0, 0, 0, 0,			/* +45 jmp *orig(%rip) */
	};
	uint64_t pad = base + (uint64_t)k * HP_PAD_STRIDE, data = slot_addr(base, k);

	_Static_assert(sizeof(body) == HP_PAD_CODE_LEN, "pad length");
	memset(out, 0x90, HP_PAD_STRIDE);
	memcpy(out, body, HP_PAD_CODE_LEN);
	/* the lock prefix is byte 0; the rel32 of incq is at +4 and counts from +8 */
	put32(out + 4, (int32_t)(data + offsetof(struct hp_pad_slot, hits) - (pad + 8)));
	put32(out + 47, (int32_t)(data + offsetof(struct hp_pad_slot, orig) - (pad + 51)));
}

int hp_pads_refresh(int memfd, struct hp_pads *p)
{
	uint8_t hdr[16];
	int r;

	if (!p->base)
		return -ENOENT;
	r = hp_mem_read(memfd, p->base + HP_PADS_PAGE, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	if (memcmp(hdr, HP_PADS_MAGIC, 8))
		return -EBADMSG;
	return hp_mem_read(memfd, slot_addr(p->base, 0), p->slot, sizeof(p->slot));
}

/*
 * Why: a mapping of that name is ours only with the magic and the exact
 * code of every pad; a process could create one to steer our unwinding.
 */
int hp_pads_find(int memfd, const struct hp_maps *maps, struct hp_pads *p)
{
	static const char name[] = "/memfd:" HP_PADS_NAME;
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < maps->n; i++) {
		const struct hp_map *m = &maps->v[i];
		uint8_t code[HP_PAD_STRIDE], want[HP_PAD_STRIDE];
		struct hp_pads cand = { .base = m->start };
		unsigned k;

		if (strcmp(m->path, name) || m->end - m->start != HP_PADS_PAGE || strcmp(m->perms, "r-xs"))
			continue;
		if (hp_pads_refresh(memfd, &cand) < 0)
			continue;
		for (k = 0; k < HP_PADS_N; k++) {
			hp_pad_encode(want, cand.base, k);
			if (hp_mem_read(memfd, hp_pad_addr(&cand, k), code, sizeof(code)) < 0 ||
			    memcmp(code, want, sizeof(code)))
				break;
		}
		if (k < HP_PADS_N)
			continue;
		*p = cand;
		return 1;
	}
	return 0;
}

int hp_pads_create(struct hp_ctx *ctx, struct hp_inject *inj, int memfd, struct hp_pads *p)
{
	static const char name[] = HP_PADS_NAME;
	uint8_t code[HP_PADS_PAGE];
	uint64_t name_addr, base = 0;
	long fd = -1, ret, dummy;
	unsigned k;
	int r;

	r = hp_inject_push(ctx, inj, memfd, name, sizeof(name), &name_addr);
	if (r < 0)
		return r;
	{
		const long a[6] = { (long)name_addr, MFD_CLOEXEC, 0, 0, 0, 0 };

		r = hp_inject_syscall(ctx, inj, SYS_memfd_create, a, &fd);
	}
	if (r < 0)
		return r;
	if (fd < 0)
		return hp_err(ctx, (int)fd, "pid %d: memfd_create for the landing pads failed: %s", inj->pid,
			      strerror((int)-fd));
	{
		const long a[6] = { fd, HP_PADS_SIZE, 0, 0, 0, 0 };

		r = hp_inject_syscall(ctx, inj, SYS_ftruncate, a, &ret);
		if (r == 0 && ret < 0)
			r = hp_err(ctx, (int)ret, "pid %d: cannot size the landing pads: %s", inj->pid,
				   strerror((int)-ret));
	}
	if (r == 0) {
		const long a[6] = { 0, HP_PADS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0 };

		r = hp_inject_syscall(ctx, inj, SYS_mmap, a, &ret);
		if (r == 0 && (ret < 0 && ret > -4096))
			r = hp_err(ctx, (int)ret, "pid %d: cannot map the landing pads: %s", inj->pid,
				   strerror((int)-ret));
		else if (r == 0)
			base = (uint64_t)ret;
	}
	if (r == 0) {
		memset(code, 0x90, sizeof(code));
		for (k = 0; k < HP_PADS_N; k++)
			hp_pad_encode(code + k * HP_PAD_STRIDE, base, k);
		r = hp_mem_write(memfd, base, code, sizeof(code));
		if (r == 0) {
			const long a[6] = { (long)base, HP_PADS_PAGE, PROT_READ | PROT_EXEC, 0, 0, 0 };

			r = hp_inject_syscall(ctx, inj, SYS_mprotect, a, &ret);
			if (r == 0 && ret < 0)
				r = -(int)-ret;
		}
		if (r == 0)
			r = hp_mem_write(memfd, base + HP_PADS_PAGE, HP_PADS_MAGIC, 8);
		if (r < 0) {
			const long a[6] = { (long)base, HP_PADS_SIZE, 0, 0, 0, 0 };

			hp_inject_syscall(ctx, inj, SYS_munmap, a, &dummy);
			hp_err(ctx, r, "pid %d: cannot set up the landing pads: %s", inj->pid, strerror(-r));
		}
	}
	{
		const long a[6] = { fd, 0, 0, 0, 0, 0 };

		hp_inject_syscall(ctx, inj, SYS_close, a, &dummy);
	}
	if (r < 0)
		return r;
	memset(p, 0, sizeof(*p));
	p->base = base;
	return 0;
}

uint64_t hp_pads_translate(const struct hp_pads *p, uint64_t v)
{
	uint64_t off;

	if (!hp_pads_contains(p, v))
		return v;
	off = v - p->base;
	if (off % HP_PAD_STRIDE || p->slot[off / HP_PAD_STRIDE].state != HP_PAD_ARMED)
		return v;
	return p->slot[off / HP_PAD_STRIDE].orig;
}

int hp_pads_alloc(const struct hp_pads *p, const bool *taken)
{
	unsigned k;

	for (k = 0; k < HP_PADS_N; k++)
		if (p->slot[k].state == HP_PAD_FREE && !taken[k])
			return (int)k;
	/* armed and hit since: that frame has returned (a pad serves one frame) */
	for (k = 0; k < HP_PADS_N; k++)
		if (p->slot[k].hits && !taken[k])
			return (int)k;
	return -ENOSPC;
}

int hp_pads_arm(int memfd, struct hp_pads *p, unsigned k, uint64_t slot, uint64_t orig, pid_t tid)
{
	struct hp_pad_slot s = { orig, 0, slot, HP_PAD_ARMED, (uint32_t)tid };
	int r = hp_mem_write(memfd, slot_addr(p->base, k), &s, sizeof(s));

	if (r == 0) {
		p->slot[k] = s;
		p->mine[k] = true;
	}
	return r;
}

int hp_pads_disarm(int memfd, struct hp_pads *p, unsigned k)
{
	uint32_t st = HP_PAD_FREE;
	int r = hp_mem_write(memfd, slot_addr(p->base, k) + offsetof(struct hp_pad_slot, state), &st, 4);

	if (r == 0) {
		p->slot[k].state = HP_PAD_FREE;
		p->mine[k] = false;
	}
	return r;
}

bool hp_pads_at_syscall(const struct hp_pads *p, const struct user_regs_struct *r, unsigned *ret_k)
{
	uint64_t off;

	if (!hp_pads_contains(p, r->rip))
		return false;
	off = r->rip - p->base;
	if (off % HP_PAD_STRIDE != HP_PAD_SYSCALL_END || r->orig_rax != SYS_getpid)
		return false;
	if (ret_k)
		*ret_k = (unsigned)(off / HP_PAD_STRIDE);
	return true;
}

/*
 * One thread inside pad k: its future is fixed (restore three registers,
 * jump to orig), so take it there now.  A system call the stop interrupted
 * (getpid) is dropped (orig_rax -1): skipping it changes nothing.
 */
static int settle_one(struct hp_threads *g, struct hp_thread *t, const struct hp_pads *p)
{
	uint64_t off = t->regs.rip - p->base, in = off % HP_PAD_STRIDE;
	const struct hp_pad_slot *s = &p->slot[off / HP_PAD_STRIDE];
	struct user_regs_struct regs = t->regs;

	if (!s->orig)
		return -EINVAL;
	if (in >= HP_PAD_SAVED && in < HP_PAD_RESTORED) {
		uint64_t saved[3];
		struct iovec l = { saved, sizeof(saved) }, rv = { (void *)(uintptr_t)(regs.rsp - 24), sizeof(saved) };

		if (process_vm_readv(g->pid, &l, 1, &rv, 1, 0) != (ssize_t)sizeof(saved))
			return -EFAULT;
		regs.r11 = saved[0];
		regs.rcx = saved[1];
		regs.rax = saved[2];
	}
	regs.rip = s->orig;
	regs.orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs) < 0)
		return -errno;
	t->regs = regs;
	return 0;
}

int hp_pads_settle(struct hp_ctx *ctx, struct hp_threads *g, int memfd, struct hp_pads *p)
{
	size_t i;
	int n = 0;

	if (!p->base)
		return 0;
	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];
		unsigned k;

		if (t->gone || !t->stopped || !hp_pads_contains(p, t->regs.rip))
			continue;
		k = (unsigned)((t->regs.rip - p->base) / HP_PAD_STRIDE);
		if (settle_one(g, t, p) < 0) {
			hp_debug(ctx, "pads: thread %d stays in pad %u", t->tid, k);
			continue;
		}
		hp_pads_disarm(memfd, p, k);
		n++;
	}
	return n;
}

bool hp_pads_shadow_stack(pid_t pid)
{
	char path[64], buf[4096], *l;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (hp_read_small(path, buf, sizeof(buf)) < 0)
		return false;
	l = strstr(buf, "\nx86_Thread_features:");
	if (!l)
		return false;
	l++;
	if (strchr(l, '\n'))
		*strchr(l, '\n') = 0;
	return strstr(l, "shstk") != NULL;
}

int hp_pads_redirect(struct hp_ctx *ctx, int memfd, struct hp_stack_checker *sc, struct hp_pads *p,
		     struct hp_threads *g, const struct hp_range *ranges, size_t nranges, unsigned *ret_new,
		     char *why, size_t why_size)
{
	_cleanup_free_ struct hp_ret_slot *out = calloc(g->n ? g->n : 1, sizeof(*out));
	bool taken[HP_PADS_N] = { false };
	size_t i;
	int r, held = 0;
	unsigned fresh = 0;

	*ret_new = 0;
	if (!out)
		return -ENOMEM;
	if (hp_pads_shadow_stack(g->pid)) {
		snprintf(why, why_size, "the process uses shadow stacks (CET), which forbid redirecting a return");
		return 0;
	}
	r = hp_stack_find_returns(sc, g, ranges, nranges, out);
	if (r <= 0)
		return r;
	for (i = 0; i < g->n; i++)
		if (out[i].busy && !out[i].found) {
			snprintf(why, why_size, "thread %d: the return of %s cannot be redirected: %s", g->v[i].tid,
				 out[i].range ? out[i].range->what : "an affected function", out[i].why);
			return 0;
		}
	if (!p->base)
		return -ENOENT;
	r = hp_pads_refresh(memfd, p);
	if (r < 0)
		return r;
	/* A pad a thread stands in (one hp_pads_settle could not move) keeps its original address. */
	for (i = 0; i < g->n; i++)
		if (!g->v[i].gone && g->v[i].stopped && hp_pads_contains(p, g->v[i].regs.rip))
			taken[(g->v[i].regs.rip - p->base) / HP_PAD_STRIDE] = true;
	/* Enough pads for every frame to redirect, before writing anything. */
	{
		unsigned need = 0, avail = 0, k;

		for (i = 0; i < g->n; i++) {
			uint64_t word;

			if (!out[i].busy)
				continue;
			if (hp_mem_read(memfd, out[i].slot, &word, 8) < 0)
				return -EFAULT;
			if (word == out[i].ret)
				need++;
		}
		for (k = 0; k < HP_PADS_N; k++)
			if ((p->slot[k].state == HP_PAD_FREE || p->slot[k].hits) && !taken[k])
				avail++;
		if (need > avail) {
			snprintf(why, why_size, "all %u landing pads are in use", HP_PADS_N);
			return 0;
		}
	}
	for (i = 0; i < g->n; i++) {
		struct hp_thread *t = &g->v[i];
		uint64_t word, pad;
		int k;

		if (!out[i].busy)
			continue;
		r = hp_mem_read(memfd, out[i].slot, &word, 8);
		if (r < 0)
			return r;
		if (word != out[i].ret) {
			/* an armed pad (hp_stack_find_returns checked): that frame already returns through it */
			t->hold = true;
			held++;
			continue;
		}
		k = hp_pads_alloc(p, taken);
		if (k < 0)
			return k;
		taken[k] = true;
		r = hp_pads_arm(memfd, p, (unsigned)k, out[i].slot, out[i].ret, t->tid);
		if (r < 0)
			return r;
		pad = hp_pad_addr(p, (unsigned)k);
		r = hp_mem_write(memfd, out[i].slot, &pad, 8);
		if (r < 0) {
			hp_pads_disarm(memfd, p, (unsigned)k);
			return r;
		}
		hp_debug(ctx, "pads: thread %d: %s returns through pad %d (stack word %#" PRIx64 ", to %#" PRIx64
			 "; pc %#llx, sp %#llx)", t->tid, out[i].range ? out[i].range->what : "?", k, out[i].slot,
			 out[i].ret, (unsigned long long)t->regs.rip, (unsigned long long)t->regs.rsp);
		t->hold = true;
		held++;
		fresh++;
	}
	*ret_new = fresh;
	return held;
}

int hp_pads_restore(struct hp_ctx *ctx, int memfd, struct hp_pads *p)
{
	unsigned k;
	int n = 0;

	if (!p->base || hp_pads_refresh(memfd, p) < 0)
		return 0;
	for (k = 0; k < HP_PADS_N; k++) {
		struct hp_pad_slot *s = &p->slot[k];
		uint64_t word, pad = hp_pad_addr(p, k);

		if (!p->mine[k] || s->state != HP_PAD_ARMED || s->hits)
			continue;
		if (hp_mem_read(memfd, s->slot, &word, 8) == 0 && word == pad &&
		    hp_mem_write(memfd, s->slot, &s->orig, 8) == 0) {
			hp_debug(ctx, "pads: thread %u: return address %#" PRIx64 " put back", s->tid, s->orig);
			hp_pads_disarm(memfd, p, k);
			n++;
		}
	}
	return n;
}

bool hp_pads_cxx_module(const struct hp_elf *e)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (!e || !e->elf || elf_getshdrstrndx(e->elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e->elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".gcc_except_table"))
			return true;
	}
	return false;
}
