/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t38/udptl.c: packets written by hand from the T.38 Annex A ASN.1 (aligned PER), independent
 * of the encoder; encoder output against hand-built bytes; loss, reorder, wrap and hostile
 * input on the decoder. */
#include "udptl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_GOT 512
#define GOT_DATA 256 /* octets kept per delivery; no test compares longer IFPs */

/* What the decoder delivered, in order. */
struct got {
    int n;
    uint16_t seq[MAX_GOT];
    size_t len[MAX_GOT];
    uint8_t data[MAX_GOT][GOT_DATA];
};

/* Large objects live in static storage, not on the test's stack. */
static struct got got;
static struct fx38_udptl tx, rx;

static void
on_ifp(void *data, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct got *g = data;

    CHECK(len >= 1 && len <= FX38_UDPTL_MAX_IFP);
    if (g->n < MAX_GOT) {
        g->seq[g->n] = seq;
        g->len[g->n] = len;
        memcpy(g->data[g->n], ifp, len < GOT_DATA ? len : GOT_DATA);
    }
    g->n++;
}

static void
got_reset(void)
{
    got.n = 0;
}

static int
feed(struct fx38_udptl *u, const uint8_t *pkt, size_t len)
{
    return fx38_udptl_rx(u, pkt, len, on_ifp, &got);
}

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})
#define FEED(u, ...) feed(u, BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))

/* Delivery number i was IFP `seq` with these octets. */
static void
check_got(int line, int i, uint16_t seq, const uint8_t *ifp, size_t len)
{
    if (i >= got.n || i >= MAX_GOT || got.seq[i] != seq || got.len[i] != len || len > GOT_DATA ||
        memcmp(got.data[i], ifp, len)) {
        fprintf(stderr, "%s:%d: delivery %d: want seq %u len %zu, got %s seq %u len %zu\n",
                __FILE__, line, i, seq, len, i < got.n ? "" : "(none)", i < got.n ? got.seq[i] : 0,
                i < got.n ? got.len[i] : 0);
        check_failures++;
    }
}
#define CHECK_GOT(i, seq, ...)                                                                     \
    check_got(__LINE__, i, seq, BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))

static void
check_bytes(int line, const uint8_t *buf, int len, const uint8_t *want, size_t want_len)
{
    int i;

    if (len != (int)want_len || memcmp(buf, want, want_len)) {
        fprintf(stderr, "%s:%d: built %d octets:", __FILE__, line, len);
        for (i = 0; i < len; i++)
            fprintf(stderr, " %02X", buf[i]);
        fprintf(stderr, "\n    want %zu octets:", want_len);
        for (i = 0; i < (int)want_len; i++)
            fprintf(stderr, " %02X", want[i]);
        fprintf(stderr, "\n");
        check_failures++;
    }
}
#define CHECK_BYTES(buf, len, ...)                                                                 \
    check_bytes(__LINE__, buf, len, BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))

static void
init_rx(void)
{
    CHECK_INT(fx38_udptl_init(&rx, NULL), 0);
    got_reset();
}

static struct fx38_udptl_config
cfg_redundancy(int control, int image)
{
    return (struct fx38_udptl_config){
        .ec = FX38_UDPTL_EC_REDUNDANCY, .redundancy_control = control, .redundancy_image = image};
}

static struct fx38_udptl_config
cfg_fec(int span, int entries)
{
    return (struct fx38_udptl_config){
        .ec = FX38_UDPTL_EC_FEC, .fec_span = span, .fec_entries = entries};
}

/* ---- decoding hand-built packets ---- */

static void
test_rx_primary_only(void)
{
    init_rx();
    /* seq 0, primary {cng}, secondary-ifp-packets with 0 entries */
    CHECK_INT(FEED(&rx, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00), 1);
    CHECK_INT(got.n, 1);
    CHECK_GOT(0, 0, 0x02);
    CHECK_INT(rx.stats.packets, 1);
    CHECK_INT(rx.stats.lost, 0);
}

static void
test_rx_redundancy(void)
{
    init_rx();
    /* seq 7: the first packet; 0..6 are not there, which is not loss (a peer may start
     * anywhere) */
    CHECK_INT(FEED(&rx, 0x00, 0x07, 0x01, 0x02, 0x00, 0x00), 1);
    CHECK_INT(rx.stats.lost, 0);
    /* seq 10: primary t30-data v21 with one hdlc-data field of 2 octets (FF 13);
     * secondaries: 2 of them, seq 9 {v21-preamble} then seq 8 {cng} */
    CHECK_INT(FEED(&rx, 0x00, 0x0A, 0x07, 0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13, 0x00, 0x02,
                   0x01, 0x06, 0x01, 0x02),
              3);
    CHECK_INT(got.n, 4);
    CHECK_GOT(0, 7, 0x02);
    CHECK_GOT(1, 8, 0x02);
    CHECK_GOT(2, 9, 0x06);
    CHECK_GOT(3, 10, 0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13);
    CHECK_INT(rx.stats.recovered_redundancy, 2);
    CHECK_INT(rx.stats.lost, 0);
    /* the peer's copies (count = 3) and the late primary 9 are duplicates */
    CHECK_INT(FEED(&rx, 0x00, 0x0A, 0x07, 0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13, 0x00, 0x02,
                   0x01, 0x06, 0x01, 0x02),
              0);
    CHECK_INT(FEED(&rx, 0x00, 0x09, 0x01, 0x06, 0x00, 0x01, 0x01, 0x02), 0);
    CHECK_INT(rx.stats.duplicates, 2);
    CHECK_INT(rx.stats.late, 0);
    CHECK_INT(got.n, 4);
    /* a zero-length secondary (some senders emit them) is no IFP: 11 is lost */
    CHECK_INT(FEED(&rx, 0x00, 0x0C, 0x01, 0x04, 0x00, 0x01, 0x00), 1);
    CHECK_GOT(4, 12, 0x04);
    CHECK_INT(rx.stats.lost, 1);
    CHECK_INT(rx.stats.packets, 5);
}

/* FEC with span 2 and 2 entries: entry 0 of packet 10 covers 8 and 6, entry 1 covers 9 and 7.
 * IFP6 {v21-preamble}, IFP7 {v21 hdlc-data 13}, IFP8 {cng}, IFP9 {v27-2400-training},
 * IFP10 {v27-4800-training}. */
