/* Running one request on the server, from the op's line in ops.def: the object it names
 * must be of one of the op's kinds, its arguments are read as the op's WIRE says (the
 * run_… readers below, one per shape), then the op's body runs and writes its results. */
#include "manager/private.h"

/* The object the request names, if the op applies to its kind (the server itself for the
 * server's own ops: the object id is not looked at). */
static int enter(op_ctx *c, uint32_t kinds)
{
    if (kinds == KS_MANAGER) /* the server's own ops name id 0 and nothing else */
        return c->r->id == 0 ? 0 : object_at(c->s, c->r->id) ? MPROC_ETYPE : MPROC_ENOENT;
    c->o = object_at(c->s, c->r->id);
    if (!c->o)
        return MPROC_ENOENT;
    return (kinds & (1u << c->o->kind)) ? 0 : MPROC_ETYPE;
}

/* A list's index, negative from the end as in Python: MPROC_ENOENT when out of range. */
static int read_item(op_ctx *c, size_t *i)
{
    int64_t v;
    if (mproc_unpack_i64(&c->r->args, &v))
        return MPROC_EPROTO;
    size_t n = c->o->u.l.n;
    v = v < 0 ? v + (int64_t)n : v;
    if (v < 0 || (uint64_t)v >= n)
        return MPROC_ENOENT;
    *i = (size_t)v;
    return 0;
}

/* An element of a value or an array: MPROC_EINVAL when out of range. */
static int read_elem(op_ctx *c, uint8_t **p)
{
    int64_t index;
    if (mproc_unpack_i64(&c->r->args, &index))
        return MPROC_EPROTO;
    if (index < 0 || (uint64_t)index >= c->o->u.arr.n)
        return MPROC_EINVAL;
    *p = c->o->u.arr.data + (size_t)index * c->o->u.arr.elem;
    return 0;
}

/* ---- the readers: the arguments of each WIRE shape, in order; a field missing or of
 * another type is MPROC_EPROTO. ---------------------------------------------------------------- */
static int run_NONE(op_ctx *c, int (*body)(op_ctx *WIRE_NONE))
{
    return body(c);
}

static int run_BLOB(op_ctx *c, int (*body)(op_ctx *WIRE_BLOB))
{
    blob a;
    return take_blob(&c->r->args, &a) ? MPROC_EPROTO : body(c, a);
}

static int run_VAL(op_ctx *c, int (*body)(op_ctx *WIRE_VAL))
{
    blob a;
    return take_val(&c->r->args, &a) ? MPROC_EPROTO : body(c, a);
}

static int run_VAL_VAL(op_ctx *c, int (*body)(op_ctx *WIRE_VAL_VAL))
{
    mproc_unpacker *u = &c->r->args;
    blob a, b;
    return take_val(u, &a) || take_val(u, &b) ? MPROC_EPROTO : body(c, a, b);
}

static int run_VAL_I64(op_ctx *c, int (*body)(op_ctx *WIRE_VAL_I64))
{
    mproc_unpacker *u = &c->r->args;
    blob a;
    int64_t n;
    return take_val(u, &a) || mproc_unpack_i64(u, &n) ? MPROC_EPROTO : body(c, a, n);
}

static int run_VAL_CAS(op_ctx *c, int (*body)(op_ctx *WIRE_VAL_CAS))
{
    mproc_unpacker *u = &c->r->args;
    blob key, expected, desired;
    int64_t absent;
    if (take_val(u, &key) || mproc_unpack_i64(u, &absent) || take_val(u, &expected) ||
        take_val(u, &desired))
        return MPROC_EPROTO;
    return body(c, key, absent, expected, desired);
}

static int run_PACK(op_ctx *c, int (*body)(op_ctx *WIRE_PACK))
{
    mproc_unpacker in;
    return mproc_unpack_pack(&c->r->args, &in) ? MPROC_EPROTO : body(c, &in);
}

static int run_ITEM(op_ctx *c, int (*body)(op_ctx *WIRE_ITEM))
{
    size_t i;
    int rc = read_item(c, &i);
    return rc ? rc : body(c, i);
}

static int run_ITEM_VAL(op_ctx *c, int (*body)(op_ctx *WIRE_ITEM_VAL))
{
    size_t i;
    blob a;
    int rc = read_item(c, &i);
    if (rc)
        return rc;
    return take_val(&c->r->args, &a) ? MPROC_EPROTO : body(c, i, a);
}

static int run_I64(op_ctx *c, int (*body)(op_ctx *WIRE_I64))
{
    int64_t a;
    return mproc_unpack_i64(&c->r->args, &a) ? MPROC_EPROTO : body(c, a);
}

static int run_I64_I64(op_ctx *c, int (*body)(op_ctx *WIRE_I64_I64))
{
    mproc_unpacker *u = &c->r->args;
    int64_t a, b;
    return mproc_unpack_i64(u, &a) || mproc_unpack_i64(u, &b) ? MPROC_EPROTO : body(c, a, b);
}

