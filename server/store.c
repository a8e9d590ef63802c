/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Storage thread (see store.h). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "archive.h"
#include "call.h"
#include "index.h"
#include "ingest.h"
#include "jobs.h"
#include "log.h"
#include "loop.h"
#include "mq.h"
#include "spool.h"

#define STORE_QUEUE 4096
#define RESCAN_NS (5 * 1000000000ull)
#define PURGE_AGE_S 3600
#define STORE_NICE 10 /* added to the daemon's nice value for this thread */

enum store_cmd { STORE_CMD_RECORD = 1, STORE_CMD_PROGRESS, STORE_CMD_STOP };

struct store {
    pthread_t thread;
    struct loop *loop;
    struct mq *q;
    struct loop_io q_io;
    char var_dir[CFG_PATH_LEN];
    struct mq *sip_q;
    struct arc *arc;
    struct idx *idx;
    bool is_rx_retry; /* an ingest failed (disk, index): the rescan tries spool/rx again */
    int ifd;          /* inotify on spool/tx */
    struct loop_io in_io;
    struct timer rescan;
    struct jobs *jobs; /* outbound jobs (jobs.c) */
    /* spool/rx as store_start found it, before the SIP thread could take a call: a TIFF
     * without a record in it is an orphan of an earlier run. A TIFF that appears later is a
     * call in progress, which spandsp is still writing (listed by the storage thread, after
     * arc_clean_tmp, which takes seconds on a large archive, such a TIFF was ingested as an
     * orphan and removed, and the fax lost). */
    char (*startup)[256];
    size_t nstartup;
};

static void
sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* JSON string: quotes, backslashes and control characters escaped. */
static void
put_str(FILE *f, const char *key, const char *v, bool comma)
{
    fprintf(f, "  \"%s\": \"", key);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fprintf(f, "\"%s\n", comma ? "," : "");
}

/* Write rec as JSON next to its document (X.tif -> X.json, or X.call for a provisional
 * record), durably; the path written goes to path (size bytes). */
static int
write_record(const struct fax_record *rec, char *path, size_t size)
{
    const char *suffix = rec->is_provisional ? "call" : "json";
    char tmp[size + 8], dir[size];
    const struct fx38_result *r = &rec->done.result;
    size_t n = strlen(rec->file);

    if (n > 4 && strcmp(rec->file + n - 4, ".tif") == 0)
        n -= 4;
    if (snprintf(path, size, "%.*s.%s", (int)n, rec->file, suffix) >= (int)size)
        return -ENAMETOOLONG;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    /* The pages first: spandsp never fsyncs what it writes, and a record that survives a
     * power cut must not name a TIFF that did not. (No TIFF: a call without pages.) */
    int tfd = rec->is_provisional ? -1 : open(rec->file, O_RDONLY | O_CLOEXEC);
    if (tfd >= 0) {
        int synced = fsync(tfd) < 0 ? -errno : 0;
        close(tfd);
        if (synced < 0)
            return synced;
    }

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    char when[32];
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&rec->started, &tm));
    fprintf(f, "{\n");
    put_str(f, "call_id", rec->call_id, true);
    put_str(f, "direction", rec->direction, true);
    put_str(f, "did", rec->did, true);
    put_str(f, "remote", rec->remote, true);
    put_str(f, "remote_ident", r->remote_ident, true);
    put_str(f, "trunk", rec->trunk, true);
    put_str(f, "transport", rec->transport, true);
    put_str(f, "job", rec->job, true);
    put_str(f, "started", when, true);
    fprintf(f, "  \"duration_s\": %.3f,\n", rec->duration_s);
    fprintf(f, "  \"success\": %s,\n", r->is_success ? "true" : "false");
    fprintf(f, "  \"t30_status\": %d,\n", rec->done.error ? -1 : r->t30_status);
    put_str(f, "t30_text", rec->done.error ? strerror(-rec->done.error) : r->t30_text, true);
    fprintf(f, "  \"pages\": %d,\n", r->pages);
    fprintf(f, "  \"bit_rate\": %d,\n", r->bit_rate);
    fprintf(f, "  \"ecm\": %s,\n", r->ecm ? "true" : "false");
    fprintf(f, "  \"x_res\": %d,\n  \"y_res\": %d,\n", r->x_res, r->y_res);
    fprintf(f,
            "  \"udptl\": {\"packets\": %llu, \"recovered\": %llu, \"lost\": %llu, "
            "\"malformed\": %llu},\n",
            (unsigned long long)r->udptl.packets,
            (unsigned long long)(r->udptl.recovered_redundancy + r->udptl.recovered_fec),
            (unsigned long long)r->udptl.lost, (unsigned long long)r->udptl.malformed);
    put_str(f, "file", rec->file, false);
    fprintf(f, "}\n");
    /* A provisional record is not fsynced: it guards against the daemon dying (the page
     * cache survives that), as the TIFF beside it does; one fsync per call setup would
     * cost the storage thread more than the calls do. */
    int r1 = fflush(f) == 0 && (rec->is_provisional || fsync(fd) == 0) ? 0 : -errno;
    fclose(f);
    if (r1 == 0 && rename(tmp, path) < 0)
        r1 = -errno;
    if (r1 < 0) {
        unlink(tmp);
        return r1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    if (!rec->is_provisional)
        sync_dir(dirname(dir));
    return 0;
}

