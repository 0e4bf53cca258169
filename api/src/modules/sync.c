/* Lock, RLock, Semaphore, Condition, Event, Barrier over shared memory.
 *
 * The state of each object is a few 32-bit words in a shared segment, changed with
 * atomic operations; a process that must wait parks on one of those words (platform.h:
 * a futex where there is one, a semaphore on Windows) and whoever changes the word wakes
 * it. Waiting never relies on a wake-up alone: waits are sliced, so a waker that died
 * between changing a word and waking costs a slice, not a hang. A Lock is a robust lock
 * word (objects/park.c). */
#include <string.h>

#include "modules/modules.h"

/* ---- Lock and RLock ------------------------------------------------------------------------ */

typedef struct lock_state {
    uint32_t magic, kind;
    uint32_t word;
    uint32_t recursive;
    uint64_t owner_thread; /* RLock: the holding thread, with the pid in word */
    uint32_t depth;        /* RLock: touched by the holder only */
} lock_state;

size_t mproc__lock_state_size(void)
{
    return sizeof(lock_state);
}

void mproc__lock_state_init(void *state, bool recursive)
{
    lock_state *st = state;
    memset(st, 0, sizeof *st);
    st->magic = MPROC__STATE_MAGIC;
    st->kind = MPROC__KIND_LOCK;
    st->recursive = recursive;
}

void mproc__lock_view(mproc_lock *view, const mproc__shared *owner, size_t offset,
                      uint32_t park_index)
{
    memset(view, 0, sizeof *view);
    mproc__shared_init_head(&view->o, MPROC__KIND_LOCK);
    view->o.seg = owner->seg;
    view->o.base = owner->base;
    view->o.size = owner->size;
    view->o.offset = offset;
    view->o.borrowed = true;
    if (park_index < owner->nparks) {
        view->o.parks[0] = owner->parks[park_index];
        view->o.nparks = 1;
    }
}

static lock_state *lock_st(const mproc_lock *l)
{
    return mproc__shared_state(&l->o);
}

static int lock_create(mproc_lock **out, bool recursive)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int rc = mproc__shared_new(MPROC__KIND_LOCK, sizeof **out, sizeof(lock_state), 1, (void **)out);
    if (!rc)
        mproc__lock_state_init(lock_st(*out), recursive);
    return rc;
}

int mproc_lock_create(mproc_lock **out)
{
    return lock_create(out, false);
}

int mproc_rlock_create(mproc_lock **out)
{
    return lock_create(out, true);
}

static bool held_by_this_thread(const lock_state *st)
{
    return mproc__word_held_here(&st->word) &&
           mproc__load_relaxed(&st->owner_thread) == mpp_thread_id();
}

int mproc_lock_acquire(mproc_lock *l, int64_t timeout_ms)
{
    if (mproc__object_check(l, MPROC__KIND_LOCK))
        return mproc__fail(MPROC_EINVAL);
    lock_state *st = lock_st(l);
    if (st->recursive && held_by_this_thread(st)) {
        st->depth++;
        return 0;
    }
    int rc = mproc__word_lock(&st->word, mproc__park_of(&l->o, 0), timeout_ms);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        if (st->recursive) {
            mproc__store_relaxed(&st->owner_thread, mpp_thread_id());
            st->depth = 1;
        }
        return rc;
    }
    return mproc__fail(rc);
}

int mproc_lock_release(mproc_lock *l)
{
    if (mproc__object_check(l, MPROC__KIND_LOCK))
        return mproc__fail(MPROC_EINVAL);
    lock_state *st = lock_st(l);
    if (st->recursive) {
        if (!held_by_this_thread(st))
            return mproc__fail(MPROC_ESTATE);
        if (--st->depth > 0)
            return 0;
        mproc__store_relaxed(&st->owner_thread, 0);
    }
    int rc = mproc__word_unlock(&st->word, mproc__park_of(&l->o, 0));
    return rc ? mproc__fail(rc) : 0;
}

