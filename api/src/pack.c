/* Argument packs: a tag byte per field, little-endian fixed-width numbers, u64 lengths. */
#include <string.h>

#include "internal.h"

struct mproc_pack {
    mproc__buf buf;
    int count;
};

enum { TAG_SIZE = 1, LEN_SIZE = 8, NUM_SIZE = 8 };

static void put_u64le(uint8_t *dst, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)src[i] << (8 * i);
    return v;
}

int mproc_pack_create(mproc_pack **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = mproc_calloc(1, sizeof **out);
    return *out ? 0 : mproc__fail(MPROC_ENOMEM);
}

void mproc_pack_destroy(mproc_pack *p)
{
    if (!p)
        return;
    mproc__buf_free(&p->buf);
    mproc_free(p);
}

int mproc_pack_reset(mproc_pack *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    p->buf.len = 0;
    p->count = 0;
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
    put_u64le(dst + TAG_SIZE, word);
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
    return append_field(p, MPROC_FIELD_PACK, (uint64_t)inner->buf.len, inner->buf.data,
                        inner->buf.len, false);
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
    *word = get_u64le(u->data + pos + TAG_SIZE);
    *body = pos + TAG_SIZE + LEN_SIZE;
    switch (*tag) {
    case MPROC_FIELD_I64:
    case MPROC_FIELD_F64:
        *size = TAG_SIZE + NUM_SIZE;
        return 0;
    case MPROC_FIELD_STR:
    case MPROC_FIELD_BYTES:
    case MPROC_FIELD_PACK:
        if (*word > u->len - *body)
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
