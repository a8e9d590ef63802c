/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ingest a received fax into the archive and the index (see ingest.h for the ordering that
 * makes it crash-safe). */
#include "ingest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "page.h"

/* The pages stored so far, in order. */
struct ingest {
    struct arc *arc;
    struct idx_page *pages;
    struct arc_manifest_page *mpages;
    int n, cap;
    int err; /* an archive error: stops the ingest */
    char errmsg[200];
};

static int __attribute__((format(printf, 4, 5)))
set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* Copy a string into a field, cut to fit (the manifest's fields are narrower than the
 * index's: a 64-character remote number is cut to 32). */
static void
copy_field(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n > size - 1)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int
grow(struct ingest *in)
{
    int cap = in->cap ? in->cap * 2 : 16;
    struct idx_page *p = realloc(in->pages, (size_t)cap * sizeof(*p));
    if (!p)
        return -ENOMEM;
    in->pages = p;
    struct arc_manifest_page *m = realloc(in->mpages, (size_t)cap * sizeof(*m));
    if (!m)
        return -ENOMEM;
    in->mpages = m;
    in->cap = cap;
    return 0;
}

/* One decoded page: canonicalise, store durably, remember its id. */
static int
on_page(void *data, const struct arc_page *pg, int index)
{
    struct ingest *in = data;
    uint8_t *buf = NULL;
    size_t len = 0;
    char id[ARC_ID_HEX_LEN + 1];
    bool is_dup;

    if (in->n >= ARC_MANIFEST_MAX_PAGES)
        return -E2BIG;
    if (in->n == in->cap && grow(in) < 0)
        return in->err = -ENOMEM;
    int r = arc_canon_page(pg, &buf, &len);
    if (r == 0)
        r = arc_put(in->arc, buf, len, NULL, id, &is_dup);
    free(buf);
    if (r < 0) {
        snprintf(in->errmsg, sizeof(in->errmsg), "page %d: cannot store: %s", index + 1,
                 strerror(-r));
        return in->err = r;
    }
    in->pages[in->n] = (struct idx_page){
        .number = in->n + 1,
        .width = (int)pg->width,
        .length = (int)pg->rows,
        .xres = pg->xres,
        .yres = pg->yres,
    };
    memcpy(in->pages[in->n].hash, id, sizeof(id));
    struct arc_manifest_page *mp = &in->mpages[in->n];
    *mp = (struct arc_manifest_page){
        .width = pg->width, .rows = pg->rows, .xres = pg->xres, .yres = pg->yres};
    memcpy(mp->id, id, sizeof(id));
    in->n++;
    return 0;
}

static void
name_resolution(const struct idx_page *pg, char *buf, size_t size)
{
    if (pg->xres == 204 && pg->yres == 98)
        snprintf(buf, size, "standard");
    else if (pg->xres == 204 && pg->yres == 196)
        snprintf(buf, size, "fine");
    else if (pg->xres == 204 && pg->yres == 391)
        snprintf(buf, size, "superfine");
    else
        snprintf(buf, size, "%dx%d", pg->xres, pg->yres);
}

static const char *
status_word(enum idx_status s)
{
    return s == IDX_STATUS_OK ? "ok" : s == IDX_STATUS_PARTIAL ? "partial" : "failed";
}

/* Store the manifest naming the pages; its id goes to fax->manifest. */
static int
put_manifest(struct ingest *in, struct idx_fax *fax)
{
    struct arc_manifest m = {
        .direction = fax->direction == IDX_DIRECTION_TX ? ARC_DIRECTION_TX : ARC_DIRECTION_RX,
        .started = fax->started > 0 ? (time_t)fax->started : 0,
        .duration = fax->duration_ms > 0 ? (uint32_t)(fax->duration_ms / 1000) : 0,
        .t30_code = fax->t30_code > 0 ? (uint32_t)fax->t30_code : 0,
        .rate = fax->bit_rate > 0 ? (uint32_t)fax->bit_rate : 0,
        .is_ecm = fax->is_ecm,
        .is_partial = fax->status != IDX_STATUS_OK,
        .n_pages = (size_t)in->n,
        .pages = in->mpages,
    };
    copy_field(m.did, sizeof(m.did), fax->did);
    copy_field(m.remote, sizeof(m.remote), fax->remote_number);
    copy_field(m.remote_ident, sizeof(m.remote_ident), fax->remote_ident);
    copy_field(m.trunk, sizeof(m.trunk), fax->trunk);
    copy_field(m.status, sizeof(m.status), status_word(fax->status));
    copy_field(m.t30_text, sizeof(m.t30_text), fax->t30_text);
    snprintf(m.transport, sizeof(m.transport), "%s",
             fax->transport == IDX_TRANSPORT_G711 ? "g711" : "t38");

    char *text = NULL;
    size_t len = 0;
    bool is_dup;
    int r = arc_format_manifest(&m, &text, &len);
    if (r == 0)
        r = arc_put(in->arc, text, len, NULL, fax->manifest, &is_dup);
    free(text);
    return r;
}

int
arc_ingest_fax(struct arc *arc, struct idx *idx, const char *path, struct idx_fax *fax,
               bool *ret_is_dup, char *err, size_t errlen)
{
    struct ingest in = {.arc = arc};
    char why[256] = "";

    if (!fax->source_file[0])
        return set_err(err, errlen, -EINVAL, "no source file name");
    int n = path ? arc_read_pages(path, on_page, &in, why, sizeof(why)) : -ENOENT;
    if (in.err < 0) {
        int r = set_err(err, errlen, in.err, "%s", in.errmsg);
        free(in.pages);
        free(in.mpages);
        return r;
    }
    /* What the file holds can only lower what the call reported, never raise it. */
    if (n < 0 && fax->status == IDX_STATUS_OK) {
        fax->status = IDX_STATUS_PARTIAL;
        snprintf(fax->t30_text, sizeof(fax->t30_text), "stored %d page(s): %s", in.n,
                 path ? why : "no document");
    } else if (fax->status == IDX_STATUS_OK && in.n < fax->pages) {
        fax->status = IDX_STATUS_PARTIAL;
        snprintf(fax->t30_text, sizeof(fax->t30_text), "stored %d page(s), the call reported %d",
                 in.n, fax->pages);
    }
    if (fax->status != IDX_STATUS_OK)
        fax->status = in.n > 0 ? IDX_STATUS_PARTIAL : IDX_STATUS_FAILED;
    if (fax->pages < 0)
        fax->pages = in.n; /* no count from the call: the pages that arrived */

    fax->manifest[0] = '\0';
    fax->resolution[0] = '\0';
    int r = 0;
    if (in.n > 0) {
        name_resolution(&in.pages[0], fax->resolution, sizeof(fax->resolution));
        r = put_manifest(&in, fax);
        if (r < 0)
            set_err(err, errlen, r, "cannot store the manifest: %s", strerror(-r));
    }
    if (r == 0) {
        int64_t id = 0;
        r = idx_add_fax(idx, fax, in.pages, in.n, &id);
        if (r < 0) {
            set_err(err, errlen, r, "index: %s", idx_errmsg(idx));
        } else {
            fax->id = id;
            if (ret_is_dup)
                *ret_is_dup = r == 1;
            r = 0;
        }
    }
    free(in.pages);
    free(in.mpages);
    return r;
}
