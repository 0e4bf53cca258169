/* The process pool. This file: creating and ending pools (of both kinds), submitting calls,
 * async results; pool/private.h lists the others.
 *
 * Each worker has a task queue of its own (the parent is its only producer) and all
 * workers put results into one result queue that a thread of the parent (the result
 * thread) reads. Because the parent chose the worker for every message, it knows what
 * each worker holds: when a worker dies, the messages still in its queue are taken back
 * and given to others, and only the ones it had taken fail, with MPROC_EWORKER.
 *
 * A worker holds at most `depth` messages: 1 while the call's tasks are slow (so a long
 * task never keeps others queued behind it while another worker idles, as with Python's
 * shared queue), more as they prove fast (enough for about 2 ms of work), so that tiny
 * tasks stream without the workers ever waiting for the parent.
 *
 * Messages small enough to go into a task queue whole are put there without waiting, by
 * whichever thread holds the pool's lock (the caller, or the result thread as results free
 * room). Larger ones are streamed by a sender thread, to idle workers, so the result
 * thread never blocks on a put (it must keep draining results, or a worker blocked on a
 * large result could never take its next task).
 *
 * Objects in a task's arguments reach a running worker through mpp_give_handles: POSIX
 * sends the descriptors over a socket pair made for the worker (a backend whose
 * mpp_give_handles_needs_conn() is true), Windows duplicates the handles into the worker's
 * process.
 *
 * Locking: one mutex per pool guards everything here; callbacks and process starts run
 * without it. A call's state (mproc_async, mproc_iter) refers to the pool, which is freed
 * when its creator and every call are done with it. */
#include <string.h>

#include "pool/workers.h"

/* ---- creating and ending the pool ----------------------------------------------------------- */

static const char *method_label(mproc_start_method m)
{
    switch (m) {
    case MPROC_FORK: return "Fork";
    case MPROC_FORKSERVER: return "ForkServer";
    default: return "Spawn";
    }
}

void mproc__pool_free(mproc_pool *p)
{
    mpp_cond_destroy(p->cond);
    mpp_cond_destroy(p->send_cond);
    mpp_cond_destroy(p->work_cond);
    mpp_mutex_destroy(p->mu);
    mproc__buf_free(&p->msg);
    mproc_pack_destroy(p->initargs);
    mproc_free(p->initializer);
    mproc_free(p->init_error);
    mproc_free(p->workers);
    mproc_free(p);
}

static void pool_teardown(mproc_pool *p)
{
    /* Only after the threads ended, or before they started. */
    for (int i = 0; p->workers && i < p->processes; i++) {
        worker *w = &p->workers[i];
        if (!w->proc)
            continue;
        mproc_process_kill(w->proc);
        mproc_process_join(w->proc, 10000);
        mproc_process_destroy(w->proc);
        mproc_queue_destroy(w->tasks);
        mproc_conn_destroy(w->hands);
        while (w->head) {
            chunk *c = w->head;
            w->head = c->next;
            c->job->inflight--;
            mproc__job_retire_locked(c->job);
            mproc_free(c);
        }
        memset(w, 0, sizeof *w);
    }
    while (p->returned_head) {
        chunk *c = p->returned_head;
        p->returned_head = c->next;
        c->job->inflight--;
        mproc__job_retire_locked(c->job);
        mproc_free(c);
    }
    while (p->pending_head) {
        job *j = p->pending_head;
        mproc__pending_drop_head_locked(p);
        mproc__job_retire_locked(j);
    }
    if (p->results)
        mproc_queue_destroy(p->results);
    p->results = NULL;
}

