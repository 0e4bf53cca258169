/* Queue, JoinableQueue, SimpleQueue: a byte ring in shared memory.
 *
 * Producers take put_lock, consumers get_lock (both robust lock words), so at any moment
 * one producer and one consumer work on the ring, and a message streamed in pieces is
 * never interleaved with another. Positions only grow; each of head and tail is one
 * 64-bit word holding a 36-bit byte position and a 28-bit count of whole messages, so one
 * atomic store publishes a frame and its count together, and a process killed anywhere
 * leaves the ring consistent.
 *
 * A frame is a 16-byte header {u32 length, u32 flags, u64 message length} and the bytes,
 * padded to 8. FIRST/LAST mark a message's first and last pieces (one-piece messages carry
 * both). A consumer drops a partial message when a FIRST comes (its producer died or gave
 * up) or when the producer holding put_lock is found dead, and skips pieces that do not
 * follow a FIRST it saw (its predecessor died half-way through that message).
 *
 * Ring memory: a power of two, in a segment whose pages are only used when written; on
 * Linux the consumer gives each fully drained MiB back (while it holds put_lock too, so no
 * producer is writing there). */
#include <string.h>

#include "modules/modules.h"

#define RING_OFFSET 256
#define DEFAULT_RING (16u << 20)
#define MIN_RING 4096u
#define MAX_RING (UINT64_C(1) << 31)
#define POS_BITS 36
#define POS_MASK ((UINT64_C(1) << POS_BITS) - 1)
#define CNT_MASK ((UINT64_C(1) << (64 - POS_BITS)) - 1)
#define FRAME_HEAD 16
#define DISCARD_BLOCK (1u << 20)

enum { F_FIRST = 1, F_LAST = 2, F_ABORT = 4 };
enum { Q_JOINABLE = 1, Q_SIMPLE = 2 };
enum { PARK_PUT_LOCK, PARK_GET_LOCK, PARK_DATA, PARK_ROOM, PARK_DONE, PARK_COUNT };

/* Producers' and consumers' words sit on cache lines of their own, so the two sides do
 * not take each other's lines on every message. */
typedef struct queue_state {
    uint32_t magic, kind;
    uint32_t flags;
    uint32_t pad0;
    uint64_t capacity;
    int64_t maxsize;
    /* written by producers */
    _Alignas(64) uint32_t put_lock;
    uint32_t data_seq; /* a frame was published */
    uint64_t tail;     /* position | published messages << 40 */
    uint32_t room_waiters;
    /* written by consumers */
    _Alignas(64) uint32_t get_lock;
    uint32_t room_seq;  /* a frame was consumed */
    uint64_t head;      /* position | consumed messages << 40 */
    uint64_t discarded; /* ring positions below this were given back */
    uint32_t data_waiters;
    /* JoinableQueue */
    _Alignas(64) uint64_t unfinished;
    uint32_t done_seq, done_waiters; /* unfinished reached 0 */
} queue_state;

struct mproc_queue {
    mproc__shared o;
    bool closed;
    /* A get that timed out in the middle of a streamed message keeps what came here, and
     * keeps the consumers' turn (get_lock), so the next get on this handle goes on. */
    bool resuming;
    uint8_t *partial;
    size_t have, total;
};

_Static_assert(sizeof(queue_state) <= RING_OFFSET, "header fits");

static queue_state *qst(const mproc_queue *q)
{
    return mproc__shared_state(&q->o);
}

static uint8_t *ring(const mproc_queue *q)
{
    return (uint8_t *)q->o.base + RING_OFFSET;
}

static uint64_t pos_of(uint64_t w)
{
    return w & POS_MASK;
}

static uint64_t cnt_of(uint64_t w)
{
    return w >> POS_BITS;
}

static uint64_t load64(const uint64_t *p)
{
    return mproc__load_acquire(p);
}

static uint64_t used_bytes(const queue_state *st)
{
    return (pos_of(load64(&st->tail)) - pos_of(load64(&st->head))) & POS_MASK;
}

