/* Thread pool (multiprocessing.dummy.Pool / ThreadPool): mproc_threadpool_create gives an
 * mproc_pool whose calls behave as the process pool's, with threads of this process as its
 * workers. One program runs unchanged on both pools; tasks run on threads of this process,
 * several at once; task failures and their texts; callbacks one at a time on one thread;
 * the initializer once per worker thread (thread-locals); an initializer that fails;
 * maxtasksperchild replacing threads; timeouts; the pool's life (terminate cannot stop a
 * running task: join waits for it); shareable objects among task arguments; lazy imap with
 * backpressure; bad input; many tiny tasks (a race finder, also run under ThreadSanitizer)
 * and a pool used from several threads. The harness checks after every case that no
 * fd/handle, child or shm name leaked, so every case destroys its pool and its objects.
 *
 * Shared state between the test and the pool's threads is only touched through atomics
 * (__atomic builtins, as test_pool.c), or read after a call that has finished. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every blocking call of the tests is bounded by this much (ms). */
#define WAIT_MS 60000
/* How long a task waits for its peers to be inside at once. */
#define RENDEZVOUS_MS 10000

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define INC(p) __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)

/* ---- helpers for tasks ----------------------------------------------------------------------- */

static int put_pair(mproc_bytes *out, int64_t a, int64_t b)
{
    int64_t v[2] = {a, b};
    out->data = mproc_malloc(sizeof v);
    if (!out->data)
        return mproc_task_fail(out, "out of memory");
    memcpy(out->data, v, sizeof v);
    out->len = sizeof v;
    return 0;
}

/* ---- gates: tasks that wait until the test lets them go ------------------------------------ */

typedef struct {
    int open;    /* the test lets the tasks go */
    int entered; /* tasks that started waiting */
    int left;    /* tasks that are about to return */
} gate;

static gate gates[4];

static void gate_reset(int g)
{
    STORE(&gates[g].open, 0);
    STORE(&gates[g].entered, 0);
    STORE(&gates[g].left, 0);
}

static void gate_open(int g)
{
    STORE(&gates[g].open, 1);
}

/* Waits (bounded) until `want` tasks have entered gate g. */
static void wait_entered(int g, int want)
{
    int64_t deadline = harness_now_ms() + WAIT_MS;
    while (LOAD(&gates[g].entered) < want) {
        if (harness_now_ms() > deadline)
            fail_msg("%d tasks entered gate %d, wanted %d", LOAD(&gates[g].entered), g, want);
        harness_sleep_ms(2);
    }
}

/* ---- tasks -------------------------------------------------------------------------------- */

/* (x) -> x*x, 8 bytes. */
MPROC_TASK(tp_square, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    return put_i64(out, x * x);
}

/* () -> 42. */
MPROC_TASK(tp_answer, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_peek(&u) != 0)
        return mproc_task_fail(out, "wanted no arguments");
    return put_i64(out, 42);
}

/* (x) -> x*x after a pause that varies with x (0..6 ms), so that results finish out of
 * order. */
MPROC_TASK(tp_square_jitter, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    harness_sleep_ms((x * 37) % 7);
    return put_i64(out, x * x);
}

/* (a, b) -> a*b. */
MPROC_TASK(tp_multiply, in, out)
{
    mproc_unpacker u;
    int64_t a, b;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &a) || mproc_unpack_i64(&u, &b))
        return mproc_task_fail(out, "wanted two integers");
    if (mproc_unpack_peek(&u) != 0)
        return mproc_task_fail(out, "more than two arguments");
    return put_i64(out, a * b);
}

/* (x) -> x*x, but items with x % 4 == 3 fail with "bad item x"; item 3 fails only after
 * 300 ms, so that later failing items fail first in time. */
MPROC_TASK(tp_check_item, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    if (x % 4 == 3) {
        if (x == 3)
            harness_sleep_ms(300);
        return mproc_task_fail(out, "bad item %d", (int)x);
    }
    return put_i64(out, x * x);
}

/* Fails with code 7 and no text. */
MPROC_TASK(tp_returns_seven, in, out)
{
    (void)in;
    (void)out;
    return 7;
}

/* (ms, x) -> x*x after ms. */
MPROC_TASK(tp_sleep_square, in, out)
{
    mproc_unpacker u;
    int64_t ms, x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &ms) || mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "wanted (ms, x)");
    harness_sleep_ms(ms);
    return put_i64(out, x * x);
}

/* (g, x) -> x*x once gate g is open (WAIT_MS at most). */
MPROC_TASK(tp_gate_square, in, out)
{
    mproc_unpacker u;
    int64_t g, x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &g) || mproc_unpack_i64(&u, &x) || g < 0 ||
        g >= (int64_t)(sizeof gates / sizeof gates[0]))
        return mproc_task_fail(out, "wanted (gate, x)");
    INC(&gates[g].entered);
    int64_t deadline = harness_now_ms() + WAIT_MS;
    while (!LOAD(&gates[g].open)) {
        if (harness_now_ms() > deadline) {
            INC(&gates[g].left);
            return mproc_task_fail(out, "gate never opened");
        }
        harness_sleep_ms(1);
    }
    INC(&gates[g].left);
    return put_i64(out, x * x);
}

/* () -> the pid of the process the task runs in. */
MPROC_TASK(tp_pid, in, out)
{
    (void)in;
    return put_i64(out, mproc_getpid());
}

/* () -> the id of the thread the task runs on. */
MPROC_TASK(tp_tid, in, out)
{
    (void)in;
    return put_i64(out, harness_thread_id());
}

/* (n) -> the task's thread id, once n tasks are inside at once (RENDEZVOUS_MS at most):
 * proof that n threads run tasks concurrently. */
static int rv_inside;
MPROC_TASK(tp_rendezvous, in, out)
{
    mproc_unpacker u;
    int64_t n;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &n))
        return mproc_task_fail(out, "no argument");
    INC(&rv_inside);
    int64_t deadline = harness_now_ms() + RENDEZVOUS_MS;
    while (LOAD(&rv_inside) < n) {
        if (harness_now_ms() > deadline)
            return mproc_task_fail(out, "only %d of %d tasks were inside at once",
                                   LOAD(&rv_inside), (int)n);
        harness_sleep_ms(1);
    }
    return put_i64(out, harness_thread_id());
}

/* () -> 0 after 5 ms, counting how many such tasks run at once. */
static int ci_inside, ci_max;
MPROC_TASK(tp_count_inside, in, out)
{
    (void)in;
    int now = INC(&ci_inside);
    int seen = LOAD(&ci_max);
    while (now > seen && !__atomic_compare_exchange_n(&ci_max, &seen, now, false,
                                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    harness_sleep_ms(5);
    DEC(&ci_inside);
    return put_i64(out, 0);
}

/* Initializer (tag): keeps tag in a thread-local of the worker thread, counts its calls and
 * notes the threads it ran on. */
static _Thread_local int64_t init_tag;
static int init_calls;
static int init_tids[256];
MPROC_TASK(tp_init_tls, in, out)
{
    mproc_unpacker u;
    int64_t tag;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &tag))
        return mproc_task_fail(out, "initializer wanted (tag)");
    if (init_tag != 0)
        return mproc_task_fail(out, "initializer ran twice on one thread");
    init_tag = tag;
    int k = INC(&init_calls);
    if (k <= (int)(sizeof init_tids / sizeof init_tids[0]))
        STORE(&init_tids[k - 1], harness_thread_id());
    return 0;
}

/* () -> (the initializer's tag on this thread, this thread's id), 16 bytes; fails if the
 * initializer did not run on this thread. */
MPROC_TASK(tp_read_init, in, out)
{
    (void)in;
    if (init_tag == 0)
        return mproc_task_fail(out, "the initializer did not run on thread %d",
                               harness_thread_id());
    return put_pair(out, init_tag, harness_thread_id());
}

MPROC_TASK(tp_init_fails, in, out)
{
    (void)in;
    return mproc_task_fail(out, "init broke %d", 42);
}

MPROC_TASK(tp_init_returns_five, in, out)
{
    (void)in;
    (void)out;
    return 5;
}

/* (queue, lock, value, x): puts x into the queue, adds x to the value under the lock (a
 * read then a write: only the lock makes the total exact); returns x. The task destroys
 * its copies of the objects. */
