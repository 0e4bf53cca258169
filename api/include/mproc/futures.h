/* mproc — executors and futures (concurrent.futures), waiting on many calls, and cancel
 * tokens.
 *
 *   mproc_executor *ex;
 *   mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = 4});
 *   mproc_future *f;
 *   mproc_executor_submit(ex, "square", MPROC_ARGS(7), &f);
 *   mproc_bytes r;
 *   if (mproc_future_result(f, 1000, &r) == 0) {
 *       int64_t y;
 *       MPROC_UNPACK(&r, &y);             // the task's result (pool.h)
 *   }
 *   mproc_bytes_free(&r);
 *   mproc_future_destroy(f);
 *   mproc_executor_destroy(ex);
 *
 * A future is a pool call's handle: mproc_future is mproc_async, so every mproc_async_…
 * call works on futures and mproc_wait / mproc_as_completed take both. As with the pool,
 * a worker process that dies fails only the futures it had taken (MPROC_EWORKER); Python's
 * ProcessPoolExecutor breaks them all (BrokenProcessPool). */
#ifndef MPROC_FUTURES_H
#define MPROC_FUTURES_H

#include "common.h"
#include "pack.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef mproc_async mproc_future;
typedef struct mproc_executor mproc_executor;

typedef struct mproc_executor_opts {
    int max_workers;            /* <= 0: usable CPUs (processes), or that + 4, at most 32
                                (threads), as Python */
    bool threads;               /* ThreadPoolExecutor; false: ProcessPoolExecutor */
    const char *initializer;    /* as the pool's */
    const mproc_pack *initargs; /* copied; MPROC_ARGS(...) works */
    mproc_context *ctx;         /* processes: the start method */
    mproc_pool *pool;           /* non-NULL: submit to this pool (the caller's: it stays the
                           caller's to destroy); the fields above are then ignored */
} mproc_executor_opts;

/* ProcessPoolExecutor(max_workers, ...) or ThreadPoolExecutor (opts.threads), or an executor
 * over a pool of the caller's (opts.pool). opts may be NULL. MPROC_EINVAL for a NULL out;
 * MPROC_ENOMEM; otherwise what creating the pool gives (mproc_pool_create). */
MPROC_API int mproc_executor_create(mproc_executor **out, const mproc_executor_opts *opts);
/* submit(task, args) -> future (args copied; may be NULL; MPROC_ARGS(...) works).
 * MPROC_ESTATE after shutdown. */
MPROC_API int mproc_executor_submit(mproc_executor *ex, const char *task, const mproc_pack *args,
                                    mproc_future **out);
/* map(task, items, timeout): as mproc_pool_map. */
MPROC_API int mproc_executor_map(mproc_executor *ex, const char *task, const mproc_pack *items,
                                 size_t chunksize, int64_t timeout_ms, mproc_bytes *results,
                                 size_t n);
/* shutdown(wait, cancel_futures): no more submits; cancel_futures cancels those of its
 * futures that have not started; wait waits up to timeout_ms for the rest to finish
 * (MPROC_ETIMEDOUT: they go on). */
MPROC_API int mproc_executor_shutdown(mproc_executor *ex, bool wait, bool cancel_futures,
                                      int64_t timeout_ms);
/* Shuts down (waiting for running futures) and frees the executor (and its own pool).
 * Futures stay valid until destroyed. NULL is a no-op. */
MPROC_API void mproc_executor_destroy(mproc_executor *ex);
/* The pool it submits to. */
MPROC_API mproc_pool *mproc_executor_pool(mproc_executor *ex);

/* ---- futures (any mproc_async) -------------------------------------------------------------- */

/* result(timeout): 0 and *result (the task's pack bytes, a copy to free); MPROC_ETASK /
 * MPROC_EWORKER with the error text in *result (exception()); MPROC_ECANCELLED;
 * MPROC_ETIMEDOUT. The async call mproc_async_get. */
static inline int mproc_future_result(mproc_future *f, int64_t timeout_ms, mproc_bytes *result)
{
    return mproc_async_get(f, timeout_ms, result);
}
/* done(): 1 once finished or cancelled (mproc_async_ready). */
static inline int mproc_future_done(mproc_future *f)
{
    return mproc_async_ready(f);
}
/* cancel(): 1 if the call had not started and now never will (its result is then
 * MPROC_ECANCELLED), 0 if it is running or done. */
