/* Pool. Rows 1-4 go through one pool of N workers (N = usable CPUs, the default start
 * method), started before and closed after them; a trial does n tiny tasks, x*x of an int64
 * (the task bench_square), and the clock runs around the pool calls only: the items' pack is
 * made before, and map's results are checked after. Every result is checked. Row 5 times a
 * whole Pool(N) start + close + join (printed first, measured while this process is still
 * small); row 6 is the speedup of N workers over one on a CPU-bound task. No raw primitive:
 * the rates are tasks per second, the start a time (ms), the speedup a ratio. The thread
 * pool section (threadpool.c) runs rows 1, 2 and 4 on its pool. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sections.h"
#include "timing.h"

#define POOL_TASK_US 20000 /* row 6: the CPU-bound task's length */

static mproc_pool *tiny_pool; /* rows 1-4 */
static int pool_workers;      /* N */

int usable_workers(void)
{
    int n = mproc_cpu_count_usable();
    return n < 1 ? 1 : n;
}

/* The pool tasks take one int64 and give 8 bytes back. Whether the args pack is one int64,
 * put in *x. */
static bool task_int64_arg(const mproc_bytes *in, int64_t *x)
{
    mproc_unpacker u;
    return mproc_unpack_init(&u, in) == 0 && mproc_unpack_i64(&u, x) == 0;
}

/* v's 64 bits as the task's result: a pack of one I64. */
static int task_return_8_bytes(mproc_pack *out, uint64_t v)
{
    return MPROC_PACK(out, (int64_t)v) == 0 ? 0 : 1;
}

MPROC_TASK(bench_square, in, out)
{
    int64_t x;
    if (!task_int64_arg(in, &x))
        return mproc_task_fail(out, "bench_square: no int64 argument");
    return task_return_8_bytes(out, (uint64_t)(x * x));
}

void pool_failed(const char *what, int rc, const mproc_bytes *result)
{
    const char *text = (rc == MPROC_ETASK || rc == MPROC_EWORKER || rc == MPROC_ECLOSED) &&
                               result && result->data && result->len
                           ? result->data
                           : NULL;
    fprintf(stderr, "bench_mproc: %s failed: %s%s%s%s\n", what, mproc_strerror(rc),
            text ? " (" : "", text ? text : "", text ? ")" : "");
    exit(1);
}

void close_pool(mproc_pool *pool)
{
    MUST(mproc_pool_close(pool));
    MUST(mproc_pool_join(pool, POOL_TIMEOUT_MS));
    mproc_pool_destroy(pool);
}

/* The int64 a task returned (8 bytes), or exits saying what came instead. */
static int64_t pool_result_i64(const mproc_bytes *r, const char *what, int64_t i)
{
    int64_t v;
    if (MPROC_UNPACK(r, &v) != 0) {
        fprintf(stderr, "bench_mproc: %s: result %lld (%zu bytes) is not one int64\n", what,
                (long long)i, r->len);
        exit(1);
    }
    return v;
}

static void check_square(const mproc_bytes *r, int64_t x, const char *what)
{
    int64_t v = pool_result_i64(r, what, x);
    if (v != x * x) {
        fprintf(stderr, "bench_mproc: %s: the result for %lld is %lld, not %lld\n", what,
                (long long)x, (long long)v, (long long)(x * x));
        exit(1);
    }
}

/* range(n) as the fields of one pack. */
static mproc_pack *range_pack(int64_t n)
{
    mproc_pack *items;
    MUST(mproc_pack_create(&items));
    for (int64_t i = 0; i < n; i++)
        MUST(mproc_pack_i64(items, i));
    return items;
}

/* Rows 1 and 2: map(square, range(n), chunksize). */
static double pool_map_run(int64_t n, size_t chunksize)
{
    mproc_pack *items = range_pack(n);
    mproc_bytes *results = calloc((size_t)n, sizeof *results);
    if (!results)
        exit(1);
    double start = now_us();
    int rc = mproc_pool_map(tiny_pool, "bench_square", items, chunksize, POOL_TIMEOUT_MS, results,
                            (size_t)n);
    double elapsed = now_us() - start;
    if (rc != 0)
        pool_failed("mproc_pool_map", rc, results);
    for (int64_t i = 0; i < n; i++)
        check_square(&results[i], i, "mproc_pool_map");
    mproc_bytes_free_array(results, (size_t)n);
    free(results);
    mproc_pack_destroy(items);
    return elapsed;
}

