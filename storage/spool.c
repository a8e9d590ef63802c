/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Outbound spool (see spool.h). */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOB_FILE "job"
#define STATUS_FILE "status"
#define CANCEL_FILE "cancel"

/* snprintf into a path buffer; a path that does not fit is an error, never truncated. */
#define PATH_FMT(buf, ...)                                                                         \
    do {                                                                                           \
        int path_n_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                     \
        if (path_n_ < 0 || (size_t)path_n_ >= sizeof(buf))                                         \
            return -ENAMETOOLONG;                                                                  \
    } while (0)

static int
fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* Copy src to dst (created exclusively), fsynced. */
static int
copy_file(const char *src, const char *dst)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        int r = -errno;
        close(in);
        return r;
    }
    int r = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                r = -errno;
                break;
            }
            off += w;
        }
        if (r < 0)
            break;
    }
    if (r == 0 && fsync(out) < 0)
        r = -errno;
    close(in);
    if (close(out) < 0 && r == 0)
        r = -errno;
    return r;
}

/* A value may not contain newlines (it is one line of the job file) or control chars. */
static bool
is_clean(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20)
            return false;
    return true;
}

int
spool_check_id(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= SPOOL_ID_LEN)
        return -EINVAL;
    for (const char *p = name; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == 'T' || *p == 'Z' ||
              *p == '-'))
            return -EINVAL;
    return 0;
}

int
spool_submit(const char *var_dir, const char *tiff_path, struct spool_job *job)
{
    char tmpdir[512], txdir[512], path[600], txparent[512];
    unsigned char rnd[6];
    struct tm tm;
    char when[20];

    if (!job->to[0] || !job->trunk[0] || !is_clean(job->to) || !is_clean(job->trunk) ||
        !is_clean(job->from) || !is_clean(job->header) || !is_clean(job->owner))
        return -EINVAL;
    if (access(tiff_path, R_OK) < 0)
        return -errno;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EIO;
    job->created = time(NULL);
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", gmtime_r(&job->created, &tm));
    snprintf(job->id, sizeof(job->id), "%s-%02x%02x%02x%02x%02x%02x", when, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);

    /* A job may be queued before inklessd first ran (it makes the rest of the var dir). */
    const char *const dirs[] = {"", "/spool", "/spool/tmp", "/spool/tx"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        PATH_FMT(path, "%s%s", var_dir, dirs[i]);
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return -errno;
    }
    PATH_FMT(tmpdir, "%s/spool/tmp/%s", var_dir, job->id);
    PATH_FMT(txparent, "%s/spool/tx", var_dir);
    PATH_FMT(txdir, "%s/%s", txparent, job->id);
    PATH_FMT(job->document, "%s/" SPOOL_DOCUMENT, txdir);
    if (mkdir(tmpdir, 0750) < 0)
        return -errno;

    int r;
    snprintf(path, sizeof(path), "%s/" SPOOL_DOCUMENT, tmpdir); /* fits: tmpdir < 512 */
    r = copy_file(tiff_path, path);
    if (r < 0)
        goto fail;

    snprintf(path, sizeof(path), "%s/" JOB_FILE, tmpdir);
    FILE *f = fopen(path, "wx");
    if (!f) {
        r = -errno;
        goto fail;
    }
    fprintf(f,
            "id=%s\nto=%s\ntrunk=%s\nfrom=%s\nheader=%s\ncreated=%lld\npages=%d\nnot_before=%lld\n"
            "owner=%s\nmax_attempts=%d\n",
            job->id, job->to, job->trunk, job->from, job->header, (long long)job->created,
            job->pages, (long long)job->not_before, job->owner, job->max_attempts);
    r = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r < 0)
        goto fail;
    r = fsync_path(tmpdir, O_RDONLY | O_DIRECTORY);
    if (r < 0)
        goto fail;

    /* The commit point. */
    if (rename(tmpdir, txdir) < 0) {
        r = -errno;
        goto fail;
    }
    (void)fsync_path(txparent, O_RDONLY | O_DIRECTORY);
    return 0;

fail:
    snprintf(path, sizeof(path), "%s/" SPOOL_DOCUMENT, tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/" JOB_FILE, tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return r;
}

