/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Calls: routing (trunk ACL, DID, capacity, media) and the slot table (see call.h).
 *
 * Order of checks on an initial INVITE, each with its answer:
 *   1. source address in no trunk's sources          → 403 Forbidden
 *   2. dialled number (Request-URI, else To) unknown,
 *      or bound to another trunk                      → 404 Not Found
 *   3. draining (SIGTERM) or every slot in use         → 503 + Retry-After
 *   4. no acceptable stream in the SDP offer           → 488 Not Acceptable Here
 *   5. otherwise take a slot, attach it to a media worker, answer 200.
 * ACL before DID so that strangers learn nothing about which numbers exist.
 */
#include "call.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "srtp.h"
#include "spool.h"
#include "store.h"

struct call {
    struct call *next_free;
    int slot;
    bool is_in_use;
    bool is_attached;       /* chan belongs to a media worker until it replies RELEASED */
    bool is_answer_pending; /* inbound, ringing: the fax engine starts with our 200 */
    struct ua_call *ua;     /* NULL once the dialog ended */
    int worker;
    char call_id[128];
    char did[CFG_NUMBER_LEN];
    char caller[64];
    char trunk[CFG_NAME_LEN];
    enum cfg_reinvite reinvite;
    int reinvite_delay_ms;
    bool t38_enabled;
    struct ua_media_desc media; /* SIP thread's view */
    struct timespec started;    /* monotonic, for the duration in the end-of-call line */
    time_t started_wall;        /* for the fax record */
    bool is_fax_done;
    char job[SPOOL_ID_LEN]; /* outbound: the spool job, "" for inbound */
    int sip_status;         /* final status of the call, for the record */
    struct media_chan chan; /* owned by the media worker while attached */
};

struct call_table {
    const struct cfg *cfg;
    struct store *store;
    uint64_t seq;    /* makes spool file names unique within a run ... */
    uint32_t run_id; /* ... and this across runs */
    struct cfg_routes *routes;
    struct media_pool *media;
    struct mq *sip_q;
    struct mq *main_q;
    struct ua *ua;
    bool is_draining;
    bool is_idle_posted;
    int nactive; /* slots in use */
    struct call *free;
    struct call *calls; /* cfg->max_channels slots */
};

/* Copy a string, cutting it to the buffer (callers check lengths that matter first). */
static void
set_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void record_fax(struct call_table *t, struct call *call, const struct media_fax_done *done,
                       bool is_provisional);

static void
release_slot(struct call_table *t, struct call *call)
{
    call->is_in_use = false;
    call->is_attached = false;
    call->ua = NULL;
    call->next_free = t->free;
    t->free = call;
    t->nactive--;
}

static void
check_idle(struct call_table *t)
{
    if (!t->is_draining || t->nactive > 0 || t->is_idle_posted)
        return;
    struct mq_msg msg = {.type = MAIN_MSG_IDLE};
    if (mq_send(t->main_q, &msg) == 0)
        t->is_idle_posted = true;
}

