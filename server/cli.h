/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `inkless` control tool's commands on the archive and the index (cli_archive.c): inbox,
 * show, export, scrub, stats, usage. Each takes the loaded configuration (borrowed: it names
 * the var dir) and its own arguments (argv[0] is the command's name), prints to stdout, reports
 * errors on stderr, and returns the process exit code: 0 success, 1 failure (scrub: problems
 * found), 2 usage. They only read the index, so they may run while inklessd writes to it. */
#ifndef INKLESS_SERVER_CLI_H
#define INKLESS_SERVER_CLI_H

#include <stdio.h>

#include "config.h"

int cli_inbox(const struct cfg *cfg, int argc, char **argv);
int cli_show(const struct cfg *cfg, int argc, char **argv);
int cli_export(const struct cfg *cfg, int argc, char **argv);
int cli_scrub(const struct cfg *cfg, int argc, char **argv);
int cli_stats(const struct cfg *cfg, int argc, char **argv);
int cli_usage(const struct cfg *cfg, int argc, char **argv);

/* The commands' usage lines, for `inkless --help`. */
void cli_archive_usage(FILE *f);

#endif
