/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Document intake (see convert.h): detect each input by content, turn every page into an 8-bit
 * grey raster, resample it to the fax geometry, make it bilevel and append it to a TIFF-F as
 * one T.6 page. PDF and PostScript are rasterised by ghostscript or MuPDF in a subprocess. */
#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>

#define FAX_XRES 204
/* Page lengths (ISO 216 A4, ISO B4): scaled images longer than B4 are cut into A4 pages,
 * and rendered pages are fitted into A4. */
#define A4_MM 297.0
#define B4_MM 364.0
/* Text layout: 10 pt Courier (6 pt a character) on an A4 page of 595 x 842 pt. */
#define TEXT_COLS 80
#define TEXT_LINES 66
#define TEXT_LEADING 11.6
#define TEXT_LEFT 57.5
#define TEXT_TOP 802.0
/* No single libtiff allocation may exceed this (hostile StripByteCounts). */
#define TIFF_MAX_ALLOC (256 << 20)
/* A renderer may use this much address space (RLIMIT_AS): a PDF bomb fails instead of
 * taking the host's memory. */
#define CHILD_MAX_AS ((rlim_t)2 << 30)
/* When shrinking by the darkest pixel, source pixels covering less than this share of the
 * output pixel are left out (a sliver of a neighbour's stroke must not spread it). */
#define MIN_TAP 0.2f
/* A grey page is a photo (dithered) when more than 1/PHOTO_SHARE of its pixels are mid-grey. */
#define PHOTO_SHARE 4

/* One conversion in progress. */
struct conv {
    int max_pages;
    uint64_t max_pixels;
    enum conv_renderer renderer;
    struct timespec deadline; /* CLOCK_MONOTONIC */
    int yres;                 /* 98, 196 or 391 */
    int pages;                /* pages written to out so far */
    TIFF *out;
    char out_msg[200]; /* libtiff's first error on out */
    const char *input; /* the input being converted, for messages */
    char *err;
    size_t errlen;
};

/* A source page: 8 bits a pixel, 0 = black, 255 = white. xdpi and ydpi may be any unit (only
 * their ratio matters when a page is scaled to the width). */
struct grey {
    uint32_t w, h;
    double xdpi, ydpi;
    uint8_t *px;
};

enum fit {
    FIT_WIDTH, /* images: scale to CONV_FAX_WIDTH, aspect kept; long pages cut */
    FIT_BOX,   /* rendered pages: already fitted; resample to 204 x yres dpi, centre */
};

enum doc_type { DOC_UNKNOWN, DOC_TIFF, DOC_PNG, DOC_JPEG, DOC_PDF, DOC_PS };

/* Record the first error as "<input>: <message>" and return r. */
static int
fail(struct conv *c, int r, const char *fmt, ...)
{
    if (c->err && c->errlen && !c->err[0]) {
        int n = c->input ? snprintf(c->err, c->errlen, "%s: ", c->input) : 0;
        if (n < 0 || (size_t)n >= c->errlen)
            n = 0;
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return r;
}

static int64_t
remaining_ms(const struct conv *c)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(c->deadline.tv_sec - now.tv_sec) * 1000 +
           (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static int
check_time(struct conv *c)
{
    if (remaining_ms(c) <= 0)
        return fail(c, -ETIMEDOUT, "conversion took longer than the time limit");
    return 0;
}

static uint32_t
rows_for_mm(double mm, int yres)
{
    return (uint32_t)lround(mm / 25.4 * yres);
}

/* libtiff reports through per-handle callbacks: nothing reaches stderr and threads share no
 * handler. The first error is kept; warnings are not failures. */
struct tiff_err {
    char *msg;
    size_t len;
    bool has_msg;
    char warning[160]; /* the first warning: the only reason some decoder failures give */
};

static int
on_tiff_error(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    struct tiff_err *te = data;
    if (!te->has_msg) {
        (void)vsnprintf(te->msg, te->len, fmt, ap);
        te->has_msg = true;
    }
    return 1;
}

static int
on_tiff_warning(TIFF *tif, void *data, const char *module, const char *fmt, va_list ap)
{
    struct tiff_err *te = data;
    if (!te->warning[0])
        (void)vsnprintf(te->warning, sizeof(te->warning), fmt, ap);
    return 1;
}

static TIFF *
open_tiff_fd(int fd, const char *name, const char *mode, struct tiff_err *te)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return NULL;
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, TIFF_MAX_ALLOC);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, te);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, te);
    TIFF *tif = TIFFFdOpenExt(fd, name, mode, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

/* ---- Output: one T.6 page per IFD ---- */

static int
page_begin(struct conv *c, uint32_t rows)
{
    if (c->pages >= c->max_pages)
        return fail(c, -EFBIG, "more than %d pages (the page limit)", c->max_pages);
    TIFF *t = c->out;
    /* TIFF-F (RFC 2306) as spandsp writes and reads it: PageNumber's total 0 = unknown
     * (TIFF 6.0), since pages are written before the count is known. */
    if (!TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE) ||
        !TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)CONV_FAX_WIDTH) ||
        !TIFFSetField(t, TIFFTAG_IMAGELENGTH, rows) || !TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1) ||
        !TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1) ||
        !TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4) ||
        !TIFFSetField(t, TIFFTAG_T6OPTIONS, 0) ||
        !TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE) ||
        !TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB) ||
        !TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
        !TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) ||
        !TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows) ||
        !TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)FAX_XRES) ||
        !TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)c->yres) ||
        !TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH) ||
        !TIFFSetField(t, TIFFTAG_PAGENUMBER, (uint16_t)c->pages, (uint16_t)0))
        return fail(c, -EIO, "writing page %d: %s", c->pages + 1, c->out_msg);
    return 0;
}

static int
page_end(struct conv *c)
{
    if (!TIFFWriteDirectory(c->out))
        return fail(c, -EIO, "writing page %d: %s", c->pages + 1, c->out_msg);
    c->pages++;
    return 0;
}

/* ---- Resampling ---- */

/* Source taps of output sample o when in_len samples become out_len: the box filter when
 * shrinking (each output covers 1/scale inputs, ends weighted by their overlap), linear
 * interpolation when enlarging. Equal lengths give one tap of weight 1 (an exact copy).
 * w has room for at least in_len / out_len + 3 taps. Returns the tap count. */
static uint32_t
axis_taps(uint32_t in_len, uint32_t out_len, uint32_t o, uint32_t *ret_first, float *w)
{
    double scale = (double)out_len / in_len;
    if (scale <= 1.0) {
        double a = o / scale, b = (o + 1) / scale;
        if (b > in_len)
            b = in_len;
        uint32_t first = (uint32_t)a, last = (uint32_t)ceil(b);
        if (last > in_len)
            last = in_len;
        if (last <= first)
            last = first + 1;
        uint32_t n = 0;
        for (uint32_t i = first; i < last; i++) {
            double lo = i < a ? a : i, hi = i + 1 > b ? b : i + 1;
            w[n++] = (float)((hi - lo) / (b - a));
        }
        *ret_first = first;
        return n;
    }
    double x = (o + 0.5) / scale - 0.5;
    if (x < 0)
        x = 0;
    uint32_t i0 = (uint32_t)x;
    if (i0 >= in_len - 1) {
        *ret_first = in_len - 1;
        w[0] = 1;
        return 1;
    }
    *ret_first = i0;
    w[0] = (float)(1 - (x - i0));
    w[1] = (float)(x - i0);
    return 2;
}

