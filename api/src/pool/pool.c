/* The process pool.
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
#include <stdio.h>
#include <string.h>

#include "pool/pool_internal.h"

#define POOL_MAGIC 0x6d70506cu
#define WORKER_TASK "mproc:pool-worker"
#define TASK_RING (2u << 20)
#define RESULT_RING (2u << 20)
#define BIG_MESSAGE (TASK_RING / 4 - 64) /* larger ones stream (see above) */
#define AUTO_CHUNK_BYTES (256u << 10)     /* automatic chunks stay under this */
#define MAX_DEPTH 64
#define DEPTH_TARGET_US 2000
#define CHECK_MS 20            /* how often the result thread looks for dead workers */
#define RESULT_SLICE_MS 50
#define STREAM_PROGRESS_MS 5000
#define STOP_GRACE_MS 1000
#define PUT_LOCK_MS 2000
#define ENDING_SLICE_MS 2      /* while workers are ending: notice it soon */
#define BAD_STARTS_LIMIT 5     /* workers dying before their first result in a row */

enum { MSG_TASK = 1, MSG_STOP = 2 };                      /* to a worker */
enum { MSG_RESULT = 1, MSG_INIT_FAILED = 2, MSG_WAKE = 3 }; /* to the result thread */
enum { TASK_STAR = 1 };                                    /* items are nested packs */

/* A task message: this head, the task name, padding to 8, the handle values, the items
 * (pack fields). */
typedef struct task_head {
    uint32_t type;
    uint32_t count;
    uint64_t seq;
    uint32_t flags;
    uint32_t name_len;
    uint32_t nhandles;
    uint32_t pad;
    uint64_t items_len;
} task_head;

/* A result message: this head, then per item an item_head and its bytes padded to 8. */
typedef struct result_head {
    uint32_t type;
    uint32_t count;
    uint64_t seq;
    uint64_t worker_id;
    uint64_t busy_us;
} result_head;

typedef struct item_head {
    int32_t code;
    uint32_t pad;
    uint64_t len;
} item_head;

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Length of a text of at most len bytes that may or may not end with a NUL. */
static size_t text_len(const void *data, size_t len)
{
    const char *nul = data ? memchr(data, 0, len) : NULL;
    return nul ? (size_t)(nul - (const char *)data) : data ? len : 0;
}

/* ---- calls -------------------------------------------------------------------------------- */

enum { JOB_APPLY = 1, JOB_MAP = 2, JOB_IMAP = 3 };

typedef struct job job;
typedef struct chunk chunk;

/* A call's handle lives in its job, so a done callback can be given it even while its
 * caller destroys it (it is then a dead handle: calls on it are MPROC_EINVAL). */
struct mproc_async {
    uint32_t magic;
    job *j;
};

struct chunk {
    uint64_t seq;
    job *job;
    size_t first, count;       /* items */
    size_t byte_at, byte_len;  /* their fields in job->items */
    chunk *next;
};

struct job {
    mproc_pool *pool;
    int kind;
    bool star, unordered;
    char task[MPROC_TASK_NAME_MAX + 1];
    mproc__buf items;         /* the items' pack fields, with the parent's handle values */
    size_t n, cap;            /* items known so far; room in the per-item arrays */
    size_t *handle_first;     /* only when items hold objects: item i's handles start at
                                 handles.items[handle_first[i]] */
    mproc__handles handles;   /* the parent's own copies of the items' handles */
    bool input_done;          /* every item is known */
    size_t chunksize;
    size_t next_item, next_byte; /* the first item not yet given out, and its field */
    bool peeked;              /* the next chunk is measured: */
    size_t peek_count, peek_len;
    bool pending_listed;      /* in the pool's pending list */
    job *pending_next;
    size_t inflight;          /* chunks at workers or taken back from dead ones */
    double avg_chunk_us;      /* measured cost of one chunk; 0 until known */
    /* results */
    mproc_bytes *results;
    int *codes;
    bool *have;
    size_t done;
    int error_code;           /* the first failure by item index (map), or of the call */
    size_t error_index;
    char *error_text;
    bool complete;            /* every result is in (or the call failed as a whole) */
    bool notified;            /* callbacks ran: waiters may go */
    bool cancelled;           /* the caller went away or timed out: dispatch no more */
    bool user_released, retired;
    mproc_callback_fn callback;
    mproc_error_callback_fn error_callback;
    void *ctx;
    struct done_callback *done_callbacks; /* futures' add_done_callback */
    mproc_async self;         /* the caller's handle (magic 0 when destroyed or none) */
    mproc_async *handle;      /* &self while the caller holds it, for done callbacks */
    const void *tag;          /* the executor that submitted it, or NULL */
    bool was_cancelled;       /* cancelled before it started (future.cancel) */
    job *notify_next;
    job *all_prev, *all_next; /* the pool's calls not yet retired */
    /* imap */
    size_t taken;             /* results returned by mproc_iter_next (ordered: next index) */
    size_t *finished;         /* unordered: item indexes in the order they finished */
    size_t finished_len;
    mproc_next_fn next_fn;
    void *next_ctx;
    int source_error;
    size_t window;
    mproc_pack *scratch;
};

typedef struct done_callback {
    mproc_done_fn fn;
    void *ctx;
    struct done_callback *next;
} done_callback;

/* ---- waiting on calls of any pool (mproc_wait) ------------------------------------------------
 * A process-wide generation counter that moves whenever a call of any pool is done, so one
 * wait can cover calls of several pools. Only touched while someone waits. */
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

struct mproc_iter {
    uint32_t magic;
    job *j;
};
#define ASYNC_MAGIC 0x6d704172u
#define ITER_MAGIC 0x6d704974u

/* ---- workers -------------------------------------------------------------------------------- */

typedef struct worker {
    mproc_process *proc;      /* NULL: an empty slot */
    mproc_queue *tasks;
    mproc_conn *hands;        /* POSIX: the parent's end of the handle socket */
    uint64_t id;
    int64_t pid;
    uint64_t sent;            /* task messages given (for maxtasksperchild) */
    bool answered;            /* sent at least one result */
    bool streaming;           /* the sender thread is putting a message into its queue */
    bool stop_sent;
    bool starting;            /* being started (the lock is let go meanwhile) */
    chunk *head, *tail;       /* given and not answered, in order */
    size_t inflight;
    /* thread pool */
    struct mproc_pool *pool;
    mpp_thread *thread;       /* NULL: an empty slot */
    bool thread_ended;        /* its loop is over: join it */
} worker;

enum { POOL_RUN = 0, POOL_CLOSE = 1, POOL_TERMINATE = 2 };

struct mproc_pool {
    uint32_t magic;
    int state;
    bool threads;             /* a thread pool: workers are threads of this process */
    mpp_cond *work_cond;      /* thread pool: work for idle worker threads */
    mpp_mutex *mu;
    mpp_cond *cond;           /* results, readiness, the result thread's end */
    mpp_cond *send_cond;      /* work for the sender thread */
    size_t refs;              /* the creator, and every call not yet freed */
    int processes;
    int64_t maxtasks;
    mproc_context *ctx;
    const char *method_label;
    char *initializer;
    mproc_pack *initargs;     /* a copy, with handles of its own */
    mproc_queue *results;
    worker *workers;
    uint64_t next_seq, next_worker_id;
    job *pending_head, *pending_tail;
    chunk *returned_head, *returned_tail; /* taken back from dead workers: go first */
    job *notify_head, *notify_tail;
    job *all_head;            /* calls not yet retired */
    uint64_t result_tid;      /* the result thread: it must not join itself */
    struct {
        char name[MPROC_TASK_NAME_MAX + 1];
        double us;
    } speed[16];              /* last measured chunk cost per task, for new calls */
    mproc__buf msg;           /* the message being built */
    mpp_thread *result_thread, *sender_thread;
    bool result_thread_done, sender_exit;
    bool wake_iterators;      /* imap results came: wake their readers */
    chunk *big;               /* the message the sender thread is to stream */
    int big_worker;
    bool sender_busy;
    char *init_error;         /* the initializer failed: every call fails with this */
    int bad_starts;
    int next_pick;            /* where the search for a worker starts */
    int64_t next_check;
    int64_t next_start_try;
};

