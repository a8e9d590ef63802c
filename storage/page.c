/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fax TIFF pages to bitmaps and canonical page objects (see page.h and
 * docs/decisions/0001-canonical-page.md). libtiff does all CCITT decoding and the T.6
 * encoding; this file picks the fields, bounds what a hostile file can cost, and lays out the
 * canonical bytes itself. */
#include "page.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tiffio.h>

/* No single libtiff allocation may exceed this (a raw strip of the largest page we accept is
 * 12 MB uncompressed; a hostile StripByteCounts must not make libtiff allocate gigabytes). */
#define TIFF_MAX_ALLOC (64 << 20)
/* Largest in-memory TIFF we build while encoding one page. */
#define MEMFILE_MAX ((size_t)256 << 20)

/* libtiff reports through per-handle callbacks (libtiff ≥ 4.5), so nothing reaches stderr and
 * threads do not share a global handler. The first error is the cause; later ones are
 * consequences ("TIFFReadScanline: …"). Warnings (unknown tags, bogus counts libtiff repairs)
 * are not failures and are dropped. */
struct tiff_err {
    char msg[200];
    bool has_msg;
};

static int
on_tiff_error(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    struct tiff_err *te = data;
    if (!te->has_msg) {
        int n = module ? snprintf(te->msg, sizeof(te->msg), "%s: ", module) : 0;
        if (n < 0 || (size_t)n >= sizeof(te->msg))
            n = 0;
        (void)vsnprintf(te->msg + n, sizeof(te->msg) - (size_t)n, fmt, ap);
        te->has_msg = true;
    }
    return 1; /* handled: do not call the global handler */
}

static int
on_tiff_warning(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    return 1;
}

static TIFFOpenOptions *
new_tiff_opts(struct tiff_err *te)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return NULL;
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, TIFF_MAX_ALLOC);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, te);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, te);
    return opts;
}

