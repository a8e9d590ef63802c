/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/convert.c: fax TIFFs already in fax format come out bit for bit (fine, standard,
 * MH/MR/MMR, multi-page), a resolution change halves or doubles the rows, every hostile TIFF
 * in tests/data/tiff/odd is refused with a message or converted, limits give -EFBIG, PNG and
 * JPEG written here with libpng/libjpeg convert, text lays out 66 lines a page, junk is
 * refused; with ghostscript and MuPDF installed, a PDF made by tiff2pdf renders through
 * each, PostScript renders, a broken PDF is refused and an endless PostScript loop times out
 * with its process reaped. Sub-tests needing gs, mutool or tiff2pdf print "skip" without
 * them; the output is decoded with tests/lib/pages.c (what spandsp's t4_tx reads: libtiff). */
#include "convert.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "check.h"
#include "pages.h"

#define ITU TESTDATA_DIR "/tiff/itu/"
#define ODD TESTDATA_DIR "/tiff/odd"

static char tmpdir[256];
static char out_path[300];
static char err[512];

static void
tmp_path(char *buf, size_t len, const char *name)
{
    (void)snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Is prog an executable in PATH? */
static bool
have_prog(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[1024];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        (void)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* Run argv (stdout and stderr to /dev/null); its exit status, or -1. */
static int
run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        (void)dup2(fd, 1);
        (void)dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_INT(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Convert, with the output in tmpdir/out.tif. */
static int
convert(const char *const *in, size_t n, enum conv_resolution res, const struct conv_limits *lim)
{
    err[0] = '\0';
    return conv_document(in, n, out_path, res, lim, err, sizeof(err));
}

static int
convert1(const char *in, enum conv_resolution res, const struct conv_limits *lim)
{
    return convert(&in, 1, res, lim);
}

/* No "<out>.tmp" may survive, whatever happened. */
static void
check_no_tmp(void)
{
    char tmp[320];
    (void)snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
    CHECK(access(tmp, F_OK) < 0);
}

/* Every page of the output is fax format at yres. Returns the page count or -1. */
static int
check_fax_pages(float yres)
{
    struct page *pg = NULL;
    char e[256] = "";
    int n = pages_load(out_path, &pg, e, sizeof(e));
    if (n < 0) {
        fprintf(stderr, "pages_load: %s\n", e);
        CHECK(n >= 0);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        CHECK_INT(pg[i].width, CONV_FAX_WIDTH);
        CHECK(pg[i].xres == 204.0f);
        CHECK(pg[i].yres == yres);
        CHECK(pg[i].raw_rows > 0);
    }
    pages_free(pg, n);
    return n;
}

/* A fax TIFF already at 1728 and the output resolution comes out unchanged, page for page. */
static void
check_identity(const char *src, enum conv_resolution res, int npages)
{
    int r = convert1(src, res, NULL);
    if (r < 0)
        fprintf(stderr, "%s\n", err);
    CHECK_INT(r, npages);
    struct page *a = NULL, *b = NULL;
    char e[256];
    int na = pages_load(src, &a, e, sizeof(e));
    int nb = pages_load(out_path, &b, e, sizeof(e));
    CHECK_INT(na, npages);
    CHECK_INT(nb, npages);
    for (int i = 0; i < na && i < nb; i++) {
        CHECK_INT(pages_compare(&a[i], &b[i]), 0);
        CHECK_INT(b[i].raw_rows, a[i].raw_rows);
    }
    pages_free(a, na > 0 ? na : 0);
    pages_free(b, nb > 0 ? nb : 0);
}

static void
test_tiff(void)
{
    check_identity(ITU "itu1_fine_mh.tif", CONV_RES_FINE, 1);
    check_identity(ITU "itutests_fine_mh.tif", CONV_RES_FINE, 12);
    check_identity(ITU "itutests_fine_mr.tif", CONV_RES_FINE, 12);
    check_identity(ITU "itutests_fine_mmr.tif", CONV_RES_FINE, 12);
    check_identity(ITU "itu1-8_standard_mh.tif", CONV_RES_STANDARD, 8);
    check_fax_pages(98);
    check_no_tmp();

    /* Resolution changes: fine to standard halves the rows, to superfine doubles them. */
    struct page *pg = NULL;
    char e[256];
    CHECK_INT(convert1(ITU "itu1_fine_mh.tif", CONV_RES_STANDARD, NULL), 1);
    int n = pages_load(out_path, &pg, e, sizeof(e));
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(pg[0].raw_rows, 2382 / 2);
        CHECK(pg[0].yres == 98.0f);
        CHECK_INT(pg[0].width, CONV_FAX_WIDTH);
    }
    pages_free(pg, n > 0 ? n : 0);
    CHECK_INT(convert1(ITU "itu1_fine_mh.tif", CONV_RES_SUPERFINE, NULL), 1);
    n = pages_load(out_path, &pg, e, sizeof(e));
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(pg[0].raw_rows, 4752); /* 2382 x 391 / 196 */
        CHECK(pg[0].yres == 391.0f);
    }
    pages_free(pg, n > 0 ? n : 0);

    /* Several inputs make one fax, in order. */
    const char *two[] = {ITU "itu2_fine_mh.tif", ITU "itu1-8_standard_mh.tif"};
    CHECK_INT(convert(two, 2, CONV_RES_FINE, NULL), 9);
    CHECK_INT(check_fax_pages(196), 9);
}

/* Every hostile TIFF is refused (-EINVAL or -EFBIG, with a message naming it) or converted
 * into fax pages; none crashes or hangs (ASan in build-asan). */
static void
test_odd(void)
{
    DIR *d = opendir(ODD);
    CHECK(d != NULL);
    if (!d)
        return;
    int seen = 0, refused = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        (void)snprintf(path, sizeof(path), "%s/%s", ODD, de->d_name);
        int r = convert1(path, CONV_RES_FINE, NULL);
        seen++;
        if (r > 0) {
            CHECK_INT(check_fax_pages(196), r);
        } else {
            refused++;
            if (r != -EINVAL && r != -EFBIG)
                fprintf(stderr, "%s: %d %s\n", de->d_name, r, err);
            CHECK(r == -EINVAL || r == -EFBIG);
            CHECK_CONTAINS(err, de->d_name);
        }
        check_no_tmp();
    }
    closedir(d);
    CHECK(seen >= 20);
    CHECK(refused >= 3); /* the IFD loops, the raw G3 file, broken strips */
}

static void
test_limits(void)
{
    struct conv_limits lim = {.max_pages = 5};
    (void)unlink(out_path);
    CHECK_INT(convert1(ITU "itutests_fine_mh.tif", CONV_RES_FINE, &lim), -EFBIG);
    CHECK_CONTAINS(err, "page limit");
    CHECK(access(out_path, F_OK) < 0);
    check_no_tmp();

    lim = (struct conv_limits){.max_input_bytes = 1000};
    CHECK_INT(convert1(ITU "itu1_fine_mh.tif", CONV_RES_FINE, &lim), -EFBIG);
    CHECK_CONTAINS(err, "bytes");

    lim = (struct conv_limits){.max_pixels_per_page = 1000000};
    CHECK_INT(convert1(ITU "itu1_fine_mh.tif", CONV_RES_FINE, &lim), -EFBIG);
    CHECK_CONTAINS(err, "pixels");

    /* Two 8-page inputs over a 10-page limit. */
    lim = (struct conv_limits){.max_pages = 10};
    const char *two[] = {ITU "itu1-8_standard_mh.tif", ITU "itu1-8_standard_mh.tif"};
    CHECK_INT(convert(two, 2, CONV_RES_STANDARD, &lim), -EFBIG);
    check_no_tmp();

    CHECK_INT(convert1(TESTDATA_DIR "/no/such/file.tif", CONV_RES_FINE, NULL), -ENOENT);
    CHECK_CONTAINS(err, "file.tif");
    CHECK_INT(convert(NULL, 0, CONV_RES_FINE, NULL), -EINVAL);
    CHECK_INT(convert1(TESTDATA_DIR, CONV_RES_FINE, NULL), -EINVAL); /* a directory */
}

/* A w x h test image: a black frame and bar on white; with is_photo, a grey gradient. */
static uint8_t
pixel(uint32_t x, uint32_t y, uint32_t w, uint32_t h, bool is_photo)
{
    if (is_photo)
        return (uint8_t)((x * 255 / w + y * 255 / h) / 2);
    bool frame = x < 8 || y < 8 || x >= w - 8 || y >= h - 8;
    bool bar = y >= h / 2 - 4 && y < h / 2 + 4 && x >= w / 4 && x < 3 * w / 4;
    return frame || bar ? 0 : 255;
}

static void
write_png(const char *path, uint32_t w, uint32_t h, bool is_photo, bool rgba, uint32_t ppm_x,
          uint32_t ppm_y)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    CHECK(f && png && info);
    if (setjmp(png_jmpbuf(png)))
        abort();
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, rgba ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ppm_x)
        png_set_pHYs(png, info, ppm_x, ppm_y, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    uint8_t *row = malloc(w * 4);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t v = pixel(x, y, w, h, is_photo);
            if (rgba) {
                /* The left quarter is transparent black: it must come out white. */
                bool clear = x < w / 4 && y > 16 && y < h - 16;
                row[x * 4] = row[x * 4 + 1] = row[x * 4 + 2] = clear ? 0 : v;
                row[x * 4 + 3] = clear ? 0 : 255;
            } else {
                row[x] = v;
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

static void
write_jpeg(const char *path, uint32_t w, uint32_t h, bool is_photo, bool rgb)
{
    struct jpeg_compress_struct cj;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    cj.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cj);
    jpeg_stdio_dest(&cj, f);
    cj.image_width = w;
    cj.image_height = h;
    cj.input_components = rgb ? 3 : 1;
    cj.in_color_space = rgb ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cj);
    jpeg_set_quality(&cj, 90, TRUE);
    jpeg_start_compress(&cj, TRUE);
    uint8_t *row = malloc(w * 3);
    while (cj.next_scanline < h) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t v = pixel(x, cj.next_scanline, w, h, is_photo);
            if (rgb)
                row[x * 3] = row[x * 3 + 1] = row[x * 3 + 2] = v;
            else
                row[x] = v;
        }
        JSAMPROW rp = row;
        (void)jpeg_write_scanlines(&cj, &rp, 1);
    }
    jpeg_finish_compress(&cj);
    jpeg_destroy_compress(&cj);
    free(row);
    fclose(f);
}

