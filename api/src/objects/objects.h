/* The object layer: what can travel to another process inside a pack, and how.
 *
 * Every shareable object starts with an mproc__object head: a magic word while it lives,
 * its kind, and its ops, through which mproc_pack_handle packs it. The codec (pack.c) thus
 * never names a kind, and a new family of objects (manager proxies) brings its own ops.
 * Most objects are mproc__shared: their state is a few words in an anonymous shared
 * segment, and they travel as records of OS handles (the segment and the park handles
 * their waiters sleep on), which the receiving process opens as its own. */
#ifndef MPROC_OBJECTS_H
#define MPROC_OBJECTS_H

#include "mproc/pack.h"
#include "base/base.h"

/* The kinds, one line each; the receiving side checks the kind it expects. */
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
    MPROC__KIND_CANCEL = 10,
    MPROC__KIND_PROXY = 11
};
#define MPROC__OBJ_MAGIC 0x6d70724fu   /* in the process-local head while it is alive */
#define MPROC__STATE_MAGIC 0x6d707253u /* at the start of every shared state */

typedef struct mproc__object mproc__object;
typedef struct mproc__object_ops {
    /* Appends the object's field to p; the pack keeps what the object needs to travel
     * (its own duplicates of handles), so the object may be destroyed before the pack is
     * used. All or nothing. */
    int (*pack)(mproc_pack *p, const mproc__object *object);
} mproc__object_ops;

struct mproc__object {
    uint32_t magic;
    uint32_t kind;
    const mproc__object_ops *ops;
};

/* object must be a live object of that kind (0: any kind): 0, or MPROC_EINVAL (NULL,
 * destroyed, another kind). */
static inline int mproc__object_check(const void *object, uint32_t kind)
{
    const mproc__object *o = object;
    if (!o || o->magic != MPROC__OBJ_MAGIC || (kind && o->kind != kind))
        return MPROC_EINVAL;
    return 0;
}

/* ---- objects in shared segments (object.c) ---------------------------------------------- */
#define MPROC__MAX_PARKS 5

typedef struct mproc__shared {
    mproc__object head;
    mpp_handle seg;
    void *base;
    size_t size;
    size_t offset; /* of the object's state in the segment */
    mpp_handle parks[MPROC__MAX_PARKS];
    uint32_t nparks;
    bool borrowed; /* a view into another object's mapping (a Value's lock): frees nothing */
    bool embedded; /* part of another object (a Condition's lock): its owner destroys it */
    const struct mproc__shared *dep; /* travels along (a Condition's lock), or NULL */
} mproc__shared;

/* The ops of every mproc__shared: it travels as its records (and its dep's). */
extern const mproc__object_ops mproc__shared_ops;

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
int mproc__shared_create(mproc__shared *o, uint32_t kind, size_t state_size, uint32_t nparks);
/* Opens the object a record describes (duplicating its handles: the record keeps its own)
 * and checks its kind and state; MPROC_ETYPE if it is another kind. */
int mproc__shared_open(mproc__shared *o, const mproc__record *r, uint32_t kind);
void mproc__shared_close(mproc__shared *o);
/* Makes o a live object of that kind around handles its caller set (seg, size, …). */
void mproc__shared_init_head(mproc__shared *o, uint32_t kind);
static inline void *mproc__shared_state(const mproc__shared *o)
{
    return (char *)o->base + o->offset;
}
/* The usual life of a one-record object whose struct starts with its mproc__shared: a new
 * one (zeroed struct, new segment), or one re-opened from the next pack field. */
int mproc__shared_new(uint32_t kind, size_t struct_size, size_t state_size, uint32_t nparks,
                      void **out);
int mproc__shared_unpack(mproc_unpacker *u, uint32_t kind, size_t struct_size, void **out);

/* ---- fields of packs (pack.c writes, unpack.c reads) ----------------------------------------
 * A field: a tag byte, an 8-byte word (the number, or the body's length), the body. A HANDLE
 * field's body: u32 kind, u32 record count, then the records (MPROC__RECORD_SIZE each). */
enum { MPROC__TAG_SIZE = 1, MPROC__LEN_SIZE = 8, MPROC__NUM_SIZE = 8, MPROC__HANDLE_HEAD = 8 };
#define MPROC__PACK_MAGIC 0x6d70506bu /* at the start of a live mproc_pack */

/* The bytes of a pack or of a pack literal (MPROC_ARGS), for the time of one call. */
typedef struct mproc__packed {
    mproc_bytes bytes;
    int count;
    bool has_handles;
    mproc_pack *tmp; /* the literal, encoded */
} mproc__packed;
/* NULL p: an empty pack. MPROC_EINVAL for what is neither a pack nor a literal. */
int mproc__pack_open(const mproc_pack *p, mproc__packed *out);
/* The same for a pack that travels as its bytes alone (a message, a manager's key or value):
 * one holding OS handles is MPROC_ENOTSUP, and nothing is left open. The receiver could not
 * open such handles: they are this process's. */
