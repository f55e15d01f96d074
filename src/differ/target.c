/* SPDX-License-Identifier: MIT */
/*
 * The running binary as the builder sees it: which of its symbols a symbol
 * of the rebuilt original is, whether the rebuilt original is the code that
 * runs, and whether the process can provide what new code imports.
 *
 * Local names repeat across translation units (two "static int helper"),
 * and even file names repeat (lib/util.c and app/util.c both give an
 * STT_FILE "util.c").  So each unit is first placed in one STT_FILE group
 * of the target by evidence: the group whose local functions have this
 * unit's names *and* bytes.  Symbols are then looked up in that group, and
 * when that still leaves a choice, the bytes of each candidate decide.  A
 * choice the evidence cannot make is refused, never guessed.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder.h"
#include "shared/dw.h"
#include "shared/x86.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Do len bytes of the target at addr equal the range of an original section, outside its relocations? */
static int bytes_match(struct builder *b, const struct ob_sec *s, uint64_t off, uint64_t len, uint64_t addr)
{
	_cleanup_free_ uint8_t *mask = reloc_mask(s);
	_cleanup_free_ uint8_t *bytes = malloc(len ? len : 1);
	uint64_t i;

	if (!mask || !bytes)
		return -ENOMEM;
	if (off + len > s->sh.sh_size || hp_elf_read_vaddr(b->target, addr, bytes, len) < 0)
		return 0;
	if (s->sh.sh_type == SHT_NOBITS)
		return 1;
	for (i = 0; i < len; i++)
		if (!mask[off + i] && bytes[i] != s->data[off + i])
			return 0;
	return 1;
}

/* Where a relative branch decoded at code + at leads, as an offset from code. */
static int64_t branch_dest(const uint8_t *code, uint64_t at, const struct x86_insn *in)
{
	int64_t d = 0;

	if (in->rel_size == 1) {
		d = (int8_t)code[at + in->rel_off];
	} else if (in->rel_size == 4) {
		int32_t v;

		memcpy(&v, code + at + in->rel_off, 4);
		d = v;
	}
	return (int64_t)(at + in->len) + d;
}

/*
 * The linker rewrites some accesses to cheaper forms of the same length:
 * thread-local ones of an executable (global-dynamic and local-dynamic
 * sequences to local-exec or initial-exec, initial-exec loads to
 * immediates) and GOT loads of symbols it resolved locally.  If the
 * original has such an access at i, return how many bytes both sides
 * cover, else 0.
 */
static uint64_t tls_relaxed(const struct ob_sec *s, uint64_t i, const struct x86_insn *ia, const uint8_t *t,
			    uint64_t j, uint64_t tleft, const struct x86_insn *ib)
{
	size_t k;

	(void)t;
	(void)j;
	for (k = 0; k < s->nrelas; k++) {
		const struct ob_rela *r = &s->relas[k];

		if (r->offset < i || r->offset >= i + ia->len)
			continue;
		/* data16 lea x@tlsgd(%rip),%rdi; data16 data16 rex.W call __tls_get_addr: 16 bytes */
		if (r->type == R_X86_64_TLSGD && r->offset == i + 4 && i + 16 <= s->sh.sh_size && tleft >= 16 &&
		    s->data[i] == 0x66)
			return 16;
		/* lea x@tlsld(%rip),%rdi; call __tls_get_addr: 12 bytes */
		if (r->type == R_X86_64_TLSLD && r->offset == i + 3 && i + 12 <= s->sh.sh_size && tleft >= 12)
			return 12;
		/* mov/add x@gottpoff(%rip),%reg: an instruction of the same length */
		if (r->type == R_X86_64_GOTTPOFF && ib->len == ia->len)
			return ia->len;
		/*
		 * A load or call through the GOT of a symbol the link resolved
		 * locally: mov -> lea, call *GOT -> addr32 call, jmp *GOT -> jmp; nop,
		 * or an immediate (GOTPCRELX), of the same length.
		 */
		if ((r->type == R_X86_64_GOTPCRELX || r->type == R_X86_64_REX_GOTPCRELX) && ib->len == ia->len)
			return ia->len;
	}
	return 0;
}

