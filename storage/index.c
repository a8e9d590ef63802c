/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fax index on SQLite (see index.h): WAL journal, synchronous commits, versioned
 * migrations, prepared statements with bound parameters only. */
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* PRAGMA application_id of an inkless index ("INKL"): tells our file from any other SQLite
 * database that happens to sit at the same path. */
#define IDX_APPLICATION_ID 0x494e4b4c

/* A fixed-size string field holds its NUL (a caller's struct is not trusted blindly). */
#define FIELD_OK(s) (memchr((s), '\0', sizeof(s)) != NULL)

/* Migrations: migrations[n] takes a database from schema version n to n + 1 (PRAGMA
 * user_version). Each runs in its own transaction together with its user_version bump, so a
 * crash leaves the database at one version or the next, never between. Append only: a
 * released step is never edited, a change is a new step.
 *
 * v1: faxes, their pages, usage per day/DID/direction.
 * - faxes.source_file is UNIQUE (NULLs allowed): the spool/rx name a fax was ingested from,
 *   so a re-ingest after a crash finds the row instead of adding a second one.
 * - Hashes are checked to be 64 lower-case hex digits: an id that cannot name an archive
 *   object never gets in.
 * - pages_hash serves scrub ("which faxes use this object?") and the distinct-hash walk.
 */
static const char *const migrations[] = {
    "CREATE TABLE faxes ("
    " id INTEGER PRIMARY KEY,"
    " direction TEXT NOT NULL CHECK (direction IN ('rx', 'tx')),"
    " did TEXT NOT NULL DEFAULT '',"
    " remote_number TEXT NOT NULL DEFAULT '',"
    " remote_ident TEXT NOT NULL DEFAULT '',"
    " trunk TEXT NOT NULL DEFAULT '',"
    " call_id TEXT NOT NULL DEFAULT '',"
    " job TEXT NOT NULL DEFAULT '',"
    " started INTEGER NOT NULL,"
    " ended INTEGER NOT NULL,"
    " duration_ms INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),"
    " t30_code INTEGER NOT NULL DEFAULT 0,"
    " t30_text TEXT NOT NULL DEFAULT '',"
    " pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),"
    " bit_rate INTEGER NOT NULL DEFAULT 0,"
    " ecm INTEGER NOT NULL DEFAULT 0 CHECK (ecm IN (0, 1)),"
    " transport TEXT CHECK (transport IN ('t38', 'g711')),"
    " resolution TEXT NOT NULL DEFAULT '',"
    " manifest TEXT CHECK (length(manifest) = 64 AND manifest NOT GLOB '*[^0-9a-f]*'),"
    " owner TEXT NOT NULL DEFAULT '',"
    " source_file TEXT UNIQUE"
    ");"
    "CREATE INDEX faxes_started ON faxes (started);"
    "CREATE INDEX faxes_did ON faxes (did, started);"
    "CREATE INDEX faxes_status ON faxes (status, started);"
    "CREATE TABLE pages ("
    " fax_id INTEGER NOT NULL REFERENCES faxes (id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL CHECK (number >= 1),"
    " hash TEXT NOT NULL CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),"
    " width INTEGER NOT NULL,"
    " length INTEGER NOT NULL,"
    " xres INTEGER NOT NULL,"
    " yres INTEGER NOT NULL,"
    " PRIMARY KEY (fax_id, number)"
    ");"
    "CREATE INDEX pages_hash ON pages (hash);"
    "CREATE TABLE usage ("
    " day TEXT NOT NULL,"
    " did TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('rx', 'tx')),"
    " pages INTEGER NOT NULL DEFAULT 0,"
    " faxes INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, did, direction)"
    ");"
    "PRAGMA application_id = 1229867852;", /* IDX_APPLICATION_ID */
};
_Static_assert(ARRAY_SIZE(migrations) == IDX_SCHEMA_VERSION, "one migration per version");
_Static_assert(IDX_APPLICATION_ID == 1229867852, "application_id literal in migration 1");

/* The columns of a fax row, in the order read_fax() expects. */
#define FAX_COLUMNS                                                                                \
    "id, direction, did, remote_number, remote_ident, trunk, call_id, job, started, ended,"        \
    " duration_ms, status, t30_code, t30_text, pages, bit_rate, ecm, transport, resolution,"       \
    " manifest, owner, source_file"

