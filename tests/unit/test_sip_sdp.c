/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sip/sdp.c: parsing hostile SDP, every T.38 attribute, RFC 3264 negotiation,
 * and the SDP we write (which must parse back). Offers shaped like those of Asterisk,
 * FreeSWITCH and Cisco gateways are included. */
#include "sdp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"

static const struct ua_sdp_local LOCAL4 = {
    .addr = "192.0.2.10",
    .family = AF_INET,
    .port = 40000,
    .sess_id = 1234,
    .sess_version = 1,
};

static struct ua_sdp_prefs
default_prefs(void)
{
    return (struct ua_sdp_prefs){
        .t38_enabled = true,
        .prefer_t38 = true,
        .pcmu = true,
        .pcma = true,
        .t38 =
            {
                .version = 3,
                .max_bitrate = 14400,
                .rate_management = UA_T38_RATE_TRANSFERRED_TCF,
                .max_buffer = 1800,
                .max_datagram = 400,
                .ec = UA_T38_EC_REDUNDANCY,
            },
    };
}

/* Parse a string through an exactly-sized heap copy, so that ASan sees any read past len. */
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

/* Number of lines in text starting with prefix. */
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

/* Every line ends with CRLF: no bare LF, no bare CR. */
static bool
is_crlf_only(const char *text)
{
    for (size_t i = 0; text[i]; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            return false;
        }
        if (text[i] == '\r' && text[i + 1] != '\n') {
            return false;
        }
    }
    return true;
}

#define HDR                                                                                        \
    "v=0\r\n"                                                                                      \
    "o=- 100 200 IN IP4 198.51.100.1\r\n"                                                          \
    "s=-\r\n"                                                                                      \
    "c=IN IP4 198.51.100.1\r\n"                                                                    \
    "t=0 0\r\n"

#define IMAGE "m=image 5000 udptl t38\r\n"
#define AUDIO "m=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"

/* Parse HDR IMAGE + attrs and return the stream's T.38 parameters. */
static struct ua_t38_params
parse_t38(const char *attrs)
{
    char body[2048];
    struct ua_sdp sdp;

    snprintf(body, sizeof(body), HDR IMAGE "%s", attrs);
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK_INT(sdp.nmedia, 1);
    CHECK_INT(sdp.media[0].kind, UA_MEDIA_T38);
    return sdp.media[0].t38;
}

/* Negotiate HDR IMAGE + attrs with prefs and return the agreed description. */
static struct ua_media_desc
negotiate_t38(const char *attrs, const struct ua_sdp_prefs *prefs)
{
    char body[2048];
    struct ua_sdp sdp;
    struct ua_media_desc md;

    snprintf(body, sizeof(body), HDR IMAGE "%s", attrs);
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    return md;
}

static void
test_t38_every_attribute(void)
{
    struct ua_t38_params t = parse_t38("a=T38FaxVersion:2\r\n"
                                       "a=T38MaxBitRate:9600\r\n"
                                       "a=T38FaxFillBitRemoval\r\n"
                                       "a=T38FaxTranscodingMMR\r\n"
                                       "a=T38FaxTranscodingJBIG\r\n"
                                       "a=T38FaxRateManagement:localTCF\r\n"
                                       "a=T38FaxMaxBuffer:1024\r\n"
                                       "a=T38FaxMaxDatagram:300\r\n"
                                       "a=T38FaxMaxIFP:250\r\n"
                                       "a=T38FaxUdpEC:t38UDPFEC\r\n"
                                       "a=T38FaxUdpECDepth:2 5\r\n"
                                       "a=T38FaxUdpFECMaxSpan:3\r\n"
                                       "a=T38VendorInfo:0 0 0\r\n");

    CHECK_INT(t.version, 2);
    CHECK_INT(t.max_bitrate, 9600);
    CHECK(t.fill_bit_removal);
    CHECK(t.transcoding_mmr);
    CHECK(t.transcoding_jbig);
    CHECK_INT(t.rate_management, UA_T38_RATE_LOCAL_TCF);
    CHECK_INT(t.max_buffer, 1024);
    CHECK_INT(t.max_datagram, 300);
    CHECK_INT(t.max_ifp, 250);
    CHECK_INT(t.ec, UA_T38_EC_FEC);
    CHECK_INT(t.ec_depth_min, 2);
    CHECK_INT(t.ec_depth_max, 5);
    CHECK_INT(t.fec_max_span, 3);
    CHECK_STR(t.vendor_info, "0 0 0");

    /* Absent: everything zero / default. */
    t = parse_t38("");
    CHECK_INT(t.version, 0);
    CHECK_INT(t.max_bitrate, 0);
    CHECK(!t.fill_bit_removal);
    CHECK(!t.transcoding_mmr);
    CHECK(!t.transcoding_jbig);
    CHECK_INT(t.rate_management, UA_T38_RATE_TRANSFERRED_TCF);
    CHECK_INT(t.max_buffer, 0);
    CHECK_INT(t.max_datagram, 0);
    CHECK_INT(t.max_ifp, 0);
    CHECK_INT(t.ec, UA_T38_EC_NONE);
    CHECK_INT(t.ec_depth_min, 0);
    CHECK_INT(t.fec_max_span, 0);
    CHECK_STR(t.vendor_info, "");

    /* ECDepth with only the minimum. */
    t = parse_t38("a=T38FaxUdpECDepth:3\r\n");
    CHECK_INT(t.ec_depth_min, 3);
    CHECK_INT(t.ec_depth_max, 3);

    /* T.38 attributes on an audio line are not T.38 parameters. */
    struct ua_sdp sdp;
    CHECK_INT(parse_str(HDR AUDIO "a=T38FaxVersion:3\r\na=T38MaxBitRate:9600\r\n", &sdp), 0);
    CHECK_INT(sdp.media[0].t38.version, 0);
    CHECK_INT(sdp.media[0].t38.max_bitrate, 0);
}

static void
test_t38_flag_forms(void)
{
    static const char *const names[] = {"T38FaxFillBitRemoval", "T38FaxTranscodingMMR",
                                        "T38FaxTranscodingJBIG"};
    static const struct {
        const char *suffix;
        bool expect;
    } forms[] = {
        {"", true},  {":1", true},    {":0", false}, {": 1", true},
        {":", true}, {":yes", false}, {":2", false},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (size_t j = 0; j < sizeof(forms) / sizeof(forms[0]); j++) {
            char attr[128];
            snprintf(attr, sizeof(attr), "a=%s%s\r\n", names[i], forms[j].suffix);
            struct ua_t38_params t = parse_t38(attr);
            bool got = i == 0   ? t.fill_bit_removal
                       : i == 1 ? t.transcoding_mmr
                                : t.transcoding_jbig;
            if (got != forms[j].expect) {
                fprintf(stderr, "flag form \"%s\" parsed as %d\n", attr, got);
            }
            CHECK(got == forms[j].expect);
        }
    }

    /* ":0" after a bare flag clears it; a malformed value does not touch it. */
    struct ua_t38_params t = parse_t38("a=T38FaxFillBitRemoval\r\na=T38FaxFillBitRemoval:0\r\n");
    CHECK(!t.fill_bit_removal);
    t = parse_t38("a=T38FaxFillBitRemoval:1\r\na=T38FaxFillBitRemoval:maybe\r\n");
    CHECK(t.fill_bit_removal);

    /* Negotiation is an AND: true only when we allow it too. */
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_media_desc md = negotiate_t38("a=T38FaxFillBitRemoval\r\na=T38FaxTranscodingMMR:1\r\n"
                                            "a=T38FaxTranscodingJBIG\r\n",
                                            &prefs);
    CHECK(!md.t38.fill_bit_removal);
    CHECK(!md.t38.transcoding_mmr);
    CHECK(!md.t38.transcoding_jbig);
    prefs.t38.fill_bit_removal = true;
    prefs.t38.transcoding_jbig = true;
    md = negotiate_t38("a=T38FaxFillBitRemoval\r\na=T38FaxTranscodingMMR:1\r\n", &prefs);
    CHECK(md.t38.fill_bit_removal);
    CHECK(!md.t38.transcoding_mmr);
    CHECK(!md.t38.transcoding_jbig);

    /* All three agreed: all three written, bare. */
    prefs.t38.transcoding_mmr = true;
    struct ua_sdp both;
    char text[1024];
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxFillBitRemoval:1\r\na=T38FaxTranscodingMMR:1\r\n"
                                  "a=T38FaxTranscodingJBIG\r\n",
                        &both),
              0);
    CHECK_INT(ua_sdp_negotiate(&both, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&both, &md, &LOCAL4, text, sizeof(text)) > 0);
    CHECK_CONTAINS(text, "a=T38FaxFillBitRemoval\r\na=T38FaxTranscodingMMR\r\n"
                         "a=T38FaxTranscodingJBIG\r\n");
    prefs.t38.transcoding_mmr = false;

    /* Written as bare flags only when true. */
    struct ua_sdp sdp;
    char buf[1024];
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxFillBitRemoval:1\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxFillBitRemoval\r\n");
    CHECK(!strstr(buf, "TranscodingMMR"));
    CHECK(!strstr(buf, "TranscodingJBIG"));
    prefs.t38.fill_bit_removal = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK(!strstr(buf, "FillBitRemoval"));
}

