/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The outbound scheduler, pure: from a job's state and the time given by the caller it decides
 * what comes next (retry when, done, failed), how the next attempt is made (start page, ECM,
 * rate) and whether a trunk may start another call. No I/O, no clock reads, no allocation, no
 * globals: the caller (server/jobs.c) owns the jobs and gates, persists them, passes the time.
 * The file is scheduler.h, not sched.h: with -I server/, a server/sched.h would be found for
 * libc's <sched.h>, which <pthread.h> includes.
 *
 * DESIGN: two clocks. A job's times (created, not_before) are wall-clock seconds, because they
 * are persisted in the spool and must keep their meaning across a restart or a reboot. A gate's
 * times are CLOCK_MONOTONIC nanoseconds: call rates need sub-second precision and must not jump
 * when the wall clock is set. All functions are pure, never block, and may be called from any
 * thread; the caller serializes access to one job or gate (in inklessd: the storage thread).
 */
#ifndef INKLESS_SERVER_SCHEDULER_H
#define INKLESS_SERVER_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How one attempt ended, as far as retrying goes. */
enum sched_outcome {
    SCHED_OUT_OK,         /* answered and the fax completed: every page from the start page */
    SCHED_OUT_BUSY,       /* 486, 600: retry */
    SCHED_OUT_NO_ANSWER,  /* no final response, 408, 480, 487: retry */
    SCHED_OUT_CONGESTION, /* the trunk or network could not place it (500, 503...): retry */
    SCHED_OUT_FAX_FAILED, /* answered, but T.30/T.38 failed: retry, with fallbacks */
    SCHED_OUT_PERMANENT,  /* the number is wrong or the call refused for good (404, 484, 604...) */
    SCHED_OUT_CANCELED,   /* the user canceled the job (the caller says so; never classified) */
};

/* What becomes of the job after an attempt (sched_after_attempt). */
enum sched_verdict {
    SCHED_VERDICT_RETRY,    /* ready again at job->not_before */
    SCHED_VERDICT_DONE,     /* every page confirmed */
    SCHED_VERDICT_FAILED,   /* permanent error, attempts used up, or expired */
    SCHED_VERDICT_CANCELED, /* canceled by the user */
};

/* The retry policy, from the configuration (fax and outbound sections). */
struct sched_policy {
    int max_attempts;         /* calls per job at most; <= 0 = no limit */
    int64_t max_age_s;        /* a job not done this long after `created` fails; <= 0 = no limit */
    int64_t backoff_base_s;   /* retry grid created + base * k^2 (sched_after_attempt); < 1 = 1 */
    int64_t backoff_max_s;    /* a retry at most this long after the attempt ended; <= 0 = no cap */
    bool is_ecm;              /* ECM as configured (fax.ecm) */
    int max_rate;             /* bit/s as configured (fax.max_rate); 0 = every modem */
    bool is_fallback_ecm_off; /* from the first fax failure on: ECM off */
    bool is_fallback_9600;    /* from the second fax failure on: at most 9600 bit/s */
};

/* What the scheduler knows of one job. The caller persists every field with the job and
 * restores it at startup; a zeroed struct plus `created` and `pages_total` is a new job. */
struct sched_job {
    int64_t created;     /* wall clock, s: when the job was submitted */
    int64_t not_before;  /* wall clock, s: no attempt before this (0 = at once) */
    int attempts;        /* calls made, whatever their outcome */
    int fax_failures;    /* attempts answered whose fax failed: these choose the fallbacks */
    int pages_total;     /* pages in the document */
    int pages_confirmed; /* pages the far end confirmed (MCF) over all attempts; the caller may
                          * raise it as each page is confirmed, so a crash loses none */
};

/* How to make the next attempt. */
struct sched_attempt {
    int start_page; /* 1-based: the first page not confirmed yet */
    bool is_ecm;
    int max_rate; /* bit/s; 0 = every modem */
};

/* Admission for call starts: one gate per trunk and one global. Set up by sched_gate_init;
 * the fields are readable (for status output), not for writing. */
struct sched_gate {
    int max_channels;    /* calls at once; 0 = no limit */
    int active;          /* calls taken and not released yet */
    int64_t interval_ns; /* at least this long between two call starts; 0 = no rate limit */
    int64_t next_ns;     /* monotonic: the next call may start at this time */
};

/* A job waiting for its next attempt, as sched_pick sees it (both borrowed). */
struct sched_candidate {
    const struct sched_job *job;
    const struct sched_gate *trunk; /* NULL = the trunk has no gate of its own */
};

/* Classify how an attempt ended. `sip_status` is the final response to our INVITE (0 = none:
 * timeout or transport error; 2xx = answered); `is_answered` says the fax session started (it
 * wins over sip_status); `is_fax_ok` that T.30 ended normally (phase E); `pages_confirmed` how
 * many pages this attempt confirmed. Never returns SCHED_OUT_CANCELED: a cancel is the caller's
 * knowledge. The code-by-code list is in scheduler.c. */
