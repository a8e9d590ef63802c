/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event loop: epoll + timer heap + deferred calls + an eventfd for loop_stop(). */
#include "loop.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 256
#define LOOP_MAX_DEFER 1024

struct loop_deferred {
    loop_defer_fn *fn;
    void *data;
};

struct loop {
    int epfd;
    int stopfd;
    atomic_bool stop;
    uint64_t now_ns;
    loop_clock_fn *clock_fn;
    void *clock_data;

    struct timer **heap; /* min-heap on due_ns */
    size_t nheap, max_timers;

    struct loop_deferred defer[LOOP_MAX_DEFER];
    size_t ndefer;

    /* Events of the batch being dispatched; loop_del_io() clears matching entries. */
    struct epoll_event events[LOOP_BATCH];
    int nevents;
};

static uint64_t
monotonic_ns(void *data)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop *
loop_new(size_t max_timers)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->heap = calloc(max_timers ? max_timers : 1, sizeof(*loop->heap));
    loop->max_timers = max_timers;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->clock_fn = monotonic_ns;
    if (!loop->heap || loop->epfd < 0 || loop->stopfd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0)
        goto fail;
    loop->now_ns = loop->clock_fn(NULL);
    return loop;
fail:
    loop_free(loop);
    return NULL;
}

void
loop_free(struct loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->stopfd >= 0)
        close(loop->stopfd);
    free(loop->heap);
    free(loop);
}

int
loop_add_io(struct loop *loop, struct loop_io *io, int fd, uint32_t events, loop_io_fn *fn,
            void *data)
{
    io->fd = fd;
    io->fn = fn;
    io->data = data;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    return 0;
}

int
loop_mod_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -errno;
    return 0;
}

void
loop_del_io(struct loop *loop, struct loop_io *io)
{
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    /* The owner may free io right after this: forget it in the batch being dispatched. */
    for (int i = 0; i < loop->nevents; i++)
        if (loop->events[i].data.ptr == io)
            loop->events[i].data.ptr = NULL, loop->events[i].events = 0;
}

/* ---- timers: binary min-heap of pointers; heap_index is position + 1 (0 = unarmed) ---- */

static void
heap_set(struct loop *loop, size_t pos, struct timer *t)
{
    loop->heap[pos] = t;
    t->heap_index = pos + 1;
}

static void
heap_up(struct loop *loop, size_t pos)
{
    struct timer *t = loop->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (loop->heap[parent]->due_ns <= t->due_ns)
            break;
        heap_set(loop, pos, loop->heap[parent]);
        pos = parent;
    }
    heap_set(loop, pos, t);
}

static void
heap_down(struct loop *loop, size_t pos)
{
    struct timer *t = loop->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= loop->nheap)
            break;
        if (child + 1 < loop->nheap && loop->heap[child + 1]->due_ns < loop->heap[child]->due_ns)
            child++;
        if (t->due_ns <= loop->heap[child]->due_ns)
            break;
        heap_set(loop, pos, loop->heap[child]);
        pos = child;
    }
    heap_set(loop, pos, t);
}

void
timer_init(struct timer *t, timer_fn *fn, void *data)
{
    *t = (struct timer){.fn = fn, .data = data};
}

bool
timer_is_armed(const struct timer *t)
{
    return t->heap_index != 0;
}

void
timer_cancel(struct loop *loop, struct timer *t)
{
    if (!t->heap_index)
        return;
    size_t pos = t->heap_index - 1;
    t->heap_index = 0;
    loop->nheap--;
    if (pos == loop->nheap)
        return;
    struct timer *moved = loop->heap[loop->nheap];
    heap_set(loop, pos, moved);
    heap_up(loop, pos);
    heap_down(loop, moved->heap_index - 1);
}

int
timer_arm(struct loop *loop, struct timer *t, uint64_t delay_ns)
{
    timer_cancel(loop, t);
    if (loop->nheap >= loop->max_timers)
        return -ENOSPC;
    t->due_ns = loop->now_ns + delay_ns;
    heap_set(loop, loop->nheap++, t);
    heap_up(loop, loop->nheap - 1);
    return 0;
}

static void
run_timers(struct loop *loop)
{
    /* Bounded: a timer re-armed with delay 0 from its callback waits for the next iteration. */
    size_t budget = loop->nheap;
    while (budget-- > 0 && loop->nheap > 0 && loop->heap[0]->due_ns <= loop->now_ns) {
        struct timer *t = loop->heap[0];
        timer_cancel(loop, t);
        t->fn(t->data);
    }
}

/* ---- deferred calls ---- */

int
loop_defer(struct loop *loop, loop_defer_fn *fn, void *data)
{
    if (loop->ndefer >= LOOP_MAX_DEFER)
        return -ENOSPC;
    loop->defer[loop->ndefer++] = (struct loop_deferred){fn, data};
    return 0;
}

static void
run_deferred(struct loop *loop)
{
    /* Calls deferred by deferred calls run in this same pass (bounded by LOOP_MAX_DEFER). */
    for (size_t i = 0; i < loop->ndefer; i++)
        loop->defer[i].fn(loop->defer[i].data);
    loop->ndefer = 0;
}

/* ---- clock and running ---- */

uint64_t
loop_now(const struct loop *loop)
{
    return loop->now_ns;
}

uint64_t
loop_update_now(struct loop *loop)
{
    loop->now_ns = loop->clock_fn(loop->clock_data);
    return loop->now_ns;
}

void
loop_set_clock(struct loop *loop, loop_clock_fn *fn, void *data)
{
    loop->clock_fn = fn ? fn : monotonic_ns;
    loop->clock_data = data;
    loop_update_now(loop);
}

static int
next_timeout_ms(const struct loop *loop, int timeout_ms)
{
    if (loop->ndefer > 0)
        return 0;
    if (loop->nheap == 0)
        return timeout_ms;
    uint64_t due = loop->heap[0]->due_ns;
    if (due <= loop->now_ns)
        return 0;
    uint64_t ms = (due - loop->now_ns + 999999) / 1000000;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms)
        return timeout_ms;
    return ms > 60000 ? 60000 : (int)ms;
}

int
loop_run_once(struct loop *loop, int timeout_ms)
{
    int n = epoll_wait(loop->epfd, loop->events, LOOP_BATCH, next_timeout_ms(loop, timeout_ms));
    if (n < 0) {
        if (errno == EINTR)
            n = 0;
        else
            return -errno;
    }
    loop_update_now(loop);
    loop->nevents = n;
    for (int i = 0; i < loop->nevents; i++) {
        struct loop_io *io = loop->events[i].data.ptr;
        if (!io) {
            if (loop->events[i].events) {
                uint64_t v;
                (void)!read(loop->stopfd, &v, sizeof(v));
            }
            continue;
        }
        io->fn(io->data, io->fd, loop->events[i].events);
    }
    loop->nevents = 0;
    run_timers(loop);
    run_deferred(loop);
    return n;
}

int
loop_run(struct loop *loop)
{
    atomic_store(&loop->stop, false);
    while (!atomic_load(&loop->stop)) {
        int r = loop_run_once(loop, -1);
        if (r < 0)
            return r;
    }
    return 0;
}

void
loop_stop(struct loop *loop)
{
    uint64_t one = 1;
    atomic_store(&loop->stop, true);
    (void)!write(loop->stopfd, &one, sizeof(one));
}
