/* Pipe and Connection: framed messages over a backend byte stream (platform.h), and
 * connection.wait(). A frame is an 8-byte little-endian length and the bytes.
 *
 * Timeouts never tear the stream: a receive that times out keeps what came (header and
 * body so far) in the handle for the next receive, and a send that times out half-way
 * keeps the rest, which goes out before anything else sent on the handle. */
#include <string.h>

#include "modules/modules.h"

enum { FRAME_HEAD = 8 };
enum { CONN_READ = 1, CONN_WRITE = 2 };
/* Small messages go out with their header in one write. */
enum { COALESCE_MAX = 4096 };

struct mproc_conn {
    mproc__shared o; /* seg: the OS handle, size: CONN_READ | CONN_WRITE (what travels) */
    mpp_conn *os;
    bool readable, writable, at_end;
    /* the message being received */
    uint8_t head[FRAME_HEAD];
    size_t head_got;
    uint8_t *body;
    size_t body_len, body_got;
    /* the rest of a message whose sending began */
    uint8_t *pending;
    size_t pending_len, pending_done;
    struct mproc_conn *prev, *next; /* live ends, for forked children (under mpp_lock) */
};

static mproc_conn *live_conns;

/* A forked child closes the ends its parent's code held (not those it was given). */
static void forget_inherited_conns(void)
{
    /* Only this thread exists in a forked child: the list is ours. An end the parent's
     * code held becomes a closed handle here (its calls give MPROC_ECLOSED). */
    for (mproc_conn *c = live_conns; c; c = c->next)
        if (c->os && !mproc__was_received(mpp_conn_handle(c->os))) {
            mpp_conn_close(c->os);
            c->os = NULL;
            c->o.seg = MPP_NO_HANDLE; /* it travels no more */
        }
}

static mproc__fork_hook fork_hook = {.fn = forget_inherited_conns};

static void link_conn(mproc_conn *c)
{
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    c->next = live_conns;
    if (live_conns)
        live_conns->prev = c;
    live_conns = c;
    mpp_unlock();
}

static void unlink_conn(mproc_conn *c)
{
    mpp_lock();
    if (c->prev)
        c->prev->next = c->next;
    else if (live_conns == c)
        live_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    mpp_unlock();
}

mpp_conn *mproc__conn_os(mproc_conn *c)
{
    return mproc__object_check(c, MPROC__KIND_CONN) == 0 ? c->os : NULL;
}

static int conn_wrap(mpp_conn *os, unsigned flags, mproc_conn **out)
{
    mproc_conn *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    c->os = os;
    c->readable = flags & CONN_READ;
    c->writable = flags & CONN_WRITE;
    c->o.seg = mpp_conn_handle(os);
    c->o.size = flags;
    mproc__shared_init_head(&c->o, MPROC__KIND_CONN);
    link_conn(c);
    *out = c;
    return 0;
}

int mproc_pipe(mproc_conn **a, mproc_conn **b, bool duplex)
{
    if (!a || !b)
        return mproc__fail(MPROC_EINVAL);
    *a = *b = NULL;
    mpp_conn *x, *y;
    int rc = mpp_pipe(&x, &y, duplex);
    if (rc)
        return rc;
    rc = conn_wrap(x, duplex ? CONN_READ | CONN_WRITE : CONN_READ, a);
    if (!rc) {
        rc = conn_wrap(y, duplex ? CONN_READ | CONN_WRITE : CONN_WRITE, b);
        if (rc) {
            unlink_conn(*a);
            mproc_free(*a);
            *a = NULL;
        }
    }
    if (rc) {
        mpp_conn_close(x);
        mpp_conn_close(y);
    }
    return rc;
}

static int check(mproc_conn *c)
{
    if (mproc__object_check(c, MPROC__KIND_CONN))
        return mproc__fail(MPROC_EINVAL);
    return c->os ? 0 : MPROC_ECLOSED; /* closed, or by a fork (see forget_inherited_conns) */
}

/* Finishes a half-sent message; 0 once it is gone, MPROC_ETIMEDOUT if not yet. */
static int flush_pending(mproc_conn *c, int64_t deadline)
{
    if (!c->pending)
        return 0;
    size_t done = 0;
    int rc = mpp_conn_write(c->os, c->pending + c->pending_done, c->pending_len - c->pending_done,
                            deadline, &done);
    c->pending_done += done;
    if (rc == 0 && c->pending_done < c->pending_len)
        rc = MPROC_ETIMEDOUT;
    if (rc != MPROC_ETIMEDOUT) { /* gone, or never will be */
        mproc_free(c->pending);
        c->pending = NULL;
    }
    return rc;
}

/* Keeps what is left of header+data after `sent` bytes went. */
static int keep_rest(mproc_conn *c, const uint8_t *head, const void *data, size_t len, size_t sent)
{
    size_t total = FRAME_HEAD + len, rest = total - sent;
    c->pending = mproc_malloc(rest);
    if (!c->pending)
        return MPROC_ENOMEM; /* the stream is torn now; nothing else can be done */
    size_t at = 0;
    if (sent < FRAME_HEAD) {
        memcpy(c->pending, head + sent, FRAME_HEAD - sent);
        at = FRAME_HEAD - sent;
        sent = FRAME_HEAD;
    }
    memcpy(c->pending + at, (const uint8_t *)data + (sent - FRAME_HEAD), total - sent);
    c->pending_len = rest;
    c->pending_done = 0;
    return 0;
}

