/* The manager's client side: links (each process's pool of authenticated connections to one
 * server), calls (one request, one round trip, waits repeated in slices) and batches (many
 * calls, one round trip). */
#include "manager/private.h"

static link *links; /* this process's, under mpp_lock */

/* ---- after fork -------------------------------------------------------------------------- */
/* In a forked child: the parent's connections must not stay open here (a connection kept
 * open hides its client's end from the server), and the forking thread's batch is the
 * parent's. (server.c's hook does the same for the parent's servers.) */
static void links_after_fork(void)
{
    for (link *l = links; l; l = l->next) {
        lconn *c = l->idle;
        l->idle = NULL;
        while (c) {
            lconn *next = c->next;
            mproc__mgr_stream_free(c->st);
            mproc_free(c);
            c = next;
        }
    }
    mproc_batch_cancel();
}
static mproc__fork_hook fork_hook = {.fn = links_after_fork};

/* ---- links ------------------------------------------------------------------------------- */
static uint64_t process_token;
static int64_t token_pid;

/* A random id of this process for the server (re-drawn in a forked child). */
static uint64_t my_token(void)
{
    mpp_lock();
    int64_t pid = mpp_getpid();
    if (token_pid != pid) {
        uint64_t t = 0;
        while (!t && !mpp_random_bytes(&t, sizeof t))
            ;
        process_token = t ? t : (uint64_t)pid * 0x9e3779b97f4a7c15ull;
        token_pid = pid;
    }
    uint64_t t = process_token;
    mpp_unlock();
    return t;
}

int mproc__mgr_link_get(const char *address, const void *key, size_t key_len, link **out)
{
    mpp_lock();
    for (link *l = links; l; l = l->next)
        if (!strcmp(l->address, address) && l->key_len == key_len &&
            !memcmp(l->key, key, key_len)) {
            l->refs++;
            mpp_unlock();
            *out = l;
            return 0;
        }
    mpp_unlock();
    link *l = mproc_calloc(1, sizeof *l);
    size_t alen = strlen(address) + 1;
    if (l) {
        l->address = mproc_malloc(alen);
        l->key = mproc_malloc(key_len ? key_len : 1);
    }
    if (!l || !l->address || !l->key) {
        if (l) {
            mproc_free(l->address);
            mproc_free(l->key);
        }
        mproc_free(l);
        return MPROC_ENOMEM;
    }
    memcpy(l->address, address, alen);
    memcpy(l->key, key, key_len);
    l->key_len = key_len;
    l->refs = 1;
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    l->next = links;
    links = l;
    mpp_unlock();
    *out = l;
    return 0;
}

void mproc__mgr_link_ref(link *l)
{
    mpp_lock();
    l->refs++;
    mpp_unlock();
}

void mproc__mgr_link_drop_idle(link *l)
{
    mpp_lock();
    lconn *c = l->idle;
    l->idle = NULL;
    mpp_unlock();
    while (c) {
        lconn *next = c->next;
        mproc__mgr_stream_free(c->st);
        mproc_free(c);
        c = next;
    }
}

void mproc__mgr_link_put(link *l)
{
    if (!l)
        return;
    mpp_lock();
    bool last = --l->refs == 0;
    if (last)
        for (link **pp = &links; *pp; pp = &(*pp)->next)
            if (*pp == l) {
                *pp = l->next;
                break;
            }
    mpp_unlock();
    if (!last)
        return;
    mproc__mgr_link_drop_idle(l);
    memset(l->key, 0, l->key_len);
    mproc_free(l->key);
    mproc_free(l->address);
    mproc_free(l);
}

