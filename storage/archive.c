/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The content-addressed object store (see archive.h). Every path is opened relative to the
 * archive's directory fds (openat, linkat, ...), and ids are checked before they become paths.
 */
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

#define DIR_MODE 0750
#define OBJECT_MODE 0444
#define TMP_PREFIX "tmp."
#define TMP_PREFIX_LEN 4
#define TMP_NAME_SIZE (TMP_PREFIX_LEN + 16 + 1) /* "tmp." + 16 hex + NUL */
#define CHUNK 16384
/* link() finding the name taken, then the taker vanishing, again and again, takes concurrent
 * puts and scrubs of one corrupt object: give up after this many rounds with -EAGAIN. */
#define MAX_INSTALL_TRIES 8
/* archive/corrupt/<id>.<n>: how many corrupt copies of one id we keep apart. */
#define MAX_CORRUPT_COPIES 1000

struct arc {
    int archive_fd; /* <var_dir>/archive */
    int objects_fd; /* archive/objects: fan-out directories <2 hex>/ holding <62 hex> files */
    int corrupt_fd; /* archive/corrupt: objects whose bytes did not match their name */
    int tmp_fd;     /* archive/tmp: arc_put_fd's tmp files (its target is known only at EOF) */
};

static bool
is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int
arc_check_id(const char *id)
{
    /* strnlen: a hostile string need not be short, nor end where strlen would look. */
    if (!id || strnlen(id, ARC_ID_HEX_LEN + 1) != ARC_ID_HEX_LEN ||
        !is_lower_hex(id, ARC_ID_HEX_LEN))
        return -EINVAL;
    return 0;
}

/* Fill path with "ab/cdef…" for a checked id. */
static void
object_path(const char *id, char path[ARC_ID_HEX_LEN + 2])
{
    path[0] = id[0];
    path[1] = id[1];
    path[2] = '/';
    memcpy(path + 3, id + 2, ARC_ID_HEX_LEN - 2 + 1);
}

static int
write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read up to len bytes at off; returns the count (short only at end of file) or -errno. */
static ssize_t
pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + got, len - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Open directory name under parent, creating it if create is set. When this call created it,
 * fsync parent so that the new directory entry is durable before anything inside it is.
 * Returns the directory's fd or -errno. */
