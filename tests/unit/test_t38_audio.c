/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Two G.711 fax sessions back to back in one process: each 20 ms tick, the G.711 frame one
 * side sends is what the other receives on the next tick. The ITU chart set must arrive page
 * for page, bit for bit, over PCMU and PCMA. Time is simulated, so a 12-page fax takes a
 * second or so of CPU (the modems cost ~34 ms per page per side). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio.h"
#include "check.h"
#include "pages.h"

#define TICK 160 /* 20 ms at 8 kHz */

/* One direction: what was sent this tick, received by the far end on the next. */
struct link {
    uint8_t buf[4 * FX38_AUDIO_MAX_FRAME];
    size_t n;
    long frames, overflow;
};

struct end {
    struct link *out;
    struct fx38_result result;
    int done_calls;
    int pages_seen;  /* the last count given to on_page */
    int page_errors; /* counts not one more than the last, or after phase E */
};

static void
on_send(void *data, const uint8_t *g711, size_t samples)
{
    struct end *e = data;
    struct link *l = e->out;
    l->frames++;
    if (l->n + samples > sizeof(l->buf)) {
        l->overflow++;
        return;
    }
    memcpy(l->buf + l->n, g711, samples);
    l->n += samples;
}

static void
on_done(void *data, const struct fx38_result *r)
{
    struct end *e = data;
    e->result = *r;
    e->done_calls++;
}

static void
on_page(void *data, int pages)
{
    struct end *e = data;
    if (pages != e->pages_seen + 1 || e->done_calls)
        e->page_errors++;
    e->pages_seen = pages;
}

struct scenario {
    const char *name;
    const char *file;
    enum fx38_g711 law;
    bool ecm;
    int modems;
    int expect_pages;   /* pages that arrive (all of them, or up to the termination) */
    int first_page;     /* 0-based page the sender starts at (a resumed job) */
    int terminate_at;   /* > 0: the receiver hangs up once this many pages arrived */
    int expect_bitrate; /* 0 = any */
    int cut_at;         /* > 0: both directions go silent once this many pages arrived */
    int lose_every;     /* > 0: every so many ticks, a frame each way is lost, and the
                         * receiver is told so (fx38_audio_rx_marked), as from the jitter
                         * buffer: the modems must ride through on fill-in */
};

/* Compare the first `n` received pages with the source from `first`. */
static void
compare_pages(const char *name, const char *src, const char *dst, int first, int n,
              bool is_exact_count)
{
    struct page *ps, *pr;
    char e1[256], e2[256];
    int ns = pages_load(src, &ps, e1, sizeof(e1));
    int nr = pages_load(dst, &pr, e2, sizeof(e2));
    CHECK(ns > 0);
    CHECK(nr >= n);
    if (is_exact_count) {
        CHECK_INT(ns - first, n);
        CHECK_INT(nr, n);
    }
    for (int i = 0; i + first < ns && i < nr && i < n; i++) {
        long d = pages_compare(&ps[i + first], &pr[i]);
        if (d != 0)
            fprintf(stderr, "%s: page %d differs (%ld rows; %dx%d vs %dx%d)\n", name, i + 1, d,
                    ps[i + first].width, ps[i + first].rows, pr[i].width, pr[i].rows);
        CHECK_INT(d, 0);
    }
    if (ns > 0)
        pages_free(ps, ns);
    if (nr > 0)
        pages_free(pr, nr);
}

