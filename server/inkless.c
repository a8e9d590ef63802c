/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inkless: the control tool. `inkless send` commits a fax job into the spool directory of the
 * daemon named by the config (OpenSMTPD-style: inklessd picks it up from spool/tx/); the REST
 * API and the email gateway will submit through the same spool. inbox, show, export, scrub and
 * stats read the archive and its index (cli_archive.c). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "convert.h"
#include "spool.h"

#define DEFAULT_CONFIG "etc/inkless.conf"
#define SYSTEM_CONFIG "/etc/inkless/inkless.conf"

static void
usage(FILE *f)
{
    fprintf(f, "usage: inkless [-c CONFIG] send --to NUMBER --trunk NAME [--from NUMBER]\n"
               "                [--header TEXT] [--resolution standard|fine|superfine]\n"
               "                [--at YYYY-MM-DDTHH:MM[:SS]Z | --at +SECONDS] [--owner NAME]\n"
               "                [--max-attempts N]\n"
               "                [--wait [--timeout SECONDS]] FILE...\n"
               "  send    convert the FILEs (PDF, PostScript, TIFF, PNG, JPEG or plain text; in\n"
               "          order, one fax) and queue them for NUMBER over trunk NAME; prints the\n"
               "          job id. --at: not before then (UTC). --max-attempts: calls at most\n"
               "          (default: outbound.max_attempts). --wait: wait for the result,\n"
               "          print it, and exit 0 only if every page went through.\n"
               "       inkless [-c CONFIG] jobs [--all]\n"
               "  jobs    outbound jobs not finished yet (--all: every job in the spool)\n"
               "       inkless [-c CONFIG] job ID\n"
               "  job     one job: its state and every attempt (time, trunk, SIP and T.30 codes,\n"
               "          pages confirmed)\n"
               "       inkless [-c CONFIG] cancel ID\n"
               "  cancel  cancel a job (an attempt in progress is hung up)\n");
    cli_archive_usage(f);
}

