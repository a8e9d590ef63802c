/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer media: one UDP socket per call. While the call is on audio it carries RTP for the
 * G.711 fax session; once T.38 is agreed (in the INVITE or by a re-INVITE) it carries UDPTL
 * for the T.38 session. Impairment shims sit on both directions of either.
 *
 *   G.711 in:  socket ─▶ impair "in" ─▶ fx38_rtp_parse ─▶ jitter buffer
 *   G.711 out: tick: jitter pull ─▶ fx38_audio_rx_marked, then fx38_audio_tick ─▶ packetiser
 *              ─▶ fx38_rtp_build ─▶ impair "out" ─▶ sendto(far end)
 *   T.38 in:   socket ─▶ impair "in" ─▶ fx38_rx_udptl
 *   T.38 out:  fx38_tick / fx38_rx_udptl ─▶ send callback ─▶ impair "out" ─▶ sendto
 * Datagrams that come before any session exists wait in the early buffer and are replayed
 * into the first session. On audio, datagrams that are not RTP wait there too: they are the
 * far end's first UDPTL packets when it switched to T.38 before its 200 reached us.
 *
 * Clocks. The media clock is the call's tick count: 20 ms per tick whatever --speed is, so the
 * impairment delays (media milliseconds) scale with the fax. The G.711 engine runs on its own
 * clock, --drift ppm off the media clock as a real ATA's crystal is: per tick it runs
 * 160 * (1 + ppm * 1e-6) samples (the fraction carried to the next tick), both what it sends
 * (RTP timestamps count those samples; packets stay ptime-sized, so now and then a tick sends
 * one packet more, or one fewer) and what it takes from its own jitter buffer. The far end's
 * jitter buffer has to absorb the difference, as it would for real equipment.
 */
#include "faxpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PPM 1000000 /* parts per million, the unit of --drift and of the sample fraction */

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

const char *
fp_transport_name(enum fp_transport t)
{
    return t == FP_TRANSPORT_G711 ? "g711" : t == FP_TRANSPORT_T38 ? "t38" : "none";
}

/* Keep a datagram for a session that does not exist yet (the first FP_EARLY_PACKETS only).
 * memmove: replay_early() may hand a packet back here from its own slot. */
