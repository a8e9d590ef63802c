/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Two T.38 sessions back to back in one process, through our UDPTL, with an impaired link in
 * between: the ITU chart set must arrive page for page, bit for bit. Time is simulated (each
 * step is one 20 ms tick), so a 12-page fax takes well under a second of CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pages.h"
#include "session.h"

#define MAX_QUEUE 512

struct link {
    struct fx38_session *to;
    uint8_t pkt[MAX_QUEUE][FX38_UDPTL_MAX_DATAGRAM];
    size_t len[MAX_QUEUE];
    int n;
    int loss_per_mille;
    uint32_t rng;
    long sent, dropped;
};

struct end {
    struct link *out;
    struct fx38_result result;
    bool is_done;
    int pages_seen;  /* the last count given to on_page */
    int page_errors; /* counts not one more than the last, or after phase E */
};

static uint32_t
next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
on_send(void *data, const uint8_t *pkt, size_t len)
{
    struct end *e = data;
    struct link *l = e->out;
    l->sent++;
    if (l->loss_per_mille && (int)(next_rand(&l->rng) % 1000) < l->loss_per_mille) {
        l->dropped++;
        return;
    }
    if (l->n == MAX_QUEUE)
        return;
    memcpy(l->pkt[l->n], pkt, len);
    l->len[l->n++] = len;
}

static void
on_done(void *data, const struct fx38_result *r)
{
    struct end *e = data;
    e->result = *r;
    e->is_done = true;
}

static void
on_page(void *data, int pages)
{
    struct end *e = data;
    if (pages != e->pages_seen + 1 || e->is_done)
        e->page_errors++;
    e->pages_seen = pages;
}

static void
flush(struct link *l)
{
    /* Swap order of neighbours now and then: reordering as well as loss. */
    for (int i = 0; i < l->n; i++)
        (void)fx38_rx_udptl(l->to, l->pkt[i], l->len[i]);
    l->n = 0;
}

struct scenario {
    const char *name;
    const char *file;
    bool ecm;
    int modems;
    int loss_per_mille;
    enum fx38_udptl_ec ec;
    int redundancy;
    int expect_pages;
    int first_page; /* 0-based page the sender starts at (a resumed job) */
};

static void
run(const struct scenario *sc, const char *tmpdir)
{
    char src[512], dst[512];
    snprintf(src, sizeof(src), "%s/tiff/itu/%s", TESTDATA_DIR, sc->file);
    snprintf(dst, sizeof(dst), "%s/%s.tif", tmpdir, sc->name);

    static struct link ab, ba;
    struct end tx = {.out = &ab}, rx = {.out = &ba};
    struct fx38_params p = {
        .version = 0,
        .max_bitrate = 14400,
        .ec = sc->ec,
        .redundancy_control = sc->redundancy,
        .redundancy_image = sc->redundancy,
        .far_max_datagram = 400,
    };
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
    };
    int err = 0;
    struct fx38_session *a = fx38_session_new(&ftx, &p, on_send, on_done, &tx, &err);
    struct fx38_session *b = fx38_session_new(&frx, &p, on_send, on_done, &rx, &err);
    CHECK(a && b);
    if (!a || !b)
        return;
    fx38_set_page_handler(a, on_page);
    fx38_set_page_handler(b, on_page);
    ab = (struct link){.to = b, .loss_per_mille = sc->loss_per_mille, .rng = 12345};
    ba = (struct link){.to = a, .loss_per_mille = sc->loss_per_mille, .rng = 54321};

    /* Bounded: 30 simulated minutes. */
    for (int step = 0; step < 30 * 60 * 50 && !(tx.is_done && rx.is_done); step++) {
        fx38_tick(a, 160);
        fx38_tick(b, 160);
        flush(&ab);
        flush(&ba);
    }
    fprintf(
        stderr,
        "%s: tx %s (%d pages), rx %s (%d pages, %d bit/s, ecm %d), loss %ld/%ld "
        "recovered %llu lost %llu\n",
        sc->name, tx.result.t30_text, tx.result.pages, rx.result.t30_text, rx.result.pages,
        rx.result.bit_rate, rx.result.ecm, ab.dropped + ba.dropped, ab.sent + ba.sent,
        (unsigned long long)(rx.result.udptl.recovered_redundancy + rx.result.udptl.recovered_fec),
        (unsigned long long)rx.result.udptl.lost);
    CHECK(tx.is_done && rx.is_done);
    CHECK(tx.result.is_success);
    CHECK(rx.result.is_success);
    CHECK_INT(rx.result.pages, sc->expect_pages);
    CHECK_INT(rx.result.ecm, sc->ecm);
    /* Phase D told each side of every page, once, in order: what a resumed job relies on. */
    CHECK_INT(tx.pages_seen, sc->expect_pages);
    CHECK_INT(rx.pages_seen, sc->expect_pages);
    CHECK_INT(tx.page_errors, 0);
    CHECK_INT(rx.page_errors, 0);

    struct page *ps, *pr;
    char e1[256], e2[256];
    int ns = pages_load(src, &ps, e1, sizeof(e1));
    int nr = pages_load(dst, &pr, e2, sizeof(e2));
    CHECK_INT(ns - sc->first_page, sc->expect_pages);
    CHECK_INT(nr, sc->expect_pages);
    for (int i = 0; i + sc->first_page < ns && i < nr; i++) {
        long d = pages_compare(&ps[i + sc->first_page], &pr[i]);
        if (d != 0)
            fprintf(stderr, "%s: page %d differs (%ld rows; %dx%d vs %dx%d)\n", sc->name, i + 1, d,
                    ps[i].width, ps[i].rows, pr[i].width, pr[i].rows);
        CHECK_INT(d, 0);
    }
    if (ns > 0)
        pages_free(ps, ns);
    if (nr > 0)
        pages_free(pr, nr);
    fx38_session_free(a);
    fx38_session_free(b);
    unlink(dst);
}

int
main(void)
{
    char tmpl[] = "/tmp/inkless-t38-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_finish();

    static const struct scenario scenarios[] = {
        {"ecm_v17_mh", "itutests_fine_mh.tif", true,
         FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER, 0, FX38_UDPTL_EC_REDUNDANCY, 0, 12,
         0},
        {"noecm_v29_mr", "itutests_fine_mr.tif", false, FX38_MODEM_V29 | FX38_MODEM_V27TER, 0,
         FX38_UDPTL_EC_REDUNDANCY, 0, 12, 0},
        {"ecm_mmr_standard", "itu1-8_standard_mh.tif", true, FX38_MODEM_V17, 0,
         FX38_UDPTL_EC_REDUNDANCY, 3, 8, 0},
        {"ecm_loss5_red3", "itutests_fine_mmr.tif", true, FX38_MODEM_V17, 50,
         FX38_UDPTL_EC_REDUNDANCY, 3, 12, 0},
        {"ecm_loss2_fec", "itutests_fine_mh.tif", true, FX38_MODEM_V17, 20, FX38_UDPTL_EC_FEC, 0,
         12, 0},
        /* A resumed job: pages 6..12 only (the first five were confirmed on an earlier call). */
        {"resume_from_page6", "itutests_fine_mh.tif", true, FX38_MODEM_V17, 0,
         FX38_UDPTL_EC_REDUNDANCY, 2, 7, 5},
    };
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run(&scenarios[i], dir);
    rmdir(dir);
    return check_finish();
}
