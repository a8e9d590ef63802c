/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for SDES in sip/sdp.c (RFC 4568 a=crypto): parsing good and hostile crypto
 * lines, negotiation under each SRTP mode, the crypto lines we write in offers and answers,
 * reading answers to our offers, and a whole offer/answer whose keys then drive t38/srtp.c
 * in both directions for both suites. */
#include "sdp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "rtp.h"
#include "srtp.h"

#define KEY1 "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
#define KEY2 "d0RmdmZlZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZm"
#define OUR_KEY "b3VyIGtleSBvdXIga2V5IG91ciBrZXkgb3VyIGtl"

#define HDR                                                                                        \
    "v=0\r\n"                                                                                      \
    "o=- 100 200 IN IP4 198.51.100.1\r\n"                                                          \
    "s=-\r\n"                                                                                      \
    "c=IN IP4 198.51.100.1\r\n"                                                                    \
    "t=0 0\r\n"

#define SAVP "m=audio 6000 RTP/SAVP 0 8\r\n"
#define AVP "m=audio 6002 RTP/AVP 0 8\r\n"
#define IMAGE "m=image 5000 udptl t38\r\n"
#define CRYPTO80 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
#define CRYPTO32 "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n"

static const struct ua_sdp_local LOCAL_NO_KEY = {
    .addr = "192.0.2.10",
    .family = AF_INET,
    .port = 40000,
    .sess_id = 1234,
    .sess_version = 1,
};

static struct ua_sdp_local
local_with_key(const char *key)
{
    struct ua_sdp_local l = LOCAL_NO_KEY;
    l.srtp_key = key;
    return l;
}

static struct ua_sdp_prefs
prefs_with(enum ua_srtp_mode mode)
{
    return (struct ua_sdp_prefs){
        .t38_enabled = true,
        .prefer_t38 = true,
        .pcmu = true,
        .pcma = true,
        .t38 = {.version = 0, .max_bitrate = 14400, .max_buffer = 1800, .max_datagram = 400},
        .srtp = mode,
    };
}

/* Parse through an exactly-sized heap copy, so that ASan sees any read past len. */
static int
parse_str(const char *s, struct ua_sdp *ret_sdp)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    int r;

    if (!copy) {
        abort();
    }
    memcpy(copy, s, len);
    r = ua_sdp_parse(copy, len, ret_sdp);
    free(copy);
    return r;
}

static int
count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, plen) == 0) {
            n++;
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return n;
}

/* Parse HDR SAVP + one "a=crypto:" value and return how many usable lines were kept. */
static int
crypto_kept(const char *value, struct ua_sdp_crypto *ret_first)
{
    char body[4096];
    struct ua_sdp sdp;

    snprintf(body, sizeof(body), HDR SAVP "a=crypto:%s\r\n", value);
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK(sdp.media[0].has_crypto);
    if (ret_first && sdp.media[0].ncrypto > 0) {
        *ret_first = sdp.media[0].crypto[0];
    }
    return sdp.media[0].ncrypto;
}

