/* SPDX-License-Identifier: MIT */
/*
 * DWARF facts of one relocatable object for the builder (debuginfo.h).
 *
 * libdwfl reads an ET_REL object "offline": it assigns each allocated
 * section an address and applies the object's relocations to the debug
 * sections, so line rows, variable locations and function ranges all come
 * out as addresses in that layout.  We keep each section's assigned address
 * and translate back to (section index, offset), the coordinates the rest
 * of the builder uses.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo.h"
#include "lib/core/internal.h"
#include "shared/dw.h"

struct di_row {
	uint64_t addr;
	int line;
	bool end;			/* end of a sequence: no code here */
	const char *file;
};

struct di_static {
	uint64_t addr;
	char *key;
};

/* A subprogram DIE: concrete ones have an entry address, every one has a declaration line. */
struct di_func {
	Dwarf_Off off;
	uint64_t entry;			/* layout address of its code, 0 for abstract/declaration DIEs */
	bool concrete;
	const char *name;
	const char *file;
	int line;
};

/* A helper inlined at a call site: the code range it covers there and the caller's line. */
struct di_inline {
	uint64_t lo, hi;
	int call_line;
	int depth;
};

struct di_named {
	const char *name;
	Dwarf_Off off;
	bool func;
	bool decl;			/* a declaration, not a definition */
};

struct di_obj {
	Dwfl *dwfl;
	Dwarf *dw;
	Dwarf_Addr dwbias;
	uint64_t *sec_addr;		/* per section index: layout address, UINT64_MAX if not allocated */
	uint64_t *sec_size;
	size_t nsecs;
	struct di_row *rows;
	size_t nrows, caprows;
	struct di_static *statics;
	size_t nstatics, capstatics;
	struct di_func *funcs;
	size_t nfuncs, capfuncs;
	struct di_named *named;
	size_t nnamed, capnamed;
	struct di_inline *inl;
	size_t ninl, capinl;
	bool lto;
	char *cu_name;			/* the first compilation unit's source, relative to its directory */
};

static const Dwfl_Callbacks offline_cb = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* Grow an array by one element; returns the new slot or NULL. */
static void *grow(void **v, size_t *n, size_t *cap, size_t elem)
{
	if (hp_grow(v, cap, *n + 1, elem) < 0)
		return NULL;
	return (char *)*v + (*n)++ * elem;
}

/* Free the DWARF facts of an object (NULL is fine). */
void di_close(struct di_obj *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nstatics; i++)
		free(d->statics[i].key);
	free(d->statics);
	free(d->rows);
	free(d->funcs);
	free(d->named);
	free(d->inl);
	free(d->sec_addr);
	free(d->sec_size);
	free(d->cu_name);
	if (d->dwfl)
		dwfl_end(d->dwfl);
	free(d);
}

/* Line rows sorted by address, so a lookup is a binary search. */
static int row_cmp(const void *a, const void *b)
{
	const struct di_row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)y->end - (int)x->end;	/* a sequence's end before the next one's start */
}

/* Translate a DWARF address into (section, offset). */
static bool to_sec(const struct di_obj *d, uint64_t dwaddr, size_t *ret_shndx, uint64_t *ret_off)
{
	uint64_t a = dwaddr + d->dwbias;
	size_t i;

	for (i = 1; i < d->nsecs; i++)
		if (d->sec_addr[i] != UINT64_MAX && a >= d->sec_addr[i] && a - d->sec_addr[i] < d->sec_size[i]) {
			*ret_shndx = i;
			*ret_off = a - d->sec_addr[i];
			return true;
		}
	return false;
}

/* Translate (section, offset) into a DWARF address, or UINT64_MAX. */
static uint64_t from_sec(const struct di_obj *d, size_t shndx, uint64_t off)
{
	if (shndx >= d->nsecs || d->sec_addr[shndx] == UINT64_MAX)
		return UINT64_MAX;
	return d->sec_addr[shndx] + off - d->dwbias;
}

/* The address a single DW_OP_addr location names, if that is what the variable's location is. */
static bool static_addr(Dwarf_Die *die, uint64_t *ret)
{
	Dwarf_Attribute at;
	Dwarf_Op *ops;
	size_t nops;

	if (!dwarf_attr(die, DW_AT_location, &at) || dwarf_getlocation(&at, &ops, &nops) != 0 || nops != 1 ||
	    ops[0].atom != DW_OP_addr)
		return false;
	*ret = ops[0].number;
	return true;
}

