/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SRTP (RFC 3711) for one channel's G.711 stream pair, keyed by SDES (RFC 4568): a thin
 * owning wrapper over libsrtp2. One struct fx38_srtp protects what we send with our key and
 * unprotects what the far end sends with its key (both base64 key||salt as written in the
 * SDP a=crypto lines). SRTCP is not done: we send no RTCP, and RTCP arriving on the RTP port
 * (RFC 5761) is only recognised and reported.
 *
 * Threads: fx38_srtp_init() once at startup (any thread, idempotent). A struct fx38_srtp
 * belongs to the channel's media thread; new/free may run elsewhere but never concurrently
 * with protect/unprotect on the same object. Nothing here logs. protect/unprotect do not
 * allocate, except that libsrtp2 copies its stream state once per new SSRC (at most
 * FX38_SRTP_MAX_RX_SSRC + 1 times per object, only after a packet authenticated).
 * Memory: a few KiB per object (two libsrtp2 sessions).
 */
#ifndef INKLESS_T38_SRTP_H
#define INKLESS_T38_SRTP_H

#include <stddef.h>
#include <stdint.h>

/* Crypto suites (RFC 4568 §6.2 names). Same order as enum ua_srtp_suite in sip/sdp.h, which
 * server/ maps 1:1. */
enum fx38_srtp_suite {
    FX38_SRTP_SUITE_NONE = 0,
    FX38_SRTP_AES_CM_128_HMAC_SHA1_80, /* 80-bit tag: 10 octets appended per packet */
    FX38_SRTP_AES_CM_128_HMAC_SHA1_32, /* 32-bit tag: 4 octets */
};

#define FX38_SRTP_KEY_LEN 30     /* master key (16) || master salt (14) octets, both suites */
#define FX38_SRTP_KEY_B64_LEN 40 /* its base64 form, unpadded (30 is a multiple of 3) */
/* Room protect needs after the packet: libsrtp2's documented SRTP_MAX_TRAILER_LEN (tag and
 * MKI maximum), although our suites only add 10 or 4 octets. */
#define FX38_SRTP_TRAILER_ROOM 144
/* Distinct far-end SSRCs one object accepts (a peer may restart its stream, e.g. after a
 * re-INVITE without rekeying). Packets from further SSRCs are refused (-EDQUOT), which
 * bounds the memory a keyed but hostile peer can make libsrtp2 allocate. */
#define FX38_SRTP_MAX_RX_SSRC 4

struct fx38_srtp; /* opaque; owns two libsrtp2 sessions */

/* Initialise libsrtp2 (srtp_init, and through it the crypto backend) exactly once per
 * process, under pthread_once. Call it at startup: the backend may read files. Returns 0 or
 * -EIO (the same result on every call). fx38_srtp_new() calls it too. Thread-safe. */
int fx38_srtp_init(void);

/* Draw a fresh master key||salt for `suite` from getrandom(2) and write it as
 * FX38_SRTP_KEY_B64_LEN base64 characters plus a NUL into ret_key (size octets, caller's).
 * The key is for one stream direction of one call: draw a new one per call and per rekey.
 * Returns 0, -EINVAL for an unknown suite, -ENOSPC if size < FX38_SRTP_KEY_B64_LEN + 1, or
 * -errno from getrandom (which blocks only before the kernel pool is ready, at early boot).
 * On error ret_key is "" when size > 0. Thread-safe. */
int fx38_srtp_key_generate(enum fx38_srtp_suite suite, char *ret_key, size_t size);

/* Check that `key` (NUL-terminated, borrowed) is a well-formed base64 key for `suite`:
 * exactly FX38_SRTP_KEY_B64_LEN characters of the standard alphabet. Returns 0 or -EINVAL.
 * Pure. */
int fx38_srtp_key_check(enum fx38_srtp_suite suite, const char *key);

/* Create the SRTP state of one channel: `tx_key` (ours, as written in our SDP) protects
 * what we send with `tx_suite`; `rx_key` (the far end's, from its a=crypto line) unprotects
 * what we receive with `rx_suite`. Keys are borrowed base64 strings, copied; the decoded
 * bytes are wiped after use. Replay window 128 packets (RFC 3711 §3.3.2 minimum 64).
 * Returns 0 with *ret_srtp set (owned by the caller, release with fx38_srtp_free()),
 * -EINVAL for an unknown suite or a malformed key, -ENOMEM, or -EIO if libsrtp2 failed.
 * Any thread. */
int fx38_srtp_new(enum fx38_srtp_suite tx_suite, const char *tx_key, enum fx38_srtp_suite rx_suite,
                  const char *rx_key, struct fx38_srtp **ret_srtp);

/* Release everything (libsrtp2 wipes its keys). Accepts NULL. */
void fx38_srtp_free(struct fx38_srtp *srtp);

/* Protect the RTP packet pkt[0..len-1] in place: the payload is encrypted and the
 * authentication tag appended. `size` is the capacity of pkt and must be at least
 * len + FX38_SRTP_TRAILER_ROOM. Returns the new length, -EMSGSIZE if size is too small,
 * -EINVAL if pkt is not an RTP packet (shorter than 12 octets, version not 2, or over
 * 65535 octets), -EALREADY if this sequence number was already sent with this key (each
 * packet must be protected once), or -EIO. On error pkt is unchanged except after -EIO.
 * The channel's media thread, non-blocking. */
int fx38_srtp_protect(struct fx38_srtp *srtp, uint8_t *pkt, size_t len, size_t size);

/* Authenticate and decrypt the received packet pkt[0..len-1] (hostile) in place. Returns
 * the length of the plain RTP packet (tag removed), ready for fx38_rtp_parse(), or:
 *   -ENOMSG     RTCP on the RTP port (second octet 192..223, RFC 5761 §4): SRTCP is not
 *               handled; ignore the packet (pkt unchanged);
 *   -EBADMSG    not an SRTP packet: too short for its header plus the tag, version not 2,
 *               CSRCs or header extension past the end;
 *   -EACCES     authentication failed: tampered, forged, or sent with another key;
 *   -EALREADY   replayed: already received, or older than the replay window;
 *   -EDQUOT     a new SSRC beyond FX38_SRTP_MAX_RX_SSRC;
 *   -EIO        any other libsrtp2 failure.
 * Every error means: drop the packet (the caller may count them, per code). On error the
 * contents of pkt are unspecified. The channel's media thread, non-blocking. */
int fx38_srtp_unprotect(struct fx38_srtp *srtp, uint8_t *pkt, size_t len);

/* The RFC 4568 name ("AES_CM_128_HMAC_SHA1_80", …), or "none". */
const char *fx38_srtp_suite_name(enum fx38_srtp_suite suite);

#endif
