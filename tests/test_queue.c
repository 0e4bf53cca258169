/* Queues: semantics in one process; many producers and consumers in many processes under
 * every start method; messages larger than the ring; a child that puts and exits unread
 * (CPython gh-73983); producers and consumers killed half-way; JoinableQueue. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message: producer id, sequence number, then filler of a size that varies. */
typedef struct {
    int32_t producer;
    int32_t seq;
} tag;

static size_t filler_of(int32_t seq)
{
    return (size_t)(seq * 37) % 3000;
}

enum { PRODUCERS = 3, PER_PRODUCER = 1500, CONSUMERS = 2 };

/* (queue, producer id): PER_PRODUCER tagged messages, then one end marker per consumer. */
MPROC_TASK(produce, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    int64_t id;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_i64(&u, &id))
        return 10;
    uint8_t buf[sizeof(tag) + 3000];
    for (int32_t seq = 0; seq < PER_PRODUCER; seq++) {
        tag t = {(int32_t)id, seq};
        memcpy(buf, &t, sizeof t);
        size_t n = filler_of(seq);
        fill(buf + sizeof t, n, (uint32_t)(id * 100000 + seq));
        if (mproc_queue_put(q, buf, sizeof t + n, 30000) != 0)
            return 11;
    }
    mproc_queue_destroy(q);
    return 0;
}

/* (queue, counts array): takes messages until an empty one; per producer, sequence numbers
 * must rise; counts[producer] += what it took. */
MPROC_TASK(consume, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_array *counts;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_array(&u, &counts))
        return 10;
    int32_t last[PRODUCERS] = {-1, -1, -1};
    int taken[PRODUCERS] = {0};
    for (;;) {
        mproc_bytes m;
        if (mproc_queue_get(q, 30000, &m) != 0)
            return 11;
        if (m.len == 0) {
            mproc_bytes_free(&m);
            break;
        }
        tag t;
        memcpy(&t, m.data, sizeof t);
        size_t n = filler_of(t.seq);
        bool ok = t.producer >= 0 && t.producer < PRODUCERS && m.len == sizeof t + n &&
                  t.seq > last[t.producer] &&
                  filled((uint8_t *)m.data + sizeof t, n, (uint32_t)(t.producer * 100000 + t.seq));
        mproc_bytes_free(&m);
        if (!ok)
            return 12;
        last[t.producer] = t.seq;
        taken[t.producer]++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        mproc_array_add_i64(counts, (size_t)i, taken[i], NULL);
    mproc_queue_destroy(q);
    mproc_array_destroy(counts);
    return 0;
}

/* (queue, count, size): puts count messages of size bytes and returns at once. */
MPROC_TASK(put_and_exit, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    int64_t count, size;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_i64(&u, &count) || mproc_unpack_i64(&u, &size))
        return 10;
    uint8_t *buf = malloc((size_t)size);
    for (int64_t i = 0; i < count; i++) {
        fill(buf, (size_t)size, (uint32_t)i);
        if (mproc_queue_put(q, buf, (size_t)size, 30000) != 0)
            return 11;
    }
    free(buf);
    mproc_queue_destroy(q);
    return 0;
}

/* (queue, event, size): says it starts, then puts one message of size bytes (which a
 * small ring nobody reads cannot hold: it is killed in the middle). */
MPROC_TASK(put_until_killed, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_event *started;
    int64_t size;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_event(&u, &started) ||
        mproc_unpack_i64(&u, &size))
        return 10;
    uint8_t *buf = calloc(1, (size_t)size);
    mproc_event_set(started);
    mproc_queue_put(q, buf, (size_t)size, 60000);
    return 12;
}

/* (queue, event): says it starts, then takes one message (killed in the middle). */
MPROC_TASK(get_until_killed, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_event *started;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_event(&u, &started))
        return 10;
    mproc_event_set(started);
    mproc_bytes m;
    mproc_queue_get(q, 60000, &m);
    return 12;
}