int mproc__mgr_link_take(link *l, int64_t deadline, lconn **out)
{
    int64_t pid = mpp_getpid();
    lconn *stale = NULL;
    mpp_lock();
    while (l->idle && l->idle->pid != pid) { /* inherited through fork */
        lconn *c = l->idle;
        l->idle = c->next;
        c->next = stale;
        stale = c;
    }
    lconn *c = l->idle;
    if (c)
        l->idle = c->next;
    mpp_unlock();
    while (stale) {
        lconn *next = stale->next;
        mproc__mgr_stream_free(stale->st);
        mproc_free(stale);
        stale = next;
    }
    if (c) {
        *out = c;
        return 0;
    }
    c = mproc_calloc(1, sizeof *c);
    if (c)
        c->st = mproc_calloc(1, sizeof *c->st);
    if (!c || !c->st) {
        mproc_free(c);
        return MPROC_ENOMEM;
    }
    c->pid = pid;
    int64_t left = mproc__remaining(deadline);
    int rc = mproc__connect(l->address, left < 0 ? 10000 : left, &c->st->conn);
    rc = rc ? rc
            : mproc__mgr_client_handshake(c->st, l->key, l->key_len, my_token(), deadline,
                                          &c->max_message);
    if (rc) {
        mproc__mgr_stream_free(c->st);
        mproc_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void mproc__mgr_link_give_back(link *l, lconn *c, bool healthy)
{
    if (!healthy) {
        mproc__mgr_stream_free(c->st);
        mproc_free(c);
        return;
    }
    mpp_lock();
    c->next = l->idle;
    l->idle = c;
    mpp_unlock();
}

/* ---- calls ------------------------------------------------------------------------------- */
typedef struct pending {
    out_kind kind;
    void *out;
} pending;

typedef struct batch {
    link *link;
    mproc_pack *calls;
    pending *outs;
    size_t n, cap;
} batch;

static _Thread_local batch *current_batch;

bool mproc__mgr_in_batch(void)
{
    return current_batch != NULL;
}

/* Offset of the timeout's 8 bytes in a request pack: after two I64 fields and a tag. */
#define TIMEOUT_AT (2 * 9 + 1)

int mproc__mgr_call_begin(call *c, const void *x, uint32_t kind, int64_t op)
{
    c->px = proxy_of(x, kind);
    if (!c->px)
        return mproc__fail(MPROC_EINVAL);
    if (mproc_pack_create(&c->pk))
        return mproc__fail(MPROC_ENOMEM);
    c->op = op;
    c->timeout = 0;
    c->sliced = false;
    c->now = false;
    int rc = mproc_pack_i64(c->pk, (int64_t)c->px->id);
    rc = rc ? rc : mproc_pack_i64(c->pk, op);
    rc = rc ? rc : mproc_pack_i64(c->pk, 0);
    rc = rc ? rc : mproc_pack_i64(c->pk, (int64_t)mpp_thread_id());
    if (rc) {
        mproc_pack_destroy(c->pk);
        return mproc__fail(rc);
    }
    return 0;
}

static void set_timeout_field(mproc_pack *pk, int64_t timeout)
{
    mproc_bytes v;
    mproc_pack_view(pk, &v);
    mproc__put_u64le((uint8_t *)v.data + TIMEOUT_AT, (uint64_t)timeout);
}

/* Reads the results of one response (after its status) into out. */
static int take_result(mproc_unpacker *u, out_kind kind, void *out)
{
    const void *data;
    size_t len;
    int64_t v;
    switch (kind) {
    case OUT_NONE: return 0;
    case OUT_BYTES:
        if (mproc_unpack_bytes(u, &data, &len))
            return MPROC_EPROTO;
        return out ? mproc_bytes_copy(out, data, len) : 0;
    case OUT_I64:
    case OUT_COUNT:
        if (mproc_unpack_i64(u, &v))
            return MPROC_EPROTO;
        if (kind == OUT_COUNT)
            return v < 0 || v > INT32_MAX ? MPROC_ETOOBIG : (int)v;
        if (out)
            *(int64_t *)out = v;
        return 0;
    case OUT_F64:
        if (mproc_unpack_f64(u, out ? (double *)out : &(double){0}))
            return MPROC_EPROTO;
        return 0;
    case OUT_I64X3:
    case OUT_INFO0:
    case OUT_INFO1:
    case OUT_INFO2: {
        int64_t three[3], *to = kind == OUT_I64X3 ? out : three;
        for (int i = 0; i < 3; i++)
            if (mproc_unpack_i64(u, &to[i]))
                return MPROC_EPROTO;
        if (kind == OUT_INFO2)
            return three[2] != 0;
        if (kind != OUT_I64X3)
            *(int64_t *)out = three[kind - OUT_INFO0];
        return 0;
    }
    }
    return MPROC_EPROTO;
}

/* One round trip on a connection of l: sends pk, reads the answer into st->frame. */
static int round_trip(link *l, mproc_pack *pk, int64_t reply_deadline, lconn **held)
{
    mproc_bytes req;
    mproc_pack_view(pk, &req);
    lconn *c;
    int rc = mproc__mgr_link_take(l, reply_deadline, &c);
    if (rc)
        return rc;
    if (req.len > c->max_message) { /* refused here: the server would close the connection */
        mproc__mgr_link_give_back(l, c, true);
        return MPROC_ETOOBIG;
    }
    size_t size;
    rc = mproc__mgr_write_frame(c->st, req.data, req.len, reply_deadline);
    rc = rc ? rc : mproc__mgr_read_frame(c->st, UINT32_MAX, reply_deadline, NULL, &size);
    if (rc) {
        mproc__mgr_link_give_back(l, c, false); /* the stream may be cut mid-frame: never reused */
        /* A server cut off mid-answer is a server gone. */
        return rc == MPROC_ETOOBIG ? MPROC_EPROTO : rc == MPROC_EPROTO ? MPROC_ECLOSED : rc;
    }
    *held = c;
    return 0;
}

static bool is_wait_timeout(int rc)
{
    return rc == MPROC_ETIMEDOUT || rc == MPROC_EFULL || rc == MPROC_EEMPTY;
}

/* Queues the call in this thread's batch b. */
static int queue_call(batch *b, call *c, out_kind kind, void *out)
{
    if (b->link != c->px->link)
        return mproc__fail(MPROC_ESTATE);
    /* In a batch a wait is bounded by one slice: the batch's reply cannot wait longer. */
    int64_t t = c->timeout < 0 || c->timeout > SLICE_MS ? SLICE_MS : c->timeout;
    if (c->timeout)
        set_timeout_field(c->pk, t);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        pending *outs = mproc_realloc(b->outs, cap * sizeof *outs);
        if (!outs)
            return mproc__fail(MPROC_ENOMEM);
        b->outs = outs, b->cap = cap;
    }
    int rc = mproc_pack_pack(b->calls, c->pk);
    if (rc)
        return mproc__fail(rc);
    b->outs[b->n++] = (pending){kind, out};
    return 0;
}

/* Sends the call (or queues it in this thread's batch) and decodes its result. */
static int send_call(call *c, out_kind kind, void *out)
{
    link *l = c->px->link;
    if (current_batch && !c->now)
        return queue_call(current_batch, c, kind, out);
    int64_t deadline = mproc__deadline(c->timeout);
    for (;;) {
        int64_t slice = 0;
        if (c->sliced) {
            int64_t left = mproc__remaining(deadline);
            slice = left < 0 || left > SLICE_MS ? SLICE_MS : left;
            set_timeout_field(c->pk, slice);
        } else if (c->timeout) {
            slice = c->timeout;
            set_timeout_field(c->pk, slice);
        }
        lconn *held;
        int rc = round_trip(l, c->pk, mproc__deadline(slice < 0 ? -1 : slice + GRACE_MS), &held);
        if (rc)
            return mproc__fail(rc);
        mproc_bytes in = {held->st->frame.data, held->st->frame.len};
        mproc_unpacker u;
        int64_t status;
        if (mproc_unpack_init(&u, &in) || mproc_unpack_i64(&u, &status) || status > 0 ||
            status < INT32_MIN) {
            mproc__mgr_link_give_back(l, held, false);
            return mproc__fail(MPROC_EPROTO);
        }
        rc = status ? (int)status : take_result(&u, kind, out);
        mproc__mgr_link_give_back(l, held, rc != MPROC_EPROTO);
        if (c->sliced && is_wait_timeout(rc) && mproc__remaining(deadline) != 0)
            continue;
        /* A queue full or empty until a timeout other than a poll: the last slice may have
         * been a poll, the caller's wait was not. */
        if (c->sliced && c->timeout != 0 && (rc == MPROC_EFULL || rc == MPROC_EEMPTY))
            rc = MPROC_ETIMEDOUT;
        return rc < 0 ? mproc__fail(rc) : rc;
    }
}

int mproc__mgr_call_end(call *c, int rc, out_kind kind, void *out)
{
    rc = rc ? mproc__fail(rc) : send_call(c, kind, out);
    mproc_pack_destroy(c->pk);
    return rc;
}

/* ---- batches ----------------------------------------------------------------------------- */
int mproc_batch_begin(const void *x)
{
    const proxy *p = x;
    if (!p || p->magic != PROXY_MAGIC || !p->link)
        return mproc__fail(MPROC_EINVAL);
    if (current_batch)
        return mproc__fail(MPROC_ESTATE);
    batch *b = mproc_calloc(1, sizeof *b);
    if (!b || mproc_pack_create(&b->calls)) {
        mproc_free(b);
        return mproc__fail(MPROC_ENOMEM);
    }
    /* The batch is one request whose arguments are the calls, each a nested pack. */
    int rc = mproc_pack_i64(b->calls, 0);
    rc = rc ? rc : mproc_pack_i64(b->calls, OP_BATCH);
    rc = rc ? rc : mproc_pack_i64(b->calls, 0);
    rc = rc ? rc : mproc_pack_i64(b->calls, (int64_t)mpp_thread_id());
    if (rc) {
        mproc_pack_destroy(b->calls);
        mproc_free(b);
        return mproc__fail(rc);
    }
    b->link = p->link;
    mproc__mgr_link_ref(b->link);
    current_batch = b;
    return 0;
}

void mproc_batch_cancel(void)
{
    batch *b = current_batch;
    if (!b)
        return;
    current_batch = NULL;
    mproc__mgr_link_put(b->link);
    mproc_pack_destroy(b->calls);
    mproc_free(b->outs);
    mproc_free(b);
}

int mproc_batch_end(int64_t timeout_ms, int *codes, size_t n)
{
    batch *b = current_batch;
    if (!b)
        return mproc__fail(MPROC_ESTATE);
    if (codes && n)
        for (size_t i = 0; i < n; i++)
            codes[i] = MPROC_ECLOSED;
    mproc_pack *req = b->calls; /* its head was written by begin */
    int rc = 0, first = 0;
    lconn *held = NULL;
    rc = rc ? rc
            : round_trip(b->link, req, mproc__deadline(timeout_ms < 0 ? -1 : timeout_ms + GRACE_MS),
                         &held);
    if (!rc) {
        mproc_bytes in = {held->st->frame.data, held->st->frame.len};
        mproc_unpacker u;
        int64_t status;
        bool ok = !mproc_unpack_init(&u, &in) && !mproc_unpack_i64(&u, &status);
        rc = !ok ? MPROC_EPROTO : (int)status;
        for (size_t i = 0; !rc && i < b->n; i++) {
            mproc_unpacker one;
            int64_t code;
            if (mproc_unpack_pack(&u, &one) || mproc_unpack_i64(&one, &code)) {
                rc = MPROC_EPROTO;
                break;
            }
            int r = code ? (int)code : take_result(&one, b->outs[i].kind, b->outs[i].out);
            if (r == MPROC_EPROTO)
                rc = r;
            if (codes && i < n)
                codes[i] = r;
            if (r < 0 && !first)
                first = r;
        }
        mproc__mgr_link_give_back(b->link, held, rc != MPROC_EPROTO);
    }
    mproc_batch_cancel();
    rc = rc ? rc : first;
    return rc < 0 ? mproc__fail(rc) : 0;
}
