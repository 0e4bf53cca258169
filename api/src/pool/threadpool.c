/* The thread pool (multiprocessing.dummy): a pool whose workers are threads of this process.
 *
 * Worker threads take chunks from the same pending list the process pool's dispatcher
 * reads, run them, and store the results as they are (no messages); the result thread
 * of a thread pool only runs callbacks and replaces worker threads that ended. */
#include <string.h>

#include "pool/workers.h"

typedef struct item_outcome {
    int code;
    mproc_bytes bytes;
} item_outcome;

static void thread_worker_main(void *arg)
{
    worker *w = arg;
    mproc_pool *p = w->pool;
    mproc_pack *out = NULL; /* every task of this thread writes its result here */
    if (mproc_pack_create(&out) != 0) {
        mproc_log(MPROC_LOG_WARNING, "a pool worker thread is out of memory");
        mpp_mutex_lock(p->mu);
        w->thread_ended = true;
        mpp_cond_broadcast(p->cond);
        mpp_mutex_unlock(p->mu);
        return;
    }
    if (p->initializer) {
        mproc_bytes in = {NULL, 0};
        mproc_pack_view(p->initargs, &in);
        mproc_task_fn init = mproc_task_lookup(p->initializer);
        int code = init ? init(&in, out) : MPROC_ENOTASK;
        char *text = code ? mproc__failure_text(p->initializer, code, out) : NULL;
        mproc_pack_reset(out); /* an initializer's result is dropped */
        if (code) {
            mproc_pack_destroy(out);
            mpp_mutex_lock(p->mu);
            if (!p->init_error)
                p->init_error = text ? text : mproc_strdup("(no text)");
            else
                mproc_free(text);
            w->thread_ended = true;
            mpp_cond_broadcast(p->cond);
            mpp_mutex_unlock(p->mu);
            return;
        }
    }
    mproc__buf items = {0};
    item_outcome *outcomes = NULL;
    size_t outcomes_cap = 0;
    int64_t chunks_done = 0;
    mpp_mutex_lock(p->mu);
    for (;;) {
        if (p->state == POOL_TERMINATE || p->init_error)
            break;
        chunk scratch;
        chunk *c = mproc__pool_peek_work_locked(p, &scratch);
        if (!c) {
            if (p->state == POOL_CLOSE && !mproc__pool_work_left_locked(p))
                break;
            mpp_cond_wait(p->work_cond, p->mu, 1000);
            continue;
        }
        job *j = c->job;
        chunk taken = scratch;
        mproc__job_take_chunk_locked(j, &taken);
        /* A copy of the items: a lazy imap may grow (move) the job's buffer meanwhile. */
        items.len = 0;
        int rc = mproc__buf_append(&items, j->items.data + taken.byte_at, taken.byte_len);
        if (!rc && outcomes_cap < taken.count) {
            item_outcome *grown = mproc_realloc(outcomes, taken.count * sizeof *grown);
            rc = grown ? 0 : MPROC_ENOMEM;
            if (grown) {
                outcomes = grown;
                outcomes_cap = taken.count;
            }
        }
        mproc_task_fn fn = mproc_task_lookup(j->task);
        bool star = j->star;
        char task[MPROC_TASK_NAME_MAX + 1];
        memcpy(task, j->task, sizeof task);
        mpp_mutex_unlock(p->mu);
        mproc_unpacker u = {items.data, items.len, 0};
        for (size_t i = 0; !rc && i < taken.count; i++) {
            size_t at = u.pos;
            mproc_unpack_skip(&u);
            mproc_bytes in = {items.data + at, u.pos - at}, result = {NULL, 0};
            if (star) {
                mproc_unpacker field = {items.data + at, u.pos - at, 0}, inner;
                mproc_unpack_pack(&field, &inner);
                in = (mproc_bytes){(void *)inner.data, inner.len};
            }
            char *text = NULL;
            int code = fn ? mproc__run_task(fn, task, &in, out, &result, &text) : MPROC_ENOTASK;
            if (!fn) { /* as the process pool's message before it was known */
                text = mproc__failure_text(task, code, NULL);
                code = MPROC_ETASK;
            }
            mproc_bytes copy = {NULL, 0};
            if (code == 0 && result.len && mproc_bytes_copy(&copy, result.data, result.len) != 0) {
                code = MPROC_ENOMEM;
                text = mproc_strdup("out of memory in a worker thread");
            }
            if (code == 0)
                outcomes[i] = (item_outcome){0, copy};
            else
                outcomes[i] = (item_outcome){code, {text, text ? strlen(text) + 1 : 0}};
        }
        mpp_mutex_lock(p->mu);
        for (size_t i = 0; i < taken.count; i++) {
            if (rc) {
                static const char oom[] = "out of memory in a worker thread";
                char *text = mproc_malloc(sizeof oom);
                if (text)
                    memcpy(text, oom, sizeof oom);
                mproc__job_store_result_locked(p, j, taken.first + i, MPROC_ENOMEM, text,
                                               text ? sizeof oom : 0);
            } else {
                mproc__job_store_result_locked(p, j, taken.first + i, outcomes[i].code,
                                               outcomes[i].bytes.data, outcomes[i].bytes.len);
            }
        }
        j->inflight--;
        mproc__job_retire_locked(j);
        p->wake_iterators = false;
        mpp_cond_broadcast(p->cond); /* waiters, iterators and the callback thread */
        if (p->maxtasks > 0 && ++chunks_done >= p->maxtasks)
            break; /* the result thread starts a new worker thread */
    }
    w->thread_ended = true;
    mpp_cond_broadcast(p->cond);
    mpp_mutex_unlock(p->mu);
    mproc__buf_free(&items);
    mproc_free(outcomes);
    mproc_pack_destroy(out);
}

