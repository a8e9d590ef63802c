/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fax manifests (see manifest.h). The writer and the parser are each other's inverse: a
 * parse accepts exactly the byte strings the writer can produce, so a manifest's hash is a
 * function of its content and a damaged or forged one is refused instead of half-read. */
#include "manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An output buffer that grows; the first failure sticks. */
struct outbuf {
    char *buf;
    size_t len, cap;
    int err;
};

static void
out_bytes(struct outbuf *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->buf, cap);
        if (!p) {
            o->err = -ENOMEM;
            return;
        }
        o->buf = p;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void __attribute__((format(printf, 2, 3))) out_fmt(struct outbuf *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        o->err = o->err ? o->err : -EINVAL;
        return;
    }
    out_bytes(o, tmp, (size_t)n);
}

/* "key value\n" with the value escaped; field is a char array of size cap that must hold a
 * NUL (an unterminated field is a caller bug we refuse rather than read past). */
static void
out_str(struct outbuf *o, const char *key, const char *field, size_t cap)
{
    if (!memchr(field, '\0', cap)) {
        o->err = o->err ? o->err : -EINVAL;
        return;
    }
    out_fmt(o, "%s ", key);
    for (const unsigned char *p = (const unsigned char *)field; *p; p++) {
        if (*p == '\\')
            out_bytes(o, "\\\\", 2);
        else if (*p >= 0x20 && *p <= 0x7e)
            out_bytes(o, (const char *)p, 1);
        else
            out_fmt(o, "\\x%02x", *p);
    }
    out_bytes(o, "\n", 1);
}

