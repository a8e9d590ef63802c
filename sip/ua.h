/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SIP user agent on Sofia-SIP nua: answers fax calls, handles re-INVITEs both ways, glare,
 * CANCEL and BYE, and reports up to server/ through struct ua_events.
 *
 * DESIGN: everything here runs on the SIP thread, inside su_root. ua_new() must be called on
 * that thread and ua_run() runs it; other threads reach server code on the SIP thread only
 * through an fd registered with ua_watch_fd() (an mq eventfd). sip/ knows nothing of spandsp
 * or storage: media is described by struct ua_media_desc (sdp.h) and the decision to accept a
 * call (DID, trunk ACL, capacity) is server/'s, made in ua_events.on_invite.
 */
#ifndef INKLESS_SIP_UA_H
#define INKLESS_SIP_UA_H

#include <stdbool.h>
#include <sys/socket.h>

#include "sdp.h"

struct ua;
struct ua_call; /* one dialog; lives in its nua handle's memory home */

struct ua_options {
    const char *listen_addr; /* "127.0.0.1", "::1", "0.0.0.0" (borrowed for ua_new only) */
    int port;
    bool udp, tcp;
    /* SIP over TLS (RFC 3261 §26.2, RFC 5630) on tls_port, in addition to udp/tcp. Paths are
     * borrowed for ua_new only: PEM files for our certificate, its unencrypted key and the CA
     * peers are verified against (NULL or "" = no verification). ua_new copies them into
     * tls_dir, a private (0700) directory it creates, because sofia-sip 1.12.11 reads TLS
     * material only from a directory with fixed names (TPTAG_CERTIFICATE). */
    bool tls;
    int tls_port;
    const char *tls_cert, *tls_key, *tls_ca;
    const char *tls_dir;
    bool tls_verify_clients; /* incoming TLS needs a client certificate signed by tls_ca */
    const char *user_agent;  /* Server/User-Agent header value */
    int answer_delay_ms;     /* send 180 and wait this long before 200; 0 = answer at once */
    int max_sdp_bytes;       /* larger offers get 488 */
    bool debug;              /* route sofia's own log at level 3+ to our debug log */
};

/* An initial INVITE as seen by server/. Everything is borrowed and valid only during the
 * on_invite callback. */
struct ua_invite {
    struct ua_call *call;
    const char *call_id;
    const char *request_user;      /* Request-URI user part (the dialled DID), or "" */
    const char *to_user;           /* To header user part, or "" */
    const char *from_user;         /* caller number, or "" */
    const char *from_display;      /* caller display name, or "" */
    const struct sockaddr *source; /* transport source address of the request */
    socklen_t source_len;
    const char *transport;      /* "udp", "tcp" or "tls" */
    const struct ua_sdp *offer; /* NULL: INVITE without SDP (we make the offer in 200) */
};

/* What server/ decided. status 200 = accept (after answer_delay_ms); anything else is sent
 * as the final response. */
struct ua_decision {
    int status;
    const char *phrase;         /* NULL: the standard phrase */
    int retry_after_s;          /* > 0: add Retry-After (503) */
    void *call_data;            /* server's call object, passed to every later event */
    struct ua_media_desc media; /* accepted stream (kind NONE for an INVITE without SDP) */
    struct ua_sdp_prefs prefs;  /* copied: used again for re-INVITEs in this dialog */
    char local_addr[UA_SDP_ADDR_LEN];
    int local_family;
    uint16_t local_port;       /* our media port for this call */
    bool refuse_t38_reoffer;   /* the far end may not move this call to T.38 (488) */
    const char *srtp_key;      /* our SRTP key for every SDP of the call (copied; NULL or ""
                                * = none: needed when prefs.srtp is not UA_SRTP_OFF) */
    const char *auth_user;     /* digest credentials for challenges to our requests */
    const char *auth_password; /* (copied; NULL or "" = none) */
};

