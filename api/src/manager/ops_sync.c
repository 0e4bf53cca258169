/* The bodies of the queue and synchronization ops (ops.def): queue, lock, semaphore, event,
 * condition, barrier. Their waits are slices on the server's condition (mproc__mgr_wait)
 * until c->deadline. */
#include "manager/private.h"

/* ---- queue ------------------------------------------------------------------------------- */
/* A put or get whose wait ended: a poll (timeout 0) of a full queue is MPROC_EFULL, of an
 * empty one MPROC_EEMPTY (poll_code); a longer wait MPROC_ETIMEDOUT. */
static int queue_wait_code(const op_ctx *c, int rc, int poll_code)
{
    return rc == MPROC_ETIMEDOUT && c->r->timeout == 0 ? poll_code : rc;
}

int mproc__mgr_Q_PUT(op_ctx *c, blob data)
{
    sobj *o = c->o;
    int rc;
    while (o->u.q.maxsize > 0 && o->u.q.n >= (size_t)o->u.q.maxsize)
        if ((rc = mproc__mgr_wait(c, c->deadline)) != 0)
            return queue_wait_code(c, rc, MPROC_EFULL);
    if (o->u.q.n == o->u.q.cap) {
        size_t cap = o->u.q.cap ? o->u.q.cap * 2 : 16;
        mproc_bytes *items = mproc_malloc(cap * sizeof *items);
        if (!items)
            return MPROC_ENOMEM;
        for (size_t k = 0; k < o->u.q.n; k++)
            items[k] = o->u.q.items[(o->u.q.head + k) % o->u.q.cap];
        mproc_free(o->u.q.items);
        o->u.q.items = items, o->u.q.cap = cap, o->u.q.head = 0;
    }
    mproc_bytes *slot = &o->u.q.items[(o->u.q.head + o->u.q.n) % o->u.q.cap];
    if ((rc = mproc_bytes_copy(slot, data.data, data.len)) != 0)
        return rc;
    o->u.q.n++;
    o->u.q.unfinished++;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_Q_GET(op_ctx *c)
{
    sobj *o = c->o;
    int rc;
    while (o->u.q.n == 0)
        if ((rc = mproc__mgr_wait(c, c->deadline)) != 0)
            return queue_wait_code(c, rc, MPROC_EEMPTY);
    mproc_bytes *slot = &o->u.q.items[o->u.q.head];
    if ((rc = mproc_pack_bytes(c->res, slot->data, slot->len)) != 0)
        return rc;
    mproc_bytes_free(slot);
    o->u.q.head = (o->u.q.head + 1) % o->u.q.cap;
    o->u.q.n--;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_Q_QSIZE(op_ctx *c)
{
    return mproc_pack_i64(c->res, (int64_t)c->o->u.q.n);
}

int mproc__mgr_Q_FULL(op_ctx *c)
{
    sobj *o = c->o;
    return mproc_pack_i64(c->res, o->u.q.maxsize > 0 && o->u.q.n >= (size_t)o->u.q.maxsize);
}

int mproc__mgr_Q_EMPTY(op_ctx *c)
{
    return mproc_pack_i64(c->res, c->o->u.q.n == 0);
}

int mproc__mgr_Q_TASK_DONE(op_ctx *c)
{
    sobj *o = c->o;
    if (!(o->flags & F_JOINABLE))
        return MPROC_ETYPE;
    if (o->u.q.unfinished <= 0)
        return MPROC_ESTATE;
    if (--o->u.q.unfinished == 0)
        mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_Q_JOIN(op_ctx *c)
{
    sobj *o = c->o;
    if (!(o->flags & F_JOINABLE))
        return MPROC_ETYPE;
    int rc;
    while (o->u.q.unfinished > 0)
        if ((rc = mproc__mgr_wait(c, c->deadline)) != 0)
            return rc;
    return 0;
}

/* ---- lock and rlock (a condition's lock ops act on its lock) ----------------------------- */
static sobj *lock_of(op_ctx *c)
{
    return c->o->kind == K_COND ? object_at(c->s, c->o->u.cond.lock) : c->o;
}

int mproc__mgr_LK_ACQUIRE(op_ctx *c)
{
    sobj *o = lock_of(c);
    owner who = c->r->who;
    if (o->kind != K_LOCK)
        return MPROC_ETYPE;
    if ((o->flags & F_RECURSIVE) && o->u.lk.count > 0 && same_owner(o->u.lk.who, who)) {
        o->u.lk.count++;
        return 0;
    }
    for (;;) {
        if (o->u.lk.count == 0) {
            o->u.lk.count = 1;
            o->u.lk.who = who;
            bool died = o->u.lk.owner_died;
            o->u.lk.owner_died = false;
            return died ? MPROC_EOWNERDEAD : 0;
        }
        int rc = mproc__mgr_wait(c, c->deadline);
        if (rc)
            return rc;
    }
}

int mproc__mgr_LK_RELEASE(op_ctx *c)
{
    sobj *o = lock_of(c);
    if (o->kind != K_LOCK)
        return MPROC_ETYPE;
    if (o->u.lk.count == 0 || ((o->flags & F_RECURSIVE) && !same_owner(o->u.lk.who, c->r->who)))
        return MPROC_ESTATE;
    if (--o->u.lk.count == 0 || !(o->flags & F_RECURSIVE)) {
        o->u.lk.count = 0;
        mpp_cond_broadcast(c->s->cv);
    }
    return 0;
}

/* ---- semaphore and event ----------------------------------------------------------------- */
int mproc__mgr_S_ACQUIRE(op_ctx *c)
{
    int rc;
    while (c->o->u.sem.value == 0)
        if ((rc = mproc__mgr_wait(c, c->deadline)) != 0)
            return rc;
    c->o->u.sem.value--;
    return 0;
}

int mproc__mgr_S_RELEASE(op_ctx *c)
{
    sobj *o = c->o;
    if ((o->flags & F_BOUNDED) && o->u.sem.value >= o->u.sem.bound)
        return MPROC_ESTATE;
    o->u.sem.value++;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_S_VALUE(op_ctx *c)
{
    return mproc_pack_i64(c->res, c->o->u.sem.value);
}

int mproc__mgr_E_SET(op_ctx *c)
{
    c->o->u.event = true;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_E_CLEAR(op_ctx *c)
{
    c->o->u.event = false;
    return 0;
}

int mproc__mgr_E_IS_SET(op_ctx *c)
{
    return mproc_pack_i64(c->res, c->o->u.event);
}

int mproc__mgr_E_WAIT(op_ctx *c)
{
    int rc;
    while (!c->o->u.event)
        if ((rc = mproc__mgr_wait(c, c->deadline)) != 0)
            return rc;
    return 0;
}

/* ---- condition --------------------------------------------------------------------------- */
/* Python's Condition.wait: release the lock whole, wait for a notify, take it back. */
int mproc__mgr_C_WAIT(op_ctx *c)
{
    sobj *cond = c->o, *lk = object_at(c->s, cond->u.cond.lock);
    owner who = c->r->who;
    if (!lk || lk->u.lk.count == 0 || !same_owner(lk->u.lk.who, who))
        return MPROC_ESTATE;
    int64_t saved = lk->u.lk.count;
    lk->u.lk.count = 0;
    cond->u.cond.waiting++;
    mpp_cond_broadcast(c->s->cv);
    int rc;
    for (;;) {
        if (cond->u.cond.to_wake > 0) {
            cond->u.cond.to_wake--;
            rc = 0;
            break;
        }
        rc = mproc__mgr_wait(c, c->deadline);
        if (rc)
            break;
    }
    cond->u.cond.waiting--;
    if (cond->u.cond.to_wake > cond->u.cond.waiting)
        cond->u.cond.to_wake = cond->u.cond.waiting;
    while (lk->u.lk.count != 0) /* taken back whatever the outcome, as Python's */
        if (mproc__mgr_wait(c, -1) == MPROC_ECLOSED)
            return MPROC_ECLOSED;
    lk->u.lk.count = saved;
    lk->u.lk.who = who;
    lk->u.lk.owner_died = false;
    return rc;
}

int mproc__mgr_C_NOTIFY(op_ctx *c, int64_t n)
{
    sobj *cond = c->o, *lk = object_at(c->s, cond->u.cond.lock);
    if (n < 0)
        return MPROC_EPROTO;
    if (!lk || lk->u.lk.count == 0 || !same_owner(lk->u.lk.who, c->r->who))
        return MPROC_ESTATE;
    int64_t idle = cond->u.cond.waiting - cond->u.cond.to_wake, woken = n < idle ? n : idle;
    cond->u.cond.to_wake += woken;
    mpp_cond_broadcast(c->s->cv);
    return mproc_pack_i64(c->res, woken);
}

/* ---- barrier ----------------------------------------------------------------------------- */
int mproc__mgr_B_WAIT(op_ctx *c)
{
    sobj *b = c->o;
    if (b->u.bar.broken)
        return MPROC_EBROKEN;
    uint64_t gen = b->u.bar.generation, resets = b->u.bar.resets;
    int64_t index = b->u.bar.count++;
    if (b->u.bar.count == b->u.bar.parties) {
        b->u.bar.count = 0;
        b->u.bar.generation++;
        mpp_cond_broadcast(c->s->cv);
        return mproc_pack_i64(c->res, index);
    }
    for (;;) {
        if (b->u.bar.resets != resets)
            return MPROC_EBROKEN;
        if (b->u.bar.generation != gen)
            return mproc_pack_i64(c->res, index);
        if (b->u.bar.broken) {
            b->u.bar.count--;
            return MPROC_EBROKEN;
        }
        int rc = mproc__mgr_wait(c, c->deadline);
        if (rc) {
            b->u.bar.count--;
            b->u.bar.broken = true;
            mpp_cond_broadcast(c->s->cv);
            return rc;
        }
    }
}

int mproc__mgr_B_ABORT(op_ctx *c)
{
    c->o->u.bar.broken = true;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_B_RESET(op_ctx *c)
{
    sobj *b = c->o;
    b->u.bar.resets++;
    b->u.bar.count = 0;
    b->u.bar.broken = false;
    mpp_cond_broadcast(c->s->cv);
    return 0;
}

int mproc__mgr_B_INFO(op_ctx *c)
{
    sobj *b = c->o;
    int rc = mproc_pack_i64(c->res, b->u.bar.parties);
    rc = rc ? rc : mproc_pack_i64(c->res, b->u.bar.count);
    return rc ? rc : mproc_pack_i64(c->res, b->u.bar.broken);
}
