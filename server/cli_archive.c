/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `inkless inbox | show | export | scrub | stats | usage`: the archive and the index from the
 * command line (see cli.h). Read-only on the index; export and scrub re-hash the objects they read,
 * so a corrupt object is found (and moved to archive/corrupt/ by storage/archive.c). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "archive.h"
#include "export.h"
#include "index.h"
#include "manifest.h"

void
cli_archive_usage(FILE *f)
{
    fprintf(
        f, "       inkless [-c CONFIG] inbox [--did NUMBER] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
           "                [--status ok|partial|failed] [--direction rx|tx] [--limit N] [--json]\n"
           "  inbox   list faxes, newest first (dates are UTC days, both inclusive)\n"
           "       inkless [-c CONFIG] show ID [--json]\n"
           "  show    one fax: the call, its T.30 result and every page with its object id\n"
           "       inkless [-c CONFIG] export ID (--tiff OUT.tif | --pdf OUT.pdf)\n"
           "  export  write the fax as multi-page TIFF-F or PDF (pages verified by hash)\n"
           "       inkless [-c CONFIG] scrub [--json]\n"
           "  scrub   re-hash every archive object and check every index reference;\n"
           "          exit 0 if all is well, 1 if anything is missing or corrupt\n"
           "       inkless [-c CONFIG] stats [--json]\n"
           "  stats   faxes, pages, objects, bytes and the dedup ratio\n");
}

static const char *
direction_name(enum idx_direction d)
{
    return d == IDX_DIRECTION_TX ? "tx" : "rx";
}

static const char *
status_name(enum idx_status s)
{
    return s == IDX_STATUS_OK ? "ok" : s == IDX_STATUS_PARTIAL ? "partial" : "failed";
}

static const char *
transport_name(enum idx_transport t)
{
    return t == IDX_TRANSPORT_T38 ? "t38" : t == IDX_TRANSPORT_G711 ? "g711" : "";
}

static int
open_index(const struct cfg *cfg, struct idx **ret_idx)
{
    char err[IDX_ERR_LEN];
    int r = idx_open(cfg->var_dir, err, sizeof(err), ret_idx);
    if (r < 0)
        fprintf(stderr, "inkless: cannot open the index of var dir %s (from %s): %s\n",
                cfg->var_dir, cfg->path, err);
    return r;
}

static int
open_archive(const struct cfg *cfg, struct arc **ret_arc)
{
    int r = arc_open(cfg->var_dir, ret_arc);
    if (r < 0)
        fprintf(stderr, "inkless: %s/archive: %s\n", cfg->var_dir, strerror(-r));
    return r;
}

/* A fax id on the command line: a positive decimal number. */
static int
parse_id(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) {
        fprintf(stderr, "inkless: \"%s\" is not a fax id\n", s);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/* --did NUMBER into out (normalised), --direction rx|tx into *ret: 0, or -EINVAL with the
 * message printed. */
static int
parse_did(const char *arg, char *out, size_t size)
{
    if (cfg_normalize_number(arg, out, size) >= 0)
        return 0;
    fprintf(stderr, "inkless: --did %s: not a phone number\n", arg);
    return -EINVAL;
}

static int
parse_direction(const char *arg, enum idx_direction *ret)
{
    *ret = strcmp(arg, "rx") == 0   ? IDX_DIRECTION_RX
           : strcmp(arg, "tx") == 0 ? IDX_DIRECTION_TX
                                    : IDX_DIRECTION_ANY;
    if (*ret != IDX_DIRECTION_ANY)
        return 0;
    fprintf(stderr, "inkless: --direction is rx or tx\n");
    return -EINVAL;
}

/* No arguments left after the options (argv[optind] on), else a message: 0 or -EINVAL. */
static int
check_no_args(const char *cmd, int argc, char **argv)
{
    if (optind == argc)
        return 0;
    fprintf(stderr, "inkless: %s: unexpected argument \"%s\"\n", cmd, argv[optind]);
    return -EINVAL;
}

/* "YYYY-MM-DD" as the unix time of that UTC midnight. */
static int
parse_day(const char *s, int64_t *ret)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end || strlen(s) != 10) {
        fprintf(stderr, "inkless: \"%s\" is not a date (YYYY-MM-DD)\n", s);
        return -EINVAL;
    }
    *ret = (int64_t)timegm(&tm);
    return 0;
}

