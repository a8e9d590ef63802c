/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Export a fax (its canonical page objects, in order) as PDF or as multi-page TIFF-F. Both
 * copy each page's T.6 data as stored: nothing is decoded or re-rasterised, and the output
 * bytes depend only on the pages (and the PDF metadata given), so an export can be compared
 * or hashed. Blocking (file I/O); call from a worker or the CLI, never from a loop thread.
 */
#ifndef INKLESS_STORAGE_EXPORT_H
#define INKLESS_STORAGE_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* One canonical page object (arc_canon_page's bytes), borrowed. */
struct arc_export_page {
    const uint8_t *buf;
    size_t len;
};

/* Optional PDF document information; every field may be NULL/0. */
struct arc_pdf_meta {
    const char *title; /* e.g. "Fax from +49 40 987654"; any bytes, escaped */
    time_t created;    /* the fax's start time (UTC) as CreationDate; 0 = none */
};

/* Write a PDF 1.4 with one page per object to out (borrowed, written from its current
 * position; byte offsets in the xref table count from there). Each page is an Image XObject
 * with /Filter /CCITTFaxDecode, /K -1 (T.6), /BlackIs1 false, drawn over the whole page; the
 * page size is width/xres × rows/yres inches. meta may be NULL. Returns 0, -EINVAL for an
 * empty list, -EBADMSG if an object is not canonical (see arc_parse_canon), or -EIO when
 * writing fails (errno from the stream if it has one). Does not fclose or fflush out beyond
 * what stdio does. */
int arc_export_pdf(const struct arc_export_page *pages, size_t n, FILE *out,
                   const struct arc_pdf_meta *meta);

/* Write a multi-page TIFF-F (T.6, one strip per page, PageNumber i/n, SubfileType page, no
 * date or software tags) to path, created or truncated. Returns 0, -EINVAL for an empty list,
 * -EBADMSG for a non-canonical object, or -errno/-EIO from opening or writing (a failed
 * export may leave a partial file at path: the caller removes it). */
int arc_export_tiff(const struct arc_export_page *pages, size_t n, const char *path);

#endif
