/* SPDX-License-Identifier: MIT */
/*
 * IPA-RA: at -O2 GCC lets a caller keep values in call-clobbered registers
 * across a call to a function of the same unit that, as compiled, leaves
 * those registers alone (-fipa-ra).  A new body that clobbers more breaks
 * every caller that relied on the old set.
 *
 * The patched unit was compiled as a whole, so a caller whose code is the
 * same in both builds was compiled knowing the new callee's clobbers and
 * is correct with it -- provided the running caller really is that code.
 * Callers whose code differs are in the patch already.  So for every
 * function whose clobber set may have grown (transitively through the
 * unit's calls), we
 *   - report the callers that are in the patch as pulled in for that
 *     reason when nothing else explains their change, and
 *   - verify every other caller against the running binary's bytes; one
 *     that does not match refuses the build with this reason.
 *
 * Clobber sets come from our own decoder (x86.c): "must" (registers the
 * code certainly writes) for the old body, "may" (everything it might
 * write) for the new one, so a growth is never missed for an instruction
 * we do not model.  Only call-clobbered registers count: a callee that
 * saves and restores %rbx does not clobber it for its callers.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "shared/x86.h"

struct clob {
	uint64_t own_must, own_may;	/* of the function's own instructions (its cold part included) */
	uint64_t must, may;		/* transitively through calls inside the unit */
};

/* The function section (not a cold part) a relocation at a branch points into, or NULL when outside the unit. */
static struct ob_sec *branch_target(const struct ob_obj *o, const struct ob_rela *r)
{
	struct ob_sec *s = r->sym->sec;

	(void)o;
	if (!s || !ob_is_text(s))
		return NULL;
	return s->parent ? s->parent : s;
}

static const struct ob_rela *rela_at(const struct ob_sec *s, uint64_t off)
{
	size_t i;

	for (i = 0; i < s->nrelas; i++)
		if (s->relas[i].offset == off)
			return &s->relas[i];
	return NULL;
}

/* Does a code section use a jump table (a relocation into an anonymous read-only data section)? */
static bool has_jump_table(const struct ob_sec *s)
{
	size_t i;

	for (i = 0; i < s->nrelas; i++) {
		const struct ob_sec *t = s->relas[i].sym->sec;

		if (t && ob_is_data(t) && !t->primary && !(t->sh.sh_flags & (SHF_WRITE | SHF_MERGE)))
			return true;
	}
	return false;
}

/* Own effects of one code section; calls out of the unit count as the ABI's clobbers. */
static void scan(const struct ob_obj *o, const struct ob_sec *s, struct clob *c)
{
	bool table = has_jump_table(s);
	uint64_t i = 0;

	if (!s->data)
		return;
	while (i < s->sh.sh_size) {
		struct x86_insn in;
		const struct ob_rela *r;

		if (x86_decode(s->data + i, s->sh.sh_size - i, &in) < 0) {
			c->own_may = X86_ALL;
			return;
		}
		c->own_must |= in.must;
		/* An indirect jump in a function with a jump table is its switch, not a tail call. */
		c->own_may |= in.flow == X86_IJMP && table ? in.may & ~(X86_ABI_CLOBBER & ~in.must) : in.may;
		if ((in.flow == X86_CALL || in.flow == X86_JMP) && in.rel_size == 4) {
			struct ob_sec *t;

			r = rela_at(s, i + in.rel_off);
			t = r ? branch_target(o, r) : NULL;
			if (r && !t) {
				/* another unit or a library: whatever the ABI allows */
				c->own_must |= X86_ABI_CLOBBER;
				c->own_may |= X86_ABI_CLOBBER;
			}
		}
		i += in.len;
	}
}

/*
 * Add to a register set of each function (the uint64_t at off in the
 * elem-sized element of v, indexed by section) the sets of the unit's
 * functions it calls, until nothing grows: sets only grow, so this ends.
 */
static void propagate(const struct ob_obj *o, void *v, size_t elem, size_t off)
{
	bool changed = true;
	int rounds = 0;
	size_t i, k;

#define SET(idx) (*(uint64_t *)((char *)v + (idx) * elem + off))
	while (changed && rounds++ < 1000) {
		changed = false;
		for (i = 1; i < o->nsecs; i++) {
			const struct ob_sec *s = &o->secs[i];
			const struct ob_sec *parts[2] = { s, s->cold };
			int p;

			if (!ob_is_text(s) || s->parent)
				continue;
			for (p = 0; p < 2; p++)
				for (k = 0; parts[p] && k < parts[p]->nrelas; k++) {
					struct ob_sec *t = branch_target(o, &parts[p]->relas[k]);

					if (t && t != s && (SET(t->index) & ~SET(i))) {
						SET(i) |= SET(t->index);
						changed = true;
					}
				}
		}
	}
#undef SET
}

/* Transitive clobber sets of every function section of an object (indexed by section). */
static struct clob *clobbers(const struct ob_obj *o)
{
	struct clob *c = calloc(o->nsecs, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *s = &o->secs[i];

		if (!ob_is_text(s) || s->parent)
			continue;
		scan(o, s, &c[i]);
		if (s->cold)
			scan(o, s->cold, &c[i]);
		c[i].must = c[i].own_must;
		c[i].may = c[i].own_may;
	}
	/* Add the callees', until nothing grows (the sets only grow, so this ends). */
	propagate(o, c, sizeof(*c), offsetof(struct clob, must));
	propagate(o, c, sizeof(*c), offsetof(struct clob, may));
	return c;
}

