/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SDP offer/answer for fax calls: a bounded, allocation-free SDP parser (RFC 4566), the
 * RFC 3264 choice of one audio (PCMU/PCMA, plain or SRTP keyed by RFC 4568 a=crypto) or T.38
 * (udptl, T.38 Annex D) stream, and the writer for our own offers and answers.
 *
 * DESIGN: the body is hostile and not NUL-terminated. It is walked line by line with explicit
 * lengths (struct tok); every value is copied into a fixed-size field, truncated if need be,
 * and nothing looks past the end of the current line. There are two kinds of bad input:
 *   - structural damage (no v= first, no o=, no m=, an m= line we cannot read, a port that is
 *     not 0..65535, a stream with a port but no c=, a NUL byte): the whole body is -EINVAL;
 *   - a bad value in an attribute (T.38 numbers, rtpmap, ptime): that attribute is dropped
 *     as if absent, because gateways in the wild get those wrong and the call can still work.
 * Everything here is reentrant: no statics except constant tables, no allocation.
 */
#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A borrowed piece of the body: p[0..n-1], never NUL-terminated. */
struct tok {
    const char *p;
    size_t n;
};

/* What an a=rtpmap said about one payload type of the current m= line. */
enum fmt_codec {
    FMT_NO_RTPMAP = 0,
    FMT_PCMU,
    FMT_PCMA,
    FMT_TELEPHONE_EVENT,
    FMT_OTHER,
};

struct parser {
    struct ua_sdp *sdp;
    bool has_v, has_o;
    /* Session level (before the first m=): defaults for the media sections. */
    bool has_session_c;
    char session_addr[UA_SDP_ADDR_LEN];
    int session_family;
    enum ua_media_dir session_dir;
    /* The media section being read, NULL before the first m=. */
    struct ua_sdp_media *cur;
    bool cur_has_c, cur_has_dir;
    enum fmt_codec cur_codec[UA_SDP_MAX_FORMATS]; /* parallel to cur->formats */
};

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char
ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static struct tok
tok_trim(struct tok t)
{
    while (t.n > 0 && is_blank(t.p[0])) {
        t.p++;
        t.n--;
    }
    while (t.n > 0 && is_blank(t.p[t.n - 1])) {
        t.n--;
    }
    return t;
}

/* Split off the next blank-separated token of *rest. Returns false when none is left. */
static bool
tok_next(struct tok *rest, struct tok *ret_tok)
{
    *rest = tok_trim(*rest);
    if (rest->n == 0) {
        return false;
    }
    size_t i = 0;
    while (i < rest->n && !is_blank(rest->p[i])) {
        i++;
    }
    *ret_tok = (struct tok){.p = rest->p, .n = i};
    rest->p += i;
    rest->n -= i;
    return true;
}

/* Split t at the first `sep`: *ret_head gets what is before it, *ret_tail what is after.
 * Returns whether `sep` was there (if not, the head is all of t and the tail is empty). */
static bool
tok_split(struct tok t, char sep, struct tok *ret_head, struct tok *ret_tail)
{
    const char *s = t.n ? memchr(t.p, sep, t.n) : NULL;
    if (!s) {
        *ret_head = t;
        *ret_tail = (struct tok){.p = t.p + t.n, .n = 0};
        return false;
    }
    *ret_head = (struct tok){.p = t.p, .n = (size_t)(s - t.p)};
    *ret_tail = (struct tok){.p = s + 1, .n = t.n - ret_head->n - 1};
    return true;
}

/* ASCII case-insensitive comparison with a C string. */
static bool
tok_eq(struct tok t, const char *s)
{
    size_t i;
    for (i = 0; i < t.n; i++) {
        if (s[i] == '\0' || ascii_lower(t.p[i]) != ascii_lower(s[i])) {
            return false;
        }
    }
    return s[i] == '\0';
}

static bool
tok_has_prefix(struct tok t, const char *prefix)
{
    size_t n = strlen(prefix);
    return t.n >= n && tok_eq((struct tok){.p = t.p, .n = n}, prefix);
}

/* Only visible ASCII (RFC 4566 token characters are a subset): such a token can be echoed in
 * our SDP without breaking a line or smuggling in bytes. */
