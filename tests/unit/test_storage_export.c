/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/export.c on the 12 ITU test pages: the multi-page TIFF decodes (test decoder) to the
 * source bitmaps and carries the canonical T.6 strips unchanged; the PDF is well formed (every
 * xref offset lands on its object, 12 pages, the image streams are the T.6 strips) and, when
 * poppler's pdftoppm is installed, rasterises at each page's own resolution to the source
 * bitmap pixel for pixel; both exports are deterministic; bad input is refused. */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tiffio.h>

#include "check.h"
#include "page.h"
#include "pages.h"

#define SRC TESTDATA_DIR "/tiff/itu/itutests_fine_mh.tif"
#define N_PAGES 12

static char tmpdir[256];

/* The source pages as arc_read_pages gives them (copies; all rows) and their canonical
 * objects. */
static struct arc_page src[N_PAGES];
static uint8_t *canon[N_PAGES];
static size_t canon_len[N_PAGES];
static struct arc_export_page exp_pages[N_PAGES];
static int n_src;

/* The value of "Key:   value" in pdfinfo's output (its padding varies between poppler
 * versions), in a static buffer; "" when the key is absent. */
static const char *
info_field(const char *text, const char *key)
{
    static char value[64];
    size_t klen = strlen(key);
    value[0] = '\0';
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, klen) != 0 || line[klen] != ':')
            continue;
        const char *v = line + klen + 1;
        v += strspn(v, " \t");
        size_t n = strcspn(v, "\n");
        snprintf(value, sizeof(value), "%.*s", (int)n, v);
        break;
    }
    return value;
}

static int
on_page(void *data, const struct arc_page *pg, int index)
{
    if (index >= N_PAGES)
        return -E2BIG;
    if (arc_page_init(&src[index], pg->width, pg->rows, pg->xres, pg->yres) < 0)
        return -ENOMEM;
    memcpy(src[index].bits, pg->bits, pg->stride * pg->rows);
    n_src = index + 1;
    return 0;
}

static int
load_source(void)
{
    char err[256] = "";
    int r = arc_read_pages(SRC, on_page, NULL, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", SRC, err);
        return r;
    }
    for (int i = 0; i < n_src; i++) {
        CHECK_INT(arc_canon_page(&src[i], &canon[i], &canon_len[i]), 0);
        exp_pages[i] = (struct arc_export_page){.buf = canon[i], .len = canon_len[i]};
    }
    return r;
}

