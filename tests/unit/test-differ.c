/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the object differ (src/differ): the x86 decoder it rests
 * on, and hp_build_objects on small object pairs compiled at test time
 * (cc must be on PATH, else those are skipped): what it pairs, what it
 * calls noise, what it pulls in and what it refuses, with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "differ/build.h"
#include "shared/x86.h"
#include "lib/core/elf.h"
#include "lib/format/patch.h"
#include "tap.h"

static char dir[64];

/* ---- decoder ---- */

struct insn_case {
	const char *name;
	uint8_t bytes[15];
	uint8_t len;
	uint64_t must;			/* registers certainly written */
	enum x86_flow flow;
	uint8_t imm_size;
};

/* Lengths, fields, flow and written registers of instructions GCC emits. */
static void test_decoder(void)
{
	static const struct insn_case cases[] = {
		{ "mov $42,%edx", { 0xba, 0x2a, 0, 0, 0 }, 5, X86_GPR(2), X86_NEXT, 4 },
		{ "mov $imm64,%r9", { 0x49, 0xb9, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, X86_GPR(9), X86_NEXT, 8 },
		{ "lea 0x1(%rdi),%eax", { 0x8d, 0x47, 0x01 }, 3, X86_GPR(0), X86_NEXT, 0 },
		{ "add %esi,%eax", { 0x01, 0xf0 }, 2, X86_GPR(0), X86_NEXT, 0 },
		{ "cmp $0xa,%r12d", { 0x41, 0x83, 0xfc, 0x0a }, 4, 0, X86_NEXT, 1 },
		{ "movl $7,0x8(%rsp)", { 0xc7, 0x44, 0x24, 0x08, 7, 0, 0, 0 }, 8, 0, X86_NEXT, 4 },
		{ "imul %esi,%r12d", { 0x44, 0x0f, 0xaf, 0xe6 }, 4, X86_GPR(12), X86_NEXT, 0 },
		{ "pop %r12", { 0x41, 0x5c }, 2, X86_GPR(12), X86_NEXT, 0 },
		{ "call rel32", { 0xe8, 0, 0, 0, 0 }, 5, 0, X86_CALL, 0 },
		{ "jmp rel8", { 0xeb, 0x10 }, 2, 0, X86_JMP, 0 },
		{ "jne rel32", { 0x0f, 0x85, 0, 0, 0, 0 }, 6, 0, X86_JCC, 0 },
		{ "ret", { 0xc3 }, 1, 0, X86_RET, 0 },
		{ "call *%rax", { 0xff, 0xd0 }, 2, X86_ABI_CLOBBER, X86_ICALL, 0 },
		{ "cqto", { 0x48, 0x99 }, 2, X86_GPR(2), X86_NEXT, 0 },
		{ "idiv %ecx", { 0xf7, 0xf9 }, 2, X86_GPR(0) | X86_GPR(2), X86_NEXT, 0 },
		{ "syscall", { 0x0f, 0x05 }, 2, X86_GPR(0) | X86_GPR(1) | X86_GPR(11), X86_NEXT, 0 },
		{ "movsd (%rdi),%xmm3", { 0xf2, 0x0f, 0x10, 0x1f }, 4, X86_XMM(3), X86_NEXT, 0 },
		{ "pxor %xmm8,%xmm8", { 0x66, 0x45, 0x0f, 0xef, 0xc0 }, 5, X86_XMM(8), X86_NEXT, 0 },
		{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0, X86_NEXT, 0 },
		{ "nopw 0(%rax,%rax)", { 0x66, 0x0f, 0x1f, 0x44, 0, 0 }, 6, 0, X86_NEXT, 0 },
		{ "rep stos", { 0xf3, 0x48, 0xab }, 3, X86_GPR(7) | X86_GPR(1), X86_NEXT, 0 },
		{ "mov %fs:0,%rax", { 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0 }, 9, X86_GPR(0), X86_NEXT, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct insn_case *c = &cases[i];
		uint8_t buf[32] = { 0 };
		struct x86_insn in;
		int r;

		memcpy(buf, c->bytes, sizeof(c->bytes));
		r = x86_decode(buf, sizeof(buf), &in);
		if (!tap_ok(r == 0 && in.len == c->len && in.must == c->must && in.flow == c->flow &&
				    in.imm_size == c->imm_size && in.known,
			    "decoder: %s", c->name))
			printf("#   r %d len %u must %#llx flow %d imm %u known %d\n", r, in.len,
			       (unsigned long long)in.must, in.flow, in.imm_size, in.known);
	}
	{
		static const uint8_t vex[] = { 0xc5, 0xfd, 0x6f, 0x07 };	/* vmovdqa (%rdi),%ymm0 */
		struct x86_insn in;

		tap_ok(x86_decode(vex, sizeof(vex), &in) == 0 && in.len == 4 && !in.known &&
			       (in.may & X86_ALL_XMM) == X86_ALL_XMM,
		       "decoder: VEX has its length and may write any vector register");
	}
}

/* ---- object pairs ---- */

static int write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	mkdir(dir, 0700);
	{
		char sub[256];

		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(strchr(name, '/') - name), name);
		mkdir(sub, 0700);
	}
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Compile dir/sub/u.c with the case's flags (and extra ones): the same file name in each build, as __FILE__ sees it. */
static int cc(const char *sub, const char *flags, const char *extra, const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cd %s/%s && cc %s %s %s u.c", dir, sub, extra, flags, args);
	return system(cmd);
}

/* Is there an event whose "what: action-letter: why" line contains each of want, and none of bad? */
static bool report_has(const struct hp_build_report *rep, const char *want)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		char line[1024];

		snprintf(line, sizeof(line), "%s: %s", rep->v[i].what, rep->v[i].why ? rep->v[i].why : "");
		if (strstr(line, want))
			return true;
	}
	return false;
}

