/* SPDX-License-Identifier: MIT */
/*
 * State records in target memory.  The memory belongs to a process we do
 * not trust to have left it intact (it may have scribbled on it), so every
 * field is validated before use: a record that fails is ignored with a
 * warning rather than acted on.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "lib/process/cfi.h"
#include "lib/process/ptrace.h"
#include "lib/engine/srec.h"
#include "shared/util.h"

#define KEY_SIZE 32
#define DEFAULT_STATE_DIR "/var/lib/hotpatch"
#define MAC_DOMAIN "hotpatch state record 2"

static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

void hp_srec_release(struct hp_srec *r)
{
	free(r->funcs);
	r->funcs = NULL;
}

void hp_srec_free_all(struct hp_srec *recs, size_t n)
{
	size_t i;

	if (!recs)
		return;
	for (i = 0; i < n; i++)
		hp_srec_release(&recs[i]);
	free(recs);
}

static bool is_hotpatch_map(const struct hp_map *m)
{
	return !strncmp(m->path, "/memfd:" HP_MEMFD_PREFIX, strlen("/memfd:" HP_MEMFD_PREFIX));
}

/* Read and validate one record at a mapping start. */
static int read_record(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_map *m, struct hp_srec *out)
{
	struct hp_srec_hdr *h = &out->hdr;
	size_t fbytes, i;
	int r;

	memset(out, 0, sizeof(*out));
	if (m->end - m->start < sizeof(*h))
		return -EBADMSG;
	r = hp_mem_read(memfd, m->start, h, sizeof(*h));
	if (r < 0)
		return r;
	if (!memcmp(h->magic, "\0\0\0\0\0\0\0\0", 8) && !h->version && !h->self) {
		hp_debug(ctx, "pid %d: region at %#llx was mapped by a patcher that was killed before it wrote "
			      "there; the next apply removes it", pid, (unsigned long long)m->start);
		return -EBADMSG;
	}
	if (memcmp(h->magic, HP_SREC_MAGIC, 8) || (h->version != HP_SREC_VERSION && h->version != 1) ||
	    h->hdr_size != sizeof(*h) ||
	    h->self != m->start || h->func_size != sizeof(struct hp_srec_func) || h->nfuncs > HP_SREC_MAX_FUNCS ||
	    h->region_size < sizeof(*h) || h->region_size > (1ull << 32) || h->build_id_len > HP_BUILD_ID_MAX ||
	    h->state < HP_STATE_PREPARED || h->state > HP_STATE_SUPERSEDED) {
		hp_warn(ctx, "pid %d: ignoring invalid hotpatch state record at %#llx", pid,
			(unsigned long long)m->start);
		return -EBADMSG;
	}
	fbytes = (size_t)h->nfuncs * sizeof(struct hp_srec_func);
	if (h->funcs_off < sizeof(*h) || h->funcs_off > h->region_size || fbytes > h->region_size - h->funcs_off) {
		hp_warn(ctx, "pid %d: state record at %#llx has its function table out of bounds", pid,
			(unsigned long long)m->start);
		return -EBADMSG;
	}
	h->patch_id[sizeof(h->patch_id) - 1] = 0;
	h->signer[sizeof(h->signer) - 1] = 0;
	h->target_path[sizeof(h->target_path) - 1] = 0;
	if (!hp_valid_id(h->patch_id)) {
		hp_warn(ctx, "pid %d: state record at %#llx has an invalid patch id", pid,
			(unsigned long long)m->start);
		return -EBADMSG;
	}
	out->funcs = calloc(h->nfuncs ? h->nfuncs : 1, sizeof(*out->funcs));
	if (!out->funcs)
		return -ENOMEM;
	r = hp_mem_read(memfd, m->start + h->funcs_off, out->funcs, fbytes);
	if (r < 0) {
		hp_srec_release(out);
		return r;
	}
	for (i = 0; i < h->nfuncs; i++) {
		struct hp_srec_func *f = &out->funcs[i];

		f->name[sizeof(f->name) - 1] = 0;
		/* a site starts at the entry, or 5 bytes before it with a short jump back (7 or 11 bytes) */
		if (f->len < 5 || f->len > HP_SITE_MAX ||
		    (f->site < f->func_addr && !(f->site + 5 == f->func_addr && (f->len == 7 || f->len == 11))) ||
		    f->site + f->len > f->func_addr + f->func_size + 16) {
			hp_warn(ctx, "pid %d: state record at %#llx: function %zu is malformed", pid,
				(unsigned long long)m->start, i);
			hp_srec_release(out);
			return -EBADMSG;
		}
	}
	out->map_start = m->start;
	return 0;
}

