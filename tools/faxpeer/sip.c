/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer SIP: its own small user agent on Sofia-SIP nua (deliberately not sip/ua.c, so a bug
 * there cannot hide itself in the tests), the su_root loop, and the media tick.
 *
 * DESIGN: nua runs with its media layer off (NUTAG_MEDIA_ENABLE(0)); SDP is written and read
 * with the pure sip/sdp.h functions. One struct fp_call per nua handle (its hmagic). A call
 * ends in one place, call_finish(), on nua's "terminated" call state (or when it could not
 * start). One su_timer drives everything periodic (run_timer):
 *   - the media ticks: the number of 20 ms / --speed intervals elapsed since start on the
 *     monotonic clock, each passing 160 samples to every live call (catching up if late);
 *   - per call deadlines, in real time: answer delay, our re-INVITE, CANCEL, timeout, the
 *     hang-up after phase E (FP_LINGER_TICKS of media time after it), --bye-after-pages;
 *   - UAC: starting calls up to --concurrent (and --cps); the end of the run.
 *
 * Call flow (UAC; UAS mirrors it):
 *   SETUP ──2xx──▶ UP ──phase E + linger / pages / timeout──▶ BYE ─▶ ENDING ─▶ ENDED
 *   SETUP ──CANCEL (--cancel-after, timeout)──▶ ENDING ──487──▶ ENDED
 * Media: when the answer chose audio, the G.711 fax starts at once (both as UAC and UAS), so
 * CNG and CED flow in audio before any switch. T.38 by re-INVITE (RFC 3261 §14): ours after
 * --reinvite-delay of media time (--t38 reinvite); theirs accepted (wait); in --t38 glare,
 * their first one is answered 491 and ours is sent at once, and a 491 to ours is retried
 * after §14.1's random delay (2.1-4 s if we own the Call-ID, i.e. placed the call, else
 * 0-2 s), unless the far end's own retry got there first. A T.38 re-INVITE that succeeds
 * replaces the G.711 session with a T.38 one; one that is refused (ours answered 4xx/5xx/6xx,
 * or theirs answered 488 in --t38 none/refuse) leaves the fax on G.711.
 */
#include "faxpeer.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SU_ROOT_MAGIC_T struct fp_peer
#define NUA_MAGIC_T struct fp_peer
#define NUA_HMAGIC_T struct fp_call
#define SU_TIMER_ARG_T struct fp_peer
#define SU_WAKEUP_ARG_T struct fp_call

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>

#include "log.h"

#define SDP_BUF 4096
#define READY_BATCH 256      /* readable sockets one epoll_wait() returns */
#define READY_ROUNDS 64      /* epoll_wait() calls a tick at most: a datagram per socket each */
#define MAX_CATCHUP_TICKS 50 /* more late ticks than this are skipped */
#define ENDING_TIMEOUT_NS 40000000000ULL  /* BYE/CANCEL unanswered: nua gives up at 32 s */
#define SHUTDOWN_TIMEOUT_NS 5000000000ULL /* nua_shutdown taking longer: just stop */
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

/* Sofia's transport log (messages on the wire with TPORT_LOG=1); not in a public header. */
extern su_log_t tport_log[];

static volatile sig_atomic_t is_interrupted;

static void
on_signal(int sig)
{
    is_interrupted = 1;
}

static void
sofia_logger(void *stream, char const *fmt, va_list ap)
{
    log_vmsg(LOG_DEBUG, fmt, ap);
}

