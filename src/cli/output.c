/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>

#include "output.h"
#include "shared/escape.h"

json_t *out_manifest_json(const struct hp_manifest *m)
{
	char hex[2 * HP_BUILD_ID_MAX + 1], addr[32], h[65];
	json_t *j = json_object(), *a;
	size_t i;

	json_object_set_new(j, "format", json_integer(m->format));
	json_object_set_new(j, "id", json_string(m->id));
	json_object_set_new(j, "arch", json_string(m->arch));
	json_object_set_new(j, "target", json_pack("{s:s,s:s}", "name", m->target_name, "build_id",
						   hp_hex(m->build_id, m->build_id_len, hex)));
	json_object_set_new(j, "level", json_integer(m->level));
	json_object_set_new(j, "classification", json_string(m->classification));
	if (m->description)
		json_object_set_new(j, "description", json_string(m->description));
	if (m->created)
		json_object_set_new(j, "created", json_string(m->created));
	json_object_set_new(j, "signer", m->signer ? json_string(m->signer) : json_null());
	a = json_array();
	for (i = 0; i < m->ncves; i++)
		json_array_append_new(a, json_string(m->cves[i]));
	json_object_set_new(j, "cves", a);
	a = json_array();
	for (i = 0; i < m->nfuncs; i++) {
		snprintf(addr, sizeof(addr), "0x%" PRIx64, m->funcs[i].addr);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", m->funcs[i].name, "symbol",
						   m->funcs[i].symbol, "addr", addr, "size",
						   (json_int_t)m->funcs[i].size, "sha256",
						   hp_hex(m->funcs[i].sha256, 32, h)));
	}
	json_object_set_new(j, "functions", a);
	a = json_array();
	for (i = 0; i < m->nnew_funcs; i++)
		json_array_append_new(a, json_string(m->new_funcs[i]));
	json_object_set_new(j, "new_functions", a);
	return j;
}

json_t *out_status_json(const struct hp_status *st)
{
	json_t *j = json_object(), *arr = json_array();
	char hex[2 * HP_BUILD_ID_MAX + 1], a1[32], a2[32];
	size_t i, k;

	json_object_set_new(j, "pid", json_integer(st->pid));
	for (i = 0; i < st->npatches; i++) {
		const struct hp_status_patch *p = &st->patches[i];
		json_t *pj, *funcs = json_array();

		for (k = 0; k < p->nfuncs; k++) {
			snprintf(a1, sizeof(a1), "0x%" PRIx64, p->funcs[k].addr);
			snprintf(a2, sizeof(a2), "0x%" PRIx64, p->funcs[k].new_addr);
			json_array_append_new(funcs, json_pack("{s:s,s:s,s:s,s:s}", "name", hp_esc_utf8(p->funcs[k].name),
							       "addr", a1, "new_addr", a2, "state",
							       hp_func_state_name(p->funcs[k].state)));
		}
		snprintf(a1, sizeof(a1), "0x%" PRIx64, p->region);
		pj = json_pack("{s:s,s:i,s:s,s:b,s:s,s:s,s:I,s:s,s:I}", "id", p->id, "level", (int)p->level, "state",
			       hp_patch_state_name(p->state), "consistent", p->consistent, "build_id",
			       hp_hex(p->build_id, p->build_id_len, hex), "target", hp_esc_utf8(p->target), "applied_time",
			       (json_int_t)p->applied_time, "region", a1, "region_size", (json_int_t)p->region_size);
		json_object_set_new(pj, "signer", p->signer[0] ? json_string(hp_esc_utf8(p->signer)) : json_null());
		json_object_set_new(pj, "applier_pid", json_integer(p->applier_pid));
		json_object_set_new(pj, "record", json_string(hp_record_trust_name(p->trust)));
		json_object_set_new(pj, "record_reason",
				    p->trust_reason && p->trust_reason[0] ? json_string(hp_esc_utf8(p->trust_reason))
									  : json_null());
		json_object_set_new(pj, "functions", funcs);
		json_array_append_new(arr, pj);
	}
	json_object_set_new(j, "patches", arr);
	return j;
}
