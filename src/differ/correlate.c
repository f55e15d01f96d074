/* SPDX-License-Identifier: MIT */
/*
 * Correlation: pair each symbol and section of the patched object with its
 * twin in the original.
 *
 * Names chosen in the source are stable, so they pair by name.  Names the
 * compiler makes up are not: "counter.5" becomes "counter.6" when the fix
 * adds a static above it, "f.constprop.0" becomes "f.constprop.1" when a
 * second clone appears.  Those pair by structure:
 *
 *   - a function-scope static by its scope (DWARF: the function, possibly
 *     an inlined-only helper, its name, and which same-named static of that
 *     function it is), else by the functions that use it and the order of
 *     their first uses;
 *   - a cold part by the function it belongs to;
 *   - a clone by its origin and kind, and among several by content;
 *   - compiler-private constants (__func__, CSWTCH tables, literals) are
 *     not paired at all: the patch carries them and compares them by
 *     content.
 *
 * A wrong pairing of a clone is harmless (callers that differ are patched;
 * callers that do not were compiled against the new clone), but a wrong
 * pairing of a static would silently hand its state to another variable,
 * so statics that cannot be paired with certainty stay unpaired and are
 * refused later if the original one was in use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"

/* Twins point at each other. */
static void pair(struct ob_sym *o, struct ob_sym *p)
{
	o->twin = p;
	p->twin = o;
}

/* Same kind of thing: both functions, both data objects or both thread-locals, with the same locality. */
static bool same_class(const struct ob_sym *a, const struct ob_sym *b)
{
	return a->type == b->type && (a->bind == STB_LOCAL) == (b->bind == STB_LOCAL);
}

/* Only symbols with a definition in this object take part in pairing. */
static bool defined(const struct ob_sym *y)
{
	return y->sec && y->type != STT_SECTION && y->type != STT_FILE && *y->name;
}

/* Names from the source pair by name. */
static void pair_plain(struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *p = &u->patched->syms[i];

		if (!defined(p) || p->kind != OB_K_PLAIN)
			continue;
		for (k = 1; k < u->orig->nsyms; k++) {
			struct ob_sym *o = &u->orig->syms[k];

			if (!o->twin && defined(o) && o->kind == OB_K_PLAIN && same_class(o, p) &&
			    !strcmp(o->name, p->name)) {
				pair(o, p);
				break;
			}
		}
	}
}

/* The name without numeric components: "f.constprop.3" -> "f.constprop", "f.isra.0.part.1" -> "f.isra.part". */
static void shape(const char *name, char *buf, size_t size)
{
	size_t w = 0;
	const char *p = name;

	while (*p && w + 1 < size) {
		if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
			continue;
		}
		buf[w++] = *p++;
	}
	buf[w] = 0;
}

/* How alike two clones are: identical bytes and call targets score highest, then closeness in size. */
static long clone_score(const struct ob_sym *o, const struct ob_sym *p)
{
	const struct ob_sec *a = o->sec, *b = p->sec;
	long score = -(long)(a->sh.sh_size > b->sh.sh_size ? a->sh.sh_size - b->sh.sh_size
							      : b->sh.sh_size - a->sh.sh_size);
	size_t i;

	if (a->sh.sh_size == b->sh.sh_size && a->nrelas == b->nrelas && a->data && b->data) {
		_cleanup_free_ uint8_t *mask = reloc_mask(a);
		bool same = mask != NULL;

		for (i = 0; same && i < a->sh.sh_size; i++)
			same = mask[i] || a->data[i] == b->data[i];
		for (i = 0; same && i < a->nrelas; i++)
			same = a->relas[i].offset == b->relas[i].offset &&
			       !strcmp(a->relas[i].sym->name, b->relas[i].sym->name);
		if (same)
			score += 1000000;
	}
	return score;
}

