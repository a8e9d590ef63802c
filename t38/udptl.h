/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UDPTL framing for T.38 over UDP (ITU-T T.38 Annex A, UDPTLPacket in aligned PER): sequence
 * numbers, redundant secondary IFPs, parity FEC, and in-order delivery with loss recovery.
 * spandsp 0.0.6 has no UDPTL (SPANDSP-NOTES pitfall 1), so this is ours.
 *
 * Pure code: no sockets, no clock, no allocation, no logging. All state, including the tx and
 * rx history rings, lives in one struct fx38_udptl that the caller embeds or allocates once
 * per channel. The tx half (fx38_udptl_build) and the rx half (fx38_udptl_rx) touch disjoint
 * fields, so spandsp may transmit from inside an rx delivery callback.
 */
#ifndef INKLESS_T38_UDPTL_H
#define INKLESS_T38_UDPTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX38_UDPTL_HIST 32              /* IFPs kept per direction (power of two) */
#define FX38_UDPTL_MAX_GAP 16           /* a larger forward jump resyncs without recovery */
#define FX38_UDPTL_MAX_DATAGRAM 1452    /* 1500 - 40 (IPv6) - 8 (UDP): never fragment */
#define FX38_UDPTL_MIN_DATAGRAM 160     /* floor for the far end's T38FaxMaxDatagram */
#define FX38_UDPTL_DEFAULT_DATAGRAM 400 /* far end gave no T38FaxMaxDatagram */
/* Largest IFP sent or accepted: what fits alone in FX38_UDPTL_MAX_DATAGRAM (2 octets seq,
 * 2 of length, 1 of choice, 1 of empty count). Bigger IFPs are refused with -EMSGSIZE. */
#define FX38_UDPTL_MAX_IFP (FX38_UDPTL_MAX_DATAGRAM - 6)
#define FX38_UDPTL_MAX_REDUNDANCY 8 /* secondaries per packet we send */

/* T38FaxUdpEC: what we put in error-recovery. The receiver accepts both kinds, even mixed. */
enum fx38_udptl_ec {
    FX38_UDPTL_EC_NONE = 0,   /* secondary-ifp-packets with zero entries */
    FX38_UDPTL_EC_REDUNDANCY, /* t38UDPRedundancy: N previous IFPs, newest first */
    FX38_UDPTL_EC_FEC,        /* t38UDPFEC: XOR parity over interleaved groups */
};

/* Packet category, for the redundancy depth. See fx38_ifp_is_image_data(). */
enum fx38_ifp_category {
    FX38_IFP_CONTROL = 0, /* indicators and V.21/V.8/V.34-control data: small, vital */
    FX38_IFP_IMAGE,       /* high-speed image data: large, plentiful */
};

struct fx38_udptl_config {
    enum fx38_udptl_ec ec;
    int redundancy_control; /* secondaries behind a FX38_IFP_CONTROL primary, 0..MAX_REDUNDANCY */
    int redundancy_image;   /* secondaries behind a FX38_IFP_IMAGE primary, 0..MAX_REDUNDANCY */
    int fec_span;           /* FEC: IFPs XORed into one entry (fec-npackets), >= 1 */
    int fec_entries;        /* FEC: entries per packet, >= 1; span * entries < FX38_UDPTL_HIST */
    int far_max_datagram;   /* the far end's T38FaxMaxDatagram as negotiated, 0 if absent;
                               see fx38_udptl_clamp_datagram() */
};

/* What fx38_udptl_init(u, NULL) uses: redundancy 3 for control, 2 for image data (pitfall 2:
 * without redundancy ECM fails at 5 % loss), FEC span 3 x 3 entries if switched to FEC. */
#define FX38_UDPTL_CONFIG_DEFAULT                                                                  \
    {                                                                                              \
        .ec = FX38_UDPTL_EC_REDUNDANCY, .redundancy_control = 3, .redundancy_image = 2,            \
        .fec_span = 3, .fec_entries = 3, .far_max_datagram = 0,                                    \
    }

/* Counters for /metrics and CDRs; they only grow (uint64_t never wraps in a call). */
struct fx38_udptl_stats {
    /* rx */
    uint64_t packets;              /* well-formed packets, including duplicates and late ones */
    uint64_t duplicates;           /* primary already delivered (or recovered) */
    uint64_t late;                 /* primary older than the last delivered, never delivered */
    uint64_t recovered_redundancy; /* missing IFPs delivered from a secondary */
    uint64_t recovered_fec;        /* missing IFPs rebuilt from parity */
    uint64_t lost;                 /* sequence numbers skipped without recovery (gaps < 2000) */
    uint64_t malformed;            /* packets refused by fx38_udptl_rx (-EINVAL, -EMSGSIZE) */
    uint64_t resyncs;              /* sequence restarts (a jump of 2000 or more either way) */
    /* tx */
    uint64_t tx_packets; /* packets built */
    uint64_t tx_trimmed; /* packets sent with fewer secondaries/entries, to fit */
};

/* One IFP in a history ring; len 0 = empty. */
struct fx38_udptl_slot {
    uint16_t seq;
    uint16_t len;
    uint8_t data[FX38_UDPTL_MAX_IFP];
};

/* Per-channel UDPTL state, ≈ 93 KiB. Fields are private except `stats` (read-only). */
struct fx38_udptl {
    struct fx38_udptl_config cfg;
    int max_datagram; /* clamped whole-packet limit for what we send */

