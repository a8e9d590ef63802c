/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SIP user agent on Sofia-SIP nua (see ua.h).
 *
 * DESIGN: nua runs with its media layer (soa) disabled: we parse and write SDP ourselves
 * (sdp.c), so the nua handle only carries signalling. One struct ua_call per nua handle, bound
 * as the handle's magic and allocated in the handle's memory home, so it lives exactly as long
 * as the dialog. A call ends in one place, the nua_i_state "terminated" event, which reports
 * on_ended (for calls server/ accepted) and destroys the handle.
 *
 * Call states as seen here (server side of the initial INVITE):
 *   NEW ──on_invite rejects──▶ final 4xx/5xx ─▶ terminated
 *   NEW ──accept──▶ RINGING (180, answer_delay_ms) ──▶ ANSWERED (200 sent) ──ACK──▶ READY
 *   CANCEL in RINGING: nua answers 487 itself; BYE in any state ends the dialog.
 * Re-INVITEs (either side) happen in READY; nua itself answers 491 to an incoming re-INVITE
 * while ours is pending, and we retry ours after RFC 3261 §14.1's random delay.
 */
#include "ua.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ua_watch;
#define SU_ROOT_MAGIC_T struct ua
#define NUA_MAGIC_T struct ua
#define NUA_HMAGIC_T struct ua_call
#define SU_TIMER_ARG_T struct ua_call
#define SU_WAKEUP_ARG_T struct ua_watch

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include "log.h"

#define UA_MAX_WATCHES 4
#define UA_SDP_BUF 4096
#define UA_MAX_AUTH_ATTEMPTS 2
#define UA_TLS_VERIFY_DEPTH 4 /* CA chain length we accept above a peer's certificate */

struct ua_watch {
    su_wait_t wait;
    int index; /* su_root registration */
    void (*fn)(void *data);
    void *data;
};

struct ua {
    su_home_t home[1];
    su_root_t *root;
    nua_t *nua;
    const struct ua_events *ev;
    void *data;
    char user_agent[128];
    char listen_host[UA_SDP_ADDR_LEN + 2]; /* for our From/Contact: "1.2.3.4" or "[::1]" */
    int answer_delay_ms;
    int max_sdp_bytes;
    int ncalls; /* accepted calls not yet ended */
    uint64_t sess_seq;
    bool shutting_down;
    int nwatches;
    struct ua_watch watches[UA_MAX_WATCHES];
};

enum ua_call_state {
    UA_CALL_NEW = 0,
    UA_CALL_CALLING, /* our INVITE sent, no final answer yet */
    UA_CALL_RINGING,
    UA_CALL_ANSWERED,
    UA_CALL_READY,
    UA_CALL_ENDED,
};

enum ua_timer_purpose { UA_TIMER_NONE = 0, UA_TIMER_ANSWER, UA_TIMER_REINVITE, UA_TIMER_RING };

struct ua_call {
    struct ua *ua;
    nua_handle_t *nh;
    void *call_data;
    enum ua_call_state state;
    bool is_accepted;      /* server/ said 200: on_ended is owed */
    bool is_call_id_owner; /* we sent the initial INVITE (RFC 3261 §14.1 glare timing) */
    char call_id[128];

    struct ua_sdp_prefs prefs;
    bool refuse_t38_reoffer;
    char local_addr[UA_SDP_ADDR_LEN];
    int local_family;
    uint16_t local_port;
    char srtp_key[UA_SRTP_KEY_B64_LEN + 1]; /* ours, "" = none */
    uint64_t sess_id, sess_version;

    struct ua_media_desc media; /* in use */
    struct ua_sdp *offer;       /* initial offer kept for a delayed answer (handle home) */
    bool awaiting_ack_answer;   /* our 200 carried the offer: the answer comes in the ACK */
    enum ua_media_kind ack_offer_kind;

    su_timer_t *timer;
    enum ua_timer_purpose timer_purpose;
    bool is_reinvite_pending; /* ours: scheduled or in flight */
    enum ua_media_kind reinvite_kind;

    char auth_user[64];
    char auth_password[128];
    int auth_attempts;
};

/* ---- helpers ---- */

static void
sofia_logger(void *stream, char const *fmt, va_list ap)
{
    log_vmsg(LOG_DEBUG, fmt, ap);
}

/* Sofia's transport log; not in a public header. */
extern su_log_t tport_log[];

/* While nua_create() sets up TLS: sofia-sip 1.12.11 only logs a certificate it cannot load,
 * or a key that does not match it, and listens anyway with a context that fails every
 * handshake. Its messages are told apart by their format (tport_tls.c, tls_init_context);
 * nua_create() waits for the stack's initialisation, so the flag is set before it returns. */
static _Atomic int tls_setup_failed;

static void
tport_logger(void *stream, char const *fmt, va_list ap)
{
    if (strstr(fmt, "invalid local certificate") || strstr(fmt, "invalid private key") ||
        strstr(fmt, "private key does not match") || strstr(fmt, "error loading CA"))
        tls_setup_failed = 1;
    log_vmsg(LOG_DEBUG, fmt, ap);
}

