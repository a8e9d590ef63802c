/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A T.38 fax session: a spandsp t38_terminal (T.30 + T.38 IFP) bound to our UDPTL.
 *
 * DESIGN: no socket, no timer, no clock (STYLE §1). UDPTL packets come in through
 * fx38_rx_udptl(), packets to send go out through the fx38_send_fn callback, and time comes
 * in through fx38_tick() with the samples (8 kHz) that really elapsed. That is what lets tests
 * wire two sessions back to back, and replay captures. All calls for one session must come
 * from one thread (the channel's media thread); different sessions are independent.
 *
 * The end of the fax (T.30 phase E) is reported once through fx38_done_fn, from inside
 * fx38_rx_udptl() or fx38_tick(). The session must not be freed from inside that callback
 * (spandsp still uses it after the handler returns): defer fx38_session_free() to after the
 * call that reported it (SPANDSP-NOTES pitfall 5).
 */
#ifndef INKLESS_T38_SESSION_H
#define INKLESS_T38_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udptl.h"

#define FX38_SAMPLE_RATE 8000
#define FX38_IDENT_LEN 20  /* T.30 station identifier (TSI/CSI), digits and + and space */
#define FX38_HEADER_LEN 50 /* page header line */
#define FX38_TEXT_LEN 128

/* Modems (T.30 supported modulations). */
enum {
    FX38_MODEM_V27TER = 1 << 0, /* 2400/4800 */
    FX38_MODEM_V29 = 1 << 1,    /* 7200/9600 */
    FX38_MODEM_V17 = 1 << 2,    /* 7200..14400 */
};

/* Negotiated T.38 parameters (from SDP, via server/). */
struct fx38_params {
    int version;     /* T38FaxVersion 0..3: spandsp must use the negotiated one */
    int max_bitrate; /* T38MaxBitRate: limits the modems we offer */
    bool fill_bit_removal;
    int far_max_datagram;   /* the far end's T38FaxMaxDatagram, 0 = not given */
    enum fx38_udptl_ec ec;  /* what we send */
    int redundancy_control; /* secondaries behind indicators/control IFPs */
    int redundancy_image;   /* secondaries behind image data IFPs */
    int fec_span, fec_entries;
};

enum fx38_direction { FX38_RECEIVE = 0, FX38_SEND };

/* What the fax itself does (T.30 settings). Strings are copied. */
struct fx38_fax {
    enum fx38_direction direction;
    bool is_caller;            /* we placed the call (sends CNG; T.30 calling party) */
    const char *file;          /* RECEIVE: TIFF-F to write; SEND: TIFF-F to read */
    int first_page, last_page; /* SEND: page range (0-based, -1 = to the end) */
    const char *local_ident;   /* TSI/CSI, at most FX38_IDENT_LEN characters */
    const char *header;        /* SEND: page header line, "" = none */
    bool ecm;                  /* error correction mode (on by default in config) */
    int modems;                /* FX38_MODEM_* mask */
    bool fine, superfine;      /* resolutions offered beyond standard */
    int inactivity_s;          /* no packet this long mid-fax: give up (pitfall 4) */
};

/* Phase E: how the fax ended. */
struct fx38_result {
    bool is_success;              /* T30_ERR_OK */
    int t30_status;               /* spandsp T30_ERR_* code */
    char t30_text[FX38_TEXT_LEN]; /* its text */
    int pages;                    /* pages received (RECEIVE) or confirmed (SEND) */
    int pages_in_file;            /* SEND: pages in the document */
    int bit_rate;
    bool ecm;
    int x_res, y_res;  /* pixels per metre, as spandsp reports */
    int width, length; /* of the last page, pixels */
    int bad_rows;
    char remote_ident[FX38_IDENT_LEN + 1];
    uint64_t duration_samples; /* from session start to phase E */
    struct fx38_udptl_stats udptl;
};

/* Bytes to send to the far end (one UDPTL packet). Return nothing: a failed send is counted
 * by the caller and never aborts the fax (pitfall 3). */
typedef void fx38_send_fn(void *data, const uint8_t *pkt, size_t len);
/* Phase E. `result` is borrowed for the call. Do not free the session from here. */
typedef void fx38_done_fn(void *data, const struct fx38_result *result);
/* Phase D: `pages` pages are now confirmed by the far end (SEND: MCF received) or received
 * (RECEIVE). Called when the count grows, before phase E. Do not free the session here. */
typedef void fx38_page_fn(void *data, int pages);

struct fx38_session;

/* Create a session. Returns NULL if spandsp cannot start (bad file for SEND, out of memory);
 * then *ret_error (if given) is -errno (-ENOENT, -EINVAL, -ENOMEM). Callbacks and `data`
 * are borrowed. Non-blocking except that SEND opens the TIFF (a page is read per page). */
struct fx38_session *fx38_session_new(const struct fx38_fax *fax, const struct fx38_params *params,
                                      fx38_send_fn *send, fx38_done_fn *done, void *data,
                                      int *ret_error);

/* Be told of each page as it is confirmed or received (fn NULL: no longer). `data` is the
 * session's own (given to fx38_session_new). */
void fx38_set_page_handler(struct fx38_session *s, fx38_page_fn *fn);

/* New parameters mid-call (a re-INVITE renegotiated T.38). */
void fx38_set_params(struct fx38_session *s, const struct fx38_params *params);

/* One received UDPTL packet (borrowed, hostile). Returns IFPs delivered or -errno for a
 * malformed packet (counted, otherwise ignored). */
int fx38_rx_udptl(struct fx38_session *s, const uint8_t *pkt, size_t len);

/* Advance time by `samples` (8 kHz): T.30 timers and transmission pacing. */
void fx38_tick(struct fx38_session *s, int samples);

/* End now (BYE, CANCEL, shutdown): phase E is reported with whatever was achieved. */
void fx38_terminate(struct fx38_session *s);

/* Has phase E been reported? */
bool fx38_is_done(const struct fx38_session *s);

/* Current counters and T.30 progress, for a live channel list. */
void fx38_get_result(struct fx38_session *s, struct fx38_result *ret);

/* Turn spandsp's debug logging (T.30, T.38 core) on or off; off costs nothing. */
void fx38_set_debug(struct fx38_session *s, bool on, const char *tag);

/* Free. Accepts NULL. Never from inside fx38_done_fn. */
void fx38_session_free(struct fx38_session *s);

/* A copy of the T30_ERR_* text for `status`, for logs. */
const char *fx38_status_text(int status);

#endif