static int run_I64X4(op_ctx *c, int (*body)(op_ctx *WIRE_I64X4))
{
    mproc_unpacker *u = &c->r->args;
    int64_t a, b, d, e;
    if (mproc_unpack_i64(u, &a) || mproc_unpack_i64(u, &b) || mproc_unpack_i64(u, &d) ||
        mproc_unpack_i64(u, &e))
        return MPROC_EPROTO;
    return body(c, a, b, d, e);
}

static int run_ELEM(op_ctx *c, int (*body)(op_ctx *WIRE_ELEM))
{
    uint8_t *p;
    int rc = read_elem(c, &p);
    return rc ? rc : body(c, p);
}

static int run_ELEM_I64(op_ctx *c, int (*body)(op_ctx *WIRE_ELEM_I64))
{
    uint8_t *p;
    int64_t a;
    int rc = read_elem(c, &p);
    if (rc)
        return rc;
    return mproc_unpack_i64(&c->r->args, &a) ? MPROC_EPROTO : body(c, p, a);
}

static int run_ELEM_F64(op_ctx *c, int (*body)(op_ctx *WIRE_ELEM_F64))
{
    uint8_t *p;
    double f;
    int rc = read_elem(c, &p);
    if (rc)
        return rc;
    return mproc_unpack_f64(&c->r->args, &f) ? MPROC_EPROTO : body(c, p, f);
}

static int run_ELEM_CAS(op_ctx *c, int (*body)(op_ctx *WIRE_ELEM_CAS))
{
    mproc_unpacker *u = &c->r->args;
    uint8_t *p;
    int64_t expected, desired;
    int rc = read_elem(c, &p);
    if (rc)
        return rc;
    if (mproc_unpack_i64(u, &expected) || mproc_unpack_i64(u, &desired))
        return MPROC_EPROTO;
    return body(c, p, expected, desired);
}

static int run_STR(op_ctx *c, int (*body)(op_ctx *WIRE_STR))
{
    const char *s;
    size_t len;
    return mproc_unpack_strn(&c->r->args, &s, &len) ? MPROC_EPROTO : body(c, (blob){s, len});
}

static int run_STR_I64(op_ctx *c, int (*body)(op_ctx *WIRE_STR_I64))
{
    mproc_unpacker *u = &c->r->args;
    const char *s;
    size_t len;
    int64_t n;
    if (mproc_unpack_strn(u, &s, &len) || mproc_unpack_i64(u, &n))
        return MPROC_EPROTO;
    return body(c, (blob){s, len}, n);
}

static int run_REST(op_ctx *c, int (*body)(op_ctx *WIRE_REST))
{
    return body(c, &c->r->args);
}

/* ---- running requests -------------------------------------------------------------------- */
int mproc__mgr_run_request(server *s, request *r, mproc_pack *res)
{
    op_ctx c = {s, NULL, r, mproc__deadline(r->timeout), res};
    int rc;
    switch (r->op) {
#define SERVER_OP(NAME, CODE, KINDS, WIRE)                                                         \
    case OP_##NAME:                                                                                \
        rc = enter(&c, KS_##KINDS);                                                                \
        return rc ? rc : run_##WIRE(&c, mproc__mgr_##NAME);
#define OP(NAME, CODE, KINDS, WIRE, ...) SERVER_OP(NAME, CODE, KINDS, WIRE)
#include "manager/ops.def"
    default: /* an op that no kind has: MPROC_ETYPE on any object */
        return object_at(s, r->id) ? MPROC_ETYPE : MPROC_ENOENT;
    }
}

/* A batch: each field is a nested request pack; each answer a nested response pack. */
int mproc__mgr_BATCH(op_ctx *c, mproc_unpacker *calls)
{
    mproc_pack *one;
    if (mproc_pack_create(&one))
        return MPROC_ENOMEM;
    int rc = 0;
    while (!rc && mproc_unpack_peek(calls) > 0) {
        request sub = {.who = c->r->who, .conn = c->r->conn};
        mproc_unpacker in;
        if (mproc_unpack_pack(calls, &in) || mproc_unpack_i64(&in, (int64_t *)&sub.id) ||
            mproc_unpack_i64(&in, &sub.op) || mproc_unpack_i64(&in, &sub.timeout) ||
            mproc_unpack_i64(&in, (int64_t *)&sub.who.thread) || sub.op == OP_BATCH ||
            sub.op == OP_SHUTDOWN) {
            rc = MPROC_EPROTO;
            break;
        }
        sub.args = in;
        mproc_pack_reset(one);
        mproc_pack_i64(one, 0);
        int code = mproc__mgr_run_request(c->s, &sub, one);
        if (code) {
            mproc_pack_reset(one);
            mproc_pack_i64(one, code);
        }
        rc = mproc_pack_pack(c->res, one);
    }
    mproc_pack_destroy(one);
    return rc;
}
