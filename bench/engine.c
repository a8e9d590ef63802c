/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_engine: the engine floor (issue 7). Two fax endpoints back to back in one process, no
 * network, no sockets, simulated 20 ms ticks: (a) a pair of T.38 sessions (t38/session.c,
 * through our UDPTL), (b) a pair of G.711 sessions (t38/audio.c, PCMU). One document (the
 * 12-page ITU chart set), ECM on, V.17 14400. What the server adds per channel is measured
 * against these figures.
 *
 * DESIGN: CPU is CLOCK_THREAD_CPUTIME_ID read around each call into one endpoint (its rx and
 * its tick), so the receiver's and the sender's costs are apart, and the link's copying is in
 * neither. A run must end with both sides T30_ERR_OK and every page received, or it is an
 * error. Each transport runs ROUNDS times; the round with the least receiver CPU is reported
 * (the floor), with the spread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio.h"
#include "session.h"

#define TICK 160                 /* 20 ms at 8 kHz */
#define MAX_STEPS (30 * 60 * 50) /* 30 simulated minutes */
#define MAX_QUEUE 512
#define DEFAULT_ROUNDS 3

struct cost {
    uint64_t ns;     /* CPU in this endpoint's calls */
    uint64_t max_ns; /* the dearest tick (rx + tick of one step): a page boundary */
};

struct outcome {
    int ticks;
    int pages;
    bool is_ok;
    char text[2][FX38_TEXT_LEN];
    struct cost tx, rx;
};

static uint64_t
cpu_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
charge(struct cost *c, uint64_t ns)
{
    c->ns += ns;
    if (ns > c->max_ns)
        c->max_ns = ns;
}

/* What one endpoint sent this tick, for the other to receive next tick. */
struct link {
    uint8_t pkt[MAX_QUEUE][FX38_UDPTL_MAX_DATAGRAM]; /* T.38: one UDPTL packet each */
    size_t len[MAX_QUEUE];
    int n;
    uint8_t audio[4 * FX38_AUDIO_MAX_FRAME]; /* G.711 */
    size_t samples;
    bool is_overflow;
};

struct end {
    struct link *out;
    struct fx38_result result;
    bool is_done;
};

static void
on_udptl(void *data, const uint8_t *pkt, size_t len)
{
    struct end *e = data;
    struct link *l = e->out;
    if (l->n == MAX_QUEUE) {
        l->is_overflow = true;
        return;
    }
    memcpy(l->pkt[l->n], pkt, len);
    l->len[l->n++] = len;
}

static void
on_audio(void *data, const uint8_t *g711, size_t samples)
{
    struct end *e = data;
    struct link *l = e->out;
    if (l->samples + samples > sizeof(l->audio)) {
        l->is_overflow = true;
        return;
    }
    memcpy(l->audio + l->samples, g711, samples);
    l->samples += samples;
}

static void
on_done(void *data, const struct fx38_result *r)
{
    struct end *e = data;
    e->result = *r;
    e->is_done = true;
}

static void
fax_settings(struct fx38_fax *ftx, struct fx38_fax *frx, const char *src, const char *dst)
{
    *ftx = (struct fx38_fax){
        .direction = FX38_SEND,
        .is_caller = true,
        .file = src,
        .last_page = -1,
        .local_ident = "+1 555 000 0001",
        .ecm = true,
        .modems = FX38_MODEM_V17 | FX38_MODEM_V29 | FX38_MODEM_V27TER,
        .fine = true,
        .superfine = true,
    };
    *frx = *ftx;
    frx->direction = FX38_RECEIVE;
    frx->is_caller = false;
    frx->file = dst;
    frx->local_ident = "+1 555 123 0001";
}

static void
finish(struct outcome *o, const struct end *tx, const struct end *rx, int ticks, bool overflow)
{
    o->ticks = ticks;
    o->pages = rx->result.pages;
    o->is_ok =
        tx->is_done && rx->is_done && tx->result.is_success && rx->result.is_success && !overflow;
    snprintf(o->text[0], sizeof(o->text[0]), "%s", tx->is_done ? tx->result.t30_text : "not done");
    snprintf(o->text[1], sizeof(o->text[1]), "%s", rx->is_done ? rx->result.t30_text : "not done");
}