/* (joinable queue, n): takes n messages, marking each done. */
MPROC_TASK(take_and_mark_done, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    int64_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_i64(&u, &n))
        return 10;
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes m;
        if (mproc_queue_get(q, 30000, &m) != 0)
            return 11;
        mproc_bytes_free(&m);
        harness_sleep_ms(2);
        if (mproc_queue_task_done(q) != 0)
            return 12;
    }
    mproc_queue_destroy(q);
    return 0;
}

/* (joinable queue): after a while takes one message, marks it done, puts another. */
MPROC_TASK(done_then_put_again, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q))
        return 10;
    harness_sleep_ms(300); /* the parent is in its join by then */
    mproc_bytes m;
    if (mproc_queue_get(q, 30000, &m) != 0)
        return 11;
    mproc_bytes_free(&m);
    if (mproc_queue_task_done(q) != 0 || mproc_queue_put(q, "y", 1, 30000) != 0)
        return 12;
    mproc_queue_destroy(q);
    return 0;
}

/* ---- one process ------------------------------------------------------------------------------ */

/* (queue, x): puts the pack (x, "from a child", x / 4.0) and exits. */
MPROC_TASK(put_a_pack, in, out)
{
    (void)out;
    mproc_queue *q = NULL;
    int64_t x;
    if (MPROC_UNPACK(in, &q, &x))
        return 1;
    int rc = mproc_queue_put_pack(q, MPROC_ARGS(x, "from a child", (double)x / 4), 30000);
    mproc_queue_destroy(q);
    return rc ? 2 : 0;
}