static int
open_dir(int parent, const char *name, bool create)
{
    bool is_new = false;

    if (create) {
        if (mkdirat(parent, name, DIR_MODE) == 0)
            is_new = true;
        else if (errno != EEXIST)
            return -errno;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (is_new && fsync(parent) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* The fan-out directory of a checked id, created if needed. arc_open creates all 256, so a
 * put normally finds it; creating it here only covers one removed since. */
static int
open_fanout(struct arc *arc, const char *id, bool create)
{
    char name[3] = {id[0], id[1], '\0'};

    return open_dir(arc->objects_fd, name, create);
}

int
arc_open(const char *var_dir, struct arc **ret_arc)
{
    struct arc *arc;
    int r;

    *ret_arc = NULL;
    arc = malloc(sizeof(*arc));
    if (!arc)
        return -ENOMEM;
    *arc = (struct arc){.archive_fd = -1, .objects_fd = -1, .corrupt_fd = -1, .tmp_fd = -1};

    int var_fd = open(var_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (var_fd < 0) {
        r = -errno;
        goto fail;
    }
    arc->archive_fd = r = open_dir(var_fd, "archive", true);
    close(var_fd);
    if (r < 0)
        goto fail;
    arc->objects_fd = r = open_dir(arc->archive_fd, "objects", true);
    if (r < 0)
        goto fail;
    arc->corrupt_fd = r = open_dir(arc->archive_fd, "corrupt", true);
    if (r < 0)
        goto fail;
    arc->tmp_fd = r = open_dir(arc->archive_fd, "tmp", true);
    if (r < 0)
        goto fail;

    /* All fan-out directories up front, with one fsync of objects/: otherwise a put that finds
     * a directory another thread has just created (EEXIST) could not know whether that
     * thread's fsync of objects/ is done. Best effort: a read-only archive still opens. */
    bool is_new = false;
    for (int i = 0; i < 256; i++) {
        char name[3];
        snprintf(name, sizeof(name), "%02x", i);
        if (mkdirat(arc->objects_fd, name, DIR_MODE) == 0)
            is_new = true;
    }
    if (is_new && fsync(arc->objects_fd) < 0) {
        r = -errno;
        goto fail;
    }
    *ret_arc = arc;
    return 0;

fail:
    arc_close(arc);
    return r;
}

void
arc_close(struct arc *arc)
{
    if (!arc)
        return;
    int fds[] = {arc->archive_fd, arc->objects_fd, arc->corrupt_fd, arc->tmp_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(arc);
}

/* Create a tmp file "tmp.<16 random hex>" in dir_fd, exclusively, mode 0444, open for reading
 * and writing (the mode binds later opens, not this fd). Returns the fd or -errno. */
static int
create_tmp(int dir_fd, char ret_name[TMP_NAME_SIZE])
{
    static const char digits[] = "0123456789abcdef";

    for (int tries = 0; tries < 16; tries++) {
        uint8_t rnd[8];
        ssize_t n = getrandom(rnd, sizeof(rnd), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(rnd))
            return n < 0 ? -errno : -EIO;
        memcpy(ret_name, TMP_PREFIX, TMP_PREFIX_LEN);
        for (size_t i = 0; i < sizeof(rnd); i++) {
            ret_name[TMP_PREFIX_LEN + 2 * i] = digits[rnd[i] >> 4];
            ret_name[TMP_PREFIX_LEN + 2 * i + 1] = digits[rnd[i] & 15];
        }
        ret_name[TMP_NAME_SIZE - 1] = '\0';
        int fd = openat(dir_fd, ret_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        OBJECT_MODE);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Do files a and b hold the same bytes? Returns 1, 0, or -errno. */
static int
same_bytes(int a, int b)
{
    uint8_t buf_a[CHUNK], buf_b[CHUNK];
    struct stat st_a, st_b;

    if (fstat(a, &st_a) < 0 || fstat(b, &st_b) < 0)
        return -errno;
    if (st_a.st_size != st_b.st_size)
        return 0;
    for (off_t off = 0; off < st_a.st_size;) {
        size_t want = st_a.st_size - off < CHUNK ? (size_t)(st_a.st_size - off) : CHUNK;
        ssize_t n_a = pread_full(a, buf_a, want, off);
        if (n_a < 0)
            return (int)n_a;
        ssize_t n_b = pread_full(b, buf_b, want, off);
        if (n_b < 0)
            return (int)n_b;
        if (n_a != (ssize_t)want || n_b != (ssize_t)want || memcmp(buf_a, buf_b, want) != 0)
            return 0;
        off += (off_t)want;
    }
    return 1;
}

/* Does the object file `name` in fan_fd hold exactly buf? Returns 1, 0 (different, absent or
 * not a regular file: the caller's full put path deals with it), or -errno. */
static int
holds_bytes(int fan_fd, const char *name, const uint8_t *buf, size_t len)
{
    uint8_t chunk[CHUNK];
    struct stat st;
    int fd = openat(fan_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP ? 0 : -errno;
    int r = fstat(fd, &st) < 0 ? -errno : 1;
    if (r == 1 && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)len))
        r = 0;
    for (size_t off = 0; r == 1 && off < len;) {
        size_t want = len - off < CHUNK ? len - off : CHUNK;
        ssize_t n = pread_full(fd, chunk, want, (off_t)off);
        if (n < 0)
            r = (int)n;
        else if ((size_t)n != want || memcmp(chunk, buf + off, want) != 0)
            r = 0;
        off += want;
    }
    close(fd);
    return r;
}

/* Take the lock that serialises every move into archive/corrupt/ (and a put's replacement of
 * what it moved), across threads and processes: flock() on a fresh open of the directory,
 * since flock belongs to the open file description. Returns the fd to close, or -errno. */
static int
lock_corrupt(struct arc *arc)
{
    int fd = openat(arc->corrupt_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int r = -errno;
            close(fd);
            return r;
        }
    }
    return fd;
}

/* With the corrupt lock held: move object id out of fan_fd into archive/corrupt/<id>[.n], but
 * only if the name still holds bad_fd's file; if it holds another file, someone moved ours
 * and may have stored a good one there, which must stay. link + unlink rather than rename,
 * because rename would replace (delete) an earlier corrupt copy of the same id. Returns 0 if
 * the bad file is no longer at the name (moved by us or before us), or -errno. */
static int
move_corrupt_locked(struct arc *arc, int fan_fd, const char *id, int bad_fd)
{
    struct stat bad, cur;
    char name[ARC_ID_HEX_LEN + 16];

    if (fstat(bad_fd, &bad) < 0)
        return -errno;
    if (fstatat(fan_fd, id + 2, &cur, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (cur.st_dev != bad.st_dev || cur.st_ino != bad.st_ino)
        return 0;
    for (unsigned n = 0;; n++) {
        if (n == 0)
            snprintf(name, sizeof(name), "%s", id);
        else
            snprintf(name, sizeof(name), "%s.%u", id, n);
        if (linkat(fan_fd, id + 2, arc->corrupt_fd, name, 0) == 0)
            break;
        if (errno != EEXIST)
            return -errno;
        if (n >= MAX_CORRUPT_COPIES)
            return -EEXIST;
    }
    /* The copy is durable in corrupt/ before the object's name goes. */
    if (fsync(arc->corrupt_fd) < 0)
        return -errno;
    if (unlinkat(fan_fd, id + 2, 0) < 0)
        return -errno;
    return fsync(fan_fd) < 0 ? -errno : 0;
}

/* A read found bad_fd (object id in fan_fd) corrupt: move it away. */
static int
move_corrupt(struct arc *arc, int fan_fd, const char *id, int bad_fd)
{
    int lock_fd = lock_corrupt(arc);
    if (lock_fd < 0)
        return lock_fd;
    int r = move_corrupt_locked(arc, fan_fd, id, bad_fd);
    close(lock_fd);
    return r;
}

/* Give our tmp file src_name in src_dir_fd (also open as ours_fd; fsynced, hashing to id) the
 * object's name in fan_fd. The caller unlinks the tmp name and fsyncs fan_fd.
 *   - link() succeeds: stored.
 *   - the name exists with the same bytes: a dedup.
 *   - the name exists with other bytes: as ours hash to id, the existing file is corrupt;
 *     move it to corrupt/ and link ours, both under the corrupt lock.
 *   - the name vanished between link() and open (a reader moved it): try again.
 * Returns 0 or -errno. */
static int
install(struct arc *arc, int src_dir_fd, const char *src_name, int ours_fd, int fan_fd,
        const char *id, bool *ret_is_dup)
{
    for (int tries = 0; tries < MAX_INSTALL_TRIES; tries++) {
        if (linkat(src_dir_fd, src_name, fan_fd, id + 2, 0) == 0) {
            *ret_is_dup = false;
            return 0;
        }
        if (errno != EEXIST)
            return -errno;

        int old = openat(fan_fd, id + 2, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (old < 0 && errno == ENOENT)
            continue;
        if (old < 0)
            return -errno;
        struct stat st;
        int r = fstat(old, &st) < 0 ? -errno : 0;
        /* Not a file (a directory, say): nothing we may move; scrub lists it as stray. */
        if (r == 0 && !S_ISREG(st.st_mode))
            r = -EEXIST;
        if (r == 0)
            r = same_bytes(old, ours_fd);
        if (r == 1) {
            close(old);
            *ret_is_dup = true;
            return 0;
        }
        if (r < 0) {
            close(old);
            return r;
        }

        int lock_fd = lock_corrupt(arc);
        if (lock_fd < 0) {
            close(old);
            return lock_fd;
        }
        r = move_corrupt_locked(arc, fan_fd, id, old);
        close(old);
        if (r == 0 && linkat(src_dir_fd, src_name, fan_fd, id + 2, 0) < 0)
            r = -errno;
        close(lock_fd);
        if (r == 0) {
            *ret_is_dup = false;
            return 0;
        }
        /* EEXIST: another put stored the same bytes in between; compare again. */
        if (r != -EEXIST)
            return r;
    }
    return -EAGAIN;
}

int
arc_put(struct arc *arc, const void *buf, size_t len, const char *expect_id,
        char ret_id[ARC_ID_HEX_LEN + 1], bool *ret_is_dup)
{
    uint8_t digest[ARC_SHA256_LEN];
    char id[ARC_ID_HEX_LEN + 1], tmp[TMP_NAME_SIZE];
    int r;

    if (expect_id && arc_check_id(expect_id) < 0)
        return -EINVAL;
    if (len > ARC_MAX_OBJECT_LEN)
        return -EFBIG;
    /* The tmp file goes in the target directory, which the hash names, so the bytes (already
     * in memory) are hashed before they are written; arc_put_fd hashes while it writes. */
    arc_sha256_buf(buf, len, digest);
    arc_sha256_hex(digest, id);
    if (expect_id && strcmp(id, expect_id) != 0)
        return -EBADMSG;

    int fan_fd = open_fanout(arc, id, true);
    if (fan_fd < 0)
        return fan_fd;
    /* A dedup, the common case for a page seen before, needs no tmp file: the object is
     * there with these very bytes (so its hash is id). Anything else (absent, different,
     * not a file) takes the full path below, which compares again and moves a corrupt
     * object aside. */
    r = holds_bytes(fan_fd, id + 2, buf, len);
    if (r == 1) {
        *ret_is_dup = true;
        /* The put that linked it may not have fsynced the directory yet. */
        r = fsync(fan_fd) < 0 ? -errno : 0;
        close(fan_fd);
        if (r == 0)
            memcpy(ret_id, id, sizeof(id));
        return r;
    }
    if (r < 0) {
        close(fan_fd);
        return r;
    }
    int fd = create_tmp(fan_fd, tmp);
    if (fd < 0) {
        close(fan_fd);
        return fd;
    }
    r = write_all(fd, buf, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0)
        r = install(arc, fan_fd, tmp, fd, fan_fd, id, ret_is_dup);
    close(fd);
    /* Linked or not, the tmp name goes; if this fails, arc_clean_tmp removes it later. */
    (void)unlinkat(fan_fd, tmp, 0);
    /* Also for a dedup: the object may have been linked by another thread that has not
     * fsynced the directory yet. */
    if (r == 0 && fsync(fan_fd) < 0)
        r = -errno;
    close(fan_fd);
    if (r == 0)
        memcpy(ret_id, id, sizeof(id));
    return r;
}

int
arc_put_fd(struct arc *arc, int in_fd, const char *expect_id, char ret_id[ARC_ID_HEX_LEN + 1],
           bool *ret_is_dup)
{
    uint8_t chunk[CHUNK], digest[ARC_SHA256_LEN];
    char id[ARC_ID_HEX_LEN + 1], tmp[TMP_NAME_SIZE];
    struct arc_sha256 ctx;
    size_t total = 0;
    int r = 0;

    if (expect_id && arc_check_id(expect_id) < 0)
        return -EINVAL;
    /* The target directory is known only at end of file: write into archive/tmp/ (same file
     * system, so link() works from there). */
    int fd = create_tmp(arc->tmp_fd, tmp);
    if (fd < 0)
        return fd;
    arc_sha256_init(&ctx);
    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > ARC_MAX_OBJECT_LEN) {
            r = -EFBIG;
            break;
        }
        arc_sha256_update(&ctx, chunk, (size_t)n);
        r = write_all(fd, chunk, (size_t)n);
        if (r < 0)
            break;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0) {
        arc_sha256_final(&ctx, digest);
        arc_sha256_hex(digest, id);
        if (expect_id && strcmp(id, expect_id) != 0)
            r = -EBADMSG;
    }
    if (r == 0) {
        int fan_fd = open_fanout(arc, id, true);
        if (fan_fd < 0) {
            r = fan_fd;
        } else {
            r = install(arc, arc->tmp_fd, tmp, fd, fan_fd, id, ret_is_dup);
            if (r == 0 && fsync(fan_fd) < 0)
                r = -errno;
            close(fan_fd);
        }
    }
    close(fd);
    (void)unlinkat(arc->tmp_fd, tmp, 0);
    if (r == 0)
        memcpy(ret_id, id, sizeof(id));
    return r;
}

/* Read object id and check its hash: into a malloc'd *ret_buf when ret_buf is given (bounded by
 * ARC_MAX_OBJECT_LEN), else in chunks. A mismatch moves the file to corrupt/. */
static int
check_object(struct arc *arc, const char *id, uint8_t **ret_buf, size_t *ret_len)
{
    uint8_t chunk[CHUNK], digest[ARC_SHA256_LEN], *buf = NULL;
    char hex[ARC_ID_HEX_LEN + 1];
    struct arc_sha256 ctx;
    struct stat st;
    size_t len = 0;
    int r;

    r = arc_check_id(id);
    if (r < 0)
        return r;
    int fan_fd = open_fanout(arc, id, false);
    if (fan_fd < 0)
        return fan_fd == -ENOTDIR ? -ENOENT : fan_fd;
    /* O_NONBLOCK: a FIFO planted at the name must not hang the worker. */
    int fd = openat(fan_fd, id + 2, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        close(fan_fd);
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EBADMSG;
        goto out;
    }
    if (ret_buf) {
        if ((uint64_t)st.st_size > ARC_MAX_OBJECT_LEN) {
            r = -EFBIG;
            goto out;
        }
        buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
        if (!buf) {
            r = -ENOMEM;
            goto out;
        }
        /* A file shorter than fstat said hashes differently, so it is caught below. */
        ssize_t n = pread_full(fd, buf, (size_t)st.st_size, 0);
        if (n < 0) {
            r = (int)n;
            goto out;
        }
        len = (size_t)n;
        arc_sha256_buf(buf, len, digest);
    } else {
        arc_sha256_init(&ctx);
        for (off_t off = 0;;) {
            ssize_t n = pread_full(fd, chunk, sizeof(chunk), off);
            if (n < 0) {
                r = (int)n;
                goto out;
            }
            if (n == 0)
                break;
            arc_sha256_update(&ctx, chunk, (size_t)n);
            off += n;
        }
        arc_sha256_final(&ctx, digest);
    }
    arc_sha256_hex(digest, hex);
    if (strcmp(hex, id) != 0) {
        /* Corrupt whether or not the move succeeds; a failed move is found again next read. */
        (void)move_corrupt(arc, fan_fd, id, fd);
        r = -EBADMSG;
        goto out;
    }
    if (ret_buf) {
        *ret_buf = buf;
        *ret_len = len;
        buf = NULL;
    }
    r = 0;

out:
    free(buf);
    close(fd);
    close(fan_fd);
    return r;
}

int
arc_get(struct arc *arc, const char *id, uint8_t **ret_buf, size_t *ret_len)
{
    return check_object(arc, id, ret_buf, ret_len);
}

int
arc_verify(struct arc *arc, const char *id)
{
    return check_object(arc, id, NULL, NULL);
}

int
arc_has(struct arc *arc, const char *id)
{
    char path[ARC_ID_HEX_LEN + 2];
    struct stat st;

    if (arc_check_id(id) < 0)
        return -EINVAL;
    object_path(id, path);
    if (fstatat(arc->objects_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    return S_ISREG(st.st_mode) ? 1 : 0;
}

/* Open directory name under parent for readdir. */
static DIR *
open_dir_stream(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
}

static bool
is_dot(const char *name)
{
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* The next entry of d but "." and "..", with its lstat: 1, 0 at the end, or -errno. An
 * entry removed since readdir (a put's tmp, an object moved aside) is skipped. */
static int
next_entry(DIR *d, struct dirent **ret_e, struct stat *ret_st)
{
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e)
            return errno ? -errno : 0;
        if (is_dot(e->d_name))
            continue;
        if (fstatat(dirfd(d), e->d_name, ret_st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return -errno;
        }
        *ret_e = e;
        return 1;
    }
}

/* Report each entry of one directory: prefix is "objects/ab" (fan names the fan-out directory,
 * so that 62 hex files are objects) or "tmp" (fan NULL). */
static int
scan_dir(int parent, const char *prefix, const char *fan, arc_scan_fn *fn, void *data)
{
    char name[600];
    int r = 0;

    DIR *d = open_dir_stream(parent, fan ? fan : prefix);
    if (!d)
        return -errno;
    struct dirent *e;
    struct stat st;
    while ((r = next_entry(d, &e, &st)) > 0) {
        size_t n = strlen(e->d_name);
        enum arc_scan_kind kind = ARC_SCAN_STRAY;
        if (fan && n == ARC_ID_HEX_LEN - 2 && is_lower_hex(e->d_name, n) && S_ISREG(st.st_mode))
            kind = ARC_SCAN_OBJECT;
        else if (strncmp(e->d_name, TMP_PREFIX, TMP_PREFIX_LEN) == 0 && S_ISREG(st.st_mode))
            kind = ARC_SCAN_TMP;
        if (kind == ARC_SCAN_OBJECT)
            snprintf(name, sizeof(name), "%s%s", fan, e->d_name);
        else
            snprintf(name, sizeof(name), "%s/%s", prefix, e->d_name);
        r = fn(data, kind, name, (uint64_t)st.st_size);
        if (r < 0)
            break;
    }
    closedir(d);
    return r;
}

int
arc_scan(struct arc *arc, arc_scan_fn *fn, void *data)
{
    char prefix[64], path[300];
    int r = 0;

    DIR *d = open_dir_stream(arc->archive_fd, "objects");
    if (!d)
        return -errno;
    struct dirent *e;
    struct stat st;
    while ((r = next_entry(d, &e, &st)) > 0) {
        if (strlen(e->d_name) == 2 && is_lower_hex(e->d_name, 2) && S_ISDIR(st.st_mode)) {
            snprintf(prefix, sizeof(prefix), "objects/%.2s", e->d_name);
            r = scan_dir(dirfd(d), prefix, e->d_name, fn, data);
        } else {
            snprintf(path, sizeof(path), "objects/%s", e->d_name);
            r = fn(data, ARC_SCAN_STRAY, path, (uint64_t)st.st_size);
        }
        if (r < 0)
            break;
    }
    closedir(d);
    if (r < 0)
        return r;
    return scan_dir(arc->archive_fd, "tmp", NULL, fn, data);
}

struct clean {
    struct arc *arc;
    bool is_all;   /* remove every tmp file, whatever its time */
    time_t before; /* else only those modified before this */
    unsigned n_removed;
};

static int
clean_one(void *data, enum arc_scan_kind kind, const char *name, uint64_t size)
{
    struct clean *c = data;
    struct stat st;

    if (kind != ARC_SCAN_TMP)
        return 0;
    /* name is relative to archive/ and built from directory entries, so it stays inside. */
    if (fstatat(c->arc->archive_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!c->is_all && st.st_mtime >= c->before)
        return 0;
    if (unlinkat(c->arc->archive_fd, name, 0) < 0)
        return errno == ENOENT ? 0 : -errno;
    c->n_removed++;
    return 0;
}

int
arc_clean_tmp(struct arc *arc, unsigned min_age_s, unsigned *ret_removed)
{
    /* File times are wall-clock times, so the age is too. With min_age_s = 0 every tmp file
     * qualifies, even one written in this very second. */
    struct clean c = {
        .arc = arc,
        .is_all = min_age_s == 0,
        .before = time(NULL) - (time_t)min_age_s,
    };
    int r = arc_scan(arc, clean_one, &c);
    if (ret_removed)
        *ret_removed = c.n_removed;
    return r < 0 ? r : 0;
}
