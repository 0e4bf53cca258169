/* Pool: apply/map/starmap/imap (ordered, unordered, lazy with backpressure), results and
 * errors of tasks, callbacks, timeouts, the pool's life (close, terminate, join, destroy),
 * bad input; under every start method: worker names, workers killed or exiting inside a
 * task, maxtasksperchild, an initializer with a queue, objects among task arguments; an
 * initializer that fails, large arguments and results, and workers killed at random during
 * big maps. The harness checks after every case that no fd/handle, child or shm name
 * leaked, so every case destroys its pool and its objects. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every blocking call of the tests is bounded by this much (ms). */
#define WAIT_MS 60000

/* ---- helpers for tasks ----------------------------------------------------------------------- */

/* A pattern that depends on position and seed. */
static uint8_t pattern_at(size_t i, uint32_t seed)
{
    return (uint8_t)(seed * 131u + i * 7u + (i >> 12));
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- tasks -------------------------------------------------------------------------------- */

/* (x) -> x*x, 8 bytes. */
MPROC_TASK(square, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    return put_i64(out, x * x);
}

/* () -> 42. */
MPROC_TASK(answer, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_peek(&u) != 0)
        return mproc_task_fail(out, "wanted no arguments");
    return put_i64(out, 42);
}

/* (x) -> x*x after a pause that varies with x (0..6 ms), so that results finish out of
 * order. */
MPROC_TASK(square_jitter, in, out)
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
MPROC_TASK(multiply, in, out)
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
MPROC_TASK(check_item, in, out)
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
MPROC_TASK(returns_seven, in, out)
{
    (void)in;
    (void)out;
    return 7;
}

/* (path, x) -> x*x once the file at path exists (60 s at most). */
MPROC_TASK(gate_square, in, out)
{
    mproc_unpacker u;
    const char *path;
    int64_t x, v;
    open_args(&u, in);
    if (mproc_unpack_str(&u, &path) || mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "wanted (path, x)");
    if (!harness_read_i64(path, &v, WAIT_MS))
        return mproc_task_fail(out, "gate never opened");
    return put_i64(out, x * x);
}

/* (ms, x) -> x*x after ms. */
MPROC_TASK(sleep_square, in, out)
{
    mproc_unpacker u;
    int64_t ms, x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &ms) || mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "wanted (ms, x)");
    harness_sleep_ms(ms);
    return put_i64(out, x * x);
}

/* (x) -> x*x after about 1 ms. */
MPROC_TASK(busy_square, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    harness_sleep_ms(1);
    return put_i64(out, x * x);
}

/* () -> the worker's name, NUL included. */
MPROC_TASK(worker_name, in, out)
{
    (void)in;
    return put_text(out, mproc_current_name());
}

/* () -> the worker's pid. */
MPROC_TASK(worker_pid, in, out)
{
    (void)in;
    return put_i64(out, mproc_getpid());
}

/* (path): writes the worker's pid to path, then waits to be killed. */
MPROC_TASK(pid_then_sleep, in, out)
{
    mproc_unpacker u;
    const char *path;
    open_args(&u, in);
    if (mproc_unpack_str(&u, &path))
        return mproc_task_fail(out, "wanted a path");
    harness_write_i64(path, mproc_getpid());
    harness_sleep_ms(100000);
    return mproc_task_fail(out, "was not killed");
}

MPROC_TASK(exit_three, in, out)
{
    (void)in;
    (void)out;
    exit(3);
}

/* Initializer (queue, tag): keeps both for the tasks, and says so in the queue. */
static mproc_queue *init_queue;
static int64_t init_tag = -1;
MPROC_TASK(init_store_queue, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &init_queue) || mproc_unpack_i64(&u, &init_tag))
        return mproc_task_fail(out, "initializer wanted (queue, tag)");
    int64_t msg[2] = {-1, mproc_getpid()};
    if (mproc_queue_put(init_queue, msg, sizeof msg, WAIT_MS) != 0)
        return mproc_task_fail(out, "initializer could not put");
    return 0;
}

/* (x): puts (x, tag) into the initializer's queue; no result. */
MPROC_TASK(put_via_init_queue, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    if (!init_queue)
        return mproc_task_fail(out, "the initializer did not run");
    int64_t msg[2] = {x, init_tag};
    if (mproc_queue_put(init_queue, msg, sizeof msg, WAIT_MS) != 0)
        return mproc_task_fail(out, "put failed");
    return 0;
}

MPROC_TASK(init_fails, in, out)
{
    (void)in;
    return mproc_task_fail(out, "init broke %d", 42);
}

MPROC_TASK(init_returns_five, in, out)
{
    (void)in;
    (void)out;
    return 5;
}

/* (queue, lock, value, conn, x): puts x into the queue, adds x to the value under the lock
 * (a read then a write: only the lock makes the total exact), sends x on the pipe end;
 * returns x. */
MPROC_TASK(use_objects, in, out)
{
    mproc_unpacker u;
    mproc_queue *q = NULL;
    mproc_lock *lock = NULL;
    mproc_value *v = NULL;
    mproc_conn *c = NULL;
    int64_t x;
    int rc = 0;
    open_args(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_lock(&u, &lock) ||
        mproc_unpack_value(&u, &v) || mproc_unpack_conn(&u, &c) || mproc_unpack_i64(&u, &x)) {
        rc = mproc_task_fail(out, "wanted (queue, lock, value, conn, x)");
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
    volatile int64_t *total = mproc_value_data(v);
    int64_t seen = *total;
    harness_sleep_ms(1);
    *total = seen + x;
    mproc_lock_release(lock);
    if (mproc_conn_send(c, &x, sizeof x, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "send failed");
        goto done;
    }
    rc = put_i64(out, x);
done:
    if (q)
        mproc_queue_destroy(q);
    if (lock)
        mproc_lock_destroy(lock);
    if (v)
        mproc_value_destroy(v);
    if (c)
        mproc_conn_close(c);
    return rc;
}

/* (bytes) -> (length, checksum), 16 bytes. */
MPROC_TASK(checksum_bytes, in, out)
{
    mproc_unpacker u;
    const void *data;
    size_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_bytes(&u, &data, &n))
        return mproc_task_fail(out, "wanted bytes");
    uint64_t r[2] = {n, checksum(data, n)};
    out->data = mproc_malloc(sizeof r);
    if (!out->data)
        return mproc_task_fail(out, "out of memory");
    memcpy(out->data, r, sizeof r);
    out->len = sizeof r;
    return 0;
}

/* (size, seed) -> size bytes of the pattern. */
MPROC_TASK(make_big, in, out)
{
    mproc_unpacker u;
    int64_t size, seed;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &size) || mproc_unpack_i64(&u, &seed))
        return mproc_task_fail(out, "wanted (size, seed)");
    uint8_t *p = mproc_malloc((size_t)size);
    if (!p)
        return mproc_task_fail(out, "out of memory");
    for (size_t i = 0; i < (size_t)size; i++)
        p[i] = pattern_at(i, (uint32_t)seed);
    out->data = p;
    out->len = (size_t)size;
    return 0;
}