static void queue_basics(void **state)
{
    (void)state;
    mproc_queue *q;
    assert_ok(mproc_queue_create(&q, 3));
    assert_int_equal(mproc_queue_empty(q), 1);
    assert_int_equal(mproc_queue_full(q), 0);
    mproc_bytes m;
    assert_rc(mproc_queue_get(q, 0, &m), MPROC_EEMPTY);
    assert_rc(mproc_queue_get(q, 30, &m), MPROC_ETIMEDOUT);
    assert_ok(mproc_queue_put(q, "one", 3, 0));
    assert_ok(mproc_queue_put(q, "", 0, 0)); /* empty messages are messages */
    assert_ok(mproc_queue_put(q, "three", 5, MPROC_FOREVER));
    assert_int_equal(qsize_of(q), 3);
    assert_int_equal(mproc_queue_full(q), 1);
    assert_rc(mproc_queue_put(q, "four", 4, 0), MPROC_EFULL);
    assert_rc(mproc_queue_put(q, "four", 4, 30), MPROC_ETIMEDOUT);
    assert_ok(mproc_queue_get(q, 0, &m));
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.data, "one", 3);
    mproc_bytes_free(&m);
    assert_ok(mproc_queue_get(q, 0, &m));
    assert_int_equal(m.len, 0);
    mproc_bytes_free(&m);
    assert_ok(mproc_queue_get(q, 0, &m));
    assert_memory_equal(m.data, "three", 5);
    mproc_bytes_free(&m);
    assert_int_equal(qsize_of(q), 0);
    assert_rc(mproc_queue_task_done(q), MPROC_ETYPE);
    assert_rc(mproc_queue_join(q, 0), MPROC_ETYPE);
    assert_ok(mproc_queue_close(q));
    assert_rc(mproc_queue_put(q, "x", 1, 0), MPROC_ECLOSED);
    assert_rc(mproc_queue_get(q, 0, &m), MPROC_ECLOSED);
    mproc_queue_destroy(q);

    assert_ok(mproc_simplequeue_create(&q));
    assert_int_equal(mproc_simplequeue_empty(q), 1);
    assert_ok(mproc_simplequeue_put(q, "s", 1, 0));
    assert_ok(mproc_simplequeue_get(q, 0, &m));
    assert_int_equal(m.len, 1);
    mproc_bytes_free(&m);
    mproc_simplequeue_destroy(q);

    /* bad input */
    assert_rc(mproc_queue_create(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_queue_put(NULL, "x", 1, 0), MPROC_EINVAL);
    assert_rc(mproc_queue_get(NULL, 0, &m), MPROC_EINVAL);
    assert_ok(mproc_queue_create(&q, 0));
    assert_rc(mproc_queue_put(q, NULL, 5, 0), MPROC_EINVAL);
    assert_rc(mproc_queue_get(q, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_queue_create_opts(&q, NULL), MPROC_EINVAL);
    mproc_queue_destroy(q);
    mproc_queue_destroy(NULL);
}

/* Messages far larger than the ring stream through it, whole and in order, with a
 * consumer in another thread. */
static mproc_queue *stream_q;
static int stream_result;
static void stream_consumer(void *arg)
{
    (void)arg;
    stream_result = 0;
    for (uint32_t i = 0; i < 4; i++) {
        mproc_bytes m;
        size_t want = (size_t)(i + 1) * 300000 + i;
        if (mproc_queue_get(stream_q, 30000, &m) != 0 || m.len != want || !filled(m.data, m.len, i))
            stream_result = 1 + (int)i;
        mproc_bytes_free(&m);
    }
}

static void messages_larger_than_the_ring(void **state)
{
    (void)state;
    assert_ok(mproc_queue_create_opts(&stream_q, &(mproc_queue_opts){.ring_bytes = 8192}));
    harness_thread *t = harness_thread_start(stream_consumer, NULL);
    for (uint32_t i = 0; i < 4; i++) {
        size_t n = (size_t)(i + 1) * 300000 + i;
        uint8_t *buf = malloc(n);
        fill(buf, n, i);
        assert_ok(mproc_queue_put(stream_q, buf, n, 30000));
        free(buf);
    }
    harness_thread_join(t);
    assert_int_equal(stream_result, 0);
    mproc_queue_destroy(stream_q);
}

/* Drained ring memory is given back (Linux) without touching the messages that the
 * producers wrote over the same offsets one lap later: fill a 4 MiB ring while the
 * consumer is just short of a MiB boundary, then drain it all. */
static void full_ring_keeps_messages_when_memory_is_given_back(void **state)
{
    (void)state;
    enum { MIB = 1 << 20, FRAME = 80 };
    mproc_queue *q;
    assert_ok(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = 4 * MIB}));
    int64_t next_put = 0, next_get = 0;
    uint8_t msg[64] = {0};
    mproc_bytes m;
    while ((next_get + 1) * FRAME < 2 * MIB) {
        memcpy(msg, &next_put, 8);
        assert_ok(mproc_queue_put(q, msg, 64, 1000));
        next_put++;
        assert_ok(mproc_queue_get(q, 1000, &m));
        mproc_bytes_free(&m);
        next_get++;
    }
    for (;;) {
        memcpy(msg, &next_put, 8);
        if (mproc_queue_put(q, msg, 64, 0) != 0)
            break;
        next_put++;
    }
    while (next_get < next_put) {
        assert_ok(mproc_queue_get(q, 1000, &m));
        int64_t num = -1;
        memcpy(&num, m.data, 8);
        assert_int_equal(m.len, 64);
        assert_int_equal(num, next_get);
        mproc_bytes_free(&m);
        next_get++;
    }
    mproc_queue_destroy(q);
}

/* A get that times out half-way through a streamed message loses nothing: the next get on
 * the same handle goes on with it. Polling gets against a slow stream of big messages. */
typedef struct {
    mproc_queue *q;
    int count, rc;
} big_producer;

static void put_big_ones(void *arg)
{
    big_producer *p = arg;
    uint8_t *buf = malloc(200000);
    for (int i = 0; i < p->count && !p->rc; i++) {
        fill(buf, 200000, (uint32_t)i);
        p->rc = mproc_queue_put(p->q, buf, 200000, 30000);
    }
    free(buf);
}

