/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for t38/srtp.c: keys (generation, base64 checks), protect → unprotect round trips
 * for both suites between two channels keyed crosswise, and every way a received packet is
 * refused: tampered, replayed, wrong key or suite, malformed, RTCP, too many SSRCs. */
#include "srtp.h"

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtp.h"

#define PAYLOAD 160

/* A valid key that is not the one in use. */
static const char OTHER_KEY[] = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

/* Two ends of one call: a sends with key_a and receives with key_b, b the reverse. */
struct pair {
    char key_a[FX38_SRTP_KEY_B64_LEN + 1];
    char key_b[FX38_SRTP_KEY_B64_LEN + 1];
    struct fx38_srtp *a, *b;
    struct fx38_rtp_tx tx;
};

static void
pair_init(struct pair *p, enum fx38_srtp_suite suite, uint32_t ssrc)
{
    CHECK_INT(fx38_srtp_key_generate(suite, p->key_a, sizeof(p->key_a)), 0);
    CHECK_INT(fx38_srtp_key_generate(suite, p->key_b, sizeof(p->key_b)), 0);
    CHECK_INT(fx38_srtp_new(suite, p->key_a, suite, p->key_b, &p->a), 0);
    CHECK_INT(fx38_srtp_new(suite, p->key_b, suite, p->key_a, &p->b), 0);
    fx38_rtp_tx_init(&p->tx, FX38_RTP_PT_PCMU, ssrc, 65500, 1000);
}

static void
pair_release(struct pair *p)
{
    fx38_srtp_free(p->a);
    fx38_srtp_free(p->b);
}

/* Build the next RTP packet of p->tx (payload octets = seq & 0xff) into buf; returns its
 * length, the plain copy in plain. */
static size_t
next_packet(struct pair *p, uint8_t *buf, size_t size, uint8_t *plain)
{
    uint8_t payload[PAYLOAD];
    memset(payload, p->tx.seq & 0xff, sizeof(payload));
    int n = fx38_rtp_build(&p->tx, payload, sizeof(payload), buf, size);
    CHECK_INT(n, FX38_RTP_HEADER_LEN + PAYLOAD);
    memcpy(plain, buf, (size_t)n);
    return (size_t)n;
}

static void
test_keys(void)
{
    char k1[FX38_SRTP_KEY_B64_LEN + 1], k2[FX38_SRTP_KEY_B64_LEN + 1];
    char small[FX38_SRTP_KEY_B64_LEN];

    CHECK_INT(fx38_srtp_key_generate(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, k1, sizeof(k1)), 0);
    CHECK_INT(fx38_srtp_key_generate(FX38_SRTP_AES_CM_128_HMAC_SHA1_32, k2, sizeof(k2)), 0);
    CHECK_INT(strlen(k1), FX38_SRTP_KEY_B64_LEN);
    CHECK(strcmp(k1, k2) != 0);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, k1), 0);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_32, k2), 0);
    CHECK_INT(fx38_srtp_key_generate(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, small, sizeof(small)),
              -ENOSPC);
    CHECK_STR(small, "");
    CHECK_INT(fx38_srtp_key_generate(FX38_SRTP_SUITE_NONE, k1, sizeof(k1)), -EINVAL);
    CHECK_INT(fx38_srtp_key_generate((enum fx38_srtp_suite)99, k1, sizeof(k1)), -EINVAL);

    /* Wrong lengths (also the padded 44-character form of 32 octets), bad characters. */
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, OTHER_KEY), 0);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                                  "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV"),
              -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                                  "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzA"),
              -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                                  "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzAAA="),
              -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                                  "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubG=="),
              -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                                  "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVub-_z"),
              -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, ""), -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, NULL), -EINVAL);
    CHECK_INT(fx38_srtp_key_check(FX38_SRTP_SUITE_NONE, OTHER_KEY), -EINVAL);

    CHECK_STR(fx38_srtp_suite_name(FX38_SRTP_AES_CM_128_HMAC_SHA1_80), "AES_CM_128_HMAC_SHA1_80");
    CHECK_STR(fx38_srtp_suite_name(FX38_SRTP_AES_CM_128_HMAC_SHA1_32), "AES_CM_128_HMAC_SHA1_32");
    CHECK_STR(fx38_srtp_suite_name(FX38_SRTP_SUITE_NONE), "none");
}

