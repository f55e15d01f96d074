/* SPDX-License-Identifier: MIT */
/*
 * What an operation does with a borrowed thread of its process (op.h):
 * system calls through the injection stub, the patch image mapped by the
 * map helper or call by call, regions removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/internal.h"
#include "lib/engine/op.h"
#include "lib/process/proc.h"
#include "lib/process/stub.h"

int op_find_stub(struct op *op)
{
	uint64_t caught;
	int seccomp;

	/*
	 * The helper ends with a tgkill: only where no seccomp filter can object, with a signal nobody
	 * catches.  HP_TEST_NO_HELPER (docs/state-record.md) makes tests take the call-by-call path.
	 * The same read says how many threads the stop will hold (stop_the_world reserves for them).
	 */
	if (hp_proc_signals(op->pid, &caught, &seccomp, &op->nthreads_hint) == 0 && seccomp == 0 &&
	    !getenv("HP_TEST_NO_HELPER"))
		op->helper_sigs = ~caught;
	return hp_stub_install(op->ctx, op->pid, op->proc.memfd, &op->proc.maps, &op->stub,
			       op->helper_sigs ? &op->helper : NULL);
}

int op_hijack_begin(struct op *op, struct hp_inject *inj, const void *push, size_t pushlen, uint64_t *ret_push)
{
	int r;

	if (!op->stub) {
		r = op_find_stub(op);
		if (r < 0)
			return r;
	}
	if (op->world)
		return hp_inject_adopt(op->ctx, op->world, op->proc.memfd, op->stub, push, pushlen, inj, ret_push);
	r = hp_inject_begin(op->ctx, op->pid, op->proc.memfd, op->stub, inj);
	if (r == 0 && pushlen) {
		r = hp_inject_push(op->ctx, inj, op->proc.memfd, push, pushlen, ret_push);
		if (r < 0)
			op_hijack_end(op, inj);
	}
	return r;
}

int op_hijack_end(struct op *op, struct hp_inject *inj)
{
	uint64_t held = 0;
	int r = hp_inject_end(op->ctx, inj, &held);

	if (held > op->max_hijack_ns)
		op->max_hijack_ns = held;
	return r;
}

int op_sys(struct op *op, struct hp_inject *inj, long nr, long a0, long a1, long a2, long a3, long a4, long a5,
	       long *ret)
{
	const long args[6] = { a0, a1, a2, a3, a4, a5 };

	return hp_inject_syscall(op->ctx, inj, nr, args, ret);
}

int op_unmap_regions(struct op *op, const uint64_t *addr, const uint64_t *size, size_t n)
{
	struct hp_inject inj;
	size_t i;
	long ret;
	int r, r2;

	if (!n)
		return 0;
	r = op_hijack_begin(op, &inj, NULL, 0, NULL);
	if (r < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		r = op_sys(op, &inj, SYS_munmap, (long)addr[i], (long)size[i], 0, 0, 0, 0, &ret);
		if (r == 0 && ret < 0)
			r = hp_err(op->ctx, (int)ret, "pid %d: munmap of patch region %#" PRIx64 " failed: %s", op->pid,
				   addr[i], strerror((int)-ret));
	}
	r2 = op_hijack_end(op, &inj);
	return r < 0 ? r : r2;
}

/*
 * A patcher killed between its injected memfd_create and close leaves that
 * descriptor open in the process.  Every descriptor named hotpatch:* is
 * such a leftover (the engine closes its own before it releases the
 * process, and the process lock keeps other patchers out): close them.
 */
