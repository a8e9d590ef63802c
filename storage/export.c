/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fax export to PDF and TIFF-F (see export.h). The PDF is written by hand (ISO 32000-1 §7.5:
 * header, objects, xref table, trailer); the T.6 strip of each canonical page becomes the
 * stream of an Image XObject as it is, which is what /CCITTFaxDecode with /K -1 reads
 * (§7.4.6, Table 11). */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "page.h"

/* A PDF being written: the byte offset is counted here, not asked of the stream, so out may
 * be a pipe. The first error sticks. */
struct pdfw {
    FILE *f;
    uint64_t off;
    int err;
    uint64_t *obj_off; /* obj_off[i] = offset of object i (1-based; [0] unused) */
};

static void
pdf_bytes(struct pdfw *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    errno = 0;
    if (fwrite(p, 1, n, w->f) != n) {
        w->err = errno ? -errno : -EIO;
        return;
    }
    w->off += n;
}

static void __attribute__((format(printf, 2, 3))) pdf_fmt(struct pdfw *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    pdf_bytes(w, tmp, (size_t)n);
}

static void
pdf_obj(struct pdfw *w, unsigned num)
{
    w->obj_off[num] = w->off;
    pdf_fmt(w, "%u 0 obj\n", num);
}

/* A PDF literal string (§7.3.4.2): backslash, parentheses and non-printing bytes escaped. */
static void
pdf_string(struct pdfw *w, const char *s)
{
    pdf_bytes(w, "(", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '(' || *p == ')')
            pdf_fmt(w, "\\%c", *p);
        else if (*p >= 0x20 && *p <= 0x7e)
            pdf_bytes(w, p, 1);
        else
            pdf_fmt(w, "\\%03o", *p);
    }
    pdf_bytes(w, ")", 1);
}

/* Length in points of n pixels at res per inch, as fixed-point text with 4 decimals, rounded
 * down. Integer arithmetic, so the bytes do not depend on the platform's printf of doubles. */
static void
fmt_points(char *buf, size_t len, uint32_t n, uint16_t res)
{
    uint64_t v = (uint64_t)n * 720000 / res;
    (void)snprintf(buf, len, "%" PRIu64 ".%04" PRIu64, v / 10000, v % 10000);
}

/* Check that every page is a canonical object and read its layout into *ret_info (malloc'd,
 * n entries). 0, -EINVAL (no pages, too many), -ENOMEM or -EBADMSG (not canonical). */
static int
parse_pages(const struct arc_export_page *pages, size_t n, struct arc_canon_info **ret_info)
{
    if (n == 0 || n > ARC_PAGE_MAX_PAGES)
        return -EINVAL;
    struct arc_canon_info *info = calloc(n, sizeof(*info));
    if (!info)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (arc_parse_canon(pages[i].buf, pages[i].len, &info[i]) < 0) {
            free(info);
            return -EBADMSG;
        }
    }
    *ret_info = info;
    return 0;
}