static void
test_new_refuses_bad_keys(void)
{
    struct fx38_srtp *s = (struct fx38_srtp *)&s;

    CHECK_INT(fx38_srtp_init(), 0);
    CHECK_INT(fx38_srtp_init(), 0);
    CHECK_INT(fx38_srtp_new(FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                            "c2hvcnQ=", FX38_SRTP_AES_CM_128_HMAC_SHA1_80, OTHER_KEY, &s),
              -EINVAL);
    CHECK(s == NULL);
    CHECK_INT(fx38_srtp_new(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, OTHER_KEY,
                            FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                            "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzAAA=", &s),
              -EINVAL);
    CHECK_INT(fx38_srtp_new(FX38_SRTP_SUITE_NONE, OTHER_KEY, FX38_SRTP_AES_CM_128_HMAC_SHA1_80,
                            OTHER_KEY, &s),
              -EINVAL);
    CHECK_INT(fx38_srtp_new(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, OTHER_KEY,
                            FX38_SRTP_AES_CM_128_HMAC_SHA1_80, NULL, &s),
              -EINVAL);
    fx38_srtp_free(NULL);
}

/* Both directions, 300 packets each way (the sequence number wraps at 65535), then the
 * refusals that must leave the stream working. */
static void
round_trip(enum fx38_srtp_suite suite, size_t tag_len)
{
    struct pair p;
    uint8_t buf[1500], plain[1500], copy[1500], first[1500];
    size_t first_len = 0;

    pair_init(&p, suite, 0x11223344);
    for (int i = 0; i < 300; i++) {
        size_t len = next_packet(&p, buf, sizeof(buf), plain);
        int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
        CHECK_INT(n, (int)(len + tag_len));
        /* The header stays clear, the payload does not. */
        CHECK(memcmp(buf, plain, FX38_RTP_HEADER_LEN) == 0);
        CHECK(memcmp(buf + FX38_RTP_HEADER_LEN, plain + FX38_RTP_HEADER_LEN, PAYLOAD) != 0);
        if (i == 0) {
            memcpy(first, buf, (size_t)n);
            first_len = (size_t)n;
        }
        memcpy(copy, buf, (size_t)n);
        int m = fx38_srtp_unprotect(p.b, buf, (size_t)n);
        CHECK_INT(m, (int)len);
        CHECK(memcmp(buf, plain, len) == 0);

        /* The same packet again: a replay. */
        memcpy(buf, copy, (size_t)n);
        CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), -EALREADY);
        /* The a side cannot read what it sent itself (other key). */
        memcpy(buf, copy, (size_t)n);
        CHECK_INT(fx38_srtp_unprotect(p.a, buf, (size_t)n), -EACCES);
    }
    /* Far older than the 128-packet window. */
    CHECK_INT(fx38_srtp_unprotect(p.b, first, first_len), -EALREADY);

    /* A tampered payload, header and tag each fail authentication; the untouched packet
     * still goes through afterwards (a failed packet does not advance the replay window). */
    size_t len = next_packet(&p, buf, sizeof(buf), plain);
    int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
    CHECK_INT(n, (int)(len + tag_len));
    memcpy(copy, buf, (size_t)n);
    size_t offsets[] = {FX38_RTP_HEADER_LEN + 5, 1, 3, (size_t)n - 1};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        memcpy(buf, copy, (size_t)n);
        buf[offsets[i]] ^= 0x01;
        CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), -EACCES);
    }
    /* Tag cut off. */
    memcpy(buf, copy, (size_t)n);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n - 1), -EACCES);
    memcpy(buf, copy, (size_t)n);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), (int)len);
    CHECK(memcmp(buf, plain, len) == 0);

    /* In the other direction, with the same suite. */
    fx38_rtp_tx_init(&p.tx, FX38_RTP_PT_PCMA, 0x55667788, 7, 0);
    len = next_packet(&p, buf, sizeof(buf), plain);
    n = fx38_srtp_protect(p.b, buf, len, sizeof(buf));
    CHECK_INT(fx38_srtp_unprotect(p.a, buf, (size_t)n), (int)len);
    CHECK(memcmp(buf, plain, len) == 0);
    pair_release(&p);
}