static void
test_t38_max_datagram_buffer(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];

    /* The far end's receive limits are kept as they are, even above ours: they bound what
     * t38/ sends, and ours are declared separately in our answer. */
    md = negotiate_t38("a=T38FaxMaxBuffer:262\r\na=T38FaxMaxDatagram:1472\r\n"
                       "a=T38FaxMaxIFP:1000\r\n",
                       &prefs);
    CHECK_INT(md.t38.max_buffer, 262);
    CHECK_INT(md.t38.max_datagram, 1472);
    CHECK_INT(md.t38.max_ifp, 1000);
    CHECK_INT(md.local_max_buffer, 1800);
    CHECK_INT(md.local_max_datagram, 400);

    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxMaxBuffer:262\r\na=T38FaxMaxDatagram:72\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.t38.max_datagram, 72);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxMaxDatagram:400\r\n");
    CHECK_CONTAINS(buf, "a=T38FaxMaxBuffer:1800\r\n");
    CHECK(!strstr(buf, "MaxDatagram:72"));

    /* Absent: 0 = "not given". */
    md = negotiate_t38("a=T38FaxVersion:0\r\n", &prefs);
    CHECK_INT(md.t38.max_buffer, 0);
    CHECK_INT(md.t38.max_datagram, 0);

    /* Bad values are dropped; absurd sizes clamp to what UDP can carry. */
    struct ua_t38_params t = parse_t38("a=T38FaxMaxDatagram:0\r\na=T38FaxMaxBuffer:-5\r\n");
    CHECK_INT(t.max_datagram, 0);
    CHECK_INT(t.max_buffer, 0);
    t = parse_t38("a=T38FaxMaxDatagram:100000\r\na=T38FaxMaxBuffer:99999999999999999999\r\n");
    CHECK_INT(t.max_datagram, 65535);
    CHECK_INT(t.max_buffer, 0);
    t = parse_t38("a=T38FaxMaxDatagram:400\r\na=T38FaxMaxDatagram:4OO\r\n");
    CHECK_INT(t.max_datagram, 400);
}

static void
test_t38_versions(void)
{
    struct ua_sdp_prefs prefs = default_prefs();

    for (int v = 0; v <= 4; v++) {
        char attr[64];
        snprintf(attr, sizeof(attr), "a=T38FaxVersion:%d\r\n", v);
        CHECK_INT(parse_t38(attr).version, v);
        struct ua_media_desc md = negotiate_t38(attr, &prefs);
        CHECK_INT(md.t38.version, v > 3 ? 3 : v);
    }
    /* Never up: we say 1, the offer says 3. */
    prefs.t38.version = 1;
    CHECK_INT(negotiate_t38("a=T38FaxVersion:3\r\n", &prefs).t38.version, 1);
    CHECK_INT(negotiate_t38("a=T38FaxVersion:0\r\n", &prefs).t38.version, 0);
    /* Absent is version 0 (T.38 Annex D). */
    CHECK_INT(negotiate_t38("", &prefs).t38.version, 0);
    /* Unreadable: dropped. */
    CHECK_INT(parse_t38("a=T38FaxVersion:x\r\n").version, 0);
    CHECK_INT(parse_t38("a=T38FaxVersion:2\r\na=T38FaxVersion:-1\r\n").version, 2);
    CHECK_INT(parse_t38("a=T38FaxVersion:256\r\n").version, 0);

    /* Beyond 3 on both sides (a future peer, a config typo): still 3, in the offer too. */
    prefs.t38.version = 7;
    CHECK_INT(negotiate_t38("a=T38FaxVersion:4\r\n", &prefs).t38.version, 3);
    char offer[1024];
    CHECK(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, offer, sizeof(offer)) > 0);
    CHECK_CONTAINS(offer, "a=T38FaxVersion:3\r\n");

    /* Version 4 is answered as 3. */
    prefs.t38.version = 3;
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxVersion:4\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxVersion:3\r\n");
}

static void
test_t38_ec(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    static const char *const red = "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
    static const char *const fec = "a=T38FaxUdpEC:t38UDPFEC\r\n";
    static const char *const noec = "a=T38FaxUdpEC:t38UDPNoEC\r\n";

    CHECK_INT(parse_t38(red).ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(parse_t38(fec).ec, UA_T38_EC_FEC);
    CHECK_INT(parse_t38(noec).ec, UA_T38_EC_NONE);
    CHECK_INT(parse_t38("").ec, UA_T38_EC_NONE);
    CHECK_INT(parse_t38("a=T38FaxUdpEC:t38UDPRedundancy\r\na=T38FaxUdpEC:bogus\r\n").ec,
              UA_T38_EC_REDUNDANCY);

    /* We do redundancy, not FEC. */
    CHECK_INT(negotiate_t38(red, &prefs).t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(negotiate_t38(fec, &prefs).t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(negotiate_t38(noec, &prefs).t38.ec, UA_T38_EC_NONE);
    CHECK_INT(negotiate_t38("", &prefs).t38.ec, UA_T38_EC_NONE);

    /* We do FEC too. */
    prefs.t38.ec = UA_T38_EC_FEC;
    CHECK_INT(negotiate_t38(fec, &prefs).t38.ec, UA_T38_EC_FEC);
    CHECK_INT(negotiate_t38(red, &prefs).t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(negotiate_t38(noec, &prefs).t38.ec, UA_T38_EC_NONE);

    /* We want none: never up. */
    prefs.t38.ec = UA_T38_EC_NONE;
    CHECK_INT(negotiate_t38(red, &prefs).t38.ec, UA_T38_EC_NONE);

    /* The answer says what was agreed. */
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];
    prefs.t38.ec = UA_T38_EC_FEC;
    prefs.t38.ec_depth_min = 1;
    prefs.t38.ec_depth_max = 3;
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxUdpEC:t38UDPFEC\r\na=T38FaxUdpECDepth:2 6\r\n", &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.t38.ec_depth_min, 1);
    CHECK_INT(md.t38.ec_depth_max, 3);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxUdpEC:t38UDPFEC\r\n");
    CHECK_CONTAINS(buf, "a=T38FaxUdpECDepth:1 3\r\n");
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxUdpEC:t38UDPNoEC\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxUdpEC:t38UDPNoEC\r\n");
    CHECK(!strstr(buf, "ECDepth"));

    /* FEC span: the smaller of both, written only for FEC. */
    prefs.t38.fec_max_span = 4;
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxUdpEC:t38UDPFEC\r\na=T38FaxUdpFECMaxSpan:2\r\n", &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.t38.fec_max_span, 2);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxUdpFECMaxSpan:2\r\n");
    prefs.t38.ec = UA_T38_EC_REDUNDANCY;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.t38.fec_max_span, 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK(!strstr(buf, "FECMaxSpan"));

    /* ECDepth forms that are dropped. */
    struct ua_t38_params t = parse_t38("a=T38FaxUdpECDepth:5 2\r\n");
    CHECK_INT(t.ec_depth_min, 0);
    t = parse_t38("a=T38FaxUdpECDepth:a b\r\n");
    CHECK_INT(t.ec_depth_min, 0);
    t = parse_t38("a=T38FaxUdpECDepth:1 2 3\r\n");
    CHECK_INT(t.ec_depth_min, 0);
    t = parse_t38("a=T38FaxUdpECDepth:1 x\r\n");
    CHECK_INT(t.ec_depth_min, 0);
    CHECK_INT(parse_t38("a=T38FaxUdpFECMaxSpan:0\r\n").fec_max_span, 0);
}

static void
test_t38_bitrate_and_rate_management(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];

    CHECK_INT(negotiate_t38("a=T38MaxBitRate:9600\r\n", &prefs).t38.max_bitrate, 9600);
    CHECK_INT(negotiate_t38("a=T38MaxBitRate:33600\r\n", &prefs).t38.max_bitrate, 14400);
    CHECK_INT(negotiate_t38("", &prefs).t38.max_bitrate, 14400);
    CHECK_INT(negotiate_t38("a=T38MaxBitRate:fast\r\n", &prefs).t38.max_bitrate, 14400);
    CHECK_INT(negotiate_t38("a=T38MaxBitRate:100\r\n", &prefs).t38.max_bitrate, 14400);
    prefs.t38.max_bitrate = 0;
    CHECK_INT(negotiate_t38("a=T38MaxBitRate:9600\r\n", &prefs).t38.max_bitrate, 9600);
    prefs.t38.max_bitrate = 14400;

    /* localTCF offered, transferredTCF answered (UDPTL needs it; spandsp checks TCF itself). */
    CHECK_INT(parse_str(HDR IMAGE "a=T38FaxRateManagement:localTCF\r\n", &sdp), 0);
    CHECK_INT(sdp.media[0].t38.rate_management, UA_T38_RATE_LOCAL_TCF);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.t38.rate_management, UA_T38_RATE_TRANSFERRED_TCF);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxRateManagement:transferredTCF\r\n");
    CHECK(!strstr(buf, "localTCF"));
    CHECK_CONTAINS(buf, "a=T38MaxBitRate:14400\r\n");
    CHECK_INT(parse_t38("a=T38FaxRateManagement:localTCF\r\n"
                        "a=T38FaxRateManagement:garbage\r\n")
                  .rate_management,
              UA_T38_RATE_LOCAL_TCF);
}

