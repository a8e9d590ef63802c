/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Media worker threads (see media.h).
 *
 * A channel's life on its worker:
 *   ATTACH   bind the UDP socket on our media port; T.38 → start the fax session
 *   UPDATE   new SDP (re-INVITE): new far address; audio → T.38 starts the fax session,
 *            T.38 → T.38 applies the new parameters
 *   packets  fx38_rx_udptl(); the tick runs fx38_tick() with the samples really elapsed
 *   phase E  MEDIA_REPLY_FAX_DONE to the SIP thread, which hangs up
 *   DETACH   terminate the fax if still running (partial result), free it, close the socket,
 *            MEDIA_REPLY_RELEASED
 * Packets from addresses other than the negotiated one are still accepted (carriers send
 * from other ports than they announce), but we always send to the negotiated address.
 */
#include "media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

#define SAMPLE_RATE 8000
#define RX_BATCH 32 /* datagrams read per readable event before yielding to other fds */

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
    const struct media_options *opts;
    struct loop *loop;
    struct mq *q;
    struct mq *reply_q;
    int tfd;
    struct loop_io tick_io, q_io;
    uint64_t last_tick_ns;
    uint64_t sample_rem; /* sample-ns not yet turned into whole samples */
    struct media_chan *chans;
    uint8_t rxbuf[2048];
    /* Counters, written by the worker only. */
    _Atomic uint64_t ticks, late_ticks, max_late_ns;
    atomic_int nchans;
};

struct media_pool {
    struct media_options opts;
    int n;
    struct media_worker w[];
};

/* ---- replies ---- */

static void
reply(struct media_worker *w, int type, void *owner, void *payload)
{
    struct mq_msg msg = {.type = type, .ptr = owner, .u64 = (uintptr_t)payload};
    /* The reply queue holds a message per channel and more: full means a bug, not load. */
    if (mq_send(w->reply_q, &msg) < 0) {
        log_error("media worker %d: reply queue full, message %d lost", w->index, type);
        free(payload);
    }
}

static void
report_done(struct media_worker *w, struct media_chan *c, const struct fx38_result *r, int error)
{
    struct media_fax_done *done = calloc(1, sizeof(*done));
    if (!done) {
        log_error("media worker %d: out of memory for a fax result", w->index);
        return;
    }
    if (r)
        done->result = *r;
    done->error = error;
    c->is_fax_done = true;
    reply(w, MEDIA_REPLY_FAX_DONE, c->owner, done);
}

/* ---- the fax session's callbacks (inside fx38_rx_udptl / fx38_tick / fx38_terminate) ---- */

static void
fax_send(void *data, const uint8_t *pkt, size_t len)
{
    struct media_chan *c = data;
    if (c->fd < 0 || c->remote_len == 0)
        return;
    if (sendto(c->fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)&c->remote, c->remote_len) <
        0)
        c->tx_errors++; /* EAGAIN, ENOBUFS, ECONNREFUSED: never abort the fax (pitfall 3) */
}

static __thread struct media_worker *current_worker;

/* Phase D of a fax we send: tell the SIP thread (and through it the job's record) how many
 * pages the far end has confirmed, so a resumed job never sends them again. Best effort: the
 * phase E result carries the final count anyway. */
static void
fax_page(void *data, int pages)
{
    struct media_chan *c = data;
    struct mq_msg msg = {.type = MEDIA_REPLY_PAGE, .ptr = c->owner, .u64 = (uint64_t)pages};
    if (mq_send(current_worker->reply_q, &msg) < 0)
        log_debug("media worker %d: reply queue full: page progress %d not reported",
                  current_worker->index, pages);
}

static void
fax_done(void *data, const struct fx38_result *r)
{
    struct media_chan *c = data;
    /* Only report here; the session is freed on DETACH, never inside phase E (pitfall 5). */
    report_done(current_worker, c, r, 0);
}

/* ---- channels ---- */

static int
remote_from_desc(struct media_chan *c)
{
    const struct ua_media_desc *m = &c->media;
    memset(&c->remote, 0, sizeof(c->remote));
    c->remote_len = 0;
    if (m->port == 0)
        return -EINVAL;
    if (m->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->remote;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(m->port);
        if (inet_pton(AF_INET6, m->addr, &a->sin6_addr) != 1)
            return -EINVAL;
        c->remote_len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&c->remote;
        a->sin_family = AF_INET;
        a->sin_port = htons(m->port);
        if (inet_pton(AF_INET, m->addr, &a->sin_addr) != 1)
            return -EINVAL;
        c->remote_len = sizeof(*a);
    }
    return 0;
}

