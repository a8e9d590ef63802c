/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Outbound jobs on the storage thread (see jobs.h). */
#include "jobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "call.h"
#include "log.h"
#include "scheduler.h"
#include "spool.h"

#define NS_PER_S 1000000000ll
#define OUTCOME_INTERRUPTED "interrupted"
#define OUTCOME_IN_PROGRESS "in-progress" /* the attempt out now (recorded before dialing) */

/* One job not finished yet (finished ones are pruned to an id in jobs.done). */
struct job {
    struct spool_job job;
    struct spool_status status;
    struct sched_job sj;
    struct sched_policy policy; /* the configured one, with the job's own limits if it has */
    int trunk;                  /* index into js->gates, -1 = trunk unknown */
    bool is_active;             /* an attempt is out (DIALING/SENDING) */
    bool is_cancel_sent;        /* CALL_CMD_CANCEL_JOB posted for the active attempt */
    struct spool_attempt cur;   /* the active attempt */
};

struct trunk_gate {
    char name[CFG_NAME_LEN];
    struct sched_gate gate;
};

struct jobs {
    char var_dir[CFG_PATH_LEN];
    struct loop *loop;
    struct mq *sip_q;
    struct sched_policy policy;
    struct sched_gate global;
    struct trunk_gate *gates;
    int ngates;
    struct job *jobs; /* jobs not finished (and, until run() prunes them, just finished) */
    size_t njobs, cap;
    /* Ids of finished jobs and of job directories we cannot load, sorted: a rescan passes
     * them by without a syscall, however many the spool keeps. */
    char (*done)[SPOOL_ID_LEN];
    size_t ndone, done_cap;
    struct timer wake;
};

/* The job's newest attempt in its status, NULL if none. */
static struct spool_attempt *
last_attempt(struct job *j)
{
    int kept = j->status.nattempts < SPOOL_MAX_ATTEMPTS ? j->status.nattempts : SPOOL_MAX_ATTEMPTS;
    return kept > 0 ? &j->status.attempts[kept - 1] : NULL;
}

static int64_t
wall_now(void)
{
    return (int64_t)time(NULL);
}

static struct job *
find_job(struct jobs *js, const char *id)
{
    for (size_t i = 0; i < js->njobs; i++)
        if (strcmp(js->jobs[i].job.id, id) == 0)
            return &js->jobs[i];
    return NULL;
}

static int
compare_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool
is_done_id(const struct jobs *js, const char *id)
{
    return js->ndone && bsearch(id, js->done, js->ndone, sizeof(js->done[0]), compare_ids);
}

/* Add id to the sorted done list (ids are mostly created in order: usually an append). */
static void
remember_done(struct jobs *js, const char *id)
{
    if (js->ndone == js->done_cap) {
        size_t cap = js->done_cap ? js->done_cap * 2 : 256;
        void *p = realloc(js->done, cap * sizeof(js->done[0]));
        if (!p)
            return; /* only costs a reload of the job on the next rescan */
        js->done = p;
        js->done_cap = cap;
    }
    size_t i = js->ndone;
    while (i > 0 && strcmp(js->done[i - 1], id) > 0)
        i--;
    if (i > 0 && strcmp(js->done[i - 1], id) == 0)
        return;
    memmove(&js->done[i + 1], &js->done[i], (js->ndone - i) * sizeof(js->done[0]));
    snprintf(js->done[i], sizeof(js->done[0]), "%s", id);
    js->ndone++;
}

/* Drop finished jobs from the table (after a batch: callers may hold pointers into it until
 * then, STYLE §2.8), keeping only their ids. */
static void
prune(struct jobs *js)
{
    size_t kept = 0;
    for (size_t i = 0; i < js->njobs; i++) {
        struct job *j = &js->jobs[i];
        if (spool_is_final(j->status.state) && !j->is_active)
            remember_done(js, j->job.id);
        else
            js->jobs[kept++] = *j;
    }
    js->njobs = kept;
}

static int
find_gate(const struct jobs *js, const char *trunk)
{
    for (int i = 0; i < js->ngates; i++)
        if (strcmp(js->gates[i].name, trunk) == 0)
            return i;
    return -1;
}

/* The job's status on disk; a failure to write is logged (the job goes on in memory, and
 * the next successful write catches up). */
