/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logger: formats a line into a stack buffer and writes it with one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_level = LOG_INFO;
static bool log_to_syslog;

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
    [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void
log_setup(int level, bool use_syslog, const char *ident)
{
    log_level = level;
    if (use_syslog && !log_to_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    else if (!use_syslog && log_to_syslog)
        closelog();
    log_to_syslog = use_syslog;
}

bool
log_enabled(int level)
{
    return level <= log_level;
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
    char line[2048];
    int saved_errno = errno;

    if (!log_enabled(level))
        return;
    if (log_to_syslog) {
        vsyslog(level, fmt, ap);
        errno = saved_errno;
        return;
    }

    struct timespec ts;
    struct tm tm;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    (void)localtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-7s ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, level_names[level & 7]);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    while (len > 0 && line[len - 1] == '\n')
        len--;
    line[len++] = '\n';
    (void)!write(STDERR_FILENO, line, len);
    errno = saved_errno;
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

int
log_level_from_name(const char *name)
{
    for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "error") == 0)
        return LOG_ERR;
    if (strcasecmp(name, "warn") == 0)
        return LOG_WARNING;
    return -EINVAL;
}
