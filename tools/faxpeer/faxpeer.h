/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer: a SIP + T.38 fax endpoint that plays a carrier or a fax machine against inklessd,
 * for end-to-end tests and load. Shared types of its three parts:
 *   main.c   command line, results (JSON on stdout), exit status
 *   sip.c    Sofia-SIP nua (its own, not sip/ua.c, so server SIP bugs are not masked), the
 *            su_root loop with the media tick, call scheduling (load mode)
 *   media.c  one UDPTL socket per call, the fx38_session, the impairment shim
 *
 * DESIGN: one thread. su_root runs nua, the UDP sockets (registered with su_root) and one
 * timer that fires every 20 ms / --speed and runs, for every live call, the 20 ms media tick
 * (fx38_tick with 160 samples) and the call's deadlines (answer delay, re-INVITE, CANCEL,
 * timeout, hang-up after phase E). Everything a call needs lives in its struct fp_call, in
 * one array allocated at start (--calls of them).
 */
#ifndef INKLESS_FAXPEER_H
#define INKLESS_FAXPEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "impair.h"
#include "sdp.h"
#include "session.h"

#define FP_TICK_MS 20
#define FP_TICK_SAMPLES 160
#define FP_EARLY_PACKETS 8 /* UDPTL packets kept from before our session started */
#define FP_LINGER_TICKS 25 /* after phase E, keep the media up this long, then BYE */
/* --bye-after-pages: from the Nth page to our BYE: 3 s, time for its MCF to reach the sender
 * (a V.21 frame behind a 1 s preamble), but well inside the next page. */
#define FP_BYE_DELAY_TICKS 150
#define FP_PATH_LEN 256 /* spandsp cuts file names at 256 bytes */

/* --t38: how the call gets to T.38. */
enum fp_t38_mode {
    FP_T38_INITIAL = 0, /* the INVITE offers T.38 (UAS: accept what is offered) */
    FP_T38_REINVITE,    /* the INVITE offers audio; we re-INVITE to T.38 after a delay */
    FP_T38_WAIT,        /* audio; the far end re-INVITEs to T.38, we accept */
    FP_T38_GLARE,       /* audio; when the far end re-INVITEs we answer 491 and send ours */
};

struct fp_options {
    bool is_uas;          /* --listen (else --call) */
    const char *call_uri; /* UAC: request URI, e.g. sip:15551230001@127.0.0.1:5060 */
    char listen_addr[64]; /* UAS */
    int listen_port;
    bool udp, tcp, tls;   /* SIP transports (UAC uses exactly one; tls: UAS only tls) */
    const char *tls_dir;  /* --tls-dir: agent.pem (key + certificate), cafile.pem (CA) */
    const char *from;     /* our number (From user part, default ident) */
    const char *sip_addr; /* our SIP and media address, default 127.0.0.1 */

    bool is_send; /* --send FILE, else --receive PATTERN */
    const char *file;
    enum fp_t38_mode t38;
    int reinvite_delay_ms;

    /* UDPTL and T.38 SDP */
    int redundancy; /* secondaries we send per packet; -1 = 3 for control, 2 for image */
    bool fec;
    int max_datagram;
    int version;
    /* T.30 */
    bool ecm;
    int max_rate; /* 14400, 9600 or 4800: T38MaxBitRate and the modems we offer */
    const char *ident;
    const char *header;

    /* impairments */
    struct fp_impair_config impair;
    bool impair_in, impair_out;
    uint64_t seed;

    int speed;             /* media clock speed-up, 1..20 */
    double timeout_s;      /* per call, real time */
    double idle_timeout_s; /* UAS: give up after this long without a call */
    int bye_after_pages;   /* 0 = off */
    int cancel_after_ms;   /* UAC: CANCEL this long after the INVITE; -1 = off */
    int answer_delay_ms;   /* UAS: 180, then 200 after this long */
    int reject_status;     /* UAS: answer every INVITE with this status instead */
    int first_calls;       /* --reject and --bye-after-pages apply to calls 1..this; 0 = all */

    int calls;      /* total */
    int concurrent; /* UAC: at most this many at once; UAS: more get 503 (0 = no cap) */
    double cps;     /* UAC: new calls per second, 0 = as fast as allowed */
    bool expect_fail;
    bool fax_debug, sip_debug;
};

enum fp_call_state {
    FP_CALL_IDLE = 0, /* not started */
    FP_CALL_SETUP,    /* INVITE sent or received, not answered */
    FP_CALL_UP,       /* answered (2xx sent or received) */
    FP_CALL_ENDING,   /* we sent BYE or CANCEL (or a final error response) */
    FP_CALL_ENDED,    /* over; the result is final */
};

enum fp_reinvite_state {
    FP_REINVITE_NONE = 0,
    FP_REINVITE_SCHEDULED, /* our T.38 re-INVITE goes out at reinvite_at_ns */
    FP_REINVITE_SENT,      /* in flight */
};

/* Media of one call: its UDPTL socket, the fax session and the impairment shims. */
struct fp_media {
    int fd;
    int wait_index; /* su_root registration, -1 if none */
    uint16_t local_port;
    struct sockaddr_storage remote;
    socklen_t remote_len;

