/* The cases both pool suites run, each once per suite: test_pool.c (processes) and
 * test_threadpool.c (threads) include this file and list them in their case lists as
 * POOL(name), or POOL_PER_METHOD(name) for a process pool of each start method. Each takes
 * the kind of pool; where processes and threads differ (what terminate stops, which
 * thread runs what), the case says so and checks each kind for what it does. A case here
 * that a suite does not list is an unused function, which the build refuses. The harness
 * checks after every case that no fd/handle, child or shm name leaked, so every case
 * destroys its pool and its objects. */
#ifndef MPROC_TEST_POOL_CASES_H
#define MPROC_TEST_POOL_CASES_H

#include "pool_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one call --------------------------------------------------------------------------- */

static void apply_basics(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    assert_int_equal(mproc_pool_size(pool), 2);

    mproc_pack *args = pack_of(7);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);

    /* apply_async copies its args: the pack goes at once. */
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &a));
    mproc_pack_destroy(args);
    assert_int_equal(mproc_async_count(a), 1);
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 1);
    for (int i = 0; i < 2; i++) { /* get may be called again */
        mproc_bytes got = {0};
        assert_ok(mproc_async_get(a, WAIT_MS, &got));
        assert_int_equal(as_i64(&got), 49);
        mproc_bytes_free(&got);
    }
    assert_ok(mproc_async_get(a, 0, &r)); /* ready: a poll is enough */
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    /* args NULL: the task gets an empty pack. */
    assert_ok(mproc_pool_apply(pool, "answer", NULL, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);
    assert_rc(mproc_pool_apply(pool, "square", NULL, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "no argument");
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply_async(pool, "answer", NULL, NULL, &a));
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    /* successful() before the call is ready is MPROC_ESTATE (Python's ValueError). */
    gate g;
    gate_init(&g, kind);
    args = gate_args(&g, 9);
    assert_ok(mproc_pool_apply_async(pool, "gate_square", args, NULL, &a));
    mproc_pack_destroy(args);
    assert_int_equal(mproc_async_ready(a), 0);
    assert_rc(mproc_async_successful(a), MPROC_ESTATE);
    assert_rc(mproc_async_wait(a, 50), MPROC_ETIMEDOUT);
    assert_rc(mproc_async_wait(a, 0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    gate_open(&g);
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 1);
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 81);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    /* A failed call is ready and not successful. */
    assert_ok(mproc_pool_apply_async(pool, "returns_seven", NULL, NULL, &a));
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 0);
    mproc_async_destroy(a);

    /* Several results in flight at once, each with its own value. */
    mproc_async *many[20];
    for (int i = 0; i < 20; i++) {
        args = pack_of(i);
        assert_ok(mproc_pool_apply_async(pool, "square_jitter", args, NULL, &many[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 19; i >= 0; i--) {
        assert_ok(mproc_async_get(many[i], WAIT_MS, &r));
        assert_int_equal(as_i64(&r), i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(many[i]);
    }

    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    gate_free(&g);
}

/* ---- the map family -------------------------------------------------------------------- */

static void map_in_order(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    static mproc_bytes results[1001];
    const size_t counts[] = {0, 1, 5, 1000};
    const size_t chunks[] = {1, 7, 0};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c];
        mproc_pack *items = pack_range(0, n);
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            memset(results, 0, sizeof results);
            const char *task = n <= 5 || chunks[k] != 1 ? "square_jitter" : "square";
            int rc = mproc_pool_map(pool, task, items, chunks[k], WAIT_MS, results, n);
            if (rc != 0)
                fail_msg("map of %d items, chunksize %d: %s", (int)n, (int)chunks[k],
                         mproc_errname(rc));
            for (size_t i = 0; i < n; i++)
                assert_int_equal(as_i64(&results[i]), (int64_t)(i * i));
            assert_empty(&results[n], 1); /* nothing written past n */
            mproc_bytes_free_array(results, n);
        }
        /* n must be the number of items. */
        assert_rc(mproc_pool_map(pool, "square", items, 0, WAIT_MS, results, n + 1), MPROC_EINVAL);
        if (n > 0)
            assert_rc(mproc_pool_map(pool, "square", items, 0, WAIT_MS, results, n - 1),
                      MPROC_EINVAL);

        /* map_async + get. */
        mproc_async *a;
        assert_ok(mproc_pool_map_async(pool, "square_jitter", items,
                                       &(mproc_call_opts){.chunksize = n > 5 ? 13 : 0}, &a));
        mproc_pack_destroy(items); /* copied */
        assert_int_equal(mproc_async_count(a), n);
        memset(results, 0, sizeof results);
        assert_ok(mproc_async_get(a, WAIT_MS, results));
        for (size_t i = 0; i < n; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)(i * i));
        mproc_bytes_free_array(results, n);
        assert_int_equal(mproc_async_successful(a), 1);
        mproc_async_destroy(a);
    }
    /* Items of other types reach the task as they are: a string is not an integer. */
    mproc_pack *items = pack_range(0, 3);
    assert_ok(mproc_pack_str(items, "four"));
    memset(results, 0, sizeof results);
    assert_rc(mproc_pool_map(pool, "square", items, 1, WAIT_MS, results, 4), MPROC_ETASK);
    assert_text(&results[0], "no argument");
    assert_empty(&results[1], 3);
    mproc_bytes_free(&results[0]);
    mproc_pack_destroy(items);
    mproc_pool_destroy(pool);
}

static void starmap_nested_packs(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    enum { N = 50 };
    mproc_pack *items = new_pack();
    for (int i = 0; i < N; i++) {
        mproc_pack *pair = pack_two(i, i + 3);
        assert_ok(mproc_pack_pack(items, pair));
        mproc_pack_destroy(pair);
    }
    mproc_bytes results[N + 1] = {{0}};
    for (size_t chunk = 0; chunk < 3; chunk++) {
        assert_ok(mproc_pool_starmap(pool, "multiply", items, chunk * 4, WAIT_MS, results, N));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * (i + 3));
        mproc_bytes_free_array(results, N);
    }
    assert_rc(mproc_pool_starmap(pool, "multiply", items, 0, WAIT_MS, results, N - 1),
              MPROC_EINVAL);

    mproc_async *a;
    assert_ok(mproc_pool_starmap_async(pool, "multiply", items, NULL, &a));
    mproc_pack_destroy(items);
    assert_int_equal(mproc_async_count(a), N);
    assert_ok(mproc_async_get(a, WAIT_MS, results));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * (i + 3));
    mproc_bytes_free_array(results, N);
    mproc_async_destroy(a);

    /* An empty nested pack is a call with no arguments. */
    items = new_pack();
    mproc_pack *empty = new_pack();
    assert_ok(mproc_pack_pack(items, empty));
    assert_ok(mproc_pack_pack(items, empty));
    mproc_pack_destroy(empty);
    assert_ok(mproc_pool_starmap(pool, "answer", items, 0, WAIT_MS, results, 2));
    assert_int_equal(as_i64(&results[0]), 42);
    assert_int_equal(as_i64(&results[1]), 42);
    mproc_bytes_free_array(results, 2);
    mproc_pack_destroy(items);

    /* A field that is not a pack is MPROC_ETYPE. */
    items = new_pack();
    mproc_pack *pair = pack_two(2, 3);
    assert_ok(mproc_pack_pack(items, pair));
    assert_ok(mproc_pack_i64(items, 5));
    assert_ok(mproc_pack_pack(items, pair));
    mproc_pack_destroy(pair);
    memset(results, 0, sizeof results);
    assert_rc(mproc_pool_starmap(pool, "multiply", items, 0, WAIT_MS, results, 3), MPROC_ETYPE);
    a = NULL;
    int rc = mproc_pool_starmap_async(pool, "multiply", items, NULL, &a);
    if (rc == 0) { /* refused at once, or at get: either is MPROC_ETYPE */
        rc = mproc_async_get(a, WAIT_MS, results);
        mproc_bytes_free_array(results, 3);
        mproc_async_destroy(a);
    }
    assert_int_equal(rc, MPROC_ETYPE);
    mproc_pack_destroy(items);

    /* The pool still works. */
    items = new_pack();
    pair = pack_two(6, 7);
    assert_ok(mproc_pack_pack(items, pair));
    mproc_pack_destroy(pair);
    assert_ok(mproc_pool_starmap(pool, "multiply", items, 0, WAIT_MS, results, 1));
    assert_int_equal(as_i64(&results[0]), 42);
    mproc_bytes_free(&results[0]);
    mproc_pack_destroy(items);
    mproc_pool_destroy(pool);
}

