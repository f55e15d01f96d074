/* SPDX-License-Identifier: MIT */
/*
 * libdw on demand.  Linked, libdw.so.1 (with liblzma and libbz2, which it
 * pulls in) costs every start of the CLI and of hotpatchd about 1.2 ms here
 * (issue 15), yet only the stack unwinder (when a word on a stack looks like
 * a return address into replaced code) and the builder read DWARF; so it is
 * dlopened by the first of those.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "shared/dl.h"

#define HP_DW_NO_REDIRECT
#include "shared/dw.h"

struct hp_dw hp_dw;
static int load_result = -ENOSYS;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Resolve every function once; a missing one leaves the library unusable (-ENOSYS). */
static void load(void)
{
	static const char *const names[] = { HP_DW_FUNCS(HP_DL_NAME) };
#define SLOT(f) HP_DL_SLOT_OF(hp_dw, f)
	void **const slots[] = { HP_DW_FUNCS(SLOT) };
#undef SLOT

	/* never dlclose'd: sessions and their callbacks may outlive any one user */
	load_result = hp_dl_resolve(HP_DW_SONAME, names, slots, sizeof(names) / sizeof(names[0]));
}

int hp_dw_load(void)
{
	pthread_once(&once, load);
	return load_result;
}

/* Only reached through a Dwfl_Callbacks table of a session made after hp_dw_load() succeeded. */
int hp_dw_standard_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				  char **debuginfo_file_name)
{
	return hp_dw.dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
						  debuglink_crc, debuginfo_file_name);
}

/* As above, for offline (ET_REL) sessions of the builder. */
int hp_dw_offline_section_address(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				  const char *secname, GElf_Word shndx, const GElf_Shdr *shdr, Dwarf_Addr *addr)
{
	return hp_dw.dwfl_offline_section_address(mod, userdata, modname, base, secname, shndx, shdr, addr);
}
