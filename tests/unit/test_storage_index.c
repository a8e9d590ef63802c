/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/index.c: every field round-trips, listing filters, usage per day/DID/direction,
 * idempotent ingest by source file, scrub walks and stats, migrations (empty and v0 files
 * migrate; a newer schema, a non-database and a foreign database are refused untouched), WAL,
 * persistence across reopen, and a writer beside a reader. Each case gets its own directory
 * under one mkdtemp directory, removed at the end. SQLite is used directly only to build and
 * inspect files. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "index.h"

#define DAY0 1700006400 /* 2023-11-15 00:00:00 UTC */
#define DAY 86400

static char tmpdir[256];

/* A fresh directory for one case. */
static const char *
case_dir(const char *name, char *buf, size_t size)
{
    (void)snprintf(buf, size, "%s/%s", tmpdir, name);
    if (mkdir(buf, 0700) < 0) {
        perror(buf);
        exit(1);
    }
    return buf;
}

static void
db_path(const char *dir, char *buf, size_t size)
{
    (void)snprintf(buf, size, "%s/%s", dir, IDX_FILE);
}

static void
write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "w");

    if (!f || fwrite(bytes, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    (void)fclose(f);
}

/* The whole file, or NULL (*ret_len = 0) if there is none. Caller frees. */
static char *
read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    *ret_len = 0;
    if (!f)
        return NULL;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            if (!buf)
                exit(1);
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    (void)fclose(f);
    *ret_len = len;
    return buf;
}

/* A 64-hex id made from a small number, so tests can name objects. */
static void
make_hash(char *out, int n)
{
    (void)snprintf(out, IDX_HASH_HEX_LEN + 1, "%064x", n);
}

/* A fax with every field set to something distinct derived from `n`. */
static struct idx_fax
make_fax(int n, enum idx_direction dir, const char *did, enum idx_status status, int64_t started,
         int pages)
{
    struct idx_fax f = {
        .direction = dir,
        .started = started,
        .ended = started + 60 + n,
        .duration_ms = 59000 + n,
        .status = status,
        .t30_code = n % 50,
        .pages = pages,
        .bit_rate = 14400,
        .is_ecm = n % 2 == 0,
        .transport = n % 2 ? IDX_TRANSPORT_G711 : IDX_TRANSPORT_T38,
    };
    (void)snprintf(f.did, sizeof(f.did), "%s", did);
    (void)snprintf(f.remote_number, sizeof(f.remote_number), "4930%06d", n);
    (void)snprintf(f.remote_ident, sizeof(f.remote_ident), "+49 30 %d", n);
    (void)snprintf(f.trunk, sizeof(f.trunk), "trunk-%d", n % 3);
    (void)snprintf(f.call_id, sizeof(f.call_id), "call-%d@example.net", n);
    if (dir == IDX_DIRECTION_TX)
        (void)snprintf(f.job, sizeof(f.job), "20231115T000000Z-%06x", n);
    (void)snprintf(f.t30_text, sizeof(f.t30_text), "text %d: it's \"quoted\"; DROP TABLE x", n);
    (void)snprintf(f.resolution, sizeof(f.resolution), "%s", n % 2 ? "fine" : "standard");
    make_hash(f.manifest, 100000 + n);
    (void)snprintf(f.owner, sizeof(f.owner), "user%d", n % 2);
    (void)snprintf(f.source_file, sizeof(f.source_file), "spool/rx/%d.tif", n);
    return f;
}

/* Pages 1..n whose hashes are hash_base + i (so two faxes can share objects). */
static void
make_pages(struct idx_page *p, int n, int hash_base)
{
    for (int i = 0; i < n; i++) {
        p[i] = (struct idx_page){
            .number = i + 1,
            .width = 1728,
            .length = 2200 + i,
            .xres = 8040,
            .yres = i % 2 ? 7700 : 3850,
        };
        make_hash(p[i].hash, hash_base + i);
    }
}

