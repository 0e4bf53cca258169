/* Reading packs: the cursor, typed reads, the one-call reader, and the handles inside
 * packed bytes (see the layout in mproc/pack.h and objects.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "objects/objects.h"

static void decode_record(const uint8_t *src, mproc__record *r)
{
    r->kind = mproc__get_u32le(src);
    r->nparks = mproc__get_u32le(src + 4);
    r->seg = mproc__get_u64le(src + 8);
    r->size = mproc__get_u64le(src + 16);
    r->offset = mproc__get_u64le(src + 24);
    for (int i = 0; i < MPROC__MAX_PARKS; i++)
        r->parks[i] = mproc__get_u64le(src + 32 + 8 * i);
}

int mproc_unpack_init(mproc_unpacker *u, const mproc_bytes *in)
{
    if (!u || !in || (!in->data && in->len))
        return mproc__fail(MPROC_EINVAL);
    u->data = in->data;
    u->len = in->len;
    u->pos = 0;
    return 0;
}

/* Decodes the field at pos without moving: its tag, its 8-byte word, where its body
 * starts and its total size. MPROC_EINVAL if truncated or the tag is unknown. */
static int field_at(const mproc_unpacker *u, size_t pos, uint8_t *tag, uint64_t *word, size_t *body,
                    size_t *size)
{
    if (u->len - pos < MPROC__TAG_SIZE + MPROC__LEN_SIZE)
        return MPROC_EINVAL;
    *tag = u->data[pos];
    *word = mproc__get_u64le(u->data + pos + MPROC__TAG_SIZE);
    *body = pos + MPROC__TAG_SIZE + MPROC__LEN_SIZE;
    switch (*tag) {
    case MPROC_FIELD_I64:
    case MPROC_FIELD_F64: *size = MPROC__TAG_SIZE + MPROC__NUM_SIZE; return 0;
    case MPROC_FIELD_STR:
    case MPROC_FIELD_BYTES:
    case MPROC_FIELD_PACK:
    case MPROC_FIELD_HANDLE:
    case MPROC_FIELD_PROXY:
        if (*word > u->len - *body)
            return MPROC_EINVAL;
        if (*tag == MPROC_FIELD_HANDLE &&
            (*word < MPROC__HANDLE_HEAD || mproc__get_u32le(u->data + *body + 4) == 0 ||
             mproc__get_u32le(u->data + *body + 4) > MPROC__MAX_RECORDS ||
             *word != MPROC__HANDLE_HEAD +
                          (uint64_t)mproc__get_u32le(u->data + *body + 4) * MPROC__RECORD_SIZE))
            return MPROC_EINVAL;
        *size = MPROC__TAG_SIZE + MPROC__LEN_SIZE + (size_t)*word;
        return 0;
    default: return MPROC_EINVAL;
    }
}

static bool reader_ok(const mproc_unpacker *u)
{
    return u && (u->data || !u->len) && u->pos <= u->len;
}

int mproc_unpack_peek(const mproc_unpacker *u)
{
    if (!reader_ok(u))
        return mproc__fail(MPROC_EINVAL);
    if (u->pos == u->len)
        return 0;
    uint8_t tag;
    uint64_t word;
    size_t body, size;
    int rc = field_at(u, u->pos, &tag, &word, &body, &size);
    return rc ? mproc__fail(rc) : tag;
}

int mproc_unpack_remaining(const mproc_unpacker *u)
{
    if (!reader_ok(u))
        return mproc__fail(MPROC_EINVAL);
    int n = 0;
    for (size_t pos = u->pos; pos < u->len; n++) {
        uint8_t tag;
        uint64_t word;
        size_t body, size;
        int rc = field_at(u, pos, &tag, &word, &body, &size);
        if (rc || n == INT32_MAX)
            return mproc__fail(MPROC_EINVAL);
        pos += size;
    }
    return n;
}