static unsigned worker_counter; /* N of <Method>PoolWorker-N, process-wide (under mpp_lock) */

static void pool_unref_locked(mproc_pool *p, bool *free_it)
{
    *free_it = --p->refs == 0;
}

static void pool_free(mproc_pool *p)
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

/* ---- jobs ------------------------------------------------------------------------------------ */

static void job_free(job *j)
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
static bool job_maybe_free_locked(job *j)
{
    if (!j->user_released || !j->retired)
        return false;
    mproc_pool *p = j->pool;
    job_free(j);
    bool free_pool;
    pool_unref_locked(p, &free_pool);
    return free_pool;
}

/* Grows the per-item arrays to hold `want` items (with_handles: handle_first too). */
static int job_reserve(job *j, size_t want, bool with_handles)
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
static int job_add_items(job *j, const uint8_t *fields, size_t len, size_t count,
                         bool has_handles)
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
    int rc = job_reserve(j, start_n + count, has_handles);
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
static int add_pack_items(job *j, const mproc_pack *items)
{
    mproc_bytes view;
    int count = mproc_pack_count(items);
    if (count < 0)
        return count;
    int rc = mproc_pack_view(items, &view);
    return rc ? rc
              : job_add_items(j, view.data, view.len, (size_t)count,
                              mproc__pack_has_handles(items));
}

/* ---- the pending list ------------------------------------------------------------------------ */

static bool job_has_undispatched(const job *j)
{
    return !j->cancelled && !j->complete && j->next_item < j->n;
}

static void pending_add_locked(mproc_pool *p, job *j)
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

static void pending_drop_head_locked(mproc_pool *p)
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
static void mark_notified_locked(mproc_pool *p, job *j)
{
    mproc__store(&j->notified, true); /* mproc_wait reads it unlocked */
    mpp_cond_broadcast(p->cond);
    signal_done_waiters();
}

/* Retires the job if the pool is done with it, and frees it if its caller is too. */
static void retire_locked(job *j)
{
    /* The pool is done with a job once nothing of it is at a worker or waiting, and its
     * callbacks (if any) ran. */
    if (j->retired || j->inflight || j->pending_listed)
        return;
    if (j->cancelled && !j->complete) {
        /* Given up by its caller: nothing more will come, and nobody to call back. */
        j->complete = true;
        mark_notified_locked(j->pool, j);
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
     * release_job frees jobs.) */
    if (j->user_released)
        (void)job_maybe_free_locked(j);
}

/* The call has all it will get: callbacks (by the result thread), then waiters. */
static void complete_locked(mproc_pool *p, job *j)
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
        mark_notified_locked(p, j);
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
static void store_result_locked(mproc_pool *p, job *j, size_t index, int code, void *data,
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
        set_error_locked(j, index, code, data ? data : "", data ? text_len(data, len) : 0);
    if (j->kind == JOB_IMAP) {
        p->wake_iterators = true; /* once for the whole batch of results */
        if (j->input_done && j->done == j->n)
            complete_locked(p, j);
        return;
    }
    if (j->done == j->n && j->input_done)
        complete_locked(p, j);
}

/* Fails every item of a call that has no result yet, and reads no more of its input
 * (terminate, initializer failure). */
static void fail_job_locked(mproc_pool *p, job *j, int code, const char *text)
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
        store_result_locked(p, j, i, code, copy, copy ? len + 1 : 0);
    }
    if (j->n == 0 && j->kind != JOB_IMAP)
        set_error_locked(j, 0, code, text, len);
    complete_locked(p, j);
    retire_locked(j);
}

/* ---- workers: start, messages, death -------------------------------------------------------- */

static int start_worker_locked(mproc_pool *p, int slot);

static worker *worker_of_id(mproc_pool *p, uint64_t id)
{
    for (int i = 0; i < p->processes; i++)
        if (p->workers[i].proc && p->workers[i].id == id)
            return &p->workers[i];
    return NULL;
}

static void chunk_append(chunk **head, chunk **tail, chunk *c)
{
    c->next = NULL;
    if (*tail)
        (*tail)->next = c;
    else
        *head = c;
    *tail = c;
}

static chunk *worker_take_chunk(worker *w, uint64_t seq)
{
    chunk *prev = NULL;
    for (chunk *c = w->head; c; prev = c, c = c->next) {
        if (c->seq != seq)
            continue;
        if (prev)
            prev->next = c->next;
        else
            w->head = c->next;
        if (w->tail == c)
            w->tail = prev;
        w->inflight--;
        return c;
    }
    return NULL;
}

/* The cost of a task's chunks, remembered for the next calls of the same task. */
static size_t speed_slot(const mproc_pool *p, const char *task)
{
    size_t h = 5381;
    for (const char *c = task; *c; c++)
        h = h * 33 + (unsigned char)*c;
    (void)p;
    return h % 16;
}

static void remember_speed_locked(mproc_pool *p, const job *j)
{
    size_t s = speed_slot(p, j->task);
    memcpy(p->speed[s].name, j->task, sizeof j->task);
    p->speed[s].us = j->avg_chunk_us;
}

static double recall_speed_locked(const mproc_pool *p, const char *task)
{
    size_t s = speed_slot(p, task);
    return strcmp(p->speed[s].name, task) == 0 ? p->speed[s].us : 0;
}

/* A result message from a worker. */
static void handle_result_locked(mproc_pool *p, const uint8_t *msg, size_t len)
{
    result_head h;
    if (len < sizeof h)
        return;
    memcpy(&h, msg, sizeof h);
    if (h.type == MSG_WAKE)
        return;
    worker *w = worker_of_id(p, h.worker_id);
    if (h.type == MSG_INIT_FAILED) {
        if (!p->init_error) {
            size_t tl = len - sizeof h;
            p->init_error = mproc_malloc(tl + 1);
            if (p->init_error) {
                memcpy(p->init_error, msg + sizeof h, tl);
                p->init_error[tl] = 0;
            }
        }
        return;
    }
    if (h.type != MSG_RESULT || !w)
        return;
    w->answered = true;
    p->bad_starts = 0;
    chunk *c = worker_take_chunk(w, h.seq);
    if (!c)
        return;
    job *j = c->job;
    j->inflight--;
    double us = (double)h.busy_us;
    j->avg_chunk_us = j->avg_chunk_us == 0 ? (us > 0 ? us : 1) : 0.7 * j->avg_chunk_us + 0.3 * us;
    remember_speed_locked(p, j);
    size_t pos = sizeof h;
    for (uint32_t i = 0; i < h.count && i < c->count; i++) {
        item_head ih;
        if (len - pos < sizeof ih)
            break;
        memcpy(&ih, msg + pos, sizeof ih);
        pos += sizeof ih;
        if (ih.len > len - pos)
            break;
        void *data = NULL;
        if (ih.len || ih.code) {
            /* Error texts end with a NUL; results get one too, past their length. */
            data = mproc_malloc((size_t)ih.len + 1);
            if (data) {
                memcpy(data, msg + pos, (size_t)ih.len);
                ((char *)data)[ih.len] = 0;
            }
        }
        if (!data && ih.len) {
            store_result_locked(p, j, c->first + i, MPROC_ENOMEM, NULL, 0);
        } else {
            size_t l = (size_t)ih.len + (ih.code && data ? 1 : 0);
            store_result_locked(p, j, c->first + i, ih.code, data, l);
        }
        pos += pad8((size_t)ih.len);
    }
    retire_locked(j);
    mproc_free(c);
}