static void call_reason(struct fp_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first reason a call failed for is the one reported. */
static void
call_reason(struct fp_call *c, const char *fmt, ...)
{
    va_list ap;
    if (c->reason[0])
        return;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
}

/* ---- SDP ---- */

static bool
is_audio_only(const struct fp_options *o)
{
    return o->t38 == FP_T38_NONE || o->t38 == FP_T38_REFUSE;
}

static void
build_prefs(const struct fp_options *o, struct ua_sdp_prefs *ret)
{
    *ret = (struct ua_sdp_prefs){
        .t38_enabled = !is_audio_only(o),
        .prefer_t38 = true,
        .pcmu = o->codec != FP_CODEC_PCMA,
        .pcma = o->codec != FP_CODEC_PCMU,
        .t38 =
            {
                .version = o->version,
                .max_bitrate = o->max_rate,
                .rate_management = UA_T38_RATE_TRANSFERRED_TCF,
                .max_buffer = 2000,
                .max_datagram = o->max_datagram,
                .ec = o->fec               ? UA_T38_EC_FEC
                      : o->redundancy == 0 ? UA_T38_EC_NONE
                                           : UA_T38_EC_REDUNDANCY,
            },
    };
    snprintf(ret->t38.vendor_info, sizeof(ret->t38.vendor_info), "inkless faxpeer");
}

static void
local_sdp(struct fp_call *c, struct ua_sdp_local *ret)
{
    const char *addr = c->peer->opts->sip_addr;
    *ret = (struct ua_sdp_local){
        .addr = addr,
        .family = strchr(addr, ':') ? AF_INET6 : AF_INET,
        .port = c->m.local_port,
        .sess_id = c->sess_id,
        .sess_version = ++c->sess_version,
    };
}

/* The SDP body of a message: 1 with body and length, 0 if none. */
static int
sdp_body(const sip_t *sip, const char **ret_body, size_t *ret_len)
{
    if (!sip || !sip->sip_payload || sip->sip_payload->pl_len == 0)
        return 0;
    *ret_body = sip->sip_payload->pl_data;
    *ret_len = sip->sip_payload->pl_len;
    return 1;
}

/* The answer in `sip` to our offer of `kind`: 0, -ENODATA (no SDP), -EINVAL (malformed) or
 * -ENOMEDIUM (the stream was refused). */
static int
parse_answer(struct fp_call *c, const sip_t *sip, enum ua_media_kind kind,
             struct ua_media_desc *ret)
{
    struct ua_sdp sdp;
    const char *body;
    size_t len;
    if (!sdp_body(sip, &body, &len))
        return -ENODATA;
    int r = ua_sdp_parse(body, len, &sdp);
    if (r < 0)
        return r;
    return ua_sdp_accept_answer(&sdp, kind, &c->peer->prefs, ret);
}

/* ---- call lifecycle ---- */

static void
live_add(struct fp_peer *p, struct fp_call *c)
{
    c->prev_live = NULL;
    c->next_live = p->live;
    if (p->live)
        p->live->prev_live = c;
    p->live = c;
}

static void
live_remove(struct fp_peer *p, struct fp_call *c)
{
    if (c->prev_live)
        c->prev_live->next_live = c->next_live;
    else
        p->live = c->next_live;
    if (c->next_live)
        c->next_live->prev_live = c->prev_live;
    c->next_live = c->prev_live = NULL;
}

static void
call_begin(struct fp_peer *p, struct fp_call *c)
{
    const struct fp_options *o = p->opts;
    uint64_t now = fp_now_ns();
    c->state = FP_CALL_SETUP;
    c->start_ns = now;
    c->deadline_ns = now + (uint64_t)(o->timeout_s * NS_PER_S);
    c->sess_id = ((uint64_t)now / 1000) ^ ((uint64_t)c->index << 40);
    c->m.fd = -1;
    live_add(p, c);
    p->started++;
    if (++p->active > p->max_active)
        p->max_active = p->active;
}

/* The call is over: free its media and its handle, count it. Idempotent. */
static void
call_finish(struct fp_call *c, int status, const char *phrase)
{
    struct fp_peer *p = c->peer;
    if (c->state == FP_CALL_ENDED || c->state == FP_CALL_IDLE)
        return;
    fp_media_close(c);
    free(c->offer);
    c->offer = NULL;
    if (c->sip_status == 0)
        c->sip_status = status;
    if (c->nh) {
        nua_handle_bind(c->nh, NULL);
        nua_handle_destroy(c->nh);
        c->nh = NULL;
    }
    c->state = FP_CALL_ENDED;
    c->end_ns = fp_now_ns();
    live_remove(p, c);
    p->ended++;
    p->active--;
    if (c->is_ready)
        p->up--;
    if (p->active == 0)
        p->idle_since_ns = c->end_ns;
    log_info("call %d: ended (%d %s)%s%s", c->index, status, phrase ? phrase : "",
             c->reason[0] ? ": " : "", c->reason);
}

/* Hang up in whatever way the state allows; the "terminated" state then ends the call. */
static void
hangup(struct fp_call *c)
{
    const struct fp_options *o = c->peer->opts;
    if (c->has_hungup || c->state == FP_CALL_ENDED || c->state == FP_CALL_ENDING)
        return;
    c->has_hungup = true;
    if (!c->nh) {
        call_finish(c, 500, "no handle");
        return;
    }
    if (c->state == FP_CALL_SETUP) {
        if (o->is_uas)
            nua_respond(c->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END());
        else
            nua_cancel(c->nh, TAG_END());
    } else {
        nua_bye(c->nh, TAG_END());
    }
    c->state = FP_CALL_ENDING;
    c->ending_ns = fp_now_ns();
}

/* End the fax at once (phase E with what it has achieved), before hanging up. */
static void
stop_fax(struct fp_call *c)
{
    fp_media_stop(c);
}

/* The media socket, in the set the tick polls (closing it takes it out). */
static int
open_media(struct fp_call *c)
{
    int r = fp_media_open(c, c->peer->opts->sip_addr);
    if (r < 0)
        return r;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(c->peer->media_epfd, EPOLL_CTL_ADD, c->m.fd, &ev) < 0)
        return -errno;
    return 0;
}

