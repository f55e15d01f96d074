/* SPDX-License-Identifier: MIT */
/*
 * A program using the giflib built by t9001-giflib: asked "probe", it
 * checks CVE-2026-26740 (EGifGCBToSavedExtension writes a 4-byte graphics
 * control block into an extension block of any size) on a 1-byte block
 * inside a guarded buffer, and says whether the bytes after it changed.
 */
#include <stdio.h>
#include <string.h>
#include <gif_lib.h>

static void probe(void)
{
	unsigned char arena[8];
	ExtensionBlock eb = { 0 };
	SavedImage si = { 0 };
	GifFileType gf = { 0 };
	GraphicsControlBlock gcb = { .DisposalMode = 2, .DelayTime = 0x1234, .TransparentColor = 7 };
	int r, overflow;

	memset(arena, 0xaa, sizeof(arena));
	eb.Function = GRAPHICS_EXT_FUNC_CODE;
	eb.ByteCount = 1;
	eb.Bytes = arena;
	si.ExtensionBlockCount = 1;
	si.ExtensionBlocks = &eb;
	gf.ImageCount = 1;
	gf.SavedImages = &si;
	r = EGifGCBToSavedExtension(&gcb, &gf, 0);
	overflow = arena[1] != 0xaa || arena[2] != 0xaa || arena[3] != 0xaa;
	printf("%s: returned %s, %s\n", overflow ? "vulnerable" : "fixed", r == GIF_OK ? "GIF_OK" : "GIF_ERROR",
	       overflow ? "wrote 3 bytes past a 1-byte extension block" : "the block was left alone");
}

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "probe", 5))
			probe();
		else
			printf("?\n");
	}
	return 0;
}