/* Fails the chunks a dead worker had taken. */
static void fail_chunk_locked(mproc_pool *p, chunk *c, const char *text)
{
    job *j = c->job;
    j->inflight--;
    size_t len = strlen(text);
    for (size_t i = 0; i < c->count; i++) {
        char *copy = mproc_malloc(len + 1);
        if (copy)
            memcpy(copy, text, len + 1);
        store_result_locked(p, j, c->first + i, MPROC_EWORKER, copy, copy ? len + 1 : 0);
    }
    retire_locked(j);
    mproc_free(c);
}

static void drain_results_locked(mproc_pool *p);

/* w's process has ended (reaped): settle what it held, free the slot. */
static void bury_worker_locked(mproc_pool *p, worker *w)
{
    /* Its last results may still be in the result queue: take them first. */
    drain_results_locked(p);
    /* What is still in its queue was never started: back to the front of the line. */
    for (;;) {
        mproc_bytes m;
        if (mproc_queue_get(w->tasks, &m, 0) != 0)
            break;
        task_head th;
        if (m.len >= sizeof th) {
            memcpy(&th, m.data, sizeof th);
            chunk *c = th.type == MSG_TASK ? worker_take_chunk(w, th.seq) : NULL;
            if (c) {
                if (c->job->cancelled || c->job->complete) {
                    c->job->inflight--;
                    retire_locked(c->job);
                    mproc_free(c);
                } else {
                    chunk_append(&p->returned_head, &p->returned_tail, c);
                }
            }
        }
        mproc_bytes_free(&m);
    }
    int code = 0;
    mproc_process_exitcode(w->proc, &code);
    if (w->head) {
        char text[256];
        snprintf(text, sizeof text, "worker %s (pid %lld) died with exit code %d",
                 mproc_process_name(w->proc), (long long)w->pid, code);
        if (p->state != POOL_TERMINATE) /* terminate kills them on purpose */
            mproc_log(MPROC_LOG_WARNING, "%s holding %u task message(s)", text,
                      (unsigned)w->inflight);
        while (w->head) {
            chunk *c = w->head;
            w->head = c->next;
            fail_chunk_locked(p, c, text);
        }
    }
    w->tail = NULL;
    w->inflight = 0;
    /* A worker that dies by itself before taking any task (an initializer that crashes):
     * counted, so that a pool cannot start workers for ever. Kills do not count. */
    if (p->initializer && !w->answered && w->sent == 0 && code != 0 && code != -9 &&
        code != -15)
        p->bad_starts++;
    mproc_process_destroy(w->proc);
    mproc_queue_destroy(w->tasks);
    mproc_conn_close(w->hands);
    memset(w, 0, sizeof *w);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static size_t depth_for(const mproc_pool *p, const job *j)
{
    if (j->avg_chunk_us <= 0)
        return 1;
    double d = DEPTH_TARGET_US / j->avg_chunk_us;
    size_t depth = d < 1 ? 1 : d > MAX_DEPTH ? MAX_DEPTH : (size_t)d;
    (void)p;
    return depth;
}

static int pick_worker_locked(mproc_pool *p, const job *j, bool idle_only)
{
    int best = -1;
    size_t depth = depth_for(p, j);
    for (int k = 0; k < p->processes; k++) {
        int i = (p->next_pick + k) % p->processes;
        worker *w = &p->workers[i];
        if (!w->proc || w->starting || w->streaming || w->stop_sent)
            continue;
        if (p->maxtasks > 0 && w->sent >= (uint64_t)p->maxtasks)
            continue;
        if (idle_only ? w->inflight != 0 : w->inflight >= depth)
            continue;
        if (best < 0 || w->inflight < p->workers[best].inflight)
            best = i;
    }
    if (best >= 0) /* next time, equals after this one come first (as Python's shared queue) */
        p->next_pick = (best + 1) % p->processes;
    return best;
}

/* Builds the task message of chunk c in p->msg (handle values left for the give). */
static int build_message_locked(mproc_pool *p, const chunk *c, size_t *values_at)
{
    job *j = c->job;
    size_t name_len = strlen(j->task);
    size_t nh = j->handle_first
                    ? j->handle_first[c->first + c->count] - j->handle_first[c->first]
                    : 0;
    size_t items_at = c->byte_at, items_len = c->byte_len;
    task_head h = {.type = MSG_TASK,
                   .count = (uint32_t)c->count,
                   .seq = c->seq,
                   .flags = j->star ? TASK_STAR : 0,
                   .name_len = (uint32_t)name_len,
                   .nhandles = (uint32_t)nh,
                   .items_len = items_len};
    p->msg.len = 0;
    size_t head_len = pad8(sizeof h + name_len);
    int rc = mproc__buf_reserve(&p->msg, head_len + nh * 8 + items_len);
    if (rc)
        return rc;
    memset(p->msg.data, 0, head_len + nh * 8);
    memcpy(p->msg.data, &h, sizeof h);
    memcpy(p->msg.data + sizeof h, j->task, name_len);
    *values_at = head_len;
    memcpy(p->msg.data + head_len + nh * 8, j->items.data + items_at, items_len);
    p->msg.len = head_len + nh * 8 + items_len;
    return 0;
}

/* Gives worker w the handles of chunk c: Windows writes their values into the message. */
static int give_handles_locked(mproc_pool *p, worker *w, const chunk *c, size_t values_at)
{
    job *j = c->job;
    if (!j->handle_first)
        return 0;
    size_t from = j->handle_first[c->first], nh = j->handle_first[c->first + c->count] - from;
    if (!nh)
        return 0;
    uint64_t *values = mproc_calloc(nh, sizeof *values);
    if (!values)
        return MPROC_ENOMEM;
    mpp_child *child = mproc__process_child(w->proc);
    int rc = child ? mpp_give_handles(child, mproc__conn_os(w->hands), j->handles.items + from,
                                      nh, values, mproc__deadline(STREAM_PROGRESS_MS))
                   : MPROC_ECLOSED;
    if (!rc)
        memcpy(p->msg.data + values_at, values, nh * 8);
    mproc_free(values);
    return rc;
}

/* The next chunk to send: one taken back from a dead worker, or the next of the first
 * call with work left. NULL when there is none. Does not remove it. */
static chunk *peek_work_locked(mproc_pool *p, chunk *scratch)
{
    while (p->returned_head &&
           (p->returned_head->job->cancelled || p->returned_head->job->complete)) {
        chunk *c = p->returned_head;
        p->returned_head = c->next;
        if (!p->returned_head)
            p->returned_tail = NULL;
        c->job->inflight--;
        retire_locked(c->job);
        mproc_free(c);
    }
    if (p->returned_head)
        return p->returned_head;
    while (p->pending_head && !job_has_undispatched(p->pending_head)) {
        job *j = p->pending_head;
        pending_drop_head_locked(p);
        retire_locked(j);
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

/* Hands out as much work as the workers may hold now. */
static void dispatch_locked(mproc_pool *p)
{
    if (p->state == POOL_TERMINATE || p->init_error)
        return;
    if (p->threads) { /* worker threads take their work themselves */
        mpp_cond_broadcast(p->work_cond);
        return;
    }
    for (;;) {
        chunk scratch;
        chunk *c = peek_work_locked(p, &scratch);
        if (!c)
            return;
        job *j = c->job;
        int wi = pick_worker_locked(p, j, false);
        if (wi < 0)
            return;
        worker *w = &p->workers[wi];
        uint64_t seq = c == &scratch ? ++p->next_seq : c->seq;
        c->seq = seq;
        size_t values_at;
        if (build_message_locked(p, c, &values_at) != 0)
            return; /* out of memory: the next result tries again */
        bool big = p->msg.len > BIG_MESSAGE;
        if (big) {
            /* Streamed by the sender thread, to a worker with nothing else queued. */
            if (p->sender_busy || !p->sender_thread)
                return;
            wi = pick_worker_locked(p, j, true);
            if (wi < 0)
                return;
            w = &p->workers[wi];
        } else if (!mproc__queue_fits(w->tasks, p->msg.len)) {
            return; /* its ring is full: results will make room */
        }
        /* Take the chunk off the line. */
        chunk *taken = c;
        if (c == &scratch) {
            taken = mproc_malloc(sizeof *taken);
            if (!taken)
                return;
            *taken = scratch;
            j->next_item += taken->count;
            j->next_byte += taken->byte_len;
            j->peeked = false;
            j->inflight++;
        } else {
            p->returned_head = c->next;
            if (!p->returned_head)
                p->returned_tail = NULL;
        }
        w->sent++;
        chunk_append(&w->head, &w->tail, taken);
        w->inflight++;
        if (big) {
            w->streaming = true;
            p->big = taken;
            p->big_worker = wi;
            p->sender_busy = true;
            mpp_cond_signal(p->send_cond);
            continue;
        }
        int rc = give_handles_locked(p, w, taken, values_at);
        /* It fits, so the put does not wait for room, only (briefly) for the ring's put
         * lock, which the worker takes to give drained memory back. */
        rc = rc ? rc : mproc_queue_put(w->tasks, p->msg.data, p->msg.len, PUT_LOCK_MS);
        if (rc) {
            /* The worker is going or gone; its death settles the chunk (taken back from
             * its queue if it got there, else failed as held). Kill it to be sure. */
            mproc_process_kill(w->proc);
            return;
        }
    }
}

/* The sender thread: streams large task messages into idle workers' queues. */
static void sender_main(void *arg)
{
    mproc_pool *p = arg;
    mpp_mutex_lock(p->mu);
    while (!p->sender_exit) {
        if (!p->big) {
            mpp_cond_wait(p->send_cond, p->mu, 1000);
            continue;
        }
        chunk *c = p->big;
        worker *w = &p->workers[p->big_worker];
        size_t values_at;
        int rc = build_message_locked(p, c, &values_at);
        rc = rc ? rc : give_handles_locked(p, w, c, values_at);
        mproc__buf message = p->msg; /* ours while we stream it; p->msg starts anew */
        p->msg = (mproc__buf){0};
        mproc_queue *q = w->tasks;
        mproc_process *proc = w->proc;
        mpp_mutex_unlock(p->mu);
        if (!rc)
            rc = mproc_queue_put(q, message.data, message.len, STREAM_PROGRESS_MS);
        if (rc)
            mproc_process_kill(proc); /* stuck or gone: its death settles the chunk */
        mproc__buf_free(&message);
        mpp_mutex_lock(p->mu);
        w->streaming = false;
        p->big = NULL;
        p->sender_busy = false;
        dispatch_locked(p);
    }
    mpp_mutex_unlock(p->mu);
}

/* ---- the result thread ---------------------------------------------------------------------- */

static void drain_results_locked(mproc_pool *p)
{
    for (int k = 0; k < 100000; k++) {
        mproc_bytes m;
        if (mproc_queue_get(p->results, &m, 0) != 0)
            return;
        handle_result_locked(p, m.data, m.len);
        mproc_bytes_free(&m);
    }
}

/* Whether a call made is not finished (a lazy imap whose input is still being read
 * included: closing waits for it, as Python's close waits for the tasks it queued). */
static bool work_left_locked(const mproc_pool *p)
{
    return p->all_head != NULL || p->returned_head != NULL;
}

static int live_workers_locked(const mproc_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->processes; i++)
        n += p->workers[i].proc != NULL;
    return n;
}

/* Fails every call that can no longer finish. */
static void fail_all_locked(mproc_pool *p, int code, const char *text);

static void check_workers_locked(mproc_pool *p)
{
    for (int i = 0; i < p->processes; i++) {
        worker *w = &p->workers[i];
        /* (A worker being streamed to is buried once the sender has let go of it.) */
        if (w->proc && !w->starting && !w->streaming && mproc_process_is_alive(w->proc) == 0)
            bury_worker_locked(p, w);
    }
    if (p->init_error) {
        char text[1200];
        snprintf(text, sizeof text, "initializer '%s' failed: %s", p->initializer,
                 p->init_error);
        fail_all_locked(p, MPROC_ETASK, text);
        return;
    }
    if (p->bad_starts >= BAD_STARTS_LIMIT) {
        p->init_error = mproc_strdup("workers keep dying before their first task");
        return;
    }
    /* Replace the dead: the live count drives it, whatever the cause (crash, kill,
     * maxtasksperchild). While closing, only while work is left. */
    bool want = p->state == POOL_RUN || (p->state == POOL_CLOSE && work_left_locked(p));
    int64_t now = mpp_monotonic_ms();
    for (int i = 0; want && i < p->processes && now >= p->next_start_try; i++)
        if (!p->workers[i].proc && start_worker_locked(p, i) != 0)
            p->next_start_try = now + 200; /* try again a little later */
}

static void fail_all_locked(mproc_pool *p, int code, const char *text)
{
    for (job *j = p->all_head, *next; j; j = next) {
        next = j->all_next; /* failing may retire it */
        if (!j->complete || !j->input_done)
            fail_job_locked(p, j, code, text);
    }
}

/* Runs the callbacks of completed calls, without the lock, one at a time. Returns whether
 * it ran any (and so let go of the lock). */
static bool run_callbacks_locked(mproc_pool *p)
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
        mark_notified_locked(p, j);
        mpp_mutex_unlock(p->mu);
        while (dones) {
            done_callback *d = dones;
            dones = d->next;
            if (handle)
                d->fn(d->ctx, handle);
            mproc_free(d);
        }
        mpp_mutex_lock(p->mu);
        retire_locked(j);
    }
    return ran;
}

