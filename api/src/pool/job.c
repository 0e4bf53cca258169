/* A pool's calls (jobs): their items, their results, how they complete, and the line of
 * work waiting for workers. Both kinds of pool stand on this; nothing here talks to a
 * worker. */
#include <stdio.h>
#include <string.h>

#include "pool/private.h"

#define AUTO_CHUNK_BYTES (256u << 10) /* automatic chunks stay under this */

/* ---- telling futures of completions --------------------------------------------------------- */

static void (*call_done_hook)(void);

void mproc__pool_on_call_done(void (*fn)(void))
{
    mproc__store(&call_done_hook, fn);
}

/* ---- jobs ------------------------------------------------------------------------------------ */

void mproc__job_free(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        mproc_bytes_free(&j->results[i]);
    mproc_free(j->results);
    mproc_free(j->codes);
    mproc_free(j->have);
    mproc_free(j->handle_first);
    mproc_free(j->finished);
    mproc_free(j->error_text);
    while (j->done_callbacks) {
        done_callback *d = j->done_callbacks;
        j->done_callbacks = d->next;
        mproc_free(d);
    }
    mproc__handles_close(&j->handles);
    mproc__buf_free(&j->items);
    mproc_pack_destroy(j->scratch);
    mproc_free(j);
}

/* Frees the job once both its caller and the pool are done with it; the pool's reference
 * goes with the job. Under the lock; returns whether the pool is to be freed. */
bool mproc__job_maybe_free_locked(job *j)
{
    if (!j->user_released || !j->retired)
        return false;
    mproc_pool *p = j->pool;
    mproc__job_free(j);
    bool free_pool;
    mproc__pool_unref_locked(p, &free_pool);
    return free_pool;
}

/* Grows the per-item arrays to hold `want` items (with_handles: handle_first too). */
int mproc__job_reserve(job *j, size_t want, bool with_handles)
{
    bool handles_ok = !with_handles || j->handle_first;
    if (want <= j->cap && (!j->unordered || j->finished) && handles_ok)
        return 0;
    size_t cap = j->cap ? j->cap : 1;
    while (cap < want)
        cap *= 2;
    mproc_bytes *res = mproc_realloc(j->results, cap * sizeof *res);
    if (!res)
        return MPROC_ENOMEM;
    j->results = res;
    int *codes = mproc_realloc(j->codes, cap * sizeof *codes);
    if (!codes)
        return MPROC_ENOMEM;
    j->codes = codes;
    bool *have = mproc_realloc(j->have, cap * sizeof *have);
    if (!have)
        return MPROC_ENOMEM;
    j->have = have;
    if (j->unordered) {
        size_t *fin = mproc_realloc(j->finished, cap * sizeof *fin);
        if (!fin)
            return MPROC_ENOMEM;
        j->finished = fin;
    }
    if (with_handles || j->handle_first) {
        bool fresh = !j->handle_first;
        size_t *hf = mproc_realloc(j->handle_first, (cap + 1) * sizeof *hf);
        if (!hf)
            return MPROC_ENOMEM;
        if (fresh) /* items before had no objects */
            for (size_t i = 0; i <= j->n; i++)
                hf[i] = 0;
        j->handle_first = hf;
    }
    j->cap = cap;
    return 0;
}

/* Appends `count` items (pack fields, `len` bytes) to the job. Items are not parsed
 * here but as they are given out (so a map's workers start at once), except for a
 * starmap's check that each is a pack, and when they hold objects: then the parent
 * takes its own copies of their handles, item by item. */