int hp_srec_find_all(struct hp_ctx *ctx, pid_t pid, int memfd, const struct hp_maps *maps,
		     struct hp_srec **ret_recs, size_t *ret_n)
{
	struct hp_srec *recs = NULL;
	size_t n = 0, i;

	for (i = 0; i < maps->n; i++) {
		const struct hp_map *m = &maps->v[i];
		struct hp_srec *nr;
		int r;

		if (!is_hotpatch_map(m) || m->offset != 0)
			continue;
		nr = realloc(recs, (n + 1) * sizeof(*recs));
		if (!nr) {
			hp_srec_free_all(recs, n);
			return -ENOMEM;
		}
		recs = nr;
		r = read_record(ctx, pid, memfd, m, &recs[n]);
		if (r == -ENOMEM) {
			hp_srec_free_all(recs, n);
			return r;
		}
		if (r < 0)
			continue;
		n++;
	}
	*ret_recs = recs;
	*ret_n = n;
	return 0;
}

size_t hp_srec_find_unwritten(int memfd, const struct hp_maps *maps, uint64_t *addr, uint64_t *size, size_t cap)
{
	size_t i, j, n = 0;
	int r;

	for (i = 0; i < maps->n && n < cap; i = j) {
		const struct hp_map *m = &maps->v[i];
		struct hp_srec_hdr h;
		const uint8_t *b = (const uint8_t *)&h;
		size_t k;

		/* one region: the mappings of one memfd that follow each other */
		for (j = i + 1; j < maps->n && maps->v[j].start == maps->v[j - 1].end &&
				 maps->v[j].inode == m->inode && !strcmp(maps->v[j].path, m->path); j++)
			;
		if (!is_hotpatch_map(m) || m->offset != 0 || m->end - m->start < sizeof(h))
			continue;
		/*
		 * The engine sizes the memfd when it fills it: a mapping beyond the end of its file
		 * (unreadable, EFAULT) was never filled, and neither was one whose header is zero.
		 */
		r = hp_mem_read(memfd, m->start, &h, sizeof(h));
		if (r < 0 && r != -EFAULT)
			continue;
		for (k = 0; r == 0 && k < sizeof(h) && !b[k]; k++)
			;
		if (r == 0 && k < sizeof(h))
			continue;	/* written: a record (valid or not) is never removed unseen */
		addr[n] = m->start;
		size[n++] = maps->v[j - 1].end - m->start;
	}
	return n;
}

int hp_srec_func_state(int memfd, const struct hp_srec_func *f, enum hp_func_state *ret)
{
	uint8_t cur[HP_SITE_MAX];
	int r = hp_mem_read(memfd, f->site, cur, f->len);

	if (r < 0)
		return r;
	if (!memcmp(cur, f->patched, f->len))
		*ret = HP_FUNC_PATCHED;
	else if (!memcmp(cur, f->orig, f->len))
		*ret = HP_FUNC_ORIGINAL;
	else
		*ret = HP_FUNC_FOREIGN;
	return 0;
}

int hp_srec_set_state(int memfd, const struct hp_srec *r, uint32_t state)
{
	return hp_mem_write(memfd, r->hdr.self + offsetof(struct hp_srec_hdr, state), &state, sizeof(state));
}

/* ---- the seal ---- */

