/* SPDX-License-Identifier: GPL-2.0-or-later */
/* faxpeer: command line, results and exit status (see faxpeer.h for the parts).
 *
 * stdout carries only results: one JSON object per call, in call order, when the run ends,
 * then (load mode or UAS) one summary object. The human log goes to stderr. Exit status 0
 * iff every call ended with T.30 OK (with --expect-fail: every call failed), 1 otherwise,
 * 2 for a usage error.
 */
#include "faxpeer.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>

#include "log.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: faxpeer (--call URI | --listen ADDR:PORT) (--send FILE.tif | --receive OUT.tif)\n"
    "               [options]\n"
    "A SIP fax endpoint, T.38 or G.711 (Sofia-SIP nua + spandsp), that plays a carrier, an\n"
    "ATA or a fax machine. One JSON line per call on stdout at the end; log on stderr.\n"
    "\n"
    "SIP:\n"
    "  --call URI            place calls to URI, e.g. sip:15551230001@127.0.0.1:5060 (UAC)\n"
    "  --listen ADDR:PORT    answer calls there (UAS), e.g. 127.0.0.1:5070 or [::1]:5070\n"
    "  --transport udp|tcp|tls  SIP transport (UAC default udp; UAS default udp+tcp);\n"
    "                        tls: UAC calls sip:...;transport=tls (a sips: URI implies it),\n"
    "                        UAS listens on TLS only\n"
    "  --tls                 the same as --transport tls\n"
    "  --tls-dir DIR         TLS material in Sofia-SIP's layout: DIR/agent.pem (our private\n"
    "                        key followed by our certificate) and DIR/cafile.pem (CA); with\n"
    "                        cafile.pem the far end's certificate must verify against it\n"
    "                        (both ways: a UAS then requires client certificates)\n"
    "  --from NUMBER         our number: From user part and default fax ident (15559990000)\n"
    "  --addr ADDR           our SIP (UAC) and media address (default: the listen address,\n"
    "                        or 127.0.0.1)\n"
    "  --answer-delay MS     UAS: send 180 and answer this much later (default 0)\n"
    "  --reject CODE         UAS: answer every INVITE with CODE (e.g. 486) instead\n"
    "  --first-calls N       --reject and --bye-after-pages apply to the first N calls\n"
    "                        only; later calls go normally (a busy line, then a fax)\n"
    "Fax:\n"
    "  --send FILE.tif       send this TIFF-F document\n"
    "  --receive OUT.tif     receive into OUT.tif; with several calls a pattern with %d\n"
    "                        (replaced by the call number, 1..N)\n"
    "  --ecm | --no-ecm      T.30 error correction mode (default on)\n"
    "  --max-rate BPS        14400 (V.17), 9600 (V.29) or 4800 (V.27ter); also T38MaxBitRate\n"
    "  --ident TEXT          T.30 station ident (TSI/CSI), at most 20 characters\n"
    "  --header TEXT         page header line (sending)\n"
    "T.38 (whenever the call is on audio, the fax runs over G.711 until T.38 is agreed):\n"
    "  --t38 MODE            initial: T.38 in the INVITE (UAS: accept what is offered)\n"
    "                        reinvite: audio first, our T.38 re-INVITE after --reinvite-delay\n"
    "                        (refused: the fax goes on over G.711)\n"
    "                        wait: audio first, accept the far end's T.38 re-INVITE\n"
    "                        glare: audio; answer the far end's re-INVITE 491 and send ours\n"
    "                        at once (retries after 491 per RFC 3261 14.1)\n"
    "                        none: audio only; T.38 never offered nor accepted (re-INVITE 488)\n"
    "                        refuse: as none, counting each refusal (t38_refused). Default\n"
    "                        initial\n"
    "  --reinvite-delay MS   delay of our re-INVITE after the call is up, media time (default\n"
    "                        500; 3000 = after CNG/CED, as an ATA switches)\n"
    "  --redundancy N        UDPTL secondaries we send, 0..8 (default 3 control / 2 image);\n"
    "                        0 also announces t38UDPNoEC\n"
    "  --fec                 announce and send T38FaxUdpEC t38UDPFEC (span 3, 3 entries)\n"
    "  --max-datagram N      T38FaxMaxDatagram we announce (default 400); larger incoming\n"
    "                        packets are counted as udptl.oversize\n"
    "  --version N           T38FaxVersion 0..3 (default 0)\n"
    "G.711 (RTP; RFC 4733 events, CN and RTCP are ignored):\n"
    "  --codec pcmu|pcma|both  what we offer (UAC) or accept (UAS); default both, PCMU first\n"
    "  --ptime MS            packet size we send, 10..60 (default: the negotiated ptime)\n"
    "  --jitter-delay MS     playout delay of our jitter buffer, 0..200, media time (default\n"
    "                        60; at --speed over 3, 20 ms of real time: stalls of this\n"
    "                        process, a page read or written, do not shrink with --speed)\n"
    "  --drift PPM           our audio clock runs PPM parts per million fast (+) or slow (-)\n"
    "                        against the media clock, like an ATA's crystal (-10000..10000)\n"
    "Impairments (UDPTL or RTP packets, seeded PRNG; delays in media time):\n"
    "  --loss PCT            lose PCT % of the packets\n"
    "  --burst N             ... in bursts of N packets (same overall rate)\n"
    "  --reorder PCT         swap PCT % of the packets with the next one\n"
    "  --dup PCT             send PCT % of the packets twice\n"
    "  --jitter MS           delay each packet by 0..MS ms (can reorder)\n"
    "  --impair in|out|both  direction(s) impaired (default both)\n"
    "  --seed N              PRNG seed (default 1)\n"
    "Time and events:\n"
    "  --speed N             media clock N times faster, 1..20 (both ends must agree)\n"
    "  --timeout S           per call, real seconds (default 600 / speed)\n"
    "  --idle-timeout S      UAS: give up after S seconds without a call (default: timeout)\n"
    "  --bye-after-pages N   hang up with BYE once N pages were sent/received\n"
    "  --cancel-after MS     UAC: CANCEL the INVITE this long after sending it\n"
    "  --expect-fail         exit 0 iff every call failed (for the two options above)\n"
    "Load:\n"
    "  --calls N             calls in total (default 1; UAS: calls to answer before exiting)\n"
    "  --concurrent M        UAC: at most M at once (default 1); UAS: more get 503\n"
    "  --cps R               UAC: start at most R calls per second (default: no limit)\n"
    "Debug:\n"
    "  -v, --verbose         debug log;  -q, --quiet  warnings only\n"
    "  --fax-debug           spandsp T.30/T.38 log;  --sip-debug  Sofia-SIP log and messages\n";