MPROC_TASK(tp_use_objects, in, out)
{
    mproc_unpacker u;
    mproc_queue *q = NULL;
    mproc_lock *lock = NULL;
    mproc_value *v = NULL;
    int64_t x;
    int rc = 0;
    open_args(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_lock(&u, &lock) ||
        mproc_unpack_value(&u, &v) || mproc_unpack_i64(&u, &x)) {
        rc = mproc_task_fail(out, "wanted (queue, lock, value, x)");
        goto done;
    }
    if (mproc_queue_put(q, &x, sizeof x, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "put failed");
        goto done;
    }
    if (mproc_lock_acquire(lock, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "acquire failed");
        goto done;
    }
    int64_t seen = 0;
    if (mproc_value_get_i64(v, &seen) != 0) {
        mproc_lock_release(lock);
        rc = mproc_task_fail(out, "value get failed");
        goto done;
    }
    harness_sleep_ms(1);
    if (mproc_value_set_i64(v, seen + x) != 0) {
        mproc_lock_release(lock);
        rc = mproc_task_fail(out, "value set failed");
        goto done;
    }
    mproc_lock_release(lock);
    rc = put_i64(out, x);
done:
    if (q)
        mproc_queue_destroy(q);
    if (lock)
        mproc_lock_destroy(lock);
    if (v)
        mproc_value_destroy(v);
    return rc;
}

/* ---- helpers for the test --------------------------------------------------------------------- */

static mproc_pool *new_threadpool(mproc_pool_opts opts)
{
    mproc_pool *pool = NULL;
    assert_ok(mproc_threadpool_create(&pool, &opts));
    assert_non_null(pool);
    return pool;
}

/* Items that are (g, x) tuples for x = 0 .. n-1. */
static mproc_pack *gate_items(int g, int n)
{
    mproc_pack *items = new_pack();
    for (int i = 0; i < n; i++) {
        mproc_pack *t = pack_two(g, i);
        assert_ok(mproc_pack_pack(items, t));
        mproc_pack_destroy(t);
    }
    return items;
}

static void as_pair(const mproc_bytes *b, int64_t *a, int64_t *c)
{
    if (b->len != 16 || !b->data)
        fail_msg("result of %llu bytes, wanted 16", (unsigned long long)b->len);
    int64_t v[2];
    memcpy(v, b->data, 16);
    *a = v[0];
    *c = v[1];
}

/* Waits (bounded) until the thread pool lists `want` workers, each this process's pid. */
static void wait_thread_workers(mproc_pool *pool, int want)
{
    int64_t deadline = harness_now_ms() + WAIT_MS, self = mproc_getpid();
    int n = -1;
    int64_t pids[64];
    for (;;) {
        n = mproc_pool_workers(pool, pids, 64);
        bool ok = n == want;
        for (int i = 0; ok && i < n && i < 64; i++)
            ok = pids[i] == self;
        if (ok)
            return;
        if (harness_now_ms() > deadline) {
            fail_msg("the thread pool lists %d workers (first %lld), wanted %d with pid %lld", n,
                     n > 0 ? (long long)pids[0] : -1LL, want, (long long)self);
        }
        harness_sleep_ms(20);
    }
}

/* Runs n tp_rendezvous tasks at once on a pool of n workers: each worker thread takes one.
 * Fills tids[0..n-1] with their thread ids (distinct, none the caller's). */
static void rendezvous(mproc_pool *pool, int n, int64_t *tids)
{
    STORE(&rv_inside, 0);
    mproc_async *calls[64];
    assert_true(n <= 64);
    mproc_pack *args = pack_of(n);
    for (int i = 0; i < n; i++)
        assert_ok(mproc_pool_apply_async(pool, "tp_rendezvous", args, NULL, &calls[i]));
    mproc_pack_destroy(args);
    for (int i = 0; i < n; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], &r, WAIT_MS);
        if (rc != 0)
            fail_msg("rendezvous task %d of %d: %s: %s", i, n, mproc_errname(rc),
                     r.data ? (const char *)r.data : "");
        tids[i] = as_i64(&r);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    for (int i = 0; i < n; i++) {
        if (tids[i] == harness_thread_id())
            fail_msg("rendezvous task %d ran on the caller's thread", i);
        for (int k = 0; k < i; k++)
            if (tids[k] == tids[i])
                fail_msg("rendezvous tasks %d and %d ran on one thread", k, i);
    }
}

/* ---- one program, both pools ------------------------------------------------------------------ */

typedef struct {
    int ran, ok_calls, error_calls, bad, tid;
    int64_t value;
    size_t n;
} sp_slot;

static void sp_on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    sp_slot *s = ctx;
    s->ok_calls++;
    s->n = n;
    s->tid = harness_thread_id();
    if (n == 1 && results && results[0].len == 8)
        memcpy(&s->value, results[0].data, 8);
    else if (n > 1 && results) { /* a map: item i gives i*i */
        for (size_t i = 0; i < n; i++) {
            int64_t v = -1;
            if (results[i].len == 8)
                memcpy(&v, results[i].data, 8);
            if (v != (int64_t)(i * i))
                s->bad++;
        }
    } else
        s->bad++;
    STORE(&s->ran, 1);
}

static void sp_on_error(void *ctx, int code, const char *text)
{
    sp_slot *s = ctx;
    (void)code;
    (void)text;
    s->error_calls++;
    STORE(&s->ran, 1);
}

/* A program written for the process pool: only pool calls, checked results. */
static void same_program(mproc_pool *pool, const char *kind)
{
    print_message("running the program on the %s pool\n", kind);
    assert_int_equal(mproc_pool_size(pool), 2);
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(7);
    assert_ok(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply(pool, "tp_answer", NULL, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);

    /* map, chunksize 1 and automatic. */
    enum { N = 60 };
    mproc_bytes results[N + 1];
    mproc_pack *items = pack_range(0, N);
    for (size_t chunk = 0; chunk < 2; chunk++) {
        memset(results, 0, sizeof results);
        int rc = mproc_pool_map(pool, "tp_square_jitter", items, results, N,
                                chunk == 0 ? 1 : 0, WAIT_MS);
        if (rc != 0)
            fail_msg("%s pool: map, chunksize %d: %s", kind, chunk == 0 ? 1 : 0,
                     mproc_errname(rc));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
        assert_empty(&results[N], 1);
        mproc_bytes_free_array(results, N);
    }

    /* starmap. */
    mproc_pack *pairs = new_pack();
    for (int i = 0; i < N; i++) {
        mproc_pack *pair = pack_two(i, i + 3);
        assert_ok(mproc_pack_pack(pairs, pair));
        mproc_pack_destroy(pair);
    }
    assert_ok(mproc_pool_starmap(pool, "tp_multiply", pairs, results, N, 0, WAIT_MS));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * (i + 3));
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(pairs);

    /* imap (in order) and imap_unordered (every result once). */
    for (int unordered = 0; unordered < 2; unordered++) {
        mproc_iter *it;
        if (unordered)
            assert_ok(mproc_pool_imap_unordered(pool, "tp_square_jitter", items, 2, &it));
        else
            assert_ok(mproc_pool_imap(pool, "tp_square_jitter", items, 2, &it));
        int64_t got[N];
        for (int i = 0; i < N; i++) {
            int rc = mproc_iter_next(it, &r, WAIT_MS);
            if (rc != 1)
                fail_msg("%s pool: next %d: %s", kind, i, mproc_errname(rc));
            got[i] = as_i64(&r);
            mproc_bytes_free(&r);
            if (!unordered)
                assert_int_equal(got[i], (int64_t)i * i);
        }
        assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
        qsort(got, N, sizeof got[0], cmp_i64);
        for (int i = 0; i < N; i++)
            assert_int_equal(got[i], (int64_t)i * i);
        mproc_iter_destroy(it);
    }

    /* apply_async and map_async with callbacks: run before wait returns, not on the
     * caller's thread. */
    sp_slot slots[11];
    memset(slots, 0, sizeof slots);
    mproc_async *calls[11];
    for (int i = 0; i < 10; i++) {
        mproc_pack *a = pack_of(i);
        assert_ok(mproc_pool_apply_async(pool, "tp_square_jitter", a,
                                         &(mproc_call_opts){.callback = sp_on_result,
                                                            .error_callback = sp_on_error,
                                                            .ctx = &slots[i]},
                                         &calls[i]));
        mproc_pack_destroy(a);
    }
    assert_ok(mproc_pool_map_async(pool, "tp_square_jitter", items,
                                   &(mproc_call_opts){.chunksize = 3,
                                                      .callback = sp_on_result,
                                                      .error_callback = sp_on_error,
                                                      .ctx = &slots[10]},
                                   &calls[10]));
    for (int i = 0; i <= 10; i++) {
        assert_ok(mproc_async_wait(calls[i], WAIT_MS));
        if (!LOAD(&slots[i].ran))
            fail_msg("%s pool: call %d: wait returned before its callback ran", kind, i);
        assert_int_equal(slots[i].ok_calls, 1);
        assert_int_equal(slots[i].error_calls, 0);
        assert_int_equal(slots[i].bad, 0);
        assert_int_not_equal(slots[i].tid, harness_thread_id());
        if (i < 10) {
            assert_int_equal(slots[i].n, 1);
            assert_int_equal(slots[i].value, (int64_t)i * i);
            assert_ok(mproc_async_get(calls[i], &r, WAIT_MS));
            assert_int_equal(as_i64(&r), (int64_t)i * i);
            mproc_bytes_free(&r);
        } else {
            assert_int_equal(slots[i].n, N);
            assert_ok(mproc_async_get(calls[i], results, WAIT_MS));
            for (int k = 0; k < N; k++)
                assert_int_equal(as_i64(&results[k]), (int64_t)k * k);
            mproc_bytes_free_array(results, N);
        }
        assert_int_equal(mproc_async_successful(calls[i]), 1);
        mproc_async_destroy(calls[i]);
    }
    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void same_program_both_pools(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    same_program(pool, "process");
    assert_ok(mproc_threadpool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    same_program(pool, "thread");
}

/* ---- workers are threads of this process --------------------------------------------------- */

static void runs_on_threads_of_this_process(void **state)
{
    (void)state;
    enum { P = 4, N = 40 };
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = P});
    assert_int_equal(mproc_pool_size(pool), P);
    int64_t self = mproc_getpid();

    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "tp_pid", NULL, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), self);
    mproc_bytes_free(&r);
    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "tp_pid", items, results, N, 1, WAIT_MS));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), self);
    mproc_bytes_free_array(results, N);

    /* P tasks inside at once: P threads run concurrently, none the caller's. */
    int64_t tids[P];
    rendezvous(pool, P, tids);
    /* Again: the same P threads (no maxtasksperchild). */
    int64_t again[P];
    rendezvous(pool, P, again);
    qsort(tids, P, sizeof tids[0], cmp_i64);
    qsort(again, P, sizeof again[0], cmp_i64);
    for (int i = 0; i < P; i++)
        assert_int_equal(tids[i], again[i]);

    /* Tasks run on the pool's threads only: every task of a map has one of those ids. */
    assert_ok(mproc_pool_map(pool, "tp_tid", items, results, N, 1, WAIT_MS));
    for (int i = 0; i < N; i++) {
        int64_t t = as_i64(&results[i]);
        bool known = false;
        for (int k = 0; k < P; k++)
            known |= t == tids[k];
        if (!known)
            fail_msg("item %d ran on thread %lld, not one of the pool's", i, (long long)t);
    }
    mproc_bytes_free_array(results, N);

    /* And never more than P at once. */
    STORE(&ci_inside, 0);
    STORE(&ci_max, 0);
    assert_ok(mproc_pool_map(pool, "tp_count_inside", items, results, N, 1, WAIT_MS));
    mproc_bytes_free_array(results, N);
    int most = LOAD(&ci_max);
    if (most < 1 || most > P)
        fail_msg("%d tasks ran at once on a pool of %d threads", most, P);
    assert_int_equal(LOAD(&ci_inside), 0);

    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