static void
save(struct jobs *js, struct job *j)
{
    int r = spool_save_status(js->var_dir, j->job.id, &j->status);
    if (r < 0)
        log_error("job %s: cannot save its status (%s): %s", j->job.id,
                  spool_state_name(j->status.state), strerror(-r));
}

/* The result file of a finished job: what `inkless send --wait` prints. Atomic. */
static void
write_result(struct jobs *js, struct job *j)
{
    char path[CFG_PATH_LEN + 128], tmp[CFG_PATH_LEN + 140];
    snprintf(path, sizeof(path), "%s/spool/tx/%s/" SPOOL_RESULT, js->var_dir, j->job.id);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    const struct spool_attempt *last = last_attempt(j);
    json_t *o =
        json_pack("{ss ss sb ss ss ss si si si ss si si}", "job", j->job.id, "state",
                  spool_state_name(j->status.state), "success", j->status.state == SPOOL_DONE,
                  "reason", j->status.reason, "to", j->job.to, "trunk", j->job.trunk, "pages",
                  j->status.pages_confirmed, "pages_total", j->job.pages, "attempts",
                  j->status.nattempts, "direction", "tx", "sip_status", last ? last->sip_status : 0,
                  "t30_status", last ? last->t30_status : -1);
    int r = o && json_dump_file(o, tmp, JSON_INDENT(2)) == 0 ? 0 : -EIO;
    json_decref(o);
    int fd = r == 0 ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        r = fsync(fd) < 0 ? -errno : 0;
        close(fd);
    }
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        log_error("job %s: cannot write its result: %s", j->job.id, strerror(-r));
}

static void
finish(struct jobs *js, struct job *j, enum spool_state state, const char *reason)
{
    j->status.state = state;
    snprintf(j->status.reason, sizeof(j->status.reason), "%s", reason);
    save(js, j);
    write_result(js, j);
    log_info("job %s: %s: %s (%d of %d page(s) confirmed, %d attempt(s))", j->job.id,
             spool_state_name(state), reason, j->status.pages_confirmed, j->job.pages,
             j->status.nattempts);
}

/* ---- dialing ---- */

/* Post one attempt to the SIP thread. The status says DIALING on disk first. */
static int
dial(struct jobs *js, struct job *j, int64_t now_ns)
{
    struct sched_attempt how = sched_next_attempt(&j->policy, &j->sj);
    struct call_attempt *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    *a = (struct call_attempt){
        .job = j->job,
        .first_page = how.start_page - 1,
        .ecm = how.is_ecm ? -1 : 0,
        .max_rate = how.max_rate,
    };
    j->cur = (struct spool_attempt){
        .started = wall_now(),
        .t30_status = -1,
        .first_page = how.start_page,
    };
    snprintf(j->cur.trunk, sizeof(j->cur.trunk), "%s", j->job.trunk);
    snprintf(j->cur.outcome, sizeof(j->cur.outcome), OUTCOME_IN_PROGRESS);
    struct spool_status before = j->status;
    spool_add_attempt(&j->status, &j->cur);
    j->status.state = SPOOL_DIALING;
    save(js, j);
    struct mq_msg msg = {.type = CALL_CMD_ORIGINATE, .ptr = a};
    if (mq_send(js->sip_q, &msg) < 0) {
        free(a);
        j->status = before; /* never made */
        save(js, j);
        return -EAGAIN;
    }
    sched_gate_take(&js->global, now_ns);
    if (j->trunk >= 0)
        sched_gate_take(&js->gates[j->trunk].gate, now_ns);
    j->is_active = true;
    j->is_cancel_sent = false;
    return 0;
}

static void check_cancel(struct jobs *js, struct job *j);

/* Act on cancel requests and fail the jobs past their max age; then dial every job that may
 * go now, the longest waiting first (sched_pick), and arm the timer for the next one. */