static const char *const gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

/* "%rcx, %rdx and vector registers" for a register set. */
static void reg_names(uint64_t set, char *buf, size_t size)
{
	size_t used = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < 16 && used + 8 < size; i++)
		if (set & (1ull << i))
			used += (size_t)snprintf(buf + used, size - used, "%s%%%s", used ? ", " : "", gpr_names[i]);
	if ((set & X86_ALL_XMM) == X86_ALL_XMM)
		snprintf(buf + used, size - used, "%sall vector registers", used ? " and " : "");
	else
		for (i = 16; i < 32 && used + 10 < size; i++)
			if (set & (1ull << i))
				used += (size_t)snprintf(buf + used, size - used, "%s%%xmm%d", used ? ", " : "", i - 16);
	if (!buf[0])
		snprintf(buf, size, "x87 or AVX-512 state");
}

/* Does code section s refer to the entry of function section f? */
static bool refers_to(const struct ob_obj *o, const struct ob_sec *s, const struct ob_sec *f)
{
	size_t i;

	for (i = 0; i < s->nrelas; i++) {
		int64_t off;
		struct ob_sym *y = rela_object(o, &s->relas[i], &off);

		if (y->sec == f && off == 0 && (y->type == STT_FUNC || y->type == STT_SECTION))
			return true;
	}
	return false;
}

/* A caller of a function whose clobbers grew: pulled-in reason, or proof from the running binary. */
static int check_caller(struct builder *b, struct unit *u, struct ob_sec *caller, struct ob_sec *callee,
			const char *regs)
{
	const struct hp_sym *ts;
	struct ob_sym *cf = caller->primary, *ff = callee->primary;
	char *why;
	int r;

	if (!cf || !ff)
		return 0;
	if (caller->status != OB_SAME) {
		if (caller->status != OB_CHANGED || !caller->why ||
		    (!caller->why_weak && strcmp(caller->why, "body changed")))
			return 0;
		if (caller->why_weak) {
			if (asprintf(&why, "pulled in: IPA-RA: it calls %s, whose new body also clobbers %s, which "
					   "its code relied on (-fipa-ra)", ff->name, regs) < 0)
				return -ENOMEM;
			caller->action = HP_BUILD_PULLED;
			caller->why_weak = false;
		} else if (asprintf(&why, "body changed; it also calls %s, whose new body clobbers %s (IPA-RA)",
				    ff->name, regs) < 0) {
			return -ENOMEM;
		}
		caller->why = bld_own(b, why);
		return 0;
	}
	if (!caller->twin || !caller->twin->primary)
		return 0;
	r = tgt_lookup(b, u, caller->twin->primary, &ts);
	if (r == -ENOENT)
		return 0;		/* not in the running binary: nothing runs it */
	if (r < 0)
		return r;
	r = tgt_matches(b, u, caller->twin, ts);
	if (r < 0)
		return r;
	if (r) {
		caller->twin->verified = true;
		return 0;
	}
	return bld_refuse(b, ff->name, u->tu,
			  "IPA-RA hazard: the new body also clobbers %s; its caller %s may keep values there across "
			  "the call (-fipa-ra), and the running %s is not the rebuilt one, so that cannot be shown "
			  "safe", regs, cf->name, cf->name);
}

/*
 * Registers each function of the patched object may now clobber beyond
 * what its original certainly clobbered: its own growth if its code
 * changed, plus, transitively, that of the functions it calls.  Functions
 * whose whole call closure is unchanged cannot have grown.
 */
static uint64_t *growth(const struct unit *u, const struct clob *co, const struct clob *cp)
{
	const struct ob_obj *o = u->patched;
	uint64_t *g = calloc(o->nsecs, sizeof(*g));
	size_t i;

	if (!g)
		return NULL;
	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *p = &o->secs[i];

		if (!ob_is_text(p) || p->parent || !p->twin || p->status == OB_SAME)
			continue;
		g[i] = cp[i].may & ~co[p->twin->index].must & X86_ABI_CLOBBER;
	}
	propagate(o, g, sizeof(*g), 0);
	return g;
}

/* Check every function whose clobbers may have grown: give its patched callers the reason, verify the others. */
int ipara_unit(struct builder *b, struct unit *u)
{
	_cleanup_free_ struct clob *co = clobbers(u->orig);
	_cleanup_free_ struct clob *cp = clobbers(u->patched);
	_cleanup_free_ uint64_t *g = NULL;
	size_t i, k;
	int r;

	if (!co || !cp)
		return -ENOMEM;
	g = growth(u, co, cp);
	if (!g)
		return -ENOMEM;
	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *p = &u->patched->secs[i];
		uint64_t grown = g[i];
		char regs[256];

		if (!ob_is_text(p) || p->parent || !p->twin || !p->primary || p->primary->type != STT_FUNC || !grown)
			continue;
		reg_names(grown, regs, sizeof(regs));
		hp_debug(b->ctx, "build: %s: %s may now clobber %s", u->tu, p->primary->name, regs);
		for (k = 1; k < u->patched->nsecs; k++) {
			struct ob_sec *c = &u->patched->secs[k];
			struct ob_sec *fn = c->parent ? c->parent : c;

			if (!ob_is_text(c) || fn == p || !refers_to(u->patched, c, p))
				continue;
			r = check_caller(b, u, fn, p, regs);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
