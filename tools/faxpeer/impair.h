/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A network impairment shim for one direction of one UDPTL stream: random or burst loss,
 * duplication, reordering (swap with the next packet) and jitter (a random extra delay that can
 * reorder), from a seeded PRNG so that a run can be repeated. No root, no netem.
 *
 * DESIGN: pure code (no sockets, no clock). Packets go in with fp_impair_push() and come out,
 * possibly later, through the deliver callback. Time is the caller's media clock in
 * milliseconds: the faxpeer advances it 20 ms per tick, so at --speed N every delay shrinks N
 * times along with the fax itself. Delayed packets wait in a small queue that
 * fp_impair_poll() drains on every tick. One thread per instance.
 */
#ifndef INKLESS_FAXPEER_IMPAIR_H
#define INKLESS_FAXPEER_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FP_IMPAIR_MAX_PACKET 1500 /* larger packets bypass the delay queue (sent at once) */
#define FP_IMPAIR_QUEUE 64        /* delayed packets per direction; when full, sent at once */
#define FP_IMPAIR_HOLD_MS 40      /* a packet held for a swap goes out alone after this */

struct fp_impair_config {
    double loss;    /* fraction of packets lost, 0..1 */
    int burst;      /* losses come in bursts of this many packets (>= 1) */
    double reorder; /* fraction of packets swapped with the next one */
    double dup;     /* fraction of packets sent twice */
    int jitter_ms;  /* each packet is delayed by 0..jitter_ms (uniform), media time */
};

struct fp_impair_stats {
    uint64_t packets;    /* pushed in */
    uint64_t dropped;    /* lost on purpose */
    uint64_t duplicated; /* extra copies made */
    uint64_t reordered;  /* packets held back and sent after their successor */
    uint64_t delayed;    /* packets that went through the delay queue */
    uint64_t overflow;   /* packets sent at once because the queue was full or they too big */
};

/* Receives a packet leaving the shim. `pkt` is borrowed for the call. */
typedef void fp_impair_deliver_fn(void *data, const uint8_t *pkt, size_t len);

struct fp_impair_slot {
    uint64_t due_ms;
    uint64_t order; /* insertion order: equal due times keep their order */
    size_t len;
    uint8_t data[FP_IMPAIR_MAX_PACKET];
};

struct fp_impair {
    struct fp_impair_config cfg;
    bool is_active;     /* any impairment at all; false = push delivers straight through */
    double burst_start; /* probability that a packet starts a loss burst */
    int burst_left;     /* packets still to drop in the current burst */
    uint64_t rng;
    fp_impair_deliver_fn *deliver;
    void *data;

    bool has_held; /* a packet waiting for its successor (reorder) */
    uint64_t held_since_ms;
    size_t held_len;
    uint8_t held[FP_IMPAIR_MAX_PACKET];

    struct fp_impair_slot *queue; /* FP_IMPAIR_QUEUE slots, allocated when jitter > 0 */
    int nqueued;
    uint64_t next_order;

    struct fp_impair_stats stats;
};

/* Set up `im` (caller's storage) with `cfg` (copied) and a PRNG seed. Returns 0, -EINVAL for
 * values out of range, -ENOMEM if the delay queue cannot be allocated. Release with
 * fp_impair_release(). */
int fp_impair_init(struct fp_impair *im, const struct fp_impair_config *cfg, uint64_t seed,
                   fp_impair_deliver_fn *deliver, void *data);

/* Free the delay queue; pending packets are discarded. Safe on a zeroed struct. */
void fp_impair_release(struct fp_impair *im);

/* One packet in at media time now_ms (`pkt` borrowed). It is delivered now, later (from
 * fp_impair_poll) or never. */
void fp_impair_push(struct fp_impair *im, const uint8_t *pkt, size_t len, uint64_t now_ms);

/* Deliver what is due at now_ms: queued packets, and a held packet whose successor did not
 * come within FP_IMPAIR_HOLD_MS. */
void fp_impair_poll(struct fp_impair *im, uint64_t now_ms);

/* Deliver everything still held or queued, now, in order (end of call). */
void fp_impair_flush(struct fp_impair *im);

/* The loss-burst start probability that gives an overall loss fraction `loss` with bursts of
 * `burst` packets: q = f / (N (1 - f) + f). Pure; exposed for the self-test. */
double fp_impair_burst_start(double loss, int burst);

#endif
