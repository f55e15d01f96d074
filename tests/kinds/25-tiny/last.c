/* SPDX-License-Identifier: MIT */
/*
 * Kind 25: linked last, so tiny_last ends .text: no padding after it.
 * tiny_pre (also 4 bytes) leaves 12 bytes of alignment padding before it.
 */
int tiny_pre(int x);
int tiny_last(int x);

__attribute__((noinline)) int tiny_pre(int x)
{
	return x * 3;
}

__attribute__((noinline)) int tiny_last(int x)
{
	return x + 1;
}
