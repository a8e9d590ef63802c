/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SDP offer/answer for fax calls (RFC 3264, T.38 Annex D / ITU-T T.38 SDP attributes).
 *
 * Pure code: no sockets, no sofia-sip, no allocation beyond the caller's structs. The SIP
 * layer hands us the raw body of an offer or answer; we parse it defensively (peer input is
 * hostile) into a plain struct, pick the media we accept, and write our own SDP text.
 * The negotiated T.38 parameters (struct ua_t38_params) are what server/ passes down to t38/.
 *
 * SRTP with SDES keying (RFC 4568): a=crypto lines are parsed per m= line, and
 * prefs->srtp decides whether RTP/SAVP is used, allowed, or the only thing accepted. Keys
 * stay base64 text here (as written in SDP); server/ generates ours (fx38_srtp_key_generate)
 * and hands both keys to t38/srtp.h. UA_SRTP_REQUIRED means "no cleartext media": it also
 * refuses T.38, because UDPTL has no standard encryption (RFC 4568 keys only RTP/SAVP).
 */
#ifndef INKLESS_SIP_SDP_H
#define INKLESS_SIP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UA_SDP_MAX_MEDIA 8     /* m= lines we look at; more is an error (-E2BIG) */
#define UA_SDP_MAX_FORMATS 16  /* payload formats kept per m= line */
#define UA_SDP_ADDR_LEN 64     /* textual IPv4/IPv6 address incl. NUL */
#define UA_SDP_MAX_BODY 16384  /* bodies larger than this are refused (-E2BIG) */
#define UA_SDP_MAX_CRYPTO 4    /* usable a=crypto lines kept per m= line, the rest ignored */
#define UA_SRTP_KEY_B64_LEN 40 /* inline key||salt of our suites: base64 of 30 octets */
/* The tags of the a=crypto lines in our offers (one per suite, 80-bit tag first). */
#define UA_SRTP_OFFER_TAG_80 1
#define UA_SRTP_OFFER_TAG_32 2

enum ua_media_kind {
    UA_MEDIA_NONE = 0,
    UA_MEDIA_AUDIO, /* RTP/AVP or RTP/SAVP audio, PCMU or PCMA */
    UA_MEDIA_T38,   /* udptl t38 (also UDPTL/T38 casing seen in the wild) */
};

/* T38FaxUdpEC */
enum ua_t38_ec {
    UA_T38_EC_NONE = 0,
    UA_T38_EC_REDUNDANCY, /* t38UDPRedundancy */
    UA_T38_EC_FEC,        /* t38UDPFEC */
};

/* Stream direction (RFC 4566 §6, RFC 3264 §6.1): as written by the peer; sendrecv if absent. */
enum ua_media_dir {
    UA_DIR_SENDRECV = 0,
    UA_DIR_SENDONLY,
    UA_DIR_RECVONLY,
    UA_DIR_INACTIVE,
};

/* SRTP crypto suites we can key (RFC 4568 §6.2 names); others are skipped when parsing.
 * Same order as enum fx38_srtp_suite in t38/srtp.h (server/ maps them 1:1). */
enum ua_srtp_suite {
    UA_SRTP_SUITE_NONE = 0,
    UA_SRTP_AES_CM_128_HMAC_SHA1_80,
    UA_SRTP_AES_CM_128_HMAC_SHA1_32,
};

/* Per-peer SRTP policy (prefs->srtp). */
enum ua_srtp_mode {
    UA_SRTP_OFF = 0,  /* plain RTP/AVP only; RTP/SAVP offers are refused (the default) */
    UA_SRTP_OPTIONAL, /* SRTP when the peer offers it (preferred), else plain RTP; our audio
                         offers are RTP/SAVP (best effort SDES), and a plain answer is taken */
    UA_SRTP_REQUIRED, /* no cleartext media: RTP/SAVP with a usable key only, and no T.38 */
};

/* One usable a=crypto line (RFC 4568 §9.1): a single inline key, no MKI, no session
 * parameter we would have to honour. */
struct ua_sdp_crypto {
    uint32_t tag; /* 1..999999999, unique within the m= line */
    enum ua_srtp_suite suite;
    char key[UA_SRTP_KEY_B64_LEN + 1]; /* key||salt, base64 as written (checked), NUL */
};

/* T38FaxRateManagement */
enum ua_t38_rate {
    UA_T38_RATE_TRANSFERRED_TCF = 0, /* transferredTCF: the only sane choice over UDP */
    UA_T38_RATE_LOCAL_TCF,           /* localTCF */
};

/* Every T.38 SDP attribute (T.38 Annex D.2.3 / RFC 4612 registration), as numbers.
 * Zero for an integer means "not present". */