int mproc_lock_locked(mproc_lock *l)
{
    if (mproc__object_check(l, MPROC__KIND_LOCK))
        return mproc__fail(MPROC_EINVAL);
    return mproc__load_acquire(&lock_st(l)->word) != 0;
}

void mproc_lock_destroy(mproc_lock *l)
{
    if (mproc__object_check(l, MPROC__KIND_LOCK) || l->o.borrowed || l->o.embedded)
        return; /* a Value's or a Condition's lock goes with its owner */
    mproc__shared_close(&l->o);
    mproc_free(l);
}

int mproc_unpack_lock(mproc_unpacker *u, mproc_lock **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_LOCK, sizeof **out, (void **)out);
}

/* Whether the caller may wait/notify: an RLock held by this thread; a Lock held by this
 * process (a Lock has no owning thread). */
static bool lock_held_here(const mproc_lock *l)
{
    const lock_state *st = lock_st(l);
    if (st->recursive)
        return held_by_this_thread(st);
    return mproc__word_held_here(&st->word);
}

/* ---- Semaphore ------------------------------------------------------------------------------- */

typedef struct sem_state {
    uint32_t magic, kind;
    uint32_t value;
    uint32_t waiters;
    uint32_t bounded;
    uint32_t max;
} sem_state;

struct mproc_sem {
    mproc__shared o;
};

static int sem_create(mproc_sem **out, int64_t value, bool bounded)
{
    if (!out || value < 0 || value > INT32_MAX)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int rc = mproc__shared_new(MPROC__KIND_SEM, sizeof **out, sizeof(sem_state), 1, (void **)out);
    if (rc)
        return rc;
    sem_state *st = mproc__shared_state(&(*out)->o);
    st->value = (uint32_t)value;
    st->bounded = bounded;
    st->max = (uint32_t)value;
    return 0;
}

int mproc_sem_create(mproc_sem **out, int64_t value)
{
    return sem_create(out, value, false);
}

int mproc_sem_create_bounded(mproc_sem **out, int64_t value)
{
    return sem_create(out, value, true);
}

int mproc_sem_acquire(mproc_sem *s, int64_t timeout_ms)
{
    if (mproc__object_check(s, MPROC__KIND_SEM))
        return mproc__fail(MPROC_EINVAL);
    sem_state *st = mproc__shared_state(&s->o);
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        uint32_t v = mproc__load_acquire(&st->value);
        if (v > 0) {
            if (mproc__cas_acq_rel(&st->value, &v, v - 1))
                return 0;
            continue;
        }
        int64_t ms = mproc__next_slice(deadline);
        if (ms == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        mproc__park_counted(mproc__park_of(&s->o, 0), &st->value, 0, &st->waiters, ms);
    }
}

int mproc_sem_release(mproc_sem *s)
{
    if (mproc__object_check(s, MPROC__KIND_SEM))
        return mproc__fail(MPROC_EINVAL);
    sem_state *st = mproc__shared_state(&s->o);
    uint32_t v = mproc__load_acquire(&st->value);
    do {
        if ((st->bounded && v >= st->max) || v >= INT32_MAX)
            return mproc__fail(MPROC_ESTATE);
    } while (!mproc__cas_acq_rel(&st->value, &v, v + 1));
    if (mproc__load(&st->waiters))
        mpp_park_wake(mproc__park_of(&s->o, 0), &st->value, 1);
    return 0;
}

int mproc_sem_value(mproc_sem *s, int64_t *value)
{
    if (mproc__object_check(s, MPROC__KIND_SEM) || !value)
        return mproc__fail(MPROC_EINVAL);
    *value = mproc__load_acquire(&((sem_state *)mproc__shared_state(&s->o))->value);
    return 0;
}

void mproc_sem_destroy(mproc_sem *s)
{
    if (mproc__object_check(s, MPROC__KIND_SEM))
        return;
    mproc__shared_close(&s->o);
    mproc_free(s);
}