/* Why: tests and unprivileged users point the key somewhere else; the default is root's. */
static const char *state_dir(void)
{
	const char *d = getenv("HOTPATCH_STATE_DIR");

	return d && d[0] ? d : DEFAULT_STATE_DIR;
}

/*
 * Why: the key is only worth something if nobody but its owner could have
 * read or replaced it: a regular file (not a link), owned by us or root,
 * with no access for group or others, of exactly the key's size.
 */
static bool key_stat_ok(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 077) &&
	       st->st_size == KEY_SIZE;
}

/*
 * Why: a sweep seals and checks records in every process, and read the key
 * twice per process (open, fstat, read, close: issue 15).  The last key read
 * is kept with the identity of its file; one lstat shows the file is still
 * that one (device, inode, change time, and the same safety checks), so a
 * replaced, removed or loosened key file is noticed at the next use.
 */
static struct {
	pthread_mutex_t lock;
	bool valid;
	char path[4096];
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	uint8_t key[KEY_SIZE];
} key_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool key_cache_get(const char *path, uint8_t key[KEY_SIZE])
{
	struct stat st;
	bool hit = false;

	if (lstat(path, &st) < 0 || !key_stat_ok(&st))
		return false;
	pthread_mutex_lock(&key_cache.lock);
	if (key_cache.valid && !strcmp(key_cache.path, path) && key_cache.dev == st.st_dev &&
	    key_cache.ino == st.st_ino && key_cache.ctime.tv_sec == st.st_ctim.tv_sec &&
	    key_cache.ctime.tv_nsec == st.st_ctim.tv_nsec) {
		memcpy(key, key_cache.key, KEY_SIZE);
		hit = true;
	}
	pthread_mutex_unlock(&key_cache.lock);
	return hit;
}

static void key_cache_put(const char *path, const struct stat *st, const uint8_t key[KEY_SIZE])
{
	if (strlen(path) >= sizeof(key_cache.path))
		return;
	pthread_mutex_lock(&key_cache.lock);
	hp_strlcpy(key_cache.path, path, sizeof(key_cache.path));
	key_cache.dev = st->st_dev;
	key_cache.ino = st->st_ino;
	key_cache.ctime = st->st_ctim;
	memcpy(key_cache.key, key, KEY_SIZE);
	key_cache.valid = true;
	pthread_mutex_unlock(&key_cache.lock);
}

static int key_read(const char *path, uint8_t key[KEY_SIZE])
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;

	if (key_cache_get(path, key))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!key_stat_ok(&st))
		return -EPERM;
	n = read(fd, key, KEY_SIZE);
	if (n != KEY_SIZE)
		return n < 0 ? -errno : -EIO;
	key_cache_put(path, &st, key);
	return 0;
}

/*
 * Why: two patchers may create the key at once; the file is written under a
 * temporary name and linked into place, so a reader never sees a partial
 * key and exactly one key wins.
 */
static int key_create(const char *dir, const char *path)
{
	char tmp[4096];
	uint8_t key[KEY_SIZE];
	int fd, r = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.record.key.XXXXXX", dir) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -EIO;
	fd = mkostemp(tmp, O_CLOEXEC);	/* mode 0600 */
	if (fd < 0)
		return -errno;
	r = hp_write_all(fd, key, sizeof(key));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
		r = -errno;
	unlink(tmp);
	return r;
}

/* The host's record key; created on first use when create is set. */
static int record_key(bool create, uint8_t key[KEY_SIZE], char *path, size_t path_size)
{
	const char *dir = state_dir();
	int r;

	if ((size_t)snprintf(path, path_size, "%s/record.key", dir) >= path_size)
		return -ENAMETOOLONG;
	r = key_read(path, key);
	if (r == -ENOENT && create) {
		r = key_create(dir, path);
		if (r == 0)
			r = key_read(path, key);
	}
	return r;
}

