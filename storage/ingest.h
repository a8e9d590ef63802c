/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ingest: one received fax TIFF (spandsp's file in spool/rx/) into the archive and the index.
 *
 * DESIGN: the order is what makes a crash at any point safe (DESIGN.md "Storage"):
 *   1. each page is decoded, canonicalised (page.h) and stored durably (arc_put fsyncs);
 *   2. the manifest (manifest.h) naming those pages is stored durably;
 *   3. only then is the index row committed, naming the manifest and the pages.
 * A crash before 3 leaves objects nothing names yet (harmless; a re-ingest finds them as
 * dedups); a crash after 3 is made harmless by the index's unique source_file: ingesting the
 * same file again changes nothing. The caller removes the spool file after this returns.
 * A blocking library (decoding, hashing, fsync): call it from a worker or the CLI.
 */
#ifndef INKLESS_STORAGE_INGEST_H
#define INKLESS_STORAGE_INGEST_H

#include <stddef.h>

#include "archive.h"
#include "index.h"

/* Ingest the fax TIFF at path (borrowed; may be NULL or missing: a fax with no pages). fax
 * (borrowed, updated) carries the call's metadata; its status says what the call reported
 * (OK if phase E said so, else PARTIAL or FAILED) and source_file must be set (the spool
 * file's name, unique per fax). What the file really holds decides the rest:
 *   - every page that decodes is stored; fax->pages is left as the call reported it (what the
 *     sender was told; < 0 = unknown: then it becomes the number of pages stored), but a reported
 * OK with a page that fails to decode, or with fewer pages in the file than reported, becomes
 * PARTIAL, with the reason in t30_text;
 *   - pages stored but the call not OK: PARTIAL; no page stored: FAILED;
 *   - fax->resolution is set from the first page ("standard", "fine", "superfine", or
 *     "<x>x<y>" dpi) and fax->manifest to the manifest's id (empty when no page was stored).
 * On success fax->id is the row's id, and *ret_is_dup (may be NULL) tells whether the row was
 * there already (a repeated ingest: nothing changed). Returns 0, or -errno with a one-line
 * message in err (may be NULL): errors of the archive or the index (-ENOSPC, -EIO, -EBUSY...),
 * never of the file's content, which only makes the fax partial or failed. Blocks. */
int arc_ingest_fax(struct arc *arc, struct idx *idx, const char *path, struct idx_fax *fax,
                   bool *ret_is_dup, char *err, size_t errlen);

#endif
