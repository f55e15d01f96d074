/* SPDX-License-Identifier: MIT */
/*
 * Probe for libpng CVE-2026-22801 (png_write_image_16bit, a static function
 * png_image_write_to_memory reaches through png_safe_execute's function
 * pointer, truncates the row stride to 16 bits: with a stride over 65535
 * bytes it reads the wrong rows, past the image for a tall one).  Each line
 * "probe" writes a two-row 16-bit gray+alpha image whose rows lie 80,000
 * bytes apart, with a decoy pixel where the truncated stride lands, reads
 * it back and looks at the second row: the fixed library wrote the second
 * row, the vulnerable one the decoy.  The decoy lies inside the buffer, so
 * the probe reads nothing it does not own.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIDE 40000	/* components per row: 80,000 bytes, more than 65,535 */

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		png_uint_16 *pix = calloc(2 * STRIDE, sizeof(*pix)), back[4];
		png_image img;
		png_alloc_size_t size = 0;
		void *mem = NULL;
		/* (png_uint_16)80000 / 2: where the vulnerable code looks for the second row */
		unsigned decoy = (png_uint_16)(STRIDE * 2u) / 2u;

		if (!pix)
			return 1;
		pix[0] = 1000, pix[1] = 65535;
		pix[STRIDE] = 50000, pix[STRIDE + 1] = 65535;
		pix[decoy] = 20000, pix[decoy + 1] = 65535;
		memset(&img, 0, sizeof(img));
		img.version = PNG_IMAGE_VERSION;
		img.width = 1;
		img.height = 2;
		img.format = PNG_FORMAT_LINEAR_Y_ALPHA;
		if (!png_image_write_get_memory_size(img, size, 0, pix, STRIDE, NULL) || !(mem = malloc(size)) ||
		    !png_image_write_to_memory(&img, mem, &size, 0, pix, STRIDE, NULL)) {
			printf("error: write failed: %s\n", img.message);
			free(mem);
			free(pix);
			continue;
		}
		memset(&img, 0, sizeof(img));
		img.version = PNG_IMAGE_VERSION;
		if (!png_image_begin_read_from_memory(&img, mem, size) || (img.format = PNG_FORMAT_LINEAR_Y_ALPHA, 0) ||
		    !png_image_finish_read(&img, NULL, back, 0, NULL))
			printf("error: read back failed: %s\n", img.message);
		else if (back[2] == 50000)
			printf("fixed: the second row is the second row (%u)\n", back[2]);
		else
			printf("vulnerable: the second row was read from the truncated stride (%u)\n", back[2]);
		png_image_free(&img);
		free(mem);
		free(pix);
	}
	return 0;
}
