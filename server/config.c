/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reads the libconfig file into struct cfg and validates every option, so that a mistake is
 * reported once, at startup, as "FILE:LINE: OPTION: what is wrong", and never at the first
 * call. The options are described by tables (name, type, range, field offset); a name that is
 * not in a table is an error, because a typo silently falling back to a default is worse.
 * The only file that includes <libconfig.h> (STYLE §1).
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#define CFG_MAX_THREADS 256
#define CFG_MAX_SRC_FILES 8          /* files whose text we keep, see source_text() */
#define CFG_MAX_SRC_BYTES (64 << 20) /* larger config files are not re-read */
#define CFG_OPTION_LEN 192           /* "numbers[12345].trunk" and the like */

/* The source text of one file, read back by int_literal_fits() and setting_line(). */
struct src_text {
    char *file; /* owned; as libconfig names it */
    char *text; /* owned; NULL if it could not be read */
};

/* State of one cfg_load()/cfg_load_text() call. */
struct loader {
    const char *name;        /* file name for messages where libconfig has none (borrowed) */
    const char *text;        /* cfg_load_text(): the text itself (borrowed); NULL for a file */
    const char *include_dir; /* directory of the file, for @include; NULL = working dir */
    char *errbuf;            /* the caller's; may be NULL */
    size_t errlen;
    const config_t *conf;
    struct cfg *cfg;
    int nsrc;
    struct src_text src[CFG_MAX_SRC_FILES];
};

enum opt_kind { OPT_INT, OPT_BOOL, OPT_STRING, OPT_ENUM, OPT_CUSTOM };

struct opt_enum {
    const char *name;
    int value;
};

/* One option of a group. `offset` locates its field in the struct the group fills (struct
 * cfg, struct cfg_trunk or struct cfg_number); `size` is the field's size. */
struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    size_t size;
    long long min, max;                     /* OPT_INT: inclusive range */
    const char *(*check_int)(long long v);  /* OPT_INT: NULL or why v is wrong */
    const char *(*check_str)(const char *); /* OPT_STRING: NULL or why the value is wrong */
    const struct opt_enum *names;           /* OPT_ENUM: ends with {NULL, 0} */
    /* OPT_CUSTOM: parse setting `s` (full name `option`) into the struct at `base` */
    int (*parse)(struct loader *ld, const config_setting_t *s, const char *option, void *base);
    bool is_required;
};

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define O_INT(type, nm, field, lo, hi, chk)                                                        \
    {                                                                                              \
        .name = nm, .kind = OPT_INT, .offset = offsetof(type, field),                              \
        .size = FIELD_SIZE(type, field), .min = lo, .max = hi, .check_int = chk                    \
    }
#define O_BOOL(type, nm, field)                                                                    \
    {                                                                                              \
        .name = nm, .kind = OPT_BOOL, .offset = offsetof(type, field),                             \
        .size = FIELD_SIZE(type, field)                                                            \
    }
#define O_STR(type, nm, field, chk, req)                                                           \
    {                                                                                              \
        .name = nm, .kind = OPT_STRING, .offset = offsetof(type, field),                           \
        .size = FIELD_SIZE(type, field), .check_str = chk, .is_required = req                      \
    }
#define O_ENUM(type, nm, field, tbl)                                                               \
    {                                                                                              \
        .name = nm, .kind = OPT_ENUM, .offset = offsetof(type, field),                             \
        .size = FIELD_SIZE(type, field), .names = tbl                                              \
    }
#define O_CUSTOM(nm, fn, req)                                                                      \
    {                                                                                              \
        .name = nm, .kind = OPT_CUSTOM, .parse = fn, .is_required = req                            \
    }

/* ---- the source text, for what libconfig 1.5 gets wrong ---- */

/* libconfig names an included file as written in @include, though it opened it relative to
 * the include directory; name it the way it was opened. */
static const char *
file_name(const struct loader *ld, const char *file, char *buf, size_t size)
{
    if (!file)
        return ld->name;
    if (strcmp(file, ld->name) == 0 || file[0] == '/' || !ld->include_dir)
        return file;
    (void)snprintf(buf, size, "%s/%s", ld->include_dir, file);
    return buf;
}

static const char *
source_text(struct loader *ld, const char *file)
{
    char path[CFG_PATH_LEN + CFG_NAME_LEN];
    struct src_text *src;
    struct stat st;
    FILE *f;

    if (!file)
        return ld->text;
    for (int i = 0; i < ld->nsrc; i++)
        if (strcmp(ld->src[i].file, file) == 0)
            return ld->src[i].text;
    if (ld->nsrc == CFG_MAX_SRC_FILES)
        return NULL;
    src = &ld->src[ld->nsrc];
    src->file = strdup(file);
    if (!src->file)
        return NULL;
    ld->nsrc++;
    f = fopen(file_name(ld, file, path, sizeof(path)), "r");
    if (!f)
        return NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < CFG_MAX_SRC_BYTES) {
        src->text = calloc(1, (size_t)st.st_size + 1);
        if (src->text && fread(src->text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
            free(src->text);
            src->text = NULL;
        }
    }
    (void)fclose(f);
    return src->text;
}

/* The start of line `line` (1-based) in text, or NULL. */
static const char *
line_start(const char *text, unsigned int line)
{
    for (unsigned int l = 1; text && l < line; l++) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    return text;
}

/* libconfig 1.5 gives a string element of a list the line where its scanner stopped
 * looking for an adjacent string to join, so the last element of a list written one per
 * line is off by one or more lines. Look back from there for the quoted value. */
static unsigned int
setting_line(struct loader *ld, const config_setting_t *s)
{
    unsigned int line = config_setting_source_line(s);
    const config_setting_t *parent = config_setting_parent(s);
    const char *text, *value, *p, *end;
    char quoted[CFG_PATH_LEN + 3];
    unsigned int first;

    if (config_setting_name(s) || config_setting_type(s) != CONFIG_TYPE_STRING || !parent)
        return line;
    text = source_text(ld, config_setting_source_file(s));
    value = config_setting_get_string(s);
    if (!text || strlen(value) > CFG_PATH_LEN)
        return line;
    (void)snprintf(quoted, sizeof(quoted), "\"%s\"", value);
    first = config_setting_source_line(parent);
    for (unsigned int l = line; l >= first && l > 0; l--) {
        p = line_start(text, l);
        if (!p)
            return line;
        end = strchrnul(p, '\n');
        p = memmem(p, (size_t)(end - p), quoted, strlen(quoted));
        if (p)
            return l;
    }
    return line;
}

/* ---- messages ---- */

static int __attribute__((format(printf, 4, 5)))
fail(struct loader *ld, const config_setting_t *s, const char *option, const char *fmt, ...)
{
    char msg[512], buf[CFG_PATH_LEN + CFG_NAME_LEN];
    const char *file = ld->name;
    unsigned int line = 0;
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s) {
        file = file_name(ld, config_setting_source_file(s), buf, sizeof(buf));
        line = setting_line(ld, s);
    }
    if (!ld->errbuf || ld->errlen == 0)
        return -EINVAL;
    if (line > 0)
        (void)snprintf(ld->errbuf, ld->errlen, "%s:%u: %s: %s", file, line, option, msg);
    else
        (void)snprintf(ld->errbuf, ld->errlen, "%s: %s: %s", file, option, msg);
    return -EINVAL;
}

