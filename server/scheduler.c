/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The outbound scheduler (see scheduler.h): SIP outcome classes, retry backoff and expiry,
 * resend and fallbacks, call admission per trunk and overall, and the dialing order. Pure. */
#include "scheduler.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>

#define NS_PER_S 1000000000ll

/* Time arithmetic saturates instead of wrapping: policies may be huge ("retry base 10
 * years") and a wrapped sum would put a retry in the past, i.e. a redial loop. */
static int64_t
sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t
sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Both factors are >= 0 here. */
static int64_t
sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return INT64_MAX;
    return r;
}

static int64_t
max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* floor(sqrt(m)) for m >= 0, digit by digit (no libm, exact for every int64). */
static int64_t
isqrt(int64_t m)
{
    uint64_t x = (uint64_t)m, r = 0, bit = 1ull << 62;
    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (int64_t)r;
}

/* ---- outcomes ---- */

/* A SIP final response, by the RFC 3261 §21 meaning of its code (RFC 3398 §8.2.6.1 for what
 * PSTN gateways send for Q.850 causes). The rule: PERMANENT only when the answer says the number
 * itself is wrong or the request must not be repeated. Anything else retries, because the costs
 * are lopsided: a needless retry costs a call and delays a failure report (max_attempts and
 * max_age bound it), a wrong PERMANENT loses a fax that would have gone through. */
static enum sched_outcome
classify_status(int code)
{
    switch (code) {
    /* Nothing final came back: Timer B fired (§17.1.1.2), the transport failed, or the caller
     * gave up on the ringing itself. */
    case 0:
        return SCHED_OUT_NO_ANSWER;
    /* 408 Request Timeout: the user could not be found in time (also what a stack reports for
     * its own Timer B); Q.850 18 "no user responding". 480 Temporarily Unavailable: the callee
     * was reached but is unavailable; Q.850 19 "no answer", 20 "subscriber absent". 487 Request
     * Terminated: our CANCEL after the ring timeout (a job cancel is reported as CANCELED). */
    case 408:
    case 480:
    case 487:
        return SCHED_OUT_NO_ANSWER;
    /* 486 Busy Here, 600 Busy Everywhere (Q.850 17 "user busy"). */
    case 486:
    case 600:
        return SCHED_OUT_BUSY;
    /* 403 Forbidden: "the request SHOULD NOT be repeated" (§21.4.4); also barred destinations
     * (Q.850 21 call rejected maps here). 404 Not Found: no such user (Q.850 1 unallocated
     * number). 410 Gone: no longer in service (Q.850 22 number changed). 484 Address Incomplete
     * (Q.850 28 invalid number format). 485 Ambiguous. 603 Decline: the callee explicitly does
     * not wish to take the call; repeating it is what gets a sender blocked. 604 Does Not Exist
     * Anywhere. 606 Not Acceptable: no session we can offer is acceptable anywhere. 607 Unwanted
     * (RFC 8197), 608 Rejected by an intermediary (RFC 8688). */
    case 403:
    case 404:
    case 410:
    case 484:
    case 485:
    case 603:
    case 604:
    case 606:
    case 607:
    case 608:
        return SCHED_OUT_PERMANENT;
    /* 400 Bad Request, 405 Method Not Allowed, 413/414 too large, 415 Unsupported Media Type,
     * 416 Unsupported URI Scheme, 420 Bad Extension, 421 Extension Required: our INVITE itself
     * is refused; the same INVITE gets the same answer. */
    case 400:
    case 405:
    case 413:
    case 414:
    case 415:
    case 416:
    case 420:
    case 421:
        return SCHED_OUT_PERMANENT;
    default:
        break;
    }
    /* 3xx: we do not follow redirects (a trunk should not send any), and the same INVITE gets
     * the same redirect, so retrying only delays the failure report. */
    if (code >= 300 && code <= 399)
        return SCHED_OUT_PERMANENT;
    /* Other 6xx: "definitive information about a particular user" (§21.6). */
    if (code >= 600 && code <= 699)
        return SCHED_OUT_PERMANENT;
    /* The rest of 4xx (401/407 our credentials refused, 402 out of credit, 481, 482/483 routing
     * loops, 488 Not Acceptable Here "may succeed elsewhere", 491 glare...) and all 5xx (500,
     * 502, 503 Service Unavailable, 504 Server Time-out...): a trunk, carrier or configuration
     * problem an operator or time can fix. Also nonsense codes (1xx as final, >= 700, < 0). */
    return SCHED_OUT_CONGESTION;
}

