/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer media: one UDP socket per call carrying UDPTL, the fx38_session (spandsp T.38
 * terminal on our UDPTL codec) and the impairment shims on both directions.
 *
 *   socket ─▶ early buffer (no session yet) ─▶ impair "in" ─▶ fx38_rx_udptl
 *   fx38_tick / fx38_rx_udptl ─▶ send callback ─▶ impair "out" ─▶ sendto(far end)
 *
 * The media clock is the call's tick count: 20 ms per tick whatever --speed is, so the
 * impairment delays (media milliseconds) scale with the fax.
 */
#include "faxpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define RX_BATCH 64 /* datagrams read per wakeup before giving other sockets a turn */

uint64_t
fp_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
media_now_ms(const struct fp_media *m)
{
    return m->ticks * FP_TICK_MS;
}

static int
make_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    *ret = (struct sockaddr_storage){0};
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            return -EINVAL;
        *ret_len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ret;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            return -EINVAL;
        *ret_len = sizeof(*a);
    }
    return 0;
}

/* ---- the two directions through the shims ---- */

/* Out of the "out" shim: onto the wire. A failed send is counted, never fatal: a transient
 * ENOBUFS must not end the fax (SPANDSP-NOTES pitfall 3). */
static void
deliver_out(void *data, const uint8_t *pkt, size_t len)
{
    struct fp_call *c = data;
    struct fp_media *m = &c->m;
    if (m->remote_len == 0)
        return;
    if (sendto(m->fd, pkt, len, 0, (const struct sockaddr *)&m->remote, m->remote_len) < 0)
        m->tx_errors++;
    else
        m->tx_datagrams++;
}

/* Out of the "in" shim: into the fax session. Malformed packets are counted by UDPTL. */
static void
deliver_in(void *data, const uint8_t *pkt, size_t len)
{
    struct fp_call *c = data;
    if (c->m.fax)
        (void)fx38_rx_udptl(c->m.fax, pkt, len);
}

/* fx38_send_fn */
static void
on_fax_send(void *data, const uint8_t *pkt, size_t len)
{
    struct fp_call *c = data;
    fp_impair_push(&c->m.out, pkt, len, media_now_ms(&c->m));
}

/* fx38_done_fn: phase E. Only note it; the tick decides when to hang up, and the session is
 * freed later, never from here (SPANDSP-NOTES pitfall 5). */
static void
on_fax_done(void *data, const struct fx38_result *r)
{
    struct fp_call *c = data;
    c->m.result = *r;
    c->m.is_done = true;
    c->m.done_tick = c->m.ticks;
    log_info("call %d: fax %s: %s (%d), %d pages, %d bit/s, ECM %s, remote \"%s\"", c->index,
             c->peer->opts->is_send ? "sent" : "received", r->t30_text, r->t30_status, r->pages,
             r->bit_rate, r->ecm ? "on" : "off", r->remote_ident);
}

/* ---- socket ---- */

int
fp_media_open(struct fp_call *c, const char *addr)
{
    const struct fp_options *o = c->peer->opts;
    struct fp_media *m = &c->m;
    struct sockaddr_storage ss;
    socklen_t len;

    m->fd = -1;
    m->wait_index = -1;
    int r = make_sockaddr(addr, 0, &ss, &len);
    if (r < 0)
        return r;
    m->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0)
        return -errno;
    if (bind(m->fd, (struct sockaddr *)&ss, len) < 0 ||
        getsockname(m->fd, (struct sockaddr *)&ss, &len) < 0) {
        r = -errno;
        close(m->fd);
        m->fd = -1;
        return r;
    }
    m->local_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);

    /* Each call and direction gets its own PRNG stream derived from --seed, so a load run
     * is as repeatable as a single call. */
    struct fp_impair_config none = {.burst = 1};
    uint64_t seed = o->seed ^ ((uint64_t)c->index * 0x9E3779B97F4A7C15ULL);
    r = fp_impair_init(&m->in, o->impair_in ? &o->impair : &none, seed ^ 0x1111, deliver_in, c);
    if (r == 0)
        r = fp_impair_init(&m->out, o->impair_out ? &o->impair : &none, seed ^ 0x2222, deliver_out,
                           c);
    return r;
}

void
fp_media_on_readable(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    uint8_t buf[2048];

    for (int i = 0; i < RX_BATCH && m->fd >= 0; i++) {
        ssize_t n = recv(m->fd, buf, sizeof(buf), MSG_TRUNC);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_debug("call %d: recv: %s", c->index, strerror(errno));
            return;
        }
        m->rx_datagrams++;
        /* The far end must honour the T38FaxMaxDatagram we announced (T.38 Annex D.2.3). */
        if (n > c->peer->opts->max_datagram)
            m->rx_oversize++;
        if ((size_t)n > sizeof(buf))
            continue; /* truncated: nothing sane to decode */
        if (!m->fax) {
            /* The far end started its session first (it answered, or it sent the 200 we are
             * still processing): keep the first few packets for ours. Audio RTP before a
             * re-INVITE lands here too and is simply dropped. */
            m->rx_early++;
            if (m->nearly < FP_EARLY_PACKETS && (size_t)n <= FP_IMPAIR_MAX_PACKET) {
                memcpy(m->early[m->nearly], buf, (size_t)n);
                m->early_len[m->nearly++] = (size_t)n;
            }
            continue;
        }
        fp_impair_push(&m->in, buf, (size_t)n, media_now_ms(m));
    }
}

/* ---- the fax session ---- */