static uint64_t messages(const queue_state *st)
{
    return (cnt_of(load64(&st->tail)) - cnt_of(load64(&st->head))) & CNT_MASK;
}

static uint64_t frame_size(uint64_t len)
{
    return FRAME_HEAD + ((len + 7) & ~UINT64_C(7));
}

/* Copies into / out of the ring at a position, wrapping around its end. */
static void ring_write(mproc_queue *q, uint64_t pos, const void *src, size_t len)
{
    uint64_t cap = qst(q)->capacity, off = pos & (cap - 1);
    size_t first = (size_t)(cap - off) < len ? (size_t)(cap - off) : len;
    memcpy(ring(q) + off, src, first);
    if (len > first)
        memcpy(ring(q), (const uint8_t *)src + first, len - first);
}

static void ring_read(mproc_queue *q, uint64_t pos, void *dst, size_t len)
{
    uint64_t cap = qst(q)->capacity, off = pos & (cap - 1);
    size_t first = (size_t)(cap - off) < len ? (size_t)(cap - off) : len;
    memcpy(dst, ring(q) + off, first);
    if (len > first)
        memcpy((uint8_t *)dst + first, ring(q), len - first);
}

static uint64_t round_up_pow2(uint64_t v)
{
    uint64_t p = MIN_RING;
    while (p < v)
        p <<= 1;
    return p;
}

static int queue_create(mproc_queue **out, int64_t maxsize, size_t ring_bytes, uint32_t flags)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    /* At most 2 GiB: pieces then fit their 32-bit length, and even a ring full of empty
     * frames holds fewer messages than the 28-bit counts can tell apart. */
    if (ring_bytes > MAX_RING)
        return mproc__fail(MPROC_ETOOBIG);
    uint64_t cap = round_up_pow2(ring_bytes ? ring_bytes : DEFAULT_RING);
    if (cap > SIZE_MAX - RING_OFFSET)
        return mproc__fail(MPROC_ETOOBIG);
    mproc_queue *q = mproc_calloc(1, sizeof *q);
    if (!q)
        return mproc__fail(MPROC_ENOMEM);
    int rc = mproc__shared_create(&q->o, MPROC__KIND_QUEUE, RING_OFFSET + (size_t)cap, PARK_COUNT);
    if (rc) {
        mproc_free(q);
        return rc;
    }
    queue_state *st = qst(q);
    st->capacity = cap;
    st->maxsize = maxsize > 0 ? maxsize : 0;
    st->flags = flags;
    *out = q;
    return 0;
}

int mproc_queue_create(mproc_queue **out, int64_t maxsize)
{
    return queue_create(out, maxsize, 0, 0);
}

int mproc_queue_create_opts(mproc_queue **out, const mproc_queue_opts *opts)
{
    if (!opts)
        return mproc__fail(MPROC_EINVAL);
    return queue_create(out, opts->maxsize, opts->ring_bytes, 0);
}

int mproc_queue_create_joinable(mproc_queue **out, int64_t maxsize)
{
    return queue_create(out, maxsize, 0, Q_JOINABLE);
}

int mproc_simplequeue_create(mproc_queue **out)
{
    return queue_create(out, 0, 0, Q_SIMPLE);
}

static int check(mproc_queue *q)
{
    if (mproc__object_check(q, MPROC__KIND_QUEUE))
        return mproc__fail(MPROC_EINVAL);
    return q->closed ? mproc__fail(MPROC_ECLOSED) : 0;
}

static mpp_handle park(mproc_queue *q, int which)
{
    return mproc__park_of(&q->o, (uint32_t)which);
}

/* Takes a lock word with the queue's timeout rules: 0 polls (then `busy`), else waits. */
static int take_lock(mproc_queue *q, uint32_t *word, int which, int64_t deadline, int busy)
{
    int64_t left = mproc__remaining(deadline);
    int rc = mproc__word_lock(word, park(q, which), left);
    if (rc == MPROC_EOWNERDEAD)
        return 0; /* the ring is consistent whatever its holder was doing */
    if (rc == MPROC_ETIMEDOUT)
        return left == 0 ? busy : MPROC_ETIMEDOUT;
    return rc;
}

