/* SPDX-License-Identifier: MIT */
/*
 * Comparison: which functions of a unit changed, and whether the fix
 * changes existing data (refused).
 *
 * Two pieces of code or data are equal when their bytes are equal outside
 * relocated fields and each pair of relocations refers to the same thing:
 * the same import, the twin function at the same offset, the twin
 * variable, or -- for constants the patch carries itself (literals,
 * __func__, jump tables, switch tables) -- equal content, compared
 * recursively.  Names of compiler-made symbols never decide equality.
 *
 * Line-number noise: a line inserted above an assert() or a __LINE__ user
 * changes only the immediate that holds the line number.  A function whose
 * bytes differ only in immediates that equal, in each build, the source
 * line of their own instruction (the DWARF line table says which) or the
 * call line of an inlined helper it belongs to (a macro passing __LINE__
 * to a helper), at the same place in both builds -- or lie the same few
 * lines below it, for a statement spanning lines -- and moved exactly as
 * far as that line did, is treated as unchanged: no real fix makes a
 * constant track its own line number in both versions.  The running code then reports the old line in
 * its messages, which is the price of not patching it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "shared/x86.h"

#define MAX_DEPTH 16

/* Bytes covered by relocations, which are compared through their symbols instead (malloc'ed). */
uint8_t *reloc_mask(const struct ob_sec *s)
{
	uint8_t *m = calloc(1, s->sh.sh_size ? s->sh.sh_size : 1);
	size_t i;

	if (!m)
		return NULL;
	for (i = 0; i < s->nrelas; i++) {
		int w = hp_reloc_width(s->relas[i].type);
		uint64_t k;

		if (w <= 0)
			w = 8;
		for (k = 0; k < (uint64_t)w && s->relas[i].offset + k < s->sh.sh_size; k++)
			m[s->relas[i].offset + k] = 1;
	}
	return m;
}

/* Code is reported and replaced per function: a cold part belongs to its parent. */
struct ob_sym *func_of(const struct ob_sec *s)
{
	if (s->parent)
		s = s->parent;
	return s->primary && s->primary->type == STT_FUNC ? s->primary : NULL;
}

/* Relocations name sections as often as symbols: find the object or function they mean. */
struct ob_sym *rela_object(const struct ob_obj *o, const struct ob_rela *r, int64_t *ret_off)
{
	struct ob_sym *t = r->sym, *y;
	int64_t off = ob_rela_target_off(r);

	if (!t->sec) {
		if (ret_off)
			*ret_off = r->addend;
		return t;
	}
	y = off >= 0 ? ob_sym_at(o, t->sec, (uint64_t)off) : NULL;
	if (!y)
		y = t;
	if (ret_off)
		*ret_off = off - (y->type == STT_SECTION ? 0 : (int64_t)y->s.st_value);
	return y;
}

/* Forward declaration: constants compare recursively through their relocations. */
static int range_equal(struct unit *u, const struct ob_sec *a, uint64_t aoff, const struct ob_sec *b, uint64_t boff,
		       uint64_t len, int depth, bool *bytes_only);

/* Bytes of a mergeable constant section at off, one entry wide. */
static bool merge_equal(const struct ob_sec *a, int64_t ao, const struct ob_sec *b, int64_t bo)
{
	uint64_t e = a->sh.sh_entsize ? a->sh.sh_entsize : 1;

	if (a->sh.sh_entsize != b->sh.sh_entsize || ao < 0 || bo < 0 || !a->data || !b->data ||
	    (uint64_t)ao % e != (uint64_t)bo % e)
		return false;
	ao -= (int64_t)((uint64_t)ao % e);
	bo -= (int64_t)((uint64_t)bo % e);
	if ((uint64_t)ao + e > a->sh.sh_size || (uint64_t)bo + e > b->sh.sh_size)
		return false;
	return !memcmp(a->data + ao, b->data + bo, e);
}

/*
 * Where the item at off of an anonymous constant section ends: at the next
 * offset anything points to (a relocation of any section of the object, a
 * symbol) or the end of the section.
 */