static bool
source_to_in6(const struct sockaddr *sa, struct in6_addr *ret)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET6) {
        *ret = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        return true;
    }
    if (sa->sa_family == AF_INET) {
        memset(ret, 0, sizeof(*ret));
        ret->s6_addr[10] = 0xff;
        ret->s6_addr[11] = 0xff;
        memcpy(&ret->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    return false;
}

/* A call's SDP preferences on `trunk`, and our SRTP key for it when the trunk may use
 * SRTP (ret_key "" otherwise). SRTP required means no cleartext media: no T.38 either.
 * Returns 0, or -errno if no key could be drawn. */
static int
call_prefs(const struct cfg *cfg, const struct cfg_trunk *trunk, struct ua_sdp_prefs *ret,
           char *ret_key, size_t key_size)
{
    *ret = cfg->sdp;
    ret->srtp = trunk->srtp;
    if (!trunk->t38_enabled || trunk->srtp == UA_SRTP_REQUIRED)
        ret->t38_enabled = false;
    ret_key[0] = '\0';
    if (trunk->srtp == UA_SRTP_OFF)
        return 0;
    /* One key serves both suites we offer (RFC 4568 §6.2: both use 30-octet keys). */
    return fx38_srtp_key_generate(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, ret_key, key_size);
}

static const struct cfg_number *
find_did(const struct cfg_routes *routes, const struct cfg_trunk *trunk, const char *user,
         char *ret_digits, size_t size)
{
    if (!user || !*user || cfg_normalize_number(user, ret_digits, size) < 0)
        return NULL;
    return cfg_find_number(routes, ret_digits, trunk->country_code);
}

static double
seconds_since(const struct timespec *t0)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* spool/rx/<UTC time>-<run>-<slot>-<seq>.tif: sortable, under spandsp's 256-byte limit, and
 * unique across restarts too (the run id is random per start), even when the clock steps
 * back: the archive index takes the name as the fax's identity. */
static int
rx_file_name(struct call_table *t, struct call *call, char *buf, size_t size)
{
    char when[32];
    struct tm tm;
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", gmtime_r(&call->started_wall, &tm));
    int n = snprintf(buf, size, "%s/spool/rx/%s-%08x-%d-%llu.tif", t->cfg->var_dir, when, t->run_id,
                     call->slot, (unsigned long long)++t->seq);
    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* The media port of a call's slot: each slot owns an even port and the next (RTP/RTCP, or
 * UDPTL), at an offset chosen at random per run, so that after a restart a new call does
 * not take the port where a far end still sends the media of a call the old run left. */
static uint16_t
slot_port(const struct call_table *t, const struct call *call)
{
    int pairs = (t->cfg->port_max - t->cfg->port_min + 1) / 2;
    int pair = (int)(((uint32_t)call->slot + t->run_id) % (uint32_t)(pairs > 0 ? pairs : 1));
    return (uint16_t)(t->cfg->port_min + 2 * pair);
}

static void
format_source(const struct sockaddr *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    snprintf(buf, size, "%s:%d", host, port);
}

static void
on_invite(void *data, const struct ua_invite *inv, struct ua_decision *ret)
{
    struct call_table *t = data;
    const struct cfg *cfg = t->cfg;
    char src[INET6_ADDRSTRLEN + 8];
    struct in6_addr addr;

    format_source(inv->source, src, sizeof(src));

    const struct cfg_trunk *trunk =
        source_to_in6(inv->source, &addr) ? cfg_find_trunk(t->routes, &addr) : NULL;
    if (!trunk) {
        log_info("call %s from %s: source in no trunk: 403", inv->call_id, src);
        ret->status = 403;
        return;
    }

    char did[CFG_NUMBER_LEN];
    const struct cfg_number *num = find_did(t->routes, trunk, inv->request_user, did, sizeof(did));
    if (!num)
        num = find_did(t->routes, trunk, inv->to_user, did, sizeof(did));
    if (!num || (num->trunk >= 0 && &t->routes->trunks[num->trunk] != trunk)) {
        log_info("call %s from %s (trunk %s): number '%s' not ours: 404", inv->call_id, src,
                 trunk->name, inv->request_user);
        ret->status = 404;
        return;
    }

    if (t->is_draining || !t->free) {
        log_info("call %s to %s: %s: 503", inv->call_id, num->number,
                 t->is_draining ? "draining" : "all channels busy");
        ret->status = 503;
        ret->retry_after_s = cfg->retry_after_s;
        return;
    }

    char key[UA_SRTP_KEY_B64_LEN + 1];
    if (call_prefs(cfg, trunk, &ret->prefs, key, sizeof(key)) < 0) {
        log_error("call %s: cannot draw an SRTP key: 500", inv->call_id);
        ret->status = 500;
        return;
    }
    if (inv->offer) {
        int r = ua_sdp_negotiate(inv->offer, &ret->prefs, &ret->media);
        if (r < 0) {
            log_info("call %s to %s: no acceptable media in offer: 488", inv->call_id, num->number);
            ret->status = 488;
            return;
        }
    }

    struct call *call = t->free;
    t->free = call->next_free;
    t->nactive++;
    *call = (struct call){
        .slot = call->slot,
        .is_in_use = true,
        .ua = inv->call,
        .worker = call->slot % media_workers(t->media),
        .reinvite = trunk->t38_reinvite,
        .reinvite_delay_ms = trunk->t38_reinvite_delay_ms,
        .t38_enabled = ret->prefs.t38_enabled,
        .media = ret->media,
    };
    (void)clock_gettime(CLOCK_MONOTONIC, &call->started);
    call->started_wall = time(NULL);
    snprintf(call->call_id, sizeof(call->call_id), "%s", inv->call_id);
    snprintf(call->did, sizeof(call->did), "%s", num->number);
    snprintf(call->caller, sizeof(call->caller), "%s", inv->from_user);
    snprintf(call->trunk, sizeof(call->trunk), "%s", trunk->name);

    uint16_t port = slot_port(t, call);
    call->chan = (struct media_chan){
        .media = ret->media,
        .local_port = port,
        .direction = FX38_RECEIVE,
        .is_caller = false,
        .owner = call,
        .ecm = -1,
        .is_waiting_answer = cfg->answer_delay_ms > 0,
    };
    set_str(call->chan.srtp_key, sizeof(call->chan.srtp_key), key);
    call->is_answer_pending = call->chan.is_waiting_answer;
    if (rx_file_name(t, call, call->chan.file, sizeof(call->chan.file)) < 0) {
        log_error("call %s: spool path too long (server.var_dir): 500", inv->call_id);
        release_slot(t, call);
        ret->status = 500;
        return;
    }
    if (media_attach(t->media, call->worker, &call->chan) < 0) {
        log_warning("call %s: media worker %d queue full: 503", inv->call_id, call->worker);
        release_slot(t, call);
        ret->status = 503;
        ret->retry_after_s = cfg->retry_after_s;
        return;
    }
    call->is_attached = true;
    /* The call's details on disk before any page: a crash mid-fax keeps them with the pages. */
    struct media_fax_done pending = {.error = -EINPROGRESS};
    snprintf(pending.result.t30_text, sizeof(pending.result.t30_text), "call in progress");
    record_fax(t, call, &pending, true);

    ret->status = 200;
    ret->call_data = call;
    snprintf(ret->local_addr, sizeof(ret->local_addr), "%s", cfg->media_addr);
    ret->local_family = strchr(cfg->media_addr, ':') ? AF_INET6 : AF_INET;
    ret->local_port = port;
    /* t38_reinvite "us" and "none": the carrier may not switch the call (see etc/). */
    ret->refuse_t38_reoffer =
        trunk->t38_reinvite == CFG_REINVITE_US || trunk->t38_reinvite == CFG_REINVITE_NONE;
    ret->srtp_key = call->chan.srtp_key;
    ret->auth_user = trunk->username;
    ret->auth_password = trunk->password;
    log_info("call %s: %s from '%s' via trunk %s (%s, %s): answering with %s on port %u",
             call->call_id, call->did, call->caller, call->trunk, src, inv->transport,
             ua_media_kind_name(ret->media.kind), port);
}

/* With sip.answer_delay_ms the channel was attached while ringing: its fax engine starts
 * now, with the 200, or its T.30 timers would run out against a far end not yet listening. */
static void
on_answered(void *data, void *call_data)
{
    struct call_table *t = data;
    struct call *call = call_data;

    if (!call->is_answer_pending)
        return;
    call->is_answer_pending = false;
    if (media_update(t->media, call->worker, &call->chan, &call->media) < 0) {
        log_warning("call %s: cannot start media on worker %d: hanging up", call->call_id,
                    call->worker);
        ua_hangup(call->ua, 500);
    }
}

static void
on_established(void *data, void *call_data)
{
    struct call *call = call_data;

    /* An audio call on a trunk where we switch to T.38: our re-INVITE after the delay
     * (DESIGN "SIP and SDP"); with "either" ours is skipped if theirs came first. */
    if (call->media.kind == UA_MEDIA_AUDIO && call->t38_enabled &&
        (call->reinvite == CFG_REINVITE_US || call->reinvite == CFG_REINVITE_EITHER))
        (void)ua_reinvite(call->ua, UA_MEDIA_T38, call->reinvite_delay_ms);
}

static void
on_media(void *data, void *call_data, const struct ua_media_desc *media)
{
    struct call_table *t = data;
    struct call *call = call_data;

    call->media = *media;
    int r = media_update(t->media, call->worker, &call->chan, media);
    if (r < 0) {
        log_warning("call %s: cannot pass new media to worker (%s): hanging up", call->call_id,
                    strerror(-r));
        ua_hangup(call->ua, 500);
    }
}

static void
on_reinvite_failed(void *data, void *call_data, int status)
{
    struct call *call = call_data;

    (void)data;
    if (call->media.kind == UA_MEDIA_T38 || call->is_fax_done)
        return;
    /* The far end will not do T.38 (488, 415, 606…) or did not answer: the fax the media
     * worker already runs over G.711 carries on (DESIGN "SIP and SDP"). */
    log_info("call %s: T.38 re-INVITE refused (%d): the fax stays on G.711", call->call_id, status);
}

static void
on_ended(void *data, void *call_data, int status, const char *phrase)
{
    struct call_table *t = data;
    struct call *call = call_data;

    log_info("call %s: ended after %.1f s (%d %s), media %s", call->call_id,
             seconds_since(&call->started), status, phrase ? phrase : "",
             ua_media_kind_name(call->media.kind));
    call->ua = NULL;
    call->sip_status = status;
    /* An outbound job whose call never got media (busy, no answer, refused): the worker
     * will send no result, so record the failure here; the job must not wait for ever.
     * Inbound calls that never carried a fax leave only their log line. */
    if (call->job[0] && !call->is_fax_done && call->media.kind == UA_MEDIA_NONE) {
        struct media_fax_done done = {.error = -ECONNREFUSED};
        snprintf(done.result.t30_text, sizeof(done.result.t30_text), "no media session (SIP %d %s)",
                 status, phrase ? phrase : "");
        call->is_fax_done = true;
        record_fax(t, call, &done, false);
    }

    if (call->is_attached) {
        if (media_detach(t->media, call->worker, &call->chan) == 0)
            return; /* the slot is freed when the worker replies RELEASED */
        log_error("call %s: media worker %d queue full: slot %d lost until restart", call->call_id,
                  call->worker, call->slot);
        return;
    }
    release_slot(t, call);
    check_idle(t);
}

const struct ua_events call_ua_events = {
    .on_invite = on_invite,
    .on_answered = on_answered,
    .on_established = on_established,
    .on_media = on_media,
    .on_reinvite_failed = on_reinvite_failed,
    .on_ended = on_ended,
};

/* ---- the end of a fax ---- */

/* Hand the fax's record to the storage thread (which writes it next to the document). */
static void
record_fax(struct call_table *t, struct call *call, const struct media_fax_done *done,
           bool is_provisional)
{
    struct fax_record *rec = calloc(1, sizeof(*rec));
    if (!rec) {
        log_error("call %s: out of memory: fax result not recorded", call->call_id);
        return;
    }
    snprintf(rec->call_id, sizeof(rec->call_id), "%s", call->call_id);
    snprintf(rec->direction, sizeof(rec->direction), "%s",
             call->chan.direction == FX38_SEND ? "tx" : "rx");
    snprintf(rec->did, sizeof(rec->did), "%s", call->did);
    snprintf(rec->remote, sizeof(rec->remote), "%s", call->caller);
    snprintf(rec->trunk, sizeof(rec->trunk), "%s", call->trunk);
    enum ua_media_kind kind = done->transport != UA_MEDIA_NONE ? done->transport : call->media.kind;
    snprintf(rec->transport, sizeof(rec->transport), "%s",
             kind == UA_MEDIA_AUDIO ? "g711"
             : kind == UA_MEDIA_T38 ? "t38"
                                    : "");
    snprintf(rec->file, sizeof(rec->file), "%s", call->chan.file);
    snprintf(rec->job, sizeof(rec->job), "%s", call->job);
    rec->started = call->started_wall;
    rec->duration_s = seconds_since(&call->started);
    rec->sip_status = call->sip_status;
    rec->is_provisional = is_provisional;
    rec->done = *done;
    if (store_post_record(t->store, rec) < 0) {
        log_error("call %s: storage queue full: %s not recorded", call->call_id,
                  is_provisional ? "call details" : "fax result");
        free(rec);
    }
}

/* Phase E (or media that could not start): record the result, then hang up at once rather
 * than wait for the far end's BYE or a media timeout. */
static void
fax_done(struct call_table *t, struct call *call, struct media_fax_done *done)
{
    const struct fx38_result *r = &done->result;
    if (done->error == -ETIMEDOUT && call->is_fax_done)
        return; /* already ended for another reason */
    if (done->error == -ETIMEDOUT)
        snprintf(done->result.t30_text, sizeof(done->result.t30_text),
                 "no usable media within fax.t38_timeout");
    if (done->error)
        log_warning("call %s: no fax: %s (%s)", call->call_id, strerror(-done->error),
                    done->result.t30_text);
    else
        log_info("call %s: fax %s %s over %s: %d page(s), %d bit/s, ECM %s, from '%s': %s "
                 "(T.30 %d)",
                 call->call_id, call->chan.direction == FX38_SEND ? "sent" : "received",
                 r->is_success ? "ok" : "FAILED",
                 done->transport == UA_MEDIA_AUDIO ? (done->payload_type == 8 ? "PCMA" : "PCMU")
                                                   : "T.38",
                 r->pages, r->bit_rate, r->ecm ? "on" : "off", r->remote_ident, r->t30_text,
                 r->t30_status);
    call->is_fax_done = true;
    record_fax(t, call, done, false);
    if (call->ua)
        ua_hangup(call->ua, done->error ? 500 : 200);
}

/* ---- outbound ---- */

static const struct cfg_trunk *
find_trunk_by_name(const struct cfg_routes *routes, const char *name)
{
    for (int i = 0; i < routes->ntrunks; i++)
        if (strcmp(routes->trunks[i].name, name) == 0)
            return &routes->trunks[i];
    return NULL;
}

/* A job that cannot even be dialled still gets a result, so it never waits for ever. */
static void
fail_job(struct call_table *t, const struct spool_job *job, const char *why)
{
    log_warning("job %s: cannot send to %s via %s: %s", job->id, job->to, job->trunk, why);
    struct call tmp = {.chan = {.direction = FX38_SEND}};
    snprintf(tmp.call_id, sizeof(tmp.call_id), "-");
    snprintf(tmp.trunk, sizeof(tmp.trunk), "%s", job->trunk);
    snprintf(tmp.caller, sizeof(tmp.caller), "%s", job->to);
    snprintf(tmp.job, sizeof(tmp.job), "%s", job->id);
    set_str(tmp.chan.file, sizeof(tmp.chan.file), job->document);
    tmp.started_wall = time(NULL);
    (void)clock_gettime(CLOCK_MONOTONIC, &tmp.started);
    struct media_fax_done done = {.error = -ENETUNREACH};
    snprintf(done.result.t30_text, sizeof(done.result.t30_text), "%s", why);
    record_fax(t, &tmp, &done, false);
}

static void
originate(struct call_table *t, const struct call_attempt *a)
{
    const struct spool_job *job = &a->job;
    const struct cfg *cfg = t->cfg;
    const struct cfg_trunk *trunk = find_trunk_by_name(t->routes, job->trunk);
    if (!trunk)
        return fail_job(t, job, "unknown trunk");
    if (!trunk->proxy[0])
        return fail_job(t, job, "trunk has no proxy for outbound calls");
    if (t->is_draining || !t->free)
        return fail_job(t, job, t->is_draining ? "draining" : "all channels busy");
    if (strlen(job->document) >= sizeof(t->calls[0].chan.file))
        return fail_job(t, job, "document path too long");

    struct call *call = t->free;
    t->free = call->next_free;
    t->nactive++;
    *call = (struct call){
        .slot = call->slot,
        .is_in_use = true,
        .worker = call->slot % media_workers(t->media),
        .reinvite = trunk->t38_reinvite,
        .reinvite_delay_ms = trunk->t38_reinvite_delay_ms,
    };
    struct ua_sdp_prefs prefs;
    if (call_prefs(cfg, trunk, &prefs, call->chan.srtp_key, sizeof(call->chan.srtp_key)) < 0) {
        release_slot(t, call);
        return fail_job(t, job, "cannot draw an SRTP key");
    }
    call->t38_enabled = prefs.t38_enabled;
    (void)clock_gettime(CLOCK_MONOTONIC, &call->started);
    call->started_wall = time(NULL);
    snprintf(call->job, sizeof(call->job), "%s", job->id);
    set_str(call->did, sizeof(call->did), job->from[0] ? job->from : trunk->caller_id);
    snprintf(call->caller, sizeof(call->caller), "%s", job->to);
    snprintf(call->trunk, sizeof(call->trunk), "%s", trunk->name);

    uint16_t port = slot_port(t, call);
    char key[UA_SRTP_KEY_B64_LEN + 1];
    set_str(key, sizeof(key), call->chan.srtp_key);
    call->chan = (struct media_chan){
        .local_port = port,
        .direction = FX38_SEND,
        .is_caller = true,
        .owner = call,
        .first_page = a->first_page,
        .ecm = a->ecm,
        .max_rate = a->max_rate,
    };
    set_str(call->chan.file, sizeof(call->chan.file), job->document);
    set_str(call->chan.srtp_key, sizeof(call->chan.srtp_key), key);
    if (media_attach(t->media, call->worker, &call->chan) < 0) {
        release_slot(t, call);
        return fail_job(t, job, "media worker queue full");
    }
    call->is_attached = true;

    char uri[256];
    snprintf(uri, sizeof(uri), "sip:%s@%s%s", job->to, trunk->proxy,
             trunk->transport == CFG_TRANSPORT_TLS   ? ";transport=tls"
             : trunk->transport == CFG_TRANSPORT_TCP ? ";transport=tcp"
                                                     : "");
    struct ua_originate o = {
        .to_uri = uri,
        .from_user = call->did,
        .offer = call->t38_enabled && trunk->t38_in_invite ? UA_MEDIA_T38 : UA_MEDIA_AUDIO,
        .prefs = prefs,
        .local_addr = cfg->media_addr,
        .local_family = strchr(cfg->media_addr, ':') ? AF_INET6 : AF_INET,
        .local_port = port,
        .refuse_t38_reoffer = trunk->t38_reinvite == CFG_REINVITE_NONE,
        .srtp_key = call->chan.srtp_key,
        .auth_user = trunk->username,
        .auth_password = trunk->password,
        .ring_timeout_ms = cfg->out_ring_timeout_s * 1000,
    };
    call->ua = ua_originate(t->ua, &o, call);
    if (!call->ua) {
        /* The channel is attached: detach it; the slot comes back with RELEASED. */
        call->is_fax_done = true;
        (void)media_detach(t->media, call->worker, &call->chan);
        return fail_job(t, job, "cannot create the SIP call");
    }
    snprintf(call->call_id, sizeof(call->call_id), "%s", ua_call_id(call->ua));
    log_info("call %s: job %s: sending %s from page %d to %s via trunk %s (%s), offering %s%s%s",
             call->call_id, job->id, job->document, a->first_page + 1, job->to, trunk->name,
             trunk->proxy, ua_media_kind_name(o.offer), a->ecm == 0 ? ", ECM off" : "",
             a->max_rate ? (a->max_rate <= 9600 ? ", at most 9600 bit/s" : "") : "");
}

/* Hang up the call sending job `id`, if there is one (the job was canceled). Its result is
 * recorded as for any call that ends early. */
static void
cancel_job(struct call_table *t, const char *id)
{
    for (int i = 0; i < t->cfg->max_channels; i++) {
        struct call *call = &t->calls[i];
        if (!call->is_in_use || strcmp(call->job, id) != 0 || !call->ua)
            continue;
        log_info("call %s: job %s canceled: hanging up", call->call_id, id);
        ua_hangup(call->ua, 487);
    }
}

/* ---- the SIP thread's queue ---- */

static void
on_message(void *data, const struct mq_msg *msg)
{
    struct call_table *t = data;

    switch (msg->type) {
    case MEDIA_REPLY_RELEASED:
        release_slot(t, msg->ptr);
        check_idle(t);
        break;
    case MEDIA_REPLY_PAGE: {
        struct call *call = msg->ptr;
        if (call->job[0])
            (void)store_post_progress(t->store, call->job, (int)msg->u64);
        break;
    }
    case CALL_CMD_CANCEL_JOB:
        cancel_job(t, msg->ptr);
        free(msg->ptr);
        break;
    case MEDIA_REPLY_FAX_DONE: {
        struct media_fax_done *done = (struct media_fax_done *)(uintptr_t)msg->u64;
        fax_done(t, msg->ptr, done);
        free(done);
        break;
    }
    case CALL_CMD_DRAIN:
        log_notice("draining: %d call(s) in progress, new calls get 503", t->nactive);
        t->is_draining = true;
        check_idle(t);
        break;
    case CALL_CMD_SHUTDOWN:
        if (t->nactive > 0)
            log_notice("shutting down: hanging up %d call(s)", t->nactive);
        ua_shutdown(t->ua);
        break;
    case CALL_CMD_FORCE_EXIT:
        ua_stop(t->ua);
        break;
    case CALL_CMD_ORIGINATE:
        originate(t, msg->ptr);
        free(msg->ptr);
        break;
    case CALL_CMD_ROUTES: {
        struct cfg_routes *old = t->routes;
        t->routes = msg->ptr;
        log_notice("reloaded: %d trunk(s), %d number(s)", t->routes->ntrunks, t->routes->nnumbers);
        cfg_free_routes(old);
        break;
    }
    }
}

static void
on_queue_readable(void *data)
{
    struct call_table *t = data;
    mq_drain(t->sip_q, on_message, t);
}

int
call_table_attach_ua(struct call_table *t, struct ua *ua)
{
    t->ua = ua;
    return ua_watch_fd(ua, mq_fd(t->sip_q), on_queue_readable, t);
}

struct call_table *
call_table_new(const struct cfg *cfg, struct cfg_routes *routes, struct media_pool *media,
               struct store *store, struct mq *sip_q, struct mq *main_q)
{
    struct call_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cfg = cfg;
    t->routes = routes;
    t->media = media;
    t->main_q = main_q;
    t->sip_q = sip_q;
    t->store = store;
    if (getrandom(&t->run_id, sizeof(t->run_id), 0) != (ssize_t)sizeof(t->run_id))
        t->run_id = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    t->calls = calloc((size_t)cfg->max_channels, sizeof(*t->calls));
    if (!t->calls) {
        call_table_free(t);
        return NULL;
    }
    for (int i = cfg->max_channels - 1; i >= 0; i--) {
        t->calls[i].slot = i;
        t->calls[i].next_free = t->free;
        t->free = &t->calls[i];
    }
    return t;
}

void
call_table_free(struct call_table *t)
{
    if (!t)
        return;
    cfg_free_routes(t->routes);
    free(t->calls);
    free(t);
}