static int
fail_oom(struct loader *ld)
{
    if (ld->errbuf && ld->errlen > 0)
        (void)snprintf(ld->errbuf, ld->errlen, "%s: out of memory", ld->name);
    return -ENOMEM;
}

static const char *
type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "nothing";
    }
}

/* Edit distance with transpositions (optimal string alignment), for "did you mean". Names
 * longer than 63 characters get INT_MAX: no suggestion. */
static int
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[64][64];

    if (la >= 64 || lb >= 64)
        return INT_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The closest of `count` names spaced `stride` bytes apart, if close enough to be a typo. */
static const char *
closest_name(const char *name, const void *names, size_t count, size_t stride)
{
    const char *best = NULL;
    int best_d = 3; /* suggest only at distance 1 or 2 */

    for (size_t i = 0; i < count; i++) {
        const char *cand = *(const char *const *)((const char *)names + i * stride);
        int dist = edit_distance(name, cand);
        if (dist < best_d && (size_t)dist < strlen(cand)) {
            best = cand;
            best_d = dist;
        }
    }
    return best;
}

/* ---- reading the literal behind an integer ---- */

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '*';
}

/* Does the integer literal at p (up to end) fit in an int? No literal there counts as yes. */
static bool
literal_fits_int(const char *p, const char *end)
{
    unsigned long long v = 0;
    bool is_negative = false;
    int base = 10, ndigits = 0;

    if (p < end && (*p == '-' || *p == '+'))
        is_negative = *p++ == '-';
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (; p < end; p++, ndigits++) {
        int digit;
        if (*p >= '0' && *p <= '9')
            digit = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            digit = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            digit = *p - 'A' + 10;
        else
            break;
        v = v * (unsigned)base + (unsigned)digit;
        if (v > (unsigned long long)INT_MAX + 1)
            return false;
    }
    if (ndigits == 0)
        return true;
    return is_negative ? v <= (unsigned long long)INT_MAX + 1 : v <= INT_MAX;
}

/* libconfig 1.5 stores an integer literal beyond 32 bits (without the L suffix) wrapped, and
 * says nothing: "port = 4294972356;" reads as 5060. So read the literal again from the
 * source line. A setting whose value is not on the line of its name is not checked. */
static bool
int_literal_fits(struct loader *ld, const config_setting_t *s)
{
    const char *name = config_setting_name(s);
    const char *text = source_text(ld, config_setting_source_file(s));
    unsigned int line = config_setting_source_line(s);
    const char *p, *end;
    size_t nlen;

    if (!name || !text || line == 0)
        return true;
    p = line_start(text, line);
    if (!p)
        return true;
    end = strchrnul(p, '\n');
    nlen = strlen(name);
    for (const char *q = p; q + nlen <= end; q++) {
        const char *r = q + nlen;
        if (memcmp(q, name, nlen) != 0 || (q > p && is_name_char(q[-1])) ||
            (r < end && is_name_char(*r)))
            continue;
        while (r < end && (*r == ' ' || *r == '\t'))
            r++;
        if (r == end || (*r != '=' && *r != ':'))
            continue;
        r++;
        while (r < end && (*r == ' ' || *r == '\t'))
            r++;
        return literal_fits_int(r, end);
    }
    return true;
}

/* ---- value checks ---- */

static bool
has_control_char(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return true;
    return false;
}

static const char *
check_nonempty(const char *v)
{
    return v[0] ? NULL : "must not be empty";
}

static bool
is_wildcard(const char *v)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (inet_pton(AF_INET, v, &a4) == 1)
        return a4.s_addr == htonl(INADDR_ANY);
    return inet_pton(AF_INET6, v, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
}

static const char *
check_ip(const char *v)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (inet_pton(AF_INET, v, &a4) == 1 || inet_pton(AF_INET6, v, &a6) == 1)
        return NULL;
    return "not an IPv4 or IPv6 address (host names are not resolved)";
}

static const char *
check_media_addr(const char *v)
{
    if (!v[0])
        return NULL;
    if (check_ip(v))
        return check_ip(v);
    if (is_wildcard(v))
        return "a wildcard address cannot be written into SDP; give the address peers send to";
    return NULL;
}

static const char *
check_trunk_name(const char *v)
{
    if (!v[0])
        return "must not be empty";
    for (; *v; v++)
        if (!is_name_char(*v) && *v != '.')
            return "may only contain letters, digits, '_', '-' and '.'";
    return NULL;
}

static const char *
check_country_code(const char *v)
{
    if (!v[0])
        return NULL;
    if (v[0] == '0')
        return "a country code does not start with 0";
    for (; *v; v++)
        if (*v < '0' || *v > '9')
            return "must be 1 to 3 digits";
    return NULL;
}

static const char *
check_even(long long v)
{
    return v % 2 ? "must be even (a channel takes an even port and the next)" : NULL;
}

static const char *
check_bitrate(long long v)
{
    return v % 2400 ? "is not a fax rate (a multiple of 2400)" : NULL;
}

/* ---- generic option loading ---- */

static int
load_int(struct loader *ld, const struct opt *opt, const config_setting_t *s, const char *option,
         void *field)
{
    const char *why;
    long long v;

    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return fail(ld, s, option, "expected an integer, got %s", type_name(s));
    if (config_setting_type(s) == CONFIG_TYPE_INT && !int_literal_fits(ld, s))
        return fail(ld, s, option, "does not fit in 32 bits (range %lld..%lld)", opt->min,
                    opt->max);
    v = config_setting_get_int64(s);
    if (v < opt->min || v > opt->max)
        return fail(ld, s, option, "%lld is out of range %lld..%lld", v, opt->min, opt->max);
    if (opt->check_int && (why = opt->check_int(v)))
        return fail(ld, s, option, "%lld %s", v, why);
    assert(opt->size == sizeof(int));
    *(int *)field = (int)v;
    return 0;
}

static int
load_string(struct loader *ld, const struct opt *opt, const config_setting_t *s, const char *option,
            void *field)
{
    const char *v, *why;
    size_t len;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ld, s, option, "expected a string, got %s", type_name(s));
    v = config_setting_get_string(s);
    len = strlen(v);
    if (len >= opt->size)
        return fail(ld, s, option, "too long (at most %zu bytes)", opt->size - 1);
    if (has_control_char(v))
        return fail(ld, s, option, "control characters are not allowed");
    if (opt->check_str && (why = opt->check_str(v)))
        return fail(ld, s, option, "\"%s\": %s", v, why);
    memcpy(field, v, len + 1);
    return 0;
}

static int
load_enum(struct loader *ld, const struct opt *opt, const config_setting_t *s, const char *option,
          void *field)
{
    char names[256] = "";
    const char *v;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ld, s, option, "expected a string, got %s", type_name(s));
    v = config_setting_get_string(s);
    for (const struct opt_enum *e = opt->names; e->name; e++) {
        if (strcmp(v, e->name) == 0) {
            assert(opt->size == sizeof(int));
            *(int *)field = e->value;
            return 0;
        }
        if (e != opt->names)
            (void)strncat(names, ", ", sizeof(names) - strlen(names) - 1);
        (void)strncat(names, e->name, sizeof(names) - strlen(names) - 1);
    }
    return fail(ld, s, option, "unknown value \"%s\" (one of: %s)", v, names);
}

