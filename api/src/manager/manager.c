/* Managers (mproc/manager.h): the server, its objects, the wire protocol and the proxies.
 * doc/manager-protocol.md describes the protocol; this file is its implementation.
 *
 * Server: one listener thread, one thread per connection, every object behind one mutex
 * and one condition variable (a change wakes every waiter, which re-checks its own
 * condition). Waits are cut into short slices so a stopping server is noticed.
 *
 * Client: each process keeps one "link" per (address, key): a stack of idle, authenticated
 * connections. A call takes one (or opens one), does its round trip and gives it back, so
 * threads never share a connection and a forked child never uses its parent's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modules.h"
#include "base/sha256.h"

/* ---- protocol constants ------------------------------------------------------------------ */
#define HELLO_MAGIC "MPROCMGR"
#define PROTO_VERSION 1u
#define NONCE_LEN 32
#define HELLO_LEN (8 + 4 + 8 + NONCE_LEN)        /* magic, version, max_message, nonce */
#define ANSWER_LEN (MPROC__SHA256_LEN + NONCE_LEN + 8) /* mac, client nonce, client token */
#define PRE_AUTH_MAX 256                          /* largest frame before authentication */
#define DEFAULT_MAX_MESSAGE (((size_t)1 << 30) + 65536)
#define SLICE_MS 2000     /* the longest wait a proxy asks of the server at once */
#define GRACE_MS 30000    /* how much longer than the server's wait a reply may take */
#define POLL_MS 200       /* how often server threads look at the stop flag */
#define MAX_CONNECTIONS 1024

enum kind {
    K_DICT = 1, K_LIST, K_NS, K_QUEUE, K_LOCK, K_SEM, K_EVENT, K_COND, K_BARRIER, K_VALUE,
    K_ARRAY, K_MANAGER = 100
};
enum flag { F_JOINABLE = 1, F_RECURSIVE = 2, F_BOUNDED = 4 };

enum op {
    OP_CREATE = 1, OP_REGISTER, OP_LOOKUP, OP_SHUTDOWN, OP_BATCH,
    OP_D_SET = 20, OP_D_GET, OP_D_DEL, OP_D_CONTAINS, OP_D_LEN, OP_D_KEYS, OP_D_ITEMS,
    OP_D_UPDATE, OP_D_CLEAR, OP_D_SETDEFAULT, OP_D_POP, OP_D_ADD, OP_D_CAS,
    OP_L_APPEND = 40, OP_L_EXTEND, OP_L_GET, OP_L_SET, OP_L_POP, OP_L_LEN, OP_L_REVERSE,
    OP_L_SLICE,
    OP_Q_PUT = 60, OP_Q_GET, OP_Q_QSIZE, OP_Q_FULL, OP_Q_TASK_DONE, OP_Q_JOIN, OP_Q_EMPTY,
    OP_LK_ACQUIRE = 70, OP_LK_RELEASE,
    OP_S_ACQUIRE = 75, OP_S_RELEASE, OP_S_VALUE,
    OP_E_SET = 80, OP_E_CLEAR, OP_E_IS_SET, OP_E_WAIT,
    OP_C_WAIT = 85, OP_C_NOTIFY,
    OP_B_WAIT = 90, OP_B_ABORT, OP_B_RESET, OP_B_INFO,
    OP_V_GET_I64 = 100, OP_V_GET_F64, OP_V_SET_I64, OP_V_SET_F64, OP_V_ADD, OP_V_CAS, OP_V_LEN
};

/* Byte order on the wire: little endian (mproc__put_u32le and the like). */
/* ---- framed streams (both sides) -----------------------------------------------------------
 * A frame is a u32 length and that many bytes. Reads go through a buffer so that a small
 * frame costs one system call. */
typedef struct stream {
    mpp_conn *conn;
    uint8_t rb[16384];
    size_t rpos, rlen;
    mproc__buf frame; /* the last frame read */
    mproc__buf out;   /* a frame being written */
} stream;

/* Reads exactly len bytes before the deadline. stop (may be NULL) is polled between
 * slices: a stopping server gives up with MPROC_ECLOSED. */
static int read_exact(stream *s, void *dst, size_t len, int64_t deadline, const bool *stop)
{
    uint8_t *p = dst;
    while (len) {
        if (s->rpos < s->rlen) {
            size_t n = s->rlen - s->rpos < len ? s->rlen - s->rpos : len;
            memcpy(p, s->rb + s->rpos, n);
            s->rpos += n, p += n, len -= n;
            continue;
        }
        if (stop && mproc__load(stop))
            return MPROC_ECLOSED;
        int64_t slice = deadline;
        if (stop) {
            int64_t soon = mpp_monotonic_ms() + POLL_MS;
            slice = deadline < 0 || deadline > soon ? soon : deadline;
        }
        size_t got = 0;
        int rc;
        if (len >= sizeof s->rb) { /* a big body: straight into place */
            rc = mpp_conn_read(s->conn, p, len, slice, &got);
            p += got, len -= got;
        } else {
            rc = mpp_conn_read(s->conn, s->rb, sizeof s->rb, slice, &got);
            s->rpos = 0, s->rlen = got;
        }
        if (rc)
            return rc;
        if (!got && slice == deadline && mproc__remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
    }
    return 0;
}

/* Reads one frame into s->frame. MPROC_ETOOBIG (nothing more read) if it exceeds max. */
static int read_frame(stream *s, size_t max, int64_t deadline, const bool *stop,
                      size_t *size)
{
    uint8_t head[4];
    int rc = read_exact(s, head, 4, deadline, stop);
    if (rc)
        return rc;
    *size = mproc__get_u32le(head);
    if (*size > max)
        return MPROC_ETOOBIG;
    s->frame.len = 0;
    rc = mproc__buf_reserve(&s->frame, *size ? *size : 1);
    if (rc)
        return rc;
    /* The body follows the head at once: a short stall here is a broken peer, not a slow
     * one, unless the frame is big. */
    rc = read_exact(s, s->frame.data, *size, deadline, stop);
    if (!rc)
        s->frame.len = *size;
    return rc == MPROC_ECLOSED && !(stop && mproc__load(stop)) ? MPROC_EPROTO : rc; /* cut mid-frame */
}

static int write_frame(stream *s, const void *data, size_t len, int64_t deadline)
{
    if (len > UINT32_MAX)
        return MPROC_ETOOBIG;
    uint8_t head[4];
    mproc__put_u32le(head, (uint32_t)len);
    size_t done = 0;
    int rc;
    if (len <= 65536) { /* one write for head and body */
        s->out.len = 0;
        rc = mproc__buf_append(&s->out, head, 4);
        rc = rc ? rc : mproc__buf_append(&s->out, data, len);
        if (rc)
            return rc;
        rc = mpp_conn_write(s->conn, s->out.data, s->out.len, deadline, &done);
        return rc ? rc : done < s->out.len ? MPROC_ETIMEDOUT : 0;
    }
    rc = mpp_conn_write(s->conn, head, 4, deadline, &done);
    if (!rc && done == 4)
        rc = mpp_conn_write(s->conn, data, len, deadline, &done);
    return rc ? rc : done < len ? MPROC_ETIMEDOUT : 0;
}

static void stream_free(stream *s)
{
    if (s->conn)
        mpp_conn_close(s->conn);
    mproc__buf_free(&s->frame);
    mproc__buf_free(&s->out);
    mproc_free(s);
}

static void mac_of(const uint8_t *key, size_t key_len, const char *label, const uint8_t *nonce,
                   uint8_t out[MPROC__SHA256_LEN])
{
    mproc__hmac_sha256_2(key, key_len, label, strlen(label), nonce, NONCE_LEN, out);
}

/* ==== server =================================================================================== */

typedef struct entry {
    uint8_t *key;
    size_t klen;
    mproc_bytes val;
    uint64_t hash;
    bool live;
} entry;

/* An insertion-ordered hash map of bytes: entries in order, an open-addressing index of
 * entry numbers + 1 (0: empty). Deleted entries stay as tombstones until the next grow. */
typedef struct dict {
    entry *entries;
    size_t n, cap, live;
    uint32_t *index;
    size_t slots; /* a power of two, >= 2 cap */
} dict;

typedef struct owner {
    uint64_t token, thread;
} owner;

typedef struct sobj {
    uint32_t kind, flags;
    union {
        dict d;
        struct { mproc_bytes *items; size_t n, cap; } l;
        struct { mproc_bytes *items; size_t head, n, cap; int64_t maxsize, unfinished; } q;
        struct { owner who; int64_t count; bool owner_died; } lk;
        struct { int64_t value, bound; } sem;
        bool event;
        struct { uint64_t lock; int64_t waiting, to_wake; } cond;
        struct { int64_t parties, count; uint64_t generation, resets; bool broken; } bar;
        struct { uint32_t type; size_t n, elem; uint8_t *data; } arr;
    } u;
} sobj;

typedef struct client {
    uint64_t token;
    int64_t connections;
} client;

typedef struct sconn {
    struct server *srv;
    stream *st;
    mpp_thread *thread;
    bool done;     /* read and written atomically */
    struct sconn *next;
} sconn;

typedef struct server {
    mpp_listener *listener;
    char address[256];
    uint8_t *key;
    size_t key_len;
    size_t max_message;
    mpp_mutex *mu;
    mpp_cond *cv; /* broadcast on every change of any object, and on stop */
    sobj **objs;
    size_t nobjs, cap;
    dict names; /* name -> 8-byte object id */
    client *clients;
    size_t nclients, ccap;
    sconn *conns;
    size_t nconns;
    mpp_thread *acceptor;
    bool stopping; /* read and written atomically */
    bool stopped;  /* under mu: every thread is gone */
    bool orphaned; /* a forked child's copy: no threads, nothing to stop */
    struct server *next_server;
} server;

static server *servers; /* this process's, under mpp_lock (for a forked child's cleanup) */
static void manager_after_fork(void);
static mproc__fork_hook fork_hook = {.fn = manager_after_fork};

/* ---- the ordered dict ------------------------------------------------------------------- */
static uint64_t hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* The entry number of key, or -1. *slot receives where it is, or the first free slot. */
static int64_t dict_find(const dict *d, const void *key, size_t klen, uint64_t h, size_t *slot)
{
    if (!d->slots) {
        *slot = 0;
        return -1;
    }
    size_t mask = d->slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t e = d->index[i];
        if (!e) {
            *slot = i;
            return -1;
        }
        const entry *en = &d->entries[e - 1];
        if (en->live && en->hash == h && en->klen == klen && !memcmp(en->key, key, klen)) {
            *slot = i;
            return e - 1;
        }
    }
}

/* Makes room for one more entry: drops tombstones and grows the arrays when full. */
static int dict_room(dict *d)
{
    if (d->n < d->cap)
        return 0;
    size_t cap = d->live * 2 > 8 ? d->live * 2 : 8;
    if (cap > UINT32_MAX / 4)
        return MPROC_ENOMEM;
    entry *entries = mproc_malloc(cap * sizeof *entries);
    uint32_t *index = mproc_calloc(cap * 2, sizeof *index);
    if (!entries || !index) {
        mproc_free(entries);
        mproc_free(index);
        return MPROC_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].live)
            entries[n++] = d->entries[i];
    mproc_free(d->entries);
    mproc_free(d->index);
    d->entries = entries, d->index = index, d->n = n, d->cap = cap, d->slots = cap * 2;
    for (size_t i = 0; i < n; i++) {
        size_t slot;
        dict_find(d, entries[i].key, entries[i].klen, entries[i].hash, &slot);
        d->index[slot] = (uint32_t)(i + 1);
    }
    return 0;
}

static entry *dict_get(const dict *d, const void *key, size_t klen)
{
    size_t slot;
    int64_t e = dict_find(d, key, klen, hash_bytes(key, klen), &slot);
    return e < 0 ? NULL : &d->entries[e];
}

/* Stores a copy of val under key (a new entry goes last). */
static int dict_put(dict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint64_t h = hash_bytes(key, klen);
    size_t slot;
    int64_t e = dict_find(d, key, klen, h, &slot);
    mproc_bytes copy = {0};
    if (mproc_bytes_copy(&copy, val, vlen))
        return MPROC_ENOMEM;
    if (e >= 0) {
        mproc_bytes_free(&d->entries[e].val);
        d->entries[e].val = copy;
        return 0;
    }
    uint8_t *kcopy = mproc_malloc(klen ? klen : 1);
    int rc = kcopy ? dict_room(d) : MPROC_ENOMEM;
    if (rc) {
        mproc_free(kcopy);
        mproc_bytes_free(&copy);
        return rc;
    }
    if (klen)
        memcpy(kcopy, key, klen);
    dict_find(d, key, klen, h, &slot); /* the slot may have moved with the grow */
    d->entries[d->n] = (entry){kcopy, klen, copy, h, true};
    d->index[slot] = (uint32_t)(++d->n);
    d->live++;
    return 0;
}

