/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the builder's passes (build.c runs them in order):
 *
 *   correlate.c  pair each patched symbol and section with its original
 *   compare.c    which functions changed, which objects changed (refusals)
 *   checks.c     refusals that need a whole-unit view (types, C++, IFUNC, ...)
 *   target.c     find things in the running binary, verify the rebuilt original
 *   ipara.c      IPA-RA: callers that rely on a callee's clobbered registers
 *   build.c      include what the changed code needs, emit the patch
 */
#ifndef HP_BUILD_BUILDER_H
#define HP_BUILD_BUILDER_H

#include "build.h"
#include "debuginfo.h"
#include "obj.h"
#include "lib/core/elf.h"
#include "lib/format/patch.h"

struct builder {
	struct hp_ctx *ctx;
	const struct hp_build_opts *opts;
	struct hp_build_report *rep;
	struct hp_elf *target;
	bool target_is_exe;		/* an executable (its TLS block is the first one) */
	bool target_lto;

	struct hp_wsec *secs;
	size_t nsecs, capsecs;
	struct hp_wsym *syms;
	size_t nsyms, capsyms;
	struct hp_manifest_func *funcs;
	size_t nfuncs, capfuncs;
	const char **new_funcs;
	size_t nnew;
	char **owned;			/* strings to free */
	size_t nowned;

	/* libraries the target depends on, for "can the process provide this symbol?" */
	struct hp_elf **deps;
	size_t ndeps;
	bool deps_loaded, deps_complete;
};

struct unit {
	struct ob_obj *orig, *patched;
	struct di_obj *di_orig, *di_patched;
	const char *tu;
	struct ob_sec **work;		/* included sections still to process */
	size_t nwork, capwork;
	uint32_t group;			/* the target's STT_FILE group of this unit, 0 = not known */
	bool group_done;
};

/* build.c */
void bld_event(struct builder *b, enum hp_build_action a, const char *what, const char *tu, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int bld_refuse(struct builder *b, const char *what, const char *tu, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *bld_own(struct builder *b, char *s);

/* correlate.c: set the twin pointers of both objects. */
int correlate_unit(struct builder *b, struct unit *u);

/* compare.c */
int compare_unit(struct builder *b, struct unit *u);
/* 1 if two relocations of the original and patched objects refer to the same thing, 0 if not. */
int cmp_rela(struct unit *u, const struct ob_rela *a, const struct ob_rela *b);
/* Bytes covered by relocations, which are compared through their symbols instead. */
uint8_t *reloc_mask(const struct ob_sec *s);
/* The function a code section belongs to (the parent's for a cold part), or NULL. */
struct ob_sym *func_of(const struct ob_sec *s);
/* The symbol a relocation designates: the object or function covering the target, else r->sym. */
struct ob_sym *rela_object(const struct ob_obj *o, const struct ob_rela *r, int64_t *ret_off);

/* checks.c */
int check_unit(struct builder *b, struct unit *u);
int check_types(struct builder *b, struct unit *u);
void note_run_once(struct builder *b, struct unit *u);

/* target.c */
int tgt_prepare(struct builder *b);
void tgt_release(struct builder *b);
int tgt_unit_group(struct builder *b, struct unit *u);
/* Find a symbol of the original object in the target (-ENOENT: absent; -HP_E_BUILD: ambiguous, refused). */
int tgt_lookup(struct builder *b, struct unit *u, const struct ob_sym *y, const struct hp_sym **ret);
/* A global definition in the target (any type), preferring .symtab. */
int tgt_lookup_global(struct builder *b, const char *name, const struct hp_sym **ret);
/* Is the original's code the target's at ts (1), or not (0)?  Tolerates the assembler's short jumps. */
int tgt_matches(struct builder *b, struct unit *u, const struct ob_sec *orig, const struct hp_sym *ts);
/* The rebuilt original's code must be the running code (memoised); role says why it is checked. */
int tgt_verify(struct builder *b, struct unit *u, struct ob_sec *orig, const struct hp_sym *ts, const char *role);
/* Does the target import name, or a library it needs define it? */
bool tgt_lib_defines(struct builder *b, const char *name);
/* Whether the process can provide an import: the target or a library it needs defines it. */
int tgt_check_import(struct builder *b, struct unit *u, const char *name);

/* ipara.c */
int ipara_unit(struct builder *b, struct unit *u);

#endif