static void
keep_early(struct fp_media *m, const uint8_t *pkt, size_t len)
{
    m->rx_early++;
    if (m->nearly < FP_EARLY_PACKETS && len <= FP_IMPAIR_MAX_PACKET) {
        memmove(m->early[m->nearly], pkt, len);
        m->early_len[m->nearly++] = len;
    }
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

/* One RTP packet for the G.711 session: audio goes to the jitter buffer; telephone-events,
 * comfort noise and RTCP are ignored (fax runs with VAD off and in-band tones). */
static void
audio_rx_packet(struct fp_media *m, const uint8_t *pkt, size_t len)
{
    struct fp_audio *a = &m->audio;
    struct fx38_rtp_packet p;

    if (fx38_rtp_parse(pkt, len, a->payload_type, a->event_pt, &p) < 0) {
        a->rx_malformed++;
        keep_early(m, pkt, len); /* perhaps UDPTL: the far end is on T.38 already */
        return;
    }
    if (p.kind != FX38_RTP_AUDIO || p.payload_len == 0) {
        a->rx_ignored++;
        return;
    }
    a->has_far_ssrc = true;
    a->far_ssrc = p.ssrc;
    if (fx38_jitter_push(&a->jitter, p.ssrc, p.seq, p.timestamp, p.payload, p.payload_len) < 0)
        a->rx_malformed++; /* over 60 ms in one packet */
    else
        a->rx_packets++;
}

/* After the switch to T.38: is this a straggler of the far end's RTP stream (version 2 and
 * its SSRC)? Fed to UDPTL it would be taken for a packet with a sequence number far ahead. */
static bool
is_old_rtp(const struct fp_audio *a, const uint8_t *pkt, size_t len)
{
    if (!a->has_far_ssrc || len < FX38_RTP_HEADER_LEN || (pkt[0] & 0xc0) != 0x80)
        return false;
    uint32_t ssrc =
        (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
    return ssrc == a->far_ssrc;
}

/* Out of the "in" shim: into whichever session runs. Malformed UDPTL is counted by UDPTL. */
static void
deliver_in(void *data, const uint8_t *pkt, size_t len)
{
    struct fp_call *c = data;
    struct fp_media *m = &c->m;
    if (m->fax) {
        if (is_old_rtp(&m->audio, pkt, len))
            m->audio.rx_stale++;
        else
            (void)fx38_rx_udptl(m->fax, pkt, len);
    } else if (m->audio.fax) {
        audio_rx_packet(m, pkt, len);
    }
}

/* What the far end sent before we were ready, oldest first, into the session just started. */
static void
replay_early(struct fp_media *m)
{
    int n = m->nearly;
    m->nearly = 0;
    for (int i = 0; i < n; i++)
        fp_impair_push(&m->in, m->early[i], m->early_len[i], media_now_ms(m));
}

/* fx38_send_fn: one UDPTL packet. */
static void
on_fax_send(void *data, const uint8_t *pkt, size_t len)
{
    struct fp_call *c = data;
    fp_impair_push(&c->m.out, pkt, len, media_now_ms(&c->m));
}

/* fx38_audio_send_fn: the engine's samples, cut into ptime-sized RTP packets. What does not
 * fill a packet waits for the next tick, so with --drift an extra packet goes out now and
 * then, its timestamp right behind the last. */
static void
on_audio_send(void *data, const uint8_t *g711, size_t samples)
{
    struct fp_call *c = data;
    struct fp_audio *a = &c->m.audio;
    uint8_t pkt[FX38_RTP_HEADER_LEN + FX38_RTP_MAX_PAYLOAD];
    size_t size = (size_t)a->ptime_samples;

    if (a->npending + samples > sizeof(a->pending))
        samples = sizeof(a->pending) - a->npending; /* cannot happen: ticks are short */
    memcpy(a->pending + a->npending, g711, samples);
    a->npending += samples;
    size_t off = 0;
    for (; a->npending - off >= size; off += size) {
        int n = fx38_rtp_build(&a->tx, a->pending + off, size, pkt, sizeof(pkt));
        if (n < 0)
            continue;
        a->tx_packets++;
        fp_impair_push(&c->m.out, pkt, (size_t)n, media_now_ms(&c->m));
    }
    a->npending -= off;
    memmove(a->pending, a->pending + off, a->npending);
}

/* Phase E of the session that counts. Only note it; the tick decides when to hang up, and
 * the session is freed later, never from here (SPANDSP-NOTES pitfall 5). */
static void
note_done(struct fp_call *c, const struct fx38_result *r, enum fp_transport t)
{
    c->m.result = *r;
    c->m.is_done = true;
    c->m.transport = t;
    c->m.done_tick = c->m.ticks;
    log_info("call %d: fax %s over %s: %s (%d), %d pages, %d bit/s, ECM %s, remote \"%s\"",
             c->index, c->peer->opts->is_send ? "sent" : "received", fp_transport_name(t),
             r->t30_text, r->t30_status, r->pages, r->bit_rate, r->ecm ? "on" : "off",
             r->remote_ident);
}

/* fx38_done_fn of the T.38 session. */
static void
on_fax_done(void *data, const struct fx38_result *r)
{
    note_done(data, r, FP_TRANSPORT_T38);
}

/* fx38_done_fn of the G.711 session: ignored when the session is being dropped for T.38. */
static void
on_audio_done(void *data, const struct fx38_result *r)
{
    struct fp_call *c = data;
    if (!c->m.audio.is_dropping)
        note_done(c, r, FP_TRANSPORT_G711);
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
    m->codec = "";
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

    if (m->fd < 0)
        return;
    ssize_t n = recv(m->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_debug("call %d: recv: %s", c->index, strerror(errno));
        return;
    }
    m->rx_datagrams++;
    /* The far end must honour the T38FaxMaxDatagram we announced (T.38 Annex D.2.3). */
    if (m->fax && n > c->peer->opts->max_datagram)
        m->rx_oversize++;
    if ((size_t)n > sizeof(buf))
        return; /* truncated: nothing sane to decode */
    if (!m->fax && !m->audio.fax) {
        /* The far end started its session first (it answered, or it sent the 200 we are
         * still processing): keep the first few packets for ours. */
        keep_early(m, buf, (size_t)n);
        return;
    }
    fp_impair_push(&m->in, buf, (size_t)n, media_now_ms(m));
}

/* ---- the fax sessions ---- */

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

/* The T.30 settings of both sessions. `ident` is the caller's buffer the result points to. */
static int
fax_settings(struct fp_call *c, char ident[FX38_IDENT_LEN + 1], struct fx38_fax *ret)
{
    const struct fp_options *o = c->peer->opts;
    struct fp_media *m = &c->m;
    if (!o->is_send) {
        int r = rx_path_for(o->file, c->index, m->rx_path, sizeof(m->rx_path));
        if (r < 0)
            return r;
    }
    snprintf(ident, FX38_IDENT_LEN + 1, "%s", o->ident ? o->ident : o->from ? o->from : "");
    *ret = (struct fx38_fax){
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
    return 0;
}

/* Random initial SSRC, sequence number and timestamp (RFC 3550 §5.1, §8.1). */
static void
rtp_random(uint32_t *ret_ssrc, uint16_t *ret_seq, uint32_t *ret_ts)
{
    uint32_t v[3];
    if (getrandom(v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
        uint64_t t = fp_now_ns() * 0x9E3779B97F4A7C15ULL;
        v[0] = (uint32_t)(t >> 32);
        v[1] = (uint32_t)t;
        v[2] = (uint32_t)(t >> 16);
    }
    *ret_ssrc = v[0];
    *ret_seq = (uint16_t)v[1];
    *ret_ts = v[2];
}

int
fp_media_start_audio(struct fp_call *c, const struct ua_media_desc *desc)
{
    const struct fp_options *o = c->peer->opts;
    struct fp_media *m = &c->m;
    struct fp_audio *a = &m->audio;

    if (m->fax || m->is_done)
        return 0; /* on T.38, or the fax is over: a move back to audio restarts nothing */
    int r = make_sockaddr(desc->addr, desc->port, &m->remote, &m->remote_len);
    if (r < 0)
        return r;
    if (a->fax) {
        /* Audio to audio re-INVITE: new address; the engine keeps its law. */
        if (desc->payload_type != a->payload_type)
            log_warning("call %d: audio re-INVITE changed payload type %d -> %d: kept %d", c->index,
                        a->payload_type, desc->payload_type, a->payload_type);
        a->event_pt = desc->telephone_event_pt;
        return 0;
    }

    char ident[FX38_IDENT_LEN + 1];
    struct fx38_fax fax;
    r = fax_settings(c, ident, &fax);
    if (r < 0)
        return r;
    a->law = desc->payload_type == FX38_RTP_PT_PCMA ? FX38_G711_PCMA : FX38_G711_PCMU;
    a->payload_type = desc->payload_type;
    a->event_pt = desc->telephone_event_pt;
    /* Our packet size: --ptime, else what was negotiated (RFC 4566 §6: a=ptime is a wish
     * about what one receives; any size is legal). */
    int ptime = o->ptime_ms > 0 ? o->ptime_ms : desc->ptime > 0 ? desc->ptime : FP_TICK_MS;
    a->ptime_samples = ptime * FX38_RTP_RATE / 1000;
    a->npending = 0;
    a->drift_frac = 0;
    struct fx38_jitter_config jc = {
        .is_alaw = a->law == FX38_G711_PCMA,
        .delay = o->jitter_delay_ms * FX38_RTP_RATE / 1000,
    };
    r = fx38_jitter_init(&a->jitter, &jc);
    if (r < 0)
        return r;
    uint32_t ssrc, ts;
    uint16_t seq;
    rtp_random(&ssrc, &seq, &ts);
    fx38_rtp_tx_init(&a->tx, (uint8_t)a->payload_type, ssrc, seq, ts);

    a->fax = fx38_audio_new(&fax, a->law, on_audio_send, on_audio_done, c, &r);
    if (!a->fax)
        return r < 0 ? r : -ENOMEM;
    if (o->fax_debug) {
        char tag[32];
        snprintf(tag, sizeof(tag), "call%d", c->index);
        fx38_audio_set_debug(a->fax, true, tag);
    }
    m->transport = FP_TRANSPORT_G711;
    m->codec = a->law == FX38_G711_PCMA ? "pcma" : "pcmu";
    log_info("call %d: G.711 %s to %s:%u, ptime %d ms, jitter buffer %d ms, drift %+d ppm",
             c->index, a->law == FX38_G711_PCMA ? "PCMA" : "PCMU", desc->addr, (unsigned)desc->port,
             ptime, o->jitter_delay_ms, o->drift_ppm);
    replay_early(m);
    return 0;
}

/* Leave G.711 for T.38: end the audio fax without it counting (its phase E is ignored), and
 * free it. Its RTP still in flight is recognised by SSRC and dropped (is_old_rtp). */
static void
drop_audio(struct fp_call *c)
{
    struct fp_audio *a = &c->m.audio;
    a->is_dropping = true;
    if (!fx38_audio_is_done(a->fax))
        fx38_audio_terminate(a->fax);
    fx38_audio_free(a->fax);
    a->fax = NULL;
    a->npending = 0;
    c->m.switch_tick = c->m.ticks;
    log_info("call %d: G.711 session dropped after %.1f s of audio for T.38", c->index,
             (double)c->m.ticks * FP_TICK_MS / 1000);
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
        return 0; /* the fax is over already (perhaps over G.711); nothing to restart */
    if (m->audio.fax)
        drop_audio(c);

    char ident[FX38_IDENT_LEN + 1];
    struct fx38_fax fax;
    r = fax_settings(c, ident, &fax);
    if (r < 0)
        return r;
    m->fax = fx38_session_new(&fax, &params, on_fax_send, on_fax_done, c, &r);
    if (!m->fax)
        return r < 0 ? r : -ENOMEM;
    if (o->fax_debug) {
        char tag[32];
        snprintf(tag, sizeof(tag), "call%d", c->index);
        fx38_set_debug(m->fax, true, tag);
    }
    m->transport = FP_TRANSPORT_T38;
    log_info("call %d: T.38 v%d to %s:%u, max %d bit/s, EC %s (redundancy %d/%d), far max "
             "datagram %d",
             c->index, params.version, desc->addr, (unsigned)desc->port, params.max_bitrate,
             params.ec == FX38_UDPTL_EC_FEC          ? "fec"
             : params.ec == FX38_UDPTL_EC_REDUNDANCY ? "redundancy"
                                                     : "none",
             params.redundancy_control, params.redundancy_image, params.far_max_datagram);
    replay_early(m);
    return 0;
}

/* Samples the G.711 engine runs this tick: 160 on the media clock, (1 + drift) times that on
 * its own, the fraction of a sample carried in millionths. */
static int
engine_samples(struct fp_audio *a, int drift_ppm)
{
    int64_t total = (int64_t)FP_TICK_SAMPLES * (PPM + drift_ppm) + a->drift_frac;
    a->drift_frac = total % PPM;
    return (int)(total / PPM);
}

/* One tick of G.711: the audio due from the jitter buffer into the engine, then the engine's
 * time forward, which sends (on_audio_send). */
static void
audio_tick(struct fp_call *c)
{
    struct fp_audio *a = &c->m.audio;
    uint8_t rx[FX38_AUDIO_MAX_FRAME];
    int n = engine_samples(a, c->peer->opts->drift_ppm);
    a->samples += (uint64_t)n;
    uint8_t missing[FX38_AUDIO_MAX_FRAME];
    fx38_jitter_pull_marked(&a->jitter, rx, missing, (size_t)n);
    fx38_audio_rx_marked(a->fax, rx, missing, (size_t)n);
    fx38_audio_tick(a->fax, n);
}

void
fp_media_tick(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    if (!m->fax && !m->audio.fax)
        return;
    m->ticks++;
    uint64_t now = media_now_ms(m);
    /* Delayed incoming packets due by now, then the engine (which may send), then delayed
     * outgoing packets due by now. */
    fp_impair_poll(&m->in, now);
    if (m->fax)
        fx38_tick(m->fax, FP_TICK_SAMPLES);
    else
        audio_tick(c);
    fp_impair_poll(&m->out, now);
}

bool
fp_media_is_running(const struct fp_call *c)
{
    return (c->m.fax || c->m.audio.fax) && !c->m.is_done;
}

int
fp_media_pages(struct fp_call *c)
{
    struct fx38_result r;
    if (c->m.fax)
        fx38_get_result(c->m.fax, &r);
    else if (c->m.audio.fax)
        fx38_audio_get_result(c->m.audio.fax, &r);
    else
        return c->m.is_done ? c->m.result.pages : 0;
    return r.pages;
}

void
fp_media_stop(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    /* Not reported yet: T.30 ends now with what it achieved (pitfall 5: no phase E
     * otherwise). */
    if (m->fax && !fx38_is_done(m->fax))
        fx38_terminate(m->fax);
    else if (m->audio.fax && !fx38_audio_is_done(m->audio.fax))
        fx38_audio_terminate(m->audio.fax);
}

void
fp_media_close(struct fp_call *c)
{
    struct fp_media *m = &c->m;
    fp_media_stop(c);
    /* Packets still delayed in the shims are dropped with the call. */
    fx38_session_free(m->fax);
    m->fax = NULL;
    fx38_audio_free(m->audio.fax);
    m->audio.fax = NULL;
    fp_impair_release(&m->in);
    fp_impair_release(&m->out);
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
}
