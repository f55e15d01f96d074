/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a repository index through repo_index_parse and repo_entry_check. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_index(data, size);
	return 0;
}