struct idx {
    sqlite3 *db;
    /* Statements used on every ingest and lookup, prepared once at open. */
    sqlite3_stmt *find_source;
    sqlite3_stmt *insert_fax;
    sqlite3_stmt *insert_page;
    sqlite3_stmt *add_usage;
    sqlite3_stmt *get_fax;
    sqlite3_stmt *get_pages;
    char errmsg[IDX_ERR_LEN];
};

static const char *const direction_names[] = {
    [IDX_DIRECTION_RX] = "rx",
    [IDX_DIRECTION_TX] = "tx",
};
static const char *const status_names[] = {
    [IDX_STATUS_OK] = "ok",
    [IDX_STATUS_PARTIAL] = "partial",
    [IDX_STATUS_FAILED] = "failed",
};
static const char *const transport_names[] = {
    [IDX_TRANSPORT_T38] = "t38",
    [IDX_TRANSPORT_G711] = "g711",
};

/* The name of enum value `v`, NULL for 0 (ANY/NONE) or out of range. */
static const char *
enum_name(const char *const *names, size_t n, int v)
{
    if (v <= 0 || (size_t)v >= n)
        return NULL;
    return names[v];
}

/* Back from text; 0 (ANY/NONE) for NULL or an unknown name. */
static int
enum_value(const char *const *names, size_t n, const unsigned char *text)
{
    if (!text)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i], (const char *)text) == 0)
            return (int)i;
    return 0;
}

#define DIRECTION_NAME(v) enum_name(direction_names, ARRAY_SIZE(direction_names), (int)(v))
#define STATUS_NAME(v) enum_name(status_names, ARRAY_SIZE(status_names), (int)(v))
#define TRANSPORT_NAME(v) enum_name(transport_names, ARRAY_SIZE(transport_names), (int)(v))

static bool
is_hash(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == IDX_HASH_HEX_LEN;
}

/* "YYYY-MM-DD" in shape (the index compares days as text, so the shape is what matters). */
static bool
is_day(const char *s)
{
    for (int i = 0; i < IDX_DAY_LEN; i++) {
        bool want_dash = i == 4 || i == 7;
        if (want_dash ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
            return false;
    }
    return s[IDX_DAY_LEN] == '\0';
}

/* SQLite result code → -errno. */
static int
map_rc(sqlite3 *db, int rc)
{
    int e;

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
        return -EBADMSG;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        e = db ? sqlite3_system_errno(db) : 0;
        return e > 0 ? -e : -EIO;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return -EINVAL;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_INTERRUPT:
        return -EINTR;
    default:
        return -EIO;
    }
}

/* Record "what: SQLite's message" and return the -errno for `rc`. */
static int
fail(struct idx *idx, int rc, const char *what)
{
    (void)snprintf(idx->errmsg, sizeof(idx->errmsg), "%s: %s", what,
                   idx->db ? sqlite3_errmsg(idx->db) : sqlite3_errstr(rc));
    return map_rc(idx->db, rc);
}

/* Record a message of our own and return `r`. */
static int
fail_msg(struct idx *idx, int r, const char *msg)
{
    (void)snprintf(idx->errmsg, sizeof(idx->errmsg), "%s", msg);
    return r;
}

/* Record a formatted message (truncated if long: it is only for people) and return `r`. */
__attribute__((format(printf, 3, 4))) static int
fail_fmt(struct idx *idx, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(idx->errmsg, sizeof(idx->errmsg), fmt, ap);
    va_end(ap);
    return r;
}