/* ---- received faxes into the archive ----
 *
 * A received fax is ingested from its two spool files: the TIFF spandsp wrote and the JSON
 * record written above. The live path and crash recovery are the same code: after phase E
 * the record is written, read back and ingested; at startup every record left in spool/rx is
 * ingested the same way. Only after the index commit are the spool files removed (TIFF
 * first, so a record without its TIFF means "ingested or never had pages"; the index's
 * unique source_file makes the repeat harmless). A TIFF without a record at startup is a fax
 * whose call never reported (the daemon died mid-call): its pages are kept as partial.
 */

static const char *
json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t
json_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v)
           : json_is_real(v)  ? (int64_t)json_real_value(v)
                              : 0;
}

/* Fill *fax from the record at json_path. -EBADMSG if it is not a record we wrote. */
static int
read_record(const char *json_path, struct idx_fax *fax)
{
    json_error_t jerr;
    json_t *o = json_load_file(json_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o) || !json_is_boolean(json_object_get(o, "success"))) {
        json_decref(o);
        return -EBADMSG;
    }
    fax->direction =
        strcmp(json_str(o, "direction"), "tx") == 0 ? IDX_DIRECTION_TX : IDX_DIRECTION_RX;
    snprintf(fax->did, sizeof(fax->did), "%s", json_str(o, "did"));
    snprintf(fax->remote_number, sizeof(fax->remote_number), "%s", json_str(o, "remote"));
    snprintf(fax->remote_ident, sizeof(fax->remote_ident), "%s", json_str(o, "remote_ident"));
    snprintf(fax->trunk, sizeof(fax->trunk), "%s", json_str(o, "trunk"));
    snprintf(fax->call_id, sizeof(fax->call_id), "%s", json_str(o, "call_id"));
    snprintf(fax->job, sizeof(fax->job), "%s", json_str(o, "job"));
    snprintf(fax->t30_text, sizeof(fax->t30_text), "%s", json_str(o, "t30_text"));
    struct tm tm = {0};
    const char *end = strptime(json_str(o, "started"), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fax->started = end && !*end ? (int64_t)timegm(&tm) : 0;
    json_t *d = json_object_get(o, "duration_s");
    fax->duration_ms = json_is_number(d) ? (int64_t)(json_number_value(d) * 1000.0) : 0;
    fax->ended = fax->started + fax->duration_ms / 1000;
    fax->t30_code = (int)json_num(o, "t30_status");
    fax->pages = (int)json_num(o, "pages");
    fax->bit_rate = (int)json_num(o, "bit_rate");
    fax->is_ecm = json_is_true(json_object_get(o, "ecm"));
    fax->transport = strcmp(json_str(o, "transport"), "t38") == 0    ? IDX_TRANSPORT_T38
                     : strcmp(json_str(o, "transport"), "g711") == 0 ? IDX_TRANSPORT_G711
                                                                     : IDX_TRANSPORT_NONE;
    fax->status = json_is_true(json_object_get(o, "success")) ? IDX_STATUS_OK : IDX_STATUS_PARTIAL;
    json_decref(o);
    return 0;
}

