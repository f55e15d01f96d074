/* SPDX-License-Identifier: MIT */
/*
 * Test target: answers one line per request on stdin.
 *   "c N"  -> compute(N)       (the function the tests patch)
 *   "g S"  -> greet(S)         (libc calls: snprintf, strlen)
 *   "n"    -> calls so far     (a static counter that must survive patching)
 *   "f"    -> flag()           (a function shorter than the 5-byte jump)
 * HP_FIX selects the patched variants the tests build patches from; main()
 * lives in calc-main.c so that changes here cannot perturb its code.
 */
#include <stdio.h>
#include <string.h>

static int calls;

int calls_so_far(void)
{
	return calls;
}

/* An unchanged static helper the patched code calls into. */
__attribute__((noinline)) static int helper(int x)
{
	return x + 1;
}

#if HP_FIX == 2
/* A function the fix adds. */
__attribute__((noinline)) static int bonus(int x)
{
	return x * 100;
}
#endif

__attribute__((noinline)) int compute(int x)
{
	calls++;
#if HP_FIX == 1
	return helper(x) * 3 + 1000;
#elif HP_FIX == 2
	return helper(x) * 3 + bonus(x);
#else
	return helper(x) * 3;
#endif
}

/* Three bytes (xor %eax,%eax; ret): the jump also covers the alignment
 * padding before the next function. */
__attribute__((noinline)) int flag(void)
{
#if HP_FIX == 1
	return 7;
#else
	return 0;
#endif
}

__attribute__((noinline)) void greet(const char *who, char *out, size_t size)
{
#if HP_FIX == 1
	snprintf(out, size, "hello, %s (%zu letters, patched)", who, strlen(who));
#else
	snprintf(out, size, "hello, %s", who);
#endif
}

