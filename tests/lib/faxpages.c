/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpages FILE...: one line per page, "FILE PAGE WIDTHxROWS XRES YRES HASH", for tests that
 * compare received pages with sent ones as bitmaps. Exit 1 if a file cannot be decoded. */
#include <inttypes.h>
#include <stdio.h>

#include "pages.h"

int
main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct page *pages;
        char err[256];
        int n = pages_load(argv[i], &pages, err, sizeof(err));
        if (n < 0) {
            fprintf(stderr, "faxpages: %s\n", err);
            status = 1;
            continue;
        }
        for (int p = 0; p < n; p++)
            printf("%s %d %dx%d %.0f %.0f %016" PRIx64 "\n", argv[i], p + 1, pages[p].width,
                   pages[p].rows, pages[p].xres, pages[p].yres, pages[p].hash);
        pages_free(pages, n);
    }
    return status;
}
