/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The outbound scheduler (server/scheduler.c): SIP codes to outcomes, the backoff grid and its
 * cap, expiry, max attempts, permanent errors, resend page, fallbacks, cancel, saturation, and
 * call admission simulated over a fake clock (channel and calls/s limits, FIFO order). */
#include <limits.h>
#include <sched.h> /* libc's: scheduler.h must not shadow it */
#include <stdint.h>

#include "check.h"
#include "scheduler.h"

#define NS 1000000000ll
#define YEAR (365ll * 86400)

static const struct sched_policy policy_default = {
    .max_attempts = 5,
    .max_age_s = 86400,
    .backoff_base_s = 60,
    .backoff_max_s = 0,
    .is_ecm = true,
    .max_rate = 14400,
    .is_fallback_ecm_off = true,
    .is_fallback_9600 = true,
};

static void
test_classify(void)
{
    static const struct {
        int sip;
        bool is_answered, is_fax_ok;
        int pages;
        enum sched_outcome out;
    } cases[] = {
        /* answered */
        {200, true, true, 3, SCHED_OUT_OK},
        {200, true, false, 2, SCHED_OUT_FAX_FAILED},
        {200, true, true, 0, SCHED_OUT_FAX_FAILED},   /* phase E ok, nothing delivered */
        {0, true, false, 0, SCHED_OUT_FAX_FAILED},    /* is_answered wins */
        {200, false, false, 0, SCHED_OUT_FAX_FAILED}, /* 200 but T.38 never came */
        {202, false, false, 0, SCHED_OUT_FAX_FAILED},
        /* no answer */
        {0, false, false, 0, SCHED_OUT_NO_ANSWER},
        {408, false, false, 0, SCHED_OUT_NO_ANSWER},
        {480, false, false, 0, SCHED_OUT_NO_ANSWER},
        {487, false, false, 0, SCHED_OUT_NO_ANSWER},
        /* busy */
        {486, false, false, 0, SCHED_OUT_BUSY},
        {600, false, false, 0, SCHED_OUT_BUSY},
        /* permanent: the number or the request */
        {300, false, false, 0, SCHED_OUT_PERMANENT},
        {302, false, false, 0, SCHED_OUT_PERMANENT},
        {380, false, false, 0, SCHED_OUT_PERMANENT},
        {400, false, false, 0, SCHED_OUT_PERMANENT},
        {403, false, false, 0, SCHED_OUT_PERMANENT},
        {404, false, false, 0, SCHED_OUT_PERMANENT},
        {405, false, false, 0, SCHED_OUT_PERMANENT},
        {410, false, false, 0, SCHED_OUT_PERMANENT},
        {413, false, false, 0, SCHED_OUT_PERMANENT},
        {414, false, false, 0, SCHED_OUT_PERMANENT},
        {415, false, false, 0, SCHED_OUT_PERMANENT},
        {416, false, false, 0, SCHED_OUT_PERMANENT},
        {420, false, false, 0, SCHED_OUT_PERMANENT},
        {421, false, false, 0, SCHED_OUT_PERMANENT},
        {484, false, false, 0, SCHED_OUT_PERMANENT},
        {485, false, false, 0, SCHED_OUT_PERMANENT},
        {603, false, false, 0, SCHED_OUT_PERMANENT},
        {604, false, false, 0, SCHED_OUT_PERMANENT},
        {606, false, false, 0, SCHED_OUT_PERMANENT},
        {607, false, false, 0, SCHED_OUT_PERMANENT},
        {608, false, false, 0, SCHED_OUT_PERMANENT},
        {699, false, false, 0, SCHED_OUT_PERMANENT},
        /* congestion: retry */
        {401, false, false, 0, SCHED_OUT_CONGESTION},
        {402, false, false, 0, SCHED_OUT_CONGESTION},
        {407, false, false, 0, SCHED_OUT_CONGESTION},
        {481, false, false, 0, SCHED_OUT_CONGESTION},
        {482, false, false, 0, SCHED_OUT_CONGESTION},
        {483, false, false, 0, SCHED_OUT_CONGESTION},
        {488, false, false, 0, SCHED_OUT_CONGESTION},
        {491, false, false, 0, SCHED_OUT_CONGESTION},
        {499, false, false, 0, SCHED_OUT_CONGESTION},
        {500, false, false, 0, SCHED_OUT_CONGESTION},
        {502, false, false, 0, SCHED_OUT_CONGESTION},
        {503, false, false, 0, SCHED_OUT_CONGESTION},
        {504, false, false, 0, SCHED_OUT_CONGESTION},
        {580, false, false, 0, SCHED_OUT_CONGESTION},
        /* nonsense */
        {180, false, false, 0, SCHED_OUT_CONGESTION},
        {700, false, false, 0, SCHED_OUT_CONGESTION},
        {-1, false, false, 0, SCHED_OUT_CONGESTION},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum sched_outcome out =
            sched_classify(cases[i].sip, cases[i].is_answered, cases[i].is_fax_ok, cases[i].pages);
        if (out != cases[i].out)
            fprintf(stderr, "SIP %d answered=%d ok=%d pages=%d: %s\n", cases[i].sip,
                    cases[i].is_answered, cases[i].is_fax_ok, cases[i].pages,
                    sched_outcome_name(out));
        CHECK_INT(out, cases[i].out);
    }
    /* An unanswered call is never OK, FAX_FAILED or CANCELED, whatever the code. */
    for (int code = -1; code < 1000; code++) {
        if (code >= 200 && code <= 299)
            continue;
        enum sched_outcome out = sched_classify(code, false, true, 5);
        CHECK(out != SCHED_OUT_OK && out != SCHED_OUT_FAX_FAILED && out != SCHED_OUT_CANCELED);
    }
    CHECK_STR(sched_outcome_name(SCHED_OUT_OK), "ok");
    CHECK_STR(sched_outcome_name(SCHED_OUT_BUSY), "busy");
    CHECK_STR(sched_outcome_name(SCHED_OUT_NO_ANSWER), "no_answer");
    CHECK_STR(sched_outcome_name(SCHED_OUT_CONGESTION), "congestion");
    CHECK_STR(sched_outcome_name(SCHED_OUT_FAX_FAILED), "fax_failed");
    CHECK_STR(sched_outcome_name(SCHED_OUT_PERMANENT), "permanent");
    CHECK_STR(sched_outcome_name(SCHED_OUT_CANCELED), "canceled");
    CHECK_STR(sched_outcome_name((enum sched_outcome)42), "unknown");
}

