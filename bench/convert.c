/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_convert: pages/s of conv_document (storage/convert.c) on documents given on the
 * command line, with each PDF renderer (ghostscript, MuPDF) at standard and fine resolution.
 * Run through bench/convert-run, which builds the documents (see bench/README.md).
 *   bench_convert [-r ROUNDS] OUT_DIR FILE... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"

static double
now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process and of its reaped children (the renderers). */
static double
cpu_s(void)
{
    struct rusage self, kids;
    (void)getrusage(RUSAGE_SELF, &self);
    (void)getrusage(RUSAGE_CHILDREN, &kids);
    return (double)self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 + self.ru_stime.tv_sec +
           self.ru_stime.tv_usec / 1e6 + kids.ru_utime.tv_sec + kids.ru_utime.tv_usec / 1e6 +
           kids.ru_stime.tv_sec + kids.ru_stime.tv_usec / 1e6;
}

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int
main(int argc, char **argv)
{
    int rounds = 5, opt;
    while ((opt = getopt(argc, argv, "r:")) != -1) {
        if (opt == 'r') {
            rounds = atoi(optarg);
        } else {
            fprintf(stderr, "usage: bench_convert [-r ROUNDS] OUT_DIR FILE...\n");
            return 2;
        }
    }
    if (argc - optind < 2 || rounds < 1) {
        fprintf(stderr, "usage: bench_convert [-r ROUNDS] OUT_DIR FILE...\n");
        return 2;
    }
    const char *dir = argv[optind];
    char out[4096];
    (void)snprintf(out, sizeof(out), "%s/bench-out.tif", dir);
    const enum conv_renderer rends[] = {CONV_RENDERER_GS, CONV_RENDERER_MUPDF};
    const enum conv_resolution resl[] = {CONV_RES_STANDARD, CONV_RES_FINE};
    const char *res_name[] = {"standard", "fine"};

    printf("%-16s %-7s %-9s %6s %9s %9s %11s %10s\n", "document", "render", "res", "pages",
           "pages/s", "ms/page", "CPU ms/pg", "out B/pg");
    int status = 0;
    for (int f = optind + 1; f < argc; f++) {
        const char *in = argv[f];
        for (size_t ri = 0; ri < 2; ri++) {
            for (size_t si = 0; si < 2; si++) {
                struct conv_limits lim = {.renderer = rends[ri], .timeout_s = 600};
                char err[512];
                /* One untimed run: page cache, the renderer's binary and fonts. */
                int pages = conv_document(&in, 1, out, resl[si], &lim, err, sizeof(err));
                if (pages < 0) {
                    fprintf(stderr, "bench_convert: %s (%s): %s\n", in,
                            conv_renderer_name(rends[ri]), err);
                    status = 1;
                    continue;
                }
                double t0 = now_s(), c0 = cpu_s();
                for (int r = 0; r < rounds; r++) {
                    int n = conv_document(&in, 1, out, resl[si], &lim, err, sizeof(err));
                    if (n != pages) {
                        fprintf(stderr, "bench_convert: %s: %d pages, then %d: %s\n", in, pages, n,
                                n < 0 ? err : "");
                        return 1;
                    }
                }
                double wall = now_s() - t0, cpu = cpu_s() - c0;
                double total = (double)pages * rounds;
                FILE *o = fopen(out, "rb");
                long size = 0;
                if (o && fseek(o, 0, SEEK_END) == 0)
                    size = ftell(o);
                if (o)
                    fclose(o);
                printf("%-16s %-7s %-9s %6d %9.1f %9.1f %11.1f %10.0f\n", base_name(in),
                       conv_renderer_name(rends[ri]), res_name[si], pages, total / wall,
                       wall * 1000 / total, cpu * 1000 / total, (double)size / pages);
                printf("BENCH convert document=%s renderer=%s res=%s pages=%d rounds=%d "
                       "pages_per_s=%.2f wall_ms_per_page=%.2f cpu_ms_per_page=%.2f "
                       "out_bytes_per_page=%.0f\n",
                       base_name(in), conv_renderer_name(rends[ri]), res_name[si], pages, rounds,
                       total / wall, wall * 1000 / total, cpu * 1000 / total, (double)size / pages);
            }
        }
    }
    (void)unlink(out);
    return status;
}