static void
format_time(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
}

static json_t *
fax_json(const struct idx_fax *f)
{
    return json_pack(
        "{sI ss ss ss ss ss ss ss sI sI sI ss si ss si si sb ss ss ss ss}", "id", (json_int_t)f->id,
        "direction", direction_name(f->direction), "did", f->did, "remote_number", f->remote_number,
        "remote_ident", f->remote_ident, "trunk", f->trunk, "call_id", f->call_id, "job", f->job,
        "started", (json_int_t)f->started, "ended", (json_int_t)f->ended, "duration_ms",
        (json_int_t)f->duration_ms, "status", status_name(f->status), "t30_code", f->t30_code,
        "t30_text", f->t30_text, "pages", f->pages, "bit_rate", f->bit_rate, "ecm", f->is_ecm,
        "transport", transport_name(f->transport), "resolution", f->resolution, "manifest",
        f->manifest, "source_file", f->source_file);
}

static void
print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (s)
        printf("%s\n", s);
    else
        fprintf(stderr, "inkless: out of memory\n");
    free(s);
    json_decref(j);
}

/* ---- inbox ---- */

struct inbox {
    bool is_json;
    int n;
};

static int
on_inbox_fax(void *data, const struct idx_fax *f)
{
    struct inbox *ib = data;
    if (ib->is_json) {
        print_json(fax_json(f));
    } else {
        char when[32];
        if (ib->n == 0)
            printf("%-6s %-19s %-2s %-15s %-15s %-20s %5s %-7s %s\n", "ID", "STARTED (UTC)", "",
                   "OUR NUMBER", "REMOTE", "REMOTE IDENT", "PAGES", "STATUS", "T.30");
        format_time(f->started, when, sizeof(when));
        printf("%-6" PRId64 " %-19s %-2s %-15s %-15s %-20s %5d %-7s %d %s\n", f->id, when,
               direction_name(f->direction), f->did, f->remote_number[0] ? f->remote_number : "-",
               f->remote_ident[0] ? f->remote_ident : "-", f->pages, status_name(f->status),
               f->t30_code, f->t30_text);
    }
    ib->n++;
    return 0;
}

int
cli_inbox(const struct cfg *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"did", required_argument, NULL, 'd'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"status", required_argument, NULL, 's'},
        {"direction", required_argument, NULL, 'D'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    struct idx_filter f = {.limit = 0};
    struct inbox ib = {.is_json = false};
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (parse_did(optarg, f.did, sizeof(f.did)) < 0)
                return 2;
            break;
        case 'f':
            if (parse_day(optarg, &f.started_from) < 0)
                return 2;
            break;
        case 't':
            if (parse_day(optarg, &f.started_to) < 0)
                return 2;
            f.started_to += 86400; /* the whole day */
            break;
        case 's':
            f.status = strcmp(optarg, "ok") == 0        ? IDX_STATUS_OK
                       : strcmp(optarg, "partial") == 0 ? IDX_STATUS_PARTIAL
                       : strcmp(optarg, "failed") == 0  ? IDX_STATUS_FAILED
                                                        : IDX_STATUS_ANY;
            if (f.status == IDX_STATUS_ANY) {
                fprintf(stderr, "inkless: --status is ok, partial or failed\n");
                return 2;
            }
            break;
        case 'D':
            if (parse_direction(optarg, &f.direction) < 0)
                return 2;
            break;
        case 'l':
            f.limit = atoi(optarg);
            if (f.limit <= 0) {
                fprintf(stderr, "inkless: --limit is a positive number\n");
                return 2;
            }
            break;
        case 'j':
            ib.is_json = true;
            break;
        default:
            return 2;
        }
    }
    if (check_no_args("inbox", argc, argv) < 0)
        return 2;
    struct idx *idx;
    if (open_index(cfg, &idx) < 0)
        return 1;
    int r = idx_list_faxes(idx, &f, on_inbox_fax, &ib);
    if (r < 0)
        fprintf(stderr, "inkless: inbox: %s\n", idx_errmsg(idx));
    else if (!ib.is_json && ib.n == 0)
        fprintf(stderr, "inkless: no faxes\n");
    idx_close(idx);
    return r < 0 ? 1 : 0;
}

/* ---- show ---- */

/* The pages of one fax, in order. */
struct page_list {
    struct idx_page *p;
    int n, cap;
};