int mproc_unpack_sem(mproc_unpacker *u, mproc_sem **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_SEM, sizeof **out, (void **)out);
}

/* ---- Condition -----------------------------------------------------------------------------
 * Waiters come in two groups, as in glibc's condition variable. A waiter joins the new group
 * (G2) under the lock; each notify, also under the lock, first moves the whole of G2 into the
 * group that signals go to (G1), then grants signals to G1's sleepers that have none. So a
 * signal goes only to a waiter that was already waiting when it was sent: one that calls
 * wait after the notify cannot take it from the sleeper it was meant for.
 * g1 = G1's sleepers << 32 | signals not yet taken, one word, so that taking a signal is one
 * atomic step outside the lock. A waiter is in G1 once g1_id has reached the group id it
 * joined with (ids only grow; compared as serial numbers). A waiter that times out leaves
 * under the lock again, so a notify never counts it; if a signal is there for it by then, it
 * takes it and returns 0. seq changes on every notify; waiters park on it. */

typedef struct cond_state {
    uint32_t magic, kind;
    uint32_t seq;
    uint32_t waiters;
    uint64_t g1;          /* G1: sleepers << 32 | signals */
    uint32_t g1_id;       /* the newest group id merged into G1 */
    uint32_t g2_id;       /* the id a waiter joins with */
    uint32_t g2_sleepers; /* waiters that joined since the last notify */
    uint32_t pad;
} cond_state;

struct mproc_cond {
    mproc__shared o;
    mproc_lock lock;
};

static cond_state *cond_st(const mproc_cond *c)
{
    return mproc__shared_state(&c->o);
}

int mproc_cond_create(mproc_cond **out, mproc_lock *lock)
{
    if (!out || (lock && mproc__object_check(lock, MPROC__KIND_LOCK)))
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_cond *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    int rc = mproc__shared_create(&c->o, MPROC__KIND_COND, sizeof(cond_state), 1);
    if (rc) {
        mproc_free(c);
        return rc;
    }
    mproc__store(&cond_st(c)->g2_id, 1);
    if (lock) {
        /* A handle of our own to the caller's lock, via its travelling form. */
        mproc__record r = {.kind = MPROC__KIND_LOCK,
                           .nparks = lock->o.nparks,
                           .seg = (uint64_t)lock->o.seg,
                           .size = lock->o.size,
                           .offset = lock->o.offset};
        for (uint32_t i = 0; i < lock->o.nparks; i++)
            r.parks[i] = (uint64_t)lock->o.parks[i];
        rc = mproc__shared_open(&c->lock.o, &r, MPROC__KIND_LOCK);
    } else {
        rc = mproc__shared_create(&c->lock.o, MPROC__KIND_LOCK, sizeof(lock_state), 1);
        if (!rc)
            mproc__lock_state_init(lock_st(&c->lock), true);
    }
    if (rc) {
        mproc__shared_close(&c->o);
        mproc_free(c);
        return rc;
    }
    c->o.dep = &c->lock.o;
    c->lock.o.embedded = true;
    *out = c;
    return 0;
}

mproc_lock *mproc_cond_lock(mproc_cond *c)
{
    return mproc__object_check(c, MPROC__KIND_COND) ? NULL : &c->lock;
}

int mproc_cond_acquire(mproc_cond *c, int64_t timeout_ms)
{
    if (mproc__object_check(c, MPROC__KIND_COND))
        return mproc__fail(MPROC_EINVAL);
    return mproc_lock_acquire(&c->lock, timeout_ms);
}

int mproc_cond_release(mproc_cond *c)
{
    if (mproc__object_check(c, MPROC__KIND_COND))
        return mproc__fail(MPROC_EINVAL);
    return mproc_lock_release(&c->lock);
}

#define SLEEPER ((uint64_t)1 << 32)

static bool in_g1(const cond_state *st, uint32_t group)
{
    return (int32_t)(mproc__load_acquire(&st->g1_id) - group) >= 0;
}