static const char *
str_or_empty(const char *s)
{
    return s ? s : "";
}

static void
copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", str_or_empty(src));
}

/* The SDP body of a request or response, or NULL. Returns -EMSGSIZE if over the limit,
 * -EPROTONOSUPPORT if there is a body that is not application/sdp. */
static int
get_sdp_body(const struct ua *ua, const sip_t *sip, const char **ret_body, size_t *ret_len)
{
    *ret_body = NULL;
    *ret_len = 0;
    if (!sip || !sip->sip_payload || sip->sip_payload->pl_len == 0)
        return 0;
    if (sip->sip_content_type && sip->sip_content_type->c_type &&
        !su_casematch(sip->sip_content_type->c_type, "application/sdp"))
        return -EPROTONOSUPPORT;
    if (sip->sip_payload->pl_len > (size_t)ua->max_sdp_bytes)
        return -EMSGSIZE;
    *ret_body = sip->sip_payload->pl_data;
    *ret_len = sip->sip_payload->pl_len;
    return 1;
}

/* The SDP answer in `sip` to our offer of `kind`: 0 with *ret_media, or -errno
 * (-ENODATA: no body). */
static int
parse_answer(const struct ua *ua, const sip_t *sip, enum ua_media_kind kind,
             const struct ua_sdp_prefs *prefs, struct ua_media_desc *ret_media)
{
    struct ua_sdp answer;
    const char *body;
    size_t len;

    int r = get_sdp_body(ua, sip, &body, &len);
    if (r == 0)
        return -ENODATA;
    if (r < 0)
        return r;
    r = ua_sdp_parse(body, len, &answer);
    if (r < 0)
        return r;
    return ua_sdp_accept_answer(&answer, kind, prefs, ret_media);
}

static void
local_sdp(struct ua_call *call, struct ua_sdp_local *ret)
{
    *ret = (struct ua_sdp_local){
        .addr = call->local_addr,
        .family = call->local_family,
        .port = call->local_port,
        .srtp_key = call->srtp_key[0] ? call->srtp_key : NULL,
        .sess_id = call->sess_id,
        .sess_version = ++call->sess_version,
    };
}

static void
arm_timer(struct ua_call *call, enum ua_timer_purpose purpose, int delay_ms,
          void (*fn)(struct ua *, su_timer_t *, struct ua_call *))
{
    if (!call->timer)
        call->timer = su_timer_create(su_root_task(call->ua->root), 0);
    if (!call->timer) {
        log_warning("call %s: cannot create timer", call->call_id);
        return;
    }
    su_timer_reset(call->timer);
    call->timer_purpose = purpose;
    su_timer_set_interval(call->timer, fn, call, delay_ms > 0 ? delay_ms : 1);
}

static void
cancel_timer(struct ua_call *call)
{
    if (call->timer)
        su_timer_reset(call->timer);
    call->timer_purpose = UA_TIMER_NONE;
}

/* ---- answering the initial INVITE ---- */

