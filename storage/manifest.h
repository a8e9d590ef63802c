/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fax manifest: the archive object that names one fax, like a git tree names files. It
 * lists the call metadata and the canonical page objects in order, as a small text format
 * whose bytes are a function of the struct (so the same fax gives the same manifest hash):
 *
 *   inkless-fax 1
 *   direction rx              (rx | tx)
 *   did 4930123456
 *   remote 4940987654
 *   remote_ident +49 40 987654
 *   trunk carrier-a
 *   started 2024-05-01T12:34:56Z
 *   duration 73               (seconds)
 *   status ok
 *   t30_code 0
 *   t30_text OK
 *   pages 2
 *   rate 14400
 *   ecm 1
 *   transport t38
 *   partial 0
 *   page <64 hex> <width> <rows> <xres> <yres>     (one line per page, pages lines)
 *
 * Keys appear once each, in this order, "key value\n" (value = the rest of the line). String
 * values are printable ASCII; a backslash is written "\\" and any other byte outside 0x20–0x7e
 * "\xHH" (lower case), so a hostile remote ident cannot add a line. Numbers are decimal
 * without sign or leading zeros. Pure functions; any thread.
 */
#ifndef INKLESS_STORAGE_MANIFEST_H
#define INKLESS_STORAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARC_MANIFEST_MAGIC "inkless-fax 1"
#define ARC_MANIFEST_HASH_LEN 64 /* hex digits of a page's SHA-256 */
#define ARC_MANIFEST_MAX_PAGES 1000
#define ARC_MANIFEST_MAX_LEN (64 * 1024 + ARC_MANIFEST_MAX_PAGES * 128)

enum arc_direction {
    ARC_DIRECTION_RX,
    ARC_DIRECTION_TX,
};

struct arc_manifest_page {
    char id[ARC_MANIFEST_HASH_LEN + 1]; /* lower-case hex, NUL-terminated */
    uint32_t width, rows;
    uint16_t xres, yres;
};

/* String fields are NUL-terminated; their sizes bound what a parse accepts. */
struct arc_manifest {
    enum arc_direction direction;
    char did[33];          /* the called number (rx) or our number (tx) */
    char remote[33];       /* the other party's number, "" if unknown */
    char remote_ident[41]; /* T.30 TSI/CSI (20 characters on the wire, §5.3.6.2.4) */
    char trunk[65];
    time_t started;    /* UTC, 1970…9999 */
    uint32_t duration; /* seconds */
    char status[17];   /* "ok", "partial", "failed", … (server/ decides the words) */
    uint32_t t30_code; /* spandsp's T30_ERR_… completion code */
    char t30_text[129];
    uint32_t rate; /* bit/s of the last page */
    bool is_ecm;
    char transport[9]; /* "t38", "g711" */
    bool is_partial;
    size_t n_pages;                  /* ≤ ARC_MANIFEST_MAX_PAGES; written as the "pages" line */
    struct arc_manifest_page *pages; /* n_pages entries; owned as the function says */
};

/* Serialise m (borrowed; pages may point anywhere). *ret_buf is malloc'd text (NUL-terminated
 * for convenience, not counted in *ret_len); the caller frees it. Returns 0, -EINVAL for a
 * field that cannot be written (a page id that is not 64 lower-case hex digits, too many
 * pages, a time before 1970, a string without its NUL), or -ENOMEM. */
int arc_format_manifest(const struct arc_manifest *m, char **ret_buf, size_t *ret_len);

/* Parse len bytes at buf (borrowed; need not be NUL-terminated) into *ret_m, whose pages
 * array is malloc'd (free with arc_manifest_release). Strict: anything arc_format_manifest
 * would not have written (a missing, repeated or reordered key, a bad escape, an overlong
 * value, a number out of range, a page count that disagrees, trailing bytes) is -EBADMSG,
 * and -ENOMEM; *ret_m is then left empty. */
int arc_parse_manifest(const char *buf, size_t len, struct arc_manifest *ret_m);

/* Free m->pages from arc_parse_manifest (NULL is fine) and clear the struct. */
void arc_manifest_release(struct arc_manifest *m);

#endif
