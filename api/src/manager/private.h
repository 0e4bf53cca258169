/* What the manager's files share. doc/manager-protocol.md is the protocol they speak;
 * ops.def lists its kinds of objects and its operations, and the code is generated from it.
 *
 * Server: one listener thread, one thread per connection, every object behind one mutex
 * and one condition variable (a change wakes every waiter, which re-checks its own
 * condition). Waits are cut into short slices so a stopping server is noticed.
 *
 * Client: each process keeps one "link" per (address, key): a stack of idle, authenticated
 * connections. A call takes one (or opens one), does its round trip and gives it back, so
 * threads never share a connection and a forked child never uses its parent's.
 *
 * The files, each calling only those above it:
 *   wire.c      framed streams and the authentication handshake, both sides
 *   odict.c     the ordered dict (dict and namespace objects, the server's names)
 *   objects.c   the server's objects, its waits, and the ops on the server itself
 *   ops_data.c  the bodies of the dict, namespace, list, value and array ops
 *   ops_sync.c  the bodies of the queue, lock, semaphore, event, condition, barrier ops
 *   dispatch.c  runs a request: checks the object's kind, reads the arguments, runs the body
 *   server.c    connections, the acceptor thread, client liveness, starting and stopping
 *   link.c      the client side: links, calls, batches
 *   proxy.c     proxies, in packs, and the public functions of every kind
 *   manager.c   start, serve, connect, wait, shutdown; creating and finding objects */
#ifndef MPROC_MANAGER_PRIVATE_H
#define MPROC_MANAGER_PRIVATE_H

#include <string.h>

#include "modules/modules.h"

/* ---- protocol constants ------------------------------------------------------------------ */
#define SLICE_MS 2000  /* the longest wait a proxy asks of the server at once */
#define GRACE_MS 30000 /* how much longer than the server's wait a reply may take */
#define POLL_MS 200    /* how often server threads look at the stop flag */

/* ---- kinds and ops (ops.def) ------------------------------------------------------------- */
enum kind {
#define KIND(NAME, CODE, TYPE, LOOKUP) K_##NAME = CODE,
#include "manager/ops.def"
    K_MANAGER = 100 /* a manager's own proxy: calls that name no object */
};
enum flag { F_JOINABLE = 1, F_RECURSIVE = 2, F_BOUNDED = 4 };

/* The kinds an op applies to (ops.def's KINDS), as bits: KS_MANAGER is the server itself. */
enum kinds {
#define KIND(NAME, CODE, TYPE, LOOKUP) KS_##NAME = 1u << CODE,
#include "manager/ops.def"
    KS_MANAGER = 1u, /* no kind is 0 */
    KS_DICT_NS = KS_DICT | KS_NS,
    KS_LOCK_COND = KS_LOCK | KS_COND,
    KS_VALUE_ARRAY = KS_VALUE | KS_ARRAY
};

/* The kind of each proxy type: KIND_OF_mdict is K_DICT. */
enum {
#define KIND(NAME, CODE, TYPE, LOOKUP) KIND_OF_##TYPE = K_##NAME,
#include "manager/ops.def"
};

enum op {
#define SERVER_OP(NAME, CODE, KINDS, WIRE) OP_##NAME = CODE,
#define OP(NAME, CODE, KINDS, WIRE, ...) OP_##NAME = CODE,
#include "manager/ops.def"
};

/* ---- framed streams, both sides (wire.c) -----------------------------------------------------
 * Byte order on the wire: little endian (mproc__put_u32le and the like). A frame is a u32
 * length and that many bytes. Reads go through a buffer so that a small frame costs one
 * system call. */
typedef struct stream {
    mpp_conn *conn;
    uint8_t rb[16384];
    size_t rpos, rlen;
    mproc__buf frame; /* the last frame read */
    mproc__buf out;   /* a frame being written */
} stream;

/* Reads one frame into s->frame. MPROC_ETOOBIG (nothing more read) if it exceeds max.
 * stop (may be NULL) is polled between slices: a stopping server gives up with
 * MPROC_ECLOSED. */
int mproc__mgr_read_frame(stream *s, size_t max, int64_t deadline, const bool *stop, size_t *size);
int mproc__mgr_write_frame(stream *s, const void *data, size_t len, int64_t deadline);
/* Closes the stream's connection and frees it. */
void mproc__mgr_stream_free(stream *s);
/* Logs why the server at address closed a connection. */
void mproc__mgr_reject(const char *address, const char *why);
/* The challenge both ways, the server's side: 0 and the client's token, or a reason to
 * close (logged). */
int mproc__mgr_server_handshake(stream *st, const uint8_t *key, size_t key_len, size_t max_message,
                                const bool *stop, const char *address, uint64_t *token);
/* The client's side: 0 and the server's max_message, or MPROC_EAUTH, MPROC_EPROTO, ... */
int mproc__mgr_client_handshake(stream *st, const uint8_t *key, size_t key_len, uint64_t token,
                                int64_t deadline, size_t *max_message);