static int
is_hex_id(const char *id)
{
    for (int i = 0; i < ARC_MANIFEST_HASH_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return id[ARC_MANIFEST_HASH_LEN] == '\0';
}

/* The earliest and latest accepted start times: 1970-01-01 and 9999-12-31T23:59:59Z. */
#define MANIFEST_MAX_TIME ((time_t)253402300799LL)

int
arc_format_manifest(const struct arc_manifest *m, char **ret_buf, size_t *ret_len)
{
    struct outbuf o = {.err = 0};
    struct tm tm;

    if (m->n_pages > ARC_MANIFEST_MAX_PAGES || (m->n_pages && !m->pages) || m->started < 0 ||
        m->started > MANIFEST_MAX_TIME || !gmtime_r(&m->started, &tm) ||
        (m->direction != ARC_DIRECTION_RX && m->direction != ARC_DIRECTION_TX))
        return -EINVAL;
    for (size_t i = 0; i < m->n_pages; i++)
        if (!is_hex_id(m->pages[i].id))
            return -EINVAL;

    out_fmt(&o, "%s\n", ARC_MANIFEST_MAGIC);
    out_fmt(&o, "direction %s\n", m->direction == ARC_DIRECTION_RX ? "rx" : "tx");
    out_str(&o, "did", m->did, sizeof(m->did));
    out_str(&o, "remote", m->remote, sizeof(m->remote));
    out_str(&o, "remote_ident", m->remote_ident, sizeof(m->remote_ident));
    out_str(&o, "trunk", m->trunk, sizeof(m->trunk));
    out_fmt(&o, "started %04d-%02d-%02dT%02d:%02d:%02dZ\n", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    out_fmt(&o, "duration %u\n", m->duration);
    out_str(&o, "status", m->status, sizeof(m->status));
    out_fmt(&o, "t30_code %u\n", m->t30_code);
    out_str(&o, "t30_text", m->t30_text, sizeof(m->t30_text));
    out_fmt(&o, "pages %zu\n", m->n_pages);
    out_fmt(&o, "rate %u\n", m->rate);
    out_fmt(&o, "ecm %d\n", m->is_ecm ? 1 : 0);
    out_str(&o, "transport", m->transport, sizeof(m->transport));
    out_fmt(&o, "partial %d\n", m->is_partial ? 1 : 0);
    for (size_t i = 0; i < m->n_pages; i++) {
        const struct arc_manifest_page *p = &m->pages[i];
        out_fmt(&o, "page %s %u %u %u %u\n", p->id, p->width, p->rows, p->xres, p->yres);
    }
    if (!o.err && o.len > ARC_MANIFEST_MAX_LEN)
        o.err = -EINVAL;
    if (o.err) {
        free(o.buf);
        return o.err;
    }
    *ret_buf = o.buf;
    *ret_len = o.len;
    return 0;
}

/* A cursor over the input, one line at a time. */
struct in {
    const char *p, *end;
};

/* The next line without its '\n' (which must be there): [*ret_s, *ret_s + *ret_n). */
static int
in_line(struct in *in, const char **ret_s, size_t *ret_n)
{
    const char *nl = memchr(in->p, '\n', (size_t)(in->end - in->p));
    if (!nl)
        return -EBADMSG;
    *ret_s = in->p;
    *ret_n = (size_t)(nl - in->p);
    in->p = nl + 1;
    return 0;
}

/* The next line must be "key value": returns the value. */
static int
in_key(struct in *in, const char *key, const char **ret_v, size_t *ret_n)
{
    const char *s;
    size_t n, k = strlen(key);
    if (in_line(in, &s, &n) < 0 || n < k + 1 || memcmp(s, key, k) != 0 || s[k] != ' ')
        return -EBADMSG;
    *ret_v = s + k + 1;
    *ret_n = n - k - 1;
    return 0;
}

/* A canonical decimal (no sign, no leading zero, no other bytes) ≤ max. */
static int
parse_uint(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EBADMSG;
        uint64_t d = (uint64_t)(s[i] - '0');
        /* d > max first: max - d must not wrap (the flags have max 1, so "ecm 5"). */
        if (d > max || v > (max - d) / 10)
            return -EBADMSG;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

static int
in_uint(struct in *in, const char *key, uint64_t max, uint64_t *ret)
{
    const char *v;
    size_t n;
    if (in_key(in, key, &v, &n) < 0)
        return -EBADMSG;
    return parse_uint(v, n, max, ret);
}

static int
hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unescape into field[cap]. Only the writer's escapes are accepted: "\\", and "\xHH" for a
 * byte the writer would have escaped (so each string has one encoding). */
static int
in_str(struct in *in, const char *key, char *field, size_t cap)
{
    const char *v;
    size_t n, k = 0;
    if (in_key(in, key, &v, &n) < 0)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e)
            return -EBADMSG;
        if (c == '\\') {
            if (i + 1 < n && v[i + 1] == '\\') {
                i++;
            } else if (i + 3 < n && v[i + 1] == 'x' && hexval(v[i + 2]) >= 0 &&
                       hexval(v[i + 3]) >= 0) {
                c = (unsigned char)(hexval(v[i + 2]) << 4 | hexval(v[i + 3]));
                if (c == '\0' || (c >= 0x20 && c <= 0x7e))
                    return -EBADMSG;
                i += 3;
            } else {
                return -EBADMSG;
            }
        }
        if (k + 1 >= cap)
            return -EBADMSG;
        field[k++] = (char)c;
    }
    field[k] = '\0';
    return 0;
}

static int
days_in_month(int year, int mon)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return mon == 2 && is_leap ? 29 : days[mon - 1];
}

/* "YYYY-MM-DDTHH:MM:SSZ", every field in range. */
static int
parse_time(const char *s, size_t n, time_t *ret)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (n != sizeof(shape) - 1)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -EBADMSG;
#define DIGITS2(at) ((s[at] - '0') * 10 + (s[(at) + 1] - '0'))
    int year = DIGITS2(0) * 100 + DIGITS2(2), mon = DIGITS2(5), day = DIGITS2(8);
    int hour = DIGITS2(11), min = DIGITS2(14), sec = DIGITS2(17);
#undef DIGITS2
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
        hour > 23 || min > 59 || sec > 59)
        return -EBADMSG;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    *ret = timegm(&tm);
    return 0;
}

