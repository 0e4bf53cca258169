/* The bodies of the data ops (ops.def): dict and namespace (a namespace is a dict whose keys
 * are the packs of one name), list, value and array. dispatch.c has read their arguments;
 * each writes its results to c->res. */
#include "manager/private.h"

/* ---- packs of packs ---------------------------------------------------------------------- *
 * Keys, values and items are stored as the clients' packs' bytes. keys, items and slices
 * answer with one pack of them, each a nested pack (mproc/pack.h's layout: a PACK tag, a
 * u64 length, the nested pack's bytes), built here and sent as one BYTES field. */
enum { NESTED_HEAD = MPROC__TAG_SIZE + MPROC__LEN_SIZE };

static int put_nested_head(mproc__buf *b, size_t len)
{
    uint8_t head[NESTED_HEAD];
    head[0] = MPROC_FIELD_PACK;
    mproc__put_u64le(head + MPROC__TAG_SIZE, (uint64_t)len);
    return mproc__buf_append(b, head, sizeof head);
}

static int put_nested(mproc__buf *b, const void *data, size_t len)
{
    int rc = put_nested_head(b, len);
    return rc ? rc : mproc__buf_append(b, data, len);
}

/* Answers with the pack built in b (unless building it failed) and frees b. */
static int answer_pack(op_ctx *c, mproc__buf *b, int rc)
{
    rc = rc ? rc : mproc_pack_bytes(c->res, b->data, b->len);
    mproc__buf_free(b);
    return rc;
}

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

/* The keys in order, each a nested pack; or the items, each a nested pack of two (the key
 * and the value). */
static int pack_entries(op_ctx *c, bool with_values)
{
    dict *d = &c->o->u.d;
    mproc__buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < d->n && !rc; i++) {
        const entry *en = &d->entries[i];
        if (!en->live)
            continue;
        if (with_values)
            rc = put_nested_head(&b, 2 * NESTED_HEAD + en->klen + en->val.len);
        rc = rc ? rc : put_nested(&b, en->key, en->klen);
        if (!rc && with_values)
            rc = put_nested(&b, en->val.data, en->val.len);
    }
    return answer_pack(c, &b, rc);
}

int mproc__mgr_D_KEYS(op_ctx *c)
{
    return pack_entries(c, false);
}

int mproc__mgr_D_ITEMS(op_ctx *c)
{
    return pack_entries(c, true);
}

/* One field of update's pack: a nested pack of two nested packs, the key and the value. */
static int read_pair(mproc_unpacker *pairs, blob *key, blob *val)
{
    mproc_unpacker pair, k, v;
    if (mproc_unpack_pack(pairs, &pair) || mproc_unpack_pack(&pair, &k) ||
        mproc_unpack_pack(&pair, &v) || mproc_unpack_peek(&pair) != 0)
        return MPROC_ETYPE;
    if (mproc_unpack_remaining(&k) < 0 || mproc_unpack_remaining(&v) < 0)
        return MPROC_EPROTO;
    *key = (blob){k.data, k.len};
    *val = (blob){v.data, v.len};
    return 0;
}

int mproc__mgr_D_UPDATE(op_ctx *c, mproc_unpacker *pairs)
{
    /* Every pair is checked first: a bad one changes nothing. */
    mproc_unpacker all = *pairs;
    blob key, val;
    int rc = 0;
    while (!rc && mproc_unpack_peek(&all) > 0)
        rc = read_pair(&all, &key, &val);
    if (rc || mproc_unpack_peek(&all) < 0)
        return rc ? rc : MPROC_EPROTO;
    while (!rc && mproc_unpack_peek(pairs) > 0)
        if ((rc = read_pair(pairs, &key, &val)) == 0)
            rc = mproc__mgr_dict_put(&c->o->u.d, key.data, key.len, val.data, val.len);
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

/* add_i64's values: the pack of one I64 (a tag and 8 bytes). */
enum { I64_VALUE_LEN = MPROC__TAG_SIZE + MPROC__NUM_SIZE };

static bool i64_of(const mproc_bytes *val, int64_t *v)
{
    mproc_unpacker u;
    return !mproc_unpack_init(&u, val) && mproc_unpack_peek(&u) == MPROC_FIELD_I64 &&
           !mproc_unpack_i64(&u, v) && mproc_unpack_peek(&u) == 0;
}

int mproc__mgr_D_ADD(op_ctx *c, blob key, int64_t delta)
{
    dict *d = &c->o->u.d;
    int64_t now = 0;
    entry *en = mproc__mgr_dict_get(d, key.data, key.len);
    if (en && !i64_of(&en->val, &now))
        return MPROC_ETYPE;
    if ((delta > 0 && now > INT64_MAX - delta) || (delta < 0 && now < INT64_MIN - delta))
        return MPROC_ETOOBIG;
    uint8_t v[I64_VALUE_LEN];
    v[0] = MPROC_FIELD_I64;
    mproc__put_u64le(v + MPROC__TAG_SIZE, (uint64_t)(now + delta));
    int rc = en ? (memcpy(en->val.data, v, sizeof v), 0)
                : mproc__mgr_dict_put(d, key.data, key.len, v, sizeof v);
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

int mproc__mgr_L_APPEND(op_ctx *c, blob item)
{
    sobj *o = c->o;
    size_t n = o->u.l.n;
    int rc = list_grow(o, 1);
    if (rc || (rc = mproc_bytes_copy(&o->u.l.items[n], item.data, item.len)) != 0)
        return rc;
    o->u.l.n++;
    return 0;
}

/* Each field of the pack becomes one item: the pack of that one field, which is the
 * field's own bytes. */
int mproc__mgr_L_EXTEND(op_ctx *c, mproc_unpacker *in)
{
    sobj *o = c->o;
    size_t n = o->u.l.n;
    int count = mproc_unpack_remaining(in); /* every field is whole */
    if (count < 0)
        return MPROC_EPROTO;
    int rc;
    if ((rc = list_grow(o, (size_t)count)) != 0)
        return rc;
    for (int k = 0; k < count; k++) { /* all or nothing */
        size_t at = in->pos;
        if ((rc = mproc_unpack_skip(in)) != 0 ||
            (rc = mproc_bytes_copy(&o->u.l.items[n + (size_t)k], in->data + at, in->pos - at)) !=
                0) {
            while (k-- > 0)
                mproc_bytes_free(&o->u.l.items[n + (size_t)k]);
            return rc == MPROC_ENOMEM ? rc : MPROC_EPROTO;
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

int mproc__mgr_L_SET(op_ctx *c, size_t i, blob item)
{
    mproc_bytes *items = c->o->u.l.items, copy;
    int rc = mproc_bytes_copy(&copy, item.data, item.len);
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
    mproc__buf b = {0};
    int rc = 0;
    for (int64_t k = i; k < j && !rc; k++)
        rc = put_nested(&b, items[k].data, items[k].len);
    return answer_pack(c, &b, rc);
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