/* Removes key; its value goes to *val (or is freed). */
static bool dict_del(dict *d, const void *key, size_t klen, mproc_bytes *val)
{
    entry *en = dict_get(d, key, klen);
    if (!en)
        return false;
    if (val)
        *val = en->val;
    else
        mproc_bytes_free(&en->val);
    mproc_free(en->key);
    en->key = NULL;
    en->live = false;
    d->live--;
    return true;
}

static void dict_free(dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].live) {
            mproc_free(d->entries[i].key);
            mproc_bytes_free(&d->entries[i].val);
        }
    mproc_free(d->entries);
    mproc_free(d->index);
    memset(d, 0, sizeof *d);
}

/* ---- server objects ---------------------------------------------------------------------- */
static void sobj_free(sobj *o)
{
    if (!o)
        return;
    switch (o->kind) {
    case K_DICT: case K_NS: dict_free(&o->u.d); break;
    case K_LIST:
        for (size_t i = 0; i < o->u.l.n; i++)
            mproc_bytes_free(&o->u.l.items[i]);
        mproc_free(o->u.l.items);
        break;
    case K_QUEUE:
        for (size_t i = 0; i < o->u.q.n; i++)
            mproc_bytes_free(&o->u.q.items[(o->u.q.head + i) % o->u.q.cap]);
        mproc_free(o->u.q.items);
        break;
    case K_VALUE: case K_ARRAY: mproc_free(o->u.arr.data); break;
    default: break;
    }
    mproc_free(o);
}

/* Adds an object; its id (1-based) goes to *id. */
static int add_object(server *s, sobj *o, uint64_t *id)
{
    if (s->nobjs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sobj **objs = mproc_realloc(s->objs, cap * sizeof *objs);
        if (!objs)
            return MPROC_ENOMEM;
        s->objs = objs, s->cap = cap;
    }
    s->objs[s->nobjs++] = o;
    *id = s->nobjs;
    return 0;
}

static sobj *object_at(server *s, uint64_t id)
{
    return id >= 1 && id <= s->nobjs ? s->objs[id - 1] : NULL;
}

/* The connection this server thread answers (its waits end when that client is gone). */
static _Thread_local mpp_conn *serving;

/* One wait slice on the server's condition. 0 to re-check, MPROC_ETIMEDOUT once the
 * deadline passed, MPROC_ECLOSED when the server stops or the waiting client is gone. */
static int srv_wait(server *s, int64_t deadline)
{
    if (mproc__load(&s->stopping) || (serving && mpp_conn_peer_closed(serving)))
        return MPROC_ECLOSED;
    int64_t left = mproc__remaining(deadline);
    if (left == 0)
        return MPROC_ETIMEDOUT;
    mpp_cond_wait(s->cv, s->mu, left < 0 || left > POLL_MS ? POLL_MS : left);
    return 0;
}

static bool same_owner(owner a, owner b)
{
    return a.token == b.token && a.thread == b.thread;
}

static int lock_acquire(server *s, sobj *o, owner who, int64_t deadline)
{
    if ((o->flags & F_RECURSIVE) && o->u.lk.count > 0 && same_owner(o->u.lk.who, who)) {
        o->u.lk.count++;
        return 0;
    }
    for (;;) {
        if (o->u.lk.count == 0) {
            o->u.lk.count = 1;
            o->u.lk.who = who;
            bool died = o->u.lk.owner_died;
            o->u.lk.owner_died = false;
            return died ? MPROC_EOWNERDEAD : 0;
        }
        int rc = srv_wait(s, deadline);
        if (rc)
            return rc;
    }
}

static int lock_release(server *s, sobj *o, owner who)
{
    if (o->u.lk.count == 0 || ((o->flags & F_RECURSIVE) && !same_owner(o->u.lk.who, who)))
        return MPROC_ESTATE;
    if (--o->u.lk.count == 0 || !(o->flags & F_RECURSIVE)) {
        o->u.lk.count = 0;
        mpp_cond_broadcast(s->cv);
    }
    return 0;
}

/* Python's Condition.wait: release the lock whole, wait for a notify, take it back. */
static int cond_wait(server *s, sobj *c, owner who, int64_t deadline)
{
    sobj *lk = object_at(s, c->u.cond.lock);
    if (!lk || lk->u.lk.count == 0 || !same_owner(lk->u.lk.who, who))
        return MPROC_ESTATE;
    int64_t saved = lk->u.lk.count;
    lk->u.lk.count = 0;
    c->u.cond.waiting++;
    mpp_cond_broadcast(s->cv);
    int rc;
    for (;;) {
        if (c->u.cond.to_wake > 0) {
            c->u.cond.to_wake--;
            rc = 0;
            break;
        }
        rc = srv_wait(s, deadline);
        if (rc)
            break;
    }
    c->u.cond.waiting--;
    if (c->u.cond.to_wake > c->u.cond.waiting)
        c->u.cond.to_wake = c->u.cond.waiting;
    while (lk->u.lk.count != 0) /* taken back whatever the outcome, as Python's */
        if (srv_wait(s, -1) == MPROC_ECLOSED)
            return MPROC_ECLOSED;
    lk->u.lk.count = saved;
    lk->u.lk.who = who;
    lk->u.lk.owner_died = false;
    return rc;
}

static int barrier_wait(server *s, sobj *b, int64_t deadline, int64_t *index)
{
    if (b->u.bar.broken)
        return MPROC_EBROKEN;
    uint64_t gen = b->u.bar.generation, resets = b->u.bar.resets;
    *index = b->u.bar.count++;
    if (b->u.bar.count == b->u.bar.parties) {
        b->u.bar.count = 0;
        b->u.bar.generation++;
        mpp_cond_broadcast(s->cv);
        return 0;
    }
    for (;;) {
        if (b->u.bar.resets != resets)
            return MPROC_EBROKEN;
        if (b->u.bar.generation != gen)
            return 0;
        if (b->u.bar.broken) {
            b->u.bar.count--;
            return MPROC_EBROKEN;
        }
        int rc = srv_wait(s, deadline);
        if (rc) {
            b->u.bar.count--;
            b->u.bar.broken = true;
            mpp_cond_broadcast(s->cv);
            return rc;
        }
    }
}

/* The pieces of a request: the decoded header and the caller. */
typedef struct request {
    uint64_t id;
    int64_t op, timeout;
    owner who;
    mproc_unpacker args;
} request;

/* Reads a key or value field: BYTES, or STR as its text. */
static int take_blob(mproc_unpacker *u, const void **data, size_t *len)
{
    if (mproc_unpack_peek(u) == MPROC_FIELD_STR) {
        const char *s;
        int rc = mproc_unpack_strn(u, &s, len);
        *data = s;
        return rc;
    }
    return mproc_unpack_bytes(u, data, len);
}

static int64_t list_index(int64_t i, size_t n)
{
    return i < 0 ? i + (int64_t)n : i;
}

static int ops_dict(sobj *o, request *r, mproc_pack *res)
{
    dict *d = &o->u.d;
    mproc_unpacker *a = &r->args;
    const void *key = NULL, *val = NULL, *exp = NULL;
    size_t klen = 0, vlen = 0, elen = 0;
    int rc = 0;
    if (r->op != OP_D_LEN && r->op != OP_D_KEYS && r->op != OP_D_ITEMS && r->op != OP_D_UPDATE &&
        r->op != OP_D_CLEAR && (rc = take_blob(a, &key, &klen)) != 0)
        return MPROC_EPROTO;
    entry *en;
    switch (r->op) {
    case OP_D_SET:
        if (take_blob(a, &val, &vlen))
            return MPROC_EPROTO;
        return dict_put(d, key, klen, val, vlen);
    case OP_D_GET:
        en = dict_get(d, key, klen);
        return en ? mproc_pack_bytes(res, en->val.data, en->val.len) : MPROC_ENOENT;
    case OP_D_DEL:
        return dict_del(d, key, klen, NULL) ? 0 : MPROC_ENOENT;
    case OP_D_CONTAINS:
        return mproc_pack_i64(res, dict_get(d, key, klen) != NULL);
    case OP_D_LEN:
        return mproc_pack_i64(res, (int64_t)d->live);
    case OP_D_KEYS:
    case OP_D_ITEMS: {
        mproc_pack *list;
        if (mproc_pack_create(&list))
            return MPROC_ENOMEM;
        for (size_t i = 0; i < d->n && !rc; i++) {
            if (!d->entries[i].live)
                continue;
            rc = mproc_pack_bytes(list, d->entries[i].key, d->entries[i].klen);
            if (!rc && r->op == OP_D_ITEMS)
                rc = mproc_pack_bytes(list, d->entries[i].val.data, d->entries[i].val.len);
        }
        rc = rc ? rc : mproc_pack_pack(res, list);
        mproc_pack_destroy(list);
        return rc;
    }
    case OP_D_UPDATE: {
        mproc_unpacker items;
        if (mproc_unpack_pack(a, &items))
            return MPROC_EPROTO;
        int n = mproc_unpack_remaining(&items);
        if (n < 0 || n % 2)
            return MPROC_EINVAL;
        while (!rc && mproc_unpack_peek(&items) > 0) {
            if (take_blob(&items, &key, &klen) || take_blob(&items, &val, &vlen))
                return MPROC_ETYPE;
            rc = dict_put(d, key, klen, val, vlen);
        }
        return rc;
    }
    case OP_D_CLEAR:
        dict_free(d);
        return 0;
    case OP_D_SETDEFAULT:
        if (take_blob(a, &val, &vlen))
            return MPROC_EPROTO;
        if (!(en = dict_get(d, key, klen))) {
            if ((rc = dict_put(d, key, klen, val, vlen)) != 0)
                return rc;
            en = dict_get(d, key, klen);
        }
        return mproc_pack_bytes(res, en->val.data, en->val.len);
    case OP_D_POP: {
        mproc_bytes v;
        if (!dict_del(d, key, klen, &v))
            return MPROC_ENOENT;
        rc = mproc_pack_bytes(res, v.data, v.len);
        mproc_bytes_free(&v);
        return rc;
    }
    case OP_D_ADD: {
        int64_t delta, now = 0;
        if (mproc_unpack_i64(a, &delta))
            return MPROC_EPROTO;
        if ((en = dict_get(d, key, klen)) != NULL) {
            if (en->val.len != 8)
                return MPROC_ETYPE;
            now = (int64_t)mproc__get_u64le(en->val.data);
        }
        if ((delta > 0 && now > INT64_MAX - delta) || (delta < 0 && now < INT64_MIN - delta))
            return MPROC_ETOOBIG;
        uint8_t le[8];
        mproc__put_u64le(le, (uint64_t)(now + delta));
        rc = en ? (memcpy(en->val.data, le, 8), 0) : dict_put(d, key, klen, le, 8);
        return rc ? rc : mproc_pack_i64(res, now + delta);
    }
    case OP_D_CAS: {
        int64_t absent;
        if (mproc_unpack_i64(a, &absent) || take_blob(a, &exp, &elen) || take_blob(a, &val, &vlen))
            return MPROC_EPROTO;
        en = dict_get(d, key, klen);
        bool match = absent ? !en
                            : en && en->val.len == elen && !memcmp(en->val.data, exp, elen);
        if (match && (rc = dict_put(d, key, klen, val, vlen)) != 0)
            return rc;
        return mproc_pack_i64(res, match);
    }
    default:
        return MPROC_EPROTO;
    }
}

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