/* Run SQL without data (pragmas, transaction control, migrations). */
static int
exec_sql(struct idx *idx, const char *sql, const char *what)
{
    int rc = sqlite3_exec(idx->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(idx, rc, what);
}

/* Undo an open transaction after an error; the error being reported is the first one. */
static void
rollback(struct idx *idx)
{
    if (!sqlite3_get_autocommit(idx->db))
        (void)sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
prepare(struct idx *idx, const char *sql, sqlite3_stmt **ret_stmt)
{
    int rc = sqlite3_prepare_v2(idx->db, sql, -1, ret_stmt, NULL);
    return rc == SQLITE_OK ? 0 : fail(idx, rc, "prepare");
}

/* A pragma that answers one integer. */
static int
pragma_int(struct idx *idx, const char *sql, int64_t *ret_value)
{
    sqlite3_stmt *st;
    int r = prepare(idx, sql, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_value = sqlite3_column_int64(st, 0);
        r = 0;
    } else {
        r = fail(idx, rc, sql);
    }
    sqlite3_finalize(st);
    return r;
}

/* Step a statement that returns no rows, then reset it for the next use. */
static int
step_done(struct idx *idx, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_DONE ? 0 : fail(idx, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static void
finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Text binding; "" or NULL binds NULL when `empty_is_null` (optional UNIQUE/CHECKed columns).
 * SQLITE_STATIC: the caller's strings outlive the step. */
static int
bind_text(sqlite3_stmt *st, int i, const char *s, bool empty_is_null)
{
    if (!s || (empty_is_null && !s[0]))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Copy a text column into a fixed field, truncating (see index.h); NULL reads as "". */
static void
copy_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;

    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

#define COPY_TEXT(st, col, field) copy_text(st, col, field, sizeof(field))

static void
read_fax(sqlite3_stmt *st, struct idx_fax *f)
{
    *f = (struct idx_fax){
        .id = sqlite3_column_int64(st, 0),
        .direction =
            enum_value(direction_names, ARRAY_SIZE(direction_names), sqlite3_column_text(st, 1)),
        .started = sqlite3_column_int64(st, 8),
        .ended = sqlite3_column_int64(st, 9),
        .duration_ms = sqlite3_column_int64(st, 10),
        .status = enum_value(status_names, ARRAY_SIZE(status_names), sqlite3_column_text(st, 11)),
        .t30_code = sqlite3_column_int(st, 12),
        .pages = sqlite3_column_int(st, 14),
        .bit_rate = sqlite3_column_int(st, 15),
        .is_ecm = sqlite3_column_int(st, 16) != 0,
        .transport =
            enum_value(transport_names, ARRAY_SIZE(transport_names), sqlite3_column_text(st, 17)),
    };
    COPY_TEXT(st, 2, f->did);
    COPY_TEXT(st, 3, f->remote_number);
    COPY_TEXT(st, 4, f->remote_ident);
    COPY_TEXT(st, 5, f->trunk);
    COPY_TEXT(st, 6, f->call_id);
    COPY_TEXT(st, 7, f->job);
    COPY_TEXT(st, 13, f->t30_text);
    COPY_TEXT(st, 18, f->resolution);
    COPY_TEXT(st, 19, f->manifest);
    COPY_TEXT(st, 20, f->owner);
    COPY_TEXT(st, 21, f->source_file);
}

/* Step `st` (prepared and bound by the caller) and hand each fax row to `fn`. */
static int
walk_faxes(struct idx *idx, sqlite3_stmt *st, idx_fax_fn *fn, void *data)
{
    struct idx_fax fax;

    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_ROW)
            return fail(idx, rc, "read faxes");
        read_fax(st, &fax);
        int r = fn(data, &fax);
        if (r != 0)
            return r;
    }
}

/* Bring the schema up to IDX_SCHEMA_VERSION, one step per transaction. BEGIN IMMEDIATE takes
 * the write lock before the version is read again, so when two processes open a fresh index
 * at once, the second waits and then finds the step done. */
static int
migrate(struct idx *idx)
{
    char sql[64], what[64];
    int64_t v;
    int r;

    for (;;) {
        r = exec_sql(idx, "BEGIN IMMEDIATE", "migration: begin");
        if (r < 0)
            return r;
        r = pragma_int(idx, "PRAGMA user_version", &v);
        if (r < 0)
            break;
        if (v > IDX_SCHEMA_VERSION) {
            r = fail_msg(idx, -EPROTO, "index schema was upgraded by a newer inkless meanwhile");
            break;
        }
        if (v == IDX_SCHEMA_VERSION) {
            rollback(idx);
            return 0;
        }
        (void)snprintf(what, sizeof(what), "migration to schema version %d", (int)v + 1);
        r = exec_sql(idx, migrations[v], what);
        if (r < 0)
            break;
        /* PRAGMA takes no parameters; the value is our own counter, not data. */
        (void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", (int)v + 1);
        r = exec_sql(idx, sql, what);
        if (r < 0)
            break;
        r = exec_sql(idx, "COMMIT", what);
        if (r < 0)
            break;
    }
    rollback(idx);
    return r;
}

/* Create the file ourselves so that it gets mode 0640 (faxes are personal data; SQLite would
 * use 0644 and gives its -wal and -shm files the database's mode). A new directory entry is
 * made durable by fsyncing the directory. */
static int
create_file(struct idx *idx, const char *var_dir, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        int r = -errno;
        return fail_fmt(idx, r, "%s: %s", path, strerror(-r));
    }
    close(fd);
    int dfd = open(var_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    int r = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    if (r < 0)
        return fail_fmt(idx, r, "fsync %s: %s", var_dir, strerror(-r));
    return 0;
}

static int
open_db(struct idx *idx, const char *var_dir)
{
    char path[1024];
    int64_t version, app_id;
    int r, rc;

    r = snprintf(path, sizeof(path), "%s/%s", var_dir, IDX_FILE);
    if (r < 0 || (size_t)r >= sizeof(path))
        return fail_msg(idx, -ENAMETOOLONG, "index path too long");
    r = create_file(idx, var_dir, path);
    if (r < 0)
        return r;
    /* NOMUTEX: a handle is used by one thread at a time (index.h). */
    rc = sqlite3_open_v2(path, &idx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return fail(idx, rc, path);
    sqlite3_extended_result_codes(idx->db, 1);
    sqlite3_busy_timeout(idx->db, IDX_BUSY_TIMEOUT_MS);

    /* The first read of the file: a file that is not a database fails here. Nothing is
     * written before the version is known to be one we understand. */
    r = pragma_int(idx, "PRAGMA user_version", &version);
    if (r < 0)
        return r;
    r = pragma_int(idx, "PRAGMA application_id", &app_id);
    if (r < 0)
        return r;
    if (app_id != IDX_APPLICATION_ID && (app_id != 0 || version != 0))
        return fail_fmt(idx, -EBADMSG,
                        "%s: an SQLite database, but not an inkless index (application_id %lld)",
                        path, (long long)app_id);
    if (version > IDX_SCHEMA_VERSION)
        return fail_fmt(idx, -EPROTO,
                        "%s: schema version %lld is newer than this inkless knows (%d)", path,
                        (long long)version, IDX_SCHEMA_VERSION);

    /* WAL: readers (the CLI) never block the writer (ingest) and vice versa. It is a property
     * of the file; the answer says whether it took (not on every filesystem). */
    sqlite3_stmt *st;
    r = prepare(idx, "PRAGMA journal_mode = WAL", &st);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = fail(idx, rc, "journal_mode");
    } else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || sqlite3_stricmp(mode, "wal") != 0)
            r = fail_fmt(idx, -ENOTSUP, "%s: cannot use WAL (journal mode %s)", path,
                         mode ? mode : "unknown");
    }
    sqlite3_finalize(st);
    if (r < 0)
        return r;
    /* FULL: in WAL mode NORMAL may lose the last commits on power loss; we promise that a
     * committed row survives. Both are per connection, hence on every open. */
    r = exec_sql(idx, "PRAGMA synchronous = FULL", "synchronous");
    if (r < 0)
        return r;
    r = exec_sql(idx, "PRAGMA foreign_keys = ON", "foreign_keys");
    if (r < 0)
        return r;
    r = migrate(idx);
    if (r < 0)
        return r;

    /* The statements of every ingest and lookup, prepared once. */
    const struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&idx->find_source, "SELECT id FROM faxes WHERE source_file = ?1"},
        {&idx->insert_fax,
         "INSERT INTO faxes (direction, did, remote_number, remote_ident, trunk, call_id, job,"
         " started, ended, duration_ms, status, t30_code, t30_text, pages, bit_rate, ecm,"
         " transport, resolution, manifest, owner, source_file)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
         " ?18, ?19, ?20, ?21)"},
        {&idx->insert_page, "INSERT INTO pages (fax_id, number, hash, width, length, xres, yres)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        /* The day is the UTC day the fax started. */
        {&idx->add_usage, "INSERT INTO usage (day, did, direction, pages, faxes)"
                          " VALUES (date(?1, 'unixepoch'), ?2, ?3, ?4, 1)"
                          " ON CONFLICT (day, did, direction)"
                          " DO UPDATE SET pages = pages + excluded.pages, faxes = faxes + 1"},
        {&idx->get_fax, "SELECT " FAX_COLUMNS " FROM faxes WHERE id = ?1"},
        /* One statement tells "no such fax" (no row) from "no pages" (a row of NULLs). */
        {&idx->get_pages, "SELECT p.number, p.hash, p.width, p.length, p.xres, p.yres"
                          " FROM faxes f LEFT JOIN pages p ON p.fax_id = f.id"
                          " WHERE f.id = ?1 ORDER BY p.number"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(stmts); i++) {
        r = prepare(idx, stmts[i].sql, stmts[i].st);
        if (r < 0)
            return r;
    }
    return 0;
}

int
idx_open(const char *var_dir, char *err, size_t err_len, struct idx **ret_idx)
{
    struct idx *idx = calloc(1, sizeof(*idx));
    int r;

    *ret_idx = NULL;
    if (!idx) {
        if (err && err_len)
            (void)snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    r = open_db(idx, var_dir);
    if (r < 0) {
        if (err && err_len)
            (void)snprintf(err, err_len, "%s", idx->errmsg);
        idx_close(idx);
        return r;
    }
    idx->errmsg[0] = '\0';
    *ret_idx = idx;
    return 0;
}

void
idx_close(struct idx *idx)
{
    if (!idx)
        return;
    sqlite3_finalize(idx->find_source);
    sqlite3_finalize(idx->insert_fax);
    sqlite3_finalize(idx->insert_page);
    sqlite3_finalize(idx->add_usage);
    sqlite3_finalize(idx->get_fax);
    sqlite3_finalize(idx->get_pages);
    (void)sqlite3_close(idx->db);
    free(idx);
}

const char *
idx_errmsg(const struct idx *idx)
{
    return idx->errmsg;
}

/* Reject what the schema would reject too, earlier and with a clearer message. */
static int
check_fax(struct idx *idx, const struct idx_fax *f, const struct idx_page *pages, int npages)
{
    if (!DIRECTION_NAME(f->direction))
        return fail_msg(idx, -EINVAL, "fax: direction must be rx or tx");
    if (!STATUS_NAME(f->status))
        return fail_msg(idx, -EINVAL, "fax: status must be ok, partial or failed");
    if (f->transport != IDX_TRANSPORT_NONE && !TRANSPORT_NAME(f->transport))
        return fail_msg(idx, -EINVAL, "fax: unknown transport");
    if (!FIELD_OK(f->did) || !FIELD_OK(f->remote_number) || !FIELD_OK(f->remote_ident) ||
        !FIELD_OK(f->trunk) || !FIELD_OK(f->call_id) || !FIELD_OK(f->job) ||
        !FIELD_OK(f->t30_text) || !FIELD_OK(f->resolution) || !FIELD_OK(f->manifest) ||
        !FIELD_OK(f->owner) || !FIELD_OK(f->source_file))
        return fail_msg(idx, -EINVAL, "fax: a string is not terminated within its field");
    if (f->manifest[0] && !is_hash(f->manifest))
        return fail_msg(idx, -EINVAL, "fax: manifest is not a 64-digit lower-case hex id");
    if (f->pages < 0 || npages < 0 || (npages > 0 && !pages))
        return fail_msg(idx, -EINVAL, "fax: negative page count");
    for (int i = 0; i < npages; i++) {
        if (pages[i].number != i + 1)
            return fail_msg(idx, -EINVAL, "fax: pages must be numbered 1..n in order");
        if (!FIELD_OK(pages[i].hash) || !is_hash(pages[i].hash))
            return fail_msg(idx, -EINVAL, "fax: page hash is not a 64-digit lower-case hex id");
    }
    return 0;
}

static int
insert_fax(struct idx *idx, const struct idx_fax *f, int64_t *ret_id)
{
    sqlite3_stmt *st = idx->insert_fax;

    bind_text(st, 1, DIRECTION_NAME(f->direction), false);
    bind_text(st, 2, f->did, false);
    bind_text(st, 3, f->remote_number, false);
    bind_text(st, 4, f->remote_ident, false);
    bind_text(st, 5, f->trunk, false);
    bind_text(st, 6, f->call_id, false);
    bind_text(st, 7, f->job, false);
    sqlite3_bind_int64(st, 8, f->started);
    sqlite3_bind_int64(st, 9, f->ended);
    sqlite3_bind_int64(st, 10, f->duration_ms);
    bind_text(st, 11, STATUS_NAME(f->status), false);
    sqlite3_bind_int(st, 12, f->t30_code);
    bind_text(st, 13, f->t30_text, false);
    sqlite3_bind_int(st, 14, f->pages);
    sqlite3_bind_int(st, 15, f->bit_rate);
    sqlite3_bind_int(st, 16, f->is_ecm ? 1 : 0);
    bind_text(st, 17, TRANSPORT_NAME(f->transport), true);
    bind_text(st, 18, f->resolution, false);
    bind_text(st, 19, f->manifest, true);
    bind_text(st, 20, f->owner, false);
    bind_text(st, 21, f->source_file, true);
    int r = step_done(idx, st, "insert fax");
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(idx->db);
    return 0;
}

static int
insert_page(struct idx *idx, int64_t fax_id, const struct idx_page *p)
{
    sqlite3_stmt *st = idx->insert_page;

    sqlite3_bind_int64(st, 1, fax_id);
    sqlite3_bind_int(st, 2, p->number);
    bind_text(st, 3, p->hash, false);
    sqlite3_bind_int(st, 4, p->width);
    sqlite3_bind_int(st, 5, p->length);
    sqlite3_bind_int(st, 6, p->xres);
    sqlite3_bind_int(st, 7, p->yres);
    return step_done(idx, st, "insert page");
}

static int
add_usage(struct idx *idx, const struct idx_fax *f)
{
    sqlite3_stmt *st = idx->add_usage;

    sqlite3_bind_int64(st, 1, f->started);
    bind_text(st, 2, f->did, false);
    bind_text(st, 3, DIRECTION_NAME(f->direction), false);
    sqlite3_bind_int(st, 4, f->pages);
    return step_done(idx, st, "add usage");
}

/* Is there a fax from this source file already? 0 = no, 1 = yes (*ret_id set), or -errno. */
static int
find_source(struct idx *idx, const char *source_file, int64_t *ret_id)
{
    sqlite3_stmt *st = idx->find_source;
    int r = 0;

    bind_text(st, 1, source_file, false);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = fail(idx, rc, "find source file");
    }
    finish(st);
    return r;
}

int
idx_add_fax(struct idx *idx, const struct idx_fax *fax, const struct idx_page *pages, int npages,
            int64_t *ret_id)
{
    int64_t id = 0;
    int r = check_fax(idx, fax, pages, npages);
    if (r < 0)
        return r;
    /* IMMEDIATE: take the write lock now. A deferred transaction that reads first and then
     * writes can fail with SQLITE_BUSY at once, without the busy timeout, if another
     * connection wrote in between. */
    r = exec_sql(idx, "BEGIN IMMEDIATE", "begin");
    if (r < 0)
        return r;
    if (fax->source_file[0]) {
        r = find_source(idx, fax->source_file, &id);
        if (r < 0)
            goto out;
        if (r == 1) {
            rollback(idx);
            *ret_id = id;
            return 1;
        }
    }
    r = insert_fax(idx, fax, &id);
    for (int i = 0; r == 0 && i < npages; i++)
        r = insert_page(idx, id, &pages[i]);
    if (r == 0)
        r = add_usage(idx, fax);
    if (r == 0)
        r = exec_sql(idx, "COMMIT", "commit");
out:
    if (r < 0) {
        rollback(idx);
        return r;
    }
    *ret_id = id;
    return 0;
}

int
idx_get_fax(struct idx *idx, int64_t id, struct idx_fax *ret_fax)
{
    sqlite3_stmt *st = idx->get_fax;
    int r = 0;

    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_fax(st, ret_fax);
    else if (rc == SQLITE_DONE)
        r = fail_msg(idx, -ENOENT, "no such fax");
    else
        r = fail(idx, rc, "get fax");
    finish(st);
    return r;
}

int
idx_get_pages(struct idx *idx, int64_t fax_id, idx_page_fn *fn, void *data)
{
    sqlite3_stmt *st = idx->get_pages;
    struct idx_page page;
    bool is_found = false;
    int npages = 0, r = 0;

    sqlite3_bind_int64(st, 1, fax_id);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = is_found ? npages : fail_msg(idx, -ENOENT, "no such fax");
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(idx, rc, "get pages");
            break;
        }
        is_found = true;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            continue; /* the fax exists and has no pages */
        page = (struct idx_page){
            .number = sqlite3_column_int(st, 0),
            .width = sqlite3_column_int(st, 2),
            .length = sqlite3_column_int(st, 3),
            .xres = sqlite3_column_int(st, 4),
            .yres = sqlite3_column_int(st, 5),
        };
        COPY_TEXT(st, 1, page.hash);
        npages++;
        r = fn(data, &page);
        if (r != 0)
            break;
    }
    finish(st);
    return r;
}