/* Show the report when a case fails. */
static void dump(const struct hp_build_report *rep, struct hp_ctx *ctx)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		printf("#   event %d %s: %s\n", rep->v[i].action, rep->v[i].what, rep->v[i].why ? rep->v[i].why : "");
	printf("#   message: %s\n", hp_ctx_errmsg(ctx));
}

struct pair_case {
	const char *name;
	const char *orig;		/* the original source (also the running target's, unless target) */
	const char *target;		/* the running target's source when it differs */
	const char *patched;
	const char *cflags;
	int want;			/* hp_build_objects' result */
	const char *expect[3];		/* events that must be there ("what: why" substrings) */
	const char *reject[2];		/* and must not */
};

/* Compile a case's three sources, build, and compare the result and report with the expectation. */
static void run_case(const struct pair_case *c)
{
	struct hp_build_unit unit;
	struct hp_build_opts opts = { 0 };
	struct hp_build_report rep;
	struct hp_ctx *ctx = NULL;
	char o[256], p[256], t[256], out[256];
	bool ok;
	int r, k;

	snprintf(o, sizeof(o), "%s/o/u.o", dir);
	snprintf(p, sizeof(p), "%s/p/u.o", dir);
	snprintf(t, sizeof(t), "%s/t/t", dir);
	snprintf(out, sizeof(out), "%s/x.hpatch", dir);
	if (write_file("o/u.c", c->orig) || write_file("p/u.c", c->patched) ||
	    write_file("t/u.c", c->target ? c->target : c->orig) || cc("t", c->cflags, "", "-o t") ||
	    cc("o", c->cflags, "-ffunction-sections -fdata-sections", "-c") ||
	    cc("p", c->cflags, "-ffunction-sections -fdata-sections", "-c")) {
		tap_ok(0, "%s: compile", c->name);
		return;
	}
	unit.orig = o;
	unit.patched = p;
	opts.target = t;
	opts.output = out;
	opts.id = "unit";
	if (hp_ctx_new(&ctx) < 0) {
		tap_ok(0, "%s: context", c->name);
		return;
	}
	r = hp_build_objects(ctx, &opts, &unit, 1, &rep);
	ok = r == c->want;
	for (k = 0; k < 3 && c->expect[k]; k++)
		ok = ok && report_has(&rep, c->expect[k]);
	for (k = 0; k < 2 && c->reject[k]; k++)
		ok = ok && !report_has(&rep, c->reject[k]);
	if (!tap_ok(ok, "%s", c->name)) {
		printf("#   result %d, wanted %d\n", r, c->want);
		dump(&rep, ctx);
	}
	hp_build_report_release(&rep);
	hp_ctx_free(ctx);
}

