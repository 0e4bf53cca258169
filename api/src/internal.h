/* Helpers shared by the portable core and the backends (not a public header). */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include "mproc.h"
#include "platform.h"

/* Records os_error as this thread's last OS error and returns its MPROC_E… code. */
int mproc__fail_os(int os_error);
/* Same with the calling thread's current OS error. */
int mproc__fail_os_now(void);
/* Records "no OS error" and returns code (for failures that are not the OS's). */
int mproc__fail(int code);

/* Deadline helpers: a deadline is an absolute mpp_monotonic_ms() value, -1 = never. */
int64_t mproc__deadline(int64_t timeout_ms);
/* Milliseconds left (0 when passed, MPROC_FOREVER for no deadline). */
int64_t mproc__remaining(int64_t deadline);

/* A listening or connecting address (platform.h): "local:NAME", or "host:port" with host
 * a name, an IPv4 address, "[IPv6]" or empty (loopback). */
typedef struct mproc__net_addr {
    bool local;
    char host[256]; /* TCP: the host (no brackets; "127.0.0.1" when empty); local: NAME */
    char port[6];   /* TCP: the port in decimal */
} mproc__net_addr;
/* 0, or MPROC_EINVAL for a malformed address. */
int mproc__parse_address(const char *address, mproc__net_addr *a);

/* Little-endian integers in byte buffers (packs, the manager's wire format). */
static inline void mproc__put_u32le(uint8_t *dst, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t mproc__get_u32le(const uint8_t *src)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)src[i] << (8 * i);
    return v;
}
static inline void mproc__put_u64le(uint8_t *dst, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t mproc__get_u64le(const uint8_t *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)src[i] << (8 * i);
    return v;
}

/* Growable byte buffer used by packs and payloads. */
typedef struct mproc__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} mproc__buf;
int mproc__buf_reserve(mproc__buf *b, size_t extra);
int mproc__buf_append(mproc__buf *b, const void *data, size_t len);
void mproc__buf_free(mproc__buf *b);

/* Copies count strings into one mproc_malloc block: a NULL-terminated array followed by
 * the text (free it with one mproc_free). NULL when out of memory. */
char **mproc__string_array(const char *const *items, size_t count);

/* ---- shareable objects (shared.c) ------------------------------------------------------
 * Every shareable object (lock, semaphore, condition, event, barrier, value/array, shm)
 * starts with an mproc__obj: a mapping of a shared segment, where its state lives in it,
 * and the park handles its waiters sleep on. It travels in packs as records. */
enum {
    MPROC__KIND_LOCK = 1,
    MPROC__KIND_SEM = 2,
    MPROC__KIND_COND = 3,
    MPROC__KIND_EVENT = 4,
    MPROC__KIND_BARRIER = 5,
    MPROC__KIND_ARRAY = 6,
    MPROC__KIND_SHM = 7,
    MPROC__KIND_QUEUE = 8,
    MPROC__KIND_CONN = 9,
    MPROC__KIND_CANCEL = 10
};
#define MPROC__OBJ_MAGIC 0x6d70724fu /* in the process-local struct while it is alive */
#define MPROC__STATE_MAGIC 0x6d707253u /* at the start of every shared state */
#define MPROC__MAX_PARKS 5

typedef struct mproc__obj {
    uint32_t magic;
    uint32_t kind;
    mpp_handle seg;
    void *base;
    size_t size;
    size_t offset; /* of the object's state in the segment */
    mpp_handle parks[MPROC__MAX_PARKS];
    uint32_t nparks;
    bool borrowed; /* a view into another object's mapping (a Value's lock): frees nothing */
    bool embedded; /* part of another object (a Condition's lock): its owner destroys it */
    const struct mproc__obj *dep; /* travels along (a Condition's lock), or NULL */
} mproc__obj;

/* The travelling form of one object, with handle values valid in the receiving process. */
typedef struct mproc__record {
    uint32_t kind;
    uint32_t nparks;
    uint64_t seg;
    uint64_t size;
    uint64_t offset;
    uint64_t parks[MPROC__MAX_PARKS];
} mproc__record;
#define MPROC__RECORD_SIZE (32 + 8 * MPROC__MAX_PARKS)
#define MPROC__MAX_RECORDS 2