/* idx_list_faxes() assembles its statement from these constant pieces only (so each
 * combination of conditions can use its index); every value is a bound parameter. */
#define LIST_SELECT "SELECT " FAX_COLUMNS " FROM faxes WHERE 1"
#define LIST_DID " AND did = :did"
#define LIST_DIRECTION " AND direction = :direction"
#define LIST_STATUS " AND status = :status"
#define LIST_FROM " AND started >= :from"
#define LIST_TO " AND started < :to"
#define LIST_ORDER " ORDER BY started DESC, id DESC"
#define LIST_LIMIT " LIMIT :limit"

int
idx_list_faxes(struct idx *idx, const struct idx_filter *f, idx_fax_fn *fn, void *data)
{
    static const struct idx_filter all;
    /* Room for every piece at once, so appending can never overflow. */
    char sql[sizeof(
        LIST_SELECT LIST_DID LIST_DIRECTION LIST_STATUS LIST_FROM LIST_TO LIST_ORDER LIST_LIMIT)] =
        LIST_SELECT;
    sqlite3_stmt *st;
    int r;

    if (!f)
        f = &all;
    if (!FIELD_OK(f->did) || f->limit < 0 ||
        (f->direction != IDX_DIRECTION_ANY && !DIRECTION_NAME(f->direction)) ||
        (f->status != IDX_STATUS_ANY && !STATUS_NAME(f->status)))
        return fail_msg(idx, -EINVAL, "bad filter");
    if (f->did[0])
        strcat(sql, LIST_DID);
    if (f->direction)
        strcat(sql, LIST_DIRECTION);
    if (f->status)
        strcat(sql, LIST_STATUS);
    if (f->started_from)
        strcat(sql, LIST_FROM);
    if (f->started_to)
        strcat(sql, LIST_TO);
    strcat(sql, LIST_ORDER);
    if (f->limit)
        strcat(sql, LIST_LIMIT);
    r = prepare(idx, sql, &st);
    if (r < 0)
        return r;
    /* A name missing from this statement has index 0, and binding index 0 is a no-op
     * (SQLITE_RANGE, ignored). */
    bind_text(st, sqlite3_bind_parameter_index(st, ":did"), f->did, false);
    bind_text(st, sqlite3_bind_parameter_index(st, ":direction"), DIRECTION_NAME(f->direction),
              false);
    bind_text(st, sqlite3_bind_parameter_index(st, ":status"), STATUS_NAME(f->status), false);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":from"), f->started_from);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":to"), f->started_to);
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":limit"), f->limit);
    r = walk_faxes(idx, st, fn, data);
    sqlite3_finalize(st);
    return r;
}