static double pool_map_chunk1_trial(int64_t n)
{
    return pool_map_run(n, 1);
}

static double pool_map_auto_trial(int64_t n)
{
    return pool_map_run(n, 0);
}

/* Row 3: imap_unordered(square, range(n), 1), every result taken and checked as it comes:
 * it must be the square of a number below n not seen before (n results: all of them). */
static double pool_imap_unordered_trial(int64_t n)
{
    mproc_pack *items = range_pack(n);
    uint8_t *seen = calloc((size_t)n, 1);
    if (!seen)
        exit(1);
    mproc_iter *it;
    double start = now_us();
    int rc = mproc_pool_imap_unordered(tiny_pool, "bench_square", items, 1, &it);
    if (rc != 0)
        pool_failed("mproc_pool_imap_unordered", rc, NULL);
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes r = {0};
        rc = mproc_iter_next(it, POOL_TIMEOUT_MS, &r);
        if (rc != 1) {
            fprintf(stderr, "bench_mproc: imap_unordered: result %lld of %lld: ", (long long)i,
                    (long long)n);
            pool_failed("mproc_iter_next", rc == 0 ? MPROC_ECLOSED : rc, &r);
        }
        int64_t v = pool_result_i64(&r, "imap_unordered", i);
        int64_t x = v >= 0 ? (int64_t)sqrt((double)v) : -1; /* exact below 2^52 */
        if (x < 0 || x >= n || x * x != v || seen[x]) {
            fprintf(stderr,
                    "bench_mproc: imap_unordered: result %lld is %lld: not the square of a "
                    "new number below %lld\n",
                    (long long)i, (long long)v, (long long)n);
            exit(1);
        }
        seen[x] = 1;
        mproc_bytes_free(&r);
    }
    double elapsed = now_us() - start;
    mproc_bytes r = {0};
    if ((rc = mproc_iter_next(it, POOL_TIMEOUT_MS, &r)) != 0) {
        fprintf(stderr, "bench_mproc: imap_unordered gave %s after the last result\n",
                rc == 1 ? "a result" : mproc_strerror(rc));
        exit(1);
    }
    mproc_iter_destroy(it);
    free(seen);
    mproc_pack_destroy(items);
    return elapsed;
}

/* Row 4: n apply_async(square, (i,)), then the get of each, in order. */
static double pool_apply_async_trial(int64_t n)
{
    mproc_async **calls = malloc((size_t)n * sizeof *calls);
    mproc_pack *args;
    if (!calls)
        exit(1);
    MUST(mproc_pack_create(&args));
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        int rc = mproc_pack_reset(args);
        if (rc == 0)
            rc = mproc_pack_i64(args, i);
        if (rc == 0)
            rc = mproc_pool_apply_async(tiny_pool, "bench_square", args, NULL, &calls[i]);
        if (rc != 0)
            pool_failed("mproc_pool_apply_async", rc, NULL);
    }
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], POOL_TIMEOUT_MS, &r);
        if (rc != 0)
            pool_failed("mproc_async_get", rc, &r);
        check_square(&r, i, "apply_async");
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    double elapsed = now_us() - start;
    mproc_pack_destroy(args);
    free(calls);
    return elapsed;
}

/* The rows of tiny tasks: the op after "Pool(N)" or "ThreadPool(N)", run.py's figure after
 * "pool" or "thread"; the thread pool section has no imap_unordered row. */
static const struct tiny_row {
    const char *op, *python;
    trial_fn trial;
    bool in_threadpool;
} tiny_rows[] = {
    {".map, tiny tasks (x*x), chunksize 1", "map1", pool_map_chunk1_trial, true},
    {".map, tiny tasks (x*x), automatic chunksize", "mapauto", pool_map_auto_trial, true},
    {".imap_unordered, tiny tasks (x*x), chunksize 1", "imapunordered", pool_imap_unordered_trial,
     false},
    {".apply_async x n, then get each, tiny tasks (x*x)", "applyasync", pool_apply_async_trial,
     true},
};

