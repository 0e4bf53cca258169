/* Writing packs: a tag byte per field, little-endian fixed-width numbers, u64 lengths; the
 * one-call builder and pack literals (MPROC_ARGS). */
#include <string.h>

#include "objects/objects.h"

struct mproc_pack {
    uint32_t magic; /* MPROC__PACK_MAGIC; a pack literal starts with its own */
    mproc__buf buf;
    int count;
    mproc__handles owned; /* duplicates of the OS handles of packed objects: the bytes hold
                           * HANDLE fields exactly when this is not empty */
    bool linked;          /* in live_packs: every pack but a handle-free literal's encoding */
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
    p->linked = true;
    mpp_lock();
    p->next = live_packs;
    if (live_packs)
        live_packs->prev = p;
    live_packs = p;
    mpp_unlock();
}

static void unlink_pack(mproc_pack *p)
{
    if (!p->linked)
        return;
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

/* Both a pack and a literal start with a 32-bit magic word (a pointer to a struct may be
 * read as a pointer to its first member). */
static uint32_t magic_of(const mproc_pack *p)
{
    return p ? *(const uint32_t *)(const void *)p : 0;
}

static const mproc_pack_literal *literal_of(const mproc_pack *p)
{
    return magic_of(p) == MPROC_PACK_LITERAL_MAGIC ? (const mproc_pack_literal *)(const void *)p
                                                   : NULL;
}

static bool is_pack(const mproc_pack *p)
{
    return magic_of(p) == MPROC__PACK_MAGIC;
}

static int pack_new(mproc_pack **out, bool linked)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = mproc_calloc(1, sizeof **out);
    if (!*out)
        return mproc__fail(MPROC_ENOMEM);
    (*out)->magic = MPROC__PACK_MAGIC;
    if (linked)
        link_pack(*out);
    return 0;
}

int mproc_pack_create(mproc_pack **out)
{
    return pack_new(out, true);
}

void mproc_pack_destroy(mproc_pack *p)
{
    if (!is_pack(p))
        return;
    p->magic = 0;
    unlink_pack(p);
    mproc__buf_free(&p->buf);
    mproc__handles_close(&p->owned);
    mproc_free(p);
}

int mproc_pack_reset(mproc_pack *p)
{
    if (!is_pack(p))
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
    if (!is_pack(p))
        return mproc__fail(MPROC_EINVAL);
    if (p->count == INT32_MAX)
        return mproc__fail(MPROC_ETOOBIG);
    size_t extra = MPROC__TAG_SIZE + MPROC__LEN_SIZE;
    if (body_len > SIZE_MAX - extra - 1)
        return mproc__fail(MPROC_ETOOBIG);
    extra += body_len + (nul_terminate ? 1 : 0);
    int rc = mproc__buf_reserve(&p->buf, extra);
    if (rc)
        return mproc__fail(rc);
    uint8_t *dst = p->buf.data + p->buf.len;
    dst[0] = tag;
    mproc__put_u64le(dst + MPROC__TAG_SIZE, word);
    if (body_len)
        memcpy(dst + MPROC__TAG_SIZE + MPROC__LEN_SIZE, body, body_len);
    if (nul_terminate)
        dst[MPROC__TAG_SIZE + MPROC__LEN_SIZE + body_len] = 0;
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
    if (!inner || inner == p || !is_pack(p))
        return mproc__fail(MPROC_EINVAL);
    mproc__packed in;
    int rc = mproc__pack_open(inner, &in);
    if (rc)
        return rc;
    size_t start = p->buf.len;
    rc = append_field(p, MPROC_FIELD_PACK, (uint64_t)in.bytes.len, in.bytes.data, in.bytes.len,
                      false);
    /* The copy must not depend on `inner` living on (nor on a literal's encoding). Only a
     * pack that owns handles has HANDLE fields in its bytes: the others need no walk. */
    if (!rc && in.has_handles) {
        rc = mproc__pack_dup_handles(p->buf.data + start, p->buf.len - start, &p->owned);
        if (rc) {
            p->buf.len = start;
            p->count--;
        }
    }
    mproc__pack_close(&in);
    return rc;
}

static int pack_arg(mproc_pack *p, const mproc_arg *a)
{
    switch (a->type) {
    case MPROC_FIELD_I64: return mproc_pack_i64(p, a->as.i64);
    case MPROC_FIELD_F64: return mproc_pack_f64(p, a->as.f64);
    case MPROC_FIELD_STR: return mproc_pack_str(p, a->as.str);
    case MPROC_FIELD_BYTES: return mproc_pack_bytes(p, a->as.bytes.data, a->as.bytes.len);
    case MPROC_FIELD_PACK: return mproc_pack_pack(p, a->as.pack);
    case MPROC_FIELD_HANDLE:
    case MPROC_FIELD_PROXY: return mproc_pack_handle(p, a->as.object);
    case 0: return mproc__fail(MPROC_ETOOBIG); /* an unsigned integer past INT64_MAX */
    default: return mproc__fail(MPROC_EINVAL);
    }
}