int
idx_list_faxes_by_page(struct idx *idx, const char *hash, idx_fax_fn *fn, void *data)
{
    sqlite3_stmt *st;

    if (!is_hash(hash))
        return fail_msg(idx, -EINVAL, "not a 64-digit lower-case hex id");
    int r = prepare(idx,
                    "SELECT " FAX_COLUMNS " FROM faxes"
                    " WHERE id IN (SELECT fax_id FROM pages WHERE hash = ?1) ORDER BY id",
                    &st);
    if (r < 0)
        return r;
    bind_text(st, 1, hash, false);
    r = walk_faxes(idx, st, fn, data);
    sqlite3_finalize(st);
    return r;
}

int
idx_for_each_page_hash(struct idx *idx, idx_hash_fn *fn, void *data)
{
    sqlite3_stmt *st;
    int r = prepare(idx, "SELECT DISTINCT hash FROM pages ORDER BY hash", &st);
    if (r < 0)
        return r;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(idx, rc, "read page hashes");
            break;
        }
        r = fn(data, (const char *)sqlite3_column_text(st, 0));
        if (r != 0)
            break;
    }
    sqlite3_finalize(st);
    return r;
}

int
idx_for_each_fax_manifest(struct idx *idx, idx_manifest_fn *fn, void *data)
{
    sqlite3_stmt *st;
    int r =
        prepare(idx, "SELECT id, manifest FROM faxes WHERE manifest IS NOT NULL ORDER BY id", &st);
    if (r < 0)
        return r;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(idx, rc, "read manifests");
            break;
        }
        r = fn(data, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
        if (r != 0)
            break;
    }
    sqlite3_finalize(st);
    return r;
}