void bench_tiny_tasks(mproc_pool *pool, int workers, bool threadpool)
{
    tiny_pool = pool;
    pool_map_run(4 * workers, 1); /* every worker up */
    for (size_t i = 0; i < sizeof tiny_rows / sizeof tiny_rows[0]; i++) {
        const struct tiny_row *row = &tiny_rows[i];
        if (threadpool && !row->in_threadpool)
            continue;
        char op[128], python[64];
        snprintf(op, sizeof op, "%s(%d)%s", threadpool ? "ThreadPool" : "Pool", workers, row->op);
        snprintf(python, sizeof python, "%s%s", threadpool ? "thread" : "pool", row->python);
        bench_rate_with(op, "tasks/s", python, 1, row->trial, NULL, NULL, "workers", workers);
    }
    tiny_pool = NULL;
}

/* Row 5: one Pool(N) start + close + join under ctx; milliseconds. */
static double pool_start_ms(mproc_context *ctx)
{
    mproc_pool *p;
    double start = now_us();
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = pool_workers, .ctx = ctx});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    if ((rc = mproc_pool_close(p)) != 0)
        pool_failed("mproc_pool_close", rc, NULL);
    if ((rc = mproc_pool_join(p, POOL_TIMEOUT_MS)) != 0)
        pool_failed("mproc_pool_join", rc, NULL);
    double elapsed = now_us() - start;
    mproc_pool_destroy(p);
    return elapsed / 1e3;
}

static void bench_pool_start(mproc_start_method method, int reps)
{
    mproc_context *ctx = method_context(method);
    if (!ctx)
        return;
    const char *name = mproc_start_method_name(method);
    char label[64], op[96];
    snprintf(label, sizeof label, "pool start+close+join (%s)", name);
    double ms = median_ms(pool_start_ms, ctx, reps, label);
    snprintf(op, sizeof op, "Pool(%d) start + close + join (%s%s)", pool_workers, name,
             method == mproc_get_start_method() ? ", mproc's default" : "");
    json_begin(op, "ms");
    json_fixed("mproc", 2, ms);
    json_null("raw");
    json_string("method", name);
    json_int("workers", pool_workers);
    json_string("python_bench", "poolstart");
    json_int("reps", reps);
    json_end();
}

/* Row 6: integer work (xorshift64) that no compiler shortens; the same in the parent and in
 * the workers, so the parent knows each task's result. */
static uint64_t spin(int64_t iters)
{
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (int64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

MPROC_TASK(bench_spin, in, out)
{
    int64_t iters;
    if (!task_int64_arg(in, &iters))
        return mproc_task_fail(out, "bench_spin: no int64 argument");
    return task_return_8_bytes(out, spin(iters));
}

/* The CPU time of spin(iters) in this thread: the least of 3 runs, so other processes on
 * the machine count as little as can be (*result: its result). */
static double spin_us(int64_t iters, uint64_t *result)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double start = cpu_now_us();
        *result = spin(iters);
        double t = cpu_now_us() - start;
        if (i == 0 || t < best)
            best = t;
    }
    return best;
}

/* map(spin, [iters] * tasks, chunksize 1) on p; microseconds. Every result is checked. */
static double pool_spin_run(mproc_pool *p, const mproc_pack *items, int64_t tasks,
                            uint64_t expected)
{
    mproc_bytes *results = calloc((size_t)tasks, sizeof *results);
    if (!results)
        exit(1);
    double start = now_us();
    int rc = mproc_pool_map(p, "bench_spin", items, 1, POOL_TIMEOUT_MS, results, (size_t)tasks);
    double elapsed = now_us() - start;
    if (rc != 0)
        pool_failed("mproc_pool_map (bench_spin)", rc, results);
    for (int64_t i = 0; i < tasks; i++)
        if ((uint64_t)pool_result_i64(&results[i], "bench_spin", i) != expected) {
            fprintf(stderr, "bench_mproc: bench_spin: result %lld is wrong\n", (long long)i);
            exit(1);
        }
    mproc_bytes_free_array(results, (size_t)tasks);
    free(results);
    return elapsed;
}