static void
test_round_trip(void)
{
    round_trip(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 10);
    round_trip(FX38_SRTP_AES_CM_128_HMAC_SHA1_32, 4);
}

static void
test_wrong_key_or_suite(void)
{
    struct pair p;
    struct fx38_srtp *wrong;
    uint8_t buf[1500], plain[1500], copy[1500];

    pair_init(&p, FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 42);
    size_t len = next_packet(&p, buf, sizeof(buf), plain);
    int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
    CHECK(n > 0);
    memcpy(copy, buf, (size_t)n);

    /* Receiving with a key that is not the sender's. */
    CHECK_INT(fx38_srtp_new(FX38_SRTP_AES_CM_128_HMAC_SHA1_80, p.key_b,
                            FX38_SRTP_AES_CM_128_HMAC_SHA1_80, OTHER_KEY, &wrong),
              0);
    CHECK_INT(fx38_srtp_unprotect(wrong, buf, (size_t)n), -EACCES);
    fx38_srtp_free(wrong);
    /* Right key, but expecting the 32-bit tag. */
    CHECK_INT(fx38_srtp_new(FX38_SRTP_AES_CM_128_HMAC_SHA1_32, p.key_b,
                            FX38_SRTP_AES_CM_128_HMAC_SHA1_32, p.key_a, &wrong),
              0);
    memcpy(buf, copy, (size_t)n);
    CHECK_INT(fx38_srtp_unprotect(wrong, buf, (size_t)n), -EACCES);
    fx38_srtp_free(wrong);
    memcpy(buf, copy, (size_t)n);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), (int)len);
    pair_release(&p);
}

static void
test_protect_errors(void)
{
    struct pair p;
    uint8_t buf[1500], plain[1500];

    pair_init(&p, FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 42);
    size_t len = next_packet(&p, buf, sizeof(buf), plain);
    CHECK_INT(fx38_srtp_protect(p.a, buf, len, len + FX38_SRTP_TRAILER_ROOM - 1), -EMSGSIZE);
    CHECK(memcmp(buf, plain, len) == 0);
    CHECK_INT(fx38_srtp_protect(p.a, buf, 11, sizeof(buf)), -EINVAL);
    buf[0] = 0x40; /* version 1 */
    CHECK_INT(fx38_srtp_protect(p.a, buf, len, sizeof(buf)), -EINVAL);
    memcpy(buf, plain, len);
    CHECK_INT(fx38_srtp_protect(p.a, buf, len, sizeof(buf)), (int)len + 10);
    /* The same sequence number twice under one key would reuse keystream. */
    memcpy(buf, plain, len);
    CHECK_INT(fx38_srtp_protect(p.a, buf, len, sizeof(buf)), -EALREADY);
    pair_release(&p);
}

static void
test_unprotect_malformed(void)
{
    struct pair p;
    uint8_t buf[1500], plain[1500];
    uint8_t rtcp[] = {0x80, 200, 0x00, 0x06, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0,
                      0,    0,   0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    pair_init(&p, FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 42);
    size_t len = next_packet(&p, buf, sizeof(buf), plain);
    int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
    memcpy(plain, buf, (size_t)n);

    CHECK_INT(fx38_srtp_unprotect(p.b, rtcp, sizeof(rtcp)), -ENOMSG);
    rtcp[1] = 204;
    CHECK_INT(fx38_srtp_unprotect(p.b, rtcp, sizeof(rtcp)), -ENOMSG);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 0), -EBADMSG);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 11), -EBADMSG);
    /* Header alone, no room for the tag. */
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 12 + 9), -EBADMSG);
    buf[0] = 0x40;
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), -EBADMSG);
    /* 15 CSRCs: 72 octets of header in a 32-octet packet. */
    memcpy(buf, plain, (size_t)n);
    buf[0] = 0x8f;
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 32), -EBADMSG);
    /* An extension header claiming 65535 words. */
    memcpy(buf, plain, (size_t)n);
    buf[0] = 0x90;
    buf[14] = 0xff;
    buf[15] = 0xff;
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), -EBADMSG);
    /* Extension header cut off before its length. */
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 14), -EBADMSG);
    /* Over the UDP maximum. */
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, 70000), -EBADMSG);
    /* None of that harmed the stream. */
    memcpy(buf, plain, (size_t)n);
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), (int)len);
    pair_release(&p);
}