#define FEC_PACKET_10                                                                              \
    0x00, 0x0A, 0x01, 0x0A, 0x80, 0x01, 0x02, 0x02, 0x01, 0x02 ^ 0x06, 0x06, 0x08 ^ 0xC0, 0x01,    \
        0x80, 0x00, 0x00, 0x13

static void
test_rx_fec(void)
{
    /* one loss: 9 = entry 1 ^ IFP7; the parity is 6 octets, IFP9 is 1: the zero padding is
     * cut by walking the IFP */
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x06, 0x01, 0x06, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(
        FEED(&rx, 0x00, 0x07, 0x06, 0xC0, 0x01, 0x80, 0x00, 0x00, 0x13, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0x00, 0x08, 0x01, 0x02, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, FEC_PACKET_10), 2);
    CHECK_INT(got.n, 5);
    CHECK_GOT(3, 9, 0x08);
    CHECK_GOT(4, 10, 0x0A);
    CHECK_INT(rx.stats.recovered_fec, 1);
    CHECK_INT(rx.stats.lost, 0);

    /* a burst of 2 = entries: 8 from entry 0 (with 6), 9 from entry 1 (with 7) */
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x06, 0x01, 0x06, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(
        FEED(&rx, 0x00, 0x07, 0x06, 0xC0, 0x01, 0x80, 0x00, 0x00, 0x13, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, FEC_PACKET_10), 3);
    CHECK_GOT(2, 8, 0x02);
    CHECK_GOT(3, 9, 0x08);
    CHECK_GOT(4, 10, 0x0A);
    CHECK_INT(rx.stats.recovered_fec, 2);

    /* 7, 8, 9 lost: 8 comes back (6 is known), 7 and 9 share entry 1 and stay lost */
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x06, 0x01, 0x06, 0x80, 0x01, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, FEC_PACKET_10), 2);
    CHECK_GOT(1, 8, 0x02);
    CHECK_GOT(2, 10, 0x0A);
    CHECK_INT(rx.stats.recovered_fec, 1);
    CHECK_INT(rx.stats.lost, 2);
}

/* A late IFP is kept: it completes a parity group for a later loss. */
static void
test_rx_fec_late_member(void)
{
    struct fx38_udptl_config c = cfg_fec(3, 1);
    uint8_t pkts[5][32];
    int len[5], i;

    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    for (i = 0; i < 5; i++)
        len[i] = fx38_udptl_build(&tx, BYTES((uint8_t)(2 * i + 2)), 1, FX38_IFP_CONTROL, pkts[i],
                                  sizeof(pkts[i]));
    init_rx();
    CHECK_INT(feed(&rx, pkts[0], (size_t)len[0]), 1);
    CHECK_INT(feed(&rx, pkts[2], (size_t)len[2]), 1); /* 1 missing, no parity yet: lost */
    CHECK_INT(feed(&rx, pkts[1], (size_t)len[1]), 0); /* late */
    CHECK_INT(feed(&rx, pkts[4], (size_t)len[4]), 2); /* 3 = parity(3, 2, 1) ^ 2 ^ 1 */
    CHECK_GOT(2, 3, 0x08);
    CHECK_GOT(3, 4, 0x0A);
    CHECK_INT(rx.stats.late, 1);
    CHECK_INT(rx.stats.lost, 1);
    CHECK_INT(rx.stats.recovered_fec, 1);
}

/* A parity entry shorter than an IFP it claims to cover is not trusted. */
static void
test_rx_fec_inconsistent(void)
{
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x06, 0xC0, 0x01, 0x80, 0x00, 0x00, 0x13, 0x00, 0x00), 1);
    /* seq 3, FEC span 2, 1 entry over 2 and 1, but of 1 octet */
    CHECK_INT(FEED(&rx, 0x00, 0x03, 0x01, 0x02, 0x80, 0x01, 0x02, 0x01, 0x01, 0x04), 1);
    CHECK_INT(rx.stats.recovered_fec, 0);
    CHECK_INT(rx.stats.lost, 1);
    CHECK_GOT(1, 3, 0x02);
}

/* A slot left behind by a number that is lost every time round must not pass for that number
 * 65536 packets later: the peer drops every seq = 5 (mod 32) for a whole lap. */
static void
test_rx_stale_slot(void)
{
    uint8_t pkt[6] = {0, 0, 0x01, 0x02, 0x00, 0x00};
    uint32_t i;

    init_rx();
    for (i = 0; i <= 65536 + 4; i++) {
        if (i % 32 == 5 && i != 5)
            continue;
        pkt[0] = (uint8_t)(i >> 8);
        pkt[1] = (uint8_t)i;
        CHECK(feed(&rx, pkt, sizeof(pkt)) >= 1);
    }
    /* 5 and 6 lost; 7 carries FEC span 2 over 6 and 5: 5 is unknown, nothing to rebuild */
    got_reset();
    CHECK_INT(FEED(&rx, 0x00, 0x07, 0x01, 0x02, 0x80, 0x01, 0x02, 0x01, 0x01, 0x04), 1);
    CHECK_INT(rx.stats.recovered_fec, 0);
    CHECK_INT(got.seq[0], 7);
}

/* The same through forward jumps, which skip numbers without passing them one by one: the
 * peer sends 5, then 6, 38, 70, … (jumps of 32) for a lap, so slot 5 is never written again. */
static void
test_rx_stale_after_jumps(void)
{
    uint8_t pkt[6] = {0, 0, 0x01, 0x02, 0x00, 0x00};
    uint32_t i;

    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x05, 0x01, 0x0E, 0x00, 0x00), 1);
    for (i = 6; i <= 65536 + 6; i += 32) {
        pkt[0] = (uint8_t)(i >> 8);
        pkt[1] = (uint8_t)i;
        CHECK_INT(feed(&rx, pkt, sizeof(pkt)), 1);
    }
    /* 7 lost; 8 carries FEC span 3 over 7, 6, 5: 5 was never received in this lap */
    got_reset();
    CHECK_INT(FEED(&rx, 0x00, 0x08, 0x01, 0x02, 0x80, 0x01, 0x03, 0x01, 0x01, 0x04), 1);
    CHECK_INT(rx.stats.recovered_fec, 0);
    CHECK_INT(got.seq[0], 8);
}