static void
answer_call(struct ua_call *call)
{
    char sdp[UA_SDP_BUF];
    struct ua_sdp_local local;
    int n;

    local_sdp(call, &local);
    if (call->media.kind == UA_MEDIA_NONE) {
        /* Delayed offer (RFC 3261 §13.2.1): we offer audio in the 200, the answer comes in
         * the ACK. T.38 follows by re-INVITE as for any audio call. */
        n = ua_sdp_write_offer(UA_MEDIA_AUDIO, &call->prefs, &local, sdp, sizeof(sdp));
        call->awaiting_ack_answer = true;
        call->ack_offer_kind = UA_MEDIA_AUDIO;
    } else {
        n = ua_sdp_write_answer(call->offer, &call->media, &local, sdp, sizeof(sdp));
    }
    if (n < 0) {
        log_warning("call %s: cannot write SDP (%s), declining", call->call_id, strerror(-n));
        nua_respond(call->nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        return;
    }
    call->state = UA_CALL_ANSWERED;
    nua_respond(call->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    if (call->ua->ev->on_answered)
        call->ua->ev->on_answered(call->ua->data, call->call_data);
}

static void
on_answer_timer(struct ua *ua, su_timer_t *t, struct ua_call *call)
{
    call->timer_purpose = UA_TIMER_NONE;
    if (call->state == UA_CALL_RINGING)
        answer_call(call);
}

static void
reject(nua_handle_t *nh, int status, const char *phrase, int retry_after_s)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", retry_after_s);
    nua_respond(nh, status, phrase ? phrase : sip_status_phrase(status),
                TAG_IF(retry_after_s > 0, SIPTAG_RETRY_AFTER_STR(ra)),
                TAG_IF(status == 415, SIPTAG_ACCEPT_STR("application/sdp")), TAG_END());
}

static struct ua_call *
new_call(struct ua *ua, nua_handle_t *nh, const sip_t *sip)
{
    struct ua_call *call = su_zalloc(nua_handle_home(nh), sizeof(*call));
    if (!call)
        return NULL;
    call->ua = ua;
    call->nh = nh;
    if (sip && sip->sip_call_id)
        copy_str(call->call_id, sizeof(call->call_id), sip->sip_call_id->i_id);
    call->sess_id = ((uint64_t)time(NULL) << 16) ^ ++ua->sess_seq;
    nua_handle_bind(nh, call);
    return call;
}

static void
handle_initial_invite(struct ua *ua, nua_handle_t *nh, const sip_t *sip)
{
    struct ua_call *call = new_call(ua, nh, sip);
    if (!call) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nua_handle_destroy(nh);
        return;
    }

    const char *body;
    size_t len;
    int r = get_sdp_body(ua, sip, &body, &len);
    if (r == -EPROTONOSUPPORT)
        return reject(nh, SIP_415_UNSUPPORTED_MEDIA, 0);
    if (r == -EMSGSIZE)
        return reject(nh, 413, "Request Entity Too Large", 0);

    struct ua_sdp *offer = NULL;
    if (r > 0) {
        offer = su_zalloc(nua_handle_home(nh), sizeof(*offer));
        if (!offer)
            return reject(nh, SIP_500_INTERNAL_SERVER_ERROR, 0);
        r = ua_sdp_parse(body, len, offer);
        if (r < 0) {
            log_info("call %s: malformed SDP offer (%s): 400", call->call_id, strerror(-r));
            return reject(nh, 400, "Bad Session Description", 0);
        }
    }

    /* Source of the request, for the trunk ACL: the transport address, never a header. */
    msg_t *msg = nua_current_request(ua->nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    /* TLS runs over TCP, and nua does not tell which transport delivered the request, so
     * over a stream the sender's top Via says whether it is TLS (RFC 3261 §18.1.1: the
     * sent-protocol is the transport the request went out on). A TCP client could claim TLS;
     * the name is only logged and recorded, nothing is decided on it. */
    const char *transport = "udp";
    if (ai && ai->ai_protocol == IPPROTO_TCP)
        transport = sip->sip_via && su_casematch(sip->sip_via->v_protocol, sip_transport_tls)
                        ? "tls"
                        : "tcp";
    struct ua_invite inv = {
        .call = call,
        .call_id = call->call_id,
        .request_user = sip->sip_request ? str_or_empty(sip->sip_request->rq_url->url_user) : "",
        .to_user = sip->sip_to ? str_or_empty(sip->sip_to->a_url->url_user) : "",
        .from_user = sip->sip_from ? str_or_empty(sip->sip_from->a_url->url_user) : "",
        .from_display = sip->sip_from ? str_or_empty(sip->sip_from->a_display) : "",
        .source = ai ? (const struct sockaddr *)ai->ai_addr : NULL,
        .source_len = ai ? (socklen_t)ai->ai_addrlen : 0,
        .transport = transport,
        .offer = offer,
    };
    struct ua_decision d = {0};
    ua->ev->on_invite(ua->data, &inv, &d);

    if (d.status != 200)
        return reject(nh, d.status ? d.status : 500, d.phrase, d.retry_after_s);

    call->is_accepted = true;
    ua->ncalls++;
    call->call_data = d.call_data;
    call->media = d.media;
    call->prefs = d.prefs;
    call->refuse_t38_reoffer = d.refuse_t38_reoffer;
    call->offer = offer;
    copy_str(call->local_addr, sizeof(call->local_addr), d.local_addr);
    call->local_family = d.local_family;
    call->local_port = d.local_port;
    copy_str(call->srtp_key, sizeof(call->srtp_key), d.srtp_key);
    copy_str(call->auth_user, sizeof(call->auth_user), d.auth_user);
    copy_str(call->auth_password, sizeof(call->auth_password), d.auth_password);

    if (ua->answer_delay_ms > 0) {
        call->state = UA_CALL_RINGING;
        nua_respond(nh, SIP_180_RINGING, TAG_END());
        arm_timer(call, UA_TIMER_ANSWER, ua->answer_delay_ms, on_answer_timer);
    } else {
        answer_call(call);
    }
}

/* ---- re-INVITEs ---- */

static void
handle_reinvite(struct ua *ua, struct ua_call *call, const sip_t *sip)
{
    char sdp[UA_SDP_BUF];
    struct ua_sdp_local local;
    struct ua_sdp offer;
    const char *body;
    size_t len;
    int n;

    int r = get_sdp_body(ua, sip, &body, &len);
    if (r == -EPROTONOSUPPORT)
        return reject(call->nh, SIP_415_UNSUPPORTED_MEDIA, 0);
    if (r == -EMSGSIZE)
        return reject(call->nh, 413, "Request Entity Too Large", 0);

    if (r == 0) {
        /* re-INVITE without SDP: offer what we use now; the answer comes in the ACK. */
        enum ua_media_kind kind = call->media.kind ? call->media.kind : UA_MEDIA_AUDIO;
        local_sdp(call, &local);
        n = ua_sdp_write_offer(kind, &call->prefs, &local, sdp, sizeof(sdp));
        if (n < 0)
            return reject(call->nh, SIP_500_INTERNAL_SERVER_ERROR, 0);
        call->awaiting_ack_answer = true;
        call->ack_offer_kind = kind;
        nua_respond(call->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(sdp), TAG_END());
        return;
    }

    r = ua_sdp_parse(body, len, &offer);
    if (r < 0) {
        log_info("call %s: malformed SDP in re-INVITE (%s): 400", call->call_id, strerror(-r));
        return reject(call->nh, 400, "Bad Session Description", 0);
    }
    /* A trunk may forbid the far end to switch us to T.38: negotiate as if we had none. */
    struct ua_sdp_prefs prefs = call->prefs;
    if (call->refuse_t38_reoffer && call->media.kind != UA_MEDIA_T38)
        prefs.t38_enabled = false;
    struct ua_media_desc media;
    r = ua_sdp_negotiate(&offer, &prefs, &media);
    if (r < 0) {
        log_info("call %s: re-INVITE with no acceptable media: 488", call->call_id);
        return reject(call->nh, SIP_488_NOT_ACCEPTABLE, 0);
    }
    local_sdp(call, &local);
    n = ua_sdp_write_answer(&offer, &media, &local, sdp, sizeof(sdp));
    if (n < 0)
        return reject(call->nh, SIP_500_INTERNAL_SERVER_ERROR, 0);
    nua_respond(call->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());

    log_info("call %s: far end switched media %s -> %s", call->call_id,
             ua_media_kind_name(call->media.kind), ua_media_kind_name(media.kind));
    call->media = media;
    if (call->is_accepted)
        ua->ev->on_media(ua->data, call->call_data, &call->media);
}

static void
send_reinvite(struct ua_call *call)
{
    char sdp[UA_SDP_BUF];
    struct ua_sdp_local local;

    local_sdp(call, &local);
    int n = ua_sdp_write_offer(call->reinvite_kind, &call->prefs, &local, sdp, sizeof(sdp));
    if (n < 0) {
        call->is_reinvite_pending = false;
        log_warning("call %s: cannot write re-INVITE offer", call->call_id);
        return;
    }
    log_info("call %s: sending re-INVITE offering %s", call->call_id,
             ua_media_kind_name(call->reinvite_kind));
    nua_invite(call->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp),
               TAG_END());
}