static int
set_err(char *errbuf, size_t errlen, int r, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* A TIFF file in memory for TIFFClientOpen: read-only over a borrowed buffer, or growing
 * (owned buf) while libtiff writes. */
struct memfile {
    uint8_t *buf;
    size_t len, cap, pos;
    bool is_writable;
};

static tmsize_t
mem_read(thandle_t h, void *dst, tmsize_t n)
{
    struct memfile *mf = h;
    if (n < 0)
        return -1;
    size_t avail = mf->pos < mf->len ? mf->len - mf->pos : 0;
    size_t k = (size_t)n < avail ? (size_t)n : avail;
    if (k)
        memcpy(dst, mf->buf + mf->pos, k);
    mf->pos += k;
    return (tmsize_t)k;
}

static tmsize_t
mem_write(thandle_t h, void *src, tmsize_t n)
{
    struct memfile *mf = h;
    if (!mf->is_writable || n < 0 || mf->pos > MEMFILE_MAX || (size_t)n > MEMFILE_MAX - mf->pos)
        return -1;
    size_t end = mf->pos + (size_t)n;
    if (end > mf->cap) {
        size_t cap = mf->cap ? mf->cap : 65536;
        while (cap < end)
            cap *= 2;
        uint8_t *p = realloc(mf->buf, cap);
        if (!p)
            return -1;
        mf->buf = p;
        mf->cap = cap;
    }
    if (mf->pos > mf->len) /* a seek past the end leaves a hole: zero it, as a file would */
        memset(mf->buf + mf->len, 0, mf->pos - mf->len);
    memcpy(mf->buf + mf->pos, src, (size_t)n);
    mf->pos = end;
    if (end > mf->len)
        mf->len = end;
    return n;
}

static toff_t
mem_seek(thandle_t h, toff_t off, int whence)
{
    struct memfile *mf = h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? mf->pos : mf->len;
    uint64_t pos = base + off; /* toff_t is unsigned: SEEK_CUR backwards wraps as intended */
    if (pos > MEMFILE_MAX)
        return (toff_t)-1;
    mf->pos = (size_t)pos;
    return pos;
}

static int
mem_close(thandle_t h)
{
    return 0;
}

static toff_t
mem_size(thandle_t h)
{
    return ((struct memfile *)h)->len;
}

static int
mem_map(thandle_t h, void **base, toff_t *size)
{
    struct memfile *mf = h;
    if (mf->is_writable)
        return 0;
    *base = mf->buf;
    *size = mf->len;
    return 1;
}

static void
mem_unmap(thandle_t h, void *base, toff_t size)
{
}

static TIFF *
open_mem(struct memfile *mf, const char *mode, TIFFOpenOptions *opts)
{
    return TIFFClientOpenExt("memory", mode, mf, mem_read, mem_write, mem_seek, mem_close, mem_size,
                             mem_map, mem_unmap, opts);
}

/* Resolution classes a fax or a scanner produces (T.30 Table 2 / DIS bits 15, 41–46, 65–68:
 * R8 = 204, R16 = 408 pixels/inch across; 3.85, 7.7, 15.4 lines/mm = 98, 196, 391 lines/inch;
 * the inch-based 100–1200). spandsp stores them rounded (7.7 l/mm → 196); other writers use
 * cm units or exact values (195.58), hence the snap. */
static const uint16_t known_res[] = {98, 100, 196, 200, 204, 240, 300, 391, 400, 408, 600, 1200};

/* 0 = absent or nonsense (NaN, ≤ 0, huge): the caller picks a default. */
static uint16_t
normalise_res(float value, uint16_t unit)
{
    double dpi = value;
    if (unit == RESUNIT_CENTIMETER)
        dpi *= 2.54;
    if (!(dpi >= 0.5 && dpi <= ARC_PAGE_MAX_RES * 1.02))
        return 0;
    uint16_t best = 0;
    double best_diff = 0;
    for (size_t i = 0; i < sizeof(known_res) / sizeof(known_res[0]); i++) {
        double diff = dpi > known_res[i] ? dpi - known_res[i] : known_res[i] - dpi;
        if (diff <= known_res[i] * 0.02 && (!best || diff < best_diff)) {
            best = known_res[i];
            best_diff = diff;
        }
    }
    if (best)
        return best;
    long r = (long)(dpi + 0.5);
    return r < 1 ? 1 : r > ARC_PAGE_MAX_RES ? ARC_PAGE_MAX_RES : (uint16_t)r;
}

/* TIFF-F requires the resolution; without it, a T.4 width (T.4 §2.2: 1728/2048/2432 at R8,
 * doubled at R16) means a fax at fine resolution, anything else a 200 dpi scan. */
static void
default_res(struct arc_page *pg)
{
    uint32_t w = pg->width;
    if (!pg->xres)
        pg->xres = (w == 1728 || w == 2048 || w == 2432)   ? 204
                   : (w == 3456 || w == 4096 || w == 4864) ? 408
                                                           : 200;
    if (!pg->yres)
        pg->yres = pg->xres == 204 ? 196 : pg->xres == 408 ? 391 : pg->xres;
}

int
arc_page_init(struct arc_page *pg, uint32_t width, uint32_t rows, uint16_t xres, uint16_t yres)
{
    *pg = (struct arc_page){0};
    if (width < 1 || width > ARC_PAGE_MAX_WIDTH || rows < 1 || rows > ARC_PAGE_MAX_ROWS ||
        xres < 1 || xres > ARC_PAGE_MAX_RES || yres < 1 || yres > ARC_PAGE_MAX_RES)
        return -EINVAL;
    size_t stride = (width + 7) / 8;
    uint8_t *bits = calloc(rows, stride);
    if (!bits)
        return -ENOMEM;
    *pg = (struct arc_page){
        .width = width, .rows = rows, .xres = xres, .yres = yres, .stride = stride, .bits = bits};
    return 0;
}

void
arc_page_release(struct arc_page *pg)
{
    if (!pg)
        return;
    free(pg->bits);
    *pg = (struct arc_page){0};
}

/* Decode the current directory into pg, reusing pg->bits (capacity *cap bytes). */
static int
decode_page(TIFF *tif, struct tiff_err *te, int index, struct arc_page *pg, size_t *cap,
            char *errbuf, size_t errlen)
{
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, comp = COMPRESSION_NONE, photometric = PHOTOMETRIC_MINISWHITE;
    uint16_t unit = RESUNIT_INCH;
    float xres = 0, yres = 0;

    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
        return set_err(errbuf, errlen, -EBADMSG, "page %d: no ImageWidth or ImageLength", index);
    if (w == 0 || h == 0)
        return set_err(errbuf, errlen, -EBADMSG, "page %d: empty page (%ux%u)", index, w, h);
    if (w > ARC_PAGE_MAX_WIDTH || h > ARC_PAGE_MAX_ROWS)
        return set_err(errbuf, errlen, -E2BIG, "page %d: %ux%u exceeds %ux%u", index, w, h,
                       ARC_PAGE_MAX_WIDTH, ARC_PAGE_MAX_ROWS);
    (void)TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    (void)TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    (void)TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &comp);
    (void)TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    if (bps != 1 || spp != 1)
        return set_err(errbuf, errlen, -ENOTSUP, "page %d: not bilevel (%u bits x %u samples)",
                       index, bps, spp);
    /* Only the fax codecs: every other decoder libtiff carries is attack surface we need not
     * expose to a peer's bytes. */
    if (comp != COMPRESSION_NONE && comp != COMPRESSION_CCITTRLE && comp != COMPRESSION_CCITTRLEW &&
        comp != COMPRESSION_CCITTFAX3 && comp != COMPRESSION_CCITTFAX4)
        return set_err(errbuf, errlen, -ENOTSUP, "page %d: compression %u is not a fax codec",
                       index, comp);
    if (photometric != PHOTOMETRIC_MINISWHITE && photometric != PHOTOMETRIC_MINISBLACK)
        return set_err(errbuf, errlen, -ENOTSUP, "page %d: photometric %u", index, photometric);
    if (TIFFIsTiled(tif))
        return set_err(errbuf, errlen, -ENOTSUP, "page %d: tiled", index);

    *pg = (struct arc_page){.width = w, .rows = h, .stride = (w + 7) / 8, .bits = pg->bits};
    (void)TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres))
        pg->xres = normalise_res(xres, unit);
    if (TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres))
        pg->yres = normalise_res(yres, unit);
    default_res(pg);

    tmsize_t sl = TIFFScanlineSize(tif);
    if (sl <= 0 || (size_t)sl != pg->stride)
        return set_err(errbuf, errlen, -EBADMSG, "page %d: scanline size %lld for width %u", index,
                       (long long)sl, w);
    size_t need = pg->stride * h;
    if (need > *cap) {
        uint8_t *p = realloc(pg->bits, need);
        if (!p)
            return set_err(errbuf, errlen, -ENOMEM, "page %d: out of memory", index);
        pg->bits = p;
        *cap = need;
    }
    uint8_t pad = w % 8 ? (uint8_t)(0xff << (8 - w % 8)) : 0xff;
    for (uint32_t r = 0; r < h; r++) {
        uint8_t *row = pg->bits + (size_t)r * pg->stride;
        te->has_msg = false;
        if (TIFFReadScanline(tif, row, r, 0) < 0)
            return set_err(errbuf, errlen, -EBADMSG, "page %d row %u: %s", index, r,
                           te->has_msg ? te->msg : "decode error");
        if (photometric == PHOTOMETRIC_MINISBLACK)
            for (size_t i = 0; i < pg->stride; i++)
                row[i] = (uint8_t)~row[i];
        row[pg->stride - 1] &= pad;
    }
    return 0;
}