static void
check_fax_equal(int line, const struct idx_fax *a, const struct idx_fax *b)
{
    int before = check_failures;

    CHECK_INT(a->id, b->id);
    CHECK_INT(a->direction, b->direction);
    CHECK_STR(a->did, b->did);
    CHECK_STR(a->remote_number, b->remote_number);
    CHECK_STR(a->remote_ident, b->remote_ident);
    CHECK_STR(a->trunk, b->trunk);
    CHECK_STR(a->call_id, b->call_id);
    CHECK_STR(a->job, b->job);
    CHECK_INT(a->started, b->started);
    CHECK_INT(a->ended, b->ended);
    CHECK_INT(a->duration_ms, b->duration_ms);
    CHECK_INT(a->status, b->status);
    CHECK_INT(a->t30_code, b->t30_code);
    CHECK_STR(a->t30_text, b->t30_text);
    CHECK_INT(a->pages, b->pages);
    CHECK_INT(a->bit_rate, b->bit_rate);
    CHECK_INT(a->is_ecm, b->is_ecm);
    CHECK_INT(a->transport, b->transport);
    CHECK_STR(a->resolution, b->resolution);
    CHECK_STR(a->manifest, b->manifest);
    CHECK_STR(a->owner, b->owner);
    CHECK_STR(a->source_file, b->source_file);
    if (check_failures != before)
        fprintf(stderr, "  (fax compared at line %d)\n", line);
}

static struct idx *
open_ok(const char *dir)
{
    char err[IDX_ERR_LEN];
    struct idx *idx = NULL;
    int r = idx_open(dir, err, sizeof(err), &idx);

    if (r < 0 || !idx) {
        fprintf(stderr, "idx_open(%s): %d %s\n", dir, r, err);
        exit(1);
    }
    return idx;
}

static int64_t
add_ok(struct idx *idx, const struct idx_fax *f, const struct idx_page *p, int n)
{
    int64_t id = -1;
    int r = idx_add_fax(idx, f, p, n, &id);

    if (r != 0)
        fprintf(stderr, "idx_add_fax: %d %s\n", r, idx_errmsg(idx));
    CHECK_INT(r, 0);
    CHECK(id > 0);
    return id;
}

/* Collecting callbacks. */
struct ids {
    int64_t id[64];
    int n;
    int stop_after; /* 0 = never */
};

static int
collect_fax(void *data, const struct idx_fax *fax)
{
    struct ids *ids = data;

    if (ids->n < 64)
        ids->id[ids->n++] = fax->id;
    return ids->stop_after && ids->n == ids->stop_after ? 7 : 0;
}

static int
collect_page(void *data, const struct idx_page *page)
{
    struct idx_page *pages = data;

    if (page->number >= 1 && page->number <= 16)
        pages[page->number - 1] = *page;
    return 0;
}

struct hashes {
    char hash[64][IDX_HASH_HEX_LEN + 1];
    int64_t fax_id[64];
    int n;
};

static int
collect_hash(void *data, const char *hash)
{
    struct hashes *h = data;

    if (h->n < 64)
        (void)snprintf(h->hash[h->n++], IDX_HASH_HEX_LEN + 1, "%s", hash);
    return 0;
}

static int
collect_manifest(void *data, int64_t fax_id, const char *manifest)
{
    struct hashes *h = data;

    if (h->n < 64) {
        h->fax_id[h->n] = fax_id;
        (void)snprintf(h->hash[h->n++], IDX_HASH_HEX_LEN + 1, "%s", manifest);
    }
    return 0;
}

struct usages {
    struct idx_usage u[32];
    int n;
};

static int
collect_usage(void *data, const struct idx_usage *u)
{
    struct usages *us = data;

    if (us->n < 32)
        us->u[us->n++] = *u;
    return 0;
}

static int
fail_cb(void *data, const struct idx_fax *fax)
{
    return -ECANCELED;
}

/* The fax ids a filter lists, in order, compared with the expected ones (0-terminated). */
static void
check_list(int line, struct idx *idx, const struct idx_filter *f, const int64_t *want)
{
    struct ids got = {0};
    int n = 0, before = check_failures;

    CHECK_INT(idx_list_faxes(idx, f, collect_fax, &got), 0);
    while (want[n])
        n++;
    CHECK_INT(got.n, n);
    for (int i = 0; i < n && i < got.n; i++)
        CHECK_INT(got.id[i], want[i]);
    if (check_failures != before)
        fprintf(stderr, "  (list checked at line %d)\n", line);
}

