/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage/archive.c in a fresh var dir under /tmp: put/get, dedup, expected ids, corruption
 * caught by reads and moved (never deleted), hostile ids, scan and tmp-file cleanup. */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sha256.h"

static char var_dir[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh var dir per test, so tests cannot see each other's objects. */
static struct arc *
open_fresh(void)
{
    struct arc *arc = NULL;

    if (var_dir[0])
        (void)nftw(var_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(var_dir, sizeof(var_dir), "/tmp/inkless-arc-XXXXXX");
    if (!mkdtemp(var_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    int r = arc_open(var_dir, &arc);
    CHECK_INT(r, 0);
    if (!arc)
        exit(1);
    return arc;
}

static void
id_of(const void *buf, size_t len, char ret_id[ARC_ID_HEX_LEN + 1])
{
    uint8_t digest[ARC_SHA256_LEN];

    arc_sha256_buf(buf, len, digest);
    arc_sha256_hex(digest, ret_id);
}

/* <var_dir>/archive/objects/ab/cdef… */
static void
object_file(const char *id, char *path, size_t size)
{
    snprintf(path, size, "%s/archive/objects/%.2s/%s", var_dir, id, id + 2);
}

static void
corrupt_file(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/archive/corrupt/%s", var_dir, name);
}

static bool
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void
write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_INT(write(fd, buf, len), len);
    close(fd);
}

/* Read a whole small file into buf; returns its length or -1. */
static ssize_t
read_file(const char *path, void *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size);
    close(fd);
    return n;
}

/* Flip one bit of a stored object in place, as a bad disk would. */
static void
flip_byte(const char *id, size_t off)
{
    char path[512];
    uint8_t b;

    object_file(id, path, sizeof(path));
    CHECK_INT(chmod(path, 0644), 0);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_INT(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x10;
    CHECK_INT(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
    CHECK_INT(chmod(path, 0444), 0);
}

struct seen {
    int n_objects, n_tmp, n_stray;
    char ids[8][ARC_ID_HEX_LEN + 1];
    uint64_t sizes[8];
    char last_tmp[128], last_stray[128];
};

static int
on_entry(void *data, enum arc_scan_kind kind, const char *name, uint64_t size)
{
    struct seen *s = data;

    switch (kind) {
    case ARC_SCAN_OBJECT:
        CHECK_INT(arc_check_id(name), 0);
        if (s->n_objects < 8) {
            snprintf(s->ids[s->n_objects], sizeof(s->ids[0]), "%s", name);
            s->sizes[s->n_objects] = size;
        }
        s->n_objects++;
        break;
    case ARC_SCAN_TMP:
        snprintf(s->last_tmp, sizeof(s->last_tmp), "%s", name);
        s->n_tmp++;
        break;
    case ARC_SCAN_STRAY:
        snprintf(s->last_stray, sizeof(s->last_stray), "%s", name);
        s->n_stray++;
        break;
    }
    return 0;
}

static struct seen
scan(struct arc *arc)
{
    struct seen s = {0};

    CHECK_INT(arc_scan(arc, on_entry, &s), 0);
    return s;
}

static int
seen_index(const struct seen *s, const char *id)
{
    for (int i = 0; i < s->n_objects && i < 8; i++)
        if (strcmp(s->ids[i], id) == 0)
            return i;
    return -1;
}

static void
test_roundtrip(void)
{
    struct arc *arc = open_fresh();
    static const char page[] = "II*\0 not really a page, but bytes all the same";
    char id[ARC_ID_HEX_LEN + 1], want[ARC_ID_HEX_LEN + 1], path[512];
    bool is_dup = true;
    uint8_t *buf = NULL;
    size_t len = 0;
    struct stat st;

    CHECK_INT(arc_put(arc, page, sizeof(page), NULL, id, &is_dup), 0);
    id_of(page, sizeof(page), want);
    CHECK_STR(id, want);
    CHECK(!is_dup);
    CHECK_INT(arc_has(arc, id), 1);

    CHECK_INT(arc_get(arc, id, &buf, &len), 0);
    CHECK_INT(len, sizeof(page));
    CHECK(buf && memcmp(buf, page, sizeof(page)) == 0);
    free(buf);
    CHECK_INT(arc_verify(arc, id), 0);

    /* Where and how it lies on disk: read-only, one link (the tmp name is gone). */
    object_file(id, path, sizeof(path));
    CHECK_INT(lstat(path, &st), 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0444);
    CHECK_INT(st.st_nlink, 1);
    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 1);
    CHECK_INT(s.n_tmp, 0);
    CHECK_INT(s.n_stray, 0);

    /* The empty object is an object too. */
    CHECK_INT(arc_put(arc, "", 0, NULL, id, &is_dup), 0);
    CHECK_STR(id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    buf = NULL;
    len = 99;
    CHECK_INT(arc_get(arc, id, &buf, &len), 0);
    CHECK_INT(len, 0);
    CHECK(buf != NULL);
    free(buf);

    /* Reopening finds everything again. */
    arc_close(arc);
    CHECK_INT(arc_open(var_dir, &arc), 0);
    CHECK_INT(arc_has(arc, want), 1);
    CHECK_INT(arc_verify(arc, want), 0);
    arc_close(arc);
    arc_close(NULL);
}

/* Enough bytes to cross every CHUNK boundary in hashing and in the dedup comparison. */
static void
test_large_and_limits(void)
{
    struct arc *arc = open_fresh();
    size_t n = 200000 + 17;
    uint8_t *big = malloc(n), *buf = NULL;
    char id[ARC_ID_HEX_LEN + 1], id2[ARC_ID_HEX_LEN + 1], path[512];
    bool is_dup = true;
    size_t len = 0;

    CHECK(big != NULL);
    if (!big)
        return;
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    CHECK_INT(arc_put(arc, big, n, NULL, id, &is_dup), 0);
    CHECK(!is_dup);
    CHECK_INT(arc_put(arc, big, n, id, id2, &is_dup), 0);
    CHECK(is_dup);
    CHECK_INT(arc_get(arc, id, &buf, &len), 0);
    CHECK_INT(len, n);
    CHECK(buf && memcmp(buf, big, n) == 0);
    free(buf);
    CHECK_INT(arc_verify(arc, id), 0);

    /* Refused before a byte is read or written. */
    CHECK_INT(arc_put(arc, big, ARC_MAX_OBJECT_LEN + 1, NULL, id2, &is_dup), -EFBIG);

    /* A huge file under an object's name is not read into memory, and stays where it is. */
    id_of("huge", 4, id2);
    object_file(id2, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0444);
    CHECK(fd >= 0);
    CHECK_INT(ftruncate(fd, (off_t)ARC_MAX_OBJECT_LEN + 1), 0);
    close(fd);
    buf = NULL;
    CHECK_INT(arc_get(arc, id2, &buf, &len), -EFBIG);
    CHECK(buf == NULL);
    CHECK(exists(path));
    free(big);
    arc_close(arc);
}

static void
test_dedup(void)
{
    struct arc *arc = open_fresh();
    static const char page[] = "the same page, received twice";
    char id1[ARC_ID_HEX_LEN + 1], id2[ARC_ID_HEX_LEN + 1], path[512];
    bool is_dup = true;
    struct stat st;

    CHECK_INT(arc_put(arc, page, sizeof(page), NULL, id1, &is_dup), 0);
    CHECK(!is_dup);
    CHECK_INT(arc_put(arc, page, sizeof(page), NULL, id2, &is_dup), 0);
    CHECK(is_dup);
    CHECK_STR(id2, id1);

    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 1);
    CHECK_INT(s.n_tmp, 0);
    object_file(id1, path, sizeof(path));
    CHECK_INT(lstat(path, &st), 0);
    CHECK_INT(st.st_nlink, 1);

    /* A different page is a different object. */
    CHECK_INT(arc_put(arc, page, sizeof(page) - 1, NULL, id2, &is_dup), 0);
    CHECK(!is_dup);
    CHECK(strcmp(id1, id2) != 0);
    CHECK_INT(scan(arc).n_objects, 2);
    arc_close(arc);
}

static void
test_expect_id(void)
{
    struct arc *arc = open_fresh();
    static const char page[] = "page with a known hash";
    char want[ARC_ID_HEX_LEN + 1], other[ARC_ID_HEX_LEN + 1], id[ARC_ID_HEX_LEN + 1];
    bool is_dup = true;

    id_of(page, sizeof(page), want);
    id_of("something else", 14, other);

    /* A mismatch stores nothing. */
    CHECK_INT(arc_put(arc, page, sizeof(page), other, id, &is_dup), -EBADMSG);
    CHECK_INT(arc_has(arc, want), 0);
    CHECK_INT(arc_has(arc, other), 0);
    CHECK_INT(arc_put(arc, page, sizeof(page), "not an id", id, &is_dup), -EINVAL);
    CHECK_INT(scan(arc).n_objects, 0);

    CHECK_INT(arc_put(arc, page, sizeof(page), want, id, &is_dup), 0);
    CHECK_STR(id, want);
    CHECK(!is_dup);
    arc_close(arc);
}

static void
test_put_fd(void)
{
    struct arc *arc = open_fresh();
    uint8_t data[40000];
    char path[512], id[ARC_ID_HEX_LEN + 1], want[ARC_ID_HEX_LEN + 1], other[ARC_ID_HEX_LEN + 1];
    bool is_dup = true;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    id_of(data, sizeof(data), want);
    id_of("x", 1, other);
    snprintf(path, sizeof(path), "%s/input", var_dir);
    write_file(path, data, sizeof(data), 0644);

    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_INT(arc_put_fd(arc, fd, other, id, &is_dup), -EBADMSG);
    CHECK_INT(arc_has(arc, want), 0);
    CHECK_INT(lseek(fd, 0, SEEK_SET), 0);
    CHECK_INT(arc_put_fd(arc, fd, want, id, &is_dup), 0);
    CHECK_STR(id, want);
    CHECK(!is_dup);
    close(fd);
    CHECK_INT(arc_verify(arc, id), 0);

    /* The same bytes from memory are a dedup of the streamed ones, and the other way round. */
    CHECK_INT(arc_put(arc, data, sizeof(data), NULL, id, &is_dup), 0);
    CHECK(is_dup);
    fd = open(path, O_RDONLY);
    CHECK_INT(arc_put_fd(arc, fd, NULL, id, &is_dup), 0);
    CHECK(is_dup);
    CHECK_STR(id, want);
    close(fd);

    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 1);
    CHECK_INT(s.n_tmp, 0);
    arc_close(arc);
}

static void
test_corrupt_on_read(void)
{
    struct arc *arc = open_fresh();
    static const char page1[] = "page one: a bit will rot";
    static const char page2[] = "page two: a bit will rot too";
    char id1[ARC_ID_HEX_LEN + 1], id2[ARC_ID_HEX_LEN + 1], path[512], name[128];
    uint8_t *buf = NULL, back[64];
    size_t len = 0;
    bool is_dup;

    CHECK_INT(arc_put(arc, page1, sizeof(page1), NULL, id1, &is_dup), 0);
    CHECK_INT(arc_put(arc, page2, sizeof(page2), NULL, id2, &is_dup), 0);

    /* arc_get: refused, moved to corrupt/<id> with the bad bytes, gone from objects/. */
    flip_byte(id1, 3);
    CHECK_INT(arc_get(arc, id1, &buf, &len), -EBADMSG);
    CHECK(buf == NULL);
    object_file(id1, path, sizeof(path));
    CHECK(!exists(path));
    CHECK_INT(arc_has(arc, id1), 0);
    CHECK_INT(arc_get(arc, id1, &buf, &len), -ENOENT);
    corrupt_file(id1, path, sizeof(path));
    CHECK_INT(read_file(path, back, sizeof(back)), sizeof(page1));
    CHECK(back[3] == (page1[3] ^ 0x10));
    CHECK(memcmp(back + 4, page1 + 4, sizeof(page1) - 4) == 0);

    /* arc_verify likewise. */
    flip_byte(id2, sizeof(page2) - 1);
    CHECK_INT(arc_verify(arc, id2), -EBADMSG);
    CHECK_INT(arc_has(arc, id2), 0);
    corrupt_file(id2, path, sizeof(path));
    CHECK(exists(path));

    /* The same object stored again and rotting again: the first corrupt copy is kept. */
    CHECK_INT(arc_put(arc, page1, sizeof(page1), NULL, id1, &is_dup), 0);
    CHECK(!is_dup);
    CHECK_INT(arc_verify(arc, id1), 0);
    flip_byte(id1, 0);
    CHECK_INT(arc_verify(arc, id1), -EBADMSG);
    corrupt_file(id1, path, sizeof(path));
    CHECK(exists(path));
    snprintf(name, sizeof(name), "%s.1", id1);
    corrupt_file(name, path, sizeof(path));
    CHECK(exists(path));
    CHECK_INT(read_file(path, back, sizeof(back)), sizeof(page1));
    CHECK(back[0] == (page1[0] ^ 0x10));

    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 0);
    CHECK_INT(s.n_stray, 0);
    arc_close(arc);
}

/* A corrupt file already at the final name (a bad disk, a crash of something else) is moved
 * aside by a put of the right bytes, which then stores them. */
static void
test_put_replaces_corrupt(void)
{
    struct arc *arc = open_fresh();
    static const char page[] = "the good bytes of this page";
    static const char same_len[] = "the b0d bytes of this page";
    static const char other_len[] = "short";
    char id[ARC_ID_HEX_LEN + 1], got[ARC_ID_HEX_LEN + 1], path[512], name[128];
    uint8_t *buf = NULL, back[64];
    size_t len = 0;
    bool is_dup = true;

    id_of(page, sizeof(page), id);
    object_file(id, path, sizeof(path));
    write_file(path, same_len, sizeof(same_len), 0444);
    CHECK_INT(arc_has(arc, id), 1);

    CHECK_INT(arc_put(arc, page, sizeof(page), NULL, got, &is_dup), 0);
    CHECK_STR(got, id);
    CHECK(!is_dup);
    CHECK_INT(arc_get(arc, id, &buf, &len), 0);
    CHECK_INT(len, sizeof(page));
    CHECK(buf && memcmp(buf, page, sizeof(page)) == 0);
    free(buf);
    corrupt_file(id, path, sizeof(path));
    CHECK_INT(read_file(path, back, sizeof(back)), sizeof(same_len));
    CHECK(memcmp(back, same_len, sizeof(same_len)) == 0);

    /* Again with a file of another length; the earlier corrupt copy stays. */
    object_file(id, path, sizeof(path));
    CHECK_INT(chmod(path, 0644), 0);
    write_file(path, other_len, sizeof(other_len), 0444);
    CHECK_INT(arc_put(arc, page, sizeof(page), id, got, &is_dup), 0);
    CHECK(!is_dup);
    CHECK_INT(arc_verify(arc, id), 0);
    snprintf(name, sizeof(name), "%s.1", id);
    corrupt_file(name, path, sizeof(path));
    CHECK_INT(read_file(path, back, sizeof(back)), sizeof(other_len));
    corrupt_file(id, path, sizeof(path));
    CHECK(exists(path));

    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 1);
    CHECK_INT(s.n_tmp, 0);
    arc_close(arc);
}