static int
on_page(void *data, const struct idx_page *pg)
{
    struct page_list *pl = data;
    if (pl->n == pl->cap) {
        int cap = pl->cap ? pl->cap * 2 : 16;
        void *p = realloc(pl->p, (size_t)cap * sizeof(*pl->p));
        if (!p)
            return -ENOMEM;
        pl->p = p;
        pl->cap = cap;
    }
    pl->p[pl->n++] = *pg;
    return 0;
}

/* Fax id and its pages from the index. Prints why on failure. */
static int
load_fax(struct idx *idx, int64_t id, struct idx_fax *ret_fax, struct page_list *ret_pages)
{
    int r = idx_get_fax(idx, id, ret_fax);
    if (r == 0)
        r = idx_get_pages(idx, id, on_page, ret_pages);
    if (r == -ENOENT)
        fprintf(stderr, "inkless: no fax %" PRId64 "\n", id);
    else if (r < 0)
        fprintf(stderr, "inkless: fax %" PRId64 ": %s\n", id, idx_errmsg(idx));
    return r < 0 ? r : 0;
}

static void
show_text(const struct idx_fax *f, const struct page_list *pl)
{
    char started[32], ended[32];
    format_time(f->started, started, sizeof(started));
    format_time(f->ended, ended, sizeof(ended));
    printf("fax           %" PRId64 " (%s)\n", f->id,
           f->direction == IDX_DIRECTION_TX ? "sent" : "received");
    printf("status        %s, T.30 %d: %s\n", status_name(f->status), f->t30_code, f->t30_text);
    printf("our number    %s\n", f->did);
    printf("remote        %s, ident '%s'\n", f->remote_number[0] ? f->remote_number : "-",
           f->remote_ident);
    printf("trunk         %s\n", f->trunk);
    printf("call-id       %s\n", f->call_id[0] ? f->call_id : "-");
    if (f->job[0])
        printf("job           %s\n", f->job);
    printf("started       %s UTC, ended %s UTC, %.1f s\n", started, ended,
           (double)f->duration_ms / 1000.0);
    printf("pages         %d (stored %d), %s\n", f->pages, pl->n,
           f->resolution[0] ? f->resolution : "-");
    printf("transfer      %s, %d bit/s, ECM %s\n",
           transport_name(f->transport)[0] ? transport_name(f->transport) : "none", f->bit_rate,
           f->is_ecm ? "on" : "off");
    printf("manifest      %s\n", f->manifest[0] ? f->manifest : "-");
    printf("source        %s\n", f->source_file[0] ? f->source_file : "-");
    for (int i = 0; i < pl->n; i++)
        printf("page %-4d     %s  %dx%d at %dx%d dpi\n", pl->p[i].number, pl->p[i].hash,
               pl->p[i].width, pl->p[i].length, pl->p[i].xres, pl->p[i].yres);
}

static void
show_json(const struct idx_fax *f, const struct page_list *pl)
{
    json_t *j = fax_json(f), *pages = json_array();
    for (int i = 0; i < pl->n; i++)
        json_array_append_new(pages, json_pack("{si ss si si si si}", "number", pl->p[i].number,
                                               "hash", pl->p[i].hash, "width", pl->p[i].width,
                                               "length", pl->p[i].length, "xres", pl->p[i].xres,
                                               "yres", pl->p[i].yres));
    json_object_set_new(j, "page_list", pages);
    print_json(j);
}

int
cli_show(const struct cfg *cfg, int argc, char **argv)
{
    bool is_json = false;
    const char *id_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            is_json = true;
        else if (!id_arg && argv[i][0] != '-')
            id_arg = argv[i];
        else
            return fprintf(stderr, "usage: inkless show ID [--json]\n"), 2;
    }
    int64_t id;
    if (!id_arg)
        return fprintf(stderr, "usage: inkless show ID [--json]\n"), 2;
    if (parse_id(id_arg, &id) < 0)
        return 2;
    struct idx *idx;
    if (open_index(cfg, &idx) < 0)
        return 1;
    struct idx_fax f;
    struct page_list pl = {.n = 0};
    int r = load_fax(idx, id, &f, &pl);
    if (r == 0 && is_json)
        show_json(&f, &pl);
    else if (r == 0)
        show_text(&f, &pl);
    free(pl.p);
    idx_close(idx);
    return r < 0 ? 1 : 0;
}