static void
tmp_path(char *buf, size_t len, const char *name)
{
    (void)snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* The whole file at path (malloc'd), or NULL. */
static uint8_t *
read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(buf, cap);
            if (!p)
                abort();
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *ret_len = len;
    return buf;
}

/* The PDF as bytes, written through a memory stream after `prefix` bytes of junk (offsets
 * must count from where the export starts). Returns arc_export_pdf's result; *ret_buf points
 * at the PDF itself inside *ret_whole (free the latter). */
static int
export_pdf_mem(const struct arc_export_page *pages, size_t n, const struct arc_pdf_meta *meta,
               const char *prefix, char **ret_whole, const char **ret_buf, size_t *ret_len)
{
    char *whole = NULL;
    size_t whole_len = 0;
    FILE *f = open_memstream(&whole, &whole_len);
    if (!f)
        abort();
    (void)fputs(prefix, f);
    int r = arc_export_pdf(pages, n, f, meta);
    fclose(f);
    *ret_whole = whole;
    *ret_buf = whole + strlen(prefix);
    *ret_len = whole_len - strlen(prefix);
    return r;
}

/* (a) TIFF: 12 pages, bit for bit the source bitmaps (test decoder), each strip the page's
 * canonical T.6 data, PageNumber i/12, no DateTime or Software; the same bytes twice. */
static void
test_tiff(void)
{
    char path[512], path2[512], err[256];
    tmp_path(path, sizeof(path), "export.tif");
    tmp_path(path2, sizeof(path2), "export2.tif");
    CHECK_INT(arc_export_tiff(exp_pages, N_PAGES, path), 0);

    struct page *want = NULL, *got = NULL;
    int n_want = pages_load(SRC, &want, err, sizeof(err));
    int n_got = pages_load(path, &got, err, sizeof(err));
    CHECK_INT(n_want, N_PAGES);
    CHECK_INT(n_got, N_PAGES);
    for (int i = 0; i < N_PAGES && i < n_want && i < n_got; i++) {
        CHECK_INT(pages_compare(&got[i], &want[i]), 0);
        CHECK_INT(got[i].raw_rows, want[i].raw_rows);
        CHECK_INT(got[i].raw_rows, src[i].rows);
        CHECK_INT((int)got[i].xres, src[i].xres);
        CHECK_INT((int)got[i].yres, src[i].yres);
    }
    if (n_want > 0)
        pages_free(want, n_want);
    if (n_got > 0)
        pages_free(got, n_got);

    TIFF *tif = TIFFOpen(path, "r");
    CHECK(tif != NULL);
    int dirs = 0;
    for (; tif; dirs++) {
        uint16_t compression = 0, page = 0, of = 0;
        uint32_t subfile = 0;
        char *text = NULL;
        CHECK(TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression) && compression == 4);
        CHECK(TIFFGetField(tif, TIFFTAG_PAGENUMBER, &page, &of));
        CHECK_INT(page, dirs);
        CHECK_INT(of, N_PAGES);
        CHECK(TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile) && subfile == FILETYPE_PAGE);
        CHECK(!TIFFGetField(tif, TIFFTAG_DATETIME, &text));
        CHECK(!TIFFGetField(tif, TIFFTAG_SOFTWARE, &text));
        CHECK(!TIFFGetField(tif, TIFFTAG_HOSTCOMPUTER, &text));
        CHECK_INT(TIFFNumberOfStrips(tif), 1);
        struct arc_canon_info ci;
        if (dirs < N_PAGES && arc_parse_canon(canon[dirs], canon_len[dirs], &ci) == 0) {
            uint8_t *raw = malloc(ci.t6_len + 1);
            if (!raw)
                abort();
            CHECK_INT(TIFFRawStripSize(tif, 0), ci.t6_len);
            CHECK_INT(TIFFReadRawStrip(tif, 0, raw, (tmsize_t)ci.t6_len + 1), ci.t6_len);
            CHECK(memcmp(raw, ci.t6, ci.t6_len) == 0);
            free(raw);
        }
        if (!TIFFReadDirectory(tif))
            break;
    }
    if (tif) {
        dirs++;
        TIFFClose(tif);
    }
    CHECK_INT(dirs, N_PAGES);

    /* Deterministic: a second export is the same file, byte for byte. */
    CHECK_INT(arc_export_tiff(exp_pages, N_PAGES, path2), 0);
    size_t alen = 0, blen = 0;
    uint8_t *a = read_file(path, &alen), *b = read_file(path2, &blen);
    CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
    free(a);
    free(b);
    (void)unlink(path2);
}

/* Does buf[off…] start with the NUL-terminated s? */
static bool
at(const char *buf, size_t len, size_t off, const char *s)
{
    size_t n = strlen(s);
    return off <= len && len - off >= n && memcmp(buf + off, s, n) == 0;
}

/* A decimal at buf[*off…] (moved past it). */
static bool
read_uint(const char *buf, size_t len, size_t *off, uint64_t *ret)
{
    uint64_t v = 0;
    size_t i = *off;
    while (i < len && buf[i] >= '0' && buf[i] <= '9' && i - *off < 19)
        v = v * 10 + (uint64_t)(buf[i++] - '0');
    if (i == *off)
        return false;
    *off = i;
    *ret = v;
    return true;
}

/* The value of "/key N" in the dictionary that starts at off (up to ">>\nstream" or the end
 * of the object), or -1. */
static long long
dict_uint(const char *buf, size_t len, size_t off, const char *key)
{
    const char *end = memmem(buf + off, len - off, "endobj", 6);
    size_t lim = end ? (size_t)(end - buf) : len;
    const char *s = memmem(buf + off, lim - off, "stream\n", 7);
    if (s)
        lim = (size_t)(s - buf);
    size_t klen = strlen(key);
    for (size_t i = off; i + klen < lim; i++) {
        if (memcmp(buf + i, key, klen) == 0 && buf[i + klen] == ' ') {
            size_t p = i + klen + 1;
            uint64_t v;
            if (read_uint(buf, lim, &p, &v))
                return (long long)v;
        }
    }
    return -1;
}

/* Check a PDF's structure: header, trailer, startxref → "xref", every xref entry exactly 20
 * bytes and pointing at "N 0 obj\n", /Size agreeing; count the page objects and check that
 * each image stream is the canonical T.6 data of its page. Returns the number of /Type /Page
 * objects. */