/* Reads the next field if it has the wanted tag; advances only on success. */
static int take(mproc_unpacker *u, uint8_t want, uint64_t *word, const uint8_t **body)
{
    *word = 0; /* set on every path: gcc -O3 cannot see that callers read them only on 0 */
    *body = NULL;
    if (!reader_ok(u))
        return mproc__fail(MPROC_EINVAL);
    if (u->pos == u->len)
        return mproc__fail(MPROC_EINVAL);
    uint8_t tag;
    size_t body_pos, size;
    int rc = field_at(u, u->pos, &tag, word, &body_pos, &size);
    if (rc)
        return mproc__fail(rc);
    if (tag != want)
        return mproc__fail(MPROC_ETYPE);
    *body = u->data + body_pos;
    u->pos += size;
    return 0;
}

int mproc__unpack_proxy(mproc_unpacker *u, const void **body, size_t *len)
{
    uint64_t word;
    const uint8_t *data;
    int rc = take(u, MPROC_FIELD_PROXY, &word, &data);
    if (!rc) {
        *body = data;
        *len = (size_t)word;
    }
    return rc;
}

int mproc_unpack_i64(mproc_unpacker *u, int64_t *v)
{
    uint64_t word;
    const uint8_t *body;
    if (!v)
        return mproc__fail(MPROC_EINVAL);
    int rc = take(u, MPROC_FIELD_I64, &word, &body);
    if (!rc)
        *v = (int64_t)word;
    return rc;
}

int mproc_unpack_f64(mproc_unpacker *u, double *v)
{
    uint64_t word;
    const uint8_t *body;
    if (!v)
        return mproc__fail(MPROC_EINVAL);
    int rc = take(u, MPROC_FIELD_F64, &word, &body);
    if (!rc)
        memcpy(v, &word, sizeof *v);
    return rc;
}

int mproc_unpack_strn(mproc_unpacker *u, const char **s, size_t *len)
{
    if (!s || !reader_ok(u))
        return mproc__fail(MPROC_EINVAL);
    size_t saved = u->pos;
    uint64_t word;
    const uint8_t *body;
    int rc = take(u, MPROC_FIELD_STR, &word, &body);
    if (rc)
        return rc;
    /* A string must end with its NUL and hold no other. */
    if (word == 0 || body[word - 1] != 0 || memchr(body, 0, (size_t)word - 1)) {
        u->pos = saved;
        return mproc__fail(MPROC_EINVAL);
    }
    *s = (const char *)body;
    if (len)
        *len = (size_t)word - 1;
    return 0;
}

int mproc_unpack_str(mproc_unpacker *u, const char **s)
{
    return mproc_unpack_strn(u, s, NULL);
}

int mproc_unpack_bytes(mproc_unpacker *u, const void **data, size_t *len)
{
    if (!data || !len)
        return mproc__fail(MPROC_EINVAL);
    uint64_t word;
    const uint8_t *body;
    int rc = take(u, MPROC_FIELD_BYTES, &word, &body);
    if (!rc) {
        *data = body;
        *len = (size_t)word;
    }
    return rc;
}

int mproc_unpack_pack(mproc_unpacker *u, mproc_unpacker *inner)
{
    if (!inner)
        return mproc__fail(MPROC_EINVAL);
    uint64_t word;
    const uint8_t *body;
    int rc = take(u, MPROC_FIELD_PACK, &word, &body);
    if (!rc) {
        inner->data = body;
        inner->len = (size_t)word;
        inner->pos = 0;
    }
    return rc;
}

int mproc_unpack_skip(mproc_unpacker *u)
{
    if (!reader_ok(u) || u->pos == u->len)
        return mproc__fail(MPROC_EINVAL);
    uint8_t tag;
    uint64_t word;
    size_t body, size;
    int rc = field_at(u, u->pos, &tag, &word, &body, &size);
    if (rc)
        return mproc__fail(rc);
    u->pos += size;
    return 0;
}

/* ---- the one-call reader ------------------------------------------------------------------ */

/* An I64 into an integer of slot->size bytes; MPROC_ETOOBIG when it does not fit. */
static int read_int(mproc_unpacker *u, const mproc_slot *slot)
{
    int64_t v;
    int rc = mproc_unpack_i64(u, &v);
    if (rc)
        return rc;
    unsigned bits = 8u * slot->size;
    if (slot->size == 0 || slot->size > 8)
        return mproc__fail(MPROC_EINVAL);
    if (slot->is_signed) {
        int64_t lo = bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
        int64_t hi = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
        if (v < lo || v > hi)
            return mproc__fail(MPROC_ETOOBIG);
    } else if (v < 0 || (bits < 64 && (uint64_t)v >> bits)) {
        return mproc__fail(MPROC_ETOOBIG);
    }
    /* Little or big endian, the value's own bytes are those of the narrower integer. */
    switch (slot->size) {
    case 1: *(uint8_t *)slot->dst = (uint8_t)v; break;
    case 2: *(uint16_t *)slot->dst = (uint16_t)v; break;
    case 4: *(uint32_t *)slot->dst = (uint32_t)v; break;
    case 8: *(uint64_t *)slot->dst = (uint64_t)v; break;
    default: return mproc__fail(MPROC_EINVAL);
    }
    return 0;
}