int
idx_stats(struct idx *idx, struct idx_stats *ret_stats)
{
    sqlite3_stmt *st;
    /* One statement: all the figures come from the same snapshot. */
    int r = prepare(idx,
                    "SELECT count(*), coalesce(sum(direction = 'rx'), 0),"
                    " coalesce(sum(direction = 'tx'), 0), coalesce(sum(status = 'ok'), 0),"
                    " coalesce(sum(status = 'partial'), 0), coalesce(sum(status = 'failed'), 0),"
                    " count(manifest),"
                    " (SELECT count(*) FROM pages), (SELECT count(DISTINCT hash) FROM pages)"
                    " FROM faxes",
                    &st);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_stats = (struct idx_stats){
            .faxes = sqlite3_column_int64(st, 0),
            .faxes_rx = sqlite3_column_int64(st, 1),
            .faxes_tx = sqlite3_column_int64(st, 2),
            .faxes_ok = sqlite3_column_int64(st, 3),
            .faxes_partial = sqlite3_column_int64(st, 4),
            .faxes_failed = sqlite3_column_int64(st, 5),
            .manifests = sqlite3_column_int64(st, 6),
            .pages = sqlite3_column_int64(st, 7),
            .page_objects = sqlite3_column_int64(st, 8),
        };
    } else {
        r = fail(idx, rc, "stats");
    }
    sqlite3_finalize(st);
    return r;
}

