/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/page.c: fax TIFF pages to bitmaps and canonical page objects. The same chart as MH,
 * MR and MMR gives the same canonical bytes; the bytes are fixed (a golden hash, so a change
 * of encoder shows up here before it splits the archive's dedup); decoding a canonical object
 * gives back the source bitmap; resolutions are normalised. */
#include "page.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "check.h"
#include "pages.h"

#define ITU TESTDATA_DIR "/tiff/itu/"
#define MAX_PAGES 32

/* Pages collected from arc_read_pages (copies: the reader's are borrowed). */
struct doc {
    int n;
    struct arc_page pg[MAX_PAGES];
};

static int
on_page(void *data, const struct arc_page *pg, int index)
{
    struct doc *d = data;
    CHECK_INT(index, d->n);
    if (d->n >= MAX_PAGES)
        return -E2BIG;
    struct arc_page *cp = &d->pg[d->n];
    if (arc_page_init(cp, pg->width, pg->rows, pg->xres, pg->yres) < 0)
        return -ENOMEM;
    CHECK_INT(pg->stride, cp->stride);
    memcpy(cp->bits, pg->bits, pg->stride * pg->rows);
    d->n++;
    return 0;
}

static void
doc_free(struct doc *d)
{
    for (int i = 0; i < d->n; i++)
        arc_page_release(&d->pg[i]);
    d->n = 0;
}

static int
load(const char *path, struct doc *d)
{
    char err[256] = "";
    d->n = 0;
    int r = arc_read_pages(path, on_page, d, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "%s: %s\n", path, err);
    return r;
}

static int
same_page(const struct arc_page *a, const struct arc_page *b)
{
    return a->width == b->width && a->rows == b->rows && a->xres == b->xres && a->yres == b->yres &&
           memcmp(a->bits, b->bits, a->stride * a->rows) == 0;
}

static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static char tmpdir[256];

/* Write buf to tmpdir/name; returns the path in a static buffer. */
static const char *
write_tmp(const char *name, const uint8_t *buf, size_t len)
{
    static char path[512];
    (void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_INT(fwrite(buf, 1, len, f), len);
        fclose(f);
    }
    return path;
}

/* The ITU set as MH, MR and MMR: 12 pages each, identical canonical bytes page for page,
 * deterministic, decoding back to the source bitmap. */
static void
test_itu_three_codings(void)
{
    static struct doc docs[3];
    static const char *const files[3] = {ITU "itutests_fine_mh.tif", ITU "itutests_fine_mr.tif",
                                         ITU "itutests_fine_mmr.tif"};
    for (int k = 0; k < 3; k++) {
        CHECK_INT(load(files[k], &docs[k]), 12);
        CHECK_INT(docs[k].n, 12);
    }
    if (docs[0].n != 12 || docs[1].n != 12 || docs[2].n != 12)
        return;

    struct page *src = NULL;
    char err[256];
    int n_src = pages_load(files[0], &src, err, sizeof(err));
    CHECK_INT(n_src, 12);

    uint64_t golden = 1469598103934665603ull;
    size_t total = 0;
    for (int i = 0; i < 12; i++) {
        CHECK_INT(docs[0].pg[i].width, 1728);
        CHECK_INT(docs[0].pg[i].xres, 204);
        CHECK_INT(docs[0].pg[i].yres, 196);
        CHECK(same_page(&docs[0].pg[i], &docs[1].pg[i]));
        CHECK(same_page(&docs[0].pg[i], &docs[2].pg[i]));

        uint8_t *c[3] = {NULL, NULL, NULL}, *again = NULL;
        size_t len[3] = {0, 0, 0}, again_len = 0;
        for (int k = 0; k < 3; k++)
            CHECK_INT(arc_canon_page(&docs[k].pg[i], &c[k], &len[k]), 0);
        CHECK_INT(arc_canon_page(&docs[0].pg[i], &again, &again_len), 0);
        if (!c[0] || !c[1] || !c[2] || !again)
            goto next;
        CHECK(len[0] == len[1] && memcmp(c[0], c[1], len[0]) == 0);
        CHECK(len[0] == len[2] && memcmp(c[0], c[2], len[0]) == 0);
        CHECK(len[0] == again_len && memcmp(c[0], again, len[0]) == 0);
        golden = fnv1a(golden, c[0], len[0]);
        total += len[0];

        /* The fields read back without decoding, and the T.6 data is where it says. */
        struct arc_canon_info ci;
        CHECK_INT(arc_parse_canon(c[0], len[0], &ci), 0);
        CHECK_INT(ci.width, 1728);
        CHECK_INT(ci.rows, docs[0].pg[i].rows);
        CHECK_INT(ci.xres, 204);
        CHECK_INT(ci.yres, 196);
        CHECK(ci.t6 == c[0] + ARC_CANON_HEADER_LEN);
        CHECK_INT(ci.t6_len, len[0] - ARC_CANON_HEADER_LEN);

        /* Decoding the canonical object gives back the page exactly (all rows). */
        struct doc back = {.n = 0};
        CHECK_INT(arc_read_pages_mem(c[0], len[0], on_page, &back, err, sizeof(err)), 1);
        if (back.n == 1)
            CHECK(same_page(&back.pg[0], &docs[0].pg[i]));
        doc_free(&back);

        /* And the independent test decoder agrees with the source file (libtiff reads the
         * canonical object as an ordinary TIFF). */
        if (n_src == 12) {
            struct page *cp = NULL;
            const char *path = write_tmp("canon.tif", c[0], len[0]);
            CHECK_INT(pages_load(path, &cp, err, sizeof(err)), 1);
            if (cp) {
                CHECK_INT(pages_compare(&cp[0], &src[i]), 0);
                CHECK_INT(cp[0].raw_rows, src[i].raw_rows);
                pages_free(cp, 1);
            }
        }
    next:
        for (int k = 0; k < 3; k++)
            free(c[k]);
        free(again);
    }
    /* Across runs and machines: these bytes are what the archive's page ids are made of. If
     * this changes, identical pages stored before and after will no longer dedupe. */
    printf("12 canonical pages: %zu bytes, fnv1a %016llx\n", total, (unsigned long long)golden);
    CHECK_INT(total, 367008);
    CHECK(golden == 0x6317090fa5db6855ull);
    if (n_src > 0)
        pages_free(src, n_src);
    for (int k = 0; k < 3; k++)
        doc_free(&docs[k]);
}

/* Standard resolution (3.85 lines/mm) reads as 204x98 and keeps it through the object. */
static void
test_standard_resolution(void)
{
    static struct doc d;
    CHECK(load(ITU "itu1-8_standard_mh.tif", &d) > 0);
    if (d.n == 0)
        return;
    CHECK_INT(d.pg[0].xres, 204);
    CHECK_INT(d.pg[0].yres, 98);
    uint8_t *c = NULL;
    size_t len = 0;
    struct arc_canon_info ci = {.xres = 0};
    CHECK_INT(arc_canon_page(&d.pg[0], &c, &len), 0);
    CHECK_INT(arc_parse_canon(c, len, &ci), 0);
    CHECK_INT(ci.yres, 98);
    free(c);
    doc_free(&d);
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* A synthetic page whose width is not a multiple of 8: runs of random length, decoded back
 * exactly; stray padding bits in the input do not change the bytes. */
static void
test_synthetic(void)
{
    struct arc_page pg;
    CHECK_INT(arc_page_init(&pg, 1001, 77, 300, 300), 0);
    if (!pg.bits)
        return;
    for (uint32_t y = 0; y < pg.rows; y++) {
        int black = 0;
        for (uint32_t x = 0; x < pg.width;) {
            uint32_t run = 1 + rng() % (y % 7 == 0 ? 3 : 200);
            for (uint32_t k = 0; k < run && x < pg.width; k++, x++)
                if (black)
                    pg.bits[y * pg.stride + x / 8] |= (uint8_t)(0x80 >> (x % 8));
            black = !black;
        }
    }
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    CHECK_INT(arc_canon_page(&pg, &a, &alen), 0);
    for (uint32_t y = 0; y < pg.rows; y++)
        pg.bits[y * pg.stride + pg.stride - 1] |= 0x7f; /* 1001 % 8 = 1: bits 1..7 are padding */
    CHECK_INT(arc_canon_page(&pg, &b, &blen), 0);
    CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
    for (uint32_t y = 0; y < pg.rows; y++)
        pg.bits[y * pg.stride + pg.stride - 1] &= 0x80;

    struct doc back = {.n = 0};
    char err[256];
    CHECK_INT(arc_read_pages_mem(a, alen, on_page, &back, err, sizeof(err)), 1);
    if (back.n == 1)
        CHECK(same_page(&back.pg[0], &pg));
    doc_free(&back);
    free(a);
    free(b);

    /* A blank page of one row is still a page. */
    arc_page_release(&pg);
    CHECK_INT(arc_page_init(&pg, 1728, 1, 204, 98), 0);
    CHECK_INT(arc_canon_page(&pg, &a, &alen), 0);
    CHECK_INT(arc_read_pages_mem(a, alen, on_page, &back, err, sizeof(err)), 1);
    if (back.n == 1)
        CHECK(same_page(&back.pg[0], &pg));
    doc_free(&back);
    free(a);
    arc_page_release(&pg);
    arc_page_release(NULL);
}

/* Pages outside the limits are refused before any encoding. */
static void
test_canon_invalid(void)
{
    struct arc_page pg;
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_INT(arc_page_init(&pg, 0, 10, 204, 196), -EINVAL);
    CHECK_INT(arc_page_init(&pg, ARC_PAGE_MAX_WIDTH + 1, 10, 204, 196), -EINVAL);
    CHECK_INT(arc_page_init(&pg, 1728, ARC_PAGE_MAX_ROWS + 1, 204, 196), -EINVAL);
    CHECK_INT(arc_page_init(&pg, 1728, 10, 0, 196), -EINVAL);
    CHECK_INT(arc_page_init(&pg, 1728, 10, 204, 196), 0);
    pg.xres = ARC_PAGE_MAX_RES + 1;
    CHECK_INT(arc_canon_page(&pg, &buf, &len), -EINVAL);
    pg.xres = 204;
    pg.stride = 1;
    CHECK_INT(arc_canon_page(&pg, &buf, &len), -EINVAL);
    arc_page_release(&pg);
    CHECK(pg.bits == NULL);
}

/* arc_parse_canon accepts only what arc_canon_page writes. */
static void
test_parse_canon_strict(void)
{
    struct arc_page pg;
    uint8_t *c = NULL;
    size_t len = 0;
    struct arc_canon_info ci;
    CHECK_INT(arc_page_init(&pg, 64, 8, 200, 200), 0);
    pg.bits[0] = 0xf0;
    CHECK_INT(arc_canon_page(&pg, &c, &len), 0);
    arc_page_release(&pg);
    if (!c)
        return;
    CHECK_INT(arc_parse_canon(c, len, &ci), 0);
    CHECK_INT(arc_parse_canon(c, len - 1, &ci), -EBADMSG);
    CHECK_INT(arc_parse_canon(c, ARC_CANON_HEADER_LEN, &ci), -EBADMSG);
    CHECK_INT(arc_parse_canon(c, 0, &ci), -EBADMSG);
    CHECK_INT(arc_parse_canon(NULL, 0, &ci), -EBADMSG);
    /* Every header byte except the values that legitimately vary (width 18–21, rows 30–33,
     * rows again in RowsPerStrip 106–109, the strip length 118–121, the resolutions 182–185
     * and 190–193) is fixed; changing one must be refused. Some value changes are refused
     * too (a width of 0, a length that disagrees), which the loop does not rely on. */
    int refused = 0, checked = 0;
    for (size_t i = 0; i < ARC_CANON_HEADER_LEN; i++) {
        if ((i >= 18 && i < 22) || (i >= 30 && i < 34) || (i >= 182 && i < 186) ||
            (i >= 190 && i < 194))
            continue;
        c[i] ^= 0x01;
        checked++;
        refused += arc_parse_canon(c, len, &ci) == -EBADMSG;
        c[i] ^= 0x01;
    }
    CHECK_INT(refused, checked);
    CHECK_INT(arc_parse_canon(c, len, &ci), 0);
    free(c);
}

/* Resolution normalisation: a TIFF in lines/cm (77 → 196, 80 → 204) and one without any. */
static void
write_plain_tiff(const char *path, uint32_t width, float xres, float yres, uint16_t unit)
{
    TIFF *tif = TIFFOpen(path, "w");
    CHECK(tif != NULL);
    if (!tif)
        return;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 4);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 4);
    if (xres > 0) {
        TIFFSetField(tif, TIFFTAG_XRESOLUTION, xres);
        TIFFSetField(tif, TIFFTAG_YRESOLUTION, yres);
        TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, unit);
    }
    uint8_t row[608];
    for (int y = 0; y < 4; y++) {
        memset(row, y == 1 ? 0x00 : 0xff, sizeof(row)); /* min-is-black: row 1 black */
        TIFFWriteScanline(tif, row, (uint32_t)y, 0);
    }
    TIFFClose(tif);
}

