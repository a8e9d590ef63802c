/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fax TIFF page decoder for tests (see pages.h). */
#include "pages.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

static void
quiet_handler(const char *module, const char *fmt, va_list ap)
{
}

static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int
load_page(TIFF *tif, struct page *pg, char *errbuf, size_t errlen)
{
    uint32_t w = 0, h = 0;
    uint16_t photometric = PHOTOMETRIC_MINISWHITE, bps = 1, spp = 1;

    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    pg->xres = pg->yres = 0;
    TIFFGetField(tif, TIFFTAG_XRESOLUTION, &pg->xres);
    TIFFGetField(tif, TIFFTAG_YRESOLUTION, &pg->yres);
    if (w == 0 || h == 0 || w > 20000 || h > 100000 || bps != 1 || spp != 1) {
        snprintf(errbuf, errlen, "unsupported page %ux%u bps %u spp %u", w, h, bps, spp);
        return -1;
    }
    pg->width = (int)w;
    pg->raw_rows = (int)h;
    pg->stride = (w + 7) / 8;
    tmsize_t sl = TIFFScanlineSize(tif);
    if (sl <= 0 || (size_t)sl < pg->stride) {
        snprintf(errbuf, errlen, "bad scanline size");
        return -1;
    }
    pg->bits = calloc(h, pg->stride);
    uint8_t *line = malloc((size_t)sl);
    if (!pg->bits || !line) {
        free(line);
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    int last_black = -1;
    for (uint32_t r = 0; r < h; r++) {
        if (TIFFReadScanline(tif, line, r, 0) < 0) {
            free(line);
            snprintf(errbuf, errlen, "decode error at row %u", r);
            return -1;
        }
        uint8_t *row = pg->bits + (size_t)r * pg->stride;
        for (size_t i = 0; i < pg->stride; i++)
            row[i] = photometric == PHOTOMETRIC_MINISBLACK ? (uint8_t)~line[i] : line[i];
        if (w % 8)
            row[pg->stride - 1] &= (uint8_t)(0xff << (8 - w % 8));
        for (size_t i = 0; i < pg->stride; i++)
            if (row[i]) {
                last_black = (int)r;
                break;
            }
    }
    free(line);
    pg->rows = last_black + 1;
    uint64_t hash = 1469598103934665603ull;
    hash = fnv1a(hash, &pg->width, sizeof(pg->width));
    hash = fnv1a(hash, &pg->rows, sizeof(pg->rows));
    pg->hash = fnv1a(hash, pg->bits, (size_t)pg->rows * pg->stride);
    return 0;
}

int
pages_load(const char *path, struct page **ret_pages, char *errbuf, size_t errlen)
{
    TIFFSetErrorHandler(quiet_handler);
    TIFFSetWarningHandler(quiet_handler);
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif) {
        snprintf(errbuf, errlen, "%s: cannot open as TIFF", path);
        return -1;
    }
    int n = 0, cap = 0;
    struct page *pages = NULL;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct page *p = realloc(pages, (size_t)cap * sizeof(*p));
            if (!p)
                break;
            pages = p;
        }
        memset(&pages[n], 0, sizeof(pages[n]));
        if (load_page(tif, &pages[n], errbuf, errlen) < 0) {
            free(pages[n].bits);
            pages_free(pages, n);
            TIFFClose(tif);
            return -1;
        }
        n++;
    } while (n < 10000 && TIFFReadDirectory(tif));
    TIFFClose(tif);
    *ret_pages = pages;
    return n;
}

void
pages_free(struct page *pages, int n)
{
    for (int i = 0; i < n; i++)
        free(pages[i].bits);
    free(pages);
}

long
pages_compare(const struct page *a, const struct page *b)
{
    if (a->width != b->width || a->rows != b->rows)
        return -1;
    long diff = 0;
    for (int r = 0; r < a->rows; r++)
        if (memcmp(a->bits + (size_t)r * a->stride, b->bits + (size_t)r * b->stride, a->stride))
            diff++;
    return diff;
}