/* Load the single output page; NULL if not exactly one. */
static struct page *
load_one(void)
{
    struct page *pg = NULL;
    char e[256];
    int n = pages_load(out_path, &pg, e, sizeof(e));
    CHECK_INT(n, 1);
    if (n != 1) {
        pages_free(pg, n > 0 ? n : 0);
        return NULL;
    }
    return pg;
}

static bool
black_at(const struct page *pg, int x, int y)
{
    return pg->bits[(size_t)y * pg->stride + x / 8] & (0x80 >> (x % 8));
}

/* Share of black pixels in the middle of the page (a dithered mid-grey is about half). */
static double
black_share(const struct page *pg, int x0, int y0, int w, int h)
{
    long n = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            n += black_at(pg, x, y);
    return (double)n / ((double)w * h);
}

static void
test_png_jpeg(void)
{
    char path[320];
    tmp_path(path, sizeof(path), "doc.png");
    /* 864 x 600 square pixels: scaled x2 to 1728, rows x2 x 196/204. */
    write_png(path, 864, 600, false, false, 0, 0);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), 1);
    struct page *pg = load_one();
    if (pg) {
        CHECK_INT(pg->width, CONV_FAX_WIDTH);
        CHECK_INT(pg->raw_rows, 1153); /* 600 x 2 x 196 / 204 = 1152.9 */
        CHECK(black_at(pg, 4, 500));   /* frame */
        CHECK(black_at(pg, 864, 576)); /* bar */
        CHECK(!black_at(pg, 864, 300));
        CHECK(black_share(pg, 100, 100, 600, 300) < 0.01); /* thresholded, not dithered */
        pages_free(pg, 1);
    }
    /* pHYs 100 x 50 dpi (3937 x 1969 per metre): pixels twice as tall as wide. */
    write_png(path, 864, 600, false, false, 3937, 1969);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), 1);
    if ((pg = load_one())) {
        CHECK(pg->raw_rows >= 2300 && pg->raw_rows <= 2310);
        pages_free(pg, 1);
    }
    /* RGBA photo with a transparent strip: dithered, the strip white. */
    write_png(path, 432, 300, true, true, 0, 0);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), 1);
    if ((pg = load_one())) {
        double mid = black_share(pg, 900, 500, 300, 200);
        CHECK(mid > 0.2 && mid < 0.8);
        CHECK(black_share(pg, 100, 200, 200, 400) < 0.01);
        pages_free(pg, 1);
    }
    /* Truncated: refused. */
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, st.st_size / 2) == 0);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    CHECK_CONTAINS(err, "PNG");
    check_no_tmp();

    tmp_path(path, sizeof(path), "doc.jpg");
    write_jpeg(path, 864, 600, false, false);
    CHECK_INT(convert1(path, CONV_RES_STANDARD, NULL), 1);
    if ((pg = load_one())) {
        CHECK_INT(pg->raw_rows, 576); /* 600 x 2 x 98 / 204 */
        CHECK(pg->yres == 98.0f);
        CHECK(black_at(pg, 864, 288));
        pages_free(pg, 1);
    }
    write_jpeg(path, 640, 480, true, true);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), 1);
    if ((pg = load_one())) {
        double mid = black_share(pg, 700, 500, 300, 200);
        CHECK(mid > 0.2 && mid < 0.8);
        pages_free(pg, 1);
    }
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, 300) == 0);
    int r = convert1(path, CONV_RES_FINE, NULL);
    CHECK(r == -EINVAL || r == 1); /* libjpeg pads a truncated image with grey */
    check_no_tmp();
}