/* Our INVITE rang for the whole ring timeout (RFC 3261 leaves it to the UA: Timer C only
 * guards against a proxy that stopped answering): CANCEL it, as a caller hanging up. */
static void
on_ring_timer(struct ua *ua, su_timer_t *t, struct ua_call *call)
{
    call->timer_purpose = UA_TIMER_NONE;
    if (call->state != UA_CALL_CALLING)
        return;
    log_info("call %s: no answer: canceling", call->call_id);
    nua_cancel(call->nh, TAG_END());
}

static void
on_reinvite_timer(struct ua *ua, su_timer_t *t, struct ua_call *call)
{
    call->timer_purpose = UA_TIMER_NONE;
    if (call->state != UA_CALL_READY || call->media.kind == call->reinvite_kind) {
        /* Over, or the far end switched first (t38_reinvite = "either"). */
        call->is_reinvite_pending = false;
        return;
    }
    send_reinvite(call);
}

int
ua_reinvite(struct ua_call *call, enum ua_media_kind kind, int delay_ms)
{
    if (call->is_reinvite_pending)
        return -EALREADY;
    call->is_reinvite_pending = true;
    call->reinvite_kind = kind;
    if (delay_ms <= 0 && call->state == UA_CALL_READY)
        send_reinvite(call);
    else
        arm_timer(call, UA_TIMER_REINVITE, delay_ms, on_reinvite_timer);
    return 0;
}

/* Digest challenge to our request: answer it once per realm with the trunk's credentials. */
static bool
authenticate(struct ua_call *call, const sip_t *sip)
{
    const msg_auth_t *au = NULL;
    if (sip)
        au = sip->sip_www_authenticate ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    if (!au || !au->au_scheme || !call->auth_user[0] || call->auth_attempts >= UA_MAX_AUTH_ATTEMPTS)
        return false;
    const char *realm = msg_params_find(au->au_params, "realm=");
    char cred[512];
    /* NUTAG_AUTH wants scheme:"realm":user:password; the realm keeps its quotes. */
    snprintf(cred, sizeof(cred), "%s:%s:%s:%s", au->au_scheme, realm ? realm : "\"\"",
             call->auth_user, call->auth_password);
    call->auth_attempts++;
    nua_authenticate(call->nh, NUTAG_AUTH(cred), TAG_END());
    return true;
}