/* Every field back, pages back, lookups of what is not there, bad input refused. */
static void
test_round_trip(void)
{
    char dir[512];
    struct idx *idx = open_ok(case_dir("round_trip", dir, sizeof(dir)));
    struct idx_page pages[3], got_pages[16] = {0};
    struct idx_fax fax = make_fax(1, IDX_DIRECTION_RX, "4930123456", IDX_STATUS_OK, DAY0, 3);
    struct idx_fax got;

    CHECK_STR(idx_errmsg(idx), "");
    make_pages(pages, 3, 1);
    fax.id = 999; /* ignored */
    int64_t id = add_ok(idx, &fax, pages, 3);
    fax.id = id;
    CHECK_INT(idx_get_fax(idx, id, &got), 0);
    check_fax_equal(__LINE__, &got, &fax);
    CHECK_INT(idx_get_pages(idx, id, collect_page, got_pages), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(got_pages[i].number, i + 1);
        CHECK_STR(got_pages[i].hash, pages[i].hash);
        CHECK_INT(got_pages[i].width, pages[i].width);
        CHECK_INT(got_pages[i].length, pages[i].length);
        CHECK_INT(got_pages[i].xres, pages[i].xres);
        CHECK_INT(got_pages[i].yres, pages[i].yres);
    }

    /* A failed fax: no pages, no manifest, no transport, no source file (twice is fine). */
    struct idx_fax failed =
        make_fax(2, IDX_DIRECTION_TX, "4930123456", IDX_STATUS_FAILED, DAY0 + 10, 0);
    failed.manifest[0] = failed.source_file[0] = '\0';
    failed.transport = IDX_TRANSPORT_NONE;
    int64_t id2 = add_ok(idx, &failed, NULL, 0);
    int64_t id3 = add_ok(idx, &failed, NULL, 0);
    CHECK(id2 != id3);
    failed.id = id2;
    CHECK_INT(idx_get_fax(idx, id2, &got), 0);
    check_fax_equal(__LINE__, &got, &failed);
    CHECK_INT(idx_get_pages(idx, id2, collect_page, got_pages), 0);

    CHECK_INT(idx_get_fax(idx, 12345, &got), -ENOENT);
    CHECK_INT(idx_get_pages(idx, 12345, collect_page, got_pages), -ENOENT);
    CHECK_CONTAINS(idx_errmsg(idx), "no such fax");

    /* Bad input: nothing is written. */
    int64_t bad_id = -1;
    struct idx_fax bad = make_fax(3, IDX_DIRECTION_ANY, "1", IDX_STATUS_OK, DAY0, 0);
    CHECK_INT(idx_add_fax(idx, &bad, NULL, 0, &bad_id), -EINVAL);
    CHECK_CONTAINS(idx_errmsg(idx), "direction");
    bad = make_fax(3, IDX_DIRECTION_RX, "1", IDX_STATUS_ANY, DAY0, 0);
    CHECK_INT(idx_add_fax(idx, &bad, NULL, 0, &bad_id), -EINVAL);
    bad = make_fax(3, IDX_DIRECTION_RX, "1", IDX_STATUS_OK, DAY0, 0);
    bad.manifest[5] = 'G';
    CHECK_INT(idx_add_fax(idx, &bad, NULL, 0, &bad_id), -EINVAL);
    bad = make_fax(3, IDX_DIRECTION_RX, "1", IDX_STATUS_OK, DAY0, 2);
    struct idx_page bad_pages[2];
    make_pages(bad_pages, 2, 50);
    bad_pages[1].number = 3;
    CHECK_INT(idx_add_fax(idx, &bad, bad_pages, 2, &bad_id), -EINVAL);
    make_pages(bad_pages, 2, 50);
    bad_pages[0].hash[10] = 'A'; /* upper case is not an object id */
    CHECK_INT(idx_add_fax(idx, &bad, bad_pages, 2, &bad_id), -EINVAL);
    make_pages(bad_pages, 2, 50);
    memset(bad.trunk, 'x', sizeof(bad.trunk)); /* not terminated */
    CHECK_INT(idx_add_fax(idx, &bad, bad_pages, 2, &bad_id), -EINVAL);
    CHECK_INT(bad_id, -1);

    struct idx_stats st;
    CHECK_INT(idx_stats(idx, &st), 0);
    CHECK_INT(st.faxes, 3);
    CHECK_INT(st.pages, 3);
    idx_close(idx);
    idx_close(NULL);
}

