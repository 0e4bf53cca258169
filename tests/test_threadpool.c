/* Thread pool (multiprocessing.dummy.Pool / ThreadPool): mproc_threadpool_create gives an
 * mproc_pool whose calls behave as the process pool's, with threads of this process as its
 * workers. pool_cases.h has the cases the pool suite runs too (apply/map/starmap/imap,
 * lazy imap with backpressure, task failures and their texts, callbacks one at a time on
 * one thread, timeouts, the pool's life: terminate cannot stop a running task, join waits
 * for it; bad input, use from several threads, an initializer that fails, large arguments
 * and results, maxtasksperchild replacing threads, shareable objects among task
 * arguments). Here: one program runs unchanged on both pools; tasks run on threads of this
 * process, several at once; the initializer once per worker thread (thread-locals); many
 * tiny tasks (a race finder, also run under ThreadSanitizer). The harness checks after
 * every case that no fd/handle, child or shm name leaked, so every case destroys its pool
 * and its objects. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "pool_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pool_cases.h's POOL cases run on a thread pool. */
#define SUITE_POOL_KIND POOL_THREADS

/* ---- tasks ------------------------------------------------------------------------------ */

/* () -> the id of the thread the task runs on. */
MPROC_TASK(tid, in, out)
{
    (void)in;
    return put_i64(out, harness_thread_id());
}

/* () -> 0 after 5 ms, counting how many such tasks run at once. */
static int ci_inside, ci_max;
MPROC_TASK(count_inside, in, out)
{
    (void)in;
    int now = INC(&ci_inside);
    int seen = LOAD(&ci_max);
    while (now > seen && !__atomic_compare_exchange_n(&ci_max, &seen, now, false, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_SEQ_CST)) {
    }
    harness_sleep_ms(5);
    DEC(&ci_inside);
    return put_i64(out, 0);
}

/* ---- one program, both pools ----------------------------------------------------------------- */

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
    if (n > 1 && results) /* a map: item i gives i*i */
        s->bad += wrong_squares(results, n);
    else if (n != 1 || !results || !read_i64(&results[0], &s->value))
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
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply(pool, "answer", NULL, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);

    /* map, chunksize 1 and automatic. */
    enum { N = 60 };
    mproc_bytes results[N + 1];
    mproc_pack *items = pack_range(0, N);
    for (size_t chunk = 0; chunk < 2; chunk++) {
        memset(results, 0, sizeof results);
        int rc =
            mproc_pool_map(pool, "square_jitter", items, chunk == 0 ? 1 : 0, WAIT_MS, results, N);
        if (rc != 0)
            fail_msg("%s pool: map, chunksize %d: %s", kind, chunk == 0 ? 1 : 0, mproc_errname(rc));
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
    assert_ok(mproc_pool_starmap(pool, "multiply", pairs, 0, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * (i + 3));
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(pairs);

    /* imap (in order) and imap_unordered (every result once). */
    for (int unordered = 0; unordered < 2; unordered++) {
        mproc_iter *it;
        if (unordered)
            assert_ok(mproc_pool_imap_unordered(pool, "square_jitter", items, 2, &it));
        else
            assert_ok(mproc_pool_imap(pool, "square_jitter", items, 2, &it));
        int64_t got[N];
        for (int i = 0; i < N; i++) {
            int rc = mproc_iter_next(it, WAIT_MS, &r);
            if (rc != 1)
                fail_msg("%s pool: next %d: %s", kind, i, mproc_errname(rc));
            got[i] = as_i64(&r);
            mproc_bytes_free(&r);
            if (!unordered)
                assert_int_equal(got[i], (int64_t)i * i);
        }
        assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
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
        assert_ok(mproc_pool_apply_async(pool, "square_jitter", a,
                                         &(mproc_call_opts){.callback = sp_on_result,
                                                            .error_callback = sp_on_error,
                                                            .ctx = &slots[i]},
                                         &calls[i]));
        mproc_pack_destroy(a);
    }
    assert_ok(mproc_pool_map_async(pool, "square_jitter", items,
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
            assert_ok(mproc_async_get(calls[i], WAIT_MS, &r));
            assert_int_equal(as_i64(&r), (int64_t)i * i);
            mproc_bytes_free(&r);
        } else {
            assert_int_equal(slots[i].n, N);
            assert_ok(mproc_async_get(calls[i], WAIT_MS, results));
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
    mproc_pool *pool = new_pool(POOL_THREADS, (mproc_pool_opts){.processes = P});
    assert_int_equal(mproc_pool_size(pool), P);
    int64_t self = mproc_getpid();

    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "worker_pid", NULL, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), self);
    mproc_bytes_free(&r);
    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "worker_pid", items, 1, WAIT_MS, results, N));
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
    assert_ok(mproc_pool_map(pool, "tid", items, 1, WAIT_MS, results, N));
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
    assert_ok(mproc_pool_map(pool, "count_inside", items, 1, WAIT_MS, results, N));
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

/* ---- the initializer ------------------------------------------------------------------------- */

static void initializer_per_thread(void **state)
{
    (void)state;
    enum { P = 3, N = 30 };
    STORE(&init_calls, 0);
    mproc_pack *initargs = pack_of(77);
    mproc_pool *pool = new_pool(
        POOL_THREADS,
        (mproc_pool_opts){.processes = P, .initializer = "init_tls", .initargs = initargs});
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
    int rc = mproc_pool_map(pool, "read_init", items, 1, WAIT_MS, results, N);
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
    assert_ok(mproc_pool_apply(pool, "read_init", NULL, WAIT_MS, &r));
    mproc_bytes_free(&r);

    /* Not on the caller's thread. */
    assert_int_equal(init_tag, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    assert_int_equal(LOAD(&init_calls), P); /* no thread ran it again */
}

/* ---- many tiny tasks, several callers -------------------------------------------------------- */

static int tiny_callbacks;
static void tiny_on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    int64_t v;
    if (n == 1 && results && read_i64(&results[0], &v))
        INC(&tiny_callbacks);
}

static void many_tiny_tasks(void **state)
{
    (void)state;
    enum { N = 100000, A = 10000 };
    mproc_pool *pool = new_pool(POOL_THREADS, (mproc_pool_opts){.processes = 4});
    mproc_pack *items = pack_range(0, N);
    mproc_bytes *results = calloc(N, sizeof *results);
    assert_non_null(results);
    const size_t chunks[] = {1, 0};
    for (size_t k = 0; k < 2; k++) {
        int rc = mproc_pool_map(pool, "square", items, chunks[k], 4 * WAIT_MS, results, N);
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
        assert_ok(mproc_pool_apply_async(
            pool, "square", args, &(mproc_call_opts){.callback = tiny_on_result}, &calls[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], 4 * WAIT_MS, &r);
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
    assert_ok(mproc_pool_imap_unordered(pool, "square", some, 1, &it));
    mproc_pack_destroy(some);
    unsigned char *seen = calloc(A, 1);
    assert_non_null(seen);
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        int rc = mproc_iter_next(it, 4 * WAIT_MS, &r);
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
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    free(seen);

    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, 4 * WAIT_MS));
    mproc_pool_destroy(pool);
}

#define HARNESS_CASES "cases/threadpool.txt"
#include "harness_main.h"