/* Where two pieces of code stop matching (code_matches). */
struct tgt_diff {
	uint64_t at;			/* offset in the rebuilt original */
	uint64_t tat;			/* offset in the running code */
	bool insn;			/* the instructions at those offsets differ */
	bool dest;			/* a branch inside the function leads to +at in the original, elsewhere in the target */
};

/* Is the instruction at p padding: nop, xchg %ax,%ax, nopl/nopw with any 66/2e prefixes? */
static bool is_nop(const uint8_t *p, const struct x86_insn *in)
{
	unsigned k = 0;

	while (k < in->len && (p[k] == 0x66 || p[k] == 0x2e))
		k++;
	if (k < in->len && p[k] == 0x90)
		return k + 1u == in->len;
	return k + 1u < in->len && p[k] == 0x0f && p[k + 1] == 0x1f;
}

/* The first offset at or after off that is not padding. */
static uint64_t past_nops(const uint8_t *code, uint64_t n, uint64_t off)
{
	struct x86_insn in;

	while (off < n && x86_decode(code + off, n - off, &in) == 0 && is_nop(code + off, &in))
		off += in.len;
	return off;
}

/* jmp or jcc: 0 not a branch, else a kind (jmp, or jcc by condition) the same for rel8 and rel32 forms. */
static int branch_kind(const struct x86_insn *in)
{
	if (in->map == 0 && (in->op == 0xe9 || in->op == 0xeb))
		return 1;
	if (in->map == 1 && in->op >= 0x80 && in->op <= 0x8f)
		return 2 + (in->op - 0x80);
	if (in->map == 0 && in->op >= 0x70 && in->op <= 0x7f)
		return 2 + (in->op - 0x70);
	return 0;
}

/*
 * Does the code of an original section match the target's code at addr
 * (tsize bytes)?  Instructions are compared by what they do and where they
 * go, not by their encoding: outside relocated fields they must be the
 * same, except that
 *  - a jmp/jcc may be short (rel8) on one side and long (rel32) on the
 *    other: the assembler sizes branches by distance, and a build with or
 *    without -ffunction-sections changes distances.  A branch to another
 *    function must lead to the same place (checked when check_dest; the
 *    target is looked up through the unit); one inside the function must
 *    lead to corresponding instructions;
 *  - alignment padding (nops) may differ in length or be absent, as it
 *    absorbs those size differences.
 * Returns 1 match, 0 not (*ret_at: where it differs), or a negative error.
 */