/* The same source file again finds the first row; nothing is added or counted twice. */
static void
test_idempotent(void)
{
    char dir[512];
    struct idx *idx = open_ok(case_dir("idempotent", dir, sizeof(dir)));
    struct idx_page pages[2];
    struct idx_fax fax = make_fax(5, IDX_DIRECTION_RX, "4940111", IDX_STATUS_PARTIAL, DAY0, 2);
    struct idx_stats st;
    struct usages us = {0};
    int64_t id2 = -1;

    make_pages(pages, 2, 10);
    int64_t id = add_ok(idx, &fax, pages, 2);
    /* Even with other content (a retry after a crash reads the rx file again). */
    fax.pages = 1;
    CHECK_INT(idx_add_fax(idx, &fax, pages, 1, &id2), 1);
    CHECK_INT(id2, id);
    CHECK_INT(idx_stats(idx, &st), 0);
    CHECK_INT(st.faxes, 1);
    CHECK_INT(st.pages, 2);
    CHECK_INT(idx_usage(idx, NULL, collect_usage, &us), 0);
    CHECK_INT(us.n, 1);
    CHECK_INT(us.u[0].faxes, 1);
    CHECK_INT(us.u[0].pages, 2);
    /* And the handle still writes afterwards (the transaction was closed). */
    fax = make_fax(6, IDX_DIRECTION_RX, "4940111", IDX_STATUS_OK, DAY0, 0);
    add_ok(idx, &fax, NULL, 0);
    idx_close(idx);
}

/* Listing: each filter alone, combined, limit, newest first, callback stop and error. */
static void
test_list(void)
{
    char dir[512];
    struct idx *idx = open_ok(case_dir("list", dir, sizeof(dir)));
    struct idx_fax f;
    int64_t id[7];

    /* id  dir  did   status   started */
    f = make_fax(10, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + 100, 0);
    id[1] = add_ok(idx, &f, NULL, 0);
    f = make_fax(11, IDX_DIRECTION_RX, "222", IDX_STATUS_FAILED, DAY0 + 300, 0);
    id[2] = add_ok(idx, &f, NULL, 0);
    f = make_fax(12, IDX_DIRECTION_TX, "111", IDX_STATUS_OK, DAY0 + 200, 0);
    id[3] = add_ok(idx, &f, NULL, 0);
    f = make_fax(13, IDX_DIRECTION_TX, "222", IDX_STATUS_PARTIAL, DAY0 + DAY, 0);
    id[4] = add_ok(idx, &f, NULL, 0);
    f = make_fax(14, IDX_DIRECTION_RX, "111", IDX_STATUS_PARTIAL, DAY0 + DAY + 5, 0);
    id[5] = add_ok(idx, &f, NULL, 0);
    /* Same start as id[5]: the later id comes first. */
    f = make_fax(15, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + DAY + 5, 0);
    id[6] = add_ok(idx, &f, NULL, 0);

    check_list(__LINE__, idx, NULL, (int64_t[]){id[6], id[5], id[4], id[2], id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){0},
               (int64_t[]){id[6], id[5], id[4], id[2], id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.did = "111"},
               (int64_t[]){id[6], id[5], id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.did = "333"}, (int64_t[]){0});
    check_list(__LINE__, idx, &(struct idx_filter){.direction = IDX_DIRECTION_TX},
               (int64_t[]){id[4], id[3], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.direction = IDX_DIRECTION_RX},
               (int64_t[]){id[6], id[5], id[2], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.status = IDX_STATUS_OK},
               (int64_t[]){id[6], id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.status = IDX_STATUS_PARTIAL},
               (int64_t[]){id[5], id[4], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.status = IDX_STATUS_FAILED},
               (int64_t[]){id[2], 0});
    /* from inclusive, to exclusive */
    check_list(__LINE__, idx, &(struct idx_filter){.started_from = DAY0 + 200},
               (int64_t[]){id[6], id[5], id[4], id[2], id[3], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.started_to = DAY0 + 300},
               (int64_t[]){id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.started_from = DAY0, .started_to = DAY0 + DAY},
               (int64_t[]){id[2], id[3], id[1], 0});
    check_list(__LINE__, idx, &(struct idx_filter){.limit = 2}, (int64_t[]){id[6], id[5], 0});
    check_list(__LINE__, idx,
               &(struct idx_filter){.did = "111",
                                    .direction = IDX_DIRECTION_RX,
                                    .status = IDX_STATUS_OK,
                                    .started_to = DAY0 + DAY,
                                    .limit = 5},
               (int64_t[]){id[1], 0});

    /* A callback stops the walk with > 0 and aborts it with -errno. */
    struct ids got = {.stop_after = 2};
    CHECK_INT(idx_list_faxes(idx, NULL, collect_fax, &got), 7);
    CHECK_INT(got.n, 2);
    CHECK_INT(idx_list_faxes(idx, NULL, fail_cb, NULL), -ECANCELED);
    CHECK_INT(idx_list_faxes(idx, &(struct idx_filter){.limit = -1}, collect_fax, &got), -EINVAL);
    CHECK_INT(idx_list_faxes(idx, &(struct idx_filter){.direction = 9}, collect_fax, &got),
              -EINVAL);
    /* A filter value is data, never SQL. */
    check_list(__LINE__, idx, &(struct idx_filter){.did = "111' OR '1'='1"}, (int64_t[]){0});
    idx_close(idx);
}