static void timeouts_mid_message_lose_nothing(void **state)
{
    (void)state;
    big_producer prod = {NULL, 30, 0};
    assert_ok(mproc_queue_create_opts(&prod.q, &(mproc_queue_opts){.ring_bytes = 65536}));
    harness_thread *t = harness_thread_start(put_big_ones, &prod);
    int got = 0, empty = 0;
    int64_t deadline = harness_now_ms() + 60000;
    while (got < prod.count && harness_now_ms() < deadline) {
        mproc_bytes m;
        int rc = mproc_queue_get(prod.q, 0, &m);
        if (rc == MPROC_EEMPTY) {
            empty++;
            continue;
        }
        assert_ok(rc);
        assert_int_equal(m.len, 200000);
        assert_true(filled(m.data, m.len, (uint32_t)got));
        mproc_bytes_free(&m);
        got++;
    }
    harness_thread_join(t);
    assert_int_equal(prod.rc, 0);
    assert_int_equal(got, prod.count);
    assert_true(empty > 0);
    mproc_queue_destroy(prod.q);
}

/* ---- between processes --------------------------------------------------------------------------- */

static void many_producers_and_consumers(mproc_start_method method)
{
    mproc_queue *q;
    mproc_array *counts;
    assert_ok(mproc_queue_create_opts(&q, &(mproc_queue_opts){.maxsize = 50, .ring_bytes = 65536}));
    assert_ok(mproc_array_create(&counts, MPROC_T_LONGLONG, PRODUCERS, true));
    mproc_process *kids[PRODUCERS + CONSUMERS] = {0};
    for (int i = 0; i < CONSUMERS; i++) {
        mproc_pack *args;
        assert_ok(mproc_pack_create(&args));
        assert_ok(mproc_pack_handle(args, q));
        assert_ok(mproc_pack_handle(args, counts));
        kids[i] = harness_start(method, "consume", args);
        mproc_pack_destroy(args);
        if (!kids[i])
            goto done;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        mproc_pack *args;
        assert_ok(mproc_pack_create(&args));
        assert_ok(mproc_pack_handle(args, q));
        assert_ok(mproc_pack_i64(args, i));
        kids[CONSUMERS + i] = harness_start(method, "produce", args);
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(harness_join_code(kids[CONSUMERS + i]), 0);
    for (int i = 0; i < CONSUMERS; i++)
        assert_ok(mproc_queue_put(q, "", 0, 30000)); /* the end markers (Python's None) */
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(harness_join_code(kids[i]), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        int64_t n = 0;
        assert_ok(mproc_array_get_i64(counts, (size_t)i, &n));
        assert_int_equal(n, PER_PRODUCER); /* none lost, none twice */
    }
    assert_int_equal(qsize_of(q), 0);
done:
    mproc_queue_destroy(q);
    mproc_array_destroy(counts);
}

/* CPython gh-73983: a child that put more than a pipe holds cannot exit until someone
 * reads. Here it exits at once; the parent joins it first and reads after. */
static void child_puts_then_exits_unread(mproc_start_method method)
{
    mproc_queue *q;
    assert_ok(mproc_queue_create(&q, 0));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_i64(args, 64));
    assert_ok(mproc_pack_i64(args, 65536)); /* 4 MiB in all */
    mproc_process *p = harness_start(method, "put_and_exit", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_process_join(p, 60000));
        assert_int_equal(harness_join_code(p), 0);
        assert_int_equal(qsize_of(q), 64);
        for (uint32_t i = 0; i < 64; i++) {
            mproc_bytes m;
            assert_ok(mproc_queue_get(q, 0, &m));
            assert_int_equal(m.len, 65536);
            assert_true(filled(m.data, m.len, i));
            mproc_bytes_free(&m);
        }
    }
    mproc_queue_destroy(q);
}

/* A producer killed half-way through a message bigger than the ring: the part in the ring
 * is dropped, nothing torn comes out, and the queue goes on working. */
