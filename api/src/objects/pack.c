/* Argument packs: a tag byte per field, little-endian fixed-width numbers, u64 lengths. */
#include <string.h>

#include "objects/objects.h"

struct mproc_pack {
    mproc__buf buf;
    int count;
    mproc__handles owned; /* duplicates of the OS handles of packed objects */
    struct mproc_pack *prev, *next; /* live packs, for forked children (under mpp_lock) */
};

static mproc_pack *live_packs;

/* A forked child closes the duplicates its parent's packs hold: as under spawn, only its
 * arguments keep objects open. */
static void forget_inherited_packs(void)
{
    /* Only this thread exists in a forked child. The bytes keep stale numbers, which
     * nothing here will use: the pack belongs to the parent's code. */
    for (mproc_pack *p = live_packs; p; p = p->next)
        mproc__handles_close(&p->owned);
}

static mproc__fork_hook fork_hook = {.fn = forget_inherited_packs};

static void link_pack(mproc_pack *p)
{
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    p->next = live_packs;
    if (live_packs)
        live_packs->prev = p;
    live_packs = p;
    mpp_unlock();
}

static void unlink_pack(mproc_pack *p)
{
    mpp_lock();
    if (p->prev)
        p->prev->next = p->next;
    else if (live_packs == p)
        live_packs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    mpp_unlock();
}

enum { TAG_SIZE = 1, LEN_SIZE = 8, NUM_SIZE = 8 };

int mproc_pack_create(mproc_pack **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = mproc_calloc(1, sizeof **out);
    if (!*out)
        return mproc__fail(MPROC_ENOMEM);
    link_pack(*out);
    return 0;
}

void mproc_pack_destroy(mproc_pack *p)
{
    if (!p)
        return;
    unlink_pack(p);
    mproc__buf_free(&p->buf);
    mproc__handles_close(&p->owned);
    mproc_free(p);
}

int mproc_pack_reset(mproc_pack *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    p->buf.len = 0;
    p->count = 0;
    mproc__handles_close(&p->owned);
    return 0;
}

/* Appends tag + 8-byte word + optional body as one field; all or nothing. */
static int append_field(mproc_pack *p, uint8_t tag, uint64_t word, const void *body,
                        size_t body_len, bool nul_terminate)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    if (p->count == INT32_MAX)
        return mproc__fail(MPROC_ETOOBIG);
    size_t extra = TAG_SIZE + LEN_SIZE;
    if (body_len > SIZE_MAX - extra - 1)
        return mproc__fail(MPROC_ETOOBIG);
    extra += body_len + (nul_terminate ? 1 : 0);
    int rc = mproc__buf_reserve(&p->buf, extra);
    if (rc)
        return mproc__fail(rc);
    uint8_t *dst = p->buf.data + p->buf.len;
    dst[0] = tag;
    mproc__put_u64le(dst + TAG_SIZE, word);
    if (body_len)
        memcpy(dst + TAG_SIZE + LEN_SIZE, body, body_len);
    if (nul_terminate)
        dst[TAG_SIZE + LEN_SIZE + body_len] = 0;
    p->buf.len += extra;
    p->count++;
    return 0;
}

int mproc_pack_i64(mproc_pack *p, int64_t v)
{
    return append_field(p, MPROC_FIELD_I64, (uint64_t)v, NULL, 0, false);
}

int mproc_pack_f64(mproc_pack *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return append_field(p, MPROC_FIELD_F64, bits, NULL, 0, false);
}

int mproc_pack_str(mproc_pack *p, const char *s)
{
    if (!s)
        return mproc__fail(MPROC_EINVAL);
    size_t n = strlen(s);
    return append_field(p, MPROC_FIELD_STR, (uint64_t)n + 1, s, n, true);
}

int mproc_pack_bytes(mproc_pack *p, const void *data, size_t len)
{
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    return append_field(p, MPROC_FIELD_BYTES, (uint64_t)len, data, len, false);
}

int mproc_pack_pack(mproc_pack *p, const mproc_pack *inner)
{
    if (!inner || inner == p)
        return mproc__fail(MPROC_EINVAL);
    size_t start = p ? p->buf.len : 0;
    int rc = append_field(p, MPROC_FIELD_PACK, (uint64_t)inner->buf.len, inner->buf.data,
                          inner->buf.len, false);
    if (rc)
        return rc;
    /* The copy must not depend on `inner` living on. */
    rc = mproc__pack_dup_handles(p->buf.data + start, p->buf.len - start, &p->owned);
    if (rc) {
        p->buf.len = start;
        p->count--;
    }
    return rc;
}

bool mproc__pack_has_handles(const mproc_pack *p)
{
    return p && p->owned.count > 0;
}