static void
test_parse_crypto(void)
{
    struct ua_sdp_crypto c = {0};
    struct ua_sdp sdp;

    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1, &c), 1);
    CHECK_INT(c.tag, 1);
    CHECK_INT(c.suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK_STR(c.key, KEY1);
    CHECK_INT(crypto_kept("999999999 AES_CM_128_HMAC_SHA1_32 inline:" KEY2, &c), 1);
    CHECK_INT(c.tag, 999999999);
    CHECK_INT(c.suite, UA_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_STR(c.key, KEY2);
    /* Lifetimes, blanks around, the harmless session parameters. */
    CHECK_INT(crypto_kept("3 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^20", &c), 1);
    CHECK_INT(crypto_kept("3 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|1000000", &c), 1);
    CHECK_INT(crypto_kept("3   AES_CM_128_HMAC_SHA1_80\tinline:" KEY1 "  ", &c), 1);
    CHECK_INT(crypto_kept("3 AES_CM_128_HMAC_SHA1_80 inline:" KEY1
                          " WSH=128 KDR=0 UNENCRYPTED_SRTCP FEC_ORDER=FEC_SRTP",
                          &c),
              1);

    /* MKI (alone or after a lifetime), several keys: the sender would tag packets with an MKI. */
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^20|1:4", NULL), 0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|1:4", NULL), 0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^20|1:4;inline:" KEY2
                          "|2^20|2:4",
                          NULL),
              0);
    /* Suites we do not do. */
    CHECK_INT(crypto_kept("1 AES_256_CM_HMAC_SHA1_80 inline:" KEY1 KEY1, NULL), 0);
    CHECK_INT(crypto_kept("1 F8_128_HMAC_SHA1_80 inline:" KEY1, NULL), 0);
    CHECK_INT(crypto_kept("1 AEAD_AES_128_GCM inline:" KEY1, NULL), 0);
    /* Session parameters that change the protection, or unknown. */
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 " UNENCRYPTED_SRTP", NULL), 0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 " UNAUTHENTICATED_SRTP", NULL),
              0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 " KDR=10", NULL), 0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 " WSH=10", NULL), 0);
    CHECK_INT(crypto_kept("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 " FOO=1", NULL), 0);

    /* Malformed: tag, method, key length and alphabet, lifetime, missing parts. */
    const char *bad[] = {
        "",
        "1",
        "1 AES_CM_128_HMAC_SHA1_80",
        "x AES_CM_128_HMAC_SHA1_80 inline:" KEY1,
        "-1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1,
        "1000000000 AES_CM_128_HMAC_SHA1_80 inline:" KEY1,
        "0000000001 AES_CM_128_HMAC_SHA1_80 inline:" KEY1,
        "99999999999999999999999 AES_CM_128_HMAC_SHA1_80 inline:" KEY1,
        "1 AES_CM_128_HMAC_SHA1_80 " KEY1,
        "1 AES_CM_128_HMAC_SHA1_80 uri:" KEY1,
        "1 AES_CM_128_HMAC_SHA1_80 inline:",
        "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "A",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "AAA=",
        "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubG==",
        "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVub-_z",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "||",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^49",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|0",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|2^20|2^20",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|1:4|2^20",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|99999999999999999999999",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|abc",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (crypto_kept(bad[i], NULL) != 0) {
            fprintf(stderr, "kept malformed crypto line: %s\n", bad[i]);
            check_failures++;
        }
    }

    /* Several lines: unusable ones skipped, a repeated tag skipped, at most UA_SDP_MAX_CRYPTO
     * kept, all in the order written. */
    CHECK_INT(parse_str(HDR SAVP "a=crypto:9 AES_256_CM_HMAC_SHA1_80 inline:" KEY1 KEY1 "\r\n"
                                 "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n"
                                 "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                                 "a=crypto:6 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                                 "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                                 "a=crypto:8 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                                 "a=crypto:10 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].ncrypto, UA_SDP_MAX_CRYPTO);
    CHECK_INT(sdp.media[0].crypto[0].tag, 5);
    CHECK_INT(sdp.media[0].crypto[0].suite, UA_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_INT(sdp.media[0].crypto[1].tag, 6);
    CHECK_INT(sdp.media[0].crypto[3].tag, 8);

    /* Session level: not where a=crypto belongs (RFC 4568 §9.1), ignored. */
    CHECK_INT(parse_str(HDR CRYPTO80 SAVP, &sdp), 0);
    CHECK(!sdp.media[0].has_crypto);
    CHECK_INT(sdp.media[0].ncrypto, 0);
    /* Per m= line. */
    CHECK_INT(parse_str(HDR SAVP CRYPTO80 AVP, &sdp), 0);
    CHECK_INT(sdp.media[0].ncrypto, 1);
    CHECK_INT(sdp.media[1].ncrypto, 0);
    CHECK(!sdp.media[1].has_crypto);

    /* A very long crypto line: no overflow, nothing kept. */
    char body[12000];
    size_t n =
        (size_t)snprintf(body, sizeof(body), HDR SAVP "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:");
    memset(body + n, 'A', 10000);
    memcpy(body + n + 10000, "\r\n", 3);
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK_INT(sdp.media[0].ncrypto, 0);
}

static void
test_negotiate_modes(void)
{
    struct ua_sdp_prefs off = prefs_with(UA_SRTP_OFF);
    struct ua_sdp_prefs opt = prefs_with(UA_SRTP_OPTIONAL);
    struct ua_sdp_prefs req = prefs_with(UA_SRTP_REQUIRED);
    struct ua_sdp sdp;
    struct ua_media_desc md;

    /* RTP/SAVP with our suites. */
    CHECK_INT(parse_str(HDR SAVP CRYPTO80 CRYPTO32, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &off, &md), -ENOMEDIUM);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK_INT(md.srtp_tag, 1);
    CHECK_STR(md.srtp_key, KEY1);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);

    /* The offer's order decides between our suites; unknown ones are passed over. */
    CHECK_INT(parse_str(HDR SAVP "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" KEY1 KEY1 "\r\n"
                                 "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n" CRYPTO80,
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_INT(md.srtp_tag, 2);
    CHECK_STR(md.srtp_key, KEY2);

    /* RTP/SAVP without a usable key: nothing to key SRTP with. */
    CHECK_INT(parse_str(HDR SAVP, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), -ENOMEDIUM);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), -ENOMEDIUM);
    CHECK_INT(parse_str(HDR SAVP "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "|1:4\r\n"
                                 "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n",
                        &sdp),
              0);
    CHECK(sdp.media[0].has_crypto);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), -ENOMEDIUM);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), -ENOMEDIUM);

    /* Plain RTP/AVP: fine unless REQUIRED, also with a=crypto (the profile decides). */
    CHECK_INT(parse_str(HDR AVP, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &off, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);
    CHECK_STR(md.srtp_key, "");
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), -ENOMEDIUM);
    CHECK_INT(parse_str(HDR AVP CRYPTO80, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), -ENOMEDIUM);

    /* Plain then SRTP audio: OPTIONAL takes the SRTP one, OFF the plain one. */
    CHECK_INT(parse_str(HDR AVP SAVP CRYPTO32, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.index, 1);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_INT(ua_sdp_negotiate(&sdp, &off, &md), 0);
    CHECK_INT(md.index, 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);

    /* T.38: unaffected by OFF and OPTIONAL, refused by REQUIRED (UDPTL is cleartext). */
    CHECK_INT(parse_str(HDR IMAGE, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &off, &md), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), -ENOMEDIUM);
    /* Image and SRTP audio with prefer_t38: OPTIONAL takes T.38, REQUIRED the audio. */
    CHECK_INT(parse_str(HDR SAVP CRYPTO80 IMAGE, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);
    opt.prefer_t38 = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);

    /* RTP/SAVPF is SRTP too. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/SAVPF 0\r\n" CRYPTO80, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &req, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void
test_write_answer(void)
{
    struct ua_sdp_prefs opt = prefs_with(UA_SRTP_OPTIONAL);
    struct ua_sdp_local local = local_with_key(OUR_KEY);
    struct ua_sdp sdp, back;
    struct ua_media_desc md;
    char buf[2048];

    CHECK_INT(parse_str(HDR SAVP "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "|2^31\r\n"
                                 "a=crypto:8 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/SAVP 0\r\n");
    CHECK_CONTAINS(buf, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:" OUR_KEY "\r\n");
    CHECK_INT(count_lines(buf, "a=crypto:"), 1);
    CHECK(!strstr(buf, KEY1) && !strstr(buf, KEY2));
    CHECK_INT(parse_str(buf, &back), 0);
    CHECK_INT(back.media[0].ncrypto, 1);
    CHECK_STR(back.media[0].crypto[0].key, OUR_KEY);

    /* Our key must be there and be a key (it goes verbatim into the SDP). */
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &LOCAL_NO_KEY, buf, sizeof(buf)), -EINVAL);
    local.srtp_key = "short";
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    local.srtp_key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubG\r\n";
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    local.srtp_key = KEY1 "X";
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    local.srtp_key = OUR_KEY;
    /* Inconsistent descriptions: SRTP on a plain offer, plain on an SRTP one. */
    md.srtp_suite = UA_SRTP_SUITE_NONE;
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    md.srtp_suite = (enum ua_srtp_suite)42;
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(parse_str(HDR AVP, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0\r\n");
    CHECK(!strstr(buf, "crypto"));
    md.srtp_suite = UA_SRTP_AES_CM_128_HMAC_SHA1_80;
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    /* A refused SRTP line beside the chosen stream is echoed with port 0, no crypto. */
    CHECK_INT(parse_str(HDR SAVP CRYPTO80 IMAGE, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &opt, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 0 RTP/SAVP 0\r\n");
    CHECK(!strstr(buf, "crypto"));
}

static void
test_write_offer(void)
{
    struct ua_sdp_prefs prefs = prefs_with(UA_SRTP_OPTIONAL);
    struct ua_sdp_local local = local_with_key(OUR_KEY);
    struct ua_sdp sdp;
    char buf[2048];

    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &local, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/SAVP 0 8\r\n");
    CHECK_CONTAINS(buf, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" OUR_KEY "\r\n"
                        "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" OUR_KEY "\r\n");
    CHECK_INT(parse_str(buf, &sdp), 0);
    CHECK_INT(sdp.media[0].ncrypto, 2);
    prefs.srtp = UA_SRTP_REQUIRED;
    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &local, buf, sizeof(buf)) > 0);
    CHECK_INT(count_lines(buf, "a=crypto:"), 2);
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL_NO_KEY, buf, sizeof(buf)), -EINVAL);
    /* No cleartext T.38 offer under REQUIRED. */
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &local, buf, sizeof(buf)), -EINVAL);
    prefs.srtp = UA_SRTP_OPTIONAL;
    CHECK(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &local, buf, sizeof(buf)) > 0);
    CHECK(!strstr(buf, "crypto"));
    prefs.srtp = UA_SRTP_OFF;
    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL_NO_KEY, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0 8\r\n");
    CHECK(!strstr(buf, "crypto"));
    /* Short buffer. */
    prefs.srtp = UA_SRTP_REQUIRED;
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &local, buf, 200), -ENOSPC);
}

