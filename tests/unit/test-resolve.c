/* SPDX-License-Identifier: MIT */
/*
 * Symbol resolution (src/lib/process/resolve.c) on fixture libraries
 * compiled at test time and loaded into this process: the answer for every
 * name must be the address the dynamic linker chose (dlsym, dlvsym), and
 * calling what it returns must run the right code.  Covers link-map order
 * (interposition), a target's own PLT stub and bound GOT slot, symbol
 * versions, thread-local variables and IFUNCs (refused without a resolver
 * runner, selected with one), missing names, and symbolizing an address.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/process/resolve.h"
#include "tap.h"

static const char liba_c[] =
	"int fix_a(void) { return 11; }\n"
	"int dup_sym(void) { return 1; }\n"
	"int fix_v1(void) { return 1; }\n"
	"int fix_v2(void) { return 2; }\n"
	"__asm__(\".symver fix_v1, fix_v@VER_1\");\n"
	"__asm__(\".symver fix_v2, fix_v@@VER_2\");\n"
	"__thread int fix_tls = 5;\n"
	"static int ifunc_impl(void) { return 77; }\n"
	"static int (*ifunc_pick(void))(void) { return ifunc_impl; }\n"
	"int fix_ifunc(void) __attribute__((ifunc(\"ifunc_pick\")));\n";
static const char liba_map[] = "VER_1 { global: fix_v; };\nVER_2 { global: fix_v; } VER_1;\n";
static const char libb_c[] =
	"int fix_a(void);\n"
	"int dup_sym(void) { return 2; }\n"
	"int call_a(void) { return fix_a() + 1; }\n";

static char dir[] = "/tmp/hp-resolve.XXXXXX";

/* Why: fixtures are built by the system compiler, like the objects the engine meets in real processes. */
static int build(void)
{
	char cmd[2048];
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
#define WRITE(name, text)                                                                                    \
	do {                                                                                                 \
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, name);                                              \
		if (!(f = fopen(cmd, "w")) || fputs(text, f) < 0 || fclose(f))                                \
			return -1;                                                                           \
	} while (0)
	WRITE("a.c", liba_c);
	WRITE("a.map", liba_map);
	WRITE("b.c", libb_c);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cc -O1 -g -fPIC -shared -Wl,--version-script=a.map -o liba.so a.c && "
		 "cc -O1 -g -fPIC -shared -o libb.so b.c -L. -la -Wl,-rpath,%s",
		 dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Why: runs an IFUNC resolver the way the engine does in a target, here in this very process. */
static int run_resolver(void *ud, uint64_t fn, uint64_t *ret)
{
	void *(*resolver)(void) = (void *(*)(void))(uintptr_t)fn;

	(void)ud;
	*ret = (uint64_t)(uintptr_t)resolver();
	return 0;
}