/* ---- export ---- */

int
cli_export(const struct cfg *cfg, int argc, char **argv)
{
    static const char use[] = "usage: inkless export ID (--tiff OUT.tif | --pdf OUT.pdf)\n";
    const char *id_arg = NULL, *tiff = NULL, *pdf = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tiff") == 0 && i + 1 < argc)
            tiff = argv[++i];
        else if (strcmp(argv[i], "--pdf") == 0 && i + 1 < argc)
            pdf = argv[++i];
        else if (!id_arg && argv[i][0] != '-')
            id_arg = argv[i];
        else
            return fputs(use, stderr), 2;
    }
    int64_t id;
    if (!id_arg || !!tiff == !!pdf)
        return fputs(use, stderr), 2;
    if (parse_id(id_arg, &id) < 0)
        return 2;

    struct idx *idx;
    struct arc *arc = NULL;
    struct idx_fax f;
    struct page_list pl = {.n = 0};
    if (open_index(cfg, &idx) < 0)
        return 1;
    int r = load_fax(idx, id, &f, &pl);
    idx_close(idx);
    if (r == 0 && pl.n == 0) {
        fprintf(stderr, "inkless: fax %" PRId64 " has no pages stored (%s)\n", id,
                status_name(f.status));
        r = -ENOENT;
    }
    if (r == 0)
        r = open_archive(cfg, &arc);

    /* Every page read re-hashes: a corrupt object fails the export instead of going out. */
    struct arc_export_page *pages = r == 0 ? calloc((size_t)pl.n, sizeof(*pages)) : NULL;
    if (r == 0 && !pages)
        r = -ENOMEM;
    for (int i = 0; r == 0 && i < pl.n; i++) {
        uint8_t *buf;
        size_t len;
        r = arc_get(arc, pl.p[i].hash, &buf, &len);
        if (r < 0) {
            fprintf(stderr, "inkless: fax %" PRId64 " page %d: object %s: %s\n", id, pl.p[i].number,
                    pl.p[i].hash,
                    r == -EBADMSG  ? "corrupt (moved to archive/corrupt/)"
                    : r == -ENOENT ? "missing"
                                   : strerror(-r));
            break;
        }
        pages[i] = (struct arc_export_page){.buf = buf, .len = len};
    }
    if (r == 0 && tiff) {
        r = arc_export_tiff(pages, (size_t)pl.n, tiff);
        if (r < 0) {
            fprintf(stderr, "inkless: %s: %s\n", tiff, strerror(-r));
            (void)remove(tiff);
        }
    } else if (r == 0) {
        char title[128];
        snprintf(title, sizeof(title), "Fax %s %s", f.direction == IDX_DIRECTION_TX ? "to" : "from",
                 f.remote_number[0] ? f.remote_number : f.remote_ident);
        struct arc_pdf_meta meta = {.title = title, .created = (time_t)f.started};
        FILE *out = fopen(pdf, "wbe");
        r = out ? arc_export_pdf(pages, (size_t)pl.n, out, &meta) : -errno;
        if (out && fclose(out) != 0 && r == 0)
            r = -errno;
        if (r < 0) {
            fprintf(stderr, "inkless: %s: %s\n", pdf, strerror(-r));
            (void)remove(pdf);
        }
    }
    for (int i = 0; pages && i < pl.n; i++)
        free((void *)pages[i].buf);
    free(pages);
    free(pl.p);
    arc_close(arc);
    if (r == 0)
        fprintf(stderr, "inkless: fax %" PRId64 ": %d page(s) written to %s\n", id, pl.n,
                tiff ? tiff : pdf);
    return r < 0 ? 1 : 0;
}

/* ---- scrub and stats ---- */

/* What arc_scan saw: object ids (kept for re-hashing after the scan, since a corrupt object is
 * moved while verifying), and counts. */
struct scan {
    char (*ids)[ARC_ID_HEX_LEN + 1];
    size_t n, cap;
    uint64_t bytes, tmp, stray;
    bool is_verbose;
};

