/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Media workers: N threads, each one loop with a timerfd tick, each owning the channels
 * attached to it for their whole life (STYLE §2).
 *
 * DESIGN: the SIP thread attaches, updates and detaches channels by message; a worker never
 * touches another thread's data and answers a detach with MEDIA_REPLY_RELEASED on the reply
 * queue, after which the channel slot may be reused. The tick passes the samples (8 kHz) that
 * really elapsed. Until the T.38 engine lands (issue #3) a channel only holds its slot and
 * negotiated media; the tick already walks it and measures its own lateness.
 */
#ifndef INKLESS_SERVER_MEDIA_H
#define INKLESS_SERVER_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "mq.h"
#include "sdp.h"

struct media_worker;

/* Worker-owned part of a call slot. Only the worker it is attached to reads or writes it. */
struct media_chan {
    struct media_chan *prev, *next; /* worker's active list */
    struct ua_media_desc media;     /* what we send/receive now */
    uint16_t local_port;
    uint64_t attached_ns;
    uint64_t ticks;
    void *owner;                    /* the struct call, returned in MEDIA_REPLY_RELEASED */
};

/* Replies a worker posts on the reply queue given to media_start(). */
enum media_reply {
    MEDIA_REPLY_RELEASED = 100, /* ptr = owner of the detached channel */
};

struct media_stats {
    uint64_t ticks;
    uint64_t late_ticks;     /* ticks that started more than one tick period late */
    uint64_t max_late_ns;
    int channels;
};

/* Start `n` workers with a `tick_ms` tick, each able to hold `max_channels` channels, replying
 * on `reply_q` (borrowed). Returns the pool or NULL (errno set). Main thread. */
struct media_pool *media_start(int n, int tick_ms, int max_channels, struct mq *reply_q);

/* Stop and join every worker, then free the pool. Channels still attached are dropped
 * without replies. Accepts NULL. Main thread. */
void media_stop(struct media_pool *pool);

int media_workers(const struct media_pool *pool);

/* Attach chan (its media, port and owner filled) to worker `w`. Ownership of *chan passes to
 * the worker until it replies RELEASED. Any thread; 0 or -EAGAIN (queue full). */
int media_attach(struct media_pool *pool, int w, struct media_chan *chan);

/* New negotiated media for an attached channel. `media` is copied. 0, -EAGAIN or -ENOMEM. */
int media_update(struct media_pool *pool, int w, struct media_chan *chan,
                 const struct ua_media_desc *media);

/* Detach; the worker replies MEDIA_REPLY_RELEASED with chan->owner. 0 or -EAGAIN. */
int media_detach(struct media_pool *pool, int w, struct media_chan *chan);

/* A snapshot of worker w's counters (racy reads of plain counters: for display only). */
void media_get_stats(const struct media_pool *pool, int w, struct media_stats *ret);

#endif