/* Ingest spool/rx/<base>.tif (if there) with the record <base>.json (if there), then remove
 * both. is_orphan: no record is expected (startup recovery of a TIFF without one). */
static int
ingest_rx(struct store *st, const char *base, bool is_orphan)
{
    char tif[CFG_PATH_LEN + 300], json[CFG_PATH_LEN + 300], call[CFG_PATH_LEN + 300], err[256],
        dir[CFG_PATH_LEN + 16];
    struct idx_fax fax = {.direction = IDX_DIRECTION_RX};
    struct stat sb;

    snprintf(dir, sizeof(dir), "%s/spool/rx", st->var_dir);
    snprintf(tif, sizeof(tif), "%s/%s.tif", dir, base);
    snprintf(json, sizeof(json), "%s/%s.json", dir, base);
    snprintf(call, sizeof(call), "%s/%s.call", dir, base);
    snprintf(fax.source_file, sizeof(fax.source_file), "%s.tif", base);
    bool has_tif = stat(tif, &sb) == 0;

    if (is_orphan || read_record(json, &fax) < 0) {
        /* No result: the call's details from its provisional record, if it got that far. */
        bool has_call = read_record(call, &fax) == 0;
        if (!is_orphan)
            log_warning("fax %s: record unreadable: keeping the pages%s", base,
                        has_call ? "" : " without call details");
        fax.direction = IDX_DIRECTION_RX;
        fax.status = IDX_STATUS_PARTIAL;
        fax.t30_code = -1;
        fax.pages = -1; /* count what arrived (usage) */
        if (!has_call)
            fax.started = has_tif ? (int64_t)sb.st_mtime : (int64_t)time(NULL);
        fax.ended = has_tif ? (int64_t)sb.st_mtime : fax.started;
        snprintf(fax.t30_text, sizeof(fax.t30_text),
                 "recovered after a restart: the call's result was not recorded");
    }
    bool is_dup = false;
    int r = arc_ingest_fax(st->arc, st->idx, has_tif ? tif : NULL, &fax, &is_dup, err, sizeof(err));
    if (r < 0) {
        st->is_rx_retry = true;
        return log_err(r, "fax %s: cannot store (kept in spool/rx, will retry): %s", base, err);
    }
    if (is_dup)
        log_info("fax %d stored already: %s", (int)fax.id, fax.source_file);
    else
        log_info("fax %d stored: %s from '%s' (%s) to %s, %d page(s) %s, %s (T.30 %d: %s), "
                 "manifest %.12s",
                 (int)fax.id, fax.source_file, fax.remote_number, fax.remote_ident, fax.did,
                 fax.pages, fax.resolution,
                 fax.status == IDX_STATUS_OK        ? "ok"
                 : fax.status == IDX_STATUS_PARTIAL ? "partial"
                                                    : "failed",
                 fax.t30_code, fax.t30_text, fax.manifest);
    if ((has_tif && unlink(tif) < 0 && errno != ENOENT) || (unlink(json) < 0 && errno != ENOENT) ||
        (unlink(call) < 0 && errno != ENOENT))
        log_warning("fax %s: stored, but cannot remove its spool files: %s", base, strerror(errno));
    sync_dir(dir);
    return 0;
}