/* Clones pair within their shape: by name when both sides have the same names, else by likeness. */
static void pair_clones(struct unit *u)
{
	size_t i, k;
	char si[512], sk[512];

	for (i = 1; i < u->orig->nsyms; i++) {
		struct ob_sym *o = &u->orig->syms[i];

		if (!defined(o) || o->kind != OB_K_CLONE || o->twin || o->s.st_value)
			continue;
		for (k = 1; k < u->patched->nsyms; k++) {
			struct ob_sym *p = &u->patched->syms[k];

			if (!p->twin && defined(p) && p->kind == OB_K_CLONE && same_class(o, p) &&
			    !strcmp(o->name, p->name)) {
				pair(o, p);
				break;
			}
		}
	}
	/* Clones whose numbering moved: the best-scoring pairs of each shape. */
	for (;;) {
		struct ob_sym *bo = NULL, *bp = NULL;
		long best = 0;
		bool any = false;

		for (i = 1; i < u->orig->nsyms; i++) {
			struct ob_sym *o = &u->orig->syms[i];

			if (!defined(o) || o->kind != OB_K_CLONE || o->twin || o->s.st_value)
				continue;
			shape(o->name, si, sizeof(si));
			for (k = 1; k < u->patched->nsyms; k++) {
				struct ob_sym *p = &u->patched->syms[k];
				long sc;

				if (p->twin || !defined(p) || p->kind != OB_K_CLONE || !same_class(o, p) ||
				    p->s.st_value)
					continue;
				shape(p->name, sk, sizeof(sk));
				if (strcmp(si, sk))
					continue;
				sc = clone_score(o, p);
				if (!any || sc > best) {
					best = sc;
					bo = o;
					bp = p;
					any = true;
				}
			}
		}
		if (!any)
			break;
		pair(bo, bp);
	}
}

/* A cold part pairs with the cold part of its function's twin. */
static void pair_cold(struct unit *u)
{
	size_t i;

	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *p = &u->patched->syms[i], *fp, *fo;

		if (!defined(p) || p->kind != OB_K_COLD || p->twin || !p->sec->parent)
			continue;
		fp = p->sec->parent->primary;
		fo = fp ? fp->twin : NULL;
		if (fo && fo->sec && fo->sec->cold && fo->sec->cold->primary && !fo->sec->cold->primary->twin)
			pair(fo->sec->cold->primary, p);
	}
}

/* The static a relocation refers to, if it refers to a numbered static. */
static struct ob_sym *static_of(const struct ob_obj *o, const struct ob_rela *r)
{
	struct ob_sym *y = rela_object(o, r, NULL);

	return y && y->kind == OB_K_STATIC ? y : NULL;
}

/*
 * Without DWARF: the k-th distinct static named like y (same base name)
 * that function section f refers to, counting in the order of first use.
 */
static long use_rank(const struct ob_obj *o, const struct ob_sec *f, const struct ob_sym *y)
{
	const struct ob_sym *seen[64];
	size_t n = 0, i, k;

	for (i = 0; i < f->nrelas; i++) {
		struct ob_sym *s = static_of(o, &f->relas[i]);

		if (!s || s->baselen != y->baselen || strncmp(s->name, y->name, y->baselen))
			continue;
		for (k = 0; k < n; k++)
			if (seen[k] == s)
				break;
		if (k < n)
			continue;
		if (s == y)
			return (long)n;
		if (n < 64)
			seen[n++] = s;
	}
	return -1;
}

/* The functions that use a static: sections of code that refer to it. */
static bool uses(const struct ob_obj *o, const struct ob_sec *f, const struct ob_sym *y)
{
	size_t i;

	for (i = 0; i < f->nrelas; i++)
		if (static_of(o, &f->relas[i]) == y)
			return true;
	return false;
}

/* Pair p with the unique unpaired original static of its base name used, at the same rank, by the same functions. */
static struct ob_sym *static_by_use(struct unit *u, struct ob_sym *p)
{
	struct ob_sym *cand = NULL;
	size_t i, k, n = 0;