static int
run_t38(const char *src, const char *dst, struct outcome *o)
{
    static struct link ab, ba;
    ab = (struct link){0};
    ba = (struct link){0};
    struct end tx = {.out = &ab}, rx = {.out = &ba};
    struct fx38_params p = {
        .version = 0,
        .max_bitrate = 14400,
        .ec = FX38_UDPTL_EC_REDUNDANCY,
        .redundancy_control = 3,
        .redundancy_image = 1,
        .far_max_datagram = 400,
    };
    struct fx38_fax ftx, frx;
    fax_settings(&ftx, &frx, src, dst);
    int err = 0;
    struct fx38_session *a = fx38_session_new(&ftx, &p, on_udptl, on_done, &tx, &err);
    struct fx38_session *b = a ? fx38_session_new(&frx, &p, on_udptl, on_done, &rx, &err) : NULL;
    if (!a || !b) {
        fx38_session_free(a);
        return err;
    }
    *o = (struct outcome){0};
    int step;
    for (step = 0; step < MAX_STEPS && !(tx.is_done && rx.is_done); step++) {
        /* Sender: last tick's packets from the receiver, then its own tick. */
        uint64_t t0 = cpu_ns();
        for (int i = 0; i < ba.n; i++)
            (void)fx38_rx_udptl(a, ba.pkt[i], ba.len[i]);
        ba.n = 0;
        fx38_tick(a, TICK);
        uint64_t t1 = cpu_ns();
        for (int i = 0; i < ab.n; i++)
            (void)fx38_rx_udptl(b, ab.pkt[i], ab.len[i]);
        ab.n = 0;
        fx38_tick(b, TICK);
        uint64_t t2 = cpu_ns();
        charge(&o->tx, t1 - t0);
        charge(&o->rx, t2 - t1);
    }
    finish(o, &tx, &rx, step, ab.is_overflow || ba.is_overflow);
    fx38_session_free(a);
    fx38_session_free(b);
    return 0;
}

static int
run_audio(const char *src, const char *dst, struct outcome *o)
{
    static struct link ab, ba;
    ab = (struct link){0};
    ba = (struct link){0};
    struct end tx = {.out = &ab}, rx = {.out = &ba};
    struct fx38_fax ftx, frx;
    fax_settings(&ftx, &frx, src, dst);
    int err = 0;
    struct fx38_audio *a = fx38_audio_new(&ftx, FX38_G711_PCMU, on_audio, on_done, &tx, &err);
    struct fx38_audio *b =
        a ? fx38_audio_new(&frx, FX38_G711_PCMU, on_audio, on_done, &rx, &err) : NULL;
    if (!a || !b) {
        fx38_audio_free(a);
        return err;
    }
    *o = (struct outcome){0};
    int step;
    for (step = 0; step < MAX_STEPS && !(tx.is_done && rx.is_done); step++) {
        /* Each side hears the other's previous frame, then sends this tick's. The buffers are
         * only read by fx38_audio_rx and refilled by the other side's tick afterwards. */
        uint64_t t0 = cpu_ns();
        fx38_audio_rx(a, ba.audio, ba.samples);
        ba.samples = 0;
        fx38_audio_tick(a, TICK);
        uint64_t t1 = cpu_ns();
        fx38_audio_rx(b, ab.audio, ab.samples);
        ab.samples = 0;
        fx38_audio_tick(b, TICK);
        uint64_t t2 = cpu_ns();
        charge(&o->tx, t1 - t0);
        charge(&o->rx, t2 - t1);
    }
    finish(o, &tx, &rx, step, ab.is_overflow || ba.is_overflow);
    fx38_audio_free(a);
    fx38_audio_free(b);
    return 0;
}