/* Any field but an object, as an mproc_arg pointing into the bytes. */
static int read_arg(mproc_unpacker *u, mproc_arg *a)
{
    int type = mproc_unpack_peek(u);
    const void *data = NULL;
    size_t len = 0;
    int rc;
    switch (type) {
    case MPROC_FIELD_I64: rc = mproc_unpack_i64(u, &a->as.i64); break;
    case MPROC_FIELD_F64: rc = mproc_unpack_f64(u, &a->as.f64); break;
    case MPROC_FIELD_STR: rc = mproc_unpack_str(u, &a->as.str); break;
    case MPROC_FIELD_BYTES:
        rc = mproc_unpack_bytes(u, &data, &len);
        a->as.bytes.data = data;
        a->as.bytes.len = len;
        break;
    case 0: return mproc__fail(MPROC_EINVAL); /* no field left */
    default:
        if (type < 0)
            return type;
        return mproc__fail(MPROC_ETYPE); /* a nested pack or an object: read it typed */
    }
    if (!rc)
        a->type = type;
    return rc;
}

static int read_slot(mproc_unpacker *u, const mproc_slot *slot)
{
    int64_t i;
    double d;
    const void *data = NULL;
    size_t len = 0;
    int rc;
    if (!slot->dst && slot->kind != MPROC_SLOT_SKIP)
        return mproc__fail(MPROC_EINVAL);
    switch (slot->kind) {
    case MPROC_SLOT_SKIP: return mproc_unpack_skip(u);
    case MPROC_SLOT_INT: return read_int(u, slot);
    case MPROC_SLOT_BOOL:
        rc = mproc_unpack_i64(u, &i);
        if (!rc)
            *(bool *)slot->dst = i != 0;
        return rc;
    case MPROC_SLOT_DOUBLE: return mproc_unpack_f64(u, slot->dst);
    case MPROC_SLOT_FLOAT:
        rc = mproc_unpack_f64(u, &d);
        if (!rc && (d > FLT_MAX || d < -FLT_MAX) && !isinf(d))
            rc = mproc__fail(MPROC_ETOOBIG); /* finite, and past what a float holds */
        if (!rc)
            *(float *)slot->dst = (float)d;
        return rc;
    case MPROC_SLOT_STR: return mproc_unpack_str(u, slot->dst);
    case MPROC_SLOT_BYTES:
        rc = mproc_unpack_bytes(u, &data, &len);
        if (!rc)
            *(mproc_bytes *)slot->dst = (mproc_bytes){(void *)data, len};
        return rc;
    case MPROC_SLOT_PACK: return mproc_unpack_pack(u, slot->dst);
    case MPROC_SLOT_ARG: return read_arg(u, slot->dst);
    case MPROC_SLOT_OBJECT:
        return slot->open && slot->close ? slot->open(u, slot->dst) : mproc__fail(MPROC_EINVAL);
    default: return mproc__fail(MPROC_EINVAL);
    }
}

int mproc_unpack_values(const mproc_bytes *in, const mproc_slot *slots, size_t n)
{
    mproc_unpacker u;
    if (!slots && n)
        return mproc__fail(MPROC_EINVAL);
    int rc = mproc_unpack_init(&u, in);
    size_t done = 0;
    while (!rc && done < n) {
        rc = read_slot(&u, &slots[done]);
        if (!rc)
            done++;
    }
    if (!rc && u.pos != u.len)
        rc = mproc__fail(MPROC_EINVAL); /* more fields than destinations */
    if (rc)                             /* the objects opened so far are not the caller's */
        for (size_t k = 0; k < done; k++)
            if (slots[k].kind == MPROC_SLOT_OBJECT) {
                slots[k].close(*(void **)slots[k].dst);
                *(void **)slots[k].dst = NULL;
            }
    return rc;
}

