/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inklessd: the fax server daemon. Loads the config, prepares the var dir, starts the media
 * workers and the SIP thread, then runs the main loop: signals and the shutdown sequence.
 *
 * DESIGN: the main thread owns the config and signals (signalfd; every other thread blocks
 * them). SIGTERM/SIGINT drain: the SIP thread answers new INVITEs 503 while calls finish, up
 * to server.drain_timeout; then it hangs up what is left and stops; then the media workers
 * stop; exit 0. A second SIGTERM/SIGINT skips the wait. SIGHUP reloads numbers and trunks
 * (and the log level) without touching calls in progress; a broken file keeps the old config.
 * SIGUSR1 logs each media worker's figures (channels, tick lateness and work) for the NOC and
 * for bench/capacity.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "config.h"
#include "log.h"
#include "srtp.h"
#include "loop.h"
#include "media.h"
#include "mq.h"
#include "store.h"
#include "ua.h"

#define DEFAULT_CONFIG "etc/inkless.conf"
#define SYSTEM_CONFIG "/etc/inkless/inkless.conf"
#define SHUTDOWN_GRACE_S 5 /* after SHUTDOWN, how long BYEs may take before we stop anyway */

struct daemon {
    struct cfg *cfg;
    struct loop *loop;
    struct mq *main_q;
    struct mq *sip_q;
    struct media_pool *media;
    struct store *store;
    struct call_table *calls;
    bool debug;

    pthread_t sip_thread;
    sem_t sip_started;
    int sip_start_error;
    char sip_errbuf[256];

    int sigfd;
    struct loop_io sig_io, q_io;
    struct timer drain_timer;
    bool is_draining;
    bool is_stopping;
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: inklessd [-c FILE] [--check-config] [--debug]\n"
               "  -c, --config FILE   configuration (default: ./" DEFAULT_CONFIG
               " if present, else " SYSTEM_CONFIG ")\n"
               "      --check-config  load and check the configuration, then exit (0 = good)\n"
               "  -d, --debug         log at debug level, including sofia-sip's own log\n"
               "  -V, --version       print the version\n");
}