/* One attempt ending at `now`; returns the verdict, the reason in `reason`. */
static char reason[128];

static enum sched_verdict
end(const struct sched_policy *p, struct sched_job *j, enum sched_outcome out, int pages,
    int64_t now)
{
    return sched_after_attempt(p, j, out, pages, now, reason, sizeof(reason));
}

static void
test_backoff(void)
{
    struct sched_policy p = policy_default;
    p.max_attempts = 0;
    p.max_age_s = 0;

    /* Attempts that end as they start: created + base * n^2. */
    struct sched_job j = {.created = 1000, .pages_total = 1};
    static const int64_t grid[] = {60, 240, 540, 960, 1500, 2160};
    int64_t now = 1000;
    for (int i = 0; i < 6; i++) {
        CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, now), SCHED_VERDICT_RETRY);
        CHECK_INT(j.attempts, i + 1);
        CHECK_INT(j.not_before, 1000 + grid[i]);
        now = j.not_before;
    }
    CHECK_STR(reason, "busy: will retry (6 attempts made)");

    /* A job that waited 600 s for a channel: not at once (created + 60) but at the first grid
     * point at least base ahead: k^2 >= 600/60 + 1 → k = 4 → 960. */
    j = (struct sched_job){.created = 0, .pages_total = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_NO_ANSWER, 0, 600), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, 960);
    /* Ends at 930: 4^2 * 60 = 960 is only 30 s ahead → k = 5. */
    CHECK_INT(end(&p, &j, SCHED_OUT_NO_ANSWER, 0, 930), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, 1500);
    /* Exactly base ahead is enough: ends at 1440, 5^2 * 60 = 1500 = 1440 + 60. */
    CHECK_INT(end(&p, &j, SCHED_OUT_NO_ANSWER, 0, 1440), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, 1500);

    /* Properties over many end times: on the grid, k >= attempts, at least base ahead, and the
     * first such point. */
    for (int64_t t = 0; t < 20000; t += 7) {
        for (int n = 0; n < 6; n++) {
            struct sched_job k = {.created = 0, .attempts = n, .pages_total = 1};
            CHECK_INT(end(&p, &k, SCHED_OUT_BUSY, 0, t), SCHED_VERDICT_RETRY);
            int64_t q = k.not_before / 60, r = 1;
            while (r * r < q)
                r++;
            CHECK(k.not_before % 60 == 0 && r * r == q); /* base * r^2 */
            CHECK(r >= n + 1);
            CHECK(k.not_before >= t + 60);
            CHECK(r == n + 1 || (r - 1) * (r - 1) * 60 < t + 60); /* the first one */
        }
    }

    /* The cap: at most backoff_max after the attempt ended. */
    p.backoff_max_s = 300;
    j = (struct sched_job){.created = 0, .pages_total = 1};
    static const int64_t capped[] = {60, 240, 540, 840, 1140, 1440};
    now = 0;
    for (int i = 0; i < 6; i++) {
        CHECK_INT(end(&p, &j, SCHED_OUT_CONGESTION, 0, now), SCHED_VERDICT_RETRY);
        CHECK_INT(j.not_before, capped[i]);
        now = j.not_before;
    }
    /* A base below 1 s counts as 1 s: never a retry at the same second. */
    p.backoff_base_s = 0;
    p.backoff_max_s = 0;
    j = (struct sched_job){.created = 0, .pages_total = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 0), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, 1);
}