static int
load_option(struct loader *ld, const struct opt *opt, const config_setting_t *s, const char *option,
            void *base)
{
    void *field = (char *)base + opt->offset;

    switch (opt->kind) {
    case OPT_INT:
        return load_int(ld, opt, s, option, field);
    case OPT_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return fail(ld, s, option, "expected true or false, got %s", type_name(s));
        assert(opt->size == sizeof(bool));
        *(bool *)field = config_setting_get_bool(s) != 0;
        return 0;
    case OPT_STRING:
        return load_string(ld, opt, s, option, field);
    case OPT_ENUM:
        return load_enum(ld, opt, s, option, field);
    case OPT_CUSTOM:
        return opt->parse(ld, s, option, base);
    }
    return -EINVAL;
}

/* Fill `base` from `group` (full name `gpath`) by the table `opts`: every member must be in
 * the table, and every required option must be there. Members are read in file order so
 * that the first mistake in the group is the one reported. */
static int
load_group(struct loader *ld, const config_setting_t *group, const char *gpath,
           const struct opt *opts, void *base)
{
    char option[CFG_OPTION_LEN];
    size_t nopts = 0;
    int r;

    if (!config_setting_is_group(group))
        return fail(ld, group, gpath, "expected a group { ... }, got %s", type_name(group));
    while (opts[nopts].name)
        nopts++;
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);
        const char *name = config_setting_name(s);
        const struct opt *opt = NULL;

        (void)snprintf(option, sizeof(option), "%s.%s", gpath, name);
        for (size_t k = 0; k < nopts && !opt; k++)
            if (strcmp(opts[k].name, name) == 0)
                opt = &opts[k];
        if (!opt) {
            const char *near = closest_name(name, &opts[0].name, nopts, sizeof(opts[0]));
            if (near)
                return fail(ld, s, option, "unknown option (did you mean %s.%s?)", gpath, near);
            return fail(ld, s, option, "unknown option");
        }
        r = load_option(ld, opt, s, option, base);
        if (r < 0)
            return r;
    }
    for (size_t k = 0; k < nopts; k++) {
        if (opts[k].is_required && !config_setting_get_member(group, opts[k].name)) {
            (void)snprintf(option, sizeof(option), "%s.%s", gpath, opts[k].name);
            return fail(ld, group, option, "required option missing");
        }
    }
    return 0;
}

/* A list of strings, as an array [ "a", "b" ] or a list ( "a", "b" ). */
static int
check_string_list(struct loader *ld, const config_setting_t *s, const char *option)
{
    char eopt[CFG_OPTION_LEN];

    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return fail(ld, s, option, "expected a list of strings [ \"...\", ... ], got %s",
                    type_name(s));
    if (config_setting_length(s) == 0)
        return fail(ld, s, option, "must not be empty");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            (void)snprintf(eopt, sizeof(eopt), "%s[%d]", option, i);
            return fail(ld, e, eopt, "expected a string, got %s", type_name(e));
        }
    }
    return 0;
}

/* ---- the option tables ---- */

static const struct opt_enum log_levels[] = {
    {"err", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO}, {"debug", LOG_DEBUG},     {NULL, 0},
};

static const struct opt_enum log_targets[] = {
    {"stderr", CFG_LOG_STDERR},
    {"syslog", CFG_LOG_SYSLOG},
    {NULL, 0},
};

static const struct opt_enum t38_ecs[] = {
    {"none", UA_T38_EC_NONE},
    {"redundancy", UA_T38_EC_REDUNDANCY},
    {"fec", UA_T38_EC_FEC},
    {NULL, 0},
};

static const struct opt_enum reinvites[] = {
    {"us", CFG_REINVITE_US},
    {"them", CFG_REINVITE_THEM},
    {"either", CFG_REINVITE_EITHER},
    {"none", CFG_REINVITE_NONE},
    {NULL, 0},
};

static const struct opt_enum srtp_modes[] = {
    {"off", UA_SRTP_OFF},
    {"optional", UA_SRTP_OPTIONAL},
    {"required", UA_SRTP_REQUIRED},
    {NULL, 0},
};

static const struct opt_enum transports[] = {
    {"udp", CFG_TRANSPORT_UDP},
    {"tcp", CFG_TRANSPORT_TCP},
    {"tls", CFG_TRANSPORT_TLS},
    {NULL, 0},
};

static const struct opt_enum number_types[] = {
    {"local", CFG_NUMBER_LOCAL},
    {"tollfree", CFG_NUMBER_TOLLFREE},
    {NULL, 0},
};

static int
parse_transports(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    struct cfg *cfg = base;
    char eopt[CFG_OPTION_LEN];
    int r = check_string_list(ld, s, option);

    if (r < 0)
        return r;
    cfg->sip_udp = false;
    cfg->sip_tcp = false;
    cfg->sip_tls = false;
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
        const char *v = config_setting_get_string(e);
        bool *flag = strcmp(v, "udp") == 0   ? &cfg->sip_udp
                     : strcmp(v, "tcp") == 0 ? &cfg->sip_tcp
                     : strcmp(v, "tls") == 0 ? &cfg->sip_tls
                                             : NULL;

        (void)snprintf(eopt, sizeof(eopt), "%s[%d]", option, i);
        if (!flag)
            return fail(ld, e, eopt, "unknown transport \"%s\" (one of: udp, tcp, tls)", v);
        if (*flag)
            return fail(ld, e, eopt, "\"%s\" is listed twice", v);
        *flag = true;
    }
    return 0;
}

static const struct opt server_opts[] = {
    O_STR(struct cfg, "var_dir", var_dir, check_nonempty, false),
    O_ENUM(struct cfg, "log_level", log_level, log_levels),
    O_ENUM(struct cfg, "log_target", log_target, log_targets),
    O_INT(struct cfg, "drain_timeout", drain_timeout_s, 0, 3600, NULL),
    {.name = NULL},
};

static const struct opt sip_opts[] = {
    O_STR(struct cfg, "listen", sip_listen, check_ip, false),
    O_INT(struct cfg, "port", sip_port, 1, 65535, NULL),
    O_CUSTOM("transports", parse_transports, false),
    O_INT(struct cfg, "tls_port", sip_tls_port, 1, 65535, NULL),
    O_STR(struct cfg, "tls_cert", sip_tls_cert, NULL, false),
    O_STR(struct cfg, "tls_key", sip_tls_key, NULL, false),
    O_STR(struct cfg, "tls_ca", sip_tls_ca, NULL, false),
    O_BOOL(struct cfg, "tls_verify_clients", sip_tls_verify_clients),
    O_STR(struct cfg, "user_agent", user_agent, check_nonempty, false),
    O_INT(struct cfg, "answer_delay_ms", answer_delay_ms, 0, 30000, NULL),
    O_INT(struct cfg, "retry_after", retry_after_s, 1, 3600, NULL),
    O_INT(struct cfg, "max_sdp_bytes", max_sdp_bytes, 512, UA_SDP_MAX_BODY, NULL),
    {.name = NULL},
};

