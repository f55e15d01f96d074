/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: hotpatch-server's request validation (request-target.c). */
#include "request-target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_fuzz_request(data, size);
	return 0;
}
