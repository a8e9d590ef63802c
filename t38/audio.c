/* SPDX-License-Identifier: GPL-2.0-or-later */
/* G.711 fax session: spandsp's fax_state_t on PCMU/PCMA samples (see audio.h).
 *
 * Data flow, all on the channel's media thread:
 *   fx38_audio_rx   ─▶ G.711 → linear (our buffer) ─▶ fax_rx ─▶ modems, T.30 timers
 *   fx38_audio_tick ─▶ fax_tx ─▶ linear → G.711 ─▶ send callback
 * fax_rx() modifies its input in place and fax_tx() returns short blocks unless transmit on
 * idle is set (SPANDSP-NOTES pitfall 11), so both work in our own buffers, and every tick
 * sends exactly the samples that elapsed.
 *
 * Inactivity (pitfall 4): audio flows all the time, so "activity" is signal, not packets: a
 * block above FX38_AUDIO_ACTIVE_POWER in either direction. A sender streaming a long ECM
 * block hears silence back for minutes legitimately, but it is not silent itself; a T.30
 * party waiting for a response retransmits on T.30's own timers. Silence both ways for
 * fax->inactivity_s ends the fax.
 */
#include "audio.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <spandsp.h>

#include "t30setup.h"

/* Mean square of a block (16-bit linear) above which it counts as signal: about -45 dBm0
 * (0 dBm0 is 16,140 rms here). Fax receivers detect carrier from -43 dBm; line noise and
 * G.711 idle codes are far below. */
#define FX38_AUDIO_ACTIVE_POWER 8000

struct fx38_audio {
    fax_state_t *fax;
    struct fx38_t30 t30; /* T.30 phase D/E and the result (t30setup.h) */
    enum fx38_g711 law;
    fx38_audio_send_fn *send;
    void *data;
    uint64_t samples;       /* time: samples ticked since the session started */
    uint64_t rx_samples;    /* samples given to fax_rx or fax_rx_fillin */
    uint64_t last_activity; /* when we last heard or sent signal */
    uint64_t inactivity_samples;
    int16_t amp[FX38_AUDIO_MAX_FRAME];
    uint8_t g711[FX38_AUDIO_MAX_FRAME];
};

/* The audio fields of a result. */
static void
fill_result(const void *owner, struct fx38_result *ret)
{
    const struct fx38_audio *s = owner;
    ret->duration_samples = s->samples;
}

/* G.711 → linear for every code, once per process: a load a sample instead of spandsp's
 * bit arithmetic on the receive path, which runs every tick of every channel. */
