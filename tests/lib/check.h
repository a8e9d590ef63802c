/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal test assertions: a failed CHECK prints file:line and the expression, and the test
 * executable exits 1 at the end (so one run reports every failure). Exit 77 = skip. */
#ifndef INKLESS_TESTS_CHECK_H
#define INKLESS_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %lld, expected %s == %lld\n",          \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", __FILE__,  \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* A substring must occur in a string. */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *check_h_ = (hay), *check_n_ = (needle);                                        \
        if (!check_h_ || !strstr(check_h_, check_n_)) {                                            \
            fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: \"%s\" not in %s = \"%s\"\n", __FILE__, \
                    __LINE__, check_n_, #hay, check_h_ ? check_h_ : "(null)");                     \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static inline int
check_finish(void)
{
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}

#endif