static void
test_missing(void)
{
    struct arc *arc = open_fresh();
    char id[ARC_ID_HEX_LEN + 1];
    uint8_t *buf = NULL;
    size_t len = 0;

    id_of("never stored", 12, id);
    CHECK_INT(arc_get(arc, id, &buf, &len), -ENOENT);
    CHECK(buf == NULL);
    CHECK_INT(arc_verify(arc, id), -ENOENT);
    CHECK_INT(arc_has(arc, id), 0);
    arc_close(arc);

    /* No var dir, no archive. */
    struct arc *none = (struct arc *)1;
    CHECK_INT(arc_open("/nonexistent/inkless-var", &none), -ENOENT);
    CHECK(none == NULL);
}

static void
test_bad_ids(void)
{
    struct arc *arc = open_fresh();
    char good[ARC_ID_HEX_LEN + 1], upper[ARC_ID_HEX_LEN + 1], longer[ARC_ID_HEX_LEN + 2];
    char slash[ARC_ID_HEX_LEN + 1], out[ARC_ID_HEX_LEN + 1];
    uint8_t *buf = NULL;
    size_t len = 0;
    bool is_dup;

    CHECK_INT(arc_put(arc, "x", 1, NULL, good, &is_dup), 0);
    CHECK_INT(arc_check_id(good), 0);

    memcpy(upper, good, sizeof(good));
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    snprintf(longer, sizeof(longer), "%s0", good);
    /* 64 characters that walk out of the archive. */
    snprintf(slash, sizeof(slash), "%s", good);
    memcpy(slash, "../../../../etc/", 16);

    const char *bad[] = {
        "../etc",
        "",
        "abc",
        upper,
        longer,
        slash,
        good + 1,                                                           /* 63 */
        "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* not hex */
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85 ", /* space */
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(arc_check_id(bad[i]), -EINVAL);
        if (!bad[i])
            continue;
        CHECK_INT(arc_get(arc, bad[i], &buf, &len), -EINVAL);
        CHECK_INT(arc_verify(arc, bad[i]), -EINVAL);
        CHECK_INT(arc_has(arc, bad[i]), -EINVAL);
        CHECK_INT(arc_put(arc, "x", 1, bad[i], out, &is_dup), -EINVAL);
    }
    CHECK(buf == NULL);
    arc_close(arc);
}