static uint64_t addr_of(void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Why: calling the resolved address proves it is the code, not just a number that matched. */
static int call(uint64_t a)
{
	int (*fn)(void) = (int (*)(void))(uintptr_t)a;

	return fn();
}

int main(void)
{
	struct hp_ctx *ctx;
	struct hp_process proc;
	struct hp_loaded *libb = NULL;
	void *ha, *hb;
	char path[256], sym[128], longname[400];
	uint64_t a;
	size_t i;
	int r;

	if (system("command -v cc >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP needs a C compiler (cc)\n");
		return 0;
	}
	if (build() < 0) {
		printf("Bail out! cannot build the fixture libraries in %s\n", dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/liba.so", dir);
	ha = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	snprintf(path, sizeof(path), "%s/libb.so", dir);
	hb = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!ha || !hb || hp_ctx_new(&ctx) < 0) {
		printf("Bail out! dlopen: %s\n", dlerror());
		return 1;
	}
	r = hp_process_open(ctx, getpid(), &proc);
	if (r < 0) {
		printf("1..0 # SKIP cannot open this process: %s\n", hp_ctx_errmsg(ctx));
		return 0;
	}
	for (i = 0; i < proc.nmods; i++) {
		const char *p = proc.mods[i].path, *slash = strrchr(p, '/');

		if (slash && !strcmp(slash, "/libb.so"))
			libb = &proc.loaded[i];
	}
	tap_ok(libb != NULL, "the fixture library is among the process's modules");
	/* as the engine prepares its target: the whole symbol table */
	if (!libb || hp_loaded_open_full(ctx, &proc, libb) < 0 || hp_elf_load_symbols(ctx, libb->elf, NULL) < 0) {
		printf("Bail out! libb.so not opened: %s\n", hp_ctx_errmsg(ctx));
		return 1;
	}

	r = hp_resolve_import(ctx, &proc, NULL, "fix_a", false, &a);
	tap_ok(r == 0 && a == addr_of(dlsym(RTLD_DEFAULT, "fix_a")), "a plain function: where the dynamic linker put it");
	tap_ok(r == 0 && call(a) == 11, "... and calling it runs it");

	r = hp_resolve_import(ctx, &proc, NULL, "dup_sym", false, &a);
	tap_ok(r == 0 && a == addr_of(dlsym(RTLD_DEFAULT, "dup_sym")) && call(a) == 1,
	       "defined twice: the first along the link map wins, as for the dynamic linker");

	r = hp_resolve_import(ctx, &proc, libb, "fix_a", true, &a);
	tap_ok(r == 0 && a != addr_of(dlsym(RTLD_DEFAULT, "fix_a")) && a > libb->mod->start && a < libb->mod->end,
	       "a call from the target binds to the target's own PLT stub");
	tap_ok(r == 0 && call(a) == 11, "... which reaches the function");
	r = hp_resolve_import(ctx, &proc, libb, "fix_a", false, &a);
	tap_ok(r == 0 && a == addr_of(dlsym(RTLD_DEFAULT, "fix_a")), "data use from the target: its bound GOT slot");
	r = hp_resolve_import(ctx, &proc, libb, "dup_sym", false, &a);
	tap_ok(r == 0 && call(a) == 2, "the target's own global definition comes before the link map");

	r = hp_resolve_import(ctx, &proc, NULL, "fix_v", false, &a);
	tap_ok(r == 0 && a == addr_of(dlvsym(RTLD_DEFAULT, "fix_v", "VER_2")) && call(a) == 2,
	       "a versioned name: the default version");
	r = hp_resolve_import(ctx, &proc, NULL, "fix_v@VER_1", false, &a);
	tap_ok(r == 0 && a == addr_of(dlvsym(RTLD_DEFAULT, "fix_v", "VER_1")) && call(a) == 1,
	       "name@VERSION: that version");

	r = hp_resolve_import(ctx, &proc, NULL, "no_such_symbol_anywhere", false, &a);
	tap_is_int(r, -HP_E_SYMBOL, "a name nobody defines: -HP_E_SYMBOL");
	tap_ok(strstr(hp_ctx_errmsg(ctx), "no_such_symbol_anywhere") != NULL, "... named in the message");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	tap_is_int(hp_resolve_import(ctx, &proc, NULL, longname, false, &a), -HP_E_SYMBOL, "an overlong name: refused");
	r = hp_resolve_import(ctx, &proc, NULL, "fix_tls", false, &a);
	tap_ok(r == -HP_E_SYMBOL && strstr(hp_ctx_errmsg(ctx), "thread-local"),
	       "a thread-local variable is refused by name");

	proc.call_resolver = NULL;
	r = hp_resolve_import(ctx, &proc, NULL, "fix_ifunc", false, &a);
	tap_ok(r == -HP_E_SYMBOL && strstr(hp_ctx_errmsg(ctx), "IFUNC"),
	       "an IFUNC nobody imported, without a resolver runner: refused");
	proc.call_resolver = run_resolver;
	r = hp_resolve_import(ctx, &proc, NULL, "fix_ifunc", false, &a);
	tap_ok(r == 0 && a == addr_of(dlsym(RTLD_DEFAULT, "fix_ifunc")) && call(a) == 77,
	       "an IFUNC with a resolver runner: the implementation it selects");

	a = addr_of(dlsym(RTLD_DEFAULT, "fix_a"));
	hp_process_symbolize(ctx, &proc, a, sym, sizeof(sym));
	tap_is_str(sym, "fix_a", "symbolize a function's start");
	hp_process_symbolize(ctx, &proc, a + 3, sym, sizeof(sym));
	tap_is_str(sym, "fix_a+0x3", "symbolize an address inside it");

	hp_process_close(&proc);
	hp_ctx_free(ctx);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	tap_done();
	return tap_failed != 0;
}