enum {
    OPT_CALL = 256,
    OPT_LISTEN,
    OPT_TRANSPORT,
    OPT_TLS,
    OPT_TLS_DIR,
    OPT_FROM,
    OPT_ADDR,
    OPT_ANSWER_DELAY,
    OPT_REJECT,
    OPT_SEND,
    OPT_RECEIVE,
    OPT_ECM,
    OPT_NO_ECM,
    OPT_MAX_RATE,
    OPT_IDENT,
    OPT_HEADER,
    OPT_T38,
    OPT_REINVITE_DELAY,
    OPT_CODEC,
    OPT_PTIME,
    OPT_JITTER_DELAY,
    OPT_DRIFT,
    OPT_REDUNDANCY,
    OPT_FEC,
    OPT_MAX_DATAGRAM,
    OPT_VERSION,
    OPT_LOSS,
    OPT_BURST,
    OPT_REORDER,
    OPT_DUP,
    OPT_JITTER,
    OPT_IMPAIR,
    OPT_SEED,
    OPT_SPEED,
    OPT_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_BYE_AFTER_PAGES,
    OPT_FIRST_CALLS,
    OPT_CANCEL_AFTER,
    OPT_EXPECT_FAIL,
    OPT_CALLS,
    OPT_CONCURRENT,
    OPT_CPS,
    OPT_FAX_DEBUG,
    OPT_SIP_DEBUG,
};