int mproc_pack_args(mproc_pack *p, const mproc_arg *args, size_t n)
{
    if (!is_pack(p) || (!args && n))
        return mproc__fail(MPROC_EINVAL);
    size_t len = p->buf.len, owned = p->owned.count;
    int count = p->count, rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = pack_arg(p, &args[i]);
    if (rc) { /* all or nothing */
        p->buf.len = len;
        p->count = count;
        while (p->owned.count > owned)
            mpp_handle_close(p->owned.items[--p->owned.count]);
    }
    return rc;
}

bool mproc__pack_has_handles(const mproc_pack *p)
{
    const mproc_pack_literal *lit = literal_of(p);
    for (uint32_t i = 0; lit && i < lit->count; i++)
        if (lit->args[i].type == MPROC_FIELD_HANDLE || lit->args[i].type == MPROC_FIELD_PROXY ||
            (lit->args[i].type == MPROC_FIELD_PACK && lit->args[i].as.pack != p &&
             mproc__pack_has_handles(lit->args[i].as.pack)))
            return true;
    return is_pack(p) && p->owned.count > 0;
}

int mproc__pack_open(const mproc_pack *p, mproc__packed *out)
{
    *out = (mproc__packed){{NULL, 0}, 0, false, NULL};
    if (!p)
        return 0;
    const mproc_pack_literal *lit = literal_of(p);
    if (lit) {
        /* An encoding that owns no handles has nothing for a forked child to close: it
         * stays out of live_packs (and off its lock). */
        mproc_pack *tmp;
        int rc = pack_new(&tmp, mproc__pack_has_handles(p));
        rc = rc ? rc : mproc_pack_args(tmp, lit->args, lit->count);
        if (rc) {
            mproc_pack_destroy(tmp);
            return rc;
        }
        out->tmp = tmp;
        p = tmp;
    } else if (!is_pack(p)) {
        return mproc__fail(MPROC_EINVAL);
    }
    out->bytes = (mproc_bytes){p->buf.data, p->buf.len};
    out->count = p->count;
    out->has_handles = p->owned.count > 0;
    return 0;
}

int mproc__pack_open_plain(const mproc_pack *p, mproc__packed *out)
{
    int rc = mproc__pack_open(p, out);
    if (!rc && out->has_handles) {
        mproc__pack_close(out);
        rc = mproc__fail(MPROC_ENOTSUP);
    }
    return rc;
}

void mproc__pack_close(mproc__packed *packed)
{
    mproc_pack_destroy(packed->tmp);
    packed->tmp = NULL;
}

int mproc__pack_copy(const mproc_pack *src, mproc_pack **out)
{
    mproc__packed in;
    int rc = mproc__pack_open(src, &in);
    if (rc)
        return rc;
    mproc_pack *p;
    rc = mproc_pack_create(&p);
    if (rc) {
        mproc__pack_close(&in);
        return rc;
    }
    rc = mproc__buf_append(&p->buf, in.bytes.data, in.bytes.len);
    if (!rc && in.has_handles)
        rc = mproc__pack_dup_handles(p->buf.data, p->buf.len, &p->owned);
    p->count = in.count;
    mproc__pack_close(&in);
    if (rc) {
        mproc_pack_destroy(p);
        return mproc__fail(rc);
    }
    *out = p;
    return 0;
}

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

int mproc_pack_handle(mproc_pack *p, const void *object)
{
    if (!is_pack(p) || mproc__object_check(object, 0) != 0)
        return mproc__fail(MPROC_EINVAL);
    const mproc__object *o = object;
    return o->ops->pack(p, o);
}

int mproc__pack_records(mproc_pack *p, uint32_t kind, const mproc__record *recs, uint32_t n)
{
    if (n == 0 || n > MPROC__MAX_RECORDS)
        return mproc__fail(MPROC_EINVAL);
    uint8_t body[MPROC__HANDLE_HEAD + MPROC__MAX_RECORDS * MPROC__RECORD_SIZE];
    mproc__put_u32le(body, kind);
    mproc__put_u32le(body + 4, n);
    for (uint32_t i = 0; i < n; i++)
        encode_record(body + MPROC__HANDLE_HEAD + i * MPROC__RECORD_SIZE, &recs[i]);
    size_t len = MPROC__HANDLE_HEAD + n * MPROC__RECORD_SIZE, start = p->buf.len;
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
    if (!is_pack(p) || !out) /* a literal has no bytes of its own */
        return mproc__fail(MPROC_EINVAL);
    out->data = p->buf.data;
    out->len = p->buf.len;
    return 0;
}

int mproc_pack_count(const mproc_pack *p)
{
    const mproc_pack_literal *lit = literal_of(p);
    if (lit)
        return (int)lit->count;
    return is_pack(p) ? p->count : mproc__fail(MPROC_EINVAL);
}

int mproc__pack_proxy(mproc_pack *p, const void *body, size_t len)
{
    return append_field(p, MPROC_FIELD_PROXY, len, body, len, false);
}
