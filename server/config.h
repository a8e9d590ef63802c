/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inklessd configuration: the libconfig file read into plain structs.
 *
 * Only config.c includes <libconfig.h>. Everything else sees struct cfg and the option
 * structs below. A loaded struct cfg is immutable; SIGHUP loads a new one and the parts that
 * may change at run time (numbers, trunks) are handed to the SIP thread as a new struct cfg_routes.
 */
#ifndef INKLESS_SERVER_CONFIG_H
#define INKLESS_SERVER_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdp.h"

#define CFG_NUMBER_LEN 20 /* E.164: at most 15 digits; stored as digits only, no '+' */
#define CFG_NAME_LEN 64
#define CFG_SECRET_LEN 128
#define CFG_PATH_LEN 1024
#define CFG_MAX_SOURCES 64 /* source addresses/CIDRs per trunk */

enum cfg_number_type { CFG_NUMBER_LOCAL = 0, CFG_NUMBER_TOLLFREE };

/* How a trunk's outbound calls travel (trunk option transport). */
enum cfg_transport { CFG_TRANSPORT_UDP = 0, CFG_TRANSPORT_TCP, CFG_TRANSPORT_TLS };

/* Who moves an audio call to T.38 (trunk option t38_reinvite; default EITHER):
 * US      only we do: our re-INVITE t38_reinvite_delay_ms after the call is up; a T.38
 *         re-INVITE from the carrier is refused (488), for carriers whose own one is broken.
 * THEM    only the carrier does: we never send one and accept theirs.
 * EITHER  we accept theirs and, if none came within t38_reinvite_delay_ms, send ours.
 * NONE    the call stays on G.711; a carrier's T.38 re-INVITE is refused (488). */
enum cfg_reinvite {
    CFG_REINVITE_US = 0,
    CFG_REINVITE_THEM,
    CFG_REINVITE_EITHER,
    CFG_REINVITE_NONE
};

/* An IPv4 or IPv6 network: address + prefix length. IPv4 is stored as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) with prefix + 96, so one comparison routine covers both. */
struct cfg_cidr {
    struct in6_addr addr;
    int prefix; /* 0..128 */
};

struct cfg_trunk {
    char name[CFG_NAME_LEN];
    int nsources;
    struct cfg_cidr sources[CFG_MAX_SOURCES];
    char username[CFG_NAME_LEN]; /* digest credentials for our requests; "" = none */
    char password[CFG_SECRET_LEN];
    char realm[CFG_NAME_LEN];       /* "" = answer any realm */
    char country_code[4];           /* digits prefixed to national numbers ("1"); "" = none */
    enum cfg_reinvite t38_reinvite; /* who switches an audio call to T.38, see below */
    int t38_reinvite_delay_ms;      /* our re-INVITE this long after the call is up */
    bool t38_enabled;               /* false: never offer/accept T.38 on this trunk */
    bool t38_in_invite;     /* outbound: the INVITE offers T.38 (else audio, then t38_reinvite) */
    enum ua_srtp_mode srtp; /* G.711 media: plain RTP, SRTP when offered, or SRTP only */
    char proxy[UA_SDP_ADDR_LEN + 8]; /* outbound: carrier "host:port" ("[v6]:port"); "" = none */
    enum cfg_transport transport;    /* outbound: udp, tcp or tls (";transport=tls") */
    char caller_id[CFG_NUMBER_LEN];  /* outbound From number when a job gives none */
    int max_channels;                /* outbound calls at once on this trunk, 0 = no own limit */
    int calls_per_s;                 /* outbound calls started per second, 0 = no limit */
};

struct cfg_number {
    char number[CFG_NUMBER_LEN]; /* E.164 digits, no '+' */
    enum cfg_number_type type;
    char owner[CFG_NAME_LEN]; /* "" = unassigned */
    int trunk;                /* index into cfg_routes.trunks, -1 = any trunk */
};

/* The reloadable part: numbers and trunks. */
struct cfg_routes {
    int ntrunks;
    struct cfg_trunk *trunks; /* owned */
    int nnumbers;
    struct cfg_number *numbers; /* owned, sorted by number for bsearch */
};

enum log_target_kind { CFG_LOG_STDERR = 0, CFG_LOG_SYSLOG };

struct cfg {
    char path[CFG_PATH_LEN]; /* the file this came from */

    /* server */
    char var_dir[CFG_PATH_LEN]; /* relative paths are relative to the working directory */
    int log_level;              /* LOG_ERR..LOG_DEBUG (syslog numbers) */
    enum log_target_kind log_target;
    int drain_timeout_s; /* SIGTERM: wait this long for calls, then hang up */

    /* sip */
    char sip_listen[UA_SDP_ADDR_LEN]; /* address to bind, e.g. "127.0.0.1" or "::1" */
    int sip_port;
    bool sip_udp, sip_tcp, sip_tls;
    int sip_tls_port;                /* TLS listens here (TCP); the others on sip_port */
    char sip_tls_cert[CFG_PATH_LEN]; /* PEM certificate (chain) we present; relative paths */
    char sip_tls_key[CFG_PATH_LEN];  /* PEM private key, unencrypted    are relative to the */
    char sip_tls_ca[CFG_PATH_LEN];   /* PEM CA(s) peers are checked against, "" = none (wd) */
    bool sip_tls_verify_clients;     /* incoming TLS needs a client certificate from tls_ca */
    char user_agent[CFG_NAME_LEN];
    int answer_delay_ms; /* ring (180) this long before answering; 0 = at once */
    int retry_after_s;   /* Retry-After on 503 */
    int max_sdp_bytes;   /* larger bodies: 488 */