static int
on_scan(void *data, enum arc_scan_kind kind, const char *name, uint64_t size)
{
    struct scan *sc = data;
    if (kind == ARC_SCAN_TMP) {
        sc->tmp++;
        if (sc->is_verbose)
            printf("tmp      archive/%s (left by an interrupted write; removed at startup)\n",
                   name);
        return 0;
    }
    if (kind == ARC_SCAN_STRAY) {
        sc->stray++;
        if (sc->is_verbose)
            printf("stray    archive/%s (not an object)\n", name);
        return 0;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 1024;
        void *p = realloc(sc->ids, cap * sizeof(*sc->ids));
        if (!p)
            return -ENOMEM;
        sc->ids = p;
        sc->cap = cap;
    }
    snprintf(sc->ids[sc->n++], ARC_ID_HEX_LEN + 1, "%s", name);
    sc->bytes += size;
    return 0;
}

/* Referencing faxes of a missing or corrupt object, as " (fax 3, fax 9)". */
struct refs {
    char text[200];
    size_t len;
};

static int
on_ref(void *data, const struct idx_fax *f)
{
    struct refs *rf = data;
    if (rf->len < sizeof(rf->text) - 24)
        rf->len += (size_t)snprintf(rf->text + rf->len, sizeof(rf->text) - rf->len,
                                    "%sfax %" PRId64, rf->len ? ", " : "", f->id);
    return 0;
}

struct hash_list {
    char (*h)[ARC_ID_HEX_LEN + 1];
    int64_t *fax; /* manifests only: the fax that names it */
    size_t n, cap;
};

static int
add_hash(struct hash_list *hl, int64_t fax, const char *hash)
{
    if (hl->n == hl->cap) {
        size_t cap = hl->cap ? hl->cap * 2 : 1024;
        void *p = realloc(hl->h, cap * sizeof(*hl->h));
        if (!p)
            return -ENOMEM;
        hl->h = p;
        p = realloc(hl->fax, cap * sizeof(*hl->fax));
        if (!p)
            return -ENOMEM;
        hl->fax = p;
        hl->cap = cap;
    }
    snprintf(hl->h[hl->n], ARC_ID_HEX_LEN + 1, "%s", hash);
    hl->fax[hl->n++] = fax;
    return 0;
}

static int
on_page_hash(void *data, const char *hash)
{
    return add_hash(data, 0, hash);
}

static int
on_manifest(void *data, int64_t fax_id, const char *manifest)
{
    return add_hash(data, fax_id, manifest);
}

/* Does the manifest object say what the index says about the fax's pages? */
static int
check_manifest(struct arc *arc, struct idx *idx, int64_t fax_id, const char *id, char *why,
               size_t whylen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct arc_manifest m = {.n_pages = 0};
    struct page_list pl = {.n = 0};
    int r = arc_get(arc, id, &buf, &len);
    if (r < 0) {
        snprintf(why, whylen, "%s",
                 r == -ENOENT    ? "missing"
                 : r == -EBADMSG ? "corrupt (moved to archive/corrupt/)"
                                 : strerror(-r));
        return r;
    }
    r = arc_parse_manifest((const char *)buf, len, &m);
    free(buf);
    if (r < 0) {
        snprintf(why, whylen, "not a manifest");
        return r;
    }
    r = idx_get_pages(idx, fax_id, on_page, &pl);
    if (r >= 0 && (size_t)pl.n != m.n_pages) {
        snprintf(why, whylen, "lists %zu page(s), the index %d", m.n_pages, pl.n);
        r = -EBADMSG;
    }
    for (int i = 0; r >= 0 && i < pl.n; i++) {
        if (strcmp(pl.p[i].hash, m.pages[i].id) != 0) {
            snprintf(why, whylen, "page %d is %.12s…, the index says %.12s…", i + 1, m.pages[i].id,
                     pl.p[i].hash);
            r = -EBADMSG;
        }
    }
    free(pl.p);
    arc_manifest_release(&m);
    return r < 0 ? r : 0;
}

