/* The server's objects: their store, the waits of their ops, and the ops on the server
 * itself (ops.def's SERVER_OP lines but BATCH, which dispatch.c runs). */
#include "manager/private.h"

static void sobj_free(sobj *o)
{
    if (!o)
        return;
    switch (o->kind) {
    case K_DICT:
    case K_NS: mproc__mgr_dict_free(&o->u.d); break;
    case K_LIST:
        for (size_t i = 0; i < o->u.l.n; i++)
            mproc_bytes_free(&o->u.l.items[i]);
        mproc_free(o->u.l.items);
        break;
    case K_QUEUE:
        for (size_t i = 0; i < o->u.q.n; i++)
            mproc_bytes_free(&o->u.q.items[(o->u.q.head + i) % o->u.q.cap]);
        mproc_free(o->u.q.items);
        break;
    case K_VALUE:
    case K_ARRAY: mproc_free(o->u.arr.data); break;
    default: break;
    }
    mproc_free(o);
}

void mproc__mgr_objects_free(server *s)
{
    for (size_t i = 0; i < s->nobjs; i++)
        sobj_free(s->objs[i]);
    mproc_free(s->objs);
    mproc__mgr_dict_free(&s->names);
}

/* Adds an object; its id (1-based) goes to *id. */
static int add_object(server *s, sobj *o, uint64_t *id)
{
    if (s->nobjs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sobj **objs = mproc_realloc(s->objs, cap * sizeof *objs);
        if (!objs)
            return MPROC_ENOMEM;
        s->objs = objs, s->cap = cap;
    }
    s->objs[s->nobjs++] = o;
    *id = s->nobjs;
    return 0;
}

int mproc__mgr_wait(const op_ctx *c, int64_t deadline)
{
    server *s = c->s;
    if (mproc__load(&s->stopping) || (c->r->conn && mpp_conn_peer_closed(c->r->conn)))
        return MPROC_ECLOSED;
    int64_t left = mproc__remaining(deadline);
    if (left == 0)
        return MPROC_ETIMEDOUT;
    mpp_cond_wait(s->cv, s->mu, left < 0 || left > POLL_MS ? POLL_MS : left);
    return 0;
}

/* ---- the ops on the server itself -------------------------------------------------------- */
/* kind, flags, a, b (doc/manager-protocol.md says what a and b are for each kind). */
int mproc__mgr_CREATE(op_ctx *c, int64_t kind, int64_t flags, int64_t a, int64_t b)
{
    server *s = c->s;
    if (kind < K_DICT || kind > K_ARRAY || flags < 0 || flags > 7)
        return MPROC_EINVAL;
    sobj *o = mproc_calloc(1, sizeof *o);
    if (!o)
        return MPROC_ENOMEM;
    o->kind = (uint32_t)kind;
    o->flags = (uint32_t)flags;
    int rc = 0;
    uint64_t id = 0;
    switch (kind) {
    case K_QUEUE: o->u.q.maxsize = a; break;
    case K_SEM:
        if (a < 0)
            rc = MPROC_EINVAL;
        o->u.sem.value = o->u.sem.bound = a;
        break;
    case K_BARRIER:
        if (a < 1 || a > INT32_MAX)
            rc = MPROC_EINVAL;
        o->u.bar.parties = a;
        break;
    case K_COND: {
        sobj *lk = a ? object_at(s, (uint64_t)a) : NULL;
        if (a && (!lk || lk->kind != K_LOCK)) {
            rc = a && lk ? MPROC_ETYPE : MPROC_EINVAL;
            break;
        }
        if (!a) { /* its own RLock */
            sobj *own = mproc_calloc(1, sizeof *own);
            if (!own || (rc = add_object(s, own, &id)) != 0) {
                mproc_free(own);
                rc = rc ? rc : MPROC_ENOMEM;
                break;
            }
            own->kind = K_LOCK;
            own->flags = F_RECURSIVE;
            a = (int64_t)id;
        }
        o->u.cond.lock = (uint64_t)a;
        break;
    }
    case K_VALUE:
    case K_ARRAY: {
        size_t elem = mproc_type_size((mproc_type)a);
        if (!elem || b < 1 || (uint64_t)b > s->max_message / elem) {
            rc = elem ? MPROC_ETOOBIG : MPROC_EINVAL;
            if (b < 1 && elem)
                rc = MPROC_EINVAL;
            break;
        }
        o->u.arr.type = (uint32_t)a;
        o->u.arr.elem = elem;
        o->u.arr.n = (size_t)b;
        if (!(o->u.arr.data = mproc_calloc((size_t)b, elem)))
            rc = MPROC_ENOMEM;
        break;
    }
    default: break;
    }
    rc = rc ? rc : add_object(s, o, &id);
    if (rc) {
        sobj_free(o);
        return rc;
    }
    return mproc_pack_i64(c->res, (int64_t)id);
}

int mproc__mgr_REGISTER(op_ctx *c, blob name, int64_t id)
{
    server *s = c->s;
    entry *en = mproc__mgr_dict_get(&s->names, name.data, name.len);
    if (!object_at(s, (uint64_t)id))
        return MPROC_ENOENT;
    uint8_t le[8];
    mproc__put_u64le(le, (uint64_t)id);
    return en ? MPROC_EEXIST : mproc__mgr_dict_put(&s->names, name.data, name.len, le, 8);
}

int mproc__mgr_LOOKUP(op_ctx *c, blob name)
{
    server *s = c->s;
    entry *en = mproc__mgr_dict_get(&s->names, name.data, name.len);
    if (!en)
        return MPROC_ENOENT;
    sobj *o = object_at(s, mproc__get_u64le(en->val.data));
    int rc = mproc_pack_i64(c->res, (int64_t)mproc__get_u64le(en->val.data));
    rc = rc ? rc : mproc_pack_i64(c->res, o->kind);
    return rc ? rc : mproc_pack_i64(c->res, o->flags);
}

int mproc__mgr_SHUTDOWN(op_ctx *c)
{
    mproc__store(&c->s->stopping, true);
    mpp_cond_broadcast(c->s->cv);
    return 0;
}