/* Usage accumulates per UTC day, DID and direction, in the fax's own transaction. */
static void
test_usage(void)
{
    char dir[512];
    struct idx *idx = open_ok(case_dir("usage", dir, sizeof(dir)));
    struct idx_fax f;
    struct usages us = {0};

    f = make_fax(20, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + 10, 3);
    add_ok(idx, &f, NULL, 0);
    f = make_fax(21, IDX_DIRECTION_RX, "111", IDX_STATUS_PARTIAL, DAY0 + DAY - 1, 2);
    add_ok(idx, &f, NULL, 0);
    f = make_fax(22, IDX_DIRECTION_TX, "111", IDX_STATUS_OK, DAY0 + 20, 5);
    add_ok(idx, &f, NULL, 0);
    f = make_fax(23, IDX_DIRECTION_RX, "222", IDX_STATUS_FAILED, DAY0 + 30, 0);
    add_ok(idx, &f, NULL, 0);
    f = make_fax(24, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + DAY, 4); /* next day */
    add_ok(idx, &f, NULL, 0);

    CHECK_INT(idx_usage(idx, NULL, collect_usage, &us), 0);
    CHECK_INT(us.n, 4);
    struct idx_usage want[] = {
        {"2023-11-15", "111", IDX_DIRECTION_RX, 2, 5},
        {"2023-11-15", "111", IDX_DIRECTION_TX, 1, 5},
        {"2023-11-15", "222", IDX_DIRECTION_RX, 1, 0},
        {"2023-11-16", "111", IDX_DIRECTION_RX, 1, 4},
    };
    for (int i = 0; i < 4 && i < us.n; i++) {
        CHECK_STR(us.u[i].day, want[i].day);
        CHECK_STR(us.u[i].did, want[i].did);
        CHECK_INT(us.u[i].direction, want[i].direction);
        CHECK_INT(us.u[i].faxes, want[i].faxes);
        CHECK_INT(us.u[i].pages, want[i].pages);
    }

    us.n = 0;
    CHECK_INT(idx_usage(idx, &(struct idx_usage_filter){.did = "111"}, collect_usage, &us), 0);
    CHECK_INT(us.n, 3);
    us.n = 0;
    CHECK_INT(idx_usage(idx, &(struct idx_usage_filter){.direction = IDX_DIRECTION_TX},
                        collect_usage, &us),
              0);
    CHECK_INT(us.n, 1);
    CHECK_INT(us.u[0].pages, 5);
    us.n = 0;
    CHECK_INT(
        idx_usage(idx, &(struct idx_usage_filter){.day_from = "2023-11-16"}, collect_usage, &us),
        0);
    CHECK_INT(us.n, 1);
    CHECK_STR(us.u[0].day, "2023-11-16");
    us.n = 0;
    CHECK_INT(idx_usage(idx,
                        &(struct idx_usage_filter){.day_from = "2023-11-15",
                                                   .day_to = "2023-11-15",
                                                   .did = "222",
                                                   .direction = IDX_DIRECTION_RX},
                        collect_usage, &us),
              0);
    CHECK_INT(us.n, 1);
    CHECK_INT(us.u[0].faxes, 1);
    CHECK_INT(
        idx_usage(idx, &(struct idx_usage_filter){.day_from = "15.11.2023"}, collect_usage, &us),
        -EINVAL);

    /* A refused fax is not counted. */
    struct idx_page pages[1];
    int64_t id;
    make_pages(pages, 1, 1);
    f = make_fax(25, IDX_DIRECTION_RX, "999", IDX_STATUS_OK, DAY0, 1);
    f.bit_rate = 9600;
    f.pages = -1;
    CHECK_INT(idx_add_fax(idx, &f, pages, 1, &id), -EINVAL);
    us.n = 0;
    CHECK_INT(idx_usage(idx, &(struct idx_usage_filter){.did = "999"}, collect_usage, &us), 0);
    CHECK_INT(us.n, 0);
    idx_close(idx);
}

