/* SPDX-License-Identifier: MIT */
/*
 * Building a patch from original and patched objects.
 *
 * The pipeline, per translation unit: correlate (pair each patched section
 * and symbol with its original twin), compare (which functions changed,
 * which objects changed), include (the changed and new functions, then
 * whatever they need that the target does not already have), verify (the
 * rebuilt original must match the running binary byte for byte outside
 * relocations), emit (payload, symbols bound to the target, manifest).
 *
 * References from the payload to things the target already has are bound
 * to the target's own copies: unchanged functions, existing variables (so
 * their values persist), existing constant tables.  A reference to the
 * entry of a replaced function also binds to the original address, so a
 * function pointer taken in new code equals one stored before the patch.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "obj.h"
#include "lib/elf.h"
#include "lib/patch.h"

struct builder {
	struct hp_ctx *ctx;
	const struct hp_build_opts *opts;
	struct hp_build_report *rep;
	struct hp_elf *target;

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
};

struct unit {
	struct ob_obj *orig, *patched;
	const char *tu;
	struct ob_sec **work;		/* included sections still to process */
	size_t nwork, capwork;
};

static const char *own(struct builder *b, char *s)
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

__attribute__((format(printf, 5, 6))) static void event(struct builder *b, enum hp_build_action a, const char *what,
							const char *tu, const char *fmt, ...)
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
__attribute__((format(printf, 4, 5))) static int refuse(struct builder *b, const char *what, const char *tu,
						       const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event(b, HP_BUILD_REFUSED, what, tu, "%s", msg);
	return hp_err(b->ctx, -HP_E_BUILD, "%s%s%s: %s", tu ? tu : "", tu ? ": " : "", what, msg);
}

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

static bool is_pcrel(uint32_t t)
{
	return t == R_X86_64_PC32 || t == R_X86_64_PLT32 || t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX ||
	       t == R_X86_64_REX_GOTPCRELX;
}

/* Offset inside the referenced section that a relocation designates (PC-relative ones carry -4). */
static int64_t rela_target_off(const struct ob_rela *r)
{
	int64_t off = r->addend + (is_pcrel(r->type) ? 4 : 0);

	if (r->sym->type != STT_SECTION)
		off += (int64_t)r->sym->s.st_value;
	return off;
}

static const char *string_at(const struct ob_sec *s, int64_t off)
{
	if (!s || !s->data || off < 0 || (uint64_t)off >= s->sh.sh_size)
		return NULL;
	if (!memchr(s->data + off, 0, s->sh.sh_size - (uint64_t)off))
		return NULL;
	return (const char *)s->data + off;
}

/* Do two relocations point at the same thing? */
static bool rela_equal(const struct ob_rela *a, const struct ob_rela *b)
{
	const struct ob_sym *sa = a->sym, *sb = b->sym;

	if (a->type != b->type || a->offset != b->offset)
		return false;
	if (sa->sec && sb->sec && ob_is_string_sec(sa->sec) && ob_is_string_sec(sb->sec)) {
		const char *x = string_at(sa->sec, rela_target_off(a)), *y = string_at(sb->sec, rela_target_off(b));

		return x && y && !strcmp(x, y);
	}
	if ((sa->type == STT_SECTION) != (sb->type == STT_SECTION))
		return false;
	if (strcmp(sa->name, sb->name))
		return false;
	return a->addend == b->addend;
}

/* Bytes covered by relocations are not compared directly (their symbols are). */
static uint8_t *reloc_mask(const struct ob_sec *s)
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

static int sections_equal(const struct ob_sec *a, const struct ob_sec *b)
{
	_cleanup_free_ uint8_t *mask = NULL;
	size_t i;

	if (a->sh.sh_size != b->sh.sh_size || a->sh.sh_type != b->sh.sh_type || a->nrelas != b->nrelas)
		return 0;
	for (i = 0; i < a->nrelas; i++)
		if (!rela_equal(&a->relas[i], &b->relas[i]))
			return 0;
	if (a->sh.sh_type == SHT_NOBITS)
		return 1;
	mask = reloc_mask(a);
	if (!mask)
		return -ENOMEM;
	for (i = 0; i < a->sh.sh_size; i++)
		if (!mask[i] && a->data[i] != b->data[i])
			return 0;
	return 1;
}

