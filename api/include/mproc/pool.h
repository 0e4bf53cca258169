/* mproc — the process pool: multiprocessing.Pool.
 *
 *   MPROC_TASK(square, in, out) {
 *       int64_t x;
 *       if (MPROC_UNPACK(in, &x)) return mproc_task_fail(out, "wanted an integer");
 *       return MPROC_PACK(out, x * x) ? 1 : 0;
 *   }
 *   ...
 *   mproc_pool *pool;
 *   mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 4});
 *   mproc_bytes squares[3];
 *   mproc_pool_map(pool, "square", MPROC_ARGS(1, 2, 3), 0, MPROC_FOREVER, squares, 3);
 *   int64_t y;
 *   MPROC_UNPACK(&squares[2], &y);                          // 9
 *   mproc_bytes_free_array(squares, 3);
 *   mproc_bytes r;
 *   mproc_pool_apply(pool, "square", MPROC_ARGS(7), MPROC_FOREVER, &r);   // 49
 *   mproc_bytes_free(&r);
 *   mproc_pool_close(pool); mproc_pool_join(pool, MPROC_FOREVER); mproc_pool_destroy(pool);
 *
 * Tasks are the named tasks of task.h. A task gets its arguments as a pack, exactly as a
 * Process target does: apply's `args` pack; for map and imap, a pack of one field (the
 * item), so one task serves apply(f, (x,)) and map(f, xs) as in Python; for starmap, the
 * fields of the item's nested pack (f(*args)). What the task packs into `out` is its
 * result. A task that returns non-zero fails with MPROC_ETASK; its error text is the STR
 * of `out` when `out` holds exactly one STR field (see mproc_task_fail), else
 * "task 'name' returned N". A result holding objects with OS handles cannot travel back:
 * the task fails with MPROC_ENOTSUP.
 *
 * Items: the map family takes its items as the fields of one pack (any field type; for
 * starmap each field is a nested pack of arguments): MPROC_ARGS(1, 2, 3) works, as it does
 * for apply's args and the initializer's initargs. Shareable objects (queues, locks,
 * values, pipe ends, ...) may be among a task's arguments, under every start method:
 * the worker gets its own copies for the time of the task.
 *
 * Results and errors: where a call gives results as mproc_bytes, each holds the encoded
 * pack its task wrote (read it with MPROC_UNPACK; a task that wrote nothing gives empty
 * bytes); they are copies the caller frees (mproc_bytes_free / mproc_bytes_free_array).
 * When the call fails with MPROC_ETASK, MPROC_EWORKER, MPROC_ECLOSED (the pool was
 * terminated) or MPROC_ECANCELLED (futures.h), results[0] holds the error text (a plain
 * NUL-terminated string, not a pack; also to free) and the other entries are empty.
 *
 * Workers: processes named "<Method>PoolWorker-N" (ForkPoolWorker-1, SpawnPoolWorker-2,
 * ForkServerPoolWorker-3). A worker that dies — killed, crashed, or calling exit() inside
 * a task — fails only the tasks it had taken, with MPROC_EWORKER; tasks it had not yet
 * started go to other workers, and a new worker takes its place. Nothing waits forever
 * for a dead worker (Python's Pool does, bpo-22393).
 *
 * Callbacks run in the pool's result thread of the calling process, one at a time, after
 * the call's result is stored and before its waiters are woken (as Python). They may call
 * the pool (apply_async from a callback is fine) but should not block for long: results
 * wait meanwhile.
 *
 * Threads: a pool may be used from several threads of its process. It does not travel to
 * other processes (as in Python); a forked child must not use its parent's pools. */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include "common.h"
#include "pack.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_pool mproc_pool;
/* AsyncResult / MapResult. */
typedef struct mproc_async mproc_async;
/* IMapIterator / IMapUnorderedIterator. */
typedef struct mproc_iter mproc_iter;

typedef struct mproc_pool_opts {
    int processes;              /* <= 0: mproc_cpu_count_usable() */
    const char *initializer;    /* task run in each worker before its first task (NULL: none;
                                its result is dropped); if it fails, the pool's calls fail
                                with MPROC_ETASK and its text instead of starting workers
                                again and again */
    const mproc_pack *initargs; /* copied at create; MPROC_ARGS(...) works */
    int64_t maxtasksperchild;   /* a worker ends after this many tasks (a map chunk counts as
                                 one, as in Python) and a new one replaces it; <= 0: never */
    mproc_context *ctx;         /* NULL: the default start method */
} mproc_pool_opts;