static const struct option long_options[] = {
    {"call", required_argument, NULL, OPT_CALL},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-dir", required_argument, NULL, OPT_TLS_DIR},
    {"from", required_argument, NULL, OPT_FROM},
    {"addr", required_argument, NULL, OPT_ADDR},
    {"answer-delay", required_argument, NULL, OPT_ANSWER_DELAY},
    {"reject", required_argument, NULL, OPT_REJECT},
    {"send", required_argument, NULL, OPT_SEND},
    {"receive", required_argument, NULL, OPT_RECEIVE},
    {"ecm", no_argument, NULL, OPT_ECM},
    {"no-ecm", no_argument, NULL, OPT_NO_ECM},
    {"max-rate", required_argument, NULL, OPT_MAX_RATE},
    {"ident", required_argument, NULL, OPT_IDENT},
    {"header", required_argument, NULL, OPT_HEADER},
    {"t38", required_argument, NULL, OPT_T38},
    {"reinvite-delay", required_argument, NULL, OPT_REINVITE_DELAY},
    {"codec", required_argument, NULL, OPT_CODEC},
    {"ptime", required_argument, NULL, OPT_PTIME},
    {"jitter-delay", required_argument, NULL, OPT_JITTER_DELAY},
    {"drift", required_argument, NULL, OPT_DRIFT},
    {"redundancy", required_argument, NULL, OPT_REDUNDANCY},
    {"fec", no_argument, NULL, OPT_FEC},
    {"max-datagram", required_argument, NULL, OPT_MAX_DATAGRAM},
    {"version", required_argument, NULL, OPT_VERSION},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"burst", required_argument, NULL, OPT_BURST},
    {"reorder", required_argument, NULL, OPT_REORDER},
    {"dup", required_argument, NULL, OPT_DUP},
    {"jitter", required_argument, NULL, OPT_JITTER},
    {"impair", required_argument, NULL, OPT_IMPAIR},
    {"seed", required_argument, NULL, OPT_SEED},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"bye-after-pages", required_argument, NULL, OPT_BYE_AFTER_PAGES},
    {"first-calls", required_argument, NULL, OPT_FIRST_CALLS},
    {"cancel-after", required_argument, NULL, OPT_CANCEL_AFTER},
    {"expect-fail", no_argument, NULL, OPT_EXPECT_FAIL},
    {"calls", required_argument, NULL, OPT_CALLS},
    {"concurrent", required_argument, NULL, OPT_CONCURRENT},
    {"cps", required_argument, NULL, OPT_CPS},
    {"fax-debug", no_argument, NULL, OPT_FAX_DEBUG},
    {"sip-debug", no_argument, NULL, OPT_SIP_DEBUG},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* ---- argument parsing ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "faxpeer: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(faxpeer --help for the options)\n");
    return -EINVAL;
}

static int
parse_int(const char *name, const char *s, long min, long max, int *ret)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "faxpeer: --%s: '%s' is not an integer in %ld..%ld\n", name, s, min, max);
        return -EINVAL;
    }
    *ret = (int)v;
    return 0;
}

static int
parse_double(const char *name, const char *s, double min, double max, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "faxpeer: --%s: '%s' is not a number in %g..%g\n", name, s, min, max);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT". */
static int
parse_listen(const char *s, struct fp_options *o)
{
    const char *colon;
    size_t alen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return usage_error("--listen: '%s' is not [ADDR]:PORT", s);
        alen = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return usage_error("--listen: '%s' is not ADDR:PORT", s);
        alen = (size_t)(colon - s);
    }
    if (alen == 0 || alen >= sizeof(o->listen_addr))
        return usage_error("--listen: bad address in '%s'", s);
    memcpy(o->listen_addr, s, alen);
    o->listen_addr[alen] = '\0';
    return parse_int("listen", colon + 1, 1, 65535, &o->listen_port);
}

/* Check a document before dialling: spandsp only reports a bad TIFF at phase E (SPANDSP-NOTES
 * pitfall 8). Returns the page count or -errno. */
static int
check_document(const char *path)
{
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif)
        return -EINVAL;
    int pages = TIFFNumberOfDirectories(tif);
    uint16_t compression = 0;
    (void)TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFClose(tif);
    if (pages < 1)
        return -EINVAL;
    if (compression != COMPRESSION_CCITTFAX3 && compression != COMPRESSION_CCITTFAX4 &&
        compression != COMPRESSION_CCITTRLE)
        fprintf(stderr, "faxpeer: warning: %s is not T.4/T.6 compressed (compression %u)\n", path,
                (unsigned)compression);
    return pages;
}