/* A signal for a sleeper of G1, if there is one: 1 taken, 0 none. */
static int take_signal(cond_state *st)
{
    uint64_t cnt = mproc__load(&st->g1);
    while ((uint32_t)cnt > 0)
        if (mproc__cas(&st->g1, &cnt, cnt - SLEEPER - 1))
            return 1;
    return 0;
}

int mproc_cond_wait(mproc_cond *c, int64_t timeout_ms)
{
    if (mproc__object_check(c, MPROC__KIND_COND))
        return mproc__fail(MPROC_EINVAL);
    if (!lock_held_here(&c->lock))
        return mproc__fail(MPROC_ESTATE);
    cond_state *st = cond_st(c);
    lock_state *ls = lock_st(&c->lock);
    int64_t deadline = mproc__deadline(timeout_ms);

    uint32_t group = mproc__load(&st->g2_id);
    mproc__add(&st->g2_sleepers, 1);
    /* Let go of the lock entirely (an RLock may be held several times), as Python. */
    uint32_t depth = ls->recursive ? ls->depth : 1;
    if (ls->recursive) {
        ls->depth = 1;
    }
    mproc_lock_release(&c->lock);

    bool notified = false;
    for (;;) {
        uint32_t seen = mproc__load(&st->seq);
        if (in_g1(st, group) && take_signal(st)) {
            notified = true;
            break;
        }
        int64_t ms = mproc__next_slice(deadline);
        if (ms == 0)
            break;
        mproc__park_counted(mproc__park_of(&c->o, 0), &st->seq, seen, &st->waiters, ms);
    }

    int rc = mproc_lock_acquire(&c->lock, MPROC_FOREVER);
    if (!notified) {
        /* Leave under the lock: no notify runs meanwhile. */
        if (!in_g1(st, group)) {
            mproc__add(&st->g2_sleepers, (uint32_t)-1);
        } else if (take_signal(st)) {
            notified = true;
        } else {
            mproc__add(&st->g1, (uint64_t)0 - SLEEPER);
        }
    }
    if (ls->recursive)
        ls->depth = depth;
    if (rc == MPROC_EOWNERDEAD)
        return rc;
    return notified ? 0 : mproc__fail(MPROC_ETIMEDOUT);
}

int mproc_cond_wait_for(mproc_cond *c, int (*pred)(void *arg), void *arg, int64_t timeout_ms)
{
    if (mproc__object_check(c, MPROC__KIND_COND) || !pred)
        return mproc__fail(MPROC_EINVAL);
    int64_t deadline = mproc__deadline(timeout_ms);
    while (!pred(arg)) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        int rc = mproc_cond_wait(c, left);
        if (rc && rc != MPROC_ETIMEDOUT && rc != MPROC_EOWNERDEAD)
            return rc;
    }
    return 0;
}

int mproc_cond_notify(mproc_cond *c, int64_t n)
{
    if (mproc__object_check(c, MPROC__KIND_COND) || n < 0)
        return mproc__fail(MPROC_EINVAL);
    if (!lock_held_here(&c->lock))
        return mproc__fail(MPROC_ESTATE);
    cond_state *st = cond_st(c);
    uint32_t joined = mproc__load(&st->g2_sleepers);
    if (joined > 0) {
        /* G2 into G1: counted first, then published, so a waiter that sees itself in G1
         * finds its place counted. */
        mproc__add(&st->g1, (uint64_t)joined << 32);
        mproc__store(&st->g2_sleepers, 0);
        uint32_t id = mproc__load(&st->g2_id);
        mproc__store_release(&st->g1_id, id);
        mproc__store(&st->g2_id, id + 1);
    }
    uint64_t cnt = mproc__load(&st->g1), next;
    uint32_t add;
    do {
        uint32_t sleepers = (uint32_t)(cnt >> 32), signals = (uint32_t)cnt;
        uint32_t unsignalled = sleepers > signals ? sleepers - signals : 0;
        add = n < (int64_t)unsignalled ? (uint32_t)n : unsignalled;
        if (add == 0)
            return 0;
        next = cnt + add;
    } while (!mproc__cas(&st->g1, &cnt, next));
    mproc__add(&st->seq, 1);
    /* Which sleeper of G1 takes which signal is theirs to race for: wake them all. */
    mproc__wake_all(mproc__park_of(&c->o, 0), &st->seq, &st->waiters);
    return (int)add;
}

