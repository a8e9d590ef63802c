/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/sha256.c against the FIPS 180-4 / NIST CAVS example vectors, the padding boundaries
 * (55, 56, 63, 64, 65, 119, 120 bytes; digests from Python's hashlib), and the incremental API
 * fed in every split and in odd chunk sizes. */
#include "sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void
hex_of(const void *data, size_t len, char ret_hex[ARC_SHA256_HEX_LEN + 1])
{
    uint8_t digest[ARC_SHA256_LEN];

    arc_sha256_buf(data, len, digest);
    arc_sha256_hex(digest, ret_hex);
}

static void
test_nist_vectors(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        /* 448 bits */
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        /* 896 bits */
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[ARC_SHA256_HEX_LEN + 1];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        hex_of(v[i].msg, strlen(v[i].msg), hex);
        CHECK_STR(hex, v[i].hex);
    }
    hex_of(NULL, 0, hex);
    CHECK_STR(hex, v[0].hex);
}

static void
test_million_a(void)
{
    static const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    uint8_t digest[ARC_SHA256_LEN];
    char hex[ARC_SHA256_HEX_LEN + 1], block[1000];
    struct arc_sha256 ctx;

    /* Incrementally, 1000 x 1000 bytes (as the NIST test is usually run)... */
    memset(block, 'a', sizeof(block));
    arc_sha256_init(&ctx);
    for (int i = 0; i < 1000; i++)
        arc_sha256_update(&ctx, block, sizeof(block));
    arc_sha256_final(&ctx, digest);
    arc_sha256_hex(digest, hex);
    CHECK_STR(hex, want);

    /* ...and in one call. */
    char *all = malloc(1000000);
    CHECK(all != NULL);
    if (!all)
        return;
    memset(all, 'a', 1000000);
    hex_of(all, 1000000, hex);
    CHECK_STR(hex, want);
    free(all);
}

static void
test_padding_boundaries(void)
{
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char buf[128], hex[ARC_SHA256_HEX_LEN + 1];

    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        hex_of(buf, v[i].n, hex);
        CHECK_STR(hex, v[i].hex);
    }
}

/* Every way of splitting a 300-byte message in two, and odd chunk sizes, give the one-shot
 * digest: the block buffer's carry-over is right at every offset. */
static void
test_incremental(void)
{
    uint8_t msg[300], digest[ARC_SHA256_LEN], want[ARC_SHA256_LEN];
    struct arc_sha256 ctx;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    arc_sha256_buf(msg, sizeof(msg), want);

    for (size_t split = 0; split <= sizeof(msg); split++) {
        arc_sha256_init(&ctx);
        arc_sha256_update(&ctx, msg, split);
        arc_sha256_update(&ctx, NULL, 0);
        arc_sha256_update(&ctx, msg + split, sizeof(msg) - split);
        arc_sha256_final(&ctx, digest);
        CHECK(memcmp(digest, want, sizeof(want)) == 0);
    }
    for (size_t step = 1; step <= 130; step++) {
        arc_sha256_init(&ctx);
        for (size_t off = 0; off < sizeof(msg); off += step)
            arc_sha256_update(&ctx, msg + off,
                              off + step <= sizeof(msg) ? step : sizeof(msg) - off);
        arc_sha256_final(&ctx, digest);
        CHECK(memcmp(digest, want, sizeof(want)) == 0);
    }
}

int
main(void)
{
    test_nist_vectors();
    test_million_a();
    test_padding_boundaries();
    test_incremental();
    return check_finish();
}