static int
parse_page(const char *s, size_t n, struct arc_manifest_page *p)
{
    /* "page " 64 hex " " w " " rows " " xres " " yres */
    if (n < 5 + ARC_MANIFEST_HASH_LEN || memcmp(s, "page ", 5) != 0)
        return -EBADMSG;
    memcpy(p->id, s + 5, ARC_MANIFEST_HASH_LEN);
    p->id[ARC_MANIFEST_HASH_LEN] = '\0';
    if (!is_hex_id(p->id))
        return -EBADMSG;
    const char *q = s + 5 + ARC_MANIFEST_HASH_LEN, *end = s + n;
    uint64_t v[4];
    static const uint64_t max[4] = {UINT32_MAX, UINT32_MAX, UINT16_MAX, UINT16_MAX};
    for (int i = 0; i < 4; i++) {
        if (q >= end || *q != ' ')
            return -EBADMSG;
        q++;
        const char *sp = memchr(q, ' ', (size_t)(end - q));
        const char *e = sp ? sp : end;
        if (parse_uint(q, (size_t)(e - q), max[i], &v[i]) < 0)
            return -EBADMSG;
        q = e;
    }
    if (q != end)
        return -EBADMSG;
    p->width = (uint32_t)v[0];
    p->rows = (uint32_t)v[1];
    p->xres = (uint16_t)v[2];
    p->yres = (uint16_t)v[3];
    return 0;
}

static int
parse_body(struct in *in, struct arc_manifest *m)
{
    const char *s;
    size_t n;
    uint64_t v;

    if (in_line(in, &s, &n) < 0 || n != strlen(ARC_MANIFEST_MAGIC) ||
        memcmp(s, ARC_MANIFEST_MAGIC, n) != 0)
        return -EBADMSG;
    if (in_key(in, "direction", &s, &n) < 0)
        return -EBADMSG;
    if (n == 2 && memcmp(s, "rx", 2) == 0)
        m->direction = ARC_DIRECTION_RX;
    else if (n == 2 && memcmp(s, "tx", 2) == 0)
        m->direction = ARC_DIRECTION_TX;
    else
        return -EBADMSG;
    if (in_str(in, "did", m->did, sizeof(m->did)) < 0 ||
        in_str(in, "remote", m->remote, sizeof(m->remote)) < 0 ||
        in_str(in, "remote_ident", m->remote_ident, sizeof(m->remote_ident)) < 0 ||
        in_str(in, "trunk", m->trunk, sizeof(m->trunk)) < 0)
        return -EBADMSG;
    if (in_key(in, "started", &s, &n) < 0 || parse_time(s, n, &m->started) < 0)
        return -EBADMSG;
    if (in_uint(in, "duration", UINT32_MAX, &v) < 0)
        return -EBADMSG;
    m->duration = (uint32_t)v;
    if (in_str(in, "status", m->status, sizeof(m->status)) < 0)
        return -EBADMSG;
    if (in_uint(in, "t30_code", UINT32_MAX, &v) < 0)
        return -EBADMSG;
    m->t30_code = (uint32_t)v;
    if (in_str(in, "t30_text", m->t30_text, sizeof(m->t30_text)) < 0)
        return -EBADMSG;
    uint64_t n_pages;
    if (in_uint(in, "pages", ARC_MANIFEST_MAX_PAGES, &n_pages) < 0)
        return -EBADMSG;
    if (in_uint(in, "rate", UINT32_MAX, &v) < 0)
        return -EBADMSG;
    m->rate = (uint32_t)v;
    if (in_uint(in, "ecm", 1, &v) < 0)
        return -EBADMSG;
    m->is_ecm = v;
    if (in_str(in, "transport", m->transport, sizeof(m->transport)) < 0)
        return -EBADMSG;
    if (in_uint(in, "partial", 1, &v) < 0)
        return -EBADMSG;
    m->is_partial = v;

    if (n_pages) {
        m->pages = calloc((size_t)n_pages, sizeof(*m->pages));
        if (!m->pages)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n_pages; i++) {
        if (in_line(in, &s, &n) < 0 || parse_page(s, n, &m->pages[i]) < 0)
            return -EBADMSG;
        m->n_pages = i + 1;
    }
    return in->p == in->end ? 0 : -EBADMSG;
}

int
arc_parse_manifest(const char *buf, size_t len, struct arc_manifest *ret_m)
{
    *ret_m = (struct arc_manifest){.direction = ARC_DIRECTION_RX};
    if (!buf || len > ARC_MANIFEST_MAX_LEN)
        return -EBADMSG;
    struct in in = {.p = buf, .end = buf + len};
    int r = parse_body(&in, ret_m);
    if (r < 0)
        arc_manifest_release(ret_m);
    return r;
}

void
arc_manifest_release(struct arc_manifest *m)
{
    if (!m)
        return;
    free(m->pages);
    *m = (struct arc_manifest){.direction = ARC_DIRECTION_RX};
}