/* Starts the workers. opts may be NULL. An unknown initializer is MPROC_ENOTASK. */
MPROC_API int mproc_pool_create(mproc_pool **out, const mproc_pool_opts *opts);

/* multiprocessing.dummy.Pool (ThreadPool): the same pool with threads of this process as
 * its workers, so a program moves between processes and threads by changing only how the
 * pool is created. Every mproc_pool_… / mproc_async_… / mproc_iter_… call and rule above
 * holds, with these differences, all Python's too:
 *   - the initializer runs on each worker thread; opts.ctx is ignored;
 *   - a task that calls exit() ends the process (there is no worker process to lose);
 *   - maxtasksperchild replaces the worker thread;
 *   - terminate cannot stop a task that is running: calls not finished fail at once with
 *     MPROC_ECLOSED, and join waits for the running tasks to return;
 *   - mproc_pool_workers gives this process's pid once per worker thread. */
MPROC_API int mproc_threadpool_create(mproc_pool **out, const mproc_pool_opts *opts);

/* Callbacks (see above). results: the call's results (one for apply, n for a map), borrowed
 * for the time of the call. */
typedef void (*mproc_callback_fn)(void *ctx, const mproc_bytes *results, size_t n);
/* code: MPROC_ETASK, MPROC_EWORKER, or MPROC_ECLOSED when the pool was terminated first. */
typedef void (*mproc_error_callback_fn)(void *ctx, int code, const char *text);

typedef struct mproc_call_opts {
    size_t chunksize;                       /* map family: items per message to a worker;
                                               0: automatic for map, 1 for imap (Python) */
    mproc_callback_fn callback;             /* async calls: on success */
    mproc_error_callback_fn error_callback; /* async calls: on failure */
    void *ctx;                              /* given to both */
} mproc_call_opts;

/* ---- one call ---------------------------------------------------------------------------- */

/* apply(task, args): runs it in a worker and waits up to timeout_ms for its result.
 * MPROC_ETIMEDOUT leaves the task running; its result is dropped. args may be NULL. */
MPROC_API int mproc_pool_apply(mproc_pool *pool, const char *task, const mproc_pack *args,
                               int64_t timeout_ms, mproc_bytes *result);
/* apply_async: *out is the call's handle (destroy it with mproc_async_destroy); out may be
 * NULL to fire and forget (callbacks still run), as Python code that drops the result.
 * args is copied (with its objects): the pack may be destroyed at once. opts may be NULL. */
MPROC_API int mproc_pool_apply_async(mproc_pool *pool, const char *task, const mproc_pack *args,
                                     const mproc_call_opts *opts, mproc_async **out);

/* ---- the map family ------------------------------------------------------------------------ */

/* map: results[i] = task(item i). n must be the number of items. On MPROC_ETIMEDOUT the
 * tasks not yet given to a worker are dropped and the pool goes on. The first failure in
 * item order is the one returned (as Python raises the first exception). */
MPROC_API int mproc_pool_map(mproc_pool *pool, const char *task, const mproc_pack *items,
                             size_t chunksize, int64_t timeout_ms, mproc_bytes *results, size_t n);
/* map_async / starmap_async: out as for apply_async; items are copied. */
MPROC_API int mproc_pool_map_async(mproc_pool *pool, const char *task, const mproc_pack *items,
                                   const mproc_call_opts *opts, mproc_async **out);
/* starmap: each item is a nested pack of the task's arguments. A field that is not a pack
 * is MPROC_ETYPE. */
MPROC_API int mproc_pool_starmap(mproc_pool *pool, const char *task, const mproc_pack *items,
                                 size_t chunksize, int64_t timeout_ms, mproc_bytes *results,
                                 size_t n);
/* starmap_async: as mproc_pool_starmap, giving an async result at once. */
MPROC_API int mproc_pool_starmap_async(mproc_pool *pool, const char *task, const mproc_pack *items,
                                       const mproc_call_opts *opts, mproc_async **out);

/* imap / imap_unordered over the items of a pack (copied: it may be destroyed at once).
 * Results come in item order (imap) or as they finish (imap_unordered). chunksize 0 is 1. */
MPROC_API int mproc_pool_imap(mproc_pool *pool, const char *task, const mproc_pack *items,
                              size_t chunksize, mproc_iter **out);