/* A keyed far end may change SSRC a few times; beyond the cap, new SSRCs are refused, and a
 * forged packet from a new SSRC never takes a slot. */
static void
test_ssrc_cap(void)
{
    struct pair p;
    uint8_t buf[1500], plain[1500];

    pair_init(&p, FX38_SRTP_AES_CM_128_HMAC_SHA1_32, 1);
    for (uint32_t ssrc = 1; ssrc <= FX38_SRTP_MAX_RX_SSRC + 1; ssrc++) {
        fx38_rtp_tx_init(&p.tx, FX38_RTP_PT_PCMU, ssrc, 100, 0);
        size_t len = next_packet(&p, buf, sizeof(buf), plain);
        int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
        CHECK(n > 0);
        if (ssrc == 2) {
            /* Forged: fails, and must not use up a slot. */
            uint8_t forged[1500];
            memcpy(forged, buf, (size_t)n);
            forged[11] = 0x77;
            CHECK_INT(fx38_srtp_unprotect(p.b, forged, (size_t)n), -EACCES);
        }
        CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n),
                  ssrc <= FX38_SRTP_MAX_RX_SSRC ? (int)len : -EDQUOT);
    }
    /* A known SSRC keeps working. */
    fx38_rtp_tx_init(&p.tx, FX38_RTP_PT_PCMU, 3, 101, 160);
    size_t len = next_packet(&p, buf, sizeof(buf), plain);
    int n = fx38_srtp_protect(p.a, buf, len, sizeof(buf));
    CHECK_INT(fx38_srtp_unprotect(p.b, buf, (size_t)n), (int)len);
    pair_release(&p);
}

/* What one channel costs on the heap once both directions have carried traffic, averaged
 * over several channels after a first one (the crypto backend allocates some state once).
 * Printed for capacity planning; the bound catches an order-of-magnitude regression. */
static void
exchange(struct pair *p)
{
    uint8_t buf[1500], plain[1500];

    size_t len = next_packet(p, buf, sizeof(buf), plain);
    int n = fx38_srtp_protect(p->a, buf, len, sizeof(buf));
    CHECK_INT(fx38_srtp_unprotect(p->b, buf, (size_t)n), (int)len);
    len = next_packet(p, buf, sizeof(buf), plain);
    n = fx38_srtp_protect(p->b, buf, len, sizeof(buf));
    CHECK_INT(fx38_srtp_unprotect(p->a, buf, (size_t)n), (int)len);
}

static void
test_memory(void)
{
    enum { CHANNELS = 16 };
    struct pair warm, p[CHANNELS];

    pair_init(&warm, FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 9);
    exchange(&warm);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < CHANNELS; i++) {
        pair_init(&p[i], FX38_SRTP_AES_CM_128_HMAC_SHA1_80, 10 + (uint32_t)i);
        exchange(&p[i]);
    }
    struct mallinfo2 after = mallinfo2();
    /* A pair is two channels (each end of the call). */
    size_t per_channel = (after.uordblks - before.uordblks) / (2 * CHANNELS);
    printf("heap per channel (both directions in use): %zu octets\n", per_channel);
    CHECK(per_channel < 48 * 1024);
    for (int i = 0; i < CHANNELS; i++) {
        pair_release(&p[i]);
    }
    pair_release(&warm);
}

int
main(void)
{
    test_keys();
    test_new_refuses_bad_keys();
    test_round_trip();
    test_wrong_key_or_suite();
    test_protect_errors();
    test_unprotect_malformed();
    test_ssrc_cap();
    test_memory();
    return check_finish();
}
