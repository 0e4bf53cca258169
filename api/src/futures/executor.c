/* Executors and futures over the pools (concurrent.futures), and cancel tokens.
 *
 * An executor is a pool (its own, or the caller's) and a tag: the calls it submits carry
 * the tag, so shutdown can cancel or wait for exactly its own futures. A future is the
 * pool's mproc_async. A cancel token is a shared word (and a deadline on the machine's
 * monotonic clock) that tasks in any process poll or wait on. */
#include <string.h>

#include "pool/pool_internal.h"

#define EXECUTOR_MAGIC 0x6d704578u
#define DESTROY_WAIT_MS 60000 /* destroy waits this long at a time, saying so */

struct mproc_executor {
    uint32_t magic;
    mproc_pool *pool;
    bool owns_pool;
    bool shut_down;
};

static int check_executor(const mproc_executor *ex)
{
    return ex && ex->magic == EXECUTOR_MAGIC ? 0 : MPROC_EINVAL;
}

int mproc_executor_create(mproc_executor **out, const mproc_executor_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_executor_opts o = opts ? *opts : (mproc_executor_opts){0};
    mproc_executor *ex = mproc_calloc(1, sizeof *ex);
    if (!ex)
        return mproc__fail(MPROC_ENOMEM);
    int rc = 0;
    if (o.pool) {
        ex->pool = o.pool;
    } else {
        int workers = o.max_workers;
        if (workers <= 0 && o.threads) { /* ThreadPoolExecutor: min(32, cpus + 4) */
            workers = mproc_cpu_count_usable() + 4;
            workers = workers > 32 ? 32 : workers;
        }
        mproc_pool_opts po = {.processes = workers,
                              .initializer = o.initializer,
                              .initargs = o.initargs,
                              .ctx = o.ctx};
        rc = o.threads ? mproc_threadpool_create(&ex->pool, &po)
                       : mproc_pool_create(&ex->pool, &po);
        ex->owns_pool = true;
    }
    if (rc) {
        mproc_free(ex);
        return rc;
    }
    ex->magic = EXECUTOR_MAGIC;
    *out = ex;
    return 0;
}

int mproc_executor_submit(mproc_executor *ex, const char *task, const mproc_pack *args,
                          mproc_future **out)
{
    if (out)
        *out = NULL;
    if (check_executor(ex) || !out)
        return mproc__fail(MPROC_EINVAL);
    if (mproc__load(&ex->shut_down))
        return mproc__fail(MPROC_ESTATE);
    return mproc__pool_apply_tagged(ex->pool, task, args, ex, out);
}

int mproc_executor_map(mproc_executor *ex, const char *task, const mproc_pack *items,
                       mproc_bytes *results, size_t n, size_t chunksize, int64_t timeout_ms)
{
    if (check_executor(ex))
        return mproc__fail(MPROC_EINVAL);
    if (mproc__load(&ex->shut_down))
        return mproc__fail(MPROC_ESTATE);
    return mproc_pool_map(ex->pool, task, items, results, n, chunksize, timeout_ms);
}

int mproc_executor_shutdown(mproc_executor *ex, bool wait, bool cancel_futures,
                            int64_t timeout_ms)
{
    if (check_executor(ex))
        return mproc__fail(MPROC_EINVAL);
    mproc__store(&ex->shut_down, true); /* submit may run meanwhile */
    if (cancel_futures)
        mproc__pool_cancel_tagged(ex->pool, ex);
    int rc = wait ? mproc__pool_wait_tagged(ex->pool, ex, timeout_ms) : 0;
    if (ex->owns_pool)
        mproc_pool_close(ex->pool); /* its workers end once the futures are done */
    return rc ? mproc__fail(rc) : 0;
}

void mproc_executor_destroy(mproc_executor *ex)
{
    if (check_executor(ex))
        return;
    while (mproc_executor_shutdown(ex, true, false, DESTROY_WAIT_MS) == MPROC_ETIMEDOUT)
        mproc_log(MPROC_LOG_WARNING, "executor: futures still running after %d ms",
                  DESTROY_WAIT_MS);
    if (ex->owns_pool)
        mproc_pool_destroy(ex->pool);
    ex->magic = 0;
    mproc_free(ex);
}

