/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t38/rtp.c: packets written by hand from RFC 3550 §5.1/§5.3.1 (every header field,
 * padding, CSRCs, extension, hostile lengths), RFC 4733 / RFC 3389 / RFC 5761 recognition,
 * and the builder against hand-built bytes and the parser. */
#include "rtp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})

/* Parse a copy kept in static storage: the payload pointer outlives the compound literal. */
static uint8_t held[256];

static int
parse_held(const uint8_t *pkt, size_t len, int audio_pt, int event_pt, struct fx38_rtp_packet *p)
{
    memcpy(held, pkt, len);
    return fx38_rtp_parse(held, len, audio_pt, event_pt, p);
}

#define PARSE_PT(p, audio_pt, event_pt, ...)                                                       \
    parse_held(BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)), audio_pt, event_pt, p)
#define PARSE(p, ...) PARSE_PT(p, FX38_RTP_PT_PCMU, 101, __VA_ARGS__)

static void
test_fixed_header(void)
{
    struct fx38_rtp_packet p;
    const uint8_t pkt[] = {0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                           0x01, 0x02, 0x03, 0x04, 0xff, 0x7f, 0x00};

    CHECK_INT(fx38_rtp_parse(pkt, sizeof(pkt), FX38_RTP_PT_PCMU, -1, &p), 0);
    CHECK_INT(p.kind, FX38_RTP_AUDIO);
    CHECK_INT(p.payload_type, 0);
    CHECK(!p.is_marker);
    CHECK_INT(p.csrc_count, 0);
    CHECK_INT(p.seq, 0x1234);
    CHECK_INT(p.timestamp, 0xdeadbeef);
    CHECK_INT(p.ssrc, 0x01020304);
    CHECK(p.payload == pkt + 12);
    CHECK_INT(p.payload_len, 3);

    /* marker set, PCMA, highest sequence number and timestamp */
    CHECK_INT(PARSE_PT(&p, FX38_RTP_PT_PCMA, -1, 0x80, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                       0xff, 0xff, 0xff, 0xff, 0xd5),
              0);
    CHECK_INT(p.kind, FX38_RTP_AUDIO);
    CHECK_INT(p.payload_type, 8);
    CHECK(p.is_marker);
    CHECK_INT(p.seq, 0xffff);
    CHECK_INT(p.timestamp, 0xffffffffu);
    CHECK_INT(p.ssrc, 0xffffffffu);
    CHECK_INT(p.payload_len, 1);
    CHECK_INT(p.payload[0], 0xd5);

    /* header only: an empty payload is well-formed */
    CHECK_INT(PARSE(&p, 0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), 0);
    CHECK_INT(p.payload_len, 0);

    /* PCMA when PCMU was negotiated: another payload type, ignored */
    CHECK_INT(PARSE(&p, 0x80, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xd5), 0);
    CHECK_INT(p.kind, FX38_RTP_OTHER);
}

static void
test_csrc_extension_padding(void)
{
    struct fx38_rtp_packet p;
    /* CC = 2, X, P: 2 CSRCs, extension of 1 word, 2 payload octets, 3 padding octets */
    const uint8_t pkt[] = {0xb2, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xa0, 0xca, 0xfe, 0xba,
                           0xbe, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0xbe, 0xde,
                           0x00, 0x01, 0x99, 0x99, 0x99, 0x99, 0x55, 0x66, 0x00, 0x00, 0x03};

    CHECK_INT(fx38_rtp_parse(pkt, sizeof(pkt), FX38_RTP_PT_PCMU, -1, &p), 0);
    CHECK_INT(p.csrc_count, 2);
    CHECK_INT(p.seq, 7);
    CHECK_INT(p.timestamp, 160);
    CHECK_INT(p.ssrc, 0xcafebabe);
    CHECK(p.payload == pkt + 28);
    CHECK_INT(p.payload_len, 2);
    CHECK_INT(p.payload[0], 0x55);
    CHECK_INT(p.payload[1], 0x66);

    /* 15 CSRCs (the most CC can say) and one payload octet */
    {
        uint8_t big[12 + 60 + 1] = {0x8f, 0x00};
        CHECK_INT(fx38_rtp_parse(big, sizeof(big), 0, -1, &p), 0);
        CHECK_INT(p.csrc_count, 15);
        CHECK(p.payload == big + 72);
        CHECK_INT(p.payload_len, 1);
        CHECK_INT(fx38_rtp_parse(big, sizeof(big) - 2, 0, -1, &p), -EBADMSG);
    }

    /* an empty extension (length 0) */
    CHECK_INT(PARSE(&p, 0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x10, 0x00, 0x00, 0x00, 0x42), 0);
    CHECK_INT(p.payload_len, 1);
    CHECK_INT(p.payload[0], 0x42);

    /* padding that is the whole payload */
    CHECK_INT(PARSE(&p, 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x00, 0x02), 0);
    CHECK_INT(p.payload_len, 0);
    /* one octet of padding: the count itself */
    CHECK_INT(PARSE(&p, 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x7f, 0x01), 0);
    CHECK_INT(p.payload_len, 1);
    CHECK_INT(p.payload[0], 0x7f);
}

