/* SPDX-License-Identifier: MIT */
/*
 * The source-diff flow of `hotpatch build`: build a source tree twice in
 * scratch copies (as is, and with a fix applied) with the compiler
 * intercepted, pair the objects of the translation units that changed, and
 * hand them to the object-pair builder (build.h).
 *
 * Library code: never prints, never exits.  What it decided and why is in
 * the report; the reason of a failure is also the context's message.
 */
#ifndef HP_BUILD_DRIVER_H
#define HP_BUILD_DRIVER_H

#include "build.h"

enum hp_driver_action {
	HP_DRIVER_APPLIED = 1,		/* a file of the diff, applied to the patched copy */
	HP_DRIVER_IGNORED,		/* a file of the diff that nothing compiles: left out */
	HP_DRIVER_CHANGED,		/* a translation unit of the target whose object differs: examined */
	HP_DRIVER_OUTSIDE,		/* an object that changed but is not linked into the target */
	HP_DRIVER_NOTE,
	HP_DRIVER_REFUSED,		/* why the build stops */
};

struct hp_driver_event {
	enum hp_driver_action action;
	char *what;			/* a file of the diff or a translation unit */
	char *why;
};

struct hp_driver_report {
	struct hp_driver_event *v;
	size_t n;
	unsigned strip;			/* the -p level the diff was applied with */
	size_t nunchanged;		/* translation units of the target whose objects are identical */
	size_t ncompiled;		/* objects compiled by the original build */
	char *workdir;			/* the scratch directory when it was kept, else NULL */
	bool built;			/* hp_build_objects ran; its report is in build */
	struct hp_build_report build;
};

struct hp_driver_opts {
	const char *srcdir;		/* the source tree the target was built from; never modified */
	const char *diff;		/* the fix, a unified diff */
	char *const *argv;		/* the build command, NULL-terminated, run in each copy's srcdir */
	const char *built_in;		/* where the target was built (file names in its debug info); NULL: srcdir */
	/*
	 * A CMake or meson build directory configured for srcdir (inside it or
	 * elsewhere), or NULL.  Each copy gets a fresh one configured the same
	 * way; argv may then be NULL (cmake --build / ninja -C it).
	 */
	const char *build_dir;
	const char *ccwrap;		/* the compiler wrapper; NULL: $HOTPATCH_CC_WRAPPER or hotpatch-cc beside us */
	const char *workdir;		/* an empty or new directory for the scratch copies; NULL: under $TMPDIR */
	bool keep;			/* keep the scratch directory (it is always kept when a build fails) */
	struct hp_build_opts build;	/* passed on to hp_build_objects */
	/*
	 * Called as each phase starts (copying, original build, fixed build,
	 * comparing, writing), with a short description; NULL: none.  For
	 * progress on a terminal: a build can take minutes.
	 */
	void (*progress)(void *ud, unsigned step, unsigned nsteps, const char *what);
	void *progress_ud;
};

/*
 * Returns what hp_build_objects returns (0 written, -ENODATA nothing
 * changed, -HP_E_BUILD refused), -HP_E_BUILD also when the driver itself
 * refuses (LTO, a translation unit added or removed), -EINVAL for a diff
 * that does not parse or apply, -ECHILD when a build command fails, and
 * other negative codes on errors.  The report is filled in every case.
 */
int hp_build_from_diff(struct hp_ctx *ctx, const struct hp_driver_opts *opts, struct hp_driver_report *rep);
void hp_driver_report_release(struct hp_driver_report *rep);

/* Internals, exposed for the unit tests. */

/*
 * Split the text of a make dependency file ("out.o: a.c b.h \", escaped
 * spaces, "$$") into the prerequisites; calls fn for each.  Returns the
 * number of prerequisites, or a negative code from fn.
 */
int hp_driver_parse_deps(const char *buf, size_t len, int (*fn)(void *ud, const char *path), void *ud);

/*
 * A path as seen from cwd, folded lexically ("a/./b/../c" -> "a/c"), made
 * relative to root when it lies inside it.  Returns a new string or NULL.
 */
char *hp_driver_rel(const char *root, const char *cwd, const char *path);

/* Decode a string of the wrapper's log (bytes >= 0x80 written as \u00XX) back into bytes; NULL if invalid. */
char *hp_driver_log_bytes(const char *utf8);

#endif
