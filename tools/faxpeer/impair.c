/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Network impairment shim (see impair.h).
 *
 * Order of decisions for each packet pushed in:
 *   1. loss: inside a burst, drop; else start a burst (and drop) with probability
 *      burst_start, which is the plain loss rate when bursts are 1 packet long;
 *   2. duplication: the packet goes on as one or two copies;
 *   3. reordering: a copy may be held back until the next packet has gone out (a swap);
 *   4. jitter: each copy that goes out waits 0..jitter_ms in the delay queue.
 * Every random draw comes from one xorshift64* stream per instance, so a given seed and packet
 * sequence always give the same impairments.
 */
#include "impair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64* (Vigna): small, fast, and good enough to pick which packets suffer. */
static uint64_t
next_u64(struct fp_impair *im)
{
    uint64_t x = im->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    im->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static double
next_unit(struct fp_impair *im)
{
    return (double)(next_u64(im) >> 11) * (1.0 / 9007199254740992.0);
}

static bool
chance(struct fp_impair *im, double p)
{
    return p > 0 && next_unit(im) < p;
}

double
fp_impair_burst_start(double loss, int burst)
{
    if (loss <= 0)
        return 0;
    if (loss >= 1)
        return 1;
    if (burst < 1)
        burst = 1;
    return loss / ((double)burst * (1 - loss) + loss);
}

int
fp_impair_init(struct fp_impair *im, const struct fp_impair_config *cfg, uint64_t seed,
               fp_impair_deliver_fn *deliver, void *data)
{
    *im = (struct fp_impair){.deliver = deliver, .data = data};
    if (cfg->loss < 0 || cfg->loss > 1 || cfg->reorder < 0 || cfg->reorder > 1 || cfg->dup < 0 ||
        cfg->dup > 1 || cfg->burst < 1 || cfg->jitter_ms < 0)
        return -EINVAL;
    im->cfg = *cfg;
    im->is_active = cfg->loss > 0 || cfg->reorder > 0 || cfg->dup > 0 || cfg->jitter_ms > 0;
    im->burst_start = fp_impair_burst_start(cfg->loss, cfg->burst);
    /* splitmix64 of the seed: nearby seeds give unrelated streams, and xorshift needs != 0. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    im->rng = z ? z : 1;
    if (cfg->jitter_ms > 0) {
        im->queue = calloc(FP_IMPAIR_QUEUE, sizeof(*im->queue));
        if (!im->queue)
            return -ENOMEM;
    }
    return 0;
}

void
fp_impair_release(struct fp_impair *im)
{
    free(im->queue);
    im->queue = NULL;
    im->nqueued = 0;
    im->has_held = false;
}

/* A copy leaves the reorder stage: straight out, or into the delay queue. */
static void
emit(struct fp_impair *im, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    if (im->cfg.jitter_ms <= 0) {
        im->deliver(im->data, pkt, len);
        return;
    }
    uint64_t delay = next_u64(im) % (uint64_t)(im->cfg.jitter_ms + 1);
    if (delay == 0) {
        im->deliver(im->data, pkt, len);
        return;
    }
    if (im->nqueued == FP_IMPAIR_QUEUE || len > FP_IMPAIR_MAX_PACKET) {
        im->stats.overflow++;
        im->deliver(im->data, pkt, len);
        return;
    }
    struct fp_impair_slot *s = &im->queue[im->nqueued++];
    s->due_ms = now_ms + delay;
    s->order = im->next_order++;
    s->len = len;
    memcpy(s->data, pkt, len);
    im->stats.delayed++;
}

void
fp_impair_push(struct fp_impair *im, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    im->stats.packets++;
    if (!im->is_active) {
        im->deliver(im->data, pkt, len);
        return;
    }
    if (im->burst_left > 0) {
        im->burst_left--;
        im->stats.dropped++;
        return;
    }
    if (chance(im, im->burst_start)) {
        im->burst_left = im->cfg.burst - 1;
        im->stats.dropped++;
        return;
    }
    int copies = 1;
    if (chance(im, im->cfg.dup)) {
        copies = 2;
        im->stats.duplicated++;
    }
    for (int i = 0; i < copies; i++) {
        /* Hold this one back for a swap, unless one is already waiting (then this is its
         * successor) or it is too big to keep. */
        if (!im->has_held && len <= FP_IMPAIR_MAX_PACKET && chance(im, im->cfg.reorder)) {
            memcpy(im->held, pkt, len);
            im->held_len = len;
            im->held_since_ms = now_ms;
            im->has_held = true;
            im->stats.reordered++;
            continue;
        }
        emit(im, pkt, len, now_ms);
        if (im->has_held) {
            im->has_held = false;
            emit(im, im->held, im->held_len, now_ms);
        }
    }
}

/* Index of the queued packet to go first (earliest due, then earliest pushed), or -1. */
static int
first_queued(const struct fp_impair *im)
{
    int best = -1;
    for (int i = 0; i < im->nqueued; i++) {
        const struct fp_impair_slot *s = &im->queue[i];
        if (best < 0 || s->due_ms < im->queue[best].due_ms ||
            (s->due_ms == im->queue[best].due_ms && s->order < im->queue[best].order))
            best = i;
    }
    return best;
}

/* Deliver queued packets due by `until_ms` (UINT64_MAX: all). The queue is tiny, so a linear
 * scan per packet is cheaper than keeping a heap. A packet is copied out of its slot before
 * delivery, since delivery may push into this same shim again (never in practice, but cheap). */
static void
drain(struct fp_impair *im, uint64_t until_ms)
{
    uint8_t buf[FP_IMPAIR_MAX_PACKET];
    for (;;) {
        int i = first_queued(im);
        if (i < 0 || im->queue[i].due_ms > until_ms)
            return;
        size_t len = im->queue[i].len;
        memcpy(buf, im->queue[i].data, len);
        im->queue[i] = im->queue[--im->nqueued];
        im->deliver(im->data, buf, len);
    }
}

void
fp_impair_poll(struct fp_impair *im, uint64_t now_ms)
{
    if (im->has_held && now_ms - im->held_since_ms >= FP_IMPAIR_HOLD_MS) {
        im->has_held = false;
        emit(im, im->held, im->held_len, now_ms);
    }
    if (im->nqueued > 0)
        drain(im, now_ms);
}

void
fp_impair_flush(struct fp_impair *im)
{
    if (im->has_held) {
        im->has_held = false;
        im->deliver(im->data, im->held, im->held_len);
    }
    if (im->nqueued > 0)
        drain(im, UINT64_MAX);
}
