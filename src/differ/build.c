/* SPDX-License-Identifier: MIT */
/*
 * Building a patch from original and patched objects.
 *
 * The pipeline, per translation unit (builder.h lists the files):
 * correlate (pair each patched section and symbol with its original twin,
 * by structure where names are the compiler's), compare (which functions
 * changed, modulo line-number noise; refuse changed data), check (C++,
 * IFUNC, run-once code, type layouts), place the unit in the target and
 * decide what is replaced, IPA-RA (callers that relied on a callee's
 * registers), include (the changed and new functions, then whatever they
 * need that the target does not already have), verify (the rebuilt
 * original must match the running binary byte for byte outside
 * relocations: every replaced function, and every function of the unit the
 * patch calls), emit (payload, symbols bound to the target, manifest).
 *
 * References from the payload to things the target already has are bound
 * to the target's own copies: unchanged functions, existing variables and
 * thread-locals (so their values persist), existing constant tables.  A
 * reference to the entry of a replaced function also binds to the original
 * address, so a function pointer taken in new code equals one stored
 * before the patch.  Constants private to the code (literals, __func__,
 * jump tables, switch tables) travel with it.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder.h"
#include "shared/x86.h"

/* Keep a string the report or the payload points at until the build ends. */
const char *bld_own(struct builder *b, char *s)
{
	char **n;

	if (!s)
		return NULL;
	n = realloc(b->owned, (b->nowned + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return NULL;
	}
	b->owned = n;
	b->owned[b->nowned++] = s;
	return s;
}

/* Record a decision for the report: what was done to which function, and why. */
void bld_event(struct builder *b, enum hp_build_action a, const char *what, const char *tu, const char *fmt, ...)
{
	struct hp_build_event *nv;
	va_list ap;
	char *why = NULL;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	nv = realloc(b->rep->v, (b->rep->n + 1) * sizeof(*nv));
	if (!nv) {
		free(why);
		return;
	}
	b->rep->v = nv;
	nv[b->rep->n++] = (struct hp_build_event){ a, strdup(what ? what : ""), strdup(tu ? tu : ""), why };
}

/* Refuse the build: record the reason in the report and the context. */
int bld_refuse(struct builder *b, const char *what, const char *tu, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bld_event(b, HP_BUILD_REFUSED, what, tu, "%s", msg);
	return hp_err(b->ctx, -HP_E_BUILD, "%s%s%s: %s", tu ? tu : "", tu ? ": " : "", what, msg);
}

/* Free a report filled by hp_build_objects (its strings are its own). */
void hp_build_report_release(struct hp_build_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		free(rep->v[i].what);
		free(rep->v[i].tu);
		free(rep->v[i].why);
	}
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Append a payload symbol; returns its index or SIZE_MAX when out of memory. */
static size_t add_sym(struct builder *b, struct hp_wsym s)
{
	if (HP_GROW(b->syms, b->capsyms, b->nsyms + 1) < 0)
		return SIZE_MAX;
	b->syms[b->nsyms] = s;
	return b->nsyms++;
}

/* A symbol bound to the target at a link-time address (one per address and name). */
static size_t target_sym(struct builder *b, const struct hp_sym *ts)
{
	uint8_t type = ts->type == STT_TLS ? STT_TLS : ts->type == STT_FUNC ? STT_FUNC : STT_OBJECT;
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec == HP_SEC_TARGET && b->syms[i].value == ts->value && b->syms[i].type == type &&
		    !strcmp(b->syms[i].name, ts->name))
			return i;
	return add_sym(b, (struct hp_wsym){ ts->name, ts->value, ts->size, type, STB_LOCAL, HP_SEC_TARGET });
}

/* One undefined payload symbol per imported name, resolved in the process. */
static size_t import_sym(struct builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec == HP_SEC_UNDEF && !strcmp(b->syms[i].name, name))
			return i;
	return add_sym(b, (struct hp_wsym){ name, 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF });
}

/* Payload names of function bodies must be unique (the manifest names them). */
static bool name_used(struct builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec < b->nsecs && !strcmp(b->syms[i].name, name))
			return true;
	return false;
}

/* Would carrying this section copy an existing variable (and split its state)? */
static const struct ob_sym *shares_existing(const struct unit *u, const struct ob_sec *s)
{
	size_t i;

	if (!(s->sh.sh_flags & SHF_WRITE))
		return NULL;
	for (i = 1; i < u->patched->nsyms; i++) {
		const struct ob_sym *y = &u->patched->syms[i];

		if (y->sec == s && y->twin && (y->type == STT_OBJECT || y->type == STT_TLS))
			return y;
	}
	return NULL;
}

/* Mark a section for the payload and queue it for processing; a function brings its cold part. */
static int include_sec(struct builder *b, struct unit *u, struct ob_sec *s)
{
	const struct ob_sym *shared;

	if (s->include)
		return 0;
	if (s->sh.sh_flags & SHF_TLS)
		return bld_refuse(b, s->primary ? s->primary->name : s->name, u->tu,
				  "the fix adds a thread-local variable; new TLS cannot be added to a running process");
	shared = shares_existing(u, s);
	if (shared)
		return bld_refuse(b, s->name, u->tu,
				  "new data shares a section with the existing variable '%s'; compile with "
				  "-fdata-sections", shared->name);
	s->include = true;
	if (HP_GROW(u->work, u->capwork, u->nwork + 1) < 0)
		return -ENOMEM;
	u->work[u->nwork++] = s;
	if (s->cold)
		return include_sec(b, u, s->cold);
	return 0;
}

