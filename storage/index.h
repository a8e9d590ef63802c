/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fax index: one row per fax sent or received, its pages (archive object ids), and usage
 * figures per DID per day. Today it is <var_dir>/index.sqlite (SQLite, WAL); a shared
 * PostgreSQL will implement this same interface for clusters, so nothing here names SQLite.
 *
 * DESIGN: a blocking library. Every call does disk I/O (a commit fsyncs), so call it from a
 * worker or the CLI, never from a loop thread. A handle is one database connection: use it
 * from one thread at a time (each worker opens its own). Several handles, in one process or
 * several (inklessd and the `inkless` CLI), may be open at once: readers never block the
 * writer and see a consistent snapshot; writers take turns, waiting up to IDX_BUSY_TIMEOUT_MS.
 * Callbacks run while a read is in progress: they may not call back into the same handle.
 * Callers commit a row only after every archive object it names is durable (DESIGN.md).
 */
#ifndef INKLESS_STORAGE_INDEX_H
#define INKLESS_STORAGE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDX_FILE "index.sqlite"  /* in the var dir */
#define IDX_SCHEMA_VERSION 1     /* the newest schema this build knows */
#define IDX_BUSY_TIMEOUT_MS 5000 /* how long a writer waits for another one */
#define IDX_HASH_HEX_LEN 64      /* an archive object id: SHA-256, lower-case hex */
#define IDX_DAY_LEN 10           /* "YYYY-MM-DD" */
#define IDX_ERR_LEN 256

struct idx;

/* enum value 0 is "any" in filters; a fax row must name a real value. */
enum idx_direction { IDX_DIRECTION_ANY = 0, IDX_DIRECTION_RX, IDX_DIRECTION_TX };
enum idx_status { IDX_STATUS_ANY = 0, IDX_STATUS_OK, IDX_STATUS_PARTIAL, IDX_STATUS_FAILED };
/* NONE: the call ended before any fax transport was set up. */
enum idx_transport { IDX_TRANSPORT_NONE = 0, IDX_TRANSPORT_T38, IDX_TRANSPORT_G711 };

/* One fax. Strings are NUL-terminated within their field; "" = unknown. A string read back
 * that does not fit (a row written by something else) is truncated. */
struct idx_fax {
    int64_t id; /* set by idx_add_fax/idx_get_fax; ignored when adding */
    enum idx_direction direction;
    char did[32];           /* our number */
    char remote_number[64]; /* the far end's number */
    char remote_ident[32];  /* its TSI/CSI */
    char trunk[64];
    char call_id[256];      /* SIP Call-ID */
    char job[64];           /* outbound: the spool job id */
    int64_t started, ended; /* wall clock, unix seconds */
    int64_t duration_ms;    /* answer to phase E */
    enum idx_status status;
    int t30_code; /* spandsp T30_ERR_* */
    char t30_text[128];
    int pages; /* pages transferred: what usage counts */
    int bit_rate;
    bool is_ecm;
    enum idx_transport transport;
    char resolution[16];                 /* as the caller names it, e.g. "fine" */
    char manifest[IDX_HASH_HEX_LEN + 1]; /* the manifest object id, "" = none */
    char owner[64];                      /* the user the fax belongs to, "" = none */
    char source_file[256]; /* the spool/rx file it was ingested from, "" = none; unique */
};

/* One stored page of a fax: pages are numbered 1..n in order. */
struct idx_page {
    int number;
    char hash[IDX_HASH_HEX_LEN + 1]; /* archive object id of the canonical page */
    int width, length;               /* pixels */
    int xres, yres;                  /* dots per inch, as storage/page.h normalises them */
};

/* idx_list_faxes: every field is optional (0, "" or ANY = no condition). */
struct idx_filter {
    char did[32];
    enum idx_direction direction;
    enum idx_status status;
    int64_t started_from; /* started >= this (unix s), 0 = no lower bound */
    int64_t started_to;   /* started < this, 0 = no upper bound */
    int limit;            /* at most this many rows, 0 = all */
};

/* Usage per DID per direction per UTC day (the day the fax started). */
struct idx_usage {
    char day[IDX_DAY_LEN + 1];
    char did[32];
    enum idx_direction direction;
    int64_t faxes; /* every fax row, failed ones included */
    int64_t pages; /* sum of idx_fax.pages */
};

/* idx_usage: every field optional; days are "YYYY-MM-DD", both bounds inclusive. */
struct idx_usage_filter {
    char did[32];
    enum idx_direction direction;
    char day_from[IDX_DAY_LEN + 1];
    char day_to[IDX_DAY_LEN + 1];
};

