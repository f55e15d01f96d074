/* SPDX-License-Identifier: MIT */
/*
 * A thread-safe cache of per-file work (cache.h).
 *
 * One mutex guards the table; the slow work (reading a build-id, parsing an
 * ELF object and its symbols) happens outside it.  An ELF object being
 * loaded is marked so: a second thread that wants the same file waits for
 * the first instead of parsing it again, which matters when a sweep starts
 * and every worker asks for the same libc at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/process/cache.h"

enum elf_state { ELF_NONE = 0, ELF_LOADING, ELF_READY, ELF_FAILED };

/* One parse of a file: with its full symbol table, or with only its dynamic one. */
struct slot {
	enum elf_state state;
	struct hp_elf *elf;
	int err;
	char *msg;
};

struct entry {
	struct entry *next;
	struct hp_file_key key;
	bool bid_known;
	uint8_t bid[HP_BUILD_ID_MAX];
	size_t bid_len;
	struct slot full, dyn;
};

struct hp_cache {
	pthread_mutex_t lock;
	pthread_cond_t loaded;		/* an ELF object left the LOADING state */
	struct entry **buckets;
	size_t nbuckets, n;
	uint64_t vdso_syscall;
	struct hp_cache_stats stats;
};

/* Why: a cache is created once per sweep (or per agent) and handed to every operation. */
int hp_cache_new(struct hp_cache **ret_cache)
{
	struct hp_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->nbuckets = 256;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->loaded, NULL);
	*ret_cache = c;
	return 0;
}

/* Why: the cache owns every ELF object it handed out; they go with it. */
void hp_cache_free(struct hp_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			hp_elf_close(e->full.elf);
			free(e->full.msg);
			hp_elf_close(e->dyn.elf);
			free(e->dyn.msg);
			free(e);
		}
	}
	free(c->buckets);
	pthread_cond_destroy(&c->loaded);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Why: the same fields in the same order make keys comparable with memcmp-free equality. */
void hp_file_key_of_stat(const struct stat *st, struct hp_file_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (int64_t)st->st_size;
	k->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
}

/*
 * Why: stat through the map_files link names the mapped file itself, in any
 * mount namespace and after it was deleted, without opening it.
 */
int hp_file_key_of_map(pid_t pid, const struct hp_map *m, struct hp_file_key *ret_key)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	if (stat(path, &st) < 0)
		return -errno;
	hp_file_key_of_stat(&st, ret_key);
	return 0;
}

/* Why: all four fields, so a file rewritten in place (same inode) is a new entry. */
static bool key_eq(const struct hp_file_key *a, const struct hp_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_sec == b->mtime_sec &&
	       a->mtime_nsec == b->mtime_nsec;
}

/* Why: inodes of one file system are dense; mixing spreads them over the buckets. */
static size_t key_hash(const struct hp_file_key *k, size_t nbuckets)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ull ^ k->dev * 0xc2b2ae3d27d4eb4full ^ (uint64_t)k->size;

	h ^= h >> 29;
	return (size_t)(h % nbuckets);
}