/* ---- put ------------------------------------------------------------------------------------ */

/* Waits until `need` bytes are free (and, before a message's first piece, the message
 * count is under maxsize). Progress (a consumer taking a frame) renews *deadline when
 * `renew_ms` says so. */
static int wait_room(mproc_queue *q, uint64_t need, bool first, int64_t *deadline, int64_t renew_ms,
                     bool nowait)
{
    queue_state *st = qst(q);
    for (;;) {
        uint32_t seen = mproc__load(&st->room_seq);
        bool count_ok = !first || st->maxsize == 0 || messages(st) < (uint64_t)st->maxsize;
        if (count_ok && st->capacity - used_bytes(st) >= need)
            return 0;
        if (nowait)
            return MPROC_EFULL;
        int64_t ms = mproc__next_slice(*deadline);
        if (ms == 0)
            return MPROC_ETIMEDOUT;
        mproc__park_counted(park(q, PARK_ROOM), &st->room_seq, seen, &st->room_waiters, ms);
        if (renew_ms != 0 && mproc__load(&st->room_seq) != seen)
            *deadline = mproc__deadline(renew_ms);
    }
}

static void publish(mproc_queue *q, uint64_t pos, uint64_t frame, uint32_t flags)
{
    queue_state *st = qst(q);
    uint64_t tail = load64(&st->tail);
    uint64_t count = (cnt_of(tail) + ((flags & F_LAST) ? 1 : 0)) & CNT_MASK;
    mproc__store_release(&st->tail, (count << POS_BITS) | ((pos + frame) & POS_MASK));
    mproc__add(&st->data_seq, 1);
    mproc__wake_all(park(q, PARK_DATA), &st->data_seq, &st->data_waiters);
}

/* Tells consumers to drop the message in progress (its producer gave up or died). */
static void publish_abort(mproc_queue *q)
{
    uint8_t head[FRAME_HEAD] = {0};
    uint32_t abort_flags = F_ABORT;
    memcpy(head + 4, &abort_flags, 4);
    uint64_t pos = pos_of(load64(&qst(q)->tail));
    ring_write(q, pos, head, FRAME_HEAD);
    publish(q, pos, FRAME_HEAD, F_ABORT);
}

int mproc_queue_put(mproc_queue *q, const void *data, size_t len, int64_t timeout_ms)
{
    int rc = check(q);
    if (rc)
        return rc;
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    queue_state *st = qst(q);
    bool nowait = timeout_ms == 0;
    int64_t deadline = mproc__deadline(timeout_ms);
    rc = mproc__word_lock(&st->put_lock, park(q, PARK_PUT_LOCK), timeout_ms);
    if (rc == MPROC_EOWNERDEAD) {
        /* Its holder died, maybe half-way through a message: tell consumers to drop it. */
        if (st->capacity - used_bytes(st) >= FRAME_HEAD)
            publish_abort(q);
        rc = 0;
    }
    if (rc)
        return mproc__fail(rc == MPROC_ETIMEDOUT && nowait ? MPROC_EFULL : rc);
    uint64_t piece_max = st->capacity / 4 - FRAME_HEAD;
    size_t done = 0;
    bool first = true;
    do {
        size_t piece = len - done < piece_max ? len - done : (size_t)piece_max;
        bool last = done + piece == len;
        uint32_t flags = (first ? F_FIRST : 0) | (last ? F_LAST : 0);
        uint64_t frame = frame_size(piece);
        /* Once pieces are out, the wait is for progress, not for the whole message; and
         * room for an abort frame stays free until the last piece, so that giving up can
         * always be said. */
        rc = wait_room(q, frame + (last ? 0 : FRAME_HEAD), first, &deadline, first ? 0 : timeout_ms,
                       nowait && first);
        if (rc) {
            if (!first)
                publish_abort(q);
            break;
        }
        /* A JoinableQueue counts the task as its last piece goes out (not before: a
         * producer killed half-way must not leave a task nobody can finish). */
        if (last && (st->flags & Q_JOINABLE))
            mproc__add(&st->unfinished, 1);
        uint64_t pos = pos_of(load64(&st->tail));
        uint8_t head[FRAME_HEAD];
        uint32_t piece32 = (uint32_t)piece;
        uint64_t total = len;
        memcpy(head, &piece32, 4);
        memcpy(head + 4, &flags, 4);
        memcpy(head + 8, &total, 8);
        ring_write(q, pos, head, FRAME_HEAD);
        if (piece)
            ring_write(q, pos + FRAME_HEAD, (const uint8_t *)data + done, piece);
        publish(q, pos, frame, flags);
        done += piece;
        first = false;
    } while (done < len);
    mproc__word_unlock(&st->put_lock, park(q, PARK_PUT_LOCK));
    /* A poll is MPROC_EFULL, also when a streamed message found no room after its first
     * piece. */
    if (rc == MPROC_ETIMEDOUT && nowait)
        rc = MPROC_EFULL;
    return rc ? mproc__fail(rc) : 0;
}