/* Pair sections and symbols of the patched object with the original by name. */
static void correlate(struct unit *u)
{
	size_t i, k;

	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *p = &u->patched->secs[i];

		for (k = 1; k < u->orig->nsecs; k++)
			if (!u->orig->secs[k].twin && !strcmp(u->orig->secs[k].name, p->name) &&
			    u->orig->secs[k].sh.sh_type == p->sh.sh_type) {
				p->twin = &u->orig->secs[k];
				u->orig->secs[k].twin = p;
				break;
			}
	}
	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *p = &u->patched->syms[i];

		if (p->type == STT_SECTION || p->type == STT_FILE || !*p->name)
			continue;
		for (k = 1; k < u->orig->nsyms; k++) {
			struct ob_sym *o = &u->orig->syms[k];

			if (!o->twin && o->type == p->type && !strcmp(o->name, p->name) &&
			    (o->bind == STB_LOCAL) == (p->bind == STB_LOCAL)) {
				p->twin = o;
				o->twin = p;
				break;
			}
		}
	}
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Find a symbol of the target: a local one in the same translation unit, or a global one. */
static int target_lookup(struct builder *b, const struct ob_sym *y, const char *tu, const struct hp_sym **ret)
{
	struct hp_sym *s;
	size_t n = hp_elf_find_syms(b->target, y->name, &s), i, hits = 0, any_local = 0;
	const struct hp_sym *found = NULL, *lone_local = NULL;

	for (i = 0; i < n; i++) {
		if (s[i].shndx == SHN_UNDEF || s[i].type == STT_SECTION || s[i].type == STT_FILE)
			continue;
		if (y->bind == STB_LOCAL) {
			if (s[i].bind != STB_LOCAL)
				continue;
			any_local++;
			lone_local = &s[i];
			if (tu && s[i].file && s[i].file < b->target->nfiles &&
			    !strcmp(base_name(b->target->files[s[i].file]), base_name(tu))) {
				found = &s[i];
				hits++;
			}
		} else if (s[i].bind != STB_LOCAL) {
			found = &s[i];
			hits = 1;
			break;
		}
	}
	if (y->bind == STB_LOCAL && !hits && any_local == 1)
		found = lone_local, hits = 1;
	if (hits == 1) {
		*ret = found;
		return 0;
	}
	if (hits > 1)
		return refuse(b, y->name, tu, "the target has %zu local symbols of this name in %s; cannot tell them "
					       "apart", hits, tu);
	return -ENOENT;
}

static size_t add_sym(struct builder *b, struct hp_wsym s)
{
	if (b->nsyms == b->capsyms) {
		size_t nc = b->capsyms ? b->capsyms * 2 : 64;
		struct hp_wsym *ns = realloc(b->syms, nc * sizeof(*ns));

		if (!ns)
			return SIZE_MAX;
		b->syms = ns;
		b->capsyms = nc;
	}
	b->syms[b->nsyms] = s;
	return b->nsyms++;
}

/* A symbol bound to the target at a link-time address (one per address). */
static size_t target_sym(struct builder *b, const char *name, uint64_t addr, uint64_t size, uint8_t type)
{
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec == HP_SEC_TARGET && b->syms[i].value == addr && !strcmp(b->syms[i].name, name))
			return i;
	return add_sym(b, (struct hp_wsym){ name, addr, size, type == STT_TLS ? STT_TLS : type, STB_LOCAL,
					    HP_SEC_TARGET });
}

static size_t import_sym(struct builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec == HP_SEC_UNDEF && !strcmp(b->syms[i].name, name))
			return i;
	return add_sym(b, (struct hp_wsym){ name, 0, 0, STT_NOTYPE, STB_GLOBAL, HP_SEC_UNDEF });
}

static bool name_used(struct builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nsyms; i++)
		if (b->syms[i].sec < b->nsecs && !strcmp(b->syms[i].name, name))
			return true;
	return false;
}