static int code_matches(struct builder *b, struct unit *u, const struct ob_sec *s, uint64_t addr, uint64_t tsize,
			bool check_dest, struct tgt_diff *ret_at)
{
	_cleanup_free_ uint8_t *mask = reloc_mask(s);
	_cleanup_free_ uint8_t *t = malloc(tsize ? tsize : 1);
	_cleanup_free_ int64_t *a2b = calloc(s->sh.sh_size + 1, sizeof(*a2b));
	_cleanup_free_ int64_t *pend = NULL;	/* pairs: original destination, target destination */
	size_t npend = 0, k;
	uint64_t i = 0, j = 0, n = s->sh.sh_size;

	*ret_at = (struct tgt_diff){ 0 };
	if (!mask || !t || !a2b)
		return -ENOMEM;
	if (!s->data || hp_elf_read_vaddr(b->target, addr, t, tsize) < 0)
		return 0;
	if (tsize == n) {
		for (k = 0; k < n && (mask[k] || t[k] == s->data[k]); k++)
			;
		if (k == n)
			return 1;
	}
	pend = calloc(2 * (n + 1), sizeof(*pend));
	if (!pend)
		return -ENOMEM;
	for (k = 0; k <= n; k++)
		a2b[k] = -1;
	while (i < n && j < tsize) {
		struct x86_insn ia, ib;
		const struct ob_rela *r = NULL;
		bool same = true, na, nb;

		*ret_at = (struct tgt_diff){ i, j, true, false };
		a2b[i] = (int64_t)j;
		if (x86_decode(s->data + i, n - i, &ia) < 0 || x86_decode(t + j, tsize - j, &ib) < 0)
			return 0;
		k = tls_relaxed(s, i, &ia, t, j, tsize - j, &ib);
		if (k) {
			i += k;
			j += k;
			continue;
		}
		na = is_nop(s->data + i, &ia);
		nb = is_nop(t + j, &ib);
		if (na || nb) {
			/* padding of different lengths: step over it on the side that has it */
			if (na)
				i += ia.len;
			if (nb)
				j += ib.len;
			continue;
		}
		if (ia.rel_size)
			for (k = 0; k < s->nrelas && !r; k++)
				if (s->relas[k].offset == i + ia.rel_off)
					r = &s->relas[k];
		if (ia.len == ib.len) {
			for (k = 0; k < ia.len && same; k++)
				same = mask[i + k] || s->data[i + k] == t[j + k] ||
				       (ia.rel_size && !r && k >= ia.rel_off && k < (uint64_t)ia.rel_off + ia.rel_size);
			if (!same)
				return 0;
			if (ia.rel_size && !r) {	/* a branch inside the function: compare destinations later */
				pend[2 * npend] = branch_dest(s->data, i, &ia);
				pend[2 * npend + 1] = branch_dest(t, j, &ib);
				npend++;
			}
		} else {
			/* the same jmp/jcc, one short and one long */
			if (!branch_kind(&ia) || branch_kind(&ia) != branch_kind(&ib) || !ib.rel_size)
				return 0;
			if (!r) {
				pend[2 * npend] = branch_dest(s->data, i, &ia);
				pend[2 * npend + 1] = branch_dest(t, j, &ib);
				npend++;
			} else if (check_dest) {
				int64_t off;
				const struct ob_sym *y = rela_object(u->orig, r, &off);
				const struct hp_sym *ts;
				uint64_t db = addr + (uint64_t)branch_dest(t, j, &ib);

				if (!y->sec || y->type != STT_FUNC || tgt_lookup(b, u, y, &ts) < 0 ||
				    ts->value + (uint64_t)off != db)
					return 0;
			}
		}
		i += ia.len;
		j += ib.len;
	}
	i = past_nops(s->data, n, i);
	j = past_nops(t, tsize, j);
	*ret_at = (struct tgt_diff){ i, j, i < n && j < tsize, false };
	if (i != n || j != tsize)
		return 0;
	a2b[n] = (int64_t)tsize;
	for (k = 0; k < npend; k++) {
		int64_t da = pend[2 * k], db = pend[2 * k + 1];

		if (da >= 0 && (uint64_t)da <= n)
			da = (int64_t)past_nops(s->data, n, (uint64_t)da);
		if (db >= 0 && (uint64_t)db <= tsize)
			db = (int64_t)past_nops(t, tsize, (uint64_t)db);
		if (da < 0 || (uint64_t)da > n || a2b[da] != db) {
			*ret_at = (struct tgt_diff){ (uint64_t)(da < 0 ? 0 : da), 0, false, true };
			return 0;
		}
	}
	return 1;
}

/* Whether a target symbol is plausibly the same entity as y by kind. */
static bool kind_ok(const struct hp_sym *t, const struct ob_sym *y)
{
	if (t->shndx == SHN_UNDEF || t->type == STT_SECTION || t->type == STT_FILE)
		return false;
	if (y->type == STT_FUNC)
		return t->type == STT_FUNC;
	if (y->type == STT_TLS)
		return t->type == STT_TLS;
	return t->type == STT_OBJECT || t->type == STT_NOTYPE;
}

/* Score one STT_FILE group of the target: +1 per local function of the unit found there with its bytes. */
static int group_score(struct builder *b, struct unit *u, uint32_t group)
{
	size_t i, k, n;
	struct hp_sym *s;
	int score = 0, r;

	for (i = 1; i < u->orig->nsyms; i++) {
		const struct ob_sym *y = &u->orig->syms[i];

		if (y->type != STT_FUNC || y->bind != STB_LOCAL || !y->sec || y->s.st_value || !y->sec->data)
			continue;
		n = hp_elf_find_syms(b->target, y->name, &s);
		for (k = 0; k < n; k++) {
			if (s[k].file != group || !kind_ok(&s[k], y))
				continue;
			struct tgt_diff at;

			r = code_matches(b, u, y->sec, s[k].value, s[k].size, false, &at);
			if (r < 0)
				return r;
			score += r ? 1 : -1;
		}
	}
	return score;
}