/* ---- helpers for the parent ------------------------------------------------------------------ */

/* Creates a pool under method with opts (ctx filled in); false (having checked that the
 * method is refused) where the platform has no such method. */
/* Whether this run is under qemu-user (meson runs cross tests through its exe wrapper). */
static bool under_qemu_user(void)
{
    const char *wrapper = getenv("MESON_EXE_WRAPPER");
    return wrapper && strstr(wrapper, "qemu");
}

/* Cases whose pool starts new workers from its result thread: under fork that is a fork
 * from a process with several threads, which qemu-user 7.2 cannot do (the child aborts in
 * cpu_exec or hangs; a 15-line C program without mproc does the same). Real Linux on
 * aarch64 can; the native and sanitizer runs cover these cases. */
static bool replaces_workers_under(mproc_start_method method)
{
    if (method == MPROC_FORK && under_qemu_user()) {
        print_message("qemu-user cannot fork from a threaded process: case not run here\n");
        skip();
        return false;
    }
    return true;
}

static bool pool_under(mproc_pool **pool, mproc_start_method method, mproc_pool_opts opts)
{
    mproc_context *ctx = NULL;
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        return false;
    }
    assert_ok(mproc_context_get(&ctx, method));
    opts.ctx = ctx;
    assert_ok(mproc_pool_create(pool, &opts));
    return true;
}

static mproc_pack *pack_gate(const char *path, int64_t x)
{
    mproc_pack *p = new_pack();
    assert_ok(mproc_pack_str(p, path));
    assert_ok(mproc_pack_i64(p, x));
    return p;
}

/* Opens a gate file for the gate_square tasks. */
static void open_gate(const char *path)
{
    harness_write_i64(path, 1);
}

/* Waits (bounded) until the pool has `want` live workers, none of them `gone`. */
static void wait_workers(mproc_pool *pool, int want, int64_t gone)
{
    int64_t deadline = harness_now_ms() + WAIT_MS;
    int n = -1;
    for (;;) {
        int64_t pids[64];
        n = mproc_pool_workers(pool, pids, 64);
        bool ok = n == want;
        for (int i = 0; ok && i < n && i < 64; i++)
            ok = pids[i] != gone && pids[i] > 0 && harness_pid_alive(pids[i]);
        if (ok)
            return;
        if (harness_now_ms() > deadline)
            fail_msg("the pool has %d live workers, wanted %d", n, want);
        harness_sleep_ms(20);
    }
}

/* ---- one call --------------------------------------------------------------------------------- */

static void apply_basics(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    assert_int_equal(mproc_pool_size(pool), 2);

    mproc_pack *args = pack_of(7);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
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
        assert_ok(mproc_async_get(a, &got, WAIT_MS));
        assert_int_equal(as_i64(&got), 49);
        mproc_bytes_free(&got);
    }
    assert_ok(mproc_async_get(a, &r, 0)); /* ready: a poll is enough */
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    /* args NULL: the task gets an empty pack. */
    assert_ok(mproc_pool_apply(pool, "answer", NULL, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);
    assert_rc(mproc_pool_apply(pool, "square", NULL, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "no argument");
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_apply_async(pool, "answer", NULL, NULL, &a));
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 42);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    /* successful() before the call is ready is MPROC_ESTATE (Python's ValueError). */
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    args = pack_gate(gate, 9);
    assert_ok(mproc_pool_apply_async(pool, "gate_square", args, NULL, &a));
    mproc_pack_destroy(args);
    assert_int_equal(mproc_async_ready(a), 0);
    assert_rc(mproc_async_successful(a), MPROC_ESTATE);
    assert_rc(mproc_async_wait(a, 50), MPROC_ETIMEDOUT);
    assert_rc(mproc_async_wait(a, 0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    open_gate(gate);
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 1);
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
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
        assert_ok(mproc_async_get(many[i], &r, WAIT_MS));
        assert_int_equal(as_i64(&r), i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(many[i]);
    }

    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    remove(gate);
}

/* ---- the map family ------------------------------------------------------------------------ */

static void map_in_order(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
    static mproc_bytes results[1001];
    const size_t counts[] = {0, 1, 5, 1000};
    const size_t chunks[] = {1, 7, 0};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c];
        mproc_pack *items = pack_range(0, n);
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            memset(results, 0, sizeof results);
            const char *task = n <= 5 || chunks[k] != 1 ? "square_jitter" : "square";
            int rc = mproc_pool_map(pool, task, items, results, n, chunks[k], WAIT_MS);
            if (rc != 0)
                fail_msg("map of %d items, chunksize %d: %s", (int)n, (int)chunks[k],
                         mproc_errname(rc));
            for (size_t i = 0; i < n; i++)
                assert_int_equal(as_i64(&results[i]), (int64_t)(i * i));
            assert_empty(&results[n], 1); /* nothing written past n */
            mproc_bytes_free_array(results, n);
        }
        /* n must be the number of items. */
        assert_rc(mproc_pool_map(pool, "square", items, results, n + 1, 0, WAIT_MS),
                  MPROC_EINVAL);
        if (n > 0)
            assert_rc(mproc_pool_map(pool, "square", items, results, n - 1, 0, WAIT_MS),
                      MPROC_EINVAL);

        /* map_async + get. */
        mproc_async *a;
        assert_ok(mproc_pool_map_async(pool, "square_jitter", items,
                                       &(mproc_call_opts){.chunksize = n > 5 ? 13 : 0}, &a));
        mproc_pack_destroy(items); /* copied */
        assert_int_equal(mproc_async_count(a), n);
        memset(results, 0, sizeof results);
        assert_ok(mproc_async_get(a, results, WAIT_MS));
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
    assert_rc(mproc_pool_map(pool, "square", items, results, 4, 1, WAIT_MS), MPROC_ETASK);
    assert_text(&results[0], "no argument");
    assert_empty(&results[1], 3);
    mproc_bytes_free(&results[0]);
    mproc_pack_destroy(items);
    mproc_pool_destroy(pool);
}