int mproc_cond_notify_all(mproc_cond *c)
{
    return mproc_cond_notify(c, INT32_MAX);
}

void mproc_cond_destroy(mproc_cond *c)
{
    if (mproc__object_check(c, MPROC__KIND_COND))
        return;
    mproc__shared_close(&c->lock.o);
    mproc__shared_close(&c->o);
    mproc_free(c);
}

int mproc_unpack_cond(mproc_unpacker *u, mproc_cond **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, MPROC__KIND_COND, recs, &n);
    if (rc)
        return rc;
    if (n != 2)
        return mproc__fail(MPROC_EPROTO);
    mproc_cond *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    rc = mproc__shared_open(&c->o, &recs[0], MPROC__KIND_COND);
    if (!rc) {
        rc = mproc__shared_open(&c->lock.o, &recs[1], MPROC__KIND_LOCK);
        if (rc)
            mproc__shared_close(&c->o);
    }
    if (rc) {
        mproc_free(c);
        return rc;
    }
    c->o.dep = &c->lock.o;
    c->lock.o.embedded = true;
    *out = c;
    return 0;
}

/* ---- Event -------------------------------------------------------------------------------- */

typedef struct event_state {
    uint32_t magic, kind;
    uint32_t flag;
    uint32_t waiters;
} event_state;

struct mproc_event {
    mproc__shared o;
};

int mproc_event_create(mproc_event **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    return mproc__shared_new(MPROC__KIND_EVENT, sizeof **out, sizeof(event_state), 1, (void **)out);
}

static event_state *event_st(mproc_event *e)
{
    return mproc__shared_state(&e->o);
}

int mproc_event_set(mproc_event *e)
{
    if (mproc__object_check(e, MPROC__KIND_EVENT))
        return mproc__fail(MPROC_EINVAL);
    event_state *st = event_st(e);
    mproc__store(&st->flag, 1);
    mproc__wake_all(mproc__park_of(&e->o, 0), &st->flag, &st->waiters);
    return 0;
}

int mproc_event_clear(mproc_event *e)
{
    if (mproc__object_check(e, MPROC__KIND_EVENT))
        return mproc__fail(MPROC_EINVAL);
    mproc__store_release(&event_st(e)->flag, 0);
    return 0;
}

int mproc_event_is_set(mproc_event *e)
{
    if (mproc__object_check(e, MPROC__KIND_EVENT))
        return mproc__fail(MPROC_EINVAL);
    return mproc__load_acquire(&event_st(e)->flag) != 0;
}

int mproc_event_wait(mproc_event *e, int64_t timeout_ms)
{
    if (mproc__object_check(e, MPROC__KIND_EVENT))
        return mproc__fail(MPROC_EINVAL);
    event_state *st = event_st(e);
    int64_t deadline = mproc__deadline(timeout_ms);
    while (!mproc__load_acquire(&st->flag)) {
        int64_t ms = mproc__next_slice(deadline);
        if (ms == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        mproc__park_counted(mproc__park_of(&e->o, 0), &st->flag, 0, &st->waiters, ms);
    }
    return 0;
}

void mproc_event_destroy(mproc_event *e)
{
    if (mproc__object_check(e, MPROC__KIND_EVENT))
        return;
    mproc__shared_close(&e->o);
    mproc_free(e);
}

int mproc_unpack_event(mproc_unpacker *u, mproc_event **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_EVENT, sizeof **out, (void **)out);
}

