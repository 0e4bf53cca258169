/* Manager. Rows 1 and 2 go through one manager (mproc_manager_start, the default start
 * method) and one dict in it, made before and shut down after them. A trial starts a child
 * process (the default start method) with the dict's proxy and a shared double in its args
 * pack. The child makes PINGPONG_WARMUP set+get pairs untimed (its first call connects to the
 * server and authenticates), then times n x (d[k] = v_i; d[k]) with an 8-byte key and an
 * 8-byte value (the packs (b'benchkey',) and (i,): a BYTES and an I64), checking each get's
 * value with MPROC_UNPACK, and writes the
 * microseconds into the shared double, which the parent reads after joining it (and then
 * checks that the dict holds v_(n-1)). One operation is one set or one get: a trial of n
 * does 2n. Row 1 calls one by one; row 2 puts each MANAGER_BATCH pairs between
 * mproc_batch_begin and mproc_batch_end (one round trip each batch) and checks each get's
 * output after the end.
 * Raw for both: a blocking socketpair (Windows: a duplex named pipe, synchronous) between
 * this process and a forked child (Windows: this executable again) that answers each
 * MANAGER_RAW_REQUEST-byte request with a MANAGER_RAW_ANSWER-byte answer, both numbered and
 * checked, no header: n x 2 round trips, one operation per round trip, the floor a round
 * trip to a server can reach (raw.h's exchange).
 * Row 0, printed first in the section (a fork copies the page tables of this process, which
 * grow with the rows before): a whole Manager start + one dict + shutdown + destroy, in ms
 * (median of --reps), under mproc's default start method beside Python under its own
 * default, then fork beside fork (POSIX, where fork is not mproc's default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

#define MANAGER_TIMEOUT_MS 20000 /* a batch or raw round trip waiting this long: lost */
#define MANAGER_BATCH 100        /* row 2: set+get pairs per batch */
#define MANAGER_RAW_REQUEST 32
#define MANAGER_RAW_ANSWER 16

static const char manager_key[8] = {'b', 'e', 'n', 'c', 'h', 'k', 'e', 'y'};
#define MANAGER_KEY MPROC_ARGS(MPROC_BYTES(manager_key, sizeof manager_key))
static mproc_mdict *bench_dict; /* rows 1 and 2 */

/* Whether a get gave the pack (v) (else says what came instead). */
static bool mdict_value_ok(const mproc_bytes *b, int64_t v)
{
    int64_t got;
    int rc = MPROC_UNPACK(b, &got);
    if (rc != 0) {
        fprintf(stderr, "bench_mproc: mdict get %lld gave %zu bytes, not the pack of an I64: %s\n",
                (long long)v, b->len, mproc_strerror(rc));
        return false;
    }
    if (got != v) {
        fprintf(stderr, "bench_mproc: mdict get after set %lld gave %lld\n", (long long)v,
                (long long)got);
        return false;
    }
    return true;
}

/* d[k] = i; d[k] for i in [first, first + n), one call at a time: 0, or a failure's code
 * (MPROC_EINVAL for a wrong value). */
static int mdict_pairs(mproc_mdict *d, int64_t first, int64_t n)
{
    for (int64_t i = first; i < first + n; i++) {
        mproc_bytes b = {0};
        int rc = mproc_mdict_set(d, MANAGER_KEY, MPROC_ARGS(i));
        if (rc == 0)
            rc = mproc_mdict_get(d, MANAGER_KEY, &b);
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: mdict set/get %lld failed: %s\n", (long long)i,
                    mproc_strerror(rc));
            return rc;
        }
        bool ok = mdict_value_ok(&b, i);
        mproc_bytes_free(&b);
        if (!ok)
            return MPROC_EINVAL;
    }
    return 0;
}

/* The same in batches of MANAGER_BATCH pairs, every output checked after its batch. */
static int mdict_pairs_batched(mproc_mdict *d, int64_t first, int64_t n)
{
    int64_t vals[MANAGER_BATCH];
    mproc_bytes got[MANAGER_BATCH];
    int codes[2 * MANAGER_BATCH];
    for (int64_t i = first; i < first + n; i += MANAGER_BATCH) {
        int m = first + n - i < MANAGER_BATCH ? (int)(first + n - i) : MANAGER_BATCH;
        int rc = mproc_batch_begin(d);
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: mproc_batch_begin failed: %s\n", mproc_strerror(rc));
            return rc;
        }
        for (int j = 0; j < m && rc == 0; j++) {
            vals[j] = i + j;
            got[j] = (mproc_bytes){0};
            rc = mproc_mdict_set(d, MANAGER_KEY, MPROC_ARGS(vals[j]));
            if (rc == 0)
                rc = mproc_mdict_get(d, MANAGER_KEY, &got[j]);
        }
        if (rc != 0) {
            mproc_batch_cancel();
            fprintf(stderr, "bench_mproc: queueing mdict set/get in a batch failed: %s\n",
                    mproc_strerror(rc));
            return rc;
        }
        rc = mproc_batch_end(MANAGER_TIMEOUT_MS, codes, (size_t)(2 * m));
        for (int j = 0; j < 2 * m && rc == 0; j++)
            if (codes[j] != 0)
                rc = codes[j];
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: a batch of %d mdict set+get pairs failed: %s\n", m,
                    mproc_strerror(rc));
            return rc;
        }
        bool ok = true;
        for (int j = 0; j < m; j++) {
            ok = ok && mdict_value_ok(&got[j], vals[j]);
            mproc_bytes_free(&got[j]);
        }
        if (!ok)
            return MPROC_EINVAL;
    }
    return 0;
}