/* What both kinds of pool start from: options checked, the lock, the worker slots. */
int mproc__pool_new(const mproc_pool_opts *opts, bool threads, mproc_pool **out)
{
    mproc_pool_opts o = opts ? *opts : (mproc_pool_opts){0};
    if (o.initializer && !mproc_task_lookup(o.initializer))
        return MPROC_ENOTASK;
    mproc_pool *p = mproc_calloc(1, sizeof *p);
    if (!p)
        return MPROC_ENOMEM;
    p->threads = threads;
    p->processes = o.processes > 0 ? o.processes : mproc_cpu_count_usable();
    p->maxtasks = o.maxtasksperchild > 0 ? o.maxtasksperchild : 0;
    p->refs = 1;
    int rc = mpp_mutex_create(&p->mu);
    rc = rc ? rc : mpp_cond_create(&p->cond);
    if (!rc && o.initializer && !(p->initializer = mproc_strdup(o.initializer)))
        rc = MPROC_ENOMEM;
    rc = rc ? rc : mproc__pack_copy(o.initargs, &p->initargs);
    if (!rc && !(p->workers = mproc_calloc((size_t)p->processes, sizeof *p->workers)))
        rc = MPROC_ENOMEM;
    if (rc) {
        mproc__pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int mproc_pool_create(mproc_pool **out, const mproc_pool_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_start_method method =
        opts && opts->ctx ? mproc_context_method(opts->ctx) : mproc_get_start_method();
    if (method == MPROC_METHOD_DEFAULT)
        method = mproc_get_start_method();
    if (!mproc_start_method_available(method))
        return mproc__fail(MPROC_ENOTSUP);
    mproc_pool *p;
    int rc = mproc__pool_new(opts, false, &p);
    if (rc)
        return mproc__fail(rc);
    p->method_label = method_label(method);
    rc = mproc_context_get(&p->ctx, method);
    rc = rc ? rc : mpp_cond_create(&p->send_cond);
    rc = rc ? rc
            : mproc_queue_create_opts(&p->results, &(mproc_queue_opts){.ring_bytes = RESULT_RING});
    if (!rc) {
        mpp_mutex_lock(p->mu);
        for (int i = 0; !rc && i < p->processes; i++)
            rc = mproc__pool_start_worker_locked(p, i);
        mpp_mutex_unlock(p->mu);
    }
    rc = rc ? rc : mpp_thread_start(&p->result_thread, mproc__pool_result_main, p);
    if (rc) {
        pool_teardown(p);
        mproc__pool_free(p);
        return mproc__fail(rc);
    }
    p->magic = POOL_MAGIC;
    rc = mpp_thread_start(&p->sender_thread, mproc__pool_sender_main, p);
    if (rc) {
        mproc_pool_destroy(p);
        return mproc__fail(rc);
    }
    *out = p;
    return 0;
}

int mproc_pool_close(mproc_pool *p)
{
    if (mproc__pool_check(p))
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(p->mu);
    if (p->state == POOL_RUN)
        p->state = POOL_CLOSE;
    mpp_mutex_unlock(p->mu);
    mproc__pool_wake_result_thread(p);
    return 0;
}

int mproc_pool_terminate(mproc_pool *p)
{
    if (mproc__pool_check(p))
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(p->mu);
    if (p->state != POOL_TERMINATE) {
        p->state = POOL_TERMINATE;
        mproc__pool_fail_all_locked(p, MPROC_ECLOSED, "the pool was terminated");
        if (p->threads)
            mpp_cond_broadcast(p->work_cond);
    }
    mpp_mutex_unlock(p->mu);
    mproc__pool_wake_result_thread(p);
    return 0;
}

int mproc_pool_join(mproc_pool *p, int64_t timeout_ms)
{
    if (mproc__pool_check(p))
        return mproc__fail(MPROC_EINVAL);
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_mutex_lock(p->mu);
    if (p->state == POOL_RUN || mproc__pool_on_result_thread(p)) {
        mpp_mutex_unlock(p->mu);
        return mproc__fail(MPROC_ESTATE);
    }
    while (!p->result_thread_done) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0) {
            mpp_mutex_unlock(p->mu);
            return mproc__fail(MPROC_ETIMEDOUT);
        }
        mpp_cond_wait(p->cond, p->mu, left < 0 || left > 1000 ? 1000 : left);
    }
    mpp_thread *rt = p->result_thread, *st = p->sender_thread;
    p->result_thread = p->sender_thread = NULL;
    p->sender_exit = true;
    if (p->send_cond)
        mpp_cond_broadcast(p->send_cond);
    mpp_mutex_unlock(p->mu);
    /* The thread that sees them first joins the threads; others find them gone. */
    mpp_thread_join(rt);
    mpp_thread_join(st);
    return 0;
}

void mproc_pool_destroy(mproc_pool *p)
{
    if (mproc__pool_check(p))
        return;
    if (mproc__pool_on_result_thread(p)) {
        mproc_log(MPROC_LOG_ERROR, "mproc_pool_destroy called from a callback: refused");
        return;
    }
    mproc_pool_terminate(p);
    /* terminate stops the workers within STOP_GRACE_MS and a kill: this ends. */
    while (mproc_pool_join(p, 60000) == MPROC_ETIMEDOUT)
        mproc_log(MPROC_LOG_WARNING, "pool workers are slow to end");
    mpp_mutex_lock(p->mu);
    p->magic = 0;
    pool_teardown(p);
    bool free_it;
    mproc__pool_unref_locked(p, &free_it);
    mpp_mutex_unlock(p->mu);
    if (free_it)
        mproc__pool_free(p);
}

