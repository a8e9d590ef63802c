/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_archive: pages/s and bytes per page of the archive's ingest (issue 4). Each input fax
 * TIFF is copied N times as distinct spool files and each copy goes through arc_ingest_fax, the
 * daemon's own path: decode, canonicalise, hash, fsync, manifest, index commit.
 *
 * DESIGN: the first ingest of a document in a var dir stores new page objects ("first"); the
 * other N-1 copies find every page stored already ("repeat": a dedup of the pages, but a new
 * manifest, since each copy is another call with its own start time, and a new index row).
 * To time first ingests more than once, each round uses a fresh var dir under the one given.
 * Only the arc_ingest_fax call is timed; copying, opening and scanning are not. fsync and
 * fdatasync (ours and SQLite's) are interposed below to count them and time them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "index.h"
#include "ingest.h"
#include "page.h"

#define DEFAULT_COPIES 20
#define DEFAULT_ROUNDS 5
#define MAX_INPUT_LEN ((size_t)64 << 20) /* a fax TIFF is at most a few MiB */
#define STARTED_BASE 1714566896          /* 2024-05-01T12:34:56Z: fixed, so runs compare */

/* Time spent in fsync/fdatasync. The one global: an interposer has nowhere else to keep it,
 * and the bench runs on one thread. */
static struct {
    uint64_t calls;
    uint64_t ns;
} sync_stats;

static uint64_t
now_ns(clockid_t clock)
{
    struct timespec ts;

    (void)clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
timed_sync(long nr, int fd)
{
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    long r = syscall(nr, fd);
    sync_stats.ns += now_ns(CLOCK_MONOTONIC) - t0;
    sync_stats.calls++;
    return (int)r;
}

/* These replace libc's for the whole program: storage/ is linked statically, and the dynamic
 * linker finds the executable's definition first for libsqlite3 too (it calls fdatasync). */
int
fsync(int fd)
{
    return timed_sync(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
    return timed_sync(SYS_fdatasync, fd);
}

/* Sums over a set of timed ingests. */
struct timing {
    uint64_t faxes, pages;
    uint64_t wall_ns, cpu_ns;
    uint64_t syncs, sync_ns;
};

/* What the archive holds: objects, their bytes, and the blocks they take on disk. */
struct usage {
    uint64_t objects, bytes, disk;
};

struct result {
    const char *name; /* borrowed from argv */
    int pages;
    uint64_t raw_bytes;
    uint64_t manifest_bytes; /* the first copy's manifest */
    struct usage first;      /* round 0, after the first ingest */
    struct usage all;        /* round 0, after all copies */
    struct timing fresh, repeat;
};

static int __attribute__((format(printf, 4, 5)))
set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Format a path into buf; -ENAMETOOLONG if it does not fit. */
static int __attribute__((format(printf, 3, 4)))
make_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Read the whole file at path into a malloc'd buffer. Returns 0 or -errno. */
static int
read_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_INPUT_LEN) {
        int r = errno ? -errno : -EINVAL;
        close(fd);
        return r;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int r = n < 0 ? -errno : -EIO;
            free(buf);
            close(fd);
            return r;
        }
        got += (size_t)n;
    }
    close(fd);
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

/* Write a spool copy, durably, so that its write-back does not land in a timed ingest. */
static int
write_copy(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    int r = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        done += (size_t)n;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int
count_page(void *data, const struct arc_page *pg, int index)
{
    return 0;
}

struct scan_ctx {
    int objects_fd; /* archive/objects/ */
    struct usage *u;
};

static int
add_object(void *data, enum arc_scan_kind kind, const char *name, uint64_t size)
{
    struct scan_ctx *ctx = data;
    char rel[ARC_ID_HEX_LEN + 2];
    struct stat st;

    if (kind != ARC_SCAN_OBJECT)
        return 0;
    ctx->u->objects++;
    ctx->u->bytes += size;
    /* Objects live at objects/<2 hex>/<62 hex> (archive.h). */
    snprintf(rel, sizeof(rel), "%.2s/%s", name, name + 2);
    if (fstatat(ctx->objects_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
        ctx->u->disk += (uint64_t)st.st_blocks * 512;
    return 0;
}

static int
scan_usage(struct arc *arc, const char *var_dir, struct usage *ret_usage)
{
    char path[PATH_MAX];

    int r = make_path(path, sizeof(path), "%s/archive/objects", var_dir);
    if (r < 0)
        return r;
    struct scan_ctx ctx = {.objects_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                           .u = ret_usage};
    if (ctx.objects_fd < 0)
        return -errno;
    *ret_usage = (struct usage){0};
    r = arc_scan(arc, add_object, &ctx);
    close(ctx.objects_fd);
    return r;
}

/* A fax whose only purpose is to make the index's first write (WAL file, table pages) happen
 * before the timed ingests, as it has in a daemon that has been running a while. */
static int
warm_index(struct idx *idx)
{
    struct idx_fax fax = {.direction = IDX_DIRECTION_RX,
                          .status = IDX_STATUS_FAILED,
                          .started = STARTED_BASE,
                          .source_file = "warm-up"};
    int64_t id;

    int r = idx_add_fax(idx, &fax, NULL, 0, &id);
    return r < 0 ? r : 0;
}

static void
add_timing(struct timing *t, int pages, uint64_t wall_ns, uint64_t cpu_ns, uint64_t syncs,
           uint64_t sync_ns)
{
    t->faxes++;
    t->pages += (uint64_t)pages;
    t->wall_ns += wall_ns;
    t->cpu_ns += cpu_ns;
    t->syncs += syncs;
    t->sync_ns += sync_ns;
}

/* One round: a fresh var dir, copies spool files, each ingested once. Round 0 also measures
 * what the archive holds. Returns 0, or -errno with a message in err. */
static int
run_round(const char *var_dir, const char *stem, const uint8_t *tif, size_t tif_len, int copies,
          bool is_measure_usage, struct result *res, char *err, size_t errlen)
{
    char path[PATH_MAX], rx_dir[PATH_MAX];
    struct arc *arc = NULL;
    struct idx *idx = NULL;
    int r;

    r = make_path(rx_dir, sizeof(rx_dir), "%s/rx", var_dir);
    if (r < 0)
        return set_err(err, errlen, r, "%s: path too long", var_dir);
    if (mkdir(var_dir, 0700) < 0 || mkdir(rx_dir, 0700) < 0)
        return set_err(err, errlen, -errno, "mkdir %s: %s", rx_dir, strerror(errno));
    for (int i = 0; i < copies; i++) {
        r = make_path(path, sizeof(path), "%s/%s-%d.tif", rx_dir, stem, i);
        if (r == 0)
            r = write_copy(path, tif, tif_len);
        if (r < 0)
            return set_err(err, errlen, r, "%s: %s", path, strerror(-r));
    }
    r = arc_open(var_dir, &arc);
    if (r < 0)
        return set_err(err, errlen, r, "arc_open %s: %s", var_dir, strerror(-r));
    r = idx_open(var_dir, err, errlen, &idx);
    if (r == 0) {
        r = warm_index(idx);
        if (r < 0)
            set_err(err, errlen, r, "index warm-up: %s", idx_errmsg(idx));
    }

    for (int i = 0; r == 0 && i < copies; i++) {
        struct idx_fax fax = {
            .direction = IDX_DIRECTION_RX,
            .did = "4930123456",
            .remote_number = "4940987654",
            .remote_ident = "+49 40 987654",
            .trunk = "bench",
            .started = STARTED_BASE + i,
            .ended = STARTED_BASE + i + 60,
            .duration_ms = 60000,
            .status = IDX_STATUS_OK,
            .t30_text = "OK",
            .pages = res->pages,
            .bit_rate = 14400,
            .is_ecm = true,
            .transport = IDX_TRANSPORT_T38,
        };
        bool is_dup = false;

        snprintf(fax.call_id, sizeof(fax.call_id), "bench-%d@inkless", i);
        snprintf(fax.source_file, sizeof(fax.source_file), "%s-%d.tif", stem, i);
        r = make_path(path, sizeof(path), "%s/%s", rx_dir, fax.source_file);
        if (r < 0)
            break;

        uint64_t syncs0 = sync_stats.calls, sync_ns0 = sync_stats.ns;
        uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        uint64_t wall0 = now_ns(CLOCK_MONOTONIC);
        r = arc_ingest_fax(arc, idx, path, &fax, &is_dup, err, errlen);
        uint64_t wall = now_ns(CLOCK_MONOTONIC) - wall0;
        uint64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        if (r < 0)
            break;
        /* A partial fax would time a different path: the inputs must decode whole. */
        if (is_dup || fax.status != IDX_STATUS_OK) {
            r = set_err(err, errlen, -EBADMSG, "%s: not stored whole (%s)", path,
                        is_dup ? "already in the index" : fax.t30_text);
            break;
        }
        add_timing(i == 0 ? &res->fresh : &res->repeat, res->pages, wall, cpu,
                   sync_stats.calls - syncs0, sync_stats.ns - sync_ns0);
        /* The daemon removes the spool file after the ingest, too (ingest.h). */
        (void)unlink(path);

        if (is_measure_usage && i == 0) {
            uint8_t *buf = NULL;
            size_t len = 0;
            r = arc_get(arc, fax.manifest, &buf, &len);
            free(buf);
            res->manifest_bytes = len;
            if (r == 0)
                r = scan_usage(arc, var_dir, &res->first);
            if (r < 0)
                set_err(err, errlen, r, "reading the archive back: %s", strerror(-r));
        }
    }
    if (r == 0 && is_measure_usage) {
        r = scan_usage(arc, var_dir, &res->all);
        if (r < 0)
            set_err(err, errlen, r, "reading the archive back: %s", strerror(-r));
    }
    idx_close(idx);
    arc_close(arc);
    return r;
}

static int
bench_input(const char *var_root, int number, const char *path, int copies, int rounds,
            struct result *res, char *err, size_t errlen)
{
    char stem[128], var_dir[PATH_MAX];
    uint8_t *tif = NULL;
    size_t tif_len = 0;

    *res = (struct result){.name = base_name(path)};
    snprintf(stem, sizeof(stem), "%s", res->name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';

    int r = arc_read_pages(path, count_page, NULL, err, errlen);
    if (r < 0)
        return r;
    res->pages = r;
    r = read_file(path, &tif, &tif_len);
    if (r < 0)
        return set_err(err, errlen, r, "%s: %s", path, strerror(-r));
    res->raw_bytes = tif_len;
    for (int k = 0; r == 0 && k < rounds; k++) {
        /* The input's number keeps two inputs with the same name apart. */
        r = make_path(var_dir, sizeof(var_dir), "%s/%d-%s.r%d", var_root, number, stem, k);
        if (r < 0)
            set_err(err, errlen, r, "%s: path too long", var_root);
        else
            r = run_round(var_dir, stem, tif, tif_len, copies, k == 0, res, err, errlen);
    }
    free(tif);
    return r;
}

static double
per_page(uint64_t v, uint64_t pages)
{
    return pages ? (double)v / (double)pages : 0.0;
}

static double
pages_per_s(const struct timing *t)
{
    return t->wall_ns ? (double)t->pages * 1e9 / (double)t->wall_ns : 0.0;
}

static double
share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static void
print_results(const struct result *res, int n, int copies, int rounds)
{
    printf("\nSizes (round 0). raw = the received TIFF; arc = canonical page objects + the "
           "manifest;\ndisk = the blocks they take; repeat = what each further copy adds "
           "(its manifest).\n");
    printf("%-26s %5s %9s %9s %7s %9s %9s %9s\n", "input", "pages", "raw B/pg", "arc B/pg",
           "arc/raw", "disk B/pg", "rep B/pg", "rep disk");
    for (int i = 0; i < n; i++) {
        const struct result *r = &res[i];
        uint64_t pages = (uint64_t)r->pages;
        uint64_t reps = (uint64_t)(copies - 1) * pages;
        printf("%-26s %5d %9.0f %9.0f %7.3f %9.0f %9.1f %9.1f\n", r->name, r->pages,
               per_page(r->raw_bytes, pages), per_page(r->first.bytes, pages),
               share(r->first.bytes, r->raw_bytes), per_page(r->first.disk, pages),
               per_page(r->all.bytes - r->first.bytes, reps),
               per_page(r->all.disk - r->first.disk, reps));
    }

    printf("\nSpeed: first = %d fresh ingests (one per round), repeat = %d dedup ingests.\n"
           "ms/pg = wall time; fsync = share of wall time in fsync/fdatasync, syncs = calls "
           "per fax.\n",
           rounds, rounds * (copies - 1));
    printf("%-26s | %7s %6s %6s %6s %5s | %7s %6s %6s %6s %5s\n", "input", "first", "ms/pg", "CPU",
           "fsync", "syncs", "repeat", "ms/pg", "CPU", "fsync", "syncs");
    printf("%-26s | %7s %6s %6s %6s %5s | %7s %6s %6s %6s %5s\n", "", "pg/s", "", "ms/pg", "",
           "/fax", "pg/s", "", "ms/pg", "", "/fax");
    for (int i = 0; i < n; i++) {
        const struct timing *f = &res[i].fresh, *d = &res[i].repeat;
        printf("%-26s | %7.1f %6.2f %6.2f %5.1f%% %5.1f | %7.1f %6.2f %6.2f %5.1f%% %5.1f\n",
               res[i].name, pages_per_s(f), per_page(f->wall_ns, f->pages) / 1e6,
               per_page(f->cpu_ns, f->pages) / 1e6, 100 * share(f->sync_ns, f->wall_ns),
               per_page(f->syncs, f->faxes), pages_per_s(d), per_page(d->wall_ns, d->pages) / 1e6,
               per_page(d->cpu_ns, d->pages) / 1e6, 100 * share(d->sync_ns, d->wall_ns),
               per_page(d->syncs, d->faxes));
    }
    printf("\n");

    for (int i = 0; i < n; i++) {
        const struct result *r = &res[i];
        const struct timing *f = &r->fresh, *d = &r->repeat;
        uint64_t pages = (uint64_t)r->pages;
        uint64_t reps = (uint64_t)(copies - 1) * pages;
        printf("BENCH archive input=%s pages=%d copies=%d rounds=%d raw_bytes_per_page=%.0f "
               "archive_bytes_per_page=%.0f ratio=%.4f disk_bytes_per_page=%.0f "
               "manifest_bytes=%" PRIu64 " repeat_bytes_per_page=%.1f "
               "repeat_disk_bytes_per_page=%.1f "
               "fresh_pages_per_s=%.1f dedup_pages_per_s=%.1f fresh_cpu_ms_per_page=%.3f "
               "dedup_cpu_ms_per_page=%.3f fresh_wall_ms_per_page=%.3f "
               "dedup_wall_ms_per_page=%.3f fresh_fsync_share=%.3f dedup_fsync_share=%.3f "
               "fresh_syncs_per_fax=%.1f dedup_syncs_per_fax=%.1f\n",
               r->name, r->pages, copies, rounds, per_page(r->raw_bytes, pages),
               per_page(r->first.bytes, pages), share(r->first.bytes, r->raw_bytes),
               per_page(r->first.disk, pages), r->manifest_bytes,
               per_page(r->all.bytes - r->first.bytes, reps),
               per_page(r->all.disk - r->first.disk, reps), pages_per_s(f), pages_per_s(d),
               per_page(f->cpu_ns, f->pages) / 1e6, per_page(d->cpu_ns, d->pages) / 1e6,
               per_page(f->wall_ns, f->pages) / 1e6, per_page(d->wall_ns, d->pages) / 1e6,
               share(f->sync_ns, f->wall_ns), share(d->sync_ns, d->wall_ns),
               per_page(f->syncs, f->faxes), per_page(d->syncs, d->faxes));
    }
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: bench_archive [-n COPIES] [-r ROUNDS] VAR_DIR TIFF...\n"
            "  Ingests COPIES (default %d) spool copies of each fax TIFF with arc_ingest_fax,\n"
            "  in ROUNDS (default %d) fresh var dirs under VAR_DIR (created if missing; use\n"
            "  an empty temp dir on the disk to measure, not tmpfs). The first copy in each\n"
            "  round stores new pages, the others are dedups.\n",
            DEFAULT_COPIES, DEFAULT_ROUNDS);
}

static int
parse_count(const char *s, int min, int *ret)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > 100000)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

int
main(int argc, char **argv)
{
    int copies = DEFAULT_COPIES, rounds = DEFAULT_ROUNDS, c;
    char err[512] = "";

    while ((c = getopt(argc, argv, "hn:r:")) != -1) {
        switch (c) {
        case 'n':
            /* At least 2: one first ingest and one repeat. */
            if (parse_count(optarg, 2, &copies) < 0) {
                fprintf(stderr, "bench_archive: -n wants a number >= 2\n");
                return 2;
            }
            break;
        case 'r':
            if (parse_count(optarg, 1, &rounds) < 0) {
                fprintf(stderr, "bench_archive: -r wants a number >= 1\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind < 2) {
        usage(stderr);
        return 2;
    }
    const char *var_root = argv[optind];
    int n = argc - optind - 1;
    if (mkdir(var_root, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "bench_archive: %s: %s\n", var_root, strerror(errno));
        return 1;
    }

    struct statfs sfs;
    bool is_tmpfs = statfs(var_root, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
    printf("archive ingest: %d input(s), %d copies each, %d round(s), var dir %s%s\n", n, copies,
           rounds, var_root, is_tmpfs ? " (tmpfs: fsync costs nothing there)" : "");
    fflush(stdout);

    struct result *res = calloc((size_t)n, sizeof(*res));
    if (!res) {
        fprintf(stderr, "bench_archive: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const char *path = argv[optind + 1 + i];
        int r = bench_input(var_root, i, path, copies, rounds, &res[i], err, sizeof(err));
        if (r < 0) {
            if (err[0])
                fprintf(stderr, "bench_archive: %s: %s\n", res[i].name, err);
            else
                fprintf(stderr, "bench_archive: %s: %s\n", path, strerror(-r));
            free(res);
            return 1;
        }
        fprintf(stderr, "bench_archive: %s done\n", res[i].name);
    }
    print_results(res, n, copies, rounds);
    free(res);
    return 0;
}