/* Mark a section for the payload and queue it for processing. */
static int include_sec(struct builder *b, struct unit *u, struct ob_sec *s)
{
	if (s->include)
		return 0;
	if (s->sh.sh_flags & SHF_TLS)
		return refuse(b, s->primary ? s->primary->name : s->name, u->tu,
			      "the fix adds a thread-local variable; new TLS cannot be added to a running process");
	s->include = true;
	if (u->nwork == u->capwork) {
		size_t nc = u->capwork ? u->capwork * 2 : 32;
		struct ob_sec **nw = realloc(u->work, nc * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		u->work = nw;
		u->capwork = nc;
	}
	u->work[u->nwork++] = s;
	return 0;
}

/* Data the patch carries itself rather than binding to the target's copy. */
static bool carry_data(const struct ob_sec *s)
{
	if (ob_is_string_sec(s) || !s->primary || s->primary->type != STT_OBJECT)
		return true;	/* literals, jump tables, anonymous constants */
	if (!strncmp(s->primary->name, "CSWTCH.", 7))
		return true;	/* switch lookup table private to its function */
	return !s->twin || !s->primary->twin;	/* a new object */
}

struct mapped {
	size_t sym;
	int64_t addend;
};

/* Decide what a relocation of an included section refers to in the payload. */
static int map_rela(struct builder *b, struct unit *u, const struct ob_rela *r, struct mapped *out)
{
	struct ob_sym *t = r->sym;
	struct ob_sec *s = t->sec;
	const struct hp_sym *ts;
	int64_t off;
	int rc;

	if (!s) {
		if (t->s.st_shndx == SHN_ABS) {
			out->sym = add_sym(b, (struct hp_wsym){ t->name, t->s.st_value, 0, t->type, STB_LOCAL, HP_SEC_ABS });
			out->addend = r->addend;
			return 0;
		}
		/* Undefined: another translation unit of the target, or a library. */
		rc = target_lookup(b, t, NULL, &ts);
		if (rc == 0 && ts->type != STT_GNU_IFUNC && !(ts->dynamic && b->target->ehdr.e_type == ET_DYN &&
							      hp_elf_find_import(b->target, t->name))) {
			if (ts->type == STT_TLS)
				return refuse(b, t->name, u->tu, "thread-local variables of other translation units are "
								 "not supported yet");
			out->sym = target_sym(b, ts->name, ts->value, ts->size, ts->type);
		} else {
			out->sym = import_sym(b, t->name);
		}
		out->addend = r->addend;
		return 0;
	}
	off = rela_target_off(r);
	if (ob_is_text(s)) {
		struct ob_sym *f = s->primary;
		bool entry = (t->type == STT_SECTION ? off : off - (int64_t)t->s.st_value) == 0 &&
			     (t->type == STT_SECTION || t == f);

		if (s->include && !(s->status == OB_CHANGED && entry && f)) {
			/* inside the new code (a label of a jump table), or a new function: bound after emission */
			out->sym = SIZE_MAX;
			out->addend = r->addend + (t->type == STT_SECTION ? 0 : (int64_t)t->s.st_value);
			return 1;
		}
		if (!f)
			return refuse(b, s->name, u->tu, "code section without a function symbol is referenced");
		rc = target_lookup(b, f, u->tu, &ts);
		if (rc == -ENOENT)
			return refuse(b, f->name, u->tu,
				      "the patch calls it, but the target has no such function (inlined everywhere in "
				      "the original build?)");
		if (rc < 0)
			return rc;
		out->sym = target_sym(b, ts->name, ts->value, ts->size, STT_FUNC);
		out->addend = r->addend + (t->type == STT_SECTION ? 0 : (int64_t)t->s.st_value);
		return 0;
	}
	if (!ob_is_data(s))
		return refuse(b, s->name, u->tu, "reference to an unsupported section");
	if (carry_data(s)) {
		rc = include_sec(b, u, s);
		if (rc < 0)
			return rc;
		out->sym = SIZE_MAX;	/* resolved after emission: the section's payload symbol */
		out->addend = r->addend + (t->type == STT_SECTION ? 0 : (int64_t)t->s.st_value);
		return 1;
	}
	rc = target_lookup(b, s->primary, u->tu, &ts);
	if (rc == -ENOENT)
		return refuse(b, s->primary->name, u->tu,
			      "the patch uses this variable, but the target has no symbol for it (optimised away in "
			      "the original build?)");
	if (rc < 0)
		return rc;
	out->sym = target_sym(b, ts->name, ts->value, ts->size, ts->type);
	out->addend = r->addend + (t->type == STT_SECTION ? 0 : (int64_t)t->s.st_value);
	return 0;
}

/* Compare the patched object with the original and decide what changed. */
static int compare_unit(struct builder *b, struct unit *u)
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
		r = sections_equal(s->twin, s);
		if (r < 0)
			return r;
		s->status = r ? OB_SAME : OB_CHANGED;
	}
	/* Existing objects must keep their size and initial value. */
	for (i = 1; i < u->patched->nsyms; i++) {
		struct ob_sym *y = &u->patched->syms[i];

		if (y->type != STT_OBJECT || !y->twin || !y->sec || !y->twin->sec || !ob_is_data(y->sec))
			continue;
		if (carry_data(y->sec))
			continue;
		if (y->s.st_size != y->twin->s.st_size)
			return refuse(b, y->name, u->tu, "the fix changes the size of an existing variable (%" PRIu64
							 " -> %" PRIu64 " bytes); running code still uses the old layout",
				      y->twin->s.st_size, y->s.st_size);
		if (y->sec->sh.sh_type != y->twin->sec->sh.sh_type)
			return refuse(b, y->name, u->tu, "the fix changes the initial value of an existing variable");
		r = sections_equal(y->twin->sec, y->sec);
		if (r < 0)
			return r;
		if (!r)
			return refuse(b, y->name, u->tu,
				      "the fix changes the initial value of an existing variable; the running process "
				      "already has its own value");
	}
	return 0;
}

