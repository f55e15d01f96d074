/* SPDX-License-Identifier: MIT */
/*
 * The patch builder: compares original and patched objects of the same
 * translation units and writes a patch for a target binary.
 */
#ifndef HP_BUILD_BUILD_H
#define HP_BUILD_BUILD_H

#include "lib/core/internal.h"

enum hp_build_action {
	HP_BUILD_CHANGED = 1,		/* function body changed: replaced */
	HP_BUILD_NEW,			/* function added by the fix */
	HP_BUILD_PULLED,		/* unchanged function included for a reason */
	HP_BUILD_DATA,			/* data copied into the patch */
	HP_BUILD_REFUSED,		/* why the build stops */
	HP_BUILD_NOTE,
};

struct hp_build_event {
	enum hp_build_action action;
	char *what;			/* function or object */
	char *tu;			/* translation unit (source file) */
	char *why;
};

struct hp_build_report {
	struct hp_build_event *v;
	size_t n;
	size_t nreplaced, nnew;
};

/* One translation unit, before and after the fix. */
struct hp_build_unit {
	const char *orig;		/* original object */
	const char *patched;		/* patched object */
};

struct hp_build_opts {
	const char *target;		/* the running binary (executable or shared library) */
	const char *debug_file;		/* its separate debug file, or NULL to look it up */
	const char *output;
	const char *id;			/* NULL: derived from the output name */
	unsigned level;			/* 0 means 1 */
	const char *description;
	const char *classification;
	const char *const *cves;
	size_t ncves;
};

/*
 * Build a patch.  Returns 0 and writes opts->output; -ENODATA when no
 * function changed; -HP_E_BUILD when the change cannot be hotpatched (the
 * report and the context's message say why); other negative codes on
 * errors.  The report is filled in every case.
 */
int hp_build_objects(struct hp_ctx *ctx, const struct hp_build_opts *opts, const struct hp_build_unit *units,
		     size_t nunits, struct hp_build_report *report);
void hp_build_report_release(struct hp_build_report *report);

#endif
