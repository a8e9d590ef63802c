/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SRTP for one channel over libsrtp2: SDES keys decoded from base64, one libsrtp2 session per
 * direction, and libsrtp2's status codes turned into -errno.
 *
 * DESIGN: libsrtp2 keeps one "template" stream per session for a wildcard SSRC policy, so
 * sending (ssrc_any_outbound) and receiving (ssrc_any_inbound) need two sessions. On the
 * receive side libsrtp2 authenticates a packet from an unknown SSRC against the template and
 * only clones the template into a new stream (one allocation) once the packet authenticated
 * (srtp_unprotect_mki in libsrtp2 2.x). We still cap the number of far-end SSRCs, because
 * each clone lives until the session ends. Packets are checked before libsrtp2 sees them
 * (version, header length, room for the tag), so its parser only ever gets sane headers.
 */
#include "srtp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <srtp2/srtp.h>

_Static_assert(FX38_SRTP_TRAILER_ROOM == SRTP_MAX_TRAILER_LEN, "libsrtp2 trailer room changed");
_Static_assert(FX38_SRTP_KEY_LEN == SRTP_AES_ICM_128_KEY_LEN_WSALT, "AES-CM-128 key||salt");

#define RTP_HEADER_LEN 12
#define RTP_MAX_LEN 65535

struct fx38_srtp {
    srtp_t tx;
    srtp_t rx;
    size_t rx_tag_len;
    int nssrc; /* far-end SSRCs that authenticated, in rx_ssrc[] */
    uint32_t rx_ssrc[FX38_SRTP_MAX_RX_SSRC];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result; /* written once under init_once, read after it */

static void
init_library(void)
{
    init_result = srtp_init() == srtp_err_status_ok ? 0 : -EIO;
}

int
fx38_srtp_init(void)
{
    (void)pthread_once(&init_once, init_library);
    return init_result;
}

/* The RFC 4568 §6.2 suites we support; both use AES-CM-128 with a 30-octet key||salt and
 * differ only in the HMAC-SHA1 tag length (RFC 3711 §5.2: 80 bits by default, 32 allowed). */
static bool
suite_policy(enum fx38_srtp_suite suite, srtp_crypto_policy_t *ret_policy, size_t *ret_tag_len)
{
    switch (suite) {
    case FX38_SRTP_AES_CM_128_HMAC_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(ret_policy);
        *ret_tag_len = 10;
        return true;
    case FX38_SRTP_AES_CM_128_HMAC_SHA1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(ret_policy);
        *ret_tag_len = 4;
        return true;
    default:
        return false;
    }
}

const char *
fx38_srtp_suite_name(enum fx38_srtp_suite suite)
{
    switch (suite) {
    case FX38_SRTP_AES_CM_128_HMAC_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    case FX38_SRTP_AES_CM_128_HMAC_SHA1_32:
        return "AES_CM_128_HMAC_SHA1_32";
    default:
        return "none";
    }
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* RFC 4568 §6.1: the key is base64 (RFC 3548) of exactly the suite's key||salt length. 30
 * octets encode to 40 characters without padding, so anything else is malformed. */
static int
key_decode(enum fx38_srtp_suite suite, const char *key, uint8_t ret_bytes[FX38_SRTP_KEY_LEN])
{
    srtp_crypto_policy_t policy;
    size_t tag_len;
    const char *end;

    if (!suite_policy(suite, &policy, &tag_len) || !key) {
        return -EINVAL;
    }
    end = memchr(key, '\0', FX38_SRTP_KEY_B64_LEN + 1);
    if (!end || end - key != FX38_SRTP_KEY_B64_LEN) {
        return -EINVAL;
    }
    for (size_t i = 0, o = 0; i < FX38_SRTP_KEY_B64_LEN; i += 4, o += 3) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = b64_value(key[i + (size_t)j]);
            if (v[j] < 0) {
                return -EINVAL;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        ret_bytes[o] = (uint8_t)(w >> 16);
        ret_bytes[o + 1] = (uint8_t)(w >> 8);
        ret_bytes[o + 2] = (uint8_t)w;
    }
    return 0;
}

int
fx38_srtp_key_check(enum fx38_srtp_suite suite, const char *key)
{
    uint8_t bytes[FX38_SRTP_KEY_LEN];
    int r = key_decode(suite, key, bytes);

    explicit_bzero(bytes, sizeof(bytes));
    return r;
}

int
fx38_srtp_key_generate(enum fx38_srtp_suite suite, char *ret_key, size_t size)
{
    srtp_crypto_policy_t policy;
    uint8_t bytes[FX38_SRTP_KEY_LEN];
    size_t tag_len, got = 0;

    if (size > 0) {
        ret_key[0] = '\0';
    }
    if (!suite_policy(suite, &policy, &tag_len)) {
        return -EINVAL;
    }
    if (size < FX38_SRTP_KEY_B64_LEN + 1) {
        return -ENOSPC;
    }
    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int r = -errno;
            explicit_bzero(bytes, sizeof(bytes));
            return r;
        }
        got += (size_t)n;
    }
    for (size_t i = 0, o = 0; i < sizeof(bytes); i += 3, o += 4) {
        uint32_t w = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        ret_key[o] = b64_alphabet[w >> 18 & 63];
        ret_key[o + 1] = b64_alphabet[w >> 12 & 63];
        ret_key[o + 2] = b64_alphabet[w >> 6 & 63];
        ret_key[o + 3] = b64_alphabet[w & 63];
    }
    ret_key[FX38_SRTP_KEY_B64_LEN] = '\0';
    explicit_bzero(bytes, sizeof(bytes));
    return 0;
}

