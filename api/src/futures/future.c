/* Futures (concurrent.futures.Future): a future is the pool's mproc_async (mproc_future is
 * mproc_async). What a future adds to an async result: cancel, and done callbacks (the pool
 * keeps them with the call and its result thread runs them, after the call's own). */
#include "pool/private.h"

/* ---- on the pool's calls: cancel, done callbacks -------------------------------------------- */

/* 1 cancelled, 0 started or done. */
static int async_cancel(mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return MPROC_EINVAL;
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    /* Only a call none of whose items went to a worker can be cancelled (again: Python's
     * cancel of a cancelled future is True too). */
    bool can = j->was_cancelled || (!j->complete && j->next_item == 0 && j->inflight == 0);
    if (can && !j->was_cancelled) {
        j->was_cancelled = true;
        mproc__job_fail_locked(p, j, MPROC_ECANCELLED, "cancelled");
    }
    mpp_mutex_unlock(p->mu);
    return can ? 1 : 0;
}

static int async_cancelled(mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return MPROC_EINVAL;
    mpp_mutex_lock(j->pool->mu);
    int cancelled = j->was_cancelled;
    mpp_mutex_unlock(j->pool->mu);
    return cancelled;
}

/* 0 added, 1 done already (the caller calls fn itself). */
static int async_add_done(mproc_async *a, mproc_done_fn fn, void *ctx)
{
    job *j = mproc__job_of(a);
    if (!j || !fn)
        return MPROC_EINVAL;
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    if (j->complete) {
        /* Done (or its other callbacks are running): the caller calls fn now, as Python
         * does for a future that is done. */
        mpp_mutex_unlock(p->mu);
        return 1;
    }
    done_callback *d = mproc_malloc(sizeof *d);
    if (!d) {
        mpp_mutex_unlock(p->mu);
        return MPROC_ENOMEM;
    }
    *d = (done_callback){fn, ctx, NULL};
    done_callback **at = &j->done_callbacks;
    while (*at)
        at = &(*at)->next;
    *at = d;
    mpp_mutex_unlock(p->mu);
    return 0;
}

/* Whether the calling thread is the result thread of a's pool (its callbacks run there). */
static bool async_on_result_thread(mproc_async *a)
{
    job *j = mproc__job_of(a);
    return j && mproc__pool_on_result_thread(j->pool);
}

/* ---- futures -------------------------------------------------------------------------------- */

int mproc_future_cancel(mproc_future *f)
{
    int rc = async_cancel(f);
    return rc < 0 ? mproc__fail(rc) : rc;
}

int mproc_future_cancelled(mproc_future *f)
{
    int rc = async_cancelled(f);
    return rc < 0 ? mproc__fail(rc) : rc;
}

int mproc_future_add_done_callback(mproc_future *f, mproc_done_fn fn, void *ctx)
{
    int rc = async_add_done(f, fn, ctx);
    if (rc == 1) {
        /* Done already: its result is there; wait out its other callbacks, then call (on
         * the result thread itself, from one of those callbacks, waiting would never end). */
        if (!async_on_result_thread(f))
            mproc_async_wait(f, MPROC_FOREVER);
        fn(ctx, f);
        return 0;
    }
    return rc < 0 ? mproc__fail(rc) : 0;
}
