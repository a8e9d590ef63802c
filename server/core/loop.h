/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small event loop (after Redis' ae.c): epoll for file descriptors, an intrusive binary
 * heap of timers, a cached monotonic clock, and deferred calls that run after each batch.
 *
 * DESIGN: one loop per thread, never shared. Every function here must be called from the
 * loop's own thread, except loop_stop() (any thread: it only sets a flag and wakes the loop).
 * Handlers must not block (STYLE §2). An object closed during dispatch is marked dead by its
 * owner and freed from a loop_defer() callback, which runs after the current batch.
 */
#ifndef INKLESS_CORE_LOOP_H
#define INKLESS_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

typedef void loop_io_fn(void *data, int fd, uint32_t events);
typedef void timer_fn(void *data);
typedef void loop_defer_fn(void *data);
typedef uint64_t loop_clock_fn(void *data); /* returns nanoseconds */

/* A registered file descriptor. Embedded in its owner; must stay alive while registered. */
struct loop_io {
    int fd;
    loop_io_fn *fn;
    void *data;
};

/* A timer. Embedded in its owner: arming never allocates. */
struct timer {
    uint64_t due_ns;
    size_t heap_index; /* 0 = not armed; otherwise position + 1 */
    timer_fn *fn;
    void *data;
};

/* Create a loop able to hold `max_timers` armed timers at once. NULL on out-of-memory or if
 * epoll/eventfd cannot be created (errno set). */
struct loop *loop_new(size_t max_timers);

/* Free the loop. Registered fds are not closed (their owners close them). Accepts NULL. */
void loop_free(struct loop *loop);

/* Watch io->fd for `events` (EPOLLIN/EPOLLOUT/EPOLLET…). Returns 0 or -errno. */
int loop_add_io(struct loop *loop, struct loop_io *io, int fd, uint32_t events, loop_io_fn *fn,
                void *data);
int loop_mod_io(struct loop *loop, struct loop_io *io, uint32_t events);
/* Stop watching. Safe during dispatch: pending events for io in the current batch are dropped. */
void loop_del_io(struct loop *loop, struct loop_io *io);

void timer_init(struct timer *t, timer_fn *fn, void *data);
/* (Re)arm t to fire once, `delay_ns` after the loop's cached now. Returns 0, or -ENOSPC if
 * the loop already holds max_timers armed timers. */
int timer_arm(struct loop *loop, struct timer *t, uint64_t delay_ns);
/* Disarm; safe if not armed, and from the timer's own callback. */
void timer_cancel(struct loop *loop, struct timer *t);
bool timer_is_armed(const struct timer *t);

/* Run `fn(data)` after the current dispatch batch. Returns 0 or -ENOSPC (bounded queue). */
int loop_defer(struct loop *loop, loop_defer_fn *fn, void *data);

/* The loop's cached CLOCK_MONOTONIC time in ns, read once per iteration. */
uint64_t loop_now(const struct loop *loop);
/* Re-read the clock now (for code that measures elapsed time inside a long handler). */
uint64_t loop_update_now(struct loop *loop);
/* Inject a clock (tests): `fn(data)` replaces CLOCK_MONOTONIC. */
void loop_set_clock(struct loop *loop, loop_clock_fn *fn, void *data);

/* Run until loop_stop(). Returns 0, or -errno if epoll_wait fails unexpectedly. */
int loop_run(struct loop *loop);
/* Run one iteration waiting at most timeout_ms (-1 = until an event or timer). */
int loop_run_once(struct loop *loop, int timeout_ms);
/* Ask the loop to return from loop_run(). Any thread. */
void loop_stop(struct loop *loop);

#endif