static void
test_expiry_and_attempts(void)
{
    struct sched_policy p = policy_default;
    p.max_attempts = 0;
    p.max_age_s = 1000;
    /* Grid 60, 240, 540, 960 (< 1000), 1500 (>= 1000: expired). */
    struct sched_job j = {.created = 0, .pages_total = 2};
    int64_t now = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, now), SCHED_VERDICT_RETRY);
        now = j.not_before;
    }
    CHECK_INT(j.not_before, 960);
    CHECK(!sched_is_expired(&p, &j, 999));
    CHECK(sched_is_expired(&p, &j, 1000));
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, now), SCHED_VERDICT_FAILED);
    CHECK_CONTAINS(reason, "expired");
    CHECK_CONTAINS(reason, "busy");
    CHECK_INT(j.not_before, 960); /* unchanged on FAILED */
    /* A retry exactly at created + max_age is already too late. */
    p.max_age_s = 240;
    j = (struct sched_job){.created = 0, .attempts = 1, .pages_total = 2};
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 60), SCHED_VERDICT_FAILED);
    /* max_age 0: never expires. */
    p.max_age_s = 0;
    CHECK(!sched_is_expired(&p, &j, INT64_MAX));

    /* max_attempts: the third attempt is the last, whatever the outcome. */
    p = policy_default;
    p.max_attempts = 3;
    j = (struct sched_job){.created = 0, .pages_total = 2};
    CHECK_INT(end(&p, &j, SCHED_OUT_NO_ANSWER, 0, 0), SCHED_VERDICT_RETRY);
    CHECK_STR(reason, "no_answer: will retry (1 of 3 attempts made)");
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 1, 60), SCHED_VERDICT_RETRY);
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 1, 240), SCHED_VERDICT_FAILED);
    CHECK_STR(reason, "busy: no attempt left (3 made)");
    CHECK_INT(j.attempts, 3);
    CHECK_INT(j.pages_confirmed, 1);

    /* Permanent: failed at once, with every attempt still left. */
    j = (struct sched_job){.created = 0, .pages_total = 2};
    CHECK_INT(end(&p, &j, SCHED_OUT_PERMANENT, 0, 5), SCHED_VERDICT_FAILED);
    CHECK_CONTAINS(reason, "permanent");
    CHECK_INT(j.attempts, 1);
    CHECK_INT(j.not_before, 0);
}