struct ua_t38_params {
    int version;           /* T38FaxVersion, 0..3 */
    int max_bitrate;       /* T38MaxBitRate, bit/s (2400..33600) */
    bool fill_bit_removal; /* T38FaxFillBitRemoval (flag, or :0 / :1) */
    bool transcoding_mmr;  /* T38FaxTranscodingMMR */
    bool transcoding_jbig; /* T38FaxTranscodingJBIG */
    enum ua_t38_rate rate_management;
    int max_buffer;    /* T38FaxMaxBuffer, octets */
    int max_datagram;  /* T38FaxMaxDatagram, octets (160..1500 seen in the wild) */
    int max_ifp;       /* T38FaxMaxIFP (T.38 2010), octets */
    enum ua_t38_ec ec; /* T38FaxUdpEC */
    int ec_depth_min;  /* T38FaxUdpECDepth:min[ max] (T.38 2010 Annex D) */
    int ec_depth_max;
    int fec_max_span;     /* T38FaxUdpFECMaxSpan */
    char vendor_info[64]; /* T38VendorInfo, truncated, for logs/CDRs */
};

/* One m= line of a parsed offer or answer. */
struct ua_sdp_media {
    enum ua_media_kind kind;    /* UA_MEDIA_NONE: a kind we do not handle (video, …) */
    char media[16];             /* "audio", "image", … as written (truncated) */
    char proto[24];             /* "RTP/AVP", "udptl", … */
    uint16_t port;              /* 0 = rejected/disabled stream */
    char addr[UA_SDP_ADDR_LEN]; /* connection address (media c= or session c=) */
    int family;                 /* AF_INET / AF_INET6, 0 if no usable c= */
    int nformats;
    int formats[UA_SDP_MAX_FORMATS]; /* RTP payload types (RTP/… protos only; else nformats 0) */
    char first_format[16];  /* first <fmt> token as written, echoed when rejecting the line */
    int pcmu_pt;            /* payload type carrying PCMU/8000 (static 0 or rtpmap), -1 if none */
    int pcma_pt;            /* payload type carrying PCMA/8000 (static 8 or rtpmap), -1 if none */
    int ptime;              /* a=ptime, 0 if absent */
    int telephone_event_pt; /* a=rtpmap:N telephone-event/8000, -1 if absent */
    bool has_crypto;        /* any a=crypto line, usable or not */
    int ncrypto;            /* usable ones, in the order written */
    struct ua_sdp_crypto crypto[UA_SDP_MAX_CRYPTO];
    enum ua_media_dir dir;    /* the line's own, else the session-level one */
    struct ua_t38_params t38; /* only for UA_MEDIA_T38 */
};

struct ua_sdp {
    uint64_t sess_id; /* o= session id and version */
    uint64_t sess_version;
    int nmedia;
    struct ua_sdp_media media[UA_SDP_MAX_MEDIA];
};

/* What we are willing to do; server/ fills it from config. */
struct ua_sdp_prefs {
    bool t38_enabled;         /* accept/offer m=image udptl t38 */
    bool prefer_t38;          /* with audio+image in one offer, pick image */
    bool pcmu, pcma;          /* audio codecs we accept, PCMU preferred when both */
    struct ua_t38_params t38; /* our local T.38 capabilities (upper bounds) */
    enum ua_srtp_mode srtp;   /* UA_SRTP_OFF (zero) unless configured */
};

/* Result of negotiation: the one stream we use and the far end's transport address. */
struct ua_media_desc {
    enum ua_media_kind kind;
    int index; /* index of the chosen m= line in the offer */
    char addr[UA_SDP_ADDR_LEN];
    int family;
    uint16_t port;
    int payload_type;       /* audio: 0 PCMU or 8 PCMA */
    int ptime;              /* audio: ms, default 20 */
    int telephone_event_pt; /* -1 if none */
    enum ua_media_dir dir;  /* the far end's direction; our answer mirrors it (RFC 3264 §6.1) */
    /* T.38: the negotiated (agreed) parameters. Exception: max_buffer, max_datagram and max_ifp
     * are the far end's own declarations (what it can receive, T.38 Annex D.2.3), so t38/ must
     * honour them when sending; 0 there means the far end did not say. */
    struct ua_t38_params t38;
    int local_max_buffer; /* T.38: ours (prefs->t38), written in our answer */
    int local_max_datagram;
    /* SRTP (audio on RTP/SAVP(F) only): the suite, and the far end's a=crypto line: its tag
     * (echoed in our answer) and its key, which unprotects what it sends (our receive key).
     * Our own key is the caller's (struct ua_sdp_local srtp_key). UA_SRTP_SUITE_NONE: plain
     * RTP, srtp_key is "". */
    enum ua_srtp_suite srtp_suite;
    uint32_t srtp_tag;
    char srtp_key[UA_SRTP_KEY_B64_LEN + 1];
};

/* Our side of the session, for writing SDP. */
struct ua_sdp_local {
    const char *addr; /* our media address (borrowed) */
    int family;       /* AF_INET / AF_INET6 */
    uint16_t port;    /* our media port for the chosen stream */
    uint64_t sess_id;
    uint64_t sess_version; /* bump on every new offer/answer in a dialog */
    /* Our SRTP master key||salt, UA_SRTP_KEY_B64_LEN base64 characters (borrowed; from
     * fx38_srtp_key_generate, fresh per call). Needed to answer with SRTP and to offer audio
     * with prefs->srtp != UA_SRTP_OFF; NULL otherwise. It protects what we send. */
    const char *srtp_key;
};

