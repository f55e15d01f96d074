/* SPDX-License-Identifier: MIT */
/* GNU build-ids of the files processes map (see buildid.h). */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "buildid.h"
#include "hotpatch/hotpatch.h"
#include "shared/cleanup.h"
#include "shared/util.h"

/* Bounds on hostile files: program headers and the notes we read. */
#define MAX_PHDRS 512
#define MAX_NOTE (64u << 10)

/*
 * Only PT_NOTE segments are read (a few hundred bytes at most), never the
 * whole file: the agent reads this for every new library it sees.
 */
int buildid_read_fd(int fd, char ret_hex[BUILDID_HEX_MAX])
{
	Elf64_Ehdr eh;
	int i, r;

	r = hp_pread_all(fd, &eh, sizeof(eh), 0);
	if (r < 0)
		return r;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > MAX_PHDRS)
		return -ENOEXEC;
	for (i = 0; i < eh.e_phnum; i++) {
		_cleanup_free_ uint8_t *note = NULL;
		Elf64_Phdr ph;
		size_t off = 0;

		r = hp_pread_all(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph));
		if (r < 0)
			return r;
		if (ph.p_type != PT_NOTE || ph.p_filesz < sizeof(Elf64_Nhdr) || ph.p_filesz > MAX_NOTE)
			continue;
		note = malloc(ph.p_filesz);
		if (!note)
			return -ENOMEM;
		r = hp_pread_all(fd, note, ph.p_filesz, ph.p_offset);
		if (r < 0)
			return r;
		while (off + sizeof(Elf64_Nhdr) <= ph.p_filesz) {
			Elf64_Nhdr nh;
			size_t name_sz, desc_sz;

			memcpy(&nh, note + off, sizeof(nh));
			name_sz = (nh.n_namesz + 3u) & ~3u;
			desc_sz = (nh.n_descsz + 3u) & ~3u;
			off += sizeof(nh);
			if (name_sz > ph.p_filesz - off || desc_sz > ph.p_filesz - off - name_sz)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(note + off, "GNU", 4) &&
			    nh.n_descsz > 0 && nh.n_descsz <= (BUILDID_HEX_MAX - 1) / 2) {
				hp_hex(note + off + name_sz, nh.n_descsz, ret_hex);
				return 0;
			}
			off += name_sz + desc_sz;
		}
	}
	return -ENOENT;
}

struct cache_entry {
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int64_t mtime_ns;
	char hex[BUILDID_HEX_MAX];
};

struct buildid_cache {
	struct cache_entry *e;
	size_t n, cap;
};

int buildid_cache_new(struct buildid_cache **ret)
{
	struct buildid_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	*ret = c;
	return 0;
}

void buildid_cache_free(struct buildid_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

/* The cache is a small linear array: a host maps a few hundred distinct files. */
static const char *cache_get(struct buildid_cache *c, const struct stat *st)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct cache_entry *e = &c->e[i];

		if (e->dev == st->st_dev && e->ino == st->st_ino && e->size == (uint64_t)st->st_size &&
		    e->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec)
			return e->hex;
	}
	return NULL;
}

static void cache_put(struct buildid_cache *c, const struct stat *st, const char *hex)
{
	struct cache_entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cache_entry *ne;

		if (cap > 65536)
			return;
		ne = realloc(c->e, cap * sizeof(*ne));
		if (!ne)
			return;
		c->e = ne;
		c->cap = cap;
	}
	e = &c->e[c->n++];
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	hp_strlcpy(e->hex, hex, sizeof(e->hex));
}

/*
 * Reads /proc/PID/maps with one buffered pass; only executable file
 * mappings matter (a target's code is what a patch replaces).  The file is
 * opened through map_files so a replaced or deleted file, or one in another
 * mount namespace, is still the one the process runs.
 */
int buildid_process_maps(struct buildid_cache *c, pid_t pid, struct buildid_map **ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ struct buildid_map *v = NULL;
	char path[64], line[1024];
	size_t n = 0, cap = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		const char *file;
		size_t i;
		bool dup = false;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &lo, &hi, perms, &off, &maj, &min, &ino, &pos) < 7 ||
		    !pos || perms[2] != 'x' || !ino)
			continue;
		file = line + pos;
		if (file[0] != '/')
			continue;
		for (i = 0; i < n; i++)
			if (v[i].ino == (ino_t)ino && v[i].dev == makedev(maj, min))
				dup = true;
		if (dup)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct buildid_map *nv;

			if (ncap > 4096)
				break;
			nv = realloc(v, ncap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			v = nv;
			cap = ncap;
		}
		struct buildid_map *m = &v[n++];

		memset(m, 0, sizeof(*m));
		m->dev = makedev(maj, min);
		m->ino = (ino_t)ino;
		hp_strlcpy(m->path, file, sizeof(m->path));
		m->path[strcspn(m->path, "\n")] = 0;
		if (strlen(m->path) > 10 && !strcmp(m->path + strlen(m->path) - 10, " (deleted)")) {
			m->path[strlen(m->path) - 10] = 0;
			m->deleted = true;
		}
		{
			char mf[96];
			struct stat st;
			_cleanup_close_ int fd = -1;
			const char *hit;

			snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pid, lo, hi);
			fd = open(mf, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0)
				continue;
			hit = c ? cache_get(c, &st) : NULL;
			if (hit) {
				hp_strlcpy(m->build_id, hit, sizeof(m->build_id));
			} else if (buildid_read_fd(fd, m->build_id) == 0) {
				if (c)
					cache_put(c, &st, m->build_id);
			} else {
				m->build_id[0] = 0;
			}
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

void buildid_list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Why from processes and not the disk: a patch matters only for a build something runs (or will run again: the repository client is asked again on every sync). */
int buildid_host(struct buildid_cache *c, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, i, k;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct buildid_map *m = NULL;
		size_t nm = 0;
		pid_t pid;

		if (hp_parse_pid(de->d_name, &pid) < 0 || pid == getpid())
			continue;
		if (buildid_process_maps(c, pid, &m, &nm) < 0)
			continue;
		for (i = 0; i < nm; i++) {
			bool seen = false;

			if (!m[i].build_id[0])
				continue;
			for (k = 0; k < n && !seen; k++)
				seen = !strcmp(v[k], m[i].build_id);
			if (!seen) {
				char **nv = realloc(v, (n + 1) * sizeof(*nv));

				if (!nv || !(nv[n] = strdup(m[i].build_id))) {
					free(m);
					buildid_list_free(nv ? nv : v, n);
					return -ENOMEM;
				}
				v = nv;
				n++;
			}
		}
		free(m);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