/* The rebuilt IFP's length for both T.38 field encodings, and an all-zero IFP. */
static void
test_rx_fec_lengths(void)
{
    /* IFP1: 16 octets, v21 hdlc-data of 11 octets (post-corrigendum header 0x80) */
    static const uint8_t ifp1[16] = {0xC0, 0x01, 0x80, 0x00, 0x0A, 1, 2,  3,
                                     4,    5,    6,    7,    8,    9, 10, 11};
    /* IFP2, T.38 version 0: t4-non-ecm-data (header 1110 0000) with 2 octets, then
     * t4-non-ecm-sig-end without data in half an octet (0111), padded: 8 octets */
    static const uint8_t v0[8] = {0xD0, 0x02, 0xE0, 0x00, 0x01, 0xAA, 0xBB, 0x70};
    /* the other way round: t4-non-ecm-sig-end without data (0111), then t4-non-ecm-data with
     * data in the low half (1110) */
    static const uint8_t v0_low[7] = {0xD0, 0x02, 0x7E, 0x00, 0x01, 0xAA, 0xBB};
    static const uint8_t no_signal[1] = {0x00};
    const uint8_t *lost[3] = {v0, v0_low, no_signal};
    size_t lost_len[3] = {sizeof(v0), sizeof(v0_low), sizeof(no_signal)};
    uint8_t pkt[64], *w;
    size_t i;
    int t;

    for (t = 0; t < 3; t++) {
        init_rx();
        /* seq 1, primary IFP1, no secondaries */
        w = pkt;
        *w++ = 0x00;
        *w++ = 0x01;
        *w++ = sizeof(ifp1);
        memcpy(w, ifp1, sizeof(ifp1));
        w += sizeof(ifp1);
        *w++ = 0x00;
        *w++ = 0x00;
        CHECK_INT(feed(&rx, pkt, (size_t)(w - pkt)), 1);
        /* seq 3 {cng}, FEC span 2, 1 entry covering 2 and 1: IFP2 ^ IFP1 (16 octets) */
        w = pkt;
        *w++ = 0x00;
        *w++ = 0x03;
        *w++ = 0x01;
        *w++ = 0x02;
        *w++ = 0x80;
        *w++ = 0x01;
        *w++ = 0x02;
        *w++ = 0x01;
        *w++ = sizeof(ifp1);
        for (i = 0; i < sizeof(ifp1); i++)
            *w++ = ifp1[i] ^ (i < lost_len[t] ? lost[t][i] : 0);
        CHECK_INT(feed(&rx, pkt, (size_t)(w - pkt)), 2);
        CHECK_INT(got.n, 3);
        CHECK_INT(got.seq[1], 2);
        CHECK_INT(got.len[1], lost_len[t]);
        CHECK(memcmp(got.data[1], lost[t], lost_len[t]) == 0);
    }
}

static void
test_rx_two_octet_length(void)
{
    uint8_t pkt[400], *w = pkt;
    size_t i;

    init_rx();
    /* seq 1, primary of 130 octets: length 10000000 10000010; 1 secondary (seq 0) of 200
     * octets: 10000000 11001000 */
    *w++ = 0x00;
    *w++ = 0x01;
    *w++ = 0x80;
    *w++ = 0x82;
    for (i = 0; i < 130; i++)
        *w++ = (uint8_t)i;
    *w++ = 0x00;
    *w++ = 0x01;
    *w++ = 0x80;
    *w++ = 0xC8;
    for (i = 0; i < 200; i++)
        *w++ = (uint8_t)(255 - i);
    CHECK_INT(feed(&rx, pkt, (size_t)(w - pkt)), 2);
    CHECK_INT(got.n, 2);
    CHECK_INT(got.seq[0], 0);
    CHECK_INT(got.len[0], 200);
    CHECK_INT(got.data[0][199], 56);
    CHECK_INT(got.seq[1], 1);
    CHECK_INT(got.len[1], 130);
    CHECK_INT(got.data[1][129], 129);
    /* a one-octet count in the two-octet form (non-minimal) is still accepted */
    CHECK_INT(FEED(&rx, 0x00, 0x02, 0x01, 0x02, 0x00, 0x80, 0x00), 1);
}

static void
test_rx_wrap(void)
{
    init_rx();
    CHECK_INT(FEED(&rx, 0xFF, 0xFE, 0x01, 0x02, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0xFF, 0xFF, 0x01, 0x04, 0x00, 0x01, 0x01, 0x02), 1);
    /* 0 is lost; 1 carries it: 65535 -> 0 -> 1 */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x08, 0x00, 0x02, 0x01, 0x06, 0x01, 0x04), 2);
    CHECK_INT(got.n, 4);
    CHECK_GOT(0, 65534, 0x02);
    CHECK_GOT(1, 65535, 0x04);
    CHECK_GOT(2, 0, 0x06);
    CHECK_GOT(3, 1, 0x08);
    /* 65535 again, now two behind across the wrap: a duplicate, not a jump */
    CHECK_INT(FEED(&rx, 0xFF, 0xFF, 0x01, 0x04, 0x00, 0x00), 0);
    CHECK_INT(rx.stats.duplicates, 1);
    CHECK_INT(rx.stats.lost, 0);
    CHECK_INT(rx.stats.resyncs, 0);
}

static void
test_rx_reorder(void)
{
    /* no redundancy: 0 1 3 2 4 -> 2 is lost when 3 arrives, late when it comes */
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0x00, 0x03, 0x01, 0x06, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0x00, 0x02, 0x01, 0x04, 0x00, 0x00), 0);
    CHECK_INT(FEED(&rx, 0x00, 0x04, 0x01, 0x08, 0x00, 0x00), 1);
    CHECK_INT(got.n, 4);
    CHECK_GOT(2, 3, 0x06);
    CHECK_GOT(3, 4, 0x08);
    CHECK_INT(rx.stats.lost, 1);
    CHECK_INT(rx.stats.late, 1);
    CHECK_INT(rx.stats.duplicates, 0);

    /* with one secondary: 3 brings 2 along; the real 2 is then a duplicate */
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00), 1);
    CHECK_INT(FEED(&rx, 0x00, 0x03, 0x01, 0x06, 0x00, 0x01, 0x01, 0x04), 2);
    CHECK_INT(FEED(&rx, 0x00, 0x02, 0x01, 0x04, 0x00, 0x01, 0x01, 0x02), 0);
    CHECK_INT(got.n, 3);
    CHECK_GOT(1, 2, 0x04);
    CHECK_GOT(2, 3, 0x06);
    CHECK_INT(rx.stats.duplicates, 1);
    CHECK_INT(rx.stats.late, 0);
    CHECK_INT(rx.stats.recovered_redundancy, 1);
}