static const struct opt media_opts[] = {
    O_INT(struct cfg, "threads", media_threads, 0, CFG_MAX_THREADS, NULL),
    O_INT(struct cfg, "tick_ms", tick_ms, 5, 100, NULL),
    O_STR(struct cfg, "address", media_addr, check_media_addr, false),
    O_INT(struct cfg, "port_min", port_min, 1024, 65534, check_even),
    O_INT(struct cfg, "port_max", port_max, 1025, 65535, NULL),
    O_INT(struct cfg, "speedup", speedup, 1, 20, NULL),
    {.name = NULL},
};

static const struct opt limits_opts[] = {
    O_INT(struct cfg, "max_channels", max_channels, 1, 100000, NULL),
    {.name = NULL},
};

static const struct opt t38_opts[] = {
    O_BOOL(struct cfg, "enabled", sdp.t38_enabled),
    O_INT(struct cfg, "version", sdp.t38.version, 0, 3, NULL),
    O_INT(struct cfg, "max_bitrate", sdp.t38.max_bitrate, 2400, 33600, check_bitrate),
    O_INT(struct cfg, "max_buffer", sdp.t38.max_buffer, 0, 65535, NULL),
    O_INT(struct cfg, "max_datagram", sdp.t38.max_datagram, 100, 1500, NULL),
    O_ENUM(struct cfg, "ec", sdp.t38.ec, t38_ecs),
    O_BOOL(struct cfg, "prefer", sdp.prefer_t38),
    O_INT(struct cfg, "redundancy_control", udptl_redundancy_control, 0, 8, NULL),
    O_INT(struct cfg, "redundancy_image", udptl_redundancy_image, 0, 8, NULL),
    O_INT(struct cfg, "fec_span", udptl_fec_span, 1, 8, NULL),
    O_INT(struct cfg, "fec_entries", udptl_fec_entries, 1, 3, NULL),
    {.name = NULL},
};

static const char *
check_fax_rate(long long v)
{
    return v % 2400 == 0 && v <= 14400 && v != 0 ? NULL
                                                 : "must be 2400, 4800, 7200, 9600, 12000 or 14400";
}

static const char *
check_ident(const char *v)
{
    if (strlen(v) > 20)
        return "at most 20 characters (T.30 station identifier)";
    for (const char *p = v; *p; p++)
        if (!(*p >= '0' && *p <= '9') && *p != '+' && *p != ' ')
            return "only digits, '+' and spaces (T.30 station identifier)";
    return NULL;
}

static const char *
check_header(const char *v)
{
    return strlen(v) > 50 ? "at most 50 characters" : NULL;
}

static const struct opt fax_opts[] = {
    O_STR(struct cfg, "ident", fax_ident, check_ident, false),
    O_STR(struct cfg, "header", fax_header, check_header, false),
    O_BOOL(struct cfg, "ecm", fax_ecm),
    O_INT(struct cfg, "max_rate", fax_max_rate, 2400, 14400, check_fax_rate),
    O_BOOL(struct cfg, "fine", fax_fine),
    O_BOOL(struct cfg, "superfine", fax_superfine),
    O_INT(struct cfg, "inactivity_timeout", fax_inactivity_s, 5, 600, NULL),
    O_INT(struct cfg, "t38_timeout", fax_t38_timeout_s, 5, 600, NULL),
    {.name = NULL},
};

static const struct opt audio_opts[] = {
    O_BOOL(struct cfg, "pcmu", sdp.pcmu),
    O_BOOL(struct cfg, "pcma", sdp.pcma),
    O_INT(struct cfg, "jitter_delay", audio_jitter_delay_ms, 0, 200, NULL),
    {.name = NULL},
};

static int
parse_sources(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    struct cfg_trunk *trunk = base;
    char eopt[CFG_OPTION_LEN];
    int r = check_string_list(ld, s, option);

    if (r < 0)
        return r;
    if (config_setting_length(s) > CFG_MAX_SOURCES)
        return fail(ld, s, option, "too many sources (at most %d)", CFG_MAX_SOURCES);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
        const char *v = config_setting_get_string(e);

        (void)snprintf(eopt, sizeof(eopt), "%s[%d]", option, i);
        if (cfg_parse_cidr(v, &trunk->sources[i]) < 0)
            return fail(ld, e, eopt,
                        "\"%s\" is not an address or network (a.b.c.d[/0-32] or an IPv6 "
                        "address[/0-128], no address bits set after the prefix)",
                        v);
    }
    trunk->nsources = config_setting_length(s);
    return 0;
}

/* "a.b.c.d:port" or "[v6]:port": an address literal, no DNS (the resolver must not block). */
static const char *
check_proxy(const char *v)
{
    char host[UA_SDP_ADDR_LEN];
    const char *colon;
    if (!v[0])
        return NULL;
    if (v[0] == '[') {
        const char *end = strchr(v, ']');
        if (!end || end[1] != ':' || (size_t)(end - v - 1) >= sizeof(host))
            return "expected \"[IPv6]:port\"";
        memcpy(host, v + 1, (size_t)(end - v - 1));
        host[end - v - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= sizeof(host))
            return "expected \"a.b.c.d:port\"";
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
    }
    if (check_ip(host))
        return "the host must be an IP address literal";
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return "the port must be 1..65535";
    return NULL;
}

static int
parse_caller_id(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    struct cfg_trunk *trunk = base;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ld, s, option, "expected a string, got %s", type_name(s));
    const char *v = config_setting_get_string(s);
    if (v[0] && cfg_normalize_number(v, trunk->caller_id, sizeof(trunk->caller_id)) < 0)
        return fail(ld, s, option, "\"%s\" is not an E.164 number", v);
    return 0;
}

/* The older spelling of transport = "tcp", kept so existing files still load. */
static int
parse_proxy_tcp(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    struct cfg_trunk *trunk = base;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return fail(ld, s, option, "expected true or false, got %s", type_name(s));
    if (config_setting_get_bool(s))
        trunk->transport = CFG_TRANSPORT_TCP;
    return 0;
}

static const struct opt trunk_opts[] = {
    O_STR(struct cfg_trunk, "name", name, check_trunk_name, true),
    O_CUSTOM("sources", parse_sources, true),
    O_STR(struct cfg_trunk, "username", username, NULL, false),
    O_STR(struct cfg_trunk, "password", password, NULL, false),
    O_STR(struct cfg_trunk, "realm", realm, NULL, false),
    O_STR(struct cfg_trunk, "country_code", country_code, check_country_code, false),
    O_ENUM(struct cfg_trunk, "t38_reinvite", t38_reinvite, reinvites),
    O_INT(struct cfg_trunk, "t38_reinvite_delay_ms", t38_reinvite_delay_ms, 0, 60000, NULL),
    O_BOOL(struct cfg_trunk, "t38", t38_enabled),
    O_BOOL(struct cfg_trunk, "t38_in_invite", t38_in_invite),
    O_ENUM(struct cfg_trunk, "srtp", srtp, srtp_modes),
    O_STR(struct cfg_trunk, "proxy", proxy, check_proxy, false),
    O_CUSTOM("proxy_tcp", parse_proxy_tcp, false),
    O_ENUM(struct cfg_trunk, "transport", transport, transports),
    O_CUSTOM("caller_id", parse_caller_id, false),
    O_INT(struct cfg_trunk, "max_channels", max_channels, 0, 100000, NULL),
    O_INT(struct cfg_trunk, "calls_per_second", calls_per_s, 0, 10000, NULL),
    {.name = NULL},
};