static void imap_ordered_and_unordered(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    enum { N = 100 };
    for (int unordered = 0; unordered < 2; unordered++) {
        for (size_t chunk = 0; chunk < 3; chunk++) {
            mproc_pack *items = pack_range(0, N);
            mproc_iter *it;
            if (unordered)
                assert_ok(mproc_pool_imap_unordered(pool, "square_jitter", items, chunk * 3, &it));
            else
                assert_ok(mproc_pool_imap(pool, "square_jitter", items, chunk * 3, &it));
            mproc_pack_destroy(items); /* copied */
            int64_t got[N];
            for (int i = 0; i < N; i++) {
                mproc_bytes r = {0};
                int rc = mproc_iter_next(it, WAIT_MS, &r);
                if (rc != 1)
                    fail_msg("next %d of %s: %s (%d)", i, unordered ? "imap_unordered" : "imap",
                             mproc_errname(rc), rc);
                got[i] = as_i64(&r);
                mproc_bytes_free(&r);
                if (!unordered)
                    assert_int_equal(got[i], (int64_t)i * i);
            }
            if (unordered) {
                qsort(got, N, sizeof got[0], cmp_i64);
                for (int i = 0; i < N; i++)
                    assert_int_equal(got[i], (int64_t)i * i);
            }
            for (int i = 0; i < 3; i++) { /* the end, and it stays the end */
                mproc_bytes r = {0};
                assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
                assert_empty(&r, 1);
            }
            mproc_iter_destroy(it);
        }
    }
    /* Over no items: at the end at once. */
    mproc_pack *none = new_pack();
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "square", none, 0, &it));
    mproc_bytes r = {0};
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    assert_ok(mproc_pool_imap_unordered(pool, "square", none, 0, &it));
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    mproc_pack_destroy(none);

    /* An iterator destroyed half-way: the rest is dropped and the pool goes on. */
    mproc_pack *items = pack_range(0, 2000);
    assert_ok(mproc_pool_imap(pool, "square_jitter", items, 1, &it));
    mproc_pack_destroy(items);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
        assert_int_equal(as_i64(&r), i * i);
        mproc_bytes_free(&r);
    }
    mproc_iter_destroy(it);
    mproc_pack *args = pack_of(12);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 144);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

/* A lazy source of the integers 0 .. limit-1 that checks the rules of mproc_next_fn. */
typedef struct {
    int64_t produced, consumed, limit;
    size_t window;
    int fail_at, fail_code; /* fail_at >= 0: the call after fail_at items fails */
    int in_call, in_next;   /* the test is inside imap_lazy / iter_next */
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
    /* Read only while fewer than `window` items are read but not returned; inside
     * iter_next, the item it is about to return may already count as returned. */
    int64_t ahead = s->produced - s->consumed - (s->in_next ? 1 : 0);
    if (ahead >= (int64_t)s->window)
        s->too_far++;
    int rc;
    if (s->fail_at >= 0 && s->produced == s->fail_at)
        rc = s->fail_code;
    else if (s->produced >= s->limit)
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
    int rc = mproc_iter_next(it, WAIT_MS, r);
    s->in_next = 0;
    STORE(&s->in_call, 0);
    return rc;
}

/* What the source saw: no call concurrent with another, none outside imap_lazy and
 * iter_next, none but on the caller's thread. */
static void assert_source_obeyed(const lazy_source *s)
{
    assert_int_equal(LOAD(&s->concurrent), 0);
    assert_int_equal(LOAD(&s->outside), 0);
    assert_int_equal(LOAD(&s->wrong_thread), 0);
}

static void imap_lazy_backpressure(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    const struct {
        size_t window, chunksize;
        bool unordered;
    } runs[] = {{1, 1, false}, {4, 1, false}, {4, 1, true}, {9, 3, false}, {9, 3, true}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        lazy_source s = {
            .limit = 300, .window = runs[k].window, .fail_at = -1, .caller = harness_thread_id()};
        mproc_iter *it;
        s.in_call = 1;
        assert_ok(mproc_pool_imap_lazy(pool, "square_jitter", lazy_next, &s,
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
                fail_msg("%d items read, %d returned: more than the window of %d", (int)s.produced,
                         (int)s.consumed, (int)s.window);
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
        assert_source_obeyed(&s);
        mproc_iter_destroy(it);
    }
    /* window 0: 64 x chunksize x workers; the source is still read lazily. */
    lazy_source s = {
        .limit = 1000000, .window = 64 * 1 * 3, .fail_at = -1, .caller = harness_thread_id()};
    mproc_iter *it;
    s.in_call = 1;
    assert_ok(mproc_pool_imap_lazy(pool, "square", lazy_next, &s, NULL, &it));
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
    assert_source_obeyed(&s);
    mproc_iter_destroy(it); /* a million items never read */
    mproc_pool_destroy(pool);
}

/* The code a lazy source fails with ends the iteration, after the items read before. */
static void imap_lazy_source_error(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    lazy_source s = {.limit = 100,
                     .window = 2,
                     .fail_at = 5,
                     .fail_code = MPROC_EPERM,
                     .caller = harness_thread_id()};
    mproc_iter *it;
    s.in_call = 1;
    assert_ok(
        mproc_pool_imap_lazy(pool, "square", lazy_next, &s, &(mproc_imap_opts){.window = 2}, &it));
    s.in_call = 0;
    for (int i = 0; i < 5; i++) {
        mproc_bytes r = {0};
        int rc = lazy_step(it, &s, &r);
        if (rc != 1)
            fail_msg("next %d: %s (%d), wanted a result", i, mproc_errname(rc), rc);
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        s.consumed++;
    }
    mproc_bytes r = {0};
    assert_rc(lazy_step(it, &s, &r), MPROC_EPERM);
    assert_int_equal(s.produced, 5);
    assert_source_obeyed(&s);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool);
}

/* ---- failures of tasks ------------------------------------------------------------------ */

static void task_failure(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(3);
    assert_rc(mproc_pool_apply(pool, "check_item", args, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "bad item 3");
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);

    assert_rc(mproc_pool_apply(pool, "returns_seven", NULL, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "task 'returns_seven' returned 7");
    mproc_bytes_free(&r);
    /* A task that reads no argument fails with its own text. */
    assert_rc(mproc_pool_apply(pool, "square", NULL, WAIT_MS, &r), MPROC_ETASK);
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
        assert_rc(mproc_pool_map(pool, "check_item", items, chunk, WAIT_MS, results, N),
                  MPROC_ETASK);
        assert_text(&results[0], "bad item 3");
        assert_empty(&results[1], N - 1);
        mproc_bytes_free(&results[0]);
    }
    mproc_async *a;
    assert_ok(
        mproc_pool_map_async(pool, "check_item", items, &(mproc_call_opts){.chunksize = 1}, &a));
    memset(results, 0, sizeof results);
    assert_rc(mproc_async_get(a, WAIT_MS, results), MPROC_ETASK);
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
        assert_ok(mproc_pool_apply_async(pool, "check_item", args, NULL, &calls[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < N; i++) {
        int rc = mproc_async_get(calls[i], WAIT_MS, &r);
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
    assert_ok(mproc_pool_imap(pool, "check_item", items, 1, &it));
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, WAIT_MS, &r);
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
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);

    /* imap_unordered: as many failures, each with its own text. */
    assert_ok(mproc_pool_imap_unordered(pool, "check_item", items, 2, &it));
    int ok = 0, failed = 0, seen_text[N] = {0};
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, WAIT_MS, &r);
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
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    assert_int_equal(ok, N - N / 4);
    assert_int_equal(failed, N / 4);
    for (int x = 3; x < N; x += 4)
        assert_int_equal(seen_text[x], 1);
    mproc_pack_destroy(items);

    /* The pool goes on. */
    args = pack_of(5);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 25);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    mproc_pool_destroy(pool);
}