static void
handle_reinvite_response(struct ua *ua, struct ua_call *call, int status, const sip_t *sip)
{
    if (status < 200 || !call->is_reinvite_pending)
        return;
    if ((status == 401 || status == 407) && authenticate(call, sip))
        return;
    call->auth_attempts = 0;

    if (status == 491) {
        /* RFC 3261 §14.1: retry after T: 2.1–4 s if we own the Call-ID, else 0–2 s,
         * in units of 10 ms. */
        int ms = call->is_call_id_owner ? 2100 + 10 * (rand() % 191) : 10 * (rand() % 201);
        log_info("call %s: re-INVITE glare (491), retrying in %d ms", call->call_id, ms);
        arm_timer(call, UA_TIMER_REINVITE, ms, on_reinvite_timer);
        return;
    }
    call->is_reinvite_pending = false;

    if (status >= 300) {
        log_info("call %s: our re-INVITE for %s refused: %d", call->call_id,
                 ua_media_kind_name(call->reinvite_kind), status);
        if (call->is_accepted)
            ua->ev->on_reinvite_failed(ua->data, call->call_data, status);
        return;
    }

    struct ua_media_desc media;
    int r = parse_answer(ua, sip, call->reinvite_kind, &call->prefs, &media);
    if (r < 0) {
        log_info("call %s: answer to our re-INVITE unusable (%s)", call->call_id, strerror(-r));
        if (call->is_accepted)
            ua->ev->on_reinvite_failed(ua->data, call->call_data, 488);
        return;
    }
    log_info("call %s: media switched %s -> %s", call->call_id,
             ua_media_kind_name(call->media.kind), ua_media_kind_name(media.kind));
    call->media = media;
    if (call->is_accepted)
        ua->ev->on_media(ua->data, call->call_data, &call->media);
}

/* The ACK of our 200. When our 200 carried an offer, it carries the answer. */
static void
handle_ack(struct ua *ua, struct ua_call *call, const sip_t *sip)
{
    if (!call->awaiting_ack_answer)
        return;
    call->awaiting_ack_answer = false;

    struct ua_media_desc media;
    int r = parse_answer(ua, sip, call->ack_offer_kind, &call->prefs, &media);
    if (r < 0) {
        /* RFC 3261 §13.2.2.4: a bad answer in the ACK: hang up with BYE. */
        log_info("call %s: no usable SDP answer in ACK (%s): hanging up", call->call_id,
                 strerror(-r));
        ua_hangup(call, 488);
        return;
    }
    call->media = media;
    if (call->is_accepted)
        ua->ev->on_media(ua->data, call->call_data, &call->media);
}

/* ---- outbound calls ---- */

struct ua_call *
ua_originate(struct ua *ua, const struct ua_originate *o, void *call_data)
{
    char from[160], call_id[96], sdp[UA_SDP_BUF];
    unsigned char rnd[8];

    /* Globally unique (RFC 3261 §8.1.1.4): unseeded rand() gave every process, and every
     * run, the same Call-IDs. */
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
        memcpy(rnd, &x, sizeof(rnd));
    }
    snprintf(call_id, sizeof(call_id), "%02x%02x%02x%02x%02x%02x%02x%02x-%llu@inkless", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7],
             (unsigned long long)++ua->sess_seq);
    snprintf(from, sizeof(from), "<sip:%s@%s>",
             o->from_user && o->from_user[0] ? o->from_user : "anonymous", ua->listen_host);
    /* The To header takes the URI in angle brackets: bare, its ";transport=" would be read
     * as a To parameter (RFC 3261 §20.10) and the call would go out over UDP. */
    char to[300];
    snprintf(to, sizeof(to), "<%s>", o->to_uri);
    nua_handle_t *nh = nua_handle(ua->nua, NULL, NUTAG_URL(o->to_uri), SIPTAG_TO_STR(to),
                                  SIPTAG_FROM_STR(from), SIPTAG_CALL_ID_STR(call_id), TAG_END());
    if (!nh)
        return NULL;
    struct ua_call *call = new_call(ua, nh, NULL);
    if (!call) {
        nua_handle_destroy(nh);
        return NULL;
    }
    copy_str(call->call_id, sizeof(call->call_id), call_id);
    call->call_data = call_data;
    call->is_call_id_owner = true;
    call->prefs = o->prefs;
    call->refuse_t38_reoffer = o->refuse_t38_reoffer;
    copy_str(call->local_addr, sizeof(call->local_addr), o->local_addr);
    call->local_family = o->local_family;
    call->local_port = o->local_port;
    copy_str(call->srtp_key, sizeof(call->srtp_key), o->srtp_key);
    copy_str(call->auth_user, sizeof(call->auth_user), o->auth_user);
    copy_str(call->auth_password, sizeof(call->auth_password), o->auth_password);
    call->reinvite_kind = o->offer; /* what our initial offer was, for reading the answer */

    struct ua_sdp_local local;
    local_sdp(call, &local);
    if (ua_sdp_write_offer(o->offer, &call->prefs, &local, sdp, sizeof(sdp)) < 0) {
        nua_handle_bind(nh, NULL);
        nua_handle_destroy(nh);
        return NULL;
    }
    call->is_accepted = true;
    ua->ncalls++;
    call->state = UA_CALL_CALLING;
    nua_invite(nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    if (o->ring_timeout_ms > 0)
        arm_timer(call, UA_TIMER_RING, o->ring_timeout_ms, on_ring_timer);
    return call;
}