static void
params_from_desc(const struct media_options *o, const struct ua_media_desc *m,
                 struct fx38_params *ret)
{
    *ret = (struct fx38_params){
        .version = m->t38.version > 3 ? 3 : m->t38.version,
        .max_bitrate = m->t38.max_bitrate,
        .fill_bit_removal = m->t38.fill_bit_removal,
        .far_max_datagram = m->t38.max_datagram,
        .ec = m->t38.ec == UA_T38_EC_FEC          ? FX38_UDPTL_EC_FEC
              : m->t38.ec == UA_T38_EC_REDUNDANCY ? FX38_UDPTL_EC_REDUNDANCY
                                                  : FX38_UDPTL_EC_NONE,
        .redundancy_control = o->redundancy_control,
        .redundancy_image = o->redundancy_image,
        .fec_span = o->fec_span,
        .fec_entries = o->fec_entries,
    };
}

static void on_packets(void *data, int fd, uint32_t events);

static int
open_socket(struct media_worker *w, struct media_chan *c)
{
    const char *addr = w->opts->bind_addr;
    bool v6 = strchr(addr, ':') != NULL;
    struct sockaddr_storage ss = {0};
    socklen_t len;

    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(c->local_port);
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            return -EINVAL;
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(c->local_port);
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            return -EINVAL;
        len = sizeof(*a);
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    int r = loop_add_io(w->loop, &c->io, fd, EPOLLIN, on_packets, c);
    if (r < 0) {
        close(fd);
        return r;
    }
    c->fd = fd;
    return 0;
}

static void
start_fax(struct media_worker *w, struct media_chan *c)
{
    struct fx38_params params;
    struct fx38_fax fax = w->opts->fax;
    int err = 0;

    fax.direction = c->direction;
    fax.is_caller = c->is_caller;
    fax.file = c->file;
    fax.first_page = c->direction == FX38_SEND && c->first_page > 0 ? c->first_page : -1;
    fax.last_page = -1;
    fax.local_ident = w->opts->ident;
    fax.header = w->opts->header;
    if (c->ecm >= 0)
        fax.ecm = c->ecm != 0;
    /* A retry's fallback (server/sched.c): slower modems only. */
    if (c->max_rate > 0 && c->max_rate <= 4800)
        fax.modems &= FX38_MODEM_V27TER;
    else if (c->max_rate > 0 && c->max_rate <= 9600)
        fax.modems &= FX38_MODEM_V29 | FX38_MODEM_V27TER;
    params_from_desc(w->opts, &c->media, &params);
    c->fax = fx38_session_new(&fax, &params, fax_send, fax_done, c, &err);
    if (!c->fax)
        report_done(w, c, NULL, err ? err : -ENOMEM);
    else if (c->direction == FX38_SEND)
        fx38_set_page_handler(c->fax, fax_page);
}

static void
chan_attach(struct media_worker *w, struct media_chan *c)
{
    c->prev = NULL;
    c->next = w->chans;
    if (w->chans)
        w->chans->prev = c;
    w->chans = c;
    c->fd = -1;
    c->fax = NULL;
    c->is_fax_done = false;
    c->tx_errors = 0;
    c->ticks = 0;
    c->attached_ns = loop_now(w->loop);
    atomic_fetch_add(&w->nchans, 1);

    (void)remote_from_desc(c);
    int r = open_socket(w, c);
    if (r < 0) {
        report_done(w, c, NULL, r);
        return;
    }
    if (c->media.kind == UA_MEDIA_T38 && !c->is_waiting_answer)
        start_fax(w, c);
}

static void
chan_update(struct media_worker *w, struct media_chan *c, const struct ua_media_desc *m)
{
    c->media = *m;
    c->is_waiting_answer = false;
    (void)remote_from_desc(c);
    if (c->media.kind != UA_MEDIA_T38 || c->is_fax_done || c->fd < 0)
        return; /* TODO(#6): audio after T.38, and fax over G.711 */
    if (!c->fax) {
        start_fax(w, c);
    } else {
        struct fx38_params params;
        params_from_desc(w->opts, &c->media, &params);
        fx38_set_params(c->fax, &params);
    }
}