static void
test_resend_and_done(void)
{
    struct sched_policy p = policy_default;
    struct sched_job j = {.created = 0, .pages_total = 10};
    CHECK_INT(sched_next_attempt(&p, &j).start_page, 1);
    /* 3 pages confirmed, then T.30 failed: the next attempt starts at page 4. */
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 3, 100), SCHED_VERDICT_RETRY);
    CHECK_INT(j.pages_confirmed, 3);
    CHECK_INT(sched_next_attempt(&p, &j).start_page, 4);
    /* The next attempt (from page 4) confirms 2 more: total 5. */
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 5, 300), SCHED_VERDICT_RETRY);
    CHECK_INT(sched_next_attempt(&p, &j).start_page, 6);
    /* A busy attempt reports fewer: the total never goes down. */
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 600), SCHED_VERDICT_RETRY);
    CHECK_INT(j.pages_confirmed, 5);
    /* The caller raised pages_confirmed during the attempt (phase D), then passes less. */
    j.pages_confirmed = 10;
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 7, 1000), SCHED_VERDICT_DONE);
    CHECK_STR(reason, "every page confirmed");

    /* Every page confirmed, then phase E failed: DONE, no retry. */
    j = (struct sched_job){.created = 0, .pages_total = 4};
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 4, 100), SCHED_VERDICT_DONE);
    /* OK with a lost progress report: all pages count as confirmed. */
    j = (struct sched_job){.created = 0, .pages_total = 4, .pages_confirmed = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_OK, 2, 100), SCHED_VERDICT_DONE);
    CHECK_INT(j.pages_confirmed, 4);
    /* More confirmed than the document has (a lying count) is clamped. */
    j = (struct sched_job){.created = 0, .pages_total = 4};
    CHECK_INT(end(&p, &j, SCHED_OUT_FAX_FAILED, 99, 100), SCHED_VERDICT_DONE);
    CHECK_INT(j.pages_confirmed, 4);
    j = (struct sched_job){.created = 0, .pages_total = 4, .pages_confirmed = 99};
    CHECK_INT(sched_next_attempt(&p, &j).start_page, 4);
    j.pages_confirmed = -3;
    CHECK_INT(sched_next_attempt(&p, &j).start_page, 1);
}

static void
test_fallbacks(void)
{
    struct sched_policy p = policy_default;
    struct sched_job j = {.created = 0, .pages_total = 3};
    static const struct {
        enum sched_outcome out;
        bool is_ecm;
        int rate; /* of the attempt after it */
    } seq[] = {
        {SCHED_OUT_BUSY, true, 14400},        /* busy: no fallback */
        {SCHED_OUT_NO_ANSWER, true, 14400},   /* nor no answer */
        {SCHED_OUT_FAX_FAILED, false, 14400}, /* first fax failure: ECM off */
        {SCHED_OUT_CONGESTION, false, 14400}, /* sticky */
        {SCHED_OUT_FAX_FAILED, false, 9600},  /* second: 9600 too */
        {SCHED_OUT_FAX_FAILED, false, 9600},
    };
    p.max_attempts = 0;
    p.max_age_s = 0;
    struct sched_attempt a = sched_next_attempt(&p, &j);
    CHECK(a.is_ecm);
    CHECK_INT(a.max_rate, 14400);
    int64_t now = 0;
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        CHECK_INT(end(&p, &j, seq[i].out, 0, now), SCHED_VERDICT_RETRY);
        now = j.not_before;
        a = sched_next_attempt(&p, &j);
        CHECK_INT(a.is_ecm, seq[i].is_ecm);
        CHECK_INT(a.max_rate, seq[i].rate);
    }
    CHECK_INT(j.fax_failures, 3);

    /* Fallbacks off: nothing changes. Only 9600 on: it still waits for the second failure. */
    struct sched_job two = {.fax_failures = 2}, one = {.fax_failures = 1};
    p.is_fallback_ecm_off = false;
    p.is_fallback_9600 = false;
    a = sched_next_attempt(&p, &two);
    CHECK(a.is_ecm && a.max_rate == 14400);
    p.is_fallback_9600 = true;
    a = sched_next_attempt(&p, &one);
    CHECK(a.is_ecm && a.max_rate == 14400);
    a = sched_next_attempt(&p, &two);
    CHECK(a.is_ecm && a.max_rate == 9600);
    /* Configured slower than 9600 stays slower; 0 (every modem) becomes 9600. */
    p.max_rate = 4800;
    CHECK_INT(sched_next_attempt(&p, &two).max_rate, 4800);
    p.max_rate = 0;
    CHECK_INT(sched_next_attempt(&p, &two).max_rate, 9600);
    CHECK_INT(sched_next_attempt(&p, &one).max_rate, 0);
    /* ECM off in the configuration stays off. */
    p.is_ecm = false;
    CHECK(!sched_next_attempt(&p, &(struct sched_job){0}).is_ecm);
}