/* ---- callbacks -------------------------------------------------------------------------- */

typedef struct {
    int index;
    int ran; /* results or error callback done */
    int ok_calls, error_calls;
    int64_t value;
    int code;
    char text[64];
    size_t n;
} cb_slot;

static mproc_pool *cb_pool;
static int64_t cb_parent_pid;
static int cb_inside, cb_overlaps, cb_wrong_pid, cb_bad_results, cb_calls;
static int cb_tids[512];
static mproc_async *cb_chained;
static int cb_chained_rc = 1;

static void cb_enter(void)
{
    if (__atomic_exchange_n(&cb_inside, 1, __ATOMIC_SEQ_CST))
        INC(&cb_overlaps);
    if (mproc_getpid() != cb_parent_pid)
        INC(&cb_wrong_pid);
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

static void on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    cb_slot *s = ctx;
    cb_enter();
    s->ok_calls++;
    s->n = n;
    if (n > 1 && results) /* a map: item i gives i*i */
        __atomic_add_fetch(&cb_bad_results, wrong_squares(results, n), __ATOMIC_SEQ_CST);
    else if (n != 1 || !results || !read_i64(&results[0], &s->value))
        INC(&cb_bad_results);
    if (s->index == 0) { /* a callback may call the pool */
        mproc_pack *args;
        if (mproc_pack_create(&args) == 0) {
            mproc_pack_i64(args, 11);
            cb_chained_rc = mproc_pool_apply_async(cb_pool, "square", args, NULL, &cb_chained);
            mproc_pack_destroy(args);
        }
    }
    cb_leave(s);
}

static void on_error(void *ctx, int code, const char *text)
{
    cb_slot *s = ctx;
    cb_enter();
    s->error_calls++;
    s->code = code;
    snprintf(s->text, sizeof s->text, "%s", text ? text : "(null)");
    cb_leave(s);
}

/* Callbacks run one at a time, on one thread of this process (the pool's result thread:
 * not the caller's, nor a worker thread's), before the waiters are woken. */