static int
read_tiff(TIFF *tif, struct tiff_err *te, arc_page_fn *fn, void *data, char *errbuf, size_t errlen)
{
    struct arc_page pg = {0};
    size_t cap = 0;
    int n = 0, r = 0;
    for (;;) {
        if (n >= ARC_PAGE_MAX_PAGES) {
            r = set_err(errbuf, errlen, -E2BIG, "more than %d pages", ARC_PAGE_MAX_PAGES);
            break;
        }
        r = decode_page(tif, te, n, &pg, &cap, errbuf, errlen);
        if (r < 0)
            break;
        r = fn(data, &pg, n);
        if (r < 0)
            break;
        n++;
        if (TIFFLastDirectory(tif))
            break;
        /* Not the last: the next directory must read. libtiff cuts IFD loops (a chain back to
         * itself or to an earlier page) with an error; we refuse such a file rather than
         * guess where it ends. */
        te->has_msg = false;
        if (!TIFFReadDirectory(tif)) {
            r = set_err(errbuf, errlen, -EBADMSG, "page %d: %s", n,
                        te->has_msg ? te->msg : "cannot read directory");
            break;
        }
    }
    free(pg.bits);
    return r < 0 ? r : n;
}

int
arc_read_pages(const char *path, arc_page_fn *fn, void *data, char *errbuf, size_t errlen)
{
    struct tiff_err te = {.has_msg = false};
    /* Open the fd ourselves: a FIFO or device must fail, not block in libtiff's read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int r = -errno;
        return set_err(errbuf, errlen, r, "%s: %s", path, strerror(-r));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return set_err(errbuf, errlen, -EBADMSG, "%s: not a regular file", path);
    }
    TIFFOpenOptions *opts = new_tiff_opts(&te);
    if (!opts) {
        close(fd);
        return set_err(errbuf, errlen, -ENOMEM, "out of memory");
    }
    TIFF *tif = TIFFFdOpenExt(fd, path, "r", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif) {
        close(fd);
        return set_err(errbuf, errlen, -EBADMSG, "%s: not a TIFF: %s", path,
                       te.has_msg ? te.msg : "cannot open");
    }
    int r = read_tiff(tif, &te, fn, data, errbuf, errlen);
    TIFFClose(tif); /* closes fd */
    return r;
}