static int
check_pdf(const char *buf, size_t len, const struct arc_export_page *pages, size_t n_pages)
{
    CHECK(at(buf, len, 0, "%PDF-1.4\n"));
    CHECK(len > 6 && memcmp(buf + len - 6, "%%EOF\n", 6) == 0);
    /* startxref: the last one in the file. */
    size_t sx = 0;
    for (size_t i = len >= 32 ? len - 32 : 0; i + 9 < len; i++)
        if (at(buf, len, i, "startxref\n"))
            sx = i;
    CHECK(sx > 0);
    if (!sx)
        return -1;
    size_t p = sx + 10;
    uint64_t xref = 0;
    CHECK(read_uint(buf, len, &p, &xref));
    CHECK(at(buf, len, p, "\n%%EOF\n") && p + 7 == len);
    CHECK(xref < sx && at(buf, len, (size_t)xref, "xref\n0 "));
    if (!(xref < sx && at(buf, len, (size_t)xref, "xref\n0 ")))
        return -1;
    p = (size_t)xref + 7;
    uint64_t size = 0;
    CHECK(read_uint(buf, len, &p, &size));
    CHECK(at(buf, len, p, "\n"));
    p++;
    CHECK(at(buf, len, p, "0000000000 65535 f \n"));
    p += 20;
    int n_page_objs = 0, n_checked = 0;
    uint64_t prev = 0;
    for (uint64_t num = 1; num < size; num++, p += 20) {
        /* "nnnnnnnnnn 00000 n \n": 20 bytes, offsets in file order. */
        bool is_entry = p + 20 <= len && buf[p + 10] == ' ' && at(buf, len, p + 11, "00000 n \n");
        for (size_t k = 0; k < 10 && is_entry; k++)
            is_entry = buf[p + k] >= '0' && buf[p + k] <= '9';
        CHECK(is_entry);
        if (!is_entry)
            return -1;
        size_t q = p;
        uint64_t off = 0;
        (void)read_uint(buf, p + 10, &q, &off);
        char head[32];
        (void)snprintf(head, sizeof(head), "%" PRIu64 " 0 obj\n", num);
        CHECK(off > prev && off < xref);
        CHECK(at(buf, len, (size_t)off, head));
        if (!at(buf, len, (size_t)off, head))
            continue;
        prev = off;
        size_t body = (size_t)off + strlen(head);
        if (at(buf, len, body, "<< /Type /Page "))
            n_page_objs++;
        /* An image: its stream is exactly the T.6 data of page (num - 6) / 3. */
        if (at(buf, len, body, "<< /Type /XObject /Subtype /Image ")) {
            size_t i = (size_t)(num - 6) / 3;
            long long slen = dict_uint(buf, len, body, "/Length");
            const char *s = memmem(buf + body, len - body, ">>\nstream\n", 10);
            struct arc_canon_info ci;
            CHECK(i < n_pages && arc_parse_canon(pages[i].buf, pages[i].len, &ci) == 0);
            CHECK(s != NULL);
            if (i < n_pages && s && arc_parse_canon(pages[i].buf, pages[i].len, &ci) == 0) {
                size_t d = (size_t)(s - buf) + 10;
                CHECK_INT(slen, ci.t6_len);
                CHECK_INT(dict_uint(buf, len, body, "/Width"), ci.width);
                CHECK_INT(dict_uint(buf, len, body, "/Height"), ci.rows);
                CHECK_INT(dict_uint(buf, len, body, "/Columns"), ci.width);
                CHECK(d + ci.t6_len <= len && memcmp(buf + d, ci.t6, ci.t6_len) == 0);
                CHECK(at(buf, len, d + ci.t6_len, "\nendstream\nendobj\n"));
                n_checked++;
            }
        }
    }
    CHECK_INT(size, 3 + 3 * n_pages + 1);
    CHECK_INT(n_checked, n_pages);
    /* The trailer after the table. */
    CHECK(at(buf, len, p, "trailer\n<< /Size "));
    char count[32];
    (void)snprintf(count, sizeof(count), "/Count %zu ", n_pages);
    CHECK(memmem(buf, len, count, strlen(count)) != NULL);
    return n_page_objs;
}

