/* imap: a call whose results are read one at a time as they come (in order, or as they
 * finish), over items given at once or read lazily from a source as the window allows. */
#include "pool/private.h"

#define ITER_MAGIC 0x6d704974u

struct mproc_iter {
    uint32_t magic;
    job *j;
};

/* Reads the lazy source while the window allows (the lock is let go around each call). */
static void read_ahead_locked(job *j)
{
    mproc_pool *p = j->pool;
    while (j->next_fn && !j->input_done && !j->cancelled && j->n - j->taken < j->window) {
        mproc_pack_reset(j->scratch);
        mpp_mutex_unlock(p->mu);
        int rc = j->next_fn(j->next_ctx, j->scratch);
        mproc_bytes view = {NULL, 0};
        if (rc == 1 && mproc_pack_count(j->scratch) != 1)
            rc = MPROC_EINVAL; /* one item a call */
        if (rc == 1)
            rc = mproc_pack_view(j->scratch, &view) == 0 ? 1 : MPROC_EINVAL;
        mpp_mutex_lock(p->mu);
        if (rc == 1)
            rc = mproc__job_add_items(j, view.data, view.len, 1,
                                      mproc__pack_has_handles(j->scratch)) == 0
                     ? 1
                     : MPROC_ENOMEM;
        if (rc != 1) {
            j->input_done = true;
            j->source_error = rc < 0 ? rc : 0;
            if (j->done == j->n)
                mproc__job_complete_locked(p, j);
            mproc__job_retire_locked(j);
            break;
        }
        mproc__pending_add_locked(p, j);
    }
    mproc__pool_dispatch_locked(p);
}

static int imap_start(mproc_pool *p, const char *task, const mproc_pack *items, mproc_next_fn next,
                      void *ctx, size_t chunksize, bool unordered, size_t window, mproc_iter **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (!items && !next)
        return mproc__fail(MPROC_EINVAL);
    job *j;
    int rc = mproc__pool_new_job(p, JOB_IMAP, task, false, &j);
    if (rc)
        return mproc__fail(rc);
    j->unordered = unordered;
    j->chunksize = chunksize ? chunksize : 1;
    rc = mproc__job_reserve(j, 1, false); /* again: `finished` exists only when unordered */
    if (!rc && items) {
        rc = mproc__job_add_pack_items(j, items);
        j->input_done = true;
    } else if (!rc) {
        j->next_fn = next;
        j->next_ctx = ctx;
        j->window = window ? window : 64 * j->chunksize * (size_t)p->processes;
        rc = mproc_pack_create(&j->scratch);
    }
    mproc_iter *it = rc ? NULL : mproc_malloc(sizeof *it);
    if (!rc && !it)
        rc = MPROC_ENOMEM;
    if (rc) {
        mproc__job_free(j);
        return mproc__fail(rc);
    }
    rc = mproc__pool_submit(p, j);
    if (rc) {
        mproc_free(it);
        return mproc__fail(rc);
    }
    it->magic = ITER_MAGIC;
    it->j = j;
    *out = it;
    if (next) { /* read ahead now, so work starts before the first next */
        mpp_mutex_lock(p->mu);
        read_ahead_locked(j);
        mpp_mutex_unlock(p->mu);
    }
    return 0;
}

int mproc_pool_imap(mproc_pool *p, const char *task, const mproc_pack *items, size_t chunksize,
                    mproc_iter **out)
{
    return imap_start(p, task, items, NULL, NULL, chunksize, false, 0, out);
}

int mproc_pool_imap_unordered(mproc_pool *p, const char *task, const mproc_pack *items,
                              size_t chunksize, mproc_iter **out)
{
    return imap_start(p, task, items, NULL, NULL, chunksize, true, 0, out);
}

int mproc_pool_imap_lazy(mproc_pool *p, const char *task, mproc_next_fn next, void *ctx,
                         const mproc_imap_opts *opts, mproc_iter **out)
{
    if (!next)
        return mproc__fail(MPROC_EINVAL);
    mproc_imap_opts o = opts ? *opts : (mproc_imap_opts){0};
    return imap_start(p, task, NULL, next, ctx, o.chunksize, o.unordered, o.window, out);
}

int mproc_iter_next(mproc_iter *it, int64_t timeout_ms, mproc_bytes *result)
{
    if (result)
        *result = (mproc_bytes){NULL, 0};
    if (!it || it->magic != ITER_MAGIC || !result)
        return mproc__fail(MPROC_EINVAL);
    job *j = it->j;
    mproc_pool *p = j->pool;
    int64_t deadline = mproc__deadline(timeout_ms);
    int rc;
    mpp_mutex_lock(p->mu);
    for (;;) {
        read_ahead_locked(j);
        size_t index = SIZE_MAX;
        if (!j->unordered && j->taken < j->n && j->have[j->taken])
            index = j->taken;
        else if (j->unordered && j->taken < j->finished_len)
            index = j->finished[j->taken];
        if (index != SIZE_MAX) {
            j->taken++;
            *result = j->results[index];
            j->results[index] = (mproc_bytes){NULL, 0};
            rc = j->codes[index] ? j->codes[index] : 1;
            break;
        }
        if (j->input_done && j->taken == j->n) {
            rc = j->source_error; /* 0: the end */
            j->source_error = 0;
            break;
        }
        int64_t left = mproc__remaining(deadline);
        if (left == 0) {
            rc = MPROC_ETIMEDOUT;
            break;
        }
        mpp_cond_wait(p->cond, p->mu, left < 0 || left > 1000 ? 1000 : left);
    }
    mpp_mutex_unlock(p->mu);
    return rc < 0 ? mproc__fail(rc) : rc;
}

void mproc_iter_destroy(mproc_iter *it)
{
    if (!it || it->magic != ITER_MAGIC)
        return;
    job *j = it->j;
    it->magic = 0;
    mproc_free(it);
    mproc__job_cancel(j);
    mproc__job_release(j);
}
