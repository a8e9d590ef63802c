/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RTP header codec for G.711 fax: parse received packets into header fields and a bounded
 * payload, build our own packets. Written from RFC 3550 §5.1, §5.3.1 and RFC 5761 §4.
 *
 * Fixed header (RFC 3550 §5.1), big-endian:
 *   octet 0   V (2 bits, must be 2) | P (padding) | X (extension) | CC (CSRC count, 4 bits)
 *   octet 1   M (marker) | PT (payload type, 7 bits)
 *   octets 2-3 sequence number, 4-7 timestamp, 8-11 SSRC, then CC x 4 octets of CSRC
 *   X set: a 4-octet extension header (16-bit profile data, 16-bit length in 32-bit words)
 *          and that many words, skipped (§5.3.1)
 *   P set: the last octet counts the padding octets, itself included (§5.1)
 * Every length is checked against the datagram before anything is read past it.
 */
#include "rtp.h"

#include <errno.h>
#include <string.h>

#define RTP_VERSION 2

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

int
fx38_rtp_parse(const uint8_t *pkt, size_t len, int audio_pt, int event_pt,
               struct fx38_rtp_packet *ret_pkt)
{
    size_t hdr, pad = 0;

    *ret_pkt = (struct fx38_rtp_packet){.kind = FX38_RTP_OTHER};
    if (len < 4 || pkt[0] >> 6 != RTP_VERSION)
        return -EBADMSG;

    /* RFC 5761 §4: on a shared port, a second octet of 192..223 is an RTCP packet type
     * (SR 200, RR 201, SDES 202, BYE 203, APP 204, feedback and XR up to 207), read by RTP
     * as PT 64..95 with the marker set; RTP must not use those payload types. */
    if (pkt[1] >= 192 && pkt[1] <= 223) {
        ret_pkt->kind = FX38_RTP_RTCP;
        ret_pkt->payload_type = pkt[1] & 0x7f;
        ret_pkt->payload = pkt;
        ret_pkt->payload_len = len;
        return 0;
    }

    if (len < FX38_RTP_HEADER_LEN)
        return -EBADMSG;
    ret_pkt->is_marker = pkt[1] >> 7;
    ret_pkt->payload_type = pkt[1] & 0x7f;
    ret_pkt->csrc_count = pkt[0] & 0x0f;
    ret_pkt->seq = get16(pkt + 2);
    ret_pkt->timestamp = get32(pkt + 4);
    ret_pkt->ssrc = get32(pkt + 8);

    /* §5.1: CC contributing sources follow the fixed header; we do not mix, so skip them. */
    hdr = FX38_RTP_HEADER_LEN + 4 * (size_t)ret_pkt->csrc_count;
    if (hdr > len)
        return -EBADMSG;

    /* §5.3.1: one extension, its length counts 32-bit words after its own 4 octets. */
    if (pkt[0] & 0x10) {
        if (hdr + 4 > len)
            return -EBADMSG;
        hdr += 4 + 4 * (size_t)get16(pkt + hdr + 2);
        if (hdr > len)
            return -EBADMSG;
    }

    /* §5.1: the padding count includes itself, so 0 is invalid, and padding may not eat into
     * the header (RFC 3550 A.1 validity checks). */
    if (pkt[0] & 0x20) {
        pad = pkt[len - 1];
        if (pad == 0 || pad > len - hdr)
            return -EBADMSG;
    }
    ret_pkt->payload = pkt + hdr;
    ret_pkt->payload_len = len - hdr - pad;

    if (ret_pkt->payload_type == audio_pt)
        ret_pkt->kind = FX38_RTP_AUDIO;
    else if (event_pt >= 0 && ret_pkt->payload_type == event_pt)
        ret_pkt->kind = FX38_RTP_EVENT;
    else if (ret_pkt->payload_type == FX38_RTP_PT_CN)
        ret_pkt->kind = FX38_RTP_CN;
    return 0;
}

void
fx38_rtp_tx_init(struct fx38_rtp_tx *tx, uint8_t payload_type, uint32_t ssrc, uint16_t seq,
                 uint32_t timestamp)
{
    *tx = (struct fx38_rtp_tx){
        .payload_type = payload_type & 0x7f,
        .seq = seq,
        .timestamp = timestamp,
        .ssrc = ssrc,
    };
}

int
fx38_rtp_build(struct fx38_rtp_tx *tx, const uint8_t *payload, size_t len, uint8_t *buf,
               size_t size)
{
    if (len == 0 || len > FX38_RTP_MAX_PAYLOAD)
        return -EINVAL;
    if (size < FX38_RTP_HEADER_LEN + len)
        return -EMSGSIZE;

    /* No padding, extension or CSRC. RFC 3551 §4.1: the marker flags the first packet of a
     * talkspurt; fax audio is sent without silence suppression, so only the very first. */
    buf[0] = RTP_VERSION << 6;
    buf[1] = (uint8_t)((tx->has_sent ? 0 : 0x80) | tx->payload_type);
    put16(buf + 2, tx->seq);
    put32(buf + 4, tx->timestamp);
    put32(buf + 8, tx->ssrc);
    memcpy(buf + FX38_RTP_HEADER_LEN, payload, len);

    /* §5.1: sequence +1 per packet, timestamp + the samples carried (G.711: one per octet);
     * both wrap modulo 2^16 and 2^32. */
    tx->has_sent = true;
    tx->seq++;
    tx->timestamp += (uint32_t)len;
    return (int)(FX38_RTP_HEADER_LEN + len);
}
