/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Calls: the preallocated slot table and the decisions that join SIP to media.
 *
 * DESIGN: everything in call.c runs on the SIP thread (it is the struct ua_events handler and
 * the SIP thread's queue consumer), except call_table_new/free (main thread, before the SIP
 * thread starts / after it ended). A slot is taken when an INVITE is accepted and returns to
 * the free list only when the media worker has released its channel: slots, not memory, are
 * what `limits.max_channels` bounds, and no allocation happens per call here.
 */
#ifndef INKLESS_SERVER_CALL_H
#define INKLESS_SERVER_CALL_H

#include <stdbool.h>

#include "config.h"
#include "media.h"
#include "mq.h"
#include "spool.h"
#include "store.h"
#include "ua.h"

/* Messages to the SIP thread's queue (besides MEDIA_REPLY_RELEASED from workers). */
enum call_cmd {
    CALL_CMD_DRAIN = 1,  /* refuse new calls (503); post MAIN_MSG_IDLE when none are left */
    CALL_CMD_SHUTDOWN,   /* hang up everything and stop the SIP thread */
    CALL_CMD_FORCE_EXIT, /* stop the SIP thread now, even with BYEs in flight */
    CALL_CMD_ROUTES,     /* ptr = new struct cfg_routes (ownership passes) */
    CALL_CMD_ORIGINATE,  /* ptr = struct call_attempt (ownership passes) */
    CALL_CMD_CANCEL_JOB, /* ptr = malloc'd job id (ownership passes): hang its call up */
};

/* One attempt at an outbound job, as the storage thread's scheduler decided it. */
struct call_attempt {
    struct spool_job job;
    int first_page; /* 0-based page to start at: the pages before were confirmed already */
    int ecm;        /* -1 = the config's fax.ecm, 0 = off, 1 = on (a retry's fallback) */
    int max_rate;   /* 0 = the config's modems, else 14400/9600/4800 (a retry's fallback) */
};

/* Messages from the SIP thread to the main thread. */
enum main_msg {
    MAIN_MSG_IDLE = 1, /* draining and no call left */
};

struct call_table;

/* Create the table for cfg (borrowed, must outlive the table) with `routes` (owned from now
 * on), media pool `media`, storage thread `store`, the SIP thread's inbound queue `sip_q` (where
 * media workers reply too) and the main thread's queue `main_q` (all three borrowed). Main thread.
 * sip_q must hold max_channels + 64 messages. */
struct call_table *call_table_new(const struct cfg *cfg, struct cfg_routes *routes,
                                  struct media_pool *media, struct store *store, struct mq *sip_q,
                                  struct mq *main_q);
void call_table_free(struct call_table *t); /* accepts NULL; frees the routes */

/* The ua callbacks; pass the table as their data. */
extern const struct ua_events call_ua_events;

/* Give the table its ua (SIP thread, right after ua_new) and register the queue with it. */
int call_table_attach_ua(struct call_table *t, struct ua *ua);

#endif