/* One session with one wildcard stream. RTCP gets the null cipher and null authentication:
 * we never call srtp_protect_rtcp/srtp_unprotect_rtcp, and a real RTCP policy would double
 * the memory of each session (one more cipher and HMAC context, about 14 KiB with the NSS
 * backend Debian builds libsrtp2 with). allow_repeat_tx stays 0: sending two packets with the
 * same index under one key would reuse keystream (RFC 3711 §9.1). */
static int
session_create(enum fx38_srtp_suite suite, const char *key, srtp_ssrc_type_t direction,
               srtp_t *ret_session, size_t *ret_tag_len)
{
    uint8_t bytes[FX38_SRTP_KEY_LEN];
    srtp_policy_t policy = {
        .ssrc = {.type = direction},
        .key = bytes,
        .window_size = 128,
    };
    srtp_err_status_t st;
    int r;

    if (!suite_policy(suite, &policy.rtp, ret_tag_len)) {
        return -EINVAL;
    }
    srtp_crypto_policy_set_null_cipher_hmac_null(&policy.rtcp);
    r = key_decode(suite, key, bytes);
    if (r < 0) {
        explicit_bzero(bytes, sizeof(bytes));
        return r;
    }
    st = srtp_create(ret_session, &policy);
    explicit_bzero(bytes, sizeof(bytes));
    if (st != srtp_err_status_ok) {
        *ret_session = NULL;
        return st == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
    }
    return 0;
}

int
fx38_srtp_new(enum fx38_srtp_suite tx_suite, const char *tx_key, enum fx38_srtp_suite rx_suite,
              const char *rx_key, struct fx38_srtp **ret_srtp)
{
    struct fx38_srtp *s;
    size_t tx_tag_len;
    int r;

    *ret_srtp = NULL;
    /* Validate both keys before touching libsrtp2, so a bad key is always -EINVAL. */
    if (fx38_srtp_key_check(tx_suite, tx_key) < 0 || fx38_srtp_key_check(rx_suite, rx_key) < 0) {
        return -EINVAL;
    }
    r = fx38_srtp_init();
    if (r < 0) {
        return r;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return -ENOMEM;
    }
    r = session_create(tx_suite, tx_key, ssrc_any_outbound, &s->tx, &tx_tag_len);
    if (r == 0) {
        r = session_create(rx_suite, rx_key, ssrc_any_inbound, &s->rx, &s->rx_tag_len);
    }
    if (r < 0) {
        fx38_srtp_free(s);
        return r;
    }
    *ret_srtp = s;
    return 0;
}

