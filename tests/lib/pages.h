/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Decode every page of a fax TIFF (any CCITT compression, either photometric, either fill
 * order) into a 1-bit bitmap with 1 = black, trailing white rows trimmed, so pages can be
 * compared as images: "page for page, bit for bit", whatever the encoding on the wire. */
#ifndef INKLESS_TESTS_PAGES_H
#define INKLESS_TESTS_PAGES_H

#include <stddef.h>
#include <stdint.h>

struct page {
    int width, rows;  /* rows after trimming trailing white rows */
    int raw_rows;     /* ImageLength as stored */
    float xres, yres; /* as stored (dpi or dpcm per ResolutionUnit) */
    size_t stride;    /* bytes per row */
    uint8_t *bits;    /* rows * stride */
    uint64_t hash;    /* FNV-1a over width, rows and bits */
};

/* Load every page of `path`. Returns the page count (≥ 0) with *ret_pages malloc'd (free
 * with pages_free), or -1 with a message in errbuf. */
int pages_load(const char *path, struct page **ret_pages, char *errbuf, size_t errlen);
void pages_free(struct page *pages, int n);

/* Compare two pages: 0 if identical bitmaps, else the number of differing rows (or -1 if the
 * sizes differ). */
long pages_compare(const struct page *a, const struct page *b);

#endif
