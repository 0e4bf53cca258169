/* Executors over the pools (concurrent.futures' ProcessPoolExecutor, ThreadPoolExecutor).
 *
 * An executor is a pool (its own, or the caller's) and a tag: the calls it submits carry
 * the tag, so shutdown can cancel or wait for exactly its own futures (future.c). */
#include "pool/private.h"

#define EXECUTOR_MAGIC 0x6d704578u
#define DESTROY_WAIT_MS 60000 /* destroy waits this long at a time, saying so */

struct mproc_executor {
    uint32_t magic;
    mproc_pool *pool;
    bool owns_pool;
    bool shut_down;
};

/* ---- a tag's calls -------------------------------------------------------------------------- */

/* Cancels the calls of that tag none of whose items were given out; returns how many. */
static int cancel_tagged(mproc_pool *p, const void *tag)
{
    if (mproc__pool_check(p))
        return MPROC_EINVAL;
    int n = 0;
    mpp_mutex_lock(p->mu);
    for (job *j = p->all_head, *next; j; j = next) {
        next = j->all_next;
        if (j->tag == tag && !j->complete && j->next_item == 0 && j->inflight == 0) {
            j->was_cancelled = true;
            mproc__job_fail_locked(p, j, MPROC_ECANCELLED, "cancelled");
            n++;
        }
    }
    mpp_mutex_unlock(p->mu);
    return n;
}

/* Waits until no call of that tag is left unfinished. */
static int wait_tagged(mproc_pool *p, const void *tag, int64_t timeout_ms)
{
    if (mproc__pool_check(p))
        return MPROC_EINVAL;
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_mutex_lock(p->mu);
    for (;;) {
        bool left = false;
        for (job *j = p->all_head; j && !left; j = j->all_next)
            left = j->tag == tag && !j->notified;
        if (!left)
            break;
        int64_t ms = mproc__remaining(deadline);
        if (ms == 0) {
            mpp_mutex_unlock(p->mu);
            return MPROC_ETIMEDOUT;
        }
        mpp_cond_wait(p->cond, p->mu, ms < 0 || ms > 1000 ? 1000 : ms);
    }
    mpp_mutex_unlock(p->mu);
    return 0;
}

/* ---- executors ------------------------------------------------------------------------------ */

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
        rc =
            o.threads ? mproc_threadpool_create(&ex->pool, &po) : mproc_pool_create(&ex->pool, &po);
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
                       size_t chunksize, int64_t timeout_ms, mproc_bytes *results, size_t n)
{
    if (check_executor(ex))
        return mproc__fail(MPROC_EINVAL);
    if (mproc__load(&ex->shut_down))
        return mproc__fail(MPROC_ESTATE);
    return mproc_pool_map(ex->pool, task, items, chunksize, timeout_ms, results, n);
}

int mproc_executor_shutdown(mproc_executor *ex, bool wait, bool cancel_futures, int64_t timeout_ms)
{
    if (check_executor(ex))
        return mproc__fail(MPROC_EINVAL);
    mproc__store(&ex->shut_down, true); /* submit may run meanwhile */
    if (cancel_futures)
        cancel_tagged(ex->pool, ex);
    int rc = wait ? wait_tagged(ex->pool, ex, timeout_ms) : 0;
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
