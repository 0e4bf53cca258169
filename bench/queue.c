/* Queue: one producer process, one consumer. The producer (a child) says it is ready, waits
 * for go and puts n messages of `size` bytes, each beginning and ending with its number; the
 * consumer (the parent) starts the clock, says go, gets the n messages, checking each one's
 * length and both numbers, and stops the clock when it has the last. The message bytes are
 * written before the run, so no page is a zero page. Raw: the framed stream over a bare pipe
 * (raw.h), with the copy a queue makes into a fresh buffer. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

#define QUEUE_SMALL 64
#define QUEUE_LARGE (1 << 20)
#define QUEUE_TIMEOUT_MS 20000 /* a put or get waiting this long means a message was lost */

size_t queue_ring; /* --queue-ring: 0, the library's default */

static void queue_destroy(mproc_queue *q, bool simple)
{
    if (simple)
        mproc_simplequeue_destroy(q);
    else
        mproc_queue_destroy(q);
}

MPROC_TASK(bench_queue_producer, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    start_gate gate;
    int64_t n, size, simple;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_queue(&u, &q));
    CHILD_MUST(start_gate_unpack(&u, &gate));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &size));
    CHILD_MUST(mproc_unpack_i64(&u, &simple));
    uint8_t *msg = new_message((size_t)size);
    if (!msg)
        return 1;
    CHILD_MUST(start_gate_pass(&gate));
    for (int64_t i = 0; i < n; i++) {
        number_message(msg, (size_t)size, i);
        if (simple)
            CHILD_MUST(mproc_simplequeue_put(q, msg, (size_t)size, QUEUE_TIMEOUT_MS));
        else
            CHILD_MUST(mproc_queue_put(q, msg, (size_t)size, QUEUE_TIMEOUT_MS));
    }
    free(msg);
    start_gate_destroy(&gate);
    queue_destroy(q, simple);
    return 0;
}

/* A Queue (maxsize 0, the default 16 MiB ring or --queue-ring) or a SimpleQueue. */
static double mproc_queue_run(int64_t n, size_t size, bool simple)
{
    mproc_queue *q;
    start_gate gate;
    mproc_pack *args;
    if (simple)
        MUST(mproc_simplequeue_create(&q));
    else if (queue_ring == 0)
        MUST(mproc_queue_create(&q, 0));
    else
        MUST(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = queue_ring}));
    start_gate_create(&gate);
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, q));
    start_gate_pack(args, &gate);
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, (int64_t)size));
    MUST(mproc_pack_i64(args, simple));
    mproc_process *child = start_task("bench_queue_producer", args);
    mproc_pack_destroy(args);
    double start = start_gate_open(&gate, 1);
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes b;
        int rc = simple ? mproc_simplequeue_get(q, QUEUE_TIMEOUT_MS, &b)
                        : mproc_queue_get(q, QUEUE_TIMEOUT_MS, &b);
        if (rc != 0) {
            int64_t qsize = -1;
            mproc_queue_qsize(q, &qsize);
            fprintf(stderr,
                    "bench_mproc: getting message %lld of %lld (%zu bytes) from a %s failed: "
                    "%s (qsize %lld)\n",
                    (long long)i, (long long)n, size, simple ? "SimpleQueue" : "Queue",
                    mproc_strerror(rc), (long long)qsize);
            exit(1);
        }
        check_message(b.data, b.len, i, size);
        mproc_bytes_free(&b);
    }
    double elapsed = now_us() - start;
    join_task(child);
    start_gate_destroy(&gate);
    queue_destroy(q, simple);
    return elapsed;
}

static double mproc_queue_small_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_SMALL, false);
}

static double mproc_queue_large_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_LARGE, false);
}

static double mproc_simplequeue_small_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_SMALL, true);
}

static double raw_queue_small_trial(int64_t n)
{
    return raw_stream_run(n, QUEUE_SMALL, false);
}

static double raw_queue_large_trial(int64_t n)
{
    return raw_stream_run(n, QUEUE_LARGE, false);
}

/* For information: one process copying 1 MiB messages into fresh buffers, no channel. */
static double memcpy_large_trial(int64_t n)
{
    uint8_t *src = new_message(QUEUE_LARGE);
    if (!src)
        exit(1);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        number_message(src, QUEUE_LARGE, i);
        check_fresh_copy(src, QUEUE_LARGE, i, QUEUE_LARGE);
    }
    double elapsed = now_us() - start;
    free(src);
    return elapsed;
}

void bench_queue(void)
{
    bench_rate("Queue 64-byte messages, producer -> consumer process", "messages/s", "queue64", 1,
               mproc_queue_small_trial, raw_queue_small_trial, NULL);
    bench_rate("Queue 1 MiB messages, producer -> consumer process", "MB/s", "queue1m",
               QUEUE_LARGE / 1e6, mproc_queue_large_trial, raw_queue_large_trial,
               memcpy_large_trial);
    bench_rate("SimpleQueue 64-byte messages, producer -> consumer process", "messages/s",
               "simplequeue64", 1, mproc_simplequeue_small_trial, NULL, NULL);
}
