/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fax pages as bitmaps, and the canonical page object the archive stores (one per distinct
 * page, keyed by the SHA-256 of its bytes).
 *
 * DESIGN: a received fax TIFF (spandsp's TIFF-F: MH, MR or MMR, stamped with DateTime,
 * Software and HostComputer) is decoded with libtiff into 1-bit bitmaps; each bitmap is then
 * re-encoded as a canonical single-page TIFF whose bytes depend only on the bitmap and the
 * resolution (docs/decisions/0001-canonical-page.md). The same page received as MH one day
 * and as MMR the next is therefore the same object. A blocking library with no global state:
 * every function may run on any worker thread, never on a loop thread (decoding a page takes
 * milliseconds).
 */
#ifndef INKLESS_STORAGE_PAGE_H
#define INKLESS_STORAGE_PAGE_H

#include <stddef.h>
#include <stdint.h>

/* Limits on what a peer can make us decode (STYLE §4): the widest T.4 page is 4864 pixels
 * (A3 at 1200 dpi is 14592, which we do not accept); 20000 rows is B4 at 1200 lines/inch. */
#define ARC_PAGE_MAX_WIDTH 4864
#define ARC_PAGE_MAX_ROWS 20000
#define ARC_PAGE_MAX_PAGES 1000
#define ARC_PAGE_MAX_RES 1200

/* Bytes before the T.6 data in a canonical object (header, IFD, two rationals). */
#define ARC_CANON_HEADER_LEN 198

/* One page. bits holds rows rows of stride = (width + 7) / 8 bytes, most significant bit
 * first, 1 = black, padding bits after the last pixel of a row are 0. */
struct arc_page {
    uint32_t width;
    uint32_t rows;
    uint16_t xres, yres; /* normalised dots per inch: 204x98, 204x196, 204x391, 200, 300 … */
    size_t stride;
    uint8_t *bits; /* owned by whoever filled the struct (see each function) */
};

/* Called once per page, in order, with a page that is borrowed: valid only during the call
 * (copy the bits to keep them). index counts from 0. Return ≥ 0 to go on, or -errno to stop:
 * the reader then returns that value. */
typedef int arc_page_fn(void *data, const struct arc_page *pg, int index);

/* Decode every page of the fax TIFF at path (Compression none, 2 (MH), 3 (MH/MR), 4 (MMR);
 * either fill order; min-is-white or min-is-black; one sample of one bit) and call fn for
 * each. Rows are kept as stored: the bitmap has ImageLength rows, trailing white rows
 * included (RTC/EOFB are codes, not rows, and never appear). The resolution is normalised to
 * whole dpi (cm units converted) and snapped to the nearest T.4/T.30 class within 2%
 * (77 lines/cm = 195.6 → 196); a page without one gets 204x196 if it is a T.4 width (1728,
 * 2048, 2432, …), else 200x200.
 *
 * Returns the number of pages (≥ 1), or -errno with a one-line message in errbuf (errbuf may
 * be NULL): -ENOENT/-EACCES/… if the file cannot be opened, -EBADMSG if it is not a TIFF or a
 * page cannot be decoded (the message has libtiff's reason), -E2BIG past ARC_PAGE_MAX_*,
 * -ENOTSUP for a valid TIFF that is not a bilevel fax image (colour, tiles, JPEG…), -ENOMEM,
 * or fn's own -errno. Pages before a failing one have been passed to fn already: an ingest
 * can keep them as a partial fax. Hostile files cost at most the limits above, never a crash
 * or an endless loop (IFD loops are cut). Blocks; any thread. */
int arc_read_pages(const char *path, arc_page_fn *fn, void *data, char *errbuf, size_t errlen);

/* The same, from a file image in memory (borrowed; e.g. a canonical object). */
int arc_read_pages_mem(const uint8_t *buf, size_t len, arc_page_fn *fn, void *data, char *errbuf,
                       size_t errlen);

/* Allocate a white page (bits zeroed, owned by *pg: free with arc_page_release).
 * Returns 0, -EINVAL for a size or resolution out of the limits, or -ENOMEM. */
int arc_page_init(struct arc_page *pg, uint32_t width, uint32_t rows, uint16_t xres, uint16_t yres);

/* Free pg->bits (NULL is fine) and clear pg. */
void arc_page_release(struct arc_page *pg);

/* Encode pg (borrowed) as a canonical object: a little-endian single-page TIFF with fixed
 * tags and the bitmap as one T.6 (MMR) strip, every byte determined by the bitmap and
 * resolution. *ret_buf is malloc'd (the caller frees it), *ret_len its size. Returns 0,
 * -EINVAL for a page outside the limits, -ENOMEM, or -EIO if libtiff fails. Blocks (CPU);
 * any thread. */
int arc_canon_page(const struct arc_page *pg, uint8_t **ret_buf, size_t *ret_len);

/* What arc_parse_canon reads out of a canonical object. t6 points into the caller's buffer
 * (borrowed: valid while it is). */
struct arc_canon_info {
    uint32_t width, rows;
    uint16_t xres, yres;
    const uint8_t *t6;
    size_t t6_len;
};

/* Check that buf (borrowed) is exactly a canonical object as arc_canon_page writes it (every
 * header byte is compared) and return its fields, for exporting the T.6 data without
 * re-encoding. Returns 0 or -EBADMSG. Does not decode the T.6 data. Pure; any thread. */
int arc_parse_canon(const uint8_t *buf, size_t len, struct arc_canon_info *ret_info);

#endif
