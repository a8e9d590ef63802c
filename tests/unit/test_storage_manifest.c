/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/manifest.c: a manifest formats to fixed bytes (a literal golden text), parses back to
 * the same struct, escapes hostile strings so they cannot add a line, and the parser accepts
 * nothing the writer would not write: every prefix, every one-byte change and a list of
 * hand-made near misses are refused or, if accepted, format back to the very same bytes. */
#include "manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define ID_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ID_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define ID_C "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The manifest of manifest.h's example, and its exact bytes. */
static const char golden_text[] = "inkless-fax 1\n"
                                  "direction rx\n"
                                  "did 4930123456\n"
                                  "remote 4940987654\n"
                                  "remote_ident +49 40 987654\n"
                                  "trunk carrier-a\n"
                                  "started 2024-05-01T12:34:56Z\n"
                                  "duration 73\n"
                                  "status ok\n"
                                  "t30_code 0\n"
                                  "t30_text OK\n"
                                  "pages 2\n"
                                  "rate 14400\n"
                                  "ecm 1\n"
                                  "transport t38\n"
                                  "partial 0\n"
                                  "page " ID_A " 1728 2287 204 196\n"
                                  "page " ID_B " 1728 1100 204 98\n";

static struct arc_manifest_page golden_pages[2] = {
    {.id = ID_A, .width = 1728, .rows = 2287, .xres = 204, .yres = 196},
    {.id = ID_B, .width = 1728, .rows = 1100, .xres = 204, .yres = 98},
};

static void
golden_manifest(struct arc_manifest *m)
{
    *m = (struct arc_manifest){
        .direction = ARC_DIRECTION_RX,
        .did = "4930123456",
        .remote = "4940987654",
        .remote_ident = "+49 40 987654",
        .trunk = "carrier-a",
        .started = 1714566896, /* 2024-05-01T12:34:56Z */
        .duration = 73,
        .status = "ok",
        .t30_code = 0,
        .t30_text = "OK",
        .rate = 14400,
        .is_ecm = true,
        .transport = "t38",
        .is_partial = false,
        .n_pages = 2,
        .pages = golden_pages,
    };
}

/* Every field, by value (pages compared entry by entry). */
static bool
same_manifest(const struct arc_manifest *a, const struct arc_manifest *b)
{
    if (a->direction != b->direction || strcmp(a->did, b->did) != 0 ||
        strcmp(a->remote, b->remote) != 0 || strcmp(a->remote_ident, b->remote_ident) != 0 ||
        strcmp(a->trunk, b->trunk) != 0 || a->started != b->started || a->duration != b->duration ||
        strcmp(a->status, b->status) != 0 || a->t30_code != b->t30_code ||
        strcmp(a->t30_text, b->t30_text) != 0 || a->rate != b->rate || a->is_ecm != b->is_ecm ||
        strcmp(a->transport, b->transport) != 0 || a->is_partial != b->is_partial ||
        a->n_pages != b->n_pages)
        return false;
    for (size_t i = 0; i < a->n_pages; i++) {
        const struct arc_manifest_page *p = &a->pages[i], *q = &b->pages[i];
        if (strcmp(p->id, q->id) != 0 || p->width != q->width || p->rows != q->rows ||
            p->xres != q->xres || p->yres != q->yres)
            return false;
    }
    return true;
}

/* Parse len bytes from an exactly sized heap copy (so ASan sees any read past the end; the
 * input need not be NUL-terminated). A failed parse must leave *ret_m empty. */
static int
parse_exact(const char *buf, size_t len, struct arc_manifest *ret_m)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, buf, len);
    int r = arc_parse_manifest(copy, len, ret_m);
    free(copy);
    if (r < 0) {
        CHECK(ret_m->pages == NULL);
        CHECK_INT(ret_m->n_pages, 0);
    }
    return r;
}

/* The parser's contract seen from outside: either buf is refused (-EBADMSG), or it is what
 * the writer writes for the struct it parsed into (one encoding per manifest). Returns the
 * parse result. */
