/* Proxies: making and closing them, carrying them in packs, and the public functions of
 * every kind, generated from ops.def. */
#include "manager/private.h"

/* ---- proxies ----------------------------------------------------------------------------- */
/* PROXY field body: u32 kind, u32 flags, u64 id, u32 address length, address,
 * u32 key length, key. */
static int pack_proxy(mproc_pack *pk, const mproc__object *x)
{
    proxy *p = proxy_of(x, 0);
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    link *l = p->link;
    size_t alen = strlen(l->address), len = 4 + 4 + 8 + 4 + alen + 4 + l->key_len;
    uint8_t *body = mproc_malloc(len);
    if (!body)
        return mproc__fail(MPROC_ENOMEM);
    mproc__put_u32le(body, p->kind);
    mproc__put_u32le(body + 4, p->flags);
    mproc__put_u64le(body + 8, p->id);
    mproc__put_u32le(body + 16, (uint32_t)alen);
    memcpy(body + 20, l->address, alen);
    mproc__put_u32le(body + 20 + alen, (uint32_t)l->key_len);
    memcpy(body + 24 + alen, l->key, l->key_len);
    int rc = mproc__pack_proxy(pk, body, len);
    memset(body, 0, len);
    mproc_free(body);
    return rc;
}

static const mproc__object_ops proxy_ops = {pack_proxy};

int mproc__mgr_proxy_new(link *l, uint32_t kind, uint32_t flags, uint64_t id, void **out)
{
    proxy *p = mproc_calloc(1, sizeof *p);
    if (!p)
        return MPROC_ENOMEM;
    mproc__mgr_link_ref(l);
    *p =
        (proxy){{MPROC__OBJ_MAGIC, MPROC__KIND_PROXY, &proxy_ops}, PROXY_MAGIC, kind, flags, id, l};
    *out = p;
    return 0;
}

void mproc_proxy_destroy(void *x)
{
    proxy *p = proxy_of(x, 0);
    if (!p)
        return;
    p->magic = p->head.magic = 0;
    mproc__mgr_link_put(p->link);
    mproc_free(p);
}

static int unpack_proxy(mproc_unpacker *u, uint32_t kind, void **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc_unpacker saved = u ? *u : (mproc_unpacker){0};
    const uint8_t *b;
    size_t len;
    int rc = mproc__unpack_proxy(u, (const void **)&b, &len);
    if (rc)
        return rc;
    size_t alen = len >= 24 ? mproc__get_u32le(b + 16) : 0;
    if (len < 24 || alen > len - 24 || alen > 1024 ||
        mproc__get_u32le(b + 20 + alen) != len - 24 - alen) {
        *u = saved;
        return mproc__fail(MPROC_EPROTO);
    }
    if (mproc__get_u32le(b) != kind) {
        *u = saved;
        return mproc__fail(MPROC_ETYPE);
    }
    char address[1025];
    memcpy(address, b + 20, alen);
    address[alen] = 0;
    link *l;
    rc = mproc__mgr_link_get(address, b + 24 + alen, len - 24 - alen, &l);
    rc = rc ? rc
            : mproc__mgr_proxy_new(l, kind, mproc__get_u32le(b + 4), mproc__get_u64le(b + 8), out);
    if (!rc)
        mproc__mgr_link_put(l); /* the proxy holds its own reference */
    return rc ? mproc__fail(rc) : 0;
}