static void
test_case_insensitive(void)
{
    struct ua_t38_params t = parse_t38("a=t38faxversion:1\r\n"
                                       "a=T38MAXBITRATE:9600\r\n"
                                       "a=t38faxfillbitremoval\r\n"
                                       "a=t38faxratemanagement:TRANSFERREDTCF\r\n"
                                       "a=T38FAXMAXDATAGRAM:200\r\n"
                                       "a=t38faxmaxbuffer:300\r\n"
                                       "a=T38FaxUDPEC:T38UDPREDUNDANCY\r\n");
    CHECK_INT(t.version, 1);
    CHECK_INT(t.max_bitrate, 9600);
    CHECK(t.fill_bit_removal);
    CHECK_INT(t.max_datagram, 200);
    CHECK_INT(t.max_buffer, 300);
    CHECK_INT(t.ec, UA_T38_EC_REDUNDANCY);

    struct ua_sdp sdp;
    CHECK_INT(parse_str(HDR "m=image 5000 UDPTL T38\r\na=T38FaxVersion:0\r\n"
                            "m=AUDIO 6000 rtp/avp 0\r\nA=SENDONLY\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].kind, UA_MEDIA_T38);
    CHECK_INT(sdp.media[1].kind, UA_MEDIA_AUDIO);
    /* "A=" is not "a=": line types are case-sensitive letters. */
    CHECK_INT(sdp.media[1].dir, UA_DIR_SENDRECV);
    CHECK_INT(
        parse_str(HDR "m=audio 6000 RTP/AVP 96\r\na=RTPMAP:96 pcmu/8000\r\na=SendOnly\r\n", &sdp),
        0);
    CHECK_INT(sdp.media[0].pcmu_pt, 96);
    CHECK_INT(sdp.media[0].dir, UA_DIR_SENDONLY);
}

static void
test_audio_and_image_offer(void)
{
    static const char offer[] = HDR AUDIO "a=ptime:20\r\n" IMAGE "a=T38FaxVersion:0\r\n"
                                          "a=T38MaxBitRate:14400\r\n"
                                          "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp, back;
    struct ua_media_desc md;
    char buf[2048];
    int n;

    CHECK_INT(parse_str(offer, &sdp), 0);
    CHECK_INT(sdp.nmedia, 2);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.index, 1);
    CHECK_INT(md.port, 5000);
    CHECK_STR(md.addr, "198.51.100.1");
    CHECK_INT(md.family, AF_INET);
    CHECK_INT(md.t38.ec, UA_T38_EC_REDUNDANCY);

    n = ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf));
    CHECK(n > 0);
    CHECK_INT(strlen(buf), n);
    CHECK_INT(count_lines(buf, "m="), 2);
    CHECK_CONTAINS(buf, "m=audio 0 RTP/AVP 0\r\n");
    CHECK_CONTAINS(buf, "m=image 40000 udptl t38\r\n");
    /* RFC 3264 §6: the same order as the offer. */
    CHECK(strstr(buf, "m=audio") < strstr(buf, "m=image"));

    CHECK_INT(parse_str(buf, &back), 0);
    CHECK_INT(back.nmedia, 2);
    CHECK_INT(back.media[0].port, 0);
    CHECK_INT(back.media[0].kind, UA_MEDIA_AUDIO);
    CHECK_INT(back.media[1].port, 40000);
    CHECK_INT(back.media[1].kind, UA_MEDIA_T38);

    /* Without the T.38 preference, audio wins and the image line is refused. */
    prefs.prefer_t38 = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.index, 0);
    CHECK_INT(md.payload_type, 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0 101\r\n");
    CHECK_CONTAINS(buf, "m=image 0 udptl t38\r\n");

    /* T.38 disabled: audio even with the preference. */
    prefs.prefer_t38 = true;
    prefs.t38_enabled = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
}

static void
test_image_only_offer(void)
{
    static const char offer[] = HDR IMAGE "a=T38FaxVersion:0\r\n"
                                          "a=T38MaxBitRate:14400\r\n"
                                          "a=T38FaxRateManagement:transferredTCF\r\n"
                                          "a=T38FaxMaxBuffer:2000\r\n"
                                          "a=T38FaxMaxDatagram:400\r\n"
                                          "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];
    int n;

    CHECK_INT(parse_str(offer, &sdp), 0);
    CHECK_INT(sdp.sess_id, 100);
    CHECK_INT(sdp.sess_version, 200);
    CHECK_STR(sdp.media[0].media, "image");
    CHECK_STR(sdp.media[0].proto, "udptl");
    CHECK_STR(sdp.media[0].first_format, "t38");
    CHECK_INT(sdp.media[0].nformats, 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.index, 0);
    n = ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf));
    CHECK_STR(buf, "v=0\r\n"
                   "o=inkless 1234 1 IN IP4 192.0.2.10\r\n"
                   "s=inkless\r\n"
                   "c=IN IP4 192.0.2.10\r\n"
                   "t=0 0\r\n"
                   "m=image 40000 udptl t38\r\n"
                   "a=T38FaxVersion:0\r\n"
                   "a=T38MaxBitRate:14400\r\n"
                   "a=T38FaxRateManagement:transferredTCF\r\n"
                   "a=T38FaxMaxBuffer:1800\r\n"
                   "a=T38FaxMaxDatagram:400\r\n"
                   "a=T38FaxUdpEC:t38UDPRedundancy\r\n");
    CHECK_INT(n, strlen(buf));

    /* T.38 disabled: nothing acceptable, the caller answers 488. */
    prefs.t38_enabled = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);
    CHECK_INT(md.kind, UA_MEDIA_NONE);
}