/* A new object with a zeroed segment of state_size bytes (state at offset 0, starting
 * with MPROC__STATE_MAGIC and kind) and nparks park handles. */
int mproc__obj_create(mproc__obj *o, uint32_t kind, size_t state_size, uint32_t nparks);
/* Opens the object a record describes (duplicating its handles: the record keeps its own)
 * and checks its kind and state; MPROC_ETYPE if it is another kind. */
int mproc__obj_open(mproc__obj *o, const mproc__record *r, uint32_t kind);
void mproc__obj_close(mproc__obj *o);
/* o must be a live object of that kind: 0, or MPROC_EINVAL (NULL, destroyed, other). */
int mproc__obj_check(const void *o, uint32_t kind);
static inline void *mproc__obj_state(const mproc__obj *o)
{
    return (char *)o->base + o->offset;
}
/* Reads the next pack field as an object of that kind: its records (handles still owned
 * by the pack's bytes). */
int mproc__unpack_records(mproc_unpacker *u, uint32_t kind, mproc__record *recs, uint32_t *n);

/* The usual life of a one-record object whose struct starts with its mproc__obj: a new one
 * (zeroed struct, new segment), or one re-opened from the next pack field. */
int mproc__object_new(uint32_t kind, size_t struct_size, size_t state_size, uint32_t nparks,
                      void **out);
int mproc__object_unpack(mproc_unpacker *u, uint32_t kind, size_t struct_size, void **out);

/* Every handle in a pack's bytes, nested packs included, in order: fn may replace it. */
typedef int (*mproc__handle_fn)(void *ctx, uint64_t *handle);
int mproc__pack_visit_handles(uint8_t *data, size_t len, mproc__handle_fn fn, void *ctx);
/* A list of handles this process owns. */
typedef struct mproc__handles {
    mpp_handle *items;
    size_t count, cap;
} mproc__handles;
int mproc__handles_push(mproc__handles *h, mpp_handle v);
void mproc__handles_close(mproc__handles *h);
/* Replaces every handle in the pack bytes by a duplicate it then owns in `owned`. */
int mproc__pack_dup_handles(uint8_t *data, size_t len, mproc__handles *owned);
/* Collects the handle values of the pack bytes, in order (not duplicated). */
int mproc__pack_list_handles(uint8_t *data, size_t len, mproc__handles *list);
/* Replaces the handle values in order by those of `values` (a child's received copies). */
int mproc__pack_set_handles(uint8_t *data, size_t len, const mpp_handle *values, size_t n);

/* Locks are also embedded in other objects' segments (a Value's lock): the state is
 * placed by the owner and the lock is a borrowed view of it. */
struct mproc_lock {
    mproc__obj o;
};
size_t mproc__lock_state_size(void);
void mproc__lock_state_init(void *state, bool recursive);
/* A borrowed Lock over the lock state at `offset` in owner's segment, parked on park. */
void mproc__lock_view(struct mproc_lock *view, const mproc__obj *owner, size_t offset,
                      uint32_t park_index);

/* The waiting kit of sync.c, shared with the queue. */
/* A robust lock word: 0 free, else the holder's pid (| a contended bit). 0,
 * MPROC_EOWNERDEAD (taken from a dead holder) or MPROC_ETIMEDOUT. */
int mproc__word_lock(uint32_t *word, mpp_handle park, int64_t timeout_ms);
/* MPROC_ESTATE if it was free. */
int mproc__word_unlock(uint32_t *word, mpp_handle park);
/* Whether the holder of a (held) lock word still runs. */
bool mproc__word_holder_alive(const uint32_t *word);
/* What to sleep next: the rest of the deadline, at most one slice; 0 once it passed. */
int64_t mproc__next_slice(int64_t deadline);
/* Sleeps on word while it equals expected, counted in *waiters meanwhile. */
void mproc__park_counted(mpp_handle park, uint32_t *word, uint32_t expected, uint32_t *waiters,
                         int64_t ms);