int mproc_queue_put_pack(mproc_queue *q, const mproc_pack *pack, int64_t timeout_ms)
{
    int rc = check(q);
    if (rc)
        return rc;
    if (!pack)
        return mproc__fail(MPROC_EINVAL);
    mproc__packed m;
    rc = mproc__pack_open_plain(pack, &m);
    if (rc)
        return rc;
    rc = mproc_queue_put(q, m.bytes.data, m.bytes.len, timeout_ms);
    mproc__pack_close(&m);
    return rc;
}

bool mproc__queue_fits(mproc_queue *q, size_t len)
{
    if (check(q))
        return false;
    queue_state *st = qst(q);
    uint64_t frame = frame_size(len);
    return len <= st->capacity / 4 - FRAME_HEAD && st->capacity - used_bytes(st) >= frame &&
           (st->maxsize == 0 || messages(st) < (uint64_t)st->maxsize);
}

/* ---- get ------------------------------------------------------------------------------------ */

/* Gives back drained ring memory, a MiB at a time, when no producer is at work. */
static void give_back(mproc_queue *q)
{
    queue_state *st = qst(q);
    if (st->capacity < 4 * (uint64_t)DISCARD_BLOCK)
        return;
    uint64_t head = pos_of(load64(&st->head));
    uint64_t from = st->discarded, upto = head & ~(uint64_t)(DISCARD_BLOCK - 1);
    if (((upto - from) & POS_MASK) > st->capacity) /* older blocks have been reused since */
        from = (upto - st->capacity) & POS_MASK;
    if (((upto - from) & POS_MASK) < DISCARD_BLOCK)
        return;
    int rc = mproc__word_lock(&st->put_lock, park(q, PARK_PUT_LOCK), 0);
    if (rc != 0 && rc != MPROC_EOWNERDEAD)
        return; /* a producer is at work: next time */
    /* A drained block's bytes are free only while the producers have not come round to
     * them again: its offsets next hold positions p + capacity onwards, so it must lie
     * wholly at or past the tail by then (the tail cannot move: we hold put_lock). */
    uint64_t tail = pos_of(load64(&st->tail)), p = from & ~(uint64_t)(DISCARD_BLOCK - 1);
    for (; ((upto - p) & POS_MASK) >= DISCARD_BLOCK; p = (p + DISCARD_BLOCK) & POS_MASK) {
        if (((p + st->capacity - tail) & POS_MASK) > st->capacity)
            break; /* tail is past p + capacity: that block holds new messages */
        mpp_segment_discard(q->o.seg, RING_OFFSET + (size_t)(p & (st->capacity - 1)),
                            DISCARD_BLOCK);
    }
    st->discarded = p;
    mproc__word_unlock(&st->put_lock, park(q, PARK_PUT_LOCK));
}