	for (i = 1; i < u->orig->nsyms; i++) {
		struct ob_sym *o = &u->orig->syms[i];
		bool ok = false, bad = false;

		if (o->twin || !defined(o) || o->kind != OB_K_STATIC || !same_class(o, p) ||
		    o->baselen != p->baselen || strncmp(o->name, p->name, o->baselen))
			continue;
		for (k = 1; k < u->patched->nsecs && !bad; k++) {
			struct ob_sec *fp = &u->patched->secs[k];

			if (!ob_is_text(fp) || !fp->twin || !uses(u->patched, fp, p))
				continue;
			if (uses(u->orig, fp->twin, o) && use_rank(u->orig, fp->twin, o) == use_rank(u->patched, fp, p))
				ok = true;
			else if (use_rank(u->orig, fp->twin, o) >= 0)
				bad = true;	/* the same function uses it, but at another rank */
		}
		if (ok && !bad) {
			cand = o;
			n++;
		}
	}
	return n == 1 ? cand : NULL;
}

/*
 * Function-scope statics pair by scope: DWARF keys when both objects have
 * them, else by use.  Same-named statics of one function pair in order,
 * which is only sound while their number stays the same: a fix that adds
 * or removes one of them leaves no way to tell which is which.
 */
static int pair_statics(struct builder *b, struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *p = &u->patched->syms[i];
		const char *kp;
		size_t np, no;

		if (!defined(p) || p->kind != OB_K_STATIC || p->twin)
			continue;
		kp = di_static_key(u->di_patched, p->sec->index, p->s.st_value);
		if (!kp)
			continue;
		np = di_static_count(u->di_patched, kp);
		no = di_static_count(u->di_orig, kp);
		if (no && np != no) {
			const char *slash = strchr(kp, '/'), *hash = strrchr(kp, '#');

			return bld_refuse(b, p->name, u->tu,
					  "the fix changes how many statics named '%.*s' %.*s has (%zu -> %zu); which "
					  "one holds the old state cannot be told (give the new one its own name)",
					  slash && hash ? (int)(hash - slash - 1) : 0, slash ? slash + 1 : "",
					  slash ? (int)(slash - kp) : 0, kp, no, np);
		}
		for (k = 1; k < u->orig->nsyms; k++) {
			struct ob_sym *o = &u->orig->syms[k];
			const char *ko;

			if (o->twin || !defined(o) || o->kind != OB_K_STATIC || !same_class(o, p))
				continue;
			ko = di_static_key(u->di_orig, o->sec->index, o->s.st_value);
			if (ko && !strcmp(ko, kp)) {
				pair(o, p);
				break;
			}
		}
	}
	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *p = &u->patched->syms[i], *o;

		if (!defined(p) || p->kind != OB_K_STATIC || p->twin)
			continue;
		if (di_static_key(u->di_patched, p->sec->index, p->s.st_value) && u->di_orig)
			continue;	/* DWARF knows it and found no twin: a new static */
		o = static_by_use(u, p);
		if (o)
			pair(o, p);
	}
	return 0;
}

/* Sections follow their symbols; sections without one (jump tables, literal pools) pair by name. */
static void pair_sections(struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *p = &u->patched->secs[i];

		if (p->primary && p->primary->twin && p->primary->twin->sec &&
		    p->primary->twin->sec->primary == p->primary->twin && !p->primary->twin->sec->twin) {
			p->twin = p->primary->twin->sec;
			p->twin->twin = p;
		}
	}
	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *p = &u->patched->secs[i];

		if (p->twin || p->primary || !(p->sh.sh_flags & SHF_ALLOC))
			continue;
		for (k = 1; k < u->orig->nsecs; k++) {
			struct ob_sec *o = &u->orig->secs[k];

			if (!o->twin && !o->primary && o->sh.sh_type == p->sh.sh_type && !strcmp(o->name, p->name)) {
				p->twin = o;
				o->twin = p;
				break;
			}
		}
	}
}

/* All pairing, in the order each step needs: names, clones, cold parts, code, statics, data. */
int correlate_unit(struct builder *b, struct unit *u)
{
	int r;

	pair_plain(u);
	pair_clones(u);
	pair_cold(u);
	pair_sections(u);	/* code sections first: statics are paired through the functions using them */
	r = pair_statics(b, u);
	if (r < 0)
		return r;
	pair_sections(u);
	return 0;
}