static void
run(const struct scenario *sc, const char *tmpdir)
{
    char src[512], dst[512];
    snprintf(src, sizeof(src), "%s/tiff/itu/%s", TESTDATA_DIR, sc->file);
    snprintf(dst, sizeof(dst), "%s/%s.tif", tmpdir, sc->name);

    static struct link ab, ba;
    ab = (struct link){0};
    ba = (struct link){0};
    struct end tx = {.out = &ab}, rx = {.out = &ba};
    struct fx38_fax ftx = {
        .direction = FX38_SEND,
        .is_caller = true,
        .file = src,
        .first_page = sc->first_page,
        .last_page = -1,
        .local_ident = "+1 555 000 0001",
        .header = NULL, /* a header shifts the image */
        .ecm = sc->ecm,
        .modems = sc->modems,
        .fine = true,
        .superfine = true,
        .inactivity_s = 10,
    };
    struct fx38_fax frx = {
        .direction = FX38_RECEIVE,
        .is_caller = false,
        .file = dst,
        .local_ident = "+1 555 123 0001",
        .ecm = sc->ecm,
        .modems = sc->modems,
        .fine = true,
        .superfine = true,
        .inactivity_s = 10,
    };
    int err = 0;
    struct fx38_audio *a = fx38_audio_new(&ftx, sc->law, on_send, on_done, &tx, &err);
    struct fx38_audio *b = fx38_audio_new(&frx, sc->law, on_send, on_done, &rx, &err);
    CHECK(a && b);
    if (!a || !b) {
        fx38_audio_free(a);
        fx38_audio_free(b);
        return;
    }
    fx38_audio_set_page_handler(a, on_page);
    fx38_audio_set_page_handler(b, on_page);

    /* Bounded: 30 simulated minutes. Each side hears last tick's frame, then sends this one. */
    int step;
    for (step = 0; step < 30 * 60 * 50 && !(tx.done_calls && rx.done_calls); step++) {
        uint8_t in_a[sizeof(ba.buf)], in_b[sizeof(ab.buf)];
        size_t na = ba.n, nb = ab.n;
        memcpy(in_a, ba.buf, na);
        memcpy(in_b, ab.buf, nb);
        ab.n = ba.n = 0;
        if (sc->cut_at > 0 && rx.pages_seen >= sc->cut_at)
            memset(in_a, sc->law == FX38_G711_PCMA ? 0xd5 : 0xff, sizeof(in_a));
        if (sc->cut_at > 0 && rx.pages_seen >= sc->cut_at)
            memset(in_b, sc->law == FX38_G711_PCMA ? 0xd5 : 0xff, sizeof(in_b));
        if (sc->lose_every > 0 && step % sc->lose_every == sc->lose_every - 1) {
            static uint8_t gap[sizeof(ab.buf)];
            memset(gap, 1, sizeof(gap));
            fx38_audio_rx_marked(a, in_a, gap, na);
            fx38_audio_rx_marked(b, in_b, gap, nb);
        } else {
            fx38_audio_rx(a, in_a, na);
            fx38_audio_rx(b, in_b, nb);
        }
        fx38_audio_tick(a, TICK);
        fx38_audio_tick(b, TICK);
        if (sc->terminate_at > 0 && rx.pages_seen >= sc->terminate_at && !rx.done_calls) {
            fx38_audio_terminate(b);
            fx38_audio_terminate(b); /* a second BYE changes nothing */
        }
    }
    fprintf(stderr,
            "%s: tx %s (%d pages), rx %s (%d pages, %d bit/s, ecm %d), %.1f s simulated, %ld "
            "frames\n",
            sc->name, tx.result.t30_text, tx.result.pages, rx.result.t30_text, rx.result.pages,
            rx.result.bit_rate, rx.result.ecm, step / 50.0, ab.frames + ba.frames);
    /* Phase E exactly once on each side, and nothing sent but whole ticks. */
    CHECK_INT(tx.done_calls, 1);
    CHECK_INT(rx.done_calls, 1);
    CHECK(fx38_audio_is_done(a) && fx38_audio_is_done(b));
    CHECK_INT(ab.overflow + ba.overflow, 0);
    CHECK_INT(ab.frames, step);
    /* Phase D told each side of every page, once, in order: what a resumed job relies on. */
    CHECK_INT(tx.page_errors, 0);
    CHECK_INT(rx.page_errors, 0);

    if (sc->cut_at > 0) {
        /* The line went dead mid-fax: both sides give up (T.30 timers or our watchdog, well
         * before the 30-minute bound), with the pages that arrived intact. */
        CHECK(!rx.result.is_success);
        CHECK(!tx.result.is_success);
        CHECK(step < 5 * 60 * 50);
        CHECK_INT(rx.result.pages, sc->cut_at);
        compare_pages(sc->name, src, dst, sc->first_page, sc->cut_at, false);
    } else if (sc->terminate_at > 0) {
        /* The receiver hung up after terminate_at pages: a partial, failed fax on both sides,
         * with the pages that arrived intact. */
        CHECK(!rx.result.is_success);
        CHECK(!tx.result.is_success);
        CHECK_INT(rx.result.pages, sc->terminate_at);
        CHECK_INT(rx.pages_seen, sc->terminate_at);
        CHECK(tx.result.pages >= sc->terminate_at - 1 && tx.result.pages <= sc->terminate_at);
        struct fx38_result again;
        fx38_audio_get_result(b, &again);
        CHECK_INT(again.pages, rx.result.pages);
        CHECK_INT(again.t30_status, rx.result.t30_status);
        compare_pages(sc->name, src, dst, sc->first_page, sc->terminate_at, false);
    } else {
        CHECK(tx.result.is_success);
        CHECK(rx.result.is_success);
        CHECK_INT(rx.result.pages, sc->expect_pages);
        CHECK_INT(tx.result.pages, sc->expect_pages);
        CHECK_INT(rx.result.ecm, sc->ecm);
        if (sc->expect_bitrate)
            CHECK_INT(rx.result.bit_rate, sc->expect_bitrate);
        CHECK_INT(tx.pages_seen, sc->expect_pages);
        CHECK_INT(rx.pages_seen, sc->expect_pages);
        CHECK_STR(rx.result.remote_ident, "+1 555 000 0001");
        CHECK_STR(tx.result.remote_ident, "+1 555 123 0001");
        compare_pages(sc->name, src, dst, sc->first_page, sc->expect_pages, true);
    }
    fx38_audio_free(a);
    fx38_audio_free(b);
    unlink(dst);
}