/* The fax files in spool/rx: every record (a fax that ended, whose ingest did not finish);
 * with is_startup also the TIFFs (those without a record are orphans), and tmp files of
 * records are removed. The names go to *ret_names (malloc'd; free them); returns how many. */
static size_t
list_rx(const char *dir, bool is_startup, char (**ret_names)[256])
{
    *ret_names = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    /* Collect names first: ingesting removes entries while we would be reading them. */
    char(*names)[256] = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        bool is_json = len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
        bool is_tif = len > 4 && strcmp(e->d_name + len - 4, ".tif") == 0;
        bool is_call = len > 5 && strcmp(e->d_name + len - 5, ".call") == 0;
        if (is_startup && len > 9 &&
            (strcmp(e->d_name + len - 9, ".json.tmp") == 0 ||
             strcmp(e->d_name + len - 9, ".call.tmp") == 0)) {
            (void)unlinkat(dirfd(d), e->d_name, 0);
            continue;
        }
        if (!is_json && !(is_startup && (is_tif || is_call)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            void *p = realloc(names, cap * sizeof(*names));
            if (!p)
                break;
            names = p;
        }
        snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
    }
    closedir(d);
    *ret_names = names;
    return n;
}

/* Ingest what list_rx listed (the names are consumed): records first, then the TIFFs still
 * left (those without one). */
static void
ingest_listed(struct store *st, char (*names)[256], size_t n)
{
    char dir[CFG_PATH_LEN + 16];
    snprintf(dir, sizeof(dir), "%s/spool/rx", st->var_dir);
    st->is_rx_retry = false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strcmp(names[i] + len - 5, ".json") == 0) {
            names[i][len - 5] = '\0';
            (void)ingest_rx(st, names[i], false);
            names[i][0] = '\0';
        }
    }
    /* Then what has no result: TIFFs (with their provisional .call record if any), then
     * .call records alone (calls that ended with the daemon before a page arrived: kept as
     * failed faxes, so the call is on record). */
    for (int pass = 0; pass < 2; pass++) {
        const char *ext = pass == 0 ? ".tif" : ".call";
        for (size_t i = 0; i < n; i++) {
            char path[CFG_PATH_LEN + 300];
            size_t len = strlen(names[i]), elen = strlen(ext);
            if (len <= elen || strcmp(names[i] + len - elen, ext) != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            if (access(path, F_OK) < 0)
                continue; /* ingested with its record or its TIFF */
            names[i][len - elen] = '\0';
            log_warning("fax %s: received before a restart without a result: keeping %s", names[i],
                        pass == 0 ? "its pages" : "the call on record");
            (void)ingest_rx(st, names[i], true);
        }
    }
}

/* The rescan after a failed ingest: every record in spool/rx (never a TIFF alone: calls are
 * running, and their TIFFs are still being written). */
static void
scan_rx(struct store *st)
{
    char dir[CFG_PATH_LEN + 16];
    char(*names)[256];
    snprintf(dir, sizeof(dir), "%s/spool/rx", st->var_dir);
    size_t n = list_rx(dir, false, &names);
    ingest_listed(st, names, n);
    free(names);
}

/* Leftovers in spool/tmp (a job or a converted document whose `inkless send` died before
 * committing it) go to spool/purge/ for an operator to look at: nothing is deleted. Only
 * what is older than PURGE_AGE_S, since `inkless send` may be writing there right now. */