static int16_t ulaw_linear[256], alaw_linear[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void
make_tables(void)
{
    for (int i = 0; i < 256; i++) {
        ulaw_linear[i] = ulaw_to_linear((uint8_t)i);
        alaw_linear[i] = alaw_to_linear((uint8_t)i);
    }
}

static bool
is_signal(int64_t energy, int n)
{
    return n > 0 && energy > (int64_t)FX38_AUDIO_ACTIVE_POWER * n;
}

struct fx38_audio *
fx38_audio_new(const struct fx38_fax *fax, enum fx38_g711 law, fx38_audio_send_fn *send,
               fx38_done_fn *done, void *data, int *ret_error)
{
    int err = -ENOMEM;
    (void)pthread_once(&tables_once, make_tables);
    struct fx38_audio *s = calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->law = law;
    s->send = send;
    s->data = data;
    s->inactivity_samples =
        (uint64_t)(fax->inactivity_s > 0 ? fax->inactivity_s : 30) * FX38_SAMPLE_RATE;

    err = fx38_t30_check_fax(fax);
    if (err < 0)
        goto fail;
    err = -ENOMEM;

    s->fax = fax_init(NULL, fax->is_caller);
    if (!s->fax)
        goto fail;
    /* Full blocks from fax_tx(), silence when idle (pitfall 11); no talker echo protection
     * tone: the path is digital end to end on our side. */
    fax_set_transmit_on_idle(s->fax, true);
    fax_set_tep_mode(s->fax, false);
    /* Audio has no T38MaxBitRate: every modem asked for is offered. */
    t30_state_t *t30 = fax_get_t30_state(s->fax);
    fx38_t30_configure(t30, fax, 0);
    fx38_t30_bind(&s->t30, t30, fax->direction, done, data, fill_result, s);
    return s;

fail:
    if (ret_error)
        *ret_error = err;
    fx38_audio_free(s);
    return NULL;
}

void
fx38_audio_set_page_handler(struct fx38_audio *s, fx38_page_fn *fn)
{
    s->t30.page = fn;
}

void
fx38_audio_rx_marked(struct fx38_audio *s, const uint8_t *g711, const uint8_t *missing,
                     size_t samples)
{
    size_t i = 0;
    while (i < samples && !s->t30.is_done) {
        size_t run = 1;
        while (i + run < samples && missing[i + run] == missing[i])
            run++;
        if (missing[i]) {
            /* The modems keep their timing and carrier across the gap (spandsp's fill-in),
             * and T.30's timers run over it, as over audio. */
            for (size_t left = run; left > 0 && !s->t30.is_done;) {
                int n = left > FX38_SAMPLE_RATE ? FX38_SAMPLE_RATE : (int)left;
                s->rx_samples += (uint64_t)n;
                (void)fax_rx_fillin(s->fax, n);
                left -= (size_t)n;
            }
        } else {
            fx38_audio_rx(s, g711 + i, run);
        }
        i += run;
    }
}

void
fx38_audio_rx(struct fx38_audio *s, const uint8_t *g711, size_t samples)
{
    while (samples > 0 && !s->t30.is_done) {
        int n = samples > FX38_AUDIO_MAX_FRAME ? FX38_AUDIO_MAX_FRAME : (int)samples;
        /* Decoded into our buffer: fax_rx() writes into what it is given (pitfall 11). */
        const int16_t *table = s->law == FX38_G711_PCMA ? alaw_linear : ulaw_linear;
        int64_t energy = 0;
        for (int i = 0; i < n; i++) {
            int32_t v = table[g711[i]];
            s->amp[i] = (int16_t)v;
            energy += v * v;
        }
        if (is_signal(energy, n))
            s->last_activity = s->samples;
        s->rx_samples += (uint64_t)n;
        /* May report phase D or E (and set is_done) from inside. */
        (void)fax_rx(s->fax, s->amp, n);
        g711 += n;
        samples -= (size_t)n;
    }
}

/* Send `n` samples of s->amp (n ≤ FX38_AUDIO_MAX_FRAME) as G.711; returns their energy (for
 * the inactivity watchdog), summed in the same pass. */
static int64_t
send_amp(struct fx38_audio *s, int n)
{
    int64_t energy = 0;
    if (s->law == FX38_G711_PCMA) {
        for (int i = 0; i < n; i++) {
            s->g711[i] = linear_to_alaw(s->amp[i]);
            energy += (int32_t)s->amp[i] * s->amp[i];
        }
    } else {
        for (int i = 0; i < n; i++) {
            s->g711[i] = linear_to_ulaw(s->amp[i]);
            energy += (int32_t)s->amp[i] * s->amp[i];
        }
    }
    s->send(s->data, s->g711, (size_t)n);
    return energy;
}

void
fx38_audio_tick(struct fx38_audio *s, int samples)
{
    if (samples <= 0)
        return;
    s->samples += (uint64_t)samples;
    if (!s->t30.is_done) {
        /* fax_rx() drives the T.30 timers (pitfall 11). Audio that never came (the jitter
         * buffer gave nothing this tick, or twice in a row) is filled in, so timers keep
         * running; one tick of slack lets the caller call rx and tick in either order. */
        if (s->samples > s->rx_samples + (uint64_t)samples) {
            uint64_t missing = s->samples - s->rx_samples - (uint64_t)samples;
            s->rx_samples += missing;
            while (missing > 0 && !s->t30.is_done) {
                int n = missing > FX38_SAMPLE_RATE ? FX38_SAMPLE_RATE : (int)missing;
                (void)fax_rx_fillin(s->fax, n);
                missing -= (uint64_t)n;
            }
        }
        if (!s->t30.is_done && s->samples - s->last_activity > s->inactivity_samples)
            fx38_audio_terminate(s);
    }
    for (int left = samples; left > 0;) {
        int n = left > FX38_AUDIO_MAX_FRAME ? FX38_AUDIO_MAX_FRAME : left;
        int got = 0;
        if (!s->t30.is_done) {
            got = fax_tx(s->fax, s->amp, n);
            if (got < 0)
                got = 0;
        }
        /* After phase E, or a short block despite transmit on idle: silence, so the far end
         * always gets exactly the samples that elapsed. */
        for (int i = got; i < n; i++)
            s->amp[i] = 0;
        /* The silence added counts for nothing: the mean is over what the modems made. */
        if (is_signal(send_amp(s, n), got))
            s->last_activity = s->samples;
        left -= n;
    }
}

void
fx38_audio_terminate(struct fx38_audio *s)
{
    fx38_t30_terminate(&s->t30);
}

bool
fx38_audio_is_done(const struct fx38_audio *s)
{
    return s->t30.is_done;
}

void
fx38_audio_get_result(struct fx38_audio *s, struct fx38_result *ret)
{
    fx38_t30_get_result(&s->t30, ret);
}

void
fx38_audio_set_debug(struct fx38_audio *s, bool on, const char *tag)
{
    logging_state_t *const logs[] = {fax_get_logging_state(s->fax)};
    fx38_t30_set_debug(&s->t30, on, tag, logs, 1);
}

void
fx38_audio_free(struct fx38_audio *s)
{
    if (!s)
        return;
    if (s->fax)
        fax_free(s->fax);
    free(s);
}