static void starmap_nested_packs(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    enum { N = 50 };
    mproc_pack *items = new_pack();
    for (int i = 0; i < N; i++) {
        mproc_pack *pair = pack_two(i, i + 3);
        assert_ok(mproc_pack_pack(items, pair));
        mproc_pack_destroy(pair);
    }
    mproc_bytes results[N + 1] = {{0}};
    for (size_t chunk = 0; chunk < 3; chunk++) {
        assert_ok(mproc_pool_starmap(pool, "multiply", items, results, N, chunk * 4, WAIT_MS));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * (i + 3));
        mproc_bytes_free_array(results, N);
    }
    assert_rc(mproc_pool_starmap(pool, "multiply", items, results, N - 1, 0, WAIT_MS),
              MPROC_EINVAL);

    mproc_async *a;
    assert_ok(mproc_pool_starmap_async(pool, "multiply", items, NULL, &a));
    mproc_pack_destroy(items);
    assert_int_equal(mproc_async_count(a), N);
    assert_ok(mproc_async_get(a, results, WAIT_MS));
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
    assert_ok(mproc_pool_starmap(pool, "answer", items, results, 2, 0, WAIT_MS));
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
    assert_rc(mproc_pool_starmap(pool, "multiply", items, results, 3, 0, WAIT_MS), MPROC_ETYPE);
    a = NULL;
    int rc = mproc_pool_starmap_async(pool, "multiply", items, NULL, &a);
    if (rc == 0) { /* refused at once, or at get: either is MPROC_ETYPE */
        rc = mproc_async_get(a, results, WAIT_MS);
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
    assert_ok(mproc_pool_starmap(pool, "multiply", items, results, 1, 0, WAIT_MS));
    assert_int_equal(as_i64(&results[0]), 42);
    mproc_bytes_free(&results[0]);
    mproc_pack_destroy(items);
    mproc_pool_destroy(pool);
}

static void imap_ordered_and_unordered(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
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
                int rc = mproc_iter_next(it, &r, WAIT_MS);
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
                assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
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
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    assert_ok(mproc_pool_imap_unordered(pool, "square", none, 0, &it));
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    mproc_pack_destroy(none);

    /* An iterator destroyed half-way: the rest is dropped and the pool goes on. */
    mproc_pack *items = pack_range(0, 2000);
    assert_ok(mproc_pool_imap(pool, "square_jitter", items, 1, &it));
    mproc_pack_destroy(items);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 1);
        assert_int_equal(as_i64(&r), i * i);
        mproc_bytes_free(&r);
    }
    mproc_iter_destroy(it);
    mproc_pack *args = pack_of(12);
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
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
    int fail_at, fail_code;     /* fail_at >= 0: the call after fail_at items fails */
    int in_call, in_next;       /* the test is inside imap_lazy / iter_next */
    int busy, concurrent, outside, too_far, max_ahead;
} lazy_source;

static int lazy_next(void *ctx, mproc_pack *item)
{
    lazy_source *s = ctx;
    if (__atomic_exchange_n(&s->busy, 1, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&s->concurrent, 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&s->in_call, __ATOMIC_SEQ_CST))
        s->outside++;
    /* Read only while fewer than `window` items are read but not returned; inside
     * iter_next, the item it is about to return may already count as returned. */
    int64_t ahead = s->produced - s->consumed - (s->in_next ? 1 : 0);
    if (ahead >= (int64_t)s->window)
        s->too_far++;
    if (s->produced - s->consumed > s->max_ahead)
        s->max_ahead = (int)(s->produced - s->consumed);
    int rc;
    if (s->fail_at >= 0 && s->produced == s->fail_at)
        rc = s->fail_code;
    else if (s->produced >= s->limit)
        rc = 0;
    else
        rc = mproc_pack_i64(item, s->produced) == 0 ? 1 : -1000;
    if (rc == 1)
        s->produced++;
    __atomic_store_n(&s->busy, 0, __ATOMIC_SEQ_CST);
    return rc;
}

static int lazy_step(mproc_iter *it, lazy_source *s, mproc_bytes *r)
{
    __atomic_store_n(&s->in_call, 1, __ATOMIC_SEQ_CST);
    s->in_next = 1;
    int rc = mproc_iter_next(it, r, WAIT_MS);
    s->in_next = 0;
    __atomic_store_n(&s->in_call, 0, __ATOMIC_SEQ_CST);
    return rc;
}

static void imap_lazy_backpressure(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
    const struct {
        size_t window, chunksize;
        bool unordered;
    } runs[] = {{1, 1, false}, {4, 1, false}, {4, 1, true}, {9, 3, false}, {9, 3, true}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        lazy_source s = {.limit = 300, .window = runs[k].window, .fail_at = -1};
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
        assert_int_equal(s.concurrent, 0);
        assert_int_equal(s.outside, 0);
        mproc_iter_destroy(it);
    }
    /* window 0: 64 x chunksize x workers; the source is still read lazily. */
    lazy_source s = {.limit = 1000000, .window = 64 * 1 * 3, .fail_at = -1};
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
    assert_int_equal(s.concurrent, 0);
    assert_int_equal(s.outside, 0);
    mproc_iter_destroy(it); /* a million items never read */
    mproc_pool_destroy(pool);
}

/* The code a lazy source fails with ends the iteration, after the items read before. */
static void imap_lazy_source_error(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    lazy_source s = {.limit = 100, .window = 2, .fail_at = 5, .fail_code = MPROC_EPERM};
    mproc_iter *it;
    s.in_call = 1;
    assert_ok(mproc_pool_imap_lazy(pool, "square", lazy_next, &s,
                                   &(mproc_imap_opts){.window = 2}, &it));
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
    assert_int_equal(s.concurrent, 0);
    assert_int_equal(s.outside, 0);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool);
}

/* ---- failures of tasks -------------------------------------------------------------------- */

static void task_failure(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(3);
    assert_rc(mproc_pool_apply(pool, "check_item", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "bad item 3");
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);

    assert_rc(mproc_pool_apply(pool, "returns_seven", NULL, &r, WAIT_MS), MPROC_ETASK);
    assert_text(&r, "task 'returns_seven' returned 7");
    mproc_bytes_free(&r);

    /* map: the first failing item in item order, though item 7 and 11 fail sooner. */
    enum { N = 16 };
    mproc_bytes results[N];
    mproc_pack *items = pack_range(0, N);
    for (size_t chunk = 1; chunk <= 4; chunk += 3) {
        memset(results, 0, sizeof results);
        assert_rc(mproc_pool_map(pool, "check_item", items, results, N, chunk, WAIT_MS),
                  MPROC_ETASK);
        assert_text(&results[0], "bad item 3");
        assert_empty(&results[1], N - 1);
        mproc_bytes_free(&results[0]);
    }
    mproc_async *a;
    assert_ok(mproc_pool_map_async(pool, "check_item", items, &(mproc_call_opts){.chunksize = 1},
                                   &a));
    memset(results, 0, sizeof results);
    assert_rc(mproc_async_get(a, results, WAIT_MS), MPROC_ETASK);
    assert_text(&results[0], "bad item 3");
    assert_empty(&results[1], N - 1);
    mproc_bytes_free(&results[0]);
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

    /* imap: ETASK for the failing items, and the iteration goes on. */
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "check_item", items, 1, &it));
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, &r, WAIT_MS);
        if (i % 4 == 3) {
            char want[32];
            snprintf(want, sizeof want, "bad item %d", i);
            assert_int_equal(rc, MPROC_ETASK);
            assert_text(&r, want);
        } else {
            assert_int_equal(rc, 1);
            assert_int_equal(as_i64(&r), (int64_t)i * i);
        }
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);

    /* imap_unordered: as many failures, each with its own text. */
    assert_ok(mproc_pool_imap_unordered(pool, "check_item", items, 2, &it));
    int ok = 0, failed = 0, seen_text[N] = {0};
    for (int i = 0; i < N; i++) {
        int rc = mproc_iter_next(it, &r, WAIT_MS);
        if (rc == MPROC_ETASK) {
            int x = -1;
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
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 25);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    mproc_pool_destroy(pool);
}

