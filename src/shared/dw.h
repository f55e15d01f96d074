/* SPDX-License-Identifier: MIT */
/*
 * libdw (elfutils), loaded on first use (dw.c says why).  A file that calls
 * libdw includes its libdw headers, then this one: the functions listed
 * below become calls through pointers filled by hp_dw_load(), which must
 * have returned 0 before the first of them runs.
 */
#ifndef HP_SHARED_DW_H
#define HP_SHARED_DW_H

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#define HP_DW_FUNCS(X) \
	X(dwarf_aggregate_size) X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_begin_elf) X(dwarf_cfi_addrframe) \
	X(dwarf_child) X(dwarf_decl_file) X(dwarf_decl_line) X(dwarf_diename) X(dwarf_dieoffset) X(dwarf_end) \
	X(dwarf_entrypc) X(dwarf_formref_die) X(dwarf_formsdata) X(dwarf_formstring) X(dwarf_formudata) \
	X(dwarf_getlocation) X(dwarf_getsrclines) X(dwarf_hasattr) X(dwarf_lineaddr) X(dwarf_lineendsequence) \
	X(dwarf_lineno) X(dwarf_linesrc) X(dwarf_nextcu) X(dwarf_offdie) X(dwarf_onesrcline) X(dwarf_ranges) \
	X(dwarf_siblingof) X(dwarf_tag) \
	X(dwfl_addrmodule) X(dwfl_attach_state) X(dwfl_begin) X(dwfl_end) X(dwfl_errmsg) X(dwfl_frame_pc) \
	X(dwfl_frame_reg) X(dwfl_getthread_frames) X(dwfl_linux_proc_find_elf) X(dwfl_linux_proc_report) \
	X(dwfl_module_dwarf_cfi) X(dwfl_module_eh_cfi) X(dwfl_module_getdwarf) X(dwfl_module_getelf) \
	X(dwfl_module_info) X(dwfl_offline_section_address) X(dwfl_report_end) X(dwfl_report_offline) \
	X(dwfl_standard_find_debuginfo) X(dwfl_thread_state_register_pc) X(dwfl_thread_state_registers)

struct hp_dw {
#define HP_DW_MEMBER(f) __typeof__(f) *f;
	HP_DW_FUNCS(HP_DW_MEMBER)
#undef HP_DW_MEMBER
};
extern struct hp_dw hp_dw;

/* The library hp_dw_load() opens, for messages. */
#define HP_DW_SONAME "libdw.so.1"

/* 0 once libdw.so.1 is loaded and every function above found; -ENOSYS otherwise (cached). */
int hp_dw_load(void);

/*
 * Callbacks libdwfl's users put in static tables (Dwfl_Callbacks): real
 * functions that forward to the loaded library, so the tables stay constant.
 */
int hp_dw_standard_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				  char **debuginfo_file_name);
int hp_dw_offline_section_address(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				  const char *secname, GElf_Word shndx, const GElf_Shdr *shdr, Dwarf_Addr *addr);

#ifndef HP_DW_NO_REDIRECT
#define dwarf_aggregate_size (*hp_dw.dwarf_aggregate_size)
#define dwarf_attr (*hp_dw.dwarf_attr)
#define dwarf_attr_integrate (*hp_dw.dwarf_attr_integrate)
#define dwarf_begin_elf (*hp_dw.dwarf_begin_elf)
#define dwarf_cfi_addrframe (*hp_dw.dwarf_cfi_addrframe)
#define dwarf_child (*hp_dw.dwarf_child)
#define dwarf_decl_file (*hp_dw.dwarf_decl_file)
#define dwarf_decl_line (*hp_dw.dwarf_decl_line)
#define dwarf_diename (*hp_dw.dwarf_diename)
#define dwarf_dieoffset (*hp_dw.dwarf_dieoffset)
#define dwarf_end (*hp_dw.dwarf_end)
#define dwarf_entrypc (*hp_dw.dwarf_entrypc)
#define dwarf_formref_die (*hp_dw.dwarf_formref_die)
#define dwarf_formsdata (*hp_dw.dwarf_formsdata)
#define dwarf_formstring (*hp_dw.dwarf_formstring)
#define dwarf_formudata (*hp_dw.dwarf_formudata)
#define dwarf_getlocation (*hp_dw.dwarf_getlocation)
#define dwarf_getsrclines (*hp_dw.dwarf_getsrclines)
#define dwarf_hasattr (*hp_dw.dwarf_hasattr)
#define dwarf_lineaddr (*hp_dw.dwarf_lineaddr)
#define dwarf_lineendsequence (*hp_dw.dwarf_lineendsequence)
#define dwarf_lineno (*hp_dw.dwarf_lineno)
#define dwarf_linesrc (*hp_dw.dwarf_linesrc)
#define dwarf_nextcu (*hp_dw.dwarf_nextcu)
#define dwarf_offdie (*hp_dw.dwarf_offdie)
#define dwarf_onesrcline (*hp_dw.dwarf_onesrcline)
#define dwarf_ranges (*hp_dw.dwarf_ranges)
#define dwarf_siblingof (*hp_dw.dwarf_siblingof)
#define dwarf_tag (*hp_dw.dwarf_tag)
#define dwfl_addrmodule (*hp_dw.dwfl_addrmodule)
#define dwfl_attach_state (*hp_dw.dwfl_attach_state)
#define dwfl_begin (*hp_dw.dwfl_begin)
#define dwfl_end (*hp_dw.dwfl_end)
#define dwfl_errmsg (*hp_dw.dwfl_errmsg)
#define dwfl_frame_pc (*hp_dw.dwfl_frame_pc)
#define dwfl_frame_reg (*hp_dw.dwfl_frame_reg)
#define dwfl_getthread_frames (*hp_dw.dwfl_getthread_frames)
#define dwfl_linux_proc_find_elf (*hp_dw.dwfl_linux_proc_find_elf)
#define dwfl_linux_proc_report (*hp_dw.dwfl_linux_proc_report)
#define dwfl_module_dwarf_cfi (*hp_dw.dwfl_module_dwarf_cfi)
#define dwfl_module_eh_cfi (*hp_dw.dwfl_module_eh_cfi)
#define dwfl_module_getdwarf (*hp_dw.dwfl_module_getdwarf)
#define dwfl_module_getelf (*hp_dw.dwfl_module_getelf)
#define dwfl_module_info (*hp_dw.dwfl_module_info)
#define dwfl_offline_section_address hp_dw_offline_section_address
#define dwfl_report_end (*hp_dw.dwfl_report_end)
#define dwfl_report_offline (*hp_dw.dwfl_report_offline)
#define dwfl_standard_find_debuginfo hp_dw_standard_find_debuginfo
#define dwfl_thread_state_register_pc (*hp_dw.dwfl_thread_state_register_pc)
#define dwfl_thread_state_registers (*hp_dw.dwfl_thread_state_registers)
#endif

#endif