/* A page as the output rows it makes: the source resampled to out_w x out_rows, placed at
 * column x0 of a CONV_FAX_WIDTH line. */
struct scaler {
    const struct grey *g;
    uint32_t out_w, out_rows, x0;
    uint32_t max_taps_v;
    uint32_t *h_first, *h_n; /* per output column */
    float *h_w;              /* max_taps_h per output column */
    uint32_t max_taps_h;
    float *acc; /* one source-width row */
    float *v_w;
    bool is_min; /* shrink by the darkest source pixel, not the average (see emit_grey) */
};

static void
scaler_release(struct scaler *s)
{
    free(s->h_first);
    free(s->h_n);
    free(s->h_w);
    free(s->acc);
    free(s->v_w);
}

static int
scaler_init(struct scaler *s, const struct grey *g, uint32_t out_w, uint32_t out_rows, uint32_t x0)
{
    *s = (struct scaler){.g = g, .out_w = out_w, .out_rows = out_rows, .x0 = x0};
    s->max_taps_h = g->w / out_w + 3;
    s->max_taps_v = g->h / out_rows + 3;
    s->h_first = calloc(out_w, sizeof(*s->h_first));
    s->h_n = calloc(out_w, sizeof(*s->h_n));
    s->h_w = calloc((size_t)out_w * s->max_taps_h, sizeof(*s->h_w));
    s->acc = calloc(g->w, sizeof(*s->acc));
    s->v_w = calloc(s->max_taps_v, sizeof(*s->v_w));
    if (!s->h_first || !s->h_n || !s->h_w || !s->acc || !s->v_w) {
        scaler_release(s);
        return -ENOMEM;
    }
    for (uint32_t x = 0; x < out_w; x++)
        s->h_n[x] = axis_taps(g->w, out_w, x, &s->h_first[x], s->h_w + (size_t)x * s->max_taps_h);
    return 0;
}

/* Output row y into line (CONV_FAX_WIDTH grey values, margins white). */
static void
scaler_row(struct scaler *s, uint32_t y, float *line)
{
    const struct grey *g = s->g;
    uint32_t first;
    uint32_t n = axis_taps(g->h, s->out_rows, y, &first, s->v_w);
    const uint8_t *src = g->px + (size_t)first * g->w;
    bool vmin = s->is_min && g->h > s->out_rows;
    for (uint32_t x = 0; x < g->w; x++)
        s->acc[x] = vmin ? 255 : 0;
    for (uint32_t k = 0; k < n; k++, src += g->w) {
        float w = s->v_w[k];
        if (!vmin) {
            for (uint32_t x = 0; x < g->w; x++)
                s->acc[x] += w * src[x];
        } else if (w >= MIN_TAP) {
            for (uint32_t x = 0; x < g->w; x++)
                s->acc[x] = src[x] < s->acc[x] ? src[x] : s->acc[x];
        }
    }
    bool hmin = s->is_min && g->w > s->out_w;
    for (uint32_t x = 0; x < CONV_FAX_WIDTH; x++)
        line[x] = 255;
    for (uint32_t x = 0; x < s->out_w; x++) {
        const float *w = s->h_w + (size_t)x * s->max_taps_h;
        const float *a = s->acc + s->h_first[x];
        float v = hmin ? 255 : 0;
        for (uint32_t k = 0; k < s->h_n[x]; k++) {
            if (!hmin)
                v += w[k] * a[k];
            else if (w[k] >= MIN_TAP && a[k] < v)
                v = a[k];
        }
        line[s->x0 + x] = v;
    }
}

/* Photos are dithered, everything else thresholded: a page where more than 1/PHOTO_SHARE of
 * the pixels are mid-grey (64..191) is a photo. Scanned or rendered text, line art and
 * bilevel pages have few such pixels (only antialiased edges). */
static bool
is_photo(const struct grey *g)
{
    uint64_t mid = 0, n = (uint64_t)g->w * g->h;
    for (uint64_t i = 0; i < n; i++)
        mid += (uint8_t)(g->px[i] - 64) < 128;
    return mid * PHOTO_SHARE > n;
}

/* Write grey page g (borrowed) as one or more fax pages. */
static int
emit_grey(struct conv *c, const struct grey *g, enum fit fit, int src_page)
{
    double sx, sy;
    if (fit == FIT_WIDTH) {
        sx = (double)CONV_FAX_WIDTH / g->w;
        /* Rows per inch over columns per inch, the source's and the fax's. */
        sy = sx * (c->yres * g->xdpi) / (FAX_XRES * g->ydpi);
    } else {
        sx = FAX_XRES / g->xdpi;
        sy = c->yres / g->ydpi;
        if (g->w * sx > CONV_FAX_WIDTH) {
            double k = CONV_FAX_WIDTH / (g->w * sx);
            sx *= k;
            sy *= k;
        }
    }
    double rows_d = g->h * sy;
    uint32_t a4 = rows_for_mm(A4_MM, c->yres), b4 = rows_for_mm(B4_MM, c->yres);
    if (rows_d > (double)(c->max_pages + 1) * a4)
        return fail(c, -EFBIG, "page %d (%ux%u) would make more than %d fax pages", src_page, g->w,
                    g->h, c->max_pages);
    uint32_t out_rows = (uint32_t)lround(rows_d);
    uint32_t out_w = (uint32_t)lround(g->w * sx);
    if (out_rows < 1)
        out_rows = 1;
    if (out_w < 1)
        out_w = 1;
    if (out_w > CONV_FAX_WIDTH)
        out_w = CONV_FAX_WIDTH;
    uint32_t piece = out_rows > b4 ? a4 : out_rows;
    uint32_t npieces = (out_rows + piece - 1) / piece;
    if ((int64_t)c->pages + npieces > c->max_pages)
        return fail(c, -EFBIG, "more than %d pages (the page limit)", c->max_pages);

    bool dither = is_photo(g);
    struct scaler s;
    /* Text and line art shrunk by averaging lose every line thinner than the shrink (a
     * 1-pixel stroke at 204 rows/inch is 50% grey at 98 and may threshold to white), so
     * they are shrunk by the darkest pixel instead, as a rasteriser working at the target
     * resolution keeps any stroke touching a pixel (and as fax resolution reduction ORs
     * rows). Photos are averaged, then dithered. */
    float *line = malloc(CONV_FAX_WIDTH * sizeof(*line));
    float *err = calloc(2 * (CONV_FAX_WIDTH + 2), sizeof(*err));
    uint8_t bits[CONV_FAX_WIDTH / 8];
    if (!line || !err || scaler_init(&s, g, out_w, out_rows, (CONV_FAX_WIDTH - out_w) / 2) < 0) {
        free(line);
        free(err);
        return fail(c, -ENOMEM, "out of memory");
    }
    s.is_min = !dither;
    int r = 0;
    float *e_cur = err, *e_next = err + CONV_FAX_WIDTH + 2;
    for (uint32_t y = 0; y < out_rows && r >= 0; y++) {
        uint32_t in_piece = y % piece;
        if (in_piece == 0) {
            r = page_begin(c, out_rows - y < piece ? out_rows - y : piece);
            if (r < 0)
                break;
        }
        if (y % 64 == 0 && (r = check_time(c)) < 0)
            break;
        scaler_row(&s, y, line);
        memset(bits, 0, sizeof(bits));
        for (uint32_t x = 0; x < CONV_FAX_WIDTH; x++) {
            float v = line[x];
            bool black;
            if (dither) {
                /* Floyd-Steinberg, left to right: 7/16 right, 3/16, 5/16, 1/16 below. */
                v += e_cur[x + 1];
                black = v < 128;
                float e = v - (black ? 0 : 255);
                e_cur[x + 2] += e * 7 / 16;
                e_next[x] += e * 3 / 16;
                e_next[x + 1] += e * 5 / 16;
                e_next[x + 2] += e * 1 / 16;
            } else {
                black = v < 128;
            }
            if (black)
                bits[x / 8] |= (uint8_t)(0x80 >> (x % 8));
        }
        if (dither) {
            float *t = e_cur;
            e_cur = e_next;
            e_next = t;
            memset(e_next, 0, (CONV_FAX_WIDTH + 2) * sizeof(*e_next));
        }
        if (TIFFWriteScanline(c->out, bits, in_piece, 0) < 0) {
            r = fail(c, -EIO, "writing page %d: %s", c->pages + 1, c->out_msg);
            break;
        }
        if (in_piece == piece - 1 || y == out_rows - 1)
            r = page_end(c);
    }
    scaler_release(&s);
    free(line);
    free(err);
    return r;
}

