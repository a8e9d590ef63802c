/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Media worker threads (see media.h). */
#include "media.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define SAMPLE_RATE 8000

enum media_cmd {
    MEDIA_CMD_ATTACH = 1,
    MEDIA_CMD_UPDATE, /* ptr = chan, u64 = (uintptr_t) heap copy of the new desc */
    MEDIA_CMD_DETACH,
    MEDIA_CMD_STOP,
};

struct media_worker {
    int index;
    pthread_t thread;
    bool is_started;
    struct loop *loop;
    struct mq *q;
    struct mq *reply_q;
    int tfd;
    struct loop_io tick_io, q_io;
    uint64_t tick_ns;
    uint64_t last_tick_ns;
    uint64_t sample_rem; /* ns not yet turned into whole samples */
    struct media_chan *chans;
    /* Counters, written by the worker only. */
    _Atomic uint64_t ticks, late_ticks, max_late_ns;
    atomic_int nchans;
};

struct media_pool {
    int n;
    struct media_worker w[];
};

static void
chan_unlink(struct media_worker *w, struct media_chan *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->chans = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    atomic_fetch_sub(&w->nchans, 1);
}

static void
on_tick(void *data, int fd, uint32_t events)
{
    struct media_worker *w = data;
    uint64_t expirations;

    if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
        return;
    uint64_t now = loop_now(w->loop);
    uint64_t elapsed = now - w->last_tick_ns;
    w->last_tick_ns = now;
    atomic_fetch_add(&w->ticks, 1);
    if (elapsed > 2 * w->tick_ns) {
        uint64_t late = elapsed - w->tick_ns;
        atomic_fetch_add(&w->late_ticks, 1);
        if (late > atomic_load(&w->max_late_ns))
            atomic_store(&w->max_late_ns, late);
    }
    /* Samples that really elapsed (STYLE §2.6), carrying the remainder between ticks. */
    uint64_t ns = elapsed + w->sample_rem;
    uint64_t samples = ns * SAMPLE_RATE / 1000000000ull;
    w->sample_rem = ns - samples * 1000000000ull / SAMPLE_RATE;
    (void)samples; /* TODO(#3): fx38_tick(chan->session, samples) for each channel. */
    for (struct media_chan *c = w->chans; c; c = c->next)
        c->ticks++;
}

static void
on_command(void *data, const struct mq_msg *msg)
{
    struct media_worker *w = data;
    struct media_chan *c = msg->ptr;

    switch (msg->type) {
    case MEDIA_CMD_ATTACH:
        c->prev = NULL;
        c->next = w->chans;
        if (w->chans)
            w->chans->prev = c;
        w->chans = c;
        c->attached_ns = loop_now(w->loop);
        c->ticks = 0;
        atomic_fetch_add(&w->nchans, 1);
        break;
    case MEDIA_CMD_UPDATE: {
        struct ua_media_desc *m = (struct ua_media_desc *)(uintptr_t)msg->u64;
        c->media = *m;
        free(m);
        break;
    }
    case MEDIA_CMD_DETACH: {
        chan_unlink(w, c);
        struct mq_msg reply = {.type = MEDIA_REPLY_RELEASED, .ptr = c->owner};
        /* The reply queue is sized for every channel: it cannot be full. */
        if (mq_send(w->reply_q, &reply) < 0)
            log_error("media worker %d: reply queue full, channel slot leaked", w->index);
        break;
    }
    case MEDIA_CMD_STOP:
        loop_stop(w->loop);
        break;
    }
}

static void
on_queue(void *data, int fd, uint32_t events)
{
    struct media_worker *w = data;
    mq_drain(w->q, on_command, w);
}

static void *
worker_main(void *arg)
{
    struct media_worker *w = arg;
    w->last_tick_ns = loop_update_now(w->loop);
    int r = loop_run(w->loop);
    if (r < 0)
        log_error("media worker %d: loop failed: %s", w->index, strerror(-r));
    return NULL;
}

