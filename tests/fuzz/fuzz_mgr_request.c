/* The manager's server after authentication: the bytes are what a client sends on its
 * connection, frames (u32 length, then a request pack), read with the server's own frame
 * reader and answered by the server's own request code on an in-process server (no
 * listener, no socket). The server is stopping from the start, so that every wait ends at
 * once (MPROC_ECLOSED) instead of waiting for a client that will never come. Properties:
 * every frame gets a well-formed response (a status, results only after 0, a nested
 * response per call of a batch), a frame that is no request gets MPROC_EPROTO, and the
 * server's objects stay consistent. */
#include "fuzz.h"

#include "manager/private.h"

static bool stop_now = true; /* the reader takes what is buffered, then gives up */

static server *new_server(void)
{
    server *s = mproc_calloc(1, sizeof *s);
    FUZZ_CHECK(s != NULL);
    snprintf(s->address, sizeof s->address, "fuzz");
    s->max_message = 1 << 16; /* bounds what one CREATE of an array allocates */
    FUZZ_CHECK(mpp_mutex_create(&s->mu) == 0 && mpp_cond_create(&s->cv) == 0);
    mproc__store(&s->stopping, true);
    return s;
}

/* A response pack: I64 status (0 or an MPROC_E… code), results only after 0. */
static void check_response(const mproc_bytes *resp, int64_t op, bool request_ok)
{
    mproc_unpacker u;
    int64_t status;
    FUZZ_CHECK(mproc_unpack_init(&u, resp) == 0);
    int fields = mproc_unpack_remaining(&u);
    FUZZ_CHECK(fields >= 1 && mproc_unpack_i64(&u, &status) == 0);
    FUZZ_CHECK(status <= 0 && status > -1000);
    if (!request_ok)
        FUZZ_CHECK(status == MPROC_EPROTO && fields == 1);
    if (status)
        FUZZ_CHECK(fields == 1);
    if (op != OP_BATCH || status)
        return;
    /* A batch: one nested response per call, each well formed itself. */
    while (mproc_unpack_peek(&u) > 0) {
        mproc_unpacker one;
        FUZZ_CHECK(mproc_unpack_pack(&u, &one) == 0);
        mproc_bytes inner = {(void *)one.data, one.len};
        check_response(&inner, -1, true);
    }
    FUZZ_CHECK(mproc_unpack_peek(&u) == 0);
}

static void check_objects(const server *s)
{
    for (size_t i = 0; i < s->nobjs; i++) {
        const sobj *o = s->objs[i];
        FUZZ_CHECK(o != NULL && o->kind >= K_DICT && o->kind <= K_ARRAY);
        switch (o->kind) {
        case K_LIST: FUZZ_CHECK(o->u.l.n <= o->u.l.cap); break;
        case K_QUEUE: FUZZ_CHECK(o->u.q.n <= o->u.q.cap && o->u.q.unfinished >= 0); break;
        case K_LOCK: FUZZ_CHECK(o->u.lk.count >= 0); break;
        case K_SEM:
            FUZZ_CHECK(o->u.sem.value >= 0);
            FUZZ_CHECK(!(o->flags & F_BOUNDED) || o->u.sem.value <= o->u.sem.bound);
            break;
        case K_COND: FUZZ_CHECK(object_at((server *)s, o->u.cond.lock) != NULL); break;
        case K_BARRIER: FUZZ_CHECK(o->u.bar.count >= 0 && o->u.bar.count < o->u.bar.parties); break;
        default: break;
        }
    }
    /* Every name points at an object. */
    for (size_t i = 0; i < s->names.n; i++)
        if (s->names.entries[i].live)
            FUZZ_CHECK(s->names.entries[i].val.len == 8 &&
                       object_at((server *)s, mproc__get_u64le(s->names.entries[i].val.data)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) /* a malformed request is logged: millions of lines otherwise */
        mproc_log_to_stderr(MPROC_LOG_OFF), quiet = true;
    server *s = new_server();
    stream *st = mproc_calloc(1, sizeof *st);
    mproc_pack *res;
    FUZZ_CHECK(st != NULL && mproc_pack_create(&res) == 0);
    st->rlen = size < sizeof st->rb ? size : sizeof st->rb;
    memcpy(st->rb, data, st->rlen);
    for (;;) {
        size_t frame;
        int rc = mproc__mgr_read_frame(st, s->max_message, -1, &stop_now, &frame);
        if (rc) { /* the end of the bytes, inside a frame or not, or a frame too big */
            FUZZ_CHECK(rc == MPROC_ECLOSED || rc == MPROC_ETOOBIG);
            break;
        }
        FUZZ_CHECK(st->frame.len == frame);
        mproc_bytes in = {st->frame.data, frame};
        mproc_unpacker head;
        int64_t words[4] = {0};
        bool request_ok = mproc_unpack_init(&head, &in) == 0;
        for (int k = 0; k < 4 && request_ok; k++)
            request_ok = mproc_unpack_i64(&head, &words[k]) == 0;
        mproc__mgr_answer(s, 1, NULL, &in, res);
        mproc_bytes out;
        FUZZ_CHECK(mproc_pack_view(res, &out) == 0);
        check_response(&out, request_ok ? words[1] : -1, request_ok);
    }
    check_objects(s);
    mproc_pack_destroy(res);
    mproc__mgr_stream_free(st);
    mproc__mgr_server_free(s);
    return 0;
}