/*
 * How far a group's local functions lie from the unit's global functions
 * in the target: a linker keeps each object's code together, so among
 * groups whose code is identical the unit's own is the nearest.
 */
static uint64_t group_distance(struct builder *b, struct unit *u, uint32_t group)
{
	uint64_t best = UINT64_MAX;
	size_t i, k, j, n;

	for (i = 0; i < b->target->nsyms; i++) {
		const struct hp_sym *l = &b->target->syms[i];

		if (l->file != group || l->type != STT_FUNC || l->shndx == SHN_UNDEF)
			continue;
		for (k = 1; k < u->orig->nsyms; k++) {
			const struct ob_sym *y = &u->orig->syms[k];
			struct hp_sym *s;

			if (y->type != STT_FUNC || y->bind == STB_LOCAL || !y->sec)
				continue;
			n = hp_elf_find_syms(b->target, y->name, &s);
			for (j = 0; j < n; j++) {
				uint64_t d;

				if (s[j].bind == STB_LOCAL || s[j].shndx == SHN_UNDEF)
					continue;
				d = s[j].value > l->value ? s[j].value - l->value : l->value - s[j].value;
				if (d < best)
					best = d;
			}
		}
	}
	return best;
}

/* Place the unit in one STT_FILE group of the target, by its code, else by where it lies. */
int tgt_unit_group(struct builder *b, struct unit *u)
{
	const char *tu = base_name(u->tu);
	uint32_t g, best = 0, ncand = 0, lone = 0, tied[64], ntied = 0;
	int best_score = 0, r;
	const char *how = "by its code";

	if (u->group_done)
		return 0;
	u->group_done = true;
	for (g = 1; g < b->target->nfiles; g++) {
		if (strcmp(base_name(b->target->files[g]), tu))
			continue;
		ncand++;
		lone = g;
		r = group_score(b, u, g);
		if (r < 0)
			return r;
		if (r > best_score || !ntied) {
			best_score = r;
			best = g;
			ntied = 0;
		}
		if (r == best_score && ntied < 64)
			tied[ntied++] = g;
	}
	if (ncand == 1) {
		u->group = lone;
	} else if (ntied == 1 && best_score > 0) {
		u->group = best;
	} else if (ntied > 1) {
		/* Identical code in several files of this name: the one next to this unit's global functions. */
		uint64_t d1 = UINT64_MAX, d2 = UINT64_MAX;
		uint32_t k, near = 0;

		for (k = 0; k < ntied; k++) {
			uint64_t d = group_distance(b, u, tied[k]);

			if (d < d1) {
				d2 = d1;
				d1 = d;
				near = tied[k];
			} else if (d < d2) {
				d2 = d;
			}
		}
		if (d1 != UINT64_MAX && (d2 == UINT64_MAX || d1 * 2 < d2)) {
			u->group = near;
			how = "by where its code lies next to this unit's global functions";
		}
	}
	if (ncand > 1)
		bld_event(b, HP_BUILD_NOTE, tu, u->tu,
			  u->group ? "the target has %u files of this name; matched this unit to one %s"
				   : "the target has %u files of this name; none matched this unit%s, looking up each "
				     "symbol by its bytes", ncand, u->group ? how : "");
	return 0;
}

/* Among candidates, the ones whose bytes (code or initial data) are the original's. */
static int by_bytes(struct builder *b, const struct ob_sym *y, struct hp_sym **cand, size_t n,
		    const struct hp_sym **ret)
{
	const struct hp_sym *hit = NULL;
	size_t i, hits = 0;
	uint64_t off = y->s.st_value, len = y->s.st_size;
	int r;

	for (i = 0; i < n; i++) {
		struct tgt_diff at;

		if (y->type == STT_FUNC && !y->s.st_value && ob_is_text(y->sec))
			r = code_matches(b, NULL, y->sec, cand[i]->value, cand[i]->size, false, &at);
		else if (cand[i]->size != len)
			continue;
		else
			r = bytes_match(b, y->sec, off, len, cand[i]->value);
		if (r < 0)
			return r;
		if (r) {
			hit = cand[i];
			hits++;
		}
	}
	if (hits == 1) {
		*ret = hit;
		return 0;
	}
	return hits ? -EEXIST : -ENOENT;
}