/* mkdir -p for the var dir layout (DESIGN "Storage"). */
static int
make_dirs(const char *root)
{
    static const char *const subdirs[] = {
        "",           "/spool",       "/spool/rx", "/spool/tx",
        "/spool/tmp", "/spool/purge", "/archive",  "/archive/objects",
    };
    char path[CFG_PATH_LEN + 32];

    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", root, subdirs[i]);
        for (char *p = path + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            if (mkdir(path, 0750) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

static void
media_options_from_cfg(const struct cfg *cfg, struct media_options *ret)
{
    int modems = FX38_MODEM_V27TER;
    if (cfg->fax_max_rate >= 7200)
        modems |= FX38_MODEM_V29;
    if (cfg->fax_max_rate >= 12000)
        modems |= FX38_MODEM_V17;
    *ret = (struct media_options){
        .threads = cfg->media_threads,
        .tick_ms = cfg->tick_ms,
        .speedup = cfg->speedup,
        .max_channels = cfg->max_channels,
        .fax =
            {
                .ecm = cfg->fax_ecm,
                .modems = modems,
                .fine = cfg->fax_fine,
                .superfine = cfg->fax_superfine,
                .inactivity_s = cfg->fax_inactivity_s,
            },
        .redundancy_control = cfg->udptl_redundancy_control,
        .redundancy_image = cfg->udptl_redundancy_image,
        .fec_span = cfg->udptl_fec_span,
        .fec_entries = cfg->udptl_fec_entries,
        .t38_timeout_s = cfg->fax_t38_timeout_s,
        .jitter_delay_ms = cfg->audio_jitter_delay_ms,
    };
    snprintf(ret->bind_addr, sizeof(ret->bind_addr), "%s", cfg->media_addr);
    snprintf(ret->ident, sizeof(ret->ident), "%s", cfg->fax_ident);
    snprintf(ret->header, sizeof(ret->header), "%s", cfg->fax_header);
}

/* ---- the SIP thread ---- */

static void *
sip_thread_main(void *arg)
{
    struct daemon *d = arg;
    (void)pthread_setname_np(pthread_self(), "sip");
    const struct cfg *cfg = d->cfg;
    char tls_dir[CFG_PATH_LEN + 8];
    /* sofia's certificate directory (see ua_options): private to us, under the var dir. */
    snprintf(tls_dir, sizeof(tls_dir), "%s/tls", cfg->var_dir);
    struct ua_options opts = {
        .listen_addr = cfg->sip_listen,
        .port = cfg->sip_port,
        .udp = cfg->sip_udp,
        .tcp = cfg->sip_tcp,
        .tls = cfg->sip_tls,
        .tls_port = cfg->sip_tls_port,
        .tls_cert = cfg->sip_tls_cert,
        .tls_key = cfg->sip_tls_key,
        .tls_ca = cfg->sip_tls_ca,
        .tls_dir = tls_dir,
        .tls_verify_clients = cfg->sip_tls_verify_clients,
        .user_agent = cfg->user_agent,
        .answer_delay_ms = cfg->answer_delay_ms,
        .max_sdp_bytes = cfg->max_sdp_bytes,
        .debug = d->debug,
    };
    struct ua *ua = ua_new(&opts, &call_ua_events, d->calls, d->sip_errbuf, sizeof(d->sip_errbuf));
    if (ua) {
        int r = call_table_attach_ua(d->calls, ua);
        if (r < 0) {
            snprintf(d->sip_errbuf, sizeof(d->sip_errbuf), "cannot watch queue: %s", strerror(-r));
            ua_free(ua);
            ua = NULL;
        }
    }
    d->sip_start_error = ua ? 0 : -1;
    sem_post(&d->sip_started);
    if (!ua)
        return NULL;
    ua_run(ua);
    ua_free(ua);
    return NULL;
}

static int
post_sip(struct daemon *d, int type, void *ptr)
{
    struct mq_msg msg = {.type = type, .ptr = ptr};
    return mq_send(d->sip_q, &msg);
}

/* ---- shutdown sequence ---- */

static void
stop_now(struct daemon *d)
{
    if (d->is_stopping)
        return;
    d->is_stopping = true;
    timer_cancel(d->loop, &d->drain_timer);
    (void)post_sip(d, CALL_CMD_SHUTDOWN, NULL);

    /* The SIP thread returns once nua has sent its BYEs; don't wait for ever on a silent
     * far end. This is the shutdown path: blocking the main thread here is fine. */
    struct timespec deadline;
    (void)clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SHUTDOWN_GRACE_S;
    if (pthread_timedjoin_np(d->sip_thread, NULL, &deadline) != 0) {
        log_warning("SIP shutdown took over %d s: stopping anyway", SHUTDOWN_GRACE_S);
        (void)post_sip(d, CALL_CMD_FORCE_EXIT, NULL);
        pthread_join(d->sip_thread, NULL);
    }
    loop_stop(d->loop);
}

static void
on_drain_timeout(void *data)
{
    struct daemon *d = data;
    log_notice("drain timeout (%d s): hanging up the remaining calls", d->cfg->drain_timeout_s);
    stop_now(d);
}

static void
start_drain(struct daemon *d)
{
    if (d->is_draining) {
        log_notice("second stop signal: stopping now");
        stop_now(d);
        return;
    }
    d->is_draining = true;
    log_notice("stop requested: draining for up to %d s", d->cfg->drain_timeout_s);
    (void)post_sip(d, CALL_CMD_DRAIN, NULL);
    (void)timer_arm(d->loop, &d->drain_timer, (uint64_t)d->cfg->drain_timeout_s * 1000000000ull);
}

static void
reload(struct daemon *d)
{
    char err[512];
    struct cfg *fresh = cfg_load(d->cfg->path, err, sizeof(err));
    if (!fresh) {
        log_error("reload failed, keeping the running configuration: %s", err);
        return;
    }
    log_setup(d->debug ? LOG_DEBUG : fresh->log_level, fresh->log_target == CFG_LOG_SYSLOG,
              "inklessd");
    struct cfg_routes *routes = cfg_take_routes(fresh);
    cfg_free(fresh);
    if (!routes || post_sip(d, CALL_CMD_ROUTES, routes) < 0) {
        log_error("reload failed: SIP thread queue full");
        cfg_free_routes(routes);
    }
}

/* Every channel holds a media socket: raise the soft limit on open files to the hard one (a
 * service manager's soft default is often 1024), and warn if even that is too few. */
static void
check_fd_limit(int max_channels)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t need = (rlim_t)max_channels + 256; /* SIP, storage, the loops */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        log_warning("open file limit %llu is below the %llu that %d channels need: raise "
                    "LimitNOFILE (or ulimit -n)",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)need, max_channels);
}

/* One "stats:" line per media worker: cumulative since start (rates are the reader's). */
static void
log_media_stats(const struct daemon *d)
{
    for (int i = 0; i < media_workers(d->media); i++) {
        struct media_stats st;
        media_get_stats(d->media, i, &st);
        log_notice("stats: media worker %d: %d channel(s), %" PRIu64 " ticks, %" PRIu64
                   " late, lateness p99 %.1f ms max %.1f ms, tick work %.3f s in all, "
                   "max %.2f ms",
                   i, st.channels, st.ticks, st.late_ticks, (double)st.p99_late_ns / 1e6,
                   (double)st.max_late_ns / 1e6, (double)st.work_ns / 1e9,
                   (double)st.max_work_ns / 1e6);
    }
}

static void
on_signal(void *data, int fd, uint32_t events)
{
    struct daemon *d = data;
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            start_drain(d);
            break;
        case SIGHUP:
            log_notice("SIGHUP: reloading %s", d->cfg->path);
            reload(d);
            break;
        case SIGUSR1:
            log_media_stats(d);
            break;
        }
    }
}

