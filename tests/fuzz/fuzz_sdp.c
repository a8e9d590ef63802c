/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for sip/sdp.c: parse hostile bytes as an offer and as an answer, negotiate
 * under several preference sets (SRTP off, optional and required among them), write the
 * answer (at full size and into a short buffer), and check that whatever we write parses back
 * to the same streams, with our one a=crypto line when SRTP was chosen. Any failed property
 * aborts. Seeds worth giving it: offers with RTP/SAVP and a=crypto lines (see
 * tests/unit/test_sip_sdp_srtp.c). */
#include "sdp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUR_KEY "b3VyIGtleSBvdXIga2V5IG91ciBrZXkgb3VyIGtl"

static void
check(int cond)
{
    if (!cond) {
        abort();
    }
}

static struct ua_sdp_prefs
fuzz_prefs(unsigned variant)
{
    return (struct ua_sdp_prefs){
        .srtp = (enum ua_srtp_mode)(variant % 3),
        .t38_enabled = (variant & 1) == 0,
        .prefer_t38 = (variant & 2) == 0,
        .pcmu = (variant & 4) == 0,
        .pcma = true,
        .t38 =
            {
                .version = (int)(variant % 5),
                .max_bitrate = variant & 8 ? 0 : 14400,
                .fill_bit_removal = variant & 8,
                .transcoding_mmr = variant & 16,
                .max_buffer = 1800,
                .max_datagram = 400,
                .ec = (enum ua_t38_ec)(variant % 3),
                .ec_depth_min = variant & 16 ? 1 : 0,
                .ec_depth_max = variant & 16 ? 3 : 0,
                .fec_max_span = 3,
            },
    };
}

/* Our answer must always be valid SDP with the offer's m= lines, in order, and the chosen
 * one live at our port. */
static void
check_answer(const struct ua_sdp *offer, const struct ua_media_desc *md, const char *text, int len,
             const struct ua_sdp_prefs *prefs)
{
    struct ua_sdp back;
    struct ua_media_desc again;

    check(len > 0 && (size_t)len == strlen(text));
    check(ua_sdp_parse(text, (size_t)len, &back) == 0);
    check(back.nmedia == offer->nmedia);
    for (int i = 0; i < back.nmedia; i++) {
        check(back.media[i].port == (i == md->index ? 40000 : 0));
        check(strcmp(back.media[i].media, offer->media[i].media) == 0 || i == md->index);
    }
    check(back.media[md->index].kind == md->kind);
    if (md->srtp_suite != UA_SRTP_SUITE_NONE) {
        /* Their tag and suite, our key; the tag is theirs, so accept_answer (which wants
         * the tags of our own offers) does not apply. */
        const struct ua_sdp_media *m = &back.media[md->index];
        check(prefs->srtp != UA_SRTP_OFF && md->kind == UA_MEDIA_AUDIO);
        check(m->ncrypto == 1 && m->crypto[0].tag == md->srtp_tag);
        check(m->crypto[0].suite == md->srtp_suite);
        check(strcmp(m->crypto[0].key, OUR_KEY) == 0);
        return;
    }
    check(prefs->srtp != UA_SRTP_REQUIRED);
    check(ua_sdp_accept_answer(&back, md->kind, prefs, &again) == 0);
    check(again.index == md->index);
    if (md->kind == UA_MEDIA_AUDIO) {
        check(again.payload_type == md->payload_type);
    } else {
        check(again.t38.version == md->t38.version);
        check(again.t38.ec == md->t38.ec);
        check(again.t38.max_bitrate == md->t38.max_bitrate);
    }
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
    struct ua_sdp sdp;
    struct ua_media_desc md;
    char out[8192];
    int r;

    /* The input is used in place: not NUL-terminated, exactly `size` bytes readable. */
    r = ua_sdp_parse((const char *)data, size, &sdp);
    check(r == 0 || r == -EINVAL || r == -E2BIG);
    if (r < 0) {
        check(sdp.nmedia == 0);
        return 0;
    }
    check(sdp.nmedia >= 1 && sdp.nmedia <= UA_SDP_MAX_MEDIA);
    for (int i = 0; i < sdp.nmedia; i++) {
        const struct ua_sdp_media *m = &sdp.media[i];
        check(m->nformats >= 0 && m->nformats <= UA_SDP_MAX_FORMATS);
        check(memchr(m->addr, '\0', sizeof(m->addr)) != NULL);
        check(memchr(m->t38.vendor_info, '\0', sizeof(m->t38.vendor_info)) != NULL);
        check(m->ncrypto >= 0 && m->ncrypto <= UA_SDP_MAX_CRYPTO);
        check(m->ncrypto == 0 || m->has_crypto);
        for (int c = 0; c < m->ncrypto; c++) {
            check(strlen(m->crypto[c].key) == UA_SRTP_KEY_B64_LEN);
            check(m->crypto[c].tag <= 999999999);
            check(m->crypto[c].suite == UA_SRTP_AES_CM_128_HMAC_SHA1_80 ||
                  m->crypto[c].suite == UA_SRTP_AES_CM_128_HMAC_SHA1_32);
        }
        check(m->port != 0 || m->family == 0 || m->addr[0] != '\0');
    }

    for (unsigned variant = 0; variant < 32; variant += 5) {
        struct ua_sdp_prefs prefs = fuzz_prefs(variant);

        r = ua_sdp_negotiate(&sdp, &prefs, &md);
        check(r == 0 || r == -ENOMEDIUM);
        if (r == 0) {
            check(md.index >= 0 && md.index < sdp.nmedia);
            check(md.kind == UA_MEDIA_AUDIO || prefs.t38_enabled);
            check(md.kind == UA_MEDIA_AUDIO || prefs.srtp != UA_SRTP_REQUIRED);
            check(md.srtp_suite == UA_SRTP_SUITE_NONE || prefs.srtp != UA_SRTP_OFF);
            check(md.srtp_suite != UA_SRTP_SUITE_NONE || prefs.srtp != UA_SRTP_REQUIRED);
            check(md.t38.version >= 0 && md.t38.version <= 3);
            check(md.t38.ec <= prefs.t38.ec);
            r = ua_sdp_write_answer(&sdp, &md, &local, out, sizeof(out));
            check_answer(&sdp, &md, out, r, &prefs);
            /* A short buffer is refused cleanly, never overrun. */
            char small[64];
            check(ua_sdp_write_answer(&sdp, &md, &local, small, sizeof(small)) == -ENOSPC);
        }
        (void)ua_sdp_accept_answer(&sdp, UA_MEDIA_T38, &prefs, &md);
        (void)ua_sdp_accept_answer(&sdp, UA_MEDIA_AUDIO, &prefs, &md);
    }
    return 0;
}