void
fx38_srtp_free(struct fx38_srtp *srtp)
{
    if (!srtp) {
        return;
    }
    if (srtp->tx) {
        (void)srtp_dealloc(srtp->tx);
    }
    if (srtp->rx) {
        (void)srtp_dealloc(srtp->rx);
    }
    free(srtp);
}

/* libsrtp2's verdicts as -errno (see srtp.h for what each means to the caller). */
static int
status_to_errno(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        return -EACCES;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return -EALREADY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
        return -EBADMSG;
    case srtp_err_status_alloc_fail:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

/* Length of the RTP header (RFC 3550 §5.1, §5.3.1): fixed part, CSRCs, and the extension
 * header if X is set. Returns 0 if it does not fit in len octets or the version is not 2. */
static size_t
rtp_header_len(const uint8_t *pkt, size_t len)
{
    size_t n = RTP_HEADER_LEN;

    if (len < RTP_HEADER_LEN || pkt[0] >> 6 != 2) {
        return 0;
    }
    n += 4 * (size_t)(pkt[0] & 0x0f);
    if (pkt[0] & 0x10) {
        if (len < n + 4) {
            return 0;
        }
        n += 4 + 4 * ((size_t)pkt[n + 2] << 8 | pkt[n + 3]);
    }
    return n <= len ? n : 0;
}

int
fx38_srtp_protect(struct fx38_srtp *srtp, uint8_t *pkt, size_t len, size_t size)
{
    int n;

    if (len > RTP_MAX_LEN || rtp_header_len(pkt, len) == 0) {
        return -EINVAL;
    }
    if (size < len + FX38_SRTP_TRAILER_ROOM) {
        return -EMSGSIZE;
    }
    n = (int)len;
    int r = status_to_errno(srtp_protect(srtp->tx, pkt, &n));
    if (r == -EBADMSG) {
        /* Our own packet: what libsrtp2 calls a bad parameter is the caller's. */
        r = -EINVAL;
    }
    return r < 0 ? r : n;
}

static bool
ssrc_is_known(const struct fx38_srtp *srtp, uint32_t ssrc)
{
    for (int i = 0; i < srtp->nssrc; i++) {
        if (srtp->rx_ssrc[i] == ssrc) {
            return true;
        }
    }
    return false;
}

int
fx38_srtp_unprotect(struct fx38_srtp *srtp, uint8_t *pkt, size_t len)
{
    size_t header_len;
    uint32_t ssrc;
    bool is_new;
    int n, r;

    if (len < RTP_HEADER_LEN || pkt[0] >> 6 != 2 || len > RTP_MAX_LEN) {
        return -EBADMSG;
    }
    /* RFC 5761 §4: RTCP packet types 192..223 in the second octet (as RTP: marker set and
     * PT 64..95, which RTP must not use). SRTCP would need its own index and keys. */
    if (pkt[1] >= 192 && pkt[1] <= 223) {
        return -ENOMSG;
    }
    header_len = rtp_header_len(pkt, len);
    if (header_len == 0 || len < header_len + srtp->rx_tag_len) {
        return -EBADMSG;
    }
    ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
    is_new = !ssrc_is_known(srtp, ssrc);
    if (is_new && srtp->nssrc >= FX38_SRTP_MAX_RX_SSRC) {
        return -EDQUOT;
    }
    n = (int)len;
    r = status_to_errno(srtp_unprotect(srtp->rx, pkt, &n));
    if (r < 0) {
        return r;
    }
    if (is_new) {
        srtp->rx_ssrc[srtp->nssrc++] = ssrc;
    }
    return n;
}