enum sched_outcome sched_classify(int sip_status, bool is_answered, bool is_fax_ok,
                                  int pages_confirmed);

/* "ok", "busy", "no_answer", "congestion", "fax_failed", "permanent", "canceled" (static
 * strings; "unknown" for anything else). */
const char *sched_outcome_name(enum sched_outcome out);

/* The next attempt of `job` under `policy` (both borrowed): it starts at the first unconfirmed
 * page, and after fax failures it falls back (GOfax.IP's disable_ecm/v17_after_retry):
 *   fax failures so far   ECM                                  max rate
 *   0                     policy->is_ecm                       policy->max_rate
 *   1                     off if is_fallback_ecm_off           policy->max_rate
 *   2 or more             off if is_fallback_ecm_off           9600 if is_fallback_9600
 * Busy, no answer and congestion are line problems, not modem problems: they change nothing. */
struct sched_attempt sched_next_attempt(const struct sched_policy *policy,
                                        const struct sched_job *job);

/* Account for an attempt that ended at `now` (wall clock, s) with `out`, and say what follows.
 * `pages_confirmed` is the job's total of confirmed pages (start_page - 1 + this attempt's
 * count); it never lowers job->pages_confirmed. Updates *job (borrowed): attempts, fax_failures,
 * pages_confirmed and, on RETRY, not_before. Writes a one-line reason for logs and the result
 * file into ret_reason (reason_len bytes, truncated). In order:
 *   - every page confirmed (or OK) → DONE, even if the call or phase E failed afterwards, and
 *     even if the job was canceled meanwhile (the fax did arrive);
 *   - CANCELED → CANCELED; PERMANENT → FAILED at once;
 *   - max_attempts made → FAILED;
 *   - else the retry: at created + base * k^2 for the smallest k >= attempts made that leaves
 *     at least `base` after now (so attempts go at created + base, 4 base, 9 base...; a job
 *     that waited long for a channel does not redial at once), but at most backoff_max after
 *     now; if that is at or past created + max_age → FAILED (expired), else RETRY.
 * All arithmetic saturates: huge bases and ages are safe. */
enum sched_verdict sched_after_attempt(const struct sched_policy *policy, struct sched_job *job,
                                       enum sched_outcome out, int pages_confirmed, int64_t now,
                                       char *ret_reason, size_t reason_len);

/* Whether `job` is past its max age at `now` (wall clock, s). A job waiting for a channel may
 * expire without an attempt ending: the caller checks this before dialing and fails it. */
bool sched_is_expired(const struct sched_policy *policy, const struct sched_job *job, int64_t now);

/* Set up a gate (embedded, nothing to release): at most max_channels calls at once (0 = no
 * limit) and calls_per_s starts per second (0 = no limit). Starts are spaced evenly, at least
 * 1/calls_per_s apart, with no burst: then no 1 s window ever holds more than calls_per_s starts,
 * which is what a carrier's CPS limit polices, whether it counts per window or leaks a bucket. */
void sched_gate_init(struct sched_gate *g, int max_channels, int calls_per_s);

/* May a call start at `now_ns` (monotonic) through `global` and `trunk` (borrowed; either may
 * be NULL = no limit)? If not, *ret_retry_ns (may be NULL) is the monotonic time to ask again,
 * or INT64_MAX when a channel is needed: only a call ending (sched_gate_release) opens it.
 * Changes nothing: call sched_gate_take on both gates when the call really starts. */
bool sched_gate_may_start(const struct sched_gate *global, const struct sched_gate *trunk,
                          int64_t now_ns, int64_t *ret_retry_ns);

/* A call started at `now_ns` through `g`: it takes a channel and spaces the next start.
 * Only after sched_gate_may_start said yes for this gate. */
void sched_gate_take(struct sched_gate *g, int64_t now_ns);

/* A call that took a channel of `g` ended (whether or not it was answered). */
void sched_gate_release(struct sched_gate *g);

/* Which of the n candidates (borrowed) to dial now: among those due (not_before <= now, wall
 * clock s) whose gates let a call start at now_ns (monotonic), the one waiting longest, i.e.
 * the earliest max(not_before, created), ties to the earliest created, then the lowest index.
 * Returns its index, or -1 and in *ret_wait_ns how long until one may be: a not_before passing
 * or a rate limit lifting; INT64_MAX if only a call ending or a new job can change it. Ignores
 * max_age: fail expired jobs (sched_is_expired) first. */
int sched_pick(const struct sched_candidate *cands, size_t n, const struct sched_gate *global,
               int64_t now, int64_t now_ns, int64_t *ret_wait_ns);

#endif