static void stop_workers_locked(mproc_pool *p)
{
    task_head stop = {.type = MSG_STOP};
    for (int i = 0; i < p->processes; i++) {
        worker *w = &p->workers[i];
        if (w->proc && !w->stop_sent && !w->streaming &&
            mproc_queue_put(w->tasks, &stop, sizeof stop, PUT_LOCK_MS) == 0)
            w->stop_sent = true;
    }
}

static void result_main(void *arg)
{
    mproc_pool *p = arg;
    int64_t terminate_since = -1;
    mpp_mutex_lock(p->mu);
    mproc__store(&p->result_tid, mpp_thread_id());
    for (;;) {
        mproc_bytes m;
        bool ending = p->state != POOL_RUN;
        for (int i = 0; i < p->processes && !ending; i++)
            ending = p->workers[i].stop_sent;
        mpp_mutex_unlock(p->mu);
        int rc = mproc_queue_get(p->results, &m, ending ? ENDING_SLICE_MS : RESULT_SLICE_MS);
        mpp_mutex_lock(p->mu);
        if (rc == 0) {
            handle_result_locked(p, m.data, m.len);
            mproc_bytes_free(&m);
            /* Take whatever else came, under one lock. */
            for (int k = 0; k < 256 && mproc_queue_get(p->results, &m, 0) == 0; k++) {
                handle_result_locked(p, m.data, m.len);
                mproc_bytes_free(&m);
            }
        }
        int64_t now = mpp_monotonic_ms();
        if (rc != 0 || now >= p->next_check || p->init_error || p->state != POOL_RUN) {
            p->next_check = now + CHECK_MS;
            check_workers_locked(p);
        }
        dispatch_locked(p);
        if (p->wake_iterators) {
            p->wake_iterators = false;
            mpp_cond_broadcast(p->cond);
        }
        run_callbacks_locked(p);
        if (p->state == POOL_CLOSE && !work_left_locked(p))
            stop_workers_locked(p);
        if (p->state == POOL_TERMINATE) {
            if (terminate_since < 0) {
                terminate_since = now;
                for (int i = 0; i < p->processes; i++)
                    if (p->workers[i].proc)
                        mproc_process_terminate(p->workers[i].proc);
            } else if (now - terminate_since > STOP_GRACE_MS) {
                for (int i = 0; i < p->processes; i++)
                    if (p->workers[i].proc)
                        mproc_process_kill(p->workers[i].proc);
            }
        }
        if (p->state != POOL_RUN && live_workers_locked(p) == 0 && !p->notify_head &&
            (p->state == POOL_TERMINATE || !work_left_locked(p) || p->init_error))
            break;
    }
    p->result_thread_done = true;
    mpp_cond_broadcast(p->cond);
    mpp_mutex_unlock(p->mu);
}