static void producer_killed_mid_put(mproc_start_method method)
{
    mproc_queue *q;
    mproc_event *started;
    assert_ok(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = 16384}));
    assert_ok(mproc_event_create(&started));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_handle(args, started));
    assert_ok(mproc_pack_i64(args, 1 << 20));
    assert_rc(mproc_queue_create_opts(&(mproc_queue *){NULL},
                                      &(mproc_queue_opts){.ring_bytes = SIZE_MAX}),
              MPROC_ETOOBIG);
    mproc_process *p = harness_start(method, "put_until_killed", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_event_wait(started, 30000));
        int64_t deadline = harness_now_ms() + 30000;
        while (mproc_queue_empty(q) == 1 && harness_now_ms() < deadline)
            harness_sleep_ms(5);
        harness_sleep_ms(20); /* the ring is full of its pieces now */
        assert_ok(mproc_process_kill(p));
        assert_int_equal(harness_join_code(p), -9);
        mproc_bytes m;
        assert_rc(mproc_queue_get(q, 200, &m), MPROC_ETIMEDOUT); /* nothing whole to take */
        assert_ok(mproc_queue_put(q, "after", 5, 5000));
        assert_ok(mproc_queue_get(q, 5000, &m));
        assert_int_equal(m.len, 5);
        assert_memory_equal(m.data, "after", 5);
        mproc_bytes_free(&m);
        assert_int_equal(qsize_of(q), 0);
    }
    mproc_event_destroy(started);
    mproc_queue_destroy(q);
}

/* One round of consumer_killed_mid_get: 1 if the consumer was killed inside its get, 0 if
 * it took the whole message first (the round proves nothing then and is played again). */
static int kill_consumer_mid_get(mproc_start_method method, mproc_queue *q, int64_t big)
{
    mproc_event *started;
    assert_ok(mproc_event_create(&started));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_handle(args, started));
    mproc_process *consumer = harness_start(method, "get_until_killed", args);
    mproc_pack_destroy(args);
    assert_non_null(consumer);
    assert_ok(mproc_event_wait(started, 30000));
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_i64(args, 1));
    assert_ok(mproc_pack_i64(args, big));
    mproc_process *producer = harness_start(method, "put_and_exit", args);
    mproc_pack_destroy(args);
    assert_non_null(producer);
    /* Once pieces flow, the consumer is inside its get. */
    int64_t deadline = harness_now_ms() + 30000;
    while (mproc_queue_empty(q) == 1 && harness_now_ms() < deadline)
        harness_sleep_ms(1);
    assert_ok(mproc_process_kill(consumer));
    int code = harness_join_code(consumer);
    assert_true(code == -9 || code == 12); /* killed, or its get returned first */
    /* Take over: the rest of a message someone else began is skipped, never returned. */
    int alive = 1;
    while (alive) {
        mproc_bytes m;
        int rc = mproc_queue_get(q, 300, &m);
        if (rc == 0) { /* the consumer died before taking any of it: it comes whole */
            assert_int_equal(m.len, big);
            assert_true(filled(m.data, m.len, 0));
            mproc_bytes_free(&m);
        } else {
            assert_int_equal(rc, MPROC_ETIMEDOUT);
        }
        alive = mproc_process_is_alive(producer);
        assert_true(harness_now_ms() < deadline + 60000);
    }
    assert_int_equal(harness_join_code(producer), 0);
    mproc_event_destroy(started);
    return code == -9;
}

/* A consumer killed half-way through taking a message that streams through a small ring:
 * whoever takes over gets whole messages only, and the queue goes on. A fast machine can
 * move the whole message before the kill lands; then the round is played again, bigger. */
static void consumer_killed_mid_get(mproc_start_method method)
{
    if (!mproc_start_method_available(method)) {
        assert_null(harness_start(method, "get_until_killed", NULL)); /* checks the refusal */
        return;
    }
    mproc_queue *q;
    assert_ok(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = 16384}));
    int killed = 0;
    for (int64_t big = 8 << 20; !killed && big <= 64 << 20; big *= 2)
        killed = kill_consumer_mid_get(method, q, big);
    assert_true(killed);
    assert_ok(mproc_queue_put(q, "after", 5, 5000));
    mproc_bytes m;
    assert_ok(mproc_queue_get(q, 5000, &m));
    assert_int_equal(m.len, 5);
    assert_memory_equal(m.data, "after", 5);
    mproc_bytes_free(&m);
    mproc_queue_destroy(q);
}