static void
test_cancel(void)
{
    struct sched_policy p = policy_default;
    struct sched_job j = {.created = 0, .pages_total = 3};
    CHECK_INT(end(&p, &j, SCHED_OUT_CANCELED, 1, 10), SCHED_VERDICT_CANCELED);
    CHECK_STR(reason, "canceled");
    CHECK_INT(j.attempts, 1);
    /* Canceled on the last attempt allowed, or past max age: still CANCELED, not FAILED. */
    p.max_attempts = 1;
    j = (struct sched_job){.created = 0, .pages_total = 3};
    CHECK_INT(end(&p, &j, SCHED_OUT_CANCELED, 0, 10 * YEAR), SCHED_VERDICT_CANCELED);
    /* The cancel came after the last page was confirmed: the fax arrived, DONE. */
    j = (struct sched_job){.created = 0, .pages_total = 3};
    CHECK_INT(end(&p, &j, SCHED_OUT_CANCELED, 3, 10), SCHED_VERDICT_DONE);
}

static void
test_saturation(void)
{
    /* Huge base: the grid saturates; with a 10-year max age that is expiry, without it a
     * not_before at the end of time, and with a cap the cap. Never in the past. */
    struct sched_policy p = policy_default;
    p.max_attempts = 0;
    p.max_age_s = 10 * YEAR;
    p.backoff_base_s = INT64_MAX / 2;
    struct sched_job j = {.created = 1700000000, .attempts = 2, .pages_total = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 1700000100), SCHED_VERDICT_FAILED);
    p.max_age_s = 0;
    j.attempts = 2;
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 1700000100), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, INT64_MAX);
    p.backoff_max_s = 3600;
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 1700000100), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, 1700000100 + 3600);

    /* Times at the edges, a long-running job, attempts at INT_MAX. */
    p = policy_default;
    p.max_attempts = 0;
    p.max_age_s = INT64_MAX;
    j = (struct sched_job){.created = INT64_MAX - 10, .attempts = INT_MAX, .pages_total = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, INT64_MAX - 5), SCHED_VERDICT_FAILED);
    CHECK_INT(j.attempts, INT_MAX);
    p.max_age_s = 0;
    j = (struct sched_job){.created = INT64_MIN, .attempts = 3, .pages_total = 1};
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, INT64_MAX), SCHED_VERDICT_RETRY);
    CHECK_INT(j.not_before, INT64_MAX);
    j = (struct sched_job){.created = 0, .attempts = 1, .pages_total = 1};
    p.backoff_base_s = 1;
    CHECK_INT(end(&p, &j, SCHED_OUT_BUSY, 0, 10 * YEAR), SCHED_VERDICT_RETRY);
    CHECK(j.not_before >= 10 * YEAR + 1 && j.not_before < 10 * YEAR + 30000);
    CHECK(!sched_is_expired(&p, &j, INT64_MAX));
}