static int
parse_args(int argc, char **argv, struct fp_options *o, int *ret_log_level)
{
    const char *transport = NULL, *impair_dir = "both";
    bool has_timeout = false, has_idle = false, has_concurrent = false;
    static char call_uri[512];
    double pct;
    int opt, r = 0;

    *o = (struct fp_options){
        .from = "15559990000",
        .t38 = FP_T38_INITIAL,
        .reinvite_delay_ms = 500,
        .codec = FP_CODEC_BOTH,
        .jitter_delay_ms = -1,
        .redundancy = -1,
        .max_datagram = 400,
        .version = 0,
        .ecm = true,
        .max_rate = 14400,
        .impair = {.burst = 1},
        .seed = 1,
        .speed = 1,
        .cancel_after_ms = -1,
        .calls = 1,
    };
    *ret_log_level = LOG_INFO;

    while ((opt = getopt_long(argc, argv, "vqh", long_options, NULL)) != -1 && r == 0) {
        switch (opt) {
        case OPT_CALL:
            o->call_uri = optarg;
            break;
        case OPT_LISTEN:
            o->is_uas = true;
            r = parse_listen(optarg, o);
            break;
        case OPT_TRANSPORT:
            transport = optarg;
            if (strcmp(optarg, "udp") && strcmp(optarg, "tcp") && strcmp(optarg, "tls"))
                r = usage_error("--transport: '%s' is not udp, tcp or tls", optarg);
            break;
        case OPT_TLS:
            transport = "tls";
            break;
        case OPT_TLS_DIR:
            o->tls_dir = optarg;
            break;
        case OPT_FROM:
            o->from = optarg;
            break;
        case OPT_ADDR:
            o->sip_addr = optarg;
            break;
        case OPT_ANSWER_DELAY:
            r = parse_int("answer-delay", optarg, 0, 600000, &o->answer_delay_ms);
            break;
        case OPT_REJECT:
            r = parse_int("reject", optarg, 300, 699, &o->reject_status);
            break;
        case OPT_SEND:
            o->is_send = true;
            o->file = optarg;
            break;
        case OPT_RECEIVE:
            o->is_send = false;
            o->file = optarg;
            break;
        case OPT_ECM:
            o->ecm = true;
            break;
        case OPT_NO_ECM:
            o->ecm = false;
            break;
        case OPT_MAX_RATE:
            r = parse_int("max-rate", optarg, 2400, 14400, &o->max_rate);
            if (r == 0 && o->max_rate != 14400 && o->max_rate != 9600 && o->max_rate != 4800)
                r = usage_error("--max-rate: '%s' is not 14400, 9600 or 4800", optarg);
            break;
        case OPT_IDENT:
            o->ident = optarg;
            if (strlen(optarg) > FX38_IDENT_LEN)
                r = usage_error("--ident: '%s' is longer than 20 characters", optarg);
            break;
        case OPT_HEADER:
            o->header = optarg;
            break;
        case OPT_T38:
            if (!strcmp(optarg, "initial"))
                o->t38 = FP_T38_INITIAL;
            else if (!strcmp(optarg, "reinvite"))
                o->t38 = FP_T38_REINVITE;
            else if (!strcmp(optarg, "wait"))
                o->t38 = FP_T38_WAIT;
            else if (!strcmp(optarg, "glare"))
                o->t38 = FP_T38_GLARE;
            else if (!strcmp(optarg, "none"))
                o->t38 = FP_T38_NONE;
            else if (!strcmp(optarg, "refuse"))
                o->t38 = FP_T38_REFUSE;
            else
                r = usage_error("--t38: '%s' is not initial, reinvite, wait, glare, none or refuse",
                                optarg);
            break;
        case OPT_REINVITE_DELAY:
            r = parse_int("reinvite-delay", optarg, 0, 600000, &o->reinvite_delay_ms);
            break;
        case OPT_CODEC:
            if (!strcmp(optarg, "pcmu"))
                o->codec = FP_CODEC_PCMU;
            else if (!strcmp(optarg, "pcma"))
                o->codec = FP_CODEC_PCMA;
            else if (!strcmp(optarg, "both"))
                o->codec = FP_CODEC_BOTH;
            else
                r = usage_error("--codec: '%s' is not pcmu, pcma or both", optarg);
            break;
        case OPT_PTIME:
            r = parse_int("ptime", optarg, 10, FX38_JITTER_MAX_PACKET * 1000 / FX38_RTP_RATE,
                          &o->ptime_ms);
            break;
        case OPT_JITTER_DELAY:
            r = parse_int("jitter-delay", optarg, 0, FX38_JITTER_MAX_DELAY * 1000 / FX38_RTP_RATE,
                          &o->jitter_delay_ms);
            break;
        case OPT_DRIFT:
            r = parse_int("drift", optarg, -FP_MAX_DRIFT_PPM, FP_MAX_DRIFT_PPM, &o->drift_ppm);
            break;
        case OPT_REDUNDANCY:
            r = parse_int("redundancy", optarg, 0, FX38_UDPTL_MAX_REDUNDANCY, &o->redundancy);
            break;
        case OPT_FEC:
            o->fec = true;
            break;
        case OPT_MAX_DATAGRAM:
            r = parse_int("max-datagram", optarg, FX38_UDPTL_MIN_DATAGRAM, 65535, &o->max_datagram);
            break;
        case OPT_VERSION:
            r = parse_int("version", optarg, 0, 3, &o->version);
            break;
        case OPT_LOSS:
            r = parse_double("loss", optarg, 0, 100, &pct);
            o->impair.loss = pct / 100;
            break;
        case OPT_BURST:
            r = parse_int("burst", optarg, 1, 1000, &o->impair.burst);
            break;
        case OPT_REORDER:
            r = parse_double("reorder", optarg, 0, 100, &pct);
            o->impair.reorder = pct / 100;
            break;
        case OPT_DUP:
            r = parse_double("dup", optarg, 0, 100, &pct);
            o->impair.dup = pct / 100;
            break;
        case OPT_JITTER:
            r = parse_int("jitter", optarg, 0, 10000, &o->impair.jitter_ms);
            break;
        case OPT_IMPAIR:
            impair_dir = optarg;
            if (strcmp(optarg, "in") && strcmp(optarg, "out") && strcmp(optarg, "both"))
                r = usage_error("--impair: '%s' is not in, out or both", optarg);
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end)
                r = usage_error("--seed: '%s' is not a number", optarg);
            break;
        }
        case OPT_SPEED:
            r = parse_int("speed", optarg, 1, 20, &o->speed);
            break;
        case OPT_TIMEOUT:
            r = parse_double("timeout", optarg, 0.1, 86400, &o->timeout_s);
            has_timeout = true;
            break;
        case OPT_IDLE_TIMEOUT:
            r = parse_double("idle-timeout", optarg, 0.1, 86400, &o->idle_timeout_s);
            has_idle = true;
            break;
        case OPT_BYE_AFTER_PAGES:
            r = parse_int("bye-after-pages", optarg, 1, 100000, &o->bye_after_pages);
            break;
        case OPT_FIRST_CALLS:
            r = parse_int("first-calls", optarg, 1, 100000, &o->first_calls);
            break;
        case OPT_CANCEL_AFTER:
            r = parse_int("cancel-after", optarg, 0, 600000, &o->cancel_after_ms);
            break;
        case OPT_EXPECT_FAIL:
            o->expect_fail = true;
            break;
        case OPT_CALLS:
            r = parse_int("calls", optarg, 1, 1000000, &o->calls);
            break;
        case OPT_CONCURRENT:
            r = parse_int("concurrent", optarg, 1, 100000, &o->concurrent);
            has_concurrent = true;
            break;
        case OPT_CPS:
            r = parse_double("cps", optarg, 0, 100000, &o->cps);
            break;
        case OPT_FAX_DEBUG:
            o->fax_debug = true;
            break;
        case OPT_SIP_DEBUG:
            o->sip_debug = true;
            *ret_log_level = LOG_DEBUG;
            break;
        case 'v':
            *ret_log_level = LOG_DEBUG;
            break;
        case 'q':
            *ret_log_level = LOG_WARNING;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (r < 0)
        return r;
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!!o->call_uri == o->is_uas)
        return usage_error("give exactly one of --call and --listen");
    if (!o->file)
        return usage_error("give --send FILE or --receive FILE");
    if (o->is_uas && o->cancel_after_ms >= 0)
        return usage_error("--cancel-after is for --call");

    /* Transports: the UAC calls over exactly one, the UAS listens on both unless told. */
    if (o->call_uri && !strncmp(o->call_uri, "sips:", 5) && !transport)
        transport = "tls";
    o->tls = transport && !strcmp(transport, "tls");
    o->udp = !transport || !strcmp(transport, "udp");
    o->tcp = transport ? !strcmp(transport, "tcp") : o->is_uas;
    if (o->tls && !o->tls_dir)
        return usage_error("--transport tls needs --tls-dir DIR (agent.pem, cafile.pem)");
    if (!o->sip_addr) {
        bool wildcard =
            o->is_uas && (!strcmp(o->listen_addr, "0.0.0.0") || !strcmp(o->listen_addr, "::"));
        o->sip_addr = o->is_uas && !wildcard ? o->listen_addr : "127.0.0.1";
    }
    if (o->call_uri) {
        if (strncmp(o->call_uri, "sip:", 4) && strncmp(o->call_uri, "sips:", 5))
            return usage_error("--call: '%s' is not a sip: or sips: URI", o->call_uri);
        /* nua picks the transport from the request URI (sips: means TLS). */
        if ((o->tcp || o->tls) && !strstr(o->call_uri, "transport=") &&
            strncmp(o->call_uri, "sips:", 5)) {
            snprintf(call_uri, sizeof(call_uri), "%s;transport=%s", o->call_uri,
                     o->tls ? "tls" : "tcp");
            o->call_uri = call_uri;
        }
    }

    o->impair_in = strcmp(impair_dir, "out") != 0;
    o->impair_out = strcmp(impair_dir, "in") != 0;
    if (!has_timeout)
        o->timeout_s = 600.0 / o->speed;
    if (!has_idle)
        o->idle_timeout_s = o->timeout_s;
    if (o->jitter_delay_ms < 0) {
        int max = FX38_JITTER_MAX_DELAY * 1000 / FX38_RTP_RATE;
        int real = FP_JITTER_REAL_MS * o->speed;
        o->jitter_delay_ms = real < FP_JITTER_DEFAULT_MS ? FP_JITTER_DEFAULT_MS
                             : real > max                ? max
                                                         : real;
    }
    if (!has_concurrent)
        o->concurrent = o->is_uas ? 0 : 1;

    if (o->is_send) {
        int pages = check_document(o->file);
        if (pages < 0)
            return usage_error("--send: '%s' is not a readable TIFF", o->file);
    } else {
        if (o->calls > 1 && !strstr(o->file, "%d"))
            return usage_error("--receive: with several calls, '%s' needs a %%d", o->file);
        if (strlen(o->file) + 10 >= FP_PATH_LEN)
            return usage_error("--receive: '%s' is too long for spandsp", o->file);
    }
    return 0;
}

