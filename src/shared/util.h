/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the library, the CLI and the tests. */
#ifndef HP_SHARED_UTIL_H
#define HP_SHARED_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* Read a whole file (at most max bytes; -EFBIG beyond).  NUL-terminates. */
int hp_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);
/* Read a whole file at a path relative to dirfd (AT_FDCWD allowed). */
int hp_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len);
/*
 * Read a whole regular file without ever blocking on what is not one: the
 * open does not wait for a FIFO's writer or a device, and anything but a
 * regular file is refused with -EINVAL and its S_IFMT type in ret_type
 * (may be NULL).
 */
int hp_read_regular_file(const char *path, size_t max, char **ret_buf, size_t *ret_len, mode_t *ret_type);
/* "FIFO", "directory", "character device" ... for an S_IFMT type. */
const char *hp_file_type_name(mode_t type);
/*
 * One read of a small file (a /proc status or stat) into buf, NUL-terminated,
 * without allocating: the length read, or -errno (-ENODATA when empty).
 */
ssize_t hp_read_small(const char *path, char *buf, size_t size);
/* "/proc/PID/leaf" into buf (size >= 64 holds every pid with a short leaf; "" when it does not fit); returns buf. */
char *hp_proc_path(char *buf, size_t size, pid_t pid, const char *leaf);
/* Write all bytes, retrying short writes. */
int hp_write_all(int fd, const void *buf, size_t len);
/* pread/pwrite until done; -EIO on a short transfer that makes no progress. */
int hp_pread_all(int fd, void *buf, size_t len, uint64_t off);
int hp_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Make room for need elements of elem bytes in the array *p of *cap
 * elements: doubles the capacity (from 16) until it holds need, and
 * reallocates.  0, or -ENOMEM with *p and *cap unchanged.  HP_GROW(v, cap,
 * n + 1) is the usual call before v[n++] = x.
 */
int hp_grow(void **p, size_t *cap, size_t need, size_t elem);
#define HP_GROW(p, cap, need) hp_grow((void **)&(p), &(cap), (need), sizeof(*(p)))

/* Lowercase hex of len bytes into buf (2*len+1 bytes); returns buf.  Also declared in hotpatch.h (public). */
char *hp_hex(const uint8_t *bytes, size_t len, char *buf);
/* Parse hex into bytes; returns number of bytes or -EINVAL. */
int hp_unhex(const char *hex, uint8_t *out, size_t max);

/* Strict decimal parse of a pid / unsigned; -EINVAL on junk or overflow. */
int hp_parse_pid(const char *s, pid_t *ret);
int hp_parse_uint(const char *s, unsigned long long max, unsigned long long *ret);

/* Monotonic nanoseconds. */
uint64_t hp_now_ns(void);

/*
 * Make the n bytes at p (writable memory of this process) cheap for the
 * kernel to copy into and out of: every page is written from user space,
 * then copied onto itself by the kernel (process_vm_readv on this process).
 * Why (issue 15): the engine's stop copies registers, stacks, the image and
 * the entries through buffers like these, and on a virtual machine with
 * shadow page tables (the PVM machine the benchmarks run on) the first
 * access to a page costs ~8 us from each side, user and kernel, even for a
 * page already in memory: 64 threads' stacks took 470-700 us to copy into
 * fresh pages and 30-80 us into pages touched this way.  Elsewhere it is
 * one copy of n bytes.  Best effort: nothing is reported.
 */
void hp_touch_for_kernel(void *p, size_t n);

/* snprintf into a fixed buffer, always terminated, never overflowing. */
void hp_strlcpy(char *dst, const char *src, size_t size);

/* Whether s is a valid patch id: [A-Za-z0-9._-]{1,64}, not starting with '.' or '-'. */
bool hp_valid_id(const char *s);

/* SHA-256 and HMAC-SHA256 (OpenSSL low-level: no provider start-up); HMAC: -EINVAL for a key over 64 bytes. */
void hp_sha256(const void *buf, size_t len, uint8_t out[32]);
int hp_hmac_sha256(const void *key, size_t key_len, const void *buf, size_t len, uint8_t out[32]);
/* Equal bytes, in a time that does not depend on where they differ (MACs). */
bool hp_memeq_ct(const void *a, const void *b, size_t len);

#endif