static void
test_malformed(void)
{
    struct fx38_rtp_packet p;
    uint8_t pkt[12] = {0x80};
    size_t n;

    /* every truncation of a fixed header */
    for (n = 0; n < 12; n++)
        CHECK_INT(fx38_rtp_parse(pkt, n, 0, -1, &p), -EBADMSG);
    CHECK_INT(fx38_rtp_parse(pkt, 12, 0, -1, &p), 0);

    /* versions 0, 1 and 3 */
    CHECK_INT(PARSE(&p, 0x00, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff), -EBADMSG);
    CHECK_INT(PARSE(&p, 0x40, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff), -EBADMSG);
    CHECK_INT(PARSE(&p, 0xc0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff), -EBADMSG);
    /* CC = 1 but no CSRC */
    CHECK_INT(PARSE(&p, 0x81, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff, 0xff, 0xff), -EBADMSG);
    /* X but no extension header, or a 3-octet one */
    CHECK_INT(PARSE(&p, 0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), -EBADMSG);
    CHECK_INT(PARSE(&p, 0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0x00), -EBADMSG);
    /* extension claims 2 words, 1 is there; and the largest length */
    CHECK_INT(
        PARSE(&p, 0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4),
        -EBADMSG);
    CHECK_INT(
        PARSE(&p, 0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4),
        -EBADMSG);
    /* padding count 0, and padding running into the header */
    CHECK_INT(PARSE(&p, 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff, 0x00), -EBADMSG);
    CHECK_INT(PARSE(&p, 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff, 0x03), -EBADMSG);
    CHECK_INT(PARSE(&p, 0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xff), -EBADMSG);
    /* padding past a CSRC + extension header */
    CHECK_INT(PARSE(&p, 0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 9, 9, 9, 0xbe, 0xde, 0x00,
                    0x00, 0xff, 0x03),
              -EBADMSG);
    CHECK_INT(PARSE(&p, 0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 9, 9, 9, 0xbe, 0xde, 0x00,
                    0x00, 0xff, 0x01),
              0);
    CHECK_INT(p.payload_len, 1);
}

static void
test_kinds(void)
{
    struct fx38_rtp_packet p;

    /* RFC 4733 telephone-event on the negotiated PT 101: digit 5, end, volume 10 */
    CHECK_INT(PARSE(&p, 0x80, 0xe5, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x05, 0x8a, 0x03, 0x20), 0);
    CHECK_INT(p.kind, FX38_RTP_EVENT);
    CHECK(p.is_marker);
    CHECK_INT(p.payload_type, 101);
    CHECK_INT(p.payload_len, 4);
    /* PT 101 when no event PT was negotiated */
    CHECK_INT(PARSE_PT(&p, FX38_RTP_PT_PCMU, -1, 0x80, 0x65, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x05,
                       0x8a, 0x03, 0x20),
              0);
    CHECK_INT(p.kind, FX38_RTP_OTHER);
    /* RFC 3389 comfort noise, noise level 40 */
    CHECK_INT(PARSE(&p, 0x80, 0x0d, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 40), 0);
    CHECK_INT(p.kind, FX38_RTP_CN);
    /* RTCP on the same port (RFC 5761): an empty RR (8 octets), an SR, a BYE header alone */
    CHECK_INT(PARSE(&p, 0x80, 0xc9, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78), 0);
    CHECK_INT(p.kind, FX38_RTP_RTCP);
    CHECK_INT(p.payload_type, 73);
    CHECK_INT(PARSE(&p, 0x81, 0xc8, 0x00, 0x0c, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 0, 0),
              0);
    CHECK_INT(p.kind, FX38_RTP_RTCP);
    CHECK_INT(PARSE(&p, 0x80, 0xcb, 0x00, 0x00), 0);
    CHECK_INT(p.kind, FX38_RTP_RTCP);
    CHECK_INT(PARSE(&p, 0x80, 0xcc, 0x00), -EBADMSG);
    CHECK_INT(PARSE(&p, 0x40, 0xc8, 0x00, 0x00), -EBADMSG);
    /* the edges of the RTCP range: 191 is RTP PT 63 with the marker, 224 is PT 96 */
    CHECK_INT(PARSE(&p, 0x80, 0xbf, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), 0);
    CHECK_INT(p.kind, FX38_RTP_OTHER);
    CHECK_INT(PARSE(&p, 0x80, 0xc0, 0, 0), 0);
    CHECK_INT(p.kind, FX38_RTP_RTCP);
    CHECK_INT(PARSE(&p, 0x80, 0xdf, 0, 0), 0);
    CHECK_INT(p.kind, FX38_RTP_RTCP);
    CHECK_INT(PARSE(&p, 0x80, 0xe0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), 0);
    CHECK_INT(p.kind, FX38_RTP_OTHER);
    CHECK_INT(p.payload_type, 96);
}