int mproc_queue_get(mproc_queue *q, int64_t timeout_ms, mproc_bytes *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    int rc = check(q);
    if (rc)
        return rc;
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    queue_state *st = qst(q);
    bool nowait = timeout_ms == 0;
    int64_t deadline = mproc__deadline(timeout_ms);
    uint8_t *buf = NULL;
    size_t have = 0, total = 0;
    bool in_message = false, complete = false;
    /* One thread takes over a kept partial message (and the turn that goes with it). */
    if (mproc__exchange_acq_rel(&q->resuming, false)) {
        buf = q->partial;
        have = q->have;
        total = q->total;
        q->partial = NULL;
        in_message = true;
    } else {
        rc = take_lock(q, &st->get_lock, PARK_GET_LOCK, deadline, MPROC_EEMPTY);
        if (rc)
            return mproc__fail(rc);
    }
    while (!complete) {
        uint32_t seen = mproc__load(&st->data_seq);
        uint64_t head = load64(&st->head);
        if (pos_of(load64(&st->tail)) == pos_of(head)) {
            /* A producer that died half-way will send no more of its message. */
            if (in_message && !mproc__word_holder_alive(&st->put_lock)) {
                mproc_free(buf);
                buf = NULL;
                in_message = false;
                continue;
            }
            int64_t ms = mproc__next_slice(deadline);
            if (ms == 0 && in_message) {
                /* Keep the part that came, and our turn, for the next get here. */
                q->partial = buf;
                q->have = have;
                q->total = total;
                mproc__store_release(&q->resuming, true);
                return mproc__fail(nowait ? MPROC_EEMPTY : MPROC_ETIMEDOUT);
            }
            if (ms == 0) {
                rc = nowait ? MPROC_EEMPTY : MPROC_ETIMEDOUT;
                break;
            }
            mproc__park_counted(park(q, PARK_DATA), &st->data_seq, seen, &st->data_waiters, ms);
            continue;
        }
        uint8_t fh[FRAME_HEAD];
        uint32_t piece, flags;
        uint64_t msg_len;
        ring_read(q, pos_of(head), fh, FRAME_HEAD);
        memcpy(&piece, fh, 4);
        memcpy(&flags, fh + 4, 4);
        memcpy(&msg_len, fh + 8, 8);
        if (flags & F_ABORT) {
            mproc_free(buf);
            buf = NULL;
            in_message = false;
        } else if (flags & F_FIRST) {
            mproc_free(buf); /* a message its producer never finished */
            buf = NULL;
            in_message = false;
            if (msg_len > SIZE_MAX - 1 || !(buf = mproc_malloc((size_t)msg_len + 1))) {
                rc = MPROC_ENOMEM; /* the message stays for someone with more room */
                break;
            }
            total = (size_t)msg_len;
            have = 0;
            in_message = true;
        }
        bool take = in_message && !(flags & F_ABORT) && piece <= total - have;
        if (take && piece)
            ring_read(q, pos_of(head) + FRAME_HEAD, buf + have, piece);
        if (take)
            have += piece;
        uint64_t count = (cnt_of(head) + ((flags & F_LAST) ? 1 : 0)) & CNT_MASK;
        mproc__store_release(&st->head,
                             (count << POS_BITS) | ((pos_of(head) + frame_size(piece)) & POS_MASK));
        mproc__add(&st->room_seq, 1);
        mproc__wake_all(park(q, PARK_ROOM), &st->room_seq, &st->room_waiters);
        if (take && (flags & F_LAST) && have == total)
            complete = true;
    }
    if (rc == 0)
        give_back(q);
    mproc__word_unlock(&st->get_lock, park(q, PARK_GET_LOCK));
    if (rc) {
        mproc_free(buf);
        return mproc__fail(rc);
    }
    out->data = buf;
    out->len = total;
    return 0;
}

/* ---- the rest ---------------------------------------------------------------------------------- */