int mproc_pool_size(const mproc_pool *p)
{
    return mproc__pool_check(p) ? mproc__fail(MPROC_EINVAL) : p->processes;
}

int mproc_pool_workers(mproc_pool *p, int64_t *pids, size_t cap)
{
    if (mproc__pool_check(p) || (!pids && cap))
        return mproc__fail(MPROC_EINVAL);
    int n = 0;
    mpp_mutex_lock(p->mu);
    for (int i = 0; i < p->processes; i++) {
        worker *w = &p->workers[i];
        bool live = p->threads ? w->thread && !w->thread_ended
                               : w->proc && !w->starting && mproc_process_is_alive(w->proc) == 1;
        if (!live)
            continue;
        if ((size_t)n < cap)
            pids[n] = p->threads ? mproc_getpid() : w->pid;
        n++;
    }
    mpp_mutex_unlock(p->mu);
    return n;
}

/* ---- submitting calls ----------------------------------------------------------------------- */

int mproc__pool_new_job(mproc_pool *p, int kind, const char *task, bool star, job **out)
{
    if (mproc__pool_check(p) || !task)
        return MPROC_EINVAL;
    if (strlen(task) > MPROC_TASK_NAME_MAX || !mproc_task_lookup(task))
        return MPROC_ENOTASK;
    job *j = mproc_calloc(1, sizeof *j);
    if (!j)
        return MPROC_ENOMEM;
    j->pool = p;
    j->kind = kind;
    j->star = star;
    memcpy(j->task, task, strlen(task) + 1);
    if (mproc__job_reserve(j, 1, false) != 0) {
        mproc__job_free(j);
        return MPROC_ENOMEM;
    }
    *out = j;
    return 0;
}

/* Hands a filled job to the pool: it is then the pool's (and the caller's, via *handle). */
int mproc__pool_submit(mproc_pool *p, job *j)
{
    mpp_mutex_lock(p->mu);
    if (p->state != POOL_RUN) {
        mpp_mutex_unlock(p->mu);
        mproc__job_free(j);
        return MPROC_ESTATE;
    }
    p->refs++;
    j->avg_chunk_us = mproc__pool_recall_speed_locked(p, j->task);
    j->all_next = p->all_head;
    if (p->all_head)
        p->all_head->all_prev = j;
    p->all_head = j;
    if (p->init_error) {
        mproc__pool_fail_initializer_locked(p, j);
    } else if (j->input_done && j->n == 0) {
        mproc__job_complete_locked(p, j); /* map over nothing */
        mproc__job_retire_locked(j);
    } else {
        mproc__pending_add_locked(p, j);
        mproc__pool_dispatch_locked(p);
    }
    mpp_mutex_unlock(p->mu);
    return 0;
}

void mproc__job_release(job *j)
{
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    j->user_released = true;
    bool free_pool = mproc__job_maybe_free_locked(j);
    mpp_mutex_unlock(p->mu);
    if (free_pool)
        mproc__pool_free(p);
}

void mproc__job_cancel(job *j)
{
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    j->cancelled = true;
    j->input_done = true;
    if (!j->complete && j->inflight == 0) {
        j->complete = true; /* nothing will come: no callbacks either */
        mproc__job_mark_notified_locked(p, j);
    }
    mproc__job_retire_locked(j);
    mpp_mutex_unlock(p->mu);
}

/* A call whose items are all known: its options, then to the pool. */
static int submit_items(mproc_pool *p, job *j, size_t chunksize, const mproc_call_opts *opts,
                        job **out)
{
    j->input_done = true;
    j->chunksize = chunksize;
    if (opts) {
        j->callback = opts->callback;
        j->error_callback = opts->error_callback;
        j->ctx = opts->ctx;
    }
    int rc = mproc__pool_submit(p, j);
    if (!rc)
        *out = j;
    return rc;
}

