/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t38/jitter.c: streams of hand-made G.711 payloads through the buffer, tick by tick: exact
 * output after the fixed delay, reordering, duplicates, late and lost packets, wraps,
 * resyncs, and senders 100 ppm fast and slow for 10 simulated minutes, where only silence
 * may be dropped or inserted and no output sample is ever made up. */
#include "jitter.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define PKT 160 /* ptime 20 */
#define D 480   /* the default delay: 3 packets */
#define MAX_PKTS 400
#define SIM_SECONDS 600
#define SIM_SAMPLES (SIM_SECONDS * 8000 + 8000)

static struct fx38_jitter jb;
static uint8_t in[MAX_PKTS * PKT];
static uint8_t out[MAX_PKTS * PKT + 4 * D];
static uint8_t sim_in[SIM_SAMPLES];
static uint8_t sim_out[SIM_SAMPLES];

static void
init(bool is_alaw)
{
    struct fx38_jitter_config c = {.is_alaw = is_alaw, .delay = D};

    CHECK_INT(fx38_jitter_init(&jb, &c), 0);
}

/* Every octet value, in an order that differs from packet to packet. */
static void
fill_pattern(int npkts)
{
    int i;

    for (i = 0; i < npkts * PKT; i++)
        in[i] = (uint8_t)(i * 31 + i / PKT * 7);
}

static int
push(uint32_t ssrc, uint16_t seq0, uint32_t ts0, int k)
{
    return fx38_jitter_push(&jb, ssrc, (uint16_t)(seq0 + k), ts0 + (uint32_t)(k * PKT),
                            in + k * PKT, PKT);
}

static void
pull(int tick)
{
    fx38_jitter_pull(&jb, out + tick * PKT, PKT);
}

/* out[at .. at+n) is in[from .. from+n). */
static void
check_same(int line, size_t at, size_t from, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (out[at + i] != in[from + i]) {
            fprintf(stderr, "%s:%d: output sample %zu is %02X, want input %zu = %02X\n", __FILE__,
                    line, at + i, out[at + i], from + i, in[from + i]);
            check_failures++;
            return;
        }
    }
}
#define CHECK_SAME(at, from, n) check_same(__LINE__, at, from, n)

static void
check_silence(int line, size_t at, size_t n, uint8_t silence)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (out[at + i] != silence) {
            fprintf(stderr, "%s:%d: output sample %zu is %02X, want silence %02X\n", __FILE__, line,
                    at + i, out[at + i], silence);
            check_failures++;
            return;
        }
    }
}
#define CHECK_SILENCE(at, n) check_silence(__LINE__, at, n, 0xFF)

