/* SPDX-License-Identifier: MIT */
/*
 * Where functions start in a mapped build: the symbol table when there is
 * one, else the call frame information (.eh_frame_hdr's FDE search table),
 * which every x86-64 object built with the default unwind tables carries
 * even when stripped.  The engine writes a jump only at a function entry
 * this says is one (cfi.c).
 */
#ifndef HP_LIB_CFI_H
#define HP_LIB_CFI_H

#include "lib/core/elf.h"

/*
 * Whether link-time address addr is the initial location of an FDE in the
 * .eh_frame_hdr search table of e: 1 yes, 0 no, -ENOENT when e has no usable
 * table (no PT_GNU_EH_FRAME, or an encoding other than the one linkers
 * write), -EIO when the table runs outside the file.  ret_len (may be NULL)
 * gets the distance to the next FDE start, an upper bound of the function's
 * size (0 for the last).
 */
int hp_cfi_is_fde_start(const struct hp_elf *e, uint64_t addr, uint64_t *ret_len);

/*
 * Check that link-time address addr is the entry of function name in e
 * (symbols loaded): a function symbol of that name at addr; without
 * .symtab and no such dynamic symbol, the start of an FDE.  0 when it is;
 * -HP_E_SYMBOL with the reason in why otherwise.
 */
int hp_function_entry_check(const struct hp_elf *e, const char *name, uint64_t addr, char *why, size_t why_size);

#endif