static void
test_accept_answer(void)
{
    struct ua_sdp_prefs off = prefs_with(UA_SRTP_OFF);
    struct ua_sdp_prefs opt = prefs_with(UA_SRTP_OPTIONAL);
    struct ua_sdp_prefs req = prefs_with(UA_SRTP_REQUIRED);
    struct ua_sdp sdp;
    struct ua_media_desc md;

    CHECK_INT(parse_str(HDR SAVP CRYPTO80, &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &req, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK_INT(md.srtp_tag, UA_SRTP_OFFER_TAG_80);
    CHECK_STR(md.srtp_key, KEY1);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &opt, &md), 0);
    /* We offered no SRTP. */
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &off, &md), -ENOMEDIUM);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);

    CHECK_INT(parse_str(HDR SAVP CRYPTO32, &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &req, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_STR(md.srtp_key, KEY2);

    /* Tag and suite must be a pair we offered. */
    CHECK_INT(parse_str(HDR SAVP "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" KEY1 "\r\n", &sdp),
              0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &req, &md), -ENOMEDIUM);
    CHECK_INT(parse_str(HDR SAVP "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n", &sdp),
              0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &opt, &md), -ENOMEDIUM);
    /* RTP/SAVP without crypto, or with a malformed key. */
    CHECK_INT(parse_str(HDR SAVP, &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &opt, &md), -ENOMEDIUM);
    CHECK_INT(parse_str(HDR SAVP "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &req, &md), -ENOMEDIUM);

    /* A plain answer to our SRTP offer: taken under OPTIONAL only. */
    CHECK_INT(parse_str(HDR AVP, &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &opt, &md), 0);
    CHECK_INT(md.srtp_suite, UA_SRTP_SUITE_NONE);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &off, &md), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &req, &md), -ENOMEDIUM);

    /* T.38 answers: never under REQUIRED. */
    CHECK_INT(parse_str(HDR IMAGE, &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &opt, &md), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &req, &md), -ENOMEDIUM);

    CHECK_STR(ua_srtp_suite_name(UA_SRTP_AES_CM_128_HMAC_SHA1_80), "AES_CM_128_HMAC_SHA1_80");
    CHECK_STR(ua_srtp_suite_name(UA_SRTP_AES_CM_128_HMAC_SHA1_32), "AES_CM_128_HMAC_SHA1_32");
    CHECK_STR(ua_srtp_suite_name(UA_SRTP_SUITE_NONE), "none");
}

