/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The content-addressed object store: immutable objects (canonical pages, fax manifests) under
 * <var_dir>/archive/objects/<2 hex>/<62 hex>, named by the SHA-256 of their bytes (git's
 * loose objects).
 *
 * DESIGN (STYLE §6): a put writes a tmp file ("tmp.<16 hex>", mode 0444, O_EXCL) in the target
 * fan-out directory, fsyncs it, link()s it to the final name, unlinks the tmp and fsyncs the
 * directory; only then does it return, so an id that was returned names a durable object.
 * link() never replaces: if the name exists, the bytes are compared, and equal bytes are a
 * dedup. Every read re-hashes; an object whose bytes do not match its name is moved to
 * archive/corrupt/<id> (then <id>.1, <id>.2, ...), never deleted. Moves into archive/corrupt/
 * are serialised by flock() on that directory, so that a reader and a writer (threads or
 * processes) can never move away a good object that replaced a corrupt one.
 * A blocking library with no global state: a struct arc holds only directory fds, and every
 * function may be called from several worker threads (and processes) at once, never from a
 * loop thread (STYLE §2: fsync, link, whole-file reads).
 */
#ifndef INKLESS_STORAGE_ARCHIVE_H
#define INKLESS_STORAGE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_ID_HEX_LEN 64 /* an object id: the SHA-256 as lowercase hex, without the NUL */
/* The largest object arc_get reads into memory and arc_put stores: a B4 page at 1200 dpi in
 * T.6 is a few MiB, a manifest a few KiB, so anything bigger is not ours. */
#define ARC_MAX_OBJECT_LEN ((size_t)64 << 20)

struct arc;

/* What arc_scan found. */
enum arc_scan_kind {
    ARC_SCAN_OBJECT, /* an object: name is its id, size its length (not re-hashed) */
    ARC_SCAN_TMP,    /* a tmp file left by a crash before link(): name is "objects/ab/tmp.…"
                        or "tmp/tmp.…" under archive/; never referenced, arc_clean_tmp removes */
    ARC_SCAN_STRAY,  /* anything else under archive/objects or archive/tmp (name as for tmp) */
};

/* Called by arc_scan for each entry; name is borrowed for the call. Return 0 to go on, or a
 * negative value to stop the scan, which arc_scan then returns. */
typedef int arc_scan_fn(void *data, enum arc_scan_kind kind, const char *name, uint64_t size);

/* Open the archive in var_dir (borrowed; must exist), creating archive/, archive/objects/ (and
 * its 256 fan-out directories, best effort), archive/corrupt/ and archive/tmp/ as needed.
 * On success *ret_arc is owned by the caller (free with arc_close). Returns 0, or -errno
 * (-ENOENT if var_dir is missing, -ENOMEM, disk errors). Blocks. */
int arc_open(const char *var_dir, struct arc **ret_arc);

/* Close the archive's directories and free it. Accepts NULL. */
void arc_close(struct arc *arc);

/* Is id exactly 64 lowercase hex digits (so it is a valid id and safe as a path)? Returns 0 or
 * -EINVAL. Every function below checks its ids with it. Any thread, never blocks. */
int arc_check_id(const char *id);

/* Store len bytes at buf (borrowed) as an object, durably. expect_id (borrowed, may be NULL)
 * is the id the caller computed; bytes that do not hash to it are refused. On success the id
 * is written to ret_id and *ret_is_dup tells whether the same bytes were already stored.
 * An existing object at that name with different bytes is corrupt: it is moved to
 * archive/corrupt/ and replaced by ours. Returns 0, or -errno: -EINVAL (malformed expect_id),
 * -EBADMSG (bytes do not match expect_id), -EFBIG (len > ARC_MAX_OBJECT_LEN), -ENOSPC and other
 * disk errors (nothing is left behind but, after a crash, a tmp file). Blocks (fsync). */
int arc_put(struct arc *arc, const void *buf, size_t len, const char *expect_id,
            char ret_id[ARC_ID_HEX_LEN + 1], bool *ret_is_dup);

/* As arc_put, but the bytes are read from fd (borrowed, left open, read from its current
 * offset to end of file), hashed while they are copied to a tmp file in archive/tmp/.
 * -EFBIG if there are more than ARC_MAX_OBJECT_LEN bytes. Blocks. */
int arc_put_fd(struct arc *arc, int fd, const char *expect_id, char ret_id[ARC_ID_HEX_LEN + 1],
               bool *ret_is_dup);

/* Read object id (borrowed) whole and re-hash it. On success *ret_buf (malloc'd, owned by the
 * caller: free()) holds *ret_len bytes. Returns 0, or -errno: -EINVAL (malformed id), -ENOENT
 * (no such object), -EBADMSG (corrupt: the file was moved to archive/corrupt/), -EFBIG (larger
 * than ARC_MAX_OBJECT_LEN; left in place), -ENOMEM, disk errors. Blocks. */
int arc_get(struct arc *arc, const char *id, uint8_t **ret_buf, size_t *ret_len);

/* Re-hash object id (borrowed) without keeping its bytes, with no size limit. Returns 0 if it
 * is intact, or -errno as arc_get (a corrupt object is moved to archive/corrupt/). Blocks. */
int arc_verify(struct arc *arc, const char *id);

/* Does object id (borrowed) exist? Not re-hashed. Returns 1 if it does, 0 if not, or -errno
 * (-EINVAL for a malformed id). Blocks (one stat). */
int arc_has(struct arc *arc, const char *id);

/* Call fn(data, …) for every object, tmp file and stray entry under archive/objects/ and
 * archive/tmp/, in directory order (for `inkless scrub` and `inkless stats`; objects are not
 * re-hashed: use arc_verify). Objects stored or removed during the scan may or may not be
 * seen. Returns 0, what fn returned to stop, or -errno. Blocks. */
int arc_scan(struct arc *arc, arc_scan_fn *fn, void *data);

/* Remove tmp files (ARC_SCAN_TMP) last modified at least min_age_s seconds ago. A tmp file
 * belongs to a put still in progress or to one that crashed before link(), so it is never
 * referenced: with min_age_s = 0 (at startup, before any put) every one is removed; while puts
 * may be running, pass an age no put can take (e.g. 3600). *ret_removed (may be NULL) is the
 * number removed. Returns 0 or -errno. Blocks. */
int arc_clean_tmp(struct arc *arc, unsigned min_age_s, unsigned *ret_removed);

#endif
