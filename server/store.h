/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The storage thread: blocking disk work off the loop threads (STYLE §2.3). It records each
 * fax's result next to its document, and picks up outbound jobs committed into spool/tx/
 * (inotify, plus a rescan every few seconds) and hands them to the SIP thread. The archive
 * ingest (issue #4) and the full outbound scheduler (#5) will run here too.
 *
 * DESIGN: one thread with a loop and a queue. Jobs carry ownership of their record to the
 * thread, which frees it. Nothing here runs on the SIP or media threads.
 */
#ifndef INKLESS_SERVER_STORE_H
#define INKLESS_SERVER_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "media.h"

/* Everything we know about one fax when it ends. */
struct fax_record {
    char call_id[128];
    char direction[8]; /* "rx" or "tx" */
    char did[24];      /* our number */
    char remote[64];   /* the far end's number */
    char trunk[64];
    char transport[8];   /* "t38" (later also "g711") */
    char file[256];      /* the TIFF received or sent */
    char job[64];        /* outbound: the spool job id, "" for inbound */
    time_t started;      /* wall clock, for CDRs */
    double duration_s;   /* call answer to phase E */
    int sip_status;      /* how the call ended, when known */
    bool is_provisional; /* inbound, at answer: the call's details before its result, kept
                          * as <file>.call so a crash mid-fax loses no call details */
    struct media_fax_done done;
};

struct store;

/* Start the thread over cfg's var dir, with its outbound policy and trunk limits (copied),
 * posting CALL_CMD_ORIGINATE and CALL_CMD_CANCEL_JOB to `sip_q` (borrowed). Returns NULL
 * (errno set) on failure. Main thread. */
struct store *store_start(const struct cfg *cfg, struct mq *sip_q);
/* Finish queued jobs, stop and join. Accepts NULL. Main thread. */
void store_stop(struct store *st);

/* Queue a record (ownership passes). Any thread. 0 or -EAGAIN (then the caller still owns
 * it). The record is written as JSON to the document's path with ".json" for ".tif",
 * atomically (tmp, fsync, rename, fsync dir). */
int store_post_record(struct store *st, struct fax_record *rec);

/* An outbound job's attempt has `pages` pages confirmed by the far end so far (phase D).
 * Copies job_id. Any thread. 0 or -EAGAIN (progress is best effort: the final record counts). */
int store_post_progress(struct store *st, const char *job_id, int pages);

#endif