int
arc_read_pages_mem(const uint8_t *buf, size_t len, arc_page_fn *fn, void *data, char *errbuf,
                   size_t errlen)
{
    struct tiff_err te = {.has_msg = false};
    struct memfile mf = {.buf = (uint8_t *)buf, .len = len, .cap = len};
    TIFFOpenOptions *opts = new_tiff_opts(&te);
    if (!opts)
        return set_err(errbuf, errlen, -ENOMEM, "out of memory");
    TIFF *tif = open_mem(&mf, "r", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif)
        return set_err(errbuf, errlen, -EBADMSG, "not a TIFF: %s",
                       te.has_msg ? te.msg : "cannot open");
    int r = read_tiff(tif, &te, fn, data, errbuf, errlen);
    TIFFClose(tif);
    return r;
}

/* The canonical object (docs/decisions/0001-canonical-page.md), little-endian:
 *   0    "II" 42 and the IFD offset 8
 *   8    IFD: 14 entries in tag order, next-IFD offset 0
 *   182  XResolution xres/1, 190 YResolution yres/1 (RATIONAL)
 *   198  the T.6 strip (libtiff's encoder, FillOrder 1, ending in EOFB and 0-padding)
 * Tags: ImageWidth, ImageLength, BitsPerSample 1, Compression 4, Photometric 0 (min-is-white),
 * FillOrder 1, StripOffsets 198, SamplesPerPixel 1, RowsPerStrip = ImageLength,
 * StripByteCounts, XResolution, YResolution, T6Options 0, ResolutionUnit 2 (inch). */