static void joinable_queue(mproc_start_method method)
{
    mproc_queue *q;
    assert_ok(mproc_queue_create_joinable(&q, 0));
    assert_rc(mproc_queue_task_done(q), MPROC_ESTATE);
    assert_ok(mproc_queue_join(q, 0)); /* nothing put: nothing to wait for */
    for (int i = 0; i < 20; i++)
        assert_ok(mproc_queue_put(q, &i, sizeof i, 0));
    assert_rc(mproc_queue_join(q, 20), MPROC_ETIMEDOUT);
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_i64(args, 20));
    mproc_process *p = harness_start(method, "take_and_mark_done", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_queue_join(q, 60000));
        assert_int_equal(qsize_of(q), 0);
        assert_int_equal(harness_join_code(p), 0);
        /* A join returns once the count reached zero, even if a put came right after. */
        assert_ok(mproc_pack_create(&args));
        assert_ok(mproc_pack_handle(args, q));
        p = harness_start(method, "done_then_put_again", args);
        mproc_pack_destroy(args);
        assert_ok(mproc_queue_put(q, "x", 1, 0));
        assert_ok(mproc_queue_join(q, 60000));
        mproc_bytes m;
        assert_ok(mproc_queue_get(q, 30000, &m)); /* the child's second put */
        mproc_bytes_free(&m);
        assert_ok(mproc_queue_task_done(q));
        assert_int_equal(harness_join_code(p), 0);
        assert_rc(mproc_queue_task_done(q), MPROC_ESTATE);
    }
    mproc_queue_destroy(q);
}

/* ---- API 1.0: typed messages, the timeout codes, qsize's out-parameter ----------------------- */

/* One message as a pack (x, "two", 3.5, the bytes "raw"): checks each field. */
static void expect_pack_message(mproc_queue *q, int64_t x)
{
    mproc_bytes m = {0};
    assert_ok(mproc_queue_get(q, 30000, &m));
    int64_t got = 0;
    const char *text = NULL;
    double d = 0;
    mproc_bytes raw = {0};
    assert_ok(MPROC_UNPACK(&m, &got, &text, &d, &raw));
    assert_int_equal(got, x);
    assert_string_equal(text, "two");
    assert_true(d == 3.5);
    assert_int_equal(raw.len, 3);
    assert_memory_equal(raw.data, "raw", 3);
    mproc_bytes_free(&m);
}

/* put_pack on a Queue, a SimpleQueue and a JoinableQueue, from a literal and from a pack;
 * from a child; refused with MPROC_ENOTSUP (nothing put) when the pack holds OS handles. */
