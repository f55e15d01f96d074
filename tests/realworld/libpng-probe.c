/* SPDX-License-Identifier: MIT */
/*
 * A program using the libpng built by t9003-libpng: asked "probe", it
 * checks CVE-2025-64506 (png_image_write_* with 8-bit input and
 * convert_to_8bit set takes the 16-bit path: it reads the caller's buffer
 * as 16-bit samples, twice its size, and writes wrong pixels).  It writes a
 * small 8-bit RGB image to memory that way, reads it back and compares.  The
 * input buffer is padded so the over-read stays inside our allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

#define W 8
#define H 4

static void probe(void)
{
	png_image img;
	unsigned char *in = calloc(1, 2 * W * H * 3), out[W * H * 3];
	static unsigned char file[1 << 16];
	png_alloc_size_t size = sizeof(file);
	int i, ok;

	if (!in) {
		printf("error: out of memory\n");
		return;
	}
	for (i = 0; i < W * H * 3; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = W;
	img.height = H;
	img.format = PNG_FORMAT_RGB;
	if (!png_image_write_to_memory(&img, file, &size, 1 /* convert_to_8bit */, in, 0, NULL)) {
		printf("error: write: %s\n", img.message);
		free(in);
		return;
	}
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, file, size)) {
		printf("error: read: %s\n", img.message);
		free(in);
		return;
	}
	img.format = PNG_FORMAT_RGB;
	if (!png_image_finish_read(&img, NULL, out, 0, NULL)) {
		printf("error: read: %s\n", img.message);
		free(in);
		return;
	}
	ok = !memcmp(in, out, sizeof(out));
	printf("%s: an 8-bit image written with convert_to_8bit %s\n", ok ? "fixed" : "vulnerable",
	       ok ? "reads back unchanged" : "was read as 16-bit samples (over-read, wrong pixels)");
	free(in);
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