/* Scrub's walks (distinct page hashes, manifests, faxes by page) and stats. */
static void
test_scrub_walks(void)
{
    char dir[512];
    struct idx *idx = open_ok(case_dir("scrub", dir, sizeof(dir)));
    struct idx_page pages[4];
    struct idx_fax f;
    struct hashes h = {0};
    struct ids got = {0};
    struct idx_stats st;
    char hash[IDX_HASH_HEX_LEN + 1];

    f = make_fax(30, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0, 3);
    make_pages(pages, 3, 1); /* objects 1 2 3 */
    int64_t a = add_ok(idx, &f, pages, 3);
    f = make_fax(31, IDX_DIRECTION_TX, "111", IDX_STATUS_PARTIAL, DAY0 + 1, 4);
    make_pages(pages, 4, 2); /* objects 2 3 4 5: dedup with the first fax */
    int64_t b = add_ok(idx, &f, pages, 4);
    f = make_fax(32, IDX_DIRECTION_RX, "111", IDX_STATUS_FAILED, DAY0 + 2, 0);
    f.manifest[0] = '\0';
    int64_t c = add_ok(idx, &f, NULL, 0);

    CHECK_INT(idx_for_each_page_hash(idx, collect_hash, &h), 0);
    CHECK_INT(h.n, 5);
    for (int i = 0; i < 5 && i < h.n; i++) {
        make_hash(hash, i + 1);
        CHECK_STR(h.hash[i], hash);
    }

    h.n = 0;
    CHECK_INT(idx_for_each_fax_manifest(idx, collect_manifest, &h), 0);
    CHECK_INT(h.n, 2);
    CHECK_INT(h.fax_id[0], a);
    CHECK_INT(h.fax_id[1], b);
    make_hash(hash, 100000 + 31);
    CHECK_STR(h.hash[1], hash);

    make_hash(hash, 3);
    CHECK_INT(idx_list_faxes_by_page(idx, hash, collect_fax, &got), 0);
    CHECK_INT(got.n, 2);
    CHECK_INT(got.id[0], a);
    CHECK_INT(got.id[1], b);
    got.n = 0;
    make_hash(hash, 5);
    CHECK_INT(idx_list_faxes_by_page(idx, hash, collect_fax, &got), 0);
    CHECK_INT(got.n, 1);
    CHECK_INT(got.id[0], b);
    got.n = 0;
    make_hash(hash, 77);
    CHECK_INT(idx_list_faxes_by_page(idx, hash, collect_fax, &got), 0);
    CHECK_INT(got.n, 0);
    CHECK_INT(idx_list_faxes_by_page(idx, "abc", collect_fax, &got), -EINVAL);

    CHECK_INT(idx_stats(idx, &st), 0);
    CHECK_INT(st.faxes, 3);
    CHECK_INT(st.faxes_rx, 2);
    CHECK_INT(st.faxes_tx, 1);
    CHECK_INT(st.faxes_ok, 1);
    CHECK_INT(st.faxes_partial, 1);
    CHECK_INT(st.faxes_failed, 1);
    CHECK_INT(st.pages, 7);
    CHECK_INT(st.page_objects, 5);
    CHECK_INT(st.manifests, 2);
    (void)c;
    idx_close(idx);
}

/* Read a pragma from a file with SQLite directly. */
static long long
file_pragma(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* Build a database with SQLite directly (rollback journal, as a stranger would). */
static void
make_db(const char *path, const char *sql)
{
    sqlite3 *db;

    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, 0, 0, 0) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_close(db);
}