static void
chan_detach(struct media_worker *w, struct media_chan *c)
{
    if (c->fax) {
        fx38_terminate(c->fax); /* reports a partial result if phase E had not come */
        fx38_session_free(c->fax);
        c->fax = NULL;
    }
    if (c->fd >= 0) {
        loop_del_io(w->loop, &c->io);
        close(c->fd);
        c->fd = -1;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        w->chans = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    atomic_fetch_sub(&w->nchans, 1);
    reply(w, MEDIA_REPLY_RELEASED, c->owner, NULL);
}

static void
on_packets(void *data, int fd, uint32_t events)
{
    struct media_chan *c = data;
    struct media_worker *w = current_worker;

    for (int i = 0; i < RX_BATCH; i++) {
        ssize_t n = recv(fd, w->rxbuf, sizeof(w->rxbuf), MSG_DONTWAIT);
        if (n < 0)
            break; /* EAGAIN, or an ICMP error from an earlier send: nothing to read */
        if (c->fax && !c->is_fax_done)
            (void)fx38_rx_udptl(c->fax, w->rxbuf, (size_t)n);
        /* TODO(#6): RTP for G.711. Audio packets before a T.38 switch are read and dropped. */
    }
}

/* ---- the tick ---- */

static void
on_tick(void *data, int fd, uint32_t events)
{
    struct media_worker *w = data;
    uint64_t expirations;

    if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
        return;
    uint64_t now = loop_now(w->loop);
    uint64_t elapsed = now - w->last_tick_ns;
    uint64_t period = (uint64_t)w->opts->tick_ms * 1000000ull / (uint64_t)w->opts->speedup;
    w->last_tick_ns = now;
    atomic_fetch_add(&w->ticks, 1);
    if (elapsed > 2 * period) {
        uint64_t late = elapsed - period;
        atomic_fetch_add(&w->late_ticks, 1);
        if (late > atomic_load(&w->max_late_ns))
            atomic_store(&w->max_late_ns, late);
    }
    /* Samples that really elapsed (STYLE §2.6), times the test-only speedup, carrying the
     * remainder so no sample is lost between ticks. */
    uint64_t sample_ns = elapsed * (uint64_t)w->opts->speedup * SAMPLE_RATE + w->sample_rem;
    uint64_t samples = sample_ns / 1000000000ull;
    w->sample_rem = sample_ns % 1000000000ull;
    if (samples > 8 * SAMPLE_RATE)
        samples = 8 * SAMPLE_RATE; /* after a stall, don't fire every T.30 timer at once */

    /* In the channel's own clock (speedup included), like every other fax timer. */
    uint64_t t38_deadline = (uint64_t)w->opts->t38_timeout_s * 1000 / (uint64_t)w->opts->tick_ms;
    for (struct media_chan *c = w->chans; c; c = c->next) {
        c->ticks++;
        if (c->fax && !c->is_fax_done)
            fx38_tick(c->fax, (int)samples);
        else if (!c->fax && !c->is_fax_done && c->ticks > t38_deadline)
            report_done(w, c, NULL, -ETIMEDOUT); /* TODO(#6): fax over G.711 instead */
    }
}

/* ---- commands ---- */

static void
on_command(void *data, const struct mq_msg *msg)
{
    struct media_worker *w = data;
    struct media_chan *c = msg->ptr;

    switch (msg->type) {
    case MEDIA_CMD_ATTACH:
        chan_attach(w, c);
        break;
    case MEDIA_CMD_UPDATE: {
        struct ua_media_desc *m = (struct ua_media_desc *)(uintptr_t)msg->u64;
        chan_update(w, c, m);
        free(m);
        break;
    }
    case MEDIA_CMD_DETACH:
        chan_detach(w, c);
        break;
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
    current_worker = w;
    w->last_tick_ns = loop_update_now(w->loop);
    int r = loop_run(w->loop);
    if (r < 0)
        log_error("media worker %d: loop failed: %s", w->index, strerror(-r));
    /* Stopped with channels still attached (shutdown): free them, no replies. */
    while (w->chans) {
        struct media_chan *c = w->chans;
        w->chans = c->next;
        fx38_session_free(c->fax);
        c->fax = NULL;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    return NULL;
}

static int
worker_init(struct media_worker *w, int index, const struct media_options *opts, struct mq *reply_q)
{
    w->index = index;
    w->tfd = -1;
    w->opts = opts;
    w->reply_q = reply_q;
    w->loop = loop_new((size_t)opts->max_channels * 4 + 64);
    /* Room for attach + update + detach of every channel, plus stop. */
    w->q = mq_new((size_t)opts->max_channels * 3 + 16);
    if (!w->loop || !w->q)
        return -ENOMEM;
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->tfd < 0)
        return -errno;
    long period_ns = (long)opts->tick_ms * 1000000L / opts->speedup;
    struct itimerspec its = {
        .it_interval = {.tv_sec = period_ns / 1000000000L, .tv_nsec = period_ns % 1000000000L},
        .it_value = {.tv_sec = period_ns / 1000000000L, .tv_nsec = period_ns % 1000000000L},
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
media_start(const struct media_options *opts, struct mq *reply_q)
{
    int n = opts->threads;
    struct media_pool *pool = calloc(1, sizeof(*pool) + (size_t)n * sizeof(struct media_worker));
    if (!pool)
        return NULL;
    pool->opts = *opts;
    pool->opts.fax.local_ident = pool->opts.ident;
    pool->opts.fax.header = pool->opts.header;
    if (pool->opts.speedup < 1)
        pool->opts.speedup = 1;
    for (int i = 0; i < n; i++) {
        struct media_worker *w = &pool->w[i];
        int r = worker_init(w, i, &pool->opts, reply_q);
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
        pool->n = i + 1;
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