static uint64_t item_end(const struct ob_obj *o, const struct ob_sec *s, uint64_t off)
{
	uint64_t end = s->sh.sh_size;
	size_t i, k;

	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *c = &o->secs[i];

		if (!(c->sh.sh_flags & SHF_ALLOC))
			continue;
		for (k = 0; k < c->nrelas; k++) {
			int64_t t;

			if (c->relas[k].sym->sec != s)
				continue;
			t = ob_rela_target_off(&c->relas[k]);
			if (t > (int64_t)off && (uint64_t)t < end)
				end = (uint64_t)t;
		}
	}
	for (i = 1; i < o->nsyms; i++) {
		const struct ob_sym *y = &o->syms[i];

		if (y->sec == s && y->type != STT_SECTION && y->s.st_value > off && y->s.st_value < end)
			end = y->s.st_value;
	}
	return end;
}

/*
 * Two references into anonymous read-only data (-O0 puts every literal of
 * a file and its jump tables in one .rodata): equal when what they point
 * to is, wherever it moved.  A C string compares by content; anything
 * else by its extent up to the next thing pointed to, relocations
 * included, alignment padding at the end (zero bytes) aside.
 */
static int item_equal(struct unit *u, const struct ob_sec *sa, int64_t ao, const struct ob_sec *sb, int64_t bo,
		      int depth)
{
	uint64_t ea, eb, la, lb, n, i;
	bool dummy;
	int r;

	if (ao < 0 || bo < 0 || (uint64_t)ao >= sa->sh.sh_size || (uint64_t)bo >= sb->sh.sh_size ||
	    (sa->sh.sh_flags & (SHF_WRITE | SHF_EXECINSTR)) || (sb->sh.sh_flags & (SHF_WRITE | SHF_EXECINSTR)) ||
	    sa->sh.sh_type == SHT_NOBITS || sb->sh.sh_type == SHT_NOBITS || !sa->data || !sb->data)
		return 0;
	ea = item_end(u->orig, sa, (uint64_t)ao);
	eb = item_end(u->patched, sb, (uint64_t)bo);
	la = ea - (uint64_t)ao;
	lb = eb - (uint64_t)bo;
	{
		const char *x = ob_string_at(sa, ao), *y = ob_string_at(sb, bo);
		size_t i2, k;
		bool relocated = false;

		/* a string with no relocation inside it: its content */
		for (k = 0; x && y && k < sa->nrelas; k++)
			if (sa->relas[k].offset >= (uint64_t)ao && sa->relas[k].offset < (uint64_t)ao + strlen(x) + 1)
				relocated = true;
		for (k = 0; x && y && k < sb->nrelas; k++)
			if (sb->relas[k].offset >= (uint64_t)bo && sb->relas[k].offset < (uint64_t)bo + strlen(y) + 1)
				relocated = true;
		if (x && y && !relocated && strlen(x) + 1 <= la && strlen(y) + 1 <= lb) {
			for (i2 = 0; x[i2] && (unsigned char)x[i2] >= 0x20; i2++)
				;
			if (!x[i2])
				return !strcmp(x, y);
		}
	}
	n = la < lb ? la : lb;
	r = range_equal(u, sa, (uint64_t)ao, sb, (uint64_t)bo, n, depth + 1, &dummy);
	if (r != 1)
		return r;
	/* the longer one may only have padding left: zero bytes, nothing relocated */
	for (i = 0; i < sa->nrelas; i++)
		if (sa->relas[i].offset >= (uint64_t)ao + n && sa->relas[i].offset < ea)
			return 0;
	for (i = 0; i < sb->nrelas; i++)
		if (sb->relas[i].offset >= (uint64_t)bo + n && sb->relas[i].offset < eb)
			return 0;
	for (i = n; i < la; i++)
		if (sa->data[ao + (int64_t)i])
			return 0;
	for (i = n; i < lb; i++)
		if (sb->data[bo + (int64_t)i])
			return 0;
	return 1;
}