/* ---- failures of tasks -------------------------------------------------------------------- */

static void task_failure_and_texts(void **state)
{
    (void)state;
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 3});
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(3);
    assert_rc(mproc_pool_apply(pool, "tp_check_item", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "bad item 3");
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);

    assert_rc(mproc_pool_apply(pool, "tp_returns_seven", NULL, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "task 'tp_returns_seven' returned 7");
    mproc_bytes_free(&r);
    /* A task that reads no argument fails with its own text. */
    assert_rc(mproc_pool_apply(pool, "tp_square", NULL, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "no argument");
    mproc_bytes_free(&r);

    /* map: the first failing item in item order, though items 7 and 11 fail sooner. */
    enum { N = 16 };
    mproc_bytes results[N];
    mproc_pack *items = pack_range(0, N);
    for (size_t chunk = 0; chunk <= 4; chunk += 1) {
        if (chunk == 2 || chunk == 3)
            continue;
        memset(results, 0, sizeof results);
        assert_rc(mproc_pool_map(pool, "tp_check_item", items, results, N, chunk, WAIT_MS),
                  MPROC_ETASK);
        assert_text(&results[0], "bad item 3");
        assert_empty(&results[1], N - 1);
        mproc_bytes_free(&results[0]);
    }
    mproc_async *a;
    assert_ok(mproc_pool_map_async(pool, "tp_check_item", items,
                                   &(mproc_call_opts){.chunksize = 1}, &a));
    memset(results, 0, sizeof results);
    assert_rc(mproc_async_get(a, results, WAIT_MS), MPROC_ETASK);
    assert_text(&results[0], "bad item 3");
    assert_empty(&results[1], N - 1);
    mproc_bytes_free(&results[0]);
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 0);
    mproc_async_destroy(a);

    /* apply_async: the failing ones fail, the others succeed. */
    mproc_async *calls[N];
    for (int i = 0; i < N; i++) {
        args = pack_of(i);
        assert_ok(mproc_pool_apply_async(pool, "tp_check_item", args, NULL, &calls[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < N; i++) {
        int rc = mproc_async_get(calls[i], &r, WAIT_MS);
        if (i % 4 == 3) {
            char want[32];
            snprintf(want, sizeof want, "bad item %d", i);
            assert_int_equal(rc, MPROC_ETASK);
            assert_text(&r, want);
            assert_int_equal(mproc_async_successful(calls[i]), 0);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(as_i64(&r), (int64_t)i * i);
            assert_int_equal(mproc_async_successful(calls[i]), 1);
        }
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }

    /* imap: MPROC_ETASK for the failing items, and the iteration goes on. */
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "tp_check_item", items, 1, &it));
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, &r, WAIT_MS);
        if (i % 4 == 3) {
            char want[32];
            snprintf(want, sizeof want, "bad item %d", i);
            if (rc != MPROC_ETASK)
                fail_msg("imap item %d: %s, wanted MPROC_ETASK", i, mproc_errname(rc));
            assert_text(&r, want);
        } else {
            if (rc != 1)
                fail_msg("imap item %d: %s (%d), wanted a result", i, mproc_errname(rc), rc);
            assert_int_equal(as_i64(&r), (int64_t)i * i);
        }
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);

    /* imap_unordered: as many failures, each with its own text. */
    assert_ok(mproc_pool_imap_unordered(pool, "tp_check_item", items, 2, &it));
    int ok = 0, failed = 0, seen_text[N] = {0};
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, &r, WAIT_MS);
        if (rc == MPROC_ETASK) {
            int x = -1;
            assert_non_null(r.data);
            assert_int_equal(sscanf(r.data, "bad item %d", &x), 1);
            assert_true(x >= 0 && x < N && x % 4 == 3);
            seen_text[x]++;
            failed++;
        } else {
            assert_int_equal(rc, 1);
            ok++;
        }
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    assert_int_equal(ok, N - N / 4);
    assert_int_equal(failed, N / 4);
    for (int x = 3; x < N; x += 4)
        assert_int_equal(seen_text[x], 1);
    mproc_pack_destroy(items);

    /* The pool goes on. */
    args = pack_of(5);
    assert_ok(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 25);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    mproc_pool_destroy(pool);
}

/* ---- callbacks ----------------------------------------------------------------------------- */

typedef struct {
    int index;
    int ran;
    int ok_calls, error_calls;
    int64_t value;
    int code;
    char text[64];
    size_t n;
} cb_slot;

static mproc_pool *cb_pool;
static int cb_inside, cb_overlaps, cb_bad_results, cb_calls;
static int cb_tids[512];
static mproc_async *cb_chained;
static int cb_chained_rc = 1;

static void cb_enter(void)
{
    if (__atomic_exchange_n(&cb_inside, 1, __ATOMIC_SEQ_CST))
        INC(&cb_overlaps);
    int k = INC(&cb_calls);
    if (k <= (int)(sizeof cb_tids / sizeof cb_tids[0]))
        STORE(&cb_tids[k - 1], harness_thread_id());
}

static void cb_leave(cb_slot *s)
{
    harness_sleep_ms(2); /* widen the window for a second callback at once */
    STORE(&s->ran, 1);
    STORE(&cb_inside, 0);
}