/* The MAC of a record: over the header with state and mac zeroed, then the function table. */
static int record_mac(const uint8_t key[KEY_SIZE], const struct hp_srec_hdr *hdr, const struct hp_srec_func *funcs,
		      uint8_t out[32])
{
	size_t fbytes = (size_t)hdr->nfuncs * sizeof(*funcs), len = sizeof(MAC_DOMAIN) + sizeof(*hdr) + fbytes;
	_cleanup_free_ uint8_t *buf = malloc(len);
	struct hp_srec_hdr *h;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, MAC_DOMAIN, sizeof(MAC_DOMAIN));
	h = (struct hp_srec_hdr *)(buf + sizeof(MAC_DOMAIN));
	memcpy(h, hdr, sizeof(*hdr));
	h->state = 0;
	memset(h->mac, 0, sizeof(h->mac));
	memcpy(buf + sizeof(MAC_DOMAIN) + sizeof(*hdr), funcs, fbytes);
	return hp_hmac_sha256(key, KEY_SIZE, buf, len, out);
}

void hp_srec_seal(struct hp_ctx *ctx, struct hp_srec_hdr *hdr, const struct hp_srec_func *funcs)
{
	uint8_t key[KEY_SIZE];
	char path[4096];
	int r;

	memset(hdr->mac, 0, sizeof(hdr->mac));
	hdr->flags |= HP_SREC_F_SEALED;	/* covered by the MAC */
	r = record_key(true, key, path, sizeof(path));
	if (r == 0)
		r = record_mac(key, hdr, funcs, hdr->mac);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		hdr->flags &= ~HP_SREC_F_SEALED;
		hp_debug(ctx, "state record of %s left unsealed: record key %s: %s", hdr->patch_id, path, strerror(-r));
	}
}

/* ---- checking a record against the process ---- */

/* Why: revert unmaps [self, self + region_size): it must be the record's own memfd mapping and nothing else. */
static bool region_ok(const struct hp_maps *maps, const struct hp_srec *rec, char *why, size_t why_size)
{
	const struct hp_srec_hdr *h = &rec->hdr;
	const struct hp_map *first = NULL;
	uint64_t end = 0;
	size_t i;

	for (i = 0; i < maps->n; i++) {
		const struct hp_map *m = &maps->v[i];

		if (!first) {
			if (m->start == rec->map_start && m->perms[3] == 'p')
				first = m, end = m->end;
			continue;
		}
		if (m->start != end || m->perms[3] != 'p' || m->inode != first->inode ||
		    m->dev_major != first->dev_major || m->dev_minor != first->dev_minor || strcmp(m->path, first->path))
			break;
		end = m->end;
	}
	if (!first || h->self + h->region_size != end) {
		snprintf(why, why_size, "its region (%#llx, %llu bytes) is not its own private mapping",
			 (unsigned long long)h->self, (unsigned long long)h->region_size);
		return false;
	}
	if (h->text_start < h->self || h->text_end > end || h->text_start > h->text_end) {
		snprintf(why, why_size, "its code range lies outside its own mapping");
		return false;
	}
	return true;
}

/* Why: a site is executable code of one file-backed mapping, or it is nothing the engine wrote. */
static bool in_code(const struct hp_maps *maps, uint64_t addr, uint64_t len, const struct hp_map *like)
{
	const struct hp_map *m = hp_maps_find(maps, addr), *e = hp_maps_find(maps, addr + len - 1);

	return m && e && m->perms[2] == 'x' && e->perms[2] == 'x' && m->inode && m->inode == e->inode &&
	       (!like || (m->inode == like->inode && m->dev_major == like->dev_major &&
			  m->dev_minor == like->dev_minor));
}

/*
 * Check one function of a record.  Returns 1 when it checks out (orig
 * replaced by the file's bytes), 0 when it contradicts the module (forged,
 * why set), -EAGAIN when the module cannot be read (why set), -ENOMEM.
 */
static int check_func(struct hp_ctx *ctx, struct hp_process *proc, const struct hp_srec *rec,
		      struct hp_srec_func *f, char *why, size_t why_size)
{
	const struct hp_srec_hdr *h = &rec->hdr;
	struct hp_loaded *l;
	uint8_t file[HP_SITE_MAX], jmp[5];
	uint64_t link;
	int32_t rel;
	int r;