static void wake_result_thread(mproc_pool *p)
{
    if (p->threads) {
        mpp_mutex_lock(p->mu);
        mpp_cond_broadcast(p->cond);
        mpp_cond_broadcast(p->work_cond);
        mpp_mutex_unlock(p->mu);
        return;
    }
    result_head wake = {.type = MSG_WAKE};
    mproc_queue_put(p->results, &wake, sizeof wake, 0);
}

/* ---- the worker process --------------------------------------------------------------------- */

static void put_result(mproc_queue *q, const void *data, size_t len)
{
    /* The result thread drains steadily; a timeout means it is busy (a long callback):
     * try again while the parent is there (this process dies with it). */
    while (mproc_queue_put(q, data, len, 5000) == MPROC_ETIMEDOUT) {
    }
}

static int append_item(mproc__buf *out, int32_t code, const void *data, size_t len)
{
    item_head ih = {.code = code, .len = len};
    int rc = mproc__buf_reserve(out, sizeof ih + pad8(len));
    if (rc)
        return rc;
    uint8_t *at = out->data + out->len;
    memcpy(at, &ih, sizeof ih);
    if (len)
        memcpy(at + sizeof ih, data, len);
    memset(at + sizeof ih + len, 0, pad8(len) - len);
    out->len += sizeof ih + pad8(len);
    return 0;
}

/* A failed task's text: what it put in *out (which is freed), or "task 'x' returned N".
 * NULL when out of memory. */
static char *failure_text(const char *task, int code, mproc_bytes *out)
{
    char fallback[MPROC_TASK_NAME_MAX + 64];
    const char *text = out->data;
    size_t len = text_len(out->data, out->len);
    if (!len) {
        snprintf(fallback, sizeof fallback, "task '%s' returned %d", task, code);
        text = fallback;
        len = strlen(fallback);
    }
    char *copy = mproc_malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = 0;
    }
    mproc_bytes_free(out);
    return copy;
}

/* Runs one item: `field` is the item's pack field. */
static void run_item(mproc_task_fn fn, const char *name, bool star, const uint8_t *field,
                     size_t len, mproc__buf *out)
{
    mproc_bytes in = {(void *)field, len};
    if (star) { /* the nested pack's own bytes */
        mproc_unpacker u = {field, len, 0}, inner;
        if (mproc_unpack_pack(&u, &inner) != 0) {
            static const char text[] = "item is not a pack";
            append_item(out, MPROC_ETYPE, text, sizeof text);
            return;
        }
        in = (mproc_bytes){(void *)inner.data, inner.len};
    }
    mproc_bytes result = {NULL, 0};
    int code = fn(&in, &result);
    if (code == 0) {
        append_item(out, 0, result.data, result.len);
    } else {
        char *text = failure_text(name, code, &result);
        append_item(out, MPROC_ETASK, text ? text : "", text ? strlen(text) + 1 : 1);
        mproc_free(text);
    }
    mproc_free(result.data);
}

/* A worker's task, registered under a name user tasks cannot clash with (':' is rare). */
static int pool_worker_main(const mproc_bytes *in, mproc_bytes *out);
MPROC_TASK_CONSTRUCTOR_(register_pool_worker)
{
    (void)mproc_task_register(WORKER_TASK, pool_worker_main);
}

static int pool_worker_main(const mproc_bytes *in, mproc_bytes *out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *tasks = NULL, *results = NULL;
    mproc_conn *hands = NULL;
    int64_t id = 0, maxtasks = 0, has_hands = 0;
    const char *init_name = NULL;
    mproc_unpacker initargs;
    int rc = mproc_unpack_init(&u, in);
    rc = rc ? rc : mproc_unpack_queue(&u, &tasks);
    rc = rc ? rc : mproc_unpack_queue(&u, &results);
    rc = rc ? rc : mproc_unpack_i64(&u, &has_hands);
    if (!rc && has_hands)
        rc = mproc_unpack_conn(&u, &hands);
    rc = rc ? rc : mproc_unpack_i64(&u, &id);
    rc = rc ? rc : mproc_unpack_i64(&u, &maxtasks);
    rc = rc ? rc : mproc_unpack_str(&u, &init_name);
    rc = rc ? rc : mproc_unpack_pack(&u, &initargs);
    if (rc)
        return 70;
    mproc__received_end(false); /* the start's handles are this process's for good */
    mpp_conn *hands_os = hands ? mproc__conn_os(hands) : NULL;
    mproc__buf reply = {0};
    if (init_name[0]) {
        mproc_task_fn init = mproc_task_lookup(init_name);
        mproc_bytes init_in = {(void *)initargs.data, initargs.len}, init_out = {NULL, 0};
        int code = init ? init(&init_in, &init_out) : MPROC_ENOTASK;
        if (code != 0) {
            char *text = failure_text(init_name, code, &init_out);
            result_head h = {.type = MSG_INIT_FAILED, .worker_id = (uint64_t)id};
            if (mproc__buf_append(&reply, &h, sizeof h) == 0 &&
                mproc__buf_append(&reply, text ? text : "", text ? strlen(text) : 0) == 0)
                put_result(results, reply.data, reply.len);
            mproc_free(text);
            return 71;
        }
        mproc_free(init_out.data);
    }
    char cached_name[MPROC_TASK_NAME_MAX + 1] = "";
    mproc_task_fn cached_fn = NULL;
    int64_t done = 0;
    for (;;) {
        mproc_bytes m;
        rc = mproc_queue_get(tasks, &m, 1000);
        if (rc == MPROC_ETIMEDOUT)
            continue;
        if (rc)
            return 72;
        task_head th;
        if (m.len < sizeof th) {
            mproc_bytes_free(&m);
            return 73;
        }
        memcpy(&th, m.data, sizeof th);
        if (th.type == MSG_STOP) {
            mproc_bytes_free(&m);
            break;
        }
        uint8_t *bytes = m.data;
        size_t head_len = pad8(sizeof th + th.name_len);
        if (th.name_len > MPROC_TASK_NAME_MAX ||
            head_len + (size_t)th.nhandles * 8 + th.items_len > m.len) {
            mproc_bytes_free(&m);
            return 73;
        }
        char name[MPROC_TASK_NAME_MAX + 1];
        memcpy(name, bytes + sizeof th, th.name_len);
        name[th.name_len] = 0;
        if (strcmp(name, cached_name) != 0) {
            cached_fn = mproc_task_lookup(name);
            memcpy(cached_name, name, th.name_len + 1);
        }
        uint8_t *items = bytes + head_len + (size_t)th.nhandles * 8;
        size_t items_len = (size_t)th.items_len;
        reply.len = 0;
        result_head rh = {.type = MSG_RESULT, .count = th.count, .seq = th.seq,
                          .worker_id = (uint64_t)id};
        rc = mproc__buf_append(&reply, &rh, sizeof rh);
        /* The objects in the items: this process's copies replace the parent's values. */
        mpp_handle *got = NULL;
        if (!rc && th.nhandles) {
            got = mproc_calloc(th.nhandles, sizeof *got);
            uint64_t *values = mproc_calloc(th.nhandles, sizeof *values);
            rc = got && values ? 0 : MPROC_ENOMEM;
            if (!rc) {
                memcpy(values, bytes + head_len, (size_t)th.nhandles * 8);
                rc = mpp_take_handles(hands_os, values, th.nhandles, got,
                                      mproc__deadline(STREAM_PROGRESS_MS));
            }
            mproc_free(values);
            rc = rc ? rc : mproc__pack_set_handles(items, items_len, got, th.nhandles);
            if (rc)
                return 74; /* the handles and messages no longer match: start afresh */
            mproc__set_received(got, th.nhandles);
        }
        int64_t t0 = mpp_monotonic_us();
        mproc_unpacker iu = {items, items_len, 0};
        for (uint32_t i = 0; i < th.count && !rc; i++) {
            size_t at = iu.pos;
            if (mproc_unpack_skip(&iu) != 0)
                break;
            if (!cached_fn) {
                char text[MPROC_TASK_NAME_MAX + 32];
                snprintf(text, sizeof text, "unknown task '%s'", name);
                rc = append_item(&reply, MPROC_ENOTASK, text, strlen(text) + 1);
                continue;
            }
            run_item(cached_fn, name, th.flags & TASK_STAR, items + at, iu.pos - at, &reply);
        }
        if (th.nhandles) {
            mproc__received_end(true);
            mproc_free(got);
        }
        mproc_bytes_free(&m);
        if (rc)
            return 75;
        rh.busy_us = (uint64_t)(mpp_monotonic_us() - t0);
        memcpy(reply.data, &rh, sizeof rh);
        put_result(results, reply.data, reply.len);
        if (maxtasks > 0 && ++done >= maxtasks)
            break;
    }
    mproc__buf_free(&reply);
    mproc_queue_destroy(tasks);
    mproc_queue_destroy(results);
    mproc_conn_close(hands);
    return 0;
}

