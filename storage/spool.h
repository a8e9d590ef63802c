/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The outbound spool: jobs committed into the var dir by `inkless send` (or later the REST
 * API and the email gateway) and picked up by inklessd.
 *
 * DESIGN (after OpenSMTPD's queue): a job is built in spool/tmp/<id>/ — the document and a
 * small key=value "job" file, each written and fsynced — and committed by renaming the
 * directory to spool/tx/<id>/, then fsyncing spool/tx. Only a complete job can ever appear
 * in spool/tx. The daemon writes the result next to the document (document.json), and a
 * job with a result is finished. A blocking library: call it from a worker or a CLI, never
 * from a loop thread.
 */
#ifndef INKLESS_STORAGE_SPOOL_H
#define INKLESS_STORAGE_SPOOL_H

#include <stddef.h>
#include <time.h>

#define SPOOL_ID_LEN 40
#define SPOOL_DOCUMENT "document.tif"
#define SPOOL_RESULT "document.json"

struct spool_job {
    char id[SPOOL_ID_LEN]; /* <UTC time>-<random hex>, also the directory name */
    char to[32];           /* number to call, E.164 digits or as the trunk wants it */
    char trunk[64];
    char from[32];   /* caller ID, "" = the trunk's */
    char header[51]; /* page header line, "" = none */
    time_t created;
    char document[512]; /* absolute or var-dir-relative path of the TIFF, filled by load */
};

/* Commit a new job: copy `tiff_path` into the spool as its document and write the job file
 * (fields of *job except id/created/document, which are filled in). Returns 0, or -errno
 * (-EINVAL for a bad field, -ENOENT for a missing file, disk errors). Blocks. */
int spool_submit(const char *var_dir, const char *tiff_path, struct spool_job *job);

/* Load job `id` from spool/tx/. Returns 0, -ENOENT if it does not exist, -EALREADY if it
 * has a result (finished), -EINVAL if the job file is malformed. Blocks. */
int spool_load_job(const char *var_dir, const char *id, struct spool_job *ret_job);

/* Is `name` a well-formed job id (so it is safe as a path component)? */
int spool_check_id(const char *name);

#endif
