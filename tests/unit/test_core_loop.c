/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event loop and message queue: timer order under an injected clock, cancel from a callback,
 * deferred calls, fd dispatch with removal mid-batch, and a queue fed by several threads. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"
#include "mq.h"

static uint64_t fake_now;

static uint64_t
fake_clock(void *data)
{
    return fake_now;
}

struct fired {
    int order[16];
    int n;
};

struct tctx {
    struct fired *f;
    int id;
    struct loop *loop;
    struct timer *other; /* cancelled from this timer's callback */
    struct timer self;
};

static void
on_timer(void *data)
{
    struct tctx *c = data;
    c->f->order[c->f->n++] = c->id;
    if (c->other)
        timer_cancel(c->loop, c->other);
}

static void
test_timers(void)
{
    struct loop *loop = loop_new(8);
    struct fired f = {0};
    struct tctx c[6];

    loop_set_clock(loop, fake_clock, NULL);
    for (int i = 0; i < 6; i++) {
        c[i] = (struct tctx){.f = &f, .id = i, .loop = loop};
        timer_init(&c[i].self, on_timer, &c[i]);
    }
    /* Due times: 0→50, 1→10, 2→30, 3→20, 4→40 (cancelled by 3), 5→60 (cancelled before). */
    static const int due[] = {50, 10, 30, 20, 40, 60};
    for (int i = 0; i < 6; i++)
        CHECK_INT(timer_arm(loop, &c[i].self, (uint64_t)due[i] * 1000000), 0);
    c[3].other = &c[4].self;
    timer_cancel(loop, &c[5].self);
    CHECK(!timer_is_armed(&c[5].self));
    timer_cancel(loop, &c[5].self); /* twice is harmless */

    for (int step = 0; step < 10; step++) {
        fake_now += 10 * 1000000;
        loop_run_once(loop, 0);
    }
    CHECK_INT(f.n, 4);
    CHECK_INT(f.order[0], 1);
    CHECK_INT(f.order[1], 3);
    CHECK_INT(f.order[2], 2);
    CHECK_INT(f.order[3], 0);

    /* Capacity: the heap holds max_timers armed timers and refuses more. */
    struct timer many[9];
    int armed = 0;
    for (int i = 0; i < 9; i++) {
        timer_init(&many[i], on_timer, NULL);
        if (timer_arm(loop, &many[i], 1000000000) == 0)
            armed++;
    }
    CHECK_INT(armed, 8);
    for (int i = 0; i < 9; i++)
        timer_cancel(loop, &many[i]);
    loop_free(loop);
}

static int deferred_calls;

static void
on_defer(void *data)
{
    deferred_calls++;
}

struct io_pair {
    struct loop *loop;
    struct loop_io a, b;
    int a_calls, b_calls;
};

static void
on_a(void *data, int fd, uint32_t ev)
{
    struct io_pair *p = data;
    p->a_calls++;
    /* Removing b during dispatch: its pending event in this batch must not be delivered. */
    loop_del_io(p->loop, &p->b);
    CHECK_INT(loop_defer(p->loop, on_defer, NULL), 0);
}

static void
on_b(void *data, int fd, uint32_t ev)
{
    struct io_pair *p = data;
    p->b_calls++;
    loop_del_io(p->loop, &p->a);
}

static void
test_io_and_defer(void)
{
    struct io_pair p = {.loop = loop_new(4)};
    int pa[2], pb[2];
    CHECK_INT(pipe(pa), 0);
    CHECK_INT(pipe(pb), 0);
    CHECK_INT(write(pa[1], "x", 1), 1);
    CHECK_INT(write(pb[1], "x", 1), 1);
    CHECK_INT(loop_add_io(p.loop, &p.a, pa[0], EPOLLIN, on_a, &p), 0);
    CHECK_INT(loop_add_io(p.loop, &p.b, pb[0], EPOLLIN, on_b, &p), 0);
    loop_run_once(p.loop, 100);
    /* Whichever ran first removed the other. */
    CHECK_INT(p.a_calls + p.b_calls, 1);
    CHECK_INT(deferred_calls, p.a_calls);
    for (int i = 0; i < 2; i++)
        close(pa[i]), close(pb[i]);
    loop_free(p.loop);
}

#define PRODUCERS 4
#define PER_PRODUCER 5000

struct producer {
    struct mq *q;
    int id;
    int sent;
};

static void *
produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        struct mq_msg m = {.type = p->id, .arg = i};
        /* Bounded retry: the consumer drains concurrently. */
        for (int tries = 0; tries < 1000000 && mq_send(p->q, &m) == -EAGAIN; tries++)
            sched_yield();
        p->sent++;
    }
    return NULL;
}

struct consumer {
    int next[PRODUCERS];
    int received;
    int out_of_order;
};

static void
consume(void *data, const struct mq_msg *m)
{
    struct consumer *c = data;
    if (m->arg != c->next[m->type])
        c->out_of_order++;
    c->next[m->type] = m->arg + 1;
    c->received++;
}

static void
test_mq_threads(void)
{
    struct mq *q = mq_new(64);
    struct producer p[PRODUCERS];
    pthread_t th[PRODUCERS];
    struct consumer c = {0};

    struct mq_msg m = {.type = 0};
    for (int i = 0; i < 64; i++)
        CHECK_INT(mq_send(q, &m), 0);
    CHECK_INT(mq_send(q, &m), -EAGAIN);
    struct consumer skip = {0};
    CHECK_INT(mq_drain(q, consume, &skip), 64);

    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct producer){.q = q, .id = i};
        pthread_create(&th[i], NULL, produce, &p[i]);
    }
    for (int spins = 0; c.received < PRODUCERS * PER_PRODUCER && spins < 10000000; spins++)
        mq_drain(q, consume, &c);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    mq_drain(q, consume, &c);
    CHECK_INT(c.received, PRODUCERS * PER_PRODUCER);
    CHECK_INT(c.out_of_order, 0); /* FIFO per producer */
    mq_free(q);
}

int
main(void)
{
    test_timers();
    test_io_and_defer();
    test_mq_threads();
    return check_finish();
}
