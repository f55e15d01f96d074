/* SPDX-License-Identifier: MIT */
/*
 * Refusals and warnings that need a view of the whole unit: C++ COMDAT
 * code and exception tables, new IFUNCs, code that already ran and will
 * not run again (constructors, init-once routines, main), and type
 * layouts that running code depends on (from DWARF).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"

/* Changed or new code goes into the patch. */
static bool included(const struct ob_sec *s)
{
	return s->status == OB_CHANGED || s->status == OB_NEW;
}

/* The exception table GCC emits next to a function compiled with -ffunction-sections. */
static bool has_except_table(const struct ob_obj *o, const struct ob_sec *text)
{
	const char *suffix = !strncmp(text->name, ".text.", 6) ? text->name + 5 : NULL;
	size_t i;

	if (!suffix)
		return false;
	for (i = 1; i < o->nsecs; i++)
		if (!strncmp(o->secs[i].name, ".gcc_except_table", 17) && !strcmp(o->secs[i].name + 17, suffix))
			return true;
	return false;
}

/* Functions whose address a constructor table holds. */
static bool in_ctor_table(const struct ob_obj *o, const struct ob_sec *f)
{
	size_t i, k;

	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *t = &o->secs[i];

		if (t->sh.sh_type != SHT_INIT_ARRAY && t->sh.sh_type != SHT_PREINIT_ARRAY &&
		    strncmp(t->name, ".ctors", 6) && strncmp(t->name, ".init_array", 11))
			continue;
		for (k = 0; k < t->nrelas; k++)
			if (t->relas[k].sym->sec == f)
				return true;
	}
	return false;
}

/* Routines handed to pthread_once/call_once: code that refers to them also calls the once function. */
static bool once_routine(const struct ob_obj *o, const struct ob_sec *f)
{
	size_t i, k;

	for (i = 1; i < o->nsecs; i++) {
		const struct ob_sec *t = &o->secs[i];
		bool calls_once = false, refers = false;

		if (!ob_is_text(t) || t == f)
			continue;
		for (k = 0; k < t->nrelas; k++) {
			const struct ob_sym *y = t->relas[k].sym;

			if (!y->sec && (!strcmp(y->name, "pthread_once") || !strcmp(y->name, "call_once") ||
					!strcmp(y->name, "__pthread_once")))
				calls_once = true;
			if (y->sec == f && t->relas[k].type != R_X86_64_PLT32)
				refers = true;
		}
		if (calls_once && refers)
			return true;
	}
	return false;
}

/* Warn about changed code that already ran and will not run again in a live process. */
void note_run_once(struct builder *b, struct unit *u)
{
	size_t i;

	for (i = 1; i < u->patched->nsecs; i++) {
		struct ob_sec *p = &u->patched->secs[i];
		const struct ob_sec *o = p->twin;
		const char *name = p->primary ? p->primary->name : p->name;

		if (!ob_is_text(p) || p->parent || p->status != OB_CHANGED || !o)
			continue;
		if (in_ctor_table(u->orig, o))
			bld_event(b, HP_BUILD_NOTE, name, u->tu,
				  "warning: a constructor; it already ran in every running process and will not run "
				  "again there, so its change only takes effect after a restart");
		else if (once_routine(u->orig, o))
			bld_event(b, HP_BUILD_NOTE, name, u->tu,
				  "warning: an init-once routine (pthread_once); where it already ran it will not run "
				  "again, so its change only takes effect after a restart");
		else if (!strcmp(name, "main"))
			bld_event(b, HP_BUILD_NOTE, name, u->tu,
				  "warning: main() is already running and will not be entered again; the change only "
				  "takes effect after a restart");
	}
}

/* Refuse what cannot be patched yet: new IFUNCs, C++ COMDAT code, exception tables. */
int check_unit(struct builder *b, struct unit *u)
{
	size_t i;

	for (i = 1; i < u->patched->nsyms; i++) {
		const struct ob_sym *y = &u->patched->syms[i];

		if (y->type == STT_GNU_IFUNC && y->sec && !y->twin)
			return bld_refuse(b, y->name, u->tu,
					  "the fix adds an IFUNC; a running process cannot get a new indirect function "
					  "(its resolver runs only when the dynamic linker binds it)");
	}
	for (i = 1; i < u->patched->nsecs; i++) {
		const struct ob_sec *p = &u->patched->secs[i];
		const char *name = p->primary ? p->primary->name : p->name;

		if (!ob_is_text(p) || !included(p))
			continue;
		if (p->comdat || (p->twin && p->twin->comdat))
			return bld_refuse(b, name, u->tu,
					  "changed C++ inline or template code (a COMDAT group): every unit has its own "
					  "copy and the linker kept one, so which to patch is not known; not supported yet");
		if (p->status == OB_CHANGED &&
		    (has_except_table(u->patched, p) || (p->twin && has_except_table(u->orig, p->twin))))
			return bld_refuse(b, name, u->tu,
					  "the function has C++ exception tables (.gcc_except_table); patched code "
					  "with its own unwind and landing pads is not supported yet");
	}
	return 0;
}

/* Refuse when the builds disagree on the layout of an entity's types; what says which entity. */
static int same_layout(struct builder *b, struct unit *u, const char *name, bool func, const char *what)
{
	char diff[256];

	if (!di_layout_check(u->di_orig, u->di_patched, name, func, diff, sizeof(diff)))
		return 0;
	return bld_refuse(b, name, u->tu,
			  "the fix changes the layout of a type that running code depends on: %s, in %s; unchanged "
			  "code and existing data still use the old layout", diff, what);
}

/* Refuse type layout changes that running code or existing data would see (DWARF). */
int check_types(struct builder *b, struct unit *u)
{
	size_t i, k;
	int r;

	if (!u->di_orig || !u->di_patched)
		return 0;
	/* Existing variables: their data in the process has the old layout. */
	for (i = 1; i < u->patched->nsyms; i++) {
		const struct ob_sym *y = &u->patched->syms[i];

		if ((y->type != STT_OBJECT && y->type != STT_TLS) || y->kind != OB_K_PLAIN || !y->twin)
			continue;
		r = same_layout(b, u, y->name, false, "the type of this existing variable");
		if (r < 0)
			return r;
	}
	for (i = 1; i < u->patched->nsecs; i++) {
		const struct ob_sec *p = &u->patched->secs[i];

		if (!ob_is_text(p) || !included(p) || p->parent)
			continue;
		/* Replaced functions: unchanged callers pass the old layout. */
		if (p->status == OB_CHANGED && p->primary && p->primary->kind == OB_K_PLAIN) {
			r = same_layout(b, u, p->primary->name, true,
					"its parameters or return value, which unchanged callers still use");
			if (r < 0)
				return r;
		}
		/* What new code uses from elsewhere: functions and variables declared here, defined in other units. */
		for (k = 0; k < p->nrelas; k++) {
			const struct ob_sym *y = p->relas[k].sym;

			if (y->sec || y->type == STT_SECTION || !*y->name)
				continue;
			r = same_layout(b, u, y->name, true, "a function of another unit the patch calls");
			if (r == 0)
				r = same_layout(b, u, y->name, false, "a variable of another unit the patch uses");
			if (r < 0)
				return r;
		}
	}
	return 0;
}