/* --at: "YYYY-MM-DDTHH:MM[:SS]Z" (UTC) or "+SECONDS" from now. 0 or -EINVAL. */
static int
parse_at(const char *arg, time_t *ret)
{
    char *end;
    if (arg[0] == '+') {
        errno = 0;
        long long s = strtoll(arg + 1, &end, 10);
        if (errno || end == arg + 1 || *end || s < 0 || s > 10LL * 366 * 86400)
            return -EINVAL;
        *ret = time(NULL) + (time_t)s;
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(arg, "%Y-%m-%dT%H:%M", &tm);
    if (rest && *rest == ':')
        rest = strptime(rest, ":%S", &tm);
    if (!rest || strcmp(rest, "Z") != 0)
        return -EINVAL;
    *ret = timegm(&tm);
    return 0;
}

/* The submitted files as one fax TIFF in the spool's tmp directory (path to ret_path), with
 * the configured limits. Returns the page count or -errno (message in err). */
static int
convert(const struct cfg *cfg, char **files, int nfiles, enum conv_resolution res, char *ret_path,
        size_t size, char *err, size_t errlen)
{
    char dir[CFG_PATH_LEN + 16];
    snprintf(dir, sizeof(dir), "%s/spool/tmp", cfg->var_dir);
    if (snprintf(ret_path, size, "%s/convert-%ld-%ld.tif", dir, (long)getpid(), (long)time(NULL)) >=
        (int)size) {
        snprintf(err, errlen, "%.300s: path too long", dir);
        return -ENAMETOOLONG;
    }
    /* The var dir may not exist yet (inklessd makes it); spool_submit makes the rest. */
    const char *const parts[] = {"", "/spool", "/spool/tmp"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char path[CFG_PATH_LEN + 16];
        snprintf(path, sizeof(path), "%s%s", cfg->var_dir, parts[i]);
        if (mkdir(path, 0750) < 0 && errno != EEXIST) {
            int r = -errno;
            snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
            return r;
        }
    }
    const struct conv_limits lim = {
        .max_pages = cfg->out_max_pages,
        .max_input_bytes = (uint64_t)cfg->out_max_document_mb << 20,
        .max_pixels_per_page = (uint64_t)cfg->out_max_megapixels * 1000000,
        .timeout_s = cfg->out_convert_timeout_s,
    };
    return conv_document((const char *const *)files, (size_t)nfiles, ret_path, res, &lim, err,
                         errlen);
}

static int
wait_result(const char *document, int timeout_s)
{
    char path[600];
    size_t n = strlen(document);
    snprintf(path, sizeof(path), "%.*s.json", (int)(n > 4 ? n - 4 : n), document);
    for (long waited_ms = 0; waited_ms <= (long)timeout_s * 1000; waited_ms += 100) {
        FILE *f = fopen(path, "re");
        if (f) {
            char buf[4096];
            size_t len = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[len] = '\0';
            fputs(buf, stdout);
            return strstr(buf, "\"success\": true") ? 0 : 1;
        }
        struct timespec ts = {.tv_nsec = 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "inkless: no result after %d s (the job stays queued)\n", timeout_s);
    return 2;
}

static int
cmd_send(const struct cfg *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 't'},
        {"trunk", required_argument, NULL, 'k'},
        {"from", required_argument, NULL, 'f'},
        {"header", required_argument, NULL, 'H'},
        {"wait", no_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 'T'},
        {"resolution", required_argument, NULL, 'r'},
        {"at", required_argument, NULL, 'a'},
        {"owner", required_argument, NULL, 'o'},
        {"max-attempts", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    struct spool_job job = {0};
    bool wait = false;
    int timeout_s = 600, opt;
    enum conv_resolution res = CONV_RES_FINE;
    char err[512];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (cfg_normalize_number(optarg, job.to, sizeof(job.to)) < 0) {
                fprintf(stderr, "inkless: --to %s: not a phone number\n", optarg);
                return 2;
            }
            break;
        case 'k':
            snprintf(job.trunk, sizeof(job.trunk), "%s", optarg);
            break;
        case 'f':
            if (cfg_normalize_number(optarg, job.from, sizeof(job.from)) < 0) {
                fprintf(stderr, "inkless: --from %s: not a phone number\n", optarg);
                return 2;
            }
            break;
        case 'H':
            snprintf(job.header, sizeof(job.header), "%s", optarg);
            break;
        case 'w':
            wait = true;
            break;
        case 'r':
            if (strcmp(optarg, "standard") == 0)
                res = CONV_RES_STANDARD;
            else if (strcmp(optarg, "fine") == 0)
                res = CONV_RES_FINE;
            else if (strcmp(optarg, "superfine") == 0)
                res = CONV_RES_SUPERFINE;
            else {
                fprintf(stderr, "inkless: --resolution is standard, fine or superfine\n");
                return 2;
            }
            break;
        case 'a':
            if (parse_at(optarg, &job.not_before) < 0) {
                fprintf(stderr, "inkless: --at %s: give YYYY-MM-DDTHH:MM[:SS]Z (UTC) or +SECONDS\n",
                        optarg);
                return 2;
            }
            break;
        case 'o':
            snprintf(job.owner, sizeof(job.owner), "%s", optarg);
            break;
        case 'm':
            job.max_attempts = atoi(optarg);
            if (job.max_attempts < 1 || job.max_attempts > 100) {
                fprintf(stderr, "inkless: --max-attempts is 1..100\n");
                return 2;
            }
            break;
        case 'T':
            timeout_s = atoi(optarg);
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc || !job.to[0] || !job.trunk[0]) {
        usage(stderr);
        return 2;
    }

    bool known = false;
    for (int i = 0; i < cfg->routes.ntrunks; i++)
        known |= strcmp(cfg->routes.trunks[i].name, job.trunk) == 0;
    if (!known) {
        fprintf(stderr, "inkless: no trunk \"%s\" in %s\n", job.trunk, cfg->path);
        return 2;
    }
    /* Converted here, before the job exists: the submitter learns at once of a document
     * that cannot be sent, and the job's page count is known from the start. */
    char doc[CFG_PATH_LEN + 64];
    int pages = convert(cfg, argv + optind, argc - optind, res, doc, sizeof(doc), err, sizeof(err));
    if (pages < 0) {
        fprintf(stderr, "inkless: %s\n", err);
        return 1;
    }
    job.pages = pages;
    int r = spool_submit(cfg->var_dir, doc, &job);
    (void)unlink(doc);
    if (r < 0) {
        fprintf(stderr, "inkless: cannot queue the job in %s/spool: %s\n", cfg->var_dir,
                strerror(-r));
        return 1;
    }
    printf("%s\n", job.id);
    fflush(stdout);
    fprintf(stderr, "inkless: job %s: %d page(s) to %s via %s queued\n", job.id, pages, job.to,
            job.trunk);
    return wait ? wait_result(job.document, timeout_s) : 0;
}

/* ---- jobs ---- */

static void
print_job_line(const struct spool_job *job, const struct spool_status *st, bool is_header)
{
    if (is_header)
        printf("%-30s %-10s %-15s %-12s %5s %8s  %s\n", "JOB", "STATE", "TO", "TRUNK", "PAGES",
               "ATTEMPTS", "WHY");
    char pages[24];
    snprintf(pages, sizeof(pages), "%d/%d", st->pages_confirmed, job->pages);
    printf("%-30s %-10s %-15s %-12s %5s %8d  %s\n", job->id, spool_state_name(st->state), job->to,
           job->trunk, pages, st->nattempts, st->reason);
}

/* Job and status of `id`, finished jobs included (spool_load_job says -EALREADY for those,
 * with the job read all the same). */
static int
load_any_job(const struct cfg *cfg, const char *id, struct spool_job *job, struct spool_status *st)
{
    int r = spool_load_job(cfg->var_dir, id, job);
    if (r < 0 && r != -EALREADY)
        return r;
    return spool_load_status(cfg->var_dir, id, st);
}

static int
cmd_jobs(const struct cfg *cfg, int argc, char **argv)
{
    bool is_all = argc == 2 && strcmp(argv[1], "--all") == 0;
    if (argc > 2 || (argc == 2 && !is_all)) {
        fprintf(stderr, "usage: inkless jobs [--all]\n");
        return 2;
    }
    char dir[CFG_PATH_LEN + 16];
    snprintf(dir, sizeof(dir), "%s/spool/tx", cfg->var_dir);
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "inkless: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int shown = 0;
    for (int i = 0; i < n; i++) {
        struct spool_job job;
        struct spool_status st;
        if (spool_check_id(names[i]->d_name) == 0 &&
            load_any_job(cfg, names[i]->d_name, &job, &st) == 0 &&
            (is_all || !spool_is_final(st.state)))
            print_job_line(&job, &st, shown++ == 0);
        free(names[i]);
    }
    free(names);
    if (shown == 0)
        fprintf(stderr, "inkless: no %sjobs\n", is_all ? "" : "unfinished ");
    return 0;
}

static int
cmd_job(const struct cfg *cfg, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: inkless job ID\n");
        return 2;
    }
    struct spool_job job;
    struct spool_status st;
    int r = load_any_job(cfg, argv[1], &job, &st);
    if (r < 0) {
        fprintf(stderr, "inkless: job %s: %s\n", argv[1],
                r == -ENOENT ? "no such job" : strerror(-r));
        return 1;
    }
    char when[32];
    struct tm tm;
    time_t created = job.created;
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&created, &tm));
    printf("job           %s\nstate         %s%s%s\nto            %s via trunk %s\n", job.id,
           spool_state_name(st.state), st.reason[0] ? ": " : "", st.reason, job.to, job.trunk);
    printf("from          %s\nsubmitted     %s UTC%s%s\npages         %d of %d confirmed\n",
           job.from[0] ? job.from : "(the trunk's caller id)", when, job.owner[0] ? " by " : "",
           job.owner, st.pages_confirmed, job.pages);
    if (!spool_is_final(st.state) && st.not_before > 0) {
        time_t nb = (time_t)st.not_before;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&nb, &tm));
        printf("next attempt  not before %s UTC\n", when);
    }
    int kept = st.nattempts < SPOOL_MAX_ATTEMPTS ? st.nattempts : SPOOL_MAX_ATTEMPTS;
    printf("attempts      %d%s\n", st.nattempts,
           st.nattempts > kept ? " (the oldest are not kept)" : "");
    for (int i = 0; i < kept; i++) {
        const struct spool_attempt *a = &st.attempts[i];
        time_t t = (time_t)a->started;
        if (a->started > 0)
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
        else
            snprintf(when, sizeof(when), "-");
        printf("  %2d  %s  %-10s %-12s SIP %3d  T.30 %3d  pages %d..: %d confirmed  %s\n",
               st.nattempts - kept + i + 1, when, a->trunk, a->outcome, a->sip_status,
               a->t30_status, a->first_page, a->pages_confirmed, a->text);
    }
    return 0;
}

