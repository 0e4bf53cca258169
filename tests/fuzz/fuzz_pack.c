/* The pack decoder on any bytes: every typed read, nested packs, the handle records, the
 * one-call reader and repr. Properties: a read of another type is MPROC_ETYPE and leaves
 * the cursor; a read that succeeds moves it as skip does; remaining counts what the walk
 * read; bytes the walk read whole re-encode to themselves. */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "modules/modules.h" /* objects/objects.h: records, proxies, the handle walk */

#define MAX_DEPTH 32 /* nesting walked (the decoder itself keeps no stack) */

typedef struct walk_state {
    bool exact;  /* every field was read and re-encoded */
    bool lossy;  /* an F64 NaN: its payload may change on the way through a double */
    bool scalar; /* only I64, F64, STR and BYTES at the top: mproc_unpack_values reads them */
} walk_state;

/* The typed reads other than the field's own type must fail with MPROC_ETYPE (MPROC_EINVAL
 * at the end or on a corrupt field: type <= 0) and leave the cursor where it was. */
static void check_other_reads(const mproc_unpacker *u, int type)
{
    int want = type <= 0 ? MPROC_EINVAL : MPROC_ETYPE;
    mproc_unpacker c = *u;
    int64_t i;
    double f;
    const char *s;
    size_t len;
    const void *data;
    mproc_unpacker inner;
    if (type != MPROC_FIELD_I64)
        FUZZ_CHECK(mproc_unpack_i64(&c, &i) == want && c.pos == u->pos);
    if (type != MPROC_FIELD_F64)
        FUZZ_CHECK(mproc_unpack_f64(&c, &f) == want && c.pos == u->pos);
    if (type != MPROC_FIELD_STR)
        FUZZ_CHECK(mproc_unpack_strn(&c, &s, &len) == want && c.pos == u->pos);
    if (type != MPROC_FIELD_BYTES)
        FUZZ_CHECK(mproc_unpack_bytes(&c, &data, &len) == want && c.pos == u->pos);
    if (type != MPROC_FIELD_PACK)
        FUZZ_CHECK(mproc_unpack_pack(&c, &inner) == want && c.pos == u->pos);
    if (type != MPROC_FIELD_PROXY)
        FUZZ_CHECK(mproc__unpack_proxy(&c, &data, &len) == want && c.pos == u->pos);
}

/* Reads every field of u, appending what it read to out. The number of fields, or -1 when
 * the bytes are corrupt at some field (everything before it was read). */
static int walk(mproc_unpacker *u, mproc_pack *out, int depth, walk_state *w)
{
    for (int n = 0;; n++) {
        size_t at = u->pos;
        int type = mproc_unpack_peek(u);
        check_other_reads(u, type);
        if (type == 0) {
            FUZZ_CHECK(at == u->len && mproc_unpack_skip(u) == MPROC_EINVAL);
            return n;
        }
        mproc_unpacker probe = *u;
        if (type < 0) {
            FUZZ_CHECK(type == MPROC_EINVAL && mproc_unpack_skip(&probe) == MPROC_EINVAL);
            FUZZ_CHECK(mproc_unpack_remaining(u) == MPROC_EINVAL && probe.pos == at);
            return -1;
        }
        FUZZ_CHECK(mproc_unpack_skip(&probe) == 0 && probe.pos > at && probe.pos <= u->len);
        FUZZ_CHECK(mproc_unpack_remaining(u) == mproc_unpack_remaining(&probe) + 1 ||
                   mproc_unpack_remaining(&probe) < 0);
        int64_t i;
        double f;
        const char *s;
        size_t len;
        const void *data;
        mproc_unpacker inner;
        mproc_pack *nested = NULL;
        mproc__record recs[MPROC__MAX_RECORDS];
        uint32_t nrecs = 0;
        switch (type) {
        case MPROC_FIELD_I64:
            FUZZ_CHECK(mproc_unpack_i64(u, &i) == 0);
            FUZZ_CHECK(mproc_pack_i64(out, i) == 0);
            break;
        case MPROC_FIELD_F64:
            FUZZ_CHECK(mproc_unpack_f64(u, &f) == 0);
            w->lossy |= isnan(f);
            FUZZ_CHECK(mproc_pack_f64(out, f) == 0);
            break;
        case MPROC_FIELD_STR:
            if (mproc_unpack_strn(u, &s, &len)) { /* no NUL at the end, or one inside */
                FUZZ_CHECK(u->pos == at);
                w->exact = false;
                *u = probe;
                break;
            }
            FUZZ_CHECK(strlen(s) == len && (const uint8_t *)s + len + 1 == u->data + u->pos);
            FUZZ_CHECK(mproc_pack_str(out, s) == 0);
            break;
        case MPROC_FIELD_BYTES:
            FUZZ_CHECK(mproc_unpack_bytes(u, &data, &len) == 0);
            FUZZ_CHECK((const uint8_t *)data + len == u->data + u->pos);
            FUZZ_CHECK(mproc_pack_bytes(out, data, len) == 0);
            break;
        case MPROC_FIELD_PACK:
            FUZZ_CHECK(mproc_unpack_pack(u, &inner) == 0);
            FUZZ_CHECK(inner.data + inner.len == u->data + u->pos && inner.pos == 0);
            w->scalar = w->scalar && depth > 0;
            if (depth >= MAX_DEPTH) {
                w->exact = false;
                break;
            }
            FUZZ_CHECK(mproc_pack_create(&nested) == 0);
            if (walk(&inner, nested, depth + 1, w) < 0)
                w->exact = false;
            FUZZ_CHECK(mproc_pack_pack(out, nested) == 0);
            mproc_pack_destroy(nested);
            break;
        case MPROC_FIELD_HANDLE: {
            /* The records of the kind the field names: 1 to MPROC__MAX_RECORDS of them. */
            uint32_t kind = mproc__get_u32le(u->data + at + MPROC__TAG_SIZE + MPROC__LEN_SIZE);
            FUZZ_CHECK(mproc__unpack_records(u, kind + 1, recs, &nrecs) == MPROC_ETYPE);
            FUZZ_CHECK(u->pos == at);
            FUZZ_CHECK(mproc__unpack_records(u, kind, recs, &nrecs) == 0);
            FUZZ_CHECK(nrecs >= 1 && nrecs <= MPROC__MAX_RECORDS);
            w->exact = false;
            w->scalar = false;
            break;
        }
        case MPROC_FIELD_PROXY:
            FUZZ_CHECK(mproc__unpack_proxy(u, &data, &len) == 0);
            FUZZ_CHECK((const uint8_t *)data + len == u->data + u->pos);
            w->exact = false;
            w->scalar = false;
            break;
        default: FUZZ_CHECK(!"peek gave an unknown type");
        }
        FUZZ_CHECK(u->pos == probe.pos);
    }
}

