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

/* The map helper (stub.h); its last jump goes to the stub's restore path, HP_HELPER_SIZE bytes on. */
static const uint8_t helper_code[HP_HELPER_SIZE] = {
	0x49, 0x8d, 0x7e, HP_HELPER_NAME,	/* lea NAME(%r14),%rdi */
	0xbe, 0x01, 0x00, 0x00, 0x00,		/* mov $MFD_CLOEXEC,%esi */
	0xb8, 0x3f, 0x01, 0x00, 0x00,		/* mov $SYS_memfd_create,%eax */
	0x0f, 0x05,				/* syscall */
	0x49, 0x89, 0xc5,			/* mov %rax,%r13 */
	0x48, 0x85, 0xc0,			/* test %rax,%rax */
	0x78, 0x41,				/* js done */
	/* +0x18 loop: */
	0x49, 0x8b, 0x74, 0x24, 0x08,		/* mov 8(%r12),%rsi: len */
	0x48, 0x85, 0xf6,			/* test %rsi,%rsi */
	0x74, 0x2d,				/* je close */
	0x49, 0x8b, 0x3c, 0x24,			/* mov (%r12),%rdi: addr */
	0x49, 0x8b, 0x54, 0x24, 0x10,		/* mov 16(%r12),%rdx: prot */
	0x41, 0xba, 0x02, 0x00, 0x10, 0x00,	/* mov $MAP_PRIVATE|MAP_FIXED_NOREPLACE,%r10d */
	0x4d, 0x89, 0xe8,			/* mov %r13,%r8 */
	0x4d, 0x8b, 0x4c, 0x24, 0x18,		/* mov 24(%r12),%r9: offset */
	0xb8, SYS_mmap, 0x00, 0x00, 0x00,	/* mov $SYS_mmap,%eax */
	0x0f, 0x05,				/* syscall */
	0x49, 0x89, 0xc7,			/* mov %rax,%r15 */
	0x49, 0x3b, 0x04, 0x24,			/* cmp (%r12),%rax: mapped where asked? */
	0x75, 0x06,				/* jne close */
	0x49, 0x83, 0xc4, 0x20,			/* add $32,%r12 */
	0xeb, 0xc9,				/* jmp loop */
	/* +0x4f close: */
	0x4c, 0x89, 0xef,			/* mov %r13,%rdi */
	0xb8, SYS_close, 0x00, 0x00, 0x00,	/* mov $SYS_close,%eax */
	0x0f, 0x05,				/* syscall */
	/* +0x59 done: a signal to itself, that the tracer receives */
	0x41, 0x8b, 0x3e,			/* mov (%r14),%edi: tgid */
	0x41, 0x8b, 0x76, 0x04,			/* mov 4(%r14),%esi: tid */
	0x41, 0x8b, 0x56, 0x08,			/* mov 8(%r14),%edx: signal */
	0xb8, SYS_tgkill, 0x00, 0x00, 0x00,	/* mov $SYS_tgkill,%eax */
	0x0f, 0x05,				/* syscall */
	/* +0x6b HP_HELPER_SIGNALLED */
	0xeb, HP_HELPER_SIZE + HP_STUB_RESTORE - (HP_HELPER_SIGNALLED + 2),	/* jmp to the stub's restore */
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
	'H', 'P', 'M', 'A', 'P', '0', '0', '2',
};

_Static_assert(SYS_tgkill < 256 && SYS_mmap < 256 && SYS_close < 256, "one-byte system call numbers");
_Static_assert(sizeof(struct hp_save_area) == 136, "the stub pops 17 words");
_Static_assert(HP_SAVE_BELOW - 136 >= 128, "the save area must lie below the red zone");

bool hp_stub_present(int memfd, uint64_t addr)
{
	uint8_t cur[HP_STUB_SIZE];

	return hp_mem_read(memfd, addr, cur, sizeof(cur)) == 0 && !memcmp(cur, stub_code, sizeof(cur));
}

static bool helper_present(int memfd, uint64_t addr)
{
	uint8_t cur[HP_HELPER_SIZE];

	return hp_mem_read(memfd, addr, cur, sizeof(cur)) == 0 && !memcmp(cur, helper_code, sizeof(cur));
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

int hp_stub_install(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_maps *maps, uint64_t *ret_addr,
		    uint64_t *ret_helper)
{
	uint8_t both[HP_HELPER_SIZE + HP_STUB_SIZE];

	if (ret_helper)
		*ret_helper = 0;
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
			uint64_t at = m->end - HP_STUB_SIZE, hat = at - HP_HELPER_SIZE, end;
			bool room;

			if (m->perms[0] != 'r' || m->perms[2] != 'x' || rank(m, exe_ino) != want)
				continue;
			end = code_end_in(memfd, maps, m);
			if (!end || end > at)
				continue;
			room = end <= hat && m->end - m->start >= HP_HELPER_SIZE + HP_STUB_SIZE;
			if (hp_stub_present(memfd, at)) {
				*ret_addr = at;
				if (!ret_helper || !room)
					return 0;
				if (helper_present(memfd, hat) || hp_mem_write(memfd, hat, helper_code, HP_HELPER_SIZE) == 0)
					*ret_helper = hat;
				return 0;
			}
			/* a write through the memory file that succeeds is there: no reading back */
			memcpy(both, helper_code, HP_HELPER_SIZE);
			memcpy(both + HP_HELPER_SIZE, stub_code, HP_STUB_SIZE);
			if (ret_helper && room)
				r = hp_mem_write(memfd, hat, both, sizeof(both));
			else
				r = hp_mem_write(memfd, at, stub_code, sizeof(stub_code));
			if (r < 0)
				continue;
			hp_debug(ctx, "pid %d: injection stub%s written at %#llx (end of %s's code)", pid,
				 ret_helper && room ? " and map helper" : "", (unsigned long long)at, m->path);
			*ret_addr = at;
			if (ret_helper && room)
				*ret_helper = hat;
			return 0;
		}
	}
	return hp_err(ctx, -ENOSPC, "pid %d: no code page with 64 unused bytes at its end for the injection stub",
		      pid);
}
