/* SPDX-License-Identifier: MIT */
/*
 * A library loaded on demand (shared/ossl.h, shared/dw.h): its functions
 * resolved once into a table of pointers.
 */
#ifndef HP_SHARED_DL_H
#define HP_SHARED_DL_H

#include <stddef.h>

/*
 * dlopen soname (never closed: callers keep its functions for the life of
 * the process) and store each names[i] into *slots[i].  0 when every one
 * resolved; -ENOSYS when the library or any function is missing (the
 * caller then must not use the table).
 */
int hp_dl_resolve(const char *soname, const char *const *names, void **const *slots, size_t n);

/* For the X-macro lists of those headers: X(f) as a name, as a slot of the table t. */
#define HP_DL_NAME(f) #f,
#define HP_DL_SLOT_OF(t, f) (void **)&(t).f,

#endif
