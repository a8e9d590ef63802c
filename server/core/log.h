/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process-wide logger: levels are syslog's (LOG_ERR … LOG_DEBUG); target stderr or syslog.
 * One write per line, so lines from several threads never interleave. The logger and the
 * config root are the only globals (STYLE §5). */
#ifndef INKLESS_CORE_LOG_H
#define INKLESS_CORE_LOG_H

#include <stdbool.h>
#include <stdarg.h>
#include <syslog.h>

/* Set level and target; `ident` is the syslog ident (borrowed, must stay alive). Call from
 * the main thread before other threads start, and again on reload (races are benign: an int). */
void log_setup(int level, bool use_syslog, const char *ident);

/* Is `level` enabled? Cheap; use it before formatting expensive debug output. */
bool log_enabled(int level);

/* Log one line at `level`. Thread-safe, does not block beyond a write(2) to stderr. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same with a va_list, for adapters (sofia's su_log). */
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Parse "err|warning|notice|info|debug" into a LOG_* level; -EINVAL if unknown. */
int log_level_from_name(const char *name);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
/* `return log_err(r, "…")`: logs at LOG_ERR and evaluates to r. */
#define log_err(r, ...) (log_msg(LOG_ERR, __VA_ARGS__), (r))
/* The same as a statement, when there is nothing to return. */
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