/* The rebuilt original must be the code that is running. */
static int verify_original(struct builder *b, struct unit *u, const struct ob_sec *orig, const struct hp_sym *ts,
			   const char *name)
{
	_cleanup_free_ uint8_t *mask = reloc_mask(orig);
	_cleanup_free_ uint8_t *bytes = malloc(orig->sh.sh_size ? orig->sh.sh_size : 1);
	size_t i;

	if (!mask || !bytes)
		return -ENOMEM;
	if (ts->size != orig->sh.sh_size)
		return refuse(b, name, u->tu,
			      "the rebuilt original is %" PRIu64 " bytes but the running binary's is %" PRIu64
			      "; built with another compiler or other flags?", (uint64_t)orig->sh.sh_size, ts->size);
	if (hp_elf_read_vaddr(b->target, ts->value, bytes, orig->sh.sh_size) < 0)
		return refuse(b, name, u->tu, "cannot read its code from the target");
	for (i = 0; i < orig->sh.sh_size; i++)
		if (!mask[i] && bytes[i] != orig->data[i])
			return refuse(b, name, u->tu,
				      "the rebuilt original differs from the running binary at +0x%zx; built with "
				      "another compiler, other flags or other source?", i);
	return 0;
}

static size_t add_section(struct builder *b, const struct ob_sec *s)
{
	if (b->nsecs == b->capsecs) {
		size_t nc = b->capsecs ? b->capsecs * 2 : 32;
		struct hp_wsec *ns = realloc(b->secs, nc * sizeof(*ns));

		if (!ns)
			return SIZE_MAX;
		b->secs = ns;
		b->capsecs = nc;
	}
	b->secs[b->nsecs] = (struct hp_wsec){ s->name, s->sh.sh_type == SHT_NOBITS ? SHT_NOBITS : SHT_PROGBITS,
					      s->sh.sh_flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_MERGE |
								SHF_STRINGS),
					      s->sh.sh_addralign ? s->sh.sh_addralign : 1, s->sh.sh_size, s->data, NULL,
					      0 };
	return b->nsecs++;
}

