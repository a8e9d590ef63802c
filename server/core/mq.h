/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounded multi-producer, single-consumer message queue woken by an eventfd.
 *
 * DESIGN: the only way threads talk (STYLE §2). Messages are small fixed-size values; a
 * pointer in a message carries ownership to the receiver unless the message type says
 * otherwise. Producers never block: a full queue returns -EAGAIN and the producer decides
 * (answer 503, retry on the next tick). The consumer registers mq_fd() with its loop (or
 * su_root) and calls mq_drain() when it is readable. The short mutex protects only the ring
 * copy; it is never held across I/O or a callback.
 */
#ifndef INKLESS_CORE_MQ_H
#define INKLESS_CORE_MQ_H

#include <stddef.h>
#include <stdint.h>

struct mq;

struct mq_msg {
    int type; /* defined by the consumer's module */
    int arg;
    void *ptr;
    uint64_t u64;
};

typedef void mq_handler_fn(void *data, const struct mq_msg *msg);

/* Create a queue holding up to `capacity` messages. NULL on out-of-memory or eventfd failure. */
struct mq *mq_new(size_t capacity);
void mq_free(struct mq *mq); /* accepts NULL; pending messages are dropped */

/* The eventfd to poll for readability (owned by the queue). */
int mq_fd(const struct mq *mq);

/* Enqueue a copy of *msg and wake the consumer. Any thread. 0 or -EAGAIN when full. */
int mq_send(struct mq *mq, const struct mq_msg *msg);

/* Consumer only: run handler for every queued message (including those queued meanwhile, up to
 * `capacity` per call so a flood cannot starve the loop). Returns the number handled. */
size_t mq_drain(struct mq *mq, mq_handler_fn *handler, void *data);

#endif