/* Packets pushed in order just before each pull: the delay in silence, then every sample. */
static void
test_in_order(void)
{
    int t, n = 100;

    init(false);
    fill_pattern(n);
    fx38_jitter_pull(&jb, out, PKT); /* before any packet: silence */
    CHECK_SILENCE(0, PKT);
    for (t = 0; t < n + 3; t++) {
        if (t < n)
            CHECK_INT(push(0x1234, 1000, 5000, t),
                      t == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
        pull(t);
        CHECK_INT(jb.stats.depth, t < n ? D : D - (t - n + 1) * PKT);
    }
    CHECK_SILENCE(0, D);
    CHECK_SAME(D, 0, (size_t)n * PKT);
    CHECK_INT(jb.stats.received, n);
    CHECK_INT(jb.stats.filled, 0); /* the pre-roll is not a loss */
    CHECK_INT(jb.stats.duplicates + jb.stats.late + jb.stats.resyncs, 0);
    CHECK_INT(jb.stats.drift_dropped + jb.stats.drift_inserted, 0);

    /* the end of the stream: silence from then on, counted */
    pull(n + 3);
    CHECK_SILENCE((size_t)(n + 3) * PKT, PKT);
    CHECK_INT(jb.stats.filled, PKT);
}

/* Packet k arrives delay[k] ticks late (0..2, within the 3-packet delay), several per tick
 * newest first: the output is the in-order output, bit for bit. With a start near the top
 * of both counters, the sequence numbers and timestamps wrap on the way. */
static void
run_reordered(uint16_t seq0, uint32_t ts0, int dups)
{
    int t, k, n = 300, verdict;
    uint32_t lcg = 12345;
    int delay[300];

    init(false);
    fill_pattern(n);
    for (k = 0; k < n; k++) {
        lcg = lcg * 1103515245 + 12345;
        delay[k] = k == 0 ? 0 : (int)(lcg >> 16) % 3;
    }
    for (t = 0; t < n + 3; t++) {
        for (k = t; k >= t - 2 && k >= 0; k--) {
            if (k >= n || k + delay[k] != t)
                continue;
            verdict = push(0xfeed, seq0, ts0, k);
            CHECK_INT(verdict, k == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
            if (dups && k % dups == 0)
                CHECK_INT(push(0xfeed, seq0, ts0, k), FX38_JITTER_DUPLICATE);
        }
        pull(t);
    }
    CHECK_SILENCE(0, D);
    CHECK_SAME(D, 0, (size_t)n * PKT);
    CHECK_INT(jb.stats.filled + jb.stats.late + jb.stats.resyncs, 0);
    CHECK_INT(jb.stats.duplicates, dups ? (n + dups - 1) / dups : 0);
    CHECK_INT(jb.stats.received, n + jb.stats.duplicates);
}

static void
test_reorder(void)
{
    run_reordered(1, 8000, 0);
}

static void
test_wrap(void)
{
    /* seq wraps after 16 packets, the timestamp after 20 */
    run_reordered(0xfff0, 0xffffffffu - 20 * PKT + 1, 0);
    run_reordered(0xffff, 0xffffffffu, 0);
}

static void
test_duplicates(void)
{
    int t;

    run_reordered(7, 0, 3);

    /* a duplicate of a packet still waiting, and of one half played: dropped either way */
    init(false);
    fill_pattern(10);
    for (t = 0; t < 10; t++) {
        CHECK_INT(push(1, 0, 0, t), t ? FX38_JITTER_STORED : FX38_JITTER_RESYNC);
        CHECK_INT(push(1, 0, 0, t), FX38_JITTER_DUPLICATE);
        if (t >= 3) /* packet t-3 is being played: its first 80 samples are out */
            fx38_jitter_pull(&jb, out + t * PKT, PKT / 2);
        CHECK_INT(push(1, 0, 0, t >= 3 ? t - 3 : t), FX38_JITTER_DUPLICATE);
        if (t >= 3)
            fx38_jitter_pull(&jb, out + t * PKT + PKT / 2, PKT / 2);
        else
            pull(t);
    }
    CHECK_SAME(D, 0, 7 * PKT);
    CHECK_INT(jb.stats.duplicates, 20);
}

/* A packet later than the delay is dropped; its samples come out as counted silence. */
static void
test_late_and_loss(void)
{
    int t, n = 40;

    init(false);
    fill_pattern(n);
    for (t = 0; t < n + 3; t++) {
        if (t < n && t != 10 && t != 20 && t != 21)
            CHECK_INT(push(9, 0, 0, t), t == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
        if (t == 15) /* packet 10 was due at tick 13 */
            CHECK_INT(push(9, 0, 0, 10), FX38_JITTER_LATE);
        pull(t);
    }
    CHECK_SAME(D, 0, 10 * PKT);
    CHECK_SILENCE(D + 10 * PKT, PKT);
    CHECK_SAME(D + 11 * PKT, 11 * PKT, 9 * PKT);
    CHECK_SILENCE(D + 20 * PKT, 2 * PKT);
    CHECK_SAME(D + 22 * PKT, 22 * PKT, (size_t)(n - 22) * PKT);
    CHECK_INT(jb.stats.late, 1);
    CHECK_INT(jb.stats.filled, 3 * PKT);
    CHECK_INT(jb.stats.received, n - 2);

    /* a packet straddling the playout point: its unplayed part still plays */
    init(false);
    fill_pattern(10);
    for (t = 0; t < 10; t++) {
        if (t != 5)
            CHECK_INT(push(9, 0, 0, t), t == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
        if (t == 8) { /* packet 5 plays during tick 8: it comes when half of it is due */
            fx38_jitter_pull(&jb, out + t * PKT, PKT / 2);
            CHECK_INT(push(9, 0, 0, 5), FX38_JITTER_STORED);
            fx38_jitter_pull(&jb, out + t * PKT + PKT / 2, PKT / 2);
        } else {
            pull(t);
        }
    }
    fx38_jitter_pull(&jb, out, 0); /* no-op */
    CHECK_SAME(D, 0, 5 * PKT);
    CHECK_SILENCE(D + 5 * PKT, PKT / 2);
    CHECK_SAME(D + 5 * PKT + PKT / 2, 5 * PKT + PKT / 2, PKT / 2);
    CHECK_INT(jb.stats.filled, PKT / 2);
    CHECK_INT(jb.stats.late, 0);
}

/* fx38_jitter_pull_marked: the same audio as fx38_jitter_pull, and a 1 exactly for each
 * sample filled in for a lost packet; the pre-roll is silence, not a gap. */
static void
test_marked(void)
{
    static uint8_t missing[MAX_PKTS * PKT + 4 * D];
    int t, n = 30;
    size_t i, ones = 0;

    init(false);
    fill_pattern(n);
    memset(missing, 0xAA, sizeof(missing));
    fx38_jitter_pull_marked(&jb, out, missing, PKT); /* no stream yet */
    for (i = 0; i < PKT; i++)
        ones += missing[i] != 0;
    CHECK_INT((int)ones, 0);
    for (t = 1; t < n + 4; t++) {
        if (t - 1 < n && t - 1 != 12)
            (void)push(9, 0, 0, t - 1);
        fx38_jitter_pull_marked(&jb, out + t * PKT, missing + t * PKT, PKT);
    }
    /* packet k is pushed at tick k+1 and plays D later, from output PKT + D + k * PKT */
    CHECK_SILENCE(0, PKT + D);
    CHECK_SAME(PKT + D, 0, 12 * PKT);
    CHECK_SILENCE(PKT + D + 12 * PKT, PKT);
    CHECK_SAME(PKT + D + 13 * PKT, 13 * PKT, (size_t)(n - 13) * PKT);
    ones = 0;
    for (i = 0; i < (size_t)(n + 4) * PKT; i++) {
        bool is_gap = i >= PKT + D + 12 * PKT && i < PKT + D + 13 * PKT;
        bool is_tail = i >= PKT + D + (size_t)n * PKT; /* after the last packet: a gap too */
        if ((missing[i] != 0) != (is_gap || is_tail)) {
            fprintf(stderr, "%s:%d: sample %zu marked %d\n", __FILE__, __LINE__, i, missing[i]);
            check_failures++;
            break;
        }
        ones += missing[i] != 0;
    }
    CHECK_INT((int)ones, (int)jb.stats.filled);
}

/* A new SSRC, a timestamp jump ahead and one back (sequence numbers going on): each restarts
 * the buffer; since the old stream had played out, the new audio follows seamlessly. */
static void
test_resync(void)
{
    int t, n = 120;
    uint32_t ssrc = 1, ts0 = 1000;
    uint16_t seq0 = 50;

    init(false);
    fill_pattern(n);
    for (t = 0; t < n; t++) {
        if (t == 30) {
            ssrc = 2; /* new source, new random bases */
            seq0 = (uint16_t)(40000 - t);
            ts0 = 0x80000000u - (uint32_t)(t * PKT);
        } else if (t == 60) {
            ts0 += 1000000; /* same source, timestamps jump ahead */
        } else if (t == 90) {
            ts0 -= 3000000; /* and back, while sequence numbers go on */
        }
        CHECK_INT(push(ssrc, seq0, ts0, t), t % 30 == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
        pull(t);
    }
    for (; t < n + 3; t++)
        pull(t);
    CHECK_SAME(D, 0, (size_t)n * PKT);
    CHECK_INT(jb.stats.resyncs, 3);
    CHECK_INT(jb.stats.filled, 0);

    /* the sender's timeline moves back with its sequence numbers: late packets until the
     * buffer gives up on the old timeline and restarts */
    init(false);
    fill_pattern(60);
    for (t = 0; t < 60; t++) {
        int verdict = t < 20 ? push(3, 100, 100000, t) : push(3, 50, 100000 - 5000, t);
        if (t == 0)
            CHECK_INT(verdict, FX38_JITTER_RESYNC);
        else if (t < 20 || t > 30)
            CHECK_INT(verdict, FX38_JITTER_STORED);
        else if (t < 30)
            CHECK_INT(verdict, FX38_JITTER_LATE);
        else
            CHECK_INT(verdict, FX38_JITTER_RESYNC);
        pull(t);
    }
    CHECK_INT(jb.stats.late, FX38_JITTER_LATE_RESYNC);
    CHECK_INT(jb.stats.resyncs, 1);
    CHECK_SAME(D, 0, 20 * PKT);
    CHECK_SAME(30 * PKT + D, 30 * PKT, 27 * PKT);

    /* a new SSRC while the old one had audio buffered beyond the delay: what was due before
     * the new stream's first sample plays, the rest is forgotten */
    init(false);
    fill_pattern(25);
    for (t = 0; t < 20; t++) {
        if (t < 10) {
            CHECK_INT(push(4, 0, 0, t), t == 0 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
            if (t == 9) /* one packet early: depth beyond the delay */
                CHECK_INT(push(4, 0, 0, 10), FX38_JITTER_STORED);
        } else {
            CHECK_INT(push(5, 0, 1u << 31, t + 5),
                      t == 10 ? FX38_JITTER_RESYNC : FX38_JITTER_STORED);
        }
        pull(t);
    }
    CHECK_SAME(D, 0, 10 * PKT);
    CHECK_SAME(D + 10 * PKT, 15 * PKT, 7 * PKT);
    CHECK_INT(jb.stats.resyncs, 1);
    CHECK_INT(jb.stats.filled, 0);
}

static void
test_pcma_and_errors(void)
{
    struct fx38_jitter_config c = {.is_alaw = true, .delay = FX38_JITTER_MAX_DELAY + 1};
    uint8_t buf[FX38_JITTER_MAX_PACKET + 1] = {0};

    CHECK_INT(fx38_jitter_init(&jb, &c), -EINVAL);
    CHECK_INT(jb.cfg.delay, FX38_JITTER_DEFAULT_DELAY);
    c.delay = -1;
    CHECK_INT(fx38_jitter_init(&jb, &c), -EINVAL);
    CHECK_INT(fx38_jitter_init(&jb, NULL), 0);
    CHECK_INT(jb.cfg.delay, FX38_JITTER_DEFAULT_DELAY);
    CHECK(!jb.cfg.is_alaw);

    c.delay = 0; /* no delay: a packet pushed before the pull plays at once */
    CHECK_INT(fx38_jitter_init(&jb, &c), 0);
    fx38_jitter_pull(&jb, out, 10);
    check_silence(__LINE__, 0, 10, 0xD5);
    CHECK_INT(fx38_jitter_push(&jb, 1, 0, 0, buf, 0), -EINVAL);
    CHECK_INT(fx38_jitter_push(&jb, 1, 0, 0, buf, sizeof(buf)), -EMSGSIZE);
    CHECK_INT(jb.stats.received, 0);
    fill_pattern(2);
    CHECK_INT(push(1, 0, 0, 0), FX38_JITTER_RESYNC);
    fx38_jitter_pull(&jb, out, 2 * PKT);
    CHECK_SAME(0, 0, PKT);
    check_silence(__LINE__, PKT, PKT, 0xD5);
    CHECK_INT(jb.stats.filled, PKT);
    c.delay = FX38_JITTER_MAX_DELAY;
    CHECK_INT(fx38_jitter_init(&jb, &c), 0);
}

/* ---- drift: 10 minutes of bursts and silence from a sender with a skewed clock ---- */

/* Test-side G.711 classes, independent of the buffer's: loud codes are in segments 3..7
 * (over 900 on the 16-bit scale), quiet ones the lowest steps of segment 0 (under 80). */
static bool
is_loud(uint8_t code, bool is_alaw)
{
    return (((is_alaw ? code ^ 0x55 : ~code) >> 4) & 7) >= 3;
}

static uint8_t
make_code(uint32_t r, bool is_loud_code, bool is_alaw)
{
    uint8_t v = (uint8_t)((r & 0x80) | (is_loud_code ? (3 + r % 5) << 4 | (r >> 8 & 15)
                                                     : (r >> 8) % (is_alaw ? 5 : 10)));

    return is_alaw ? v ^ 0x55 : (uint8_t)~v;
}

/* Output, with every quiet run shortened to nothing, must be a prefix of the input so
 * shortened, loud runs starting and ending together: loud audio is never dropped, added,
 * altered or split, whatever happens to the silence around it. */
static void
check_loud_runs(size_t nin, size_t nout, bool is_alaw)
{
    size_t i = 0, o = 0, runs = 0;

    for (;;) {
        while (i < nin && !is_loud(sim_in[i], is_alaw))
            i++;
        while (o < nout && !is_loud(sim_out[o], is_alaw))
            o++;
        if (o == nout)
            break;
        runs++;
        for (; o < nout && is_loud(sim_out[o], is_alaw); o++, i++) {
            if (i == nin || sim_out[o] != sim_in[i]) {
                fprintf(stderr, "%s:%d: loud output sample %zu differs from input %zu\n", __FILE__,
                        __LINE__, o, i);
                check_failures++;
                return;
            }
        }
        if (o < nout && i < nin && is_loud(sim_in[i], is_alaw)) {
            fprintf(stderr, "%s:%d: loud run split at output %zu, input %zu\n", __FILE__, __LINE__,
                    o, i);
            check_failures++;
            return;
        }
    }
    CHECK(runs > 50);
    CHECK(i + 5 * 8000 > nin); /* all but the last few seconds came out */
}

struct held {
    int at; /* tick to deliver at */
    uint16_t seq;
    uint32_t ts;
    size_t first; /* in sim_in */
};

static void
run_drift(int ppm, bool is_alaw)
{
    struct held q[16];
    int nq = 0, t, i, ticks = SIM_SECONDS * 50;
    uint32_t lcg = 777, r, ts0 = 0xfff00000u;
    uint16_t seq0 = 0xff00;
    size_t sent = 0, seg_left = 0;
    bool is_burst = true;
    uint32_t depth_min = UINT32_MAX, depth_max = 0;

    init(is_alaw);
    for (t = 0; t < ticks; t++) {
        /* Packets whose last sample the sender's clock produced before the end of receiver
         * tick t, in thousandths of a receiver sample; each reaches us 0..40 ms later, so
         * packets arrive at any phase of our ticks, out of order. */
        for (;;) {
            uint64_t sent_at = (uint64_t)(sent + PKT) * 1000 * 1000000 / (uint64_t)(1000000 + ppm);
            if (sent_at >= (uint64_t)(t + 1) * PKT * 1000)
                break;
            for (i = 0; i < PKT; i++) {
                if (seg_left == 0) { /* bursts of 2..8 s, gaps of 0.2..1 s */
                    lcg = lcg * 1103515245 + 12345;
                    is_burst = !is_burst;
                    seg_left = is_burst ? 16000 + (lcg >> 8) % 48000 : 1600 + (lcg >> 8) % 6400;
                }
                lcg = lcg * 1103515245 + 12345;
                sim_in[sent + (size_t)i] = make_code(lcg >> 12, is_burst, is_alaw);
                seg_left--;
            }
            lcg = lcg * 1103515245 + 12345;
            r = (lcg >> 8) % (2 * PKT * 1000);
            q[nq++] = (struct held){.at = (int)((sent_at + r) / (PKT * 1000)),
                                    .seq = (uint16_t)(seq0 + sent / PKT),
                                    .ts = ts0 + (uint32_t)sent,
                                    .first = sent};
            sent += PKT;
        }
        for (i = nq - 1; i >= 0; i--) { /* newest first: reordered */
            if (q[i].at != t)
                continue;
            CHECK(fx38_jitter_push(&jb, 42, q[i].seq, q[i].ts, sim_in + q[i].first, PKT) >=
                  FX38_JITTER_STORED);
            q[i] = q[--nq];
        }
        fx38_jitter_pull(&jb, sim_out + (size_t)t * PKT, PKT);
        if (t > 50 * 10) {
            if (jb.stats.depth < depth_min)
                depth_min = jb.stats.depth;
            if (jb.stats.depth > depth_max)
                depth_max = jb.stats.depth;
        }
    }
    printf("drift %+d ppm %s: dropped %llu inserted %llu depth %u..%u filled %llu late %llu\n", ppm,
           is_alaw ? "PCMA" : "PCMU", (unsigned long long)jb.stats.drift_dropped,
           (unsigned long long)jb.stats.drift_inserted, depth_min, depth_max,
           (unsigned long long)jb.stats.filled, (unsigned long long)jb.stats.late);

    /* 100 ppm of 10 minutes is 480 samples: taken back in silence, a few at a time */
    if (ppm > 0) {
        CHECK(jb.stats.drift_dropped >= 400 && jb.stats.drift_dropped <= 560);
        CHECK_INT(jb.stats.drift_inserted, 0);
    } else {
        CHECK(jb.stats.drift_inserted >= 400 && jb.stats.drift_inserted <= 560);
        CHECK_INT(jb.stats.drift_dropped, 0);
    }
    /* depth never strays more than the threshold plus the jitter from where it started */
    CHECK(depth_min + 2 * PKT + 2 * FX38_JITTER_DRIFT_THRESHOLD >= D);
    CHECK(depth_max <= D + 3 * PKT + 2 * FX38_JITTER_DRIFT_THRESHOLD);
    CHECK_INT(jb.stats.filled, 0);
    CHECK_INT(jb.stats.late + jb.stats.duplicates + jb.stats.resyncs, 0);
    check_loud_runs(sent, (size_t)ticks * PKT, is_alaw);
}

static void
test_drift(void)
{
    run_drift(100, false);
    run_drift(-100, false);
    run_drift(100, true);
    run_drift(-100, true);
}

int
main(void)
{
    test_in_order();
    test_reorder();
    test_wrap();
    test_duplicates();
    test_late_and_loss();
    test_marked();
    test_resync();
    test_pcma_and_errors();
    test_drift();
    return check_finish();
}