/*
 * Could a local symbol of the target be a hidden global of this unit?  The
 * linker makes a hidden global (-fvisibility=hidden, a version script's
 * "local: *") local, and lists it after an STT_FILE with an empty name, or
 * (older linkers) under its object's own file name.
 */
static bool hidden_global_ok(struct builder *b, struct unit *u, const struct hp_sym *t)
{
	const char *f = t->file && t->file < b->target->nfiles ? b->target->files[t->file] : NULL;

	if (t->bind != STB_LOCAL)
		return false;
	if (!f || !*f)
		return true;
	return u && u->tu && !strcmp(base_name(f), base_name(u->tu));
}

/*
 * Find a symbol of the original object in the target: globals by name,
 * locals in the unit's group, then by bytes.  A global of the object that
 * the target has only as a local (made local by the linker) is looked up
 * like a local, among the locals that can be hidden globals.
 */
int tgt_lookup(struct builder *b, struct unit *u, const struct ob_sym *y, const struct hp_sym **ret)
{
	struct hp_sym *s, *cand[64], *in_group[64];
	size_t n = hp_elf_find_syms(b->target, y->name, &s), i, nc = 0, ng = 0;
	bool global = y->bind != STB_LOCAL;
	int r;

	for (i = 0; i < n; i++) {
		if (!kind_ok(&s[i], y))
			continue;
		if (global && s[i].bind != STB_LOCAL) {
			*ret = &s[i];
			return 0;
		}
		if (s[i].bind != STB_LOCAL || nc == 64 || (global && !hidden_global_ok(b, u, &s[i])))
			continue;
		cand[nc++] = &s[i];
		if (u && u->group && s[i].file == u->group)
			in_group[ng++] = &s[i];
	}
	if (!nc)
		return -ENOENT;
	if (ng == 1) {
		*ret = in_group[0];
		return 0;
	}
	if (nc == 1 && !ng && !global) {
		*ret = cand[0];
		return 0;
	}
	if (nc == 1 && !ng && global && (y->type == STT_FUNC || !y->sec)) {
		/* a function's code is verified before it is used; a variable's bytes are checked below */
		*ret = cand[0];
		return 0;
	}
	if (!y->sec)
		return bld_refuse(b, y->name, u ? u->tu : NULL, "the target has %zu local symbols of this name; cannot "
								"tell which one this unit uses", nc);
	r = by_bytes(b, y, ng ? in_group : cand, ng ? ng : nc, ret);
	if (r == -EEXIST || (r == -ENOENT && nc > 1))
		return bld_refuse(b, y->name, u ? u->tu : NULL,
				  "the target has %zu local symbols of this name and %s; cannot tell which one this "
				  "unit's is", nc, r == -EEXIST ? "several have its bytes" : "none has its bytes");
	return r;
}

/* A definition of an undefined symbol of the object (another unit of the target). */
int tgt_lookup_global(struct builder *b, const char *name, const struct hp_sym **ret)
{
	struct hp_sym *s;
	size_t n = hp_elf_find_syms(b->target, name, &s), i;
	const struct hp_sym *best = NULL;

	size_t locals = 0;

	for (i = 0; i < n; i++) {
		if (s[i].shndx == SHN_UNDEF || s[i].type == STT_SECTION || s[i].type == STT_FILE)
			continue;
		if (s[i].bind == STB_LOCAL) {
			locals++;
			continue;
		}
		if (!best || (best->dynamic && !s[i].dynamic))
			best = &s[i];
	}
	/*
	 * A hidden global of another unit (-fvisibility=hidden) is local in the
	 * linked binary: take it when it is the only local of that name.
	 */
	for (i = 0; !best && locals == 1 && i < n; i++)
		if (s[i].shndx != SHN_UNDEF && s[i].bind == STB_LOCAL && s[i].type != STT_SECTION &&
		    s[i].type != STT_FILE)
			best = &s[i];
	if (!best)
		return locals > 1 ? -EEXIST : -ENOENT;
	*ret = best;
	return 0;
}