static void callbacks(pool_kind kind)
{
    enum { P = 4, N = 40 };
    cb_pool = new_pool(kind, (mproc_pool_opts){.processes = P});
    cb_parent_pid = mproc_getpid();
    int64_t workers[P] = {0};
    if (kind == POOL_THREADS)
        rendezvous(cb_pool, P, workers); /* the pool's worker threads */

    static cb_slot slots[N + 1];
    mproc_async *calls[N + 1];
    for (int i = 0; i < N; i++) {
        slots[i].index = i;
        mproc_pack *args = pack_of(i);
        assert_ok(mproc_pool_apply_async(
            cb_pool, "check_item", args,
            &(mproc_call_opts){.callback = on_result, .error_callback = on_error, .ctx = &slots[i]},
            &calls[i]));
        mproc_pack_destroy(args);
    }
    /* A map's callback gets all its results at once. */
    slots[N].index = N;
    mproc_pack *items = pack_range(0, 30);
    assert_ok(mproc_pool_map_async(
        cb_pool, "square_jitter", items,
        &(mproc_call_opts){
            .chunksize = 2, .callback = on_result, .error_callback = on_error, .ctx = &slots[N]},
        &calls[N]));
    mproc_pack_destroy(items);
    for (int i = 0; i <= N; i++) {
        assert_ok(mproc_async_wait(calls[i], WAIT_MS));
        /* The callback ran before the waiters were woken. */
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
    assert_int_equal(LOAD(&cb_wrong_pid), 0);

    /* The call made from a callback. */
    assert_int_equal(cb_chained_rc, 0);
    mproc_bytes r = {0};
    assert_ok(mproc_async_get(cb_chained, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 121);
    mproc_bytes_free(&r);
    mproc_async_destroy(cb_chained);

    /* A callback for a call that failed because its task returned a code. */
    cb_slot seven = {.index = -1};
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(
        cb_pool, "returns_seven", NULL,
        &(mproc_call_opts){.callback = on_result, .error_callback = on_error, .ctx = &seven}, &a));
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(LOAD(&seven.ran), 1);
    assert_int_equal(seven.error_calls, 1);
    assert_int_equal(seven.code, MPROC_ETASK);
    assert_string_equal(seven.text, "task 'returns_seven' returned 7");
    mproc_async_destroy(a);

    /* Fire and forget (no handle, as Python code that drops the AsyncResult): the calls
     * still run, and their callbacks have run once close + join return. */
    static cb_slot forgotten[3];
    for (int i = 0; i < 3; i++) {
        forgotten[i].index = 10 + i;
        mproc_pack *args = pack_of(10 + i);
        assert_ok(mproc_pool_apply_async(cb_pool, "check_item", args,
                                         &(mproc_call_opts){.callback = on_result,
                                                            .error_callback = on_error,
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

    /* All callbacks ran on one thread, not the caller's (and not a worker thread). */
    int total = LOAD(&cb_calls);
    assert_int_equal(total, N + 1 + 1 + 3);
    assert_int_equal(LOAD(&cb_overlaps), 0);
    int first = LOAD(&cb_tids[0]);
    assert_true(first > 0);
    for (int i = 0; i < total; i++)
        if (LOAD(&cb_tids[i]) != first)
            fail_msg("callback %d ran on thread %d, callback 0 on thread %d", i, LOAD(&cb_tids[i]),
                     first);
    if (first == harness_thread_id())
        fail_msg("%s", "callbacks ran on the caller's thread");
    for (int k = 0; k < P; k++)
        if (first == workers[k])
            fail_msg("callbacks ran on worker thread %d", first);
}

/* ---- timeouts --------------------------------------------------------------------------- */

static void get_timeout(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    gate g;
    gate_init(&g, kind);
    mproc_pack *args = gate_args(&g, 6);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "gate_square", args, NULL, &a));
    mproc_bytes r = {0};
    assert_rc(mproc_async_get(a, 50, &r), MPROC_ETIMEDOUT);
    assert_empty(&r, 1); /* nothing is filled */
    assert_rc(mproc_async_get(a, 0, &r), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    assert_rc(mproc_async_wait(a, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    assert_rc(mproc_async_successful(a), MPROC_ESTATE);
    /* apply with a timeout leaves its task running. */
    assert_rc(mproc_pool_apply(pool, "gate_square", args, 50, &r), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    /* An iterator's next too. */
    mproc_pack *items = new_pack();
    mproc_pack *item = gate_args(&g, 8);
    assert_ok(mproc_pack_pack(items, item));
    mproc_pack_destroy(item);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "gate_square", items, 1, &it));
    mproc_pack_destroy(items);
    assert_rc(mproc_iter_next(it, 50, &r), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    if (kind == POOL_THREADS)
        assert_int_equal(gate_left(&g), 0);

    gate_open(&g);
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(a), 1);
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
    assert_int_equal(as_i64(&r), 64);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_apply(pool, "gate_square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    gate_free(&g);
}

/* map and starmap with a short timeout: MPROC_ETIMEDOUT, nothing filled, and the pool goes
 * on. */
static void map_timeout_leaves_pool_usable(pool_kind kind)
{
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    gate g;
    gate_init(&g, kind);
    enum { N = 40 };
    mproc_pack *items = gate_items(&g, N);
    mproc_bytes results[N] = {{0}};
    assert_rc(mproc_pool_map(pool, "gate_square", items, 1, 100, results, N), MPROC_ETIMEDOUT);
    assert_empty(results, N);
    /* starmap the same way. */
    assert_rc(mproc_pool_starmap(pool, "gate_square", items, 2, 100, results, N), MPROC_ETIMEDOUT);
    assert_empty(results, N);
    gate_open(&g); /* the tasks running end; the rest were dropped */
    mproc_pack_destroy(items);

    items = pack_range(0, N);
    for (int round = 0; round < 2; round++) {
        assert_ok(mproc_pool_map(pool, "square", items, (size_t)round, WAIT_MS, results, N));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
        mproc_bytes_free_array(results, N);
    }
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    gate_free(&g);
}

/* ---- the pool's life -------------------------------------------------------------------- */

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
    gate *gate;
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

/* Worker processes are killed by terminate and destroy; worker threads cannot be: their
 * running tasks go on, join and destroy wait for them. */
static void lifecycle_rules(pool_kind kind)
{
    bool threads = kind == POOL_THREADS;
    mproc_pool *pool;
    mproc_bytes r = {0};
    mproc_async *a;
    mproc_iter *it;
    int64_t pids[8];
    gate g;

    /* join before close: MPROC_ESTATE at once, not a hang. */
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    assert_rc(mproc_pool_join(pool, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_join(pool, 0), MPROC_ESTATE);

    /* close + join completes the work made before close. */
    enum { N = 20 };
    mproc_async *calls[N];
    for (int i = 0; i < N; i++) {
        mproc_pack *args = pack_two(20, i);
        assert_ok(mproc_pool_apply_async(pool, "sleep_square", args, NULL, &calls[i]));
        mproc_pack_destroy(args);
    }
    mproc_pack *items = pack_range(0, 10);
    mproc_async *m;
    assert_ok(mproc_pool_map_async(pool, "square_jitter", items, NULL, &m));
    assert_ok(mproc_pool_close(pool));
    /* No new calls after close. */
    mproc_pack *args = pack_of(2);
    mproc_bytes results[10] = {{0}};
    assert_rc(mproc_pool_apply(pool, "square", args, WAIT_MS, &r), MPROC_ESTATE);
    assert_rc(mproc_pool_apply_async(pool, "square", args, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_map(pool, "square", items, 0, WAIT_MS, results, 10), MPROC_ESTATE);
    assert_rc(mproc_pool_map_async(pool, "square", items, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_imap(pool, "square", items, 0, &it), MPROC_ESTATE);
    assert_rc(mproc_pool_imap_unordered(pool, "square", items, 0, &it), MPROC_ESTATE);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(mproc_async_ready(calls[i]), 1);
        assert_ok(mproc_async_get(calls[i], 0, &r));
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    assert_ok(mproc_async_get(m, 0, results));
    for (int i = 0; i < 10; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 10);
    mproc_async_destroy(m);
    mproc_pool_destroy(pool);

    /* join with a timeout leaves the pool as it was. */
    gate_init(&g, kind);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 1});
    mproc_pack *gated = gate_args(&g, 4);
    assert_ok(mproc_pool_apply_async(pool, "gate_square", gated, NULL, &a));
    assert_ok(mproc_pool_close(pool));
    assert_rc(mproc_pool_join(pool, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    gate_open(&g);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_ok(mproc_async_get(a, 0, &r));
    assert_int_equal(as_i64(&r), 16);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pool_destroy(pool);
    mproc_pack_destroy(gated);
    gate_free(&g);

    /* terminate with calls outstanding: every call not finished fails with MPROC_ECLOSED.
     * Threads: with two tasks running (still blocked) and the others queued; join waits
     * for the running tasks to return, and the queued ones never run. */
    gate_init(&g, kind); /* never opened for processes */
    STORE(&ecl_count, 0);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    gated = gate_args(&g, 5);
    mproc_async *held[5];
    for (int i = 0; i < 5; i++) {
        if (threads && i == 2)
            wait_entered(&g, 2); /* both workers are busy */
        assert_ok(mproc_pool_apply_async(pool, "gate_square", gated,
                                         &(mproc_call_opts){.error_callback = on_error_count},
                                         &held[i]));
    }
    mproc_pack *gated_items = gate_items(&g, 2);
    assert_ok(mproc_pool_map_async(pool, "gate_square", gated_items,
                                   &(mproc_call_opts){.error_callback = on_error_count}, &m));
    mproc_pack_destroy(gated_items);
    if (threads)
        assert_int_equal(mproc_async_ready(held[0]), 0);
    else
        harness_sleep_ms(100); /* some of them are running by now */
    assert_ok(mproc_pool_terminate(pool));
    for (int i = 0; i < 5; i++) {
        int rc = mproc_async_get(held[i], WAIT_MS, &r);
        if (rc != MPROC_ECLOSED)
            fail_msg("call %d (%s) after terminate: %s, wanted MPROC_ECLOSED", i,
                     i < 2 ? "running" : "queued", mproc_errname(rc));
        mproc_bytes_free(&r);
        assert_int_equal(mproc_async_ready(held[i]), 1);
        assert_int_equal(mproc_async_successful(held[i]), 0);
        mproc_async_destroy(held[i]);
    }
    assert_rc(mproc_async_get(m, WAIT_MS, results), MPROC_ECLOSED);
    mproc_bytes_free_array(results, 2);
    mproc_async_destroy(m);
    if (threads)
        assert_int_equal(gate_left(&g), 0); /* all that while, the tasks were blocked */
    assert_int_equal(LOAD(&ecl_count), 6);
    assert_int_equal(LOAD(&ecl_code), MPROC_ECLOSED);
    assert_rc(mproc_pool_apply(pool, "square", args, WAIT_MS, &r), MPROC_ESTATE);
    assert_rc(mproc_pool_apply_async(pool, "square", args, NULL, &a), MPROC_ESTATE);
    if (threads) {
        /* The running tasks cannot be stopped: join waits for them. */
        assert_rc(mproc_pool_join(pool, 50), MPROC_ETIMEDOUT);
        assert_int_equal(gate_left(&g), 0);
        gate_open(&g);
    }
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    if (threads) {
        assert_int_equal(gate_left(&g), 2);    /* join returned after them */
        assert_int_equal(gate_entered(&g), 2); /* the queued calls never ran */
    }
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 0);
    mproc_pool_destroy(pool);
    mproc_pack_destroy(gated);
    gate_free(&g);

    /* Handles outlive the pool: a finished call keeps its result; a call running when the
     * pool is destroyed without close fails with MPROC_ECLOSED (its worker process is
     * killed; a worker thread's task goes on, and destroy returns once it has). */
    gate_init(&g, kind); /* never opened for processes */
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    mproc_async *done, *running;
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &done));
    assert_ok(mproc_async_wait(done, WAIT_MS));
    gated = gate_args(&g, 3);
    assert_ok(mproc_pool_apply_async(pool, "gate_square", gated, NULL, &running));
    mproc_pack_destroy(gated);
    if (threads) {
        wait_entered(&g, 1);
        opener o = {running, &g, 0};
        harness_thread *t = harness_thread_start(open_when_ready, &o);
        mproc_pool_destroy(pool);
        int left_at_destroy = gate_left(&g);
        harness_thread_join(t);
        assert_int_equal(LOAD(&o.was_ready), 1);
        assert_int_equal(left_at_destroy, 1);
    } else {
        mproc_pool_destroy(pool);
    }
    assert_int_equal(mproc_async_ready(done), 1);
    assert_ok(mproc_async_get(done, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 4);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_count(done), 1);
    assert_rc(mproc_async_get(running, WAIT_MS, &r), MPROC_ECLOSED);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_ready(running), 1);
    assert_int_equal(mproc_async_successful(running), 0);
    mproc_async_destroy(done);
    mproc_async_destroy(running);
    gate_free(&g);

    /* An iterator outlives its pool too. */
    pool = new_pool(kind, (mproc_pool_opts){.processes = 1});
    assert_ok(mproc_pool_imap(pool, "square", items, 0, &it));
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
    assert_int_equal(as_i64(&r), 0);
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);
    mproc_iter_destroy(it);

    /* Destroy right after create, after terminate without join, after close without
     * join, and with work queued but no close. */
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    mproc_pool_destroy(pool);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    assert_ok(mproc_pool_terminate(pool));
    mproc_pool_destroy(pool);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    assert_ok(mproc_pool_close(pool));
    mproc_pool_destroy(pool);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    for (int i = 0; i < 10; i++) {
        mproc_pack *s = pack_two(5, i);
        assert_ok(mproc_pool_apply_async(pool, "sleep_square", s, NULL, NULL));
        mproc_pack_destroy(s);
    }
    mproc_pool_destroy(pool);

    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
}

/* ---- bad input -------------------------------------------------------------------------- */

static int never_next(void *ctx, mproc_pack *item)
{
    (void)item;
    ++*(int *)ctx;
    return 0;
}

static void bad_input(pool_kind kind)
{
    bool threads = kind == POOL_THREADS;
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

    assert_rc(pool_create(kind, NULL, NULL), MPROC_EINVAL);
    assert_rc(pool_create(kind, NULL, &(mproc_pool_opts){.processes = 2}), MPROC_EINVAL);
    assert_rc(pool_create(kind, &pool, &(mproc_pool_opts){.initializer = "no_such_task"}),
              MPROC_ENOTASK);

    /* NULL pool. */
    assert_rc(mproc_pool_apply(NULL, "square", args, 1000, &r), MPROC_EINVAL);
    assert_rc(mproc_pool_apply_async(NULL, "square", args, NULL, &a), MPROC_EINVAL);
    assert_rc(mproc_pool_map(NULL, "square", items, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_map_async(NULL, "square", items, NULL, &a), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap(NULL, "multiply", pairs, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap_async(NULL, "multiply", pairs, NULL, &a), MPROC_EINVAL);
    assert_rc(mproc_pool_imap(NULL, "square", items, 0, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_unordered(NULL, "square", items, 0, &it), MPROC_EINVAL);
    int calls = 0;
    assert_rc(mproc_pool_imap_lazy(NULL, "square", never_next, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_close(NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_terminate(NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_join(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_pool_size(NULL), MPROC_EINVAL);
    int64_t pids[8];
    assert_rc(mproc_pool_workers(NULL, pids, 8), MPROC_EINVAL);
    mproc_pool_destroy(NULL);

    /* NULL handles of results. */
    assert_rc(mproc_iter_next(NULL, 0, &r), MPROC_EINVAL);
    assert_rc(mproc_async_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_async_ready(NULL), MPROC_EINVAL);
    assert_rc(mproc_async_successful(NULL), MPROC_EINVAL);
    assert_rc(mproc_async_get(NULL, 0, &r), MPROC_EINVAL);
    mproc_async_destroy(NULL);
    mproc_iter_destroy(NULL);
    mproc_bytes_free_array(NULL, 0);

    pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    assert_int_equal(mproc_pool_size(pool), 3);
    wait_workers(pool, kind, 3, 0);
    int64_t one[1] = {0};
    assert_int_equal(mproc_pool_workers(pool, one, 1), 3); /* how many, though cap is 1 */
    if (threads) /* each worker thread is listed with this process's pid */
        assert_int_equal(one[0], mproc_getpid());
    else
        assert_true(one[0] > 0);

    /* NULL task or out; results for as many entries as items. */
    assert_rc(mproc_pool_apply(pool, NULL, args, 1000, &r), MPROC_EINVAL);
    assert_rc(mproc_pool_apply(pool, "square", args, 1000, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_apply_async(pool, NULL, args, NULL, &a), MPROC_EINVAL);
    /* No handle is fire and forget (see callbacks for the proof that such calls run). */
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, NULL));
    assert_rc(mproc_pool_map(pool, NULL, items, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", items, 0, 1000, NULL, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", NULL, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", items, 0, 1000, results, 5), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", items, 0, 1000, results, 3), MPROC_EINVAL);
    assert_rc(mproc_pool_map_async(pool, NULL, items, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_map_async(pool, "square", items, NULL, NULL));
    assert_rc(mproc_pool_starmap(pool, NULL, pairs, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap(pool, "multiply", pairs, 0, 1000, NULL, 4), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap_async(pool, NULL, pairs, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_starmap_async(pool, "multiply", pairs, NULL, NULL));
    assert_rc(mproc_pool_imap(pool, NULL, items, 0, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap(pool, "square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_unordered(pool, "square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, NULL, never_next, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "square", NULL, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "square", never_next, &calls, NULL, NULL), MPROC_EINVAL);

    /* starmap: a field that is not a pack is MPROC_ETYPE. */
    mproc_pack *not_pairs = pack_range(0, 4);
    assert_rc(mproc_pool_starmap(pool, "multiply", not_pairs, 0, WAIT_MS, results, 4), MPROC_ETYPE);
    mproc_pack_destroy(not_pairs);

    /* Unknown task names: at the call. */
    assert_rc(mproc_pool_apply(pool, "no_such_task", args, 1000, &r), MPROC_ENOTASK);
    assert_rc(mproc_pool_apply_async(pool, "no_such_task", args, NULL, &a), MPROC_ENOTASK);
    assert_rc(mproc_pool_map(pool, "no_such_task", items, 0, 1000, results, 4), MPROC_ENOTASK);
    assert_rc(mproc_pool_map_async(pool, "no_such_task", items, NULL, &a), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap(pool, "no_such_task", items, 0, &it), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap_unordered(pool, "no_such_task", items, 0, &it), MPROC_ENOTASK);
    assert_rc(mproc_pool_imap_lazy(pool, "no_such_task", never_next, &calls, NULL, &it),
              MPROC_ENOTASK);
    assert_rc(mproc_pool_starmap(pool, "no_such_task", pairs, 0, 1000, results, 4), MPROC_ENOTASK);
    assert_rc(mproc_pool_starmap_async(pool, "no_such_task", pairs, NULL, &a), MPROC_ENOTASK);
    assert_int_equal(calls, 0); /* no source was read for a refused call */

    /* A live pool's results: NULL where results go. */
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &a));
    assert_rc(mproc_async_get(a, WAIT_MS, NULL), MPROC_EINVAL);
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_imap(pool, "square", items, 0, &it));
    assert_rc(mproc_iter_next(it, WAIT_MS, NULL), MPROC_EINVAL);
    mproc_iter_destroy(it);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    /* processes <= 0: mproc_cpu_count_usable(); opts NULL too. */
    int cpus = mproc_cpu_count_usable();
    assert_true(cpus >= 1);
    assert_ok(pool_create(kind, &pool, NULL));
    assert_int_equal(mproc_pool_size(pool), cpus);
    wait_workers(pool, kind, cpus, 0);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);
    pool = new_pool(kind, (mproc_pool_opts){.processes = 0});
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);
    pool = new_pool(kind, (mproc_pool_opts){.processes = -5});
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);
    if (threads) {
        /* opts.ctx is ignored by the thread pool. */
        mproc_context *ctx = NULL;
        assert_ok(mproc_context_get(&ctx, MPROC_SPAWN));
        pool = new_pool(kind, (mproc_pool_opts){.processes = 2, .ctx = ctx});
        assert_ok(mproc_pool_apply(pool, "worker_pid", NULL, WAIT_MS, &r));
        assert_int_equal(as_i64(&r), mproc_getpid());
        mproc_bytes_free(&r);
        mproc_pool_destroy(pool);
    }

    mproc_pack_destroy(args);
    mproc_pack_destroy(items);
    mproc_pack_destroy(pairs);
}

/* ---- a pool used from several threads at once ------------------------------------------- */

typedef struct {
    mproc_pool *pool;
    int base, rounds, bad;
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
    for (int round = 0; round < w->rounds; round++) {
        mproc_bytes results[100] = {{0}};
        int rc =
            mproc_pool_map(w->pool, "square", items, (size_t)(round % 5), WAIT_MS, results, 100);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        for (int i = 0; i < 100; i++) {
            int64_t v = -1, x = w->base + i;
            if (!read_i64(&results[i], &v))
                v = -1;
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
        rc = mproc_pool_apply_async(w->pool, "square", args, NULL, &a);
        mproc_pack_destroy(args);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        mproc_bytes r = {0};
        rc = mproc_async_get(a, WAIT_MS, &r);
        int64_t y = -1;
        if (rc != 0 || !read_i64(&r, &y) || y != (int64_t)w->base * w->base)
            w->bad = 2000;
        mproc_bytes_free(&r);
        mproc_async_destroy(a);
        mproc_iter *it;
        rc = mproc_pool_imap(w->pool, "square", items, 3, &it);
        if (rc != 0) {
            w->bad = rc;
            break;
        }
        for (int i = 0; i < 100; i++) {
            int64_t x = w->base + i;
            rc = mproc_iter_next(it, WAIT_MS, &r);
            if (rc != 1 || !read_i64(&r, &y) || y != x * x)
                w->bad = 3000 + i;
            mproc_bytes_free(&r);
        }
        mproc_iter_destroy(it);
    }
    mproc_pack_destroy(items);
}

static void used_from_threads(pool_kind kind)
{
    /* Rounds per thread of a map, an apply_async and an imap: fewer through worker
     * processes, which cost more (the more so under Wine). */
    int rounds = kind == POOL_THREADS ? 20 : 5;
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 3});
    thread_work work[4];
    harness_thread *threads[4];
    for (int i = 0; i < 4; i++) {
        work[i] = (thread_work){pool, i * 1000, rounds, 0};
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

/* ---- an initializer that fails --------------------------------------------------------- */

/* Every call then fails with the initializer's text. */
static void initializer_failure(pool_kind kind)
{
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(4);
    mproc_pool *pool =
        new_pool(kind, (mproc_pool_opts){.processes = 2, .initializer = "init_fails"});
    assert_rc(mproc_pool_apply(pool, "square", args, WAIT_MS, &r), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &a));
    assert_rc(mproc_async_get(a, WAIT_MS, &r), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(a), 0);
    mproc_async_destroy(a);
    mproc_pack *items = pack_range(0, 5);
    mproc_bytes results[5] = {{0}};
    assert_rc(mproc_pool_map(pool, "square", items, 0, WAIT_MS, results, 5), MPROC_ETASK);
    assert_text_has(&results[0], "init broke 42");
    assert_empty(&results[1], 4);
    mproc_bytes_free(&results[0]);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "square", items, 1, &it));
    assert_rc(mproc_iter_next(it, WAIT_MS, &r), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool); /* without close */

    /* Failing with a code and no text; close + join end it too. */
    pool = new_pool(kind, (mproc_pool_opts){.processes = 1, .initializer = "init_returns_five"});
    assert_rc(mproc_pool_apply(pool, "square", args, WAIT_MS, &r), MPROC_ETASK);
    assert_text_has(&r, "returned 5");
    mproc_bytes_free(&r);
    assert_rc(mproc_pool_map(pool, "square", items, 1, WAIT_MS, results, 5), MPROC_ETASK);
    assert_text_has(&results[0], "returned 5");
    assert_empty(&results[1], 4);
    mproc_bytes_free(&results[0]);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
}

/* ---- maxtasksperchild ------------------------------------------------------------------- */

/* A worker ends after 2 tasks and a new one takes its place (a new thread runs the
 * initializer too). */
static void maxtasksperchild(pool_kind kind)
{
    bool threads = kind == POOL_THREADS;
    if (!replaces_workers_under(kind))
        return;
    enum { N = 20 };
    mproc_pool_opts opts = {.processes = 2, .maxtasksperchild = 2};
    mproc_pack *initargs = pack_of(5);
    if (threads) {
        STORE(&init_calls, 0);
        opts.initializer = "init_tls";
        opts.initargs = initargs;
    }
    mproc_pool *pool;
    bool here = pool_under(&pool, kind, opts);
    mproc_pack_destroy(initargs);
    if (!here)
        return;
    mproc_async *calls[N];
    for (int i = 0; i < N; i++)
        assert_ok(mproc_pool_apply_async(pool, threads ? "read_init" : "worker_pid", NULL, NULL,
                                         &calls[i]));
    int64_t seen[N];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], WAIT_MS, &r);
        if (rc != 0)
            fail_msg("call %d: %s: %s", i, mproc_errname(rc), r.data ? (char *)r.data : "");
        int64_t worker; /* a pid, or a thread's id */
        if (threads) {
            int64_t tag;
            as_pair(&r, &tag, &worker);
            assert_int_equal(tag, 5);
            assert_int_not_equal(worker, harness_thread_id());
        } else {
            worker = as_i64(&r);
        }
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
        bool known = false;
        for (int k = 0; k < distinct; k++)
            known |= seen[k] == worker;
        if (!known)
            seen[distinct++] = worker;
    }
    if (distinct < N / 2)
        fail_msg("%d distinct workers ran %d tasks, 2 each at most", distinct, N);
    if (threads && LOAD(&init_calls) < distinct)
        fail_msg("%d threads ran tasks, the initializer ran %d times", distinct, LOAD(&init_calls));
    wait_workers(pool, kind, 2, 0);

    /* A map chunk counts as one task. */
    mproc_pack *items = pack_range(0, 12);
    mproc_bytes results[12] = {{0}};
    assert_ok(mproc_pool_map(pool, "square", items, 3, WAIT_MS, results, 12));
    for (int i = 0; i < 12; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 12);
    mproc_pack_destroy(items);
    wait_workers(pool, kind, 2, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    int64_t pids[4];
    assert_int_equal(mproc_pool_workers(pool, pids, 4), 0);
    mproc_pool_destroy(pool);
}

/* ---- objects among task arguments ------------------------------------------------------ */

static void close_objects(mproc_queue *q, mproc_lock *lock, mproc_value *v, mproc_conn *reader,
                          mproc_conn *writer)
{
    mproc_conn_destroy(reader);
    mproc_conn_destroy(writer);
    mproc_value_destroy(v);
    mproc_lock_destroy(lock);
    mproc_queue_destroy(q);
}

/* Queues, locks, values and pipe ends among the arguments of apply_async, map and starmap. */
static void objects_in_task_args(pool_kind kind)
{
    mproc_queue *q;
    mproc_lock *lock;
    mproc_value *v;
    mproc_conn *reader, *writer;
    assert_ok(mproc_queue_create(&q, 0));
    assert_ok(mproc_lock_create(&lock));
    assert_ok(mproc_value_create(&v, MPROC_T_LONGLONG, false));
    assert_ok(mproc_pipe(&reader, &writer, false));
    mproc_pool *pool;
    if (!pool_under(&pool, kind, (mproc_pool_opts){.processes = 3})) {
        close_objects(q, lock, v, reader, writer);
        return;
    }

    enum { A = 10, M = 15, S = 12 };
    int64_t want_sum = 0;
    /* apply_async: the objects are among the args. */
    mproc_async *calls[A];
    for (int i = 0; i < A; i++) {
        mproc_pack *args = new_pack();
        assert_ok(mproc_pack_handle(args, q));
        assert_ok(mproc_pack_handle(args, lock));
        assert_ok(mproc_pack_handle(args, v));
        assert_ok(mproc_pack_handle(args, writer));
        assert_ok(mproc_pack_i64(args, i + 1));
        want_sum += i + 1;
        assert_ok(mproc_pool_apply_async(pool, "use_objects", args, NULL, &calls[i]));
        mproc_pack_destroy(args); /* copied with its objects */
    }
    /* map: each item is a tuple holding the objects; starmap: its fields are the args. */
    mproc_pack *items = new_pack(), *star = new_pack();
    for (int i = 0; i < M; i++) {
        mproc_pack *t = new_pack();
        assert_ok(mproc_pack_handle(t, q));
        assert_ok(mproc_pack_handle(t, lock));
        assert_ok(mproc_pack_handle(t, v));
        assert_ok(mproc_pack_handle(t, writer));
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
        assert_ok(mproc_pack_handle(t, writer));
        assert_ok(mproc_pack_i64(t, 1000 + i));
        want_sum += 1000 + i;
        assert_ok(mproc_pack_pack(star, t));
        mproc_pack_destroy(t);
    }
    mproc_bytes results[M] = {{0}};
    int rc = mproc_pool_map(pool, "use_objects", items, 2, WAIT_MS, results, M);
    if (rc != 0)
        fail_msg("map: %s: %s", mproc_errname(rc),
                 results[0].data ? (const char *)results[0].data : "");
    for (int i = 0; i < M; i++)
        assert_int_equal(as_i64(&results[i]), 100 + i);
    mproc_bytes_free_array(results, M);
    rc = mproc_pool_starmap(pool, "use_objects", star, 1, WAIT_MS, results, S);
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
        rc = mproc_async_get(calls[i], WAIT_MS, &r);
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

    /* Every task put, added and sent once. */
    int64_t total = -1;
    assert_ok(mproc_value_get_i64(v, &total));
    assert_int_equal(total, want_sum);
    int64_t qsum = 0, psum = 0;
    for (int i = 0; i < A + M + S; i++) {
        mproc_bytes m;
        assert_ok(mproc_queue_get(q, WAIT_MS, &m));
        assert_int_equal(m.len, 8);
        int64_t x;
        memcpy(&x, m.data, 8);
        qsum += x;
        mproc_bytes_free(&m);
        assert_ok(mproc_conn_recv(reader, WAIT_MS, &m));
        assert_int_equal(m.len, 8);
        memcpy(&x, m.data, 8);
        psum += x;
        mproc_bytes_free(&m);
    }
    assert_int_equal(qsum, want_sum);
    assert_int_equal(psum, want_sum);
    assert_int_equal(qsize_of(q), 0);
    assert_int_equal(mproc_conn_poll(reader, 0), MPROC_ETIMEDOUT);
    /* The test's own handles still work: the tasks destroyed only their copies. */
    assert_ok(mproc_lock_acquire(lock, WAIT_MS));
    assert_ok(mproc_lock_release(lock));
    close_objects(q, lock, v, reader, writer);
}

/* ---- typed results, the failure text, pack literals (API 1.0) -------------------------- */

/* A success callback: the call's one result is typed_result(6). */
static int typed_cb_ok;
static void on_typed_result(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    int64_t sq = 0, a = 0, b = 0;
    const char *name = NULL;
    double half = 0;
    mproc_bytes raw = {0};
    mproc_unpacker pair;
    if (n == 1 && MPROC_UNPACK(&results[0], &sq, &name, &half, &raw, &pair) == 0 && sq == 36 &&
        strcmp(name, "square") == 0 && half == 3.0 && raw.len == 3 &&
        mproc_unpack_i64(&pair, &a) == 0 && mproc_unpack_i64(&pair, &b) == 0 && a == 6 && b == -6)
        STORE(&typed_cb_ok, 1);
    else
        STORE(&typed_cb_ok, -1);
}

/* A task's result is the pack it wrote, read with MPROC_UNPACK from every kind of call. */
static void typed_results(pool_kind kind)
{
    enum { N = 12 };
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "typed_result", MPROC_ARGS(5), WAIT_MS, &r));
    check_typed_result(&r, 5);
    mproc_bytes_free(&r);

    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "typed_result", MPROC_ARGS(-3), NULL, &a));
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    check_typed_result(&r, -3);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    STORE(&typed_cb_ok, 0);
    assert_ok(mproc_pool_apply_async(pool, "typed_result", MPROC_ARGS(6),
                                     &(mproc_call_opts){.callback = on_typed_result}, &a));
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(LOAD(&typed_cb_ok), 1);
    mproc_async_destroy(a);

    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N];
    assert_ok(mproc_pool_map(pool, "typed_result", items, 0, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        check_typed_result(&results[i], i);
    mproc_bytes_free_array(results, N);

    assert_ok(
        mproc_pool_map_async(pool, "typed_result", items, &(mproc_call_opts){.chunksize = 5}, &a));
    assert_int_equal(mproc_async_count(a), N);
    assert_ok(mproc_async_get(a, WAIT_MS, results));
    for (int i = 0; i < N; i++)
        check_typed_result(&results[i], i);
    mproc_bytes_free_array(results, N);
    mproc_async_destroy(a);

    for (int unordered = 0; unordered < 2; unordered++) {
        mproc_iter *it;
        if (unordered)
            assert_ok(mproc_pool_imap_unordered(pool, "typed_result", items, 2, &it));
        else
            assert_ok(mproc_pool_imap(pool, "typed_result", items, 2, &it));
        bool seen[N] = {false};
        for (int i = 0; i < N; i++) {
            assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
            int64_t sq = -1;
            assert_ok(MPROC_UNPACK(&r, &sq, NULL, NULL, NULL, NULL)); /* NULL: skip a field */
            int64_t x = 0;
            while (x < N && x * x != sq)
                x++;
            assert_true(x < N);
            if (!unordered)
                assert_int_equal(x, i);
            check_typed_result(&r, x);
            assert_false(seen[x]);
            seen[x] = true;
            mproc_bytes_free(&r);
        }
        assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
        mproc_iter_destroy(it);
    }
    mproc_pack_destroy(items);

    /* starmap: each item's fields are the task's arguments, and the result comes typed. */
    assert_ok(mproc_pool_starmap(pool, "echo_three",
                                 MPROC_ARGS(MPROC_ARGS(1, "one", 1.5), MPROC_ARGS(2, "two", 2.5)),
                                 0, WAIT_MS, results, 2));
    for (int i = 0; i < 2; i++) {
        int64_t x = 0;
        const char *name = NULL;
        double d = 0;
        assert_ok(MPROC_UNPACK(&results[i], &x, &name, &d));
        assert_int_equal(x, i + 1);
        assert_string_equal(name, i ? "two" : "one");
        assert_true(d == i + 1.5);
    }
    mproc_bytes_free_array(results, 2);
    mproc_pool_destroy(pool);
}

/* The error text of a failed task: the one STR of `out` (mproc_task_fail resets `out` first),
 * else "task 'name' returned N"; a result with OS handles is refused. */
static int failure_cb_code;
static char failure_cb_text[128];
static void on_failure_text(void *ctx, int code, const char *text)
{
    (void)ctx;
    snprintf(failure_cb_text, sizeof failure_cb_text, "%s", text);
    STORE(&failure_cb_code, code);
}

static void failure_text_rule(pool_kind kind)
{
    static const char *const want[] = {
        "failed after a result",        "one string by hand",
        "task 'fail_with' returned 3",  "task 'fail_with' returned 4",
        "task 'fail_with' returned -5",
    };
    enum { MODES = sizeof want / sizeof want[0] };
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    mproc_bytes r = {0};
    for (int64_t mode = 0; mode < MODES; mode++) {
        assert_rc(mproc_pool_apply(pool, "fail_with", MPROC_ARGS(mode), WAIT_MS, &r), MPROC_ETASK);
        assert_text(&r, want[mode]);
        mproc_bytes_free(&r);
        /* the same text through an error callback, and from an iterator */
        mproc_async *a;
        STORE(&failure_cb_code, 0);
        assert_ok(mproc_pool_apply_async(pool, "fail_with", MPROC_ARGS(mode),
                                         &(mproc_call_opts){.error_callback = on_failure_text},
                                         &a));
        assert_rc(mproc_async_get(a, WAIT_MS, &r), MPROC_ETASK);
        assert_text(&r, want[mode]);
        mproc_bytes_free(&r);
        assert_int_equal(LOAD(&failure_cb_code), MPROC_ETASK);
        assert_string_equal(failure_cb_text, want[mode]);
        mproc_async_destroy(a);
    }
    /* a map: the first failure in item order, its text in results[0], the rest empty */
    mproc_bytes results[MODES];
    assert_rc(mproc_pool_map(pool, "fail_with", MPROC_ARGS(3, 2, 1), 1, WAIT_MS, results, 3),
              MPROC_ETASK);
    assert_text(&results[0], want[3]);
    assert_empty(&results[1], 2);
    mproc_bytes_free_array(results, 3);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "fail_with", MPROC_ARGS(1, 4), 1, &it));
    assert_rc(mproc_iter_next(it, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, want[1]);
    mproc_bytes_free(&r);
    assert_rc(mproc_iter_next(it, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, want[4]);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);

    /* A result holding an object's OS handles cannot travel back: MPROC_ENOTSUP, with a
     * text; the pool goes on. */
    assert_rc(mproc_pool_apply(pool, "result_with_lock", NULL, WAIT_MS, &r), MPROC_ENOTSUP);
    assert_text(&r, "task 'result_with_lock' returned objects with OS handles in its result");
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply(pool, "square", MPROC_ARGS(4), WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 16);
    mproc_bytes_free(&r);

    /* mproc_task_fail on its own: it resets `out` and packs one STR; 1 always. */
    mproc_pack *out = new_pack();
    assert_ok(MPROC_PACK(out, 1, 2, 3));
    assert_int_equal(mproc_task_fail(out, "no %s", "luck"), 1);
    assert_int_equal(mproc_pack_count(out), 1);
    mproc_bytes view;
    const char *text = NULL;
    assert_ok(mproc_pack_view(out, &view));
    assert_ok(MPROC_UNPACK(&view, &text));
    assert_string_equal(text, "no luck");
    mproc_pack_destroy(out);
    assert_int_equal(mproc_task_fail(NULL, "nowhere"), 1);
    mproc_pool_destroy(pool);
}