/* Do two relocations refer to the same thing (see the file comment)? depth bounds recursion. */
static int rela_eq(struct unit *u, const struct ob_rela *a, const struct ob_rela *b, int depth)
{
	int64_t ao, bo;
	struct ob_sym *ya = rela_object(u->orig, a, &ao), *yb = rela_object(u->patched, b, &bo);
	const struct ob_sec *sa = a->sym->sec, *sb = b->sym->sec;
	int64_t sao = ob_rela_target_off(a), sbo = ob_rela_target_off(b);

	if (a->type != b->type)
		return 0;
	if (!sa || !sb) {
		if (sa || sb || a->sym->s.st_shndx != b->sym->s.st_shndx)
			return 0;
		if (a->sym->s.st_shndx == SHN_ABS)
			return a->sym->s.st_value == b->sym->s.st_value && a->addend == b->addend;
		return !strcmp(a->sym->name, b->sym->name) && a->addend == b->addend;
	}
	if (ob_is_text(sa) != ob_is_text(sb))
		return 0;
	if (ob_is_text(sa)) {
		/* Code: the twin function (or cold part) at the same offset inside it. */
		if (ya->type == STT_SECTION || yb->type == STT_SECTION)
			return ya->type == yb->type && sa->twin == sb && sao == sbo;
		return ya->twin == yb && ao == bo;
	}
	if (ob_is_string_sec(sa) || ob_is_string_sec(sb)) {
		const char *x = ob_string_at(sa, sao), *y = ob_string_at(sb, sbo);

		return ob_is_string_sec(sa) && ob_is_string_sec(sb) && x && y && !strcmp(x, y);
	}
	if ((sa->sh.sh_flags & SHF_MERGE) || (sb->sh.sh_flags & SHF_MERGE))
		return (sa->sh.sh_flags & SHF_MERGE) && (sb->sh.sh_flags & SHF_MERGE) && merge_equal(sa, sao, sb, sbo);
	/* Data the target has: the twin object at the same offset. */
	if (ya->type != STT_SECTION && ya->kind != OB_K_CONST && ya->twin)
		return ya->twin == yb && ao == bo;
	if (yb->type != STT_SECTION && yb->kind != OB_K_CONST && !yb->twin)
		return 0;		/* a new variable */
	/* Constants the patch carries: equal content. */
	if (depth >= MAX_DEPTH)
		return 0;
	if (!ya->s.st_size || !yb->s.st_size || ya->type == STT_SECTION || yb->type == STT_SECTION) {
		bool dummy;
		int r;

		/* An anonymous table or a label of a literal pool: the whole section, at the same offset. */
		if (sao == sbo && sa->sh.sh_size == sb->sh.sh_size &&
		    range_equal(u, sa, 0, sb, 0, sa->sh.sh_size, depth + 1, &dummy) == 1)
			return 1;
		/* Else what lies there: other literals of the pool moved it, not changed it. */
		r = item_equal(u, sa, sao, sb, sbo, depth);
		return r < 0 ? 0 : r;
	}
	{
		bool dummy;

		return ao == bo && ya->s.st_size == yb->s.st_size &&
		       range_equal(u, sa, ya->s.st_value, sb, yb->s.st_value, ya->s.st_size, depth + 1, &dummy) == 1;
	}
}

/* Public entry of rela_eq for the other passes. */
int cmp_rela(struct unit *u, const struct ob_rela *a, const struct ob_rela *b)
{
	return rela_eq(u, a, b, 0);
}

/* The relocations of s whose field lies in [off, off + len), as a range of indexes (they are sorted by offset). */
static size_t relas_in(const struct ob_sec *s, uint64_t off, uint64_t len, size_t *first)
{
	size_t i, n = 0;

	*first = SIZE_MAX;
	for (i = 0; i < s->nrelas; i++)
		if (s->relas[i].offset >= off && s->relas[i].offset < off + len) {
			if (*first == SIZE_MAX)
				*first = i;
			n++;
		}
	return n;
}

/*
 * Compare len bytes at aoff of a (original) with boff of b (patched).
 * Returns 1 equal, 0 different, -ENOMEM.  *bytes_only tells, when they
 * differ, whether every relocation matched (only raw bytes differ).
 */