/* imap_unordered: as mproc_pool_imap, the results in the order they finish. */
MPROC_API int mproc_pool_imap_unordered(mproc_pool *pool, const char *task, const mproc_pack *items,
                                        size_t chunksize, mproc_iter **out);
/* A source of items read lazily: appends the next item to `item` (one field) and
 * returns 1, or returns 0 at the end, or a negative code (the iteration then ends with
 * it). It is called only from mproc_pool_imap_lazy and mproc_iter_next, on the caller's
 * thread, never concurrently, and only while fewer than `window` items are read but not
 * yet returned by mproc_iter_next (backpressure). */
typedef int (*mproc_next_fn)(void *ctx, mproc_pack *item);
typedef struct mproc_imap_opts {
    size_t chunksize; /* 0: 1 */
    bool unordered;   /* imap_unordered */
    size_t window;    /* most items read ahead; 0: 64 x chunksize x workers */
} mproc_imap_opts;
/* imap over a lazy source: items come from next(ctx, item) as the workers need them (at
 * most opts->window ahead), results through *out as with mproc_pool_imap. opts may be NULL.
 * MPROC_EINVAL for a NULL next or out; otherwise as mproc_pool_imap. */
MPROC_API int mproc_pool_imap_lazy(mproc_pool *pool, const char *task, mproc_next_fn next,
                                   void *ctx, const mproc_imap_opts *opts, mproc_iter **out);

/* The next result (an iterator is used by one thread at a time): 1 and *result (a copy to
 * free); 0 at the end; MPROC_ETASK, MPROC_EWORKER or MPROC_ECLOSED when that item failed
 * (result holds its text; the iteration goes on with the next item); MPROC_ETIMEDOUT; or
 * the code the lazy source failed with. */
MPROC_API int mproc_iter_next(mproc_iter *it, int64_t timeout_ms, mproc_bytes *result);
/* Tasks of it not yet given to a worker are dropped; the rest finish unseen. */
MPROC_API void mproc_iter_destroy(mproc_iter *it);

/* ---- results of async calls ------------------------------------------------------------------ */

/* 0 once the call has finished (successfully or not), or MPROC_ETIMEDOUT. */
MPROC_API int mproc_async_wait(mproc_async *a, int64_t timeout_ms);
/* 1 or 0. */
MPROC_API int mproc_async_ready(mproc_async *a);
/* 1 or 0; MPROC_ESTATE while not ready (Python's ValueError). */
MPROC_API int mproc_async_successful(mproc_async *a);
/* Number of results (a count): 1 for apply, the item count for a map; MPROC_EINVAL for a
 * bad handle. */
MPROC_API int mproc_async_count(const mproc_async *a);
/* get(timeout): waits, then copies the results into results[0 .. count-1] (free them); may
 * be called again. MPROC_ETASK / MPROC_EWORKER / MPROC_ECLOSED / MPROC_ECANCELLED:
 * results[0] is the error text (see the top of this file). MPROC_ETIMEDOUT: nothing is
 * filled. */
MPROC_API int mproc_async_get(mproc_async *a, int64_t timeout_ms, mproc_bytes *results);
/* Releases the handle; a call still running finishes unseen. NULL is a no-op. */
MPROC_API void mproc_async_destroy(mproc_async *a);

/* ---- the pool's life ------------------------------------------------------------------------ */

/* close(): no new calls (MPROC_ESTATE); the workers end once the calls made are done. */
MPROC_API int mproc_pool_close(mproc_pool *pool);
/* terminate(): stops the workers now. Calls not finished fail with MPROC_ECLOSED. */
MPROC_API int mproc_pool_terminate(mproc_pool *pool);
/* join(): waits for the workers to end. MPROC_ESTATE before close or terminate (Python's
 * "Pool is still running"), never a hang; MPROC_ETIMEDOUT leaves the pool as it was. */
MPROC_API int mproc_pool_join(mproc_pool *pool, int64_t timeout_ms);
/* `with Pool() as p`'s end: terminates if still running, joins, and frees the pool. Handles
 * of its calls stay valid until destroyed. NULL is a no-op. */
MPROC_API void mproc_pool_destroy(mproc_pool *pool);

/* Number of worker processes the pool keeps (its `processes`). */
MPROC_API int mproc_pool_size(const mproc_pool *pool);
/* Pids of the live workers: fills up to cap and returns how many there are. */
MPROC_API int mproc_pool_workers(mproc_pool *pool, int64_t *pids, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