/* mproc_unpack_mdict and the others. */
#define KIND(NAME, CODE, TYPE, LOOKUP)                                                             \
    int mproc_unpack_##TYPE(mproc_unpacker *u, mproc_##TYPE **out)                                 \
    {                                                                                              \
        return unpack_proxy(u, K_##NAME, (void **)out);                                            \
    }
#include "manager/ops.def"

/* ---- the public functions of every kind --------------------------------------------------------
 * int mproc_TYPE_METHOD(mproc_TYPE *x, ARGS..., timeout, OUT): for each line of ops.def, the
 * same body: check the parameters, begin the call, pack the arguments, end the call (send
 * it, or queue it in the thread's batch). What differs is said by the three shapes. */

/* A pack given as a key, a value, an item or a message travels as its encoded bytes, one
 * BYTES field (NULL: the empty pack, which an absent cas expectation sends). A pack holding
 * OS handles (a lock, a queue, a pipe end, ...) cannot travel: MPROC_ENOTSUP, before
 * anything is sent. Proxies can: they are an address and an id. */
static int put_value(mproc_pack *pk, const mproc_pack *value)
{
    mproc__packed v;
    int rc = mproc__pack_open_plain(value, &v);
    if (rc)
        return rc;
    rc = mproc_pack_bytes(pk, v.bytes.data, v.bytes.len);
    mproc__pack_close(&v);
    return rc;
}

/* A pack of items (extend) or of pairs (update): one nested pack, handles refused too. */
static int put_items(mproc_pack *pk, const mproc_pack *items)
{
    mproc__packed v;
    int rc = mproc__pack_open_plain(items, &v);
    if (rc)
        return rc;
    rc = mproc_pack_pack(pk, v.tmp ? v.tmp : items);
    mproc__pack_close(&v);
    return rc;
}

/* ARGS: the parameters after the proxy (ARGS_PARAMS), when they are invalid (ARGS_BAD:
 * MPROC_EINVAL) and how they are packed as the op's arguments (ARGS_PACK, PUT by PUT). */
#define PUT(type, ...) rc = rc ? rc : mproc_pack_##type(c.pk, __VA_ARGS__);
#define PUT_VALUE(v) rc = rc ? rc : put_value(c.pk, (v));
/* A namespace's field name is the key (name,): the pack of one STR. */
#define PUT_NAME(name) PUT_VALUE(MPROC_ARGS(name))

#define ARGS_PARAMS_NONE
#define ARGS_BAD_NONE 0
#define ARGS_PACK_NONE

#define ARGS_PARAMS_KEY , const mproc_pack *key
#define ARGS_BAD_KEY (!key)
#define ARGS_PACK_KEY PUT_VALUE(key)

#define ARGS_PARAMS_KEY_VAL , const mproc_pack *key, const mproc_pack *value
#define ARGS_BAD_KEY_VAL (!key || !value)
#define ARGS_PACK_KEY_VAL PUT_VALUE(key) PUT_VALUE(value)

#define ARGS_PARAMS_KEY_I64 , const mproc_pack *key, int64_t delta
#define ARGS_BAD_KEY_I64 (!key)
#define ARGS_PACK_KEY_I64 PUT_VALUE(key) PUT(i64, delta)

/* Compare-and-set: expected NULL asks for the key to be absent. */
#define ARGS_PARAMS_KEY_CAS                                                                        \
    , const mproc_pack *key, const mproc_pack *expected, const mproc_pack *desired
#define ARGS_BAD_KEY_CAS (!key || !desired)
#define ARGS_PACK_KEY_CAS                                                                          \
    PUT_VALUE(key) PUT(i64, expected == NULL) PUT_VALUE(expected) PUT_VALUE(desired)

#define ARGS_PARAMS_NAME , const char *name
#define ARGS_BAD_NAME (!name)
#define ARGS_PACK_NAME PUT_NAME(name)

#define ARGS_PARAMS_NAME_VAL , const char *name, const mproc_pack *value
#define ARGS_BAD_NAME_VAL (!name || !value)
#define ARGS_PACK_NAME_VAL PUT_NAME(name) PUT_VALUE(value)

/* A list's item, a queue's message given as a pack. */
#define ARGS_PARAMS_VALUE , const mproc_pack *value
#define ARGS_BAD_VALUE (!value)
#define ARGS_PACK_VALUE PUT_VALUE(value)

/* A queue's message given as bytes. */
#define ARGS_PARAMS_BYTES , const void *data, size_t len
#define ARGS_BAD_BYTES (!data && len)
#define ARGS_PACK_BYTES PUT(bytes, data, len)

/* A pack's fields as one nested pack. */
#define ARGS_PARAMS_PACK , const mproc_pack *items
#define ARGS_BAD_PACK (!items)
#define ARGS_PACK_PACK rc = rc ? rc : put_items(c.pk, items);

#define ARGS_PARAMS_I64 , int64_t index
#define ARGS_BAD_I64 0
#define ARGS_PACK_I64 PUT(i64, index)

#define ARGS_PARAMS_I64_VALUE , int64_t index, const mproc_pack *value
#define ARGS_BAD_I64_VALUE (!value)
#define ARGS_PACK_I64_VALUE PUT(i64, index) PUT_VALUE(value)

#define ARGS_PARAMS_I64_I64 , int64_t start, int64_t stop
#define ARGS_BAD_I64_I64 0
#define ARGS_PACK_I64_I64 PUT(i64, start) PUT(i64, stop)

/* How many waiters to wake: n >= 0, or all of them. */
#define ARGS_PARAMS_N , int64_t n
#define ARGS_BAD_N (n < 0)
#define ARGS_PACK_N PUT(i64, n)

#define ARGS_PARAMS_ALL
#define ARGS_BAD_ALL 0
#define ARGS_PACK_ALL PUT(i64, INT64_MAX)

/* A Value's element is element 0; an array's is its index. */
#define ARGS_PARAMS_ELEM0
#define ARGS_BAD_ELEM0 0
#define ARGS_PACK_ELEM0 PUT(i64, 0)

#define ARGS_PARAMS_ELEM0_I64 , int64_t value
#define ARGS_BAD_ELEM0_I64 0
#define ARGS_PACK_ELEM0_I64 PUT(i64, 0) PUT(i64, value)

#define ARGS_PARAMS_ELEM0_F64 , double value
#define ARGS_BAD_ELEM0_F64 0
#define ARGS_PACK_ELEM0_F64 PUT(i64, 0) PUT(f64, value)

#define ARGS_PARAMS_ELEM0_CAS , int64_t expected, int64_t desired
#define ARGS_BAD_ELEM0_CAS 0
#define ARGS_PACK_ELEM0_CAS PUT(i64, 0) PUT(i64, expected) PUT(i64, desired)

/* An index the wire's int64 cannot carry; with a 32-bit size_t every index fits (and the
 * comparison would be one gcc's -Wtype-limits calls always false). */
#if SIZE_MAX > INT64_MAX
#define INDEX_TOO_BIG(i) ((i) > INT64_MAX)
#else
#define INDEX_TOO_BIG(i) 0
#endif

#define ARGS_PARAMS_ELEM , size_t index
#define ARGS_BAD_ELEM INDEX_TOO_BIG(index)
#define ARGS_PACK_ELEM PUT(i64, (int64_t)index)

#define ARGS_PARAMS_ELEM_I64 , size_t index, int64_t value
#define ARGS_BAD_ELEM_I64 INDEX_TOO_BIG(index)
#define ARGS_PACK_ELEM_I64 PUT(i64, (int64_t)index) PUT(i64, value)

#define ARGS_PARAMS_ELEM_F64 , size_t index, double value
#define ARGS_BAD_ELEM_F64 INDEX_TOO_BIG(index)
#define ARGS_PACK_ELEM_F64 PUT(i64, (int64_t)index) PUT(f64, value)

/* OUT: the output parameter (OUT_PARAM), an MPROC_E… code refusing the call before it is
 * made, else 0 (OUT_CHECK), and how the answer is read into it (OUT_RESULT: an out_kind
 * and where to). In a batch the output is filled by mproc_batch_end; the call's own result
 * (COUNT: the number the function returns) goes to its code there. */
#define OUT_PARAM_NONE
#define OUT_CHECK_NONE 0
#define OUT_RESULT_NONE OUT_NONE, NULL

/* A value's or a message's bytes, or a pack's (keys, items, a slice). */
#define OUT_PARAM_BYTES , mproc_bytes *out
#define OUT_CHECK_BYTES (!out ? MPROC_EINVAL : 0)
#define OUT_RESULT_BYTES OUT_BYTES, out

/* The value, if out is not NULL. */
#define OUT_PARAM_BYTES_OPT , mproc_bytes *out
#define OUT_CHECK_BYTES_OPT 0
#define OUT_RESULT_BYTES_OPT out ? OUT_BYTES : OUT_NONE, out

/* A flag (1 / 0) or a count, returned (MPROC_ETOOBIG above INT32_MAX). */
#define OUT_PARAM_COUNT
#define OUT_CHECK_COUNT 0
#define OUT_RESULT_COUNT OUT_COUNT, NULL

/* A number the object holds (a length, a size, a value). */
#define OUT_PARAM_I64 , int64_t *out
#define OUT_CHECK_I64 (!out ? MPROC_EINVAL : 0)
#define OUT_RESULT_I64 OUT_I64, out

/* The result, if out is not NULL. */
#define OUT_PARAM_I64_OPT , int64_t *out
#define OUT_CHECK_I64_OPT 0
#define OUT_RESULT_I64_OPT OUT_I64, out

#define OUT_PARAM_F64 , double *out
#define OUT_CHECK_F64 (!out ? MPROC_EINVAL : 0)
#define OUT_RESULT_F64 OUT_F64, out

/* A barrier's parties and n_waiting (an int64_t) and broken (returned); never in a batch
 * (MPROC_ESTATE). */
#define OUT_INFO_CHECK (mproc__mgr_in_batch() && proxy_of(x, K_BARRIER) ? MPROC_ESTATE : 0)
#define OUT_PARAM_INFO0 , int64_t *out
#define OUT_CHECK_INFO0 (!out ? MPROC_EINVAL : OUT_INFO_CHECK)
#define OUT_RESULT_INFO0 OUT_INFO0, out
#define OUT_PARAM_INFO1 , int64_t *out
#define OUT_CHECK_INFO1 (!out ? MPROC_EINVAL : OUT_INFO_CHECK)
#define OUT_RESULT_INFO1 OUT_INFO1, out
#define OUT_PARAM_INFO2
#define OUT_CHECK_INFO2 OUT_INFO_CHECK
#define OUT_RESULT_INFO2 OUT_INFO2, NULL

/* WAIT: the timeout parameter, after the inputs, and how the call sends it (ops.def says
 * why). */
#define WAIT_PARAM_NOWAIT
#define WAIT_SET_NOWAIT
#define WAIT_PARAM_SLICED , int64_t timeout_ms
#define WAIT_SET_SLICED c.timeout = timeout_ms, c.sliced = true;
#define WAIT_PARAM_WHOLE , int64_t timeout_ms
#define WAIT_SET_WHOLE c.timeout = timeout_ms;

#define FN(NAME, TYPE, METHOD, ARGS, OUT, WAIT)                                                    \
    int mproc_##TYPE##_##METHOD(                                                                   \
        mproc_##TYPE *x ARGS_PARAMS_##ARGS WAIT_PARAM_##WAIT OUT_PARAM_##OUT)                      \
    {                                                                                              \
        int rc = ARGS_BAD_##ARGS ? MPROC_EINVAL : OUT_CHECK_##OUT;                                 \
        if (rc)                                                                                    \
            return mproc__fail(rc);                                                                \
        call c;                                                                                    \
        if ((rc = mproc__mgr_call_begin(&c, x, KIND_OF_##TYPE, OP_##NAME)) != 0)                   \
            return rc;                                                                             \
        WAIT_SET_##WAIT ARGS_PACK_##ARGS return mproc__mgr_call_end(&c, rc, OUT_RESULT_##OUT);     \
    }
#define OP(NAME, CODE, KINDS, WIRE, TYPE, METHOD, ARGS, OUT, WAIT)                                 \
    FN(NAME, TYPE, METHOD, ARGS, OUT, WAIT)
#include "manager/ops.def"

/* ---- built on the calls above: a typed read and Python's text ------------------------------ */
int mproc_mdict_get_i64(mproc_mdict *d, const mproc_pack *key, int64_t *value)
{
    if (!value)
        return mproc__fail(MPROC_EINVAL);
    mproc_bytes b;
    int rc = mproc_mdict_get(d, key, &b);
    if (rc)
        return rc;
    mproc_unpacker u;
    int64_t v = 0;
    rc = mproc_unpack_init(&u, &b);
    if (!rc && mproc_unpack_remaining(&u) != 1)
        rc = mproc__fail(MPROC_ETYPE);
    if (!rc)
        rc = mproc_unpack_i64(&u, &v);
    mproc_bytes_free(&b);
    if (!rc)
        *value = v;
    return rc;
}

/* Appends the values of a pack of nested packs, between open and close; pairs: each is a
 * (key, value) pack shown as key: value. */
static int repr_items(mproc__buf *b, const mproc_bytes *items, bool pairs, const char *open,
                      const char *close)
{
    mproc_unpacker u, item, key, value;
    int rc = mproc_unpack_init(&u, items);
    rc = rc ? rc : mproc__buf_append(b, open, 1);
    for (int n = 0; !rc && mproc_unpack_peek(&u) > 0; n++) {
        if (n)
            rc = mproc__buf_append(b, ", ", 2);
        if (!rc)
            rc = mproc_unpack_pack(&u, &item);
        if (!rc && pairs) {
            rc = mproc_unpack_pack(&item, &key) || mproc_unpack_pack(&item, &value)
                     ? mproc__fail(MPROC_EINVAL)
                     : mproc__repr_value(b, &key);
            rc = rc ? rc : mproc__buf_append(b, ": ", 2);
            rc = rc ? rc : mproc__repr_value(b, &value);
        } else if (!rc) {
            rc = mproc__repr_value(b, &item);
        }
    }
    if (!rc && mproc_unpack_peek(&u) < 0)
        rc = mproc__fail(MPROC_EINVAL);
    return rc ? rc : mproc__buf_append(b, close, 1);
}

int mproc_mdict_repr(mproc_mdict *d, mproc_bytes *text)
{
    if (!text)
        return mproc__fail(MPROC_EINVAL);
    *text = (mproc_bytes){0};
    mproc_bytes items;
    int rc = mproc_mdict_items(d, &items);
    if (rc)
        return rc;
    mproc__buf b = {0};
    rc = repr_items(&b, &items, true, "{", "}");
    mproc_bytes_free(&items);
    return mproc__repr_finish(&b, rc, text);
}

int mproc_mlist_repr(mproc_mlist *l, mproc_bytes *text)
{
    if (!text)
        return mproc__fail(MPROC_EINVAL);
    *text = (mproc_bytes){0};
    mproc_bytes items;
    int rc = mproc_mlist_slice(l, 0, INT64_MAX, &items);
    if (rc)
        return rc;
    mproc__buf b = {0};
    rc = repr_items(&b, &items, false, "[", "]");
    mproc_bytes_free(&items);
    return mproc__repr_finish(&b, rc, text);
}
