/* Pool: the process pool's own cases; pool_cases.h has those the thread pool suite runs
 * too (apply/map/starmap/imap, lazy imap with backpressure, results and errors of tasks,
 * callbacks, timeouts, the pool's life, bad input, use from threads, an initializer that
 * fails, large arguments and results, and, under every start method, maxtasksperchild and
 * objects among task arguments). Here, under every start method: worker names, workers
 * killed or exiting inside a task, an initializer with a queue; and workers killed at
 * random during big maps. The harness checks after every case that no fd/handle, child or
 * shm name leaked, so every case destroys its pool and its objects. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "pool_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pool_cases.h's POOL cases run on a process pool of the default start method. */
#define SUITE_POOL_KIND POOL_PROCESSES

/* ---- tasks ------------------------------------------------------------------------------ */

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

/* () -> the worker's name (a STR). */
MPROC_TASK(worker_name, in, out)
{
    (void)in;
    return put_text(out, mproc_current_name());
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

/* Initializer (queue, tag): keeps both for the tasks, and says so in the queue. */
static mproc_queue *init_queue;
static int64_t init_queue_tag = -1;
MPROC_TASK(init_store_queue, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &init_queue) || mproc_unpack_i64(&u, &init_queue_tag))
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
    int64_t msg[2] = {x, init_queue_tag};
    if (mproc_queue_put(init_queue, msg, sizeof msg, WAIT_MS) != 0)
        return mproc_task_fail(out, "put failed");
    return 0;
}

/* ---- under every start method ---------------------------------------------------------- */

static void worker_names(pool_kind kind)
{
    mproc_pool *pool;
    if (!pool_under(&pool, kind, (mproc_pool_opts){.processes = 2}))
        return;
    const char *prefix = kind == POOL_FORK    ? "ForkPoolWorker-"
                         : kind == POOL_SPAWN ? "SpawnPoolWorker-"
                                              : "ForkServerPoolWorker-";
    enum { N = 30 };
    mproc_pack *items = pack_range(0, N);
    mproc_bytes names[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "worker_name", items, 1, WAIT_MS, names, N));
    for (int i = 0; i < N; i++) {
        mproc_unpacker u;
        const char *s = NULL;
        size_t len = 0;
        assert_ok(mproc_unpack_init(&u, &names[i]));
        assert_ok(mproc_unpack_strn(&u, &s, &len));
        assert_int_equal(mproc_unpack_remaining(&u), 0);
        assert_non_null(s);
        assert_int_equal(len, strlen(s));
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

static void worker_killed(pool_kind kind)
{
    if (!replaces_workers_under(kind))
        return;
    mproc_pool *pool;
    if (!pool_under(&pool, kind, (mproc_pool_opts){.processes = 2}))
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
    wait_workers(pool, kind, 2, 0);
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
    assert_rc(mproc_async_get(victim, WAIT_MS, &r), MPROC_EWORKER);
    assert_some_text(&r);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_successful(victim), 0);
    mproc_async_destroy(victim);
    for (int i = 0; i < N; i++) {
        assert_ok(mproc_async_get(others[i], WAIT_MS, &r));
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        mproc_async_destroy(others[i]);
    }
    assert_true(harness_wait_pid_gone(pid, WAIT_MS));
    wait_workers(pool, kind, 2, pid);
    args = pack_of(9);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
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
    assert_rc(mproc_async_get(m, WAIT_MS, results), MPROC_EWORKER);
    assert_some_text(&results[0]);
    mproc_bytes_free(&results[0]);
    mproc_async_destroy(m);
    wait_workers(pool, kind, 2, pid);
    args = pack_of(10);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 100);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void exit_inside_task(pool_kind kind)
{
    if (!replaces_workers_under(kind))
        return;
    mproc_pool *pool;
    if (!pool_under(&pool, kind, (mproc_pool_opts){.processes = 2}))
        return;
    mproc_bytes r = {0};
    for (int i = 0; i < 2; i++) {
        assert_rc(mproc_pool_apply(pool, "exit_three", NULL, WAIT_MS, &r), MPROC_EWORKER);
        assert_some_text(&r);
        mproc_bytes_free(&r);
    }
    mproc_async *a;
    assert_ok(mproc_pool_apply_async(pool, "exit_three", NULL, NULL, &a));
    assert_rc(mproc_async_get(a, WAIT_MS, &r), MPROC_EWORKER);
    assert_some_text(&r);
    mproc_bytes_free(&r);
    mproc_async_destroy(a);
    mproc_pack *args = pack_of(8);
    assert_ok(mproc_pool_apply(pool, "square", args, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 64);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    wait_workers(pool, kind, 2, 0);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);
}

static void initializer_with_queue(pool_kind kind)
{
    mproc_queue *q;
    assert_ok(mproc_queue_create(&q, 0));
    mproc_pack *initargs = new_pack();
    assert_ok(mproc_pack_handle(initargs, q));
    assert_ok(mproc_pack_i64(initargs, 77));
    mproc_pool *pool;
    if (!pool_under(&pool, kind,
                    (mproc_pool_opts){
                        .processes = 2, .initializer = "init_store_queue", .initargs = initargs})) {
        mproc_pack_destroy(initargs);
        mproc_queue_destroy(q);
        return;
    }
    mproc_pack_destroy(initargs); /* the pool has what it needs */
    enum { N = 25 };
    mproc_pack *items = pack_range(0, N);
    mproc_bytes results[N] = {{0}};
    assert_ok(mproc_pool_map(pool, "put_via_init_queue", items, 1, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        assert_int_equal(results[i].len, 0); /* no result: empty bytes */
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(items);
    mproc_pack *args = pack_of(N);
    mproc_bytes r = {0};
    assert_ok(mproc_pool_apply(pool, "put_via_init_queue", args, WAIT_MS, &r));
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    int got[N + 1] = {0}, inits = 0;
    for (;;) {
        mproc_bytes m;
        int rc = mproc_queue_get(q, 500, &m);
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

/* ---- workers killed at random --------------------------------------------------------- */

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
        int rc = mproc_async_get(a, left > 1000 ? left : 1000, results);
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
            assert_ok(mproc_pool_apply_async(
                pool, "busy_square", args,
                &(mproc_call_opts){.callback = count_done, .error_callback = count_failed},
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
            int rc = mproc_async_get(calls[i], left > 1000 ? left : 1000, &r);
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
    print_message("apply_async: %d kills, %d batches, %d failed, %d succeeded\n", kills, batches,
                  failed, succeeded);
    assert_int_equal(failed + succeeded, batches * N);
    /* A worker runs one task at a time, and only the task it had started fails: at most
     * one failure per kill. */
    if (failed > kills)
        fail_msg("%d calls failed after %d kills", failed, kills);
    free(calls);

    /* The pool still works, with all its workers. */
    wait_workers(pool, POOL_PROCESSES, WORKERS, 0);
    mproc_pack *some = pack_range(0, 100);
    assert_ok(mproc_pool_map(pool, "square", some, 0, WAIT_MS, results, 100));
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