    struct fx38_session *fax;
    bool is_done;              /* phase E reported */
    struct fx38_result result; /* valid when is_done */
    uint64_t ticks;            /* 20 ms media ticks since the session started */
    uint64_t done_tick;        /* tick of phase E */
    char rx_path[FP_PATH_LEN];

    struct fp_impair in, out;

    /* packets that came before our session existed (the far end started first) */
    int nearly;
    size_t early_len[FP_EARLY_PACKETS];
    uint8_t early[FP_EARLY_PACKETS][FP_IMPAIR_MAX_PACKET];

    uint64_t rx_datagrams; /* read from the socket */
    uint64_t rx_early;     /* before the session: kept (up to FP_EARLY_PACKETS) or dropped */
    uint64_t rx_oversize;  /* larger than the T38FaxMaxDatagram we announced */
    uint64_t tx_datagrams;
    uint64_t tx_errors; /* sendto failures, counted and ignored (SPANDSP-NOTES pitfall 3) */
};

struct fp_peer;

struct fp_call {
    struct fp_peer *peer;
    int index; /* 1-based, as reported */
    enum fp_call_state state;
    struct fp_call *next_live, *prev_live; /* list of started, not ended calls */
    struct nua_handle_s *nh;
    char call_id[128];
    bool is_ready; /* ACK seen: counted in peer->up */

    uint64_t start_ns, end_ns, ending_ns; /* CLOCK_MONOTONIC */
    uint64_t bye_tick;     /* --bye-after-pages: media tick to hang up at, 0 = not yet due */
    uint64_t deadline_ns;  /* --timeout */
    uint64_t cancel_at_ns; /* UAC --cancel-after, 0 = none */
    uint64_t answer_at_ns; /* UAS --answer-delay, 0 = none */

    /* SDP */
    enum ua_media_kind offer_kind; /* UAC: what the initial INVITE offered */
    struct ua_sdp *offer;          /* UAS: the initial offer, until answered (heap) */
    struct ua_media_desc media;    /* in use; kind NONE before the answer */
    uint64_t sess_id, sess_version;

    /* our T.38 re-INVITE */
    enum fp_reinvite_state reinvite;
    uint64_t reinvite_at_ns;
    bool has_provoked_glare; /* --t38 glare: we answered their re-INVITE 491 */
    int glare_491;           /* 491s our re-INVITEs got */
    int reinvites_sent;

    /* outcome */
    int sip_status;   /* final answer to the INVITE, or the refusal of T.38 */
    char reason[160]; /* why it failed when it is not T.30's doing; "" if none */
    bool is_timeout, is_cancelled, has_hungup, is_far_bye;

    struct fp_media m;
};

struct fp_peer {
    const struct fp_options *opts;
    struct ua_sdp_prefs prefs;
    struct su_root_s *root;
    struct nua_s *nua;
    struct su_timer_s *timer;

    struct fp_call *calls; /* opts->calls of them */
    struct fp_call *live;  /* started and not ended */
    int started, ended;
    int active, max_active; /* calls started and not ended (SETUP included) */
    int up, max_up;         /* calls answered and ACKed */
    int rejected;           /* UAS: INVITEs refused for --concurrent or after --calls */

    uint64_t begin_ns, finish_ns;
    uint64_t tick_ns;    /* 20 ms / speed */
    uint64_t ticks_done; /* since begin_ns */
    uint64_t late_ticks; /* ticks that ran late (catch-up) */
    uint64_t max_late_ns;
    uint64_t next_start_ns; /* UAC --cps pacing */
    uint64_t idle_since_ns; /* UAS: since when no call has been live */
    uint64_t shutdown_ns;   /* when we asked nua to shut down, 0 = not yet */
    bool is_idle_timeout;
};

/* ---- sip.c ---- */

/* Run the whole thing: returns when every call ended (or on --idle-timeout), with the
 * results in peer->calls. Returns 0 or -errno if SIP could not start (message logged). */
int fp_sip_run(struct fp_peer *peer);

/* ---- media.c ---- */

/* Monotonic clock in nanoseconds. */
uint64_t fp_now_ns(void);

/* Open the call's UDPTL socket on `addr` with an ephemeral port and set up the impairment
 * shims. Returns 0 or -errno. The socket is non-blocking; sip.c registers it with su_root. */
int fp_media_open(struct fp_call *c, const char *addr);

/* T.38 was negotiated (or renegotiated): point the socket at the far end and start the fax
 * session, or give it the new parameters. Returns 0 or -errno (bad address, bad document). */
int fp_media_start_t38(struct fp_call *c, const struct ua_media_desc *desc);

/* The socket is readable: read every datagram waiting. */
void fp_media_on_readable(struct fp_call *c);

/* One 20 ms media tick (only calls with a running session do anything). */
void fp_media_tick(struct fp_call *c);

/* Pages sent (confirmed) or received so far. */
int fp_media_pages(struct fp_call *c);

/* End the fax (phase E with what was achieved, if not reported yet), free the session, close
 * the socket (sip.c deregistered it). Safe to call twice. Never from inside fx38 callbacks. */
void fp_media_close(struct fp_call *c);

/* The fx38_params for a negotiated T.38 description, with our own UDPTL options. */
void fp_media_params(const struct fp_options *o, const struct ua_t38_params *t38,
                     struct fx38_params *ret);

#endif