static void cb_on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    cb_slot *s = ctx;
    cb_enter();
    s->ok_calls++;
    s->n = n;
    if (n == 1 && results && results[0].len == 8)
        memcpy(&s->value, results[0].data, 8);
    else if (n > 1 && results) {
        for (size_t i = 0; i < n; i++) {
            int64_t v = -1;
            if (results[i].len == 8)
                memcpy(&v, results[i].data, 8);
            if (v != (int64_t)(i * i))
                INC(&cb_bad_results);
        }
    } else
        INC(&cb_bad_results);
    if (s->index == 0) { /* a callback may call the pool */
        mproc_pack *args;
        if (mproc_pack_create(&args) == 0) {
            mproc_pack_i64(args, 11);
            cb_chained_rc =
                mproc_pool_apply_async(cb_pool, "tp_square", args, NULL, &cb_chained);
            mproc_pack_destroy(args);
        }
    }
    cb_leave(s);
}

static void cb_on_error(void *ctx, int code, const char *text)
{
    cb_slot *s = ctx;
    cb_enter();
    s->error_calls++;
    s->code = code;
    snprintf(s->text, sizeof s->text, "%s", text ? text : "(null)");
    cb_leave(s);
}

static void callbacks_one_at_a_time_on_one_thread(void **state)
{
    (void)state;
    enum { P = 4, N = 40 };
    cb_pool = new_threadpool((mproc_pool_opts){.processes = P});
    int64_t workers[P];
    rendezvous(cb_pool, P, workers); /* the pool's worker threads */

    static cb_slot slots[N + 1];
    mproc_async *calls[N + 1];
    for (int i = 0; i < N; i++) {
        slots[i].index = i;
        mproc_pack *args = pack_of(i);
        assert_ok(mproc_pool_apply_async(cb_pool, "tp_check_item", args,
                                         &(mproc_call_opts){.callback = cb_on_result,
                                                            .error_callback = cb_on_error,
                                                            .ctx = &slots[i]},
                                         &calls[i]));
        mproc_pack_destroy(args);
    }
    slots[N].index = N;
    mproc_pack *items = pack_range(0, 30);
    assert_ok(mproc_pool_map_async(cb_pool, "tp_square_jitter", items,
                                   &(mproc_call_opts){.chunksize = 2, .callback = cb_on_result,
                                                      .error_callback = cb_on_error,
                                                      .ctx = &slots[N]},
                                   &calls[N]));
    mproc_pack_destroy(items);
    for (int i = 0; i <= N; i++) {
        assert_ok(mproc_async_wait(calls[i], WAIT_MS));
        if (!LOAD(&slots[i].ran))
            fail_msg("call %d: wait returned before its callback ran", i);
    }
    for (int i = 0; i < N; i++) {
        if (i % 4 == 3) {
            char want[32];
            snprintf(want, sizeof want, "bad item %d", i);
            assert_int_equal(slots[i].error_calls, 1);
            assert_int_equal(slots[i].ok_calls, 0);
            assert_int_equal(slots[i].code, MPROC_ETASK);
            assert_string_equal(slots[i].text, want);
        } else {
            assert_int_equal(slots[i].ok_calls, 1);
            assert_int_equal(slots[i].error_calls, 0);
            assert_int_equal(slots[i].n, 1);
            assert_int_equal(slots[i].value, (int64_t)i * i);
        }
        mproc_async_destroy(calls[i]);
    }
    assert_int_equal(slots[N].ok_calls, 1);
    assert_int_equal(slots[N].error_calls, 0);
    assert_int_equal(slots[N].n, 30);
    mproc_async_destroy(calls[N]);
    assert_int_equal(LOAD(&cb_bad_results), 0);
    assert_int_equal(LOAD(&cb_overlaps), 0);

    /* The call made from a callback. */
    assert_int_equal(cb_chained_rc, 0);
    mproc_bytes r = {0};
    assert_ok(mproc_async_get(cb_chained, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 121);
    mproc_bytes_free(&r);
    mproc_async_destroy(cb_chained);

    /* Fire and forget: the callbacks have run once close + join return. */
    static cb_slot forgotten[3];
    for (int i = 0; i < 3; i++) {
        forgotten[i].index = 10 + i;
        mproc_pack *args = pack_of(10 + i);
        assert_ok(mproc_pool_apply_async(cb_pool, "tp_check_item", args,
                                         &(mproc_call_opts){.callback = cb_on_result,
                                                            .error_callback = cb_on_error,
                                                            .ctx = &forgotten[i]},
                                         NULL));
        mproc_pack_destroy(args);
    }
    assert_ok(mproc_pool_close(cb_pool));
    assert_ok(mproc_pool_join(cb_pool, WAIT_MS));
    for (int i = 0; i < 3; i++) {
        int x = 10 + i;
        assert_int_equal(LOAD(&forgotten[i].ran), 1);
        if (x % 4 == 3) {
            assert_int_equal(forgotten[i].error_calls, 1);
        } else {
            assert_int_equal(forgotten[i].ok_calls, 1);
            assert_int_equal(forgotten[i].value, (int64_t)x * x);
        }
    }
    mproc_pool_destroy(cb_pool);
    cb_pool = NULL;

    /* All callbacks ran on one thread: the pool's result thread, not the caller's and not
     * a worker's. */
    int total = LOAD(&cb_calls);
    assert_int_equal(total, N + 1 + 3);
    assert_int_equal(LOAD(&cb_overlaps), 0);
    int first = LOAD(&cb_tids[0]);
    assert_true(first > 0);
    for (int i = 0; i < total; i++)
        if (LOAD(&cb_tids[i]) != first)
            fail_msg("callback %d ran on thread %d, callback 0 on thread %d", i,
                     LOAD(&cb_tids[i]), first);
    if (first == harness_thread_id())
        fail_msg("%s", "callbacks ran on the caller's thread");
    for (int k = 0; k < P; k++)
        if (first == workers[k])
            fail_msg("callbacks ran on worker thread %d", first);
}

/* ---- the initializer --------------------------------------------------------------------------- */

static void initializer_per_thread(void **state)
{
    (void)state;
    enum { P = 3, N = 30 };
    STORE(&init_calls, 0);
    mproc_pack *initargs = pack_of(77);
    mproc_pool *pool = new_threadpool(
        (mproc_pool_opts){.processes = P, .initializer = "tp_init_tls", .initargs = initargs});
    mproc_pack_destroy(initargs); /* the pool has what it needs */

    /* Every worker thread runs a task, so every one has run the initializer. */
    int64_t tids[P];
    rendezvous(pool, P, tids);
    assert_int_equal(LOAD(&init_calls), P);
    /* ... on those threads, once each. */
    for (int k = 0; k < P; k++) {
        bool found = false;
        for (int i = 0; i < P; i++)
            found |= LOAD(&init_tids[i]) == tids[k];
        if (!found)
            fail_msg("worker thread %lld ran no initializer", (long long)tids[k]);
    }

    /* Tasks see the thread-local the initializer set on their thread. */
    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N] = {{0}};
    int rc = mproc_pool_map(pool, "tp_read_init", items, results, N, 1, WAIT_MS);
    if (rc != 0)
        fail_msg("map: %s: %s", mproc_errname(rc), results[0].data ? (char *)results[0].data : "");
    for (int i = 0; i < N; i++) {
        int64_t tag, tid;
        as_pair(&results[i], &tag, &tid);
        assert_int_equal(tag, 77);
        bool known = false;
        for (int k = 0; k < P; k++)
            known |= tid == tids[k];
        if (!known)
            fail_msg("item %d ran on thread %lld, not one of the pool's", i, (long long)tid);
    }
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(items);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "tp_read_init", NULL, &r, WAIT_MS));
    mproc_bytes_free(&r);

    /* Not on the caller's thread. */
    assert_int_equal(init_tag, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    assert_int_equal(LOAD(&init_calls), P); /* no thread ran it again */
}

