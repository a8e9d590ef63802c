/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Media worker threads (see media.h).
 *
 * A channel's life on its worker:
 *   ATTACH   bind the UDP socket on our media port; start the fax session for the media
 *            negotiated: T.38 (fx38_session) or G.711 audio (fx38_audio behind RTP and a
 *            jitter buffer). Ringing calls start it on their first UPDATE instead.
 *   UPDATE   new SDP (re-INVITE): new far address; audio → T.38 drops the audio session
 *            (whatever T.30 had done in audio is abandoned: the T.38 session starts over,
 *            as the far end's gateway does) and starts T.38; T.38 → T.38 applies the new
 *            parameters
 *   tick     first what arrived since the last tick, on the sockets an epoll set (polled,
 *            never waited on: one wake-up a tick per worker) says are readable, read with
 *            recv(), a datagram per socket and round: T.38 into
 *            fx38_rx_udptl(), RTP parsed and its G.711 into the jitter buffer. Then the
 *            samples really elapsed: audio is pulled from the jitter buffer into the
 *            fax modems, then the session runs (fx38_tick / fx38_audio_tick) and what it
 *            sends leaves as UDPTL or as RTP packets of the negotiated ptime
 *   phase E  MEDIA_REPLY_FAX_DONE to the SIP thread, which hangs up
 *   DETACH   terminate the fax if still running (partial result), free it, close the socket,
 *            MEDIA_REPLY_RELEASED
 * Packets from addresses other than the negotiated one are still accepted (carriers send
 * from other ports than they announce), but we always send to the negotiated address.
 */
#include "media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "audio.h"
#include "jitter.h"
#include "log.h"
#include "rtp.h"
#include "srtp.h"

#define SAMPLE_RATE 8000
#define MAX_TICK_SAMPLES (8 * SAMPLE_RATE) /* after a stall, don't fire every timer at once */
#define READY_BATCH 256                    /* readable sockets one epoll_wait() returns */
#define READY_ROUNDS 64 /* epoll_wait() calls a tick at most: a datagram per socket each */
#define MAX_FRAME 480   /* samples in an RTP packet we send: ptime 60 at most */

/* A channel's G.711 half, allocated when its audio session starts (a T.38 channel has
 * none): the fax modems, what we send (RTP stream, a packet being filled) and what we
 * received (the jitter buffer, ≈ 5 KiB); with SRTP, its keys' state. */
struct media_audio {
    struct fx38_audio *fax;
    struct fx38_srtp *srtp;                /* NULL: plain RTP */
    char far_key[UA_SRTP_KEY_B64_LEN + 1]; /* the far end's SRTP key in use, "" if none */
    int payload_type;                      /* 0 PCMU, 8 PCMA */
    int event_pt;                          /* RFC 4733 telephone-event, -1 if none */
    int frame;                             /* samples per packet we send (ptime) */
    struct fx38_rtp_tx tx;
    size_t pending; /* samples waiting in out[] for a full packet */
    uint8_t out[MAX_FRAME];
    struct fx38_jitter jitter;
};

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
    int sock_epfd; /* the channels' sockets: polled on the tick, never waited on */
    struct epoll_event ready[READY_BATCH];
    struct loop_io tick_io, q_io;
    uint64_t last_tick_ns;
    uint64_t sample_rem; /* sample-ns not yet turned into whole samples */
    struct media_chan *chans;
    uint8_t rxbuf[2048]; /* the datagram being read */
    uint8_t txbuf[FX38_RTP_HEADER_LEN + MAX_FRAME + FX38_SRTP_TRAILER_ROOM];
    uint8_t audiobuf[MAX_TICK_SAMPLES]; /* one tick's audio out of a jitter buffer */
    uint8_t missing[MAX_TICK_SAMPLES];  /* and which of its samples never came */
    /* Counters, written by the worker only. */
    _Atomic uint64_t ticks, late_ticks, max_late_ns, work_ns, max_work_ns;
    _Atomic uint64_t late_hist[MEDIA_LATE_BUCKETS];
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
    done->transport = c->audio ? UA_MEDIA_AUDIO : c->fax ? UA_MEDIA_T38 : UA_MEDIA_NONE;
    done->payload_type = c->audio ? c->audio->payload_type : -1;
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
    if (!c->is_switching)
        report_done(current_worker, c, r, 0);
}