static void
test_rx_jumps(void)
{
    init_rx();
    CHECK_INT(FEED(&rx, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00), 1);
    /* 18 ahead: 17 missing > FX38_UDPTL_MAX_GAP; the secondary for 17 is not used */
    CHECK_INT(FEED(&rx, 0x00, 0x12, 0x01, 0x04, 0x00, 0x01, 0x01, 0x06), 1);
    CHECK_GOT(1, 18, 0x04);
    CHECK_INT(rx.stats.lost, 17);
    CHECK_INT(rx.stats.recovered_redundancy, 0);
    CHECK_INT(rx.stats.resyncs, 0);
    /* 17 ahead: 16 missing is still recovered where possible */
    CHECK_INT(FEED(&rx, 0x00, 0x23, 0x01, 0x08, 0x00, 0x01, 0x01, 0x06), 2);
    CHECK_GOT(2, 34, 0x06);
    CHECK_GOT(3, 35, 0x08);
    CHECK_INT(rx.stats.lost, 17 + 15);
    /* 10000 ahead: a restart, not loss */
    CHECK_INT(FEED(&rx, 0x27, 0x33, 0x01, 0x0A, 0x00, 0x00), 1);
    CHECK_INT(rx.stats.resyncs, 1);
    CHECK_INT(rx.stats.lost, 17 + 15);
    /* back to 5: 10000 behind is a restart too, delivered */
    CHECK_INT(FEED(&rx, 0x00, 0x05, 0x01, 0x0C, 0x00, 0x00), 1);
    CHECK_GOT(5, 5, 0x0C);
    CHECK_INT(rx.stats.resyncs, 2);
    /* 1999 behind: late */
    CHECK_INT(FEED(&rx, 0xF8, 0x36, 0x01, 0x0C, 0x00, 0x00), 0);
    CHECK_INT(rx.stats.late, 1);
    CHECK_INT(got.n, 6);
}

static void
test_rx_malformed(void)
{
    static const uint8_t good[] = {0x00, 0x0A, 0x07, 0xC0, 0x01, 0x80, 0x00, 0x01,
                                   0xFF, 0x13, 0x00, 0x02, 0x01, 0x06, 0x01, 0x02};
    static const uint8_t good_fec[] = {FEC_PACKET_10};
    uint8_t big[2100];
    size_t i, bad = 0;

    init_rx();
    /* every proper prefix is truncated somewhere */
    for (i = 0; i < sizeof(good); i++, bad++)
        CHECK_INT(feed(&rx, good, i), -EINVAL);
    for (i = 0; i < sizeof(good_fec); i++, bad++)
        CHECK_INT(feed(&rx, good_fec, i), -EINVAL);
    CHECK_INT(feed(&rx, NULL, 0), -EINVAL);
    bad++;
    /* one octet too many */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00), -EINVAL);
    /* empty primary */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x00, 0x00, 0x00), -EINVAL);
    /* fragmented length determinant (11xxxxxx) for the primary, the count, a secondary */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0xC1, 0x02, 0x00, 0x00), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0xC0, 0x01, 0x02, 0x00, 0x00), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0xC4), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0x01, 0xC1, 0x02), -EINVAL);
    /* 16383 octets announced, 2 there */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0xBF, 0xFF, 0x02, 0x00, 0x00), -EINVAL);
    /* 16383 secondaries announced, 1 there */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x00, 0xBF, 0xFF, 0x01, 0x02), -EINVAL);
    /* 127 FEC entries announced, 1 there */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03, 0x7F, 0x01, 0x02), -EINVAL);
    /* fec-npackets: no octets, negative, 5 octets, truncated */
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x80, 0x00, 0x00), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0xFF, 0x00), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x80, 0x05, 0, 0, 0, 0, 3, 0x00), -EINVAL);
    CHECK_INT(FEED(&rx, 0x00, 0x01, 0x01, 0x02, 0x80, 0x02, 0x01), -EINVAL);
    bad += 13;
    /* a well-formed 2000-octet primary: more than we hold */
    memset(big, 0x02, sizeof(big));
    big[0] = 0;
    big[1] = 1;
    big[2] = 0x80 | 2000 >> 8;
    big[3] = 2000 & 0xff;
    big[2004] = 0;
    big[2005] = 0;
    CHECK_INT(feed(&rx, big, 2006), -EMSGSIZE);
    /* and as a secondary */
    big[2] = 0x01;
    big[3] = 0x02;
    big[4] = 0x00;
    big[5] = 0x01;
    big[6] = 0x80 | 2000 >> 8;
    big[7] = 2000 & 0xff;
    CHECK_INT(feed(&rx, big, 2008), -EMSGSIZE);
    bad += 2;

    CHECK_INT(got.n, 0);
    CHECK_INT(rx.stats.malformed, bad);
    CHECK_INT(rx.stats.packets, 0);
    CHECK(!rx.has_rx);
    /* and the state is untouched: the good packet still decodes */
    CHECK_INT(feed(&rx, good, sizeof(good)), 3);
    CHECK_GOT(2, 10, 0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13);
}

/* Random octets (mostly garbage, some mutated good packets): never a crash, never a read out
 * of bounds (run under ASan), only well-formed IFPs delivered. */
static void
test_rx_garbage(void)
{
    static const uint8_t good[] = {0x00, 0x0A, 0x07, 0xC0, 0x01, 0x80, 0x00, 0x01,
                                   0xFF, 0x13, 0x00, 0x02, 0x01, 0x06, 0x01, 0x02};
    uint8_t *pkt;
    size_t len, i;
    int round, rc;

    srand(38);
    init_rx();
    for (round = 0; round < 20000; round++) {
        len = (size_t)(rand() % 64);
        if (round % 2) {
            len = sizeof(good);
            pkt = malloc(len);
            memcpy(pkt, good, len);
            pkt[rand() % len] = (uint8_t)rand();
            if (rand() % 4 == 0)
                len = (size_t)(rand() % (int)len);
        } else {
            /* exact-size heap buffer, so ASan sees any overread */
            pkt = malloc(len ? len : 1);
            for (i = 0; i < len; i++)
                pkt[i] = (uint8_t)rand();
        }
        got_reset();
        rc = feed(&rx, pkt, len);
        CHECK(rc == -EINVAL || rc == -EMSGSIZE || (rc >= 0 && rc == got.n));
        free(pkt);
    }
    CHECK(rx.stats.malformed > 0);
    CHECK(rx.stats.packets > 0);
}

/* ---- encoder against hand-built bytes ---- */

