/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fixed-delay jitter buffer for G.711 fax: payloads slotted by timestamp, a fixed playout
 * delay, silence for what is missing, drift absorbed only in silence.
 *
 * DESIGN
 * A fax modem demodulates a continuous signal: time-stretching it or concealing a loss with
 * invented audio (PLC) corrupts the bits around it, and a slipping clock breaks a long
 * page. So the playout point moves exactly as fast as the caller pulls, and every sample
 * output is either one received or the G.711 silence code.
 *
 * Positions: a 32-bit count of playout samples. A payload with RTP timestamp T lands at
 * position T + offset (modulo 2^32, so timestamp wrap needs nothing special); its samples
 * go to ring slots (position & (RING-1)) with a valid bit each. The first payload of a stream
 * is anchored at read_pos + delay, which sets offset. Every valid slot holds a position in
 * [read_pos, read_pos + window), window = 2 x delay + one largest packet <= RING, so the
 * slot index is exact; output clears the bit.
 *
 * A payload at distance A = position - read_pos, n samples (RFC 3550 §5.1: the timestamp is
 * the sampling instant of the first octet, and advances by one per G.711 sample):
 *   new SSRC (§8: a new source, e.g. after a re-INVITE)          resync
 *   sequence newer but timestamp older than the newest seen     resync (the sender restarted
 *                                                               its timestamps: §5.1 has
 *                                                               their clock only go forward)
 *   A + n > window                                              resync (timestamp jump ahead)
 *   A + n <= 0                                                  late, dropped; but after
 *                                                               LATE_RESYNC pulls of nothing
 *                                                               but late ones, resync
 *   otherwise    store the samples not yet played and not already present; none = duplicate
 * Resync re-anchors at read_pos + delay and forgets what was stored beyond that point: the
 * old stream's last samples still play, then the new one, with the fixed delay kept.
 * Sequence numbers serve only that order test (16-bit serial arithmetic, so they wrap).
 *
 * Drift (sender clock vs ours, ±100 ppm = ±0.8 samples/s, 60 ms in 10 minutes): each stored
 * payload's lead (how far past the playout point its last sample landed) is averaged over
 * each DRIFT_WINDOW samples of output; a fast sender's lead grows, a slow one's shrinks,
 * while network jitter averages out (the mean, unlike the depth at one instant or its
 * minimum, moves by a few samples only). The first window after a (re)sync is the
 * reference: it includes the network's mean delay and the tick phase.
 * A later window more than DRIFT_THRESHOLD off makes the difference pending, taken back
 * DRIFT_STEP samples per pull, only where the last sample output and every sample of the
 * coming frame (the dropped ones included) were received and are quiet: inserting the
 * silence code into silence or dropping silent samples moves no modem signal.
 */
#include "jitter.h"

#include <errno.h>
#include <string.h>

#define RING_MASK (FX38_JITTER_RING - 1)

_Static_assert((FX38_JITTER_RING & RING_MASK) == 0, "ring size must be a power of two");
_Static_assert(2 * FX38_JITTER_MAX_DELAY + FX38_JITTER_MAX_PACKET <= FX38_JITTER_RING,
               "the store window must fit the ring");

