/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the SDES path: sip/sdp.c's a=crypto parser and t38/srtp.c. The input,
 * up to the first 0xff octet, is the value of an a=crypto attribute of an RTP/SAVP offer (it
 * may hold more lines). Every crypto line kept must be a key t38/srtp.c accepts, the answer
 * we write for it must carry exactly one line with our key, and a channel keyed from it must
 * round-trip a packet. What follows the 0xff is a stream of hostile packets (2 octets of
 * length, then the octets) for fx38_srtp_unprotect, which may only return a length or one
 * of its documented codes. Any failed property aborts.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I sip -I t38
 *        sip/sdp.c t38/srtp.c t38/rtp.c tests/fuzz/fuzz_crypto.c -lsrtp2
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rtp.h"
#include "sdp.h"
#include "srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUR_KEY "b3VyIGtleSBvdXIga2V5IG91ciBrZXkgb3VyIGtl"
#define PREFIX                                                                                     \
    "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"              \
    "m=audio 6000 RTP/SAVP 0\r\na=crypto:"

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void
check_unprotect_result(int r, size_t len)
{
    check((r >= 0 && (size_t)r < len) || r == -ENOMSG || r == -EBADMSG || r == -EACCES ||
          r == -EALREADY || r == -EDQUOT);
}

/* A packet protected with `key` by one end must come out of the other end unchanged. */
static void
check_round_trip(enum fx38_srtp_suite suite, const char *key, struct fx38_srtp *rx)
{
    struct fx38_srtp *tx;
    struct fx38_rtp_tx rtp;
    uint8_t payload[160] = {1, 2, 3}, buf[1500], plain[1500];

    check(fx38_srtp_new(suite, key, suite, OUR_KEY, &tx) == 0);
    fx38_rtp_tx_init(&rtp, 0, 0x1234, 7, 0);
    int len = fx38_rtp_build(&rtp, payload, sizeof(payload), buf, sizeof(buf));
    check(len > 0);
    memcpy(plain, buf, (size_t)len);
    int n = fx38_srtp_protect(tx, buf, (size_t)len, sizeof(buf));
    check(n > len);
    check(fx38_srtp_unprotect(rx, buf, (size_t)n) == len);
    check(memcmp(buf, plain, (size_t)len) == 0);
    fx38_srtp_free(tx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ua_sdp_local local = {
        .addr = "192.0.2.10",
        .family = AF_INET,
        .port = 40000,
        .sess_id = 1,
        .sess_version = 2,
        .srtp_key = OUR_KEY,
    };
    const uint8_t *sep = memchr(data, 0xff, size);
    size_t attr_len = sep ? (size_t)(sep - data) : size;
    char body[UA_SDP_MAX_BODY + 1];
    struct ua_sdp sdp, back;
    struct ua_media_desc md;
    struct ua_sdp_prefs prefs = {.pcmu = true, .pcma = true, .srtp = UA_SRTP_REQUIRED};
    struct fx38_srtp *rx = NULL;
    char out[8192];

    if (attr_len > UA_SDP_MAX_BODY - sizeof(PREFIX)) {
        return 0;
    }
    memcpy(body, PREFIX, sizeof(PREFIX) - 1);
    memcpy(body + sizeof(PREFIX) - 1, data, attr_len);
    int r = ua_sdp_parse(body, sizeof(PREFIX) - 1 + attr_len, &sdp);
    check(r == 0 || r == -EINVAL || r == -E2BIG);
    if (r < 0) {
        return 0;
    }
    for (int i = 0; i < sdp.nmedia; i++) {
        const struct ua_sdp_media *m = &sdp.media[i];
        check(m->ncrypto >= 0 && m->ncrypto <= UA_SDP_MAX_CRYPTO);
        for (int c = 0; c < m->ncrypto; c++) {
            /* What sdp.c accepts, srtp.c must accept too. */
            enum fx38_srtp_suite suite = (enum fx38_srtp_suite)m->crypto[c].suite;
            check(fx38_srtp_key_check(suite, m->crypto[c].key) == 0);
            for (int d = 0; d < c; d++) {
                check(m->crypto[d].tag != m->crypto[c].tag);
            }
        }
    }

    r = ua_sdp_negotiate(&sdp, &prefs, &md);
    check(r == 0 || r == -ENOMEDIUM);
    if (r < 0) {
        return 0;
    }
    check(md.kind == UA_MEDIA_AUDIO && md.srtp_suite != UA_SRTP_SUITE_NONE);
    check(md.srtp_suite == sdp.media[md.index].crypto[0].suite);
    r = ua_sdp_write_answer(&sdp, &md, &local, out, sizeof(out));
    check(r > 0);
    check(ua_sdp_parse(out, (size_t)r, &back) == 0);
    check(back.media[md.index].ncrypto == 1);
    check(back.media[md.index].crypto[0].tag == md.srtp_tag);
    check(strcmp(back.media[md.index].crypto[0].key, OUR_KEY) == 0);

    enum fx38_srtp_suite suite = (enum fx38_srtp_suite)md.srtp_suite;
    check(fx38_srtp_new(suite, OUR_KEY, suite, md.srtp_key, &rx) == 0);
    check_round_trip(suite, md.srtp_key, rx);

    /* Hostile packets into the keyed channel. */
    size_t pos = sep ? attr_len + 1 : size;
    while (pos + 2 <= size) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        uint8_t pkt[65536];
        pos += 2;
        if (len > size - pos) {
            len = size - pos;
        }
        memcpy(pkt, data + pos, len);
        pos += len;
        check_unprotect_result(fx38_srtp_unprotect(rx, pkt, len), len);
    }
    fx38_srtp_free(rx);
    return 0;
}