    uint16_t tx_seq;  /* sequence number of the next packet built */
    uint16_t tx_hist; /* previous IFPs in tx[], at most FX38_UDPTL_HIST - 1 */
    struct fx38_udptl_slot tx[FX38_UDPTL_HIST];

    bool has_rx;      /* a packet has been accepted since init */
    uint16_t rx_last; /* sequence number of the newest IFP delivered */
    struct fx38_udptl_slot rx[FX38_UDPTL_HIST];

    struct fx38_udptl_stats stats;
};

/* Receives one IFP, in ascending sequence order, with the sequence number to hand to
 * t38_core_rx_ifp_packet(). `ifp` is borrowed: valid only during the call (it points into the
 * packet given to fx38_udptl_rx or into the rx history). The callback may call
 * fx38_udptl_build() on the same state, never fx38_udptl_rx(). */
typedef void fx38_udptl_deliver_fn(void *data, const uint8_t *ifp, size_t len, uint16_t seq);

/* Initialise `u` (embedded or allocated by the caller) with `cfg` (copied; NULL = the
 * defaults above): tx sequence 0, empty histories, zero counters. Holds no resources, so
 * there is no release; call it again to start a new stream. Returns 0, or -EINVAL if `cfg` is
 * out of range (then `u` is initialised with the defaults). Any thread, non-blocking. */
int fx38_udptl_init(struct fx38_udptl *u, const struct fx38_udptl_config *cfg);

/* Change the configuration mid-call (re-INVITE): sequence numbers, histories and counters
 * are kept. `cfg` is copied. Returns 0, or -EINVAL if out of range (nothing changed).
 * The channel's media thread, non-blocking. */
int fx38_udptl_set_config(struct fx38_udptl *u, const struct fx38_udptl_config *cfg);

/* The whole-packet limit we honour for a far end that announced T38FaxMaxDatagram
 * `far_max_datagram`: 0 or negative (absent) gives FX38_UDPTL_DEFAULT_DATAGRAM; otherwise
 * clamped to [FX38_UDPTL_MIN_DATAGRAM, FX38_UDPTL_MAX_DATAGRAM].
 * - Whole packet: peers disagree on whether the value counts the IFP or the UDPTL packet; the
 *   packet reading can only make ours smaller, so a peer that meant the IFP gets less
 *   redundancy than it could take, never an oversized packet.
 * - Floor 160: the smallest value seen in the wild. It holds spandsp's largest paced IFP
 *   (14400 bit/s for 30 ms: 54 octets + 5 of IFP header) as primary plus one secondary, so
 *   image data keeps some redundancy. A smaller value is read as an IFP size (it could not
 *   carry any redundancy at all) and raised to 160.
 * - Ceiling 1452 = 1500 - 40 (IPv6) - 8 (UDP): never an IP fragment, whatever the family.
 * Pure. */
int fx38_udptl_clamp_datagram(int far_max_datagram);

/* The largest IFP fx38_udptl_build() accepts with the current limit and EC mode (a packet
 * with no secondaries or FEC entries), at least 152. Give it to t38_set_max_datagram_size();
 * spandsp 0.0.6 does not enforce it (pitfall 6), but its paced 30 ms chunks stay far below.
 * Non-blocking. */
int fx38_udptl_get_max_ifp(const struct fx38_udptl *u);

/* Build the UDPTL packet carrying `ifp` (len bytes, borrowed, as given to spandsp's tx
 * handler) under the next tx sequence number, with secondaries (the redundancy depth of
 * `category`) or FEC entries from the tx history, dropping the oldest secondaries or FEC
 * entries until the packet fits min(size, the clamped far max datagram). Writes into `buf`
 * (size bytes, caller's; FX38_UDPTL_MAX_DATAGRAM is always enough; must not overlap ifp).
 * spandsp's `count` is the number of times to send these same bytes: build once per IFP.
 * Returns the packet length; -EINVAL if len is 0 or over FX38_UDPTL_MAX_IFP; -EMSGSIZE if
 * the IFP alone does not fit. On error nothing is consumed (same sequence number next time).
 * The channel's media thread, non-blocking. */
int fx38_udptl_build(struct fx38_udptl *u, const uint8_t *ifp, size_t len,
                     enum fx38_ifp_category category, uint8_t *buf, size_t size);

/* Decode one received UDPTL packet (len bytes, borrowed, hostile) and deliver through
 * `deliver(data, …)`: first the IFPs missing between the last delivered and this primary,
 * those recovered from secondaries or FEC (ascending), then the primary. Duplicates and late
 * packets deliver nothing (spandsp would drop late IFPs anyway, pitfall 1). Returns the number
 * of IFPs delivered (0..FX38_UDPTL_MAX_GAP + 1), or -EINVAL for a malformed packet (truncated,
 * trailing octets, fragmented or absurd lengths and counts, empty primary) and -EMSGSIZE for an
 * IFP or FEC entry over FX38_UDPTL_MAX_IFP; on error nothing is delivered and only
 * stats.malformed changes. The channel's media thread, non-blocking. */
int fx38_udptl_rx(struct fx38_udptl *u, const uint8_t *pkt, size_t len,
                  fx38_udptl_deliver_fn *deliver, void *data);

/* Whether an IFP carries high-speed image data (T.38 Annex A IFPPacket: t30-data with a
 * data type of V.27ter, V.29, V.17, V.33 or the V.34 primary channel). Indicators, V.21 and
 * V.8 data, V.34 control channel and rate signals, and anything unparseable are control.
 * `ifp` is borrowed. Pure. */
bool fx38_ifp_is_image_data(const uint8_t *ifp, size_t len);

#endif