static int ops_list(sobj *o, request *r, mproc_pack *res)
{
    mproc_unpacker *a = &r->args;
    mproc_bytes *items = o->u.l.items;
    size_t n = o->u.l.n;
    const void *data;
    size_t len;
    int64_t i = 0, j = 0;
    int rc = 0;
    switch (r->op) {
    case OP_L_APPEND:
        if (take_blob(a, &data, &len))
            return MPROC_EPROTO;
        if ((rc = list_grow(o, 1)) != 0 || (rc = mproc_bytes_copy(&o->u.l.items[n], data, len)))
            return rc;
        o->u.l.n++;
        return 0;
    case OP_L_EXTEND: {
        mproc_unpacker in;
        if (mproc_unpack_pack(a, &in))
            return MPROC_EPROTO;
        int count = mproc_unpack_remaining(&in);
        if (count < 0)
            return MPROC_EINVAL;
        if ((rc = list_grow(o, (size_t)count)) != 0)
            return rc;
        for (int k = 0; k < count; k++) { /* all or nothing */
            if ((rc = take_blob(&in, &data, &len)) != 0 ||
                (rc = mproc_bytes_copy(&o->u.l.items[n + (size_t)k], data, len)) != 0) {
                while (k-- > 0)
                    mproc_bytes_free(&o->u.l.items[n + (size_t)k]);
                return rc == MPROC_ENOMEM ? rc : MPROC_ETYPE;
            }
        }
        o->u.l.n += (size_t)count;
        return 0;
    }
    case OP_L_GET:
    case OP_L_SET:
    case OP_L_POP:
        if (mproc_unpack_i64(a, &i))
            return MPROC_EPROTO;
        i = list_index(i, n);
        if (i < 0 || (uint64_t)i >= n)
            return MPROC_ENOENT;
        if (r->op == OP_L_GET)
            return mproc_pack_bytes(res, items[i].data, items[i].len);
        if (r->op == OP_L_SET) {
            mproc_bytes copy;
            if (take_blob(a, &data, &len))
                return MPROC_EPROTO;
            if ((rc = mproc_bytes_copy(&copy, data, len)) != 0)
                return rc;
            mproc_bytes_free(&items[i]);
            items[i] = copy;
            return 0;
        }
        if ((rc = mproc_pack_bytes(res, items[i].data, items[i].len)) != 0)
            return rc;
        mproc_bytes_free(&items[i]);
        memmove(&items[i], &items[i + 1], (n - (size_t)i - 1) * sizeof *items);
        o->u.l.n--;
        return 0;
    case OP_L_LEN:
        return mproc_pack_i64(res, (int64_t)n);
    case OP_L_REVERSE:
        for (size_t k = 0; k < n / 2; k++) {
            mproc_bytes t = items[k];
            items[k] = items[n - 1 - k];
            items[n - 1 - k] = t;
        }
        return 0;
    case OP_L_SLICE: {
        if (mproc_unpack_i64(a, &i) || mproc_unpack_i64(a, &j))
            return MPROC_EPROTO;
        /* Python's rules: negative from the end, then clamped to [0, n]. */
        i = i < 0 ? (i + (int64_t)n < 0 ? 0 : i + (int64_t)n) : (i > (int64_t)n ? (int64_t)n : i);
        j = j < 0 ? (j + (int64_t)n < 0 ? 0 : j + (int64_t)n) : (j > (int64_t)n ? (int64_t)n : j);
        mproc_pack *out;
        if (mproc_pack_create(&out))
            return MPROC_ENOMEM;
        for (int64_t k = i; k < j && !rc; k++)
            rc = mproc_pack_bytes(out, items[k].data, items[k].len);
        rc = rc ? rc : mproc_pack_pack(res, out);
        mproc_pack_destroy(out);
        return rc;
    }
    default:
        return MPROC_EPROTO;
    }
}

static int ops_queue(server *s, sobj *o, request *r, mproc_pack *res)
{
    int64_t deadline = mproc__deadline(r->timeout);
    bool joinable = o->flags & F_JOINABLE;
    int rc;
    switch (r->op) {
    case OP_Q_PUT: {
        const void *data;
        size_t len;
        if (take_blob(&r->args, &data, &len))
            return MPROC_EPROTO;
        while (o->u.q.maxsize > 0 && o->u.q.n >= (size_t)o->u.q.maxsize)
            if ((rc = srv_wait(s, deadline)) != 0)
                return rc == MPROC_ETIMEDOUT ? MPROC_EFULL : rc;
        if (o->u.q.n == o->u.q.cap) {
            size_t cap = o->u.q.cap ? o->u.q.cap * 2 : 16;
            mproc_bytes *items = mproc_malloc(cap * sizeof *items);
            if (!items)
                return MPROC_ENOMEM;
            for (size_t k = 0; k < o->u.q.n; k++)
                items[k] = o->u.q.items[(o->u.q.head + k) % o->u.q.cap];
            mproc_free(o->u.q.items);
            o->u.q.items = items, o->u.q.cap = cap, o->u.q.head = 0;
        }
        mproc_bytes *slot = &o->u.q.items[(o->u.q.head + o->u.q.n) % o->u.q.cap];
        if ((rc = mproc_bytes_copy(slot, data, len)) != 0)
            return rc;
        o->u.q.n++;
        o->u.q.unfinished++;
        mpp_cond_broadcast(s->cv);
        return 0;
    }
    case OP_Q_GET: {
        while (o->u.q.n == 0)
            if ((rc = srv_wait(s, deadline)) != 0)
                return rc == MPROC_ETIMEDOUT ? MPROC_EEMPTY : rc;
        mproc_bytes *slot = &o->u.q.items[o->u.q.head];
        if ((rc = mproc_pack_bytes(res, slot->data, slot->len)) != 0)
            return rc;
        mproc_bytes_free(slot);
        o->u.q.head = (o->u.q.head + 1) % o->u.q.cap;
        o->u.q.n--;
        mpp_cond_broadcast(s->cv);
        return 0;
    }
    case OP_Q_QSIZE:
        return mproc_pack_i64(res, (int64_t)o->u.q.n);
    case OP_Q_FULL:
        return mproc_pack_i64(res, o->u.q.maxsize > 0 && o->u.q.n >= (size_t)o->u.q.maxsize);
    case OP_Q_EMPTY:
        return mproc_pack_i64(res, o->u.q.n == 0);
    case OP_Q_TASK_DONE:
        if (!joinable)
            return MPROC_ETYPE;
        if (o->u.q.unfinished <= 0)
            return MPROC_ESTATE;
        if (--o->u.q.unfinished == 0)
            mpp_cond_broadcast(s->cv);
        return 0;
    case OP_Q_JOIN:
        if (!joinable)
            return MPROC_ETYPE;
        while (o->u.q.unfinished > 0)
            if ((rc = srv_wait(s, deadline)) != 0)
                return rc;
        return 0;
    default:
        return MPROC_EPROTO;
    }
}

static int ops_sync(server *s, sobj *o, request *r, mproc_pack *res)
{
    int64_t deadline = mproc__deadline(r->timeout), n = 0;
    int rc;
    sobj *lock = o;
    if (o->kind == K_COND && (r->op == OP_LK_ACQUIRE || r->op == OP_LK_RELEASE))
        lock = object_at(s, o->u.cond.lock);
    switch (r->op) {
    case OP_LK_ACQUIRE:
        return lock->kind == K_LOCK ? lock_acquire(s, lock, r->who, deadline) : MPROC_ETYPE;
    case OP_LK_RELEASE:
        return lock->kind == K_LOCK ? lock_release(s, lock, r->who) : MPROC_ETYPE;
    case OP_S_ACQUIRE:
        while (o->u.sem.value == 0)
            if ((rc = srv_wait(s, deadline)) != 0)
                return rc;
        o->u.sem.value--;
        return 0;
    case OP_S_RELEASE:
        if ((o->flags & F_BOUNDED) && o->u.sem.value >= o->u.sem.bound)
            return MPROC_ESTATE;
        o->u.sem.value++;
        mpp_cond_broadcast(s->cv);
        return 0;
    case OP_S_VALUE:
        return mproc_pack_i64(res, o->u.sem.value);
    case OP_E_SET:
        o->u.event = true;
        mpp_cond_broadcast(s->cv);
        return 0;
    case OP_E_CLEAR:
        o->u.event = false;
        return 0;
    case OP_E_IS_SET:
        return mproc_pack_i64(res, o->u.event);
    case OP_E_WAIT:
        while (!o->u.event)
            if ((rc = srv_wait(s, deadline)) != 0)
                return rc;
        return 0;
    case OP_C_WAIT:
        return cond_wait(s, o, r->who, deadline);
    case OP_C_NOTIFY: {
        sobj *lk = object_at(s, o->u.cond.lock);
        if (mproc_unpack_i64(&r->args, &n) || n < 0)
            return MPROC_EPROTO;
        if (!lk || lk->u.lk.count == 0 || !same_owner(lk->u.lk.who, r->who))
            return MPROC_ESTATE;
        int64_t idle = o->u.cond.waiting - o->u.cond.to_wake;
        o->u.cond.to_wake += n < idle ? n : idle;
        mpp_cond_broadcast(s->cv);
        return 0;
    }
    case OP_B_WAIT:
        rc = barrier_wait(s, o, deadline, &n);
        return rc ? rc : mproc_pack_i64(res, n);
    case OP_B_ABORT:
        o->u.bar.broken = true;
        mpp_cond_broadcast(s->cv);
        return 0;
    case OP_B_RESET:
        o->u.bar.resets++;
        o->u.bar.count = 0;
        o->u.bar.broken = false;
        mpp_cond_broadcast(s->cv);
        return 0;
    case OP_B_INFO:
        rc = mproc_pack_i64(res, o->u.bar.parties);
        rc = rc ? rc : mproc_pack_i64(res, o->u.bar.count);
        return rc ? rc : mproc_pack_i64(res, o->u.bar.broken);
    default:
        return MPROC_EPROTO;
    }
}

static int ops_value(sobj *o, request *r, mproc_pack *res)
{
    int64_t index = 0, i = 0, j = 0;
    double f = 0;
    if (r->op == OP_V_LEN)
        return mproc_pack_i64(res, (int64_t)o->u.arr.n);
    if (mproc_unpack_i64(&r->args, &index))
        return MPROC_EPROTO;
    if (index < 0 || (uint64_t)index >= o->u.arr.n)
        return MPROC_EINVAL;
    uint32_t type = o->u.arr.type;
    uint8_t *p = o->u.arr.data + (size_t)index * o->u.arr.elem;
    int rc;
    switch (r->op) {
    case OP_V_GET_I64:
        rc = mproc__elem_get_i64(type, p, &i);
        return rc ? rc : mproc_pack_i64(res, i);
    case OP_V_GET_F64:
        mproc__elem_get_f64(type, p, &f);
        return mproc_pack_f64(res, f);
    case OP_V_SET_I64:
        return mproc_unpack_i64(&r->args, &i) ? MPROC_EPROTO : mproc__elem_set_i64(type, p, i);
    case OP_V_SET_F64:
        return mproc_unpack_f64(&r->args, &f) ? MPROC_EPROTO : mproc__elem_set_f64(type, p, f);
    case OP_V_ADD:
        if (mproc_unpack_i64(&r->args, &i))
            return MPROC_EPROTO;
        rc = mproc__elem_add_i64(type, p, i, &j);
        return rc ? rc : mproc_pack_i64(res, j);
    case OP_V_CAS: {
        int64_t now;
        if (mproc_unpack_i64(&r->args, &i) || mproc_unpack_i64(&r->args, &j))
            return MPROC_EPROTO;
        if ((rc = mproc__elem_get_i64(type, p, &now)) != 0)
            return rc;
        if (now == i && (rc = mproc__elem_set_i64(type, p, j)) != 0)
            return rc;
        return mproc_pack_i64(res, now == i);
    }
    default:
        return MPROC_EPROTO;
    }
}

/* OP_CREATE: kind, flags, a, b. */
static int op_create(server *s, request *r, mproc_pack *res)
{
    int64_t kind, flags, a, b;
    if (mproc_unpack_i64(&r->args, &kind) || mproc_unpack_i64(&r->args, &flags) ||
        mproc_unpack_i64(&r->args, &a) || mproc_unpack_i64(&r->args, &b))
        return MPROC_EPROTO;
    if (kind < K_DICT || kind > K_ARRAY || flags < 0 || flags > 7)
        return MPROC_EINVAL;
    sobj *o = mproc_calloc(1, sizeof *o);
    if (!o)
        return MPROC_ENOMEM;
    o->kind = (uint32_t)kind;
    o->flags = (uint32_t)flags;
    int rc = 0;
    uint64_t id = 0;
    switch (kind) {
    case K_QUEUE: o->u.q.maxsize = a; break;
    case K_SEM:
        if (a < 0)
            rc = MPROC_EINVAL;
        o->u.sem.value = o->u.sem.bound = a;
        break;
    case K_BARRIER:
        if (a < 1 || a > INT32_MAX)
            rc = MPROC_EINVAL;
        o->u.bar.parties = a;
        break;
    case K_COND: {
        sobj *lk = a ? object_at(s, (uint64_t)a) : NULL;
        if (a && (!lk || lk->kind != K_LOCK)) {
            rc = a && lk ? MPROC_ETYPE : MPROC_EINVAL;
            break;
        }
        if (!a) { /* its own RLock */
            sobj *own = mproc_calloc(1, sizeof *own);
            if (!own || (rc = add_object(s, own, &id)) != 0) {
                mproc_free(own);
                rc = rc ? rc : MPROC_ENOMEM;
                break;
            }
            own->kind = K_LOCK;
            own->flags = F_RECURSIVE;
            a = (int64_t)id;
        }
        o->u.cond.lock = (uint64_t)a;
        break;
    }
    case K_VALUE:
    case K_ARRAY: {
        size_t elem = mproc_type_size((mproc_type)a);
        if (!elem || b < 1 || (uint64_t)b > s->max_message / elem) {
            rc = elem ? MPROC_ETOOBIG : MPROC_EINVAL;
            if (b < 1 && elem)
                rc = MPROC_EINVAL;
            break;
        }
        o->u.arr.type = (uint32_t)a;
        o->u.arr.elem = elem;
        o->u.arr.n = (size_t)b;
        if (!(o->u.arr.data = mproc_calloc((size_t)b, elem)))
            rc = MPROC_ENOMEM;
        break;
    }
    default: break;
    }
    rc = rc ? rc : add_object(s, o, &id);
    if (rc) {
        sobj_free(o);
        return rc;
    }
    return mproc_pack_i64(res, (int64_t)id);
}