static int
on_stop(void *data, enum arc_scan_kind kind, const char *name, uint64_t size)
{
    return -ECANCELED;
}

static void
test_scan(void)
{
    struct arc *arc = open_fresh();
    static const char *pages[] = {"first", "second page", "third page, longest of all"};
    char ids[3][ARC_ID_HEX_LEN + 1], id[ARC_ID_HEX_LEN + 1], path[512];
    bool is_dup;

    for (int i = 0; i < 3; i++)
        CHECK_INT(arc_put(arc, pages[i], strlen(pages[i]), NULL, ids[i], &is_dup), 0);
    CHECK_INT(arc_put(arc, pages[0], strlen(pages[0]), NULL, id, &is_dup), 0);

    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, 3);
    CHECK_INT(s.n_tmp, 0);
    CHECK_INT(s.n_stray, 0);
    for (int i = 0; i < 3; i++) {
        int k = seen_index(&s, ids[i]);
        CHECK(k >= 0);
        if (k >= 0)
            CHECK_INT(s.sizes[k], strlen(pages[i]));
    }

    /* Crash leftovers and junk are reported apart, never as objects. */
    snprintf(path, sizeof(path), "%s/archive/objects/%.2s/tmp.0123456789abcdef", var_dir, ids[0]);
    write_file(path, "partial", 7, 0444);
    snprintf(path, sizeof(path), "%s/archive/objects/zz", var_dir);
    write_file(path, "junk", 4, 0644);
    snprintf(path, sizeof(path), "%s/archive/objects/%.2s/README", var_dir, ids[1]);
    write_file(path, "junk", 4, 0644);
    s = scan(arc);
    CHECK_INT(s.n_objects, 3);
    CHECK_INT(s.n_tmp, 1);
    CHECK_INT(s.n_stray, 2);

    /* The callback can stop the scan. */
    CHECK_INT(arc_scan(arc, on_stop, NULL), -ECANCELED);
    arc_close(arc);
}