static int
parse_canonical(const char *buf, size_t len)
{
    struct arc_manifest m;
    int r = parse_exact(buf, len, &m);
    CHECK(r == 0 || r == -EBADMSG);
    if (r == 0) {
        char *again = NULL;
        size_t again_len = 0;
        CHECK_INT(arc_format_manifest(&m, &again, &again_len), 0);
        CHECK(again && again_len == len && memcmp(again, buf, len) == 0);
        free(again);
    }
    arc_manifest_release(&m);
    return r;
}

/* golden_text with the first occurrence of from replaced by to (the result is malloc'd). */
static char *
edit_golden(const char *from, const char *to, size_t *ret_len)
{
    const char *at = strstr(golden_text, from);
    if (!at) {
        fprintf(stderr, "edit_golden: \"%s\" not in the golden text\n", from);
        abort();
    }
    size_t head = (size_t)(at - golden_text), nf = strlen(from), nt = strlen(to);
    size_t tail = sizeof(golden_text) - 1 - head - nf;
    char *out = malloc(head + nt + tail + 1);
    if (!out)
        abort();
    memcpy(out, golden_text, head);
    memcpy(out + head, to, nt);
    memcpy(out + head + nt, at + nf, tail);
    out[head + nt + tail] = '\0';
    *ret_len = head + nt + tail;
    return out;
}

/* The parse result of golden_text with one edit (the edited text must stay canonical if it
 * is accepted). */
static int
parse_edit(const char *from, const char *to)
{
    size_t len;
    char *buf = edit_golden(from, to, &len);
    int r = parse_canonical(buf, len);
    free(buf);
    return r;
}