/* T1 / TN: the same 4N tasks (at least 8) of POOL_TASK_US each, on Pool(1) and on Pool(N),
 * runs interleaved; the medians of sync_reps runs. */
static void bench_pool_speedup(void)
{
    /* Calibrate the task: iterations for POOL_TASK_US of CPU time in this process. */
    int64_t iters = 1 << 16;
    uint64_t expected;
    double t;
    while ((t = spin_us(iters, &expected)) < POOL_TASK_US / 4.0)
        iters *= 2;
    for (int i = 0; i < 2; i++) { /* scaled, then scaled again from that length */
        iters = (int64_t)((double)iters * POOL_TASK_US / t);
        t = spin_us(iters, &expected);
    }
    double task_us = t;
    int64_t tasks = 4 * (int64_t)pool_workers < 8 ? 8 : 4 * (int64_t)pool_workers;
    mproc_pack *items;
    MUST(mproc_pack_create(&items));
    for (int64_t i = 0; i < tasks; i++)
        MUST(mproc_pack_i64(items, iters));
    mproc_pool *one, *all;
    int rc = mproc_pool_create(&one, &(mproc_pool_opts){.processes = 1});
    if (rc == 0)
        rc = mproc_pool_create(&all, &(mproc_pool_opts){.processes = pool_workers});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    double *t1 = calloc((size_t)sync_reps, sizeof(double));
    double *tn = calloc((size_t)sync_reps, sizeof(double));
    if (!t1 || !tn)
        exit(1);
    pool_spin_run(one, items, tasks, expected); /* warm-up: every worker up */
    pool_spin_run(all, items, tasks, expected);
    for (int i = 0; i < sync_reps; i++) {
        t1[i] = pool_spin_run(one, items, tasks, expected);
        tn[i] = pool_spin_run(all, items, tasks, expected);
        if (verbose)
            fprintf(stderr, "CPU-bound speedup: run %d: Pool(1) %.1f ms, Pool(%d) %.1f ms\n", i + 1,
                    t1[i] / 1e3, pool_workers, tn[i] / 1e3);
    }
    double m1 = median(t1, sync_reps), mn = median(tn, sync_reps);
    char op[128];
    snprintf(op, sizeof op,
             "CPU-bound speedup: %lld tasks of %.0f ms, Pool(1) time / Pool(%d) time",
             (long long)tasks, task_us / 1e3, pool_workers);
    json_begin(op, "x");
    json_fixed("mproc", 2, m1 / mn);
    json_null("raw");
    json_int("workers", pool_workers);
    json_int("tasks", tasks);
    json_fixed("task_ms", 1, task_us / 1e3);
    json_fixed("t1_ms", 1, m1 / 1e3);
    json_fixed("tn_ms", 1, mn / 1e3);
    json_string("python_bench", "poolspeedup");
    json_int("reps", sync_reps);
    json_end();
    free(t1);
    free(tn);
    /* Both closed before either is joined: their workers end side by side. */
    MUST(mproc_pool_close(one));
    MUST(mproc_pool_close(all));
    MUST(mproc_pool_join(one, POOL_TIMEOUT_MS));
    MUST(mproc_pool_join(all, POOL_TIMEOUT_MS));
    mproc_pool_destroy(one);
    mproc_pool_destroy(all);
    mproc_pack_destroy(items);
}

void bench_pool(int reps)
{
    pool_workers = usable_workers();
    /* Row 5 first, while this process is small (a fork copies its page tables): the default
     * start method, then fork where it is not the default. */
    mproc_start_method dflt = mproc_get_start_method();
    bench_pool_start(dflt, reps);
    if (dflt != MPROC_FORK)
        bench_pool_start(MPROC_FORK, reps);
    mproc_pool *pool;
    int rc = mproc_pool_create(&pool, &(mproc_pool_opts){.processes = pool_workers});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    bench_tiny_tasks(pool, pool_workers, false);
    close_pool(pool);
    bench_pool_speedup();
}