/* The audio session's output, in pieces of any size: cut into packets of a ptime each. */
static void
audio_send(void *data, const uint8_t *g711, size_t samples)
{
    struct media_chan *c = data;
    struct media_audio *a = c->audio;
    struct media_worker *w = current_worker;

    while (samples > 0) {
        size_t n = (size_t)a->frame - a->pending;
        if (n > samples)
            n = samples;
        memcpy(a->out + a->pending, g711, n);
        a->pending += n;
        g711 += n;
        samples -= n;
        if (a->pending < (size_t)a->frame)
            break;
        a->pending = 0;
        int len = fx38_rtp_build(&a->tx, a->out, (size_t)a->frame, w->txbuf, sizeof(w->txbuf));
        if (len > 0 && a->srtp)
            len = fx38_srtp_protect(a->srtp, w->txbuf, (size_t)len, sizeof(w->txbuf));
        if (len > 0)
            fax_send(c, w->txbuf, (size_t)len);
        else
            c->tx_errors++;
    }
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
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->sock_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    c->fd = fd;
    return 0;
}

/* The T.30 settings of channel c: the config's, with its direction, file and the retry's
 * fallbacks. */
static void
fax_settings(const struct media_worker *w, const struct media_chan *c, struct fx38_fax *ret)
{
    *ret = w->opts->fax;
    ret->direction = c->direction;
    ret->is_caller = c->is_caller;
    ret->file = c->file;
    ret->first_page = c->direction == FX38_SEND && c->first_page > 0 ? c->first_page : -1;
    ret->last_page = -1;
    ret->local_ident = w->opts->ident;
    ret->header = w->opts->header;
    if (c->ecm >= 0)
        ret->ecm = c->ecm != 0;
    /* A retry's fallback (server/scheduler.c): slower modems only. */
    if (c->max_rate > 0 && c->max_rate <= 4800)
        ret->modems &= FX38_MODEM_V27TER;
    else if (c->max_rate > 0 && c->max_rate <= 9600)
        ret->modems &= FX38_MODEM_V29 | FX38_MODEM_V27TER;
}

static void
start_t38(struct media_worker *w, struct media_chan *c)
{
    struct fx38_params params;
    struct fx38_fax fax;
    int err = 0;

    fax_settings(w, c, &fax);
    params_from_desc(w->opts, &c->media, &params);
    c->fax = fx38_session_new(&fax, &params, fax_send, fax_done, c, &err);
    if (!c->fax)
        report_done(w, c, NULL, err ? err : -ENOMEM);
    else if (c->direction == FX38_SEND)
        fx38_set_page_handler(c->fax, fax_page);
}

static void
random_bytes(void *buf, size_t len)
{
    if (getrandom(buf, len, GRND_NONBLOCK) != (ssize_t)len) {
        /* Only uniqueness matters here (RFC 3550 §5.1), not secrecy. */
        uint64_t x = loop_now(current_worker->loop) ^ (uintptr_t)buf;
        memcpy(buf, &x, len < sizeof(x) ? len : sizeof(x));
    }
}

/* (Re)key the audio half for the negotiated media: SRTP with our key and the far end's, or
 * plain RTP. Returns 0 or -errno (a key the SDP layer should have refused). */
static int
set_srtp(struct media_chan *c, struct media_audio *a)
{
    const struct ua_media_desc *m = &c->media;
    if (m->srtp_suite == UA_SRTP_SUITE_NONE) {
        fx38_srtp_free(a->srtp);
        a->srtp = NULL;
        a->far_key[0] = '\0';
        return 0;
    }
    if (a->srtp && strcmp(a->far_key, m->srtp_key) == 0)
        return 0; /* the same keys: the streams carry on */
    struct fx38_srtp *s;
    int r = fx38_srtp_new((enum fx38_srtp_suite)m->srtp_suite, c->srtp_key,
                          (enum fx38_srtp_suite)m->srtp_suite, m->srtp_key, &s);
    if (r < 0)
        return r;
    fx38_srtp_free(a->srtp);
    a->srtp = s;
    snprintf(a->far_key, sizeof(a->far_key), "%s", m->srtp_key);
    return 0;
}