/* MPROC_ARGS(...) is taken wherever a const mproc_pack * is: apply's args, the map
 * family's items, the initializer's initargs. */
static void pack_literals_everywhere(pool_kind kind)
{
    mproc_pool *pool = new_pool(
        kind,
        (mproc_pool_opts){.processes = 2, .initializer = "init_tls", .initargs = MPROC_ARGS(77)});
    mproc_bytes r = {0};
    int64_t tag = 0, tid = 0;
    assert_ok(mproc_pool_apply(pool, "read_init", NULL, WAIT_MS, &r));
    as_pair(&r, &tag, &tid);
    assert_int_equal(tag, 77);
    mproc_bytes_free(&r);

    assert_ok(mproc_pool_apply(pool, "multiply", MPROC_ARGS(6, 7), WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply(pool, "echo_three", MPROC_ARGS(-1, "x", 0.25), WAIT_MS, &r));
    int64_t a = 0;
    const char *str = NULL;
    double d = 0;
    assert_ok(MPROC_UNPACK(&r, &a, &str, &d));
    assert_int_equal(a, -1);
    assert_string_equal(str, "x");
    assert_true(d == 0.25);
    mproc_bytes_free(&r);

    mproc_async *call;
    assert_ok(mproc_pool_apply_async(pool, "square", MPROC_ARGS(9), NULL, &call));
    assert_ok(mproc_async_get(call, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 81);
    mproc_bytes_free(&r);
    mproc_async_destroy(call);

    mproc_bytes results[4];
    assert_ok(mproc_pool_map(pool, "square", MPROC_ARGS(0, 1, 2, 3), 0, WAIT_MS, results, 4));
    assert_int_equal(wrong_squares(results, 4), 0);
    mproc_bytes_free_array(results, 4);
    /* n is checked against the literal's count too */
    assert_rc(mproc_pool_map(pool, "square", MPROC_ARGS(0, 1, 2), 0, WAIT_MS, results, 4),
              MPROC_EINVAL);
    assert_ok(mproc_pool_map_async(pool, "square", MPROC_ARGS(0, 1, 2, 3), NULL, &call));
    assert_ok(mproc_async_get(call, WAIT_MS, results));
    assert_int_equal(wrong_squares(results, 4), 0);
    mproc_bytes_free_array(results, 4);
    mproc_async_destroy(call);

    assert_ok(mproc_pool_starmap(pool, "multiply", MPROC_ARGS(MPROC_ARGS(2, 3), MPROC_ARGS(4, 5)),
                                 0, WAIT_MS, results, 2));
    assert_int_equal(as_i64(&results[0]), 6);
    assert_int_equal(as_i64(&results[1]), 20);
    mproc_bytes_free_array(results, 2);
    assert_ok(
        mproc_pool_starmap_async(pool, "multiply", MPROC_ARGS(MPROC_ARGS(3, 3)), NULL, &call));
    assert_ok(mproc_async_get(call, WAIT_MS, results));
    assert_int_equal(as_i64(&results[0]), 9);
    mproc_bytes_free_array(results, 1);
    mproc_async_destroy(call);
    /* a starmap item that is not a pack: MPROC_ETYPE, as for a pack */
    assert_rc(mproc_pool_starmap(pool, "multiply", MPROC_ARGS(MPROC_ARGS(2, 3), 4), 0, WAIT_MS,
                                 results, 2),
              MPROC_ETYPE);

    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "square", MPROC_ARGS(5, 6, 7), 1, &it));
    for (int64_t x = 5; x <= 7; x++) {
        assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
        assert_int_equal(as_i64(&r), x * x);
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 0);
    mproc_iter_destroy(it);
    assert_ok(mproc_pool_imap_unordered(pool, "square", MPROC_ARGS(8), 1, &it));
    assert_int_equal(mproc_iter_next(it, WAIT_MS, &r), 1);
    assert_int_equal(as_i64(&r), 64);
    mproc_bytes_free(&r);
    mproc_iter_destroy(it);

    /* A shareable object in a literal travels as in a pack. */
    mproc_value *v;
    assert_ok(mproc_value_create(&v, MPROC_T_LONGLONG, true));
    assert_ok(mproc_value_set_i64(v, 11));
    assert_ok(mproc_pool_apply(pool, "add_to_value", MPROC_ARGS(v, 31), WAIT_MS, &r));
    assert_int_equal(r.len, 0); /* a task that writes nothing: empty bytes (an empty pack) */
    mproc_bytes_free(&r);
    int64_t got = 0;
    assert_ok(mproc_value_get_i64(v, &got));
    assert_int_equal(got, 42);
    mproc_value_destroy(v);
    mproc_pool_destroy(pool);
}