static void
purge_tmp(const struct store *st)
{
    char tmp[CFG_PATH_LEN + 16], purge[CFG_PATH_LEN + 16];
    snprintf(tmp, sizeof(tmp), "%s/spool/tmp", st->var_dir);
    snprintf(purge, sizeof(purge), "%s/spool/purge", st->var_dir);
    DIR *d = opendir(tmp);
    if (!d)
        return;
    int purge_fd = open(purge, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *e;
    time_t now = time(NULL);
    unsigned moved = 0;
    while (purge_fd >= 0 && (e = readdir(d))) {
        struct stat sb;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
            now - sb.st_mtime < PURGE_AGE_S)
            continue;
        if (renameat(dirfd(d), e->d_name, purge_fd, e->d_name) == 0)
            moved++;
    }
    if (purge_fd >= 0)
        close(purge_fd);
    closedir(d);
    if (moved > 0)
        log_warning("spool: moved %u leftover(s) of interrupted submissions from %s to %s", moved,
                    tmp, purge);
}

/* ---- outbound jobs: server/jobs.c, on this thread ---- */

static void
on_rescan(void *data)
{
    struct store *st = data;
    if (st->is_rx_retry)
        scan_rx(st);
    jobs_scan(st->jobs, false);
    (void)timer_arm(st->loop, &st->rescan, RESCAN_NS);
}

static void
on_inotify(void *data, int fd, uint32_t events)
{
    struct store *st = data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool overflow = false;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                overflow = true;
            else if (ev->len > 0)
                jobs_touch(st->jobs, ev->name);
            p += sizeof(*ev) + ev->len;
        }
    }
    if (overflow)
        jobs_scan(st->jobs, false);
}

/* ---- the queue ---- */

static void
on_command(void *data, const struct mq_msg *msg)
{
    struct store *st = data;
    if (msg->type == STORE_CMD_STOP) {
        loop_stop(st->loop);
        return;
    }
    if (msg->type == STORE_CMD_PROGRESS) {
        jobs_on_progress(st->jobs, msg->ptr, (int)msg->u64);
        free(msg->ptr);
        return;
    }
    struct fax_record *rec = msg->ptr;
    if (rec->is_provisional) {
        char path[320];
        int r = write_record(rec, path, sizeof(path));
        if (r < 0)
            log_warning("call %s: cannot write its provisional record: %s", rec->call_id,
                        strerror(-r));
        free(rec);
        return;
    }
    if (strcmp(rec->direction, "tx") == 0) {
        /* An attempt of an outbound job: the job keeps the record (its status file); the
         * result file is written when the job is finished, not per attempt. */
        jobs_on_record(st->jobs, rec);
        free(rec);
        return;
    }
    char json[320];
    int r = write_record(rec, json, sizeof(json));
    if (r < 0)
        log_error("call %s: cannot record the fax result for %s: %s", rec->call_id, rec->file,
                  strerror(-r));
    else if (strcmp(rec->direction, "rx") == 0) {
        /* X.json -> X: the ingest reads the record back, as recovery would. */
        char *base = strrchr(json, '/');
        base = base ? base + 1 : json;
        base[strlen(base) - 5] = '\0';
        if (ingest_rx(st, base, false) == 0)
            log_debug("call %s: fax ingested", rec->call_id);
    }
    free(rec);
}

static void
on_queue(void *data, int fd, uint32_t events)
{
    struct store *st = data;
    mq_drain(st->q, on_command, st);
}

static void *
store_main(void *arg)
{
    struct store *st = arg;
    (void)pthread_setname_np(pthread_self(), "store");
    /* Ingest (decode, canonicalise, fsync) is throughput work; the media ticks are not. At
     * a lower priority this thread yields its CPU at once when a media thread wakes for its
     * tick, instead of sharing it in slices that make the tick late. Nice is per thread on
     * Linux; renderers this thread starts inherit it. */
    id_t tid = (id_t)gettid();
    errno = 0;
    int prio = getpriority(PRIO_PROCESS, tid); /* -1 is also a valid nice value */
    if (errno == 0 &&
        setpriority(PRIO_PROCESS, tid, prio + STORE_NICE > 19 ? 19 : prio + STORE_NICE) < 0)
        log_debug("store: setpriority: %s", strerror(errno));
    /* Tmp files of puts a crash interrupted: only this thread writes the archive, and it has
     * not started yet. Then the faxes left from before a restart (listed by store_start),
     * before any new one ends. */
    unsigned removed = 0;
    if (arc_clean_tmp(st->arc, 0, &removed) == 0 && removed > 0)
        log_info("archive: removed %u temporary file(s) left by a crash", removed);
    ingest_listed(st, st->startup, st->nstartup);
    free(st->startup);
    st->startup = NULL;
    st->nstartup = 0;
    purge_tmp(st);
    jobs_scan(st->jobs, true); /* jobs left from before a restart, and new ones */
    (void)loop_run(st->loop);
    mq_drain(st->q, on_command, st); /* what was queued before STOP */
    return NULL;
}