static void
run(struct jobs *js)
{
    int64_t now = wall_now(), now_ns = (int64_t)loop_now(js->loop), wait_ns = INT64_MAX;
    struct sched_candidate *cands = calloc(js->njobs ? js->njobs : 1, sizeof(*cands));
    struct job **which = calloc(js->njobs ? js->njobs : 1, sizeof(*which));
    size_t n = 0;
    for (size_t i = 0; cands && which && i < js->njobs; i++) {
        struct job *j = &js->jobs[i];
        check_cancel(js, j);
        if (j->is_active || spool_is_final(j->status.state))
            continue;
        if (sched_is_expired(&j->policy, &j->sj, now)) {
            finish(js, j, SPOOL_FAILED, "expired: not sent within outbound.max_age");
            continue;
        }
        which[n] = j;
        cands[n++] = (struct sched_candidate){
            .job = &j->sj,
            .trunk = j->trunk >= 0 ? &js->gates[j->trunk].gate : NULL,
        };
    }
    /* Each dial takes from the gates; the next pick sees that. A dialled job leaves the
     * candidates (the last one takes its place). */
    for (int k; n > 0 && (k = sched_pick(cands, n, &js->global, now, now_ns, &wait_ns)) >= 0;) {
        if (dial(js, which[k], now_ns) < 0)
            break;
        cands[k] = cands[--n];
        which[k] = which[n];
    }
    free(cands);
    free(which);
    prune(js);
    /* At most a second away: a cancel request or a lost inotify event is seen then. */
    if (wait_ns > NS_PER_S)
        wait_ns = NS_PER_S;
    if (wait_ns < 1000000)
        wait_ns = 1000000;
    timer_cancel(js->loop, &js->wake);
    (void)timer_arm(js->loop, &js->wake, (uint64_t)wait_ns);
}

static void
on_wake(void *data)
{
    run(data);
}

/* ---- picking jobs up ---- */

static void
check_cancel(struct jobs *js, struct job *j)
{
    if (spool_is_final(j->status.state) || !spool_is_cancel_requested(js->var_dir, j->job.id))
        return;
    if (!j->is_active) {
        finish(js, j, SPOOL_CANCELED, "canceled");
        return;
    }
    if (j->is_cancel_sent)
        return;
    /* The call is hung up; its record then ends the attempt, and the job, as canceled. */
    char *id = strdup(j->job.id);
    struct mq_msg msg = {.type = CALL_CMD_CANCEL_JOB, .ptr = id};
    if (id && mq_send(js->sip_q, &msg) == 0)
        j->is_cancel_sent = true;
    else
        free(id);
}

/* The scheduler's counts from the attempt history: attempts made (those a restart of ours
 * interrupted are our fault, not the far end's, and do not use up max_attempts) and answered
 * attempts whose fax failed (they choose the fallbacks: 0, 1, 2 or more matter). */
static void
count_attempts(struct job *j)
{
    int kept = j->status.nattempts < SPOOL_MAX_ATTEMPTS ? j->status.nattempts : SPOOL_MAX_ATTEMPTS;
    j->sj.attempts = j->status.nattempts;
    j->sj.fax_failures = 0;
    for (int i = 0; i < kept; i++) {
        const char *out = j->status.attempts[i].outcome;
        j->sj.attempts -= strcmp(out, OUTCOME_INTERRUPTED) == 0;
        j->sj.fax_failures += strcmp(out, sched_outcome_name(SCHED_OUT_FAX_FAILED)) == 0;
    }
}