struct mapped {
	size_t sym;
	int64_t addend;
};

/* An undefined symbol: another unit of the target, or a library. */
static int map_undef(struct builder *b, struct unit *u, const struct ob_rela *r, struct mapped *out)
{
	const struct ob_sym *t = r->sym;
	const struct hp_sym *ts;
	int rc = tgt_lookup_global(b, t->name, &ts);

	/* A local of the target stands for a hidden global of another unit, unless a library has the name. */
	if ((rc == 0 && ts->bind == STB_LOCAL) || rc == -EEXIST) {
		if (tgt_lib_defines(b, t->name))
			rc = -ENOENT;
		else if (rc == -EEXIST)
			return bld_refuse(b, t->name, u->tu,
					  "defined in another unit but not exported (hidden), and the target has several "
					  "local symbols of this name; cannot tell which one");
	}

	out->addend = r->addend;
	if (t->type == STT_TLS || r->type == R_X86_64_TPOFF32 || r->type == R_X86_64_TPOFF64 ||
	    r->type == R_X86_64_GOTTPOFF || r->type == R_X86_64_TLSGD || r->type == R_X86_64_DTPOFF32 ||
	    r->type == R_X86_64_DTPOFF64) {
		if (rc < 0 || ts->type != STT_TLS)
			return bld_refuse(b, t->name, u->tu,
					  "a thread-local variable of another module; only the target's own "
					  "thread-locals can be used by a patch");
		out->sym = target_sym(b, ts);
		return 0;
	}
	if (rc == 0 && ts->type != STT_GNU_IFUNC &&
	    !(ts->dynamic && b->target->ehdr.e_type == ET_DYN && hp_elf_find_import(b->target, t->name))) {
		out->sym = target_sym(b, ts);
		return 0;
	}
	rc = tgt_check_import(b, u, t->name);
	if (rc < 0)
		return rc;
	out->sym = import_sym(b, t->name);
	return 0;
}

/* Bind a reference to a function of the target (its entry): look the original twin up, check its code. */
static int bind_func(struct builder *b, struct unit *u, const struct ob_sym *y, struct mapped *out)
{
	const struct hp_sym *ts;
	int rc;

	rc = y->twin ? tgt_lookup(b, u, y->twin, &ts) : -ENOENT;
	if (rc == -ENOENT && y->bind == STB_LOCAL && y->sec && ob_is_text(y->sec)) {
		/*
		 * A static function the running build has only as inlined copies
		 * (or not at all): the patch carries its own copy and calls that.
		 * Nothing in the process can compare its address with ours.
		 */
		rc = include_sec(b, u, y->sec);
		if (rc < 0)
			return rc;
		bld_event(b, HP_BUILD_NOTE, y->name, u->tu,
			  "called by the patch, but the running binary has no out-of-line copy (inlined everywhere): "
			  "the patch carries its own");
		out->sym = SIZE_MAX;
		return 1;
	}
	if (!y->twin)
		return bld_refuse(b, y->name, u->tu, "referenced, but has no counterpart in the original build");
	if (rc == -ENOENT)
		return bld_refuse(b, y->twin->name, u->tu,
				  "the patch calls it, but the target has no such function (a global function "
				  "discarded in the original build?)");
	if (rc < 0)
		return rc;
	if (y->twin->sec && ob_is_text(y->twin->sec) && y->twin->s.st_value == 0) {
		rc = tgt_verify(b, u, y->twin->sec, ts, "called by the patch");
		if (rc < 0)
			return rc;
	}
	out->sym = target_sym(b, ts);
	return 0;
}

/*
 * Why: non-PIE code holds addresses as 32-bit absolutes; one of a library
 * symbol (above 4 GiB) can only be widened in some instruction forms (the
 * engine's image.c rewrites those).  True when the field at off is in one.
 */
static bool abs32_widenable(const struct ob_sec *s, uint64_t off)
{
	struct x86_insn in;
	struct x86_abs32 f;
	uint64_t o = 0;

	while (s->data && o < s->sh.sh_size) {
		if (x86_decode(s->data + o, s->sh.sh_size - o, &in) < 0 || !in.len)
			return false;
		if (off >= o && off < o + in.len)
			return x86_abs32_form(s->data + o, &in, off - o, &f) != X86_ABS32_NONE;
		o += in.len;
	}
	return false;
}

