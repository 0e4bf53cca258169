/* A pool and its calls: the structures every file of pool/ shares, the operations on calls
 * that go from file to file, and what futures/ builds on (a future is a call's mproc_async).
 * The pool's own lock (p->mu) guards everything here unless a comment says otherwise.
 *
 * The files, lowest first (each uses only those before it): job.c (calls: items, results,
 * completion, the line of work), worker.c (a worker process: its start and its main),
 * dispatch.c (the process pool's parent side: handing out messages, the sender thread, the
 * result thread, dead workers), pool.c (pools: create, close, terminate, join; submitting
 * calls; async results), threadpool.c (multiprocessing.dummy), imap.c. workers.h holds what
 * the parent and its workers share. */
#ifndef MPROC_POOL_PRIVATE_H
#define MPROC_POOL_PRIVATE_H

#include <string.h>

#include "modules/modules.h"

#define POOL_MAGIC 0x6d70506cu
#define ASYNC_MAGIC 0x6d704172u

/* ---- calls ---------------------------------------------------------------------------------- */

enum { JOB_APPLY = 1, JOB_MAP = 2, JOB_IMAP = 3 };

typedef struct job job;
typedef struct chunk chunk;
typedef struct worker worker; /* workers.h */

/* A call's handle lives in its job, so a done callback can be given it even while its
 * caller destroys it (it is then a dead handle: calls on it are MPROC_EINVAL). */
struct mproc_async {
    uint32_t magic;
    job *j;
};

struct chunk {
    uint64_t seq;
    job *job;
    size_t first, count;      /* items */
    size_t byte_at, byte_len; /* their fields in job->items */
    chunk *next;
};

