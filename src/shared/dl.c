/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>

#include "shared/dl.h"

int hp_dl_resolve(const char *soname, const char *const *names, void **const *slots, size_t n)
{
	void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!dl)
		return -ENOSYS;
	for (i = 0; i < n; i++) {
		*slots[i] = dlsym(dl, names[i]);
		if (!*slots[i])
			return -ENOSYS;
	}
	return 0;
}