int op_close_leaked_memfds(struct op *op)
{
	_cleanup_free_ int *fds = NULL;
	struct hp_inject inj;
	size_t i, n;
	long ret;
	int r, r2;

	if (hp_proc_fds_named(op->pid, "/memfd:" HP_MEMFD_PREFIX, &fds, &n) < 0 || !n)
		return 0;	/* unreadable: nothing we could close either */
	r = op_hijack_begin(op, &inj, NULL, 0, NULL);
	if (r < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		r = op_sys(op, &inj, SYS_close, fds[i], 0, 0, 0, 0, 0, &ret);
		if (r == 0)
			hp_debug(op->ctx, "pid %d: closed descriptor %d left by an interrupted patcher", op->pid, fds[i]);
	}
	r2 = op_hijack_end(op, &inj);
	return r < 0 ? r : r2;
}

/*
 * Fill the mapped (not yet used) region from here while the target runs:
 * through the memfd itself (/proc/PID/map_files), whose pages the private
 * mappings read until someone writes to them, else through /proc/PID/mem.
 */
static int fill_image(struct op *op, const struct hp_image *img)
{
	char path[96];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, op->pid, img->base,
		 img->base + img->seg[HP_SEG_R].size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		r = ftruncate(fd, (off_t)img->size) < 0 ? -errno : hp_pwrite_all(fd, img->buf, img->size, 0);
		close(fd);
		if (r == 0)
			return 0;
	}
	hp_debug(op->ctx, "pid %d: filling the patch through %s failed; writing its memory instead", op->pid, path);
	r = hp_mem_write(op->proc.memfd, img->base, img->buf, img->size);
	if (r < 0)
		return hp_err(op->ctx, r, "pid %d: cannot write the patch into its memory: %s", op->pid, strerror(-r));
	return 0;
}

/*
 * An mmap of a segment (at, len) that returned ret instead of at: undo a
 * mapping made elsewhere and say why.
 */
static int map_refused(struct op *op, struct hp_inject *inj, uint64_t at, uint64_t len, long ret)
{
	if (ret >= 0 || ret < -4095) {
		long dummy;

		/* an old kernel treated NOREPLACE as a hint */
		op_sys(op, inj, SYS_munmap, ret, (long)len, 0, 0, 0, 0, &dummy);
		ret = -EEXIST;
	}
	return hp_err(op->ctx, (int)ret, "pid %d: cannot map the patch at %#" PRIx64 ": %s", op->pid, at,
		      strerror((int)-ret));
}

/* memfd_create, one mmap per segment, close: one injected system call at a time. */
static int map_calls(struct op *op, const struct hp_image *img, struct hp_inject *inj, uint64_t name_addr,
		     size_t *mapped)
{
	long fd = -1, ret;
	int r = 0, k;

	r = op_sys(op, inj, SYS_memfd_create, (long)name_addr, MFD_CLOEXEC, 0, 0, 0, 0, &fd);
	if (r < 0)
		return r;
	if (fd < 0)
		return hp_err(op->ctx, (int)fd, "pid %d: memfd_create in the process failed: %s", op->pid,
			      strerror((int)-fd));
	for (k = 0; k < HP_SEG_MAX; k++) {
		const struct hp_seg *sg = &img->seg[k];

		if (!sg->size)
			continue;
		r = op_sys(op, inj, SYS_mmap, (long)(img->base + sg->off), (long)sg->size, sg->prot,
			MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, (long)sg->off, &ret);
		if (r < 0)
			break;
		if (ret < 0 || (uint64_t)ret != img->base + sg->off) {
			r = map_refused(op, inj, img->base + sg->off, sg->size, ret);
			break;
		}
		*mapped = sg->off + sg->size;
	}
	op_sys(op, inj, SYS_close, fd, 0, 0, 0, 0, 0, NULL);	/* its result changes nothing */
	return r;
}

/*
 * The map helper (stub.h) does memfd_create, the mmaps and close in one run
 * of the borrowed thread; what it could not do is reported here (a partial
 * mapping is removed by the caller).  Without a signal to end it with, the
 * calls run one at a time.  *mapped: bytes mapped from the base.
 */