/* Responses to our initial INVITE. A failure needs nothing here: the terminated call
 * state follows and reports on_ended with the status. */
static void
handle_outbound_response(struct ua *ua, struct ua_call *call, int status, const sip_t *sip)
{
    if (status < 200)
        return;
    if ((status == 401 || status == 407) && authenticate(call, sip))
        return;
    if (status >= 300)
        return;

    struct ua_media_desc media;
    int r = parse_answer(ua, sip, call->reinvite_kind, &call->prefs, &media);
    call->state = UA_CALL_ANSWERED;
    if (r < 0) {
        log_info("call %s: answer to our INVITE unusable (%s): hanging up", call->call_id,
                 strerror(-r));
        ua_hangup(call, 488);
        return;
    }
    call->media = media;
    ua->ev->on_media(ua->data, call->call_data, &call->media);
}

/* ---- the end of a call ---- */

void
ua_hangup(struct ua_call *call, int cause)
{
    switch (call->state) {
    case UA_CALL_CALLING:
        nua_cancel(call->nh, TAG_END());
        break;
    case UA_CALL_NEW:
    case UA_CALL_RINGING:
        cancel_timer(call);
        reject(call->nh, cause >= 400 ? cause : 480, NULL, 0);
        break;
    case UA_CALL_ANSWERED:
    case UA_CALL_READY:
        nua_bye(call->nh, TAG_END());
        break;
    case UA_CALL_ENDED:
        break;
    }
}

static void
call_terminated(struct ua *ua, struct ua_call *call, int status, const char *phrase)
{
    if (call->state == UA_CALL_ENDED)
        return;
    call->state = UA_CALL_ENDED;
    cancel_timer(call);
    if (call->timer)
        su_timer_destroy(call->timer), call->timer = NULL;
    if (call->is_accepted) {
        ua->ncalls--;
        ua->ev->on_ended(ua->data, call->call_data, status, phrase);
    }
    nua_handle_bind(call->nh, NULL);
    nua_handle_destroy(call->nh); /* frees call: it lives in the handle's home */
}

static void
handle_state(struct ua *ua, struct ua_call *call, int status, const char *phrase, tagi_t tags[])
{
    int callstate = nua_callstate_init;

    tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());
    switch (callstate) {
    case nua_callstate_ready:
        if (call->state == UA_CALL_ANSWERED) {
            call->state = UA_CALL_READY;
            if (call->is_accepted)
                ua->ev->on_established(ua->data, call->call_data);
        }
        break;
    case nua_callstate_terminated:
        call_terminated(ua, call, status, phrase);
        break;
    default:
        break;
    }
}

/* ---- the nua callback ---- */

static void
ua_callback(nua_event_t event, int status, char const *phrase, nua_t *nua, struct ua *ua,
            nua_handle_t *nh, struct ua_call *call, sip_t const *sip, tagi_t tags[])
{
    switch (event) {
    case nua_i_invite:
        if (ua->shutting_down && !call) {
            nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
            nua_handle_destroy(nh);
        } else if (!call) {
            handle_initial_invite(ua, nh, sip);
        } else {
            handle_reinvite(ua, call, sip);
        }
        break;
    case nua_i_ack:
        if (call)
            handle_ack(ua, call, sip);
        break;
    case nua_r_invite:
        if (call && call->state == UA_CALL_CALLING)
            handle_outbound_response(ua, call, status, sip);
        else if (call)
            handle_reinvite_response(ua, call, status, sip);
        break;
    case nua_i_state:
        if (call)
            handle_state(ua, call, status, phrase, tags);
        break;
    case nua_r_shutdown:
        if (status >= 200)
            su_root_break(ua->root);
        break;
    case nua_i_terminated:
    case nua_i_bye:
    case nua_i_cancel:
    case nua_r_bye:
    case nua_r_cancel:
    case nua_i_active:
        break; /* the terminated/ready call state follows */
    default:
        /* OPTIONS, MESSAGE, INFO, REGISTER…: nua has answered already (OPTIONS 200 with
         * Allow/Accept; others 405/501). Drop handles nua created for them. */
        if (!call && nh)
            nua_handle_destroy(nh);
        if (event == nua_i_error)
            log_debug("sip: error event %d %s", status, str_or_empty(phrase));
        break;
    }
}

/* ---- watching other threads' eventfds from su_root ---- */

static int
watch_wakeup(struct ua *ua, su_wait_t *w, struct ua_watch *watch)
{
    watch->fn(watch->data);
    return 0;
}

int
ua_watch_fd(struct ua *ua, int fd, void (*fn)(void *data), void *data)
{
    if (ua->nwatches >= UA_MAX_WATCHES)
        return -ENOSPC;
    struct ua_watch *w = &ua->watches[ua->nwatches];
    if (su_wait_create(&w->wait, fd, SU_WAIT_IN) < 0)
        return -errno;
    w->fn = fn;
    w->data = data;
    w->index = su_root_register(ua->root, &w->wait, watch_wakeup, w, 0);
    if (w->index < 0) {
        su_wait_destroy(&w->wait);
        return -EINVAL;
    }
    ua->nwatches++;
    return 0;
}

