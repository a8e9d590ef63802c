/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The outbound spool: jobs committed into the var dir by `inkless send` (or later the REST
 * API and the email gateway) and picked up by inklessd.
 *
 * DESIGN (after OpenSMTPD's queue): a job is built in spool/tmp/<id>/ — the document and a
 * small key=value "job" file, each written and fsynced — and committed by renaming the
 * directory to spool/tx/<id>/, then fsyncing spool/tx. Only a complete job can ever appear
 * in spool/tx. The daemon writes the result next to the document (document.json), and a
 * job with a result is finished. A blocking library: call it from a worker or a CLI, never
 * from a loop thread.
 */
#ifndef INKLESS_STORAGE_SPOOL_H
#define INKLESS_STORAGE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SPOOL_ID_LEN 40
#define SPOOL_DOCUMENT "document.tif"
#define SPOOL_RESULT "document.json"
#define SPOOL_MAX_ATTEMPTS 32 /* attempts kept in the status file (the oldest are dropped) */
#define SPOOL_TEXT_LEN 128

struct spool_job {
    char id[SPOOL_ID_LEN]; /* <UTC time>-<random hex>, also the directory name */
    char to[32];           /* number to call, E.164 digits or as the trunk wants it */
    char trunk[64];
    char from[32];   /* caller ID, "" = the trunk's */
    char header[51]; /* page header line, "" = none */
    time_t created;
    char document[512]; /* absolute or var-dir-relative path of the TIFF, filled by load */
    int pages;          /* pages in the document, counted at submit (0 = unknown) */
    time_t not_before;  /* scheduled: no attempt before this (wall clock), 0 = at once */
    char owner[64];     /* who submitted it (a user name), "" = none */
    int max_attempts;   /* calls at most for this job, 0 = outbound.max_attempts */
};

/* Where a job is. A job directory without a status file is QUEUED. */
enum spool_state {
    SPOOL_QUEUED = 0, /* committed, waiting for its first attempt */
    SPOOL_CONVERTING, /* its documents are being converted to TIFF-F */
    SPOOL_READY,      /* waiting for its next attempt (not_before) or a free channel */
    SPOOL_DIALING,    /* an attempt's INVITE is out */
    SPOOL_SENDING,    /* answered, pages going out */
    SPOOL_DONE,       /* every page confirmed by the far end */
    SPOOL_FAILED,     /* given up: permanent error, attempts or age exhausted */
    SPOOL_CANCELED,   /* canceled by the submitter or an operator */
};

/* One attempt: a call placed for the job. Times are wall clock (Unix seconds). */
struct spool_attempt {
    int64_t started, ended;
    char trunk[64];
    int sip_status;      /* final SIP response to our INVITE (200 if answered), 0 = none */
    int t30_status;      /* spandsp T30_ERR_* at phase E, -1 = the fax never started */
    int first_page;      /* 1-based page this attempt started with */
    int pages_confirmed; /* pages the far end confirmed (MCF) in this attempt */
    char outcome[24];    /* "ok", "busy", "no-answer", "fax-failed", "permanent", ... */
    char text[SPOOL_TEXT_LEN];
};

/* What happened to a job so far: spool/tx/<id>/status, rewritten atomically. */
struct spool_status {
    enum spool_state state;
    int pages_confirmed;         /* over all attempts: the next attempt starts at this + 1 */
    int64_t not_before;          /* wall clock: no attempt before this */
    char reason[SPOOL_TEXT_LEN]; /* why it is DONE/FAILED/CANCELED, or what it waits for */
    int nattempts;               /* attempts made (may exceed SPOOL_MAX_ATTEMPTS) */
    struct spool_attempt attempts[SPOOL_MAX_ATTEMPTS]; /* the last ones, oldest first */
};

/* Commit a new job: copy `tiff_path` into the spool as its document and write the job file
 * (fields of *job except id/created/document, which are filled in). Returns 0, or -errno
 * (-EINVAL for a bad field, -ENOENT for a missing file, disk errors). Blocks. */
int spool_submit(const char *var_dir, const char *tiff_path, struct spool_job *job);

/* Load job `id` from spool/tx/. Returns 0, -ENOENT if it does not exist, -EALREADY if it
 * has a result (finished; *ret_job is filled all the same), -EINVAL if the job file is
 * malformed. Blocks. */
int spool_load_job(const char *var_dir, const char *id, struct spool_job *ret_job);

/* Is `name` a well-formed job id (so it is safe as a path component)? */
int spool_check_id(const char *name);

/* The job's status, or a fresh QUEUED one when it has no status file yet. Returns 0,
 * -ENOENT if the job does not exist, -EINVAL if the status file is malformed. Blocks. */
int spool_load_status(const char *var_dir, const char *id, struct spool_status *ret_status);

/* Replace the job's status file: tmp, fsync, rename, fsync the directory. 0 or -errno. The
 * only writer is inklessd's storage thread (cancel requests go through spool_cancel). */
int spool_save_status(const char *var_dir, const char *id, const struct spool_status *status);

/* Append *attempt (copied) to status, keeping the last SPOOL_MAX_ATTEMPTS; nattempts counts
 * every attempt. */
void spool_add_attempt(struct spool_status *status, const struct spool_attempt *attempt);

/* Ask for the job to be canceled: a durable "cancel" file in its directory, which inklessd
 * acts on (hanging up an attempt in progress). 0, -ENOENT (no such job), -EALREADY (it is
 * finished), or -errno. Blocks. */
int spool_cancel(const char *var_dir, const char *id);

/* Has a cancel been asked for? */
bool spool_is_cancel_requested(const char *var_dir, const char *id);

/* "queued", "ready", ... and back; spool_parse_state returns -EINVAL for an unknown name. */
const char *spool_state_name(enum spool_state state);
int spool_parse_state(const char *name, enum spool_state *ret_state);

/* Is the state final (DONE, FAILED, CANCELED)? */
bool spool_is_final(enum spool_state state);

#endif