static int live_threads_locked(const mproc_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->processes; i++)
        n += p->workers[i].thread != NULL;
    return n;
}

static int start_thread_locked(mproc_pool *p, int slot)
{
    worker *w = &p->workers[slot];
    memset(w, 0, sizeof *w);
    w->pool = p;
    int rc = mpp_thread_start(&w->thread, thread_worker_main, w);
    if (rc)
        w->thread = NULL;
    return rc;
}

/* The thread pool's result thread: callbacks, and worker threads that ended. */
static void thread_pool_main(void *arg)
{
    mproc_pool *p = arg;
    bool init_failure_handled = false;
    mpp_mutex_lock(p->mu);
    mproc__store(&p->result_tid, mpp_thread_id());
    for (;;) {
        /* Whenever the lock was let go, look again before sleeping. */
        bool joined = mproc__pool_run_callbacks_locked(p);
        for (int i = 0; i < p->processes; i++) {
            worker *w = &p->workers[i];
            if (!w->thread || !w->thread_ended)
                continue;
            joined = true;
            mpp_thread *t = w->thread;
            mpp_mutex_unlock(p->mu);
            mpp_thread_join(t);
            mpp_mutex_lock(p->mu);
            memset(w, 0, sizeof *w);
            bool want =
                !p->init_error && (p->state == POOL_RUN ||
                                   (p->state == POOL_CLOSE && mproc__pool_work_left_locked(p)));
            if (want && start_thread_locked(p, i) != 0)
                mproc_log(MPROC_LOG_WARNING, "could not start a pool worker thread");
        }
        if (p->init_error && !init_failure_handled) {
            mproc__pool_fail_initializer_locked(p, NULL);
            mpp_cond_broadcast(p->work_cond);
            init_failure_handled = true;
            continue;
        }
        if (p->state == POOL_CLOSE && !mproc__pool_work_left_locked(p))
            mpp_cond_broadcast(p->work_cond); /* idle workers: time to go */
        if (p->state != POOL_RUN && live_threads_locked(p) == 0 && !p->notify_head)
            break;
        if (!p->notify_head && !joined)
            mpp_cond_wait(p->cond, p->mu, 1000);
    }
    p->result_thread_done = true;
    mpp_cond_broadcast(p->cond);
    mpp_mutex_unlock(p->mu);
}

int mproc_threadpool_create(mproc_pool **out, const mproc_pool_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_pool *p;
    int rc = mproc__pool_new(opts, true, &p);
    if (rc)
        return mproc__fail(rc);
    rc = mpp_cond_create(&p->work_cond);
    if (rc) {
        mproc__pool_free(p);
        return mproc__fail(rc);
    }
    p->method_label = "Thread";
    p->magic = POOL_MAGIC;
    mpp_mutex_lock(p->mu);
    for (int i = 0; !rc && i < p->processes; i++)
        rc = start_thread_locked(p, i);
    mpp_mutex_unlock(p->mu);
    rc = rc ? rc : mpp_thread_start(&p->result_thread, thread_pool_main, p);
    if (rc) {
        /* Stop what started: terminate, then join the threads by hand. */
        mpp_mutex_lock(p->mu);
        p->state = POOL_TERMINATE;
        mpp_cond_broadcast(p->work_cond);
        mpp_mutex_unlock(p->mu);
        for (int i = 0; i < p->processes; i++)
            mpp_thread_join(p->workers[i].thread);
        mproc__pool_free(p);
        return mproc__fail(rc);
    }
    *out = p;
    return 0;
}
