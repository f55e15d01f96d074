/* SPDX-License-Identifier: MIT */
/*
 * One operation (apply, revert) on one process, and what it does with a
 * borrowed thread of it: the injection stub and map helper, system calls
 * run in the process, mapping a patch image and removing regions
 * (inject.c).  Internal to the engine.
 */
#ifndef HP_LIB_ENGINE_OP_H
#define HP_LIB_ENGINE_OP_H

#include "lib/engine/image.h"
#include "lib/engine/lock.h"
#include "lib/engine/srec.h"
#include "lib/process/cache.h"
#include "lib/process/pads.h"
#include "lib/process/ptrace.h"
#include "lib/process/stack.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Everything one operation on one process needs. */
struct op {
	struct hp_ctx *ctx;
	pid_t pid;
	struct hp_cache *own_cache;	/* made for this operation when the caller gave none */
	struct hp_process proc;
	struct hp_srec *recs;
	size_t nrecs;
	uint64_t stub;			/* the injection stub (stub.h), once placed */
	uint64_t helper;		/* the map helper before it, 0 if the page has no room */
	uint64_t helper_sigs;		/* signals the helper may end with (ptrace.h); 0: not used */
	uint64_t max_hijack_ns;
	unsigned nthreads_hint;		/* threads /proc/PID/status counted before the stop (0: unknown) */
	struct hp_stack_checker *sc;
	struct hp_plock lock;		/* no other patcher works on this process meanwhile */
	struct hp_pads pads;		/* landing pads (pads.h), once found or made */
	bool pads_failed;		/* making them failed: wait by retrying only */
	bool pads_refused;		/* C++ exception tables in the target (pads.h): wait by retrying only */
	struct hp_threads *world;	/* while stop_the_world holds every thread: borrow one of those */
};

/*
 * The injection stub (stub.h) that borrowed threads run system calls
 * through, with the map helper where it fits: found where an earlier
 * operation left them, else written.
 */
int op_find_stub(struct op *op);
/*
 * Borrow one thread to run syscalls, with push (pushlen bytes) copied to
 * its scratch area (*ret_push); the caller ends with op_hijack_end.  While
 * the world is stopped (op->world) a thread of it is used: no stop of its
 * own; -ENOENT when none is fit (ptrace.h).
 */
int op_hijack_begin(struct op *op, struct hp_inject *inj, const void *push, size_t pushlen, uint64_t *ret_push);
int op_hijack_end(struct op *op, struct hp_inject *inj);
/* One system call in the borrowed thread; *ret its raw result (NULL: not wanted). */
int op_sys(struct op *op, struct hp_inject *inj, long nr, long a0, long a1, long a2, long a3, long a4, long a5,
	   long *ret);
/* Unmap regions of the process (leftovers and replaced levels) with one borrowed thread. */
int op_unmap_regions(struct op *op, const uint64_t *addr, const uint64_t *size, size_t n);
/* Close the descriptors named hotpatch:* that a patcher killed mid-way left in the process. */
int op_close_leaked_memfds(struct op *op);
/* Map the image into the process and fill it; on failure nothing stays mapped. */
int op_map_image(struct op *op, const struct hp_image *img, const char *id);

#endif
