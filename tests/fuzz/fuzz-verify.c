/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a patch file through hp_patch_verify against the test trust directory. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	hp_fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_verify(data, size);
	return 0;
}