static void
test_junk(void)
{
    char path[320];
    tmp_path(path, sizeof(path), "junk.bin");
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245 + 12345;
        junk[i] = (uint8_t)(x >> 16);
    }
    write_file(path, junk, sizeof(junk));
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    CHECK_CONTAINS(err, "unsupported document type");
    CHECK_CONTAINS(err, "junk.bin");
    /* Text with a NUL is not text. */
    write_file(path, "hello\0world\n", 12);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    /* Latin-1 (invalid UTF-8) is not text either. */
    write_file(path, "caf\xe9\n", 5);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    write_file(path, "", 0);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    CHECK_CONTAINS(err, "empty");
    /* A TIFF header and nothing else. */
    write_file(path, "II*\0\x08\0\0\0", 8);
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), -EINVAL);
    check_no_tmp();
}

static void
test_text(enum conv_renderer rend)
{
    char path[320];
    tmp_path(path, sizeof(path), "doc.txt");
    /* 198 lines = 3 pages of 66, with tabs, escapes and non-ASCII. */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 1; i <= 198; i++)
        fprintf(f, "line %d\t(paren) back\\slash caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad\r\n", i);
    fclose(f);
    struct conv_limits lim = {.renderer = rend};
    int r = convert1(path, CONV_RES_FINE, &lim);
    if (r < 0)
        fprintf(stderr, "text: %s\n", err);
    CHECK_INT(r, 3);
    CHECK_INT(check_fax_pages(196), 3);

    /* Form feeds start pages; a long line wraps (81 columns make two lines). */
    char buf[300];
    memset(buf, 'x', 81);
    memcpy(buf + 81, "\fpage two\f\fpage three\n\f", 23);
    write_file(path, buf, 104);
    CHECK_INT(convert1(path, CONV_RES_STANDARD, &lim), 3);
    CHECK_INT(check_fax_pages(98), 3);

    /* Too many pages for the limit: refused before rendering. */
    f = fopen(path, "w");
    for (int i = 0; i < 66 * 4; i++)
        fprintf(f, "%d\n", i);
    fclose(f);
    lim.max_pages = 3;
    CHECK_INT(convert1(path, CONV_RES_FINE, &lim), -EFBIG);
    check_no_tmp();
}