int mproc_conn_send(mproc_conn *c, const void *data, size_t len, int64_t timeout_ms)
{
    int rc = check(c);
    if (rc)
        return rc;
    if (!c->writable)
        return mproc__fail(MPROC_EPERM);
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    int64_t deadline = mproc__deadline(timeout_ms);
    rc = flush_pending(c, deadline);
    if (rc)
        return mproc__fail(rc);
    uint8_t head[FRAME_HEAD];
    for (int i = 0; i < FRAME_HEAD; i++)
        head[i] = (uint8_t)((uint64_t)len >> (8 * i));
    size_t sent = 0, done = 0;
    if (len <= COALESCE_MAX) {
        uint8_t frame[FRAME_HEAD + COALESCE_MAX];
        memcpy(frame, head, FRAME_HEAD);
        if (len)
            memcpy(frame + FRAME_HEAD, data, len);
        rc = mpp_conn_write(c->os, frame, FRAME_HEAD + len, deadline, &sent);
    } else {
        rc = mpp_conn_write(c->os, head, FRAME_HEAD, deadline, &sent);
        if (!rc && sent == FRAME_HEAD) {
            rc = mpp_conn_write(c->os, data, len, deadline, &done);
            sent += done;
        }
    }
    if (rc)
        return rc == MPROC_ECLOSED ? rc : mproc__fail(rc);
    if (sent == 0)
        return mproc__fail(MPROC_ETIMEDOUT);
    if (sent < FRAME_HEAD + len) {
        rc = keep_rest(c, head, data, len, sent);
        if (rc)
            return mproc__fail(rc);
    }
    return 0;
}

int mproc_conn_send_pack(mproc_conn *c, const mproc_pack *pack, int64_t timeout_ms)
{
    int rc = check(c);
    if (rc)
        return rc;
    if (!pack)
        return mproc__fail(MPROC_EINVAL);
    mproc__packed m;
    rc = mproc__pack_open_plain(pack, &m);
    if (rc)
        return rc;
    rc = mproc_conn_send(c, m.bytes.data, m.bytes.len, timeout_ms);
    mproc__pack_close(&m);
    return rc;
}

