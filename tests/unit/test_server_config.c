/* SPDX-License-Identifier: GPL-2.0-or-later */
/* server/config.c: the sample etc/inkless.conf, defaults, every kind of mistake with its exact
 * "FILE:LINE: OPTION: message", CIDR parsing and matching, number normalisation and lookup.
 * Config files are written into a fresh temporary directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

#define SAMPLE_CONF TESTDATA_DIR "/../../etc/inkless.conf"

static char tmpdir[256];
static char conf_path[512]; /* tmpdir/t.conf: what load_conf() writes */

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        perror(path);
        exit(1);
    }
    (void)fputs(text, f);
    (void)fclose(f);
}

static struct cfg *
load_conf(const char *text, char *err, size_t errlen)
{
    write_file(conf_path, text);
    return cfg_load(conf_path, err, errlen);
}

/* The file must be refused, and the message must start "PATH:" followed by `tail`
 * ("LINE: OPTION: message" or the start of it). Reports the caller's line. */
static void
expect_error(int line, const char *text, const char *tail)
{
    char err[1024], want[1024];
    struct cfg *cfg = load_conf(text, err, sizeof(err));

    (void)snprintf(want, sizeof(want), "%s:%s", conf_path, tail);
    if (cfg) {
        fprintf(stderr, "%s:%d: config was accepted, expected error \"%s\"\n", __FILE__, line,
                want);
        check_failures++;
        cfg_free(cfg);
        return;
    }
    if (strncmp(err, want, strlen(want)) != 0) {
        fprintf(stderr, "%s:%d: error\n  \"%s\"\nexpected to start with\n  \"%s\"\n", __FILE__,
                line, err, want);
        check_failures++;
    }
}
#define EXPECT_ERROR(text, tail) expect_error(__LINE__, text, tail)

static void
expect_ok(int line, const char *text)
{
    char err[1024];
    struct cfg *cfg = load_conf(text, err, sizeof(err));

    if (!cfg) {
        fprintf(stderr, "%s:%d: config refused: %s\n", __FILE__, line, err);
        check_failures++;
    }
    cfg_free(cfg);
}
#define EXPECT_OK(text) expect_ok(__LINE__, text)

static int
expected_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static struct in6_addr
addr(const char *text)
{
    struct in6_addr a6 = {0};
    struct in_addr a4;

    if (inet_pton(AF_INET, text, &a4) == 1) {
        a6.s6_addr[10] = 0xff;
        a6.s6_addr[11] = 0xff;
        memcpy(&a6.s6_addr[12], &a4, 4);
    } else if (inet_pton(AF_INET6, text, &a6) != 1) {
        fprintf(stderr, "bad test address %s\n", text);
        exit(1);
    }
    return a6;
}

/* Every option other than routes and path, compared one by one. */
static void
check_same_globals(const struct cfg *a, const struct cfg *b)
{
    CHECK_STR(a->var_dir, b->var_dir);
    CHECK_INT(a->log_level, b->log_level);
    CHECK_INT(a->log_target, b->log_target);
    CHECK_INT(a->drain_timeout_s, b->drain_timeout_s);
    CHECK_STR(a->sip_listen, b->sip_listen);
    CHECK_INT(a->sip_port, b->sip_port);
    CHECK_INT(a->sip_udp, b->sip_udp);
    CHECK_INT(a->sip_tcp, b->sip_tcp);
    CHECK_INT(a->sip_tls, b->sip_tls);
    CHECK_INT(a->sip_tls_port, b->sip_tls_port);
    CHECK_STR(a->sip_tls_cert, b->sip_tls_cert);
    CHECK_STR(a->sip_tls_key, b->sip_tls_key);
    CHECK_STR(a->sip_tls_ca, b->sip_tls_ca);
    CHECK_INT(a->sip_tls_verify_clients, b->sip_tls_verify_clients);
    CHECK_STR(a->user_agent, b->user_agent);
    CHECK_INT(a->answer_delay_ms, b->answer_delay_ms);
    CHECK_INT(a->retry_after_s, b->retry_after_s);
    CHECK_INT(a->max_sdp_bytes, b->max_sdp_bytes);
    CHECK_INT(a->media_threads, b->media_threads);
    CHECK_INT(a->tick_ms, b->tick_ms);
    CHECK_STR(a->media_addr, b->media_addr);
    CHECK_INT(a->port_min, b->port_min);
    CHECK_INT(a->port_max, b->port_max);
    CHECK_INT(a->max_channels, b->max_channels);
    CHECK_INT(a->sdp.t38_enabled, b->sdp.t38_enabled);
    CHECK_INT(a->sdp.prefer_t38, b->sdp.prefer_t38);
    CHECK_INT(a->sdp.pcmu, b->sdp.pcmu);
    CHECK_INT(a->sdp.pcma, b->sdp.pcma);
    CHECK_INT(a->sdp.t38.version, b->sdp.t38.version);
    CHECK_INT(a->sdp.t38.max_bitrate, b->sdp.t38.max_bitrate);
    CHECK_INT(a->sdp.t38.max_buffer, b->sdp.t38.max_buffer);
    CHECK_INT(a->sdp.t38.max_datagram, b->sdp.t38.max_datagram);
    CHECK_INT(a->sdp.t38.ec, b->sdp.t38.ec);
    CHECK_INT(a->sdp.t38.rate_management, b->sdp.t38.rate_management);
    CHECK_INT(a->sdp.t38.fill_bit_removal, b->sdp.t38.fill_bit_removal);
    CHECK_INT(a->sdp.t38.max_ifp, b->sdp.t38.max_ifp);
}