MPROC_API int mproc_future_cancel(mproc_future *f);
/* cancelled(): 1 if the future was cancelled, else 0. */
MPROC_API int mproc_future_cancelled(mproc_future *f);
/* add_done_callback(fn): fn(ctx, f) once f is done — at once, on this thread, if it is
 * done already; else on the pool's result thread, one callback at a time. */
typedef void (*mproc_done_fn)(void *ctx, mproc_future *f);
/* Registers fn (mproc_done_fn above) to run once f is done. 0, or MPROC_EINVAL for a NULL f
 * or fn; MPROC_ENOMEM. */
MPROC_API int mproc_future_add_done_callback(mproc_future *f, mproc_done_fn fn, void *ctx);
/* mproc_async_destroy. */
static inline void mproc_future_destroy(mproc_future *f)
{
    mproc_async_destroy(f);
}

/* ---- waiting on many ------------------------------------------------------------------------ */

typedef enum mproc_wait_mode {
    MPROC_WAIT_ALL = 0,        /* ALL_COMPLETED (Task.WhenAll) */
    MPROC_WAIT_ANY = 1,        /* FIRST_COMPLETED (Task.WhenAny) */
    MPROC_WAIT_FIRST_ERROR = 2 /* FIRST_EXCEPTION: the first failure, or all done */
} mproc_wait_mode;

/* Waits until the mode is satisfied: returns how many are done (done[i] says which; done
 * may be NULL), or MPROC_ETIMEDOUT (done[] still filled). Items may come from different
 * pools; cancelled ones count as done. */
MPROC_API int mproc_wait(mproc_async *const *items, size_t n, mproc_wait_mode mode,
                         int64_t timeout_ms, bool *done);

/* as_completed(items): their indexes in the order they finish. */
typedef struct mproc_as_completed mproc_as_completed;
/* An iterator over n futures (or async results) giving their indexes as they finish, to
 * free with mproc_as_completed_destroy. MPROC_EINVAL for a NULL out, NULL items with n > 0
 * or a NULL item; MPROC_ENOMEM. */
MPROC_API int mproc_as_completed_create(mproc_as_completed **out, mproc_async *const *items,
                                        size_t n);
/* 1 and *index of the next one done; 0 when all were given; MPROC_ETIMEDOUT. */
MPROC_API int mproc_as_completed_next(mproc_as_completed *it, int64_t timeout_ms, size_t *index);
/* Frees the iterator (the futures stay the caller's). NULL is a no-op. */
MPROC_API void mproc_as_completed_destroy(mproc_as_completed *it);

/* ---- cancel tokens -----------------------------------------------------------------------------
 * A flag in shared memory that a caller sets (or that sets itself at a deadline) and a
 * running task polls or waits on, in any process: the C twin of .NET's
 * CancellationTokenSource(timeout). It travels in packs (mproc_pack_handle /
 * mproc_unpack_cancel); the deadline is on the machine's monotonic clock, the same in
 * every process. */
typedef struct mproc_cancel mproc_cancel;
/* timeout_ms: it cancels itself that long from now; MPROC_FOREVER: only when told. */
MPROC_API int mproc_cancel_create(mproc_cancel **out, int64_t timeout_ms);
/* Cancels now: every waiter wakes and mproc_cancel_requested gives 1, in every process. */
MPROC_API int mproc_cancel_trigger(mproc_cancel *c);
/* 1 once triggered or past its deadline, else 0. */
MPROC_API int mproc_cancel_requested(mproc_cancel *c);
/* 0 once cancelled, or MPROC_ETIMEDOUT. */
MPROC_API int mproc_cancel_wait(mproc_cancel *c, int64_t timeout_ms);
/* Frees this process's handle; the token lives on in processes that still hold one. NULL is a
 * no-op. */
MPROC_API void mproc_cancel_destroy(mproc_cancel *c);
/* Re-opens a cancel token sent in a pack: a new handle of this process, to destroy. MPROC_ETYPE
 * when the next field is another kind, MPROC_EINVAL at the end of the pack or for NULL. */
MPROC_API int mproc_unpack_cancel(mproc_unpacker *u, mproc_cancel **out);

#ifdef __cplusplus
}
#endif
#endif