/* ---- the TLS certificate directory ---- */

/* Append the file at `path` to fd `out`. Returns 0 or -errno. */
static int
append_file(int out, const char *path)
{
    char buf[4096];
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ssize_t n = 0;

    if (in < 0)
        return -errno;
    while ((n = read(in, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t off = 0; n > 0 && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                int r = -errno;
                (void)close(in);
                return r;
            }
            off += w;
        }
    }
    int r = n < 0 ? -errno : 0;
    (void)close(in);
    /* PEM blocks must start on a line of their own in the concatenation. */
    return r < 0 ? r : write(out, "\n", 1) == 1 ? 0 : -EIO;
}

/* Write dir/name (mode 0600) as the concatenation of files a and b (b may be NULL): a temp
 * file renamed into place, so sofia never reads half a key. Returns 0 or -errno and names
 * the failing file in *ret_culprit. */
static int
write_pem(const char *dir, const char *name, const char *a, const char *b, const char **ret_culprit)
{
    char tmp[1200], path[1200];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        *ret_culprit = dir;
        return -errno;
    }
    int r = append_file(fd, a);
    *ret_culprit = a;
    if (r == 0 && b) {
        r = append_file(fd, b);
        *ret_culprit = b;
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0) {
        r = -errno;
        *ret_culprit = dir;
    }
    if (r < 0)
        (void)unlink(tmp);
    return r;
}

/* sofia-sip 1.12.11 takes TLS material only as TPTAG_CERTIFICATE(dir): it loads our
 * certificate and key both from dir/agent.pem, and the trusted CAs from dir/cafile.pem (the
 * newer per-file tags do not exist in this version). So the configured files are copied into
 * a private directory of ours at every start, never in place: the key stays readable by us
 * alone, and a stale cafile.pem cannot outlive its removal from the configuration.
 * Blocking file I/O: startup only, before su_root runs. */
static int
tls_make_dir(const struct ua_options *opts, char *errbuf, size_t errlen)
{
    struct stat st;
    const char *culprit = opts->tls_dir;
    int r;

    if (mkdir(opts->tls_dir, 0700) < 0 && errno != EEXIST)
        goto fail_errno;
    if (lstat(opts->tls_dir, &st) < 0)
        goto fail_errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        snprintf(errbuf, errlen, "TLS: %s is not a directory of ours", opts->tls_dir);
        return -EPERM;
    }
    if ((st.st_mode & 0777) != 0700 && chmod(opts->tls_dir, 0700) < 0)
        goto fail_errno;
    /* The key first: sofia reads both the key and the certificate from agent.pem. */
    r = write_pem(opts->tls_dir, "agent.pem", opts->tls_key, opts->tls_cert, &culprit);
    if (r == 0 && opts->tls_ca && opts->tls_ca[0])
        r = write_pem(opts->tls_dir, "cafile.pem", opts->tls_ca, NULL, &culprit);
    if (r == 0 && !(opts->tls_ca && opts->tls_ca[0])) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/cafile.pem", opts->tls_dir);
        if (unlink(path) < 0 && errno != ENOENT)
            r = -errno;
    }
    if (r < 0) {
        snprintf(errbuf, errlen, "TLS: %s: %s", culprit, strerror(-r));
        return r;
    }
    return 0;
fail_errno:
    r = -errno;
    snprintf(errbuf, errlen, "TLS: %s: %s", culprit, strerror(-r));
    return r;
}

/* ---- lifecycle ---- */