static int
parse_number(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    struct cfg_number *num = base;
    const char *v;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ld, s, option, "expected a string, got %s", type_name(s));
    v = config_setting_get_string(s);
    /* cfg_normalize_number() drops URI parameters, which have no place in the file. */
    if (strchr(v, ';') || cfg_normalize_number(v, num->number, sizeof(num->number)) < 0)
        return fail(ld, s, option,
                    "\"%s\" is not an E.164 number (an optional '+' and at most 15 digits; "
                    "spaces, '-', '.', '(' and ')' are ignored)",
                    v);
    if (num->number[0] == '0')
        return fail(ld, s, option, "\"%s\": an E.164 number does not start with 0", v);
    return 0;
}

static int
parse_number_trunk(struct loader *ld, const config_setting_t *s, const char *option, void *base)
{
    const struct cfg_routes *routes = &ld->cfg->routes;
    struct cfg_number *num = base;
    const char *v;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ld, s, option, "expected a string, got %s", type_name(s));
    v = config_setting_get_string(s);
    num->trunk = -1;
    if (!v[0])
        return 0;
    for (int i = 0; i < routes->ntrunks; i++) {
        if (strcmp(routes->trunks[i].name, v) == 0) {
            num->trunk = i;
            return 0;
        }
    }
    return fail(ld, s, option, "unknown trunk \"%s\"", v);
}

static const struct opt number_opts[] = {
    O_CUSTOM("number", parse_number, true),
    O_ENUM(struct cfg_number, "type", type, number_types),
    O_STR(struct cfg_number, "owner", owner, NULL, false),
    O_CUSTOM("trunk", parse_number_trunk, false),
    {.name = NULL},
};

/* ---- defaults: keep in step with etc/inkless.conf (the test compares them) ---- */

static void
set_defaults(struct cfg *cfg)
{
    *cfg = (struct cfg){
        .var_dir = "./var",
        .log_level = LOG_INFO,
        .log_target = CFG_LOG_STDERR,
        .drain_timeout_s = 60,
        .sip_listen = "127.0.0.1",
        .sip_port = 5060,
        .sip_udp = true,
        .sip_tcp = true,
        .sip_tls = false,
        .sip_tls_port = 5061,
        .sip_tls_cert = "",
        .sip_tls_key = "",
        .sip_tls_ca = "",
        .sip_tls_verify_clients = false,
        .user_agent = "inkless/0.1",
        .answer_delay_ms = 0,
        .retry_after_s = 5,
        .max_sdp_bytes = 8192,
        .media_threads = 0,
        .tick_ms = 20,
        .media_addr = "",
        .port_min = 20000,
        .port_max = 29999,
        .speedup = 1,
        .max_channels = 256,
        .fax_ident = "",
        .fax_header = "",
        .fax_ecm = true,
        .fax_max_rate = 14400,
        .fax_fine = true,
        .fax_superfine = true,
        .fax_inactivity_s = 30,
        .fax_t38_timeout_s = 60,
        .audio_jitter_delay_ms = 60,
        .out_max_attempts = 5,
        .out_retry_base_s = 60,
        .out_retry_max_s = 3600,
        .out_max_age_s = 86400,
        .out_fallback_ecm_off = true,
        .out_fallback_9600 = true,
        .out_max_channels = 0,
        .out_ring_timeout_s = 60,
        .out_max_pages = 200,
        .out_max_document_mb = 64,
        .out_max_megapixels = 36,
        .out_convert_timeout_s = 120,
        .udptl_redundancy_control = 3,
        .udptl_redundancy_image = 2,
        .udptl_fec_span = 3,
        .udptl_fec_entries = 3,
        .sdp =
            {
                .t38_enabled = true,
                .prefer_t38 = true,
                .pcmu = true,
                .pcma = true,
                .t38 =
                    {
                        .version = 0,
                        .max_bitrate = 14400,
                        .rate_management = UA_T38_RATE_TRANSFERRED_TCF,
                        .max_buffer = 2000,
                        .max_datagram = 400,
                        .ec = UA_T38_EC_REDUNDANCY,
                    },
            },
    };
}

static void
set_trunk_defaults(struct cfg_trunk *trunk)
{
    *trunk = (struct cfg_trunk){
        .country_code = "",
        .t38_reinvite = CFG_REINVITE_EITHER,
        .t38_reinvite_delay_ms = 1000,
        .t38_enabled = true,
        .t38_in_invite = true,
        .transport = CFG_TRANSPORT_UDP,
    };
}

/* ---- trunks and numbers ---- */

static int
load_trunks(struct loader *ld, const config_setting_t *list)
{
    struct cfg_routes *routes = &ld->cfg->routes;
    char path[CFG_OPTION_LEN];
    int n = config_setting_length(list), r;

    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail(ld, list, "trunks", "expected a list ( { ... }, ... ), got %s",
                    type_name(list));
    routes->trunks = calloc((size_t)n + 1, sizeof(*routes->trunks));
    if (!routes->trunks)
        return fail_oom(ld);
    for (int i = 0; i < n; i++) {
        const config_setting_t *elem = config_setting_get_elem(list, (unsigned int)i);
        struct cfg_trunk *trunk = &routes->trunks[i];

        (void)snprintf(path, sizeof(path), "trunks[%d]", i);
        set_trunk_defaults(trunk);
        r = load_group(ld, elem, path, trunk_opts, trunk);
        if (r < 0)
            return r;
        routes->ntrunks = i + 1;
        for (int j = 0; j < i; j++) {
            if (strcmp(routes->trunks[j].name, trunk->name) == 0) {
                const config_setting_t *first = config_setting_get_member(
                    config_setting_get_elem(list, (unsigned int)j), "name");
                (void)snprintf(path, sizeof(path), "trunks[%d].name", i);
                return fail(ld, config_setting_get_member(elem, "name"), path,
                            "duplicate trunk name \"%s\" (first at line %u)", trunk->name,
                            config_setting_source_line(first));
            }
        }
        if (config_setting_get_member(elem, "proxy_tcp") &&
            config_setting_get_member(elem, "transport")) {
            (void)snprintf(path, sizeof(path), "trunks[%d].proxy_tcp", i);
            return fail(ld, config_setting_get_member(elem, "proxy_tcp"), path,
                        "give either proxy_tcp or transport, not both (proxy_tcp = true is "
                        "transport = \"tcp\")");
        }
        if (trunk->password[0] && !trunk->username[0]) {
            (void)snprintf(path, sizeof(path), "trunks[%d].password", i);
            return fail(ld, config_setting_get_member(elem, "password"), path,
                        "a password needs a username");
        }
    }
    return 0;
}