/* Wakes every waiter counted in *waiters. */
void mproc__wake_all(mpp_handle park, uint32_t *word, uint32_t *waiters);
mpp_handle mproc__park_of(const mproc__obj *o, uint32_t i);

/* For waits on processes: 1 if p has ended, 0 with its sentinel while it runs,
 * MPROC_ESTATE before start, MPROC_EINVAL for NULL. */
int mproc__process_sentinel(mproc_process *p, mpp_handle *sentinel);

/* Manager proxies in packs (manager.c): a PROXY field's body is the proxy's own
 * encoding. mproc_pack_handle hands proxies to mproc__proxy_pack. */
bool mproc__is_proxy(const void *object);
int mproc__proxy_pack(mproc_pack *p, const void *proxy);
int mproc__pack_proxy(mproc_pack *p, const void *body, size_t len);
int mproc__unpack_proxy(mproc_unpacker *u, const void **body, size_t *len);

/* Element access of Value / Array by type (value.c), for the manager's values too:
 * range rules as mproc_value's (MPROC_ETOOBIG, MPROC_ETYPE). No locking. */
int mproc__elem_get_i64(uint32_t type, const void *p, int64_t *out);
int mproc__elem_get_f64(uint32_t type, const void *p, double *out);
int mproc__elem_set_i64(uint32_t type, void *p, int64_t v);
int mproc__elem_set_f64(uint32_t type, void *p, double v);
int mproc__elem_add_i64(uint32_t type, void *p, int64_t delta, int64_t *result);

/* Whether the pack holds shareable objects (their handles). */
bool mproc__pack_has_handles(const mproc_pack *p);
/* A copy of src (NULL: an empty pack) with its own duplicates of the handles. */
int mproc__pack_copy(const mproc_pack *src, mproc_pack **out);

/* Futures (pool.c, for executor.c). cancel: 1 cancelled, 0 started or done. add_done: 0
 * added, 1 done already (the caller calls fn itself). */
int mproc__async_cancel(mproc_async *a);
int mproc__async_cancelled(mproc_async *a);
int mproc__async_add_done(mproc_async *a, mproc_done_fn fn, void *ctx);
/* Whether the calling thread is the result thread of a's pool (its callbacks run there). */
bool mproc__async_on_result_thread(mproc_async *a);
/* An apply_async marked with an executor's tag; cancel / wait for all calls of a tag. */
int mproc__pool_apply_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                             const void *tag, mproc_async **out);
int mproc__pool_cancel_tagged(mproc_pool *p, const void *tag);
int mproc__pool_wait_tagged(mproc_pool *p, const void *tag, int64_t timeout_ms);

/* The backend child of a started, not yet reaped process (NULL otherwise). */
mpp_child *mproc__process_child(mproc_process *p);
/* The backend end of a pipe end (NULL if c is not a live one). */
mpp_conn *mproc__conn_os(mproc_conn *c);
/* Whether a put of len bytes would go into the ring whole, now, without waiting (for a
 * sole producer, which then knows its nowait put succeeds). */
bool mproc__queue_fits(mproc_queue *q, size_t len);
/* Ends the set of received handles (see below): closes those no unpack took when
 * close_untaken, and forgets them all. A pool worker does this after each task. */
void mproc__received_end(bool close_untaken);

/* In a child: the handles that came with its arguments. Unpacking a pipe end takes the
 * received handle itself (so closing it in the task really closes the end, as Python's),
 * once; later unpacks of the same end get duplicates. */
void mproc__set_received(const mpp_handle *handles, size_t n);
bool mproc__take_received(mpp_handle h);
bool mproc__was_received(mpp_handle h);
/* In a forked child: pipe ends and pack copies that were not passed to it are closed, so
 * that, as under spawn, only its arguments keep ends open (objects it inherited become
 * closed handles). */
void mproc__forget_inherited_conns(void);
/* In a forked child: closes the copies of the parent's manager servers and connections. */
void mproc__manager_after_fork(void);
void mproc__forget_inherited_packs(void);

/* The core's exit-time work for this process's children (terminate daemons, join the
 * rest). Runs once; later calls do nothing. */
void mproc__exit_children(void);

#endif