struct job {
    mproc_pool *pool;
    int kind;
    bool star, unordered;
    char task[MPROC_TASK_NAME_MAX + 1];
    mproc__buf items;       /* the items' pack fields, with the parent's handle values */
    size_t n, cap;          /* items known so far; room in the per-item arrays */
    size_t *handle_first;   /* only when items hold objects: item i's handles start at
                               handles.items[handle_first[i]] */
    mproc__handles handles; /* the parent's own copies of the items' handles */
    bool input_done;        /* every item is known */
    size_t chunksize;
    size_t next_item, next_byte; /* the first item not yet given out, and its field */
    bool peeked;                 /* the next chunk is measured: */
    size_t peek_count, peek_len;
    bool pending_listed; /* in the pool's pending list */
    job *pending_next;
    size_t inflight;     /* chunks at workers or taken back from dead ones */
    double avg_chunk_us; /* measured cost of one chunk; 0 until known */
    /* results */
    mproc_bytes *results;
    int *codes;
    bool *have;
    size_t done;
    int error_code; /* the first failure by item index (map), or of the call */
    size_t error_index;
    char *error_text;
    bool complete;  /* every result is in (or the call failed as a whole) */
    bool notified;  /* callbacks ran: waiters may go */
    bool cancelled; /* the caller went away or timed out: dispatch no more */
    bool user_released, retired;
    mproc_callback_fn callback;
    mproc_error_callback_fn error_callback;
    void *ctx;
    struct done_callback *done_callbacks; /* futures' add_done_callback */
    mproc_async self;                     /* the caller's handle (magic 0 when destroyed or none) */
    mproc_async *handle;                  /* &self while the caller holds it, for done callbacks */
    const void *tag;                      /* the executor that submitted it, or NULL */
    bool was_cancelled;                   /* cancelled before it started (future.cancel) */
    job *notify_next;
    job *all_prev, *all_next; /* the pool's calls not yet retired */
    /* imap */
    size_t taken;     /* results returned by mproc_iter_next (ordered: next index) */
    size_t *finished; /* unordered: item indexes in the order they finished */
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

/* ---- pools ---------------------------------------------------------------------------------- */

enum { POOL_RUN = 0, POOL_CLOSE = 1, POOL_TERMINATE = 2 };

struct mproc_pool {
    uint32_t magic;
    int state;
    bool threads;        /* a thread pool: workers are threads of this process */
    mpp_cond *work_cond; /* thread pool: work for idle worker threads */
    mpp_mutex *mu;
    mpp_cond *cond;      /* results, readiness, the result thread's end */
    mpp_cond *send_cond; /* work for the sender thread */
    size_t refs;         /* the creator, and every call not yet freed */
    int processes;
    int64_t maxtasks;
    mproc_context *ctx;
    const char *method_label;
    char *initializer;
    mproc_pack *initargs; /* a copy, with handles of its own */
    mproc_queue *results;
    worker *workers;
    uint64_t next_seq, next_worker_id;
    job *pending_head, *pending_tail;
    chunk *returned_head, *returned_tail; /* taken back from dead workers: go first */
    job *notify_head, *notify_tail;
    job *all_head;       /* calls not yet retired */
    uint64_t result_tid; /* the result thread: it must not join itself */
    struct {
        char name[MPROC_TASK_NAME_MAX + 1];
        double us;
    } speed[16];    /* last measured chunk cost per task, for new calls */
    mproc__buf msg; /* the message being built */
    mpp_thread *result_thread, *sender_thread;
    bool result_thread_done, sender_exit;
    bool wake_iterators; /* imap results came: wake their readers */
    chunk *big;          /* the message the sender thread is to stream */
    int big_worker;
    bool sender_busy;
    char *init_error; /* the initializer failed: every call fails with this */
    int bad_starts;
    int next_pick; /* where the search for a worker starts */
    int64_t next_check;
    int64_t next_start_try;
};

static inline int mproc__pool_check(const mproc_pool *p)
{
    return p && p->magic == POOL_MAGIC ? 0 : MPROC_EINVAL;
}

static inline job *mproc__job_of(const mproc_async *a)
{
    return a && a->magic == ASYNC_MAGIC ? a->j : NULL;
}

/* Whether the calling thread is p's result thread (callbacks run there). Any thread. */
static inline bool mproc__pool_on_result_thread(const mproc_pool *p)
{
    uint64_t tid = mproc__load(&p->result_tid);
    return tid != 0 && tid == mpp_thread_id();
}

static inline void mproc__pool_unref_locked(mproc_pool *p, bool *free_it)
{
    *free_it = --p->refs == 0;
}

/* Whether a call made is not finished (a lazy imap whose input is still being read
 * included: closing waits for it, as Python's close waits for the tasks it queued). */
static inline bool mproc__pool_work_left_locked(const mproc_pool *p)
{
    return p->all_head != NULL || p->returned_head != NULL;
}

/* Length of a text of at most len bytes that may or may not end with a NUL. */
static inline size_t mproc__text_len(const void *data, size_t len)
{
    const char *nul = data ? memchr(data, 0, len) : NULL;
    return nul ? (size_t)(nul - (const char *)data) : data ? len : 0;
}

/* ---- calls (job.c) -------------------------------------------------------------------------- */

void mproc__job_free(job *j);
/* Frees the job once both its caller and the pool are done with it; returns whether the
 * pool is to be freed. */
bool mproc__job_maybe_free_locked(job *j);
int mproc__job_reserve(job *j, size_t want, bool with_handles);
int mproc__job_add_items(job *j, const uint8_t *fields, size_t len, size_t count, bool has_handles);
int mproc__job_add_pack_items(job *j, const mproc_pack *items);
void mproc__pending_add_locked(mproc_pool *p, job *j);
void mproc__pending_drop_head_locked(mproc_pool *p);
void mproc__job_mark_notified_locked(mproc_pool *p, job *j);
void mproc__job_retire_locked(job *j);
void mproc__job_complete_locked(mproc_pool *p, job *j);
void mproc__job_store_result_locked(mproc_pool *p, job *j, size_t index, int code, void *data,
                                    size_t len);
void mproc__job_fail_locked(mproc_pool *p, job *j, int code, const char *text);
void mproc__pool_fail_all_locked(mproc_pool *p, int code, const char *text);
void mproc__pool_fail_initializer_locked(mproc_pool *p, job *only);
bool mproc__pool_run_callbacks_locked(mproc_pool *p);
chunk *mproc__pool_peek_work_locked(mproc_pool *p, chunk *scratch);
void mproc__job_take_chunk_locked(job *j, const chunk *c);

/* How futures/ hears of completions: fn runs each time a call of any pool is done (from
 * then on mproc_async_ready says so), on the thread that finished it, under that call's
 * pool lock, so it must be quick and must not call a pool. One function for the process:
 * futures/ sets it before it first waits. */
void mproc__pool_on_call_done(void (*fn)(void));

/* ---- pools and submitting (pool.c) ---------------------------------------------------------- */

int mproc__pool_new(const mproc_pool_opts *opts, bool threads, mproc_pool **out);
void mproc__pool_free(mproc_pool *p);
int mproc__pool_new_job(mproc_pool *p, int kind, const char *task, bool star, job **out);
int mproc__pool_submit(mproc_pool *p, job *j);
/* The caller is done with the call (its handle or iterator went): frees it once the pool is
 * too. Takes the lock. */
void mproc__job_release(job *j);
/* The caller gives up on the call: nothing more of it goes out. Takes the lock. */
void mproc__job_cancel(job *j);
/* An apply_async marked with an executor's tag (futures/ finds a tag's calls by it). */
int mproc__pool_apply_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                             const void *tag, mproc_async **out);

/* ---- handing out work (dispatch.c) --------------------------------------------------------- */

/* Gives the workers as much work as they may hold now (a thread pool's workers take it
 * themselves: it wakes them). */
void mproc__pool_dispatch_locked(mproc_pool *p);

#endif