MPROC_TASK(bench_mdict_child, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_array *elapsed;
    int64_t n, batched;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_mdict(&u, &d));
    CHILD_MUST(mproc_unpack_array(&u, &elapsed));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &batched));
    CHILD_MUST(mdict_pairs(d, -PINGPONG_WARMUP, PINGPONG_WARMUP)); /* connects */
    double start = now_us();
    CHILD_MUST(batched ? mdict_pairs_batched(d, 0, n) : mdict_pairs(d, 0, n));
    double end = now_us();
    CHILD_MUST(mproc_array_set_f64(elapsed, 0, end - start));
    mproc_array_destroy(elapsed);
    mproc_proxy_destroy(d);
    return 0;
}

static double mproc_mdict_run(int64_t n, bool batched)
{
    mproc_array *elapsed;
    mproc_pack *args;
    MUST(mproc_array_create(&elapsed, MPROC_T_DOUBLE, 1, false));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, bench_dict));
    MUST(mproc_pack_handle(args, elapsed));
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, batched));
    mproc_process *child = start_task("bench_mdict_child", args);
    mproc_pack_destroy(args);
    join_task(child);
    double us;
    MUST(mproc_array_get_f64(elapsed, 0, &us));
    mproc_array_destroy(elapsed);
    mproc_bytes last = {0};
    MUST(mproc_mdict_get(bench_dict, MANAGER_KEY, &last));
    if (!mdict_value_ok(&last, n - 1))
        exit(1);
    mproc_bytes_free(&last);
    return us;
}

static double mproc_mdict_trial(int64_t n)
{
    return mproc_mdict_run(n, false);
}

static double mproc_mdict_batch_trial(int64_t n)
{
    return mproc_mdict_run(n, true);
}

/* Raw: blocking, with a bound: a read or write waiting MANAGER_TIMEOUT_MS fails. */
const raw_exchange manager_rpc_exchange = {
    .kind = "rpc",
    .request = MANAGER_RAW_REQUEST,
    .answer = MANAGER_RAW_ANSWER,
    .bound_ms = MANAGER_TIMEOUT_MS,
    .what = "raw request/answer write/read",
};

static double raw_rpc_trial(int64_t n)
{
    /* a set and a get per pair */
    return raw_exchange_run(&manager_rpc_exchange, 2 * (PINGPONG_WARMUP + n), 2 * PINGPONG_WARMUP);
}

/* Row 0: one Manager start + dict + shutdown + destroy under ctx; milliseconds. */
static double manager_start_ms(mproc_context *ctx)
{
    mproc_manager *m;
    mproc_mdict *d;
    double start = now_us();
    int rc = mproc_manager_start(
        &m, &(mproc_manager_opts){.ctx = ctx, .timeout_ms = MANAGER_TIMEOUT_MS});
    if (rc != 0)
        die("mproc_manager_start", rc);
    if ((rc = mproc_manager_dict(m, &d)) != 0)
        die("mproc_manager_dict", rc);
    mproc_proxy_destroy(d);
    if ((rc = mproc_manager_shutdown(m, MANAGER_TIMEOUT_MS)) != 0)
        die("mproc_manager_shutdown", rc);
    mproc_manager_destroy(m);
    return (now_us() - start) / 1e3;
}

/* python_method: the method run.py starts Python's Manager with ("default": its own). */
static void bench_manager_start(mproc_start_method method, const char *python_method, int reps)
{
    mproc_context *ctx = method_context(method);
    if (!ctx)
        return;
    const char *name = mproc_start_method_name(method);
    char label[64], op[128];
    snprintf(label, sizeof label, "Manager start (%s)", name);
    double ms = median_ms(manager_start_ms, ctx, reps, label);
    snprintf(op, sizeof op, "Manager start + dict() + shutdown (mproc: %s%s; Python: %s)", name,
             method == mproc_get_start_method() ? ", its default" : "",
             strcmp(python_method, "default") == 0 ? "its default" : python_method);
    json_begin(op, "ms");
    json_fixed("mproc", 2, ms);
    json_null("raw");
    json_string("method", name);
    json_string("python_method", python_method);
    json_string("python_bench", "managerstart");
    json_int("reps", reps);
    json_end();
}

void bench_manager(int reps)
{
    mproc_start_method dflt = mproc_get_start_method();
    bench_manager_start(dflt, "default", reps);
    if (dflt != MPROC_FORK)
        bench_manager_start(MPROC_FORK, "fork", reps);
    mproc_manager *m;
    int rc = mproc_manager_start(&m, &(mproc_manager_opts){.timeout_ms = MANAGER_TIMEOUT_MS});
    if (rc != 0)
        die("mproc_manager_start", rc);
    MUST(mproc_manager_dict(m, &bench_dict));
    bench_rate_with("Manager dict d[k] = v; d[k] (8-byte key and value), one child process, "
                    "one call per round trip",
                    "operations/s", "mdict", 2, mproc_mdict_trial, raw_rpc_trial, NULL, "batch", 1);
    char op[160];
    snprintf(op, sizeof op,
             "Manager dict d[k] = v; d[k] (8-byte key and value), one child process, batches "
             "of %d pairs",
             MANAGER_BATCH);
    bench_rate_with(op, "operations/s", "mdictbatch", 2, mproc_mdict_batch_trial, raw_rpc_trial,
                    NULL, "batch", MANAGER_BATCH);
    mproc_proxy_destroy(bench_dict);
    bench_dict = NULL;
    MUST(mproc_manager_shutdown(m, MANAGER_TIMEOUT_MS));
    mproc_manager_destroy(m);
}