	/* a short-jump site: 5 bytes of padding before the entry, [endbr64,] jmp rel8 back to them */
	bool short_site = f->site + 5 == f->func_addr && (f->len == 7 || f->len == 11);

	if (f->len != 5 && !short_site) {
		snprintf(why, why_size, "it replaces %u bytes of %s (hotpatch writes a 5-byte jump)", f->len, f->name);
		return 0;
	}
	if (f->site != f->func_addr && f->site != f->func_addr + 4 && !short_site) {
		snprintf(why, why_size, "its site in %s is %#llx, not at the entry %#llx", f->name,
			 (unsigned long long)f->site, (unsigned long long)f->func_addr);
		return 0;
	}
	if (!in_code(&proc->maps, f->func_addr, 1, NULL) ||
	    !in_code(&proc->maps, f->site, f->len, hp_maps_find(&proc->maps, f->func_addr))) {
		snprintf(why, why_size, "%s at %#llx is not in the code of a mapped file", f->name,
			 (unsigned long long)f->func_addr);
		return 0;
	}
	l = hp_process_loaded_at(proc, f->func_addr);
	if (!l) {
		snprintf(why, why_size, "%s at %#llx is in no ELF module", f->name, (unsigned long long)f->func_addr);
		return 0;
	}
	if (l->mod->build_id_len != h->build_id_len || memcmp(l->mod->build_id, h->build_id, h->build_id_len)) {
		snprintf(why, why_size, "%s at %#llx is in %s, not in the build the record names", f->name,
			 (unsigned long long)f->func_addr, l->mod->path);
		return 0;
	}
	r = hp_loaded_open_full(ctx, proc, l);
	if (r == 0 && !l->shared)
		r = hp_elf_load_symbols(ctx, l->elf, NULL);	/* from a cache they are loaded already */
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !l->elf) {
		snprintf(why, why_size, "%s cannot be read to check %s: %s", l->mod->path, f->name, hp_ctx_errmsg(ctx));
		return -EAGAIN;
	}
	if (l->bias != h->target_bias) {
		snprintf(why, why_size, "it names %s at another load address than the process maps", l->mod->path);
		return 0;
	}
	link = f->func_addr - l->bias;
	if (strlen(f->name) == sizeof(f->name) - 1) {
		/* a longer name was cut: the symbol at the address must begin with it */
		const struct hp_sym *s = hp_elf_sym_at(l->elf, link);

		if (!s || s->value != link || strncmp(s->name, f->name, sizeof(f->name) - 1))
			r = hp_function_entry_check(l->elf, f->name, link, why, why_size);
		else
			r = 0;
	} else {
		r = hp_function_entry_check(l->elf, f->name, link, why, why_size);
	}
	if (r < 0)
		return 0;
	if (short_site) {
		if (!hp_elf_padding_before(l->elf, link, 5) || f->patched[f->len - 2] != 0xeb ||
		    f->patched[f->len - 1] != (uint8_t)(-(int)f->len) ||
		    (f->len == 11 && memcmp(f->patched + 5, endbr64, 4))) {
			snprintf(why, why_size, "its short jump at %s does not lead into padding before it", f->name);
			return 0;
		}
	} else if (f->site != f->func_addr) {
		if (hp_elf_read_vaddr(l->elf, link, file, 4) < 0 || memcmp(file, endbr64, 4)) {
			snprintf(why, why_size, "its site in %s is not after an endbr64 at the entry", f->name);
			return 0;
		}
	}
	if (hp_elf_read_vaddr(l->elf, f->site - l->bias, file, f->len) < 0) {
		snprintf(why, why_size, "the entry of %s is outside the file %s", f->name, l->mod->path);
		return 0;
	}
	if (memcmp(file, f->orig, f->len)) {
		snprintf(why, why_size, "the bytes it would restore at %s are not those of %s", f->name, l->mod->path);
		return 0;
	}
	rel = (int32_t)((int64_t)f->new_addr - (int64_t)(f->site + 5));
	jmp[0] = 0xe9;
	memcpy(jmp + 1, &rel, 4);
	if (f->new_addr < h->text_start || f->new_addr >= h->text_end ||
	    (int64_t)f->new_addr - (int64_t)(f->site + 5) != rel || memcmp(jmp, f->patched, 5)) {
		snprintf(why, why_size, "its jump at %s does not lead to its own code", f->name);
		return 0;
	}
	memcpy(f->orig, file, f->len);	/* what revert restores comes from the file */
	return 1;
}