static int apply_job_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                            const mproc_call_opts *opts, const void *tag, job **out)
{
    job *j;
    int rc = mproc__pool_new_job(p, JOB_APPLY, task, true, &j);
    if (rc)
        return rc;
    j->tag = tag;
    /* The call is one item: its args as a nested pack field (tag, u64 length, bytes). */
    mproc__packed packed;
    rc = mproc__pack_open(args, &packed);
    if (rc) {
        mproc__job_free(j);
        return rc;
    }
    mproc_bytes view = packed.bytes;
    uint8_t small[256], *field = small;
    size_t field_len = 9 + view.len;
    if (!rc && field_len > sizeof small && !(field = mproc_malloc(field_len)))
        rc = MPROC_ENOMEM;
    if (!rc) {
        field[0] = MPROC_FIELD_PACK;
        for (int b = 0; b < 8; b++)
            field[1 + b] = (uint8_t)((uint64_t)view.len >> (8 * b));
        if (view.len)
            memcpy(field + 9, view.data, view.len);
        rc = mproc__job_add_items(j, field, field_len, 1, packed.has_handles);
    }
    if (field != small)
        mproc_free(field);
    mproc__pack_close(&packed);
    if (rc) {
        mproc__job_free(j);
        return rc;
    }
    return submit_items(p, j, 1, opts, out);
}

static int map_job(mproc_pool *p, int kind, const char *task, const mproc_pack *items, bool star,
                   size_t chunksize, const mproc_call_opts *opts, job **out)
{
    if (!items)
        return MPROC_EINVAL;
    job *j;
    int rc = mproc__pool_new_job(p, kind, task, star, &j);
    if (rc)
        return rc;
    rc = mproc__job_add_pack_items(j, items);
    if (rc) {
        mproc__job_free(j);
        return rc;
    }
    return submit_items(p, j, chunksize, opts, out);
}

/* Waits until the call is finished and its callbacks ran. Under the lock. */
static int wait_job_locked(job *j, int64_t deadline)
{
    mproc_pool *p = j->pool;
    while (!j->notified) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            return MPROC_ETIMEDOUT;
        mpp_cond_wait(p->cond, p->mu, left < 0 || left > 1000 ? 1000 : left);
    }
    return 0;
}

/* Copies (or, for a call of our own, moves) the results out; on failure results[0] is
 * the error text. */
static int take_results_locked(job *j, mproc_bytes *results, size_t n, bool move)
{
    for (size_t i = 0; i < n; i++)
        results[i] = (mproc_bytes){NULL, 0};
    if (j->error_code) {
        const char *text = j->error_text ? j->error_text : mproc_strerror(j->error_code);
        if (n && mproc_bytes_copy(&results[0], text, strlen(text) + 1) != 0)
            return MPROC_ENOMEM;
        return j->error_code;
    }
    for (size_t i = 0; i < n && i < j->n; i++) {
        if (move) {
            results[i] = j->results[i];
            j->results[i] = (mproc_bytes){NULL, 0};
        } else if (j->results[i].len) {
            if (mproc_bytes_copy(&results[i], j->results[i].data, j->results[i].len) != 0) {
                mproc_bytes_free_array(results, i);
                return MPROC_ENOMEM;
            }
        }
    }
    return 0;
}

static int apply_job(mproc_pool *p, const char *task, const mproc_pack *args,
                     const mproc_call_opts *opts, job **out)
{
    return apply_job_tagged(p, task, args, opts, NULL, out);
}

/* A blocking call: wait, take the results, drop the call (stopping what is left of it on
 * a timeout). */
static int finish_sync(job *j, mproc_bytes *results, size_t n, int64_t timeout_ms)
{
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    int rc = wait_job_locked(j, mproc__deadline(timeout_ms));
    if (!rc)
        rc = take_results_locked(j, results, n, true);
    mpp_mutex_unlock(p->mu);
    if (rc == MPROC_ETIMEDOUT)
        mproc__job_cancel(j);
    mproc__job_release(j);
    return rc;
}

int mproc_pool_apply(mproc_pool *p, const char *task, const mproc_pack *args, int64_t timeout_ms,
                     mproc_bytes *result)
{
    if (result)
        *result = (mproc_bytes){NULL, 0};
    if (!result)
        return mproc__fail(MPROC_EINVAL);
    job *j;
    int rc = apply_job(p, task, args, NULL, &j);
    if (rc)
        return mproc__fail(rc);
    rc = finish_sync(j, result, 1, timeout_ms);
    return rc ? mproc__fail(rc) : 0;
}

static int wrap_async(job *j, mproc_async **out)
{
    if (!out) { /* fire and forget */
        mproc__job_release(j);
        return 0;
    }
    mproc_async *a = &j->self;
    a->magic = ASYNC_MAGIC;
    a->j = j;
    mpp_mutex_lock(j->pool->mu);
    j->handle = a;
    mpp_mutex_unlock(j->pool->mu);
    *out = a;
    return 0;
}