static void
test_clean_tmp(void)
{
    struct arc *arc = open_fresh();
    char id[ARC_ID_HEX_LEN + 1], old_tmp[512], new_tmp[512], path[512];
    unsigned removed = 99;
    bool is_dup;

    CHECK_INT(arc_put(arc, "kept", 4, NULL, id, &is_dup), 0);
    /* Leftovers of puts that crashed before link(): one in a fan-out directory (arc_put), one
     * in archive/tmp/ (arc_put_fd), one of them old. */
    snprintf(old_tmp, sizeof(old_tmp), "%s/archive/objects/%.2s/tmp.00000000000000aa", var_dir, id);
    write_file(old_tmp, "half a pa", 9, 0444);
    struct timespec long_ago[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    CHECK_INT(utimensat(AT_FDCWD, old_tmp, long_ago, 0), 0);
    snprintf(new_tmp, sizeof(new_tmp), "%s/archive/tmp/tmp.00000000000000bb", var_dir);
    write_file(new_tmp, "half a pa", 9, 0444);
    /* Not ours to remove: */
    snprintf(path, sizeof(path), "%s/archive/tmp/notes", var_dir);
    write_file(path, "x", 1, 0644);

    struct seen s = scan(arc);
    CHECK_INT(s.n_tmp, 2);
    CHECK_INT(s.n_stray, 1);
    CHECK_CONTAINS(s.last_stray, "tmp/notes");

    /* While puts may run: only the old one. */
    CHECK_INT(arc_clean_tmp(arc, 3600, &removed), 0);
    CHECK_INT(removed, 1);
    CHECK(!exists(old_tmp));
    CHECK(exists(new_tmp));

    /* At startup: all of them. */
    CHECK_INT(arc_clean_tmp(arc, 0, &removed), 0);
    CHECK_INT(removed, 1);
    CHECK(!exists(new_tmp));
    CHECK(exists(path));
    CHECK_INT(arc_clean_tmp(arc, 0, NULL), 0);

    s = scan(arc);
    CHECK_INT(s.n_objects, 1);
    CHECK_INT(s.n_tmp, 0);
    CHECK_INT(arc_verify(arc, id), 0);
    arc_close(arc);
}

/* Several processes storing the same pages at once (link() racing link()): every put
 * succeeds, each page is stored once, and no tmp file is left. */
static void
test_concurrent_puts(void)
{
    enum { N_PROCS = 4, N_PAGES = 16, N_ROUNDS = 4 };
    struct arc *arc = open_fresh();
    pid_t pids[N_PROCS];

    for (int p = 0; p < N_PROCS; p++) {
        pids[p] = fork();
        CHECK(pids[p] >= 0);
        if (pids[p] != 0)
            continue;
        int bad = 0;
        for (int round = 0; round < N_ROUNDS; round++) {
            for (int i = 0; i < N_PAGES; i++) {
                char page[32], id[ARC_ID_HEX_LEN + 1];
                bool is_dup;
                int n = snprintf(page, sizeof(page), "page %d", (i + p) % N_PAGES);
                if (arc_put(arc, page, (size_t)n, NULL, id, &is_dup) != 0)
                    bad++;
            }
        }
        _exit(bad ? 1 : 0);
    }
    for (int p = 0; p < N_PROCS; p++) {
        int status = 0;
        if (pids[p] > 0) {
            CHECK_INT(waitpid(pids[p], &status, 0), pids[p]);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
    struct seen s = scan(arc);
    CHECK_INT(s.n_objects, N_PAGES);
    CHECK_INT(s.n_tmp, 0);
    for (int i = 0; i < s.n_objects && i < 8; i++)
        CHECK_INT(arc_verify(arc, s.ids[i]), 0);
    arc_close(arc);
}

int
main(void)
{
    /* Objects are created 0444; a test umask must not make that look otherwise. */
    umask(022);
    test_roundtrip();
    test_large_and_limits();
    test_dedup();
    test_expect_id();
    test_put_fd();
    test_corrupt_on_read();
    test_put_replaces_corrupt();
    test_missing();
    test_bad_ids();
    test_scan();
    test_clean_tmp();
    test_concurrent_puts();
    if (var_dir[0])
        (void)nftw(var_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_finish();
}