/* Audio is agreed: start the G.711 fax (or follow the far end to a new address). */
static void
use_audio(struct fp_call *c, const struct ua_media_desc *desc)
{
    c->media = *desc;
    int r = fp_media_start_audio(c, desc);
    if (r < 0) {
        call_reason(c, "cannot start the G.711 fax session: %s", strerror(-r));
        hangup(c);
    }
}

/* T.38 is agreed: start (or update) the fax; a G.711 fax in progress is dropped. */
static void
use_t38(struct fp_call *c, const struct ua_media_desc *desc)
{
    c->media = *desc;
    c->reinvite = FP_REINVITE_NONE;
    int r = fp_media_start_t38(c, desc);
    if (r < 0) {
        call_reason(c, "cannot start the fax session: %s", strerror(-r));
        hangup(c);
    }
}

/* ---- our T.38 re-INVITE ---- */

static void
send_reinvite(struct fp_call *c)
{
    char sdp[SDP_BUF];
    struct ua_sdp_local local;
    local_sdp(c, &local);
    int n = ua_sdp_write_offer(UA_MEDIA_T38, &c->peer->prefs, &local, sdp, sizeof(sdp));
    if (n < 0) {
        call_reason(c, "cannot write T.38 offer: %s", strerror(-n));
        hangup(c);
        return;
    }
    c->reinvite = FP_REINVITE_SENT;
    c->reinvites_sent++;
    log_info("call %d: sending T.38 re-INVITE", c->index);
    nua_invite(c->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp),
               TAG_END());
}

static void
schedule_reinvite(struct fp_call *c, int delay_ms)
{
    c->reinvite = FP_REINVITE_SCHEDULED;
    c->reinvite_at_ns = fp_now_ns() + (uint64_t)delay_ms * NS_PER_MS;
}

/* RFC 3261 §14.1: after a 491, the owner of the Call-ID (the one that placed the call) waits
 * 2.1 to 4 s, the other side 0 to 2 s, both in units of 10 ms. The far end usually retries
 * first, and we accept its re-INVITE. */
static int
glare_delay_ms(const struct fp_call *c)
{
    return c->peer->opts->is_uas ? 10 * (rand() % 201) : 2100 + 10 * (rand() % 191);
}

static void
on_reinvite_response(struct fp_call *c, int status, const char *phrase, const sip_t *sip)
{
    if (status < 200 || c->reinvite != FP_REINVITE_SENT)
        return;
    /* 491 from the far end, or from nua itself when the far end's re-INVITE is still pending
     * here; 900 is nua's "INVITE already in progress". Both mean "later". */
    if (status == 491 || status == 900) {
        c->glare_491++;
        int ms = glare_delay_ms(c);
        log_info("call %d: re-INVITE glare (%d %s), retrying in %d ms", c->index, status,
                 phrase ? phrase : "", ms);
        schedule_reinvite(c, ms);
        return;
    }
    c->reinvite = FP_REINVITE_NONE;
    if (status >= 300 && c->m.audio.fax) {
        /* The "T.38 refused, stay on G.711" case (an ATA or trunk without T.38). */
        c->t38_reinvite_status = status;
        log_info("call %d: T.38 re-INVITE refused: %d %s; the fax goes on over G.711", c->index,
                 status, phrase ? phrase : "");
        return;
    }
    if (status >= 300) {
        c->t38_reinvite_status = status;
        c->sip_status = status;
        call_reason(c, "T.38 re-INVITE refused: %d %s", status, phrase ? phrase : "");
        log_info("call %d: %s", c->index, c->reason);
        hangup(c);
        return;
    }
    struct ua_media_desc desc;
    int r = parse_answer(c, sip, UA_MEDIA_T38, &desc);
    if (r < 0) {
        call_reason(c, "answer to our T.38 re-INVITE unusable: %s", strerror(-r));
        hangup(c);
        return;
    }
    log_info("call %d: media switched %s -> t38 (our re-INVITE)", c->index,
             ua_media_kind_name(c->media.kind));
    use_t38(c, &desc);
}

/* ---- the far end's re-INVITE ---- */

static void
reject_reinvite(struct fp_call *c, int status, const char *phrase)
{
    nua_respond(c->nh, status, phrase, TAG_END());
}

/* Does an offer propose T.38 (an image stream not disabled)? */
static bool
offers_t38(const struct ua_sdp *offer)
{
    for (int i = 0; i < offer->nmedia; i++)
        if (offer->media[i].kind == UA_MEDIA_T38 && offer->media[i].port != 0)
            return true;
    return false;
}