/* ---- large data ------------------------------------------------------------------------ */

static void large_args_and_results(pool_kind kind)
{
    enum { BIG = 40 << 20 };
    mproc_pool *pool = new_pool(kind, (mproc_pool_opts){.processes = 2});
    uint8_t *buf = malloc(BIG);
    assert_non_null(buf);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = pattern_at(i, 5);
    uint64_t want = checksum(buf, BIG);
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_bytes(args, buf, BIG));
    free(buf);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "checksum_bytes", args, 2 * WAIT_MS, &r));
    int64_t got[2];
    assert_ok(MPROC_UNPACK(&r, &got[0], &got[1]));
    assert_int_equal(got[0], BIG);
    assert_true((uint64_t)got[1] == want);
    mproc_bytes_free(&r);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "checksum_bytes", args, NULL, &a));
    mproc_pack_destroy(args);
    assert_ok(mproc_async_get(a, 2 * WAIT_MS, &r));
    assert_ok(MPROC_UNPACK(&r, &got[0], &got[1]));
    assert_int_equal(got[0], BIG);
    assert_true((uint64_t)got[1] == want);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    args = pack_two(BIG, 9);
    assert_ok(mproc_pool_apply(pool, "make_big", args, 2 * WAIT_MS, &r));
    mproc_bytes big;
    assert_ok(MPROC_UNPACK(&r, &big));
    assert_int_equal(big.len, BIG);
    for (size_t i = 0; i < BIG; i++)
        if (((uint8_t *)big.data)[i] != pattern_at(i, 9))
            fail_msg("byte %llu differs", (unsigned long long)i);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    /* Two at once, through a map. */
    mproc_pack *items = new_pack();
    for (int i = 0; i < 2; i++) {
        mproc_pack *t = pack_two(BIG / 2 + i, 20 + i);
        assert_ok(mproc_pack_pack(items, t));
        mproc_pack_destroy(t);
    }
    mproc_bytes results[2] = {{0}};
    assert_ok(mproc_pool_starmap(pool, "make_big", items, 1, 2 * WAIT_MS, results, 2));
    for (int k = 0; k < 2; k++) {
        assert_ok(MPROC_UNPACK(&results[k], &big));
        assert_int_equal(big.len, BIG / 2 + k);
        for (size_t i = 0; i < big.len; i++)
            if (((uint8_t *)big.data)[i] != pattern_at(i, 20 + (uint32_t)k))
                fail_msg("result %d: byte %llu differs", k, (unsigned long long)i);
    }
    mproc_bytes_free_array(results, 2);
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, 2 * WAIT_MS));
    mproc_pool_destroy(pool);
}

#endif