static bool
tok_is_printable(struct tok t)
{
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < 0x21 || t.p[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* Copy into a NUL-terminated field of `size` bytes, truncating. */
static void
tok_copy(struct tok t, char *dst, size_t size)
{
    size_t n = t.n < size - 1 ? t.n : size - 1;
    memcpy(dst, t.p, n);
    dst[n] = '\0';
}

/* A decimal number of digits only (no sign, no blanks), at most `max`. */
static bool
tok_to_u64(struct tok t, uint64_t max, uint64_t *ret_value)
{
    uint64_t v = 0;
    if (t.n == 0) {
        return false;
    }
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(t.p[i] - '0');
        if (d > max || v > (max - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *ret_value = v;
    return true;
}

static bool
tok_to_int(struct tok t, int max, int *ret_value)
{
    uint64_t v;
    if (!tok_to_u64(t, (uint64_t)max, &v)) {
        return false;
    }
    *ret_value = (int)v;
    return true;
}

/* Parse "<addrtype> <address>" as found in c= (and o=). Returns the AF_ family, or 0 if the
 * address is not a literal of that type: an FQDN (legal in SDP, but we do not resolve names
 * here), a family we do not know, or an address too long to be one. */
static int
parse_addr(struct tok addrtype, struct tok addr, char *ret_addr, size_t size)
{
    int family = tok_eq(addrtype, "IP4") ? AF_INET : tok_eq(addrtype, "IP6") ? AF_INET6 : 0;
    struct tok host, ttl;
    struct in6_addr bin;

    /* Multicast "addr/ttl[/count]" (RFC 4566 §5.7): the address is before the first '/'. */
    (void)tok_split(addr, '/', &host, &ttl);
    tok_copy(host, ret_addr, size);
    if (host.n >= size || family == 0) {
        return 0;
    }
    return inet_pton(family, ret_addr, &bin) == 1 ? family : 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 4566 §5.2).
 * The ids are what RFC 3264 §8 compares to see whether a re-INVITE changed the SDP, so they
 * must be numbers. */
static int
parse_origin(struct parser *ps, struct tok val)
{
    struct tok user, id, version, nettype, addrtype, addr;

    if (ps->has_o || ps->cur) {
        return -EINVAL;
    }
    if (!tok_next(&val, &user) || !tok_next(&val, &id) || !tok_next(&val, &version) ||
        !tok_next(&val, &nettype) || !tok_next(&val, &addrtype) || !tok_next(&val, &addr)) {
        return -EINVAL;
    }
    if (!tok_to_u64(id, UINT64_MAX, &ps->sdp->sess_id) ||
        !tok_to_u64(version, UINT64_MAX, &ps->sdp->sess_version)) {
        return -EINVAL;
    }
    ps->has_o = true;
    return 0;
}

/* c=<nettype> <addrtype> <connection-address> (RFC 4566 §5.7), at session or media level. */
static int
parse_connection(struct parser *ps, struct tok val)
{
    struct tok nettype, addrtype, addr;
    char *dst = ps->cur ? ps->cur->addr : ps->session_addr;
    int family;

    if (!tok_next(&val, &nettype) || !tok_next(&val, &addrtype) || !tok_next(&val, &addr)) {
        return -EINVAL;
    }
    family = parse_addr(addrtype, addr, dst, UA_SDP_ADDR_LEN);
    if (!tok_eq(nettype, "IN")) {
        family = 0;
    }
    if (ps->cur) {
        ps->cur->family = family;
        ps->cur_has_c = true;
    } else {
        ps->session_family = family;
        ps->has_session_c = true;
    }
    return 0;
}

/* The m= line ended (next m= or end of body): inherit session defaults, check that a live
 * stream has an address, and decide which payload types carry PCMU, PCMA and DTMF events. */
static int
finish_media(struct parser *ps)
{
    struct ua_sdp_media *m = ps->cur;

    if (!m) {
        return 0;
    }
    if (!ps->cur_has_c) {
        /* RFC 4566 §5.7: c= at session level or in every media section. A disabled stream
         * (port 0) needs none. */
        if (ps->has_session_c) {
            memcpy(m->addr, ps->session_addr, sizeof(m->addr));
            m->family = ps->session_family;
        } else if (m->port != 0) {
            return -EINVAL;
        }
    }
    if (!ps->cur_has_dir) {
        m->dir = ps->session_dir;
    }
    for (int i = 0; i < m->nformats; i++) {
        enum fmt_codec codec = ps->cur_codec[i];
        int pt = m->formats[i];

        /* Static payload types without an rtpmap (RFC 3551 §6): 0 is PCMU, 8 is PCMA. An
         * rtpmap, even a contrary one, overrides them. */
        if (codec == FMT_NO_RTPMAP) {
            codec = pt == 0 ? FMT_PCMU : pt == 8 ? FMT_PCMA : FMT_NO_RTPMAP;
        }
        if (codec == FMT_PCMU && m->pcmu_pt < 0) {
            m->pcmu_pt = pt;
        } else if (codec == FMT_PCMA && m->pcma_pt < 0) {
            m->pcma_pt = pt;
        } else if (codec == FMT_TELEPHONE_EVENT && m->telephone_event_pt < 0) {
            m->telephone_event_pt = pt;
        }
    }
    ps->cur = NULL;
    return 0;
}

static enum ua_media_kind
media_kind(struct tok media, struct tok proto, bool has_t38_fmt)
{
    if (tok_eq(media, "audio") && (tok_eq(proto, "RTP/AVP") || tok_eq(proto, "RTP/SAVP") ||
                                   tok_eq(proto, "RTP/AVPF") || tok_eq(proto, "RTP/SAVPF"))) {
        return UA_MEDIA_AUDIO;
    }
    /* T.38 Annex D.2.1: m=image <port> udptl t38. Some gateways write UDPTL / T38. */
    if (tok_eq(media, "image") && tok_eq(proto, "udptl") && has_t38_fmt) {
        return UA_MEDIA_T38;
    }
    return UA_MEDIA_NONE;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 §5.14). */
static int
parse_media(struct parser *ps, struct tok val)
{
    struct tok media, port, proto, fmt, port_num, port_count;
    struct ua_sdp_media *m;
    bool is_rtp, has_t38_fmt = false;
    int r, port_value;
    uint64_t count;

    r = finish_media(ps);
    if (r < 0) {
        return r;
    }
    /* o= is a session-level line: it must come before any media section. */
    if (!ps->has_o) {
        return -EINVAL;
    }
    if (ps->sdp->nmedia >= UA_SDP_MAX_MEDIA) {
        return -E2BIG;
    }
    if (!tok_next(&val, &media) || !tok_next(&val, &port) || !tok_next(&val, &proto) ||
        !tok_is_printable(media) || !tok_is_printable(proto)) {
        return -EINVAL;
    }
    if (tok_split(port, '/', &port_num, &port_count) && !tok_to_u64(port_count, 65535, &count)) {
        return -EINVAL;
    }
    if (!tok_to_int(port_num, 65535, &port_value)) {
        return -EINVAL;
    }

    m = &ps->sdp->media[ps->sdp->nmedia];
    *m = (struct ua_sdp_media){
        .port = (uint16_t)port_value,
        .pcmu_pt = -1,
        .pcma_pt = -1,
        .telephone_event_pt = -1,
    };
    tok_copy(media, m->media, sizeof(m->media));
    tok_copy(proto, m->proto, sizeof(m->proto));
    memset(ps->cur_codec, 0, sizeof(ps->cur_codec));

    /* RTP formats are payload types 0..127 (RFC 3550 §5.1); other protocols name theirs. */
    is_rtp = tok_has_prefix(proto, "RTP/");
    for (int i = 0; tok_next(&val, &fmt); i++) {
        int pt;

        if (!tok_is_printable(fmt)) {
            return -EINVAL;
        }
        if (i == 0) {
            tok_copy(fmt, m->first_format, sizeof(m->first_format));
        }
        if (tok_eq(fmt, "t38")) {
            has_t38_fmt = true;
        }
        if (is_rtp) {
            if (!tok_to_int(fmt, 127, &pt)) {
                return -EINVAL;
            }
            if (m->nformats < UA_SDP_MAX_FORMATS) {
                m->formats[m->nformats++] = pt;
            }
        }
    }
    /* At least one <fmt> is mandatory, and the answer must echo one when it rejects. */
    if (m->first_format[0] == '\0') {
        return -EINVAL;
    }
    m->kind = media_kind(media, proto, has_t38_fmt);

    ps->sdp->nmedia++;
    ps->cur = m;
    ps->cur_has_c = false;
    ps->cur_has_dir = false;
    return 0;
}

/* a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>] (RFC 4566 §6). Only the
 * codecs we can use are told apart; G.711 must be 8000 Hz mono and telephone-event 8000 Hz
 * (RFC 4733 §7.1.1) to count. A payload type not on the m= line is ignored, and the first
 * rtpmap for a payload type wins. */
static void
parse_rtpmap(struct parser *ps, struct tok val)
{
    struct tok pt_tok, encoding, name, rest, clock, channels;
    enum fmt_codec codec = FMT_OTHER;
    int pt;

    if (!tok_next(&val, &pt_tok) || !tok_next(&val, &encoding) || !tok_to_int(pt_tok, 127, &pt)) {
        return;
    }
    (void)tok_split(encoding, '/', &name, &rest);
    bool has_channels = tok_split(rest, '/', &clock, &channels);
    if (tok_eq(clock, "8000")) {
        bool mono = !has_channels || tok_eq(channels, "1");
        if (tok_eq(name, "PCMU") && mono) {
            codec = FMT_PCMU;
        } else if (tok_eq(name, "PCMA") && mono) {
            codec = FMT_PCMA;
        } else if (tok_eq(name, "telephone-event")) {
            codec = FMT_TELEPHONE_EVENT;
        }
    }
    for (int i = 0; i < ps->cur->nformats; i++) {
        if (ps->cur->formats[i] == pt && ps->cur_codec[i] == FMT_NO_RTPMAP) {
            ps->cur_codec[i] = codec;
        }
    }
}

/* T38FaxFillBitRemoval and the transcoding flags: T.38 Annex D.2.3 writes them as bare flags,
 * RFC 4612 and many gateways as ":1" / ":0". Anything else is dropped. */
static void
parse_t38_flag(bool has_value, struct tok value, bool *ret_flag)
{
    if (!has_value || value.n == 0 || tok_eq(value, "1")) {
        *ret_flag = true;
    } else if (tok_eq(value, "0")) {
        *ret_flag = false;
    }
}

/* A positive octet count; absurd sizes mean "no limit we care about", so clamp them. */
static void
parse_t38_size(struct tok value, int clamp, int *ret_size)
{
    int v;
    if (tok_to_int(value, INT_MAX, &v) && v > 0) {
        *ret_size = v < clamp ? v : clamp;
    }
}

/* The T.38 attributes of T.38 Annex D.2.3 (2010 edition for MaxIFP, ECDepth, FECMaxSpan),
 * names matched case-insensitively because gateways vary. A value we cannot read leaves the
 * previous one (normally "absent"). */
static void
parse_t38_attr(struct ua_t38_params *t38, struct tok name, bool has_value, struct tok value)
{
    int v;

    if (tok_eq(name, "T38FaxVersion")) {
        /* Kept as written up to 255; negotiation clamps to the 0..3 we know. */
        if (tok_to_int(value, 255, &v)) {
            t38->version = v;
        }
    } else if (tok_eq(name, "T38MaxBitRate")) {
        /* Below V.27ter's 2400 bit/s no fax modem is left: treat it as unreadable. */
        if (tok_to_int(value, INT_MAX, &v) && v >= 2400) {
            t38->max_bitrate = v;
        }
    } else if (tok_eq(name, "T38FaxFillBitRemoval")) {
        parse_t38_flag(has_value, value, &t38->fill_bit_removal);
    } else if (tok_eq(name, "T38FaxTranscodingMMR")) {
        parse_t38_flag(has_value, value, &t38->transcoding_mmr);
    } else if (tok_eq(name, "T38FaxTranscodingJBIG")) {
        parse_t38_flag(has_value, value, &t38->transcoding_jbig);
    } else if (tok_eq(name, "T38FaxRateManagement")) {
        if (tok_eq(value, "transferredTCF")) {
            t38->rate_management = UA_T38_RATE_TRANSFERRED_TCF;
        } else if (tok_eq(value, "localTCF")) {
            t38->rate_management = UA_T38_RATE_LOCAL_TCF;
        }
    } else if (tok_eq(name, "T38FaxMaxBuffer")) {
        parse_t38_size(value, INT_MAX, &t38->max_buffer);
    } else if (tok_eq(name, "T38FaxMaxDatagram")) {
        /* A UDP payload cannot exceed 65535 octets. */
        parse_t38_size(value, 65535, &t38->max_datagram);
    } else if (tok_eq(name, "T38FaxMaxIFP")) {
        parse_t38_size(value, 65535, &t38->max_ifp);
    } else if (tok_eq(name, "T38FaxUdpEC")) {
        if (tok_eq(value, "t38UDPRedundancy")) {
            t38->ec = UA_T38_EC_REDUNDANCY;
        } else if (tok_eq(value, "t38UDPFEC")) {
            t38->ec = UA_T38_EC_FEC;
        } else if (tok_eq(value, "t38UDPNoEC")) {
            t38->ec = UA_T38_EC_NONE;
        }
    } else if (tok_eq(name, "T38FaxUdpECDepth")) {
        /* "<min>[ <max>]": both small packet counts, max not below min. */
        struct tok lo, hi, extra;
        int lo_v, hi_v;
        if (!tok_next(&value, &lo) || !tok_to_int(lo, 255, &lo_v)) {
            return;
        }
        hi_v = lo_v;
        if (tok_next(&value, &hi) && !tok_to_int(hi, 255, &hi_v)) {
            return;
        }
        if (tok_next(&value, &extra) || hi_v < lo_v) {
            return;
        }
        t38->ec_depth_min = lo_v;
        t38->ec_depth_max = hi_v;
    } else if (tok_eq(name, "T38FaxUdpFECMaxSpan")) {
        if (tok_to_int(value, 255, &v) && v > 0) {
            t38->fec_max_span = v;
        }
    } else if (tok_eq(name, "T38VendorInfo")) {
        /* Free text that ends up in logs: keep visible ASCII and blanks only. */
        size_t n = value.n < sizeof(t38->vendor_info) - 1 ? value.n : sizeof(t38->vendor_info) - 1;
        for (size_t i = 0; i < n; i++) {
            char c = value.p[i];
            t38->vendor_info[i] = (c >= 0x20 && c <= 0x7e) ? c : '?';
        }
        t38->vendor_info[n] = '\0';
    }
}

/* RFC 4568 §6.1: key||salt in base64 of exactly the suite's length, 30 octets for both of
 * ours: 40 characters, never padded. */
static bool
srtp_key_is_valid(struct tok key)
{
    if (key.n != UA_SRTP_KEY_B64_LEN) {
        return false;
    }
    for (size_t i = 0; i < key.n; i++) {
        char c = key.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/')) {
            return false;
        }
    }
    return true;
}

static enum ua_srtp_suite
srtp_suite_from_name(struct tok name)
{
    if (tok_eq(name, "AES_CM_128_HMAC_SHA1_80")) {
        return UA_SRTP_AES_CM_128_HMAC_SHA1_80;
    }
    if (tok_eq(name, "AES_CM_128_HMAC_SHA1_32")) {
        return UA_SRTP_AES_CM_128_HMAC_SHA1_32;
    }
    return UA_SRTP_SUITE_NONE;
}

/* lifetime = ["2^"] 1*DIGIT (RFC 4568 §9.1), in packets; SRTP allows at most 2^48 (RFC 3711
 * §9.2). Only checked for syntax: a fax call sends far fewer packets than any sane one. */
static bool
srtp_lifetime_is_valid(struct tok t)
{
    uint64_t v;

    if (tok_has_prefix(t, "2^")) {
        t.p += 2;
        t.n -= 2;
        return tok_to_u64(t, 48, &v) && v > 0;
    }
    return tok_to_u64(t, UINT64_MAX, &v) && v > 0;
}

/* Session parameters (RFC 4568 §6.3) we may ignore: the window size hint (we keep 128,
 * above the RFC 3711 minimum of 64), the SRTCP ones (we do no SRTCP), and the defaults
 * KDR=0 (no key derivation rate) and FEC_ORDER=FEC_SRTP. Any other parameter changes how
 * packets are protected (UNENCRYPTED_SRTP, UNAUTHENTICATED_SRTP, KDR=n, FEC_KEY, …) or is
 * unknown, and §6.3 says the line is then unusable. */
static bool
srtp_session_param_is_harmless(struct tok t)
{
    struct tok name, value;
    uint64_t v;

    (void)tok_split(t, '=', &name, &value);
    if (tok_eq(name, "WSH")) {
        return tok_to_u64(value, UINT32_MAX, &v) && v >= 64;
    }
    if (tok_eq(name, "KDR")) {
        return tok_eq(value, "0");
    }
    if (tok_eq(name, "FEC_ORDER")) {
        return tok_eq(value, "FEC_SRTP");
    }
    return tok_eq(t, "UNENCRYPTED_SRTCP") || tok_eq(t, "UNAUTHENTICATED_SRTCP");
}

/* a=crypto:<tag> <crypto-suite> <key-params> *(WSP <session-param>) (RFC 4568 §9.1), with
 * key-params = "inline:" <key||salt> ["|" <lifetime>] ["|" <MKI>:<length>] [";" more keys].
 * Kept only if we can key it exactly as written; skipped (as if absent) are:
 *   - a malformed line: bad tag, missing parts, key not 40 base64 characters, bad lifetime,
 *     parts after the MKI;
 *   - a suite we do not do (AES_256_CM_…, F8, AEAD…): the peer may offer it alongside ours;
 *   - an MKI or several keys (";"): the sender would then tag packets with an MKI;
 *   - a session parameter we cannot honour (see above);
 *   - a tag already seen on this m= line (tags identify lines in the answer, §6.1);
 *   - lines beyond UA_SDP_MAX_CRYPTO. */
static void
parse_crypto(struct ua_sdp_media *m, struct tok val)
{
    struct tok tag_tok, suite_tok, params, method, info, key, rest, part, param;
    struct ua_sdp_crypto c = {0};
    uint64_t tag;
    bool has_lifetime = false;

    if (!tok_next(&val, &tag_tok) || !tok_next(&val, &suite_tok) || !tok_next(&val, &params)) {
        return;
    }
    if (tag_tok.n > 9 || !tok_to_u64(tag_tok, 999999999, &tag)) {
        return;
    }
    c.tag = (uint32_t)tag;
    c.suite = srtp_suite_from_name(suite_tok);
    if (c.suite == UA_SRTP_SUITE_NONE || memchr(params.p, ';', params.n)) {
        return;
    }
    if (!tok_split(params, ':', &method, &info) || !tok_eq(method, "inline")) {
        return;
    }
    bool has_more = tok_split(info, '|', &key, &rest);
    if (!srtp_key_is_valid(key)) {
        return;
    }
    while (has_more) {
        has_more = tok_split(rest, '|', &part, &rest);
        if (memchr(part.p, ':', part.n)) {
            /* "<MKI>:<length>": unsupported, and RFC 4568 puts nothing after it. */
            return;
        }
        if (has_lifetime || !srtp_lifetime_is_valid(part)) {
            return;
        }
        has_lifetime = true;
    }
    while (tok_next(&val, &param)) {
        if (!srtp_session_param_is_harmless(param)) {
            return;
        }
    }
    for (int i = 0; i < m->ncrypto; i++) {
        if (m->crypto[i].tag == c.tag) {
            return;
        }
    }
    if (m->ncrypto >= UA_SDP_MAX_CRYPTO) {
        return;
    }
    tok_copy(key, c.key, sizeof(c.key));
    m->crypto[m->ncrypto++] = c;
}

static bool
parse_dir(struct tok name, enum ua_media_dir *ret_dir)
{
    if (tok_eq(name, "sendrecv")) {
        *ret_dir = UA_DIR_SENDRECV;
    } else if (tok_eq(name, "sendonly")) {
        *ret_dir = UA_DIR_SENDONLY;
    } else if (tok_eq(name, "recvonly")) {
        *ret_dir = UA_DIR_RECVONLY;
    } else if (tok_eq(name, "inactive")) {
        *ret_dir = UA_DIR_INACTIVE;
    } else {
        return false;
    }
    return true;
}

/* a=<attribute>[:<value>] (RFC 4566 §5.13). At session level only the direction matters. */
static void
parse_attr(struct parser *ps, struct tok val)
{
    struct tok name, value;
    bool has_value = tok_split(val, ':', &name, &value);
    struct ua_sdp_media *m = ps->cur;
    int v;

    name = tok_trim(name);
    value = tok_trim(value);
    if (!m) {
        (void)parse_dir(name, &ps->session_dir);
        return;
    }
    if (parse_dir(name, &m->dir)) {
        ps->cur_has_dir = true;
    } else if (tok_eq(name, "rtpmap")) {
        parse_rtpmap(ps, value);
    } else if (tok_eq(name, "ptime")) {
        if (tok_to_int(value, 1000, &v) && v > 0) {
            m->ptime = v;
        }
    } else if (tok_eq(name, "crypto")) {
        /* RFC 4568 §9.1: media level only, so the session-level case above drops it. */
        m->has_crypto = true;
        parse_crypto(m, value);
    } else if (m->kind == UA_MEDIA_T38) {
        parse_t38_attr(&m->t38, name, has_value, value);
    }
}

static int
parse_line(struct parser *ps, struct tok line)
{
    struct tok val;

    /* "<type>=<value>" with a one-letter type (RFC 4566 §5). */
    if (line.n < 2 || line.p[1] != '=') {
        /* Not an SDP line: tolerated after v=, like an unknown type. */
        return ps->has_v ? 0 : -EINVAL;
    }
    val = (struct tok){.p = line.p + 2, .n = line.n - 2};
    if (!ps->has_v) {
        /* RFC 4566 §5.1: the body starts with v=0. */
        if (line.p[0] != 'v' || !tok_eq(tok_trim(val), "0")) {
            return -EINVAL;
        }
        ps->has_v = true;
        return 0;
    }
    switch (line.p[0]) {
    case 'v':
        /* A second session description in one body. */
        return -EINVAL;
    case 'o':
        return parse_origin(ps, val);
    case 'c':
        return parse_connection(ps, val);
    case 'm':
        return parse_media(ps, val);
    case 'a':
        parse_attr(ps, val);
        return 0;
    default:
        /* s= i= u= e= p= b= t= r= z= k= and unknown types carry nothing we use. */
        return 0;
    }
}

static int
parse_body(struct parser *ps, const char *body, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len;
        struct tok line = {.p = body + pos, .n = end - pos};
        int r;

        pos = nl ? end + 1 : len;
        /* CRLF or bare LF, and trailing blanks some stacks leave behind. */
        while (line.n > 0 && (line.p[line.n - 1] == '\r' || is_blank(line.p[line.n - 1]))) {
            line.n--;
        }
        if (line.n == 0) {
            continue;
        }
        r = parse_line(ps, line);
        if (r < 0) {
            return r;
        }
    }
    if (!ps->has_v || !ps->has_o) {
        return -EINVAL;
    }
    return finish_media(ps);
}

int
ua_sdp_parse(const char *body, size_t len, struct ua_sdp *ret_sdp)
{
    struct parser ps = {.sdp = ret_sdp};
    int r;

    *ret_sdp = (struct ua_sdp){0};
    if (len > UA_SDP_MAX_BODY) {
        return -E2BIG;
    }
    /* SDP is text: a NUL byte is an attack or a bug, and would cut our copies short. */
    if (!body || len == 0 || memchr(body, '\0', len)) {
        return -EINVAL;
    }
    r = parse_body(&ps, body, len);
    if (r == 0 && ret_sdp->nmedia == 0) {
        r = -EINVAL;
    }
    if (r < 0) {
        *ret_sdp = (struct ua_sdp){0};
    }
    return r;
}

/* Negotiation */

static bool
media_is_live(const struct ua_sdp_media *m)
{
    /* Port 0 is a disabled stream (RFC 3264 §5.1); family 0 is an address we cannot use. */
    return m->port != 0 && (m->family == AF_INET || m->family == AF_INET6);
}

/* Plain RTP profiles. RTP/AVP with a=crypto lines ("best effort SRTP", never standardised)
 * counts as plain: the profile, not the attribute, says whether packets are protected. */
static bool
proto_is_plain_rtp(const char *proto)
{
    struct tok t = {.p = proto, .n = strlen(proto)};
    return tok_eq(t, "RTP/AVP") || tok_eq(t, "RTP/AVPF");
}

/* RTP/SAVP (RFC 3711 §12) and RTP/SAVPF (RFC 5124), keyed by a=crypto (RFC 4568). */
static bool
proto_is_srtp(const char *proto)
{
    struct tok t = {.p = proto, .n = strlen(proto)};
    return tok_eq(t, "RTP/SAVP") || tok_eq(t, "RTP/SAVPF");
}

/* The a=crypto line we answer (RFC 4568 §7.1.1: the answerer picks one of the offered lines).
 * Only usable lines were kept, in the offer's order, so the first is the offerer's first
 * choice among those we support. NULL if none. */
static const struct ua_sdp_crypto *
pick_crypto(const struct ua_sdp_media *m)
{
    return m->ncrypto > 0 ? &m->crypto[0] : NULL;
}

/* Our codec preference, not the offer's order: PCMU first, then PCMA. */
static int
pick_payload_type(const struct ua_sdp_media *m, const struct ua_sdp_prefs *prefs)
{
    if (prefs->pcmu && m->pcmu_pt >= 0) {
        return m->pcmu_pt;
    }
    if (prefs->pcma && m->pcma_pt >= 0) {
        return m->pcma_pt;
    }
    return -1;
}

static int
pick_ptime(int offered)
{
    return offered == 10 || offered == 20 || offered == 30 ? offered : 20;
}

static int
clamp_version(int version)
{
    return version < 0 ? 0 : version > 3 ? 3 : version;
}

/* The smaller of two values where 0 means "not given" (then the other one counts). */
static int
min_given(int a, int b)
{
    if (a <= 0) {
        return b > 0 ? b : 0;
    }
    if (b <= 0) {
        return a;
    }
    return a < b ? a : b;
}

/* Agree on T.38 parameters from the far end's and ours, "negotiate down, never up"
 * (T.38 Annex D.2.3, RFC 3264 §6):
 *   - version, bit rate: the lower of both (an absent bit rate leaves the other side's);
 *     versions above the 3 we know count as 3;
 *   - fill-bit removal and the transcoding flags: only if both sides declared them;
 *   - rate management: always transferredTCF. T.38 requires it (method 2) over UDP, and our
 *     spandsp terminal generates and checks TCF itself; a far end asking localTCF over UDPTL
 *     is answered transferredTCF, which gateways accept;
 *   - EC: the weaker of both in the order none < redundancy < FEC, so FEC only when both do
 *     it, and redundancy when the far end offers redundancy or FEC and we do at least that;
 *   - EC depth and FEC span: the smaller when both sides gave one, else not agreed (0);
 *   - max buffer, datagram and IFP are the far end's receive limits, kept as given (0 = not
 *     given) for t38/ to honour when sending; ours travel separately in our SDP;
 *   - vendor info: the far end's, for logs. */
static void
t38_agree(const struct ua_t38_params *far, const struct ua_t38_params *ours,
          struct ua_t38_params *ret_t38)
{
    int far_version = clamp_version(far->version);
    int our_version = clamp_version(ours->version);
    bool both_ec_depth = far->ec_depth_min > 0 && ours->ec_depth_min > 0;
    bool both_ec_span = far->fec_max_span > 0 && ours->fec_max_span > 0;

    *ret_t38 = (struct ua_t38_params){
        .version = far_version < our_version ? far_version : our_version,
        .max_bitrate = min_given(far->max_bitrate, ours->max_bitrate),
        .fill_bit_removal = far->fill_bit_removal && ours->fill_bit_removal,
        .transcoding_mmr = far->transcoding_mmr && ours->transcoding_mmr,
        .transcoding_jbig = far->transcoding_jbig && ours->transcoding_jbig,
        .rate_management = UA_T38_RATE_TRANSFERRED_TCF,
        .max_buffer = far->max_buffer,
        .max_datagram = far->max_datagram,
        .max_ifp = far->max_ifp,
        .ec = far->ec < ours->ec ? far->ec : ours->ec,
    };
    if (ret_t38->ec != UA_T38_EC_NONE && both_ec_depth) {
        ret_t38->ec_depth_min = min_given(far->ec_depth_min, ours->ec_depth_min);
        ret_t38->ec_depth_max = min_given(far->ec_depth_max, ours->ec_depth_max);
        if (ret_t38->ec_depth_max < ret_t38->ec_depth_min) {
            ret_t38->ec_depth_max = ret_t38->ec_depth_min;
        }
    }
    if (ret_t38->ec == UA_T38_EC_FEC && both_ec_span) {
        ret_t38->fec_max_span = min_given(far->fec_max_span, ours->fec_max_span);
    }
    memcpy(ret_t38->vendor_info, far->vendor_info, sizeof(ret_t38->vendor_info));
    ret_t38->vendor_info[sizeof(ret_t38->vendor_info) - 1] = '\0';
}

/* Fill *ret_media for stream `index` of `sdp` (already known to be live and usable);
 * `crypto` is the far end's a=crypto line for SRTP, NULL for plain RTP and T.38. */
static void
describe_stream(const struct ua_sdp *sdp, int index, int payload_type,
                const struct ua_sdp_crypto *crypto, const struct ua_sdp_prefs *prefs,
                struct ua_media_desc *ret_media)
{
    const struct ua_sdp_media *m = &sdp->media[index];

    *ret_media = (struct ua_media_desc){
        .kind = m->kind,
        .index = index,
        .family = m->family,
        .port = m->port,
        .payload_type = -1,
        .telephone_event_pt = -1,
        .dir = m->dir,
    };
    memcpy(ret_media->addr, m->addr, sizeof(ret_media->addr));
    ret_media->addr[sizeof(ret_media->addr) - 1] = '\0';
    if (m->kind == UA_MEDIA_AUDIO) {
        ret_media->payload_type = payload_type;
        ret_media->ptime = pick_ptime(m->ptime);
        if (m->telephone_event_pt != payload_type) {
            ret_media->telephone_event_pt = m->telephone_event_pt;
        }
        if (crypto) {
            ret_media->srtp_suite = crypto->suite;
            ret_media->srtp_tag = crypto->tag;
            memcpy(ret_media->srtp_key, crypto->key, sizeof(ret_media->srtp_key));
            ret_media->srtp_key[sizeof(ret_media->srtp_key) - 1] = '\0';
        }
    } else {
        t38_agree(&m->t38, &prefs->t38, &ret_media->t38);
        ret_media->local_max_buffer = prefs->t38.max_buffer;
        ret_media->local_max_datagram = prefs->t38.max_datagram;
    }
}

static int
media_count(const struct ua_sdp *sdp)
{
    return sdp->nmedia < 0 ? 0 : sdp->nmedia > UA_SDP_MAX_MEDIA ? UA_SDP_MAX_MEDIA : sdp->nmedia;
}

int
ua_sdp_negotiate(const struct ua_sdp *offer, const struct ua_sdp_prefs *prefs,
                 struct ua_media_desc *ret_media)
{
    int t38_index = -1, plain_index = -1, plain_pt = -1, srtp_index = -1, srtp_pt = -1;
    const struct ua_sdp_crypto *srtp_crypto = NULL;
    int n = media_count(offer);
    /* REQUIRED means no cleartext media at all: T.38 over UDPTL has no standard encryption
     * (RFC 4568 keys RTP/SAVP only), so it is refused like plain RTP. */
    bool may_t38 = prefs->t38_enabled && prefs->srtp != UA_SRTP_REQUIRED;
    bool may_plain = prefs->srtp != UA_SRTP_REQUIRED;
    bool may_srtp = prefs->srtp != UA_SRTP_OFF;

    *ret_media = (struct ua_media_desc){.kind = UA_MEDIA_NONE, .index = -1};
    /* The first usable stream of each kind; a stream on hold (sendonly, recvonly, inactive)
     * is still a stream: the direction travels in ret_media->dir. */
    for (int i = 0; i < n; i++) {
        const struct ua_sdp_media *m = &offer->media[i];
        int pt;

        if (!media_is_live(m)) {
            continue;
        }
        if (m->kind == UA_MEDIA_T38) {
            if (may_t38 && t38_index < 0) {
                t38_index = i;
            }
            continue;
        }
        if (m->kind != UA_MEDIA_AUDIO || (pt = pick_payload_type(m, prefs)) < 0) {
            continue;
        }
        if (proto_is_plain_rtp(m->proto) && may_plain && plain_index < 0) {
            plain_index = i;
            plain_pt = pt;
        } else if (proto_is_srtp(m->proto) && may_srtp && srtp_index < 0 && pick_crypto(m)) {
            srtp_index = i;
            srtp_pt = pt;
            srtp_crypto = pick_crypto(m);
        }
    }
    /* Both kinds offered at once (a fax-aware gateway): prefs decide, not the offer order. */
    if (t38_index >= 0 && (prefs->prefer_t38 || (srtp_index < 0 && plain_index < 0))) {
        describe_stream(offer, t38_index, -1, NULL, prefs, ret_media);
        return 0;
    }
    /* An offer with an SRTP and a plain audio stream (RFC 5939-less "best effort" gateways
     * send two m= lines): the protected one. */
    if (srtp_index >= 0) {
        describe_stream(offer, srtp_index, srtp_pt, srtp_crypto, prefs, ret_media);
        return 0;
    }
    if (plain_index >= 0) {
        describe_stream(offer, plain_index, plain_pt, NULL, prefs, ret_media);
        return 0;
    }
    return -ENOMEDIUM;
}

/* The a=crypto line of an answer to our SRTP offer: it must name one of the lines we
 * offered, tag and suite (RFC 4568 §7.1.3, §7.5: otherwise the answer is unusable). Our offer
 * is fixed by prefs, so its tags are known constants. */
static const struct ua_sdp_crypto *
answered_crypto(const struct ua_sdp_media *m)
{
    /* §7.1.2: the answer has exactly one line; an extra one is tolerated, the first counts. */
    const struct ua_sdp_crypto *c = pick_crypto(m);

    if (!c) {
        return NULL;
    }
    if ((c->tag == UA_SRTP_OFFER_TAG_80 && c->suite == UA_SRTP_AES_CM_128_HMAC_SHA1_80) ||
        (c->tag == UA_SRTP_OFFER_TAG_32 && c->suite == UA_SRTP_AES_CM_128_HMAC_SHA1_32)) {
        return c;
    }
    return NULL;
}

int
ua_sdp_accept_answer(const struct ua_sdp *answer, enum ua_media_kind kind,
                     const struct ua_sdp_prefs *prefs, struct ua_media_desc *ret_media)
{
    int n = media_count(answer);

    *ret_media = (struct ua_media_desc){.kind = UA_MEDIA_NONE, .index = -1};
    if (kind != UA_MEDIA_AUDIO && kind != UA_MEDIA_T38) {
        return -EINVAL;
    }
    /* We never offer T.38 under REQUIRED (ua_sdp_write_offer refuses), so never accept it. */
    if (kind == UA_MEDIA_T38 && prefs->srtp == UA_SRTP_REQUIRED) {
        return -ENOMEDIUM;
    }
    /* RFC 3264 §6: the answer has our one m= line, port 0 if refused. Looking for the kind
     * rather than at index 0 also copes with answers that reorder or add lines. */
    for (int i = 0; i < n; i++) {
        const struct ua_sdp_media *m = &answer->media[i];
        const struct ua_sdp_crypto *crypto = NULL;
        int pt = -1;

        if (m->kind != kind || !media_is_live(m)) {
            continue;
        }
        if (kind == UA_MEDIA_AUDIO) {
            /* SRTP only if we offered it. A plain answer to our RTP/SAVP offer breaks RFC 3264
             * §6.1 (same transport), but it is how a peer without SRTP says so; OPTIONAL takes
             * it, REQUIRED does not. */
            if (proto_is_srtp(m->proto)) {
                crypto = prefs->srtp != UA_SRTP_OFF ? answered_crypto(m) : NULL;
                if (!crypto) {
                    continue;
                }
            } else if (!proto_is_plain_rtp(m->proto) || prefs->srtp == UA_SRTP_REQUIRED) {
                continue;
            }
            pt = pick_payload_type(m, prefs);
            if (pt < 0) {
                continue;
            }
        }
        describe_stream(answer, i, pt, crypto, prefs, ret_media);
        /* We offered no telephone-event, so an answer cannot have agreed to one. */
        ret_media->telephone_event_pt = -1;
        return 0;
    }
    return -ENOMEDIUM;
}

/* Writing */

struct writer {
    char *buf;
    size_t size;
    size_t len;
    bool is_full;
};

static void writer_printf(struct writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
writer_printf(struct writer *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->is_full) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->len, w->size - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->size - w->len) {
        w->is_full = true;
        return;
    }
    w->len += (size_t)n;
}

static int
writer_finish(struct writer *w)
{
    if (w->is_full || w->len > INT_MAX) {
        if (w->size > 0) {
            w->buf[0] = '\0';
        }
        return -ENOSPC;
    }
    return (int)w->len;
}

static const char *
srtp_suite_name(enum ua_srtp_suite suite)
{
    switch (suite) {
    case UA_SRTP_AES_CM_128_HMAC_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    case UA_SRTP_AES_CM_128_HMAC_SHA1_32:
        return "AES_CM_128_HMAC_SHA1_32";
    default:
        return NULL;
    }
}

/* Our key goes verbatim into the SDP: it must be a key, not a line break. */
static bool
local_key_is_valid(const struct ua_sdp_local *local)
{
    if (!local->srtp_key) {
        return false;
    }
    const char *end = memchr(local->srtp_key, '\0', UA_SRTP_KEY_B64_LEN + 1);
    return end && srtp_key_is_valid(
                      (struct tok){.p = local->srtp_key, .n = (size_t)(end - local->srtp_key)});
}

/* Our address must be a literal of the stated family: it goes verbatim into o= and c=. */
static bool
local_is_valid(const struct ua_sdp_local *local)
{
    struct in6_addr bin;

    if (!local || !local->addr || local->port == 0 || strlen(local->addr) >= UA_SDP_ADDR_LEN) {
        return false;
    }
    if (local->family != AF_INET && local->family != AF_INET6) {
        return false;
    }
    return inet_pton(local->family, local->addr, &bin) == 1;
}

static void
write_session(struct writer *w, const struct ua_sdp_local *local)
{
    const char *ip = local->family == AF_INET6 ? "IP6" : "IP4";

    writer_printf(w,
                  "v=0\r\n"
                  "o=inkless %" PRIu64 " %" PRIu64 " IN %s %s\r\n"
                  "s=inkless\r\n"
                  "c=IN %s %s\r\n"
                  "t=0 0\r\n",
                  local->sess_id, local->sess_version, ip, local->addr, ip, local->addr);
}

static const char *
dir_name(enum ua_media_dir dir)
{
    switch (dir) {
    case UA_DIR_SENDONLY:
        return "sendonly";
    case UA_DIR_RECVONLY:
        return "recvonly";
    case UA_DIR_INACTIVE:
        return "inactive";
    default:
        return "sendrecv";
    }
}

/* RFC 3264 §6.1: sendonly is answered recvonly and the reverse; inactive stays inactive. */
static enum ua_media_dir
dir_answer(enum ua_media_dir far)
{
    switch (far) {
    case UA_DIR_SENDONLY:
        return UA_DIR_RECVONLY;
    case UA_DIR_RECVONLY:
        return UA_DIR_SENDONLY;
    case UA_DIR_INACTIVE:
        return UA_DIR_INACTIVE;
    default:
        return UA_DIR_SENDRECV;
    }
}

static const char *
ec_name(enum ua_t38_ec ec)
{
    switch (ec) {
    case UA_T38_EC_REDUNDANCY:
        return "t38UDPRedundancy";
    case UA_T38_EC_FEC:
        return "t38UDPFEC";
    default:
        return "t38UDPNoEC";
    }
}

/* The T.38 attribute block after our m=image line. The version, rate management and EC are
 * always written (their absence has a meaning of its own); the numbers only when set, the
 * flags only when true, as bare flags (T.38 Annex D.2.3 form, which every gateway reads). */
static void
write_t38_attrs(struct writer *w, const struct ua_t38_params *t38, int max_buffer, int max_datagram,
                bool is_offer)
{
    writer_printf(w, "a=T38FaxVersion:%d\r\n", clamp_version(t38->version));
    if (t38->max_bitrate > 0) {
        writer_printf(w, "a=T38MaxBitRate:%d\r\n", t38->max_bitrate);
    }
    if (t38->fill_bit_removal) {
        writer_printf(w, "a=T38FaxFillBitRemoval\r\n");
    }
    if (t38->transcoding_mmr) {
        writer_printf(w, "a=T38FaxTranscodingMMR\r\n");
    }
    if (t38->transcoding_jbig) {
        writer_printf(w, "a=T38FaxTranscodingJBIG\r\n");
    }
    writer_printf(w, "a=T38FaxRateManagement:%s\r\n",
                  t38->rate_management == UA_T38_RATE_LOCAL_TCF ? "localTCF" : "transferredTCF");
    if (max_buffer > 0) {
        writer_printf(w, "a=T38FaxMaxBuffer:%d\r\n", max_buffer);
    }
    if (max_datagram > 0) {
        writer_printf(w, "a=T38FaxMaxDatagram:%d\r\n", max_datagram);
    }
    if (is_offer && t38->max_ifp > 0) {
        writer_printf(w, "a=T38FaxMaxIFP:%d\r\n", t38->max_ifp);
    }
    writer_printf(w, "a=T38FaxUdpEC:%s\r\n", ec_name(t38->ec));
    if (t38->ec != UA_T38_EC_NONE && t38->ec_depth_min > 0) {
        if (t38->ec_depth_max > t38->ec_depth_min) {
            writer_printf(w, "a=T38FaxUdpECDepth:%d %d\r\n", t38->ec_depth_min, t38->ec_depth_max);
        } else {
            writer_printf(w, "a=T38FaxUdpECDepth:%d\r\n", t38->ec_depth_min);
        }
    }
    if (t38->ec == UA_T38_EC_FEC && t38->fec_max_span > 0) {
        writer_printf(w, "a=T38FaxUdpFECMaxSpan:%d\r\n", t38->fec_max_span);
    }
    if (is_offer && t38->vendor_info[0] != '\0') {
        /* Same filter as parsing: this is a config string, but it must not end the line. */
        char info[sizeof(t38->vendor_info)];
        size_t i;
        for (i = 0; i < sizeof(info) - 1 && t38->vendor_info[i] != '\0'; i++) {
            char c = t38->vendor_info[i];
            info[i] = (c >= 0x20 && c <= 0x7e) ? c : '?';
        }
        info[i] = '\0';
        writer_printf(w, "a=T38VendorInfo:%s\r\n", info);
    }
}

int
ua_sdp_write_answer(const struct ua_sdp *offer, const struct ua_media_desc *chosen,
                    const struct ua_sdp_local *local, char *buf, size_t size)
{
    struct writer w = {.buf = buf, .size = size, .is_full = size == 0 || !buf};
    int n = media_count(offer);
    const struct ua_sdp_media *cm;
    const char *codec;

    if (!chosen || chosen->index < 0 || chosen->index >= n || !local_is_valid(local)) {
        return -EINVAL;
    }
    cm = &offer->media[chosen->index];
    if (chosen->kind == UA_MEDIA_NONE || cm->kind != chosen->kind) {
        return -EINVAL;
    }
    /* SRTP exactly when the offer's profile is SRTP (negotiate never chooses otherwise), with
     * a suite we know, their tag, and our key. */
    bool is_srtp = chosen->srtp_suite != UA_SRTP_SUITE_NONE;
    if (chosen->kind == UA_MEDIA_AUDIO && is_srtp != proto_is_srtp(cm->proto)) {
        return -EINVAL;
    }
    if (is_srtp && (chosen->kind != UA_MEDIA_AUDIO || !srtp_suite_name(chosen->srtp_suite) ||
                    chosen->srtp_tag > 999999999 || !local_key_is_valid(local))) {
        return -EINVAL;
    }
    codec = NULL;
    if (chosen->kind == UA_MEDIA_AUDIO) {
        if (chosen->payload_type >= 0 && chosen->payload_type == cm->pcmu_pt) {
            codec = "PCMU";
        } else if (chosen->payload_type >= 0 && chosen->payload_type == cm->pcma_pt) {
            codec = "PCMA";
        } else {
            return -EINVAL;
        }
    }

    write_session(&w, local);
    /* RFC 3264 §6: one m= line per offered one, in order; refused ones with port 0 and the
     * offer's own media, proto and (one) format. */
    for (int i = 0; i < n; i++) {
        const struct ua_sdp_media *m = &offer->media[i];

        if (i != chosen->index) {
            writer_printf(&w, "m=%s 0 %s %s\r\n", m->media, m->proto, m->first_format);
            continue;
        }
        if (chosen->kind == UA_MEDIA_AUDIO) {
            int pt = chosen->payload_type;
            int te = chosen->telephone_event_pt;
            bool has_te = te >= 0 && te <= 127 && te != pt;

            if (has_te) {
                writer_printf(&w, "m=audio %u %s %d %d\r\n", (unsigned)local->port, m->proto, pt,
                              te);
            } else {
                writer_printf(&w, "m=audio %u %s %d\r\n", (unsigned)local->port, m->proto, pt);
            }
            writer_printf(&w, "a=rtpmap:%d %s/8000\r\n", pt, codec);
            if (has_te) {
                /* RFC 4733 §7.1.1: events 0-15 are the DTMF digits. */
                writer_printf(&w, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", te, te);
            }
            writer_printf(&w, "a=ptime:%d\r\n", pick_ptime(chosen->ptime));
            writer_printf(&w, "a=%s\r\n", dir_name(dir_answer(chosen->dir)));
            if (is_srtp) {
                /* RFC 4568 §7.1.2: the offer's tag and suite, our own key. */
                writer_printf(&w, "a=crypto:%" PRIu32 " %s inline:%s\r\n", chosen->srtp_tag,
                              srtp_suite_name(chosen->srtp_suite), local->srtp_key);
            }
        } else {
            writer_printf(&w, "m=image %u udptl t38\r\n", (unsigned)local->port);
            write_t38_attrs(&w, &chosen->t38, chosen->local_max_buffer, chosen->local_max_datagram,
                            false);
            if (dir_answer(chosen->dir) != UA_DIR_SENDRECV) {
                writer_printf(&w, "a=%s\r\n", dir_name(dir_answer(chosen->dir)));
            }
        }
    }
    return writer_finish(&w);
}

int
ua_sdp_write_offer(enum ua_media_kind kind, const struct ua_sdp_prefs *prefs,
                   const struct ua_sdp_local *local, char *buf, size_t size)
{
    struct writer w = {.buf = buf, .size = size, .is_full = size == 0 || !buf};

    if (!local_is_valid(local)) {
        return -EINVAL;
    }
    if (kind == UA_MEDIA_AUDIO) {
        bool is_srtp = prefs->srtp != UA_SRTP_OFF;
        if (!prefs->pcmu && !prefs->pcma) {
            return -EINVAL;
        }
        if (is_srtp && !local_key_is_valid(local)) {
            return -EINVAL;
        }
        write_session(&w, local);
        writer_printf(&w, "m=audio %u %s%s%s\r\n", (unsigned)local->port,
                      is_srtp ? "RTP/SAVP" : "RTP/AVP", prefs->pcmu ? " 0" : "",
                      prefs->pcma ? " 8" : "");
        if (prefs->pcmu) {
            writer_printf(&w, "a=rtpmap:0 PCMU/8000\r\n");
        }
        if (prefs->pcma) {
            writer_printf(&w, "a=rtpmap:8 PCMA/8000\r\n");
        }
        writer_printf(&w, "a=ptime:20\r\na=sendrecv\r\n");
        if (is_srtp) {
            /* RFC 4568 §7.1.1: one line per suite, most preferred first. The same key in
             * both is safe: the answer selects one line, and only that one is ever used. */
            writer_printf(&w,
                          "a=crypto:%d AES_CM_128_HMAC_SHA1_80 inline:%s\r\n"
                          "a=crypto:%d AES_CM_128_HMAC_SHA1_32 inline:%s\r\n",
                          UA_SRTP_OFFER_TAG_80, local->srtp_key, UA_SRTP_OFFER_TAG_32,
                          local->srtp_key);
        }
    } else if (kind == UA_MEDIA_T38) {
        /* No cleartext media under REQUIRED, see ua_sdp_negotiate(). */
        if (!prefs->t38_enabled || prefs->srtp == UA_SRTP_REQUIRED) {
            return -EINVAL;
        }
        write_session(&w, local);
        writer_printf(&w, "m=image %u udptl t38\r\n", (unsigned)local->port);
        write_t38_attrs(&w, &prefs->t38, prefs->t38.max_buffer, prefs->t38.max_datagram, true);
    } else {
        return -EINVAL;
    }
    return writer_finish(&w);
}

const char *
ua_media_kind_name(enum ua_media_kind kind)
{
    switch (kind) {
    case UA_MEDIA_AUDIO:
        return "audio";
    case UA_MEDIA_T38:
        return "t38";
    default:
        return "none";
    }
}

const char *
ua_srtp_suite_name(enum ua_srtp_suite suite)
{
    const char *name = srtp_suite_name(suite);
    return name ? name : "none";
}