/* Is name an executable on PATH? */
static bool
has_tool(const char *name)
{
    const char *path = getenv("PATH");
    char dir[1024];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        (void)snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(dir, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* Run argv (argv[0] on PATH) with stdout to out_path (or inherited if NULL); its exit
 * status, or -1. */
static int
run(char *const argv[], const char *out_path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out_path && !freopen(out_path, "w", stdout))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* A binary PBM ("P4", 1 = black, rows padded to bytes) as pdftoppm -mono writes it. Returns
 * the bits (malloc'd) or NULL. */
static uint8_t *
load_pbm(const char *path, uint32_t *ret_w, uint32_t *ret_h)
{
    size_t len = 0;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        return NULL;
    size_t p = 2;
    uint64_t v[2];
    bool ok = len > 2 && buf[0] == 'P' && buf[1] == '4';
    for (int k = 0; k < 2 && ok; k++) {
        while (p < len && (buf[p] == ' ' || buf[p] == '\n' || buf[p] == '\t' || buf[p] == '\r'))
            p++;
        ok = read_uint((const char *)buf, len, &p, &v[k]) && v[k] > 0 && v[k] < 100000;
    }
    ok = ok && p < len && (buf[p] == '\n' || buf[p] == ' ');
    p++;
    if (!ok || (len - p) != (size_t)((v[0] + 7) / 8) * v[1]) {
        free(buf);
        return NULL;
    }
    memmove(buf, buf + p, len - p);
    *ret_w = (uint32_t)v[0];
    *ret_h = (uint32_t)v[1];
    return buf;
}

/* (c) pdftoppm renders page i at the page's own resolution, which makes the page exactly
 * width × rows pixels (MediaBox = width/xres × rows/yres inches, rounded down to 1/10000 pt,
 * and pdftoppm's ceil brings back the last pixel); the bitmap is compared with the source.
 * -mono: Splash's 1-bit mode, no anti-aliasing, so an image drawn 1:1 lands pixel on pixel.
 * Returns the number of differing pixels (or -1), and the page's pixel count. */
static long long
render_diff(const char *pdf, int i, uint64_t *ret_pixels)
{
    char first[16], rx[16], ry[16], prefix[512], pbm[560];
    (void)snprintf(first, sizeof(first), "%d", i + 1);
    (void)snprintf(rx, sizeof(rx), "%u", src[i].xres);
    (void)snprintf(ry, sizeof(ry), "%u", src[i].yres);
    tmp_path(prefix, sizeof(prefix), "render");
    (void)snprintf(pbm, sizeof(pbm), "%s.pbm", prefix);
    char *argv[] = {"pdftoppm", "-f", first,   "-l",          first,       "-rx",  rx,
                    "-ry",      ry,   "-mono", "-singlefile", (char *)pdf, prefix, NULL};
    CHECK_INT(run(argv, NULL), 0);
    uint32_t w = 0, h = 0;
    uint8_t *bits = load_pbm(pbm, &w, &h);
    (void)unlink(pbm);
    CHECK(bits != NULL);
    if (!bits)
        return -1;
    CHECK_INT(w, src[i].width);
    CHECK_INT(h, src[i].rows);
    long long diff = -1;
    if (w == src[i].width && h == src[i].rows) {
        diff = 0;
        size_t stride = src[i].stride;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                size_t byte = (size_t)y * stride + x / 8;
                uint8_t mask = (uint8_t)(0x80 >> (x % 8));
                diff += (bits[byte] & mask) != (src[i].bits[byte] & mask);
            }
    }
    *ret_pixels = (uint64_t)w * h;
    free(bits);
    return diff;
}

/* (b) and (c): structure, determinism, metadata, and what poppler makes of it. */
static void
test_pdf(void)
{
    char *whole = NULL, *whole2 = NULL;
    const char *pdf = NULL, *pdf2 = NULL;
    size_t len = 0, len2 = 0;

    CHECK_INT(export_pdf_mem(exp_pages, N_PAGES, NULL, "", &whole, &pdf, &len), 0);
    CHECK_INT(check_pdf(pdf, len, exp_pages, N_PAGES), N_PAGES);
    CHECK(memmem(pdf, len, "/Title", 6) == NULL);
    CHECK(memmem(pdf, len, "/CreationDate", 13) == NULL);

    /* Deterministic, and independent of where in the stream it starts: offsets count from
     * the export's first byte. */
    CHECK_INT(
        export_pdf_mem(exp_pages, N_PAGES, NULL, "junk before the PDF\n", &whole2, &pdf2, &len2),
        0);
    CHECK(len == len2 && memcmp(pdf, pdf2, len) == 0);
    free(whole2);

    /* Metadata: a hostile title is one escaped literal string; the date is UTC. */
    const struct arc_pdf_meta meta = {.title = "Fax (from) \\ +49\n\xff", .created = 1714566896};
    CHECK_INT(export_pdf_mem(exp_pages, 2, &meta, "%", &whole2, &pdf2, &len2), 0);
    CHECK_INT(check_pdf(pdf2, len2, exp_pages, 2), 2);
    const char *want = "/Title (Fax \\(from\\) \\\\ +49\\012\\377) /CreationDate "
                       "(D:20240501123456Z)";
    CHECK(memmem(pdf2, len2, want, strlen(want)) != NULL);
    free(whole2);

    char path[512];
    tmp_path(path, sizeof(path), "export.pdf");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) {
        free(whole);
        return;
    }
    CHECK_INT(fwrite(pdf, 1, len, f), len);
    CHECK_INT(fclose(f), 0);
    free(whole);

    if (has_tool("pdfinfo")) {
        char info[512];
        tmp_path(info, sizeof(info), "pdfinfo.txt");
        char *argv[] = {"pdfinfo", path, NULL};
        CHECK_INT(run(argv, info), 0);
        size_t ilen = 0;
        char *text = (char *)read_file(info, &ilen);
        CHECK(text != NULL);
        if (text) {
            text = realloc(text, ilen + 1);
            text[ilen] = '\0';
            CHECK_STR(info_field(text, "Pages"), "12");
            CHECK_STR(info_field(text, "PDF version"), "1.4");
            free(text);
        }
        (void)unlink(info);
    } else {
        printf("skip: pdfinfo not on PATH (Debian poppler-utils)\n");
    }

    if (has_tool("pdftoppm")) {
        uint64_t pixels = 0, total = 0;
        long long diff = 0;
        for (int i = 0; i < N_PAGES; i++) {
            long long d = render_diff(path, i, &pixels);
            if (d != 0)
                printf("page %d: %lld of %" PRIu64 " pixels differ\n", i + 1, d, pixels);
            diff = d < 0 || diff < 0 ? -1 : diff + d;
            total += pixels;
        }
        printf("pdftoppm -mono: %lld of %" PRIu64 " pixels differ\n", diff, total);
        CHECK_INT(diff, 0);
    } else {
        printf("skip: pdftoppm not on PATH (Debian poppler-utils): PDF not rasterised\n");
    }
}

/* Refusals: no pages, a non-canonical object anywhere in the list, an unwritable path or
 * stream. */
static void
test_errors(void)
{
    char path[512];
    tmp_path(path, sizeof(path), "bad.tif");
    char *whole = NULL;
    const char *pdf = NULL;
    size_t len = 0;

    CHECK_INT(arc_export_tiff(exp_pages, 0, path), -EINVAL);
    CHECK_INT(arc_export_tiff(NULL, 0, path), -EINVAL);
    CHECK_INT(export_pdf_mem(exp_pages, 0, NULL, "", &whole, &pdf, &len), -EINVAL);
    free(whole);

    /* One bad page among good ones: a flipped header byte, a truncated object, a source TIFF
     * (a fax TIFF, but not canonical), nothing at all. */
    struct arc_export_page bad[3] = {exp_pages[0], exp_pages[1], exp_pages[2]};
    uint8_t *flipped = malloc(canon_len[1]);
    if (!flipped)
        abort();
    memcpy(flipped, canon[1], canon_len[1]);
    flipped[40] ^= 0x01;
    size_t src_len = 0;
    uint8_t *src_tiff = read_file(SRC, &src_len);
    CHECK(src_tiff != NULL);
    const struct arc_export_page bad_pages[] = {
        {.buf = flipped, .len = canon_len[1]},
        {.buf = canon[1], .len = canon_len[1] - 1},
        {.buf = canon[1], .len = ARC_CANON_HEADER_LEN},
        {.buf = src_tiff, .len = src_len},
        {.buf = NULL, .len = 0},
    };
    for (size_t k = 0; k < sizeof(bad_pages) / sizeof(bad_pages[0]); k++) {
        bad[1] = bad_pages[k];
        CHECK_INT(arc_export_tiff(bad, 3, path), -EBADMSG);
        CHECK_INT(export_pdf_mem(bad, 3, NULL, "", &whole, &pdf, &len), -EBADMSG);
        free(whole);
    }
    free(flipped);
    free(src_tiff);
    (void)unlink(path);

    /* Where nothing can be written. */
    CHECK_INT(arc_export_tiff(exp_pages, 1, "/nonexistent-dir/x.tif"), -ENOENT);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        int r = arc_export_pdf(exp_pages, N_PAGES, full, NULL);
        CHECK(r == -ENOSPC || r == -EIO);
        fclose(full);
    }
}

int
main(void)
{
    const char *base = getenv("TMPDIR");
    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/inkless-export-XXXXXX",
                   base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_INT(load_source(), N_PAGES);
    if (n_src == N_PAGES) {
        test_tiff();
        test_pdf();
        test_errors();
    }
    for (int i = 0; i < n_src; i++) {
        arc_page_release(&src[i]);
        free(canon[i]);
    }
    char path[512];
    tmp_path(path, sizeof(path), "export.tif");
    (void)unlink(path);
    tmp_path(path, sizeof(path), "export.pdf");
    (void)unlink(path);
    (void)rmdir(tmpdir);
    return check_finish();
}