int mproc__job_add_items(job *j, const uint8_t *fields, size_t len, size_t count, bool has_handles)
{
    if (j->star) {
        mproc_unpacker u = {fields, len, 0};
        while (u.pos < len) {
            if (mproc_unpack_peek(&u) != MPROC_FIELD_PACK)
                return MPROC_ETYPE;
            int rc = mproc_unpack_skip(&u);
            if (rc)
                return rc;
        }
    }
    size_t start_len = j->items.len, start_n = j->n;
    int rc = mproc__job_reserve(j, start_n + count, has_handles);
    rc = rc ? rc : mproc__buf_append(&j->items, fields, len);
    if (rc)
        return rc;
    for (size_t i = start_n; i < start_n + count; i++) {
        j->results[i] = (mproc_bytes){NULL, 0};
        j->codes[i] = 0;
        j->have[i] = false;
    }
    if (j->handle_first) {
        mproc_unpacker u = {j->items.data + start_len, len, 0};
        for (size_t i = start_n; !rc && i < start_n + count; i++) {
            j->handle_first[i] = j->handles.count;
            size_t at = u.pos;
            rc = mproc_unpack_skip(&u);
            if (rc || !has_handles)
                continue;
            /* This item's handles, duplicated in order after the ones before. */
            mproc__handles owned = {0};
            rc = mproc__pack_dup_handles(j->items.data + start_len + at, u.pos - at, &owned);
            for (size_t k = 0; !rc && k < owned.count; k++)
                rc = mproc__handles_push(&j->handles, owned.items[k]);
            if (rc)
                mproc__handles_close(&owned);
            else
                mproc_free(owned.items);
        }
        if (!rc)
            j->handle_first[start_n + count] = j->handles.count;
    }
    if (rc) {
        /* The duplicates made so far stay in j->handles until the job goes. */
        j->items.len = start_len;
        return rc;
    }
    j->n = start_n + count;
    return 0;
}

/* Every field of a pack is an item. */
int mproc__job_add_pack_items(job *j, const mproc_pack *items)
{
    if (!items)
        return MPROC_EINVAL;
    mproc__packed packed;
    int rc = mproc__pack_open(items, &packed);
    if (rc)
        return rc;
    rc = mproc__job_add_items(j, packed.bytes.data, packed.bytes.len, (size_t)packed.count,
                              packed.has_handles);
    mproc__pack_close(&packed);
    return rc;
}

/* ---- the pending list ------------------------------------------------------------------------ */

static bool job_has_undispatched(const job *j)
{
    return !j->cancelled && !j->complete && j->next_item < j->n;
}

void mproc__pending_add_locked(mproc_pool *p, job *j)
{
    if (j->pending_listed || !job_has_undispatched(j))
        return;
    j->pending_listed = true;
    j->pending_next = NULL;
    if (p->pending_tail)
        p->pending_tail->pending_next = j;
    else
        p->pending_head = j;
    p->pending_tail = j;
}

void mproc__pending_drop_head_locked(mproc_pool *p)
{
    job *j = p->pending_head;
    p->pending_head = j->pending_next;
    if (!p->pending_head)
        p->pending_tail = NULL;
    j->pending_listed = false;
    j->pending_next = NULL;
}

/* ---- completion ----------------------------------------------------------------------------- */

/* The call and its callbacks are done: its waiters may go. */
void mproc__job_mark_notified_locked(mproc_pool *p, job *j)
{
    mproc__store(&j->notified, true); /* mproc_wait reads it unlocked */
    mpp_cond_broadcast(p->cond);
    void (*done_hook)(void) = mproc__load(&call_done_hook);
    if (done_hook)
        done_hook();
}

/* Retires the job if the pool is done with it, and frees it if its caller is too. */
void mproc__job_retire_locked(job *j)
{
    /* The pool is done with a job once nothing of it is at a worker or waiting, and its
     * callbacks (if any) ran. */
    if (j->retired || j->inflight || j->pending_listed)
        return;
    if (j->cancelled && !j->complete) {
        /* Given up by its caller: nothing more will come, and nobody to call back. */
        j->complete = true;
        mproc__job_mark_notified_locked(j->pool, j);
    }
    if (!j->notified || !j->complete)
        return;
    j->retired = true;
    mproc_pool *p = j->pool;
    if (j->all_prev)
        j->all_prev->all_next = j->all_next;
    else
        p->all_head = j->all_next;
    if (j->all_next)
        j->all_next->all_prev = j->all_prev;
    j->all_prev = j->all_next = NULL;
    mpp_cond_broadcast(p->cond);
    /* A caller that let go already: the job goes now. (The pool itself cannot go here:
     * its creator's reference lives while the pool's threads run, and after that only
     * mproc__job_release frees jobs.) */
    if (j->user_released)
        (void)mproc__job_maybe_free_locked(j);
}