static void
on_reinvite(struct fp_call *c, const sip_t *sip)
{
    const struct fp_options *o = c->peer->opts;
    struct ua_sdp offer;
    struct ua_media_desc desc;
    const char *body;
    size_t len;
    char sdp[SDP_BUF];
    struct ua_sdp_local local;

    if (c->state != FP_CALL_UP)
        return reject_reinvite(c, SIP_491_REQUEST_PENDING);
    if (!sdp_body(sip, &body, &len))
        return reject_reinvite(c, 488, "faxpeer needs an SDP offer");
    int r = ua_sdp_parse(body, len, &offer);
    if (r < 0)
        return reject_reinvite(c, 400, "Bad Session Description");
    r = ua_sdp_negotiate(&offer, &c->peer->prefs, &desc);
    if (r < 0) {
        /* --t38 none/refuse: T.38 is not in our prefs, so a T.38 offer lands here. */
        if (is_audio_only(o) && offers_t38(&offer)) {
            c->t38_refused++;
            log_info("call %d: %s the far end's T.38 re-INVITE with 488; staying on G.711",
                     c->index, o->t38 == FP_T38_REFUSE ? "refusing" : "no T.38 here: answering");
        }
        return reject_reinvite(c, SIP_488_NOT_ACCEPTABLE);
    }

    if (desc.kind == UA_MEDIA_T38 && c->media.kind != UA_MEDIA_T38) {
        /* --t38 glare: make both re-INVITEs meet. nua will not send ours while theirs is
         * unanswered (it would answer it 491 locally), so refuse theirs first and send ours
         * right behind; the far end sees 491 for its INVITE and then our INVITE. */
        if (o->t38 == FP_T38_GLARE && !c->has_provoked_glare) {
            c->has_provoked_glare = true;
            log_info("call %d: glare: answering the far end's T.38 re-INVITE 491 and sending "
                     "ours",
                     c->index);
            reject_reinvite(c, SIP_491_REQUEST_PENDING);
            send_reinvite(c);
            return;
        }
        if (c->reinvite == FP_REINVITE_SENT)
            return reject_reinvite(c, SIP_491_REQUEST_PENDING);
    }

    local_sdp(c, &local);
    int n = ua_sdp_write_answer(&offer, &desc, &local, sdp, sizeof(sdp));
    if (n < 0)
        return reject_reinvite(c, SIP_500_INTERNAL_SERVER_ERROR);
    nua_respond(c->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    log_info("call %d: far end switched media %s -> %s", c->index,
             ua_media_kind_name(c->media.kind), ua_media_kind_name(desc.kind));
    if (desc.kind == UA_MEDIA_T38)
        use_t38(c, &desc);
    else
        use_audio(c, &desc); /* from T.38 back to audio: the T.38 fax runs into its timeout */
}

/* ---- UAC: placing calls ---- */

static void
start_uac_call(struct fp_peer *p, struct fp_call *c)
{
    const struct fp_options *o = p->opts;
    char sdp[SDP_BUF], to[300], from[200];
    struct ua_sdp_local local;

    call_begin(p, c);
    int r = open_media(c);
    if (r < 0) {
        call_reason(c, "media socket: %s", strerror(-r));
        call_finish(c, 500, "local error");
        return;
    }
    c->offer_kind = o->t38 == FP_T38_INITIAL ? UA_MEDIA_T38 : UA_MEDIA_AUDIO;
    local_sdp(c, &local);
    int n = ua_sdp_write_offer(c->offer_kind, &p->prefs, &local, sdp, sizeof(sdp));
    if (n < 0) {
        call_reason(c, "cannot write SDP offer: %s", strerror(-n));
        call_finish(c, 500, "local error");
        return;
    }
    snprintf(to, sizeof(to), "<%s>", o->call_uri);
    snprintf(from, sizeof(from), strchr(o->sip_addr, ':') ? "<sip:%s@[%s]>" : "<sip:%s@%s>",
             o->from ? o->from : "faxpeer", o->sip_addr);
    c->nh = nua_handle(p->nua, c, NUTAG_URL(o->call_uri), SIPTAG_TO_STR(to), SIPTAG_FROM_STR(from),
                       TAG_END());
    if (!c->nh) {
        call_reason(c, "cannot create nua handle");
        call_finish(c, 500, "local error");
        return;
    }
    if (o->cancel_after_ms >= 0)
        c->cancel_at_ns = c->start_ns + (uint64_t)o->cancel_after_ms * NS_PER_MS;
    log_info("call %d: INVITE %s offering %s", c->index, o->call_uri,
             ua_media_kind_name(c->offer_kind));
    nua_invite(c->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp),
               TAG_END());
}

