/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a manifest JSON text, wrapped in a valid patch, through hp_patch_load, then signed. */
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
	hp_fuzz_manifest(data, size);
	return 0;
}