/* Why: the table grows with the number of distinct files, which a container-heavy host makes large. */
static void grow(struct hp_cache *c)
{
	size_t nb = c->nbuckets * 4, i;
	struct entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return;	/* keep the longer chains */
	for (i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			size_t h = key_hash(&e->key, nb);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

/* Why: every lookup either finds the file's entry or creates it, under the lock. */
static struct entry *lookup_locked(struct hp_cache *c, const struct hp_file_key *k)
{
	size_t h = key_hash(k, c->nbuckets);
	struct entry *e;

	for (e = c->buckets[h]; e; e = e->next)
		if (key_eq(&e->key, k))
			return e;
	if (c->n >= c->nbuckets * 2) {
		grow(c);
		h = key_hash(k, c->nbuckets);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *k;
	e->next = c->buckets[h];
	c->buckets[h] = e;
	c->n++;
	return e;
}

/* Why: without a cache the build-id is read from the file, as the engine always did. */
static int read_build_id(pid_t pid, const struct hp_map *m, uint8_t *bid, size_t *len, struct hp_file_key *key)
{
	int fd = hp_proc_open_map_file(pid, m);

	if (fd < 0)
		return fd;
	if (key) {
		struct stat st;

		if (fstat(fd, &st) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		hp_file_key_of_stat(&st, key);
	}
	if (hp_elf_read_build_id_fd(fd, bid, len) < 0)
		*len = 0;
	close(fd);
	return 0;
}

/*
 * Why: reading a build-id opens the file and starts libelf on it; a stat
 * is a fraction of that, and a sweep asks for the same libc a thousand
 * times.
 */
int hp_cache_build_id(struct hp_cache *c, pid_t pid, const struct hp_map *m, uint8_t *ret_bid, size_t *ret_len,
		      struct hp_file_key *ret_key)
{
	struct hp_file_key k;
	struct entry *e;
	uint8_t bid[HP_BUILD_ID_MAX];
	size_t len = 0;
	int r;

	if (!c)
		return read_build_id(pid, m, ret_bid, ret_len, ret_key);
	r = hp_file_key_of_map(pid, m, &k);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	c->stats.build_id_lookups++;
	e = lookup_locked(c, &k);
	if (e && e->bid_known) {
		memcpy(ret_bid, e->bid, e->bid_len);
		*ret_len = e->bid_len;
		pthread_mutex_unlock(&c->lock);
		if (ret_key)
			*ret_key = k;
		return 0;
	}
	c->stats.build_id_reads++;
	pthread_mutex_unlock(&c->lock);
	if (!e)
		return -ENOMEM;
	r = read_build_id(pid, m, bid, &len, NULL);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	if (!e->bid_known) {
		memcpy(e->bid, bid, len);
		e->bid_len = len;
		e->bid_known = true;
	}
	pthread_mutex_unlock(&c->lock);
	memcpy(ret_bid, bid, len);
	*ret_len = len;
	if (ret_key)
		*ret_key = k;
	return 0;
}

/* Why: an object handed to several threads must never be loaded lazily later: load it all now. */
static int load_elf(struct hp_ctx *ctx, pid_t pid, const struct hp_map *m, const char *name, bool full,
		    struct hp_elf **ret_elf)
{
	struct hp_elf *elf = NULL;
	int fd, r;

	fd = hp_proc_open_map_file(pid, m);
	if (fd < 0)
		return hp_err(ctx, fd, "pid %d: cannot open mapped file %s: %s", pid, name, strerror(-fd));
	r = hp_elf_open_fd(ctx, fd, name, &elf);
	if (r < 0)
		return r;
	r = full ? hp_elf_load_symbols(ctx, elf, NULL) : hp_elf_load_dynamic_symbols(ctx, elf);
	if (r == 0)
		r = hp_elf_load_imports(ctx, elf);
	if (r < 0) {
		hp_elf_close(elf);
		return r;
	}
	*ret_elf = elf;
	return 0;
}

/*
 * Why: symbol tables are the costliest thing the engine reads (libc has
 * thousands of versioned symbols); one parse per file serves every process
 * that maps it.
 */
int hp_cache_elf(struct hp_cache *c, struct hp_ctx *ctx, pid_t pid, const struct hp_map *m,
		 const struct hp_file_key *key, const char *name, bool full, struct hp_elf **ret_elf)
{
	struct hp_file_key k;
	struct hp_elf *elf = NULL;
	struct entry *e;
	struct slot *sl;
	int r;

	if (key) {
		k = *key;
	} else {
		r = hp_file_key_of_map(pid, m, &k);
		if (r < 0)
			return hp_err(ctx, r, "pid %d: cannot open mapped file %s: %s", pid, name, strerror(-r));
	}
	pthread_mutex_lock(&c->lock);
	c->stats.elf_lookups++;
	e = lookup_locked(c, &k);
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	sl = full ? &e->full : &e->dyn;
	while (sl->state == ELF_LOADING)
		pthread_cond_wait(&c->loaded, &c->lock);
	if (sl->state == ELF_READY) {
		*ret_elf = sl->elf;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (sl->state == ELF_FAILED) {
		r = sl->err;
		if (sl->msg)
			hp_err(ctx, r, "%s", sl->msg);
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	sl->state = ELF_LOADING;
	c->stats.elf_loads++;
	pthread_mutex_unlock(&c->lock);

	r = load_elf(ctx, pid, m, name, full, &elf);

	pthread_mutex_lock(&c->lock);
	if (r == 0) {
		sl->elf = elf;
		sl->state = ELF_READY;
		*ret_elf = elf;
	} else if (r == -ENOMEM || r == -EMFILE || r == -ENFILE || r == -ENOENT || r == -ESRCH) {
		sl->state = ELF_NONE;	/* a condition of the moment, not of the file: let the next one try */
	} else {
		sl->state = ELF_FAILED;
		sl->err = r;
		sl->msg = strdup(hp_ctx_errmsg(ctx));
	}
	pthread_cond_broadcast(&c->loaded);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Why: finding a syscall instruction means reading the vDSO; every process shares its layout. */
uint64_t hp_cache_vdso_syscall(struct hp_cache *c)
{
	uint64_t v;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->vdso_syscall;
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* Why: remembered by the first operation that searched the vDSO. */
void hp_cache_set_vdso_syscall(struct hp_cache *c, uint64_t off)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->vdso_syscall = off;
	pthread_mutex_unlock(&c->lock);
}

/* Why: benchmarks report how much work the cache saved. */
void hp_cache_get_stats(struct hp_cache *c, struct hp_cache_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->stats;
	pthread_mutex_unlock(&c->lock);
}