static void
test_gate_basics(void)
{
    struct sched_gate g, none;
    int64_t retry = 0;
    sched_gate_init(&g, 2, 3);
    sched_gate_init(&none, 0, 0);
    CHECK_INT(g.interval_ns, 333333334); /* rounded up */
    CHECK(sched_gate_may_start(NULL, NULL, 0, &retry));
    CHECK(sched_gate_may_start(&none, &g, 0, &retry));
    CHECK_INT(retry, 0);
    sched_gate_take(&g, 0);
    sched_gate_take(&none, 0);
    /* Rate: closed until 1/3 s later, and it says when. */
    CHECK(!sched_gate_may_start(&none, &g, 1000, &retry));
    CHECK_INT(retry, 333333334);
    CHECK(!sched_gate_may_start(&g, NULL, 1000, NULL));
    CHECK(sched_gate_may_start(&none, &g, 333333334, &retry));
    sched_gate_take(&g, 333333334);
    /* Channels: both taken, only a release opens it. */
    CHECK(!sched_gate_may_start(&none, &g, 5 * NS, &retry));
    CHECK_INT(retry, INT64_MAX);
    sched_gate_release(&g);
    CHECK(sched_gate_may_start(&none, &g, 5 * NS, &retry));
    /* Both gates closed by rate: the later time. */
    struct sched_gate a, b;
    sched_gate_init(&a, 0, 1);
    sched_gate_init(&b, 0, 2);
    sched_gate_take(&a, 10 * NS);
    sched_gate_take(&b, 10 * NS);
    CHECK(!sched_gate_may_start(&b, &a, 10 * NS, &retry));
    CHECK_INT(retry, 11 * NS);
    CHECK(!sched_gate_may_start(&a, &b, 10 * NS, &retry));
    CHECK_INT(retry, 11 * NS);
    /* Unlimited gate counts calls all the same. */
    CHECK_INT(none.active, 1);
    sched_gate_release(&none);
    CHECK_INT(none.active, 0);
}

/* A deterministic pseudo-random call length, 0.3 to 5 s. */
static int64_t
call_length(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return 300000000ll + (int64_t)((*seed >> 8) % 4700u) * 1000000ll;
}

#define SIM_JOBS 50

/* 50 jobs over `ntrunks` trunks (job i on trunk i % ntrunks), each trunk 3 channels and
 * 2 calls/s, global `global_ch` channels. The clock jumps from event to event using only the
 * wait sched_pick reports (a wrong wait stalls the simulation or breaks a limit). Checks the
 * limits at every step, the rate over every 1 s window, and that all jobs went, in FIFO
 * order per trunk. */
static void
simulate(int ntrunks, int global_ch)
{
    struct sched_job jobs[SIM_JOBS];
    struct sched_candidate cands[SIM_JOBS];
    struct sched_gate trunks[2], global;
    int64_t ends[SIM_JOBS], starts[2][SIM_JOBS];
    int nstarts[2] = {0, 0}, order[SIM_JOBS], ndialed = 0, max_global = 0;
    bool is_done[SIM_JOBS] = {false};
    unsigned seed = 1;

    sched_gate_init(&global, global_ch, 0);
    for (int t = 0; t < ntrunks; t++)
        sched_gate_init(&trunks[t], 3, 2);
    /* Created 0..49 s, listed newest first so the index is no hint. */
    for (int i = 0; i < SIM_JOBS; i++) {
        jobs[i] = (struct sched_job){.created = i, .pages_total = 1};
        cands[SIM_JOBS - 1 - i] = (struct sched_candidate){&jobs[i], &trunks[i % ntrunks]};
        ends[i] = -1;
    }
    int64_t now_ns = 100 * NS; /* wall = mono / NS: every job is due */
    for (int step = 0; step < 100000 && ndialed < SIM_JOBS; step++) {
        /* Calls that ended. */
        for (int i = 0; i < SIM_JOBS; i++) {
            if (ends[i] >= 0 && ends[i] <= now_ns) {
                sched_gate_release(&trunks[i % ntrunks]);
                sched_gate_release(&global);
                ends[i] = -1;
            }
        }
        /* Dial everything that may go now. Done jobs are left out of the candidates. */
        struct sched_candidate live[SIM_JOBS];
        size_t n = 0;
        for (int c = 0; c < SIM_JOBS; c++)
            if (!is_done[cands[c].job - jobs])
                live[n++] = cands[c];
        int64_t wait;
        int k;
        while ((k = sched_pick(live, n, &global, now_ns / NS, now_ns, &wait)) >= 0) {
            int i = (int)(live[k].job - jobs);
            int t = i % ntrunks;
            sched_gate_take(&trunks[t], now_ns);
            sched_gate_take(&global, now_ns);
            ends[i] = now_ns + call_length(&seed);
            starts[t][nstarts[t]++] = now_ns;
            is_done[i] = true;
            order[ndialed++] = i;
            live[k] = live[--n];
            for (int u = 0; u < ntrunks; u++)
                CHECK(trunks[u].active <= 3);
            CHECK(global.active <= global_ch);
            if (global.active > max_global)
                max_global = global.active;
        }
        /* Next event: the earliest call end, or when sched_pick said. */
        int64_t next = wait == INT64_MAX ? INT64_MAX : now_ns + wait;
        for (int i = 0; i < SIM_JOBS; i++)
            if (ends[i] >= 0 && ends[i] < next)
                next = ends[i];
        CHECK(n == 0 || next != INT64_MAX); /* else stuck */
        if (next == INT64_MAX)
            break;
        CHECK(next > now_ns);
        now_ns = next;
    }
    CHECK_INT(ndialed, SIM_JOBS);
    CHECK_INT(max_global, global_ch < 3 * ntrunks ? global_ch : 3 * ntrunks);
    /* Never more than 2 starts per trunk in any 1 s window [s, s + 1 s). */
    for (int t = 0; t < ntrunks; t++)
        for (int a = 0; a + 2 < nstarts[t]; a++)
            CHECK(starts[t][a + 2] - starts[t][a] >= NS);
    /* FIFO: on each trunk jobs went in the order they were created. */
    int last[2] = {-1, -1};
    for (int d = 0; d < ndialed; d++) {
        int t = order[d] % ntrunks;
        CHECK(order[d] > last[t]);
        last[t] = order[d];
    }
}

