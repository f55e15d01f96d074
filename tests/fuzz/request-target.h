/* SPDX-License-Identifier: MIT */
/* The server's request validation as a fuzz target (request-target.c). */
#ifndef HS_REQUEST_TARGET_H
#define HS_REQUEST_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* One input: first byte 'r' report, 'p' policy, 'u' URL; 0, or negative when refused. */
int hs_fuzz_request(const uint8_t *data, size_t size);

#endif