/* Decide what a relocation of an included section refers to: 1 a payload section (bound later), 0 a symbol. */
static int map_rela(struct builder *b, struct unit *u, const struct ob_rela *r, struct mapped *out)
{
	struct ob_sym *t = r->sym, *y;
	struct ob_sec *s = t->sec;
	const struct hp_sym *ts;
	int64_t yoff, tbase = t->type == STT_SECTION ? 0 : (int64_t)t->s.st_value;
	int rc;

	if (!s) {
		if (t->s.st_shndx == SHN_ABS) {
			out->sym = add_sym(b, (struct hp_wsym){ t->name, t->s.st_value, 0, t->type, STB_LOCAL, HP_SEC_ABS });
			out->addend = r->addend;
			return 0;
		}
		return map_undef(b, u, r, out);
	}
	y = rela_object(u->patched, r, &yoff);
	if (ob_is_text(s)) {
		bool entry = y->type == STT_FUNC && yoff == 0;

		if (s->include && !(s->replaced && entry)) {
			/* inside the new code (a label of a jump table), a new function, a cold part */
			out->sym = SIZE_MAX;
			out->addend = r->addend + tbase;
			return 1;
		}
		if (!entry || y->kind == OB_K_COLD)
			return bld_refuse(b, y->type == STT_SECTION ? s->name : y->name, u->tu,
					  "new code jumps into the middle of this unchanged function");
		rc = bind_func(b, u, y, out);
		if (rc == 1)
			out->addend = r->addend + tbase;	/* the carried copy: its section */
		else
			out->addend = r->addend + tbase - (int64_t)y->s.st_value;
		return rc;
	}
	if (!ob_is_data(s))
		return bld_refuse(b, s->name, u->tu, "reference to an unsupported section");
	if (ob_is_string_sec(s) || (s->sh.sh_flags & SHF_MERGE) || y->type == STT_SECTION || y->type == STT_NOTYPE ||
	    y->kind == OB_K_CONST || !y->twin) {
		rc = include_sec(b, u, s);
		if (rc < 0)
			return rc;
		out->sym = SIZE_MAX;	/* resolved after emission: the section's payload symbol */
		out->addend = r->addend + tbase;
		return 1;
	}
	rc = tgt_lookup(b, u, y->twin, &ts);
	if (rc == -ENOENT)
		return bld_refuse(b, y->twin->name, u->tu,
				  "the patch uses this variable, but the target has no symbol for it (optimised away in "
				  "the original build?)");
	if (rc < 0)
		return rc;
	out->sym = target_sym(b, ts);
	out->addend = r->addend + tbase - (int64_t)y->s.st_value;
	return 0;
}

/* Copy an included section into the payload description (bytes stay borrowed). */
static size_t add_section(struct builder *b, const struct ob_sec *s)
{
	if (HP_GROW(b->secs, b->capsecs, b->nsecs + 1) < 0)
		return SIZE_MAX;
	b->secs[b->nsecs] = (struct hp_wsec){ s->name, s->sh.sh_type == SHT_NOBITS ? SHT_NOBITS : SHT_PROGBITS,
					      s->sh.sh_flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_MERGE |
								SHF_STRINGS),
					      s->sh.sh_addralign ? s->sh.sh_addralign : 1, s->sh.sh_size, s->data, NULL,
					      0 };
	return b->nsecs++;
}

/* Add a replaced function to the manifest. */
static int add_func(struct builder *b, struct hp_manifest_func f)
{
	if (HP_GROW(b->funcs, b->capfuncs, b->nfuncs + 1) < 0)
		return -ENOMEM;
	b->funcs[b->nfuncs++] = f;
	return 0;
}

/* A unique payload name for a function body. */
static const char *payload_name(struct builder *b, const char *name)
{
	char *n;
	int k;

	if (!name_used(b, name))
		return name;
	for (k = 2;; k++) {
		if (asprintf(&n, "%s.hp%d", name, k) < 0)
			return NULL;
		if (!name_used(b, n))
			return bld_own(b, n);
		free(n);
	}
}

/* Code gathered from pieces of sections, with branch displacements blanked (they move with the layout). */
struct code_buf {
	const struct ob_obj *o;
	uint8_t *v;
	size_t n, cap;
	uint64_t lines[4];		/* which relative lines (0-255) the code comes from */
	bool bad;
};

/* di_code_of callback: gather a piece of code and note which line it comes from. */
static void take_code(void *ud, size_t shndx, uint64_t off, uint64_t len, int line)
{
	struct code_buf *cb = ud;
	const struct ob_sec *s = shndx < cb->o->nsecs ? &cb->o->secs[shndx] : NULL;
	uint64_t i = 0;

	if (!s || !s->data || off + len > s->sh.sh_size) {
		cb->bad = true;
		return;
	}
	if (cb->n + len > cb->cap) {
		size_t nc = (cb->n + len) * 2;
		uint8_t *nv = realloc(cb->v, nc);

		if (!nv) {
			cb->bad = true;
			return;
		}
		cb->v = nv;
		cb->cap = nc;
	}
	memcpy(cb->v + cb->n, s->data + off, len);
	/* The declaration and its brace carry the prologue, which moves with the registers used. */
	if (line >= 2 && line < 256)
		cb->lines[line / 64] |= 1ull << (line % 64);
	else if (line >= 256 || line < 0)
		cb->bad = true;
	while (i < len) {
		struct x86_insn in;

		if (x86_decode(s->data + off + i, len - i, &in) < 0)
			break;
		if (in.rel_size)
			memset(cb->v + cb->n + i + in.rel_off, 0, in.rel_size);
		i += in.len;
	}
	cb->n += len;
}

/*
 * Compare the code attributed to who (a helper, or the function itself when
 * NULL) in both builds: 2 same code, 1 different code from the same source
 * lines, 0 different lines, -1 unknown.
 */