static int run_request(server *s, request *r, mproc_pack *res);

/* A batch: each field is a nested request pack; each answer a nested response pack. */
static int op_batch(server *s, request *r, mproc_pack *res)
{
    mproc_pack *one;
    if (mproc_pack_create(&one))
        return MPROC_ENOMEM;
    int rc = 0;
    while (!rc && mproc_unpack_peek(&r->args) > 0) {
        request sub = {.who = r->who};
        mproc_unpacker in;
        if (mproc_unpack_pack(&r->args, &in) || mproc_unpack_i64(&in, (int64_t *)&sub.id) ||
            mproc_unpack_i64(&in, &sub.op) || mproc_unpack_i64(&in, &sub.timeout) ||
            mproc_unpack_i64(&in, (int64_t *)&sub.who.thread) || sub.op == OP_BATCH || sub.op == OP_SHUTDOWN) {
            rc = MPROC_EPROTO;
            break;
        }
        sub.args = in;
        mproc_pack_reset(one);
        mproc_pack_i64(one, 0);
        int code = run_request(s, &sub, one);
        if (code) {
            mproc_pack_reset(one);
            mproc_pack_i64(one, code);
        }
        rc = mproc_pack_pack(res, one);
    }
    mproc_pack_destroy(one);
    return rc;
}

/* Runs one request under the server's mutex; results are appended to res. */
static int run_request(server *s, request *r, mproc_pack *res)
{
    if (r->op == OP_CREATE)
        return op_create(s, r, res);
    if (r->op == OP_BATCH)
        return op_batch(s, r, res);
    if (r->op == OP_REGISTER || r->op == OP_LOOKUP) {
        const char *name;
        size_t len;
        int64_t id = 0;
        if (mproc_unpack_strn(&r->args, &name, &len) ||
            (r->op == OP_REGISTER && mproc_unpack_i64(&r->args, &id)))
            return MPROC_EPROTO;
        entry *en = dict_get(&s->names, name, len);
        if (r->op == OP_REGISTER) {
            if (!object_at(s, (uint64_t)id))
                return MPROC_ENOENT;
            uint8_t le[8];
            mproc__put_u64le(le, (uint64_t)id);
            return en ? MPROC_EEXIST : dict_put(&s->names, name, len, le, 8);
        }
        if (!en)
            return MPROC_ENOENT;
        sobj *o = object_at(s, mproc__get_u64le(en->val.data));
        int rc = mproc_pack_i64(res, (int64_t)mproc__get_u64le(en->val.data));
        rc = rc ? rc : mproc_pack_i64(res, o->kind);
        return rc ? rc : mproc_pack_i64(res, o->flags);
    }
    if (r->op == OP_SHUTDOWN) {
        mproc__store(&s->stopping, true);
        mpp_cond_broadcast(s->cv);
        return 0;
    }
    sobj *o = object_at(s, r->id);
    if (!o)
        return MPROC_ENOENT;
    int64_t op = r->op;
    switch (o->kind) {
    case K_DICT: case K_NS:
        return op >= OP_D_SET && op <= OP_D_CAS ? ops_dict(o, r, res) : MPROC_ETYPE;
    case K_LIST:
        return op >= OP_L_APPEND && op <= OP_L_SLICE ? ops_list(o, r, res) : MPROC_ETYPE;
    case K_QUEUE:
        return op >= OP_Q_PUT && op <= OP_Q_EMPTY ? ops_queue(s, o, r, res) : MPROC_ETYPE;
    case K_LOCK:
        return op >= OP_LK_ACQUIRE && op <= OP_LK_RELEASE ? ops_sync(s, o, r, res) : MPROC_ETYPE;
    case K_SEM:
        return op >= OP_S_ACQUIRE && op <= OP_S_VALUE ? ops_sync(s, o, r, res) : MPROC_ETYPE;
    case K_EVENT:
        return op >= OP_E_SET && op <= OP_E_WAIT ? ops_sync(s, o, r, res) : MPROC_ETYPE;
    case K_COND:
        return (op >= OP_C_WAIT && op <= OP_C_NOTIFY) || op == OP_LK_ACQUIRE ||
                       op == OP_LK_RELEASE
                   ? ops_sync(s, o, r, res)
                   : MPROC_ETYPE;
    case K_BARRIER:
        return op >= OP_B_WAIT && op <= OP_B_INFO ? ops_sync(s, o, r, res) : MPROC_ETYPE;
    case K_VALUE: case K_ARRAY:
        return op >= OP_V_GET_I64 && op <= OP_V_LEN ? ops_value(o, r, res) : MPROC_ETYPE;
    default:
        return MPROC_EPROTO;
    }
}

/* ---- connections, server side -------------------------------------------------------------- */
static void log_reject(server *s, const char *why)
{
    mproc_log(MPROC_LOG_WARNING, "manager %s: closed a connection: %s", s->address, why);
}

/* The challenge both ways. 0 and the client's token, or a reason to close. */
static int server_handshake(server *s, stream *st, uint64_t *token)
{
    uint8_t hello[HELLO_LEN], nonce_c[NONCE_LEN], mac[MPROC__SHA256_LEN];
    memcpy(hello, HELLO_MAGIC, 8);
    mproc__put_u32le(hello + 8, PROTO_VERSION);
    mproc__put_u64le(hello + 12, s->max_message);
    if (mpp_random_bytes(hello + 20, NONCE_LEN))
        return MPROC_EOS;
    int64_t deadline = mproc__deadline(10000);
    size_t size;
    int rc = write_frame(st, hello, HELLO_LEN, deadline);
    rc = rc ? rc : read_frame(st, PRE_AUTH_MAX, deadline, &s->stopping, &size);
    if (rc == MPROC_ETOOBIG) {
        log_reject(s, "oversized frame before authentication");
        return rc;
    }
    if (rc)
        return rc;
    if (size != ANSWER_LEN) {
        log_reject(s, "malformed authentication answer");
        return MPROC_EPROTO;
    }
    mac_of(s->key, s->key_len, "mproc-client", hello + 20, mac);
    if (!mproc__equal_ct(mac, st->frame.data, MPROC__SHA256_LEN)) {
        log_reject(s, "wrong authentication key");
        write_frame(st, "FAIL", 4, deadline);
        return MPROC_EAUTH;
    }
    memcpy(nonce_c, st->frame.data + MPROC__SHA256_LEN, NONCE_LEN);
    *token = mproc__get_u64le(st->frame.data + MPROC__SHA256_LEN + NONCE_LEN);
    mac_of(s->key, s->key_len, "mproc-server", nonce_c, mac);
    return write_frame(st, mac, sizeof mac, deadline);
}

static client *client_of(server *s, uint64_t token)
{
    for (size_t i = 0; i < s->nclients; i++)
        if (s->clients[i].token == token)
            return &s->clients[i];
    return NULL;
}

static int client_enter(server *s, uint64_t token)
{
    client *c = client_of(s, token);
    if (c) {
        c->connections++;
        return 0;
    }
    if (s->nclients == s->ccap) {
        size_t cap = s->ccap ? s->ccap * 2 : 16;
        client *grown = mproc_realloc(s->clients, cap * sizeof *grown);
        if (!grown)
            return MPROC_ENOMEM;
        s->clients = grown, s->ccap = cap;
    }
    s->clients[s->nclients++] = (client){token, 1};
    return 0;
}

/* A client process whose last connection closed is gone: its locks are freed for the next
 * taker, who learns of it with MPROC_EOWNERDEAD. */
static void client_leave(server *s, uint64_t token)
{
    client *c = client_of(s, token);
    if (!c || --c->connections > 0)
        return;
    *c = s->clients[--s->nclients];
    for (size_t i = 0; i < s->nobjs; i++) {
        sobj *o = s->objs[i];
        if (o->kind == K_LOCK && o->u.lk.count > 0 && o->u.lk.who.token == token) {
            o->u.lk.count = 0;
            o->u.lk.owner_died = true;
        }
    }
    mpp_cond_broadcast(s->cv);
}

static void connection_main(void *arg)
{
    sconn *sc = arg;
    server *s = sc->srv;
    stream *st = sc->st;
    uint64_t token = 0;
    mproc_pack *res = NULL;
    serving = st->conn;
    int rc = server_handshake(s, st, &token);
    if (!rc) {
        mpp_mutex_lock(s->mu);
        rc = client_enter(s, token);
        mpp_mutex_unlock(s->mu);
        if (rc)
            token = 0;
    }
    rc = rc ? rc : mproc_pack_create(&res);
    while (!rc && !mproc__load(&s->stopping)) {
        size_t size;
        rc = read_frame(st, s->max_message, -1, &s->stopping, &size);
        if (rc == MPROC_ETOOBIG) {
            char why[96];
            snprintf(why, sizeof why, "a frame of %zu bytes exceeds max_message (%zu)", size,
                     s->max_message);
            log_reject(s, why);
        } else if (rc == MPROC_EPROTO) {
            log_reject(s, "truncated frame");
        }
        if (rc)
            break;
        mproc_bytes in = {st->frame.data, st->frame.len};
        request r = {0};
        mproc_pack_reset(res);
        mproc_pack_i64(res, 0);
        int code;
        if (mproc_unpack_init(&r.args, &in) || mproc_unpack_i64(&r.args, (int64_t *)&r.id) ||
            mproc_unpack_i64(&r.args, &r.op) || mproc_unpack_i64(&r.args, &r.timeout) ||
            mproc_unpack_i64(&r.args, (int64_t *)&r.who.thread)) {
            code = MPROC_EPROTO; /* answered, and the connection stays: frames are whole */
            log_reject(s, "malformed request (answered with MPROC_EPROTO)");
        } else {
            r.who.token = token;
            mpp_mutex_lock(s->mu);
            code = run_request(s, &r, res);
            mpp_mutex_unlock(s->mu);
        }
        if (code) {
            mproc_pack_reset(res);
            mproc_pack_i64(res, code);
        }
        mproc_bytes out;
        mproc_pack_view(res, &out);
        rc = write_frame(st, out.data, out.len, mproc__deadline(GRACE_MS));
    }
    mproc_pack_destroy(res);
    mpp_mutex_lock(s->mu);
    if (token)
        client_leave(s, token);
    mpp_mutex_unlock(s->mu);
    mproc__store(&sc->done, true);
}

/* Joins finished connection threads (all of them when every), under no lock. */
static void reap_connections(server *s, bool every)
{
    sconn **pp = &s->conns;
    while (*pp) {
        sconn *sc = *pp;
        if (every || mproc__load(&sc->done)) {
            mpp_thread_join(sc->thread);
            stream_free(sc->st);
            *pp = sc->next;
            s->nconns--;
            mproc_free(sc);
        } else {
            pp = &sc->next;
        }
    }
}

static void acceptor_main(void *arg)
{
    server *s = arg;
    while (!mproc__load(&s->stopping)) {
        mpp_conn *c = NULL;
        int rc = mpp_accept(s->listener, POLL_MS, &c);
        reap_connections(s, false);
        if (rc)
            continue;
        if (mproc__load(&s->stopping)) { /* server_stop's wake-up call */
            mpp_conn_close(c);
            break;
        }
        sconn *sc = s->nconns < MAX_CONNECTIONS ? mproc_calloc(1, sizeof *sc) : NULL;
        stream *st = sc ? mproc_calloc(1, sizeof *st) : NULL;
        if (st) {
            st->conn = c;
            sc->srv = s;
            sc->st = st;
        }
        if (!st || mpp_thread_start(&sc->thread, connection_main, sc)) {
            log_reject(s, "no room for another connection");
            if (st)
                stream_free(st);
            else
                mpp_conn_close(c);
            mproc_free(sc);
            continue;
        }
        sc->next = s->conns;
        s->conns = sc;
        s->nconns++;
    }
    reap_connections(s, true);
    /* Nobody may connect to a stopped server: a connection would wait in the backlog. */
    mpp_listener_close(s->listener);
    s->listener = NULL;
    mpp_mutex_lock(s->mu);
    s->stopped = true;
    mpp_cond_broadcast(s->cv);
    mpp_mutex_unlock(s->mu);
}