static void
on_main_message(void *data, const struct mq_msg *msg)
{
    struct daemon *d = data;
    if (msg->type == MAIN_MSG_IDLE && d->is_draining) {
        log_notice("drained: no calls left");
        stop_now(d);
    }
}

static void
on_main_queue(void *data, int fd, uint32_t events)
{
    struct daemon *d = data;
    mq_drain(d->main_q, on_main_message, d);
}

/* ---- startup ---- */

static const char *
default_config_path(void)
{
    return access(DEFAULT_CONFIG, R_OK) == 0 ? DEFAULT_CONFIG : SYSTEM_CONFIG;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'C'},
        {"debug", no_argument, NULL, 'd'},        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool check_only = false;
    struct daemon d = {.sigfd = -1};
    char err[512];
    int opt;

    while ((opt = getopt_long(argc, argv, "c:dVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'd':
            d.debug = true;
            break;
        case 'V':
            printf("inklessd 0.1.0\n");
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!config_path)
        config_path = default_config_path();

    d.cfg = cfg_load(config_path, err, sizeof(err));
    if (!d.cfg) {
        fprintf(stderr, "inklessd: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("%s: OK (%d trunk(s), %d number(s), %d channel(s))\n", config_path,
               d.cfg->routes.ntrunks, d.cfg->routes.nnumbers, d.cfg->max_channels);
        cfg_free(d.cfg);
        return 0;
    }

    log_setup(d.debug ? LOG_DEBUG : d.cfg->log_level, d.cfg->log_target == CFG_LOG_SYSLOG,
              "inklessd");
    check_fd_limit(d.cfg->max_channels);
    int r = make_dirs(d.cfg->var_dir);
    if (r < 0) {
        fprintf(stderr, "inklessd: cannot create var dir %s: %s\n", d.cfg->var_dir, strerror(-r));
        return 1;
    }

    /* spandsp writes pages with localtime(): initialise the zone once, before threads
     * (SPANDSP-NOTES pitfall 10). Signals go to the signalfd only: block them in every thread
     * by blocking them here before any thread starts. */
    tzset();
    if (fx38_srtp_init() < 0) {
        fprintf(stderr, "inklessd: cannot initialise libsrtp2\n");
        return 1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    d.loop = loop_new(16);
    d.main_q = mq_new(64);
    d.sip_q = mq_new((size_t)d.cfg->max_channels + 64);
    d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (!d.loop || !d.main_q || !d.sip_q || d.sigfd < 0) {
        fprintf(stderr, "inklessd: cannot set up the main loop: %s\n", strerror(errno));
        return 1;
    }
    (void)loop_add_io(d.loop, &d.sig_io, d.sigfd, EPOLLIN, on_signal, &d);
    (void)loop_add_io(d.loop, &d.q_io, mq_fd(d.main_q), EPOLLIN, on_main_queue, &d);
    timer_init(&d.drain_timer, on_drain_timeout, &d);

    struct media_options mo;
    media_options_from_cfg(d.cfg, &mo);
    d.store = store_start(d.cfg, d.sip_q);
    d.media = d.store ? media_start(&mo, d.sip_q) : NULL;
    if (!d.media) {
        fprintf(stderr, "inklessd: cannot start media or storage threads: %s\n", strerror(errno));
        return 1;
    }
    d.calls = call_table_new(d.cfg, cfg_take_routes(d.cfg), d.media, d.store, d.sip_q, d.main_q);
    if (!d.calls) {
        fprintf(stderr, "inklessd: out of memory for %d channels\n", d.cfg->max_channels);
        return 1;
    }

    sem_init(&d.sip_started, 0, 0);
    if (pthread_create(&d.sip_thread, NULL, sip_thread_main, &d) != 0) {
        fprintf(stderr, "inklessd: cannot start the SIP thread\n");
        return 1;
    }
    while (sem_wait(&d.sip_started) < 0 && errno == EINTR)
        ;
    if (d.sip_start_error) {
        pthread_join(d.sip_thread, NULL);
        fprintf(stderr, "inklessd: SIP: %s\n", d.sip_errbuf);
        media_stop(d.media);
        return 1;
    }

    /* "udp+tcp, tls on 5061": UDP and TCP share sip.port, TLS has its own. */
    const struct cfg *c = d.cfg;
    char transports[96];
    int n = snprintf(transports, sizeof(transports), "%s%s%s", c->sip_udp ? "udp" : "",
                     c->sip_udp && c->sip_tcp ? "+" : "", c->sip_tcp ? "tcp" : "");
    if (c->sip_tls)
        snprintf(transports + n, sizeof(transports) - (size_t)n, "%stls on %d%s", n > 0 ? ", " : "",
                 c->sip_tls_port,
                 c->sip_tls_verify_clients ? " (client certificates required)" : "");
    log_notice("inklessd 0.1.0 ready: SIP on %s:%d (%s), %d media thread(s), %d channel(s), "
               "var dir %s",
               c->sip_listen, c->sip_udp || c->sip_tcp ? c->sip_port : c->sip_tls_port, transports,
               c->media_threads, c->max_channels, c->var_dir);

    r = loop_run(d.loop);

    media_stop(d.media);
    store_stop(d.store);
    call_table_free(d.calls);
    close(d.sigfd);
    mq_free(d.sip_q);
    mq_free(d.main_q);
    loop_free(d.loop);
    cfg_free(d.cfg);
    sem_destroy(&d.sip_started);
    log_notice("inklessd stopped");
    return r < 0 ? 1 : 0;
}