enum sched_outcome
sched_classify(int sip_status, bool is_answered, bool is_fax_ok, int pages_confirmed)
{
    /* A 2xx without a fax session (the T.38 switch or the fax never started) is still an
     * answered call: whatever answered did not do fax with us. */
    if (is_answered || (sip_status >= 200 && sip_status <= 299)) {
        /* Phase E ok with no page confirmed delivered nothing: not a success. */
        if (is_fax_ok && pages_confirmed > 0)
            return SCHED_OUT_OK;
        return SCHED_OUT_FAX_FAILED;
    }
    return classify_status(sip_status);
}

const char *
sched_outcome_name(enum sched_outcome out)
{
    switch (out) {
    case SCHED_OUT_OK:
        return "ok";
    case SCHED_OUT_BUSY:
        return "busy";
    case SCHED_OUT_NO_ANSWER:
        return "no_answer";
    case SCHED_OUT_CONGESTION:
        return "congestion";
    case SCHED_OUT_FAX_FAILED:
        return "fax_failed";
    case SCHED_OUT_PERMANENT:
        return "permanent";
    case SCHED_OUT_CANCELED:
        return "canceled";
    }
    return "unknown";
}

/* ---- attempts ---- */

struct sched_attempt
sched_next_attempt(const struct sched_policy *policy, const struct sched_job *job)
{
    /* Resend from the first page the far end has not confirmed (T.30 post-message response MCF,
     * message confirmation), not from page 1. Clamp: the counts come from a peer and from disk. */
    int start = 1;
    if (job->pages_confirmed > 0)
        start = job->pages_confirmed < INT_MAX ? job->pages_confirmed + 1 : INT_MAX;
    if (job->pages_total > 0 && start > job->pages_total)
        start = job->pages_total;
    struct sched_attempt a = {
        .start_page = start,
        .is_ecm = policy->is_ecm,
        .max_rate = policy->max_rate,
    };
    /* A fax that failed after the answer is most often a modem or line-quality problem: first
     * drop ECM (some machines and gateways get ECM frames wrong), then also V.17, which is the
     * most fragile over a lossy T.38 or G.711 path (9600 = V.29). Sticky: a busy in between
     * says nothing about the far end's modem. */
    if (job->fax_failures >= 1 && policy->is_fallback_ecm_off)
        a.is_ecm = false;
    if (job->fax_failures >= 2 && policy->is_fallback_9600 &&
        (a.max_rate <= 0 || a.max_rate > 9600))
        a.max_rate = 9600;
    return a;
}

bool
sched_is_expired(const struct sched_policy *policy, const struct sched_job *job, int64_t now)
{
    return policy->max_age_s > 0 && now >= sat_add(job->created, policy->max_age_s);
}

/* When attempt n+1 (n = job->attempts, >= 1) may go, for an attempt that ended at `now`.
 * The grid created + base * k^2 comes from OpenSMTPD (scheduler_backoff): the gaps grow
 * (base, 3 base, 5 base...) and the times do not depend on how long each attempt took. When
 * the grid point for k = n is not at least `base` ahead (the job waited long for a channel, or
 * a call lasted long), we take the first later grid point that is: OpenSMTPD skips ahead the
 * same way rather than redialing a busy number at once. */