static void
test_defaults(void)
{
    char err[1024];
    struct cfg *cfg = load_conf("# nothing but a comment\n", err, sizeof(err));

    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(cfg->path, conf_path);
    CHECK_STR(cfg->var_dir, "./var");
    CHECK_INT(cfg->log_level, LOG_INFO);
    CHECK_INT(cfg->log_target, CFG_LOG_STDERR);
    CHECK_INT(cfg->drain_timeout_s, 60);
    CHECK_STR(cfg->sip_listen, "127.0.0.1");
    CHECK_INT(cfg->sip_port, 5060);
    CHECK(cfg->sip_udp);
    CHECK(cfg->sip_tcp);
    CHECK_STR(cfg->user_agent, "inkless/0.1");
    CHECK_INT(cfg->answer_delay_ms, 0);
    CHECK_INT(cfg->retry_after_s, 5);
    CHECK_INT(cfg->max_sdp_bytes, 8192);
    CHECK_INT(cfg->media_threads, expected_threads());
    CHECK_INT(cfg->tick_ms, 20);
    CHECK_STR(cfg->media_addr, "127.0.0.1");
    CHECK_INT(cfg->port_min, 20000);
    CHECK_INT(cfg->port_max, 29999);
    CHECK_INT(cfg->max_channels, 256);
    CHECK_INT(cfg->out_max_attempts, 5);
    CHECK_INT(cfg->out_retry_base_s, 60);
    CHECK_INT(cfg->out_retry_max_s, 3600);
    CHECK_INT(cfg->out_max_age_s, 86400);
    CHECK(cfg->out_fallback_ecm_off);
    CHECK(cfg->out_fallback_9600);
    CHECK_INT(cfg->out_max_channels, 0);
    CHECK_INT(cfg->out_ring_timeout_s, 60);
    CHECK_INT(cfg->out_max_pages, 200);
    CHECK_INT(cfg->out_max_document_mb, 64);
    CHECK_INT(cfg->out_max_megapixels, 36);
    CHECK_INT(cfg->out_convert_timeout_s, 120);
    CHECK(cfg->sdp.t38_enabled);
    CHECK(cfg->sdp.prefer_t38);
    CHECK(cfg->sdp.pcmu);
    CHECK(cfg->sdp.pcma);
    CHECK_INT(cfg->sdp.t38.version, 0);
    CHECK_INT(cfg->sdp.t38.max_bitrate, 14400);
    CHECK_INT(cfg->sdp.t38.max_buffer, 2000);
    CHECK_INT(cfg->sdp.t38.max_datagram, 400);
    CHECK_INT(cfg->sdp.t38.ec, UA_T38_EC_REDUNDANCY);
    CHECK_INT(cfg->sdp.t38.rate_management, UA_T38_RATE_TRANSFERRED_TCF);
    CHECK(!cfg->sdp.t38.fill_bit_removal);
    CHECK_INT(cfg->routes.ntrunks, 0);
    CHECK_INT(cfg->routes.nnumbers, 0);
    CHECK(cfg_find_number(&cfg->routes, "15551230001", "1") == NULL);
    cfg_free(cfg);

    /* a trunk and a number with only the required options */
    cfg = load_conf("trunks = ( { name = \"t\"; sources = [ \"10.0.0.0/8\" ]; } );\n"
                    "numbers = ( { number = \"+442071234567\"; } );\n",
                    err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(cfg->routes.ntrunks, 1);
    CHECK_STR(cfg->routes.trunks[0].name, "t");
    CHECK_INT(cfg->routes.trunks[0].nsources, 1);
    CHECK_STR(cfg->routes.trunks[0].username, "");
    CHECK_STR(cfg->routes.trunks[0].password, "");
    CHECK_STR(cfg->routes.trunks[0].realm, "");
    CHECK_STR(cfg->routes.trunks[0].country_code, "");
    CHECK_INT(cfg->routes.trunks[0].t38_reinvite, CFG_REINVITE_EITHER);
    CHECK_INT(cfg->routes.trunks[0].t38_reinvite_delay_ms, 1000);
    CHECK(cfg->routes.trunks[0].t38_enabled);
    CHECK_INT(cfg->routes.nnumbers, 1);
    CHECK_STR(cfg->routes.numbers[0].number, "442071234567");
    CHECK_INT(cfg->routes.numbers[0].type, CFG_NUMBER_LOCAL);
    CHECK_STR(cfg->routes.numbers[0].owner, "");
    CHECK_INT(cfg->routes.numbers[0].trunk, -1);
    cfg_free(cfg);
}

static void
test_sample(void)
{
    static const char *const options[] = {
        "var_dir",
        "log_level",
        "log_target",
        "drain_timeout",
        "listen",
        "port",
        "transports",
        "tls_port",
        "tls_cert",
        "tls_key",
        "tls_ca",
        "tls_verify_clients",
        "user_agent",
        "answer_delay_ms",
        "retry_after",
        "max_sdp_bytes",
        "threads",
        "tick_ms",
        "address",
        "port_min",
        "port_max",
        "max_channels",
        "enabled",
        "version",
        "max_bitrate",
        "max_buffer",
        "max_datagram",
        "ec",
        "prefer",
        "pcmu",
        "pcma",
        "name",
        "sources",
        "username",
        "password",
        "realm",
        "country_code",
        "t38_reinvite",
        "t38_reinvite_delay_ms",
        "t38",
        "proxy",
        "transport",
        "caller_id",
        "number",
        "type",
        "owner",
        "trunk",
    };
    char err[1024], line[256];
    struct cfg *cfg = cfg_load(SAMPLE_CONF, err, sizeof(err)), *dflt;
    const struct cfg_routes *routes;
    struct in6_addr a;
    FILE *f;

    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(cfg->sip_listen, "127.0.0.1");
    CHECK_INT(cfg->sip_port, 5060);
    CHECK(cfg->sip_udp);
    CHECK(cfg->sip_tcp);
    CHECK_STR(cfg->var_dir, "./var");
    routes = &cfg->routes;
    CHECK_INT(routes->ntrunks, 1);
    CHECK_STR(routes->trunks[0].name, "local");
    CHECK_INT(routes->trunks[0].nsources, 2);
    CHECK_STR(routes->trunks[0].country_code, "1");
    a = addr("127.0.0.1");
    CHECK(cfg_find_trunk(routes, &a) == &routes->trunks[0]);
    a = addr("::1");
    CHECK(cfg_find_trunk(routes, &a) == &routes->trunks[0]);
    a = addr("127.0.0.2");
    CHECK(cfg_find_trunk(routes, &a) == NULL);
    CHECK_INT(routes->nnumbers, 2);
    if (routes->nnumbers == 2) {
        CHECK_STR(routes->numbers[0].number, "15551230001");
        CHECK_INT(routes->numbers[0].type, CFG_NUMBER_LOCAL);
        CHECK_INT(routes->numbers[0].trunk, 0);
        CHECK_STR(routes->numbers[1].number, "18005550100");
        CHECK_INT(routes->numbers[1].type, CFG_NUMBER_TOLLFREE);
        CHECK_INT(routes->numbers[1].trunk, -1);
    }

    /* The sample sets every option to its default: loading it must give what an empty file
     * gives, or the documentation and the code disagree. */
    dflt = load_conf("", err, sizeof(err));
    CHECK(dflt != NULL);
    if (dflt)
        check_same_globals(cfg, dflt);
    cfg_free(dflt);
    cfg_free(cfg);

    /* and every option appears in it */
    f = fopen(SAMPLE_CONF, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        bool is_found = false;
        char want[80];
        (void)snprintf(want, sizeof(want), " %s = ", options[i]);
        rewind(f);
        while (!is_found && fgets(line, sizeof(line), f))
            is_found = line[0] != '#' && strstr(line, want) && !strchr(line, '#');
        if (!is_found) {
            fprintf(stderr, "option %s is not set in %s\n", options[i], SAMPLE_CONF);
            check_failures++;
        }
    }
    (void)fclose(f);
}

static void
test_file_errors(void)
{
    char err[1024], want[1024], path[600];
    struct cfg *cfg;

    (void)snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
    cfg = cfg_load(path, err, sizeof(err));
    CHECK(cfg == NULL);
    (void)snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
    CHECK_STR(err, want);

    cfg = cfg_load(tmpdir, err, sizeof(err));
    CHECK(cfg == NULL);
    (void)snprintf(want, sizeof(want), "%s: cannot open: %s", tmpdir, strerror(EISDIR));
    CHECK_STR(err, want);

    /* no error buffer: still refused, nothing written */
    write_file(conf_path, "bogus = 1;\n");
    CHECK(cfg_load(conf_path, NULL, 0) == NULL);

    /* an error in an included file names that file; @include is relative to our directory */
    (void)snprintf(path, sizeof(path), "%s/inc.conf", tmpdir);
    write_file(path, "# included\nprot = 5060;\n");
    write_file(conf_path, "sip = {\n@include \"inc.conf\"\n};\n");
    cfg = cfg_load(conf_path, err, sizeof(err));
    CHECK(cfg == NULL);
    (void)snprintf(want, sizeof(want), "%s:2: sip.prot: unknown option (did you mean sip.port?)",
                   path);
    CHECK_STR(err, want);
    write_file(path, "port = 5070;\n");
    cfg = cfg_load(conf_path, err, sizeof(err));
    CHECK(cfg != NULL);
    if (cfg)
        CHECK_INT(cfg->sip_port, 5070);
    cfg_free(cfg);
    (void)unlink(path);
    EXPECT_ERROR("@include \"inc.conf\"\n", "1: cannot open include file");
}

static void
test_syntax_and_names(void)
{
    EXPECT_ERROR("sip = {\n  port = ;\n};\n", "2: syntax error");
    EXPECT_ERROR("sip = {\n  port = 1;\n  port = 2;\n};\n", "3: duplicate setting name");
    EXPECT_ERROR("sip = {\n  listen = \"::1\";\n  prot = 5060;\n};\n",
                 "3: sip.prot: unknown option (did you mean sip.port?)");
    EXPECT_ERROR("media = {\n  frobnicate = 1;\n};\n", "2: media.frobnicate: unknown option");
    EXPECT_ERROR("\n\nsipp = {\n  port = 5060;\n};\n",
                 "3: sipp: unknown group (did you mean sip?)");
    EXPECT_ERROR("sip = {};\nfoo = 1;\n", "2: foo: unknown group");
    EXPECT_ERROR("trunk = ();\n", "1: trunk: unknown group (did you mean trunks?)");
    EXPECT_ERROR("sip = 5;\n", "1: sip: expected a group { ... }, got an integer");
    EXPECT_ERROR(
        "trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n  source = [ \"::1\" ]; } );\n",
        "2: trunks[0].source: unknown option (did you mean trunks[0].sources?)");
    EXPECT_ERROR("numbers = (\n  { number = \"+15551230001\";\n    onwer = \"x\"; }\n);\n",
                 "3: numbers[0].onwer: unknown option (did you mean numbers[0].owner?)");
}

static void
test_types_and_ranges(void)
{
    EXPECT_ERROR("sip = {\n  port = \"5060\";\n};\n",
                 "2: sip.port: expected an integer, got a string");
    EXPECT_ERROR("sip = {\n  port = 0;\n};\n", "2: sip.port: 0 is out of range 1..65535");
    EXPECT_ERROR("sip = {\n  port = 70000;\n};\n", "2: sip.port: 70000 is out of range 1..65535");
    EXPECT_ERROR("sip = {\n  port = -1;\n};\n", "2: sip.port: -1 is out of range 1..65535");
    /* libconfig 1.5 would wrap these to 5060 and 0 */
    EXPECT_ERROR("sip = {\n  port = 4294972356;\n};\n",
                 "2: sip.port: does not fit in 32 bits (range 1..65535)");
    EXPECT_ERROR("sip = {\n  port = 0x100000000;\n};\n",
                 "2: sip.port: does not fit in 32 bits (range 1..65535)");
    EXPECT_ERROR("sip = {\n  port = 4294972356L;\n};\n",
                 "2: sip.port: 4294972356 is out of range 1..65535");
    EXPECT_OK("sip = { port = 5070L; };\n");
    EXPECT_OK("sip = { port = 0x13c4; };\n");
    EXPECT_OK("sip = { port : 5060; }; # port = 99999999999\n");
    EXPECT_ERROR("media = {\n  tick_ms = 20.0;\n};\n",
                 "2: media.tick_ms: expected an integer, got a float");
    EXPECT_ERROR("media = {\n  tick_ms = 4;\n};\n", "2: media.tick_ms: 4 is out of range 5..100");
    EXPECT_ERROR("media = {\n  tick_ms = 101;\n};\n",
                 "2: media.tick_ms: 101 is out of range 5..100");
    EXPECT_OK("media = { tick_ms = 5; };\n");
    EXPECT_OK("media = { tick_ms = 100; };\n");
    EXPECT_ERROR("media = {\n  threads = 257;\n};\n",
                 "2: media.threads: 257 is out of range 0..256");
    EXPECT_ERROR("limits = {\n  max_channels = 0;\n};\n",
                 "2: limits.max_channels: 0 is out of range 1..100000");
    EXPECT_ERROR("limits = {\n  max_channels = 100001;\n};\n",
                 "2: limits.max_channels: 100001 is out of range 1..100000");
    EXPECT_ERROR("t38 = {\n  enabled = \"yes\";\n};\n",
                 "2: t38.enabled: expected true or false, got a string");
    EXPECT_ERROR("audio = {\n  pcmu = 1;\n};\n",
                 "2: audio.pcmu: expected true or false, got an integer");
    EXPECT_ERROR("t38 = {\n  max_bitrate = 10000;\n};\n",
                 "2: t38.max_bitrate: 10000 is not a fax rate (a multiple of 2400)");
    EXPECT_ERROR("t38 = {\n  version = 4;\n};\n", "2: t38.version: 4 is out of range 0..3");
    EXPECT_ERROR("t38 = {\n  max_datagram = 99;\n};\n",
                 "2: t38.max_datagram: 99 is out of range 100..1500");
    EXPECT_ERROR("sip = {\n  max_sdp_bytes = 16385;\n};\n",
                 "2: sip.max_sdp_bytes: 16385 is out of range 512..16384");
    EXPECT_ERROR("server = {\n  var_dir = \"\";\n};\n",
                 "2: server.var_dir: \"\": must not be empty");
    EXPECT_ERROR("server = {\n  var_dir = 5;\n};\n",
                 "2: server.var_dir: expected a string, got an integer");
    EXPECT_ERROR("sip = {\n  user_agent = "
                 "\"0123456789012345678901234567890123456789012345678901234567890123\";\n};\n",
                 "2: sip.user_agent: too long (at most 63 bytes)");
    EXPECT_ERROR("sip = {\n  user_agent = \"evil\\r\\nVia: x\";\n};\n",
                 "2: sip.user_agent: control characters are not allowed");
}

static void
test_enums(void)
{
    EXPECT_ERROR("server = {\n  log_level = \"verbose\";\n};\n",
                 "2: server.log_level: unknown value \"verbose\" (one of: err, warning, notice, "
                 "info, debug)");
    EXPECT_ERROR("server = {\n  log_target = \"file\";\n};\n",
                 "2: server.log_target: unknown value \"file\" (one of: stderr, syslog)");
    EXPECT_ERROR("t38 = {\n  ec = \"parity\";\n};\n",
                 "2: t38.ec: unknown value \"parity\" (one of: none, redundancy, fec)");
    EXPECT_ERROR("t38 = {\n  ec = 1;\n};\n", "2: t38.ec: expected a string, got an integer");
    EXPECT_ERROR("trunks = ( {\n  name = \"a\"; sources = [ \"::1\" ];\n"
                 "  t38_reinvite = \"sometimes\"; } );\n",
                 "3: trunks[0].t38_reinvite: unknown value \"sometimes\" (one of: us, them, "
                 "either, none)");
    EXPECT_ERROR("numbers = ( {\n  number = \"+15551230001\";\n  type = \"premium\"; } );\n",
                 "3: numbers[0].type: unknown value \"premium\" (one of: local, tollfree)");

    char err[1024];
    struct cfg *cfg = load_conf("server = { log_level = \"debug\"; log_target = \"syslog\"; };\n"
                                "t38 = { ec = \"fec\"; };\n"
                                "trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n"
                                "             t38_reinvite = \"none\"; } );\n"
                                "numbers = ( { number = \"+18005550100\"; type = \"tollfree\"; "
                                "} );\n",
                                err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(cfg->log_level, LOG_DEBUG);
    CHECK_INT(cfg->log_target, CFG_LOG_SYSLOG);
    CHECK_INT(cfg->sdp.t38.ec, UA_T38_EC_FEC);
    CHECK_INT(cfg->routes.trunks[0].t38_reinvite, CFG_REINVITE_NONE);
    CHECK_INT(cfg->routes.numbers[0].type, CFG_NUMBER_TOLLFREE);
    cfg_free(cfg);
}

static void
test_sip_and_media(void)
{
    char err[1024];
    struct cfg *cfg;

    EXPECT_ERROR("sip = {\n  transports = [ \"udp\", \"sctp\" ];\n};\n",
                 "2: sip.transports[1]: unknown transport \"sctp\" (one of: udp, tcp, tls)");
    EXPECT_ERROR("sip = {\n  transports = [ \"udp\",\n    \"udp\" ];\n};\n",
                 "3: sip.transports[1]: \"udp\" is listed twice");
    EXPECT_ERROR("sip = {\n  transports = [ ];\n};\n", "2: sip.transports: must not be empty");
    EXPECT_ERROR("sip = {\n  transports = \"udp\";\n};\n",
                 "2: sip.transports: expected a list of strings [ \"...\", ... ], got a string");
    EXPECT_ERROR("sip = {\n  transports = ( \"udp\", 5 );\n};\n",
                 "2: sip.transports[1]: expected a string, got an integer");
    cfg = load_conf("sip = { transports = [ \"tcp\" ]; };\n", err, sizeof(err));
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK(!cfg->sip_udp);
        CHECK(cfg->sip_tcp);
    }
    cfg_free(cfg);

    EXPECT_ERROR("sip = {\n  listen = \"localhost\";\n};\n",
                 "2: sip.listen: \"localhost\": not an IPv4 or IPv6 address");
    EXPECT_ERROR("sip = {\n  listen = \"0.0.0.0\";\n};\n",
                 "2: sip.listen: wildcard address \"0.0.0.0\" needs media.address");
    EXPECT_ERROR("sip = {\n  listen = \"::\";\n};\n",
                 "2: sip.listen: wildcard address \"::\" needs media.address");
    EXPECT_ERROR("media = {\n  address = \"0.0.0.0\";\n};\n",
                 "2: media.address: \"0.0.0.0\": a wildcard address cannot be written into SDP");
    EXPECT_ERROR("media = {\n  address = \"192.0.2.300\";\n};\n",
                 "2: media.address: \"192.0.2.300\": not an IPv4 or IPv6 address");
    cfg = load_conf("sip = { listen = \"::\"; };\nmedia = { address = \"2001:db8::5\"; };\n", err,
                    sizeof(err));
    CHECK(cfg != NULL);
    if (cfg)
        CHECK_STR(cfg->media_addr, "2001:db8::5");
    cfg_free(cfg);

    /* media ports: even start, not inverted, room for max_channels pairs */
    EXPECT_ERROR("media = {\n  port_min = 20001;\n};\n", "2: media.port_min: 20001 must be even");
    EXPECT_ERROR("media = {\n  port_min = 30000;\n  port_max = 20001;\n};\n",
                 "3: media.port_max: media port range 30000..20001 is inverted");
    EXPECT_ERROR("media = {\n  port_min = 30000;\n};\n",
                 "2: media.port_min: media port range 30000..29999 is inverted");
    EXPECT_ERROR("media = {\n  port_min = 20000;\n  port_max = 20009;\n};\n",
                 "3: media.port_max: media ports 20000..20009 give 5 channels (2 ports each), "
                 "fewer than limits.max_channels = 256");
    EXPECT_ERROR("limits = {\n  max_channels = 5001;\n};\n",
                 "2: limits.max_channels: media ports 20000..29999 give 5000 channels");
    EXPECT_OK("limits = { max_channels = 5000; };\n");
    /* an even port_max leaves the last port unused: 10 ports, 5 pairs, not 6 */
    EXPECT_OK("media = { port_min = 20000; port_max = 20010; };\nlimits = { max_channels = 5; "
              "};\n");
    EXPECT_ERROR("media = { port_min = 20000; port_max = 20010; };\nlimits = {\n  max_channels = "
                 "6; };\n",
                 "1: media.port_max: media ports 20000..20010 give 5 channels");
    EXPECT_ERROR("sip = {\n  port = 20002;\n};\n",
                 "2: sip.port: SIP port 20002 lies inside the media port range 20000..29999");
    EXPECT_OK("sip = { port = 20002; };\nmedia = { address = \"127.0.0.2\"; };\n");

    EXPECT_ERROR(
        "audio = {\n  pcmu = false;\n  pcma = false;\n};\nt38 = {\n  enabled = false;\n};\n",
        "2: audio.pcmu: no media left: enable audio.pcmu, audio.pcma or t38.enabled");
    EXPECT_OK("audio = { pcmu = false; pcma = false; };\n");
    EXPECT_ERROR("audio = { pcmu = false; pcma = false; };\n"
                 "trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n   t38 = false; } );\n",
                 "3: trunks[0].t38: no media left on this trunk");
}

static void
test_trunks(void)
{
    EXPECT_ERROR("trunks = (\n  {\n    name = \"a\";\n    sources = [ \"127.0.0.1\",\n"
                 "                \"1.2.3.4/33\" ];\n  }\n);\n",
                 "5: trunks[0].sources[1]: \"1.2.3.4/33\" is not an address or network");
    /* the last element of a list, alone on its line (libconfig 1.5 gives it line 8) */
    EXPECT_ERROR("trunks = (\n  { name = \"a\";\n    sources = [\n      \"::1\",\n"
                 "      \"10.0.0.0/33\"\n\n      # comment\n    ]; }\n);\n",
                 "5: trunks[0].sources[1]: \"10.0.0.0/33\" is not an address or network");
    EXPECT_ERROR("trunks = (\n  { name = \"a\";\n    sources = [ \"10.1.2.3/8\" ]; }\n);\n",
                 "3: trunks[0].sources[0]: \"10.1.2.3/8\" is not an address or network");
    EXPECT_ERROR("trunks = (\n  { name = \"a\";\n    sources = [ ]; }\n);\n",
                 "3: trunks[0].sources: must not be empty");
    EXPECT_ERROR("trunks = (\n  { name = \"a\"; sources = [ \"::1\" ]; },\n  {\n"
                 "    name = \"b\";\n  }\n);\n",
                 "3: trunks[1].sources: required option missing");
    EXPECT_ERROR("trunks = (\n  {\n    sources = [ \"::1\" ];\n  }\n);\n",
                 "2: trunks[0].name: required option missing");
    EXPECT_ERROR("trunks = (\n  { name = \"carrier1\"; sources = [ \"::1\" ]; },\n"
                 "  { name = \"carrier2\"; sources = [ \"::2\" ]; },\n"
                 "  { name = \"carrier1\"; sources = [ \"::3\" ]; }\n);\n",
                 "4: trunks[2].name: duplicate trunk name \"carrier1\" (first at line 2)");
    EXPECT_ERROR("trunks = (\n  { name = \"a b\"; sources = [ \"::1\" ]; }\n);\n",
                 "2: trunks[0].name: \"a b\": may only contain letters, digits");
    EXPECT_ERROR("trunks = (\n  { name = \"\"; sources = [ \"::1\" ]; }\n);\n",
                 "2: trunks[0].name: \"\": must not be empty");
    EXPECT_ERROR("trunks = {\n  name = \"a\";\n};\n",
                 "1: trunks: expected a list ( { ... }, ... ), got a group");
    EXPECT_ERROR("trunks = (\n  \"a\"\n);\n",
                 "2: trunks[0]: expected a group { ... }, got a string");
    EXPECT_ERROR("trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n  password = \"s\"; } );\n",
                 "2: trunks[0].password: a password needs a username");
    EXPECT_ERROR(
        "trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n  country_code = \"01\"; } );\n",
        "2: trunks[0].country_code: \"01\": a country code does not start with 0");
    EXPECT_ERROR(
        "trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n  country_code = \"1a\"; } );\n",
        "2: trunks[0].country_code: \"1a\": must be 1 to 3 digits");
    EXPECT_ERROR("trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n  country_code = \"1234\"; } "
                 ");\n",
                 "2: trunks[0].country_code: too long (at most 3 bytes)");
    EXPECT_ERROR("trunks = ( { name = \"a\"; sources = [ \"::1\" ];\n"
                 "  t38_reinvite_delay_ms = 60001; } );\n",
                 "2: trunks[0].t38_reinvite_delay_ms: 60001 is out of range 0..60000");

    /* 65 sources */
    char text[4096] = "trunks = ( { name = \"a\";\n sources = [ \"::1\"";
    for (int i = 0; i < 64; i++)
        (void)strncat(text, ", \"::1\"", sizeof(text) - strlen(text) - 1);
    (void)strncat(text, " ]; } );\n", sizeof(text) - strlen(text) - 1);
    EXPECT_ERROR(text, "2: trunks[0].sources: too many sources (at most 64)");

    /* every option of a trunk, and first match in file order */
    char err[1024];
    struct cfg *cfg =
        load_conf("trunks = (\n"
                  "  { name = \"wide\"; sources = [ \"10.0.0.0/8\", \"2001:db8::/32\" ];\n"
                  "    username = \"u\"; password = \"p\"; realm = \"r\"; country_code = \"44\";\n"
                  "    t38_reinvite = \"us\"; t38_reinvite_delay_ms = 0; t38 = false; },\n"
                  "  { name = \"narrow\"; sources = [ \"10.1.0.0/16\", \"192.0.2.1\" ];\n"
                  "    t38_reinvite = \"them\"; }\n"
                  ");\n",
                  err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const struct cfg_routes *routes = &cfg->routes;
    const struct cfg_trunk *wide = &routes->trunks[0], *narrow = &routes->trunks[1];
    struct in6_addr a;
    CHECK_STR(wide->username, "u");
    CHECK_STR(wide->password, "p");
    CHECK_STR(wide->realm, "r");
    CHECK_STR(wide->country_code, "44");
    CHECK_INT(wide->t38_reinvite, CFG_REINVITE_US);
    CHECK_INT(wide->t38_reinvite_delay_ms, 0);
    CHECK(!wide->t38_enabled);
    CHECK_INT(narrow->t38_reinvite, CFG_REINVITE_THEM);
    a = addr("10.1.2.3");
    CHECK(cfg_find_trunk(routes, &a) == wide);
    a = addr("192.0.2.1");
    CHECK(cfg_find_trunk(routes, &a) == narrow);
    a = addr("::ffff:192.0.2.1");
    CHECK(cfg_find_trunk(routes, &a) == narrow);
    a = addr("2001:db8:1::7");
    CHECK(cfg_find_trunk(routes, &a) == wide);
    a = addr("192.0.2.2");
    CHECK(cfg_find_trunk(routes, &a) == NULL);
    cfg_free(cfg);
}

static void
test_numbers(void)
{
    EXPECT_ERROR("numbers = (\n  { number = \"abc\"; }\n);\n",
                 "2: numbers[0].number: \"abc\" is not an E.164 number");
    EXPECT_ERROR("numbers = (\n  { number = \"+1555123000123456\"; }\n);\n",
                 "2: numbers[0].number: \"+1555123000123456\" is not an E.164 number");
    EXPECT_ERROR("numbers = (\n  { number = \"\"; }\n);\n",
                 "2: numbers[0].number: \"\" is not an E.164 number");
    EXPECT_ERROR("numbers = (\n  { number = \"+15551230001;npdi\"; }\n);\n",
                 "2: numbers[0].number: \"+15551230001;npdi\" is not an E.164 number");
    EXPECT_ERROR("numbers = (\n  { number = \"0201234567\"; }\n);\n",
                 "2: numbers[0].number: \"0201234567\": an E.164 number does not start with 0");
    EXPECT_ERROR("numbers = (\n  { number = 15551230001L; }\n);\n",
                 "2: numbers[0].number: expected a string, got an integer");
    EXPECT_ERROR("numbers = (\n  { type = \"local\"; }\n);\n",
                 "2: numbers[0].number: required option missing");
    EXPECT_ERROR("numbers = (\n  { number = \"+15551230001\"; },\n"
                 "  { number = \"+15551230002\"; },\n  { number = \"1 (555) 123-0001\"; }\n);\n",
                 "4: numbers[2].number: duplicate number +15551230001 (first at line 2)");
    /* the first repeat in file order is reported, whatever the sort order */
    EXPECT_ERROR("numbers = (\n  { number = \"+19995550000\"; },\n"
                 "  { number = \"+15551230001\"; },\n  { number = \"+15551230001\"; },\n"
                 "  { number = \"+19995550000\"; }\n);\n",
                 "4: numbers[2].number: duplicate number +15551230001 (first at line 3)");
    EXPECT_ERROR("trunks = ( { name = \"a\"; sources = [ \"::1\" ]; } );\n"
                 "numbers = (\n  { number = \"+15551230001\";\n    trunk = \"b\"; }\n);\n",
                 "4: numbers[0].trunk: unknown trunk \"b\"");
    EXPECT_ERROR("numbers = (\n  { number = \"+15551230001\"; trunk = \"a\"; }\n);\n",
                 "2: numbers[0].trunk: unknown trunk \"a\"");
    /* numbers may come before the trunks they name */
    EXPECT_OK("numbers = ( { number = \"+15551230001\"; trunk = \"a\"; } );\n"
              "trunks = ( { name = \"a\"; sources = [ \"::1\" ]; } );\n");
    EXPECT_OK("numbers = ( );\ntrunks = ( );\n");
}

static void
test_load_text(void)
{
    char err[256];
    struct cfg *cfg = cfg_load_text("<builtin>", "sip = {\n  prot = 1;\n};\n", err, sizeof(err));

    CHECK(cfg == NULL);
    CHECK_STR(err, "<builtin>:2: sip.prot: unknown option (did you mean sip.port?)");
    cfg = cfg_load_text("<builtin>", "sip = {\n  port = 4294972356;\n};\n", err, sizeof(err));
    CHECK(cfg == NULL);
    CHECK_STR(err, "<builtin>:2: sip.port: does not fit in 32 bits (range 1..65535)");
    cfg = cfg_load_text("<builtin>", "x = \"unterminated;\n", err, sizeof(err));
    CHECK(cfg == NULL);
    CHECK_CONTAINS(err, "<builtin>:");
    CHECK_CONTAINS(err, "syntax error");
    cfg = cfg_load_text("<builtin>", "sip = { port = 5080; };\n", err, sizeof(err));
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_INT(cfg->sip_port, 5080);
        CHECK_STR(cfg->path, "<builtin>");
    }
    cfg_free(cfg);
    /* a message longer than the buffer is cut, and still terminated */
    cfg = cfg_load_text("<builtin>", "sipp = 1;\n", err, 8);
    CHECK(cfg == NULL);
    CHECK_STR(err, "<builti");
}

static void
check_cidr(int line, const char *text, int want_r, const char *want_addr, int want_prefix)
{
    struct cfg_cidr net = {.prefix = -1};
    int r = cfg_parse_cidr(text, &net);
    struct in6_addr a;

    if (r != want_r) {
        fprintf(stderr, "%s:%d: cfg_parse_cidr(\"%s\") = %d, expected %d\n", __FILE__, line, text,
                r, want_r);
        check_failures++;
        return;
    }
    if (r < 0)
        return;
    a = addr(want_addr);
    if (memcmp(&a, &net.addr, sizeof(a)) != 0 || net.prefix != want_prefix) {
        char got[INET6_ADDRSTRLEN];
        (void)inet_ntop(AF_INET6, &net.addr, got, sizeof(got));
        fprintf(stderr, "%s:%d: cfg_parse_cidr(\"%s\") = %s/%d, expected %s/%d\n", __FILE__, line,
                text, got, net.prefix, want_addr, want_prefix);
        check_failures++;
    }
}
#define CHECK_CIDR(text, r, a, p) check_cidr(__LINE__, text, r, a, p)

/* Does a one-source trunk on `net` contain `host`? */
static bool
matches(const char *net, const char *host)
{
    struct cfg_trunk trunk = {.nsources = 1};
    struct cfg_routes routes = {.ntrunks = 1, .trunks = &trunk};
    struct in6_addr a = addr(host);

    if (cfg_parse_cidr(net, &trunk.sources[0]) < 0) {
        fprintf(stderr, "bad test network %s\n", net);
        exit(1);
    }
    return cfg_find_trunk(&routes, &a) == &trunk;
}

static void
test_cidr(void)
{
    CHECK_CIDR("1.2.3.4", 0, "1.2.3.4", 128);
    CHECK_CIDR("1.2.3.4/32", 0, "1.2.3.4", 128);
    CHECK_CIDR("10.0.0.0/8", 0, "10.0.0.0", 104);
    CHECK_CIDR("0.0.0.0/0", 0, "0.0.0.0", 96);
    CHECK_CIDR("::/0", 0, "::", 0);
    CHECK_CIDR("::1", 0, "::1", 128);
    CHECK_CIDR("::1/128", 0, "::1", 128);
    CHECK_CIDR("2001:db8::/32", 0, "2001:db8::", 32);
    CHECK_CIDR("::ffff:1.2.3.0/120", 0, "1.2.3.0", 120);
    CHECK_CIDR("192.168.1.128/25", 0, "192.168.1.128", 121);
    CHECK_CIDR("1.2.3.4/33", -EINVAL, NULL, 0);
    CHECK_CIDR("::1/129", -EINVAL, NULL, 0);
    CHECK_CIDR("1.2.3.4/", -EINVAL, NULL, 0);
    CHECK_CIDR("/8", -EINVAL, NULL, 0);
    CHECK_CIDR("", -EINVAL, NULL, 0);
    CHECK_CIDR("1.2.3", -EINVAL, NULL, 0);
    CHECK_CIDR("1.2.3.4.5", -EINVAL, NULL, 0);
    CHECK_CIDR("256.1.1.1", -EINVAL, NULL, 0);
    CHECK_CIDR("1.2.3.4/8", -EINVAL, NULL, 0); /* host bits set */
    CHECK_CIDR("2001:db8::1/32", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/-1", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/+8", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/ 8", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/8 ", -EINVAL, NULL, 0);
    CHECK_CIDR(" 10.0.0.0/8", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/0008", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/8/8", -EINVAL, NULL, 0);
    CHECK_CIDR("10.0.0.0/0x8", -EINVAL, NULL, 0);
    CHECK_CIDR("fe80::1%eth0", -EINVAL, NULL, 0);
    CHECK_CIDR("localhost", -EINVAL, NULL, 0);
    CHECK_CIDR("1:2:3:4:5:6:7:8:9", -EINVAL, NULL, 0);

    CHECK(matches("0.0.0.0/0", "203.0.113.9"));
    CHECK(!matches("0.0.0.0/0", "::1")); /* /0 of IPv4 is every IPv4 address, no IPv6 */
    CHECK(matches("::/0", "::1"));
    CHECK(matches("::/0", "203.0.113.9"));
    CHECK(matches("1.2.3.4/32", "1.2.3.4"));
    CHECK(!matches("1.2.3.4/32", "1.2.3.5"));
    CHECK(matches("10.0.0.0/8", "10.255.255.255"));
    CHECK(!matches("10.0.0.0/8", "11.0.0.0"));
    CHECK(!matches("10.0.0.0/8", "9.255.255.255"));
    CHECK(matches("192.168.1.128/25", "192.168.1.200"));
    CHECK(!matches("192.168.1.128/25", "192.168.1.127"));
    CHECK(matches("1.2.3.0/24", "::ffff:1.2.3.4"));
    CHECK(!matches("1.2.3.0/24", "::1.2.3.4")); /* IPv4-compatible is not IPv4-mapped */
    CHECK(matches("::1", "::1"));
    CHECK(matches("::1/128", "::1"));
    CHECK(!matches("::1/128", "::2"));
    CHECK(matches("2001:db8::/32", "2001:db8:ffff:ffff::1"));
    CHECK(!matches("2001:db8::/32", "2001:db9::1"));
    CHECK(matches("2001:db8::/33", "2001:db8:7fff::1"));
    CHECK(!matches("2001:db8::/33", "2001:db8:8000::1"));
    CHECK(!matches("::ffff:0.0.0.0/96", "::1"));
}

static void
check_norm(int line, const char *in, size_t outlen, int want_r, const char *want)
{
    char out[32] = "junk";
    int r = cfg_normalize_number(in, out, outlen);

    if (r != want_r || (r >= 0 && strcmp(out, want) != 0)) {
        fprintf(stderr, "%s:%d: cfg_normalize_number(\"%s\") = %d \"%s\", expected %d \"%s\"\n",
                __FILE__, line, in, r, r >= 0 ? out : "", want_r, want ? want : "");
        check_failures++;
    }
}
#define CHECK_NORM(in, r, want) check_norm(__LINE__, in, CFG_NUMBER_LEN, r, want)

static void
test_normalize(void)
{
    CHECK_NORM("+1 (555) 123-0001", 11, "15551230001");
    CHECK_NORM("15551230001;npdi", 11, "15551230001");
    CHECK_NORM("+15551230001;rn=+15559990000;npdi", 11, "15551230001");
    CHECK_NORM("555.123.0001", 10, "5551230001");
    CHECK_NORM("(+44) 20 7123 4567", 12, "442071234567");
    CHECK_NORM("123456789012345", 15, "123456789012345");
    CHECK_NORM("+123456789012345", 15, "123456789012345");
    CHECK_NORM("1234567890123456", -EINVAL, NULL);
    CHECK_NORM("abc", -EINVAL, NULL);
    CHECK_NORM("5551230001x", -EINVAL, NULL);
    CHECK_NORM("", -EINVAL, NULL);
    CHECK_NORM("+", -EINVAL, NULL);
    CHECK_NORM(";npdi", -EINVAL, NULL);
    CHECK_NORM("++15551230001", -EINVAL, NULL);
    CHECK_NORM("1+5551230001", -EINVAL, NULL);
    CHECK_NORM("1555\t1230001", -EINVAL, NULL);
    CHECK_NORM("*98", -EINVAL, NULL);
    check_norm(__LINE__, "123456", 7, 6, "123456");
    check_norm(__LINE__, "123456", 6, -ENOSPC, NULL);
    check_norm(__LINE__, "1", 0, -ENOSPC, NULL);
}

static void
test_find_number_and_take_routes(void)
{
    char err[1024];
    struct cfg *cfg =
        load_conf("trunks = ( { name = \"a\"; sources = [ \"192.0.2.0/24\" ]; } );\n"
                  "numbers = (\n"
                  "  { number = \"+18005550100\"; type = \"tollfree\"; },\n"
                  "  { number = \"+15551230001\"; owner = \"alice\"; trunk = \"a\"; },\n"
                  "  { number = \"+442071234567\"; owner = \"carol\"; },\n"
                  "  { number = \"+15551230000\"; }\n"
                  ");\n",
                  err, sizeof(err));
    const struct cfg_number *num;
    struct cfg_routes *routes;
    struct in6_addr a;

    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(cfg->routes.nnumbers, 4);
    for (int i = 1; i < cfg->routes.nnumbers; i++)
        CHECK(strcmp(cfg->routes.numbers[i - 1].number, cfg->routes.numbers[i].number) < 0);

    routes = cfg_take_routes(cfg);
    CHECK(routes != NULL);
    if (!routes) {
        cfg_free(cfg);
        return;
    }
    CHECK_INT(cfg->routes.nnumbers, 0);
    CHECK_INT(cfg->routes.ntrunks, 0);
    CHECK(cfg->routes.numbers == NULL);
    CHECK(cfg->routes.trunks == NULL);
    CHECK(cfg_find_number(&cfg->routes, "15551230001", NULL) == NULL);
    cfg_free(cfg); /* the routes live on without it */

    num = cfg_find_number(routes, "15551230001", NULL);
    CHECK(num != NULL);
    if (num) {
        CHECK_STR(num->owner, "alice");
        CHECK_INT(num->trunk, 0);
        CHECK_STR(routes->trunks[num->trunk].name, "a");
    }
    num = cfg_find_number(routes, "18005550100", "");
    CHECK(num != NULL && num->type == CFG_NUMBER_TOLLFREE);
    num = cfg_find_number(routes, "15551230000", "1");
    CHECK(num != NULL && strcmp(num->number, "15551230000") == 0);
    /* national format: the country code is tried after the number as sent */
    num = cfg_find_number(routes, "5551230001", "1");
    CHECK(num != NULL && strcmp(num->number, "15551230001") == 0);
    num = cfg_find_number(routes, "2071234567", "44");
    CHECK(num != NULL && strcmp(num->owner, "carol") == 0);
    CHECK(cfg_find_number(routes, "5551230001", "") == NULL);
    CHECK(cfg_find_number(routes, "5551230001", NULL) == NULL);
    CHECK(cfg_find_number(routes, "5551230001", "44") == NULL);
    CHECK(cfg_find_number(routes, "15551239999", "1") == NULL);
    CHECK(cfg_find_number(routes, "", "1") == NULL);
    CHECK(cfg_find_number(routes, "123456789012345", "999") == NULL);
    a = addr("192.0.2.77");
    CHECK(cfg_find_trunk(routes, &a) == &routes->trunks[0]);
    cfg_free_routes(routes);
    cfg_free_routes(NULL);
    cfg_free(NULL);

    /* an empty table */
    struct cfg_routes empty = {0};
    CHECK(cfg_find_number(&empty, "15551230001", "1") == NULL);
    a = addr("::1");
    CHECK(cfg_find_trunk(&empty, &a) == NULL);
}

/* SIP over TLS: the files it needs are checked when the file is loaded, each mistake at the
 * line that makes it (sip.transports when a file is not named at all). */
static void
test_tls(void)
{
    char err[1024], text[4096], cert[300], key[300], ca[300], missing[300];
    struct cfg *cfg;

    (void)snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    (void)snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    (void)snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
    (void)snprintf(missing, sizeof(missing), "%s/absent.pem", tmpdir);
    write_file(cert, "not parsed here\n");
    write_file(key, "not parsed here\n");
    write_file(ca, "not parsed here\n");

    /* tls listed, nothing else: the default port, and no certificate is a startup error */
    EXPECT_ERROR("sip = {\n  transports = [ \"udp\", \"tls\" ];\n};\n",
                 "2: sip.transports: \"tls\" needs sip.tls_cert (our certificate, a PEM file)");
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n};\n", cert);
    EXPECT_ERROR(text, "2: sip.transports: \"tls\" needs sip.tls_key");
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n};\n",
                   missing, key);
    (void)snprintf(err, sizeof(err), "3: sip.tls_cert: \"%s\": cannot read: %s", missing,
                   strerror(ENOENT));
    EXPECT_ERROR(text, err);
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n};\n",
                   cert, tmpdir);
    (void)snprintf(err, sizeof(err), "4: sip.tls_key: \"%s\": not a regular file", tmpdir);
    EXPECT_ERROR(text, err);
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n  tls_ca = \"%s\";\n};\n",
                   cert, key, missing);
    (void)snprintf(err, sizeof(err), "5: sip.tls_ca: \"%s\": cannot read: %s", missing,
                   strerror(ENOENT));
    EXPECT_ERROR(text, err);
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n  tls_verify_clients = true;\n};\n",
                   cert, key);
    EXPECT_ERROR(text, "5: sip.tls_verify_clients: needs sip.tls_ca");
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tcp\", \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n  tls_port = 5060;\n};\n",
                   cert, key);
    EXPECT_ERROR(text, "5: sip.tls_port: TLS and TCP both listen on port 5060");
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"tls\" ];\n  tls_cert = \"%s\";\n"
                   "  tls_key = \"%s\";\n  tls_port = 20000;\n};\n",
                   cert, key);
    EXPECT_ERROR(text, "5: sip.tls_port: SIP TLS port 20000 lies inside the media port range");

    /* a trunk dialling over TLS needs the TLS transport */
    EXPECT_ERROR("trunks = (\n  { name = \"a\"; sources = [ \"::1\" ];\n"
                 "    transport = \"tls\"; }\n);\n",
                 "3: trunks[0].transport: \"tls\" needs \"tls\" in sip.transports");
    EXPECT_ERROR("trunks = (\n  { name = \"a\"; sources = [ \"::1\" ];\n"
                 "    transport = \"sctp\"; }\n);\n",
                 "3: trunks[0].transport: unknown value \"sctp\" (one of: udp, tcp, tls)");
    EXPECT_ERROR("trunks = (\n  { name = \"a\"; sources = [ \"::1\" ];\n"
                 "    proxy_tcp = true; transport = \"tcp\"; }\n);\n",
                 "3: trunks[0].proxy_tcp: give either proxy_tcp or transport, not both");

    /* all of it, accepted */
    (void)snprintf(text, sizeof(text),
                   "sip = {\n  transports = [ \"udp\", \"tcp\", \"tls\" ];\n"
                   "  tls_cert = \"%s\";\n  tls_key = \"%s\";\n  tls_ca = \"%s\";\n"
                   "  tls_port = 5071;\n  tls_verify_clients = true;\n};\n"
                   "trunks = (\n  { name = \"a\"; sources = [ \"::1\" ]; transport = \"tls\"; },\n"
                   "  { name = \"b\"; sources = [ \"::2\" ]; proxy_tcp = true; },\n"
                   "  { name = \"c\"; sources = [ \"::3\" ]; }\n);\n",
                   cert, key, ca);
    cfg = load_conf(text, err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
    } else {
        CHECK(cfg->sip_udp && cfg->sip_tcp && cfg->sip_tls);
        CHECK_INT(cfg->sip_tls_port, 5071);
        CHECK_STR(cfg->sip_tls_cert, cert);
        CHECK_STR(cfg->sip_tls_key, key);
        CHECK_STR(cfg->sip_tls_ca, ca);
        CHECK(cfg->sip_tls_verify_clients);
        CHECK_INT(cfg->routes.trunks[0].transport, CFG_TRANSPORT_TLS);
        CHECK_INT(cfg->routes.trunks[1].transport, CFG_TRANSPORT_TCP);
        CHECK_INT(cfg->routes.trunks[2].transport, CFG_TRANSPORT_UDP);
    }
    cfg_free(cfg);

    /* TLS settings without "tls" in the list are not looked at */
    EXPECT_OK("sip = {\n  tls_cert = \"/nonexistent/cert.pem\";\n};\n");

    (void)unlink(cert);
    (void)unlink(key);
    (void)unlink(ca);
}

int
main(void)
{
    const char *base = getenv("TMPDIR");

    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/inkless-cfg-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    (void)snprintf(conf_path, sizeof(conf_path), "%s/t.conf", tmpdir);

    test_defaults();
    test_sample();
    test_file_errors();
    test_syntax_and_names();
    test_types_and_ranges();
    test_enums();
    test_sip_and_media();
    test_tls();
    test_trunks();
    test_numbers();
    test_load_text();
    test_cidr();
    test_normalize();
    test_find_number_and_take_routes();

    (void)unlink(conf_path);
    (void)rmdir(tmpdir);
    return check_finish();
}