/* ---- callbacks ----------------------------------------------------------------------------- */

typedef struct {
    int index;
    int ran;         /* results or error callback done */
    int ok_calls, error_calls;
    int64_t value;
    int code;
    char text[64];
    size_t n;
} cb_slot;

static mproc_pool *cb_pool;
static int64_t cb_parent_pid;
static int cb_inside, cb_overlaps, cb_wrong_pid, cb_bad_results;
static mproc_async *cb_chained;
static int cb_chained_rc = 1;

static void cb_enter(void)
{
    if (__atomic_exchange_n(&cb_inside, 1, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&cb_overlaps, 1, __ATOMIC_SEQ_CST);
    if (mproc_getpid() != cb_parent_pid)
        __atomic_add_fetch(&cb_wrong_pid, 1, __ATOMIC_SEQ_CST);
}

static void cb_leave(cb_slot *s)
{
    harness_sleep_ms(2); /* widen the window for a second callback at once */
    __atomic_store_n(&s->ran, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cb_inside, 0, __ATOMIC_SEQ_CST);
}

static void on_result(void *ctx, const mproc_bytes *results, size_t n)
{
    cb_slot *s = ctx;
    cb_enter();
    s->ok_calls++;
    s->n = n;
    if (n == 1 && results && results[0].len == 8)
        memcpy(&s->value, results[0].data, 8);
    else if (n > 1 && results) { /* a map: item i gives i*i */
        for (size_t i = 0; i < n; i++) {
            int64_t v = -1;
            if (results[i].len == 8)
                memcpy(&v, results[i].data, 8);
            if (v != (int64_t)(i * i))
                __atomic_add_fetch(&cb_bad_results, 1, __ATOMIC_SEQ_CST);
        }
    } else
        __atomic_add_fetch(&cb_bad_results, 1, __ATOMIC_SEQ_CST);
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

static void callbacks(void **state)
{
    (void)state;
    enum { N = 40 };
    assert_ok(mproc_pool_create(&cb_pool, &(mproc_pool_opts){.processes = 4}));
    cb_parent_pid = mproc_getpid();
    static cb_slot slots[N + 1];
    mproc_async *calls[N + 1];
    for (int i = 0; i < N; i++) {
        slots[i].index = i;
        mproc_pack *args = pack_of(i);
        assert_ok(mproc_pool_apply_async(cb_pool, "check_item", args,
                                         &(mproc_call_opts){.callback = on_result,
                                                            .error_callback = on_error,
                                                            .ctx = &slots[i]},
                                         &calls[i]));
        mproc_pack_destroy(args);
    }
    /* A map's callback gets all its results at once. */
    slots[N].index = N;
    mproc_pack *items = pack_range(0, 30);
    assert_ok(mproc_pool_map_async(cb_pool, "square_jitter", items,
                                   &(mproc_call_opts){.chunksize = 2, .callback = on_result,
                                                      .error_callback = on_error,
                                                      .ctx = &slots[N]},
                                   &calls[N]));
    mproc_pack_destroy(items);
    for (int i = 0; i <= N; i++) {
        assert_ok(mproc_async_wait(calls[i], WAIT_MS));
        /* The callback ran before the waiters were woken. */
        if (!__atomic_load_n(&slots[i].ran, __ATOMIC_SEQ_CST))
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
    assert_int_equal(cb_bad_results, 0);
    assert_int_equal(cb_overlaps, 0);
    assert_int_equal(cb_wrong_pid, 0);

    /* The call made from a callback. */
    assert_int_equal(cb_chained_rc, 0);
    mproc_bytes r = {0};
    assert_ok(mproc_async_get(cb_chained, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 121);
    mproc_bytes_free(&r);
    mproc_async_destroy(cb_chained);

    /* A callback for a call that failed because its task returned a code. */
    cb_slot seven = {.index = -1};
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(cb_pool, "returns_seven", NULL,
                                     &(mproc_call_opts){.callback = on_result,
                                                        .error_callback = on_error,
                                                        .ctx = &seven},
                                     &a));
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_int_equal(seven.ran, 1);
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
        if (x % 4 == 3) {
            assert_int_equal(forgotten[i].error_calls, 1);
        } else {
            assert_int_equal(forgotten[i].ok_calls, 1);
            assert_int_equal(forgotten[i].value, (int64_t)x * x);
        }
    }
    mproc_pool_destroy(cb_pool);
}

/* ---- timeouts -------------------------------------------------------------------------------- */

static void get_timeout(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    mproc_pack *args = pack_gate(gate, 6);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "gate_square", args, NULL, &a));
    mproc_bytes r = {0};
    assert_rc(mproc_async_get(a, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1); /* nothing is filled */
    assert_rc(mproc_async_get(a, &r, 0), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    /* apply with a timeout leaves its task running. */
    assert_rc(mproc_pool_apply(pool, "gate_square", args, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    /* An iterator's next too. */
    mproc_pack *items = new_pack();
    mproc_pack *item = pack_gate(gate, 8);
    assert_ok(mproc_pack_pack(items, item));
    mproc_pack_destroy(item);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "gate_square", items, 1, &it));
    mproc_pack_destroy(items);
    assert_rc(mproc_iter_next(it, &r, 50), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);

    open_gate(gate);
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 1);
    assert_int_equal(as_i64(&r), 64);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 0);
    mproc_iter_destroy(it);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_apply(pool, "gate_square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 36);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    remove(gate);
}

static void map_timeout_leaves_pool_usable(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    enum { N = 40 };
    mproc_pack *items = new_pack();
    for (int i = 0; i < N; i++) {
        mproc_pack *item = pack_gate(gate, i);
        assert_ok(mproc_pack_pack(items, item));
        mproc_pack_destroy(item);
    }
    mproc_bytes results[N] = {{0}};
    assert_rc(mproc_pool_map(pool, "gate_square", items, results, N, 1, 100), MPROC_ETIMEDOUT);
    assert_empty(results, N);
    /* starmap the same way. */
    assert_rc(mproc_pool_starmap(pool, "gate_square", items, results, N, 2, 100),
              MPROC_ETIMEDOUT);
    assert_empty(results, N);
    open_gate(gate); /* the tasks running end; the rest were dropped */
    mproc_pack_destroy(items);

    items = pack_range(0, N);
    for (int round = 0; round < 2; round++) {
        assert_ok(mproc_pool_map(pool, "square", items, results, N, 0, WAIT_MS));
        for (int i = 0; i < N; i++)
            assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
        mproc_bytes_free_array(results, N);
    }
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    remove(gate);
}

/* ---- the pool's life -------------------------------------------------------------------------- */

static int ecl_count, ecl_code;
static void on_error_count(void *ctx, int code, const char *text)
{
    (void)ctx;
    (void)text;
    __atomic_add_fetch(&ecl_count, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ecl_code, code, __ATOMIC_SEQ_CST);
}

static void lifecycle_rules(void **state)
{
    (void)state;
    mproc_pool *pool;
    mproc_bytes r = {0};
    mproc_async *a;
    mproc_iter *it;
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");

    /* join before close: MPROC_ESTATE at once, not a hang. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
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
    assert_rc(mproc_pool_apply(pool, "square", args, &r, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_apply_async(pool, "square", args, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_map(pool, "square", items, results, 10, 0, WAIT_MS), MPROC_ESTATE);
    assert_rc(mproc_pool_map_async(pool, "square", items, NULL, &a), MPROC_ESTATE);
    assert_rc(mproc_pool_imap(pool, "square", items, 0, &it), MPROC_ESTATE);
    assert_rc(mproc_pool_imap_unordered(pool, "square", items, 0, &it), MPROC_ESTATE);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    int64_t pids[8];
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
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 1}));
    mproc_pack *gated = pack_gate(gate, 4);
    assert_ok(mproc_pool_apply_async(pool, "gate_square", gated, NULL, &a));
    assert_ok(mproc_pool_close(pool));
    assert_rc(mproc_pool_join(pool, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_ready(a), 0);
    open_gate(gate);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_ok(mproc_async_get(a, &r, 0));
    assert_int_equal(as_i64(&r), 16);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pool_destroy(pool);
    remove(gate);

    /* terminate with calls outstanding: they fail with MPROC_ECLOSED. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    mproc_pack_destroy(gated);
    gated = pack_gate(gate, 5); /* the gate is closed again: never opened */
    mproc_async *held[5];
    for (int i = 0; i < 5; i++)
        assert_ok(mproc_pool_apply_async(pool, "gate_square", gated,
                                         &(mproc_call_opts){.error_callback = on_error_count},
                                         &held[i]));
    mproc_pack *gated_items = new_pack();
    assert_ok(mproc_pack_pack(gated_items, gated));
    assert_ok(mproc_pack_pack(gated_items, gated));
    assert_ok(mproc_pool_map_async(pool, "gate_square", gated_items,
                                   &(mproc_call_opts){.error_callback = on_error_count}, &m));
    mproc_pack_destroy(gated_items);
    harness_sleep_ms(100); /* some of them are running by now */
    assert_ok(mproc_pool_terminate(pool));
    for (int i = 0; i < 5; i++) {
        assert_rc(mproc_async_get(held[i], &r, WAIT_MS), MPROC_ECLOSED);
        mproc_bytes_free(&r);
        assert_int_equal(mproc_async_ready(held[i]), 1);
        assert_int_equal(mproc_async_successful(held[i]), 0);
        mproc_async_destroy(held[i]);
    }
    assert_rc(mproc_async_get(m, results, WAIT_MS), MPROC_ECLOSED);
    mproc_bytes_free_array(results, 2);
    mproc_async_destroy(m);
    assert_int_equal(ecl_count, 6);
    assert_int_equal(ecl_code, MPROC_ECLOSED);
    assert_rc(mproc_pool_apply(pool, "square", args, &r, WAIT_MS), MPROC_ESTATE);
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 0);
    mproc_pool_destroy(pool);

    /* Handles outlive the pool: a finished call keeps its result, a running one fails
     * with MPROC_ECLOSED; destroy without close terminates. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    mproc_async *done, *running;
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &done));
    assert_ok(mproc_async_wait(done, WAIT_MS));
    assert_ok(mproc_pool_apply_async(pool, "gate_square", gated, NULL, &running));
    mproc_pool_destroy(pool);
    assert_int_equal(mproc_async_ready(done), 1);
    assert_ok(mproc_async_get(done, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 4);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_count(done), 1);
    assert_rc(mproc_async_get(running, &r, WAIT_MS), MPROC_ECLOSED);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_ready(running), 1);
    mproc_async_destroy(done);
    mproc_async_destroy(running);

    /* An iterator outlives its pool too. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 1}));
    assert_ok(mproc_pool_imap(pool, "square", items, 0, &it));
    assert_int_equal(mproc_iter_next(it, &r, WAIT_MS), 1);
    mproc_bytes_free(&r);
    mproc_pool_destroy(pool);
    mproc_iter_destroy(it);

    /* Destroy right after create, and after terminate without join. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    mproc_pool_destroy(pool);
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    assert_ok(mproc_pool_terminate(pool));
    mproc_pool_destroy(pool);
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    assert_ok(mproc_pool_close(pool));
    mproc_pool_destroy(pool);

    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
    mproc_pack_destroy(gated);
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

    assert_rc(mproc_pool_create(NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_create(&pool, &(mproc_pool_opts){.initializer = "no_such_task"}),
              MPROC_ENOTASK);

    /* NULL pool. */
    assert_rc(mproc_pool_apply(NULL, "square", args, &r, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_apply_async(NULL, "square", args, NULL, &a), MPROC_EINVAL);
    assert_rc(mproc_pool_map(NULL, "square", items, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map_async(NULL, "square", items, NULL, &a), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap(NULL, "multiply", pairs, results, 4, 0, 1000), MPROC_EINVAL);
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
    assert_rc(mproc_iter_next(NULL, &r, 0), MPROC_EINVAL);
    assert_rc(mproc_async_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_async_ready(NULL), MPROC_EINVAL);
    assert_rc(mproc_async_successful(NULL), MPROC_EINVAL);
    assert_rc(mproc_async_get(NULL, &r, 0), MPROC_EINVAL);
    mproc_async_destroy(NULL);
    mproc_iter_destroy(NULL);
    mproc_bytes_free_array(NULL, 0);

    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
    assert_int_equal(mproc_pool_size(pool), 3);
    wait_workers(pool, 3, 0);
    int64_t one[1] = {0};
    assert_int_equal(mproc_pool_workers(pool, one, 1), 3); /* how many, though cap is 1 */
    assert_true(one[0] > 0);

    /* NULL task or out. */
    assert_rc(mproc_pool_apply(pool, NULL, args, &r, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_apply(pool, "square", args, NULL, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_apply_async(pool, NULL, args, NULL, &a), MPROC_EINVAL);
    /* No handle is fire and forget (see callbacks for the proof that such calls run). */
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, NULL));
    assert_rc(mproc_pool_map(pool, NULL, items, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", items, NULL, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map(pool, "square", NULL, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_map_async(pool, NULL, items, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_map_async(pool, "square", items, NULL, NULL));
    assert_rc(mproc_pool_starmap(pool, NULL, pairs, results, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap(pool, "multiply", pairs, NULL, 4, 0, 1000), MPROC_EINVAL);
    assert_rc(mproc_pool_starmap_async(pool, NULL, pairs, NULL, &a), MPROC_EINVAL);
    assert_ok(mproc_pool_starmap_async(pool, "multiply", pairs, NULL, NULL));
    assert_rc(mproc_pool_imap(pool, NULL, items, 0, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap(pool, "square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_unordered(pool, "square", items, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, NULL, never_next, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "square", NULL, &calls, NULL, &it), MPROC_EINVAL);
    assert_rc(mproc_pool_imap_lazy(pool, "square", never_next, &calls, NULL, NULL),
              MPROC_EINVAL);

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

    /* A live pool's results: NULL where results go. */
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &a));
    assert_rc(mproc_async_get(a, NULL, WAIT_MS), MPROC_EINVAL);
    assert_ok(mproc_async_get(a, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    assert_ok(mproc_pool_imap(pool, "square", items, 0, &it));
    assert_rc(mproc_iter_next(it, NULL, WAIT_MS), MPROC_EINVAL);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool);

    /* processes <= 0: mproc_cpu_count_usable(); opts NULL too. */
    int cpus = mproc_cpu_count_usable();
    assert_true(cpus >= 1);
    assert_ok(mproc_pool_create(&pool, NULL));
    assert_int_equal(mproc_pool_size(pool), cpus);
    wait_workers(pool, cpus, 0);
    mproc_pool_destroy(pool);
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 0}));
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = -5}));
    assert_int_equal(mproc_pool_size(pool), cpus);
    mproc_pool_destroy(pool);

    mproc_pack_destroy(args);
    mproc_pack_destroy(items);
    mproc_pack_destroy(pairs);
}

/* A pool used from several threads at once. */
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
    for (int round = 0; round < 5; round++) {
        mproc_bytes results[100] = {{0}};
        int rc = mproc_pool_map(w->pool, "square", items, results, 100, (size_t)round, WAIT_MS);
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
        mproc_pack_create(&args);
        mproc_pack_i64(args, w->base);
        rc = mproc_pool_apply_async(w->pool, "square", args, NULL, &a);
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
    }
    mproc_pack_destroy(items);
}

