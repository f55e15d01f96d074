/* SPDX-License-Identifier: MIT */
/* hp-fuzz-corpus DIR: write the generated seed corpus (see corpus.c) into DIR. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

int main(int argc, char **argv)
{
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s DIR\n\n"
				"Write seed patches, manifests and maps texts into DIR/{patch,manifest,maps}.\n",
			argv[0]);
		return 2;
	}
	r = hp_fuzz_write_corpus(argv[1]);
	if (r < 0) {
		fprintf(stderr, "%s: cannot write the corpus into %s: %s\n", argv[0], argv[1], strerror(-r));
		return 1;
	}
	return 0;
}
