/* The bodies of the data ops (ops.def): dict and namespace (a namespace is a dict of names),
 * list, value and array. dispatch.c has read their arguments; each writes its results to
 * c->res. */
#include "manager/private.h"

/* ---- dict and namespace ------------------------------------------------------------------ */
int mproc__mgr_D_SET(op_ctx *c, blob key, blob val)
{
    return mproc__mgr_dict_put(&c->o->u.d, key.data, key.len, val.data, val.len);
}

int mproc__mgr_D_GET(op_ctx *c, blob key)
{
    entry *en = mproc__mgr_dict_get(&c->o->u.d, key.data, key.len);
    return en ? mproc_pack_bytes(c->res, en->val.data, en->val.len) : MPROC_ENOENT;
}

int mproc__mgr_D_DEL(op_ctx *c, blob key)
{
    return mproc__mgr_dict_del(&c->o->u.d, key.data, key.len, NULL) ? 0 : MPROC_ENOENT;
}

int mproc__mgr_D_CONTAINS(op_ctx *c, blob key)
{
    return mproc_pack_i64(c->res, mproc__mgr_dict_get(&c->o->u.d, key.data, key.len) != NULL);
}

int mproc__mgr_D_LEN(op_ctx *c)
{
    return mproc_pack_i64(c->res, (int64_t)c->o->u.d.live);
}

/* The keys (and values) in order, as one nested pack. */
static int pack_entries(op_ctx *c, bool with_values)
{
    dict *d = &c->o->u.d;
    mproc_pack *list;
    if (mproc_pack_create(&list))
        return MPROC_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < d->n && !rc; i++) {
        if (!d->entries[i].live)
            continue;
        rc = mproc_pack_bytes(list, d->entries[i].key, d->entries[i].klen);
        if (!rc && with_values)
            rc = mproc_pack_bytes(list, d->entries[i].val.data, d->entries[i].val.len);
    }
    rc = rc ? rc : mproc_pack_pack(c->res, list);
    mproc_pack_destroy(list);
    return rc;
}

int mproc__mgr_D_KEYS(op_ctx *c)
{
    return pack_entries(c, false);
}

int mproc__mgr_D_ITEMS(op_ctx *c)
{
    return pack_entries(c, true);
}

int mproc__mgr_D_UPDATE(op_ctx *c, mproc_unpacker *items)
{
    int n = mproc_unpack_remaining(items);
    if (n < 0 || n % 2)
        return MPROC_EINVAL;
    int rc = 0;
    while (!rc && mproc_unpack_peek(items) > 0) {
        blob key, val;
        if (take_blob(items, &key) || take_blob(items, &val))
            return MPROC_ETYPE;
        rc = mproc__mgr_dict_put(&c->o->u.d, key.data, key.len, val.data, val.len);
    }
    return rc;
}

int mproc__mgr_D_CLEAR(op_ctx *c)
{
    mproc__mgr_dict_free(&c->o->u.d);
    return 0;
}

int mproc__mgr_D_SETDEFAULT(op_ctx *c, blob key, blob def)
{
    dict *d = &c->o->u.d;
    entry *en = mproc__mgr_dict_get(d, key.data, key.len);
    if (!en) {
        int rc = mproc__mgr_dict_put(d, key.data, key.len, def.data, def.len);
        if (rc)
            return rc;
        en = mproc__mgr_dict_get(d, key.data, key.len);
    }
    return mproc_pack_bytes(c->res, en->val.data, en->val.len);
}

int mproc__mgr_D_POP(op_ctx *c, blob key)
{
    mproc_bytes v;
    if (!mproc__mgr_dict_del(&c->o->u.d, key.data, key.len, &v))
        return MPROC_ENOENT;
    int rc = mproc_pack_bytes(c->res, v.data, v.len);
    mproc_bytes_free(&v);
    return rc;
}

int mproc__mgr_D_ADD(op_ctx *c, blob key, int64_t delta)
{
    dict *d = &c->o->u.d;
    int64_t now = 0;
    entry *en = mproc__mgr_dict_get(d, key.data, key.len);
    if (en) {
        if (en->val.len != 8)
            return MPROC_ETYPE;
        now = (int64_t)mproc__get_u64le(en->val.data);
    }
    if ((delta > 0 && now > INT64_MAX - delta) || (delta < 0 && now < INT64_MIN - delta))
        return MPROC_ETOOBIG;
    uint8_t le[8];
    mproc__put_u64le(le, (uint64_t)(now + delta));
    int rc =
        en ? (memcpy(en->val.data, le, 8), 0) : mproc__mgr_dict_put(d, key.data, key.len, le, 8);
    return rc ? rc : mproc_pack_i64(c->res, now + delta);
}

int mproc__mgr_D_CAS(op_ctx *c, blob key, int64_t absent, blob exp, blob val)
{
    dict *d = &c->o->u.d;
    entry *en = mproc__mgr_dict_get(d, key.data, key.len);
    bool match =
        absent ? !en : en && en->val.len == exp.len && !memcmp(en->val.data, exp.data, exp.len);
    int rc;
    if (match && (rc = mproc__mgr_dict_put(d, key.data, key.len, val.data, val.len)) != 0)
        return rc;
    return mproc_pack_i64(c->res, match);
}

