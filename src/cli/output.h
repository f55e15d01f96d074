/* SPDX-License-Identifier: MIT */
/* JSON renderings of library results shared by several commands. */
#ifndef HP_CLI_OUTPUT_H
#define HP_CLI_OUTPUT_H

#include <jansson.h>
#include "hotpatch/hotpatch.h"

json_t *out_manifest_json(const struct hp_manifest *m);
json_t *out_status_json(const struct hp_status *st);

#endif
