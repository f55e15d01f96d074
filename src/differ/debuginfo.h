/* SPDX-License-Identifier: MIT */
/*
 * What the builder learns from the DWARF of a relocatable object: the
 * source line of each piece of code, which function scope each static
 * variable belongs to, the lines a function owns versus those of helpers
 * inlined into it, and type layouts of functions and variables.  The
 * object's relocations are applied by libdwfl, which lays the sections out
 * at distinct addresses; we translate back to (section, offset).
 *
 * Everything here is evidence, never a requirement: an object without
 * DWARF simply yields no answers, and callers fall back to what the
 * symbols and relocations say.
 */
#ifndef HP_BUILD_DEBUGINFO_H
#define HP_BUILD_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_ctx;
struct di_obj;

/* Open the DWARF of an object; *ret = NULL (and 0) when it has none. */
int di_open(struct hp_ctx *ctx, const char *path, struct di_obj **ret);
void di_close(struct di_obj *d);

/* The source line of the instruction at (section index, offset); 0 when unknown. */
int di_line_at(const struct di_obj *d, size_t shndx, uint64_t off);

/*
 * The lines in effect at (section, offset): its own source line, then the
 * line of each call site of the inlined helpers it comes from, innermost
 * first (where a macro's __LINE__ in a helper's argument comes from).
 * Returns how many, at most max; 0 when unknown.
 */
int di_lines_at(const struct di_obj *d, size_t shndx, uint64_t off, int *lines, int max);

/*
 * The scope key of a static variable located at (section, offset), such as
 * "f1/counter#0" (the first static named counter in function f1, nested
 * blocks and inlined-only helpers included), or NULL.
 */
const char *di_static_key(const struct di_obj *d, size_t shndx, uint64_t off);

/* How many statics share the scope and name of a key ("f1/counter#0" -> statics named counter in f1). */
size_t di_static_count(const struct di_obj *d, const char *key);

/* The source file of the object's first compilation unit ("lib/util.c"), or NULL. */
const char *di_cu_name(const struct di_obj *d);

/* Whether a producer string of the object's compilation units says it was built for LTO. */
bool di_lto(const struct di_obj *d);

/* Names of the helpers inlined into the function that starts section shndx; returns how many. */
size_t di_inlined(const struct di_obj *d, size_t shndx, const char **names, size_t max);

/*
 * The code of the function starting section shndx whose line rows lie in
 * the source span of who (an inlined helper's name), or of the function
 * itself (who NULL): fn gets each piece as (section, offset, length, line
 * relative to the declaration of who).
 * Returns the number of pieces, or -1 when DWARF cannot say.
 */
int di_code_of(const struct di_obj *d, size_t shndx, const char *who,
	       void (*fn)(void *ud, size_t shndx, uint64_t off, uint64_t len, int line), void *ud);

/*
 * Do two objects agree on the layout of an entity's types (a variable's
 * type, or a function's return and parameter types), down through
 * pointers: every struct and union with the same size and members at the
 * same offsets, every enum with the same size and its enumerators keeping
 * their values (new ones may be added)?  Returns 0 when they do or DWARF
 * cannot say, 1 when they do not, with buf naming what changed.
 */
int di_layout_check(const struct di_obj *a, const struct di_obj *b, const char *name, bool func, char *buf,
		    size_t size);

#endif