/* ---- results ---- */

/* A JSON string (RFC 8259 §7): the remote ident and T.30 text come from the far end. */
static void
print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static bool
call_is_ok(const struct fp_call *c)
{
    return c->state == FP_CALL_ENDED && c->m.is_done && c->m.result.is_success && !c->is_timeout;
}

static double
call_duration_s(const struct fp_call *c)
{
    return c->end_ns > c->start_ns ? (double)(c->end_ns - c->start_ns) / 1e9 : 0;
}

static void
print_impair(FILE *f, const char *name, const struct fp_impair_stats *s)
{
    fprintf(f,
            "\"%s\": {\"packets\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"duplicated\": %" PRIu64
            ", \"reordered\": %" PRIu64 ", \"delayed\": %" PRIu64 "}",
            name, s->packets, s->dropped, s->duplicated, s->reordered, s->delayed);
}

static const char *
t38_mode_name(enum fp_t38_mode mode)
{
    static const char *const names[] = {
        [FP_T38_INITIAL] = "initial", [FP_T38_REINVITE] = "reinvite", [FP_T38_WAIT] = "wait",
        [FP_T38_GLARE] = "glare",     [FP_T38_NONE] = "none",         [FP_T38_REFUSE] = "refuse",
    };
    return names[mode];
}