static void used_from_threads(void **state)
{
    (void)state;
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 3}));
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

/* ---- under every start method ------------------------------------------------------------------ */

static void worker_names(mproc_start_method method)
{
    mproc_pool *pool;
    if (!pool_under(&pool, method, (mproc_pool_opts){.processes = 2}))
        return;
    const char *prefix = method == MPROC_FORK    ? "ForkPoolWorker-"
                         : method == MPROC_SPAWN ? "SpawnPoolWorker-"
                                                 : "ForkServerPoolWorker-";
    enum { N = 30 };
    mproc_pack *items = pack_range(0, N);
    mproc_bytes names[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "worker_name", items, names, N, 1, WAIT_MS));
    for (int i = 0; i < N; i++) {
        const char *s = names[i].data;
        assert_non_null(s);
        assert_int_equal(names[i].len, strlen(s) + 1);
        size_t p = strlen(prefix);
        if (strncmp(s, prefix, p) != 0 || s[p] < '1' || s[p] > '9' ||
            strspn(s + p, "0123456789") != strlen(s + p))
            fail_msg("worker name \"%s\", wanted %s<n>", s, prefix);
    }
    mproc_bytes_free_array(names, N);
    mproc_pack_destroy(items);
    /* The parent's own name is untouched. */
    assert_string_equal(mproc_current_name(), "MainProcess");
    mproc_pool_destroy(pool);
}