static void
test_resolution(void)
{
    static const struct {
        uint32_t width;
        float xres, yres;
        uint16_t unit;
        uint16_t want_x, want_y;
    } cases[] = {
        {1728, 80.0f, 77.0f, RESUNIT_CENTIMETER, 204, 196},
        {1728, 80.0f, 38.5f, RESUNIT_CENTIMETER, 204, 98},
        {1728, 80.0f, 154.0f, RESUNIT_CENTIMETER, 204, 391},
        {1728, 203.2f, 195.58f, RESUNIT_INCH, 204, 196},
        {2432, 300.0f, 300.0f, RESUNIT_INCH, 300, 300},
        {1728, 96.0f, 96.0f, RESUNIT_INCH, 96, 96},
        {1728, 0, 0, 0, 204, 196},
        {3456, 0, 0, 0, 408, 391},
        {1000, 0, 0, 0, 200, 200},
        {1728, -5.0f, 1e9f, RESUNIT_INCH, 204, 196},
    };
    char path[512];
    (void)snprintf(path, sizeof(path), "%s/res.tif", tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_plain_tiff(path, cases[i].width, cases[i].xres, cases[i].yres, cases[i].unit);
        struct doc d = {.n = 0};
        CHECK_INT(load(path, &d), 1);
        if (d.n != 1)
            continue;
        CHECK_INT(d.pg[0].xres, cases[i].want_x);
        CHECK_INT(d.pg[0].yres, cases[i].want_y);
        /* min-is-black and LSB-first fill order: row 1 is black, the rest white. */
        CHECK_INT(d.pg[0].bits[0], 0);
        CHECK_INT(d.pg[0].bits[d.pg[0].stride], 0xff);
        CHECK_INT(d.pg[0].bits[2 * d.pg[0].stride + 3], 0);
        doc_free(&d);
    }
}

int
main(void)
{
    const char *base = getenv("TMPDIR");
    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/inkless-canon-XXXXXX",
                   base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_itu_three_codings();
    test_standard_resolution();
    test_synthetic();
    test_canon_invalid();
    test_parse_canon_strict();
    test_resolution();

    char path[512];
    (void)snprintf(path, sizeof(path), "%s/canon.tif", tmpdir);
    (void)unlink(path);
    (void)snprintf(path, sizeof(path), "%s/res.tif", tmpdir);
    (void)unlink(path);
    (void)rmdir(tmpdir);
    return check_finish();
}