static int
cmp_number(const void *a, const void *b)
{
    const struct cfg_number *x = a, *y = b;

    return strcmp(x->number, y->number);
}

/* By number, then by position in the file (the array), so the first of equals comes first. */
static int
cmp_number_ptr(const void *a, const void *b)
{
    const struct cfg_number *x = *(const struct cfg_number *const *)a;
    const struct cfg_number *y = *(const struct cfg_number *const *)b;
    int c = strcmp(x->number, y->number);

    return c ? c : (x > y) - (x < y);
}

/* Find the first number (in file order) that repeats an earlier one. Returns its index and
 * sets *ret_first to the earlier one's, or returns -1. -ENOMEM is reported as -2. */
static int
find_duplicate_number(const struct cfg_routes *routes, int *ret_first)
{
    const struct cfg_number **v;
    int found = -1, group = 0;

    if (routes->nnumbers < 2)
        return -1;
    v = malloc((size_t)routes->nnumbers * sizeof(*v));
    if (!v)
        return -2;
    for (int i = 0; i < routes->nnumbers; i++)
        v[i] = &routes->numbers[i];
    qsort(v, (size_t)routes->nnumbers, sizeof(*v), cmp_number_ptr);
    for (int i = 1; i < routes->nnumbers; i++) {
        if (strcmp(v[i]->number, v[group]->number) != 0) {
            group = i;
            continue;
        }
        if (found < 0 || v[i] - routes->numbers < found) {
            found = (int)(v[i] - routes->numbers);
            *ret_first = (int)(v[group] - routes->numbers);
        }
    }
    free(v);
    return found;
}

static int
load_numbers(struct loader *ld, const config_setting_t *list)
{
    struct cfg_routes *routes = &ld->cfg->routes;
    char path[CFG_OPTION_LEN];
    int n = config_setting_length(list), r, dup, first = 0;

    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail(ld, list, "numbers", "expected a list ( { ... }, ... ), got %s",
                    type_name(list));
    routes->numbers = calloc((size_t)n + 1, sizeof(*routes->numbers));
    if (!routes->numbers)
        return fail_oom(ld);
    for (int i = 0; i < n; i++) {
        const config_setting_t *elem = config_setting_get_elem(list, (unsigned int)i);
        struct cfg_number *num = &routes->numbers[i];

        (void)snprintf(path, sizeof(path), "numbers[%d]", i);
        *num = (struct cfg_number){.type = CFG_NUMBER_LOCAL, .trunk = -1};
        r = load_group(ld, elem, path, number_opts, num);
        if (r < 0)
            return r;
        routes->nnumbers = i + 1;
    }
    dup = find_duplicate_number(routes, &first);
    if (dup == -2)
        return fail_oom(ld);
    if (dup >= 0) {
        const config_setting_t *s =
            config_setting_get_member(config_setting_get_elem(list, (unsigned int)dup), "number");
        const config_setting_t *f =
            config_setting_get_member(config_setting_get_elem(list, (unsigned int)first), "number");
        (void)snprintf(path, sizeof(path), "numbers[%d].number", dup);
        return fail(ld, s, path, "duplicate number +%s (first at line %u)",
                    routes->numbers[dup].number, config_setting_source_line(f));
    }
    qsort(routes->numbers, (size_t)n, sizeof(*routes->numbers), cmp_number);
    return 0;
}

/* ---- whole-file checks ---- */

/* The first of `names` present in the file: its setting and name. Options left at their
 * defaults have no line; a mistake in a combination is reported at one the user wrote. */
static const config_setting_t *
first_present(const struct loader *ld, const char *const *names, const char **ret_name)
{
    for (; *names; names++) {
        const config_setting_t *s = config_lookup(ld->conf, *names);
        if (s) {
            *ret_name = *names;
            return s;
        }
    }
    *ret_name = names[-1];
    return NULL;
}

static int
check_combinations(struct loader *ld)
{
    static const char *const range_names[] = {"media.port_max", "media.port_min",
                                              "limits.max_channels", NULL};
    static const char *const sip_port_names[] = {"sip.port", "media.port_min", "media.port_max",
                                                 NULL};
    static const char *const media_names[] = {"audio.pcmu", "audio.pcma", "t38.enabled", NULL};
    struct cfg *cfg = ld->cfg;
    const config_setting_t *s;
    const char *name;
    int pairs;

    if (is_wildcard(cfg->sip_listen) && !cfg->media_addr[0])
        return fail(ld, config_lookup(ld->conf, "sip.listen"), "sip.listen",
                    "wildcard address \"%s\" needs media.address (the address written into SDP)",
                    cfg->sip_listen);
    if (cfg->port_min > cfg->port_max) {
        s = first_present(ld, range_names, &name);
        return fail(ld, s, name, "media port range %d..%d is inverted", cfg->port_min,
                    cfg->port_max);
    }
    pairs = (cfg->port_max - cfg->port_min + 1) / 2;
    if (pairs < cfg->max_channels) {
        s = first_present(ld, range_names, &name);
        return fail(ld, s, name,
                    "media ports %d..%d give %d channels (2 ports each), fewer than "
                    "limits.max_channels = %d",
                    cfg->port_min, cfg->port_max, pairs, cfg->max_channels);
    }
    if ((!cfg->media_addr[0] || strcmp(cfg->media_addr, cfg->sip_listen) == 0) &&
        cfg->sip_port >= cfg->port_min && cfg->sip_port <= cfg->port_max) {
        s = first_present(ld, sip_port_names, &name);
        return fail(ld, s, name, "SIP port %d lies inside the media port range %d..%d",
                    cfg->sip_port, cfg->port_min, cfg->port_max);
    }
    if (!cfg->sdp.pcmu && !cfg->sdp.pcma && !cfg->sdp.t38_enabled) {
        s = first_present(ld, media_names, &name);
        return fail(ld, s, name, "no media left: enable audio.pcmu, audio.pcma or t38.enabled");
    }
    if (!cfg->sdp.pcmu && !cfg->sdp.pcma) {
        for (int i = 0; i < cfg->routes.ntrunks; i++) {
            char path[CFG_OPTION_LEN];
            if (cfg->routes.trunks[i].t38_enabled)
                continue;
            s = config_setting_get_elem(config_lookup(ld->conf, "trunks"), (unsigned int)i);
            (void)snprintf(path, sizeof(path), "trunks[%d].t38", i);
            return fail(ld, config_setting_get_member(s, "t38"), path,
                        "no media left on this trunk: audio.pcmu and audio.pcma are off too");
        }
    }
    return 0;
}

/* A file the daemon will read at startup (TLS certificate, key, CA), checked now so that a
 * typo is reported with the option's line rather than as a TLS failure later. Opening it is
 * the only honest readability test (access() answers for the real uid). */
static int
check_readable_file(struct loader *ld, const char *option, const char *path)
{
    const config_setting_t *s = config_lookup(ld->conf, option);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return fail(ld, s, option, "\"%s\": cannot read: %s", path, strerror(errno));
    int r = fstat(fd, &st);
    (void)close(fd);
    if (r < 0 || !S_ISREG(st.st_mode))
        return fail(ld, s, option, "\"%s\": not a regular file", path);
    return 0;
}