static int start_worker_locked(mproc_pool *p, int slot)
{
    worker *w = &p->workers[slot];
    mproc_pack *args = NULL;
    mproc_conn *child_end = NULL;
    int rc = mproc_queue_create_opts(&w->tasks, &(mproc_queue_opts){.ring_bytes = TASK_RING});
    rc = rc ? rc : mproc_pack_create(&args);
    rc = rc ? rc : mproc_pack_handle(args, w->tasks);
    rc = rc ? rc : mproc_pack_handle(args, p->results);
    if (mpp_give_handles_needs_conn()) { /* objects in its tasks' items travel over it */
        rc = rc ? rc : mproc_pipe(&w->hands, &child_end, true);
        rc = rc ? rc : mproc_pack_i64(args, 1);
        rc = rc ? rc : mproc_pack_handle(args, child_end);
    } else {
        rc = rc ? rc : mproc_pack_i64(args, 0); /* handles are duplicated into the worker */
    }
    uint64_t id = ++p->next_worker_id;
    rc = rc ? rc : mproc_pack_i64(args, (int64_t)id);
    rc = rc ? rc : mproc_pack_i64(args, p->maxtasks);
    rc = rc ? rc : mproc_pack_str(args, p->initializer ? p->initializer : "");
    rc = rc ? rc : mproc_pack_pack(args, p->initargs);
    char name[64];
    mpp_lock();
    unsigned number = ++worker_counter;
    mpp_unlock();
    snprintf(name, sizeof name, "%sPoolWorker-%u", p->method_label, number);
    rc = rc ? rc : mproc_process_create(&w->proc, &(mproc_process_opts){.target = WORKER_TASK,
                                                                        .args = args,
                                                                        .name = name,
                                                                        .daemon = true,
                                                                        .ctx = p->ctx});
    mproc_pack_destroy(args);
    if (!rc) {
        /* Starting takes a while (spawn runs a program): not under the lock. */
        mproc_process *proc = w->proc;
        w->starting = true;
        mpp_mutex_unlock(p->mu);
        rc = mproc_process_start(proc);
        mpp_mutex_lock(p->mu);
        w->starting = false;
    }
    mproc_conn_close(child_end);
    if (rc) {
        mproc_log(MPROC_LOG_WARNING, "could not start pool worker %s: %s", name,
                  mproc_strerror(rc));
        mproc_process_destroy(w->proc);
        mproc_queue_destroy(w->tasks);
        mproc_conn_close(w->hands);
        memset(w, 0, sizeof *w);
        return rc;
    }
    w->id = id;
    w->pid = mproc_process_pid(w->proc);
    return 0;
}

/* ---- the thread pool ---------------------------------------------------------------------------
 * Worker threads take chunks from the same pending list the process pool's dispatcher
 * reads, run them, and store the results as they are (no messages); the result thread
 * of a thread pool only runs callbacks and replaces worker threads that ended. */

typedef struct item_outcome {
    int code;
    mproc_bytes bytes;
} item_outcome;