static void server_free(server *s)
{
    if (!s)
        return;
    mpp_lock();
    for (server **pp = &servers; *pp; pp = &(*pp)->next_server)
        if (*pp == s) {
            *pp = s->next_server;
            break;
        }
    mpp_unlock();
    if (s->listener)
        mpp_listener_close(s->listener);
    for (size_t i = 0; i < s->nobjs; i++)
        sobj_free(s->objs[i]);
    mproc_free(s->objs);
    dict_free(&s->names);
    mproc_free(s->clients);
    if (s->key) {
        memset(s->key, 0, s->key_len);
        mproc_free(s->key);
    }
    if (s->orphaned) /* its threads' memory and locks are not this process's to free */
        return;
    if (s->cv)
        mpp_cond_destroy(s->cv);
    if (s->mu)
        mpp_mutex_destroy(s->mu);
    mproc_free(s);
}

static int server_start(server **out, const char *address, const void *key, size_t key_len,
                        size_t max_message)
{
    server *s = mproc_calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    s->key = mproc_malloc(key_len);
    s->key_len = key_len;
    s->max_message = max_message ? max_message : DEFAULT_MAX_MESSAGE;
    int rc = s->key ? 0 : MPROC_ENOMEM;
    if (!rc)
        memcpy(s->key, key, key_len);
    rc = rc ? rc : mpp_mutex_create(&s->mu);
    rc = rc ? rc : mpp_cond_create(&s->cv);
    rc = rc ? rc : mpp_listen(address, &s->listener, s->address, sizeof s->address);
    rc = rc ? rc : mpp_thread_start(&s->acceptor, acceptor_main, s);
    if (rc) {
        server_free(s);
        return rc;
    }
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    s->next_server = servers;
    servers = s;
    mpp_unlock();
    *out = s;
    return 0;
}

/* Waits up to timeout_ms for the server to stop by itself (a client's shutdown). */
static int server_wait(server *s, int64_t timeout_ms)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_mutex_lock(s->mu);
    int rc = 0;
    while (!s->stopped && !rc) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            rc = MPROC_ETIMEDOUT;
        else
            mpp_cond_wait(s->cv, s->mu, left < 0 || left > POLL_MS ? POLL_MS : left);
    }
    mpp_mutex_unlock(s->mu);
    return rc;
}

/* Stops serving: every thread notices within a poll slice. */
static void server_stop(server *s)
{
    if (s->orphaned)
        return;
    mpp_mutex_lock(s->mu);
    mproc__store(&s->stopping, true);
    mpp_cond_broadcast(s->cv);
    mpp_mutex_unlock(s->mu);
    /* A connection of our own wakes the acceptor now rather than at its next poll. */
    mpp_conn *wake;
    if (mpp_connect(s->address, 1000, &wake) == 0)
        mpp_conn_close(wake);
    mpp_thread_join(s->acceptor);
    s->acceptor = NULL;
}

static void manager_links_after_fork(void);

/* In a forked child: the parent's servers and connections must not stay open here (a
 * listener kept open takes connections nobody answers; a connection kept open hides its
 * client's end from the server). Closes this process's copies; the structures are left. */
static void manager_after_fork(void)
{
    for (server *s = servers; s; s = s->next_server) {
        s->orphaned = true;
        mproc__store(&s->stopping, true);
        if (s->listener)
            mpp_listener_abandon(s->listener);
        s->listener = NULL;
        for (sconn *sc = s->conns; sc; sc = sc->next)
            if (sc->st && sc->st->conn) {
                mpp_conn_close(sc->st->conn);
                sc->st->conn = NULL;
            }
    }
    servers = NULL;
    manager_links_after_fork();
    mproc_batch_cancel(); /* the forking thread's batch is the parent's */
}

/* ==== client ==================================================================================== */

typedef struct lconn {
    stream *st;
    int64_t pid;        /* the process that opened it: a forked child never uses its parent's */
    size_t max_message; /* the server's, from its hello */
    struct lconn *next;
} lconn;

typedef struct link {
    char *address;
    uint8_t *key;
    size_t key_len;
    int64_t refs;
    lconn *idle;
    struct link *next;
} link;

static link *links; /* this process's, under mpp_lock */

static void manager_links_after_fork(void)
{
    for (link *l = links; l; l = l->next) {
        lconn *c = l->idle;
        l->idle = NULL;
        while (c) {
            lconn *next = c->next;
            stream_free(c->st);
            mproc_free(c);
            c = next;
        }
    }
}
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

static int link_get(const char *address, const void *key, size_t key_len, link **out)
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

/* Closes the link's idle connections (in a forked child, closing drops only the child's
 * copy of each descriptor). */
static void link_drop_idle(link *l)
{
    mpp_lock();
    lconn *c = l->idle;
    l->idle = NULL;
    mpp_unlock();
    while (c) {
        lconn *next = c->next;
        stream_free(c->st);
        mproc_free(c);
        c = next;
    }
}

static void link_put(link *l)
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
    link_drop_idle(l);
    memset(l->key, 0, l->key_len);
    mproc_free(l->key);
    mproc_free(l->address);
    mproc_free(l);
}

static int client_handshake(link *l, lconn *c, int64_t deadline)
{
    stream *st = c->st;
    size_t size;
    int rc = read_frame(st, PRE_AUTH_MAX, deadline, NULL, &size);
    if (rc)
        return rc == MPROC_ETOOBIG ? MPROC_EPROTO : rc;
    const uint8_t *hello = st->frame.data;
    if (size != HELLO_LEN || memcmp(hello, HELLO_MAGIC, 8) || mproc__get_u32le(hello + 8) != PROTO_VERSION)
        return MPROC_EPROTO;
    uint64_t max = mproc__get_u64le(hello + 12);
    uint8_t answer[ANSWER_LEN], nonce_c[NONCE_LEN], mac[MPROC__SHA256_LEN];
    mac_of(l->key, l->key_len, "mproc-client", hello + 20, answer);
    if ((rc = mpp_random_bytes(nonce_c, NONCE_LEN)) != 0)
        return rc;
    memcpy(answer + MPROC__SHA256_LEN, nonce_c, NONCE_LEN);
    mproc__put_u64le(answer + MPROC__SHA256_LEN + NONCE_LEN, my_token());
    rc = write_frame(st, answer, sizeof answer, deadline);
    rc = rc ? rc : read_frame(st, PRE_AUTH_MAX, deadline, NULL, &size);
    if (rc)
        return rc == MPROC_ECLOSED || rc == MPROC_ETOOBIG ? MPROC_EAUTH : rc;
    mac_of(l->key, l->key_len, "mproc-server", nonce_c, mac);
    if (size != MPROC__SHA256_LEN || !mproc__equal_ct(mac, st->frame.data, MPROC__SHA256_LEN))
        return MPROC_EAUTH; /* "FAIL", or a server that does not know the key */
    c->max_message = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
    return 0;
}

/* An idle connection of this process, or a new one. */
static int link_take(link *l, int64_t deadline, lconn **out)
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
        stream_free(stale->st);
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
    int rc = mpp_connect(l->address, left < 0 ? 10000 : left, &c->st->conn);
    rc = rc ? rc : client_handshake(l, c, deadline);
    if (rc) {
        stream_free(c->st);
        mproc_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void link_give_back(link *l, lconn *c, bool healthy)
{
    if (!healthy) {
        stream_free(c->st);
        mproc_free(c);
        return;
    }
    mpp_lock();
    c->next = l->idle;
    l->idle = c;
    mpp_unlock();
}

/* ---- proxies ------------------------------------------------------------------------------- */
#define PROXY_MAGIC 0x6d70725au

typedef struct proxy {
    mproc__object head; /* how mproc_pack_handle packs it (none for a manager's own) */
    uint32_t magic, kind, flags;
    uint64_t id;
    link *link;
} proxy;

struct mproc_mdict { proxy p; };
struct mproc_mlist { proxy p; };
struct mproc_mns { proxy p; };
struct mproc_mqueue { proxy p; };
struct mproc_mlock { proxy p; };
struct mproc_msem { proxy p; };
struct mproc_mevent { proxy p; };
struct mproc_mcond { proxy p; };
struct mproc_mbarrier { proxy p; };
struct mproc_mvalue { proxy p; };
struct mproc_marray { proxy p; };

enum role { ROLE_STARTED = 1, ROLE_SERVING, ROLE_CONNECTED };

struct mproc_manager {
    proxy p; /* kind K_MANAGER, id 0: calls that name no object */
    int role;
    server *srv;          /* serving */
    mproc_process *proc;  /* started */
    bool shut;
};

/* The proxy if x is a live one of that kind (0: any object kind), else NULL. */
static proxy *proxy_of(const void *x, uint32_t kind)
{
    proxy *p = (proxy *)x;
    if (!p || p->magic != PROXY_MAGIC || !p->link)
        return NULL;
    if (kind ? p->kind != kind : p->kind == K_MANAGER)
        return NULL;
    return p;
}

static int pack_proxy(mproc_pack *pk, const mproc__object *x);
static const mproc__object_ops proxy_ops = {pack_proxy};

static int proxy_new(link *l, uint32_t kind, uint32_t flags, uint64_t id, void **out)
{
    proxy *p = mproc_calloc(1, sizeof *p);
    if (!p)
        return MPROC_ENOMEM;
    mpp_lock();
    l->refs++;
    mpp_unlock();
    *p = (proxy){{MPROC__OBJ_MAGIC, MPROC__KIND_PROXY, &proxy_ops}, PROXY_MAGIC, kind, flags, id,
                 l};
    *out = p;
    return 0;
}

void mproc_proxy_destroy(void *x)
{
    proxy *p = proxy_of(x, 0);
    if (!p)
        return;
    p->magic = p->head.magic = 0;
    link_put(p->link);
    mproc_free(p);
}

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
    if (len < 24 || alen > len - 24 || alen > 1024 || mproc__get_u32le(b + 20 + alen) != len - 24 - alen) {
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
    rc = link_get(address, b + 24 + alen, len - 24 - alen, &l);
    rc = rc ? rc : proxy_new(l, kind, mproc__get_u32le(b + 4), mproc__get_u64le(b + 8), out);
    if (!rc)
        link_put(l); /* the proxy holds its own reference */
    return rc ? mproc__fail(rc) : 0;
}

/* ---- calls -----------------------------------------------------------------------------------
 * A request pack: I64 object id, I64 op, I64 timeout for the server, I64 calling thread, then
 * the op's arguments. A response pack: I64 status, then the results. */
typedef enum out_kind {
    OUT_NONE, OUT_BYTES, OUT_I64, OUT_F64, OUT_COUNT, OUT_PACK, OUT_I64X3, OUT_BYTES8
} out_kind;

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

/* Offset of the timeout's 8 bytes in a request pack: after two I64 fields and a tag. */
#define TIMEOUT_AT (2 * 9 + 1)

typedef struct call {
    proxy *px;
    mproc_pack *pk;
    int64_t op, timeout;
    bool sliced; /* a wait the proxy may repeat: timeout is the caller's */
} call;

static int call_begin(call *c, const void *x, uint32_t kind, int64_t op)
{
    c->px = proxy_of(x, kind);
    if (!c->px)
        return mproc__fail(MPROC_EINVAL);
    if (mproc_pack_create(&c->pk))
        return mproc__fail(MPROC_ENOMEM);
    c->op = op;
    c->timeout = 0;
    c->sliced = false;
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
    int rc = 0;
    switch (kind) {
    case OUT_NONE:
        return 0;
    case OUT_BYTES:
    case OUT_PACK:
        if (kind == OUT_PACK) {
            mproc_unpacker inner;
            rc = mproc_unpack_pack(u, &inner);
            data = inner.data, len = inner.len;
        } else {
            rc = mproc_unpack_bytes(u, &data, &len);
        }
        if (rc)
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
    case OUT_BYTES8: /* an 8-byte little-endian value as an int64_t */
        if (mproc_unpack_bytes(u, &data, &len))
            return MPROC_EPROTO;
        if (len != 8)
            return MPROC_ETYPE;
        *(int64_t *)out = (int64_t)mproc__get_u64le(data);
        return 0;
    case OUT_I64X3:
        for (int i = 0; i < 3; i++)
            if (mproc_unpack_i64(u, &((int64_t *)out)[i]))
                return MPROC_EPROTO;
        return 0;
    }
    return MPROC_EPROTO;
}

/* One round trip on a connection of l: sends pk, reads the answer into st->frame. */
static int round_trip(link *l, mproc_pack *pk, int64_t reply_deadline, lconn **held)
{
    mproc_bytes req;
    mproc_pack_view(pk, &req);
    lconn *c;
    int rc = link_take(l, reply_deadline, &c);
    if (rc)
        return rc;
    if (req.len > c->max_message) { /* refused here: the server would close the connection */
        link_give_back(l, c, true);
        return MPROC_ETOOBIG;
    }
    size_t size;
    rc = write_frame(c->st, req.data, req.len, reply_deadline);
    rc = rc ? rc : read_frame(c->st, UINT32_MAX, reply_deadline, NULL, &size);
    if (rc) {
        link_give_back(l, c, false); /* the stream may be cut mid-frame: never reused */
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

/* Sends the call (or queues it in this thread's batch) and decodes its result. */
static int send_call(call *c, out_kind kind, void *out)
{
    link *l = c->px->link;
    batch *b = current_batch;
    if (b) {
        if (b->link != l)
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
            link_give_back(l, held, false);
            return mproc__fail(MPROC_EPROTO);
        }
        rc = status ? (int)status : take_result(&u, kind, out);
        link_give_back(l, held, rc != MPROC_EPROTO);
        if (c->sliced && is_wait_timeout(rc) && mproc__remaining(deadline) != 0)
            continue;
        return rc < 0 ? mproc__fail(rc) : rc;
    }
}

/* Ends a call begun by call_begin: sends it unless building it failed (rc), and frees
 * its request. */
static int call_end(call *c, int rc, out_kind kind, void *out)
{
    rc = rc ? mproc__fail(rc) : send_call(c, kind, out);
    mproc_pack_destroy(c->pk);
    return rc;
}

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
    mpp_lock();
    b->link->refs++;
    mpp_unlock();
    current_batch = b;
    return 0;
}

void mproc_batch_cancel(void)
{
    batch *b = current_batch;
    if (!b)
        return;
    current_batch = NULL;
    link_put(b->link);
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
    rc = rc ? rc : round_trip(b->link, req, mproc__deadline(timeout_ms < 0 ? -1 : timeout_ms + GRACE_MS), &held);
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
        link_give_back(b->link, held, rc != MPROC_EPROTO);
    }
    mproc_batch_cancel();
    rc = rc ? rc : first;
    return rc < 0 ? mproc__fail(rc) : 0;
}