/* sip.transports with "tls": a certificate and key are needed, TLS takes its own TCP port,
 * and a trunk that dials over TLS needs the TLS transport. */
static int
check_tls(struct loader *ld)
{
    static const char *const tls_port_names[] = {"sip.tls_port", "sip.port", "sip.transports",
                                                 NULL};
    static const char *const range_names[] = {"sip.tls_port", "media.port_min", "media.port_max",
                                              NULL};
    struct cfg *cfg = ld->cfg;
    const config_setting_t *s;
    const char *name;
    int r;

    for (int i = 0; i < cfg->routes.ntrunks && !cfg->sip_tls; i++) {
        char path[CFG_OPTION_LEN];
        if (cfg->routes.trunks[i].transport != CFG_TRANSPORT_TLS)
            continue;
        s = config_setting_get_elem(config_lookup(ld->conf, "trunks"), (unsigned int)i);
        (void)snprintf(path, sizeof(path), "trunks[%d].transport", i);
        return fail(ld, config_setting_get_member(s, "transport"), path,
                    "\"tls\" needs \"tls\" in sip.transports (and its certificate)");
    }
    if (!cfg->sip_tls)
        return 0;
    s = config_lookup(ld->conf, "sip.transports");
    if (!cfg->sip_tls_cert[0])
        return fail(ld, s, "sip.transports",
                    "\"tls\" needs sip.tls_cert (our certificate, a PEM file)");
    if (!cfg->sip_tls_key[0])
        return fail(ld, s, "sip.transports",
                    "\"tls\" needs sip.tls_key (the certificate's private key, a PEM file)");
    if (cfg->sip_tls_verify_clients && !cfg->sip_tls_ca[0])
        return fail(ld, config_lookup(ld->conf, "sip.tls_verify_clients"), "sip.tls_verify_clients",
                    "needs sip.tls_ca (the CA client certificates are "
                    "checked against)");
    if ((r = check_readable_file(ld, "sip.tls_cert", cfg->sip_tls_cert)) < 0 ||
        (r = check_readable_file(ld, "sip.tls_key", cfg->sip_tls_key)) < 0)
        return r;
    if (cfg->sip_tls_ca[0] && (r = check_readable_file(ld, "sip.tls_ca", cfg->sip_tls_ca)) < 0)
        return r;
    if (cfg->sip_tcp && cfg->sip_tls_port == cfg->sip_port) {
        s = first_present(ld, tls_port_names, &name);
        return fail(ld, s, name, "TLS and TCP both listen on port %d: give sip.tls_port another",
                    cfg->sip_port);
    }
    if ((!cfg->media_addr[0] || strcmp(cfg->media_addr, cfg->sip_listen) == 0) &&
        cfg->sip_tls_port >= cfg->port_min && cfg->sip_tls_port <= cfg->port_max) {
        s = first_present(ld, range_names, &name);
        return fail(ld, s, name, "SIP TLS port %d lies inside the media port range %d..%d",
                    cfg->sip_tls_port, cfg->port_min, cfg->port_max);
    }
    return 0;
}

/* Top-level groups in the order they are read: trunks before numbers, which name them. */
static const struct opt outbound_opts[] = {
    O_INT(struct cfg, "max_attempts", out_max_attempts, 1, 100, NULL),
    O_INT(struct cfg, "retry_base", out_retry_base_s, 1, 86400, NULL),
    O_INT(struct cfg, "retry_max", out_retry_max_s, 1, 604800, NULL),
    O_INT(struct cfg, "max_age", out_max_age_s, 60, 31536000, NULL),
    O_BOOL(struct cfg, "fallback_ecm_off", out_fallback_ecm_off),
    O_BOOL(struct cfg, "fallback_9600", out_fallback_9600),
    O_INT(struct cfg, "max_channels", out_max_channels, 0, 100000, NULL),
    O_INT(struct cfg, "ring_timeout", out_ring_timeout_s, 5, 600, NULL),
    O_INT(struct cfg, "max_pages", out_max_pages, 1, 10000, NULL),
    O_INT(struct cfg, "max_document_mb", out_max_document_mb, 1, 4096, NULL),
    O_INT(struct cfg, "max_megapixels", out_max_megapixels, 1, 1000, NULL),
    O_INT(struct cfg, "convert_timeout", out_convert_timeout_s, 1, 3600, NULL),
    {.name = NULL},
};

static const struct section {
    const char *name;
    const struct opt *opts; /* NULL: a list with its own loader */
    int (*load)(struct loader *ld, const config_setting_t *list);
} sections[] = {
    {"server", server_opts, NULL},   {"sip", sip_opts, NULL},
    {"media", media_opts, NULL},     {"limits", limits_opts, NULL},
    {"t38", t38_opts, NULL},         {"audio", audio_opts, NULL},
    {"fax", fax_opts, NULL},         {"trunks", NULL, load_trunks},
    {"numbers", NULL, load_numbers}, {"outbound", outbound_opts, NULL},
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static int
load_root(struct loader *ld)
{
    const config_setting_t *root = config_root_setting(ld->conf);
    int r;

    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned int)i);
        const char *name = config_setting_name(s), *near;
        bool is_known = false;

        for (size_t k = 0; k < NSECTIONS && !is_known; k++)
            is_known = strcmp(sections[k].name, name) == 0;
        if (is_known)
            continue;
        near = closest_name(name, &sections[0].name, NSECTIONS, sizeof(sections[0]));
        if (near)
            return fail(ld, s, name, "unknown group (did you mean %s?)", near);
        return fail(ld, s, name, "unknown group");
    }
    for (size_t k = 0; k < NSECTIONS; k++) {
        const config_setting_t *s = config_setting_get_member(root, sections[k].name);
        if (!s)
            continue;
        if (sections[k].opts)
            r = load_group(ld, s, sections[k].name, sections[k].opts, ld->cfg);
        else
            r = sections[k].load(ld, s);
        if (r < 0)
            return r;
    }
    return 0;
}

static struct cfg *
load_config(struct loader *ld, const config_t *conf)
{
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    long ncpu;

    if (!cfg) {
        (void)fail_oom(ld);
        return NULL;
    }
    ld->conf = conf;
    ld->cfg = cfg;
    set_defaults(cfg);
    (void)snprintf(cfg->path, sizeof(cfg->path), "%s", ld->name);
    if (load_root(ld) < 0 || check_combinations(ld) < 0 || check_tls(ld) < 0) {
        cfg_free(cfg);
        return NULL;
    }
    if (!cfg->media_addr[0])
        memcpy(cfg->media_addr, cfg->sip_listen, sizeof(cfg->media_addr));
    if (cfg->media_threads == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->media_threads = ncpu < 1 ? 1 : ncpu > CFG_MAX_THREADS ? CFG_MAX_THREADS : (int)ncpu;
    }
    return cfg;
}

static void
loader_release(struct loader *ld)
{
    for (int i = 0; i < ld->nsrc; i++) {
        free(ld->src[i].file);
        free(ld->src[i].text);
    }
    ld->nsrc = 0;
}