void hp_srec_uncheckable(struct hp_srec *recs, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		recs[i].trust = HP_RECORD_UNVERIFIED;
		recs[i].sites_checked = false;
		snprintf(recs[i].why, sizeof(recs[i].why), "it cannot be checked: %s", why);
	}
}

int hp_srec_check(struct hp_ctx *ctx, struct hp_process *proc, struct hp_srec *recs, size_t n)
{
	uint8_t key[KEY_SIZE], mac[32];
	char path[4096], saved[sizeof(ctx->errmsg)];
	int kr = -ENOENT;
	bool key_tried = false;
	size_t i, k;
	int r;

	memcpy(saved, ctx->errmsg, sizeof(saved));
	for (i = 0; i < n; i++) {
		struct hp_srec *rec = &recs[i];

		rec->why[0] = 0;
		rec->sites_checked = false;
		if (rec->hdr.version < 2 || !(rec->hdr.flags & HP_SREC_F_SEALED)) {
			rec->trust = HP_RECORD_UNVERIFIED;
			snprintf(rec->why, sizeof(rec->why), "it carries no seal (written before version 2 records, "
				 "by a patcher that could not read the record key, or not by hotpatch)");
		} else {
			if (!key_tried) {
				kr = record_key(false, key, path, sizeof(path));
				key_tried = true;
			}
			if (kr < 0) {
				rec->trust = HP_RECORD_UNVERIFIED;
				snprintf(rec->why, sizeof(rec->why), "its seal cannot be checked: record key %s: %s", path,
					 kr == -EPERM ? "not owned by root or readable by others" : strerror(-kr));
			} else {
				r = record_mac(key, &rec->hdr, rec->funcs, mac);
				if (r < 0)
					return r;
				if (!hp_memeq_ct(mac, rec->hdr.mac, sizeof(mac))) {
					rec->trust = HP_RECORD_FORGED;
					snprintf(rec->why, sizeof(rec->why), "its seal does not verify with this host's "
						 "record key: hotpatch did not write it");
				} else {
					rec->trust = HP_RECORD_AUTHENTIC;
				}
			}
		}
		if (rec->trust == HP_RECORD_FORGED)
			continue;
		if (!region_ok(&proc->maps, rec, rec->why, sizeof(rec->why))) {
			rec->trust = HP_RECORD_FORGED;
			continue;
		}
		for (k = 0; k < rec->hdr.nfuncs; k++) {
			char why[sizeof(rec->why)];

			r = check_func(ctx, proc, rec, &rec->funcs[k], why, sizeof(why));
			if (r == -ENOMEM)
				return r;
			if (r == 1)
				continue;
			memcpy(rec->why, why, sizeof(why));
			if (r == 0)
				rec->trust = HP_RECORD_FORGED;
			break;
		}
		rec->sites_checked = k == rec->hdr.nfuncs;
		if (rec->sites_checked && rec->trust == HP_RECORD_AUTHENTIC)
			rec->why[0] = 0;
		if (rec->trust == HP_RECORD_FORGED)
			hp_warn(ctx, "pid %d: the state record of %s at %#llx is forged: %s", proc->pid, rec->hdr.patch_id,
				(unsigned long long)rec->map_start, rec->why);
	}
	if (key_tried && kr == 0)
		explicit_bzero(key, sizeof(key));
	memcpy(ctx->errmsg, saved, sizeof(saved));
	return 0;
}