static int add_func(struct builder *b, struct hp_manifest_func f)
{
	if (b->nfuncs == b->capfuncs) {
		size_t nc = b->capfuncs ? b->capfuncs * 2 : 16;
		struct hp_manifest_func *nf = realloc(b->funcs, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		b->funcs = nf;
		b->capfuncs = nc;
	}
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
			return own(b, n);
		free(n);
	}
}

static int process_unit(struct builder *b, struct unit *u)
{
	size_t i, w;
	int r;

	correlate(u);
	r = compare_unit(b, u);
	if (r < 0)
		return r;
	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *s = &u->patched->secs[i];

		if (s->status != OB_CHANGED && s->status != OB_NEW)
			continue;
		if (!s->primary || s->primary->type != STT_FUNC)
			return refuse(b, s->name, u->tu, "changed code section without a function symbol");
		r = include_sec(b, u, s);
		if (r < 0)
			return r;
	}
	/* Each included section becomes a payload section with a section symbol. */
	for (w = 0; w < u->nwork; w++) {
		struct ob_sec *s = u->work[w];
		size_t k, out;

		if (s->emitted)
			continue;
		s->emitted = true;
		out = add_section(b, s);
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
			b->secs[out].relas[k] = (struct hp_prela){ s->relas[k].offset, s->relas[k].type,
								   (uint32_t)m.sym, m.addend };
			if (r == 1)	/* a payload section: its symbol is known once it is emitted */
				b->secs[out].relas[k].sym = UINT32_MAX;
		}
		b->secs[out].nrelas = s->nrelas;
		if (ob_is_text(s) && s->status != OB_SAME) {
			struct ob_sym *f = s->primary;
			const char *pn = payload_name(b, f->name);
			size_t fs;

			if (!pn)
				return -ENOMEM;
			fs = add_sym(b, (struct hp_wsym){ pn, 0, s->sh.sh_size, STT_FUNC, STB_LOCAL, (uint32_t)out });
			if (fs == SIZE_MAX)
				return -ENOMEM;
			if (s->status == OB_NEW) {
				const char **nn = realloc(b->new_funcs, (b->nnew + 1) * sizeof(*nn));

				if (!nn)
					return -ENOMEM;
				b->new_funcs = nn;
				b->new_funcs[b->nnew++] = f->name;
				b->rep->nnew++;
				event(b, HP_BUILD_NEW, f->name, u->tu, "new function added by the fix");
			} else {
				const struct hp_sym *ts;
				struct hp_manifest_func mf = { 0 };
				_cleanup_free_ uint8_t *bytes = NULL;

				r = target_lookup(b, f, u->tu, &ts);
				if (r == -ENOENT)
					return refuse(b, f->name, u->tu,
						      "changed, but the target has no such function (inlined into its "
						      "callers in the original build?)");
				if (r < 0)
					return r;
				r = verify_original(b, u, s->twin, ts, f->name);
				if (r < 0)
					return r;
				bytes = malloc(ts->size);
				if (!bytes || hp_elf_read_vaddr(b->target, ts->value, bytes, ts->size) < 0)
					return refuse(b, f->name, u->tu, "cannot read its code from the target");
				mf.name = ts->name;
				mf.symbol = pn;
				mf.addr = ts->value;
				mf.size = ts->size;
				hp_sha256(bytes, ts->size, mf.sha256);
				r = add_func(b, mf);
				if (r < 0)
					return r;
				b->rep->nreplaced++;
				event(b, HP_BUILD_CHANGED, f->name, u->tu, "body changed");
			}
		} else if (!ob_is_text(s)) {
			event(b, HP_BUILD_DATA, s->primary ? s->primary->name : s->name, u->tu, "%s",
			      ob_is_string_sec(s) ? "string literals used by new code"
			      : !s->primary	  ? "constants used by new code (jump table, literals)"
			      : s->twin		  ? "function-private table"
						  : "new variable added by the fix");
		}
	}
	/* Bind references to payload sections now that every included section is emitted. */
	for (w = 0; w < u->nwork; w++) {
		struct ob_sec *s = u->work[w];
		size_t out = b->syms[s->out_index].sec, k;

		for (k = 0; k < s->nrelas; k++)
			if (b->secs[out].relas[k].sym == UINT32_MAX)
				b->secs[out].relas[k].sym = (uint32_t)s->relas[k].sym->sec->out_index;
	}
	return 0;
}