static void thread_worker_main(void *arg)
{
    worker *w = arg;
    mproc_pool *p = w->pool;
    if (p->initializer) {
        mproc_bytes in = {NULL, 0}, out = {NULL, 0};
        mproc_pack_view(p->initargs, &in);
        mproc_task_fn init = mproc_task_lookup(p->initializer);
        int code = init ? init(&in, &out) : MPROC_ENOTASK;
        char *text = code ? failure_text(p->initializer, code, &out) : NULL;
        mproc_bytes_free(&out);
        if (code) {
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
        chunk *c = peek_work_locked(p, &scratch);
        if (!c) {
            if (p->state == POOL_CLOSE && !work_left_locked(p))
                break;
            mpp_cond_wait(p->work_cond, p->mu, 1000);
            continue;
        }
        job *j = c->job;
        chunk taken = scratch;
        j->next_item += taken.count;
        j->next_byte += taken.byte_len;
        j->peeked = false;
        j->inflight++;
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
            mproc_bytes in = {items.data + at, u.pos - at}, out = {NULL, 0};
            if (star) {
                mproc_unpacker field = {items.data + at, u.pos - at, 0}, inner;
                mproc_unpack_pack(&field, &inner);
                in = (mproc_bytes){(void *)inner.data, inner.len};
            }
            int code = fn ? fn(&in, &out) : MPROC_ENOTASK;
            if (code == 0) {
                outcomes[i] = (item_outcome){0, out};
            } else {
                char *text = failure_text(task, code, &out);
                outcomes[i] = (item_outcome){MPROC_ETASK, {text, text ? strlen(text) + 1 : 0}};
            }
        }
        mpp_mutex_lock(p->mu);
        for (size_t i = 0; i < taken.count; i++) {
            if (rc) {
                static const char oom[] = "out of memory in a worker thread";
                char *text = mproc_malloc(sizeof oom);
                if (text)
                    memcpy(text, oom, sizeof oom);
                store_result_locked(p, j, taken.first + i, MPROC_ENOMEM, text,
                                    text ? sizeof oom : 0);
            } else {
                store_result_locked(p, j, taken.first + i, outcomes[i].code,
                                    outcomes[i].bytes.data, outcomes[i].bytes.len);
            }
        }
        j->inflight--;
        retire_locked(j);
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
        bool joined = run_callbacks_locked(p);
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
            bool want = !p->init_error &&
                        (p->state == POOL_RUN || (p->state == POOL_CLOSE && work_left_locked(p)));
            if (want && start_thread_locked(p, i) != 0)
                mproc_log(MPROC_LOG_WARNING, "could not start a pool worker thread");
        }
        if (p->init_error && !init_failure_handled) {
            char text[1200];
            snprintf(text, sizeof text, "initializer '%s' failed: %s", p->initializer,
                     p->init_error);
            fail_all_locked(p, MPROC_ETASK, text);
            mpp_cond_broadcast(p->work_cond);
            init_failure_handled = true;
            continue;
        }
        if (p->state == POOL_CLOSE && !work_left_locked(p))
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

static int pool_new(const mproc_pool_opts *opts, bool threads, mproc_pool **out);

int mproc_threadpool_create(mproc_pool **out, const mproc_pool_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_pool *p;
    int rc = pool_new(opts, true, &p);
    if (rc)
        return mproc__fail(rc);
    rc = mpp_cond_create(&p->work_cond);
    if (rc) {
        pool_free(p);
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
        pool_free(p);
        return mproc__fail(rc);
    }
    *out = p;
    return 0;
}

/* ---- creating and ending the pool ----------------------------------------------------------- */

static const char *method_label(mproc_start_method m)
{
    switch (m) {
    case MPROC_FORK: return "Fork";
    case MPROC_FORKSERVER: return "ForkServer";
    default: return "Spawn";
    }
}

static int check_pool(const mproc_pool *p)
{
    return p && p->magic == POOL_MAGIC ? 0 : MPROC_EINVAL;
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
        mproc_conn_close(w->hands);
        while (w->head) {
            chunk *c = w->head;
            w->head = c->next;
            c->job->inflight--;
            retire_locked(c->job);
            mproc_free(c);
        }
        memset(w, 0, sizeof *w);
    }
    while (p->returned_head) {
        chunk *c = p->returned_head;
        p->returned_head = c->next;
        c->job->inflight--;
        retire_locked(c->job);
        mproc_free(c);
    }
    while (p->pending_head) {
        job *j = p->pending_head;
        pending_drop_head_locked(p);
        retire_locked(j);
    }
    if (p->results)
        mproc_queue_destroy(p->results);
    p->results = NULL;
}

/* What both kinds of pool start from: options checked, the lock, the worker slots. */
static int pool_new(const mproc_pool_opts *opts, bool threads, mproc_pool **out)
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
        pool_free(p);
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
    mproc_start_method method = opts && opts->ctx ? mproc_context_method(opts->ctx)
                                                  : mproc_get_start_method();
    if (method == MPROC_METHOD_DEFAULT)
        method = mproc_get_start_method();
    if (!mproc_start_method_available(method))
        return mproc__fail(MPROC_ENOTSUP);
    mproc_pool *p;
    int rc = pool_new(opts, false, &p);
    if (rc)
        return mproc__fail(rc);
    p->method_label = method_label(method);
    rc = mproc_context_get(&p->ctx, method);
    rc = rc ? rc : mpp_cond_create(&p->send_cond);
    rc = rc ? rc : mproc_queue_create_opts(&p->results,
                                           &(mproc_queue_opts){.ring_bytes = RESULT_RING});
    if (!rc) {
        mpp_mutex_lock(p->mu);
        for (int i = 0; !rc && i < p->processes; i++)
            rc = start_worker_locked(p, i);
        mpp_mutex_unlock(p->mu);
    }
    rc = rc ? rc : mpp_thread_start(&p->result_thread, result_main, p);
    if (rc) {
        pool_teardown(p);
        pool_free(p);
        return mproc__fail(rc);
    }
    p->magic = POOL_MAGIC;
    rc = mpp_thread_start(&p->sender_thread, sender_main, p);
    if (rc) {
        mproc_pool_destroy(p);
        return mproc__fail(rc);
    }
    *out = p;
    return 0;
}

static bool on_result_thread(const mproc_pool *p)
{
    uint64_t tid = mproc__load(&p->result_tid);
    return tid != 0 && tid == mpp_thread_id();
}

int mproc_pool_close(mproc_pool *p)
{
    if (check_pool(p))
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(p->mu);
    if (p->state == POOL_RUN)
        p->state = POOL_CLOSE;
    mpp_mutex_unlock(p->mu);
    wake_result_thread(p);
    return 0;
}

int mproc_pool_terminate(mproc_pool *p)
{
    if (check_pool(p))
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(p->mu);
    if (p->state != POOL_TERMINATE) {
        p->state = POOL_TERMINATE;
        fail_all_locked(p, MPROC_ECLOSED, "the pool was terminated");
        if (p->threads)
            mpp_cond_broadcast(p->work_cond);
    }
    mpp_mutex_unlock(p->mu);
    wake_result_thread(p);
    return 0;
}