/* The aspect of a source pixel from its resolution tags: square when absent or absurd, and a
 * T.4 width without tags is a fax at 204 x 196 (TIFF-F requires them, some writers forget). */
static void
image_dpi(struct grey *g, double xres, double yres)
{
    if (isfinite(xres) && isfinite(yres) && xres > 0 && yres > 0 && xres / yres < 16 &&
        yres / xres < 16) {
        g->xdpi = xres;
        g->ydpi = yres;
    } else if (g->w == 1728 || g->w == 2048 || g->w == 2432) {
        g->xdpi = FAX_XRES;
        g->ydpi = 196;
    } else {
        g->xdpi = g->ydpi = 1;
    }
}

static uint8_t
luma(unsigned r, unsigned gr, unsigned b)
{
    return (uint8_t)((r * 77 + gr * 150 + b * 29) >> 8);
}

static int
check_pixels(struct conv *c, int page, uint64_t w, uint64_t h)
{
    if (w == 0 || h == 0)
        return fail(c, -EINVAL, "page %d is empty (%llux%llu)", page, (unsigned long long)w,
                    (unsigned long long)h);
    if (w * h > c->max_pixels)
        return fail(c, -EFBIG, "page %d is %llux%llu pixels, over the limit of %llu", page,
                    (unsigned long long)w, (unsigned long long)h,
                    (unsigned long long)c->max_pixels);
    return 0;
}

/* ---- TIFF ---- */

static int
tiff_page(struct conv *c, TIFF *tif, struct tiff_err *te, int page)
{
    uint32_t w = 0, h = 0;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
        return fail(c, -EINVAL, "page %d: no ImageWidth or ImageLength", page);
    int r = check_pixels(c, page, w, h);
    if (r < 0)
        return r;
    char emsg[1024] = "";
    if (!TIFFRGBAImageOK(tif, emsg))
        return fail(c, -EINVAL, "page %d: %s", page, emsg);
    /* RGBA, then grey in place (byte i of the grey image is written after word i is read). */
    uint32_t *raster = malloc((size_t)w * h * sizeof(*raster));
    if (!raster)
        return fail(c, -ENOMEM, "page %d: out of memory for %ux%u pixels", page, w, h);
    te->has_msg = false;
    te->warning[0] = '\0';
    if (!TIFFReadRGBAImageOriented(tif, w, h, raster, ORIENTATION_TOPLEFT, 1)) {
        free(raster);
        return fail(c, -EINVAL, "page %d: cannot decode: %s", page,
                    te->has_msg      ? te->msg
                    : te->warning[0] ? te->warning
                                     : "bad image data");
    }
    uint8_t *px = (uint8_t *)raster;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint32_t p = raster[i];
        /* libtiff gives premultiplied alpha: composite over white. */
        unsigned v = luma(TIFFGetR(p), TIFFGetG(p), TIFFGetB(p)) + 255 - TIFFGetA(p);
        px[i] = (uint8_t)(v > 255 ? 255 : v);
    }
    struct grey g = {.w = w, .h = h, .px = px};
    float xres = 0, yres = 0;
    if (!TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) ||
        !TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres))
        xres = yres = 0;
    image_dpi(&g, xres, yres);
    r = emit_grey(c, &g, FIT_WIDTH, page);
    free(raster);
    return r;
}

static int
read_tiff(struct conv *c, int fd)
{
    char msg[200] = "";
    struct tiff_err te = {.msg = msg, .len = sizeof(msg)};
    int tfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (tfd < 0)
        return fail(c, -errno, "%s", strerror(errno));
    /* "m": no mmap, so a file truncated under us is a read error, not SIGBUS. */
    TIFF *tif = open_tiff_fd(tfd, c->input, "rm", &te);
    if (!tif) {
        close(tfd);
        return fail(c, -EINVAL, "not a readable TIFF: %s", te.has_msg ? msg : "bad header");
    }
    int r = 0;
    for (int page = 1;; page++) {
        if ((r = check_time(c)) < 0)
            break;
        uint32_t subfile = 0;
        /* Reduced-resolution copies (thumbnails) are not pages. */
        if (!TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile) || !(subfile & FILETYPE_REDUCEDIMAGE))
            r = tiff_page(c, tif, &te, page);
        if (r < 0 || TIFFLastDirectory(tif))
            break;
        /* libtiff cuts IFD loops with an error: such a file is refused, not guessed at. */
        te.has_msg = false;
        te.warning[0] = '\0';
        if (!TIFFReadDirectory(tif)) {
            r = fail(c, -EINVAL, "page %d: cannot read its directory (%s)", page + 1,
                     te.has_msg      ? msg
                     : te.warning[0] ? te.warning
                                     : "a loop or a bad offset");
            break;
        }
    }
    TIFFClose(tif);
    return r;
}

/* ---- PNG ---- */

struct png_ctx {
    jmp_buf jb;
    char msg[200];
};

static void
on_png_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *pc = png_get_error_ptr(png);
    (void)snprintf(pc->msg, sizeof(pc->msg), "%s", msg);
    longjmp(pc->jb, 1);
}

static void
on_png_warning(png_structp png, png_const_charp msg)
{
}

