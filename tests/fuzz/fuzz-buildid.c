/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a file as a module's build-id is read; the pread reader must agree with libelf. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_buildid(data, size);
	return 0;
}
