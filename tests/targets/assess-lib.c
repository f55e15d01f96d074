/* SPDX-License-Identifier: MIT */
/*
 * Test library for the restart-required audit: ASSESS_LIB_VERSION makes two
 * builds differ; HP_FIX=1 is the fix a hotpatch for the old build carries.
 */
#ifndef ASSESS_LIB_VERSION
#define ASSESS_LIB_VERSION 1
#endif

int assess_lib_version(void);

__attribute__((noinline)) int assess_lib_version(void)
{
#if HP_FIX == 1
	return ASSESS_LIB_VERSION + 100;
#else
	return ASSESS_LIB_VERSION;
#endif
}
