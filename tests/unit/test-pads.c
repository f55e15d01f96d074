/* SPDX-License-Identifier: MIT */
/*
 * The landing pad's hand-written encoding (src/lib/process/pads.c), run in
 * this process: a "return" into pad 3 of a pads page laid out as in a
 * target must land at the original return address with the stack pointer
 * of a plain return, every register but the flags as the function left
 * them (rax, rdx, xmm0 -- return values -- and the ones the pad borrows:
 * rcx, r11), and the pad's hit counter at 1.  The pad's getpid runs for
 * real.  Also: the system-call stop the engine waits for is recognised at
 * the right place, and a pads page is found only with its magic.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/process/pads.h"
#include "tap.h"

/* out[0..7]: rax rdx rcx r11 rsp-after rsp-expected rdi xmm0 */
void pad_call(uint64_t pad, uint64_t *orig_slot, uint64_t *out);
__asm__(".text\n"
	".globl pad_call\n"
	"pad_call:\n"
	"	push %rbx\n"
	"	mov %rdx, %rbx\n"
	"	lea 1f(%rip), %rax\n"
	"	mov %rax, (%rsi)\n"
	"	mov $0x1111, %rcx\n"
	"	mov $0x2222, %r11\n"
	"	mov $0x3333, %rdx\n"
	"	mov $0x5555, %rax\n"
	"	movq %rax, %xmm0\n"
	"	mov $0x4444, %rax\n"
	"	mov %rsp, %r8\n"
	"	push %rdi\n"
	"	ret\n"
	"1:\n"
	"	mov %rax, 0(%rbx)\n"
	"	mov %rdx, 8(%rbx)\n"
	"	mov %rcx, 16(%rbx)\n"
	"	mov %r11, 24(%rbx)\n"
	"	mov %rsp, 32(%rbx)\n"
	"	mov %r8, 40(%rbx)\n"
	"	mov %rdi, 48(%rbx)\n"
	"	movq %xmm0, %rax\n"
	"	mov %rax, 56(%rbx)\n"
	"	pop %rbx\n"
	"	ret\n");

int main(void)
{
	uint8_t *m = mmap(NULL, HP_PADS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t base = (uint64_t)(uintptr_t)m, out[8] = { 0 }, pad;
	struct hp_pad_slot *slot;
	struct hp_pads p = { 0 };
	struct user_regs_struct regs = { 0 };
	unsigned k, which = 99;

	if (m == MAP_FAILED) {
		tap_ok(0, "mmap");
		return 1;
	}
	for (k = 0; k < HP_PADS_N; k++)
		hp_pad_encode(m + k * HP_PAD_STRIDE, base, k);
	memcpy(m + HP_PADS_PAGE, HP_PADS_MAGIC, 8);
	tap_ok(mprotect(m, HP_PADS_PAGE, PROT_READ | PROT_EXEC) == 0, "pads page made executable");
	slot = (struct hp_pad_slot *)(m + HP_PADS_PAGE + HP_PADS_DATA_OFF) + 3;
	pad = base + 3 * HP_PAD_STRIDE;
	tap_ok(m[3 * HP_PAD_STRIDE + HP_PAD_SYSCALL_END - 2] == 0x0f && m[3 * HP_PAD_STRIDE + HP_PAD_SYSCALL_END - 1] == 0x05,
	       "the syscall instruction ends at HP_PAD_SYSCALL_END");
	tap_ok(m[3 * HP_PAD_STRIDE + HP_PAD_RESTORED] == 0xff, "the jump starts at HP_PAD_RESTORED");

	pad_call(pad, &slot->orig, out);
	tap_ok(slot->hits == 1, "the pad counted its hit (%llu)", (unsigned long long)slot->hits);
	tap_ok(out[0] == 0x4444 && out[1] == 0x3333, "rax and rdx (return values) kept: %#llx %#llx",
	       (unsigned long long)out[0], (unsigned long long)out[1]);
	tap_ok(out[7] == 0x5555, "xmm0 kept");
	tap_ok(out[2] == 0x1111 && out[3] == 0x2222, "rcx and r11, which the pad's system call clobbers, restored");
	tap_ok(out[4] == out[5], "the stack pointer is where a plain return leaves it");
	tap_ok(out[6] == pad, "other registers untouched");
	pad_call(pad, &slot->orig, out);
	tap_ok(slot->hits == 2, "a second pass counts again");

	p.base = base;
	p.slot[3] = *slot;
	p.slot[3].state = HP_PAD_ARMED;
	regs.rip = pad + HP_PAD_SYSCALL_END;
	regs.orig_rax = SYS_getpid;
	tap_ok(hp_pads_at_syscall(&p, &regs, &which) && which == 3, "the pad's system-call stop is recognised");
	regs.orig_rax = SYS_read;
	tap_ok(!hp_pads_at_syscall(&p, &regs, NULL), "another system call at that place is not");
	regs.rip = pad;
	regs.orig_rax = SYS_getpid;
	tap_ok(!hp_pads_at_syscall(&p, &regs, NULL), "nor the pad's entry");
	tap_ok(hp_pads_translate(&p, pad) == slot->orig, "an armed pad reads as its original return address");
	p.slot[3].state = HP_PAD_FREE;
	tap_ok(hp_pads_translate(&p, pad) == pad, "a free one does not");
	tap_ok(hp_pads_translate(&p, pad + 1) == pad + 1, "nor an address inside a pad");
	munmap(m, HP_PADS_SIZE);
	tap_done();
	return tap_failed != 0;
}