static void
start_audio(struct media_worker *w, struct media_chan *c)
{
    const struct ua_media_desc *m = &c->media;
    struct fx38_fax fax;
    int err = 0;

    struct media_audio *a = calloc(1, sizeof(*a));
    if (!a) {
        report_done(w, c, NULL, -ENOMEM);
        return;
    }
    a->payload_type = m->payload_type == FX38_RTP_PT_PCMA ? FX38_RTP_PT_PCMA : FX38_RTP_PT_PCMU;
    a->event_pt = m->telephone_event_pt;
    int ptime = m->ptime > 0 ? m->ptime : 20;
    a->frame = ptime * SAMPLE_RATE / 1000;
    if (a->frame < 80 || a->frame > MAX_FRAME)
        a->frame = 160; /* 10..60 ms: anything else is odd enough to ignore */
    struct {
        uint32_t ssrc, timestamp;
        uint16_t seq;
    } start;
    random_bytes(&start, sizeof(start));
    fx38_rtp_tx_init(&a->tx, (uint8_t)a->payload_type, start.ssrc, start.seq, start.timestamp);
    struct fx38_jitter_config jc = {
        .is_alaw = a->payload_type == FX38_RTP_PT_PCMA,
        .delay = w->opts->jitter_delay_ms * SAMPLE_RATE / 1000,
    };
    (void)fx38_jitter_init(&a->jitter, &jc);
    int r = set_srtp(c, a);
    if (r < 0) {
        report_done(w, c, NULL, r);
        free(a);
        return;
    }

    fax_settings(w, c, &fax);
    c->audio = a; /* before the session exists: its callbacks find it here */
    a->fax =
        fx38_audio_new(&fax, a->payload_type == FX38_RTP_PT_PCMA ? FX38_G711_PCMA : FX38_G711_PCMU,
                       audio_send, fax_done, c, &err);
    if (!a->fax) {
        report_done(w, c, NULL, err ? err : -ENOMEM);
        c->audio = NULL;
        fx38_srtp_free(a->srtp);
        free(a);
        return;
    }
    if (c->direction == FX38_SEND)
        fx38_audio_set_page_handler(a->fax, fax_page);
}

/* Drop the audio session (DETACH, or the call moved to T.38). Its phase E, if it had none
 * yet, is reported only when `is_final`. */
static void
stop_audio(struct media_chan *c, bool is_final)
{
    struct media_audio *a = c->audio;
    if (!a)
        return;
    c->is_switching = !is_final;
    fx38_audio_terminate(a->fax);
    c->is_switching = false;
    fx38_audio_free(a->fax);
    fx38_srtp_free(a->srtp);
    c->audio = NULL;
    free(a);
}

/* Start the fax session the negotiated media calls for. */
static void
start_session(struct media_worker *w, struct media_chan *c)
{
    if (c->media.kind == UA_MEDIA_T38)
        start_t38(w, c);
    else if (c->media.kind == UA_MEDIA_AUDIO)
        start_audio(w, c);
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
    c->audio = NULL;
    c->is_fax_done = false;
    c->is_switching = false;
    c->rx_bad = 0;
    c->rx_early = 0;
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
    if (!c->is_waiting_answer)
        start_session(w, c);
}

static void
chan_update(struct media_worker *w, struct media_chan *c, const struct ua_media_desc *m)
{
    c->media = *m;
    c->is_waiting_answer = false;
    (void)remote_from_desc(c);
    if (c->is_fax_done || c->fd < 0)
        return;
    if (c->media.kind == UA_MEDIA_T38 && c->fax) {
        struct fx38_params params;
        params_from_desc(w->opts, &c->media, &params);
        fx38_set_params(c->fax, &params);
    } else if (c->media.kind == UA_MEDIA_T38) {
        if (c->audio)
            log_debug("media worker %d: audio → T.38 on port %u", w->index, c->local_port);
        stop_audio(c, false);
        start_t38(w, c);
    } else if (c->media.kind == UA_MEDIA_AUDIO && !c->fax && !c->audio) {
        start_audio(w, c);
    } else if (c->media.kind == UA_MEDIA_AUDIO && c->audio && set_srtp(c, c->audio) < 0) {
        report_done(w, c, NULL, -EPROTO); /* rekeyed with a key we cannot use */
    }
    /* Audio → audio (new address, hold) keeps its session; so does T.38 → audio: a fax
     * under way in T.38 is not moved back, and the far end's BYE or our timers end it. */
}

