/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounded MPSC ring + eventfd. */
#include "mq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mq {
    pthread_mutex_t lock;
    int efd;
    size_t capacity, head, count;
    struct mq_msg ring[];
};

struct mq *
mq_new(size_t capacity)
{
    struct mq *mq = calloc(1, sizeof(*mq) + capacity * sizeof(struct mq_msg));
    if (!mq)
        return NULL;
    mq->capacity = capacity;
    mq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mq->efd < 0) {
        free(mq);
        return NULL;
    }
    pthread_mutex_init(&mq->lock, NULL);
    return mq;
}

void
mq_free(struct mq *mq)
{
    if (!mq)
        return;
    close(mq->efd);
    pthread_mutex_destroy(&mq->lock);
    free(mq);
}

int
mq_fd(const struct mq *mq)
{
    return mq->efd;
}

int
mq_send(struct mq *mq, const struct mq_msg *msg)
{
    pthread_mutex_lock(&mq->lock);
    if (mq->count == mq->capacity) {
        pthread_mutex_unlock(&mq->lock);
        return -EAGAIN;
    }
    mq->ring[(mq->head + mq->count) % mq->capacity] = *msg;
    mq->count++;
    pthread_mutex_unlock(&mq->lock);

    uint64_t one = 1;
    (void)!write(mq->efd, &one, sizeof(one));
    return 0;
}

size_t
mq_drain(struct mq *mq, mq_handler_fn *handler, void *data)
{
    uint64_t v;
    size_t handled = 0;

    (void)!read(mq->efd, &v, sizeof(v));
    while (handled < mq->capacity) {
        struct mq_msg msg;
        pthread_mutex_lock(&mq->lock);
        if (mq->count == 0) {
            pthread_mutex_unlock(&mq->lock);
            break;
        }
        msg = mq->ring[mq->head];
        mq->head = (mq->head + 1) % mq->capacity;
        mq->count--;
        pthread_mutex_unlock(&mq->lock);
        handler(data, &msg);
        handled++;
    }
    /* Left-overs (flood): make sure we are woken again. */
    pthread_mutex_lock(&mq->lock);
    size_t left = mq->count;
    pthread_mutex_unlock(&mq->lock);
    if (left) {
        uint64_t one = 1;
        (void)!write(mq->efd, &one, sizeof(one));
    }
    return handled;
}