static int same_code_of(struct unit *u, const struct ob_sec *o, const struct ob_sec *p, const char *who)
{
	struct code_buf a = { .o = u->orig }, c = { .o = u->patched };
	int na = di_code_of(u->di_orig, o->index, who, take_code, &a);
	int nc = di_code_of(u->di_patched, p->index, who, take_code, &c);
	int r;

	if (na < 0 || nc < 0 || a.bad || c.bad)
		r = -1;
	else if (a.n == c.n && (!a.n || !memcmp(a.v, c.v, a.n)))
		r = 2;
	else
		r = !memcmp(a.lines, c.lines, sizeof(a.lines)) && na > 0;
	free(a.v);
	free(c.v);
	return r;
}

/*
 * Why each changed function is in the patch.  When its own source lines
 * are the same in both builds (the line rows of its code) and the code of
 * an inlined helper differs, the helper changed and pulled it in.  When
 * no helper explains it, the cause may lie outside (IPA-RA says so later);
 * an edit that keeps every line where it was reads as "body changed".
 */
static void explain(struct builder *b, struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *s = &u->patched->secs[i];
		const char *names[32];
		char list[256], *why;
		size_t n, used = 0;
		int own;

		if (!ob_is_text(s) || s->parent || s->status != OB_CHANGED || !s->twin || !s->why ||
		    strcmp(s->why, "body changed"))
			continue;
		s->action = HP_BUILD_CHANGED;
		own = same_code_of(u, s->twin, s, NULL);
		if (own < 1)
			continue;	/* its own lines changed: edited */
		n = di_inlined(u->di_patched, s->index, names, 32);
		n += di_inlined(u->di_orig, s->twin->index, names + n, 32 - n);
		list[0] = 0;
		for (k = 0; k < n; k++) {
			size_t j;

			for (j = 0; j < k && strcmp(names[j], names[k]); j++)
				;
			if (j < k || same_code_of(u, s->twin, s, names[k]) == 2 ||
			    used + strlen(names[k]) + 3 >= sizeof(list))
				continue;
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", names[k]);
		}
		if (!used) {
			s->why_weak = true;
			continue;
		}
		if (asprintf(&why, "pulled in: inlined helper changed (%s)", list) < 0)
			continue;
		s->why = bld_own(b, why);
		s->action = HP_BUILD_PULLED;
	}
}

/*
 * Can the engine put its 5-byte jump at the entry (after an endbr64)?  The
 * engine's own rule: the function, or alignment padding after it, or a
 * 2-byte short jump into 5 bytes of padding before it.
 */
static bool site_fits(struct builder *b, const struct hp_sym *ts)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint8_t head[4];
	uint64_t need = 5;

	if (ts->size >= 4 && hp_elf_read_vaddr(b->target, ts->value, head, 4) == 0 && !memcmp(head, endbr64, 4))
		need += 4;
	if (ts->size >= need)
		return true;
	if (hp_elf_padding_after(b->target, ts->value + ts->size, need - ts->size))
		return true;
	/* a short jump at the entry into the padding before it, which holds the 5-byte jump */
	return ts->size >= need - 3 && hp_elf_padding_before(b->target, ts->value, 5);
}

/*
 * A changed function too small for a jump at its entry: patch its callers
 * instead, which then call the new body.  Only possible when every caller
 * is in this unit (a static function) and nothing holds its address.
 */
static int pull_callers(struct builder *b, struct unit *u, struct ob_sec *f, uint64_t size)
{
	char *why;
	size_t i, k;

	if (f->primary->bind != STB_LOCAL)
		return bld_refuse(b, f->primary->name, u->tu,
				  "changed, but only %" PRIu64 " bytes long, too small for the jump that redirects it "
				  "(no alignment padding after it or in the 5 bytes before it), and global, so callers "
				  "in other units cannot be patched instead", size);
	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *c = &u->patched->secs[i];
		struct ob_sec *fn = c->parent ? c->parent : c;

		if (c->sh.sh_type == SHT_X86_64_UNWIND || !strcmp(c->name, ".eh_frame"))
			continue;	/* unwind tables describe code, they do not hold its address */
		for (k = 0; k < c->nrelas; k++) {
			int64_t off;
			struct ob_sym *y = rela_object(u->patched, &c->relas[k], &off);

			if (y->sec != f || fn == f)
				continue;
			if (!ob_is_text(c) || off != 0 ||
			    (c->relas[k].type != R_X86_64_PLT32 && c->relas[k].type != R_X86_64_PC32))
				return bld_refuse(b, f->primary->name, u->tu,
						  "changed, but only %" PRIu64 " bytes long, too small for the jump that "
						  "redirects it (no alignment padding after it or in the 5 bytes before "
						  "it), and its address is taken, so patching its callers "
						  "instead would leave the old body reachable", size);
			if (fn->status != OB_SAME)
				continue;
			if (asprintf(&why, "pulled in: calls %s, which is too small (%" PRIu64 " bytes) to redirect",
				     f->primary->name, size) < 0)
				return -ENOMEM;
			fn->status = OB_CHANGED;
			fn->why = bld_own(b, why);
			fn->action = HP_BUILD_PULLED;
		}
	}
	bld_event(b, HP_BUILD_NOTE, f->primary->name, u->tu,
		  "too small (%" PRIu64 " bytes) to redirect: its callers are patched to call the new body", size);
	return 0;
}

/*
 * A changed function the running binary does not have.  That is only
 * harmless when nothing in the process can reach it: a static function
 * whose every user in the original object is itself absent (the linker
 * discarded them together).  Otherwise part of the fix would silently not
 * run, which is worse than no patch: refuse, naming the function.
 */