/* For IPA-RA: whether a caller in the target is the rebuilt one. */
int tgt_matches(struct builder *b, struct unit *u, const struct ob_sec *orig, const struct hp_sym *ts)
{
	struct tgt_diff at;

	return code_matches(b, u, orig, ts->value, ts->size, true, &at);
}

/* The bytes of one instruction as hex, and what its relocation (if any) refers to. */
static void describe_insn(struct unit *u, const struct ob_sec *s, const uint8_t *code, uint64_t n, uint64_t off,
			  char *out, size_t sz)
{
	struct x86_insn in;
	size_t used = 0, k;

	out[0] = 0;
	if (off >= n || x86_decode(code + off, n - off, &in) < 0) {
		snprintf(out, sz, "(the end of the function)");
		return;
	}
	for (k = 0; k < in.len && used + 4 < sz; k++)
		used += (size_t)snprintf(out + used, sz - used, "%s%02x", k ? " " : "", code[off + k]);
	for (k = 0; s && u && k < s->nrelas; k++) {
		int64_t yoff;
		const struct ob_sym *y;

		if (s->relas[k].offset < off || s->relas[k].offset >= off + in.len)
			continue;
		y = rela_object(u->orig, &s->relas[k], &yoff);
		snprintf(out + used, sz - used, " (refers to %s%+" PRId64 ")",
			 y->type == STT_SECTION && y->sec ? y->sec->name : y->name, yoff);
		break;
	}
}

/* Refuse, naming the first difference, when the rebuilt original is not the running code. */
int tgt_verify(struct builder *b, struct unit *u, struct ob_sec *orig, const struct hp_sym *ts, const char *role)
{
	const char *name = orig->primary ? orig->primary->name : orig->name;
	struct tgt_diff at;
	char ours[160], theirs[160];
	_cleanup_free_ uint8_t *t = NULL;
	int r;

	if (orig->verified)
		return 0;
	r = code_matches(b, u, orig, ts->value, ts->size, true, &at);
	if (r < 0)
		return r;
	if (!r && at.dest)
		return bld_refuse(b, name, u->tu,
				  "%s: a branch of the rebuilt original leads to +0x%" PRIx64 ", the running binary's "
				  "corresponding branch elsewhere; built with other flags or from other source?", role,
				  at.at);
	if (!r && at.insn && orig->data && (t = malloc(ts->size ? ts->size : 1)) &&
	    hp_elf_read_vaddr(b->target, ts->value, t, ts->size) == 0) {
		describe_insn(u, orig, orig->data, orig->sh.sh_size, at.at, ours, sizeof(ours));
		describe_insn(NULL, NULL, t, ts->size, at.tat, theirs, sizeof(theirs));
		return bld_refuse(b, name, u->tu,
				  "%s: the rebuilt original differs from the running binary: at +0x%" PRIx64 " it has %s, "
				  "the running code at +0x%" PRIx64 " has %s; built with another compiler, other flags or "
				  "other source?", role, at.at, ours, at.tat, theirs);
	}
	if (!r)
		return bld_refuse(b, name, u->tu,
				  "%s: the rebuilt original is %" PRIu64 " bytes but the running binary's is %" PRIu64
				  " and they differ from +0x%" PRIx64 "; built with another compiler or other flags?", role,
				  (uint64_t)orig->sh.sh_size, ts->size, at.at);
	orig->verified = true;
	return 0;
}

/* ---- what the process can provide ---- */

/* Strings of a DT_ tag of an ELF's dynamic section, passed to fn. */
static void dyn_strings(struct hp_elf *e, int64_t tag, void (*fn)(void *ud, const char *s), void *ud)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e->elf, scn))) {
		Elf_Data *d;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(d = elf_getdata(scn, NULL)))
			continue;
		for (i = 0; i < d->d_size / sizeof(Elf64_Dyn); i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != tag)
				continue;
			s = elf_strptr(e->elf, sh.sh_link, dyn.d_un.d_val);
			if (s)
				fn(ud, s);
		}
	}
}

struct names {
	char **v;
	size_t n;
};

