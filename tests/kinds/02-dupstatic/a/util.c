/* SPDX-License-Identifier: MIT */
/* Kind 2: static functions whose names (and this file's name) exist twice in the program. */

/* Different code in a/ and b/. */
__attribute__((noinline)) static int helper(int x)
{
	int r = x;

	for (int i = 0; i < 3; i++)
		r = r * 3 + i;
	return r + 1;
}

/* The same code in a/ and b/. */
__attribute__((noinline)) static int twice(int x)
{
	int r = 0;

	for (int i = 0; i < x; i++)
		r += 2;
	return r;
}

int ua(int x)
{
	return helper(x) * 1000 + twice(x);
}