static void
load(struct jobs *js, const char *id, bool is_startup)
{
    if (is_done_id(js, id))
        return;
    struct job *j = find_job(js, id);
    if (j) {
        check_cancel(js, j);
        return;
    }
    if (js->njobs == js->cap) {
        size_t cap = js->cap ? js->cap * 2 : 64;
        void *p = realloc(js->jobs, cap * sizeof(*js->jobs));
        if (!p)
            return;
        js->jobs = p;
        js->cap = cap;
    }
    j = &js->jobs[js->njobs];
    *j = (struct job){.trunk = -1};
    int r = spool_load_job(js->var_dir, id, &j->job);
    if (r == -EALREADY) { /* finished before (it has its result) */
        remember_done(js, id);
        return;
    }
    if (r == 0)
        r = spool_load_status(js->var_dir, id, &j->status);
    if (r < 0) {
        if (r != -ENOENT) { /* ENOENT: the directory went away (purged) */
            log_warning("job %s: cannot load: %s (left alone)", id, strerror(-r));
            remember_done(js, id); /* said once, not at every rescan */
        }
        return;
    }
    js->njobs++;
    j->trunk = find_gate(js, j->job.trunk);
    j->policy = js->policy;
    if (j->job.max_attempts > 0)
        j->policy.max_attempts = j->job.max_attempts;
    j->sj = (struct sched_job){
        .created = (int64_t)j->job.created,
        .not_before = j->status.not_before > (int64_t)j->job.not_before
                          ? j->status.not_before
                          : (int64_t)j->job.not_before,
        .attempts = j->status.nattempts,
        .pages_total = j->job.pages,
        .pages_confirmed = j->status.pages_confirmed,
    };
    count_attempts(j);
    if (spool_is_final(j->status.state)) {
        write_result(js, j); /* the crash came between the status and the result */
        return;
    }
    if (j->trunk < 0) {
        finish(js, j, SPOOL_FAILED, "no such trunk in the configuration");
        return;
    }
    if (is_startup && (j->status.state == SPOOL_DIALING || j->status.state == SPOOL_SENDING)) {
        /* The previous run died during an attempt: the far end may or may not have seen
         * the call; what it confirmed is in pages_confirmed (saved page by page). */
        struct spool_attempt *a = last_attempt(j);
        if (!a || strcmp(a->outcome, OUTCOME_IN_PROGRESS) != 0) {
            struct spool_attempt fresh = {.t30_status = -1};
            fresh.first_page = j->status.pages_confirmed + 1;
            snprintf(fresh.trunk, sizeof(fresh.trunk), "%s", j->job.trunk);
            spool_add_attempt(&j->status, &fresh);
            a = last_attempt(j);
        }
        a->ended = wall_now();
        snprintf(a->outcome, sizeof(a->outcome), OUTCOME_INTERRUPTED);
        snprintf(a->text, sizeof(a->text), "inklessd stopped during the attempt (%s)",
                 spool_state_name(j->status.state));
        count_attempts(j);
        /* Not at once: the far end may still hold the call we could not hang up. */
        if (j->sj.not_before < a->ended + j->policy.backoff_base_s)
            j->sj.not_before = a->ended + j->policy.backoff_base_s;
        j->status.not_before = j->sj.not_before;
        log_warning("job %s: resumed after a restart (was %s, %d page(s) confirmed)", id,
                    spool_state_name(j->status.state), j->status.pages_confirmed);
    }
    if (j->status.state != SPOOL_READY) {
        j->status.state = SPOOL_READY;
        save(js, j);
    }
    log_info("job %s: %d page(s) to %s via %s, %s", id, j->job.pages, j->job.to, j->job.trunk,
             j->status.nattempts ? "retrying" : "queued");
    check_cancel(js, j);
}

void
jobs_scan(struct jobs *js, bool is_startup)
{
    char path[CFG_PATH_LEN + 16];
    snprintf(path, sizeof(path), "%s/spool/tx", js->var_dir);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && spool_check_id(e->d_name) == 0)
            load(js, e->d_name, is_startup);
    closedir(d);
    run(js);
}

void
jobs_touch(struct jobs *js, const char *id)
{
    if (spool_check_id(id) < 0)
        return;
    load(js, id, false);
    run(js);
}

/* ---- attempts ending ---- */

void
jobs_on_progress(struct jobs *js, const char *id, int pages)
{
    struct job *j = find_job(js, id);
    if (!j || !j->is_active)
        return;
    int confirmed = j->cur.first_page - 1 + pages;
    if (confirmed <= j->status.pages_confirmed)
        return;
    j->cur.pages_confirmed = pages;
    struct spool_attempt *a = last_attempt(j);
    if (a)
        *a = j->cur;
    j->status.pages_confirmed = confirmed;
    j->sj.pages_confirmed = confirmed;
    j->status.state = SPOOL_SENDING;
    save(js, j);
}