static void
test_tx_redundancy(void)
{
    static const uint8_t v21[] = {0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13};
    struct fx38_udptl_config c = cfg_redundancy(2, 1);
    uint8_t buf[FX38_UDPTL_MAX_DATAGRAM];
    uint8_t img[60], big[128];
    int n;

    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    n = fx38_udptl_build(&tx, BYTES(0x02), 1, FX38_IFP_CONTROL, buf, sizeof(buf));
    CHECK_BYTES(buf, n, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00);
    n = fx38_udptl_build(&tx, BYTES(0x06), 1, FX38_IFP_CONTROL, buf, sizeof(buf));
    CHECK_BYTES(buf, n, 0x00, 0x01, 0x01, 0x06, 0x00, 0x01, 0x01, 0x02);
    n = fx38_udptl_build(&tx, v21, sizeof(v21), FX38_IFP_CONTROL, buf, sizeof(buf));
    CHECK_BYTES(buf, n, 0x00, 0x02, 0x07, 0xC0, 0x01, 0x80, 0x00, 0x01, 0xFF, 0x13, 0x00, 0x02,
                0x01, 0x06, 0x01, 0x02);
    /* image data takes the image depth (1) */
    memset(img, 0x55, sizeof(img));
    img[0] = 0xD0; /* t30-data v17-14400 */
    CHECK(fx38_ifp_is_image_data(img, sizeof(img)));
    n = fx38_udptl_build(&tx, img, sizeof(img), FX38_IFP_IMAGE, buf, sizeof(buf));
    CHECK_INT(n, 2 + 1 + 60 + 1 + 1 + 1 + 7);
    CHECK_INT(buf[2 + 1 + 60 + 1], 1);
    CHECK_INT(buf[2 + 1 + 60 + 2], 7);
    CHECK(memcmp(buf + 2 + 1 + 60 + 3, v21, sizeof(v21)) == 0);
    /* the length determinant switches to two octets at 128 */
    CHECK_INT(fx38_udptl_build(&tx, img, 1, FX38_IFP_IMAGE, buf, sizeof(buf)), 2 + 2 + 1 + 1 + 61);
    memset(big, 0x11, sizeof(big));
    big[0] = 0xD0;
    c.redundancy_image = 2;
    CHECK_INT(fx38_udptl_set_config(&tx, &c), 0);
    n = fx38_udptl_build(&tx, big, 127, FX38_IFP_IMAGE, buf, sizeof(buf));
    CHECK_INT(n, 2 + 1 + 127 + 1 + 1 + (1 + 1) + (1 + 60));
    CHECK_INT(buf[2], 0x7F);
    n = fx38_udptl_build(&tx, big, 128, FX38_IFP_IMAGE, buf, sizeof(buf));
    CHECK_INT(n, 2 + 2 + 128 + 1 + 1 + 1 + 127 + 2);
    CHECK_INT(buf[2], 0x80);
    CHECK_INT(buf[3], 0x80);
    CHECK_INT(buf[134], 0x7F);           /* secondary 127 */
    CHECK_INT(buf[134 + 1 + 127], 0x01); /* secondary {0xD0} */
    c.redundancy_image = 1;
    CHECK_INT(fx38_udptl_set_config(&tx, &c), 0);
    /* no EC: an empty secondary list */
    c.ec = FX38_UDPTL_EC_NONE;
    CHECK_INT(fx38_udptl_set_config(&tx, &c), 0);
    n = fx38_udptl_build(&tx, BYTES(0x00), 1, FX38_IFP_CONTROL, buf, sizeof(buf));
    CHECK_BYTES(buf, n, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00);
    CHECK_INT(tx.stats.tx_packets, 8);
    CHECK_INT(tx.stats.tx_trimmed, 0);
}

static void
test_tx_fec(void)
{
    struct fx38_udptl_config c = cfg_fec(2, 2);
    uint8_t pkts[5][64];
    int len[5], n;

    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    /* wind-up: no history -> span 0, no entries */
    n = len[0] = fx38_udptl_build(&tx, BYTES(0x02), 1, FX38_IFP_CONTROL, pkts[0], 64);
    CHECK_BYTES(pkts[0], n, 0x00, 0x00, 0x01, 0x02, 0x80, 0x01, 0x00, 0x00);
    n = len[1] = fx38_udptl_build(&tx, BYTES(0x04), 1, FX38_IFP_CONTROL, pkts[1], 64);
    CHECK_BYTES(pkts[1], n, 0x00, 0x01, 0x01, 0x04, 0x80, 0x01, 0x00, 0x00);
    /* 2 behind: 1 entry of span 2 over 1 and 0 */
    n = len[2] = fx38_udptl_build(&tx, BYTES(0x06), 1, FX38_IFP_CONTROL, pkts[2], 64);
    CHECK_BYTES(pkts[2], n, 0x00, 0x02, 0x01, 0x06, 0x80, 0x01, 0x02, 0x01, 0x01, 0x04 ^ 0x02);
    n = len[3] = fx38_udptl_build(&tx, BYTES(0xC0, 0x01, 0x80, 0x00, 0x00, 0x13), 6,
                                  FX38_IFP_CONTROL, pkts[3], 64);
    CHECK_BYTES(pkts[3], n, 0x00, 0x03, 0x06, 0xC0, 0x01, 0x80, 0x00, 0x00, 0x13, 0x80, 0x01, 0x02,
                0x01, 0x01, 0x06 ^ 0x04);
    /* steady state: entry 0 = IFP2 ^ IFP0, entry 1 = IFP3 ^ IFP1 (padded to 6) */
    n = len[4] = fx38_udptl_build(&tx, BYTES(0x08), 1, FX38_IFP_CONTROL, pkts[4], 64);
    CHECK_BYTES(pkts[4], n, 0x00, 0x04, 0x01, 0x08, 0x80, 0x01, 0x02, 0x02, 0x01, 0x06 ^ 0x02, 0x06,
                0xC0 ^ 0x04, 0x01, 0x80, 0x00, 0x00, 0x13);

    /* and the decoder rebuilds 3 from packet 4 */
    init_rx();
    CHECK_INT(feed(&rx, pkts[0], (size_t)len[0]), 1);
    CHECK_INT(feed(&rx, pkts[1], (size_t)len[1]), 1);
    CHECK_INT(feed(&rx, pkts[2], (size_t)len[2]), 1);
    CHECK_INT(feed(&rx, pkts[4], (size_t)len[4]), 2);
    CHECK_GOT(3, 3, 0xC0, 0x01, 0x80, 0x00, 0x00, 0x13);
    CHECK_GOT(4, 4, 0x08);
    CHECK_INT(rx.stats.recovered_fec, 1);
}