mproc_pool *mproc_executor_pool(mproc_executor *ex)
{
    return check_executor(ex) ? NULL : ex->pool;
}

/* ---- futures -------------------------------------------------------------------------------- */

int mproc_future_result(mproc_future *f, mproc_bytes *result, int64_t timeout_ms)
{
    return mproc_async_get(f, result, timeout_ms);
}

int mproc_future_done(mproc_future *f)
{
    return mproc_async_ready(f);
}

int mproc_future_cancel(mproc_future *f)
{
    int rc = mproc__async_cancel(f);
    return rc < 0 ? mproc__fail(rc) : rc;
}

int mproc_future_cancelled(mproc_future *f)
{
    int rc = mproc__async_cancelled(f);
    return rc < 0 ? mproc__fail(rc) : rc;
}

int mproc_future_add_done_callback(mproc_future *f, mproc_done_fn fn, void *ctx)
{
    int rc = mproc__async_add_done(f, fn, ctx);
    if (rc == 1) {
        /* Done already: its result is there; wait out its other callbacks, then call (on
         * the result thread itself, from one of those callbacks, waiting would never end). */
        if (!mproc__async_on_result_thread(f))
            mproc_async_wait(f, MPROC_FOREVER);
        fn(ctx, f);
        return 0;
    }
    return rc < 0 ? mproc__fail(rc) : 0;
}

void mproc_future_destroy(mproc_future *f)
{
    mproc_async_destroy(f);
}

/* ---- cancel tokens -------------------------------------------------------------------------- */

typedef struct cancel_state {
    uint32_t magic, kind;
    uint32_t flag;     /* 1: triggered */
    uint32_t waiters;
    int64_t deadline;  /* mpp_monotonic_ms() value, -1: none */
} cancel_state;

struct mproc_cancel {
    mproc__shared o;
};

static cancel_state *cancel_st(mproc_cancel *c)
{
    return mproc__shared_state(&c->o);
}

int mproc_cancel_create(mproc_cancel **out, int64_t timeout_ms)
{
    if (!out || timeout_ms < MPROC_FOREVER)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int rc = mproc__shared_new(MPROC__KIND_CANCEL, sizeof **out, sizeof(cancel_state), 1,
                               (void **)out);
    if (rc)
        return rc;
    mproc__store(&cancel_st(*out)->deadline, mproc__deadline(timeout_ms));
    return 0;
}

int mproc_cancel_trigger(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    cancel_state *st = cancel_st(c);
    mproc__store(&st->flag, 1);
    mproc__wake_all(mproc__park_of(&c->o, 0), &st->flag, &st->waiters);
    return 0;
}

static bool requested(cancel_state *st)
{
    if (mproc__load(&st->flag))
        return true;
    int64_t deadline = mproc__load(&st->deadline);
    return deadline >= 0 && mproc__remaining(deadline) == 0;
}

int mproc_cancel_requested(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    return requested(cancel_st(c));
}

int mproc_cancel_wait(mproc_cancel *c, int64_t timeout_ms)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    cancel_state *st = cancel_st(c);
    int64_t deadline = mproc__deadline(timeout_ms);
    while (!requested(st)) {
        /* Sleep to whichever comes first: our timeout or the token's own deadline. */
        int64_t ms = mproc__next_slice(deadline);
        int64_t own = mproc__load(&st->deadline);
        if (own >= 0) {
            int64_t to_own = mproc__remaining(own);
            ms = ms == MPROC_FOREVER || (to_own >= 0 && to_own < ms) ? to_own : ms;
        }
        if (mproc__remaining(deadline) == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        if (ms > 0)
            mproc__park_counted(mproc__park_of(&c->o, 0), &st->flag, 0, &st->waiters, ms);
    }
    return 0;
}

void mproc_cancel_destroy(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return;
    mproc__shared_close(&c->o);
    mproc_free(c);
}

int mproc_unpack_cancel(mproc_unpacker *u, mproc_cancel **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_CANCEL, sizeof **out, (void **)out);
}
