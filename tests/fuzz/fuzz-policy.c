/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a policy document (hotpatchd policy file or server push) through policy_parse and every decision. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_fuzz_policy(data, size);
	return 0;
}