void
fp_media_params(const struct fp_options *o, const struct ua_t38_params *t38,
                struct fx38_params *ret)
{
    int red_control = o->redundancy >= 0 ? o->redundancy : 3;
    int red_image = o->redundancy >= 0 ? o->redundancy : 2;
    /* T38FaxUdpECDepth, when both sides gave one, caps how many secondaries we send. */
    if (t38->ec_depth_max > 0) {
        if (red_control > t38->ec_depth_max)
            red_control = t38->ec_depth_max;
        if (red_image > t38->ec_depth_max)
            red_image = t38->ec_depth_max;
    }
    *ret = (struct fx38_params){
        .version = t38->version > 3 ? 3 : t38->version,
        .max_bitrate = t38->max_bitrate,
        .fill_bit_removal = t38->fill_bit_removal,
        .far_max_datagram = t38->max_datagram,
        .ec = t38->ec == UA_T38_EC_FEC          ? FX38_UDPTL_EC_FEC
              : t38->ec == UA_T38_EC_REDUNDANCY ? FX38_UDPTL_EC_REDUNDANCY
                                                : FX38_UDPTL_EC_NONE,
        .redundancy_control = red_control,
        .redundancy_image = red_image,
        /* 0 = the session's defaults (span 3, 3 entries), capped by T38FaxUdpFECMaxSpan. */
        .fec_span = t38->fec_max_span > 0 && t38->fec_max_span < 3 ? t38->fec_max_span : 0,
        .fec_entries = 0,
    };
}

static int
modems_for_rate(int max_rate)
{
    if (max_rate >= 12000)
        return FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER;
    if (max_rate >= 7200)
        return FX38_MODEM_V29 | FX38_MODEM_V27TER;
    return FX38_MODEM_V27TER;
}

/* RECEIVE file name for this call: the pattern with "%d" replaced by the call number. Done by
 * hand: the pattern comes from the command line and must never be a printf format. */
static int
rx_path_for(const char *pattern, int index, char *buf, size_t size)
{
    const char *pct = strstr(pattern, "%d");
    int n = pct ? snprintf(buf, size, "%.*s%d%s", (int)(pct - pattern), pattern, index, pct + 2)
                : snprintf(buf, size, "%s", pattern);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int
fp_media_start_t38(struct fp_call *c, const struct ua_media_desc *desc)
{
    const struct fp_options *o = c->peer->opts;
    struct fp_media *m = &c->m;
    struct fx38_params params;

    int r = make_sockaddr(desc->addr, desc->port, &m->remote, &m->remote_len);
    if (r < 0)
        return r;
    fp_media_params(o, &desc->t38, &params);
    if (m->fax) {
        /* T.38 to T.38 re-INVITE: same session, new parameters and maybe a new address. */
        fx38_set_params(m->fax, &params);
        return 0;
    }
    if (m->is_done)
        return 0; /* the fax is over already; nothing to restart */

    if (!o->is_send) {
        r = rx_path_for(o->file, c->index, m->rx_path, sizeof(m->rx_path));
        if (r < 0)
            return r;
    }
    char ident[FX38_IDENT_LEN + 1];
    snprintf(ident, sizeof(ident), "%s", o->ident ? o->ident : o->from ? o->from : "");
    struct fx38_fax fax = {
        .direction = o->is_send ? FX38_SEND : FX38_RECEIVE,
        /* T.30 calling terminal = SIP caller: it sends CNG and waits for the answerer's DIS. */
        .is_caller = !o->is_uas,
        .file = o->is_send ? o->file : m->rx_path,
        .first_page = -1,
        .last_page = -1,
        .local_ident = ident,
        .header = o->header ? o->header : "",
        .ecm = o->ecm,
        .modems = modems_for_rate(o->max_rate),
        .fine = true,
        .superfine = true,
        .inactivity_s = 0, /* the session's default (30 s of media time) */
    };
    m->fax = fx38_session_new(&fax, &params, on_fax_send, on_fax_done, c, &r);
    if (!m->fax)
        return r < 0 ? r : -ENOMEM;
    if (o->fax_debug) {
        char tag[32];
        snprintf(tag, sizeof(tag), "call%d", c->index);
        fx38_set_debug(m->fax, true, tag);
    }
    log_info("call %d: T.38 v%d to %s:%u, max %d bit/s, EC %s (redundancy %d/%d), far max "
             "datagram %d",
             c->index, params.version, desc->addr, (unsigned)desc->port, params.max_bitrate,
             params.ec == FX38_UDPTL_EC_FEC          ? "fec"
             : params.ec == FX38_UDPTL_EC_REDUNDANCY ? "redundancy"
                                                     : "none",
             params.redundancy_control, params.redundancy_image, params.far_max_datagram);

    /* What the far end sent before we were ready, oldest first. */
    for (int i = 0; i < m->nearly; i++)
        fp_impair_push(&m->in, m->early[i], m->early_len[i], 0);
    m->nearly = 0;
    return 0;
}

void
fp_media_tick(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    if (!m->fax)
        return;
    m->ticks++;
    uint64_t now = media_now_ms(m);
    /* Delayed incoming packets due by now, then the engine (which may send), then delayed
     * outgoing packets due by now. */
    fp_impair_poll(&m->in, now);
    fx38_tick(m->fax, FP_TICK_SAMPLES);
    fp_impair_poll(&m->out, now);
}

int
fp_media_pages(struct fp_call *c)
{
    struct fx38_result r;
    if (!c->m.fax)
        return c->m.is_done ? c->m.result.pages : 0;
    fx38_get_result(c->m.fax, &r);
    return r.pages;
}

void
fp_media_close(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    if (m->fax) {
        /* Not reported yet: T.30 ends now with what it achieved (pitfall 5: no phase E
         * otherwise). Packets still delayed in the shims are dropped with the call. */
        if (!m->is_done)
            fx38_terminate(m->fax);
        fx38_session_free(m->fax);
        m->fax = NULL;
    }
    fp_impair_release(&m->in);
    fp_impair_release(&m->out);
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
}