static void
test_tx_wrap(void)
{
    struct fx38_udptl_config c = cfg_redundancy(1, 1);
    uint8_t buf[4][16];
    int len[4], i;

    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    tx.tx_seq = 65534;
    for (i = 0; i < 4; i++)
        len[i] = fx38_udptl_build(&tx, BYTES((uint8_t)(2 * i)), 1, FX38_IFP_CONTROL, buf[i], 16);
    CHECK_BYTES(buf[0], len[0], 0xFF, 0xFE, 0x01, 0x00, 0x00, 0x00);
    CHECK_BYTES(buf[1], len[1], 0xFF, 0xFF, 0x01, 0x02, 0x00, 0x01, 0x01, 0x00);
    CHECK_BYTES(buf[2], len[2], 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x01, 0x02);
    CHECK_BYTES(buf[3], len[3], 0x00, 0x01, 0x01, 0x06, 0x00, 0x01, 0x01, 0x04);
    init_rx();
    CHECK_INT(feed(&rx, buf[0], (size_t)len[0]), 1);
    CHECK_INT(feed(&rx, buf[1], (size_t)len[1]), 1);
    CHECK_INT(feed(&rx, buf[3], (size_t)len[3]), 2);
    CHECK_GOT(2, 0, 0x04);
    CHECK_GOT(3, 1, 0x06);

    /* a whole lap later the history is still full: 3 secondaries */
    c = cfg_redundancy(3, 3);
    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    for (i = 0; i < 65536; i++)
        CHECK(fx38_udptl_build(&tx, BYTES(0x02), 1, FX38_IFP_CONTROL, buf[0], 16) > 0);
    len[0] = fx38_udptl_build(&tx, BYTES(0x04), 1, FX38_IFP_CONTROL, buf[0], 16);
    CHECK_BYTES(buf[0], len[0], 0x00, 0x00, 0x01, 0x04, 0x00, 0x03, 0x01, 0x02, 0x01, 0x02, 0x01,
                0x02);
}

static void
test_tx_max_datagram(void)
{
    struct fx38_udptl_config c = cfg_redundancy(3, 3);
    uint8_t buf[FX38_UDPTL_MAX_DATAGRAM], img[155];
    int n, i;

    CHECK_INT(fx38_udptl_clamp_datagram(0), FX38_UDPTL_DEFAULT_DATAGRAM);
    CHECK_INT(fx38_udptl_clamp_datagram(-5), FX38_UDPTL_DEFAULT_DATAGRAM);
    CHECK_INT(fx38_udptl_clamp_datagram(72), 160);
    CHECK_INT(fx38_udptl_clamp_datagram(160), 160);
    CHECK_INT(fx38_udptl_clamp_datagram(316), 316);
    CHECK_INT(fx38_udptl_clamp_datagram(1500), 1452);
    CHECK_INT(fx38_udptl_clamp_datagram(65535), 1452);

    c.far_max_datagram = 100; /* read as 160 */
    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    CHECK_INT(tx.max_datagram, 160);
    CHECK_INT(fx38_udptl_get_max_ifp(&tx), 154);
    memset(img, 0x33, sizeof(img));
    img[0] = 0xD0;
    for (i = 0; i < 3; i++)
        CHECK(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf)) > 0);
    /* depth 3 would be 65 + 3 * 61 = 248 octets: the 2 oldest secondaries go */
    n = fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf));
    CHECK_INT(n, 65 + 61);
    CHECK_INT(buf[64], 1);
    CHECK_INT(tx.stats.tx_trimmed, 2); /* the third packet (2 secondaries) did not fit either */
    /* a caller buffer smaller than the datagram limit trims too */
    n = fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, 100);
    CHECK_INT(n, 65);
    /* the primary alone: 154 octets fit exactly (2 + 2 + 154 + 1 + 1), 155 do not */
    CHECK_INT(fx38_udptl_build(&tx, img, 155, FX38_IFP_IMAGE, buf, sizeof(buf)), -EMSGSIZE);
    CHECK_INT(tx.tx_seq, 5); /* nothing consumed */
    CHECK_INT(fx38_udptl_build(&tx, img, 154, FX38_IFP_IMAGE, buf, sizeof(buf)), 160);
    CHECK_INT(buf[1], 5);
    CHECK_INT(buf[159], 0);
    CHECK_INT(fx38_udptl_build(&tx, img, 0, FX38_IFP_IMAGE, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(fx38_udptl_build(&tx, img, FX38_UDPTL_MAX_IFP + 1, FX38_IFP_IMAGE, buf, sizeof(buf)),
              -EINVAL);

    /* the secondary's length octet counts: room for 96 after the 64 of head, and a secondary
     * of 94 takes 1 (count) + 1 + 94 */
    c = cfg_redundancy(1, 1);
    c.far_max_datagram = 160;
    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    CHECK(fx38_udptl_build(&tx, img, 94, FX38_IFP_IMAGE, buf, sizeof(buf)) > 0);
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf)), 160);
    CHECK(fx38_udptl_build(&tx, img, 95, FX38_IFP_IMAGE, buf, sizeof(buf)) > 0);
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf)), 65);

    /* FEC: 2 entries of 61 would make 189 octets; one entry, still of span 2, fits */
    c = cfg_fec(2, 2);
    c.far_max_datagram = 160;
    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    CHECK_INT(fx38_udptl_get_max_ifp(&tx), 152);
    init_rx();
    for (i = 0; i < 6; i++) {
        img[1] = (uint8_t)i;
        n = fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf));
        CHECK(n > 0 && n <= 160);
        if (i == 5) {
            CHECK_INT(n, 64 + 3 + 61);
            CHECK_INT(buf[63], 0x80);
            CHECK_INT(buf[64], 1); /* fec-npackets: one octet */
            CHECK_INT(buf[65], 2); /* span */
            CHECK_INT(buf[66], 1); /* entries */
        }
        if (i != 4) /* lose 4: rebuilt from packet 5's single entry (4 ^ 3) */
            CHECK(feed(&rx, buf, (size_t)n) > 0);
    }
    CHECK_INT(tx.stats.tx_trimmed, 2);
    CHECK_INT(rx.stats.recovered_fec, 1);
    CHECK_INT(got.n, 6);

    /* an entry's length octet counts too: span 1, one entry = the previous IFP; room 96 after
     * the head takes 3 + 1 + 92 */
    c = cfg_fec(1, 1);
    c.far_max_datagram = 160;
    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    CHECK(fx38_udptl_build(&tx, img, 92, FX38_IFP_IMAGE, buf, sizeof(buf)) > 0);
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf)), 160);
    CHECK(fx38_udptl_build(&tx, img, 93, FX38_IFP_IMAGE, buf, sizeof(buf)) > 0);
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, sizeof(buf)), 64 + 3);
    /* and the primary's: 127 octets take 1, so 2 + 1 + 127 + 1 + 3 fit in 134 */
    CHECK_INT(fx38_udptl_build(&tx, img, 127, FX38_IFP_IMAGE, buf, 134), 134);
    /* an empty fec-info still takes 3 octets */
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, 66), -EMSGSIZE);
    CHECK_INT(fx38_udptl_build(&tx, img, 60, FX38_IFP_IMAGE, buf, 67), 67);
    CHECK_INT(got.seq[4], 4);
    CHECK_INT(got.len[4], 60);
    CHECK_INT(got.data[4][1], 4);
}

