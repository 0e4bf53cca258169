/* Waiting on many calls, of any pools (concurrent.futures.wait and as_completed). */
#include <string.h>

#include "pool/private.h"

/* ---- waiting on calls of any pool (mproc_wait) ------------------------------------------------
 * A process-wide generation counter that moves whenever a call of any pool is done, so one
 * wait can cover calls of several pools. Only touched while someone waits. The pools tell
 * of each call done through the hook set here (mproc__pool_on_call_done). */
static mpp_mutex *done_mu;
static mpp_cond *done_cond;
static uint64_t done_generation;
static int done_waiters;

static void signal_done_waiters(void)
{
    if (mproc__load(&done_waiters) == 0)
        return;
    mpp_mutex_lock(done_mu);
    done_generation++;
    mpp_cond_broadcast(done_cond);
    mpp_mutex_unlock(done_mu);
}

static int done_wait_setup(void)
{
    int rc = 0;
    mpp_lock();
    if (!done_mu) {
        rc = mpp_mutex_create(&done_mu);
        if (!rc && (rc = mpp_cond_create(&done_cond)) != 0) {
            mpp_mutex_destroy(done_mu);
            done_mu = NULL;
        }
        if (!rc)
            mproc__pool_on_call_done(signal_done_waiters);
    }
    mpp_unlock();
    return rc;
}

/* 0 still running, 1 done and successful, 2 done and failed (cancelled included). */
static int async_state(const mproc_async *a)
{
    const job *j = a->j;
    if (!mproc__load(&j->notified))
        return 0;
    return j->error_code == 0 ? 1 : 2;
}

int mproc_wait(mproc_async *const *items, size_t n, mproc_wait_mode mode, int64_t timeout_ms,
               bool *done)
{
    if ((!items && n) || mode < MPROC_WAIT_ALL || mode > MPROC_WAIT_FIRST_ERROR)
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < n; i++)
        if (!mproc__job_of(items[i]))
            return mproc__fail(MPROC_EINVAL);
    int rc = done_wait_setup();
    if (rc)
        return mproc__fail(rc);
    int64_t deadline = mproc__deadline(timeout_ms);
    mproc__add(&done_waiters, 1);
    int result;
    for (;;) {
        mpp_mutex_lock(done_mu);
        uint64_t generation = done_generation;
        mpp_mutex_unlock(done_mu);
        size_t count = 0;
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            int state = async_state(items[i]);
            if (done)
                done[i] = state != 0;
            count += state != 0;
            failed |= state == 2;
        }
        bool met = mode == MPROC_WAIT_ALL   ? count == n
                   : mode == MPROC_WAIT_ANY ? count > 0 || n == 0
                                            : failed || count == n;
        if (met) {
            result = (int)count;
            break;
        }
        int64_t ms = mproc__remaining(deadline);
        if (ms == 0) {
            result = MPROC_ETIMEDOUT;
            break;
        }
        mpp_mutex_lock(done_mu);
        if (done_generation == generation)
            mpp_cond_wait(done_cond, done_mu, ms < 0 || ms > 1000 ? 1000 : ms);
        mpp_mutex_unlock(done_mu);
    }
    mproc__sub(&done_waiters, 1);
    return result < 0 ? mproc__fail(result) : result;
}

/* ---- as_completed --------------------------------------------------------------------------- */

struct mproc_as_completed {
    mproc_async **items;
    bool *given;
    size_t n, left;
};

int mproc_as_completed_create(mproc_as_completed **out, mproc_async *const *items, size_t n)
{
    if (!out || (!items && n))
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!mproc__job_of(items[i]))
            return mproc__fail(MPROC_EINVAL);
    mproc_as_completed *it = mproc_calloc(1, sizeof *it);
    if (it && n) {
        it->items = mproc_malloc(n * sizeof *it->items);
        it->given = mproc_calloc(n, sizeof *it->given);
    }
    if (!it || (n && (!it->items || !it->given))) {
        mproc_as_completed_destroy(it);
        return mproc__fail(MPROC_ENOMEM);
    }
    if (n)
        memcpy(it->items, items, n * sizeof *items);
    it->n = it->left = n;
    *out = it;
    return 0;
}

int mproc_as_completed_next(mproc_as_completed *it, int64_t timeout_ms, size_t *index)
{
    if (!it || !index)
        return mproc__fail(MPROC_EINVAL);
    if (it->left == 0)
        return 0;
    int rc = done_wait_setup();
    if (rc)
        return mproc__fail(rc);
    int64_t deadline = mproc__deadline(timeout_ms);
    mproc__add(&done_waiters, 1);
    for (;;) {
        mpp_mutex_lock(done_mu);
        uint64_t generation = done_generation;
        mpp_mutex_unlock(done_mu);
        /* The first done in the order they were given (ties are rare: they finished while
         * nobody looked). */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < it->n && best == SIZE_MAX; i++)
            if (!it->given[i] && async_state(it->items[i]) != 0)
                best = i;
        if (best != SIZE_MAX) {
            it->given[best] = true;
            it->left--;
            *index = best;
            rc = 1;
            break;
        }
        int64_t ms = mproc__remaining(deadline);
        if (ms == 0) {
            rc = MPROC_ETIMEDOUT;
            break;
        }
        mpp_mutex_lock(done_mu);
        if (done_generation == generation)
            mpp_cond_wait(done_cond, done_mu, ms < 0 || ms > 1000 ? 1000 : ms);
        mpp_mutex_unlock(done_mu);
    }
    mproc__sub(&done_waiters, 1);
    return rc < 0 ? mproc__fail(rc) : rc;
}

void mproc_as_completed_destroy(mproc_as_completed *it)
{
    if (!it)
        return;
    mproc_free(it->items);
    mproc_free(it->given);
    mproc_free(it);
}