/* dyn_strings callback: keep a copy of each string. */
static void collect(void *ud, const char *s)
{
	struct names *l = ud;
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (!nv)
		return;
	l->v = nv;
	l->v[l->n] = strdup(s);
	if (l->v[l->n])
		l->n++;
}

/* Free a list of collected strings. */
static void names_release(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Find a needed library the way the dynamic linker would, near enough for a presence check. */
static char *find_lib(struct builder *b, struct hp_elf *from, const char *needed)
{
	static const char *const sys[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
					   "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib" };
	struct names dirs = { 0 };
	_cleanup_free_ char *origin = strdup(from->name ? from->name : ".");
	const char *env = getenv("LD_LIBRARY_PATH");
	char *path = NULL, *slash;
	size_t i;

	(void)b;
	if (strchr(needed, '/'))
		return strdup(needed);
	if (!origin)
		return NULL;
	slash = strrchr(origin, '/');
	if (slash) {
		*slash = 0;
	} else {
		/* no directory: the current one (origin may be "", too short to hold ".") */
		free(origin);
		origin = strdup(".");
		if (!origin)
			return NULL;
	}
	dyn_strings(from, DT_RUNPATH, collect, &dirs);
	dyn_strings(from, DT_RPATH, collect, &dirs);
	if (env) {
		_cleanup_free_ char *copy = strdup(env);
		char *save = NULL, *t;

		for (t = copy ? strtok_r(copy, ":", &save) : NULL; t; t = strtok_r(NULL, ":", &save))
			collect(&dirs, t);
	}
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		collect(&dirs, sys[i]);
	collect(&dirs, origin);
	for (i = 0; i < dirs.n && !path; i++) {
		char *d = dirs.v[i], *p;

		for (p = d; *p; p++)
			if (*p == ':')
				*p = 0;
		if (!strncmp(d, "$ORIGIN", 7) || !strncmp(d, "${ORIGIN}", 9)) {
			const char *rest = d + (d[1] == '{' ? 9 : 7);

			if (asprintf(&path, "%s%s/%s", origin, rest, needed) < 0)
				path = NULL;
		} else if (asprintf(&path, "%s/%s", d, needed) < 0) {
			path = NULL;
		}
		if (path && access(path, R_OK) != 0) {
			free(path);
			path = NULL;
		}
	}
	names_release(&dirs);
	return path;
}

/* Load the libraries the target needs, transitively (DT_NEEDED), once. */
static void load_deps(struct builder *b)
{
	size_t i, k;

	if (b->deps_loaded)
		return;
	b->deps_loaded = true;
	b->deps_complete = true;
	for (i = 0; i <= b->ndeps && b->ndeps < 128; i++) {
		struct hp_elf *from = i == 0 ? b->target : b->deps[i - 1];
		struct names needed = { 0 };

		dyn_strings(from, DT_NEEDED, collect, &needed);
		for (k = 0; k < needed.n; k++) {
			_cleanup_free_ char *path = NULL;
			struct hp_elf *e = NULL, **nd;
			size_t j;
			bool dup = false;

			for (j = 0; j < b->ndeps && !dup; j++)
				dup = !strcmp(base_name(b->deps[j]->name), needed.v[k]);
			if (dup)
				continue;
			path = find_lib(b, from, needed.v[k]);
			if (!path || hp_elf_open(b->ctx, path, &e) < 0 || hp_elf_load_symbols(b->ctx, e, NULL) < 0) {
				hp_elf_close(e);
				b->deps_complete = false;
				continue;
			}
			nd = realloc(b->deps, (b->ndeps + 1) * sizeof(*nd));
			if (!nd) {
				hp_elf_close(e);
				b->deps_complete = false;
				continue;
			}
			b->deps = nd;
			b->deps[b->ndeps++] = e;
		}
		names_release(&needed);
	}
}

/* A global definition (or, for the target, an import) of name in e. */
static bool provides(struct hp_elf *e, const char *name, bool imports_count)
{
	struct hp_sym *s;
	size_t n = hp_elf_find_syms(e, name, &s), i;

	for (i = 0; i < n; i++) {
		if (s[i].bind == STB_LOCAL || s[i].type == STT_SECTION || s[i].type == STT_FILE)
			continue;
		if (s[i].shndx != SHN_UNDEF || imports_count)
			return true;
	}
	return imports_count && hp_elf_find_import(e, name);
}

/* Whether a name is the process's to provide through a library rather than the target's. */
bool tgt_lib_defines(struct builder *b, const char *name)
{
	size_t i;

	if (hp_elf_find_import(b->target, name))
		return true;
	load_deps(b);
	for (i = 0; i < b->ndeps; i++)
		if (provides(b->deps[i], name, false))
			return true;
	return false;
}

/* Refuse imports the process cannot provide (a new library dependency). */
int tgt_check_import(struct builder *b, struct unit *u, const char *name)
{
	_cleanup_free_ char *base = strdup(name);
	char *at, list[256] = "";
	size_t i, used = 0;

	if (!base)
		return -ENOMEM;
	at = strchr(base, '@');
	if (at)
		*at = 0;
	if (!strcmp(base, "_GLOBAL_OFFSET_TABLE_") || provides(b->target, base, true))
		return 0;
	load_deps(b);
	for (i = 0; i < b->ndeps; i++) {
		if (provides(b->deps[i], base, false))
			return 0;
		if (used + strlen(base_name(b->deps[i]->name)) + 3 < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
						 base_name(b->deps[i]->name));
	}
	if (!b->deps_complete) {
		bld_event(b, HP_BUILD_NOTE, base, u->tu,
			  "not found in the target or the libraries found for it; the process must provide it at apply "
			  "time");
		return 0;
	}
	return bld_refuse(b, base, u->tu,
			  "the patch needs this symbol, but neither the target nor the libraries it loads (%s) define "
			  "it: the fix adds a library dependency or uses a symbol the process cannot provide",
			  used ? list : "none");
}

/* Does any compilation unit of the target (or its debug file) say it was built with LTO? */
static bool target_lto(struct hp_elf *e)
{
	Elf *elf = e->debug ? e->debug->elf : e->elf;
	/* without libdw only the section names below can tell (di_open refuses then anyway) */
	Dwarf *dw = hp_dw_load() == 0 ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	Dwarf_Off off = 0, next;
	size_t hsize;
	bool lto = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	/* Section names that only LTO leaves behind. */
	if (elf_getshdrstrndx(e->elf, &shstrndx) == 0)
		while ((scn = elf_nextscn(e->elf, scn))) {
			GElf_Shdr sh;
			const char *n;

			if (gelf_getshdr(scn, &sh) && (n = elf_strptr(e->elf, shstrndx, sh.sh_name)) &&
			    !strncmp(n, ".gnu.lto_", 9))
				lto = true;
		}
	if (!dw)
		return lto;
	while (!lto && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Attribute at;
		const char *prod;

		if (dwarf_offdie(dw, off + hsize, &cu) &&
		    (prod = dwarf_formstring(dwarf_attr(&cu, DW_AT_producer, &at))) &&
		    (strstr(prod, "GNU GIMPLE") || strstr(prod, " -flto")))
			lto = true;
		off = next;
	}
	dwarf_end(dw);
	return lto;
}

/* What the builder needs to know about the target before any unit: executable or library, LTO. */
int tgt_prepare(struct builder *b)
{
	size_t phnum = 0, i;

	if (elf_getphdrnum(b->target->elf, &phnum) == 0)
		for (i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(b->target->elf, (int)i, &ph) && ph.p_type == PT_INTERP)
				b->target_is_exe = true;
		}
	if (b->target->ehdr.e_type == ET_EXEC)
		b->target_is_exe = true;
	b->target_lto = target_lto(b->target);
	if (b->target_lto)
		return bld_refuse(b, base_name(b->opts->target), NULL,
				  "the target was built with link-time optimisation (LTO: its DWARF producer says -flto "
				  "or GNU GIMPLE): code was merged and inlined across files, so no object of a single "
				  "file describes it; rebuild the baseline without -flto to hotpatch it");
	return 0;
}

/* Close the libraries opened for the import check. */
void tgt_release(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->ndeps; i++)
		hp_elf_close(b->deps[i]);
	free(b->deps);
	b->deps = NULL;
	b->ndeps = 0;
}
