/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Outbound jobs on the storage thread: which job to dial when, over which trunk, from which
 * page, and what became of every attempt. server/sched.c decides (pure); this file keeps the
 * jobs, persists their status in the spool (storage/spool.h) and talks to the SIP thread.
 *
 * DESIGN: a job's status file is written (durably) before each step is acted on: DIALING
 * before the INVITE goes out, each confirmed page as the far end confirms it (phase D), the
 * attempt's outcome when the call ends. So after a crash (kill -9) a job that was DIALING or
 * SENDING resumes at its first unconfirmed page, and a confirmed page is never sent again
 * (the one window left is between the far end's MCF and our fsync of the count: a few
 * milliseconds). A job in a final state gets its result file (spool/tx/<id>/document.json),
 * which is what `inkless send --wait` waits for.
 * Everything here runs on the storage thread; it blocks on disk (as that thread may).
 */
#ifndef INKLESS_SERVER_JOBS_H
#define INKLESS_SERVER_JOBS_H

#include <stdbool.h>

#include "config.h"
#include "loop.h"
#include "mq.h"
#include "store.h"

struct jobs;

/* Create the job table for `var_dir` on the storage thread's loop (borrowed), posting
 * CALL_CMD_ORIGINATE and CALL_CMD_CANCEL_JOB to `sip_q` (borrowed). Policy and trunk limits
 * are copied from cfg. NULL on out-of-memory. */
struct jobs *jobs_new(const struct cfg *cfg, const char *var_dir, struct loop *loop,
                      struct mq *sip_q);
void jobs_free(struct jobs *js); /* accepts NULL */

/* Look at spool/tx: pick up new jobs, act on cancel requests. At startup (is_startup) an
 * attempt left DIALING or SENDING by the previous run is recorded as interrupted. */
void jobs_scan(struct jobs *js, bool is_startup);

/* A job directory changed (inotify): pick it up or look for a cancel request. */
void jobs_touch(struct jobs *js, const char *id);

/* An attempt ended: its record (borrowed) from the SIP thread. */
void jobs_on_record(struct jobs *js, const struct fax_record *rec);

/* The attempt in progress for job `id` has `pages` pages confirmed. */
void jobs_on_progress(struct jobs *js, const char *id, int pages);

#endif