static void
chan_detach(struct media_worker *w, struct media_chan *c)
{
    if (c->fax) {
        fx38_terminate(c->fax); /* reports a partial result if phase E had not come */
        fx38_session_free(c->fax);
        c->fax = NULL;
    }
    if (c->audio) {
        const struct fx38_jitter_stats *js = &c->audio->jitter.stats;
        log_info("media worker %d: port %u: %s in %" PRIu64 " (late %" PRIu64 ", duplicate %" PRIu64
                 ", bad %" PRIu64 "), %" PRIu64 " samples filled, %" PRIu64
                 " resyncs, drift -%" PRIu64 "/+%" PRIu64 " samples",
                 w->index, c->local_port, c->audio->srtp ? "SRTP" : "RTP", js->received, js->late,
                 js->duplicates, c->rx_bad, js->filled, js->resyncs, js->drift_dropped,
                 js->drift_inserted);
    }
    stop_audio(c, true);
    if (c->fd >= 0) {
        (void)epoll_ctl(w->sock_epfd, EPOLL_CTL_DEL, c->fd, NULL);
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

/* One RTP packet for an audio channel: G.711 of the negotiated type into the jitter buffer;
 * telephone-events, comfort noise and RTCP are ignored (VAD is off for fax). */
static void
rx_rtp(struct media_chan *c, uint8_t *pkt, size_t len)
{
    struct media_audio *a = c->audio;
    struct fx38_rtp_packet p;

    if (a->srtp) {
        /* Unauthentic, replayed, RTCP or malformed: dropped (SRTP: nothing in clear). */
        int n = fx38_srtp_unprotect(a->srtp, pkt, len);
        if (n < 0) {
            if (n != -ENOMSG)
                c->rx_bad++;
            return;
        }
        len = (size_t)n;
    }
    if (fx38_rtp_parse(pkt, len, a->payload_type, a->event_pt, &p) < 0) {
        c->rx_bad++;
        return;
    }
    if (p.kind != FX38_RTP_AUDIO || p.payload_len == 0)
        return;
    if (fx38_jitter_push(&a->jitter, p.ssrc, p.seq, p.timestamp, p.payload, p.payload_len) < 0)
        c->rx_bad++; /* over 60 ms in one packet */
}

/* One datagram from c's (readable) socket. After phase E what comes is read and dropped, or
 * the socket would stay readable. */
static void
read_one(struct media_worker *w, struct media_chan *c)
{
    ssize_t n = recv(c->fd, w->rxbuf, sizeof(w->rxbuf), MSG_DONTWAIT | MSG_TRUNC);
    /* n < 0: EAGAIN, or an ICMP error from an earlier send: nothing to read. */
    if (n < 0 || c->is_fax_done)
        return;
    if ((size_t)n > sizeof(w->rxbuf)) {
        c->rx_bad++; /* larger than any UDPTL or RTP packet we accept */
        return;
    }
    if (c->fax) {
        if (fx38_rx_udptl(c->fax, w->rxbuf, (size_t)n) < 0)
            c->rx_bad++; /* also the far end's last RTP packets after a switch */
    } else if (c->audio) {
        rx_rtp(c, w->rxbuf, (size_t)n);
    } else {
        c->rx_early++; /* before the answer or the media: nothing to give it to */
    }
}

/* Sockets are read on the tick, not as they become readable: the worker wakes once a tick,
 * not once a packet, and the kernel's ready list (an epoll set polled with timeout 0) names
 * the sockets with something to read, so an idle T.38 channel costs no system call. Fax
 * needs no lower latency: the jitter buffer holds 60 ms, T.38 tolerates far more.
 *
 * Each round reads one datagram from every socket the set names; the set is level-
 * triggered, so a socket with more waiting is named again in the next round, and the
 * rounds end when none is. At one packet a channel and tick, the usual case, that is one
 * recv() a datagram and no call that finds nothing (recvmmsg() cost more here: it copies
 * a message header for each datagram and for the attempt that finds the queue empty). */
static void
drain_ready(struct media_worker *w)
{
    for (int round = 0; round < READY_ROUNDS; round++) {
        int n = epoll_wait(w->sock_epfd, w->ready, READY_BATCH, 0);
        for (int i = 0; i < n; i++)
            read_one(w, w->ready[i].data.ptr);
        if (n <= 0)
            break;
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
    uint64_t late = elapsed > period ? elapsed - period : 0;
    uint64_t bucket = late / MEDIA_LATE_STEP_NS;
    atomic_fetch_add(&w->late_hist[bucket < MEDIA_LATE_BUCKETS ? bucket : MEDIA_LATE_BUCKETS - 1],
                     1);
    if (late > atomic_load(&w->max_late_ns))
        atomic_store(&w->max_late_ns, late);
    if (elapsed > 2 * period)
        atomic_fetch_add(&w->late_ticks, 1);
    /* Samples that really elapsed (STYLE §2.6), times the test-only speedup, carrying the
     * remainder so no sample is lost between ticks. */
    uint64_t sample_ns = elapsed * (uint64_t)w->opts->speedup * SAMPLE_RATE + w->sample_rem;
    uint64_t samples = sample_ns / 1000000000ull;
    w->sample_rem = sample_ns % 1000000000ull;
    if (samples > MAX_TICK_SAMPLES)
        samples = MAX_TICK_SAMPLES; /* after a stall, don't fire every T.30 timer at once */

    /* In the channel's own clock (speedup included), like every other fax timer. */
    uint64_t t38_deadline = (uint64_t)w->opts->t38_timeout_s * 1000 / (uint64_t)w->opts->tick_ms;
    drain_ready(w);
    for (struct media_chan *c = w->chans; c; c = c->next) {
        c->ticks++;
        if (c->is_fax_done || c->fd < 0)
            continue;
        if (c->fax) {
            fx38_tick(c->fax, (int)samples);
        } else if (c->audio) {
            /* Received audio first (it may end the fax), then what elapsed. */
            struct media_audio *a = c->audio;
            fx38_jitter_pull_marked(&a->jitter, w->audiobuf, w->missing, (size_t)samples);
            fx38_audio_rx_marked(a->fax, w->audiobuf, w->missing, (size_t)samples);
            if (!c->is_fax_done)
                fx38_audio_tick(a->fax, (int)samples);
        } else if (c->ticks > t38_deadline) {
            report_done(w, c, NULL, -ETIMEDOUT); /* never got usable media */
        }
    }
    uint64_t work = loop_update_now(w->loop) - now;
    atomic_fetch_add(&w->work_ns, work);
    if (work > atomic_load(&w->max_work_ns))
        atomic_store(&w->max_work_ns, work);
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
    char name[16];
    snprintf(name, sizeof(name), "media%d", w->index);
    (void)pthread_setname_np(pthread_self(), name); /* top -H, bench/capacity */
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
        if (c->audio) {
            fx38_audio_free(c->audio->fax);
            fx38_srtp_free(c->audio->srtp);
            free(c->audio);
            c->audio = NULL;
        }
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
    w->sock_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->sock_epfd < 0)
        return -errno;
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
    if (w->sock_epfd > 0)
        close(w->sock_epfd);
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
        .work_ns = atomic_load(&mw->work_ns),
        .max_work_ns = atomic_load(&mw->max_work_ns),
        .channels = atomic_load(&mw->nchans),
    };
    uint64_t total = 0, seen = 0;
    for (int i = 0; i < MEDIA_LATE_BUCKETS; i++)
        total += atomic_load(&mw->late_hist[i]);
    for (int i = 0; i < MEDIA_LATE_BUCKETS && total > 0; i++) {
        seen += atomic_load(&mw->late_hist[i]);
        if (seen * 100 >= total * 99) {
            ret->p99_late_ns = (uint64_t)(i + 1) * MEDIA_LATE_STEP_NS;
            break;
        }
    }
}
