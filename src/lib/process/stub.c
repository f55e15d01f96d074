/* SPDX-License-Identifier: MIT */
/*
 * Placing the injection stub (stub.h) in a process.
 *
 * Every ELF module's code segment ends somewhere inside its last page; the
 * rest of that page is mapped executable too, but it is not part of the
 * segment (file padding, or the start of the next segment, which the
 * program reads through its own mapping).  The stub goes into the last 64
 * bytes of such a page.  One write of 64 bytes inside one page: a patcher
 * killed in the middle leaves bytes no code reaches, and the next one
 * writes them again.  The stub is left in place for the next operation.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "lib/process/ptrace.h"
#include "lib/process/stub.h"

static const uint8_t stub_code[HP_STUB_SIZE] = {
	/* +0 call_ret: an injected call's return value goes to rdi, then getpid (harmless) */
	0x48, 0x89, 0xc7,			/* mov %rax,%rdi */
	0xb8, SYS_getpid, 0x00, 0x00, 0x00,	/* mov $SYS_getpid,%eax */
	/* +8 */
	0x0f, 0x05,				/* syscall */
	/* +10 restore: the save area is at %rbx */
	0x48, 0x89, 0xdc,			/* mov %rbx,%rsp */
	0x9d,					/* popfq */
	0x58, 0x59, 0x5a, 0x5e, 0x5f, 0x5d,	/* pop rax rcx rdx rsi rdi rbp */
	0x41, 0x58, 0x41, 0x59, 0x41, 0x5a, 0x41, 0x5b,	/* pop r8 r9 r10 r11 */
	0x41, 0x5c, 0x41, 0x5d, 0x41, 0x5e, 0x41, 0x5f,	/* pop r12 r13 r14 r15 */
	0x5b,					/* pop %rbx */
	/* ret $N: pops rip; rsp = save area + 136 + N = the thread's own rsp */
	0xc2, (HP_SAVE_BELOW - sizeof(struct hp_save_area)) & 0xff, (HP_SAVE_BELOW - sizeof(struct hp_save_area)) >> 8,
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
	'H', 'P', 'S', 'T', 'U', 'B', '0', '1',
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
};

_Static_assert(sizeof(struct hp_save_area) == 136, "the stub pops 17 words");
_Static_assert(HP_SAVE_BELOW - 136 >= 128, "the save area must lie below the red zone");

bool hp_stub_present(int memfd, uint64_t addr)
{
	uint8_t cur[HP_STUB_SIZE];

	return hp_mem_read(memfd, addr, cur, sizeof(cur)) == 0 && !memcmp(cur, stub_code, sizeof(cur));
}

void hp_save_area_fill(struct hp_save_area *s, const struct user_regs_struct *r)
{
	s->rflags = r->eflags & ~0x100ull;	/* never a trap flag */
	s->rax = r->rax;
	s->rcx = r->rcx;
	s->rdx = r->rdx;
	s->rsi = r->rsi;
	s->rdi = r->rdi;
	s->rbp = r->rbp;
	s->r8 = r->r8;
	s->r9 = r->r9;
	s->r10 = r->r10;
	s->r11 = r->r11;
	s->r12 = r->r12;
	s->r13 = r->r13;
	s->r14 = r->r14;
	s->r15 = r->r15;
	s->rbx = r->rbx;
	s->rip = r->rip;
	/* Stopped inside a system call that is to be restarted: do what the kernel does on resume. */
	if ((long long)r->orig_rax >= 0) {
		switch ((long long)r->rax) {
		case -512:	/* ERESTARTSYS */
		case -513:	/* ERESTARTNOINTR */
		case -514:	/* ERESTARTNOHAND: no handler runs */
			s->rax = r->orig_rax;
			s->rip = r->rip - 2;
			break;
		case -516:	/* ERESTART_RESTARTBLOCK */
			s->rax = SYS_restart_syscall;
			s->rip = r->rip - 2;
			break;
		}
	}
}

/* Where the code segment of the module that m maps ends, if it ends in m; 0 if not known. */
static uint64_t code_end_in(int memfd, const struct hp_maps *maps, const struct hp_map *m)
{
	const struct hp_map *base = NULL;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t len = m->end - m->start, best = 0;
	size_t i;

	if (!strcmp(m->path, "[vdso]")) {
		base = m;
	} else {
		for (i = 0; i < maps->n; i++)
			if (maps->v[i].inode == m->inode && maps->v[i].offset == 0 && maps->v[i].dev_major == m->dev_major &&
			    maps->v[i].dev_minor == m->dev_minor && !strcmp(maps->v[i].path, m->path)) {
				base = &maps->v[i];
				break;
			}
	}
	if (!base || hp_mem_read(memfd, base->start, &eh, sizeof(eh)) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64 || eh.e_phoff > base->end - base->start)
		return 0;
	if (hp_mem_read(memfd, base->start + eh.e_phoff, ph, eh.e_phnum * sizeof(ph[0])) < 0)
		return 0;
	for (i = 0; i < eh.e_phnum; i++) {
		uint64_t fend = ph[i].p_offset + (ph[i].p_memsz > ph[i].p_filesz ? ph[i].p_memsz : ph[i].p_filesz);

		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X))
			continue;
		if (fend > m->offset && fend <= m->offset + len && m->start + (fend - m->offset) > best)
			best = m->start + (fend - m->offset);
	}
	return best;
}

/* Order of preference: the program, the dynamic loader, libc, other modules, the vDSO. */
static int rank(const struct hp_map *m, uint64_t exe_ino)
{
	if (!strcmp(m->path, "[vdso]"))
		return 4;
	if (m->path[0] != '/' || !strncmp(m->path, "/memfd:", 7))
		return -1;
	if (m->inode == exe_ino)
		return 0;
	if (strstr(m->path, "/ld-linux") || strstr(m->path, "/ld-musl"))
		return 1;
	if (strstr(m->path, "/libc.so") || strstr(m->path, "/libc-"))
		return 2;
	return 3;
}

int hp_stub_install(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_maps *maps, uint64_t *ret_addr)
{
	char path[64];
	struct stat st;
	uint64_t exe_ino = 0;
	int want, r;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) == 0)
		exe_ino = st.st_ino;
	for (want = 0; want <= 4; want++) {
		for (i = 0; i < maps->n; i++) {
			const struct hp_map *m = &maps->v[i];
			uint64_t at = m->end - HP_STUB_SIZE, end;

			if (m->perms[0] != 'r' || m->perms[2] != 'x' || rank(m, exe_ino) != want)
				continue;
			end = code_end_in(memfd, maps, m);
			if (!end || end > at)
				continue;
			if (hp_stub_present(memfd, at)) {
				*ret_addr = at;
				return 0;
			}
			/* a write through the memory file that succeeds is there: no reading back */
			r = hp_mem_write(memfd, at, stub_code, sizeof(stub_code));
			if (r < 0)
				continue;
			hp_debug(ctx, "pid %d: injection stub written at %#llx (end of %s's code)", pid,
				 (unsigned long long)at, m->path);
			*ret_addr = at;
			return 0;
		}
	}
	return hp_err(ctx, -ENOSPC, "pid %d: no code page with 64 unused bytes at its end for the injection stub",
		      pid);
}