static int
read_png(struct conv *c, FILE *f)
{
    struct png_ctx pc = {.msg = ""};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &pc, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fail(c, -ENOMEM, "out of memory");
    }
    uint8_t *volatile rgba = NULL;
    png_bytep *volatile rows = NULL;
    volatile int r = 0;
    if (setjmp(pc.jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rgba);
        free(rows);
        return r < 0 ? r : fail(c, -EINVAL, "broken PNG: %s", pc.msg);
    }
    png_init_io(png, f);
    png_set_chunk_malloc_max(png, 8 << 20);
    png_read_info(png, info);
    uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((r = check_pixels(c, 1, w, h)) < 0)
        png_error(png, "limit");
    /* Everything as 8-bit RGBA (an alpha of 255 added when there is none). */
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
    png_set_filler(png, 0xff, PNG_FILLER_AFTER);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4)
        png_error(png, "unexpected row size");
    rgba = malloc((size_t)w * h * 4);
    rows = malloc(h * sizeof(*rows));
    if (!rgba || !rows) {
        r = fail(c, -ENOMEM, "out of memory for %ux%u pixels", w, h);
        png_error(png, "oom");
    }
    for (uint32_t y = 0; y < h; y++)
        rows[y] = rgba + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_uint_32 xres = 0, yres = 0;
    int unit = 0;
    if (!png_get_pHYs(png, info, &xres, &yres, &unit))
        xres = yres = 0;
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    uint8_t *px = rgba;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = rgba + i * 4;
        /* Straight alpha: composite over white. */
        unsigned a = p[3], v = luma(p[0], p[1], p[2]);
        px[i] = (uint8_t)((v * a + 255 * (255 - a)) / 255);
    }
    struct grey g = {.w = w, .h = h, .px = px};
    image_dpi(&g, xres, yres);
    int er = emit_grey(c, &g, FIT_WIDTH, 1);
    free(rgba);
    return er;
}

/* ---- JPEG ---- */

struct jpeg_ctx {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    struct conv *c;
    int r; /* set when we abort (limits, time) rather than libjpeg */
};

static void
on_jpeg_error(j_common_ptr cinfo)
{
    struct jpeg_ctx *jc = (struct jpeg_ctx *)cinfo->err;
    longjmp(jc->jb, 1);
}

static void
on_jpeg_message(j_common_ptr cinfo, int level)
{
}

/* A progressive JPEG can carry thousands of scans, each a pass over the whole image. */
static void
on_jpeg_progress(j_common_ptr cinfo)
{
    struct jpeg_ctx *jc = (struct jpeg_ctx *)cinfo->err;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > 1000)
        jc->r = fail(jc->c, -EINVAL, "broken JPEG: more than 1000 scans");
    else if (remaining_ms(jc->c) <= 0)
        jc->r = check_time(jc->c);
    if (jc->r < 0)
        longjmp(jc->jb, 1);
}

static int
read_jpeg(struct conv *c, FILE *f)
{
    struct jpeg_decompress_struct d;
    struct jpeg_ctx jc = {.c = c};
    d.err = jpeg_std_error(&jc.pub);
    jc.pub.error_exit = on_jpeg_error;
    jc.pub.emit_message = on_jpeg_message;
    jc.progress.progress_monitor = on_jpeg_progress;
    uint8_t *volatile px = NULL;
    uint8_t *volatile row = NULL;
    if (setjmp(jc.jb)) {
        char msg[JMSG_LENGTH_MAX] = "";
        if (!jc.r)
            jc.pub.format_message((j_common_ptr)&d, msg);
        jpeg_destroy_decompress(&d);
        free(px);
        free(row);
        return jc.r < 0 ? jc.r : fail(c, -EINVAL, "broken JPEG: %s", msg);
    }
    jpeg_create_decompress(&d);
    d.progress = &jc.progress;
    d.mem->max_memory_to_use = 512L << 20;
    jpeg_stdio_src(&d, f);
    (void)jpeg_read_header(&d, TRUE);
    uint32_t w = d.image_width, h = d.image_height;
    if ((jc.r = check_pixels(c, 1, w, h)) < 0)
        longjmp(jc.jb, 1);
    /* libjpeg converts YCbCr and RGB to grey itself, not CMYK. */
    bool cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
    d.out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
    (void)jpeg_start_decompress(&d);
    px = malloc((size_t)w * h);
    row = malloc((size_t)w * 4);
    if (!px || !row) {
        jc.r = fail(c, -ENOMEM, "out of memory for %ux%u pixels", w, h);
        longjmp(jc.jb, 1);
    }
    while (d.output_scanline < h) {
        uint8_t *dst = px + (size_t)d.output_scanline * w;
        JSAMPROW rp = cmyk ? row : dst;
        if (jpeg_read_scanlines(&d, &rp, 1) != 1)
            break;
        if (!cmyk)
            continue;
        /* Adobe's CMYK JPEGs store the inks inverted (255 = none). */
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = row + x * 4;
            unsigned k = d.saw_Adobe_marker ? p[3] : 255u - p[3];
            unsigned cc = d.saw_Adobe_marker ? p[0] : 255u - p[0];
            unsigned m = d.saw_Adobe_marker ? p[1] : 255u - p[1];
            unsigned yy = d.saw_Adobe_marker ? p[2] : 255u - p[2];
            dst[x] = luma(cc * k / 255, m * k / 255, yy * k / 255);
        }
    }
    struct grey g = {.w = w, .h = h, .px = px};
    double xres = 0, yres = 0;
    if (d.X_density && d.Y_density) {
        xres = d.X_density;
        yres = d.Y_density;
    }
    image_dpi(&g, xres, yres);
    bool whole = d.output_scanline == h;
    jpeg_destroy_decompress(&d);
    free(row);
    int r = whole ? emit_grey(c, &g, FIT_WIDTH, 1) : fail(c, -EINVAL, "broken JPEG: truncated");
    free(px);
    return r;
}

/* ---- Renderers: a subprocess writing a PNM stream (P4 or P5 pages back to back) ---- */

struct pnm_rx {
    char hdr[256];
    size_t hlen;
    bool in_raster;
    int kind; /* 4 = P4 (bitmap, 1 = black), 5 = P5 (grey) */
    uint32_t w, h, maxval;
    uint8_t *raster;
    size_t cap, need, have;
    double xdpi, ydpi; /* of the rendered pages */
    int page;          /* pages received */
};

static bool
pnm_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Parse "P4 w h" or "P5 w h maxval" and the single whitespace after it. Returns 1 when
 * complete, 0 when more bytes are needed, -1 when this is not a PNM header we take. */
static int
pnm_parse_header(struct pnm_rx *rx)
{
    const char *p = rx->hdr, *end = rx->hdr + rx->hlen;
    if (rx->hlen >= 1 && p[0] != 'P')
        return -1;
    if (rx->hlen < 2)
        return 0;
    if (p[1] != '4' && p[1] != '5')
        return -1;
    rx->kind = p[1] - '0';
    uint32_t v[3] = {0, 0, 255};
    int nfields = rx->kind == 4 ? 2 : 3;
    p += 2;
    for (int i = 0; i < nfields; i++) {
        for (;;) {
            if (p == end)
                return 0;
            if (*p == '#') {
                while (p < end && *p != '\n' && *p != '\r')
                    p++;
            } else if (pnm_space(*p)) {
                p++;
            } else {
                break;
            }
        }
        uint64_t n = 0;
        int digits = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
            if ((n = n * 10 + (uint64_t)(*p - '0')) > UINT32_MAX)
                return -1;
        if (p == end)
            return 0;
        if (!digits || n == 0)
            return -1;
        v[i] = (uint32_t)n;
    }
    if (p == end)
        return 0;
    if (!pnm_space(*p))
        return -1;
    rx->w = v[0];
    rx->h = v[1];
    rx->maxval = v[2];
    return rx->maxval <= 255 ? 1 : -1;
}