static void
set_field(struct spool_job *job, const char *key, const char *value)
{
    struct {
        const char *key;
        char *dst;
        size_t size;
    } fields[] = {
        {"to", job->to, sizeof(job->to)},          {"trunk", job->trunk, sizeof(job->trunk)},
        {"from", job->from, sizeof(job->from)},    {"header", job->header, sizeof(job->header)},
        {"owner", job->owner, sizeof(job->owner)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(key, fields[i].key) == 0)
            snprintf(fields[i].dst, fields[i].size, "%s", value);
    if (strcmp(key, "created") == 0)
        job->created = (time_t)strtoll(value, NULL, 10);
    if (strcmp(key, "pages") == 0)
        job->pages = atoi(value);
    if (strcmp(key, "not_before") == 0)
        job->not_before = (time_t)strtoll(value, NULL, 10);
    if (strcmp(key, "max_attempts") == 0)
        job->max_attempts = atoi(value);
}

int
spool_load_job(const char *var_dir, const char *id, struct spool_job *ret_job)
{
    char dir[512], path[600], line[512];

    if (spool_check_id(id) < 0)
        return -EINVAL;
    *ret_job = (struct spool_job){0};
    snprintf(ret_job->id, sizeof(ret_job->id), "%s", id);
    PATH_FMT(dir, "%s/spool/tx/%s", var_dir, id);
    PATH_FMT(ret_job->document, "%s/" SPOOL_DOCUMENT, dir);
    PATH_FMT(path, "%s/" SPOOL_RESULT, dir);
    bool is_finished = access(path, F_OK) == 0;
    PATH_FMT(path, "%s/" JOB_FILE, dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int nlines = 0;
    while (nlines++ < 64 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        set_field(ret_job, line, eq + 1);
    }
    fclose(f);
    if (!ret_job->to[0] || !ret_job->trunk[0])
        return -EINVAL;
    return is_finished ? -EALREADY : 0;
}

/* ---- status ---- */

static const char *const state_names[] = {
    [SPOOL_QUEUED] = "queued",   [SPOOL_CONVERTING] = "converting", [SPOOL_READY] = "ready",
    [SPOOL_DIALING] = "dialing", [SPOOL_SENDING] = "sending",       [SPOOL_DONE] = "done",
    [SPOOL_FAILED] = "failed",   [SPOOL_CANCELED] = "canceled",
};

const char *
spool_state_name(enum spool_state state)
{
    return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state]
                                                                          : "?";
}

int
spool_parse_state(const char *name, enum spool_state *ret_state)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(name, state_names[i]) == 0) {
            *ret_state = (enum spool_state)i;
            return 0;
        }
    return -EINVAL;
}

bool
spool_is_final(enum spool_state state)
{
    return state == SPOOL_DONE || state == SPOOL_FAILED || state == SPOOL_CANCELED;
}

void
spool_add_attempt(struct spool_status *status, const struct spool_attempt *attempt)
{
    int kept = status->nattempts < SPOOL_MAX_ATTEMPTS ? status->nattempts : SPOOL_MAX_ATTEMPTS;
    if (kept == SPOOL_MAX_ATTEMPTS) {
        memmove(&status->attempts[0], &status->attempts[1],
                (SPOOL_MAX_ATTEMPTS - 1) * sizeof(status->attempts[0]));
        kept--;
    }
    status->attempts[kept] = *attempt;
    status->nattempts++;
}

/* A text field written on one line: control characters become spaces. */
static void
put_text(FILE *f, const char *key, const char *v)
{
    fprintf(f, "%s=", key);
    for (; *v; v++)
        fputc((unsigned char)*v < 0x20 ? ' ' : *v, f);
    fputc('\n', f);
}