#define CHECK_REFUSED(from, to)                                                                    \
    do {                                                                                           \
        if (parse_edit(from, to) != -EBADMSG) {                                                    \
            fprintf(stderr, "  accepted: \"%s\" -> \"%s\"\n", from, to);                           \
            CHECK(!"edit refused");                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_ACCEPTED(from, to)                                                                   \
    do {                                                                                           \
        if (parse_edit(from, to) != 0) {                                                           \
            fprintf(stderr, "  refused: \"%s\" -> \"%s\"\n", from, to);                            \
            CHECK(!"edit accepted");                                                               \
        }                                                                                          \
    } while (0)

/* The small manifest gives exactly the golden bytes, every time, wherever its pages live and
 * whatever follows the NUL in its string fields; the golden bytes parse back to it. */
static void
test_golden(void)
{
    struct arc_manifest m, parsed;
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;

    golden_manifest(&m);
    CHECK_INT(arc_format_manifest(&m, &a, &alen), 0);
    CHECK_INT(alen, sizeof(golden_text) - 1);
    CHECK(a && memcmp(a, golden_text, alen) == 0);
    CHECK(a && a[alen] == '\0');
    if (a && strcmp(a, golden_text) != 0)
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", a, golden_text);

    /* Same struct, same bytes; a copy of the page array and junk after each NUL change
     * nothing. */
    struct arc_manifest_page copy[2];
    memcpy(copy, golden_pages, sizeof(copy));
    golden_manifest(&m);
    m.pages = copy;
    memset(m.did + strlen(m.did) + 1, 'x', sizeof(m.did) - strlen(m.did) - 1);
    memset(m.status + strlen(m.status) + 1, 0xff, sizeof(m.status) - strlen(m.status) - 1);
    CHECK_INT(arc_format_manifest(&m, &b, &blen), 0);
    CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
    free(b);

    golden_manifest(&m);
    CHECK_INT(parse_exact(golden_text, sizeof(golden_text) - 1, &parsed), 0);
    CHECK(same_manifest(&parsed, &m));
    CHECK(parsed.pages != NULL && parsed.pages != golden_pages);
    arc_manifest_release(&parsed);
    CHECK(parsed.pages == NULL);
    CHECK_INT(parsed.n_pages, 0);
    arc_manifest_release(NULL);
    free(a);
}

/* Every field away from its default, several pages, both directions and the extremes of
 * every number, through format → parse → format. */
static void
round_trip(const struct arc_manifest *m)
{
    char *buf = NULL, *again = NULL;
    size_t len = 0, again_len = 0;
    struct arc_manifest parsed;

    CHECK_INT(arc_format_manifest(m, &buf, &len), 0);
    if (!buf)
        return;
    CHECK_INT(parse_exact(buf, len, &parsed), 0);
    CHECK(same_manifest(&parsed, m));
    CHECK_INT(arc_format_manifest(&parsed, &again, &again_len), 0);
    CHECK(again && again_len == len && memcmp(again, buf, len) == 0);
    arc_manifest_release(&parsed);
    free(again);
    free(buf);
}

static void
test_round_trip(void)
{
    struct arc_manifest_page pages[5] = {
        {.id = ID_A, .width = 1728, .rows = 2287, .xres = 204, .yres = 196},
        {.id = ID_B, .width = 2048, .rows = 1, .xres = 204, .yres = 391},
        {.id = ID_C, .width = 2432, .rows = 3300, .xres = 300, .yres = 300},
        {.id = ID_A, .width = 1728, .rows = 2287, .xres = 204, .yres = 196}, /* a repeat */
        {.id = ID_C,
         .width = UINT32_MAX,
         .rows = UINT32_MAX,
         .xres = UINT16_MAX,
         .yres = UINT16_MAX},
    };
    struct arc_manifest m = {
        .direction = ARC_DIRECTION_TX,
        .did = "+4930123456",
        .remote = "004940987654",
        .remote_ident = "ACME Corp. Fax #2",
        .trunk = "carrier-b.example.net:5060",
        .started = 1709251199, /* 2024-02-29T23:59:59Z, a leap day */
        .duration = 3601,
        .status = "partial",
        .t30_code = 48,
        .t30_text = "Far end disconnected (DCN) during page 4",
        .rate = 9600,
        .is_ecm = false,
        .transport = "g711",
        .is_partial = true,
        .n_pages = 5,
        .pages = pages,
    };
    round_trip(&m);

    /* The other values of each flag and enum, numbers at their ends, no pages. */
    m.direction = ARC_DIRECTION_RX;
    m.is_ecm = true;
    m.is_partial = false;
    m.started = 0;
    m.duration = UINT32_MAX;
    m.t30_code = UINT32_MAX;
    m.rate = 0;
    m.n_pages = 0;
    m.pages = NULL;
    round_trip(&m);
    m.started = 253402300799; /* 9999-12-31T23:59:59Z, the last accepted second */
    m.duration = 0;
    round_trip(&m);

    /* Empty strings, and every string filled to its capacity. */
    struct arc_manifest e = {.direction = ARC_DIRECTION_RX};
    round_trip(&e);
    memset(m.did, '9', sizeof(m.did) - 1);
    memset(m.remote, '8', sizeof(m.remote) - 1);
    memset(m.remote_ident, 'Z', sizeof(m.remote_ident) - 1);
    memset(m.trunk, 't', sizeof(m.trunk) - 1);
    memset(m.status, 's', sizeof(m.status) - 1);
    memset(m.t30_text, '~', sizeof(m.t30_text) - 1);
    memset(m.transport, 'x', sizeof(m.transport) - 1);
    m.n_pages = 5;
    m.pages = pages;
    round_trip(&m);

    /* The largest manifest there is: every string all escapes, ARC_MANIFEST_MAX_PAGES pages
     * with the widest numbers, within ARC_MANIFEST_MAX_LEN. */
    struct arc_manifest_page *many = calloc(ARC_MANIFEST_MAX_PAGES, sizeof(*many));
    if (!many)
        abort();
    for (size_t i = 0; i < ARC_MANIFEST_MAX_PAGES; i++)
        many[i] = pages[4];
    memset(m.did, 0xff, sizeof(m.did) - 1);
    memset(m.remote, 0x01, sizeof(m.remote) - 1);
    memset(m.remote_ident, 0x80, sizeof(m.remote_ident) - 1);
    memset(m.trunk, '\n', sizeof(m.trunk) - 1);
    memset(m.status, 0x7f, sizeof(m.status) - 1);
    memset(m.t30_text, 0xfe, sizeof(m.t30_text) - 1);
    memset(m.transport, '\\', sizeof(m.transport) - 1);
    m.n_pages = ARC_MANIFEST_MAX_PAGES;
    m.pages = many;
    round_trip(&m);
    free(many);
}

static size_t
count_lines(const char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    return n;
}

/* A hostile remote ident (newlines, backslashes, bytes ≥ 0x80) is escaped: the manifest keeps
 * its 16 + pages lines, only printable ASCII, and the ident comes back byte for byte. */
static void
test_escape(void)
{
    struct arc_manifest m, parsed;
    char *buf = NULL;
    size_t len = 0;

    golden_manifest(&m);
    (void)snprintf(m.remote_ident, sizeof(m.remote_ident), "%s", "A\nB\\C\xff\x80\x01\x7f\r\t");
    CHECK_INT(arc_format_manifest(&m, &buf, &len), 0);
    if (!buf)
        return;
    CHECK_INT(count_lines(buf, len), 16 + 2);
    for (size_t i = 0; i < len; i++)
        CHECK(buf[i] == '\n' || (buf[i] >= 0x20 && buf[i] <= 0x7e));
    CHECK_CONTAINS(buf, "\nremote_ident A\\x0aB\\\\C\\xff\\x80\\x01\\x7f\\x0d\\x09\ntrunk ");
    CHECK_INT(parse_exact(buf, len, &parsed), 0);
    CHECK_STR(parsed.remote_ident, m.remote_ident);
    CHECK(same_manifest(&parsed, &m));
    arc_manifest_release(&parsed);
    free(buf);

    /* An ident that would forge the lines after it stays one line. */
    golden_manifest(&m);
    (void)snprintf(m.remote_ident, sizeof(m.remote_ident), "%s", "x\ntrunk evil\npages 9\n");
    CHECK_INT(arc_format_manifest(&m, &buf, &len), 0);
    if (!buf)
        return;
    CHECK_INT(count_lines(buf, len), 16 + 2);
    CHECK_CONTAINS(buf, "\nremote_ident x\\x0atrunk evil\\x0apages 9\\x0a\ntrunk carrier-a\n");
    CHECK_INT(parse_exact(buf, len, &parsed), 0);
    CHECK(same_manifest(&parsed, &m));
    arc_manifest_release(&parsed);
    free(buf);

    /* Every byte value 1..255 in a string survives (t30_text holds 128 bytes: two halves). */
    for (int half = 0; half < 2; half++) {
        golden_manifest(&m);
        for (int i = 0; i < 128; i++) {
            int c = half * 128 + i;
            m.t30_text[i] = (char)(c == 0 ? 0xff : c);
        }
        m.t30_text[128] = '\0';
        CHECK_INT(arc_format_manifest(&m, &buf, &len), 0);
        if (!buf)
            return;
        CHECK_INT(count_lines(buf, len), 16 + 2);
        CHECK_INT(parse_exact(buf, len, &parsed), 0);
        CHECK(memcmp(parsed.t30_text, m.t30_text, sizeof(m.t30_text)) == 0);
        arc_manifest_release(&parsed);
        free(buf);
    }
}

/* Near misses of golden_text, each refused; and the boundary values next to them accepted. */
static void
test_parse_strict(void)
{
    /* Keys: missing, repeated, reordered, unknown, misspelt, without their space. */
    CHECK_REFUSED("trunk carrier-a\n", "");
    CHECK_REFUSED("partial 0\n", "");
    CHECK_REFUSED("direction rx\n", "");
    CHECK_REFUSED("did 4930123456\n", "did 4930123456\ndid 4930123456\n");
    CHECK_REFUSED("ecm 1\n", "ecm 1\necm 1\n");
    CHECK_REFUSED("did 4930123456\nremote 4940987654\n", "remote 4940987654\ndid 4930123456\n");
    CHECK_REFUSED("rate 14400\necm 1\n", "ecm 1\nrate 14400\n");
    CHECK_REFUSED("status ok\n", "status ok\ncomment hi\n");
    CHECK_REFUSED("remote_ident ", "remote-ident ");
    CHECK_REFUSED("remote_ident ", "Remote_ident ");
    CHECK_REFUSED("trunk carrier-a\n", "trunk\n");
    CHECK_REFUSED("duration 73", "duration\t73");
    CHECK_ACCEPTED("trunk carrier-a\n", "trunk \n");

    /* Magic and line ends. */
    CHECK_REFUSED("inkless-fax 1\n", "inkless-fax 2\n");
    CHECK_REFUSED("inkless-fax 1\n", "inkless-fax 1 \n");
    CHECK_REFUSED("inkless-fax 1\n", "Inkless-fax 1\n");
    CHECK_REFUSED("inkless-fax 1\n", " inkless-fax 1\n");
    CHECK_REFUSED("inkless-fax 1\n", "\xef\xbb\xbfinkless-fax 1\n");
    CHECK_REFUSED("inkless-fax 1\n", "inkless-fax 1\r\n");
    CHECK_REFUSED("did 4930123456\n", "did 4930123456\r\n");
    CHECK_REFUSED("inkless-fax 1\n", "");

    /* Direction. */
    CHECK_REFUSED("direction rx", "direction RX");
    CHECK_REFUSED("direction rx", "direction xx");
    CHECK_REFUSED("direction rx", "direction rx ");
    CHECK_REFUSED("direction rx", "direction ");
    CHECK_ACCEPTED("direction rx", "direction tx");

    /* Escapes: only "\\" and "\xHH" (lower case) of a byte that must be escaped. */
    CHECK_ACCEPTED("trunk carrier-a", "trunk a\\\\b\\x0a\\xff");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\qb");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\nb");
    CHECK_REFUSED("trunk carrier-a", "trunk carrier-a\\");
    CHECK_REFUSED("trunk carrier-a", "trunk carrier-a\\x");
    CHECK_REFUSED("trunk carrier-a", "trunk carrier-a\\x4");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\x4g");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\xFF");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\X0a");
    CHECK_REFUSED("trunk carrier-a", "trunk a\\x41");  /* 'A' is written as itself */
    CHECK_REFUSED("trunk carrier-a", "trunk a\\x5c");  /* '\\' is written "\\\\" */
    CHECK_REFUSED("trunk carrier-a", "trunk a\\x20");  /* ' ' likewise */
    CHECK_REFUSED("trunk carrier-a", "trunk a\\x00b"); /* a NUL would cut the string */
    CHECK_REFUSED("trunk carrier-a", "trunk a\xff");   /* raw bytes outside 0x20–0x7e */
    CHECK_REFUSED("trunk carrier-a", "trunk a\x80");
    CHECK_REFUSED("trunk carrier-a", "trunk a\tb");
    CHECK_REFUSED("trunk carrier-a", "trunk a\x7f");
    CHECK_ACCEPTED("trunk carrier-a", "trunk a\\x7f\\x1f\\x80");

    /* Overlong values: did holds 32 bytes, transport 8, status 16 (escapes count decoded). */
    CHECK_ACCEPTED("did 4930123456", "did 12345678901234567890123456789012");
    CHECK_REFUSED("did 4930123456", "did 123456789012345678901234567890123");
    CHECK_ACCEPTED("transport t38", "transport 12345678");
    CHECK_REFUSED("transport t38", "transport 123456789");
    CHECK_ACCEPTED("status ok", "status \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
                                "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff");
    CHECK_REFUSED("status ok", "status \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
                               "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff");
    /* 16 backslashes fit, 17 do not. */
    char to[64] = "status ";
    for (int i = 0; i < 16; i++)
        strcat(to, "\\\\");
    CHECK_ACCEPTED("status ok", to);
    strcat(to, "\\\\");
    CHECK_REFUSED("status ok", to);

    /* Numbers: range, leading zeros, signs, spaces, other bases. */
    CHECK_ACCEPTED("duration 73", "duration 4294967295");
    CHECK_REFUSED("duration 73", "duration 4294967296");
    CHECK_REFUSED("duration 73", "duration 99999999999999999999");
    CHECK_REFUSED("duration 73", "duration 999999999999999999999");
    CHECK_ACCEPTED("t30_code 0", "t30_code 4294967295");
    CHECK_REFUSED("t30_code 0", "t30_code 4294967296");
    CHECK_REFUSED("rate 14400", "rate 18446744073709551616");
    CHECK_REFUSED("rate 14400", "rate 18446744073709551615");
    CHECK_ACCEPTED("duration 73", "duration 0");
    CHECK_REFUSED("duration 73", "duration 073");
    CHECK_REFUSED("duration 73", "duration 00");
    CHECK_REFUSED("t30_code 0", "t30_code 00");
    CHECK_REFUSED("duration 73", "duration +73");
    CHECK_REFUSED("duration 73", "duration -73");
    CHECK_REFUSED("duration 73", "duration -0");
    CHECK_REFUSED("duration 73", "duration  73");
    CHECK_REFUSED("duration 73", "duration 73 ");
    CHECK_REFUSED("duration 73", "duration 7 3");
    CHECK_REFUSED("duration 73", "duration 0x49");
    CHECK_REFUSED("duration 73", "duration 73.0");
    CHECK_REFUSED("duration 73", "duration ");
    /* Flags are 0 or 1, nothing else: every other digit, and 10, 01. */
    static const char *const not_flags[] = {"2", "3", "5", "9", "10", "01", "00", "11"};
    for (size_t i = 0; i < sizeof(not_flags) / sizeof(not_flags[0]); i++) {
        (void)snprintf(to, sizeof(to), "ecm %s", not_flags[i]);
        CHECK_REFUSED("ecm 1", to);
        (void)snprintf(to, sizeof(to), "partial %s", not_flags[i]);
        CHECK_REFUSED("partial 0", to);
    }
    CHECK_ACCEPTED("ecm 1", "ecm 0");
    CHECK_ACCEPTED("partial 0", "partial 1");

    /* Start time: shape and calendar. */
    CHECK_ACCEPTED("started 2024-05-01T12:34:56Z", "started 1970-01-01T00:00:00Z");
    CHECK_ACCEPTED("started 2024-05-01T12:34:56Z", "started 9999-12-31T23:59:59Z");
    CHECK_ACCEPTED("started 2024-05-01T12:34:56Z", "started 2000-02-29T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 1969-12-31T23:59:59Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2023-02-29T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2100-02-29T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-04-31T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-13-01T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-00-01T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-00T00:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01T24:00:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01T12:60:00Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01T12:34:60Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01T12:34:56");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01t12:34:56Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01 12:34:56Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-5-01T12:34:56Z");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 2024-05-01T12:34:56+00:00");
    CHECK_REFUSED("started 2024-05-01T12:34:56Z", "started 1714566896");

    /* The page count must match the page lines, and stay within ARC_MANIFEST_MAX_PAGES. */
    CHECK_REFUSED("pages 2", "pages 3");
    CHECK_REFUSED("pages 2", "pages 1");
    CHECK_REFUSED("pages 2", "pages 0");
    CHECK_REFUSED("pages 2", "pages 1001");
    CHECK_REFUSED("pages 2", "pages 02");
    CHECK_REFUSED("page " ID_B " 1728 1100 204 98\n", "");

    /* Page lines: the id is 64 lower-case hex digits; four canonical numbers in range. */
    CHECK_REFUSED(ID_A, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff");
    CHECK_REFUSED(ID_A " ", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef ");
    CHECK_REFUSED(ID_A, ID_A "0");
    CHECK_REFUSED(ID_A, "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    CHECK_REFUSED(ID_A, "0011223344556677 8899aabbccddeeff00112233445566778899aabbccddeef");
    CHECK_REFUSED("page " ID_A, "page  " ID_A);
    CHECK_REFUSED("page " ID_A, "Page " ID_A);
    CHECK_REFUSED("page " ID_A, "page");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728 2287 204\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728 2287 204 196 1\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728 2287 204 196 \n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728  2287 204 196\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 01728 2287 204 196\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728 2287 -204 196\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 1728 2287 204 65536\n");
    CHECK_REFUSED(" 1728 2287 204 196\n", " 4294967296 2287 204 196\n");
    CHECK_ACCEPTED(" 1728 2287 204 196\n", " 4294967295 0 65535 0\n");

    /* Trailing bytes, and a missing final newline. */
    CHECK_REFUSED(" 204 98\n", " 204 98\n\n");
    CHECK_REFUSED(" 204 98\n", " 204 98\nx");
    CHECK_REFUSED(" 204 98\n", " 204 98\npage " ID_C " 1 1 1 1\n");
    CHECK_REFUSED(" 204 98\n", " 204 98");
    CHECK_REFUSED(" 204 98\n", " 204 98\r");

    /* A NUL byte inside the input (not a C string any more). */
    char buf[sizeof(golden_text)];
    memcpy(buf, golden_text, sizeof(buf));
    char *at = strstr(buf, "carrier-a");
    at[3] = '\0';
    CHECK_INT(parse_canonical(buf, sizeof(golden_text) - 1), -EBADMSG);
    CHECK_INT(parse_canonical(golden_text, sizeof(golden_text)), -EBADMSG); /* its NUL too */

    struct arc_manifest m;
    CHECK_INT(arc_parse_manifest(NULL, 0, &m), -EBADMSG);
    CHECK(m.pages == NULL);
    CHECK_INT(parse_exact("", 0, &m), -EBADMSG);
    /* Refused on its length alone, before a byte is read. */
    CHECK_INT(arc_parse_manifest(golden_text, ARC_MANIFEST_MAX_LEN + 1, &m), -EBADMSG);
}

/* Every prefix of a valid manifest (cut inside every line, escape and page) is refused; only
 * the whole is accepted. Each prefix is parsed from a buffer of exactly its length. */
static void
test_truncated(void)
{
    struct arc_manifest_page pages[3] = {
        {.id = ID_A, .width = 1728, .rows = 2287, .xres = 204, .yres = 196},
        {.id = ID_B, .width = 1728, .rows = 1100, .xres = 204, .yres = 98},
        {.id = ID_C, .width = 2432, .rows = 10, .xres = 300, .yres = 300},
    };
    struct arc_manifest m;
    golden_manifest(&m);
    (void)snprintf(m.remote_ident, sizeof(m.remote_ident), "%s", "\\A\n\xff");
    m.n_pages = 3;
    m.pages = pages;
    char *buf = NULL;
    size_t len = 0;
    CHECK_INT(arc_format_manifest(&m, &buf, &len), 0);
    if (!buf)
        return;
    size_t refused = 0;
    for (size_t n = 0; n < len; n++) {
        struct arc_manifest parsed;
        int r = parse_exact(buf, n, &parsed);
        refused += r == -EBADMSG;
        if (r != -EBADMSG)
            fprintf(stderr, "prefix of %zu of %zu bytes: %d\n", n, len, r);
        arc_manifest_release(&parsed);
    }
    CHECK_INT(refused, len);
    struct arc_manifest parsed;
    CHECK_INT(parse_exact(buf, len, &parsed), 0);
    CHECK(same_manifest(&parsed, &m));
    arc_manifest_release(&parsed);
    free(buf);
}

/* Every byte of the golden manifest changed to a handful of values (a bit flip, a newline,
 * a space, a backslash, a high byte, a digit) and every byte deleted: each result is either
 * refused or exactly what the writer writes for what it parsed into. */
static void
test_mutations(void)
{
    static const uint8_t values[] = {'\n', ' ', '\\', 0x80, '0', '1', 'x', '\0'};
    const size_t len = sizeof(golden_text) - 1;
    char *buf = malloc(len);
    if (!buf)
        abort();
    size_t accepted = 0, tried = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k <= sizeof(values); k++) {
            memcpy(buf, golden_text, len);
            buf[i] = k < sizeof(values) ? (char)values[k] : (char)(buf[i] ^ 0x01);
            if (buf[i] == golden_text[i])
                continue;
            tried++;
            accepted += parse_canonical(buf, len) == 0;
        }
        memcpy(buf, golden_text, i);
        memcpy(buf + i, golden_text + i + 1, len - i - 1);
        tried++;
        accepted += parse_canonical(buf, len - 1) == 0;
    }
    /* Some changes are legitimate (a digit of a number, a letter of a string); most are not. */
    printf("%zu one-byte mutations: %zu accepted (each canonical), %zu refused\n", tried, accepted,
           tried - accepted);
    CHECK(accepted > 0 && accepted < tried / 2);
    free(buf);
}