/* Send one packet from `tx` (protect) to `rx` (unprotect) and check it arrives intact. */
static void
send_one(struct fx38_srtp *tx, struct fx38_srtp *rx, struct fx38_rtp_tx *rtp, uint8_t fill)
{
    uint8_t payload[160], buf[1500];
    struct fx38_rtp_packet pkt;

    memset(payload, fill, sizeof(payload));
    int len = fx38_rtp_build(rtp, payload, sizeof(payload), buf, sizeof(buf));
    CHECK(len > 0);
    int n = fx38_srtp_protect(tx, buf, (size_t)len, sizeof(buf));
    CHECK(n > len);
    CHECK_INT(fx38_srtp_unprotect(rx, buf, (size_t)n), len);
    CHECK_INT(fx38_rtp_parse(buf, (size_t)len, rtp->payload_type, -1, &pkt), 0);
    CHECK_INT(pkt.kind, FX38_RTP_AUDIO);
    CHECK_INT(pkt.payload_len, 160);
    CHECK(pkt.payload && pkt.payload[0] == fill && pkt.payload[159] == fill);
}

/* The whole path as server/ will run it: we offer (our key A), they answer with the suite
 * they pick (their key B); each side keys t38/srtp.c with its own key for sending and the
 * other's, from the SDP, for receiving. `their_crypto` is the line they keep. */