static int64_t
retry_time(const struct sched_policy *policy, const struct sched_job *job, int64_t now)
{
    int64_t base = policy->backoff_base_s >= 1 ? policy->backoff_base_s : 1;
    int64_t n = job->attempts;
    int64_t earliest = sat_add(now, base);
    int64_t at = sat_add(job->created, sat_mul(base, sat_mul(n, n)));
    if (at < earliest) {
        /* Smallest k with base * k^2 >= d + base, d = now - created (> 0 here, since
         * created + base <= at < now + base): k^2 >= m = ceil(d / base) + 1. */
        int64_t d = sat_sub(now, job->created);
        int64_t m = d / base + (d % base != 0) + 1;
        int64_t k = isqrt(m - 1) + 1;
        at = sat_add(job->created, sat_mul(base, sat_mul(k, k)));
        /* Only when now - created does not fit in 64 bits (absurd times): still ahead. */
        if (at < earliest)
            at = earliest;
    }
    /* The cap keeps a long-lived job from waiting hours between late attempts. */
    if (policy->backoff_max_s > 0 && at > sat_add(now, policy->backoff_max_s))
        at = sat_add(now, policy->backoff_max_s);
    return at;
}

enum sched_verdict
sched_after_attempt(const struct sched_policy *policy, struct sched_job *job,
                    enum sched_outcome out, int pages_confirmed, int64_t now, char *ret_reason,
                    size_t reason_len)
{
    const char *what = sched_outcome_name(out);

    if (job->attempts < INT_MAX)
        job->attempts++;
    if (out == SCHED_OUT_FAX_FAILED && job->fax_failures < INT_MAX)
        job->fax_failures++;
    if (pages_confirmed > job->pages_confirmed)
        job->pages_confirmed = pages_confirmed;
    /* Phase E ended normally: the far end confirmed every page up to the last, whatever the
     * page counts we got on the way say (a progress report may have been lost). */
    if (out == SCHED_OUT_OK && job->pages_total > job->pages_confirmed)
        job->pages_confirmed = job->pages_total;
    if (job->pages_total > 0 && job->pages_confirmed > job->pages_total)
        job->pages_confirmed = job->pages_total;

    /* Every page confirmed is delivered, even if the call then broke before phase E finished
     * (the receiver's MCF accepts the page for good), and even if a cancel came too late. */
    if (out == SCHED_OUT_OK || (job->pages_total > 0 && job->pages_confirmed >= job->pages_total)) {
        (void)snprintf(ret_reason, reason_len, "every page confirmed");
        return SCHED_VERDICT_DONE;
    }
    if (out == SCHED_OUT_CANCELED) {
        (void)snprintf(ret_reason, reason_len, "canceled");
        return SCHED_VERDICT_CANCELED;
    }
    if (out == SCHED_OUT_PERMANENT) {
        (void)snprintf(ret_reason, reason_len,
                       "permanent: the number is invalid or the call was refused, not retried");
        return SCHED_VERDICT_FAILED;
    }
    if (policy->max_attempts > 0 && job->attempts >= policy->max_attempts) {
        (void)snprintf(ret_reason, reason_len, "%s: no attempt left (%d made)", what,
                       job->attempts);
        return SCHED_VERDICT_FAILED;
    }
    int64_t at = retry_time(policy, job, now);
    if (policy->max_age_s > 0 && at >= sat_add(job->created, policy->max_age_s)) {
        (void)snprintf(ret_reason, reason_len,
                       "%s: expired, no attempt possible within %lld s of submission (%d made)",
                       what, (long long)policy->max_age_s, job->attempts);
        return SCHED_VERDICT_FAILED;
    }
    job->not_before = at;
    if (policy->max_attempts > 0)
        (void)snprintf(ret_reason, reason_len, "%s: will retry (%d of %d attempts made)", what,
                       job->attempts, policy->max_attempts);
    else
        (void)snprintf(ret_reason, reason_len, "%s: will retry (%d attempts made)", what,
                       job->attempts);
    return SCHED_VERDICT_RETRY;
}

