/* SPDX-License-Identifier: MIT */
/*
 * Fuzz targets shared by the libFuzzer harnesses (tests/fuzz/fuzz-*.c, built
 * with clang and -Dfuzz=true) and by the regression replay unit test (built
 * with the normal compiler), so a crashing input found by one is replayed by
 * the other through exactly the same code.
 *
 * Each target returns the library's result for the input (0 or a negative
 * code) so tests can assert on it, and abort()s when an invariant that must
 * hold for every input is broken (for example: a patch that loads can be
 * signed, and then verifies).
 */
#ifndef HP_TESTS_FUZZ_H
#define HP_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant every input must keep: broken, the input is kept (abort). */
#define CHECK(cond)                                                                                 \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                    \
		}                                                                                   \
	} while (0)

/*
 * Create the fixed test key (derived from a constant seed, so the seed
 * corpus and every fuzz run agree on it) and a trust directory holding its
 * public key among hostile entries.  Idempotent; exits on failure.
 */
void hp_fuzz_init(void);
const char *hp_fuzz_key_path(void);
const char *hp_fuzz_trust_dir(void);

/* A patch file: hp_patch_load, then everything a reader of the result touches, then a rewrite. */
int hp_fuzz_patch(const uint8_t *data, size_t size);
/* A manifest JSON text, wrapped into an otherwise valid patch and loaded. */
int hp_fuzz_manifest(const uint8_t *data, size_t size);
/* /proc/PID/maps text through hp_maps_parse. */
int hp_fuzz_maps(const uint8_t *data, size_t size);
/* A patch file through hp_patch_verify against the test trust directory, then signed and verified. */
int hp_fuzz_verify(const uint8_t *data, size_t size);
/* A policy document through policy_parse, every decision at a few instants, then struct -> JSON -> struct (agent-targets.c). */
int hp_fuzz_policy(const uint8_t *data, size_t size);
/* A repository index through repo_index_parse and each entry through repo_entry_check (agent-targets.c). */
int hp_fuzz_index(const uint8_t *data, size_t size);
/*
 * A file as an ELF module's build-id is read (hp_elf_read_build_id_fd):
 * whenever both the fast pread reader and libelf answer, the same bytes.
 */
int hp_fuzz_buildid(const uint8_t *data, size_t size);
/* A unified diff through hp_diff_parse, and the same bytes as a make dependency file and a CMakeCache.txt (diff-target.c). */
int hp_fuzz_diff(const uint8_t *data, size_t size);

/*
 * Write the seed corpus into dir/patch, dir/manifest and dir/maps (created
 * if needed): valid patches, unsigned and signed with the test key, made
 * with the patch writer.  Returns 0 or a negative errno.
 */
int hp_fuzz_write_corpus(const char *dir);

#endif