struct transport {
    const char *name;
    int (*run)(const char *src, const char *dst, struct outcome *o);
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: bench_engine [-r ROUNDS] [-t TMPDIR] TIFF\n"
            "  A T.38 pair and a G.711 pair in one process send TIFF (ECM, V.17), ROUNDS\n"
            "  times each (default %d); the receiver's written pages go to TMPDIR (/tmp).\n",
            DEFAULT_ROUNDS);
}

int
main(int argc, char **argv)
{
    int rounds = DEFAULT_ROUNDS;
    const char *tmp = "/tmp";
    int c;
    while ((c = getopt(argc, argv, "r:t:h")) != -1) {
        switch (c) {
        case 'r':
            rounds = atoi(optarg);
            break;
        case 't':
            tmp = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || rounds < 1) {
        usage(stderr);
        return 2;
    }
    const char *src = argv[optind];
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/inkless-engine-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_engine: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char dst[600];
    snprintf(dst, sizeof(dst), "%s/rx.tif", dir);
    tzset(); /* spandsp calls localtime() when it writes a page */

    static const struct transport transports[] = {
        {"t38", run_t38},
        {"g711", run_audio},
    };
    struct outcome best[2];
    double spread[2];
    int status = 0;
    for (size_t t = 0; t < 2; t++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int r = 0; r < rounds; r++) {
            struct outcome o;
            int err = transports[t].run(src, dst, &o);
            (void)unlink(dst);
            if (err < 0) {
                fprintf(stderr, "bench_engine: %s: cannot start: %s\n", transports[t].name,
                        strerror(-err));
                status = 1;
                break;
            }
            if (!o.is_ok) {
                fprintf(stderr, "bench_engine: %s: fax failed: tx %s, rx %s (%d pages)\n",
                        transports[t].name, o.text[0], o.text[1], o.pages);
                status = 1;
                break;
            }
            if (o.rx.ns < lo)
                best[t] = o;
            lo = o.rx.ns < lo ? o.rx.ns : lo;
            hi = o.rx.ns > hi ? o.rx.ns : hi;
        }
        if (status)
            break;
        spread[t] = lo ? (double)(hi - lo) / (double)lo : 0;
    }
    (void)rmdir(dir);
    if (status)
        return status;

    printf("engine floor: %s, ECM, 20 ms ticks, best of %d rounds (receiver CPU)\n", src, rounds);
    printf("%-6s %5s %6s %8s | %11s %11s %12s | %11s %11s | %6s\n", "", "pages", "ticks", "fax s",
           "rx us/tick", "rx ms/page", "rx max tick", "tx us/tick", "tx ms/page", "spread");
    for (size_t t = 0; t < 2; t++) {
        const struct outcome *o = &best[t];
        double rx_tick = (double)o->rx.ns / 1e3 / o->ticks;
        double rx_page = (double)o->rx.ns / 1e6 / o->pages;
        double tx_tick = (double)o->tx.ns / 1e3 / o->ticks;
        double tx_page = (double)o->tx.ns / 1e6 / o->pages;
        double rx_max = (double)o->rx.max_ns / 1e3;
        printf("%-6s %5d %6d %8.1f | %11.2f %11.2f %9.0f us | %11.2f %11.2f | %5.1f%%\n",
               transports[t].name, o->pages, o->ticks, o->ticks / 50.0, rx_tick, rx_page, rx_max,
               tx_tick, tx_page, spread[t] * 100);
    }
    for (size_t t = 0; t < 2; t++) {
        const struct outcome *o = &best[t];
        printf("BENCH engine transport=%s pages=%d ticks=%d fax_s=%.1f rx_us_per_tick=%.2f "
               "rx_ms_per_page=%.2f rx_max_tick_us=%.0f tx_us_per_tick=%.2f tx_ms_per_page=%.2f "
               "rounds=%d spread=%.3f\n",
               transports[t].name, o->pages, o->ticks, o->ticks / 50.0,
               (double)o->rx.ns / 1e3 / o->ticks, (double)o->rx.ns / 1e6 / o->pages,
               (double)o->rx.max_ns / 1e3, (double)o->tx.ns / 1e3 / o->ticks,
               (double)o->tx.ns / 1e6 / o->pages, rounds, spread[t]);
    }
    return 0;
}