int mproc_pool_join(mproc_pool *p, int64_t timeout_ms)
{
    if (check_pool(p))
        return mproc__fail(MPROC_EINVAL);
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_mutex_lock(p->mu);
    if (p->state == POOL_RUN || on_result_thread(p)) {
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
    if (check_pool(p))
        return;
    if (on_result_thread(p)) {
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
    pool_unref_locked(p, &free_it);
    mpp_mutex_unlock(p->mu);
    if (free_it)
        pool_free(p);
}

int mproc_pool_size(const mproc_pool *p)
{
    return check_pool(p) ? mproc__fail(MPROC_EINVAL) : p->processes;
}

int mproc_pool_workers(mproc_pool *p, int64_t *pids, size_t cap)
{
    if (check_pool(p) || (!pids && cap))
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

static int new_job(mproc_pool *p, int kind, const char *task, bool star, job **out)
{
    if (check_pool(p) || !task)
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
    if (job_reserve(j, 1, false) != 0) {
        job_free(j);
        return MPROC_ENOMEM;
    }
    *out = j;
    return 0;
}

/* Hands a filled job to the pool: it is then the pool's (and the caller's, via *handle). */
static int submit(mproc_pool *p, job *j)
{
    mpp_mutex_lock(p->mu);
    if (p->state != POOL_RUN) {
        mpp_mutex_unlock(p->mu);
        job_free(j);
        return MPROC_ESTATE;
    }
    p->refs++;
    j->avg_chunk_us = recall_speed_locked(p, j->task);
    j->all_next = p->all_head;
    if (p->all_head)
        p->all_head->all_prev = j;
    p->all_head = j;
    if (p->init_error) {
        char text[1200];
        snprintf(text, sizeof text, "initializer '%s' failed: %s", p->initializer,
                 p->init_error);
        fail_job_locked(p, j, MPROC_ETASK, text);
    } else if (j->input_done && j->n == 0) {
        complete_locked(p, j); /* map over nothing */
        retire_locked(j);
    } else {
        pending_add_locked(p, j);
        dispatch_locked(p);
    }
    mpp_mutex_unlock(p->mu);
    return 0;
}

static void release_job(job *j)
{
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    j->user_released = true;
    bool free_pool = job_maybe_free_locked(j);
    mpp_mutex_unlock(p->mu);
    if (free_pool)
        pool_free(p);
}

static void cancel_job(job *j)
{
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    j->cancelled = true;
    j->input_done = true;
    if (!j->complete && j->inflight == 0) {
        j->complete = true; /* nothing will come: no callbacks either */
        mark_notified_locked(p, j);
    }
    retire_locked(j);
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
    int rc = submit(p, j);
    if (!rc)
        *out = j;
    return rc;
}

static int apply_job_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                            const mproc_call_opts *opts, const void *tag, job **out)
{
    job *j;
    int rc = new_job(p, JOB_APPLY, task, true, &j);
    if (rc)
        return rc;
    j->tag = tag;
    /* The call is one item: its args as a nested pack field (tag, u64 length, bytes). */
    mproc_bytes view = {NULL, 0};
    if (args)
        rc = mproc_pack_view(args, &view);
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
        rc = job_add_items(j, field, field_len, 1, args && mproc__pack_has_handles(args));
    }
    if (field != small)
        mproc_free(field);
    if (rc) {
        job_free(j);
        return rc;
    }
    return submit_items(p, j, 1, opts, out);
}

static int map_job(mproc_pool *p, int kind, const char *task, const mproc_pack *items,
                   bool star, size_t chunksize, const mproc_call_opts *opts, job **out)
{
    if (!items)
        return MPROC_EINVAL;
    job *j;
    int rc = new_job(p, kind, task, star, &j);
    if (rc)
        return rc;
    rc = add_pack_items(j, items);
    if (rc) {
        job_free(j);
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
        cancel_job(j);
    release_job(j);
    return rc;
}

int mproc_pool_apply(mproc_pool *p, const char *task, const mproc_pack *args,
                     mproc_bytes *result, int64_t timeout_ms)
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
        release_job(j);
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

int mproc_pool_map(mproc_pool *p, const char *task, const mproc_pack *items,
                   mproc_bytes *results, size_t n, size_t chunksize, int64_t timeout_ms)
{
    return map_sync(p, task, items, false, results, n, chunksize, timeout_ms);
}

int mproc_pool_starmap(mproc_pool *p, const char *task, const mproc_pack *items,
                       mproc_bytes *results, size_t n, size_t chunksize, int64_t timeout_ms)
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

/* ---- async results -------------------------------------------------------------------------- */

static job *job_of(const mproc_async *a)
{
    return a && a->magic == ASYNC_MAGIC ? a->j : NULL;
}

int mproc_async_wait(mproc_async *a, int64_t timeout_ms)
{
    job *j = job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int rc = wait_job_locked(j, mproc__deadline(timeout_ms));
    mpp_mutex_unlock(j->pool->mu);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_async_ready(mproc_async *a)
{
    job *j = job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int ready = j->notified;
    mpp_mutex_unlock(j->pool->mu);
    return ready;
}

int mproc_async_successful(mproc_async *a)
{
    job *j = job_of(a);
    if (!j)
        return mproc__fail(MPROC_EINVAL);
    mpp_mutex_lock(j->pool->mu);
    int rc = !j->notified ? MPROC_ESTATE : j->error_code == 0;
    mpp_mutex_unlock(j->pool->mu);
    return rc < 0 ? mproc__fail(rc) : rc;
}

size_t mproc_async_count(const mproc_async *a)
{
    job *j = job_of(a);
    return j ? j->n : 0;
}

int mproc_async_get(mproc_async *a, mproc_bytes *results, int64_t timeout_ms)
{
    job *j = job_of(a);
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
    job *j = job_of(a);
    if (!j)
        return;
    mpp_mutex_lock(j->pool->mu);
    a->magic = 0;
    j->handle = NULL; /* done callbacks of a future nobody holds are not called */
    mpp_mutex_unlock(j->pool->mu);
    release_job(j);
}

/* ---- imap ----------------------------------------------------------------------------------- */

static void read_ahead_locked(job *j);

static int imap_start(mproc_pool *p, const char *task, const mproc_pack *items,
                      mproc_next_fn next, void *ctx, size_t chunksize, bool unordered,
                      size_t window, mproc_iter **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (!items && !next)
        return mproc__fail(MPROC_EINVAL);
    job *j;
    int rc = new_job(p, JOB_IMAP, task, false, &j);
    if (rc)
        return mproc__fail(rc);
    j->unordered = unordered;
    j->chunksize = chunksize ? chunksize : 1;
    rc = job_reserve(j, 1, false); /* again: `finished` exists only when unordered */
    if (!rc && items) {
        rc = add_pack_items(j, items);
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
        job_free(j);
        return mproc__fail(rc);
    }
    rc = submit(p, j);
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
            rc = job_add_items(j, view.data, view.len, 1,
                               mproc__pack_has_handles(j->scratch)) == 0
                     ? 1
                     : MPROC_ENOMEM;
        if (rc != 1) {
            j->input_done = true;
            j->source_error = rc < 0 ? rc : 0;
            if (j->done == j->n)
                complete_locked(p, j);
            retire_locked(j);
            break;
        }
        pending_add_locked(p, j);
    }
    dispatch_locked(p);
}

int mproc_iter_next(mproc_iter *it, mproc_bytes *result, int64_t timeout_ms)
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
    cancel_job(j);
    release_job(j);
}

void mproc_bytes_free_array(mproc_bytes *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        mproc_bytes_free(&items[i]);
}

/* ---- futures: cancel, done callbacks, executors' tags --------------------------------------- */

int mproc__async_cancel(mproc_async *a)
{
    job *j = job_of(a);
    if (!j)
        return MPROC_EINVAL;
    mproc_pool *p = j->pool;
    mpp_mutex_lock(p->mu);
    /* Only a call none of whose items went to a worker can be cancelled (again: Python's
     * cancel of a cancelled future is True too). */
    bool can = j->was_cancelled || (!j->complete && j->next_item == 0 && j->inflight == 0);
    if (can && !j->was_cancelled) {
        j->was_cancelled = true;
        fail_job_locked(p, j, MPROC_ECANCELLED, "cancelled");
    }
    mpp_mutex_unlock(p->mu);
    return can ? 1 : 0;
}

int mproc__async_cancelled(mproc_async *a)
{
    job *j = job_of(a);
    if (!j)
        return MPROC_EINVAL;
    mpp_mutex_lock(j->pool->mu);
    int cancelled = j->was_cancelled;
    mpp_mutex_unlock(j->pool->mu);
    return cancelled;
}

int mproc__async_add_done(mproc_async *a, mproc_done_fn fn, void *ctx)
{
    job *j = job_of(a);
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

bool mproc__async_on_result_thread(mproc_async *a)
{
    job *j = job_of(a);
    return j && on_result_thread(j->pool);
}

int mproc__pool_apply_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                             const void *tag, mproc_async **out)
{
    job *j;
    int rc = apply_job_tagged(p, task, args, NULL, tag, &j);
    return rc ? mproc__fail(rc) : wrap_async(j, out);
}

/* Cancels the calls of that tag none of whose items were given out; returns how many. */
int mproc__pool_cancel_tagged(mproc_pool *p, const void *tag)
{
    if (check_pool(p))
        return MPROC_EINVAL;
    int n = 0;
    mpp_mutex_lock(p->mu);
    for (job *j = p->all_head, *next; j; j = next) {
        next = j->all_next;
        if (j->tag == tag && !j->complete && j->next_item == 0 && j->inflight == 0) {
            j->was_cancelled = true;
            fail_job_locked(p, j, MPROC_ECANCELLED, "cancelled");
            n++;
        }
    }
    mpp_mutex_unlock(p->mu);
    return n;
}

/* Waits until no call of that tag is left unfinished. */
int mproc__pool_wait_tagged(mproc_pool *p, const void *tag, int64_t timeout_ms)
{
    if (check_pool(p))
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

/* ---- waiting on many calls ------------------------------------------------------------------ */

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
        if (!job_of(items[i]))
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
        bool met = mode == MPROC_WAIT_ALL ? count == n
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
        if (!job_of(items[i]))
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

int mproc_as_completed_next(mproc_as_completed *it, size_t *index, int64_t timeout_ms)
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
