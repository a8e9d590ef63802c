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
        !is_clean(job->from) || !is_clean(job->header))
        return -EINVAL;
    if (access(tiff_path, R_OK) < 0)
        return -errno;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EIO;
    job->created = time(NULL);
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", gmtime_r(&job->created, &tm));
    snprintf(job->id, sizeof(job->id), "%s-%02x%02x%02x%02x%02x%02x", when, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);

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
    fprintf(f, "id=%s\nto=%s\ntrunk=%s\nfrom=%s\nheader=%s\ncreated=%lld\n", job->id, job->to,
            job->trunk, job->from, job->header, (long long)job->created);
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
        {"to", job->to, sizeof(job->to)},
        {"trunk", job->trunk, sizeof(job->trunk)},
        {"from", job->from, sizeof(job->from)},
        {"header", job->header, sizeof(job->header)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(key, fields[i].key) == 0)
            snprintf(fields[i].dst, fields[i].size, "%s", value);
    if (strcmp(key, "created") == 0)
        job->created = (time_t)strtoll(value, NULL, 10);
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
    if (access(path, F_OK) == 0)
        return -EALREADY;
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
    return 0;
}