static int
pnm_emit(struct conv *c, struct pnm_rx *rx)
{
    struct grey g = {.w = rx->w, .h = rx->h, .xdpi = rx->xdpi, .ydpi = rx->ydpi};
    if (rx->kind == 5 && rx->maxval == 255) {
        g.px = rx->raster;
        return emit_grey(c, &g, FIT_BOX, rx->page);
    }
    g.px = malloc((size_t)rx->w * rx->h);
    if (!g.px)
        return fail(c, -ENOMEM, "out of memory");
    size_t stride = (rx->w + 7) / 8;
    for (uint32_t y = 0; y < rx->h; y++)
        for (uint32_t x = 0; x < rx->w; x++) {
            size_t i = (size_t)y * rx->w + x;
            if (rx->kind == 4)
                g.px[i] = (rx->raster[y * stride + x / 8] & (0x80 >> (x % 8))) ? 0 : 255;
            else
                g.px[i] = (uint8_t)(rx->raster[i] * 255u / rx->maxval);
        }
    int r = emit_grey(c, &g, FIT_BOX, rx->page);
    free(g.px);
    return r;
}

static int
pnm_feed(struct conv *c, struct pnm_rx *rx, const uint8_t *buf, size_t len)
{
    while (len) {
        if (!rx->in_raster) {
            if (rx->hlen == sizeof(rx->hdr))
                return fail(c, -EINVAL, "renderer output: PNM header too long");
            rx->hdr[rx->hlen++] = (char)*buf++;
            len--;
            int p = pnm_parse_header(rx);
            if (p < 0)
                return fail(c, -EINVAL, "renderer output is not PNM");
            if (p == 0)
                continue;
            rx->page++;
            int r = check_pixels(c, rx->page, rx->w, rx->h);
            if (r < 0)
                return r;
            if (c->pages >= c->max_pages)
                return fail(c, -EFBIG, "more than %d pages (the page limit)", c->max_pages);
            rx->need = rx->kind == 4 ? (size_t)((rx->w + 7) / 8) * rx->h : (size_t)rx->w * rx->h;
            if (rx->need > rx->cap) {
                uint8_t *p2 = realloc(rx->raster, rx->need);
                if (!p2)
                    return fail(c, -ENOMEM, "out of memory");
                rx->raster = p2;
                rx->cap = rx->need;
            }
            rx->in_raster = true;
            rx->have = 0;
            rx->hlen = 0;
            continue;
        }
        size_t n = rx->need - rx->have < len ? rx->need - rx->have : len;
        memcpy(rx->raster + rx->have, buf, n);
        rx->have += n;
        buf += n;
        len -= n;
        if (rx->have == rx->need) {
            rx->in_raster = false;
            int r = pnm_emit(c, rx);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* fd moved to a number >= 10 (close-on-exec), so the child's dup2 onto 0..3 never clobbers
 * a source. Returns the new fd or -1. */
static int
high_fd(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return h;
}

/* The first line of the renderer's stderr naming an error, else its last line. */
static void
pick_stderr_line(const char *text, char *out, size_t outlen)
{
    const char *best = NULL, *last = NULL;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        if (n) {
            last = l;
            if (!best && memmem(l, n, "rror", 4))
                best = l;
        }
        l += n + (l[n] == '\n');
    }
    const char *l = best ? best : last;
    (void)snprintf(out, outlen, "%.*s", l ? (int)strcspn(l, "\n") : 0, l ? l : "");
}

/* Wait for pid: up to the deadline without blocking (WNOHANG, short naps), then SIGKILL to
 * its process group and reap it. Returns the wait status, or -ETIMEDOUT after a kill. */
static int
reap_child(struct conv *c, pid_t pid, bool kill_now)
{
    int st = 0;
    long nap_us = 1000;
    while (!kill_now) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return st;
        if (w < 0 && errno != EINTR)
            return 0;
        if (remaining_ms(c) <= 0)
            break;
        struct timespec ts = {.tv_nsec = nap_us * 1000};
        (void)nanosleep(&ts, NULL);
        nap_us = nap_us < 50000 ? nap_us * 2 : nap_us;
    }
    (void)kill(-pid, SIGKILL);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return -ETIMEDOUT;
}

/* Run argv (argv[0] looked up in PATH) with stdin /dev/null, in_fd as fd 3, stdout read as a
 * PNM stream into pages, stderr kept for the message. Returns 0, -ENOENT if the program is
 * missing, or -errno with the message set. */
static int
run_renderer(struct conv *c, char *const argv[], int in_fd, double xdpi, double ydpi)
{
    int outp[2], errp[2];
    if (pipe2(outp, O_CLOEXEC) < 0)
        return fail(c, -errno, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        close(outp[0]);
        close(outp[1]);
        return fail(c, -e, "pipe: %s", strerror(e));
    }
    int child_in = fcntl(in_fd, F_DUPFD_CLOEXEC, 10);
    int child_out = high_fd(outp[1]), child_err = high_fd(errp[1]);
    int out_fd = outp[0], err_fd = errp[0];

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, deflt;
    (void)sigemptyset(&none);
    (void)sigemptyset(&deflt);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        (void)sigaddset(&deflt, sigs[i]);
    (void)posix_spawn_file_actions_init(&fa);
    (void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    (void)posix_spawn_file_actions_adddup2(&fa, child_out, 1);
    (void)posix_spawn_file_actions_adddup2(&fa, child_err, 2);
    (void)posix_spawn_file_actions_adddup2(&fa, child_in, 3);
    (void)posix_spawnattr_init(&attr);
    /* Its own process group, so a kill reaches anything it started. */
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    (void)posix_spawnattr_setpgroup(&attr, 0);
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setsigdefault(&attr, &deflt);
    /* A fixed environment: nothing of ours (GS_OPTIONS, say) changes how it runs. */
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", NULL};
    pid_t pid;
    int sr = child_in < 0 || child_out < 0 || child_err < 0
                 ? EMFILE
                 : posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    (void)posix_spawn_file_actions_destroy(&fa);
    (void)posix_spawnattr_destroy(&attr);
    if (child_in >= 0)
        close(child_in);
    if (child_out >= 0)
        close(child_out);
    if (child_err >= 0)
        close(child_err);
    if (sr != 0) {
        close(out_fd);
        close(err_fd);
        if (sr == ENOENT)
            return -ENOENT;
        return fail(c, -sr, "cannot run %s: %s", argv[0], strerror(sr));
    }
    struct rlimit as = {.rlim_cur = CHILD_MAX_AS, .rlim_max = CHILD_MAX_AS};
    struct rlimit nocore = {0};
    (void)prlimit(pid, RLIMIT_AS, &as, NULL);
    (void)prlimit(pid, RLIMIT_CORE, &nocore, NULL);

    struct pnm_rx rx = {.xdpi = xdpi, .ydpi = ydpi};
    char errtext[2048];
    size_t errlen = 0;
    uint8_t *buf = malloc(65536);
    int r = buf ? 0 : fail(c, -ENOMEM, "out of memory");
    while (r == 0 && (out_fd >= 0 || err_fd >= 0)) {
        int64_t ms = remaining_ms(c);
        if (ms <= 0) {
            r = check_time(c);
            break;
        }
        struct pollfd pf[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
        int pr = poll(pf, 2, ms > INT_MAX ? INT_MAX : (int)ms);
        if (pr < 0 && errno != EINTR) {
            r = fail(c, -errno, "poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0)
            continue;
        if (pf[0].revents) {
            ssize_t n = read(out_fd, buf, 65536);
            if (n > 0) {
                r = pnm_feed(c, &rx, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(out_fd);
                out_fd = -1;
            }
        }
        if (pf[1].revents) {
            if (errlen > sizeof(errtext) - 512) {
                /* Keep the start (the first error) and make room at the end. */
                errlen = sizeof(errtext) / 2;
            }
            ssize_t n = read(err_fd, errtext + errlen, sizeof(errtext) - 1 - errlen);
            if (n > 0) {
                errlen += (size_t)n;
            } else if (n == 0 || errno != EINTR) {
                close(err_fd);
                err_fd = -1;
            }
        }
    }
    errtext[errlen] = '\0';
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    free(buf);
    free(rx.raster);
    int st = reap_child(c, pid, r < 0);
    if (r < 0)
        return r;
    if (st == -ETIMEDOUT)
        return check_time(c);
    char line[200];
    pick_stderr_line(errtext, line, sizeof(line));
    if (WIFSIGNALED(st))
        return fail(c, -EINVAL, "%s killed by signal %d%s%s", argv[0], WTERMSIG(st),
                    line[0] ? ": " : "", line);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail(c, -EINVAL, "%s failed (exit %d)%s%s", argv[0], WEXITSTATUS(st),
                    line[0] ? ": " : "", line);
    if (rx.in_raster || rx.hlen)
        return fail(c, -EINVAL, "%s: output truncated", argv[0]);
    if (rx.page == 0)
        return fail(c, -EINVAL, "no pages%s%s", line[0] ? ": " : "", line);
    return 0;
}

static int
render_gs(struct conv *c, int fd)
{
    char res[32], geom[32], last[32];
    (void)snprintf(res, sizeof(res), "-r%dx%d", FAX_XRES, c->yres);
    (void)snprintf(geom, sizeof(geom), "-g%dx%u", CONV_FAX_WIDTH, rows_for_mm(A4_MM, c->yres));
    /* One page past the limit, so that going over is seen (pnm_feed refuses it). */
    (void)snprintf(last, sizeof(last), "-dLastPage=%d", c->max_pages - c->pages + 1);
    /* pbmraw at the fax resolution on a fixed A4 page 1728 pixels wide: FitPage scales each
     * page (aspect kept, centred) into it, so pages arrive at their final geometry. stdout
     * carries only the image (-sstdout: a PostScript `print` goes to stderr). */
    char *argv[] = {"gs",
                    "-q",
                    "-dSAFER",
                    "-dBATCH",
                    "-dNOPAUSE",
                    "-dNOPROMPT",
                    "-sstdout=%stderr",
                    "-sDEVICE=pbmraw",
                    res,
                    geom,
                    "-dFIXEDMEDIA",
                    "-dFitPage",
                    last,
                    "-sOutputFile=-",
                    "-f",
                    "/dev/fd/3",
                    NULL};
    return run_renderer(c, argv, fd, FAX_XRES, c->yres);
}

static int
render_mupdf(struct conv *c, int fd)
{
    /* mutool draw has one (square) resolution: 204 dpi, or 391 for superfine, each page
     * fitted into A4 1728 pixels wide at that resolution, in grey; emit_grey resamples the
     * other axis and makes it bilevel. */
    int dpi = c->yres > FAX_XRES ? c->yres : FAX_XRES;
    char res[16], width[16], height[16], pages[32];
    (void)snprintf(res, sizeof(res), "%d", dpi);
    (void)snprintf(width, sizeof(width), "%ld", lround((double)CONV_FAX_WIDTH * dpi / FAX_XRES));
    (void)snprintf(height, sizeof(height), "%u", rows_for_mm(A4_MM, dpi));
    (void)snprintf(pages, sizeof(pages), "1-%d", c->max_pages - c->pages + 1);
    char *argv[] = {"mutool", "draw", "-q", "-r",  res,  "-c", "gray",      "-w",  width,
                    "-h",     height, "-F", "pgm", "-o", "-",  "/dev/fd/3", pages, NULL};
    return run_renderer(c, argv, fd, dpi, dpi);
}

/* Render the PDF (or PostScript, is_ps) open at fd. */
static int
render(struct conv *c, int fd, bool is_ps)
{
    if (is_ps) {
        int r = render_gs(c, fd);
        return r == -ENOENT ? fail(c, r, "gs not found (install ghostscript)") : r;
    }
    /* AUTO is ghostscript first: 2 to 3.5 times MuPDF's pages/s on scanned PDFs and as fast
     * or faster on text (bench/README.md, "Document intake"). */
    bool gs_first = c->renderer != CONV_RENDERER_MUPDF;
    int r = gs_first ? render_gs(c, fd) : render_mupdf(c, fd);
    if (r == -ENOENT && c->renderer == CONV_RENDERER_AUTO)
        r = gs_first ? render_mupdf(c, fd) : render_gs(c, fd);
    if (r == -ENOENT)
        return fail(c, r, "no PDF renderer found (install mupdf-tools or ghostscript)");
    return r;
}

/* ---- Plain text, laid out as a PDF ---- */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Decode one UTF-8 sequence at s (n bytes left): the code point, or -1 if malformed
 * (overlong, surrogate, past U+10FFFF, truncated). *ret_len gets its length. */
static long
utf8_next(const uint8_t *s, size_t n, size_t *ret_len)
{
    uint8_t b = s[0];
    size_t len = b < 0x80             ? 1
                 : (b & 0xe0) == 0xc0 ? 2
                 : (b & 0xf0) == 0xe0 ? 3
                 : (b & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (!len || len > n)
        return -1;
    long cp = len == 1 ? b : len == 2 ? b & 0x1f : len == 3 ? b & 0x0f : b & 0x07;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *ret_len = len;
    return cp;
}

/* Text is valid UTF-8 without control characters other than tab, newline, vertical tab,
 * form feed and carriage return (and an optional BOM). */
static bool
is_text(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len;
        long cp = utf8_next(s + i, n - i, &len);
        if (cp <= 0 || (cp < 0x20 && !strchr("\t\n\v\f\r", (int)cp)) || cp == 0x7f)
            return false;
        i += len;
    }
    return true;
}

/* The WinAnsiEncoding byte of a code point (Latin-1 plus the common punctuation of
 * 0x80..0x9f), or '?'. */
static uint8_t
winansi(long cp)
{
    static const struct {
        uint16_t cp;
        uint8_t b;
    } extra[] = {{0x20ac, 0x80}, {0x201a, 0x82}, {0x201e, 0x84}, {0x2026, 0x85}, {0x2018, 0x91},
                 {0x2019, 0x92}, {0x201c, 0x93}, {0x201d, 0x94}, {0x2022, 0x95}, {0x2013, 0x96},
                 {0x2014, 0x97}, {0x2122, 0x99}, {0x0152, 0x8c}, {0x0153, 0x9c}, {0x0160, 0x8a},
                 {0x0161, 0x9a}, {0x017d, 0x8e}, {0x017e, 0x9e}, {0x0178, 0x9f}};
    if ((cp >= 0x20 && cp < 0x7f) || (cp >= 0xa0 && cp <= 0xff))
        return (uint8_t)cp;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i].cp == cp)
            return extra[i].b;
    return '?';
}

struct text_pdf {
    struct buf pdf, page; /* the file, and the current page's content stream */
    size_t *offs;         /* byte offset of each object, by number */
    size_t nobj, cap_obj;
    int npages, lines; /* pages finished, lines on the current page */
    char line[TEXT_COLS];
    int col;
};

static int
pdf_obj_begin(struct text_pdf *t, size_t num)
{
    if (num >= t->cap_obj) {
        size_t cap = t->cap_obj ? t->cap_obj * 2 : 64;
        while (cap <= num)
            cap *= 2;
        size_t *p = realloc(t->offs, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        t->offs = p;
        t->cap_obj = cap;
    }
    t->offs[num] = t->pdf.len;
    if (num >= t->nobj)
        t->nobj = num + 1;
    buf_printf(&t->pdf, "%zu 0 obj\n", num);
    return 0;
}

static void
text_end_line(struct text_pdf *t)
{
    if (t->lines == 0)
        buf_printf(&t->page, "BT /F1 10 Tf %.1f TL %.1f %.1f Td\n", TEXT_LEADING, TEXT_LEFT,
                   TEXT_TOP + TEXT_LEADING);
    buf_add(&t->page, "(", 1);
    for (int i = 0; i < t->col; i++) {
        uint8_t ch = (uint8_t)t->line[i];
        char esc[8];
        if (ch == '(' || ch == ')' || ch == '\\')
            buf_printf(&t->page, "\\%c", ch);
        else if (ch >= 0x80)
            buf_add(&t->page, esc, (size_t)snprintf(esc, sizeof(esc), "\\%03o", ch));
        else
            buf_add(&t->page, (const char *)&ch, 1);
    }
    buf_add(&t->page, ") '\n", 4);
    t->col = 0;
    t->lines++;
}

/* Finish the current page: its content stream (object 4 + 2k) and page object (5 + 2k). */
static int
text_end_page(struct text_pdf *t)
{
    if (t->lines)
        buf_add(&t->page, "ET\n", 3);
    size_t num = 4 + 2 * (size_t)t->npages;
    if (pdf_obj_begin(t, num) < 0)
        return -ENOMEM;
    buf_printf(&t->pdf, "<< /Length %zu >>\nstream\n", t->page.len);
    buf_add(&t->pdf, t->page.p ? t->page.p : "", t->page.len);
    buf_add(&t->pdf, "\nendstream\nendobj\n", 18);
    if (pdf_obj_begin(t, num + 1) < 0)
        return -ENOMEM;
    buf_printf(&t->pdf,
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %zu 0 R "
               "/Resources << /Font << /F1 3 0 R >> >> >>\nendobj\n",
               num);
    t->page.len = 0;
    t->lines = 0;
    t->npages++;
    return 0;
}

/* Lay text out (see convert.h) as a PDF in *ret (malloc'd, the caller frees it). */
static int
text_to_pdf(struct conv *c, const uint8_t *s, size_t n, struct buf *ret)
{
    struct text_pdf t = {.col = 0};
    int r = 0;
    int max = c->max_pages - c->pages;
    buf_add(&t.pdf, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15);
    (void)pdf_obj_begin(&t, 1);
    buf_printf(&t.pdf, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    if (pdf_obj_begin(&t, 3) < 0)
        r = -ENOMEM;
    buf_printf(&t.pdf, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                       "/Encoding /WinAnsiEncoding >>\nendobj\n");
    size_t i = 0;
    if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && r == 0) {
        size_t len;
        long cp = utf8_next(s + i, n - i, &len);
        if (cp < 0) {
            cp = '?'; /* not reached: is_text() passed it */
            len = 1;
        }
        i += len;
        if (cp == '\r' && i < n && s[i] == '\n')
            continue;
        if (cp == '\f') {
            /* A new page, unless we are at the top of one already. */
            if (t.col)
                text_end_line(&t);
            if (t.lines)
                r = text_end_page(&t);
        } else if (cp == '\n' || cp == '\r' || cp == '\v') {
            text_end_line(&t);
            if (t.lines == TEXT_LINES)
                r = text_end_page(&t);
        } else {
            int spaces = cp == '\t' ? 8 - t.col % 8 : 1;
            for (int k = 0; k < spaces && r == 0; k++) {
                if (t.col == TEXT_COLS) {
                    text_end_line(&t);
                    if (t.lines == TEXT_LINES)
                        r = text_end_page(&t);
                }
                t.line[t.col++] = (char)(cp == '\t' ? ' ' : winansi(cp));
            }
        }
        if (r == 0 && t.npages > max)
            r = fail(c, -EFBIG, "more than %d pages (the page limit)", c->max_pages);
    }
    if (r == 0 && t.col)
        text_end_line(&t);
    if (r == 0 && (t.lines || t.npages == 0))
        r = text_end_page(&t);
    if (r == 0 && t.npages > max)
        r = fail(c, -EFBIG, "more than %d pages (the page limit)", c->max_pages);
    if (r == 0 && pdf_obj_begin(&t, 2) < 0)
        r = -ENOMEM;
    if (r == 0) {
        buf_printf(&t.pdf, "<< /Type /Pages /Count %d /Kids [", t.npages);
        for (int k = 0; k < t.npages; k++)
            buf_printf(&t.pdf, " %d 0 R", 5 + 2 * k);
        buf_printf(&t.pdf, " ] >>\nendobj\n");
        size_t xref = t.pdf.len;
        buf_printf(&t.pdf, "xref\n0 %zu\n0000000000 65535 f \n", t.nobj);
        for (size_t k = 1; k < t.nobj; k++)
            buf_printf(&t.pdf, "%010zu 00000 n \n", t.offs[k]);
        buf_printf(&t.pdf, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
                   t.nobj, xref);
    }
    if (r == 0 && (t.pdf.oom || t.page.oom))
        r = -ENOMEM;
    free(t.page.p);
    free(t.offs);
    if (r < 0) {
        free(t.pdf.p);
        return r == -ENOMEM ? fail(c, r, "out of memory") : r;
    }
    *ret = t.pdf;
    return 0;
}

static int
convert_text(struct conv *c, const uint8_t *s, size_t n)
{
    struct buf pdf = {0};
    int r = text_to_pdf(c, s, n, &pdf);
    if (r < 0)
        return r;
    /* The PDF goes to the renderer as a memfd: no temp file to clean up. */
    int fd = memfd_create("inkless-text.pdf", MFD_CLOEXEC);
    if (fd < 0)
        r = fail(c, -errno, "memfd_create: %s", strerror(errno));
    for (size_t off = 0; r == 0 && off < pdf.len;) {
        ssize_t w = write(fd, pdf.p + off, pdf.len - off);
        if (w < 0 && errno != EINTR)
            r = fail(c, -errno, "writing the text PDF: %s", strerror(errno));
        off += w > 0 ? (size_t)w : 0;
    }
    free(pdf.p);
    if (r == 0)
        r = render(c, fd, false);
    if (fd >= 0)
        close(fd);
    return r;
}

/* ---- Detection and the driver ---- */

static enum doc_type
detect(const uint8_t *h, size_t n)
{
    if (n >= 4 && (!memcmp(h, "II*\0", 4) || !memcmp(h, "MM\0*", 4) || !memcmp(h, "II+\0", 4) ||
                   !memcmp(h, "MM\0+", 4)))
        return DOC_TIFF;
    if (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8))
        return DOC_PNG;
    if (n >= 3 && !memcmp(h, "\xff\xd8\xff", 3))
        return DOC_JPEG;
    if (n >= 5 && !memcmp(h, "%PDF-", 5))
        return DOC_PDF;
    /* PostScript, also behind a printer driver's ^D, and DOS EPS binary. */
    if ((n >= 2 && !memcmp(h, "%!", 2)) || (n >= 3 && !memcmp(h, "\x04%!", 3)) ||
        (n >= 4 && !memcmp(h, "\xc5\xd0\xd3\xc6", 4)))
        return DOC_PS;
    return DOC_UNKNOWN;
}

static int
read_all(struct conv *c, int fd, size_t size, uint8_t **ret)
{
    uint8_t *s = malloc(size ? size : 1);
    if (!s)
        return fail(c, -ENOMEM, "out of memory");
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, s + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(s);
            return fail(c, -e, "read: %s", n < 0 ? strerror(e) : "file shrank");
        }
        got += (size_t)n;
    }
    *ret = s;
    return 0;
}

static int
convert_stdio(struct conv *c, int fd, enum doc_type type)
{
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    FILE *f = dfd >= 0 ? fdopen(dfd, "rb") : NULL;
    if (!f) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return fail(c, -e, "%s", strerror(e));
    }
    int r = type == DOC_PNG ? read_png(c, f) : read_jpeg(c, f);
    fclose(f);
    return r;
}

static int
convert_one(struct conv *c, const char *path, uint64_t *budget)
{
    /* O_NONBLOCK: a FIFO must fail the regular-file check, not block the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return fail(c, -errno, "%s", strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = fail(c, -errno, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = fail(c, -EINVAL, "not a regular file");
    else if (st.st_size == 0)
        r = fail(c, -EINVAL, "empty file");
    else if ((uint64_t)st.st_size > *budget)
        r = fail(c, -EFBIG, "the inputs are over the size limit");
    if (r < 0) {
        close(fd);
        return r;
    }
    *budget -= (uint64_t)st.st_size;
    uint8_t head[16];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    enum doc_type type = detect(head, n > 0 ? (size_t)n : 0);
    switch (type) {
    case DOC_TIFF:
        r = read_tiff(c, fd);
        break;
    case DOC_PNG:
    case DOC_JPEG:
        r = convert_stdio(c, fd, type);
        break;
    case DOC_PDF:
    case DOC_PS:
        r = render(c, fd, type == DOC_PS);
        break;
    case DOC_UNKNOWN: {
        uint8_t *s = NULL;
        r = read_all(c, fd, (size_t)st.st_size, &s);
        if (r == 0)
            r = is_text(s, (size_t)st.st_size) ? convert_text(c, s, (size_t)st.st_size)
                                               : fail(c, -EINVAL, "unsupported document type");
        free(s);
        break;
    }
    }
    close(fd);
    return r;
}

static int
fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        (void)snprintf(dir, sizeof(dir), ".");
    else
        (void)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int
conv_document(const char *const *inputs, size_t ninputs, const char *out_path,
              enum conv_resolution res, const struct conv_limits *lim, char *err, size_t errlen)
{
    struct conv_limits l = lim ? *lim : (struct conv_limits){0};
    struct conv cv = {
        .max_pages = l.max_pages > 0 ? l.max_pages : CONV_DEFAULT_MAX_PAGES,
        .max_pixels = l.max_pixels_per_page ? l.max_pixels_per_page : CONV_DEFAULT_MAX_PIXELS,
        .renderer = l.renderer,
        .yres = res == CONV_RES_STANDARD    ? 98
                : res == CONV_RES_SUPERFINE ? 391
                                            : 196,
        .err = err,
        .errlen = errlen,
    };
    struct conv *c = &cv;
    if (err && errlen)
        err[0] = '\0';
    if (cv.max_pages > 65535)
        cv.max_pages = 65535; /* PageNumber is 16 bits */
    uint64_t budget = l.max_input_bytes ? l.max_input_bytes : CONV_DEFAULT_MAX_INPUT_BYTES;
    (void)clock_gettime(CLOCK_MONOTONIC, &cv.deadline);
    cv.deadline.tv_sec += l.timeout_s > 0 ? l.timeout_s : CONV_DEFAULT_TIMEOUT_S;
    if (!inputs || ninputs == 0 || !out_path)
        return fail(c, -EINVAL, "no input");
    if ((unsigned)res > CONV_RES_SUPERFINE || (unsigned)l.renderer > CONV_RENDERER_MUPDF)
        return fail(c, -EINVAL, "bad resolution or renderer");

    /* The size limit covers all inputs together; refuse before converting any of them. */
    uint64_t total = 0;
    for (size_t i = 0; i < ninputs; i++) {
        struct stat st;
        cv.input = inputs[i];
        if (stat(inputs[i], &st) < 0)
            return fail(c, -errno, "%s", strerror(errno));
        total += S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    }
    cv.input = NULL;
    if (total > budget)
        return fail(c, -EFBIG, "inputs are %llu bytes, over the limit of %llu",
                    (unsigned long long)total, (unsigned long long)budget);

    size_t plen = strlen(out_path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return fail(c, -ENOMEM, "out of memory");
    memcpy(tmp, out_path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail(c, -e, "%s.tmp: %s", out_path, strerror(e));
    }
    struct tiff_err te = {.msg = cv.out_msg, .len = sizeof(cv.out_msg)};
    cv.out = open_tiff_fd(fd, tmp, "wl", &te);
    int r = 0;
    if (!cv.out) {
        close(fd);
        r = fail(c, -EIO, "%s: %s", tmp, cv.out_msg);
    }
    for (size_t i = 0; r == 0 && i < ninputs; i++) {
        cv.input = inputs[i];
        r = convert_one(c, inputs[i], &budget);
    }
    cv.input = NULL;
    if (r == 0 && !TIFFFlush(cv.out))
        r = fail(c, -EIO, "%s: %s", tmp, cv.out_msg);
    if (r == 0 && fsync(TIFFFileno(cv.out)) < 0)
        r = fail(c, -errno, "fsync %s: %s", tmp, strerror(errno));
    if (cv.out)
        TIFFClose(cv.out);
    if (r == 0 && rename(tmp, out_path) < 0)
        r = fail(c, -errno, "rename to %s: %s", out_path, strerror(errno));
    if (r == 0) {
        int dr = fsync_dir_of(out_path);
        if (dr < 0)
            r = fail(c, dr, "fsync of %s's directory: %s", out_path, strerror(-dr));
    }
    if (r < 0)
        (void)unlink(tmp);
    free(tmp);
    return r < 0 ? r : cv.pages;
}

const char *
conv_renderer_name(enum conv_renderer r)
{
    return r == CONV_RENDERER_GS ? "gs" : r == CONV_RENDERER_MUPDF ? "mutool" : "auto";
}