static void
on_invite_response(struct fp_call *c, int status, const char *phrase, const sip_t *sip)
{
    if (!c->call_id[0] && sip && sip->sip_call_id)
        snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id->i_id);
    if (c->state == FP_CALL_UP || (c->state == FP_CALL_ENDING && c->reinvite == FP_REINVITE_SENT))
        return on_reinvite_response(c, status, phrase, sip);
    if (status < 200)
        return;
    if (c->sip_status == 0)
        c->sip_status = status;
    if (!c->answered_ns)
        c->answered_ns = fp_now_ns();
    if (status >= 300) {
        if (c->is_cancelled && status == 487)
            call_reason(c, "cancelled (487)");
        else
            call_reason(c, "INVITE answered %d %s", status, phrase ? phrase : "");
        return; /* nua reports the terminated state next */
    }
    if (c->state == FP_CALL_ENDING) {
        /* Our CANCEL crossed the 200: nua ACKed it, and the call must be hung up with BYE. */
        call_reason(c, "answered (%d) before our CANCEL took effect", status);
        nua_bye(c->nh, TAG_END());
        return;
    }
    c->state = FP_CALL_UP;
    struct ua_media_desc desc;
    int r = parse_answer(c, sip, c->offer_kind, &desc);
    if (r < 0) {
        call_reason(c, "%s refused in the answer to our INVITE (%s)",
                    c->offer_kind == UA_MEDIA_T38 ? "T.38" : "audio", strerror(-r));
        hangup(c);
        return;
    }
    log_info("call %d: answered %d, media %s", c->index, status, ua_media_kind_name(desc.kind));
    if (desc.kind == UA_MEDIA_T38)
        use_t38(c, &desc);
    else
        use_audio(c, &desc);
}

/* ---- UAS: answering ---- */

static void
answer_call(struct fp_call *c)
{
    char sdp[SDP_BUF];
    struct ua_sdp_local local;
    local_sdp(c, &local);
    int n = ua_sdp_write_answer(c->offer, &c->media, &local, sdp, sizeof(sdp));
    if (n < 0) {
        call_reason(c, "cannot write SDP answer: %s", strerror(-n));
        nua_respond(c->nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        c->state = FP_CALL_ENDING;
        c->ending_ns = fp_now_ns();
        return;
    }
    nua_respond(c->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    c->state = FP_CALL_UP;
    c->sip_status = 200;
    free(c->offer);
    c->offer = NULL;
    log_info("call %d: answered, media %s", c->index, ua_media_kind_name(c->media.kind));
    struct ua_media_desc desc = c->media;
    if (desc.kind == UA_MEDIA_T38)
        use_t38(c, &desc);
    else
        use_audio(c, &desc);
}

/* Refuse an INVITE for which we have no call slot (after --calls, over --concurrent). */
static void
refuse_new(struct fp_peer *p, nua_handle_t *nh, int status, const char *phrase)
{
    p->rejected++;
    nua_respond(nh, status, phrase, SIPTAG_RETRY_AFTER_STR("1"), TAG_END());
    nua_handle_destroy(nh);
}

/* End a call we could not accept: the response goes out and "terminated" ends it. */
static void
refuse_call(struct fp_call *c, int status, const char *phrase)
{
    c->sip_status = status;
    call_reason(c, "refused the INVITE: %d %s", status, phrase);
    nua_respond(c->nh, status, phrase, TAG_END());
    c->state = FP_CALL_ENDING;
    c->ending_ns = fp_now_ns();
}

static void
on_incoming(struct fp_peer *p, nua_handle_t *nh, const sip_t *sip)
{
    const struct fp_options *o = p->opts;
    if (p->shutdown_ns || p->started >= o->calls)
        return refuse_new(p, nh, SIP_503_SERVICE_UNAVAILABLE);
    if (o->concurrent > 0 && p->active >= o->concurrent)
        return refuse_new(p, nh, 503, "Too Many Calls");

    struct fp_call *c = &p->calls[p->started];
    call_begin(p, c);
    c->nh = nh;
    nua_handle_bind(nh, c);
    if (sip && sip->sip_call_id)
        snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id->i_id);
    log_info("call %d: incoming INVITE from %s (Call-ID %s)", c->index,
             sip && sip->sip_from && sip->sip_from->a_url->url_user ? sip->sip_from->a_url->url_user
                                                                    : "?",
             c->call_id);

    bool is_first = o->first_calls == 0 || c->index <= o->first_calls;
    if (o->reject_status && is_first)
        return refuse_call(c, o->reject_status,
                           sip_status_phrase(o->reject_status) ? sip_status_phrase(o->reject_status)
                                                               : "Rejected");
    const char *body;
    size_t len;
    if (!sdp_body(sip, &body, &len))
        return refuse_call(c, 488, "faxpeer needs an SDP offer");
    c->offer = calloc(1, sizeof(*c->offer));
    if (!c->offer)
        return refuse_call(c, SIP_500_INTERNAL_SERVER_ERROR);
    if (ua_sdp_parse(body, len, c->offer) < 0)
        return refuse_call(c, 400, "Bad Session Description");
    if (ua_sdp_negotiate(c->offer, &p->prefs, &c->media) < 0)
        return refuse_call(c, SIP_488_NOT_ACCEPTABLE);
    int r = open_media(c);
    if (r < 0) {
        call_reason(c, "media socket: %s", strerror(-r));
        return refuse_call(c, SIP_500_INTERNAL_SERVER_ERROR);
    }
    if (o->answer_delay_ms > 0) {
        nua_respond(nh, SIP_180_RINGING, TAG_END());
        c->answer_at_ns = fp_now_ns() + (uint64_t)o->answer_delay_ms * NS_PER_MS;
    } else {
        answer_call(c);
    }
}

/* ---- nua events ---- */

static void
on_call_state(struct fp_call *c, int status, const char *phrase, tagi_t tags[])
{
    const struct fp_options *o = c->peer->opts;
    int callstate = nua_callstate_init;
    tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());

    if (callstate == nua_callstate_ready && !c->is_ready && c->state == FP_CALL_UP) {
        c->is_ready = true;
        struct fp_peer *p = c->peer;
        if (++p->up > p->max_up)
            p->max_up = p->up;
        /* --t38 reinvite: our re-INVITE once the call is up (the 200 has been ACKed), after
         * --reinvite-delay of media time: the audio fax has sent CNG/CED by then, as an ATA
         * that switches on detecting them would. */
        if (o->t38 == FP_T38_REINVITE && c->media.kind == UA_MEDIA_AUDIO &&
            c->reinvite == FP_REINVITE_NONE)
            schedule_reinvite(c, o->reinvite_delay_ms / o->speed);
    } else if (callstate == nua_callstate_terminated) {
        call_finish(c, status, phrase);
    }
}

