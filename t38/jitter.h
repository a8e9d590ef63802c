/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fixed-delay jitter buffer for G.711 fax audio. Received payloads are slotted by RTP
 * timestamp into a ring of samples; each media tick pulls exactly the samples that elapsed,
 * a fixed delay behind. Never time-stretches or invents audio (no PLC): what is missing is
 * output as G.711 silence. Sender clock drift is absorbed by dropping or inserting a few
 * samples, and only while the output is silent.
 *
 * Pure code: no sockets, no clock, no allocation, no logging. All state, ring included, is
 * in one struct fx38_jitter (≈ 5 KiB) that the caller embeds. One channel's media thread.
 */
#ifndef INKLESS_T38_JITTER_H
#define INKLESS_T38_JITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX38_JITTER_RING 4096         /* samples in the ring (512 ms; power of two) */
#define FX38_JITTER_MAX_PACKET 480    /* samples in one pushed payload (60 ms) */
#define FX38_JITTER_MAX_DELAY 1600    /* 200 ms: 2 delays + a packet fit the ring */
#define FX38_JITTER_DEFAULT_DELAY 480 /* 60 ms */

/* Drift tracking: the mean lead of the payloads stored (how far ahead of the playout point
 * they land) over each window of output is compared with that of the first window after a
 * (re)sync. Beyond the threshold, the difference is taken back FX38_JITTER_DRIFT_STEP
 * samples per silent pull. */
#define FX38_JITTER_DRIFT_WINDOW 80000 /* samples output per measurement (10 s) */
#define FX38_JITTER_DRIFT_THRESHOLD 40 /* samples (5 ms); 100 ppm drifts this in 50 s */
#define FX38_JITTER_DRIFT_STEP 4       /* samples dropped or inserted per pull at most */
/* Silent = every sample present and under this peak on the 16-bit linear scale: about
 * -48 dBm0 for a sine, 5 dB below the weakest signal a V.17/V.29 receiver must take
 * (-43 dBm0). */
#define FX38_JITTER_SILENCE_PEAK 90
/* After this many pulls in a row during which late packets came and none was stored, the
 * next late packet means the sender's timeline moved back (or we fell behind it): resync. */
#define FX38_JITTER_LATE_RESYNC 10

struct fx38_jitter_config {
    bool is_alaw; /* PCMA (silence 0xD5) instead of PCMU (silence 0xFF) */
    int delay;    /* playout delay in samples, 0..FX38_JITTER_MAX_DELAY */
};

#define FX38_JITTER_CONFIG_DEFAULT                                                                 \
    {                                                                                              \
        .is_alaw = false, .delay = FX38_JITTER_DEFAULT_DELAY                                       \
    }

/* What fx38_jitter_push() did with a payload. */
enum fx38_jitter_verdict {
    FX38_JITTER_STORED = 0, /* slotted for playout (a part already played is skipped) */
    FX38_JITTER_DUPLICATE,  /* every sample still to play was already there: dropped */
    FX38_JITTER_LATE,       /* entirely older than the playout point: dropped */
    FX38_JITTER_RESYNC,     /* new stream or timestamp jump: restarted, then stored */
};

/* Counters for /metrics and CDRs; they only grow, except depth. */
struct fx38_jitter_stats {
    uint64_t received;       /* payloads pushed (well-formed), whatever the verdict */
    uint64_t duplicates;     /* FX38_JITTER_DUPLICATE */
    uint64_t late;           /* FX38_JITTER_LATE */
    uint64_t filled;         /* samples output as silence because audio was missing
                                (not the pre-roll before the first received sample) */
    uint64_t resyncs;        /* FX38_JITTER_RESYNC, the first packet not included */
    uint64_t drift_dropped;  /* silent samples dropped (sender fast) */
    uint64_t drift_inserted; /* silence samples inserted (sender slow) */
    uint32_t depth;          /* samples buffered ahead of the playout point now */
};

/* Per-channel state. Fields are private except `stats` (read-only). Positions are a 32-bit
 * playout sample count; a payload's position is its RTP timestamp + `offset`. */
struct fx38_jitter {
    struct fx38_jitter_config cfg;
    uint8_t silence; /* G.711 code for silence */
    int window;      /* farthest ahead of the playout point a sample may be stored */

    bool has_stream;     /* a payload was stored since init */
    bool has_played;     /* a received sample was output since init (earlier fill is pre-roll) */
    bool has_quiet_tail; /* the last sample output was received and quiet */
    uint32_t ssrc;
    uint16_t last_seq; /* newest sequence number and its timestamp */
    uint32_t last_ts;
    uint32_t offset;    /* position - RTP timestamp */
    uint32_t read_pos;  /* position of the next sample output */
    uint32_t write_end; /* one past the newest position stored */

    int late_pulls;  /* consecutive pulls with late packets and nothing stored */
    bool was_late;   /* a late packet came since the last pull */
    bool was_stored; /* a payload was stored since the last pull */

    bool has_ref;        /* reference lead measured */
    int64_t lead_sum;    /* sum of the leads of the payloads stored in this window */
    uint32_t lead_n;     /* payloads stored in this window */
    uint32_t window_out; /* samples output in this window */
    int32_t ref_lead;    /* mean lead in the first window after a (re)sync */
    int32_t pending;     /* > 0: samples to drop; < 0: to insert */

    struct fx38_jitter_stats stats;
    uint8_t valid[FX38_JITTER_RING / 8]; /* bit per ring slot: holds audio not yet played */
    uint8_t ring[FX38_JITTER_RING];
};

/* Initialise `j` (embedded by the caller) with `cfg` (copied; NULL = the defaults): empty,
 * no stream, zero counters. Holds no resources, so there is no release; call again to start
 * over. Returns 0, or -EINVAL if the delay is out of range (then the defaults are used).
 * Any thread, non-blocking. */
int fx38_jitter_init(struct fx38_jitter *j, const struct fx38_jitter_config *cfg);

/* Take one received payload: `n` G.711 samples (borrowed, copied into the ring) of the RTP
 * stream `ssrc`, with its sequence number and timestamp. Returns the verdict (>= 0), or
 * -EMSGSIZE if n is over FX38_JITTER_MAX_PACKET, -EINVAL if n is 0 (nothing changes, no
 * counter). The channel's media thread, non-blocking. */
int fx38_jitter_push(struct fx38_jitter *j, uint32_t ssrc, uint16_t seq, uint32_t timestamp,
                     const uint8_t *samples, size_t n);

/* Output exactly `n` samples into `out` (caller's, n octets): the audio due now, silence for
 * anything missing (before the first payload too), minus or plus a few silent samples when
 * correcting drift. Pass the samples that really elapsed since the last pull. The channel's
 * media thread, non-blocking. */
void fx38_jitter_pull(struct fx38_jitter *j, uint8_t *out, size_t n);

/* The same, also telling which samples were never received: ret_missing (caller's, n
 * octets) gets 1 for each sample output as silence because its packet was lost, late or
 * not sent yet, once audio has started (the `filled` count), and 0 for received audio, for
 * the pre-roll before the first packet and for silence inserted to take up drift. A fax receiver
 * should be told of a gap, not fed silence for it: silence in the middle of a V.17 page looks like
 * the carrier dropping (fx38_audio_rx_marked). ret_missing may be NULL. The channel's media thread,
 * non-blocking. */
void fx38_jitter_pull_marked(struct fx38_jitter *j, uint8_t *out, uint8_t *ret_missing, size_t n);

#endif
