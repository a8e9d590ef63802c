/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for t38/rtp.c and t38/jitter.c. The first octet picks the law, delay and
 * telephone-event PT; then a stream of records, each one octet of op:
 *   even: a hostile packet (2 octets of length, then that many octets) for fx38_rtp_parse,
 *         checked against the bytes, rebuilt with fx38_rtp_build and parsed back; audio
 *         payloads are pushed into the jitter buffer;
 *   odd:  a pull of (op >> 1) * 7 samples, each of which must be silence or an octet value
 *         that was pushed (the buffer never invents audio).
 * Build: clang -g -fsanitize=fuzzer,address,undefined -I t38 t38/rtp.c t38/jitter.c
 *        tests/fuzz/fuzz_rtp.c
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jitter.h"
#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fx38_jitter jb;
static bool pushed[256]; /* octet values pushed since init */

static void
check_parsed(const uint8_t *pkt, size_t len, int audio_pt, int event_pt)
{
    struct fx38_rtp_packet p, q;
    struct fx38_rtp_tx tx;
    uint8_t buf[FX38_RTP_HEADER_LEN + FX38_RTP_MAX_PAYLOAD];
    size_t i;
    int n, rc;

    rc = fx38_rtp_parse(pkt, len, audio_pt, event_pt, &p);
    if (rc == -EBADMSG)
        return;
    if (rc != 0 || p.payload < pkt || p.payload_len > len ||
        (size_t)(p.payload - pkt) > len - p.payload_len)
        abort(); /* the payload lies inside the packet */
    if (p.kind == FX38_RTP_RTCP)
        return;
    if (len < FX38_RTP_HEADER_LEN || p.seq != (pkt[2] << 8 | pkt[3]) ||
        p.payload_type != (pkt[1] & 0x7f) || p.is_marker != (pkt[1] >> 7) ||
        (size_t)(p.payload - pkt) < FX38_RTP_HEADER_LEN + 4u * p.csrc_count)
        abort();
    if (p.kind == FX38_RTP_AUDIO) {
        rc = fx38_jitter_push(&jb, p.ssrc, p.seq, p.timestamp, p.payload, p.payload_len);
        if (rc < 0 && !(p.payload_len == 0 || p.payload_len > FX38_JITTER_MAX_PACKET))
            abort();
        for (i = 0; rc >= 0 && i < p.payload_len; i++)
            pushed[p.payload[i]] = true;
        if (jb.stats.depth > FX38_JITTER_RING)
            abort();
    }

    /* our own packet with the same payload parses back to it (PT 64..95 with our first
     * packet's marker would read as RTCP: RFC 5761 §4 forbids those) */
    if (p.payload_type >= 64 && p.payload_type <= 95)
        return;
    fx38_rtp_tx_init(&tx, p.payload_type, p.ssrc, p.seq, p.timestamp);
    n = fx38_rtp_build(&tx, p.payload, p.payload_len, buf, sizeof(buf));
    if (n < 0) {
        if (p.payload_len != 0 && p.payload_len <= FX38_RTP_MAX_PAYLOAD)
            abort();
        return;
    }
    if (fx38_rtp_parse(buf, (size_t)n, audio_pt, event_pt, &q) != 0 || q.kind != p.kind ||
        q.seq != p.seq || q.timestamp != p.timestamp || q.ssrc != p.ssrc || !q.is_marker ||
        q.payload_len != p.payload_len || memcmp(q.payload, p.payload, p.payload_len) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fx38_jitter_config c = {0};
    uint8_t out[255 * 7];
    int event_pt;
    size_t n, i;

    if (size < 1)
        return 0;
    c.is_alaw = data[0] & 1;
    c.delay = (data[0] >> 1 & 7) * 160;
    event_pt = data[0] & 0x10 ? 101 : -1;
    if (fx38_jitter_init(&jb, &c) != 0)
        abort();
    memset(pushed, 0, sizeof(pushed));
    pushed[c.is_alaw ? 0xD5 : 0xFF] = true;
    data++;
    size--;
    while (size >= 1) {
        uint8_t op = data[0];
        data++;
        size--;
        if (op & 1) {
            n = (size_t)(op >> 1) * 7;
            fx38_jitter_pull(&jb, out, n);
            for (i = 0; i < n; i++)
                if (!pushed[out[i]])
                    abort();
            continue;
        }
        if (size < 2)
            break;
        n = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        check_parsed(data, n, c.is_alaw ? FX38_RTP_PT_PCMA : FX38_RTP_PT_PCMU, event_pt);
        data += n;
        size -= n;
    }
    return 0;
}