static void
on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua, struct fp_peer *p,
             nua_handle_t *nh, struct fp_call *c, sip_t const *sip, tagi_t tags[])
{
    switch (event) {
    case nua_i_invite:
        if (!c)
            on_incoming(p, nh, sip);
        else
            on_reinvite(c, sip);
        break;
    case nua_r_invite:
        if (c)
            on_invite_response(c, status, phrase, sip);
        break;
    case nua_i_state:
        if (c)
            on_call_state(c, status, phrase, tags);
        break;
    case nua_i_bye:
        if (c) {
            c->is_far_bye = true;
            log_info("call %d: BYE from the far end", c->index);
        }
        break;
    case nua_i_cancel:
        if (c) {
            call_reason(c, "cancelled by the far end");
            log_info("call %d: CANCEL from the far end", c->index);
        }
        break;
    case nua_r_shutdown:
        if (status >= 200)
            su_root_break(p->root);
        break;
    case nua_i_ack:
    case nua_i_active:
    case nua_i_terminated:
    case nua_r_bye:
    case nua_r_cancel:
    case nua_i_prack:
        break;
    default:
        /* OPTIONS and the like: nua has answered. Drop handles it made for them. */
        if (!c && nh)
            nua_handle_destroy(nh);
        if (event == nua_i_error)
            log_debug("sip: error event %d %s", status, phrase ? phrase : "");
        break;
    }
}

/* ---- the timer: media ticks, deadlines, call starts ---- */

static void
check_call(struct fp_peer *p, struct fp_call *c, uint64_t now)
{
    const struct fp_options *o = p->opts;

    if (c->state == FP_CALL_ENDING) {
        if (now - c->ending_ns > ENDING_TIMEOUT_NS) {
            call_reason(c, "no response to our BYE/CANCEL");
            call_finish(c, 408, "Request Timeout");
        }
        return;
    }
    if (now >= c->deadline_ns) {
        c->is_timeout = true;
        call_reason(c, "timeout after %.1f s", o->timeout_s);
        log_info("call %d: %s", c->index, c->reason);
        stop_fax(c);
        hangup(c);
        return;
    }
    if (c->state == FP_CALL_SETUP) {
        if (c->answer_at_ns && now >= c->answer_at_ns) {
            c->answer_at_ns = 0;
            answer_call(c);
        } else if (c->cancel_at_ns && now >= c->cancel_at_ns && !o->is_uas) {
            c->cancel_at_ns = 0;
            c->is_cancelled = true;
            call_reason(c, "cancelled by us after %d ms", o->cancel_after_ms);
            log_info("call %d: sending CANCEL", c->index);
            hangup(c);
        }
        return;
    }
    /* FP_CALL_UP */
    if (c->reinvite == FP_REINVITE_SCHEDULED && now >= c->reinvite_at_ns) {
        if (c->media.kind == UA_MEDIA_T38 || c->m.is_done)
            c->reinvite = FP_REINVITE_NONE; /* the far end's came first, or the fax is over */
        else
            send_reinvite(c);
    }
    /* --bye-after-pages: hang up FP_BYE_DELAY_TICKS after the Nth page, so that its
     * confirmation (MCF) reaches the sender before our BYE does, and the page counts as
     * delivered on both sides; the next page is then cut in the middle. */
    if (o->bye_after_pages > 0 && (o->first_calls == 0 || c->index <= o->first_calls) &&
        fp_media_is_running(c) && fp_media_pages(c) >= o->bye_after_pages) {
        if (c->bye_tick == 0)
            c->bye_tick = c->m.ticks + FP_BYE_DELAY_TICKS;
        if (c->m.ticks >= c->bye_tick) {
            call_reason(c, "hung up after %d pages (--bye-after-pages)", o->bye_after_pages);
            log_info("call %d: %s", c->index, c->reason);
            stop_fax(c);
            hangup(c);
            return;
        }
    }
    /* Phase E: leave the last packets (DCN and its repeats) time to arrive, then hang up
     * unless the far end did already. */
    if (c->m.is_done && c->m.ticks - c->m.done_tick >= FP_LINGER_TICKS)
        hangup(c);
}

