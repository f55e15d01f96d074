/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: unified diffs and make dependency files (the source-diff flow of hotpatch build). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_diff(data, size);
	return 0;
}