/* ---- gates ---- */

void
sched_gate_init(struct sched_gate *g, int max_channels, int calls_per_s)
{
    /* Round the spacing up: 3 calls/s spaced 333333333 ns would fit a 4th start into a 1 s
     * window (at 999999999 ns). */
    *g = (struct sched_gate){
        .max_channels = max_channels > 0 ? max_channels : 0,
        .interval_ns = calls_per_s > 0 ? (NS_PER_S + calls_per_s - 1) / calls_per_s : 0,
        .next_ns = INT64_MIN,
    };
}

/* One gate's answer: true if open, else *retry raised to when to look again. */
static bool
gate_is_open(const struct sched_gate *g, int64_t now_ns, int64_t *retry)
{
    if (!g)
        return true;
    if (g->max_channels > 0 && g->active >= g->max_channels) {
        *retry = INT64_MAX;
        return false;
    }
    if (now_ns < g->next_ns) {
        *retry = max64(*retry, g->next_ns);
        return false;
    }
    return true;
}

bool
sched_gate_may_start(const struct sched_gate *global, const struct sched_gate *trunk,
                     int64_t now_ns, int64_t *ret_retry_ns)
{
    /* Both gates are asked (no short circuit) so the retry time covers both. */
    int64_t retry = now_ns;
    bool is_open = gate_is_open(global, now_ns, &retry);
    is_open = gate_is_open(trunk, now_ns, &retry) && is_open;
    if (ret_retry_ns)
        *ret_retry_ns = retry;
    return is_open;
}

void
sched_gate_take(struct sched_gate *g, int64_t now_ns)
{
    assert(g->max_channels == 0 || g->active < g->max_channels);
    g->active++;
    /* max(): a take that came early anyway still keeps the spacing after the last start. */
    if (g->interval_ns > 0)
        g->next_ns = sat_add(max64(g->next_ns, now_ns), g->interval_ns);
}

void
sched_gate_release(struct sched_gate *g)
{
    assert(g->active > 0);
    if (g->active > 0)
        g->active--;
}

/* ---- dialing order ---- */

/* Since when a job has been waiting to go: a fresh job since it was submitted, a retry since
 * its not_before. Dialing the longest-waiting first is FIFO across fresh jobs and retries. */
static int64_t
waiting_since(const struct sched_job *job)
{
    return max64(job->not_before, job->created);
}

static bool
goes_before(const struct sched_job *a, const struct sched_job *b)
{
    if (waiting_since(a) != waiting_since(b))
        return waiting_since(a) < waiting_since(b);
    return a->created < b->created;
}

int
sched_pick(const struct sched_candidate *cands, size_t n, const struct sched_gate *global,
           int64_t now, int64_t now_ns, int64_t *ret_wait_ns)
{
    int best = -1;
    int64_t wait = INT64_MAX;
    for (size_t i = 0; i < n && i < INT_MAX; i++) {
        const struct sched_job *job = cands[i].job;
        if (job->not_before > now) {
            int64_t due_in = sat_mul(sat_sub(job->not_before, now), NS_PER_S);
            if (due_in < wait)
                wait = due_in;
            continue;
        }
        int64_t retry;
        if (!sched_gate_may_start(global, cands[i].trunk, now_ns, &retry)) {
            /* A closed trunk skips only its own jobs: the next in line may use another. */
            if (retry != INT64_MAX && sat_sub(retry, now_ns) < wait)
                wait = sat_sub(retry, now_ns);
            continue;
        }
        if (best < 0 || goes_before(job, cands[best].job))
            best = (int)i;
    }
    if (ret_wait_ns)
        *ret_wait_ns = best >= 0 ? 0 : wait;
    return best;
}