int
cli_scrub(const struct cfg *cfg, int argc, char **argv)
{
    bool is_json = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !is_json))
        return fprintf(stderr, "usage: inkless scrub [--json]\n"), 2;

    struct arc *arc;
    struct idx *idx;
    if (open_archive(cfg, &arc) < 0)
        return 1;
    if (open_index(cfg, &idx) < 0) {
        arc_close(arc);
        return 1;
    }
    struct scan sc = {.is_verbose = !is_json};
    struct hash_list pages = {.n = 0}, manifests = {.n = 0};
    struct idx_stats is;
    uint64_t corrupt = 0, missing = 0, bad_manifests = 0, errors = 0;

    int r = arc_scan(arc, on_scan, &sc);
    /* 1. Every object's bytes still hash to its name. */
    for (size_t i = 0; r == 0 && i < sc.n; i++) {
        int v = arc_verify(arc, sc.ids[i]);
        if (v == -EBADMSG) {
            corrupt++;
            struct refs rf = {.len = 0};
            (void)idx_list_faxes_by_page(idx, sc.ids[i], on_ref, &rf);
            printf("corrupt  %s: moved to archive/corrupt/%s%s%s\n", sc.ids[i],
                   rf.len ? " (page of " : "", rf.text, rf.len ? ")" : "");
        } else if (v < 0 && v != -ENOENT) {
            errors++;
            printf("error    %s: %s\n", sc.ids[i], strerror(-v));
        }
    }
    /* 2. Every page the index names exists (a corrupt one was just moved away: missing). */
    if (r == 0)
        r = idx_for_each_page_hash(idx, on_page_hash, &pages);
    for (size_t i = 0; r == 0 && i < pages.n; i++) {
        if (arc_has(arc, pages.h[i]) == 1)
            continue;
        missing++;
        struct refs rf = {.len = 0};
        (void)idx_list_faxes_by_page(idx, pages.h[i], on_ref, &rf);
        printf("missing  %s: page of %s\n", pages.h[i], rf.text);
    }
    /* 3. Every manifest exists, parses, and lists the index's pages in order. */
    if (r == 0)
        r = idx_for_each_fax_manifest(idx, on_manifest, &manifests);
    for (size_t i = 0; r == 0 && i < manifests.n; i++) {
        char why[160];
        if (check_manifest(arc, idx, manifests.fax[i], manifests.h[i], why, sizeof(why)) == 0)
            continue;
        bad_manifests++;
        printf("manifest %s of fax %" PRId64 ": %s\n", manifests.h[i], manifests.fax[i], why);
    }
    if (r == 0)
        r = idx_stats(idx, &is);
    if (r < 0)
        fprintf(stderr, "inkless: scrub: %s\n", r == -ENOMEM ? "out of memory" : idx_errmsg(idx));

    bool is_clean = r == 0 && corrupt + missing + bad_manifests + errors + sc.stray == 0;
    if (r == 0 && is_json)
        print_json(json_pack("{sI sI sI sI sI sI sI sI sb}", "objects", (json_int_t)sc.n, "corrupt",
                             (json_int_t)corrupt, "missing", (json_int_t)missing, "bad_manifests",
                             (json_int_t)bad_manifests, "tmp", (json_int_t)sc.tmp, "stray",
                             (json_int_t)sc.stray, "errors", (json_int_t)errors, "faxes",
                             (json_int_t)is.faxes, "clean", is_clean));
    else if (r == 0)
        printf("scrub: %zu object(s) re-hashed, %" PRIu64
               " corrupt; %zu page reference(s), %" PRIu64 " missing; %zu manifest(s), %" PRIu64
               " bad; %" PRIu64 " tmp, %" PRIu64 " stray; %" PRId64 " fax(es): %s\n",
               sc.n, corrupt, pages.n, missing, manifests.n, bad_manifests, sc.tmp, sc.stray,
               is.faxes, is_clean ? "clean" : "PROBLEMS FOUND");
    free(sc.ids);
    free(pages.h);
    free(pages.fax);
    free(manifests.h);
    free(manifests.fax);
    idx_close(idx);
    arc_close(arc);
    return is_clean ? 0 : 1;
}