    /* media */
    int media_threads; /* 0 in the file = CPU count, resolved at load */
    int tick_ms;
    char media_addr[UA_SDP_ADDR_LEN]; /* address put in our SDP; default = sip_listen */
    int port_min, port_max;           /* UDPTL/RTP ports: each channel takes an even port and the
                                       * next (RTP+RTCP); port_min is even, and the range holds at
                                       * least max_channels such pairs */

    int speedup; /* test only: the tick fires this many times faster, still passing one
                  * tick's worth of samples (accelerated media clock, both ends agree) */

    /* limits */
    int max_channels;

    /* fax: T.30 settings */
    char fax_ident[21];  /* TSI/CSI station identifier */
    char fax_header[51]; /* page header line on what we send, "" = none */
    bool fax_ecm;
    int fax_max_rate; /* 14400, 12000, 9600, 7200, 4800 or 2400 */
    bool fax_fine, fax_superfine;
    int fax_inactivity_s;      /* silence both ways mid-fax this long: give up */
    int fax_t38_timeout_s;     /* a call with no fax session (no usable media) this long is ended */
    int audio_jitter_delay_ms; /* G.711 playout delay: the jitter a fax survives, 0..200 */

    /* outbound jobs: retries (server/sched.c) */
    int out_max_attempts;      /* calls per job at most */
    int out_retry_base_s;      /* backoff: attempt n+1 not before created + base * n^2 */
    int out_retry_max_s;       /* ... and at most this long after the previous attempt */
    int out_max_age_s;         /* a job still not sent this long after submission fails */
    bool out_fallback_ecm_off; /* after a fax failure, retry with ECM off */
    bool out_fallback_9600;    /* after a second fax failure, retry at 9600 bit/s at most */
    int out_max_channels;      /* outbound calls at once over all trunks, 0 = max_channels */
    int out_ring_timeout_s;    /* an outbound call not answered this long is canceled */
    int out_max_pages;         /* documents submitted: limits on what conversion accepts */
    int out_max_document_mb;
    int out_max_megapixels; /* per page, as decoded or rendered */
    int out_convert_timeout_s;

    /* UDPTL error recovery we send (what we accept is whatever the far end sends) */
    int udptl_redundancy_control;
    int udptl_redundancy_image;
    int udptl_fec_span, udptl_fec_entries;

    /* our SDP preferences (T.38 capabilities, codecs) */
    struct ua_sdp_prefs sdp;

    struct cfg_routes routes; /* owned */
};

/* Load and validate `path` into a new struct cfg. On failure returns NULL and writes one
 * message "FILE:LINE: OPTION: what is wrong" into errbuf (NUL-terminated, truncated).
 * Blocks (reads the file); call from the main thread. */
struct cfg *cfg_load(const char *path, char *errbuf, size_t errlen);

/* The same from text in memory (an embedded default config): `name` stands for the file in
 * messages; @include paths are relative to the working directory. Blocks; main thread. */
struct cfg *cfg_load_text(const char *name, const char *text, char *errbuf, size_t errlen);

/* Free a struct cfg and what it owns. Accepts NULL. */
void cfg_free(struct cfg *cfg);

/* Move the routes out of cfg (cfg keeps empty routes). The caller owns the result and frees
 * it with cfg_free_routes(), which accepts NULL. Returns NULL only on out-of-memory (cfg then
 * keeps its routes). */
struct cfg_routes *cfg_take_routes(struct cfg *cfg);
void cfg_free_routes(struct cfg_routes *routes);

/* Normalise a dialled number or Request-URI user part to E.164 digits: strips a leading '+',
 * visual separators (-.() space) and URI parameters (";…"); returns the digit count, or
 * -EINVAL if anything else is left, no digit is, or it is longer than 15 digits; -ENOSPC if
 * ret_out (outlen bytes, NUL included) is too small. Pure; any thread. */
int cfg_normalize_number(const char *in, char *ret_out, size_t outlen);

/* Find a number: exact E.164 match first; if not found and `country_code` is non-empty (NULL
 * counts as empty), the same with the country code prefixed (national format from the
 * carrier). Returns NULL if not found, else a pointer into `routes` (borrowed). Thread-safe
 * on an immutable routes table. */
const struct cfg_number *cfg_find_number(const struct cfg_routes *routes, const char *digits,
                                         const char *country_code);

/* Find the trunk whose sources contain `addr` (IPv4-mapped for IPv4). First match in file
 * order. NULL if none. */
const struct cfg_trunk *cfg_find_trunk(const struct cfg_routes *routes,
                                       const struct in6_addr *addr);

/* Parse "a.b.c.d[/n]" or "x:y::z[/n]" (no prefix: a single host). Returns 0 or -EINVAL,
 * also for address bits set beyond the prefix ("10.1.2.3/8"): in an ACL that is more likely
 * a typo for /32 than a wish for 10/8. Pure; any thread. */
int cfg_parse_cidr(const char *text, struct cfg_cidr *ret_cidr);

#endif
