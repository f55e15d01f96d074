/* SPDX-License-Identifier: MIT */
/*
 * libcrypto on demand.  Linked, libcrypto.so.3 costs every start of the
 * CLI about 3 M instructions of dynamic linking (4,000 symbol relocations
 * under BIND_NOW), more than the rest of an unsigned `hotpatch apply` (issue
 * 15); only signing, verifying and key handling need it, so it is dlopened
 * by the first of those.  Programs that link libcrypto themselves (the
 * server) get the already loaded copy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "shared/dl.h"

#define HP_OSSL_NO_REDIRECT
#include "shared/ossl.h"

struct hp_ossl hp_ossl;
static int load_result = -ENOSYS;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	static const char *const names[] = { HP_OSSL_FUNCS(HP_DL_NAME) };
#define SLOT(f) HP_DL_SLOT_OF(hp_ossl, f)
	void **const slots[] = { HP_OSSL_FUNCS(SLOT) };
#undef SLOT

	/* never dlclose'd: OpenSSL keeps global state for the life of the process */
	load_result = hp_dl_resolve("libcrypto.so.3", names, slots, sizeof(names) / sizeof(names[0]));
}

int hp_ossl_load(void)
{
	pthread_once(&once, load);
	return load_result;
}
