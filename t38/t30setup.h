/* SPDX-License-Identifier: GPL-2.0-or-later */
/* T.30 settings shared by the T.38 session (session.c) and the G.711 session (audio.c): the
 * transport-independent part of a fax (struct fx38_fax) applied to spandsp's t30_state_t, and
 * the T.30 half of struct fx38_result. Internal to t38/: it includes <spandsp.h>.
 */
#ifndef INKLESS_T38_T30SETUP_H
#define INKLESS_T38_T30SETUP_H

#include <stdbool.h>

#include <spandsp.h>

#include "session.h"

/* Check the document before spandsp sees it. Returns 0, -ENOENT (SEND: file missing or
 * unreadable) or -ENAMETOOLONG (spandsp would cut the path). Reads nothing but access(). */
int fx38_t30_check_fax(const struct fx38_fax *fax);

/* Apply ident, page header, ECM and compressions, modems (V.17 and V.29 only when
 * `max_bitrate` allows them; 0 = no limit), resolutions, image sizes and the document.
 * `fax` and its strings are borrowed for the call (spandsp copies them). */
void fx38_t30_configure(t30_state_t *t30, const struct fx38_fax *fax, int max_bitrate);

/* Pages confirmed by the far end (SEND) or received (RECEIVE) so far. */
int fx38_t30_get_pages(t30_state_t *t30, enum fx38_direction direction);

/* Fill the T.30 fields of `ret` for completion code `status`; the transport's own fields
 * (duration, UDPTL counters) are zero, for the caller to set. */
void fx38_t30_fill_result(t30_state_t *t30, enum fx38_direction direction, int status,
                          struct fx38_result *ret);

/* spandsp log level for fx38_*_set_debug(). */
int fx38_t30_log_level(bool on);

#endif