int
cli_stats(const struct cfg *cfg, int argc, char **argv)
{
    bool is_json = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !is_json))
        return fprintf(stderr, "usage: inkless stats [--json]\n"), 2;
    struct arc *arc;
    struct idx *idx;
    if (open_archive(cfg, &arc) < 0)
        return 1;
    if (open_index(cfg, &idx) < 0) {
        arc_close(arc);
        return 1;
    }
    struct scan sc = {.is_verbose = false};
    struct idx_stats is;
    int r = arc_scan(arc, on_scan, &sc);
    if (r == 0)
        r = idx_stats(idx, &is);
    if (r < 0) {
        fprintf(stderr, "inkless: stats: %s\n", strerror(-r));
    } else {
        /* Pages as faxes name them, over distinct page objects: 2.0 = each stored twice. */
        double ratio = is.page_objects ? (double)is.pages / (double)is.page_objects : 1.0;
        if (is_json)
            print_json(json_pack(
                "{sI sI sI sI sI sI sI sI sI sI sf}", "faxes", (json_int_t)is.faxes, "faxes_rx",
                (json_int_t)is.faxes_rx, "faxes_tx", (json_int_t)is.faxes_tx, "faxes_ok",
                (json_int_t)is.faxes_ok, "faxes_partial", (json_int_t)is.faxes_partial,
                "faxes_failed", (json_int_t)is.faxes_failed, "pages", (json_int_t)is.pages,
                "page_objects", (json_int_t)is.page_objects, "objects", (json_int_t)sc.n, "bytes",
                (json_int_t)sc.bytes, "dedup_ratio", ratio));
        else
            printf("faxes         %" PRId64 " (%" PRId64 " received, %" PRId64 " sent; %" PRId64
                   " ok, %" PRId64 " partial, %" PRId64 " failed)\n"
                   "pages         %" PRId64 " in faxes, %" PRId64 " distinct page objects\n"
                   "objects       %zu (pages and manifests), %" PRIu64 " bytes\n"
                   "dedup ratio   %.2f\n",
                   is.faxes, is.faxes_rx, is.faxes_tx, is.faxes_ok, is.faxes_partial,
                   is.faxes_failed, is.pages, is.page_objects, sc.n, sc.bytes, ratio);
    }
    free(sc.ids);
    idx_close(idx);
    arc_close(arc);
    return r < 0 ? 1 : 0;
}

/* ---- usage ---- */

struct usage_out {
    bool is_json;
    int n;
    int64_t faxes, pages;
};

static int
on_usage(void *data, const struct idx_usage *u)
{
    struct usage_out *uo = data;
    if (uo->is_json) {
        print_json(json_pack("{ss ss ss sI sI}", "day", u->day, "did", u->did, "direction",
                             direction_name(u->direction), "faxes", (json_int_t)u->faxes, "pages",
                             (json_int_t)u->pages));
    } else {
        if (uo->n == 0)
            printf("%-10s %-15s %-2s %8s %8s\n", "DAY (UTC)", "NUMBER", "", "FAXES", "PAGES");
        printf("%-10s %-15s %-2s %8" PRId64 " %8" PRId64 "\n", u->day, u->did,
               direction_name(u->direction), u->faxes, u->pages);
    }
    uo->n++;
    uo->faxes += u->faxes;
    uo->pages += u->pages;
    return 0;
}

/* A day argument checked as parse_day does, copied into a filter field. */
static int
copy_day(const char *s, char *out, size_t size)
{
    int64_t t;
    if (parse_day(s, &t) < 0)
        return -EINVAL;
    snprintf(out, size, "%s", s);
    return 0;
}

int
cli_usage(const struct cfg *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"did", required_argument, NULL, 'd'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},  {"direction", required_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'j'},      {NULL, 0, NULL, 0},
    };
    struct idx_usage_filter f = {.direction = IDX_DIRECTION_ANY};
    struct usage_out uo = {.is_json = false};
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (parse_did(optarg, f.did, sizeof(f.did)) < 0)
                return 2;
            break;
        case 'f':
            if (copy_day(optarg, f.day_from, sizeof(f.day_from)) < 0)
                return 2;
            break;
        case 't':
            if (copy_day(optarg, f.day_to, sizeof(f.day_to)) < 0)
                return 2;
            break;
        case 'D':
            if (parse_direction(optarg, &f.direction) < 0)
                return 2;
            break;
        case 'j':
            uo.is_json = true;
            break;
        default:
            return 2;
        }
    }
    if (check_no_args("usage", argc, argv) < 0)
        return 2;
    struct idx *idx;
    if (open_index(cfg, &idx) < 0)
        return 1;
    int r = idx_usage(idx, &f, on_usage, &uo);
    if (r < 0)
        fprintf(stderr, "inkless: usage: %s\n", idx_errmsg(idx));
    else if (!uo.is_json)
        printf("%-10s %-15s %-2s %8" PRId64 " %8" PRId64 "\n", "total", "", "", uo.faxes, uo.pages);
    idx_close(idx);
    return r < 0 ? 1 : 0;
}