/* ---- managers ------------------------------------------------------------------------------ */
#define SERVER_TASK "mproc:manager-server"

static int64_t ready_timeout(const mproc_manager_opts *o)
{
    return o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
}

static int manager_new(int role, link *l, mproc_manager **out)
{
    mproc_manager *m = mproc_calloc(1, sizeof *m);
    if (!m)
        return MPROC_ENOMEM;
    m->p = (proxy){{0}, PROXY_MAGIC, K_MANAGER, 0, 0, l};
    m->role = role;
    *out = m;
    return 0;
}

static mproc_manager *manager_of(const mproc_manager *m)
{
    return m && m->p.magic == PROXY_MAGIC && m->p.kind == K_MANAGER ? (mproc_manager *)m : NULL;
}

/* A fresh private local address. */
static int local_address(char *buf, size_t cap)
{
    uint8_t r[8];
    int rc = mpp_random_bytes(r, sizeof r);
    if (rc)
        return rc;
    snprintf(buf, cap, "local:mproc-%lld-%02x%02x%02x%02x%02x%02x%02x%02x",
             (long long)mpp_getpid(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return 0;
}

/* The server process: args are the address, the key, max_message and the pipe end on
 * which it reports (I64 status, STR bound address). It serves until shut down, or until
 * its parent is gone. */
static int server_task(const mproc_bytes *in, mproc_bytes *out);
MPROC_TASK_CONSTRUCTOR_(register_manager_server)
{
    (void)mproc_task_register(SERVER_TASK, server_task);
}

static int server_task(const mproc_bytes *in, mproc_bytes *out)
{
    (void)out;
    mproc_unpacker u;
    const char *address;
    const void *key;
    size_t key_len;
    int64_t max, parent = mproc_getppid();
    mproc_conn *report = NULL;
    if (mproc_unpack_init(&u, in) || mproc_unpack_str(&u, &address) ||
        mproc_unpack_bytes(&u, &key, &key_len) || mproc_unpack_i64(&u, &max) ||
        mproc_unpack_conn(&u, &report))
        return 2;
    server *s = NULL;
    int rc = server_start(&s, address, key, key_len, (size_t)max);
    mproc_pack *msg;
    if (mproc_pack_create(&msg) == 0) {
        mproc_pack_i64(msg, rc);
        mproc_pack_str(msg, rc ? "" : s->address);
        mproc_bytes v;
        mproc_pack_view(msg, &v);
        mproc_conn_send(report, v.data, v.len, 10000);
        mproc_pack_destroy(msg);
    }
    mproc_conn_close(report);
    if (rc)
        return 1;
    /* serve_forever, but not for an orphan: a parent gone means nobody can shut us down.
     * The client that asked closes its connections, so the threads end at once. */
    mpp_mutex_lock(s->mu);
    while (!mproc__load(&s->stopping)) {
        mpp_cond_wait(s->cv, s->mu, 500);
        if (!mproc__load(&s->stopping) && mproc_getppid() != parent && !mpp_pid_alive(parent))
            break;
    }
    mpp_mutex_unlock(s->mu);
    server_stop(s);
    server_free(s);
    return 0;
}

int mproc_manager_start(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || (opts && opts->authkey_len && !opts->authkey))
        return mproc__fail(MPROC_EINVAL);
    uint8_t random_key[32];
    const void *key = opts ? opts->authkey : NULL;
    size_t key_len = opts ? opts->authkey_len : 0;
    int rc = 0;
    if (!key || !key_len) {
        rc = mpp_random_bytes(random_key, sizeof random_key);
        key = random_key, key_len = sizeof random_key;
    }
    char address[256];
    if (!rc && opts && opts->address)
        snprintf(address, sizeof address, "%s", opts->address);
    else if (!rc)
        rc = local_address(address, sizeof address);
    mproc_conn *reader = NULL, *writer = NULL;
    mproc_pack *args = NULL;
    mproc_process *proc = NULL;
    mproc_bytes reply = {0};
    rc = rc ? rc : mproc_pipe(&reader, &writer, false);
    rc = rc ? rc : mproc_pack_create(&args);
    rc = rc ? rc : mproc_pack_str(args, address);
    rc = rc ? rc : mproc_pack_bytes(args, key, key_len);
    rc = rc ? rc : mproc_pack_i64(args, opts ? (int64_t)opts->max_message : 0);
    rc = rc ? rc : mproc_pack_handle(args, writer);
    rc = rc ? rc : mproc_process_create(&proc, &(mproc_process_opts){.target = SERVER_TASK,
                                                                      .args = args,
                                                                      .name = "SyncManager",
                                                                      .daemon = true,
                                                                      .ctx = opts ? opts->ctx : NULL});
    rc = rc ? rc : mproc_process_start(proc);
    if (writer)
        mproc_conn_close(writer);
    rc = rc ? rc : mproc_conn_recv(reader, &reply, ready_timeout(opts));
    mproc_unpacker u;
    int64_t status = 0;
    const char *bound = NULL;
    if (!rc && (mproc_unpack_init(&u, &reply) || mproc_unpack_i64(&u, &status) ||
                mproc_unpack_str(&u, &bound)))
        rc = MPROC_EPROTO;
    rc = rc ? rc : (int)status;
    link *l = NULL;
    rc = rc ? rc : link_get(bound, key, key_len, &l);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_STARTED, l, &m);
    if (rc) {
        link_put(l);
        if (proc) {
            if (mproc_process_is_alive(proc) == 1)
                mproc_process_kill(proc);
            mproc_process_join(proc, 5000);
            mproc_process_destroy(proc);
        }
    } else {
        m->proc = proc;
        *out = m;
    }
    mproc_bytes_free(&reply);
    if (reader)
        mproc_conn_close(reader);
    mproc_pack_destroy(args);
    memset(random_key, 0, sizeof random_key);
    return rc ? mproc__fail(rc) : 0;
}

static int check_key(const mproc_manager_opts *o)
{
    return !o || !o->address || !o->authkey || !o->authkey_len ? MPROC_EINVAL : 0;
}

int mproc_manager_serve(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || !opts || !opts->authkey || !opts->authkey_len)
        return mproc__fail(MPROC_EINVAL);
    char address[256];
    int rc = 0;
    if (opts->address)
        snprintf(address, sizeof address, "%s", opts->address);
    else
        rc = local_address(address, sizeof address);
    server *s = NULL;
    rc = rc ? rc : server_start(&s, address, opts->authkey, opts->authkey_len, opts->max_message);
    link *l = NULL;
    rc = rc ? rc : link_get(s->address, opts->authkey, opts->authkey_len, &l);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_SERVING, l, &m);
    if (rc) {
        link_put(l);
        if (s) {
            server_stop(s);
            server_free(s);
        }
        return mproc__fail(rc);
    }
    m->srv = s;
    *out = m;
    return 0;
}

int mproc_manager_connect(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || check_key(opts))
        return mproc__fail(MPROC_EINVAL);
    link *l;
    int rc = link_get(opts->address, opts->authkey, opts->authkey_len, &l);
    if (rc)
        return mproc__fail(rc);
    /* Connect now, as Python's connect() does: a wrong key or address fails here. */
    lconn *c;
    rc = link_take(l, mproc__deadline(ready_timeout(opts)), &c);
    if (!rc)
        link_give_back(l, c, true);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_CONNECTED, l, &m);
    if (rc) {
        link_put(l);
        return mproc__fail(rc);
    }
    *out = m;
    return 0;
}

const char *mproc_manager_address(const mproc_manager *m)
{
    m = manager_of(m);
    return m ? m->p.link->address : NULL;
}

int64_t mproc_manager_pid(const mproc_manager *m)
{
    m = manager_of(m);
    return m && m->proc ? mproc_process_pid(m->proc) : 0;
}

int mproc_manager_wait(mproc_manager *m, int64_t timeout_ms)
{
    m = manager_of(m);
    if (!m)
        return mproc__fail(MPROC_EINVAL);
    if (m->role != ROLE_SERVING)
        return mproc__fail(MPROC_ESTATE);
    if (m->shut)
        return 0;
    int rc = server_wait(m->srv, timeout_ms);
    return rc ? mproc__fail(rc) : 0;
}

static int send_shutdown(mproc_manager *m, int64_t timeout_ms)
{
    call c;
    int rc = call_begin(&c, m, K_MANAGER, OP_SHUTDOWN);
    if (rc)
        return rc;
    c.timeout = timeout_ms < 0 ? 0 : timeout_ms;
    batch *saved = current_batch; /* never part of a batch */
    current_batch = NULL;
    rc = call_end(&c, 0, OUT_NONE, NULL);
    current_batch = saved;
    return rc;
}

int mproc_manager_shutdown(mproc_manager *m, int64_t timeout_ms)
{
    m = manager_of(m);
    if (!m)
        return mproc__fail(MPROC_EINVAL);
    if (m->shut)
        return 0;
    int rc = 0;
    if (m->role == ROLE_CONNECTED) {
        rc = send_shutdown(m, timeout_ms);
        if (rc == MPROC_ECLOSED) /* the server may end before its answer leaves */
            rc = 0;
    } else if (m->role == ROLE_SERVING) {
        server_stop(m->srv);
        server_free(m->srv);
        m->srv = NULL;
    } else {
        int64_t deadline = mproc__deadline(timeout_ms < 0 ? 10000 : timeout_ms);
        send_shutdown(m, mproc__remaining(deadline)); /* a dead server is fine here */
        link_drop_idle(m->p.link); /* the server's threads see these end */
        if (mproc_process_join(m->proc, mproc__remaining(deadline)) == MPROC_ETIMEDOUT) {
            mproc_process_kill(m->proc);
            rc = mproc_process_join(m->proc, 5000);
        }
        if (!rc) {
            mproc_process_destroy(m->proc);
            m->proc = NULL;
        }
    }
    if (!rc)
        m->shut = true;
    link_drop_idle(m->p.link);
    return rc ? mproc__fail(rc) : 0;
}