static void
test_build(void)
{
    struct fx38_rtp_tx tx;
    struct fx38_rtp_packet p;
    uint8_t payload[240], buf[12 + 240];
    int i;

    for (i = 0; i < 240; i++)
        payload[i] = (uint8_t)i;
    fx38_rtp_tx_init(&tx, FX38_RTP_PT_PCMA, 0x11223344, 0xfffe, 0xffffff00);

    /* first packet: marker set */
    CHECK_INT(fx38_rtp_build(&tx, payload, 160, buf, sizeof(buf)), 172);
    CHECK(memcmp(buf, BYTES(0x80, 0x88, 0xff, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44),
                 12) == 0);
    CHECK(memcmp(buf + 12, payload, 160) == 0);
    /* sequence and timestamp wrap */
    CHECK_INT(fx38_rtp_build(&tx, payload, 160, buf, sizeof(buf)), 172);
    CHECK(memcmp(buf, BYTES(0x80, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa0, 0x11, 0x22, 0x33, 0x44),
                 12) == 0);
    CHECK_INT(fx38_rtp_build(&tx, payload, 80, buf, sizeof(buf)), 92);
    CHECK(memcmp(buf, BYTES(0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x22, 0x33, 0x44),
                 12) == 0);

    /* errors consume nothing */
    CHECK_INT(fx38_rtp_build(&tx, payload, 0, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(fx38_rtp_build(&tx, payload, FX38_RTP_MAX_PAYLOAD + 1, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(fx38_rtp_build(&tx, payload, 240, buf, 251), -EMSGSIZE);
    CHECK_INT(fx38_rtp_build(&tx, payload, 240, buf, 252), 252);
    CHECK_INT(fx38_rtp_parse(buf, 252, FX38_RTP_PT_PCMA, -1, &p), 0);
    CHECK_INT(p.kind, FX38_RTP_AUDIO);
    CHECK(!p.is_marker);
    CHECK_INT(p.seq, 1);
    CHECK_INT(p.timestamp, 0x90);
    CHECK_INT(p.ssrc, 0x11223344);
    CHECK_INT(p.payload_len, 240);
    CHECK(memcmp(p.payload, payload, 240) == 0);
}

/* ptime 10, 20 and 30 round trips, across the wraps. */
static void
test_round_trip(void)
{
    static const size_t ptimes[] = {80, 160, 240};
    struct fx38_rtp_tx tx;
    struct fx38_rtp_packet p;
    uint8_t payload[240], buf[12 + 240];
    uint32_t ts = 0xfffff000;
    uint16_t seq = 0xffe0;
    int i, k, len;

    fx38_rtp_tx_init(&tx, FX38_RTP_PT_PCMU, 0xabcdef01, seq, ts);
    for (i = 0; i < 200; i++) {
        size_t n = ptimes[i % 3];
        for (k = 0; k < (int)n; k++)
            payload[k] = (uint8_t)(i * 7 + k);
        len = fx38_rtp_build(&tx, payload, n, buf, sizeof(buf));
        CHECK_INT(len, 12 + (int)n);
        CHECK_INT(fx38_rtp_parse(buf, (size_t)len, FX38_RTP_PT_PCMU, 101, &p), 0);
        CHECK_INT(p.kind, FX38_RTP_AUDIO);
        CHECK_INT(p.is_marker, i == 0);
        CHECK_INT(p.seq, seq);
        CHECK_INT(p.timestamp, ts);
        CHECK_INT(p.ssrc, 0xabcdef01);
        CHECK_INT(p.payload_len, n);
        CHECK(memcmp(p.payload, payload, n) == 0);
        seq++;
        ts += (uint32_t)n;
    }
}

int
main(void)
{
    test_fixed_header();
    test_csrc_extension_padding();
    test_malformed();
    test_kinds();
    test_build();
    test_round_trip();
    return check_finish();
}