/* The G.711 leg, when there was one: RTP, jitter buffer and the engine's clock. */
static void
print_rtp(FILE *f, const struct fp_call *c)
{
    const struct fp_audio *a = &c->m.audio;
    const struct fx38_jitter_stats *j = &a->jitter.stats;
    fprintf(f,
            ", \"rtp\": {\"rx_packets\": %" PRIu64 ", \"ignored\": %" PRIu64
            ", \"malformed\": %" PRIu64 ", \"stale\": %" PRIu64 ", \"tx_packets\": %" PRIu64
            ", \"engine_samples\": %" PRIu64 ", \"switch_s\": %.2f",
            a->rx_packets, a->rx_ignored, a->rx_malformed, a->rx_stale, a->tx_packets, a->samples,
            (double)c->m.switch_tick * FP_TICK_MS / 1000);
    fprintf(f,
            ", \"jitter\": {\"received\": %" PRIu64 ", \"duplicates\": %" PRIu64
            ", \"late\": %" PRIu64 ", \"filled\": %" PRIu64 ", \"resyncs\": %" PRIu64
            ", \"drift_dropped\": %" PRIu64 ", \"drift_inserted\": %" PRIu64 "}}",
            j->received, j->duplicates, j->late, j->filled, j->resyncs, j->drift_dropped,
            j->drift_inserted);
}