static void put_pack_round_trips(void **state)
{
    (void)state;
    mproc_queue *qs[3];
    assert_ok(mproc_queue_create(&qs[0], 0));
    assert_ok(mproc_simplequeue_create(&qs[1]));
    assert_ok(mproc_queue_create_joinable(&qs[2], 0));
    mproc_pack *p = new_pack();
    assert_ok(MPROC_PACK(p, 2, "two", 3.5, MPROC_BYTES("raw", 3)));
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    mproc_pack *with_lock = new_pack();
    assert_ok(MPROC_PACK(with_lock, 1, lock));
    mproc_pack *empty = new_pack();
    mproc_pack *nested = new_pack(); /* the lock inside a nested pack: refused too */
    assert_ok(MPROC_PACK(nested, "outer", with_lock));
    for (int k = 0; k < 3; k++) {
        mproc_queue *q = qs[k];
        if (k == 1)
            assert_ok(
                mproc_simplequeue_put_pack(q, MPROC_ARGS(1, "two", 3.5, MPROC_BYTES("raw", 3)), 0));
        else
            assert_ok(mproc_queue_put_pack(q, MPROC_ARGS(1, "two", 3.5, MPROC_BYTES("raw", 3)), 0));
        assert_ok(mproc_queue_put_pack(q, p, MPROC_FOREVER));
        assert_rc(mproc_queue_put_pack(q, with_lock, 0), MPROC_ENOTSUP);
        assert_rc(mproc_queue_put_pack(q, nested, 0), MPROC_ENOTSUP);
        assert_rc(mproc_queue_put_pack(q, MPROC_ARGS(lock), 0), MPROC_ENOTSUP);
        assert_rc(mproc_queue_put_pack(q, MPROC_ARGS(q), 0), MPROC_ENOTSUP);
        assert_rc(mproc_queue_put_pack(q, NULL, 0), MPROC_EINVAL);
        if (k != 1)
            assert_int_equal(qsize_of(q), 2); /* the refused ones put nothing */
        expect_pack_message(q, 1);
        expect_pack_message(q, 2);
        mproc_bytes m;
        assert_rc(mproc_queue_get(q, 0, &m), MPROC_EEMPTY);
        if (k == 2) { /* a JoinableQueue counts packs as tasks like any message */
            assert_rc(mproc_queue_join(q, 0), MPROC_ETIMEDOUT);
            assert_ok(mproc_queue_task_done(q));
            assert_ok(mproc_queue_task_done(q));
            assert_rc(mproc_queue_task_done(q), MPROC_ESTATE);
            assert_ok(mproc_queue_join(q, 0));
        }
        /* an empty pack is an empty message */
        assert_ok(mproc_queue_put_pack(q, empty, 0));
    }
    for (int k = 0; k < 3; k++) {
        mproc_bytes m;
        assert_ok(mproc_queue_get(qs[k], 0, &m));
        assert_int_equal(m.len, 0);
        mproc_bytes_free(&m);
        if (k == 2)
            assert_ok(mproc_queue_task_done(qs[k]));
    }
    mproc_pack_destroy(empty);
    /* from a child, under the default start method */
    mproc_process *child = harness_start(MPROC_METHOD_DEFAULT, "put_a_pack", MPROC_ARGS(qs[0], 8));
    assert_non_null(child);
    mproc_bytes m = {0};
    assert_ok(mproc_queue_get(qs[0], 60000, &m));
    int64_t x = 0;
    const char *text = NULL;
    double d = 0;
    assert_ok(MPROC_UNPACK(&m, &x, &text, &d));
    assert_int_equal(x, 8);
    assert_string_equal(text, "from a child");
    assert_true(d == 2.0);
    mproc_bytes_free(&m);
    assert_int_equal(harness_join_code(child), 0);
    /* closed: MPROC_ECLOSED */
    assert_ok(mproc_queue_close(qs[0]));
    assert_rc(mproc_queue_put_pack(qs[0], p, 0), MPROC_ECLOSED);
    assert_rc(mproc_queue_put_pack(NULL, p, 0), MPROC_EINVAL);
    mproc_pack_destroy(nested);
    mproc_pack_destroy(with_lock);
    mproc_lock_destroy(lock);
    mproc_pack_destroy(p);
    for (int k = 0; k < 3; k++)
        mproc_queue_destroy(qs[k]);
}

/* Rule 4: a poll (0) of a put on a full queue is MPROC_EFULL, of a get on an empty one
 * MPROC_EEMPTY; any other timeout that passes is MPROC_ETIMEDOUT. */