static int
worker_init(struct media_worker *w, int index, int tick_ms, int max_channels, struct mq *reply_q)
{
    w->index = index;
    w->tfd = -1;
    w->reply_q = reply_q;
    w->tick_ns = (uint64_t)tick_ms * 1000000ull;
    w->loop = loop_new((size_t)max_channels * 4 + 64);
    /* Room for attach + update + detach of every channel, plus stop. */
    w->q = mq_new((size_t)max_channels * 3 + 16);
    if (!w->loop || !w->q)
        return -ENOMEM;
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->tfd < 0)
        return -errno;
    struct itimerspec its = {
        .it_interval = {.tv_sec = tick_ms / 1000, .tv_nsec = (tick_ms % 1000) * 1000000L},
        .it_value = {.tv_sec = tick_ms / 1000, .tv_nsec = (tick_ms % 1000) * 1000000L},
    };
    if (timerfd_settime(w->tfd, 0, &its, NULL) < 0)
        return -errno;
    int r = loop_add_io(w->loop, &w->tick_io, w->tfd, EPOLLIN, on_tick, w);
    if (r == 0)
        r = loop_add_io(w->loop, &w->q_io, mq_fd(w->q), EPOLLIN, on_queue, w);
    return r;
}

static void
worker_release(struct media_worker *w)
{
    if (w->tfd >= 0)
        close(w->tfd);
    mq_free(w->q);
    loop_free(w->loop);
}

struct media_pool *
media_start(int n, int tick_ms, int max_channels, struct mq *reply_q)
{
    struct media_pool *pool = calloc(1, sizeof(*pool) + (size_t)n * sizeof(struct media_worker));
    if (!pool)
        return NULL;
    pool->n = n;
    for (int i = 0; i < n; i++) {
        struct media_worker *w = &pool->w[i];
        int r = worker_init(w, i, tick_ms, max_channels, reply_q);
        if (r == 0)
            r = -pthread_create(&w->thread, NULL, worker_main, w);
        if (r < 0) {
            worker_release(w);
            pool->n = i;
            media_stop(pool);
            errno = -r;
            return NULL;
        }
        w->is_started = true;
    }
    return pool;
}

void
media_stop(struct media_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->n; i++) {
        struct media_worker *w = &pool->w[i];
        struct mq_msg stop = {.type = MEDIA_CMD_STOP};
        if (mq_send(w->q, &stop) < 0)
            loop_stop(w->loop);
    }
    for (int i = 0; i < pool->n; i++) {
        struct media_worker *w = &pool->w[i];
        if (w->is_started)
            pthread_join(w->thread, NULL);
        worker_release(w);
    }
    free(pool);
}

int
media_workers(const struct media_pool *pool)
{
    return pool->n;
}

int
media_attach(struct media_pool *pool, int w, struct media_chan *chan)
{
    struct mq_msg msg = {.type = MEDIA_CMD_ATTACH, .ptr = chan};
    return mq_send(pool->w[w].q, &msg);
}

int
media_update(struct media_pool *pool, int w, struct media_chan *chan,
             const struct ua_media_desc *media)
{
    struct ua_media_desc *copy = malloc(sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    *copy = *media;
    struct mq_msg msg = {.type = MEDIA_CMD_UPDATE, .ptr = chan, .u64 = (uintptr_t)copy};
    int r = mq_send(pool->w[w].q, &msg);
    if (r < 0)
        free(copy);
    return r;
}

int
media_detach(struct media_pool *pool, int w, struct media_chan *chan)
{
    struct mq_msg msg = {.type = MEDIA_CMD_DETACH, .ptr = chan};
    return mq_send(pool->w[w].q, &msg);
}

void
media_get_stats(const struct media_pool *pool, int w, struct media_stats *ret)
{
    const struct media_worker *mw = &pool->w[w];
    *ret = (struct media_stats){
        .ticks = atomic_load(&mw->ticks),
        .late_ticks = atomic_load(&mw->late_ticks),
        .max_late_ns = atomic_load(&mw->max_late_ns),
        .channels = atomic_load(&mw->nchans),
    };
}