static int range_equal(struct unit *u, const struct ob_sec *a, uint64_t aoff, const struct ob_sec *b, uint64_t boff,
		       uint64_t len, int depth, bool *bytes_only)
{
	_cleanup_free_ uint8_t *ma = NULL, *mb = NULL;
	size_t fa, fb, na, nb, i;
	bool differ = false;

	*bytes_only = false;
	if (aoff + len > a->sh.sh_size || boff + len > b->sh.sh_size)
		return 0;
	if ((a->sh.sh_type == SHT_NOBITS) != (b->sh.sh_type == SHT_NOBITS))
		return 0;
	na = relas_in(a, aoff, len, &fa);
	nb = relas_in(b, boff, len, &fb);
	if (na != nb)
		return 0;
	/* Relocations can be listed out of offset order; match them by offset. */
	for (i = 0; i < na; i++) {
		const struct ob_rela *ra = &a->relas[fa + i];
		size_t k;
		bool found = false;

		for (k = 0; k < nb && !found; k++) {
			const struct ob_rela *rb = &b->relas[fb + k];

			if (rb->offset - boff == ra->offset - aoff) {
				if (!rela_eq(u, ra, rb, depth))
					return 0;
				found = true;
			}
		}
		if (!found)
			return 0;
	}
	if (a->sh.sh_type == SHT_NOBITS)
		return 1;
	ma = reloc_mask(a);
	mb = reloc_mask(b);
	if (!ma || !mb)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (ma[aoff + i] != mb[boff + i])
			return 0;
		if (!ma[aoff + i] && a->data[aoff + i] != b->data[boff + i])
			differ = true;
	}
	*bytes_only = differ;
	return !differ;
}

/* The signed value of an immediate field of the given width. */
static int64_t imm_value(const uint8_t *p, unsigned size)
{
	int64_t v = 0;

	switch (size) {
	case 1:
		v = (int8_t)p[0];
		break;
	case 2: {
		int16_t x;

		memcpy(&x, p, 2);
		v = x;
		break;
	}
	case 4: {
		int32_t x;

		memcpy(&x, p, 4);
		v = x;
		break;
	}
	case 8:
		memcpy(&v, p, 8);
		break;
	}
	return v;
}

/* Do two code sections of equal size differ only in immediates that are their instructions' line numbers? */
static bool lines_only(struct unit *u, const struct ob_sec *a, const struct ob_sec *b, unsigned *nlines)
{
	_cleanup_free_ uint8_t *mask = reloc_mask(a);
	uint64_t i = 0;

	*nlines = 0;
	if (!mask || !u->di_orig || !u->di_patched || !a->data || !b->data)
		return false;
	while (i < a->sh.sh_size) {
		struct x86_insn ia, ib;
		uint64_t k;
		int64_t va, vb;
		int la[8], lb[8], na, nb;

		if (x86_decode(a->data + i, a->sh.sh_size - i, &ia) < 0 ||
		    x86_decode(b->data + i, b->sh.sh_size - i, &ib) < 0 || ia.len != ib.len)
			return false;
		if (!memcmp(a->data + i, b->data + i, ia.len)) {
			i += ia.len;
			continue;
		}
		for (k = 0; k < ia.len; k++) {
			bool in_imm = ia.imm_size && k >= ia.imm_off && k < (uint64_t)ia.imm_off + ia.imm_size;

			if (a->data[i + k] != b->data[i + k] && (!in_imm || mask[i + k]))
				return false;
		}
		if (ia.imm_off != ib.imm_off || ia.imm_size != ib.imm_size)
			return false;
		va = imm_value(a->data + i + ia.imm_off, ia.imm_size);
		vb = imm_value(b->data + i + ib.imm_off, ib.imm_size);
		na = di_lines_at(u->di_orig, a->index, i, la, 8);
		nb = di_lines_at(u->di_patched, b->index, i, lb, 8);
		/* Its own line, or a few lines into a statement that spans several (a macro's __LINE__). */
		for (k = 0; k < (uint64_t)na && k < (uint64_t)nb; k++)
			if (va - la[k] == vb - lb[k] && va - la[k] >= 0 && va - la[k] <= 4 && la[k] != lb[k])
				break;
		if (k >= (uint64_t)na || k >= (uint64_t)nb)
			return false;
		(*nlines)++;
		i += ia.len;
	}
	return true;
}

/* Is a function's code the same in both builds (1), or not (0)? */
static int code_equal(struct builder *b, struct unit *u, struct ob_sec *o, struct ob_sec *p)
{
	bool bytes_only;
	unsigned n;
	int r;

	if (o->sh.sh_size != p->sh.sh_size)
		return 0;
	r = range_equal(u, o, 0, p, 0, o->sh.sh_size, 0, &bytes_only);
	if (r != 0 || !bytes_only)
		return r;
	if (!lines_only(u, o, p, &n))
		return 0;
	bld_event(b, HP_BUILD_NOTE, func_of(p) ? func_of(p)->name : p->name, u->tu,
		  "unchanged: only %u line number%s moved (__LINE__, assert); the running code keeps the old one%s", n,
		  n == 1 ? "" : "s", n == 1 ? "" : "s");
	return 1;
}