static void timeout_codes(void **state)
{
    (void)state;
    mproc_queue *q;
    mproc_bytes m;
    /* full by count */
    assert_ok(mproc_queue_create(&q, 1));
    assert_rc(mproc_queue_get(q, 0, &m), MPROC_EEMPTY);
    assert_rc(mproc_queue_get(q, 20, &m), MPROC_ETIMEDOUT);
    assert_ok(mproc_queue_put(q, "a", 1, 0));
    assert_rc(mproc_queue_put(q, "b", 1, 0), MPROC_EFULL);
    assert_rc(mproc_queue_put_pack(q, MPROC_ARGS(1), 0), MPROC_EFULL);
    assert_rc(mproc_queue_put(q, "b", 1, 20), MPROC_ETIMEDOUT);
    assert_rc(mproc_queue_put_pack(q, MPROC_ARGS(1), 20), MPROC_ETIMEDOUT);
    assert_ok(mproc_queue_get(q, 0, &m));
    mproc_bytes_free(&m);
    mproc_queue_destroy(q);
    /* full by bytes, with a message that streams (larger than a quarter of the ring): its
     * first pieces fit, the last does not; a poll is still MPROC_EFULL, and nothing of it
     * is delivered */
    assert_ok(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = 4096}));
    uint8_t first[2000], big[3000];
    fill(first, sizeof first, 1);
    fill(big, sizeof big, 2);
    assert_ok(mproc_queue_put(q, first, sizeof first, 0));
    assert_rc(mproc_queue_put(q, big, sizeof big, 0), MPROC_EFULL);
    assert_rc(mproc_queue_put(q, big, sizeof big, 30), MPROC_ETIMEDOUT);
    assert_int_equal(qsize_of(q), 1);
    assert_ok(mproc_queue_get(q, 0, &m));
    assert_int_equal(m.len, sizeof first);
    assert_true(filled(m.data, m.len, 1));
    mproc_bytes_free(&m);
    assert_rc(mproc_queue_get(q, 0, &m), MPROC_EEMPTY); /* the cut-off message is dropped */
    assert_ok(mproc_queue_put(q, big, sizeof big, 0));  /* and now it fits */
    assert_ok(mproc_queue_get(q, 0, &m));
    assert_int_equal(m.len, sizeof big);
    assert_true(filled(m.data, m.len, 2));
    mproc_bytes_free(&m);
    mproc_queue_destroy(q);
    /* SimpleQueue and JoinableQueue: the same codes */
    assert_ok(mproc_simplequeue_create(&q));
    assert_rc(mproc_simplequeue_get(q, 0, &m), MPROC_EEMPTY);
    assert_rc(mproc_simplequeue_get(q, 20, &m), MPROC_ETIMEDOUT);
    mproc_simplequeue_destroy(q);
    assert_ok(mproc_queue_create_joinable(&q, 1));
    assert_ok(mproc_queue_put(q, "a", 1, 0));
    assert_rc(mproc_queue_put(q, "b", 1, 0), MPROC_EFULL);
    assert_rc(mproc_queue_put(q, "b", 1, 20), MPROC_ETIMEDOUT);
    assert_rc(mproc_queue_join(q, 20), MPROC_ETIMEDOUT);
    assert_rc(mproc_queue_join(q, 0), MPROC_ETIMEDOUT); /* a join is no put or get */
    mproc_queue_destroy(q);
}

/* qsize gives its number through an int64_t out-parameter. */
static void qsize_out_parameter(void **state)
{
    (void)state;
    mproc_queue *q;
    assert_ok(mproc_queue_create(&q, 0));
    int64_t n = -1;
    assert_ok(mproc_queue_qsize(q, &n));
    assert_int_equal(n, 0);
    for (int i = 0; i < 5; i++)
        assert_ok(mproc_queue_put(q, "x", 1, 0));
    assert_ok(mproc_queue_qsize(q, &n));
    assert_int_equal(n, 5);
    assert_rc(mproc_queue_qsize(q, NULL), MPROC_EINVAL);
    assert_rc(mproc_queue_qsize(NULL, &n), MPROC_EINVAL);
    assert_ok(mproc_queue_close(q));
    assert_rc(mproc_queue_qsize(q, &n), MPROC_ECLOSED);
    mproc_queue_destroy(q);
}

#define HARNESS_CASES "cases/queue.txt"
#include "harness_main.h"