int
idx_usage(struct idx *idx, const struct idx_usage_filter *f, idx_usage_fn *fn, void *data)
{
    static const struct idx_usage_filter all;
    struct idx_usage u;
    sqlite3_stmt *st;

    if (!f)
        f = &all;
    if (!FIELD_OK(f->did) || !FIELD_OK(f->day_from) || !FIELD_OK(f->day_to) ||
        (f->day_from[0] && !is_day(f->day_from)) || (f->day_to[0] && !is_day(f->day_to)) ||
        (f->direction != IDX_DIRECTION_ANY && !DIRECTION_NAME(f->direction)))
        return fail_msg(idx, -EINVAL, "bad usage filter");
    /* NULL parameters switch a condition off; usage is small (a row per DID per day). */
    int r = prepare(idx,
                    "SELECT day, did, direction, faxes, pages FROM usage"
                    " WHERE (?1 IS NULL OR did = ?1) AND (?2 IS NULL OR direction = ?2)"
                    " AND (?3 IS NULL OR day >= ?3) AND (?4 IS NULL OR day <= ?4)"
                    " ORDER BY day, did, direction",
                    &st);
    if (r < 0)
        return r;
    bind_text(st, 1, f->did, true);
    bind_text(st, 2, DIRECTION_NAME(f->direction), true);
    bind_text(st, 3, f->day_from, true);
    bind_text(st, 4, f->day_to, true);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(idx, rc, "read usage");
            break;
        }
        u = (struct idx_usage){
            .direction = enum_value(direction_names, ARRAY_SIZE(direction_names),
                                    sqlite3_column_text(st, 2)),
            .faxes = sqlite3_column_int64(st, 3),
            .pages = sqlite3_column_int64(st, 4),
        };
        COPY_TEXT(st, 0, u.day);
        COPY_TEXT(st, 1, u.did);
        r = fn(data, &u);
        if (r != 0)
            break;
    }
    sqlite3_finalize(st);
    return r;
}