int mproc_pool_apply_async(mproc_pool *p, const char *task, const mproc_pack *args,
                           const mproc_call_opts *opts, mproc_async **out)
{
    if (out)
        *out = NULL;
    job *j;
    int rc = apply_job(p, task, args, opts, &j);
    return rc ? mproc__fail(rc) : wrap_async(j, out);
}

static int map_sync(mproc_pool *p, const char *task, const mproc_pack *items, bool star,
                    mproc_bytes *results, size_t n, size_t chunksize, int64_t timeout_ms)
{
    if (!results || !items)
        return mproc__fail(MPROC_EINVAL);
    int count = mproc_pack_count(items);
    if (count < 0 || (size_t)count != n) /* before touching results: it may hold fewer */
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < n; i++)
        results[i] = (mproc_bytes){NULL, 0};
    job *j;
    int rc = map_job(p, JOB_MAP, task, items, star, chunksize, NULL, &j);
    if (rc)
        return mproc__fail(rc);
    rc = finish_sync(j, results, n, timeout_ms);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_pool_map(mproc_pool *p, const char *task, const mproc_pack *items, size_t chunksize,
                   int64_t timeout_ms, mproc_bytes *results, size_t n)
{
    return map_sync(p, task, items, false, results, n, chunksize, timeout_ms);
}

int mproc_pool_starmap(mproc_pool *p, const char *task, const mproc_pack *items, size_t chunksize,
                       int64_t timeout_ms, mproc_bytes *results, size_t n)
{
    return map_sync(p, task, items, true, results, n, chunksize, timeout_ms);
}

int mproc_pool_map_async(mproc_pool *p, const char *task, const mproc_pack *items,
                         const mproc_call_opts *opts, mproc_async **out)
{
    if (out)
        *out = NULL;
    job *j;
    int rc = map_job(p, JOB_MAP, task, items, false, opts ? opts->chunksize : 0, opts, &j);
    return rc ? mproc__fail(rc) : wrap_async(j, out);
}

int mproc_pool_starmap_async(mproc_pool *p, const char *task, const mproc_pack *items,
                             const mproc_call_opts *opts, mproc_async **out)
{
    if (out)
        *out = NULL;
    job *j;
    int rc = map_job(p, JOB_MAP, task, items, true, opts ? opts->chunksize : 0, opts, &j);
    return rc ? mproc__fail(rc) : wrap_async(j, out);
}

int mproc__pool_apply_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                             const void *tag, mproc_async **out)
{
    job *j;
    int rc = apply_job_tagged(p, task, args, NULL, tag, &j);
    return rc ? mproc__fail(rc) : wrap_async(j, out);
}

/* ---- async results -------------------------------------------------------------------------- */

int mproc_async_wait(mproc_async *a, int64_t timeout_ms)
{
    job *j = mproc__job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int rc = wait_job_locked(j, mproc__deadline(timeout_ms));
    mpp_mutex_unlock(j->pool->mu);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_async_ready(mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int ready = j->notified;
    mpp_mutex_unlock(j->pool->mu);
    return ready;
}

int mproc_async_successful(mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int rc = !j->notified ? MPROC_ESTATE : j->error_code == 0;
    mpp_mutex_unlock(j->pool->mu);
    return rc < 0 ? mproc__fail(rc) : rc;
}

int mproc_async_count(const mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    return j->n > INT32_MAX ? INT32_MAX : (int)j->n; /* items are the fields of a pack */
}

int mproc_async_get(mproc_async *a, int64_t timeout_ms, mproc_bytes *results)
{
    job *j = mproc__job_of(a);
    if (!j || (!results && j->n))
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int rc = wait_job_locked(j, mproc__deadline(timeout_ms));
    if (!rc)
        rc = take_results_locked(j, results, j->n, false);
    mpp_mutex_unlock(j->pool->mu);
    return rc ? mproc__fail(rc) : 0;
}

void mproc_async_destroy(mproc_async *a)
{
    job *j = mproc__job_of(a);
    if (!j)
        return;
    mpp_mutex_lock(j->pool->mu);
    a->magic = 0;
    j->handle = NULL; /* done callbacks of a future nobody holds are not called */
    mpp_mutex_unlock(j->pool->mu);
    mproc__job_release(j);
}