static void
store_free(struct store *st)
{
    if (st->ifd >= 0)
        close(st->ifd);
    idx_close(st->idx);
    arc_close(st->arc);
    mq_free(st->q);
    jobs_free(st->jobs); /* before the loop its timer is on */
    loop_free(st->loop);
    free(st->startup);
    free(st);
}

struct store *
store_start(const struct cfg *cfg, struct mq *sip_q)
{
    const char *var_dir = cfg->var_dir;
    char path[CFG_PATH_LEN + 16];
    struct store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    snprintf(st->var_dir, sizeof(st->var_dir), "%s", var_dir);
    st->sip_q = sip_q;
    char err[IDX_ERR_LEN];
    int r = arc_open(var_dir, &st->arc);
    if (r < 0) {
        log_error("%s/archive: cannot open the archive: %s", var_dir, strerror(-r));
        free(st);
        errno = -r;
        return NULL;
    }
    r = idx_open(var_dir, err, sizeof(err), &st->idx);
    if (r < 0) {
        log_error("%s/%s: cannot open the index: %s", var_dir, IDX_FILE, err);
        arc_close(st->arc);
        free(st);
        errno = -r;
        return NULL;
    }
    st->ifd = -1;
    st->loop = loop_new(4);
    st->q = mq_new(STORE_QUEUE);
    st->jobs = st->loop ? jobs_new(cfg, var_dir, st->loop, sip_q) : NULL;
    st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    snprintf(path, sizeof(path), "%s/spool/tx", var_dir);
    if (!st->loop || !st->q || !st->jobs || st->ifd < 0 ||
        inotify_add_watch(st->ifd, path, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0 ||
        loop_add_io(st->loop, &st->q_io, mq_fd(st->q), EPOLLIN, on_queue, st) < 0 ||
        loop_add_io(st->loop, &st->in_io, st->ifd, EPOLLIN, on_inotify, st) < 0) {
        store_free(st);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/spool/rx", var_dir);
    st->nstartup = list_rx(path, true, &st->startup);
    timer_init(&st->rescan, on_rescan, st);
    (void)timer_arm(st->loop, &st->rescan, RESCAN_NS);
    if (pthread_create(&st->thread, NULL, store_main, st) != 0) {
        store_free(st);
        return NULL;
    }
    return st;
}

void
store_stop(struct store *st)
{
    if (!st)
        return;
    struct mq_msg stop = {.type = STORE_CMD_STOP};
    while (mq_send(st->q, &stop) < 0)
        usleep(1000); /* shutdown only: the thread is draining the queue */
    pthread_join(st->thread, NULL);
    store_free(st);
}

int
store_post_record(struct store *st, struct fax_record *rec)
{
    struct mq_msg msg = {.type = STORE_CMD_RECORD, .ptr = rec};
    return mq_send(st->q, &msg);
}

int
store_post_progress(struct store *st, const char *job_id, int pages)
{
    char *id = strdup(job_id);
    struct mq_msg msg = {.type = STORE_CMD_PROGRESS, .ptr = id, .u64 = (uint64_t)pages};
    if (!id || mq_send(st->q, &msg) < 0) {
        free(id);
        return -EAGAIN;
    }
    return 0;
}
