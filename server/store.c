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
#include <unistd.h>

#include "call.h"
#include "log.h"
#include "loop.h"
#include "mq.h"
#include "spool.h"

#define STORE_QUEUE 4096
#define RESCAN_NS (5 * 1000000000ull)

enum store_cmd { STORE_CMD_RECORD = 1, STORE_CMD_STOP };

struct store {
    pthread_t thread;
    struct loop *loop;
    struct mq *q;
    struct loop_io q_io;
    char var_dir[CFG_PATH_LEN];
    struct mq *sip_q;
    int ifd; /* inotify on spool/tx */
    struct loop_io in_io;
    struct timer rescan;
    /* Jobs handed to the SIP thread already (so a rescan does not send them twice). */
    char (*posted)[SPOOL_ID_LEN];
    size_t nposted, cap;
};

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

static int
write_record(const struct fax_record *rec)
{
    char path[300], tmp[320], dir[300];
    const struct fx38_result *r = &rec->done.result;
    size_t n = strlen(rec->file);

    if (n > 4 && strcmp(rec->file + n - 4, ".tif") == 0)
        n -= 4;
    snprintf(path, sizeof(path), "%.*s.json", (int)n, rec->file);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

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
    fprintf(f, "  \"udptl\": {\"packets\": %llu, \"recovered\": %llu, \"lost\": %llu, "
               "\"malformed\": %llu},\n",
            (unsigned long long)r->udptl.packets,
            (unsigned long long)(r->udptl.recovered_redundancy + r->udptl.recovered_fec),
            (unsigned long long)r->udptl.lost, (unsigned long long)r->udptl.malformed);
    put_str(f, "file", rec->file, false);
    fprintf(f, "}\n");
    int r1 = fflush(f) == 0 && fsync(fd) == 0 ? 0 : -errno;
    fclose(f);
    if (r1 == 0 && rename(tmp, path) < 0)
        r1 = -errno;
    if (r1 < 0) {
        unlink(tmp);
        return r1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- outbound jobs ---- */

static bool
was_posted(const struct store *st, const char *id)
{
    for (size_t i = 0; i < st->nposted; i++)
        if (strcmp(st->posted[i], id) == 0)
            return true;
    return false;
}

static int
remember(struct store *st, const char *id)
{
    if (st->nposted == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        void *p = realloc(st->posted, cap * sizeof(*st->posted));
        if (!p)
            return -ENOMEM;
        st->posted = p;
        st->cap = cap;
    }
    snprintf(st->posted[st->nposted++], SPOOL_ID_LEN, "%s", id);
    return 0;
}

/* Load one job and give it to the SIP thread. Returns -EAGAIN when its queue is full. */
static int
pick_up(struct store *st, const char *id)
{
    if (spool_check_id(id) < 0 || was_posted(st, id))
        return 0;
    struct spool_job *job = malloc(sizeof(*job));
    if (!job)
        return -ENOMEM;
    int r = spool_load_job(st->var_dir, id, job);
    if (r == 0) {
        struct mq_msg msg = {.type = CALL_CMD_ORIGINATE, .ptr = job};
        r = mq_send(st->sip_q, &msg);
        if (r < 0) {
            free(job);
            return r; /* retried on the next rescan */
        }
        return remember(st, id);
    }
    free(job);
    if (r != -EALREADY)
        log_warning("job %s: cannot load: %s", id, strerror(-r));
    return remember(st, id); /* finished or broken: don't look again */
}

static void
scan(struct store *st)
{
    char path[CFG_PATH_LEN + 16];
    snprintf(path, sizeof(path), "%s/spool/tx", st->var_dir);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && pick_up(st, e->d_name) == -EAGAIN)
            break;
    closedir(d);
}

static void
on_rescan(void *data)
{
    struct store *st = data;
    scan(st);
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
                (void)pick_up(st, ev->name);
            p += sizeof(*ev) + ev->len;
        }
    }
    if (overflow)
        scan(st);
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
    struct fax_record *rec = msg->ptr;
    int r = write_record(rec);
    if (r < 0)
        log_error("call %s: cannot record the fax result for %s: %s", rec->call_id, rec->file,
                  strerror(-r));
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
    (void)loop_run(st->loop);
    mq_drain(st->q, on_command, st); /* what was queued before STOP */
    return NULL;
}

static void
store_free(struct store *st)
{
    if (st->ifd >= 0)
        close(st->ifd);
    mq_free(st->q);
    loop_free(st->loop);
    free(st->posted);
    free(st);
}

struct store *
store_start(const char *var_dir, struct mq *sip_q)
{
    char path[CFG_PATH_LEN + 16];
    struct store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    snprintf(st->var_dir, sizeof(st->var_dir), "%s", var_dir);
    st->sip_q = sip_q;
    st->loop = loop_new(4);
    st->q = mq_new(STORE_QUEUE);
    st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    snprintf(path, sizeof(path), "%s/spool/tx", var_dir);
    if (!st->loop || !st->q || st->ifd < 0 ||
        inotify_add_watch(st->ifd, path, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0 ||
        loop_add_io(st->loop, &st->q_io, mq_fd(st->q), EPOLLIN, on_queue, st) < 0 ||
        loop_add_io(st->loop, &st->in_io, st->ifd, EPOLLIN, on_inotify, st) < 0) {
        store_free(st);
        return NULL;
    }
    timer_init(&st->rescan, on_rescan, st);
    (void)timer_arm(st->loop, &st->rescan, 0); /* jobs left from before a restart */
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
