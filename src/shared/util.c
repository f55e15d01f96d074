/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "shared/ossl.h"
#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "cleanup.h"
#include "util.h"

/* Why: the reading loop is shared by callers that open the file in different ways. */
static int read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nbuf;

			if (ncap > max + 4096 + 1)
				ncap = max + 4096 + 1;
			if (ncap <= len + 1)
				return -EFBIG;
			nbuf = realloc(buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += n;
		if (len > max)
			return -EFBIG;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

/*
 * Why: "/proc/PID/leaf" is built for every process of the host in a sweep
 * (list, select, audit); snprintf cost ~1.5 k instructions a call there.
 */
char *hp_proc_path(char *buf, size_t size, pid_t pid, const char *leaf)
{
	char digits[16];
	size_t nd = 0, ll = strlen(leaf);
	unsigned long v = (unsigned long)(pid < 0 ? 0 : pid);

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && nd < sizeof(digits));
	if (6 + nd + 1 + ll + 1 > size) {
		if (size)
			buf[0] = 0;
		return buf;
	}
	memcpy(buf, "/proc/", 6);
	for (size_t i = 0; i < nd; i++)
		buf[6 + i] = digits[nd - 1 - i];
	buf[6 + nd] = '/';
	memcpy(buf + 7 + nd, leaf, ll + 1);
	return buf;
}

ssize_t hp_read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if (size < 2)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n == 0)
		n = -ENODATA;
	if (n > 0)
		buf[n] = 0;
	return n;
}

int hp_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd(fd, max, ret_buf, ret_len);
}

int hp_read_regular_file(const char *path, size_t max, char **ret_buf, size_t *ret_len, mode_t *ret_type)
{
	/* O_NONBLOCK: opening a FIFO with no writer, or a device, must not wait */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		if (ret_type)
			*ret_type = st.st_mode & S_IFMT;
		return -EINVAL;
	}
	return read_fd(fd, max, ret_buf, ret_len);
}

const char *hp_file_type_name(mode_t type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFLNK:
		return "symbolic link";
	}
	return "special file";
}

int hp_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	return hp_read_file_at(AT_FDCWD, path, max, ret_buf, ret_len);
}

int hp_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int hp_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int hp_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hp_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

int hp_parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int hp_parse_pid(const char *s, pid_t *ret)
{
	unsigned long long v;
	int r = hp_parse_uint(s, INT_MAX, &v);

	if (r < 0)
		return r;
	if (v == 0)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

uint64_t hp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hp_touch_for_kernel(void *p, size_t n)
{
	struct iovec v = { p, n };
	size_t off;

	if (!p || !n)
		return;
	for (off = 0; off < n; off += 4096 - ((uintptr_t)p + off) % 4096)
		((volatile uint8_t *)p)[off] = ((volatile uint8_t *)p)[off];
	((volatile uint8_t *)p)[n - 1] = ((volatile uint8_t *)p)[n - 1];
	(void)process_vm_readv(getpid(), &v, 1, &v, 1, 0);
}

void hp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (!size)
		return;
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

bool hp_valid_id(const char *s)
{
	size_t n = 0;

	if (!s || !*s || *s == '.' || *s == '-')
		return false;
	for (; *s; s++, n++) {
		char c = *s;

		if (n >= 64)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Why: one SHA-256 for every caller, from Nettle: a small library (a few
 * hundred relocations at start, where libcrypto's BIND_NOW costs ~3 M
 * instructions, issue 15) whose "fat" build picks the SHA-NI instructions
 * at run time.
 */
void hp_sha256(const void *buf, size_t len, uint8_t out[32])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, buf);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

/*
 * Why: HMAC-SHA256 (RFC 2104) from Nettle: OpenSSL's HMAC() fetches a MAC
 * through the provider machinery (about 5 M instructions on the first
 * call), and the state record's MAC is computed on every apply.  Keys
 * longer than one block (64 bytes) are refused: ours are 32.
 */
int hp_hmac_sha256(const void *key, size_t key_len, const void *buf, size_t len, uint8_t out[32])
{
	struct hmac_sha256_ctx c;

	if (key_len > SHA256_BLOCK_SIZE)
		return -EINVAL;
	hmac_sha256_set_key(&c, key_len, key);
	hmac_sha256_update(&c, len, buf);
	hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, out);
	explicit_bzero(&c, sizeof(c));
	return 0;
}

/*
 * Why: a comparison of MACs whose time does not depend on where they differ
 * (CRYPTO_memcmp without libcrypto).
 */
bool hp_memeq_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Why: the one hex encoder (build-ids, hashes, key ids); hp_unhex is its inverse.  Public in hotpatch.h. */
char *hp_hex(const uint8_t *bytes, size_t len, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		buf[2 * i] = digits[bytes[i] >> 4];
		buf[2 * i + 1] = digits[bytes[i] & 15];
	}
	buf[2 * len] = 0;
	return buf;
}

/*
 * Why: one growth rule for every array built one element at a time, with
 * the overflow checks written once instead of at each of the loops it
 * replaced.
 */
int hp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}