/* The call has all it will get: callbacks (by the result thread), then waiters. */
void mproc__job_complete_locked(mproc_pool *p, job *j)
{
    if (j->complete)
        return;
    j->complete = true;
    if ((j->callback && j->error_code == 0) || (j->error_callback && j->error_code != 0) ||
        j->done_callbacks) {
        j->notify_next = NULL;
        if (p->notify_tail)
            p->notify_tail->notify_next = j;
        else
            p->notify_head = j;
        p->notify_tail = j;
        mpp_cond_broadcast(p->cond); /* a thread pool's result thread sleeps on it */
    } else {
        mproc__job_mark_notified_locked(p, j);
    }
}

static void set_error_locked(job *j, size_t index, int code, const char *text, size_t len)
{
    if (j->error_code && j->error_index <= index)
        return;
    char *copy = mproc_malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = 0;
    }
    mproc_free(j->error_text);
    j->error_text = copy;
    j->error_code = code;
    j->error_index = index;
}

/* Records item index's outcome (takes data). */
void mproc__job_store_result_locked(mproc_pool *p, job *j, size_t index, int code, void *data,
                                    size_t len)
{
    if (index >= j->n || j->have[index]) {
        mproc_free(data);
        return;
    }
    j->have[index] = true;
    j->codes[index] = code;
    j->results[index] = (mproc_bytes){data, len};
    j->done++;
    if (j->unordered)
        j->finished[j->finished_len++] = index;
    if (code && j->kind != JOB_IMAP)
        set_error_locked(j, index, code, data ? data : "", data ? mproc__text_len(data, len) : 0);
    if (j->kind == JOB_IMAP) {
        p->wake_iterators = true; /* once for the whole batch of results */
        if (j->input_done && j->done == j->n)
            mproc__job_complete_locked(p, j);
        return;
    }
    if (j->done == j->n && j->input_done)
        mproc__job_complete_locked(p, j);
}

/* Fails every item of a call that has no result yet, and reads no more of its input
 * (terminate, initializer failure). */
void mproc__job_fail_locked(mproc_pool *p, job *j, int code, const char *text)
{
    size_t len = strlen(text);
    j->input_done = true;
    j->cancelled = true;
    for (size_t i = 0; i < j->n; i++) {
        if (j->have[i])
            continue;
        char *copy = mproc_malloc(len + 1);
        if (copy)
            memcpy(copy, text, len + 1);
        mproc__job_store_result_locked(p, j, i, code, copy, copy ? len + 1 : 0);
    }
    if (j->n == 0 && j->kind != JOB_IMAP)
        set_error_locked(j, 0, code, text, len);
    mproc__job_complete_locked(p, j);
    mproc__job_retire_locked(j);
}

void mproc__pool_fail_all_locked(mproc_pool *p, int code, const char *text)
{
    for (job *j = p->all_head, *next; j; j = next) {
        next = j->all_next; /* failing may retire it */
        if (!j->complete || !j->input_done)
            mproc__job_fail_locked(p, j, code, text);
    }
}

/* The initializer failed (p->init_error): fails `only`, or with NULL every call that can
 * no longer finish, with the initializer's text. */
void mproc__pool_fail_initializer_locked(mproc_pool *p, job *only)
{
    char text[1200];
    snprintf(text, sizeof text, "initializer '%s' failed: %s", p->initializer, p->init_error);
    if (only)
        mproc__job_fail_locked(p, only, MPROC_ETASK, text);
    else
        mproc__pool_fail_all_locked(p, MPROC_ETASK, text);
}