#define CANON_NTAGS 14
#define CANON_XRES_OFF 182
#define CANON_YRES_OFF 190

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_canon_header(uint8_t *p, uint32_t width, uint32_t rows, uint16_t xres, uint16_t yres,
                 uint32_t t6_len)
{
    enum { SHORT = 3, LONG = 4, RATIONAL = 5 };
    static const struct {
        uint16_t tag, type;
    } tags[CANON_NTAGS] = {
        {TIFFTAG_IMAGEWIDTH, LONG},      {TIFFTAG_IMAGELENGTH, LONG},
        {TIFFTAG_BITSPERSAMPLE, SHORT},  {TIFFTAG_COMPRESSION, SHORT},
        {TIFFTAG_PHOTOMETRIC, SHORT},    {TIFFTAG_FILLORDER, SHORT},
        {TIFFTAG_STRIPOFFSETS, LONG},    {TIFFTAG_SAMPLESPERPIXEL, SHORT},
        {TIFFTAG_ROWSPERSTRIP, LONG},    {TIFFTAG_STRIPBYTECOUNTS, LONG},
        {TIFFTAG_XRESOLUTION, RATIONAL}, {TIFFTAG_YRESOLUTION, RATIONAL},
        {TIFFTAG_T6OPTIONS, LONG},       {TIFFTAG_RESOLUTIONUNIT, SHORT},
    };
    const uint32_t values[CANON_NTAGS] = {
        width,
        rows,
        1,
        COMPRESSION_CCITTFAX4,
        PHOTOMETRIC_MINISWHITE,
        FILLORDER_MSB2LSB,
        ARC_CANON_HEADER_LEN,
        1,
        rows,
        t6_len,
        CANON_XRES_OFF,
        CANON_YRES_OFF,
        0,
        RESUNIT_INCH,
    };
    memset(p, 0, ARC_CANON_HEADER_LEN);
    p[0] = 'I';
    p[1] = 'I';
    put16(p + 2, 42);
    put32(p + 4, 8);
    put16(p + 8, CANON_NTAGS);
    for (int i = 0; i < CANON_NTAGS; i++) {
        uint8_t *e = p + 10 + 12 * i;
        put16(e, tags[i].tag);
        put16(e + 2, tags[i].type);
        put32(e + 4, 1);
        /* A SHORT sits in the first two bytes of the value field; the rest stays 0. */
        if (tags[i].type == SHORT)
            put16(e + 8, (uint16_t)values[i]);
        else
            put32(e + 8, values[i]);
    }
    /* next-IFD offset at 10 + 12·14 = 178 stays 0 */
    put32(p + CANON_XRES_OFF, xres);
    put32(p + CANON_XRES_OFF + 4, 1);
    put32(p + CANON_YRES_OFF, yres);
    put32(p + CANON_YRES_OFF + 4, 1);
}

/* Encode the bitmap as one T.6 strip with libtiff, into a TIFF in memory, and copy the strip
 * out (the rest of libtiff's file is thrown away: its layout is not ours to fix). */
static int
encode_t6(const struct arc_page *pg, uint8_t **ret_t6, size_t *ret_len)
{
    struct tiff_err te = {.has_msg = false};
    struct memfile mf = {.is_writable = true};
    uint8_t *row = NULL;
    int r = -EIO;

    TIFFOpenOptions *opts = new_tiff_opts(&te);
    if (!opts)
        return -ENOMEM;
    TIFF *tif = open_mem(&mf, "wl", opts);
    if (!tif)
        goto out;
    row = malloc(pg->stride);
    if (!row) {
        r = -ENOMEM;
        TIFFClose(tif);
        goto out;
    }
    if (!TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, pg->width) ||
        !TIFFSetField(tif, TIFFTAG_IMAGELENGTH, pg->rows) ||
        !TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1) ||
        !TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1) ||
        !TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4) ||
        !TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE) ||
        !TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB) ||
        !TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
        !TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, pg->rows) ||
        !TIFFSetField(tif, TIFFTAG_GROUP4OPTIONS, 0)) {
        TIFFClose(tif);
        goto out;
    }
    uint8_t pad = pg->width % 8 ? (uint8_t)(0xff << (8 - pg->width % 8)) : 0xff;
    for (uint32_t y = 0; y < pg->rows; y++) {
        /* libtiff takes a non-const row; padding bits are cleared so they cannot matter. */
        memcpy(row, pg->bits + (size_t)y * pg->stride, pg->stride);
        row[pg->stride - 1] &= pad;
        if (TIFFWriteScanline(tif, row, y, 0) < 0) {
            TIFFClose(tif);
            goto out;
        }
    }
    if (!TIFFWriteDirectory(tif)) {
        TIFFClose(tif);
        goto out;
    }
    TIFFClose(tif);

    mf.is_writable = false;
    mf.pos = 0;
    tif = open_mem(&mf, "r", opts);
    if (!tif)
        goto out;
    uint64_t *offs = NULL, *counts = NULL;
    if (TIFFNumberOfStrips(tif) == 1 && TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offs) &&
        TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts) && offs && counts && counts[0] > 0 &&
        counts[0] <= UINT32_MAX && offs[0] <= mf.len && counts[0] <= mf.len - offs[0]) {
        uint8_t *t6 = malloc((size_t)counts[0]);
        if (t6) {
            memcpy(t6, mf.buf + offs[0], (size_t)counts[0]);
            *ret_t6 = t6;
            *ret_len = (size_t)counts[0];
            r = 0;
        } else {
            r = -ENOMEM;
        }
    }
    TIFFClose(tif);