int mproc__unpack_records(mproc_unpacker *u, uint32_t kind, mproc__record *recs, uint32_t *n)
{
    if (!reader_ok(u) || u->pos == u->len)
        return mproc__fail(MPROC_EINVAL);
    uint8_t tag;
    uint64_t word;
    size_t body, size;
    int rc = field_at(u, u->pos, &tag, &word, &body, &size);
    if (rc)
        return mproc__fail(rc);
    if (tag != MPROC_FIELD_HANDLE || mproc__get_u32le(u->data + body) != kind)
        return mproc__fail(MPROC_ETYPE);
    *n = mproc__get_u32le(u->data + body + 4);
    for (uint32_t i = 0; i < *n; i++)
        decode_record(u->data + body + MPROC__HANDLE_HEAD + i * MPROC__RECORD_SIZE, &recs[i]);
    u->pos += size;
    return 0;
}

/* ---- the handles inside packed bytes ------------------------------------------------- */

int mproc__pack_visit_handles(uint8_t *data, size_t len, mproc__handle_fn fn, void *ctx)
{
    mproc_unpacker u = {data, len, 0};
    while (u.pos < u.len) {
        uint8_t tag;
        uint64_t word;
        size_t body, size;
        int rc = field_at(&u, u.pos, &tag, &word, &body, &size);
        if (rc)
            return rc;
        if (tag == MPROC_FIELD_PACK) {
            rc = mproc__pack_visit_handles(data + body, (size_t)word, fn, ctx);
        } else if (tag == MPROC_FIELD_HANDLE) {
            uint32_t n = mproc__get_u32le(data + body + 4);
            for (uint32_t i = 0; i < n && !rc; i++) {
                uint8_t *r = data + body + MPROC__HANDLE_HEAD + i * MPROC__RECORD_SIZE;
                uint32_t nparks = mproc__get_u32le(r + 4);
                if (nparks > MPROC__MAX_PARKS)
                    return MPROC_EINVAL;
                for (uint32_t k = 0; k <= nparks && !rc; k++) {
                    uint8_t *slot = k == 0 ? r + 8 : r + 32 + 8 * (k - 1);
                    uint64_t v = mproc__get_u64le(slot);
                    rc = fn(ctx, &v);
                    mproc__put_u64le(slot, v);
                }
            }
        }
        if (rc)
            return rc;
        u.pos += size;
    }
    return 0;
}

static int dup_one(void *ctx, uint64_t *handle)
{
    mpp_handle copy;
    int rc = mpp_handle_dup((mpp_handle)*handle, &copy);
    if (rc)
        return rc;
    rc = mproc__handles_push(ctx, copy);
    if (rc) {
        mpp_handle_close(copy);
        return rc;
    }
    *handle = (uint64_t)copy;
    return 0;
}

int mproc__pack_dup_handles(uint8_t *data, size_t len, mproc__handles *owned)
{
    size_t before = owned->count;
    int rc = mproc__pack_visit_handles(data, len, dup_one, owned);
    if (rc) /* all or nothing */
        while (owned->count > before)
            mpp_handle_close(owned->items[--owned->count]);
    return rc;
}

static int list_one(void *ctx, uint64_t *handle)
{
    return mproc__handles_push(ctx, (mpp_handle)*handle);
}

int mproc__pack_list_handles(uint8_t *data, size_t len, mproc__handles *list)
{
    return mproc__pack_visit_handles(data, len, list_one, list);
}

typedef struct replacer {
    const mpp_handle *values;
    size_t n, next;
} replacer;

static int set_one(void *ctx, uint64_t *handle)
{
    replacer *r = ctx;
    if (r->next == r->n)
        return MPROC_EPROTO;
    *handle = (uint64_t)r->values[r->next++];
    return 0;
}

int mproc__pack_set_handles(uint8_t *data, size_t len, const mpp_handle *values, size_t n)
{
    replacer r = {values, n, 0};
    int rc = mproc__pack_visit_handles(data, len, set_one, &r);
    return rc ? rc : (r.next == n ? 0 : MPROC_EPROTO);
}