/* What arc_format_manifest refuses to write, leaving *ret_buf alone. */
static void
test_format_invalid(void)
{
    struct arc_manifest m;
    struct arc_manifest_page pg[2];
    char *sentinel = (char *)"untouched", *buf = sentinel;
    size_t len = 12345;

#define CHECK_FORMAT_EINVAL(m)                                                                     \
    do {                                                                                           \
        buf = sentinel;                                                                            \
        CHECK_INT(arc_format_manifest(&(m), &buf, &len), -EINVAL);                                 \
        CHECK(buf == sentinel);                                                                    \
        CHECK_INT(len, 12345);                                                                     \
    } while (0)

    /* Page ids: upper case, too short, too long (no NUL at [64]), not hex, empty. */
    static const char *const bad_ids[] = {
        "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddee-f",
        " 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        memcpy(pg, golden_pages, sizeof(pg));
        (void)snprintf(pg[1].id, sizeof(pg[1].id), "%s", bad_ids[i]);
        golden_manifest(&m);
        m.pages = pg;
        CHECK_FORMAT_EINVAL(m);
    }
    memcpy(pg, golden_pages, sizeof(pg));
    memset(pg[0].id, 'a', sizeof(pg[0].id));
    golden_manifest(&m);
    m.pages = pg;
    CHECK_FORMAT_EINVAL(m);

    /* Page count: over the maximum, or pages without an array. */
    struct arc_manifest_page *many = calloc(ARC_MANIFEST_MAX_PAGES + 1, sizeof(*many));
    if (!many)
        abort();
    for (size_t i = 0; i <= ARC_MANIFEST_MAX_PAGES; i++)
        many[i] = golden_pages[0];
    golden_manifest(&m);
    m.pages = many;
    m.n_pages = ARC_MANIFEST_MAX_PAGES + 1;
    CHECK_FORMAT_EINVAL(m);
    m.n_pages = ARC_MANIFEST_MAX_PAGES;
    buf = NULL;
    CHECK_INT(arc_format_manifest(&m, &buf, &len), 0);
    free(buf);
    len = 12345;
    free(many);
    golden_manifest(&m);
    m.pages = NULL;
    CHECK_FORMAT_EINVAL(m);

    /* Start time outside 1970…9999; a direction that is neither. */
    golden_manifest(&m);
    m.started = -1;
    CHECK_FORMAT_EINVAL(m);
    m.started = (time_t)253402300799LL + 1;
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    m.direction = (enum arc_direction)2;
    CHECK_FORMAT_EINVAL(m);

    /* A string field without its NUL, each one. */
    golden_manifest(&m);
    memset(m.did, '1', sizeof(m.did));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.remote, '1', sizeof(m.remote));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.remote_ident, 'a', sizeof(m.remote_ident));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.trunk, 'a', sizeof(m.trunk));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.status, 'a', sizeof(m.status));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.t30_text, 'a', sizeof(m.t30_text));
    CHECK_FORMAT_EINVAL(m);
    golden_manifest(&m);
    memset(m.transport, 'a', sizeof(m.transport));
    CHECK_FORMAT_EINVAL(m);
#undef CHECK_FORMAT_EINVAL
}

int
main(void)
{
    test_golden();
    test_round_trip();
    test_escape();
    test_parse_strict();
    test_truncated();
    test_mutations();
    test_format_invalid();
    return check_finish();
}