/* An open that must fail with `want`, leaving the file byte for byte as it was. */
static void
check_refused(int line, const char *dir, int want, const char *msg)
{
    char path[600], err[IDX_ERR_LEN] = "";
    struct idx *idx = (struct idx *)&err; /* must be reset to NULL */
    size_t len0, len1;
    int before = check_failures;

    db_path(dir, path, sizeof(path));
    char *before_bytes = read_file(path, &len0);
    CHECK_INT(idx_open(dir, err, sizeof(err), &idx), want);
    CHECK(idx == NULL);
    CHECK_CONTAINS(err, msg);
    char *after_bytes = read_file(path, &len1);
    CHECK_INT(len1, len0);
    CHECK(len0 == len1 && memcmp(before_bytes, after_bytes, len0) == 0);
    free(before_bytes);
    free(after_bytes);
    if (check_failures != before)
        fprintf(stderr, "  (open checked at line %d)\n", line);
}

static int
has_table(const char *path, const char *name)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int found = 0;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return found;
}

static void
test_migrations(void)
{
    char dir[512], path[600], err[IDX_ERR_LEN];
    struct idx *idx;
    struct stat sb;

    /* A new file: created 0640, at our version, in WAL mode. */
    idx = open_ok(case_dir("mig_new", dir, sizeof(dir)));
    idx_close(idx);
    db_path(dir, path, sizeof(path));
    CHECK_INT(stat(path, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0640);
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), IDX_SCHEMA_VERSION);
    CHECK_INT(file_pragma(path, "PRAGMA application_id"), 0x494e4b4c);
    /* Opening again at the current version changes nothing. */
    idx = open_ok(dir);
    idx_close(idx);
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), IDX_SCHEMA_VERSION);

    /* An empty file is an empty database (version 0): it migrates. */
    case_dir("mig_empty", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    write_file(path, "", 0);
    idx = open_ok(dir);
    idx_close(idx);
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), IDX_SCHEMA_VERSION);
    CHECK(has_table(path, "faxes"));
    CHECK(has_table(path, "pages"));
    CHECK(has_table(path, "usage"));

    /* A version-0 database made by someone else (rollback journal): migrates, and the
     * journal becomes WAL. */
    case_dir("mig_v0", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    make_db(path, "PRAGMA user_version = 0; CREATE TABLE notes (x TEXT);");
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), 0);
    idx = open_ok(dir);
    struct idx_fax f = make_fax(40, IDX_DIRECTION_RX, "1", IDX_STATUS_OK, DAY0, 0);
    add_ok(idx, &f, NULL, 0);
    idx_close(idx);
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), IDX_SCHEMA_VERSION);
    CHECK(has_table(path, "notes"));
    CHECK(has_table(path, "faxes"));

    /* Newer than we know: refused before anything is written (not even WAL mode). */
    case_dir("mig_newer", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    char sql[128];
    (void)snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
                   0x494e4b4c, IDX_SCHEMA_VERSION + 1);
    make_db(path, sql);
    check_refused(__LINE__, dir, -EPROTO, "newer");
    CHECK_INT(file_pragma(path, "PRAGMA user_version"), IDX_SCHEMA_VERSION + 1);
    size_t len;
    char *bytes = read_file(path, &len);
    CHECK(len >= 100 && bytes[18] == 1 && bytes[19] == 1); /* still a rollback journal */
    free(bytes);

    /* Not a database at all. */
    case_dir("mig_garbage", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = "this is not an SQLite database\n"[i % 31];
    write_file(path, junk, sizeof(junk));
    check_refused(__LINE__, dir, -EBADMSG, "not a database");

    /* A database, but someone else's (a version and no application id of ours). */
    case_dir("mig_foreign", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    make_db(path, "PRAGMA user_version = 1; CREATE TABLE faxes (x);");
    check_refused(__LINE__, dir, -EBADMSG, "not an inkless index");
    case_dir("mig_foreign_app", dir, sizeof(dir));
    db_path(dir, path, sizeof(path));
    make_db(path, "PRAGMA application_id = 42;");
    check_refused(__LINE__, dir, -EBADMSG, "not an inkless index");

    /* No var dir: a clear -ENOENT, no handle. */
    (void)snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
    idx = (struct idx *)&err;
    CHECK_INT(idx_open(dir, err, sizeof(err), &idx), -ENOENT);
    CHECK(idx == NULL);
    CHECK_CONTAINS(err, "missing");
    CHECK_INT(idx_open(dir, NULL, 0, &idx), -ENOENT);
}

struct snapshot {
    struct idx *writer;
    int rows;
    int add_result;
    struct idx_fax fax;
};

/* Runs inside the reader's walk: the other handle commits meanwhile. */
static int
write_during_read(void *data, const struct idx_fax *fax)
{
    struct snapshot *s = data;
    int64_t id;

    if (s->rows++ == 0)
        s->add_result = idx_add_fax(s->writer, &s->fax, NULL, 0, &id);
    return 0;
}

/* WAL on, data persists across reopen, a writer commits while a reader is mid-walk. */
static void
test_wal_and_handles(void)
{
    char dir[512], path[600], wal[620];
    struct idx_page pages[2];
    struct idx_fax f, got;
    struct stat sb;

    struct idx *a = open_ok(case_dir("wal", dir, sizeof(dir)));
    db_path(dir, path, sizeof(path));
    (void)snprintf(wal, sizeof(wal), "%s-wal", path);
    f = make_fax(50, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0, 2);
    make_pages(pages, 2, 1);
    int64_t id1 = add_ok(a, &f, pages, 2);
    f.id = id1;
    /* The commit went to the write-ahead log; the header says WAL (bytes 18-19 = 2). */
    CHECK_INT(stat(wal, &sb), 0);
    CHECK(sb.st_size > 0);
    size_t len;
    char *bytes = read_file(path, &len);
    CHECK(len >= 100 && bytes[18] == 2 && bytes[19] == 2);
    free(bytes);

    /* A second handle (the CLI beside the daemon). */
    struct idx *b = open_ok(dir);
    CHECK_INT(idx_get_fax(b, id1, &got), 0);
    check_fax_equal(__LINE__, &got, &f);

    /* b walks while a commits: no waiting, and b's walk sees its snapshot only. */
    struct snapshot s = {
        .writer = a,
        .add_result = 99,
        .fax = make_fax(51, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + 1, 0),
    };
    CHECK_INT(idx_list_faxes(b, NULL, write_during_read, &s), 0);
    CHECK_INT(s.add_result, 0);
    CHECK_INT(s.rows, 1);
    struct ids ids = {0};
    CHECK_INT(idx_list_faxes(b, NULL, collect_fax, &ids), 0);
    CHECK_INT(ids.n, 2);
    /* And the other way round. */
    struct snapshot s2 = {
        .writer = b,
        .add_result = 99,
        .fax = make_fax(52, IDX_DIRECTION_TX, "111", IDX_STATUS_OK, DAY0 + 2, 0),
    };
    CHECK_INT(idx_list_faxes(a, NULL, write_during_read, &s2), 0);
    CHECK_INT(s2.add_result, 0);
    CHECK_INT(s2.rows, 2);
    /* The same source file from both handles: one row. */
    int64_t id_a, id_b;
    f = make_fax(53, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0 + 3, 0);
    CHECK_INT(idx_add_fax(a, &f, NULL, 0, &id_a), 0);
    CHECK_INT(idx_add_fax(b, &f, NULL, 0, &id_b), 1);
    CHECK_INT(id_a, id_b);
    idx_close(b);
    idx_close(a);

    /* Closed and reopened: everything is there. */
    struct idx *c = open_ok(dir);
    struct idx_stats st;
    struct idx_page got_pages[16] = {0};
    f = make_fax(50, IDX_DIRECTION_RX, "111", IDX_STATUS_OK, DAY0, 2);
    f.id = id1;
    CHECK_INT(idx_get_fax(c, id1, &got), 0);
    check_fax_equal(__LINE__, &got, &f);
    CHECK_INT(idx_get_pages(c, id1, collect_page, got_pages), 2);
    CHECK_STR(got_pages[1].hash, pages[1].hash);
    CHECK_INT(idx_stats(c, &st), 0);
    CHECK_INT(st.faxes, 4);
    CHECK_INT(st.pages, 2);
    idx_close(c);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

int
main(void)
{
    const char *base = getenv("TMPDIR");

    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/inkless-index-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_idempotent();
    test_list();
    test_usage();
    test_scrub_walks();
    test_migrations();
    test_wal_and_handles();
    if (nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        perror(tmpdir);
    return check_finish();
}