#define MAIN "int main(int argc, char **argv) { (void)argv; return run(argc); }\n"

static const struct pair_case cases[] = {
	{
		"a branch short in the rebuild and long in the running code, padding absorbing it, is the same code",
		"__asm__(\".section .text.f,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\tje 2f\\n\\tmov $1,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"__asm__(\".section .text,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\t{disp32} je 2f\\n\\tmov $1,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"__asm__(\".section .text.f,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\tje 2f\\n\\tmov $2,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"-O2 -g",
		0,
		{ "f: body changed", NULL, NULL },
		{ "differs", NULL },
	},
	{
		"code that truly differs is refused naming both instructions",
		"__asm__(\".section .text.f,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\tje 2f\\n\\tmov $1,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"__asm__(\".section .text,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\tje 2f\\n\\tmov $7,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"__asm__(\".section .text.f,\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n\\ttest %edi,%edi\\n\\tje 2f\\n\\tmov $2,%eax\\n\\tadd %edi,%eax\\n\\tret\\n\\t.p2align 4\\n2:\\tlea 3(%rdi),%eax\\n\\tret\\n.size f,.-f\\n.text\\n\");\n"
		"int f(int);\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "f: replaced: the rebuilt original differs from the running binary: at +0x4 it has b8 01 00 00 00, "
		  "the running code at +0x4 has b8 07 00 00 00", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"objects compiled without -ffunction-sections -fdata-sections: the missing flags are named",
		"static int calls;\nstatic int last;\n"
		"__attribute__((noinline)) int f(int x) { calls++; return x * 7 + 3; }\n"
		"__attribute__((noinline)) int g(int x) { last = x; return x - 1; }\n"
		"int run(int x) { return f(x) + g(x); }\n" MAIN,
		NULL,
		"static int calls;\nstatic int last;\n"
		"__attribute__((noinline)) int f(int x) { calls++; return x * 9 + 3; }\n"
		"__attribute__((noinline)) int g(int x) { last = x; return x - 1; }\n"
		"int run(int x) { return f(x) + g(x); }\n" MAIN,
		"-O2 -g -fno-function-sections -fno-data-sections",
		-HP_E_BUILD,
		{ "u.o: compiled without -ffunction-sections (functions f and g share a section)", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"hidden globals (-fvisibility=hidden) are the library's locals of that name: replaced, not new code",
		"__attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int check(int n) { if (n > 100) return -1; return helper(n) + 2; }\n"
		"__attribute__((visibility(\"default\"))) int run(int n) { return check(n); }\n",
		NULL,
		"__attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int check(int n) { if (n > 10) return -1; return helper(n) + 2; }\n"
		"__attribute__((visibility(\"default\"))) int run(int n) { return check(n); }\n",
		"-O2 -g -fPIC -shared -fvisibility=hidden",
		0,
		{ "check: body changed", NULL, NULL },
		{ "not in the running binary", "no such function" },
	},
	{
		"globals a version script made local (local: *) are found; the unit is part of the library",
		"__attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int check(int n) { if (n > 100) return -1; return helper(n) + 2; }\n",
		NULL,
		"__attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int check(int n) { if (n > 10) return -1; return helper(n) + 2; }\n",
		"-O2 -g -fPIC -shared -Wl,--version-script=v.map",
		0,
		{ "check: body changed", NULL, NULL },
		{ "not part of", "no such function" },
	},
	{
		"a static helper the running build has only inlined: the patch carries its own copy",
		"static __attribute__((noinline)) int helper(int x) { return x * 5 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"__attribute__((noinline)) int check(int x) { return x + 2; }\n"
		"int run(int x) { return other(x) + check(x); }\n" MAIN,
		"static inline __attribute__((always_inline)) int helper(int x) { return x * 5 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"__attribute__((noinline)) int check(int x) { return x + 2; }\n"
		"int run(int x) { return other(x) + check(x); }\n" MAIN,
		"static __attribute__((noinline)) int helper(int x) { return x * 5 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"__attribute__((noinline)) int check(int x) { return helper(x) + 2; }\n"
		"int run(int x) { return other(x) + check(x); }\n" MAIN,
		"-O2 -g",
		0,
		{ "check: body changed", "helper: called by the patch, but the running binary has no out-of-line copy",
		  NULL },
		{ NULL, NULL },
	},
	{
		"a changed function the running build has only inlined is refused, named, never dropped",
		"static __attribute__((noinline)) int helper(int x) { return x * 5 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"int run(int x) { return other(x); }\n" MAIN,
		"static inline __attribute__((always_inline)) int helper(int x) { return x * 5 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"int run(int x) { return other(x); }\n" MAIN,
		"static __attribute__((noinline)) int helper(int x) { return x * 7 + 1; }\n"
		"__attribute__((noinline)) int other(int x) { return helper(x) + 1; }\n"
		"int run(int x) { return other(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "helper: changed, but the running binary has no symbol for it", NULL, NULL },
		{ "carried as new code", NULL },
	},
	{
		"a changed literal moves a jump table in an unmerged .rodata (-O0): its switch is unchanged",
		"#include <stdio.h>\n"
		"int hello(int x) { printf(\"hello one %d\\n\", x); return x; }\n"
		"int sw(int x) { switch (x) { case 0: return 11; case 1: return 23; case 2: return 37; case 3: return 41; "
		"case 4: return 59; case 5: return 61; default: return 0; } }\n"
		"int run(int x) { return hello(x) + sw(x); }\n" MAIN,
		NULL,
		"#include <stdio.h>\n"
		"int hello(int x) { printf(\"hello patched number two %d\\n\", x); return x; }\n"
		"int sw(int x) { switch (x) { case 0: return 11; case 1: return 23; case 2: return 37; case 3: return 41; "
		"case 4: return 59; case 5: return 61; default: return 0; } }\n"
		"int run(int x) { return hello(x) + sw(x); }\n" MAIN,
		"-O0 -g",
		0,
		{ "hello: body changed", NULL, NULL },
		{ "sw:", NULL },
	},
	{
		"a changed literal moves the others in an unmerged .rodata (-O0): pointers to them are unchanged",
		"#include <stdio.h>\n"
		"static const char *msg = \"other text\";\n"
		"const char *tab[] = { \"alpha\", \"beta\" };\n"
		"int hello(int x) { printf(\"hello one %d\\n\", x); return puts(tab[x & 1]); }\n"
		"int run(int x) { return hello(x) + puts(msg); }\n" MAIN,
		NULL,
		"#include <stdio.h>\n"
		"static const char *msg = \"other text\";\n"
		"const char *tab[] = { \"alpha\", \"beta\" };\n"
		"int hello(int x) { printf(\"hello patched two %d\\n\", x); return puts(tab[x & 1]); }\n"
		"int run(int x) { return hello(x) + puts(msg); }\n" MAIN,
		"-O0 -g",
		0,
		{ "hello: body changed", NULL, NULL },
		{ "msg:", "tab:" },
	},
	{
		"statics renumbered by the fix pair by use when there is no DWARF",
		"__attribute__((noinline)) int tick(void) { static int counter; return ++counter * 3; }\n"
		"int run(int x) { return tick() + x; }\n" MAIN,
		NULL,
		"int audit(void);\n"
		"__attribute__((noinline)) int tick(void) { static int counter; return ++counter * 3 + audit(); }\n"
		"int run(int x) { return tick() + x; }\n" MAIN
		"__attribute__((noinline)) int audit(void) { static int audits; return ++audits; }\n",
		"-O2",
		0,
		{ "tick: body changed", "audits.", NULL },
		{ "counter.", NULL },
	},
	{
		"a fix that adds a same-named static to a function is refused, not guessed",
		"#define ONCE() ({ static int w_; int f_ = !w_; w_ = 1; f_; })\n"
		"__attribute__((noinline)) int warn(int x) { if (x > 10) return ONCE(); return 0; }\n"
		"int run(int x) { return warn(x); }\n" MAIN,
		NULL,
		"#define ONCE() ({ static int w_; int f_ = !w_; w_ = 1; f_; })\n"
		"__attribute__((noinline)) int warn(int x) { if (x > 99) return ONCE() + 1; if (x > 10) return ONCE(); "
		"return 0; }\n"
		"int run(int x) { return warn(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "how many statics named 'w_' warn has (1 -> 2)", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"a line inserted above assert() users is no change",
		"#include <assert.h>\n"
		"__attribute__((noinline)) int half(int x) { assert(x >= 0); return x / 2; }\n"
		"int run(int x) { return half(x); }\n" MAIN,
		NULL,
		"#include <assert.h>\n\n\n"
		"__attribute__((noinline)) int half(int x) { assert(x >= 0); return x / 2; }\n"
		"int run(int x) { return half(x); }\n" MAIN,
		"-O2 -g",
		-ENODATA,
		{ "half: unchanged: only 1 line number moved", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"without DWARF a moved line number is a change (never assumed noise)",
		"#include <assert.h>\n"
		"__attribute__((noinline)) int half(int x) { assert(x >= 0); return x / 2; }\n"
		"int run(int x) { return half(x); }\n" MAIN,
		NULL,
		"#include <assert.h>\n\n\n"
		"__attribute__((noinline)) int half(int x) { assert(x >= 0); return x / 2; }\n"
		"int run(int x) { return half(x); }\n" MAIN,
		"-O2",
		0,
		{ "half: body changed", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"IPA-RA: a caller that cannot be shown to be the rebuilt one refuses the build",
		"#include <stdlib.h>\n"
		"__attribute__((noinline)) static int leaf(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int caller(int x) { return leaf(x); }\n"
		"int run(int x) { return caller(x); }\n" MAIN,
		"#include <stdlib.h>\n"
		"__attribute__((noinline)) static int leaf(int x) { return x * 3 + 1; }\n"
		"__attribute__((noinline)) int caller(int x) { __asm__ volatile(\"cld\"); return leaf(x); }\n"
		"int run(int x) { return caller(x); }\n" MAIN,
		"#include <stdlib.h>\n"
		"__attribute__((noinline)) static int leaf(int x) { return x * 3 + 1 + (int)strtol(\"1\", 0, 10); }\n"
		"__attribute__((noinline)) int caller(int x) { return leaf(x); }\n"
		"int run(int x) { return caller(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "leaf: IPA-RA hazard: the new body also clobbers", "its caller caller may keep values there", NULL },
		{ NULL, NULL },
	},
	{
		"a changed static function too small for the jump takes it over the padding after it",
		"__attribute__((noinline)) static int one(int x) { return x + 1; }\n"
		"__attribute__((noinline)) int a(int x) { return one(x) * 2; }\n"
		"__attribute__((noinline)) int b(int x) { return one(x) * 3; }\n"
		"int run(int x) { return a(x) + b(x); }\n" MAIN,
		NULL,
		"__attribute__((noinline)) static int one(int x) { return x + 2; }\n"
		"__attribute__((noinline)) int a(int x) { return one(x) * 2; }\n"
		"__attribute__((noinline)) int b(int x) { return one(x) * 3; }\n"
		"int run(int x) { return a(x) + b(x); }\n" MAIN,
		"-O2 -g",
		0,
		{ "one: body changed", NULL, NULL },
		{ "pulled in", NULL },
	},
	{
		"a changed static function too small for the jump, with no padding after it, pulls in its callers",
		"__attribute__((noinline)) static int one(int x) { return x + 1; }\n"
		"__attribute__((noinline)) int a(int x) { return one(x) * 2; }\n"
		"__attribute__((noinline)) int b(int x) { return one(x) * 3; }\n"
		"int run(int x) { return a(x) + b(x); }\n" MAIN,
		NULL,
		"__attribute__((noinline)) static int one(int x) { return x + 2; }\n"
		"__attribute__((noinline)) int a(int x) { return one(x) * 2; }\n"
		"__attribute__((noinline)) int b(int x) { return one(x) * 3; }\n"
		"int run(int x) { return a(x) + b(x); }\n" MAIN,
		"-O2 -g -falign-functions=1",
		0,
		{ "a: pulled in: calls one, which is too small", "b: pulled in: calls one, which is too small",
		  "one: too small (4 bytes) to redirect" },
		{ NULL, NULL },
	},
	{
		"a changed global function too small for the jump is refused",
		"__attribute__((noinline)) int one(int x) { return x + 1; }\n"
		"int run(int x) { return one(x) * 2; }\n" MAIN,
		NULL,
		"__attribute__((noinline)) int one(int x) { return x + 2; }\n"
		"int run(int x) { return one(x) * 2; }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "one: changed, but only 4 bytes long", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"a rebuilt original built with other flags is refused",
		"__attribute__((noinline)) int sum(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * i; return s; }\n"
		"int run(int x) { return sum(x); }\n" MAIN,
		"__attribute__((noinline, optimize(\"O0\"))) int sum(int n) { int s = 0; for (int i = 0; i < n; i++) "
		"s += i * i; return s; }\n"
		"int run(int x) { return sum(x); }\n" MAIN,
		"__attribute__((noinline)) int sum(int n) { int s = 1; for (int i = 0; i < n; i++) s += i * i; return s; }\n"
		"int run(int x) { return sum(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "sum: replaced: the rebuilt original", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"a changed init-once routine is built with a warning that it will not run again",
		"#include <pthread.h>\n"
		"static int base;\n"
		"__attribute__((noinline)) static void init(void) { for (int i = 0; i < 9; i++) base += i; }\n"
		"__attribute__((noinline)) int get(void) { static pthread_once_t once = PTHREAD_ONCE_INIT; "
		"pthread_once(&once, init); return base; }\n"
		"int run(int x) { return get() + x; }\n" MAIN,
		NULL,
		"#include <pthread.h>\n"
		"static int base;\n"
		"__attribute__((noinline)) static void init(void) { for (int i = 0; i < 9; i++) base += 2 * i; }\n"
		"__attribute__((noinline)) int get(void) { static pthread_once_t once = PTHREAD_ONCE_INIT; "
		"pthread_once(&once, init); return base; }\n"
		"int run(int x) { return get() + x; }\n" MAIN,
		"-O2 -g -pthread",
		0,
		{ "init: warning: an init-once routine (pthread_once)", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"an enumerator appended to an enum the patched function takes is no layout change",
		"enum color { RED, GREEN };\n"
		"__attribute__((noinline)) int paint(enum color c) { return c == GREEN ? 7 : 3; }\n"
		"int run(int x) { return paint((enum color)x); }\n" MAIN,
		NULL,
		"enum color { RED, GREEN, BLUE };\n"
		"__attribute__((noinline)) int paint(enum color c) { return c == GREEN ? 7 : c == BLUE ? 9 : 3; }\n"
		"int run(int x) { return paint((enum color)x); }\n" MAIN,
		"-O2 -g",
		0,
		{ "paint: body changed", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"an enumerator inserted before others changes their values: refused",
		"enum color { RED, GREEN };\n"
		"__attribute__((noinline)) int paint(enum color c) { return c == GREEN ? 7 : 3; }\n"
		"int run(int x) { return paint((enum color)x); }\n" MAIN,
		NULL,
		"enum color { RED, YELLOW, GREEN };\n"
		"__attribute__((noinline)) int paint(enum color c) { return c == GREEN ? 7 : c == YELLOW ? 5 : 3; }\n"
		"int run(int x) { return paint((enum color)x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "paint: the fix changes the layout of a type that running code depends on: enum color: GREEN=1 "
		  "changed or removed", NULL, NULL },
		{ NULL, NULL },
	},
	{
		"a new thread-local is refused",
		"__attribute__((noinline)) int f(int x) { return x * 7 + 3; }\n"
		"int run(int x) { return f(x); }\n" MAIN,
		NULL,
		"static __thread int depth;\n"
		"__attribute__((noinline)) int f(int x) { return x * 7 + 3 + depth++; }\n"
		"int run(int x) { return f(x); }\n" MAIN,
		"-O2 -g",
		-HP_E_BUILD,
		{ "depth: the fix adds a thread-local variable", NULL, NULL },
		{ NULL, NULL },
	},
};

/*
 * Two files named util.c (a/ and b/) with byte-identical static functions:
 * the fix changes b's; the build must redirect b's copy, found next to b's
 * global function, never a's.
 */
static void test_twin_files(void)
{
#define UTIL "__attribute__((noinline)) static int twice(int x) { int r = 0; " \
	     "for (int i = 0; i < x; i++) r += 2; return r; }\n"                        \
	     "int u%s(int x) { return twice(x) * 10 + %d; }\n"
	char src[512], cmd[1024], o[256], p[256], t[256], out[256];
	struct hp_build_unit unit = { o, p };
	struct hp_build_opts opts = { 0 };
	struct hp_build_report rep;
	struct hp_ctx *ctx = NULL;
	struct hp_elf *e = NULL;
	struct hp_sym *s;
	struct hp_patch *patch = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, n = 0, k;
	uint64_t b_addr = 0;
	int r;

	snprintf(src, sizeof(src), UTIL, "a", 1);
	r = write_file("a/util.c", src);
	snprintf(src, sizeof(src), UTIL, "b", 2);
	r = r ?: write_file("b/util.c", src);
	r = r ?: write_file("p/util.c", "__attribute__((noinline)) static int twice(int x) { int r = 0; "
					"for (int i = 0; i < x; i++) r += 3; return r; }\n"
					"int ub(int x) { return twice(x) * 10 + 2; }\n");
	r = r ?: write_file("m/main.c", "int ua(int), ub(int);\n"
				       "int main(int c, char **v) { (void)v; return ua(c) + ub(c); }\n");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cc -O2 -g -o twin m/main.c a/util.c b/util.c && cd b && cc -O2 -g -ffunction-sections "
		 "-fdata-sections -c util.c && cd ../p && cc -O2 -g -ffunction-sections -fdata-sections -c util.c", dir);
	if (r || system(cmd) != 0 || hp_ctx_new(&ctx) < 0) {
		tap_ok(0, "same-named files: compile");
		hp_ctx_free(ctx);
		return;
	}
	snprintf(o, sizeof(o), "%s/b/util.o", dir);
	snprintf(p, sizeof(p), "%s/p/util.o", dir);
	snprintf(t, sizeof(t), "%s/twin", dir);
	snprintf(out, sizeof(out), "%s/twin.hpatch", dir);
	opts.target = t;
	opts.output = out;
	opts.id = "twin";
	r = hp_build_objects(ctx, &opts, &unit, 1, &rep);
	if (!tap_ok(r == 0 && report_has(&rep, "matched this unit to one by where its code lies"),
		    "same-named files, identical statics: the unit is placed by where its code lies"))
		dump(&rep, ctx);
	hp_build_report_release(&rep);
	/* b/util.c is linked after a/util.c: its twice is the one at the higher address */
	if (r == 0 && hp_elf_open(ctx, t, &e) == 0 && hp_elf_load_symbols(ctx, e, NULL) == 0) {
		n = hp_elf_find_syms(e, "twice", &s);
		for (k = 0; k < n; k++)
			if (s[k].value > b_addr)
				b_addr = s[k].value;
	}
	if (r == 0 && hp_read_file(out, 1 << 24, (char **)&buf, &len) == 0 && hp_patch_load(ctx, buf, len, &patch) == 0)
		tap_ok(n == 2 && patch->man.nfuncs == 1 && patch->man.funcs[0].addr == b_addr,
		       "same-named files, identical statics: b's copy is the one redirected");
	else
		tap_ok(0, "same-named files, identical statics: b's copy is the one redirected");
	hp_patch_free(patch);
	free(buf);
	hp_elf_close(e);
	hp_ctx_free(ctx);
}

/* The decoder, then the object pairs (skipped without a C compiler). */
int main(void)
{
	size_t i;

	test_decoder();
	snprintf(dir, sizeof(dir), "/tmp/hp-differ.XXXXXX");
	if (!mkdtemp(dir) || system("cc --version >/dev/null 2>&1") != 0) {
		tap_skip("no C compiler", "object pairs");
		tap_done();
		return 0;
	}
	/* the version script of the "local: *" case, beside the target's source */
	if (write_file("t/v.map", "{ global: run; local: *; };\n")) {
		tap_ok(0, "version script");
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_twin_files();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
	}
	tap_done();
	return tap_failed ? 1 : 0;
}