static void initializer_failure(void **state)
{
    (void)state;
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(4);
    mproc_pool *pool =
        new_threadpool((mproc_pool_opts){.processes = 2, .initializer = "tp_init_fails"});
    assert_rc(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "tp_square", args, NULL, &a));
    assert_rc(mproc_async_get(a, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(a), 0);
    mproc_async_destroy(a);
    mproc_pack *items = pack_range(0, 5);
    mproc_bytes results[5] = {{0}};
    assert_rc(mproc_pool_map(pool, "tp_square", items, results, 5, 0, WAIT_MS), MPROC_ETASK);
    assert_text_has(&results[0], "init broke 42");
    assert_empty(&results[1], 4);
    mproc_bytes_free(&results[0]);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "tp_square", items, 1, &it));
    assert_rc(mproc_iter_next(it, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool); /* without close */

    /* Failing with a code and no text; close + join end it too. */
    pool = new_threadpool((mproc_pool_opts){.processes = 1, .initializer = "tp_init_returns_five"});
    assert_rc(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "returned 5");
    mproc_bytes_free(&r);
    assert_rc(mproc_pool_map(pool, "tp_square", items, results, 5, 1, WAIT_MS), MPROC_ETASK);
    assert_text_has(&results[0], "returned 5");
    assert_empty(&results[1], 4);
    mproc_bytes_free(&results[0]);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
}

/* ---- maxtasksperchild ------------------------------------------------------------------------ */

static void maxtasksperchild_replaces_threads(void **state)
{
    (void)state;
    enum { N = 20 };
    STORE(&init_calls, 0);
    mproc_pack *initargs = pack_of(5);
    mproc_pool *pool =
        new_threadpool((mproc_pool_opts){.processes = 2, .maxtasksperchild = 2,
                                         .initializer = "tp_init_tls", .initargs = initargs});
    mproc_pack_destroy(initargs);
    mproc_async *calls[N];
    for (int i = 0; i < N; i++)
        assert_ok(mproc_pool_apply_async(pool, "tp_read_init", NULL, NULL, &calls[i]));
    int64_t seen[N];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], &r, WAIT_MS);
        if (rc != 0)
            fail_msg("call %d: %s: %s", i, mproc_errname(rc), r.data ? (char *)r.data : "");
        int64_t tag, tid;
        as_pair(&r, &tag, &tid);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
        assert_int_equal(tag, 5); /* a new thread ran the initializer too */
        assert_int_not_equal(tid, harness_thread_id());
        bool known = false;
        for (int k = 0; k < distinct; k++)
            known |= seen[k] == tid;
        if (!known)
            seen[distinct++] = tid;
    }
    if (distinct < N / 2)
        fail_msg("%d distinct threads ran %d tasks, 2 each at most", distinct, N);
    if (LOAD(&init_calls) < distinct)
        fail_msg("%d threads ran tasks, the initializer ran %d times", distinct,
                 LOAD(&init_calls));
    wait_thread_workers(pool, 2);

    /* A map chunk counts as one task. */
    mproc_pack *items = pack_range(0, 12);
    mproc_bytes results[12] = {{0}};
    assert_ok(mproc_pool_map(pool, "tp_square", items, results, 12, 3, WAIT_MS));
    for (int i = 0; i < 12; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 12);
    mproc_pack_destroy(items);
    wait_thread_workers(pool, 2);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    int64_t pids[4];
    assert_int_equal(mproc_pool_workers(pool, pids, 4), 0);
    mproc_pool_destroy(pool);
}

/* ---- timeouts -------------------------------------------------------------------------------- */

