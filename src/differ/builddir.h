/* SPDX-License-Identifier: MIT */
/*
 * Build directories of `hotpatch build --build-dir DIR`: a CMake or meson
 * build directory configured for SRCDIR, inside it or elsewhere.  Its state
 * names SRCDIR, DIR and the real compiler by absolute path, so it cannot be
 * copied; instead each scratch copy gets a fresh build directory,
 * configured with the options DIR was configured with (read from
 * CMakeCache.txt, or meson's cmd_line.txt and intro-buildoptions.json).
 *
 * Library code: never prints, never exits.  The files read are hostile
 * input: bounded, and nothing from them reaches a shell.
 */
#ifndef HP_BUILD_BUILDDIR_H
#define HP_BUILD_BUILDDIR_H

#include <stddef.h>

#include "lib/core/internal.h"

enum hp_bdir_kind {
	HP_BDIR_NONE = 0,
	HP_BDIR_CMAKE,
	HP_BDIR_MESON,
};

/* A NULL-terminated argument vector we own. */
struct hp_strv {
	char **v;
	size_t n, cap;
};

int hp_strv_add(struct hp_strv *s, const char *str);
void hp_strv_release(struct hp_strv *s);

/* What kind of build directory DIR is (a CMakeCache.txt, or meson-private/cmd_line.txt); NONE if neither. */
enum hp_bdir_kind hp_bdir_kind(const char *dir);

/* "CMake" or "meson". */
const char *hp_bdir_kind_name(enum hp_bdir_kind k);

/*
 * The command that configures a fresh build directory build_copy for the
 * source tree src_copy the way dir was configured: cmake -S -B -G -D...
 * or meson setup -D....  Paths inside values that name subst[i][0] are
 * rewritten to subst[i][1] (the user's tree and build directory to the
 * copies).  Compilers are not passed on: the driver's CC/CXX (the
 * wrapper) stand in for them; a compiler other than cc/gcc/c++/g++/clang
 * is named through the wrapper link of that name in bindir.
 */
int hp_bdir_configure_argv(struct hp_ctx *ctx, enum hp_bdir_kind kind, const char *dir, const char *src_copy,
			   const char *build_copy, const char *bindir, const char *const (*subst)[2], size_t nsubst,
			   struct hp_strv *out);

/* The command that builds build_copy when none is given: cmake --build, or ninja -C. */
int hp_bdir_build_argv(enum hp_bdir_kind kind, const char *build_copy, struct hp_strv *out);

/* What hp_driver_prepare_copy did to a copy. */
struct hp_copy_prep {
	size_t stale_removed;		/* object files of an earlier build (*.o, *.lo, *.obj) */
	size_t sources_touched;		/* sources given the current time */
	size_t ncmake_dirs;		/* CMake build directories whose state was removed */
};

/*
 * Make a fresh copy of a built tree build everything again: remove the
 * objects of an earlier build, give every source the current time (make
 * then rebuilds whatever is built from one, one-step programs included),
 * remove the state of CMake build directories (it names the original tree).
 * Never follows symbolic links.
 */
void hp_driver_prepare_copy(const char *dst, struct hp_copy_prep *out);

/* Remove a scratch tree; errors are ignored, there is nothing better to do. */
void hp_driver_rm_tree(const char *p);

/*
 * Internal, for the unit tests: call fn for each entry NAME:TYPE=VALUE of
 * the text of a CMakeCache.txt (comments, help lines and malformed lines
 * skipped; a quoted "NAME" is unquoted).  Returns the number of entries or
 * a negative code from fn.
 */
int hp_bdir_cmake_cache_parse(const char *buf, size_t len,
			      int (*fn)(void *ud, const char *name, const char *type, const char *value), void *ud);

#endif