/* ---- round trips through loss ---- */

/* A well-formed IFP (post-corrigendum fields) of random shape, as spandsp would send. */
static size_t
random_ifp(uint8_t *ifp, unsigned *state)
{
    size_t len = 0, n, f, fields, i;

#define RND() (*state = *state * 1103515245u + 12345u, (*state >> 16) & 0x7fff)
    if (RND() % 3 == 0) {
        ifp[len++] = (uint8_t)((RND() % 16) << 1);
        return len;
    }
    ifp[len++] = (uint8_t)(0xC0 | (RND() % 9) << 1);
    fields = 1 + RND() % 2;
    ifp[len++] = (uint8_t)fields;
    for (f = 0; f < fields; f++) {
        bool has_data = f == 0 || RND() % 2;

        ifp[len++] = (uint8_t)((has_data ? 0x80 : 0) | (RND() % 8) << 3);
        if (!has_data)
            continue;
        n = 1 + RND() % 80;
        ifp[len++] = (uint8_t)((n - 1) >> 8);
        ifp[len++] = (uint8_t)(n - 1);
        for (i = 0; i < n; i++)
            ifp[len++] = (uint8_t)(RND() % 4 ? RND() : 0);
    }
#undef RND
    return len;
}

#define RT_PACKETS 400

static uint8_t rt_ifp[RT_PACKETS][200];
static size_t rt_len[RT_PACKETS];

/* Send RT_PACKETS IFPs through `c`, dropping where drop(i) says, and check that every IFP
 * delivered is the one sent, in ascending order. Returns the number delivered. */
static int
round_trip(struct fx38_udptl_config c, bool (*drop)(int i, void *arg), void *arg)
{
    uint8_t buf[FX38_UDPTL_MAX_DATAGRAM];
    unsigned state = 7;
    int i, j, n, prev = -1;

    CHECK_INT(fx38_udptl_init(&tx, &c), 0);
    init_rx();
    for (i = 0; i < RT_PACKETS; i++) {
        rt_len[i] = random_ifp(rt_ifp[i], &state);
        n = fx38_udptl_build(&tx, rt_ifp[i], rt_len[i],
                             fx38_ifp_is_image_data(rt_ifp[i], rt_len[i]) ? FX38_IFP_IMAGE
                                                                          : FX38_IFP_CONTROL,
                             buf, sizeof(buf));
        CHECK(n > 0);
        if (n > 0 && !drop(i, arg))
            CHECK(feed(&rx, buf, (size_t)n) >= 1);
    }
    for (j = 0; j < got.n && j < MAX_GOT; j++) {
        int seq = got.seq[j];

        CHECK(seq > prev);
        prev = seq;
        if (seq >= RT_PACKETS || got.len[j] != rt_len[seq] || got.len[j] > GOT_DATA ||
            memcmp(got.data[j], rt_ifp[seq], rt_len[seq])) {
            fprintf(stderr, "round trip: IFP %d differs (len %zu, sent %zu)\n", seq, got.len[j],
                    seq < RT_PACKETS ? rt_len[seq] : 0);
            check_failures++;
        }
    }
    return got.n;
}

struct burst {
    int at, len;
};

static bool
drop_burst(int i, void *arg)
{
    const struct burst *b = arg;

    return i >= b->at && i < b->at + b->len;
}

static bool
drop_none(int i, void *arg)
{
    return false;
}

static bool
drop_random(int i, void *arg)
{
    unsigned *state = arg;

    *state = *state * 1103515245u + 12345u;
    return i > 0 && i < RT_PACKETS - 1 && (*state >> 16) % 100 < 15;
}

static void
test_roundtrip(void)
{
    struct burst b;
    unsigned state = 1;
    int len, n;

    /* the redundancy scheme deliver everything without loss; MAX_GOT bounds what we compare */
    CHECK_INT(round_trip(cfg_redundancy(3, 3), drop_none, NULL), RT_PACKETS);
    CHECK_INT(rx.stats.lost + rx.stats.recovered_redundancy, 0);
    CHECK_INT(round_trip(cfg_fec(3, 3), drop_none, NULL), RT_PACKETS);

    /* depth 3: bursts of 1..3 come back from secondaries; 4 loses the oldest */
    for (len = 1; len <= 4; len++) {
        b = (struct burst){.at = 100, .len = len};
        n = round_trip(cfg_redundancy(3, 3), drop_burst, &b);
        CHECK_INT(n, RT_PACKETS - (len > 3));
        CHECK_INT(rx.stats.recovered_redundancy, len > 3 ? 3 : len);
        CHECK_INT(rx.stats.lost, len > 3);
    }
    /* FEC span 3 x 3 entries: bursts up to 3 fall in different entries */
    for (len = 1; len <= 3; len++) {
        b = (struct burst){.at = 100, .len = len};
        n = round_trip(cfg_fec(3, 3), drop_burst, &b);
        CHECK_INT(n, RT_PACKETS);
        CHECK_INT(rx.stats.recovered_fec, len);
        CHECK_INT(rx.stats.lost, 0);
    }
    /* a burst of 4: 101 and 102 come back, 100 and 103 share an entry */
    b = (struct burst){.at = 100, .len = 4};
    CHECK_INT(round_trip(cfg_fec(3, 3), drop_burst, &b), RT_PACKETS - 2);
    CHECK_INT(rx.stats.recovered_fec, 2);
    CHECK_INT(rx.stats.lost, 2);
    /* FEC with one entry: a single loss per 4 packets comes back */
    b = (struct burst){.at = 50, .len = 1};
    CHECK_INT(round_trip(cfg_fec(4, 1), drop_burst, &b), RT_PACKETS);

    /* 15 % random loss: what is delivered is right (checked inside), and every number is
     * accounted for: delivered + lost = sent (the first packet always arrives) */
    n = round_trip(cfg_redundancy(4, 4), drop_random, &state);
    CHECK_INT((uint64_t)n + rx.stats.lost, RT_PACKETS);
    CHECK(rx.stats.recovered_redundancy > 20);
    n = round_trip(cfg_fec(2, 4), drop_random, &state);
    CHECK_INT((uint64_t)n + rx.stats.lost, RT_PACKETS);
    CHECK(rx.stats.recovered_fec > 10);
    /* span 2 x 4 entries, a burst of 5: the two ends share an entry (100 ^ 104) */
    b = (struct burst){.at = 100, .len = 5};
    CHECK_INT(round_trip(cfg_fec(2, 4), drop_burst, &b), RT_PACKETS - 2);
    CHECK_INT(rx.stats.recovered_fec, 3);
    CHECK_INT(rx.stats.lost, 2);
}