int mproc_conn_recv(mproc_conn *c, int64_t timeout_ms, mproc_bytes *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    int rc = check(c);
    if (rc)
        return rc;
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    if (!c->readable)
        return mproc__fail(MPROC_EPERM);
    if (c->at_end)
        return MPROC_ECLOSED;
    int64_t deadline = mproc__deadline(timeout_ms);
    while (c->head_got < FRAME_HEAD) {
        size_t got = 0;
        rc = mpp_conn_read(c->os, c->head + c->head_got, FRAME_HEAD - c->head_got, deadline, &got);
        if (rc == MPROC_ECLOSED) {
            c->at_end = true; /* a header cut short: its writer died mid-message */
            c->head_got = 0;
            return MPROC_ECLOSED;
        }
        if (rc)
            return rc;
        if (got == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        c->head_got += got;
    }
    if (!c->body) {
        uint64_t len = 0;
        for (int i = 0; i < FRAME_HEAD; i++)
            len |= (uint64_t)c->head[i] << (8 * i);
        if (len >= SIZE_MAX)
            return mproc__fail(MPROC_ETOOBIG);
        c->body = mproc_malloc((size_t)len ? (size_t)len : 1);
        if (!c->body)
            return mproc__fail(MPROC_ENOMEM); /* kept: a later recv may have the memory */
        c->body_len = (size_t)len;
        c->body_got = 0;
    }
    while (c->body_got < c->body_len) {
        size_t got = 0;
        rc = mpp_conn_read(c->os, c->body + c->body_got, c->body_len - c->body_got, deadline, &got);
        if (rc == MPROC_ECLOSED) {
            mproc_free(c->body); /* cut short: its writer died mid-message */
            c->body = NULL;
            c->head_got = 0;
            c->at_end = true;
            return MPROC_ECLOSED;
        }
        if (rc)
            return rc;
        if (got == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        c->body_got += got;
    }
    out->data = c->body;
    out->len = c->body_len;
    c->body = NULL;
    c->head_got = 0;
    return 0;
}

int mproc_conn_readable(mproc_conn *c)
{
    return !check(c) && c->readable;
}

int mproc_conn_writable(mproc_conn *c)
{
    return !check(c) && c->writable;
}

int mproc_conn_poll(mproc_conn *c, int64_t timeout_ms)
{
    int rc = check(c);
    if (rc)
        return rc;
    if (!c->readable)
        return mproc__fail(MPROC_EPERM);
    if (c->at_end)
        return 1;
    bool ready = false;
    mpp_waitable w = {c->os, MPP_NO_HANDLE};
    rc = mpp_wait(&w, 1, timeout_ms, &ready);
    if (rc < 0)
        return rc;
    return rc > 0 ? 1 : mproc__fail(MPROC_ETIMEDOUT);
}

/* Ends the OS side of the handle: what was half sent goes out first (within 1 s), what was
 * half received is dropped. */
static void close_os(mproc_conn *c)
{
    if (c->pending && c->os)
        flush_pending(c, mproc__deadline(1000));
    mproc_free(c->pending);
    c->pending = NULL;
    mproc_free(c->body);
    c->body = NULL;
    c->head_got = 0;
    if (c->os)
        mpp_conn_close(c->os);
    c->os = NULL;
    c->o.seg = MPP_NO_HANDLE; /* packing it now is MPROC_ECLOSED */
}

int mproc_conn_close(mproc_conn *c)
{
    if (mproc__object_check(c, MPROC__KIND_CONN))
        return mproc__fail(MPROC_EINVAL);
    close_os(c);
    return 0;
}

void mproc_conn_destroy(mproc_conn *c)
{
    if (mproc__object_check(c, MPROC__KIND_CONN))
        return;
    close_os(c);
    unlink_conn(c);
    c->o.head.magic = 0;
    mproc_free(c);
}

int mproc_conn_wait(const mproc_waitable *items, size_t n, int64_t timeout_ms, bool *ready)
{
    if ((!items && n) || !ready || n == 0)
        return mproc__fail(MPROC_EINVAL);
    mpp_waitable small[16], *w = n <= 16 ? small : mproc_malloc(n * sizeof *w);
    if (!w)
        return mproc__fail(MPROC_ENOMEM);
    int64_t deadline = mproc__deadline(timeout_ms);
    int rc = 0;
    bool any_process = false;
    for (;;) {
        /* Processes that ended are ready without waiting; so are connections at their end. */
        int count = 0;
        for (size_t i = 0; i < n && rc >= 0; i++) {
            const mproc_waitable *it = &items[i];
            ready[i] = false;
            w[i] = (mpp_waitable){NULL, MPP_NO_HANDLE};
            if ((it->conn != NULL) == (it->process != NULL)) {
                rc = mproc__fail(MPROC_EINVAL);
            } else if (it->conn) {
                int bad = check(it->conn);
                if (bad || !it->conn->readable)
                    rc = mproc__fail(bad ? bad : MPROC_EINVAL);
                else if (it->conn->at_end)
                    ready[i] = true;
                else
                    w[i].conn = it->conn->os;
            } else {
                any_process = true;
                int s = mproc__process_sentinel(it->process, &w[i].sentinel);
                if (s < 0)
                    rc = mproc__fail(s);
                ready[i] = s == 1;
            }
            count += ready[i];
        }
        if (rc < 0)
            break;
        /* Ready ones are left out of the OS wait (their slots stay empty). */
        size_t m = 0;
        mpp_waitable *live = w;
        bool *live_ready = mproc_calloc(n, sizeof *live_ready);
        size_t *index = mproc_calloc(n, sizeof *index);
        if (!live_ready || !index) {
            mproc_free(live_ready);
            mproc_free(index);
            rc = mproc__fail(MPROC_ENOMEM);
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (!ready[i]) {
                live[m] = w[i];
                index[m++] = i;
            }
        int64_t left = count ? 0 : mproc__remaining(deadline);
        /* A POSIX child's sentinel may stay quiet past its end (a grandchild holds it):
         * look again at the processes every 50 ms. */
        int64_t slice = any_process && (left < 0 || left > 50) ? 50 : left;
        int got = m ? mpp_wait(live, m, slice, live_ready) : 0;
        if (got < 0) {
            rc = got;
        } else {
            for (size_t k = 0; k < m; k++)
                if (live_ready[k]) {
                    ready[index[k]] = true;
                    count++;
                }
        }
        mproc_free(live_ready);
        mproc_free(index);
        if (rc < 0)
            break;
        if (count) {
            /* A sentinel that fired means the process ended (or will be seen ending). */
            rc = count;
            break;
        }
        if (mproc__remaining(deadline) == 0) {
            rc = mproc__fail(MPROC_ETIMEDOUT);
            break;
        }
    }
    if (w != small)
        mproc_free(w);
    return rc;
}

int mproc_unpack_conn(mproc_unpacker *u, mproc_conn **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, MPROC__KIND_CONN, recs, &n);
    if (rc)
        return rc;
    unsigned flags = (unsigned)recs[0].size & (CONN_READ | CONN_WRITE);
    /* The end a child received is its own to close (once); other unpacks duplicate. */
    mpp_handle h = (mpp_handle)recs[0].seg;
    if (!mproc__take_received(h)) {
        rc = mpp_handle_dup(h, &h);
        if (rc)
            return rc;
    }
    mpp_conn *os;
    rc = mpp_conn_adopt(h, &os);
    if (rc) {
        mpp_handle_close(h);
        return rc;
    }
    rc = conn_wrap(os, flags, out);
    if (rc)
        mpp_conn_close(os);
    return rc;
}