struct ua_events {
    /* Initial INVITE: fill *ret (zeroed on entry). */
    void (*on_invite)(void *data, const struct ua_invite *inv, struct ua_decision *ret);
    /* Our 200 to the initial INVITE went out (after sip.answer_delay_ms, if any). Optional. */
    void (*on_answered)(void *data, void *call_data);
    /* The call is up: our 200 was ACKed. */
    void (*on_established)(void *data, void *call_data);
    /* The media in use changed: far end's re-INVITE accepted, our re-INVITE answered, or the
     * answer to our delayed-offer 200 came in the ACK. */
    void (*on_media)(void *data, void *call_data, const struct ua_media_desc *media);
    /* Our re-INVITE ended without a media change (status: 488, 415, 606, timeout 408…). */
    void (*on_reinvite_failed)(void *data, void *call_data, int status);
    /* The call is over (BYE either way, CANCEL, failure). call_data is never used again. */
    void (*on_ended)(void *data, void *call_data, int status, const char *phrase);
};

/* Create the user agent: su_root, nua bound to opts->listen_addr:port on UDP and/or TCP, and
 * to tls_port on TLS. Call on the thread that will run ua_run(), before it runs: with TLS it
 * blocks to write the certificate directory. Returns NULL and fills errbuf on failure
 * (e.g. address in use, unreadable certificate). `events` is borrowed and must outlive the ua. */
struct ua *ua_new(const struct ua_options *opts, const struct ua_events *events, void *data,
                  char *errbuf, size_t errlen);

/* Free the ua (after ua_run() returned). Accepts NULL. */
void ua_free(struct ua *ua);

/* Call fn(data) on the SIP thread whenever fd is readable. Returns 0 or -errno. */
int ua_watch_fd(struct ua *ua, int fd, void (*fn)(void *data), void *data);

/* Run the SIP thread until ua_shutdown() completes. */
void ua_run(struct ua *ua);

/* Hang up every call (BYE/CANCEL), close transports, and make ua_run() return. */
void ua_shutdown(struct ua *ua);

/* Leave ua_run() now, even with transactions in flight (after ua_shutdown() took too long). */
void ua_stop(struct ua *ua);

/* Number of dialogs that have not ended yet. */
int ua_active_calls(const struct ua *ua);

/* An outbound call (a fax to send). Strings are copied. */
struct ua_originate {
    const char *to_uri;       /* "sip:NUMBER@HOST:PORT", ";transport=tcp|tls" for TCP/TLS */
    const char *from_user;    /* our caller ID (number) */
    enum ua_media_kind offer; /* what the INVITE offers: UA_MEDIA_T38 or UA_MEDIA_AUDIO */
    struct ua_sdp_prefs prefs;
    const char *local_addr; /* our media address and port (the channel's) */
    int local_family;
    uint16_t local_port;
    bool refuse_t38_reoffer;
    const char *srtp_key;  /* as in struct ua_decision */
    const char *auth_user; /* digest credentials, NULL or "" = none */
    const char *auth_password;
    int ring_timeout_ms; /* no answer this long: CANCEL (on_ended then says 487); 0 = never */
};

/* Place a call. Events follow as for an inbound call: on_media when the answer arrives,
 * on_established once it is up, on_ended in every case (failure statuses included).
 * Returns the call, or NULL if it could not even be started (then no event follows). */
struct ua_call *ua_originate(struct ua *ua, const struct ua_originate *o, void *call_data);

/* Hang up one call: BYE if established, CANCEL (ours) or a final error (theirs) if not yet
 * answered. on_ended follows. */
void ua_hangup(struct ua_call *call, int cause);

/* Send our own re-INVITE offering `kind` after delay_ms (0 = now). Glare (491) is retried
 * after RFC 3261 §14.1's random delay. Returns 0, -EALREADY if one is pending. */
int ua_reinvite(struct ua_call *call, enum ua_media_kind kind, int delay_ms);

const char *ua_call_id(const struct ua_call *call);

#endif