/* The delivery callback may transmit on the same state (spandsp answers from inside rx). */
static uint8_t reply_buf[FX38_UDPTL_MAX_DATAGRAM];
static int reply_len;

static void
on_ifp_reply(void *data, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct fx38_udptl *u = data;

    reply_len = fx38_udptl_build(u, BYTES(0x02), 1, FX38_IFP_CONTROL, reply_buf, sizeof(reply_buf));
}

static void
test_reentrant_tx(void)
{
    static const uint8_t pkt[] = {0x00, 0x02, 0x01, 0x06, 0x00, 0x02, 0x01, 0x04, 0x01, 0x02};

    CHECK_INT(fx38_udptl_init(&tx, NULL), 0);
    CHECK_INT(fx38_udptl_rx(&tx, pkt, sizeof(pkt), on_ifp_reply, &tx), 3);
    CHECK_INT(tx.tx_seq, 3);
    CHECK_INT(reply_len, 10);
    CHECK_INT(tx.rx_last, 2);
    CHECK_INT(tx.stats.recovered_redundancy, 2);
}

static void
test_is_image_data(void)
{
    CHECK(!fx38_ifp_is_image_data(NULL, 1));
    CHECK(!fx38_ifp_is_image_data(BYTES(0xD0), 0));
    CHECK(!fx38_ifp_is_image_data(BYTES(0x02), 1));       /* cng */
    CHECK(!fx38_ifp_is_image_data(BYTES(0x1E), 1));       /* v17-14400-long-training */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xC0, 0x01), 2)); /* v21 */
    CHECK(fx38_ifp_is_image_data(BYTES(0xC2, 0x01), 2));  /* v27-2400 */
    CHECK(fx38_ifp_is_image_data(BYTES(0xC8, 0x01), 2));  /* v29-9600 */
    CHECK(fx38_ifp_is_image_data(BYTES(0xD0, 0x01), 2));  /* v17-14400 */
    CHECK(fx38_ifp_is_image_data(BYTES(0x50), 1));        /* v17-14400, no data-field */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xD2, 0x01), 2)); /* 9: not a root value */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xE0, 0x00), 2)); /* v8 */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xE0, 0x40), 2)); /* v34-pri-rate */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xE0, 0x80), 2)); /* v34-CC-1200 */
    CHECK(fx38_ifp_is_image_data(BYTES(0xE0, 0xC0), 2));  /* v34-pri-ch */
    CHECK(fx38_ifp_is_image_data(BYTES(0xE1, 0x00), 2));  /* v33-12000 */
    CHECK(fx38_ifp_is_image_data(BYTES(0xE1, 0x40), 2));  /* v33-14400 */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xE1, 0x80), 2)); /* 6: unknown */
    CHECK(!fx38_ifp_is_image_data(BYTES(0xE1), 1));       /* extension cut short */
    CHECK(!fx38_ifp_is_image_data(BYTES(0x20, 0x40), 2)); /* v8-signal indicator */
}

static void
test_config(void)
{
    struct fx38_udptl_config c = cfg_fec(8, 4); /* 32 IFPs: more than the history */

    CHECK_INT(fx38_udptl_init(&tx, &c), -EINVAL);
    CHECK_INT(tx.cfg.ec, FX38_UDPTL_EC_REDUNDANCY); /* the defaults */
    CHECK_INT(tx.max_datagram, FX38_UDPTL_DEFAULT_DATAGRAM);
    c = cfg_fec(31, 1);
    CHECK_INT(fx38_udptl_set_config(&tx, &c), 0);
    c = cfg_fec(0, 3);
    CHECK_INT(fx38_udptl_set_config(&tx, &c), -EINVAL);
    CHECK_INT(tx.cfg.fec_span, 31); /* unchanged */
    c = cfg_redundancy(FX38_UDPTL_MAX_REDUNDANCY + 1, 1);
    CHECK_INT(fx38_udptl_set_config(&tx, &c), -EINVAL);
    c = cfg_redundancy(1, -1);
    CHECK_INT(fx38_udptl_set_config(&tx, &c), -EINVAL);
    c = cfg_redundancy(1, 1);
    c.ec = (enum fx38_udptl_ec)7;
    CHECK_INT(fx38_udptl_set_config(&tx, &c), -EINVAL);
    c = cfg_redundancy(1, 1);
    c.far_max_datagram = 1400;
    CHECK_INT(fx38_udptl_set_config(&tx, &c), 0);
    CHECK_INT(tx.max_datagram, 1400);
}

int
main(void)
{
    test_rx_primary_only();
    test_rx_redundancy();
    test_rx_fec();
    test_rx_fec_lengths();
    test_rx_fec_late_member();
    test_rx_fec_inconsistent();
    test_rx_stale_slot();
    test_rx_stale_after_jumps();
    test_rx_two_octet_length();
    test_rx_wrap();
    test_rx_reorder();
    test_rx_jumps();
    test_rx_malformed();
    test_rx_garbage();
    test_tx_redundancy();
    test_tx_fec();
    test_tx_wrap();
    test_tx_max_datagram();
    test_roundtrip();
    test_reentrant_tx();
    test_is_image_data();
    test_config();
    return check_finish();
}