static int count_handle(void *ctx, uint64_t *handle)
{
    (void)handle;
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mproc_bytes in = {(void *)data, size};
    mproc_unpacker u;
    FUZZ_CHECK(mproc_unpack_init(&u, &in) == 0);
    int total = mproc_unpack_remaining(&u);
    mproc_pack *out;
    FUZZ_CHECK(mproc_pack_create(&out) == 0);
    walk_state w = {true, false, true};
    int n = walk(&u, out, 0, &w);
    FUZZ_CHECK(n == total);
    if (n < 0)
        w.exact = false;

    /* Read whole: the same bytes again (a NaN's payload may be quieted on the way). */
    mproc_bytes again;
    FUZZ_CHECK(mproc_pack_view(out, &again) == 0);
    if (w.exact)
        FUZZ_CHECK(again.len == size && (w.lossy || !size || !memcmp(again.data, data, size)));
    if (w.exact && n >= 0)
        FUZZ_CHECK(mproc_pack_count(out) == n);
    mproc_pack_destroy(out);

    /* repr: only for sound bytes, and NUL-free text (every control is escaped). */
    mproc_bytes text;
    int rc = mproc_pack_repr(&in, &text);
    if (n < 0)
        FUZZ_CHECK(rc == MPROC_EINVAL);
    if (!rc) {
        FUZZ_CHECK(text.len > 0 && strlen(text.data) == text.len);
        mproc_bytes_free(&text);
    }

    /* The one-call reader: exactly as many slots as fields, of scalars. */
    if (n >= 0 && n <= 16) {
        mproc_arg args[17];
        mproc_slot slots[17];
        for (int k = 0; k <= n; k++)
            slots[k] = (mproc_slot){.kind = MPROC_SLOT_ARG, .dst = &args[k]};
        if (w.exact && w.scalar)
            FUZZ_CHECK(mproc_unpack_values(&in, slots, (size_t)n) == 0);
        FUZZ_CHECK(mproc_unpack_values(&in, slots, (size_t)n + 1) != 0);
        if (n > 0 && w.exact && w.scalar)
            FUZZ_CHECK(mproc_unpack_values(&in, slots, (size_t)n - 1) == MPROC_EINVAL);
    }

    /* The handle walk (run on every pack sent with handles): a walk that puts every value
     * back leaves the bytes as they were; sound bytes without handles have none. */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size)
        memcpy(copy, data, size);
    size_t handles = 0;
    rc = mproc__pack_visit_handles(copy, size, count_handle, &handles);
    FUZZ_CHECK(!size || !memcmp(copy, data, size));
    if (w.exact)
        FUZZ_CHECK(rc == 0 && handles == 0);
    free(copy);
    return 0;
}