static char *rfc3339_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

int hp_build_objects(struct hp_ctx *ctx, const struct hp_build_opts *opts, const struct hp_build_unit *units,
		     size_t nunits, struct hp_build_report *report)
{
	struct builder b = { .ctx = ctx, .opts = opts, .rep = report };
	struct unit *us = NULL;
	struct hp_manifest man = { 0 };
	json_t *mj = NULL;
	char *mtext = NULL, *id = NULL, *tname = NULL;
	size_t i;
	int r;

	memset(report, 0, sizeof(*report));
	r = hp_elf_open(ctx, opts->target, &b.target);
	if (r < 0)
		return r;
	if (!b.target->build_id_len) {
		r = hp_err(ctx, -HP_E_BUILD, "build: target '%s' has no GNU build-id; link it with --build-id",
			   opts->target);
		goto out;
	}
	r = hp_elf_load_symbols(ctx, b.target, opts->debug_file);
	if (r < 0)
		goto out;
	r = hp_elf_load_imports(ctx, b.target);
	if (r < 0)
		goto out;
	if (!b.target->has_symtab) {
		r = hp_err(ctx, -HP_E_BUILD,
			   "build: target '%s' has no symbol table and no debug file was found for its build-id; pass "
			   "--debug-file", opts->target);
		goto out;
	}
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
	tname = strdup(opts->target);
	if (opts->id) {
		id = strdup(opts->id);
	} else {
		char *o = strdup(opts->output), *bn = o ? basename(o) : NULL, *dot;

		id = bn ? strdup(bn) : NULL;
		free(o);
		if (id && (dot = strrchr(id, '.')) && dot != id)
			*dot = 0;
	}
	if (!tname || !id) {
		r = -ENOMEM;
		goto out;
	}
	if (!hp_valid_id(id)) {
		r = hp_err(ctx, -EINVAL, "build: '%s' is not a valid patch id ([A-Za-z0-9._-], at most 64); pass --id",
			   id);
		goto out;
	}
	man.format = 1;
	man.id = id;
	man.arch = "x86_64";
	man.target_name = basename(tname);
	memcpy(man.build_id, b.target->build_id, b.target->build_id_len);
	man.build_id_len = b.target->build_id_len;
	man.level = opts->level ? opts->level : 1;
	man.classification = opts->classification ? opts->classification : "other";
	man.description = opts->description;
	man.cves = (const char **)opts->cves;
	man.ncves = opts->ncves;
	man.created = own(&b, rfc3339_now());
	man.funcs = b.funcs;
	man.nfuncs = b.nfuncs;
	man.new_funcs = b.new_funcs;
	man.nnew_funcs = b.nnew;
	mj = hp_manifest_to_json(&man);
	mtext = mj ? json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!mtext) {
		r = -ENOMEM;
		goto out;
	}
	{
		struct hp_patch_writer w = { b.secs, b.nsecs, b.syms, b.nsyms, mtext, NULL };
		struct hp_patch *check = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;

		r = hp_patch_write_mem(ctx, &w, &buf, &len);
		if (r < 0)
			goto out;
		/* What we write must be what we can read. */
		r = hp_patch_load(ctx, buf, len, &check);
		hp_patch_free(check);
		if (r < 0) {
			hp_err_prefix(ctx, r, "build: internal error, the patch does not parse: ");
			goto out;
		}
		r = hp_write_file_atomic(opts->output, buf, len, 0644);
		if (r < 0) {
			r = hp_err(ctx, r, "build: cannot write '%s': %s", opts->output, strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	free(mtext);
	if (mj)
		json_decref(mj);
	free(id);
	free(tname);
	if (us)
		for (i = 0; i < nunits; i++) {
			ob_close(us[i].orig);
			ob_close(us[i].patched);
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
	hp_elf_close(b.target);
	return r;
}