static int unreachable(struct builder *b, struct unit *u, struct ob_sec *o)
{
	const struct hp_sym *ts;
	size_t i, k;

	if (o->primary->bind == STB_LOCAL) {
		for (i = 1; i < u->orig->nsecs; i++) {
			struct ob_sec *c = &u->orig->secs[i];
			struct ob_sec *fn = c->parent ? c->parent : c;

			if (fn == o || c->sh.sh_type == SHT_X86_64_UNWIND || !strcmp(c->name, ".eh_frame") ||
			    !(c->sh.sh_flags & SHF_ALLOC))
				continue;
			for (k = 0; k < c->nrelas; k++) {
				struct ob_sym *y = rela_object(u->orig, &c->relas[k], NULL);

				if (!y->sec || (y->sec != o && y->sec->parent != o))
					continue;
				if (!ob_is_text(c) || !fn->primary || tgt_lookup(b, u, fn->primary, &ts) != -ENOENT)
					goto used;
			}
		}
		bld_event(b, HP_BUILD_NOTE, o->primary->name, u->tu,
			  "changed, but neither it nor any of its callers is in the running binary (discarded by "
			  "the linker): nothing to redirect");
		return 0;
	}
used:
	return bld_refuse(b, o->primary->name, u->tu,
			  "changed, but the running binary has no symbol for it, so the fix cannot redirect it and "
			  "this part of the fix would not run (stripped of its symbol, or %s?)",
			  o->primary->bind == STB_LOCAL ? "its callers inlined a copy of it" : "made local under another name");
}