static int map_by_helper(struct op *op, const struct hp_image *img, const char *name, struct hp_inject *inj,
			 bool *begun, size_t *mapped)
{
	uint8_t push[HP_HELPER_TABLE + 32 * (HP_SEG_MAX + 1)] = { 0 };
	uint64_t scratch, res[3], at, want;
	size_t n = 0, done, k;
	int r;

	memcpy(push + HP_HELPER_NAME, name, strlen(name) + 1);
	for (k = 0; k < HP_SEG_MAX; k++) {
		const struct hp_seg *sg = &img->seg[k];
		uint64_t e[4] = { img->base + sg->off, sg->size, (uint64_t)sg->prot, sg->off };

		if (!sg->size)
			continue;
		memcpy(push + HP_HELPER_TABLE + 32 * n++, e, sizeof(e));
	}
	r = op_hijack_begin(op, inj, push, sizeof(push), &scratch);
	if (r < 0)
		return r;
	*begun = true;
	r = hp_inject_helper(op->ctx, inj, op->helper, op->helper_sigs, scratch + HP_HELPER_TABLE, res);
	if (r == -ENOTSUP)
		return map_calls(op, img, inj, scratch + HP_HELPER_NAME, mapped);
	if (r < 0)
		return r;
	if ((int64_t)res[1] < 0)
		return hp_err(op->ctx, (int)res[1], "pid %d: memfd_create in the process failed: %s", op->pid,
			      strerror((int)-res[1]));
	done = (res[0] - (scratch + HP_HELPER_TABLE)) / 32;
	for (k = 0, n = 0; k < HP_SEG_MAX; k++) {
		if (!img->seg[k].size)
			continue;
		if (n++ == done)
			break;
		*mapped = img->seg[k].off + img->seg[k].size;
	}
	if (k == HP_SEG_MAX)
		return 0;	/* every segment mapped */
	memcpy(&at, push + HP_HELPER_TABLE + 32 * done, 8);
	memcpy(&want, push + HP_HELPER_TABLE + 32 * done + 8, 8);
	return map_refused(op, inj, at, want, (long)res[2]);
}

/* The same, one injected system call at a time (no room for the helper). */
static int map_by_calls(struct op *op, const struct hp_image *img, const char *name, struct hp_inject *inj,
			bool *begun, size_t *mapped)
{
	uint64_t name_addr;
	int r;

	r = op_hijack_begin(op, inj, name, strlen(name) + 1, &name_addr);
	if (r < 0)
		return r;
	*begun = true;
	return map_calls(op, img, inj, name_addr, mapped);
}

/*
 * Map the image into the process: with one borrowed thread, create a memfd
 * there, map each segment with its protection and close the descriptor;
 * then fill it.  On failure nothing stays mapped.
 */
int op_map_image(struct op *op, const struct hp_image *img, const char *id)
{
	char name[96];
	struct hp_inject inj;
	size_t mapped = 0;
	bool begun = false;
	int r, r2;

	snprintf(name, sizeof(name), HP_MEMFD_PREFIX "%s", id);
	r = op->helper ? map_by_helper(op, img, name, &inj, &begun, &mapped)
		       : map_by_calls(op, img, name, &inj, &begun, &mapped);
	if (!begun)
		return r;
	if (r < 0 && mapped) {
		long dummy;

		op_sys(op, &inj, SYS_munmap, (long)img->base, (long)mapped, 0, 0, 0, 0, &dummy);
		mapped = 0;
	}
	r2 = op_hijack_end(op, &inj);
	if (r == 0 && r2 == 0) {
		r = fill_image(op, img);
		if (r < 0) {
			char saved[sizeof(op->ctx->errmsg)];
			uint64_t a = img->base, sz = img->size;

			memcpy(saved, op->ctx->errmsg, sizeof(saved));
			op_unmap_regions(op, &a, &sz, 1);
			memcpy(op->ctx->errmsg, saved, sizeof(saved));
		}
	} else if (r == 0) {
		r = r2;
	}
	return r;
}