void mproc_manager_destroy(mproc_manager *m)
{
    m = manager_of(m);
    if (!m)
        return;
    if (m->role != ROLE_CONNECTED)
        mproc_manager_shutdown(m, 10000);
    if (m->proc) { /* could not be joined: do not leave it running */
        mproc_process_kill(m->proc);
        mproc_process_join(m->proc, 5000);
        mproc_process_destroy(m->proc);
    }
    m->p.magic = 0;
    link_put(m->p.link);
    mproc_free(m);
}

/* ---- creating and finding objects ---------------------------------------------------------- */
static int create(mproc_manager *m, uint32_t kind, uint32_t flags, int64_t a, int64_t b,
                  void **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    if (current_batch)
        return mproc__fail(MPROC_ESTATE); /* the proxy is needed now */
    call c;
    int rc = call_begin(&c, manager_of(m), K_MANAGER, OP_CREATE);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, kind);
    rc = rc ? rc : mproc_pack_i64(c.pk, flags);
    rc = rc ? rc : mproc_pack_i64(c.pk, a);
    rc = rc ? rc : mproc_pack_i64(c.pk, b);
    int64_t id = 0;
    rc = call_end(&c, rc, OUT_I64, &id);
    if (rc)
        return rc;
    rc = proxy_new(m->p.link, kind, flags, (uint64_t)id, out);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_manager_dict(mproc_manager *m, mproc_mdict **out)
{
    return create(m, K_DICT, 0, 0, 0, (void **)out);
}
int mproc_manager_list(mproc_manager *m, mproc_mlist **out)
{
    return create(m, K_LIST, 0, 0, 0, (void **)out);
}
int mproc_manager_namespace(mproc_manager *m, mproc_mns **out)
{
    return create(m, K_NS, 0, 0, 0, (void **)out);
}
int mproc_manager_queue(mproc_manager *m, mproc_mqueue **out, int64_t maxsize)
{
    return create(m, K_QUEUE, 0, maxsize, 0, (void **)out);
}
int mproc_manager_joinable_queue(mproc_manager *m, mproc_mqueue **out, int64_t maxsize)
{
    return create(m, K_QUEUE, F_JOINABLE, maxsize, 0, (void **)out);
}
int mproc_manager_lock(mproc_manager *m, mproc_mlock **out)
{
    return create(m, K_LOCK, 0, 0, 0, (void **)out);
}
int mproc_manager_rlock(mproc_manager *m, mproc_mlock **out)
{
    return create(m, K_LOCK, F_RECURSIVE, 0, 0, (void **)out);
}
int mproc_manager_semaphore(mproc_manager *m, mproc_msem **out, int64_t value)
{
    return value < 0 ? mproc__fail(MPROC_EINVAL) : create(m, K_SEM, 0, value, 0, (void **)out);
}
int mproc_manager_bounded_semaphore(mproc_manager *m, mproc_msem **out, int64_t value)
{
    return value < 0 ? mproc__fail(MPROC_EINVAL)
                     : create(m, K_SEM, F_BOUNDED, value, 0, (void **)out);
}
int mproc_manager_event(mproc_manager *m, mproc_mevent **out)
{
    return create(m, K_EVENT, 0, 0, 0, (void **)out);
}
int mproc_manager_condition(mproc_manager *m, mproc_mlock *lock, mproc_mcond **out)
{
    proxy *lk = lock ? proxy_of(lock, K_LOCK) : NULL;
    if (lock && (!lk || !manager_of(m) || lk->link != m->p.link))
        return mproc__fail(MPROC_EINVAL);
    return create(m, K_COND, 0, lk ? (int64_t)lk->id : 0, 0, (void **)out);
}
int mproc_manager_barrier(mproc_manager *m, int64_t parties, mproc_mbarrier **out)
{
    return parties < 1 ? mproc__fail(MPROC_EINVAL)
                       : create(m, K_BARRIER, 0, parties, 0, (void **)out);
}
int mproc_manager_value(mproc_manager *m, mproc_type type, mproc_mvalue **out)
{
    return mproc_type_size(type) ? create(m, K_VALUE, 0, type, 1, (void **)out)
                                 : mproc__fail(MPROC_EINVAL);
}
int mproc_manager_array(mproc_manager *m, mproc_type type, size_t length, mproc_marray **out)
{
    return mproc_type_size(type) && length && length <= INT64_MAX
               ? create(m, K_ARRAY, 0, type, (int64_t)length, (void **)out)
               : mproc__fail(MPROC_EINVAL);
}

int mproc_manager_register(mproc_manager *m, const char *name, const void *x)
{
    proxy *p = proxy_of(x, 0);
    if (!name || !*name || !p || !manager_of(m) || p->link != m->p.link)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, m, K_MANAGER, OP_REGISTER);
    if (rc)
        return rc;
    rc = mproc_pack_str(c.pk, name);
    rc = rc ? rc : mproc_pack_i64(c.pk, (int64_t)p->id);
    return call_end(&c, rc, OUT_NONE, NULL);
}

static int lookup(mproc_manager *m, const char *name, uint32_t kind, void **out)
{
    if (!name || !out)
        return mproc__fail(MPROC_EINVAL);
    if (current_batch)
        return mproc__fail(MPROC_ESTATE); /* the proxy is needed now */
    call c;
    int rc = call_begin(&c, manager_of(m), K_MANAGER, OP_LOOKUP);
    if (rc)
        return rc;
    rc = mproc_pack_str(c.pk, name);
    int64_t found[3]; /* id, kind, flags */
    rc = call_end(&c, rc, OUT_I64X3, found);
    if (rc)
        return rc;
    if (found[1] != kind)
        return mproc__fail(MPROC_ETYPE);
    rc = proxy_new(m->p.link, kind, (uint32_t)found[2], (uint64_t)found[0], out);
    return rc ? mproc__fail(rc) : 0;
}

#define PROXY_KIND_FUNCTIONS(type, kind, lookup_name, unpack_name)                           \
    int mproc_manager_lookup_##lookup_name(mproc_manager *m, const char *name, type **out)   \
    {                                                                                         \
        return lookup(m, name, kind, (void **)out);                                          \
    }                                                                                         \
    int mproc_unpack_##unpack_name(mproc_unpacker *u, type **out)                            \
    {                                                                                         \
        return unpack_proxy(u, kind, (void **)out);                                          \
    }
PROXY_KIND_FUNCTIONS(mproc_mdict, K_DICT, dict, mdict)
PROXY_KIND_FUNCTIONS(mproc_mlist, K_LIST, list, mlist)
PROXY_KIND_FUNCTIONS(mproc_mns, K_NS, namespace, mns)
PROXY_KIND_FUNCTIONS(mproc_mqueue, K_QUEUE, queue, mqueue)
PROXY_KIND_FUNCTIONS(mproc_mlock, K_LOCK, lock, mlock)
PROXY_KIND_FUNCTIONS(mproc_msem, K_SEM, semaphore, msem)
PROXY_KIND_FUNCTIONS(mproc_mevent, K_EVENT, event, mevent)
PROXY_KIND_FUNCTIONS(mproc_mcond, K_COND, condition, mcond)
PROXY_KIND_FUNCTIONS(mproc_mbarrier, K_BARRIER, barrier, mbarrier)
PROXY_KIND_FUNCTIONS(mproc_mvalue, K_VALUE, value, mvalue)
PROXY_KIND_FUNCTIONS(mproc_marray, K_ARRAY, array, marray)

/* ---- the calls of each kind ------------------------------------------------------------------
 * Each builds its request with call_begin, appends its arguments and ends with call_end. */
static int simple(const void *x, uint32_t kind, int64_t op, out_kind ok, void *out)
{
    call c;
    int rc = call_begin(&c, x, kind, op);
    return rc ? rc : call_end(&c, 0, ok, out);
}

/* A call whose arguments are a key (and maybe a value). */
static int keyed(const void *x, uint32_t kind, int64_t op, const void *key, size_t klen,
                 const void *val, size_t vlen, bool with_val, out_kind ok, void *out)
{
    if ((!key && klen) || (with_val && !val && vlen))
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, x, kind, op);
    if (rc)
        return rc;
    rc = mproc_pack_bytes(c.pk, key, klen);
    if (!rc && with_val)
        rc = mproc_pack_bytes(c.pk, val, vlen);
    return call_end(&c, rc, ok, out);
}

int mproc_mdict_set(mproc_mdict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    return keyed(d, K_DICT, OP_D_SET, key, klen, val, vlen, true, OUT_NONE, NULL);
}
int mproc_mdict_get(mproc_mdict *d, const void *key, size_t klen, mproc_bytes *val)
{
    return val ? keyed(d, K_DICT, OP_D_GET, key, klen, NULL, 0, false, OUT_BYTES, val)
                       : mproc__fail(MPROC_EINVAL);
}
int mproc_mdict_del(mproc_mdict *d, const void *key, size_t klen)
{
    return keyed(d, K_DICT, OP_D_DEL, key, klen, NULL, 0, false, OUT_NONE, NULL);
}
int mproc_mdict_contains(mproc_mdict *d, const void *key, size_t klen)
{
    return keyed(d, K_DICT, OP_D_CONTAINS, key, klen, NULL, 0, false, OUT_COUNT, NULL);
}
int mproc_mdict_len(mproc_mdict *d)
{
    return simple(d, K_DICT, OP_D_LEN, OUT_COUNT, NULL);
}
int mproc_mdict_keys(mproc_mdict *d, mproc_bytes *keys)
{
    return keys ? simple(d, K_DICT, OP_D_KEYS, OUT_PACK, keys) : mproc__fail(MPROC_EINVAL);
}
int mproc_mdict_items(mproc_mdict *d, mproc_bytes *items)
{
    return items ? simple(d, K_DICT, OP_D_ITEMS, OUT_PACK, items)
                         : mproc__fail(MPROC_EINVAL);
}
int mproc_mdict_update(mproc_mdict *d, const mproc_pack *items)
{
    if (!items)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, d, K_DICT, OP_D_UPDATE);
    if (rc)
        return rc;
    rc = mproc_pack_pack(c.pk, items);
    return call_end(&c, rc, OUT_NONE, NULL);
}
int mproc_mdict_clear(mproc_mdict *d)
{
    return simple(d, K_DICT, OP_D_CLEAR, OUT_NONE, NULL);
}
int mproc_mdict_setdefault(mproc_mdict *d, const void *key, size_t klen, const void *def,
                           size_t dlen, mproc_bytes *val)
{
    return keyed(d, K_DICT, OP_D_SETDEFAULT, key, klen, def, dlen, true, val ? OUT_BYTES : OUT_NONE,
                 val);
}
int mproc_mdict_pop(mproc_mdict *d, const void *key, size_t klen, mproc_bytes *val)
{
    return keyed(d, K_DICT, OP_D_POP, key, klen, NULL, 0, false, val ? OUT_BYTES : OUT_NONE, val);
}
int mproc_mdict_set_i64(mproc_mdict *d, const void *key, size_t klen, int64_t v)
{
    uint8_t le[8];
    mproc__put_u64le(le, (uint64_t)v);
    return mproc_mdict_set(d, key, klen, le, 8);
}

/* An 8-byte little-endian value into an int64_t: the output kind for get_i64. The bytes
 * are checked when the reply comes (a batch fills it at its end). */
static int get_i64_reply(const void *x, uint32_t kind, int64_t op, const void *key, size_t klen,
                         int64_t *v)
{
    if (!v)
        return mproc__fail(MPROC_EINVAL);
    return keyed(x, kind, op, key, klen, NULL, 0, false, OUT_BYTES8, v);
}
int mproc_mdict_get_i64(mproc_mdict *d, const void *key, size_t klen, int64_t *v)
{
    return get_i64_reply(d, K_DICT, OP_D_GET, key, klen, v);
}
int mproc_mdict_add_i64(mproc_mdict *d, const void *key, size_t klen, int64_t delta,
                        int64_t *result)
{
    if (!key && klen)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, d, K_DICT, OP_D_ADD);
    if (rc)
        return rc;
    rc = mproc_pack_bytes(c.pk, key, klen);
    rc = rc ? rc : mproc_pack_i64(c.pk, delta);
    return call_end(&c, rc, OUT_I64, result);
}
int mproc_mdict_cas(mproc_mdict *d, const void *key, size_t klen, const void *expected,
                    size_t elen, const void *desired, size_t dlen)
{
    if ((!key && klen) || (!desired && dlen))
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, d, K_DICT, OP_D_CAS);
    if (rc)
        return rc;
    rc = mproc_pack_bytes(c.pk, key, klen);
    rc = rc ? rc : mproc_pack_i64(c.pk, expected == NULL);
    rc = rc ? rc : mproc_pack_bytes(c.pk, expected, expected ? elen : 0);
    rc = rc ? rc : mproc_pack_bytes(c.pk, desired, dlen);
    return call_end(&c, rc, OUT_COUNT, NULL);
}