/* ---- Barrier ------------------------------------------------------------------------------
 * A small robust lock (park 0) guards count/cycle/broken; waiters of a cycle park on seq
 * (park 1) until the cycle ends. How each cycle ended (passed or broken) is kept in a
 * 64-cycle ring of bits, so a waiter that wakes late still learns its own cycle's fate. */

#define ACTION_MAX 128

typedef struct barrier_state {
    uint32_t magic, kind;
    uint32_t lock;
    uint32_t seq;
    uint32_t waiters;
    uint32_t parties;
    uint32_t count; /* count and broken: written under the lock, read without it */
    uint32_t broken;
    uint32_t cycle;
    uint32_t pad;
    uint64_t broken_cycles; /* bit (cycle % 64): that cycle ended broken */
    int64_t timeout_ms;
    char action[ACTION_MAX];
} barrier_state;

struct mproc_barrier {
    mproc__shared o;
};

static barrier_state *barrier_st(mproc_barrier *b)
{
    return mproc__shared_state(&b->o);
}

int mproc_barrier_create(mproc_barrier **out, const mproc_barrier_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (!opts || opts->parties <= 0 || opts->parties > INT32_MAX || opts->timeout_ms < 0)
        return mproc__fail(MPROC_EINVAL);
    if (opts->action && strlen(opts->action) >= ACTION_MAX)
        return mproc__fail(MPROC_ETOOBIG);
    if (opts->action && !mproc_task_lookup(opts->action))
        return mproc__fail(MPROC_ENOTASK);
    int rc = mproc__shared_new(MPROC__KIND_BARRIER, sizeof **out, sizeof(barrier_state), 2,
                               (void **)out);
    if (rc)
        return rc;
    barrier_state *st = barrier_st(*out);
    st->parties = (uint32_t)opts->parties;
    st->timeout_ms = opts->timeout_ms;
    if (opts->action)
        strcpy(st->action, opts->action);
    return 0;
}

/* Ends the current cycle, passed or broken, and wakes its waiters. Under the lock. */
static void end_cycle(mproc_barrier *b, bool broken)
{
    barrier_state *st = barrier_st(b);
    uint64_t bit = (uint64_t)1 << (st->cycle % 64);
    if (broken)
        st->broken_cycles |= bit;
    else
        st->broken_cycles &= ~bit;
    mproc__store(&st->count, 0);
    mproc__store(&st->cycle, st->cycle + 1);
    st->broken_cycles &= ~((uint64_t)1 << (st->cycle % 64));
    mproc__add(&st->seq, 1);
    mproc__wake_all(mproc__park_of(&b->o, 1), &st->seq, &st->waiters);
}

static int barrier_lock(mproc_barrier *b)
{
    /* Held only for a few instructions (or the action): an unbounded wait here still ends,
     * as a dead holder is taken over. A holder that died as the last party (in its action)
     * leaves a full cycle that nobody will end: it ends broken. */
    int rc = mproc__word_lock(&barrier_st(b)->lock, mproc__park_of(&b->o, 0), MPROC_FOREVER);
    if (rc == MPROC_EOWNERDEAD) {
        barrier_state *st = barrier_st(b);
        if (st->count >= st->parties) {
            mproc__store(&st->broken, 1);
            end_cycle(b, true);
        }
        rc = 0;
    }
    return rc;
}

static void barrier_unlock(mproc_barrier *b)
{
    mproc__word_unlock(&barrier_st(b)->lock, mproc__park_of(&b->o, 0));
}

static int run_action(const char *name)
{
    mproc_task_fn fn = mproc_task_lookup(name);
    if (!fn)
        return MPROC_ENOTASK;
    mproc_pack *out; /* the action's result has no one to go to: dropped */
    int rc = mproc_pack_create(&out);
    if (rc)
        return rc;
    mproc_bytes in = {NULL, 0};
    int code = fn(&in, out);
    mproc_pack_destroy(out);
    return code == 0 ? 0 : MPROC_ETASK;
}