static void
sdp_keys_round_trip(enum ua_srtp_suite suite)
{
    struct ua_sdp_prefs prefs = prefs_with(UA_SRTP_REQUIRED);
    char key_a[FX38_SRTP_KEY_B64_LEN + 1], key_b[FX38_SRTP_KEY_B64_LEN + 1];
    char offer_text[2048], answer_text[2048];
    struct ua_sdp offer, answer;
    struct ua_media_desc md_b, md_a;
    struct fx38_srtp *a, *b;
    struct fx38_rtp_tx rtp_a, rtp_b;

    CHECK_INT(fx38_srtp_key_generate((enum fx38_srtp_suite)suite, key_a, sizeof(key_a)), 0);
    CHECK_INT(fx38_srtp_key_generate((enum fx38_srtp_suite)suite, key_b, sizeof(key_b)), 0);
    struct ua_sdp_local local_a = local_with_key(key_a);
    struct ua_sdp_local local_b = local_with_key(key_b);
    local_b.addr = "192.0.2.20";

    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &local_a, offer_text, sizeof(offer_text)) > 0);
    CHECK_INT(parse_str(offer_text, &offer), 0);
    /* The answerer prefers the suite under test: drop the other line, as a peer that only
     * does that suite would. */
    if (suite == UA_SRTP_AES_CM_128_HMAC_SHA1_32) {
        offer.media[0].crypto[0] = offer.media[0].crypto[1];
        offer.media[0].ncrypto = 1;
    }
    CHECK_INT(ua_sdp_negotiate(&offer, &prefs, &md_b), 0);
    CHECK_INT(md_b.srtp_suite, suite);
    CHECK_STR(md_b.srtp_key, key_a);
    CHECK(ua_sdp_write_answer(&offer, &md_b, &local_b, answer_text, sizeof(answer_text)) > 0);
    CHECK_INT(parse_str(answer_text, &answer), 0);
    CHECK_INT(ua_sdp_accept_answer(&answer, UA_MEDIA_AUDIO, &prefs, &md_a), 0);
    CHECK_INT(md_a.srtp_suite, suite);
    CHECK_STR(md_a.srtp_key, key_b);

    enum fx38_srtp_suite s = (enum fx38_srtp_suite)suite;
    CHECK_INT(fx38_srtp_new(s, key_a, (enum fx38_srtp_suite)md_a.srtp_suite, md_a.srtp_key, &a), 0);
    CHECK_INT(fx38_srtp_new(s, key_b, (enum fx38_srtp_suite)md_b.srtp_suite, md_b.srtp_key, &b), 0);
    fx38_rtp_tx_init(&rtp_a, (uint8_t)md_a.payload_type, 0xa, 1, 0);
    fx38_rtp_tx_init(&rtp_b, (uint8_t)md_b.payload_type, 0xb, 1000, 0);
    for (int i = 0; i < 50; i++) {
        send_one(a, b, &rtp_a, (uint8_t)i);
        send_one(b, a, &rtp_b, (uint8_t)(i + 100));
    }
    fx38_srtp_free(a);
    fx38_srtp_free(b);
}

static void
test_sdp_keys_drive_srtp(void)
{
    /* The two suite enums are mapped 1:1 by server/. */
    CHECK_INT(UA_SRTP_AES_CM_128_HMAC_SHA1_80, FX38_SRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK_INT(UA_SRTP_AES_CM_128_HMAC_SHA1_32, FX38_SRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_INT(UA_SRTP_KEY_B64_LEN, FX38_SRTP_KEY_B64_LEN);
    sdp_keys_round_trip(UA_SRTP_AES_CM_128_HMAC_SHA1_80);
    sdp_keys_round_trip(UA_SRTP_AES_CM_128_HMAC_SHA1_32);
}

int
main(void)
{
    test_parse_crypto();
    test_negotiate_modes();
    test_write_answer();
    test_write_offer();
    test_accept_answer();
    test_sdp_keys_drive_srtp();
    return check_finish();
}