out:
    TIFFOpenOptionsFree(opts);
    free(row);
    free(mf.buf);
    return r;
}

int
arc_canon_page(const struct arc_page *pg, uint8_t **ret_buf, size_t *ret_len)
{
    if (pg->width < 1 || pg->width > ARC_PAGE_MAX_WIDTH || pg->rows < 1 ||
        pg->rows > ARC_PAGE_MAX_ROWS || pg->stride != (pg->width + 7) / 8 || !pg->bits ||
        pg->xres < 1 || pg->xres > ARC_PAGE_MAX_RES || pg->yres < 1 || pg->yres > ARC_PAGE_MAX_RES)
        return -EINVAL;
    uint8_t *t6 = NULL;
    size_t t6_len = 0;
    int r = encode_t6(pg, &t6, &t6_len);
    if (r < 0)
        return r;
    uint8_t *buf = malloc(ARC_CANON_HEADER_LEN + t6_len);
    if (!buf) {
        free(t6);
        return -ENOMEM;
    }
    put_canon_header(buf, pg->width, pg->rows, pg->xres, pg->yres, (uint32_t)t6_len);
    memcpy(buf + ARC_CANON_HEADER_LEN, t6, t6_len);
    free(t6);
    *ret_buf = buf;
    *ret_len = ARC_CANON_HEADER_LEN + t6_len;
    return 0;
}

int
arc_parse_canon(const uint8_t *buf, size_t len, struct arc_canon_info *ret_info)
{
    if (!buf || len <= ARC_CANON_HEADER_LEN || len - ARC_CANON_HEADER_LEN > UINT32_MAX)
        return -EBADMSG;
    /* Value fields of entries 0, 1, 9 (ImageWidth, ImageLength, StripByteCounts) and the
     * rational numerators; everything else must equal what put_canon_header writes. */
    uint32_t width = get32(buf + 10 + 8);
    uint32_t rows = get32(buf + 10 + 12 + 8);
    uint32_t t6_len = get32(buf + 10 + 12 * 9 + 8);
    uint32_t xres = get32(buf + CANON_XRES_OFF);
    uint32_t yres = get32(buf + CANON_YRES_OFF);
    if (width < 1 || width > ARC_PAGE_MAX_WIDTH || rows < 1 || rows > ARC_PAGE_MAX_ROWS ||
        xres < 1 || xres > ARC_PAGE_MAX_RES || yres < 1 || yres > ARC_PAGE_MAX_RES ||
        t6_len != len - ARC_CANON_HEADER_LEN)
        return -EBADMSG;
    uint8_t expect[ARC_CANON_HEADER_LEN];
    put_canon_header(expect, width, rows, (uint16_t)xres, (uint16_t)yres, t6_len);
    if (memcmp(expect, buf, ARC_CANON_HEADER_LEN) != 0)
        return -EBADMSG;
    *ret_info = (struct arc_canon_info){
        .width = width,
        .rows = rows,
        .xres = (uint16_t)xres,
        .yres = (uint16_t)yres,
        .t6 = buf + ARC_CANON_HEADER_LEN,
        .t6_len = t6_len,
    };
    return 0;
}
