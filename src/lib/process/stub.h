/* SPDX-License-Identifier: MIT */
/*
 * The injection stub: a few instructions hotpatch places in a process so
 * that a thread it borrows is, at every instant, a thread that can run on
 * by itself if the patcher dies (docs/state-record.md, "A patcher killed at
 * any instant").
 *
 * Before the engine redirects a thread, it writes the thread's own
 * registers into a save area on the thread's stack, below its red zone.
 * The thread is then pointed at the stub's `syscall` (or at a function
 * whose return lands in the stub), and the engine takes it back at the
 * system call's entry and exit stops (PTRACE_SYSCALL), which the kernel
 * forgets when the tracer goes away.  After the call the stub restores
 * every register from the save area and returns to where the thread was;
 * a thread interrupted inside a system call goes back to the instruction
 * that restarts it, as the kernel itself would have done.  So whether the
 * engine detaches normally or is killed, the thread takes the same path
 * home.
 *
 * Layout (64 bytes, at the end of the last page of a module's code
 * mapping, beyond the end of its code segment: bytes no code ever runs):
 *   +0   call_ret: mov %rax,%rdi; mov $SYS_getpid,%eax   (an injected call returns here)
 *   +8   syscall
 *   +10  restore:  mov %rbx,%rsp; popfq; pop rax..r15, rbx; ret $N
 *   +48  "HPSTUB01"
 * %rbx holds the save area's address across the call (callee-saved, and a
 * system call keeps it).
 *
 * The map helper: when the page has room, 128 more bytes right before the
 * stub map a patch image in one run of the borrowed thread, with no stop
 * between its system calls (PTRACE_CONT): memfd_create, one mmap per
 * segment, close; then it sends its own thread a signal that nothing in
 * the process catches, blocks or needs (SIGURG, SIGWINCH or SIGCHLD with
 * no handler: the engine picks it), and falls into the stub's restore
 * path.  Traced, the thread stops at that signal's delivery, with the
 * results in its registers, and the engine discards the signal: one round
 * trip instead of two per system call.  A patcher killed at any instant
 * leaves a thread that finishes the helper (closing its own descriptor),
 * receives a signal whose default action is to be ignored, and goes home;
 * the mapping it made is an unwritten leftover that the next operation
 * removes.  Used only in a process without a seccomp filter (tgkill).
 * On entry:
 *   %r14  the scratch area: +0 tgid, +4 tid, +8 the signal (32-bit each),
 *         +0x30 the memfd's name
 *   %r12  the mmap table: {addr, len, prot, offset} per segment, then len 0
 *   %rbx  the save area, as for the stub
 * At the signal: %r13 the descriptor (or -errno), %r12 the table entry it
 * stopped at (len 0: all mapped), %r15 the last mmap result.
 */
#ifndef HP_LIB_STUB_H
#define HP_LIB_STUB_H

#include <sys/user.h>
#include "lib/process/proc.h"

#define HP_STUB_SIZE 64u
#define HP_STUB_CALL_RET 0u
#define HP_STUB_SYSCALL 8u
#define HP_STUB_RESTORE 10u
#define HP_STUB_RET 37u		/* the final `ret $N` */
#define HP_HELPER_SIZE 128u	/* the map helper, right before the stub */
#define HP_HELPER_NAME 0x30u	/* scratch offsets the helper uses (above) */
#define HP_HELPER_SIGNALLED 0x6bu	/* where the helper is at its signal's delivery */
#define HP_HELPER_TABLE 0x90u	/* where the engine puts the mmap table in the scratch area */
/* The save area starts this far below the thread's stack pointer (beyond its 128-byte red zone). */
#define HP_SAVE_BELOW 512u

/* What the stub pops, in this order; rip last (by `ret $N`, which also puts rsp back). */
struct hp_save_area {
	uint64_t rflags, rax, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rbx, rip;
};

/*
 * Make sure the stub is in the process and return its address: reused when
 * an earlier operation left it there, else written into the unused tail of
 * a code page (the main program's first, then the dynamic loader's, libc's,
 * any other module's, the vDSO's).  Writing there is safe while the process
 * runs: no code of its own reaches those bytes.  The map helper goes right
 * before it when the page has room (*ret_helper: its address, else 0: the
 * engine then runs the calls one by one).
 */
int hp_stub_install(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_maps *maps, uint64_t *ret_addr,
		    uint64_t *ret_helper);

/* Is the stub at addr (after an exec, it is not)? */
bool hp_stub_present(int memfd, uint64_t addr);

/*
 * The save area for a thread stopped with regs: where it returns to and
 * with which rax -- a system call the stop interrupted is restarted the way
 * the kernel restarts it (ip back over the syscall instruction).
 */
void hp_save_area_fill(struct hp_save_area *s, const struct user_regs_struct *regs);

#endif
