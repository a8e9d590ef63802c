/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for t38/udptl.c. The first octet picks a mode:
 *   even: the rest is a stream of hostile packets for fx38_udptl_rx (each: 2 octets of length,
 *         then that many octets), checking every delivery is a sane IFP in ascending order;
 *   odd:  a configuration, then IFPs to send through fx38_udptl_build with some packets
 *         dropped, decoded by a second state: whatever is delivered must be what was sent.
 * Build: clang -g -fsanitize=fuzzer,address,undefined -I t38 t38/udptl.c tests/fuzz/fuzz_udptl.c
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udptl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENT 64 /* IFPs remembered by the sender side, by seq & (SENT - 1) */

struct sink {
    int n;           /* deliveries in the current fx38_udptl_rx call */
    uint16_t last;   /* sequence number of the previous one */
    bool is_diff;    /* check against sent[] */
    bool is_fec;     /* FEC-rebuilt IFPs may differ in trailing zeros */
    uint16_t newest; /* newest seq built */
    uint8_t sent[SENT][256];
    size_t sent_len[SENT];
    unsigned sum;
};

static struct fx38_udptl tx, rx;
static struct sink sink;

/* Equal once both are zero-extended to the longer: what FEC can promise for arbitrary
 * octets, whose end the receiver finds by walking them as an IFP. */
static bool
same_but_zeros(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t i, n = alen > blen ? alen : blen;

    for (i = 0; i < n; i++)
        if ((i < alen ? a[i] : 0) != (i < blen ? b[i] : 0))
            return false;
    return true;
}

static void
on_ifp(void *data, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct sink *s = data;
    const uint8_t *want;
    size_t i, want_len;

    if (len < 1 || len > FX38_UDPTL_MAX_IFP)
        abort();
    for (i = 0; i < len; i++)
        s->sum += ifp[i]; /* every octet readable (ASan) */
    s->sum += fx38_ifp_is_image_data(ifp, len);
    if (s->n > 0 && (uint16_t)(seq - s->last - 1) > FX38_UDPTL_MAX_GAP)
        abort(); /* not ascending within one packet */
    s->n++;
    s->last = seq;
    if (!s->is_diff)
        return;
    if ((uint16_t)(s->newest - seq) >= SENT)
        abort(); /* delivered something never sent, or long gone */
    want = s->sent[seq & (SENT - 1)];
    want_len = s->sent_len[seq & (SENT - 1)];
    if (len == want_len && memcmp(ifp, want, len) == 0)
        return;
    if (!s->is_fec || !same_but_zeros(ifp, len, want, want_len))
        abort();
}

static int
fuzz_stream(const uint8_t *data, size_t size)
{
    size_t n;
    int rc;

    (void)fx38_udptl_init(&rx, NULL);
    sink.is_diff = false;
    while (size >= 2) {
        n = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        sink.n = 0;
        rc = fx38_udptl_rx(&rx, data, n, on_ifp, &sink);
        if (rc != (rc < 0 ? rc : sink.n) || (rc < 0 && sink.n))
            abort(); /* the count delivered, or an error and nothing delivered */
        data += n;
        size -= n;
    }
    return 0;
}

static int
fuzz_round_trip(const uint8_t *data, size_t size)
{
    struct fx38_udptl_config c = FX38_UDPTL_CONFIG_DEFAULT;
    uint8_t pkt[FX38_UDPTL_MAX_DATAGRAM];
    size_t len;
    int n, rc;
    uint8_t flags;

    if (size < 6)
        return 0;
    c.ec = (enum fx38_udptl_ec)(data[0] % 3);
    c.redundancy_control = data[1] % (FX38_UDPTL_MAX_REDUNDANCY + 1);
    c.redundancy_image = data[1] / 16 % (FX38_UDPTL_MAX_REDUNDANCY + 1);
    c.fec_span = 1 + data[2] % 8;
    c.fec_entries = 1 + data[2] / 8 % 8;
    c.far_max_datagram = data[3] * 8;
    if (fx38_udptl_init(&tx, &c) < 0)
        return 0;                                   /* span * entries too large */
    tx.tx_seq = (uint16_t)(data[4] << 8 | data[5]); /* start anywhere, so wraps happen */
    (void)fx38_udptl_init(&rx, NULL);
    sink.is_diff = true;
    sink.is_fec = c.ec == FX38_UDPTL_EC_FEC;
    data += 6;
    size -= 6;
    /* each IFP: flags (bit 0 drop, bit 1 image), length, octets */
    while (size >= 2) {
        flags = data[0];
        len = data[1];
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        if (len > 0) {
            sink.newest = tx.tx_seq;
            memcpy(sink.sent[tx.tx_seq & (SENT - 1)], data, len);
            sink.sent_len[tx.tx_seq & (SENT - 1)] = len;
        }
        n = fx38_udptl_build(&tx, data, len, (flags & 2) ? FX38_IFP_IMAGE : FX38_IFP_CONTROL, pkt,
                             sizeof(pkt));
        if (len == 0 && n != -EINVAL)
            abort();
        if (n > tx.max_datagram)
            abort();
        if (n > 0 && !(flags & 1)) {
            sink.n = 0;
            rc = fx38_udptl_rx(&rx, pkt, (size_t)n, on_ifp, &sink);
            if (rc < 1 || rc != sink.n || sink.last != (uint16_t)(tx.tx_seq - 1))
                abort(); /* our own packets always decode, ending with their primary */
        }
        data += len;
        size -= len;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        return fuzz_round_trip(data + 1, size - 1);
    return fuzz_stream(data + 1, size - 1);
}