/* Runs the callbacks of completed calls, without the lock, one at a time. Returns whether
 * it ran any (and so let go of the lock). */
bool mproc__pool_run_callbacks_locked(mproc_pool *p)
{
    bool ran = false;
    while (p->notify_head) {
        ran = true;
        job *j = p->notify_head;
        p->notify_head = j->notify_next;
        if (!p->notify_head)
            p->notify_tail = NULL;
        done_callback *dones = j->done_callbacks;
        j->done_callbacks = NULL;
        mproc_async *handle = j->handle;
        mpp_mutex_unlock(p->mu);
        if (j->error_code == 0 && j->callback)
            j->callback(j->ctx, j->results, j->n);
        else if (j->error_code != 0 && j->error_callback)
            j->error_callback(j->ctx, j->error_code, j->error_text ? j->error_text : "");
        /* Done callbacks see the future done (as Python's): mark it first. */
        mpp_mutex_lock(p->mu);
        mproc__job_mark_notified_locked(p, j);
        mpp_mutex_unlock(p->mu);
        while (dones) {
            done_callback *d = dones;
            dones = d->next;
            if (handle)
                d->fn(d->ctx, handle);
            mproc_free(d);
        }
        mpp_mutex_lock(p->mu);
        mproc__job_retire_locked(j);
    }
    return ran;
}

/* ---- the next work -------------------------------------------------------------------------- */

/* The next chunk to send: one taken back from a dead worker, or the next of the first
 * call with work left. NULL when there is none. Does not remove it. */
chunk *mproc__pool_peek_work_locked(mproc_pool *p, chunk *scratch)
{
    while (p->returned_head &&
           (p->returned_head->job->cancelled || p->returned_head->job->complete)) {
        chunk *c = p->returned_head;
        p->returned_head = c->next;
        if (!p->returned_head)
            p->returned_tail = NULL;
        c->job->inflight--;
        mproc__job_retire_locked(c->job);
        mproc_free(c);
    }
    if (p->returned_head)
        return p->returned_head;
    while (p->pending_head && !job_has_undispatched(p->pending_head)) {
        job *j = p->pending_head;
        mproc__pending_drop_head_locked(p);
        mproc__job_retire_locked(j);
    }
    job *j = p->pending_head;
    /* A lazy imap sends whole chunks while its input lasts. */
    while (j && (!job_has_undispatched(j) ||
                 (!j->input_done && j->n - j->next_item < (j->chunksize ? j->chunksize : 1))))
        j = j->pending_next;
    if (!j)
        return NULL;
    if (!j->peeked) {
        /* The next chunk's items: chunksize of them, or, automatic, Python's rule
         * (len / (4 x workers), rounded up) and under a byte bound. */
        size_t left = j->n - j->next_item, want = j->chunksize;
        bool automatic = want == 0;
        if (automatic) {
            size_t parts = 4 * (size_t)p->processes;
            want = (j->n + parts - 1) / parts;
        }
        if (want > left)
            want = left;
        mproc_unpacker u = {j->items.data + j->next_byte, j->items.len - j->next_byte, 0};
        size_t count = 0;
        while (count < want && (!automatic || count == 0 || u.pos <= AUTO_CHUNK_BYTES) &&
               mproc_unpack_skip(&u) == 0)
            count++;
        j->peek_count = count ? count : 1;
        j->peek_len = u.pos;
        j->peeked = true;
    }
    *scratch = (chunk){.job = j,
                       .first = j->next_item,
                       .count = j->peek_count,
                       .byte_at = j->next_byte,
                       .byte_len = j->peek_len};
    return scratch;
}

/* Takes the chunk just peeked (a new one, not one taken back) off its call's line: the
 * caller now holds it. */
void mproc__job_take_chunk_locked(job *j, const chunk *c)
{
    j->next_item += c->count;
    j->next_byte += c->byte_len;
    j->peeked = false;
    j->inflight++;
}