int mproc__pack_copy(const mproc_pack *src, mproc_pack **out)
{
    mproc_pack *p;
    int rc = mproc_pack_create(&p);
    if (rc)
        return rc;
    rc = src ? mproc__buf_append(&p->buf, src->buf.data, src->buf.len) : 0;
    rc = rc ? rc : mproc__pack_dup_handles(p->buf.data, p->buf.len, &p->owned);
    if (rc) {
        mproc_pack_destroy(p);
        return mproc__fail(rc);
    }
    p->count = src ? src->count : 0;
    *out = p;
    return 0;
}

/* A HANDLE field's body: u32 kind, u32 record count, then the records. */
enum { HANDLE_HEAD = 8 };

static void encode_record(uint8_t *dst, const mproc__record *r)
{
    mproc__put_u32le(dst, r->kind);
    mproc__put_u32le(dst + 4, r->nparks);
    mproc__put_u64le(dst + 8, r->seg);
    mproc__put_u64le(dst + 16, r->size);
    mproc__put_u64le(dst + 24, r->offset);
    for (int i = 0; i < MPROC__MAX_PARKS; i++)
        mproc__put_u64le(dst + 32 + 8 * i, r->parks[i]);
}

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

int mproc_pack_handle(mproc_pack *p, const void *object)
{
    if (!p || mproc__object_check(object, 0) != 0)
        return mproc__fail(MPROC_EINVAL);
    const mproc__object *o = object;
    return o->ops->pack(p, o);
}

int mproc__pack_records(mproc_pack *p, uint32_t kind, const mproc__record *recs, uint32_t n)
{
    if (n == 0 || n > MPROC__MAX_RECORDS)
        return mproc__fail(MPROC_EINVAL);
    uint8_t body[HANDLE_HEAD + MPROC__MAX_RECORDS * MPROC__RECORD_SIZE];
    mproc__put_u32le(body, kind);
    mproc__put_u32le(body + 4, n);
    for (uint32_t i = 0; i < n; i++)
        encode_record(body + HANDLE_HEAD + i * MPROC__RECORD_SIZE, &recs[i]);
    size_t len = HANDLE_HEAD + n * MPROC__RECORD_SIZE, start = p->buf.len;
    int rc = append_field(p, MPROC_FIELD_HANDLE, len, body, len, false);
    if (rc)
        return rc;
    /* The pack holds its own duplicates: the object may be destroyed before the pack is
     * used, and the pack's bytes stay valid in this process as long as the pack lives. */
    rc = mproc__pack_dup_handles(p->buf.data + start, p->buf.len - start, &p->owned);
    if (rc) {
        p->buf.len = start;
        p->count--;
    }
    return rc;
}

int mproc_pack_view(const mproc_pack *p, mproc_bytes *out)
{
    if (!p || !out)
        return mproc__fail(MPROC_EINVAL);
    out->data = p->buf.data;
    out->len = p->buf.len;
    return 0;
}

int mproc_pack_count(const mproc_pack *p)
{
    return p ? p->count : mproc__fail(MPROC_EINVAL);
}

/* ---- reading ---------------------------------------------------------------------- */

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
static int field_at(const mproc_unpacker *u, size_t pos, uint8_t *tag, uint64_t *word,
                    size_t *body, size_t *size)
{
    if (u->len - pos < TAG_SIZE + LEN_SIZE)
        return MPROC_EINVAL;
    *tag = u->data[pos];
    *word = mproc__get_u64le(u->data + pos + TAG_SIZE);
    *body = pos + TAG_SIZE + LEN_SIZE;
    switch (*tag) {
    case MPROC_FIELD_I64:
    case MPROC_FIELD_F64:
        *size = TAG_SIZE + NUM_SIZE;
        return 0;
    case MPROC_FIELD_STR:
    case MPROC_FIELD_BYTES:
    case MPROC_FIELD_PACK:
    case MPROC_FIELD_HANDLE:
    case MPROC_FIELD_PROXY:
        if (*word > u->len - *body)
            return MPROC_EINVAL;
        if (*tag == MPROC_FIELD_HANDLE &&
            (*word < HANDLE_HEAD || mproc__get_u32le(u->data + *body + 4) == 0 ||
             mproc__get_u32le(u->data + *body + 4) > MPROC__MAX_RECORDS ||
             *word != HANDLE_HEAD + (uint64_t)mproc__get_u32le(u->data + *body + 4) * MPROC__RECORD_SIZE))
            return MPROC_EINVAL;
        *size = TAG_SIZE + LEN_SIZE + (size_t)*word;
        return 0;
    default:
        return MPROC_EINVAL;
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

int mproc__pack_proxy(mproc_pack *p, const void *body, size_t len)
{
    return append_field(p, MPROC_FIELD_PROXY, len, body, len, false);
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
        decode_record(u->data + body + HANDLE_HEAD + i * MPROC__RECORD_SIZE, &recs[i]);
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
                uint8_t *r = data + body + HANDLE_HEAD + i * MPROC__RECORD_SIZE;
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
