/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Media workers: N threads, each one loop with a timerfd tick, each owning the channels
 * attached to it for their whole life (STYLE §2).
 *
 * DESIGN: the SIP thread attaches, updates and detaches channels by message; a worker never
 * touches another thread's data and answers a detach with MEDIA_REPLY_RELEASED on the reply
 * queue, after which the channel slot may be reused. The tick passes the samples (8 kHz) that
 * really elapsed. A channel carries its fax over T.38 (UDPTL) or over G.711 audio (RTP, a
 * jitter buffer, spandsp's modems), on one socket; an audio fax gives way to T.38 when a
 * re-INVITE switches the call.
 */
#ifndef INKLESS_SERVER_MEDIA_H
#define INKLESS_SERVER_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "loop.h"
#include "mq.h"
#include "sdp.h"
#include "session.h"

struct media_worker;
struct media_audio; /* a channel's G.711 half: RTP, jitter buffer, fax session (media.c) */

/* Worker-owned part of a call slot. The SIP thread fills the first block before
 * media_attach(); from then until MEDIA_REPLY_RELEASED only the worker touches any of it. */
struct media_chan {
    /* set by the SIP thread before attach */
    struct ua_media_desc media; /* what we send/receive now */
    uint16_t local_port;
    enum fx38_direction direction; /* receive (inbound) or send (outbound job) */
    bool is_caller;                /* we placed the call */
    char file[256];                /* rx TIFF to write, or tx TIFF to send (spandsp: < 256) */
    void *owner;                   /* the struct call, returned in every reply */
    int first_page;                /* SEND: 0-based page to start at (a resumed job), else 0 */
    int ecm;                       /* -1 = fax.ecm from the config, 0 = off, 1 = on */
    int max_rate;                  /* 0 = the config's modems, else 14400, 9600 or 4800 */
    bool is_waiting_answer;        /* ringing: start the fax engine on the first update */
    char srtp_key[UA_SRTP_KEY_B64_LEN + 1]; /* ours, when the media may be SRTP; else "" */

    /* the worker's */
    struct media_chan *prev, *next; /* worker's active list */
    int fd;                         /* UDPTL/RTP socket, -1 if none; read on the tick */
    struct sockaddr_storage remote;
    socklen_t remote_len;
    struct fx38_session *fax;  /* T.38 */
    struct media_audio *audio; /* G.711, until phase E or a switch to T.38 */
    bool is_fax_done;
    bool is_switching; /* audio → T.38: the audio session's own end is not the fax's */
    uint64_t attached_ns;
    uint64_t ticks;
    uint64_t tx_errors; /* sendto() failures, counted, never fatal (pitfall 3) */
    uint64_t rx_bad;    /* datagrams that were not valid UDPTL or RTP for this channel */
    uint64_t rx_early;  /* datagrams before there was a fax session to take them */
};

/* Replies a worker posts on the reply queue given to media_start(). */
enum media_reply {
    MEDIA_REPLY_RELEASED = 100, /* ptr = owner of the detached channel */
    MEDIA_REPLY_FAX_DONE,       /* ptr = owner, u64 = (uintptr_t) struct media_fax_done *,
                                 * owned by the receiver (free()) */
    MEDIA_REPLY_PAGE,           /* ptr = owner, u64 = pages confirmed (SEND) so far */
};

/* A fax ended (phase E, or a media failure before it started). */
struct media_fax_done {
    struct fx38_result result;
    enum ua_media_kind transport; /* what carried the fax: T38 or AUDIO (NONE: no session) */
    int payload_type;             /* AUDIO: 0 PCMU or 8 PCMA */
    int error; /* 0, or -errno when media could not start (socket, file): no T.30 result */
};

/* Settings every channel shares (copied at media_start). */
struct media_options {
    int threads;
    int tick_ms;
    int speedup;      /* test-only accelerated clock, 1 = real time */
    int max_channels; /* per worker, for queue and timer sizing */
    char bind_addr[UA_SDP_ADDR_LEN];
    struct fx38_fax fax; /* T.30 settings; direction/file/is_caller are per channel */
    char ident[FX38_IDENT_LEN + 1], header[FX38_HEADER_LEN + 1]; /* fax.local_ident/header */
    int redundancy_control, redundancy_image, fec_span, fec_entries;
    int t38_timeout_s;   /* a channel without any fax session this long is ended (-ETIMEDOUT) */
    int jitter_delay_ms; /* G.711 playout delay (audio.jitter_delay) */
};

/* Tick lateness (how much later than its period a tick started) is kept as a histogram of
 * MEDIA_LATE_STEP_NS buckets, the last one open-ended. */
#define MEDIA_LATE_BUCKETS 201
#define MEDIA_LATE_STEP_NS 100000ull /* 0.1 ms: buckets cover 0..20 ms */

struct media_stats {
    uint64_t ticks;
    uint64_t late_ticks; /* ticks that started more than one tick period late */
    uint64_t max_late_ns;
    uint64_t p99_late_ns; /* from the histogram: the bucket's upper edge */
    uint64_t work_ns;     /* time spent inside ticks (the channels' fax engines), in all */
    uint64_t max_work_ns; /* the dearest tick */
    int channels;
};

/* Start opts->threads workers replying on `reply_q` (borrowed). Returns the pool or NULL
 * (errno set). Main thread. */
struct media_pool *media_start(const struct media_options *opts, struct mq *reply_q);

/* Stop and join every worker, then free the pool. Channels still attached are dropped
 * without replies. Accepts NULL. Main thread. */
void media_stop(struct media_pool *pool);

int media_workers(const struct media_pool *pool);

/* Attach chan (its first block filled) to worker `w`; the worker opens the media socket and,
 * for T.38, starts the fax. Ownership of *chan passes to
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