static void worker_killed(mproc_start_method method)
{
    if (!replaces_workers_under(method))
        return;
    mproc_pool *pool;
    if (!pool_under(&pool, method, (mproc_pool_opts){.processes = 2}))
        return;
    char path[512];
    harness_temp_path(path, sizeof path, "pid");
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_str(args, path));
    mproc_async *victim;
    assert_ok(mproc_pool_apply_async(pool, "pid_then_sleep", args, NULL, &victim));
    mproc_pack_destroy(args);
    int64_t pid = 0;
    assert_true(harness_read_i64(path, &pid, WAIT_MS));
    remove(path);
    wait_workers(pool, 2, 0);
    int64_t pids[8];
    assert_int_equal(mproc_pool_workers(pool, pids, 8), 2);
    assert_true(pids[0] == pid || pids[1] == pid);

    enum { N = 8 };
    mproc_async *others[N];
    for (int i = 0; i < N; i++) {
        args = pack_two(30, i);
        assert_ok(mproc_pool_apply_async(pool, "sleep_square", args, NULL, &others[i]));
        mproc_pack_destroy(args);
    }
    harness_kill_pid(pid);
    mproc_bytes r = {0};
    assert_rc(mproc_async_get(victim, &r, WAIT_MS), MPROC_EWORKER);
    assert_some_text(&r);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(victim), 0);
    mproc_async_destroy(victim);
    for (int i = 0; i < N; i++) {
        assert_ok(mproc_async_get(others[i], &r, WAIT_MS));
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(others[i]);
    }
    assert_true(harness_wait_pid_gone(pid, WAIT_MS));
    wait_workers(pool, 2, pid);
    args = pack_of(9);
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 81);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);

    /* The same inside a map: the map fails with MPROC_EWORKER, and the pool goes on. */
    mproc_pack *items = new_pack();
    mproc_pack *item = new_pack();
    assert_ok(mproc_pack_str(item, path));
    assert_ok(mproc_pack_pack(items, item));
    mproc_pack_destroy(item);
    mproc_async *m;
    mproc_bytes results[1] = {{0}};
    assert_ok(mproc_pool_map_async(pool, "pid_then_sleep", items, NULL, &m));
    mproc_pack_destroy(items);
    assert_true(harness_read_i64(path, &pid, WAIT_MS));
    remove(path);
    harness_kill_pid(pid);
    assert_rc(mproc_async_get(m, results, WAIT_MS), MPROC_EWORKER);
    assert_some_text(&results[0]);
    mproc_bytes_free(&results[0]);
    mproc_async_destroy(m);
    wait_workers(pool, 2, pid);
    args = pack_of(10);
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 100);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void exit_inside_task(mproc_start_method method)
{
    if (!replaces_workers_under(method))
        return;
    mproc_pool *pool;
    if (!pool_under(&pool, method, (mproc_pool_opts){.processes = 2}))
        return;
    mproc_bytes r = {0};
    for (int i = 0; i < 2; i++) {
        assert_rc(mproc_pool_apply(pool, "exit_three", NULL, &r, WAIT_MS), MPROC_EWORKER);
        assert_some_text(&r);
        mproc_bytes_free(&r);
    }
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "exit_three", NULL, NULL, &a));
    assert_rc(mproc_async_get(a, &r, WAIT_MS), MPROC_EWORKER);
    assert_some_text(&r);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pack *args = pack_of(8);
    assert_ok(mproc_pool_apply(pool, "square", args, &r, WAIT_MS));
    assert_int_equal(as_i64(&r), 64);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    wait_workers(pool, 2, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void maxtasksperchild(mproc_start_method method)
{
    if (!replaces_workers_under(method))
        return;
    mproc_pool *pool;
    if (!pool_under(&pool, method, (mproc_pool_opts){.processes = 2, .maxtasksperchild = 2}))
        return;
    enum { N = 20 };
    mproc_async *calls[N];
    for (int i = 0; i < N; i++)
        assert_ok(mproc_pool_apply_async(pool, "worker_pid", NULL, NULL, &calls[i]));
    int64_t seen[N];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], &r, WAIT_MS);
        if (rc != 0)
            fail_msg("call %d: %s", i, mproc_errname(rc));
        int64_t pid = as_i64(&r);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
        bool known = false;
        for (int k = 0; k < distinct; k++)
            known |= seen[k] == pid;
        if (!known)
            seen[distinct++] = pid;
    }
    if (distinct < N / 2)
        fail_msg("%d distinct workers ran %d tasks, 2 each at most", distinct, N);
    wait_workers(pool, 2, 0);
    /* A map chunk counts as one task. */
    mproc_pack *items = pack_range(0, 12);
    mproc_bytes results[12] = {{0}};
    assert_ok(mproc_pool_map(pool, "square", items, results, 12, 3, WAIT_MS));
    for (int i = 0; i < 12; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 12);
    mproc_pack_destroy(items);
    wait_workers(pool, 2, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void initializer_with_queue(mproc_start_method method)
{
    mproc_queue *q;
    assert_ok(mproc_queue_create(&q, 0));
    mproc_pack *initargs = new_pack();
    assert_ok(mproc_pack_handle(initargs, q));
    assert_ok(mproc_pack_i64(initargs, 77));
    mproc_pool *pool;
    if (!pool_under(&pool, method,
                    (mproc_pool_opts){.processes = 2, .initializer = "init_store_queue",
                                      .initargs = initargs})) {
        mproc_pack_destroy(initargs);
        mproc_queue_destroy(q);
        return;
    }
    mproc_pack_destroy(initargs); /* the pool has what it needs */
    enum { N = 25 };
    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "put_via_init_queue", items, results, N, 1, WAIT_MS));
    for (int i = 0; i < N; i++)
        assert_int_equal(results[i].len, 0); /* no result: empty bytes */
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(items);
    mproc_pack *args = pack_of(N);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "put_via_init_queue", args, &r, WAIT_MS));
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    int got[N + 1] = {0}, inits = 0;
    for (;;) {
        mproc_bytes m;
        int rc = mproc_queue_get(q, &m, 500);
        if (rc == MPROC_ETIMEDOUT)
            break;
        assert_ok(rc);
        assert_int_equal(m.len, 16);
        int64_t msg[2];
        memcpy(msg, m.data, 16);
        mproc_bytes_free(&m);
        if (msg[0] == -1) {
            inits++;
            continue;
        }
        assert_true(msg[0] >= 0 && msg[0] <= N);
        assert_int_equal(msg[1], 77);
        got[msg[0]]++;
    }
    for (int i = 0; i <= N; i++)
        if (got[i] != 1)
            fail_msg("message %d came %d times", i, got[i]);
    /* Once in each worker that ran; 2 workers, none replaced. */
    assert_true(inits >= 1 && inits <= 2);
    mproc_queue_destroy(q);
}