/* ---- the ordered dict (odict.c) ---------------------------------------------------------- *
 * Keys and values are bytes: a dict's and a namespace's are the encoded packs the clients
 * sent (so keys compare by their encoding), the server's names are the names' text. */
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

entry *mproc__mgr_dict_get(const dict *d, const void *key, size_t klen);
/* Stores a copy of val under key (a new entry goes last). */
int mproc__mgr_dict_put(dict *d, const void *key, size_t klen, const void *val, size_t vlen);
/* Removes key; its value goes to *val (or is freed). */
bool mproc__mgr_dict_del(dict *d, const void *key, size_t klen, mproc_bytes *val);
void mproc__mgr_dict_free(dict *d);

/* ---- the server's objects ---------------------------------------------------------------- */
typedef struct owner {
    uint64_t token, thread;
} owner;

static inline bool same_owner(owner a, owner b)
{
    return a.token == b.token && a.thread == b.thread;
}

typedef struct sobj {
    uint32_t kind, flags;
    union {
        dict d;
        struct {
            mproc_bytes *items;
            size_t n, cap;
        } l;
        struct {
            mproc_bytes *items;
            size_t head, n, cap;
            int64_t maxsize, unfinished;
        } q;
        struct {
            owner who;
            int64_t count;
            bool owner_died;
        } lk;
        struct {
            int64_t value, bound;
        } sem;
        bool event;
        struct {
            uint64_t lock;
            int64_t waiting, to_wake;
        } cond;
        struct {
            int64_t parties, count;
            uint64_t generation, resets;
            bool broken;
        } bar;
        struct {
            uint32_t type;
            size_t n, elem;
            uint8_t *data;
        } arr;
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
    bool done; /* read and written atomically */
    struct sconn *next;
} sconn;

typedef struct server {
    mproc__listener *listener;
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

/* The pieces of a request: the decoded header and the caller. */
typedef struct request {
    uint64_t id;
    int64_t op, timeout;
    owner who;
    mpp_conn *conn; /* the connection it came on: its waits end when that client is gone */
    mproc_unpacker args;
} request;

/* What an op's body works on. */
typedef struct op_ctx {
    server *s;
    sobj *o; /* the object the request names; NULL for the server's own ops */
    request *r;
    int64_t deadline; /* when a wait ends: the request's timeout, from its start */
    mproc_pack *res;  /* the body's results go here, after the status */
} op_ctx;

/* Bytes as the request holds them: a message, or a key, value or item (a pack's bytes). */
typedef struct blob {
    const void *data;
    size_t len;
} blob;

/* Reads a message field: BYTES, or STR as its text. */
static inline int take_blob(mproc_unpacker *u, blob *b)
{
    if (mproc_unpack_peek(u) == MPROC_FIELD_STR) {
        const char *s;
        int rc = mproc_unpack_strn(u, &s, &b->len);
        b->data = s;
        return rc;
    }
    return mproc_unpack_bytes(u, &b->data, &b->len);
}

/* Reads a key, value or item: a BYTES field holding a whole pack's bytes. */
static inline int take_val(mproc_unpacker *u, blob *b)
{
    mproc_unpacker v = {0};
    if (mproc_unpack_bytes(u, &b->data, &b->len))
        return MPROC_EPROTO;
    v.data = b->data, v.len = b->len;
    return mproc_unpack_remaining(&v) < 0 ? MPROC_EPROTO : 0;
}

static inline sobj *object_at(server *s, uint64_t id)
{
    return id >= 1 && id <= s->nobjs ? s->objs[id - 1] : NULL;
}

/* objects.c: frees every object and the names. */
void mproc__mgr_objects_free(server *s);
/* One wait slice on the server's condition. 0 to re-check, MPROC_ETIMEDOUT once the
 * deadline passed, MPROC_ECLOSED when the server stops or the waiting client is gone. */
int mproc__mgr_wait(const op_ctx *c, int64_t deadline);

/* ---- the ops' bodies ---------------------------------------------------------------------------
 * Each op's arguments as the server reads them (ops.def's WIRE column) are the parameters
 * of its body, after the context: int mproc__mgr_NAME(op_ctx *c, ...). A body returns 0 or
 * an MPROC_E… code and writes its results to c->res itself (a GET packs its value before
 * taking it out, so that a failure leaves the object as it was). */
#define WIRE_NONE
#define WIRE_BLOB , blob /* a message */
#define WIRE_VAL , blob  /* a key, value or item: a pack's bytes, checked: else MPROC_EPROTO */
#define WIRE_VAL_VAL , blob, blob
#define WIRE_VAL_I64 , blob, int64_t
#define WIRE_VAL_CAS , blob, int64_t, blob, blob /* key, absent, expected, desired */
#define WIRE_PACK , mproc_unpacker *             /* a nested pack */
#define WIRE_ITEM , size_t                       /* a list's index, checked: else MPROC_ENOENT */
#define WIRE_ITEM_VAL , size_t, blob
#define WIRE_I64 , int64_t
#define WIRE_I64_I64 , int64_t, int64_t
#define WIRE_ELEM , uint8_t * /* a value's or array's element, checked: MPROC_EINVAL */
#define WIRE_ELEM_I64 , uint8_t *, int64_t
#define WIRE_ELEM_F64 , uint8_t *, double
#define WIRE_ELEM_CAS , uint8_t *, int64_t, int64_t /* expected, desired */
#define WIRE_I64X4 , int64_t, int64_t, int64_t, int64_t
#define WIRE_STR , blob
#define WIRE_STR_I64 , blob, int64_t
#define WIRE_REST , mproc_unpacker * /* the rest of the request, for the body to read */

#define SERVER_OP(NAME, CODE, KINDS, WIRE) int mproc__mgr_##NAME(op_ctx *c WIRE_##WIRE);
#define OP(NAME, CODE, KINDS, WIRE, ...) int mproc__mgr_##NAME(op_ctx *c WIRE_##WIRE);
#include "manager/ops.def"

/* dispatch.c: runs one request under the server's mutex; results are appended to res. */
int mproc__mgr_run_request(server *s, request *r, mproc_pack *res);

/* ---- the server (server.c) --------------------------------------------------------------- */
/* Answers one request frame (in) of the client token on conn: res becomes the response
 * pack, a status and the results. A frame that is no request is answered MPROC_EPROTO.
 * Takes the server's mutex. (The fuzz targets feed it frames without a socket.) */
void mproc__mgr_answer(server *s, uint64_t token, mpp_conn *conn, const mproc_bytes *in,
                       mproc_pack *res);
int mproc__mgr_server_start(server **out, const char *address, const void *key, size_t key_len,
                            size_t max_message);
/* serve_forever, but not for an orphan: returns when the server is asked to stop, or when
 * this process's parent is gone. */
void mproc__mgr_server_serve(server *s, int64_t parent);
/* Waits up to timeout_ms for the server to stop by itself (a client's shutdown). */
int mproc__mgr_server_wait(server *s, int64_t timeout_ms);
/* Stops serving: every thread notices within a poll slice. */
void mproc__mgr_server_stop(server *s);
void mproc__mgr_server_free(server *s);

/* ---- the client: links and calls (link.c) ------------------------------------------------ */
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

#define PROXY_MAGIC 0x6d70725au

typedef struct proxy {
    mproc__object head; /* how mproc_pack_handle packs it (none for a manager's own) */
    uint32_t magic, kind, flags;
    uint64_t id;
    link *link;
} proxy;

/* The proxy if x is a live one of that kind (0: any object kind), else NULL. */
static inline proxy *proxy_of(const void *x, uint32_t kind)
{
    proxy *p = (proxy *)x;
    if (!p || p->magic != PROXY_MAGIC || !p->link)
        return NULL;
    if (kind ? p->kind != kind : p->kind == K_MANAGER)
        return NULL;
    return p;
}

/* The link of this process to (address, key), shared: one more reference. */
int mproc__mgr_link_get(const char *address, const void *key, size_t key_len, link **out);
void mproc__mgr_link_ref(link *l);
void mproc__mgr_link_put(link *l);
/* Closes the link's idle connections (in a forked child, closing drops only the child's
 * copy of each descriptor). */
void mproc__mgr_link_drop_idle(link *l);
/* An idle connection of this process, or a new one. */
int mproc__mgr_link_take(link *l, int64_t deadline, lconn **out);
void mproc__mgr_link_give_back(link *l, lconn *c, bool healthy);

/* ---- calls ---------------------------------------------------------------------------------
 * A request pack: I64 object id, I64 op, I64 timeout for the server, I64 calling thread, then
 * the op's arguments. A response pack: I64 status, then the results. */
typedef enum out_kind {
    OUT_NONE,
    OUT_BYTES,
    OUT_I64,
    OUT_F64,
    OUT_COUNT,
    OUT_I64X3,
    OUT_INFO0,
    OUT_INFO1, /* the first or second of three I64 (a barrier's info) as an int64_t */
    OUT_INFO2  /* the third, as the result */
} out_kind;

typedef struct call {
    proxy *px;
    mproc_pack *pk;
    int64_t op, timeout;
    bool sliced; /* a wait the proxy may repeat: timeout is the caller's */
    bool now;    /* sent at once, never part of a batch */
} call;

/* Begins a request of op on the proxy x of that kind: its arguments go to c->pk. */
int mproc__mgr_call_begin(call *c, const void *x, uint32_t kind, int64_t op);
/* Ends a call begun by call_begin: sends it unless building it failed (rc), and frees
 * its request. The answer goes to out, as kind says. */
int mproc__mgr_call_end(call *c, int rc, out_kind kind, void *out);
/* Whether this thread is in a batch (its calls are queued). */
bool mproc__mgr_in_batch(void);

/* ---- proxies (proxy.c) ------------------------------------------------------------------- */
/* One C type per kind, each a proxy. */
#define KIND(NAME, CODE, TYPE, LOOKUP)                                                             \
    struct mproc_##TYPE {                                                                          \
        proxy p;                                                                                   \
    };
#include "manager/ops.def"

/* A new proxy of object id on l (it takes its own reference to l). */
int mproc__mgr_proxy_new(link *l, uint32_t kind, uint32_t flags, uint64_t id, void **out);

#endif