struct idx_stats {
    int64_t faxes, faxes_rx, faxes_tx;
    int64_t faxes_ok, faxes_partial, faxes_failed;
    int64_t pages;        /* page rows: pages stored, counting duplicates */
    int64_t page_objects; /* distinct page hashes: archive objects referenced */
    int64_t manifests;    /* faxes with a manifest */
};

/* Iteration callbacks get borrowed rows, valid during the call. Return 0 to go on, > 0 to
 * stop (the iterating function then returns that value), < 0 (-errno) to abort with it. */
typedef int idx_fax_fn(void *data, const struct idx_fax *fax);
typedef int idx_page_fn(void *data, const struct idx_page *page);
typedef int idx_hash_fn(void *data, const char *hash);
typedef int idx_manifest_fn(void *data, int64_t fax_id, const char *manifest);
typedef int idx_usage_fn(void *data, const struct idx_usage *usage);

/* Open <var_dir>/IDX_FILE, creating it (mode 0640) if missing, in WAL mode with synchronous
 * commits (a committed row survives power loss), and migrate it to IDX_SCHEMA_VERSION, each
 * step in its own transaction. `var_dir` is borrowed. Returns 0 and a handle (free it with
 * idx_close), or -errno with *ret_idx = NULL and a message in `err` (may be NULL):
 * -EBADMSG: not a database, corrupt, or not an inkless index; -EPROTO: written by a newer
 * inkless (schema version above ours; the file is left untouched); -ENOENT, -EACCES, -EROFS,
 * -ENOSPC, -EIO, -EBUSY (locked longer than IDX_BUSY_TIMEOUT_MS). Blocks. */
int idx_open(const char *var_dir, char *err, size_t err_len, struct idx **ret_idx);

/* Close the handle. Accepts NULL. Blocks (the last one out checkpoints the WAL). */
void idx_close(struct idx *idx);

/* The last error on this handle as text ("" if none yet). Owned by the handle, valid until
 * its next call. */
const char *idx_errmsg(const struct idx *idx);

/* Add a fax with its pages (`npages` rows, numbered 1..npages; may be 0) and count it in
 * usage, all in one transaction. Both arrays are borrowed. Idempotent ingest: if a fax with
 * the same non-empty source_file is already there, nothing changes and it returns 1 with that
 * row's id; otherwise 0 with the new id. -EINVAL for a bad field (direction or status ANY, a
 * malformed hash, a page out of order, a string not terminated in its field), -EBUSY, -EIO,
 * -ENOSPC and the like. Blocks until the commit is durable. */
int idx_add_fax(struct idx *idx, const struct idx_fax *fax, const struct idx_page *pages,
                int npages, int64_t *ret_id);

/* Read fax `id` into *ret_fax. 0, -ENOENT if there is no such fax, or -errno. Blocks. */
int idx_get_fax(struct idx *idx, int64_t id, struct idx_fax *ret_fax);

/* Call `fn` for each page of fax `fax_id`, in page order. Returns the number of pages, -ENOENT
 * if there is no such fax, or what the callback returned. Blocks. */
int idx_get_pages(struct idx *idx, int64_t fax_id, idx_page_fn *fn, void *data);

/* Call `fn` for each fax matching `f` (NULL = all), newest first (by started, then id).
 * Returns 0 or what the callback returned. Blocks. */
int idx_list_faxes(struct idx *idx, const struct idx_filter *f, idx_fax_fn *fn, void *data);

/* Call `fn` for each fax one of whose pages is object `hash` (scrub: who loses what if an
 * object is missing or corrupt), by id. Returns 0 or what the callback returned. Blocks. */
int idx_list_faxes_by_page(struct idx *idx, const char *hash, idx_fax_fn *fn, void *data);

/* Call `fn` once for each distinct page hash the index references, in hash order (scrub).
 * Returns 0 or what the callback returned. Blocks. */
int idx_for_each_page_hash(struct idx *idx, idx_hash_fn *fn, void *data);

/* Call `fn` for each fax that has a manifest, by id. Returns 0 or what the callback
 * returned. Blocks. */
int idx_for_each_fax_manifest(struct idx *idx, idx_manifest_fn *fn, void *data);

/* Counts over the whole index into *ret_stats. 0 or -errno. Blocks. */
int idx_stats(struct idx *idx, struct idx_stats *ret_stats);

/* Call `fn` for each usage record matching `f` (NULL = all), by day, DID, then direction.
 * Returns 0 or what the callback returned; -EINVAL for a malformed day. Blocks. */
int idx_usage(struct idx *idx, const struct idx_usage_filter *f, idx_usage_fn *fn, void *data);

#endif