int mproc__pack_open_plain(const mproc_pack *p, mproc__packed *out);
void mproc__pack_close(mproc__packed *packed);

/* Appends a HANDLE field of that kind holding the records, with the pack's own duplicates
 * of their handles. */
int mproc__pack_records(mproc_pack *p, uint32_t kind, const mproc__record *recs, uint32_t n);
/* Reads the next field as an object of that kind: its records (handles still owned by the
 * pack's bytes). MPROC_ETYPE for another field or kind. */
int mproc__unpack_records(mproc_unpacker *u, uint32_t kind, mproc__record *recs, uint32_t *n);
/* A PROXY field: its body is the proxy's own encoding (manager/). */
int mproc__pack_proxy(mproc_pack *p, const void *body, size_t len);
int mproc__unpack_proxy(mproc_unpacker *u, const void **body, size_t *len);

/* Whether the pack holds shareable objects (their handles). */
bool mproc__pack_has_handles(const mproc_pack *p);
/* A copy of src (NULL: an empty pack) with its own duplicates of the handles. */
int mproc__pack_copy(const mproc_pack *src, mproc_pack **out);

/* Every handle in a pack's bytes, nested packs included, in order: fn may replace it. */
typedef int (*mproc__handle_fn)(void *ctx, uint64_t *handle);
int mproc__pack_visit_handles(uint8_t *data, size_t len, mproc__handle_fn fn, void *ctx);
/* Replaces every handle in the pack bytes by a duplicate it then owns in `owned`. */
int mproc__pack_dup_handles(uint8_t *data, size_t len, mproc__handles *owned);
/* Collects the handle values of the pack bytes, in order (not duplicated). */
int mproc__pack_list_handles(uint8_t *data, size_t len, mproc__handles *list);
/* Replaces the handle values in order by those of `values` (a child's received copies). */
int mproc__pack_set_handles(uint8_t *data, size_t len, const mpp_handle *values, size_t n);

/* ---- the text of values (repr.c) ----------------------------------------------------------
 * Appends Python's repr of the value a cursor's pack stands for: its one field, or the tuple
 * of its fields. */
int mproc__repr_value(mproc__buf *b, mproc_unpacker *u);
/* Ends a text: on success NUL-terminates b and hands it to text (len without the NUL); on
 * failure (rc) frees b. Returns rc. */
int mproc__repr_finish(mproc__buf *b, int rc, mproc_bytes *text);

/* ---- handles a child received (received.c) -------------------------------------------------
 * In a child: the handles that came with its arguments. Unpacking a pipe end takes the
 * received handle itself (so closing it in the task really closes the end, as Python's),
 * once; later unpacks of the same end get duplicates. */
void mproc__set_received(const mpp_handle *handles, size_t n);
bool mproc__take_received(mpp_handle h);
bool mproc__was_received(mpp_handle h);
/* Ends the set: closes those no unpack took when close_untaken, and forgets them all. A
 * pool worker does this after each task. */
void mproc__received_end(bool close_untaken);

/* ---- waiting on words of shared state (park.c) ----------------------------------------------
 * The waiting kit of the sync objects, the queue and cancel tokens. */
/* A robust lock word: 0 free, else the holder's pid (| a contended bit). 0,
 * MPROC_EOWNERDEAD (taken from a dead holder) or MPROC_ETIMEDOUT. */
int mproc__word_lock(uint32_t *word, mpp_handle park, int64_t timeout_ms);
/* MPROC_ESTATE if it was free. */
int mproc__word_unlock(uint32_t *word, mpp_handle park);
/* Whether this process holds the lock word. */
bool mproc__word_held_here(const uint32_t *word);
/* Whether the holder of a (held) lock word still runs. */
bool mproc__word_holder_alive(const uint32_t *word);
/* What to sleep next: the rest of the deadline, at most one slice; 0 once it passed. */
int64_t mproc__next_slice(int64_t deadline);
/* Sleeps on word while it equals expected, counted in *waiters meanwhile. */
void mproc__park_counted(mpp_handle park, uint32_t *word, uint32_t expected, uint32_t *waiters,
                         int64_t ms);
/* Wakes every waiter counted in *waiters. */
void mproc__wake_all(mpp_handle park, uint32_t *word, uint32_t *waiters);
mpp_handle mproc__park_of(const mproc__shared *o, uint32_t i);

#endif
