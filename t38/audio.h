/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fax session over G.711 audio: spandsp's fax_state_t (T.30 with the V.17/V.29/V.27ter
 * image modems and V.21 control) fed and drained as PCMU or PCMA samples. The G.711 twin of
 * session.h, with the same T.30 settings (struct fx38_fax) and results (struct fx38_result).
 *
 * DESIGN: no socket, no timer, no clock (STYLE §1). Received audio comes in through
 * fx38_audio_rx() (from the jitter buffer: in order, no gaps), audio to send goes out through
 * the fx38_audio_send_fn callback from fx38_audio_tick(), which is also what advances time.
 * Per 20 ms tick the channel calls fx38_audio_rx() with the samples received for the tick,
 * then fx38_audio_tick() with the samples that really elapsed (the other order works too).
 * All calls for one session come from one thread; different sessions are independent.
 *
 * Phase D and phase E are reported as in session.h, from inside fx38_audio_rx() or
 * fx38_audio_tick(), phase E exactly once. Never free the session from inside either callback
 * (SPANDSP-NOTES pitfall 5): defer fx38_audio_free() to after the call that reported it.
 */
#ifndef INKLESS_T38_AUDIO_H
#define INKLESS_T38_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* The most samples handed to fx38_audio_send_fn at once (60 ms): a longer tick is sent as
 * several consecutive frames. */
#define FX38_AUDIO_MAX_FRAME 480

enum fx38_g711 { FX38_G711_PCMU = 0, FX38_G711_PCMA };

/* `samples` G.711 bytes (8 kHz, one byte a sample) to send, in order, borrowed for the call.
 * Return nothing: a failed send is the caller's to count and never aborts the fax. */
typedef void fx38_audio_send_fn(void *data, const uint8_t *g711, size_t samples);

struct fx38_audio;

/* Create a session speaking `law`. fax->inactivity_s is how long both directions may be
 * silent mid-fax before it gives up (default 30 s; pitfall 4). Returns NULL if spandsp cannot
 * start (bad file for SEND, out of memory); then *ret_error (if given) is -errno (-ENOENT,
 * -ENAMETOOLONG, -ENOMEM). Callbacks and `data` are borrowed, `fax` is copied. Non-blocking
 * except that SEND opens the TIFF (a page is then read per page). */
struct fx38_audio *fx38_audio_new(const struct fx38_fax *fax, enum fx38_g711 law,
                                  fx38_audio_send_fn *send, fx38_done_fn *done, void *data,
                                  int *ret_error);

/* Be told of each page as it is confirmed or received (fn NULL: no longer). `data` is the
 * session's own (given to fx38_audio_new). */
void fx38_audio_set_page_handler(struct fx38_audio *s, fx38_page_fn *fn);

/* Received audio: `samples` G.711 bytes (borrowed, hostile but any byte is a valid sample),
 * in order. Ignored after phase E. */
void fx38_audio_rx(struct fx38_audio *s, const uint8_t *g711, size_t samples);

/* The same with the jitter buffer's marks (fx38_jitter_pull_marked): a sample whose
 * missing[] octet is non-zero was never received, and the modems are run over it with
 * spandsp's fill-in (keeping timing and carrier through a lost packet) instead of being fed
 * its silence. g711 and missing are borrowed, `samples` octets each. */
void fx38_audio_rx_marked(struct fx38_audio *s, const uint8_t *g711, const uint8_t *missing,
                          size_t samples);

/* Advance time by `samples` (8 kHz): produce that much transmit audio and hand it to the send
 * callback (silence when the modems are idle, and after phase E). If less audio was received
 * than time passed (beyond one tick's slack), the modems and T.30 timers are run over the
 * difference so that the fax does not stall. */
void fx38_audio_tick(struct fx38_audio *s, int samples);

/* End now (BYE, CANCEL, shutdown): phase E is reported with whatever was achieved. */
void fx38_audio_terminate(struct fx38_audio *s);

/* Has phase E been reported? */
bool fx38_audio_is_done(const struct fx38_audio *s);

/* Current counters and T.30 progress, for a live channel list (udptl fields are zero). */
void fx38_audio_get_result(struct fx38_audio *s, struct fx38_result *ret);

/* Turn spandsp's debug logging (fax, T.30) on or off; off costs nothing. `tag` is copied. */
void fx38_audio_set_debug(struct fx38_audio *s, bool on, const char *tag);

/* Free. Accepts NULL. Never from inside fx38_done_fn or fx38_page_fn. */
void fx38_audio_free(struct fx38_audio *s);

#endif