/* Parse an SDP body (len bytes, need not be NUL-terminated).
 * Returns 0, or -EINVAL for malformed SDP (missing v=/o=/m=, bad port, bad numbers…),
 * -E2BIG if the body or the number of m= lines is over the limits above.
 * Unknown lines and attributes are ignored; so is a T.38 attribute whose value is malformed
 * (as if absent). *ret_sdp is all zero after an error. Thread-safe, no allocation. */
int ua_sdp_parse(const char *body, size_t len, struct ua_sdp *ret_sdp);

/* Choose our answer to a parsed offer (RFC 3264 §6): the first acceptable stream by
 * preference (T.38 over audio when prefs->prefer_t38), with T.38 parameters negotiated down
 * to the minimum of both sides, never up (rate management forced to transferredTCF; EC
 * chosen from what the offer allows and we support).
 * Not acceptable: port 0, no usable IPv4/IPv6 address in c=, audio without a codec we
 * allow, T.38 when !prefs->t38_enabled, and by prefs->srtp:
 *   OFF       RTP/SAVP(F) audio (plain RTP/AVP(F) is fine, even with a=crypto lines);
 *   OPTIONAL  RTP/SAVP(F) audio without a usable a=crypto line; when the offer has both an
 *             SRTP and a plain audio stream, the SRTP one is chosen;
 *   REQUIRED  plain RTP/AVP(F) audio, RTP/SAVP(F) without a usable a=crypto line, and T.38.
 * For SRTP, the first usable a=crypto line in the offer's order is chosen (ret_media
 * srtp_suite, srtp_tag, srtp_key); the caller then needs our key in local->srtp_key.
 * Returns 0, or -ENOMEDIUM if nothing is acceptable (the caller answers 488). Thread-safe. */
int ua_sdp_negotiate(const struct ua_sdp *offer, const struct ua_sdp_prefs *prefs,
                     struct ua_media_desc *ret_media);

/* Write the answer to `offer` accepting only `chosen` (every other m= line gets port 0, as
 * RFC 3264 §6 requires the same number of m= lines). With chosen->srtp_suite set, the
 * stream keeps the offer's RTP/SAVP(F) and gets "a=crypto:<their tag> <suite>
 * inline:<local->srtp_key>" (RFC 4568 §7.1.2). Returns the length written (excluding the
 * NUL), -ENOSPC if `size` is too small, or -EINVAL if `chosen` does not fit the offer or
 * SRTP was chosen and local->srtp_key is not a well-formed key. */
int ua_sdp_write_answer(const struct ua_sdp *offer, const struct ua_media_desc *chosen,
                        const struct ua_sdp_local *local, char *buf, size_t size);

/* Write an offer for one stream of `kind` (our own re-INVITE): audio offers PCMU/PCMA per
 * prefs, T.38 offers prefs->t38. With prefs->srtp OPTIONAL or REQUIRED, audio is offered as
 * RTP/SAVP with two a=crypto lines carrying local->srtp_key, tag UA_SRTP_OFFER_TAG_80 for
 * AES_CM_128_HMAC_SHA1_80 then UA_SRTP_OFFER_TAG_32 for AES_CM_128_HMAC_SHA1_32 (only the
 * one answered is ever used). Returns the length written, -ENOSPC, or -EINVAL (no codec, T.38
 * disabled or prefs->srtp REQUIRED for T.38, SRTP wanted but no well-formed local key). */
int ua_sdp_write_offer(enum ua_media_kind kind, const struct ua_sdp_prefs *prefs,
                       const struct ua_sdp_local *local, char *buf, size_t size);

/* Interpret the answer to an offer we made with ua_sdp_write_offer(kind, prefs, …).
 * SRTP: an RTP/SAVP(F) answer must carry an a=crypto line with one of our offered tags and
 * that tag's suite (ret_media gets the far end's key); a plain RTP/AVP answer is taken only
 * under UA_SRTP_OPTIONAL (the peer ignored our SRTP offer) or OFF; under REQUIRED a T.38
 * answer is refused. Returns 0 with ret_media filled, -ENOMEDIUM if the answer refused the
 * stream (port 0, a different kind, or unacceptable as above), -EINVAL if malformed. */
int ua_sdp_accept_answer(const struct ua_sdp *answer, enum ua_media_kind kind,
                         const struct ua_sdp_prefs *prefs, struct ua_media_desc *ret_media);

const char *ua_media_kind_name(enum ua_media_kind kind);

/* The RFC 4568 name ("AES_CM_128_HMAC_SHA1_80", …), or "none". */
const char *ua_srtp_suite_name(enum ua_srtp_suite suite);

#endif