static void
test_pdf(enum conv_renderer rend, const char *pdf)
{
    struct conv_limits lim = {.renderer = rend};
    int r = convert1(pdf, CONV_RES_FINE, &lim);
    if (r < 0)
        fprintf(stderr, "pdf (%s): %s\n", conv_renderer_name(rend), err);
    CHECK_INT(r, 12);
    CHECK_INT(check_fax_pages(196), 12);
    r = convert1(pdf, CONV_RES_STANDARD, &lim);
    CHECK_INT(r, 12);
    CHECK_INT(check_fax_pages(98), 12);
    /* The page limit holds while rendering. */
    lim.max_pages = 5;
    CHECK_INT(convert1(pdf, CONV_RES_FINE, &lim), -EFBIG);
    CHECK_CONTAINS(err, "page limit");
    check_no_tmp();

    char path[320];
    tmp_path(path, sizeof(path), "broken.pdf");
    write_file(path, "%PDF-1.4\nthis is not a PDF\n", 27);
    lim.max_pages = 0;
    CHECK_INT(convert1(path, CONV_RES_FINE, &lim), -EINVAL);
    CHECK_CONTAINS(err, "broken.pdf");
    check_no_tmp();
}

static void
test_ps(void)
{
    char path[320];
    tmp_path(path, sizeof(path), "doc.ps");
    const char *ps = "%!PS\n/Helvetica findfont 24 scalefont setfont\n"
                     "1 1 2 { 72 700 moveto (Page) show showpage } for\n";
    write_file(path, ps, strlen(ps));
    CHECK_INT(convert1(path, CONV_RES_FINE, NULL), 2);
    CHECK_INT(check_fax_pages(196), 2);

    /* An endless loop: killed at the timeout, reaped, nothing left behind. */
    const char *loop = "%!PS\n{} loop\n";
    write_file(path, loop, strlen(loop));
    struct conv_limits lim = {.timeout_s = 1};
    (void)unlink(out_path);
    CHECK_INT(convert1(path, CONV_RES_FINE, &lim), -ETIMEDOUT);
    CHECK_CONTAINS(err, "time");
    errno = 0;
    CHECK_INT(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_INT(errno, ECHILD);
    CHECK(access(out_path, F_OK) < 0);
    check_no_tmp();
}

int
main(void)
{
    const char *base = getenv("TMPDIR");
    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/inkless-convert-XXXXXX",
                   base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    tmp_path(out_path, sizeof(out_path), "out.tif");

    test_tiff();
    test_odd();
    test_limits();
    test_png_jpeg();
    test_junk();

    bool has_gs = have_prog("gs"), has_mutool = have_prog("mutool");
    char pdf[320];
    tmp_path(pdf, sizeof(pdf), "itu.pdf");
    char *t2p[] = {"tiff2pdf", "-o", pdf, ITU "itutests_fine_mh.tif", NULL};
    bool has_pdf = have_prog("tiff2pdf") && run(t2p) == 0;
    if (!has_pdf)
        printf("skip: PDF tests (tiff2pdf, libtiff-tools, not found)\n");
    if (has_gs) {
        test_text(CONV_RENDERER_GS);
        if (has_pdf)
            test_pdf(CONV_RENDERER_GS, pdf);
        test_ps();
    } else {
        printf("skip: ghostscript tests (gs not found)\n");
    }
    if (has_mutool) {
        test_text(CONV_RENDERER_MUPDF);
        if (has_pdf)
            test_pdf(CONV_RENDERER_MUPDF, pdf);
    } else {
        printf("skip: MuPDF tests (mutool not found)\n");
    }
    if (has_gs || has_mutool)
        test_text(CONV_RENDERER_AUTO);

    const char *names[] = {"out.tif", "itu.pdf", "doc.png",  "doc.jpg",
                           "doc.txt", "doc.ps",  "junk.bin", "broken.pdf"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[320];
        tmp_path(path, sizeof(path), names[i]);
        (void)unlink(path);
    }
    CHECK(rmdir(tmpdir) == 0);
    return check_finish();
}