static void
begin_shutdown(struct fp_peer *p, uint64_t now)
{
    if (p->shutdown_ns)
        return;
    p->shutdown_ns = now;
    p->finish_ns = now;
    for (struct fp_call *c = p->live, *next; c; c = next) {
        next = c->next_live;
        call_reason(c, "interrupted");
        stop_fax(c);
        hangup(c);
    }
    nua_shutdown(p->nua);
}

/* Media sockets are read at the start of each tick, not as packets come: the media clock
 * is the tick count, so a packet read now has the time it would have had when it arrived,
 * and the far end's sends do not wake us (on loopback, a wake-up per packet would be
 * charged to the daemon under test, which a real network does not do). G.711 plays out on
 * a fixed schedule, so what came before a tick must be in the jitter buffer when it is
 * pulled; T.38 answers a tick later at most. */
static void
read_media(struct fp_peer *p)
{
    /* As the daemon does (server/media.c drain_ready): each round reads one datagram from
     * every socket the level-triggered set names, until none is named. */
    struct epoll_event ready[READY_BATCH];
    for (int round = 0; round < READY_ROUNDS; round++) {
        int n = epoll_wait(p->media_epfd, ready, READY_BATCH, 0);
        for (int i = 0; i < n; i++)
            fp_media_on_readable(ready[i].data.ptr);
        if (n <= 0)
            break;
    }
}

static void
run_ticks(struct fp_peer *p, uint64_t now)
{
    uint64_t due = (now - p->begin_ns) / p->tick_ns;
    if (due <= p->ticks_done)
        return;
    uint64_t n = due - p->ticks_done;
    if (n > 1) {
        /* Late: the ticks we owe run back to back, each still 160 samples. */
        uint64_t late = now - (p->begin_ns + (p->ticks_done + 1) * p->tick_ns);
        p->late_ticks += n - 1;
        if (late > p->max_late_ns)
            p->max_late_ns = late;
    }
    if (n > MAX_CATCHUP_TICKS) {
        p->ticks_done = due - MAX_CATCHUP_TICKS;
        n = MAX_CATCHUP_TICKS;
    }
    for (uint64_t i = 0; i < n; i++) {
        p->ticks_done++;
        read_media(p);
        for (struct fp_call *c = p->live; c; c = c->next_live)
            fp_media_tick(c);
    }
}

static void
run_timer(struct fp_peer *p, su_timer_t *t, struct fp_peer *arg)
{
    const struct fp_options *o = p->opts;
    uint64_t now = fp_now_ns();

    run_ticks(p, now);
    for (struct fp_call *c = p->live, *next; c; c = next) {
        next = c->next_live;
        check_call(p, c, now);
    }

    if (p->shutdown_ns) {
        if (now - p->shutdown_ns > SHUTDOWN_TIMEOUT_NS) {
            log_warning("SIP shutdown takes too long: stopping");
            su_root_break(p->root);
        }
    } else if (is_interrupted) {
        log_warning("interrupted: hanging up");
        begin_shutdown(p, now);
    } else if (p->ended == o->calls) {
        begin_shutdown(p, now);
    } else if (o->is_uas) {
        if (p->active == 0 && now - p->idle_since_ns > (uint64_t)(o->idle_timeout_s * NS_PER_S)) {
            log_warning("no call for %.1f s (--idle-timeout): giving up with %d of %d calls "
                        "done",
                        o->idle_timeout_s, p->ended, o->calls);
            p->is_idle_timeout = true;
            begin_shutdown(p, now);
        }
    } else {
        /* UAC: keep --concurrent calls going, paced by --cps. */
        while (p->started < o->calls && p->active < o->concurrent &&
               (o->cps <= 0 || now >= p->next_start_ns)) {
            if (o->cps > 0)
                p->next_start_ns =
                    (p->next_start_ns ? p->next_start_ns : now) + (uint64_t)(NS_PER_S / o->cps);
            start_uac_call(p, &p->calls[p->started]);
        }
    }

    uint64_t next = p->begin_ns + (p->ticks_done + 1) * p->tick_ns;
    uint64_t ms = next > now ? (next - now + NS_PER_MS - 1) / NS_PER_MS : 1;
    su_timer_set_interval(t, run_timer, p, ms > 0 ? (su_duration_t)ms : 1);
}

