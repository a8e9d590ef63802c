/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RTP (RFC 3550) for the G.711 fax path: parse a received packet defensively and build the
 * packets we send, PCMU (PT 0) or PCMA (PT 8) at 8000 samples/s, one octet per sample.
 * RFC 4733 telephone-events, RFC 3389 comfort noise and RTCP sharing the port (RFC 5761) are
 * recognised and reported so the caller can ignore them.
 *
 * Pure code: no sockets, no clock, no allocation, no logging. The caller supplies random
 * initial SSRC, sequence number and timestamp (RFC 3550 §5.1), and the bytes.
 */
#ifndef INKLESS_T38_RTP_H
#define INKLESS_T38_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX38_RTP_HEADER_LEN 12 /* fixed header, no CSRC, no extension */
#define FX38_RTP_PT_PCMU 0     /* RFC 3551 §6 static payload types */
#define FX38_RTP_PT_PCMA 8
#define FX38_RTP_PT_CN 13         /* RFC 3389 comfort noise */
#define FX38_RTP_RATE 8000        /* G.711 clock rate: ptime 10/20/30 = 80/160/240 samples */
#define FX38_RTP_MAX_PAYLOAD 1440 /* what we build: 1500 - 40 (IPv6) - 8 (UDP) - 12 */

/* What a received packet carries, for the caller to route or ignore. */
enum fx38_rtp_kind {
    FX38_RTP_AUDIO = 0, /* the negotiated G.711 payload type */
    FX38_RTP_EVENT,     /* RFC 4733 telephone-event (the negotiated dynamic PT): ignore */
    FX38_RTP_CN,        /* RFC 3389 comfort noise (PT 13): ignore, VAD is off for fax */
    FX38_RTP_RTCP,      /* RTCP on the RTP port (RFC 5761 §4): ignore; only the header
                           octet was checked, no other field is filled in */
    FX38_RTP_OTHER,     /* any other payload type: ignore */
};

/* One parsed packet. `payload` is borrowed: it points into the packet given to
 * fx38_rtp_parse() and is valid as long as that buffer is. */
struct fx38_rtp_packet {
    enum fx38_rtp_kind kind;
    uint8_t payload_type; /* 7 bits; for RTCP, the second octet & 0x7f */
    bool is_marker;
    uint8_t csrc_count;
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    const uint8_t *payload; /* after CSRCs and extension; padding removed */
    size_t payload_len;     /* may be 0 */
};

/* Our sending side: one per channel, embedded by the caller. Fields are private. */
struct fx38_rtp_tx {
    uint8_t payload_type;
    bool has_sent; /* the first packet carries the marker bit */
    uint16_t seq;  /* of the next packet built */
    uint32_t timestamp;
    uint32_t ssrc;
};

/* Parse the received packet `pkt` (len octets, borrowed, hostile) into `ret_pkt`.
 * `audio_pt` is the negotiated G.711 payload type (0 or 8); `event_pt` the negotiated
 * telephone-event payload type, or -1 if none. RTCP is recognised before the RTP checks
 * (RFC 5761 §4) and only needs version 2 and 4 octets. Returns 0, or -EBADMSG if the
 * packet is malformed: shorter than its header, version other than 2, CSRC list or header
 * extension past the end, padding count of 0 or past the header (then `ret_pkt` is
 * unspecified). Pure. */
int fx38_rtp_parse(const uint8_t *pkt, size_t len, int audio_pt, int event_pt,
                   struct fx38_rtp_packet *ret_pkt);

/* Start a sending stream: payload type `payload_type` (0..127, not 64..95, which RFC 5761
 * §4 leaves to RTCP), SSRC, first sequence number
 * and first timestamp as given (the caller draws them at random, RFC 3550 §5.1). Holds no
 * resources; call again to start a new stream. Pure. */
void fx38_rtp_tx_init(struct fx38_rtp_tx *tx, uint8_t payload_type, uint32_t ssrc, uint16_t seq,
                      uint32_t timestamp);

/* Build the next packet: the 12-octet header then `len` G.711 samples from `payload`
 * (borrowed) into `buf` (size octets, caller's, must not overlap payload). The sequence
 * number then advances by 1 and the timestamp by `len` (one octet per sample). The first
 * packet of the stream has the marker bit set. Returns the packet length, -EINVAL if len is
 * 0 or over FX38_RTP_MAX_PAYLOAD, -EMSGSIZE if `buf` is too small; on error nothing
 * advances. The channel's media thread, non-blocking. */
int fx38_rtp_build(struct fx38_rtp_tx *tx, const uint8_t *payload, size_t len, uint8_t *buf,
                   size_t size);

#endif
