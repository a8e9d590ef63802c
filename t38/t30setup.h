/* SPDX-License-Identifier: GPL-2.0-or-later */
/* T.30 settings shared by the T.38 session (session.c) and the G.711 session (audio.c): the
 * transport-independent part of a fax (struct fx38_fax) applied to spandsp's t30_state_t, and
 * the T.30 half of struct fx38_result. Internal to t38/: it includes <spandsp.h>.
 */
#ifndef INKLESS_T38_T30SETUP_H
#define INKLESS_T38_T30SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include <spandsp.h>

#include "session.h"

/* Check the document before spandsp sees it. Returns 0, -ENOENT (SEND: file missing or
 * unreadable) or -ENAMETOOLONG (spandsp would cut the path). Reads nothing but access(). */
int fx38_t30_check_fax(const struct fx38_fax *fax);

/* Apply ident, page header, ECM and compressions, modems (V.17 and V.29 only when
 * `max_bitrate` allows them; 0 = no limit), resolutions, image sizes and the document.
 * `fax` and its strings are borrowed for the call (spandsp copies them). */
void fx38_t30_configure(t30_state_t *t30, const struct fx38_fax *fax, int max_bitrate);

/* What a session of either transport keeps of its T.30 engine: the phase D and E reports
 * and the result. Embedded in the session, bound once (fx38_t30_bind); the session owns
 * t30 (through its spandsp terminal). `fill` adds the transport's own fields (duration,
 * packet counters) to a result. */
typedef void fx38_t30_fill_fn(const void *owner, struct fx38_result *ret);

struct fx38_t30 {
    t30_state_t *t30;
    enum fx38_direction direction;
    fx38_done_fn *done; /* the caller's, with data */
    fx38_page_fn *page; /* NULL = no page reports */
    void *data;
    fx38_t30_fill_fn *fill; /* the session's, with owner */
    const void *owner;
    int pages_reported;        /* the last count given to page() */
    bool is_done;              /* phase E reported */
    struct fx38_result result; /* filled at phase E */
    char tag[64];              /* span_log keeps the tag by pointer (pitfall 12) */
};

/* Bind p to t30: phase D reports pages (once each: the count comes from spandsp's statistics,
 * updated before the call, so a page refused with RTN is not counted), phase E reports the
 * result once. Call after fx38_t30_configure. */
void fx38_t30_bind(struct fx38_t30 *p, t30_state_t *t30, enum fx38_direction direction,
                   fx38_done_fn *done, void *data, fx38_t30_fill_fn *fill, const void *owner);

/* End now: phase E is reported with what was achieved (once, whatever happened before). */
void fx38_t30_terminate(struct fx38_t30 *p);

/* The result: phase E's, or the progress so far ("in progress", not a success). */
void fx38_t30_get_result(struct fx38_t30 *p, struct fx38_result *ret);

/* spandsp logging on or off for T.30 and the transport's `logs` (n of them), tagged. */
void fx38_t30_set_debug(struct fx38_t30 *p, bool on, const char *tag, logging_state_t *const *logs,
                        size_t n);

#endif