/* ---- setup ---- */

int
fp_sip_run(struct fp_peer *p)
{
    const struct fp_options *o = p->opts;
    char url[160];
    int r = 0;

    build_prefs(o, &p->prefs);
    p->tick_ns = FP_TICK_MS * NS_PER_MS / (uint64_t)o->speed;

    if (o->sip_debug)
        setenv("TPORT_LOG", "1", 0);
    su_init();
    su_log_redirect(su_log_default, sofia_logger, NULL);
    su_log_redirect(su_log_global, sofia_logger, NULL);
    su_log_redirect(tport_log, sofia_logger, NULL);
    su_log_set_level(su_log_default, o->sip_debug ? 5 : 0);
    su_log_set_level(su_log_global, o->sip_debug ? 5 : 0);

    p->media_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->media_epfd < 0) {
        su_deinit();
        return log_err(-errno, "epoll_create1: %s", strerror(errno));
    }
    p->root = su_root_create(p);
    if (!p->root) {
        close(p->media_epfd);
        su_deinit();
        return log_err(-ENOMEM, "cannot create su_root");
    }

    /* UAS: bind the given port (every transport unless one was named). UAC: an ephemeral
     * port on the transport we call with ("*" lets the system choose). TLS needs a bound
     * TLS transport for its client connections too: they use its certificate and CA. */
    bool v6 = strchr(o->is_uas ? o->listen_addr : o->sip_addr, ':') != NULL;
    const char *tp = o->tls             ? ";transport=tls"
                     : o->udp && o->tcp ? ""
                     : o->udp           ? ";transport=udp"
                                        : ";transport=tcp";
    if (o->is_uas)
        snprintf(url, sizeof(url), v6 ? "%s:[%s]:%d%s" : "%s:%s:%d%s", o->tls ? "sips" : "sip",
                 o->listen_addr, o->listen_port, o->tls ? "" : tp);
    else
        snprintf(url, sizeof(url), v6 ? "%s:[%s]:*%s" : "%s:%s:*%s", o->tls ? "sips" : "sip",
                 o->sip_addr, o->tls ? "" : tp);

    /* With a CA, the far end must prove itself: the server we call, the client calling us. */
    char ca[512];
    snprintf(ca, sizeof(ca), "%s/cafile.pem", o->tls_dir ? o->tls_dir : ".");
    unsigned policy = o->tls && access(ca, R_OK) == 0 ? TPTLS_VERIFY_ALL : TPTLS_VERIFY_NONE;

    p->nua = nua_create(
        p->root, on_nua_event, p, NUTAG_URL(url), TAG_IF(o->tls, TPTAG_CERTIFICATE(o->tls_dir)),
        TAG_IF(o->tls, TPTAG_TLS_VERIFY_POLICY(policy)), NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0),
        NUTAG_AUTOALERT(0), NUTAG_AUTOACK(1), NUTAG_ENABLEINVITE(1), NUTAG_SESSION_TIMER(0),
        SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS"), SIPTAG_SUPPORTED_STR(""),
        SIPTAG_ACCEPT_STR("application/sdp"), SIPTAG_USER_AGENT_STR("inkless-faxpeer/0.1"),
        SIPTAG_SERVER_STR("inkless-faxpeer/0.1"), TAG_END());
    if (!p->nua) {
        r = log_err(-EADDRINUSE, "cannot bind SIP to %s (address in use or not local?)", url);
        goto out;
    }
    log_info("faxpeer: SIP on %s, %s, speed %dx, %d call%s", url,
             o->is_uas ? "answering" : "calling", o->speed, o->calls, o->calls == 1 ? "" : "s");

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);

    p->timer = su_timer_create(su_root_task(p->root), FP_TICK_MS);
    if (!p->timer) {
        r = log_err(-ENOMEM, "cannot create timer");
        goto out;
    }
    p->begin_ns = fp_now_ns();
    p->idle_since_ns = p->begin_ns;
    run_timer(p, p->timer, p); /* starts the first calls and arms the timer */
    su_root_run(p->root);
    if (!p->finish_ns)
        p->finish_ns = fp_now_ns();

    /* Calls nua never finished (shutdown cut short) end here, with what they had. */
    for (struct fp_call *c = p->live, *next; c; c = next) {
        next = c->next_live;
        call_reason(c, "still running at exit");
        call_finish(c, 0, "exit");
    }
out:
    if (p->timer)
        su_timer_destroy(p->timer);
    if (p->nua)
        nua_destroy(p->nua);
    su_root_destroy(p->root);
    close(p->media_epfd);
    su_deinit();
    return r;
}