int
spool_save_status(const char *var_dir, const char *id, const struct spool_status *st)
{
    char dir[512], path[600], tmp[620];

    if (spool_check_id(id) < 0)
        return -EINVAL;
    PATH_FMT(dir, "%s/spool/tx/%s", var_dir, id);
    PATH_FMT(path, "%s/" STATUS_FILE, dir);
    PATH_FMT(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fprintf(f, "state=%s\npages_confirmed=%d\nnot_before=%lld\nnattempts=%d\n",
            spool_state_name(st->state), st->pages_confirmed, (long long)st->not_before,
            st->nattempts);
    put_text(f, "reason", st->reason);
    int kept = st->nattempts < SPOOL_MAX_ATTEMPTS ? st->nattempts : SPOOL_MAX_ATTEMPTS;
    for (int i = 0; i < kept; i++) {
        const struct spool_attempt *a = &st->attempts[i];
        /* The free text goes last: it may hold spaces. */
        char head[300];
        snprintf(head, sizeof(head), "attempt=%lld %lld %s %d %d %d %d %s ", (long long)a->started,
                 (long long)a->ended, a->trunk[0] ? a->trunk : "-", a->sip_status, a->t30_status,
                 a->first_page, a->pages_confirmed, a->outcome[0] ? a->outcome : "-");
        fputs(head, f);
        put_text(f, "text", a->text);
    }
    int r = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlink(tmp);
        return r;
    }
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

/* "attempt=S E TRUNK SIP T30 FIRST PAGES OUTCOME text=TEXT" (value after "attempt="). */
static int
parse_attempt(const char *v, struct spool_attempt *a)
{
    long long started, ended;
    int n = 0;
    *a = (struct spool_attempt){0};
    if (sscanf(v, "%lld %lld %63s %d %d %d %d %23s text=%n", &started, &ended, a->trunk,
               &a->sip_status, &a->t30_status, &a->first_page, &a->pages_confirmed, a->outcome,
               &n) != 8 ||
        n == 0)
        return -EINVAL;
    a->started = started;
    a->ended = ended;
    if (strcmp(a->trunk, "-") == 0)
        a->trunk[0] = '\0';
    if (strcmp(a->outcome, "-") == 0)
        a->outcome[0] = '\0';
    snprintf(a->text, sizeof(a->text), "%s", v + n);
    return 0;
}

int
spool_load_status(const char *var_dir, const char *id, struct spool_status *ret)
{
    char dir[512], path[600], line[1024];

    *ret = (struct spool_status){.state = SPOOL_QUEUED};
    if (spool_check_id(id) < 0)
        return -EINVAL;
    PATH_FMT(dir, "%s/spool/tx/%s", var_dir, id);
    if (access(dir, F_OK) < 0)
        return -errno;
    PATH_FMT(path, "%s/" STATUS_FILE, dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    int r = 0, nattempts = 0, kept = 0;
    for (int nlines = 0; r == 0 && nlines < 64 + SPOOL_MAX_ATTEMPTS && fgets(line, sizeof(line), f);
         nlines++) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "state") == 0)
            r = spool_parse_state(v, &ret->state);
        else if (strcmp(line, "pages_confirmed") == 0)
            ret->pages_confirmed = atoi(v);
        else if (strcmp(line, "not_before") == 0)
            ret->not_before = strtoll(v, NULL, 10);
        else if (strcmp(line, "nattempts") == 0)
            nattempts = atoi(v);
        else if (strcmp(line, "reason") == 0)
            snprintf(ret->reason, sizeof(ret->reason), "%s", v);
        else if (strcmp(line, "attempt") == 0 && kept < SPOOL_MAX_ATTEMPTS)
            r = parse_attempt(v, &ret->attempts[kept++]);
    }
    fclose(f);
    if (r < 0 || ret->pages_confirmed < 0 || nattempts < kept)
        return -EINVAL;
    ret->nattempts = nattempts;
    return 0;
}

int
spool_cancel(const char *var_dir, const char *id)
{
    char dir[512], path[600];
    struct spool_status st;

    int r = spool_load_status(var_dir, id, &st);
    if (r < 0)
        return r;
    if (spool_is_final(st.state))
        return -EALREADY;
    PATH_FMT(dir, "%s/spool/tx/%s", var_dir, id);
    PATH_FMT(path, "%s/" CANCEL_FILE, dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r < 0 ? r : fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

bool
spool_is_cancel_requested(const char *var_dir, const char *id)
{
    char path[600];
    if (spool_check_id(id) < 0 || snprintf(path, sizeof(path), "%s/spool/tx/%s/" CANCEL_FILE,
                                           var_dir, id) >= (int)sizeof(path))
        return false;
    return access(path, F_OK) == 0;
}
