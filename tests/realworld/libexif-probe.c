/* SPDX-License-Identifier: MIT */
/*
 * Probe for libexif CVE-2026-32775 (the maker-note value formatters take
 * maxlen 0 and count it down to UINT_MAX: an out-of-bounds write).  Each
 * line "probe" loads a one-entry Canon maker note (an ASCII "ImageType" of
 * four bytes) and asks for its value with a buffer length of 0, through
 * the public exif_mnote_data_get_value, which reaches the library-internal
 * mnote_canon_entry_get_value through the maker note's method table.  The
 * fixed library returns NULL and writes nothing; the vulnerable one writes
 * the value past the 0 bytes it was given (into a large buffer here, so the
 * probe survives) and returns it.
 */
#include <libexif/exif-data.h>
#include <libexif/exif-mnote-data.h>
#include <stdio.h>
#include <string.h>

/* exported by libexif.so, declared in its private headers */
ExifMnoteData *exif_mnote_data_canon_new(ExifMem *mem, ExifDataOption o);
void exif_mnote_data_set_byte_order(ExifMnoteData *d, ExifByteOrder o);
void exif_mnote_data_set_offset(ExifMnoteData *d, unsigned int o);

int main(void)
{
	/* 6 bytes before the note (the loader starts at 6 + offset), then an IFD of one entry */
	static const unsigned char note[] = { 0, 0, 0, 0, 0, 0,
					      1, 0,			/* one entry */
					      6, 0, 2, 0, 4, 0, 0, 0,	/* tag 6 ImageType, ASCII, 4 components */
					      'a', 'b', 'c', 0 };
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		ExifMnoteData *md = exif_mnote_data_canon_new(exif_mem_new_default(), 0);
		char buf[256];
		const char *r;

		if (!md) {
			printf("error: no maker note\n");
			continue;
		}
		exif_mnote_data_set_byte_order(md, EXIF_BYTE_ORDER_INTEL);
		exif_mnote_data_set_offset(md, 0);
		exif_mnote_data_load(md, note, sizeof(note));
		memset(buf, 'X', sizeof(buf));
		r = exif_mnote_data_get_value(md, 0, buf, 0);
		if (exif_mnote_data_count(md) != 1)
			printf("error: the maker note did not load\n");
		else if (r || buf[0] != 'X')
			printf("vulnerable: a 0-byte buffer was written (\"%.8s\")\n", buf);
		else
			printf("fixed: a 0-byte buffer is refused\n");
		exif_mnote_data_unref(md);
	}
	return 0;
}