static int
cmd_cancel(const struct cfg *cfg, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: inkless cancel ID\n");
        return 2;
    }
    int r = spool_cancel(cfg->var_dir, argv[1]);
    if (r == -EALREADY) {
        fprintf(stderr, "inkless: job %s is finished already\n", argv[1]);
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "inkless: job %s: %s\n", argv[1],
                r == -ENOENT ? "no such job" : strerror(-r));
        return 1;
    }
    fprintf(stderr, "inkless: job %s: cancel requested\n", argv[1]);
    return 0;
}

/* The commands, by name. */
static const struct command {
    const char *name;
    int (*run)(const struct cfg *cfg, int argc, char **argv);
} commands[] = {
    {"send", cmd_send},   {"jobs", cmd_jobs},   {"job", cmd_job},       {"cancel", cmd_cancel},
    {"inbox", cli_inbox}, {"show", cli_show},   {"export", cli_export}, {"scrub", cli_scrub},
    {"stats", cli_stats}, {"usage", cli_usage},
};

int
main(int argc, char **argv)
{
    const char *config_path = NULL;
    int i = 1;
    char err[512];

    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (!config_path)
        config_path = access(DEFAULT_CONFIG, R_OK) == 0 ? DEFAULT_CONFIG : SYSTEM_CONFIG;
    struct cfg *cfg = cfg_load(config_path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "inkless: %s\n", err);
        return 2;
    }
    int r = -1;
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
        if (strcmp(argv[i], commands[k].name) == 0)
            r = commands[k].run(cfg, argc - i, argv + i);
    }
    if (r < 0) {
        fprintf(stderr, "inkless: unknown command \"%s\"\n", argv[i]);
        usage(stderr);
        r = 2;
    }
    cfg_free(cfg);
    return r;
}