static void
report_parse_error(struct loader *ld, const config_t *conf)
{
    char buf[CFG_PATH_LEN + CFG_NAME_LEN];
    const char *file = file_name(ld, config_error_file(conf), buf, sizeof(buf));

    if (!ld->errbuf || ld->errlen == 0)
        return;
    if (config_error_type(conf) == CONFIG_ERR_FILE_IO)
        (void)snprintf(ld->errbuf, ld->errlen, "%s: cannot read: %s", file,
                       config_error_text(conf));
    else
        (void)snprintf(ld->errbuf, ld->errlen, "%s:%d: %s", file, config_error_line(conf),
                       config_error_text(conf));
}

struct cfg *
cfg_load(const char *path, char *errbuf, size_t errlen)
{
    struct loader ld = {.name = path, .errbuf = errbuf, .errlen = errlen};
    char dir[CFG_PATH_LEN];
    const char *slash;
    struct cfg *cfg = NULL;
    struct stat st;
    config_t conf;
    FILE *f;
    int err;

    if (errbuf && errlen > 0)
        errbuf[0] = '\0';
    if (strlen(path) >= CFG_PATH_LEN) {
        if (errbuf && errlen > 0)
            (void)snprintf(errbuf, errlen, "%.64s...: path too long", path);
        return NULL;
    }
    /* libconfig reports only "file I/O error"; open it first to say why. */
    f = fopen(path, "r");
    err = f ? 0 : errno;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        err = EISDIR;
    if (f)
        (void)fclose(f);
    if (err) {
        if (errbuf && errlen > 0)
            (void)snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(err));
        return NULL;
    }

    config_init(&conf);
    config_set_auto_convert(&conf, CONFIG_FALSE);
    /* @include "x.conf" is relative to the directory of the including file. */
    slash = strrchr(path, '/');
    if (slash) {
        memcpy(dir, path, (size_t)(slash - path)); /* shorter than CFG_PATH_LEN, checked above */
        dir[slash - path] = '\0';
        ld.include_dir = slash == path ? "/" : dir;
        config_set_include_dir(&conf, ld.include_dir);
    }
    if (config_read_file(&conf, path) != CONFIG_TRUE)
        report_parse_error(&ld, &conf);
    else
        cfg = load_config(&ld, &conf);
    config_destroy(&conf);
    loader_release(&ld);
    return cfg;
}

struct cfg *
cfg_load_text(const char *name, const char *text, char *errbuf, size_t errlen)
{
    struct loader ld = {.name = name, .text = text, .errbuf = errbuf, .errlen = errlen};
    struct cfg *cfg = NULL;
    config_t conf;

    if (errbuf && errlen > 0)
        errbuf[0] = '\0';
    config_init(&conf);
    config_set_auto_convert(&conf, CONFIG_FALSE);
    if (config_read_string(&conf, text) != CONFIG_TRUE)
        report_parse_error(&ld, &conf);
    else
        cfg = load_config(&ld, &conf);
    config_destroy(&conf);
    loader_release(&ld);
    return cfg;
}

void
cfg_free_routes(struct cfg_routes *routes)
{
    if (!routes)
        return;
    free(routes->trunks);
    free(routes->numbers);
    free(routes);
}

void
cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->routes.trunks);
    free(cfg->routes.numbers);
    free(cfg);
}

struct cfg_routes *
cfg_take_routes(struct cfg *cfg)
{
    struct cfg_routes *routes = malloc(sizeof(*routes));

    if (!routes)
        return NULL;
    *routes = cfg->routes;
    cfg->routes = (struct cfg_routes){0};
    return routes;
}

/* ---- numbers ---- */

int
cfg_normalize_number(const char *in, char *ret_out, size_t outlen)
{
    bool has_plus = false;
    size_t n = 0;

    if (outlen > 0)
        ret_out[0] = '\0';
    for (const char *p = in; *p && *p != ';'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == 15)
                return -EINVAL;
            if (n + 1 >= outlen)
                return -ENOSPC;
            ret_out[n++] = *p;
        } else if (*p == '+' && n == 0 && !has_plus) {
            has_plus = true;
        } else if (*p != '-' && *p != '.' && *p != '(' && *p != ')' && *p != ' ') {
            ret_out[0] = '\0';
            return -EINVAL;
        }
    }
    if (n == 0)
        return -EINVAL;
    ret_out[n] = '\0';
    return (int)n;
}

static int
cmp_key_number(const void *key, const void *elem)
{
    const struct cfg_number *num = elem;

    return strcmp(key, num->number);
}

const struct cfg_number *
cfg_find_number(const struct cfg_routes *routes, const char *digits, const char *country_code)
{
    char full[CFG_NUMBER_LEN];
    const struct cfg_number *num;
    size_t cclen, dlen;

    if (routes->nnumbers == 0)
        return NULL;
    num = bsearch(digits, routes->numbers, (size_t)routes->nnumbers, sizeof(*routes->numbers),
                  cmp_key_number);
    if (num || !country_code || !country_code[0])
        return num;
    cclen = strlen(country_code);
    dlen = strlen(digits);
    if (cclen + dlen > 15)
        return NULL;
    memcpy(full, country_code, cclen);
    memcpy(full + cclen, digits, dlen + 1);
    return bsearch(full, routes->numbers, (size_t)routes->nnumbers, sizeof(*routes->numbers),
                   cmp_key_number);
}

/* ---- addresses ---- */

static bool
cidr_contains(const struct cfg_cidr *net, const struct in6_addr *addr)
{
    int bits = net->prefix;

    for (int i = 0; bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((net->addr.s6_addr[i] ^ addr->s6_addr[i]) & mask)
            return false;
    }
    return true;
}

const struct cfg_trunk *
cfg_find_trunk(const struct cfg_routes *routes, const struct in6_addr *addr)
{
    for (int i = 0; i < routes->ntrunks; i++) {
        const struct cfg_trunk *trunk = &routes->trunks[i];
        for (int k = 0; k < trunk->nsources; k++)
            if (cidr_contains(&trunk->sources[k], addr))
                return trunk;
    }
    return NULL;
}

int
cfg_parse_cidr(const char *text, struct cfg_cidr *ret_cidr)
{
    char host[INET6_ADDRSTRLEN];
    const char *slash = strchr(text, '/');
    size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
    struct in_addr a4;
    struct cfg_cidr net;
    int max, prefix;

    if (hlen == 0 || hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &a4) == 1) {
        /* ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so one comparison covers both families */
        net.addr = (struct in6_addr){.s6_addr = {[10] = 0xff, [11] = 0xff}};
        memcpy(&net.addr.s6_addr[12], &a4, 4);
        max = 32;
    } else if (inet_pton(AF_INET6, host, &net.addr) == 1) {
        max = 128;
    } else {
        return -EINVAL;
    }
    prefix = max;
    if (slash) {
        const char *p = slash + 1;
        /* 1 to 3 decimal digits, nothing else: no sign, no space, no hex */
        if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
            return -EINVAL;
        prefix = atoi(p);
        if (prefix > max)
            return -EINVAL;
    }
    net.prefix = prefix + 128 - max;
    for (int bit = net.prefix; bit < 128; bit++)
        if (net.addr.s6_addr[bit / 8] & (0x80 >> (bit % 8)))
            return -EINVAL;
    *ret_cidr = net;
    return 0;
}