static void close_objects(mproc_queue *q, mproc_lock *lock, mproc_value *v, mproc_conn *reader,
                          mproc_conn *writer)
{
    mproc_conn_close(reader);
    mproc_conn_close(writer);
    mproc_value_destroy(v);
    mproc_lock_destroy(lock);
    mproc_queue_destroy(q);
}

static void objects_in_task_args(mproc_start_method method)
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
    if (!pool_under(&pool, method, (mproc_pool_opts){.processes = 3})) {
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
    int rc = mproc_pool_map(pool, "use_objects", items, results, M, 2, WAIT_MS);
    if (rc != 0)
        fail_msg("map: %s: %s", mproc_errname(rc),
                 results[0].data ? (const char *)results[0].data : "");
    for (int i = 0; i < M; i++)
        assert_int_equal(as_i64(&results[i]), 100 + i);
    mproc_bytes_free_array(results, M);
    rc = mproc_pool_starmap(pool, "use_objects", star, results, S, 1, WAIT_MS);
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

    /* Every task put, added and sent once. */
    int64_t total = -1;
    assert_ok(mproc_value_get_i64(v, &total));
    assert_int_equal(total, want_sum);
    int64_t qsum = 0, psum = 0;
    for (int i = 0; i < A + M + S; i++) {
        mproc_bytes m;
        assert_ok(mproc_queue_get(q, &m, WAIT_MS));
        assert_int_equal(m.len, 8);
        int64_t x;
        memcpy(&x, m.data, 8);
        qsum += x;
        mproc_bytes_free(&m);
        assert_ok(mproc_conn_recv(reader, &m, WAIT_MS));
        assert_int_equal(m.len, 8);
        memcpy(&x, m.data, 8);
        psum += x;
        mproc_bytes_free(&m);
    }
    assert_int_equal(qsum, want_sum);
    assert_int_equal(psum, want_sum);
    assert_int_equal(mproc_queue_qsize(q), 0);
    assert_int_equal(mproc_conn_poll(reader, 0), MPROC_ETIMEDOUT);
    close_objects(q, lock, v, reader, writer);
}

/* ---- initializer failure, large data, stress -------------------------------------------------- */

static void initializer_failure(void **state)
{
    (void)state;
    mproc_pool *pool;
    mproc_bytes r = {0};
    mproc_pack *args = pack_of(4);
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2,
                                                          .initializer = "init_fails"}));
    assert_rc(mproc_pool_apply(pool, "square", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "square", args, NULL, &a));
    assert_rc(mproc_async_get(a, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pack *items = pack_range(0, 5);
    mproc_bytes results[5] = {{0}};
    assert_rc(mproc_pool_map(pool, "square", items, results, 5, 0, WAIT_MS), MPROC_ETASK);
    assert_text_has(&results[0], "init broke 42");
    assert_empty(&results[1], 4);
    mproc_bytes_free(&results[0]);
    mproc_iter *it;
    assert_ok(mproc_pool_imap(pool, "square", items, 1, &it));
    assert_rc(mproc_iter_next(it, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "init broke 42");
    mproc_bytes_free(&r);
    mproc_iter_destroy(it);
    mproc_pool_destroy(pool);

    /* Failing with a code and no text; close + join end it too. */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 1,
                                                          .initializer = "init_returns_five"}));
    assert_rc(mproc_pool_apply(pool, "square", args, &r, WAIT_MS), MPROC_ETASK);
    assert_text_has(&r, "returned 5");
    mproc_bytes_free(&r);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
    mproc_pack_destroy(items);
    mproc_pack_destroy(args);
}