/* An answering session whose far end never says anything (and whose jitter buffer delivers
 * nothing) ends by itself: T.30 repeats DIS and gives up, which needs its timers to run on
 * fill-in. And bad documents are refused before dialling. */
static void
run_edges(const char *tmpdir)
{
    char dst[512];
    snprintf(dst, sizeof(dst), "%s/silent.tif", tmpdir);
    struct link l = {0};
    struct end e = {.out = &l};
    struct fx38_fax f = {
        .direction = FX38_RECEIVE,
        .file = dst,
        .ecm = true,
        .modems = FX38_MODEM_V17,
        .inactivity_s = 5,
    };
    struct fx38_audio *s = fx38_audio_new(&f, FX38_G711_PCMA, on_send, on_done, &e, NULL);
    CHECK(s != NULL);
    int step;
    /* No fx38_audio_rx at all: fill-in keeps the T.30 timers running. */
    for (step = 0; s && step < 10 * 60 * 50 && !e.done_calls; step++) {
        l.n = 0;
        fx38_audio_tick(s, TICK);
    }
    CHECK_INT(e.done_calls, 1);
    CHECK(!e.result.is_success);
    fprintf(stderr, "silent far end: %s after %.1f s\n", e.result.t30_text, step / 50.0);
    fx38_audio_free(s);
    unlink(dst);

    int err = 0;
    struct fx38_fax bad = {.direction = FX38_SEND, .file = "/nonexistent/doc.tif"};
    CHECK(fx38_audio_new(&bad, FX38_G711_PCMU, on_send, on_done, &e, &err) == NULL);
    CHECK_INT(err, -ENOENT);
    fx38_audio_free(NULL);
}

int
main(void)
{
    char tmpl[] = "/tmp/inkless-audio-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_finish();

    static const struct scenario scenarios[] = {
        {.name = "pcmu_ecm_v17",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMU,
         .ecm = true,
         .modems = FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER,
         .expect_pages = 12,
         .expect_bitrate = 14400},
        {.name = "pcma_ecm_v17",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMA,
         .ecm = true,
         .modems = FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER,
         .expect_pages = 12,
         .expect_bitrate = 14400},
        /* 0.2 % of the frames lost both ways, in the middle of pages too. */
        {.name = "pcmu_ecm_v17_loss",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMU,
         .ecm = true,
         .modems = FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER,
         .expect_pages = 12,
         .lose_every = 487},
        {.name = "pcmu_noecm_v29",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMU,
         .ecm = false,
         .modems = FX38_MODEM_V29 | FX38_MODEM_V27TER,
         .expect_pages = 12,
         .expect_bitrate = 9600},
        /* A resumed job: pages 6..12 only (the first five were confirmed on an earlier call). */
        {.name = "pcma_resume_from_page6",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMA,
         .ecm = true,
         .modems = FX38_MODEM_V17,
         .expect_pages = 7,
         .first_page = 5},
        /* BYE from the receiving side after page 3. */
        {.name = "pcmu_rx_hangup_after_page3",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMU,
         .ecm = true,
         .modems = FX38_MODEM_V17,
         .expect_pages = 3,
         .terminate_at = 3},
        /* The line goes silent both ways after page 2 (the far end vanished, no BYE). */
        {.name = "pcma_line_dead_after_page2",
         .file = "itutests_fine_mh.tif",
         .law = FX38_G711_PCMA,
         .ecm = true,
         .modems = FX38_MODEM_V17,
         .expect_pages = 2,
         .cut_at = 2},
    };
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run(&scenarios[i], dir);
    run_edges(dir);
    rmdir(dir);
    return check_finish();
}