void
jobs_on_record(struct jobs *js, const struct fax_record *rec)
{
    struct job *j = find_job(js, rec->job);
    if (!j || !j->is_active) {
        log_warning("job %s: result of an attempt we did not start: ignored", rec->job);
        return;
    }
    const struct fx38_result *r = &rec->done.result;
    bool is_answered = rec->done.error == 0;
    /* Phase E's count is final for this attempt (phase D may have been lost on the way). */
    if (is_answered && r->pages > j->cur.pages_confirmed)
        jobs_on_progress(js, rec->job, r->pages);
    j->is_active = false;
    sched_gate_release(&js->global);
    if (j->trunk >= 0)
        sched_gate_release(&js->gates[j->trunk].gate);

    j->cur.ended = wall_now();
    j->cur.sip_status = is_answered ? 200 : rec->sip_status;
    j->cur.t30_status = is_answered ? r->t30_status : -1;
    enum sched_outcome out =
        j->is_cancel_sent ? SCHED_OUT_CANCELED
                          : sched_classify(j->cur.sip_status, is_answered,
                                           is_answered && r->is_success, j->cur.pages_confirmed);
    snprintf(j->cur.outcome, sizeof(j->cur.outcome), "%s", sched_outcome_name(out));
    snprintf(j->cur.text, sizeof(j->cur.text), "%s", r->t30_text);
    struct spool_attempt *last = last_attempt(j);
    if (last && strcmp(last->outcome, OUTCOME_IN_PROGRESS) == 0)
        *last = j->cur;
    else
        spool_add_attempt(&j->status, &j->cur);

    char reason[SPOOL_TEXT_LEN];
    enum sched_verdict v = sched_after_attempt(&j->policy, &j->sj, out, j->status.pages_confirmed,
                                               j->cur.ended, reason, sizeof(reason));
    j->status.pages_confirmed = j->sj.pages_confirmed;
    j->status.not_before = j->sj.not_before;
    log_info("job %s: attempt %d via %s: %s (SIP %d, T.30 %d: %s), %d page(s) confirmed", j->job.id,
             j->status.nattempts, j->cur.trunk, j->cur.outcome, j->cur.sip_status,
             j->cur.t30_status, r->t30_text, j->cur.pages_confirmed);
    switch (v) {
    case SCHED_VERDICT_DONE:
        finish(js, j, SPOOL_DONE, "every page confirmed");
        break;
    case SCHED_VERDICT_FAILED:
        finish(js, j, SPOOL_FAILED, reason);
        break;
    case SCHED_VERDICT_CANCELED:
        finish(js, j, SPOOL_CANCELED, "canceled");
        break;
    case SCHED_VERDICT_RETRY:
        j->status.state = SPOOL_READY;
        snprintf(j->status.reason, sizeof(j->status.reason), "%s", reason);
        save(js, j);
        log_info("job %s: next attempt in %lld s", j->job.id,
                 (long long)(j->sj.not_before - j->cur.ended));
        break;
    }
    run(js);
}

/* ---- lifecycle ---- */

struct jobs *
jobs_new(const struct cfg *cfg, const char *var_dir, struct loop *loop, struct mq *sip_q)
{
    struct jobs *js = calloc(1, sizeof(*js));
    if (!js)
        return NULL;
    snprintf(js->var_dir, sizeof(js->var_dir), "%s", var_dir);
    js->loop = loop;
    js->sip_q = sip_q;
    js->policy = (struct sched_policy){
        .max_attempts = cfg->out_max_attempts,
        .max_age_s = cfg->out_max_age_s,
        .backoff_base_s = cfg->out_retry_base_s,
        .backoff_max_s = cfg->out_retry_max_s,
        .is_fallback_ecm_off = cfg->out_fallback_ecm_off,
        .is_fallback_9600 = cfg->out_fallback_9600,
        .is_ecm = cfg->fax_ecm,
        .max_rate = cfg->fax_max_rate,
    };
    int global = cfg->out_max_channels > 0 && cfg->out_max_channels < cfg->max_channels
                     ? cfg->out_max_channels
                     : cfg->max_channels;
    sched_gate_init(&js->global, global, 0);
    js->ngates = cfg->routes.ntrunks;
    js->gates = calloc((size_t)(js->ngates > 0 ? js->ngates : 1), sizeof(*js->gates));
    if (!js->gates) {
        free(js);
        return NULL;
    }
    for (int i = 0; i < js->ngates; i++) {
        const struct cfg_trunk *t = &cfg->routes.trunks[i];
        snprintf(js->gates[i].name, sizeof(js->gates[i].name), "%s", t->name);
        sched_gate_init(&js->gates[i].gate, t->max_channels, t->calls_per_s);
    }
    timer_init(&js->wake, on_wake, js);
    return js;
}

void
jobs_free(struct jobs *js)
{
    if (!js)
        return;
    timer_cancel(js->loop, &js->wake);
    free(js->gates);
    free(js->jobs);
    free(js->done);
    free(js);
}