static void
test_pick(void)
{
    struct sched_gate full, open;
    sched_gate_init(&full, 1, 0);
    sched_gate_init(&open, 0, 0);
    sched_gate_take(&full, 0);
    int64_t wait;

    /* A retry due since 10 goes before a fresh job of 20, after a fresh job of 5. */
    struct sched_job retry = {.created = 1, .not_before = 10};
    struct sched_job fresh20 = {.created = 20}, fresh5 = {.created = 5};
    struct sched_candidate c[3] = {{&fresh20, NULL}, {&retry, NULL}, {&fresh5, NULL}};
    CHECK_INT(sched_pick(c, 2, NULL, 100, 0, &wait), 1);
    CHECK_INT(wait, 0);
    CHECK_INT(sched_pick(c, 3, NULL, 100, 0, &wait), 2);
    /* Ties: waiting since 10 both, the one created first. */
    struct sched_job tie = {.created = 0, .not_before = 10};
    struct sched_candidate t[2] = {{&retry, NULL}, {&tie, NULL}};
    CHECK_INT(sched_pick(t, 2, NULL, 100, 0, &wait), 1);
    /* A closed trunk skips only its own jobs. */
    c[2].trunk = &full;
    c[1].trunk = &open;
    CHECK_INT(sched_pick(c, 3, NULL, 100, 0, &wait), 1);
    /* Not due yet: how long to wait (seconds to ns); nothing at all: INT64_MAX. */
    struct sched_job later = {.created = 0, .not_before = 105};
    struct sched_candidate l[2] = {{&later, NULL}, {&fresh5, &full}};
    CHECK_INT(sched_pick(l, 2, NULL, 100, 0, &wait), -1);
    CHECK_INT(wait, 5 * NS);
    CHECK_INT(sched_pick(l + 1, 1, NULL, 100, 0, &wait), -1);
    CHECK_INT(wait, INT64_MAX);
    CHECK_INT(sched_pick(NULL, 0, NULL, 100, 0, &wait), -1);
    CHECK_INT(wait, INT64_MAX);
    /* The global gate closes everything. */
    CHECK_INT(sched_pick(c, 2, &full, 100, 0, &wait), -1);
    /* A job due in the far future does not overflow the wait. */
    later.not_before = INT64_MAX;
    CHECK_INT(sched_pick(l, 1, NULL, INT64_MIN, 0, &wait), -1);
    CHECK_INT(wait, INT64_MAX);

    simulate(1, 100); /* the trunk's limits */
    simulate(2, 4);   /* a global limit below the trunks' sum */
}

int
main(void)
{
    test_classify();
    test_backoff();
    test_expiry_and_attempts();
    test_resend_and_done();
    test_fallbacks();
    test_cancel();
    test_saturation();
    test_gate_basics();
    test_pick();
    return check_finish();
}