static void large_args_and_results(void **state)
{
    (void)state;
    enum { BIG = 40 << 20 };
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));
    uint8_t *buf = malloc(BIG);
    assert_non_null(buf);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = pattern_at(i, 5);
    uint64_t want = checksum(buf, BIG);
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_bytes(args, buf, BIG));
    free(buf);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "checksum_bytes", args, &r, 2 * WAIT_MS));
    assert_int_equal(r.len, 16);
    uint64_t got[2];
    memcpy(got, r.data, 16);
    assert_int_equal(got[0], BIG);
    assert_true(got[1] == want);
    mproc_bytes_free(&r);
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "checksum_bytes", args, NULL, &a));
    mproc_pack_destroy(args);
    assert_ok(mproc_async_get(a, &r, 2 * WAIT_MS));
    assert_int_equal(r.len, 16);
    memcpy(got, r.data, 16);
    assert_int_equal(got[0], BIG);
    assert_true(got[1] == want);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);

    args = pack_two(BIG, 9);
    assert_ok(mproc_pool_apply(pool, "make_big", args, &r, 2 * WAIT_MS));
    assert_int_equal(r.len, BIG);
    for (size_t i = 0; i < BIG; i++)
        if (((uint8_t *)r.data)[i] != pattern_at(i, 9))
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
    assert_ok(mproc_pool_starmap(pool, "make_big", items, results, 2, 1, 2 * WAIT_MS));
    for (int k = 0; k < 2; k++) {
        assert_int_equal(results[k].len, BIG / 2 + k);
        for (size_t i = 0; i < results[k].len; i++)
            if (((uint8_t *)results[k].data)[i] != pattern_at(i, 20 + (uint32_t)k))
                fail_msg("result %d: byte %llu differs", k, (unsigned long long)i);
    }
    mproc_bytes_free_array(results, 2);
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, 2 * WAIT_MS));
    mproc_pool_destroy(pool);
}

/* Kills a random live worker; true if it did. */
static bool kill_one(mproc_pool *pool, unsigned *seed)
{
    int64_t pids[16];
    int n = mproc_pool_workers(pool, pids, 16);
    if (n <= 0)
        return false;
    if (n > 16)
        n = 16;
    *seed = *seed * 1103515245u + 12345u;
    int64_t pid = pids[(*seed >> 16) % (unsigned)n];
    if (pid <= 0 || !harness_pid_alive(pid))
        return false;
    harness_kill_pid(pid);
    return true;
}

static void pause_10_to_20(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    harness_sleep_ms(10 + (*seed >> 16) % 11);
}

static int stress_done;
static void count_done(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    (void)results;
    (void)n;
    __atomic_add_fetch(&stress_done, 1, __ATOMIC_SEQ_CST);
}
static void count_failed(void *ctx, int code, const char *text)
{
    (void)ctx;
    (void)code;
    (void)text;
    __atomic_add_fetch(&stress_done, 1, __ATOMIC_SEQ_CST);
}

static void stress_kills_during_map(void **state)
{
    (void)state;
    enum { N = 10000, KILLS = 100, WORKERS = 4 };
    const int64_t bound = 240000; /* for one map or batch, kills included */
    unsigned seed = (unsigned)mproc_getpid() * 2654435761u + (unsigned)harness_now_ms();
    print_message("seed %u\n", seed);
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = WORKERS}));
    mproc_pack *items = pack_range(0, N);
    mproc_bytes *results = calloc(N, sizeof *results);
    assert_non_null(results);

    /* map_async: each map ends, whole or failed with MPROC_EWORKER. */
    int kills = 0, maps = 0, maps_ok = 0;
    while (kills < KILLS) {
        int64_t deadline = harness_now_ms() + bound;
        mproc_async *a;
        assert_ok(mproc_pool_map_async(pool, "busy_square", items,
                                       &(mproc_call_opts){.chunksize = 1}, &a));
        maps++;
        while (kills < KILLS && mproc_async_ready(a) == 0 && harness_now_ms() < deadline) {
            pause_10_to_20(&seed);
            kills += kill_one(pool, &seed);
        }
        int64_t left = deadline - harness_now_ms();
        int rc = mproc_async_get(a, results, left > 1000 ? left : 1000);
        if (rc == 0) {
            maps_ok++;
            for (int i = 0; i < N; i++)
                assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
            mproc_bytes_free_array(results, N);
        } else {
            if (rc != MPROC_EWORKER)
                fail_msg("map %d after %d kills: %s (%d)", maps, kills, mproc_errname(rc), rc);
            assert_some_text(&results[0]);
            assert_empty(&results[1], N - 1);
            mproc_bytes_free(&results[0]);
        }
        mproc_async_destroy(a);
        assert_true(maps < 200);
    }
    print_message("maps: %d kills, %d maps, %d whole\n", kills, maps, maps_ok);

    /* apply_async per item: every value checked, every failure MPROC_EWORKER. */
    mproc_async **calls = calloc(N, sizeof *calls);
    assert_non_null(calls);
    kills = 0;
    int batches = 0, failed = 0, succeeded = 0;
    while (kills < KILLS) {
        int64_t deadline = harness_now_ms() + bound;
        __atomic_store_n(&stress_done, 0, __ATOMIC_SEQ_CST);
        for (int i = 0; i < N; i++) {
            mproc_pack *args = pack_of(i);
            assert_ok(mproc_pool_apply_async(pool, "busy_square", args,
                                             &(mproc_call_opts){.callback = count_done,
                                                                .error_callback = count_failed},
                                             &calls[i]));
            mproc_pack_destroy(args);
        }
        batches++;
        while (kills < KILLS && __atomic_load_n(&stress_done, __ATOMIC_SEQ_CST) < N &&
               harness_now_ms() < deadline) {
            pause_10_to_20(&seed);
            kills += kill_one(pool, &seed);
        }
        for (int i = 0; i < N; i++) {
            int64_t left = deadline - harness_now_ms();
            mproc_bytes r = {0};
            int rc = mproc_async_get(calls[i], &r, left > 1000 ? left : 1000);
            if (rc == 0) {
                succeeded++;
                assert_int_equal(as_i64(&r), (int64_t)i * i);
            } else {
                if (rc != MPROC_EWORKER)
                    fail_msg("call %d of batch %d: %s (%d)", i, batches, mproc_errname(rc), rc);
                assert_some_text(&r);
                failed++;
            }
            mproc_bytes_free(&r);
            mproc_async_destroy(calls[i]);
        }
        assert_int_equal(__atomic_load_n(&stress_done, __ATOMIC_SEQ_CST), N);
        assert_true(batches < 200);
    }
    print_message("apply_async: %d kills, %d batches, %d failed, %d succeeded\n", kills,
                  batches, failed, succeeded);
    assert_int_equal(failed + succeeded, batches * N);
    /* A worker runs one task at a time, and only the task it had started fails: at most
     * one failure per kill. */
    if (failed > kills)
        fail_msg("%d calls failed after %d kills", failed, kills);
    free(calls);

    /* The pool still works, with all its workers. */
    wait_workers(pool, WORKERS, 0);
    mproc_pack *some = pack_range(0, 100);
    assert_ok(mproc_pool_map(pool, "square", some, results, 100, 0, WAIT_MS));
    for (int i = 0; i < 100; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 100);
    mproc_pack_destroy(some);
    free(results);
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

#define HARNESS_CASES "cases/pool.txt"
#include "harness_main.h"