int
arc_export_pdf(const struct arc_export_page *pages, size_t n, FILE *out,
               const struct arc_pdf_meta *meta)
{
    struct arc_canon_info *info;
    int r = parse_pages(pages, n, &info);
    if (r < 0)
        return r;
    /* Objects: 1 catalog, 2 page tree, 3 info, then per page 4+3i page, 5+3i content stream,
     * 6+3i image. */
    unsigned n_obj = 3 + 3 * (unsigned)n;
    struct pdfw w = {.f = out, .obj_off = calloc(n_obj + 1, sizeof(uint64_t))};
    if (!w.obj_off) {
        free(info);
        return -ENOMEM;
    }

    /* The second line's bytes ≥ 128 mark the file as binary for transfer tools (§7.5.2). */
    pdf_bytes(&w, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15);
    pdf_obj(&w, 1);
    pdf_fmt(&w, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    pdf_obj(&w, 2);
    pdf_fmt(&w, "<< /Type /Pages /Count %zu /Kids [", n);
    for (size_t i = 0; i < n; i++)
        pdf_fmt(&w, "%s%u 0 R", i ? " " : "", 4 + 3 * (unsigned)i);
    pdf_fmt(&w, "] >>\nendobj\n");
    pdf_obj(&w, 3);
    pdf_fmt(&w, "<< /Producer (inkless)");
    if (meta && meta->title) {
        pdf_fmt(&w, " /Title ");
        pdf_string(&w, meta->title);
    }
    struct tm tm;
    if (meta && meta->created > 0 && gmtime_r(&meta->created, &tm))
        pdf_fmt(&w, " /CreationDate (D:%04d%02d%02d%02d%02d%02dZ)", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    pdf_fmt(&w, " >>\nendobj\n");

    for (size_t i = 0; i < n && !w.err; i++) {
        const struct arc_canon_info *pg = &info[i];
        unsigned num = 4 + 3 * (unsigned)i;
        char pw[32], ph[32], content[128];
        fmt_points(pw, sizeof(pw), pg->width, pg->xres);
        fmt_points(ph, sizeof(ph), pg->rows, pg->yres);
        pdf_obj(&w, num);
        pdf_fmt(&w,
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << "
                "/Im0 %u 0 R >> >> /Contents %u 0 R >>\nendobj\n",
                pw, ph, num + 2, num + 1);
        /* Scale the unit square the image occupies to the whole page (§8.9.5). */
        int clen = snprintf(content, sizeof(content), "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", pw, ph);
        pdf_obj(&w, num + 1);
        pdf_fmt(&w, "<< /Length %d >>\nstream\n", clen);
        pdf_bytes(&w, content, (size_t)clen);
        pdf_fmt(&w, "endstream\nendobj\n");
        /* BlackIs1 false: the decoder's 0 bits are black, which with DeviceGray 1-bit is how
         * a min-is-white fax looks. The T.6 data ends in EOFB, as EndOfBlock (default true)
         * expects. */
        pdf_obj(&w, num + 2);
        pdf_fmt(&w,
                "<< /Type /XObject /Subtype /Image /Width %u /Height %u /ColorSpace /DeviceGray "
                "/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %u "
                "/Rows %u /BlackIs1 false >> /Length %zu >>\nstream\n",
                pg->width, pg->rows, pg->width, pg->rows, pg->t6_len);
        pdf_bytes(&w, pg->t6, pg->t6_len);
        pdf_fmt(&w, "\nendstream\nendobj\n");
    }

    /* Cross-reference table (§7.5.4): entries are exactly 20 bytes, "nnnnnnnnnn ggggg n \n". */
    uint64_t xref = w.off;
    pdf_fmt(&w, "xref\n0 %u\n0000000000 65535 f \n", n_obj + 1);
    for (unsigned i = 1; i <= n_obj; i++)
        pdf_fmt(&w, "%010" PRIu64 " 00000 n \n", w.obj_off[i]);
    pdf_fmt(&w,
            "trailer\n<< /Size %u /Root 1 0 R /Info 3 0 R >>\nstartxref\n%" PRIu64 "\n%%%%EOF\n",
            n_obj + 1, xref);
    if (!w.err && ferror(out))
        w.err = -EIO;
    free(w.obj_off);
    free(info);
    return w.err;
}

/* libtiff's messages go nowhere (a per-handle handler; see page.c); we only note that one
 * happened, since every libtiff error while writing is an I/O failure to the caller. */
static int
on_tiff_error(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    *(bool *)data = true;
    return 1;
}

static int
on_tiff_warning(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    return 1;
}

static int
write_tiff_page(TIFF *tif, const struct arc_canon_info *pg, size_t i, size_t n)
{
    if (!TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE) ||
        !TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, pg->width) ||
        !TIFFSetField(tif, TIFFTAG_IMAGELENGTH, pg->rows) ||
        !TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1) ||
        !TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1) ||
        !TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4) ||
        !TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE) ||
        !TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB) ||
        !TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
        !TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, pg->rows) ||
        !TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)pg->xres) ||
        !TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)pg->yres) ||
        !TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH) ||
        !TIFFSetField(tif, TIFFTAG_GROUP4OPTIONS, 0) ||
        !TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)i, (uint16_t)n))
        return -EIO;
    /* The strip goes in as it is: TIFFWriteRawStrip bypasses the codec. */
    if (TIFFWriteRawStrip(tif, 0, (void *)pg->t6, (tmsize_t)pg->t6_len) < 0 ||
        !TIFFWriteDirectory(tif))
        return -EIO;
    return 0;
}

int
arc_export_tiff(const struct arc_export_page *pages, size_t n, const char *path)
{
    struct arc_canon_info *info;
    int r = parse_pages(pages, n, &info);
    if (r < 0)
        return r;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        r = -errno;
        free(info);
        return r;
    }
    bool has_err = false;
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) {
        close(fd);
        free(info);
        return -ENOMEM;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, &has_err);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, NULL);
    TIFF *tif = TIFFFdOpenExt(fd, path, "wl", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif) {
        close(fd);
        free(info);
        return -EIO;
    }
    for (size_t i = 0; i < n && r == 0; i++)
        r = write_tiff_page(tif, &info[i], i, n);
    TIFFClose(tif); /* closes fd */
    free(info);
    if (r == 0 && has_err)
        r = -EIO;
    return r;
}