static void timeouts(void **state)
{
    (void)state;
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 2});
    gate_reset(0);
    mproc_pack *args = pack_two(0, 6);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "tp_gate_square", args, NULL, &a));
    mproc_bytes r = {0};
    assert_rc(mproc_async_get(a, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1); /* nothing is filled */
    assert_rc(mproc_async_get(a, &r, 0), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    assert_rc(mproc_async_wait(a, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    assert_rc(mproc_async_successful(a), MPROC_ESTATE);
    /* apply with a timeout leaves its task running. */
    assert_rc(mproc_pool_apply(pool, "tp_gate_square", args, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    /* An iterator's next too. */
    mproc_pack *items = gate_items(0, 1);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "tp_gate_square", items, 1, &it));
    mproc_pack_destroy(items);
    assert_rc(mproc_iter_next(it, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    assert_int_equal(LOAD(&gates[0].left), 0);

    gate_open(0);
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(a), 1);
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 1);
    assert_int_equal(as_i64(&r), 0);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_apply(pool, "tp_gate_square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);

    /* map and starmap with a short timeout: MPROC_ETIMEDOUT, nothing filled, and the pool
     * goes on. */
    gate_reset(1);
    enum { N = 40 };
    items = gate_items(1, N);
    mproc_bytes results[N] = {{0}};
    assert_rc(mproc_pool_map(pool, "tp_gate_square", items, results, N, 1, 100),
              MPROC_ETIMEDOUT);
    assert_empty(results, N);
    assert_rc(mproc_pool_starmap(pool, "tp_gate_square", items, results, N, 2, 100),
              MPROC_ETIMEDOUT);
    assert_empty(results, N);
    gate_open(1); /* the tasks running end; the rest were dropped */
    mproc_pack_destroy(items);

    items = pack_range(0, N);
    for (int round = 0; round < 2; round++) {
        assert_ok(mproc_pool_map(pool, "tp_square", items, results, N, round, WAIT_MS));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
        mproc_bytes_free_array(results, N);
    }
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

/* ---- the pool's life -------------------------------------------------------------------------- */

static int ecl_count, ecl_code;
static void on_error_count(void *ctx, int code, const char *text)
{
    (void)ctx;
    (void)text;
    INC(&ecl_count);
    STORE(&ecl_code, code);
}

/* Opens a gate once an async call is ready (WAIT_MS at most): for a task that must still
 * run when the pool is terminated, and must end for destroy to return. */
typedef struct {
    mproc_async *watch;
    int gate;
    int was_ready;
} opener;

static void open_when_ready(void *arg)
{
    opener *o = arg;
    int64_t deadline = harness_now_ms() + WAIT_MS;
    while (mproc_async_ready(o->watch) != 1 && harness_now_ms() < deadline)
        harness_sleep_ms(2);
    STORE(&o->was_ready, mproc_async_ready(o->watch) == 1);
    gate_open(o->gate);
}

static void lifecycle_rules(void **state)
{
    (void)state;
    mproc_pool *pool;
    mproc_bytes r = {0};
    mproc_async *a;
    mproc_iter *it;
    int64_t pids[8];

    /* join before close: MPROC_ESTATE at once, not a hang. */
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    assert_rc(mproc_pool_join(pool, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_join(pool, 0), MPROC_ESTATE);

    /* close + join completes the work made before close. */
    enum { N = 20 };
    mproc_async *calls[N];
    for (int i = 0; i < N; i++) {
        mproc_pack *args = pack_two(20, i);
        assert_ok(mproc_pool_apply_async(pool, "tp_sleep_square", args, NULL, &calls[i]));
        mproc_pack_destroy(args);
    }
    mproc_pack *items = pack_range(0, 10);
    mproc_async *m;
    assert_ok(mproc_pool_map_async(pool, "tp_square_jitter", items, NULL, &m));
    assert_ok(mproc_pool_close(pool));
    /* No new calls after close. */
    mproc_pack *args = pack_of(2);
    mproc_bytes results[10] = {{0}};
    assert_rc(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_apply_async(pool, "tp_square", args, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_map(pool, "tp_square", items, results, 10, 0, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_map_async(pool, "tp_square", items, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_imap(pool, "tp_square", items, 0, &it), MPROC_ESTATE);
    assert_rc(mproc_pool_imap_unordered(pool, "tp_square", items, 0, &it), MPROC_ESTATE);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(mproc_async_ready(calls[i]), 1);
        assert_ok(mproc_async_get(calls[i], &r, 0));
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    assert_ok(mproc_async_get(m, results, 0));
    for (int i = 0; i < 10; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 10);
    mproc_async_destroy(m);
    mproc_pool_destroy(pool);

    /* join with a timeout leaves the pool as it was. */
    gate_reset(0);
    pool = new_threadpool((mproc_pool_opts){.processes = 1});
    mproc_pack *gated = pack_two(0, 4);
    assert_ok(mproc_pool_apply_async(pool, "tp_gate_square", gated, NULL, &a));
    assert_ok(mproc_pool_close(pool));
    assert_rc(mproc_pool_join(pool, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    gate_open(0);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_ok(mproc_async_get(a, &r, 0));
    assert_int_equal(as_i64(&r), 16);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pool_destroy(pool);
    mproc_pack_destroy(gated);

    /* terminate with two tasks running and calls queued: every call not finished fails at
     * once with MPROC_ECLOSED (the running tasks still blocked), join waits for the
     * running tasks to return, and the queued ones never run. */
    gate_reset(1);
    STORE(&ecl_count, 0);
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    gated = pack_two(1, 5);
    mproc_async *held[5];
    for (int i = 0; i < 2; i++)
        assert_ok(mproc_pool_apply_async(pool, "tp_gate_square", gated,
                                         &(mproc_call_opts){.error_callback = on_error_count},
                                         &held[i]));
    wait_entered(1, 2); /* both workers are busy */
    for (int i = 2; i < 5; i++)
        assert_ok(mproc_pool_apply_async(pool, "tp_gate_square", gated,
                                         &(mproc_call_opts){.error_callback = on_error_count},
                                         &held[i]));
    mproc_pack *gated_items = gate_items(1, 2);
    assert_ok(mproc_pool_map_async(pool, "tp_gate_square", gated_items,
                                   &(mproc_call_opts){.error_callback = on_error_count}, &m));
    mproc_pack_destroy(gated_items);
    assert_int_equal(mproc_async_ready(held[0]), 0);
    assert_ok(mproc_pool_terminate(pool));
    for (int i = 0; i < 5; i++) {
        int rc = mproc_async_get(held[i], &r, WAIT_MS);
        if (rc != MPROC_ECLOSED)
            fail_msg("call %d (%s) after terminate: %s, wanted MPROC_ECLOSED", i,
                     i < 2 ? "running" : "queued", mproc_errname(rc));
        mproc_bytes_free(&r);
        assert_int_equal(mproc_async_ready(held[i]), 1);
        assert_int_equal(mproc_async_successful(held[i]), 0);
        mproc_async_destroy(held[i]);
    }
    assert_rc(mproc_async_get(m, results, WAIT_MS), MPROC_ECLOSED);
    mproc_bytes_free_array(results, 2);
    mproc_async_destroy(m);
    assert_int_equal(LOAD(&gates[1].left), 0); /* all that while, the tasks were blocked */
    assert_int_equal(LOAD(&ecl_count), 6);
    assert_int_equal(LOAD(&ecl_code), MPROC_ECLOSED);
    assert_rc(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_apply_async(pool, "tp_square", args, NULL, &a), MPROC_ESTATE);
    /* The running tasks cannot be stopped: join waits for them. */
    assert_rc(mproc_pool_join(pool, 50), MPROC_ETIMEDOUT);
    assert_int_equal(LOAD(&gates[1].left), 0);
    gate_open(1);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_int_equal(LOAD(&gates[1].left), 2); /* join returned after them */
    assert_int_equal(LOAD(&gates[1].entered), 2); /* the queued calls never ran */
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 0);
    mproc_pool_destroy(pool);
    mproc_pack_destroy(gated);

    /* Handles outlive the pool: a finished call keeps its result; a call running when the
     * pool is destroyed without close fails with MPROC_ECLOSED, and destroy returns once
     * its task has. */
    gate_reset(2);
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    mproc_async *done, *running;
    assert_ok(mproc_pool_apply_async(pool, "tp_square", args, NULL, &done));
    assert_ok(mproc_async_wait(done, WAIT_MS));
    gated = pack_two(2, 3);
    assert_ok(mproc_pool_apply_async(pool, "tp_gate_square", gated, NULL, &running));
    mproc_pack_destroy(gated);
    wait_entered(2, 1);
    opener o = {running, 2, 0};
    harness_thread *t = harness_thread_start(open_when_ready, &o);
    mproc_pool_destroy(pool);
    int left_at_destroy = LOAD(&gates[2].left);
    harness_thread_join(t);
    assert_int_equal(LOAD(&o.was_ready), 1);
    assert_int_equal(left_at_destroy, 1);
    assert_int_equal(mproc_async_ready(done), 1);
    assert_ok(mproc_async_get(done, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 4);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_count(done), 1);
    assert_rc(mproc_async_get(running, &r, WAIT_MS), MPROC_ECLOSED);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_ready(running), 1);
    assert_int_equal(mproc_async_successful(running), 0);
    mproc_async_destroy(done);
    mproc_async_destroy(running);

    /* An iterator outlives its pool too. */
    pool = new_threadpool((mproc_pool_opts){.processes = 1});
    assert_ok(mproc_pool_imap(pool, "tp_square", items, 0, &it));
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 1);
    assert_int_equal(as_i64(&r), 0);
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);
    mproc_iter_destroy(it);

    /* Destroy right after create, after terminate without join, after close without
     * join, and with work queued but no close. */
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    mproc_pool_destroy(pool);
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    assert_ok(mproc_pool_terminate(pool));
    mproc_pool_destroy(pool);
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    assert_ok(mproc_pool_close(pool));
    mproc_pool_destroy(pool);
    pool = new_threadpool((mproc_pool_opts){.processes = 2});
    for (int i = 0; i < 10; i++) {
        mproc_pack *s = pack_two(5, i);
        assert_ok(mproc_pool_apply_async(pool, "tp_sleep_square", s, NULL, NULL));
        mproc_pack_destroy(s);
    }
    mproc_pool_destroy(pool);

    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
}

/* ---- objects among task arguments ------------------------------------------------------------- */

static void objects_in_task_args(void **state)
{
    (void)state;
    mproc_queue *q;
    mproc_lock *lock;
    mproc_value *v;
    assert_ok(mproc_queue_create(&q, 0));
    assert_ok(mproc_lock_create(&lock));
    assert_ok(mproc_value_create(&v, MPROC_T_LONGLONG, false));
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 3});

    enum { A = 10, M = 15, S = 12 };
    int64_t want_sum = 0;
    /* apply_async: the objects are among the args. */
    mproc_async *calls[A];
    for (int i = 0; i < A; i++) {
        mproc_pack *args = new_pack();
        assert_ok(mproc_pack_handle(args, q));
        assert_ok(mproc_pack_handle(args, lock));
        assert_ok(mproc_pack_handle(args, v));
        assert_ok(mproc_pack_i64(args, i + 1));
        want_sum += i + 1;
        assert_ok(mproc_pool_apply_async(pool, "tp_use_objects", args, NULL, &calls[i]));
        mproc_pack_destroy(args); /* copied with its objects */
    }
    /* map: each item is a tuple holding the objects; starmap: its fields are the args. */
    mproc_pack *items = new_pack(), *star = new_pack();
    for (int i = 0; i < M; i++) {
        mproc_pack *t = new_pack();
        assert_ok(mproc_pack_handle(t, q));
        assert_ok(mproc_pack_handle(t, lock));
        assert_ok(mproc_pack_handle(t, v));
        assert_ok(mproc_pack_i64(t, 100 + i));
        want_sum += 100 + i;
        assert_ok(mproc_pack_pack(items, t));
        mproc_pack_destroy(t);
    }
    for (int i = 0; i < S; i++) {
        mproc_pack *t = new_pack();
        assert_ok(mproc_pack_handle(t, q));
        assert_ok(mproc_pack_handle(t, lock));
        assert_ok(mproc_pack_handle(t, v));
        assert_ok(mproc_pack_i64(t, 1000 + i));
        want_sum += 1000 + i;
        assert_ok(mproc_pack_pack(star, t));
        mproc_pack_destroy(t);
    }
    mproc_bytes results[M] = {{0}};
    int rc = mproc_pool_map(pool, "tp_use_objects", items, results, M, 2, WAIT_MS);
    if (rc != 0)
        fail_msg("map: %s: %s", mproc_errname(rc),
                 results[0].data ? (const char *)results[0].data : "");
    for (int i = 0; i < M; i++)
        assert_int_equal(as_i64(&results[i]), 100 + i);
    mproc_bytes_free_array(results, M);
    rc = mproc_pool_starmap(pool, "tp_use_objects", star, results, S, 1, WAIT_MS);
    if (rc != 0)
        fail_msg("starmap: %s: %s", mproc_errname(rc),
                 results[0].data ? (const char *)results[0].data : "");
    for (int i = 0; i < S; i++)
        assert_int_equal(as_i64(&results[i]), 1000 + i);
    mproc_bytes_free_array(results, S);
    mproc_pack_destroy(items);
    mproc_pack_destroy(star);
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        rc = mproc_async_get(calls[i], &r, WAIT_MS);
        if (rc != 0)
            fail_msg("apply_async %d: %s: %s", i, mproc_errname(rc),
                     r.data ? (const char *)r.data : "");
        assert_int_equal(as_i64(&r), i + 1);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    /* Every task put and added once; the test's own handles still work (the tasks
     * destroyed only their copies). */
    int64_t total = -1;
    assert_ok(mproc_value_get_i64(v, &total));
    assert_int_equal(total, want_sum);
    int64_t qsum = 0;
    for (int i = 0; i < A + M + S; i++) {
        mproc_bytes msg;
        assert_ok(mproc_queue_get(q, &msg, WAIT_MS));
        assert_int_equal(msg.len, 8);
        int64_t x;
        memcpy(&x, msg.data, 8);
        qsum += x;
        mproc_bytes_free(&msg);
    }
    assert_int_equal(qsum, want_sum);
    assert_int_equal(mproc_queue_qsize(q), 0);
    assert_ok(mproc_lock_acquire(lock, WAIT_MS));
    assert_ok(mproc_lock_release(lock));
    mproc_value_destroy(v);
    mproc_lock_destroy(lock);
    mproc_queue_destroy(q);
}

/* ---- lazy imap --------------------------------------------------------------------------------- */

/* A lazy source of the integers 0 .. limit-1 that checks the rules of mproc_next_fn. */
typedef struct {
    int64_t produced, consumed, limit;
    size_t window;
    int in_call, in_next; /* the test is inside imap_lazy / iter_next */
    int busy, concurrent, outside, too_far, wrong_thread, caller;
} lazy_source;

static int lazy_next(void *ctx, mproc_pack *item)
{
    lazy_source *s = ctx;
    if (__atomic_exchange_n(&s->busy, 1, __ATOMIC_SEQ_CST))
        INC(&s->concurrent);
    if (!LOAD(&s->in_call))
        INC(&s->outside);
    if (harness_thread_id() != s->caller)
        INC(&s->wrong_thread);
    int64_t ahead = s->produced - s->consumed - (s->in_next ? 1 : 0);
    if (ahead >= (int64_t)s->window)
        s->too_far++;
    int rc;
    if (s->produced >= s->limit)
        rc = 0;
    else
        rc = mproc_pack_i64(item, s->produced) == 0 ? 1 : -1000;
    if (rc == 1)
        s->produced++;
    STORE(&s->busy, 0);
    return rc;
}

static int lazy_step(mproc_iter *it, lazy_source *s, mproc_bytes *r)
{
    STORE(&s->in_call, 1);
    s->in_next = 1;
    int rc = mproc_iter_next(it, r, WAIT_MS);
    s->in_next = 0;
    STORE(&s->in_call, 0);
    return rc;
}

static void imap_lazy_backpressure(void **state)
{
    (void)state;
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 3});
    const struct {
        size_t window, chunksize;
        bool unordered;
    } runs[] = {{1, 1, false}, {4, 1, false}, {4, 1, true}, {9, 3, false}, {9, 3, true}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        lazy_source s = {.limit = 300, .window = runs[k].window, .caller = harness_thread_id()};
        mproc_iter *it;
        s.in_call = 1;
        assert_ok(mproc_pool_imap_lazy(pool, "tp_square_jitter", lazy_next, &s,
                                       &(mproc_imap_opts){.chunksize = runs[k].chunksize,
                                                          .unordered = runs[k].unordered,
                                                          .window = runs[k].window},
                                       &it));
        s.in_call = 0;
        assert_true(s.produced <= (int64_t)s.window);
        int64_t got[300];
        for (;;) {
            mproc_bytes r = {0};
            int rc = lazy_step(it, &s, &r);
            if (rc == 0)
                break;
            if (rc != 1)
                fail_msg("next after %d results: %s", (int)s.consumed, mproc_errname(rc));
            assert_true(s.consumed < 300);
            got[s.consumed] = as_i64(&r);
            mproc_bytes_free(&r);
            if (!runs[k].unordered)
                assert_int_equal(got[s.consumed], s.consumed * s.consumed);
            s.consumed++;
            if (s.produced - s.consumed > (int64_t)s.window)
                fail_msg("%d items read, %d returned: more than the window of %d",
                         (int)s.produced, (int)s.consumed, (int)s.window);
            if (s.consumed % 50 == 0)
                harness_sleep_ms(20); /* a slow reader: the source must wait */
        }
        assert_int_equal(s.consumed, 300);
        assert_int_equal(s.produced, 300);
        qsort(got, 300, sizeof got[0], cmp_i64);
        for (int i = 0; i < 300; i++)
            assert_int_equal(got[i], (int64_t)i * i);
        mproc_bytes r = {0};
        assert_int_equal(lazy_step(it, &s, &r), 0);
        assert_int_equal(s.too_far, 0);
        assert_int_equal(LOAD(&s.concurrent), 0);
        assert_int_equal(LOAD(&s.outside), 0);
        assert_int_equal(LOAD(&s.wrong_thread), 0);
        mproc_iter_destroy(it);
    }
    /* window 0: 64 x chunksize x workers; the source is still read lazily. */
    lazy_source s = {.limit = 1000000, .window = 64 * 1 * 3, .caller = harness_thread_id()};
    mproc_iter *it;
    s.in_call = 1;
    assert_ok(mproc_pool_imap_lazy(pool, "tp_square", lazy_next, &s, NULL, &it));
    s.in_call = 0;
    for (int i = 0; i < 500; i++) {
        mproc_bytes r = {0};
        assert_int_equal(lazy_step(it, &s, &r), 1);
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        s.consumed++;
        assert_true(s.produced - s.consumed <= (int64_t)s.window);
    }
    assert_int_equal(s.too_far, 0);
    assert_int_equal(LOAD(&s.concurrent), 0);
    assert_int_equal(LOAD(&s.outside), 0);
    assert_int_equal(LOAD(&s.wrong_thread), 0);
    mproc_iter_destroy(it); /* a million items never read */
    mproc_pool_destroy(pool);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static int never_next(void *ctx, mproc_pack *item)
{
    (void)item;
    ++*(int *)ctx;
    return 0;
}

static void bad_input(void **state)
{
    (void)state;
    mproc_pool *pool = NULL;
    mproc_bytes r = {0}, results[4] = {{0}};
    mproc_async *a = NULL;
    mproc_iter *it = NULL;
    mproc_pack *args = pack_of(3), *items = pack_range(0, 4), *pairs = new_pack();
    for (int i = 0; i < 4; i++) {
        mproc_pack *pair = pack_two(i, 2);
        assert_ok(mproc_pack_pack(pairs, pair));
        mproc_pack_destroy(pair);
    }

    assert_rc(mproc_threadpool_create(NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_threadpool_create(NULL, &(mproc_pool_opts){.processes = 2}), MPROC_EINVAL);
    assert_rc(mproc_threadpool_create(&pool, &(mproc_pool_opts){.initializer = "no_such_task"}),
              MPROC_ENOTASK);

    pool = new_threadpool((mproc_pool_opts){.processes = 3});
    assert_int_equal(mproc_pool_size(pool), 3);
    /* Each worker thread is listed with this process's pid. */
    wait_thread_workers(pool, 3);
    int64_t one[1] = {0};
    assert_int_equal(mproc_pool_workers(pool, one, 1), 3); /* how many, though cap is 1 */
    assert_int_equal(one[0], mproc_getpid());

    /* NULL task or out. */
    int calls = 0;
    assert_rc(mproc_pool_apply(pool, NULL, args, &r, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_apply(pool, "tp_square", args, NULL, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_apply_async(pool, NULL, args, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_apply_async(pool, "tp_square", args, NULL, NULL));
    assert_rc(mproc_pool_map(pool, NULL, items, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "tp_square", items, NULL, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "tp_square", NULL, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "tp_square", items, results, 5, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "tp_square", items, results, 3, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map_async(pool, NULL, items, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_map_async(pool, "tp_square", items, NULL, NULL));
    assert_rc(mproc_pool_starmap(pool, NULL, pairs, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap(pool, "tp_multiply", pairs, NULL, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap_async(pool, NULL, pairs, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_starmap_async(pool, "tp_multiply", pairs, NULL, NULL));
    assert_rc(mproc_pool_imap(pool, NULL, items, 0, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap(pool, "tp_square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_unordered(pool, "tp_square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, NULL, never_next, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "tp_square", NULL, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "tp_square", never_next, &calls, NULL, NULL),
              MPROC_EINVAL);

    /* starmap: a field that is not a pack is MPROC_ETYPE. */
    mproc_pack *not_pairs = pack_range(0, 4);
    assert_rc(mproc_pool_starmap(pool, "tp_multiply", not_pairs, results, 4, 0, WAIT_MS),
              MPROC_ETYPE);
    mproc_pack_destroy(not_pairs);

    /* Unknown task names: at the call. */
    assert_rc(mproc_pool_apply(pool, "no_such_task", args, &r, 1000), MPROC_ENOTASK);
    assert_rc(mproc_pool_apply_async(pool, "no_such_task", args, NULL, &a), MPROC_ENOTASK);
    assert_rc(mproc_pool_map(pool, "no_such_task", items, results, 4, 0, 1000), MPROC_ENOTASK);
    assert_rc(mproc_pool_map_async(pool, "no_such_task", items, NULL, &a), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap(pool, "no_such_task", items, 0, &it), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap_unordered(pool, "no_such_task", items, 0, &it), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap_lazy(pool, "no_such_task", never_next, &calls, NULL, &it),
              MPROC_ENOTASK);
    assert_rc(mproc_pool_starmap(pool, "no_such_task", pairs, results, 4, 0, 1000),
              MPROC_ENOTASK);
    assert_rc(mproc_pool_starmap_async(pool, "no_such_task", pairs, NULL, &a), MPROC_ENOTASK);
    assert_int_equal(calls, 0); /* no source was read for a refused call */

    /* NULL where results go. */
    assert_ok(mproc_pool_apply_async(pool, "tp_square", args, NULL, &a));
    assert_rc(mproc_async_get(a, NULL, WAIT_MS), MPROC_EINVAL);
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_imap(pool, "tp_square", items, 0, &it));
    assert_rc(mproc_iter_next(it, NULL, WAIT_MS), MPROC_EINVAL);
    mproc_iter_destroy(it);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    /* NULL pool and handles. */
    assert_rc(mproc_pool_size(NULL), MPROC_EINVAL);
    int64_t pids[8];
    assert_rc(mproc_pool_workers(NULL, pids, 8), MPROC_EINVAL);
    assert_rc(mproc_async_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_iter_next(NULL, &r, 0), MPROC_EINVAL);
    mproc_pool_destroy(NULL);

    /* processes <= 0: mproc_cpu_count_usable(); opts NULL too. */
    int cpus = mproc_cpu_count_usable();
    assert_true(cpus >= 1);
    assert_ok(mproc_threadpool_create(&pool, NULL));
    assert_int_equal(mproc_pool_size(pool), cpus);
    wait_thread_workers(pool, cpus);
    assert_ok(mproc_pool_apply(pool, "tp_square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);
    pool = new_threadpool((mproc_pool_opts){.processes = 0});
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);
    pool = new_threadpool((mproc_pool_opts){.processes = -5});
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);
    /* opts.ctx is ignored by the thread pool. */
    mproc_context *ctx = NULL;
    assert_ok(mproc_context_get(&ctx, MPROC_SPAWN));
    pool = new_threadpool((mproc_pool_opts){.processes = 2, .ctx = ctx});
    assert_ok(mproc_pool_apply(pool, "tp_pid", NULL, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), mproc_getpid());
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);

    mproc_pack_destroy(args);
    mproc_pack_destroy(items);
    mproc_pack_destroy(pairs);
}

/* ---- many tiny tasks, several callers ------------------------------------------------------------ */

static int tiny_callbacks;
static void tiny_on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    if (n == 1 && results && results[0].len == 8)
        INC(&tiny_callbacks);
}

static void many_tiny_tasks(void **state)
{
    (void)state;
    enum { N = 100000, A = 10000 };
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 4});
    mproc_pack *items = pack_range(0, N);
    mproc_bytes *results = calloc(N, sizeof *results);
    assert_non_null(results);
    const size_t chunks[] = {1, 0};
    for (size_t k = 0; k < 2; k++) {
        int rc = mproc_pool_map(pool, "tp_square", items, results, N, chunks[k], 4 * WAIT_MS);
        if (rc != 0)
            fail_msg("map of %d, chunksize %d: %s", N, (int)chunks[k], mproc_errname(rc));
        for (int i = 0; i < N; i++)
            if (as_i64(&results[i]) != (int64_t)i * i)
                fail_msg("map chunksize %d: item %d gave %lld", (int)chunks[k], i,
                         (long long)as_i64(&results[i]));
        mproc_bytes_free_array(results, N);
    }
    free(results);

    mproc_async **calls = calloc(A, sizeof *calls);
    assert_non_null(calls);
    STORE(&tiny_callbacks, 0);
    for (int i = 0; i < A; i++) {
        mproc_pack *args = pack_of(i);
        assert_ok(mproc_pool_apply_async(pool, "tp_square", args,
                                         &(mproc_call_opts){.callback = tiny_on_result},
                                         &calls[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], &r, 4 * WAIT_MS);
        if (rc != 0)
            fail_msg("apply_async %d: %s", i, mproc_errname(rc));
        if (as_i64(&r) != (int64_t)i * i)
            fail_msg("apply_async %d gave %lld", i, (long long)as_i64(&r));
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    free(calls);
    assert_int_equal(LOAD(&tiny_callbacks), A); /* each ran before its waiter woke */

    /* imap_unordered over A items: each result once. */
    mproc_iter *it;
    mproc_pack *some = pack_range(0, A);
    assert_ok(mproc_pool_imap_unordered(pool, "tp_square", some, 1, &it));
    mproc_pack_destroy(some);
    unsigned char *seen = calloc(A, 1);
    assert_non_null(seen);
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        int rc = mproc_iter_next(it, &r, 4 * WAIT_MS);
        if (rc != 1)
            fail_msg("imap_unordered next %d: %s", i, mproc_errname(rc));
        int64_t v = as_i64(&r);
        mproc_bytes_free(&r);
        int64_t lo = 0, hi = A; /* the x in [0, A) with x*x == v, if any */
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (mid * mid < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        int64_t x = lo;
        if (x >= A || x * x != v || seen[x]++)
            fail_msg("imap_unordered gave %lld (again or never asked)", (long long)v);
    }
    mproc_bytes r = {0};
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    free(seen);

    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, 4 * WAIT_MS));
    mproc_pool_destroy(pool);
}

/* A thread pool used from several threads at once. */
typedef struct {
    mproc_pool *pool;
    int base, bad;
} thread_work;

static void map_from_thread(void *arg)
{
    thread_work *w = arg;
    mproc_pack *items;
    if (mproc_pack_create(&items) != 0) {
        w->bad = -1;
        return;
    }
    for (int i = 0; i < 100; i++)
        mproc_pack_i64(items, w->base + i);
    for (int round = 0; round < 20; round++) {
        mproc_bytes results[100] = {{0}};
        int rc = mproc_pool_map(w->pool, "tp_square", items, results, 100, (size_t)(round % 4),
                                WAIT_MS);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        for (int i = 0; i < 100; i++) {
            int64_t v = -1, x = w->base + i;
            if (results[i].len == 8)
                memcpy(&v, results[i].data, 8);
            if (v != x * x)
                w->bad = 1000 + i;
        }
        mproc_bytes_free_array(results, 100);
        mproc_async *a;
        mproc_pack *args;
        if (mproc_pack_create(&args) != 0) {
            w->bad = -2;
            break;
        }
        mproc_pack_i64(args, w->base);
        rc = mproc_pool_apply_async(w->pool, "tp_square", args, NULL, &a);
        mproc_pack_destroy(args);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        mproc_bytes r = {0};
        rc = mproc_async_get(a, &r, WAIT_MS);
        if (rc != 0 || r.len != 8 || memcmp(r.data, &(int64_t){(int64_t)w->base * w->base}, 8))
            w->bad = 2000;
        mproc_bytes_free(&r);
        mproc_async_destroy(a);
        mproc_iter *it;
        rc = mproc_pool_imap(w->pool, "tp_square", items, 3, &it);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        for (int i = 0; i < 100; i++) {
            int64_t x = w->base + i;
            rc = mproc_iter_next(it, &r, WAIT_MS);
            if (rc != 1 || r.len != 8 || memcmp(r.data, &(int64_t){x * x}, 8))
                w->bad = 3000 + i;
            mproc_bytes_free(&r);
        }
        mproc_iter_destroy(it);
    }
    mproc_pack_destroy(items);
}

static void used_from_threads(void **state)
{
    (void)state;
    mproc_pool *pool = new_threadpool((mproc_pool_opts){.processes = 3});
    thread_work work[4];
    harness_thread *threads[4];
    for (int i = 0; i < 4; i++) {
        work[i] = (thread_work){pool, i * 1000, 0};
        threads[i] = harness_thread_start(map_from_thread, &work[i]);
    }
    for (int i = 0; i < 4; i++)
        harness_thread_join(threads[i]);
    for (int i = 0; i < 4; i++)
        if (work[i].bad)
            fail_msg("thread %d: %d", i, work[i].bad);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

#define HARNESS_CASES "cases/threadpool.txt"
#include "harness_main.h"