/* Decide which changed functions are replaced in the target; queue changed and new code. */
static int decide(struct builder *b, struct unit *u)
{
	bool again = true;
	size_t i;
	int r;

	while (again) {
		again = false;
		for (i = 1; i < u->patched->nsecs; i++) {
			struct ob_sec *s = &u->patched->secs[i];
			const struct hp_sym *ts;

			if (!ob_is_text(s) || s->parent || s->include ||
			    (s->status != OB_CHANGED && s->status != OB_NEW))
				continue;
			if (!s->primary || s->primary->type != STT_FUNC)
				return bld_refuse(b, s->name, u->tu, "changed code section without a function symbol "
								      "(compile with -ffunction-sections)");
			if (s->status == OB_CHANGED) {
				r = tgt_lookup(b, u, s->twin->primary, &ts);
				if (r == 0 && site_fits(b, ts)) {
					s->replaced = true;
				} else if (r == 0) {
					r = pull_callers(b, u, s, ts->size);
					if (r < 0)
						return r;
					again = true;
				} else if (r == -ENOENT) {
					r = unreachable(b, u, s->twin);
					if (r < 0)
						return r;
				} else {
					return r;
				}
			}
			r = include_sec(b, u, s);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* A replaced function: verify the original (and its cold part) against the target, add the manifest entry. */
static int replace(struct builder *b, struct unit *u, struct ob_sec *s, const char *pn)
{
	const struct hp_sym *ts, *tc;
	struct hp_manifest_func mf = { 0 };
	_cleanup_free_ uint8_t *bytes = NULL;
	int r;

	r = tgt_lookup(b, u, s->twin->primary, &ts);
	if (r < 0)
		return r;
	r = tgt_verify(b, u, s->twin, ts, "replaced");
	if (r < 0)
		return r;
	if (s->twin->cold && s->twin->cold->primary && tgt_lookup(b, u, s->twin->cold->primary, &tc) == 0) {
		r = tgt_verify(b, u, s->twin->cold, tc, "cold part of a replaced function");
		if (r < 0)
			return r;
	}
	bytes = malloc(ts->size ? ts->size : 1);
	if (!bytes || hp_elf_read_vaddr(b->target, ts->value, bytes, ts->size) < 0)
		return bld_refuse(b, ts->name, u->tu, "cannot read its code from the target");
	mf.name = ts->name;
	mf.symbol = pn;
	mf.addr = ts->value;
	mf.size = ts->size;
	hp_sha256(bytes, ts->size, mf.sha256);
	r = add_func(b, mf);
	if (r < 0)
		return r;
	b->rep->nreplaced++;
	bld_event(b, s->action ? s->action : HP_BUILD_CHANGED, ts->name, u->tu, "%s", s->why ? s->why : "body changed");
	return 0;
}

/* Emit one included section: its bytes, its relocations mapped, its function symbol and manifest entry. */
static int emit_section(struct builder *b, struct unit *u, struct ob_sec *s)
{
	size_t k, out = add_section(b, s);
	int r;

	if (out == SIZE_MAX)
		return -ENOMEM;
	s->out_index = add_sym(b, (struct hp_wsym){ "", 0, 0, STT_SECTION, STB_LOCAL, (uint32_t)out });
	if (s->out_index == SIZE_MAX)
		return -ENOMEM;
	/* relocations, mapped; may include more sections (appended to work) */
	b->secs[out].relas = calloc(s->nrelas ? s->nrelas : 1, sizeof(struct hp_prela));
	if (!b->secs[out].relas)
		return -ENOMEM;
	for (k = 0; k < s->nrelas; k++) {
		struct mapped m = { 0, 0 };

		r = map_rela(b, u, &s->relas[k], &m);
		if (r < 0)
			return r;
		/*
		 * Data holding a 32-bit reference to a library's symbol: the
		 * library is mapped far beyond 2 GiB (4 GiB) from the patch and
		 * only code can be rerouted (image.c); say so now, not at apply.
		 */
		if (r == 0 && !ob_is_text(s) && m.sym < b->nsyms && b->syms[m.sym].sec == HP_SEC_UNDEF &&
		    (s->relas[k].type == R_X86_64_PC32 || s->relas[k].type == R_X86_64_32 ||
		     s->relas[k].type == R_X86_64_32S || s->relas[k].type == R_X86_64_PLT32))
			return bld_refuse(b, b->syms[m.sym].name, u->tu,
					  "data in %s refers to this library symbol by a 32-bit %s (%s); the library lies "
					  "more than %s from the patch, and only references from code can be rerouted: make "
					  "it a full pointer (an 8-byte address), or refer to it from code",
					  s->name, s->relas[k].type == R_X86_64_PC32 || s->relas[k].type == R_X86_64_PLT32
						   ? "offset" : "address",
					  s->relas[k].type == R_X86_64_PC32 ? "R_X86_64_PC32"
					  : s->relas[k].type == R_X86_64_PLT32 ? "R_X86_64_PLT32"
					  : s->relas[k].type == R_X86_64_32 ? "R_X86_64_32" : "R_X86_64_32S",
					  s->relas[k].type == R_X86_64_PC32 || s->relas[k].type == R_X86_64_PLT32 ? "2 GiB"
																: "4 GiB");
		if (r == 0 && ob_is_text(s) && m.sym < b->nsyms && b->syms[m.sym].sec == HP_SEC_UNDEF &&
		    (s->relas[k].type == R_X86_64_32 || s->relas[k].type == R_X86_64_32S) &&
		    !abs32_widenable(s, s->relas[k].offset))
			return bld_refuse(b, b->syms[m.sym].name, u->tu,
					  "%s+%#" PRIx64 " takes the address of this library symbol as a 32-bit absolute "
					  "(%s, non-PIE code), and the library lies above 4 GiB; only a load into a "
					  "register or a table index can be widened, not this instruction: build the target "
					  "as PIE (-fPIE -pie), where such addresses are PC-relative and can be rerouted",
					  s->name, s->relas[k].offset,
					  s->relas[k].type == R_X86_64_32 ? "R_X86_64_32" : "R_X86_64_32S");
		b->secs[out].relas[k] = (struct hp_prela){ s->relas[k].offset, s->relas[k].type, (uint32_t)m.sym,
							   m.addend };
		if (r == 1)	/* a payload section: its symbol is known once it is emitted */
			b->secs[out].relas[k].sym = UINT32_MAX;
	}
	b->secs[out].nrelas = s->nrelas;
	if (ob_is_text(s)) {
		struct ob_sym *f = s->primary;
		const char *pn = payload_name(b, f ? f->name : s->name);

		if (!pn || add_sym(b, (struct hp_wsym){ pn, 0, s->sh.sh_size, STT_FUNC, STB_LOCAL, (uint32_t)out }) ==
				   SIZE_MAX)
			return -ENOMEM;
		if (s->parent || !f)
			return 0;	/* a cold part travels with its function */
		if (s->replaced)
			return replace(b, u, s, pn);
		if (s->status == OB_NEW) {
			const char **nn = realloc(b->new_funcs, (b->nnew + 1) * sizeof(*nn));

			if (!nn)
				return -ENOMEM;
			b->new_funcs = nn;
			b->new_funcs[b->nnew++] = f->name;
			b->rep->nnew++;
			bld_event(b, HP_BUILD_NEW, f->name, u->tu, "new function added by the fix");
		}
		return 0;
	}
	bld_event(b, HP_BUILD_DATA, s->primary ? s->primary->name : s->name, u->tu, "%s",
		  ob_is_string_sec(s)			? "string literals used by new code"
		  : !s->primary				? "constants used by new code (jump table, literals)"
		  : s->primary->kind == OB_K_CONST	? "constant private to the code (__func__, switch table)"
		  : s->primary->kind == OB_K_STATIC	? "new static added by the fix"
							: "new variable added by the fix");
	return 0;
}

/* Is any function or variable of the unit in the target?  A unit of another binary is not. */
static bool in_target(struct builder *b, struct unit *u)
{
	const char *tu = base_name(u->tu);
	size_t i, k, n;

	for (i = 1; i < u->orig->nsyms; i++) {
		const struct ob_sym *y = &u->orig->syms[i];
		struct hp_sym *s;

		if (!y->sec || (y->type != STT_FUNC && y->type != STT_OBJECT && y->type != STT_TLS))
			continue;
		n = hp_elf_find_syms(b->target, y->name, &s);
		for (k = 0; k < n; k++) {
			if (s[k].shndx == SHN_UNDEF || s[k].type != y->type)
				continue;
			const char *f = s[k].file ? b->target->files[s[k].file] : NULL;

			if (y->bind != STB_LOCAL && s[k].bind != STB_LOCAL)
				return true;
			/* a local of this file, or a global the linker made local (hidden, "local: *") */
			if (s[k].bind == STB_LOCAL && f && (!strcmp(base_name(f), tu) || (y->bind != STB_LOCAL && !*f)))
				return true;
		}
	}
	return false;
}

/*
 * The differ works function by function and variable by variable, which
 * needs one section each (-ffunction-sections -fdata-sections).  An object
 * compiled without them has several functions in one .text: say which flag
 * is missing, in which object, instead of failing somewhere later.
 */
static int check_sections(struct builder *b, struct unit *u, const struct ob_obj *o)
{
	size_t i, k;
	bool need_f = false, need_d = false;
	const char *fa = NULL, *fb = NULL, *da = NULL, *db = NULL;
	char why[512] = "";

	for (i = 1; i < o->nsecs && !(need_f && need_d); i++) {
		const struct ob_sec *sec = &o->secs[i];
		const char *first = NULL, *second = NULL;
		static const char *const plain[] = { ".data", ".bss", ".rodata", ".data.rel", ".data.rel.local",
						     ".data.rel.ro", ".data.rel.ro.local", ".tdata", ".tbss" };
		bool text = ob_is_text(sec) && !strcmp(sec->name, ".text"), data = false;

		/* the sections the compiler uses without the flags; with them each name has a suffix */
		for (k = 0; !text && k < ARRAY_SIZE(plain); k++)
			data = data || !strcmp(sec->name, plain[k]);

		if (!text && !data)
			continue;
		for (k = 1; k < o->nsyms && !second; k++) {
			const struct ob_sym *y = &o->syms[k];

			if (y->sec != sec || (text ? y->type != STT_FUNC : (y->type != STT_OBJECT && y->type != STT_TLS)))
				continue;
			if (!first)
				first = y->name;
			else if (strcmp(first, y->name))
				second = y->name;
		}
		if (!second)
			continue;
		if (text && !need_f) {
			need_f = true;
			fa = first;
			fb = second;
		} else if (data && !need_d) {
			need_d = true;
			da = first;
			db = second;
		}
	}
	if (!need_f && !need_d)
		return 0;
	if (need_f)
		snprintf(why, sizeof(why), "functions %s and %s share a section", fa, fb);
	if (need_d)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%svariables %s and %s share a section",
			 need_f ? "; " : "", da, db);
	return bld_refuse(b, base_name(o->path), u->tu,
			  "compiled without %s%s%s (%s); compile the original and the patched objects with "
			  "-ffunction-sections -fdata-sections and otherwise the flags the target was built with",
			  need_f ? "-ffunction-sections" : "", need_f && need_d ? " and " : "",
			  need_d ? "-fdata-sections" : "", why);
}

/* Run the passes on one translation unit and emit what it contributes to the patch. */
static int process_unit(struct builder *b, struct unit *u)
{
	size_t i, w;
	int r;

	if (!in_target(b, u)) {
		bld_event(b, HP_BUILD_NOTE, u->tu, u->tu, "none of its functions or variables is in %s: not part of "
							  "it, skipped", base_name(b->opts->target));
		return 0;
	}

	r = check_sections(b, u, u->orig);
	if (r == 0)
		r = check_sections(b, u, u->patched);
	if (r < 0)
		return r;
	r = di_open(b->ctx, u->orig->path, &u->di_orig);
	if (r == 0)
		r = di_open(b->ctx, u->patched->path, &u->di_patched);
	if (r < 0)
		return r;
	/* "b/util.c" says more than the symbol table's "util.c"; an absolute path says too much. */
	if (di_cu_name(u->di_orig) && di_cu_name(u->di_orig)[0] != '/')
		u->tu = di_cu_name(u->di_orig);
	if (u->orig->lto || u->patched->lto || di_lto(u->di_orig) || di_lto(u->di_patched))
		return bld_refuse(b, base_name(u->orig->path), u->tu,
				  "built with link-time optimisation (LTO): the object holds GIMPLE bytecode, not the "
				  "code that runs; rebuild without -flto");
	r = correlate_unit(b, u);
	if (r == 0)
		r = compare_unit(b, u);
	if (r == 0)
		r = check_unit(b, u);
	if (r == 0)
		r = tgt_unit_group(b, u);
	if (r < 0)
		return r;
	explain(b, u);
	r = ipara_unit(b, u);
	if (r == 0)
		r = check_types(b, u);
	if (r == 0)
		r = decide(b, u);
	if (r < 0)
		return r;
	note_run_once(b, u);
	/* Each included section becomes a payload section with a section symbol. */
	for (w = 0; w < u->nwork; w++) {
		struct ob_sec *s = u->work[w];

		if (s->emitted)
			continue;
		s->emitted = true;
		r = emit_section(b, u, s);
		if (r < 0)
			return r;
	}
	/* Bind references to payload sections now that every included section is emitted. */
	for (w = 0; w < u->nwork; w++) {
		struct ob_sec *s = u->work[w];
		size_t out = b->syms[s->out_index].sec;

		for (i = 0; i < s->nrelas; i++)
			if (b->secs[out].relas[i].sym == UINT32_MAX)
				b->secs[out].relas[i].sym = (uint32_t)s->relas[i].sym->sec->out_index;
	}
	return 0;
}

/* The manifest's creation time. */
static char *rfc3339_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

/* Serialise, check that what we wrote parses, and write the file. */
static int write_patch(struct builder *b, const char *mtext)
{
	struct hp_patch_writer w = { b->secs, b->nsecs, b->syms, b->nsyms, mtext, NULL };
	struct hp_patch *check = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = hp_patch_write_mem(b->ctx, &w, &buf, &len);
	if (r < 0)
		return r;
	/* What we write must be what we can read. */
	r = hp_patch_load(b->ctx, buf, len, &check);
	hp_patch_free(check);
	if (r < 0)
		return hp_err_prefix(b->ctx, r, "build: internal error, the patch does not parse: ");
	r = hp_write_file_atomic(b->opts->output, buf, len, 0644);
	if (r < 0)
		return hp_err(b->ctx, r, "build: cannot write '%s': %s", b->opts->output, strerror(-r));
	return 0;
}

/* The manifest of what was built, serialised. */
static int manifest_text(struct builder *b, char **ret)
{
	const struct hp_build_opts *opts = b->opts;
	struct hp_manifest man = { 0 };
	_cleanup_free_ char *tname = strdup(opts->target);
	_cleanup_free_ char *id = NULL;
	json_t *mj;

	if (opts->id) {
		id = strdup(opts->id);
	} else {
		char *o = strdup(opts->output), *bn = o ? basename(o) : NULL, *dot;

		id = bn ? strdup(bn) : NULL;
		free(o);
		if (id && (dot = strrchr(id, '.')) && dot != id)
			*dot = 0;
	}
	if (!tname || !id)
		return -ENOMEM;
	if (!hp_valid_id(id))
		return hp_err(b->ctx, -EINVAL, "build: '%s' is not a valid patch id ([A-Za-z0-9._-], at most 64); pass "
					       "--id", id);
	man.format = 1;
	man.id = id;
	man.arch = "x86_64";
	man.target_name = basename(tname);
	memcpy(man.build_id, b->target->build_id, b->target->build_id_len);
	man.build_id_len = b->target->build_id_len;
	man.level = opts->level ? opts->level : 1;
	man.classification = opts->classification ? opts->classification : "other";
	man.description = opts->description;
	man.cves = (const char **)opts->cves;
	man.ncves = opts->ncves;
	man.created = bld_own(b, rfc3339_now());
	man.funcs = b->funcs;
	man.nfuncs = b->nfuncs;
	man.new_funcs = b->new_funcs;
	man.nnew_funcs = b->nnew;
	mj = hp_manifest_to_json(&man);
	*ret = mj ? json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (mj)
		json_decref(mj);
	return *ret ? 0 : -ENOMEM;
}

/* Open the target with its symbols (from a debug file when stripped) and imports. */
static int open_target(struct builder *b)
{
	const struct hp_build_opts *opts = b->opts;
	int r = hp_elf_open(b->ctx, opts->target, &b->target);

	if (r < 0)
		return r;
	if (!b->target->build_id_len)
		return hp_err(b->ctx, -HP_E_BUILD, "build: target '%s' has no GNU build-id; link it with --build-id",
			      opts->target);
	r = hp_elf_load_symbols(b->ctx, b->target, opts->debug_file);
	if (r == 0)
		r = hp_elf_load_imports(b->ctx, b->target);
	if (r < 0)
		return r;
	if (!b->target->has_symtab)
		return hp_err(b->ctx, -HP_E_BUILD,
			      "build: target '%s' has no symbol table and no debug file was found for its build-id; pass "
			      "--debug-file", opts->target);
	if (b->target->debug_file)
		bld_event(b, HP_BUILD_NOTE, base_name(opts->target), NULL, "stripped; symbols from %s",
			  b->target->debug_file);
	return tgt_prepare(b);
}

/* Build a patch (build.h): every unit through the passes, then the manifest and the file. */
int hp_build_objects(struct hp_ctx *ctx, const struct hp_build_opts *opts, const struct hp_build_unit *units,
		     size_t nunits, struct hp_build_report *report)
{
	struct builder b = { .ctx = ctx, .opts = opts, .rep = report };
	struct unit *us = NULL;
	char *mtext = NULL;
	size_t i;
	int r;

	memset(report, 0, sizeof(*report));
	r = open_target(&b);
	if (r < 0)
		goto out;
	us = calloc(nunits ? nunits : 1, sizeof(*us));
	if (!us) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nunits; i++) {
		r = ob_open(ctx, units[i].orig, &us[i].orig);
		if (r < 0)
			goto out;
		r = ob_open(ctx, units[i].patched, &us[i].patched);
		if (r < 0)
			goto out;
		us[i].tu = us[i].orig->file ? us[i].orig->file : base_name(units[i].orig);
		r = process_unit(&b, &us[i]);
		if (r < 0)
			goto out;
	}
	if (!b.nfuncs) {
		r = hp_err(ctx, -ENODATA, b.nnew ? "build: the fix only adds functions that nothing existing calls"
						 : "build: no function changed");
		goto out;
	}
	r = manifest_text(&b, &mtext);
	if (r == 0)
		r = write_patch(&b, mtext);
out:
	free(mtext);
	if (us)
		for (i = 0; i < nunits; i++) {
			ob_close(us[i].orig);
			ob_close(us[i].patched);
			di_close(us[i].di_orig);
			di_close(us[i].di_patched);
			free(us[i].work);
		}
	free(us);
	for (i = 0; i < b.nsecs; i++)
		free(b.secs[i].relas);
	free(b.secs);
	free(b.syms);
	free(b.funcs);
	free(b.new_funcs);
	for (i = 0; i < b.nowned; i++)
		free(b.owned[i]);
	free(b.owned);
	tgt_release(&b);
	hp_elf_close(b.target);
	return r;
}