static void
print_call(FILE *f, const struct fp_options *o, const struct fp_call *c, uint64_t p_begin_ns)
{
    const struct fx38_result *r = &c->m.result;
    const struct fx38_udptl_stats *u = &r->udptl;
    bool has_fax = c->m.is_done;
    const char *text = has_fax ? r->t30_text : c->state == FP_CALL_IDLE ? "no call" : "no fax";

    fprintf(f, "{\"call\": %d, \"result\": \"%s\", \"t30_status\": %d, \"t30_text\": ", c->index,
            call_is_ok(c) ? "ok" : "failed", has_fax ? r->t30_status : -1);
    print_json_string(f, text);
    fprintf(f, ", \"pages\": %d, \"bit_rate\": %d, \"ecm\": %s, \"remote_ident\": ",
            has_fax ? r->pages : 0, has_fax ? r->bit_rate : 0,
            has_fax && r->ecm ? "true" : "false");
    print_json_string(f, has_fax ? r->remote_ident : "");
    fprintf(f, ", \"sip_status\": %d, \"transport\": \"%s\", \"codec\": \"%s\"", c->sip_status,
            fp_transport_name(has_fax ? c->m.transport : FP_TRANSPORT_NONE),
            c->m.codec ? c->m.codec : "");
    fprintf(f, ", \"duration_s\": %.3f", call_duration_s(c));
    fprintf(f, ", \"media_s\": %.2f, \"role\": \"%s\", \"sip_transport\": \"%s\", \"call_id\": ",
            has_fax ? (double)r->duration_samples / FX38_SAMPLE_RATE : 0.0,
            o->is_send ? "send" : "receive",
            o->tls              ? "tls"
            : o->tcp && !o->udp ? "tcp"
            : o->udp && !o->tcp ? "udp"
                                : "udp/tcp");
    print_json_string(f, c->call_id);
    fprintf(f, ", \"reason\": ");
    print_json_string(f, c->reason);
    if (!o->is_send && c->m.rx_path[0]) {
        fprintf(f, ", \"file\": ");
        print_json_string(f, c->m.rx_path);
    }
    fprintf(f, ", \"begin_s\": %.3f",
            c->start_ns > p_begin_ns ? (double)(c->start_ns - p_begin_ns) / 1e9 : 0.0);
    fprintf(f, ", \"reinvites_sent\": %d, \"glare_491\": %d, \"far_bye\": %s", c->reinvites_sent,
            c->glare_491, c->is_far_bye ? "true" : "false");
    fprintf(f, ", \"t38_mode\": \"%s\", \"t38_refused\": %d, \"t38_reinvite_status\": %d",
            t38_mode_name(o->t38), c->t38_refused, c->t38_reinvite_status);
    if (c->m.codec && c->m.codec[0])
        print_rtp(f, c);
    fprintf(f,
            ", \"udptl\": {\"packets\": %" PRIu64 ", \"recovered\": %" PRIu64 ", \"lost\": %" PRIu64
            ", \"duplicates\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
            ", \"tx_packets\": %" PRIu64 ", \"rx_datagrams\": %" PRIu64 ", \"early\": %" PRIu64
            ", \"oversize\": %" PRIu64 ", \"tx_datagrams\": %" PRIu64 ", \"tx_errors\": %" PRIu64
            "}",
            u->packets, u->recovered_redundancy + u->recovered_fec, u->lost, u->duplicates, u->late,
            u->malformed, u->tx_packets, c->m.rx_datagrams, c->m.rx_early, c->m.rx_oversize,
            c->m.tx_datagrams, c->m.tx_errors);
    const struct fp_impair_config *im = &o->impair;
    if (im->loss > 0 || im->reorder > 0 || im->dup > 0 || im->jitter_ms > 0) {
        fprintf(f, ", \"impair\": {");
        print_impair(f, "in", &c->m.in.stats);
        fprintf(f, ", ");
        print_impair(f, "out", &c->m.out.stats);
        fprintf(f, "}");
    }
    fprintf(f, "}\n");
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static double
percentile(const double *v, int n, double pct)
{
    if (n == 0)
        return 0;
    int rank = (int)ceil(pct / 100.0 * n);
    return v[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}

static void
print_summary(FILE *f, const struct fp_options *o, const struct fp_peer *p, int passed)
{
    size_t cap = o->calls > 0 ? (size_t)o->calls : 1;
    double *d = calloc(cap, sizeof(*d));
    double *setup = calloc(cap, sizeof(*setup)); /* UAC: INVITE to its final answer, ms */
    int n = 0, nsetup = 0;
    long pages = 0;
    for (int i = 0; i < o->calls; i++) {
        const struct fp_call *c = &p->calls[i];
        if (c->state != FP_CALL_ENDED)
            continue;
        if (d)
            d[n++] = call_duration_s(c);
        if (setup && c->answered_ns > c->start_ns)
            setup[nsetup++] = (double)(c->answered_ns - c->start_ns) / 1e6;
        pages += c->m.is_done ? c->m.result.pages : 0;
    }
    if (d)
        qsort(d, (size_t)n, sizeof(*d), compare_double);
    if (setup)
        qsort(setup, (size_t)nsetup, sizeof(*setup), compare_double);
    fprintf(f,
            "{\"summary\": true, \"mode\": \"%s\", \"calls\": %d, \"started\": %d, \"ended\": %d, "
            "\"passed\": %d, \"failed\": %d, \"pages\": %ld, \"duration_p50\": %.3f, "
            "\"duration_p99\": %.3f, \"setup_p50_ms\": %.2f, \"setup_p99_ms\": %.2f, "
            "\"max_concurrent\": %d, \"max_active\": %d, "
            "\"rejected\": %d, \"elapsed_s\": %.3f, \"speed\": %d, \"seed\": %" PRIu64
            ", \"late_ticks\": %" PRIu64 ", \"max_late_ms\": %.1f, \"idle_timeout\": %s}\n",
            o->is_uas ? "uas" : "uac", o->calls, p->started, p->ended, passed, o->calls - passed,
            pages, percentile(d, n, 50), percentile(d, n, 99), percentile(setup, nsetup, 50),
            percentile(setup, nsetup, 99), p->max_up, p->max_active, p->rejected,
            (double)(p->finish_ns - p->begin_ns) / 1e9, o->speed, o->seed, p->late_ticks,
            (double)p->max_late_ns / 1e6, p->is_idle_timeout ? "true" : "false");
    free(d);
    free(setup);
}

/* Let a load run have as many sockets as the hard limit allows. */
static void
raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int
main(int argc, char **argv)
{
    struct fp_options opts;
    int level;

    if (parse_args(argc, argv, &opts, &level) < 0)
        return EXIT_USAGE;
    log_setup(level, false, "faxpeer");
    tzset(); /* spandsp calls localtime() when it writes pages */
    srand((unsigned)opts.seed);
    raise_fd_limit();

    struct fp_peer peer = {.opts = &opts};
    peer.calls = calloc((size_t)opts.calls, sizeof(*peer.calls));
    if (!peer.calls) {
        log_error("out of memory for %d calls", opts.calls);
        return 1;
    }
    for (int i = 0; i < opts.calls; i++) {
        peer.calls[i] = (struct fp_call){.peer = &peer, .index = i + 1};
        peer.calls[i].m.fd = -1;
    }

    int r = fp_sip_run(&peer);
    if (r < 0) {
        free(peer.calls);
        return 1;
    }

    int passed = 0, failed_as_expected = 0;
    for (int i = 0; i < opts.calls; i++) {
        const struct fp_call *c = &peer.calls[i];
        print_call(stdout, &opts, c, peer.begin_ns);
        if (call_is_ok(c))
            passed++;
        else if (c->state == FP_CALL_ENDED)
            failed_as_expected++;
    }
    if (opts.calls > 1 || opts.is_uas)
        print_summary(stdout, &opts, &peer, passed);
    fflush(stdout);

    bool is_success = opts.expect_fail ? failed_as_expected == opts.calls : passed == opts.calls;
    log_info("faxpeer: %d of %d calls passed%s -> %s", passed, opts.calls,
             opts.expect_fail ? " (failure expected)" : "", is_success ? "success" : "FAILURE");
    free(peer.calls);
    return is_success ? 0 : 1;
}