/* list */
int mproc_mlist_append(mproc_mlist *l, const void *data, size_t len)
{
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, l, K_LIST, OP_L_APPEND);
    if (rc)
        return rc;
    rc = mproc_pack_bytes(c.pk, data, len);
    return call_end(&c, rc, OUT_NONE, NULL);
}
int mproc_mlist_extend(mproc_mlist *l, const mproc_pack *items)
{
    if (!items)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, l, K_LIST, OP_L_EXTEND);
    if (rc)
        return rc;
    rc = mproc_pack_pack(c.pk, items);
    return call_end(&c, rc, OUT_NONE, NULL);
}
static int indexed(mproc_mlist *l, int64_t op, int64_t index, const void *data, size_t len,
                   bool with_data, out_kind ok, void *out)
{
    if (with_data && !data && len)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, l, K_LIST, op);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, index);
    if (!rc && with_data)
        rc = mproc_pack_bytes(c.pk, data, len);
    return call_end(&c, rc, ok, out);
}
int mproc_mlist_get(mproc_mlist *l, int64_t index, mproc_bytes *out)
{
    return out ? indexed(l, OP_L_GET, index, NULL, 0, false, OUT_BYTES, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_mlist_set(mproc_mlist *l, int64_t index, const void *data, size_t len)
{
    return indexed(l, OP_L_SET, index, data, len, true, OUT_NONE, NULL);
}
int mproc_mlist_pop(mproc_mlist *l, int64_t index, mproc_bytes *out)
{
    return indexed(l, OP_L_POP, index, NULL, 0, false, out ? OUT_BYTES : OUT_NONE, out);
}
int mproc_mlist_len(mproc_mlist *l)
{
    return simple(l, K_LIST, OP_L_LEN, OUT_COUNT, NULL);
}
int mproc_mlist_reverse(mproc_mlist *l)
{
    return simple(l, K_LIST, OP_L_REVERSE, OUT_NONE, NULL);
}
int mproc_mlist_slice(mproc_mlist *l, int64_t start, int64_t stop, mproc_bytes *out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, l, K_LIST, OP_L_SLICE);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, start);
    rc = rc ? rc : mproc_pack_i64(c.pk, stop);
    return call_end(&c, rc, OUT_PACK, out);
}

/* Namespace: a dict of names on the server. */
static int named(mproc_mns *ns, int64_t op, const char *name, const void *data, size_t len,
                 bool with_data, out_kind ok, void *out)
{
    if (!name)
        return mproc__fail(MPROC_EINVAL);
    return keyed(ns, K_NS, op, name, strlen(name), data, len, with_data, ok, out);
}
int mproc_mns_set(mproc_mns *ns, const char *name, const void *data, size_t len)
{
    return named(ns, OP_D_SET, name, data, len, true, OUT_NONE, NULL);
}
int mproc_mns_get(mproc_mns *ns, const char *name, mproc_bytes *out)
{
    return out ? named(ns, OP_D_GET, name, NULL, 0, false, OUT_BYTES, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_mns_del(mproc_mns *ns, const char *name)
{
    return named(ns, OP_D_DEL, name, NULL, 0, false, OUT_NONE, NULL);
}
int mproc_mns_set_i64(mproc_mns *ns, const char *name, int64_t v)
{
    uint8_t le[8];
    mproc__put_u64le(le, (uint64_t)v);
    return named(ns, OP_D_SET, name, le, 8, true, OUT_NONE, NULL);
}
int mproc_mns_get_i64(mproc_mns *ns, const char *name, int64_t *v)
{
    return name ? get_i64_reply(ns, K_NS, OP_D_GET, name, strlen(name), v)
                : mproc__fail(MPROC_EINVAL);
}

/* queue */
int mproc_mqueue_put(mproc_mqueue *q, const void *data, size_t len, int64_t timeout_ms)
{
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, q, K_QUEUE, OP_Q_PUT);
    if (rc)
        return rc;
    c.timeout = timeout_ms, c.sliced = true;
    rc = mproc_pack_bytes(c.pk, data, len);
    return call_end(&c, rc, OUT_NONE, NULL);
}
static int waiting(const void *x, uint32_t kind, int64_t op, int64_t timeout_ms, bool sliced,
                   out_kind ok, void *out)
{
    call c;
    int rc = call_begin(&c, x, kind, op);
    if (rc)
        return rc;
    c.timeout = timeout_ms, c.sliced = sliced;
    return call_end(&c, 0, ok, out);
}
int mproc_mqueue_get(mproc_mqueue *q, mproc_bytes *out, int64_t timeout_ms)
{
    return out ? waiting(q, K_QUEUE, OP_Q_GET, timeout_ms, true, OUT_BYTES, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_mqueue_qsize(mproc_mqueue *q)
{
    return simple(q, K_QUEUE, OP_Q_QSIZE, OUT_COUNT, NULL);
}
int mproc_mqueue_empty(mproc_mqueue *q)
{
    return simple(q, K_QUEUE, OP_Q_EMPTY, OUT_COUNT, NULL);
}
int mproc_mqueue_full(mproc_mqueue *q)
{
    return simple(q, K_QUEUE, OP_Q_FULL, OUT_COUNT, NULL);
}
int mproc_mqueue_task_done(mproc_mqueue *q)
{
    return simple(q, K_QUEUE, OP_Q_TASK_DONE, OUT_NONE, NULL);
}
int mproc_mqueue_join(mproc_mqueue *q, int64_t timeout_ms)
{
    return waiting(q, K_QUEUE, OP_Q_JOIN, timeout_ms, true, OUT_NONE, NULL);
}

/* locks, semaphores, events, conditions, barriers */
int mproc_mlock_acquire(mproc_mlock *l, int64_t timeout_ms)
{
    return waiting(l, K_LOCK, OP_LK_ACQUIRE, timeout_ms, true, OUT_NONE, NULL);
}
int mproc_mlock_release(mproc_mlock *l)
{
    return simple(l, K_LOCK, OP_LK_RELEASE, OUT_NONE, NULL);
}
int mproc_msem_acquire(mproc_msem *s, int64_t timeout_ms)
{
    return waiting(s, K_SEM, OP_S_ACQUIRE, timeout_ms, true, OUT_NONE, NULL);
}
int mproc_msem_release(mproc_msem *s)
{
    return simple(s, K_SEM, OP_S_RELEASE, OUT_NONE, NULL);
}
int mproc_msem_value(mproc_msem *s, int64_t *value)
{
    return value ? simple(s, K_SEM, OP_S_VALUE, OUT_I64, value) : mproc__fail(MPROC_EINVAL);
}
int mproc_mevent_set(mproc_mevent *e)
{
    return simple(e, K_EVENT, OP_E_SET, OUT_NONE, NULL);
}
int mproc_mevent_clear(mproc_mevent *e)
{
    return simple(e, K_EVENT, OP_E_CLEAR, OUT_NONE, NULL);
}
int mproc_mevent_is_set(mproc_mevent *e)
{
    return simple(e, K_EVENT, OP_E_IS_SET, OUT_COUNT, NULL);
}
int mproc_mevent_wait(mproc_mevent *e, int64_t timeout_ms)
{
    return waiting(e, K_EVENT, OP_E_WAIT, timeout_ms, true, OUT_NONE, NULL);
}
int mproc_mcond_acquire(mproc_mcond *c, int64_t timeout_ms)
{
    return waiting(c, K_COND, OP_LK_ACQUIRE, timeout_ms, true, OUT_NONE, NULL);
}
int mproc_mcond_release(mproc_mcond *c)
{
    return simple(c, K_COND, OP_LK_RELEASE, OUT_NONE, NULL);
}
int mproc_mcond_wait(mproc_mcond *c, int64_t timeout_ms)
{
    return waiting(c, K_COND, OP_C_WAIT, timeout_ms, true, OUT_NONE, NULL);
}
int mproc_mcond_notify(mproc_mcond *c, int64_t n)
{
    if (n < 0)
        return mproc__fail(MPROC_EINVAL);
    call k;
    int rc = call_begin(&k, c, K_COND, OP_C_NOTIFY);
    if (rc)
        return rc;
    rc = mproc_pack_i64(k.pk, n);
    return call_end(&k, rc, OUT_NONE, NULL);
}
int mproc_mcond_notify_all(mproc_mcond *c)
{
    return mproc_mcond_notify(c, INT64_MAX);
}
int mproc_mbarrier_wait(mproc_mbarrier *b, int64_t timeout_ms)
{
    /* Sent whole: a second try would count as another party. */
    return waiting(b, K_BARRIER, OP_B_WAIT, timeout_ms, false, OUT_COUNT, NULL);
}
int mproc_mbarrier_abort(mproc_mbarrier *b)
{
    return simple(b, K_BARRIER, OP_B_ABORT, OUT_NONE, NULL);
}
int mproc_mbarrier_reset(mproc_mbarrier *b)
{
    return simple(b, K_BARRIER, OP_B_RESET, OUT_NONE, NULL);
}
static int barrier_info(mproc_mbarrier *b, int which)
{
    if (current_batch && proxy_of(b, K_BARRIER))
        return mproc__fail(MPROC_ESTATE);
    int64_t info[3];
    int rc = simple(b, K_BARRIER, OP_B_INFO, OUT_I64X3, info);
    return rc ? rc : (int)info[which];
}
int mproc_mbarrier_parties(mproc_mbarrier *b)
{
    return barrier_info(b, 0);
}
int mproc_mbarrier_n_waiting(mproc_mbarrier *b)
{
    return barrier_info(b, 1);
}
int mproc_mbarrier_broken(mproc_mbarrier *b)
{
    return barrier_info(b, 2);
}

/* values and arrays: a Value is an array of one */
static int element(const void *x, uint32_t kind, int64_t op, size_t index, const int64_t *i,
                   const double *f, out_kind ok, void *out)
{
    if (index > INT64_MAX)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = call_begin(&c, x, kind, op);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, (int64_t)index);
    if (!rc && i)
        rc = mproc_pack_i64(c.pk, *i);
    if (!rc && f)
        rc = mproc_pack_f64(c.pk, *f);
    return call_end(&c, rc, ok, out);
}
int mproc_mvalue_get_i64(mproc_mvalue *v, int64_t *out)
{
    return out ? element(v, K_VALUE, OP_V_GET_I64, 0, NULL, NULL, OUT_I64, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_mvalue_set_i64(mproc_mvalue *v, int64_t value)
{
    return element(v, K_VALUE, OP_V_SET_I64, 0, &value, NULL, OUT_NONE, NULL);
}
int mproc_mvalue_get_f64(mproc_mvalue *v, double *out)
{
    return out ? element(v, K_VALUE, OP_V_GET_F64, 0, NULL, NULL, OUT_F64, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_mvalue_set_f64(mproc_mvalue *v, double value)
{
    return element(v, K_VALUE, OP_V_SET_F64, 0, NULL, &value, OUT_NONE, NULL);
}
int mproc_mvalue_add_i64(mproc_mvalue *v, int64_t delta, int64_t *result)
{
    return element(v, K_VALUE, OP_V_ADD, 0, &delta, NULL, OUT_I64, result);
}
int mproc_mvalue_cas_i64(mproc_mvalue *v, int64_t expected, int64_t desired)
{
    call c;
    int rc = call_begin(&c, v, K_VALUE, OP_V_CAS);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, 0);
    rc = rc ? rc : mproc_pack_i64(c.pk, expected);
    rc = rc ? rc : mproc_pack_i64(c.pk, desired);
    return call_end(&c, rc, OUT_COUNT, NULL);
}
int mproc_marray_len(mproc_marray *a)
{
    return simple(a, K_ARRAY, OP_V_LEN, OUT_COUNT, NULL);
}
int mproc_marray_get_i64(mproc_marray *a, size_t index, int64_t *out)
{
    return out ? element(a, K_ARRAY, OP_V_GET_I64, index, NULL, NULL, OUT_I64, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_marray_set_i64(mproc_marray *a, size_t index, int64_t value)
{
    return element(a, K_ARRAY, OP_V_SET_I64, index, &value, NULL, OUT_NONE, NULL);
}
int mproc_marray_get_f64(mproc_marray *a, size_t index, double *out)
{
    return out ? element(a, K_ARRAY, OP_V_GET_F64, index, NULL, NULL, OUT_F64, out)
               : mproc__fail(MPROC_EINVAL);
}
int mproc_marray_set_f64(mproc_marray *a, size_t index, double value)
{
    return element(a, K_ARRAY, OP_V_SET_F64, index, NULL, &value, OUT_NONE, NULL);
}