int mproc_queue_qsize(mproc_queue *q, int64_t *n)
{
    int rc = check(q);
    if (rc)
        return rc;
    if (!n)
        return mproc__fail(MPROC_EINVAL);
    *n = (int64_t)messages(qst(q));
    return 0;
}

int mproc_queue_empty(mproc_queue *q)
{
    int rc = check(q);
    return rc ? rc : used_bytes(qst(q)) == 0;
}

int mproc_queue_full(mproc_queue *q)
{
    int rc = check(q);
    if (rc)
        return rc;
    queue_state *st = qst(q);
    return (st->maxsize > 0 && messages(st) >= (uint64_t)st->maxsize) ||
           st->capacity - used_bytes(st) < frame_size(0);
}

/* Gives up a kept partial message and the consumers' turn (the rest of that message is
 * then skipped by whoever gets next). */
static void drop_partial(mproc_queue *q)
{
    if (mproc__exchange_acq_rel(&q->resuming, false)) {
        mproc_free(q->partial);
        q->partial = NULL;
        mproc__word_unlock(&qst(q)->get_lock, park(q, PARK_GET_LOCK));
    }
}

int mproc_queue_close(mproc_queue *q)
{
    if (mproc__object_check(q, MPROC__KIND_QUEUE))
        return mproc__fail(MPROC_EINVAL);
    q->closed = true;
    drop_partial(q);
    return 0;
}

void mproc_queue_destroy(mproc_queue *q)
{
    if (mproc__object_check(q, MPROC__KIND_QUEUE))
        return;
    drop_partial(q);
    mproc__shared_close(&q->o);
    mproc_free(q);
}

int mproc_queue_task_done(mproc_queue *q)
{
    int rc = check(q);
    if (rc)
        return rc;
    queue_state *st = qst(q);
    if (!(st->flags & Q_JOINABLE))
        return mproc__fail(MPROC_ETYPE);
    uint64_t n = mproc__load(&st->unfinished);
    do {
        if (n == 0)
            return mproc__fail(MPROC_ESTATE);
    } while (!mproc__cas(&st->unfinished, &n, n - 1));
    if (n == 1) {
        mproc__add(&st->done_seq, 1);
        mproc__wake_all(park(q, PARK_DONE), &st->done_seq, &st->done_waiters);
    }
    return 0;
}

int mproc_queue_join(mproc_queue *q, int64_t timeout_ms)
{
    int rc = check(q);
    if (rc)
        return rc;
    queue_state *st = qst(q);
    if (!(st->flags & Q_JOINABLE))
        return mproc__fail(MPROC_ETYPE);
    int64_t deadline = mproc__deadline(timeout_ms);
    /* Returns once the count was zero at any moment since the call (as Python's: a put
     * right after the last task_done does not hold a waiting join back). */
    uint32_t at_start = mproc__load(&st->done_seq);
    for (;;) {
        uint32_t seen = mproc__load(&st->done_seq);
        if (seen != at_start || mproc__load(&st->unfinished) == 0)
            return 0;
        int64_t ms = mproc__next_slice(deadline);
        if (ms == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        mproc__park_counted(park(q, PARK_DONE), &st->done_seq, seen, &st->done_waiters, ms);
    }
}

int mproc_unpack_queue(mproc_unpacker *u, mproc_queue **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, MPROC__KIND_QUEUE, recs, &n);
    if (rc)
        return rc;
    mproc_queue *q = mproc_calloc(1, sizeof *q);
    if (!q)
        return mproc__fail(MPROC_ENOMEM);
    rc = mproc__shared_open(&q->o, &recs[0], MPROC__KIND_QUEUE);
    if (!rc) {
        uint64_t cap = qst(q)->capacity;
        if (cap < MIN_RING || cap > MAX_RING || (cap & (cap - 1)) ||
            cap > q->o.size - RING_OFFSET) {
            mproc__shared_close(&q->o);
            rc = mproc__fail(MPROC_EPROTO);
        }
    }
    if (rc) {
        mproc_free(q);
        return rc;
    }
    *out = q;
    return 0;
}