/* Signed distance a - b between positions, timestamps (modulo 2^32). */
static int32_t
dist(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static bool
slot_valid(const struct fx38_jitter *j, uint32_t pos)
{
    uint32_t i = pos & RING_MASK;

    return j->valid[i >> 3] >> (i & 7) & 1;
}

static void
slot_clear(struct fx38_jitter *j, uint32_t pos)
{
    uint32_t i = pos & RING_MASK;

    j->valid[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

static void
slot_store(struct fx38_jitter *j, uint32_t pos, uint8_t sample)
{
    uint32_t i = pos & RING_MASK;

    j->ring[i] = sample;
    j->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Magnitude of a G.711 code on the 16-bit linear scale (G.711 Tables 1a/2a: 3-bit segment,
 * 4-bit step; the sign is ignored). μ-law codes are sent inverted, A-law ones XOR 0x55. */
static int
g711_magnitude(uint8_t code, bool is_alaw)
{
    int seg, step;

    if (is_alaw) {
        code ^= 0x55;
        seg = code >> 4 & 7;
        step = code & 15;
        return seg == 0 ? (step << 4) + 8 : ((step << 4) + 0x108) << (seg - 1);
    }
    code = (uint8_t)~code;
    seg = code >> 4 & 7;
    step = code & 15;
    return (((step << 3) + 0x84) << seg) - 0x84;
}

static bool
is_quiet(const struct fx38_jitter *j, uint8_t code)
{
    return g711_magnitude(code, j->cfg.is_alaw) < FX38_JITTER_SILENCE_PEAK;
}

/* Whether the n samples from `pos` were all received and are quiet. */
static bool
is_silent(const struct fx38_jitter *j, uint32_t pos, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!slot_valid(j, pos + (uint32_t)i) || !is_quiet(j, j->ring[(pos + i) & RING_MASK]))
            return false;
    return true;
}

static void
update_depth(struct fx38_jitter *j)
{
    int32_t d = dist(j->write_end, j->read_pos);

    j->stats.depth = d > 0 ? (uint32_t)d : 0;
}

static void
reset_drift(struct fx38_jitter *j, bool is_new_ref)
{
    j->lead_sum = 0;
    j->lead_n = 0;
    j->window_out = 0;
    if (is_new_ref) {
        j->has_ref = false;
        j->pending = 0;
    }
}

/* Anchor a new stream (or a new timeline of the same one) at read_pos + delay. */
static void
resync(struct fx38_jitter *j, uint32_t ssrc, uint32_t timestamp)
{
    uint32_t anchor = j->read_pos + (uint32_t)j->cfg.delay;
    int k;

    for (k = j->cfg.delay; k < FX38_JITTER_RING; k++)
        slot_clear(j, j->read_pos + (uint32_t)k);
    if (j->has_stream)
        j->stats.resyncs++;
    j->has_stream = true;
    j->ssrc = ssrc;
    j->offset = anchor - timestamp;
    if (dist(j->write_end, anchor) > 0)
        j->write_end = anchor;
    j->late_pulls = 0;
    reset_drift(j, true);
}

int
fx38_jitter_init(struct fx38_jitter *j, const struct fx38_jitter_config *cfg)
{
    struct fx38_jitter_config def = FX38_JITTER_CONFIG_DEFAULT;
    int rc = 0;

    if (!cfg)
        cfg = &def;
    if (cfg->delay < 0 || cfg->delay > FX38_JITTER_MAX_DELAY) {
        cfg = &def;
        rc = -EINVAL;
    }
    *j = (struct fx38_jitter){.cfg = *cfg};
    j->silence = cfg->is_alaw ? 0xD5 : 0xFF;
    j->window = 2 * cfg->delay + FX38_JITTER_MAX_PACKET;
    return rc;
}

int
fx38_jitter_push(struct fx38_jitter *j, uint32_t ssrc, uint16_t seq, uint32_t timestamp,
                 const uint8_t *samples, size_t n)
{
    enum fx38_jitter_verdict verdict = FX38_JITTER_STORED;
    bool is_seq_newer;
    uint32_t pos;
    int32_t ahead;
    size_t i, stored = 0;

    if (n == 0)
        return -EINVAL;
    if (n > FX38_JITTER_MAX_PACKET)
        return -EMSGSIZE;
    j->stats.received++;

    is_seq_newer = (int16_t)(uint16_t)(seq - j->last_seq) > 0;
    if (!j->has_stream || ssrc != j->ssrc || (is_seq_newer && dist(timestamp, j->last_ts) < 0)) {
        verdict = FX38_JITTER_RESYNC;
    } else {
        ahead = dist(timestamp + j->offset, j->read_pos);
        if (ahead > j->window - (int32_t)n)
            verdict = FX38_JITTER_RESYNC;
        else if (ahead + (int32_t)n <= 0)
            verdict =
                j->late_pulls < FX38_JITTER_LATE_RESYNC ? FX38_JITTER_LATE : FX38_JITTER_RESYNC;
    }
    if (verdict == FX38_JITTER_RESYNC || is_seq_newer) {
        j->last_seq = seq;
        j->last_ts = timestamp;
    }
    if (verdict == FX38_JITTER_LATE) {
        j->was_late = true;
        j->stats.late++;
        return FX38_JITTER_LATE;
    }
    if (verdict == FX38_JITTER_RESYNC)
        resync(j, ssrc, timestamp);

    /* Samples before the playout point were played already: start after them. The loops
     * keep positions in locals: stores into the ring (uint8_t) may alias any field of *j,
     * which would have the compiler reload them for every sample. */
    pos = timestamp + j->offset;
    ahead = dist(pos, j->read_pos);
    i = ahead < 0 ? (size_t)(-(int64_t)ahead) : 0;
    if (i > n)
        i = n;
    for (pos += (uint32_t)i; i < n;) {
        uint32_t slot = pos & RING_MASK;
        /* Eight aligned slots all free (the usual case: packets of a multiple of 8
         * samples, in order): one copy and one valid byte. */
        if ((slot & 7) == 0 && n - i >= 8 && j->valid[slot >> 3] == 0) {
            memcpy(j->ring + slot, samples + i, 8);
            j->valid[slot >> 3] = 0xff;
            stored += 8;
            i += 8;
            pos += 8;
            continue;
        }
        if (!slot_valid(j, pos)) {
            slot_store(j, pos, samples[i]);
            stored++;
        }
        i++;
        pos++;
    }
    if (stored == 0) {
        j->stats.duplicates++;
        return FX38_JITTER_DUPLICATE;
    }
    if (dist(pos, j->write_end) > 0)
        j->write_end = pos;
    j->lead_sum += dist(pos, j->read_pos);
    j->lead_n++;
    j->was_stored = true;
    j->late_pulls = 0;
    update_depth(j);
    return verdict;
}

/* Once per window, compare the mean lead with the reference: sets j->pending when the
 * sender's clock has visibly drifted. */
static void
measure_drift(struct fx38_jitter *j, size_t n)
{
    int32_t mean, dev;

    j->window_out += (uint32_t)n;
    if (j->window_out < FX38_JITTER_DRIFT_WINDOW)
        return;
    if (j->lead_n == 0) { /* nothing arrived: nothing to learn */
        reset_drift(j, false);
        return;
    }
    mean = (int32_t)(j->lead_sum / j->lead_n);
    reset_drift(j, false);
    if (!j->has_ref) {
        j->ref_lead = mean;
        j->has_ref = true;
        return;
    }
    dev = mean - j->ref_lead;
    if (j->pending == 0 &&
        (dev > FX38_JITTER_DRIFT_THRESHOLD || -dev > FX38_JITTER_DRIFT_THRESHOLD))
        j->pending = dev;
}

void
fx38_jitter_pull(struct fx38_jitter *j, uint8_t *out, size_t n)
{
    fx38_jitter_pull_marked(j, out, NULL, n);
}

void
fx38_jitter_pull_marked(struct fx38_jitter *j, uint8_t *out, uint8_t *ret_missing, size_t n)
{
    size_t i = 0, k;

    if (n == 0)
        return;
    if (!j->has_stream) {
        memset(out, j->silence, n);
        if (ret_missing)
            memset(ret_missing, 0, n); /* pre-roll: silence, not a gap */
        return;
    }
    if (j->was_late && !j->was_stored)
        j->late_pulls++;
    j->was_late = false;
    j->was_stored = false;

    measure_drift(j, n);

    /* Drift correction, only at a point with received silence on both sides. */
    if (j->pending > 0 && j->has_quiet_tail) {
        k = (size_t)(j->pending < FX38_JITTER_DRIFT_STEP ? j->pending : FX38_JITTER_DRIFT_STEP);
        if (is_silent(j, j->read_pos, n + k)) {
            for (; k > 0; k--, j->pending--, j->stats.drift_dropped++)
                slot_clear(j, j->read_pos++);
            if (j->pending == 0)
                reset_drift(j, false);
        }
    } else if (j->pending < 0 && j->has_quiet_tail) {
        k = (size_t)(-j->pending < FX38_JITTER_DRIFT_STEP ? -j->pending : FX38_JITTER_DRIFT_STEP);
        if (k < n && is_silent(j, j->read_pos, n - k)) {
            memset(out, j->silence, k);
            if (ret_missing)
                memset(ret_missing, 0, k); /* silence between received silences */
            i = k;
            j->pending += (int32_t)k;
            j->stats.drift_inserted += k;
            if (j->pending == 0)
                reset_drift(j, false);
        }
    }

    /* State in locals (stores to `out` may alias *j, see fx38_jitter_push); only the last
     * sample output decides has_quiet_tail. */
    uint32_t pos = j->read_pos;
    bool has_played = j->has_played, is_last_valid = false;
    uint64_t filled = 0;
    while (i < n) {
        uint32_t slot = pos & RING_MASK;
        /* Eight aligned slots all received: one copy, one valid byte cleared. */
        if ((slot & 7) == 0 && n - i >= 8 && j->valid[slot >> 3] == 0xff) {
            memcpy(out + i, j->ring + slot, 8);
            if (ret_missing)
                memset(ret_missing + i, 0, 8);
            j->valid[slot >> 3] = 0;
            has_played = is_last_valid = true;
            i += 8;
            pos += 8;
            continue;
        }
        is_last_valid = slot_valid(j, pos);
        if (ret_missing)
            ret_missing[i] = !is_last_valid && has_played;
        if (is_last_valid) {
            out[i] = j->ring[pos & RING_MASK];
            slot_clear(j, pos);
            has_played = true;
        } else {
            out[i] = j->silence;
            if (has_played)
                filled++;
        }
        i++;
        pos++;
    }
    j->read_pos = pos;
    j->has_played = has_played;
    j->stats.filled += filled;
    j->has_quiet_tail = is_last_valid && is_quiet(j, out[n - 1]);
    update_depth(j);
}