static void
test_audio_only_offer(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];

    /* PCMA listed first, PCMU still preferred. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 8 0 101\r\n"
                            "a=rtpmap:8 PCMA/8000\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\n"
                            "a=fmtp:101 0-16\r\n"
                            "a=ptime:30\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].nformats, 3);
    CHECK_INT(sdp.media[0].pcmu_pt, 0);
    CHECK_INT(sdp.media[0].pcma_pt, 8);
    CHECK_INT(sdp.media[0].telephone_event_pt, 101);
    CHECK_INT(sdp.media[0].ptime, 30);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.payload_type, 0);
    CHECK_INT(md.ptime, 30);
    CHECK_INT(md.telephone_event_pt, 101);
    CHECK_INT(md.port, 6000);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0 101\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-15\r\n"
                        "a=ptime:30\r\n"
                        "a=sendrecv\r\n");
    CHECK(!strstr(buf, "PCMA"));

    /* PCMU not allowed by us: PCMA. */
    prefs.pcmu = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 8);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n");
    prefs.pcmu = true;

    /* PCMA-only offer, static PT without rtpmap, no ptime (20 default), no DTMF. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 8\r\n", &sdp), 0);
    CHECK_INT(sdp.media[0].pcmu_pt, -1);
    CHECK_INT(sdp.media[0].pcma_pt, 8);
    CHECK_INT(sdp.media[0].telephone_event_pt, -1);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 8);
    CHECK_INT(md.ptime, 20);
    CHECK_INT(md.telephone_event_pt, -1);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n");
    CHECK(!strstr(buf, "telephone-event"));
    prefs.pcma = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);
    prefs.pcma = true;

    /* Neither G.711 law: G.729 and GSM only. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 18 3 101\r\n"
                            "a=rtpmap:18 G729/8000\r\na=rtpmap:3 GSM/8000\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);

    /* An rtpmap overrides the static meaning, and G.711 must be 8000 Hz mono. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0 8 96 97\r\n"
                            "a=rtpmap:0 G729/8000\r\n"
                            "a=rtpmap:8 PCMA/16000\r\n"
                            "a=rtpmap:96 PCMU/8000/2\r\n"
                            "a=rtpmap:97 PCMU/8000/1\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].pcmu_pt, 97);
    CHECK_INT(sdp.media[0].pcma_pt, -1);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 97);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 97\r\na=rtpmap:97 PCMU/8000\r\n");

    /* A second rtpmap for the same payload type does not replace the first. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 96\r\n"
                            "a=rtpmap:96 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
                            "a=rtpmap:99 PCMA/8000\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].pcmu_pt, 96);
    CHECK_INT(sdp.media[0].telephone_event_pt, -1);
    CHECK_INT(sdp.media[0].pcma_pt, -1);

    /* Odd ptime falls back to 20; telephone-event at 48 kHz is not ours. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0 100\r\na=ptime:40\r\n"
                            "a=rtpmap:100 telephone-event/48000\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].telephone_event_pt, -1);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.ptime, 20);
    CHECK_INT(md.telephone_event_pt, -1);

    /* AVPF is plain RTP to us; the answer keeps the offer's profile. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVPF 0\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVPF 0\r\n");

    /* More formats than we keep. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 96 97 98 99 100 101 102 103 104 105 106 107 "
                            "108 109 110 111 112 113 8\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].nformats, UA_SDP_MAX_FORMATS);
    CHECK_INT(sdp.media[0].pcma_pt, -1);
}

static void
test_srtp_and_crypto(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;

    /* RTP/SAVP: recorded as audio, refused with SRTP off (the default prefs). */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/SAVP 0\r\n"
                            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                            "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].kind, UA_MEDIA_AUDIO);
    CHECK(sdp.media[0].has_crypto);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);

    /* Best-effort SRTP (RTP/AVP + a=crypto) is plain RTP we can answer. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                            "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n",
                        &sdp),
              0);
    CHECK(sdp.media[0].has_crypto);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\n", &sdp), 0);
    CHECK(!sdp.media[0].has_crypto);
}

static void
test_ports(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];

    CHECK_INT(parse_str(HDR "m=audio abc RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(sdp.nmedia, 0);
    CHECK_INT(parse_str(HDR "m=audio 70000 RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 65536 RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio -1 RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 99999999999999999999999 RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000x RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000/x RTP/AVP 0\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 65535 RTP/AVP 0\r\n", &sdp), 0);
    CHECK_INT(sdp.media[0].port, 65535);
    CHECK_INT(parse_str(HDR "m=audio 6000/2 RTP/AVP 0\r\n", &sdp), 0);
    CHECK_INT(sdp.media[0].port, 6000);

    /* Garbage m= lines. */
    CHECK_INT(parse_str(HDR "m=audio\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP PCMU\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 128\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0 \x01\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "m=aud\x7fio 6000 RTP/AVP 0\r\n", &sdp), -EINVAL);

    /* No c= anywhere for a live stream; fine for a disabled one. */
#define NO_C "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nt=0 0\r\n"
    CHECK_INT(parse_str(NO_C "m=image 5000 udptl t38\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(NO_C "m=image 0 udptl t38\r\nm=image 5000 udptl t38\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(NO_C "m=image 5000 udptl t38\r\nm=image 0 udptl t38\r\n", &sdp), -EINVAL);
    CHECK_INT(parse_str(NO_C "m=image 0 udptl t38\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);
    CHECK_INT(parse_str(NO_C "m=image 5000 udptl t38\r\nc=IN IP4 203.0.113.9\r\n", &sdp), 0);
    CHECK_STR(sdp.media[0].addr, "203.0.113.9");
#undef NO_C

    /* A media c= overrides the session one, for that stream only. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\nc=IN IP4 203.0.113.1\r\n"
                            "m=image 5000 udptl t38\r\n",
                        &sdp),
              0);
    CHECK_STR(sdp.media[0].addr, "203.0.113.1");
    CHECK_STR(sdp.media[1].addr, "198.51.100.1");

    /* Port 0 streams are skipped: the live audio is chosen and the image echoed refused. */
    CHECK_INT(parse_str(HDR "m=image 0 udptl t38\r\n" AUDIO, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.index, 1);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=image 0 udptl t38\r\nm=audio 40000 RTP/AVP 0 101\r\n");
    CHECK_INT(parse_str(HDR "m=image 0 udptl t38\r\nm=audio 0 RTP/AVP 0\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);
}

static void
test_structure(void)
{
    struct ua_sdp sdp;
    char big[UA_SDP_MAX_BODY + 2];

    CHECK_INT(parse_str("", &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(NULL, 0, &sdp), -EINVAL);
    /* v= must come first, and be 0. */
    CHECK_INT(parse_str("o=- 1 1 IN IP4 198.51.100.1\r\nv=0\r\nc=IN IP4 198.51.100.1\r\n"
                        "m=audio 6000 RTP/AVP 0\r\n",
                        &sdp),
              -EINVAL);
    CHECK_INT(parse_str("v=1\r\no=- 1 1 IN IP4 198.51.100.1\r\nc=IN IP4 198.51.100.1\r\n"
                        "m=audio 6000 RTP/AVP 0\r\n",
                        &sdp),
              -EINVAL);
    CHECK_INT(parse_str("hello\r\n" HDR AUDIO, &sdp), -EINVAL);
    CHECK_INT(parse_str(HDR "v=0\r\n" AUDIO, &sdp), -EINVAL);
    /* Leading blank lines are harmless. */
    CHECK_INT(parse_str("\r\n\r\n" HDR AUDIO, &sdp), 0);
    /* o= missing, misplaced, duplicated or with non-numeric ids. */
    CHECK_INT(parse_str("v=0\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nm=audio 6000 RTP/AVP 0\r\n", &sdp),
              -EINVAL);
    CHECK_INT(parse_str("v=0\r\nc=IN IP4 198.51.100.1\r\nm=audio 6000 RTP/AVP 0\r\n"
                        "o=- 1 1 IN IP4 198.51.100.1\r\n",
                        &sdp),
              -EINVAL);
    CHECK_INT(parse_str(HDR "o=- 1 1 IN IP4 198.51.100.1\r\n" AUDIO, &sdp), -EINVAL);
    CHECK_INT(
        parse_str("v=0\r\no=- abc 1 IN IP4 198.51.100.1\r\nc=IN IP4 198.51.100.1\r\n" AUDIO, &sdp),
        -EINVAL);
    CHECK_INT(parse_str("v=0\r\no=- 1 1 IN IP4\r\nc=IN IP4 198.51.100.1\r\n" AUDIO, &sdp), -EINVAL);
    CHECK_INT(parse_str("v=0\r\no=- 18446744073709551615 18446744073709551616 IN IP4 1.2.3.4\r\n"
                        "c=IN IP4 198.51.100.1\r\n" AUDIO,
                        &sdp),
              -EINVAL);
    CHECK_INT(parse_str("v=0\r\no=- 18446744073709551615 7 IN IP4 1.2.3.4\r\n"
                        "c=IN IP4 198.51.100.1\r\n" AUDIO,
                        &sdp),
              0);
    CHECK(sdp.sess_id == UINT64_MAX);
    CHECK_INT(sdp.sess_version, 7);
    /* No m= at all. */
    CHECK_INT(parse_str(HDR, &sdp), -EINVAL);
    /* A broken c= line. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\nc=IN\r\n", &sdp), -EINVAL);

    /* Too many m= lines. */
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof(body), HDR);
    for (int i = 0; i < UA_SDP_MAX_MEDIA; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "m=audio %d RTP/AVP 0\r\n", 6000 + i);
    }
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK_INT(sdp.nmedia, UA_SDP_MAX_MEDIA);
    (void)snprintf(body + n, sizeof(body) - n, "m=audio 7000 RTP/AVP 0\r\n");
    CHECK_INT(parse_str(body, &sdp), -E2BIG);
    CHECK_INT(sdp.nmedia, 0);

    /* Too big a body, even if it is otherwise valid. */
    memset(big, ' ', sizeof(big));
    memcpy(big, HDR AUDIO, strlen(HDR AUDIO));
    CHECK_INT(ua_sdp_parse(big, UA_SDP_MAX_BODY, &sdp), 0);
    CHECK_INT(ua_sdp_parse(big, UA_SDP_MAX_BODY + 1, &sdp), -E2BIG);

    /* A NUL byte inside. */
    static const char with_nul[] = HDR "m=audio 6000 RTP/AVP 0\r\na=x\0y\r\n";
    CHECK_INT(ua_sdp_parse(with_nul, sizeof(with_nul) - 1, &sdp), -EINVAL);
}

static void
test_unknown_ignored(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[2048];

    CHECK_INT(parse_str(HDR "i=session info\r\n"
                            "b=AS:64\r\n"
                            "z=garbage\r\n"
                            "a=group:BUNDLE 0\r\n"
                            "this is not sdp\r\n"
                            "x\r\n"
                            "m=video 7000 RTP/AVP 96\r\n"
                            "a=rtpmap:96 H264/90000\r\n" IMAGE "b=AS:20\r\n"
                            "a=T38FaxVersion:0\r\n"
                            "a=T38FaxFoo:1\r\n"
                            "a=T38FaxVersionX:3\r\n"
                            "a=X-vendor-thing\r\n"
                            "a=\r\n"
                            "a=:\r\n"
                            "a=T38FaxUdpEC\r\n"
                            "a=T38MaxBitRate\r\n"
                            "a=T38FaxMaxDatagram:\r\n"
                            "a=T38FaxUdpEC:t38UDPFEC\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.nmedia, 2);
    CHECK_INT(sdp.media[0].kind, UA_MEDIA_NONE);
    CHECK_STR(sdp.media[0].media, "video");
    CHECK_STR(sdp.media[0].first_format, "96");
    CHECK_INT(sdp.media[1].kind, UA_MEDIA_T38);
    CHECK_INT(sdp.media[1].t38.version, 0);
    CHECK_INT(sdp.media[1].t38.max_bitrate, 0);
    CHECK_INT(sdp.media[1].t38.max_datagram, 0);
    CHECK_INT(sdp.media[1].t38.ec, UA_T38_EC_FEC);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.index, 1);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=video 0 RTP/AVP 96\r\nm=image 40000 udptl t38\r\n");

    /* Media kinds we do not handle: recorded as NONE, answered with port 0. */
    CHECK_INT(parse_str(HDR "m=image 5000 udptl jpeg\r\n"
                            "m=image 5002 TCP t38\r\n"
                            "m=image 5004 RTP/AVP 96\r\n"
                            "m=audio 5006 TCP/RTP/AVP 0\r\n"
                            "m=application 5008 UDP/BFCP *\r\n"
                            "m=audiox 5010 RTP/AVP 0\r\n",
                        &sdp),
              0);
    for (int i = 0; i < sdp.nmedia; i++) {
        CHECK_INT(sdp.media[i].kind, UA_MEDIA_NONE);
    }
    CHECK_STR(sdp.media[4].first_format, "*");
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);

    /* Vendor info is logged: control characters do not survive. */
    CHECK_STR(parse_t38("a=T38VendorInfo:ab\x1b[2Jcd\r\n").vendor_info, "ab?[2Jcd");
    char longinfo[256];
    snprintf(longinfo, sizeof(longinfo), "a=T38VendorInfo:%0100d\r\n", 7);
    CHECK_INT(strlen(parse_t38(longinfo).vendor_info), 63);
}

static void
test_addresses(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];

    CHECK_INT(parse_str("v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\n"
                        "c=IN IP6 2001:db8::1\r\nt=0 0\r\nm=image 5000 udptl t38\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].family, AF_INET6);
    CHECK_STR(sdp.media[0].addr, "2001:db8::1");
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.family, AF_INET6);
    CHECK_STR(md.addr, "2001:db8::1");

    struct ua_sdp_local local6 = LOCAL4;
    local6.addr = "2001:db8::10";
    local6.family = AF_INET6;
    CHECK(ua_sdp_write_answer(&sdp, &md, &local6, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "o=inkless 1234 1 IN IP6 2001:db8::10\r\n");
    CHECK_CONTAINS(buf, "c=IN IP6 2001:db8::10\r\n");
    struct ua_sdp back;
    CHECK_INT(parse_str(buf, &back), 0);
    CHECK_INT(back.media[0].family, AF_INET6);
    CHECK_STR(back.media[0].addr, "2001:db8::10");

    /* Multicast TTL suffix; IPv6 literal under IP4; an FQDN; a non-IN network. All parse,
     * only usable addresses are negotiable. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\nc=IN IP4 233.252.0.1/127\r\n", &sdp), 0);
    CHECK_STR(sdp.media[0].addr, "233.252.0.1");
    CHECK_INT(sdp.media[0].family, AF_INET);
    static const char *const bad[] = {
        "IN IP4 2001:db8::1", "IN IP4 gw.example.com", "ATM NSAP 47.0091.8100.0000.0060.3e64.fd01",
        "IN IP4 1.2.3",       "IN IP5 1.2.3.4",        "TN IP4 1.2.3.4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=%s\r\nt=0 0\r\n"
                 "m=image 5000 udptl t38\r\n",
                 bad[i]);
        CHECK_INT(parse_str(body, &sdp), 0);
        CHECK_INT(sdp.media[0].family, 0);
        CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), -ENOMEDIUM);
    }
    /* An address too long to be one. */
    char body[512];
    snprintf(body, sizeof(body), HDR "m=image 5000 udptl t38\r\nc=IN IP6 %0100d\r\n", 1);
    CHECK_INT(parse_str(body, &sdp), 0);
    CHECK_INT(sdp.media[0].family, 0);
    CHECK(strlen(sdp.media[0].addr) < UA_SDP_ADDR_LEN);
    /* Hold the old way (RFC 2543 c=0.0.0.0) is still a stream. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_STR(md.addr, "0.0.0.0");
}

static void
test_line_endings(void)
{
    struct ua_sdp sdp;

    CHECK_INT(parse_str("v=0\no=- 5 6 IN IP4 198.51.100.1\ns=-\nc=IN IP4 198.51.100.1\nt=0 0\n"
                        "m=image 5000 udptl t38\na=T38FaxVersion:1\na=T38FaxMaxDatagram:200\n",
                        &sdp),
              0);
    CHECK_INT(sdp.sess_id, 5);
    CHECK_INT(sdp.media[0].t38.version, 1);
    CHECK_INT(sdp.media[0].t38.max_datagram, 200);

    /* Mixed endings, trailing blanks, no final newline. */
    CHECK_INT(parse_str("v=0 \r\no=- 5 6 IN IP4 198.51.100.1\t\ns=-\r\n"
                        "c=IN IP4 198.51.100.1  \r\nt=0 0\r\n"
                        "m=image 5000 udptl t38 \r\na=T38FaxVersion:2 \t\r\n"
                        "a=T38FaxUdpEC:t38UDPRedundancy \r\n"
                        "a=T38FaxMaxDatagram:300",
                        &sdp),
              0);
    CHECK_STR(sdp.media[0].addr, "198.51.100.1");
    CHECK_INT(sdp.media[0].t38.version, 2);
    CHECK_INT(sdp.media[0].t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(sdp.media[0].t38.max_datagram, 300);
}

static void
test_not_nul_terminated(void)
{
    static const char sdp_text[] = HDR IMAGE "a=T38FaxMaxDatagram:400";
    static const char garbage[] = "99\r\na=T38FaxVersion:3\r\nm=video 0 RTP/AVP 96\r\n";
    size_t len = strlen(sdp_text);
    char *buf = malloc(len + sizeof(garbage));
    struct ua_sdp sdp;

    if (!buf) {
        abort();
    }
    memcpy(buf, sdp_text, len);
    memcpy(buf + len, garbage, sizeof(garbage));
    CHECK_INT(ua_sdp_parse(buf, len, &sdp), 0);
    CHECK_INT(sdp.nmedia, 1);
    CHECK_INT(sdp.media[0].t38.max_datagram, 400);
    CHECK_INT(sdp.media[0].t38.version, 0);
    free(buf);

    /* Ending exactly at the end of an allocation, mid-token. */
    static const char tail[] = HDR "m=audio 6000 RTP/AVP 0 8";
    size_t tlen = strlen(tail);
    char *exact = malloc(tlen);
    if (!exact) {
        abort();
    }
    memcpy(exact, tail, tlen);
    CHECK_INT(ua_sdp_parse(exact, tlen, &sdp), 0);
    CHECK_INT(sdp.media[0].nformats, 2);
    CHECK_INT(sdp.media[0].pcma_pt, 8);
    free(exact);
}

static void
test_truncated(void)
{
    static const char full[] = HDR AUDIO IMAGE "a=T38FaxVersion:0\r\n"
                                               "a=T38FaxMaxDatagram:400\r\n"
                                               "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
    size_t len = strlen(full);
    struct ua_sdp_prefs prefs = default_prefs();
    int ok = 0;

    /* Every prefix, each in an exactly-sized allocation: never a crash (ASan checks reads),
     * and either an error or a consistent parse. */
    for (size_t cut = 0; cut <= len; cut++) {
        char *p = malloc(cut ? cut : 1);
        struct ua_sdp sdp;
        struct ua_media_desc md;
        char out[2048];
        int r;

        if (!p) {
            abort();
        }
        memcpy(p, full, cut);
        r = ua_sdp_parse(p, cut, &sdp);
        CHECK(r == 0 || r == -EINVAL);
        if (r == 0) {
            ok++;
            CHECK(sdp.nmedia >= 1 && sdp.nmedia <= 2);
            if (ua_sdp_negotiate(&sdp, &prefs, &md) == 0) {
                CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, out, sizeof(out)) > 0);
            }
        } else {
            CHECK_INT(sdp.nmedia, 0);
        }
        free(p);
    }
    CHECK(ok > 0);

    /* Specific cuts. */
    struct ua_sdp sdp;
    CHECK_INT(ua_sdp_parse(full, strlen(HDR "m=aud"), &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(full, strlen(HDR "m=audio 60"), &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(full, strlen(HDR), &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(full, strlen("v=0\r\no=- 100 2"), &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(full, strlen(HDR AUDIO "m=image 5"), &sdp), -EINVAL);
    CHECK_INT(ua_sdp_parse(full, strlen(HDR AUDIO "m=image 5000 udptl t3"), &sdp), 0);
    CHECK_INT(sdp.media[1].kind, UA_MEDIA_NONE);
    CHECK_INT(ua_sdp_parse(
                  full, strlen(HDR AUDIO IMAGE "a=T38FaxVersion:0\r\na=T38FaxMaxDatagram:4"), &sdp),
              0);
    CHECK_INT(sdp.media[1].t38.max_datagram, 4);
}

static void
test_direction(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[1024];
    static const struct {
        const char *offer_attr;
        enum ua_media_dir dir;
        const char *answer_attr;
    } cases[] = {
        {"", UA_DIR_SENDRECV, "a=sendrecv\r\n"},
        {"a=sendrecv\r\n", UA_DIR_SENDRECV, "a=sendrecv\r\n"},
        {"a=sendonly\r\n", UA_DIR_SENDONLY, "a=recvonly\r\n"},
        {"a=recvonly\r\n", UA_DIR_RECVONLY, "a=sendonly\r\n"},
        {"a=inactive\r\n", UA_DIR_INACTIVE, "a=inactive\r\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), HDR "m=audio 6000 RTP/AVP 0\r\n%s", cases[i].offer_attr);
        CHECK_INT(parse_str(body, &sdp), 0);
        CHECK_INT(sdp.media[0].dir, cases[i].dir);
        CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
        CHECK_INT(md.dir, cases[i].dir);
        CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
        CHECK_CONTAINS(buf, cases[i].answer_attr);
        CHECK_INT(count_lines(buf, "a=sendrecv") + count_lines(buf, "a=sendonly") +
                      count_lines(buf, "a=recvonly") + count_lines(buf, "a=inactive"),
                  1);
    }

    /* Session-level direction is the default; a media-level one wins. */
    CHECK_INT(parse_str(HDR "a=sendonly\r\nm=audio 6000 RTP/AVP 0\r\n"
                            "m=image 5000 udptl t38\r\na=inactive\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.media[0].dir, UA_DIR_SENDONLY);
    CHECK_INT(sdp.media[1].dir, UA_DIR_INACTIVE);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.dir, UA_DIR_INACTIVE);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=T38FaxUdpEC:t38UDPNoEC\r\na=inactive\r\n");
}

static void
test_answer_round_trip(void)
{
    static const char offer[] =
        HDR "m=video 7000 RTP/AVP 96\r\n" AUDIO IMAGE "a=T38FaxVersion:1\r\n"
            "a=T38MaxBitRate:9600\r\n"
            "a=T38FaxFillBitRemoval\r\n"
            "a=T38FaxMaxDatagram:320\r\n"
            "a=T38FaxUdpEC:t38UDPRedundancy\r\n";
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp, back;
    struct ua_media_desc md, again;
    char buf[2048];
    struct ua_sdp_local local = LOCAL4;

    prefs.t38.fill_bit_removal = true;
    local.sess_id = 987654321987654321ULL;
    local.sess_version = 42;
    CHECK_INT(parse_str(offer, &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)) > 0);
    CHECK(is_crlf_only(buf));
    CHECK_CONTAINS(buf, "s=inkless\r\n");
    CHECK_CONTAINS(buf, "t=0 0\r\n");

    CHECK_INT(parse_str(buf, &back), 0);
    CHECK(back.sess_id == 987654321987654321ULL);
    CHECK_INT(back.sess_version, 42);
    CHECK_INT(back.nmedia, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_STR(back.media[i].media, sdp.media[i].media);
        CHECK_INT(back.media[i].kind, sdp.media[i].kind);
        CHECK_INT(back.media[i].port, i == 2 ? 40000 : 0);
    }
    CHECK_STR(back.media[2].addr, "192.0.2.10");
    CHECK_INT(back.media[2].t38.version, 1);
    CHECK_INT(back.media[2].t38.max_bitrate, 9600);
    CHECK(back.media[2].t38.fill_bit_removal);
    CHECK_INT(back.media[2].t38.max_datagram, 400);
    CHECK_INT(back.media[2].t38.max_buffer, 1800);
    CHECK_INT(back.media[2].t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(back.media[2].t38.rate_management, UA_T38_RATE_TRANSFERRED_TCF);

    /* Our answer, read as an answer to our own offer, gives the same agreement. */
    CHECK_INT(ua_sdp_accept_answer(&back, UA_MEDIA_T38, &prefs, &again), 0);
    CHECK_INT(again.t38.version, md.t38.version);
    CHECK_INT(again.t38.max_bitrate, md.t38.max_bitrate);
    CHECK_INT(again.t38.ec, md.t38.ec);

    /* Audio round trip. */
    prefs.prefer_t38 = false;
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)) > 0);
    CHECK(is_crlf_only(buf));
    CHECK_INT(parse_str(buf, &back), 0);
    CHECK_INT(back.media[1].port, 40000);
    CHECK_INT(back.media[1].pcmu_pt, 0);
    CHECK_INT(back.media[1].telephone_event_pt, 101);
    CHECK_INT(back.media[1].ptime, 20);
    CHECK_INT(back.media[2].port, 0);

    /* Bad arguments. */
    struct ua_media_desc bogus = md;
    bogus.index = 7;
    CHECK_INT(ua_sdp_write_answer(&sdp, &bogus, &local, buf, sizeof(buf)), -EINVAL);
    bogus = md;
    bogus.kind = UA_MEDIA_T38;
    CHECK_INT(ua_sdp_write_answer(&sdp, &bogus, &local, buf, sizeof(buf)), -EINVAL);
    bogus = md;
    bogus.payload_type = 18;
    CHECK_INT(ua_sdp_write_answer(&sdp, &bogus, &local, buf, sizeof(buf)), -EINVAL);
    local.addr = "not an address";
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
    local.addr = "192.0.2.10";
    local.family = AF_INET6;
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &local, buf, sizeof(buf)), -EINVAL);
}

static void
test_enospc(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char full[2048], small[2048];
    int n;

    CHECK_INT(parse_str(HDR AUDIO IMAGE "a=T38FaxVersion:0\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    n = ua_sdp_write_answer(&sdp, &md, &LOCAL4, full, sizeof(full));
    CHECK(n > 100);
    for (int size = 0; size <= n; size++) {
        memset(small, 'X', sizeof(small));
        CHECK_INT(ua_sdp_write_answer(&sdp, &md, &LOCAL4, small, (size_t)size), -ENOSPC);
        /* Nothing half-written, nothing past size. */
        if (size > 0) {
            CHECK_INT(small[0], '\0');
        }
        CHECK_INT(small[size], 'X');
    }
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &LOCAL4, small, (size_t)n + 1), n);
    CHECK_STR(small, full);
    CHECK_INT(ua_sdp_write_answer(&sdp, &md, &LOCAL4, NULL, 0), -ENOSPC);

    n = ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, full, sizeof(full));
    CHECK(n > 0);
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, small, (size_t)n), -ENOSPC);
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, small, (size_t)n + 1), n);
    n = ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL4, full, sizeof(full));
    CHECK(n > 0);
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL4, small, (size_t)n), -ENOSPC);
}

