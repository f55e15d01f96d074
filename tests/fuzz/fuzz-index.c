/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a repository index through repo_index_parse and repo_entry_check. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* no key or trust directory needed */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_index(data, size);
	return 0;
}
