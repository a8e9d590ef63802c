/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer: a SIP fax endpoint (T.38 or G.711 audio) that plays a carrier, an ATA or a fax
 * machine against inklessd, for end-to-end tests and load. Shared types of its four parts:
 *   main.c   command line, results (JSON on stdout), exit status
 *   sip.c    Sofia-SIP nua (its own, not sip/ua.c, so server SIP bugs are not masked), the
 *            su_root loop with the media tick, call scheduling (load mode), the T.38 switch
 *   media.c  one UDP socket per call carrying RTP (G.711 fax: fx38_audio + jitter buffer) and,
 *            after a switch or from the start, UDPTL (fx38_session)
 *   impair.c the impairment shim, on the packets of either transport
 *
 * DESIGN: one thread. su_root runs nua and one timer that fires every 20 ms / --speed and
 * reads the UDP sockets (an epoll set polled on the tick), then runs, for every live call,
 * the 20 ms media tick
 * (fx38_tick, or jitter pull + fx38_audio_rx + fx38_audio_tick with 160 samples, ±--drift)
 * and the call's deadlines (answer delay, re-INVITE, CANCEL, timeout, hang-up after phase E).
 * Everything a call needs lives in its struct fp_call, in one array allocated at start
 * (--calls of them).
 *
 * A call's media goes through at most two sessions, one at a time: G.711 from the answer when
 * the SDP chose audio, then T.38 once a T.38 (re-)INVITE succeeds. The G.711 session is then
 * ended and dropped (its phase E is not the call's result); the T.38 one reports.
 */
#ifndef INKLESS_FAXPEER_H
#define INKLESS_FAXPEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audio.h"
#include "impair.h"
#include "jitter.h"
#include "rtp.h"
#include "sdp.h"
#include "session.h"

#define FP_TICK_MS 20
#define FP_TICK_SAMPLES 160
#define FP_EARLY_PACKETS 8 /* datagrams kept for a session not started yet (media.c) */
#define FP_LINGER_TICKS 25 /* after phase E, keep the media up this long, then BYE */
/* --bye-after-pages: from the Nth page to our BYE: 3 s, time for its MCF to reach the sender
 * (a V.21 frame behind a 1 s preamble), but well inside the next page. */
#define FP_BYE_DELAY_TICKS 150
#define FP_PATH_LEN 256        /* spandsp cuts file names at 256 bytes */
#define FP_MAX_DRIFT_PPM 10000 /* --drift range: ±1 % */
/* --jitter-delay default: 60 ms of media time, but at least 20 ms of real time, since our
 * own stalls (a busy machine, a page read or written in one tick: SPANDSP-NOTES) are real
 * time and would outgrow a 60 ms buffer at --speed 10 (6 ms). Capped by the jitter buffer. */
#define FP_JITTER_DEFAULT_MS 60
#define FP_JITTER_REAL_MS 20
/* Samples the G.711 engine may make in one tick (160 + drift) plus one packet still waiting:
 * the RTP packetiser's buffer. */
#define FP_AUDIO_BUF (2 * FX38_AUDIO_MAX_FRAME)

/* --t38: how the call gets to T.38, if at all. Audio phases carry the G.711 fax. */
enum fp_t38_mode {
    FP_T38_INITIAL = 0, /* the INVITE offers T.38 (UAS: accept what is offered) */
    FP_T38_REINVITE,    /* the INVITE offers audio; we re-INVITE to T.38 after a delay */
    FP_T38_WAIT,        /* audio; the far end re-INVITEs to T.38, we accept */
    FP_T38_GLARE,       /* audio; when the far end re-INVITEs we answer 491 and send ours */
    FP_T38_NONE,        /* audio only: T.38 never offered nor accepted (re-INVITE: 488) */
    FP_T38_REFUSE,      /* as none, but the 488 is a deliberate refusal, counted as such */
};

/* --codec: the G.711 laws we offer (UAC) or accept (UAS). PCMU is preferred when both. */
enum fp_codec {
    FP_CODEC_BOTH = 0,
    FP_CODEC_PCMU,
    FP_CODEC_PCMA,
};

/* What carries (or carried) the fax of a call. */
enum fp_transport {
    FP_TRANSPORT_NONE = 0,
    FP_TRANSPORT_G711, /* RTP, fx38_audio */
    FP_TRANSPORT_T38,  /* UDPTL, fx38_session */
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
    int reinvite_delay_ms; /* media time (real time = this / speed) */

    /* G.711 */
    enum fp_codec codec;
    int jitter_delay_ms; /* playout delay of our jitter buffer */
    int ptime_ms;        /* packet size we send; 0 = the negotiated ptime */
    int drift_ppm;       /* our audio clock against the media clock, parts per million */

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

/* The G.711 half of a call's media: RTP both ways, the jitter buffer, the audio fax engine and
 * its (possibly skewed, --drift) clock. */
struct fp_audio {
    struct fx38_audio *fax; /* owned; NULL when no G.711 session runs */
    enum fx38_g711 law;
    int payload_type;  /* negotiated: 0 PCMU, 8 PCMA */
    int event_pt;      /* RFC 4733 telephone-event payload type, -1 if none */
    int ptime_samples; /* per packet we send */
    bool is_dropping;  /* switching to T.38: this session's phase E is not the result */

    struct fx38_rtp_tx tx;
    uint8_t pending[FP_AUDIO_BUF]; /* engine output not yet a whole packet */
    size_t npending;
    struct fx38_jitter jitter;
    bool has_far_ssrc; /* the far end's RTP stream, to recognise its stragglers after T.38 */
    uint32_t far_ssrc;

    int64_t drift_frac; /* --drift: fraction of a sample carried, in 1e-6 samples */

    uint64_t rx_packets;   /* RTP audio pushed to the jitter buffer */
    uint64_t rx_ignored;   /* RFC 4733 events, CN, RTCP, other payload types */
    uint64_t rx_malformed; /* not RTP (kept as possible early UDPTL) or a bad payload */
    uint64_t rx_stale;     /* after the switch to T.38: the old RTP stream, dropped */
    uint64_t tx_packets;
    uint64_t samples; /* engine samples run (drift included) */
};

/* Media of one call: its UDP socket, its fax session (G.711, then maybe T.38), the shims. */
struct fp_media {
    int fd;
    uint16_t local_port;
    struct sockaddr_storage remote;
    socklen_t remote_len;

    struct fx38_session *fax;    /* T.38 session, owned; NULL until T.38 is agreed */
    struct fp_audio audio;       /* G.711 session, while the call is on audio */
    bool is_done;                /* phase E reported (by the session that counts) */
    struct fx38_result result;   /* valid when is_done */
    enum fp_transport transport; /* the session that reported phase E, or runs now */
    const char *codec;           /* "pcmu"/"pcma" if a G.711 session ran, else "" */
    uint64_t ticks;              /* 20 ms media ticks since the first session started */
    uint64_t done_tick;          /* tick of phase E */
    uint64_t switch_tick;        /* tick of the G.711 -> T.38 switch, 0 = none */
    char rx_path[FP_PATH_LEN];

    struct fp_impair in, out;

    /* packets that came before our session existed (the far end started first), or that
     * were not RTP while on audio (the far end switched to T.38 before us) */
    int nearly;
    size_t early_len[FP_EARLY_PACKETS];
    uint8_t early[FP_EARLY_PACKETS][FP_IMPAIR_MAX_PACKET];

    uint64_t rx_datagrams; /* read from the socket */
    uint64_t rx_early;     /* for the early buffer: kept (up to FP_EARLY_PACKETS) or dropped */
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
    uint64_t answered_ns;  /* UAC: the final answer to our INVITE came (setup latency) */
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
    int t38_refused;         /* --t38 none/refuse: T.38 re-INVITEs we answered 488 */
    int t38_reinvite_status; /* the far end refused our T.38 re-INVITE with this; 0 = no */

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
    int media_epfd; /* the calls' media sockets: polled on the tick, never waited on */

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

/* Open the call's media socket on `addr` with an ephemeral port and set up the impairment
 * shims. Returns 0 or -errno. The socket is non-blocking; sip.c adds it to the tick's epoll set. */
int fp_media_open(struct fp_call *c, const char *addr);

/* Audio (PCMU/PCMA) was negotiated: point the socket at the far end and start the G.711 fax
 * session, or follow an audio re-INVITE (new address, payload type). Returns 0 or -errno
 * (bad address, bad document). Nothing happens once the fax is over or on T.38. */
int fp_media_start_audio(struct fp_call *c, const struct ua_media_desc *desc);

/* T.38 was negotiated (or renegotiated): point the socket at the far end and start the fax
 * session, or give it the new parameters. A running G.711 session is ended and dropped first
 * (its phase E is not the call's result). Returns 0 or -errno (bad address, bad document). */
int fp_media_start_t38(struct fp_call *c, const struct ua_media_desc *desc);

/* The socket is readable (the tick's poll says so): read one datagram. */
void fp_media_on_readable(struct fp_call *c);

/* One 20 ms media tick (only calls with a running session do anything). */
void fp_media_tick(struct fp_call *c);

/* Is a fax session (G.711 or T.38) running, phase E not reported yet? */
bool fp_media_is_running(const struct fp_call *c);

/* Pages sent (confirmed) or received so far. */
int fp_media_pages(struct fp_call *c);

/* End the fax now (phase E with what was achieved, if not reported yet); the session stays
 * until fp_media_close(). Never from inside fx38 callbacks. */
void fp_media_stop(struct fp_call *c);

/* End the fax (as fp_media_stop), free the session, close the socket (sip.c deregistered
 * it). Safe to call twice. Never from inside fx38 callbacks. */
void fp_media_close(struct fp_call *c);

/* The fx38_params for a negotiated T.38 description, with our own UDPTL options. */
void fp_media_params(const struct fp_options *o, const struct ua_t38_params *t38,
                     struct fx38_params *ret);

/* Names for logs and JSON. */
const char *fp_transport_name(enum fp_transport t);

#endif