static void
test_write_offer_and_accept(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[2048];

    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK(is_crlf_only(buf));
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0 8\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:8 PCMA/8000\r\n"
                        "a=ptime:20\r\n");
    CHECK_INT(count_lines(buf, "m="), 1);
    prefs.pcmu = false;
    CHECK(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 8\r\n");
    CHECK(!strstr(buf, "PCMU"));
    prefs.pcma = false;
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_AUDIO, &prefs, &LOCAL4, buf, sizeof(buf)), -EINVAL);
    prefs = default_prefs();

    /* T.38 offer: every attribute we have. */
    prefs.t38.fill_bit_removal = true;
    prefs.t38.max_ifp = 300;
    prefs.t38.ec = UA_T38_EC_FEC;
    prefs.t38.ec_depth_min = 1;
    prefs.t38.ec_depth_max = 4;
    prefs.t38.fec_max_span = 3;
    snprintf(prefs.t38.vendor_info, sizeof(prefs.t38.vendor_info), "inkless\r\nx");
    CHECK(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK(is_crlf_only(buf));
    CHECK_CONTAINS(buf, "m=image 40000 udptl t38\r\n"
                        "a=T38FaxVersion:3\r\n"
                        "a=T38MaxBitRate:14400\r\n"
                        "a=T38FaxFillBitRemoval\r\n"
                        "a=T38FaxRateManagement:transferredTCF\r\n"
                        "a=T38FaxMaxBuffer:1800\r\n"
                        "a=T38FaxMaxDatagram:400\r\n"
                        "a=T38FaxMaxIFP:300\r\n"
                        "a=T38FaxUdpEC:t38UDPFEC\r\n"
                        "a=T38FaxUdpECDepth:1 4\r\n"
                        "a=T38FaxUdpFECMaxSpan:3\r\n"
                        "a=T38VendorInfo:inkless??x\r\n");
    CHECK_INT(parse_str(buf, &sdp), 0);
    CHECK_INT(sdp.media[0].t38.max_ifp, 300);
    CHECK_STR(sdp.media[0].t38.vendor_info, "inkless??x");
    prefs.t38_enabled = false;
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_T38, &prefs, &LOCAL4, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(ua_sdp_write_offer(UA_MEDIA_NONE, &prefs, &LOCAL4, buf, sizeof(buf)), -EINVAL);
    prefs = default_prefs();

    /* A carrier's answer to our T.38 re-INVITE: lower version and rate, FEC refused down. */
    CHECK_INT(parse_str("v=0\r\no=carrier 55 56 IN IP4 203.0.113.50\r\ns=-\r\n"
                        "c=IN IP4 203.0.113.50\r\nt=0 0\r\nm=image 30000 udptl t38\r\n"
                        "a=T38FaxVersion:0\r\na=T38MaxBitRate:9600\r\n"
                        "a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:500\r\n"
                        "a=T38FaxMaxDatagram:180\r\na=T38FaxUdpEC:t38UDPFEC\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_STR(md.addr, "203.0.113.50");
    CHECK_INT(md.port, 30000);
    CHECK_INT(md.t38.version, 0);
    CHECK_INT(md.t38.max_bitrate, 9600);
    CHECK_INT(md.t38.max_datagram, 180);
    CHECK_INT(md.t38.max_buffer, 500);
    /* It answered FEC though we offered redundancy: never up. */
    CHECK_INT(md.t38.ec, UA_T38_EC_REDUNDANCY);
    /* Wrong kind asked for, refused (port 0), or not an answer kind at all. */
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &prefs, &md), -ENOMEDIUM);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_NONE, &prefs, &md), -EINVAL);
    CHECK_INT(parse_str(HDR "m=image 0 udptl t38\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &prefs, &md), -ENOMEDIUM);
    /* Answered with audio instead of image (some gateways do that to refuse T.38). */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 0\r\n", &sdp), 0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &prefs, &md), -ENOMEDIUM);

    /* An audio answer. */
    CHECK_INT(parse_str(HDR "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                            "a=rtpmap:101 telephone-event/8000\r\na=ptime:10\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 8);
    CHECK_INT(md.ptime, 10);
    CHECK_INT(md.telephone_event_pt, -1);
    prefs.pcma = false;
    CHECK_INT(ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &prefs, &md), -ENOMEDIUM);
}

/* Real-world shapes, written from memory of what these stacks send. */
static void
test_real_world_asterisk(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[2048];

    /* chan_sip/chan_pjsip initial INVITE with audio. */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=root 1821475183 1821475183 IN IP4 203.0.113.5\r\n"
                        "s=Asterisk PBX 16.2.1~dfsg-1+deb10u2\r\n"
                        "c=IN IP4 203.0.113.5\r\n"
                        "t=0 0\r\n"
                        "m=audio 12000 RTP/AVP 0 8 3 101\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:8 PCMA/8000\r\n"
                        "a=rtpmap:3 GSM/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-16\r\n"
                        "a=ptime:20\r\n"
                        "a=maxptime:150\r\n"
                        "a=sendrecv\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.sess_id, 1821475183);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_AUDIO);
    CHECK_INT(md.payload_type, 0);
    CHECK_INT(md.telephone_event_pt, 101);
    CHECK_STR(md.addr, "203.0.113.5");
    CHECK_INT(md.port, 12000);

    /* Its T.38 re-INVITE (udptl.c writes the flags bare and no MaxBuffer). */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=root 1821475183 1821475184 IN IP4 203.0.113.5\r\n"
                        "s=Asterisk PBX 16.2.1~dfsg-1+deb10u2\r\n"
                        "c=IN IP4 203.0.113.5\r\n"
                        "t=0 0\r\n"
                        "m=image 4446 udptl t38\r\n"
                        "a=T38FaxVersion:0\r\n"
                        "a=T38MaxBitRate:14400\r\n"
                        "a=T38FaxRateManagement:transferredTCF\r\n"
                        "a=T38FaxMaxDatagram:400\r\n"
                        "a=T38FaxUdpEC:t38UDPRedundancy\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.sess_version, 1821475184);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.port, 4446);
    CHECK_INT(md.t38.version, 0);
    CHECK_INT(md.t38.max_bitrate, 14400);
    CHECK_INT(md.t38.max_datagram, 400);
    CHECK_INT(md.t38.max_buffer, 0);
    CHECK_INT(md.t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_INT(count_lines(buf, "m="), 1);
    CHECK_CONTAINS(buf, "m=image 40000 udptl t38\r\n");
}

static void
test_real_world_freeswitch(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[2048];

    /* mod_spandsp's T.38 re-INVITE keeps the audio line, disabled. */
    CHECK_INT(parse_str("v=0\n"
                        "o=FreeSWITCH 1700001234 1700001236 IN IP4 192.0.2.20\n"
                        "s=FreeSWITCH\n"
                        "c=IN IP4 192.0.2.20\n"
                        "t=0 0\n"
                        "m=image 22222 udptl t38\n"
                        "a=T38FaxVersion:0\n"
                        "a=T38MaxBitRate:14400\n"
                        "a=T38FaxFillBitRemoval\n"
                        "a=T38FaxRateManagement:transferredTCF\n"
                        "a=T38FaxMaxBuffer:2000\n"
                        "a=T38FaxMaxDatagram:400\n"
                        "a=T38FaxUdpEC:t38UDPRedundancy\n"
                        "m=audio 0 RTP/AVP 19\n",
                        &sdp),
              0);
    CHECK_INT(sdp.nmedia, 2);
    CHECK(sdp.media[0].t38.fill_bit_removal);
    CHECK_INT(sdp.media[0].t38.max_buffer, 2000);
    CHECK_INT(sdp.media[1].port, 0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.index, 0);
    CHECK(!md.t38.fill_bit_removal);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=image 40000 udptl t38\r\n");
    CHECK_CONTAINS(buf, "m=audio 0 RTP/AVP 19\r\n");
    CHECK(!strstr(buf, "FillBitRemoval"));

    /* Its usual audio offer: Opus first, G.711 later, dynamic telephone-event. */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=FreeSWITCH 1700001234 1700001235 IN IP4 192.0.2.20\r\n"
                        "s=FreeSWITCH\r\n"
                        "c=IN IP4 192.0.2.20\r\n"
                        "t=0 0\r\n"
                        "m=audio 24680 RTP/AVP 102 9 0 8 101 13\r\n"
                        "a=rtpmap:102 opus/48000/2\r\n"
                        "a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000\r\n"
                        "a=rtpmap:9 G722/8000\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:8 PCMA/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-16\r\n"
                        "a=rtpmap:13 CN/8000\r\n"
                        "a=ptime:20\r\n"
                        "a=sendrecv\r\n"
                        "a=rtcp:24681 IN IP4 192.0.2.20\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 0);
    CHECK_INT(md.telephone_event_pt, 101);
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "m=audio 40000 RTP/AVP 0 101\r\n");
    CHECK(!strstr(buf, "opus"));
}

static void
test_real_world_cisco(void)
{
    struct ua_sdp_prefs prefs = default_prefs();
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char buf[2048];

    /* IOS gateway / CUBE T.38 re-INVITE: media-level c=, flags written as :0. */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=CiscoSystemsSIP-GW-UserAgent 7262 5342 IN IP4 10.10.10.1\r\n"
                        "s=SIP Call\r\n"
                        "c=IN IP4 10.10.10.1\r\n"
                        "t=0 0\r\n"
                        "m=image 17000 udptl t38\r\n"
                        "c=IN IP4 10.10.10.2\r\n"
                        "a=T38FaxVersion:0\r\n"
                        "a=T38MaxBitRate:14400\r\n"
                        "a=T38FaxFillBitRemoval:0\r\n"
                        "a=T38FaxTranscodingMMR:0\r\n"
                        "a=T38FaxTranscodingJBIG:0\r\n"
                        "a=T38FaxRateManagement:transferredTCF\r\n"
                        "a=T38FaxMaxBuffer:200\r\n"
                        "a=T38FaxMaxDatagram:320\r\n"
                        "a=T38FaxUdpEC:t38UDPRedundancy\r\n",
                        &sdp),
              0);
    CHECK_INT(sdp.sess_id, 7262);
    CHECK_INT(sdp.sess_version, 5342);
    CHECK(!sdp.media[0].t38.fill_bit_removal);
    CHECK(!sdp.media[0].t38.transcoding_mmr);
    CHECK(!sdp.media[0].t38.transcoding_jbig);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_STR(md.addr, "10.10.10.2");
    CHECK_INT(md.port, 17000);
    CHECK_INT(md.t38.max_buffer, 200);
    CHECK_INT(md.t38.max_datagram, 320);
    CHECK_INT(md.t38.ec, UA_T38_EC_REDUNDANCY);

    /* Its audio INVITE with a media-level c= and no session-level one. */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=CiscoSystemsSIP-GW-UserAgent 4591 2216 IN IP4 10.10.10.1\r\n"
                        "s=SIP Call\r\n"
                        "t=0 0\r\n"
                        "m=audio 16384 RTP/AVP 0 101 19\r\n"
                        "c=IN IP4 10.10.10.2\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-16\r\n"
                        "a=rtpmap:19 CN/8000\r\n"
                        "a=ptime:20\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.payload_type, 0);
    CHECK_INT(md.telephone_event_pt, 101);
    CHECK_STR(md.addr, "10.10.10.2");
    CHECK(ua_sdp_write_answer(&sdp, &md, &LOCAL4, buf, sizeof(buf)) > 0);
    CHECK_CONTAINS(buf, "a=fmtp:101 0-15\r\n");

    /* A fax-aware SBC offering both at once, with T.38 version 3 and NoEC. */
    CHECK_INT(parse_str("v=0\r\n"
                        "o=SBC 1 1 IN IP4 10.10.10.1\r\n"
                        "s=SIP Call\r\n"
                        "c=IN IP4 10.10.10.1\r\n"
                        "t=0 0\r\n"
                        "m=audio 16384 RTP/AVP 8\r\n"
                        "m=image 16386 udptl t38\r\n"
                        "a=T38FaxVersion:3\r\n"
                        "a=T38MaxBitRate:33600\r\n"
                        "a=T38FaxUdpEC:t38UDPNoEC\r\n",
                        &sdp),
              0);
    CHECK_INT(ua_sdp_negotiate(&sdp, &prefs, &md), 0);
    CHECK_INT(md.kind, UA_MEDIA_T38);
    CHECK_INT(md.t38.version, 3);
    CHECK_INT(md.t38.max_bitrate, 14400);
    CHECK_INT(md.t38.ec, UA_T38_EC_NONE);
}

static void
test_kind_names(void)
{
    CHECK_STR(ua_media_kind_name(UA_MEDIA_AUDIO), "audio");
    CHECK_STR(ua_media_kind_name(UA_MEDIA_T38), "t38");
    CHECK_STR(ua_media_kind_name(UA_MEDIA_NONE), "none");
    CHECK_STR(ua_media_kind_name((enum ua_media_kind)42), "none");
}

int
main(void)
{
    test_t38_every_attribute();
    test_t38_flag_forms();
    test_t38_max_datagram_buffer();
    test_t38_versions();
    test_t38_ec();
    test_t38_bitrate_and_rate_management();
    test_case_insensitive();
    test_audio_and_image_offer();
    test_image_only_offer();
    test_audio_only_offer();
    test_srtp_and_crypto();
    test_ports();
    test_structure();
    test_unknown_ignored();
    test_addresses();
    test_line_endings();
    test_not_nul_terminated();
    test_truncated();
    test_direction();
    test_answer_round_trip();
    test_enospc();
    test_write_offer_and_accept();
    test_real_world_asterisk();
    test_real_world_freeswitch();
    test_real_world_cisco();
    test_kind_names();
    return check_finish();
}