struct ua *
ua_new(const struct ua_options *opts, const struct ua_events *events, void *data, char *errbuf,
       size_t errlen)
{
    struct ua *ua = calloc(1, sizeof(*ua));
    if (!ua) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    ua->ev = events;
    ua->data = data;
    ua->answer_delay_ms = opts->answer_delay_ms;
    ua->max_sdp_bytes = opts->max_sdp_bytes > 0 ? opts->max_sdp_bytes : UA_SDP_MAX_BODY;
    copy_str(ua->user_agent, sizeof(ua->user_agent), opts->user_agent);
    snprintf(ua->listen_host, sizeof(ua->listen_host),
             strchr(opts->listen_addr, ':') ? "[%s]" : "%s", opts->listen_addr);

    su_init();
    su_home_init(ua->home);
    su_log_redirect(su_log_default, sofia_logger, NULL);
    su_log_redirect(su_log_global, sofia_logger, NULL);
    su_log_redirect(tport_log, tport_logger, NULL);
    su_log_set_level(su_log_default, opts->debug ? 5 : 0);
    su_log_set_level(su_log_global, opts->debug ? 5 : 0);
    su_log_set_level(tport_log, opts->debug ? 5 : 1); /* 1: for tport_logger() */

    ua->root = su_root_create(ua);
    if (!ua->root) {
        snprintf(errbuf, errlen, "cannot create su_root");
        goto fail;
    }

    /* A bare sip: URL binds every default transport (UDP and TCP); name one to bind only it.
     * TLS gets a sips: URL of its own on tls_port (RFC 3261 §19.1.2: 5061 by default). */
    char url[256], sips_url[256];
    bool v6 = strchr(opts->listen_addr, ':') != NULL;
    const char *tp = opts->udp && opts->tcp ? "" : opts->udp ? ";transport=udp" : ";transport=tcp";
    if (opts->udp || opts->tcp)
        snprintf(url, sizeof(url), v6 ? "sip:[%s]:%d%s" : "sip:%s:%d%s", opts->listen_addr,
                 opts->port, tp);
    else
        snprintf(url, sizeof(url), v6 ? "sips:[%s]:%d" : "sips:%s:%d", opts->listen_addr,
                 opts->tls_port);
    snprintf(sips_url, sizeof(sips_url), v6 ? "sips:[%s]:%d" : "sips:%s:%d", opts->listen_addr,
             opts->tls_port);

    /* Peer certificates are checked against tls_ca when there is one: always the far end's
     * when we connect (a carrier), the client's when we accept only on tls_verify_clients
     * (mutual TLS). No CA: encrypted, but nobody is authenticated. */
    bool has_ca = opts->tls_ca && opts->tls_ca[0];
    unsigned policy = has_ca ? TPTLS_VERIFY_OUTGOING : TPTLS_VERIFY_NONE;
    if (has_ca && opts->tls_verify_clients)
        policy |= TPTLS_VERIFY_INCOMING;
    if (opts->tls && tls_make_dir(opts, errbuf, errlen) < 0)
        goto fail;

    ua->nua = nua_create(ua->root, ua_callback, ua, NUTAG_URL(url),
                         TAG_IF(opts->tls && (opts->udp || opts->tcp), NUTAG_SIPS_URL(sips_url)),
                         TAG_IF(opts->tls, TPTAG_CERTIFICATE(opts->tls_dir)),
                         TAG_IF(opts->tls, TPTAG_TLS_VERIFY_POLICY(policy)),
                         TAG_IF(opts->tls, TPTAG_TLS_VERIFY_DEPTH(UA_TLS_VERIFY_DEPTH)),
                         NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
                         NUTAG_AUTOACK(1), NUTAG_ENABLEINVITE(1), NUTAG_SESSION_TIMER(0),
                         /* Only what we implement: no PRACK/UPDATE/REFER, no session timers. */
                         SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS"),
                         SIPTAG_SUPPORTED_STR(""), SIPTAG_ACCEPT_STR("application/sdp"),
                         SIPTAG_USER_AGENT_STR(ua->user_agent), SIPTAG_SERVER_STR(ua->user_agent),
                         /* Answer to the packet's source address and port, as behind NAT. */
                         NTATAG_SERVER_RPORT(2),
                         /* No STUN server on the SIP port: a SIP trunk has no use for it, and
                          * sofia-sip 1.12.11 leaks on every malformed STUN request. */
                         TPTAG_STUN_SERVER(0), TAG_END());
    if (ua->nua && opts->tls && tls_setup_failed) {
        snprintf(errbuf, errlen,
                 "TLS: cannot use the certificate %s with the key %s (not PEM, the key "
                 "encrypted or not the certificate's?)",
                 opts->tls_cert, opts->tls_key);
        /* nua_destroy() wants a finished shutdown: run the root until nua_r_shutdown. */
        ua->shutting_down = true;
        nua_shutdown(ua->nua);
        su_root_run(ua->root);
        goto fail;
    }
    if (!ua->nua) {
        if (opts->tls)
            snprintf(errbuf, errlen,
                     "cannot listen on %s and %s (address in use or not local? TLS: is the key "
                     "unencrypted and does it match the certificate?)",
                     url, sips_url);
        else
            snprintf(errbuf, errlen, "cannot listen on %s (address in use or not local?)", url);
        goto fail;
    }
    return ua;
fail:
    ua_free(ua);
    return NULL;
}

void
ua_run(struct ua *ua)
{
    su_root_run(ua->root);
}

void
ua_shutdown(struct ua *ua)
{
    if (ua->shutting_down)
        return;
    ua->shutting_down = true;
    nua_shutdown(ua->nua);
}

void
ua_stop(struct ua *ua)
{
    su_root_break(ua->root);
}

int
ua_active_calls(const struct ua *ua)
{
    return ua->ncalls;
}

const char *
ua_call_id(const struct ua_call *call)
{
    return call->call_id;
}

void
ua_free(struct ua *ua)
{
    if (!ua)
        return;
    if (ua->nua)
        nua_destroy(ua->nua);
    for (int i = 0; i < ua->nwatches; i++)
        su_root_deregister(ua->root, ua->watches[i].index);
    if (ua->root)
        su_root_destroy(ua->root);
    su_home_deinit(ua->home);
    su_deinit();
    free(ua);
}
