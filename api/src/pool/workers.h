/* The workers of a pool: the slots that hold them, the messages between the parent and a
 * worker process, and the tuning of how work reaches them (see pool.c). */
#ifndef MPROC_POOL_WORKERS_H
#define MPROC_POOL_WORKERS_H

#include "pool/private.h"

#define TASK_RING (2u << 20)
#define RESULT_RING (2u << 20)
#define BIG_MESSAGE (TASK_RING / 4 - 64) /* larger ones stream (see pool.c) */
#define MAX_DEPTH 64
#define DEPTH_TARGET_US 2000
#define CHECK_MS 20 /* how often the result thread looks for dead workers */
#define RESULT_SLICE_MS 50
#define STREAM_PROGRESS_MS 5000
#define STOP_GRACE_MS 1000
#define PUT_LOCK_MS 2000
#define ENDING_SLICE_MS 2  /* while workers are ending: notice it soon */
#define BAD_STARTS_LIMIT 5 /* workers dying before their first result in a row */

enum { MSG_TASK = 1, MSG_STOP = 2 };                        /* to a worker */
enum { MSG_RESULT = 1, MSG_INIT_FAILED = 2, MSG_WAKE = 3 }; /* to the result thread */
enum { TASK_STAR = 1 };                                     /* items are nested packs */

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

static inline size_t mproc__pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

struct worker {
    mproc_process *proc; /* NULL: an empty slot */
    mproc_queue *tasks;
    mproc_conn *hands; /* POSIX: the parent's end of the handle socket */
    uint64_t id;
    int64_t pid;
    uint64_t sent;  /* task messages given (for maxtasksperchild) */
    bool answered;  /* sent at least one result */
    bool streaming; /* the sender thread is putting a message into its queue */
    bool stop_sent;
    bool starting;      /* being started (the lock is let go meanwhile) */
    chunk *head, *tail; /* given and not answered, in order */
    size_t inflight;
    /* thread pool */
    struct mproc_pool *pool;
    mpp_thread *thread; /* NULL: an empty slot */
    bool thread_ended;  /* its loop is over: join it */
};

/* ---- a worker process (worker.c) ------------------------------------------------------------ */

/* Starts a worker process in the empty slot (the lock is let go while it starts). */
int mproc__pool_start_worker_locked(mproc_pool *p, int slot);
/* The error text of a task that returned code (non-zero) having written `out` (may be
 * NULL): the one STR of `out`, else "task 'name' returned N". To free; NULL when out of
 * memory. */
char *mproc__failure_text(const char *task, int code, const mproc_pack *out);
/* Runs fn(in, out) on an emptied `out`: 0 and *result (the bytes of `out`, borrowed until
 * it changes), or the item's failure code (MPROC_ETASK; MPROC_ENOTSUP for a result holding
 * OS handles) and *text, its error text (to free; NULL when out of memory). */
int mproc__run_task(mproc_task_fn fn, const char *name, const mproc_bytes *in, mproc_pack *out,
                    mproc_bytes *result, char **text);

/* ---- the process pool's parent side (dispatch.c) -------------------------------------------- */

double mproc__pool_recall_speed_locked(const mproc_pool *p, const char *task);
void mproc__pool_sender_main(void *arg);
void mproc__pool_result_main(void *arg);
void mproc__pool_wake_result_thread(mproc_pool *p);

#endif
