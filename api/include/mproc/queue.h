/* mproc — queues between processes: Python's Queue, JoinableQueue and SimpleQueue.
 *
 * A queue is a ring of bytes in shared memory with process-shared wake-ups, not a pipe fed
 * by a thread: a put returns once the message is in the ring, so a process that put
 * messages can always exit, read or not (Python's feeder-thread queue cannot: CPython
 * gh-73983). Messages are bytes of any size, from 0 bytes up; one larger than a quarter
 * of the ring streams through it in pieces, and the receiver gets it whole.
 *
 * Any number of producers and consumers, in any processes, at once; messages of one
 * producer arrive in the order it put them; none is lost or delivered twice. A producer
 * killed in the middle of a put, or giving up on a put that streams, leaves no partial
 * message behind (the message is not delivered); a consumer killed in the middle of a get
 * does not hold up the others (the message it was taking is gone with it).
 *
 * Queues travel in argument packs (mproc_pack_handle / mproc_unpack_queue) under every
 * start method. Each process's handle is its own to destroy; the ring goes with the last.
 *
 *   mproc_queue *q;
 *   mproc_queue_create(&q, 0);
 *   mproc_queue_put_pack(q, MPROC_ARGS(7, "seven"), MPROC_FOREVER);  // a typed message
 *   mproc_bytes msg;
 *   mproc_queue_get(q, 1000, &msg);                                  // 0, EEMPTY, ETIMEDOUT
 *   int64_t n; const char *name;
 *   MPROC_UNPACK(&msg, &n, &name);
 *   mproc_bytes_free(&msg);
 *   mproc_queue_destroy(q);
 *
 * Timeouts (common.h, rule 4): a put polled (timeout 0) on a full queue is MPROC_EFULL, a
 * get polled on an empty one MPROC_EEMPTY; any other timeout that passes is
 * MPROC_ETIMEDOUT. */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include "common.h"
#include "pack.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_queue mproc_queue;

typedef struct mproc_queue_opts {
    int64_t maxsize;   /* most messages held at once; <= 0: no limit but the ring */
    size_t ring_bytes; /* 0: 16 MiB; at most 2 GiB (MPROC_ETOOBIG). Memory is used
                          only as the ring fills (and, on Linux, given back as it
                          drains); rounded up to a power of two */
} mproc_queue_opts;

/* Queue(maxsize). */
MPROC_API int mproc_queue_create(mproc_queue **out, int64_t maxsize);
/* Queue with options (maxsize, ring size; opts may be NULL): MPROC_ETOOBIG for a ring over 2
 * GiB. */
MPROC_API int mproc_queue_create_opts(mproc_queue **out, const mproc_queue_opts *opts);
/* JoinableQueue(maxsize): every put counts a task that task_done marks finished. */
MPROC_API int mproc_queue_create_joinable(mproc_queue **out, int64_t maxsize);
/* SimpleQueue(): a queue without a size limit, qsize or joins. */
MPROC_API int mproc_simplequeue_create(mproc_queue **out);

/* Puts a copy of len bytes. timeout_ms 0 is put_nowait: MPROC_EFULL at once when the
 * queue is full; otherwise MPROC_ETIMEDOUT when no room came in time. A message streaming
 * through the ring waits for room as long as consumers keep taking pieces, and gives up
 * (nothing delivered) only after timeout_ms without progress. */
MPROC_API int mproc_queue_put(mproc_queue *q, const void *data, size_t len, int64_t timeout_ms);
/* Puts the encoded bytes of a pack (MPROC_ARGS(...) works) as one message, which the getter
 * reads with MPROC_UNPACK; for every kind of queue (SimpleQueue and JoinableQueue too). A
 * pack holding objects with OS handles (locks, queues, pipe ends, ...) cannot travel in a
 * message: MPROC_ENOTSUP, nothing put (manager proxies do travel). Otherwise as
 * mproc_queue_put. */
MPROC_API int mproc_queue_put_pack(mproc_queue *q, const mproc_pack *pack, int64_t timeout_ms);
/* Takes the next message into *out (free it with mproc_bytes_free). timeout_ms 0 is
 * get_nowait: MPROC_EEMPTY at once when empty; otherwise MPROC_ETIMEDOUT. If the timeout
 * passes while a streamed message is half-way in, the part that came stays in this
 * handle, which keeps the consumers' turn: the next get on this handle goes on with it
 * (other consumers wait meanwhile; closing or destroying the handle gives the message up). */
MPROC_API int mproc_queue_get(mproc_queue *q, int64_t timeout_ms, mproc_bytes *out);
/* *n: the approximate number of messages (as Python's). */
MPROC_API int mproc_queue_qsize(mproc_queue *q, int64_t *n);
/* 1 or 0 (approximate, as Python's). */
MPROC_API int mproc_queue_empty(mproc_queue *q);
/* 1 if the queue holds maxsize messages, else 0 (approximate, as Python's). */
MPROC_API int mproc_queue_full(mproc_queue *q);
/* This handle puts and gets no more (MPROC_ECLOSED); other handles are not affected. */
MPROC_API int mproc_queue_close(mproc_queue *q);
/* Closes this handle if needed and frees it; the queue lives on in processes that hold a handle.
 * NULL is a no-op. */
MPROC_API void mproc_queue_destroy(mproc_queue *q);

/* JoinableQueue: one task of the queue is finished. MPROC_ESTATE if called more often than
 * there were puts (Python's ValueError); MPROC_ETYPE on a queue that is not joinable. */
MPROC_API int mproc_queue_task_done(mproc_queue *q);
/* Waits until every put message was marked done. */
MPROC_API int mproc_queue_join(mproc_queue *q, int64_t timeout_ms);

/* Re-opens a queue sent in a pack: a new handle of this process, to destroy. MPROC_ETYPE when
 * the next field is another kind, MPROC_EINVAL at the end of the pack or for NULL. */
MPROC_API int mproc_unpack_queue(mproc_unpacker *u, mproc_queue **out);

/* SimpleQueue spellings (the same object, the same calls). */
static inline int mproc_simplequeue_put(mproc_queue *q, const void *data, size_t len,
                                        int64_t timeout_ms)
{
    return mproc_queue_put(q, data, len, timeout_ms);
}
/* SimpleQueue spelling of mproc_queue_put_pack. */
static inline int mproc_simplequeue_put_pack(mproc_queue *q, const mproc_pack *pack,
                                             int64_t timeout_ms)
{
    return mproc_queue_put_pack(q, pack, timeout_ms);
}
/* SimpleQueue spelling of mproc_queue_get. */
static inline int mproc_simplequeue_get(mproc_queue *q, int64_t timeout_ms, mproc_bytes *out)
{
    return mproc_queue_get(q, timeout_ms, out);
}
/* SimpleQueue spelling of mproc_queue_empty. */
static inline int mproc_simplequeue_empty(mproc_queue *q)
{
    return mproc_queue_empty(q);
}
/* SimpleQueue spelling of mproc_queue_destroy. */
static inline void mproc_simplequeue_destroy(mproc_queue *q)
{
    mproc_queue_destroy(q);
}

#ifdef __cplusplus
}
#endif
#endif
