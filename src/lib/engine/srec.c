/* SPDX-License-Identifier: MIT */
/*
 * State records in target memory.  The memory belongs to a process we do
 * not trust to have left it intact (it may have scribbled on it), so every
 * field is validated before use: a record that fails is ignored with a
 * warning rather than acted on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/process/ptrace.h"
#include "lib/engine/srec.h"

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
	if (memcmp(h->magic, HP_SREC_MAGIC, 8) || h->version != HP_SREC_VERSION || h->hdr_size != sizeof(*h) ||
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
		if (f->len < 5 || f->len > HP_SITE_MAX || f->site < f->func_addr ||
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