/* Is the object carried by the patch rather than bound to the target's copy? */
static bool carried(const struct ob_sym *y)
{
	return y->kind == OB_K_CONST || !y->twin;
}

/* An existing variable must keep its size, section kind and initial value. */
static int compare_object(struct builder *b, struct unit *u, struct ob_sym *p)
{
	struct ob_sym *o = p->twin;
	bool bytes_only;
	int r;

	if (p->s.st_size != o->s.st_size)
		return bld_refuse(b, o->name, u->tu,
				  "the fix changes the size of an existing variable (%" PRIu64 " -> %" PRIu64
				  " bytes); running code still uses the old layout", o->s.st_size, p->s.st_size);
	if ((p->sec->sh.sh_type == SHT_NOBITS) != (o->sec->sh.sh_type == SHT_NOBITS) ||
	    (p->sec->sh.sh_flags & (SHF_WRITE | SHF_TLS)) != (o->sec->sh.sh_flags & (SHF_WRITE | SHF_TLS)))
		return bld_refuse(b, o->name, u->tu,
				  "the fix changes the initial value or the kind (const, thread-local) of an existing "
				  "variable; the running process already has its own copy");
	r = range_equal(u, o->sec, o->s.st_value, p->sec, p->s.st_value, o->s.st_size, 0, &bytes_only);
	if (r < 0)
		return r;
	if (!r)
		return bld_refuse(b, o->name, u->tu,
				  "the fix changes the initial value of an existing variable; the running process "
				  "already has its own value");
	return 0;
}

/* A static of the original that the patched build no longer has (or we cannot tell which it became). */
static int check_removed_statics(struct builder *b, struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->orig->nsyms; i++) {
		struct ob_sym *o = &u->orig->syms[i];
		const char *user = NULL;

		if (o->kind != OB_K_STATIC || o->twin || !o->sec)
			continue;
		for (k = 1; k < u->orig->nsecs && !user; k++) {
			struct ob_sec *f = &u->orig->secs[k];
			size_t j;

			for (j = 0; ob_is_text(f) && j < f->nrelas && !user; j++)
				if (rela_object(u->orig, &f->relas[j], NULL) == o)
					user = func_of(f) ? func_of(f)->name : f->name;
		}
		return bld_refuse(b, o->name, u->tu,
				  "the fix removes a reference to this static local%s%s; its state in the running "
				  "process would be dropped, or it moved to a scope we cannot match",
				  user ? " of " : "", user ? user : "");
	}
	return 0;
}

/* Set the status of every function of the patched object and check existing data. */
int compare_unit(struct builder *b, struct unit *u)
{
	size_t i;
	int r;

	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *s = &u->patched->secs[i];

		if (!ob_is_text(s) || !s->sh.sh_size)
			continue;
		if (!s->twin) {
			s->status = OB_NEW;
			continue;
		}
		r = code_equal(b, u, s->twin, s);
		if (r < 0)
			return r;
		s->status = r ? OB_SAME : OB_CHANGED;
		if (s->status == OB_CHANGED)
			s->why = "body changed";
	}
	/* A function and its cold part are one piece of code: either changed means both go. */
	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *s = &u->patched->secs[i];

		if (!ob_is_text(s) || s->parent || s->status != OB_SAME)
			continue;
		if ((s->cold && (s->cold->status != OB_SAME || !s->twin->cold || s->twin->cold != s->cold->twin)) ||
		    (!s->cold && s->twin->cold)) {
			s->status = OB_CHANGED;
			s->why = "its cold part changed";
		}
	}
	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *y = &u->patched->syms[i];

		if ((y->type != STT_OBJECT && y->type != STT_TLS) || !y->sec || carried(y) || !y->twin->sec ||
		    !ob_is_data(y->sec))
			continue;
		r = compare_object(b, u, y);
		if (r < 0)
			return r;
	}
	return check_removed_statics(b, u);
}