/* Remember a top-level function or variable DIE by name, for the type checks. */
static int add_named(struct di_obj *d, Dwarf_Die *die, bool func)
{
	const char *name = dwarf_diename(die);
	struct di_named *n;

	if (!name)
		return 0;
	n = grow((void **)&d->named, &d->nnamed, &d->capnamed, sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = (struct di_named){ name, dwarf_dieoffset(die), func, dwarf_hasattr(die, DW_AT_declaration) };
	return 0;
}

/*
 * Walk a DIE subtree: record subprograms, static variables with their
 * scope key, and top-level names.  func is the name of the enclosing
 * subprogram (NULL at file scope); counts numbers same-named statics in it.
 */
struct walk {
	struct di_obj *d;
	const char *func;
	const char **seen;		/* names of statics already keyed in this function */
	size_t nseen, capseen;
};

/* Dispatch one DIE of the walk: functions, variables (statics), inlined helpers, blocks. */
static int walk_die(struct walk *w, Dwarf_Die *die, int depth);

/* Walk the children of a DIE (bounded depth). */
static int walk_children(struct walk *w, Dwarf_Die *die, int depth)
{
	Dwarf_Die c;
	int r;

	if (depth > 64 || dwarf_child(die, &c) != 0)
		return 0;
	do {
		r = walk_die(w, &c, depth + 1);
		if (r < 0)
			return r;
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

/* A function: its declaration, its code address if concrete, and its statics. */
static int walk_subprogram(struct walk *w, Dwarf_Die *die, int depth)
{
	struct di_func *f = grow((void **)&w->d->funcs, &w->d->nfuncs, &w->d->capfuncs, sizeof(*f));
	struct walk inner = { w->d, NULL, NULL, 0, 0 };
	Dwarf_Addr lo;
	int line = 0, r;

	if (!f)
		return -ENOMEM;
	dwarf_decl_line(die, &line);
	*f = (struct di_func){ dwarf_dieoffset(die), 0, false, dwarf_diename(die), dwarf_decl_file(die), line };
	if (dwarf_entrypc(die, &lo) == 0 && !dwarf_hasattr(die, DW_AT_declaration)) {
		f->entry = lo;
		f->concrete = true;
	}
	inner.func = f->name ? f->name : "?";
	r = walk_children(&inner, die, depth);
	free(inner.seen);
	return r;
}

/* Dispatch one DIE of the walk: functions, variables (statics), inlined helpers, blocks. */
static int walk_die(struct walk *w, Dwarf_Die *die, int depth)
{
	int tag = dwarf_tag(die), r;
	uint64_t addr;

	if (tag == DW_TAG_subprogram) {
		if (depth == 1) {
			r = add_named(w->d, die, true);
			if (r < 0)
				return r;
		}
		return walk_subprogram(w, die, depth);
	}
	if (tag == DW_TAG_variable) {
		if (depth == 1) {
			r = add_named(w->d, die, false);
			if (r < 0)
				return r;
		}
		if (w->func && static_addr(die, &addr)) {
			const char *name = dwarf_diename(die);
			struct di_static *s;
			const char **seen;
			size_t k, count = 0;

			if (!name)
				return 0;
			for (k = 0; k < w->nseen; k++)
				count += !strcmp(w->seen[k], name);
			seen = grow((void **)&w->seen, &w->nseen, &w->capseen, sizeof(*seen));
			s = grow((void **)&w->d->statics, &w->d->nstatics, &w->d->capstatics, sizeof(*s));
			if (!seen || !s)
				return -ENOMEM;
			*seen = name;
			s->addr = addr;
			if (asprintf(&s->key, "%s/%s#%zu", w->func, name, count) < 0) {
				s->key = NULL;
				w->d->nstatics--;
				return -ENOMEM;
			}
		}
		return 0;
	}
	if (tag == DW_TAG_inlined_subroutine) {
		Dwarf_Addr base, start, end;
		Dwarf_Attribute at;
		Dwarf_Word line = 0;
		ptrdiff_t off = 0;

		if (dwarf_attr(die, DW_AT_call_line, &at))
			dwarf_formudata(&at, &line);
		while (line && (off = dwarf_ranges(die, off, &base, &start, &end)) > 0) {
			struct di_inline *in = grow((void **)&w->d->inl, &w->d->ninl, &w->d->capinl, sizeof(*in));

			if (!in)
				return -ENOMEM;
			*in = (struct di_inline){ start, end, (int)line, depth };
		}
	}
	if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_namespace)
		return walk_children(w, die, depth);
	return 0;
}

/* Collect the line rows of a compilation unit. */
static int load_lines(struct di_obj *d, Dwarf_Die *cu)
{
	Dwarf_Lines *lines;
	size_t n, i;

	if (dwarf_getsrclines(cu, &lines, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		struct di_row *r;
		Dwarf_Addr a;
		bool end = false;
		int line = 0;

		if (!l || dwarf_lineaddr(l, &a) != 0)
			continue;
		dwarf_lineno(l, &line);
		dwarf_lineendsequence(l, &end);
		r = grow((void **)&d->rows, &d->nrows, &d->caprows, sizeof(*r));
		if (!r)
			return -ENOMEM;
		*r = (struct di_row){ a, line, end, dwarf_linesrc(l, NULL, NULL) };
	}
	return 0;
}

/* Read an object's DWARF once: sections' layout addresses, rows, statics, functions, names. */
int di_open(struct hp_ctx *ctx, const char *path, struct di_obj **ret)
{
	struct di_obj *d = calloc(1, sizeof(*d));
	Dwfl_Module *mod;
	Elf *elf;
	GElf_Addr ebias;
	Dwarf_Off off = 0, next;
	size_t hsize, i;
	int r = 0;

	*ret = NULL;
	if (hp_dw_load() < 0) {
		hp_log(ctx, HP_LOG_ERR, "build: cannot load %s to read DWARF (install libdw1)", HP_DW_SONAME);
		free(d);
		return -ENOSYS;
	}
	if (!d)
		return -ENOMEM;
	d->dwfl = dwfl_begin(&offline_cb);
	if (!d->dwfl)
		goto none;
	mod = dwfl_report_offline(d->dwfl, "obj", path, -1);
	dwfl_report_end(d->dwfl, NULL, NULL);
	if (!mod)
		goto none;
	d->dw = dwfl_module_getdwarf(mod, &d->dwbias);
	elf = dwfl_module_getelf(mod, &ebias);
	if (!d->dw || !elf || elf_getshdrnum(elf, &d->nsecs) != 0)
		goto none;
	d->sec_addr = calloc(d->nsecs, sizeof(*d->sec_addr));
	d->sec_size = calloc(d->nsecs, sizeof(*d->sec_size));
	if (!d->sec_addr || !d->sec_size) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < d->nsecs; i++) {
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(elf, i);

		d->sec_addr[i] = UINT64_MAX;
		if (i && scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && sh.sh_size) {
			d->sec_addr[i] = sh.sh_addr + ebias;
			d->sec_size[i] = sh.sh_size;
		}
	}
	while (dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		struct walk w = { d, NULL, NULL, 0, 0 };
		Dwarf_Attribute at;
		const char *prod;

		if (dwarf_offdie(d->dw, off + hsize, &cu)) {
			prod = dwarf_formstring(dwarf_attr(&cu, DW_AT_producer, &at));
			if (prod && (strstr(prod, "GNU GIMPLE") || strstr(prod, " -flto")))
				d->lto = true;
			if (!d->cu_name && dwarf_diename(&cu)) {
				const char *name = dwarf_diename(&cu);
				const char *cdir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &at));
				size_t cl = cdir ? strlen(cdir) : 0;

				if (cl && !strncmp(name, cdir, cl) && name[cl] == '/')
					name += cl + 1;
				d->cu_name = strdup(name);
			}
			r = load_lines(d, &cu);
			if (r == 0)
				r = walk_children(&w, &cu, 0);
			free(w.seen);
			if (r < 0)
				goto fail;
		}
		off = next;
	}
	if (d->nrows)
		qsort(d->rows, d->nrows, sizeof(*d->rows), row_cmp);
	*ret = d;
	return 0;
none:
	hp_debug(ctx, "build: '%s' has no usable DWARF; correlating by symbols only", path);
	di_close(d);
	return 0;
fail:
	di_close(d);
	return r;
}