int mproc_barrier_wait(mproc_barrier *b, int64_t timeout_ms)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER) || timeout_ms < MPROC_BARRIER_DEFAULT)
        return mproc__fail(MPROC_EINVAL);
    barrier_state *st = barrier_st(b);
    if (timeout_ms == MPROC_BARRIER_DEFAULT)
        timeout_ms = st->timeout_ms > 0 ? st->timeout_ms : MPROC_FOREVER;
    int64_t deadline = mproc__deadline(timeout_ms);
    int rc = barrier_lock(b);
    if (rc)
        return mproc__fail(rc);
    if (st->broken) {
        barrier_unlock(b);
        return mproc__fail(MPROC_EBROKEN);
    }
    uint32_t index = st->count, cycle = st->cycle;
    mproc__store(&st->count, index + 1); /* (n_waiting reads it without the lock) */
    if (index + 1 >= st->parties) {
        rc = st->action[0] ? run_action(st->action) : 0;
        if (rc)
            mproc__store(&st->broken, 1);
        end_cycle(b, rc != 0);
        barrier_unlock(b);
        return rc ? mproc__fail(rc) : (int)index;
    }
    for (;;) {
        uint32_t seen = mproc__load(&st->seq);
        barrier_unlock(b);
        int64_t ms = mproc__next_slice(deadline);
        if (ms > 0)
            mproc__park_counted(mproc__park_of(&b->o, 1), &st->seq, seen, &st->waiters, ms);
        rc = barrier_lock(b);
        if (rc)
            return mproc__fail(rc);
        if (st->cycle != cycle) {
            bool broken = (st->broken_cycles >> (cycle % 64)) & 1;
            barrier_unlock(b);
            return broken ? mproc__fail(MPROC_EBROKEN) : (int)index;
        }
        if (ms == 0) {
            /* Our timeout breaks the barrier for everyone, as Python's. */
            mproc__store(&st->broken, 1);
            end_cycle(b, true);
            barrier_unlock(b);
            return mproc__fail(MPROC_ETIMEDOUT);
        }
    }
}

int mproc_barrier_abort(mproc_barrier *b)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER))
        return mproc__fail(MPROC_EINVAL);
    int rc = barrier_lock(b);
    if (rc)
        return mproc__fail(rc);
    barrier_state *st = barrier_st(b);
    mproc__store(&st->broken, 1);
    if (st->count > 0)
        end_cycle(b, true);
    barrier_unlock(b);
    return 0;
}

int mproc_barrier_reset(mproc_barrier *b)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER))
        return mproc__fail(MPROC_EINVAL);
    int rc = barrier_lock(b);
    if (rc)
        return mproc__fail(rc);
    barrier_state *st = barrier_st(b);
    if (st->count > 0)
        end_cycle(b, true);
    mproc__store(&st->broken, 0);
    barrier_unlock(b);
    return 0;
}

int mproc_barrier_parties(mproc_barrier *b, int64_t *parties)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER) || !parties)
        return mproc__fail(MPROC_EINVAL);
    *parties = barrier_st(b)->parties;
    return 0;
}

int mproc_barrier_n_waiting(mproc_barrier *b, int64_t *n)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER) || !n)
        return mproc__fail(MPROC_EINVAL);
    *n = mproc__load(&barrier_st(b)->count);
    return 0;
}

int mproc_barrier_broken(mproc_barrier *b)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER))
        return mproc__fail(MPROC_EINVAL);
    return mproc__load(&barrier_st(b)->broken) != 0;
}

void mproc_barrier_destroy(mproc_barrier *b)
{
    if (mproc__object_check(b, MPROC__KIND_BARRIER))
        return;
    mproc__shared_close(&b->o);
    mproc_free(b);
}

int mproc_unpack_barrier(mproc_unpacker *u, mproc_barrier **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_BARRIER, sizeof **out, (void **)out);
}