/* ---- list -------------------------------------------------------------------------------- */
static int list_grow(sobj *o, size_t extra)
{
    if (o->u.l.n + extra <= o->u.l.cap)
        return 0;
    size_t cap = o->u.l.cap ? o->u.l.cap : 8;
    while (cap < o->u.l.n + extra)
        cap *= 2;
    mproc_bytes *items = mproc_realloc(o->u.l.items, cap * sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    o->u.l.items = items, o->u.l.cap = cap;
    return 0;
}

int mproc__mgr_L_APPEND(op_ctx *c, blob data)
{
    sobj *o = c->o;
    size_t n = o->u.l.n;
    int rc = list_grow(o, 1);
    if (rc || (rc = mproc_bytes_copy(&o->u.l.items[n], data.data, data.len)) != 0)
        return rc;
    o->u.l.n++;
    return 0;
}

int mproc__mgr_L_EXTEND(op_ctx *c, mproc_unpacker *in)
{
    sobj *o = c->o;
    size_t n = o->u.l.n;
    int count = mproc_unpack_remaining(in);
    if (count < 0)
        return MPROC_EINVAL;
    int rc;
    if ((rc = list_grow(o, (size_t)count)) != 0)
        return rc;
    for (int k = 0; k < count; k++) { /* all or nothing */
        blob data;
        if ((rc = take_blob(in, &data)) != 0 ||
            (rc = mproc_bytes_copy(&o->u.l.items[n + (size_t)k], data.data, data.len)) != 0) {
            while (k-- > 0)
                mproc_bytes_free(&o->u.l.items[n + (size_t)k]);
            return rc == MPROC_ENOMEM ? rc : MPROC_ETYPE;
        }
    }
    o->u.l.n += (size_t)count;
    return 0;
}

int mproc__mgr_L_GET(op_ctx *c, size_t i)
{
    mproc_bytes *items = c->o->u.l.items;
    return mproc_pack_bytes(c->res, items[i].data, items[i].len);
}

int mproc__mgr_L_SET(op_ctx *c, size_t i, blob data)
{
    mproc_bytes *items = c->o->u.l.items, copy;
    int rc = mproc_bytes_copy(&copy, data.data, data.len);
    if (rc)
        return rc;
    mproc_bytes_free(&items[i]);
    items[i] = copy;
    return 0;
}

int mproc__mgr_L_POP(op_ctx *c, size_t i)
{
    mproc_bytes *items = c->o->u.l.items;
    size_t n = c->o->u.l.n;
    int rc = mproc_pack_bytes(c->res, items[i].data, items[i].len);
    if (rc)
        return rc;
    mproc_bytes_free(&items[i]);
    memmove(&items[i], &items[i + 1], (n - i - 1) * sizeof *items);
    c->o->u.l.n--;
    return 0;
}

int mproc__mgr_L_LEN(op_ctx *c)
{
    return mproc_pack_i64(c->res, (int64_t)c->o->u.l.n);
}

int mproc__mgr_L_REVERSE(op_ctx *c)
{
    mproc_bytes *items = c->o->u.l.items;
    size_t n = c->o->u.l.n;
    for (size_t k = 0; k < n / 2; k++) {
        mproc_bytes t = items[k];
        items[k] = items[n - 1 - k];
        items[n - 1 - k] = t;
    }
    return 0;
}

int mproc__mgr_L_SLICE(op_ctx *c, int64_t i, int64_t j)
{
    mproc_bytes *items = c->o->u.l.items;
    int64_t n = (int64_t)c->o->u.l.n;
    /* Python's rules: negative from the end, then clamped to [0, n]. */
    i = i < 0 ? (i + n < 0 ? 0 : i + n) : (i > n ? n : i);
    j = j < 0 ? (j + n < 0 ? 0 : j + n) : (j > n ? n : j);
    mproc_pack *out;
    if (mproc_pack_create(&out))
        return MPROC_ENOMEM;
    int rc = 0;
    for (int64_t k = i; k < j && !rc; k++)
        rc = mproc_pack_bytes(out, items[k].data, items[k].len);
    rc = rc ? rc : mproc_pack_pack(c->res, out);
    mproc_pack_destroy(out);
    return rc;
}

/* ---- value and array (a Value is an array of one) ---------------------------------------- */
int mproc__mgr_V_GET_I64(op_ctx *c, uint8_t *p)
{
    int64_t i = 0;
    int rc = mproc__elem_get_i64(c->o->u.arr.type, p, &i);
    return rc ? rc : mproc_pack_i64(c->res, i);
}

int mproc__mgr_V_GET_F64(op_ctx *c, uint8_t *p)
{
    double f = 0;
    mproc__elem_get_f64(c->o->u.arr.type, p, &f);
    return mproc_pack_f64(c->res, f);
}

int mproc__mgr_V_SET_I64(op_ctx *c, uint8_t *p, int64_t i)
{
    return mproc__elem_set_i64(c->o->u.arr.type, p, i);
}

int mproc__mgr_V_SET_F64(op_ctx *c, uint8_t *p, double f)
{
    return mproc__elem_set_f64(c->o->u.arr.type, p, f);
}

int mproc__mgr_V_ADD(op_ctx *c, uint8_t *p, int64_t delta)
{
    int64_t now = 0;
    int rc = mproc__elem_add_i64(c->o->u.arr.type, p, delta, &now);
    return rc ? rc : mproc_pack_i64(c->res, now);
}

int mproc__mgr_V_CAS(op_ctx *c, uint8_t *p, int64_t expected, int64_t desired)
{
    uint32_t type = c->o->u.arr.type;
    int64_t now;
    int rc = mproc__elem_get_i64(type, p, &now);
    if (rc)
        return rc;
    if (now == expected && (rc = mproc__elem_set_i64(type, p, desired)) != 0)
        return rc;
    return mproc_pack_i64(c->res, now == expected);
}

int mproc__mgr_V_LEN(op_ctx *c)
{
    return mproc_pack_i64(c->res, (int64_t)c->o->u.arr.n);
}