/* Borrowed from the object's DWARF facts. */
const char *di_cu_name(const struct di_obj *d)
{
	return d ? d->cu_name : NULL;
}

/* LTO objects describe GIMPLE, not code: the caller refuses them. */
bool di_lto(const struct di_obj *d)
{
	return d && d->lto;
}

/* Index of the last row at or before a, or SIZE_MAX. */
static size_t row_at(const struct di_obj *d, uint64_t a)
{
	size_t lo = 0, hi = d->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->rows[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

/* The row covering an instruction; 0 in the gap after a sequence. */
int di_line_at(const struct di_obj *d, size_t shndx, uint64_t off)
{
	uint64_t a;
	size_t k;

	if (!d)
		return 0;
	a = from_sec(d, shndx, off);
	if (a == UINT64_MAX)
		return 0;
	k = row_at(d, a);
	if (k == SIZE_MAX || d->rows[k].end)
		return 0;
	return d->rows[k].line;
}

/* Lines a __LINE__ in this code may hold: the row, then each inline call site outward. */
int di_lines_at(const struct di_obj *d, size_t shndx, uint64_t off, int *lines, int max)
{
	uint64_t a;
	int n = 0, k;
	size_t i;

	if (!d || max < 1 || !(lines[0] = di_line_at(d, shndx, off)))
		return 0;
	n = 1;
	a = from_sec(d, shndx, off);
	/* Call lines of the inlined helpers covering a, innermost (deepest) first. */
	for (k = 64; k > 0 && n < max; k--)
		for (i = 0; i < d->ninl && n < max; i++)
			if (d->inl[i].depth == k && a >= d->inl[i].lo && a < d->inl[i].hi)
				lines[n++] = d->inl[i].call_line;
	return n;
}

/* Statics are located by DW_OP_addr, which libdwfl relocated into the layout. */
const char *di_static_key(const struct di_obj *d, size_t shndx, uint64_t off)
{
	size_t i, s;
	uint64_t o;

	if (!d)
		return NULL;
	for (i = 0; i < d->nstatics; i++)
		if (to_sec(d, d->statics[i].addr, &s, &o) && s == shndx && o == off)
			return d->statics[i].key;
	return NULL;
}

/* Same-named statics of one scope pair in order only while their number stays. */
size_t di_static_count(const struct di_obj *d, const char *key)
{
	const char *hash = key ? strrchr(key, '#') : NULL;
	size_t i, n = 0, len;

	if (!d || !hash)
		return 0;
	len = (size_t)(hash - key) + 1;
	for (i = 0; i < d->nstatics; i++)
		n += !strncmp(d->statics[i].key, key, len) && d->statics[i].key[len] >= '0' &&
		     d->statics[i].key[len] <= '9';
	return n;
}

/* The concrete subprogram whose code starts at (section, 0). */
static const struct di_func *func_at(const struct di_obj *d, size_t shndx)
{
	size_t i, s;
	uint64_t o;

	for (i = 0; i < d->nfuncs; i++)
		if (d->funcs[i].concrete && to_sec(d, d->funcs[i].entry, &s, &o) && s == shndx && o == 0)
			return &d->funcs[i];
	return NULL;
}

/* The end of the source span a function declared at (file, line) owns: the next declaration's line. */
static int span_end(const struct di_obj *d, const char *file, int line)
{
	int best = 1 << 30;
	size_t i;

	for (i = 0; i < d->nfuncs; i++)
		if (d->funcs[i].file && file && !strcmp(d->funcs[i].file, file) && d->funcs[i].line > line &&
		    d->funcs[i].line < best)
			best = d->funcs[i].line;
	return best;
}

/* Names of the helpers inlined (at any depth) into a function, appended to names. */
static void inlined_names(Dwarf_Die *die, const char **names, size_t *n, size_t max, int depth)
{
	Dwarf_Die c;

	if (depth > 32 || dwarf_child(die, &c) != 0)
		return;
	do {
		if (dwarf_tag(&c) == DW_TAG_inlined_subroutine) {
			const char *nm = dwarf_diename(&c);
			size_t k;

			for (k = 0; nm && k < *n; k++)
				if (!strcmp(names[k], nm))
					break;
			if (nm && k == *n && *n < max)
				names[(*n)++] = nm;
		}
		if (dwarf_tag(&c) == DW_TAG_inlined_subroutine || dwarf_tag(&c) == DW_TAG_lexical_block)
			inlined_names(&c, names, n, max, depth + 1);
	} while (dwarf_siblingof(&c, &c) == 0);
}

/* The helpers whose code is inside a function, by name. */
size_t di_inlined(const struct di_obj *d, size_t shndx, const char **names, size_t max)
{
	const struct di_func *f;
	Dwarf_Die die;
	size_t n = 0;

	if (!d || !(f = func_at(d, shndx)) || !dwarf_offdie(d->dw, f->off, &die))
		return 0;
	inlined_names(&die, names, &n, max, 0);
	return n;
}

/* The declaration of a subprogram DIE named name (abstract or concrete), for its line and file. */
static bool decl_of(const struct di_obj *d, const char *name, const char **file, int *line)
{
	size_t i;

	for (i = 0; i < d->nfuncs; i++)
		if (d->funcs[i].name && !strcmp(d->funcs[i].name, name) && d->funcs[i].line) {
			*file = d->funcs[i].file;
			*line = d->funcs[i].line;
			return true;
		}
	return false;
}

/* Attribute a function's code to source spans, to tell its own edits from its helpers'. */
int di_code_of(const struct di_obj *d, size_t shndx, const char *who,
	       void (*fn)(void *ud, size_t shndx, uint64_t off, uint64_t len, int line), void *ud)
{
	const struct di_func *f;
	Dwarf_Die die;
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;
	const char *file;
	int line, stop, n = 0;

	if (!d || !(f = func_at(d, shndx)) || !dwarf_offdie(d->dw, f->off, &die))
		return -1;
	file = f->file;
	line = f->line;
	if (who && !decl_of(d, who, &file, &line))
		return -1;
	if (!file || !line)
		return -1;
	stop = span_end(d, file, line);
	while ((off = dwarf_ranges(&die, off, &base, &start, &end)) > 0) {
		size_t k;

		for (k = row_at(d, start); k != SIZE_MAX && k < d->nrows && d->rows[k].addr < end; k++) {
			const struct di_row *r = &d->rows[k];
			uint64_t next = k + 1 < d->nrows ? d->rows[k + 1].addr : end, so;
			size_t sec;

			if (r->end || r->addr < start || next <= r->addr || !r->file || strcmp(r->file, file) ||
			    r->line < line || r->line >= stop || !to_sec(d, r->addr, &sec, &so))
				continue;
			fn(ud, sec, so, (next < end ? next : end) - r->addr, r->line - line);
			n++;
		}
	}
	return n;
}

/* ---- type layouts ---- */

struct sig {
	FILE *f;
	Dwarf_Off *seen;		/* aggregates already spelled out in this signature */
	size_t nseen, capseen;
	/* shallow layouts of each aggregate met, for messages: "name\tlayout" lines */
	FILE *shallow;
	/* enumerators met, "enum name: constant=value" lines (an enum's signature is its size) */
	FILE *enums;
};

/* Append the layout signature of a type (qualifiers and typedefs are transparent). */
static void type_sig(struct sig *s, Dwarf_Die *type, int depth);

/* The type a DIE refers to with DW_AT_type (following abstract origins), if any. */
static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute at;

	return dwarf_attr_integrate(die, DW_AT_type, &at) && dwarf_formref_die(&at, ret);
}

/* The signature of the type a DIE refers to ("v" when none: void). */
static void ref_sig(struct sig *s, Dwarf_Die *die, int depth)
{
	Dwarf_Die t;

	if (type_of(die, &t))
		type_sig(s, &t, depth);
	else
		fputs("v", s->f);
}

/* An unsigned attribute (following abstract origins), or a default. */
static Dwarf_Word udata(Dwarf_Die *die, int attr, Dwarf_Word dflt)
{
	Dwarf_Attribute at;
	Dwarf_Word v;

	if (dwarf_attr_integrate(die, attr, &at) && dwarf_formudata(&at, &v) == 0)
		return v;
	return dflt;
}

/* A struct, union or enum: its size and members, spelled out once per signature. */
static void aggregate_sig(struct sig *s, Dwarf_Die *type, int tag, int depth)
{
	const char *name = dwarf_diename(type);
	Dwarf_Off off = dwarf_dieoffset(type);
	Dwarf_Off *slot;
	Dwarf_Die c;
	size_t k;
	char kind = tag == DW_TAG_union_type ? 'u' : tag == DW_TAG_enumeration_type ? 'e' : 's';

	fprintf(s->f, "%c%s", kind, name ? name : "");
	if (dwarf_hasattr(type, DW_AT_declaration)) {
		fputs("?", s->f);
		return;
	}
	for (k = 0; k < s->nseen; k++)
		if (s->seen[k] == off)
			return;
	slot = grow((void **)&s->seen, &s->nseen, &s->capseen, sizeof(*slot));
	if (slot)
		*slot = off;
	fprintf(s->f, "{%lu", (unsigned long)udata(type, DW_AT_byte_size, 0));
	if (s->shallow)
		fprintf(s->shallow, "%s %s\t%lu", kind == 'u' ? "union" : kind == 'e' ? "enum" : "struct",
			name ? name : "(anonymous)", (unsigned long)udata(type, DW_AT_byte_size, 0));
	if (dwarf_child(type, &c) == 0) {
		do {
			int ct = dwarf_tag(&c);
			const char *cn = dwarf_diename(&c);
			Dwarf_Die t;

			if (ct == DW_TAG_enumerator) {
				Dwarf_Attribute at;
				Dwarf_Sword v = 0;

				if (dwarf_attr(&c, DW_AT_const_value, &at))
					dwarf_formsdata(&at, &v);
				if (s->enums)
					fprintf(s->enums, "enum %s: %s=%lld\n", name ? name : "(anonymous)", cn ? cn : "",
						(long long)v);
			} else if (ct == DW_TAG_member) {
				unsigned long mo = (unsigned long)udata(&c, DW_AT_data_member_location, 0);
				unsigned long bo = (unsigned long)udata(&c, DW_AT_data_bit_offset, 0);
				unsigned long bs = (unsigned long)udata(&c, DW_AT_bit_size, 0);

				fprintf(s->f, ";%s@%lu.%lu:%lu:", cn ? cn : "", mo, bo, bs);
				if (s->shallow) {
					fprintf(s->shallow, ";%s@%lu.%lu:%lu:", cn ? cn : "", mo, bo, bs);
					if (type_of(&c, &t)) {
						Dwarf_Word sz = 0;

						dwarf_aggregate_size(&t, &sz);
						fprintf(s->shallow, "%lu", (unsigned long)sz);
					}
				}
				if (depth < 12)
					ref_sig(s, &c, depth + 1);
			}
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	fputs("}", s->f);
	if (s->shallow)
		fputs("\n", s->shallow);
}

/* Append the layout signature of a type (qualifiers and typedefs are transparent). */
static void type_sig(struct sig *s, Dwarf_Die *type, int depth)
{
	Dwarf_Die t, c;
	int tag;

	if (depth > 24) {
		fputs("~", s->f);
		return;
	}
	tag = dwarf_tag(type);
	switch (tag) {
	case DW_TAG_typedef:
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		ref_sig(s, type, depth);		/* no layout of their own */
		return;
	case DW_TAG_base_type:
		fprintf(s->f, "b%s:%lu:%lu", dwarf_diename(type) ? dwarf_diename(type) : "",
			(unsigned long)udata(type, DW_AT_byte_size, 0), (unsigned long)udata(type, DW_AT_encoding, 0));
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		fputs("*", s->f);
		ref_sig(s, type, depth + 1);
		return;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		aggregate_sig(s, type, tag, depth);
		return;
	case DW_TAG_array_type:
		fputs("[", s->f);
		if (dwarf_child(type, &c) == 0)
			do {
				if (dwarf_tag(&c) == DW_TAG_subrange_type)
					fprintf(s->f, "%lu,",
						(unsigned long)udata(&c, DW_AT_upper_bound, (Dwarf_Word)-1));
			} while (dwarf_siblingof(&c, &c) == 0);
		fputs("]", s->f);
		ref_sig(s, type, depth + 1);
		return;
	case DW_TAG_subroutine_type:
		fputs("f(", s->f);
		if (dwarf_child(type, &c) == 0)
			do {
				if (dwarf_tag(&c) == DW_TAG_formal_parameter && type_of(&c, &t)) {
					type_sig(s, &t, depth + 1);
					fputs(",", s->f);
				} else if (dwarf_tag(&c) == DW_TAG_unspecified_parameters) {
					fputs("...", s->f);
				}
			} while (dwarf_siblingof(&c, &c) == 0);
		fputs(")", s->f);
		ref_sig(s, type, depth + 1);
		return;
	default:
		fprintf(s->f, "t%d", tag);
	}
}

/* The DIE of a top-level entity by name, preferring definitions. */
static bool named_die(const struct di_obj *d, const char *name, bool func, Dwarf_Die *ret)
{
	size_t i, best = SIZE_MAX;

	for (i = 0; i < d->nnamed; i++)
		if (d->named[i].func == func && !strcmp(d->named[i].name, name) &&
		    (best == SIZE_MAX || (d->named[best].decl && !d->named[i].decl)))
			best = i;
	return best != SIZE_MAX && dwarf_offdie(d->dw, d->named[best].off, ret);
}

/* Signature of a variable's type, or of a function's return and parameter types. */
static char *entity_sig(const struct di_obj *d, const char *name, bool func, char **shallow, char **enums)
{
	struct sig s = { 0 };
	char *buf = NULL, *sbuf = NULL, *ebuf = NULL;
	size_t len = 0, slen = 0, elen = 0;
	Dwarf_Die die, c;

	if (!d || !named_die(d, name, func, &die))
		return NULL;
	s.f = open_memstream(&buf, &len);
	if (!s.f)
		return NULL;
	if (shallow)
		s.shallow = open_memstream(&sbuf, &slen);
	if (enums)
		s.enums = open_memstream(&ebuf, &elen);
	ref_sig(&s, &die, 0);
	if (func) {
		Dwarf_Die origin, *params = &die;
		Dwarf_Attribute at;

		/* A concrete instance lists its parameters again; the abstract one has them all. */
		if (dwarf_attr(&die, DW_AT_abstract_origin, &at) && dwarf_formref_die(&at, &origin))
			params = &origin;
		fputs("(", s.f);
		if (dwarf_child(params, &c) == 0)
			do {
				if (dwarf_tag(&c) == DW_TAG_formal_parameter) {
					ref_sig(&s, &c, 0);
					fputs(",", s.f);
				}
			} while (dwarf_siblingof(&c, &c) == 0);
		fputs(")", s.f);
	}
	fclose(s.f);
	if (s.shallow) {
		fclose(s.shallow);
		*shallow = sbuf;
	}
	if (s.enums) {
		fclose(s.enums);
		*enums = ebuf;
	}
	free(s.seen);
	return buf;
}

/* The first line of a (newline-separated) that b lacks, or NULL. */
static const char *missing_line(const char *a, const char *b, size_t *ret_len)
{
	const char *p, *q;

	for (p = a; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		size_t l = strcspn(p, "\n");
		bool found = false;

		for (q = b; q && *q && !found; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL)
			found = strcspn(q, "\n") == l && !strncmp(p, q, l);
		if (!found) {
			*ret_len = l;
			return p;
		}
	}
	return NULL;
}

/* Name the aggregate whose layout differs between the shallow layouts of a and b. */
static void name_diff(char *sa, char *sb, char *buf, size_t size)
{
	char *save = NULL, *line;

	for (line = strtok_r(sb, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *p;
		size_t nl;

		if (!tab)
			continue;
		nl = (size_t)(tab - line) + 1;
		for (p = sa; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			size_t ll = strcspn(p, "\n");
			unsigned long oldsz, newsz;

			if (strncmp(p, line, nl))
				continue;
			if (ll == strlen(line) && !strncmp(p, line, ll))
				break;
			oldsz = strtoul(p + nl, NULL, 10);
			newsz = strtoul(tab + 1, NULL, 10);
			snprintf(buf, size, "%.*s (%lu -> %lu bytes%s)", (int)(nl - 1), line, oldsz, newsz,
				 oldsz == newsz ? ", members moved or retyped" : "");
			return;
		}
	}
}

int di_layout_check(const struct di_obj *a, const struct di_obj *b, const char *name, bool func, char *buf,
		    size_t size)
{
	char *sa = NULL, *sb = NULL, *ea = NULL, *eb = NULL;
	char *ga = entity_sig(a, name, func, &sa, &ea), *gb = entity_sig(b, name, func, &sb, &eb);
	const char *gone;
	size_t len;
	int r = 0;

	if (!ga || !gb) {
		/* no DWARF for it on one side: nothing to compare */
	} else if (strcmp(ga, gb)) {
		snprintf(buf, size, "%s", func ? "a parameter or return type" : "its type");
		if (sa && sb)
			name_diff(sa, sb, buf, size);
		r = 1;
	} else if (ea && (gone = missing_line(ea, eb ? eb : "", &len))) {
		/* new enumerators are fine; an existing one that changed value or went away is not */
		snprintf(buf, size, "%.*s changed or removed (values in the process keep the old meaning)",
			 (int)len, gone);
		r = 1;
	}
	free(ga);
	free(gb);
	free(sa);
	free(sb);
	free(ea);
	free(eb);
	return r;
}
