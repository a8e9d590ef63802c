/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 (FIPS 180-4 §6.2), our own so that storage/ needs no crypto library: the archive
 * names every object by the SHA-256 of its bytes. Incremental (init, update..., final) so that
 * bytes can be hashed while they are written. No global state: any thread, never blocks.
 */
#ifndef INKLESS_STORAGE_SHA256_H
#define INKLESS_STORAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ARC_SHA256_LEN 32     /* digest bytes */
#define ARC_SHA256_HEX_LEN 64 /* digest as lowercase hex, without the NUL */

/* Hash state, embedded by the caller (no allocation). Fields are private. */
struct arc_sha256 {
    uint32_t h[8];
    uint64_t n_bytes; /* message length so far */
    uint8_t block[64];
    size_t block_len; /* bytes waiting in block, < 64 */
};

/* Start a new message. */
void arc_sha256_init(struct arc_sha256 *ctx);

/* Append len bytes at data (borrowed; may be NULL when len is 0). */
void arc_sha256_update(struct arc_sha256 *ctx, const void *data, size_t len);

/* Finish the message and write its digest. ctx must be re-initialised before reuse. */
void arc_sha256_final(struct arc_sha256 *ctx, uint8_t ret_digest[ARC_SHA256_LEN]);

/* One-shot: the digest of len bytes at data. */
void arc_sha256_buf(const void *data, size_t len, uint8_t ret_digest[ARC_SHA256_LEN]);

/* Write digest as 64 lowercase hex digits and a NUL. */
void arc_sha256_hex(const uint8_t digest[ARC_SHA256_LEN], char ret_hex[ARC_SHA256_HEX_LEN + 1]);

#endif
